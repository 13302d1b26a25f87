/*
 * One PUBLISH or SUBSCRIBE through the engine: gather what Kamailio parsed into a request
 * frame, wait for the answer, send the reply through sl and the NOTIFYs through tm.
 * No SIP rule is decided here; a header Kamailio cannot parse is reported, not judged.
 */
#include <string.h>
#include <time.h>

#include "../../core/dprint.h"
#include "../../core/mem/pkg.h"
#include "../../core/ip_addr.h"
#include "../../core/data_lump_rpl.h"
#include "../../core/parser/parse_from.h"
#include "../../core/parser/parse_to.h"
#include "../../core/parser/parse_cseq.h"
#include "../../core/parser/parse_uri.h"
#include "../../core/parser/contact/parse_contact.h"
#include "../../core/ut.h"
#include "../../core/trim.h"
#include "../../core/parser/parse_content.h"
#include "../../core/xavp.h"

#include "gopresence.h"

static void add_str(wire_buf_t *b, int tag, str *s)
{
	if(s && s->s)
		wire_add(b, tag, s->s, s->len);
}

static void add_hdr(wire_buf_t *b, int tag, struct hdr_field *h)
{
	str v;
	if(h == NULL)
		return;
	v = h->body;
	trim(&v);
	wire_add(b, tag, v.s, v.len);
}

/* Record-Route bodies joined with "," in received order (stock print_rr_body) */
static void add_record_route(wire_buf_t *b, struct sip_msg *msg)
{
	struct hdr_field *h;
	size_t total = 0, n = 0;
	char *flat;

	for(h = msg->headers; h; h = h->next)
		if(h->type == HDR_RECORDROUTE_T)
			total += h->body.len + 1;
	if(total == 0 || (flat = pkg_malloc(total)) == NULL)
		return;
	for(h = msg->headers; h; h = h->next) {
		str v = h->body;
		if(h->type != HDR_RECORDROUTE_T)
			continue;
		trim(&v);
		if(n)
			flat[n++] = ',';
		memcpy(flat + n, v.s, v.len);
		n += v.len;
	}
	wire_add(b, WF_RECORD_ROUTE, flat, n);
	pkg_free(flat);
}

static void add_contact(wire_buf_t *b, struct sip_msg *msg)
{
	contact_body_t *cb;
	contact_t *c;
	int n = 0;

	if(msg->contact == NULL)
		return;
	if(parse_contact(msg->contact) < 0 || msg->contact->parsed == NULL) {
		wire_add_str(b, WF_BAD_HEADER, "Contact");
		return;
	}
	cb = (contact_body_t *)msg->contact->parsed;
	if(cb->star) {
		wire_add_str(b, WF_CONTACT_COUNT, "*");
		return;
	}
	for(c = cb->contacts; c; c = c->next)
		n++;
	if(cb->contacts)
		add_str(b, WF_CONTACT, &cb->contacts->uri);
	wire_add_int(b, WF_CONTACT_COUNT, n);
}

static void add_sockets(wire_buf_t *b, struct sip_msg *msg)
{
	struct socket_info *si = msg->rcv.bind_address;
	char src[64];

	if(si) {
		add_str(b, WF_SOCKET, &si->sock_str);
		if(si->useinfo.sock_str.len > 0)
			add_str(b, WF_ADVERTISED, &si->useinfo.sock_str);
		else
			add_str(b, WF_ADVERTISED, &si->sock_str);
	}
	snprintf(src, sizeof(src), msg->rcv.src_ip.af == AF_INET6 ? "[%s]:%d" : "%s:%d",
			ip_addr2a(&msg->rcv.src_ip), msg->rcv.src_port);
	wire_add_str(b, WF_SOURCE, src);
}

/* names the first single-valued header that occurs more than once (RFC 3261 §7.3.1) */
static void add_duplicates(wire_buf_t *b, struct sip_msg *msg)
{
	static const struct {
		enum _hdr_types_t type;
		const char *name;
	} single[] = {{HDR_EXPIRES_T, "Expires"}, {HDR_EVENT_T, "Event"},
			{HDR_SIPIFMATCH_T, "SIP-If-Match"}, {HDR_CALLID_T, "Call-ID"},
			{HDR_CSEQ_T, "CSeq"}, {HDR_FROM_T, "From"}, {HDR_TO_T, "To"},
			{HDR_CONTENTTYPE_T, "Content-Type"},
			{HDR_CONTENTLENGTH_T, "Content-Length"}};
	struct hdr_field *h;
	unsigned int i, n;

	for(i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		n = 0;
		for(h = msg->headers; h; h = h->next)
			if(h->type == single[i].type && ++n > 1) {
				wire_add_str(b, WF_DUPLICATE, single[i].name);
				return;
			}
	}
}

