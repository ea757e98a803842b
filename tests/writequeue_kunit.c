// SPDX-License-Identifier: GPL-2.0-only
/*
 * Write queue: packing messages into pages, when bytes become sendable,
 * and what partial sends leave behind.
 */

#include <kunit/test.h>
#include <linux/bvec.h>
#include <linux/err.h>
#include <linux/mm.h>

#include "writequeue.h"

static int wq_init(struct kunit *test)
{
	struct dlm_lc_wqueue *q = kunit_kzalloc(test, sizeof(*q), GFP_KERNEL);

	if (!q)
		return -ENOMEM;
	dlm_lc_wq_init(q);
	test->priv = q;
	return 0;
}

static void wq_exit(struct kunit *test)
{
	dlm_lc_wq_purge(test->priv);
}

static struct dlm_lc_wq_entry *reserve(struct kunit *test, int len,
				       char **buf)
{
	struct dlm_lc_wq_entry *e;

	e = dlm_lc_wq_reserve(test->priv, len, GFP_KERNEL, NULL, NULL, buf);
	KUNIT_ASSERT_FALSE(test, IS_ERR(e));
	return e;
}

static void commit(struct kunit *test, struct dlm_lc_wq_entry *e)
{
	struct dlm_lc_wqueue *q = test->priv;

	spin_lock_bh(&q->lock);
	dlm_lc_wq_commit_locked(q, e);
	spin_unlock_bh(&q->lock);
}

static unsigned int peek_many(struct kunit *test, struct bio_vec *bv,
			      unsigned int max)
{
	struct dlm_lc_wqueue *q = test->priv;
	unsigned int n;

	spin_lock_bh(&q->lock);
	n = dlm_lc_wq_peek_locked(q, bv, max);
	spin_unlock_bh(&q->lock);
	KUNIT_EXPECT_LE(test, n, max);
	return n;
}

/* one range at a time: the first range of the next bytes to send */
static bool peek(struct kunit *test, unsigned int *off, unsigned int *len)
{
	struct bio_vec bv;

	if (!peek_many(test, &bv, 1))
		return false;
	*off = bv.bv_offset;
	*len = bv.bv_len;
	return true;
}

/* The next bytes to send are [@off, @off + @len). */
static void expect_range(struct kunit *test, unsigned int off,
			 unsigned int len)
{
	unsigned int o, l;

	KUNIT_ASSERT_TRUE(test, peek(test, &o, &l));
	KUNIT_EXPECT_EQ(test, o, off);
	KUNIT_EXPECT_EQ(test, l, len);
}

static void advance(struct kunit *test, unsigned int sent)
{
	struct dlm_lc_wqueue *q = test->priv;

	spin_lock_bh(&q->lock);
	dlm_lc_wq_advance_locked(q, sent);
	spin_unlock_bh(&q->lock);
}

static void wq_packs_into_one_page(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	struct dlm_lc_wq_entry *a, *b;
	char *ba, *bb;

	a = reserve(test, 100, &ba);
	b = reserve(test, 200, &bb);

	KUNIT_EXPECT_PTR_EQ(test, a, b);
	KUNIT_EXPECT_PTR_EQ(test, bb, ba + 100);
	KUNIT_EXPECT_EQ(test, q->pages, 1U);
	KUNIT_EXPECT_EQ(test, q->queued, 300U);
	commit(test, a);
	commit(test, b);
}

static void wq_message_never_crosses_page(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	struct dlm_lc_wq_entry *a, *b;
	char *ba, *bb;

	a = reserve(test, PAGE_SIZE - 10, &ba);
	b = reserve(test, 20, &bb);

	KUNIT_EXPECT_PTR_NE(test, a, b);
	KUNIT_EXPECT_EQ(test, q->pages, 2U);
	KUNIT_EXPECT_EQ(test, offset_in_page(bb), 0UL);
	commit(test, a);
	commit(test, b);
}

static void wq_rejects_bad_lengths(struct kunit *test)
{
	char *buf;

	KUNIT_EXPECT_TRUE(test, IS_ERR(dlm_lc_wq_reserve(test->priv, 0,
							 GFP_KERNEL, NULL,
							 NULL, &buf)));
	KUNIT_EXPECT_TRUE(test, IS_ERR(dlm_lc_wq_reserve(test->priv,
							 PAGE_SIZE + 1,
							 GFP_KERNEL, NULL,
							 NULL, &buf)));
}

