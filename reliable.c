// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reliable delivery (DLM 3.2) for one peer: sequence numbers, cumulative
 * ACKs, messages kept for resending, duplicate and gap detection, FIN.
 *
 * Sequence spaces: each side numbers its messages under a random space id
 * (carried in the OPTS pad word) and never renumbers: numbers only grow,
 * except that at the start after a stop whose FIN exchange went through
 * both ways, both ends start again from 0 (ours in a new space), as
 * stock's node reset does.
 * A receiver that sees a new space id starts over at the number it
 * carries: the sender's state was reset (node removed and added again,
 * module reloaded), so nothing before that number can still arrive. A
 * peer that falls back to 3.1 makes us open a new space, at the number
 * we are at, so a later return to 3.2 leaves no gap.
 *
 * Why no stale ACK frees a kept message the peer has not delivered. An ACK
 * names the receiver's next expected number; we accept one only if it lies
 * between what was already acknowledged and our next number, so within one
 * space a late ACK frees nothing new and one from the future is refused.
 * Across spaces the receiver's discipline does the rest: our receive side
 * builds an ACK only when the send worker writes it (one pending per
 * socket, never queued behind data), and only on the socket that carried
 * the last OPTS it took its position from (rx_gen). Both ends of one TCP
 * connection belong to one life of each node, and a life keeps one space
 * per peer (a new space comes only with new sockets, or after a 3.1
 * fallback, which continues the numbers). So the position in an ACK we
 * read on a socket is the peer's position in the space that this socket's
 * life of ours sends: it can free only what the peer has delivered. A
 * stock peer keeps no space ids; its sequence state is reset with cluster
 * membership, as ours is when a node is removed, and after a FIN
 * exchange, as ours is then (at our start: the old sockets are gone, so
 * no old-space ACK is under way; but if our ACK of its FIN was built and
 * then lost with its socket, its later answers to our new messages are
 * old-space ACKs, refused only while fewer messages are out). Its ACKs
 * pass the same window check. The pad byte is not used (stock leaves
 * it 0).
 *
 * Why a gap cannot stay open: a receiver acknowledges only what it has
 * delivered, so the oldest unacked message is never after its next
 * expected number; after a reconnect the send worker first sends every
 * unacked message from the oldest on, then the write queue, whose
 * messages follow in sequence order. A message dropped for arriving ahead
 * of a gap therefore comes again behind the kept message that fills the
 * gap.
 */

#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <kunit/visibility.h>

#include "compat.h"
#include "midcomms_shim.h"
#include "reliable.h"

/*
 * A kept message is not copied: it pins the write-queue page its wire
 * image was written to (the transport never writes a committed message
 * again) and is read from there if it must be sent again.
 *
 * What the backlog bound counts is the memory this holds: each
 * descriptor, and each pinned page. Numbers follow buffer order, so the
 * kept messages on one page are neighbours on the unacked list; the
 * oldest of them carries the page's charge, and hands it to the next one
 * when it goes first. (Where they are not neighbours, after a stopped
 * instance's queue dropped a newer page, or next to an orphan that keeps
 * its own charge, a page is charged twice for a while: too much. Too
 * little only while a 3.1 fallback orphans two writers of one page and
 * the one with the charge commits first; the queue still holds the page
 * then.) A writer reserves a descriptor and its length before it may
 * wait; the numbering turns the length into a page, or into nothing when
 * the page is charged already. So the bound may be passed by less than a
 * page per writer between those two steps.
 */
struct dlm_lc_rel_msg {
	struct list_head list;
	struct page *page;	/* pinned once numbered; NULL: nothing pinned */
	unsigned int offset;	/* of the wire image in @page */
	unsigned int len;	/* wire bytes, OPTS included */
	u32 seq;
	u32 sid;		/* the sequence space @seq is in */
	bool filled;		/* committed: @page holds the wire image */
	bool orphan;		/* not kept: freed by its commit */
	bool page_charged;	/* @mem includes @page */
	unsigned int mem;	/* charged to the backlog */
};

static bool seq_before(u32 a, u32 b)
{
	return (s32)(a - b) < 0;
}

static unsigned int msg_meta_mem(void)
{
	return kmalloc_size_roundup(sizeof(struct dlm_lc_rel_msg));
}

