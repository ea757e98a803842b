#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# interop-bench.sh [6.12|6.1]: the kernel's own dlm.ko against our
# standalone module and our drop-in dlm.ko under RCOM_STATUS floods, in the
# same kind of QEMU guest (TCG, 2 vCPUs): scripts/interop.sh <ver> stock,
# in one boot the kernel's dlm.ko as node 2, our drop-in swapped in for it
# (its lockspace left, rmmod, insmod, set up again: about 2 s) and our
# standalone instance c1, rounds alternating; then scripts/interop.sh <ver>
# dropin, whose flood runs c1 only; each with INTEROP_FLOOD (clients,
# "1 4 8"), INTEROP_FLOOD_ROUNDS (3) rounds of INTEROP_FLOOD_SECS (6) s per
# client count (tests/interop.sh case_flood). The clients listen too, as
# DLM nodes do, and count replies on connections the node opens back to
# them. Prints a table (and flood.csv): median replies/s and CPU per reply
# of each, and standalone/stock, dropin/stock, standalone/legacy. The
# drop-in's boot has our standalone module loaded with serial_io=1
# ("legacy": one ordered socket queue, as before 6.5, but at our worker
# priority), so every interop case of that boot runs c1 in that mode;
# ratios against legacy cross boots, the others do not.
# Then INTEROP_FLOOD_PING (3) rounds per target of ping latency: one client
# (A) keeps one RCOM_STATUS in flight and times it, alone (idle) and while
# two more flood the same node (A under SCHED_FIFO, standing for another
# machine; INTEROP_FLOOD_PING_RT=0: at nice 0); a second table (and
# ping.csv) gives the
# medians of p50/p99/p999, the flood's rate, and flood p99 against idle,
# legacy and stock ("-" where one is missing; empty in the CSV).
# Numbers compare within one run only; TCG is far slower than hardware.
set -uo pipefail

ver=${1:-6.12}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/outdir.sh"
out=$DLM_LC_OUT/interop-bench-$ver
mkdir -p "$out"
export INTEROP_FLOOD=${INTEROP_FLOOD:-1 4 8}
export INTEROP_FLOOD_ROUNDS=${INTEROP_FLOOD_ROUNDS:-3}
export INTEROP_FLOOD_SECS=${INTEROP_FLOOD_SECS:-6}
export INTEROP_FLOOD_PING=${INTEROP_FLOOD_PING:-3}
# the guest does shell arithmetic on these: whole numbers, no leading 0
for v in INTEROP_FLOOD_ROUNDS INTEROP_FLOOD_SECS INTEROP_FLOOD_PING; do
	eval "x=\$$v"
	case $x in
	'' | *[!0-9]* | 0?*)
		echo "FAIL: interop-bench-$ver: $v must be a whole number (no leading 0), not '$x'"
		exit 1 ;;
	esac
done
# the interop cases before the flood, kept short
export INTEROP_STREAM=${INTEROP_STREAM:-2000} INTEROP_CAPTURE=${INTEROP_CAPTURE:-0}

if ! gcc -static -O2 -Wall -Wextra -o "$out/dlm_flood" "$repo/tests/tools/dlm_flood.c" \
	>"$out/flood-build.log" 2>&1; then
	echo "FAIL: interop-bench-$ver: dlm_flood does not build ($out/flood-build.log)"
	exit 1
fi
# INTEROP_FLOOD_PERF=1: one more round per target under perf in the guest
# (Debian's linux-perf on the host), its top symbols as flood-perf lines
bins=
if [ "${INTEROP_FLOOD_PERF:-0}" = 1 ]; then
	bins=$(command -v perf) ||
		{ echo "FAIL: interop-bench-$ver: INTEROP_FLOOD_PERF=1 needs Debian's linux-perf"; exit 1; }
	export INTEROP_FLOOD_PERF
