#!/bin/bash
# A guest test script in the debug UML kernel (lockdep, KASAN,
# DEBUG_OBJECTS, kmemleak), then a kmemleak scan.
# usage: scripts/uml-test.sh cluster|stress|faults [module source dir]
#   cluster: tests/cluster.sh, the 3-node cluster (uml.cluster.*)   env: MSGS
#            CLUSTER_VERSION
#   stress:  tests/stress.sh, configfs races under traffic (uml.stress.*)
#   faults:  tests/faults.sh, faults under checked traffic (uml.faults.*)
#            env: FAULT_MSGS FAULT_REPEAT FAULT_KINDS FAULT_WRITERS_TIMEOUT SIZE
#   teardown: tests/teardown.sh, stop/start, node rmdir/mkdir, namespace
#            deletion and module reload under traffic with the delay knobs
#            (uml.teardown.*)  env: TEARDOWN_CYCLES TEARDOWN_NS TEARDOWN_RELOADS
#            TEARDOWN_SECS TEARDOWN_CB_US TEARDOWN_CONNECT_MS
#   dropin:  tests/interop.sh with our drop-in dlm.ko (scripts/dlm-ko.sh uml,
#            the kernel's own DLM of this UML kernel's sources) as node 2:
#            the DLM's receive and send paths under lockdep and KASAN
#            (uml.dropin.*)  env: INTEROP_STREAM INTEROP_PINGS
# Prints one PASS:/FAIL: line per case; exit 1 on any FAIL.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=${1:?usage: uml-test.sh cluster|stress|faults|teardown|dropin [srcdir]}
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
if [ "$MODE" = dropin ]; then
	# the kernel's own DLM of the UML kernel's sources, our transport inside
	DLM_LC_OUT=$SCRATCH/ko "$HERE/dlm-ko.sh" uml >"$OUT/uml-dropin-dlm-ko.log" 2>&1
	if ! cp "$SCRATCH/ko/dlm-ko/uml/dlm.ko" "$SCRATCH/" 2>/dev/null; then
		echo "FAIL: uml-dropin-dlm-ko: see $OUT/uml-dropin-dlm-ko.log"
		grep '^FAIL' "$OUT/uml-dropin-dlm-ko.log"
		exit 1
	fi
	echo "PASS: uml-dropin-dlm-ko"
	if ! gcc -O2 -Wall -Wextra -Werror -o "$SCRATCH/dlm_ls_create" \
		"$SRC/tests/tools/dlm_ls_create.c" >"$OUT/uml-dropin-helper.log" 2>&1; then
		echo "FAIL: uml-dropin-helper-build: see $OUT/uml-dropin-helper.log"
		exit 1
	fi
fi

# the fault suite's settings reach the guest's init as its environment
env=
for v in FAULT_MSGS FAULT_REPEAT FAULT_KINDS FAULT_WRITERS_TIMEOUT SIZE TEARDOWN_CYCLES TEARDOWN_CASES TEARDOWN_DEBUG \
	 TEARDOWN_RELOADS TEARDOWN_NS TEARDOWN_SECS TEARDOWN_CB_US TEARDOWN_CONNECT_MS \
	 INTEROP_STREAM INTEROP_PINGS CLUSTER_VERSION; do
	[ -n "${!v:-}" ] && env="$env $v=${!v// /,}"
done
UML_ENV=$env UML_TAG=uml-$MODE UML_LOG=$OUT/uml-$MODE.log \
	"$HERE/uml-run.sh" "$HERE/guest-uml.sh" "$SCRATCH" "$MODE" "${MSGS:-100000}"
