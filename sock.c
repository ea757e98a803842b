// SPDX-License-Identifier: GPL-2.0-only
/*
 * Socket side of a connection: callbacks, listen and accept, connect,
 * graceful shutdown and release.
 */

#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <net/tcp.h>

#include "addr.h"
#include "compat.h"
#include "lowcomms_int.h"
#include "test_hooks.h"

#ifdef DLM_LC_TEST_HOOKS
/* test build only: KUnit sets them directly, guest scripts as parameters */
unsigned int dlm_lc_test_callback_delay_us;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_callback_delay_us);
module_param_named(test_callback_delay_us, dlm_lc_test_callback_delay_us,
		   uint, 0644);
unsigned int dlm_lc_test_connect_delay_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_connect_delay_ms);
module_param_named(test_connect_delay_ms, dlm_lc_test_connect_delay_ms,
		   uint, 0644);
unsigned int dlm_lc_test_retry_delay_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_retry_delay_ms);
unsigned int dlm_lc_test_listen_delay_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_listen_delay_ms);
unsigned int dlm_lc_test_set_delay_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_set_delay_ms);
unsigned int dlm_lc_test_forget_hold_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_forget_hold_ms);
unsigned int dlm_lc_test_recv_delay_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_recv_delay_ms);
unsigned int dlm_lc_test_sibling_recv_delay_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_sibling_recv_delay_ms);
unsigned int dlm_lc_test_recv_end_delay_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_recv_end_delay_ms);
unsigned int dlm_lc_test_done_hold_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_done_hold_ms);
unsigned int dlm_lc_test_drained_delay_ms;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_drained_delay_ms);
atomic_t dlm_lc_test_drained = ATOMIC_INIT(0);
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_drained);
atomic_t dlm_lc_test_late_works = ATOMIC_INIT(0);
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_late_works);
atomic_t dlm_lc_test_fail_rx_buf = ATOMIC_INIT(0);
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_fail_rx_buf);
atomic_t dlm_lc_test_fail_rs_buf = ATOMIC_INIT(0);
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_test_fail_rs_buf);

/* called before STOP_IO is set: an earlier stop's mark is void */
void dlm_lc_test_stop_begins(struct dlm_lc_conn *conn)
{
	clear_bit(CF_TEST_CANCELLED, &conn->flags);
}

void dlm_lc_test_stop_cancelled(struct dlm_lc_conn *conn)
{
	set_bit(CF_TEST_CANCELLED, &conn->flags);
}

/* work queued or started: late if the stop has cancelled and not restarted */
void dlm_lc_test_work_late(struct dlm_lc_conn *conn)
{
	if (test_bit(CF_TEST_CANCELLED, &conn->flags) &&
	    test_bit(CF_STOP_IO, &conn->flags))
		atomic_inc(&dlm_lc_test_late_works);
}
#endif

const struct dlm_lc_proto_ops dlm_lc_tcp_ops = {
	.name = "tcp",
	.type = SOCK_STREAM,
	.protocol = IPPROTO_TCP,
	.shutdown_how = SHUT_WR,
};

/* names every socket we install, so that an ACK finds its socket */
static atomic64_t dlm_lc_sock_gen = ATOMIC64_INIT(0);

/*
 * Callbacks run under sk_callback_lock (read). A stopper sets STOP_IO and
 * then unhooks under the same lock held for write (stop_io_one), so a
 * callback either sees STOP_IO or finishes before the unhook: none queues
 * work after the stopper cancels it.
 */
static void kick_recv(struct dlm_lc_conn *conn)
{
	/* rwork rechecks this bit before it gives up on -EAGAIN */
	set_bit(CF_RECV_INTR, &conn->flags);
	if (test_bit(CF_STOP_IO, &conn->flags))
		return;
	dlm_lc_test_callback_delay();
	if (!test_and_set_bit(CF_RECV_PENDING, &conn->flags)) {
		queue_work(dlm_lc_io_wq, &conn->rwork);
		dlm_lc_test_work_late(conn);
	}
}

/* A parked send worker resumes: SEND_PENDING is still set for it. */
static void wake_sender(struct dlm_lc_conn *conn)
{
	if (!test_and_clear_bit(CF_WAIT_SPACE, &conn->flags))
		return;
	if (!test_bit(CF_STOP_IO, &conn->flags)) {
		dlm_lc_test_callback_delay();
		queue_work(dlm_lc_io_wq, &conn->swork);
		dlm_lc_test_work_late(conn);
	}
}

/*
 * Are we the receive worker of @conn, or of its second socket, in its
 * delivery run? Requests a stock peer sends on the socket it opened come
 * in on our second socket; the replies go out on our own.
 */
