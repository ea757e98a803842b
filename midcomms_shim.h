/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Upper layer for dlm_lowcomms when it runs without DLM: framing checks,
 * dispatch by command, and the built-in ping and bulk services.
 */
#ifndef DLM_LC_MIDCOMMS_SHIM_H
#define DLM_LC_MIDCOMMS_SHIM_H

#include <linux/types.h>

struct dlm_lc_cluster;

/* DLM wire format facts */
#define DLM_LC_HDR_LEN		16
#define DLM_LC_VERSION_3_1	0x00030001
#define DLM_LC_VERSION_3_2	0x00030002
#define DLM_LC_VERSION_MAJOR	0xffff0000

enum {
	DLM_LC_CMD_MSG = 1,
	DLM_LC_CMD_RCOM = 2,
	DLM_LC_CMD_OPTS = 3,
	DLM_LC_CMD_ACK = 4,
	DLM_LC_CMD_FIN = 5,
	DLM_LC_CMD_MAX = 6,
};

#define DLM_LC_RCOM_STATUS		1
#define DLM_LC_RCOM_STATUS_REPLY	5
/* header + type, result, id, seq, seq_reply */
#define DLM_LC_RCOM_LEN			(DLM_LC_HDR_LEN + 4 + 4 + 8 + 8 + 8)

struct dlm_lc_hdr {
	__le32 version;
	__le32 lockspace;
	__le32 nodeid;
	__le16 length;
	u8 cmd;
	u8 pad;
} __packed;

struct dlm_lc_rcom {
	struct dlm_lc_hdr hdr;
	__le32 type;
	__le32 result;
	__le64 id;
	__le64 seq;
	__le64 seq_reply;
} __packed;

/*
 * Framing check for the receive path. Returns the length of the complete
 * message at @buf, 0 if more bytes are needed, or a negative errno if the
 * stream is broken (-EMSGSIZE bad length, -EPROTO bad version or command,
 * -EBADMSG wrong sender).
 */
int dlm_lc_frame_check(const void *buf, size_t avail, int nodeid);

/*
 * Called by the dlm_process worker for each complete message, in order;
 * @gen names the socket it came on (0: none, as in tests).
 */
void dlm_lc_shim_deliver(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
			 const void *buf, size_t len);

/*
 * Handlers for other in-kernel users; one per command and cluster. They
 * run in the dlm_process worker under rcu_read_lock(): no sleeping (send
 * replies with GFP_NOWAIT).
 */
typedef void (*dlm_lc_rx_fn)(struct dlm_lc_cluster *cl, int nodeid,
			     const void *buf, size_t len, void *priv);
int dlm_lc_shim_register(struct dlm_lc_cluster *cl, u8 cmd,
			 dlm_lc_rx_fn fn, void *priv);
void dlm_lc_shim_unregister(struct dlm_lc_cluster *cl, u8 cmd);

/* per-cluster shim state, owned by the cluster */
struct dlm_lc_shim;
struct dlm_lc_shim *dlm_lc_shim_create(struct dlm_lc_cluster *cl);
void dlm_lc_shim_destroy(struct dlm_lc_shim *shim);
/* a node was removed: drop its ping and bulk state */
void dlm_lc_shim_forget(struct dlm_lc_cluster *cl, int nodeid);

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
 * is kept until acknowledged. Fails with -EAGAIN if @gfp may not block and
 * the peer's version is not known yet, -ENOBUFS if the unacknowledged
 * backlog is full (after waiting, if @gfp allows), -EMSGSIZE if too long.
 */
int dlm_lc_shim_send(struct dlm_lc_cluster *cl, int nodeid, const void *buf,
		     size_t len, gfp_t gfp);

#define DLM_LC_BULK_MIN		(DLM_LC_HDR_LEN + 24)
/* Queue @count checked messages of @size bytes (headers included). */
int dlm_lc_bulk_send(struct dlm_lc_cluster *cl, int nodeid,
		     unsigned int count, unsigned int size);
int dlm_lc_bulk_get_stats(struct dlm_lc_cluster *cl, int nodeid,
			  struct dlm_lc_bulk_stats *st);
void dlm_lc_shim_reset_stats(struct dlm_lc_cluster *cl, int nodeid);

/* protocol version we speak: DLM_LC_VERSION_3_2 (default) or _3_1 */
int dlm_lc_shim_set_version(struct dlm_lc_cluster *cl, u32 version);
u32 dlm_lc_shim_version(struct dlm_lc_cluster *cl);

struct dlm_lc_rel_stats;
int dlm_lc_shim_rel_stats(struct dlm_lc_cluster *cl, int nodeid,
			  struct dlm_lc_rel_stats *st);

/* instance start and graceful stop (FIN to every 3.2 peer) */
void dlm_lc_shim_start(struct dlm_lc_cluster *cl);
void dlm_lc_shim_stop(struct dlm_lc_cluster *cl, unsigned long end);
/* one node is removed gracefully: FIN to it first */
void dlm_lc_shim_node_fin(struct dlm_lc_cluster *cl, int nodeid,
			  unsigned long end);

/* for the send worker after a reconnect (see reliable.h) */
bool dlm_lc_shim_resend_begin(struct dlm_lc_cluster *cl, int nodeid,
			      u32 *from, u32 *to);
int dlm_lc_shim_resend_copy(struct dlm_lc_cluster *cl, int nodeid, u32 *seq,
			    u32 to, void *buf);
bool dlm_lc_shim_has_unacked(struct dlm_lc_cluster *cl, int nodeid);
/* for the send worker: the ACK owed on socket @gen, see reliable.h */
int dlm_lc_shim_fill_ack(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
			 void *buf, int max);

#endif /* DLM_LC_MIDCOMMS_SHIM_H */
