// SPDX-License-Identifier: GPL-2.0-only
/*
 * Receive worker and the delivery lanes: reassemble messages from the
 * stream, queue whole ones (up to a page of them per item) on a lane,
 * deliver them from the receive worker as it goes idle or from the lane's
 * dlm_process work, back off when delivery falls behind. All lanes of an
 * instance share one memory bound.
 */

#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "compat.h"
#include "lowcomms_int.h"
#include "test_hooks.h"

/* reads per run before the worker yields to others */
#define RECV_BUDGET	64

/*
 * Receive buffers are lent: a connection holds one only while its rwork
 * runs or part of a message waits in it, so an idle connection holds
 * none (one of 32 KiB per socket, at both ends, used to be most of a
 * connection's memory). Buffers given back wait in the instance for the
 * next read, about one per CPU that may be reading, at most 512 KiB of
 * them (but always one, whatever buffer_size is). All are buffer_size
 * bytes: it changes only while the instance is stopped, and a stop frees
 * them. Only a connection's own rwork lends
 * or gives back its buffer: a work never runs twice at once, and the
 * socket's release (write-locked) frees what it still holds.
 */
static unsigned int rx_spares_max(unsigned int size)
{
	return min(clamp_t(unsigned int, num_online_cpus(), 4, 16),
		   max_t(unsigned int, SZ_512K / size, 1));
}

/*
 * Pages of delivered items wait in the instance for the next items that
 * need a page, at most 64 KiB of them (one page if pages are larger): a
 * stream of messages takes a page per 4 KiB read, and a new page is
 * zeroed on most distribution kernels (init_on_alloc). The bytes a
 * reused page still holds are never read: an item's length covers only
 * what was copied into it.
 */
static unsigned int rx_pages_max(void)
{
	return max_t(unsigned int, SZ_64K / PAGE_SIZE, 1);
}

void dlm_lc_rx_spares_init(struct dlm_lc_cluster *cl)
{
	spin_lock_init(&cl->rx_spare_lock);
	INIT_LIST_HEAD(&cl->rx_spares);
	INIT_LIST_HEAD(&cl->rx_pages);
}

/*
 * Only once no receive worker or delivery run of @cl can run (stopped
 * or destroyed, its lanes purged).
 */
