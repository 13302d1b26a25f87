/*
 * Module parameters, generated from params.def: storage, Kamailio's params[], the start-up
 * policy and the engine's configuration text. Nothing here names a parameter except where a
 * rule joins two of them (min_expires <= max_expires, as stock) or a value needs Kamailio to
 * be checked (a syslog facility).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/cfg/cfg.h"
#include "../../core/cfg_core.h"

#include "params.h"

#define GP_STR_INIT(d) {(char *)(d), (d) ? (int)sizeof(d) - 1 : 0}

#define GP_INT(n, d, mn, mx, pol, eng, acc) int gp_param_##n = d;
#define GP_STR(n, d, chk, eng, acc) str gp_param_##n = GP_STR_INIT(d);
#define GP_CHARP(n, d, chk, eng, acc) char *gp_param_##n = d;
#include "params.def"
#undef GP_INT
#undef GP_STR
#undef GP_CHARP

int gp_local_log_facility = 0;

param_export_t gp_params[] = {
#define GP_INT(n, d, mn, mx, pol, eng, acc) {#n, PARAM_INT, &gp_param_##n},
#define GP_STR(n, d, chk, eng, acc) {#n, PARAM_STR, &gp_param_##n},
#define GP_CHARP(n, d, chk, eng, acc) {#n, PARAM_STRING, &gp_param_##n},
#include "params.def"
#undef GP_INT
#undef GP_STR
#undef GP_CHARP
		{0, 0, 0}};

static const struct int_param {
	const char *name;
	int *v;
	int dflt, min, max, policy, to_engine;
	const char *accepted;
} int_params[] = {
#define GP_INT(n, d, mn, mx, pol, eng, acc) {#n, &gp_param_##n, d, mn, mx, pol, eng, acc},
#define GP_STR(n, d, chk, eng, acc)
#define GP_CHARP(n, d, chk, eng, acc)
#include "params.def"
#undef GP_INT
#undef GP_STR
#undef GP_CHARP
};

/* str and char* parameters: exactly one of s and cp is set */
static const struct str_param {
	const char *name;
	str *s;
	char **cp;
	const char *dflt;
	int check, to_engine;
	const char *accepted;
} str_params[] = {
#define GP_INT(n, d, mn, mx, pol, eng, acc)
#define GP_STR(n, d, chk, eng, acc) {#n, &gp_param_##n, NULL, d, chk, eng, acc},
#define GP_CHARP(n, d, chk, eng, acc) {#n, NULL, &gp_param_##n, d, chk, eng, acc},
#include "params.def"
#undef GP_INT
#undef GP_STR
#undef GP_CHARP
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static str str_value(const struct str_param *p)
{
	str v = STR_NULL;
	if(p->s) {
		v = *p->s;
	} else if(*p->cp) {
		v.s = *p->cp;
		v.len = strlen(v.s);
	}
	return v;
}

static int differs(str v, const char *dflt)
{
	if(v.s == NULL)
		return 0;
	if(dflt == NULL)
		return v.len > 0;
	return (int)strlen(dflt) != v.len || strncmp(v.s, dflt, v.len) != 0;
}

int gp_params_check(void)
{
	char why[160];
	unsigned int i;
	str v;
	int r;

	for(i = 0; i < N_OF(int_params); i++) {
		const struct int_param *p = &int_params[i];
		r = gp_int_policy(p->v, p->dflt, p->min, p->max, p->policy, why, sizeof(why));
		if(r < 0) {
			LM_ERR("modparam \"%s\": %s\n", p->name, why);
			return -1;
		}
		if(r > 0)
			LM_WARN("modparam \"%s\": %s\n", p->name, why);
		if(p->accepted && *p->v != p->dflt)
			LM_INFO("modparam \"%s\"=%d accepted: %s\n", p->name, *p->v, p->accepted);
	}
	/* stock: presence.c mod_init */
	if(gp_param_min_expires > gp_param_max_expires) {
		LM_WARN("modparam \"min_expires\": %d is above max_expires, using %d\n",
				gp_param_min_expires, gp_param_max_expires);
		gp_param_min_expires = gp_param_max_expires;
	}
	if(gp_param_subs_db_mode == 3 && gp_param_publ_cache != 0)
		LM_INFO("modparam \"subs_db_mode\"=3 with publ_cache=%d: subscriptions are held in"
				" memory by the engine and written through to the database; publ_cache=0 too"
				" leaves the state to the database (several nodes)\n", gp_param_publ_cache);

	for(i = 0; i < N_OF(str_params); i++) {
		const struct str_param *p = &str_params[i];
		v = str_value(p);
		if(p->accepted && differs(v, p->dflt))
			LM_INFO("modparam \"%s\" accepted: %s\n", p->name, p->accepted);
	}

	if(gp_param_local_log_facility) {
		gp_local_log_facility = str2facility(gp_param_local_log_facility);
		if(gp_local_log_facility == -1) {
			LM_ERR("modparam \"local_log_facility\": \"%s\" is not a syslog facility\n",
					gp_param_local_log_facility);
			return -1;
		}
	} else {
		gp_local_log_facility = cfg_get(core, core_cfg, log_facility);
	}
	return 0;
}

/* appends "name=value\n" */
static int add_line(char **text, int *len, const char *name, const char *val, int vlen)
{
	int n = strlen(name) + 2 + vlen;
	char *p;

	if(memchr(val, '\n', vlen)) {
		LM_ERR("modparam \"%s\": value must not contain a newline\n", name);
		return -1;
	}
	p = pkg_reallocxf(*text, *len + n + 1);
	if(p == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	*text = p;
	*len += snprintf(p + *len, n + 1, "%s=%.*s\n", name, vlen, val);
	return 0;
}

int gp_params_engine_config(char **text, int *len)
{
	char num[24];
	unsigned int i;
	str v;

	*text = NULL;
	*len = 0;
	for(i = 0; i < N_OF(int_params); i++) {
		if(!int_params[i].to_engine)
			continue;
		snprintf(num, sizeof(num), "%d", *int_params[i].v);
		if(add_line(text, len, int_params[i].name, num, strlen(num)) < 0)
			return -1;
	}
	for(i = 0; i < N_OF(str_params); i++) {
		if(!str_params[i].to_engine)
			continue;
		v = str_value(&str_params[i]);
		if(v.s != NULL && add_line(text, len, str_params[i].name, v.s, v.len) < 0)
			return -1;
	}
	return 0;
}
