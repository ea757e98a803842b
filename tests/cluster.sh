#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# cluster.sh [path/to/dlm_lowcomms.ko]
#
# Three-node dlm_lowcomms cluster inside one kernel: one cluster instance per
# network namespace, a full mesh of veth pairs, everything configured through
# configfs (Documentation/configfs.md).  POSIX sh: runs under
# busybox sh (QEMU initramfs) and dash (UML with the host's root fs).
#
# Topology (each node has ONE address, assigned /32 on each of its veth
# ends, with a /32 route to each peer over the veth that leads to it):
#
#                      n1  192.0.2.1
#                   v12 |          | v13
#                       |          |
#                   v21 |          | v31
#           n2  192.0.2.2 --v23--v32-- n3  192.0.2.3
#
#   vIJ lives in nI and is paired with vJI in nJ.
#   in nI:  192.0.2.I/32 dev vIJ ; 192.0.2.J/32 dev vIJ src 192.0.2.I
#
# Environment:
#   MSGS   total checked bulk messages, all pairs together (default 100000,
#          60000 with DEMO=1)
#   SIZE   bytes per message on the wire, 112..4096 (88.. with
#          CLUSTER_VERSION=3.1; default 256): a bulk write without "short"
#          (Documentation/configfs.md)
#   DEMO=1 fewer messages, more INFO lines (make demo)
#   CLUSTER_BULK_TIMEOUT  seconds to wait for delivery (default 300)
#   CLUSTER_PINGS         pings per ordered pair (default 20)
#   CLUSTER_TAG           prefix of the result names (default cluster)
#   CLUSTER_MODPARAMS     insmod parameters (bench.sh: serial_io=1)
#   CLUSTER_VERSION       protocol version of every node, 3.1 or 3.2
#                         (default: the module's, 3.2)
#   CLUSTER_PERF=1        perf samples every CPU during the bulk case; its
#                         top symbols as "INFO: perf: bulk ..." lines
#   KMOD_DIR  where configfs.ko / veth.ko are if not built in
#             (default: the directory of dlm_lowcomms.ko)
# Output: one "PASS: cluster.<case>" or "FAIL: cluster.<case>: reason" line
# per case (load topology configure ping bulk io-priority close-reconnect
# bad-values reset-killable (3.2 only) port-taken remove-under-traffic
# netns-gone teardown),
# "INFO:" lines with numbers, and "TAINTED: <n>" after rmmod.
# Exit status: number of failed cases.

. "$(dirname "$0")/lib.sh"

DEMO=${DEMO:-0}
if [ "$DEMO" = 1 ]; then MSGS=${MSGS:-60000}; else MSGS=${MSGS:-100000}; fi
SIZE=${SIZE:-256}
BULK_TIMEOUT=${CLUSTER_BULK_TIMEOUT:-300}
PINGS=${CLUSTER_PINGS:-20}
NODES="1 2 3"
CFG=/sys/kernel/config/dlm_lowcomms
ERR=${TMPDIR:-/tmp}/cluster.err.$$

MOD=${1:-${MODULE:-}}
if [ -z "$MOD" ]; then
	for c in /modules/dlm_lowcomms.ko "$(dirname "$0")/../dlm_lowcomms.ko" ./dlm_lowcomms.ko; do
		[ -f "$c" ] && { MOD=$c; break; }
	done
fi
KMOD_DIR=${KMOD_DIR:-$(dirname "${MOD:-/modules/x}")}

TAG=${CLUSTER_TAG:-cluster}

cst() { st "$CFG/c$1/comms/$2/status" "$3"; }	# cst NODE PEER KEY

pairs() {
	for i in $NODES; do
		for j in $NODES; do
			[ "$i" != "$j" ] && echo "$i $j"
		done
	done
}

# --- load -------------------------------------------------------------------
case_load() {
	if ! grep -qw configfs /proc/filesystems; then
		insmod "$KMOD_DIR/configfs.ko" 2>"$ERR" || modprobe configfs 2>>"$ERR"
	fi
	if [ ! -d /sys/module/veth ] && ! grep -qw veth /proc/modules 2>/dev/null; then
		# may be built in: the topology step tells
		insmod "$KMOD_DIR/veth.ko" 2>/dev/null || modprobe veth 2>/dev/null || true
	fi
	if ! grep -qw configfs /proc/filesystems; then
		fail load "configfs unavailable: $(errtxt)"
		return 1
	fi
	if ! grep -q ' /sys/kernel/config ' /proc/mounts; then
		mount -t configfs none /sys/kernel/config 2>"$ERR" ||
			{ fail load "mount configfs: $(errtxt)"; return 1; }
	fi
	[ -n "$MOD" ] && [ -f "$MOD" ] || { fail load "no module file (${MOD:-unset})"; return 1; }
	if grep -q '^dlm_lowcomms ' /proc/modules; then
		rmmod dlm_lowcomms 2>/dev/null
	fi
	# shellcheck disable=SC2086
	insmod "$MOD" ${CLUSTER_MODPARAMS:-} 2>"$ERR" ||
		{ fail load "insmod $MOD ${CLUSTER_MODPARAMS:-}: $(errtxt)"; return 1; }
	grep -q '^dlm_lowcomms ' /proc/modules || { fail load "not in /proc/modules"; return 1; }
	# each parameter given reads back as given (a bool reads Y or N; a
	# bare name sets a bool)
	for p in ${CLUSTER_MODPARAMS:-}; do
		pn=${p%%=*} pv=${p#*=}
		case $p in *=*) ;; *) pv=Y ;; esac
		got=$(cat "/sys/module/dlm_lowcomms/parameters/$pn" 2>/dev/null)
		case $got in
		Y|N)	case $pv in
			1|[yY]*|on) pv=Y ;;
			0|[nN]*|off) pv=N ;;
			esac ;;
		esac
		[ "$got" = "$pv" ] ||
			{ fail load "parameter $pn reads '$got', not '$pv'"; return 1; }
	done
	pass load
}

