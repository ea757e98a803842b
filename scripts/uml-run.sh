#!/bin/bash
# usage: uml-run.sh <guest-script> [args...]
#
# Boots the cached debug UML kernel (scripts/uml-kernel.sh) with the build
# machine's / as a READ-ONLY hostfs root and <guest-script> as init; the args
# reach the guest script as "$@" (kernel command line after "--", so they must
# not contain spaces).  The guest must power itself off (busybox poweroff -f).
#
# stdout: the guest's own "PASS:"/"FAIL:" lines, then
#   FAIL: <tag>-uml-boot: timeout      (no poweroff within ${UML_TIMEOUT:-900} s)
#   FAIL: <tag>-uml-boot: ...          (UML died / guest never printed GUEST-DONE)
#   PASS|FAIL: <tag>-kernel-splats     (WARNING:, BUG:, KASAN, lockdep, kmemleak...
#                                      from the guest's GUEST-START line on)
#   FAIL: <tag>-lockdep-on             (a boot-time report turned lockdep off)
#   INFO: uml-run: ...                 (UML had to be killed after the guest's end;
#                                      the kernel warned during its own boot)
# and a final "uml-run: log <file>" line on stderr.  The full console goes to
# $DLM_LC_OUT/<tag>-<timestamp>.log (see scripts/outdir.sh; to stderr too with
# UML_VERBOSE=1).  <tag> is ${UML_TAG}, default: the guest script's name
# without "guest-" and ".sh".  Exit status: 0 iff no FAIL line.
#
# The guest's end is its "GUEST-DONE" line or the kernel's "reboot: Power
# down".  UML normally exits within a second of it; if it is still running
# ${UML_EXIT_GRACE:-30} s later, its process group is listed on stderr and in
# the log, then killed, and an INFO line says so.  That kill is NOT a
# failure when the guest had printed GUEST-DONE (all its cases ran and their
# PASS/FAIL lines are judged as usual); without GUEST-DONE the run fails
# ("guest did not finish") as before.
# A log file another uml-run.sh is writing is refused ("FAIL: <tag>-uml-boot:
# ... in use by another run"): two runs on one file judge each other's lines.
# The guest gets DLM_LC_WATCHDOG=<UML_TIMEOUT - 60> (guest-uml.sh prints its
# processes then, if still running).
# UML_BUILD=<dir> skips uml-kernel.sh; UML_MEM (default 1G); UML_NCPUS
# (virtual CPUs, SMP kernels only; default 1); UML_LOG=<file>
# sets the console log path; UML_ARGS: more kernel arguments (a NIC:
# eth0=tuntap,<tap>,<mac>, scripts/uml-stack.sh).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 <guest-script> [args...]" >&2; exit 2; }
GUEST=$(readlink -f "$1"); shift
[ -x "$GUEST" ] || { echo "uml-run: $GUEST is not executable" >&2; exit 2; }
for a in "$@"; do
	case $a in *[[:space:]]*|'') echo "uml-run: argument '$a' has spaces or is empty" >&2; exit 2;; esac
done