static void msg_free(struct dlm_lc_rel_msg *m)
{
	if (m->page)
		put_page(m->page);
	kfree(m);
}

static void ack_work_fn(struct work_struct *work);
static void probe_work_fn(struct work_struct *work);
static void copy_unlink_locked(struct dlm_lc_rel *r, struct dlm_lc_rel_msg *m,
			       struct list_head *done);

void dlm_lc_rel_init(struct dlm_lc_rel *r, struct dlm_lc_cluster *cl,
		     int nodeid)
{
	memset(r, 0, sizeof(*r));
	r->cl = cl;
	r->nodeid = nodeid;
	spin_lock_init(&r->lock);
	init_waitqueue_head(&r->wait);
	INIT_DELAYED_WORK(&r->ack_work, ack_work_fn);
	INIT_DELAYED_WORK(&r->probe_work, probe_work_fn);
	INIT_LIST_HEAD(&r->unacked);
	r->tx_sid = get_random_u32() | 1;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_init);

/* The node's state is going away; nobody else holds a reference. */
void dlm_lc_rel_release(struct dlm_lc_rel *r)
{
	struct dlm_lc_rel_msg *m, *tmp;
	LIST_HEAD(done);

	might_sleep();
	spin_lock_bh(&r->lock);
	r->dead = true;
	spin_unlock_bh(&r->lock);
	cancel_delayed_work_sync(&r->ack_work);
	cancel_delayed_work_sync(&r->probe_work);

	spin_lock_bh(&r->lock);
	list_for_each_entry_safe(m, tmp, &r->unacked, list) {
		r->st.abandoned++;
		copy_unlink_locked(r, m, &done);
	}
	/* no writer is left, so every charge has come back */
	WARN_ON_ONCE(r->reserved || r->st.unacked_bytes);
	spin_unlock_bh(&r->lock);
	list_for_each_entry_safe(m, tmp, &done, list)
		msg_free(m);
	if (r->st.abandoned)
		pr_info("node %d: %llu unacknowledged messages dropped with the node\n",
			r->nodeid, r->st.abandoned);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_release);

/*
 * Take a kept message off the unacked list onto @done, to be freed after
 * unlock. Its page's charge stays with the list while a later message
 * still pins that page.
 */
static void copy_unlink_locked(struct dlm_lc_rel *r, struct dlm_lc_rel_msg *m,
			       struct list_head *done)
{
	struct dlm_lc_rel_msg *next;

	lockdep_assert_held(&r->lock);
	next = list_is_last(&m->list, &r->unacked) ? NULL :
	       list_next_entry(m, list);
	if (m->page_charged && next && next->page == m->page) {
		m->page_charged = false;
		m->mem -= PAGE_SIZE;
		next->page_charged = true;
		next->mem += PAGE_SIZE;
	}
	list_move_tail(&m->list, done);
	if (r->resend_pos == m)
		r->resend_pos = NULL;
	r->reserved -= m->mem;
	r->st.unacked_msgs--;
	r->st.unacked_bytes -= m->mem;
}

/*
 * Nobody will acknowledge our kept messages any more: free the filled
 * ones and let the commit of each one still being written free it. The
 * numbers go on in a new space, so that a return to 3.2 leaves no gap.
 */
static void unacked_drop_locked(struct dlm_lc_rel *r, struct list_head *done)
{
	struct dlm_lc_rel_msg *m, *tmp;

	lockdep_assert_held(&r->lock);
	list_for_each_entry_safe(m, tmp, &r->unacked, list) {
		r->st.abandoned++;
		if (m->filled) {
			copy_unlink_locked(r, m, done);
			continue;
		}
		/* the writer's commit frees it and gives back its reservation */
		list_del_init(&m->list);
		m->orphan = true;
		if (r->resend_pos == m)
			r->resend_pos = NULL;
		r->st.unacked_msgs--;
		r->st.unacked_bytes -= m->mem;
	}
	r->tx_sid = get_random_u32() | 1;
	r->st.tx_acked = r->st.tx_next;
}

/* Our FIN of this stop is acknowledged. */
static bool our_fin_acked_locked(struct dlm_lc_rel *r)
{
	lockdep_assert_held(&r->lock);
	return r->fin_numbered && seq_before(r->fin_seq, r->st.tx_acked);
}

/*
 * The peer's FIN (in this stop, or its last word before it) is taken and
 * our ACK of it was built while the socket was up (the drain writes it).
 */
