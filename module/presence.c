/*
 * gopresence: a drop-in replacement for Kamailio's presence module.
 *
 * This file is the module's face to Kamailio: exports, parameters, mod_init, child_init.
 * It never loads Go: a Go c-shared library starts threads when loaded, and every process
 * Kamailio forks afterwards would hang (docs/architecture.md). Go runs only in the engine
 * process forked in child_init(PROC_MAIN) and in the short-lived start-up check.
 */
#include <limits.h>
#include <stdlib.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../../core/sr_module.h"
#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/pt.h"
#include "../../core/globals.h"
#include "../../core/mod_fix.h"
#include "../../core/cfg/cfg_struct.h"
#include "../../core/route.h"

#include "gopresence.h"

MODULE_VERSION

sl_api_t gp_slb;
struct tm_binds gp_tmb;
int gp_library_mode = 0;
char *gp_engine_config = NULL;
int gp_engine_config_len = 0;

static int mod_init(void);
static int child_init(int rank);
/* clang-format off */
static pv_export_t pvs[] = {
	{ {"subs", sizeof("subs") - 1}, PVT_OTHER, pv_get_subs, 0, pv_parse_subs_name, 0, 0, 0},
	{ {"notify_reply", sizeof("notify_reply") - 1}, PVT_OTHER, pv_get_notify_reply, 0,
		pv_parse_notify_reply_name, 0, 0, 0},
	{ {0, 0}, 0, 0, 0, 0, 0, 0, 0 }
};

struct module_exports exports = {
	"presence",      /* module name */
	DEFAULT_DLFLAGS, /* dlopen flags */
	gp_cmds,         /* exported functions (script.c) */
	gp_params,       /* exported parameters (params.def) */
	0,               /* RPC method exports */
	pvs,             /* exported pseudo-variables: $subs, $notify_reply */
	0,               /* response handling function */
	mod_init,        /* module initialization function */
	child_init,      /* per-child init function */
	0                /* module destroy function */
};
/* clang-format on */

/* where presence.so was loaded from, made absolute while the working directory is still the
 * one Kamailio resolved it against (mod_register runs right after dlopen, before -w's chdir) */
static char module_dir[4096];

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	char real[PATH_MAX];
	if(path && realpath(path, real)) {
		strncpy(module_dir, dirname(real), sizeof(module_dir) - 1);
	}
	/* KSR.presence.* (stock registers them here too) */
	return gp_kemi_register() < 0 ? -1 : 0;
}

