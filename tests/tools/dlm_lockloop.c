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

int main(int argc, char **argv)
{
	unsigned long rounds, total, nodes, i, timeout;
	double *lat, t0, deadline;
	struct lock counter, seen;
	uint64_t final = 0, v;
	int bad;

	if (argc == 5 && !strcmp(argv[1], "hold"))
		return hold(argv[2], argv[3], strtoul(argv[4], NULL, 0));
	if (argc != 5) {
		fprintf(stderr, "usage: dlm_lockloop LOCKSPACE ROUNDS TOTAL TIMEOUT_S\n"
			"       dlm_lockloop hold LOCKSPACE RESOURCE SECONDS\n");
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
