/*
 * What a bad module parameter value becomes: one policy per parameter, named in params.def.
 * Pure C (no Kamailio headers) so module/test/params_test.c runs every bad value through it.
 *
 * Stock 5.6.3 refuses few values and silently corrects or reinterprets many (presence.c
 * mod_init). A configuration that starts with stock must start with ours, so where stock
 * corrects we correct the same way, and say so at WARN; where stock's reading is a bug (an
 * unsigned wrap of a negative number) the correction is the sane one and module/README.md
 * says which.
 */
#ifndef GOPRESENCE_PARAMS_POLICY_H
#define GOPRESENCE_PARAMS_POLICY_H

#include <stddef.h>

enum gp_policy {
	GP_ANY,		 /* every value is taken as it is */
	GP_REJECT,	 /* outside [min, max]: start-up stops */
	GP_DEFAULT,	 /* outside [min, max]: the default */
	GP_CLAMP,	 /* outside [min, max]: the nearest bound */
	GP_NONZERO,	 /* a flag, on when non-zero (stock tests `if(p)`) */
	GP_POSITIVE, /* a flag, on when > 0 (stock: `if(p > 0) p = 1`, then `p == 1`) */
	GP_ONE,		 /* a flag, on only when == 1 (stock tests `p == 1`) */
};

/* String checks. SIP syntax is the engine's: GP_SIP_URI and GP_TOKEN32 are applied by its
 * start-up check (gopresence/config.go, the field's `check` tag), which stops Kamailio. */
enum gp_check {
	GP_FREE,	 /* any string */
	GP_SIP_URI,	 /* empty, or a sip:/sips: URI (it becomes a Contact): the engine checks */
	GP_TOKEN32,	 /* an RFC 3261 token of at most 32 characters (it starts every To tag) */
	GP_FACILITY, /* a syslog facility name: the module checks (Kamailio's str2facility) */
};

/* Applies policy to *v. Returns 0 when *v is kept, 1 when it was changed (why says how, for a
 * WARN line), -1 when start-up must stop (why says why, for an ERR line). */
int gp_int_policy(int *v, int dflt, int min, int max, int policy, char *why, size_t whylen);

#endif