TAG=${UML_TAG:-$(basename "$GUEST" .sh)}
TAG=${TAG#guest-}
TIMEOUT=${UML_TIMEOUT:-900}
. "$HERE/outdir.sh"
OUT=$DLM_LC_OUT
mkdir -p "$OUT"
LOG=${UML_LOG:-$OUT/$TAG-$(date +%Y%m%d-%H%M%S)-$$.log}
mkdir -p "$(dirname "$LOG")"
# One run per log file.  A second uml-run.sh writing the same file (two runs
# given one DLM_LC_OUT) truncates it under the first one's UML; each then
# judges the other's console: the first saw the second's GUEST-DONE and
# "reboot: Power down" while its own UML was still busy.  The lock is on the
# file itself and UML inherits fd 8, so it lasts as long as UML writes.
exec 8>>"$LOG"
if ! flock -n 8; then
	echo "FAIL: $TAG-uml-boot: $LOG is in use by another run (shared DLM_LC_OUT or UML_LOG?); not touching it"
	exit 1
fi

if [ -n "${UML_BUILD:-}" ]; then
	BUILD=$UML_BUILD
else
	BUILD=$("$HERE/uml-kernel.sh" | tail -n1) || { echo "FAIL: $TAG-uml-boot: uml-kernel.sh failed"; exit 1; }
fi
[ -x "$BUILD/linux" ] || { echo "FAIL: $TAG-uml-boot: no $BUILD/linux"; exit 1; }

# UML's own host-side files (memory backing file, mconsole socket dir) go to
# a private temp dir, removed at exit.
# On tmpfs when possible: UML backs guest RAM with a file there.
RUNDIR=$(mktemp -d /dev/shm/dlm_lc_uml.XXXXXX 2>/dev/null || mktemp -d "${TMPDIR:-/tmp}/dlm_lc_uml.XXXXXX")
UML_PID=
# UML's process group (see setsid below); its leader alone as a fallback.
kill_uml() { kill -KILL -- "-$UML_PID" 2>/dev/null || kill -KILL "$UML_PID" 2>/dev/null; }
cleanup() {
	if [ -n "$UML_PID" ] && kill -0 "$UML_PID" 2>/dev/null; then
		kill_uml
	fi
	rm -rf "$RUNDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# con0: no input, output to our stdout; all other consoles and serial lines
# off (the defaults would try xterms/ptys).
CMDLINE=("mem=${UML_MEM:-1G}" "uml_dir=$RUNDIR" umid=dlmlc$$
	con=null ssl=null "con0=null,fd:1"
	rootfstype=hostfs rootflags=/ ro
	panic=-1 loglevel=7)
# virtual CPUs (UML has SMP from 6.19 on; the 6.12 guest has one). SMP
# needs the seccomp userspace mode: ptrace mode refuses more than one CPU.
case ${UML_NCPUS:-1} in
1) ;;
[2-9]) CMDLINE+=("ncpus=$UML_NCPUS" seccomp=on "DLM_LC_NCPUS=$UML_NCPUS") ;;
*) echo "FAIL: $TAG-uml-boot: UML_NCPUS=$UML_NCPUS: want 1 to 9"; exit 1 ;;
esac
# 6.1's UML kmemleak calls the kernel's own live objects leaked (open
# files, dentries, page-cache nodes, vmap areas: 322 at the end of one
# drop-in run): it is off there, and the guest says so instead of judging.
case $(cat "$BUILD/include/config/kernel.release" 2>/dev/null) in
6.1.*) CMDLINE+=(kmemleak=off DLM_LC_KMEMLEAK=off) ;;
esac
# NAME=value words become the guest init's environment (UML_ENV).  The
# guest's watchdog (guest-uml.sh) reports a minute before our time limit.
[ "$TIMEOUT" -gt 120 ] && CMDLINE+=("DLM_LC_WATCHDOG=$((TIMEOUT - 60))")
# shellcheck disable=SC2206
CMDLINE+=(${UML_ARGS:-} ${UML_ENV:-} init="$GUEST" -- "$@")

START=$(date +%s.%N)
# setsid: UML and its helper processes get their own process group, so a
# timeout can kill all of them and nothing else.
TMPDIR=$RUNDIR setsid "$BUILD/linux" "${CMDLINE[@]}" </dev/null >"$LOG" 2>&1 &
UML_PID=$!
if [ "${UML_VERBOSE:-0}" = 1 ]; then
	tail -n +1 -f --pid="$UML_PID" "$LOG" >&2 &
fi

# The guest's last words (see the header).
END_RE='^GUEST-DONE|reboot: Power down'
GRACE=${UML_EXIT_GRACE:-30}
timed_out=0
end_at=		# when the end line was first seen (s since the epoch)
lingered=0	# 1: UML still ran GRACE s after the end and was killed
polls=0
deadline=$(( $(date +%s) + TIMEOUT ))
while kill -0 "$UML_PID" 2>/dev/null; do
	now=$(date +%s)
	if [ -z "$end_at" ] && [ $((polls % 5)) = 0 ] && grep -aqE "$END_RE" "$LOG"; then
		end_at=$now
	fi
	polls=$((polls + 1))
	if [ -n "$end_at" ] && [ "$now" -ge $((end_at + GRACE)) ]; then
		lingered=1
		# what was left, for the log: the process group, the main
		# process's host stack and its threads' states
		procs=$(ps -o pid,ppid,stat,pcpu,etimes,wchan:24,args -s "$UML_PID" 2>&1 | cut -c1-200)
		stack=$(head -n 12 "/proc/$UML_PID/stack" 2>/dev/null)
		kill_uml
		break
	fi
	if [ "$now" -ge "$deadline" ]; then
		timed_out=1
		kill_uml
		break
	fi
	sleep 0.2