void dlm_lc_rx_spares_free(struct dlm_lc_cluster *cl)
{
	struct list_head *pos, *tmp;
	struct page *page, *next;
	LIST_HEAD(pages);
	LIST_HEAD(list);

	spin_lock(&cl->rx_spare_lock);
	list_splice_init(&cl->rx_spares, &list);
	cl->rx_spare_count = 0;
	list_splice_init(&cl->rx_pages, &pages);
	cl->rx_page_count = 0;
	spin_unlock(&cl->rx_spare_lock);
	/* a waiting buffer's first bytes are its list entry */
	list_for_each_safe(pos, tmp, &list)
		kfree(pos);
	list_for_each_entry_safe(page, next, &pages, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
}

/* A page for an item: a spare if one waits, else a new one. */
static struct page *rx_page_take(struct dlm_lc_cluster *cl)
{
	struct page *page;

	spin_lock(&cl->rx_spare_lock);
	page = list_first_entry_or_null(&cl->rx_pages, struct page, lru);
	if (page) {
		list_del(&page->lru);
		cl->rx_page_count--;
	}
	spin_unlock(&cl->rx_spare_lock);
	return page ?: alloc_page(GFP_NOFS | __GFP_NOWARN);
}

/* A delivered item's page: kept for the next if there is room. */
static void rx_page_give_back(struct dlm_lc_cluster *cl, struct page *page)
{
	spin_lock(&cl->rx_spare_lock);
	if (cl->rx_page_count < rx_pages_max()) {
		list_add(&page->lru, &cl->rx_pages);
		cl->rx_page_count++;
		page = NULL;
	}
	spin_unlock(&cl->rx_spare_lock);
	if (page)
		__free_page(page);
}

static void *rx_buf_alloc(unsigned int size, gfp_t gfp)
{
	return dlm_lc_test_fail_rx() ? NULL : kmalloc(size, gfp);
}

/*
 * A spare, else a new buffer of buffer_size; if that much cannot be had
 * in one piece cheaply, one of the largest message's size, which still
 * makes progress and is not kept as a spare.
 */
static int rx_buf_take(struct dlm_lc_conn *conn)
{
	struct dlm_lc_cluster *cl = conn->cl;
	struct list_head *spare = NULL;

	lockdep_assert_held_read(&conn->sock_lock);
	spin_lock(&cl->rx_spare_lock);
	if (!list_empty(&cl->rx_spares)) {
		spare = cl->rx_spares.next;
		list_del(spare);
		cl->rx_spare_count--;
	}
	spin_unlock(&cl->rx_spare_lock);

	conn->rx_size = READ_ONCE(cl->bufsize);
	conn->rx_buf = spare ? (char *)spare :
		       rx_buf_alloc(conn->rx_size, GFP_NOFS | __GFP_NOWARN |
				    __GFP_NORETRY);
	if (conn->rx_buf)
		return 0;
	if (conn->rx_size > DLM_LC_MAX_MSG) {
		conn->rx_buf = rx_buf_alloc(DLM_LC_MAX_MSG, GFP_NOFS);
		if (conn->rx_buf) {
			conn->rx_size = DLM_LC_MAX_MSG;
			return 0;
		}
	}
	return -ENOMEM;
}

/* Give @conn's buffer back if no bytes wait in it. */
static void rx_buf_give_back(struct dlm_lc_conn *conn)
{
	struct dlm_lc_cluster *cl = conn->cl;
	unsigned int size = READ_ONCE(cl->bufsize);
	struct list_head *buf = (struct list_head *)conn->rx_buf;

	lockdep_assert_held_read(&conn->sock_lock);
	if (!buf || conn->rx_len)
		return;
	conn->rx_buf = NULL;
	/* a smaller one (memory was short) is not kept */
	if (conn->rx_size == size) {
		spin_lock(&cl->rx_spare_lock);
		if (cl->rx_spare_count < rx_spares_max(size)) {
			list_add(buf, &cl->rx_spares);
			cl->rx_spare_count++;
			buf = NULL;
		}
		spin_unlock(&cl->rx_spare_lock);
	}
	conn->rx_size = size;
	kfree(buf);
}

/* the most one queued item holds: a page and its small header */
static unsigned int rx_item_mem(void)
{
	return PAGE_SIZE + kmalloc_size_roundup(sizeof(struct dlm_lc_rx));
}

/*
 * The most memory @bytes of whole messages can take as queued items. An
 * item is closed only when the next message does not fit its page, so any
 * two neighbours hold more than a page: at most 2 * bytes / PAGE_SIZE + 1
 * items, none holding more than rx_item_mem().
 */
size_t dlm_lc_rx_mem_bound(unsigned int bytes)
{
	return (2 * (size_t)bytes / PAGE_SIZE + 1) * rx_item_mem();
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_rx_mem_bound);

void dlm_lc_lane_init(struct dlm_lc_lane *lane, struct dlm_lc_cluster *cl)
{
	lane->cl = cl;
	INIT_LIST_HEAD(&lane->list);
	INIT_WORK(&lane->work, dlm_lc_process_work);
	mutex_init(&lane->mutex);
}

/*
 * Queued, not yet handed over: the receive worker that read it either
 * delivers it itself as it goes idle or kicks the lane's work.
 */
static void process_enqueue(struct dlm_lc_lane *lane, struct dlm_lc_rx *rx)
{
	struct dlm_lc_cluster *cl = lane->cl;

	spin_lock(&cl->process_lock);
	list_add_tail(&rx->list, &lane->list);
	cl->process_bytes += rx->mem;
	if (cl->process_bytes > cl->process_max)
		cl->process_max = cl->process_bytes;
	spin_unlock(&cl->process_lock);
}

static void process_kick(struct dlm_lc_lane *lane)
{
	queue_work(dlm_lc_process_wq, &lane->work);
}

/* The upper layer keeps no pointer into an item once it is delivered. */
static void rx_free(struct dlm_lc_cluster *cl, struct dlm_lc_rx *rx)
{
	if (rx->page)
		rx_page_give_back(cl, rx->page);
	kfree(rx);
}

static const char *rx_bytes(const struct dlm_lc_rx *rx)
{
	return rx->page ? page_address(rx->page) : rx->data;
}

/* One page of whole messages from the front of @buf; *@used what it took. */
static struct dlm_lc_rx *rx_pack(struct dlm_lc_conn *conn, const char *buf,
				 unsigned int avail, unsigned int *used)
{
	const struct dlm_lc_hdr *hdr;
	struct dlm_lc_rx *rx;
	unsigned int len, n = 0;
	size_t size;

	while (n < avail) {
		hdr = (const struct dlm_lc_hdr *)(buf + n);
		/* framing was checked by the scan: whole and sane */
		len = le16_to_cpu(hdr->length);
		if (n + len > PAGE_SIZE)
			break;
		n += len;
	}
	/*
	 * A small read (the usual request or reply) gets one small
	 * allocation sized to it: pages are zeroed on allocation on most
	 * distribution kernels (init_on_alloc), a 4 KiB clear per message.
	 */
	size = struct_size(rx, data, n);
	if (size <= PAGE_SIZE) {
		rx = kmalloc(size, GFP_NOFS | __GFP_NOWARN);
		if (!rx)
			return NULL;
		rx->page = NULL;
		memcpy(rx->data, buf, n);
		rx->mem = kmalloc_size_roundup(size);
	} else {
		rx = kmalloc(sizeof(*rx), GFP_NOFS | __GFP_NOWARN);
		if (!rx)
			return NULL;
		rx->page = rx_page_take(conn->cl);
		if (!rx->page) {
			kfree(rx);
			return NULL;
		}
		memcpy(page_address(rx->page), buf, n);
		rx->mem = rx_item_mem();
	}
	rx->nodeid = conn->nodeid;
	rx->gen = conn->sock_gen;
	rx->len = n;
	*used = n;
	return rx;
}

/*
 * Move whole messages from the receive buffer to @conn's lane, up to
 * a page of them per item. On -ENOMEM what was not queued stays in the
 * buffer for the next try: nothing read is thrown away.
 */
int dlm_lc_recv_parse(struct dlm_lc_conn *conn)
{
	unsigned int msgs, done = 0, n;
	struct dlm_lc_lane *lane = dlm_lc_lane_of(conn);
	struct dlm_lc_rx *rx;
	int used, ret = 0;

	used = dlm_lc_frame_scan(conn->rx_buf, conn->rx_len, conn->nodeid,
				 &msgs);
	if (used <= 0)
		return used;

	while (done < used) {
		rx = rx_pack(conn, conn->rx_buf + done, used - done, &n);
		if (!rx) {
			ret = -ENOMEM;
			break;
		}
		process_enqueue(lane, rx);
		done += n;
	}
	dlm_lc_frame_scan(conn->rx_buf, done, conn->nodeid, &msgs);
	atomic64_add(msgs, &conn->rx_msgs);

	conn->rx_len -= done;
	memmove(conn->rx_buf, conn->rx_buf + done, conn->rx_len);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_recv_parse);

/*
 * > 0 bytes read (or owed messages queued), 0 EOF, -EAGAIN nothing there,
 * -ENOMEM no buffer or no lane item (retried), other < 0 error. Whole
 * messages an -ENOMEM left in rx_buf are queued first: the socket may
 * have nothing more to read, and a full buffer would read as EOF.
 */
static int recv_once(struct dlm_lc_conn *conn)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	struct kvec iov;
	int ret, err;

	if (test_bit(CF_RX_OWED, &conn->flags)) {
		err = dlm_lc_recv_parse(conn);
		if (err)
			return err;
		clear_bit(CF_RX_OWED, &conn->flags);
		/* progress, nothing read: the next read reserves again */
		return 1;
	}
	/* a smaller buffer, taken when memory was short, only until empty */
	if (conn->rx_buf && !conn->rx_len &&
	    conn->rx_size != READ_ONCE(conn->cl->bufsize))
		rx_buf_give_back(conn);
	if (!conn->rx_buf) {
		err = rx_buf_take(conn);
		if (err)
			return err;
	}
	iov.iov_base = conn->rx_buf + conn->rx_len;
	iov.iov_len = conn->rx_size - conn->rx_len;
	ret = kernel_recvmsg(conn->sock, &msg, &iov, 1, iov.iov_len,
			     msg.msg_flags);
	if (ret <= 0)
		return ret;

	conn->rx_len += ret;
	atomic64_add(ret, &conn->rx_bytes);
	err = dlm_lc_recv_parse(conn);
	if (err == -ENOMEM)
		set_bit(CF_RX_OWED, &conn->flags);
	return err ?: ret;
}

