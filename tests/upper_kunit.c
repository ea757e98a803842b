// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit: the transport under an upper layer of the test's own, through
 * struct dlm_lc_upper_ops alone, as the drop-in's adapter uses it: the
 * registration rules, every message delivered once and in order, a
 * deliver_done per received page, sock_lost when an error takes a socket
 * (never for a clean EOF), release once at destroy; writers in softirq
 * beside writers in process context; and delivery lanes: different
 * nodes side by side only for an upper layer that asks for it.
 */

#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/net.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "lowcomms.h"
#include "lowcomms_int.h"
#include "test_hooks.h"
#include "wire.h"
#include "cluster_kunit.h"

#define UPPER_MSGS	200

struct counting_upper {
	atomic_t delivered;
	atomic_t out_of_order;
	atomic_t done;
	atomic_t empty_done;	/* a deliver_done with no delivery before it */
	int delivered_at_done;
	atomic_t lost;
	atomic_t released;
	atomic_t wrong_sender;
	u8 next;		/* first payload byte expected next */
	int from;		/* the only node that sends to us */
	bool unordered;		/* two senders interleave: count only */
};

static void cu_deliver(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
		       const void *buf, size_t len)
{
	struct counting_upper *u = dlm_lc_cluster_upper(cl);
	const u8 *p = buf;

	if (nodeid != u->from)
		atomic_inc(&u->wrong_sender);
	/* send_msg() writes seed + i at byte i: the seed is p[16] - 16 */
	if (len > DLM_LC_HDR_LEN && !u->unordered) {
		if ((u8)(p[DLM_LC_HDR_LEN] - DLM_LC_HDR_LEN) != u->next)
			atomic_inc(&u->out_of_order);
		u->next = p[DLM_LC_HDR_LEN] - DLM_LC_HDR_LEN + 1;
	}
	atomic_inc(&u->delivered);
}

static void cu_deliver_done(struct dlm_lc_cluster *cl, int nodeid)
{
	struct counting_upper *u = dlm_lc_cluster_upper(cl);
	int n = atomic_read(&u->delivered);

	/* one delivery run at a time per instance (cu_ops: one lane) */
	if (n == u->delivered_at_done || nodeid != u->from)
		atomic_inc(&u->empty_done);
	u->delivered_at_done = n;
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

/* an instance with nodes 1..@nodes on 127.0.0.1..@nodes, @local ours */
static struct dlm_lc_cluster *with_nodes(struct kunit *test,
					 const char *name, int local,
					 int nodes)
{
	struct dlm_lc_cluster *cl = dlm_lc_cluster_create(name, &init_net);
	char addr[16];
	int i;

	KUNIT_ASSERT_FALSE(test, IS_ERR(cl));
	for (i = 1; i <= nodes; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.%d", i);
		add_node(test, cl, i, addr);
	}
	KUNIT_ASSERT_EQ(test, dlm_lc_node_set_local(cl, local, true), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_port(cl, TEST_PORT), 0);
	return cl;
}

static struct dlm_lc_cluster *bare(struct kunit *test, const char *name,
				   int local)
{
	return with_nodes(test, name, local, 2);
}

/* A (node 1) and B (node 2) under the given uppers, both started */
static void up_pair(struct kunit *test, const struct dlm_lc_upper_ops *a_ops,
		    void *ua, const struct dlm_lc_upper_ops *b_ops, void *ub)
{
	struct ctx *c = test->priv;

	c->a = bare(test, "kunit-up-a", 1);
	c->b = bare(test, "kunit-up-b", 2);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->a, a_ops, ua), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->b, b_ops, ub), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
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

static bool node_connected(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_node_stats st;

	return !dlm_lc_node_get_stats(cl, nodeid, &st) && st.connected;
}

static u64 node_rx_msgs(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_node_stats st;

	return dlm_lc_node_get_stats(cl, nodeid, &st) ? 0 : st.rx_msgs;
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
	up_pair(test, &cu_ops, ua, &cu_ops, ub);

	for (i = 0; i < UPPER_MSGS && !ret; i++)
		ret = send_msg(c->b, 1, 64 + i % 512, (u8)i);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ua->delivered) ==
					 UPPER_MSGS));
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->out_of_order), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->wrong_sender), 0);
	/* one per received page, each after that page's deliveries */
	KUNIT_EXPECT_TRUE(test, wait_for(READ_ONCE(ua->delivered_at_done) ==
					 UPPER_MSGS));
	KUNIT_EXPECT_GE(test, atomic_read(&ua->done), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->empty_done), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->lost), 0);

	/*
	 * A close asked for on A is no loss, and the clean EOF B reads is
	 * none either (upper_lost_only_on_error)
	 */
	KUNIT_ASSERT_EQ(test, dlm_lc_node_close(c->a, 2), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(!node_connected(c->b, 1)));
	msleep(200);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->lost), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->lost), 0);

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

/* B (node 2) under a counting upper layer, node 3 configured in it */
static struct counting_upper *counting_b_with_node3(struct kunit *test)
{
	struct counting_upper *ub;
	struct ctx *c = test->priv;

	ub = kunit_kzalloc(test, sizeof(*ub), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ub);
	ub->from = 3;
	c->b = bare(test, "kunit-up-b", 2);
	add_node(test, c->b, 3, "127.0.0.3");
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->b, &cu_ops, ub), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	return ub;
}

