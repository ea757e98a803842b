// SPDX-License-Identifier: GPL-2.0-only
/*
 * Send worker: hands write-queue pages to the socket, parks while the
 * socket has no room, connects on demand and retries with backoff.
 */

#include <linux/bvec.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/stringify.h>
#include <linux/uio.h>
#include <net/tcp.h>

#include "compat.h"
#include "lowcomms_int.h"
#include "test_hooks.h"

/* pages (or other sends) per run before the worker yields to others */
#define SEND_BUDGET	64

/* most write-queue pages handed to the socket in one call */
#define SEND_PAGES_MAX	16

static unsigned int send_pages_max = SEND_PAGES_MAX;

static int send_pages_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, SEND_PAGES_MAX);
}

static const struct kernel_param_ops send_pages_ops = {
	.set = send_pages_set,
	.get = param_get_uint,
};

module_param_cb(send_pages, &send_pages_ops, &send_pages_max, 0644);
MODULE_PARM_DESC(send_pages, "most pages per sendmsg, 1-"
		 __stringify(SEND_PAGES_MAX) " (1: one page per call, as upstream)");

/*
 * How long the node with the lower id waits for its peer's connect before
 * it dials itself (connect_deferred()); 0 dials at once, as stock does.
 */
#define DIAL_WAIT_MAX_MS	5000

unsigned int dlm_lc_dial_wait_ms = 20;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_dial_wait_ms);

static int dial_wait_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, DIAL_WAIT_MAX_MS);
}

static const struct kernel_param_ops dial_wait_ops = {
	.set = dial_wait_set,
	.get = param_get_uint,
};

module_param_cb(dial_wait_ms, &dial_wait_ops, &dlm_lc_dial_wait_ms, 0644);
MODULE_PARM_DESC(dial_wait_ms, "ms the lower node id waits for its peer to dial, 0-"
		 __stringify(DIAL_WAIT_MAX_MS) " (0: dial at once, as stock)");

/* Returns the bytes the socket took, or an error if it took none. */
static int send_bvecs(struct socket *sock, struct bio_vec *bv,
		      unsigned int n, size_t len)
{
#ifdef DLM_LC_HAVE_SPLICE_PAGES
	struct msghdr msg = {
		.msg_flags = MSG_SPLICE_PAGES | MSG_DONTWAIT | MSG_NOSIGNAL,
	};

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, n, len);
	return sock_sendmsg(sock, &msg);
#else
	unsigned int i;
	int flags, ret;
	int sent = 0;

	/* pushed once, after the last page, as one sendmsg would */
	for (i = 0; i < n; i++) {
		flags = MSG_DONTWAIT | MSG_NOSIGNAL;
		if (i + 1 < n)
			flags |= MSG_SENDPAGE_NOTLAST;
		ret = kernel_sendpage(sock, bv[i].bv_page, bv[i].bv_offset,
				      bv[i].bv_len, flags);
		if (ret <= 0)
			return sent ?: ret;
		sent += ret;
		if ((unsigned int)ret < bv[i].bv_len)
			break;
	}
	return sent;
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

/* what send_park() decided */
enum park {
	PARK_WAIT,	/* parked: write_space or the connect resumes us */
	PARK_RETRY,	/* room appeared meanwhile: try again now */
	PARK_BACKOFF,	/* no room although the socket looks writeable */
};

/* memory pressure: look again after this long (no callback will come) */
#define SEND_BACKOFF	msecs_to_jiffies(10)

/*
 * The socket said -EAGAIN: wait for write_space or the connect to finish.
 * The check runs under the socket lock, which orders it against the
 * callbacks, so a wakeup cannot slip in between setting the bit and going
 * to sleep. A socket that refuses data while it looks writeable is short
 * of protocol memory (sk_wmem_schedule failed): write_space may never
 * fire for it, and retrying at once would spin, so the caller backs off.
 */
static enum park send_park(struct dlm_lc_conn *conn, struct sock *sk,
			   bool *retried)
{
	bool retry;

	lock_sock(sk);
	set_bit(CF_WAIT_SPACE, &conn->flags);
	set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
	retry = sock_can_send(sk) || sock_is_dead(sk);
	release_sock(sk);

	if (!retry)
		return PARK_WAIT;
	/* If a callback beat us to the bit, its requeued run carries on. */
	if (!test_and_clear_bit(CF_WAIT_SPACE, &conn->flags))
		return PARK_WAIT;
	/* twice in a row: memory pressure, or a peer gone (CLOSE_WAIT) */
	if (*retried)
		return PARK_BACKOFF;
	*retried = true;
	return PARK_RETRY;
}

