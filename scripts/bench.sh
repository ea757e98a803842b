#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: the benchmark rows this machine can run, into one results
# folder ($DLM_LC_OUT/bench) with one table, CSV and (with gnuplot) PNG.
#   rows 1 and 5, per kernel in BENCH_KERNELS ("6.12 6.1"):
#       scripts/interop-bench.sh: RCOM_STATUS floods and ping latency,
#       stock dlm.ko vs our standalone module vs our drop-in vs legacy
#       (serial_io=1), QEMU TCG, 2 vCPUs
#   row 2, per kernel in BENCH_KERNELS: scripts/dlm-stack.sh VER bench
#       (tests/lockbench.sh): real lock round trips to remote masters
#       under corosync and dlm_controld, two QEMU guests of one vCPU,
#       the kernel's own dlm.ko against our drop-in in one boot: one
#       pair, then both nodes at once (LOCKBENCH_ROUNDS, _SECS pass
#       through)
#   row 3: tests/bench.sh in the Debian 6.12 kernel: parallel dlm_io vs
#       serial_io=1, DLM 3.2 and 3.1, three nodes all-to-all, one boot:
#       messages/s, ping p50, CPU per message and the share of both CPUs
#       busy in legacy mode (100 / that share: about the most parallel
#       can gain over legacy at the same CPU per message);
#       BENCH_PERF=1 adds one round per setting under perf (Debian's
#       linux-perf): where the CPU goes (the issue's row 8)
#   row 4: tests/ceiling.sh in the Debian 6.12 kernel: bulk one way, 64 to
#       4000 B messages, against plain TCP between the same namespaces
#       with the same write sizes (the ceiling) and with 4096 B writes
#       (tests/tools/tcp_bulk.c), and against ours sending one page per
#       sendmsg (send_pages=1, as upstream does)
#   row 6: tests/scale.sh in the Debian 6.12 kernel: 64 instances, one
#       per namespace, each pinging every other: time to connect all,
#       slab per connection and per in-flight message, parallel vs legacy
#   row 7: tests/soak.sh in the Debian 6.12 kernel: three nodes under
#       sustained checked bulk, pings and reconnects for BENCH_SOAK_SECS
#       (600) after a warm-up of BENCH_SOAK_WARM (60): memory and queue
#       depths sampled (soak.csv), unreclaimable slab between two drained
#       points may grow by at most BENCH_SOAK_SLACK_KB (2048)
# BENCH_ROWS ("1 2 3 4 5 6 7": 1 and 5 come together) picks rows;
# BENCH_SHORT=1 runs one round of each, 1 and 4 clients and a 60 s soak
# (an estimated 17 minutes before row 2 joined, not timed; the full run
# without row 2 took 38 here, row 2 alone 10 for both kernels). BENCH_ROUNDS,
# MSGS, SIZE, INTEROP_FLOOD*, BENCH_SCALE_NODES, _MSGS, _MODES
# (tests/scale.sh), BENCH_CEIL_* (tests/ceiling.sh) and BENCH_SOAK_*
# (tests/soak.sh) pass through.
# Numbers are for comparison within one run; TCG is far slower than
# hardware. Exit status: 1 if a step failed, whatever the ratios say.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/outdir.sh"
out=$DLM_LC_OUT/bench
mkdir -p "$out"
rows=${BENCH_ROWS:-1 2 3 4 5 6 7}
kernels=${BENCH_KERNELS:-6.12 6.1}
if [ "${BENCH_SHORT:-0}" = 1 ]; then
	export BENCH_ROUNDS=${BENCH_ROUNDS:-1} INTEROP_FLOOD_ROUNDS=${INTEROP_FLOOD_ROUNDS:-1}
	export INTEROP_FLOOD=${INTEROP_FLOOD:-1 4} INTEROP_FLOOD_PING=${INTEROP_FLOOD_PING:-1}
	export BENCH_SOAK_SECS=${BENCH_SOAK_SECS:-60} BENCH_SOAK_WARM=${BENCH_SOAK_WARM:-20}
	export BENCH_SOAK_CLOSE=${BENCH_SOAK_CLOSE:-15} MSGS=${MSGS:-60000}
	export LOCKBENCH_ROUNDS=${LOCKBENCH_ROUNDS:-1}