static void wq_unfilled_message_blocks_entry(struct kunit *test)
{
	struct dlm_lc_wq_entry *a, *b;
	unsigned int off, len;
	char *buf;

	a = reserve(test, 64, &buf);
	b = reserve(test, 64, &buf);
	commit(test, a);

	/* b is still being filled: nothing of its page may go out */
	KUNIT_EXPECT_FALSE(test, peek(test, &off, &len));
	commit(test, b);
	expect_range(test, 0, 128);
}

static void wq_partial_send_resumes(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	unsigned int off, len;
	char *buf;

	commit(test, reserve(test, 300, &buf));
	KUNIT_ASSERT_TRUE(test, peek(test, &off, &len));
	advance(test, 120);

	expect_range(test, 120, 180);
	KUNIT_EXPECT_EQ(test, q->queued, 180U);
	advance(test, 180);
	KUNIT_EXPECT_FALSE(test, peek(test, &off, &len));
	KUNIT_EXPECT_EQ(test, q->queued, 0U);
}

static void wq_appends_behind_bytes_in_flight(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	struct dlm_lc_wq_entry *a, *b;
	unsigned int off, len;
	char *buf;

	a = reserve(test, 100, &buf);
	commit(test, a);
	KUNIT_ASSERT_TRUE(test, peek(test, &off, &len));

	/* the socket holds [0, 100): a new message goes behind it */
	b = reserve(test, 50, &buf);
	KUNIT_EXPECT_PTR_EQ(test, a, b);
	KUNIT_EXPECT_EQ(test, q->pages, 1U);
	/* not sendable while its writer fills it, even once [0, 100) is sent */
	advance(test, 100);
	KUNIT_EXPECT_FALSE(test, peek(test, &off, &len));
	KUNIT_EXPECT_EQ(test, q->pages, 1U);
	commit(test, b);
	expect_range(test, 100, 50);
	advance(test, 50);
	KUNIT_EXPECT_EQ(test, q->queued, 0U);
}

static void wq_sent_tail_reopens(struct kunit *test)
{
	struct dlm_lc_wq_entry *a, *b;
	unsigned int off, len;
	char *buf;

	a = reserve(test, 100, &buf);
	commit(test, a);
	KUNIT_ASSERT_TRUE(test, peek(test, &off, &len));
	advance(test, 100);

	b = reserve(test, 50, &buf);
	KUNIT_EXPECT_PTR_EQ(test, a, b);
	commit(test, b);
	expect_range(test, 100, 50);
}

static void wq_drop_half_sent_only(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	unsigned int off, len, dropped;
	char *buf;

	commit(test, reserve(test, 200, &buf));
	KUNIT_ASSERT_TRUE(test, peek(test, &off, &len));
	spin_lock_bh(&q->lock);
	KUNIT_EXPECT_EQ(test, dlm_lc_wq_drop_partial_locked(q), 0U);
	spin_unlock_bh(&q->lock);

	advance(test, 50);
	spin_lock_bh(&q->lock);
	dropped = dlm_lc_wq_drop_partial_locked(q);
	spin_unlock_bh(&q->lock);

	KUNIT_EXPECT_EQ(test, dropped, 150U);
	KUNIT_EXPECT_EQ(test, q->queued, 0U);
	/* a tail with room stays, for the next messages */
	KUNIT_EXPECT_EQ(test, q->pages, 1U);
	KUNIT_EXPECT_FALSE(test, peek(test, &off, &len));
}

/*
 * A message appended while the socket had [0, 200) is whole and was not
 * given to it: a lost socket drops only the rest of what it was given.
 */
