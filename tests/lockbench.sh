#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Lock round trips, the kernel's own dlm.ko against our drop-in, in one
# boot (scripts/dlm-stack.sh VER bench runs it on both QEMU guests).
# corosync runs throughout; each round loads one dlm.ko after the other
# (the order alternates between rounds), starts dlm_controld, and runs
# tests/tools/dlm_lockloop's bench twice: "pair", node 1 cycling over
# resources node 2 masters while node 2 only answers, and "all", every
# node cycling over the next node's resources at once. Then it stops
# dlm_controld and unloads dlm.ko. One INFO line per node, phase, round
# and dlm.ko carries the numbers (the host sums and compares them).
#
# Env: DLMSTACK_NODE (1|2), DLMSTACK_NODES (2), LOCKBENCH_ROUNDS (4),
#      LOCKBENCH_SECS (10), LOCKBENCH_NRES (64), DLMSTACK_KO,
#      LOCKBENCH_PERF (1: perf samples every CPU through each "all"
#      phase; INFO lines name the top symbols per dlm.ko and round),
#      LOCKBENCH_CAPTURE (1: tcpdump on DLM's port through round 1's
#      "pair" phase, each dlm.ko; INFO lines count data segments and
#      pure ACKs per direction, the data segments' sizes, and show a
#      stretch of the packets).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stacklib.sh"

ME=${DLMSTACK_NODE:?DLMSTACK_NODE=1|2}
NODES=${DLMSTACK_NODES:-2}
ROUNDS=${LOCKBENCH_ROUNDS:-4}
SECS=${LOCKBENCH_SECS:-10}
NRES=${LOCKBENCH_NRES:-64}
MODS=/modules
ERR=/tmp/lockbench.err
TAG=lockbench-$ME
DLM=

PERF=${LOCKBENCH_PERF:-0}
if [ "$PERF" = 1 ]; then
	command -v perf >/dev/null 2>&1 || { fail perf "no perf in the guest"; exit 1; }
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
fi

CAPTURE=${LOCKBENCH_CAPTURE:-0}
if [ "$CAPTURE" = 1 ]; then
	command -v tcpdump >/dev/null 2>&1 || { fail capture "no tcpdump in the guest"; exit 1; }
fi

# cap_report FILE CASE: per direction, segments with data and without,
# and how many data segments had each size (TCP payload bytes).
# Every tcpdump here takes -Z root: Debian's is built --with-user=tcpdump
# and, run as root, drops to that user after opening the file, reads
# included; the image has no such user, so without it the read exits
# ("Couldn't find user 'tcpdump'") having printed nothing
cap_report() {
	tcpdump -Z root -r "$1" -nn -tt 2>/dev/null | awk '
		{ l = 0; d = ""
		  # -i any adds the interface and direction before "IP"
		  for (i = 1; i <= NF; i++) {
			if ($i == "length") l = $(i + 1) + 0
			if ($i == "IP" && d == "") d = $(i + 1) " " $(i + 3)
		  }
		  if (l > 0) { data[d]++; size[d " len " l]++ } else pure[d]++; n++ }
		END { for (d in data) printf "%s data %d pure %d\n", d, data[d], pure[d]
		      for (d in pure) if (!(d in data)) printf "%s data 0 pure %d\n", d, pure[d]
		      for (k in size) printf "%s segs %d\n", k, size[k]
		      printf "total %d\n", n }' |
		while read -r line; do info "lockbench-cap: $2 $line"; done
	tcpdump -Z root -r "$1" -nn -tt 2>/dev/null | sed -n '400,460p' |
		while read -r line; do info "lockbench-cap-pkt: $2 $line"; done
}

# counters: packets out and in on the link, context switches, TCP
# segments sent with new data (the rest of tx is mostly pure ACKs)
counters() {
	echo "$(cat "/sys/class/net/$dev/statistics/tx_packets") $(cat "/sys/class/net/$dev/statistics/rx_packets") $(awk '$1 == "ctxt" { print $2 }' /proc/stat) $(awk '/^TcpExt:/ { if (!n) { for (i = 1; i <= NF; i++) if ($i == "TCPOrigDataSent") c = i; n = 1 } else print $c }' /proc/net/netstat)"
}

# dlm_conns: established TCP connections to or from the DLM port (21064,
# hex 5248) as this node sees them: 1 per peer if one connection carries
# both directions, 2 if each side sends on the one it opened
dlm_conns() {
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk '$4 == "01" && ($2 ~ /:5248$/ || $3 ~ /:5248$/) { n++ }
			END { print n + 0 }'
}

