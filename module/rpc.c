/*
 * kamcmd presence.* — the 5.6.3 commands. The ctl process asks the engine over the same
 * socket as the workers; the engine does the work and may hand back NOTIFYs to send.
 */
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/rpc.h"
#include "../../core/rpc_lookup.h"
#include "../../core/ut.h"

#include "gopresence.h"

int engine_command(const char *cmd, str *args, int nargs, wire_answer_t *a)
{
	wire_buf_t req = {0};
	int i, r;

	wire_begin(&req, WT_RPC, engine_next_id());
	wire_add_str(&req, WF_RPC_COMMAND, cmd);
	for(i = 0; i < nargs; i++)
		wire_add(&req, WF_RPC_ARG, args[i].s, args[i].len);
	r = engine_call(&req, a);
	wire_free(&req);
	return r;
}

int engine_answer_notify(int r, wire_answer_t *a, const char *what)
{
	if(r != 0) {
		LM_ERR("%s: the presence engine did not answer\n", what);
		return -1;
	}
	r = a->code < 300 ? 0 : -1;
	if(r < 0)
		LM_ERR("%s: %d %.*s\n", what, a->code, (int)a->reason.len, a->reason.v);
	notify_send_all(&a->frame, a->notifies_off);
	engine_answer_free(a);
	return r;
}

/* sends one RPC to the engine and turns its answer into the RPC reply */
static void rpc_engine(rpc_t *rpc, void *ctx, const char *cmd, str *args, int nargs,
		int as_array)
{
	wire_answer_t a;
	wire_rpc_item_t it;
	size_t off;
	int r;
	void *row = NULL;

	/* library mode registers no RPC (mod_init returns before presence_rpc_init) */
	r = engine_command(cmd, args, nargs, &a);
	if(r == ENGINE_MALFORMED) {
		rpc->fault(ctx, 500, "malformed answer from the presence engine");
		return;
	}
	if(r < 0) {
		rpc->fault(ctx, 500, "presence engine unavailable");
		return;
	}
	if(a.code >= 300) {
		rpc->fault(ctx, a.code, "%.*s", (int)a.reason.len, a.reason.v);
		engine_answer_free(&a);
		return;
	}
	for(off = a.rows_off; wire_next_rpc_item(&a.frame, &off, &it) == 1;) {
		char name[64];
		str v = WSTR(it.value);
		if(it.tag == WF_RPC_ROW) {
			if(rpc->add(ctx, "{", &row) < 0)
				break;
			continue;
		}
		if(row == NULL || it.name.len >= sizeof(name))
			continue;
		memcpy(name, it.name.v, it.name.len);
		name[it.name.len] = 0;
		if(it.tag == WF_RPC_INT) {
			int n = 0;
			str2sint(&v, &n);
			rpc->struct_add(row, "d", name, n);
		} else {
			rpc->struct_add(row, "S", name, &v);
		}
	}
	/* stock answers cleanup with "Reload OK" and the others with nothing */
	if(!as_array && row == NULL && !(a.reason.len == 2 && memcmp(a.reason.v, "OK", 2) == 0)) {
		str reason = WSTR(a.reason);
		rpc->add(ctx, "S", &reason);
	}
	notify_send_all(&a.frame, a.notifies_off);
	engine_answer_free(&a);
}

static const char *rpc_cleanup_doc[] = {
		"Remove expired publications and subscriptions now (notifying watchers)", 0};
static void rpc_cleanup(rpc_t *rpc, void *ctx)
{
	rpc_engine(rpc, ctx, "cleanup", NULL, 0, 0);
}

static const char *rpc_refresh_watchers_doc[] = {
		"Trigger refresh of watchers: uri event type (0 re-authorize, 1 re-NOTIFY, 2 hard"
		" state, with file_uri filename)", 0};
static void rpc_refresh_watchers(rpc_t *rpc, void *ctx)
{
	str uri = STR_NULL, event = STR_NULL, file_uri = STR_NULL, filename = STR_NULL;
	unsigned int type = 0;
	int n = rpc->scan(ctx, "SSu*SS", &uri, &event, &type, &file_uri, &filename);

	/* stock's checks and fault texts (presence.c rpc_presence_refresh_watchers) */
	if(n < 3) {
		rpc->fault(ctx, 500, "Not enough parameters");
		return;
	}
	if(uri.s == NULL || uri.len == 0) {
		rpc->fault(ctx, 500, "Empty presentity URI");
		return;
	}
	if(event.s == NULL || event.len == 0) {
		rpc->fault(ctx, 500, "Empty event parameter");
		return;
	}
	if(type == 2) {
		if(n < 5) {
			rpc->fault(ctx, 500, "No file uri or name parameters");
			return;
		}
		if(file_uri.s == NULL || file_uri.len == 0) {
			rpc->fault(ctx, 500, "Empty file uri parameter");
			return;
		}
		if(filename.s == NULL || filename.len == 0) {
			rpc->fault(ctx, 500, "Empty file name parameter");
			return;
		}
	}
	if(gp_pres_refresh_watchers(&uri, &event, (int)type, &file_uri, &filename) < 0)
		rpc->fault(ctx, 500, "Execution failed");
}