fi
rc=0
for dlm in stock dropin; do
	# the stock boot: the kernel's dlm.ko as node 2, swapped for our
	# drop-in between rounds (INTEROP_SWAP_DROPIN), and our standalone
	# module (parallel) alternating with them; the drop-in's boot: our
	# standalone module with serial_io=1 (legacy) only
	name=standalone params= swap=1 node2=1
	[ "$dlm" = dropin ] && name=legacy params=serial_io=1 swap=0 node2=0
	INTEROP_FLOOD_STANDALONE=1 INTEROP_STANDALONE_NAME=$name \
		INTEROP_LOWCOMMS_PARAMS=$params INTEROP_SWAP_DROPIN=$swap \
		INTEROP_FLOOD_NODE2=$node2 \
		QEMU_FILES="$out/dlm_flood" QEMU_BINS=$bins DLM_LC_OUT=$out \
		"$here/interop.sh" "$ver" "$dlm" >"$out/$dlm.out" 2>&1 || rc=1
	grep -E '^FAIL: ' "$out/$dlm.out"
done

# median of each (dlm, clients): rate and cpu_us_per_reply; stock, the
# drop-in and the standalone module come from the stock boot (their rounds
# alternate there), legacy from the drop-in's
grep -h '^INFO: flood: dlm=' "$out/stock.out" "$out/dropin.out" >"$out/flood.txt"
awk '
function med(key, f,   n, i, j, t, v) {
	n = split(vals[key, f], v, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	return n ? v[int((n + 1) / 2)] : ""
}
# a missing median or ratio is printed as "-" in the table, empty in the CSV
function ratio(x, y) { return (x == "" || y == "" || y + 0 == 0) ? "" : sprintf("%.3f", x / y) }
function cell(x, f) { return x == "" ? "-" : sprintf(f, x) }
{
	# a round line has rate=; the no-replies notes are not rounds
	split("", f)
	for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	if (!("rate" in f)) next
	key = f["dlm"] SUBSEP f["clients"]
	# a silent round is said, not averaged in
	if (f["replies"] + 0 == 0) { silent[f["dlm"]]++; next }
	vals[key, "rate"] = vals[key, "rate"] " " f["rate"]
	vals[key, "cpu"] = vals[key, "cpu"] " " f["cpu_us_per_reply"]
	seen[f["clients"]] = 1
}
END {
	printf "%-6s %3s | %7s %7s %7s %7s | %5s %5s %5s | %6s %6s %6s %6s | %5s %5s\n",
		"kernel", "cl", "stock/s", "stand/s", "dropin", "legacy", "st/sk",
		"dr/sk", "st/lg", "sk us", "st us", "dr us", "lg us", "st/sk", "dr/sk"
	print "kernel,clients,stock_rate,standalone_rate,dropin_rate,legacy_rate,standalone_ratio,dropin_ratio,standalone_legacy_ratio,stock_us,standalone_us,dropin_us,legacy_us,standalone_cpu_ratio,dropin_cpu_ratio" >csv
	for (c in seen) cl[++n] = c + 0
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (cl[j] < cl[i]) { t = cl[i]; cl[i] = cl[j]; cl[j] = t }
	for (i = 1; i <= n; i++) {
		c = cl[i]
		sr = med("stock" SUBSEP c, "rate"); ar = med("standalone" SUBSEP c, "rate")
		dr = med("dropin" SUBSEP c, "rate"); lr = med("legacy" SUBSEP c, "rate")
		sc = med("stock" SUBSEP c, "cpu"); ac = med("standalone" SUBSEP c, "cpu")
		dc = med("dropin" SUBSEP c, "cpu"); lc = med("legacy" SUBSEP c, "cpu")
		printf "%-6s %3d | %7s %7s %7s %7s | %5s %5s %5s | %6s %6s %6s %6s | %5s %5s\n",
			ver, c, cell(sr, "%d"), cell(ar, "%d"), cell(dr, "%d"), cell(lr, "%d"),
			cell(ratio(ar, sr), "%.2f"), cell(ratio(dr, sr), "%.2f"),
			cell(ratio(ar, lr), "%.2f"), cell(sc, "%.1f"), cell(ac, "%.1f"),
			cell(dc, "%.1f"), cell(lc, "%.1f"), cell(ratio(ac, sc), "%.2f"),
			cell(ratio(dc, sc), "%.2f")
		printf "%s,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n",
			ver, c, sr, ar, dr, lr, ratio(ar, sr), ratio(dr, sr), ratio(ar, lr),
			sc, ac, dc, lc, ratio(ac, sc), ratio(dc, sc) >csv
	}
	for (d in silent)
		printf "INFO: %s answered nothing in %d round(s), left out of its medians\n", d, silent[d]
}' ver="$ver" csv="$out/flood.csv" "$out/flood.txt" | tee "$out/table.txt"
[ -s "$out/flood.txt" ] || { echo "FAIL: interop-bench-$ver: no flood rounds"; rc=1; }
# ping latency: medians over the rounds of each (dlm, load) percentile
# and of the flood's rate; a round the guest marked valid=0 (too few
# round trips, or a flood that did not flow) is counted and said, not used
grep -h '^INFO: flood-ping: dlm=.* valid=' "$out/stock.out" "$out/dropin.out" >"$out/ping.txt"
awk '
function med(key,   n, i, j, t, v) {
	n = split(vals[key], v, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	return n ? v[int((n + 1) / 2)] : ""
}
# as in the flood table: "-" in the table, empty in the CSV where missing
function ratio(x, y) { return (x == "" || y == "" || y + 0 == 0) ? "" : sprintf("%.3f", x / y) }
function cell(x, f) { return x == "" ? "-" : sprintf(f, x) }
{
	split("", f)
	for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	if (f["valid"] != 1) { skipped[f["dlm"] " " f["load"]]++; next }
	for (q = 1; q <= 3; q++) {
		k = f["dlm"] SUBSEP f["load"] SUBSEP qn[q]
		vals[k] = vals[k] " " f[qn[q] "_us"]
	}
	if (f["load"] == "flood")
		vals[f["dlm"] SUBSEP "rate"] = vals[f["dlm"] SUBSEP "rate"] " " f["load_rate"]
	seen[f["dlm"]] = 1
}
BEGIN { qn[1] = "p50"; qn[2] = "p99"; qn[3] = "p999" }
END {
	printf "%-6s %-10s | %7s %7s %7s | %7s %7s %7s %7s | %6s %6s %6s\n", "kernel",
		"dlm", "idle50", "idle99", "idle999", "load50", "load99",
		"load999", "load/s", "99/idl", "99/lg", "99/sk"
	print "kernel,dlm,idle_p50_us,idle_p99_us,idle_p999_us,flood_p50_us,flood_p99_us,flood_p999_us,flood_replies_per_s,flood_idle_p99_ratio,flood_p99_vs_legacy,flood_p99_vs_stock" >csv
	lg = med("legacy" SUBSEP "flood" SUBSEP "p99")
	sk = med("stock" SUBSEP "flood" SUBSEP "p99")
	split("stock standalone dropin legacy", order, " ")
	for (o = 1; o <= 4; o++) {
		d = order[o]
		if (!(d in seen)) continue
		for (q = 1; q <= 3; q++) {
			iv[q] = med(d SUBSEP "idle" SUBSEP qn[q])
			fv[q] = med(d SUBSEP "flood" SUBSEP qn[q])
		}
		lr = med(d SUBSEP "rate")
		printf "%-6s %-10s | %7s %7s %7s | %7s %7s %7s %7s | %6s %6s %6s\n",
			ver, d, cell(iv[1], "%.0f"), cell(iv[2], "%.0f"), cell(iv[3], "%.0f"),
			cell(fv[1], "%.0f"), cell(fv[2], "%.0f"), cell(fv[3], "%.0f"),
			cell(lr, "%.0f"), cell(ratio(fv[2], iv[2]), "%.2f"),
			cell(ratio(fv[2], lg), "%.2f"), cell(ratio(fv[2], sk), "%.2f")
		printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", ver, d, iv[1], iv[2], iv[3],
			fv[1], fv[2], fv[3], lr, ratio(fv[2], iv[2]), ratio(fv[2], lg),
			ratio(fv[2], sk) >csv
	}
	for (k in skipped)
		printf "INFO: ping rounds of %s left out (valid=0: see ping.txt): %d\n", k, skipped[k]
}' ver="$ver" csv="$out/ping.csv" "$out/ping.txt" | tee -a "$out/table.txt"
if [ "$INTEROP_FLOOD_PING" -gt 0 ] && [ ! -s "$out/ping.txt" ]; then
	echo "FAIL: interop-bench-$ver: no ping rounds"
	rc=1
fi

echo "INFO: interop-bench-$ver: rounds in $out/flood.txt, guests' output in $out/*.out"
exit $rc
