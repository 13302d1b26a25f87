/*
 * A change of a presentity's rules (update_watchers_status, presence.updateWatchers): the C
 * module of the event re-evaluates every watcher it gave a verdict (the engine's watchers
 * table) against the new rules document, here in this process's C thread; the engine applies
 * the verdicts that changed and hands back the NOTIFYs, which leave from this process, so
 * exactly the watchers whose status changed hear of it.
 */
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/ut.h"

#include "gopresence.h"

/* one row of the engine's verdicts: strings point into its answer */
typedef struct verdict_row {
	str user, domain, reason;
	int status;
} verdict_row_t;

/* re-evaluates row with the rules and, if the verdict changes, adds it to req */
static void reevaluate(pres_ev_t *ev, str *pres_uri, str *rules_doc, verdict_row_t *row,
		wire_buf_t *req, int *changed)
{
	subs_t subs;

	memset(&subs, 0, sizeof(subs));
	subs.pres_uri = *pres_uri;
	subs.watcher_user = row->user;
	subs.watcher_domain = row->domain;
	subs.event = ev;
	subs.status = row->status; /* the rules may depend on it (presence_xml does) */
	subs.reason = row->reason;
	subs.auth_rules_doc = rules_doc;
	if(ev->get_auth_status(&subs) < 0) {
		LM_ERR("%.*s: no status for %.*s@%.*s from the new rules\n", pres_uri->len, pres_uri->s,
				row->user.len, row->user.s, row->domain.len, row->domain.s);
		return;
	}
	if(subs.status == (unsigned int)row->status && subs.reason.len == row->reason.len
			&& (subs.reason.len == 0 || memcmp(subs.reason.s, row->reason.s, subs.reason.len) == 0))
		return;
	wire_add(req, WF_RPC_ARG, row->user.s, row->user.len);
	wire_add(req, WF_RPC_ARG, row->domain.s, row->domain.len);
	wire_add_int(req, WF_RPC_ARG, subs.status);
	wire_add(req, WF_RPC_ARG, subs.reason.s ? subs.reason.s : "", subs.reason.len);
	(*changed)++;
}

int gp_update_watchers_status(str *pres_uri, pres_ev_t *event, str *rules_doc)
{
	/* presence_xml hands a pres_ev_t with only the name set: ours is looked up by it */
	pres_ev_t *ev = gp_event_named(event->name.s, event->name.len);
	str args[2];
	wire_answer_t a, b;
	wire_buf_t req = {0};
	wire_rpc_item_t it;
	verdict_row_t row;
	size_t off;
	int in_row = 0, changed = 0, r;

	if(ev == NULL || ev->get_auth_status == NULL)
		return 0; /* nothing decides watchers of this event (stock: nothing to do) */
	args[0] = *pres_uri;
	args[1] = ev->name;
	if(engine_command("_authorizations", args, 2, &a) != 0) {
		LM_ERR("%.*s: the presence engine did not list the watchers\n", pres_uri->len,
				pres_uri->s);
		return -1;
	}
	if(a.code >= 300) {
		LM_ERR("%.*s: %.*s\n", pres_uri->len, pres_uri->s, (int)a.reason.len, a.reason.v);
		engine_answer_free(&a);
		return -1;
	}
	wire_begin(&req, WT_RPC, engine_next_id());
	wire_add_str(&req, WF_RPC_COMMAND, "_reauthorize");
	wire_add(&req, WF_RPC_ARG, pres_uri->s, pres_uri->len);
	wire_add(&req, WF_RPC_ARG, ev->name.s, ev->name.len);
	memset(&row, 0, sizeof(row));
	for(off = a.rows_off; (r = wire_next_rpc_item(&a.frame, &off, &it)) == 1;) {
		if(it.tag == WF_RPC_ROW) {
			if(in_row)
				reevaluate(ev, pres_uri, rules_doc, &row, &req, &changed);
			memset(&row, 0, sizeof(row));
			in_row = 1;
			continue;
		}
		if(it.name.len == 4 && memcmp(it.name.v, "user", 4) == 0)
			row.user = WSTR(it.value);
		else if(it.name.len == 6 && memcmp(it.name.v, "domain", 6) == 0)
			row.domain = WSTR(it.value);
		else if(it.name.len == 6 && memcmp(it.name.v, "reason", 6) == 0)
			row.reason = WSTR(it.value);
		else if(it.name.len == 6 && memcmp(it.name.v, "status", 6) == 0) {
			str v = WSTR(it.value);
			str2sint(&v, &row.status);
		}
	}
	if(in_row)
		reevaluate(ev, pres_uri, rules_doc, &row, &req, &changed);
	r = 0;
	if(changed > 0)
		r = engine_answer_notify(engine_call(&req, &b), &b, "update_watchers_status");
	wire_free(&req);
	engine_answer_free(&a);
	return r;
}

int gp_update_watchers_rules(str *pres_uri, pres_ev_t *ev)
{
	struct sip_uri uri;
	str *doc = NULL;
	int r;

	if(parse_uri(pres_uri->s, pres_uri->len, &uri) < 0) {
		LM_ERR("bad presentity URI \"%.*s\"\n", pres_uri->len, pres_uri->s);
		return -1;
	}
	if(ev->get_rules_doc(&uri.user, &uri.host, &doc) < 0 || doc == NULL || doc->s == NULL) {
		/* stock logs it at DBG: no rules is an answer (-1), not a failure */
		LM_DBG("no %.*s rules for %.*s\n", ev->name.len, ev->name.s, pres_uri->len, pres_uri->s);
		if(doc)
			pkg_free(doc);
		return -1;
	}
	r = gp_update_watchers_status(pres_uri, ev, doc);
	pkg_free(doc->s);
	pkg_free(doc);
	return r;
}
