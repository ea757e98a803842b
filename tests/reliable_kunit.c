// SPDX-License-Identifier: GPL-2.0-only
/*
 * DLM 3.2 reliable delivery: sequence numbers, duplicates and gaps, FIN,
 * resend after closes and restarts, the backlog bound, a 3.1 peer and a
 * node that comes back with fresh state. Instances as in cluster_kunit.c.
 */

#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#include "addr.h"
#include "lowcomms.h"
#include "lowcomms_int.h"
#include "midcomms_shim.h"
#include "reliable.h"
#include "test_hooks.h"
#include "cluster_kunit.h"

/* One counter, with the stats struct in this frame rather than the test's */
#define REL_FIELD(f)							\
static noinline u64 rel_##f(struct dlm_lc_cluster *cl, int id)		\
{									\
	struct dlm_lc_rel_stats st;					\
									\
	dlm_lc_shim_rel_stats(cl, id, &st);				\
	return st.f;							\
}

REL_FIELD(version)
REL_FIELD(tx_msgs)
REL_FIELD(retransmits)
REL_FIELD(rx_dups)
REL_FIELD(rx_future)
REL_FIELD(resyncs)
REL_FIELD(fin_tx)
REL_FIELD(fin_rx)
REL_FIELD(fin_resets)
REL_FIELD(tx_next)
REL_FIELD(peer_closed)
REL_FIELD(unacked_msgs)
REL_FIELD(abandoned)

/*
 * Whether @cl's connection to @id holds a resend buffer: cl->lock keeps
 * the connection, its socket lock (write) keeps the send worker out.
 */
static bool holds_rs_buf(struct dlm_lc_cluster *cl, int id)
{
	struct dlm_lc_conn *conn;
	bool ret = false;

	mutex_lock(&cl->lock);
	conn = dlm_lc_conn_find(cl, id);
	if (conn) {
		down_write(&conn->sock_lock);
		ret = !!conn->rs_buf;
		up_write(&conn->sock_lock);
	}
	mutex_unlock(&cl->lock);
	return ret;
}

static size_t process_queued_bytes(struct dlm_lc_cluster *cl)
{
	struct dlm_lc_cluster_stats st;

	dlm_lc_cluster_get_stats(cl, &st);
	return st.process_queued;
}

/* Build an OPTS frame from node @from around a DLM_MSG (or FIN). */
static int opts_frame(u8 *buf, int from, u32 sid, u32 seq, u8 cmd, u8 seed)
{
	struct dlm_lc_hdr *outer = (struct dlm_lc_hdr *)buf;
	struct dlm_lc_hdr *inner = (struct dlm_lc_hdr *)(buf + DLM_LC_OPTS_LEN);
	int inner_len = cmd == DLM_LC_CMD_FIN ? DLM_LC_HDR_LEN : 64;
	int i;

	memset(buf, 0, DLM_LC_OPTS_LEN + inner_len);
	outer->version = cpu_to_le32(DLM_LC_VERSION_3_2);
	outer->lockspace = cpu_to_le32(seq);
	outer->nodeid = cpu_to_le32(from);
	outer->length = cpu_to_le16(DLM_LC_OPTS_LEN + inner_len);
	outer->cmd = DLM_LC_CMD_OPTS;
	buf[DLM_LC_HDR_LEN] = cmd;			/* nextcmd */
	*(__le32 *)(buf + 20) = cpu_to_le32(sid);	/* sequence space */
	inner->version = cpu_to_le32(DLM_LC_VERSION_3_2);
	inner->nodeid = cpu_to_le32(from);
	inner->length = cpu_to_le16(inner_len);
	inner->cmd = cmd;
	for (i = DLM_LC_HDR_LEN; i < inner_len; i++)
		buf[DLM_LC_OPTS_LEN + i] = seed;
	return DLM_LC_OPTS_LEN + inner_len;
}

/* Feed frames straight into delivery: order, duplicates, gaps, FIN. */
static void rel_sequence_rules(struct kunit *test)
{
	static const u32 seqs[] = { 0, 1, 1, 3, 2, 3, 0 };
	struct ctx *c = test->priv;
	struct dlm_lc_rel_stats st;
	struct dlm_lc_hdr ack = {};
	u8 buf[128];
	int i, len;

	c->a = instance(test, "kunit-a", 1, "127.0.0.1", "127.0.0.2",
			&c->sink_a);
	for (i = 0; i < ARRAY_SIZE(seqs); i++) {
		len = opts_frame(buf, 2, 0x1001, seqs[i], DLM_LC_CMD_MSG,
				 seqs[i]);
		dlm_lc_shim_deliver(c->a, 2, 0, buf, len);
	}
	/* 0, 1, 2, 3 once each, in order: the last one carried seed 3 */
	KUNIT_EXPECT_EQ(test, sink_count(&c->sink_a), 4);
	KUNIT_EXPECT_EQ(test, c->sink_a.last[DLM_LC_HDR_LEN], 3);
	dlm_lc_shim_rel_stats(c->a, 2, &st);
	KUNIT_EXPECT_EQ(test, st.version, DLM_LC_VERSION_3_2);
	KUNIT_EXPECT_EQ(test, st.rx_next, 4U);
	KUNIT_EXPECT_EQ(test, st.rx_msgs, 4ULL);
	KUNIT_EXPECT_EQ(test, st.rx_dups, 2ULL);
	KUNIT_EXPECT_EQ(test, st.rx_future, 1ULL);

	/* the sender started over (fresh state): follow its numbers */
	len = opts_frame(buf, 2, 0x2001, 100, DLM_LC_CMD_MSG, 100);
	dlm_lc_shim_deliver(c->a, 2, 0, buf, len);
	len = opts_frame(buf, 2, 0x2001, 101, DLM_LC_CMD_FIN, 0);
	dlm_lc_shim_deliver(c->a, 2, 0, buf, len);
	KUNIT_EXPECT_EQ(test, sink_count(&c->sink_a), 5);
	dlm_lc_shim_rel_stats(c->a, 2, &st);
	KUNIT_EXPECT_EQ(test, st.resyncs, 1ULL);
	KUNIT_EXPECT_EQ(test, st.fin_rx, 1ULL);
	KUNIT_EXPECT_EQ(test, st.peer_closed, 1U);
	KUNIT_EXPECT_EQ(test, st.rx_next, 102U);

	/* an ACK for another sequence space, or for the future, is ignored */
	ack.version = cpu_to_le32(DLM_LC_VERSION_3_2);
	ack.nodeid = cpu_to_le32(2);
	ack.length = cpu_to_le16(DLM_LC_HDR_LEN);
	ack.cmd = DLM_LC_CMD_ACK;
	ack.lockspace = cpu_to_le32(5);
	dlm_lc_shim_deliver(c->a, 2, 0, &ack, sizeof(ack));
	dlm_lc_shim_rel_stats(c->a, 2, &st);
	KUNIT_EXPECT_EQ(test, st.acks_rx, 1ULL);
	KUNIT_EXPECT_EQ(test, st.acks_stale, 1ULL);
	KUNIT_EXPECT_EQ(test, st.tx_acked, 0U);
}

struct closer {
	struct delayed_work work;
	struct dlm_lc_cluster *cl;
	int peer;
	int left;
	int waits;		/* looks for a stream in flight so far */
	bool restart;		/* stop and start the instance, not a close */
};

/*
 * Looks for a stream in flight, over the whole storm, each at least 3 ms
 * (a tick) after the last: enough for the writer to begin.
 */
#define CLOSER_WAITS	2000

