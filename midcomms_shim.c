// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stand-in for DLM's midcomms: checks framing for the receive path,
 * dispatches whole messages by command, and provides two services of its
 * own: ping (RCOM_STATUS, the exchange any stock DLM node answers) and a
 * bulk sink that checks sequence and checksum of test traffic.
 */

#include <linux/crc32.h>
#include <linux/kref.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/xarray.h>
#include <kunit/visibility.h>

#include "lowcomms.h"
#include "midcomms_shim.h"
#include "reliable.h"

#define RTT_SAMPLES		1024
#define RCOM_STATUS_EXTRA	8	/* rcom_status: flags, reserved */
#define RCOM_CONFIG_LEN		32	/* rcom_config carried by the reply */
#define OPTS_LEN		DLM_LC_OPTS_LEN
/* waiting for a peer to show its protocol version */
#define PROBE_TRIES		10
#define PROBE_WAIT		HZ
#define BULK_LOCKSPACE		0x314b4c42	/* "BLK1", a lockspace nobody has */
#define BULK_MAGIC		0x6b6c7562

struct bulk_body {
	__le32 magic;
	__le32 run;
	__le64 seq;
	__le32 len;
	__le32 csum;
} __packed;

struct shim_handler {
	dlm_lc_rx_fn fn;
	void *priv;
	struct rcu_head rcu;
};

/* Per peer node: what we pinged and what we sent to / received from it. */
struct shim_node {
	struct kref ref;
	struct rcu_head rcu;
	int nodeid;

	struct mutex ping_mutex;	/* one ping in flight */
	struct mutex bulk_mutex;	/* one bulk sender */
	struct completion ping_done;

	spinlock_t lock;		/* everything below */
	u64 ping_id;			/* 0: none outstanding */
	ktime_t ping_sent;
	struct dlm_lc_ping_stats ping;
	u64 *rtt;			/* RTT_SAMPLES, from the first ping */
	unsigned int rtt_next;
	u32 tx_run;
	u64 tx_seq;
	u32 rx_run;
	u64 rx_next;
	bool rx_adopt;			/* fresh state: take the first seq */
	ktime_t rx_first;
	struct dlm_lc_bulk_stats bulk;

	struct dlm_lc_rel rel;		/* sequence numbers, ACKs, resend */
};

struct dlm_lc_shim {
	struct dlm_lc_cluster *cl;
	struct xarray nodes;
	struct mutex handlers_mutex;	/* writers of handlers[] */
	struct shim_handler __rcu *handlers[DLM_LC_CMD_MAX];
	atomic64_t next_ping_id;
	atomic64_t unhandled;
	u32 version;			/* ours: 3.2, or 3.1 only */
};

/* The last reference may only be dropped where sleeping is allowed. */
static void shim_node_free(struct kref *ref)
{
	struct shim_node *n = container_of(ref, struct shim_node, ref);

	dlm_lc_rel_release(&n->rel);
	/* only holders of a reference touch the ring */
	kfree(n->rtt);
	kfree_rcu(n, rcu);
}

static void shim_node_put(struct shim_node *n)
{
	kref_put(&n->ref, shim_node_free);
}

static struct shim_node *shim_node_alloc(struct dlm_lc_shim *shim,
					 int nodeid)
{
	struct shim_node *n;

	n = kzalloc(sizeof(*n), GFP_NOFS);
	if (!n)
		return NULL;
	kref_init(&n->ref);
	n->nodeid = nodeid;
	mutex_init(&n->ping_mutex);
	mutex_init(&n->bulk_mutex);
	init_completion(&n->ping_done);
	spin_lock_init(&n->lock);
	n->rx_adopt = true;
	dlm_lc_rel_init(&n->rel, shim->cl, nodeid);
	return n;
}

/* The xarray holds one reference; lookups take their own. */
static struct shim_node *shim_node_get(struct dlm_lc_shim *shim, int nodeid,
				       bool create)
{
	struct shim_node *n, *new;
	int ret;

	if (nodeid <= 0)
		return NULL;
	for (;;) {
		rcu_read_lock();
		n = xa_load(&shim->nodes, nodeid);
		if (n && !kref_get_unless_zero(&n->ref))
			n = NULL;
		rcu_read_unlock();
		if (n || !create)
			return n;
		/*
		 * Only for configured nodes: a removed node's late traffic
		 * must not bring its state back (removal drops its queued
		 * messages before it forgets the node).
		 */
		if (!dlm_lc_node_exists(shim->cl, nodeid))
			return NULL;

		new = shim_node_alloc(shim, nodeid);
		if (!new)
			return NULL;
		kref_get(&new->ref);
		ret = xa_insert(&shim->nodes, nodeid, new, GFP_NOFS);
		if (!ret)
			return new;
		kfree(new);
		if (ret != -EBUSY)
			return NULL;
	}
}

static struct dlm_lc_shim *shim_of(struct dlm_lc_cluster *cl)
{
	return dlm_lc_cluster_upper(cl);
}

static struct dlm_lc_shim *shim_alloc(struct dlm_lc_cluster *cl)
{
	struct dlm_lc_shim *shim;

