#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# faults.sh [path/to/dlm_lowcomms.ko]
#
# The 3-node cluster of cluster.sh (one instance per netns, veth mesh),
# with all-to-all checked bulk traffic while faults are injected. One round
# per fault kind and repetition; in each round every ordered pair sends
# FAULT_MSGS messages while the fault is applied (repeatedly, bounded in
# count), then the fault is healed and every message must arrive exactly
# once, in order, with a good checksum (the bulk sink checks sequence and
# CRC), and the sequence counters of both sides must agree.
#
# Kinds:
#   reset      ss -K kills the TCP sockets of one link, from either side
#   loss       netem 10% loss on one link (both directions)
#   delay      netem 20 ms +- 10 ms
#   reorder    netem 25% of packets sent early (others 10 ms late)
#   duplicate  netem 10% duplicated
#   blackhole  netem 100% loss for 5 s, longer than TCP's initial RTO (1 s)
#   linkflap   veth down for 1 s, then up (routes put back)
#   restart    a node's instance stopped and started (what peers see when
#              a node reboots: FIN, then a new connection)
#   readd      a node removed from a peer's configfs and added again while
#              the other pairs stream (fresh sequence state on one side);
#              the pair itself streams once the node is back
#
# Environment: FAULT_MSGS (per pair per round, default 3000), FAULT_REPEAT
# (rounds per kind, default 1), FAULT_KINDS (default all), SIZE (default
# 512), FAULTS_TAG (default faults), FAULT_WRITERS_TIMEOUT (seconds a
# round's writers may take before they are stopped and the round fails,
# default 180: the suite must end, with its diagnostics, well inside the
# guest's time limit).
# After the rounds, case fin-connect: a graceful removal that makes a due
# connect itself sends the 3.2 FIN once that connect is up.
# Output: PASS/FAIL per round "faults.<kind>.<n>", then checks, and last
# "faults: <F> injected, <S> sent, <D> delivered, <L> lost, <U> duplicated"
# plus "FAULTS-TOTAL: F S D L U" for scripts to add up.

CLUSTER_LIB=1
CLUSTER_TAG=${FAULTS_TAG:-faults}
SIZE=${SIZE:-512}
CLUSTER_BULK_TIMEOUT=${CLUSTER_BULK_TIMEOUT:-180}
. "$(dirname "$0")/cluster.sh"

MSGS_PER=${FAULT_MSGS:-3000}
WRITERS_TIMEOUT=${FAULT_WRITERS_TIMEOUT:-180}
REPEAT=${FAULT_REPEAT:-1}
KINDS=$(echo "${FAULT_KINDS:-reset loss delay reorder duplicate blackhole linkflap restart readd}" | tr , " ")
TC=tc
command -v tc >/dev/null 2>&1 || TC=/usr/sbin/tc

INJ=0		# faults injected
SENT=0
DELIV=0
LOST=0
DUPS=0

netem() {	# netem I J ARGS...: a netem qdisc on both ends of link I-J
	ne_i=$1
	ne_j=$2
	shift 2
	$TC -n "n$ne_i" qdisc replace dev "v$ne_i$ne_j" root netem "$@" 2>"$ERR" &&
		$TC -n "n$ne_j" qdisc replace dev "v$ne_j$ne_i" root netem "$@" 2>>"$ERR"
}

netem_drops() {	# packets netem dropped on link I-J so far
	{ $TC -n "n$1" -s qdisc show dev "v$1$2"; $TC -n "n$2" -s qdisc show dev "v$2$1"; } 2>/dev/null |
		awk '/dropped/ { gsub(",", ""); for (k = 1; k <= NF; k++) if ($k == "(dropped") d += $(k + 1) } END { print d + 0 }'
}

netem_off() {
	$TC -n "n$1" qdisc del dev "v$1$2" root 2>/dev/null
	$TC -n "n$2" qdisc del dev "v$2$1" root 2>/dev/null
}

link_up() {	# link_up I J: veth vIJ up in nI, its peer route back
	"$IP" -n "n$1" link set "v$1$2" up &&
		"$IP" -n "n$1" route replace "192.0.2.$2/32" dev "v$1$2" src "192.0.2.$1"
}

