// SPDX-License-Identifier: GPL-2.0-only
/*
 * Framing: what the receive path accepts, waits for, and rejects.
 */

#include <kunit/test.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "lowcomms_int.h"
#include "midcomms_shim.h"

#define NODE	7

static void put_hdr(char *buf, u32 version, int nodeid, unsigned int len,
		    u8 cmd)
{
	struct dlm_lc_hdr *hdr = (struct dlm_lc_hdr *)buf;

	memset(buf, 0, DLM_LC_HDR_LEN);
	hdr->version = cpu_to_le32(version);
	hdr->nodeid = cpu_to_le32(nodeid);
	hdr->length = cpu_to_le16(len);
	hdr->cmd = cmd;
}

struct frame_case {
	const char *name;
	u32 version;
	int nodeid;
	unsigned int len;	/* header length field */
	u8 cmd;
	unsigned int avail;	/* bytes present */
	int expect;
};

static const struct frame_case frame_cases[] = {
	{ "complete 3.1", DLM_LC_VERSION_3_1, NODE, 64, 1, 64, 64 },
	{ "3.2 opts wrapping nothing", DLM_LC_VERSION_3_2, NODE, 40, 3, 40, -EMSGSIZE },
	{ "header only", DLM_LC_VERSION_3_1, NODE, 16, 4, 16, 16 },
	{ "largest", DLM_LC_VERSION_3_1, NODE, 4096, 2, 4096, 4096 },
	{ "body partial", DLM_LC_VERSION_3_1, NODE, 64, 1, 63, 0 },
	{ "header partial", DLM_LC_VERSION_3_1, NODE, 64, 1, 15, 0 },
	{ "version only", DLM_LC_VERSION_3_1, NODE, 64, 1, 4, 0 },
	{ "one byte", DLM_LC_VERSION_3_1, NODE, 64, 1, 1, 0 },
	{ "length below header", DLM_LC_VERSION_3_1, NODE, 15, 1, 16, -EMSGSIZE },
	{ "length zero", DLM_LC_VERSION_3_1, NODE, 0, 1, 16, -EMSGSIZE },
	{ "oversized", DLM_LC_VERSION_3_1, NODE, 4097, 1, 16, -EMSGSIZE },
	{ "version 2", 0x00020001, NODE, 64, 1, 64, -EPROTO },
	{ "garbage version seen early", 0xdeadbeef, NODE, 64, 1, 4, -EPROTO },
	{ "cmd zero", DLM_LC_VERSION_3_1, NODE, 64, 0, 64, -EPROTO },
	{ "cmd unknown", DLM_LC_VERSION_3_1, NODE, 64, 9, 64, -EPROTO },
	{ "wrong sender", DLM_LC_VERSION_3_1, NODE + 1, 64, 1, 64, -EBADMSG },
};

