#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tcg-check.sh: the emulator fact our QEMU guests depend on. Builds
# tests/tools/cx16_flags.c (static) and boots the Debian 6.12 kernel twice
# with it (tests/cx16.sh):
#   1. the default CPU of scripts/qemu-run.sh: CMPXCHG16B must be absent,
#      for the program and in /proc/cpuinfo (PASS|FAIL:
#      tcg.default-no-cx16), and the guest must pass qemu-run.sh's boot,
#      splat and taint cases.
#   2. QEMU_CPU=max (CMPXCHG16B offered), to show why: the program must
#      run and say something (PASS|FAIL: tcg.cx16-max-ran); what it said
#      is an INFO line, "broken" expected on QEMU before 8.0 (7.2 computes
#      the instruction's flags from a stale state; 8.0 rewrote it), "ok"
#      after. This guest's own boot, splat and taint results are INFO
#      only: it runs the configuration that can crash (scripts/qemu-run.sh).
# A QEMU_CPU in the caller's environment that keeps CX16 is said (INFO):
# every guest of that run would take the risk.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/outdir.sh"
out=$DLM_LC_OUT
mkdir -p "$out"
rc=0

major=$(qemu-system-x86_64 --version 2>/dev/null |
	sed -n 's/^QEMU emulator version \([0-9][0-9]*\)\..*/\1/p')
if [ -z "$major" ]; then
	echo "FAIL: tcg.qemu-version: cannot read qemu-system-x86_64 --version"
	exit 1
fi
case ${QEMU_CPU:-} in
'' | *-cx16*) ;;
*)	echo "INFO: tcg: QEMU_CPU=$QEMU_CPU keeps CMPXCHG16B: this run's guests can hit the bug (QEMU $major)" ;;
esac

prog=$out/cx16_flags
if ! gcc -static -O2 -Wall -Wextra -o "$prog" "$repo/tests/tools/cx16_flags.c" \
	>"$out/cx16_flags-build.log" 2>&1; then
	echo "FAIL: tcg.build: cx16_flags does not build ($out/cx16_flags-build.log)"
	exit 1
fi
echo "PASS: tcg.build"

# boot NAME [QEMU_CPU]: qemu-run.sh's result lines to $out/NAME.out, the
# guest's "INFO: cx16:" lines (prefix cut) to $out/NAME.cx16; returns
# qemu-run.sh's status. The caller's QEMU options do not pass through.
boot() {
	local name=$1 s
	shift
	rm -f "$out/$name.log" "$out/$name.cx16"
	env -u QEMU_CPU -u QEMU_ARGS -u QEMU_APPEND -u QEMU_NET \
		${1:+QEMU_CPU=$1} QEMU_NAME="$name" QEMU_SMP=1 QEMU_FILES="$prog" \
		QEMU_TIMEOUT=300 "$here/qemu-run.sh" 6.12 "$repo/tests/cx16.sh" \
		>"$out/$name.out" 2>&1
	s=$?
	[ -f "$out/$name.log" ] && sed -n 's/^INFO: cx16: //p' "$out/$name.log" >"$out/$name.cx16"
	touch "$out/$name.cx16"
	return "$s"
}

boot tcg-cpu-default || rc=1
grep -E '^(PASS|FAIL):' "$out/tcg-cpu-default.out"
def=$(grep -E '^(cx16_flags|cpuinfo)' "$out/tcg-cpu-default.cx16")
if grep -q '^cx16_flags: no cx16$' <<<"$def" && grep -q '^cpuinfo cx16=no$' <<<"$def"; then
	echo "PASS: tcg.default-no-cx16"
else
	echo "FAIL: tcg.default-no-cx16: $(tr '\n' ';' <<<"$def")"
	rc=1
fi

boot tcg-cpu-max max
sed -nE 's/^(PASS|FAIL): /INFO: tcg: (with CX16) \1 /p' "$out/tcg-cpu-max.out"
max=$(grep '^cx16_flags:' "$out/tcg-cpu-max.cx16")
if [ -z "$max" ]; then
	echo "FAIL: tcg.cx16-max-ran: no result from the guest ($out/tcg-cpu-max.log)"
	rc=1
else
	echo "PASS: tcg.cx16-max-ran"
	case $major:$max in
	[0-7]:"cx16_flags: broken"*)
		echo "INFO: tcg: QEMU $major, -cpu max: $max (the bug the default CPU avoids)" ;;
	[0-7]:*)
		echo "INFO: tcg: QEMU $major, -cpu max: $max: not reproduced on this QEMU" ;;
	*)	echo "INFO: tcg: QEMU $major, -cpu max: $max (QEMU 8.0 and later: expected ok)" ;;
	esac
fi
exit "$rc"