static void closer_fn(struct work_struct *work)
{
	struct closer *cw = container_of(to_delayed_work(work), struct closer,
					 work);

	if (cw->restart) {
		dlm_lc_cluster_stop(cw->cl);
		msleep(30);
		if (dlm_lc_cluster_start(cw->cl))
			pr_err("kunit: restart of %s failed\n",
			       dlm_lc_cluster_name(cw->cl));
	} else {
		/*
		 * A close with nothing unacked tests nothing. On two CPUs
		 * the storm could end before the writer began: wait for it.
		 */
		if (!rel_unacked_msgs(cw->cl, cw->peer) &&
		    cw->waits++ < CLOSER_WAITS) {
			schedule_delayed_work(&cw->work, msecs_to_jiffies(3));
			return;
		}
		dlm_lc_node_close(cw->cl, cw->peer);
	}
	if (--cw->left > 0)
		schedule_delayed_work(&cw->work,
				      msecs_to_jiffies(cw->restart ? 150 : 3));
}

/* Stream A -> B while @cw disrupts; every message must arrive once. */
static void stream_through(struct kunit *test, struct closer *cw, int count,
			   int size)
{
	struct ctx *c = test->priv;
	struct dlm_lc_bulk_stats st;

	dlm_lc_shim_unregister(c->b, DLM_LC_CMD_MSG);
	INIT_DELAYED_WORK_ONSTACK(&cw->work, closer_fn);
	schedule_delayed_work(&cw->work, 0);
	KUNIT_EXPECT_EQ(test, dlm_lc_bulk_send(c->a, 2, count, size, 0), 0);
	while (cw->left > 0)
		flush_delayed_work(&cw->work);
	destroy_delayed_work_on_stack(&cw->work);

	if (!wait_for(bulk_done(c->b, 1, count))) {
		dump_stats(test, c->a, 2);
		dump_stats(test, c->b, 1);
	}
	dlm_lc_bulk_get_stats(c->b, 1, &st);
	kunit_info(test, "%d msgs: delivered %llu, gaps %llu; retransmits %llu, dups %llu, future %llu, fin %llu\n",
		   count, st.rx_msgs, st.rx_seq_err, rel_retransmits(c->a, 2),
		   rel_rx_dups(c->b, 1), rel_rx_future(c->b, 1),
		   rel_fin_rx(c->a, 2));
	KUNIT_EXPECT_EQ(test, st.rx_msgs, (u64)count);
	KUNIT_EXPECT_EQ(test, st.rx_seq_err, 0ULL);
	KUNIT_EXPECT_EQ(test, st.rx_bad_csum, 0ULL);
	/* and the sender's copies are all released by ACKs */
	KUNIT_EXPECT_TRUE(test, wait_for(!rel_unacked_msgs(c->a, 2)));
	/* memory per connection: the resends are over, so is their buffer */
	KUNIT_EXPECT_TRUE(test, wait_for(!holds_rs_buf(c->a, 2)));
}

/* A streams to B while its socket to B is closed 20 times. */
static void close_storm(struct kunit *test, struct dlm_lc_node_stats *ns)
{
	struct ctx *c = test->priv;
	struct closer cw = { .peer = 2, .left = 20 };

	pair_start(test, "127.0.0.1", "127.0.0.2");
	cw.cl = c->a;
	stream_through(test, &cw, 20000, 500);
	dlm_lc_node_get_stats(c->a, 2, ns);
}

static void rel_close_storm_exactly_once(struct kunit *test)
{
	struct dlm_lc_node_stats ns;

	close_storm(test, &ns);
	KUNIT_EXPECT_GE(test, ns.reconnects, 1ULL);
}

/*
 * Memory per connection: a new socket that finds copies to resend but
 * no memory for the buffer they go out from backs off (RESEND kept) and
 * resends later; nothing of the queue overtakes the copies (the peer
 * would count those as gaps) and everything arrives once.
 */
static void rel_resend_short_of_memory(struct kunit *test)
{
	struct ctx *c = test->priv;
	struct dlm_lc_node_stats ns;

	atomic_set(&dlm_lc_test_fail_rs_buf, 2);
	close_storm(test, &ns);
	/* both failures happened: two resends waited for memory */
	KUNIT_EXPECT_EQ(test, atomic_read(&dlm_lc_test_fail_rs_buf), 0);
	KUNIT_EXPECT_GE(test, ns.send_backoffs, 2ULL);
	KUNIT_EXPECT_EQ(test, rel_rx_future(c->b, 1), 0ULL);
}

/* The receiver stops (FIN) and starts again, three times, mid-stream. */
static void rel_peer_restarts_exactly_once(struct kunit *test)
{
	struct ctx *c = test->priv;
	struct closer cw = { .restart = true, .left = 3 };

	pair_start(test, "127.0.0.1", "127.0.0.2");
	cw.cl = c->b;
	stream_through(test, &cw, 20000, 300);
	KUNIT_EXPECT_GE(test, rel_fin_rx(c->a, 2), 1ULL);
	KUNIT_EXPECT_GE(test, rel_fin_tx(c->b, 1), 1ULL);
}

/* A peer that is down: the unacked backlog stops at its bound. */
static void rel_backlog_bounded(struct kunit *test)
{
	struct ctx *c = test->priv;
	struct dlm_lc_rel_stats st;
	int i, ret = 0, sent = 0;
	u8 *buf;

	buf = kunit_kzalloc(test, 4000, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	pair_start(test, "127.0.0.1", "127.0.0.2");
	/* learn each other's version */
	KUNIT_ASSERT_EQ(test, dlm_lc_ping(c->a, 2, 1, 5000), 0);
	dlm_lc_cluster_stop(c->b);

	for (i = 0; i < 10000 && !ret; i++) {
		struct dlm_lc_hdr *hdr = (struct dlm_lc_hdr *)buf;

		hdr->version = cpu_to_le32(DLM_LC_VERSION_3_2);
		hdr->nodeid = cpu_to_le32(1);
		hdr->length = cpu_to_le16(4000);
		hdr->cmd = DLM_LC_CMD_MSG;
		ret = dlm_lc_shim_send(c->a, 2, buf, 4000, GFP_NOWAIT);
		sent += !ret;
	}
	KUNIT_EXPECT_EQ(test, ret, -ENOBUFS);
	dlm_lc_shim_rel_stats(c->a, 2, &st);
	kunit_info(test, "backlog full after %d messages: %llu bytes unacked\n",
		   sent, st.unacked_bytes);
	/* a page may be charged after the check: one writer, one page */
	KUNIT_EXPECT_LE(test, st.unacked_bytes,
			(u64)DLM_LC_REL_BACKLOG + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, st.unacked_msgs, (u32)sent);
	/* a message too long for the OPTS wrapper is refused, not cut */
	((struct dlm_lc_hdr *)buf)->length = cpu_to_le16(DLM_LC_MAX_MSG);
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_send(c->a, 2, buf, DLM_LC_MAX_MSG,
					       GFP_NOWAIT), -EMSGSIZE);
	/* ... and one whose header says another length, before anything */
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_send(c->a, 2, buf, 4000, GFP_NOWAIT),
			-EINVAL);
	/* ... and any command a receiver would not take inside OPTS */
	((struct dlm_lc_hdr *)buf)->length = cpu_to_le16(4000);
	for (i = 0; i < 256; i++) {
		if (i == DLM_LC_CMD_MSG || i == DLM_LC_CMD_RCOM)
			continue;
		((struct dlm_lc_hdr *)buf)->cmd = i;
		KUNIT_EXPECT_EQ_MSG(test, dlm_lc_shim_send(c->a, 2, buf, 4000,
							   GFP_NOWAIT),
				    -EINVAL, "cmd %d", i);
	}

	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_b) == sent));
	KUNIT_EXPECT_TRUE(test, wait_for(!rel_unacked_msgs(c->a, 2)));
	KUNIT_EXPECT_EQ(test, sink_count(&c->sink_b), sent);
}

static u32 sink_last_version(struct sink *s)
{
	u32 version;

	spin_lock(&s->lock);
	version = le32_to_cpu(((struct dlm_lc_hdr *)s->last)->version);
	spin_unlock(&s->lock);
	return version;
}