	shim = kzalloc(sizeof(*shim), GFP_KERNEL);
	if (!shim)
		return NULL;
	shim->cl = cl;
	shim->version = DLM_LC_VERSION_3_2;
	xa_init(&shim->nodes);
	mutex_init(&shim->handlers_mutex);
	return shim;
}

static void shim_free(struct dlm_lc_shim *shim)
{
	struct shim_handler *h;
	struct shim_node *n;
	unsigned long idx;
	int cmd;

	xa_for_each(&shim->nodes, idx, n) {
		xa_erase(&shim->nodes, idx);
		dlm_lc_rel_forget(&n->rel);
		shim_node_put(n);
	}
	xa_destroy(&shim->nodes);

	for (cmd = 0; cmd < DLM_LC_CMD_MAX; cmd++) {
		h = rcu_dereference_protected(shim->handlers[cmd], true);
		if (h)
			kfree_rcu(h, rcu);
	}
	mutex_destroy(&shim->handlers_mutex);
	kfree(shim);
}

static void shim_forget(struct dlm_lc_cluster *cl, int nodeid)
{
	struct shim_node *n;

	n = xa_erase(&shim_of(cl)->nodes, nodeid);
	if (n) {
		/* a writer still holding it waits for nothing now */
		dlm_lc_rel_forget(&n->rel);
		shim_node_put(n);
	}
}

int dlm_lc_shim_register(struct dlm_lc_cluster *cl, u8 cmd, dlm_lc_rx_fn fn,
			 void *priv)
{
	struct dlm_lc_shim *shim = shim_of(cl);
	struct shim_handler *h;
	int ret = -EBUSY;

	if (cmd >= DLM_LC_CMD_MAX || !fn)
		return -EINVAL;
	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	h->fn = fn;
	h->priv = priv;

	mutex_lock(&shim->handlers_mutex);
	if (!rcu_access_pointer(shim->handlers[cmd])) {
		rcu_assign_pointer(shim->handlers[cmd], h);
		h = NULL;
		ret = 0;
	}
	mutex_unlock(&shim->handlers_mutex);
	kfree(h);
	return ret;
}
EXPORT_SYMBOL_GPL(dlm_lc_shim_register);

void dlm_lc_shim_unregister(struct dlm_lc_cluster *cl, u8 cmd)
{
	struct dlm_lc_shim *shim = shim_of(cl);
	struct shim_handler *h;

	if (cmd >= DLM_LC_CMD_MAX)
		return;
	mutex_lock(&shim->handlers_mutex);
	h = rcu_replace_pointer(shim->handlers[cmd], NULL,
				lockdep_is_held(&shim->handlers_mutex));
	mutex_unlock(&shim->handlers_mutex);
	if (h) {
		/* the caller may free @priv once we return */
		synchronize_rcu();
		kfree(h);
	}
}
EXPORT_SYMBOL_GPL(dlm_lc_shim_unregister);

static void hdr_fill(struct dlm_lc_cluster *cl, void *buf, int len, u8 cmd,
		     u32 lockspace, u32 version)
{
	struct dlm_lc_hdr *hdr = buf;

	memset(buf, 0, len);
	hdr->version = cpu_to_le32(version);
	hdr->lockspace = cpu_to_le32(lockspace);
	hdr->nodeid = cpu_to_le32(dlm_lc_cluster_local_nodeid(cl));
	hdr->length = cpu_to_le16(len);
	hdr->cmd = cmd;
}

static int rcom_send(struct dlm_lc_cluster *cl, int nodeid, u32 type,
		     u64 id, s32 result, u32 lockspace, gfp_t gfp,
		     ktime_t *stamp)
{
	int len = DLM_LC_RCOM_LEN;
	struct dlm_lc_rcom *rc;
	struct dlm_lc_msg msg;
	int ret;

	/* same sizes a stock node uses, so its checks accept ours */
	len += type == DLM_LC_RCOM_STATUS ? RCOM_STATUS_EXTRA : RCOM_CONFIG_LEN;
	ret = dlm_lc_msg_alloc(cl, nodeid, len, gfp, NULL, NULL, &msg);
	if (ret)
		return ret;

	rc = (struct dlm_lc_rcom *)msg.buf;
	/*
	 * Never wrapped, with our version in the header, as stock nodes do:
	 * the first of these a stock node gets from us fixes the version it
	 * uses with us for good.
	 */
	hdr_fill(cl, msg.buf, len, DLM_LC_CMD_RCOM, lockspace,
		 READ_ONCE(shim_of(cl)->version));
	rc->type = cpu_to_le32(type);
	rc->result = cpu_to_le32(result);
	rc->id = cpu_to_le64(id);
	if (stamp)
		*stamp = ktime_get();
	dlm_lc_msg_commit(&msg);
	return 0;
}

static void rtt_record(struct shim_node *n, u64 ns)
{
	lockdep_assert_held(&n->lock);
	/* a reply matched our ping, so the pinger has the ring */
	if (n->rtt)
		n->rtt[n->rtt_next++ % RTT_SAMPLES] = ns;
	n->ping.last_ns = ns;
	n->ping.max_ns = max(n->ping.max_ns, ns);
	n->ping.replies++;
}

