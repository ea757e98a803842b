/* SPDX-License-Identifier: GPL-2.0-only */
/* Differences between the kernels dlm_lowcomms builds on, in one place. */
#ifndef DLM_LC_COMPAT_H
#define DLM_LC_COMPAT_H

#include <linux/version.h>
#include <net/sock.h>
#include <kunit/visibility.h>

/*
 * The drop-in dlm.ko exports nothing of ours, not even the KUnit-only
 * symbols on a kernel built with KUnit, so that it and dlm_lowcomms.ko
 * never clash over a name.
 */
#ifdef DLM_LC_DROPIN
#undef EXPORT_SYMBOL_IF_KUNIT
#define EXPORT_SYMBOL_IF_KUNIT(symbol) static_assert(__same_type(symbol, symbol))
#endif

/*
 * MSG_SPLICE_PAGES senders replaced kernel_sendpage in 6.5. A version, not
 * a feature test: Debian's 6.1 defines the flag too, beside a TCP that
 * still has sendpage.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define DLM_LC_HAVE_SPLICE_PAGES 1
#endif

/* MODULE_IMPORT_NS takes a string literal from 6.13 on (Kbuild tests). */
#ifdef DLM_LC_HAVE_IMPORT_NS_STRING
#define DLM_LC_IMPORT_KUNIT_NS() MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING")
#else
#define DLM_LC_IMPORT_KUNIT_NS() MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING)
#endif

/* the address argument of kernel_bind() and kernel_connect() */
#ifdef DLM_LC_HAVE_SOCKADDR_UNSIZED
#define dlm_lc_sa(ss) ((struct sockaddr_unsized *)(ss))
#else
#define dlm_lc_sa(ss) ((struct sockaddr *)(ss))
#endif

/* an unbound system queue for our timers' work (system_wq is per-cpu) */
#ifdef DLM_LC_HAVE_SYSTEM_DFL_WQ
#define dlm_lc_system_wq system_dfl_wq
#else
#define dlm_lc_system_wq system_unbound_wq
#endif

/* configfs ops tables: const where config_item_type takes them so */
#ifdef DLM_LC_HAVE_CONST_CFS_OPS
#define dlm_lc_cfs_ops const
#else
#define dlm_lc_cfs_ops
#endif

/* for the KUnit suites: slow cases are marked only where KUnit knows it */
#ifndef KUNIT_CASE_SLOW
#define KUNIT_CASE_SLOW(test_name) KUNIT_CASE(test_name)
#endif

static inline void dlm_lc_sock_no_task_frag(struct sock *sk)
{
#ifdef DLM_LC_HAVE_TASK_FRAG
	/* Our sends may run in reclaim: never use current's page frag. */
	sk->sk_use_task_frag = false;
#endif
}

#endif /* DLM_LC_COMPAT_H */
