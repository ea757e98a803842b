#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The hostile-peer scenario (tests/hostile.sh): a healthy peer's rate
# before, during and after a hostile peer's cases; it must be back within
# a few seconds once the hostile peer is gone, and nothing may spin.
#
# usage: scripts/hostile.sh [uml|qemu-6.12|qemu-6.1] [module source dir]
#   uml        (default) the debug UML kernel (lockdep, KASAN, kmemleak);
#              tests/hostile.sh is the guest's init itself, so
#              scripts/guest-uml.sh needs no new mode
#   qemu-6.12  Debian's own kernel under QEMU (2 vCPUs, scripts/qemu-run.sh):
#              the SMP setting the slowdown was first seen in
# env: HOSTILE_SLICE HOSTILE_AFTER HOSTILE_CASES (comma separated)
#      HOSTILE_INFLIGHT HOSTILE_NOREAD HOSTILE_CONNS HOSTILE_DEBUG HOSTILE_FLOOD_SLICE
#      HOSTILE_NICE (default -10), DLM_LC_OUT, UML_TIMEOUT, QEMU_TIMEOUT
# Prints one PASS:/FAIL: line per case (hostile.<case>); exit 1 on any FAIL.
# The numbers (rates per phase, CPU, node 2's status, traces) also go to
# $DLM_LC_OUT/hostile-numbers[-<vm>].txt.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM=uml
case ${1:-} in uml|qemu-*) VM=$1; shift ;; esac
SRC=$(readlink -f "${1:-${DLM_LC_SRC:-$HERE/..}}")
if [ -f "$HERE/outdir.sh" ]; then
	. "$HERE/outdir.sh"
fi
OUT=${DLM_LC_OUT:-/tmp/dlm_lc_out}
export DLM_LC_OUT=$OUT
mkdir -p "$OUT"

"$HERE/deps.sh" >&2 || { echo "FAIL: hostile-deps"; exit 1; }
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dlm_lc_hostile.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# the flooder, static: the same binary runs in UML (hostfs) and QEMU
if ! gcc -static -O2 -Wall -Wextra -o "$SCRATCH/dlm_flood" "$SRC/tests/tools/dlm_flood.c" \
	>"$OUT/hostile-tool-build.log" 2>&1; then
	echo "FAIL: hostile-tool-build: see $OUT/hostile-tool-build.log"
	exit 1
fi
echo "PASS: hostile-tool-build"

vars="HOSTILE_SLICE HOSTILE_AFTER HOSTILE_CASES HOSTILE_INFLIGHT HOSTILE_NOREAD HOSTILE_CONNS HOSTILE_DEBUG HOSTILE_FLOOD_SLICE"
# Rates are ratios within one run, but other guests on the same cores
# shift them by 2x within a minute: the guest runs at a higher priority
# (HOSTILE_NICE, default -10; 0 to leave it) so that the host's load
# matters less.
nice=()
if [ "${HOSTILE_NICE:--10}" != 0 ] && [ "$(id -u)" = 0 ]; then
	nice=(nice -n "${HOSTILE_NICE:--10}")
fi

case $VM in
uml)
	mkdir -p "$SCRATCH/uml"
	if ! "$HERE/uml-module.sh" "$SRC" "$SCRATCH/uml" "$OUT/uml-hostile-build.log"; then
		echo "FAIL: hostile-module-build: see $OUT/uml-hostile-build.log"
		exit 1
	fi
	echo "PASS: hostile-module-build"
	cp "$SCRATCH/dlm_flood" "$SCRATCH/uml/"
	env=
	for v in $vars; do
		[ -n "${!v:-}" ] && env="$env $v=${!v// /,}"
	done
	LOG=$OUT/uml-hostile.log
	UML_ENV=$env UML_TAG=uml-hostile UML_LOG=$LOG \
		"${nice[@]}" "$HERE/uml-run.sh" "$SCRATCH/uml/tests/hostile.sh" "$SCRATCH/uml"
	rc=$?
	;;
qemu-*)
	ver=${VM#qemu-}
	: >"$SCRATCH/hostile.env"
	for v in $vars; do
		[ -n "${!v:-}" ] && printf '%s=%q\n' "$v" "${!v// /,}" >>"$SCRATCH/hostile.env"
	done
	ss=$(command -v ss || true)
	LOG=$OUT/qemu-hostile-$ver.log
	QEMU_NAME=qemu-hostile-$ver QEMU_FILES="$SCRATCH/dlm_flood $SCRATCH/hostile.env" \
		QEMU_BINS="$ss" DLM_LC_SRC=$SRC \
		"${nice[@]}" "$HERE/qemu-run.sh" "$ver" "$SRC/tests/hostile.sh"
	rc=$?
	;;
esac
# the numbers, for the reader
grep -aE '^(INFO|CPU|RATES|TRACE|STACK|SOCKSTAT|SS|FLOOD3|RAW|node [0-9]|  HOSTILE|  node 3)' "$LOG" |
	grep -avE '^INFO: (uml-run|qemu)' >"$OUT/hostile-numbers-$VM.txt"
echo "hostile: numbers in $OUT/hostile-numbers-$VM.txt, console $LOG" >&2
exit $rc
