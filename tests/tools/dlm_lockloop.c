// SPDX-License-Identifier: GPL-2.0-only
/*
 * dlm_lockloop - a shared counter in a DLM lock value block, through
 * libdlm and dlm_controld: the real-locks test of the drop-in dlm.ko.
 *
 * usage: dlm_lockloop LOCKSPACE ROUNDS TOTAL TIMEOUT_S
 *
 * Joins LOCKSPACE (dlm_controld adds this node), takes an NL lock on the
 * resource "counter" with a value block, then ROUNDS times: converts to
 * EX, adds one to the 64-bit counter in the value block, converts down to
 * NL with the value block (an unlock would not write it back, see
 * platform notes). Then it waits, reading the counter under PR, until it
 * reaches TOTAL (the sum of every node's ROUNDS) or TIMEOUT_S passes, and
 * prints one line:
 *   LOCKLOOP: rounds R final F total T invalid I p50_us A p99_us B max_us C
 * and exits 0 only if F == T and the value block was never invalid.
 *
 * Before it leaves, each node adds one to a second counter ("seen") and
 * waits until every node has: a value block is invalidated when its last
 * PR/EX holder leaves, so nobody may leave while another still reads the
 * counter. A node that finds "seen" invalid knows that the others have
 * counted themselves and left.
 *
 * usage: dlm_lockloop hold LOCKSPACE RESOURCE SECONDS
 *
 * Joins LOCKSPACE, takes RESOURCE in EX and holds it SECONDS (while
 * another node's DLM restarts, say), then converts it to NL and back to
 * EX (the lock must still work after the recoveries meanwhile), unlocks,
 * leaves and prints "HOLD: RESOURCE SECONDS s ok".
 *
 * usage: dlm_lockloop bench LOCKSPACE NODE NODES NRES SECONDS ACTIVE
 *
 * The round-trip benchmark. Each node masters NRES resources of its own
 * ("r<NODE>-<i>": it locks them first and keeps an NL lock on each), and
 * once every node has (a barrier on a value block), an ACTIVE node spends
 * SECONDS on cycles over the next node's resources: a new PR lock, a
 * convert to EX, an unlock, each a request to that node, the master. An
 * inactive node only serves as master for the same SECONDS. Both then
 * wait for each other again, and each prints one line:
 *   BENCH: node N active A cycles C secs S per_s R p50_us P p99_us Q
 *          max_us M cpu_ms T
 * where the latencies are of whole cycles and cpu_ms is the busy CPU
 * time of the whole machine (/proc/stat) over those SECONDS.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
/* the threaded libdlm: its ASTs arrive in a thread of its own */
#ifndef _REENTRANT
#define _REENTRANT
#endif
#include <libdlm.h>

#define RES	"counter"
#define SEEN	"seen"
#define LVB_LEN	32

struct lock {
	const char *name;
	struct dlm_lksb lksb;
	char lvb[LVB_LEN];
};

static dlm_lshandle_t ls;
static unsigned long invalid;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* 1 if the value block came back invalid, -1 on error */
static int convert(struct lock *l, uint32_t mode)
{
	int ret;

	ret = dlm_ls_lock_wait(ls, mode, &l->lksb, LKF_CONVERT | LKF_VALBLK,
			       l->name, strlen(l->name), 0, NULL, NULL, NULL);
	if (ret || l->lksb.sb_status) {
		fprintf(stderr, "dlm_lockloop: %s to %u: %d/%d (%s)\n", l->name,
			mode, ret, l->lksb.sb_status, strerror(errno));
		return -1;
	}
	return !!(l->lksb.sb_flags & DLM_SBF_VALNOTVALID);
}