/*
 * Nothing to read. Give up RECV_PENDING only if data_ready did not fire
 * since we last cleared RECV_INTR; the socket lock orders this against
 * the callback, which runs under it.
 */
static bool recv_idle(struct dlm_lc_conn *conn)
{
	struct sock *sk = conn->sock->sk;
	bool idle = false;

	lock_sock(sk);
	if (!test_bit(CF_RECV_INTR, &conn->flags)) {
		clear_bit(CF_RECV_PENDING, &conn->flags);
		idle = true;
	}
	release_sock(sk);
	return idle;
}

/* One read always fits an empty queue, so a small bound cannot stall. */
static bool process_room(struct dlm_lc_cluster *cl, size_t want)
{
	size_t held = READ_ONCE(cl->process_bytes) +
		      READ_ONCE(cl->process_reserved);

	return !held || held + want <= READ_ONCE(cl->process_limit);
}

/*
 * Reserve what one full read may add to the lanes, so that all
 * connections together stay within the bound however many read at once:
 * the lanes hold at most max(process_limit, one read's bound).
 */
static bool process_reserve(struct dlm_lc_cluster *cl, size_t want)
{
	bool ok;

	spin_lock(&cl->process_lock);
	ok = process_room(cl, want);
	if (ok)
		cl->process_reserved += want;
	spin_unlock(&cl->process_lock);
	return ok;
}

