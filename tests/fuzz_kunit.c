// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzzer for the receive path: random and mutated byte streams, cut at
 * random points, go through the same code as bytes from a socket
 * (dlm_lc_recv_parse: framing, reassembly, the delivery lane) and then
 * through delivery, run as a receive worker going idle runs it
 * (dlm_lc_shim_deliver: OPTS unwrapping, RCOM, bulk).
 * KASAN, lockdep and kmemleak in the UML kernel catch what breaks; the
 * suite itself checks the framing invariants.
 *
 * Inputs come from fixed seeds (fuzz_seeds below) and a small corpus of
 * valid messages, so every run is the same run. Module parameter "inputs"
 * sets how many streams (default 1000000) each suite feeds: once to an
 * instance without nodes, once with the sender's node configured, so
 * that numbered messages reach its sequence state.
 */

#include <kunit/test.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/slab.h>

#include "compat.h"
#include "lowcomms_int.h"
#include "midcomms_shim.h"
#include "reliable.h"

#define FUZZ_NODE	9
#define STREAM_MAX	(3 * DLM_LC_MAX_MSG)

static unsigned long inputs = 1000000;
module_param(inputs, ulong, 0444);
MODULE_PARM_DESC(inputs, "number of fuzz streams to feed");

/* Seeds kept in the tree: each starts one deterministic sequence. */
static const u64 fuzz_seeds[] = {
	0x646c6d5f6c6f7763ULL, 0x0000000000000001ULL, 0x9e3779b97f4a7c15ULL,
	0x00000000ffffffffULL, 0x0123456789abcdefULL, 0x5a5a5a5a5a5a5a5aULL,
	0xdeadbeefcafef00dULL, 0x1000000000000000ULL,
};

struct fuzz {
	struct dlm_lc_cluster *cl;
	struct dlm_lc_conn *conn;
	struct rnd_state rnd;
	u8 *stream;
	unsigned long violations;
	bool node;	/* FUZZ_NODE is configured: its state is fuzzed too */
};

static u32 rnd(struct fuzz *f, u32 n)
{
	return n ? prandom_u32_state(&f->rnd) % n : 0;
}

static void put_hdr(u8 *p, u32 version, u32 ls, u32 nodeid, u16 len, u8 cmd)
{
	struct dlm_lc_hdr *hdr = (struct dlm_lc_hdr *)p;

	hdr->version = cpu_to_le32(version);
	hdr->lockspace = cpu_to_le32(ls);
	hdr->nodeid = cpu_to_le32(nodeid);
	hdr->length = cpu_to_le16(len);
	hdr->cmd = cmd;
	hdr->pad = 0;
}

/* One valid message of the corpus at @p; returns its length. */
static unsigned int corpus_msg(struct fuzz *f, u8 *p, unsigned int room)
{
	unsigned int len, kind = rnd(f, 5);
	struct dlm_lc_rcom *rc = (struct dlm_lc_rcom *)p;

	switch (kind) {
	case 0:		/* RCOM_STATUS or its reply */
		len = DLM_LC_RCOM_LEN + 8 * rnd(f, 5);
		break;
	case 1:		/* OPTS wrapping a message */
		len = 24 + rnd(f, 64) + DLM_LC_HDR_LEN + rnd(f, 64);
		break;
	case 2:		/* a bulk-sized DLM_MSG */
		len = DLM_LC_BULK_MIN + rnd(f, 512);
		break;
	default:	/* any length, any command */
		len = DLM_LC_HDR_LEN + rnd(f, DLM_LC_MAX_MSG - DLM_LC_HDR_LEN + 1);
	}
	if (len > room)
		return 0;
	prandom_bytes_state(&f->rnd, p, len);
	put_hdr(p, rnd(f, 2) ? DLM_LC_VERSION_3_1 : DLM_LC_VERSION_3_2,
		rnd(f, 4) ? 0 : 0x314b4c42, FUZZ_NODE, len,
		kind == 0 ? DLM_LC_CMD_RCOM : kind == 1 ? DLM_LC_CMD_OPTS :
		kind == 2 ? DLM_LC_CMD_MSG : 1 + rnd(f, 5));
	if (kind == 0) {
		rc->type = cpu_to_le32(rnd(f, 2) ? DLM_LC_RCOM_STATUS :
				       DLM_LC_RCOM_STATUS_REPLY);
	} else if (kind == 1) {
		unsigned int optlen = rnd(f, len - 24 - DLM_LC_HDR_LEN + 1);

		*(__le16 *)(p + 18) = cpu_to_le16(rnd(f, 8) ? optlen :
						  rnd(f, 0x10000));
		/* mostly what may be wrapped (MSG, RCOM, FIN), at times not */
		put_hdr(p + 24 + optlen, DLM_LC_VERSION_3_2, 0, FUZZ_NODE,
			len - 24 - optlen,
			rnd(f, 8) ? "\x01\x02\x05"[rnd(f, 3)] : rnd(f, 256));
		/* mostly one sequence space, numbers near each other: the
		 * in-order, duplicate and gap paths all get their share
		 */
		*(__le32 *)(p + 4) = cpu_to_le32(rnd(f, 8));
		if (rnd(f, 8))
			*(__le32 *)(p + 20) = cpu_to_le32(0x5eed);
	}
	return len;
}

