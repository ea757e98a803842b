#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# scale.sh [path/to/dlm_lowcomms.ko]: make bench row 6. BENCH_SCALE_NODES
# (64) cluster instances in one kernel, one per network namespace, each
# with one veth to a hub namespace that routes between them, once per mode
# in BENCH_SCALE_MODES ("parallel legacy": legacy loads serial_io=1).
# Every instance knows every other; then every instance pings every other
# once (all instances at the same time, each through its peers in turn)
# and the test reports:
#   connect_all_s=T   from the first ping to the last reply, every
#                     connection opened on the way
#   per_conn_bytes=U/S kernel memory added by the connections (U:
#                     MemTotal - MemAvailable, S: Slab), per TCP
#                     connection open at the end (both ends' sockets,
#                     receive buffers and node state; a crossed connect
#                     keeps two connections for one pair)
#   per_msg_bytes=U/S  with node 2's link down, BENCH_SCALE_MSGS (2000)
#                     bulk messages of SIZE (256) from node 1 wait in its
#                     queues: memory added per message (the queued bytes
#                     sit in pages, counted in U only, as do the 3.2
#                     messages kept for resending; S is their
#                     descriptors and skb heads); then the link
#                     comes back and every message must arrive
# on "INFO: scale: mode=M ok=0|1" lines (ok=0: the case failed; make
# bench leaves those out), BENCH_ROUNDS (3) times, the modes
# alternating. PASS/FAIL per case, tagged scale-<mode>-<round> (load
# topology configure connect-all in-flight teardown). Counts, not timing,
# decide PASS.

CLUSTER_LIB=1
. "$(dirname "$0")/cluster.sh"
TAG=scale
N=${BENCH_SCALE_NODES:-64}
SMSGS=${BENCH_SCALE_MSGS:-2000}
ROUNDS=${BENCH_ROUNDS:-3}
# node 2's link is cut; addresses run 10.98.0.2 .. 10.98.4.x, below GW
case $N in
'' | *[!0-9]*) echo "FAIL: scale.nodes: BENCH_SCALE_NODES='$N'"; exit 1 ;;
esac
[ "$N" -ge 2 ] && [ "$N" -le 900 ] || { echo "FAIL: scale.nodes: BENCH_SCALE_NODES=$N: 2..900"; exit 1; }
NODES=$(seq 1 "$N")
CONNS=$((N * (N - 1) / 2))
PAIRS=$((N * (N - 1)))
GW=10.98.255.254

# used_kb: MemTotal - MemAvailable and Slab, in kB
used_kb() {
	awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } /^Slab:/ { s = $2 }
		END { print t - a, s }' /proc/meminfo
}

# kworkers: how many kernel workers exist (a worker pool grows on demand)
kworkers() { grep -l '^kworker' /proc/[0-9]*/comm 2>/dev/null | wc -l; }

# per_bytes BEFORE AFTER COUNT: "used/slab" bytes per COUNT
per_bytes() {
	echo "$1 $2 $3" | awk '{ printf "%d/%d", ($3 - $1) * 1024 / $5, ($4 - $2) * 1024 / $5 }'
}

scale_topology() {
	topo_down
	"$IP" netns del hub 2>/dev/null
	"$IP" netns add hub 2>"$ERR" || { fail topology "netns add hub: $(errtxt)"; return 1; }
	"$IP" -n hub link set lo up
	in_ns hub sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' 2>"$ERR" ||
		{ fail topology "hub forwarding: $(errtxt)"; return 1; }
	# one gateway address on every hub end: a node resolves one neighbour,
	# not N - 1 (the neighbour table is shared by all namespaces, 1024
	# entries before it overflows)
	# every step's error goes to $ERR: the failing one is what errtxt shows
	for i in $NODES; do
		: >"$ERR"
		{ "$IP" netns add "n$i" &&
			"$IP" -n "n$i" link set lo up &&
			"$IP" link add "h$i" netns hub type veth peer name e0 netns "n$i" &&
			"$IP" -n hub addr add "$GW/32" dev "h$i" &&
			"$IP" -n hub link set "h$i" up &&
			"$IP" -n hub route add "$(addr "$i")/32" dev "h$i" &&
			"$IP" -n "n$i" addr add "$(addr "$i")/32" dev e0 &&
			"$IP" -n "n$i" link set e0 up &&
			"$IP" -n "n$i" route add "$GW/32" dev e0 &&
			"$IP" -n "n$i" route add default via "$GW" dev e0; } 2>>"$ERR" ||
			{ fail topology "node $i: $(errtxt)"; return 1; }
	done
	if command -v ping >/dev/null 2>&1; then
		"$IP" netns exec n1 ping -c 1 -W 5 "$(addr "$N")" >/dev/null 2>&1 ||
			{ fail topology "ICMP n1 -> $(addr "$N") fails"; return 1; }
	fi
	pass topology
}

