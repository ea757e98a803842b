#!/bin/bash
# make bench: tests/bench.sh in the Debian 6.12 kernel under QEMU (TCG,
# 2 vCPUs): parallel dlm_io against the serialized baseline, same boot.
# BENCH_ROUNDS, MSGS, SIZE pass through. Numbers are for comparison
# within one run; TCG is far slower than hardware.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export BENCH_ROUNDS=${BENCH_ROUNDS:-3} MSGS=${MSGS:-60000} SIZE=${SIZE:-256}
"$HERE/deps.sh" >&2 || exit 1
CLUSTER_BULK_TIMEOUT=${CLUSTER_BULK_TIMEOUT:-300} \
	"$HERE/qemu-run.sh" 6.12 "$HERE/../tests/bench.sh" |
	grep -E '^(FAIL: |INFO: bench)'
exit "${PIPESTATUS[0]}"