fi
# row 3: 60,000 messages took about 0.3 s and rounds of 3.2 read 0.45x to
# 0.96x 3.1; 300,000 take about 1.4 s at 3.2
export BENCH_ROUNDS=${BENCH_ROUNDS:-3} MSGS=${MSGS:-300000} SIZE=${SIZE:-256}
"$HERE/deps.sh" >&2 || exit 1
rc=0
has() { case " $rows " in *" $1 "*) return 0 ;; esac; return 1; }

case " $rows " in
*[!\ 1234567]*) echo "FAIL: bench: BENCH_ROWS='$rows': rows are 1 to 7"; exit 1 ;;
esac
[ -n "${rows// /}" ] || { echo "FAIL: bench: BENCH_ROWS is empty"; exit 1; }

# summary.csv: row,kernel,what,ours,baseline,ratio,target,met; a target is
# ">=x", "<=x", "<x" or empty; ratio and met "-" where a figure is missing.
# met is judged on the unrounded ratio.
csv=$out/summary.csv
echo "row,kernel,what,ours,baseline,ratio,target,met" >"$csv"
add() {	# add ROW KERNEL WHAT OURS BASE TARGET
	awk -v r="$1" -v k="$2" -v w="$3" -v o="$4" -v b="$5" -v t="$6" 'BEGIN {
		x = "-"; met = "-"
		if (o != "" && b != "" && b + 0 != 0) {
			q = o / b; x = sprintf("%.2f", q)
			if (t ~ /^>=/) met = q >= substr(t, 3) + 0 ? "yes" : "no"
			else if (t ~ /^<=/) met = q <= substr(t, 3) + 0 ? "yes" : "no"
			else if (t ~ /^</) met = q < substr(t, 2) + 0 ? "yes" : "no"
		}
		printf "%s,%s,%s,%s,%s,%s,%s,%s\n", r, k, w, o, b, x, t, met }' >>"$csv"
}

# awk: med(A, B) is the median of v[A, B, 1 .. n[A, B]] (sorted in place;
# the lower middle one of an even count), "" if there is none
AWK_MED='function med(a, b,    i, j, t, c) {
	c = n[a, b]
	for (i = 2; i <= c; i++)
		for (j = i; j > 1 && v[a, b, j - 1] > v[a, b, j]; j--) {
			t = v[a, b, j]; v[a, b, j] = v[a, b, j - 1]; v[a, b, j - 1] = t }
	return c ? v[a, b, int((c + 1) / 2)] : "" }'

# --- rows 1 and 5 --------------------------------------------------------
if has 1 || has 5; then
	[ -n "${kernels// /}" ] || { echo "FAIL: bench: BENCH_KERNELS is empty"; exit 1; }
	for ver in $kernels; do
		# nothing of an earlier run in this folder is read as this one's
		rm -rf "$out/interop-bench-$ver" "$out/flood-$ver".* "$out/ping-$ver".*
		DLM_LC_OUT=$out "$HERE/interop-bench.sh" "$ver" >"$out/interop-$ver.log" 2>&1 || rc=1
		grep -E '^FAIL: ' "$out/interop-$ver.log"
		d=$out/interop-bench-$ver
		[ -s "$d/flood.csv" ] || { echo "FAIL: bench: no flood table for $ver"; rc=1; continue; }
		cp "$d/flood.csv" "$out/flood-$ver.csv"
		[ -s "$d/ping.csv" ] && cp "$d/ping.csv" "$out/ping-$ver.csv"
		# flood.csv: kernel,clients,stock_rate,standalone_rate,dropin_rate,
		# legacy_rate,...,stock_us,standalone_us,dropin_us,legacy_us,...
		while IFS=, read -r _ cl sr ar dr lr _ _ _ su au du _; do
			add 1 "$ver" "flood $cl cl standalone/stock replies" "$ar" "$sr" ">=1.2"
			add 1 "$ver" "flood $cl cl standalone/stock cpu" "$au" "$su" "<=0.8"
			add 1 "$ver" "flood $cl cl dropin/stock replies" "$dr" "$sr" ">=1.2"
			add 1 "$ver" "flood $cl cl dropin/stock cpu" "$du" "$su" "<=0.8"
			add 1 "$ver" "flood $cl cl standalone/legacy replies" "$ar" "$lr" ""
		done < <(tail -n +2 "$d/flood.csv")
		# ping.csv: kernel,dlm,idle p50,p99,p999,flood p50,p99,p999,...
		if [ -s "$d/ping.csv" ]; then
			p() { awk -F, -v d="$1" -v c="$2" '$2 == d { print $c }' "$d/ping.csv"; }
			for who in standalone dropin; do
				add 5 "$ver" "ping $who flood/idle p99" "$(p $who 7)" "$(p $who 4)" "<=2"
				add 5 "$ver" "ping $who/legacy flood p99" "$(p $who 7)" "$(p legacy 7)" "<1"
				add 5 "$ver" "ping $who/stock flood p99" "$(p $who 7)" "$(p stock 7)" "<1"
				add 5 "$ver" "ping $who/legacy idle p50" "$(p $who 3)" "$(p legacy 3)" "<=1"
			done
		fi
	done