static bool kick_in_delivery(struct dlm_lc_conn *conn)
{
	struct dlm_lc_conn *other = READ_ONCE(conn->other);
	struct work_struct *work = current_work();

	if (work == &conn->rwork)
		return test_bit(CF_RX_DELIVER, &conn->flags);
	return other && work == &other->rwork &&
	       test_bit(CF_RX_DELIVER, &other->flags);
}

/*
 * A message is committed to @conn, by a writer whose commit may not kick
 * (another still writes on its page): one not made by the worker that
 * delivers is never held back with what its deliver_done wrote.
 */
void dlm_lc_commit_seen(struct dlm_lc_conn *conn)
{
	lockdep_assert_held(&conn->wq.lock);
	if (test_bit(CF_DONE_HOLD, &conn->flags) && !kick_in_delivery(conn))
		clear_bit(CF_DONE_HOLD, &conn->flags);
}

/*
 * Queue the send worker for new data; called with the write-queue lock.
 * A reply committed while the receive worker of @conn (or of its second
 * socket) delivers is sent by that worker once its delivery run ends
 * (dlm_lc_send_inline()): waking a second worker for it costs a context
 * switch per request.
 */
void dlm_lc_kick_send(struct dlm_lc_conn *conn)
{
	bool deferred;

	lockdep_assert_held(&conn->wq.lock);
	if (test_bit(CF_STOP_IO, &conn->flags) ||
	    test_bit(CF_SHUTDOWN, &conn->flags) ||
	    test_bit(CF_WAIT_SPACE, &conn->flags))
		return;
	deferred = kick_in_delivery(conn);
	/* only the delivering worker's own writes may be held back */
	if (!deferred)
		clear_bit(CF_DONE_HOLD, &conn->flags);
	if (test_and_set_bit(CF_SEND_PENDING, &conn->flags))
		return;
	if (deferred)
		set_bit(CF_SEND_INLINE, &conn->flags);
	else
		queue_work(dlm_lc_io_wq, &conn->swork);
}

static void conn_data_ready(struct sock *sk)
{
	struct dlm_lc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn)
		kick_recv(conn);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void conn_write_space(struct sock *sk)
{
	struct dlm_lc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		clear_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		wake_sender(conn);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void conn_state_change(struct sock *sk)
{
	struct dlm_lc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (!conn)
		goto out;

	switch (sk->sk_state) {
	case TCP_ESTABLISHED:
		clear_bit(CF_CONNECTING, &conn->flags);
		set_bit(CF_CONNECTED, &conn->flags);
		clear_bit(CF_END_DIAL, &conn->flags);
		clear_bit(CF_DIAL_WAITED, &conn->flags);
		atomic_set(&conn->backoff_ms, 0);
		wake_sender(conn);
		break;
	case TCP_CLOSE_WAIT:
	case TCP_CLOSE:
		clear_bit(CF_CONNECTED, &conn->flags);
		clear_bit(CF_END_DIAL, &conn->flags);
		/* let both workers find the EOF or error */
		wake_sender(conn);
		kick_recv(conn);
		break;
	default:
		break;
	}
	wake_up_all(&conn->wait);
out:
	read_unlock_bh(&sk->sk_callback_lock);
}

/* Softirq context: note it and let the workers meet the error. */
static void conn_error_report(struct sock *sk)
{
	void (*orig)(struct sock *sk) = NULL;
	struct dlm_lc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		net_dbg_ratelimited("%s: node %d: socket error %d\n",
				    conn->cl->name, conn->nodeid,
				    READ_ONCE(sk->sk_err));
		orig = conn->orig_error_report;
		wake_sender(conn);
		kick_recv(conn);
	}
	read_unlock_bh(&sk->sk_callback_lock);
	if (orig)
		orig(sk);
}

static void sock_hook(struct dlm_lc_conn *conn, struct socket *sock)
{
	struct sock *sk = sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	conn->orig_data_ready = sk->sk_data_ready;
	conn->orig_write_space = sk->sk_write_space;
	conn->orig_state_change = sk->sk_state_change;
	conn->orig_error_report = sk->sk_error_report;
	sk->sk_user_data = conn;
	sk->sk_data_ready = conn_data_ready;
	sk->sk_write_space = conn_write_space;
	sk->sk_state_change = conn_state_change;
	sk->sk_error_report = conn_error_report;
	write_unlock_bh(&sk->sk_callback_lock);
}

/* After this no callback of ours runs for @sock again. */
static void sock_unhook(struct dlm_lc_conn *conn, struct socket *sock)
{
	struct sock *sk = sock->sk;

	lock_sock(sk);
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = conn->orig_data_ready;
	sk->sk_write_space = conn->orig_write_space;
	sk->sk_state_change = conn->orig_state_change;
	sk->sk_error_report = conn->orig_error_report;
	write_unlock_bh(&sk->sk_callback_lock);
	release_sock(sk);
}

