// SPDX-License-Identifier: GPL-2.0-only
/*
 * configfs front end of dlm_lowcomms: a directory per cluster instance and,
 * under its comms/ group, one per node. The file layout and error codes
 * are fixed by Documentation/configfs.md.
 */

#include <linux/configfs.h>
#include <linux/err.h>
#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <net/net_namespace.h>
#include <kunit/visibility.h>

#include "addr.h"
#include "compat.h"
#include "configfs.h"
#include "lowcomms.h"
#include "midcomms_shim.h"
#include "reliable.h"

/* Room for the longest text value, "4294967295 4294967295\n". */
#define DLM_LC_CFS_TEXT_MAX	32

struct dlm_lc_cfs_cluster {
	struct config_group group;
	struct config_group comms;
	struct dlm_lc_cluster *cl;	/* NULL once rmdir has destroyed it */
};

struct dlm_lc_cfs_node {
	struct config_item item;
	/* Safe to use: the cluster's rmdir waits until comms/ is empty. */
	struct dlm_lc_cluster *cl;
	struct mutex lock;		/* one nodeid update at a time */
	int nodeid;			/* 0 until set, then fixed */
};

struct dlm_lc_cfs_stat {
	const char *key;
	u64 val;
};

/* Value parsing, shared with the KUnit tests. */

/*
 * configfs passes a counted buffer. Work on a private NUL-terminated copy
 * so that a NUL inside the write cannot hide trailing junk from kstrto*.
 */
static int dlm_lc_cfs_copy(const char *buf, size_t len, char *tmp)
{
	if (!len || len >= DLM_LC_CFS_TEXT_MAX || memchr(buf, '\0', len))
		return -EINVAL;
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	return 0;
}

/* Overflow (-ERANGE from kstrto*) is just another bad value here. */
static int dlm_lc_cfs_uint(const char *buf, size_t len, unsigned int min,
			   unsigned int max, unsigned int *val)
{
	char tmp[DLM_LC_CFS_TEXT_MAX];
	unsigned int v;

	if (dlm_lc_cfs_copy(buf, len, tmp) || kstrtouint(tmp, 10, &v) ||
	    v < min || v > max)
		return -EINVAL;
	*val = v;
	return 0;
}

/* Index of the word written in @words (newline allowed), or -EINVAL. */
static int dlm_lc_cfs_word(const char *buf, size_t len,
			   const char * const *words, size_t n)
{
	char tmp[DLM_LC_CFS_TEXT_MAX];

	if (dlm_lc_cfs_copy(buf, len, tmp))
		return -EINVAL;
	return __sysfs_match_string(words, n, tmp);
}

/* Up to @max blank-separated numbers; returns how many were written. */
static int dlm_lc_cfs_uints(const char *buf, size_t len, unsigned int *vals,
			    int max)
{
	char tmp[DLM_LC_CFS_TEXT_MAX];
	char *cur, *tok;
	int n = 0;

	if (dlm_lc_cfs_copy(buf, len, tmp))
		return -EINVAL;
	cur = strim(tmp);
	while ((tok = strsep(&cur, " \t"))) {
		if (!*tok)
			continue;	/* a run of blanks */
		if (n == max || kstrtouint(tok, 10, &vals[n]))
			return -EINVAL;
		n++;
	}
	return n;
}

int dlm_lc_cfs_parse_port(const char *buf, size_t len, unsigned int *port)
{
	return dlm_lc_cfs_uint(buf, len, 1, 65535, port);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_cfs_parse_port);

int dlm_lc_cfs_parse_bufsize(const char *buf, size_t len, unsigned int *size)
{
	return dlm_lc_cfs_uint(buf, len, DLM_LC_BUFSIZE_MIN, DLM_LC_BUFSIZE_MAX,
			       size);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_cfs_parse_bufsize);

int dlm_lc_cfs_parse_mark(const char *buf, size_t len, u32 *mark)
{
	return dlm_lc_cfs_uint(buf, len, 0, U32_MAX, mark);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_cfs_parse_mark);

