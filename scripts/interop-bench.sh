#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# interop-bench.sh [6.12|6.1]: the kernel's own dlm.ko against our
# standalone module and our drop-in dlm.ko under RCOM_STATUS floods, in the
# same kind of QEMU guest (TCG, 2 vCPUs): scripts/interop.sh <ver> stock
# (stock rounds alternating with rounds against our standalone instance c1),
# then dropin; each with INTEROP_FLOOD (clients, "1 4 8"),
# INTEROP_FLOOD_ROUNDS (3) rounds of INTEROP_FLOOD_SECS (6) s per client
# count (tests/interop.sh case_flood). The clients listen too, as DLM nodes
# do, and count replies on connections the node opens back to them.
# Prints a table (and flood.csv): median replies/s and CPU per reply of
# each, and standalone/stock, dropin/stock.
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
	# our standalone module in the same boot as stock, alternating with it
	standalone=0
	[ "$dlm" = stock ] && standalone=1
	INTEROP_FLOOD_STANDALONE=$standalone QEMU_FILES="$out/dlm_flood" QEMU_BINS=$bins \
		DLM_LC_OUT=$out \
		"$here/interop.sh" "$ver" "$dlm" >"$out/$dlm.out" 2>&1 || rc=1
	grep -E '^FAIL: ' "$out/$dlm.out"
done

# median of each (dlm, clients): rate and cpu_us_per_reply; the standalone
# rounds come from the stock boot (they alternate with stock's there)
grep -h '^INFO: flood: dlm=' "$out/stock.out" "$out/dropin.out" >"$out/flood.txt"
awk '
function med(key, f,   n, i, j, t, v) {
	n = split(vals[key, f], v, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	return n ? v[int((n + 1) / 2)] : 0
}
function ratio(x, y) { return y ? x / y : 0 }
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
	printf "%-6s %3s | %8s %8s %8s | %6s %6s | %7s %7s %7s | %6s %6s\n",
		"kernel", "cl", "stock/s", "stand/s", "dropin/s", "st/sk", "dr/sk",
		"sk us", "st us", "dr us", "st/sk", "dr/sk"
	print "kernel,clients,stock_rate,standalone_rate,dropin_rate,standalone_ratio,dropin_ratio,stock_us,standalone_us,dropin_us,standalone_cpu_ratio,dropin_cpu_ratio" >csv
	for (c in seen) cl[++n] = c + 0
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (cl[j] < cl[i]) { t = cl[i]; cl[i] = cl[j]; cl[j] = t }
	for (i = 1; i <= n; i++) {
		c = cl[i]
		sr = med("stock" SUBSEP c, "rate"); ar = med("standalone" SUBSEP c, "rate")
		dr = med("dropin" SUBSEP c, "rate")
		sc = med("stock" SUBSEP c, "cpu"); ac = med("standalone" SUBSEP c, "cpu")
		dc = med("dropin" SUBSEP c, "cpu")
		printf "%-6s %3d | %8d %8d %8d | %6.2f %6.2f | %7.1f %7.1f %7.1f | %6.2f %6.2f\n",
			ver, c, sr, ar, dr, ratio(ar, sr), ratio(dr, sr), sc, ac, dc,
			ratio(ac, sc), ratio(dc, sc)
		printf "%s,%d,%d,%d,%d,%.3f,%.3f,%.1f,%.1f,%.1f,%.3f,%.3f\n", ver, c, sr,
			ar, dr, ratio(ar, sr), ratio(dr, sr), sc, ac, dc, ratio(ac, sc),
			ratio(dc, sc) >csv
	}
	for (d in silent)
		printf "INFO: %s answered nothing in %d round(s), left out of its medians\n", d, silent[d]
}' ver="$ver" csv="$out/flood.csv" "$out/flood.txt" | tee "$out/table.txt"
[ -s "$out/flood.txt" ] || { echo "FAIL: interop-bench-$ver: no flood rounds"; rc=1; }
echo "INFO: interop-bench-$ver: rounds in $out/flood.txt, guests' output in $out/*.out"
exit $rc
