/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dlm_lowcomms transport: cluster instances, per-node connections and the
 * zero-copy send API.
 *
 * Locking order (outer to inner):
 *   dlm_lc_instances_mutex -> cluster->lock -> conn->sock_lock
 *   -> sk lock -> conn->wq.lock -> any lock the write callback
 *   (dlm_lc_msg_cb) takes
 * Connections are looked up under cluster->srcu and freed after a grace
 * period; see Documentation/design.rst.
 */
#ifndef DLM_LC_LOWCOMMS_H
#define DLM_LC_LOWCOMMS_H

#include <linux/types.h>
#include <linux/socket.h>
#include <linux/gfp.h>

struct net;
struct dlm_lc_cluster;
struct dlm_lc_conn;

#define DLM_LC_MAX_MSG		4096	/* largest message incl. headers */
#define DLM_LC_DEFAULT_PORT	21064
#define DLM_LC_MAX_ADDRS	3	/* addresses per node, as in DLM */
#define DLM_LC_NAME_LEN		64
/* largest control message (ACK) the send worker builds at send time */
#define DLM_LC_CTRL_MAX		32

enum dlm_lc_proto {
	DLM_LC_PROTO_TCP = 0,
	DLM_LC_PROTO_SCTP = 1,
};

/* Per-node counters, a snapshot for status files. */
struct dlm_lc_node_stats {
	bool connected;
	u64 tx_bytes;
	u64 rx_bytes;
	u64 tx_msgs;
	u64 rx_msgs;
	u64 reconnects;		/* sockets installed after the first */
	u64 drops;		/* queued bytes discarded: on close, by discard */
	u64 broken;		/* streams closed for bad framing */
	u64 connect_fail;
	u64 dial_waits;		/* connects held for the peer's dial */
	u64 dial_wait_hits;	/* ... that its dial answered */
	u64 send_backoffs;	/* no socket memory: the sender waited a tick */
	u64 tx_calls;		/* socket calls that took queued bytes */
	u64 tx_ranges;		/* page ranges handed to those calls */
	u64 tx_inline;		/* send runs the receive worker did itself */
	u64 tx_guard;		/* ... owed_work did, for a delivery that lasted */
	unsigned int queued;	/* bytes waiting in the write queue */
	unsigned int queued_max;	/* high-water mark of the above */
	unsigned int room_waiters;	/* writers asleep for queue room */
};

struct dlm_lc_cluster_stats {
	u64 accepted;
	u64 refused;		/* connections from unconfigured addresses */
	u64 process_queued;	/* bytes received, waiting for delivery */
	u64 process_max;	/* high-water mark of the above */
	u64 rx_throttled;	/* times receive waited for processing */
	u64 process_inline;	/* queue items delivered by a receive worker */
	u64 process_worker;	/* queue items delivered by dlm_process */
};

/*
 * Handle for the two-phase send API. Lives on the caller's stack between
 * dlm_lc_msg_alloc() and dlm_lc_msg_commit(), which must always follow,
 * in the same task; the caller must not sleep for long in between
 * (messages behind an unfilled one wait for it, and so does a node's
 * removal). dlm_lc_msg_alloc() sleeps for queue space only if @gfp allows
 * blocking; else it may use a reserve of an eighth of the limit above it
 * (meant for replies), then fails with -ENOBUFS; __GFP_HIGH is not limited.
 * Process or softirq context; not in hard interrupts. The bytes of a
 * committed message are never written again: a caller that pins their
 * page (get_page(virt_to_page(buf))) before the commit may read them
 * until it drops the page.
 */
struct dlm_lc_msg {
	struct dlm_lc_conn *conn;
	void *entry;
	char *buf;
	int len;
	int srcu_idx;		/* cl->srcu, held from alloc to commit */
};

/* Called under the write-queue lock so that messages keep buffer order. */
typedef void (*dlm_lc_msg_cb)(char *buf, int len, void *data);

/*
 * The upper layer of an instance: the only calls the transport makes
 * upwards. Registered once, before the instance first starts, with
 * dlm_lc_cluster_set_upper(). Every hook but @deliver may be NULL. None is
 * called with a transport spinlock held; @start, @stop, @node_fin and
 * @node_forget run under the instance lock (cluster->lock) and may sleep
 * until @end; @deliver runs in process context, one run at a time per
 * instance (or, with @deliver_per_node and not serial_io=1, per node:
 * different nodes' runs side by side), holding only that lane's
 * delivery mutex: in the dlm_process worker or in a receive worker on
 * the I/O workqueue (which then delivers the lane, every message queued
 * in it). So it must not
 * stop the instance, remove or close a node, wait for a message to arrive
 * (only a delivery run can deliver it) or sleep for queue room in
 * dlm_lc_msg_alloc(); @fill_ack and the
 * resend hooks run in the send worker with the socket read-locked.
 */