int dlm_lc_cfs_parse_nodeid(const char *buf, size_t len, int *nodeid)
{
	unsigned int v;
	int ret = dlm_lc_cfs_uint(buf, len, 1, INT_MAX, &v);

	if (!ret)
		*nodeid = v;
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_cfs_parse_nodeid);

int dlm_lc_cfs_parse_proto(const char *buf, size_t len, int *proto)
{
	/* Even slots name TCP, odd ones SCTP. */
	static const char * const words[] = { "tcp", "sctp", "0", "1" };
	int i = dlm_lc_cfs_word(buf, len, words, ARRAY_SIZE(words));

	if (i < 0)
		return -EINVAL;
	/* Known but not implemented yet: say so rather than "invalid". */
	if (i % 2)
		return -EPROTONOSUPPORT;
	*proto = DLM_LC_PROTO_TCP;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_cfs_parse_proto);

int dlm_lc_cfs_parse_control(const char *buf, size_t len, bool *start)
{
	static const char * const words[] = { "stop", "start", "0", "1" };
	int i = dlm_lc_cfs_word(buf, len, words, ARRAY_SIZE(words));

	if (i < 0)
		return -EINVAL;
	*start = i % 2;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_cfs_parse_control);

int dlm_lc_cfs_parse_bool(const char *buf, size_t len, bool *val)
{
	/* Strictly 0/1: the files are written by tools, not typed. */
	static const char * const words[] = { "0", "1" };
	int i = dlm_lc_cfs_word(buf, len, words, ARRAY_SIZE(words));

	if (i < 0)
		return -EINVAL;
	*val = i;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_cfs_parse_bool);

int dlm_lc_cfs_parse_version(const char *buf, size_t len, u32 *version)
{
	static const char * const words[] = { "3.1", "3.2" };
	int i = dlm_lc_cfs_word(buf, len, words, ARRAY_SIZE(words));

	if (i < 0)
		return -EINVAL;
	*version = i ? DLM_LC_VERSION_3_2 : DLM_LC_VERSION_3_1;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_cfs_parse_version);

int dlm_lc_cfs_parse_ping(const char *buf, size_t len, unsigned int *count,
			  unsigned int *timeout_ms)
{
	unsigned int v[2] = { 0, DLM_LC_CFS_PING_TIMEOUT_MS };
	int n = dlm_lc_cfs_uints(buf, len, v, ARRAY_SIZE(v));

	if (n < 1 || !v[0] || !v[1])
		return -EINVAL;
	*count = v[0];
	*timeout_ms = v[1];
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_cfs_parse_ping);

int dlm_lc_cfs_parse_bulk(const char *buf, size_t len, unsigned int *count,
			  unsigned int *size, unsigned int *flags)
{
	unsigned int v[3] = {};
	int n = dlm_lc_cfs_uints(buf, len, v, ARRAY_SIZE(v));

	if (n < 2 || !v[0] || v[1] > DLM_LC_MAX_MSG || v[2] > 1 ||
	    v[1] < (v[2] ? DLM_LC_BULK_MIN : DLM_LC_MSG_MIN))
		return -EINVAL;
	*count = v[0];
	*size = v[1];
	*flags = v[2] ? DLM_LC_BULK_SHORT : 0;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_cfs_parse_bulk);

/* Helpers for show and store. */

/* A store reports success by consuming the whole write. */
static ssize_t dlm_lc_cfs_done(int ret, size_t len)
{
	return ret ? ret : (ssize_t)len;
}

/* Append "key value" lines at @at; sysfs_emit_at wants the page start. */
static ssize_t dlm_lc_cfs_emit(char *page, ssize_t at,
			       const struct dlm_lc_cfs_stat *st, size_t n)
{
	ssize_t len = at;
	size_t i;

	for (i = 0; i < n; i++)
		len += sysfs_emit_at(page, len, "%s %llu\n", st[i].key,
				     st[i].val);
	return len;
}

static struct dlm_lc_cfs_cluster *to_cfs_cluster(struct config_item *item)
{
	return container_of(to_config_group(item), struct dlm_lc_cfs_cluster,
			    group);
}

static struct dlm_lc_cluster *to_cl(struct config_item *item)
{
	return to_cfs_cluster(item)->cl;
}