static int take_nl(struct lock *l, const char *name)
{
	int ret;

	l->name = name;
	l->lksb.sb_lvbptr = l->lvb;
	ret = dlm_ls_lock_wait(ls, LKM_NLMODE, &l->lksb, LKF_VALBLK, name,
			       strlen(name), 0, NULL, NULL, NULL);
	if (ret || l->lksb.sb_status) {
		fprintf(stderr, "dlm_lockloop: NL lock on %s: %d/%d\n", name,
			ret, l->lksb.sb_status);
		return -1;
	}
	return 0;
}

static uint64_t lvb_get(struct lock *l)
{
	uint64_t v;

	memcpy(&v, l->lvb, sizeof(v));
	return v;
}

static void lvb_set(struct lock *l, uint64_t v)
{
	memcpy(l->lvb, &v, sizeof(v));
}

/* read @l under PR; counts an invalid block unless @may_be_invalid */
static int read_pr(struct lock *l, uint64_t *v, int may_be_invalid)
{
	int bad = convert(l, LKM_PRMODE);

	if (bad < 0)
		return -1;
	*v = lvb_get(l);
	if (bad && !may_be_invalid)
		invalid++;
	if (convert(l, LKM_NLMODE) < 0)
		return -1;
	return bad;
}

static int add_one(struct lock *l)
{
	int bad = convert(l, LKM_EXMODE);

	if (bad < 0)
		return -1;
	invalid += bad;
	lvb_set(l, lvb_get(l) + 1);
	return convert(l, LKM_NLMODE) < 0 ? -1 : 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int join(const char *name)
{
	ls = dlm_create_lockspace(name, 0600);
	if (!ls) {
		fprintf(stderr, "dlm_lockloop: joining %s: %s\n", name,
			strerror(errno));
		return -1;
	}
	/* libdlm's ASTs, which the *_wait calls wait for, come from its thread */
	if (dlm_ls_pthread_init(ls)) {
		fprintf(stderr, "dlm_lockloop: dlm_ls_pthread_init: %s\n",
			strerror(errno));
		return -1;
	}
	fprintf(stderr, "dlm_lockloop: joined %s\n", name);
	return 0;
}

static int hold(const char *lsname, const char *res, unsigned long secs)
{
	struct lock l;
	int ret;

	memset(&l, 0, sizeof(l));
	if (join(lsname))
		return 1;
	l.name = res;
	l.lksb.sb_lvbptr = l.lvb;
	ret = dlm_ls_lock_wait(ls, LKM_EXMODE, &l.lksb, LKF_VALBLK, res,
			       strlen(res), 0, NULL, NULL, NULL);
	if (ret || l.lksb.sb_status) {
		fprintf(stderr, "dlm_lockloop: EX on %s: %d/%d\n", res, ret,
			l.lksb.sb_status);
		return 1;
	}
	fprintf(stderr, "dlm_lockloop: holding %s in EX\n", res);
	sleep(secs);
	if (convert(&l, LKM_NLMODE) < 0 || convert(&l, LKM_EXMODE) < 0)
		return 1;
	if (dlm_ls_unlock_wait(ls, l.lksb.sb_lkid, 0, &l.lksb) ||
	    dlm_release_lockspace(lsname, ls, 1)) {
		fprintf(stderr, "dlm_lockloop: unlock/leave: %s\n",
			strerror(errno));
		return 1;
	}
	printf("HOLD: %s %lu s ok\n", res, secs);
	return 0;
}

/* the machine's busy time so far, in ms */
static long long busy_ms(void)
{
	unsigned long long v[8] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f || hz <= 0) {
		if (f)
			fclose(f);
		return -1;
	}
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 7)
		return -1;
	/* user nice system irq softirq: not idle, iowait or steal */
	return (long long)(v[0] + v[1] + v[2] + v[5] + v[6]) * 1000 / hz;
}

/*
 * Count this node in on @l and wait until @nodes have. With @last, a
 * value block found invalid means the others counted in and left (its
 * last holder's leaving invalidates it).
 */