/* node 3 (a test socket, c->raw) connects to B and sends one message */
static void raw_send_one(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, raw_connect_to(test, "127.0.0.3", "127.0.0.2"),
			0);
	raw_send_bare(test);
}

/*
 * sock_lost means: an error took an established socket, and what was
 * written into it may be gone. Not the peer's clean EOF: the kernel's
 * DLM resends its unacked messages on sock_lost, and after a FIN
 * handshake (which ends in the peer's EOF) its peer has begun a new
 * session at sequence 0, where old copies would pass as new messages.
 */
static void upper_lost_only_on_error(struct kunit *test)
{
	struct counting_upper *ub = counting_b_with_node3(test);
	struct ctx *c = test->priv;

	/* node 3 connects, sends, and closes cleanly: EOF, no loss */
	raw_send_one(test);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 1));
	KUNIT_ASSERT_TRUE(test, node_connected(c->b, 3));
	sock_release(c->raw);
	c->raw = NULL;
	KUNIT_EXPECT_TRUE(test, wait_for(!node_connected(c->b, 3)));
	msleep(200);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->lost), 0);

	/* again, but it resets the connection: a loss, heard once */
	raw_send_one(test);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 2));
	KUNIT_ASSERT_TRUE(test, wait_for(node_connected(c->b, 3)));
	sock_no_linger(c->raw->sk);
	sock_release(c->raw);
	c->raw = NULL;
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->lost) == 1));
	KUNIT_EXPECT_TRUE(test, wait_for(!node_connected(c->b, 3)));
	msleep(200);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->lost), 1);

	/*
	 * A FIN and then a reset (a peer that closed and then met our late
	 * bytes): B's receive worker, held back (test knob) until both are
	 * in, reads the FIN first. Still a loss, as in stock's error report.
	 */
	raw_send_one(test);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 3));
	KUNIT_ASSERT_TRUE(test, wait_for(node_connected(c->b, 3)));
	dlm_lc_test_recv_delay_ms = 300;
	kernel_sock_shutdown(c->raw, SHUT_WR);
	sock_no_linger(c->raw->sk);
	sock_release(c->raw);
	c->raw = NULL;
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->lost) == 2));
	KUNIT_EXPECT_TRUE(test, wait_for(!node_connected(c->b, 3)));
	dlm_lc_test_recv_delay_ms = 0;
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->wrong_sender), 0);
}

/*
 * Node 3 closes and dials again before B has read the close (main
 * sockets' receive workers held 500 ms): the old socket is read to its
 * end by the sibling (cluster_redial_before_eof). A FIN so met is no
 * loss; a reset still is, heard once, as without the redial, whichever
 * worker reads it.
 */
static void upper_lost_on_redial(struct kunit *test)
{
	struct counting_upper *ub = counting_b_with_node3(test);
	struct ctx *c = test->priv;

	raw_send_one(test);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 1));
	dlm_lc_test_recv_delay_ms = 500;

	sock_release(c->raw);
	c->raw = NULL;
	raw_send_one(test);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 2));
	msleep(1000);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->lost), 0);

	sock_no_linger(c->raw->sk);
	sock_release(c->raw);
	c->raw = NULL;
	raw_send_one(test);
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 3));
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->lost) == 1));
	msleep(1000);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->lost), 1);

	/*
	 * The reset read by B's worker before the accept moves the socket
	 * (it waits 500 ms after it let go of the lock): the sibling then
	 * reads only an EOF. Still one loss, reported by that worker.
	 */
	dlm_lc_test_recv_delay_ms = 0;
	dlm_lc_test_recv_end_delay_ms = 500;
	sock_no_linger(c->raw->sk);
	sock_release(c->raw);
	c->raw = NULL;
	msleep(100);
	raw_send_one(test);
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 4));
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->lost) == 2));
	msleep(1000);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->lost), 2);
	dlm_lc_test_recv_end_delay_ms = 0;
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->wrong_sender), 0);
}

/* Sends from softirq, as the kernel's DLM does (its rsb scan timer). */
struct bh_sender {
	struct tasklet_struct t;
	struct dlm_lc_cluster *cl;
	atomic_t sent;
	atomic_t failed;
	int count;
};

static int send_atomic(struct dlm_lc_cluster *cl, int to, int len)
{
	struct dlm_lc_msg msg;
	struct dlm_lc_hdr *hdr;
	int ret;

	ret = dlm_lc_msg_alloc(cl, to, len, GFP_ATOMIC, NULL, NULL, &msg);
	if (ret)
		return ret;
	hdr = (struct dlm_lc_hdr *)msg.buf;
	memset(msg.buf, 0, len);
	hdr->version = cpu_to_le32(DLM_LC_VERSION_3_1);
	hdr->nodeid = cpu_to_le32(dlm_lc_cluster_local_nodeid(cl));
	hdr->length = cpu_to_le16(len);
	hdr->cmd = DLM_LC_CMD_MSG;
	dlm_lc_msg_commit(&msg);
	return 0;
}

static void bh_send(struct tasklet_struct *t)
{
	struct bh_sender *s = container_of(t, struct bh_sender, t);

	if (send_atomic(s->cl, 1, 48))
		atomic_inc(&s->failed);
	if (atomic_inc_return(&s->sent) < s->count)
		tasklet_schedule(&s->t);
}

