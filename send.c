// SPDX-License-Identifier: GPL-2.0-only
/*
 * Send worker: hands write-queue pages to the socket, parks while the
 * socket has no room, connects on demand and retries with backoff.
 */

#include <linux/bvec.h>
#include <linux/net.h>
#include <linux/uio.h>
#include <net/tcp.h>

#include "compat.h"
#include "lowcomms_int.h"
#include "midcomms_shim.h"

/* sends per run before the worker yields to others */
#define SEND_BUDGET	64

static int send_page(struct socket *sock, struct page *page,
		     unsigned int offset, unsigned int len)
{
#ifdef DLM_LC_HAVE_SPLICE_PAGES
	struct msghdr msg = {
		.msg_flags = MSG_SPLICE_PAGES | MSG_DONTWAIT | MSG_NOSIGNAL,
	};
	struct bio_vec bvec;

	bvec_set_page(&bvec, page, len, offset);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bvec, 1, len);
	return sock_sendmsg(sock, &msg);
#else
	return kernel_sendpage(sock, page, offset, len,
			       MSG_DONTWAIT | MSG_NOSIGNAL);
#endif
}

static bool sock_can_send(struct sock *sk)
{
	return sk->sk_state == TCP_ESTABLISHED && sk_stream_is_writeable(sk);
}

static bool sock_is_dead(struct sock *sk)
{
	return READ_ONCE(sk->sk_err) ||
	       ((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_CLOSE_WAIT));
}

/*
 * The socket said -EAGAIN: wait for write_space or the connect to finish.
 * Returns false if the caller should try again at once. The check runs
 * under the socket lock, which orders it against the callbacks, so a
 * wakeup cannot slip in between setting the bit and going to sleep.
 */
static bool send_park(struct dlm_lc_conn *conn, struct sock *sk)
{
	bool retry;

	lock_sock(sk);
	set_bit(CF_WAIT_SPACE, &conn->flags);
	set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
	retry = sock_can_send(sk) || sock_is_dead(sk);
	release_sock(sk);

	if (!retry)
		return true;
	/* If a callback beat us to the bit, its requeued run carries on. */
	return !test_and_clear_bit(CF_WAIT_SPACE, &conn->flags);
}

/*
 * First thing on a new socket: the copies of messages the peer has not
 * acknowledged, oldest first, then the write queue (see reliable.c for why
 * no gap can remain). The copy is sent from rs_buf, which the socket
 * copies: it may be reused as soon as sendmsg returns.
 */
static int send_resend(struct dlm_lc_conn *conn)
{
	struct dlm_lc_cluster *cl = conn->cl;
	struct socket *sock = conn->sock;
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	struct kvec iov;
	int i, ret;

	if (test_and_clear_bit(CF_RESEND, &conn->flags)) {
		conn->rs_len = 0;
		conn->rs_off = 0;
		conn->rs_active = dlm_lc_shim_resend_begin(cl, conn->nodeid,
							   &conn->rs_next,
							   &conn->rs_end);
	}

	for (i = 0; conn->rs_active && i < SEND_BUDGET; i++) {
		if (conn->rs_off == conn->rs_len) {
			ret = dlm_lc_shim_resend_copy(cl, conn->nodeid,
						      &conn->rs_next,
						      conn->rs_end,
						      conn->rs_buf);
			if (ret <= 0) {
				conn->rs_active = false;
				break;
			}
			conn->rs_next++;
			conn->rs_len = ret;
			conn->rs_off = 0;
		}
		iov.iov_base = conn->rs_buf + conn->rs_off;
		iov.iov_len = conn->rs_len - conn->rs_off;
		ret = kernel_sendmsg(sock, &msg, &iov, 1, iov.iov_len);
		if (ret == -EAGAIN) {
			if (send_park(conn, sock->sk))
				return -EAGAIN;
			continue;
		}
		if (ret <= 0)
			return ret ?: -EPIPE;
		conn->rs_off += ret;
		atomic64_add(ret, &conn->tx_bytes);
	}
	if (!conn->rs_active)
		return 0;
	/* budget used up: SEND_PENDING stays set for the requeued run */
	queue_work(dlm_lc_io_wq, &conn->swork);
	return -EAGAIN;
}