static void process_unreserve(struct dlm_lc_cluster *cl, size_t want)
{
	spin_lock(&cl->process_lock);
	cl->process_reserved -= want;
	spin_unlock(&cl->process_lock);
	wake_up_all(&cl->process_wait);
}

/*
 * Backpressure: wait (on a counter, not a flush) until processing has
 * drained enough for one more read. Returns the reservation to give back
 * after the read, 0 if stopping.
 */
static size_t recv_throttle(struct dlm_lc_conn *conn)
{
	struct dlm_lc_cluster *cl = conn->cl;
	size_t want = dlm_lc_rx_mem_bound(conn->rx_size);
	bool counted = false;

	while (!process_reserve(cl, want)) {
		if (!counted)
			atomic64_inc(&cl->rx_throttled);
		counted = true;
		/* what this run queued must not wait for its end */
		process_kick(dlm_lc_lane_of(conn));
		wait_event(cl->process_wait, process_room(cl, want) ||
			   test_bit(CF_STOP_IO, &conn->flags));
		if (test_bit(CF_STOP_IO, &conn->flags))
			return 0;
	}
	return want;
}

static void recv_end(struct dlm_lc_conn *conn, int ret, u64 gen)
{
	if (ret == 0 && test_bit(CF_SHUTDOWN, &conn->flags)) {
		/* our graceful close completes; the stopper releases */
		set_bit(CF_EOF, &conn->flags);
		clear_bit(CF_RECV_PENDING, &conn->flags);
		wake_up_all(&conn->wait);
		return;
	}

	if (ret == -EMSGSIZE || ret == -EPROTO || ret == -EBADMSG) {
		atomic64_inc(&conn->broken);
		pr_warn_ratelimited("%s: node %d: broken stream (%d), closing connection\n",
				    conn->cl->name, conn->nodeid, ret);
	} else if (ret < 0) {
		net_dbg_ratelimited("%s: node %d: receive error %d\n",
				    conn->cl->name, conn->nodeid, ret);
	}
	clear_bit(CF_RECV_PENDING, &conn->flags);
	dlm_lc_conn_close_gen(conn, gen,
			      ret ? DLM_LC_CLOSE_ERROR : DLM_LC_CLOSE_EOF);
}