fi

# --- row 2 ---------------------------------------------------------------
if has 2; then
	[ -n "${kernels// /}" ] || { echo "FAIL: bench: BENCH_KERNELS is empty"; exit 1; }
	for ver in $kernels; do
		rm -f "$out/lockbench-$ver.csv" "$out/lockbench-$ver.log"
		DLM_LC_OUT=$out "$HERE/dlm-stack.sh" "$ver" bench >"$out/lockbench-$ver.log" 2>&1 || rc=1
		grep -E '^FAIL: ' "$out/lockbench-$ver.log"
		# INFO: lock-bench VER: PHASE | stock cycles/s | ours | ratio |
		# CPU us stock | ours | ratio | p50 stock | ours | ratio | p99 ...
		# (medians; the ratios here are of the medians)
		lb() { awk -F' [|] ' -v p="INFO: lock-bench $ver: $1" -v c="$2" \
			'$1 == p { print $c }' "$out/lockbench-$ver.log"; }
		if [ -z "$(lb pair 2)" ] || [ -z "$(lb all 2)" ]; then
			echo "FAIL: bench: no lock-bench table for $ver ($out/lockbench-$ver.log)"
			rc=1
			continue
		fi
		for ph in pair all; do
			want=">=1"
			[ $ph = all ] && want=">=1.2"
			add 2 "$ver" "locks $ph ours/stock cycles/s" "$(lb $ph 3)" "$(lb $ph 2)" "$want"
			add 2 "$ver" "locks $ph ours/stock CPU per cycle" "$(lb $ph 6)" "$(lb $ph 5)" "<=0.9"
			add 2 "$ver" "locks $ph ours/stock node 1 p50" "$(lb $ph 9)" "$(lb $ph 8)" "<=1"
			add 2 "$ver" "locks $ph ours/stock node 1 p99" "$(lb $ph 12)" "$(lb $ph 11)" "<=1"
		done
	done
fi

# --- row 3 ---------------------------------------------------------------
if has 3; then
	rm -f "$out/legacy.csv" "$out/legacy.log"
	# BENCH_PERF=1: one more round per setting under Debian's perf
	perf=
	if [ "${BENCH_PERF:-0}" = 1 ]; then
		perf=$(command -v perf) || { echo "FAIL: bench: BENCH_PERF=1 needs Debian's linux-perf"; exit 1; }
	fi
	QEMU_BINS="${QEMU_BINS:-} $perf" CLUSTER_BULK_TIMEOUT=${CLUSTER_BULK_TIMEOUT:-300} \
		"$HERE/qemu-run.sh" 6.12 "$HERE/../tests/bench.sh" >"$out/legacy.log" 2>&1 || rc=1
	grep -E '^(FAIL: |INFO: bench (result|perf))' "$out/legacy.log"
	# INFO: bench result: MODE msgs_per_s=N mb_per_s=M ping_p50_us=P cpu_us_per_msg=C ...
	# ... busy_pct=B (last)
	awk '/^INFO: bench result: / {
		m[$4] = $5; p[$4] = $7; c[$4] = $8; b[$4] = $NF
		sub(/.*=/, "", m[$4]); sub(/.*=/, "", p[$4]); sub(/.*=/, "", c[$4])
		if (b[$4] ~ /^busy_pct=/) sub(/.*=/, "", b[$4]); else b[$4] = "?" }
	END {
		print "mode,msgs_per_s,ping_p50_us,cpu_us_per_msg,busy_pct"
		for (k in m) printf "%s,%s,%s,%s,%s\n", k, m[k], p[k], c[k], b[k] }' "$out/legacy.log" >"$out/legacy.csv"
	v() { awk -F, -v k="$1" -v c="$2" '$1 == k { print $c }' "$out/legacy.csv"; }
	if [ -n "$(v parallel 2)" ] && [ "$(v parallel 2)" != "?" ]; then
		add 3 6.12 "parallel/legacy 3.2 msgs/s" "$(v parallel 2)" "$(v serial 2)" ">=1.3"
		add 3 6.12 "3.2/3.1 msgs/s" "$(v parallel 2)" "$(v v3.1 2)" ">=0.85"
		add 3 6.12 "parallel/legacy ping p50" "$(v parallel 3)" "$(v serial 3)" "<=1"
		c() { v "$1" 4 | grep -v '?'; }	# "?": no figure
		add 3 6.12 "parallel/legacy 3.2 CPU per msg" "$(c parallel)" "$(c serial)" ""
		add 3 6.12 "3.2/3.1 CPU per msg" "$(c parallel)" "$(c v3.1)" ""
		# both CPUs' share busy over legacy's bulk (wall time, the test's
		# polling included): if parallel costs what legacy does per
		# message, about 100 / that share bounds parallel/legacy
		add 3 6.12 "parallel/legacy ceiling (100/busy %)" 100 \
			"$(v serial 5 | grep -v '?')" ""
	else
		echo "FAIL: bench: no legacy/parallel results ($out/legacy.log)"
		rc=1
	fi
