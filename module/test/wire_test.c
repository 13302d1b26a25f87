/* C side of the wire cross-test (docs/wire.md):
 * - decode every golden frame the Go encoder wrote (gopresence/wire/testdata), re-encode it
 *   field by field and compare byte for byte, and read the answers through the answer decoder;
 * - encode the C golden frames (testdata/c) and compare them byte for byte with the committed
 *   files, which the Go test TestCFrames decodes (WIRE_UPDATE=1 rewrites them);
 * - check the decoders reject malformed frames, and which heap frame buffers come from.
 * Prints "N passed, M failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../answer.h"

static int passed, failed;

#define CHECK(cond, ...) do { if(cond) passed++; else { failed++; \
	fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); } } while(0)

/* a field equals the string s (a NULL s: the field is absent) */
static int field_is(wire_field_t f, const char *s)
{
	if(s == NULL)
		return f.v == NULL;
	return f.v != NULL && f.len == strlen(s) && memcmp(f.v, s, f.len) == 0;
}

/* The small heap wire.c uses for frames of up to WIRE_PKG_MAX (pkg memory in the module;
 * built with -DWIRE_TEST_HEAP). Blocks carry a marker before them, so a block freed by the
 * wrong heap fails under ASan (an address malloc never returned) or here. */
#define SMALL_MARK 0x5a11b10cu
#define SMALL_HDR 16
static long small_live;

void *wire_test_small_malloc(size_t n)
{
	unsigned char *p = malloc(n + SMALL_HDR);
	if(p == NULL)
		return NULL;
	*(unsigned *)p = SMALL_MARK;
	small_live++;
	return p + SMALL_HDR;
}

void wire_test_small_free(void *q)
{
	unsigned char *p = (unsigned char *)q - SMALL_HDR;
	CHECK(*(unsigned *)p == SMALL_MARK, "a large block freed as a small one");
	*(unsigned *)p = 0;
	small_live--;
	free(p);
}