# One injection of KIND on link I-J (round number R picks the side).
# Shell variables are global: this one sets only names starting with "in_"
# (it once set k, the caller's loop counter, to the number of sockets
# killed; a round that found none in a row never ended).
inject() {
	in_kind=$1 in_i=$2 in_j=$3 in_r=$4
	case $in_kind in
	reset)
		# alternate sides: each kills its sockets to the other
		if [ $((in_r % 2)) = 0 ]; then
			in_a=$in_i in_b=$in_j
		else
			in_a=$in_j in_b=$in_i
		fi
		# bounded, in case ss itself hangs
		in_k=$(in_ns "n$in_a" timeout -k 2 10 ss -K -t -n dst "192.0.2.$in_b" 2>/dev/null |
			grep -c ESTAB)
		INJ=$((INJ + in_k))
		;;
	restart)
		wr "$CFG/c$in_j/control" stop 60 && sleep 0.3 &&
			wr "$CFG/c$in_j/control" start 60 || bad="$bad restart c$in_j: $(errtxt)"
		INJ=$((INJ + 1))
		;;
	linkflap)
		"$IP" -n "n$in_i" link set "v$in_i$in_j" down && sleep 1 &&
			link_up "$in_i" "$in_j" || bad="$bad linkflap: $(errtxt)"
		link_up "$in_j" "$in_i" 2>/dev/null
		INJ=$((INJ + 1))
		;;
	*)
		INJ=$((INJ + 1))
		;;
	esac
}

# Apply the netem kinds for the whole round; the others are single events.
fault_on() {
	case $1 in
	loss) netem "$2" "$3" loss 10% ;;
	delay) netem "$2" "$3" delay 20ms 10ms ;;
	reorder) netem "$2" "$3" delay 10ms reorder 25% 50% ;;
	duplicate) netem "$2" "$3" duplicate 10% ;;
	blackhole) netem "$2" "$3" loss 100% ;;
	*) true ;;
	esac
}

# send_pair I J N: node I sends N bulk messages to J. A write that meets a
# full unacked backlog for 30 s fails with ENOBUFS (by design: the sender
# is told); the writer then sends the rest, up to 5 times.
send_pair() {
	k=0
	while :; do
		# no status (node gone): 0, and the write below says why
		tx=$(cst "$1" "$2" bulk_tx_msgs)
		left=$(($3 - ${tx:-0}))
		[ $left -le 0 ] && return 0
		wr "$CFG/c$1/comms/$2/bulk" "$left $SIZE" "$BULK_TIMEOUT" && continue
		k=$((k + 1))
		grep -qi 'buffer space' "$ERR" && [ $k -lt 5 ] || {
			echo "n$1->n$2: $(errtxt)"
			return 1
		}
		echo "n$1->n$2" >>"$ERR.enobufs"
	done
}

# send_all_retry N [I J]: every ordered pair sends N messages. With I J,
# the pair I-J starts only once the node is removed and added again (the
# other pairs stream meanwhile): its sender state is forgotten on one side,
# which would make a run that spans the removal impossible to account.
send_all_retry() {
	pids=
	for p in $(pairs | tr ' ' ':'); do
		case "$p" in "${2:-x}:${3:-x}" | "${3:-x}:${2:-x}") continue ;; esac
		ERR=$ERR.$p send_pair "${p%:*}" "${p#*:}" "$1" &
		pids="$pids $!"
		echo $! >>"$ERR.wpids"
	done
	if [ -n "${2:-}" ]; then
		sleep 0.5
		readd "$2" "$3" || echo "$bad"
		for p in "$2:$3" "$3:$2"; do
			ERR=$ERR.$p send_pair "${p%:*}" "${p#*:}" "$1" &
			pids="$pids $!"
			echo $! >>"$ERR.wpids"
		done
	fi
	r=0
	for pid in $pids; do
		wait "$pid" || r=1
	done
	return $r
}

# stop_writers PID: end a round's writer subshell PID and every send_pair
# it started (their timeout/echo children get TERM too: a bulk write stops
# at a fatal signal), so nothing of this round runs on into the next one.
stop_writers() {
	for w in $(cat "$ERR.wpids" 2>/dev/null); do
		pkill -TERM -P "$w" 2>/dev/null
		kill -TERM "$w" 2>/dev/null
	done
	kill -TERM "$1" 2>/dev/null
}

