// SPDX-License-Identifier: GPL-2.0-only
/*
 * dlm_flood - a DLM peer over plain TCP, well-behaved or hostile.
 *
 * The C twin of dlm_flood.py (same modes, options and output lines), for
 * QEMU guests whose initramfs has only busybox, and cheaper per reply than
 * python in the UML guest. Built with "gcc -static -O2" on the host.
 *
 *   dlm_flood MODE --src ADDR --dst ADDR [--port 21064] --nodeid N [...]
 *
 * flood --slice S: a new connection every S seconds (the replies in flight
 * are collected first, so each one ends with a clean close).
 * flood --listen 1: also listen on --src:--port, as every DLM node does, and
 * count the replies that arrive on connections the node opens to us. A
 * stock dlm.ko that already has a connection of its own to this node (or is
 * dialling one) answers there, not on our socket; without a listener its
 * replies are refused and lost. Only the C twin has this option.
 * flood --lat 1: one request in flight (whatever --inflight says); the
 * summary gets a FLOOD-LAT line with the round trips' p50/p99/p999, from
 * the send() that writes the request to its reply (matched by rc_id) on
 * either socket; a request unanswered for 1 s is a timeout and the next
 * one goes out (the wait is a sample, as is one cut by a reconnect). Not
 * with --slice. Only the C twin.
 * --nice N: run at nice N (busybox may have no nice applet).
 * --rt N: run under SCHED_FIFO at priority N (1-99): a client standing for
 * another machine, whose CPU the node's work does not take.
 * Modes: flood garbage short long badver badopts nestopts spoof drip noread
 * halfclose conns (halfclose: noread, then shutdown(SHUT_WR) once the
 * requests are out; only in the C twin: badopts, a 3.2 envelope whose inner
 * message claims more bytes than it carries, and nestopts, one that wraps
 * an ACK, which the node must both refuse by closing); see
 * dlm_flood.py for what each does. Every mode is bounded in time and
 * count and stops by itself.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define V31		0x00030001u
#define V32		0x00030002u
#define CMD_RCOM	2
#define CMD_OPTS	3
#define CMD_ACK		4
#define RCOM_STATUS	1
#define RCOM_STATUS_REPLY 5
#define HDR_LEN		16
#define RCOM_LEN	(HDR_LEN + 32)
#define REQ_LEN		(RCOM_LEN + 8)	/* 56: a stock-sized RCOM_STATUS */
#define OPTS_LEN	(HDR_LEN + 8)	/* 3.2's envelope before what it wraps */
#define MAXCONNS	1000
#define MAXBACK		4	/* connections the node opens to a listener */

