/* SPDX-License-Identifier: GPL-2.0-only */
/* Address parsing and formatting for configfs and logs. */
#ifndef DLM_LC_ADDR_H
#define DLM_LC_ADDR_H

#include <linux/types.h>
#include <linux/socket.h>

/*
 * Parse what a user wrote to comms/<node>/addr: either the binary
 * sockaddr_storage that dlm_controld writes (exactly 128 bytes, family
 * AF_INET or AF_INET6) or text ("192.0.2.1", "2001:db8::1",
 * "[2001:db8::1]"), a trailing newline allowed. The port is cleared.
 * Returns 0, -EINVAL for malformed input or -EAFNOSUPPORT.
 */
int dlm_lc_addr_parse(const char *buf, size_t len, struct sockaddr_storage *ss);

/* True if both hold the same family and IP address (ports ignored). */
bool dlm_lc_addr_equal(const struct sockaddr_storage *a,
		       const struct sockaddr_storage *b);

/* Copy @ss with @port set; returns the sockaddr length to pass to bind. */
int dlm_lc_addr_with_port(const struct sockaddr_storage *ss, u16 port,
			  struct sockaddr_storage *out);

/* "192.0.2.1" or "2001:db8::1", no port; returns scnprintf's count. */
int dlm_lc_addr_format(const struct sockaddr_storage *ss, char *buf,
		       size_t size);

#endif /* DLM_LC_ADDR_H */
