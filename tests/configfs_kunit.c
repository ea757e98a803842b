// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the value parsers behind the configfs attributes: each
 * bad write must fail with the documented errno and leave the result
 * untouched, each good one must yield exactly the value written.
 */

#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "configfs.h"
#include "lowcomms.h"
#include "midcomms_shim.h"

/* Not a value any table expects on success, so an overwrite shows. */
#define UNTOUCHED	12345u

/* Cases carry a length so that one of them can hide a NUL. */
struct cfs_case {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	int ret;
	unsigned int a;		/* the value, or the count of ping/bulk */
	unsigned int b;		/* timeout_ms of ping, size of bulk */
	unsigned int c;		/* flags of bulk */
};

static size_t case_len(const struct cfs_case *c)
{
	return c->len ? c->len : strlen(c->in);
}

/* Escaped, because a raw newline would break the KTAP output. */
static void case_desc(const struct cfs_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "\"%*pE\"", (int)case_len(c),
		 c->in);
}

static const struct cfs_case port_cases[] = {
	{ .in = "1", .a = 1 },
	{ .in = "21064", .a = 21064 },
	{ .in = "21064\n", .a = 21064 },
	{ .in = "65535", .a = 65535 },
	{ .in = "0", .ret = -EINVAL },
	{ .in = "65536", .ret = -EINVAL },
	{ .in = "abc", .ret = -EINVAL },
	{ .in = "", .ret = -EINVAL },
	{ .in = "\n", .ret = -EINVAL },
	{ .in = "-1", .ret = -EINVAL },
	{ .in = "0x10", .ret = -EINVAL },
	{ .in = "80 ", .ret = -EINVAL },
	{ .in = "80\n\n", .ret = -EINVAL },
	{ .in = "80\0x", .len = 4, .ret = -EINVAL },
	{ .in = "4294967296", .ret = -EINVAL },
	{ .in = "000000000000000000000000000000000080", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(port, port_cases, case_desc);

static const struct cfs_case bufsize_cases[] = {
	{ .in = "4096", .a = DLM_LC_BUFSIZE_MIN },
	{ .in = "65536\n", .a = 65536 },
	{ .in = "1048576", .a = DLM_LC_BUFSIZE_MAX },
	{ .in = "4095", .ret = -EINVAL },
	{ .in = "1048577", .ret = -EINVAL },
	{ .in = "0", .ret = -EINVAL },
	{ .in = "64k", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(bufsize, bufsize_cases, case_desc);

static const struct cfs_case mark_cases[] = {
	{ .in = "0", .a = 0 },
	{ .in = "42\n", .a = 42 },
	{ .in = "4294967295", .a = 4294967295u },
	{ .in = "4294967296", .ret = -EINVAL },
	{ .in = "-1", .ret = -EINVAL },
	{ .in = "mark", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(mark, mark_cases, case_desc);

static const struct cfs_case nodeid_cases[] = {
	{ .in = "1", .a = 1 },
	{ .in = "7\n", .a = 7 },
	{ .in = "2147483647", .a = 2147483647 },
	{ .in = "0", .ret = -EINVAL },
	{ .in = "-3", .ret = -EINVAL },
	{ .in = "2147483648", .ret = -EINVAL },
	{ .in = "node1", .ret = -EINVAL },
	{ .in = "", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(nodeid, nodeid_cases, case_desc);

/* Only TCP exists; SCTP is known, so it gets its own errno. */
static const struct cfs_case proto_cases[] = {
	{ .in = "tcp", .a = DLM_LC_PROTO_TCP },
	{ .in = "tcp\n", .a = DLM_LC_PROTO_TCP },
	{ .in = "0", .a = DLM_LC_PROTO_TCP },
	{ .in = "sctp", .ret = -EPROTONOSUPPORT },
	{ .in = "sctp\n", .ret = -EPROTONOSUPPORT },
	{ .in = "1", .ret = -EPROTONOSUPPORT },
	{ .in = "TCP", .ret = -EINVAL },
	{ .in = "udp", .ret = -EINVAL },
	{ .in = "2", .ret = -EINVAL },
	{ .in = "tcp6", .ret = -EINVAL },
	{ .in = "", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(proto, proto_cases, case_desc);

/* a: 1 for start, 0 for stop */
static const struct cfs_case control_cases[] = {
	{ .in = "start", .a = 1 },
	{ .in = "start\n", .a = 1 },
	{ .in = "1", .a = 1 },
	{ .in = "stop", .a = 0 },
	{ .in = "stop\n", .a = 0 },
	{ .in = "0", .a = 0 },
	{ .in = "restart", .ret = -EINVAL },
	{ .in = "running", .ret = -EINVAL },
	{ .in = "2", .ret = -EINVAL },
	{ .in = "star", .ret = -EINVAL },
	{ .in = "", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(control, control_cases, case_desc);

static const struct cfs_case version_cases[] = {
	{ .in = "3.1", .a = DLM_LC_VERSION_3_1 },
	{ .in = "3.2", .a = DLM_LC_VERSION_3_2 },
	{ .in = "3.2\n", .a = DLM_LC_VERSION_3_2 },
	{ .in = "3.3", .ret = -EINVAL },
	{ .in = "3", .ret = -EINVAL },
	{ .in = "32", .ret = -EINVAL },
	{ .in = "3.2 ", .ret = -EINVAL },
	{ .in = "0x00030002", .ret = -EINVAL },
	{ .in = "", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(version, version_cases, case_desc);

static const struct cfs_case bool_cases[] = {
	{ .in = "0", .a = 0 },
	{ .in = "1", .a = 1 },
	{ .in = "1\n", .a = 1 },
	{ .in = "2", .ret = -EINVAL },
	{ .in = "yes", .ret = -EINVAL },
	{ .in = "01", .ret = -EINVAL },
	{ .in = "", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(bool01, bool_cases, case_desc);

static const struct cfs_case ping_cases[] = {
	{ .in = "5", .a = 5, .b = DLM_LC_CFS_PING_TIMEOUT_MS },
	{ .in = "5\n", .a = 5, .b = DLM_LC_CFS_PING_TIMEOUT_MS },
	{ .in = "5 250", .a = 5, .b = 250 },
	{ .in = "5 250\n", .a = 5, .b = 250 },
	{ .in = " 5\t 250 ", .a = 5, .b = 250 },
	{ .in = "0", .ret = -EINVAL },
	{ .in = "5 0", .ret = -EINVAL },
	{ .in = "5 250 1", .ret = -EINVAL },
	{ .in = "5,250", .ret = -EINVAL },
	{ .in = "5 x", .ret = -EINVAL },
	{ .in = "-5", .ret = -EINVAL },
	{ .in = "abc", .ret = -EINVAL },
	{ .in = "", .ret = -EINVAL },
	{ .in = " \t ", .ret = -EINVAL },
	{ .in = "4294967296 1", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(ping, ping_cases, case_desc);

static const struct cfs_case bulk_cases[] = {
	{ .in = "10 88", .a = 10, .b = DLM_LC_MSG_MIN },
	{ .in = "10 87", .ret = -EINVAL },
	{ .in = "10 40", .ret = -EINVAL },
	{ .in = "10 40 1", .a = 10, .b = DLM_LC_BULK_MIN,
	  .c = DLM_LC_BULK_SHORT },
	{ .in = "10 4096", .a = 10, .b = DLM_LC_MAX_MSG },
	{ .in = "1000 1000\n", .a = 1000, .b = 1000 },
	{ .in = "10 39 1", .ret = -EINVAL },
	{ .in = "10 4097", .ret = -EINVAL },
	{ .in = "0 100", .ret = -EINVAL },
	{ .in = "10", .ret = -EINVAL },
	{ .in = "10 64 1", .a = 10, .b = 64, .c = DLM_LC_BULK_SHORT },
	{ .in = "10 100 0\n", .a = 10, .b = 100 },
	{ .in = "10 100 2", .ret = -EINVAL },
	{ .in = "10 100 1 1", .ret = -EINVAL },
	{ .in = "10 -100", .ret = -EINVAL },
	{ .in = "ten 100", .ret = -EINVAL },
	{ .in = "10 100\0x", .len = 8, .ret = -EINVAL },
	{ .in = "", .ret = -EINVAL },
};

KUNIT_ARRAY_PARAM(bulk, bulk_cases, case_desc);

static void cfs_port_test(struct kunit *test)
{
	const struct cfs_case *c = test->param_value;
	unsigned int port = UNTOUCHED;
	int ret;

	ret = dlm_lc_cfs_parse_port(c->in, case_len(c), &port);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_EQ(test, port, ret ? UNTOUCHED : c->a);
}

static void cfs_bufsize_test(struct kunit *test)
{
	const struct cfs_case *c = test->param_value;
	unsigned int size = UNTOUCHED;
	int ret;

	ret = dlm_lc_cfs_parse_bufsize(c->in, case_len(c), &size);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_EQ(test, size, ret ? UNTOUCHED : c->a);
}

static void cfs_mark_test(struct kunit *test)
{
	const struct cfs_case *c = test->param_value;
	u32 mark = UNTOUCHED;
	int ret;

	ret = dlm_lc_cfs_parse_mark(c->in, case_len(c), &mark);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_EQ(test, mark, ret ? UNTOUCHED : c->a);
}

static void cfs_nodeid_test(struct kunit *test)
{
	const struct cfs_case *c = test->param_value;
	int nodeid = -1;
	int ret;

	ret = dlm_lc_cfs_parse_nodeid(c->in, case_len(c), &nodeid);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_EQ(test, nodeid, ret ? -1 : (int)c->a);
}

static void cfs_proto_test(struct kunit *test)
{
	const struct cfs_case *c = test->param_value;
	int proto = -1;
	int ret;

	ret = dlm_lc_cfs_parse_proto(c->in, case_len(c), &proto);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_EQ(test, proto, ret ? -1 : (int)c->a);
}

/* Start the output at the opposite answer, so a no-op cannot pass. */
static void cfs_control_test(struct kunit *test)
{
	const struct cfs_case *c = test->param_value;
	bool start = !c->a;
	int ret;

	ret = dlm_lc_cfs_parse_control(c->in, case_len(c), &start);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_EQ(test, start, ret ? !c->a : !!c->a);
}

static void cfs_version_test(struct kunit *test)
{
	const struct cfs_case *c = test->param_value;
	u32 version = 0xdead;
	int ret;

	ret = dlm_lc_cfs_parse_version(c->in, case_len(c), &version);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_EQ(test, version, ret ? 0xdead : c->a);
}

static void cfs_bool_test(struct kunit *test)
{
	const struct cfs_case *c = test->param_value;
	bool val = !c->a;
	int ret;

	ret = dlm_lc_cfs_parse_bool(c->in, case_len(c), &val);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_EQ(test, val, ret ? !c->a : !!c->a);
}

static void cfs_ping_test(struct kunit *test)
{
	const struct cfs_case *c = test->param_value;
	unsigned int count = UNTOUCHED, timeout_ms = UNTOUCHED;
	int ret;

	ret = dlm_lc_cfs_parse_ping(c->in, case_len(c), &count, &timeout_ms);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_EQ(test, count, ret ? UNTOUCHED : c->a);
	KUNIT_EXPECT_EQ(test, timeout_ms, ret ? UNTOUCHED : c->b);
}

static void cfs_bulk_test(struct kunit *test)
{
	const struct cfs_case *c = test->param_value;
	unsigned int count = UNTOUCHED, size = UNTOUCHED, flags = UNTOUCHED;
	int ret;

	ret = dlm_lc_cfs_parse_bulk(c->in, case_len(c), &count, &size,
				    &flags);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	KUNIT_EXPECT_EQ(test, count, ret ? UNTOUCHED : c->a);
	KUNIT_EXPECT_EQ(test, size, ret ? UNTOUCHED : c->b);
	KUNIT_EXPECT_EQ(test, flags, ret ? UNTOUCHED : c->c);
}

/* The spec's ranges, pinned so a change to lowcomms.h is noticed here. */
static void cfs_limits_test(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, DLM_LC_BUFSIZE_MIN, 4096);
	KUNIT_EXPECT_EQ(test, DLM_LC_BUFSIZE_MAX, 1048576);
	KUNIT_EXPECT_EQ(test, DLM_LC_BULK_MIN, 40);
	KUNIT_EXPECT_EQ(test, DLM_LC_MAX_MSG, 4096);
}

static struct kunit_case dlm_lc_cfs_cases[] = {
	KUNIT_CASE_PARAM(cfs_port_test, port_gen_params),
	KUNIT_CASE_PARAM(cfs_bufsize_test, bufsize_gen_params),
	KUNIT_CASE_PARAM(cfs_mark_test, mark_gen_params),
	KUNIT_CASE_PARAM(cfs_nodeid_test, nodeid_gen_params),
	KUNIT_CASE_PARAM(cfs_proto_test, proto_gen_params),
	KUNIT_CASE_PARAM(cfs_control_test, control_gen_params),
	KUNIT_CASE_PARAM(cfs_version_test, version_gen_params),
	KUNIT_CASE_PARAM(cfs_bool_test, bool01_gen_params),
	KUNIT_CASE_PARAM(cfs_ping_test, ping_gen_params),
	KUNIT_CASE_PARAM(cfs_bulk_test, bulk_gen_params),
	KUNIT_CASE(cfs_limits_test),
	{}
};

static struct kunit_suite dlm_lc_cfs_suite = {
	.name = "dlm_lc_configfs",
	.test_cases = dlm_lc_cfs_cases,
};

kunit_test_suites(&dlm_lc_cfs_suite);