static void rcom_rx(struct dlm_lc_shim *shim, int nodeid, const void *buf,
		    size_t len)
{
	const struct dlm_lc_rcom *rc = buf;
	struct shim_node *n;
	ktime_t now;

	if (len < DLM_LC_RCOM_LEN)
		return;

	switch (le32_to_cpu(rc->type)) {
	case DLM_LC_RCOM_STATUS:
		/* we hold no lockspaces: answer as a stock node would */
		rcom_send(shim->cl, nodeid, DLM_LC_RCOM_STATUS_REPLY,
			  le64_to_cpu(rc->id), -ESRCH,
			  le32_to_cpu(rc->hdr.lockspace), GFP_NOWAIT, NULL);
		break;
	case DLM_LC_RCOM_STATUS_REPLY:
		/*
		 * read only here: a request needs no time, and in a guest
		 * whose clock is an emulated HPET each read is costly
		 */
		now = ktime_get();
		n = shim_node_get(shim, nodeid, false);
		if (!n)
			break;
		spin_lock(&n->lock);
		if (n->ping_id && le64_to_cpu(rc->id) == n->ping_id) {
			rtt_record(n, ktime_to_ns(ktime_sub(now, n->ping_sent)));
			n->ping.last_result = (s32)le32_to_cpu(rc->result);
			n->ping_id = 0;
			complete(&n->ping_done);
		}
		spin_unlock(&n->lock);
		shim_node_put(n);
		break;
	default:
		atomic64_inc(&shim->unhandled);
	}
}

static u8 bulk_byte(u32 run, u64 seq, unsigned int i)
{
	return (u8)(run + seq * 131 + i * 7);
}

static void bulk_fill(struct dlm_lc_cluster *cl, char *buf, int len, u32 run,
		      u64 seq, u32 version)
{
	struct bulk_body *b = (struct bulk_body *)(buf + DLM_LC_HDR_LEN);
	unsigned int i, plen = len - DLM_LC_BULK_MIN;
	u8 *payload = (u8 *)buf + DLM_LC_BULK_MIN;

	hdr_fill(cl, buf, len, DLM_LC_CMD_MSG, BULK_LOCKSPACE, version);
	b->magic = cpu_to_le32(BULK_MAGIC);
	b->run = cpu_to_le32(run);
	b->seq = cpu_to_le64(seq);
	b->len = cpu_to_le32(plen);
	for (i = 0; i < plen; i++)
		payload[i] = bulk_byte(run, seq, i);
	b->csum = cpu_to_le32(crc32_le((u32)seq, payload, plen));
}

static bool bulk_valid(const void *buf, size_t len)
{
	const struct bulk_body *b = buf + DLM_LC_HDR_LEN;
	const u8 *payload = buf + DLM_LC_BULK_MIN;
	u32 plen;

	if (len < DLM_LC_BULK_MIN || le32_to_cpu(b->magic) != BULK_MAGIC)
		return false;
	plen = le32_to_cpu(b->len);
	if (plen != len - DLM_LC_BULK_MIN)
		return false;
	return crc32_le((u32)le64_to_cpu(b->seq), payload, plen) ==
	       le32_to_cpu(b->csum);
}

/* @n: the sender's state, with a reference the caller keeps */
static void bulk_rx(struct shim_node *n, const void *buf, size_t len)
{
	const struct bulk_body *b = buf + DLM_LC_HDR_LEN;
	bool valid = bulk_valid(buf, len);
	ktime_t now = ktime_get();
	u64 seq;

	spin_lock(&n->lock);
	if (!valid) {
		n->bulk.rx_bad_csum++;
		goto out_unlock;
	}
	seq = le64_to_cpu(b->seq);
	if (n->rx_adopt) {
		/* fresh state (module reloaded): the stream goes on from here */
		n->rx_adopt = false;
		n->rx_run = le32_to_cpu(b->run);
		n->rx_next = seq;
		n->bulk.rx_first_seq = seq;
	} else if (le32_to_cpu(b->run) != n->rx_run) {
		/* a new sender run starts at sequence 0 */
		n->rx_run = le32_to_cpu(b->run);
		n->rx_next = 0;
	}
	if (seq != n->rx_next) {
		n->bulk.rx_seq_err++;
		n->rx_next = seq + 1;
		goto out_unlock;
	}
	n->rx_next++;
	n->bulk.rx_msgs++;
	n->bulk.rx_bytes += len;
	if (!n->rx_first)
		n->rx_first = now;
	n->bulk.rx_span_ns = ktime_to_ns(ktime_sub(now, n->rx_first));
out_unlock:
	spin_unlock(&n->lock);
}

static void bulk_rx_node(struct dlm_lc_shim *shim, struct shim_node *n,
			 int nodeid, const void *buf, size_t len)
{
	if (n) {
		bulk_rx(n, buf, len);
		return;
	}
	n = shim_node_get(shim, nodeid, true);
	if (!n) {
		atomic64_inc(&shim->unhandled);
		return;
	}
	bulk_rx(n, buf, len);
	shim_node_put(n);
}