fi

# --- row 4 ---------------------------------------------------------------
if has 4; then
	rm -f "$out/ceiling.csv" "$out/ceiling.log"
	if gcc -static -O2 -Wall -Wextra -o "$out/tcp_bulk" "$HERE/../tests/tools/tcp_bulk.c" \
		>"$out/tcp_bulk-build.log" 2>&1; then
		QEMU_NAME=ceiling-6.12 QEMU_FILES="$out/tcp_bulk" QEMU_TIMEOUT=${QEMU_TIMEOUT:-1800} \
			"$HERE/qemu-run.sh" 6.12 "$HERE/../tests/ceiling.sh" >"$out/ceiling.log" 2>&1 || rc=1
	else
		echo "FAIL: bench: tcp_bulk does not build ($out/tcp_bulk-build.log)"
		rc=1
	fi
	grep -E '^FAIL: ' "$out/ceiling.log" 2>/dev/null
	# INFO: ceiling: round=R size=S ours_mbps=X one_mbps=W tcp_mbps=Y
	# page_mbps=Z ours_ranges_per_call=P, per round: medians per size of
	# the numbers there are ("-": failed)
	awk "$AWK_MED"'
	/^INFO: ceiling: round=/ {
		for (i = 4; i <= NF; i++) {
			k = $i; x = $i; sub(/=.*/, "", k); sub(/^[^=]*=/, "", x)
			if (k == "size") { s = x; if (!(s in seen)) { seen[s] = 1; order[++ns] = s } }
			else if (x ~ /^[0-9]+(\.[0-9]+)?$/ && x + 0 > 0) v[k, s, ++n[k, s]] = x + 0
		} }
	END {
		print "size,ours_mbps,tcp_mbps,page_mbps,one_mbps,ours_pages_per_call,rounds"
		for (i = 1; i <= ns; i++) { s = order[i]
			printf "%s,%s,%s,%s,%s,%s,%s\n", s, med("ours_mbps", s), med("tcp_mbps", s),
				med("page_mbps", s), med("one_mbps", s),
				med("ours_ranges_per_call", s), n["ours_mbps", s] } }' \
		"$out/ceiling.log" >"$out/ceiling.csv" 2>/dev/null
	if [ "$(wc -l <"$out/ceiling.csv")" -gt 1 ]; then
		while IFS=, read -r sz o t p o1 _; do
			case $sz in
			4000) add 4 6.12 "bulk $sz B MB/s ours/TCP same writes" "$o" "$t" ">=0.9" ;;
			*) add 4 6.12 "bulk $sz B MB/s ours/TCP same writes" "$o" "$t" "" ;;
			esac
			case $sz in
			64 | 256) add 4 6.12 "bulk $sz B MB/s ours/ours one page per sendmsg" "$o" "$o1" ">=1.3" ;;
			*) add 4 6.12 "bulk $sz B MB/s ours/ours one page per sendmsg" "$o" "$o1" "" ;;
			esac
			add 4 6.12 "bulk $sz B MB/s ours/TCP 4096 B writes" "$o" "$p" ""
		done < <(tail -n +2 "$out/ceiling.csv")
	else
		echo "FAIL: bench: no ceiling results ($out/ceiling.log)"
		rc=1
	fi