static void sock_setup(struct socket *sock, u32 mark)
{
	struct sock *sk = sock->sk;

	sk->sk_allocation = GFP_NOFS;
	dlm_lc_sock_no_task_frag(sk);
	if (mark)
		sock_set_mark(sk, mark);
	tcp_sock_set_nodelay(sk);
}

static u32 conn_mark(struct dlm_lc_conn *conn)
{
	return READ_ONCE(conn->mark) ?: READ_ONCE(conn->cl->mark);
}

static void conn_install_locked(struct dlm_lc_conn *conn, struct socket *sock)
{
	lockdep_assert_held_write(&conn->sock_lock);

	/* rwork and swork take their buffers when they need them */
	if (WARN_ON_ONCE(conn->rx_buf || conn->rs_buf)) {
		kfree(conn->rx_buf);
		conn->rx_buf = NULL;
		kfree(conn->rs_buf);
		conn->rs_buf = NULL;
	}
	conn->rx_size = READ_ONCE(conn->cl->bufsize);
	conn->rx_len = 0;
	/* a new stream: unacked messages go out again first */
	if (!test_bit(CF_OTHER, &conn->flags))
		set_bit(CF_RESEND, &conn->flags);

	conn->sock = sock;
	WRITE_ONCE(conn->sock_gen, atomic64_inc_return(&dlm_lc_sock_gen));
	sock_hook(conn, sock);
	if (READ_ONCE(sock->sk->sk_state) == TCP_ESTABLISHED) {
		set_bit(CF_CONNECTED, &conn->flags);
		/* the next socket we need may wait for the peer's dial */
		clear_bit(CF_DIAL_WAITED, &conn->flags);
	}
	if (conn->had_socket)
		atomic64_inc(&conn->reconnects);
	conn->had_socket = true;
}

/*
 * Unhook @conn's socket and forget what belonged to its stream on the
 * send side; the caller releases the socket or hands it on, with what
 * was read from it (rx_buf).
 */
static struct socket *conn_detach_locked(struct dlm_lc_conn *conn)
{
	struct socket *sock = conn->sock;
	unsigned int dropped;

	lockdep_assert_held_write(&conn->sock_lock);
	sock_unhook(conn, sock);
	clear_bit(CF_CONNECTED, &conn->flags);
	clear_bit(CF_CONNECTING, &conn->flags);
	clear_bit(CF_END_DIAL, &conn->flags);
	conn->sock = NULL;
	kfree(conn->rs_buf);
	conn->rs_buf = NULL;
	conn->rs_active = false;
	/* an ACK belongs to its socket: the upper layer asks again */
	conn->ack_len = 0;
	conn->ack_off = 0;
	clear_bit(CF_ACK_PENDING, &conn->flags);
	clear_bit(CF_RESEND, &conn->flags);
	clear_bit(CF_PROBE, &conn->flags);
	clear_bit(CF_WAIT_SPACE, &conn->flags);
	clear_bit(CF_LEFT, &conn->flags);

	spin_lock_bh(&conn->wq.lock);
	dropped = dlm_lc_wq_drop_partial_locked(&conn->wq);
	spin_unlock_bh(&conn->wq.lock);
	if (dropped)
		atomic64_add(dropped, &conn->drops);
	return sock;
}

void dlm_lc_conn_release_locked(struct dlm_lc_conn *conn)
{
	lockdep_assert_held_write(&conn->sock_lock);
	if (!conn->sock)
		return;

	sock_release(conn_detach_locked(conn));
	kfree(conn->rx_buf);
	conn->rx_buf = NULL;
	conn->rx_len = 0;
	clear_bit(CF_RX_OWED, &conn->flags);
	wake_up_all(&conn->wait);
}

static unsigned long next_backoff(struct dlm_lc_conn *conn)
{
	int ms = atomic_read(&conn->backoff_ms);

	ms = ms ? min(ms * 2, DLM_LC_BACKOFF_MAX_MS) : DLM_LC_BACKOFF_MIN_MS;
	atomic_set(&conn->backoff_ms, ms);
	return msecs_to_jiffies(ms);
}

/*
 * Run the send worker again after a backoff. SEND_PENDING stays set until
 * that worker finds the queue empty, so commits do not queue it twice.
 * Both workers may meet the same failed socket (the receive worker closes
 * it, the send worker then finds no socket): one pending retry answers
 * both, and the backoff grows once per retry, not once per caller.
 */
void dlm_lc_schedule_retry(struct dlm_lc_conn *conn)
{
	spin_lock_bh(&conn->wq.lock);
	if (!test_bit(CF_STOP_IO, &conn->flags)) {
		/* the retry owns SEND_PENDING now: no hold may give it up */
		clear_bit(CF_DONE_HOLD, &conn->flags);
		set_bit(CF_SEND_PENDING, &conn->flags);
		if (!delayed_work_pending(&conn->retry_work))
			queue_delayed_work(dlm_lc_io_wq, &conn->retry_work,
					   next_backoff(conn));
	}
	spin_unlock_bh(&conn->wq.lock);
}

