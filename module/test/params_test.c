/* Every bad value of a module parameter through its policy in params.def (params_policy.c):
 * what start-up makes of it, written down by hand from stock 5.6.3's mod_init. Each parameter
 * whose policy is not GP_ANY must have a case here (string syntax: gopresence/config_test.go).
 * Prints "N passed, M failed". */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../params_policy.h"

static int passed, failed;

#define CHECK(cond, ...) do { if(cond) passed++; else { failed++; \
	fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); } } while(0)

typedef struct { const char *name; int dflt, min, max, policy; } int_param_t;

static const int_param_t int_params[] = {
#define GP_INT(n, d, mn, mx, pol, eng, acc) {#n, d, mn, mx, pol},
#define GP_STR(n, d, chk, eng, acc)
#define GP_CHARP(n, d, chk, eng, acc)
#include "../params.def"
#undef GP_INT
#undef GP_STR
#undef GP_CHARP
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
enum { KEPT = 0, FIXED = 1, STOPS = -1 };

/* value in, what start-up makes of it */
static const struct {
	const char *name;
	int in, verdict, out;
} int_cases[] = {
	/* stock: if(pres_force_delete > 0) pres_force_delete = 1; later tested == 1 */
	{"force_delete", 1, KEPT, 1}, {"force_delete", 5, FIXED, 1}, {"force_delete", -3, FIXED, 0},
	/* stock: if(pres_expires_offset < 0) pres_expires_offset = 0 */
	{"expires_offset", -10, FIXED, 0}, {"expires_offset", 100000, KEPT, 100000},
	/* stock: if(pres_max_expires <= 0) = 3600; a negative one wraps (uint32): ours 3600 too */
	{"max_expires", 0, FIXED, 3600}, {"max_expires", -1, FIXED, 3600},
	{"max_expires", INT_MAX, KEPT, INT_MAX},
	/* stock: a negative min_expires wraps and then becomes max_expires: ours 0 */
	{"min_expires", -1, FIXED, 0}, {"min_expires", 60, KEPT, 60},
	/* stock refuses anything but 1 and 2 */
	{"min_expires_action", 0, STOPS, 0}, {"min_expires_action", 3, STOPS, 0},
	{"min_expires_action", 2, KEPT, 2},
	/* stock: n < 1 gives the default table; 1 << n beyond 20 exhausts shared memory */
	{"subs_htable_size", 0, FIXED, 9}, {"subs_htable_size", -2, FIXED, 9},
	{"subs_htable_size", 21, FIXED, 9}, {"subs_htable_size", 20, KEPT, 20},
	{"pres_htable_size", 0, FIXED, 9}, {"pres_htable_size", 31, FIXED, 9},
	/* stock runs in no defined storage mode outside 0..3: ours stops */
	{"subs_db_mode", 4, STOPS, 0}, {"subs_db_mode", -1, STOPS, 0}, {"subs_db_mode", 0, KEPT, 0},
	/* stock: if(pres_timeout_rm_subs ...), if(pres_send_fast_notify), pres_subs_respond_200 ? */
	{"timeout_rm_subs", 2, FIXED, 1}, {"timeout_rm_subs", -1, FIXED, 1},
	{"timeout_rm_subs", 0, KEPT, 0},
	{"send_fast_notify", 7, FIXED, 1}, {"send_fast_notify", 0, KEPT, 0},
	{"subs_respond_200", -1, FIXED, 1}, {"subs_respond_200", 0, KEPT, 0},
	/* Kamailio's levels are L_ALERT (-5) .. L_DBG (3); stock indexes its level names with it */
	{"local_log_level", 9, FIXED, 3}, {"local_log_level", -9, FIXED, -5},
	{"local_log_level", 1, KEPT, 1},
	/* stock: pres_uri_match == 1 is case-insensitive, anything else sensitive */
	{"sip_uri_match", 2, FIXED, 0}, {"sip_uri_match", -1, FIXED, 0}, {"sip_uri_match", 1, KEPT, 1},
	/* stock adds it to an unsigned CSeq: a negative one wraps */
	{"cseq_offset", -1, FIXED, 0}, {"cseq_offset", 5, KEPT, 5},
	/* ours */
	{"engine_timeout", 0, STOPS, 0}, {"engine_timeout", 600001, STOPS, 0},
	{"engine_timeout", 1, KEPT, 1},
	{"db_commit_delay", -1, STOPS, 0}, {"db_commit_delay", 60001, STOPS, 0},
	{"db_commit_delay", 0, KEPT, 0},
	/* accepted as they are, whatever they are (stock: <= 0 disables the timer) */
	{"clean_period", -5, KEPT, -5}, {"db_update_period", 0, KEPT, 0},
	{"notifier_processes", -1, KEPT, -1},
};

static const int_param_t *int_param(const char *name)
{
	unsigned int i;
	for(i = 0; i < N_OF(int_params); i++)
		if(strcmp(int_params[i].name, name) == 0)
			return &int_params[i];
	return NULL;
}

int main(void)
{
	char why[160];
	unsigned int i, j;
	int v, r, covered;

	for(i = 0; i < N_OF(int_cases); i++) {
		const int_param_t *p = int_param(int_cases[i].name);
		CHECK(p != NULL, "%s is not in params.def", int_cases[i].name);
		if(p == NULL)
			continue;
		v = int_cases[i].in;
		why[0] = 0;
		r = gp_int_policy(&v, p->dflt, p->min, p->max, p->policy, why, sizeof(why));
		CHECK(r == int_cases[i].verdict, "%s=%d: verdict %d, want %d (%s)", p->name,
				int_cases[i].in, r, int_cases[i].verdict, why);
		if(r >= 0)
			CHECK(v == int_cases[i].out, "%s=%d became %d, want %d", p->name, int_cases[i].in,
					v, int_cases[i].out);
		CHECK((r == 0) == (why[0] == 0), "%s=%d: a correction or refusal says why, nothing else"
				" does (\"%s\")", p->name, int_cases[i].in, why);
		if(r != 0)
			CHECK(strstr(why, "%") == NULL && strlen(why) > 5, "%s: why=\"%s\"", p->name, why);
	}
	/* every parameter with a policy has a case that exercises it */
	for(i = 0; i < N_OF(int_params); i++) {
		if(int_params[i].policy == GP_ANY)
			continue;
		covered = 0;
		for(j = 0; j < N_OF(int_cases); j++)
			if(strcmp(int_cases[j].name, int_params[i].name) == 0 && int_cases[j].verdict != KEPT)
				covered = 1;
		CHECK(covered, "%s has a policy but no bad value in this test", int_params[i].name);
	}
	printf("params: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