static bool peer_fin_acked_locked(struct dlm_lc_rel *r)
{
	lockdep_assert_held(&r->lock);
	return r->st.peer_closed && r->rx_synced &&
	       r->rx_acked == r->st.rx_next;
}

/*
 * Both FINs went through, with nothing of ours numbered after our FIN. A
 * stock peer then started its numbers again both ways (its node reset:
 * from 0, no space id); so do we, at the start, once the old sockets are
 * gone.
 */
static bool fin_done_locked(struct dlm_lc_rel *r)
{
	return our_fin_acked_locked(r) && list_empty(&r->unacked) &&
	       peer_fin_acked_locked(r);
}

/* A new space of ours from 0; the peer's next message opens its next. */
static void fin_reset_locked(struct dlm_lc_rel *r)
{
	lockdep_assert_held(&r->lock);
	r->tx_sid = get_random_u32() | 1;
	r->st.tx_next = 0;
	r->st.tx_acked = 0;
	r->rx_synced = false;
	/*
	 * A stock peer (space id 0) numbers from 0 after its reset; a FIN of
	 * its old space sent again (our ACK of it lost) must not become our
	 * starting point: its new messages would then look like duplicates.
	 */
	r->rx_from_zero = true;
	r->st.fin_resets++;
}

void dlm_lc_rel_seen_version(struct dlm_lc_rel *r, u32 version)
{
	struct dlm_lc_rel_msg *m, *tmp;
	LIST_HEAD(done);
	bool changed;

	if (READ_ONCE(r->st.version) == version)
		return;
	spin_lock_bh(&r->lock);
	changed = r->st.version != version;
	r->st.version = version;
	/* the peer went back to 3.1: it will never ACK our kept messages */
	if (changed && version < DLM_LC_VERSION_3_2)
		unacked_drop_locked(r, &done);
	spin_unlock_bh(&r->lock);
	list_for_each_entry_safe(m, tmp, &done, list)
		msg_free(m);
	if (changed)
		wake_up_all(&r->wait);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_seen_version);

u32 dlm_lc_rel_version(struct dlm_lc_rel *r)
{
	return READ_ONCE(r->st.version);
}

/* --- acknowledgements --------------------------------------------------- */

/*
 * Ask the transport for an ACK on the socket our position came from; its
 * value is taken when the send worker writes it (dlm_lc_rel_fill_ack).
 * Called without r->lock: the transport takes the write-queue lock.
 */
static void ack_kick(struct dlm_lc_rel *r, u64 gen)
{
	dlm_lc_node_kick_ack(r->cl, r->nodeid, gen);
}

/* An ACK is owed: say so once per socket until it is written. */
static bool ack_want_locked(struct dlm_lc_rel *r, u64 *gen)
{
	lockdep_assert_held(&r->lock);
	/*
	 * One kick per socket until the ACK is written; but a kick whose ACK
	 * was dropped with its socket must not silence us: ask again once
	 * two batches are owed.
	 */
	if (!r->rx_synced || r->dead ||
	    (r->ack_kicked &&
	     r->st.rx_next - r->rx_acked < 2 * DLM_LC_REL_ACK_BATCH))
		return false;
	r->ack_kicked = true;
	*gen = r->rx_gen;
	return true;
}

static bool ack_due_locked(struct dlm_lc_rel *r)
{
	return r->rx_synced && (r->ack_now || r->st.rx_next != r->rx_acked);
}

static void ack_work_fn(struct work_struct *work)
{
	struct dlm_lc_rel *r = container_of(to_delayed_work(work),
					    struct dlm_lc_rel, ack_work);
	bool due;
	u64 gen;

	spin_lock_bh(&r->lock);
	/* the timer asks again even if an earlier kick found no socket */
	due = ack_due_locked(r) && !r->dead;
	gen = r->rx_gen;
	if (due)
		r->ack_kicked = true;
	spin_unlock_bh(&r->lock);
	if (due)
		ack_kick(r, gen);
}

static void ack_arm_locked(struct dlm_lc_rel *r, unsigned long delay)
{
	lockdep_assert_held(&r->lock);
	if (!r->dead)
		queue_delayed_work(dlm_lc_system_wq, &r->ack_work, delay);
}

