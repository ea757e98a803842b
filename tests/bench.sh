#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# bench.sh: the parallel design against its own serialized baseline, both
# measured in this boot. Runs cluster.sh (3 nodes, all-to-all checked bulk)
# ROUNDS times with each setting, alternating:
#   serial:   insmod serial_io=1 (one ordered socket queue, as before 6.5,
#             at the parallel setting's worker priority)
#   parallel: the default (unordered, unbound dlm_io), DLM 3.2
#   v3.1:     parallel, every node set to 3.1 (no sequence numbers, copies
#             or ACKs): what reliable delivery costs
# and prints the receivers' throughput and ping RTT for each, then one
# "INFO: bench result:" line per setting with the median. Correctness is still checked
# (cluster.sh's own PASS/FAIL lines, tagged bench-<setting>-<round>).
# Environment: BENCH_ROUNDS (3), MSGS (60000), SIZE (256), BENCH_PERF (1:
# one more round per setting under perf, not counted in the results; its
# top symbols as "INFO: bench perf: <setting> pct dso symbol" lines).

here=$(dirname "$0")
ROUNDS=${BENCH_ROUNDS:-3}
export MSGS=${MSGS:-60000} SIZE=${SIZE:-256}
OUT=${TMPDIR:-/tmp}/bench.$$
mkdir -p "$OUT"

rate() {	# rate LOG: msgs/s by the receivers' longest span
	sed -n 's/^INFO: bulk: by bulk_rx_span_ns.*: \([0-9]*\) msgs\/s.*/\1/p' "$1"
}
p50() {		# p50 LOG: median of the per-pair ping p50s, in us
	sed -n 's/^INFO: ping .* p50=\([0-9.]*\)us.*/\1/p' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
cpu() {		# cpu LOG: CPU microseconds per delivered message
	sed -n 's/^INFO: bulk: cpu cpu_us_per_msg=\([0-9.]*\) .*/\1/p' "$1"
}
busy() {	# busy LOG: share of all CPUs busy over the bulk, in %
	sed -n 's/^INFO: bulk: cpu .* busy_pct=\([0-9.]*\).*/\1/p' "$1"
}
settings() {	# settings MODE: cluster.sh's insmod parameters and version
	params=
	version=
	[ "$1" = serial ] && params=serial_io=1
	[ "$1" = v3.1 ] && version=3.1
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

r=1
while [ "$r" -le "$ROUNDS" ]; do
	for mode in serial parallel v3.1; do
		settings "$mode"
		CLUSTER_TAG=bench-$mode-$r CLUSTER_MODPARAMS=$params CLUSTER_VERSION=$version \
			sh "$here/cluster.sh" "$@" >"$OUT/$mode-$r.log" 2>&1
		grep -E '^(PASS|FAIL): ' "$OUT/$mode-$r.log"
		echo "INFO: bench round $r $mode: $(rate "$OUT/$mode-$r.log") msgs/s, ping p50 $(p50 "$OUT/$mode-$r.log") us, $(sed -n 's/^INFO: bulk: cpu //p' "$OUT/$mode-$r.log")"
	done
	r=$((r + 1))
done

if [ "${BENCH_PERF:-0}" = 1 ]; then
	for mode in serial parallel v3.1; do
		settings "$mode"
		CLUSTER_PERF=1 CLUSTER_TAG=bench-perf-$mode CLUSTER_MODPARAMS=$params \
			CLUSTER_VERSION=$version sh "$here/cluster.sh" "$@" >"$OUT/perf.$mode.log" 2>&1
		grep -E '^(PASS|FAIL): ' "$OUT/perf.$mode.log"
		# a perf that is missing or did not start says so here too
		sed -n "s/^INFO: perf: \(bulk \)*/INFO: bench perf: $mode /p" "$OUT/perf.$mode.log"
	done
fi

for mode in serial parallel v3.1; do
	m=$(for f in "$OUT"/$mode-*.log; do rate "$f"; done | median)
	p=$(for f in "$OUT"/$mode-*.log; do p50 "$f"; done | median)
	c=$(for f in "$OUT"/$mode-*.log; do cpu "$f"; done | median)
	b=$(for f in "$OUT"/$mode-*.log; do busy "$f"; done | median)
	echo "INFO: bench result: $mode msgs_per_s=${m:-?} mb_per_s=$(awk -v m="${m:-0}" -v s="$SIZE" 'BEGIN { printf "%.1f", m * s / 1e6 }') ping_p50_us=${p:-?} cpu_us_per_msg=${c:-?} size=$SIZE msgs=$MSGS rounds=$ROUNDS busy_pct=${b:-?}"
done
rm -rf "$OUT"
