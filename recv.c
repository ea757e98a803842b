// SPDX-License-Identifier: GPL-2.0-only
/*
 * Receive worker and the process queue: reassemble messages from the
 * stream, hand whole ones to the ordered dlm_process worker, back off when
 * processing falls behind.
 */

#include <linux/net.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <kunit/visibility.h>

#include "lowcomms_int.h"
#include "midcomms_shim.h"

/* reads per run before the worker yields to others */
#define RECV_BUDGET	64

/*
 * Length of the complete messages at the start of @buf (possibly 0), or a
 * negative errno for a broken stream. *@msgs gets their number.
 */
int dlm_lc_frame_scan(const char *buf, unsigned int len, int nodeid,
		      unsigned int *msgs)
{
	unsigned int used = 0;
	int ret;

	*msgs = 0;
	while (used < len) {
		ret = dlm_lc_frame_check(buf + used, len - used, nodeid);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
		used += ret;
		(*msgs)++;
	}
	return used;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_frame_scan);

static void process_enqueue(struct dlm_lc_cluster *cl, struct dlm_lc_rx *rx)
{
	spin_lock(&cl->process_lock);
	list_add_tail(&rx->list, &cl->process_list);
	cl->process_bytes += rx->len;
	if (cl->process_bytes > cl->process_max)
		cl->process_max = cl->process_bytes;
	spin_unlock(&cl->process_lock);
	queue_work(dlm_lc_process_wq, &cl->process_work);
}

/* Move whole messages from the receive buffer to the process queue. */
int dlm_lc_recv_parse(struct dlm_lc_conn *conn)
{
	unsigned int msgs;
	struct dlm_lc_rx *rx;
	int used;

	used = dlm_lc_frame_scan(conn->rx_buf, conn->rx_len, conn->nodeid,
				 &msgs);
	if (used <= 0)
		return used;

	rx = kmalloc(struct_size(rx, data, used), GFP_NOFS);
	if (!rx)
		return -ENOMEM;
	rx->nodeid = conn->nodeid;
	rx->len = used;
	memcpy(rx->data, conn->rx_buf, used);
	process_enqueue(conn->cl, rx);
	atomic64_add(msgs, &conn->rx_msgs);

	conn->rx_len -= used;
	memmove(conn->rx_buf, conn->rx_buf + used, conn->rx_len);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_recv_parse);

/* > 0 bytes read, 0 EOF, -EAGAIN nothing there, other < 0 error */
static int recv_once(struct dlm_lc_conn *conn)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	struct kvec iov = {
		.iov_base = conn->rx_buf + conn->rx_len,
		.iov_len = conn->rx_size - conn->rx_len,
	};
	int ret, err;

	ret = kernel_recvmsg(conn->sock, &msg, &iov, 1, iov.iov_len,
			     msg.msg_flags);
	if (ret <= 0)
		return ret;

	conn->rx_len += ret;
	atomic64_add(ret, &conn->rx_bytes);
	err = dlm_lc_recv_parse(conn);
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

static bool process_has_room(struct dlm_lc_cluster *cl, size_t limit)
{
	return READ_ONCE(cl->process_bytes) <= limit;
}

/* Backpressure: wait (on a counter, not a flush) until processing drains. */
static void recv_throttle(struct dlm_lc_conn *conn)
{
	struct dlm_lc_cluster *cl = conn->cl;

	if (process_has_room(cl, cl->process_limit))
		return;
	atomic64_inc(&cl->rx_throttled);
	wait_event(cl->process_wait,
		   process_has_room(cl, cl->process_limit / 2) ||
		   test_bit(CF_STOP_IO, &conn->flags));
}

static void recv_end(struct dlm_lc_conn *conn, int ret)
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
	dlm_lc_conn_close(conn, true);
}

void dlm_lc_recv_work(struct work_struct *work)
{
	struct dlm_lc_conn *conn = container_of(work, struct dlm_lc_conn,
						 rwork);
	int i, ret;

	down_read(&conn->sock_lock);
	if (!conn->sock) {
		clear_bit(CF_RECV_PENDING, &conn->flags);
		up_read(&conn->sock_lock);
		return;
	}

	for (i = 0; i < RECV_BUDGET; i++) {
		recv_throttle(conn);
		if (test_bit(CF_STOP_IO, &conn->flags))
			break;

		clear_bit(CF_RECV_INTR, &conn->flags);
		ret = recv_once(conn);
		if (ret > 0)
			continue;
		if (ret == -EAGAIN) {
			if (recv_idle(conn))
				goto out_unlock;
			continue;
		}
		up_read(&conn->sock_lock);
		recv_end(conn, ret);
		return;
	}

	/* budget used up or stopping: RECV_PENDING stays with the requeue */
	if (!test_bit(CF_STOP_IO, &conn->flags))
		queue_work(dlm_lc_io_wq, &conn->rwork);
out_unlock:
	up_read(&conn->sock_lock);
}

static void process_one(struct dlm_lc_cluster *cl, struct dlm_lc_rx *rx)
{
	const struct dlm_lc_hdr *hdr;
	unsigned int off, len;

	/* framing was checked on receive: lengths are sane */
	for (off = 0; off < rx->len; off += len) {
		hdr = (const struct dlm_lc_hdr *)(rx->data + off);
		len = le16_to_cpu(hdr->length);
		dlm_lc_shim_deliver(cl, rx->nodeid, rx->data + off, len);
	}
}

void dlm_lc_process_work(struct work_struct *work)
{
	struct dlm_lc_cluster *cl = container_of(work, struct dlm_lc_cluster,
						 process_work);
	struct dlm_lc_rx *rx;

	for (;;) {
		spin_lock(&cl->process_lock);
		rx = list_first_entry_or_null(&cl->process_list,
					      struct dlm_lc_rx, list);
		if (rx)
			list_del(&rx->list);
		spin_unlock(&cl->process_lock);
		if (!rx)
			break;

		process_one(cl, rx);

		spin_lock(&cl->process_lock);
		cl->process_bytes -= rx->len;
		spin_unlock(&cl->process_lock);
		wake_up_all(&cl->process_wait);
		kfree(rx);
		cond_resched();
	}
}

/*
 * I/O is stopped: deliver what is queued, then drop anything a racing
 * worker added after the flush.
 */
void dlm_lc_process_purge(struct dlm_lc_cluster *cl)
{
	struct dlm_lc_rx *rx, *tmp;
	LIST_HEAD(list);

	flush_work(&cl->process_work);
	spin_lock(&cl->process_lock);
	list_splice_init(&cl->process_list, &list);
	cl->process_bytes = 0;
	spin_unlock(&cl->process_lock);
	wake_up_all(&cl->process_wait);

	list_for_each_entry_safe(rx, tmp, &list, list)
		kfree(rx);
}
