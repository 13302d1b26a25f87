/*
 * The worker's side of the physical floor (scripts/pingpong/run): paced round trips to
 * server/main.go the way module/client.c makes them (send, poll, recv of the length prefix,
 * recv of the rest), one request of 300 bytes every gap µs so that both sides go idle between
 * requests as they do at the bench's rates. Prints the CPU seconds per 1,000 round trips of
 * this process (its usleep wake-ups included: a worker pays those waiting for its next SIP
 * message anyway) and of the server process (all threads, /proc/<pid>/stat).
 * Usage: client <socket> <server pid> <round trips> <gap µs>
 */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static double proc_cpu(int pid)
{
	char path[64], buf[4096], *p;
	unsigned long u = 0, s = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if((f = fopen(path, "r")) == NULL || fgets(buf, sizeof(buf), f) == NULL) {
		perror(path);
		exit(1);
	}
	fclose(f);
	p = strrchr(buf, ')'); /* fields after the command name: state is field 3, utime 14 */
	sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &u, &s);
	return (u + s) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return r.ru_utime.tv_sec + r.ru_stime.tv_sec
		   + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static int read_n(int fd, unsigned char *p, size_t n)
{
	while(n > 0) {
		ssize_t r = recv(fd, p, n, 0);
		struct pollfd pf = {fd, POLLIN, 0};
		if(r > 0) {
			p += r;
			n -= r;
			continue;
		}
		if(r == 0 || poll(&pf, 1, 1000) <= 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {0};
	unsigned char req[300] = {0}, ans[65536];
	int srv, n, gap, fd, i;
	double c0, s0;

	if(argc != 5) {
		fprintf(stderr, "usage: client <socket> <server pid> <round trips> <gap µs>\n");
		return 2;
	}
	srv = atoi(argv[2]);
	n = atoi(argv[3]);
	gap = atoi(argv[4]);
	sa.sun_family = AF_UNIX;
	strncpy(sa.sun_path, argv[1], sizeof(sa.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if(fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		return 1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* docs/wire.md: length 296, version 1, type 2 (Subscribe), id; one field (tag 1) of 285 bytes */
	req[2] = 0x01;
	req[3] = 0x28;
	req[4] = 1;
	req[5] = 2;
	req[10] = 1;
	req[13] = 0x01;
	req[14] = 0x1d;
	memset(req + 15, 'a', 285);
	c0 = self_cpu();
	s0 = proc_cpu(srv);
	for(i = 0; i < n; i++) {
		struct pollfd pf = {fd, POLLIN, 0};
		uint32_t len;
		req[9] = (unsigned char)i;
		if(send(fd, req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req)
				|| poll(&pf, 1, 1000) <= 0 || read_n(fd, ans, 4) < 0) {
			fprintf(stderr, "round trip %d failed\n", i);
			return 1;
		}
		len = (uint32_t)ans[0] << 24 | ans[1] << 16 | ans[2] << 8 | ans[3];
		if(len > sizeof(ans) - 4 || read_n(fd, ans + 4, len) < 0) {
			fprintf(stderr, "answer %d: bad length %u\n", i, len);
			return 1;
		}
		usleep(gap);
	}
	printf("CPU s per 1,000 round trips: worker side %.3f, engine side %.3f\n",
			(self_cpu() - c0) * 1000 / n, (proc_cpu(srv) - s0) * 1000 / n);
	return 0;
}
