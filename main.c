// SPDX-License-Identifier: GPL-2.0-only
/*
 * dlm_lowcomms: DLM's parallel lowcomms transport as a loadable module.
 * This file only sequences module init and exit.
 */

#include <linux/module.h>
#include <net/net_namespace.h>

#include "configfs.h"
#include "lowcomms.h"

static void __net_exit dlm_lc_pernet_exit(struct net *net)
{
	dlm_lc_net_exit(net);
}

/* pre_exit: close our sockets while the namespace's devices still exist */
static struct pernet_operations dlm_lc_pernet_ops = {
	.pre_exit = dlm_lc_pernet_exit,
};

static int __init dlm_lc_init(void)
{
	int ret;

	ret = dlm_lc_workqueues_init();
	if (ret)
		return ret;

	ret = register_pernet_subsys(&dlm_lc_pernet_ops);
	if (ret)
		goto out_workqueues;

	ret = dlm_lc_configfs_init();
	if (ret)
		goto out_pernet;

	pr_info("version %s loaded\n", DLM_LC_VERSION);
	return 0;

out_pernet:
	unregister_pernet_subsys(&dlm_lc_pernet_ops);
out_workqueues:
	dlm_lc_workqueues_exit();
	return ret;
}

static void __exit dlm_lc_exit(void)
{
	dlm_lc_configfs_exit();
	unregister_pernet_subsys(&dlm_lc_pernet_ops);
	dlm_lc_workqueues_exit();
	/* kfree_rcu() callbacks of ours must not outlive the module */
	rcu_barrier();
}

module_init(dlm_lc_init);
module_exit(dlm_lc_exit);

MODULE_DESCRIPTION("DLM parallel lowcomms transport, loadable and testable");
MODULE_LICENSE("GPL");
MODULE_VERSION(DLM_LC_VERSION);