/* $xavp(<xavp_cfg>=>priority): the publication's priority the script chose (stock
 * new_presentity) */
static void add_priority(wire_buf_t *b)
{
	static str name = str_init("priority");
	sr_xavp_t *x;

	if(gp_param_xavp_cfg.s == NULL || gp_param_xavp_cfg.len <= 0)
		return;
	x = xavp_get_child_with_ival(&gp_param_xavp_cfg, &name);
	if(x != NULL)
		wire_add_int(b, WF_PRIORITY, x->val.v.i);
}

/* builds the request frame; 0 ok, -1 out of memory */
static int build_request(struct sip_msg *msg, int type, str *param, wire_buf_t *b)
{
	struct to_body *from, *to;
	str body, ruri;

	if(wire_begin(b, type, engine_next_id()) < 0)
		return -1;
	if(parse_headers(msg, HDR_EOH_F, 0) < 0) {
		wire_add_str(b, WF_BAD_HEADER, "message");
		return wire_finish(b);
	}
	ruri = msg->new_uri.s ? msg->new_uri : msg->first_line.u.request.uri;
	add_str(b, WF_RURI, &ruri);
	if(parse_from_header(msg) < 0) {
		wire_add_str(b, WF_BAD_HEADER, "From");
	} else {
		from = get_from(msg);
		add_str(b, WF_FROM_URI, &from->uri);
		if(from->tag_value.len)
			add_str(b, WF_FROM_TAG, &from->tag_value);
	}
	if(msg->to == NULL || (to = get_to(msg)) == NULL || to->error != PARSE_OK) {
		wire_add_str(b, WF_BAD_HEADER, "To");
	} else {
		add_str(b, WF_TO_URI, &to->uri);
		if(to->tag_value.len)
			add_str(b, WF_TO_TAG, &to->tag_value);
	}
	add_hdr(b, WF_CALLID, msg->callid);
	if(msg->cseq && msg->cseq->parsed)
		add_str(b, WF_CSEQ, &get_cseq(msg)->number);
	add_hdr(b, WF_EVENT, msg->event);
	add_hdr(b, WF_EXPIRES, msg->expires);
	add_hdr(b, WF_IF_MATCH, msg->sipifmatch);
	add_hdr(b, WF_CONTENT_TYPE, msg->content_type);
	add_hdr(b, WF_USER_AGENT, msg->user_agent);
	if(msg->content_length)
		wire_add_str(b, WF_CONTENT_LENGTH, "1");
	body.s = get_body(msg);
	body.len = body.s ? msg->len - (int)(body.s - msg->buf) : 0;
	if(msg->content_length) {
		int cl = get_content_length(msg);
		if(cl < body.len)
			body.len = cl;
	}
	if(body.len > 0)
		wire_add(b, WF_BODY, body.s, body.len);
	add_contact(b, msg);
	add_record_route(b, msg);
	add_sockets(b, msg);
	if(param)
		add_str(b, WF_SCRIPT_PARAM, param);
	add_duplicates(b, msg);
	if(type == WT_SUBSCRIBE && module_authorize(msg, param, b) < 0)
		return -1;
	if(type == WT_PUBLISH)
		add_priority(b);
	return wire_finish(b);
}

/* A reply with the To tag the engine chose (initial SUBSCRIBE): through the transaction if
 * the script created one (t_newtran), else statelessly. */
static int send_reply_tag(struct sip_msg *msg, int code, str *r, str *h, str *tag)
{
	struct cell *t = gp_tmb.t_gett();

	if(t != NULL && t != T_UNDEFINED) {
		struct cell *ref;
		/* t_reply_with_body releases a reference: take one for it */
		if(gp_tmb.t_lookup_ident(&ref, t->hash_index, t->label) < 0) {
			LM_ERR("cannot reference the current transaction\n");
			return -1;
		}
		if(gp_tmb.t_reply_with_body(ref, code, r, NULL, h, tag) < 0) {
			LM_ERR("cannot send the %d reply statefully\n", code);
			return -1;
		}
		return 0;
	}
	if(h->len > 0 && add_lump_rpl(msg, h->s, h->len, LUMP_RPL_HDR) == 0) {
		LM_ERR("cannot add reply headers\n");
		return -1;
	}
	if(gp_slb.dreply(msg, code, r, tag) < 0) {
		LM_ERR("cannot send the %d reply\n", code);
		return -1;
	}
	return 0;
}

