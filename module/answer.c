/* Reading the engine's answers: the reply's fields in one walk, then its RPC rows and NOTIFY
 * groups (also those of EngineNotify frames) from where that walk found them (docs/wire.md).
 * No Kamailio dependency, like wire.c: compiled into the module and module/test/wire_test.c. */
#include <string.h>

#include "answer.h"

/* a decimal status code, 100..699 */
static int status_code(const wire_field_t *fl)
{
	size_t i;
	int code = 0;

	if(fl->len != 3)
		return -1;
	for(i = 0; i < 3; i++) {
		if(fl->v[i] < '0' || fl->v[i] > '9')
			return -1;
		code = code * 10 + (fl->v[i] - '0');
	}
	return code >= 100 && code <= 699 ? code : -1;
}

int wire_decode_answer(const unsigned char *frame, size_t len, wire_answer_t *a)
{
	size_t off = 0, at;
	wire_field_t fl, code = {0, NULL, 0};
	int r;

	memset(a, 0, sizeof(*a));
	if(wire_decode(frame, len, &a->frame) < 0 || a->frame.type != WT_ANSWER)
		return -1;
	a->buf = frame;
	a->len = len;
	a->rows_off = a->notifies_off = a->frame.fields_len;
	/* the first of each field counts, wherever it is */
	for(at = off; (r = wire_next(&a->frame, &off, &fl)) == 1; at = off) {
		wire_field_t *dst = NULL;
		switch(fl.tag) {
			case WF_CODE: dst = &code; break;
			case WF_REASON: dst = &a->reason; break;
			case WF_HEADERS: dst = &a->headers; break;
			case WF_ERROR: dst = &a->error; break;
			case WF_TO_TAG_OUT: dst = &a->to_tag; break;
			case WF_RPC_ROW:
				if(a->rows_off == a->frame.fields_len)
					a->rows_off = at;
				break;
			case WF_NOTIFY_BEGIN:
				if(a->notifies_off == a->frame.fields_len)
					a->notifies_off = at;
				break;
			case WF_SUBS_BEGIN:
				if(a->notifies_off == a->frame.fields_len)
					a->has_subs = 1;
				break;
			default:
				/* the answer's own subscription; a NOTIFY group's are its own */
				if(a->has_subs && a->notifies_off == a->frame.fields_len
						&& WIRE_IS_SUBS(fl.tag))
					dst = &a->subs[fl.tag - WF_SUBS_BEGIN];
		}
		if(dst != NULL && dst->v == NULL)
			*dst = fl;
	}
	if(r < 0 || code.v == NULL || a->reason.v == NULL || (a->code = status_code(&code)) < 0)
		return -1;
	return 0;
}

int wire_next_notify(const wire_frame_t *f, size_t *off, wire_notify_t *n)
{
	wire_field_t fl;
	size_t at;
	int r, in = 0;

	for(at = *off; (r = wire_next(f, off, &fl)) == 1; at = *off) {
		wire_field_t *dst = NULL;
		if(fl.tag == WF_NOTIFY_BEGIN) {
			if(in) {
				*off = at; /* the next group's start */
				return 1;
			}
			memset(n, 0, sizeof(*n));
			in = 1;
			continue;
		}
		if(!in)
			continue;
		switch(fl.tag) {
			case WF_N_CALLID: dst = &n->callid; break;
			case WF_N_LOCAL_TAG: dst = &n->local_tag; break;
			case WF_N_REMOTE_TAG: dst = &n->remote_tag; break;
			case WF_N_LOCAL_URI: dst = &n->local_uri; break;
			case WF_N_REMOTE_URI: dst = &n->remote_uri; break;
			case WF_N_TARGET: dst = &n->target; break;
			case WF_N_ROUTE_SET: dst = &n->route_set; break;
			case WF_N_SOCKET: dst = &n->socket; break;
			case WF_N_CSEQ: dst = &n->cseq; break;
			case WF_N_HEADERS: dst = &n->headers; break;
			case WF_N_BODY: dst = &n->body; break;
			case WF_N_EVENT: dst = &n->event; break;
			case WF_N_DST: dst = &n->dst; break;
			case WF_N_BODY_PARTS: dst = &n->body_parts; break;
			case WF_N_CONTENT_TYPE: dst = &n->content_type; break;
			case WF_N_PRES_URI: dst = &n->pres_uri; break;
			case WF_N_VERSION: dst = &n->version; break;
			default:
				if(WIRE_IS_SUBS(fl.tag))
					dst = &n->subs[fl.tag - WF_SUBS_BEGIN];
		}
		if(dst != NULL)
			*dst = fl;
	}
	return r < 0 ? -1 : in;
}

int wire_next_rpc_item(const wire_frame_t *f, size_t *off, wire_rpc_item_t *it)
{
	wire_field_t fl;
	const char *eq;
	int r;

	while((r = wire_next(f, off, &fl)) == 1) {
		if(fl.tag == WF_RPC_ROW) {
			memset(it, 0, sizeof(*it));
			it->tag = WF_RPC_ROW;
			return 1;
		}
		if((fl.tag != WF_RPC_STR && fl.tag != WF_RPC_INT)
				|| (eq = memchr(fl.v, '=', fl.len)) == NULL)
			continue;
		it->tag = fl.tag;
		it->name.tag = it->value.tag = fl.tag;
		it->name.v = fl.v;
		it->name.len = (size_t)(eq - fl.v);
		it->value.v = eq + 1;
		it->value.len = fl.len - it->name.len - 1;
		return 1;
	}
	return r;
}