struct dlm_lc_upper_ops {
	/*
	 * one complete message, in order per node; @gen names its socket;
	 * @buf is the caller's only until this returns (its page is reused)
	 */
	void (*deliver)(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
			const void *buf, size_t len);
	/* after a run of @deliver calls for @nodeid (one queued item) */
	void (*deliver_done)(struct dlm_lc_cluster *cl, int nodeid);
	/*
	 * @deliver and @deliver_done may run for different nodes at once
	 * (not with serial_io=1); false: one run at a time per instance
	 */
	bool deliver_per_node;
	/*
	 * @deliver may sleep: what a message's delivery committed waits for
	 * the item's end (see "Replies sent by the receive worker",
	 * design.rst) as with false, but a later message's delivery that
	 * lasts about two ticks does not hold it up: a worker of its own
	 * sends it then
	 */
	bool deliver_may_sleep;
	/*
	 * what only @deliver_done committed for the item (an ACK, nothing
	 * to carry it) may wait 4 ms and a tick for the next commit to share its
	 * socket call, instead of going out alone at once; not once a
	 * graceful stop or removal has begun: then it is sent at once, and
	 * what a hold kept goes at once too
	 */
	bool done_may_wait;
	/* the instance starts: bound, before any connection takes I/O */
	void (*start)(struct dlm_lc_cluster *cl);
	/* graceful stop, before the write queues drain */
	void (*stop)(struct dlm_lc_cluster *cl, unsigned long end);
	/* @nodeid leaves a running instance, before its queue drains */
	void (*node_fin)(struct dlm_lc_cluster *cl, int nodeid,
			 unsigned long end);
	/* @nodeid is gone, nothing of it is left to deliver */
	void (*node_forget)(struct dlm_lc_cluster *cl, int nodeid);
	/* the bytes of the ACK asked for by dlm_lc_node_kick_ack() */
	int (*fill_ack)(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
			void *buf, int max);
	/*
	 * A new socket (or a probe, dlm_lc_node_kick_resend()): true if
	 * copies [*@from, *@to) are to go out before the write queue, one
	 * by one through @resend_copy, which returns a copy's length or 0.
	 * Short of memory, the transport asks again later for the same
	 * socket: each call starts over.
	 */
	bool (*resend_begin)(struct dlm_lc_cluster *cl, int nodeid, u32 *from,
			     u32 *to);
	int (*resend_copy)(struct dlm_lc_cluster *cl, int nodeid, u32 *seq,
			   u32 to, void *buf);
	/* copies are waiting for a socket: connect even with an empty queue */
	bool (*has_unacked)(struct dlm_lc_cluster *cl, int nodeid);
	/*
	 * The established socket @nodeid's messages go out on was lost to
	 * an error (a reset, also one after the peer's FIN, a timeout, a
	 * broken stream): what was written into it may not have arrived.
	 * Not for the peer's clean EOF, a failed connect,
	 * dlm_lc_node_close() or a stop. From the worker that closed it,
	 * before the reconnect.
	 */
	void (*sock_lost)(struct dlm_lc_cluster *cl, int nodeid);
	/* last call, from dlm_lc_cluster_destroy(): stopped and no nodes */
	void (*release)(struct dlm_lc_cluster *cl);
};

/* instance lifetime (lowcomms.c) */
struct dlm_lc_cluster *dlm_lc_cluster_create(const char *name, struct net *net);
void dlm_lc_cluster_destroy(struct dlm_lc_cluster *cl);
int dlm_lc_cluster_start(struct dlm_lc_cluster *cl);
void dlm_lc_cluster_stop(struct dlm_lc_cluster *cl);
void dlm_lc_net_exit(struct net *net);
bool dlm_lc_cluster_running(struct dlm_lc_cluster *cl);
struct net *dlm_lc_cluster_net(struct dlm_lc_cluster *cl);
const char *dlm_lc_cluster_name(struct dlm_lc_cluster *cl);
int dlm_lc_cluster_local_nodeid(struct dlm_lc_cluster *cl);
void dlm_lc_cluster_get_stats(struct dlm_lc_cluster *cl,
			      struct dlm_lc_cluster_stats *st);
