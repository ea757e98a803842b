# SPDX-License-Identifier: GPL-2.0-only
# dlm_lowcomms: see README.md. The kernel build itself is driven by Kbuild.

# The running kernel's build tree if it has one (a real node), otherwise
# the newest installed Debian amd64 headers (the build machine).
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	  $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1))

all: modules

# Build against installed headers (default: the newest Debian amd64 ones).
modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

# A 3-node cluster in a Debian 6.12 kernel under QEMU: pings, throughput.
demo:
	bash scripts/deps.sh
	bash scripts/demo.sh

# The benchmark rows (stock vs ours, parallel vs serialized, bulk vs TCP,
# 64 instances, a soak): one table, CSV and plots (scripts/bench.sh).
bench:
	bash scripts/bench.sh

# Receive-path fuzzer under KASAN; FUZZ_INPUTS=N for a longer run.
fuzz:
	bash scripts/fuzz.sh

# Fault suite: resets, netem, link flaps, restarts, module reload.
# FAULT_MSGS=N FAULT_REPEAT=N RELOAD_MSGS=N for a longer run.
faults:
	bash scripts/faults.sh

# Teardown under traffic with the delay knobs, 1,000 cycles of each case
# (make check runs 30/10/10); TEARDOWN_CYCLES=N TEARDOWN_NS=N TEARDOWN_RELOADS=N,
# TEARDOWN_CASES="restart node" (any of restart node netns reload).
teardown:
	TEARDOWN_CYCLES=$${TEARDOWN_CYCLES:-1000} UML_TIMEOUT=$${UML_TIMEOUT:-10800} \
		TEARDOWN_SECS=$${TEARDOWN_SECS:-5000} bash scripts/uml-test.sh teardown

# A hostile peer next to a healthy one; `make hostile VM=qemu-6.12` for SMP.
hostile:
	bash scripts/hostile.sh $${VM:-uml}

# The drop-in: your kernel's own fs/dlm rebuilt with this transport, as
# dlm.ko (scripts/dlm-ko.sh); KVER="KREL ..." for chosen kernels.
dlm-ko:
	bash scripts/dlm-ko.sh $(KVER)

# DKMS builds and installs the drop-in into scratch trees (never this
# machine's /lib/modules).
dkms-test:
	bash scripts/dkms-test.sh $(KVER)

# The real stack (corosync, dlm_controld, libdlm) on two QEMU guests:
# STACK_VER=6.12|6.1, STACK_MODE=ours|stock|mixed.
dlm-stack:
	bash scripts/dlm-stack.sh $${STACK_VER:-6.12} $${STACK_MODE:-ours}

# The same stack in two debug UML kernels (lockdep, KASAN, kmemleak):
# UMLSTACK_ROUNDS, UMLSTACK_RESTART=1.
uml-stack:
	bash scripts/uml-stack.sh

# The kernel's own dlm.ko against our drop-in under RCOM_STATUS floods from
# 1, 4 and 8 clients, back to back in QEMU: STACK_VER=6.12|6.1.
dropin-bench:
	bash scripts/interop-bench.sh $${STACK_VER:-6.12}

# Lock round trips to remote masters under corosync and dlm_controld, the
# kernel's own dlm.ko and our drop-in in turn in one boot: STACK_VER.
lock-bench:
	bash scripts/dlm-stack.sh $${STACK_VER:-6.12} bench

# Every test; the last line reads "N passed, N failed".
check:
	bash scripts/check.sh

# make check, then what is too long for CI: the KUnit suites in a debug UML
# kernel built from sid's linux-source-7.2 (a second kernel build).
check-all:
	CHECK_STEPS="$${CHECK_STEPS:-$$(bash scripts/check.sh --steps) kunit-7.2}" \
		bash scripts/check.sh

# Fast inner loop: W=1 + sparse on 6.1 and 6.12, checkpatch, KUnit in UML.
quick:
	CHECK_STEPS="build checkpatch kunit" bash scripts/check.sh

kunit:
	CHECK_STEPS="kunit" bash scripts/check.sh

.PHONY: all modules clean demo bench fuzz faults teardown hostile dlm-ko \
	dkms-test dlm-stack uml-stack dropin-bench lock-bench check check-all quick kunit
