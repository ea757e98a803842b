#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# dlm-stack.sh [6.12|6.1] [ours|stock|mixed|bench]: the real cluster stack
# on two QEMU guests (one vCPU each) linked by a QEMU socket netdev on the
# host's loopback (UDP by default, see DLMSTACK_LINK): Debian's corosync
# (knet, two_node) and dlm_controld (fencing off), and a dlm.ko: our
# drop-in on both nodes (ours), the kernel's own on both (stock), or ours
# on node 1 and stock on node 2 (mixed). bench: tests/lockbench.sh
# instead, both dlm.ko in turn in one boot, lock round trips to remote
# masters (LOCKBENCH_ROUNDS, LOCKBENCH_SECS), and a table of them
# (scripts/lockbench-table.py, CSV in the output folder). Otherwise each node
# runs tests/tools/dlm_lockloop (libdlm): DLMSTACK_ROUNDS EX/NL cycles on
# one shared counter in a lock value block; it must end at the sum. Then
# both mount one GFS2 disk image (mkfs.gfs2 here, shared by both guests)
# and append DLMSTACK_GFS2 records each to shared files under fcntl locks
# and flock (tests/tools/gfs2_append.c) while creating and removing files
# in one directory; afterwards fsck.gfs2 -n must find the image clean.
#
# Env: DLMSTACK_ROUNDS (10000), DLMSTACK_GFS2 (400; 0: no GFS2),
#      DLMSTACK_LINK (udp, the default: QEMU's datagram socket netdev, a
#      frame per datagram; tcp: its stream one, whose listening side has
#      Nagle on, so that a guest's second small frame in a row waits for
#      the host's delayed ACK: 40 ms on every remote convert cycle),
#      QEMU_TIMEOUT (1500; bench: from LOCKBENCH_ROUNDS (4) and
#      LOCKBENCH_SECS (10)), LOCKBENCH_PERF (bench: 1 = Debian's perf in
#      the guests samples every CPU in each "all" phase; the top kernel
#      symbols of each dlm.ko are printed as INFO lines), LOCKBENCH_CAPTURE
#      (bench: 1 = tcpdump in the guests through each dlm.ko's round-1
#      "pair" phase; segment counts and sizes per direction as INFO lines),
#      DLMSTACK_KO_PARAMS (insmod parameters of our dlm.ko, e.g.
#      io_highpri=1: the 6.1 drop-in's socket workers at high priority).
# Prints the guests' PASS/FAIL/INFO lines and "PASS|FAIL: dlm-stack.<ver>.<mode>".
set -uo pipefail

ver=${1:-6.12}
mode=${2:-ours}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/outdir.sh"
out=$DLM_LC_OUT
mkdir -p "$out"
tag=dlm-stack.$ver.$mode
export DLMSTACK_ROUNDS=${DLMSTACK_ROUNDS:-10000}
gfs2=${DLMSTACK_GFS2:-400}
[ "$gfs2" = 0 ] && unset DLMSTACK_GFS2 || export DLMSTACK_GFS2=$gfs2

case $mode in
ours) dlm1=ours dlm2=ours ;;
stock) dlm1=stock dlm2=stock ;;
mixed) dlm1=ours dlm2=stock ;;
# both dlm.ko in turn on both nodes, in one boot (tests/lockbench.sh)
bench) dlm1=both dlm2=both ;;
*) echo "FAIL: $tag: mode is ours, stock, mixed or bench"; exit 1 ;;
esac
script=$repo/tests/dlmstack.sh
if [ "$mode" = bench ]; then
	script=$repo/tests/lockbench.sh
	unset DLMSTACK_GFS2
	export LOCKBENCH_ROUNDS=${LOCKBENCH_ROUNDS:-4} LOCKBENCH_SECS=${LOCKBENCH_SECS:-10}
	# a round: two dlm.ko, two phases each, a minute or so besides them
	QEMU_TIMEOUT=${QEMU_TIMEOUT:-$((600 + LOCKBENCH_ROUNDS * 2 * (2 * LOCKBENCH_SECS + 90)))}
fi
export QEMU_TIMEOUT=${QEMU_TIMEOUT:-1500}