static struct {
	const char *mode, *src, *dst, *stop_file;
	int port, nodeid, spoof_nodeid, inflight, count, conns, max_conns;
	int listen, lat, nice, rt;
	double duration, interval, drip_ms, hold, slice;
} a = {
	.port = 21064, .spoof_nodeid = 3, .inflight = 8, .count = 200000,
	.conns = 300, .max_conns = 1000, .duration = 4, .interval = 1,
	.drip_ms = 5, .hold = 4, .stop_file = "",
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void hdr(uint8_t *p, uint32_t ver, uint32_t nodeid, unsigned int len,
		uint8_t cmd)
{
	put32(p, ver);
	put32(p + 4, 0);
	put32(p + 8, nodeid);
	p[12] = len;
	p[13] = len >> 8;
	p[14] = cmd;
	p[15] = 0;
}

/* a REQ_LEN RCOM_STATUS in @p */
static void rcom_status(uint8_t *p, uint32_t nodeid, uint64_t id, uint32_t ver)
{
	memset(p, 0, REQ_LEN);
	hdr(p, ver, nodeid, REQ_LEN, CMD_RCOM);
	put32(p + HDR_LEN, RCOM_STATUS);
	put64(p + HDR_LEN + 8, id);
}

/*
 * --lat 1: the one request in flight (its rc_id, 0 if none) and when it
 * went out; a reply that answers it is a sample, any other a stray
 */
static uint64_t lat_want;
static double lat_t_sent;
static long lat_stray;

/* round trips of --lat 1, in seconds; past LAT_MAX only counted */
#define LAT_MAX 400000
static double lat_s[LAT_MAX];
static long lat_n, lat_over, lat_timeouts, lat_lost;
static int lat_unsent;	/* the request is queued, send() not yet called */

/* the request with id @rid is queued: the one to time */
static void lat_arm(uint64_t rid)
{
	lat_want = rid;
	lat_t_sent = now();
	lat_unsent = 1;
}

static void lat_add(double d)
{
	if (lat_n < LAT_MAX)
		lat_s[lat_n++] = d;
	else
		lat_over++;
}

static int cmp_double(const void *x, const void *y)
{
	double a1 = *(const double *)x, b1 = *(const double *)y;

	return (a1 > b1) - (a1 < b1);
}

/* nearest rank: the smallest sample with at least @q of them at or below */
static double lat_q(double q)
{
	long i = (long)(q * lat_n + 0.999999);

	if (!lat_n)
		return 0;
	if (i < 1)
		i = 1;
	if (i > lat_n)
		i = lat_n;
	return lat_s[i - 1];
}

static void lat_print(void)
{
	qsort(lat_s, lat_n, sizeof(lat_s[0]), cmp_double);
	printf("FLOOD-LAT n=%ld over=%ld p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f",
	       lat_n, lat_over, lat_q(0.5) * 1e6, lat_q(0.99) * 1e6,
	       lat_q(0.999) * 1e6, lat_n ? lat_s[lat_n - 1] * 1e6 : 0);
	printf(" timeouts=%ld lost=%ld stray=%ld\n", lat_timeouts, lat_lost,
	       lat_stray);
}

/* reply stream parser */
struct parser {
	uint8_t buf[65536 + 4096];
	size_t len;
	long replies, other, bad;
};

static long feed(struct parser *p, const uint8_t *d, size_t n)
{
	long got = 0;
	size_t off = 0;

	if (p->len + n > sizeof(p->buf)) {
		p->bad++;
		p->len = 0;
		return 0;
	}
	memcpy(p->buf + p->len, d, n);
	p->len += n;
	while (p->len - off >= HDR_LEN) {
		const uint8_t *m = p->buf + off;
		unsigned int len = m[12] | m[13] << 8;

		if ((get32(m) >> 16) != 3 || len < HDR_LEN || len > 4096) {
			p->bad++;
			off = p->len;
			break;
		}
		if (p->len - off < len)
			break;
		if (m[14] == CMD_RCOM && len >= RCOM_LEN &&
		    get32(m + HDR_LEN) == RCOM_STATUS_REPLY) {
			got++;
			if (a.lat && lat_want &&
			    get64(m + HDR_LEN + 8) == lat_want) {
				lat_add(now() - lat_t_sent);
				lat_want = 0;
			} else if (a.lat) {
				lat_stray++;
			}
		} else {
			p->other++;
		}
		off += len;
	}
	memmove(p->buf, p->buf + off, p->len - off);
	p->len -= off;
	p->replies += got;
	return got;
}

static int sock_new(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1, s;

	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	inet_pton(AF_INET, a.src, &sa.sin_addr);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static void nonblock(int s)
{
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
}

/* connect within @timeout seconds; a non-blocking socket, or -1 */
static int dial(double timeout)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(a.port) };
	struct pollfd pfd;
	socklen_t el = sizeof(int);
	int s, err = 0;

	s = sock_new();
	if (s < 0)
		return -1;
	inet_pton(AF_INET, a.dst, &sa.sin_addr);
	nonblock(s);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS)
		goto fail;
	pfd.fd = s;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, (int)(timeout * 1000)) != 1)
		goto fail;
	getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err)
		goto fail;
	return s;
fail:
	close(s);
	return -1;
}

/* write all of @d before @deadline: bytes written */
static size_t send_all(int s, const uint8_t *d, size_t n, double deadline)
{
	struct pollfd pfd = { .fd = s, .events = POLLOUT };
	size_t done = 0;
	ssize_t r;

	while (done < n && now() < deadline) {
		r = send(s, d + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0)
			done += r;
		else if (r < 0 && (errno == EAGAIN || errno == EINTR))
			poll(&pfd, 1, 200);
		else
			break;
	}
	return done;
}

static int stop_requested(void)
{
	struct stat st;

	return a.stop_file[0] && stat(a.stop_file, &st) == 0;
}

