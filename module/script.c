/*
 * The script functions (cmds[]: handle_publish/handle_subscribe are presence.c's), and the
 * KEMI exports (module
 * "presence"), with stock 5.6.3's names, parameters and return codes (presence.c:182-205,
 * 1452-2077). What needs the state asks the engine; what needs a C module's rules (presence_xml's
 * pres-rules) runs here, as in stock.
 */
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/kemi.h"
#include "../../core/mem/mem.h"
#include "../../core/mod_fix.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/ut.h"

#include "gopresence.h"

int gp_pres_auth_status(str watcher_uri, str pres_uri)
{
	pres_ev_t *ev = gp_event_named("presence", 8);
	struct sip_uri uri;
	str *doc = NULL;
	subs_t subs;
	int status;

	/* the engine's own presence package authorizes every watcher */
	if(ev == NULL || ev->get_rules_doc == NULL)
		return ACTIVE_STATUS;
	if(parse_uri(pres_uri.s, pres_uri.len, &uri) < 0) {
		LM_ERR("pres_auth_status: bad presentity URI \"%.*s\"\n", pres_uri.len, pres_uri.s);
		return -1;
	}
	if(ev->get_rules_doc(&uri.user, &uri.host, &doc) < 0 || doc == NULL || doc->s == NULL)
		return PENDING_STATUS; /* no rules document (stock) */
	status = -1;
	if(parse_uri(watcher_uri.s, watcher_uri.len, &uri) < 0) {
		LM_ERR("pres_auth_status: bad watcher URI \"%.*s\"\n", watcher_uri.len, watcher_uri.s);
	} else {
		memset(&subs, 0, sizeof(subs));
		subs.watcher_user = uri.user;
		subs.watcher_domain = uri.host;
		subs.pres_uri = pres_uri;
		subs.auth_rules_doc = doc;
		if(ev->get_auth_status(&subs) < 0)
			LM_ERR("pres_auth_status: the rules document gave no status\n");
		else if(subs.reason.len == 12 && strncmp(subs.reason.s, "polite-block", 12) == 0)
			status = POLITE_BLOCK_STATUS;
		else
			status = subs.status;
	}
	pkg_free(doc->s);
	pkg_free(doc);
	return status;
}

/* an engine command whose answer may carry NOTIFYs, sent from this process: 0 or -1 */
int gp_engine_command_notify(const char *cmd, str *args, int nargs)
{
	wire_answer_t a;
	return engine_answer_notify(engine_command(cmd, args, nargs, &a), &a, cmd);
}

/* Type 2: the hard-state document (pidf-manipulation) the event's module has for the
 * presentity (get_pidf_doc: presence_xml's xcap table) becomes the publication named filename,
 * never expiring; without a document, that publication is removed (stock
 * update_hard_presentity). The engine applies it and notifies the watchers: 0 or -1. */
static int refresh_hard_state(str *pres, str *event, pres_ev_t *ev, str *file_uri, str *filename)
{
	struct sip_uri uri;
	str *doc = NULL;
	str args[5];
	int r, nargs = 4;

	if(ev == NULL || ev->get_pidf_doc == NULL) {
		LM_WARN("pidf-manipulation not supported for %.*s\n", ev ? ev->name.len : 0,
				ev ? ev->name.s : "");
		return -1;
	}
	if(parse_uri(pres->s, pres->len, &uri) < 0) {
		LM_ERR("bad presentity URI\n");
		return -1;
	}
	LM_INFO("Hard-state file %.*s (uri %.*s) updated for %.*s\n", filename->len, filename->s,
			file_uri->len, file_uri->s, pres->len, pres->s);
	r = ev->get_pidf_doc(&uri.user, &uri.host, file_uri, &doc);
	if(r < 0) {
		LM_ERR("retrieving pidf-manipulation document\n");
		r = -1;
		goto done;
	}
	args[0] = *pres;
	args[1] = *event;
	args[2].s = "2";
	args[2].len = 1;
	args[3] = *filename;
	if(r > 0 && doc != NULL && doc->s != NULL) {
		args[4] = *doc; /* the document; none: the hard state is removed */
		nargs = 5;
	}
	r = gp_engine_command_notify("refreshWatchers", args, nargs);
done:
	if(doc) {
		if(doc->s)
			pkg_free(doc->s);
		pkg_free(doc);
	}
	return r;
}