/*
 * The queue has nothing to send (or a writer still on its first page,
 * whose commit kicks): what a hold kept went out with this run.
 */
static void held_sent_locked(struct dlm_lc_conn *conn)
{
	lockdep_assert_held(&conn->wq.lock);
	if (test_and_clear_bit(CF_HELD, &conn->flags))
		cancel_delayed_work(&conn->hold_work);
}

/* Short of memory (the socket's or a resend buffer): run again later. */
static int send_backoff(struct dlm_lc_conn *conn)
{
	atomic64_inc(&conn->send_backoffs);
	/* SEND_PENDING stays set for the delayed run */
	if (!test_bit(CF_STOP_IO, &conn->flags))
		queue_delayed_work(dlm_lc_io_wq, &conn->retry_work,
				   SEND_BACKOFF);
	return -EAGAIN;
}

/* Returns -EAGAIN if the worker must stop now (parked or backing off). */
static int send_again(struct dlm_lc_conn *conn, struct sock *sk,
		      bool *retried)
{
	switch (send_park(conn, sk, retried)) {
	case PARK_RETRY:
		return 0;
	case PARK_BACKOFF:
		return send_backoff(conn);
	default:
		return -EAGAIN;
	}
}

/*
 * A pending ACK goes out between two messages: never inside a message the
 * socket has part of. Its bytes are asked for now, so that it carries the
 * newest value and at most one is ever waiting per socket. Returns 0 when
 * nothing (more) is to be sent, -EAGAIN if parked, or a socket error.
 */
static int send_ack(struct dlm_lc_conn *conn, bool at_boundary, bool *retried)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	struct kvec iov;
	int ret;

	if (!conn->ack_len) {
		if (!at_boundary || !test_bit(CF_ACK_PENDING, &conn->flags))
			return 0;
		clear_bit(CF_ACK_PENDING, &conn->flags);
		if (!conn->cl->upper->fill_ack)
			return 0;
		ret = conn->cl->upper->fill_ack(conn->cl, conn->nodeid,
						conn->sock_gen, conn->ack_buf,
						sizeof(conn->ack_buf));
		if (ret <= 0)
			return 0;
		conn->ack_len = ret;
		conn->ack_off = 0;
	}
	while (conn->ack_off < conn->ack_len) {
		iov.iov_base = conn->ack_buf + conn->ack_off;
		iov.iov_len = conn->ack_len - conn->ack_off;
		ret = kernel_sendmsg(conn->sock, &msg, &iov, 1, iov.iov_len);
		if (ret == -EAGAIN) {
			ret = send_again(conn, conn->sock->sk, retried);
			if (ret)
				return ret;
			continue;
		}
		if (ret <= 0)
			return ret ?: -EPIPE;
		conn->ack_off += ret;
		atomic64_add(ret, &conn->tx_bytes);
	}
	conn->ack_len = 0;
	conn->ack_off = 0;
	return 0;
}

static bool send_at_boundary(struct dlm_lc_conn *conn)
{
	bool ret;

	spin_lock_bh(&conn->wq.lock);
	ret = dlm_lc_wq_at_boundary_locked(&conn->wq);
	spin_unlock_bh(&conn->wq.lock);
	return ret;
}

/*
 * First thing on a new socket: the copies of messages the peer has not
 * acknowledged, oldest first, then the write queue (the upper layer's
 * resend hooks; its documentation says why no gap can remain). A probe
 * asks for the same on a live socket, at a message boundary; the peer
 * drops what it has and ACKs. The copy is sent from rs_buf, which the
 * socket copies: it may be reused as soon as sendmsg returns. rs_buf is
 * held only while a resend runs.
 */
