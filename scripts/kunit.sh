#!/bin/bash
# Run the module's KUnit suites in the debug UML kernel.
#
# usage: scripts/kunit.sh [module source dir]      (default: the repo root;
#        or DLM_LC_SRC=<dir>)
#
#  1. scripts/deps.sh                 Debian packages
#  2. scripts/uml-kernel.sh           cached debug UML build (KASAN, lockdep,
#                                     kmemleak, DEBUG_OBJECTS, KUnit)
#  3. make -C <src> O=<uml build> ARCH=um M=<scratch copy> modules
#                                     (the repo itself stays clean)
#  4. scripts/uml-run.sh scripts/guest-uml.sh <scratch> kunit
#                                     insmod, KUnit at load, rmmod, kmemleak
#  5. scripts/ktap.py                 PASS:/FAIL: kunit.<suite>.<case>
#
# Prints one PASS:/FAIL: line per case; exits 1 if any FAIL.
# Env: DLM_LC_CACHE, DLM_LC_OUT, UML_TIMEOUT, UML_VERBOSE (see uml-run.sh).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(readlink -f "${1:-${DLM_LC_SRC:-$HERE/..}}")
. "$HERE/outdir.sh"
OUT=$DLM_LC_OUT
mkdir -p "$OUT"

fail() { echo "FAIL: $1"; exit 1; }

"$HERE/deps.sh" >&2 || fail "kunit-deps: scripts/deps.sh failed"
BUILD=$("$HERE/uml-kernel.sh" | tail -n1) && [ -x "$BUILD/linux" ] ||
	fail "kunit-uml-kernel: scripts/uml-kernel.sh failed"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dlm_lc_kunit.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
"$HERE/uml-module.sh" "$SRC" "$SCRATCH" "$OUT/kunit-module-build.log" ||
	fail "kunit-module-build: see $OUT/kunit-module-build.log"
echo "PASS: kunit-module-build"

LOG=$OUT/kunit-$(date +%Y%m%d-%H%M%S)-$$.log
UML_BUILD=$BUILD UML_TAG=kunit UML_LOG=$LOG \
	"$HERE/uml-run.sh" "$HERE/guest-uml.sh" "$SCRATCH" kunit
urc=$?

krc=0
if [ -n "$LOG" ] && [ -f "$LOG" ]; then
	python3 "$HERE/ktap.py" "$LOG" kunit || krc=1
else
	echo "FAIL: kunit-missing: no console log"
	krc=1
fi
[ $urc -eq 0 ] && [ $krc -eq 0 ]