/*
 * A worker of the main socket met an error on @gen, and an accept has
 * moved that socket to the sibling @other since (sock_move_locked()),
 * which may read only an EOF after it: the loss is the worker's to
 * report, once per moved socket. Called with the main's lock held.
 */
static bool moved_loss(struct dlm_lc_conn *other, u64 gen)
{
	bool first;

	down_write_nested(&other->sock_lock, SINGLE_DEPTH_NESTING);
	first = other->sock_gen == gen &&
		!test_and_set_bit(CF_LEFT_LOST, &other->flags);
	up_write(&other->sock_lock);
	return first;
}

/*
 * Close the socket named @gen (0: whatever socket is there). A worker that
 * met an error or EOF passes the socket it used: if another one was
 * installed meanwhile, it stays. May be called from the connection's own
 * workers: it never waits for them.
 *
 * @why says who else goes and who hears of it. A stop or an asked-for
 * close takes a crossed connection's receive-only sibling too. A worker's
 * close takes its own socket alone, as stock DLM does: the sibling may
 * still hold bytes the peer sent before its FIN (a graceful stop of the
 * peer shuts both sockets, and the other EOF may be read first), and it
 * ends at its own EOF.
 *
 * The upper layer hears of a loss when the established socket met an
 * error: the worker's own, or a reset that came after the peer's FIN
 * (the receive worker reads the FIN first, and sk_err is still set), so
 * that which worker closes does not decide it. Like stock DLM, which
 * resends from its error report: not for a clean EOF, which follows the
 * peer's FIN handshake, after which its upper layer may have begun a new
 * session that copies of the old one must not reach.
 */
void dlm_lc_conn_close_gen(struct dlm_lc_conn *conn, u64 gen,
			   enum dlm_lc_close why)
{
	const struct dlm_lc_upper_ops *up = conn->cl->upper;
	struct dlm_lc_conn *other;
	bool lost, left, newer;

	down_write(&conn->sock_lock);
	if (gen && (!conn->sock || conn->sock_gen != gen)) {
		newer = conn->sock;
		lost = why == DLM_LC_CLOSE_ERROR && conn->other &&
		       moved_loss(conn->other, gen);
		up_write(&conn->sock_lock);
		/*
		 * An accept installed a socket after our worker let go of
		 * the lock, and its kick may have met RECV_PENDING, which
		 * the receive worker clears only on its way here.
		 */
		if (newer)
			kick_recv(conn);
		if (lost && up->sock_lost)
			up->sock_lost(conn->cl, conn->nodeid);
		return;
	}
	/* a connect that never completed carried nothing: nothing is lost */
	lost = conn->sock && !test_bit(CF_CONNECTING, &conn->flags) &&
	       (why == DLM_LC_CLOSE_ERROR || READ_ONCE(conn->sock->sk->sk_err));
	/*
	 * Whichever worker meets the refused or timed-out connect first
	 * closes it (on SMP often the receive worker): count it here. Only
	 * a worker's close names its socket (@gen); a stop's or an admin
	 * close's does not, and is no failure.
	 */
	if (gen && test_bit(CF_CONNECTING, &conn->flags))
		atomic64_inc(&conn->connect_fail);
	left = test_bit(CF_LEFT, &conn->flags);
	dlm_lc_conn_release_locked(conn);
	other = conn->other;
	if (other && (why == DLM_LC_CLOSE_STOP || why == DLM_LC_CLOSE_ASKED)) {
		down_write_nested(&other->sock_lock, SINGLE_DEPTH_NESTING);
		dlm_lc_conn_release_locked(other);
		up_write(&other->sock_lock);
	}
	up_write(&conn->sock_lock);

	if (why == DLM_LC_CLOSE_STOP)
		return;
	if (test_bit(CF_OTHER, &conn->flags)) {
		/* a main stream moved here (sock_move_locked()) ends here */
		if (left && lost && up->sock_lost &&
		    !test_and_set_bit(CF_LEFT_LOST, &conn->flags))
			up->sock_lost(conn->cl, conn->nodeid);
		return;
	}
	/*
	 * Before the retry: what the upper layer queues now brings a
	 * connect. Not for a receive-only sibling: the node's own socket,
	 * which carries what is sent, may be fine.
	 */
	if (lost && up->sock_lost)
		up->sock_lost(conn->cl, conn->nodeid);
	dlm_lc_schedule_retry(conn);
}

void dlm_lc_conn_close(struct dlm_lc_conn *conn, enum dlm_lc_close why)
{
	dlm_lc_conn_close_gen(conn, 0, why);
}

