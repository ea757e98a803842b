/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals shared by the transport files: instance and connection structs,
 * flag bits and the helpers each file exports to the others.
 */
#ifndef DLM_LC_LOWCOMMS_INT_H
#define DLM_LC_LOWCOMMS_INT_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/srcu.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/sock.h>

#include "lowcomms.h"
#include "wire.h"
#include "writequeue.h"

#define DLM_LC_HASH_BITS	6
#define DLM_LC_HASH_SIZE	BIT(DLM_LC_HASH_BITS)
/* bytes a connection may hold unsent before writers wait */
#define DLM_LC_WQ_LIMIT		(4 * 1024 * 1024)
/* bytes above the limit for writers that cannot wait (wait_for_room()) */
#define DLM_LC_WQ_RESERVE(limit)	((limit) / 8)
/* bytes received but not yet processed before receive backs off */
#define DLM_LC_PROCESS_LIMIT	(8 * 1024 * 1024)
#define DLM_LC_SHUTDOWN_TIMEOUT	(5 * HZ)
/* of that, what the connects a graceful end makes get to come up */
#define DLM_LC_END_DIAL_TIMEOUT	HZ
#define DLM_LC_BACKOFF_MIN_MS	50
#define DLM_LC_BACKOFF_MAX_MS	3000
#define DLM_LC_DEFAULT_BUFSIZE	(32 * 1024)

/*
 * Connection flags. Who sets and clears each one is documented in
 * Documentation/design.rst ("Life of a connection").
 */
enum {
	CF_SEND_PENDING,	/* swork queued, running or owed by an event */
	CF_RECV_PENDING,	/* rwork queued or running */
	CF_RECV_INTR,		/* data_ready fired since rwork last looked */
	CF_WAIT_SPACE,		/* swork parked until write_space/connect */
	CF_STOP_IO,		/* no new work may be queued */
	CF_SHUTDOWN,		/* we sent SHUT_WR and wait for the peer's EOF */
	CF_EOF,			/* peer's EOF seen after our SHUT_WR */
	CF_REMOVED,		/* node is being removed: writers give up */
	CF_OTHER,		/* receive-only socket of a crossed connect */
	CF_RESEND,		/* new socket: resend unacked messages first */
	CF_ACK_PENDING,		/* upper layer wants an ACK on this socket */
	CF_CONNECTED,		/* socket established (lockless status) */
	CF_CONNECTING,		/* our connect, not yet established */
	CF_PROBE,		/* live socket: send the oldest unacked again */
	CF_RX_OWED,		/* rx_buf holds whole messages not yet queued */
	CF_RX_DELIVER,		/* rwork delivers: its own kicks are deferred */
	CF_SEND_INLINE,		/* rwork owes a send run (holds SEND_PENDING) */
	CF_SEND_RUN,		/* a send run is going (swork's or inline) */
	CF_SEND_AGAIN,		/* one found it going: run swork after it */
	CF_LEFT,		/* sibling reads a main socket its peer left */
	CF_LEFT_LOST,		/* ... whose loss has been reported */
	CF_DONE_HOLD,		/* rwork in deliver_done: its send may wait */
	CF_HELD,		/* hold_work armed for what deliver_done wrote */
	CF_NO_HOLD,		/* graceful stop or removal: nothing is held */
	CF_DIAL_WAITED,		/* waited for the peer's dial: dial next */
	CF_DIAL_WAITING,	/* retry_work is that wait */
	CF_END_DIAL,		/* our connect, made under NO_HOLD, not up yet */
#ifdef DLM_LC_TEST_HOOKS
	CF_TEST_CANCELLED,	/* test build: the stop's cancels are done */
#endif
};

struct dlm_lc_proto_ops;

/*
 * A delivery lane: received items waiting for the upper layer, delivered
 * by one run at a time, in order. An instance has one lane that all its
 * nodes share; under an upper layer that takes nodes side by side
 * (deliver_per_node) each connection has its own, shared with its crossed
 * second socket.
 */
