/*
 * NOTIFYs: the engine decides every header and body; this file turns a NOTIFY group of a
 * frame into tm's dlg_t and sends it with t_request_within (as stock notify.c does), then
 * reports the final reply code back to the engine, which owns 481/408 handling.
 */
#include <stdlib.h>
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/mem/shm_mem.h"
#include "../../core/socket_info.h"
#include "../../core/parser/parse_rr.h"
#include "../../core/ut.h"
#include "../../core/xavp.h"
#include "../../core/action.h"
#include "../../core/route.h"
#include "../../core/receive.h"
#include "../../core/msg_translator.h"

#include "gopresence.h"

int gp_notify_reply_route = -1;

/* the subscription of a NOTIFY, as $subs shows it (shm: it waits in tm for the reply): the
 * engine's fields, and the dialog's from the NOTIFY's own */
static gp_subs_t *notify_subs(const wire_notify_t *n)
{
	wire_field_t f[WIRE_SUBS_N];

	memcpy(f, n->subs, sizeof(f));
	f[8] = n->event;
	f[GP_SUBS_TO_TAG] = n->local_tag;
	f[GP_SUBS_FROM_TAG] = n->remote_tag;
	f[GP_SUBS_CALLID] = n->callid;
	f[17] = n->route_set;
	f[24] = n->socket;
	return gp_subs_new(f, 1);
}

/* $xavp(<xavp_cfg>=>delete_subscription), set by the notify-reply route (stock
 * pres_get_delete_sub) */
static int script_deletes(void)
{
	static str name = str_init("delete_subscription");
	sr_xavp_t *x;

	if(gp_param_xavp_cfg.s == NULL || gp_param_xavp_cfg.len <= 0)
		return 0;
	x = xavp_get_child_with_ival(&gp_param_xavp_cfg, &name);
	return x != NULL && x->val.v.i != 0;
}

/* event_route[presence:notify-reply] with the NOTIFY as $msg, its subscription as $subs and
 * its reply (or a faked 408 for a local timeout) as $notify_reply (stock
 * run_notify_reply_event) */
static void run_notify_reply_route(struct cell *t, struct tmcb_params *ps, gp_subs_t *subs)
{
	sip_msg_t msg;
	gp_subs_t *backup;
	int rtype;

	if(gp_notify_reply_route < 0 || event_rt.rlist[gp_notify_reply_route] == NULL)
		return;
	if(t->uac == NULL || t->uac[0].request.buffer == NULL
			|| build_sip_msg_from_buf(&msg, t->uac[0].request.buffer,
					   t->uac[0].request.buffer_len, inc_msg_no())
					   < 0) {
		LM_ERR("cannot parse the NOTIFY for event_route[presence:notify-reply]\n");
		return;
	}
	gp_notify_reply_set(ps->rpl, ps->code);
	backup = gp_subs_cur;
	if(gp_param_pres_subs_mode == 1)
		gp_subs_cur = subs;
	rtype = get_route_type();
	set_route_type(LOCAL_ROUTE);
	run_top_route(event_rt.rlist[gp_notify_reply_route], &msg, 0);
	set_route_type(rtype);
	gp_subs_cur = backup;
	gp_notify_reply_clear();
	free_sip_msg(&msg);
}

/* TMCB_LOCAL_COMPLETED: runs in the process that got the final reply (or the timeout); the
 * engine owns what a failure means for the subscription (stock p_tm_callback) */
static void notify_done(struct cell *t, int type, struct tmcb_params *ps)
{
	gp_subs_t *s;
	wire_buf_t b = {0};
	int del;

	if(ps->param == NULL || *ps->param == NULL)
		return;
	s = (gp_subs_t *)*ps->param;
	gp_stats_notify_done(ps->code, ps->rpl == NULL || ps->rpl == FAKED_REPLY);
	run_notify_reply_route(t, ps, s);
	del = script_deletes();
	if(ps->code >= 300 || del) {
		wire_begin(&b, WT_NOTIFY_RESULT, engine_next_id());
		wire_add(&b, WF_N_CALLID, s->v[GP_SUBS_CALLID].s, s->v[GP_SUBS_CALLID].len);
		wire_add(&b, WF_N_LOCAL_TAG, s->v[GP_SUBS_TO_TAG].s, s->v[GP_SUBS_TO_TAG].len);
		wire_add(&b, WF_N_REMOTE_TAG, s->v[GP_SUBS_FROM_TAG].s, s->v[GP_SUBS_FROM_TAG].len);
		wire_add_int(&b, WF_N_CSEQ, s->notify_cseq);
		wire_add_int(&b, WF_REPLY_CODE, ps->code);
		if(del)
			wire_add_str(&b, WF_DELETE_SUBSCRIPTION, "1");
		if(engine_send(&b) < 0)
			LM_ERR("cannot report NOTIFY reply %d for %.*s to the engine\n", ps->code,
					s->v[GP_SUBS_CALLID].len, s->v[GP_SUBS_CALLID].s);
		wire_free(&b);
	}
	shm_free(s);
	*ps->param = NULL;
}