/* A stream of corpus messages, then mutations: flips, garbage, cuts. */
static unsigned int make_stream(struct fuzz *f)
{
	unsigned int len = 0, n, i, flips;

	if (!rnd(f, 16)) {
		len = 1 + rnd(f, STREAM_MAX);
		prandom_bytes_state(&f->rnd, f->stream, len);
		return len;
	}
	for (n = 1 + rnd(f, 6); n; n--) {
		i = corpus_msg(f, f->stream + len, STREAM_MAX - len);
		if (!i)
			break;
		len += i;
	}
	flips = rnd(f, 4) ? rnd(f, 3) : rnd(f, 40);
	for (i = 0; i < flips && len; i++)
		f->stream[rnd(f, len)] ^= 1 << rnd(f, 8);
	if (!rnd(f, 8) && len)
		len -= rnd(f, len);
	return len;
}

/*
 * An accepted 3.2 envelope: what it carries fills it exactly, and is a
 * message (DLM_MSG, DLM_RCOM or DLM_FIN), not another envelope or an ACK.
 */
static bool opts_sane(const u8 *m, unsigned int mlen)
{
	const struct dlm_lc_opts *o = (const struct dlm_lc_opts *)m;
	unsigned int skip = DLM_LC_OPTS_LEN + le16_to_cpu(o->optlen);
	const struct dlm_lc_hdr *in = (const struct dlm_lc_hdr *)(m + skip);

	if (skip + DLM_LC_HDR_LEN > mlen ||
	    le16_to_cpu(in->length) != mlen - skip)
		return false;
	return in->cmd == DLM_LC_CMD_MSG || in->cmd == DLM_LC_CMD_RCOM ||
	       in->cmd == DLM_LC_CMD_FIN;
}

static bool frames_sane(const u8 *buf, unsigned int used)
{
	const struct dlm_lc_hdr *hdr;
	unsigned int off, mlen;

	for (off = 0; off < used; off += mlen) {
		hdr = (const struct dlm_lc_hdr *)(buf + off);
		mlen = le16_to_cpu(hdr->length);
		if (mlen < DLM_LC_HDR_LEN || mlen > DLM_LC_MAX_MSG ||
		    off + mlen > used)
			return false;
		if (hdr->cmd == DLM_LC_CMD_OPTS && !opts_sane(buf + off, mlen))
			return false;
	}
	return true;
}

/* Feed @len bytes in random pieces, as recvmsg would hand them over. */
static void feed(struct fuzz *f, unsigned int len)
{
	struct dlm_lc_conn *conn = f->conn;
	unsigned int off = 0, piece, msgs;
	int used;

	used = dlm_lc_frame_scan(f->stream, len, FUZZ_NODE, &msgs);
	if (used > (int)len || (used > 0 && !frames_sane(f->stream, used)))
		f->violations++;

	conn->rx_len = 0;
	while (off < len) {
		piece = min(1 + rnd(f, 2 * DLM_LC_MAX_MSG), len - off);
		piece = min(piece, conn->rx_size - conn->rx_len);
		memcpy(conn->rx_buf + conn->rx_len, f->stream + off, piece);
		conn->rx_len += piece;
		off += piece;
		if (dlm_lc_recv_parse(conn) < 0)
			break;	/* a broken stream closes the connection */
		/* one read and the socket is empty: as a receive worker does */
		dlm_lc_process_idle(conn);
		if (conn->rx_len >= conn->rx_size) {
			f->violations++;	/* a full buffer with no message */
			break;
		}
	}
}

static int fuzz_init(struct kunit *test)
{
	struct fuzz *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	f->stream = kunit_kzalloc(test, STREAM_MAX, GFP_KERNEL);
	f->conn = kunit_kzalloc(test, sizeof(*f->conn), GFP_KERNEL);
	if (!f->stream || !f->conn)
		return -ENOMEM;
	/* No nodes configured: replies to fuzzed pings find no connection. */
	f->cl = dlm_lc_shim_cluster_create("kunit-fuzz", &init_net);
	if (IS_ERR(f->cl))
		return PTR_ERR(f->cl);
	dlm_lc_conn_init(f->conn, f->cl, FUZZ_NODE);
	f->conn->rx_size = DLM_LC_BUFSIZE_MIN;
	f->conn->rx_buf = kunit_kzalloc(test, f->conn->rx_size, GFP_KERNEL);
	if (!f->conn->rx_buf)
		return -ENOMEM;
	test->priv = f;
	return 0;
}

