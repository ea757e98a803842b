// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stream framing: where one DLM message ends and the next begins, and
 * whether the bytes can be a DLM message at all.
 */

#include <linux/errno.h>

#include "compat.h"
#include "lowcomms.h"
#include "wire.h"

/*
 * A 3.2 envelope must be exactly filled by one message of a kind that
 * may be wrapped: the kernel's DLM (under the drop-in) copies the inner
 * message by its own length, our read items are sized to what arrived,
 * and stock DLM wraps only DLM_MSG, DLM_RCOM and DLM_FIN.
 */
int dlm_lc_frame_opts(const void *buf, size_t len)
{
	const struct dlm_lc_opts *o = buf;
	const struct dlm_lc_hdr *inner;
	unsigned int skip;

	if (len < DLM_LC_OPTS_LEN + DLM_LC_HDR_LEN || len > DLM_LC_MAX_MSG)
		return -EMSGSIZE;
	skip = DLM_LC_OPTS_LEN + le16_to_cpu(o->optlen);
	if (skip > len - DLM_LC_HDR_LEN)
		return -EMSGSIZE;
	inner = buf + skip;
	if (le16_to_cpu(inner->length) != len - skip)
		return -EMSGSIZE;
	switch (inner->cmd) {
	case DLM_LC_CMD_MSG:
	case DLM_LC_CMD_RCOM:
	case DLM_LC_CMD_FIN:
		return skip;
	default:
		return -EPROTO;
	}
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_frame_opts);

int dlm_lc_frame_check(const void *buf, size_t avail, int nodeid)
{
	const struct dlm_lc_hdr *hdr = buf;
	unsigned int len;
	int ret;

	/* reject garbage as early as the bytes allow */
	if (avail >= sizeof(hdr->version) &&
	    !dlm_lc_version_ok(le32_to_cpu(hdr->version)))
		return -EPROTO;
	if (avail < DLM_LC_HDR_LEN)
		return 0;

	len = le16_to_cpu(hdr->length);
	if (len < DLM_LC_HDR_LEN || len > DLM_LC_MAX_MSG)
		return -EMSGSIZE;
	if (hdr->cmd < DLM_LC_CMD_MSG || hdr->cmd >= DLM_LC_CMD_MAX)
		return -EPROTO;
	if (le32_to_cpu(hdr->nodeid) != nodeid)
		return -EBADMSG;
	if (avail < len)
		return 0;
	if (hdr->cmd == DLM_LC_CMD_OPTS) {
		ret = dlm_lc_frame_opts(buf, len);
		if (ret < 0)
			return ret;
	}
	return len;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_frame_check);

int dlm_lc_frame_scan(const char *buf, unsigned int len, int nodeid,
		      unsigned int *msgs)
{
	unsigned int used = 0;
	int ret;

	*msgs = 0;
	while (used < len) {
		ret = dlm_lc_frame_check(buf + used, len - used, nodeid);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
		used += ret;
		(*msgs)++;
	}
	return used;
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_frame_scan);
