#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# uml-stack.sh: the real cluster stack on two debug UML kernels (lockdep,
# KASAN, kmemleak, DEBUG_OBJECTS; scripts/uml-kernel.sh), each node running
# Debian's corosync and dlm_controld from the host's root over our drop-in
# dlm.ko, which is built from that UML kernel's own DLM sources
# (scripts/dlm-ko.sh uml). tests/dlmstack.sh is each node's test: real
# lock traffic (dlm_lockloop, libdlm) through the kernel's DLM and our
# transport, lockspaces left, dlm.ko unloaded, then a kmemleak scan; the
# console is judged for splats as in every UML run. No GFS2 here (the
# QEMU stack test has it, scripts/dlm-stack.sh).
#
#   host namespace dlm_lc_stk.<pid> (made and removed here, nothing else in it)
#     tap1 --+                     +-- tap2
#            +------ bridge br0 ---+
#     UML node 1 (eth0 10.99.0.1)      UML node 2 (eth0 10.99.0.2)
#
# Env: UMLSTACK_ROUNDS (lock rounds per node, 300), UMLSTACK_RESTART
# (DLMSTACK_RESTART: node 2's DLM restarts while node 1 holds a lock for
# UMLSTACK_HOLD seconds, 60), UML_TIMEOUT (1200).
# Prints both guests' PASS/FAIL/INFO lines, prefixed uml-stack.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
. "$HERE/outdir.sh"
OUT=$DLM_LC_OUT
mkdir -p "$OUT"
TAG=uml-stack

"$HERE/deps.sh" >&2 || { echo "FAIL: $TAG.deps"; exit 1; }
for b in corosync corosync-quorumtool dlm_controld dlm_tool; do
	command -v "$b" >/dev/null ||
		{ echo "FAIL: $TAG.tools: $b missing (scripts/deps.sh installs it)"; exit 1; }
done

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dlm_lc_ustack.XXXXXX") ||
	{ echo "FAIL: $TAG.scratch: mktemp"; exit 1; }
NS=dlm_lc_stk.$$
p1= p2=
# the guests first (uml-run.sh kills its UML on TERM), then their link
cleanup() {
	local p
	for p in $p1 $p2; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the kernel's own DLM of the UML kernel's sources, our transport inside
if ! DLM_LC_OUT=$SCRATCH/ko "$HERE/dlm-ko.sh" uml >"$OUT/uml-stack-dlm-ko.log" 2>&1 ||
   ! cp "$SCRATCH/ko/dlm-ko/uml/dlm.ko" "$SCRATCH/"; then
	echo "FAIL: $TAG.dlm-ko: see $OUT/uml-stack-dlm-ko.log"
	exit 1
fi
echo "PASS: $TAG.dlm-ko"
if ! gcc -O2 -Wall -Wextra -Werror -o "$SCRATCH/dlm_lockloop" \
	"$REPO/tests/tools/dlm_lockloop.c" -pthread -ldlm >"$OUT/uml-stack-cc.log" 2>&1; then
	echo "FAIL: $TAG.lockloop-build: see $OUT/uml-stack-cc.log"
	exit 1
fi
cp "$REPO/tests/dlmstack.sh" "$REPO/tests/lib.sh" "$REPO/tests/stacklib.sh" "$SCRATCH/"

# the link: two taps on a bridge, in a namespace of our own
if ! out=$( { ip netns add "$NS" &&
	ip -n "$NS" link add br0 type bridge &&
	ip -n "$NS" tuntap add tap1 mode tap &&
	ip -n "$NS" tuntap add tap2 mode tap &&
	ip -n "$NS" link set tap1 master br0 &&
	ip -n "$NS" link set tap2 master br0 &&
	for l in br0 tap1 tap2; do ip -n "$NS" link set "$l" up || exit 1; done; } 2>&1); then
	echo "FAIL: $TAG.link: $out"
	exit 1
fi
echo "PASS: $TAG.link"

# one guest; its PASS/FAIL lines go to $OUT/uml-stack-N.out
node() {
	local n=$1 env
	env="DLMSTACK_NODE=$n DLMSTACK_ROUNDS=${UMLSTACK_ROUNDS:-300} DLMSTACK_TIMEOUT=600"
	[ -z "${UMLSTACK_RESTART:-}" ] ||
		env="$env DLMSTACK_RESTART=1 DLMSTACK_HOLD=${UMLSTACK_HOLD:-60}"
	exec ip netns exec "$NS" env UML_TAG=$TAG-$n UML_LOG="$OUT/uml-stack-$n.log" \
		UML_TIMEOUT="${UML_TIMEOUT:-1200}" UML_ARGS="eth0=tuntap,tap$n,52:54:00:99:00:0$n" \
		UML_ENV="$env" "$HERE/uml-run.sh" "$HERE/guest-uml.sh" "$SCRATCH" stack \
		>"$OUT/uml-stack-$n.out" 2>&1
}

# the UML kernel first, alone: two guests must not both build it
"$HERE/uml-kernel.sh" >"$OUT/uml-stack-kernel.log" 2>&1 ||
	{ echo "FAIL: $TAG.kernel: see $OUT/uml-stack-kernel.log"; exit 1; }
node 1 &
p1=$!
node 2 &
p2=$!
wait "$p1"
r1=$?
wait "$p2"
r2=$?
p1= p2=
cat "$OUT/uml-stack-1.out" "$OUT/uml-stack-2.out" | grep -E '^(PASS|FAIL|INFO): ' |
	sed "s/^\(PASS\|FAIL\): /\1: $TAG./"
# a node whose script died early prints no lock loop at all: not a pass
for n in 1 2; do
	if ! grep -q "^PASS: dlmstack-$n-ours\.lockloop-lctest " "$OUT/uml-stack-$n.out"; then
		echo "FAIL: $TAG.node$n-ran: no lock loop passed on node $n (see $OUT/uml-stack-$n.log)"
		r1=1
	fi
done
[ "$r1" = 0 ] && [ "$r2" = 0 ]
