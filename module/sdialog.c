/*
 * extract_sdialog_info of presence_api_t: the dialog fields of a SUBSCRIBE, for a companion
 * that keeps its own subscriptions (rls). This module's own SUBSCRIBEs are read by the
 * engine; this runs in the caller's worker with 5.6.3's contract (subscribe.c):
 *   - expires: the Expires header, else the event's default_expires; capped at max_expire
 *     (the caller's), and below this module's min_expires either refused (action 1, -1) or
 *     raised (action 2);
 *   - the To-tag: the request's, or the one sl will put in its reply (*to_tag_gen = 1);
 *   - record_route (only for a new dialog), local_contact (only when scontact is empty) and
 *     pres_uri (only for dialog;sla) are pkg memory the caller frees; every other string
 *     points into msg.
 */
#include <stdio.h>
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/dset.h"
#include "../../core/mem/mem.h"
#include "../../core/parser/contact/parse_contact.h"
#include "../../core/parser/parse_expires.h"
#include "../../core/parser/parse_from.h"
#include "../../core/parser/parse_rr.h"
#include "../../core/parser/parse_to.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/ut.h"

#include "../presence/utils_func.h" /* EVENT_DIALOG_SLA, uandd_to_uri */
#include "gopresence.h"

/* the requested lifetime after max_expire and min_expires; -1 when refused */
static int dialog_expires(subs_t *subs, struct sip_msg *msg, unsigned int max_expire)
{
	unsigned int e = subs->event->default_expires;
	unsigned int min = gp_param_min_expires;

	if(msg->expires && msg->expires->body.len > 0) {
		if(!msg->expires->parsed && parse_expires(msg->expires) < 0) {
			LM_ERR("bad Expires header\n");
			return -1;
		}
		e = ((exp_body_t *)msg->expires->parsed)->val;
	}
	if(e > max_expire)
		e = max_expire;
	if(e && min && e < min) {
		if(gp_param_min_expires_action == 1) {
			LM_DBG("Expires %u below min_expires %u: refused\n", e, min);
			return -1;
		}
		e = min;
	}
	subs->expires = e;
	return 0;
}

/* user and host of a To/From body, from its parsed URI or by parsing it */
static int body_user_host(struct to_body *b, str *user, str *host)
{
	struct sip_uri uri;

	if(b->parsed_uri.user.len && b->parsed_uri.host.len) {
		*user = b->parsed_uri.user;
		*host = b->parsed_uri.host;
		return 0;
	}
	if(parse_uri(b->uri.s, b->uri.len, &uri) < 0) {
		LM_ERR("bad URI \"%.*s\"\n", b->uri.len, b->uri.s);
		return -1;
	}
	*user = uri.user;
	*host = uri.host;
	return 0;
}

/* the address NOTIFYs of this dialog carry as Contact (pkg): server_address, or the socket
 * the request came in on with its transport, as stock's local contact */
static int local_contact(struct sip_msg *msg, str *out)
{
	struct socket_info *si = msg->rcv.bind_address;
	const char *proto, *v6l = "", *v6r = "";
	str host = si->useinfo.name.len > 0 ? si->useinfo.name : si->address_str;
	int port = si->useinfo.port_no > 0 ? si->useinfo.port_no : si->port_no;
	int size;

	if(gp_param_server_address.len > 0) {
		out->s = pkg_malloc(gp_param_server_address.len + 1);
		if(out->s == NULL)
			goto oom;
		memcpy(out->s, gp_param_server_address.s, gp_param_server_address.len);
		out->s[out->len = gp_param_server_address.len] = 0;
		return 0;
	}
	switch(msg->rcv.proto) {
		case PROTO_NONE:
		case PROTO_UDP: proto = "udp"; break;
		case PROTO_TCP: proto = "tcp"; break;
		case PROTO_TLS: proto = "tls"; break;
		case PROTO_SCTP: proto = "sctp"; break;
		case PROTO_WS:
		case PROTO_WSS: proto = "ws"; break;
		default: LM_ERR("unsupported transport %d\n", msg->rcv.proto); return -1;
	}
	if(si->address.af == AF_INET6) {
		v6l = "[";
		v6r = "]";
	}
	size = host.len + 48;
	if((out->s = pkg_malloc(size)) == NULL)
		goto oom;
	out->len = snprintf(out->s, size, "%s%s%.*s%s:%d;transport=%s",
			strncmp(host.s, "sip:", 4) ? "sip:" : "", v6l, host.len, host.s, v6r, port, proto);
	return 0;
oom:
	PKG_MEM_ERROR;
	return -1;
}