/*
 * @later: not the run's first item. A receive worker's sends (@reader)
 * wait for one item, not the run: before each item but the run's first,
 * what the items before owe goes to swork; only the last item's are sent
 * inline. If the upper layer may sleep in its deliver, what the messages
 * before owe is guarded: 1-2 ticks after the first of it, owed_work
 * sends it if the item is still being delivered.
 */
static void process_one(struct dlm_lc_lane *lane, struct dlm_lc_rx *rx,
			struct dlm_lc_conn *reader, bool later)
{
	struct dlm_lc_cluster *cl = lane->cl;
	const char *data = rx_bytes(rx);
	const struct dlm_lc_hdr *hdr;
	unsigned int off, len;

	/* one run per lane: a node's messages in order */
	lockdep_assert_held(&lane->mutex);
	/* framing was checked on receive: lengths are sane */
	for (off = 0; off < rx->len; off += len) {
		hdr = (const struct dlm_lc_hdr *)(data + off);
		len = le16_to_cpu(hdr->length);
		/* a later item's start; a later message if deliver may sleep */
		if (reader && !off && later)
			dlm_lc_send_owed_queue(reader);
		else if (reader && off && cl->upper->deliver_may_sleep)
			dlm_lc_send_owed_guard(reader);
		cl->upper->deliver(cl, rx->nodeid, rx->gen, data + off, len);
	}
	if (!cl->upper->deliver_done)
		return;
	/* another node's item (one lane) writes to a conn not deferred */
	if (reader && cl->upper->done_may_wait &&
	    rx->nodeid == reader->nodeid) {
		dlm_lc_send_done_begin(reader);
		cl->upper->deliver_done(cl, rx->nodeid);
		dlm_lc_send_done_end(reader);
	} else {
		cl->upper->deliver_done(cl, rx->nodeid);
	}
}

/* items per run before it hands over, so that others' work runs too */
#define PROCESS_BUDGET	64

/*
 * Deliver the lane's items if no other run is delivering them, at most
 * PROCESS_BUDGET; more left is handed to the lane's work. A run that
 * finds the mutex taken may leave at once: the holder gives it up only
 * while it sees the lane empty under process_lock (so it also delivers
 * what was queued meanwhile), or gives it up and then queues the work (in
 * that order: a work that ran first would find it held).
 */
static void process_run(struct dlm_lc_lane *lane, atomic64_t *items,
			struct dlm_lc_conn *reader)
{
	struct dlm_lc_cluster *cl = lane->cl;
	struct dlm_lc_rx *rx;
	int i;

	if (!mutex_trylock(&lane->mutex))
		return;
	for (i = 0; i < PROCESS_BUDGET; i++) {
		spin_lock(&cl->process_lock);
		rx = list_first_entry_or_null(&lane->list, struct dlm_lc_rx,
					      list);
		if (!rx) {
			/* given up while the lane is seen empty */
			mutex_unlock(&lane->mutex);
			spin_unlock(&cl->process_lock);
			return;
		}
		list_del(&rx->list);
		spin_unlock(&cl->process_lock);

		process_one(lane, rx, reader, i > 0);
		atomic64_inc(items);

		spin_lock(&cl->process_lock);
		cl->process_bytes -= rx->mem;
		spin_unlock(&cl->process_lock);
		wake_up_all(&cl->process_wait);
		rx_free(cl, rx);
	}
	mutex_unlock(&lane->mutex);
	/* a saturated lane cannot hold a worker: the rest runs later */
	process_kick(lane);
}

