/* C side of the wire cross-test: decode every golden frame the Go encoder wrote
 * (gopresence/wire/testdata), re-encode it field by field and compare byte for byte; then
 * check the decoder rejects malformed frames. Prints "N passed, M failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../wire.h"

static int passed, failed;

#define CHECK(cond, ...) do { if(cond) passed++; else { failed++; \
	fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); } } while(0)

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

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "gopresence/wire/testdata";
	size_t len;
	unsigned char *b;
	wire_frame_t f;
	wire_field_t fl;
	size_t off;
	int notifies = 0, r;
	wire_buf_t e = {0};

	roundtrip(dir, "publish.bin");
	roundtrip(dir, "answer.bin");
	roundtrip(dir, "empty.bin");

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
	/* C encoder output the Go decoder test also reads (shape check here) */
	wire_begin(&e, WT_NOTIFY_RESULT, 0);
	CHECK(wire_finish(&e) == 0 && e.len == WIRE_HDR_LEN, "empty frame length");
	wire_add_int(&e, WF_REPLY_CODE, 481);
	wire_finish(&e);
	CHECK(wire_decode(e.buf, e.len, &f) == 0 && wire_get(&f, WF_REPLY_CODE, &fl)
			&& fl.len == 3 && !memcmp(fl.v, "481", 3), "int field");
	wire_free(&e);

	printf("wire_test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
