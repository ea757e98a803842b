// SPDX-License-Identifier: GPL-2.0-only
/*
 * The drop-in's upper layer: the interface the kernel's own fs/dlm expects
 * of its lowcomms (its lowcomms.h, used by midcomms.c, config.c, member.c
 * and memory.c), on top of our transport. Built only into the drop-in
 * dlm.ko (scripts/dlm-ko.sh), beside that kernel's DLM sources, which stay
 * as they are. DLM runs in the initial namespace only, so there is one
 * instance, made when the first address or start needs it.
 *
 * What the kernel's DLM expects, and how it gets it:
 * - received messages, whole and in order per node, go to its midcomms
 *   from our delivery run (a receive worker or dlm_process, one at a
 *   time, as its own lowcomms had one); in the context its locking is
 *   written for: process context where its own lowcomms processed
 *   inline (6.1), bottom halves off where it processed on a WQ_BH queue
 *   (6.12);
 * - messages are sent from process and softirq context (6.12's rsb scan
 *   timer), so the transport's write queue is bottom-half safe;
 * - a 3.2 node keeps every message until it is acknowledged and may send
 *   it again: the message pins its write-queue page from its allocation
 *   (midcomms may ask for a resend before it calls the commit), which the
 *   transport never writes again (lowcomms.h), and a resend copies from
 *   there; resends are asked for when an established socket is lost to
 *   an error, as its own lowcomms asked from its error report, so that
 *   their bytes bring the reconnect (never after the peer's clean EOF:
 *   its midcomms may have ended the session, and copies would reach the
 *   next one);
 * - its lowcomms has no limit on what is queued: ours is off here, and a
 *   stop drops what is queued, as its own did;
 * - SCTP is refused at start with a message naming the stock dlm.ko.
 */

#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <net/net_namespace.h>

#include "dlm_internal.h"
#include "config.h"
#include "lowcomms.h"
#include "memory.h"
#include "midcomms.h"

#include "lc/addr.h"
#include "lc/lowcomms.h"
#include "lc/wire.h"

/*
 * One message of the kernel's DLM: the transport's handle until the
 * commit, then the pinned bytes for resends, for as long as midcomms
 * holds it.
 */
struct dlm_msg {
	struct kref ref;
	struct dlm_lc_msg lc;
	struct page *page;	/* pinned from the allocation on */
	char *ppc;
	int len;
	int nodeid;
	unsigned int resent;	/* adapter_losses when a copy was queued */
};

struct adapter_cb {
	void (*cb)(void *data);
	void *data;
};

static DEFINE_MUTEX(adapter_mutex);	/* making and freeing the instance */
/* start and stop against the local node's removal (dlm_lowcomms_close()) */
static DEFINE_MUTEX(adapter_run_mutex);
static struct dlm_lc_cluster *adapter_cl;
static bool adapter_wq_up;
/* lost sockets so far: a message gets one copy queued per loss */
static atomic_t adapter_losses = ATOMIC_INIT(1);

static struct dlm_lc_cluster *cl_get(void)
{
	return READ_ONCE(adapter_cl);
}

static void adapter_deliver(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
			    const void *buf, size_t len)
{
	/*
	 * midcomms only reads the message, through a pointer it does not
	 * declare const; the bytes are the lane's own. The
	 * transport calls this from a worker holding only its delivery
	 * mutex: it may sleep, as 6.1's midcomms does. Its replies never
	 * wait for queue room (the limit is off here, see above), which
	 * the transport's deliver contract asks.
	 */
	might_sleep();
#ifdef DLM_LC_DLM_PROCESS_BH
	local_bh_disable();
#endif
	dlm_process_incoming_buffer(nodeid, (unsigned char *)buf, len);
#ifdef DLM_LC_DLM_PROCESS_BH
	local_bh_enable();
#endif
}

#ifdef DLM_LC_DLM_RECEIVE_DONE
/* 6.1's midcomms acknowledges once per read, as its lowcomms told it */
static void adapter_deliver_done(struct dlm_lc_cluster *cl, int nodeid)
{
	dlm_midcomms_receive_done(nodeid);
}
#endif