/* @n: the sender's state if the caller holds it, else NULL */
static void deliver_one(struct dlm_lc_shim *shim, struct shim_node *n,
			int nodeid, const void *buf, size_t len)
{
	const struct dlm_lc_hdr *hdr = buf;
	struct shim_handler *h;

	rcu_read_lock();
	h = rcu_dereference(shim->handlers[hdr->cmd]);
	if (h) {
		h->fn(shim->cl, nodeid, buf, len, h->priv);
		rcu_read_unlock();
		return;
	}
	rcu_read_unlock();

	if (hdr->cmd == DLM_LC_CMD_RCOM)
		rcom_rx(shim, nodeid, buf, len);
	else if (hdr->cmd == DLM_LC_CMD_MSG &&
		 le32_to_cpu(hdr->lockspace) == BULK_LOCKSPACE)
		bulk_rx_node(shim, n, nodeid, buf, len);
	else
		atomic64_inc(&shim->unhandled);
}

static void learn_version(struct dlm_lc_shim *shim, int nodeid, u32 version)
{
	struct shim_node *n;

	n = shim_node_get(shim, nodeid, true);
	if (!n)
		return;
	dlm_lc_rel_seen_version(&n->rel, version);
	shim_node_put(n);
}

static void ack_rx(struct dlm_lc_shim *shim, int nodeid, const void *buf)
{
	struct shim_node *n;

	n = shim_node_get(shim, nodeid, false);
	if (!n) {
		atomic64_inc(&shim->unhandled);
		return;
	}
	dlm_lc_rel_rx_ack(&n->rel, buf);
	shim_node_put(n);
}

/* A 3.2 message: check its sequence number, then hand on what it wraps. */
static void opts_rx(struct dlm_lc_shim *shim, int nodeid, u64 gen,
		    const void *buf, size_t len)
{
	const struct dlm_lc_hdr *inner;
	struct shim_node *n;
	int skip;

	/*
	 * On the wire the framing has already made this same check and
	 * closed the stream on failure; it is made again here so that
	 * delivery does not depend on the path a buffer came by (KUnit
	 * hands crafted buffers straight in).
	 */
	skip = dlm_lc_frame_opts(buf, len);
	if (skip < 0)
		goto bad;
	inner = buf + skip;

	n = shim_node_get(shim, nodeid, true);
	if (!n)
		goto bad;
	dlm_lc_rel_seen_version(&n->rel, DLM_LC_VERSION_3_2);
	/* a node that speaks only 3.1 takes what is inside, unnumbered */
	if ((READ_ONCE(shim->version) != DLM_LC_VERSION_3_2 ||
	     dlm_lc_rel_rx(&n->rel, buf, inner->cmd, gen)) &&
	    inner->cmd != DLM_LC_CMD_FIN)
		deliver_one(shim, n, nodeid, inner, len - skip);
	shim_node_put(n);
	return;
bad:
	atomic64_inc(&shim->unhandled);
}

/* Called in order for each message, by the transport's delivery run. */
void dlm_lc_shim_deliver(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
			 const void *buf, size_t len)
{
	struct dlm_lc_shim *shim = shim_of(cl);
	const struct dlm_lc_rcom *rc = buf;
	u32 type;

	switch (rc->hdr.cmd) {
	case DLM_LC_CMD_OPTS:
		if (rcu_access_pointer(shim->handlers[DLM_LC_CMD_OPTS]))
			break;
		opts_rx(shim, nodeid, gen, buf, len);
		return;
	case DLM_LC_CMD_ACK:
		if (rcu_access_pointer(shim->handlers[DLM_LC_CMD_ACK]))
			break;
		ack_rx(shim, nodeid, buf);
		return;
	case DLM_LC_CMD_RCOM:
		if (len < DLM_LC_RCOM_LEN)
			break;
		/* never wrapped, so their header shows the sender's version */
		type = le32_to_cpu(rc->type);
		if (type == DLM_LC_RCOM_STATUS ||
		    type == DLM_LC_RCOM_STATUS_REPLY)
			learn_version(shim, nodeid,
				      le32_to_cpu(rc->hdr.version));
		break;
	}
	deliver_one(shim, NULL, nodeid, buf, len);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_shim_deliver);

