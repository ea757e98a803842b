#!/bin/bash
# checkpatch --strict on every C source and header of ours.
# Uses scripts/checkpatch.pl from Debian's linux-source-6.12, extracted once
# into the cache. Prints one PASS:/FAIL: line.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${DLM_LC_CACHE:-/var/cache/dlm_lowcomms}
TARBALL=/usr/src/linux-source-6.12.tar.xz
CP=$CACHE/checkpatch/linux-source-6.12/scripts/checkpatch.pl

if [ ! -f "$CP" ]; then
	mkdir -p "$CACHE/checkpatch"
	tar -xJf "$TARBALL" -C "$CACHE/checkpatch" \
		linux-source-6.12/scripts linux-source-6.12/.clang-format \
		2>/dev/null
fi
if [ ! -f "$CP" ]; then
	echo "FAIL: checkpatch: cannot extract checkpatch.pl from $TARBALL"
	exit 1
fi

cd "$REPO" || exit 1
# Exceptions, each explained in Documentation/design.rst ("Style notes"):
#  - CONST_STRUCT: configfs operation tables are non-const in 6.1/6.12.
#  - FILE_PATH_CHANGES/SPDX: not a kernel tree.
ignore=CONST_STRUCT,FILE_PATH_CHANGES,MACRO_ARG_REUSE
#  - LINUX_VERSION_CODE: an out-of-tree module must test the kernel version;
#    allowed in compat.h only, which exists for that.
run() { perl "$CP" --strict --no-tree --quiet --show-types "$@" 2>&1; }
out=$(run --ignore "$ignore" -f $(git ls-files '*.c' '*.h' | grep -vx compat.h)
      run --ignore "$ignore,LINUX_VERSION_CODE,CONSTANT_COMPARISON" -f compat.h)
if echo "$out" | grep -qE "^(ERROR|WARNING|CHECK):"; then
	echo "FAIL: checkpatch"
	echo "$out" | grep -E -A3 "^(ERROR|WARNING|CHECK):" | head -60
	exit 1
fi
echo "PASS: checkpatch"