static int barrier(struct lock *l, unsigned long nodes, int last,
		   double deadline)
{
	uint64_t v;
	int bad;

	if (add_one(l))
		return -1;
	for (;;) {
		bad = read_pr(l, &v, last);
		if (bad < 0)
			return -1;
		if (v >= nodes || (bad && last))
			return 0;
		if (now_us() > deadline) {
			fprintf(stderr, "dlm_lockloop: %s: %llu of %lu nodes\n",
				l->name, (unsigned long long)v, nodes);
			return -1;
		}
		usleep(20000);
	}
}

/* one cycle on @name: PR lock, convert to EX, unlock */
static int cycle(const char *name)
{
	struct dlm_lksb lksb;
	int ret;

	memset(&lksb, 0, sizeof(lksb));
	ret = dlm_ls_lock_wait(ls, LKM_PRMODE, &lksb, 0, name, strlen(name),
			       0, NULL, NULL, NULL);
	if (!ret && !lksb.sb_status)
		ret = dlm_ls_lock_wait(ls, LKM_EXMODE, &lksb, LKF_CONVERT, name,
				       strlen(name), 0, NULL, NULL, NULL);
	if (ret || lksb.sb_status) {
		fprintf(stderr, "dlm_lockloop: %s: %d/%d (%s)\n", name, ret,
			lksb.sb_status,
			strerror(ret ? errno : lksb.sb_status));
		return -1;
	}
	if (dlm_ls_unlock_wait(ls, lksb.sb_lkid, 0, &lksb)) {
		fprintf(stderr, "dlm_lockloop: unlock %s: %s\n", name,
			strerror(errno));
		return -1;
	}
	return 0;
}

#define BENCH_MAX_CYCLES	(2UL * 1024 * 1024)

