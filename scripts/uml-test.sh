#!/bin/bash
# A guest test script in the debug UML kernel (lockdep, KASAN,
# DEBUG_OBJECTS, kmemleak), then a kmemleak scan.
# usage: scripts/uml-test.sh cluster|stress|faults [module source dir]
#   cluster: tests/cluster.sh, the 3-node cluster (uml.cluster.*)   env: MSGS
#   stress:  tests/stress.sh, configfs races under traffic (uml.stress.*)
#   faults:  tests/faults.sh, faults under checked traffic (uml.faults.*)
#            env: FAULT_MSGS FAULT_REPEAT FAULT_KINDS FAULT_WRITERS_TIMEOUT SIZE
#   teardown: tests/teardown.sh, stop/start, node rmdir/mkdir, namespace
#            deletion and module reload under traffic with the delay knobs
#            (uml.teardown.*)  env: TEARDOWN_CYCLES TEARDOWN_NS TEARDOWN_RELOADS
#            TEARDOWN_SECS TEARDOWN_CB_US TEARDOWN_CONNECT_MS
# Prints one PASS:/FAIL: line per case; exit 1 on any FAIL.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=${1:?usage: uml-test.sh cluster|stress|faults|teardown [srcdir]}
SRC=$(readlink -f "${2:-${DLM_LC_SRC:-$HERE/..}}")
. "$HERE/outdir.sh"
OUT=$DLM_LC_OUT
mkdir -p "$OUT"

"$HERE/deps.sh" >&2 || { echo "FAIL: uml-$MODE-deps"; exit 1; }
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dlm_lc_uml.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
if ! "$HERE/uml-module.sh" "$SRC" "$SCRATCH" "$OUT/uml-$MODE-build.log"; then
	echo "FAIL: uml-$MODE-module-build: see $OUT/uml-$MODE-build.log"
	exit 1
fi
echo "PASS: uml-$MODE-module-build"

# the fault suite's settings reach the guest's init as its environment
env=
for v in FAULT_MSGS FAULT_REPEAT FAULT_KINDS FAULT_WRITERS_TIMEOUT SIZE TEARDOWN_CYCLES TEARDOWN_CASES TEARDOWN_DEBUG \
	 TEARDOWN_RELOADS TEARDOWN_NS TEARDOWN_SECS TEARDOWN_CB_US TEARDOWN_CONNECT_MS; do
	[ -n "${!v:-}" ] && env="$env $v=${!v// /,}"
done
UML_ENV=$env UML_TAG=uml-$MODE UML_LOG=$OUT/uml-$MODE.log \
	"$HERE/uml-run.sh" "$HERE/guest-uml.sh" "$SCRATCH" "$MODE" "${MSGS:-100000}"