# addr I: node I's address (10.98.x.y, 200 per /24)
addr() { echo "10.98.$(($1 / 200)).$(($1 % 200 + 1))"; }

scale_configure() {
	for i in $NODES; do
		in_ns "n$i" mkdir "$CFG/c$i" 2>"$ERR" ||
			{ fail configure "mkdir c$i in n$i: $(errtxt)"; return 1; }
		# one mkdir and builtin echos: 2 * N * N forks take minutes in TCG
		# shellcheck disable=SC2046 # one word per directory
		mkdir $(for j in $NODES; do echo "$CFG/c$i/comms/$j"; done) 2>"$ERR" ||
			{ fail configure "mkdir c$i/comms/*: $(errtxt)"; return 1; }
		for j in $NODES; do
			echo "10.98.$((j / 200)).$((j % 200 + 1))" 2>"$ERR" >"$CFG/c$i/comms/$j/addr" ||
				{ fail configure "c$i/comms/$j/addr: $(errtxt)"; return 1; }
		done
		wr "$CFG/c$i/comms/$i/local" 1 ||
			{ fail configure "c$i/comms/$i/local: $(errtxt)"; return 1; }
		wr "$CFG/c$i/control" start ||
			{ fail configure "c$i/control start: $(errtxt)"; return 1; }
	done
	pass configure
}