/* stock pres_refresh_watchers: 0 ok, -1 error */
int gp_pres_refresh_watchers(str *pres, str *event, int type, str *file_uri, str *filename)
{
	pres_ev_t *ev = gp_event_named(event->s, event->len);
	str args[3] = {*pres, *event, STR_NULL};

	/* an event a C module registered, or the engine's own: the engine refuses others */
	if(type == 0) {
		if(ev == NULL || ev->get_rules_doc == NULL) {
			LM_ERR("wrong request for a refresh watchers authorization status for an event"
				   " that does not require authorization\n");
			return -1;
		}
		if(gp_update_watchers_rules(pres, ev) < 0) {
			LM_ERR("no rules doc found for the user, or the watchers could not be updated\n");
			return -1;
		}
		return 0;
	}
	if(type == 2) {
		str none = str_init("");
		return refresh_hard_state(pres, event, ev, file_uri ? file_uri : &none,
				filename ? filename : &none);
	}
	args[2].s = "1";
	args[2].len = 1;
	return gp_engine_command_notify("refreshWatchers", args, 3);
}

/* stock ki_pres_update_watchers: 1 ok, -1 error */
int gp_pres_update_watchers(str *pres, str *event)
{
	pres_ev_t *ev = gp_event_named(event->s, event->len);

	/* only a C module's event has rules (an unknown one neither) */
	if(ev == NULL || ev->get_rules_doc == NULL) {
		LM_DBG("event %.*s does not provide rules doc API\n", event->len, event->s);
		return -1;
	}
	return gp_update_watchers_rules(pres, ev) < 0 ? -1 : 1;
}

/* stock ki_pres_has_subscribers: 1 when the presentity has a subscription of the event */
int gp_pres_has_subscribers(str *pres, str *event)
{
	str args[2] = {*pres, *event};
	wire_answer_t a;
	wire_rpc_item_t it;
	size_t off;
	int n = 0;

	/* the engine answers 500 for an event it does not serve */
	if(engine_command("_has_subscribers", args, 2, &a) != 0) {
		LM_ERR("pres_has_subscribers: the presence engine did not answer\n");
		return -1;
	}
	if(a.code >= 300)
		LM_ERR("pres_has_subscribers: %.*s\n", (int)a.reason.len, a.reason.v);
	else
		for(off = a.rows_off; wire_next_rpc_item(&a.frame, &off, &it) == 1;)
			if(it.tag == WF_RPC_INT) {
				str v = WSTR(it.value);
				str2sint(&v, &n);
			}
	engine_answer_free(&a);
	return n > 0 ? 1 : -1;
}

/* ---- the cfg wrappers (parameters are fixed up as stock's: spve, int for the type) ---- */

static int svalue(struct sip_msg *msg, char *p, str *out, const char *what)
{
	if(fixup_get_svalue(msg, (gparam_t *)p, out) != 0) {
		LM_ERR("invalid %s parameter\n", what);
		return -1;
	}
	return 0;
}

static int w_pres_auth_status(struct sip_msg *msg, char *wuri, char *puri)
{
	str w, p;

	if(svalue(msg, wuri, &w, "watcher uri") < 0 || svalue(msg, puri, &p, "presentity uri") < 0)
		return -1;
	if(w.s == NULL || w.len == 0) {
		LM_ERR("missing watcher uri\n");
		return -1;
	}
	if(p.s == NULL || p.len == 0) {
		LM_DBG("missing presentity uri\n");
		return -1;
	}
	return gp_pres_auth_status(w, p);
}