static void frame_case_desc(const struct frame_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(frame, frame_cases, frame_case_desc);

static void frame_check_cases(struct kunit *test)
{
	const struct frame_case *c = test->param_value;
	char *buf = kunit_kzalloc(test, DLM_LC_MAX_MSG, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	put_hdr(buf, c->version, c->nodeid, c->len, c->cmd);

	KUNIT_EXPECT_EQ(test, dlm_lc_frame_check(buf, c->avail, NODE),
			c->expect);
}

/*
 * An OPTS envelope of @len bytes with @optlen bytes of options, wrapping a
 * message whose header claims @inner bytes (if its header fits).
 */
static void put_opts(char *buf, unsigned int len, unsigned int optlen,
		     unsigned int inner)
{
	unsigned int skip = DLM_LC_OPTS_LEN + optlen;

	memset(buf, 0, len);
	put_hdr(buf, DLM_LC_VERSION_3_2, NODE, len, DLM_LC_CMD_OPTS);
	((struct dlm_lc_opts *)buf)->nextcmd = DLM_LC_CMD_MSG;
	((struct dlm_lc_opts *)buf)->optlen = cpu_to_le16(optlen);
	if (skip + DLM_LC_HDR_LEN <= len)
		put_hdr(buf + skip, DLM_LC_VERSION_3_2, NODE, inner,
			DLM_LC_CMD_MSG);
}

/*
 * The envelope's inner message must fill it exactly: an upper layer (the
 * kernel's DLM under the drop-in) reads the inner message by its own
 * length field, and the item it reads from is sized to what arrived.
 */
static void frame_check_opts_envelope(struct kunit *test)
{
	static const struct {
		unsigned int len, optlen, inner;
		int expect;
	} c[] = {
		{ 88, 0, 64, 88 },		/* as DLM 3.2 sends */
		{ 96, 8, 64, 96 },		/* with options */
		{ 40, 0, 16, 40 },		/* a bare header inside */
		{ 88, 0, 65, -EMSGSIZE },	/* inner claims a byte more */
		{ 88, 0, 0xffff, -EMSGSIZE },	/* ... or 64 KiB */
		{ 88, 0, 63, -EMSGSIZE },	/* inner leaves a byte over */
		{ 88, 0, 0, -EMSGSIZE },	/* inner length zero */
		{ 88, 60, 4, -EMSGSIZE },	/* options leave no header room */
		{ 88, 0xffff, 16, -EMSGSIZE },	/* options past the end */
		{ 39, 0, 15, -EMSGSIZE },	/* no room for an inner header */
		{ 24, 0, 0, -EMSGSIZE },	/* the envelope alone */
	};
	char *buf = kunit_kzalloc(test, 128, GFP_KERNEL);
	unsigned int i, msgs;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		put_opts(buf, c[i].len, c[i].optlen, c[i].inner);
		KUNIT_EXPECT_EQ_MSG(test, dlm_lc_frame_check(buf, c[i].len, NODE),
				    c[i].expect, "case %u", i);
		/* judged only once whole: a part is never refused for it */
		KUNIT_EXPECT_EQ_MSG(test,
				    dlm_lc_frame_check(buf, c[i].len - 1, NODE),
				    0, "case %u, less a byte", i);
	}

	/* only a message may be wrapped: not an envelope, an ACK, nor junk */
	for (i = 0; i < 256; i++) {
		bool ok = i == DLM_LC_CMD_MSG || i == DLM_LC_CMD_RCOM ||
			  i == DLM_LC_CMD_FIN;

		put_opts(buf, 88, 0, 64);
		buf[DLM_LC_OPTS_LEN + offsetof(struct dlm_lc_hdr, cmd)] = i;
		KUNIT_EXPECT_EQ_MSG(test, dlm_lc_frame_check(buf, 88, NODE),
				    ok ? 88 : -EPROTO, "inner cmd %u", i);
		KUNIT_EXPECT_EQ_MSG(test, dlm_lc_frame_check(buf, 87, NODE), 0,
				    "inner cmd %u, less a byte", i);
	}

	/* where the wrapped message starts, past the options */
	put_opts(buf, 96, 8, 64);
	KUNIT_EXPECT_EQ(test, dlm_lc_frame_opts(buf, 96), DLM_LC_OPTS_LEN + 8);
	put_opts(buf, 88, 0, 64);
	KUNIT_EXPECT_EQ(test, dlm_lc_frame_opts(buf, 88), DLM_LC_OPTS_LEN);
	KUNIT_EXPECT_EQ(test, dlm_lc_frame_opts(buf, 88 + 65536), -EMSGSIZE);

	/* a bad envelope after a good one breaks the stream */
	put_opts(buf, 88, 0, 64);
	put_opts(buf + 88, 40, 0, 17);
	KUNIT_EXPECT_EQ(test, dlm_lc_frame_scan(buf, 128, NODE, &msgs),
			-EMSGSIZE);
}

static void frame_scan_multiple_and_leftover(struct kunit *test)
{
	char *buf = kunit_kzalloc(test, 256, GFP_KERNEL);
	unsigned int msgs;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	put_hdr(buf, DLM_LC_VERSION_3_1, NODE, 20, 1);
	put_hdr(buf + 20, DLM_LC_VERSION_3_1, NODE, 16, 4);
	put_hdr(buf + 36, DLM_LC_VERSION_3_2, NODE, 100, 2);

	/* two whole messages and 50 bytes of a third */
	KUNIT_EXPECT_EQ(test, dlm_lc_frame_scan(buf, 86, NODE, &msgs), 36);
	KUNIT_EXPECT_EQ(test, msgs, 2U);
	KUNIT_EXPECT_EQ(test, dlm_lc_frame_scan(buf, 136, NODE, &msgs), 136);
	KUNIT_EXPECT_EQ(test, msgs, 3U);
	KUNIT_EXPECT_EQ(test, dlm_lc_frame_scan(buf, 10, NODE, &msgs), 0);
	KUNIT_EXPECT_EQ(test, msgs, 0U);
}

static void frame_scan_broken_after_good(struct kunit *test)
{
	char *buf = kunit_kzalloc(test, 64, GFP_KERNEL);
	unsigned int msgs;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	put_hdr(buf, DLM_LC_VERSION_3_1, NODE, 16, 1);
	memset(buf + 16, 0xff, 32);

	/* a good message does not excuse the garbage behind it */
	KUNIT_EXPECT_LT(test, dlm_lc_frame_scan(buf, 48, NODE, &msgs), 0);
}

/* Deterministic garbage must never be taken for a frame past 4096. */
static void frame_check_garbage(struct kunit *test)
{
	char *buf = kunit_kzalloc(test, 64, GFP_KERNEL);
	u32 state = 0x12345678;
	int i, j, ret;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < 20000; i++) {
		for (j = 0; j < 64; j++) {
			state = state * 1103515245 + 12345;
			buf[j] = state >> 16;
		}
		ret = dlm_lc_frame_check(buf, 64, NODE);
		KUNIT_ASSERT_LE(test, ret, 64);
		if (ret > 0)
			KUNIT_ASSERT_GE(test, ret, DLM_LC_HDR_LEN);
	}
}

