#!/bin/bash
# The 3-node cluster test (tests/cluster.sh) in the debug UML kernel
# (lockdep, KASAN, DEBUG_OBJECTS, kmemleak), then a kmemleak scan.
# usage: scripts/uml-cluster.sh [module source dir]      env: MSGS
# Prints one PASS:/FAIL: line per case (uml.cluster.*); exit 1 on any FAIL.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(readlink -f "${1:-${DLM_LC_SRC:-$HERE/..}}")
OUT=${DLM_LC_OUT:-/tmp/dlm_lc_out}
mkdir -p "$OUT"

"$HERE/deps.sh" >&2 || { echo "FAIL: uml-cluster-deps"; exit 1; }
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dlm_lc_umlc.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
if ! "$HERE/uml-module.sh" "$SRC" "$SCRATCH" "$OUT/uml-cluster-build.log"; then
	echo "FAIL: uml-cluster-module-build: see $OUT/uml-cluster-build.log"
	exit 1
fi
echo "PASS: uml-cluster-module-build"

UML_TAG=uml-cluster UML_LOG=$OUT/uml-cluster.log \
	"$HERE/uml-run.sh" "$HERE/guest-uml.sh" "$SCRATCH" cluster "${MSGS:-100000}"
