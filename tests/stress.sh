#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# stress.sh [path/to/dlm_lowcomms.ko]
#
# configfs as attack surface, under traffic: for STRESS_SECS seconds
# (default 20) several loops run at once against two instances that
# stream to each other, then both must still work and the module must
# unload. Run in the debug UML kernel, lockdep, KASAN and kmemleak judge
# the races; the PASS/FAIL lines judge the behaviour.
#
#   n1 (c1, node 1, 192.0.2.1) --v12 -- v21-- n2 (c2, node 2, 192.0.2.2)
#
# Loops (each bounded by the deadline and a count):
#   traffic   bulk both ways, again and again
#   nodes     c1: mkdir/addr/rmdir of node 3, over and over
#   control   c2: stop/start
#   closes    c1: close node 2's connection
#   attrs     malformed, oversized and out-of-range writes to every attribute
#   readers   status, addr_list, control of everything
#   spare     a third instance mkdir/configure/start/stop/rmdir
# Cases: load, setup, malformed, loops, survive, teardown.

. "$(dirname "$0")/lib.sh"

TAG=${STRESS_TAG:-stress}
SECS=${STRESS_SECS:-20}
CFG=/sys/kernel/config/dlm_lowcomms
ERR=${TMPDIR:-/tmp}/stress.err.$$
MOD=${1:-/modules/dlm_lowcomms.ko}
SIZE=256

cst() { st "$CFG/c$1/comms/$2/status" "$3"; }

setup() {
	"$IP" netns add n1 && "$IP" netns add n2 || return 1
	"$IP" link add v12 netns n1 type veth peer name v21 netns n2 || return 1
	for i in 1 2; do
		j=$((3 - i))
		"$IP" -n "n$i" link set lo up
		"$IP" -n "n$i" addr add "192.0.2.$i/32" dev "v$i$j"
		"$IP" -n "n$i" link set "v$i$j" up
		"$IP" -n "n$i" route add "192.0.2.$j/32" dev "v$i$j" src "192.0.2.$i"
		in_ns "n$i" mkdir "$CFG/c$i" || return 1
		for n in 1 2; do
			mkdir "$CFG/c$i/comms/$n" && wr "$CFG/c$i/comms/$n/addr" "192.0.2.$n" ||
				return 1
		done
		wr "$CFG/c$i/comms/$i/local" 1 || return 1
	done
	wr "$CFG/c1/control" start && wr "$CFG/c2/control" start
}

# every write here must fail and change nothing
case_malformed() {
	bad=
	long=$(printf '%4000s' x)
	before=$(cat "$CFG/c1/port" "$CFG/c1/version" "$CFG/c1/comms/2/addr_list" "$CFG/c1/comms/2/mark")
	for f in port protocol mark buffer_size control version; do
		for v in "" "-1" "99999999999999999999" "$long" "1 2" "0x10" "start now"; do
			[ "$f" = mark ] && [ "$v" = "" ] && continue
			wr "$CFG/c1/$f" "$v" 5 && bad="$bad c1/$f='$(echo "$v" | cut -c1-12)'"
		done
	done
	for f in nodeid local addr mark ping bulk close reset; do
		for v in "" "-1" "abc" "$long" "4294967296" "1 2 3"; do
			wr "$CFG/c1/comms/2/$f" "$v" 5 &&
				bad="$bad c1/comms/2/$f='$(echo "$v" | cut -c1-12)'"
		done
	done
	after=$(cat "$CFG/c1/port" "$CFG/c1/version" "$CFG/c1/comms/2/addr_list" "$CFG/c1/comms/2/mark")
	[ "$before" = "$after" ] || bad="$bad values changed"
	[ -z "$bad" ] && pass malformed || fail malformed "accepted:$bad"
}

past() { [ "$(cut -d. -f1 /proc/uptime)" -ge "$END" ]; }

loop_traffic() {
	k=0
	while ! past && [ $k -lt 500 ]; do
		wr "$CFG/c1/comms/2/bulk" "2000 $SIZE" 30 2>/dev/null &
		wr "$CFG/c2/comms/1/bulk" "2000 $SIZE" 30 2>/dev/null
		wait
		k=$((k + 1))
	done
	echo "traffic $k" >>"$T/counts"
}

loop_nodes() {
	k=0
	while ! past && [ $k -lt 500 ]; do
		mkdir "$CFG/c1/comms/3" 2>/dev/null
		echo 192.0.2.3 >"$CFG/c1/comms/3/addr" 2>/dev/null
		cat "$CFG/c1/comms/3/status" >/dev/null 2>&1
		rmdir "$CFG/c1/comms/3" 2>/dev/null
		k=$((k + 1))
	done
	echo "nodes $k" >>"$T/counts"
}

loop_control() {
	k=0
	while ! past && [ $k -lt 200 ]; do
		echo stop >"$CFG/c2/control" 2>/dev/null
		echo start >"$CFG/c2/control" 2>/dev/null
		k=$((k + 1))
	done
	echo start >"$CFG/c2/control" 2>/dev/null
	echo "control $k" >>"$T/counts"
}

loop_closes() {
	k=0
	while ! past && [ $k -lt 2000 ]; do
		echo 1 >"$CFG/c1/comms/2/close" 2>/dev/null
		sleep 0.05
		k=$((k + 1))
	done
	echo "closes $k" >>"$T/counts"
}