static struct dlm_lc_cfs_node *to_cfs_node(struct config_item *item)
{
	return container_of(item, struct dlm_lc_cfs_node, item);
}

/*
 * Everything but nodeid and local acts on the node's connection, so it
 * needs the id: returns it (with the cluster in @cl) or -EINVAL if unset.
 */
static int cfs_node_get(struct config_item *item, struct dlm_lc_cluster **cl)
{
	struct dlm_lc_cfs_node *node = to_cfs_node(item);
	int nodeid = READ_ONCE(node->nodeid);

	*cl = node->cl;
	return nodeid ? nodeid : -EINVAL;
}

/* Cluster attributes. */

static ssize_t cfs_cluster_port_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%u\n", dlm_lc_cluster_port(to_cl(item)));
}

static ssize_t cfs_cluster_port_store(struct config_item *item,
				      const char *buf, size_t len)
{
	unsigned int port;
	int ret = dlm_lc_cfs_parse_port(buf, len, &port);

	if (!ret)
		ret = dlm_lc_cluster_set_port(to_cl(item), port);
	return dlm_lc_cfs_done(ret, len);
}

static ssize_t cfs_cluster_protocol_show(struct config_item *item, char *page)
{
	bool sctp = dlm_lc_cluster_proto(to_cl(item)) == DLM_LC_PROTO_SCTP;

	return sysfs_emit(page, "%s\n", sctp ? "sctp" : "tcp");
}

static ssize_t cfs_cluster_protocol_store(struct config_item *item,
					  const char *buf, size_t len)
{
	int proto;
	int ret = dlm_lc_cfs_parse_proto(buf, len, &proto);

	if (!ret)
		ret = dlm_lc_cluster_set_proto(to_cl(item), proto);
	return dlm_lc_cfs_done(ret, len);
}

static ssize_t cfs_cluster_mark_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%u\n", dlm_lc_cluster_mark(to_cl(item)));
}

static ssize_t cfs_cluster_mark_store(struct config_item *item,
				      const char *buf, size_t len)
{
	u32 mark;
	int ret = dlm_lc_cfs_parse_mark(buf, len, &mark);

	if (!ret)
		ret = dlm_lc_cluster_set_mark(to_cl(item), mark);
	return dlm_lc_cfs_done(ret, len);
}

static ssize_t cfs_cluster_buffer_size_show(struct config_item *item,
					    char *page)
{
	return sysfs_emit(page, "%u\n", dlm_lc_cluster_bufsize(to_cl(item)));
}

static ssize_t cfs_cluster_buffer_size_store(struct config_item *item,
					     const char *buf, size_t len)
{
	unsigned int size;
	int ret = dlm_lc_cfs_parse_bufsize(buf, len, &size);

	if (!ret)
		ret = dlm_lc_cluster_set_bufsize(to_cl(item), size);
	return dlm_lc_cfs_done(ret, len);
}

static ssize_t cfs_cluster_control_show(struct config_item *item, char *page)
{
	bool running = dlm_lc_cluster_running(to_cl(item));

	return sysfs_emit(page, "%s\n", running ? "running" : "stopped");
}

static ssize_t cfs_cluster_control_store(struct config_item *item,
					 const char *buf, size_t len)
{
	bool start;
	int ret = dlm_lc_cfs_parse_control(buf, len, &start);

	if (ret)
		return ret;
	/* lowcomms logs why a start failed (no local address, port taken). */
	if (start)
		ret = dlm_lc_cluster_start(to_cl(item));
	else
		dlm_lc_cluster_stop(to_cl(item));
	return dlm_lc_cfs_done(ret, len);
}

static const char *version_name(u32 version)
{
	if (version == DLM_LC_VERSION_3_1)
		return "3.1";
	if (version >= DLM_LC_VERSION_3_2)
		return "3.2";
	return "unknown";
}

static ssize_t cfs_cluster_version_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%s\n",
			  version_name(dlm_lc_shim_version(to_cl(item))));
}

static ssize_t cfs_cluster_version_store(struct config_item *item,
					 const char *buf, size_t len)
{
	u32 version;
	int ret = dlm_lc_cfs_parse_version(buf, len, &version);

	if (!ret)
		ret = dlm_lc_shim_set_version(to_cl(item), version);
	return dlm_lc_cfs_done(ret, len);
}