static int send_resend(struct dlm_lc_conn *conn)
{
	struct dlm_lc_cluster *cl = conn->cl;
	struct socket *sock = conn->sock;
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	bool retried = false;
	struct kvec iov;
	int i, ret;

	/* a new socket resends the whole window, a probe only the oldest */
	if ((test_bit(CF_RESEND, &conn->flags) ||
	     test_bit(CF_PROBE, &conn->flags)) && !conn->rs_active &&
	    !conn->ack_len && send_at_boundary(conn)) {
		bool probe = !test_bit(CF_RESEND, &conn->flags);

		/* a probe asked for from now on is served by a later run */
		clear_bit(CF_PROBE, &conn->flags);
		conn->rs_len = 0;
		conn->rs_off = 0;
		conn->rs_active = cl->upper->resend_begin &&
				  cl->upper->resend_copy &&
				  cl->upper->resend_begin(cl, conn->nodeid,
							  &conn->rs_next,
							  &conn->rs_end);
		if (conn->rs_active && !conn->rs_buf) {
			conn->rs_buf = dlm_lc_test_fail_rs() ? NULL :
				       kmalloc(DLM_LC_MAX_MSG,
					       GFP_NOFS | __GFP_NOWARN);
			conn->rs_active = !!conn->rs_buf;
			/*
			 * Nothing of the queue may go before the copies: try
			 * again later, RESEND still set. A probe's timer asks
			 * again: the queue goes on.
			 */
			if (!conn->rs_active && !probe)
				return send_backoff(conn);
		}
		/* only the main socket's install sets it, write-locked */
		clear_bit(CF_RESEND, &conn->flags);
		/* one duplicate is enough to bring the peer's ACK */
		if (conn->rs_active && probe)
			conn->rs_end = conn->rs_next + 1;
	}

	for (i = 0; conn->rs_active && i < SEND_BUDGET; i++) {
		if (conn->rs_off == conn->rs_len) {
			ret = send_ack(conn, true, &retried);
			if (ret)
				return ret;
			ret = cl->upper->resend_copy(cl, conn->nodeid,
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
			ret = send_again(conn, sock->sk, &retried);
			if (ret)
				return ret;
			continue;
		}
		if (ret <= 0)
			return ret ?: -EPIPE;
		retried = false;
		conn->rs_off += ret;
		atomic64_add(ret, &conn->tx_bytes);
	}
	if (!conn->rs_active) {
		kfree(conn->rs_buf);
		conn->rs_buf = NULL;
		return 0;
	}
	/* budget used up: SEND_PENDING stays set for the requeued run */
	queue_work(dlm_lc_io_wq, &conn->swork);
	return -EAGAIN;
}

/* Returns 0 when done, -EAGAIN when parked or requeued, or a socket error */
static int send_queue(struct dlm_lc_conn *conn)
{
	struct bio_vec bv[SEND_PAGES_MAX];
	struct socket *sock = conn->sock;
	unsigned int j, n;
	bool retried = false;
	bool boundary;
	size_t len;
	int i, ret;

	for (i = 0; i < SEND_BUDGET; i++) {
		boundary = send_at_boundary(conn);
		ret = send_ack(conn, boundary, &retried);
		if (ret)
			return ret;

		spin_lock_bh(&conn->wq.lock);
		/* never past the run's budget, which charges ranges */
		n = min_t(unsigned int, ARRAY_SIZE(bv),
			  READ_ONCE(send_pages_max));
		n = dlm_lc_wq_peek_locked(&conn->wq, bv,
					  min_t(unsigned int, n,
						SEND_BUDGET - i));
		if (!n) {
			/* an ACK asked for since we looked: go round again */
			if (test_bit(CF_ACK_PENDING, &conn->flags)) {
				spin_unlock_bh(&conn->wq.lock);
				continue;
			}
			/*
			 * A probe that came mid-message: now at a boundary, run
			 * again for it rather than leave it to the next tick
			 * (not once shut down for writing or stopped).
			 */
			if (test_bit(CF_PROBE, &conn->flags) &&
			    !test_bit(CF_SHUTDOWN, &conn->flags) &&
			    !test_bit(CF_STOP_IO, &conn->flags)) {
				spin_unlock_bh(&conn->wq.lock);
				queue_work(dlm_lc_io_wq, &conn->swork);
				return -EAGAIN;
			}
			/* commit and kick_ack set it again under this lock */
			clear_bit(CF_SEND_PENDING, &conn->flags);
			held_sent_locked(conn);
			spin_unlock_bh(&conn->wq.lock);
			wake_up_all(&conn->wait);
			return 0;
		}
		spin_unlock_bh(&conn->wq.lock);
		dlm_lc_test_inline_send_window(conn);

		for (len = 0, j = 0; j < n; j++)
			len += bv[j].bv_len;
		ret = send_bvecs(sock, bv, n, len);
		if (ret == -EAGAIN) {
			ret = send_again(conn, sock->sk, &retried);
			if (ret)
				return ret;
			continue;
		}
		if (ret <= 0)
			return ret ?: -EPIPE;
		retried = false;

		spin_lock_bh(&conn->wq.lock);
		dlm_lc_wq_advance_locked(&conn->wq, ret);
		spin_unlock_bh(&conn->wq.lock);
		atomic64_add(ret, &conn->tx_bytes);
		atomic64_inc(&conn->tx_calls);
		atomic64_add(n, &conn->tx_ranges);
		/*
		 * Charge the budget the ranges handed over, so many-page
		 * calls end a run as soon as single pages would.
		 */
		i += n - 1;
		if (wq_has_sleeper(&conn->wait))
			wake_up_all(&conn->wait);
	}

	/* budget used up: SEND_PENDING stays set for the requeued run */
	queue_work(dlm_lc_io_wq, &conn->swork);
	return -EAGAIN;
}

static bool upper_has_unacked(struct dlm_lc_conn *conn)
{
	const struct dlm_lc_upper_ops *up = conn->cl->upper;

	return up->has_unacked && up->has_unacked(conn->cl, conn->nodeid);
}

/*
 * Two nodes that dial each other at once keep two sockets, each sending on
 * its own and acknowledging the other's data with bare TCP ACKs: a round
 * trip costs more packets and wake-ups than on one socket. So the node
 * with the lower id lets its peer dial first: once per established socket
 * it needs, it waits up to dial_wait_ms, and a connect from the peer that
 * arrives meanwhile becomes our main socket (accept_install()) and ends
 * the wait (accept_kick_send() runs the retry at once). A peer that does
 * not dial (a stock node dials when it has a message for us or when we
 * join its lockspace; a stock node with the lower id dials at once, so
 * against it crossing stays possible) costs the wait, then we dial as
 * before. Not where waiting cannot help: our crossed sibling holds the
 * peer's own socket, or a graceful stop or removal wants the queue out.
 */
static bool dial_wait_applies(struct dlm_lc_conn *conn)
{
	struct dlm_lc_conn *other = READ_ONCE(conn->other);

	lockdep_assert_held(&conn->wq.lock);
	if (READ_ONCE(conn->cl->local_nodeid) > conn->nodeid ||
	    test_bit(CF_DIAL_WAITED, &conn->flags) ||
	    test_bit(CF_NO_HOLD, &conn->flags) ||
	    test_bit(CF_REMOVED, &conn->flags) ||
	    test_bit(CF_SHUTDOWN, &conn->flags) ||
	    test_bit(CF_STOP_IO, &conn->flags) || READ_ONCE(conn->sock))
		return false;
	/* a hint only: the peer's socket to us is live, it will not dial */
	return !other || !READ_ONCE(other->sock) ||
	       test_bit(CF_LEFT, &other->flags);
}

/*
 * Does the next connect belong to a retry: a backoff after a failure (or
 * connects would go out at round-trip rate), or a wait for the peer's
 * dial that this call may start? SEND_PENDING stays set for the retry.
 */
static bool connect_deferred(struct dlm_lc_conn *conn)
{
	unsigned int ms = READ_ONCE(dlm_lc_dial_wait_ms);
	bool deferred, wait = false;

	spin_lock_bh(&conn->wq.lock);
	deferred = delayed_work_pending(&conn->retry_work);
	if (!deferred && ms && dial_wait_applies(conn)) {
		/* the retry owns SEND_PENDING: no hold may give it up */
		clear_bit(CF_DONE_HOLD, &conn->flags);
		set_bit(CF_SEND_PENDING, &conn->flags);
		set_bit(CF_DIAL_WAITED, &conn->flags);
		set_bit(CF_DIAL_WAITING, &conn->flags);
		/*
		 * Not pending: others queue it under this lock, or in a
		 * send run (short of memory), and this run is the only one.
		 */
		wait = queue_delayed_work(dlm_lc_io_wq, &conn->retry_work,
					  msecs_to_jiffies(ms));
		deferred = true;
	}
	spin_unlock_bh(&conn->wq.lock);
	if (wait)
		atomic64_inc(&conn->dial_waits);
	return deferred;
}

static bool queue_empty_clear_pending(struct dlm_lc_conn *conn)
{
	bool empty;

	spin_lock_bh(&conn->wq.lock);
	empty = dlm_lc_wq_empty_locked(&conn->wq) &&
		!test_bit(CF_ACK_PENDING, &conn->flags);
	if (empty) {
		clear_bit(CF_SEND_PENDING, &conn->flags);
		held_sent_locked(conn);
		/* the need ended with no socket: the next one may wait */
		if (!READ_ONCE(conn->sock))
			clear_bit(CF_DIAL_WAITED, &conn->flags);
	}
	spin_unlock_bh(&conn->wq.lock);
	return empty;
}

/* This socket takes nothing more from us: give the run's bits back. */
static void send_run_drop(struct dlm_lc_conn *conn)
{
	spin_lock_bh(&conn->wq.lock);
	clear_bit(CF_ACK_PENDING, &conn->flags);
	clear_bit(CF_SEND_PENDING, &conn->flags);
	spin_unlock_bh(&conn->wq.lock);
}

static void send_run(struct dlm_lc_conn *conn)
{
	u64 gen;
	int ret;

	down_read(&conn->sock_lock);
	if (!conn->sock) {
		up_read(&conn->sock_lock);
		/*
		 * A receive-only sibling never connects; stopped, or shut
		 * for writing by a stop or removal under way: nothing.
		 */
		if (test_bit(CF_OTHER, &conn->flags) ||
		    test_bit(CF_STOP_IO, &conn->flags) ||
		    test_bit(CF_SHUTDOWN, &conn->flags)) {
			/* unless an accept installed a socket meanwhile */
			spin_lock_bh(&conn->wq.lock);
			if (!READ_ONCE(conn->sock)) {
				clear_bit(CF_ACK_PENDING, &conn->flags);
				clear_bit(CF_SEND_PENDING, &conn->flags);
			}
			spin_unlock_bh(&conn->wq.lock);
			return;
		}
		/* connect only when there is something to send or resend */
		if (!upper_has_unacked(conn) &&
		    queue_empty_clear_pending(conn))
			return;
		/*
		 * A retry owns the next connect: a backoff (the other worker
		 * may have closed a failed socket and scheduled it) or a wait
		 * for the peer's dial. An accept runs it at once.
		 */
		if (connect_deferred(conn))
			return;
		dlm_lc_test_connect_delay();
		ret = dlm_lc_conn_connect(conn);
		if (ret) {
			/* a stop that raced us is no failure */
			if (ret != -ESHUTDOWN)
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

	/*
	 * A moved socket its peer left is only read (sock_move_locked()),
	 * and one a graceful stop or removal shut for writing is only read
	 * until the peer's EOF: nothing is sent there. An ACK kicked before
	 * either is dropped; queued messages stay queued.
	 */
	if (test_bit(CF_LEFT, &conn->flags) ||
	    test_bit(CF_SHUTDOWN, &conn->flags)) {
		up_read(&conn->sock_lock);
		send_run_drop(conn);
		return;
	}
	gen = conn->sock_gen;
	ret = send_resend(conn);
	if (!ret)
		ret = send_queue(conn);
	up_read(&conn->sock_lock);

	/*
	 * Our own SHUT_WR came between the look above and the sendmsg
	 * (shutdown_one() takes the socket lock for read, as we do): its
	 * -EPIPE is the stop's, not a lost socket. Closing here would
	 * release the socket before the peer's EOF, tell the upper layer it
	 * was lost and redial in the middle of the stop. A pending socket
	 * error comes back as itself, not -EPIPE, and is closed below.
	 */
	if (ret == -EPIPE && test_bit(CF_SHUTDOWN, &conn->flags)) {
		send_run_drop(conn);
		return;
	}
	if (ret && ret != -EAGAIN) {
		/* a connect that failed is counted where it is closed */
		net_dbg_ratelimited("%s: send to node %d failed: %d\n",
				    conn->cl->name, conn->nodeid, ret);
		/* the retry keeps SEND_PENDING and runs us again */
		dlm_lc_conn_close_gen(conn, gen, DLM_LC_CLOSE_ERROR);
		/*
		 * A receive-only sibling has no retry: give the bit back, or
		 * every later kick (ACKs for its next socket) would be lost.
		 */
		if (test_bit(CF_OTHER, &conn->flags))
			clear_bit(CF_SEND_PENDING, &conn->flags);
	}
}

/*
 * One send run at a time per connection. swork never runs twice at once,
 * but a receive worker's run (dlm_lc_send_inline()) may meet a swork that
 * retry_work or an accept queued without taking SEND_PENDING. Whoever
 * finds a run going leaves a note (SEND_AGAIN) and goes; the run, as it
 * ends, queues swork for it. Each side changes its bit, then looks at
 * the other's, a full barrier between: one of them sees the other.
 */
static bool send_exclusive(struct dlm_lc_conn *conn)
{
	if (test_and_set_bit(CF_SEND_RUN, &conn->flags)) {
		set_bit(CF_SEND_AGAIN, &conn->flags);
		/* note before look; a failed test_and_set may not order */
		smp_mb__after_atomic();
		if (test_and_set_bit(CF_SEND_RUN, &conn->flags)) {
			dlm_lc_test_count_send_meeting();
			return false;
		}
		/* the run ended meanwhile: ours covers the note */
		clear_bit(CF_SEND_AGAIN, &conn->flags);
	}
	send_run(conn);
	clear_bit_unlock(CF_SEND_RUN, &conn->flags);
	/* leave before look, pairs with the note's barrier above */
	smp_mb__after_atomic();
	if (test_and_clear_bit(CF_SEND_AGAIN, &conn->flags)) {
		queue_work(dlm_lc_io_wq, &conn->swork);
		dlm_lc_test_work_late(conn);
	}
	return true;
}

void dlm_lc_send_work(struct work_struct *work)
{
	struct dlm_lc_conn *conn = container_of(work, struct dlm_lc_conn,
						 swork);

	dlm_lc_test_work_late(conn);
	send_exclusive(conn);
}

/*
 * The receive worker of @conn or of its second socket, after a delivery
 * run in which kicks of @conn were deferred (dlm_lc_kick_send()): that
 * worker holds SEND_PENDING for the run it owes and does the run itself,
 * as swork would have done it. A stop of @conn stops the second socket's
 * worker first and cancels swork after its own worker.
 */
void dlm_lc_send_inline(struct dlm_lc_conn *conn)
{
	if (!test_and_clear_bit(CF_SEND_INLINE, &conn->flags))
		return;
	dlm_lc_test_work_late(conn);
	/* counted only if it ran: else the running one queues swork */
	if (send_exclusive(conn))
		atomic64_inc(&conn->tx_inline);
}

#ifdef DLM_LC_TEST_HOOKS
unsigned int dlm_lc_test_inline_send_delay_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_inline_send_delay_ms);
struct completion *dlm_lc_test_inline_send_gate;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_inline_send_gate);
atomic_t dlm_lc_test_inline_send_gated = ATOMIC_INIT(0);
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_inline_send_gated);
atomic_t dlm_lc_test_send_meetings = ATOMIC_INIT(0);
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_send_meetings);