static void adapter_sock_lost(struct dlm_lc_cluster *cl, int nodeid)
{
	atomic_inc(&adapter_losses);
	dlm_midcomms_unack_msg_resend(nodeid);
}

/*
 * No deliver_per_node: the kernel's DLM answers a failed request, convert,
 * unlock or cancel from one scratch lkb per lockspace (ls_local_lkb in
 * 6.12, ls_stub_lkb in 6.1) that it fills without a lock, so two nodes'
 * messages delivered at once could send a reply to the wrong node. One
 * lane per instance, as its own lowcomms had one processing context.
 */
static const struct dlm_lc_upper_ops adapter_ops = {
	.deliver	= adapter_deliver,
#ifdef DLM_LC_DLM_RECEIVE_DONE
	.deliver_done	= adapter_deliver_done,
	/* its ACK may wait to share the next request's socket call */
	.done_may_wait	= true,
#endif
	.sock_lost	= adapter_sock_lost,
#ifndef DLM_LC_DLM_PROCESS_BH
	/* 6.1's receive may wait for the lockspace's recovery */
	.deliver_may_sleep = true,
#endif
};

/* The instance, made on first use; -errno if it cannot be. */
static struct dlm_lc_cluster *cl_need(void)
{
	struct dlm_lc_cluster *cl;
	int ret;

	mutex_lock(&adapter_mutex);
	cl = adapter_cl;
	if (cl)
		goto out_unlock;
	if (!adapter_wq_up) {
		ret = dlm_lc_workqueues_init();
		if (ret) {
			cl = ERR_PTR(ret);
			goto out_unlock;
		}
		adapter_wq_up = true;
	}
	cl = dlm_lc_cluster_create("dlm", &init_net);
	if (IS_ERR(cl))
		goto out_unlock;
	ret = dlm_lc_cluster_set_upper(cl, &adapter_ops, NULL);
	/* the kernel's DLM neither waits for nor handles a full queue */
	if (!ret)
		ret = dlm_lc_cluster_set_queue_limit(cl, 0);
	if (ret) {
		dlm_lc_cluster_destroy(cl);
		cl = ERR_PTR(ret);
		goto out_unlock;
	}
	WRITE_ONCE(adapter_cl, cl);
out_unlock:
	mutex_unlock(&adapter_mutex);
	return cl;
}

/* add @nodeid if it is new: 1 if it was, 0 if known, or -errno */
static int node_need(struct dlm_lc_cluster *cl, int nodeid)
{
	int ret = dlm_lc_node_add(cl, nodeid);

	if (ret == -EEXIST)
		return 0;
	return ret ?: 1;
}

bool dlm_lowcomms_is_running(void)
{
	struct dlm_lc_cluster *cl = cl_get();

	return cl && dlm_lc_cluster_running(cl);
}

struct kmem_cache *dlm_lowcomms_msg_cache_create(void)
{
	return kmem_cache_create("dlm_msg", sizeof(struct dlm_msg), 0, 0, NULL);
}

/*
 * memory.c makes this cache for its lowcomms' write-queue entries; ours
 * are the transport's own pages, so it stays empty.
 */
struct kmem_cache *dlm_lowcomms_writequeue_cache_create(void)
{
	return kmem_cache_create("dlm_writequeue", sizeof(long), 0, 0, NULL);
}

#ifdef DLM_LC_DLM_ADDR_LEN
int dlm_lowcomms_addr(int nodeid, struct sockaddr_storage *addr, int len)
#else
int dlm_lowcomms_addr(int nodeid, struct sockaddr_storage *addr)
#endif
{
	struct dlm_lc_cluster *cl = cl_need();
	int ret;

	if (IS_ERR(cl))
		return PTR_ERR(cl);
	ret = node_need(cl, nodeid);
	if (ret < 0)
		return ret;
	/* a new node starts with the cluster's mark; comms/N/mark changes it */
	if (ret) {
		ret = dlm_lc_node_set_mark(cl, nodeid, dlm_config.ci_mark);
		if (ret)
			return ret;
	}
	ret = dlm_lc_node_add_addr(cl, nodeid, addr);
	/* a running local node outlives its comm (dlm_lowcomms_close()) */
	return ret == -EEXIST ? 0 : ret;
}