static ssize_t cfs_cluster_status_emit(struct dlm_lc_cluster *cl,
				       const struct dlm_lc_cluster_stats *st,
				       char *page)
{
	const struct dlm_lc_cfs_stat lines[] = {
		{ "running", dlm_lc_cluster_running(cl) },
		{ "local_nodeid", dlm_lc_cluster_local_nodeid(cl) },
		{ "accepted", st->accepted },
		{ "refused", st->refused },
		{ "process_queued", st->process_queued },
		{ "process_max", st->process_max },
		{ "rx_throttled", st->rx_throttled },
		{ "process_inline", st->process_inline },
		{ "process_worker", st->process_worker },
		{ "unhandled", dlm_lc_shim_unhandled(cl) },
	};

	return dlm_lc_cfs_emit(page, 0, lines, ARRAY_SIZE(lines));
}

static ssize_t cfs_cluster_status_show(struct config_item *item, char *page)
{
	struct dlm_lc_cluster_stats st;

	dlm_lc_cluster_get_stats(to_cl(item), &st);
	return cfs_cluster_status_emit(to_cl(item), &st, page);
}

CONFIGFS_ATTR(cfs_cluster_, port);
CONFIGFS_ATTR(cfs_cluster_, protocol);
CONFIGFS_ATTR(cfs_cluster_, mark);
CONFIGFS_ATTR(cfs_cluster_, buffer_size);
CONFIGFS_ATTR(cfs_cluster_, control);
CONFIGFS_ATTR(cfs_cluster_, version);
CONFIGFS_ATTR_RO(cfs_cluster_, status);

static struct configfs_attribute *cfs_cluster_attrs[] = {
	&cfs_cluster_attr_port,
	&cfs_cluster_attr_protocol,
	&cfs_cluster_attr_mark,
	&cfs_cluster_attr_buffer_size,
	&cfs_cluster_attr_control,
	&cfs_cluster_attr_version,
	&cfs_cluster_attr_status,
	NULL,
};

/* Node attributes. */

/* Under node->lock, so that two writers cannot both add a connection. */
static int cfs_node_set_id(struct dlm_lc_cfs_node *node, int nodeid)
{
	int ret = 0;

	mutex_lock(&node->lock);
	/* dlm_controld writes the id it already used as directory name. */
	if (node->nodeid == nodeid)
		goto out;
	if (node->nodeid) {
		ret = -EBUSY;
		goto out;
	}
	ret = dlm_lc_node_add(node->cl, nodeid);
	if (!ret)
		WRITE_ONCE(node->nodeid, nodeid);
out:
	mutex_unlock(&node->lock);
	return ret;
}

static ssize_t cfs_node_nodeid_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%d\n", READ_ONCE(to_cfs_node(item)->nodeid));
}

static ssize_t cfs_node_nodeid_store(struct config_item *item,
				     const char *buf, size_t len)
{
	int nodeid;
	int ret = dlm_lc_cfs_parse_nodeid(buf, len, &nodeid);

	if (!ret)
		ret = cfs_node_set_id(to_cfs_node(item), nodeid);
	return dlm_lc_cfs_done(ret, len);
}

/*
 * The instance's own node as lowcomms has it, not this file's last write:
 * making another node local, or removing this one, changes it too.
 */
static ssize_t cfs_node_local_show(struct config_item *item, char *page)
{
	struct dlm_lc_cfs_node *node = to_cfs_node(item);
	int nodeid = READ_ONCE(node->nodeid);

	return sysfs_emit(page, "%d\n", nodeid &&
			  dlm_lc_cluster_local_nodeid(node->cl) == nodeid);
}

static ssize_t cfs_node_local_store(struct config_item *item,
				    const char *buf, size_t len)
{
	struct dlm_lc_cluster *cl;
	int nodeid = cfs_node_get(item, &cl);
	bool local;
	int ret;

	if (nodeid < 0)
		return nodeid;
	ret = dlm_lc_cfs_parse_bool(buf, len, &local);
	if (!ret)
		ret = dlm_lc_node_set_local(cl, nodeid, local);
	return dlm_lc_cfs_done(ret, len);
}