/*
 * A run of a receive worker (not swork), between its look at the queue
 * and its sendmsg: the retry fires now (no accept can: its install waits
 * for our read lock), and its swork gets the time to run, unless the
 * workqueue is ordered (serial_io). No STOP_IO test here: the retry has
 * its own, and a stop cancels the retry after this worker.
 */
void dlm_lc_test_inline_send_window(struct dlm_lc_conn *conn)
{
	struct completion *gate = READ_ONCE(dlm_lc_test_inline_send_gate);
	unsigned int ms = READ_ONCE(dlm_lc_test_inline_send_delay_ms);

	if ((!gate && !ms) || current_work() == &conn->swork)
		return;
	mod_delayed_work(dlm_lc_io_wq, &conn->retry_work, 0);
	if (gate) {
		atomic_inc(&dlm_lc_test_inline_send_gated);
		wait_for_completion_timeout(gate, 30 * HZ);
	}
	if (ms)
		msleep(ms);
}
#endif

/* never _sync: done_end() calls this under wq.lock, which a run takes */
static void owed_unguard(struct dlm_lc_conn *conn)
{
	if (delayed_work_pending(&conn->owed_work))
		cancel_delayed_work(&conn->owed_work);
}

/* a guard armed for an earlier item must not split this one's batch */
static void send_owed_queue(struct dlm_lc_conn *conn)
{
	if (test_and_clear_bit(CF_SEND_INLINE, &conn->flags))
		queue_work(dlm_lc_io_wq, &conn->swork);
	owed_unguard(conn);
}