/* B speaks only 3.1: no numbers either way, both still deliver. */
static void rel_peer_speaks_3_1(struct kunit *test)
{
	struct ctx *c = test->priv;
	u8 buf[DLM_LC_MSG_MIN] = {};
	struct dlm_lc_hdr *hdr = (struct dlm_lc_hdr *)buf;

	c->a = instance(test, "kunit-a", 1, "127.0.0.1", "127.0.0.2",
			&c->sink_a);
	c->b = instance(test, "kunit-b", 2, "127.0.0.1", "127.0.0.2",
			&c->sink_b);
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_set_version(c->b, 0x00030003),
			-EINVAL);
	KUNIT_ASSERT_EQ(test, dlm_lc_shim_set_version(c->b,
						      DLM_LC_VERSION_3_1), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_set_version(c->b,
						      DLM_LC_VERSION_3_2),
			-EBUSY);

	/* as a stock DLM marks all it builds; sent bare, it must say 3.1 */
	hdr->version = cpu_to_le32(DLM_LC_VERSION_3_2);
	hdr->length = cpu_to_le16(sizeof(buf));
	hdr->cmd = DLM_LC_CMD_MSG;
	hdr->nodeid = cpu_to_le32(1);
	/* A asks B's version first (RCOM_STATUS), then sends bare */
	KUNIT_ASSERT_EQ(test, dlm_lc_shim_send(c->a, 2, buf, sizeof(buf),
					       GFP_KERNEL), 0);
	hdr->nodeid = cpu_to_le32(2);
	KUNIT_ASSERT_EQ(test, dlm_lc_shim_send(c->b, 1, buf, sizeof(buf),
					       GFP_KERNEL), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_b) == 1));
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_a) == 1));
	KUNIT_EXPECT_EQ(test, rel_version(c->a, 2), (u64)DLM_LC_VERSION_3_1);
	KUNIT_EXPECT_EQ(test, rel_tx_msgs(c->a, 2), 0ULL);
	KUNIT_EXPECT_EQ(test, rel_tx_msgs(c->b, 1), 0ULL);
	KUNIT_EXPECT_EQ(test, c->sink_b.last_len, (int)sizeof(buf));
	KUNIT_EXPECT_EQ(test, sink_last_version(&c->sink_b),
			(u32)DLM_LC_VERSION_3_1);
	KUNIT_EXPECT_EQ(test, sink_last_version(&c->sink_a),
			(u32)DLM_LC_VERSION_3_1);
}

/* The shortest DLM_MSG a stock node takes. */
static int send_small(struct dlm_lc_cluster *cl, int to, u8 seed)
{
	struct dlm_lc_hdr *hdr;
	u8 buf[DLM_LC_MSG_MIN];

	memset(buf, seed, sizeof(buf));
	hdr = (struct dlm_lc_hdr *)buf;
	hdr->version = cpu_to_le32(DLM_LC_VERSION_3_2);
	hdr->lockspace = 0;
	hdr->nodeid = cpu_to_le32(dlm_lc_cluster_local_nodeid(cl));
	hdr->length = cpu_to_le16(sizeof(buf));
	hdr->cmd = DLM_LC_CMD_MSG;
	hdr->pad = 0;
	return dlm_lc_shim_send(cl, to, buf, sizeof(buf), GFP_KERNEL);
}

/* An ACK as a stock node sends it: pad byte 0, sequence = next expected. */
static void deliver_ack(struct dlm_lc_cluster *cl, int from, u32 seq)
{
	struct dlm_lc_hdr ack = {};

	ack.version = cpu_to_le32(DLM_LC_VERSION_3_2);
	ack.lockspace = cpu_to_le32(seq);
	ack.nodeid = cpu_to_le32(from);
	ack.length = cpu_to_le16(DLM_LC_HDR_LEN);
	ack.cmd = DLM_LC_CMD_ACK;
	dlm_lc_shim_deliver(cl, from, 0, &ack, sizeof(ack));
}

REL_FIELD(acks_stale)
REL_FIELD(tx_acked)

/*
 * Issue 7.2: a stock 3.2 node leaves the ACK's pad byte 0. Its ACKs must
 * free our copies; late and future ones must free nothing.
 */
static void rel_stock_ack_frees_copies(struct kunit *test)
{
	struct ctx *c = test->priv;
	u8 buf[128];
	int i, len;

	c->a = instance(test, "kunit-a", 1, "127.0.0.1", "127.0.0.2",
			&c->sink_a);
	/* node 2 shows it speaks 3.2 */
	len = opts_frame(buf, 2, 0x3001, 0, DLM_LC_CMD_MSG, 0);
	dlm_lc_shim_deliver(c->a, 2, 0, buf, len);
	for (i = 0; i < 10; i++)
		KUNIT_ASSERT_EQ(test, send_small(c->a, 2, i), 0);
	KUNIT_ASSERT_EQ(test, rel_unacked_msgs(c->a, 2), 10ULL);

	deliver_ack(c->a, 2, 6);
	KUNIT_EXPECT_EQ(test, rel_unacked_msgs(c->a, 2), 4ULL);
	KUNIT_EXPECT_EQ(test, rel_tx_acked(c->a, 2), 6ULL);
	KUNIT_EXPECT_EQ(test, rel_acks_stale(c->a, 2), 0ULL);

	/* a late ACK (below what was acked) and a future one free nothing */
	deliver_ack(c->a, 2, 3);
	deliver_ack(c->a, 2, 11);
	KUNIT_EXPECT_EQ(test, rel_unacked_msgs(c->a, 2), 4ULL);
	KUNIT_EXPECT_EQ(test, rel_acks_stale(c->a, 2), 2ULL);

	deliver_ack(c->a, 2, 10);
	KUNIT_EXPECT_EQ(test, rel_unacked_msgs(c->a, 2), 0ULL);
	KUNIT_EXPECT_EQ(test, rel_acks_stale(c->a, 2), 2ULL);
}

/*
 * An ACK is built when it is written, and only for the socket the last
 * OPTS came on: a position learnt on one socket never goes out on another.
 */
static void rel_ack_only_on_its_socket(struct kunit *test)
{
	struct ctx *c = test->priv;
	struct dlm_lc_hdr *hdr;
	u8 buf[128], ack[DLM_LC_CTRL_MAX];
	int i, len;

	c->a = instance(test, "kunit-a", 1, "127.0.0.1", "127.0.0.2",
			&c->sink_a);
	for (i = 0; i < 3; i++) {
		len = opts_frame(buf, 2, 0x4001, i, DLM_LC_CMD_MSG, i);
		dlm_lc_shim_deliver(c->a, 2, 7, buf, len);
	}
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_fill_ack(c->a, 2, 8, ack, sizeof(ack)),
			0);
	KUNIT_ASSERT_EQ(test, dlm_lc_shim_fill_ack(c->a, 2, 7, ack, sizeof(ack)),
			DLM_LC_HDR_LEN);
	hdr = (struct dlm_lc_hdr *)ack;
	KUNIT_EXPECT_EQ(test, hdr->cmd, DLM_LC_CMD_ACK);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(hdr->lockspace), 3U);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(hdr->nodeid), 1U);
	KUNIT_EXPECT_EQ(test, hdr->pad, 0);
	/* nothing new: no second ACK */
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_fill_ack(c->a, 2, 7, ack, sizeof(ack)),
			0);

	/* a duplicate on another socket moves the ACK there */
	len = opts_frame(buf, 2, 0x4001, 1, DLM_LC_CMD_MSG, 1);
	dlm_lc_shim_deliver(c->a, 2, 9, buf, len);
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_fill_ack(c->a, 2, 7, ack, sizeof(ack)),
			0);
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_fill_ack(c->a, 2, 9, ack, sizeof(ack)),
			DLM_LC_HDR_LEN);
}

/*
 * Reliable-delivery state for node 2 of a running instance c->a, outside
 * the shim: the test drives it directly. Node 2 never listens.
 */
static struct dlm_lc_rel *lone_rel(struct kunit *test, struct ctx *c)
{
	struct dlm_lc_rel *r;

	c->a = instance(test, "kunit-a", 1, "127.0.0.1", "127.0.0.2",
			&c->sink_a);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	dlm_lc_rel_init(r, c->a, 2);
	dlm_lc_rel_seen_version(r, DLM_LC_VERSION_3_2);
	return r;
}