static int w_pres_refresh_watchers(struct sip_msg *msg, char *puri, char *pevent, char *ptype)
{
	str uri, event;
	int type;

	if(svalue(msg, puri, &uri, "uri") < 0 || svalue(msg, pevent, &event, "event") < 0)
		return -1;
	if(fixup_get_ivalue(msg, (gparam_t *)ptype, &type) != 0) {
		LM_ERR("no type value\n");
		return -1;
	}
	if(type == 2) {
		LM_ERR("Wrong number of parameters for type 2\n");
		return -1;
	}
	return gp_pres_refresh_watchers(&uri, &event, type, NULL, NULL) < 0 ? -1 : 1;
}

static int w_pres_refresh_watchers5(struct sip_msg *msg, char *puri, char *pevent, char *ptype,
		char *furi, char *fname)
{
	str uri, event, file_uri, filename;
	int type;

	if(svalue(msg, puri, &uri, "uri") < 0 || svalue(msg, pevent, &event, "event") < 0)
		return -1;
	if(fixup_get_ivalue(msg, (gparam_t *)ptype, &type) != 0) {
		LM_ERR("no type value\n");
		return -1;
	}
	if(svalue(msg, furi, &file_uri, "file uri") < 0
			|| svalue(msg, fname, &filename, "filename") < 0)
		return -1;
	if(type != 2) {
		LM_ERR("Wrong number of parameters for type %d\n", type);
		return -1;
	}
	return gp_pres_refresh_watchers(&uri, &event, type, &file_uri, &filename) < 0 ? -1 : 1;
}

static int w_pres_update_watchers(struct sip_msg *msg, char *puri, char *pevent)
{
	str uri, event;

	if(svalue(msg, puri, &uri, "uri") < 0 || svalue(msg, pevent, &event, "event") < 0)
		return -1;
	return gp_pres_update_watchers(&uri, &event);
}

static int w_pres_has_subscribers(struct sip_msg *msg, char *puri, char *pevent)
{
	str uri, event;

	if(svalue(msg, puri, &uri, "presentity_uri") < 0
			|| svalue(msg, pevent, &event, "watched_event") < 0)
		return -1;
	return gp_pres_has_subscribers(&uri, &event);
}

static int fixup_refresh_watchers(void **param, int param_no)
{
	if(param_no == 3)
		return fixup_igp_null(param, 1);
	return fixup_spve_null(param, 1);
}

static int fixup_spve_each(void **param, int param_no)
{
	return fixup_spve_null(param, 1);
}

/* clang-format off */
cmd_export_t gp_cmds[] = {
	{"handle_publish",        (cmd_function)gp_handle_publish,        0,
		gp_fixup_library_mode, 0, REQUEST_ROUTE},
	{"handle_publish",        (cmd_function)gp_handle_publish,        1,
		gp_fixup_library_mode, 0, REQUEST_ROUTE},
	{"handle_subscribe",      (cmd_function)gp_handle_subscribe,      0,
		gp_fixup_library_mode, 0, REQUEST_ROUTE},
	{"handle_subscribe",      (cmd_function)gp_handle_subscribe,      1,
		gp_fixup_library_mode, 0, REQUEST_ROUTE},
	{"pres_auth_status",      (cmd_function)w_pres_auth_status,       2,
		fixup_spve_spve, fixup_free_spve_spve, REQUEST_ROUTE},
	{"pres_refresh_watchers", (cmd_function)w_pres_refresh_watchers,  3,
		fixup_refresh_watchers, 0, ANY_ROUTE},
	{"pres_refresh_watchers", (cmd_function)w_pres_refresh_watchers5, 5,
		fixup_refresh_watchers, 0, ANY_ROUTE},
	{"pres_update_watchers",  (cmd_function)w_pres_update_watchers,   2,
		fixup_spve_each, 0, ANY_ROUTE},
	{"pres_has_subscribers",  (cmd_function)w_pres_has_subscribers,   2,
		fixup_spve_each, 0, ANY_ROUTE},
	{"bind_presence",         (cmd_function)bind_presence,            1, 0, 0, 0},
	{0, 0, 0, 0, 0, 0}
};
/* clang-format on */

/* ---- KEMI (stock presence.c:2029-2077) ---- */

static int ki_handle_publish(sip_msg_t *msg)
{
	return gp_handle_publish_uri(msg, NULL);
}