/*
 * @reader's delivery run goes on to another item: what the items before
 * owe goes out now, by swork, rather than wait for the whole run.
 */
void dlm_lc_send_owed_queue(struct dlm_lc_conn *reader)
{
	send_owed_queue(reader);
	if (reader->primary)
		send_owed_queue(reader->primary);
}

#ifdef DLM_LC_TEST_HOOKS
unsigned int dlm_lc_test_owed_guard_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_owed_guard_ms);
#endif

/*
 * How long what one message's delivery owes waits for the item's end
 * while the next message is delivered by an upper layer that may sleep
 * there: one full tick at least (a timer of one fires at the next tick,
 * which may be microseconds away, and would split most batches), two at
 * most. One delivery takes tens of microseconds; one that waits (6.1:
 * for recovery, or an rsb's mutex) is cut short by owed_work, which
 * sends what is owed.
 */
#define OWED_GUARD_TICKS	2

static void owed_guard(struct dlm_lc_conn *conn)
{
	/* an armed guard keeps its deadline: it covers the oldest owed */
	if (test_bit(CF_SEND_INLINE, &conn->flags))
		queue_delayed_work(dlm_lc_io_wq, &conn->owed_work,
				   dlm_lc_test_owed_guard(OWED_GUARD_TICKS));
}