int gp_extract_sdialog_info(subs_t *subs, struct sip_msg *msg, int max_expire, int *to_tag_gen,
		str scontact, str wuser, str wdomain)
{
	struct to_body *to, *from;
	contact_body_t *cb;
	struct sip_uri line;
	str rr = STR_NULL;

	if(dialog_expires(subs, msg, (unsigned int)max_expire) < 0)
		return -1;
	if(parse_headers(msg, HDR_TO_F | HDR_CALLID_F | HDR_CSEQ_F | HDR_CONTACT_F, 0) < 0
			|| msg->to == NULL || (to = get_to(msg)) == NULL || to->uri.len <= 0) {
		LM_ERR("bad or missing To header\n");
		return -1;
	}
	if(body_user_host(to, &subs->to_user, &subs->to_domain) < 0)
		return -1;
	if(parse_from_header(msg) < 0 || (from = get_from(msg)) == NULL
			|| body_user_host(from, &subs->from_user, &subs->from_domain) < 0) {
		LM_ERR("bad or missing From header\n");
		return -1;
	}
	subs->watcher_user = wuser;
	subs->watcher_domain = wdomain;

	*to_tag_gen = to->tag_value.len == 0;
	subs->to_tag = to->tag_value;
	if(*to_tag_gen && (gp_slb.get_reply_totag(msg, &subs->to_tag) < 0 || subs->to_tag.len <= 0)) {
		LM_ERR("no To-tag for the reply\n");
		return -1;
	}
	if(msg->callid == NULL || msg->cseq == NULL
			|| str2int(&get_cseq(msg)->number, &subs->remote_cseq) != 0) {
		LM_ERR("bad or missing Call-ID or CSeq\n");
		return -1;
	}
	subs->callid = msg->callid->body;
	if(msg->contact == NULL || parse_contact(msg->contact) < 0
			|| (cb = msg->contact->parsed) == NULL || cb->star || cb->contacts == NULL) {
		LM_ERR("bad or missing Contact header\n");
		return -1;
	}
	subs->contact = cb->contacts->uri;
	/* dialog;sla / dialog;ma: the presentity is the subscriber's own line, the user of its
	 * Contact at the From domain (pkg, the caller frees it), as stock */
	if(subs->event->evp && EVENT_DIALOG_SLA(subs->event->evp)
			&& (parse_uri(subs->contact.s, subs->contact.len, &line) < 0
					|| uandd_to_uri(line.user, subs->from_domain, &subs->pres_uri) < 0)) {
		LM_ERR("no presentity from Contact \"%.*s\"\n", subs->contact.len, subs->contact.s);
		return -1;
	}
	if(from->tag_value.len == 0) {
		LM_ERR("no From tag\n");
		return -1;
	}
	subs->from_tag = from->tag_value;

	/* the route set is fixed by the request that creates the dialog (RFC 3261 12.1.1); a
	 * route that cannot be printed leaves it empty, as stock */
	if(*to_tag_gen && msg->record_route && print_rr_body(msg->record_route, &rr, 0, 0) != 0)
		rr = (str)STR_NULL;
	subs->record_route = rr;
	subs->sockinfo_str = msg->rcv.bind_address->sock_str;
	subs->version = 1;
	if(scontact.len > 0)
		subs->local_contact = scontact;
	else if(local_contact(msg, &subs->local_contact) < 0)
		goto error;
	if(parse_headers(msg, HDR_USERAGENT_F, 0) != -1 && msg->user_agent
			&& msg->user_agent->body.len > 0 && msg->user_agent->body.len < MAX_UA_SIZE)
		subs->user_agent = msg->user_agent->body;
	getbflagsval(0, &subs->flags);
	return 0;
error:
	if(rr.s)
		pkg_free(rr.s);
	subs->record_route = (str)STR_NULL;
	return -1;
}