static void wq_drop_keeps_appended(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	unsigned int off, len, dropped;
	char *buf;

	commit(test, reserve(test, 200, &buf));
	KUNIT_ASSERT_TRUE(test, peek(test, &off, &len));
	commit(test, reserve(test, 100, &buf));
	advance(test, 50);
	spin_lock_bh(&q->lock);
	KUNIT_EXPECT_FALSE(test, dlm_lc_wq_at_boundary_locked(q));
	dropped = dlm_lc_wq_drop_partial_locked(q);
	KUNIT_EXPECT_TRUE(test, dlm_lc_wq_at_boundary_locked(q));
	spin_unlock_bh(&q->lock);

	KUNIT_EXPECT_EQ(test, dropped, 150U);
	KUNIT_EXPECT_EQ(test, q->queued, 100U);
	expect_range(test, 200, 100);
	advance(test, 100);
	KUNIT_EXPECT_EQ(test, q->queued, 0U);
}

/*
 * The rest of a range the socket took part of goes before anything else,
 * even while a writer fills the page behind it, and a new look does not
 * stretch the range over bytes appended since.
 */
static void wq_half_sent_goes_first(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	struct dlm_lc_wq_entry *e;
	unsigned int off, len, dropped;
	char *buf;

	commit(test, reserve(test, 200, &buf));
	KUNIT_ASSERT_TRUE(test, peek(test, &off, &len));
	advance(test, 50);

	/* a writer behind it holds the page: the rest still goes */
	e = reserve(test, 100, &buf);
	expect_range(test, 50, 150);
	commit(test, e);

	/* committed now, but not part of the range: not given yet */
	expect_range(test, 50, 150);

	/* the socket goes: only its range's rest is dropped */
	spin_lock_bh(&q->lock);
	dropped = dlm_lc_wq_drop_partial_locked(q);
	spin_unlock_bh(&q->lock);
	KUNIT_EXPECT_EQ(test, dropped, 150U);
	KUNIT_EXPECT_EQ(test, q->queued, 100U);
	expect_range(test, 200, 100);
}

/* Fill @n pages with one committed message of @len each. */
static void fill_pages(struct kunit *test, struct dlm_lc_wq_entry **e,
		       int n, int len)
{
	char *buf;
	int i;

	for (i = 0; i < n; i++) {
		e[i] = reserve(test, len, &buf);
		commit(test, e[i]);
	}
}

/* @e's page is the only one, @len bytes from its start: send all of it. */
static void send_last_page(struct kunit *test, struct dlm_lc_wq_entry *e,
			   unsigned int len)
{
	struct dlm_lc_wqueue *q = test->priv;
	struct bio_vec bv[2];

	KUNIT_ASSERT_EQ(test, q->pages, 1U);
	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 2), 1U);
	KUNIT_EXPECT_PTR_EQ(test, bv[0].bv_page, e->page);
	KUNIT_EXPECT_EQ(test, bv[0].bv_offset, 0U);
	KUNIT_EXPECT_EQ(test, bv[0].bv_len, len);
	advance(test, len);
	KUNIT_EXPECT_EQ(test, q->queued, 0U);
}

/*
 * Consecutive entries go to the socket together, each from where it
 * was sent to, up to the number asked for; the page order is the
 * stream's.
 */
static void wq_gathers_pages(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	struct dlm_lc_wq_entry *e[3];
	struct bio_vec bv[4];
	int len = PAGE_SIZE - 8;

	fill_pages(test, e, 3, len);
	KUNIT_ASSERT_EQ(test, q->pages, 3U);
	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 2), 2U);
	KUNIT_EXPECT_PTR_EQ(test, bv[0].bv_page, e[0]->page);
	KUNIT_EXPECT_PTR_EQ(test, bv[1].bv_page, e[1]->page);
	KUNIT_EXPECT_EQ(test, bv[1].bv_offset, 0U);
	KUNIT_EXPECT_EQ(test, bv[1].bv_len, (unsigned int)len);

	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 4), 3U);
	KUNIT_EXPECT_PTR_EQ(test, bv[0].bv_page, e[0]->page);
	KUNIT_EXPECT_EQ(test, bv[0].bv_offset, 0U);
	KUNIT_EXPECT_EQ(test, bv[0].bv_len, (unsigned int)len);
	KUNIT_EXPECT_PTR_EQ(test, bv[2].bv_page, e[2]->page);
	KUNIT_EXPECT_EQ(test, bv[2].bv_offset, 0U);
	KUNIT_EXPECT_EQ(test, bv[2].bv_len, (unsigned int)len);
	advance(test, 3 * len);
	KUNIT_EXPECT_EQ(test, q->queued, 0U);
	/* the sent full pages are freed; the tail keeps taking messages */
	KUNIT_EXPECT_EQ(test, q->pages, 1U);
	KUNIT_EXPECT_EQ(test, peek_many(test, bv, 4), 0U);
}

