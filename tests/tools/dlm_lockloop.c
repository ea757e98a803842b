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
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libdlm.h>

#define RES	"counter"
#define LVB_LEN	32

static dlm_lshandle_t ls;
static struct dlm_lksb lksb;
static char lvb[LVB_LEN];
static unsigned long invalid;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int convert(uint32_t mode)
{
	int ret;

	ret = dlm_ls_lock_wait(ls, mode, &lksb, LKF_CONVERT | LKF_VALBLK,
			       RES, strlen(RES), 0, NULL, NULL, NULL);
	if (ret || lksb.sb_status) {
		fprintf(stderr, "dlm_lockloop: convert to %u: %d/%d (%s)\n",
			mode, ret, lksb.sb_status, strerror(errno));
		return -1;
	}
	if (lksb.sb_flags & DLM_SBF_VALNOTVALID)
		invalid++;
	return 0;
}

static uint64_t lvb_get(void)
{
	uint64_t v;

	memcpy(&v, lvb, sizeof(v));
	return v;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned long rounds, total, i, timeout;
	double *lat, t0, deadline;
	uint64_t v, final = 0;
	int ret;

	if (argc != 5) {
		fprintf(stderr, "usage: dlm_lockloop LOCKSPACE ROUNDS TOTAL TIMEOUT_S\n");
		return 2;
	}
	rounds = strtoul(argv[2], NULL, 0);
	total = strtoul(argv[3], NULL, 0);
	timeout = strtoul(argv[4], NULL, 0);
	lat = calloc(rounds ? rounds : 1, sizeof(*lat));
	if (!lat)
		return 1;

	ls = dlm_create_lockspace(argv[1], 0600);
	if (!ls) {
		fprintf(stderr, "dlm_lockloop: join %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	lksb.sb_lvbptr = lvb;
	ret = dlm_ls_lock_wait(ls, LKM_NLMODE, &lksb, LKF_VALBLK, RES,
			       strlen(RES), 0, NULL, NULL, NULL);
	if (ret || lksb.sb_status) {
		fprintf(stderr, "dlm_lockloop: NL lock: %d/%d\n", ret,
			lksb.sb_status);
		return 1;
	}

	for (i = 0; i < rounds; i++) {
		t0 = now_us();
		if (convert(LKM_EXMODE))
			return 1;
		v = lvb_get() + 1;
		memcpy(lvb, &v, sizeof(v));
		if (convert(LKM_NLMODE))
			return 1;
		lat[i] = now_us() - t0;
	}

	deadline = now_us() + timeout * 1e6;
	for (;;) {
		if (convert(LKM_PRMODE))
			return 1;
		final = lvb_get();
		if (convert(LKM_NLMODE))
			return 1;
		if (final >= total || now_us() > deadline)
			break;
		usleep(200000);
	}

	qsort(lat, rounds, sizeof(*lat), cmp);
	printf("LOCKLOOP: rounds %lu final %llu total %lu invalid %lu p50_us %.0f p99_us %.0f max_us %.0f\n",
	       rounds, (unsigned long long)final, total, invalid,
	       rounds ? lat[rounds / 2] : 0, rounds ? lat[rounds * 99 / 100] : 0,
	       rounds ? lat[rounds - 1] : 0);
	fflush(stdout);

	dlm_ls_unlock_wait(ls, lksb.sb_lkid, 0, &lksb);
	dlm_release_lockspace(argv[1], ls, 1);
	return final == total && !invalid ? 0 : 1;
}
