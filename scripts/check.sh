#!/bin/bash
# make check: every test of the project. Each step prints PASS:/FAIL: lines,
# one per case; this script collects them and ends with
# "N passed, N failed". Exit status 1 if anything failed.
#
# Steps (CHECK_STEPS overrides, space separated):
#   deps build dlm-ko dkms checkpatch kunit fuzz uml-cluster uml-stress uml-teardown
#   uml-dropin uml-stack (corosync, dlm_controld and the drop-in in two debug
#   UML kernels) hostile faults tcg (the emulator's CMPXCHG16B bug that our
#   guests' CPU model avoids, scripts/tcg-check.sh) qemu-6.12 qemu-6.1
#   interop-6.12 interop-6.1
#   interop-dropin-6.12 interop-dropin-6.1 (the drop-in dlm.ko against our
#   nodes) stack-6.12 stack-mixed-6.12 stack-6.1 stack-mixed-6.1 (corosync,
#   dlm_controld, libdlm locks and GFS2 over the drop-in, CI-sized;
#   `make dlm-stack` runs 10,000 rounds) qemu-7.2 qemu-7.3 (io_highpri=0)
#   interop-7.2 interop-7.3 (sid's and experimental's kernels; their module
#   builds run in the sid chroot) bench-short (make bench, CI-sized: its
#   rows' cases judged, its ratios printed, not judged)
set -uo pipefail

DEFAULT_STEPS="deps build dlm-ko dkms checkpatch kunit fuzz uml-cluster uml-stress uml-teardown uml-dropin uml-stack hostile faults tcg qemu-6.12 qemu-6.1 interop-6.12 interop-6.1 interop-dropin-6.12 interop-dropin-6.1 stack-6.12 stack-mixed-6.12 stack-6.1 stack-mixed-6.1 qemu-7.2 qemu-7.3 interop-7.2 interop-7.3 bench-short"
# --steps: print the default steps (make check-all adds to them)
[ "${1:-}" = --steps ] && { echo "$DEFAULT_STEPS"; exit 0; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Output folder: $DLM_LC_OUT, else a new one per run (scripts/outdir.sh), so
# two checks at once (two checkouts) never write the same files.
. "$HERE/outdir.sh"
echo "check: output in $DLM_LC_OUT"
RESULTS=$DLM_LC_OUT/results.txt
: >"$RESULTS"

STEPS=${CHECK_STEPS:-$DEFAULT_STEPS}

run_step() {
	case $1 in
	deps)		"$HERE/deps.sh" ;;
	build)		"$HERE/build-matrix.sh" ;;
	dlm-ko)		"$HERE/dlm-ko.sh" ;;
	dkms)		"$HERE/dkms-test.sh" ;;
	# the real stack: corosync, dlm_controld, GFS2, our dlm.ko on both
	# nodes, or ours and the kernel's own (mixed); CI-sized here; node
	# 2's DLM restarts while node 1 (ours) holds a lock, and the link is
	# cut for 8 s during a lock loop (an empty DLMSTACK_RESTART=,
	# DLMSTACK_CUT= or UMLSTACK_RESTART= skips that)
	stack-6.12|stack-6.1)
		DLMSTACK_ROUNDS=${DLMSTACK_ROUNDS:-2000} DLMSTACK_GFS2=${DLMSTACK_GFS2:-200} \
		DLMSTACK_RESTART=${DLMSTACK_RESTART-1} DLMSTACK_HOLD=${DLMSTACK_HOLD:-90} \
		DLMSTACK_CUT=${DLMSTACK_CUT-8} \
			"$HERE/dlm-stack.sh" "${1#stack-}" ours ;;
	stack-mixed-6.12|stack-mixed-6.1)
		DLMSTACK_ROUNDS=${DLMSTACK_ROUNDS:-2000} DLMSTACK_GFS2=${DLMSTACK_GFS2:-200} \
		DLMSTACK_RESTART=${DLMSTACK_RESTART-1} DLMSTACK_HOLD=${DLMSTACK_HOLD:-90} \
		DLMSTACK_CUT=${DLMSTACK_CUT-8} \
			"$HERE/dlm-stack.sh" "${1#stack-mixed-}" mixed ;;
	checkpatch)	"$HERE/checkpatch.sh" ;;
	kunit)		"$HERE/kunit.sh" ;;
	# the same suites in a 7.2 debug UML kernel with two CPUs (make
	# check-all only: races that one CPU cannot reach, e.g. 7.4a);
	# its lines are prefixed so they do not read as the 6.12 ones
	kunit-7.2)	UML_KERNEL=7.2 UML_NCPUS=2 UML_TIMEOUT=1500 "$HERE/kunit.sh" |
				sed -u 's/^\(PASS\|FAIL\): /\1: uml-7.2./'
			return "${PIPESTATUS[0]}" ;;
	uml-cluster)	"$HERE/uml-test.sh" cluster ;;
	# the drop-in dlm.ko in the debug UML kernel, our nodes against it
	uml-dropin)	"$HERE/uml-test.sh" dropin ;;
	# the real stack in two debug UML kernels: real lock traffic through
	# the drop-in under lockdep, KASAN and kmemleak; node 2's DLM restarts
	uml-stack)	UMLSTACK_RESTART=${UMLSTACK_RESTART-1} "$HERE/uml-stack.sh" ;;
	uml-stress)	"$HERE/uml-test.sh" stress ;;
	# CI-sized; `make teardown` runs 1,000 cycles of each case
	uml-teardown)	TEARDOWN_CYCLES=${TEARDOWN_CYCLES:-30} \
			TEARDOWN_NS=${TEARDOWN_NS:-10} \
			TEARDOWN_RELOADS=${TEARDOWN_RELOADS:-10} \
			"$HERE/uml-test.sh" teardown ;;
	fuzz)		"$HERE/fuzz.sh" ;;
	hostile)	"$HERE/hostile.sh" uml ;;
	faults)		"$HERE/faults.sh" ;;
	tcg)		"$HERE/tcg-check.sh" ;;
	qemu-6.12|qemu-6.1|qemu-7.2)
		CLUSTER_TAG=$1.cluster "$HERE/qemu-run.sh" "${1#qemu-}" \
			"$HERE/../tests/cluster.sh" ;;
	# one kernel runs the socket work at normal priority (io_highpri=0,
	# as the drop-in for 6.1 does by default; the io-priority case checks)
	qemu-7.3)
		CLUSTER_TAG=$1.cluster \
		CLUSTER_MODPARAMS="${CLUSTER_MODPARAMS:+$CLUSTER_MODPARAMS }io_highpri=0" \
			"$HERE/qemu-run.sh" 7.3 "$HERE/../tests/cluster.sh" ;;
	interop-6.12|interop-6.1|interop-7.2|interop-7.3)
		"$HERE/interop.sh" "${1#interop-}" ;;
	# the same against our drop-in dlm.ko in place of the kernel's own
	interop-dropin-6.12|interop-dropin-6.1)
		"$HERE/interop.sh" "${1#interop-dropin-}" dropin ;;
	# make bench in a few minutes: every row but 2 (real locks) once,
	# small, Debian 6.12 only. The rows' own cases (delivery, memory,
	# ...) count here, prefixed bench.; the ratios go to the log as INFO
	# lines: a timed figure from a shared CI machine is a number to read,
	# not a verdict.
	bench-short)	bench_short ;;
	*)		echo "FAIL: check.$1: unknown step"; return 1 ;;
	esac
}

