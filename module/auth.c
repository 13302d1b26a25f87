/*
 * Watcher authorization by the C module of an event (req_auth: presence_xml's pres-rules).
 * Its callbacks read its rules from its own database connection, which only a Kamailio
 * process's C thread may use: the worker asks them at an initial SUBSCRIBE and hands the
 * verdict to the engine, which keeps the first one per watcher (gopresence/authorize.go).
 */
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "../../core/parser/parse_from.h"
#include "../../core/parser/parse_uri.h"

#include "gopresence.h"

int module_authorize(struct sip_msg *msg, str *watcher_param, wire_buf_t *b)
{
	pres_ev_t *ev = gp_event_of_msg(msg);
	struct to_body *to, *from;
	struct sip_uri furi, wuri;
	char pres[512];
	str *doc = NULL;
	subs_t subs;
	int r;

	if(ev == NULL || !ev->req_auth || msg->to == NULL || (to = get_to(msg)) == NULL
			|| to->tag_value.len > 0)
		return 0; /* no rules, or not an initial SUBSCRIBE */
	/* what does not parse, the engine answers; any other request without a verdict it refuses
	 * (a watcher of an event whose rules decide is never active by default) */
	if(parse_sip_msg_uri(msg) < 0 || parse_from_header(msg) < 0)
		return 0;
	from = get_from(msg);
	if(parse_uri(from->uri.s, from->uri.len, &furi) < 0)
		return 0;
	wuri = furi;
	if(watcher_param && watcher_param->len
			&& parse_uri(watcher_param->s, watcher_param->len, &wuri) < 0)
		return 0;

	memset(&subs, 0, sizeof(subs));
	subs.pres_uri.s = pres;
	subs.pres_uri.len = snprintf(pres, sizeof(pres), "sip:%.*s%s%.*s",
			msg->parsed_uri.user.len, msg->parsed_uri.user.s, msg->parsed_uri.user.len ? "@" : "",
			msg->parsed_uri.host.len, msg->parsed_uri.host.s);
	if(subs.pres_uri.len >= (int)sizeof(pres))
		return 0;
	subs.watcher_user = wuri.user;
	subs.watcher_domain = wuri.host;
	subs.from_user = furi.user;
	subs.from_domain = furi.host;
	subs.event = ev;
	subs.status = PENDING_STATUS; /* stock's default before the rules speak */
	if(ev->get_rules_doc(&msg->parsed_uri.user, &msg->parsed_uri.host, &doc) < 0) {
		LM_ERR("SUBSCRIBE %.*s: the %.*s rules of %.*s could not be read\n",
				msg->callid ? msg->callid->body.len : 0, msg->callid ? msg->callid->body.s : "",
				ev->name.len, ev->name.s, subs.pres_uri.len, subs.pres_uri.s);
		return -1;
	}
	subs.auth_rules_doc = doc;
	r = ev->get_auth_status(&subs);
	if(r >= 0) {
		wire_add_int(b, WF_AUTH_STATUS, subs.status);
		if(subs.reason.len > 0)
			wire_add(b, WF_AUTH_REASON, subs.reason.s, subs.reason.len);
	}
	if(doc) {
		if(doc->s)
			pkg_free(doc->s);
		pkg_free(doc);
	}
	if(r < 0) {
		LM_ERR("SUBSCRIBE: the %.*s rules gave no status\n", ev->name.len, ev->name.s);
		return -1;
	}
	return 0;
}
