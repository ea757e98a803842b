/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DLM's wire format as the transport sees it: every message starts with
 * the same 16-byte header, whose length field frames the TCP stream. The
 * transport checks framing, and for 3.2's envelope that the message it
 * carries fills it exactly and is of a kind that may be wrapped; what a
 * command means is the business of the upper layer that registered with
 * the instance (lowcomms.h).
 */
#ifndef DLM_LC_WIRE_H
#define DLM_LC_WIRE_H

#include <linux/build_bug.h>
#include <linux/types.h>

#define DLM_LC_HDR_LEN		16
#define DLM_LC_VERSION_3_1	0x00030001
#define DLM_LC_VERSION_3_2	0x00030002
#define DLM_LC_VERSION_MAJOR	0xffff0000

/* Any 3.x: a receiver frames it; the minor is the sender's business. */
static inline bool dlm_lc_version_ok(u32 version)
{
	return (version & DLM_LC_VERSION_MAJOR) ==
	       (DLM_LC_VERSION_3_1 & DLM_LC_VERSION_MAJOR);
}

enum {
	DLM_LC_CMD_MSG = 1,
	DLM_LC_CMD_RCOM = 2,
	DLM_LC_CMD_OPTS = 3,
	DLM_LC_CMD_ACK = 4,
	DLM_LC_CMD_FIN = 5,
	DLM_LC_CMD_MAX = 6,
};

struct dlm_lc_hdr {
	__le32 version;
	__le32 lockspace;
	__le32 nodeid;
	__le16 length;
	u8 cmd;
	u8 pad;
} __packed;

/*
 * DLM 3.2's envelope: this header, @optlen bytes of options, then the
 * message it carries, whose own length field must account for exactly
 * the rest (the upper layer that reads the inner message trusts it).
 */
struct dlm_lc_opts {
	struct dlm_lc_hdr hdr;	/* cmd OPTS, lockspace = sequence number */
	u8 nextcmd;
	u8 pad;
	__le16 optlen;
	__le32 sid;		/* pad word: the sender's sequence space id */
} __packed;

#define DLM_LC_OPTS_LEN		24
static_assert(sizeof(struct dlm_lc_opts) == DLM_LC_OPTS_LEN);

/*
 * The sizes of stock's struct dlm_message and struct dlm_rcom: the
 * shortest DLM_MSG and DLM_RCOM a stock 3.2 node takes inside OPTS. It
 * drops a shorter one before it looks at the number, so everything sent
 * to it afterwards waits behind a message that is resent and dropped
 * again, for good. (A 3.1 node drops a short DLM_MSG and does not check
 * a DLM_RCOM's length.)
 */
#define DLM_LC_MSG_MIN		88
#define DLM_LC_RCOM_MIN		48

/*
 * Framing check for the receive path (frame.c). Returns the length of the
 * complete message at @buf, 0 if more bytes are needed, or a negative
 * errno if the stream is broken (-EMSGSIZE bad length, or an OPTS
 * envelope whose inner message does not fill it exactly; -EPROTO bad
 * version or command, outer or inner; -EBADMSG wrong sender).
 */
int dlm_lc_frame_check(const void *buf, size_t avail, int nodeid);

/*
 * For a whole OPTS envelope of @len bytes (its header's length): the
 * offset of the message it carries, or -EMSGSIZE if that message does not
 * fill the rest exactly (or @len is above 4096), or -EPROTO if it is not
 * a DLM_MSG, DLM_RCOM or DLM_FIN. The one check of an envelope, for the
 * framing and the shim.
 */
int dlm_lc_frame_opts(const void *buf, size_t len);

/*
 * Length of the complete messages at the start of @buf (possibly 0), or a
 * negative errno for a broken stream. *@msgs gets their number.
 */
int dlm_lc_frame_scan(const char *buf, unsigned int len, int nodeid,
		      unsigned int *msgs);

#endif /* DLM_LC_WIRE_H */