for b in corosync corosync-quorumtool dlm_controld dlm_tool mkfs.gfs2 fsck.gfs2; do
	command -v "$b" >/dev/null ||
		{ echo "FAIL: $tag: $b missing (scripts/deps.sh installs the cluster stack)"; exit 1; }
done
[ -f /usr/include/libdlm.h ] || { echo "FAIL: $tag: libdlm-dev missing"; exit 1; }

work=$(mktemp -d /tmp/dlm_lc_stack.XXXXXX)
trap 'rm -rf "$work"' EXIT
if ! gcc -O2 -Wall -Wextra -Werror -o "$work/dlm_lockloop" \
	"$repo/tests/tools/dlm_lockloop.c" -pthread -ldlm >"$work/cc.log" 2>&1 ||
   ! gcc -O2 -Wall -Wextra -Werror -o "$work/gfs2_append" \
	"$repo/tests/tools/gfs2_append.c" >>"$work/cc.log" 2>&1; then
	echo "FAIL: $tag: test tools do not build"
	cat "$work/cc.log"
	exit 1
fi
disk=()
if [ -n "${DLMSTACK_GFS2:-}" ]; then
	img=$work/gfs2.img
	truncate -s 256M "$img"
	# cluster name as in tests/dlmstack.sh's corosync.conf, a journal each
	if ! mkfs.gfs2 -O -p lock_dlm -t lctest:fs0 -j 2 "$img" >"$work/mkfs.log" 2>&1; then
		echo "FAIL: $tag: mkfs.gfs2"
		cat "$work/mkfs.log"
		exit 1
	fi
	disk=(-drive "file=$img,if=none,id=d0,format=raw,cache=none,file.locking=off"
	      -device virtio-blk-pci,drive=d0,share-rw=on)
fi

# the guest kernel's release names the headers the drop-in is built for
kdir=$("$here/debian-kernel.sh" "$ver" virtio_pci virtio_net dlm virtio_blk crc32c_generic gfs2 | tail -n1) ||
	{ echo "FAIL: $tag: kernel prep"; exit 1; }
# shellcheck disable=SC1091
. "$kdir/env"
files=
if [ "$mode" != stock ]; then
	DLM_LC_OUT=$work/ko bash "$here/dlm-ko.sh" "$ABI" | sed "s/^/  /"
	ko=$work/ko/dlm-ko/$ABI/dlm.ko
	[ -f "$ko" ] || { echo "FAIL: $tag: drop-in dlm.ko for $ABI did not build"; exit 1; }
	files=$ko
fi

# free_port tcp|udp [NOT]: a free loopback port (not NOT)
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		[ "$p" != "${2:-}" ] || continue
		if ! ss -Hl"${1:0:1}"n "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
perf=
if [ "$mode" = bench ] && [ "${LOCKBENCH_PERF:-0}" = 1 ]; then
	perf=$(command -v perf) || { echo "FAIL: $tag: LOCKBENCH_PERF=1 needs Debian's linux-perf"; exit 1; }
fi
if [ "$mode" = bench ] && [ "${LOCKBENCH_CAPTURE:-0}" = 1 ]; then
	perf="$perf $(command -v tcpdump)" ||
		{ echo "FAIL: $tag: LOCKBENCH_CAPTURE=1 needs tcpdump"; exit 1; }
fi
link=${DLMSTACK_LINK:-udp}
port=$(free_port "$link") || { echo "FAIL: $tag: no free loopback port"; exit 1; }