static int fuzz_node_init(struct kunit *test)
{
	struct fuzz *f;
	int ret;

	ret = fuzz_init(test);
	if (ret)
		return ret;
	f = test->priv;
	f->node = true;
	return dlm_lc_node_add(f->cl, FUZZ_NODE);
}

static void fuzz_exit(struct kunit *test)
{
	struct fuzz *f = test->priv;

	if (!f || IS_ERR_OR_NULL(f->cl))
		return;
	/* the connection is ours, not in the instance: so is its lane */
	if (f->conn)
		dlm_lc_lane_purge(&f->conn->lane);
	dlm_lc_cluster_destroy(f->cl);
}

/*
 * With the node configured, numbered messages reach its sequence state:
 * in-order, duplicate, future, resync and FIN paths, ACKs for nothing
 * sent, and versions that flap between 3.1 and 3.2 from one RCOM_STATUS
 * to the next. Its replies and ACKs queue on a connection that never
 * starts, within the write queue's bound.
 */
static void fuzz_node_reached(struct kunit *test, struct fuzz *f)
{
	struct dlm_lc_rel_stats st;

	KUNIT_ASSERT_EQ(test, dlm_lc_shim_rel_stats(f->cl, FUZZ_NODE, &st), 0);
	kunit_info(test, "fuzz: node %d: rx_msgs %llu rx_dups %llu rx_future %llu resyncs %llu fin_rx %llu acks_rx %llu acks_stale %llu\n",
		   FUZZ_NODE, st.rx_msgs, st.rx_dups, st.rx_future, st.resyncs,
		   st.fin_rx, st.acks_rx, st.acks_stale);
	KUNIT_EXPECT_GT(test, st.rx_msgs, 0ULL);
	KUNIT_EXPECT_GT(test, st.rx_dups, 0ULL);
	KUNIT_EXPECT_GT(test, st.rx_future, 0ULL);
	KUNIT_EXPECT_GT(test, st.resyncs, 0ULL);
	KUNIT_EXPECT_GT(test, st.fin_rx, 0ULL);
}

static void fuzz_receive_path(struct kunit *test)
{
	struct fuzz *f = test->priv;
	unsigned long i, per_seed = DIV_ROUND_UP(inputs, ARRAY_SIZE(fuzz_seeds));
	unsigned long done = 0;
	int s;

	for (s = 0; s < ARRAY_SIZE(fuzz_seeds) && done < inputs; s++) {
		prandom_seed_state(&f->rnd, fuzz_seeds[s]);
		for (i = 0; i < per_seed && done < inputs; i++, done++) {
			feed(f, make_stream(f));
			/* let delivery keep up, so memory stays bounded */
			if (!(done % 256)) {
				flush_workqueue(dlm_lc_process_wq);
				cond_resched();
			}
		}
	}
	flush_workqueue(dlm_lc_process_wq);

	kunit_info(test, "fuzz: %lu inputs, %lu invariant violations, %llu messages parsed (%s)\n",
		   done, f->violations, atomic64_read(&f->conn->rx_msgs),
		   f->node ? "node configured" : "no node");
	KUNIT_EXPECT_EQ(test, done, inputs);
	KUNIT_EXPECT_EQ(test, f->violations, 0UL);
	/* the corpus must reach delivery, not only the framing checks */
	KUNIT_EXPECT_GT(test, atomic64_read(&f->conn->rx_msgs), (s64)inputs / 4);
	if (f->node)
		fuzz_node_reached(test, f);
}

static struct kunit_case fuzz_cases[] = {
	KUNIT_CASE(fuzz_receive_path),
	{}
};

static struct kunit_suite fuzz_suite = {
	.name = "dlm_lc_fuzz",
	.init = fuzz_init,
	.exit = fuzz_exit,
	.test_cases = fuzz_cases,
};

static struct kunit_suite fuzz_node_suite = {
	.name = "dlm_lc_fuzz_node",
	.init = fuzz_node_init,
	.exit = fuzz_exit,
	.test_cases = fuzz_cases,
};

kunit_test_suites(&fuzz_suite, &fuzz_node_suite);

MODULE_DESCRIPTION("dlm_lowcomms receive-path fuzzer (KUnit)");
MODULE_LICENSE("GPL");
DLM_LC_IMPORT_KUNIT_NS();
