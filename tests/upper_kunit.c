// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit: the transport under an upper layer of the test's own, through
 * struct dlm_lc_upper_ops alone, as the drop-in's adapter uses it: the
 * registration rules, every message delivered once and in order, a
 * deliver_done per received page, sock_lost when a socket goes, release
 * once at destroy.
 */

#include <kunit/test.h>
#include <linux/atomic.h>
#include <net/net_namespace.h>

#include "lowcomms.h"
#include "wire.h"
#include "cluster_kunit.h"

#define UPPER_MSGS	200

struct counting_upper {
	atomic_t delivered;
	atomic_t out_of_order;
	atomic_t done;
	atomic_t lost;
	atomic_t released;
	atomic_t wrong_sender;
	u8 next;		/* first payload byte expected next */
	int from;		/* the only node that sends to us */
};

static void cu_deliver(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
		       const void *buf, size_t len)
{
	struct counting_upper *u = dlm_lc_cluster_upper(cl);
	const u8 *p = buf;

	if (nodeid != u->from)
		atomic_inc(&u->wrong_sender);
	/* send_msg() writes seed + i at byte i: the seed is p[16] - 16 */
	if (len > DLM_LC_HDR_LEN) {
		if ((u8)(p[DLM_LC_HDR_LEN] - DLM_LC_HDR_LEN) != u->next)
			atomic_inc(&u->out_of_order);
		u->next = p[DLM_LC_HDR_LEN] - DLM_LC_HDR_LEN + 1;
	}
	atomic_inc(&u->delivered);
}

static void cu_deliver_done(struct dlm_lc_cluster *cl, int nodeid)
{
	struct counting_upper *u = dlm_lc_cluster_upper(cl);

	atomic_inc(&u->done);
}

static void cu_sock_lost(struct dlm_lc_cluster *cl, int nodeid)
{
	struct counting_upper *u = dlm_lc_cluster_upper(cl);

	atomic_inc(&u->lost);
}

static void cu_release(struct dlm_lc_cluster *cl)
{
	struct counting_upper *u = dlm_lc_cluster_upper(cl);

	atomic_inc(&u->released);
}

static const struct dlm_lc_upper_ops cu_ops = {
	.deliver	= cu_deliver,
	.deliver_done	= cu_deliver_done,
	.sock_lost	= cu_sock_lost,
	.release	= cu_release,
};

static const struct dlm_lc_upper_ops no_deliver_ops = {
	.release	= cu_release,
};

static struct dlm_lc_cluster *bare(struct kunit *test, const char *name,
				   int local)
{
	struct dlm_lc_cluster *cl = dlm_lc_cluster_create(name, &init_net);

	KUNIT_ASSERT_FALSE(test, IS_ERR(cl));
	add_node(test, cl, 1, "127.0.0.1");
	add_node(test, cl, 2, "127.0.0.2");
	KUNIT_ASSERT_EQ(test, dlm_lc_node_set_local(cl, local, true), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_port(cl, TEST_PORT), 0);
	return cl;
}

/* No start without an upper layer; one registration, before the start. */
static void upper_registration_rules(struct kunit *test)
{
	struct counting_upper *u = kunit_kzalloc(test, sizeof(*u), GFP_KERNEL);
	struct ctx *c = test->priv;

	KUNIT_ASSERT_NOT_NULL(test, u);
	c->a = bare(test, "kunit-up-a", 1);
	KUNIT_EXPECT_EQ(test, dlm_lc_cluster_start(c->a), -ENXIO);
	KUNIT_EXPECT_FALSE(test, dlm_lc_cluster_running(c->a));
	KUNIT_EXPECT_EQ(test, dlm_lc_cluster_set_upper(c->a, NULL, u), -EINVAL);
	KUNIT_EXPECT_EQ(test, dlm_lc_cluster_set_upper(c->a, &no_deliver_ops,
						       u), -EINVAL);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->a, &cu_ops, u), 0);
	KUNIT_EXPECT_PTR_EQ(test, dlm_lc_cluster_upper(c->a), (void *)u);
	KUNIT_EXPECT_EQ(test, dlm_lc_cluster_set_upper(c->a, &cu_ops, u),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	dlm_lc_cluster_destroy(c->a);
	c->a = NULL;
	KUNIT_EXPECT_EQ(test, atomic_read(&u->released), 1);
}

/* Two instances, both under counting uppers: the hooks the adapter needs. */
static void upper_hooks_seen(struct kunit *test)
{
	struct counting_upper *ua, *ub;
	struct ctx *c = test->priv;
	int i, ret = 0;

	ua = kunit_kzalloc(test, sizeof(*ua), GFP_KERNEL);
	ub = kunit_kzalloc(test, sizeof(*ub), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ua);
	KUNIT_ASSERT_NOT_NULL(test, ub);
	ua->from = 2;
	ub->from = 1;
	c->a = bare(test, "kunit-up-a", 1);
	c->b = bare(test, "kunit-up-b", 2);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->a, &cu_ops, ua), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->b, &cu_ops, ub), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);

	for (i = 0; i < UPPER_MSGS && !ret; i++)
		ret = send_msg(c->b, 1, 64 + i % 512, (u8)i);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ua->delivered) ==
					 UPPER_MSGS));
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->out_of_order), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->wrong_sender), 0);
	/* one per received page: at least one, never more than messages */
	KUNIT_EXPECT_GE(test, atomic_read(&ua->done), 1);
	KUNIT_EXPECT_LE(test, atomic_read(&ua->done), UPPER_MSGS);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->lost), 0);

	/* a forced close on A: A hears of it, B sees EOF and hears too */
	KUNIT_ASSERT_EQ(test, dlm_lc_node_close(c->a, 2), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ua->lost) >= 1));
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->lost) >= 1));

	/* and the pair carries on: B reconnects for its next message */
	KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 100, (u8)UPPER_MSGS), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ua->delivered) ==
					 UPPER_MSGS + 1));
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->out_of_order), 0);

	/* a stop is not a loss */
	i = atomic_read(&ua->lost);
	dlm_lc_cluster_stop(c->a);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->lost), i);

	dlm_lc_cluster_destroy(c->a);
	c->a = NULL;
	dlm_lc_cluster_destroy(c->b);
	c->b = NULL;
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->released), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->released), 1);
}

static struct kunit_case upper_cases[] = {
	KUNIT_CASE(upper_registration_rules),
	KUNIT_CASE(upper_hooks_seen),
	{}
};

static struct kunit_suite upper_suite = {
	.name = "dlm_lc_upper",
	.init = cluster_init,
	.exit = cluster_exit,
	.test_cases = upper_cases,
};

kunit_test_suites(&upper_suite);