static ssize_t cfs_node_addr_store(struct config_item *item,
				   const char *buf, size_t len)
{
	struct dlm_lc_cluster *cl;
	int nodeid = cfs_node_get(item, &cl);
	struct sockaddr_storage ss;
	int ret;

	if (nodeid < 0)
		return nodeid;
	ret = dlm_lc_addr_parse(buf, len, &ss);
	if (!ret)
		ret = dlm_lc_node_add_addr(cl, nodeid, &ss);
	return dlm_lc_cfs_done(ret, len);
}

static ssize_t cfs_node_addr_list_show(struct config_item *item, char *page)
{
	struct sockaddr_storage addrs[DLM_LC_MAX_ADDRS];
	char txt[INET6_ADDRSTRLEN + 16];
	struct dlm_lc_cluster *cl;
	int nodeid = cfs_node_get(item, &cl);
	int i, n, len = 0;

	if (nodeid < 0)
		return nodeid;
	n = dlm_lc_node_get_addrs(cl, nodeid, addrs, ARRAY_SIZE(addrs));
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		dlm_lc_addr_format(&addrs[i], txt, sizeof(txt));
		len += sysfs_emit_at(page, len, "%s\n", txt);
	}
	return len;
}

static ssize_t cfs_node_mark_show(struct config_item *item, char *page)
{
	struct dlm_lc_cluster *cl;
	int nodeid = cfs_node_get(item, &cl);
	u32 mark;
	int ret;

	if (nodeid < 0)
		return nodeid;
	ret = dlm_lc_node_get_mark(cl, nodeid, &mark);
	if (ret)
		return ret;
	return sysfs_emit(page, "%u\n", mark);
}

static ssize_t cfs_node_mark_store(struct config_item *item,
				   const char *buf, size_t len)
{
	struct dlm_lc_cluster *cl;
	int nodeid = cfs_node_get(item, &cl);
	u32 mark;
	int ret;

	if (nodeid < 0)
		return nodeid;
	ret = dlm_lc_cfs_parse_mark(buf, len, &mark);
	if (!ret)
		ret = dlm_lc_node_set_mark(cl, nodeid, mark);
	return dlm_lc_cfs_done(ret, len);
}

static ssize_t cfs_node_rel_emit(const struct dlm_lc_rel_stats *rs,
				 char *page, ssize_t len)
{
	const struct dlm_lc_cfs_stat lines[] = {
		{ "seq_tx_next", rs->tx_next },
		{ "seq_tx_acked", rs->tx_acked },
		{ "seq_rx_next", rs->rx_next },
		{ "rel_tx_msgs", rs->tx_msgs },
		{ "rel_rx_msgs", rs->rx_msgs },
		{ "retransmits", rs->retransmits },
		{ "rx_dups", rs->rx_dups },
		{ "rx_future", rs->rx_future },
		{ "rx_discarded", rs->rx_discarded },
		{ "resyncs", rs->resyncs },
		{ "acks_tx", rs->acks_tx },
		{ "acks_rx", rs->acks_rx },
		{ "acks_stale", rs->acks_stale },
		{ "fin_tx", rs->fin_tx },
		{ "fin_rx", rs->fin_rx },
		{ "fin_resets", rs->fin_resets },
		{ "peer_closed", rs->peer_closed },
		{ "abandoned", rs->abandoned },
		{ "backlog_waits", rs->backlog_waits },
		{ "probes", rs->probes },
		{ "unacked_msgs", rs->unacked_msgs },
		{ "unacked_bytes", rs->unacked_bytes },
		{ "unacked_max", rs->unacked_max },
	};

	len += sysfs_emit_at(page, len, "version %s\n",
			     version_name(rs->version));
	return dlm_lc_cfs_emit(page, len, lines, ARRAY_SIZE(lines));
}

