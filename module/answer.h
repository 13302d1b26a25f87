/*
 * Reading the engine's answers (module/answer.c). Everything points into the frame: nothing is
 * allocated per answer, field, row or NOTIFY.
 */
#ifndef GOPRESENCE_ANSWER_H
#define GOPRESENCE_ANSWER_H

#include "wire.h"

/* $subs(attr) fields by stock's attribute number (subscribe.c:747-775): field n has tag
 * WF_SUBS_BEGIN + n; [0] is unused */
#define WIRE_SUBS_N 25
#define WIRE_IS_SUBS(tag) ((tag) > WF_SUBS_BEGIN && (tag) < WF_SUBS_BEGIN + WIRE_SUBS_N)

/* An Answer frame, walked once by wire_decode_answer; fields point into the frame. A field's
 * v is NULL when the frame has none (an empty field has a v). */
typedef struct wire_answer {
	const unsigned char *buf; /* the whole frame, length prefix included */
	size_t len;
	wire_frame_t frame;
	int code; /* 100..699 */
	wire_field_t reason, headers, error, to_tag;
	size_t rows_off, notifies_off; /* first RPCRow / NotifyBegin; frame.fields_len: none */
	int has_subs; /* a SubsBegin before the NOTIFYs: the subscription a SUBSCRIBE left */
	wire_field_t subs[WIRE_SUBS_N];
} wire_answer_t;

/* 0 ok; -1 not a well-formed Answer with a Code in 100..699 and a Reason */
int wire_decode_answer(const unsigned char *frame, size_t len, wire_answer_t *a);

/* One NOTIFY group (Answer, EngineNotify); absent fields have v NULL. The last four come
 * with the events C modules registered (the C side finishes their bodies). */
typedef struct wire_notify {
	wire_field_t callid, local_tag, remote_tag, local_uri, remote_uri, target, route_set,
			socket, cseq, headers, body, event, dst;
	wire_field_t body_parts, content_type, pres_uri, version;
	wire_field_t subs[WIRE_SUBS_N]; /* those the N fields do not carry (docs/wire.md) */
} wire_notify_t;

/* the next NOTIFY group at or after *off (fields before a NotifyBegin are skipped);
 * 1 with a group, 0 at the end, -1 if malformed */
int wire_next_notify(const wire_frame_t *f, size_t *off, wire_notify_t *n);

/* One item of an RPC answer's rows: tag WF_RPC_ROW starts a row, WF_RPC_STR / WF_RPC_INT is a
 * member split at its '=' (members without one are skipped). */
typedef struct wire_rpc_item {
	int tag;
	wire_field_t name, value;
} wire_rpc_item_t;

/* the next row item at or after *off; 1 with an item, 0 at the end, -1 if malformed */
int wire_next_rpc_item(const wire_frame_t *f, size_t *off, wire_rpc_item_t *it);

#endif
