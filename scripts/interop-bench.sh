#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# interop-bench.sh [6.12|6.1]: the kernel's own dlm.ko against our drop-in
# dlm.ko under RCOM_STATUS floods, back to back in the same kind of QEMU
# guest (TCG, 2 vCPUs): scripts/interop.sh <ver> stock, then dropin, each
# with INTEROP_FLOOD (clients, "1 4 8"), INTEROP_FLOOD_ROUNDS (3) rounds of
# INTEROP_FLOOD_SECS (6) s per client count (tests/interop.sh case_flood).
# Prints a table: median replies/s and CPU per reply of each, and ours/stock.
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
rc=0
for dlm in stock dropin; do
	QEMU_FILES="$out/dlm_flood" DLM_LC_OUT=$out "$here/interop.sh" "$ver" "$dlm" \
		>"$out/$dlm.out" 2>&1 || rc=1
	grep -E '^FAIL: ' "$out/$dlm.out"
done

# median of each (dlm, clients): rate and cpu_us_per_reply
grep -h '^INFO: flood: dlm=' "$out/stock.out" "$out/dropin.out" >"$out/flood.txt"
awk '
function med(key, f,   n, i, j, t, v) {
	n = split(vals[key, f], v, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	return n ? v[int((n + 1) / 2)] : 0
}
{
	# a round line has rate=; the no-replies notes are not rounds
	split("", f)
	for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	if (!("rate" in f)) next
	key = f["dlm"] SUBSEP f["clients"]
	vals[key, "rate"] = vals[key, "rate"] " " f["rate"]
	vals[key, "cpu"] = vals[key, "cpu"] " " f["cpu_us_per_reply"]
	seen[f["clients"]] = 1
}
END {
	printf "%-8s %7s %14s %14s %8s %12s %12s %8s\n", "kernel", "clients",
		"stock rep/s", "ours rep/s", "ratio", "stock us/rep", "ours us/rep", "ratio"
	for (c in seen) cl[++n] = c + 0
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (cl[j] < cl[i]) { t = cl[i]; cl[i] = cl[j]; cl[j] = t }
	for (i = 1; i <= n; i++) {
		c = cl[i]
		sr = med("stock" SUBSEP c, "rate"); orr = med("ours" SUBSEP c, "rate")
		sc = med("stock" SUBSEP c, "cpu"); oc = med("ours" SUBSEP c, "cpu")
		printf "%-8s %7d %14d %14d %8.2f %12.1f %12.1f %8.2f\n", ver, c, sr, orr,
			sr ? orr / sr : 0, sc, oc, sc ? oc / sc : 0
	}
}' ver="$ver" "$out/flood.txt" | tee "$out/table.txt"
[ -s "$out/flood.txt" ] || { echo "FAIL: interop-bench-$ver: no flood rounds"; rc=1; }
echo "INFO: interop-bench-$ver: rounds in $out/flood.txt, guests' output in $out/*.out"
exit $rc