static int bench(char **argv)
{
	unsigned long me = strtoul(argv[3], NULL, 0);
	unsigned long nodes = strtoul(argv[4], NULL, 0);
	unsigned long nres = strtoul(argv[5], NULL, 0);
	unsigned long secs = strtoul(argv[6], NULL, 0);
	int active = atoi(argv[7]);
	unsigned long peer, i, n = 0;
	struct lock ready, done, *own;
	double *lat, t0, t1, end, deadline;
	long long c0, c1;
	char name[64];

	/* with one node, its "peer" would be itself: local locks only */
	if (nodes < 2 || !me || me > nodes || !nres || nres > 4096 || !secs) {
		fprintf(stderr, "dlm_lockloop: bad arguments for a benchmark\n");
		return 2;
	}
	peer = me % nodes + 1;
	lat = calloc(BENCH_MAX_CYCLES, sizeof(*lat));
	own = calloc(nres, sizeof(*own));
	if (!lat || !own)
		return 1;
	memset(&ready, 0, sizeof(ready));
	memset(&done, 0, sizeof(done));
	if (join(argv[2]))
		return 1;
	/* the first lock on a resource makes its node the master */
	for (i = 0; i < nres; i++) {
		char *res = malloc(32);

		if (!res)
			return 1;
		snprintf(res, 32, "r%lu-%lu", me, i);
		if (take_nl(&own[i], res))
			return 1;
	}
	deadline = now_us() + 300e6;
	if (take_nl(&ready, "ready") || take_nl(&done, "done") ||
	    barrier(&ready, nodes, 0, deadline))
		return 1;

	c0 = busy_ms();
	t0 = now_us();
	end = t0 + secs * 1e6;
	while (active && n < BENCH_MAX_CYCLES && now_us() < end) {
		snprintf(name, sizeof(name), "r%lu-%lu", peer, n % nres);
		t1 = now_us();
		if (cycle(name))
			return 1;
		lat[n++] = now_us() - t1;
	}
	while (!active && now_us() < end)	/* the master only */
		usleep(100000);
	t1 = now_us() - t0;
	c1 = busy_ms();

	if (barrier(&done, nodes, 1, now_us() + 300e6))
		return 1;
	if (dlm_release_lockspace(argv[2], ls, 1)) {
		fprintf(stderr, "dlm_lockloop: leaving %s: %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	qsort(lat, n, sizeof(*lat), cmp);
	printf("BENCH: node %lu active %d cycles %lu secs %.2f per_s %.1f",
	       me, active, n, t1 / 1e6, n / (t1 / 1e6));
	printf(" p50_us %.0f p99_us %.0f max_us %.0f cpu_ms %lld\n",
	       n ? lat[n / 2] : 0, n ? lat[n * 99 / 100] : 0,
	       n ? lat[n - 1] : 0, c0 < 0 || c1 < 0 ? -1 : c1 - c0);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long rounds, total, nodes, i, timeout;
	double *lat, t0, deadline;
	struct lock counter, seen;
	uint64_t final = 0, v;
	int bad;

	if (argc == 5 && !strcmp(argv[1], "hold"))
		return hold(argv[2], argv[3], strtoul(argv[4], NULL, 0));
	if (argc == 8 && !strcmp(argv[1], "bench"))
		return bench(argv);
	if (argc != 5) {
		fprintf(stderr, "usage: dlm_lockloop LOCKSPACE ROUNDS TOTAL TIMEOUT_S\n"
			"       dlm_lockloop hold LOCKSPACE RESOURCE SECONDS\n"
			"       dlm_lockloop bench LOCKSPACE NODE NODES NRES SECONDS ACTIVE\n");
		return 2;
	}
	rounds = strtoul(argv[2], NULL, 0);
	total = strtoul(argv[3], NULL, 0);
	timeout = strtoul(argv[4], NULL, 0);
	nodes = rounds ? total / rounds : 1;
	lat = calloc(rounds ? rounds : 1, sizeof(*lat));
	if (!lat)
		return 1;
	memset(&counter, 0, sizeof(counter));
	memset(&seen, 0, sizeof(seen));

	if (join(argv[1]))
		return 1;
	if (take_nl(&counter, RES) || take_nl(&seen, SEEN))
		return 1;
	fprintf(stderr, "dlm_lockloop: NL locks held\n");

	for (i = 0; i < rounds; i++) {
		t0 = now_us();
		if (add_one(&counter))
			return 1;
		lat[i] = now_us() - t0;
		if (i % 1000 == 0)
			fprintf(stderr, "dlm_lockloop: round %lu\n", i);
	}

	deadline = now_us() + timeout * 1e6;
	for (;;) {
		if (read_pr(&counter, &final, 0) < 0)
			return 1;
		if (final >= total || now_us() > deadline)
			break;
		usleep(200000);
	}

	/* count ourselves out, and leave only once all have */
	if (add_one(&seen))
		return 1;
	for (;;) {
		bad = read_pr(&seen, &v, 1);
		if (bad < 0)
			return 1;
		if (bad || v >= nodes || now_us() > deadline)
			break;
		usleep(200000);
	}

	dlm_ls_unlock_wait(ls, counter.lksb.sb_lkid, 0, &counter.lksb);
	dlm_ls_unlock_wait(ls, seen.lksb.sb_lkid, 0, &seen.lksb);
	t0 = now_us();
	bad = dlm_release_lockspace(argv[1], ls, 1);
	t0 = now_us() - t0;

	qsort(lat, rounds, sizeof(*lat), cmp);
	printf("LOCKLOOP: rounds %lu final %llu total %lu invalid %lu",
	       rounds, (unsigned long long)final, total, invalid);
	printf(" p50_us %.0f p99_us %.0f max_us %.0f release_ms %.0f%s\n",
	       rounds ? lat[rounds / 2] : 0, rounds ? lat[rounds * 99 / 100] : 0,
	       rounds ? lat[rounds - 1] : 0, t0 / 1e3,
	       bad ? " release-failed" : "");
	return final == total && !invalid && !bad ? 0 : 1;
}
