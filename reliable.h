/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reliable delivery between two nodes, DLM protocol 3.2: every message is
 * wrapped in OPTS with a per-peer sequence number, the receiver answers
 * with cumulative ACKs, and the sender keeps each message (pinned in its
 * write-queue page, not copied) until it is acknowledged, to send it
 * again after a reconnect. FIN tells the peer we stop on purpose. See
 * Documentation/design.rst, "Reliable delivery".
 *
 * One struct dlm_lc_rel per peer, embedded in the shim's node state.
 * Lock order: conn->wq.lock -> rel->lock (sequence numbers are assigned
 * in the write-queue callback, so that they follow buffer order); so the
 * transport is never called with rel->lock held. Taken with bottom halves
 * off, as the write queue's lock is (writers may run in softirq).
 */
#ifndef DLM_LC_RELIABLE_H
#define DLM_LC_RELIABLE_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "lowcomms.h"
#include "wire.h"

struct dlm_lc_cluster;

/* memory (pinned pages, descriptors) one peer's unacked messages may hold */
#define DLM_LC_REL_BACKLOG	(4 * 1024 * 1024)
/* acknowledge after this many messages, or after the delay below */
#define DLM_LC_REL_ACK_BATCH	32
#define DLM_LC_REL_ACK_DELAY_MS	10
/*
 * Copies unacknowledged while nothing moved for this long: send the
 * oldest again. A receiver answers a duplicate with an ACK at once (a
 * stock node that only receives acknowledges every 257 messages, so the
 * tail of a stream would otherwise wait for its next message).
 */
#define DLM_LC_REL_PROBE_MS	200

struct dlm_lc_rel_stats {
	u32 version;		/* peer's protocol version, 0 unknown */
	u32 tx_next;		/* sequence number of our next message */
	u32 tx_acked;		/* the peer has everything before this */
	u32 rx_next;		/* next sequence number we expect */
	u64 tx_msgs;		/* messages sent with a sequence number */
	u64 retransmits;	/* kept messages sent again */
	u64 rx_msgs;		/* delivered in sequence */
	u64 rx_dups;		/* already delivered: dropped */
	u64 rx_future;		/* ahead of a gap: dropped, comes again */
	u64 rx_discarded;	/* arrived while we stop: not acked */
	u64 resyncs;		/* peer started a new sequence space */
	u64 acks_tx;
	u64 acks_rx;
	u64 acks_stale;		/* outside [tx_acked, tx_next]: ignored */
	u64 fin_tx;
	u64 fin_rx;
	u64 fin_resets;		/* both FINs through: numbers start again */
	u64 abandoned;		/* unacked messages freed with the node */
	u64 backlog_waits;	/* senders that waited for the backlog */
	u64 probes;		/* idle tails sent again to get an ACK */
	u32 unacked_msgs;
	u32 peer_closed;	/* the peer's last word was FIN */
	u64 unacked_bytes;
	u64 unacked_max;	/* high-water mark of the above */
};

struct dlm_lc_rel {
	struct dlm_lc_cluster *cl;
	int nodeid;
	spinlock_t lock;		/* everything below */
	wait_queue_head_t wait;		/* backlog room, version, acks */
	struct delayed_work ack_work;
	struct delayed_work probe_work;
	u32 probe_next;			/* tx_next at the last probe tick */
	u32 probe_acked;		/* tx_acked at the last probe tick */
	bool dead;			/* being freed: no new ack work */
	bool closing;			/* we stop: deliver no more */
	/* this stop's FIN: once pending, writers wait for the start */
	bool fin_pending;
	bool fin_numbered;		/* it has a number: fin_seq */
	u32 fin_seq;
	unsigned int writers;		/* past fin_wait(), not yet numbered */
	bool forgotten;			/* node removed: writers give up */
	bool rx_from_zero;		/* after a FIN reset: a stock peer's 0 */
	bool rx_unsync_acked;		/* ... its old FIN: unsync once acked */
	bool ack_now;			/* an ACK is owed even if rx_next is */
	bool ack_kicked;		/* transport asked, not yet written */

