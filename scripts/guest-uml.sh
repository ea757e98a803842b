#!/bin/sh
# PID 1 inside the UML guest (see scripts/uml-run.sh).
# usage (kernel command line): init=/path/guest-uml.sh -- <module dir> [kunit|cluster] [msgs]
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

off() {
	echo "GUEST-DONE"
	sync 2>/dev/null
	$BB poweroff -f
	# not reached; if it is, dying as PID 1 panics UML, which also exits
	exit 1
}

mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=755 tmpfs /run
MODDIR=${1:-}
MODE=${2:-kunit}
MSGS=${3:-100000}
case $MODE in
cluster|stress|faults) TAGP=uml-$MODE ;;
*) TAGP=$MODE ;;
esac
# Copy the modules into tmpfs first: the module dir may well live under /tmp,
# which we are about to hide.
mkdir -p /run/dlm_lc/mod
if [ -z "$MODDIR" ] || ! cp "$MODDIR"/*.ko /run/dlm_lc/mod/ 2>/dev/null ||
	! cp "$MODDIR"/*.sh /run/dlm_lc/ 2>/dev/null; then
	echo "FAIL: $TAGP-guest-setup: no modules in '${MODDIR}'"
	off
fi
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
uptime_s() { cut -d. -f1 /proc/uptime; }

# kmemleak reports only objects older than 5 s: wait until boot allocations
# are that old, then scan and "clear" so that boot-time noise is not blamed on
# the module.
if [ -w $KML ]; then
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

case $MODE in
kunit) run_kunit ;;
cluster) run_cluster ;;
stress) STRESS_TAG=uml.stress sh /run/dlm_lc/stress.sh /run/dlm_lc/mod/dlm_lowcomms.ko ;;
faults) FAULTS_TAG=uml.faults sh /run/dlm_lc/faults.sh /run/dlm_lc/mod/dlm_lowcomms.ko ;;
fuzz) run_fuzz ;;
*) echo "FAIL: uml-guest: unknown mode '$MODE'" ;;
esac

if [ -w $KML ]; then
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