/*
 * Issue 7.4f: the peer falls back to 3.1 while a numbered message is
 * being written, or before the numbering callback runs: no copy is left
 * that nobody acknowledges, and a return to 3.2 opens a new space. A
 * message committed before a fallback is freed by it.
 */
static void rel_fallback_races_writer(struct kunit *test)
{
	struct ctx *c = test->priv;
	struct dlm_lc_rel_stats st;
	struct dlm_lc_rel_tx tx;
	struct dlm_lc_rel *r;
	u32 sid;

	r = lone_rel(test, c);
	sid = r->tx_sid;

	/* numbered, then the fallback, then the commit */
	KUNIT_ASSERT_EQ(test, dlm_lc_rel_alloc(r, 64, true, GFP_KERNEL, &tx), 0);
	memset(tx.buf, 0, 64);
	dlm_lc_rel_seen_version(r, DLM_LC_VERSION_3_1);
	dlm_lc_rel_commit(r, &tx);
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.unacked_msgs, 0U);
	KUNIT_EXPECT_EQ(test, st.unacked_bytes, 0ULL);
	KUNIT_EXPECT_EQ(test, r->reserved, 0UL);
	KUNIT_EXPECT_NE(test, r->tx_sid, sid);
	KUNIT_EXPECT_EQ(test, st.tx_acked, st.tx_next);

	/* the caller chose to wrap before it saw 3.1: decided at numbering */
	KUNIT_ASSERT_EQ(test, dlm_lc_rel_alloc(r, 64, true, GFP_KERNEL, &tx), 0);
	memset(tx.buf, 0, 64);
	dlm_lc_rel_commit(r, &tx);
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.unacked_msgs, 0U);
	KUNIT_EXPECT_EQ(test, st.tx_next, 1U);
	KUNIT_EXPECT_EQ(test, r->reserved, 0UL);

	/* back to 3.2: numbered and kept again, from where we were */
	dlm_lc_rel_seen_version(r, DLM_LC_VERSION_3_2);
	KUNIT_ASSERT_EQ(test, dlm_lc_rel_alloc(r, 64, true, GFP_KERNEL, &tx), 0);
	memset(tx.buf, 0, 64);
	dlm_lc_rel_commit(r, &tx);
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.unacked_msgs, 1U);
	KUNIT_EXPECT_EQ(test, st.tx_next, 2U);

	/* committed, then the fallback: the list frees it */
	dlm_lc_rel_seen_version(r, DLM_LC_VERSION_3_1);
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.abandoned, 2ULL);
	KUNIT_EXPECT_EQ(test, st.unacked_msgs, 0U);
	KUNIT_EXPECT_EQ(test, st.unacked_bytes, 0ULL);
	KUNIT_EXPECT_EQ(test, r->reserved, 0UL);
	dlm_lc_rel_release(r);
}

/* Acknowledge everything before @seq, as the peer would. */
static void rel_fake_ack(struct dlm_lc_rel *r, u32 seq)
{
	struct dlm_lc_hdr hdr = {
		.version = cpu_to_le32(DLM_LC_VERSION_3_2),
		.lockspace = cpu_to_le32(seq),
		.nodeid = cpu_to_le32(2),
		.length = cpu_to_le16(DLM_LC_HDR_LEN),
		.cmd = DLM_LC_CMD_ACK,
	};

	dlm_lc_rel_rx_ack(r, &hdr);
}

/*
 * A stock node with no lockspace says nothing but its FIN, numbered 0.
 * Both FINs go through and we start again; then its FIN 0 comes once
 * more (our ACK of it was lost with its socket). We take and acknowledge
 * it, and once that ACK is built its next 0, a new message after its
 * reset, starts our count again: it must be delivered, not taken for a
 * duplicate of the FIN. A number other than 0 before then is refused.
 */
static void rel_stock_old_fin_again(struct kunit *test)
{
	struct ctx *c = test->priv;
	struct dlm_lc_rel_stats st;
	u8 buf[128], ack[DLM_LC_HDR_LEN];
	struct dlm_lc_rel *r;

	r = lone_rel(test, c);
	dlm_lc_rel_close_begin(r);
	KUNIT_ASSERT_EQ(test, dlm_lc_rel_send_fin(r), 0);
	rel_fake_ack(r, 1);
	opts_frame(buf, 2, 0, 0, DLM_LC_CMD_FIN, 0);
	KUNIT_EXPECT_FALSE(test, dlm_lc_rel_rx(r, buf, DLM_LC_CMD_FIN, 7));
	KUNIT_ASSERT_EQ(test, dlm_lc_rel_fill_ack(r, 7, ack, sizeof(ack)),
			DLM_LC_HDR_LEN);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(((struct dlm_lc_hdr *)ack)->lockspace),
			1U);
	dlm_lc_rel_open(r);
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_ASSERT_EQ(test, st.fin_resets, 1ULL);

	/* its old FIN again: taken, acknowledged as before */
	KUNIT_EXPECT_FALSE(test, dlm_lc_rel_rx(r, buf, DLM_LC_CMD_FIN, 8));
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.fin_rx, 2ULL);
	KUNIT_ASSERT_EQ(test, dlm_lc_rel_fill_ack(r, 8, ack, sizeof(ack)),
			DLM_LC_HDR_LEN);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(((struct dlm_lc_hdr *)ack)->lockspace),
			1U);

	/* before its new 0, nothing else */
	opts_frame(buf, 2, 0, 1, DLM_LC_CMD_MSG, 1);
	KUNIT_EXPECT_FALSE(test, dlm_lc_rel_rx(r, buf, DLM_LC_CMD_MSG, 8));
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.rx_future, 1ULL);

	/* it started over after our ACK: 0 and 1 are new */
	opts_frame(buf, 2, 0, 0, DLM_LC_CMD_MSG, 0);
	KUNIT_EXPECT_TRUE(test, dlm_lc_rel_rx(r, buf, DLM_LC_CMD_MSG, 8));
	opts_frame(buf, 2, 0, 1, DLM_LC_CMD_MSG, 1);
	KUNIT_EXPECT_TRUE(test, dlm_lc_rel_rx(r, buf, DLM_LC_CMD_MSG, 8));
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.rx_msgs, 2ULL);
	KUNIT_EXPECT_EQ(test, st.rx_next, 2U);
	KUNIT_EXPECT_EQ(test, st.rx_dups, 0ULL);
	KUNIT_EXPECT_EQ(test, st.peer_closed, 0U);
	dlm_lc_rel_release(r);
}

/* one 4000-byte message to a lone node, written in a work of its own */
struct rel_writer {
	struct work_struct work;
	struct completion done;
	struct dlm_lc_rel *r;
	gfp_t gfp;
	int ret;
};

static void rel_write(struct rel_writer *w)
{
	struct dlm_lc_rel_tx tx;

	w->ret = dlm_lc_rel_alloc(w->r, 4000, true, w->gfp, &tx);
	if (w->ret)
		return;
	memset(tx.buf, 0, 4000);
	((struct dlm_lc_hdr *)tx.buf)->cmd = DLM_LC_CMD_MSG;
	dlm_lc_rel_commit(w->r, &tx);
}

static void rel_writer_fn(struct work_struct *work)
{
	struct rel_writer *w = container_of(work, struct rel_writer, work);

	rel_write(w);
	complete(&w->done);
}

/*
 * Start @w's write, which must wait for the backlog (the @waits-th time
 * one did), then let it go with @go: it must not sleep out its 30 s.
 */
static void rel_writer_waits(struct kunit *test, struct rel_writer *w,
			     u64 waits, void (*go)(struct dlm_lc_rel *r))
{
	struct dlm_lc_rel_stats st;

	reinit_completion(&w->done);
	queue_work(system_unbound_wq, &w->work);
	KUNIT_EXPECT_TRUE(test, wait_for((dlm_lc_rel_get_stats(w->r, &st),
					  st.backlog_waits == waits)));
	KUNIT_EXPECT_FALSE(test, completion_done(&w->done));
	go(w->r);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&w->done, 5 * HZ),
			0UL);
	flush_work(&w->work);
	KUNIT_EXPECT_EQ(test, w->ret, 0);
}