#ifdef DLM_LC_TEST_HOOKS
/* a test holds processing at the worker's gate: only the worker delivers */
static bool process_held(struct dlm_lc_cluster *cl)
{
	return READ_ONCE(cl->test_process_gate) ||
	       READ_ONCE(cl->test_process_delay_ms);
}
#else
static bool process_held(struct dlm_lc_cluster *cl)
{
	return false;
}
#endif

/*
 * The serial_io baseline keeps the pre-6.5 shape, where socket work never
 * waits behind delivery: on its ordered queue, a deliver that waited for
 * a send would wait for work queued behind itself.
 */
static bool process_inline_ok(struct dlm_lc_cluster *cl)
{
	return !process_held(cl) && !READ_ONCE(dlm_lc_serial_io);
}

/*
 * A receive worker going idle (or a test that fed the parser): deliver
 * what is queued on @conn's lane, in this context.
 */
void dlm_lc_process_idle(struct dlm_lc_conn *conn)
{
	struct dlm_lc_cluster *cl = conn->cl;

	if (process_inline_ok(cl))
		process_run(dlm_lc_lane_of(conn), &cl->process_inline, conn);
	else
		process_kick(dlm_lc_lane_of(conn));
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_process_idle);

/* Out of memory for a buffer or a lane item: read bytes wait in rx_buf. */
#define RECV_NOMEM_WAIT_MS	20

void dlm_lc_recv_work(struct work_struct *work)
{
	struct dlm_lc_conn *conn = container_of(work, struct dlm_lc_conn,
						 rwork);
	struct dlm_lc_lane *lane = dlm_lc_lane_of(conn);
	struct dlm_lc_cluster *cl = conn->cl;
	bool read = false;
	size_t reserved;
	int i, ret;
	u64 gen;

	dlm_lc_test_work_late(conn);
	dlm_lc_test_recv_delay(test_bit(CF_OTHER, &conn->flags));
	down_read(&conn->sock_lock);
	if (!conn->sock) {
		clear_bit(CF_RECV_PENDING, &conn->flags);
		up_read(&conn->sock_lock);
		return;
	}

	for (i = 0; i < RECV_BUDGET; i++) {
		reserved = recv_throttle(conn);
		if (test_bit(CF_STOP_IO, &conn->flags)) {
			if (reserved)
				process_unreserve(cl, reserved);
			break;
		}

		clear_bit(CF_RECV_INTR, &conn->flags);
		ret = recv_once(conn);
		process_unreserve(cl, reserved);
		if (ret > 0) {
			/* more than one read: a stream, deliver alongside */
			if (read)
				process_kick(lane);
			read = true;
			continue;
		}
		if (ret == -EAGAIN) {
			if (recv_idle(conn))
				goto out_idle;
			continue;
		}
		if (ret == -ENOMEM) {
			/* part of a read may be queued: hand it over now */
			read = true;
			process_kick(lane);
			/* the next round parses again (RX_OWED) before it reads */
			set_bit(CF_RECV_INTR, &conn->flags);
			msleep(RECV_NOMEM_WAIT_MS);
			continue;
		}
		gen = conn->sock_gen;
		up_read(&conn->sock_lock);
		if (read)
			process_kick(lane);
		dlm_lc_test_recv_end_delay();
		recv_end(conn, ret, gen);
		return;
	}

	/* budget used up or stopping: RECV_PENDING stays with the requeue */
	if (!test_bit(CF_STOP_IO, &conn->flags))
		queue_work(dlm_lc_io_wq, &conn->rwork);
	up_read(&conn->sock_lock);
	if (read)
		process_kick(lane);
	return;

out_idle:
	/*
	 * Nothing more to read: deliver here rather than wake the lane's
	 * work, unless another run is delivering (it takes ours too). No
	 * socket lock is held while the upper layer runs.
	 */
	rx_buf_give_back(conn);
	up_read(&conn->sock_lock);
	if (!read)
		return;
	set_bit(CF_RX_DELIVER, &conn->flags);
	dlm_lc_process_idle(conn);
	clear_bit(CF_RX_DELIVER, &conn->flags);
	dlm_lc_send_owed_unguard(conn);
	/* replies committed meanwhile, and ACKs (dlm_lc_kick_send()) */
	dlm_lc_send_inline(conn);
	if (conn->primary)
		dlm_lc_send_inline(conn->primary);
}

