/*
 * The worker <-> engine frame format, C side. docs/wire.md is the specification;
 * gopresence/wire/wire.go is the Go twin. The numbers come from gopresence/wire/gen/spec.go.
 * No Kamailio dependency: compiled into the module and into module/test/wire_test.c.
 */
#ifndef GOPRESENCE_WIRE_H
#define GOPRESENCE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "wire_spec.h" /* generated: WIRE_VERSION, WIRE_HDR_LEN, WIRE_MAX_FRAME, WT_*, WF_* */

/* Frame buffers (wire_buf_t, answers read by a worker) of up to WIRE_PKG_MAX bytes live in
 * Kamailio's pkg memory when wire.c is built into the module (-DWIRE_PKG, module/Makefile),
 * larger ones in the C library's heap: pkg is 8 MB per process by default (-M) and shared with
 * Kamailio's own parsing, while a fan-out answer may carry megabytes of NOTIFYs (up to
 * WIRE_MAX_FRAME). Built standalone (module/test), both come from the C library. */
#define WIRE_PKG_MAX (1u << 20)
void *wire_mem_alloc(size_t n);
void wire_mem_free(void *p, size_t n); /* n: the size p was allocated with */

/* A growable encode buffer (wire_mem_*; wire_free releases it). */
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