static ssize_t cfs_node_status_emit(const struct dlm_lc_node_stats *ns,
				    const struct dlm_lc_ping_stats *ps,
				    const struct dlm_lc_bulk_stats *bs,
				    const struct dlm_lc_rel_stats *rs,
				    char *page)
{
	const struct dlm_lc_cfs_stat lines[] = {
		{ "connected", ns->connected },
		{ "tx_bytes", ns->tx_bytes },
		{ "rx_bytes", ns->rx_bytes },
		{ "tx_msgs", ns->tx_msgs },
		{ "rx_msgs", ns->rx_msgs },
		{ "reconnects", ns->reconnects },
		{ "drops", ns->drops },
		{ "broken", ns->broken },
		{ "connect_fail", ns->connect_fail },
		{ "dial_waits", ns->dial_waits },
		{ "dial_wait_hits", ns->dial_wait_hits },
		{ "send_backoffs", ns->send_backoffs },
		{ "tx_calls", ns->tx_calls },
		{ "tx_ranges", ns->tx_ranges },
		{ "tx_inline", ns->tx_inline },
		{ "tx_guard", ns->tx_guard },
		{ "queued", ns->queued },
		{ "queued_max", ns->queued_max },
		{ "room_waiters", ns->room_waiters },
		{ "ping_sent", ps->sent },
		{ "ping_replies", ps->replies },
		{ "ping_timeouts", ps->timeouts },
		{ "rtt_last_ns", ps->last_ns },
		{ "rtt_p50_ns", ps->p50_ns },
		{ "rtt_p99_ns", ps->p99_ns },
		{ "rtt_max_ns", ps->max_ns },
		{ "rtt_samples", ps->samples },
		{ "bulk_tx_msgs", bs->tx_msgs },
		{ "bulk_tx_bytes", bs->tx_bytes },
		{ "bulk_tx_ns", bs->tx_ns },
		{ "bulk_rx_msgs", bs->rx_msgs },
		{ "bulk_rx_bytes", bs->rx_bytes },
		{ "bulk_rx_bad_csum", bs->rx_bad_csum },
		{ "bulk_rx_seq_err", bs->rx_seq_err },
		{ "bulk_rx_span_ns", bs->rx_span_ns },
		{ "bulk_rx_first_seq", bs->rx_first_seq },
	};
	ssize_t len = dlm_lc_cfs_emit(page, 0, lines, ARRAY_SIZE(lines));

	/* signed: a stock node without the lockspace answers -ESRCH (-3) */
	len += sysfs_emit_at(page, len, "ping_last_result %d\n",
			     ps->last_result);
	return cfs_node_rel_emit(rs, page, len);
}

static ssize_t cfs_node_status_show(struct config_item *item, char *page)
{
	struct dlm_lc_cluster *cl;
	int nodeid = cfs_node_get(item, &cl);
	struct dlm_lc_node_stats ns;
	struct dlm_lc_ping_stats ps;
	struct dlm_lc_bulk_stats bs;
	struct dlm_lc_rel_stats rs;
	int ret;

	if (nodeid < 0)
		return nodeid;
	ret = dlm_lc_node_get_stats(cl, nodeid, &ns);
	if (!ret)
		ret = dlm_lc_ping_get_stats(cl, nodeid, &ps);
	if (!ret)
		ret = dlm_lc_bulk_get_stats(cl, nodeid, &bs);
	if (!ret)
		ret = dlm_lc_shim_rel_stats(cl, nodeid, &rs);
	if (ret)
		return ret;
	return cfs_node_status_emit(&ns, &ps, &bs, &rs, page);
}

static ssize_t cfs_node_ping_store(struct config_item *item,
				   const char *buf, size_t len)
{
	struct dlm_lc_cluster *cl;
	int nodeid = cfs_node_get(item, &cl);
	unsigned int count, timeout_ms;
	int ret;

	if (nodeid < 0)
		return nodeid;
	ret = dlm_lc_cfs_parse_ping(buf, len, &count, &timeout_ms);
	if (!ret)
		ret = dlm_lc_ping(cl, nodeid, count, timeout_ms);
	return dlm_lc_cfs_done(ret, len);
}

