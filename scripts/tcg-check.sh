#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tcg-check.sh: the emulator fact our QEMU guests depend on. Builds
# tests/tools/cx16_flags.c (static) and boots the Debian 6.12 kernel twice
# with it (tests/cx16.sh):
#   1. QEMU_CPU=max (CMPXCHG16B offered): on QEMU before 8.0 the program
#      must find the flags bug that scripts/qemu-run.sh works around, on
#      8.0 and later it must not (QEMU 8.0 rewrote the instruction):
#      PASS|FAIL: tcg.cx16-bug-as-expected
#   2. the default CPU of scripts/qemu-run.sh: CMPXCHG16B must be absent,
#      for the program and in /proc/cpuinfo: PASS|FAIL: tcg.default-no-cx16
# plus qemu-run.sh's boot, splat and taint cases for both guests.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/outdir.sh"
out=$DLM_LC_OUT
mkdir -p "$out"
rc=0

prog=$out/cx16_flags
if ! gcc -static -O2 -Wall -Wextra -o "$prog" "$repo/tests/tools/cx16_flags.c" \
	>"$out/cx16_flags-build.log" 2>&1; then
	echo "FAIL: tcg.build: cx16_flags does not build ($out/cx16_flags-build.log)"
	exit 1
fi
echo "PASS: tcg.build"

boot() {	# boot NAME [QEMU_CPU]: qemu-run.sh's result lines, then the
	# guest's "INFO: cx16:" lines go to $out/NAME.cx16
	local name=$1
	shift
	env -u QEMU_CPU ${1:+QEMU_CPU=$1} QEMU_NAME="$name" QEMU_SMP=1 QEMU_FILES="$prog" \
		QEMU_TIMEOUT=300 "$here/qemu-run.sh" 6.12 "$repo/tests/cx16.sh" \
		>"$out/$name.out" 2>&1 || rc=1
	grep -E '^(PASS|FAIL):' "$out/$name.out"
	sed -n 's/^INFO: cx16: //p' "$out/$name.log" >"$out/$name.cx16"
}

major=$(qemu-system-x86_64 --version | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p')
boot tcg-cpu-max max
max=$(grep '^cx16_flags:' "$out/tcg-cpu-max.cx16")
echo "INFO: tcg: QEMU ${major:-?}, -cpu max: ${max:-no result}"
case ${major:-0}:$max in
[0-7]:"cx16_flags: broken"*|[89]:"cx16_flags: ok"|[1-9][0-9]:"cx16_flags: ok")
	echo "PASS: tcg.cx16-bug-as-expected" ;;
*)	echo "FAIL: tcg.cx16-bug-as-expected: QEMU ${major:-?} gave '${max:-nothing}'"
	rc=1 ;;
esac

boot tcg-cpu-default
def=$(grep -E '^(cx16_flags|cpuinfo)' "$out/tcg-cpu-default.cx16")
if grep -q '^cx16_flags: no cx16$' <<<"$def" && grep -q '^cpuinfo cx16=no$' <<<"$def"; then
	echo "PASS: tcg.default-no-cx16"
else
	echo "FAIL: tcg.default-no-cx16: $(tr '\n' ';' <<<"$def")"
	rc=1
fi
exit "$rc"
