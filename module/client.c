/*
 * Worker side of the engine's unix socket: one connection per process, opened on first use,
 * one request and one answer at a time. Every wait is bounded by engine_timeout: an engine
 * that is gone or slow costs a 500, never a hung worker. After a timeout the connection is
 * dropped, so a late answer can never be taken for the next request's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../core/dprint.h"

#include "gopresence.h"

static int eng_fd = -1;
static uint32_t eng_seq = 0;

uint32_t engine_next_id(void)
{
	return ++eng_seq;
}

static long long now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void drop(void)
{
	if(eng_fd >= 0)
		close(eng_fd);
	eng_fd = -1;
}

static int connect_engine(long long deadline)
{
	struct sockaddr_un sa;

	if(eng_fd >= 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strncpy(sa.sun_path, gp_param_engine_socket, sizeof(sa.sun_path) - 1);
	for(;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if(fd < 0) {
			LM_ERR("socket: %s\n", strerror(errno));
			return -1;
		}
		if(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			eng_fd = fd;
			return 0;
		}
		close(fd);
		/* the engine may still be starting: retry until the deadline */
		if((errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
				|| now_ms() + 20 > deadline) {
			LM_ERR("cannot connect to the presence engine at %s: %s\n", gp_param_engine_socket,
					strerror(errno));
			return -1;
		}
		usleep(20000);
	}
}

static int wait_fd(short ev, long long deadline)
{
	struct pollfd pfd = {eng_fd, ev, 0};
	for(;;) {
		long long left = deadline - now_ms();
		int r;
		if(left <= 0)
			return -1;
		r = poll(&pfd, 1, (int)left);
		if(r > 0)
			return 0;
		if(r < 0 && errno != EINTR)
			return -1;
	}
}

static int write_all(const unsigned char *p, size_t n, long long deadline)
{
	while(n > 0) {
		ssize_t w = send(eng_fd, p, n, MSG_NOSIGNAL);
		if(w > 0) {
			p += w;
			n -= w;
			continue;
		}
		if(w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if(wait_fd(POLLOUT, deadline) < 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

static int read_all(unsigned char *p, size_t n, long long deadline)
{
	while(n > 0) {
		ssize_t r = recv(eng_fd, p, n, 0);
		if(r > 0) {
			p += r;
			n -= r;
			continue;
		}
		if(r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if(wait_fd(POLLIN, deadline) < 0)
				return -1;
			continue;
		}
		return -1; /* closed or failed */
	}
	return 0;
}

static int send_frame(wire_buf_t *req, long long deadline)
{
	if(wire_finish(req) < 0) {
		LM_ERR("cannot encode the request for the engine (out of memory or too large)\n");
		return -1;
	}
	if(connect_engine(deadline) < 0)
		return -1;
	if(write_all(req->buf, req->len, deadline) < 0) {
		/* a connection the engine closed (restart): try once on a fresh one */
		drop();
		if(connect_engine(deadline) < 0 || write_all(req->buf, req->len, deadline) < 0) {
			LM_ERR("cannot send to the presence engine: %s\n", strerror(errno));
			drop();
			return -1;
		}
	}
	return 0;
}

int engine_send(wire_buf_t *req)
{
	return send_frame(req, now_ms() + gp_param_engine_timeout);
}

int engine_call(wire_buf_t *req, wire_answer_t *a)
{
	long long deadline = now_ms() + gp_param_engine_timeout;
	unsigned char hdr[4];
	uint32_t n, id;
	unsigned char *buf;

	memset(a, 0, sizeof(*a));
	id = req->len >= WIRE_HDR_LEN ? wire_peek_len(req->buf + 6) : 0;
	/* the engine applies nothing after this, so a request we answer 500 for changes no state;
	 * the margin covers a commit that started just before it */
	wire_add_int(req, WF_DEADLINE,
			deadline - (gp_param_engine_timeout > 400 ? 100 : gp_param_engine_timeout / 4));
	if(send_frame(req, deadline) < 0)
		return ENGINE_UNAVAILABLE;
	/* wait first: the engine cannot have answered yet, a read now would only say EAGAIN */
	if(wait_fd(POLLIN, deadline) < 0 || read_all(hdr, 4, deadline) < 0) {
		LM_ERR("no answer from the presence engine within %d ms\n", gp_param_engine_timeout);
		drop();
		return ENGINE_UNAVAILABLE;
	}
	n = wire_peek_len(hdr);
	if(n > WIRE_MAX_FRAME || n < WIRE_HDR_LEN - 4) {
		LM_ERR("bad frame length %u from the presence engine\n", n);
		drop();
		return ENGINE_UNAVAILABLE;
	}
	/* pkg memory unless it is a large fan-out answer (wire.h) */
	buf = wire_mem_alloc((size_t)n + 4);
	if(buf == NULL) {
		LM_ERR("out of memory for a %u byte answer\n", n);
		drop();
		return ENGINE_UNAVAILABLE;
	}
	memcpy(buf, hdr, 4);
	if(read_all(buf + 4, n, deadline) < 0) {
		LM_ERR("truncated answer from the presence engine\n");
		wire_mem_free(buf, (size_t)n + 4);
		drop();
		return ENGINE_UNAVAILABLE;
	}
	if(wire_peek_len(buf + 6) != id) {
		LM_ERR("answer id %u does not match request %u\n", wire_peek_len(buf + 6), id);
		wire_mem_free(buf, (size_t)n + 4);
		drop();
		return ENGINE_UNAVAILABLE;
	}
	if(wire_decode_answer(buf, (size_t)n + 4, a) < 0) {
		wire_mem_free(buf, (size_t)n + 4);
		memset(a, 0, sizeof(*a));
		return ENGINE_MALFORMED;
	}
	return 0;
}

void engine_answer_free(wire_answer_t *a)
{
	wire_mem_free((void *)a->buf, a->len);
	a->buf = NULL;
}
