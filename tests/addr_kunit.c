// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for addr.c: what users may write to comms/<node>/addr and
 * how parsed addresses compare and print.
 */

#include <kunit/test.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <net/ipv6.h>

#include "addr.h"

#define TEST_PORT	21064

/* 192.0.2.1 and 2001:db8::1, the documentation addresses. */
static const struct in_addr test_in4 = { .s_addr = htonl(0xc0000201) };
static const struct in6_addr test_in6 = {
	.in6_u.u6_addr8 = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 },
};

/* Text cases carry a length so that one of them can hide a NUL. */
struct addr_text_case {
	const char *in;
	size_t len;			/* 0: strlen(in) */
	int ret;
	sa_family_t family;		/* on success */
	const char *text;		/* dlm_lc_addr_format() of the result */
};

static size_t text_case_len(const struct addr_text_case *c)
{
	return c->len ? c->len : strlen(c->in);
}

/* Escaped, because a raw newline would break the KTAP output. */
static void text_case_desc(const struct addr_text_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "\"%*pE\"",
		 (int)text_case_len(c), c->in);
}

static const struct addr_text_case good_text_cases[] = {
	{ .in = "192.0.2.1", .family = AF_INET, .text = "192.0.2.1" },
	{ .in = "192.0.2.1\n", .family = AF_INET, .text = "192.0.2.1" },
	{ .in = "0.0.0.0", .family = AF_INET, .text = "0.0.0.0" },
	{ .in = "2001:db8::1", .family = AF_INET6, .text = "2001:db8::1" },
	{ .in = "2001:db8::1\n", .family = AF_INET6, .text = "2001:db8::1" },
	{ .in = "[2001:db8::1]", .family = AF_INET6, .text = "2001:db8::1" },
	{ .in = "[2001:db8::1]\n", .family = AF_INET6, .text = "2001:db8::1" },
	{ .in = "2001:DB8:0:0:0:0:0:1", .family = AF_INET6,
	  .text = "2001:db8::1" },
	{ .in = "::1", .family = AF_INET6, .text = "::1" },
};

KUNIT_ARRAY_PARAM(good_text, good_text_cases, text_case_desc);

static const struct addr_text_case bad_text_cases[] = {
	{ .in = "", .ret = -EINVAL },
	{ .in = "\n", .ret = -EINVAL },
	{ .in = "1.2.3", .ret = -EINVAL },
	{ .in = "1.2.3.4x", .ret = -EINVAL },
	{ .in = "1.2.3.4.5", .ret = -EINVAL },
	{ .in = "256.0.0.1", .ret = -EINVAL },
	{ .in = " 192.0.2.1", .ret = -EINVAL },
	{ .in = "192.0.2.1\n\n", .ret = -EINVAL },
	{ .in = "192.0.2.1:21064", .ret = -EINVAL },
	{ .in = "192.0.2.1\0junk", .len = 14, .ret = -EINVAL },
	{ .in = "2001:db8::1]", .ret = -EINVAL },
	{ .in = "[2001:db8::1", .ret = -EINVAL },
	{ .in = "[]", .ret = -EINVAL },
	{ .in = "2001:db8::1::2", .ret = -EINVAL },
	{ .in = "2001:db8::g", .ret = -EINVAL },
	{ .in = "localhost", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(bad_text, bad_text_cases, text_case_desc);

/* Fill @ss the way dlm_controld would, with a port and stray bytes. */
static void make_bin(struct sockaddr_storage *ss, sa_family_t family)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0x5a, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET) {
		sin->sin_port = htons(TEST_PORT);
		sin->sin_addr = test_in4;
	} else if (family == AF_INET6) {
		sin6->sin6_port = htons(TEST_PORT);
		sin6->sin6_addr = test_in6;
		sin6->sin6_scope_id = 0;
	}
}

struct addr_bin_case {
	const char *desc;
	sa_family_t family;
	int ret;
	const char *text;
};