/*
 * @n pages of @len bytes (more than half a page, so one message each) go
 * to the socket in one batch (n <= 4), which takes @sent bytes of it,
 * less than all: the pages it took whole are freed (a fully sent tail
 * with room would stay, so callers keep @sent below n * len).
 */
static void cut_batch(struct kunit *test, struct dlm_lc_wq_entry **e,
		      unsigned int n, unsigned int len, unsigned int sent)
{
	struct dlm_lc_wqueue *q = test->priv;
	struct bio_vec bv[4];

	KUNIT_ASSERT_LE(test, n, 4U);
	KUNIT_ASSERT_GT(test, 2 * len, (unsigned int)PAGE_SIZE);
	KUNIT_ASSERT_LT(test, sent, n * len);
	fill_pages(test, e, n, len);
	KUNIT_ASSERT_EQ(test, peek_many(test, bv, n), n);
	advance(test, sent);
	KUNIT_EXPECT_EQ(test, q->pages, n - sent / len);
	KUNIT_EXPECT_EQ(test, q->queued, n * len - sent);
}

/*
 * The socket takes part of a gathered batch: the page it stopped in is
 * half sent and goes first, the pages it took nothing of are given
 * again whole, and fully taken pages are gone.
 */
static void wq_partial_batch_resumes(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	unsigned int len = PAGE_SIZE - 8;
	struct dlm_lc_wq_entry *e[3];
	struct bio_vec bv[3];
	unsigned int dropped;

	cut_batch(test, e, 3, len, len + 100);

	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 3), 2U);
	KUNIT_EXPECT_PTR_EQ(test, bv[0].bv_page, e[1]->page);
	KUNIT_EXPECT_EQ(test, bv[0].bv_offset, 100U);
	KUNIT_EXPECT_EQ(test, bv[0].bv_len, (unsigned int)(len - 100));
	KUNIT_EXPECT_PTR_EQ(test, bv[1].bv_page, e[2]->page);
	KUNIT_EXPECT_EQ(test, bv[1].bv_offset, 0U);

	/* the socket took exactly the half page: the next is not half sent */
	advance(test, len - 100);
	spin_lock_bh(&q->lock);
	KUNIT_EXPECT_TRUE(test, dlm_lc_wq_at_boundary_locked(q));
	dropped = dlm_lc_wq_drop_partial_locked(q);
	spin_unlock_bh(&q->lock);
	KUNIT_EXPECT_EQ(test, dropped, 0U);
	KUNIT_EXPECT_EQ(test, q->queued, (unsigned int)len);
	send_last_page(test, e[2], len);
}

/*
 * A batch ends after a half sent range with bytes appended behind it
 * (those come before the next page), and before a page a writer still
 * fills, even with a committed page behind that one.
 */
static void wq_batch_stops_at_gaps(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	struct dlm_lc_wq_entry *c, *w, *z;
	struct bio_vec bv[4];
	char *buf;

	commit(test, reserve(test, 100, &buf));
	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 4), 1U);
	advance(test, 50);

	/* behind the half sent range, then a page of its own */
	commit(test, reserve(test, 200, &buf));
	c = reserve(test, PAGE_SIZE - 8, &buf);
	commit(test, c);
	KUNIT_ASSERT_EQ(test, q->pages, 2U);
	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 4), 1U);
	KUNIT_EXPECT_EQ(test, bv[0].bv_offset, 50U);
	KUNIT_EXPECT_EQ(test, bv[0].bv_len, 50U);
	advance(test, 50);

	/* then the appended bytes and the next page, not a page in filling */
	w = reserve(test, PAGE_SIZE - 8, &buf);
	z = reserve(test, PAGE_SIZE - 8, &buf);
	commit(test, z);
	KUNIT_ASSERT_EQ(test, q->pages, 4U);
	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 4), 2U);
	KUNIT_EXPECT_EQ(test, bv[0].bv_offset, 100U);
	KUNIT_EXPECT_EQ(test, bv[0].bv_len, 200U);
	KUNIT_EXPECT_PTR_EQ(test, bv[1].bv_page, c->page);
	advance(test, 200 + PAGE_SIZE - 8);
	KUNIT_EXPECT_EQ(test, q->pages, 2U);
	KUNIT_EXPECT_EQ(test, peek_many(test, bv, 4), 0U);

	/* the writer is done: its page and the one behind go together */
	commit(test, w);
	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 4), 2U);
	KUNIT_EXPECT_PTR_EQ(test, bv[0].bv_page, w->page);
	KUNIT_EXPECT_PTR_EQ(test, bv[1].bv_page, z->page);
	advance(test, PAGE_SIZE - 8);
	send_last_page(test, z, PAGE_SIZE - 8);
}