int dlm_lc_rel_fill_ack(struct dlm_lc_rel *r, u64 gen, void *buf, int max)
{
	struct dlm_lc_hdr *hdr = buf;
	bool wake;
	u32 seq;

	if (max < DLM_LC_HDR_LEN)
		return 0;
	spin_lock_bh(&r->lock);
	r->ack_kicked = false;
	/* only on the socket the position came from (see the top) */
	if (!ack_due_locked(r) || gen != r->rx_gen) {
		spin_unlock_bh(&r->lock);
		return 0;
	}
	seq = r->st.rx_next;
	r->rx_acked = seq;
	r->ack_now = false;
	r->st.acks_tx++;
	if (r->rx_unsync_acked) {
		r->rx_unsync_acked = false;
		r->rx_synced = false;
	}
	wake = r->closing && wq_has_sleeper(&r->wait);
	spin_unlock_bh(&r->lock);
	/* a stop waits for the ACK of the peer's FIN */
	if (wake)
		wake_up_all(&r->wait);

	memset(hdr, 0, DLM_LC_HDR_LEN);
	hdr->version = cpu_to_le32(DLM_LC_VERSION_3_2);
	hdr->lockspace = cpu_to_le32(seq);
	hdr->nodeid = cpu_to_le32(dlm_lc_cluster_local_nodeid(r->cl));
	hdr->length = cpu_to_le16(DLM_LC_HDR_LEN);
	hdr->cmd = DLM_LC_CMD_ACK;
	return DLM_LC_HDR_LEN;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_fill_ack);

void dlm_lc_rel_rx_ack(struct dlm_lc_rel *r, const void *buf)
{
	const struct dlm_lc_hdr *hdr = buf;
	u32 ack = le32_to_cpu(hdr->lockspace);
	struct dlm_lc_rel_msg *m, *tmp;
	LIST_HEAD(done);

	spin_lock_bh(&r->lock);
	r->st.acks_rx++;
	/* within [acked, next]: a late one frees nothing, a future one lies */
	if (seq_before(ack, r->st.tx_acked) ||
	    seq_before(r->st.tx_next, ack)) {
		r->st.acks_stale++;
		spin_unlock_bh(&r->lock);
		return;
	}
	list_for_each_entry_safe(m, tmp, &r->unacked, list) {
		/* a message still being written is freed by a later ACK */
		if (!seq_before(m->seq, ack) || !m->filled)
			break;
		copy_unlink_locked(r, m, &done);
	}
	r->st.tx_acked = ack;
	spin_unlock_bh(&r->lock);

	list_for_each_entry_safe(m, tmp, &done, list)
		msg_free(m);
	wake_up_all(&r->wait);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_rx_ack);

/* --- probing an idle tail ---------------------------------------------- */

static void probe_arm_locked(struct dlm_lc_rel *r)
{
	lockdep_assert_held(&r->lock);
	if (!r->dead)
		queue_delayed_work(dlm_lc_system_wq, &r->probe_work,
				   msecs_to_jiffies(DLM_LC_REL_PROBE_MS));
}

/*
 * Runs while kept messages are unacknowledged. A tick in which we sent
 * nothing new and nothing was acknowledged sends the oldest one again
 * (the duplicate makes the peer ACK). Bounded: one message per tick.
 */
static void probe_work_fn(struct work_struct *work)
{
	struct dlm_lc_rel *r = container_of(to_delayed_work(work),
					    struct dlm_lc_rel, probe_work);
	bool idle, armed;

	spin_lock_bh(&r->lock);
	armed = !list_empty(&r->unacked);
	idle = armed && r->st.tx_next == r->probe_next &&
	       r->st.tx_acked == r->probe_acked;
	r->probe_next = r->st.tx_next;
	r->probe_acked = r->st.tx_acked;
	if (idle)
		r->st.probes++;
	if (armed)
		probe_arm_locked(r);
	spin_unlock_bh(&r->lock);
	if (idle)
		dlm_lc_node_kick_resend(r->cl, r->nodeid);
}

void dlm_lc_rel_probe_now(struct dlm_lc_rel *r)
{
	bool any;

	spin_lock_bh(&r->lock);
	any = !list_empty(&r->unacked);
	if (any)
		r->st.probes++;
	spin_unlock_bh(&r->lock);
	if (any)
		dlm_lc_node_kick_resend(r->cl, r->nodeid);
}