static void rel_ack_first(struct dlm_lc_rel *r)
{
	rel_fake_ack(r, 1);
}

static void rel_fall_back(struct dlm_lc_rel *r)
{
	dlm_lc_rel_seen_version(r, DLM_LC_VERSION_3_1);
}

/*
 * At the backlog's bound a writer that may sleep waits: an ACK that makes
 * room lets it go on, kept and charged once; a fallback to 3.1 lets it go
 * on, not kept. Either way nothing stays reserved at the end.
 */
static void rel_backlog_waiter_charged_once(struct kunit *test)
{
	struct ctx *c = test->priv;
	struct dlm_lc_rel_stats st;
	struct rel_writer *w;
	struct dlm_lc_rel *r;
	int i;

	/* one ACK frees a page only where a page holds one message */
	if (PAGE_SIZE != 4096)
		kunit_skip(test, "needs 4 KiB pages");
	w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	INIT_WORK(&w->work, rel_writer_fn);
	init_completion(&w->done);
	r = lone_rel(test, c);
	w->r = r;

	/* one page each: the backlog, not the write queue, refuses first */
	w->gfp = GFP_NOWAIT | __GFP_NOWARN;
	for (i = 0; i < 2000 && !w->ret; i++)
		rel_write(w);
	KUNIT_EXPECT_EQ(test, w->ret, -ENOBUFS);
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.backlog_waits, 0ULL);
	KUNIT_EXPECT_GT(test, st.unacked_bytes,
			(u64)DLM_LC_REL_BACKLOG - 2 * PAGE_SIZE);
	KUNIT_EXPECT_LE(test, st.unacked_bytes,
			(u64)DLM_LC_REL_BACKLOG + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, (u64)r->reserved, st.unacked_bytes);

	/* a writer that may sleep waits until an ACK makes room */
	w->gfp = GFP_KERNEL;
	rel_writer_waits(test, w, 1, rel_ack_first);
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.unacked_msgs, (u32)(i - 1));
	KUNIT_EXPECT_EQ(test, (u64)r->reserved,
			st.unacked_bytes);

	/* full again: the next one is let go by the peer's fallback */
	rel_writer_waits(test, w, 2, rel_fall_back);
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.abandoned, (u64)(i - 1));
	KUNIT_EXPECT_EQ(test, st.unacked_msgs, 0U);
	KUNIT_EXPECT_EQ(test, st.unacked_bytes, 0ULL);
	KUNIT_EXPECT_EQ(test, r->reserved, 0UL);
	dlm_lc_rel_release(r);
}

/*
 * Kept messages are not copied: they pin their write-queue page, and the
 * backlog counts each pinned page once plus a descriptor per message.
 * Node 2 is configured but never listens, so nothing is sent, and the
 * 88-byte wire images pack PAGE_SIZE / 88 to a page. Partial
 * ACKs must keep a page charged while a later message still pins it; a
 * resend reads the page. No assertion may end the test between the first
 * kept message and the release (the probe timer is armed).
 */
static void rel_kept_pages_charged_once(struct kunit *test)
{
	const u32 wire = DLM_LC_OPTS_LEN + 64, n = 100;
	u32 per = PAGE_SIZE / wire, pages = DIV_ROUND_UP(n, per);
	struct ctx *c = test->priv;
	struct dlm_lc_rel_stats st;
	struct dlm_lc_rel_tx tx;
	struct dlm_lc_rel *r;
	u64 all, meta;
	u32 from, to, seq, i;
	bool ok;
	u8 *buf;
	int len;

	buf = kunit_kzalloc(test, DLM_LC_MAX_MSG, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	/* the ACKs below must cut the first page and end inside the last */
	KUNIT_ASSERT_GT(test, per, 30U);
	KUNIT_ASSERT_GE(test, pages, 2U);
	r = lone_rel(test, c);

	for (i = 0; i < n; i++) {
		len = dlm_lc_rel_alloc(r, 64, true, GFP_KERNEL, &tx);
		KUNIT_EXPECT_EQ(test, len, 0);
		if (len)
			goto out_release;
		memset(tx.buf, i, 64);
		((struct dlm_lc_hdr *)tx.buf)->cmd = DLM_LC_CMD_MSG;
		dlm_lc_rel_commit(r, &tx);
	}
	dlm_lc_rel_get_stats(r, &st);
	all = st.unacked_bytes;
	KUNIT_EXPECT_EQ(test, st.unacked_msgs, n);
	KUNIT_EXPECT_EQ(test, (u64)r->reserved, all);
	/* a descriptor is more than 32 bytes and less than 128 */
	KUNIT_EXPECT_GE(test, all, (u64)pages * PAGE_SIZE + n * 32ULL);
	KUNIT_EXPECT_LE(test, all, (u64)pages * PAGE_SIZE + n * 128ULL);

	/* part of the first page acknowledged: the page stays charged */
	rel_fake_ack(r, 30);
	dlm_lc_rel_get_stats(r, &st);
	meta = (all - st.unacked_bytes) / 30;
	KUNIT_EXPECT_EQ(test, all - st.unacked_bytes, 30 * meta);
	KUNIT_EXPECT_EQ(test, st.unacked_bytes,
			(u64)pages * PAGE_SIZE + (n - 30) * meta);
	/* the first page done */
	rel_fake_ack(r, per);
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.unacked_bytes,
			(u64)(pages - 1) * PAGE_SIZE + (n - per) * meta);

	/* what a resend reads is what was written */
	ok = dlm_lc_rel_resend_begin(r, &from, &to);
	KUNIT_EXPECT_TRUE(test, ok);
	if (ok) {
		KUNIT_EXPECT_EQ(test, from, per);
		KUNIT_EXPECT_EQ(test, to, n);
		seq = n - 1;
		len = dlm_lc_rel_resend_copy(r, &seq, to, buf);
		KUNIT_EXPECT_EQ(test, len, (int)wire);
		KUNIT_EXPECT_EQ(test, seq, n - 1);
		KUNIT_EXPECT_EQ(test,
				le32_to_cpu(((struct dlm_lc_hdr *)buf)->lockspace),
				n - 1);
		KUNIT_EXPECT_EQ(test, buf[DLM_LC_OPTS_LEN + DLM_LC_HDR_LEN],
				(u8)(n - 1));
		KUNIT_EXPECT_EQ(test, buf[wire - 1], (u8)(n - 1));
	}

	rel_fake_ack(r, n);
	dlm_lc_rel_get_stats(r, &st);
	KUNIT_EXPECT_EQ(test, st.unacked_msgs, 0U);
	KUNIT_EXPECT_EQ(test, st.unacked_bytes, 0ULL);
	KUNIT_EXPECT_EQ(test, r->reserved, 0UL);
out_release:
	dlm_lc_rel_release(r);
}

/*
 * Issue 7.4j: messages of a node that is removed while they wait in the
 * delivery lane are dropped, and do not bring the node's state back.
 * Three things see to it: a graceful removal's FIN makes the state discard
 * what comes after it, the removal drops the node's queued messages, and a
 * message for a node that is not configured creates no state. The removal
 * at once has no FIN, so its case depends on the other two.
 */
struct opener {
	struct delayed_work work;
	struct completion gate;
};

static void opener_fn(struct work_struct *work)
{
	struct opener *o = container_of(to_delayed_work(work), struct opener,
					work);

	complete_all(&o->gate);
}

