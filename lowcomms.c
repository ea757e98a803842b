// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cluster instances and their nodes: settings, start and stop, the send
 * API, and the workqueues every instance shares.
 */

#include <linux/hash.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "addr.h"
#include "lowcomms_int.h"
#include "test_hooks.h"

struct workqueue_struct *dlm_lc_io_wq;
struct workqueue_struct *dlm_lc_process_wq;
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_process_wq);

/* every instance, so that a dying namespace finds its own */
static LIST_HEAD(dlm_lc_instances);
static DEFINE_MUTEX(dlm_lc_instances_mutex);

/* until an upper layer registers: a start fails, nothing is delivered */
static void no_upper_deliver(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
			     const void *buf, size_t len)
{
}

static const struct dlm_lc_upper_ops no_upper = {
	.deliver = no_upper_deliver,
};

#define for_each_conn(cl, conn, bkt)					\
	for ((bkt) = 0; (bkt) < DLM_LC_HASH_SIZE; (bkt)++)		\
		hlist_for_each_entry_srcu(conn, &(cl)->conns[bkt], hnode, \
					  lockdep_is_held(&(cl)->lock))

static struct hlist_head *conn_bucket(struct dlm_lc_cluster *cl, int nodeid)
{
	return &cl->conns[hash_32(nodeid, DLM_LC_HASH_BITS)];
}

