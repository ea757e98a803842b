#!/bin/sh
# PID 1 inside the UML guest (see scripts/uml-run.sh).
# usage (kernel command line): init=/path/guest-uml.sh -- <module dir> [kunit|cluster|stress|faults|teardown|fuzz|dropin|stack] [msgs]
#
# The root file system is the BUILD MACHINE's / over hostfs, mounted ro:
# mount tmpfs over every place we write before writing anything.
# Loads dlm_lowcomms.ko then dlm_lowcomms_kunit.ko (KUnit runs the suites at
# load and prints KTAP to the console), unloads both, asks kmemleak for a
# report, and powers off.  Prints one PASS:/FAIL: line per step and
# "GUEST-DONE" last.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
BB=/bin/busybox

# User processes other than PID 1 and its copies (a subshell or command
# substitution of this script), one "pid ppid state args" line each; kernel
# threads (pid 2 and its children) and zombies left out.  One ps and one
# awk: a fork costs milliseconds in UML.
others() {
	ps -e -o pid=,ppid=,stat=,args= 2>/dev/null | awk -v me=" $0 " '
		$1 == 1 || $1 == 2 || $2 == 2 || $3 ~ /^Z/ { next }
		index(" " $0 " ", me) { next }
		$4 == "ps" && $5 == "-e" { next }
		$4 == "awk" && $5 == "-v" { next }
		{ print substr($0, 1, 160) }'
}

# What the tests left running at power-off is listed, not killed: a signal
# that reaches a process while it forks crashes this UML (copy_process
# fails, and exit_mmap faults in flush_tlb_mm on the half-made mm), while
# poweroff -f ends every process from the host side, safely. Only the
# watchdog is stopped, while it sits in its one long sleep (no fork).
off() {
	if [ -n "${WATCHDOG_PID:-}" ]; then
		# the watchdog first (it waits for its sleep), then the sleep
		wsleep=$(pgrep -P "$WATCHDOG_PID" 2>/dev/null)
		kill "$WATCHDOG_PID" 2>/dev/null
		[ -n "$wsleep" ] && kill $wsleep 2>/dev/null
	fi
	left=$(others)
	if [ -n "$left" ]; then
		echo "guest: $(echo "$left" | wc -l) process(es) left at power-off (pid ppid state args):"
		echo "$left" | sed 's/^/guest:   /'
	fi
	sync 2>/dev/null
	echo "GUEST-DONE"
	$BB poweroff -f
	# not reached; if it is, dying as PID 1 panics UML, which also exits
	exit 1
}

mountpoint -q /proc || mount -t proc proc /proc
# uml-run.sh judges the kernel log from here on (what came before is boot)
echo "GUEST-START"
# a boot-time lockdep report turns lockdep off: the suites would run unchecked
dl=$(awk '$1 == "debug_locks:" { print $2 }' /proc/lockdep_stats 2>/dev/null)
[ -z "$dl" ] || echo "guest: lockdep debug_locks=$dl"
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=755 tmpfs /run
MODDIR=${1:-}
MODE=${2:-kunit}
MSGS=${3:-100000}
case $MODE in
cluster|stress|faults|teardown|dropin) TAGP=uml-$MODE ;;
stack) TAGP=uml-stack-${DLMSTACK_NODE:-0} ;;
*) TAGP=$MODE ;;
esac
# asked for more than one CPU (uml-run.sh UML_NCPUS): make sure we got them
if [ -n "${DLM_LC_NCPUS:-}" ]; then
	got=$(grep -c '^processor' /proc/cpuinfo)
	if [ "$got" = "$DLM_LC_NCPUS" ]; then
		echo "PASS: $TAGP-guest-cpus ($got)"
	else
		echo "FAIL: $TAGP-guest-cpus: $got online, $DLM_LC_NCPUS asked for"
	fi
