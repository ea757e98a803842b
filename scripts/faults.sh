#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make faults: the fault suite.
#   1. tests/faults.sh in the debug UML kernel (lockdep, KASAN, kmemleak):
#      3 nodes in namespaces, checked all-to-all traffic, resets, netem
#      loss/delay/reorder/duplication, blackhole, link flaps, instance
#      restarts, node remove/re-add.
#   2. scripts/reload.sh: two QEMU guests (Debian 6.12), module unloaded and
#      reloaded on one while the other streams to it.
# Ends with "faults: <F> injected, <S> sent, <D> delivered, <L> lost,
# <U> duplicated", the sum of both; exit 1 on any FAIL.
#
# Env: FAULT_MSGS (per pair per round), FAULT_REPEAT (rounds per kind),
#      FAULT_KINDS, FAULT_WRITERS_TIMEOUT, RELOAD_MSGS, RELOAD_CYCLES,
#      FAULTS_RELOAD=0 to skip 2.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/outdir.sh"
OUT=$DLM_LC_OUT
mkdir -p "$OUT"
res=$OUT/faults.results
: >"$res"

"$HERE/uml-test.sh" faults 2>&1 | tee "$OUT/faults-uml.out" | grep -E '^(PASS|FAIL):' | tee -a "$res"
uml=$OUT/uml-faults.log
# uml-run.sh's notes (e.g. UML killed after the guest's end)
grep -E '^INFO: uml-run' "$OUT/faults-uml.out"
grep -E '^INFO: (faults|memory|[a-z]+\.[0-9]+:)' "$uml" 2>/dev/null
if ! grep -q '^FAULTS-TOTAL: ' "$uml" 2>/dev/null; then
	echo "FAIL: faults.uml: the guest printed no total (see $uml)" | tee -a "$res"
fi

if [ "${FAULTS_RELOAD:-1}" = 1 ]; then
	"$HERE/reload.sh" 6.12 >"$OUT/faults-reload.out" 2>&1
	grep -E '^(PASS|FAIL):' "$OUT/faults-reload.out" | tee -a "$res"
	grep -E '^INFO: reload' "$OUT/faults-reload.out"
fi

# add up the FAULTS-TOTAL lines of both parts
read -r f s d l u < <(cat "$uml" "$OUT/faults-reload.out" 2>/dev/null | tr -d '\r' |
	awk '/^FAULTS-TOTAL: / { f += $2; s += $3; d += $4; l += $5; u += $6 }
	     END { print f + 0, s + 0, d + 0, l + 0, u + 0 }')
echo "faults: $f injected, $s sent, $d delivered, $l lost, $u duplicated"
! grep -q '^FAIL: ' "$res" && [ "$s" -gt 0 ] && [ "$l" = 0 ] && [ "$u" = 0 ]