struct parse_ctx {
	struct dlm_lc_cluster *cl;
	struct dlm_lc_conn *conn;
};

static int parse_init(struct kunit *test)
{
	struct parse_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	ctx->cl = dlm_lc_shim_cluster_create("kunit-parse", &init_net);
	if (IS_ERR(ctx->cl))
		return PTR_ERR(ctx->cl);
	ctx->conn = kunit_kzalloc(test, sizeof(*ctx->conn), GFP_KERNEL);
	if (!ctx->conn)
		return -ENOMEM;
	dlm_lc_conn_init(ctx->conn, ctx->cl, NODE);
	ctx->conn->rx_size = 512;
	ctx->conn->rx_buf = kunit_kzalloc(test, 512, GFP_KERNEL);
	if (!ctx->conn->rx_buf)
		return -ENOMEM;
	test->priv = ctx;
	return 0;
}

static void parse_exit(struct kunit *test)
{
	struct parse_ctx *ctx = test->priv;

	if (!ctx || IS_ERR_OR_NULL(ctx->cl))
		return;
	/* the connection is ours, not in the instance: so is its lane */
	if (ctx->conn)
		dlm_lc_lane_purge(&ctx->conn->lane);
	dlm_lc_cluster_destroy(ctx->cl);
}

static unsigned int process_queued(struct dlm_lc_conn *conn)
{
	struct dlm_lc_cluster *cl = conn->cl;
	struct dlm_lc_rx *rx;
	unsigned int n = 0;

	spin_lock(&cl->process_lock);
	list_for_each_entry(rx, &dlm_lc_lane_of(conn)->list, list)
		n += rx->len;
	spin_unlock(&cl->process_lock);
	return n;
}

static void recv_parse_keeps_leftover(struct kunit *test)
{
	struct parse_ctx *ctx = test->priv;
	struct dlm_lc_conn *conn = ctx->conn;

	/* nothing hands our items over until dlm_lc_process_idle() below */
	put_hdr(conn->rx_buf, DLM_LC_VERSION_3_1, NODE, 32, 1);
	put_hdr(conn->rx_buf + 32, DLM_LC_VERSION_3_1, NODE, 40, 1);
	conn->rx_len = 50;

	KUNIT_ASSERT_EQ(test, dlm_lc_recv_parse(conn), 0);

	KUNIT_EXPECT_EQ(test, conn->rx_len, 18U);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(((struct dlm_lc_hdr *)conn->rx_buf)->length),
			40);
	KUNIT_EXPECT_EQ(test, atomic64_read(&conn->rx_msgs), 1);

	/* the rest arrives: exactly the second message completes */
	conn->rx_len = 40;
	KUNIT_ASSERT_EQ(test, dlm_lc_recv_parse(conn), 0);
	KUNIT_EXPECT_EQ(test, conn->rx_len, 0U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&conn->rx_msgs), 2);
	/* queued until handed over, as a receive worker does going idle */
	KUNIT_EXPECT_EQ(test, process_queued(conn), 72U);
	dlm_lc_process_idle(conn);
	KUNIT_EXPECT_EQ(test, process_queued(conn), 0U);
}