/*
 * Writers in softirq and in process context on one queue at once: the
 * write queue's lock must be taken with bottom halves off everywhere, or
 * lockdep (debug UML kernel) reports an inconsistent lock state.
 */
static void upper_send_from_softirq(struct kunit *test)
{
	struct counting_upper *ua, *ub;
	struct ctx *c = test->priv;
	struct bh_sender *s;
	int i, ret = 0;

	ua = kunit_kzalloc(test, sizeof(*ua), GFP_KERNEL);
	ub = kunit_kzalloc(test, sizeof(*ub), GFP_KERNEL);
	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ua);
	KUNIT_ASSERT_NOT_NULL(test, ub);
	KUNIT_ASSERT_NOT_NULL(test, s);
	ua->from = 2;
	ua->unordered = true;
	ub->from = 1;
	up_pair(test, &cu_ops, ua, &cu_ops, ub);

	s->cl = c->b;
	s->count = UPPER_MSGS;
	tasklet_setup(&s->t, bh_send);
	tasklet_schedule(&s->t);
	for (i = 0; i < UPPER_MSGS && !ret; i++)
		ret = send_msg(c->b, 1, 64, (u8)i);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&s->sent) >= UPPER_MSGS));
	tasklet_kill(&s->t);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->failed), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ua->delivered) ==
					 2 * UPPER_MSGS));
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->wrong_sender), 0);
}

/*
 * What a stopped instance still had queued is gone after
 * dlm_lc_cluster_discard_queued(): after the next start, the first
 * message the peer gets is a new one (the drop-in's stop, as the
 * kernel's own lowcomms drops its queues).
 */
static void upper_stop_discards_queue(struct kunit *test)
{
	struct counting_upper *ua, *ub;
	struct dlm_lc_node_stats ns;
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
	/* A is not listening: B's messages stay queued */
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	for (i = 0; i < 20 && !ret; i++)
		ret = send_msg(c->b, 1, 200, (u8)(100 + i));
	KUNIT_ASSERT_EQ(test, ret, 0);
	dlm_lc_cluster_stop(c->b);
	KUNIT_ASSERT_EQ(test, dlm_lc_node_get_stats(c->b, 1, &ns), 0);
	KUNIT_EXPECT_GT(test, ns.queued, 0U);
	KUNIT_EXPECT_EQ(test, dlm_lc_cluster_discard_queued(c->b), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_node_get_stats(c->b, 1, &ns), 0);
	KUNIT_EXPECT_EQ(test, ns.queued, 0U);
	KUNIT_EXPECT_GE(test, ns.drops, 20ULL * 200);

	/* running: discarding is refused */
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	KUNIT_EXPECT_EQ(test, dlm_lc_cluster_discard_queued(c->b), -EBUSY);
	/* the first message A gets is the new one: seed 0, as expected */
	KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 64, 0), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ua->delivered) >= 1));
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->delivered), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->out_of_order), 0);

	/* a removal at once: no drain, and the node is gone */
	KUNIT_EXPECT_EQ(test, dlm_lc_node_remove_now(c->b, 1), 0);
	KUNIT_EXPECT_FALSE(test, dlm_lc_node_exists(c->b, 1));
	KUNIT_EXPECT_EQ(test, dlm_lc_node_remove_now(c->b, 1), -ENOENT);
}

/*
 * Node 1 receives from nodes 2 and 3; its delivery of node 2's first
 * message waits for @go. Each node's messages are checked for order.
 */
struct gated_upper {
	struct completion go;
	atomic_t entered;	/* node 2's deliveries begun */
	atomic_t from[4];	/* delivered, by sender */
	atomic_t out_of_order;
	u8 next[4];		/* first payload byte expected next */
};

static void gu_deliver(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
		       const void *buf, size_t len)
{
	struct gated_upper *u = dlm_lc_cluster_upper(cl);
	const u8 *p = buf;

	if (nodeid < 2 || nodeid > 3 || len <= DLM_LC_HDR_LEN) {
		atomic_inc(&u->out_of_order);
		return;
	}
	if (nodeid == 2 && atomic_inc_return(&u->entered) == 1)
		wait_for_completion_timeout(&u->go, 3 * WAIT_MS / 1000 * HZ);
	/* one run per node at a time: next[] of a node has one writer */
	if ((u8)(p[DLM_LC_HDR_LEN] - DLM_LC_HDR_LEN) != u->next[nodeid])
		atomic_inc(&u->out_of_order);
	u->next[nodeid] = p[DLM_LC_HDR_LEN] - DLM_LC_HDR_LEN + 1;
	atomic_inc(&u->from[nodeid]);
}

static const struct dlm_lc_upper_ops gated_ops = {
	.deliver		= gu_deliver,
	.deliver_per_node	= true,
};

static const struct dlm_lc_upper_ops gated_one_lane_ops = {
	.deliver		= gu_deliver,
};

/* nodes 1, 2 and 3 on 127.0.0.1-3, all three instances */
static struct dlm_lc_cluster *trio(struct kunit *test, const char *name,
				   int local)
{
	return with_nodes(test, name, local, 3);
}

#define GATED_MSGS	20

