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

#include "gopresence.h"

MODULE_VERSION

sl_api_t gp_slb;
struct tm_binds gp_tmb;
int gp_library_mode = 0;
char *gp_socket_path = NULL;
char *gp_library_path = NULL;
int gp_engine_timeout_ms = 2000;
char *gp_engine_config = NULL;
int gp_engine_config_len = 0;
int gp_local_log_level = L_INFO;

/* parameters: the 5.6.3 set, the 2008 guide's to_tag_pref and fallback2db, and ours */
static str p_db_url = STR_NULL;
static str p_presentity_table = str_init("presentity");
static str p_active_watchers_table = str_init("active_watchers");
static str p_watchers_table = str_init("watchers");
static int p_clean_period = 100;
static int p_db_update_period = 100;
static int p_waitn_time = 5;
static int p_notifier_poll_rate = 10;
static int p_notifier_processes = 1;
static int p_force_delete = 0;
static int p_startup_mode = 1;
static int p_expires_offset = 0;
static int p_max_expires = 3600;
static int p_min_expires = 0;
static int p_min_expires_action = 1;
static str p_server_address = STR_NULL;
static int p_subs_htable_size = 9;
static int p_pres_htable_size = 9;
static int p_subs_db_mode = 2;
static int p_publ_cache = 1;
static int p_enable_sphere_check = 0;
static int p_timeout_rm_subs = 1;
static int p_send_fast_notify = 1;
static int p_fetch_rows = 500;
static int p_db_table_lock_type = 1;
static char *p_local_log_facility = NULL;
static int p_subs_remove_match = 0;
static str p_xavp_cfg = STR_NULL;
static int p_retrieve_order = 0;
static str p_retrieve_order_by = str_init("priority");
static int p_sip_uri_match = 0;
static int p_cseq_offset = 0;
static int p_enable_dmq = 0;
static int p_pres_subs_mode = 1;
static int p_delete_same_subs = 0;
static int p_timer_mode = 1;
static int p_subs_respond_200 = 1;
static str p_to_tag_pref = str_init("10");
static int p_fallback2db = 0;
static int p_db_commit_delay = 100;

static int mod_init(void);
static int child_init(int rank);
static int w_handle_publish(struct sip_msg *msg, char *sender, char *p2);
static int w_handle_subscribe(struct sip_msg *msg, char *watcher, char *p2);
static int fixup_library_mode(void **param, int param_no);

/* clang-format off */
static cmd_export_t cmds[] = {
	{"handle_publish",   (cmd_function)w_handle_publish,   0, fixup_library_mode, 0, REQUEST_ROUTE},
	{"handle_publish",   (cmd_function)w_handle_publish,   1, fixup_library_mode, 0, REQUEST_ROUTE},
	{"handle_subscribe", (cmd_function)w_handle_subscribe, 0, fixup_library_mode, 0, REQUEST_ROUTE},
	{"handle_subscribe", (cmd_function)w_handle_subscribe, 1, fixup_library_mode, 0, REQUEST_ROUTE},
	{0, 0, 0, 0, 0, 0}
};