struct dlm_lc_lane {
	struct dlm_lc_cluster *cl;
	struct list_head list;		/* items, under cl->process_lock */
	struct work_struct work;	/* the lane's run on dlm_process */
	/*
	 * Held by whoever is delivering from the lane: its work, or a
	 * receive worker that drained it as it went idle. A run gives it up
	 * only while it sees the lane empty under process_lock, or gives it
	 * up and then queues the work; anyone else who takes it (a removal,
	 * on a shared lane; a node's own lane is purged instead) queues the
	 * work after giving it up. So a trylock that fails may leave: what
	 * it queued will be delivered.
	 */
	struct mutex mutex;
};

struct dlm_lc_conn {
	struct dlm_lc_cluster *cl;
	int nodeid;
	struct hlist_node hnode;	/* cl->conns, SRCU list under cl->lock */

	/* read: socket I/O; write: install, release or replace the socket */
	struct rw_semaphore sock_lock;
	struct socket *sock;
	/* names the socket installed last; never reused */
	u64 sock_gen;
	/*
	 * Second socket of a crossed connect: we read from it and send ACKs
	 * back on it. Created once under our sock_lock held for write and
	 * then never changes until the connection is freed; lockless readers
	 * (status) use smp_load_acquire().
	 */
	struct dlm_lc_conn *other;
	/* of a second socket: the connection it belongs to; fixed */
	struct dlm_lc_conn *primary;
	/*
	 * Where its reads queue: @node_lane (its own lane, or for a second
	 * socket its primary's) when the instance delivers nodes side by
	 * side, else the instance's lane.
	 */
	struct dlm_lc_lane lane;
	struct dlm_lc_lane *node_lane;
	void (*orig_data_ready)(struct sock *sk);
	void (*orig_write_space)(struct sock *sk);
	void (*orig_state_change)(struct sock *sk);
	void (*orig_error_report)(struct sock *sk);

	unsigned long flags;
	struct work_struct rwork;
	struct work_struct swork;
	struct delayed_work retry_work;
	/* sends what deliver_done wrote if no commit came for it to join */
	struct delayed_work hold_work;
	/*
	 * sends what a message's delivery owes if the next one's lasts (an
	 * upper layer that may sleep in its deliver)
	 */
	struct delayed_work owed_work;
	atomic_t backoff_ms;

	struct dlm_lc_wqueue wq;
	/* writers waiting for queue space, shutdown waiting for EOF */
	wait_queue_head_t wait;
	/*
	 * Writers asleep for queue space, outside cl->srcu (a 30 s wait must
	 * not hold up another node's grace period); removal waits for zero.
	 */
	atomic_t room_waiters;

	/*
	 * Receive buffer, owned by rwork (recv.c says how it is lent): taken
	 * by a run, given back when the run goes idle with no bytes in it,
	 * else kept (and freed with the socket). rx_size: its size, or
	 * buffer_size when a run is to take one.
	 */
	char *rx_buf;
	unsigned int rx_size;
	unsigned int rx_len;

	/* resend after a reconnect, owned by swork, allocated while resending */
	char *rs_buf;			/* the copy being sent */
	unsigned int rs_len;
	unsigned int rs_off;
	u32 rs_next;			/* next sequence number to resend */
	u32 rs_end;			/* first one the write queue covers */
	bool rs_active;

	/* an ACK on its way out, owned by swork; filled when it is sent */
	u8 ack_buf[DLM_LC_CTRL_MAX];
	unsigned int ack_len;
	unsigned int ack_off;

	spinlock_t addr_lock;	/* addrs, addr_count */
	struct sockaddr_storage addrs[DLM_LC_MAX_ADDRS];
	int addr_count;
	u32 mark;

	bool had_socket;
	atomic64_t tx_bytes;
	atomic64_t rx_bytes;
	atomic64_t tx_msgs;
	atomic64_t rx_msgs;
	atomic64_t reconnects;
	atomic64_t drops;
	atomic64_t broken;
	atomic64_t connect_fail;
	atomic64_t dial_waits;
	atomic64_t dial_wait_hits;
	atomic64_t send_backoffs;	/* short of memory: waited a tick */
	atomic64_t tx_calls;	/* socket calls that took queued bytes */
	atomic64_t tx_ranges;	/* page ranges handed in them */
	atomic64_t tx_inline;	/* send runs done by rwork after delivering */
	atomic64_t tx_guard;	/* ... by owed_work, for a delivery that lasted */
};