void *wire_test_small_realloc(void *q, size_t n)
{
	unsigned char *p;
	if(q == NULL)
		return wire_test_small_malloc(n);
	p = (unsigned char *)q - SMALL_HDR;
	CHECK(*(unsigned *)p == SMALL_MARK, "a large block resized as a small one");
	p = realloc(p, n + SMALL_HDR);
	return p ? p + SMALL_HDR : NULL;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long n;
	if(!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc(n ? n : 1);
	if(fread(b, 1, n, f) != (size_t)n) {
		fclose(f);
		free(b);
		return NULL;
	}
	fclose(f);
	*len = n;
	return b;
}

static void roundtrip(const char *dir, const char *name)
{
	char path[1024];
	size_t len, off = 0;
	unsigned char *b;
	wire_frame_t f;
	wire_field_t fl;
	wire_buf_t out = {0};
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	b = slurp(path, &len);
	CHECK(b != NULL, "cannot read %s", path);
	if(!b)
		return;
	CHECK(wire_decode(b, len, &f) == 0, "%s: decode failed", name);
	wire_begin(&out, f.type, f.id);
	while((r = wire_next(&f, &off, &fl)) == 1)
		wire_add(&out, fl.tag, fl.v, fl.len);
	CHECK(r == 0, "%s: field iteration failed", name);
	CHECK(wire_finish(&out) == 0, "%s: finish failed", name);
	CHECK(out.len == len && memcmp(out.buf, b, len) == 0, "%s: re-encoding differs", name);
	wire_free(&out);
	free(b);
}

/* reads dir/name and decodes it as an answer: the buffer (to free), NULL if that failed */
static unsigned char *read_answer(const char *dir, const char *name, wire_answer_t *a)
{
	char path[1024];
	size_t len;
	unsigned char *b;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	b = slurp(path, &len);
	ok = b && wire_decode_answer(b, len, a) == 0;
	CHECK(ok, "%s: answer decode", name);
	if(!ok) {
		free(b);
		return NULL;
	}
	return b;
}

/* the Go-made answers through the answer decoder, field by field */
static void go_answers(const char *dir)
{
	size_t off;
	unsigned char *b;
	wire_answer_t a;
	wire_notify_t n;
	wire_rpc_item_t it;

	if((b = read_answer(dir, "answer.bin", &a)) != NULL) {
		CHECK(a.code == 200 && field_is(a.reason, "OK")
						&& field_is(a.headers, "Expires: 3600\r\nSIP-ETag: a.1.2.3.0\r\n")
						&& field_is(a.error, NULL) && field_is(a.to_tag, NULL)
						&& a.rows_off == a.frame.fields_len,
				"answer.bin: head");
		off = a.notifies_off;
		CHECK(wire_next_notify(&a.frame, &off, &n) == 1 && field_is(n.callid, "c1")
						&& field_is(n.local_tag, "lt") && field_is(n.remote_tag, "rt")
						&& field_is(n.cseq, "1") && field_is(n.headers, "Event: presence\r\n")
						&& field_is(n.body, "<x/>") && field_is(n.target, NULL),
				"answer.bin: first NOTIFY");
		CHECK(wire_next_notify(&a.frame, &off, &n) == 1 && field_is(n.callid, "c2")
						&& field_is(n.cseq, "9") && field_is(n.body, NULL)
						&& field_is(n.local_tag, NULL),
				"answer.bin: second NOTIFY");
		CHECK(wire_next_notify(&a.frame, &off, &n) == 0, "answer.bin: two NOTIFYs");
		free(b);
	}

	if((b = read_answer(dir, "subscribe_answer.bin", &a)) != NULL) {
		CHECK(a.code == 202 && field_is(a.reason, "Accepted") && field_is(a.to_tag, "10.7f3a")
						&& field_is(a.headers, "Expires: 60\r\n"),
				"subscribe_answer.bin: head");
		off = a.notifies_off;
		CHECK(wire_next_notify(&a.frame, &off, &n) == 1 && field_is(n.callid, "c1")
						&& field_is(n.local_tag, "10.7f3a") && field_is(n.remote_tag, "ft")
						&& field_is(n.local_uri, "sip:alice@example.com")
						&& field_is(n.remote_uri, "sip:bob@example.com")
						&& field_is(n.target, "sip:bob@192.0.2.1:5060")
						&& field_is(n.route_set, "<sip:p1;lr>,<sip:p2;lr>")
						&& field_is(n.socket, "udp:127.0.0.1:5060") && field_is(n.cseq, "1")
						&& field_is(n.headers, "Event: presence\r\n") && field_is(n.body, "")
						&& field_is(n.event, "presence")
						&& field_is(n.dst, "sip:192.0.2.1:5070;transport=tcp"),
				"subscribe_answer.bin: NOTIFY with every field");
		CHECK(wire_next_notify(&a.frame, &off, &n) == 0, "subscribe_answer.bin: one NOTIFY");
		free(b);
	}

	if((b = read_answer(dir, "reject.bin", &a)) != NULL) {
		CHECK(a.code == 489 && field_is(a.reason, "Bad Event")
						&& field_is(a.error, "unknown event nosuch")
						&& a.notifies_off == a.frame.fields_len,
				"reject.bin: head");
		free(b);
	}

	if((b = read_answer(dir, "rpc_answer.bin", &a)) != NULL) {
		const struct {
			int tag;
			const char *name, *value;
		} want[] = {{WF_RPC_ROW, NULL, NULL}, {WF_RPC_STR, "pres_uri", "sip:alice@example.com"},
				{WF_RPC_INT, "expires", "60"}, {WF_RPC_ROW, NULL, NULL},
				{WF_RPC_STR, "etag", "a=b"}, {WF_RPC_STR, "body", ""}};
		size_t i;
		off = a.rows_off;
		for(i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			CHECK(wire_next_rpc_item(&a.frame, &off, &it) == 1 && it.tag == want[i].tag
							&& field_is(it.name, want[i].name)
							&& field_is(it.value, want[i].value),
					"rpc_answer.bin: row item %zu", i);
		CHECK(wire_next_rpc_item(&a.frame, &off, &it) == 0, "rpc_answer.bin: items end");
		off = a.notifies_off;
		CHECK(wire_next_notify(&a.frame, &off, &n) == 1 && field_is(n.callid, "c3")
						&& wire_next_notify(&a.frame, &off, &n) == 0,
				"rpc_answer.bin: the NOTIFY after the rows");
		free(b);
	}
}

/* answers the decoder must refuse (a worker replies 500 to them) */
static void bad_answers(void)
{
	static const struct {
		int type;
		const char *code, *reason;
	} bad[] = {{WT_ANSWER, NULL, "OK"}, {WT_ANSWER, "200", NULL}, {WT_ANSWER, "abc", "OK"},
			{WT_ANSWER, "99", "OK"}, {WT_ANSWER, "099", "OK"}, {WT_ANSWER, "700", "OK"}, {WT_ANSWER, "2000", "OK"},
			{WT_PUBLISH, "200", "OK"}};
	wire_buf_t e = {0};
	wire_answer_t a;
	size_t i;

	for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wire_begin(&e, bad[i].type, 1);
		if(bad[i].code)
			wire_add_str(&e, WF_CODE, bad[i].code);
		if(bad[i].reason)
			wire_add_str(&e, WF_REASON, bad[i].reason);
		wire_finish(&e);
		CHECK(wire_decode_answer(e.buf, e.len, &a) < 0, "bad answer %zu accepted", i);
	}
	/* a field overrunning the frame after a good head */
	wire_begin(&e, WT_ANSWER, 1);
	wire_add_str(&e, WF_CODE, "200");
	wire_add_str(&e, WF_REASON, "OK");
	wire_add(&e, WF_NOTIFY_BEGIN, NULL, 0);
	wire_finish(&e);
	e.buf[e.len - 4] = 1; /* NotifyBegin's length: 1 << 24 */
	CHECK(wire_decode_answer(e.buf, e.len, &a) < 0, "overrunning answer accepted");
	wire_free(&e);
}

/* a field repeated in an answer: the first one counts (wire_decode_answer), the later ones cannot
 * change the reply the engine decided */
static void repeated_fields(void)
{
	wire_buf_t e = {0};
	wire_answer_t a;

	wire_begin(&e, WT_ANSWER, 1);
	wire_add_str(&e, WF_CODE, "200");
	wire_add_str(&e, WF_REASON, "OK");
	wire_add_str(&e, WF_HEADERS, "Expires: 60\r\n");
	wire_add_str(&e, WF_CODE, "500");
	wire_add_str(&e, WF_REASON, "Server Internal Error");
	wire_add_str(&e, WF_HEADERS, "X: y\r\n");
	wire_finish(&e);
	CHECK(wire_decode_answer(e.buf, e.len, &a) == 0 && a.code == 200 && field_is(a.reason, "OK")
					&& field_is(a.headers, "Expires: 60\r\n"),
			"a repeated answer field: not the first one counts");
	wire_free(&e);
}

/* The frames the C side sends, written by the C encoder; TestCFrames decodes the same files
 * field by field. Binary values (NUL bytes), empty fields and large numbers on purpose. */
static const unsigned char pidf_bin[] = {'<', 'p', '/', '>', 0, 1, 0xff, 0, '\n'};

static void c_publish(wire_buf_t *e)
{
	wire_begin(e, WT_PUBLISH, 0x01020304);
	wire_add_str(e, WF_RURI, "sip:alice@example.com");
	wire_add_str(e, WF_FROM_URI, "sip:alice@example.com");
	wire_add_str(e, WF_FROM_TAG, "ft");
	wire_add_str(e, WF_CALLID, "call-1@host");
	wire_add_int(e, WF_CSEQ, 4294967295LL);
	wire_add_str(e, WF_EVENT, "presence");
	wire_add_str(e, WF_EXPIRES, ""); /* present but empty */
	wire_add_str(e, WF_CONTENT_TYPE, "application/pidf+xml");
	wire_add(e, WF_BODY, pidf_bin, sizeof(pidf_bin));
	wire_add_str(e, WF_CONTENT_LENGTH, "1");
	wire_add_int(e, WF_CONTACT_COUNT, 0);
	wire_add_str(e, WF_SCRIPT_PARAM, NULL); /* a NULL string: an empty field */
	wire_add_int(e, WF_DEADLINE, 1764680000123LL);
}

static void c_notify_result(wire_buf_t *e)
{
	wire_begin(e, WT_NOTIFY_RESULT, 0xfffffffe);
	wire_add_str(e, WF_N_CALLID, "c1");
	wire_add_str(e, WF_N_LOCAL_TAG, "lt");
	wire_add_str(e, WF_N_REMOTE_TAG, "rt");
	wire_add_int(e, WF_N_CSEQ, 2);
	wire_add_int(e, WF_REPLY_CODE, 408);
}

static void c_rpc(wire_buf_t *e)
{
	wire_begin(e, WT_RPC, 5);
	wire_add_str(e, WF_RPC_COMMAND, "refreshWatchers");
	wire_add_str(e, WF_RPC_ARG, "sip:alice@example.com");
	wire_add(e, WF_RPC_ARG, "", 0);
	wire_add_int(e, WF_RPC_ARG, 1);
}

/* an answer-shaped frame: several NOTIFY groups, one with a binary body, one with an empty
 * body, one with none, and a tag neither side knows (decoders skip it) */
static void c_answer(wire_buf_t *e)
{
	wire_begin(e, WT_ANSWER, 0);
	wire_add_int(e, WF_CODE, 200);
	wire_add_str(e, WF_REASON, "OK");
	wire_add(e, WF_NOTIFY_BEGIN, NULL, 0);
	wire_add_str(e, WF_N_CALLID, "c1");
	wire_add_int(e, WF_N_CSEQ, 1);
	wire_add(e, WF_N_BODY, pidf_bin, sizeof(pidf_bin));
	wire_add(e, WF_NOTIFY_BEGIN, NULL, 0);
	wire_add_str(e, WF_N_CALLID, "c2");
	wire_add(e, WF_N_BODY, "", 0);
	wire_add(e, 255, "?", 1);
	wire_add(e, WF_NOTIFY_BEGIN, NULL, 0);
	wire_add_str(e, WF_N_CALLID, "c3");
	wire_add_str(e, WF_N_HEADERS, "Event: presence\r\nSubscription-State: active\r\n");
}

static void c_golden(const char *dir, int update)
{
	static const struct {
		const char *name;
		void (*build)(wire_buf_t *);
	} frames[] = {{"publish.bin", c_publish}, {"notify_result.bin", c_notify_result},
			{"rpc.bin", c_rpc}, {"answer.bin", c_answer}};
	char path[1024];
	size_t i, len;
	unsigned char *b;
	wire_buf_t e = {0};
	FILE *out;

	for(i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		snprintf(path, sizeof(path), "%s/c/%s", dir, frames[i].name);
		frames[i].build(&e);
		CHECK(wire_finish(&e) == 0, "c/%s: finish failed", frames[i].name);
		if(update) {
			out = fopen(path, "wb");
			CHECK(out && fwrite(e.buf, 1, e.len, out) == e.len && fclose(out) == 0,
					"cannot write %s", path);
		}
		b = slurp(path, &len);
		CHECK(b && len == e.len && memcmp(b, e.buf, len) == 0,
				"c/%s: the C encoder's output differs from the golden file (WIRE_UPDATE=1 "
				"rewrites it)",
				frames[i].name);
		free(b);
		wire_free(&e);
	}
}

/* frames up to WIRE_PKG_MAX come from the small heap (pkg in the module), larger ones from the
 * C library; a buffer growing past the limit moves */
static void heaps(void)
{
	static unsigned char big[WIRE_PKG_MAX];
	wire_buf_t e = {0};
	wire_frame_t f;
	wire_field_t fl;
	void *p;

	p = wire_mem_alloc(WIRE_PKG_MAX);
	CHECK(small_live == 1, "WIRE_PKG_MAX bytes not from the small heap");
	wire_mem_free(p, WIRE_PKG_MAX);
	p = wire_mem_alloc(WIRE_PKG_MAX + 1);
	CHECK(small_live == 0, "WIRE_PKG_MAX+1 bytes from the small heap");
	wire_mem_free(p, WIRE_PKG_MAX + 1);

	wire_begin(&e, WT_ANSWER, 1);
	wire_add_str(&e, WF_CODE, "200");
	CHECK(small_live == 1, "a small frame not in the small heap");
	big[0] = 'x';
	big[sizeof(big) - 1] = 'y';
	wire_add(&e, WF_N_BODY, big, sizeof(big));
	CHECK(small_live == 0 && e.cap > WIRE_PKG_MAX, "a grown frame still in the small heap");
	CHECK(wire_finish(&e) == 0 && wire_decode(e.buf, e.len, &f) == 0
					&& wire_get(&f, WF_CODE, &fl) && field_is(fl, "200")
					&& wire_get(&f, WF_N_BODY, &fl) && fl.len == sizeof(big) && fl.v[0] == 'x'
					&& fl.v[fl.len - 1] == 'y',
			"a frame moved between heaps lost its fields");
	wire_free(&e);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "gopresence/wire/testdata";
	const char *update = getenv("WIRE_UPDATE");
	size_t len;
	unsigned char *b;
	wire_frame_t f;
	wire_field_t fl;
	size_t off;
	int notifies = 0, r;
	wire_buf_t e = {0};

	roundtrip(dir, "publish.bin");
	roundtrip(dir, "answer.bin");
	roundtrip(dir, "subscribe_answer.bin");
	roundtrip(dir, "reject.bin");
	roundtrip(dir, "rpc_answer.bin");
	roundtrip(dir, "empty.bin");
	go_answers(dir);
	bad_answers();
	repeated_fields();
	c_golden(dir, update && strcmp(update, "1") == 0);
	heaps();

	/* field access on the Go-made answer */
	{
		char path[1024];
		snprintf(path, sizeof(path), "%s/answer.bin", dir);
		b = slurp(path, &len);
		CHECK(b && wire_decode(b, len, &f) == 0, "answer decode");
		if(b) {
			CHECK(f.type == WT_ANSWER && f.id == 7, "answer type/id");
			CHECK(wire_get(&f, WF_CODE, &fl) && fl.len == 3 && !memcmp(fl.v, "200", 3), "code");
			off = 0;
			while((r = wire_next(&f, &off, &fl)) == 1)
				if(fl.tag == WF_NOTIFY_BEGIN)
					notifies++;
			CHECK(notifies == 2, "want 2 notifies, got %d", notifies);
			/* malformed: truncated, bad version, overrunning field */
			CHECK(wire_decode(b, len - 1, &f) < 0, "truncated accepted");
			b[4] = 9;
			CHECK(wire_decode(b, len, &f) < 0, "bad version accepted");
			b[4] = 1;
			b[WIRE_HDR_LEN + 1] = 0xff;
			CHECK(wire_decode(b, len, &f) == 0, "header still valid");
			off = 0;
			CHECK(wire_next(&f, &off, &fl) == -1, "overrun accepted");
			free(b);
		}
	}
	wire_begin(&e, WT_NOTIFY_RESULT, 0);
	CHECK(wire_finish(&e) == 0 && e.len == WIRE_HDR_LEN, "empty frame length");
	wire_add_int(&e, WF_REPLY_CODE, 481);
	wire_finish(&e);
	CHECK(wire_decode(e.buf, e.len, &f) == 0 && wire_get(&f, WF_REPLY_CODE, &fl)
			&& fl.len == 3 && !memcmp(fl.v, "481", 3), "int field");
	wire_free(&e);
	CHECK(small_live == 0, "%ld small blocks never freed", small_live);

	printf("wire_test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