static param_export_t params[] = {
	{"db_url",                PARAM_STR,    &p_db_url},
	{"presentity_table",      PARAM_STR,    &p_presentity_table},
	{"active_watchers_table", PARAM_STR,    &p_active_watchers_table},
	{"watchers_table",        PARAM_STR,    &p_watchers_table},
	{"clean_period",          INT_PARAM,    &p_clean_period},
	{"db_update_period",      INT_PARAM,    &p_db_update_period},
	{"waitn_time",            INT_PARAM,    &p_waitn_time},
	{"notifier_poll_rate",    INT_PARAM,    &p_notifier_poll_rate},
	{"notifier_processes",    INT_PARAM,    &p_notifier_processes},
	{"force_delete",          INT_PARAM,    &p_force_delete},
	{"startup_mode",          INT_PARAM,    &p_startup_mode},
	{"expires_offset",        INT_PARAM,    &p_expires_offset},
	{"max_expires",           INT_PARAM,    &p_max_expires},
	{"min_expires",           INT_PARAM,    &p_min_expires},
	{"min_expires_action",    INT_PARAM,    &p_min_expires_action},
	{"server_address",        PARAM_STR,    &p_server_address},
	{"subs_htable_size",      INT_PARAM,    &p_subs_htable_size},
	{"pres_htable_size",      INT_PARAM,    &p_pres_htable_size},
	{"subs_db_mode",          INT_PARAM,    &p_subs_db_mode},
	{"publ_cache",            INT_PARAM,    &p_publ_cache},
	{"enable_sphere_check",   INT_PARAM,    &p_enable_sphere_check},
	{"timeout_rm_subs",       INT_PARAM,    &p_timeout_rm_subs},
	{"send_fast_notify",      INT_PARAM,    &p_send_fast_notify},
	{"fetch_rows",            INT_PARAM,    &p_fetch_rows},
	{"db_table_lock_type",    INT_PARAM,    &p_db_table_lock_type},
	{"local_log_level",       PARAM_INT,    &gp_local_log_level},
	{"local_log_facility",    PARAM_STRING, &p_local_log_facility},
	{"subs_remove_match",     PARAM_INT,    &p_subs_remove_match},
	{"xavp_cfg",              PARAM_STR,    &p_xavp_cfg},
	{"retrieve_order",        PARAM_INT,    &p_retrieve_order},
	{"retrieve_order_by",     PARAM_STR,    &p_retrieve_order_by},
	{"sip_uri_match",         PARAM_INT,    &p_sip_uri_match},
	{"cseq_offset",           PARAM_INT,    &p_cseq_offset},
	{"enable_dmq",            PARAM_INT,    &p_enable_dmq},
	{"pres_subs_mode",        PARAM_INT,    &p_pres_subs_mode},
	{"delete_same_subs",      PARAM_INT,    &p_delete_same_subs},
	{"timer_mode",            PARAM_INT,    &p_timer_mode},
	{"subs_respond_200",      PARAM_INT,    &p_subs_respond_200},
	{"to_tag_pref",           PARAM_STR,    &p_to_tag_pref},
	{"fallback2db",           INT_PARAM,    &p_fallback2db},
	/* gopresence's own */
	{"engine_library",        PARAM_STRING, &gp_library_path},
	{"engine_socket",         PARAM_STRING, &gp_socket_path},
	{"engine_timeout",        INT_PARAM,    &gp_engine_timeout_ms},
	{"db_commit_delay",       INT_PARAM,    &p_db_commit_delay},
	{0, 0, 0}
};

struct module_exports exports = {
	"presence",      /* module name */
	DEFAULT_DLFLAGS, /* dlopen flags */
	cmds,            /* exported functions */
	params,          /* exported parameters */
	0,               /* RPC method exports */
	0,               /* exported pseudo-variables */
	0,               /* response handling function */
	mod_init,        /* module initialization function */
	child_init,      /* per-child init function */
	0                /* module destroy function */
};
/* clang-format on */

/* appends "name=value\n" to the engine configuration */
static int cfg_add(const char *name, const char *val, int len)
{
	int n = strlen(name) + 2 + (len < 0 ? (int)strlen(val) : len);
	char *p = pkg_reallocxf(gp_engine_config, gp_engine_config_len + n + 1);
	if(p == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	gp_engine_config = p;
	gp_engine_config_len += snprintf(p + gp_engine_config_len, n + 1, "%s=%.*s\n", name,
			len < 0 ? (int)strlen(val) : len, val);
	return 0;
}

static int cfg_add_int(const char *name, int v)
{
	char tmp[24];
	snprintf(tmp, sizeof(tmp), "%d", v);
	return cfg_add(name, tmp, -1);
}

static int cfg_add_str(const char *name, str *v)
{
	if(v->s == NULL)
		return 0;
	if(memchr(v->s, '\n', v->len)) {
		LM_ERR("modparam \"%s\": value must not contain a newline\n", name);
		return -1;
	}
	return cfg_add(name, v->s, v->len);
}

/* where presence.so was loaded from, made absolute while the working directory is still the
 * one Kamailio resolved it against (mod_register runs right after dlopen, before -w's chdir) */
static char module_dir[4096];

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	char real[PATH_MAX];
	if(path && realpath(path, real)) {
		strncpy(module_dir, dirname(real), sizeof(module_dir) - 1);
	}
	return 0;
}

