# SPDX-License-Identifier: GPL-2.0-only
dlm_lc_features := -DDLM_LC_VERSION='"1.1"'

# Kernel differences by feature test, not version: $(call have,WORD,HEADER)
# is y if include/HEADER of the kernel we build against has WORD.
have = $(shell grep -s -q -w -F '$(1)' $(srctree)/include/$(2) && echo y)

# sk_use_task_frag appeared in 6.2 and was backported to some 6.1 trees.
ifeq ($(call have,sk_use_task_frag,net/sock.h),y)
dlm_lc_features += -DDLM_LC_HAVE_TASK_FRAG
endif
# kernel_bind()/kernel_connect() take struct sockaddr_unsized (7.x).
ifeq ($(call have,sockaddr_unsized,linux/net.h),y)
dlm_lc_features += -DDLM_LC_HAVE_SOCKADDR_UNSIZED
endif
# KUnit's deferred actions (6.4 on; the suites' compile check on 6.1).
ifeq ($(call have,kunit_add_action,kunit/resource.h),y)
dlm_lc_features += -DDLM_LC_HAVE_KUNIT_ACTIONS
endif
# configfs takes its ops tables const (7.x).
ifeq ($(call have,const struct configfs_item_operations,linux/configfs.h),y)
dlm_lc_features += -DDLM_LC_HAVE_CONST_CFS_OPS
endif
# MODULE_IMPORT_NS takes a string literal (6.13 on).
ifeq ($(call have,MODULE_INFO(import_ns, ns),linux/module.h),y)
dlm_lc_features += -DDLM_LC_HAVE_IMPORT_NS_STRING
endif
# system_wq is deprecated in favour of system_percpu_wq/system_dfl_wq
# (7.x; 6.12.117 has them too).
ifeq ($(call have,system_dfl_wq,linux/workqueue.h),y)
dlm_lc_features += -DDLM_LC_HAVE_SYSTEM_DFL_WQ
endif