# --- topology ---------------------------------------------------------------
topo_down() {
	for i in $NODES; do
		"$IP" netns del "n$i" 2>/dev/null
	done
}

case_topology() {
	topo_down
	for i in $NODES; do
		"$IP" netns add "n$i" 2>"$ERR" || { fail topology "netns add n$i: $(errtxt)"; return 1; }
		"$IP" -n "n$i" link set lo up
	done
	for p in "1 2" "1 3" "2 3"; do
		set -- $p
		"$IP" link add "v$1$2" netns "n$1" type veth peer name "v$2$1" netns "n$2" 2>"$ERR" ||
			{ fail topology "veth v$1$2/v$2$1: $(errtxt)"; return 1; }
	done
	for p in $(pairs | tr ' ' ':'); do
		i=${p%:*}
		j=${p#*:}
		dev=v$i$j
		"$IP" -n "n$i" addr add "192.0.2.$i/32" dev "$dev" 2>"$ERR" &&
			"$IP" -n "n$i" link set "$dev" up 2>>"$ERR" &&
			"$IP" -n "n$i" route add "192.0.2.$j/32" dev "$dev" src "192.0.2.$i" 2>>"$ERR" ||
			{ fail topology "n$i $dev: $(errtxt)"; return 1; }
	done
	# Each peer is reached directly over its own veth.
	for p in $(pairs | tr ' ' ':'); do
		i=${p%:*}
		j=${p#*:}
		r=$("$IP" -n "n$i" route get "192.0.2.$j" 2>&1)
		case "$r" in
		*"dev v$i$j "*"src 192.0.2.$i"*) ;;
		*) fail topology "n$i route to 192.0.2.$j: $r"; return 1 ;;
		esac
	done
	# in_ns must really enter the namespace (/proc/net follows the netns).
	grep -q 'v12:' /proc/net/dev && { fail topology "v12 visible in the initial netns"; return 1; }
	in_ns n1 cat /proc/net/dev | grep -q 'v12:' ||
		{ fail topology "in_ns n1 does not see v12"; return 1; }
	# Prove the wiring with real ICMP (busybox or iputils ping).
	if command -v ping >/dev/null 2>&1; then
		for p in $(pairs | tr ' ' ':'); do
			i=${p%:*}
			j=${p#*:}
			ok=0
			for _ in 1 2 3; do
				if "$IP" netns exec "n$i" ping -c 1 -W 2 "192.0.2.$j" >/dev/null 2>&1; then
					ok=1
					break
				fi
			done
			[ $ok = 1 ] || { fail topology "ICMP n$i -> 192.0.2.$j fails"; return 1; }
		done
		# Negative control: an address nobody has must not answer.
		if "$IP" netns exec n1 ping -c 1 -W 1 192.0.2.9 >/dev/null 2>&1; then
			fail topology "ICMP to unassigned 192.0.2.9 answered"
			return 1
		fi
		pass topology
	else
		info "topology: no ping binary, ICMP check skipped"
		pass topology
	fi
}

# --- configure ----------------------------------------------------------------
case_configure() {
	[ -d "$CFG" ] || { fail configure "$CFG missing"; return 1; }
	for i in $NODES; do
		# The instance binds to the netns of the process doing mkdir.
		in_ns "n$i" mkdir "$CFG/c$i" 2>"$ERR" ||
			{ fail configure "mkdir c$i in n$i: $(errtxt)"; return 1; }
		for j in $NODES; do
			mkdir "$CFG/c$i/comms/$j" 2>"$ERR" ||
				{ fail configure "mkdir c$i/comms/$j: $(errtxt)"; return 1; }
			nid=$(cat "$CFG/c$i/comms/$j/nodeid" 2>/dev/null)
			[ "$nid" = "$j" ] || { fail configure "c$i/comms/$j/nodeid reads '$nid'"; return 1; }
			wr "$CFG/c$i/comms/$j/addr" "192.0.2.$j" ||
				{ fail configure "c$i/comms/$j/addr: $(errtxt)"; return 1; }
		done
		wr "$CFG/c$i/comms/$i/local" 1 ||
			{ fail configure "c$i/comms/$i/local: $(errtxt)"; return 1; }
		if [ -n "${CLUSTER_VERSION:-}" ]; then
			wr "$CFG/c$i/version" "$CLUSTER_VERSION" ||
				{ fail configure "c$i/version: $(errtxt)"; return 1; }
		fi
	done
	for i in $NODES; do
		wr "$CFG/c$i/control" start ||
			{ fail configure "c$i/control start: $(errtxt)"; return 1; }
	done
	for i in $NODES; do
		c=$(cat "$CFG/c$i/control" 2>/dev/null)
		[ "$c" = running ] || { fail configure "c$i/control reads '$c'"; return 1; }
		ln=$(st "$CFG/c$i/status" local_nodeid)
		[ "$ln" = "$i" ] || { fail configure "c$i local_nodeid '$ln'"; return 1; }
		if [ "$DEMO" = 1 ]; then
			peers=
			for j in $NODES; do
				[ "$j" = "$i" ] && continue
				peers="$peers node$j=$(tr '\n' ' ' <"$CFG/c$i/comms/$j/addr_list" | sed 's/ *$//')"
			done
			info "node $i: cluster c$i in netns n$i, local 192.0.2.$i:$(cat "$CFG/c$i/port"), $(cat "$CFG/c$i/control"), peers$peers"
		fi
	done
	pass configure
}

# --- ping -------------------------------------------------------------------
case_ping() {
	bad=
	for p in $(pairs | tr ' ' ':'); do
		i=${p%:*}
		j=${p#*:}
		f=$CFG/c$i/comms/$j
		# fresh statistics for this round
		wr "$f/reset" 1 || { bad="$bad n$i->n$j:reset:$(errtxt)"; continue; }
		if ! wr "$f/ping" "$PINGS 2000" $((PINGS * 3 + 30)); then
			bad="$bad n$i->n$j:$(errtxt)"
			continue
		fi
		rep=$(cst "$i" "$j" ping_replies)
		p50=$(cst "$i" "$j" rtt_p50_ns)
		p99=$(cst "$i" "$j" rtt_p99_ns)
		info "ping n$i->n$j: replies=${rep:-?}/$PINGS rtt p50=$(awk -v n="${p50:-0}" 'BEGIN{printf "%.1f", n/1000}')us p99=$(awk -v n="${p99:-0}" 'BEGIN{printf "%.1f", n/1000}')us"
		[ "${rep:-0}" -ge "$PINGS" ] 2>/dev/null || bad="$bad n$i->n$j:replies=${rep:-?}"
		[ "${p50:-0}" -gt 0 ] 2>/dev/null || bad="$bad n$i->n$j:p50=${p50:-?}"
	done
	[ -z "$bad" ] && pass ping || fail ping "$bad"
}

# --- bulk -------------------------------------------------------------------
# send_all COUNT: each ordered pair sends COUNT messages, six writers in
# parallel; returns non-zero if a writer failed.
send_all() {
	n=$1
	pids=
	for p in $(pairs | tr ' ' ':'); do
		i=${p%:*}
		j=${p#*:}
		(wr "$CFG/c$i/comms/$j/bulk" "$n $SIZE" "$BULK_TIMEOUT" ||
			echo "n$i->n$j: $(errtxt)" >"$ERR.bulk.$i$j") &
		pids="$pids $!"
	done
	for pid in $pids; do
		wait "$pid"
	done
	if ls "$ERR".bulk.* >/dev/null 2>&1; then
		cat "$ERR".bulk.* | tr '\n' ' '
		rm -f "$ERR".bulk.*
		return 1
	fi
	return 0
}

# wait_delivered: poll until for every pair rx == tx (bounded); sets $lag
wait_delivered() {
	t=$(now)
	k=0
	while [ $k -lt $((BULK_TIMEOUT * 5)) ]; do
		lag=
		for p in $(pairs | tr ' ' ':'); do
			i=${p%:*}
			j=${p#*:}
			tx=$(cst "$i" "$j" bulk_tx_msgs)
			rx=$(cst "$j" "$i" bulk_rx_msgs)
			[ -n "$tx" ] && [ "$tx" = "$rx" ] || lag="$lag n$i->n$j:tx=$tx,rx=$rx"
		done
		[ -z "$lag" ] && return 0
		older_than "$t" "$BULK_TIMEOUT" && return 1
		sleep 0.2
		k=$((k + 1))
	done
	return 1
}

pair_table() {
	for p in $(pairs | tr ' ' ':'); do
		i=${p%:*}
		j=${p#*:}
		diag "n$i->n$j tx_msgs=$(cst "$i" "$j" bulk_tx_msgs) rx_msgs=$(cst "$j" "$i" bulk_rx_msgs)" \
			"bad_csum=$(cst "$j" "$i" bulk_rx_bad_csum) seq_err=$(cst "$j" "$i" bulk_rx_seq_err)" \
			"connected=$(cst "$i" "$j" connected) queued=$(cst "$i" "$j" queued)" \
			"drops=$(cst "$i" "$j" drops) reconnects=$(cst "$i" "$j" reconnects)"
	done
}

# perf_begin / perf_end WHAT: with CLUSTER_PERF=1, perf samples every CPU
# from begin to end; end prints the top symbols as "INFO: perf: WHAT pct
# dso symbol" lines. perf's setup takes seconds in a TCG guest: begin
# returns once its workload (a sleep, killed by end) runs. perf costs
# CPU: read such a run for the profile, not for its figures. Symbols need
# kptr_restrict 0 and perf_event_paranoid -1, left so (a test guest).
perf_begin() {
	perf_pid=
	[ "${CLUSTER_PERF:-0}" = 1 ] || return 0
	command -v perf >/dev/null 2>&1 || { info "perf: not in the guest"; return 0; }
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	rm -f "$ERR".perf.*
	perf record -a --no-buildid -e cpu-clock -F 997 -o "$ERR.perf.data" -- \
		sh -c 'echo $$ >"$0"; exec sleep 3600' "$ERR.perf.pid" \
		>"$ERR.perf.log" 2>&1 &
	perf_pid=$!
	k=0
	while [ ! -s "$ERR.perf.pid" ] && [ $k -lt 600 ] &&
		kill -0 "$perf_pid" 2>/dev/null; do
		sleep 0.1
		k=$((k + 1))
	done
	[ -s "$ERR.perf.pid" ] || info "perf: did not start: $(tail -n 1 "$ERR.perf.log")"
}
perf_end() {
	[ -n "$perf_pid" ] || return 0
	if [ -s "$ERR.perf.pid" ]; then
		kill "$(cat "$ERR.perf.pid")"
	else
		kill -INT "$perf_pid"
	fi
	wait "$perf_pid"
	perf report -i "$ERR.perf.data" --stdio --no-children --sort dso,sym \
		--percent-limit 0.7 2>/dev/null | grep -E '^ +[0-9]' | head -n 30 |
		while read -r pct dso _ sym; do
			info "perf: $1 $pct $dso $sym"
		done
	rm -f "$ERR".perf.*
}

case_bulk() {
	per=$(((MSGS + 5) / 6))
	for p in $(pairs | tr ' ' ':'); do
		wr "$CFG/c${p%:*}/comms/${p#*:}/reset" 1 ||
			{ fail bulk "reset c${p%:*}/comms/${p#*:}: $(errtxt)"; return 1; }
	done
	info "bulk: 6 pairs x $per messages x $SIZE bytes, writers in parallel"
	perf_begin
	t0=$(now)
	c0=$(busy_ticks)
	x0=$(ctxt)
	if ! werr=$(send_all "$per"); then
		perf_end bulk
		fail bulk "writer failed: $werr"
		pair_table
		return 1
	fi
	tq=$(now)
	if ! wait_delivered; then
		perf_end bulk
		fail bulk "not delivered within ${BULK_TIMEOUT}s:$lag"
		pair_table
		return 1
	fi
	t1=$(now)
	c1=$(busy_ticks)
	x1=$(ctxt)
	perf_end bulk
	total=0
	bad=
	span=0
	for p in $(pairs | tr ' ' ':'); do
		i=${p%:*}
		j=${p#*:}
		tx=$(cst "$i" "$j" bulk_tx_msgs)
		rx=$(cst "$j" "$i" bulk_rx_msgs)
		csum=$(cst "$j" "$i" bulk_rx_bad_csum)
		seq=$(cst "$j" "$i" bulk_rx_seq_err)
		s=$(cst "$j" "$i" bulk_rx_span_ns)
		[ "$tx" = "$per" ] || bad="$bad n$i->n$j:tx=$tx!=$per"
		[ "$csum" = 0 ] || bad="$bad n$i->n$j:bad_csum=$csum"
		[ "$seq" = 0 ] || bad="$bad n$i->n$j:seq_err=$seq"
		total=$((total + ${rx:-0}))
		[ "${s:-0}" -gt "$span" ] 2>/dev/null && span=$s
	done
	[ "$total" -ge "$MSGS" ] || bad="$bad total=$total<$MSGS"
	wall=$(elapsed "$t0" "$t1")
	info "bulk: $total messages of $SIZE B delivered in ${wall}s wall (queued in $(elapsed "$t0" "$tq")s):" \
		"$(awk -v m="$total" -v s="$SIZE" -v w="$wall" 'BEGIN { if (w <= 0) w = 0.01; printf "%.0f msgs/s %.2f MB/s", m / w, m * s / w / 1e6 }')"
	if [ "$span" -gt 0 ] 2>/dev/null; then
		info "bulk: by bulk_rx_span_ns (longest receiver span $(awk -v n="$span" 'BEGIN{printf "%.3f", n/1e9}')s):" \
			"$(awk -v m="$total" -v s="$SIZE" -v n="$span" 'BEGIN { w = n / 1e9; printf "%.0f msgs/s %.2f MB/s", m / w, m * s / w / 1e6 }')"
	fi
	# busy ticks are USER_HZ (100/s) of all CPUs, the test's shell included;
	# busy_pct: their share of what all CPUs had over the wall time
	info "bulk: cpu $(awk -v c=$((c1 - c0)) -v x=$((x1 - x0)) -v m="$total" \
		-v w="$wall" -v n="$(grep -c '^cpu[0-9]' /proc/stat)" \
		'BEGIN { if (m < 1) m = 1; if (w <= 0) w = 0.01; if (n < 1) n = 1
		printf "cpu_us_per_msg=%.2f ctxt_per_msg=%.3f busy_pct=%.1f", c * 10000 / m, x / m, c / (w * n) }')" \
		"acks_tx=$(agg sum acks_tx) backlog_waits=$(agg sum backlog_waits)" \
		"unacked_max=$(agg max unacked_max) retransmits=$(agg sum retransmits)"
	if [ -n "$bad" ]; then
		fail bulk "$bad"
		pair_table
		return 1
	fi
	pass bulk
}

# --- io-priority ------------------------------------------------------------
# The socket workers run at the priority asked for: nice -20 with
# io_highpri (the default), 0 without. A worker is named after the queue
# of the last work it ran (kworker/u8:2-dlm_io), so right after the bulk
# run some are dlm_io's. Its rescuer is left out: kworker/R-dlm_io on
# 6.12, on 6.1 a thread named dlm_io (dlm_io-dlm_io once it ran a work).
case_io_priority() {
	want=0
	[ "$(cat /sys/module/dlm_lowcomms/parameters/io_highpri 2>/dev/null)" = Y ] &&
		want=-20
	seen=0
	bad=
	for s in /proc/[0-9]*/stat; do
		{ read -r line <"$s"; } 2>/dev/null || continue
		case $line in
		*"(kworker/R-"* | *" (dlm_io"[-+]*) continue ;;
		*"-dlm_io) "*) ;;
		*) continue ;;
		esac
		# shellcheck disable=SC2086
		set -- $line
		seen=$((seen + 1))
		[ "${19}" = "$want" ] || bad="$bad $2:nice=${19}"
	done
	if [ "$seen" = 0 ]; then
		fail io-priority "no worker named after dlm_io after the bulk run"
	elif [ -n "$bad" ]; then
		fail io-priority "want nice $want:$bad"
	else
		pass io-priority
		info "io-priority: $seen dlm_io workers at nice $want"
	fi
}

# --- close-reconnect --------------------------------------------------------
case_close() {
	n=1000
	f=$CFG/c1/comms/2
	before=$(cst 2 1 bulk_rx_msgs)
	before_back=$(cst 1 2 bulk_rx_msgs)
	rc0=$(cst 1 2 reconnects)
	wr "$f/close" 1 || { fail close-reconnect "close: $(errtxt)"; return 1; }
	wr "$f/bulk" "$n $SIZE" 120 || { fail close-reconnect "bulk after close: $(errtxt)"; return 1; }
	wr "$CFG/c2/comms/1/bulk" "$n $SIZE" 120 || { fail close-reconnect "bulk back after close: $(errtxt)"; return 1; }
	if ! wait_delivered; then
		fail close-reconnect "not delivered after close:$lag"
		pair_table
		return 1
	fi
	after=$(cst 2 1 bulk_rx_msgs)
	after_back=$(cst 1 2 bulk_rx_msgs)
	rc1=$(cst 1 2 reconnects)
	bad=
	[ $((after - before)) -eq $n ] || bad="$bad n1->n2 got $((after - before))/$n"
	[ $((after_back - before_back)) -eq $n ] || bad="$bad n2->n1 got $((after_back - before_back))/$n"
	for p in "2 1" "1 2"; do
		set -- $p
		[ "$(cst "$1" "$2" bulk_rx_bad_csum)" = 0 ] || bad="$bad c$1<-$2 bad_csum=$(cst "$1" "$2" bulk_rx_bad_csum)"
		[ "$(cst "$1" "$2" bulk_rx_seq_err)" = 0 ] || bad="$bad c$1<-$2 seq_err=$(cst "$1" "$2" bulk_rx_seq_err)"
	done
	wr "$f/ping" "3 2000" 30 || bad="$bad ping after close: $(errtxt)"
	info "close-reconnect: reconnects n1->n2 $rc0 -> $rc1"
	[ -z "$bad" ] && pass close-reconnect || { fail close-reconnect "$bad"; pair_table; }
}

# --- bad-values: rejected writes change nothing ------------------------------
case_bad_values() {
	f=$CFG/c1
	bad=
	port=$(cat "$f/port")
	for v in 0 65536 abc ""; do
		wr "$f/port" "$v" 5 && bad="$bad port='$v' accepted"
	done
	# settings are fixed while the instance runs
	wr "$f/port" 21065 5 && bad="$bad port changed while running"
	grep -q EBUSY "$ERR" 2>/dev/null || grep -qi busy "$ERR" 2>/dev/null ||
		bad="$bad running port write: '$(errtxt)' (want EBUSY)"
	[ "$(cat "$f/port")" = "$port" ] || bad="$bad port now $(cat "$f/port")"
	list=$(cat "$f/comms/2/addr_list")
	for v in 1.2.3 1.2.3.4x "[::1" 300.1.1.1; do
		wr "$f/comms/2/addr" "$v" 5 && bad="$bad addr='$v' accepted"
	done
	wr "$f/comms/2/addr" 192.0.2.2 5 && bad="$bad duplicate addr accepted"
	[ "$(cat "$f/comms/2/addr_list")" = "$list" ] || bad="$bad addr_list changed"
	wr "$f/comms/2/nodeid" 7 5 && bad="$bad nodeid changed"
	wr "$f/control" bogus 5 && bad="$bad control=bogus accepted"
	wr "$f/comms/2/bulk" "10 39" 5 && bad="$bad bulk size 39 accepted"
	# a DLM_MSG shorter than stock's 88 B only with "short" (the peer is ours)
	tx=$(cst 1 2 bulk_tx_msgs)
	# 111 B leaves an 87-byte DLM_MSG only inside 3.2's 24-byte OPTS
	s111=
	[ "$(cat "$f/version")" = 3.2 ] && s111=111
	for v in 64 $s111 "64 2"; do
		v="10 $v"
		if wr "$f/comms/2/bulk" "$v" 5; then
			bad="$bad bulk '$v' accepted"
		elif ! grep -qi invalid "$ERR" 2>/dev/null; then
			bad="$bad bulk '$v': '$(errtxt)' (want EINVAL)"
		fi
	done
	[ "$(cst 1 2 bulk_tx_msgs)" = "${tx:-0}" ] || bad="$bad refused bulk queued: bulk_tx_msgs ${tx:-?} -> $(cst 1 2 bulk_tx_msgs)"
	# a writable module parameter keeps its range too
	sp=/sys/module/dlm_lowcomms/parameters/send_pages
	was=$(cat "$sp")
	for v in 0 17 abc -1 ""; do
		wr "$sp" "$v" 5 && bad="$bad send_pages='$v' accepted"
	done
	[ "$(cat "$sp")" = "$was" ] || bad="$bad send_pages now $(cat "$sp")"
	dw=/sys/module/dlm_lowcomms/parameters/dial_wait_ms
	was=$(cat "$dw")
	for v in 5001 abc -1 ""; do
		wr "$dw" "$v" 5 && bad="$bad dial_wait_ms='$v' accepted"
	done
	[ "$(cat "$dw")" = "$was" ] || bad="$bad dial_wait_ms now $(cat "$dw")"
	[ "$(cat "$f/control")" = running ] || bad="$bad c1 no longer running"
	[ -z "$bad" ] && pass bad-values || fail bad-values "$bad"
}

# --- reset-killable: a reset waiting behind a stuck bulk dies with SIGKILL ---
# predicates for until_t
bulk_waited() { [ "$(cst 1 2 backlog_waits)" -gt "${w0:-0}" ] 2>/dev/null; }
task_state() { cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null; }
in_kernel_sleep() { [ "$(task_state "$1")" = D ]; }
exited() { ! kill -0 "$1" 2>/dev/null; }
all_acked_1_2() { [ "$(cst 1 2 unacked_msgs)" = 0 ]; }

case_reset_kill() {
	f=$CFG/c1/comms/2
	bad=
	w0=$(cst 1 2 backlog_waits)
	wr "$CFG/c2/control" stop 30 || { fail reset-killable "stop c2: $(errtxt)"; return 1; }
	# more than the 4 MiB backlog to a stopped node: the bulk write waits
	sh -c 'echo "$1" > "$2"' w "$((5 * 1048576 / SIZE)) $SIZE" "$f/bulk" 2>/dev/null &
	bpid=$!
	until_t 10 bulk_waited || bad="$bad bulk never waited for the backlog"
	sh -c 'echo 1 > "$1"' w "$f/reset" 2>/dev/null &
	rpid=$!
	# the reset must be asleep in the kernel, behind the bulk, when killed
	until_t 3 in_kernel_sleep "$rpid" ||
		bad="$bad reset not waiting in the kernel (state '$(task_state "$rpid")')"
	kill -0 "$bpid" 2>/dev/null || bad="$bad bulk ended before the kill"
	kill -9 "$rpid" 2>/dev/null
	until_t 3 exited "$rpid" || bad="$bad reset still there 3 s after SIGKILL (behind the bulk)"
	kill -9 "$bpid" 2>/dev/null
	until_t 3 exited "$bpid" || bad="$bad bulk still there 3 s after SIGKILL"
	wait "$rpid" "$bpid" 2>/dev/null
	wr "$CFG/c2/control" start 30 || bad="$bad start c2: $(errtxt)"
	until_t "$BULK_TIMEOUT" all_acked_1_2 ||
		bad="$bad c1->2 unacked $(cst 1 2 unacked_msgs) after ${BULK_TIMEOUT}s"
	wr "$f/reset" 1 10 || bad="$bad reset after: $(errtxt)"
	wr "$f/ping" "3 2000" 30 || bad="$bad ping after: $(errtxt)"
	[ -z "$bad" ] && pass reset-killable || fail reset-killable "$bad"
}

# --- port-taken: a second listener on the same address fails clearly --------
case_port_taken() {
	d=$CFG/c1dup
	in_ns n1 mkdir "$d" 2>"$ERR" || { fail port-taken "mkdir: $(errtxt)"; return 1; }
	mkdir "$d/comms/1" && wr "$d/comms/1/addr" 192.0.2.1 && wr "$d/comms/1/local" 1 ||
		{ fail port-taken "configure: $(errtxt)"; rmdir "$d/comms/1" "$d" 2>/dev/null; return 1; }
	bad=
	# local reads what the instance has: one node at a time
	if mkdir "$d/comms/2" 2>"$ERR" && wr "$d/comms/2/local" 1; then
		l=$(cat "$d/comms/1/local")/$(cat "$d/comms/2/local")
		[ "$l" = 0/1 ] || bad="$bad local 1/2 reads $l after 2 was made local"
		wr "$d/comms/1/local" 1 || bad="$bad local back to 1: $(errtxt)"
		l=$(cat "$d/comms/1/local")/$(cat "$d/comms/2/local")
		[ "$l" = 1/0 ] || bad="$bad local 1/2 reads $l after 1 was made local"
	else
		bad="$bad node 2 local: $(errtxt)"
	fi
	rmdir "$d/comms/2" 2>/dev/null
	if wr "$d/control" start 10; then
		bad="$bad start succeeded on a taken port"
	else
		grep -qi "in use" "$ERR" || bad="$bad error '$(errtxt)' is not EADDRINUSE"
	fi
	[ "$(cat "$d/control")" = stopped ] || bad="$bad dup reads $(cat "$d/control")"
	rmdir "$d/comms/1" "$d" 2>"$ERR" || bad="$bad rmdir: $(errtxt)"
	wr "$CFG/c1/comms/2/ping" "3 2000" 30 || bad="$bad c1 ping after: $(errtxt)"
	[ -z "$bad" ] && pass port-taken || fail port-taken "$bad"
}

# --- remove-under-traffic: rmdir a node while it streams to us -------------
# (A writer on the removed node's own bulk file would hold off the rmdir:
# configfs lets a store finish first. So node 3 streams to node 1 while
# node 1 removes node 3.)
case_remove_traffic() {
	f=$CFG/c1/comms/3
	sh -c 'echo "$1" > "$2"' w "5000000 $SIZE" "$CFG/c3/comms/1/bulk" 2>/dev/null &
	pid=$!
	sleep 0.5
	bad=
	got0=$(cst 1 3 rx_msgs)
	rmdir "$f" 2>"$ERR" || bad="rmdir under traffic: $(errtxt)"
	sleep 0.5
	kill -KILL "$pid" 2>/dev/null || bad="$bad writer already done (test too weak)"
	wait "$pid" 2>/dev/null
	[ "${got0:-0}" -gt 0 ] 2>/dev/null || bad="$bad no traffic from n3 before the rmdir"
	wr "$CFG/c1/comms/2/ping" "3 2000" 30 || bad="$bad c1->n2 ping after rmdir: $(errtxt)"
	# put the node back; traffic to it works again
	mkdir "$f" 2>"$ERR" && wr "$f/addr" 192.0.2.3 ||
		{ fail remove-under-traffic "$bad re-add: $(errtxt)"; return 1; }
	if ! wr "$f/ping" "3 2000" 30; then
		bad="$bad ping after re-add: $(errtxt)"
		# both ends' view, for the log
		diag "c1/comms/3: $(tr '\n' ' ' <"$f/status")"
		diag "c3/comms/1: $(tr '\n' ' ' <"$CFG/c3/comms/1/status")"
		dmesg | tail -n 20 | sed 's/^/  /'
	fi
	wr "$CFG/c3/comms/1/reset" 1
	wr "$f/bulk" "1000 $SIZE" 60 || bad="$bad bulk after re-add: $(errtxt)"
	k=0
	while [ "$(cst 3 1 bulk_rx_msgs)" != 1000 ] && [ $k -lt 150 ]; do
		sleep 0.2
		k=$((k + 1))
	done
	[ "$(cst 3 1 bulk_rx_msgs)" = 1000 ] || bad="$bad after re-add n3 got $(cst 3 1 bulk_rx_msgs)/1000"
	[ "$(cst 3 1 bulk_rx_seq_err)" = 0 ] || bad="$bad seq_err after re-add"
	info "remove-under-traffic: node 1 had received $got0 messages from node 3 when it removed it; refused since: $(st "$CFG/c1/status" refused)"
	[ -z "$bad" ] && pass remove-under-traffic || fail remove-under-traffic "$bad"
}

# --- netns-gone: an instance whose namespace dies is stopped safely ----------
case_netns_gone() {
	"$IP" netns add n4 2>"$ERR" || { fail netns-gone "netns add: $(errtxt)"; return 1; }
	"$IP" -n n4 link set lo up
	"$IP" -n n4 addr add 192.0.2.4/32 dev lo
	d=$CFG/c4
	in_ns n4 mkdir "$d" 2>"$ERR" && mkdir "$d/comms/4" &&
		wr "$d/comms/4/addr" 192.0.2.4 && wr "$d/comms/4/local" 1 &&
		wr "$d/control" start ||
		{ fail netns-gone "setup: $(errtxt)"; "$IP" netns del n4; return 1; }
	"$IP" netns del n4
	k=0
	while [ "$(st "$d/status" running)" != 0 ] && [ $k -lt 100 ]; do
		sleep 0.2
		k=$((k + 1))
	done
	bad=
	[ "$(st "$d/status" running)" = 0 ] || bad="still running 20 s after the netns was deleted"
	wr "$d/control" start 10 && bad="$bad restart in a dead netns succeeded"
	rmdir "$d/comms/4" "$d" 2>"$ERR" || bad="$bad rmdir: $(errtxt)"
	[ -z "$bad" ] && pass netns-gone || fail netns-gone "$bad"
}

# --- teardown ---------------------------------------------------------------
case_teardown() {
	bad=
	if [ -d "$CFG" ]; then
		for d in "$CFG"/*/; do
			remove_instance "$d"
		done
	fi
	topo_down
	if grep -q '^dlm_lowcomms ' /proc/modules; then
		rmmod_retry || bad="$bad rmmod: $(errtxt) (refcnt $(cat /sys/module/dlm_lowcomms/refcnt 2>/dev/null))"
	else
		bad="$bad module not loaded"
	fi
	echo "TAINTED: $(cat /proc/sys/kernel/tainted)"
	[ -z "$bad" ] && pass teardown || fail teardown "$bad"
}

# --- for the scripts that source this one -----------------------------------
# agg sum|max KEY [nodes]: KEY of every node's status for every peer (or,
# with nodes, of every instance's own status) added up or the largest. A
# status without KEY counts 0 in a sum (callers do arithmetic on sums,
# which dash aborts on a word), and makes max print "missing", which no
# bound check takes for a number.
agg() {
	ag_r=0
	if [ "${3:-}" = nodes ]; then ag_l=$NODES; else ag_l=$(pairs | tr ' ' ':'); fi
	for ag_p in $ag_l; do
		case $ag_p in
		*:*) ag_x=$(cst "${ag_p%:*}" "${ag_p#*:}" "$2") ;;
		*) ag_x=$(st "$CFG/c$ag_p/status" "$2") ;;
		esac
		case $1$ag_x in
		sum) ag_x=0 ;;
		max) echo missing; return 1 ;;
		esac
		case $1 in
		sum) ag_r=$((ag_r + ag_x)) ;;
		*) [ "$ag_x" -gt "$ag_r" ] && ag_r=$ag_x ;;
		esac
	done
	echo "$ag_r"
}
sum_pairs() { agg sum "$1"; }

skip() { fail "$1" "not run ($2 failed)"; }

# cluster_cases "LATER" FN: load, topology and configure, then FN (which
# runs the cases named in LATER), then teardown; what could not run
# because an earlier case failed is reported as a FAIL
cluster_cases() {
	if case_load; then
		if case_topology; then
			if case_configure; then
				"$2"
			else
				for c in $1; do skip "$c" configure; done
			fi
		else
			for c in configure $1; do skip "$c" topology; done
		fi
		case_teardown
	else
		for c in topology configure $1 teardown; do skip "$c" load; done
	fi
}

# --- main -------------------------------------------------------------------
# faults.sh, scale.sh, soak.sh and ceiling.sh source this file for the
# setup cases and run their own.
[ "${CLUSTER_LIB:-0}" = 1 ] && return 0
T0=$(now)
info "cluster: ip=$IP module=${MOD:-none} MSGS=$MSGS SIZE=$SIZE kernel=$(uname -r)"
cluster_later() {
	case_ping
	case_bulk
	case_io_priority
	case_close
	case_bad_values
	[ -n "$RESET_KILL" ] && case_reset_kill
	case_port_taken
	case_remove_traffic
	case_netns_gone
}
# reset-killable needs the 3.2 backlog to hold the bulk writer
RESET_KILL=reset-killable
[ "${CLUSTER_VERSION:-3.2}" = 3.2 ] || RESET_KILL=
cluster_cases "ping bulk io-priority close-reconnect bad-values $RESET_KILL port-taken remove-under-traffic netns-gone" \
	cluster_later
info "cluster: finished in $(elapsed "$T0")s, $failed failed"
rm -f "$ERR" "$ERR".bulk.*
exit $failed
