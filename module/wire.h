/*
 * The worker <-> engine frame format, C side. docs/wire.md is the specification;
 * gopresence/wire/wire.go is the Go twin. Tag numbers must match that file.
 * No Kamailio dependency: compiled into the module and into module/test/wire_test.c.
 */
#ifndef GOPRESENCE_WIRE_H
#define GOPRESENCE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION 1
#define WIRE_HDR_LEN 10 /* u32 length, u8 version, u8 type, u32 id */
#define WIRE_MAX_FRAME (64u << 20)

enum wire_type {
	WT_PUBLISH = 1,
	WT_SUBSCRIBE = 2,
	WT_NOTIFY_RESULT = 3,
	WT_RPC = 4,
	WT_ANSWER = 10,
	WT_LOG = 20,
	WT_ENGINE_NOTIFY = 21,
};

enum wire_tag {
	/* request */
	WF_RURI = 1, WF_FROM_URI = 2, WF_FROM_TAG = 3, WF_TO_URI = 4, WF_TO_TAG = 5,
	WF_CALLID = 6, WF_CSEQ = 7, WF_EVENT = 8, WF_EXPIRES = 9, WF_IF_MATCH = 10,
	WF_CONTENT_TYPE = 11, WF_BODY = 12, WF_CONTACT = 13, WF_RECORD_ROUTE = 14,
	WF_SOCKET = 15, WF_SOURCE = 16, WF_USER_AGENT = 17, WF_SCRIPT_PARAM = 18,
	WF_DUPLICATE = 19, WF_ADVERTISED = 20, WF_BAD_HEADER = 21,
	WF_CONTENT_LENGTH = 22, WF_CONTACT_COUNT = 23, WF_DEADLINE = 24,
	/* answer */
	WF_CODE = 40, WF_REASON = 41, WF_HEADERS = 42, WF_ERROR = 43, WF_TO_TAG_OUT = 44,
	/* notify */
	WF_NOTIFY_BEGIN = 50, WF_N_CALLID = 51, WF_N_LOCAL_TAG = 52,
	WF_N_REMOTE_TAG = 53, WF_N_LOCAL_URI = 54, WF_N_REMOTE_URI = 55,
	WF_N_TARGET = 56, WF_N_ROUTE_SET = 57, WF_N_SOCKET = 58, WF_N_CSEQ = 59,
	WF_N_HEADERS = 60, WF_N_BODY = 61, WF_N_EVENT = 62, WF_N_DST = 63,
	WF_REPLY_CODE = 70,
	WF_LEVEL = 80, WF_MESSAGE = 81,
	/* rpc */
	WF_RPC_COMMAND = 90, WF_RPC_ARG = 91, WF_RPC_ROW = 92, WF_RPC_STR = 93, WF_RPC_INT = 94,
};

/* A growable encode buffer (malloc'd; the caller frees buf). */
typedef struct wire_buf {
	unsigned char *buf;
	size_t len, cap;
	int failed; /* allocation failed: the frame is unusable */
} wire_buf_t;

int wire_begin(wire_buf_t *b, int type, uint32_t id);
void wire_add(wire_buf_t *b, int tag, const void *v, size_t len);
void wire_add_str(wire_buf_t *b, int tag, const char *s); /* NUL-terminated */
void wire_add_int(wire_buf_t *b, int tag, long long v);
/* finishes the length prefix; returns 0, or -1 if an allocation failed */
int wire_finish(wire_buf_t *b);
void wire_free(wire_buf_t *b);

/* Decoding: fields point into the frame buffer. */
typedef struct wire_frame {
	int type;
	uint32_t id;
	const unsigned char *fields; /* first field */
	size_t fields_len;
} wire_frame_t;

typedef struct wire_field {
	int tag;
	const char *v;
	size_t len;
} wire_field_t;

/* frame = whole frame including the length prefix. 0 ok, -1 malformed. */
int wire_decode(const unsigned char *frame, size_t len, wire_frame_t *out);
/* iterate: *off starts at 0; returns 1 with a field, 0 at the end, -1 if malformed */
int wire_next(const wire_frame_t *f, size_t *off, wire_field_t *out);
/* first field with tag; 1 found, 0 not */
int wire_get(const wire_frame_t *f, int tag, wire_field_t *out);
/* the length announced by a 4-byte prefix */
uint32_t wire_peek_len(const unsigned char *p4);

#endif
