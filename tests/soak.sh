#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# soak.sh [path/to/dlm_lowcomms.ko]: make bench row 7. cluster.sh's three
# nodes (one instance per namespace) under sustained all-to-all checked
# bulk for BENCH_SOAK_SECS (600) seconds, bounded, and then drained:
#   - six writers, one per ordered pair, queue BENCH_SOAK_CHUNK (500)
#     messages at a time, the size cycling 64, 256, 1024, 4000 B
#   - one pinger goes round the pairs (5 pings each, 2 s timeout)
#   - every BENCH_SOAK_CLOSE (60) seconds one pair's connection is closed
#     (the next pair each time): reconnect and resend under load
#   - every BENCH_SOAK_EVERY (10) seconds one sample line:
#     INFO: soak: soak t=S used_kb=U slab_kb=S unreclaim_kb=R queued=B
#           unacked=B process=B rx_msgs=N
#     ("warm t=..." during the warm-up)
#     (U: MemTotal - MemAvailable; queued, unacked: write queues and
#     resend copies of all pairs, in bytes; process: received bytes
#     waiting for delivery, all instances)
# Memory is compared between two drained points, caches dropped: after a
# warm-up of the same load for BENCH_SOAK_WARM (60) seconds (every
# connection, lane, worker and slab cache exists by then) and after the
# soak. Cases (PASS/FAIL soak.<case>): load topology configure warm-up
# traffic (no writer failed) delivered (every message queued arrived, in
# sequence, good checksums; queues empty afterwards) bounds (queue
# high-water marks within their limits) memory (unreclaimable slab grew
# by at most BENCH_SOAK_SLACK_KB, 2048) teardown. Last line:
# INFO: soak: result secs=S msgs=N msgs_per_s=R unreclaim_growth_kb=G
#       bytes_per_msg=B used_growth_kb=U queued_max=B unacked_max=B
#       process_max=B closes=C ping_fail=P unreclaim_slope_kb_per_min=K

CLUSTER_LIB=1
. "$(dirname "$0")/cluster.sh"
TAG=soak
SECS=${BENCH_SOAK_SECS:-600}
EVERY=${BENCH_SOAK_EVERY:-10}
CHUNK=${BENCH_SOAK_CHUNK:-500}
CLOSE=${BENCH_SOAK_CLOSE:-60}
SLACK=${BENCH_SOAK_SLACK_KB:-2048}
BULK_TIMEOUT=${CLUSTER_BULK_TIMEOUT:-300}
SIZES="64 256 1024 4000"
# the module's limits (lowcomms_int.h, reliable.h): write queue 4 MiB per
# node for writers that wait and 512 KiB more for replies (which cannot),
# kept unacked messages 4 MiB per node, received bytes 8 MiB per
# instance; writers that pass the check together may each add one
# message (the unacked bound: less than a page each)
WQ_BOUND=$((4 * 1024 * 1024 + 512 * 1024 + 65536))
REL_BOUND=$((4 * 1024 * 1024 + 65536))
PROC_BOUND=$((8 * 1024 * 1024 + 65536))
WARM=${BENCH_SOAK_WARM:-60}
STOP=${TMPDIR:-/tmp}/soak.stop.$$
samples=${TMPDIR:-/tmp}/soak.samples.$$

for v in "$SECS" "$WARM" "$EVERY" "$CHUNK" "$CLOSE" "$SLACK"; do
	case $v in
	'' | *[!0-9]* | 0) echo "FAIL: soak.params: SECS=$SECS WARM=$WARM EVERY=$EVERY CHUNK=$CHUNK CLOSE=$CLOSE SLACK=$SLACK: positive integers"; exit 1 ;;
	esac
done
[ "$SECS" -le 3600 ] || { echo "FAIL: soak.params: BENCH_SOAK_SECS=$SECS: at most 3600"; exit 1; }

# mem: MemTotal - MemAvailable, Slab, SUnreclaim, in kB
mem() {
	awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 }
		/^Slab:/ { s = $2 } /^SUnreclaim:/ { u = $2 }
		END { print t - a, s, u }' /proc/meminfo
}

# drained_mem: mem after reclaimable caches and RCU-deferred frees are gone
drained_mem() {
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
	sleep 2
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
	mem
}