static const char *rpc_update_watchers_doc[] = {
		"Trigger update of watchers: uri event (their authorization from the rules again)", 0};
static void rpc_update_watchers(rpc_t *rpc, void *ctx)
{
	str uri = STR_NULL, event = STR_NULL;

	if(rpc->scan(ctx, "SS", &uri, &event) < 2) {
		rpc->fault(ctx, 500, "Not enough parameters");
		return;
	}
	if(uri.s == NULL || uri.len == 0) {
		rpc->fault(ctx, 500, "Empty presentity URI");
		return;
	}
	if(event.s == NULL || event.len == 0) {
		rpc->fault(ctx, 500, "Empty event parameter");
		return;
	}
	if(gp_pres_update_watchers(&uri, &event) < 0)
		rpc->fault(ctx, 500, "Processing error");
}

static const char *rpc_presentity_list_doc[] = {
		"List publications: [full]", 0};
static void rpc_presentity_list(rpc_t *rpc, void *ctx)
{
	str mode = STR_NULL;
	int n = rpc->scan(ctx, "*S", &mode) == 1 ? 1 : 0;
	rpc_engine(rpc, ctx, "presentity_list", &mode, n, 1);
}

/* Kamailio 5.7's: the output mode ("basic" or "full") and the filters are required */
static int rpc_mode(rpc_t *rpc, void *ctx, str *mode)
{
	if((mode->len == 4 && strncmp(mode->s, "full", 4) == 0)
			|| (mode->len == 5 && strncmp(mode->s, "basic", 5) == 0))
		return 0;
	rpc->fault(ctx, 500, "Unknown output mode");
	return -1;
}

static const char *rpc_presentity_show_doc[] = {
		"Show the presentity records for a specific user: basic|full user domain (* any)", 0};
static void rpc_presentity_show(rpc_t *rpc, void *ctx)
{
	str a[3] = {STR_NULL, STR_NULL, STR_NULL};

	if(rpc->scan(ctx, "SSS", &a[0], &a[1], &a[2]) < 3) {
		rpc->fault(ctx, 500, "Not enough parameters");
		return;
	}
	if(rpc_mode(rpc, ctx, &a[0]) == 0)
		rpc_engine(rpc, ctx, "presentity_show", a, 3, 1);
}

static const char *rpc_watcher_list_doc[] = {
		"Show the watcher records for a specific presentity: basic|full presentity_uri", 0};
static void rpc_watcher_list(rpc_t *rpc, void *ctx)
{
	str a[2] = {STR_NULL, STR_NULL};

	if(rpc->scan(ctx, "SS", &a[0], &a[1]) < 2) {
		rpc->fault(ctx, 500, "Not enough parameters");
		return;
	}
	if(rpc_mode(rpc, ctx, &a[0]) == 0)
		rpc_engine(rpc, ctx, "watcher_list", a, 2, 1);
}

static const char *rpc_status_doc[] = {
		"The presence engine: up, uptime, held state by subscription state and event, the"
		" database queue and transaction times (microseconds)", 0};
static void rpc_status(rpc_t *rpc, void *ctx)
{
	rpc_engine(rpc, ctx, "status", NULL, 0, 0);
}

/* clang-format off */
static rpc_export_t presence_rpc[] = {
	{"presence.cleanup",         rpc_cleanup,          rpc_cleanup_doc,          0},
	{"presence.refreshWatchers", rpc_refresh_watchers, rpc_refresh_watchers_doc, 0},
	{"presence.updateWatchers",  rpc_update_watchers,  rpc_update_watchers_doc,  0},
	{"presence.presentity_list", rpc_presentity_list,  rpc_presentity_list_doc,  RET_ARRAY},
	{"presence.presentity_show", rpc_presentity_show,  rpc_presentity_show_doc,  RET_ARRAY},
	{"presence.watcher_list",    rpc_watcher_list,     rpc_watcher_list_doc,     RET_ARRAY},
	{"presence.status",          rpc_status,           rpc_status_doc,           0},
	{0, 0, 0, 0}
};
/* clang-format on */

int presence_rpc_init(void)
{
	if(rpc_register_array(presence_rpc) != 0) {
		LM_ERR("failed to register the presence RPC commands\n");
		return -1;
	}
	return 0;
}