int dlm_lc_conn_connect(struct dlm_lc_conn *conn)
{
	struct dlm_lc_cluster *cl = conn->cl;
	struct sockaddr_storage peer, local;
	struct socket *sock;
	int plen, llen, ret;

	spin_lock(&conn->addr_lock);
	if (!conn->addr_count) {
		spin_unlock(&conn->addr_lock);
		return -EDESTADDRREQ;
	}
	plen = dlm_lc_addr_with_port(&conn->addrs[0], cl->port, &peer);
	spin_unlock(&conn->addr_lock);
	llen = dlm_lc_addr_with_port(&cl->local_addr, 0, &local);
	if (peer.ss_family != local.ss_family)
		return -EAFNOSUPPORT;

	down_write(&conn->sock_lock);
	if (conn->sock) {
		/* an accepted socket arrived first */
		ret = 0;
		goto out_unlock;
	}
	/* a stopper sets this before it takes our lock to unhook */
	ret = -ESHUTDOWN;
	if (test_bit(CF_STOP_IO, &conn->flags))
		goto out_unlock;

	ret = sock_create_kern(cl->net, peer.ss_family, cl->ops->type,
			       cl->ops->protocol, &sock);
	if (ret)
		goto out_unlock;
	sock_setup(sock, conn_mark(conn));

	/* The peer recognises us by the source address: use ours. */
	ret = kernel_bind(sock, dlm_lc_sa(&local), llen);
	if (ret)
		goto out_release;

	conn_install_locked(conn, sock);

	/* before the connect: ESTABLISHED can come at once and clears it */
	set_bit(CF_CONNECTING, &conn->flags);
	/* a graceful end waits for this one before the upper's FIN */
	if (test_bit(CF_NO_HOLD, &conn->flags))
		set_bit(CF_END_DIAL, &conn->flags);
	ret = kernel_connect(sock, dlm_lc_sa(&peer), plen, O_NONBLOCK);
	if (ret == -EINPROGRESS)
		ret = 0;
	/* the send worker counts a failure returned from here */
	if (ret)
		dlm_lc_conn_release_locked(conn);
	goto out_unlock;

out_release:
	sock_release(sock);
out_unlock:
	up_write(&conn->sock_lock);
	return ret;
}

static struct dlm_lc_conn *other_get_locked(struct dlm_lc_conn *conn)
{
	struct dlm_lc_conn *other;

	lockdep_assert_held_write(&conn->sock_lock);
	if (conn->other)
		return conn->other;

	other = kzalloc(sizeof(*other), GFP_NOFS);
	if (!other)
		return NULL;
	dlm_lc_conn_init(other, conn->cl, conn->nodeid);
	/* one lane per node: its reads queue behind the primary's */
	other->node_lane = conn->node_lane;
	set_bit(CF_OTHER, &other->flags);
	other->primary = conn;
	clear_bit(CF_STOP_IO, &other->flags);
	/* one nesting level: lockdep sees conn -> other, never reverse */
	lockdep_set_subclass(&other->sock_lock, SINGLE_DEPTH_NESTING);
	/* status readers look without the lock: publish it initialised */
	smp_store_release(&conn->other, other);
	return other;
}

/*
 * Has the peer left @conn's socket (its FIN, or an error, came)? A stock
 * peer dials only once it has released its old socket, so bytes we sent
 * there now would meet a reset. Not while our own close or connect is
 * under way.
 */
static bool conn_peer_left(struct dlm_lc_conn *conn)
{
	struct sock *sk = conn->sock->sk;

	lockdep_assert_held_write(&conn->sock_lock);
	/* our own close, or our connect (a refused one carried nothing) */
	if (test_bit(CF_SHUTDOWN, &conn->flags) ||
	    test_bit(CF_CONNECTING, &conn->flags))
		return false;
	return READ_ONCE(sk->sk_err) ||
	       (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN);
}

/*
 * @conn's socket, which its peer has left, goes to the receive-only
 * sibling @other (no socket of its own now) to be read to its end, with
 * the part of a message already read from it and the name (sock_gen) its
 * queued messages carry. @conn is left as a release leaves it.
 */
static void sock_move_locked(struct dlm_lc_conn *conn,
			     struct dlm_lc_conn *other)
{
	struct socket *sock;

	lockdep_assert_held_write(&other->sock_lock);
	sock = conn_detach_locked(conn);
	other->rx_buf = conn->rx_buf;
	other->rx_size = conn->rx_size;
	other->rx_len = conn->rx_len;
	conn->rx_buf = NULL;
	conn->rx_len = 0;
	if (test_and_clear_bit(CF_RX_OWED, &conn->flags))
		set_bit(CF_RX_OWED, &other->flags);
	/*
	 * It reports the main stream's loss at its close, and sends
	 * nothing: marked before its gen is published to kick_ack.
	 */
	clear_bit(CF_LEFT_LOST, &other->flags);
	set_bit(CF_LEFT, &other->flags);
	/* the flag before the gen: dlm_lc_node_kick_ack() reads no lock */
	smp_mb__after_atomic();
	other->sock = sock;
	WRITE_ONCE(other->sock_gen, conn->sock_gen);
	sock_hook(other, sock);
	wake_up_all(&conn->wait);
}