/*
 * @reader's delivery run goes on to the next message of an item, and the
 * upper layer may sleep in its deliver. What the messages before owe
 * stays with the run, to leave with the rest of the item's in one socket
 * call at its end rather than wake swork for it, but only for one to two
 * ticks: a reply must not wait for a delivery that sleeps.
 */
void dlm_lc_send_owed_guard(struct dlm_lc_conn *reader)
{
	owed_guard(reader);
	if (reader->primary)
		owed_guard(reader->primary);
}

/*
 * @reader's run has ended. Its connection's guard goes and, for a second
 * socket, its primary's, also one the other worker of the pair armed:
 * the caller then takes those SEND_INLINE bits itself
 * (dlm_lc_send_inline()), so what a guard covered is sent.
 */
void dlm_lc_send_owed_unguard(struct dlm_lc_conn *reader)
{
	owed_unguard(reader);
	if (reader->primary)
		owed_unguard(reader->primary);
}

/*
 * A delivery outlasted the guard: the run its receive worker owes goes
 * here. One that finds the bit gone lost it to a receive worker's run at
 * its end, to swork (a later item), to a hold (done_end()), to a second
 * socket's restart or to a stop.
 */
void dlm_lc_owed_work(struct work_struct *work)
{
	struct dlm_lc_conn *conn = container_of(to_delayed_work(work),
						 struct dlm_lc_conn,
						 owed_work);

	dlm_lc_test_work_late(conn);
	if (!test_and_clear_bit(CF_SEND_INLINE, &conn->flags))
		return;
	/* counted only if it ran: else the running one queues swork */
	if (send_exclusive(conn))
		atomic64_inc(&conn->tx_guard);
}