# knet's plugins, and libgcc_s, which glibc opens for libdlm's thread
# cancellation
libs="$(ls /usr/lib/x86_64-linux-gnu/kronosnet/*.so 2>/dev/null | tr '\n' ' ')"
libs+=" /lib/x86_64-linux-gnu/libgcc_s.so.1"
nic=virtio-net-pci
# the stock 6.1 DLM WARNs once when a request with a payload waits out a
# recovery (FORTIFY_SOURCE on its request queue's one-memcpy copy; 6.12
# copies in two parts); our drop-in builds that file without the check
known_warn() { [ "$ver" = 6.1 ] && [ "$1" != ours ] && echo fs/dlm/requestqueue.c:47; }
run() {	# run NODE DLM NETDEV MAC
	QEMU_KNOWN_WARN=$(known_warn "$2") DLMSTACK_NODE=$1 DLMSTACK_DLM=$2 QEMU_NAME=stack-$1-$ver-$mode \
		QEMU_SMP=1 QEMU_MEM=1024 QEMU_MODULES="virtio_pci virtio_net dlm virtio_blk crc32c_generic gfs2" \
		QEMU_BINS="corosync corosync-quorumtool dlm_controld dlm_tool $work/dlm_lockloop $work/gfs2_append $perf" \
		QEMU_ARGS="${disk[*]}" \
		QEMU_LIBS="$libs" QEMU_FILES="$files" \
		QEMU_NET="-netdev socket,id=n0,$3 -device $nic,netdev=n0,mac=$4" \
		"$here/qemu-run.sh" "$ver" "$script" \
		>"$out/stack-$1-$ver-$mode.out" 2>&1
}

if [ "$link" = udp ]; then
	# one UDP datagram per frame: no TCP (and no Nagle) under the link
	port2=$(free_port udp "$port") || { echo "FAIL: $tag: no free loopback port"; exit 1; }
	run 1 "$dlm1" "udp=127.0.0.1:$port2,localaddr=127.0.0.1:$port" 52:54:00:98:00:01 &
	apid=$!
	run 2 "$dlm2" "udp=127.0.0.1:$port,localaddr=127.0.0.1:$port2" 52:54:00:98:00:02 &
else
	run 1 "$dlm1" "listen=127.0.0.1:$port" 52:54:00:98:00:01 &
	apid=$!
	for _ in $(seq 300); do
		ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
		kill -0 "$apid" 2>/dev/null || break
		sleep 1
	done
	run 2 "$dlm2" "connect=127.0.0.1:$port" 52:54:00:98:00:02 &
fi
bpid=$!
wait "$apid"
arc=$?
wait "$bpid"
brc=$?

cat "$out/stack-1-$ver-$mode.out" "$out/stack-2-$ver-$mode.out" |
	grep -E '^(PASS|FAIL|INFO):' | sed "s/^\(PASS\|FAIL\): /\1: $ver.$mode./"
hostfail=0	# what the host judges after the guests: fsck, the cut, the table
if [ -n "${DLMSTACK_GFS2:-}" ]; then
	if fsck.gfs2 -n "$img" >"$out/fsck-$ver-$mode.log" 2>&1; then
		echo "PASS: $ver.$mode.gfs2-fsck"
	else
		echo "FAIL: $ver.$mode.gfs2-fsck (log $out/fsck-$ver-$mode.log)"
		tail -n 10 "$out/fsck-$ver-$mode.log"
		hostfail=1
	fi
fi
# the cut must have fallen inside the loop: a round on one node or the
# other waited for (most of) it
if [ -n "${DLMSTACK_CUT:-}" ] && [ "$mode" != bench ]; then
	waited=$(cat "$out/stack-1-$ver-$mode.out" "$out/stack-2-$ver-$mode.out" |
		sed -n 's/.*: lockloop lctestcut: .* max_us \([0-9]*\).*/\1/p' | sort -n | tail -n1)
	if [ "${waited:-0}" -ge $((DLMSTACK_CUT * 1000000 / 2)) ]; then
		echo "PASS: $ver.$mode.link-cut-waited (longest round ${waited} us)"
	else
		echo "FAIL: $ver.$mode.link-cut-waited: no round waited for the ${DLMSTACK_CUT} s cut (longest ${waited:-?} us)"
		hostfail=1
	fi
fi
if [ "$mode" = bench ]; then
	cat "$out/stack-1-$ver-$mode.out" "$out/stack-2-$ver-$mode.out" |
		python3 "$here/lockbench-table.py" "$ver" "$LOCKBENCH_ROUNDS" 2 \
			"$out/lockbench-$ver.csv" || hostfail=1
fi
if [ $arc = 0 ] && [ $brc = 0 ] && [ $hostfail = 0 ]; then
	echo "PASS: $tag"
	exit 0
fi
echo "FAIL: $tag (guest exit $arc/$brc; consoles $out/stack-*-$ver-$mode.log)"
exit 1