static int ki_handle_publish_uri(sip_msg_t *msg, str *sender)
{
	return gp_handle_publish_uri(msg, sender);
}

static int ki_handle_subscribe(sip_msg_t *msg)
{
	return gp_handle_subscribe_uri(msg, NULL);
}

static int ki_handle_subscribe_uri(sip_msg_t *msg, str *watcher)
{
	return gp_handle_subscribe_uri(msg, watcher);
}

static int ki_pres_auth_status(sip_msg_t *msg, str *watcher_uri, str *pres_uri)
{
	if(watcher_uri == NULL || pres_uri == NULL) {
		LM_ERR("invalid parameters\n");
		return -1;
	}
	return gp_pres_auth_status(*watcher_uri, *pres_uri);
}

static int ki_pres_refresh_watchers(sip_msg_t *msg, str *pres, str *event, int type)
{
	return gp_pres_refresh_watchers(pres, event, type, NULL, NULL);
}

static int ki_pres_refresh_watchers_file(
		sip_msg_t *msg, str *pres, str *event, int type, str *file_uri, str *filename)
{
	return gp_pres_refresh_watchers(pres, event, type, file_uri, filename);
}

static int ki_pres_update_watchers(sip_msg_t *msg, str *pres, str *event)
{
	return gp_pres_update_watchers(pres, event);
}

static int ki_pres_has_subscribers(sip_msg_t *msg, str *pres, str *event)
{
	return gp_pres_has_subscribers(pres, event);
}

#define KI_NONE SR_KEMIP_NONE
#define KI_STR SR_KEMIP_STR
#define KI_INT SR_KEMIP_INT
/* clang-format off */
static sr_kemi_t kemi_exports[] = {
	{ str_init("presence"), str_init("handle_publish"), SR_KEMIP_INT, ki_handle_publish,
		{ KI_NONE, KI_NONE, KI_NONE, KI_NONE, KI_NONE, KI_NONE } },
	{ str_init("presence"), str_init("handle_publish_uri"), SR_KEMIP_INT, ki_handle_publish_uri,
		{ KI_STR, KI_NONE, KI_NONE, KI_NONE, KI_NONE, KI_NONE } },
	{ str_init("presence"), str_init("handle_subscribe"), SR_KEMIP_INT, ki_handle_subscribe,
		{ KI_NONE, KI_NONE, KI_NONE, KI_NONE, KI_NONE, KI_NONE } },
	{ str_init("presence"), str_init("handle_subscribe_uri"), SR_KEMIP_INT,
		ki_handle_subscribe_uri,
		{ KI_STR, KI_NONE, KI_NONE, KI_NONE, KI_NONE, KI_NONE } },
	{ str_init("presence"), str_init("pres_refresh_watchers"), SR_KEMIP_INT,
		ki_pres_refresh_watchers,
		{ KI_STR, KI_STR, KI_INT, KI_NONE, KI_NONE, KI_NONE } },
	{ str_init("presence"), str_init("pres_refresh_watchers_file"), SR_KEMIP_INT,
		ki_pres_refresh_watchers_file,
		{ KI_STR, KI_STR, KI_INT, KI_STR, KI_STR, KI_NONE } },
	{ str_init("presence"), str_init("pres_update_watchers"), SR_KEMIP_INT,
		ki_pres_update_watchers,
		{ KI_STR, KI_STR, KI_NONE, KI_NONE, KI_NONE, KI_NONE } },
	{ str_init("presence"), str_init("pres_has_subscribers"), SR_KEMIP_INT,
		ki_pres_has_subscribers,
		{ KI_STR, KI_STR, KI_NONE, KI_NONE, KI_NONE, KI_NONE } },
	{ str_init("presence"), str_init("pres_auth_status"), SR_KEMIP_INT, ki_pres_auth_status,
		{ KI_STR, KI_STR, KI_NONE, KI_NONE, KI_NONE, KI_NONE } },
	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};
/* clang-format on */

int gp_kemi_register(void)
{
	return sr_kemi_modules_add(kemi_exports);
}