/*
 * At least this long what only deliver_done() wrote (6.1's DLM
 * acknowledges every read) waits for company. On the node that asks, the
 * reply it has just read wakes the task whose next request then carries
 * the ACK in its socket call; sent at once, each went in a segment of its
 * own. One tick more: a timer may fire at the next tick.
 */
#define DONE_HOLD_MS	4

static unsigned long done_hold_ticks(void)
{
	return dlm_lc_test_done_hold(msecs_to_jiffies(DONE_HOLD_MS) + 1);
}

/* @conn's sends owe nothing yet: what deliver_done writes may wait */
static void done_begin(struct dlm_lc_conn *conn)
{
	spin_lock_bh(&conn->wq.lock);
	if (!test_bit(CF_SEND_PENDING, &conn->flags))
		set_bit(CF_DONE_HOLD, &conn->flags);
	spin_unlock_bh(&conn->wq.lock);
}

/*
 * Still DONE_HOLD with a run owed: only deliver_done's writes took
 * SEND_PENDING (a commit of anyone else, kicking or not, clears
 * DONE_HOLD: dlm_lc_commit_seen()), or a SEND_INLINE left by a run that
 * emptied the queue (the hold then holds nothing). Give the run up; the
 * next commit queues swork at once and takes them along, else hold_work
 * sends them. A hold already armed keeps its deadline: a steady stream
 * of reads does not put its ACKs off. Under NO_HOLD (a graceful stop or
 * removal has begun) or STOP_IO nothing is held: the run stays owed.
 */