/* end of a slice: collect the replies in flight (1 s at most): a clean close */
static long slice_drain(int s, struct parser *p, int inflight)
{
	static uint8_t rb[65536];
	double lim = now() + 1.0;
	long got = 0;

	while (got < inflight && now() < lim) {
		struct pollfd q = { .fd = s, .events = POLLIN };
		ssize_t r;

		if (poll(&q, 1, 100) != 1)
			continue;
		r = recv(s, rb, sizeof(rb), MSG_DONTWAIT);
		if (r <= 0)
			break;
		got += feed(p, rb, r);
	}
	return got;
}

/* a non-blocking listener on --src:--port, or -1 (said on stdout) */
static int listener(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(a.port) };
	int one = 1, l;

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		goto fail;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, a.src, &sa.sin_addr);
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 8) < 0) {
		close(l);
		goto fail;
	}
	nonblock(l);
	return l;
fail:
	printf("FLOOD-EVENT t=%.2f listen-failed %s\n", now(), strerror(errno));
	return -1;
}

/* the node's own connections to our listener: replies counted like ours */
struct back {
	int fd[MAXBACK];
	struct parser p[MAXBACK];
	long accepted;
	int next_evict;
};

static void back_accept(struct back *b, int l)
{
	int s, i;

	while ((s = accept(l, NULL, NULL)) >= 0) {
		b->accepted++;
		for (i = 0; i < MAXBACK && b->fd[i] >= 0; i++)
			;
		if (i == MAXBACK) {
			/* all taken: round robin, so the oldest goes first */
			i = b->next_evict;
			b->next_evict = (i + 1) % MAXBACK;
			close(b->fd[i]);
		}
		nonblock(s);
		b->fd[i] = s;
		b->p[i].len = 0;
	}
}