/*
 * Whole messages read from one socket, at most a page of them: in one
 * allocation sized to them, or in a page (never more than order 0 on a
 * SLUB fallback). @mem is what the item really holds, for the bound.
 */
struct dlm_lc_rx {
	struct list_head list;
	int nodeid;
	u64 gen;		/* sock_gen of the socket they came on */
	unsigned int len;
	unsigned int mem;
	/* the bytes: in @data if they fit one page with us, else a page */
	struct page *page;
	char data[] __aligned(8);
};

struct dlm_lc_cluster {
	struct list_head list;		/* dlm_lc_instances */
	char name[DLM_LC_NAME_LEN];
	struct net *net;		/* NULL once the namespace is gone */

	/* settings, start/stop, the conns list and listen socket */
	struct mutex lock;
	bool running;
	unsigned int port;
	unsigned int proto;
	u32 mark;
	unsigned int bufsize;
	int local_nodeid;
	struct sockaddr_storage local_addr;	/* copied at start */
	const struct dlm_lc_proto_ops *ops;

	struct srcu_struct srcu;
	struct hlist_head conns[DLM_LC_HASH_SIZE];

	struct socket *listen_sock;
	void (*listen_orig_data_ready)(struct sock *sk);
	struct work_struct accept_work;

	spinlock_t process_lock;	/* lanes' lists, process_bytes/max */
	struct dlm_lc_lane lane;	/* every node's, unless per node */
	bool lane_per_node;	/* set with the upper layer */
	size_t process_bytes;	/* memory held by queued items */
	size_t process_reserved;	/* memory reads in progress may add */
	size_t process_max;
	size_t process_limit;	/* receive backs off above this */
	unsigned int wq_limit;	/* writers wait above this; 0: never */
	wait_queue_head_t process_wait;
	atomic64_t process_inline;	/* items delivered by a receive worker */
	atomic64_t process_worker;	/* items delivered by dlm_process */

	/* receive buffers no connection holds, for the next read */
	spinlock_t rx_spare_lock;
	struct list_head rx_spares;
	unsigned int rx_spare_count;
	/* pages of delivered items, for the next (page->lru, same lock) */
	struct list_head rx_pages;
	unsigned int rx_page_count;

	/* set once before the first start (dlm_lc_cluster_set_upper) */
	const struct dlm_lc_upper_ops *upper;
	void *upper_priv;
#ifdef DLM_LC_TEST_HOOKS
	/* each process run first waits for the gate, then the delay */
	struct completion *test_process_gate;
	unsigned int test_process_delay_ms;
#endif

	atomic64_t accepted;
	atomic64_t refused;
	atomic64_t rx_throttled;
};

/*
 * The standalone module exports the transport for its test modules and
 * other in-kernel users; inside the drop-in dlm.ko (DLM_LC_DROPIN)
 * nothing of ours is exported, so the two can never clash over a symbol.
 * (Named like the kernel's export macros, so that checkpatch sees one.)
 */
#ifdef DLM_LC_DROPIN
#define EXPORT_SYMBOL_DLM_LC(sym) static_assert(__same_type(sym, sym))
#else
#define EXPORT_SYMBOL_DLM_LC(sym) EXPORT_SYMBOL_GPL(sym)
#endif

/* Transport protocol: the TCP table lives in sock.c, SCTP comes later. */
struct dlm_lc_proto_ops {
	const char *name;
	int type;
	int protocol;
	/* how SHUT_* maps for a graceful close */
	int shutdown_how;
};

extern struct workqueue_struct *dlm_lc_io_wq;
extern struct workqueue_struct *dlm_lc_process_wq;
/* benchmark baseline (module parameter serial_io): one ordered dlm_io */
extern bool dlm_lc_serial_io;
extern unsigned int dlm_lc_dial_wait_ms;

/* lowcomms.c */
struct dlm_lc_conn *dlm_lc_conn_find(struct dlm_lc_cluster *cl, int nodeid);
struct dlm_lc_conn *dlm_lc_conn_find_addr(struct dlm_lc_cluster *cl,
					  const struct sockaddr_storage *ss);