static void bin_case_desc(const struct addr_bin_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

static const struct addr_bin_case bin_cases[] = {
	{ "AF_INET", AF_INET, 0, "192.0.2.1" },
	{ "AF_INET6", AF_INET6, 0, "2001:db8::1" },
	{ "AF_UNIX", AF_UNIX, -EAFNOSUPPORT, NULL },
	{ "AF_UNSPEC", AF_UNSPEC, -EAFNOSUPPORT, NULL },
};

KUNIT_ARRAY_PARAM(bin, bin_cases, bin_case_desc);

/* The port in host order, whichever family @ss has. */
static u16 addr_port(struct kunit *test, const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	KUNIT_ASSERT_EQ(test, ss->ss_family, AF_INET6);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void addr_parse_good_text_test(struct kunit *test)
{
	const struct addr_text_case *c = test->param_value;
	struct sockaddr_storage ss;
	char out[INET6_ADDRSTRLEN];
	int ret;

	memset(&ss, 0xa5, sizeof(ss));

	ret = dlm_lc_addr_parse(c->in, text_case_len(c), &ss);

	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, ss.ss_family, c->family);
	KUNIT_EXPECT_EQ(test, addr_port(test, &ss), 0);
	dlm_lc_addr_format(&ss, out, sizeof(out));
	KUNIT_EXPECT_STREQ(test, out, c->text);
}

static void addr_parse_bad_text_test(struct kunit *test)
{
	const struct addr_text_case *c = test->param_value;
	struct sockaddr_storage ss;
	int ret;

	ret = dlm_lc_addr_parse(c->in, text_case_len(c), &ss);

	KUNIT_EXPECT_EQ(test, ret, c->ret);
}

static void addr_parse_bin_test(struct kunit *test)
{
	const struct addr_bin_case *c = test->param_value;
	struct sockaddr_storage in, ss;
	char out[INET6_ADDRSTRLEN];
	int ret;

	make_bin(&in, c->family);

	ret = dlm_lc_addr_parse((const char *)&in, sizeof(in), &ss);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	if (ret)
		return;
	KUNIT_EXPECT_EQ(test, ss.ss_family, c->family);
	KUNIT_EXPECT_EQ(test, addr_port(test, &ss), 0);
	dlm_lc_addr_format(&ss, out, sizeof(out));
	KUNIT_EXPECT_STREQ(test, out, c->text);
}

/* Only exactly sizeof(sockaddr_storage) bytes count as binary. */
static void addr_parse_bin_length_test(struct kunit *test)
{
	struct {
		struct sockaddr_storage ss;
		char extra;
	} buf = { };
	struct sockaddr_storage ss;
	int shorter, longer;

	make_bin(&buf.ss, AF_INET);

	shorter = dlm_lc_addr_parse((const char *)&buf, sizeof(ss) - 1, &ss);
	longer = dlm_lc_addr_parse((const char *)&buf, sizeof(ss) + 1, &ss);

	KUNIT_EXPECT_EQ(test, shorter, -EINVAL);
	KUNIT_EXPECT_EQ(test, longer, -EINVAL);
}

/* Longer than any text form, on both sides of the binary size. */
static void addr_parse_overlong_text_test(struct kunit *test)
{
	char buf[2 * sizeof(struct sockaddr_storage)];
	struct sockaddr_storage ss;
	int shorter, longer;

	memset(buf, '1', sizeof(buf));

	shorter = dlm_lc_addr_parse(buf, 64, &ss);
	longer = dlm_lc_addr_parse(buf, sizeof(buf), &ss);

	KUNIT_EXPECT_EQ(test, shorter, -EINVAL);
	KUNIT_EXPECT_EQ(test, longer, -EINVAL);
}

struct addr_equal_case {
	const char *a;
	u16 port_a;
	const char *b;
	u16 port_b;
	bool equal;
};

static void equal_case_desc(const struct addr_equal_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s:%u vs %s:%u", c->a,
		 c->port_a, c->b, c->port_b);
}

static const struct addr_equal_case equal_cases[] = {
	{ "192.0.2.1", 0, "192.0.2.1", 0, true },
	{ "192.0.2.1", 21064, "192.0.2.1", 1, true },
	{ "192.0.2.1", 0, "192.0.2.2", 0, false },
	{ "2001:db8::1", 21064, "[2001:db8::1]", 0, true },
	{ "2001:db8::1", 0, "2001:db8::2", 0, false },
	{ "192.0.2.1", 0, "::ffff:192.0.2.1", 0, false },
};

KUNIT_ARRAY_PARAM(equal, equal_cases, equal_case_desc);

/* Parse @txt and give it @port, as a connect address would have. */
static void addr_from(struct kunit *test, const char *txt, u16 port,
		      struct sockaddr_storage *out)
{
	struct sockaddr_storage ss;

	KUNIT_ASSERT_EQ(test, dlm_lc_addr_parse(txt, strlen(txt), &ss), 0);
	KUNIT_ASSERT_GT(test, dlm_lc_addr_with_port(&ss, port, out), 0);
}

static void addr_equal_test(struct kunit *test)
{
	const struct addr_equal_case *c = test->param_value;
	struct sockaddr_storage a, b;
	bool ab, ba;

	addr_from(test, c->a, c->port_a, &a);
	addr_from(test, c->b, c->port_b, &b);

	ab = dlm_lc_addr_equal(&a, &b);
	ba = dlm_lc_addr_equal(&b, &a);

	KUNIT_EXPECT_EQ(test, ab, c->equal);
	KUNIT_EXPECT_EQ(test, ba, c->equal);
}