int dlm_lc_ping(struct dlm_lc_cluster *cl, int nodeid, unsigned int count,
		unsigned int timeout_ms)
{
	struct dlm_lc_shim *shim = shim_of(cl);
	struct shim_node *n;
	unsigned int i;
	long t;
	int ret;

	if (!count || count > 1000000 || !timeout_ms || timeout_ms > 600000)
		return -EINVAL;
	if (!dlm_lc_cluster_running(cl))
		return -ENOTCONN;
	n = shim_node_get(shim, nodeid, true);
	if (!n)
		return -ENOMEM;
	ret = mutex_lock_killable(&n->ping_mutex);
	if (ret)
		goto out_put;
	/* only a node we ping needs the ring: set under both locks */
	if (!n->rtt) {
		u64 *ring = kcalloc(RTT_SAMPLES, sizeof(*ring), GFP_KERNEL);

		if (ring) {
			spin_lock(&n->lock);
			WRITE_ONCE(n->rtt, ring);
			spin_unlock(&n->lock);
		} else {
			ret = -ENOMEM;
		}
	}

	for (i = 0; i < count && !ret; i++) {
		u64 id = atomic64_inc_return(&shim->next_ping_id);

		spin_lock(&n->lock);
		n->ping_id = id;
		reinit_completion(&n->ping_done);
		n->ping.sent++;
		spin_unlock(&n->lock);

		ret = rcom_send(cl, nodeid, DLM_LC_RCOM_STATUS, id, 0, 0,
				GFP_KERNEL, &n->ping_sent);
		if (ret)
			break;
		t = wait_for_completion_killable_timeout(&n->ping_done,
							 msecs_to_jiffies(timeout_ms));
		if (t < 0)
			ret = t;
		else if (t == 0)
			ret = -ETIMEDOUT;
	}

	spin_lock(&n->lock);
	if (ret == -ETIMEDOUT)
		n->ping.timeouts++;
	n->ping_id = 0;		/* a late reply is ignored */
	spin_unlock(&n->lock);
	mutex_unlock(&n->ping_mutex);
out_put:
	shim_node_put(n);
	return ret;
}
EXPORT_SYMBOL_GPL(dlm_lc_ping);

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

int dlm_lc_ping_get_stats(struct dlm_lc_cluster *cl, int nodeid,
			  struct dlm_lc_ping_stats *st)
{
	struct shim_node *n;
	unsigned int count;
	u64 *sorted = NULL;
	bool ring;

	memset(st, 0, sizeof(*st));
	n = shim_node_get(shim_of(cl), nodeid, false);
	if (!n)
		return 0;

	/* set once, by the first ping: a node never pinged has no samples */
	ring = READ_ONCE(n->rtt);
	if (ring)
		sorted = kmalloc_array(RTT_SAMPLES, sizeof(*sorted),
				       GFP_KERNEL);
	spin_lock(&n->lock);
	*st = n->ping;
	count = sorted ? min_t(unsigned int, n->rtt_next, RTT_SAMPLES) : 0;
	if (count)
		memcpy(sorted, n->rtt, count * sizeof(*sorted));
	spin_unlock(&n->lock);
	shim_node_put(n);

	st->samples = count;
	if (count) {
		sort(sorted, count, sizeof(*sorted), cmp_u64, NULL);
		st->p50_ns = sorted[(count - 1) / 2];
		st->p99_ns = sorted[(count - 1) * 99 / 100];
	}
	kfree(sorted);
	return ring && !sorted ? -ENOMEM : 0;
}
EXPORT_SYMBOL_GPL(dlm_lc_ping_get_stats);

/*
 * The version to send with: 3.2 only if both sides speak it. A peer we
 * have not heard from yet is asked with an RCOM_STATUS, as a stock node
 * would be, and its reply shows its version.
 */
static int tx_version(struct dlm_lc_shim *shim, struct shim_node *n,
		      gfp_t gfp, u32 *version)
{
	u32 ours = READ_ONCE(shim->version);
	u32 peer;
	long t;
	int i, ret;

	for (i = 0; ours == DLM_LC_VERSION_3_2; i++) {
		peer = dlm_lc_rel_version(&n->rel);
		if (peer) {
			*version = peer >= DLM_LC_VERSION_3_2 ?
				   DLM_LC_VERSION_3_2 : DLM_LC_VERSION_3_1;
			return 0;
		}
		if (!gfpflags_allow_blocking(gfp))
			return -EAGAIN;
		if (i == PROBE_TRIES)
			return -ETIMEDOUT;
		ret = rcom_send(shim->cl, n->nodeid, DLM_LC_RCOM_STATUS, 0, 0, 0,
				gfp, NULL);
		if (ret)
			return ret;
		t = wait_event_killable_timeout(n->rel.wait,
						dlm_lc_rel_version(&n->rel),
						PROBE_WAIT);
		if (t < 0)
			return t;
	}
	*version = DLM_LC_VERSION_3_1;
	return 0;
}