static void removed_node_stays_gone(struct kunit *test,
				    int (*remove)(struct dlm_lc_cluster *, int))
{
	struct ctx *c = test->priv;
	struct dlm_lc_rel_stats rs;
	struct opener *o;
	int i;

	o = kunit_kzalloc(test, sizeof(*o), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, o);
	init_completion(&o->gate);
	INIT_DELAYED_WORK(&o->work, opener_fn);

	pair_start(test, "127.0.0.1", "127.0.0.2");
	KUNIT_ASSERT_EQ(test, send_small(c->b, 1, 1), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(sink_count(&c->sink_a) == 1));

	c->a->test_process_gate = &o->gate;
	for (i = 0; i < 20; i++)
		KUNIT_ASSERT_EQ(test, send_small(c->b, 1, i), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(process_queued_bytes(c->a) > 0));
	/* the run is held; the gate opens during or after the removal */
	schedule_delayed_work(&o->work, msecs_to_jiffies(300));
	KUNIT_ASSERT_EQ(test, remove(c->a, 2), 0);
	flush_delayed_work(&o->work);
	c->a->test_process_gate = NULL;
	msleep(100);

	KUNIT_EXPECT_EQ(test, sink_count(&c->sink_a), 1);
	/* no state for node 2 came back: its stats read all zero */
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_rel_stats(c->a, 2, &rs), 0);
	KUNIT_EXPECT_NULL(test, memchr_inv(&rs, 0, sizeof(rs)));
	KUNIT_EXPECT_FALSE(test, dlm_lc_node_exists(c->a, 2));
}

static void rel_removed_node_stays_gone(struct kunit *test)
{
	removed_node_stays_gone(test, dlm_lc_node_remove);
}

static void rel_removed_now_node_stays_gone(struct kunit *test)
{
	removed_node_stays_gone(test, dlm_lc_node_remove_now);
}

/* A forgets B (node removed and added again): both sides carry on. */
static void rel_node_comes_back_fresh(struct kunit *test)
{
	struct ctx *c = test->priv;

	pair_start(test, "127.0.0.1", "127.0.0.2");
	KUNIT_ASSERT_EQ(test, send_small(c->a, 2, 1), 0);
	KUNIT_ASSERT_EQ(test, send_small(c->b, 1, 1), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(sink_count(&c->sink_b) == 1));
	KUNIT_ASSERT_TRUE(test, wait_for(sink_count(&c->sink_a) == 1));

	/* removal says FIN first; the new node state has a new space id */
	KUNIT_ASSERT_EQ(test, dlm_lc_node_remove(c->a, 2), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(rel_fin_rx(c->b, 1) == 1));
	add_node(test, c->a, 2, "127.0.0.2");

	KUNIT_ASSERT_EQ(test, send_small(c->a, 2, 2), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_b) == 2));
	KUNIT_EXPECT_EQ(test, c->sink_b.last[DLM_LC_HDR_LEN], 2);
	KUNIT_EXPECT_EQ(test, rel_resyncs(c->b, 1), 1ULL);

	/* B goes on with its numbers; A's fresh state takes them up */
	KUNIT_ASSERT_EQ(test, send_small(c->b, 1, 3), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_a) == 2));
	KUNIT_EXPECT_EQ(test, c->sink_a.last[DLM_LC_HDR_LEN], 3);
	KUNIT_EXPECT_EQ(test, rel_peer_closed(c->b, 1), 0ULL);
}

/* B comes back speaking 3.1: A stops keeping copies nobody will ACK. */
static void rel_peer_turns_3_1(struct kunit *test)
{
	struct ctx *c = test->priv;
	int i;

	pair_start(test, "127.0.0.1", "127.0.0.2");
	KUNIT_ASSERT_EQ(test, dlm_lc_ping(c->a, 2, 1, 5000), 0);
	dlm_lc_cluster_stop(c->b);
	for (i = 0; i < 10; i++)
		KUNIT_ASSERT_EQ(test, send_small(c->a, 2, i), 0);
	KUNIT_EXPECT_EQ(test, rel_unacked_msgs(c->a, 2), 10ULL);

	KUNIT_ASSERT_EQ(test, dlm_lc_shim_set_version(c->b,
						      DLM_LC_VERSION_3_1), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	/* its reply names 3.1 */
	KUNIT_ASSERT_EQ(test, dlm_lc_ping(c->a, 2, 1, 5000), 0);
	KUNIT_EXPECT_EQ(test, rel_version(c->a, 2), (u64)DLM_LC_VERSION_3_1);
	KUNIT_EXPECT_TRUE(test, wait_for(!rel_unacked_msgs(c->a, 2)));
	KUNIT_EXPECT_EQ(test, rel_abandoned(c->a, 2), 10ULL);
	/* and what A sends now goes bare and arrives */
	i = sink_count(&c->sink_b);
	KUNIT_ASSERT_EQ(test, send_small(c->a, 2, 42), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_b) == i + 1));
	KUNIT_EXPECT_EQ(test, c->sink_b.last[DLM_LC_HDR_LEN], 42);
}

/*
 * An envelope may carry only a message (DLM_MSG, DLM_RCOM, DLM_FIN). One
 * that carries anything else is refused whole: it is counted, and its
 * number stays free for the real message.
 */
static void rel_refused_content_keeps_number(struct kunit *test)
{
	static const u8 bad[] = { 0, DLM_LC_CMD_OPTS, DLM_LC_CMD_ACK,
				  DLM_LC_CMD_MAX, 0xff };
	struct ctx *c = test->priv;
	struct dlm_lc_rel_stats st;
	u8 buf[128];
	int i, len;

	c->a = instance(test, "kunit-a", 1, "127.0.0.1", "127.0.0.2",
			&c->sink_a);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		len = opts_frame(buf, 2, 0x1001, 0, DLM_LC_CMD_MSG, 9);
		buf[DLM_LC_OPTS_LEN + offsetof(struct dlm_lc_hdr, cmd)] = bad[i];
		dlm_lc_shim_deliver(c->a, 2, 0, buf, len);
		KUNIT_EXPECT_EQ_MSG(test, dlm_lc_shim_unhandled(c->a),
				    (u64)i + 1, "inner cmd %u", bad[i]);
	}
	KUNIT_EXPECT_EQ(test, sink_count(&c->sink_a), 0);
	/* no number was taken: none is expected yet */
	dlm_lc_shim_rel_stats(c->a, 2, &st);
	KUNIT_EXPECT_EQ(test, st.rx_next, 0U);
	KUNIT_EXPECT_EQ(test, st.rx_msgs, 0ULL);

	len = opts_frame(buf, 2, 0x1001, 0, DLM_LC_CMD_MSG, 7);
	dlm_lc_shim_deliver(c->a, 2, 0, buf, len);
	KUNIT_EXPECT_EQ(test, sink_count(&c->sink_a), 1);
	KUNIT_EXPECT_EQ(test, c->sink_a.last[DLM_LC_HDR_LEN], 7);
	dlm_lc_shim_rel_stats(c->a, 2, &st);
	KUNIT_EXPECT_EQ(test, st.rx_next, 1U);
	KUNIT_EXPECT_EQ(test, st.rx_dups, 0ULL);
}

/*
 * A FIN that comes while we stop is the peer's half of the close: taken
 * and acknowledged, where any other message is left for the sender to
 * send again. (A stock node sends it as soon as it has our FIN, and
 * waits for its ACK, in LAST_ACK, until then.)
 */
static void rel_fin_taken_while_closing(struct kunit *test)
{
	struct ctx *c = test->priv;
	struct dlm_lc_rel_stats st;
	u8 buf[128];
	int len;

	c->a = instance(test, "kunit-a", 1, "127.0.0.1", "127.0.0.2",
			&c->sink_a);
	len = opts_frame(buf, 2, 0, 0, DLM_LC_CMD_MSG, 1);
	dlm_lc_shim_deliver(c->a, 2, 0, buf, len);
	KUNIT_ASSERT_EQ(test, sink_count(&c->sink_a), 1);
	/* a graceful stop marks every peer closing (no FIN: none connected) */
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	dlm_lc_cluster_stop(c->a);

	len = opts_frame(buf, 2, 0, 1, DLM_LC_CMD_FIN, 0);
	dlm_lc_shim_deliver(c->a, 2, 0, buf, len);
	len = opts_frame(buf, 2, 0, 2, DLM_LC_CMD_MSG, 2);
	dlm_lc_shim_deliver(c->a, 2, 0, buf, len);
	KUNIT_EXPECT_EQ(test, sink_count(&c->sink_a), 1);
	dlm_lc_shim_rel_stats(c->a, 2, &st);
	KUNIT_EXPECT_EQ(test, st.fin_rx, 1ULL);
	KUNIT_EXPECT_EQ(test, st.peer_closed, 1U);
	KUNIT_EXPECT_EQ(test, st.rx_discarded, 1ULL);
	KUNIT_EXPECT_EQ(test, st.rx_next, 2U);
}

