/* SPDX-License-Identifier: GPL-2.0-only */
/* configfs tree /sys/kernel/config/dlm_lowcomms (configfs.c). */
#ifndef DLM_LC_CONFIGFS_H
#define DLM_LC_CONFIGFS_H

#include <linux/types.h>

int dlm_lc_configfs_init(void);
void dlm_lc_configfs_exit(void);

/* Reply wait per ping when the write to ping names only a count. */
#define DLM_LC_CFS_PING_TIMEOUT_MS	1000

/*
 * Parsers for attribute values, exported for the KUnit tests. Each takes
 * the counted buffer a configfs store gets (one trailing newline allowed),
 * returns 0 or -EINVAL (parse_proto: -EPROTONOSUPPORT for SCTP) and writes
 * its result only on success.
 */
int dlm_lc_cfs_parse_port(const char *buf, size_t len, unsigned int *port);
int dlm_lc_cfs_parse_bufsize(const char *buf, size_t len, unsigned int *size);
int dlm_lc_cfs_parse_mark(const char *buf, size_t len, u32 *mark);
int dlm_lc_cfs_parse_nodeid(const char *buf, size_t len, int *nodeid);
int dlm_lc_cfs_parse_proto(const char *buf, size_t len, int *proto);
int dlm_lc_cfs_parse_control(const char *buf, size_t len, bool *start);
int dlm_lc_cfs_parse_bool(const char *buf, size_t len, bool *val);
/* "3.1" or "3.2", as DLM_LC_VERSION_3_x */
int dlm_lc_cfs_parse_version(const char *buf, size_t len, u32 *version);
int dlm_lc_cfs_parse_ping(const char *buf, size_t len, unsigned int *count,
			  unsigned int *timeout_ms);
/* "<count> <size> [<short>]", short 0 or 1: flags DLM_LC_BULK_SHORT */
int dlm_lc_cfs_parse_bulk(const char *buf, size_t len, unsigned int *count,
			  unsigned int *size, unsigned int *flags);

#endif /* DLM_LC_CONFIGFS_H */