int dlm_lc_shim_send(struct dlm_lc_cluster *cl, int nodeid, const void *buf,
		     size_t len, gfp_t gfp)
{
	const struct dlm_lc_hdr *hdr = buf;
	struct dlm_lc_shim *shim = shim_of(cl);
	struct dlm_lc_rel_tx tx;
	struct shim_node *n;
	size_t min_len;
	u32 version;
	int local, ret;

	/*
	 * A receiver frames by the header, and takes only a DLM_MSG or
	 * DLM_RCOM inside OPTS, and a stock one only if it is as long as
	 * its struct: anything else would break or stall the stream at
	 * every resend.
	 */
	if (len < DLM_LC_HDR_LEN || len > DLM_LC_MAX_MSG ||
	    le16_to_cpu(hdr->length) != len)
		return -EINVAL;
	switch (hdr->cmd) {
	case DLM_LC_CMD_MSG:
		min_len = DLM_LC_MSG_MIN;
		break;
	case DLM_LC_CMD_RCOM:
		min_len = DLM_LC_RCOM_MIN;
		break;
	default:
		return -EINVAL;
	}
	if (len < min_len)
		return -EINVAL;
	/*
	 * A header that does not name us closes the stream at our receiver
	 * (bare, under 3.1) and is skipped by stock's lock layer. A major
	 * other than 3 is not a DLM header at all; the version sent is ours
	 * to set, below.
	 */
	local = dlm_lc_cluster_local_nodeid(cl);
	if (!local)
		return -EADDRNOTAVAIL;
	if (le32_to_cpu(hdr->nodeid) != local ||
	    !dlm_lc_version_ok(le32_to_cpu(hdr->version)))
		return -EINVAL;
	/*
	 * A peer's state is made (allocated, its version asked for) only by
	 * a caller that may sleep; one that may not learns the version is
	 * not known yet.
	 */
	n = shim_node_get(shim, nodeid, gfpflags_allow_blocking(gfp));
	if (!n)
		return gfpflags_allow_blocking(gfp) ? -ENOMEM : -EAGAIN;
	ret = tx_version(shim, n, gfp, &version);
	if (!ret)
		ret = dlm_lc_rel_alloc(&n->rel, len,
				       version == DLM_LC_VERSION_3_2, gfp, &tx);
	if (!ret) {
		memcpy(tx.buf, buf, len);
		/*
		 * A stock node that took us for 3.1 drops a bare message
		 * marked 3.2; an old 3.1 one checks only the major.
		 */
		((struct dlm_lc_hdr *)tx.buf)->version = cpu_to_le32(version);
		dlm_lc_rel_commit(&n->rel, &tx);
	}
	shim_node_put(n);
	return ret;
}
EXPORT_SYMBOL_GPL(dlm_lc_shim_send);