/*
 * While node 2's delivery is held up, node 3's messages reach the upper
 * layer if it takes nodes side by side, and wait behind node 2's if it
 * does not (the drop-in's contract). Either way nothing is lost and each
 * node's messages arrive in order once node 2's run goes on.
 */
static void gated_case(struct kunit *test,
		       const struct dlm_lc_upper_ops *ops)
{
	struct counting_upper *ub, *uc;
	struct ctx *c = test->priv;
	struct gated_upper *u;
	int i, ret = 0;

	u = kunit_kzalloc(test, sizeof(*u), GFP_KERNEL);
	ub = kunit_kzalloc(test, sizeof(*ub), GFP_KERNEL);
	uc = kunit_kzalloc(test, sizeof(*uc), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, u);
	KUNIT_ASSERT_NOT_NULL(test, ub);
	KUNIT_ASSERT_NOT_NULL(test, uc);
	init_completion(&u->go);
	ub->from = 1;
	uc->from = 1;
	c->a = trio(test, "kunit-up-a", 1);
	c->b = trio(test, "kunit-up-b", 2);
	c->c = trio(test, "kunit-up-c", 3);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->a, ops, u), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->b, &cu_ops, ub), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->c, &cu_ops, uc), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->c), 0);

	KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 64, 0), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&u->entered) == 1));
	for (i = 0; i < GATED_MSGS && !ret; i++)
		ret = send_msg(c->c, 1, 64 + i, (u8)i);
	KUNIT_EXPECT_EQ(test, ret, 0);
	if (ops->deliver_per_node) {
		KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&u->from[3]) ==
						 GATED_MSGS));
	} else {
		/* they arrive (node 1 counts them), and wait to be delivered */
		KUNIT_EXPECT_TRUE(test, wait_for(node_rx_msgs(c->a, 3) ==
						 GATED_MSGS));
		msleep(200);
		KUNIT_EXPECT_EQ(test, atomic_read(&u->from[3]), 0);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&u->from[2]), 0);

	complete_all(&u->go);
	for (i = 1; i < GATED_MSGS && !ret; i++)
		ret = send_msg(c->b, 1, 64, (u8)i);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&u->from[2]) ==
					 GATED_MSGS));
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&u->from[3]) ==
					 GATED_MSGS));
	KUNIT_EXPECT_EQ(test, atomic_read(&u->out_of_order), 0);
}

static void upper_lanes_per_node(struct kunit *test)
{
	gated_case(test, &gated_ops);
}

static void upper_one_lane(struct kunit *test)
{
	gated_case(test, &gated_one_lane_ops);
}

/*
 * One lane per instance: a node's removal waits for the lane's mutex. A
 * receive worker that goes idle meanwhile finds it held and leaves its
 * message to the holder; the removal delivers nothing, so it must hand
 * the lane to its work when it lets go, or the message waits for the
 * next read (here: for ever).
 */
static void upper_one_lane_removal(struct kunit *test)
{
	struct dlm_lc_cluster_stats st;
	struct counting_upper *ub;
	struct ctx *c = test->priv;
	struct gated_upper *u;
	struct remover *r;
	u64 by_work;

	u = kunit_kzalloc(test, sizeof(*u), GFP_KERNEL);
	ub = kunit_kzalloc(test, sizeof(*ub), GFP_KERNEL);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, u);
	KUNIT_ASSERT_NOT_NULL(test, ub);
	KUNIT_ASSERT_NOT_NULL(test, r);
	init_completion(&u->go);
	complete_all(&u->go);		/* nothing held in deliver here */
	ub->from = 1;
	c->a = trio(test, "kunit-up-a", 1);
	c->b = trio(test, "kunit-up-b", 2);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->a,
						       &gated_one_lane_ops, u),
			0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_set_upper(c->b, &cu_ops, ub), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 64, 0), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&u->from[2]) == 1));
	dlm_lc_cluster_get_stats(c->a, &st);
	by_work = st.process_worker;

	dlm_lc_test_forget_hold_ms = 2000;
	remover_start(r, c->a, 3);
	/* the removal of node 3 now holds the instance's lane */
	msleep(500);
	/* no ASSERT from here until the remover is flushed: it uses @r */
	KUNIT_EXPECT_EQ(test, send_msg(c->b, 1, 64, 1), 0);
	msleep(400);
	/* in the window: still held, and the message waits for the holder */
	KUNIT_EXPECT_FALSE(test, completion_done(&r->done));
	KUNIT_EXPECT_EQ(test, atomic_read(&u->from[2]), 1);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&r->done, 20 * HZ));
	dlm_lc_test_forget_hold_ms = 0;
	flush_work(&r->work);
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&u->from[2]) == 2));
	KUNIT_EXPECT_EQ(test, atomic_read(&u->out_of_order), 0);
	/* and the lane's work, kicked by the removal, delivered it */
	dlm_lc_cluster_get_stats(c->a, &st);
	KUNIT_EXPECT_GT(test, st.process_worker, by_work);
}

/*
 * An upper layer that answers every read with a bare header, as 6.1's
 * DLM acknowledges each read (dlm_midcomms_receive_done()), and asks for
 * that answer to wait for company (done_may_wait).
 */
struct acking_upper {
	struct counting_upper cu;	/* first: cu_deliver() reads it */
	struct completion acked;	/* a deliver_done has committed */
	atomic_t ack_fails;
};