fi
# Copy the modules into tmpfs first: the module dir may well live under /tmp,
# which we are about to hide.
mkdir -p /run/dlm_lc/mod
if [ -z "$MODDIR" ] || ! cp "$MODDIR"/*.ko /run/dlm_lc/mod/ 2>/dev/null ||
	! cp "$MODDIR"/*.sh /run/dlm_lc/ 2>/dev/null; then
	echo "FAIL: $TAGP-guest-setup: no modules in '${MODDIR}'"
	off
fi
# the dropin mode's lockspace helper (tests/tools/dlm_ls_create.c), the
# stack mode's lock loop (tests/tools/dlm_lockloop.c)
for t in dlm_ls_create dlm_lockloop; do
	[ ! -x "$MODDIR/$t" ] || cp "$MODDIR/$t" /run/dlm_lc/
done
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
cd /run/dlm_lc || off

# Loopback for the in-kernel cluster suites: 127.0.0.0/8 plus the IPv6
# addresses tests/cluster_kunit.c uses (nodad: usable at once).
if out=$( { ip link set lo up &&
	ip -6 addr add fd5c::1/128 dev lo nodad &&
	ip -6 addr add fd5c::2/128 dev lo nodad; } 2>&1); then
	echo "PASS: $TAGP-guest-net"
else
	echo "FAIL: $TAGP-guest-net: $out"
fi

KML=/sys/kernel/debug/kmemleak
# the suites note each step here (tests/lib.sh step()); the watchdog shows it
DLM_LC_STEPS=/run/dlm_lc.steps
export DLM_LC_STEPS
uptime_s() { cut -d. -f1 /proc/uptime; }

# Watchdog: uml-run.sh kills UML at its time limit and passes a moment a
# minute before it as DLM_LC_WATCHDOG (seconds of uptime).  A guest still
# running then prints what every process waits on, and the kernel stacks of
# those in D state, so a stalled round leaves a trace.  off() ends it.
watchdog() {
	# one sleep, not a polling loop: off() stops us while we wait in it
	w=$(( $1 - $(uptime_s) ))
	[ "$w" -gt 0 ] && sleep "$w"
	echo "guest: watchdog: still running after $1 s (pid ppid state args):"
	# no wchan: reading it trips KASAN in UML's __get_wchan (6.12)
	ps -e -o pid=,ppid=,stat=,args= 2>/dev/null | awk '$2 != 2 && $1 != 2' |
		cut -c1-200 | sed 's/^/guest:   /'
	for d in /proc/[0-9]*; do
		case $(sed 's/.*) //' "$d/stat" 2>/dev/null) in D* | S*) ;; *) continue ;; esac
		[ -n "$(tr -d '\0' <"$d/cmdline" 2>/dev/null)" ] || continue	# kthreads
		echo "guest: watchdog: ${d#/proc/} $(cat "$d/comm" 2>/dev/null) waits in:"
		sed 's/^/guest:     /' "$d/stack" 2>/dev/null | head -n 20
		# a shell blocked on a pipe: who else holds that pipe
		for f in "$d"/fd/*; do
			l=$(readlink "$f" 2>/dev/null)
			case $l in pipe:*) ;; *) continue ;; esac
			h=$(for e in /proc/[0-9]*/fd/*; do
				[ "$(readlink "$e" 2>/dev/null)" = "$l" ] && echo "${e#/proc/}"
			done | tr '\n' ' ')
			echo "guest:     fd ${f##*/} $l held by: $h"
		done
	done
	if [ -s "$DLM_LC_STEPS" ]; then
		echo "guest: watchdog: the suite's last steps (uptime, step):"
		tail -n 30 "$DLM_LC_STEPS" | cut -c1-200 | sed 's/^/guest:   /'
	fi
}
case ${DLM_LC_WATCHDOG:-} in
'' | *[!0-9]*) ;;
*)
	watchdog "$DLM_LC_WATCHDOG" &
	WATCHDOG_PID=$!
	;;
esac

# kmemleak reports only objects older than 5 s: wait until boot allocations
# are that old, then scan and "clear" so that boot-time noise is not blamed on
# the module.
if [ -w $KML ] && [ "${DLM_LC_KMEMLEAK:-}" != off ]; then
	while [ "$(uptime_s)" -lt 6 ]; do sleep 1; done
	echo scan >$KML
	echo clear >$KML
fi

run_kunit() {
	for m in dlm_lowcomms dlm_lowcomms_kunit; do
		if [ ! -f mod/$m.ko ]; then
			echo "FAIL: $TAGP-insmod-$m: $m.ko not built"
			break
		fi
		if out=$(insmod mod/$m.ko 2>&1); then
			echo "PASS: $TAGP-insmod-$m"
		else
			echo "FAIL: $TAGP-insmod-$m: $out"
			break
		fi
	done

	# Unload in reverse, whatever loaded.
	for m in dlm_lowcomms_kunit dlm_lowcomms; do
		[ -d /sys/module/$m ] || continue
		if out=$(rmmod $m 2>&1); then
			echo "PASS: $TAGP-rmmod-$m"
		else
			echo "FAIL: $TAGP-rmmod-$m: $out"
		fi
	done
}