int dlm_lc_bulk_send(struct dlm_lc_cluster *cl, int nodeid,
		     unsigned int count, unsigned int size, unsigned int flags)
{
	struct dlm_lc_shim *shim = shim_of(cl);
	struct dlm_lc_rel_tx tx;
	struct shim_node *n;
	unsigned int i, len;
	u32 version;
	ktime_t start;
	int ret;

	if (!count || count > 100000000 || size < DLM_LC_BULK_MIN ||
	    size > DLM_LC_MAX_MSG || (flags & ~DLM_LC_BULK_SHORT) ||
	    (size < DLM_LC_MSG_MIN && !(flags & DLM_LC_BULK_SHORT)))
		return -EINVAL;
	n = shim_node_get(shim, nodeid, true);
	if (!n)
		return -ENOMEM;
	ret = mutex_lock_killable(&n->bulk_mutex);
	if (ret)
		goto out_put;
	ret = tx_version(shim, n, GFP_KERNEL, &version);
	if (ret)
		goto out_unlock;
	/* @size is what goes on the wire: the OPTS wrapper counts */
	len = size;
	if (version == DLM_LC_VERSION_3_2)
		len -= OPTS_LEN;
	/* OPTS leaves less: a stock 3.2 peer would stall (DLM_LC_MSG_MIN) */
	ret = -EINVAL;
	if (len < DLM_LC_BULK_MIN ||
	    (len < DLM_LC_MSG_MIN && !(flags & DLM_LC_BULK_SHORT)))
		goto out_unlock;

	if (!n->tx_run)
		n->tx_run = get_random_u32() | 1;
	start = ktime_get();
	for (i = 0; i < count; i++) {
		ret = dlm_lc_rel_alloc(&n->rel, len,
				       version == DLM_LC_VERSION_3_2,
				       GFP_KERNEL, &tx);
		if (ret)
			break;
		bulk_fill(cl, tx.buf, len, n->tx_run, n->tx_seq++, version);
		dlm_lc_rel_commit(&n->rel, &tx);

		spin_lock(&n->lock);
		n->bulk.tx_msgs++;
		n->bulk.tx_bytes += len;
		spin_unlock(&n->lock);
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	spin_lock(&n->lock);
	n->bulk.tx_ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	spin_unlock(&n->lock);
out_unlock:
	mutex_unlock(&n->bulk_mutex);
out_put:
	shim_node_put(n);
	return ret;
}
EXPORT_SYMBOL_GPL(dlm_lc_bulk_send);

int dlm_lc_bulk_get_stats(struct dlm_lc_cluster *cl, int nodeid,
			  struct dlm_lc_bulk_stats *st)
{
	struct shim_node *n;

	memset(st, 0, sizeof(*st));
	n = shim_node_get(shim_of(cl), nodeid, false);
	if (!n)
		return 0;
	spin_lock(&n->lock);
	*st = n->bulk;
	spin_unlock(&n->lock);
	shim_node_put(n);
	return 0;
}
EXPORT_SYMBOL_GPL(dlm_lc_bulk_get_stats);

int dlm_lc_shim_reset_stats(struct dlm_lc_cluster *cl, int nodeid)
{
	struct shim_node *n;
	int ret;

	n = shim_node_get(shim_of(cl), nodeid, false);
	if (!n)
		return 0;
	/*
	 * A fresh tx run makes the receiver restart at sequence 0. A bulk
	 * run may hold the mutex for as long as its peer leaves the backlog
	 * full: let the reset be killed meanwhile.
	 */
	ret = mutex_lock_killable(&n->bulk_mutex);
	if (ret)
		goto out_put;
	spin_lock(&n->lock);
	memset(&n->ping, 0, sizeof(n->ping));
	memset(&n->bulk, 0, sizeof(n->bulk));
	n->rtt_next = 0;
	n->tx_run = 0;
	n->tx_seq = 0;
	n->rx_run = 0;
	n->rx_first = 0;
	spin_unlock(&n->lock);
	mutex_unlock(&n->bulk_mutex);
out_put:
	shim_node_put(n);
	return ret;
}
EXPORT_SYMBOL_GPL(dlm_lc_shim_reset_stats);

int dlm_lc_shim_set_version(struct dlm_lc_cluster *cl, u32 version)
{
	if (version != DLM_LC_VERSION_3_1 && version != DLM_LC_VERSION_3_2)
		return -EINVAL;
	/* under the instance lock, so that a racing start sees one value */
	return dlm_lc_cluster_set_stopped(cl, &shim_of(cl)->version,
					  version);
}
EXPORT_SYMBOL_GPL(dlm_lc_shim_set_version);

u32 dlm_lc_shim_version(struct dlm_lc_cluster *cl)
{
	return READ_ONCE(shim_of(cl)->version);
}
EXPORT_SYMBOL_GPL(dlm_lc_shim_version);

u64 dlm_lc_shim_unhandled(struct dlm_lc_cluster *cl)
{
	return atomic64_read(&shim_of(cl)->unhandled);
}
EXPORT_SYMBOL_GPL(dlm_lc_shim_unhandled);

int dlm_lc_shim_rel_stats(struct dlm_lc_cluster *cl, int nodeid,
			  struct dlm_lc_rel_stats *st)
{
	struct shim_node *n;

	memset(st, 0, sizeof(*st));
	n = shim_node_get(shim_of(cl), nodeid, false);
	if (!n)
		return 0;
	dlm_lc_rel_get_stats(&n->rel, st);
	shim_node_put(n);
	return 0;
}
EXPORT_SYMBOL_GPL(dlm_lc_shim_rel_stats);

/* The node at or after *@idx, with a reference; NULL at the end. */
static struct shim_node *shim_node_next(struct dlm_lc_shim *shim,
					unsigned long *idx)
{
	struct shim_node *n;

	rcu_read_lock();
	for (;;) {
		n = xa_find(&shim->nodes, idx, ULONG_MAX, XA_PRESENT);
		if (!n || kref_get_unless_zero(&n->ref))
			break;
		(*idx)++;
	}
	rcu_read_unlock();
	return n;
}

#define for_each_shim_node(shim, n, idx) \
	for ((idx) = 0; ((n) = shim_node_next(shim, &(idx))); \
	     shim_node_put(n), (idx)++)

static bool node_connected(struct dlm_lc_cluster *cl, int nodeid)
{
	struct dlm_lc_node_stats ns;

	return !dlm_lc_node_get_stats(cl, nodeid, &ns) && ns.connected;
}

/* Wait until the peer has acked everything, left us, or time is up. */
static void wait_all_acked(struct dlm_lc_cluster *cl, struct shim_node *n,
			   unsigned long end)
{
	while (dlm_lc_rel_has_unacked(&n->rel) &&
	       node_connected(cl, n->nodeid) && time_before(jiffies, end))
		wait_event_timeout(n->rel.wait, !dlm_lc_rel_has_unacked(&n->rel),
				   HZ / 50);
}

static bool speaks_3_2(struct dlm_lc_shim *shim, struct shim_node *n)
{
	return READ_ONCE(shim->version) == DLM_LC_VERSION_3_2 &&
	       dlm_lc_rel_version(&n->rel) >= DLM_LC_VERSION_3_2;
}

/*
 * A stock node with no lockspace of ours answers our FIN with its own at
 * once, and starts its numbers again when it has our ACK of it: wait this
 * long (within the stop's deadline, once for all nodes) to take it and
 * build that ACK, which the drain then writes. Our nodes answer none.
 */
#define FIN_ANSWER_WAIT		(HZ / 20)

static void fin_answer_wait(struct dlm_lc_cluster *cl, struct shim_node *n,
			    unsigned long until)
{
	while (!dlm_lc_rel_fin_answered(&n->rel) &&
	       node_connected(cl, n->nodeid) && time_before(jiffies, until))
		wait_event_timeout(n->rel.wait,
				   dlm_lc_rel_fin_answered(&n->rel),
				   max_t(long, (long)(until - jiffies), 1));
}

static unsigned long fin_answer_until(unsigned long end)
{
	unsigned long until = jiffies + FIN_ANSWER_WAIT;

	return time_before(end, until) ? end : until;
}

/*
 * Stop as a 3.2 node does: deliver nothing more and ACK what was
 * delivered; wait (until @end) for our messages to be acked; send FIN and
 * wait for its ACK. Messages still unacked stay for the next start.
 */
static void node_fin(struct dlm_lc_shim *shim, struct shim_node *n,
		     unsigned long end)
{
	if (!speaks_3_2(shim, n) || !node_connected(shim->cl, n->nodeid))
		return;
	/* a receive-only stock peer leaves a tail unacked: ask for its ACK */
	dlm_lc_rel_probe_now(&n->rel);
	wait_all_acked(shim->cl, n, end);
	if (!dlm_lc_rel_has_unacked(&n->rel) && !dlm_lc_rel_send_fin(&n->rel))
		wait_all_acked(shim->cl, n, end);
}

static void shim_stop(struct dlm_lc_cluster *cl, unsigned long end)
{
	struct dlm_lc_shim *shim = shim_of(cl);
	unsigned long idx, until;
	struct shim_node *n;

	for_each_shim_node(shim, n, idx)
		dlm_lc_rel_close_begin(&n->rel);
	for_each_shim_node(shim, n, idx)
		node_fin(shim, n, end);
	until = fin_answer_until(end);
	for_each_shim_node(shim, n, idx)
		fin_answer_wait(cl, n, until);
}

static void shim_start(struct dlm_lc_cluster *cl)
{
	struct dlm_lc_shim *shim = shim_of(cl);
	struct shim_node *n;
	unsigned long idx;

	for_each_shim_node(shim, n, idx)
		dlm_lc_rel_open(&n->rel);
}

static void shim_node_fin(struct dlm_lc_cluster *cl, int nodeid,
			  unsigned long end)
{
	struct dlm_lc_shim *shim = shim_of(cl);
	struct shim_node *n;

	n = shim_node_get(shim, nodeid, false);
	if (!n)
		return;
	dlm_lc_rel_close_begin(&n->rel);
	node_fin(shim, n, end);
	fin_answer_wait(cl, n, fin_answer_until(end));
	shim_node_put(n);
}

static bool shim_resend_begin(struct dlm_lc_cluster *cl, int nodeid,
			      u32 *from, u32 *to)
{
	struct dlm_lc_shim *shim = shim_of(cl);
	struct shim_node *n;
	bool ret = false;

	n = shim_node_get(shim, nodeid, false);
	if (!n)
		return false;
	if (READ_ONCE(shim->version) == DLM_LC_VERSION_3_2)
		ret = dlm_lc_rel_resend_begin(&n->rel, from, to);
	shim_node_put(n);
	return ret;
}

static int shim_resend_copy(struct dlm_lc_cluster *cl, int nodeid, u32 *seq,
			    u32 to, void *buf)
{
	struct shim_node *n;
	int ret;

	n = shim_node_get(shim_of(cl), nodeid, false);
	if (!n)
		return -ENOENT;
	ret = dlm_lc_rel_resend_copy(&n->rel, seq, to, buf);
	shim_node_put(n);
	return ret;
}

int dlm_lc_shim_fill_ack(struct dlm_lc_cluster *cl, int nodeid, u64 gen,
			 void *buf, int max)
{
	struct shim_node *n;
	int ret;

	n = shim_node_get(shim_of(cl), nodeid, false);
	if (!n)
		return 0;
	ret = dlm_lc_rel_fill_ack(&n->rel, gen, buf, max);
	shim_node_put(n);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_shim_fill_ack);

static bool shim_has_unacked(struct dlm_lc_cluster *cl, int nodeid)
{
	struct shim_node *n;
	bool ret;

	n = shim_node_get(shim_of(cl), nodeid, false);
	if (!n)
		return false;
	ret = dlm_lc_rel_has_unacked(&n->rel);
	shim_node_put(n);
	return ret;
}

static void shim_release(struct dlm_lc_cluster *cl)
{
	shim_free(shim_of(cl));
}

static const struct dlm_lc_upper_ops shim_ops = {
	.deliver	= dlm_lc_shim_deliver,
	/* all receive state is per node (shim_node), the rest atomic */
	.deliver_per_node = true,
	.start		= shim_start,
	.stop		= shim_stop,
	.node_fin	= shim_node_fin,
	.node_forget	= shim_forget,
	.fill_ack	= dlm_lc_shim_fill_ack,
	.resend_begin	= shim_resend_begin,
	.resend_copy	= shim_resend_copy,
	.has_unacked	= shim_has_unacked,
	.release	= shim_release,
};

struct dlm_lc_cluster *dlm_lc_shim_cluster_create(const char *name,
						  struct net *net)
{
	struct dlm_lc_cluster *cl;
	struct dlm_lc_shim *shim;
	int ret;

	cl = dlm_lc_cluster_create(name, net);
	if (IS_ERR(cl))
		return cl;
	ret = -ENOMEM;
	shim = shim_alloc(cl);
	if (!shim)
		goto out_destroy_cluster;
	ret = dlm_lc_cluster_set_upper(cl, &shim_ops, shim);
	if (ret)
		goto out_free_shim;
	return cl;

out_free_shim:
	shim_free(shim);
out_destroy_cluster:
	dlm_lc_cluster_destroy(cl);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(dlm_lc_shim_cluster_create);
