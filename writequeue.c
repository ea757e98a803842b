// SPDX-License-Identifier: GPL-2.0-only
/*
 * Page-backed write queue (see writequeue.h for the rules).
 */

#include <linux/bvec.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "writequeue.h"

void dlm_lc_wq_init(struct dlm_lc_wqueue *q)
{
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->entries);
	q->queued = 0;
	q->queued_max = 0;
	q->pages = 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_wq_init);

static struct dlm_lc_wq_entry *entry_alloc(gfp_t gfp)
{
	struct dlm_lc_wq_entry *e;

	e = kzalloc(sizeof(*e), gfp);
	if (!e)
		return NULL;

	/*
	 * Spliced into skbs, so it must be a real page, never slab; zeroed,
	 * so that padding a writer leaves unset carries no kernel memory.
	 */
	e->page = alloc_page(gfp | __GFP_ZERO);
	if (!e->page) {
		kfree(e);
		return NULL;
	}
	return e;
}

static void entry_free(struct dlm_lc_wq_entry *e)
{
	/* The socket holds its own page references for bytes in flight. */
	__free_page(e->page);
	kfree(e);
}

static void entry_del(struct dlm_lc_wqueue *q, struct dlm_lc_wq_entry *e)
{
	lockdep_assert_held(&q->lock);
	list_del(&e->list);
	q->pages--;
	entry_free(e);
}

/*
 * Nothing of @e is with the socket any more: free it once it holds no
 * unsent bytes and can take no more messages (full, or not the tail).
 */
static void entry_done(struct dlm_lc_wqueue *q, struct dlm_lc_wq_entry *e)
{
	lockdep_assert_held(&q->lock);
	if (e->offset < e->end || e->users)
		return;
	if (e->end < PAGE_SIZE && list_is_last(&e->list, &q->entries))
		return;
	entry_del(q, e);
}

static struct dlm_lc_wq_entry *tail_with_room(struct dlm_lc_wqueue *q,
					      int len)
{
	struct dlm_lc_wq_entry *e;

	lockdep_assert_held(&q->lock);
	if (list_empty(&q->entries))
		return NULL;
	e = list_last_entry(&q->entries, struct dlm_lc_wq_entry, list);
	/* behind bytes being sent is fine: those are never written again */
	if (PAGE_SIZE - e->end < len)
		return NULL;
	return e;
}

struct dlm_lc_wq_entry *dlm_lc_wq_reserve(struct dlm_lc_wqueue *q, int len,
					  gfp_t gfp, dlm_lc_wq_cb cb,
					  void *cb_data, char **buf)
{
	struct dlm_lc_wq_entry *e, *spare = NULL;

	if (len <= 0 || len > PAGE_SIZE)
		return ERR_PTR(-EINVAL);

	for (;;) {
		spin_lock_bh(&q->lock);
		e = tail_with_room(q, len);
		if (e)
			break;
		if (spare) {
			list_add_tail(&spare->list, &q->entries);
			q->pages++;
			e = spare;
			spare = NULL;
			break;
		}
		spin_unlock_bh(&q->lock);

		/* Allocate outside the lock, then look again: we may race. */
		spare = entry_alloc(gfp);
		if (!spare)
			return ERR_PTR(-ENOMEM);
	}

	*buf = page_address(e->page) + e->end;
	e->end += len;
	e->users++;
	q->queued += len;
	q->queued_max = max(q->queued_max, q->queued);
	/* Under the lock, so callers can number messages in buffer order. */
	if (cb)
		cb(*buf, len, cb_data);
	spin_unlock_bh(&q->lock);

	if (spare)
		entry_free(spare);
	return e;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_wq_reserve);

/* Returns true when the entry became sendable. */
bool dlm_lc_wq_commit_locked(struct dlm_lc_wqueue *q,
			     struct dlm_lc_wq_entry *e)
{
	lockdep_assert_held(&q->lock);
	if (WARN_ON_ONCE(e->users <= 0))
		return false;
	e->users--;
	return e->users == 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_wq_commit_locked);

/*
 * Find the next bytes to send, up to @max ranges of consecutive entries
 * in @bv; returns how many. The rest of a range the socket took part of
 * goes first, whatever writers do behind it (it ends on a message
 * boundary, and a new range would move that end over bytes the socket
 * never had). Else everything in an entry, once no writer is filling it.
 * The stream goes on in the next entry only after the whole of this one.
 * Fully sent entries are freed on the way, except a tail with room, which
 * keeps taking messages.
 */