readd() {	# readd I J: remove node J from instance I and add it again
	d=$CFG/c$1/comms/$2
	rmdir "$d" 2>"$ERR" || { bad="$bad rmdir $d: $(errtxt)"; return 1; }
	mkdir "$d" 2>"$ERR" || { bad="$bad mkdir $d: $(errtxt)"; return 1; }
	wr "$d/addr" "192.0.2.$2" || { bad="$bad $d/addr: $(errtxt)"; return 1; }
}

# Both sides' sequence counters agree and nothing is left unacked.
reconciled() {
	for p in $(pairs | tr ' ' ':'); do
		i=${p%:*}
		j=${p#*:}
		[ "$(cst "$i" "$j" seq_tx_next)" = "$(cst "$j" "$i" seq_rx_next)" ] || return 1
		[ "$(cst "$i" "$j" unacked_msgs)" = 0 ] || return 1
	done
}

round() {
	kind=$1 rnum=$2
	name=$kind.$rnum
	bad=
	# the link under test rotates with the round number
	case $((rnum % 3)) in
	1) li=1 lj=2 ;;
	2) li=2 lj=3 ;;
	*) li=1 lj=3 ;;
	esac
	for p in $(pairs | tr ' ' ':'); do
		wr "$CFG/c${p%:*}/comms/${p#*:}/reset" 1 || bad="$bad reset: $(errtxt)"
	done
	rc0=$(sum_pairs reconnects)
	injr=$INJ
	rt0=$(sum_pairs retransmits)
	du0=$(sum_pairs rx_dups)
	fu0=$(sum_pairs rx_future)
	fin0=$(sum_pairs fin_rx)
	rs0=$(sum_pairs resyncs)

	step "$name: link $li-$lj, fault on"
	fault_on "$kind" "$li" "$lj" || bad="$bad $kind on: $(errtxt)"
	rm -f "$ERR".*.enobufs "$ERR.wpids"
	if [ "$kind" = readd ]; then
		# the remove/add runs in the writers' subshell: count it here
		INJ=$((INJ + 1))
		send_all_retry "$MSGS_PER" "$li" "$lj" >"$ERR.send" 2>&1 &
	else
		send_all_retry "$MSGS_PER" >"$ERR.send" 2>&1 &
	fi
	spid=$!
	case $kind in
	loss | delay | reorder | duplicate | blackhole)
		INJ=$((INJ + 1))
		# hold the fault while the writers run: 3 s at least, 20 s at
		# most; a blackhole 5 s (writers block on it: backlog full)
		k=0
		hold=100
		[ "$kind" = blackhole ] && hold=25
		while [ $k -lt $hold ]; do
			sleep 0.2
			k=$((k + 1))
			[ $k -ge 15 ] && [ "$kind" != blackhole ] &&
				! kill -0 "$spid" 2>/dev/null && break
		done
		drops=$(netem_drops "$li" "$lj")
		netem_off "$li" "$lj"
		case $kind in
		loss | blackhole)
			[ "${drops:-0}" -gt 0 ] || bad="$bad netem dropped nothing"
			info "$name: netem dropped $drops packets on link $li-$lj"
			;;
		esac
		;;
	reset | restart | linkflap)
		k=0
		inj0=$INJ
		while [ $k -lt 6 ]; do
			sleep 0.2
			step "$name: injection $k"
			inject "$kind" "$li" "$lj" "$k"
			k=$((k + 1))
			[ $k -ge 2 ] && ! kill -0 "$spid" 2>/dev/null && break
		done
		;;
	esac
	# bounded: writers stuck on a round must fail it (with the pair table),
	# not keep the guest busy until the host's time limit kills it silently
	step "$name: waiting for the writers"
	tw=$(now)
	while kill -0 "$spid" 2>/dev/null && ! older_than "$tw" "$WRITERS_TIMEOUT"; do
		sleep 0.5
	done
	if kill -0 "$spid" 2>/dev/null; then
		bad="$bad writers still running after ${WRITERS_TIMEOUT}s (stopped)"
		info "$name: writers still running after ${WRITERS_TIMEOUT}s, stopping them"
		pair_table
		stop_writers "$spid"
	fi
	wait "$spid" || true
	[ -s "$ERR.send" ] && bad="$bad writers: $(tr '\n' ' ' <"$ERR.send")"
	nb=$(cat "$ERR".*.enobufs 2>/dev/null | wc -l)
	[ "$nb" -gt 0 ] && info "$name: $nb bulk writes waited 30 s for a full backlog (ENOBUFS) and went on"

	step "$name: waiting for delivery"
	if ! wait_delivered; then
		bad="$bad not delivered:$lag"
		pair_table
	fi
	step "$name: waiting for the counters to agree"
	t=$(now)
	until reconciled || older_than "$t" 30; do sleep 0.2; done
	if ! reconciled; then
		bad="$bad sequence counters disagree or messages unacked"
		for p in $(pairs | tr ' ' ':'); do
			i=${p%:*}
			j=${p#*:}
			diag "n$i->n$j tx_next=$(cst "$i" "$j" seq_tx_next) tx_acked=$(cst "$i" "$j" seq_tx_acked)" \
				"unacked=$(cst "$i" "$j" unacked_msgs) rx_next=$(cst "$j" "$i" seq_rx_next)" \
				"acks_tx=$(cst "$j" "$i" acks_tx) acks_rx=$(cst "$i" "$j" acks_rx) stale=$(cst "$i" "$j" acks_stale)" \
				"connected=$(cst "$i" "$j" connected) queued=$(cst "$i" "$j" queued) drops=$(cst "$i" "$j" drops)"
		done
	fi

	s=0 d=0 u=0
	for p in $(pairs | tr ' ' ':'); do
		i=${p%:*}
		j=${p#*:}
		tx=$(cst "$i" "$j" bulk_tx_msgs)
		rx=$(cst "$j" "$i" bulk_rx_msgs)
		seq=$(cst "$j" "$i" bulk_rx_seq_err)
		csum=$(cst "$j" "$i" bulk_rx_bad_csum)
		s=$((s + ${tx:-0}))
		d=$((d + ${rx:-0}))
		u=$((u + ${seq:-0}))
		[ "$tx" = "$MSGS_PER" ] || bad="$bad n$i->n$j:tx=$tx"
		[ "$csum" = 0 ] || bad="$bad n$i->n$j:bad_csum=$csum"
	done
	l=$((s - d))
	[ $l -lt 0 ] && { u=$((u - l)); l=0; }
	SENT=$((SENT + s))
	DELIV=$((DELIV + d))
	LOST=$((LOST + l))
	DUPS=$((DUPS + u))
	[ $l = 0 ] || bad="$bad lost=$l"
	[ $u = 0 ] || bad="$bad duplicated_or_reordered=$u"

	case $kind in
	reset) [ "$INJ" -gt "$inj0" ] || bad="$bad ss -K found no connection to reset" ;;
	restart) [ "$(sum_pairs fin_rx)" -gt "$fin0" ] || bad="$bad no FIN seen" ;;
	readd) [ "$(sum_pairs resyncs)" -gt "$rs0" ] || bad="$bad no resync seen" ;;
	esac
	info "$name: link $li-$lj injected=$((INJ - injr)) sent=$s delivered=$d lost=$l dup=$u" \
		"reconnects=$(($(sum_pairs reconnects) - rc0)) retransmits=$(($(sum_pairs retransmits) - rt0))" \
		"rx_dups=$(($(sum_pairs rx_dups) - du0)) rx_future=$(($(sum_pairs rx_future) - fu0)) in $(elapsed "$t0")s"
	[ -z "$bad" ] && pass "$name" || fail "$name" "$bad"
}