/* --- receiving ------------------------------------------------------------ */

bool dlm_lc_rel_rx(struct dlm_lc_rel *r, const void *buf, u8 inner_cmd,
		   u64 gen)
{
	const struct dlm_lc_opts *o = buf;
	u32 seq = le32_to_cpu(o->hdr.lockspace);
	u32 sid = le32_to_cpu(o->sid);
	bool deliver = false, kick = false;
	u64 kgen;

	spin_lock_bh(&r->lock);
	if (!r->rx_synced && r->rx_from_zero && !sid) {
		if (seq) {
			r->st.rx_future++;
			goto out_unlock;
		}
		/*
		 * A FIN numbered 0 may be its old one sent again (a stock
		 * node with no lockspace sends nothing else): take and ACK
		 * it, then wait for its 0 again; stock starts over after
		 * our ACK in either case.
		 */
		if (inner_cmd == DLM_LC_CMD_FIN)
			r->rx_unsync_acked = true;
		else
			r->rx_from_zero = false;
	} else if (!r->rx_synced || sid != r->rx_sid) {
		r->rx_from_zero = false;
	}
	if (!r->rx_synced || sid != r->rx_sid) {
		/* a new sequence space: the sender starts over at @seq */
		if (r->rx_synced)
			r->st.resyncs++;
		r->rx_sid = sid;
		r->rx_synced = true;
		r->st.rx_next = seq;
		r->rx_acked = seq;
	}
	/* our ACKs go back on the socket this came on */
	if (r->rx_gen != gen) {
		r->rx_gen = gen;
		r->ack_kicked = false;
	}

	if (seq == r->st.rx_next && inner_cmd == DLM_LC_CMD_FIN) {
		/* taken even while we stop: it is the peer's half of the close */
		r->st.rx_next++;
		r->st.fin_rx++;
		r->st.peer_closed = 1;
		r->ack_now = true;
		kick = ack_want_locked(r, &kgen);
	} else if (seq == r->st.rx_next) {
		if (r->closing) {
			/* not acknowledged: the sender keeps it */
			r->st.rx_discarded++;
			goto out_unlock;
		}
		r->st.rx_next++;
		r->st.rx_msgs++;
		r->st.peer_closed = 0;
		deliver = true;
		if (r->st.rx_next - r->rx_acked >= DLM_LC_REL_ACK_BATCH)
			kick = ack_want_locked(r, &kgen);
		else if (r->st.rx_next - r->rx_acked == 1)
			/* the first one not acknowledged starts the clock */
			ack_arm_locked(r, msecs_to_jiffies(DLM_LC_REL_ACK_DELAY_MS));
	} else if (seq_before(seq, r->st.rx_next)) {
		/* the sender missed our ACK: repeat it soon */
		r->st.rx_dups++;
		r->ack_now = true;
		ack_arm_locked(r, msecs_to_jiffies(DLM_LC_REL_ACK_DELAY_MS));
	} else {
		r->st.rx_future++;
	}
out_unlock:
	spin_unlock_bh(&r->lock);
	if (kick)
		ack_kick(r, kgen);
	return deliver;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_rx);

/* --- sending -------------------------------------------------------------- */

static bool backlog_try_reserve(struct dlm_lc_rel *r, unsigned int len)
{
	bool ok;

	spin_lock_bh(&r->lock);
	/* one message always fits, so a huge one cannot wait forever */
	ok = !r->reserved || r->reserved + len <= DLM_LC_REL_BACKLOG;
	if (ok)
		r->reserved += len;
	spin_unlock_bh(&r->lock);
	return ok;
}

static void backlog_unreserve(struct dlm_lc_rel *r, unsigned int len)
{
	spin_lock_bh(&r->lock);
	r->reserved -= len;
	spin_unlock_bh(&r->lock);
	wake_up_all(&r->wait);
}

static int backlog_reserve(struct dlm_lc_rel *r, unsigned int len, gfp_t gfp)
{
	long t;

	if (backlog_try_reserve(r, len))
		return 0;
	if (!gfpflags_allow_blocking(gfp))
		return -ENOBUFS;
	spin_lock_bh(&r->lock);
	r->st.backlog_waits++;
	spin_unlock_bh(&r->lock);
	t = wait_event_killable_timeout(r->wait, backlog_try_reserve(r, len),
					30 * HZ);
	if (t < 0)
		return t;
	return t ? 0 : -ENOBUFS;
}