fi

# --- row 6 ---------------------------------------------------------------
if has 6; then
	rm -f "$out/scale.csv" "$out/scale.log"
	QEMU_NAME=scale-6.12 QEMU_TIMEOUT=${QEMU_TIMEOUT:-2400} \
		"$HERE/qemu-run.sh" 6.12 "$HERE/../tests/scale.sh" >"$out/scale.log" 2>&1 || rc=1
	grep -E '^(FAIL: |INFO: scale: mode=.* (connect_all|per_))' "$out/scale.log"
	# INFO: scale: mode=M ok=1 ... connect_all_s=T ...
	# INFO: scale: mode=M ok=1 per_conn_bytes=USED/SLAB ...; per_msg_bytes=
	# too; one of each per round: medians of the rounds whose case passed
	awk "$AWK_MED"'
	function keep(m, k, x) {
		if (x ~ /^[0-9]+(\.[0-9]+)?$/) v[m, k, ++n[m, k]] = x + 0 }
	/^INFO: scale: mode=[a-z]+ ok=1 / {
		m = $3; sub(/.*=/, "", m); modes[m] = 1
		for (i = 5; i <= NF; i++) {
			k = $i; x = $i; sub(/=.*/, "", k); sub(/^[^=]*=/, "", x)
			if (k == "nodes") nodes[m] = x
			if (k == "connect_all_s") keep(m, k, x)
			if (k == "per_conn_bytes") { split(x, uv, "/"); keep(m, "conn_slab", uv[2]) }
			if (k == "per_msg_bytes") {
				split(x, uv, "/"); keep(m, "msg_used", uv[1]); keep(m, "msg_slab", uv[2]) }
		} }
	END {
		print "mode,nodes,connect_all_s,slab_per_conn_bytes,used_per_msg_bytes,slab_per_msg_bytes,rounds"
		for (m in modes) printf "%s,%s,%s,%s,%s,%s,%s\n", m, nodes[m],
			med(m, "connect_all_s"), med(m, "conn_slab"), med(m, "msg_used"),
			med(m, "msg_slab"), n[m, "connect_all_s"] }' \
		"$out/scale.log" >"$out/scale.csv"
	s() { awk -F, -v k="$1" -v c="$2" '$1 == k { print $c }' "$out/scale.csv"; }
	if [ -n "$(s parallel 3)" ]; then
		n=$(s parallel 2)
		# the issue's target is absolute: all connected within 10 s
		add 6 6.12 "$n inst. connect all s parallel/legacy" "$(s parallel 3)" "$(s legacy 3)" ""
		add 6 6.12 "$n inst. connect all s / 10 s" "$(s parallel 3)" 10 "<=1"
		add 6 6.12 "slab B per TCP conn parallel/legacy" "$(s parallel 4)" "$(s legacy 4)" ""
		add 6 6.12 "slab B per queued msg parallel/legacy" "$(s parallel 6)" "$(s legacy 6)" ""
	else
		echo "FAIL: bench: no scale results ($out/scale.log)"
		rc=1
	fi
fi

