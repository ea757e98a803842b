/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Upper layer for dlm_lowcomms when it runs without DLM: dispatch by
 * command, DLM 3.2 reliable delivery (reliable.h), and the built-in ping
 * and bulk services. It registers with each instance through struct
 * dlm_lc_upper_ops (lowcomms.h).
 */
#ifndef DLM_LC_MIDCOMMS_SHIM_H
#define DLM_LC_MIDCOMMS_SHIM_H

#include <linux/types.h>

#include "wire.h"

struct dlm_lc_cluster;
struct net;

#define DLM_LC_RCOM_STATUS		1
#define DLM_LC_RCOM_STATUS_REPLY	5

struct dlm_lc_rcom {
	struct dlm_lc_hdr hdr;
	__le32 type;
	__le32 result;
	__le64 id;
	__le64 seq;
	__le64 seq_reply;
} __packed;
/* header + type, result, id, seq, seq_reply: as short as stock takes */
#define DLM_LC_RCOM_LEN			DLM_LC_RCOM_MIN
static_assert(sizeof(struct dlm_lc_rcom) == DLM_LC_RCOM_LEN);

/*
 * The shim's deliver and fill_ack hooks (struct dlm_lc_upper_ops), public
 * for the KUnit suites that drive the shim directly. @gen names the
 * socket a message came on (0: none, as in tests).
 */
void dlm_lc_shim_deliver(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
			 const void *buf, size_t len);
int dlm_lc_shim_fill_ack(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
			 void *buf, int max);

/*
 * Handlers for other in-kernel users; one per command and cluster. They
 * run in the transport's delivery run (the dlm_process worker or a
 * receive worker) under rcu_read_lock(): no sleeping (send replies with
 * GFP_NOWAIT). Calls for one node come in order; calls for different
 * nodes may run at the same time, unless serial_io=1.
 */
typedef void (*dlm_lc_rx_fn)(struct dlm_lc_cluster *cl, int nodeid,
			     const void *buf, size_t len, void *priv);
int dlm_lc_shim_register(struct dlm_lc_cluster *cl, u8 cmd,
			 dlm_lc_rx_fn fn, void *priv);
void dlm_lc_shim_unregister(struct dlm_lc_cluster *cl, u8 cmd);

/*
 * An instance with the shim as its upper layer (the standalone module).
 * dlm_lc_cluster_destroy() frees both.
 */
struct dlm_lc_cluster *dlm_lc_shim_cluster_create(const char *name,
						  struct net *net);

struct dlm_lc_ping_stats {
	u64 sent;
	u64 replies;
	u64 timeouts;
	u64 last_ns;
	u64 p50_ns;
	u64 p99_ns;
	u64 max_ns;
	u32 samples;
	s32 last_result;	/* result field of the last reply */
};

struct dlm_lc_bulk_stats {
	u64 tx_msgs;
	u64 tx_bytes;
	u64 rx_msgs;		/* in sequence, checksum good */
	u64 rx_bytes;
	u64 rx_bad_csum;
	u64 rx_seq_err;		/* gaps, duplicates or reordering */
	u64 tx_ns;		/* time the last bulk_send took */
	u64 rx_span_ns;		/* first to last message received */
	u64 rx_first_seq;	/* where a fresh receiver joined the stream */
};

/*
 * Send @count RCOM_STATUS requests one after another, each waiting up to
 * @timeout_ms for its reply. Returns 0 or the first error (-ETIMEDOUT).
 */
int dlm_lc_ping(struct dlm_lc_cluster *cl, int nodeid, unsigned int count,
		unsigned int timeout_ms);
int dlm_lc_ping_get_stats(struct dlm_lc_cluster *cl, int nodeid,
			  struct dlm_lc_ping_stats *st);

/*
 * Send one message built by the caller, header included. To a 3.2 peer it
 * goes numbered, inside OPTS (so it must leave 24 bytes of the 4096), and
 * is kept until acknowledged. The copy sent carries the version it goes
 * at (3.1 bare, 3.2 inside OPTS) whatever minor the caller wrote. Fails with -EADDRNOTAVAIL
 * if the instance has no local node, -EAGAIN if @gfp may not block and
 * we have no state for the peer yet (nothing came from it and no send that
 * may sleep went to it) or its version is not known, -ENOBUFS if the
 * unacknowledged backlog is full (after waiting, if @gfp allows), -ENOENT
 * if the node is being removed, -ESHUTDOWN if we sent the peer FIN and
 * have not started again (after waiting up to 30 s for the start, if @gfp
 * allows), -EINVAL if @len is below a header, above 4096 or not the
 * header's length field, if the header's node is not the local one or its
 * major version is not 3, or if the command is not DLM_MSG or DLM_RCOM (the
 * only ones a receiver takes inside OPTS) or the message is shorter than
 * a stock node takes (DLM_LC_MSG_MIN, DLM_LC_RCOM_MIN), -EMSGSIZE if it
 * leaves no room for OPTS to a 3.2 peer.
 */
int dlm_lc_shim_send(struct dlm_lc_cluster *cl, int nodeid, const void *buf,
		     size_t len, gfp_t gfp);

#define DLM_LC_BULK_MIN		(DLM_LC_HDR_LEN + 24)
/* The peer is one of ours: a DLM_MSG may be shorter than stock takes. */
#define DLM_LC_BULK_SHORT	0x1
/*
 * Queue @count checked messages of @size bytes (headers, and OPTS to a
 * 3.2 peer, included). -EINVAL if @count is 0 or above 100000000, @size
 * above DLM_LC_MAX_MSG, @flags has an unknown bit, or the DLM_MSG inside
 * would be shorter than DLM_LC_BULK_MIN, or than DLM_LC_MSG_MIN without
 * DLM_LC_BULK_SHORT (refused before anything is made or asked when
 * @size alone says so; to a 3.2 peer once its version is known).
 */
int dlm_lc_bulk_send(struct dlm_lc_cluster *cl, int nodeid,
		     unsigned int count, unsigned int size, unsigned int flags);
int dlm_lc_bulk_get_stats(struct dlm_lc_cluster *cl, int nodeid,
			  struct dlm_lc_bulk_stats *st);
/* Waits for a bulk run to the node to end; -EINTR if killed meanwhile. */
int dlm_lc_shim_reset_stats(struct dlm_lc_cluster *cl, int nodeid);

/* protocol version we speak: DLM_LC_VERSION_3_2 (default) or _3_1 */
int dlm_lc_shim_set_version(struct dlm_lc_cluster *cl, u32 version);
u32 dlm_lc_shim_version(struct dlm_lc_cluster *cl);

/*
 * Messages delivered that nothing took: a command or RCOM type nothing
 * handles; a 3.2 envelope refused by dlm_lc_frame_opts() (only for a
 * buffer handed to dlm_lc_shim_deliver() directly: on the wire the
 * framing closes the stream first, counted in the node's "broken"); an
 * OPTS, ACK or bulk message from a node that is not configured (or no
 * longer), or whose state could not be allocated.
 */
u64 dlm_lc_shim_unhandled(struct dlm_lc_cluster *cl);

struct dlm_lc_rel_stats;
int dlm_lc_shim_rel_stats(struct dlm_lc_cluster *cl, int nodeid,
			  struct dlm_lc_rel_stats *st);

#endif /* DLM_LC_MIDCOMMS_SHIM_H */