static bool tx_closed(struct dlm_lc_rel *r)
{
	bool closed;

	spin_lock_bh(&r->lock);
	closed = r->closing && r->fin_pending && !r->forgotten;
	spin_unlock_bh(&r->lock);
	return closed;
}

/*
 * As stock: nothing is numbered after our FIN until we start again (the
 * peer may start its numbers again). A writer that may sleep waits for
 * the start, as long as for backlog room. One let through is counted
 * until it is numbered: the FIN is numbered only when none is.
 */
static int fin_wait(struct dlm_lc_rel *r, gfp_t gfp, bool fin)
{
	long t = 30 * HZ;

	for (;;) {
		spin_lock_bh(&r->lock);
		if (r->forgotten) {
			spin_unlock_bh(&r->lock);
			return -ENOENT;
		}
		if (fin || !(r->closing && r->fin_pending)) {
			r->writers++;
			spin_unlock_bh(&r->lock);
			return 0;
		}
		spin_unlock_bh(&r->lock);
		if (!gfpflags_allow_blocking(gfp))
			return -ESHUTDOWN;
		t = wait_event_killable_timeout(r->wait, !tx_closed(r), t);
		if (t < 0)
			return t;
		if (!t)
			return -ESHUTDOWN;
	}
}

static void fin_wait_done(struct dlm_lc_rel *r)
{
	spin_lock_bh(&r->lock);
	r->writers--;
	spin_unlock_bh(&r->lock);
}

struct rel_cb_data {
	struct dlm_lc_rel *r;
	struct dlm_lc_rel_msg *m;
	bool fin;
};

/*
 * Runs under the write-queue lock: numbers follow buffer order, and the
 * page @buf lies in is still the queue's, so it can be pinned here.
 */
static void rel_number(char *buf, int len, void *data)
{
	struct rel_cb_data *d = data;
	struct dlm_lc_rel *r = d->r;
	struct dlm_lc_rel_msg *m = d->m, *last;
	bool gave_back = false;

	spin_lock_bh(&r->lock);
	if (r->st.version && r->st.version < DLM_LC_VERSION_3_2) {
		/*
		 * The peer fell back to 3.1 after the caller chose to wrap:
		 * decided here, under the lock the fallback takes, so no
		 * message is kept that nobody will acknowledge, and no number
		 * is used up.
		 */
		m->seq = r->st.tx_next;
		m->sid = r->tx_sid;
		m->orphan = true;
		INIT_LIST_HEAD(&m->list);
		spin_unlock_bh(&r->lock);
		return;
	}
	m->seq = r->st.tx_next++;
	m->sid = r->tx_sid;
	if (d->fin) {
		r->fin_numbered = true;
		r->fin_seq = m->seq;
	}
	m->page = virt_to_page(buf);
	m->offset = offset_in_page(buf);
	get_page(m->page);
	/* a listed message pins its page, so equal pointers: the same page */
	last = list_empty(&r->unacked) ? NULL :
	       list_last_entry(&r->unacked, struct dlm_lc_rel_msg, list);
	if (last && last->page == m->page) {
		m->mem -= m->len;
		r->reserved -= m->len;
		gave_back = true;
	} else {
		m->mem += PAGE_SIZE - m->len;
		r->reserved += PAGE_SIZE - m->len;
		m->page_charged = true;
	}
	if (!last)
		probe_arm_locked(r);
	list_add_tail(&m->list, &r->unacked);
	r->st.tx_msgs++;
	r->st.unacked_msgs++;
	r->st.unacked_bytes += m->mem;
	r->st.unacked_max = max(r->st.unacked_max, r->st.unacked_bytes);
	spin_unlock_bh(&r->lock);
	if (gave_back && wq_has_sleeper(&r->wait))
		wake_up_all(&r->wait);
}

static int rel_alloc(struct dlm_lc_rel *r, int len, bool wrap, gfp_t gfp,
		     struct dlm_lc_rel_tx *tx, bool fin)
{
	struct rel_cb_data d = { .r = r, .fin = fin };
	unsigned int wire = len, mem;
	int ret;