# writer I J: checked bulk from I to J until $STOP exists; a failed write
# leaves its error in $ERR.w.I.J and ends the writer
writer() {
	i=$1
	j=$2
	ERR=$ERR.w.$i.$j
	k=0
	while [ ! -e "$STOP" ]; do
		case $((k % 4)) in
		0) sz=64 ;;
		1) sz=256 ;;
		2) sz=1024 ;;
		*) sz=4000 ;;
		esac
		if ! wr "$CFG/c$i/comms/$j/bulk" "$CHUNK $sz 1" 120; then
			mv "$ERR" "$ERR.failed"
			return 1
		fi
		k=$((k + 1))
	done
	rm -f "$ERR"
}

# pinger: round the pairs until $STOP; counts failed pings in $ERR.pingfail
pinger() {
	ERR=$ERR.p
	: >"$ERR.pingfail"
	while [ ! -e "$STOP" ]; do
		for p in $(pairs | tr ' ' ':'); do
			[ -e "$STOP" ] && break
			wr "$CFG/c${p%:*}/comms/${p#*:}/ping" "5 2000" 30 ||
				echo "n${p%:*}->n${p#*:}: $(errtxt)" >>"$ERR.pingfail"
		done
	done
}

# load PHASE SECS: the traffic above for SECS seconds, sampled, then the
# writers stopped; sets $werr (failed writers), $pf (failed pings),
# $closes, $t0/$t1 (start, writers stopped) and $rx0 (bulk_rx_msgs at start)
load() {
	rm -f "$STOP" "$ERR".w.* "$ERR".p*
	rx0=$(agg sum bulk_rx_msgs)
	t0=$(now)
	pids=
	for p in $(pairs | tr ' ' ':'); do
		writer "${p%:*}" "${p#*:}" &
		pids="$pids $!"
	done
	pinger &
	ppid=$!
	closes=0
	next_close=$CLOSE
	# the warm-up closes one too (halfway), so reconnects are warm as well
	[ "$1" = warm ] && next_close=$((WARM / 2))
	next_sample=0
	while :; do
		t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%d", b - a }')
		[ "$t" -ge "$2" ] && break
		if [ "$t" -ge "$next_sample" ]; then
			set -- "$1" "$2" $(mem)
			line="t=$t used_kb=$3 slab_kb=$4 unreclaim_kb=$5 queued=$(agg sum queued) unacked=$(agg sum unacked_bytes) process=$(agg sum process_queued nodes) rx_msgs=$(($(agg sum bulk_rx_msgs) - rx0))"
			info "soak: $1 $line"
			echo "$line" >>"$samples.$1"
			next_sample=$((next_sample + EVERY))
		fi
		if [ "$t" -ge "$next_close" ]; then
			set -- "$1" "$2" $(pairs | sed -n "$((closes % 6 + 1))p")
			wr "$CFG/c$3/comms/$4/close" 1 ||
				info "soak: close n$3->n$4: $(errtxt)"
			closes=$((closes + 1))
			next_close=$((next_close + CLOSE))
		fi
		sleep 1
	done
	: >"$STOP"
	for pid in $pids; do
		wait "$pid"
	done
	wait "$ppid"
	t1=$(now)
	werr=
	for f in "$ERR".w.*.failed; do
		[ -e "$f" ] && werr="$werr ${f#"$ERR".w.}: $(tr '\n' ' ' <"$f")"
	done
	pf=$(wc -l <"$ERR.p.pingfail" 2>/dev/null || echo 0)
	[ "$pf" -gt 0 ] && info "soak: $1: $pf failed ping writes, first: $(head -n1 "$ERR.p.pingfail")"
	rm -f "$STOP" "$ERR".w.* "$ERR".p*
}