/* Caller holds cl->srcu or cl->lock. */
struct dlm_lc_conn *dlm_lc_conn_find(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_conn *conn;

	hlist_for_each_entry_srcu(conn, conn_bucket(cl, nodeid), hnode,
				  srcu_read_lock_held(&cl->srcu) ||
				  lockdep_is_held(&cl->lock)) {
		if (conn->nodeid == nodeid)
			return conn;
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_conn_find);

static bool conn_has_addr(struct dlm_lc_conn *conn,
			  const struct sockaddr_storage *ss)
{
	bool found = false;
	int i;

	spin_lock(&conn->addr_lock);
	for (i = 0; i < conn->addr_count && !found; i++)
		found = dlm_lc_addr_equal(&conn->addrs[i], ss);
	spin_unlock(&conn->addr_lock);
	return found;
}

/* Caller holds cl->srcu. */
struct dlm_lc_conn *dlm_lc_conn_find_addr(struct dlm_lc_cluster *cl,
					  const struct sockaddr_storage *ss)
{
	struct dlm_lc_conn *conn;
	int bkt;

	for (bkt = 0; bkt < DLM_LC_HASH_SIZE; bkt++) {
		hlist_for_each_entry_srcu(conn, &cl->conns[bkt], hnode,
					  srcu_read_lock_held(&cl->srcu)) {
			if (conn_has_addr(conn, ss))
				return conn;
		}
	}
	return NULL;
}

void dlm_lc_conn_init(struct dlm_lc_conn *conn, struct dlm_lc_cluster *cl,
		      int nodeid)
{
	conn->cl = cl;
	conn->nodeid = nodeid;
	init_rwsem(&conn->sock_lock);
	INIT_WORK(&conn->rwork, dlm_lc_recv_work);
	INIT_WORK(&conn->swork, dlm_lc_send_work);
	INIT_DELAYED_WORK(&conn->retry_work, dlm_lc_retry_work);
	INIT_DELAYED_WORK(&conn->hold_work, dlm_lc_hold_work);
	INIT_DELAYED_WORK(&conn->owed_work, dlm_lc_owed_work);
	dlm_lc_lane_init(&conn->lane, cl);
	conn->node_lane = &conn->lane;
	dlm_lc_wq_init(&conn->wq);
	init_waitqueue_head(&conn->wait);
	spin_lock_init(&conn->addr_lock);
	/* no I/O until the instance starts */
	set_bit(CF_STOP_IO, &conn->flags);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_conn_init);

struct dlm_lc_cluster *dlm_lc_cluster_create(const char *name, struct net *net)
{
	struct dlm_lc_cluster *cl;
	int ret;

	if (!name || !*name || strlen(name) >= DLM_LC_NAME_LEN)
		return ERR_PTR(-EINVAL);

	cl = kzalloc(sizeof(*cl), GFP_KERNEL);
	if (!cl)
		return ERR_PTR(-ENOMEM);

	strscpy(cl->name, name, sizeof(cl->name));
	cl->net = net;
	mutex_init(&cl->lock);
	cl->port = DLM_LC_DEFAULT_PORT;
	cl->proto = DLM_LC_PROTO_TCP;
	cl->ops = &dlm_lc_tcp_ops;
	cl->bufsize = DLM_LC_DEFAULT_BUFSIZE;
	INIT_WORK(&cl->accept_work, dlm_lc_accept_work);
	spin_lock_init(&cl->process_lock);
	dlm_lc_rx_spares_init(cl);
	dlm_lc_lane_init(&cl->lane, cl);
	init_waitqueue_head(&cl->process_wait);
	cl->process_limit = DLM_LC_PROCESS_LIMIT;
	cl->wq_limit = DLM_LC_WQ_LIMIT;

	ret = init_srcu_struct(&cl->srcu);
	if (ret)
		goto out_free;

	cl->upper = &no_upper;

	mutex_lock(&dlm_lc_instances_mutex);
	list_add_tail(&cl->list, &dlm_lc_instances);
	mutex_unlock(&dlm_lc_instances_mutex);
	return cl;

out_free:
	kfree(cl);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_create);

static bool conn_drained(struct dlm_lc_conn *conn)
{
	return (READ_ONCE(conn->wq.queued) == 0 &&
		!test_bit(CF_ACK_PENDING, &conn->flags) &&
		!READ_ONCE(conn->ack_len)) ||
	       !READ_ONCE(conn->sock) || test_bit(CF_STOP_IO, &conn->flags);
}

static void conn_drain_wait(struct dlm_lc_conn *conn, unsigned long end)
{
	long left = max_t(long, (long)(end - jiffies), 1);
	struct dlm_lc_conn *other = conn->other;

	wait_event_timeout(conn->wait, conn_drained(conn), left);
	/* the last ACKs may go back on the crossed socket */
	if (other) {
		left = max_t(long, (long)(end - jiffies), 1);
		wait_event_timeout(other->wait, conn_drained(other), left);
	}
}

/*
 * The upper layer's FIN exchange goes only to connected nodes: give the
 * connects made since the end began (END_DIAL: dlm_lc_send_end_holds()'s,
 * or a backoff's that fired meanwhile) until @until to come up. One short
 * bound for all, so that this wait for a peer that does not answer is
 * not paid once per peer.
 */
static void conn_end_dial_wait(struct dlm_lc_conn *conn, unsigned long until)
{
	long left = max_t(long, (long)(until - jiffies), 1);

	wait_event_timeout(conn->wait, !test_bit(CF_END_DIAL, &conn->flags),
			   left);
}

static unsigned long end_dial_until(unsigned long end)
{
	unsigned long until = jiffies + DLM_LC_END_DIAL_TIMEOUT;

	return time_before(end, until) ? end : until;
}

/*
 * Graceful: let queued data go out, SHUT_WR, wait for every peer's EOF,
 * all within one deadline. Then stop the workers and release the sockets.
 */
static void cluster_stop_locked(struct dlm_lc_cluster *cl, bool graceful)
{
	unsigned long end = jiffies + DLM_LC_SHUTDOWN_TIMEOUT;
	struct dlm_lc_conn *conn;
	unsigned long until;
	int bkt;

	lockdep_assert_held(&cl->lock);
	if (!cl->running)
		return;
	cl->running = false;
	dlm_lc_listen_stop(cl);

	if (graceful) {
		/* what an ACK hold keeps goes before the drain's end */
		for_each_conn(cl, conn, bkt)
			dlm_lc_send_end_holds(conn);
		/* FIN to 3.2 peers once they have acked what we sent */
		if (cl->upper->stop) {
			until = end_dial_until(end);
			for_each_conn(cl, conn, bkt)
				conn_end_dial_wait(conn, until);
			cl->upper->stop(cl, end);
		}
		for_each_conn(cl, conn, bkt)
			conn_drain_wait(conn, end);
		dlm_lc_test_drained_delay();
		for_each_conn(cl, conn, bkt)
			dlm_lc_conn_shutdown_begin(conn);
		for_each_conn(cl, conn, bkt)
			dlm_lc_conn_shutdown_wait(conn, end);
	}

	for_each_conn(cl, conn, bkt) {
		dlm_lc_conn_stop_io(conn);
		dlm_lc_conn_close(conn, DLM_LC_CLOSE_STOP);
		if (cl->lane_per_node)
			dlm_lc_lane_purge(&conn->lane);
	}
	dlm_lc_process_purge(cl);
	/* no receive worker runs now: a stopped instance keeps no buffers */
	dlm_lc_rx_spares_free(cl);
}

static void conn_start_io(struct dlm_lc_conn *conn)
{
	static const int bits[] = { CF_SEND_PENDING, CF_SEND_INLINE,
				    CF_RECV_PENDING, CF_RECV_INTR,
				    CF_WAIT_SPACE, CF_SHUTDOWN, CF_EOF };
	int i;

	for (i = 0; i < ARRAY_SIZE(bits); i++)
		clear_bit(bits[i], &conn->flags);
	atomic_set(&conn->backoff_ms, 0);

	/* the worker connects if it has queued or unacked messages */
	spin_lock_bh(&conn->wq.lock);
	clear_bit(CF_STOP_IO, &conn->flags);
	dlm_lc_kick_send(conn);
	spin_unlock_bh(&conn->wq.lock);
}

static int local_addr_get(struct dlm_lc_cluster *cl)
{
	struct dlm_lc_conn *local;
	int ret = -EADDRNOTAVAIL;

	local = cl->local_nodeid ? dlm_lc_conn_find(cl, cl->local_nodeid) :
				   NULL;
	if (!local)
		return ret;
	spin_lock(&local->addr_lock);
	if (local->addr_count) {
		cl->local_addr = local->addrs[0];
		ret = 0;
	}
	spin_unlock(&local->addr_lock);
	return ret;
}

int dlm_lc_cluster_start(struct dlm_lc_cluster *cl)
{
	struct dlm_lc_conn *conn;
	int bkt, ret;

	mutex_lock(&cl->lock);
	ret = 0;
	if (cl->running)
		goto out_unlock;
	ret = -ENETDOWN;
	if (!cl->net)
		goto out_unlock;
	ret = -ENXIO;
	if (cl->upper == &no_upper) {
		pr_err("%s: start needs an upper layer\n", cl->name);
		goto out_unlock;
	}
	ret = local_addr_get(cl);
	if (ret) {
		pr_err("%s: start needs a local node with an address\n",
		       cl->name);
		goto out_unlock;
	}
	ret = dlm_lc_listen_start(cl);
	if (ret)
		goto out_unlock;
	if (cl->upper->start)
		cl->upper->start(cl);

	for_each_conn(cl, conn, bkt) {
		if (conn->nodeid != cl->local_nodeid)
			conn_start_io(conn);
	}
	dlm_lc_listen_arm(cl);
	cl->running = true;
out_unlock:
	mutex_unlock(&cl->lock);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_start);

void dlm_lc_cluster_stop(struct dlm_lc_cluster *cl)
{
	mutex_lock(&cl->lock);
	cluster_stop_locked(cl, true);
	mutex_unlock(&cl->lock);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_stop);

/* The namespace is going away: no graceful close, its links may be gone. */
void dlm_lc_net_exit(struct net *net)
{
	struct dlm_lc_cluster *cl;

	mutex_lock(&dlm_lc_instances_mutex);
	list_for_each_entry(cl, &dlm_lc_instances, list) {
		if (cl->net != net)
			continue;
		mutex_lock(&cl->lock);
		cluster_stop_locked(cl, false);
		cl->net = NULL;
		mutex_unlock(&cl->lock);
		pr_info("%s: network namespace gone, instance stopped\n",
			cl->name);
	}
	mutex_unlock(&dlm_lc_instances_mutex);
}

/*
 * Writers hold cl->srcu from dlm_lc_msg_alloc() to dlm_lc_msg_commit(),
 * except while they sleep for queue room: then they count in room_waiters,
 * and REMOVED wakes them. After the grace period and the count's fall to
 * zero no lookup finds @conn and no writer still touches it (a woken
 * sleeper drops its count inside a read section that it leaves only
 * after: destroy waits for that with a last grace period).
 */
static void conn_remove(struct dlm_lc_cluster *cl, struct dlm_lc_conn *conn,
			bool graceful, unsigned long end)
{
	lockdep_assert_held(&cl->lock);
	hlist_del_init_rcu(&conn->hnode);
	set_bit(CF_REMOVED, &conn->flags);
	wake_up_all(&conn->wait);
	synchronize_srcu(&cl->srcu);
	wait_var_event(&conn->room_waiters,
		       !atomic_read(&conn->room_waiters));

	/* graceful only from dlm_lc_node_remove(): it ended the holds */
	if (graceful && !test_bit(CF_STOP_IO, &conn->flags)) {
		conn_drain_wait(conn, end);
		dlm_lc_conn_shutdown_begin(conn);
		dlm_lc_conn_shutdown_wait(conn, end);
	}
	dlm_lc_conn_stop_io(conn);
	/* what it sent us is not delivered once it is gone */
	dlm_lc_process_forget(conn);
	dlm_lc_conn_free(conn);
}

void dlm_lc_cluster_destroy(struct dlm_lc_cluster *cl)
{
	struct dlm_lc_conn *conn;
	struct hlist_node *tmp;
	int bkt;

	/*
	 * Stop while still on the list: a namespace that dies during the
	 * graceful stop finds the instance, waits for cl->lock and sees it
	 * stopped, so no socket of ours outlives its namespace.
	 */
	mutex_lock(&cl->lock);
	cluster_stop_locked(cl, true);
	for (bkt = 0; bkt < DLM_LC_HASH_SIZE; bkt++) {
		hlist_for_each_entry_safe(conn, tmp, &cl->conns[bkt], hnode)
			conn_remove(cl, conn, false, jiffies);
	}
	mutex_unlock(&cl->lock);

	mutex_lock(&dlm_lc_instances_mutex);
	list_del(&cl->list);
	mutex_unlock(&dlm_lc_instances_mutex);
	/* messages parsed while stopped (tests feed the parser directly) */
	dlm_lc_process_purge(cl);

	if (cl->upper->release)
		cl->upper->release(cl);
	/* writers woken by the removals may still be leaving cl->srcu */
	synchronize_srcu(&cl->srcu);
	cleanup_srcu_struct(&cl->srcu);
	mutex_destroy(&cl->lane.mutex);
	dlm_lc_rx_spares_free(cl);
	mutex_destroy(&cl->lock);
	kfree(cl);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_destroy);

static void conn_discard(struct dlm_lc_conn *conn)
{
	unsigned int dropped;

	spin_lock_bh(&conn->wq.lock);
	dropped = dlm_lc_wq_discard_locked(&conn->wq);
	spin_unlock_bh(&conn->wq.lock);
	atomic64_add(dropped, &conn->drops);
	wake_up_all(&conn->wait);
}

int dlm_lc_cluster_discard_queued(struct dlm_lc_cluster *cl)
{
	struct dlm_lc_conn *conn;
	int bkt, ret = -EBUSY;

	/* its resend would stop at the first dropped message for good */
	if (WARN_ON_ONCE(cl->upper->resend_begin))
		return -EINVAL;
	mutex_lock(&cl->lock);
	if (!cl->running) {
		/* the workers are stopped: nothing else touches the queues */
		for_each_conn(cl, conn, bkt) {
			conn_discard(conn);
			if (conn->other)
				conn_discard(conn->other);
		}
		ret = 0;
	}
	mutex_unlock(&cl->lock);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_discard_queued);

bool dlm_lc_cluster_running(struct dlm_lc_cluster *cl)
{
	return READ_ONCE(cl->running);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_running);

struct net *dlm_lc_cluster_net(struct dlm_lc_cluster *cl)
{
	return READ_ONCE(cl->net);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_net);

const char *dlm_lc_cluster_name(struct dlm_lc_cluster *cl)
{
	return cl->name;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_name);

int dlm_lc_cluster_local_nodeid(struct dlm_lc_cluster *cl)
{
	return READ_ONCE(cl->local_nodeid);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_local_nodeid);

int dlm_lc_cluster_set_upper(struct dlm_lc_cluster *cl,
			     const struct dlm_lc_upper_ops *ops, void *priv)
{
	int ret = -EBUSY;

	if (!ops || !ops->deliver)
		return -EINVAL;
	mutex_lock(&cl->lock);
	if (cl->upper == &no_upper && !cl->running) {
		/*
		 * Workers read these without the lock: they first run after
		 * a start, which takes cl->lock after us.
		 */
		cl->upper_priv = priv;
		cl->upper = ops;
		/* not started: nothing is queued on any lane yet */
		WARN_ON_ONCE(!list_empty(&cl->lane.list));
		/* the baseline keeps the pre-6.5 shape: one lane */
		cl->lane_per_node = ops->deliver_per_node &&
				    !READ_ONCE(dlm_lc_serial_io);
		ret = 0;
	}
	mutex_unlock(&cl->lock);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_set_upper);

void *dlm_lc_cluster_upper(struct dlm_lc_cluster *cl)
{
	return cl->upper_priv;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_upper);

void dlm_lc_cluster_get_stats(struct dlm_lc_cluster *cl,
			      struct dlm_lc_cluster_stats *st)
{
	st->accepted = atomic64_read(&cl->accepted);
	st->refused = atomic64_read(&cl->refused);
	st->rx_throttled = atomic64_read(&cl->rx_throttled);
	st->process_inline = atomic64_read(&cl->process_inline);
	st->process_worker = atomic64_read(&cl->process_worker);
	spin_lock(&cl->process_lock);
	st->process_queued = cl->process_bytes;
	st->process_max = cl->process_max;
	spin_unlock(&cl->process_lock);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_get_stats);

/* Settings change only while stopped: under cl->lock, as start reads them. */
static int cluster_set(struct dlm_lc_cluster *cl, unsigned int *field,
		       unsigned int val)
{
	int ret = -EBUSY;

	mutex_lock(&cl->lock);
	if (!cl->running) {
		/* test build: a start that races us must wait, not run */
		dlm_lc_test_set_delay();
		*field = val;
		ret = 0;
	}
	mutex_unlock(&cl->lock);
	return ret;
}

/* For upper layers' settings that must not change while the instance runs */
int dlm_lc_cluster_set_stopped(struct dlm_lc_cluster *cl, unsigned int *field,
			       unsigned int val)
{
	return cluster_set(cl, field, val);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_set_stopped);

int dlm_lc_cluster_set_port(struct dlm_lc_cluster *cl, unsigned int port)
{
	if (port == 0 || port > 65535)
		return -EINVAL;
	return cluster_set(cl, &cl->port, port);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_set_port);

unsigned int dlm_lc_cluster_port(struct dlm_lc_cluster *cl)
{
	return READ_ONCE(cl->port);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_port);

int dlm_lc_cluster_set_proto(struct dlm_lc_cluster *cl, int proto)
{
	if (proto == DLM_LC_PROTO_SCTP)
		return -EPROTONOSUPPORT;
	if (proto != DLM_LC_PROTO_TCP)
		return -EINVAL;
	return cluster_set(cl, &cl->proto, proto);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_set_proto);

int dlm_lc_cluster_proto(struct dlm_lc_cluster *cl)
{
	return READ_ONCE(cl->proto);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_proto);

int dlm_lc_cluster_set_mark(struct dlm_lc_cluster *cl, u32 mark)
{
	return cluster_set(cl, &cl->mark, mark);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_set_mark);

u32 dlm_lc_cluster_mark(struct dlm_lc_cluster *cl)
{
	return READ_ONCE(cl->mark);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_mark);

int dlm_lc_cluster_set_bufsize(struct dlm_lc_cluster *cl, unsigned int size)
{
	if (size < DLM_LC_BUFSIZE_MIN || size > DLM_LC_BUFSIZE_MAX)
		return -EINVAL;
	return cluster_set(cl, &cl->bufsize, size);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_set_bufsize);

unsigned int dlm_lc_cluster_bufsize(struct dlm_lc_cluster *cl)
{
	return READ_ONCE(cl->bufsize);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_bufsize);

int dlm_lc_cluster_set_queue_limit(struct dlm_lc_cluster *cl,
				   unsigned int bytes)
{
	return cluster_set(cl, &cl->wq_limit, bytes);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_cluster_set_queue_limit);

int dlm_lc_node_add(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_conn *conn;
	int ret = -EEXIST;

	if (nodeid <= 0)
		return -EINVAL;
	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return -ENOMEM;
	dlm_lc_conn_init(conn, cl, nodeid);

	mutex_lock(&cl->lock);
	if (dlm_lc_conn_find(cl, nodeid))
		goto out_unlock;
	hlist_add_head_rcu(&conn->hnode, conn_bucket(cl, nodeid));
	if (cl->running)
		conn_start_io(conn);
	conn = NULL;
	ret = 0;
out_unlock:
	mutex_unlock(&cl->lock);
	if (conn)
		mutex_destroy(&conn->lane.mutex);
	kfree(conn);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_add);

static int node_remove(struct dlm_lc_cluster *cl, int nodeid, bool graceful)
{
	struct dlm_lc_conn *conn;
	unsigned long end;
	int ret = -ENOENT;

	mutex_lock(&cl->lock);
	/* from here: a removal queued behind a stop gets its own 5 s */
	end = jiffies + DLM_LC_SHUTDOWN_TIMEOUT;
	conn = dlm_lc_conn_find(cl, nodeid);
	if (!conn)
		goto out_unlock;
	/* without its own node an instance cannot listen */
	if (nodeid == cl->local_nodeid) {
		cluster_stop_locked(cl, graceful);
		WRITE_ONCE(cl->local_nodeid, 0);
	} else if (cl->running && graceful) {
		/* no ACK waits for company through the upper's FIN exchange */
		dlm_lc_send_end_holds(conn);
		if (cl->upper->node_fin) {
			conn_end_dial_wait(conn, end_dial_until(end));
			cl->upper->node_fin(cl, nodeid, end);
		}
	}
	conn_remove(cl, conn, graceful, graceful ? end : jiffies);
	/* its messages are gone from its lane: nothing recreates it */
	if (cl->upper->node_forget)
		cl->upper->node_forget(cl, nodeid);
	ret = 0;
out_unlock:
	mutex_unlock(&cl->lock);
	return ret;
}

int dlm_lc_node_remove(struct dlm_lc_cluster *cl, int nodeid)
{
	return node_remove(cl, nodeid, true);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_remove);

int dlm_lc_node_remove_now(struct dlm_lc_cluster *cl, int nodeid)
{
	return node_remove(cl, nodeid, false);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_remove_now);

int dlm_lc_node_add_addr(struct dlm_lc_cluster *cl, int nodeid,
			 const struct sockaddr_storage *addr)
{
	struct dlm_lc_conn *conn;
	int i, idx, ret = -ENOENT;

	if (addr->ss_family != AF_INET && addr->ss_family != AF_INET6)
		return -EAFNOSUPPORT;

	idx = srcu_read_lock(&cl->srcu);
	conn = dlm_lc_conn_find(cl, nodeid);
	if (!conn)
		goto out_unlock;

	spin_lock(&conn->addr_lock);
	ret = 0;
	for (i = 0; i < conn->addr_count && !ret; i++) {
		if (dlm_lc_addr_equal(&conn->addrs[i], addr))
			ret = -EEXIST;
	}
	if (!ret && conn->addr_count == DLM_LC_MAX_ADDRS)
		ret = -ENOSPC;
	if (!ret)
		dlm_lc_addr_with_port(addr, 0, &conn->addrs[conn->addr_count++]);
	spin_unlock(&conn->addr_lock);
out_unlock:
	srcu_read_unlock(&cl->srcu, idx);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_add_addr);

int dlm_lc_node_get_addrs(struct dlm_lc_cluster *cl, int nodeid,
			  struct sockaddr_storage *addrs, int max)
{
	struct dlm_lc_conn *conn;
	int i, idx, ret = -ENOENT;

	idx = srcu_read_lock(&cl->srcu);
	conn = dlm_lc_conn_find(cl, nodeid);
	if (conn) {
		spin_lock(&conn->addr_lock);
		ret = min(conn->addr_count, max);
		for (i = 0; i < ret; i++)
			addrs[i] = conn->addrs[i];
		spin_unlock(&conn->addr_lock);
	}
	srcu_read_unlock(&cl->srcu, idx);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_get_addrs);

int dlm_lc_node_set_local(struct dlm_lc_cluster *cl, int nodeid, bool local)
{
	int ret;

	mutex_lock(&cl->lock);
	ret = -EBUSY;
	if (cl->running)
		goto out_unlock;
	ret = -ENOENT;
	if (!dlm_lc_conn_find(cl, nodeid))
		goto out_unlock;
	ret = 0;
	/* read locklessly (dlm_lc_cluster_local_nodeid), written under lock */
	if (local)
		WRITE_ONCE(cl->local_nodeid, nodeid);
	else if (cl->local_nodeid == nodeid)
		WRITE_ONCE(cl->local_nodeid, 0);
out_unlock:
	mutex_unlock(&cl->lock);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_set_local);

int dlm_lc_node_set_mark(struct dlm_lc_cluster *cl, int nodeid, u32 mark)
{
	struct dlm_lc_conn *conn;
	int idx, ret = -ENOENT;

	idx = srcu_read_lock(&cl->srcu);
	conn = dlm_lc_conn_find(cl, nodeid);
	if (conn) {
		/* applies to the next socket of this node */
		WRITE_ONCE(conn->mark, mark);
		ret = 0;
	}
	srcu_read_unlock(&cl->srcu, idx);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_set_mark);

int dlm_lc_node_get_mark(struct dlm_lc_cluster *cl, int nodeid, u32 *mark)
{
	struct dlm_lc_conn *conn;
	int idx, ret = -ENOENT;

	idx = srcu_read_lock(&cl->srcu);
	conn = dlm_lc_conn_find(cl, nodeid);
	if (conn) {
		*mark = READ_ONCE(conn->mark);
		ret = 0;
	}
	srcu_read_unlock(&cl->srcu, idx);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_get_mark);

/* Lockless: a status read must not wait behind a throttled receive. */
static bool conn_connected(struct dlm_lc_conn *conn)
{
	return test_bit(CF_CONNECTED, &conn->flags);
}

int dlm_lc_node_get_stats(struct dlm_lc_cluster *cl, int nodeid,
			  struct dlm_lc_node_stats *st)
{
	struct dlm_lc_conn *conn, *other;
	int idx;

	idx = srcu_read_lock(&cl->srcu);
	conn = dlm_lc_conn_find(cl, nodeid);
	if (!conn) {
		srcu_read_unlock(&cl->srcu, idx);
		return -ENOENT;
	}
	st->connected = conn_connected(conn);
	st->tx_bytes = atomic64_read(&conn->tx_bytes);
	st->rx_bytes = atomic64_read(&conn->rx_bytes);
	st->tx_msgs = atomic64_read(&conn->tx_msgs);
	st->rx_msgs = atomic64_read(&conn->rx_msgs);
	st->reconnects = atomic64_read(&conn->reconnects);
	st->drops = atomic64_read(&conn->drops);
	st->broken = atomic64_read(&conn->broken);
	st->connect_fail = atomic64_read(&conn->connect_fail);
	st->dial_waits = atomic64_read(&conn->dial_waits);
	st->dial_wait_hits = atomic64_read(&conn->dial_wait_hits);
	st->send_backoffs = atomic64_read(&conn->send_backoffs);
	st->tx_calls = atomic64_read(&conn->tx_calls);
	st->tx_ranges = atomic64_read(&conn->tx_ranges);
	st->tx_inline = atomic64_read(&conn->tx_inline);
	st->tx_guard = atomic64_read(&conn->tx_guard);
	st->queued = READ_ONCE(conn->wq.queued);
	st->queued_max = READ_ONCE(conn->wq.queued_max);
	st->room_waiters = atomic_read(&conn->room_waiters);
	/* pairs with the release in other_get_locked() */
	other = smp_load_acquire(&conn->other);
	if (other) {
		st->rx_bytes += atomic64_read(&other->rx_bytes);
		st->rx_msgs += atomic64_read(&other->rx_msgs);
		st->broken += atomic64_read(&other->broken);
	}
	srcu_read_unlock(&cl->srcu, idx);
	return 0;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_get_stats);

void dlm_lc_node_kick_ack(struct dlm_lc_cluster *cl, int nodeid, u64 gen)
{
	struct dlm_lc_conn *conn, *target = NULL;
	int idx;

	idx = srcu_read_lock(&cl->srcu);
	conn = dlm_lc_conn_find(cl, nodeid);
	if (conn) {
		/* pairs with the release in other_get_locked() */
		struct dlm_lc_conn *other = smp_load_acquire(&conn->other);

		/*
		 * A released socket keeps its gen: only a live one counts,
		 * and not one whose peer has left it for a new one.
		 */
		if (READ_ONCE(conn->sock_gen) == gen && READ_ONCE(conn->sock)) {
			target = conn;
		} else if (other && READ_ONCE(other->sock_gen) == gen &&
			   READ_ONCE(other->sock)) {
			/* pairs with the barrier in sock_move_locked() */
			smp_rmb();
			if (!test_bit(CF_LEFT, &other->flags))
				target = other;
		}
	}
	if (target) {
		spin_lock_bh(&target->wq.lock);
		set_bit(CF_ACK_PENDING, &target->flags);
		dlm_lc_kick_send(target);
		spin_unlock_bh(&target->wq.lock);
	}
	srcu_read_unlock(&cl->srcu, idx);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_kick_ack);

void dlm_lc_node_kick_resend(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_conn *conn;
	int idx;

	idx = srcu_read_lock(&cl->srcu);
	conn = dlm_lc_conn_find(cl, nodeid);
	if (conn && READ_ONCE(conn->sock)) {
		spin_lock_bh(&conn->wq.lock);
		set_bit(CF_PROBE, &conn->flags);
		dlm_lc_kick_send(conn);
		spin_unlock_bh(&conn->wq.lock);
	}
	srcu_read_unlock(&cl->srcu, idx);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_kick_resend);

bool dlm_lc_node_exists(struct dlm_lc_cluster *cl, int nodeid)
{
	bool ret;
	int idx;

	idx = srcu_read_lock(&cl->srcu);
	ret = !!dlm_lc_conn_find(cl, nodeid);
	srcu_read_unlock(&cl->srcu, idx);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_exists);

int dlm_lc_node_close(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_conn *conn;
	int idx, ret = -ENOENT;

	idx = srcu_read_lock(&cl->srcu);
	conn = dlm_lc_conn_find(cl, nodeid);
	if (conn) {
		dlm_lc_conn_close(conn, DLM_LC_CLOSE_ASKED);
		ret = 0;
	}
	srcu_read_unlock(&cl->srcu, idx);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_node_close);

/*
 * Called and returns with cl->srcu held (as *@idx), but sleeps without it:
 * room_waiters keeps @conn alive meanwhile. The REMOVED test comes after
 * the read lock is taken again, so a removal that our new read side does
 * not see waits for it in its grace period.
 */
static int wait_for_room(struct dlm_lc_conn *conn, gfp_t gfp, int *idx)
	__must_hold(&conn->cl->srcu)
{
	struct dlm_lc_cluster *cl = conn->cl;
	unsigned int limit = READ_ONCE(cl->wq_limit);
	unsigned int queued = READ_ONCE(conn->wq.queued);
	bool removed;
	long t;

	/* __GFP_HIGH (GFP_ATOMIC, the drop-in's DLM) is not limited */
	if (!limit || queued < limit || (gfp & __GFP_HIGH))
		return 0;
	/*
	 * A writer that cannot sleep (in the standalone module: replies from
	 * the receive path, handlers' replies, FIN) may use a reserve above
	 * the limit: a queue that sleeping writers filled while the peer was
	 * away must not swallow the answers the peer waits for. Past the
	 * reserve it is refused, so a peer that never reads stays bounded.
	 */
	if (!gfpflags_allow_blocking(gfp)) {
		if (queued - limit < DLM_LC_WQ_RESERVE(limit))
			return 0;
		return -ENOBUFS;
	}
	atomic_inc(&conn->room_waiters);
	srcu_read_unlock(&cl->srcu, *idx);
	t = wait_event_killable_timeout(conn->wait,
					READ_ONCE(conn->wq.queued) < limit ||
					test_bit(CF_REMOVED, &conn->flags),
					30 * HZ);
	*idx = srcu_read_lock(&cl->srcu);
	removed = test_bit(CF_REMOVED, &conn->flags);
	/* a removal may free @conn once the count is zero: touch it no more */
	if (atomic_dec_and_test(&conn->room_waiters) && removed)
		wake_up_var(&conn->room_waiters);
	if (removed)
		return -ENOENT;
	if (t < 0)
		return t;
	return t ? 0 : -ENOBUFS;
}

int dlm_lc_msg_alloc(struct dlm_lc_cluster *cl, int nodeid, int len,
		     gfp_t gfp, dlm_lc_msg_cb cb, void *cb_data,
		     struct dlm_lc_msg *msg)
{
	struct dlm_lc_wq_entry *e;
	struct dlm_lc_conn *conn;
	int idx, ret;

	if (len < DLM_LC_HDR_LEN || len > DLM_LC_MAX_MSG || len > PAGE_SIZE)
		return -EINVAL;

	/* held until commit (but not while asleep for room): see conn_remove */
	idx = srcu_read_lock(&cl->srcu);
	conn = dlm_lc_conn_find(cl, nodeid);
	ret = -ENOENT;
	if (!conn || nodeid == READ_ONCE(cl->local_nodeid) ||
	    test_bit(CF_REMOVED, &conn->flags))
		goto out_unlock;

	ret = wait_for_room(conn, gfp, &idx);
	if (ret)
		goto out_unlock;
	e = dlm_lc_wq_reserve(&conn->wq, len, gfp, cb, cb_data, &msg->buf);
	if (IS_ERR(e)) {
		ret = PTR_ERR(e);
		goto out_unlock;
	}
	msg->conn = conn;
	msg->entry = e;
	msg->len = len;
	msg->srcu_idx = idx;
	/* for sparse: the read side passes to dlm_lc_msg_commit() */
	__release(&cl->srcu);
	return 0;

out_unlock:
	srcu_read_unlock(&cl->srcu, idx);
	return ret;
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_msg_alloc);

void dlm_lc_msg_commit(struct dlm_lc_msg *msg)
{
	struct dlm_lc_conn *conn = msg->conn;

	spin_lock_bh(&conn->wq.lock);
	dlm_lc_commit_seen(conn);
	if (dlm_lc_wq_commit_locked(&conn->wq, msg->entry))
		dlm_lc_kick_send(conn);
	spin_unlock_bh(&conn->wq.lock);
	atomic64_inc(&conn->tx_msgs);
	/* for sparse: taken over from dlm_lc_msg_alloc() */
	__acquire(&conn->cl->srcu);
	srcu_read_unlock(&conn->cl->srcu, msg->srcu_idx);
}
EXPORT_SYMBOL_DLM_LC(dlm_lc_msg_commit);

/*
 * For benchmarks only: one ordered socket queue, so that every receive and
 * send waits for the others as in the pre-6.5 design. It gives the
 * baseline that the parallel queue is measured against in the same run.
 */
bool dlm_lc_serial_io;
module_param_named(serial_io, dlm_lc_serial_io, bool, 0444);
MODULE_PARM_DESC(serial_io, "benchmark baseline: serialize all socket work");

/*
 * Socket work runs in the high-priority worker pool, as Linux 6.5 on runs
 * its own, except in a drop-in for a kernel whose lowcomms ran at normal
 * priority (6.1). Its DLM acknowledges every read at once; on one busy CPU
 * a high-priority sender preempts the task that queues a message, and the
 * lock bench there sent a quarter more segments per lock cycle, consistent
 * with each ACK leaving alone instead of with the next request
 * (Documentation/performance.md).
 */
#if defined(DLM_LC_DROPIN) && !defined(DLM_LC_DLM_IO_HIGHPRI)
#define DLM_LC_IO_HIGHPRI_DEFAULT false
#else
#define DLM_LC_IO_HIGHPRI_DEFAULT true
#endif
static bool dlm_lc_io_highpri = DLM_LC_IO_HIGHPRI_DEFAULT;
module_param_named(io_highpri, dlm_lc_io_highpri, bool, 0444);
MODULE_PARM_DESC(io_highpri,
		 "socket work in the high-priority worker pool (default Y; N in a drop-in for a kernel whose DLM ran at normal priority)");

int dlm_lc_workqueues_init(void)
{
	unsigned int flags = WQ_MEM_RECLAIM;

	if (dlm_lc_io_highpri)
		flags |= WQ_HIGHPRI;
	/* socket work: unordered, so connections and directions overlap */
	if (dlm_lc_serial_io)
		dlm_lc_io_wq = alloc_ordered_workqueue("dlm_io", flags);
	else
		dlm_lc_io_wq = alloc_workqueue("dlm_io", WQ_UNBOUND | flags, 0);
	if (!dlm_lc_io_wq)
		return -ENOMEM;

	/*
	 * delivery: one work item per lane (an instance's, or a node's),
	 * and a work item never runs twice at once, so each lane's messages
	 * stay in order while lanes are delivered side by side
	 */
	dlm_lc_process_wq = alloc_workqueue("dlm_process",
					    WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!dlm_lc_process_wq) {
		destroy_workqueue(dlm_lc_io_wq);
		return -ENOMEM;
	}
	return 0;
}

void dlm_lc_workqueues_exit(void)
{
	destroy_workqueue(dlm_lc_process_wq);
	destroy_workqueue(dlm_lc_io_wq);
}