/*
 * A handler's reply (under rcu_read_lock(), GFP_NOWAIT) to a node we have
 * no state for yet: no allocation that may sleep, -EAGAIN (the debug
 * kernel's might_sleep check judges the first part).
 */
static void rel_nowait_send_makes_no_state(struct kunit *test)
{
	struct ctx *c = test->priv;
	u8 buf[DLM_LC_MSG_MIN] = {};
	struct dlm_lc_hdr *hdr = (struct dlm_lc_hdr *)buf;
	int ret;

	c->a = instance(test, "kunit-a", 1, "127.0.0.1", "127.0.0.2",
			&c->sink_a);
	hdr->version = cpu_to_le32(DLM_LC_VERSION_3_2);
	hdr->nodeid = cpu_to_le32(1);
	hdr->length = cpu_to_le16(sizeof(buf));
	hdr->cmd = DLM_LC_CMD_MSG;
	rcu_read_lock();
	ret = dlm_lc_shim_send(c->a, 2, buf, sizeof(buf), GFP_NOWAIT);
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, ret, -EAGAIN);
}

/*
 * A DLM_MSG or DLM_RCOM shorter than its stock struct is refused before
 * anything is numbered or asked of the peer: a stock 3.2 node would drop
 * it without taking its number and wait for it for ever.
 */
static void rel_short_message_refused(struct kunit *test)
{
	struct ctx *c = test->priv;
	u8 buf[DLM_LC_MSG_MIN] = {};
	struct dlm_lc_hdr *hdr = (struct dlm_lc_hdr *)buf;
	static const struct {
		u8 cmd;
		u16 len;
	} cases[] = {
		{ DLM_LC_CMD_MSG, DLM_LC_MSG_MIN - 1 },
		{ DLM_LC_CMD_MSG, DLM_LC_HDR_LEN },
		{ DLM_LC_CMD_RCOM, DLM_LC_RCOM_MIN - 1 },
		{ DLM_LC_CMD_RCOM, DLM_LC_HDR_LEN },
	};
	unsigned int i;

	/* B is not up: a refusal that asked its version would time out */
	c->a = instance(test, "kunit-a", 1, "127.0.0.1", "127.0.0.2",
			&c->sink_a);
	c->b = instance(test, "kunit-b", 2, "127.0.0.1", "127.0.0.2",
			&c->sink_b);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	hdr->version = cpu_to_le32(DLM_LC_VERSION_3_2);
	hdr->nodeid = cpu_to_le32(1);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		hdr->cmd = cases[i].cmd;
		hdr->length = cpu_to_le16(cases[i].len);
		KUNIT_EXPECT_EQ_MSG(test, dlm_lc_shim_send(c->a, 2, buf,
							   cases[i].len,
							   GFP_KERNEL),
				    -EINVAL, "cmd %u len %u",
				    cases[i].cmd, cases[i].len);
	}
	KUNIT_EXPECT_EQ(test, rel_version(c->a, 2), 0ULL);

	/* the shortest of each that stock takes goes, numbered */
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	hdr->cmd = DLM_LC_CMD_MSG;
	hdr->length = cpu_to_le16(DLM_LC_MSG_MIN);
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_send(c->a, 2, buf, DLM_LC_MSG_MIN,
					       GFP_KERNEL), 0);
	hdr->cmd = DLM_LC_CMD_RCOM;
	hdr->length = cpu_to_le16(DLM_LC_RCOM_MIN);
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_send(c->a, 2, buf, DLM_LC_RCOM_MIN,
					       GFP_KERNEL), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_b) == 1));
	KUNIT_EXPECT_EQ(test, c->sink_b.last_len, DLM_LC_MSG_MIN);
	KUNIT_EXPECT_EQ(test, rel_tx_msgs(c->a, 2), 2ULL);
	KUNIT_EXPECT_TRUE(test, wait_for(!rel_unacked_msgs(c->a, 2)));
}

/*
 * A header that does not name us, or has a major other than 3, is
 * refused before anything is asked of the peer: ours would close the
 * stream on the first sent bare, and stock's lock layer skips it (it
 * checks h_nodeid against the connection); the second is no DLM header.
 * The minor is set to the version the message goes at, whatever the
 * caller wrote.
 */
static void rel_header_checked(struct kunit *test)
{
	struct ctx *c = test->priv;
	u8 buf[DLM_LC_MSG_MIN] = {};
	struct dlm_lc_hdr *hdr = (struct dlm_lc_hdr *)buf;
	static const struct {
		u32 nodeid;
		u32 version;
	} cases[] = {
		{ 2, DLM_LC_VERSION_3_2 },	/* the peer's */
		{ 0, DLM_LC_VERSION_3_2 },	/* left unset */
		{ 1, 0x00040002 },
		{ 1, 0x00020001 },
		{ 1, 0 },
	};
	unsigned int i;

	c->a = instance(test, "kunit-a", 1, "127.0.0.1", "127.0.0.2",
			&c->sink_a);
	c->b = instance(test, "kunit-b", 2, "127.0.0.1", "127.0.0.2",
			&c->sink_b);
	hdr->length = cpu_to_le16(sizeof(buf));
	hdr->cmd = DLM_LC_CMD_MSG;

	/* no local node: the header cannot name us */
	hdr->version = cpu_to_le32(DLM_LC_VERSION_3_2);
	hdr->nodeid = 0;
	KUNIT_ASSERT_EQ(test, dlm_lc_node_set_local(c->a, 1, false), 0);
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_send(c->a, 2, buf, sizeof(buf),
					       GFP_KERNEL), -EADDRNOTAVAIL);
	KUNIT_ASSERT_EQ(test, dlm_lc_node_set_local(c->a, 1, true), 0);

	/* B is not up: a refusal that asked its version would time out */
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		hdr->nodeid = cpu_to_le32(cases[i].nodeid);
		hdr->version = cpu_to_le32(cases[i].version);
		KUNIT_EXPECT_EQ_MSG(test, dlm_lc_shim_send(c->a, 2, buf,
							   sizeof(buf),
							   GFP_KERNEL),
				    -EINVAL, "nodeid %u version 0x%08x",
				    cases[i].nodeid, cases[i].version);
	}
	KUNIT_EXPECT_EQ(test, rel_version(c->a, 2), 0ULL);
	KUNIT_EXPECT_EQ(test, sink_count(&c->sink_b), 0);

	/* inside OPTS to a 3.2 peer the header says 3.2 */
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	hdr->nodeid = cpu_to_le32(1);
	hdr->version = cpu_to_le32(0x0003abcd);
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_send(c->a, 2, buf, sizeof(buf),
					       GFP_KERNEL), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_b) == 1));
	KUNIT_EXPECT_EQ(test, sink_last_version(&c->sink_b),
			(u32)DLM_LC_VERSION_3_2);
	KUNIT_EXPECT_EQ(test, rel_tx_msgs(c->a, 2), 1ULL);
	KUNIT_EXPECT_TRUE(test, wait_for(!rel_unacked_msgs(c->a, 2)));
}

struct stopper {
	struct work_struct work;
	struct dlm_lc_cluster *cl;
};

static void stopper_fn(struct work_struct *work)
{
	dlm_lc_cluster_stop(container_of(work, struct stopper, work)->cl);
}

/*
 * Both nodes stop at once: each takes the other's FIN while it stops,
 * so both FINs are acknowledged and both ends start their numbers again
 * at their start, as a stock node does (midcomms_node_reset). Messages
 * then go both ways, numbered from 0.
 */
