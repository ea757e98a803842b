#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# qemu-run.sh <6.12|6.1> <guest-test> [args...]
#
# Builds dlm_lowcomms.ko against the matching Debian headers (sources copied
# to a temp dir), builds a busybox initramfs with the test, boots the Debian
# kernel under QEMU TCG (no network device: test traffic stays in the guest)
# and reports:
#   the guest's PASS:/FAIL:/INFO: lines
#   PASS|FAIL: qemu-<ver>: boot/finish (timeout after ${QEMU_TIMEOUT:-900}s)
#   PASS|FAIL: qemu-<ver>-kernel-splats
#   PASS|FAIL: qemu-<ver>-taint   (only O=4096 and E=8192 allowed, and W=512
#                                 after a QEMU_KNOWN_WARN)
# The console is in $DLM_LC_OUT/qemu-<ver>.log (see scripts/outdir.sh).
#
# Environment:
#   QEMU_TIMEOUT   hard limit in seconds (default 900)
#   DLM_LC_OUT     output dir
#   DLM_LC_SRC     module source dir (default: this repo)
#   DLM_LC_CACHE   kernel cache (see debian-kernel.sh)
#   QEMU_MEM, QEMU_SMP (1024, 2), QEMU_APPEND (extra kernel args)
#   QEMU_CPU       the -cpu model (default max,-cx16: see boot() below)
#   QEMU_VERBOSE=1 stream the whole console, not only result lines
#   MSGS SIZE DEMO GUEST_SH CLUSTER_* INTEROP_* BENCH_* RELOAD_* DLMSTACK_* LOCKBENCH_*
#                  passed into the guest test's
#                  environment
#   QEMU_NAME      tag for result lines and file names (default qemu-<ver>):
#                  console $DLM_LC_OUT/<name>.log, initramfs-<ver>[-<name>].cpio.gz
#   QEMU_MODULES   extra kernel modules (names, e.g. "dlm") to take from the
#                  Debian image with their dependencies (debian-kernel.sh)
#   QEMU_BINS      extra host programs for the initramfs (initramfs.sh -b)
#   QEMU_FILES     extra files for the initramfs's /extra (initramfs.sh -f)
#   QEMU_LIBS      extra shared objects at their host paths (initramfs.sh -l)
#   QEMU_NET       network options instead of "-nic none" (scripts/reload.sh
#                  links two guests with a socket netdev on host loopback)
#   QEMU_ARGS      more QEMU options (scripts/dlm-stack.sh: a shared disk)
#   QEMU_KNOWN_WARN  a string naming a known warning in the kernel's own code
#                  (e.g. "fs/dlm/requestqueue.c:47"): its reports do not
#                  fail the splat check and its W taint is allowed; said in
#                  an INFO line
#   QEMU_BOOT_STALL  seconds for the kernel to reach /init before a single
#                  guest is booted once more (240; the stalled console is
#                  kept as <log>.stalled)
# Exit status: 0 if there was no FAIL line.
set -uo pipefail

