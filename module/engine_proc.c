/*
 * The engine process and the start-up check: the only places Go is ever loaded.
 *
 * Measured constraints (docs/architecture.md): block every signal around dlopen so Go's
 * threads never run Kamailio's handlers; give the C thread a large alternate signal stack
 * before the first Go call; never fork after Go is loaded; only this C thread calls Kamailio.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/dprint.h"
#include "../../core/cfg/cfg_struct.h"
#include "../../core/pt.h"

#include "gopresence.h"

int gp_in_engine_process = 0;

typedef int (*go_validate_f)(char *cfg, int len, char *err, int errlen);
typedef int (*go_start_f)(char *cfg, int len, int fd);
typedef void (*go_stop_f)(void);

#define ALTSTACK_SIZE (256 * 1024)
#define VALIDATE_TIMEOUT_S 60

static volatile sig_atomic_t stop_requested = 0;
static char load_error[512];

static void on_term(int sig)
{
	stop_requested = 1;
}

/* dlopen with every signal blocked: the threads Go starts inherit the mask. */
static void *load_go(void)
{
	sigset_t all, old;
	void *h;
	stack_t ss;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	h = dlopen(gp_param_engine_library, RTLD_NOW | RTLD_LOCAL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if(h == NULL) {
		const char *e = dlerror();
		snprintf(load_error, sizeof(load_error), "%s", e ? e : "unknown error");
		LM_CRIT("cannot load the presence engine %s: %s\n", gp_param_engine_library, load_error);
		return NULL;
	}
	ss.ss_sp = malloc(ALTSTACK_SIZE);
	ss.ss_size = ALTSTACK_SIZE;
	ss.ss_flags = 0;
	if(ss.ss_sp == NULL || sigaltstack(&ss, NULL) < 0)
		LM_WARN("cannot install the alternate signal stack: %s\n", strerror(errno));
	return h;
}

/* Start-up check, in mod_init: a child loads Go, opens db_url (creating the schema) and checks
 * table versions, writes the verdict to a pipe and _exits. The main process stays Go-free. */
int engine_validate(void)
{
	int p[2], status, n, total = 0;
	pid_t pid;
	char msg[1024];
	time_t deadline;

	if(pipe(p) < 0) {
		LM_ERR("pipe: %s\n", strerror(errno));
		return -1;
	}
	pid = fork();
	if(pid < 0) {
		LM_ERR("fork: %s\n", strerror(errno));
		return -1;
	}
	if(pid == 0) {
		void *h;
		go_validate_f validate;
		char err[1024] = "";
		int r;

		close(p[0]);
		h = load_go();
		if(h == NULL) {
			snprintf(err, sizeof(err), "cannot load %s: %s", gp_param_engine_library, load_error);
			r = -1;
		} else if((validate = (go_validate_f)dlsym(h, "gopresence_validate")) == NULL) {
			snprintf(err, sizeof(err), "%s has no gopresence_validate", gp_param_engine_library);
			r = -1;
		} else {
			r = validate(gp_engine_config, gp_engine_config_len, err, sizeof(err));
		}
		if(r == 0)
			strcpy(err, "OK");
		if(write(p[1], err, strlen(err)) < 0) {
		}
		_exit(r == 0 ? 0 : 1);
	}
	close(p[1]);
	deadline = time(NULL) + VALIDATE_TIMEOUT_S;
	while(total < (int)sizeof(msg) - 1) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		int left = (int)(deadline - time(NULL));
		if(left <= 0 || poll(&pfd, 1, left * 1000) <= 0)
			break;
		n = read(p[0], msg + total, sizeof(msg) - 1 - total);
		if(n <= 0)
			break;
		total += n;
	}
	msg[total] = 0;
	close(p[0]);
	if(total == 0)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if(!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strcmp(msg, "OK") != 0) {
		LM_CRIT("presence: start-up check failed: %s\n",
				total ? msg : "the check process died or timed out");
		return -1;
	}
	LM_INFO("presence: engine library %s, database and tables OK\n", gp_param_engine_library);
	return 0;
}