# conns_watch FILE: the most dlm_conns seen, sampled each second while
# the lockspace lives (its connections close when it is left), into FILE
# until killed
conns_watch() {
	m=0
	while :; do
		c=$(dlm_conns)
		[ "$c" -gt "$m" ] && m=$c && echo "$m" >"$1"
		sleep 1
	done
}

# perf_top CASE DATA: the symbols with the most samples, one INFO line each
perf_top() {
	perf report -i "$2" --stdio --no-children --sort dso,sym \
		--percent-limit 1 2>/dev/null | grep -E '^ +[0-9]' | head -n 25 |
		while read -r pct dso _ sym; do
			info "perf: dlm $DLM $1 $pct $dso $sym"
		done
}

stack_dirs
# (the console keeps its log level: qemu-run.sh reads splats from it; DLM
# logs at lockspace joins and leaves, outside the timed windows)
setup_net || exit 1
start_corosync || exit 1

r=1
while [ "$r" -le "$ROUNDS" ]; do
	order="stock ours"
	[ $((r % 2)) = 0 ] && order="ours stock"
	for DLM in $order; do
		case=$DLM-$r
		if ! load_dlm; then
			fail "load-$case" "$(errtxt)"
			exit 1
		fi
		start_controld "controld-$case" || exit 1
		for phase in pair all; do
			active=1
			[ "$phase" = pair ] && [ "$ME" != 1 ] && active=0
			out=/tmp/bench-$case-$phase.out
			ppid=
			cpid=
			if [ "$CAPTURE" = 1 ] && [ "$r" = 1 ] &&
				[ "$phase" = pair ]; then
				# -Z root: the image has no tcpdump user; immediate
				# mode: a kill would lose the packets not yet handed up
				tcpdump -Z root -i any -nn -s 96 --immediate-mode -U -c 20000 \
					-w "/tmp/cap-$case.pcap" tcp port 21064 \
					>/tmp/cap-$case.log 2>&1 &
				cpid=$!
				sleep 1
			fi
			set -- $(counters)
			echo 0 >/tmp/conns-$case-$phase
			conns_watch /tmp/conns-$case-$phase &
			wpid=$!
			if [ "$PERF" = 1 ] && [ "$phase" = all ]; then
				perf record -a -e cpu-clock -F 997 -o "/tmp/perf-$case.data" \
					-- sleep "$SECS" >/tmp/perf-$case.log 2>&1 &
				ppid=$!
			fi
			timeout $((SECS + 700)) dlm_lockloop bench "lb$r$DLM$phase" \
				"$ME" "$NODES" "$NRES" "$SECS" "$active" >"$out" 2>&1
			st=$?
			kill "$wpid" 2>/dev/null
			wait "$wpid" 2>/dev/null
			if [ "$st" = 0 ]; then
				pass "bench-$case-$phase"
			else
				fail "bench-$case-$phase" "$(tail -n 5 "$out" | tr '\n' ' ')"
				tail -n 20 /tmp/dlm_controld.log
				exit 1
			fi
			sed -n "s/^BENCH: /INFO: lockbench: dlm $DLM round $r phase $phase /p" "$out"
			# per phase, setup included: what each cycle costs besides CPU
			tx=$1 rx=$2 cs=$3 ds=$4
			set -- $(counters)
			info "lockbench-counts: dlm $DLM round $r phase $phase node $ME tx_packets $(($1 - tx)) rx_packets $(($2 - rx)) ctxt $(($3 - cs)) tcp_data_segs $(($4 - ds)) dlm_conns $(cat /tmp/conns-$case-$phase)"
			if [ -n "$cpid" ]; then
				kill "$cpid" 2>/dev/null
				wait "$cpid"
				info "lockbench-cap: $case tcpdump: $(tail -n 3 "/tmp/cap-$case.log" | tr '\n' ' ') file $(wc -c "/tmp/cap-$case.pcap" 2>&1), read: $(tcpdump -Z root -r "/tmp/cap-$case.pcap" -nn 2>&1 >/dev/null | tail -n 1)"
				cap_report "/tmp/cap-$case.pcap" "$case"
				rm -f "/tmp/cap-$case.pcap"
			fi
			if [ -n "$ppid" ]; then
				wait "$ppid"
				perf_top "round $r" "/tmp/perf-$case.data"
				rm -f "/tmp/perf-$case.data"
			fi
		done
		stop_controld
		if ! rmmod dlm 2>"$ERR"; then
			fail "rmmod-$case" "$(errtxt)"
			exit 1
		fi
	done
	r=$((r + 1))
done
info "$TAG: midcomms: $(dmesg | grep -c 'because shutdown stuck') shutdown-stuck resets, $(dmesg | grep -c 'retransmit dlm msg') retransmits"
exit "$failed"