static void au_deliver_done(struct dlm_lc_cluster *cl, int nodeid)
{
	struct acking_upper *u = dlm_lc_cluster_upper(cl);

	if (send_msg(cl, nodeid, DLM_LC_HDR_LEN, 0))
		atomic_inc(&u->ack_fails);
	complete(&u->acked);
}

static const struct dlm_lc_upper_ops au_ops = {
	.deliver	= cu_deliver,
	.deliver_done	= au_deliver_done,
	.sock_lost	= cu_sock_lost,
	.done_may_wait	= true,
};

/* @cl's connection to @nodeid keeps what a deliver_done wrote */
static bool node_held(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_conn *conn;
	bool held;

	mutex_lock(&cl->lock);
	conn = dlm_lc_conn_find(cl, nodeid);
	held = conn && test_bit(CF_HELD, &conn->flags);
	mutex_unlock(&cl->lock);
	return held;
}

static u64 node_tx_calls(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_node_stats ns;

	return dlm_lc_node_get_stats(cl, nodeid, &ns) ? 0 : ns.tx_calls;
}

/*
 * A (node 1, answering every read, done_may_wait) and B (node 2); B has
 * sent one message and has A's answer.
 */
static void acking_pair(struct kunit *test, struct acking_upper **pua,
			struct counting_upper **pub)
{
	struct ctx *c = test->priv;
	struct acking_upper *ua;
	struct counting_upper *ub;

	ua = kunit_kzalloc(test, sizeof(*ua), GFP_KERNEL);
	ub = kunit_kzalloc(test, sizeof(*ub), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ua);
	KUNIT_ASSERT_NOT_NULL(test, ub);
	init_completion(&ua->acked);
	ua->cu.from = 2;
	ub->from = 1;
	up_pair(test, &au_ops, ua, &cu_ops, ub);
	KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 64, 0), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 1));
	*pua = ua;
	*pub = ub;
}

/*
 * Issue 10: A's answer to a read (its "ACK") waits for A's next message
 * and leaves in one socket call with it; with none it still goes, after
 * the hold. A stop while it waits leaves no work behind (the test build
 * counts work started after the stop's cancels; KASAN sees a hold_work
 * run on a freed connection).
 */
static void upper_done_waits_for_company(struct kunit *test)
{
	struct acking_upper *ua;
	struct counting_upper *ub;
	struct ctx *c = test->priv;
	u64 calls;

	/* B dials A; A answers on that socket, after the default hold */
	acking_pair(test, &ua, &ub);
	/* counted once sendmsg returned, maybe after B's delivery */
	KUNIT_ASSERT_TRUE(test, wait_for(node_tx_calls(c->a, 2) == 1));

	/* alone: held for the knob's 300 ms, then sent */
	dlm_lc_test_done_hold_ms = 300;
	calls = node_tx_calls(c->a, 2);
	KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 64, 1), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ua->cu.delivered) == 2));
	msleep(100);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&ub->delivered), 1,
			    "the answer went out at once");
	KUNIT_EXPECT_TRUE(test, node_held(c->a, 2));
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 2));
	KUNIT_EXPECT_TRUE(test, wait_for(node_tx_calls(c->a, 2) > calls));
	KUNIT_EXPECT_EQ(test, node_tx_calls(c->a, 2), calls + 1);

	/* with company: A's next message takes the answer along */
	reinit_completion(&ua->acked);
	calls = node_tx_calls(c->a, 2);
	KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 64, 2), 0);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&ua->acked,
							    10 * HZ));
	/* past the delivery run's end, well inside the hold */
	msleep(30);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->delivered), 2);
	KUNIT_ASSERT_EQ(test, send_msg(c->a, 2, 64, 0), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 4));
	KUNIT_EXPECT_TRUE(test, wait_for(node_tx_calls(c->a, 2) > calls));
	KUNIT_EXPECT_EQ_MSG(test, node_tx_calls(c->a, 2), calls + 1,
			    "the answer and the message took two calls");
	/* that run sent what the hold kept: nothing left to fire */
	KUNIT_EXPECT_FALSE(test, node_held(c->a, 2));
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->out_of_order), 0);

	/* a removal while an answer waits: no work after the stop */
	dlm_lc_test_done_hold_ms = 500;
	atomic_set(&dlm_lc_test_late_works, 0);
	reinit_completion(&ua->acked);
	KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 64, 3), 0);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&ua->acked,
							    10 * HZ));
	KUNIT_EXPECT_TRUE(test, wait_for(node_held(c->a, 2)));
	KUNIT_EXPECT_EQ(test, dlm_lc_node_remove_now(c->a, 2), 0);
	dlm_lc_test_done_hold_ms = 0;
	msleep(700);
	KUNIT_EXPECT_EQ(test, atomic_read(&dlm_lc_test_late_works), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->delivered), 4);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->ack_fails), 0);
}

/* a graceful stop of one instance, in a work item */
struct stopper {
	struct work_struct work;
	struct dlm_lc_cluster *cl;
	struct completion done;
};

static void stopper_fn(struct work_struct *work)
{
	struct stopper *s = container_of(work, struct stopper, work);

	dlm_lc_cluster_stop(s->cl);
	complete(&s->done);
}