# The fuzzer: its own KUnit module, the count as a module parameter.
run_fuzz() {
	if ! out=$(insmod mod/dlm_lowcomms.ko 2>&1); then
		echo "FAIL: $TAGP-insmod: $out"
		return
	fi
	if out=$(insmod mod/dlm_lowcomms_fuzz.ko inputs="$MSGS" 2>&1); then
		echo "PASS: $TAGP-insmod"
	else
		echo "FAIL: $TAGP-insmod: $out"
	fi
	rmmod dlm_lowcomms_fuzz 2>/dev/null
	rmmod dlm_lowcomms || echo "FAIL: $TAGP-rmmod"
}

# tests/cluster.sh does its own insmod, configuration and rmmod.
run_cluster() {
	CLUSTER_TAG=uml.cluster MSGS=$MSGS sh /run/dlm_lc/cluster.sh /run/dlm_lc/mod/dlm_lowcomms.ko
}

# One node of the real cluster stack (scripts/uml-stack.sh boots two, their
# eth0 on one bridge in a namespace of the host's): Debian's corosync and
# dlm_controld from the host's root, our drop-in dlm.ko built from this
# kernel's own DLM, real lock traffic under lockdep, KASAN and kmemleak.
run_stack() {
	# where the daemons write; the root is the host's, read-only
	for d in /etc/corosync /var/lib/corosync /var/log; do
		mount -t tmpfs -o mode=755 tmpfs "$d" || echo "FAIL: $TAGP-guest-setup: tmpfs on $d"
	done
	mkdir -p /var/log/cluster /var/log/dlm_controld
	mount -t configfs none /sys/kernel/config 2>/dev/null
	PATH=/run/dlm_lc:$PATH DLMSTACK_KO=/run/dlm_lc/mod/dlm.ko DLMSTACK_NIC=builtin \
		sh /run/dlm_lc/dlmstack.sh
	rc=$?
	[ $rc = 0 ] || echo "FAIL: $TAGP-dlmstack: exit $rc"
	# down before power-off: UML 6.12 frees an open NIC's interrupt under
	# a spinlock at power-off (close_devices), which lockdep reports
	ip link set eth0 down
}

case $MODE in
kunit) run_kunit ;;
cluster) run_cluster ;;
stress) STRESS_TAG=uml.stress sh /run/dlm_lc/stress.sh /run/dlm_lc/mod/dlm_lowcomms.ko ;;
faults) FAULTS_TAG=uml.faults sh /run/dlm_lc/faults.sh /run/dlm_lc/mod/dlm_lowcomms.ko ;;
teardown) TEARDOWN_TAG=uml.teardown sh /run/dlm_lc/teardown.sh /run/dlm_lc/mod/dlm_lowcomms.ko ;;
fuzz) run_fuzz ;;
# our drop-in dlm.ko (node 2, the kernel's own DLM above our transport)
# against our standalone module's nodes: tests/interop.sh without capture
dropin) INTEROP_TAG=uml.dropin INTEROP_MODS=/run/dlm_lc/mod \
	INTEROP_DLM_KO=/run/dlm_lc/mod/dlm.ko \
	INTEROP_HELPER=/run/dlm_lc/dlm_ls_create INTEROP_CAPTURE=0 \
	INTEROP_BUILTIN="configfs veth" \
	sh /run/dlm_lc/interop.sh ;;
stack) run_stack ;;
*) echo "FAIL: uml-guest: unknown mode '$MODE'" ;;
esac

if [ "${DLM_LC_KMEMLEAK:-}" = off ]; then
	# (its debugfs file stays, and reads back empty: no PASS from that)
	echo "INFO: $TAGP-kmemleak: off in this kernel (see scripts/uml-run.sh)"
elif [ -w $KML ]; then
	# Two scans 6 s apart so objects leaked at load/unload pass the 5 s age.
	echo scan >$KML
	sleep 6
	echo scan >$KML
	rep=$(cat $KML)
	if [ -n "$rep" ]; then
		echo "kmemleak report:"
		echo "$rep" | sed 's/^/kmemleak: /'
		echo "FAIL: $TAGP-kmemleak: $(echo "$rep" | grep -c 'unreferenced object') unreferenced object(s)"
	else
		echo "PASS: $TAGP-kmemleak"
	fi
else
	echo "FAIL: $TAGP-kmemleak: $KML not available"
fi
off
