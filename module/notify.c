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

#include "gopresence.h"

/* what the tm callback needs to name the subscription (shm, strings inline) */
typedef struct notify_cbp {
	str callid, local_tag, remote_tag;
	int cseq;
	char data[];
} notify_cbp_t;

static notify_cbp_t *cbp_new(dlg_t *td, int cseq)
{
	notify_cbp_t *p;
	char *d;
	p = shm_malloc(sizeof(*p) + td->id.call_id.len + td->id.loc_tag.len + td->id.rem_tag.len);
	if(p == NULL) {
		SHM_MEM_ERROR;
		return NULL;
	}
	d = p->data;
#define CP(f, from)                            \
	p->f.s = d;                                \
	p->f.len = (from).len;                     \
	memcpy(d, (from).s, (from).len);           \
	d += (from).len;
	CP(callid, td->id.call_id)
	CP(local_tag, td->id.loc_tag)
	CP(remote_tag, td->id.rem_tag)
#undef CP
	p->cseq = cseq;
	return p;
}

/* TMCB_LOCAL_COMPLETED: runs in the process that got the final reply (or the timeout) */
static void notify_done(struct cell *t, int type, struct tmcb_params *ps)
{
	notify_cbp_t *p;
	wire_buf_t b = {0};

	if(ps->param == NULL || *ps->param == NULL)
		return;
	p = (notify_cbp_t *)*ps->param;
	if(ps->code >= 300) {
		wire_begin(&b, WT_NOTIFY_RESULT, engine_next_id());
		wire_add(&b, WF_N_CALLID, p->callid.s, p->callid.len);
		wire_add(&b, WF_N_LOCAL_TAG, p->local_tag.s, p->local_tag.len);
		wire_add(&b, WF_N_REMOTE_TAG, p->remote_tag.s, p->remote_tag.len);
		wire_add_int(&b, WF_N_CSEQ, p->cseq);
		wire_add_int(&b, WF_REPLY_CODE, ps->code);
		if(engine_send(&b) < 0)
			LM_ERR("cannot report NOTIFY reply %d for %.*s to the engine\n", ps->code,
					p->callid.len, p->callid.s);
		wire_free(&b);
	}
	shm_free(p);
	*ps->param = NULL;
}

static int notify_send(const wire_notify_t *n, module_body_cache_t *cache)
{
	static str method = str_init("NOTIFY");
	dlg_t td;
	uac_req_t uac_r;
	notify_cbp_t *cbp;
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
	cbp = cbp_new(&td, cseq);
	if(cbp == NULL) {
		free_rr(&td.route_set);
		module_notify_release(&m);
		return -1;
	}
	/* an absent body sends none, an empty one is still sent */
	set_uac_req(&uac_r, &method, &headers, has_body ? &body : NULL, &td,
			TMCB_LOCAL_COMPLETED, notify_done, (void *)cbp);
	r = gp_tmb.t_request_within(&uac_r);
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