static bool addr_listed(const struct sockaddr_storage *list, int n,
			const struct sockaddr_storage *addr)
{
	int i;

	for (i = 0; i < n; i++) {
		if (dlm_lc_addr_equal(&list[i], addr))
			return true;
	}
	return false;
}

static bool addrs_same(const struct sockaddr_storage *a, int na,
		       const struct sockaddr_storage *b, int nb)
{
	int i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++) {
		if (!dlm_lc_addr_equal(&a[i], &b[i]))
			return false;
	}
	return true;
}

/*
 * The local node with the addresses the kernel's configfs gives now, as
 * its own lowcomms reads them at each start: a node kept from before
 * (its comm was removed while running, and came back) is made again if
 * they changed, since the first one is what we listen and dial from.
 */
static int local_setup(struct dlm_lc_cluster *cl)
{
	struct sockaddr_storage *want, *have;
	int nodeid, i, ret, count, had;

	want = kcalloc(2 * DLM_LC_MAX_ADDRS, sizeof(*want), GFP_KERNEL);
	if (!want)
		return -ENOMEM;
	have = want + DLM_LC_MAX_ADDRS;
	/*
	 * 6.12's dlm_our_nodeid() needs a local comm: ask for its addresses
	 * first. One given twice is kept once, as the transport keeps it.
	 */
	for (i = 0, count = 0; i < DLM_LC_MAX_ADDRS; i++) {
		if (dlm_our_addr(&want[count], i))
			break;
		if (!addr_listed(want, count, &want[count]))
			count++;
	}
	ret = -ENOTCONN;
	if (!count)
		goto out_free;
	nodeid = dlm_our_nodeid();
	had = dlm_lc_node_get_addrs(cl, nodeid, have, DLM_LC_MAX_ADDRS);
	if (had >= 0 && !addrs_same(want, count, have, had)) {
		ret = dlm_lc_node_remove_now(cl, nodeid);
		if (ret)
			goto out_free;
	}
	ret = node_need(cl, nodeid);
	if (ret < 0)
		goto out_free;
	for (i = 0; i < count; i++) {
		ret = dlm_lc_node_add_addr(cl, nodeid, &want[i]);
		if (ret && ret != -EEXIST)
			goto out_free;
	}
	ret = dlm_lc_node_set_local(cl, nodeid, true);
out_free:
	kfree(want);
	return ret;
}

static int settings_apply(struct dlm_lc_cluster *cl)
{
	unsigned int size;
	int ret;

	if (dlm_config.ci_protocol == DLM_PROTO_SCTP) {
		log_print("SCTP (protocol 1) is not supported by this dlm.ko (dlm_lowcomms %s)",
			  DLM_LC_VERSION);
		log_print("use TCP, or the distribution's own dlm.ko for SCTP");
		return -EPROTONOSUPPORT;
	}
	ret = dlm_lc_cluster_set_proto(cl, dlm_config.ci_protocol);
	if (!ret)
		ret = dlm_lc_cluster_set_port(cl, dlm_config.ci_tcp_port);
	if (!ret)
		ret = dlm_lc_cluster_set_mark(cl, dlm_config.ci_mark);
	if (!ret) {
		size = clamp_t(int, dlm_config.ci_buffer_size,
			       DLM_LC_BUFSIZE_MIN, DLM_LC_BUFSIZE_MAX);
		if (size != dlm_config.ci_buffer_size)
			log_print("buffer_size %d: using %u", dlm_config.ci_buffer_size,
				  size);
		ret = dlm_lc_cluster_set_bufsize(cl, size);
	}
	return ret;
}