	tx->copy = NULL;
	if (!wrap) {
		ret = dlm_lc_msg_alloc(r->cl, r->nodeid, len, gfp, NULL, NULL,
				       &tx->msg);
		tx->buf = tx->msg.buf;
		return ret;
	}

	wire += DLM_LC_OPTS_LEN;
	if (len < DLM_LC_HDR_LEN || wire > DLM_LC_MAX_MSG)
		return -EMSGSIZE;
	ret = fin_wait(r, gfp, fin);
	if (ret)
		return ret;
	/* until the numbering knows whether it pins a page of its own */
	mem = msg_meta_mem() + wire;
	ret = backlog_reserve(r, mem, gfp);
	if (ret)
		goto out_done;
	d.m = kzalloc(sizeof(*d.m), gfp);
	if (!d.m) {
		ret = -ENOMEM;
		goto out_unreserve;
	}
	d.m->len = wire;
	d.m->mem = mem;
	ret = dlm_lc_msg_alloc(r->cl, r->nodeid, wire, gfp, rel_number, &d,
			       &tx->msg);
	if (ret)
		goto out_free;
	/* numbered (rel_number() ran under the write-queue lock) */
	fin_wait_done(r);
	tx->copy = d.m;
	tx->buf = tx->msg.buf + DLM_LC_OPTS_LEN;
	return 0;

out_free:
	kfree(d.m);
out_unreserve:
	backlog_unreserve(r, mem);
out_done:
	fin_wait_done(r);
	return ret;
}

int dlm_lc_rel_alloc(struct dlm_lc_rel *r, int len, bool wrap, gfp_t gfp,
		     struct dlm_lc_rel_tx *tx)
{
	return rel_alloc(r, len, wrap, gfp, tx, false);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_alloc);

void dlm_lc_rel_commit(struct dlm_lc_rel *r, struct dlm_lc_rel_tx *tx)
{
	struct dlm_lc_rel_msg *m = tx->copy;
	struct dlm_lc_opts *o;

	if (m) {
		/* still ours to write: the entry is not sendable before commit */
		o = (struct dlm_lc_opts *)tx->msg.buf;
		memset(o, 0, sizeof(*o));
		o->hdr.version = cpu_to_le32(DLM_LC_VERSION_3_2);
		o->hdr.lockspace = cpu_to_le32(m->seq);
		o->hdr.nodeid = cpu_to_le32(dlm_lc_cluster_local_nodeid(r->cl));
		o->hdr.length = cpu_to_le16(m->len);
		o->hdr.cmd = DLM_LC_CMD_OPTS;
		o->nextcmd = ((struct dlm_lc_hdr *)tx->buf)->cmd;
		/* the space it was numbered in, read under the lock then */
		o->sid = cpu_to_le32(m->sid);
		spin_lock_bh(&r->lock);
		if (!m->orphan) {
			/* the page already holds it: nothing to copy */
			m->filled = true;
			m = NULL;
		}
		spin_unlock_bh(&r->lock);
	}
	dlm_lc_msg_commit(&tx->msg);
	if (m) {
		backlog_unreserve(r, m->mem);
		msg_free(m);
	}
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_commit);

/* --- resending after a reconnect ----------------------------------------- */

bool dlm_lc_rel_resend_begin(struct dlm_lc_rel *r, u32 *from, u32 *to)
{
	struct dlm_lc_rel_msg *m;

	spin_lock_bh(&r->lock);
	m = list_first_entry_or_null(&r->unacked, struct dlm_lc_rel_msg,
				     list);
	r->resend_pos = NULL;
	if (!m) {
		spin_unlock_bh(&r->lock);
		return false;
	}
	*from = m->seq;
	*to = *from;
	/*
	 * Up to the first message still being written: it and everything
	 * after it have not reached any socket yet, the write queue sends them.
	 */
	list_for_each_entry_from(m, &r->unacked, list) {
		if (!m->filled)
			break;
		*to = m->seq + 1;
	}
	spin_unlock_bh(&r->lock);
	return *from != *to;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_resend_begin);