static int notify_send(const wire_notify_t *n, module_body_cache_t *cache)
{
	static str method = str_init("NOTIFY");
	dlg_t td;
	uac_req_t uac_r;
	gp_subs_t *cbp, *backup;
	str cseq_s = WSTR(n->cseq), headers = WSTR(n->headers), body = WSTR(n->body);
	int cseq = 0, r, has_body = n->body.v != NULL;
	module_notify_t m = {0};

	if(n->callid.len == 0 || n->local_tag.len == 0 || n->remote_tag.len == 0
			|| n->target.len == 0 || str2sint(&cseq_s, &cseq) < 0 || cseq < 1) {
		LM_ERR("incomplete NOTIFY from the engine\n");
		return -1;
	}
	/* an event a C module registered: its callbacks finish the body */
	if(n->content_type.v) {
		if(module_body_finish(n, cache, &m) < 0)
			return -1;
		headers = m.headers;
		body = m.body;
		has_body = m.has_body;
	}
	memset(&td, 0, sizeof(td));
	td.id.call_id = WSTR(n->callid);
	td.id.loc_tag = WSTR(n->local_tag);
	td.id.rem_tag = WSTR(n->remote_tag);
	td.loc_seq.value = cseq - 1; /* tm increments before sending */
	td.loc_seq.is_set = 1;
	td.loc_uri = WSTR(n->local_uri);
	td.rem_uri = WSTR(n->remote_uri);
	td.rem_target = WSTR(n->target);
	td.state = DLG_CONFIRMED;
	td.dst_uri = WSTR(n->dst); /* the subscriber's own connection, when the engine names one */
	if(n->route_set.len > 0
			&& parse_rr_body((char *)n->route_set.v, n->route_set.len, &td.route_set) < 0) {
		LM_ERR("bad route set for NOTIFY in %.*s\n", td.id.call_id.len, td.id.call_id.s);
		module_notify_release(&m);
		return -1;
	}
	if(n->socket.len > 0 && n->socket.len < 128) {
		char tmp[128];
		char *host;
		int hlen, port, proto;
		memcpy(tmp, n->socket.v, n->socket.len);
		tmp[n->socket.len] = 0;
		if(parse_phostport(tmp, &host, &hlen, &port, &proto) == 0) {
			str h = {host, hlen};
			td.send_sock = grep_sock_info(&h, (unsigned short)port, (unsigned short)proto);
		}
	}
	cbp = notify_subs(n);
	if(cbp != NULL)
		cbp->notify_cseq = cseq;
	if(cbp == NULL) {
		free_rr(&td.route_set);
		module_notify_release(&m);
		return -1;
	}
	/* an absent body sends none, an empty one is still sent */
	set_uac_req(&uac_r, &method, &headers, has_body ? &body : NULL, &td,
			TMCB_LOCAL_COMPLETED, notify_done, (void *)cbp);
	/* $subs in event_route[tm:local-request] (stock send_notify_request) */
	backup = gp_subs_cur;
	if(gp_param_pres_subs_mode == 1)
		gp_subs_cur = cbp;
	r = gp_tmb.t_request_within(&uac_r);
	gp_subs_cur = backup;
	gp_stats_notify_sent(r >= 0);
	if(r < 0) {
		LM_ERR("t_request_within failed for NOTIFY in %.*s\n", td.id.call_id.len,
				td.id.call_id.s);
		shm_free(cbp);
	} else {
		LM_GEN2(gp_local_log_facility, gp_param_local_log_level,
				"NOTIFY %.*s via %.*s on behalf of %.*s for event %.*s : %.*s\n",
				td.rem_uri.len, td.rem_uri.s,
				td.hooks.next_hop ? td.hooks.next_hop->len : 0,
				td.hooks.next_hop ? td.hooks.next_hop->s : "",
				td.loc_uri.len, td.loc_uri.s, (int)n->event.len, n->event.v,
				td.id.call_id.len, td.id.call_id.s);
	}
	free_rr(&td.route_set);
	module_notify_release(&m);
	return r < 0 ? -1 : 0;
}

int notify_send_all(const wire_frame_t *f, size_t from)
{
	wire_notify_t n;
	module_body_cache_t cache = {0};
	int failed = 0, r;

	/* one failed NOTIFY never stops the others (stock bug #4118) */
	while((r = wire_next_notify(f, &from, &n)) == 1)
		if(notify_send(&n, &cache) < 0)
			failed++;
	if(r < 0)
		LM_ERR("malformed NOTIFY list from the engine\n");
	module_body_cache_clear(&cache);
	return failed;
}
