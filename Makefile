# SPDX-License-Identifier: GPL-2.0-only
# dlm_lowcomms: see README.md. The kernel build itself is driven by Kbuild.

KVER ?= $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1 | sed 's|.*/linux-headers-||')
KDIR ?= /usr/src/linux-headers-$(KVER)

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

.PHONY: all modules clean