unsigned int dlm_lc_wq_peek_locked(struct dlm_lc_wqueue *q,
				   struct bio_vec *bv, unsigned int max)
{
	struct dlm_lc_wq_entry *e, *tmp;
	unsigned int n = 0;

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(e, tmp, &q->entries, list) {
		if (n == max)
			break;
		if (!e->half) {
			if (e->users)
				break;
			if (e->offset == e->end) {
				if (list_is_last(&e->list, &q->entries) &&
				    e->end < PAGE_SIZE)
					break;
				entry_del(q, e);
				continue;
			}
			e->sending_end = e->end;
		}
		e->sending = true;
		bvec_set_page(&bv[n++], e->page, e->sending_end - e->offset,
			      e->offset);
		if (e->sending_end != e->end)
			break;
	}
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_wq_peek_locked);

/*
 * The socket took @sent bytes of what the last peek gave it, in order.
 * An entry it took part of is half sent and goes first next time; those
 * it took nothing of are peeked again from scratch.
 */
void dlm_lc_wq_advance_locked(struct dlm_lc_wqueue *q, unsigned int sent)
{
	struct dlm_lc_wq_entry *e, *tmp;
	unsigned int n;

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(e, tmp, &q->entries, list) {
		if (!e->sending)
			break;
		n = min(sent, e->sending_end - e->offset);
		sent -= n;
		e->offset += n;
		q->queued -= n;
		/*
		 * Half sent: the socket took part of this range. One it took
		 * nothing of is not (only the first can be half, and @sent
		 * reaches it first).
		 */
		if (e->half || n) {
			e->half = e->offset < e->sending_end;
			if (e->half)
				continue;
		}
		e->sending = false;
		if (e->offset == e->sending_end)
			entry_done(q, e);
	}
	WARN_ON_ONCE(sent);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_wq_advance_locked);

/*
 * After the socket it was sent on is gone, the rest of what it was given
 * would start the new stream in the middle of a message: drop that
 * range. What writers appended behind it starts the next stream.
 */
unsigned int dlm_lc_wq_drop_partial_locked(struct dlm_lc_wqueue *q)
{
	struct dlm_lc_wq_entry *e;
	unsigned int dropped;

	lockdep_assert_held(&q->lock);
	e = list_first_entry_or_null(&q->entries, struct dlm_lc_wq_entry,
				     list);
	if (!e || !e->half)
		return 0;

	dropped = e->sending_end - e->offset;
	e->offset = e->sending_end;
	e->half = false;
	e->sending = false;
	q->queued -= dropped;
	entry_done(q, e);
	return dropped;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_wq_drop_partial_locked);

/*
 * Drop everything queued: what a stopped instance must not send after its
 * next start. The socket is gone and the send worker stopped. A page a
 * writer still fills stays, every byte on it skipped (the writer's and
 * those committed before), and goes like a sent page once it has
 * committed (a tail with room keeps taking messages). Returns the bytes
 * dropped.
 */
unsigned int dlm_lc_wq_discard_locked(struct dlm_lc_wqueue *q)
{
	struct dlm_lc_wq_entry *e, *tmp;
	unsigned int dropped = 0;

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(e, tmp, &q->entries, list) {
		dropped += e->end - e->offset;
		if (!e->users) {
			entry_del(q, e);
			continue;
		}
		e->offset = e->end;
		e->half = false;
		e->sending = false;
	}
	q->queued -= dropped;
	return dropped;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_wq_discard_locked);

/* Free everything; the caller guarantees no writer holds an entry. */
unsigned int dlm_lc_wq_purge(struct dlm_lc_wqueue *q)
{
	struct dlm_lc_wq_entry *e, *tmp;
	unsigned int dropped;

	spin_lock_bh(&q->lock);
	dropped = q->queued;
	list_for_each_entry_safe(e, tmp, &q->entries, list) {
		WARN_ON_ONCE(e->users);
		entry_del(q, e);
	}
	q->queued = 0;
	spin_unlock_bh(&q->lock);
	return dropped;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_wq_purge);

/* The socket has no part of a message: a control message may go now. */
bool dlm_lc_wq_at_boundary_locked(struct dlm_lc_wqueue *q)
{
	struct dlm_lc_wq_entry *e;

	lockdep_assert_held(&q->lock);
	e = list_first_entry_or_null(&q->entries, struct dlm_lc_wq_entry,
				     list);
	return !e || !e->half;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_wq_at_boundary_locked);

bool dlm_lc_wq_empty_locked(struct dlm_lc_wqueue *q)
{
	lockdep_assert_held(&q->lock);
	return q->queued == 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_wq_empty_locked);
