#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# teardown.sh [path/to/dlm_lowcomms.ko]
#
# Teardown under traffic, in the debug UML kernel (KASAN, lockdep,
# kmemleak and DEBUG_OBJECTS judge), with the test build's delay knobs on
# (socket callbacks wait TEARDOWN_CB_US after their STOP_IO test, connects
# wait TEARDOWN_CONNECT_MS): the windows between a callback and a stopper,
# and between a connect and a stop, are wide open.
#
#   n1 (c1, node 1, 192.0.2.1) --v12 -- v21-- n2 (c2, node 2, 192.0.2.2)
#                              --v13 -- v31-- n3 (c3, node 3, 192.0.2.3)
#                                             (new namespace each round)
#
# Cases, each TEARDOWN_CYCLES times (default 1000; namespace deletion
# TEARDOWN_NS, module reload TEARDOWN_RELOADS times, by default as many)
# while bulk traffic flows both ways between c1 and c2:
#   restart    c2: control stop / start
#   node       c1: rmdir and mkdir node 2 (with its address)
#   netns      n3 + c3 created, streaming to c1, then the namespace is
#              deleted under traffic and c3 removed
#   reload     rmmod and insmod of the module, two instances set up and
#              streaming each time, removed under traffic
# Then c1 and c2 must still carry checked traffic (survive) and the module
# must unload (unload). Every loop is bounded by its count and by
# TEARDOWN_SECS (default 1500) per case. TEARDOWN_CASES picks some of
# them (spaces or commas between names); an unknown name is a FAIL.

. "$(dirname "$0")/lib.sh"

TAG=${TEARDOWN_TAG:-teardown}
N=${TEARDOWN_CYCLES:-1000}
NR=${TEARDOWN_RELOADS:-$N}
NN=${TEARDOWN_NS:-$N}
SECS=${TEARDOWN_SECS:-1500}
CB_US=${TEARDOWN_CB_US:-300}
CONNECT_MS=${TEARDOWN_CONNECT_MS:-20}
CFG=/sys/kernel/config/dlm_lowcomms
ERR=${TMPDIR:-/tmp}/teardown.err.$$
MOD=${1:-/modules/dlm_lowcomms.ko}
SIZE=256
T=${TMPDIR:-/tmp}/teardown.$$
# uml-test.sh passes a list on the kernel command line with commas
CASES=$(echo "${TEARDOWN_CASES:-restart node netns reload}" | tr , " ")
dbg() { [ "${TEARDOWN_DEBUG:-0}" = 1 ] && info "teardown: $(now) $*"; }

cst() { st "$CFG/c$1/comms/$2/status" "$3"; }
past() { [ "$(cut -d. -f1 /proc/uptime)" -ge "$END" ]; }
deadline() { END=$(( $(cut -d. -f1 /proc/uptime) + SECS )); }

load() {
	insmod "$MOD" test_callback_delay_us="$CB_US" \
		test_connect_delay_ms="$CONNECT_MS" 2>"$ERR"
}

link_ns() {	# link_ns I J: veth vIJ in nI <-> vJI in nJ, /32 routes
	"$IP" link add "v$1$2" netns "n$1" type veth peer name "v$2$1" netns "n$2" || return 1
	for p in "$1 $2" "$2 $1"; do
		set -- $p
		"$IP" -n "n$1" addr add "192.0.2.$1/32" dev "v$1$2"
		"$IP" -n "n$1" link set "v$1$2" up
		"$IP" -n "n$1" route add "192.0.2.$2/32" dev "v$1$2" src "192.0.2.$1"
	done
}

instance() {	# instance I NODES...: cI in nI knowing NODES, started
	i=$1
	shift
	in_ns "n$i" mkdir "$CFG/c$i" || return 1
	for n in "$@"; do
		mkdir "$CFG/c$i/comms/$n" && wr "$CFG/c$i/comms/$n/addr" "192.0.2.$n" ||
			return 1
	done
	wr "$CFG/c$i/comms/$i/local" 1 && wr "$CFG/c$i/control" start
}

setup() {
	for i in 1 2; do
		[ -e "/run/netns/n$i" ] || "$IP" netns add "n$i" || return 1
		"$IP" -n "n$i" link set lo up
	done
	"$IP" -n n1 link show v12 >/dev/null 2>&1 || link_ns 1 2 || return 1
	instance 1 1 2 3 && instance 2 1 2
}

# bulk both ways between c1 and c2 until $T/stop exists (bounded by count)
traffic() {
	# its own error file: the cases read $ERR for their own writes
	ERR=$ERR.traffic
	k=0
	while [ ! -e "$T/stop" ] && [ $k -lt 100000 ]; do
		wr "$CFG/c1/comms/2/bulk" "500 $SIZE" 30 2>/dev/null &
		wr "$CFG/c2/comms/1/bulk" "500 $SIZE" 30 2>/dev/null
		wait
		k=$((k + 1))
	done
	echo "$k" >"$T/traffic"
}

with_traffic() {	# with_traffic CASE: run case_CASE while traffic flows
	rm -f "$T/stop"
	traffic &
	tp=$!
	"case_$1"
	touch "$T/stop"
	wait $tp
}

case_restart() {
	deadline
	k=0
	while [ $k -lt "$N" ] && ! past; do
		echo stop >"$CFG/c2/control" 2>"$ERR" || break
		echo start >"$CFG/c2/control" 2>"$ERR" || break
		k=$((k + 1))
	done
	info "teardown: restart $k of $N"
	[ $k -eq "$N" ] && pass restart || fail restart "$k of $N: $(errtxt)"
}