# drained: everything sent has arrived in sequence with good checksums and
# no queue holds anything; sets $bad
drained() {
	bad=
	wait_delivered || bad="not delivered within ${BULK_TIMEOUT}s:$lag"
	for p in $(pairs | tr ' ' ':'); do
		i=${p%:*}
		j=${p#*:}
		csum=$(cst "$j" "$i" bulk_rx_bad_csum)
		seq=$(cst "$j" "$i" bulk_rx_seq_err)
		[ "$csum" = 0 ] || bad="$bad n$i->n$j:bad_csum=$csum"
		[ "$seq" = 0 ] || bad="$bad n$i->n$j:seq_err=$seq"
	done
	wait_empty || bad="$bad not empty after 60 s: $left"
	[ -z "$bad" ]
}

# warm-up: the same load for WARM seconds, so that every connection, lane,
# worker and slab cache the soak uses exists before the first measurement
case_warmup() {
	load warm "$WARM"
	[ -z "$werr" ] || { fail warm-up "writer failed:$werr"; return 1; }
	drained || { fail warm-up "$bad"; pair_table; return 1; }
	pass warm-up
}

# wait_empty: bounded wait until no instance holds queued, unacked or
# received-but-undelivered bytes; sets $left
wait_empty() {
	t=$(now)
	while :; do
		left="queued=$(agg sum queued) unacked=$(agg sum unacked_bytes) process=$(agg sum process_queued nodes)"
		[ "$left" = "queued=0 unacked=0 process=0" ] && return 0
		older_than "$t" 60 && return 1
		sleep 0.5
	done
}

case_soak() {
	set -- $(drained_mem)
	base_used=$1 base_unrec=$3
	info "soak: drained before: used_kb=$1 slab_kb=$2 unreclaim_kb=$3"
	load soak "$SECS"
	[ -z "$werr" ] && pass traffic || fail traffic "writer failed:$werr"
	msgs0=$rx0
	if drained; then
		pass delivered
	else
		fail delivered "$bad"
		pair_table
	fi
	msgs=$(($(agg sum bulk_rx_msgs) - msgs0))

	qmax=$(agg max queued_max)
	umax=$(agg max unacked_max)
	pmax=$(agg max process_max nodes)
	bad=
	[ "$qmax" -le "$WQ_BOUND" ] || bad="$bad queued_max=$qmax>$WQ_BOUND"
	[ "$umax" -le "$REL_BOUND" ] || bad="$bad unacked_max=$umax>$REL_BOUND"
	[ "$pmax" -le "$PROC_BOUND" ] || bad="$bad process_max=$pmax>$PROC_BOUND"
	[ -z "$bad" ] && pass bounds || fail bounds "$bad"

	set -- $(drained_mem)
	info "soak: drained after: used_kb=$1 slab_kb=$2 unreclaim_kb=$3"
	grow=$(($3 - base_unrec))
	ugrow=$(($1 - base_used))
	# least-squares slope of the soak's unreclaimable slab samples, second
	# half, kB/min
	slope=$(awk -v h="$((SECS / 2))" '{
		t = $1; s = $4; sub(/.*=/, "", t); sub(/.*=/, "", s)
		if (t + 0 < h + 0) next
		n++; sx += t; sy += s; sxx += t * t; sxy += t * s }
		END { d = n * sxx - sx * sx
			if (n < 2 || d == 0) print "-"
			else printf "%.1f", (n * sxy - sx * sy) / d * 60 }' "$samples.soak")
	secs=$(elapsed "$t0" "$t1")
	info "soak: result secs=$secs msgs=$msgs msgs_per_s=$(awk -v m="$msgs" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0) ? m / s : 0 }')" \
		"unreclaim_growth_kb=$grow bytes_per_msg=$(awk -v g="$grow" -v m="$msgs" 'BEGIN { printf "%.3f", (m > 0) ? g * 1024 / m : 0 }')" \
		"used_growth_kb=$ugrow queued_max=$qmax unacked_max=$umax process_max=$pmax closes=$closes ping_fail=$pf unreclaim_slope_kb_per_min=$slope"
	if [ "$msgs" -le 0 ]; then
		fail memory "no messages moved: nothing to judge"
	elif [ "$grow" -gt "$SLACK" ]; then
		fail memory "unreclaimable slab grew by $grow kB over $msgs messages and $closes reconnects (at most $SLACK kB)"
	else
		pass memory
	fi
}

soak_cases() {
	if case_warmup; then
		case_soak
	else
		for c in traffic delivered bounds memory; do skip $c warm-up; done
	fi
}

T0=$(now)
info "soak: module=${MOD:-none} secs=$SECS warm=$WARM chunk=$CHUNK sizes='$SIZES' close_every=$CLOSE kernel=$(uname -r)"
cluster_cases "warm-up traffic delivered bounds memory" soak_cases
info "soak: finished in $(elapsed "$T0")s, $failed failed"
rm -f "$ERR" "$ERR".bulk.* "$samples".*
exit $failed