# every instance pings every other once, all instances at once
scale_connect() {
	for i in $NODES; do
		: >"$ERR.ping.$i"
	done
	sleep 2
	m0=$(used_kb)
	k0=$(kworkers)
	t0=$(now)
	pids=
	for i in $NODES; do
		# 5 s per ping; a node gives up after 3 failures (bounded)
		(nf=0
		for j in $NODES; do
			[ "$i" = "$j" ] && continue
			echo "1 5000" 2>>"$ERR.ping.$i" >"$CFG/c$i/comms/$j/ping" || {
				echo "n$i->n$j" >>"$ERR.ping.$i"
				nf=$((nf + 1))
				[ "$nf" -lt 3 ] || break
			}
		done) &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p"
	done
	t=$(elapsed "$t0")
	k1=$(kworkers)
	sleep 2
	m1=$(used_kb)
	bad=$(cat "$ERR".ping.* 2>/dev/null | head -n 5 | tr '\n' ' ')
	rm -f "$ERR".ping.*
	# every instance's every peer: connected, answered; N * (N - 1) each
	got=$(for i in $NODES; do
		for j in $NODES; do
			[ "$i" = "$j" ] || echo "$CFG/c$i/comms/$j/status"
		done
	done | xargs awk '$1 == "connected" && $2 == 1 { c++ }
		$1 == "ping_replies" && $2 >= 1 { r++ }
		$1 == "connect_fail" { f += $2 }
		$1 == "reconnects" { x += $2 }
		END { print c + 0, r + 0, f + 0, x + 0 }' |
		awk '{ c += $1; r += $2; f += $3; x += $4; n++ }
			END { print c + 0, r + 0, f + 0, x + 0, n + 0 }')
	# shellcheck disable=SC2086 # five numbers
	set -- $got
	# TCP connections really open (a crossed connect keeps two for a pair)
	est=0
	for i in $NODES; do
		e=$(in_ns "n$i" cat /proc/net/tcp | awk '$4 == "01" { n++ } END { print n + 0 }')
		est=$((est + e))
	done
	tcp=$((est / 2))
	ok=0
	[ -z "$bad" ] && [ "$1" = "$PAIRS" ] && [ "$2" = "$PAIRS" ] && [ "$5" -gt 0 ] && [ "$tcp" -gt 0 ] && ok=1
	info "scale: mode=$mode ok=$ok nodes=$N pairs=$CONNS tcp_conns=$tcp connect_all_s=$t connected/answered=$1/$2 of $PAIRS connect_fail/reconnects=$3/$4 kworkers=$k0->$k1"
	[ "$tcp" -gt 0 ] || tcp=1
	info "scale: mode=$mode ok=$ok per_conn_bytes=$(per_bytes "$m0" "$m1" "$tcp") (used/slab per open TCP connection; before $m0 kB, after $m1 kB)"
	if [ "$ok" = 1 ]; then
		pass "connect-all ($t s)"
	else
		fail connect-all "failed pings: ${bad:-none}; connected/answered $1/$2 of $PAIRS; $tcp TCP connections"
	fi
}

# node 1's bulk to node 2 waits while node 2's link is down
scale_inflight() {
	f=$CFG/c1/comms/2
	wr "$f/reset" 1 || { fail in-flight "reset: $(errtxt)"; return 1; }
	"$IP" -n hub link set h2 down 2>"$ERR" || { fail in-flight "link down: $(errtxt)"; return 1; }
	sleep 1
	m0=$(used_kb)
	if ! wr "$f/bulk" "$SMSGS $SIZE" 120; then
		"$IP" -n hub link set h2 up
		"$IP" -n hub route replace "$(addr 2)/32" dev h2
		fail in-flight "bulk: $(errtxt)"
		return 1
	fi
	sleep 1
	m1=$(used_kb)
	q=$(st "$f/status" queued)
	um=$(st "$f/status" unacked_msgs)
	ub=$(st "$f/status" unacked_bytes)
	held=$(st "$CFG/c2/comms/1/status" bulk_rx_msgs)
	# a link going down takes its routes with it
	"$IP" -n hub link set h2 up
	"$IP" -n hub route replace "$(addr 2)/32" dev h2
	k=0
	rx=
	while [ $k -lt 120 ]; do
		rx=$(st "$CFG/c2/comms/1/status" bulk_rx_msgs)
		[ "$rx" = "$SMSGS" ] && break
		sleep 1
		k=$((k + 1))
	done
	bad=$(st "$CFG/c2/comms/1/status" bulk_rx_bad_csum)/$(st "$CFG/c2/comms/1/status" bulk_rx_seq_err)
	ok=0
	[ "$um" = "$SMSGS" ] && [ "${held:-0}" = 0 ] && [ "$rx" = "$SMSGS" ] && [ "$bad" = 0/0 ] && ok=1
	# slab holds the descriptors of kept messages and skb heads; the
	# queued and kept bytes sit in pages (used)
	info "scale: mode=$mode ok=$ok per_msg_bytes=$(per_bytes "$m0" "$m1" "$SMSGS") (used/slab; $SMSGS x $SIZE B queued with the link down: queued=$q B unacked=$um msgs $ub B, received meanwhile $held)"
	if [ "$ok" = 1 ]; then
		pass in-flight
	elif [ "$um" != "$SMSGS" ] || [ "${held:-0}" != 0 ]; then
		fail in-flight "not held while the link was down: unacked $um of $SMSGS, received $held"
	else
		fail in-flight "received $rx of $SMSGS after the link came back (bad csum/seq $bad)"
	fi
}

scale_teardown() {
	bad=
	for i in $NODES; do
		d=$CFG/c$i
		[ -d "$d" ] || continue
		if [ "$(cat "$d/control" 2>/dev/null)" = running ]; then
			wr "$d/control" stop 60 || bad="$bad stop c$i: $(errtxt)"
		fi
		rmdir "$d"/comms/* "$d" 2>"$ERR" || bad="$bad rmdir c$i: $(errtxt)"
	done
	topo_down
	"$IP" netns del hub 2>/dev/null
	rmmod_retry || bad="$bad rmmod: $(errtxt)"
	echo "TAINTED: $(cat /proc/sys/kernel/tainted)"
	[ -z "$bad" ] && pass teardown || fail teardown "$bad"
}

T0=$(now)
# N * (N - 1) "dropped with the node" lines per teardown would take
# minutes on a TCG console: only warnings and worse reach it
dmesg -n 5
round=1
while [ "$round" -le "$ROUNDS" ]; do
	for mode in ${BENCH_SCALE_MODES:-parallel legacy}; do
		TAG=scale-$mode-$round
		case $mode in
		parallel) CLUSTER_MODPARAMS= ;;
		legacy) CLUSTER_MODPARAMS=serial_io=1 ;;
		*) fail mode "$mode: parallel or legacy"; continue ;;
		esac
		t1=$(now)
		info "scale: mode=$mode round=$round nodes=$N msgs=$SMSGS size=$SIZE kernel=$(uname -r)"
		if case_load; then
			if scale_topology && scale_configure; then
				info "scale: mode=$mode set up in $(elapsed "$t1") s"
				scale_connect
				scale_inflight
			fi
			scale_teardown
		fi
	done
	round=$((round + 1))
done
dmesg -n 7
info "scale: finished in $(elapsed "$T0")s, $failed failed"
rm -f "$ERR"
exit $failed