void dlm_lc_process_work(struct work_struct *work)
{
	struct dlm_lc_lane *lane = container_of(work, struct dlm_lc_lane,
						work);

	dlm_lc_test_process_delay(lane->cl);
	process_run(lane, &lane->cl->process_worker, NULL);
}

/* Take @lane's items (of @nodeid only, if not 0) out of the bound. */
static void process_splice(struct dlm_lc_lane *lane, int nodeid,
			   struct list_head *out)
{
	struct dlm_lc_cluster *cl = lane->cl;
	struct dlm_lc_rx *rx, *tmp;

	spin_lock(&cl->process_lock);
	list_for_each_entry_safe(rx, tmp, &lane->list, list) {
		if (nodeid && rx->nodeid != nodeid)
			continue;
		list_move_tail(&rx->list, out);
		cl->process_bytes -= rx->mem;
	}
	spin_unlock(&cl->process_lock);
	wake_up_all(&cl->process_wait);
}

static void rx_free_list(struct dlm_lc_cluster *cl, struct list_head *list)
{
	struct dlm_lc_rx *rx, *tmp;

	list_for_each_entry_safe(rx, tmp, list, list)
		rx_free(cl, rx);
}

/*
 * I/O is stopped: let a run in progress finish, then drop what is left
 * (a budgeted run may leave some; tests also feed the parser directly).
 * A run requeues itself when it leaves messages: flush_work() does not
 * wait for that instance, cancel_work_sync() does, so none runs after
 * this returns (the lane's owner may be freed next).
 */
void dlm_lc_lane_purge(struct dlm_lc_lane *lane)
{
	LIST_HEAD(list);

	flush_work(&lane->work);
	cancel_work_sync(&lane->work);
	process_splice(lane, 0, &list);
	rx_free_list(lane->cl, &list);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_lane_purge);

/* the instance's own lane; the stop purges each connection's */
void dlm_lc_process_purge(struct dlm_lc_cluster *cl)
{
	dlm_lc_lane_purge(&cl->lane);
}

/*
 * @conn is being removed and its I/O is stopped: drop its node's messages
 * and wait for a run that may be delivering one (the lane's work, or a
 * receive worker's), so that nothing of it is delivered after the removal
 * returns. Its own lane goes with it: purged, nothing left to run.
 */
void dlm_lc_process_forget(struct dlm_lc_conn *conn)
{
	struct dlm_lc_lane *lane = dlm_lc_lane_of(conn);
	struct dlm_lc_cluster *cl = conn->cl;
	LIST_HEAD(list);
	bool more;

	process_splice(lane, conn->nodeid, &list);
	flush_work(&lane->work);
	/* a receive worker (of another node, on a shared lane) may deliver */
	mutex_lock(&lane->mutex);
	dlm_lc_test_forget_hold();
	mutex_unlock(&lane->mutex);
	if (lane != &cl->lane) {
		/* only this node's reads come here, and they have stopped */
		dlm_lc_lane_purge(lane);
	} else {
		/*
		 * We deliver nothing: runs whose trylock failed while we held
		 * the mutex left their items to us. The work takes them.
		 * What is queued after this look belongs to a run that tries
		 * after our unlock. Every sleeping taker of a lane's mutex
		 * must do the same.
		 */
		spin_lock(&cl->process_lock);
		more = !list_empty(&lane->list);
		spin_unlock(&cl->process_lock);
		if (more)
			process_kick(lane);
	}
	rx_free_list(cl, &list);
}

#ifdef DLM_LC_TEST_HOOKS
void dlm_lc_test_process_delay(struct dlm_lc_cluster *cl)
{
	struct completion *gate = READ_ONCE(cl->test_process_gate);
	unsigned int ms = READ_ONCE(cl->test_process_delay_ms);

	if (gate)
		wait_for_completion_timeout(gate, 60 * HZ);
	if (ms)
		msleep(ms);
}
#endif