int dlm_lowcomms_start(void)
{
	struct dlm_lc_cluster *cl = cl_need();
	int ret;

	if (IS_ERR(cl))
		return PTR_ERR(cl);
	mutex_lock(&adapter_run_mutex);
	ret = 0;
	if (dlm_lc_cluster_running(cl))
		goto out_unlock;
	ret = settings_apply(cl);
	if (ret)
		goto out_err;
	ret = local_setup(cl);
	if (ret) {
		if (ret == -ENOTCONN)
			log_print("no local IP address has been set");
		goto out_err;
	}
	ret = dlm_lc_cluster_start(cl);
	if (ret)
		goto out_err;
	log_print("using TCP for communications (dlm_lowcomms %s)",
		  DLM_LC_VERSION);
	mutex_unlock(&adapter_run_mutex);
	return 0;

out_err:
	log_print("start failed: %d", ret);
out_unlock:
	mutex_unlock(&adapter_run_mutex);
	return ret;
}

/* graceful: the queues drain, the peers see EOF; nothing is kept */
static void adapter_stop(void)
{
	struct dlm_lc_cluster *cl = cl_get();

	if (!cl)
		return;
	mutex_lock(&adapter_run_mutex);
	dlm_lc_cluster_stop(cl);
	/* as the kernel's own lowcomms: no message outlives the stop */
	dlm_lc_cluster_discard_queued(cl);
	mutex_unlock(&adapter_run_mutex);
}

#ifdef DLM_LC_DLM_SHUTDOWN_NODE
/*
 * 6.1: midcomms calls this before its FIN handshake with each node, then
 * dlm_lowcomms_shutdown_node() per node, then dlm_lowcomms_stop(): the
 * connections must stay up until the stop. Its own lowcomms only closed
 * the listener here; ours stays open until the stop, which follows.
 */
void dlm_lowcomms_shutdown(void)
{
}

/* after the node's FIN handshake, or its timeout (@force) */
void dlm_lowcomms_shutdown_node(int nodeid, bool force)
{
	struct dlm_lc_cluster *cl = cl_get();

	if (cl)
		dlm_lc_node_close(cl, nodeid);
}
#else
/* 6.12: midcomms has had its FIN handshake with every node */
void dlm_lowcomms_shutdown(void)
{
	adapter_stop();
}
#endif

void dlm_lowcomms_stop(void)
{
	adapter_stop();
}

/* nothing to do yet: the instance and workqueues come on first use */
void dlm_lowcomms_init(void)
{
}

void dlm_lowcomms_exit(void)
{
	mutex_lock(&adapter_mutex);
	if (adapter_cl) {
		dlm_lc_cluster_destroy(adapter_cl);
		WRITE_ONCE(adapter_cl, NULL);
	}
	if (adapter_wq_up) {
		dlm_lc_workqueues_exit();
		adapter_wq_up = false;
	}
	mutex_unlock(&adapter_mutex);
}

/*
 * The node left the cluster's configuration (its comm was removed; it may
 * have been fenced): its connection goes at once, with what is queued for
 * it. The local node goes too once no lockspace runs; while running it
 * stays, as the instance listens on its address until the last lockspace
 * stops it (the next start checks its addresses: local_setup()).
 */
int dlm_lowcomms_close(int nodeid)
{
	struct dlm_lc_cluster *cl = cl_get();
	int ret = 0;

	if (!cl)
		return -ENOENT;
	mutex_lock(&adapter_run_mutex);
	if (nodeid != dlm_lc_cluster_local_nodeid(cl) ||
	    !dlm_lc_cluster_running(cl))
		ret = dlm_lc_node_remove_now(cl, nodeid);
	mutex_unlock(&adapter_run_mutex);
	return ret;
}

/* connections come up on the first message; the node must be known */
int dlm_lowcomms_connect_node(int nodeid)
{
	struct dlm_lc_cluster *cl = cl_get();
	struct sockaddr_storage ss;

	if (!dlm_our_addr(&ss, 0) && nodeid == dlm_our_nodeid())
		return 0;
	if (!cl || !dlm_lc_node_exists(cl, nodeid)) {
		log_print("no address for node %d", nodeid);
		return -ENOENT;
	}
	return 0;
}