/*
 * Both ends may connect at once. Like stock DLM we keep the second socket
 * as a receive-only sibling rather than tearing one down, since a stock
 * peer sends on whichever socket it opened. But a peer that dials again
 * after leaving our main socket gets the new one as main: the old one
 * becomes the sibling until its end is read (*@moved). What it still
 * holds and what comes on the new one are read concurrently, as with
 * crossed sockets: no order is kept between the two.
 */
static struct dlm_lc_conn *accept_install(struct dlm_lc_conn *conn,
					  struct socket *sock, bool *moved)
{
	struct dlm_lc_conn *target = conn, *other;
	int ret = -ESHUTDOWN;

	*moved = false;
	down_write(&conn->sock_lock);
	if (test_bit(CF_STOP_IO, &conn->flags))
		goto out_unlock;

	if (!conn->sock) {
		/* the peer's dial we waited for (dial_wait_applies()) */
		if (test_bit(CF_DIAL_WAITED, &conn->flags))
			atomic64_inc(&conn->dial_wait_hits);
		conn_install_locked(conn, sock);
		ret = 0;
		goto out_unlock;
	}

	ret = -ENOMEM;
	other = other_get_locked(conn);
	if (!other)
		goto out_unlock;
	down_write_nested(&other->sock_lock, SINGLE_DEPTH_NESTING);
	/*
	 * The sibling still reads a moved main socket to its end: taking
	 * its place would drop what the peer sent there. This one goes;
	 * the peer dials again.
	 */
	ret = -EBUSY;
	if (test_bit(CF_LEFT, &other->flags)) {
		up_write(&other->sock_lock);
		goto out_unlock;
	}
	dlm_lc_conn_release_locked(other);
	/*
	 * A stop left these set; the main connection is running again. No
	 * worker of the sibling holds its lock now, and one still queued
	 * finds the new socket: SEND_PENDING from the old one must not make
	 * kicks for this one no-ops.
	 */
	clear_bit(CF_SHUTDOWN, &other->flags);
	clear_bit(CF_EOF, &other->flags);
	clear_bit(CF_STOP_IO, &other->flags);
	clear_bit(CF_SEND_PENDING, &other->flags);
	clear_bit(CF_SEND_INLINE, &other->flags);
	if (conn_peer_left(conn)) {
		sock_move_locked(conn, other);
		conn_install_locked(conn, sock);
		*moved = true;
	} else {
		target = other;
		conn_install_locked(other, sock);
	}
	ret = 0;
	up_write(&other->sock_lock);

out_unlock:
	up_write(&conn->sock_lock);
	return ret ? ERR_PTR(ret) : target;
}

/* An accepted child inherited the listener's callback: give back its own. */
static void child_unhook(struct dlm_lc_cluster *cl, struct socket *sock)
{
	write_lock_bh(&sock->sk->sk_callback_lock);
	sock->sk->sk_user_data = NULL;
	sock->sk->sk_data_ready = cl->listen_orig_data_ready;
	write_unlock_bh(&sock->sk->sk_callback_lock);
}

/*
 * A new main socket: what was owed to the old one, or waited for the
 * peer's dial (retry), goes out now.
 */
static void accept_kick_send(struct dlm_lc_conn *conn)
{
	spin_lock_bh(&conn->wq.lock);
	atomic_set(&conn->backoff_ms, 0);
	if (test_bit(CF_SEND_PENDING, &conn->flags)) {
		/* a connect retry or dial wait holds the bit: run it now */
		if (!test_bit(CF_STOP_IO, &conn->flags))
			mod_delayed_work(dlm_lc_io_wq, &conn->retry_work, 0);
	} else {
		/* the worker resends unacked messages, then the queue */
		dlm_lc_kick_send(conn);
	}
	spin_unlock_bh(&conn->wq.lock);
}