done
wait "$UML_PID" 2>/dev/null
rc=$?
# Helper processes of a UML (killed or not) may outlive the main one briefly;
# the group is ours alone (setsid above).
kill -KILL -- "-$UML_PID" 2>/dev/null
ELAPSED=$(printf '%.1f' "$(echo "$(date +%s.%N) - $START" | bc)")
wait 2>/dev/null
if [ $lingered = 1 ]; then
	{
		echo "uml-run: UML still running ${GRACE} s after the guest's end ('$(grep -aoE -m1 "$END_RE" "$LOG")'); killed process group $UML_PID"
		echo "$procs" | sed 's/^/uml-run:   ps: /'
		[ -n "$stack" ] && echo "$stack" | sed 's/^/uml-run:   stack: /'
	} | tee -a "$LOG" >&2
fi
UML_PID=

fails=0
res() { echo "$1"; case $1 in FAIL:*) fails=$((fails + 1));; esac; }

# The guest's own result lines (console may glue a kernel message in front).
while IFS= read -r l; do res "$l"; done < <(grep -aoE '(PASS|FAIL): [^[:cntrl:]]*' "$LOG" |
	grep -avE '^(PASS|FAIL): (kunit\.|kunit-missing)' | sed 's/[[:space:]]*$//')

if [ $timed_out = 1 ]; then
	res "FAIL: $TAG-uml-boot: timeout"
elif ! grep -aq '^GUEST-DONE' "$LOG"; then
	res "FAIL: $TAG-uml-boot: guest did not finish (uml exit $rc, see $LOG)"
else
	res "PASS: $TAG-uml-boot"
fi
if [ $lingered = 1 ]; then
	if grep -aq '^GUEST-DONE' "$LOG"; then
		echo "INFO: uml-run: $TAG: the guest printed GUEST-DONE but UML had not exited ${GRACE} s later; killed it (not counted as a failure; see $LOG)"
	else
		echo "INFO: uml-run: $TAG: the guest powered off without GUEST-DONE and UML had not exited ${GRACE} s later; killed it (see $LOG)"
	fi
fi

SPLAT='WARNING:|BUG:|KASAN|possible circular locking|inconsistent lock state|possible recursive locking|suspicious RCU usage|kmemleak:.*(unreferenced|suspected memory leak)|Call Trace|Kernel panic|Oops|ODEBUG|UBSAN|general protection'
# Judged from the guest's start when the kernel's own boot reported only
# the known 7.2 SMP bring-up warning (an RCU callback from a CPU not yet
# online): not ours; shown, and failed only if it turned lockdep off.
# The exemption is for that one known report; any other one at boot fails.
BOOT_KNOWN='Callback enqueued on offline CPU'
boot_end=$(grep -an 'GUEST-START' "$LOG" | head -n1 | cut -d: -f1)
boot_end=${boot_end:-0}
boot=$(head -n "$boot_end" "$LOG")
bsplats=$(echo "$boot" | grep -aE "$SPLAT" | head -n 3)
if [ -n "$bsplats" ]; then
	known=$(echo "$boot" | grep -ac "$BOOT_KNOWN")
	rcu=$(echo "$boot" | grep -ac 'suspicious RCU usage')
	other=$(echo "$boot" | grep -aE "$SPLAT" |
		grep -avE 'suspicious RCU usage|Call Trace' | head -n1)
	if [ -z "$other" ] && [ "$known" -ge "$rcu" ]; then
		echo "INFO: uml-run: $TAG: the kernel warned during its boot, before any module of ours: $BOOT_KNOWN"
	else
		# not the known one: judged like the rest
		boot_end=0
	fi
fi
if grep -aq '^guest: lockdep debug_locks=0' "$LOG"; then
	res "FAIL: $TAG-lockdep-on: lockdep was off before the tests began (see $LOG)"
fi
splats=$(tail -n +"$((boot_end + 1))" "$LOG" | grep -aE "$SPLAT" |
	grep -avE "^(PASS|FAIL): " | head -n 8)
if [ -n "$splats" ]; then
	res "FAIL: $TAG-kernel-splats: $(echo "$splats" | head -n1 | tr -d '\r')"
	echo "$splats" | sed 's/^/  splat: /' >&2
else
	res "PASS: $TAG-kernel-splats"
fi

note=
[ $lingered = 1 ] && note=" (killed ${GRACE} s after the guest's end)"
echo "uml-run: $TAG ran ${ELAPSED}s, uml exit $rc$note, log $LOG" >&2
if [ $fails -gt 0 ]; then
	echo "uml-run: last console lines:" >&2
	tail -n 25 "$LOG" | sed 's/^/  | /' >&2
	exit 1
fi
exit 0
