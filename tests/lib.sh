#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Shell helpers shared by the guest tests (cluster.sh and what sources it,
# interop.sh, dlmstack.sh, hostile.sh and the others under tests/).
# POSIX sh: busybox sh and dash. Callers set TAG (result prefix) and ERR
# (a scratch file for error text) before using pass/fail/wr.

# busybox sh runs its own `ip` applet (no netns/veth) before PATH: find
# iproute2's binary and call it by full path.
IP=
for c in /sbin/ip /bin/ip /usr/sbin/ip /usr/bin/ip; do
	if [ -x "$c" ] && "$c" -V 2>/dev/null | grep -qi iproute2; then
		IP=$c
		break
	fi
done
[ -n "$IP" ] || IP=/sbin/ip

failed=0
pass() { echo "PASS: $TAG.$1"; }
fail() {
	c=$1
	shift
	echo "FAIL: $TAG.$c: $*"
	failed=$((failed + 1))
}
info() { echo "INFO: $*"; }
diag() { echo "  $*"; }

now() { cut -d' ' -f1 /proc/uptime; }
# step TEXT: note progress where the guest's watchdog shows it on a stall
step() { [ -z "${DLM_LC_STEPS:-}" ] || echo "$(now) $*" >>"$DLM_LC_STEPS"; }
# elapsed START [END]: seconds as a decimal
elapsed() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.2f", b - a }'; }
# older_than START SECS: true once SECS have passed since START
older_than() { awk -v a="$1" -v b="$(now)" -v s="$2" 'BEGIN { exit !(b - a >= s) }'; }
# busy_ticks: CPU ticks (USER_HZ) all CPUs spent busy since boot:
# user, nice, system, irq, softirq; ctxt: context switches since boot
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
ctxt() { awk '$1 == "ctxt" { print $2 }' /proc/stat; }

# wr FILE VALUE [SECS]: write VALUE to a configfs attribute, bounded in
# time; on failure the error text is in $ERR. busybox's echo names the
# errno ("Device or resource busy"); dash's says "I/O error" for all.
WSH=sh
[ -x /bin/busybox ] && WSH="/bin/busybox sh"
wr() {
	if command -v timeout >/dev/null 2>&1; then
		timeout "${3:-60}" $WSH -c 'echo "$1" > "$2"' wr "$2" "$1" 2>"$ERR"
	else
		$WSH -c 'echo "$1" > "$2"' wr "$2" "$1" 2>"$ERR"
	fi
	r=$?
	[ $r -eq 0 ] && return 0
	[ -s "$ERR" ] || echo "exit $r (timeout?)" >"$ERR"
	return $r
}
# until_t SECS CMD...: poll CMD, 0.1 s apart, at most SECS seconds
until_t() {
	k=$(($1 * 10))
	shift
	while [ $k -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		k=$((k - 1))
	done
	return 1
}

errtxt() { tr '\n' ' ' <"$ERR" | sed 's/ *$//'; }

# st FILE KEY: value of a "key value" line
st() { awk -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null; }

# in_ns NS CMD...: run CMD in netns NS, keeping /sys/kernel/config visible.
# nsenter switches only the network namespace; `ip netns exec` also makes
# a new mount namespace with a fresh /sys, so configfs is mounted again
# there (configfs is one tree, the same in every mount).
in_ns() {
	ns=$1
	shift
	if command -v nsenter >/dev/null 2>&1 && [ -e "/run/netns/$ns" ]; then
		nsenter --net="/run/netns/$ns" "$@"
	else
		"$IP" netns exec "$ns" sh -c \
			'mount -t configfs none /sys/kernel/config 2>/dev/null; "$@"' in_ns "$@"
	fi
}

# remove_instance DIR: stop it if running, rmdir its nodes and itself;
# appends what failed to $bad
remove_instance() {
	d=${1%/}
	[ -d "$d" ] || return 0
	if [ -f "$d/control" ] && [ "$(cat "$d/control" 2>/dev/null)" = running ]; then
		wr "$d/control" stop 60 || bad="$bad stop ${d##*/}: $(errtxt)"
	fi
	for c in "$d"/comms/*/; do
		[ -d "$c" ] || continue
		rmdir "${c%/}" 2>"$ERR" || bad="$bad rmdir ${d##*/}/comms/$(basename "$c"): $(errtxt)"
	done
	rmdir "$d" 2>"$ERR" || bad="$bad rmdir ${d##*/}: $(errtxt)"
}