/* a stopper of @cl (made by the pair, so after it), not yet queued */
static struct stopper *stopper_new(struct kunit *test,
				   struct dlm_lc_cluster *cl)
{
	struct stopper *s;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	init_completion(&s->done);
	INIT_WORK(&s->work, stopper_fn);
	s->cl = cl;
	return s;
}

/*
 * A graceful stop's SHUT_WR must not strand an answer that would wait
 * for company: one committed after the drain (the test build's knob keeps
 * the stop between drain and SHUT_WR) is not held but sent at once.
 * Held for the knob's 5 s instead, it would meet the shut socket.
 */
static void upper_held_answer_before_fin(struct kunit *test)
{
	struct acking_upper *ua;
	struct counting_upper *ub;
	struct ctx *c = test->priv;
	struct stopper *s;

	acking_pair(test, &ua, &ub);
	s = stopper_new(test, c->a);

	/* answers would wait 5 s; A's stop sits 3 s after its drain */
	dlm_lc_test_done_hold_ms = 5000;
	dlm_lc_test_drained_delay_ms = 3000;
	atomic_set(&dlm_lc_test_drained, 0);
	reinit_completion(&ua->acked);
	queue_work(system_unbound_wq, &s->work);
	/* no ASSERT from here until the stopper is flushed: it uses @s */
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&dlm_lc_test_drained)));
	KUNIT_EXPECT_EQ(test, send_msg(c->b, 1, 64, 1), 0);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&ua->acked,
							    10 * HZ));
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->cu.delivered), 2);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&s->done, 20 * HZ));
	flush_work(&s->work);
	dlm_lc_test_drained_delay_ms = 0;
	dlm_lc_test_done_hold_ms = 0;
	/* the stop is done, inside the 5 s: only a send before FIN got here */
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 2));
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->ack_fails), 0);
}

/*
 * A send run that reaches the socket after a graceful stop's SHUT_WR
 * (here A's receive worker, held by the test build's gate between its
 * look at the queue and its sendmsg) meets -EPIPE from that shutdown.
 * That is the stop's doing, not a lost socket: no sock_lost (the drop-in
 * would queue resends of everything unacked), no early release of the
 * socket before B's EOF, no reconnect inside the stop.
 */
static void upper_send_after_shut_wr(struct kunit *test)
{
	struct acking_upper *ua;
	struct counting_upper *ub;
	struct ctx *c = test->priv;
	struct stopper *s;

	/* the context's gate: the exit opens it should the case end early */
	init_completion(&c->send_gate);
	acking_pair(test, &ua, &ub);
	s = stopper_new(test, c->a);

	/* A's stop sits 1 s between its drain and its SHUT_WR */
	dlm_lc_test_drained_delay_ms = 1000;
	atomic_set(&dlm_lc_test_drained, 0);
	reinit_completion(&ua->acked);
	queue_work(system_unbound_wq, &s->work);
	/* no ASSERT from here until the stopper is flushed: it uses @s */
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&dlm_lc_test_drained)));
	atomic_set(&dlm_lc_test_inline_send_gated, 0);
	WRITE_ONCE(dlm_lc_test_inline_send_gate, &c->send_gate);
	KUNIT_EXPECT_EQ(test, send_msg(c->b, 1, 64, 1), 0);
	/* A's answer is committed; its run waits at the gate */
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&ua->acked,
							    10 * HZ));
	/* well past the SHUT_WR, inside the stop's 5 s */
	msleep(2500);
	/* the answer's run is the one at the gate */
	KUNIT_EXPECT_GE(test, atomic_read(&dlm_lc_test_inline_send_gated), 1);
	WRITE_ONCE(dlm_lc_test_inline_send_gate, NULL);
	complete_all(&c->send_gate);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&s->done, 20 * HZ));
	flush_work(&s->work);
	dlm_lc_test_drained_delay_ms = 0;
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->cu.delivered), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->ack_fails), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->cu.lost), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->lost), 0);
	/* it met the shut socket: not sent, neither there nor by a redial */
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->delivered), 1);
}

/*
 * A hold armed before a graceful stop or removal goes at once, inside
 * the drain: held for the knob's 8 s it would outlast the drain's 5 s
 * deadline and meet the shut socket. @remove: a graceful removal of B's
 * node, else A's instance stops.
 */
static void held_answer_fired(struct kunit *test, bool remove)
{
	struct acking_upper *ua;
	struct counting_upper *ub;
	struct ctx *c = test->priv;

	acking_pair(test, &ua, &ub);
	dlm_lc_test_done_hold_ms = 8000;
	KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 64, 1), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(node_held(c->a, 2)));
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->delivered), 1);
	if (remove)
		KUNIT_EXPECT_EQ(test, dlm_lc_node_remove(c->a, 2), 0);
	else
		dlm_lc_cluster_stop(c->a);
	dlm_lc_test_done_hold_ms = 0;
	/* the stop is over long before the 8 s: the answer went inside it */
	KUNIT_EXPECT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 2));
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->ack_fails), 0);
}

static void upper_stop_fires_hold(struct kunit *test)
{
	held_answer_fired(test, false);
}

static void upper_removal_fires_hold(struct kunit *test)
{
	held_answer_fired(test, true);
}

/*
 * An upper layer that may sleep in its deliver (6.1's DLM) and answers
 * every message at once with one of the same seed, as a node answers
 * requests; with ru_ack_ops it also acknowledges every item in
 * deliver_done, as 6.1's DLM does, and lets that wait for company. The
 * message of seed @stall_seed waits (bounded) in its deliver until the
 * peer has every answer sent before it.
 */