int dlm_lc_rel_resend_copy(struct dlm_lc_rel *r, u32 *seq, u32 to, void *buf)
{
	struct dlm_lc_rel_msg *m;
	int len = 0;

	spin_lock_bh(&r->lock);
	m = r->resend_pos;
	if (!m || m->seq != *seq) {
		/* acked meanwhile: start from the oldest still unacked */
		m = list_first_entry_or_null(&r->unacked,
					     struct dlm_lc_rel_msg, list);
		while (m && seq_before(m->seq, *seq))
			m = list_is_last(&m->list, &r->unacked) ? NULL :
			    list_next_entry(m, list);
	}
	if (m && seq_before(m->seq, to) && m->filled) {
		memcpy(buf, page_address(m->page) + m->offset, m->len);
		len = m->len;
		*seq = m->seq;
		r->st.retransmits++;
		r->resend_pos = list_is_last(&m->list, &r->unacked) ? NULL :
				list_next_entry(m, list);
	}
	spin_unlock_bh(&r->lock);
	return len;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_resend_copy);

bool dlm_lc_rel_has_unacked(struct dlm_lc_rel *r)
{
	bool ret;

	spin_lock_bh(&r->lock);
	ret = !list_empty(&r->unacked);
	spin_unlock_bh(&r->lock);
	return ret;
}

/* --- stopping --------------------------------------------------------------- */

void dlm_lc_rel_close_begin(struct dlm_lc_rel *r)
{
	bool kick;
	u64 gen;

	spin_lock_bh(&r->lock);
	r->closing = true;
	/* everything delivered so far, and nothing after this, is acked */
	r->ack_now = r->rx_synced;
	r->ack_kicked = false;
	kick = ack_want_locked(r, &gen);
	spin_unlock_bh(&r->lock);
	if (kick)
		ack_kick(r, gen);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_close_begin);

int dlm_lc_rel_send_fin(struct dlm_lc_rel *r)
{
	struct dlm_lc_rel_tx tx;
	struct dlm_lc_hdr *hdr;
	int ret;

	/* a writer on its way to a number would come after the FIN: skip */
	spin_lock_bh(&r->lock);
	ret = r->writers || r->fin_pending ? -EBUSY : 0;
	if (!ret)
		r->fin_pending = true;
	spin_unlock_bh(&r->lock);
	if (ret)
		return ret;
	/* never waits: a stop has a deadline, and a full backlog skips FIN */
	ret = rel_alloc(r, DLM_LC_HDR_LEN, true, GFP_NOWAIT | __GFP_NOWARN,
			&tx, true);
	if (ret) {
		spin_lock_bh(&r->lock);
		r->fin_pending = false;
		spin_unlock_bh(&r->lock);
		wake_up_all(&r->wait);
		return ret;
	}
	hdr = (struct dlm_lc_hdr *)tx.buf;
	memset(hdr, 0, sizeof(*hdr));
	hdr->version = cpu_to_le32(DLM_LC_VERSION_3_2);
	hdr->nodeid = cpu_to_le32(dlm_lc_cluster_local_nodeid(r->cl));
	hdr->length = cpu_to_le16(DLM_LC_HDR_LEN);
	hdr->cmd = DLM_LC_CMD_FIN;
	dlm_lc_rel_commit(r, &tx);
	spin_lock_bh(&r->lock);
	r->st.fin_tx++;
	spin_unlock_bh(&r->lock);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_send_fin);

void dlm_lc_rel_open(struct dlm_lc_rel *r)
{
	spin_lock_bh(&r->lock);
	if (fin_done_locked(r))
		fin_reset_locked(r);
	r->closing = false;
	r->fin_pending = false;
	r->fin_numbered = false;
	spin_unlock_bh(&r->lock);
	/* writers that waited since our FIN */
	wake_up_all(&r->wait);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_open);

void dlm_lc_rel_forget(struct dlm_lc_rel *r)
{
	spin_lock_bh(&r->lock);
	r->forgotten = true;
	spin_unlock_bh(&r->lock);
	wake_up_all(&r->wait);
}

bool dlm_lc_rel_fin_answered(struct dlm_lc_rel *r)
{
	bool ret;

	spin_lock_bh(&r->lock);
	/* no FIN of ours acknowledged: no answer to wait for */
	ret = !our_fin_acked_locked(r) || peer_fin_acked_locked(r);
	spin_unlock_bh(&r->lock);
	return ret;
}

void dlm_lc_rel_get_stats(struct dlm_lc_rel *r, struct dlm_lc_rel_stats *st)
{
	spin_lock_bh(&r->lock);
	*st = r->st;
	spin_unlock_bh(&r->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rel_get_stats);