static void rel_both_stop_start_again(struct kunit *test)
{
	struct ctx *c = test->priv;
	struct stopper s;

	pair_start(test, "127.0.0.1", "127.0.0.2");
	KUNIT_ASSERT_EQ(test, send_small(c->a, 2, 1), 0);
	KUNIT_ASSERT_EQ(test, send_small(c->b, 1, 1), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(sink_count(&c->sink_b) == 1));
	KUNIT_ASSERT_TRUE(test, wait_for(sink_count(&c->sink_a) == 1));
	KUNIT_ASSERT_TRUE(test, wait_for(!rel_unacked_msgs(c->a, 2) &&
					 !rel_unacked_msgs(c->b, 1)));

	s.cl = c->b;
	INIT_WORK_ONSTACK(&s.work, stopper_fn);
	schedule_work(&s.work);
	dlm_lc_cluster_stop(c->a);
	flush_work(&s.work);
	destroy_work_on_stack(&s.work);

	KUNIT_EXPECT_EQ(test, rel_fin_tx(c->a, 2), 1ULL);
	KUNIT_EXPECT_EQ(test, rel_fin_tx(c->b, 1), 1ULL);
	KUNIT_EXPECT_EQ(test, rel_fin_rx(c->a, 2), 1ULL);
	KUNIT_EXPECT_EQ(test, rel_fin_rx(c->b, 1), 1ULL);

	/* the numbers start again with the instance */
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->b), 0);
	KUNIT_EXPECT_EQ(test, rel_fin_resets(c->a, 2), 1ULL);
	KUNIT_EXPECT_EQ(test, rel_fin_resets(c->b, 1), 1ULL);
	KUNIT_ASSERT_EQ(test, send_small(c->a, 2, 2), 0);
	KUNIT_ASSERT_EQ(test, send_small(c->b, 1, 3), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_b) == 2));
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_a) == 2));
	KUNIT_EXPECT_EQ(test, c->sink_b.last[DLM_LC_HDR_LEN], 2);
	KUNIT_EXPECT_EQ(test, c->sink_a.last[DLM_LC_HDR_LEN], 3);
	/* the message after the restart is number 0 of a new space */
	KUNIT_EXPECT_EQ(test, rel_tx_next(c->a, 2), 1ULL);
	KUNIT_EXPECT_EQ(test, rel_tx_next(c->b, 1), 1ULL);
	KUNIT_EXPECT_TRUE(test, wait_for(!rel_unacked_msgs(c->a, 2) &&
					 !rel_unacked_msgs(c->b, 1)));
}

/*
 * A stop whose FIN the peer only acknowledges (it keeps running, as our
 * nodes and stock nodes with a lockspace do) leaves nothing behind: the
 * next stop says FIN again, and nothing started again in between.
 */
static void rel_second_stop_sends_fin(struct kunit *test)
{
	struct ctx *c = test->priv;

	pair_start(test, "127.0.0.1", "127.0.0.2");
	KUNIT_ASSERT_EQ(test, send_small(c->a, 2, 1), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(sink_count(&c->sink_b) == 1));
	KUNIT_ASSERT_TRUE(test, wait_for(!rel_unacked_msgs(c->a, 2)));
	dlm_lc_cluster_stop(c->a);
	KUNIT_EXPECT_EQ(test, rel_fin_tx(c->a, 2), 1ULL);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(rel_fin_rx(c->b, 1) == 1));
	KUNIT_ASSERT_EQ(test, dlm_lc_ping(c->a, 2, 1, 5000), 0);

	dlm_lc_cluster_stop(c->a);
	KUNIT_EXPECT_EQ(test, rel_fin_tx(c->a, 2), 2ULL);
	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	KUNIT_EXPECT_EQ(test, rel_fin_resets(c->a, 2), 0ULL);
	/* B saw two FINs; the numbers went on: the next message arrives */
	KUNIT_EXPECT_TRUE(test, wait_for(rel_fin_rx(c->b, 1) == 2));
	KUNIT_ASSERT_EQ(test, send_small(c->a, 2, 2), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_b) == 2));
	KUNIT_EXPECT_EQ(test, rel_resyncs(c->b, 1), 0ULL);
}

/*
 * After our FIN nothing is numbered until we start again: a send that may
 * not sleep fails at once (one that may waits for the start); after the
 * start it goes.
 */
static void rel_nothing_numbered_after_fin(struct kunit *test)
{
	struct ctx *c = test->priv;
	u8 buf[DLM_LC_MSG_MIN] = {};
	struct dlm_lc_hdr *hdr = (struct dlm_lc_hdr *)buf;
	u64 msgs;

	pair_start(test, "127.0.0.1", "127.0.0.2");
	KUNIT_ASSERT_EQ(test, send_small(c->a, 2, 1), 0);
	KUNIT_ASSERT_TRUE(test, wait_for(!rel_unacked_msgs(c->a, 2)));
	dlm_lc_cluster_stop(c->a);
	KUNIT_ASSERT_EQ(test, rel_fin_tx(c->a, 2), 1ULL);
	msgs = rel_tx_msgs(c->a, 2);

	hdr->version = cpu_to_le32(DLM_LC_VERSION_3_2);
	hdr->nodeid = cpu_to_le32(1);
	hdr->length = cpu_to_le16(sizeof(buf));
	hdr->cmd = DLM_LC_CMD_MSG;
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_send(c->a, 2, buf, sizeof(buf),
					       GFP_NOWAIT), -ESHUTDOWN);
	KUNIT_EXPECT_EQ(test, rel_tx_msgs(c->a, 2), msgs);

	KUNIT_ASSERT_EQ(test, dlm_lc_cluster_start(c->a), 0);
	buf[DLM_LC_HDR_LEN] = 2;
	KUNIT_EXPECT_EQ(test, dlm_lc_shim_send(c->a, 2, buf, sizeof(buf),
					       GFP_NOWAIT), 0);
	KUNIT_EXPECT_TRUE(test, wait_for(sink_count(&c->sink_b) == 2));
	KUNIT_EXPECT_EQ(test, c->sink_b.last[DLM_LC_HDR_LEN], 2);
}

static struct kunit_case reliable_cases[] = {
	KUNIT_CASE(rel_sequence_rules),
	KUNIT_CASE(rel_refused_content_keeps_number),
	KUNIT_CASE(rel_fin_taken_while_closing),
	KUNIT_CASE(rel_nowait_send_makes_no_state),
	KUNIT_CASE(rel_short_message_refused),
	KUNIT_CASE(rel_header_checked),
	KUNIT_CASE(rel_both_stop_start_again),
	KUNIT_CASE(rel_second_stop_sends_fin),
	KUNIT_CASE(rel_nothing_numbered_after_fin),
	KUNIT_CASE(rel_close_storm_exactly_once),
	KUNIT_CASE(rel_resend_short_of_memory),
	KUNIT_CASE(rel_peer_restarts_exactly_once),
	KUNIT_CASE(rel_backlog_bounded),
	KUNIT_CASE(rel_peer_speaks_3_1),
	KUNIT_CASE(rel_node_comes_back_fresh),
	KUNIT_CASE(rel_peer_turns_3_1),
	KUNIT_CASE(rel_stock_ack_frees_copies),
	KUNIT_CASE(rel_ack_only_on_its_socket),
	KUNIT_CASE(rel_fallback_races_writer),
	KUNIT_CASE(rel_stock_old_fin_again),
	KUNIT_CASE(rel_kept_pages_charged_once),
	KUNIT_CASE(rel_backlog_waiter_charged_once),
	KUNIT_CASE(rel_removed_node_stays_gone),
	KUNIT_CASE(rel_removed_now_node_stays_gone),
	{}
};

static struct kunit_suite reliable_suite = {
	.name = "dlm_lc_reliable",
	.init = cluster_init,
	.exit = cluster_exit,
	.test_cases = reliable_cases,
};

kunit_test_suites(&reliable_suite);
