// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcp_bulk: plain TCP one way, the ceiling for make bench row 4.
 *
 *   tcp_bulk recv ADDR PORT BYTES        listen, take one connection, read
 *                                        BYTES; prints "bytes=N
 *                                        timed_bytes=B span_ns=T": B bytes
 *                                        arrived after the first read and
 *                                        by the last (so B / T is the rate)
 *   tcp_bulk send ADDR PORT BYTES WRITE  connect (retrying for 10 s), then
 *                                        BYTES in write()s of WRITE bytes
 *
 * IPv4 only, TCP_NODELAY on both ends (as the module's sockets). Every run
 * ends within 600 s (alarm). Exit status 0 only if all BYTES moved.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LIMIT_SECS	600
#define RX_CHUNK	(64 * 1024)
#define MAX_WRITE	(1024 * 1024)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int parse_u64(const char *s, unsigned long long max,
		     unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || end == s || *end || !*out || *out > max ? -1 : 0;
}

static int addr_of(const char *ip, const char *port, struct sockaddr_in *sa)
{
	unsigned long long p;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1 ||
	    parse_u64(port, 65535, &p))
		return -1;
	sa->sin_port = htons(p);
	return 0;
}

static int do_recv(struct sockaddr_in *sa, unsigned long long bytes)
{
	unsigned long long got = 0, first_read = 0;
	long long first = 0, last = 0;
	static char buf[RX_CHUNK];
	int one = 1, l, s;
	ssize_t n;

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)sa, sizeof(*sa)) || listen(l, 1)) {
		perror("tcp_bulk: listen");
		return 1;
	}
	s = accept(l, NULL, NULL);
	if (s < 0) {
		perror("tcp_bulk: accept");
		return 1;
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (got < bytes) {
		n = read(s, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!got) {
			first = now_ns();
			first_read = n;
		}
		got += n;
		last = now_ns();
	}
	printf("bytes=%llu timed_bytes=%llu span_ns=%lld\n", got,
	       got - first_read, last - first);
	close(s);
	close(l);
	return got == bytes ? 0 : 1;
}

static int do_send(struct sockaddr_in *sa, unsigned long long bytes,
		   unsigned long long wsize)
{
	unsigned long long sent = 0, want;
	long long give_up = now_ns() + 10000000000LL;
	int one = 1, s = -1, err;
	char *buf;
	ssize_t n;

	buf = malloc(wsize);
	if (!buf) {
		perror("tcp_bulk: malloc");
		return 1;
	}
	memset(buf, 0x5a, wsize);
	for (;;) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0) {
			perror("tcp_bulk: socket");
			free(buf);
			return 1;
		}
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!connect(s, (struct sockaddr *)sa, sizeof(*sa)))
			break;
		err = errno;
		close(s);
		if (now_ns() > give_up) {
			fprintf(stderr, "tcp_bulk: connect: %s\n", strerror(err));
			free(buf);
			return 1;
		}
		usleep(50000);
	}
	while (sent < bytes) {
		want = bytes - sent < wsize ? bytes - sent : wsize;
		n = write(s, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("tcp_bulk: write");
			break;
		}
		sent += n;
	}
	close(s);
	free(buf);
	return sent == bytes ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned long long bytes, wsize;
	struct sockaddr_in sa;

	alarm(LIMIT_SECS);
	/* a reader that died is an EPIPE from write(), said, not a signal */
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 5 && addr_of(argv[2], argv[3], &sa) == 0 &&
	    parse_u64(argv[4], 1ULL << 40, &bytes) == 0) {
		if (argc == 5 && !strcmp(argv[1], "recv"))
			return do_recv(&sa, bytes);
		if (argc == 6 && !strcmp(argv[1], "send") &&
		    parse_u64(argv[5], MAX_WRITE, &wsize) == 0)
			return do_send(&sa, bytes, wsize);
	}
	fprintf(stderr,
		"usage: tcp_bulk recv ADDR PORT BYTES | send ADDR PORT BYTES WRITE\n");
	return 2;
}