static void log_line(const wire_frame_t *f)
{
	wire_field_t lv, m;
	if(!wire_get(f, WF_MESSAGE, &m))
		return;
	if(!wire_get(f, WF_LEVEL, &lv))
		lv.len = 0;
#define LVL(s) (lv.len == sizeof(s) - 1 && memcmp(lv.v, s, lv.len) == 0)
	if(LVL("crit"))
		LM_CRIT("engine: %.*s\n", (int)m.len, m.v);
	else if(LVL("err"))
		LM_ERR("engine: %.*s\n", (int)m.len, m.v);
	else if(LVL("warn"))
		LM_WARN("engine: %.*s\n", (int)m.len, m.v);
	else if(LVL("notice"))
		LM_NOTICE("engine: %.*s\n", (int)m.len, m.v);
	else if(LVL("dbg"))
		LM_DBG("engine: %.*s\n", (int)m.len, m.v);
	else
		LM_INFO("engine: %.*s\n", (int)m.len, m.v);
#undef LVL
}

/* frames from Go arrive on a pipe: log lines and NOTIFYs caused by time */
static void dispatch(const unsigned char *frame, size_t len)
{
	wire_frame_t f;
	if(wire_decode(frame, len, &f) < 0) {
		LM_ERR("malformed frame from the engine\n");
		return;
	}
	if(f.type == WT_LOG)
		log_line(&f);
	else if(f.type == WT_ENGINE_NOTIFY)
		notify_send_all(&f, 0);
	else
		LM_ERR("unexpected frame type %d from the engine\n", f.type);
}

/* dispatches every whole frame in buf[0..len), moves what is left of a partial one to the front
 * (once per read, not per frame) and returns its length; (size_t)-1 on an oversized frame */
static size_t dispatch_frames(unsigned char *buf, size_t len)
{
	size_t off = 0;
	uint32_t n;

	while(len - off >= 4) {
		n = wire_peek_len(buf + off);
		if(n > WIRE_MAX_FRAME) {
			LM_CRIT("engine: oversized frame on the pipe\n");
			return (size_t)-1;
		}
		if(len - off < (size_t)n + 4)
			break;
		dispatch(buf + off, (size_t)n + 4);
		off += (size_t)n + 4;
	}
	if(off > 0)
		memmove(buf, buf + off, len - off);
	return len - off;
}

void engine_main(void)
{
	void *h;
	go_start_f start;
	go_stop_f stop;
	int p[2];
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	struct sigaction sa;

	if(cfg_child_init()) {
		LM_CRIT("engine: cfg_child_init failed\n");
		exit(-1);
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	h = load_go();
	if(h == NULL)
		exit(-1);
	start = (go_start_f)dlsym(h, "gopresence_start");
	stop = (go_stop_f)dlsym(h, "gopresence_stop");
	if(start == NULL || stop == NULL) {
		LM_CRIT("%s lacks gopresence_start/gopresence_stop\n", gp_param_engine_library);
		exit(-1);
	}
	if(pipe(p) < 0) {
		LM_CRIT("engine: pipe: %s\n", strerror(errno));
		exit(-1);
	}
	if(start(gp_engine_config, gp_engine_config_len, p[1]) != 0) {
		/* the reason was written to the pipe as a log frame */
		struct pollfd pfd = {p[0], POLLIN, 0};
		unsigned char tmp[65536];
		size_t have = 0;
		int n;
		while(have < sizeof(tmp) && poll(&pfd, 1, 100) > 0
				&& (n = read(p[0], tmp + have, sizeof(tmp) - have)) > 0) {
			have = dispatch_frames(tmp, have + (size_t)n);
			if(have == (size_t)-1)
				break;
		}
		LM_CRIT("presence engine failed to start\n");
		exit(-1);
	}
	LM_INFO("presence engine running (pid %d, socket %s)\n", (int)getpid(), gp_param_engine_socket);

	for(;;) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		int r;

		if(stop_requested) {
			stop();
			_exit(0);
		}
		cfg_update();
		r = poll(&pfd, 1, 500);
		if(r <= 0)
			continue;
		if(cap - len < 65536) {
			cap = cap ? cap * 2 : 262144;
			buf = realloc(buf, cap);
			if(buf == NULL) {
				LM_CRIT("engine: out of memory\n");
				exit(-1);
			}
		}
		r = read(p[0], buf + len, cap - len);
		if(r <= 0) {
			if(r == 0) {
				LM_CRIT("engine: Go side closed its pipe\n");
				exit(-1);
			}
			continue;
		}
		len = dispatch_frames(buf, len + (size_t)r);
		if(len == (size_t)-1)
			exit(-1);
		if(len >= 4 && cap < (size_t)wire_peek_len(buf) + 4) { /* room for the next frame */
			cap = (size_t)wire_peek_len(buf) + 4;
			buf = realloc(buf, cap);
			if(buf == NULL)
				exit(-1);
		}
	}
}
