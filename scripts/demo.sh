#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# demo.sh (`make demo`): builds dlm_lowcomms.ko for the Debian 6.12 kernel,
# boots that kernel under QEMU (TCG) and runs tests/cluster.sh in demo mode:
# three cluster instances in three network namespaces of one guest, a veth
# full mesh, pings between every pair and all-to-all checked bulk traffic.
# Then prints a summary.  MSGS / SIZE / QEMU_TIMEOUT can be overridden.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/outdir.sh"
out=$DLM_LC_OUT
mkdir -p "$out"
export DEMO=1 MSGS=${MSGS:-60000} SIZE=${SIZE:-256} QEMU_TIMEOUT=${QEMU_TIMEOUT:-600}
export DLM_LC_OUT=$out

echo "== dlm_lowcomms demo: Debian 6.12 kernel under QEMU, 3 nodes in 3 netns =="
t0=$(date +%s)
"$here/qemu-run.sh" 6.12 "$repo/tests/cluster.sh" | tee "$out/demo.txt"
rc=${PIPESTATUS[0]}
t1=$(date +%s)
r=$out/demo.txt

echo
echo "================ summary ================"
echo "kernel      : $(sed -n 's/^INFO: qemu-6.12: kernel \([^ ]*\) reached \/init at \([0-9.?]*\)s.*/\1 (booted to \/init in \2 s, guest clock)/p' "$r")"
echo "nodes       :"
sed -n 's/^INFO: node \([0-9]\): /  node \1: /p' "$r"
echo "ping RTT    :        p50         p99"
sed -n 's/^INFO: ping \(n[0-9]->n[0-9]\): replies=\([^ ]*\) rtt p50=\([^ ]*\) p99=\([^ ]*\)$/\1 \3 \4 \2/p' "$r" |
	awk '{ printf "  %-8s %11s %11s   (%s replies)\n", $1, $2, $3, $4 }'
echo "throughput  :"
sed -n 's/^INFO: bulk: \(.*\)/  \1/p' "$r"
sed -n 's/^INFO: close-reconnect: \(.*\)/  \1/p' "$r"
npass=$(grep -c '^PASS:' "$r")
nfail=$(grep -c '^FAIL:' "$r")
echo "results     : $npass passed, $nfail failed ($((t1 - t0)) s total; console log $out/qemu-6.12.log)"
grep '^FAIL:' "$r" | sed 's/^/  /'
exit "$rc"