static ssize_t cfs_node_bulk_store(struct config_item *item,
				   const char *buf, size_t len)
{
	struct dlm_lc_cluster *cl;
	int nodeid = cfs_node_get(item, &cl);
	unsigned int count, size, flags;
	int ret;

	if (nodeid < 0)
		return nodeid;
	ret = dlm_lc_cfs_parse_bulk(buf, len, &count, &size, &flags);
	if (!ret)
		ret = dlm_lc_bulk_send(cl, nodeid, count, size, flags);
	return dlm_lc_cfs_done(ret, len);
}

/* close and reset are triggers: only "1" means anything. */
static int cfs_node_trigger(struct config_item *item, const char *buf,
			    size_t len, struct dlm_lc_cluster **cl)
{
	int nodeid = cfs_node_get(item, cl);
	bool set;

	if (nodeid < 0)
		return nodeid;
	if (dlm_lc_cfs_parse_bool(buf, len, &set) || !set)
		return -EINVAL;
	return nodeid;
}

static ssize_t cfs_node_close_store(struct config_item *item,
				    const char *buf, size_t len)
{
	struct dlm_lc_cluster *cl;
	int nodeid = cfs_node_trigger(item, buf, len, &cl);

	if (nodeid < 0)
		return nodeid;
	return dlm_lc_cfs_done(dlm_lc_node_close(cl, nodeid), len);
}

static ssize_t cfs_node_reset_store(struct config_item *item,
				    const char *buf, size_t len)
{
	struct dlm_lc_cluster *cl;
	int nodeid = cfs_node_trigger(item, buf, len, &cl);

	if (nodeid < 0)
		return nodeid;
	return dlm_lc_cfs_done(dlm_lc_shim_reset_stats(cl, nodeid), len);
}

CONFIGFS_ATTR(cfs_node_, nodeid);
CONFIGFS_ATTR(cfs_node_, local);
CONFIGFS_ATTR_WO(cfs_node_, addr);
CONFIGFS_ATTR_RO(cfs_node_, addr_list);
CONFIGFS_ATTR(cfs_node_, mark);
CONFIGFS_ATTR_RO(cfs_node_, status);
CONFIGFS_ATTR_WO(cfs_node_, ping);
CONFIGFS_ATTR_WO(cfs_node_, bulk);
CONFIGFS_ATTR_WO(cfs_node_, close);
CONFIGFS_ATTR_WO(cfs_node_, reset);

static struct configfs_attribute *cfs_node_attrs[] = {
	&cfs_node_attr_nodeid,
	&cfs_node_attr_local,
	&cfs_node_attr_addr,
	&cfs_node_attr_addr_list,
	&cfs_node_attr_mark,
	&cfs_node_attr_status,
	&cfs_node_attr_ping,
	&cfs_node_attr_bulk,
	&cfs_node_attr_close,
	&cfs_node_attr_reset,
	NULL,
};

/*
 * Item types. The operation tables stay non-const: 6.1 and 6.12 declare
 * the ct_*_ops pointers without const, later kernels accept either.
 */

static void cfs_node_release(struct config_item *item)
{
	struct dlm_lc_cfs_node *node = to_cfs_node(item);

	mutex_destroy(&node->lock);
	kfree(node);
}

static dlm_lc_cfs_ops struct configfs_item_operations cfs_node_item_ops = {
	.release = cfs_node_release,
};

static const struct config_item_type cfs_node_type = {
	.ct_item_ops = &cfs_node_item_ops,
	.ct_attrs = cfs_node_attrs,
	.ct_owner = THIS_MODULE,
};

static struct config_item *cfs_node_make(struct config_group *group,
					 const char *name)
{
	struct dlm_lc_cfs_cluster *cc;
	struct dlm_lc_cfs_node *node;
	int nodeid, ret;

	cc = container_of(group, struct dlm_lc_cfs_cluster, comms);
	node = kzalloc(sizeof(*node), GFP_KERNEL);
	if (!node)
		return ERR_PTR(-ENOMEM);
	node->cl = cc->cl;
	mutex_init(&node->lock);

	/* dlm_controld names node directories after the nodeid. */
	if (!dlm_lc_cfs_parse_nodeid(name, strlen(name), &nodeid)) {
		ret = cfs_node_set_id(node, nodeid);
		if (ret) {
			mutex_destroy(&node->lock);
			kfree(node);
			return ERR_PTR(ret);
		}
	}
	config_item_init_type_name(&node->item, name, &cfs_node_type);
	return &node->item;
}