/* The engine library: modparam engine_library, else libgopresence.so next to this module. */
static int find_library(void)
{
	static char path[4096 + 32];

	if(gp_library_path && *gp_library_path)
		return 0;
	if(module_dir[0] == 0) {
		LM_ERR("cannot find where presence.so was loaded from;"
			   " set modparam(\"presence\", \"engine_library\", \"/path/libgopresence.so\")\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/libgopresence.so", module_dir);
	gp_library_path = path;
	return 0;
}

/* The engine socket: modparam engine_socket, else in Kamailio's runtime_dir (or /tmp). */
static int find_socket(void)
{
	static char path[256];
	const char *dir = runtime_dir;

	if(gp_socket_path && *gp_socket_path)
		return 0;
	if(dir == NULL || *dir == 0 || access(dir, W_OK) != 0)
		dir = "/tmp";
	if(snprintf(path, sizeof(path), "%s/gopresence.%d.sock", dir, (int)getpid())
			>= (int)sizeof(path)) {
		LM_ERR("runtime_dir too long for a unix socket path\n");
		return -1;
	}
	gp_socket_path = path;
	return 0;
}

/* Parameters that mean nothing in this design are accepted and said so, never silently:
 * an INFO line at start-up when one is set to other than its default. */
static void note_mapped_params(void)
{
	/* clang-format off */
	static const struct {
		const char *name;
		int *value;
		int dflt;
		const char *what;
	} mapped[] = {
		{"publ_cache", &p_publ_cache, 1, "publications are held in memory by the engine and written through to the database"},
		{"fallback2db", &p_fallback2db, 0, "the engine restores all state from the database at start, so lookups never miss"},
		{"notifier_processes", &p_notifier_processes, 1, "NOTIFYs are sent at once by the worker or the engine process"},
		{"waitn_time", &p_waitn_time, 5, "NOTIFYs are sent at once by the worker or the engine process"},
		{"notifier_poll_rate", &p_notifier_poll_rate, 10, "NOTIFYs are sent at once by the worker or the engine process"},
		{"timer_mode", &p_timer_mode, 1, "timers run inside the engine process"},
		{"startup_mode", &p_startup_mode, 1, "expired rows are never restored (startup_mode=1 behaviour)"},
		{"fetch_rows", &p_fetch_rows, 500, "the engine reads whole tables at start and needs no chunking"},
		{"db_table_lock_type", &p_db_table_lock_type, 1, "SQLite write transactions are always IMMEDIATE"},
		{"subs_remove_match", &p_subs_remove_match, 0, "a subscription is always matched by Call-ID, To tag and From tag"},
		{"retrieve_order", &p_retrieve_order, 0, "publications are always aggregated oldest to newest by received time"},
		{"enable_dmq", &p_enable_dmq, 0, "DMQ replication is not supported: share the database between nodes"},
		{"pres_subs_mode", &p_pres_subs_mode, 1, "$subs is not exported by this module"},
		{"delete_same_subs", &p_delete_same_subs, 0, "a subscription is identified by its whole dialog"},
		{"enable_sphere_check", &p_enable_sphere_check, 0, "pres-rules spheres are not evaluated yet"},
	};
	/* clang-format on */
	unsigned int i;

	if(p_subs_db_mode == 3)
		LM_INFO("modparam \"subs_db_mode\"=3 accepted: subscriptions are held in memory by"
				" the engine and written through to the database (as subs_db_mode=1)\n");
	for(i = 0; i < sizeof(mapped) / sizeof(mapped[0]); i++)
		if(*mapped[i].value != mapped[i].dflt)
			LM_INFO("modparam \"%s\"=%d accepted: %s\n", mapped[i].name, *mapped[i].value,
					mapped[i].what);
	if(p_xavp_cfg.s && p_xavp_cfg.len)
		LM_INFO("modparam \"xavp_cfg\" accepted: xavp priority/delete_subscription are not"
				" read by this module\n");
	if(p_local_log_facility)
		LM_INFO("modparam \"local_log_facility\" accepted: the NOTIFY log line uses the"
				" core log facility\n");
	if(p_retrieve_order_by.len && strncmp(p_retrieve_order_by.s, "priority", 8))
		LM_INFO("modparam \"retrieve_order_by\" accepted: publications are ordered by"
				" received time\n");
}

/* out-of-range values stop start-up, naming the parameter and the value */
static int check_params(void)
{
	/* clang-format off */
	static const struct {
		const char *name;
		int *value;
		int min, max;
	} ranges[] = {
		{"expires_offset", &p_expires_offset, 0, 86400},
		{"max_expires", &p_max_expires, 0, 0x7fffffff},
		{"min_expires", &p_min_expires, 0, 0x7fffffff},
		{"min_expires_action", &p_min_expires_action, 1, 2},
		{"subs_htable_size", &p_subs_htable_size, 1, 20},
		{"pres_htable_size", &p_pres_htable_size, 1, 20},
		{"timeout_rm_subs", &p_timeout_rm_subs, 0, 1},
		{"send_fast_notify", &p_send_fast_notify, 0, 1},
		{"subs_respond_200", &p_subs_respond_200, 0, 1},
		{"force_delete", &p_force_delete, 0, 1},
		{"sip_uri_match", &p_sip_uri_match, 0, 1},
		{"cseq_offset", &p_cseq_offset, 0, 1000000},
		{"local_log_level", &gp_local_log_level, L_ALERT, L_DBG},
		{"engine_timeout", &gp_engine_timeout_ms, 1, 600000},
		{"subs_db_mode", &p_subs_db_mode, 0, 3},
		{"db_commit_delay", &p_db_commit_delay, 0, 60000},
	};
	/* clang-format on */
	unsigned int i;

	for(i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if(*ranges[i].value < ranges[i].min || *ranges[i].value > ranges[i].max) {
			LM_ERR("modparam \"%s\": %d is out of range [%d, %d]\n", ranges[i].name,
					*ranges[i].value, ranges[i].min, ranges[i].max);
			return -1;
		}
	if(p_to_tag_pref.len > 32
			|| strspn(p_to_tag_pref.s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
										"0123456789-.!%*_+`'~")
					   < (size_t)p_to_tag_pref.len) {
		LM_ERR("modparam \"to_tag_pref\": \"%.*s\" is not a token of at most 32 characters\n",
				p_to_tag_pref.len, p_to_tag_pref.s);
		return -1;
	}
	if(p_server_address.s && p_server_address.len
			&& strncasecmp(p_server_address.s, "sip:", 4)
			&& strncasecmp(p_server_address.s, "sips:", 5)) {
		LM_ERR("modparam \"server_address\": \"%.*s\" is not a SIP URI\n",
				p_server_address.len, p_server_address.s);
		return -1;
	}
	return 0;
}

static int mod_init(void)
{
	if(p_db_url.s == NULL || p_db_url.len == 0) {
		gp_library_mode = 1;
		LM_INFO("db_url not set: presence runs in library mode (no handle_publish/"
				"handle_subscribe)\n");
		return 0;
	}
	if(check_params() < 0)
		return -1;
	if(sl_load_api(&gp_slb) != 0) {
		LM_ERR("cannot bind to the sl module (load sl.so before presence.so)\n");
		return -1;
	}
	if(load_tm_api(&gp_tmb) != 0) {
		LM_ERR("cannot bind to the tm module (load tm.so before presence.so)\n");
		return -1;
	}
	if(find_library() < 0 || find_socket() < 0)
		return -1;
	note_mapped_params();

	if(cfg_add_str("db_url", &p_db_url) < 0
			|| cfg_add_str("presentity_table", &p_presentity_table) < 0
			|| cfg_add_str("active_watchers_table", &p_active_watchers_table) < 0
			|| cfg_add_str("watchers_table", &p_watchers_table) < 0
			|| cfg_add_str("server_address", &p_server_address) < 0
			|| cfg_add_int("clean_period", p_clean_period) < 0
			|| cfg_add_int("db_update_period", p_db_update_period) < 0
			|| cfg_add_int("expires_offset", p_expires_offset) < 0
			|| cfg_add_int("max_expires", p_max_expires) < 0
			|| cfg_add_int("min_expires", p_min_expires) < 0
			|| cfg_add_int("min_expires_action", p_min_expires_action) < 0
			|| cfg_add_int("subs_htable_size", p_subs_htable_size) < 0
			|| cfg_add_int("pres_htable_size", p_pres_htable_size) < 0
			|| cfg_add_int("timeout_rm_subs", p_timeout_rm_subs) < 0
			|| cfg_add_int("subs_respond_200", p_subs_respond_200) < 0
			|| cfg_add_int("send_fast_notify", p_send_fast_notify) < 0
			|| cfg_add_int("cseq_offset", p_cseq_offset) < 0
			|| cfg_add_str("to_tag_pref", &p_to_tag_pref) < 0
			|| cfg_add_int("force_delete", p_force_delete) < 0
			|| cfg_add_int("sip_uri_match", p_sip_uri_match) < 0
			|| cfg_add_int("subs_db_mode", p_subs_db_mode) < 0
			|| cfg_add_int("db_commit_delay", p_db_commit_delay) < 0
			|| cfg_add("socket_path", gp_socket_path, -1) < 0)
		return -1;

	if(presence_rpc_init() < 0)
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
	if(rank != PROC_MAIN)
		return 0; /* workers connect to the engine on first use */

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

static int fixup_library_mode(void **param, int param_no)
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

static int w_handle_publish(struct sip_msg *msg, char *sender, char *p2)
{
	str s;
	if(script_param(msg, sender, &s) < 0)
		return -1;
	return engine_handle_request(msg, WT_PUBLISH, s.s ? &s : NULL);
}

static int w_handle_subscribe(struct sip_msg *msg, char *watcher, char *p2)
{
	str s;
	if(script_param(msg, watcher, &s) < 0)
		return -1;
	return engine_handle_request(msg, WT_SUBSCRIBE, s.s ? &s : NULL);
}