/* The engine library: modparam engine_library, else libgopresence.so next to this module. */
static int find_library(void)
{
	static char path[4096 + 32];

	if(gp_param_engine_library && *gp_param_engine_library)
		return 0;
	if(module_dir[0] == 0) {
		LM_ERR("cannot find where presence.so was loaded from;"
			   " set modparam(\"presence\", \"engine_library\", \"/path/libgopresence.so\")\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/libgopresence.so", module_dir);
	gp_param_engine_library = path;
	return 0;
}

/* The engine socket: modparam engine_socket, else in Kamailio's runtime_dir (or /tmp). */
static int find_socket(void)
{
	static char path[256];
	const char *dir = runtime_dir;

	if(gp_param_engine_socket && *gp_param_engine_socket)
		return 0;
	if(dir == NULL || *dir == 0 || access(dir, W_OK) != 0)
		dir = "/tmp";
	if(snprintf(path, sizeof(path), "%s/gopresence.%d.sock", dir, (int)getpid())
			>= (int)sizeof(path)) {
		LM_ERR("runtime_dir too long for a unix socket path\n");
		return -1;
	}
	gp_param_engine_socket = path;
	return 0;
}

static int mod_init(void)
{
	/* looked up as stock does, so a cfg with the route starts whatever the mode */
	gp_notify_reply_route = route_lookup(&event_rt, "presence:notify-reply");
	if(gp_notify_reply_route >= 0 && event_rt.rlist[gp_notify_reply_route] == NULL)
		gp_notify_reply_route = -1;
	if(gp_param_db_url.s == NULL || gp_param_db_url.len == 0) {
		gp_library_mode = 1;
		LM_INFO("db_url not set: presence runs in library mode (no handle_publish/"
				"handle_subscribe)\n");
		return 0;
	}
	if(gp_params_check() < 0)
		return -1;
	if(sl_load_api(&gp_slb) != 0) {
		LM_ERR("cannot bind to the sl module (load sl.so before presence.so)\n");
		return -1;
	}
	if(gp_track_replies() < 0) {
		LM_ERR("cannot register a callback with the sl module\n");
		return -1;
	}
	if(load_tm_api(&gp_tmb) != 0) {
		LM_ERR("cannot bind to the tm module (load tm.so before presence.so)\n");
		return -1;
	}
	if(find_library() < 0 || find_socket() < 0)
		return -1;
	if(gp_params_engine_config(&gp_engine_config, &gp_engine_config_len) < 0)
		return -1;

	if(presence_rpc_init() < 0 || gp_stats_register() < 0)
		return -1;

	/* db_url, tables and versions are checked by Go in a child that exits at once */
	if(engine_validate() < 0)
		return -1;

	/* the engine process */
	if(register_procs(1) < 0)
		return -1;
	cfg_register_child(1);
	return 0;
}

static int child_init(int rank)
{
	int pid;

	if(gp_library_mode || gp_in_engine_process)
		return 0;
	/* every module has registered its events; counters are still being defined */
	if(rank == PROC_INIT)
		return gp_stats_register_events();
	if(rank != PROC_MAIN)
		return 0; /* workers connect to the engine on first use */

	/* the events C modules registered during their mod_init (after ours) */
	if(gp_module_events_config(&gp_engine_config, &gp_engine_config_len) < 0)
		return -1;
	/* fork_process runs every module's child_init in the new process: the flag tells ours
	 * that it is the engine being born */
	gp_in_engine_process = 1;
	pid = fork_process(PROC_TIMER, "PRESENCE ENGINE", 1);
	if(pid < 0) {
		gp_in_engine_process = 0;
		LM_ERR("cannot fork the presence engine process\n");
		return -1;
	}
	if(pid == 0)
		engine_main(); /* never returns */
	gp_in_engine_process = 0;
	return 0;
}

int gp_fixup_library_mode(void **param, int param_no)
{
	if(gp_library_mode) {
		LM_ERR("presence is in library mode (db_url not set): handle_publish and"
			   " handle_subscribe cannot be used\n");
		return -1;
	}
	if(param_no == 1)
		return fixup_spve_null(param, 1);
	return 0;
}

static int script_param(struct sip_msg *msg, char *p, str *out)
{
	out->s = NULL;
	out->len = 0;
	if(p == NULL)
		return 0;
	if(fixup_get_svalue(msg, (gparam_t *)p, out) != 0) {
		LM_ERR("cannot evaluate the function parameter\n");
		return -1;
	}
	return 0;
}

int gp_handle_publish(struct sip_msg *msg, char *sender, char *p2)
{
	str s;
	if(script_param(msg, sender, &s) < 0)
		return -1;
	return gp_handle_publish_uri(msg, s.s ? &s : NULL);
}

int gp_handle_subscribe(struct sip_msg *msg, char *watcher, char *p2)
{
	str s;
	if(script_param(msg, watcher, &s) < 0)
		return -1;
	return gp_handle_subscribe_uri(msg, s.s ? &s : NULL);
}

int gp_handle_publish_uri(struct sip_msg *msg, str *sender)
{
	return engine_handle_request(msg, WT_PUBLISH, sender);
}

int gp_handle_subscribe_uri(struct sip_msg *msg, str *watcher)
{
	return engine_handle_request(msg, WT_SUBSCRIBE, watcher);
}