struct replying_upper {
	struct counting_upper cu;	/* first: cu_deliver() reads it */
	struct counting_upper *peer;
	int stall_seed;			/* -1: none */
	int in_item;			/* delivered since the item's start */
	int item_len;			/* in_item at the last deliver_done */
	int stall_pos;			/* the stalled one's place in its item */
	atomic_t stall_met;		/* the peer had them: the wait ended */
	atomic_t stall_timeouts;
	atomic_t sent;
	atomic_t reply_fails;
	u64 inline_before;		/* A's tx_inline before B's sends */
};

static void ru_deliver(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
		       const void *buf, size_t len)
{
	struct replying_upper *u = dlm_lc_cluster_upper(cl);
	const u8 *p = buf;
	u8 seed;

	cu_deliver(cl, nodeid, gen, buf, len);
	if (len <= DLM_LC_HDR_LEN)
		return;
	seed = p[DLM_LC_HDR_LEN] - DLM_LC_HDR_LEN;
	if (seed == READ_ONCE(u->stall_seed)) {
		WRITE_ONCE(u->stall_pos, u->in_item);
		/* bounded: 2 s, some 250 guards */
		if (wait_for_ms(atomic_read(&u->peer->delivered) >=
				atomic_read(&u->sent), 2000))
			atomic_inc(&u->stall_met);
		else
			atomic_inc(&u->stall_timeouts);
	}
	WRITE_ONCE(u->in_item, u->in_item + 1);
	if (send_msg(cl, nodeid, 64, seed))
		atomic_inc(&u->reply_fails);
	else
		atomic_inc(&u->sent);
}

static void ru_deliver_done(struct dlm_lc_cluster *cl, int nodeid)
{
	struct replying_upper *u = dlm_lc_cluster_upper(cl);

	WRITE_ONCE(u->item_len, u->in_item);
	WRITE_ONCE(u->in_item, 0);
}

static void ru_ack_done(struct dlm_lc_cluster *cl, int nodeid)
{
	struct replying_upper *u = dlm_lc_cluster_upper(cl);

	ru_deliver_done(cl, nodeid);
	/* a bare header: B counts it, A's sent does not */
	if (send_msg(cl, nodeid, DLM_LC_HDR_LEN, 0))
		atomic_inc(&u->reply_fails);
}

static const struct dlm_lc_upper_ops ru_ops = {
	.deliver		= ru_deliver,
	.deliver_done		= ru_deliver_done,
	.deliver_may_sleep	= true,
};

static const struct dlm_lc_upper_ops ru_ack_ops = {
	.deliver		= ru_deliver,
	.deliver_done		= ru_ack_done,
	.deliver_may_sleep	= true,
	.done_may_wait		= true,
};

static u64 node_tx_inline(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_node_stats ns;

	return dlm_lc_node_get_stats(cl, nodeid, &ns) ? 0 : ns.tx_inline;
}

static u64 node_tx_guard(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_node_stats ns;

	return dlm_lc_node_get_stats(cl, nodeid, &ns) ? 0 : ns.tx_guard;
}

/*
 * A (node 1, @ops: replying, may sleep) and B (node 2); B has sent seed
 * 0 and has A's answer (and ACK, with ru_ack_ops: @acks). Then B sends
 * seeds 1..@n while A's receive worker sleeps, so that A reads them
 * together.
 */
static void replying_pair(struct kunit *test,
			  const struct dlm_lc_upper_ops *ops, int acks,
			  struct replying_upper **pua,
			  struct counting_upper **pub, int stall_seed, int n)
{
	struct ctx *c = test->priv;
	struct replying_upper *ua;
	struct counting_upper *ub;
	int i;

	ua = kunit_kzalloc(test, sizeof(*ua), GFP_KERNEL);
	ub = kunit_kzalloc(test, sizeof(*ub), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ua);
	KUNIT_ASSERT_NOT_NULL(test, ub);
	ua->cu.from = 2;
	ua->peer = ub;
	ua->stall_seed = -1;
	ua->stall_pos = -1;
	ub->from = 1;
	up_pair(test, ops, ua, &cu_ops, ub);
	KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 64, 0), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ub->delivered) ==
					 1 + acks));
	/* counted once sendmsg returned, maybe after B's delivery */
	KUNIT_ASSERT_TRUE(test, wait_for(node_tx_calls(c->a, 2) == 1));
	/* a run is counted as inline only once it returned: let it */
	msleep(100);

	ua->inline_before = node_tx_inline(c->a, 2);
	WRITE_ONCE(ua->stall_seed, stall_seed);
	dlm_lc_test_recv_delay_ms = 300;
	dlm_lc_test_sibling_recv_delay_ms = 300;
	for (i = 1; i <= n; i++)
		KUNIT_ASSERT_EQ(test, send_msg(c->b, 1, 64, i), 0);
	*pua = ua;
	*pub = ub;
}

/*
 * Issue 10: the answers to one read's messages under an upper layer that
 * may sleep in its deliver (here with 6.1's ACK per read, too) leave in
 * one socket call, made by the receive worker at the end of its run;
 * handed to swork before each next message, they took wake-ups. (The
 * guard is made long here so that a slow UML tick cannot fire it.)
 */