# rmmod_retry: unload dlm_lowcomms, retrying while references drain (10 s)
rmmod_retry() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		rmmod dlm_lowcomms 2>"$ERR" && return 0
		sleep 1
	done
	return 1
}

# insmod_dep NAME: insmod $MODS/NAME.ko (default /modules) after the
# modules its "depends" (modinfo) names; built-in or loaded counts as done
insmod_dep() {
	n=$1
	grep -q "^$n " /proc/modules && return 0
	[ -d "/sys/module/$n" ] && return 0	# built in
	f=${MODS:-/modules}/$n.ko
	[ -f "$f" ] || { echo "no $f" >"$ERR"; return 1; }
	deps=$(modinfo -F depends "$f" 2>/dev/null)
	[ -n "$deps" ] || deps=$(strings "$f" | sed -n 's/^depends=//p' | head -n1)
	for d in $(echo "$deps" | tr ',' ' '); do
		insmod_dep "$d" || return 1
	done
	# sh has no locals: the calls above reused n and f; $1 is ours
	insmod "${MODS:-/modules}/$1.ko" 2>"$ERR"
}

# insmod_pci_nic: virtio_pci is a module in Debian's 6.1 and built in in
# 6.12; without it a virtio NIC or disk never appears
insmod_pci_nic() {
	[ -f "${MODS:-/modules}/virtio_pci.ko" ] || return 0
	insmod_dep virtio_pci
}

# setup_net: the guest's link to the other guest(s) as 10.99.0.$ME/24 on
# its one NIC (a virtio one, after its modules; DLMSTACK_NIC=builtin: it
# is there already, as in the UML stack); sets dev
setup_net() {
	if [ "${DLMSTACK_NIC:-virtio}" = virtio ]; then
		insmod_pci_nic || { fail net "virtio_pci: $(errtxt)"; return 1; }
		insmod_dep virtio_net || { fail net "virtio_net: $(errtxt)"; return 1; }
	fi
	dev=
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		dev=$(ls /sys/class/net | grep -v '^lo$' | head -n1)
		[ -n "$dev" ] && break
		sleep 0.5
	done
	if [ -z "$dev" ]; then
		fail net "no network device; modules: $(awk '{ print $1 }' /proc/modules | tr '\n' ' ')"
		dmesg | grep -i virtio | tail -n 5
		return 1
	fi
	"$IP" link set lo up
	"$IP" addr add "10.99.0.$ME/24" dev "$dev" &&
		"$IP" link set "$dev" up || { fail net "$dev setup failed"; return 1; }
	pass net
}

# quiesce: wait (bounded, 60 s) until traffic between $CFG/c1 and $CFG/c2
# is out of every queue: nothing unsent at either side and the receivers'
# counters still for a second. Stale messages arriving after a counter
# reset would start a new run. Leaves the last reading in $cur.
quiesce() {
	prev=
	k=0
	while [ $k -lt 60 ]; do
		cur="$(st "$CFG/c1/comms/2/status" queued) $(st "$CFG/c2/comms/1/status" queued)"
		cur="$cur $(st "$CFG/c2/comms/1/status" rx_msgs) $(st "$CFG/c1/comms/2/status" rx_msgs)"
		case "$cur" in
		"0 0 "*) [ "$cur" = "$prev" ] && return 0 ;;
		esac
		prev=$cur
		sleep 1
		k=$((k + 1))
	done
	return 1
}
