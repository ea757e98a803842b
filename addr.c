// SPDX-License-Identifier: GPL-2.0-only
/*
 * Node address handling for dlm_lowcomms: what users write to configfs,
 * how addresses are compared and how they show up in files and logs.
 */

#include <linux/errno.h>
#include <linux/export.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <net/ipv6.h>

#include "compat.h"
#include "addr.h"

/*
 * Longest text we take once an optional newline is gone: the longest
 * IPv6 form (IPv4-mapped, 45 characters) plus two brackets.
 */
#define DLM_LC_ADDR_TEXT_MAX	(INET6_ADDRSTRLEN - 1 + 2)

/*
 * Only the family, the address and (for link-local IPv6) the scope survive;
 * whatever else the writer left in the structure must not leak into
 * connect() or into address comparisons.
 */
static int dlm_lc_addr_from_bin(const char *buf, struct sockaddr_storage *ss)
{
	struct sockaddr_storage in;

	memcpy(&in, buf, sizeof(in));
	memset(ss, 0, sizeof(*ss));

	switch (in.ss_family) {
	case AF_INET: {
		const struct sockaddr_in *src = (const struct sockaddr_in *)&in;
		struct sockaddr_in *dst = (struct sockaddr_in *)ss;

		dst->sin_family = AF_INET;
		dst->sin_addr = src->sin_addr;
		return 0;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *src = (const struct sockaddr_in6 *)&in;
		struct sockaddr_in6 *dst = (struct sockaddr_in6 *)ss;

		dst->sin6_family = AF_INET6;
		dst->sin6_addr = src->sin6_addr;
		dst->sin6_scope_id = src->sin6_scope_id;
		return 0;
	}
	default:
		return -EAFNOSUPPORT;
	}
}

/* in*_pton stop quietly at the first foreign byte, so insist on using all. */
static int dlm_lc_addr_from_text6(const char *txt, size_t len,
				  struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const char *end;

	if (!in6_pton(txt, len, sin6->sin6_addr.s6_addr, -1, &end) ||
	    end != txt + len)
		return -EINVAL;
	sin6->sin6_family = AF_INET6;
	return 0;
}

static int dlm_lc_addr_from_text4(const char *txt, size_t len,
				  struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	const char *end;

	if (!in4_pton(txt, len, (u8 *)&sin->sin_addr.s_addr, -1, &end) ||
	    end != txt + len)
		return -EINVAL;
	sin->sin_family = AF_INET;
	return 0;
}

static int dlm_lc_addr_from_text(const char *buf, size_t len,
				 struct sockaddr_storage *ss)
{
	if (len && buf[len - 1] == '\n')
		len--;
	/* A NUL inside would make the user's text and ours differ. */
	if (!len || len > DLM_LC_ADDR_TEXT_MAX || memchr(buf, '\0', len))
		return -EINVAL;

	memset(ss, 0, sizeof(*ss));
	if (buf[0] == '[') {
		if (len < 3 || buf[len - 1] != ']')
			return -EINVAL;
		return dlm_lc_addr_from_text6(buf + 1, len - 2, ss);
	}
	if (memchr(buf, ':', len))
		return dlm_lc_addr_from_text6(buf, len, ss);
	return dlm_lc_addr_from_text4(buf, len, ss);
}

int dlm_lc_addr_parse(const char *buf, size_t len, struct sockaddr_storage *ss)
{
	/* No text address is this long, so the size alone marks binary. */
	if (len == sizeof(struct sockaddr_storage))
		return dlm_lc_addr_from_bin(buf, ss);
	return dlm_lc_addr_from_text(buf, len, ss);
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_addr_parse);

bool dlm_lc_addr_equal(const struct sockaddr_storage *a,
		       const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;

	switch (a->ss_family) {
	case AF_INET:
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	case AF_INET6:
		return ipv6_addr_equal(&((const struct sockaddr_in6 *)a)->sin6_addr,
				       &((const struct sockaddr_in6 *)b)->sin6_addr);
	default:
		return false;
	}
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_addr_equal);

/* Callers clear a port in place, so @out may be @ss. */
int dlm_lc_addr_with_port(const struct sockaddr_storage *ss, u16 port,
			  struct sockaddr_storage *out)
{
	if (out != ss)
		*out = *ss;

	switch (ss->ss_family) {
	case AF_INET:
		((struct sockaddr_in *)out)->sin_port = htons(port);
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		((struct sockaddr_in6 *)out)->sin6_port = htons(port);
		return sizeof(struct sockaddr_in6);
	default:
		return -EAFNOSUPPORT;
	}
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_addr_with_port);

int dlm_lc_addr_format(const struct sockaddr_storage *ss, char *buf,
		       size_t size)
{
	switch (ss->ss_family) {
	case AF_INET:
		return scnprintf(buf, size, "%pI4",
				 &((const struct sockaddr_in *)ss)->sin_addr);
	case AF_INET6:
		/* Compressed form, so it reads back through in6_pton. */
		return scnprintf(buf, size, "%pI6c",
				 &((const struct sockaddr_in6 *)ss)->sin6_addr);
	default:
		return scnprintf(buf, size, "<family %u>", ss->ss_family);
	}
}
EXPORT_SYMBOL_IF_KUNIT(dlm_lc_addr_format);