/* -EBUSY once set or while running; @priv is the upper layer's own */
int dlm_lc_cluster_set_upper(struct dlm_lc_cluster *cl,
			     const struct dlm_lc_upper_ops *ops, void *priv);
void *dlm_lc_cluster_upper(struct dlm_lc_cluster *cl);

/* cluster settings; all fail with -EBUSY while the instance runs */
int dlm_lc_cluster_set_port(struct dlm_lc_cluster *cl, unsigned int port);
unsigned int dlm_lc_cluster_port(struct dlm_lc_cluster *cl);
int dlm_lc_cluster_set_proto(struct dlm_lc_cluster *cl, int proto);
int dlm_lc_cluster_proto(struct dlm_lc_cluster *cl);
int dlm_lc_cluster_set_mark(struct dlm_lc_cluster *cl, u32 mark);
u32 dlm_lc_cluster_mark(struct dlm_lc_cluster *cl);
int dlm_lc_cluster_set_bufsize(struct dlm_lc_cluster *cl, unsigned int size);
unsigned int dlm_lc_cluster_bufsize(struct dlm_lc_cluster *cl);
/* bytes a node's write queue holds before writers wait (0: no limit) */
int dlm_lc_cluster_set_queue_limit(struct dlm_lc_cluster *cl,
				   unsigned int bytes);
/*
 * Stopped: drop what the write queues hold, so a start sends none of it,
 * messages allocated before and committed after included. Not for an
 * upper with resend hooks: it would wait for what was dropped.
 */
int dlm_lc_cluster_discard_queued(struct dlm_lc_cluster *cl);

/* set *@field to @val under the instance lock, -EBUSY while it runs */
int dlm_lc_cluster_set_stopped(struct dlm_lc_cluster *cl, unsigned int *field,
			       unsigned int val);

#define DLM_LC_BUFSIZE_MIN	DLM_LC_MAX_MSG
#define DLM_LC_BUFSIZE_MAX	(1024 * 1024)

/* nodes (one connection each) */
int dlm_lc_node_add(struct dlm_lc_cluster *cl, int nodeid);
/* graceful: the queue drains and the peer sees EOF, within 5 s */
int dlm_lc_node_remove(struct dlm_lc_cluster *cl, int nodeid);
/* at once: what is queued for the node is dropped */
int dlm_lc_node_remove_now(struct dlm_lc_cluster *cl, int nodeid);
int dlm_lc_node_add_addr(struct dlm_lc_cluster *cl, int nodeid,
			 const struct sockaddr_storage *addr);
int dlm_lc_node_get_addrs(struct dlm_lc_cluster *cl, int nodeid,
			  struct sockaddr_storage *addrs, int max);
int dlm_lc_node_set_local(struct dlm_lc_cluster *cl, int nodeid, bool local);
int dlm_lc_node_set_mark(struct dlm_lc_cluster *cl, int nodeid, u32 mark);
int dlm_lc_node_get_mark(struct dlm_lc_cluster *cl, int nodeid, u32 *mark);
int dlm_lc_node_get_stats(struct dlm_lc_cluster *cl, int nodeid,
			  struct dlm_lc_node_stats *st);
int dlm_lc_node_close(struct dlm_lc_cluster *cl, int nodeid);

/*
 * Ask for a control message (an ACK) on the socket named @gen, built by
 * the upper layer when the send worker gets to it (the fill_ack hook).
 * Nothing is sent if that socket is gone. Process or softirq context.
 */
void dlm_lc_node_kick_ack(struct dlm_lc_cluster *cl, int nodeid, u64 gen);
/*
 * Send the upper layer's oldest unacknowledged message again on the
 * current socket, at the next message boundary (a probe for the peer's
 * ACK; the resend_begin hook). Process or softirq context; nothing
 * without a socket.
 */
void dlm_lc_node_kick_resend(struct dlm_lc_cluster *cl, int nodeid);
/* @nodeid is configured in @cl (it may be removed right after). */
bool dlm_lc_node_exists(struct dlm_lc_cluster *cl, int nodeid);

/* two-phase zero-copy send */
int dlm_lc_msg_alloc(struct dlm_lc_cluster *cl, int nodeid, int len,
		     gfp_t gfp, dlm_lc_msg_cb cb, void *cb_data,
		     struct dlm_lc_msg *msg);
void dlm_lc_msg_commit(struct dlm_lc_msg *msg);

/* workqueues shared by all instances (lowcomms.c) */
int dlm_lc_workqueues_init(void);
void dlm_lc_workqueues_exit(void);

#endif /* DLM_LC_LOWCOMMS_H */