/* rmdir: no attribute can run any more, so the node can go at once. */
static void cfs_node_drop(struct config_group *group, struct config_item *item)
{
	struct dlm_lc_cfs_node *node = to_cfs_node(item);
	int nodeid = READ_ONCE(node->nodeid);
	int ret;

	if (nodeid) {
		ret = dlm_lc_node_remove(node->cl, nodeid);
		if (ret)
			pr_warn("cluster %s: removing node %d failed: %d\n",
				dlm_lc_cluster_name(node->cl), nodeid, ret);
	}
	config_item_put(item);
}

static dlm_lc_cfs_ops struct configfs_group_operations cfs_comms_group_ops = {
	.make_item = cfs_node_make,
	.drop_item = cfs_node_drop,
};

static const struct config_item_type cfs_comms_type = {
	.ct_group_ops = &cfs_comms_group_ops,
	.ct_owner = THIS_MODULE,
};

static void cfs_cluster_release(struct config_item *item)
{
	struct dlm_lc_cfs_cluster *cc = to_cfs_cluster(item);

	/* drop_item has normally destroyed it already; this is a safety net. */
	if (cc->cl)
		dlm_lc_cluster_destroy(cc->cl);
	kfree(cc);
}

static dlm_lc_cfs_ops struct configfs_item_operations cfs_cluster_item_ops = {
	.release = cfs_cluster_release,
};

static const struct config_item_type cfs_cluster_type = {
	.ct_item_ops = &cfs_cluster_item_ops,
	.ct_attrs = cfs_cluster_attrs,
	.ct_owner = THIS_MODULE,
};

static struct config_group *cfs_cluster_make(struct config_group *group,
					     const char *name)
{
	struct dlm_lc_cfs_cluster *cc;
	struct dlm_lc_cluster *cl;

	if (strlen(name) >= DLM_LC_NAME_LEN)
		return ERR_PTR(-ENAMETOOLONG);
	cc = kzalloc(sizeof(*cc), GFP_KERNEL);
	if (!cc)
		return ERR_PTR(-ENOMEM);

	/* The instance talks in the namespace of whoever created it. */
	cl = dlm_lc_shim_cluster_create(name, current->nsproxy->net_ns);
	if (IS_ERR(cl)) {
		kfree(cc);
		return ERR_CAST(cl);
	}
	cc->cl = cl;

	config_group_init_type_name(&cc->group, name, &cfs_cluster_type);
	config_group_init_type_name(&cc->comms, "comms", &cfs_comms_type);
	configfs_add_default_group(&cc->comms, &cc->group);
	return &cc->group;
}

/*
 * rmdir: configfs has already made comms/ empty and stopped new attribute
 * calls. Destroy the instance now rather than at the last reference, so
 * that the port is free when rmdir returns.
 */
static void cfs_cluster_drop(struct config_group *group,
			     struct config_item *item)
{
	struct dlm_lc_cfs_cluster *cc = to_cfs_cluster(item);

	configfs_remove_default_groups(&cc->group);
	dlm_lc_cluster_destroy(cc->cl);
	cc->cl = NULL;
	config_item_put(item);
}

static dlm_lc_cfs_ops struct configfs_group_operations cfs_root_group_ops = {
	.make_group = cfs_cluster_make,
	.drop_item = cfs_cluster_drop,
};

static const struct config_item_type cfs_root_type = {
	.ct_group_ops = &cfs_root_group_ops,
	.ct_owner = THIS_MODULE,
};

static struct configfs_subsystem cfs_subsys;

int dlm_lc_configfs_init(void)
{
	config_group_init_type_name(&cfs_subsys.su_group, "dlm_lowcomms",
				    &cfs_root_type);
	mutex_init(&cfs_subsys.su_mutex);
	return configfs_register_subsystem(&cfs_subsys);
}

void dlm_lc_configfs_exit(void)
{
	configfs_unregister_subsystem(&cfs_subsys);
	mutex_destroy(&cfs_subsys.su_mutex);
}
