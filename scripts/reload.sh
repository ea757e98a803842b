#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# reload.sh [6.12|6.1]: two QEMU guests, one node each, linked by a QEMU
# socket netdev over the host's loopback (the only traffic that leaves a
# guest, and it stays on 127.0.0.1). Node 2 streams checked messages to
# node 1 while node 1 unloads and reloads the module (tests/reload.sh).
# Afterwards node 1 must have delivered every message node 2 sent, once.
#
# Env: RELOAD_MSGS RELOAD_CHUNK RELOAD_CYCLES SIZE (see tests/reload.sh),
#      QEMU_TIMEOUT (default 600).
# Prints the guests' PASS/FAIL lines, "PASS|FAIL: reload.exactly-once" and
# "FAULTS-TOTAL: <reloads> <sent> <delivered> <lost> <duplicated>".
set -uo pipefail

ver=${1:-6.12}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/outdir.sh"
out=$DLM_LC_OUT
mkdir -p "$out"
export RELOAD_MSGS=${RELOAD_MSGS:-20000}
export RELOAD_CHUNK=${RELOAD_CHUNK:-500}
export RELOAD_CYCLES=${RELOAD_CYCLES:-3}
export QEMU_TIMEOUT=${QEMU_TIMEOUT:-600}

# a free loopback port for the link
port=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 30000))
	if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
		port=$p
		break
	fi
done
[ -n "$port" ] || { echo "FAIL: reload: no free loopback port"; exit 1; }

nic=virtio-net-pci
run() {	# run ROLE NETDEV MAC
	RELOAD_ROLE=$1 QEMU_NAME=reload-$1-$ver QEMU_SMP=1 QEMU_MEM=768 \
		QEMU_MODULES="virtio_pci virtio_net ${QEMU_MODULES:-}" \
		QEMU_NET="-netdev socket,id=n0,$2 -device $nic,netdev=n0,mac=$3" \
		"$here/qemu-run.sh" "$ver" "$repo/tests/reload.sh" \
		>"$out/reload-$1-$ver.out" 2>&1
}

# a listens, b connects once a's QEMU is up
run a "listen=127.0.0.1:$port" 52:54:00:99:00:01 &
apid=$!
for _ in $(seq 300); do
	ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
	kill -0 "$apid" 2>/dev/null || break
	sleep 1
done
run b "connect=127.0.0.1:$port" 52:54:00:99:00:02 &
bpid=$!
wait "$apid"
arc=$?
wait "$bpid"
brc=$?

cat "$out/reload-a-$ver.out" "$out/reload-b-$ver.out" | grep -E '^(PASS|FAIL):'
fails=0
[ $arc = 0 ] && [ $brc = 0 ] || fails=1

sent=$(sed -n 's/^RELOAD-SENT: \([0-9]*\).*/\1/p' "$out/reload-b-$ver.log" | tail -n1)
read -r dlv seqerr reloads < <(sed -n 's/^RELOAD-DELIVERED: //p' "$out/reload-a-$ver.log" | tail -n1)
sent=${sent:-0} dlv=${dlv:-0} seqerr=${seqerr:-0} reloads=${reloads:-0}
lost=$((sent > dlv ? sent - dlv : 0))
dup=$((seqerr + (dlv > sent ? dlv - sent : 0)))
grep -h '^INFO: reload' "$out/reload-a-$ver.log" "$out/reload-b-$ver.log" | tr -d '\r'
if [ "$sent" -gt 0 ] && [ "$lost" = 0 ] && [ "$dup" = 0 ] && [ "$reloads" -ge 1 ]; then
	echo "PASS: reload.exactly-once ($reloads reloads, $sent sent, $dlv delivered)"
else
	echo "FAIL: reload.exactly-once: $reloads reloads, $sent sent, $dlv delivered, $seqerr sequence errors"
	fails=1
fi
echo "FAULTS-TOTAL: $reloads $sent $dlv $lost $dup"
exit $fails