/* the reply the engine decided (headers.s NULL: none; tag.len 0: the stack chooses) */
static int send_reply(struct sip_msg *msg, int code, str reason, str headers, str tag)
{
	if(tag.len > 0)
		return send_reply_tag(msg, code, &reason, &headers, &tag);
	if(headers.len > 0 && add_lump_rpl(msg, headers.s, headers.len, LUMP_RPL_HDR) == 0) {
		LM_ERR("cannot add reply headers\n");
		return -1;
	}
	if(gp_slb.freply(msg, code, &reason) < 0) {
		LM_ERR("cannot send the %d reply\n", code);
		return -1;
	}
	return 0;
}

static int reply_error(struct sip_msg *msg)
{
	static str reason = str_init("Server Internal Error");
	send_reply(msg, 500, reason, (str)STR_NULL, (str)STR_NULL);
	return -1;
}

/* the request this process last sent a stateless reply to (sl's SLCB_REPLY_READY), so that a
 * C module's check that replied itself (presence_xml's 415) gets no second reply from us:
 * stock sends its 500 after it, a second final answer to one request */
static unsigned int last_replied_id;
static int last_replied_pid;

static void note_reply(sl_cbp_t *p)
{
	if(p->req) {
		last_replied_id = p->req->id;
		last_replied_pid = p->req->pid;
	}
}

int gp_track_replies(void)
{
	static sl_cbelem_t cb = {SLCB_REPLY_READY, note_reply, NULL, NULL};
	return gp_slb.register_cb(&cb);
}

static int replied_to(struct sip_msg *msg)
{
	return last_replied_id == msg->id && last_replied_pid == msg->pid;
}

/* A C module's own check of a request for its event (evs_publ_handl, evs_subs_handl: e.g.
 * presence_mwi's message-summary body), in this worker before the engine sees the request.
 * Stock then replies 500 (publish.c:531, subscribe.c:1146), after the check's own reply if it
 * sent one: we send the 500 only when it did not. */
static int module_check(struct sip_msg *msg, int type)
{
	pres_ev_t *ev;

	if(parse_headers(msg, HDR_EOH_F, 0) < 0)
		return 0; /* the engine answers what Kamailio could not parse */
	ev = gp_event_of_msg(msg);
	if(ev == NULL)
		return 0;
	if(type == WT_PUBLISH)
		return ev->evs_publ_handl ? ev->evs_publ_handl(msg) : 0;
	return ev->evs_subs_handl ? ev->evs_subs_handl(msg) : 0;
}

int engine_handle_request(struct sip_msg *msg, int type, str *param)
{
	wire_buf_t req = {0};
	wire_answer_t a;
	int ret;
	struct timespec t0, t1;
	const char *what = type == WT_PUBLISH ? "PUBLISH" : "SUBSCRIBE";

	if(type == WT_SUBSCRIBE)
		gp_subs_forget_last(); /* $subs is null unless this one leaves a subscription */

	if(module_check(msg, type) < 0) {
		if(replied_to(msg)) {
			LM_NOTICE("%s: refused by the module of its event, which replied\n", what);
			return -1;
		}
		LM_NOTICE("%s: refused by the module of its event: replying 500\n", what);
		return reply_error(msg);
	}
	if(build_request(msg, type, param, &req) < 0) {
		wire_free(&req);
		LM_ERR("%s: cannot build the engine request\n", what);
		return reply_error(msg);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = engine_call(&req, &a);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	wire_free(&req);
	LM_DBG("%s: engine round trip %ld us\n", what,
			(long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
	gp_stats_request(type, ret < 0 ? 500 : a.code,
			(long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000),
			ret == 0);
	if(ret == ENGINE_MALFORMED) {
		LM_ERR("%s: malformed answer from the engine\n", what);
		return reply_error(msg);
	}
	if(ret < 0) {
		LM_ERR("%s: presence engine unavailable: replying 500\n", what);
		return reply_error(msg);
	}
	if(type == WT_SUBSCRIBE)
		gp_subs_set_last(&a);
	/* the engine decided this reply: a rejection is a normal outcome (NOTICE); the engine
	 * logs its own internal failures at ERR */
	if(a.error.v)
		LM_NOTICE("%s: %d: %.*s\n", what, a.code, (int)a.error.len, a.error.v);
	if(send_reply(msg, a.code, WSTR(a.reason), WSTR(a.headers), WSTR(a.to_tag)) < 0) {
		engine_answer_free(&a);
		return -1;
	}
	/* NOTIFYs go out after the reply (RFC 6665 §4.2.1.2: the 2xx first) */
	notify_send_all(&a.frame, a.notifies_off);
	engine_answer_free(&a);
	return (a.code < 300 || a.code == 412) ? 1 : -1;
}