bench_short() {
	local o=$DLM_LC_OUT/bench-short b rc
	b=$o/bench
	# nothing of an earlier run is read as this one's
	rm -rf "$o"
	mkdir -p "$o"
	# CI-sized: what sets the size is pinned here, whatever the caller set
	# (BENCH_SOAK_EVERY/_CHUNK/_SLACK_KB, BENCH_CEIL_SIZES and
	# CLUSTER_BULK_TIMEOUT still pass through, as for any step)
	env -u QEMU_TIMEOUT DLM_LC_OUT="$o" BENCH_SHORT=1 BENCH_ROWS="1 3 4 5 6 7" \
		BENCH_KERNELS=6.12 BENCH_ROUNDS=1 INTEROP_FLOOD=1 INTEROP_FLOOD_ROUNDS=1 \
		INTEROP_FLOOD_PING=1 INTEROP_FLOOD_SECS=3 BENCH_SCALE_NODES=16 \
		BENCH_SCALE_MSGS=2000 MSGS=20000 SIZE=256 BENCH_CEIL_BYTES=4194304 \
		BENCH_SOAK_SECS=60 BENCH_SOAK_WARM=20 BENCH_SOAK_CLOSE=15 \
		"$HERE/bench.sh" >"$o/bench.log" 2>&1
	rc=$?
	# each case once: the guests' own lines (interop-bench's summary log
	# repeats the FAIL lines of its .out files, so only its own are taken)
	grep -hE '^(PASS|FAIL): ' "$b"/legacy.log "$b"/ceiling.log "$b"/scale.log \
		"$b"/soak.log "$b"/interop-bench-*/*.out 2>/dev/null |
		sed -E 's/^(PASS|FAIL): /\1: bench./'
	grep -hE '^FAIL: interop-bench-' "$b"/interop-*.log 2>/dev/null |
		sed -E 's/^FAIL: /FAIL: bench./'
	sed 's/^/INFO: bench-short: /' "$b/summary.txt" 2>/dev/null
	grep -E '^(FAIL|INFO): bench:' "$o/bench.log"
	if [ "$rc" -eq 0 ]; then
		echo "PASS: bench.short"
	else
		echo "FAIL: bench.short: scripts/bench.sh exit $rc ($o/bench.log)"
	fi
	return "$rc"
}

for step in $STEPS; do
	echo "=== $step ($(date +%T))"
	start=$(date +%s)
	log=$DLM_LC_OUT/step-$step.log
	run_step "$step" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	grep -E '^(PASS|FAIL): ' "$log" >>"$RESULTS"
	if [ "$step" = deps ]; then
		if [ "$rc" -eq 0 ]; then
			echo "PASS: deps" | tee -a "$RESULTS"
		else
			echo "FAIL: deps: exit $rc" | tee -a "$RESULTS"
		fi
	elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL: ' "$log"; then
		echo "FAIL: check.$step: exit $rc without a FAIL line" | tee -a "$RESULTS"
	elif ! grep -qE '^(PASS|FAIL): ' "$log"; then
		echo "FAIL: check.$step: no results" | tee -a "$RESULTS"
	fi
	echo "=== $step done in $(( $(date +%s) - start )) s, exit $rc"
done

passed=$(grep -c '^PASS: ' "$RESULTS")
failed=$(grep -c '^FAIL: ' "$RESULTS")
if [ "$failed" -gt 0 ]; then
	echo "--- failures:"
	grep '^FAIL: ' "$RESULTS"
fi
echo "check: results in $RESULTS"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