static void done_end(struct dlm_lc_conn *conn)
{
	spin_lock_bh(&conn->wq.lock);
	if (test_and_clear_bit(CF_DONE_HOLD, &conn->flags) &&
	    test_bit(CF_SEND_INLINE, &conn->flags) &&
	    !test_bit(CF_NO_HOLD, &conn->flags) &&
	    !test_bit(CF_STOP_IO, &conn->flags)) {
		clear_bit(CF_SEND_INLINE, &conn->flags);
		clear_bit(CF_SEND_PENDING, &conn->flags);
		if (!test_and_set_bit(CF_HELD, &conn->flags))
			queue_delayed_work(dlm_lc_io_wq, &conn->hold_work,
					   done_hold_ticks());
		/* a guard has nothing left to send */
		owed_unguard(conn);
	}
	spin_unlock_bh(&conn->wq.lock);
}

/*
 * @reader's delivery run calls the upper layer's deliver_done() for an
 * item of @reader's own node: its writes go to @reader's connection, or
 * to the primary's for a second socket. Only for an upper layer that set
 * done_may_wait.
 */
void dlm_lc_send_done_begin(struct dlm_lc_conn *reader)
{
	done_begin(reader->primary ?: reader);
}

void dlm_lc_send_done_end(struct dlm_lc_conn *reader)
{
	done_end(reader->primary ?: reader);
}

/*
 * No commit came to carry what a hold kept: send it alone, here rather
 * than in swork (one worker run, not two). Taking SEND_PENDING as a kick
 * would; one found set means a run is owed that will send it.
 */
void dlm_lc_hold_work(struct work_struct *work)
{
	struct dlm_lc_conn *conn = container_of(to_delayed_work(work),
						 struct dlm_lc_conn,
						 hold_work);
	bool run;

	dlm_lc_test_work_late(conn);
	spin_lock_bh(&conn->wq.lock);
	run = test_and_clear_bit(CF_HELD, &conn->flags) &&
	      !test_bit(CF_STOP_IO, &conn->flags) &&
	      !test_bit(CF_SHUTDOWN, &conn->flags) &&
	      !test_bit(CF_WAIT_SPACE, &conn->flags) &&
	      !test_and_set_bit(CF_SEND_PENDING, &conn->flags);
	spin_unlock_bh(&conn->wq.lock);
	if (run)
		send_exclusive(conn);
}

/*
 * A graceful stop or a node's removal is coming: from here on nothing
 * waits for company, and what waits goes now. Under wq.lock as
 * done_end() arms: a hold armed before is seen here, one later sees the
 * mark. The drain that follows waits for what it sends (queued counts
 * it): a hold must not outlive the drain, for after SHUT_WR hold_work
 * sends nothing and the stop cancels it. A connect waiting for the
 * peer's dial, or one already due, is made now, since the drain takes a
 * conn without a socket as drained. Not from a dlm_io work (it flushes
 * them).
 */
void dlm_lc_send_end_holds(struct dlm_lc_conn *conn)
{
	bool dial = false;

	spin_lock_bh(&conn->wq.lock);
	set_bit(CF_NO_HOLD, &conn->flags);
	if (test_bit(CF_HELD, &conn->flags))
		mod_delayed_work(dlm_lc_io_wq, &conn->hold_work, 0);
	/* nor does a connect wait for the peer's dial (not a backoff's) */
	if (test_bit(CF_DIAL_WAITING, &conn->flags) &&
	    !test_bit(CF_STOP_IO, &conn->flags) &&
	    delayed_work_pending(&conn->retry_work)) {
		mod_delayed_work(dlm_lc_io_wq, &conn->retry_work, 0);
		dial = true;
	}
	spin_unlock_bh(&conn->wq.lock);
	/*
	 * The drain finds no socket as drained: a connect that is due (the
	 * wait's, a retry that is running, a kicked send worker's) is made
	 * before it looks. The connect does not wait for the peer; a
	 * backoff's timer is left to run out.
	 */
	if (dial) {
		flush_delayed_work(&conn->retry_work);
	} else {
		if (READ_ONCE(conn->sock))
			return;
		/* waits for a running retry only, never for a timer */
		flush_work(&conn->retry_work.work);
	}
	flush_work(&conn->swork);
}

void dlm_lc_retry_work(struct work_struct *work)
{
	struct dlm_lc_conn *conn = container_of(to_delayed_work(work),
						 struct dlm_lc_conn,
						 retry_work);

	dlm_lc_test_work_late(conn);
	clear_bit(CF_DIAL_WAITING, &conn->flags);
	dlm_lc_test_retry_delay();
	if (!test_bit(CF_STOP_IO, &conn->flags))
		queue_work(dlm_lc_io_wq, &conn->swork);
}
