// SPDX-License-Identifier: GPL-2.0-only
/*
 * The KUnit module: every suite under tests/ links into it.
 */

#include <linux/module.h>

#include "compat.h"

MODULE_DESCRIPTION("KUnit suites for dlm_lowcomms");
MODULE_LICENSE("GPL");
DLM_LC_IMPORT_KUNIT_NS();
