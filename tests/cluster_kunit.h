/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the KUnit suites that run instances over real sockets
 * (cluster_kunit.c, reliable_kunit.c): a pair of instances A (node 1) and
 * B (node 2) on loopback addresses, each with a sink for DLM_MSG.
 */
#ifndef DLM_LC_CLUSTER_KUNIT_H
#define DLM_LC_CLUSTER_KUNIT_H

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "lowcomms.h"

#define TEST_PORT	31064
#define WAIT_MS		10000

struct sink {
	spinlock_t lock;	/* all below */
	int count;
	int echo_fails;		/* answers echo_rx could not send */
	int from;
	int last_len;
	u8 last[DLM_LC_MAX_MSG];
};

/* Holds up an instance's processing (test_process_gate) until @go. */
struct blocker {
	struct completion go;
	bool queued;
};

struct ctx {
	struct dlm_lc_cluster *a;
	struct dlm_lc_cluster *b;
	struct dlm_lc_cluster *c;	/* a third node, if a case needs one */
	struct sink sink_a;
	struct sink sink_b;
	struct socket *raw;
	struct socket *listener;
	struct socket *accepted;
	struct blocker blocker;
	/* a case's sending thread: the exit stops it before the destroys */
	struct task_struct *sender;
	/* dlm_lc_test_inline_send_gate, while a case holds send runs */
	struct completion send_gate;
	/* the module's dial_wait_ms, given back by the exit */
	unsigned int dial_wait_ms;
};

/* Poll, bounded: liveness only, never a performance assertion. */
#define wait_for_ms(cond, ms) ({					\
	int __i;							\
	for (__i = 0; __i < (ms) / 20 && !(cond); __i++)		\
		msleep(20);						\
	(cond);								\
})
#define wait_for(cond)	wait_for_ms(cond, WAIT_MS)

/* removes a node in a work of its own; @done when it returns */
struct remover {
	struct work_struct work;
	struct dlm_lc_cluster *cl;
	int nodeid;
	struct completion done;
};

void remover_start(struct remover *r, struct dlm_lc_cluster *cl, int nodeid);
int sink_count(struct sink *s);
int lo_up(void);
void add_node(struct kunit *test, struct dlm_lc_cluster *cl, int id,
	      const char *addr);
struct dlm_lc_cluster *instance(struct kunit *test, const char *name,
				int local, const char *addr1,
				const char *addr2, struct sink *sink);
int cluster_init(struct kunit *test);
void cluster_exit(struct kunit *test);
void pair_start(struct kunit *test, const char *a1, const char *a2);
int send_msg(struct dlm_lc_cluster *cl, int to, int len, u8 seed);
bool bulk_done(struct dlm_lc_cluster *cl, int from, u64 want);
/* a test socket as node 3 (c->raw) connects and sends a bare message */
int raw_connect_to(struct kunit *test, const char *from, const char *to);
void raw_send_bare(struct kunit *test);
void dump_stats(struct kunit *test, struct dlm_lc_cluster *cl, int id);

#endif /* DLM_LC_CLUSTER_KUNIT_H */