static void accept_one(struct dlm_lc_cluster *cl, struct socket *sock)
{
	struct dlm_lc_conn *conn, *target;
	struct sockaddr_storage peer;
	bool moved;
	int idx, ret;

	child_unhook(cl, sock);
	ret = kernel_getpeername(sock, (struct sockaddr *)&peer);
	if (ret < 0)
		goto out_release;

	idx = srcu_read_lock(&cl->srcu);
	conn = dlm_lc_conn_find_addr(cl, &peer);
	if (!conn || conn->nodeid == READ_ONCE(cl->local_nodeid)) {
		srcu_read_unlock(&cl->srcu, idx);
		atomic64_inc(&cl->refused);
		net_info_ratelimited("%s: refused connection from unconfigured address %pISc\n",
				     cl->name, &peer);
		goto out_release;
	}

	sock_setup(sock, conn_mark(conn));
	target = accept_install(conn, sock, &moved);
	if (IS_ERR(target)) {
		srcu_read_unlock(&cl->srcu, idx);
		goto out_release;
	}
	atomic64_inc(&cl->accepted);

	/* bytes may have arrived before our callbacks were in place */
	kick_recv(target);
	/* and a moved socket's end is read by the sibling now */
	if (moved)
		kick_recv(conn->other);
	if (target == conn)
		accept_kick_send(conn);
	srcu_read_unlock(&cl->srcu, idx);
	return;

out_release:
	sock_release(sock);
}

void dlm_lc_accept_work(struct work_struct *work)
{
	struct dlm_lc_cluster *cl = container_of(work, struct dlm_lc_cluster,
						 accept_work);
	struct socket *sock;
	int i, ret;

	for (i = 0; i < 32; i++) {
		ret = kernel_accept(cl->listen_sock, &sock, O_NONBLOCK);
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			net_warn_ratelimited("%s: accept failed: %d\n",
					     cl->name, ret);
			return;
		}
		accept_one(cl, sock);
	}
	/* let other work run, then continue with the backlog */
	queue_work(dlm_lc_io_wq, work);
}

static void listen_data_ready(struct sock *sk)
{
	struct dlm_lc_cluster *cl;

	read_lock_bh(&sk->sk_callback_lock);
	cl = sk->sk_user_data;
	/* children inherit this callback until accepted: ignore them */
	if (cl && sk->sk_state == TCP_LISTEN)
		queue_work(dlm_lc_io_wq, &cl->accept_work);
	read_unlock_bh(&sk->sk_callback_lock);
}

int dlm_lc_listen_start(struct dlm_lc_cluster *cl)
{
	struct sockaddr_storage ss;
	struct socket *sock;
	int len, ret;

	lockdep_assert_held(&cl->lock);
	len = dlm_lc_addr_with_port(&cl->local_addr, cl->port, &ss);
	ret = sock_create_kern(cl->net, ss.ss_family, cl->ops->type,
			       cl->ops->protocol, &sock);
	if (ret)
		return ret;
	sock_setup(sock, cl->mark);
	sock_set_reuseaddr(sock->sk);

	ret = kernel_bind(sock, dlm_lc_sa(&ss), len);
	if (ret) {
		pr_err("%s: cannot bind %pISpc: %d%s\n", cl->name, &ss, ret,
		       ret == -EADDRINUSE ?
		       " (port in use, is dlm.ko or another instance listening?)" :
		       "");
		goto out_release;
	}
	ret = kernel_listen(sock, 128);
	if (ret)
		goto out_release;
	/* test build: peers connect before our callback is in place */
	dlm_lc_test_listen_delay();

	/* accept_work uses listen_sock: set it before the callback can fire */
	cl->listen_sock = sock;
	/* what dlm_lc_listen_stop() puts back, armed or not */
	cl->listen_orig_data_ready = sock->sk->sk_data_ready;
	return 0;

out_release:
	sock_release(sock);
	return ret;
}

/*
 * Accept from now on: called once the connections take I/O (an accept
 * before that would find them stopped and drop the socket). Peers that
 * connected since listen() wait in the backlog: one accept run takes them.
 */
void dlm_lc_listen_arm(struct dlm_lc_cluster *cl)
{
	struct sock *sk = cl->listen_sock->sk;

	lockdep_assert_held(&cl->lock);
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = cl;
	sk->sk_data_ready = listen_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	queue_work(dlm_lc_io_wq, &cl->accept_work);
}

void dlm_lc_listen_stop(struct dlm_lc_cluster *cl)
{
	struct sock *sk;

	lockdep_assert_held(&cl->lock);
	if (!cl->listen_sock)
		return;

	sk = cl->listen_sock->sk;
	lock_sock(sk);
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = cl->listen_orig_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	release_sock(sk);

	cancel_work_sync(&cl->accept_work);
	sock_release(cl->listen_sock);
	cl->listen_sock = NULL;
}

static void shutdown_one(struct dlm_lc_conn *conn)
{
	down_read(&conn->sock_lock);
	if (conn->sock) {
		set_bit(CF_SHUTDOWN, &conn->flags);
		kernel_sock_shutdown(conn->sock, conn->cl->ops->shutdown_how);
	}
	up_read(&conn->sock_lock);
}

/* Tell the peer we are done: it reads to our FIN, then closes its side. */
void dlm_lc_conn_shutdown_begin(struct dlm_lc_conn *conn)
{
	shutdown_one(conn);
	if (conn->other)
		shutdown_one(conn->other);
}