# A graceful removal of node 2 from instance 1 while 1 has a message for
# 2 and waits for 2's dial (dial_wait_ms 5000; 1 is the lower id): the
# removal makes that connect (the drain takes a node without a socket as
# drained), and the 3.2 FIN must wait for it to come up instead of being
# skipped for a node that is not connected yet. netem's 100 ms on link
# 1-2 keeps it in SYN_SENT (on plain loopback the handshake ends inside
# connect()). Node 2 is added back afterwards. Names: fc_ only.
case_fin_connect() {
	bad=
	fc_d=$CFG/c1/comms/2
	fc_p=/sys/module/dlm_lowcomms/parameters/dial_wait_ms
	fc_w=$(cat "$fc_p")
	wr "$fc_d/close" 1 || bad="$bad close: $(errtxt)"
	fc_t=$(now)
	until [ "$(cst 1 2 connected)" = 0 ] && [ "$(cst 2 1 connected)" = 0 ]; do
		older_than "$fc_t" 20 && { bad="$bad still connected after 20s"; break; }
		sleep 0.2
	done
	netem 1 2 delay 100ms || bad="$bad netem: $(errtxt)"
	echo 5000 >"$fc_p" || bad="$bad dial_wait_ms not set"
	fc_f=$(cst 2 1 fin_rx)
	fc_r=$(cst 2 1 bulk_rx_msgs)
	fc_n=$(cst 1 2 dial_waits)
	wr "$fc_d/bulk" "1 $SIZE" 30 || bad="$bad bulk: $(errtxt)"
	fc_t=$(now)
	until [ "$(cst 1 2 dial_waits)" = $((fc_n + 1)) ]; do
		older_than "$fc_t" 4 && { bad="$bad no dial wait began"; break; }
		sleep 0.1
	done
	rmdir "$fc_d" 2>"$ERR" || bad="$bad rmdir $fc_d: $(errtxt)"
	echo "$fc_w" >"$fc_p" || bad="$bad dial_wait_ms not restored"
	fc_t=$(now)
	until [ "$(cst 2 1 bulk_rx_msgs)" = $((fc_r + 1)) ] && [ "$(cst 2 1 fin_rx)" = $((fc_f + 1)) ]; do
		older_than "$fc_t" 20 && break
		sleep 0.2
	done
	[ "$(cst 2 1 bulk_rx_msgs)" = $((fc_r + 1)) ] ||
		bad="$bad message: $(cst 2 1 bulk_rx_msgs) received, $((fc_r + 1)) expected"
	[ "$(cst 2 1 fin_rx)" = $((fc_f + 1)) ] ||
		bad="$bad FIN: fin_rx $(cst 2 1 fin_rx), $((fc_f + 1)) expected"
	netem_off 1 2
	mkdir "$fc_d" 2>"$ERR" && wr "$fc_d/addr" 192.0.2.2 || bad="$bad re-add: $(errtxt)"
	[ -z "$bad" ] && pass fin-connect || fail fin-connect "$bad"
}