static void upper_may_sleep_answers_together(struct kunit *test)
{
	struct replying_upper *ua;
	struct counting_upper *ub;
	struct ctx *c = test->priv;

	dlm_lc_test_owed_guard_ms = 5000;
	replying_pair(test, &ru_ack_ops, 1, &ua, &ub, -1, 4);
	/* answer and ACK of seed 0, then four answers and an ACK */
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 7));
	dlm_lc_test_recv_delay_ms = 0;
	dlm_lc_test_sibling_recv_delay_ms = 0;
	/* the four came in one read: else this case tells nothing */
	KUNIT_ASSERT_EQ(test, READ_ONCE(ua->item_len), 4);
	/* one call before B's four (replying_pair()) */
	KUNIT_EXPECT_TRUE(test, wait_for(node_tx_calls(c->a, 2) > 1));
	msleep(100);
	KUNIT_EXPECT_EQ_MSG(test, node_tx_calls(c->a, 2), 2ULL,
			    "four answers and an ACK, more than one call");
	KUNIT_EXPECT_EQ_MSG(test, node_tx_inline(c->a, 2),
			    ua->inline_before + 1,
			    "not sent by the receive worker");
	KUNIT_EXPECT_EQ(test, node_tx_guard(c->a, 2), 0ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->out_of_order), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->reply_fails), 0);
}

/*
 * ... but an answer does not wait for a delivery that sleeps: the second
 * message of the read waits in its deliver until B has the first's
 * answer, which the guard (owed_work, about a tick) sends meanwhile.
 * Without it the wait would run out (2 s) and the answer go with the
 * rest at the end.
 */
static void upper_may_sleep_answer_not_held(struct kunit *test)
{
	struct replying_upper *ua;
	struct counting_upper *ub;
	struct ctx *c = test->priv;

	replying_pair(test, &ru_ops, 0, &ua, &ub, 2, 3);
	KUNIT_ASSERT_TRUE(test, wait_for(atomic_read(&ub->delivered) == 4));
	dlm_lc_test_recv_delay_ms = 0;
	dlm_lc_test_sibling_recv_delay_ms = 0;
	/* the stalled one came after another in its read */
	KUNIT_ASSERT_EQ(test, READ_ONCE(ua->stall_pos), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->stall_met), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->stall_timeouts), 0);
	/* sent by the guard, not by a swork handed it before the message */
	KUNIT_EXPECT_GE(test, node_tx_guard(c->a, 2), 1ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&ub->out_of_order), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->reply_fails), 0);
}

/*
 * A node's removal while its delivery sleeps with a guard armed (made
 * long: 1 s): the stop waits for the delivery, and no owed_work runs
 * after the stop's cancels (the test build counts late works; KASAN sees
 * one that runs on the freed connection).
 */
static void upper_may_sleep_removal_in_stall(struct kunit *test)
{
	struct replying_upper *ua;
	struct counting_upper *ub;
	struct ctx *c = test->priv;

	dlm_lc_test_owed_guard_ms = 1000;
	replying_pair(test, &ru_ops, 0, &ua, &ub, 2, 3);
	KUNIT_ASSERT_TRUE(test, wait_for(READ_ONCE(ua->stall_pos) >= 0));
	dlm_lc_test_recv_delay_ms = 0;
	dlm_lc_test_sibling_recv_delay_ms = 0;
	KUNIT_ASSERT_EQ(test, READ_ONCE(ua->stall_pos), 1);
	atomic_set(&dlm_lc_test_late_works, 0);
	KUNIT_EXPECT_EQ(test, dlm_lc_node_remove_now(c->a, 2), 0);
	/* the stall ended inside the removal, one way or the other */
	KUNIT_EXPECT_EQ(test, atomic_read(&ua->stall_met) +
			atomic_read(&ua->stall_timeouts), 1);
	/* past any guard the stop could have left armed */
	msleep(1500);
	KUNIT_EXPECT_EQ(test, atomic_read(&dlm_lc_test_late_works), 0);
}

static struct kunit_case upper_cases[] = {
	KUNIT_CASE(upper_registration_rules),
	KUNIT_CASE(upper_hooks_seen),
	KUNIT_CASE(upper_lost_only_on_error),
	KUNIT_CASE(upper_lost_on_redial),
	KUNIT_CASE(upper_send_from_softirq),
	KUNIT_CASE(upper_stop_discards_queue),
	KUNIT_CASE(upper_lanes_per_node),
	KUNIT_CASE(upper_one_lane),
	KUNIT_CASE(upper_one_lane_removal),
	KUNIT_CASE(upper_done_waits_for_company),
	KUNIT_CASE(upper_held_answer_before_fin),
	KUNIT_CASE(upper_send_after_shut_wr),
	KUNIT_CASE(upper_stop_fires_hold),
	KUNIT_CASE(upper_removal_fires_hold),
	KUNIT_CASE(upper_may_sleep_answers_together),
	KUNIT_CASE(upper_may_sleep_answer_not_held),
	KUNIT_CASE(upper_may_sleep_removal_in_stall),
	{}
};

static struct kunit_suite upper_suite = {
	.name = "dlm_lc_upper",
	.init = cluster_init,
	.exit = cluster_exit,
	.test_cases = upper_cases,
};

kunit_test_suites(&upper_suite);