case_node() {
	deadline
	k=0
	while [ $k -lt "$N" ] && ! past; do
		rmdir "$CFG/c1/comms/2" 2>"$ERR" || break
		mkdir "$CFG/c1/comms/2" 2>"$ERR" || break
		wr "$CFG/c1/comms/2/addr" 192.0.2.2 || break
		k=$((k + 1))
	done
	info "teardown: node rmdir/mkdir $k of $N"
	[ $k -eq "$N" ] && pass node || fail node "$k of $N: $(errtxt)"
}

case_netns() {
	deadline
	k=0
	while [ $k -lt "$NN" ] && ! past; do
		dbg "netns $k: add"
		"$IP" netns add n3 2>"$ERR" || break
		"$IP" -n n3 link set lo up
		link_ns 1 3 2>"$ERR" || break
		instance 3 1 3 2>"$ERR" || break
		dbg "netns $k: c3 started"
		ERR=$ERR.bg wr "$CFG/c3/comms/1/bulk" "50 $SIZE" 30 2>/dev/null &
		p1=$!
		ERR=$ERR.bg wr "$CFG/c1/comms/3/bulk" "50 $SIZE" 30 2>/dev/null &
		p2=$!
		# traffic flows (bounded wait), then the namespace dies under it
		w=0
		while [ "$(cst 1 3 rx_msgs)" = 0 ] && [ $w -lt 50 ]; do
			sleep 0.1
			w=$((w + 1))
		done
		dbg "netns $k: c1 got $(cst 1 3 rx_msgs) from node 3, deleting n3"
		"$IP" netns del n3 2>"$ERR" || break
		# not a bare wait: the traffic loop runs in the background too
		wait $p1 $p2
		dbg "netns $k: writers done, removing c3"
		rmdir "$CFG/c3/comms/1" "$CFG/c3/comms/3" "$CFG/c3" 2>"$ERR" || break
		dbg "netns $k: c3 removed"
		k=$((k + 1))
	done
	info "teardown: namespace deletion $k of $NN"
	[ $k -eq "$NN" ] && pass netns || fail netns "$k of $NN: $(errtxt)"
}

# the module goes and comes back; its instances stream until removed
case_reload() {
	deadline
	k=0
	bad=
	while [ $k -lt "$NR" ] && ! past; do
		ERR=$ERR.bg wr "$CFG/c1/comms/2/bulk" "200 $SIZE" 30 2>/dev/null &
		ERR=$ERR.bg wr "$CFG/c2/comms/1/bulk" "200 $SIZE" 30 2>/dev/null &
		sleep 0.05
		for i in 1 2; do
			remove_instance "$CFG/c$i"
		done
		wait
		rmmod_retry || { bad="rmmod: $(errtxt)"; break; }
		load || { bad="insmod: $(errtxt)"; break; }
		setup 2>"$ERR" || { bad="setup: $(errtxt)"; break; }
		[ -z "$bad" ] || break
		k=$((k + 1))
	done
	info "teardown: module reload $k of $NR"
	[ $k -eq "$NR" ] && [ -z "$bad" ] && pass reload || fail reload "$k of $NR: $bad"
}


case_survive() {
	bad=
	echo 0 >/sys/module/dlm_lowcomms/parameters/test_callback_delay_us
	echo 0 >/sys/module/dlm_lowcomms/parameters/test_connect_delay_ms
	[ "$(cat "$CFG/c2/control")" = running ] || wr "$CFG/c2/control" start
	quiesce || bad="traffic did not settle in 60 s: $cur"
	wr "$CFG/c1/comms/2/reset" 1
	wr "$CFG/c2/comms/1/reset" 1
	wr "$CFG/c1/comms/2/bulk" "3000 $SIZE" 60 || bad="$bad bulk: $(errtxt)"
	k=0
	while [ "$(cst 2 1 bulk_rx_msgs)" != 3000 ] && [ $k -lt 150 ]; do
		sleep 0.2
		k=$((k + 1))
	done
	[ "$(cst 2 1 bulk_rx_msgs)" = 3000 ] || bad="$bad delivered $(cst 2 1 bulk_rx_msgs)/3000"
	[ "$(cst 2 1 bulk_rx_seq_err)" = 0 ] || bad="$bad seq_err $(cst 2 1 bulk_rx_seq_err)"
	[ -z "$bad" ] && pass survive || fail survive "$bad"
}

case_unload() {
	bad=
	for i in 1 2 3; do
		remove_instance "$CFG/c$i"
	done
	for i in 1 2 3; do
		"$IP" netns del "n$i" 2>/dev/null
	done
	rmmod_retry || bad="$bad rmmod: $(errtxt)"
	[ -z "$bad" ] && pass unload || fail unload "$bad"
}

mkdir -p "$T"
grep -qw configfs /proc/filesystems || insmod "$(dirname "$MOD")/configfs.ko" 2>/dev/null
grep -q ' /sys/kernel/config ' /proc/mounts || mount -t configfs none /sys/kernel/config
[ -d /sys/module/veth ] || insmod "$(dirname "$MOD")/veth.ko" 2>/dev/null
T0=$(now)
if load; then
	pass load
	if setup 2>"$ERR"; then
		pass setup
		for cs in $CASES; do
			case $cs in
			restart | node | netns | reload) ;;
			*)
				fail "case-$cs" "no such case (restart node netns reload)"
				continue
				;;
			esac
			t=$(now)
			if [ "$cs" = reload ]; then
				case_reload
			else
				with_traffic "$cs"
			fi
			info "teardown: $cs took $(elapsed "$t")s"
		done
		case_survive
	else
		fail setup "$(errtxt)"
	fi
	case_unload
else
	fail load "$(errtxt)"
fi
info "teardown: finished in $(elapsed "$T0")s"
rm -rf "$T" "$ERR"
exit $failed
