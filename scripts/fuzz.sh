#!/bin/bash
# make fuzz: the receive-path fuzzer (tests/fuzz_kunit.c) in the debug UML
# kernel (KASAN, lockdep, kmemleak). FUZZ_INPUTS streams (default 1000000)
# for each of its two suites (no node; the sender's node configured).
# Ends with "fuzz: <N> inputs, <C> crashes", where crashes counts kernel
# splats (KASAN, BUG, WARNING, lockdep, kmemleak) plus the fuzzer's own
# invariant violations; exit 1 if C > 0 or the run did not complete.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(readlink -f "${DLM_LC_SRC:-$HERE/..}")
. "$HERE/outdir.sh"
OUT=$DLM_LC_OUT
N=${FUZZ_INPUTS:-1000000}
mkdir -p "$OUT"

"$HERE/deps.sh" >&2 || { echo "FAIL: fuzz-deps"; exit 1; }
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dlm_lc_fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
if ! "$HERE/uml-module.sh" "$SRC" "$SCRATCH" "$OUT/fuzz-build.log"; then
	echo "FAIL: fuzz-module-build: see $OUT/fuzz-build.log"
	echo "fuzz: 0 inputs, 0 crashes"
	exit 1
fi

LOG=$OUT/fuzz.log
UML_TAG=fuzz UML_LOG=$LOG UML_TIMEOUT=${UML_TIMEOUT:-1800} \
	"$HERE/uml-run.sh" "$HERE/guest-uml.sh" "$SCRATCH" fuzz "$N" >"$OUT/fuzz.results"
urc=$?
python3 "$HERE/ktap.py" "$LOG" kunit >>"$OUT/fuzz.results"
grep -E '^(PASS|FAIL): ' "$OUT/fuzz.results"

# one line per suite (no node, node configured): the fewest inputs any
# suite completed, and the violations of all
lines=$(grep -o 'fuzz: [0-9]* inputs, [0-9]* invariant violations' "$LOG")
done_n=$(echo "$lines" | awk 'NF { n++; if (n == 1 || $2 < m) m = $2 } END { print (n == 2) ? m : 0 }')
viol=$(echo "$lines" | awk '{ v += $4 } END { print v + 0 }')
splats=$(grep -cE 'BUG: KASAN|^.{0,40}BUG:|WARNING: CPU|possible circular locking|inconsistent lock state|unreferenced object' "$LOG")
crashes=$(( ${viol:-0} + splats ))
echo "fuzz: ${done_n:-0} inputs, $crashes crashes"
[ "$urc" -eq 0 ] && [ "${done_n:-0}" -ge "$N" ] && [ "$crashes" -eq 0 ]