int dlm_lowcomms_nodes_set_mark(int nodeid, unsigned int mark)
{
	struct dlm_lc_cluster *cl = cl_get();

	if (!cl)
		return -ENOENT;
	return dlm_lc_node_set_mark(cl, nodeid, mark);
}

static void adapter_msg_cb(char *buf, int len, void *data)
{
	struct adapter_cb *acb = data;

	acb->cb(acb->data);
}

static void msg_release(struct kref *ref)
{
	struct dlm_msg *msg = container_of(ref, struct dlm_msg, ref);

	if (msg->page)
		put_page(msg->page);
	dlm_free_msg(msg);
}

static struct dlm_msg *msg_new(int nodeid, int len, gfp_t gfp, char **ppc,
			       void (*cb)(void *data), void *data)
{
	struct adapter_cb acb = { .cb = cb, .data = data };
	struct dlm_lc_cluster *cl = cl_get();
	struct dlm_msg *msg;
	int ret;

	if (!cl)
		return NULL;
#ifdef DLM_LC_DLM_ALLOC_MSG_GFP
	msg = dlm_allocate_msg(gfp);
#else
	msg = dlm_allocate_msg();
#endif
	if (!msg)
		return NULL;
	ret = dlm_lc_msg_alloc(cl, nodeid, len, gfp, cb ? adapter_msg_cb : NULL,
			       &acb, &msg->lc);
	if (ret) {
		log_print_ratelimited("no buffer for %d bytes to node %d: %d",
				      len, nodeid, ret);
		dlm_free_msg(msg);
		return NULL;
	}
	kref_init(&msg->ref);
	/*
	 * Pinned now, while the entry is uncommitted and its page the
	 * queue's: midcomms marks a message committed before it calls the
	 * commit, and a socket lost in between asks for a resend of it.
	 */
	msg->page = virt_to_page(msg->lc.buf);
	get_page(msg->page);
	msg->resent = 0;
	msg->ppc = msg->lc.buf;
	msg->len = len;
	msg->nodeid = nodeid;
	*ppc = msg->ppc;
	/* one reference for the caller, one that the commit drops */
	kref_get(&msg->ref);
	return msg;
}

#ifdef DLM_LC_DLM_MSG_GFP
struct dlm_msg *dlm_lowcomms_new_msg(int nodeid, int len, gfp_t allocation,
				     char **ppc, void (*cb)(void *data),
				     void *data)
{
	return msg_new(nodeid, len, allocation, ppc, cb, data);
}
#else
struct dlm_msg *dlm_lowcomms_new_msg(int nodeid, int len, char **ppc,
				     void (*cb)(void *data), void *data)
{
	return msg_new(nodeid, len, GFP_ATOMIC, ppc, cb, data);
}
#endif

void dlm_lowcomms_commit_msg(struct dlm_msg *msg)
{
	dlm_lc_msg_commit(&msg->lc);
	kref_put(&msg->ref, msg_release);
}

void dlm_lowcomms_put_msg(struct dlm_msg *msg)
{
	kref_put(&msg->ref, msg_release);
}

/*
 * A fresh copy of a committed message, at the end of the node's queue;
 * 1 if a copy for this socket loss is queued already (midcomms asks once
 * per loss, but a copy still queued covers a second one: the kernel's own
 * lowcomms knows when it went out, ours does not, so at most one copy per
 * loss).
 */
int dlm_lowcomms_resend_msg(struct dlm_msg *msg)
{
	struct dlm_lc_cluster *cl = cl_get();
	unsigned int loss = atomic_read(&adapter_losses);
	struct dlm_lc_msg lc;
	int ret;

	if (!cl)
		return -ENOENT;
	if (READ_ONCE(msg->resent) == loss)
		return 1;
	ret = dlm_lc_msg_alloc(cl, msg->nodeid, msg->len, GFP_ATOMIC, NULL,
			       NULL, &lc);
	if (ret)
		return ret;
	memcpy(lc.buf, msg->ppc, msg->len);
	dlm_lc_msg_commit(&lc);
	WRITE_ONCE(msg->resent, loss);
	return 0;
}

MODULE_VERSION("lowcomms-" DLM_LC_VERSION);
