/*
 * Module parameters: the storage of every one of params.def, Kamailio's params[] and the
 * start-up work on them. Each parameter lives in gp_param_<name>.
 */
#ifndef GOPRESENCE_PARAMS_H
#define GOPRESENCE_PARAMS_H

#include "../../core/sr_module.h"
#include "../../core/str.h"

#include "params_policy.h"

#define GP_INT(n, d, mn, mx, pol, eng, acc) extern int gp_param_##n;
#define GP_STR(n, d, chk, eng, acc) extern str gp_param_##n;
#define GP_CHARP(n, d, chk, eng, acc) extern char *gp_param_##n;
#include "params.def"
#undef GP_INT
#undef GP_STR
#undef GP_CHARP

extern param_export_t gp_params[];

/* local_log_facility as a facility number (the core's log_facility when unset) */
extern int gp_local_log_facility;

/* Applies every parameter's policy (logging each correction), checks the strings and notes
 * the parameters accepted without effect. 0 ok, -1 start-up must stop. */
int gp_params_check(void);

/* The "name=value\n" lines handed to the engine, one per params.def entry marked to_engine
 * that has a value (pkg memory, kept for the process's life). 0 ok, -1 error. */
int gp_params_engine_config(char **text, int *len);

#endif