/* replies read from the node's connections to us */
static long back_read(struct back *b, const struct pollfd *pfd)
{
	static uint8_t rb[65536];
	long got = 0;
	ssize_t r;
	int i;

	for (i = 0; i < MAXBACK; i++) {
		if (b->fd[i] < 0 || pfd[i].fd != b->fd[i] ||
		    !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = recv(b->fd[i], rb, sizeof(rb), MSG_DONTWAIT);
		if (r > 0) {
			got += feed(&b->p[i], rb, r);
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(b->fd[i]);
			b->fd[i] = -1;
		}
	}
	return got;
}

static int mode_flood(void)
{
	static uint8_t out[1 << 20];
	static struct parser p;
	static struct back b;
	static uint8_t rb[65536];
	double end = now() + a.duration, t_int = now(), last_reply = now();
	double t_conn = 0;
	long total = 0, n_int = 0, reconnects = 0, topups = 0, slices = 0;
	long via_back = 0;
	size_t pend = 0, sent_off = 0;
	uint64_t rid = 1;
	int inflight = 0, s = -1, l = -1, i;

	for (i = 0; i < MAXBACK; i++)
		b.fd[i] = -1;
	if (a.listen) {
		l = listener();
		if (l < 0)
			return 1;
	}

	while (now() < end && !stop_requested()) {
		struct pollfd pfd[2 + MAXBACK];
		double t, tnext;
		ssize_t r;
		long got;

		if (s < 0) {
			s = dial(5);
			if (s < 0) {
				printf("FLOOD-EVENT t=%.2f connect-failed\n", now());
				reconnects++;
				sleep_s(0.2);
				continue;
			}
			p.len = 0;
			inflight = 0;
			pend = 0;
			sent_off = 0;
			if (lat_want) {
				lat_add(now() - lat_t_sent);
				lat_lost++;
			}
			lat_want = 0;
			t_conn = now();
			last_reply = now();
		}
		if (a.slice > 0 && now() - t_conn >= a.slice) {
			/* what is counted in flight must be on the wire first */
			if (pend > sent_off)
				send_all(s, out + sent_off, pend - sent_off, now() + 1.0);
			pend = 0;
			sent_off = 0;
			got = slice_drain(s, &p, inflight);
			n_int += got;
			total += got;
			close(s);
			s = -1;
			slices++;
			continue;
		}
		/* --lat: a second without the reply, send the next one */
		if (a.lat && lat_want && now() - lat_t_sent > 1.0) {
			/* the wait so far is a sample: a stall must show */
			lat_add(now() - lat_t_sent);
			lat_timeouts++;
			lat_want = 0;
			inflight = 0;
		}
		if (inflight < a.inflight &&
		    (!inflight || now() - last_reply > 1.0)) {
			if (inflight)
				topups++;
			for (i = inflight; i < a.inflight && pend + REQ_LEN <= sizeof(out); i++) {
				if (a.lat)
					lat_arm(rid);
				rcom_status(out + pend, a.nodeid, rid++, V31);
				pend += REQ_LEN;
			}
			inflight = a.inflight;
			last_reply = now();
		}
		if (pend > sent_off) {
			/*
			 * timed from just before the write: on loopback or a
			 * veth the node can answer before send() returns here
			 * (its worker preempts us), so not from after it
			 */
			if (lat_unsent)
				lat_t_sent = now();
			lat_unsent = 0;
			r = send(s, out + sent_off, pend - sent_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r > 0) {
				sent_off += r;
				if (sent_off == pend) {
					pend = 0;
					sent_off = 0;
				}
			} else if (r < 0 && errno != EAGAIN && errno != EINTR) {
				printf("FLOOD-EVENT t=%.2f send-error %s\n", now(),
				       strerror(errno));
				close(s);
				s = -1;
				reconnects++;
				continue;
			}
		}
		tnext = t_int + a.interval;
		pfd[0].fd = s;
		pfd[0].events = POLLIN | (pend > sent_off ? POLLOUT : 0);
		pfd[0].revents = 0;
		pfd[1].fd = l;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		for (i = 0; i < MAXBACK; i++) {
			pfd[2 + i].fd = b.fd[i];
			pfd[2 + i].events = POLLIN;
			pfd[2 + i].revents = 0;
		}
		t = tnext - now();
		if (t > 0.1)
			t = 0.1;
		got = 0;
		if (poll(pfd, ARRAY_SIZE(pfd), t > 0 ? (int)(t * 1000) : 0) > 0) {
			if (pfd[1].revents & POLLIN)
				back_accept(&b, l);
			got = back_read(&b, pfd + 2);
			via_back += got;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = recv(s, rb, sizeof(rb), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				printf("FLOOD-EVENT t=%.2f closed-by-node\n", now());
				close(s);
				s = -1;
				reconnects++;
				/* what came on the listener still counts */
				n_int += got;
				total += got;
				continue;
			}
			if (r > 0)
				got += feed(&p, rb, r);
		}
		if (got) {
			last_reply = now();
			inflight -= got;
			if (inflight < 0)
				inflight = 0;
			/* --lat: in flight only while its reply is awaited */
			if (a.lat)
				inflight = lat_want != 0;
			n_int += got;
			total += got;
			/* late replies (after a top-up) never raise the bound */
			for (i = 0; i < got && inflight < a.inflight &&
			     pend + REQ_LEN <= sizeof(out); i++) {
				if (a.lat)
					lat_arm(rid);
				rcom_status(out + pend, a.nodeid, rid++, V31);
				pend += REQ_LEN;
				inflight++;
			}
		}
		t = now();
		if (t >= tnext) {
			printf("FLOOD t=%.2f n=%ld total=%ld rate=%.1f\n", t, n_int,
			       total, n_int / (t - t_int));
			fflush(stdout);
			t_int = t;
			n_int = 0;
		}
	}
	printf("FLOOD-SUMMARY replies=%ld secs=%.1f reconnects=%ld slices=%ld topups=%ld bad=%ld",
	       total, a.duration, reconnects, slices, topups, p.bad);
	if (a.listen) {
		long bad = 0;

		for (i = 0; i < MAXBACK; i++)
			bad += b.p[i].bad;
		printf(" via_listener=%ld accepted=%ld listener_bad=%ld", via_back,
		       b.accepted, bad);
	}
	printf("\n");
	if (a.lat)
		lat_print();
	for (i = 0; i < MAXBACK; i++)
		if (b.fd[i] >= 0)
			close(b.fd[i]);
	if (l >= 0)
		close(l);
	if (s >= 0)
		close(s);
	return 0;
}

/* the bytes of one hostile connection's payload in @b; its length */
static size_t payload(uint8_t *b, uint64_t rid)
{
	size_t i;

	if (!strcmp(a.mode, "garbage")) {
		for (i = 0; i < 4096; i++)
			b[i] = (uint8_t)random();
		/* never a 3.x version word */
		b[2] = 0xff;
		b[3] = 0xff;
		return 4096;
	}
	if (!strcmp(a.mode, "short")) {
		memset(b, 0, 64);
		hdr(b, V31, a.nodeid, 8, CMD_RCOM);
		return 64;
	}
	if (!strcmp(a.mode, "long")) {
		memset(b, 0, 5000);
		hdr(b, V31, a.nodeid, 5000, CMD_RCOM);
		return 5000;
	}
	if (!strcmp(a.mode, "badopts")) {
		/* 3.2's envelope around an RCOM_STATUS that claims 8 bytes
		 * more than the envelope carries
		 */
		memset(b, 0, OPTS_LEN + REQ_LEN);
		hdr(b, V32, a.nodeid, OPTS_LEN + REQ_LEN, CMD_OPTS);
		b[HDR_LEN] = CMD_RCOM;
		rcom_status(b + OPTS_LEN, a.nodeid, rid, V32);
		b[OPTS_LEN + 12] = REQ_LEN + 8;
		return OPTS_LEN + REQ_LEN;
	}
	if (!strcmp(a.mode, "nestopts")) {
		/* 3.2's envelope around an ACK: stock wraps only messages */
		memset(b, 0, OPTS_LEN + HDR_LEN);
		hdr(b, V32, a.nodeid, OPTS_LEN + HDR_LEN, CMD_OPTS);
		b[HDR_LEN] = CMD_ACK;
		hdr(b + OPTS_LEN, V32, a.nodeid, HDR_LEN, CMD_ACK);
		return OPTS_LEN + HDR_LEN;
	}
	if (!strcmp(a.mode, "badver")) {
		rcom_status(b, a.nodeid, rid, 0x00020001);
		return REQ_LEN;
	}
	/* spoof */
	rcom_status(b, a.spoof_nodeid, rid, V31);
	return REQ_LEN;
}

/* read until the node closes (1) or @deadline (0) */
static int drain_until_closed(int s, double deadline, struct parser *p)
{
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	uint8_t rb[65536];
	ssize_t r;

	while (now() < deadline) {
		double t = deadline - now();

		if (poll(&pfd, 1, (int)((t > 0.2 ? 0.2 : t) * 1000)) <= 0)
			continue;
		r = recv(s, rb, sizeof(rb), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return 1;
		if (r > 0)
			feed(p, rb, r);
	}
	return 0;
}

static int mode_repeat(void)
{
	static uint8_t b[8192];
	static struct parser p;
	double start = now(), end = start + a.duration;
	long conns = 0, closed = 0, sent = 0;
	uint64_t rid = 1;

	while (now() < end && conns < a.max_conns) {
		double limit;
		size_t n;
		int s;

		s = dial(end - now() > 5 ? 5 : end - now());
		if (s < 0) {
			sleep_s(0.05);
			continue;
		}
		conns++;
		n = payload(b, rid++);
		sent += send_all(s, b, n, end);
		/* a connection the end of the slice cuts short is not counted */
		limit = now() + 2.0;
		if (drain_until_closed(s, limit < end ? limit : end, &p))
			closed++;
		else if (limit > end)
			conns--;
		close(s);
	}
	printf("HOSTILE mode=%s conns=%ld closed=%ld sent=%ld replies=%ld secs=%.1f\n",
	       a.mode, conns, closed, sent, p.replies, now() - start);
	return 0;
}

static int mode_drip(void)
{
	static struct parser p;
	double start = now(), end = start + a.duration;
	long sent = 0, conns = 0, closed = 0;
	uint8_t msg[REQ_LEN], rb[65536];
	uint64_t rid = 1;
	int s = -1, i;

	while (now() < end) {
		if (s < 0) {
			s = dial(5);
			if (s < 0) {
				sleep_s(0.1);
				continue;
			}
			conns++;
		}
		rcom_status(msg, a.nodeid, rid++, V31);
		for (i = 0; i < REQ_LEN && now() < end; i++) {
			struct pollfd pfd = { .fd = s, .events = POLLIN };
			ssize_t r;

			if (send(s, msg + i, 1, MSG_NOSIGNAL) != 1) {
				closed++;
				close(s);
				s = -1;
				break;
			}
			sent++;
			sleep_s(a.drip_ms / 1000.0);
			if (poll(&pfd, 1, 0) == 1) {
				r = recv(s, rb, sizeof(rb), MSG_DONTWAIT);
				if (r == 0 || (r < 0 && errno != EAGAIN)) {
					closed++;
					close(s);
					s = -1;
					break;
				}
				if (r > 0)
					feed(&p, rb, r);
			}
		}
	}
	if (s >= 0) {
		drain_until_closed(s, now() + 0.5, &p);
		close(s);
	}
	printf("HOSTILE mode=drip conns=%ld closed=%ld sent=%ld replies=%ld secs=%.1f\n",
	       conns, closed, sent, p.replies, now() - start);
	return 0;
}

static int mode_noread(void)
{
	static uint8_t chunk[256 * REQ_LEN];
	double start = now(), end = start + a.duration, t_sent, hold;
	long sent = 0, reqs = 0;
	int s, i;

	s = dial(5);
	if (s < 0) {
		printf("HOSTILE mode=noread conns=0 closed=0 sent=0 ");
		printf("requests=0 replies=0 secs=0.0\n");
		return 1;
	}
	for (i = 0; i < 256; i++)
		rcom_status(chunk + i * REQ_LEN, a.nodeid, i + 1, V31);
	while (reqs < a.count && now() < end) {
		long k = a.count - reqs < 256 ? a.count - reqs : 256;
		size_t n = send_all(s, chunk, k * REQ_LEN, end);

		sent += n;
		reqs += n / REQ_LEN;
		if (n < (size_t)k * REQ_LEN)
			break;
	}
	t_sent = now() - start;
	if (!strcmp(a.mode, "halfclose"))
		shutdown(s, SHUT_WR);
	/* hold it, reading nothing, then close with the replies unread */
	hold = now() + a.hold;
	sleep_s((hold < end ? hold : end) - now());
	close(s);
	printf("HOSTILE mode=%s conns=1 closed=0 sent=%ld requests=%ld ",
	       a.mode, sent, reqs);
	printf("replies=0 secs=%.1f write_secs=%.1f\n", now() - start, t_sent);
	return 0;
}

static int mode_conns(void)
{
	static int socks[MAXCONNS], up[MAXCONNS];
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(a.port) };
	double start = now(), end = start + a.duration;
	int n = 0, nup = 0, fails = 0, closed = 0, i, err;
	long sent = 0;
	uint8_t req[REQ_LEN];
	socklen_t el = sizeof(int);

	inet_pton(AF_INET, a.dst, &sa.sin_addr);
	for (i = 0; i < a.conns; i++) {
		int s = sock_new();

		if (s < 0) {
			fails++;
			continue;
		}
		nonblock(s);
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		    errno != EINPROGRESS) {
			fails++;
			close(s);
			continue;
		}
		socks[n++] = s;
	}
	/* wait for the connects */
	for (i = 0; i < n; i++) {
		struct pollfd pfd = { .fd = socks[i], .events = POLLOUT };
		double t = end - now();

		err = 0;
		if (t > 0 && poll(&pfd, 1, (int)(t * 1000)) == 1 &&
		    !getsockopt(socks[i], SOL_SOCKET, SO_ERROR, &err, &el) && !err)
			up[nup++] = socks[i];
		else
			fails++;
	}
	for (i = 0; i < nup; i++) {
		rcom_status(req, a.nodeid, i + 1, V31);
		if (send(up[i], req, REQ_LEN, MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
			sent += REQ_LEN;
	}
	/* hold them all, reading nothing */
	sleep_s(end - now());
	for (i = 0; i < nup; i++) {
		err = 0;
		if (getsockopt(up[i], SOL_SOCKET, SO_ERROR, &err, &el) || err)
			closed++;
	}
	for (i = 0; i < n; i++)
		close(socks[i]);
	printf("HOSTILE mode=conns conns=%d closed=%d sent=%ld replies=0 ",
	       nup, closed, sent);
	printf("secs=%.1f connect_fail=%d\n", now() - start, fails);
	return 0;
}

static void usage(void)
{
	static const char *const lines[] = {
		"dlm_flood MODE (flood garbage short long badver badopts nestopts",
		"  spoof drip noread halfclose conns)",
		"  --src ADDR --dst ADDR [--port P] --nodeid N [--spoof-nodeid N]",
		"  [--duration S] [--interval S] [--inflight K] [--count N] [--conns N]",
		"  [--max-conns N] [--drip-ms MS] [--hold S] [--slice S] [--stop-file F]",
		"  [--listen 1] [--lat 1] [--nice N | --rt N]",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lines); i++)
		fprintf(stderr, "%s\n", lines[i]);
	exit(2);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "flood", "garbage", "short", "long",
		"badver", "badopts", "nestopts", "spoof", "drip", "noread",
		"halfclose", "conns", NULL };
	int i, ok = 0;

	if (argc < 2)
		usage();
	a.mode = argv[1];
	for (i = 0; modes[i]; i++)
		ok |= !strcmp(a.mode, modes[i]);
	if (!ok)
		usage();
	for (i = 2; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];

		if (!strcmp(o, "--src"))
			a.src = v;
		else if (!strcmp(o, "--dst"))
			a.dst = v;
		else if (!strcmp(o, "--port"))
			a.port = atoi(v);
		else if (!strcmp(o, "--nodeid"))
			a.nodeid = atoi(v);
		else if (!strcmp(o, "--spoof-nodeid"))
			a.spoof_nodeid = atoi(v);
		else if (!strcmp(o, "--duration"))
			a.duration = atof(v);
		else if (!strcmp(o, "--interval"))
			a.interval = atof(v);
		else if (!strcmp(o, "--inflight"))
			a.inflight = atoi(v);
		else if (!strcmp(o, "--count"))
			a.count = atoi(v);
		else if (!strcmp(o, "--conns"))
			a.conns = atoi(v);
		else if (!strcmp(o, "--max-conns"))
			a.max_conns = atoi(v);
		else if (!strcmp(o, "--drip-ms"))
			a.drip_ms = atof(v);
		else if (!strcmp(o, "--hold"))
			a.hold = atof(v);
		else if (!strcmp(o, "--slice"))
			a.slice = atof(v);
		else if (!strcmp(o, "--stop-file"))
			a.stop_file = v;
		else if (!strcmp(o, "--listen"))
			a.listen = atoi(v);
		else if (!strcmp(o, "--lat"))
			a.lat = atoi(v);
		else if (!strcmp(o, "--nice"))
			a.nice = atoi(v);
		else if (!strcmp(o, "--rt"))
			a.rt = atoi(v);
		else
			usage();
	}
	if (i != argc || !a.src || !a.dst || a.nodeid <= 0)
		usage();
	if (a.rt < 0 || a.rt > 99 || (a.rt && a.nice))
		usage();
	/* hard bounds, whatever the caller asks */
	if (a.duration > 600)
		a.duration = 600;
	if (a.count > 1000000)
		a.count = 1000000;
	if (a.conns > MAXCONNS)
		a.conns = MAXCONNS;
	if (a.max_conns > 100000)
		a.max_conns = 100000;
	if (a.inflight < 1)
		a.inflight = 1;
	if (a.inflight > 1024)
		a.inflight = 1024;
	if (a.lat)
		a.inflight = 1;
	/* a slice's drain reads only its own socket: replies would be lost */
	if (a.lat && a.slice > 0)
		usage();
	if (a.interval < 0.1)
		a.interval = 0.1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (a.nice && setpriority(PRIO_PROCESS, 0, a.nice) < 0) {
		printf("FLOOD-EVENT t=%.2f nice-failed %s\n", now(), strerror(errno));
		return 1;
	}
	if (a.rt) {
		struct sched_param sp = { .sched_priority = a.rt };

		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
			printf("FLOOD-EVENT t=%.2f rt-failed %s\n", now(),
			       strerror(errno));
			return 1;
		}
	}
	srandom((unsigned int)getpid());
	if (!strcmp(a.mode, "flood"))
		return mode_flood();
	if (!strcmp(a.mode, "drip"))
		return mode_drip();
	if (!strcmp(a.mode, "noread") || !strcmp(a.mode, "halfclose"))
		return mode_noread();
	if (!strcmp(a.mode, "conns"))
		return mode_conns();
	return mode_repeat();
}