/*
 * The socket stops inside the third range of a batch and is then lost:
 * only the rest of that range is dropped, and the next stream starts
 * with the page behind it, whole.
 */
static void wq_batch_drop_in_third_range(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	unsigned int len = PAGE_SIZE - 8;
	struct dlm_lc_wq_entry *e[4];
	unsigned int dropped;

	cut_batch(test, e, 4, len, 2 * len + 10);
	spin_lock_bh(&q->lock);
	KUNIT_EXPECT_FALSE(test, dlm_lc_wq_at_boundary_locked(q));
	dropped = dlm_lc_wq_drop_partial_locked(q);
	spin_unlock_bh(&q->lock);
	KUNIT_EXPECT_EQ(test, dropped, (unsigned int)(len - 10));
	KUNIT_EXPECT_EQ(test, q->queued, (unsigned int)len);
	send_last_page(test, e[3], len);
}

/*
 * A batch the socket refused (-EAGAIN), then a smaller one: pages given
 * the first time only are not taken as sent by the next advance.
 */
static void wq_smaller_batch_after_refusal(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	struct dlm_lc_wq_entry *e[3];
	int len = PAGE_SIZE - 8;
	struct bio_vec bv[3];

	fill_pages(test, e, 3, len);
	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 3), 3U);
	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 1), 1U);
	advance(test, len);
	KUNIT_EXPECT_EQ(test, q->queued, (unsigned int)(2 * len));
	/* no page given only the first time counts as half sent */
	spin_lock_bh(&q->lock);
	KUNIT_EXPECT_TRUE(test, dlm_lc_wq_at_boundary_locked(q));
	KUNIT_EXPECT_EQ(test, dlm_lc_wq_drop_partial_locked(q), 0U);
	spin_unlock_bh(&q->lock);

	KUNIT_ASSERT_EQ(test, peek_many(test, bv, 3), 2U);
	KUNIT_EXPECT_PTR_EQ(test, bv[0].bv_page, e[1]->page);
	KUNIT_EXPECT_EQ(test, bv[0].bv_offset, 0U);
	KUNIT_EXPECT_EQ(test, bv[0].bv_len, (unsigned int)len);
	KUNIT_EXPECT_PTR_EQ(test, bv[1].bv_page, e[2]->page);
	advance(test, 2 * len);
	KUNIT_EXPECT_EQ(test, q->queued, 0U);
}

static void count_cb(char *buf, int len, void *data)
{
	int *n = data;

	/* number messages in buffer order, as a sequence layer would */
	buf[0] = (char)(*n)++;
}

/*
 * A stopped instance's queue is dropped whole: a page a writer still
 * fills stays allocated, but neither the messages committed to it before
 * nor the writer's own go out after the next start.
 */
