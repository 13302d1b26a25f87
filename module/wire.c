/* The worker <-> engine frame format, C side (docs/wire.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* where frames of up to WIRE_PKG_MAX bytes live (wire.h) */
#if defined(WIRE_PKG)
#include "../../core/mem/pkg.h"
#define small_malloc(n) pkg_malloc(n)
#define small_realloc(p, n) pkg_realloc(p, n)
#define small_free(p) pkg_free(p)
#elif defined(WIRE_TEST_HEAP)
/* module/test: its own small heap, so the test sees which heap each frame went to */
void *wire_test_small_malloc(size_t n);
void *wire_test_small_realloc(void *p, size_t n);
void wire_test_small_free(void *p);
#define small_malloc(n) wire_test_small_malloc(n)
#define small_realloc(p, n) wire_test_small_realloc(p, n)
#define small_free(p) wire_test_small_free(p)
#else
#define small_malloc(n) malloc(n)
#define small_realloc(p, n) realloc(p, n)
#define small_free(p) free(p)
#endif

void *wire_mem_alloc(size_t n)
{
	return n <= WIRE_PKG_MAX ? small_malloc(n) : malloc(n);
}

void wire_mem_free(void *p, size_t n)
{
	if(p == NULL)
		return;
	if(n <= WIRE_PKG_MAX)
		small_free(p);
	else
		free(p);
}

/* resizes a block of old bytes to n, moving it between the heaps when it crosses WIRE_PKG_MAX */
static void *mem_resize(void *p, size_t old, size_t n)
{
	void *q;

	if(p == NULL)
		return wire_mem_alloc(n);
	if(old <= WIRE_PKG_MAX && n <= WIRE_PKG_MAX)
		return small_realloc(p, n);
	if(old > WIRE_PKG_MAX && n > WIRE_PKG_MAX)
		return realloc(p, n);
	q = wire_mem_alloc(n);
	if(q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	wire_mem_free(p, old);
	return q;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

uint32_t wire_peek_len(const unsigned char *p4)
{
	return get32(p4);
}

static int grow(wire_buf_t *b, size_t extra)
{
	size_t need;
	unsigned char *n;

	if(b->failed)
		return -1;
	need = b->len + extra;
	if(need > (size_t)WIRE_MAX_FRAME + 4) {
		b->failed = 1;
		return -1;
	}
	if(need <= b->cap)
		return 0;
	if(need < b->cap * 2)
		need = b->cap * 2;
	n = mem_resize(b->buf, b->cap, need);
	if(n == NULL) {
		b->failed = 1;
		return -1;
	}
	b->buf = n;
	b->cap = need;
	return 0;
}

int wire_begin(wire_buf_t *b, int type, uint32_t id)
{
	b->len = 0;
	b->failed = 0;
	if(grow(b, 512 > WIRE_HDR_LEN ? 512 : WIRE_HDR_LEN) < 0)
		return -1;
	put32(b->buf, 0);
	b->buf[4] = WIRE_VERSION;
	b->buf[5] = (unsigned char)type;
	put32(b->buf + 6, id);
	b->len = WIRE_HDR_LEN;
	return 0;
}

void wire_add(wire_buf_t *b, int tag, const void *v, size_t len)
{
	if(len > WIRE_MAX_FRAME || grow(b, 5 + len) < 0)
		return;
	b->buf[b->len] = (unsigned char)tag;
	put32(b->buf + b->len + 1, (uint32_t)len);
	if(len)
		memcpy(b->buf + b->len + 5, v, len);
	b->len += 5 + len;
}

void wire_add_str(wire_buf_t *b, int tag, const char *s)
{
	wire_add(b, tag, s, s ? strlen(s) : 0);
}

void wire_add_int(wire_buf_t *b, int tag, long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);
	wire_add(b, tag, tmp, (size_t)n);
}

int wire_finish(wire_buf_t *b)
{
	if(b->failed || b->len < WIRE_HDR_LEN)
		return -1;
	put32(b->buf, (uint32_t)(b->len - 4));
	return 0;
}

void wire_free(wire_buf_t *b)
{
	wire_mem_free(b->buf, b->cap);
	b->buf = NULL;
	b->len = b->cap = 0;
}

int wire_decode(const unsigned char *frame, size_t len, wire_frame_t *out)
{
	uint32_t n;

	if(len < WIRE_HDR_LEN)
		return -1;
	n = get32(frame);
	if(n > WIRE_MAX_FRAME || (size_t)n + 4 != len)
		return -1;
	if(frame[4] != WIRE_VERSION)
		return -1;
	out->type = frame[5];
	out->id = get32(frame + 6);
	out->fields = frame + WIRE_HDR_LEN;
	out->fields_len = len - WIRE_HDR_LEN;
	return 0;
}

int wire_next(const wire_frame_t *f, size_t *off, wire_field_t *out)
{
	size_t rest;
	uint32_t l;

	if(*off >= f->fields_len)
		return 0;
	rest = f->fields_len - *off;
	if(rest < 5)
		return -1;
	l = get32(f->fields + *off + 1);
	if((size_t)l > rest - 5)
		return -1;
	out->tag = f->fields[*off];
	out->v = (const char *)f->fields + *off + 5;
	out->len = l;
	*off += 5 + (size_t)l;
	return 1;
}

int wire_get(const wire_frame_t *f, int tag, wire_field_t *out)
{
	size_t off = 0;
	wire_field_t fl;
	int r;

	while((r = wire_next(f, &off, &fl)) == 1) {
		if(fl.tag == tag) {
			*out = fl;
			return 1;
		}
	}
	return 0;
}