static bool shutdown_done(struct dlm_lc_conn *conn)
{
	return test_bit(CF_EOF, &conn->flags) || !READ_ONCE(conn->sock) ||
	       !test_bit(CF_SHUTDOWN, &conn->flags);
}

void dlm_lc_conn_shutdown_wait(struct dlm_lc_conn *conn, unsigned long end)
{
	long left = max_t(long, (long)(end - jiffies), 1);

	wait_event_timeout(conn->wait, shutdown_done(conn), left);
	if (conn->other) {
		left = max_t(long, (long)(end - jiffies), 1);
		wait_event_timeout(conn->other->wait,
				   shutdown_done(conn->other), left);
	}
}

static void stop_io_one(struct dlm_lc_conn *conn)
{
	spin_lock_bh(&conn->wq.lock);
	dlm_lc_test_stop_begins(conn);
	set_bit(CF_STOP_IO, &conn->flags);
	spin_unlock_bh(&conn->wq.lock);
	/*
	 * A receive worker may wait for the lanes to drain, holding
	 * sock_lock for read: wake it before we queue for that lock ourselves.
	 */
	wake_up_all(&conn->cl->process_wait);

	/*
	 * Our callbacks go before the workers are cancelled: one that ran
	 * before could queue work again after the cancel. The socket itself
	 * stays until close or free; installs check STOP_IO under the write
	 * side, so none can come after this.
	 */
	down_read(&conn->sock_lock);
	if (conn->sock)
		sock_unhook(conn, conn->sock);
	up_read(&conn->sock_lock);

	cancel_delayed_work_sync(&conn->retry_work);
	cancel_delayed_work_sync(&conn->hold_work);
	cancel_work_sync(&conn->swork);
	cancel_work_sync(&conn->rwork);
	/*
	 * A worker that ran during the cancels may have queued a retry, and
	 * rwork's send run (dlm_lc_send_inline()) swork, for what its budget
	 * left. owed_work is armed by rwork, or by the second socket's,
	 * stopped before us (dlm_lc_conn_stop_io()); its run may queue swork.
	 */
	cancel_delayed_work_sync(&conn->owed_work);
	cancel_work_sync(&conn->swork);
	cancel_delayed_work_sync(&conn->retry_work);
	cancel_delayed_work_sync(&conn->hold_work);
	dlm_lc_test_stop_cancelled(conn);
	clear_bit(CF_SEND_PENDING, &conn->flags);
	clear_bit(CF_SEND_INLINE, &conn->flags);
	clear_bit(CF_RECV_PENDING, &conn->flags);
	clear_bit(CF_WAIT_SPACE, &conn->flags);
	clear_bit(CF_ACK_PENDING, &conn->flags);
	clear_bit(CF_DONE_HOLD, &conn->flags);
	clear_bit(CF_HELD, &conn->flags);
	clear_bit(CF_NO_HOLD, &conn->flags);
	clear_bit(CF_DIAL_WAITED, &conn->flags);
	clear_bit(CF_DIAL_WAITING, &conn->flags);
	clear_bit(CF_END_DIAL, &conn->flags);
}

/*
 * After this no worker of @conn runs and none will be queued. No accept
 * may create or restart @conn's sibling meanwhile: the caller has either
 * stopped the listener (cluster stop) or unhashed @conn and waited out
 * cl->srcu, which accept_one() holds over its lookup and install (node
 * removal). So conn->other, read here without the lock, is final.
 */
void dlm_lc_conn_stop_io(struct dlm_lc_conn *conn)
{
	might_sleep();
	/*
	 * The second socket's receive worker may run our send worker's code
	 * (dlm_lc_send_inline()): it stops first, so none runs after ours.
	 * Our STOP_IO goes first of all: an accept may not restart the
	 * second socket, nor its run connect us, in between.
	 */
	if (conn->other) {
		spin_lock_bh(&conn->wq.lock);
		dlm_lc_test_stop_begins(conn);
		set_bit(CF_STOP_IO, &conn->flags);
		spin_unlock_bh(&conn->wq.lock);
		stop_io_one(conn->other);
	}
	stop_io_one(conn);
}

/* I/O is stopped and no lookup can find @conn any more. */
void dlm_lc_conn_free(struct dlm_lc_conn *conn)
{
	struct dlm_lc_conn *other = conn->other;

	if (other) {
		down_write(&other->sock_lock);
		dlm_lc_conn_release_locked(other);
		up_write(&other->sock_lock);
		mutex_destroy(&other->lane.mutex);
		kfree(other);
	}
	down_write(&conn->sock_lock);
	dlm_lc_conn_release_locked(conn);
	up_write(&conn->sock_lock);
	dlm_lc_wq_purge(&conn->wq);
	mutex_destroy(&conn->lane.mutex);
	kfree(conn);
}