ver=${1:?usage: qemu-run.sh <6.12|6.1> <guest-test> [args...]}
test=${2:?usage: qemu-run.sh <6.12|6.1> <guest-test> [args...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/outdir.sh"
out=$DLM_LC_OUT
src=${DLM_LC_SRC:-$repo}
tmo=${QEMU_TIMEOUT:-900}
mkdir -p "$out"
tag=${QEMU_NAME:-qemu-$ver}
log=$out/$tag.log

[ -f "$test" ] || { [ -f "$repo/$test" ] && test=$repo/$test; }
[ -f "$test" ] || { echo "FAIL: $tag: no guest test $test"; exit 1; }
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "FAIL: $tag: qemu-system-x86_64 missing (apt-get install qemu-system-x86)"; exit 1; }

# shellcheck disable=SC2086
kdir=$("$here/debian-kernel.sh" "$ver" ${QEMU_MODULES:-} | tail -n1) || { echo "FAIL: $tag: kernel prep"; exit 1; }
# shellcheck disable=SC1091
. "$kdir/env"

build=$(mktemp -d /tmp/dlm_lc_build.XXXXXX)
trap 'rm -rf "$build"' EXIT
# Sources only: in-tree build products may be for the other kernel.
tar -C "$src" --exclude=.git --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.a' --exclude=Module.symvers \
	--exclude=modules.order --exclude=.tmp_versions -cf - . | tar -C "$build" -xf -
echo "INFO: $tag: building module against ${CHROOT:-}$HEADERS"
blog=$out/build-$ver${QEMU_NAME:+-$QEMU_NAME}.log
if [ -n "${CHROOT:-}" ]; then
	# 7.x: kbuild of those headers runs in the sid chroot (sid-chroot.sh)
	inbuild=$(mktemp -d "$CHROOT/tmp/dlm_lc_build.XXXXXX") ||
		{ echo "FAIL: $tag: mktemp in $CHROOT/tmp"; exit 1; }
	cp -a "$build"/. "$inbuild"/
	unshare --mount-proc="$CHROOT/proc" chroot "$CHROOT" \
		/usr/bin/env -i PATH=/usr/bin:/bin \
		make -C "$HEADERS" M="/tmp/${inbuild##*/}" modules >"$blog" 2>&1
	brc=$?
	cp "$inbuild"/*.ko "$build"/ 2>/dev/null
	rm -rf "$inbuild"
else
	make -C "$HEADERS" M="$build" modules >"$blog" 2>&1
	brc=$?
fi
if [ $brc -ne 0 ]; then
	echo "FAIL: $tag: module build failed (see $out/build-$ver${QEMU_NAME:+-$QEMU_NAME}.log)"
	grep -E 'error|Error' "$out/build-$ver${QEMU_NAME:+-$QEMU_NAME}.log" | head -n 20 | sed 's/^/  /'
	exit 1
fi
[ -f "$build/dlm_lowcomms.ko" ] || { echo "FAIL: $tag: no dlm_lowcomms.ko built"; exit 1; }

envargs=()
for v in $(compgen -e | grep -E '^(MSGS|SIZE|DEMO|GUEST_SH|CLUSTER_[A-Z0-9_]+|INTEROP_[A-Z0-9_]+|BENCH_[A-Z0-9_]+|RELOAD_[A-Z0-9_]+|DLMSTACK_[A-Z0-9_]+|LOCKBENCH_[A-Z0-9_]+)$'); do
	envargs+=(-e "$v=${!v}")
done
for b in ${QEMU_BINS:-}; do
	envargs+=(-b "$b")
done
for f in ${QEMU_FILES:-}; do
	envargs+=(-f "$f")
done
for l in ${QEMU_LIBS:-}; do
	envargs+=(-l "$l")
done
if [ -n "${QEMU_NAME:-}" ]; then
	initrd=$out/initramfs-$ver-$QEMU_NAME.cpio.gz
else
	initrd=$out/initramfs-$ver.cpio.gz
fi
"$here/initramfs.sh" -o "$initrd" -M "$MODDIR" -k "$build/dlm_lowcomms.ko" \
	-t "$test" "${envargs[@]}" -- "$@" >/dev/null ||
	{ echo "FAIL: $tag: initramfs build failed"; exit 1; }

echo "INFO: $tag: booting $ABI (TCG, timeout ${tmo}s), console in $log"
filter() {
	if [ "${QEMU_VERBOSE:-0}" = 1 ]; then
		cat
	else
		grep --line-buffered -E '^(PASS|FAIL|INFO|SKIP):'
	fi
}
net=(-nic none)
[ -n "${QEMU_NET:-}" ] && read -ra net <<<"$QEMU_NET"
extra=()
[ -n "${QEMU_ARGS:-}" ] && read -ra extra <<<"$QEMU_ARGS"
# The guest CPU has no CMPXCHG16B: QEMU 7.2's TCG (Debian 12's) computes
# that instruction's flags from a stale flag state and, after a SYSRET or
# IRET, can leave a data register in RFLAGS. Linux 6.1 and 6.12 run it in
# SLUB's per-CPU fast path; an interrupt after a failed attempt then
# pushes and restores those flags and the guest dies of a double fault
# (seen twice in one CI run, 6.12). Without CX16 the kernel never runs the
# instruction: 6.1/6.12 emulate the per-CPU operation with interrupts off
# and every kernel takes SLUB's slab-locked path for its per-slab one
# (7.2's kmalloc_nolock() then fails for non-debug caches; nothing of ours
# uses it). tests/tools/cx16_flags.c shows the bug; scripts/tcg-check.sh
# runs it under both CPU models.
boot() {	# the guest's exit status goes to $log.rc
	timeout -k 10 "$tmo" qemu-system-x86_64 \
		-accel tcg,thread=multi -cpu "${QEMU_CPU:-max,-cx16}" -m "${QEMU_MEM:-1024}" -smp "${QEMU_SMP:-2}" \
		-nographic -no-reboot "${net[@]}" ${extra[@]+"${extra[@]}"} \
		-kernel "$VMLINUZ" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 rdinit=/init ${QEMU_APPEND:-}" </dev/null 2>&1 |
		tr -d '\r' | tee "$log" | filter
	echo "${PIPESTATUS[0]}" >"$log.rc"
}
# A guest kernel that stalls or dies before /init is booted once more:
# nothing of ours has run yet (seen: 7.3-rc7 under TCG spinning on both
# vCPUs in PCI enumeration; 6.12 oopsing on an int3 in sched_clock_cpu
# during boot-time code patching, TCG with two vCPUs). Not for linked
# guests (QEMU_NET): the peer's link would not come back.
stall=${QEMU_BOOT_STALL:-240}
rm -f "$log.stalled"
t0=$(date +%s.%N)
for try in 1 2; do
	rm -f "$log.rc"
	boot &
	bpid=$!
	waited=0
	while kill -0 "$bpid" 2>/dev/null; do
		grep -q '^INIT: kernel' "$log" 2>/dev/null && break
		if [ "$waited" -ge "$stall" ] && [ -z "${QEMU_NET:-}" ] && [ "$try" = 1 ]; then
			echo "INFO: $tag: no /init after ${stall}s, booting again (last console line: $(tail -n1 "$log" | cut -c1-100))"
			cp "$log" "$log.stalled"
			pkill -f -- "-initrd $initrd " 2>/dev/null
			break
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait "$bpid"
	grep -q '^INIT: kernel' "$log" 2>/dev/null && break
	[ "$try" = 1 ] && [ -z "${QEMU_NET:-}" ] || break
	if [ ! -f "$log.stalled" ]; then
		echo "INFO: $tag: the kernel ended before /init, booting again (last console line: $(tail -n1 "$log" | cut -c1-100))"
		cp "$log" "$log.stalled"
	fi
done
rc=$(cat "$log.rc" 2>/dev/null || echo 1)
rm -f "$log.rc"
t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')

fails=0
up=$(sed -n 's/^INIT: kernel .* up at \([0-9.]*\)s$/\1/p' "$log" | head -n1)
echo "INFO: $tag: kernel $ABI reached /init at ${up:-?}s guest time; qemu ran ${wall}s wall"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "FAIL: $tag: timeout"
	fails=$((fails + 1))
elif ! grep -q '^INIT: done' "$log"; then
	echo "FAIL: $tag: guest did not finish (qemu rc $rc)"
	tail -n 20 "$log" | sed 's/^/  /'
	fails=$((fails + 1))
else
	echo "PASS: $tag"
fi

splat='WARNING:|BUG:|Call Trace|general protection|Oops|Kernel panic|refcount_t:|UBSAN:|KASAN:'
# QEMU_KNOWN_WARN: a warning in the kernel's own code that the caller
# names (a stock module's known bug); its whole report, from "cut here" to
# "end trace", is set aside and said, and the W taint it leaves is allowed
checked=$log
known=0
if [ -n "${QEMU_KNOWN_WARN:-}" ]; then
	checked=$log.checked
	awk -v k="$QEMU_KNOWN_WARN" -v out="$checked" -v kn="$log.known" '
		function flush() { if (n) { dst = hit ? kn : out; for (i = 1; i <= n; i++) print b[i] > dst }; n = 0; hit = 0 }
		/-+\[ cut here \]-+/ { flush(); inblk = 1 }
		inblk { b[++n] = $0; if (index($0, k)) hit = 1; if ($0 ~ /---\[ end trace/) { flush(); inblk = 0 }; next }
		{ print > out }
		END { flush(); printf "" > kn }' "$log"
	known=$(grep -c 'WARNING:' "$log.known")
	[ "$known" = 0 ] ||
		echo "INFO: $tag: $known known warning(s) set aside ($QEMU_KNOWN_WARN): $(grep -m1 -B1 'WARNING:' "$log.known" | head -n1 | sed 's/^\[[ 0-9.]*\] //')"
fi
if grep -Eq "$splat" "$checked"; then
	echo "FAIL: $tag-kernel-splats"
	grep -En -B2 -A12 "$splat" "$checked" | head -n 80 | sed 's/^/  /'
	fails=$((fails + 1))
else
	echo "PASS: $tag-kernel-splats"
fi

# O (4096) and E (8192): our unsigned module; W (512) only after a known warning
ok_taint=$((4096 | 8192))
[ "$known" = 0 ] || ok_taint=$((ok_taint | 512))
taint=$(sed -n 's/^TAINTED: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
if [ -z "$taint" ]; then
	echo "FAIL: $tag-taint: no TAINTED line"
	fails=$((fails + 1))
elif [ $((taint & ~ok_taint)) -ne 0 ]; then
	echo "FAIL: $tag-taint: tainted=$taint (bits beyond O/E$([ "$known" = 0 ] || echo /W): $((taint & ~ok_taint)))"
	fails=$((fails + 1))
else
	echo "PASS: $tag-taint ($taint)"
fi

guestfails=$(grep -c '^FAIL:' "$log")
[ "$fails" -eq 0 ] && [ "$guestfails" -eq 0 ]