	u32 tx_sid;			/* names our sequence space */
	struct list_head unacked;	/* struct dlm_lc_rel_msg, by seq */
	struct dlm_lc_rel_msg *resend_pos;	/* next one to resend */
	size_t reserved;		/* backlog bytes, incl. being written */

	u32 rx_sid;
	bool rx_synced;
	u32 rx_acked;			/* rx_next in our last ACK */
	u64 rx_gen;			/* socket the last OPTS came on */

	struct dlm_lc_rel_stats st;
};

/* send handle, on the caller's stack between alloc and commit */
struct dlm_lc_rel_msg;
struct dlm_lc_rel_tx {
	struct dlm_lc_msg msg;
	struct dlm_lc_rel_msg *copy;	/* kept message; NULL: no sequence */
	char *buf;			/* where the caller writes its message */
};

void dlm_lc_rel_init(struct dlm_lc_rel *r, struct dlm_lc_cluster *cl,
		     int nodeid);
void dlm_lc_rel_release(struct dlm_lc_rel *r);

/* A message with version @version came from the peer (RCOM status, OPTS). */
void dlm_lc_rel_seen_version(struct dlm_lc_rel *r, u32 version);
u32 dlm_lc_rel_version(struct dlm_lc_rel *r);

/*
 * Reserve @len bytes for one message. @wrap: number it and keep it until
 * acknowledged (3.2), else send it bare. Waits for backlog room if @gfp
 * may block, else fails with -ENOBUFS. dlm_lc_rel_commit() must follow a
 * success.
 */
int dlm_lc_rel_alloc(struct dlm_lc_rel *r, int len, bool wrap, gfp_t gfp,
		     struct dlm_lc_rel_tx *tx);
void dlm_lc_rel_commit(struct dlm_lc_rel *r, struct dlm_lc_rel_tx *tx);

/*
 * An OPTS message came in on the socket named @gen. Returns true if the
 * message inside is to be delivered (the next in sequence, not a FIN).
 */
bool dlm_lc_rel_rx(struct dlm_lc_rel *r, const void *opts, u8 inner_cmd,
		   u64 gen);
void dlm_lc_rel_rx_ack(struct dlm_lc_rel *r, const void *hdr);
/*
 * The send worker is about to write an ACK on socket @gen: build it in
 * @buf (at most @max bytes). Returns its length, or 0 if none is owed on
 * that socket.
 */
int dlm_lc_rel_fill_ack(struct dlm_lc_rel *r, u64 gen, void *buf, int max);

/* After a reconnect: the range of unacked messages to send again. */
bool dlm_lc_rel_resend_begin(struct dlm_lc_rel *r, u32 *from, u32 *to);
/* Copy the first unacked message at or after *@seq, before @to. */
int dlm_lc_rel_resend_copy(struct dlm_lc_rel *r, u32 *seq, u32 to,
			   void *buf);
bool dlm_lc_rel_has_unacked(struct dlm_lc_rel *r);

/* Send the unacked messages again now (a stop wants their ACK). */
void dlm_lc_rel_probe_now(struct dlm_lc_rel *r);

/* Stopping: deliver nothing more, tell the peer what we have. */
void dlm_lc_rel_close_begin(struct dlm_lc_rel *r);
int dlm_lc_rel_send_fin(struct dlm_lc_rel *r);
void dlm_lc_rel_open(struct dlm_lc_rel *r);
/* The node is being removed: writers waiting for a start give up. */
void dlm_lc_rel_forget(struct dlm_lc_rel *r);
/* Whether a stop need not wait longer for the peer's answer to our FIN. */
bool dlm_lc_rel_fin_answered(struct dlm_lc_rel *r);

void dlm_lc_rel_get_stats(struct dlm_lc_rel *r, struct dlm_lc_rel_stats *st);

#endif /* DLM_LC_RELIABLE_H */