static void recv_parse_rejects_wrong_sender(struct kunit *test)
{
	struct parse_ctx *ctx = test->priv;
	struct dlm_lc_conn *conn = ctx->conn;

	put_hdr(conn->rx_buf, DLM_LC_VERSION_3_1, NODE + 3, 32, 1);
	conn->rx_len = 32;

	KUNIT_EXPECT_EQ(test, dlm_lc_recv_parse(conn), -EBADMSG);
	KUNIT_EXPECT_EQ(test, atomic64_read(&conn->rx_msgs), 0);
}

/* @n messages of 1 KiB from the front of the receive buffer */
static void put_kib_msgs(struct dlm_lc_conn *conn, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		put_hdr(conn->rx_buf + i * SZ_1K, DLM_LC_VERSION_3_1, NODE,
			SZ_1K, 1);
	conn->rx_len = n * SZ_1K;
}

static struct page *first_item_page(struct dlm_lc_conn *conn)
{
	struct dlm_lc_cluster *cl = conn->cl;
	struct dlm_lc_rx *rx;
	struct page *page;

	spin_lock(&cl->process_lock);
	rx = list_first_entry_or_null(&dlm_lc_lane_of(conn)->list,
				      struct dlm_lc_rx, list);
	page = rx ? rx->page : NULL;
	spin_unlock(&cl->process_lock);
	return page;
}

static unsigned int spare_pages(struct dlm_lc_cluster *cl)
{
	unsigned int n;

	spin_lock(&cl->rx_spare_lock);
	n = cl->rx_page_count;
	spin_unlock(&cl->rx_spare_lock);
	return n;
}

static void recv_parse_reuses_item_pages(struct kunit *test)
{
	unsigned int max = max_t(unsigned int, SZ_64K / PAGE_SIZE, 1);
	unsigned int per_page = PAGE_SIZE / SZ_1K, items = max + 2;
	struct parse_ctx *ctx = test->priv;
	struct dlm_lc_conn *conn = ctx->conn;
	struct page *page;

	conn->rx_size = items * PAGE_SIZE;
	conn->rx_buf = kunit_kzalloc(test, conn->rx_size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, conn->rx_buf);

	/* a page of messages is one page item; delivered, the page waits */
	put_kib_msgs(conn, per_page);
	KUNIT_ASSERT_EQ(test, dlm_lc_recv_parse(conn), 0);
	page = first_item_page(conn);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, spare_pages(ctx->cl), 0U);
	dlm_lc_process_idle(conn);
	KUNIT_EXPECT_EQ(test, process_queued(conn), 0U);
	KUNIT_EXPECT_EQ(test, spare_pages(ctx->cl), 1U);

	/* the next page item takes it */
	put_kib_msgs(conn, per_page);
	KUNIT_ASSERT_EQ(test, dlm_lc_recv_parse(conn), 0);
	KUNIT_EXPECT_PTR_EQ(test, first_item_page(conn), page);
	KUNIT_EXPECT_EQ(test, spare_pages(ctx->cl), 0U);
	dlm_lc_process_idle(conn);

	/* more pages delivered at once than the instance keeps */
	put_kib_msgs(conn, items * per_page);
	KUNIT_ASSERT_EQ(test, dlm_lc_recv_parse(conn), 0);
	KUNIT_EXPECT_EQ(test, process_queued(conn), items * PAGE_SIZE);
	dlm_lc_process_idle(conn);
	KUNIT_EXPECT_EQ(test, process_queued(conn), 0U);
	KUNIT_EXPECT_EQ(test, spare_pages(ctx->cl), max);
}

static struct kunit_case framing_cases[] = {
	KUNIT_CASE_PARAM(frame_check_cases, frame_gen_params),
	KUNIT_CASE(frame_scan_multiple_and_leftover),
	KUNIT_CASE(frame_scan_broken_after_good),
	KUNIT_CASE(frame_check_opts_envelope),
	KUNIT_CASE(frame_check_garbage),
	{}
};

static struct kunit_suite framing_suite = {
	.name = "dlm_lc_framing",
	.test_cases = framing_cases,
};

static struct kunit_case parse_cases[] = {
	KUNIT_CASE(recv_parse_keeps_leftover),
	KUNIT_CASE(recv_parse_rejects_wrong_sender),
	KUNIT_CASE(recv_parse_reuses_item_pages),
	{}
};

static struct kunit_suite parse_suite = {
	.name = "dlm_lc_recv_parse",
	.init = parse_init,
	.exit = parse_exit,
	.test_cases = parse_cases,
};

kunit_test_suites(&framing_suite, &parse_suite);
