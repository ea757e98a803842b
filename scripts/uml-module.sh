#!/bin/bash
# usage: uml-module.sh <module source dir> <scratch dir> <build log>
# Builds dlm_lowcomms.ko (and, the UML kernel having KUnit,
# dlm_lowcomms_kunit.ko) against the cached debug UML kernel, in a scratch
# copy of the sources so the repo stays clean. Copies tests/*.sh along for
# the guest scripts.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$1 SCRATCH=$2 BLOG=$3

BUILD=$("$HERE/uml-kernel.sh" | tail -n1) && [ -x "$BUILD/linux" ] || exit 1
KSRC=$(cat "$BUILD/.srcdir")
# The sources only: no VCS data, no objects from other builds.
rsync -a --exclude=.git --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
	--exclude='.*.cmd' --exclude=Module.symvers --exclude=modules.order \
	"$SRC"/ "$SCRATCH"/
# W=1 and sparse here too: this is the only build that compiles the
# KUnit suites (the Debian headers have no CONFIG_KUNIT) and the test
# build's delay knobs (DLM_LC_TESTS=1).
if ! make -C "$KSRC" O="$BUILD" ARCH=um M="$SCRATCH" -j"$(nproc)" \
	W=1 C=2 DLM_LC_TESTS=1 modules >"$BLOG" 2>&1; then
	grep -E 'error|Error' "$BLOG" | head -n 20 >&2
	exit 1
fi
if grep -E '(warning|error):' "$BLOG" | grep -v '^WARNING: modpost' >&2; then
	echo "uml-module: compiler or sparse warnings, see $BLOG" >&2
	exit 1
fi
cp "$SCRATCH"/tests/*.sh "$SCRATCH"/ 2>/dev/null
exit 0