kernel_reports() {
	dmesg 2>/dev/null | grep -E 'WARNING:|BUG:|KASAN|circular locking|possible recursive|lockdep|Oops|refcount_t' |
		grep -v 'KASAN: ' | head -5
	dmesg 2>/dev/null | grep -E 'BUG: KASAN' | head -3
}

memory_table() {
	for i in $NODES; do
		wq=0 un=0
		for j in $NODES; do
			[ "$i" = "$j" ] && continue
			v=$(cst "$i" "$j" queued_max)
			[ "${v:-0}" -gt "$wq" ] && wq=$v
			v=$(cst "$i" "$j" unacked_max)
			[ "${v:-0}" -gt "$un" ] && un=$v
		done
		info "memory n$i: write queue max $wq B per peer, unacked max $un B per peer," \
			"process queue max $(st "$CFG/c$i/status" process_max) B"
	done
}

T0=$(now)
info "faults: kinds='$KINDS' x $REPEAT, $MSGS_PER msgs x $SIZE B per pair per round, kernel $(uname -r)"
if case_load && case_topology && case_configure; then
	bad=
	for i in $NODES; do
		for j in $NODES; do
			[ "$i" = "$j" ] && continue
			wr "$CFG/c$i/comms/$j/ping" "1 5000" 30 || bad="$bad ping n$i->n$j: $(errtxt)"
			v=$(cst "$i" "$j" version)
			[ "$v" = 3.2 ] || bad="$bad n$i sees n$j as version '$v'"
		done
	done
	[ -z "$bad" ] && pass versions || fail versions "$bad"
	n=0
	for r in $(seq 1 "$REPEAT"); do
		for kind in $KINDS; do
			n=$((n + 1))
			t0=$(now)
			round "$kind" "$n"
		done
	done
	memory_table
	case_fin_connect
	rep=$(kernel_reports)
	[ -z "$rep" ] && pass kernel-log || fail kernel-log "$(echo "$rep" | tr '\n' '|')"
fi
case_teardown
info "faults: finished in $(elapsed "$T0")s, $failed failed"
echo "faults: $INJ injected, $SENT sent, $DELIV delivered, $LOST lost, $DUPS duplicated"
echo "FAULTS-TOTAL: $INJ $SENT $DELIV $LOST $DUPS"
rm -f "$ERR" "$ERR".*
exit $failed