void dlm_lc_conn_init(struct dlm_lc_conn *conn, struct dlm_lc_cluster *cl,
		      int nodeid);

/* sock.c */
extern const struct dlm_lc_proto_ops dlm_lc_tcp_ops;
int dlm_lc_listen_start(struct dlm_lc_cluster *cl);
void dlm_lc_listen_arm(struct dlm_lc_cluster *cl);
void dlm_lc_listen_stop(struct dlm_lc_cluster *cl);
void dlm_lc_accept_work(struct work_struct *work);
int dlm_lc_conn_connect(struct dlm_lc_conn *conn);
void dlm_lc_conn_release_locked(struct dlm_lc_conn *conn);
/* why a socket is closed (dlm_lc_conn_close_gen() says what follows) */
enum dlm_lc_close {
	DLM_LC_CLOSE_STOP,	/* stop or removal: no reconnect */
	DLM_LC_CLOSE_ASKED,	/* dlm_lc_node_close(): reconnect on demand */
	DLM_LC_CLOSE_EOF,	/* the peer closed it */
	DLM_LC_CLOSE_ERROR,	/* an error, or a broken stream */
};

void dlm_lc_conn_close(struct dlm_lc_conn *conn, enum dlm_lc_close why);
void dlm_lc_conn_close_gen(struct dlm_lc_conn *conn, u64 gen,
			   enum dlm_lc_close why);
void dlm_lc_conn_stop_io(struct dlm_lc_conn *conn);
void dlm_lc_conn_shutdown_begin(struct dlm_lc_conn *conn);
void dlm_lc_conn_shutdown_wait(struct dlm_lc_conn *conn, unsigned long end);
void dlm_lc_conn_free(struct dlm_lc_conn *conn);
void dlm_lc_kick_send(struct dlm_lc_conn *conn);
void dlm_lc_commit_seen(struct dlm_lc_conn *conn);
void dlm_lc_schedule_retry(struct dlm_lc_conn *conn);

/* recv.c */
void dlm_lc_recv_work(struct work_struct *work);
void dlm_lc_lane_init(struct dlm_lc_lane *lane, struct dlm_lc_cluster *cl);
void dlm_lc_lane_purge(struct dlm_lc_lane *lane);
void dlm_lc_process_work(struct work_struct *work);
void dlm_lc_process_idle(struct dlm_lc_conn *conn);
void dlm_lc_process_purge(struct dlm_lc_cluster *cl);
void dlm_lc_process_forget(struct dlm_lc_conn *conn);
void dlm_lc_rx_spares_init(struct dlm_lc_cluster *cl);
void dlm_lc_rx_spares_free(struct dlm_lc_cluster *cl);

/*
 * The lane @conn's reads queue on; fixed while the instance runs. A
 * crossed second socket queues behind its primary, never on a lane of
 * its own (only a primary's lane is purged): its reads and the primary's
 * are one node's, in one order.
 */
static inline struct dlm_lc_lane *dlm_lc_lane_of(struct dlm_lc_conn *conn)
{
	return conn->cl->lane_per_node ? conn->node_lane : &conn->cl->lane;
}

size_t dlm_lc_rx_mem_bound(unsigned int bytes);
int dlm_lc_recv_parse(struct dlm_lc_conn *conn);

/* send.c */
void dlm_lc_send_work(struct work_struct *work);
void dlm_lc_send_inline(struct dlm_lc_conn *conn);
void dlm_lc_send_owed_queue(struct dlm_lc_conn *reader);
void dlm_lc_send_owed_guard(struct dlm_lc_conn *reader);
void dlm_lc_send_owed_unguard(struct dlm_lc_conn *reader);
void dlm_lc_owed_work(struct work_struct *work);
void dlm_lc_send_done_begin(struct dlm_lc_conn *reader);
void dlm_lc_send_done_end(struct dlm_lc_conn *reader);
void dlm_lc_hold_work(struct work_struct *work);
void dlm_lc_send_end_holds(struct dlm_lc_conn *conn);
void dlm_lc_retry_work(struct work_struct *work);

#endif /* DLM_LC_LOWCOMMS_INT_H */