loop_attrs() {
	k=0
	while ! past && [ $k -lt 2000 ]; do
		echo 21065 >"$CFG/c1/port" 2>/dev/null
		echo 7 >"$CFG/c1/comms/2/mark" 2>/dev/null
		echo 0 >"$CFG/c1/comms/2/mark" 2>/dev/null
		echo 192.0.2.2 >"$CFG/c1/comms/2/addr" 2>/dev/null
		echo 9 >"$CFG/c1/comms/2/nodeid" 2>/dev/null
		echo 4096 >"$CFG/c2/buffer_size" 2>/dev/null
		k=$((k + 1))
	done
	echo "attrs $k" >>"$T/counts"
}

loop_readers() {
	k=0
	while ! past && [ $k -lt 5000 ]; do
		cat "$CFG"/*/status "$CFG"/*/control "$CFG"/*/comms/*/status \
			"$CFG"/*/comms/*/addr_list >/dev/null 2>&1
		k=$((k + 1))
	done
	echo "readers $k" >>"$T/counts"
}

loop_spare() {
	k=0
	while ! past && [ $k -lt 300 ]; do
		d=$CFG/spare
		in_ns n1 mkdir "$d" 2>/dev/null
		mkdir "$d/comms/5" "$d/comms/1" 2>/dev/null
		echo 192.0.2.1 >"$d/comms/5/addr" 2>/dev/null
		echo 192.0.2.1 >"$d/comms/1/addr" 2>/dev/null
		echo 31064 >"$d/port" 2>/dev/null
		echo 1 >"$d/comms/5/local" 2>/dev/null
		echo start >"$d/control" 2>/dev/null
		echo stop >"$d/control" 2>/dev/null
		rmdir "$d/comms/1" "$d/comms/5" "$d" 2>/dev/null
		k=$((k + 1))
	done
	echo "spare $k" >>"$T/counts"
}

case_loops() {
	END=$(( $(cut -d. -f1 /proc/uptime) + SECS ))
	: >"$T/counts"
	for l in traffic nodes control closes attrs readers spare; do
		"loop_$l" &
	done
	wait
	info "stress: $(sort "$T/counts" | tr '\n' ' ')"
	n=$(wc -l <"$T/counts")
	[ "$n" -eq 7 ] && pass loops || fail loops "only $n of 7 loops finished"
	[ -d "$CFG/spare" ] && rmdir "$CFG/spare/comms/"* "$CFG/spare" 2>/dev/null
	[ -d "$CFG/c1/comms/3" ] && rmdir "$CFG/c1/comms/3" 2>/dev/null
}

# afterwards both instances still carry checked traffic
case_survive() {
	bad=
	[ "$(cat "$CFG/c2/control")" = running ] || wr "$CFG/c2/control" start ||
		bad="c2 restart: $(errtxt)"
	quiesce || bad="$bad traffic did not settle in 60 s: $cur"
	wr "$CFG/c1/comms/2/reset" 1
	wr "$CFG/c2/comms/1/reset" 1
	wr "$CFG/c1/comms/2/ping" "5 3000" 60 || bad="$bad ping: $(errtxt)"
	wr "$CFG/c1/comms/2/bulk" "3000 $SIZE" 60 || bad="$bad bulk: $(errtxt)"
	k=0
	while [ "$(cst 2 1 bulk_rx_msgs)" != 3000 ] && [ $k -lt 150 ]; do
		sleep 0.2
		k=$((k + 1))
	done
	[ "$(cst 2 1 bulk_rx_msgs)" = 3000 ] || bad="$bad delivered $(cst 2 1 bulk_rx_msgs)/3000"
	[ "$(cst 2 1 bulk_rx_seq_err)" = 0 ] || bad="$bad seq_err $(cst 2 1 bulk_rx_seq_err)"
	[ "$(cst 2 1 bulk_rx_bad_csum)" = 0 ] || bad="$bad bad_csum"
	[ -z "$bad" ] && pass survive || fail survive "$bad"
}

case_teardown() {
	bad=
	for i in 1 2; do
		wr "$CFG/c$i/control" stop 60 || bad="$bad stop c$i: $(errtxt)"
		rmdir "$CFG/c$i/comms/"* "$CFG/c$i" 2>"$ERR" || bad="$bad rmdir c$i: $(errtxt)"
	done
	"$IP" netns del n1
	"$IP" netns del n2
	rmmod_retry || bad="$bad rmmod: $(errtxt)"
	[ -z "$bad" ] && pass teardown || fail teardown "$bad"
}

T=${TMPDIR:-/tmp}/stress.$$
mkdir -p "$T"
grep -qw configfs /proc/filesystems || insmod "$(dirname "$MOD")/configfs.ko" 2>/dev/null
grep -q ' /sys/kernel/config ' /proc/mounts || mount -t configfs none /sys/kernel/config
[ -d /sys/module/veth ] || insmod "$(dirname "$MOD")/veth.ko" 2>/dev/null
if insmod "$MOD" 2>"$ERR"; then
	pass load
	if setup 2>"$ERR"; then
		pass setup
		case_malformed
		case_loops
		case_survive
	else
		fail setup "$(errtxt)"
	fi
	case_teardown
else
	fail load "$(errtxt)"
fi
rm -rf "$T" "$ERR"
exit $failed