# --- row 7 ---------------------------------------------------------------
if has 7; then
	rm -f "$out/soak.csv" "$out/soak.log"
	secs=${BENCH_SOAK_SECS:-600} warm=${BENCH_SOAK_WARM:-60}
	# boot and setup, both phases, and room for the guest's own bounded
	# waits (writers 120 s, two drains of CLUSTER_BULK_TIMEOUT + 60 s)
	tmo=$((${secs//[!0-9]/} + ${warm//[!0-9]/} + 2 * (${CLUSTER_BULK_TIMEOUT:-300} + 60) + 600))
	QEMU_NAME=soak-6.12 QEMU_TIMEOUT=${QEMU_TIMEOUT:-$tmo} \
		"$HERE/qemu-run.sh" 6.12 "$HERE/../tests/soak.sh" >"$out/soak.log" 2>&1 || rc=1
	grep -E '^(FAIL: |INFO: soak: result)' "$out/soak.log"
	# INFO: soak: soak t=S used_kb=U slab_kb=S unreclaim_kb=R queued=B
	# unacked=B process=B rx_msgs=N: one CSV row per sample
	awk '/^INFO: soak: soak t=/ {
		l = ""
		for (i = 4; i <= NF; i++) { x = $i; sub(/^[^=]*=/, "", x); l = l (i > 4 ? "," : "") x }
		print l }
		BEGIN { print "t_s,used_kb,slab_kb,unreclaim_kb,queued_bytes,unacked_bytes,process_bytes,rx_msgs" }' \
		"$out/soak.log" >"$out/soak.csv"
	sk() { sed -n "s/^INFO: soak: result.* $1=\\([^ ]*\\).*/\\1/p" "$out/soak.log"; }
	if [ -z "$(sk unreclaim_growth_kb)" ]; then
		echo "FAIL: bench: no soak result ($out/soak.log)"
		rc=1
	elif ! grep -q '^PASS: soak.delivered' "$out/soak.log"; then
		# its own FAIL line says why; memory of a run that lost
		# messages is no figure
		rc=1
	else
		echo "INFO: bench: soak $(sk secs) s, $(sk msgs) messages"
		# growth against a fixed allowance (tests/soak.sh's)
		add 7 6.12 "soak slab growth kB / allowed" \
			"$(sk unreclaim_growth_kb)" "${BENCH_SOAK_SLACK_KB:-2048}" "<=1"
		# the bound as tests/soak.sh checks it (4 MiB + 16 writers' pages)
		add 7 6.12 "soak unacked_max B / bound" "$(sk unacked_max)" 4259840 "<=1"
	fi
fi

# --- the table -----------------------------------------------------------
[ "$(wc -l <"$csv")" -gt 1 ] || { echo "FAIL: bench: nothing measured"; rc=1; }
awk -F, '{ printf "%-3s %-5s %-40s %10s %10s %6s %6s %4s\n", $1, $2, $3, $4, $5,
	$6, $7, $8 }' "$csv" | tee "$out/summary.txt"

# --- plots ---------------------------------------------------------------
# bars CSV TITLE YLABEL PLOT: a histogram of CSV (header row: column
# names) into CSV's name with .png; PLOT is gnuplot's plot arguments
bars() {
	gnuplot -e "set terminal png size 800,480; set output '${1%.csv}.png';
		set datafile separator ','; set key autotitle columnhead;
		set termoption noenhanced; set yrange [0:*];
		set style data histograms; set style fill solid border -1;
		set key top left; set title '$2, $(basename "${1%.csv}")';
		set ylabel '$3'; plot $4" || { echo "FAIL: bench: gnuplot $1"; rc=1; }
}
if command -v gnuplot >/dev/null 2>&1; then
	for f in "$out"/flood-*.csv; do
		[ -s "$f" ] && bars "$f" "RCOM_STATUS flood by client count" replies/s \
			"'$f' using 3:xtic(2) title 'stock', '' using 4 title 'standalone',
			'' using 5 title 'drop-in', '' using 6 title 'legacy'"
	done
	for f in "$out"/ping-*.csv; do
		[ -s "$f" ] && bars "$f" "ping round trip p99" microseconds \
			"'$f' using 4:xtic(2) title 'idle', '' using 7 title 'under a flood'"
	done
	f=$out/ceiling.csv
	[ -s "$f" ] && [ "$(wc -l <"$f")" -gt 1 ] && bars "$f" "bulk one way by message size" MB/s \
		"'$f' using 2:xtic(1) title 'ours', '' using 5 title 'ours, one page per sendmsg',
		'' using 3 title 'TCP, same writes', '' using 4 title 'TCP, 4096 B writes'"
	f=$out/soak.csv
	if [ -s "$f" ] && [ "$(wc -l <"$f")" -gt 1 ]; then
		gnuplot -e "set terminal png size 800,480; set output '${f%.csv}.png';
			set datafile separator ','; set key autotitle columnhead;
			set termoption noenhanced; set yrange [0:*]; set key top left;
			set title 'soak: memory and queue depths over time';
			set xlabel 'seconds'; set ylabel 'kB';
			plot '$f' using 1:4 with lines title 'unreclaimable slab',
			'' using 1:(\$5/1024) with lines title 'write queues',
			'' using 1:(\$6/1024) with lines title 'resend copies',
			'' using 1:(\$7/1024) with lines title 'received, undelivered'" ||
			{ echo "FAIL: bench: gnuplot $f"; rc=1; }
	fi
else
	echo "INFO: bench: no gnuplot, no plots"
fi
echo "INFO: bench: results in $out (summary.csv, *.csv, *.png, logs)"
exit $rc