/* Returns 0 when done, -EAGAIN when parked or requeued, or a socket error */
static int send_queue(struct dlm_lc_conn *conn)
{
	struct socket *sock = conn->sock;
	unsigned int offset, len;
	struct page *page;
	int i, ret;

	for (i = 0; i < SEND_BUDGET; i++) {
		spin_lock(&conn->wq.lock);
		if (!dlm_lc_wq_peek_locked(&conn->wq, &page, &offset, &len)) {
			/* commit sets it again under this lock */
			clear_bit(CF_SEND_PENDING, &conn->flags);
			spin_unlock(&conn->wq.lock);
			wake_up_all(&conn->wait);
			return 0;
		}
		spin_unlock(&conn->wq.lock);

		ret = send_page(sock, page, offset, len);
		if (ret == -EAGAIN) {
			if (send_park(conn, sock->sk))
				return -EAGAIN;
			continue;
		}
		if (ret <= 0)
			return ret ?: -EPIPE;

		spin_lock(&conn->wq.lock);
		dlm_lc_wq_advance_locked(&conn->wq, ret);
		spin_unlock(&conn->wq.lock);
		atomic64_add(ret, &conn->tx_bytes);
		if (wq_has_sleeper(&conn->wait))
			wake_up_all(&conn->wait);
	}

	/* budget used up: SEND_PENDING stays set for the requeued run */
	queue_work(dlm_lc_io_wq, &conn->swork);
	return -EAGAIN;
}

static bool queue_empty_clear_pending(struct dlm_lc_conn *conn)
{
	bool empty;

	spin_lock(&conn->wq.lock);
	empty = dlm_lc_wq_empty_locked(&conn->wq);
	if (empty)
		clear_bit(CF_SEND_PENDING, &conn->flags);
	spin_unlock(&conn->wq.lock);
	return empty;
}

void dlm_lc_send_work(struct work_struct *work)
{
	struct dlm_lc_conn *conn = container_of(work, struct dlm_lc_conn,
						 swork);
	int ret;

	down_read(&conn->sock_lock);
	if (!conn->sock) {
		up_read(&conn->sock_lock);
		/* connect only when there is something to send or resend */
		if (!dlm_lc_shim_has_unacked(conn->cl, conn->nodeid) &&
		    queue_empty_clear_pending(conn))
			return;
		ret = dlm_lc_conn_connect(conn);
		if (ret) {
			atomic64_inc(&conn->connect_fail);
			net_dbg_ratelimited("%s: connect to node %d failed: %d\n",
					    conn->cl->name, conn->nodeid, ret);
			dlm_lc_schedule_retry(conn);
			return;
		}
		down_read(&conn->sock_lock);
		if (!conn->sock) {
			up_read(&conn->sock_lock);
			dlm_lc_schedule_retry(conn);
			return;
		}
	}

	ret = send_resend(conn);
	if (!ret)
		ret = send_queue(conn);
	up_read(&conn->sock_lock);

	if (ret && ret != -EAGAIN) {
		if (ret == -ECONNREFUSED || ret == -ETIMEDOUT ||
		    ret == -EHOSTUNREACH || ret == -ENETUNREACH)
			atomic64_inc(&conn->connect_fail);
		net_dbg_ratelimited("%s: send to node %d failed: %d\n",
				    conn->cl->name, conn->nodeid, ret);
		dlm_lc_conn_close(conn, true);
	}
}

void dlm_lc_retry_work(struct work_struct *work)
{
	struct dlm_lc_conn *conn = container_of(to_delayed_work(work),
						 struct dlm_lc_conn,
						 retry_work);

	if (!test_bit(CF_STOP_IO, &conn->flags))
		queue_work(dlm_lc_io_wq, &conn->swork);
}