static void addr_with_port_test(struct kunit *test)
{
	struct sockaddr_storage v4, v6, out4, out6;
	int len4, len6;

	addr_from(test, "192.0.2.1", 0, &v4);
	addr_from(test, "2001:db8::1", 0, &v6);

	len4 = dlm_lc_addr_with_port(&v4, TEST_PORT, &out4);
	len6 = dlm_lc_addr_with_port(&v6, TEST_PORT, &out6);

	KUNIT_EXPECT_EQ(test, len4, (int)sizeof(struct sockaddr_in));
	KUNIT_EXPECT_EQ(test, len6, (int)sizeof(struct sockaddr_in6));
	KUNIT_EXPECT_EQ(test, addr_port(test, &out4), TEST_PORT);
	KUNIT_EXPECT_EQ(test, addr_port(test, &out6), TEST_PORT);
	KUNIT_EXPECT_TRUE(test, dlm_lc_addr_equal(&out4, &v4));
	KUNIT_EXPECT_TRUE(test, dlm_lc_addr_equal(&out6, &v6));
}

/* lowcomms clears ports in place, passing the same storage twice. */
static void addr_with_port_in_place_test(struct kunit *test)
{
	struct sockaddr_storage ss, orig;
	int len;

	addr_from(test, "2001:db8::1", TEST_PORT, &ss);
	orig = ss;

	len = dlm_lc_addr_with_port(&ss, 0, &ss);

	KUNIT_EXPECT_EQ(test, len, (int)sizeof(struct sockaddr_in6));
	KUNIT_EXPECT_EQ(test, addr_port(test, &ss), 0);
	KUNIT_EXPECT_TRUE(test, dlm_lc_addr_equal(&ss, &orig));
}

static void addr_with_port_bad_family_test(struct kunit *test)
{
	struct sockaddr_storage ss = { .ss_family = AF_UNIX }, out;
	int ret;

	ret = dlm_lc_addr_with_port(&ss, TEST_PORT, &out);

	KUNIT_EXPECT_EQ(test, ret, -EAFNOSUPPORT);
}

/* What addr_list prints must be accepted by addr, to the same address. */
static void addr_format_round_trip_test(struct kunit *test)
{
	const struct addr_text_case *c = test->param_value;
	struct sockaddr_storage first, again;
	char out[INET6_ADDRSTRLEN];
	size_t printed;
	int len;

	KUNIT_ASSERT_EQ(test, dlm_lc_addr_parse(c->in, text_case_len(c), &first),
			0);

	len = dlm_lc_addr_format(&first, out, sizeof(out));
	printed = strlen(out);

	KUNIT_ASSERT_EQ(test, len, (int)printed);
	KUNIT_ASSERT_EQ(test, dlm_lc_addr_parse(out, len, &again), 0);
	KUNIT_EXPECT_TRUE(test, dlm_lc_addr_equal(&first, &again));
}

/* Like scnprintf, the result counts what fits, not what was wanted. */
static void addr_format_truncate_test(struct kunit *test)
{
	struct sockaddr_storage ss;
	char out[4];
	int len;

	addr_from(test, "192.0.2.1", 0, &ss);

	len = dlm_lc_addr_format(&ss, out, sizeof(out));

	KUNIT_EXPECT_EQ(test, len, 3);
	KUNIT_EXPECT_STREQ(test, out, "192");
}

static struct kunit_case dlm_lc_addr_cases[] = {
	KUNIT_CASE_PARAM(addr_parse_good_text_test, good_text_gen_params),
	KUNIT_CASE_PARAM(addr_parse_bad_text_test, bad_text_gen_params),
	KUNIT_CASE_PARAM(addr_parse_bin_test, bin_gen_params),
	KUNIT_CASE(addr_parse_bin_length_test),
	KUNIT_CASE(addr_parse_overlong_text_test),
	KUNIT_CASE_PARAM(addr_equal_test, equal_gen_params),
	KUNIT_CASE(addr_with_port_test),
	KUNIT_CASE(addr_with_port_in_place_test),
	KUNIT_CASE(addr_with_port_bad_family_test),
	KUNIT_CASE_PARAM(addr_format_round_trip_test, good_text_gen_params),
	KUNIT_CASE(addr_format_truncate_test),
	{}
};

static struct kunit_suite dlm_lc_addr_suite = {
	.name = "dlm_lc_addr",
	.test_cases = dlm_lc_addr_cases,
};

kunit_test_suites(&dlm_lc_addr_suite);