static void wq_discard_skips_held_pages_bytes(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	struct dlm_lc_wq_entry *held;
	unsigned int off, len, dropped;
	char *buf;

	commit(test, reserve(test, PAGE_SIZE - 96, &buf));
	commit(test, reserve(test, 100, &buf));
	held = reserve(test, 50, &buf);
	KUNIT_EXPECT_EQ(test, q->pages, 2U);
	/* the socket was given the first page, then went */
	expect_range(test, 0, PAGE_SIZE - 96);

	spin_lock_bh(&q->lock);
	dropped = dlm_lc_wq_discard_locked(q);
	spin_unlock_bh(&q->lock);
	KUNIT_EXPECT_EQ(test, dropped, PAGE_SIZE - 96 + 150);
	KUNIT_EXPECT_EQ(test, q->queued, 0U);
	KUNIT_EXPECT_EQ(test, q->pages, 1U);

	commit(test, held);
	KUNIT_EXPECT_FALSE(test, peek(test, &off, &len));
	/* the page keeps taking messages, sent from where the drop left it */
	commit(test, reserve(test, 60, &buf));
	expect_range(test, 150, 60);
}

static void wq_callback_runs_in_order(struct kunit *test)
{
	struct dlm_lc_wq_entry *e[3];
	char *buf[3];
	int i, n = 0;

	for (i = 0; i < 3; i++) {
		e[i] = dlm_lc_wq_reserve(test->priv, 32, GFP_KERNEL, count_cb,
					 &n, &buf[i]);
		KUNIT_ASSERT_FALSE(test, IS_ERR(e[i]));
	}
	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_EQ(test, buf[i][0], (char)i);
		commit(test, e[i]);
	}
}

static void wq_purge_counts(struct kunit *test)
{
	struct dlm_lc_wqueue *q = test->priv;
	char *buf;
	int i;

	for (i = 0; i < 5; i++)
		commit(test, reserve(test, 1000, &buf));
	KUNIT_EXPECT_EQ(test, q->pages, 2U);
	KUNIT_EXPECT_EQ(test, dlm_lc_wq_purge(q), 5000U);
	KUNIT_EXPECT_EQ(test, q->pages, 0U);
}

/*
 * Issue 7.4n: what a caller leaves unwritten in its message (padding) goes
 * on the wire: the page must come zeroed, never with an earlier user's
 * bytes. Pages just freed with a pattern are the likely next ones handed out.
 */
static void wq_pages_are_zeroed(struct kunit *test)
{
	struct dlm_lc_wq_entry *e;
	struct page *pages[16];
	char *buf;
	int i;

	/* with init_on_alloc/free every page comes zeroed: nothing to show */
	if (want_init_on_alloc(GFP_KERNEL) || want_init_on_free())
		kunit_skip(test, "init_on_alloc or init_on_free is on");
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (pages[i])
			memset(page_address(pages[i]), 0xa5, PAGE_SIZE);
	}
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		if (pages[i])
			__free_page(pages[i]);
	for (i = 0; i < 4; i++) {
		/* one page each: a message never crosses a page */
		e = reserve(test, 4000, &buf);
		KUNIT_EXPECT_NULL(test, memchr_inv(buf, 0, 4000));
		commit(test, e);
	}
}

static struct kunit_case wq_cases[] = {
	KUNIT_CASE(wq_packs_into_one_page),
	KUNIT_CASE(wq_message_never_crosses_page),
	KUNIT_CASE(wq_rejects_bad_lengths),
	KUNIT_CASE(wq_unfilled_message_blocks_entry),
	KUNIT_CASE(wq_partial_send_resumes),
	KUNIT_CASE(wq_appends_behind_bytes_in_flight),
	KUNIT_CASE(wq_sent_tail_reopens),
	KUNIT_CASE(wq_drop_half_sent_only),
	KUNIT_CASE(wq_drop_keeps_appended),
	KUNIT_CASE(wq_half_sent_goes_first),
	KUNIT_CASE(wq_gathers_pages),
	KUNIT_CASE(wq_partial_batch_resumes),
	KUNIT_CASE(wq_batch_stops_at_gaps),
	KUNIT_CASE(wq_batch_drop_in_third_range),
	KUNIT_CASE(wq_smaller_batch_after_refusal),
	KUNIT_CASE(wq_discard_skips_held_pages_bytes),
	KUNIT_CASE(wq_callback_runs_in_order),
	KUNIT_CASE(wq_purge_counts),
	KUNIT_CASE(wq_pages_are_zeroed),
	{}
};

static struct kunit_suite wq_suite = {
	.name = "dlm_lc_writequeue",
	.init = wq_init,
	.exit = wq_exit,
	.test_cases = wq_cases,
};

kunit_test_suites(&wq_suite);
