#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Guest helpers for the real cluster stack (dlmstack.sh, lockbench.sh):
# dlm.ko (ours or the kernel's own), corosync and dlm_controld. After
# lib.sh (whose setup_net makes the link). Callers set ME (node id), DLM
# (ours|stock), NODES, TAG and ERR. DLMSTACK_KO_PARAMS: insmod parameters
# of our dlm.ko (e.g. io_highpri=1).

# load_dlm: ours (with DLMSTACK_KO_PARAMS, each read back) or the
# kernel's own. Ours must say it is ours; unless io_highpri was given,
# its socket workers must have the priority of the kernel's own
# lowcomms: normal in 6.1, high after it.
load_dlm() {
	if [ "$DLM" = ours ]; then
		# shellcheck disable=SC2086
		insmod "${DLMSTACK_KO:-/extra/dlm.ko}" ${DLMSTACK_KO_PARAMS:-} 2>"$ERR" ||
			return 1
		v=$(cat /sys/module/dlm/version 2>/dev/null)
		case $v in
		lowcomms-*) info "$TAG: dlm.ko version $v" ;;
		*) echo "loaded dlm.ko has version '$v', not ours" >"$ERR"; return 1 ;;
		esac
		hp=$(cat /sys/module/dlm/parameters/io_highpri 2>/dev/null)
		info "$TAG: io_highpri=$hp ${DLMSTACK_KO_PARAMS:-}"
		want=Y
		case $(uname -r) in 6.1.*) want=N ;; esac
		for kv in ${DLMSTACK_KO_PARAMS:-}; do
			k=${kv%%=*}
			want_kv=${kv#*=}
			case $want_kv in 1 | y) want_kv=Y ;; 0 | n) want_kv=N ;; esac
			[ "$k" = io_highpri ] && want=$want_kv
			got=$(cat "/sys/module/dlm/parameters/$k" 2>/dev/null)
			[ "$got" = "$want_kv" ] || {
				echo "parameter $k reads '$got', not $want_kv" >"$ERR"
				return 1
			}
		done
		[ "$hp" = "$want" ] || {
			echo "io_highpri reads '$hp', not $want on $(uname -r)" >"$ERR"
			return 1
		}
	else
		insmod_dep dlm || return 1
		[ ! -e /sys/module/dlm/version ] ||
			info "$TAG: stock dlm.ko, version $(cat /sys/module/dlm/version)"
	fi
}

corosync_conf() {
	mkdir -p /etc/corosync /var/lib/corosync /var/log/cluster
	{
		echo "totem {"
		echo "	version: 2"
		echo "	cluster_name: lctest"
		echo "	transport: knet"
		echo "	crypto_cipher: none"
		echo "	crypto_hash: none"
		echo "	token: 10000"
		echo "	join: 1000"
		echo "}"
		echo "nodelist {"
		i=1
		while [ "$i" -le "$NODES" ]; do
			echo "	node {"
			echo "		ring0_addr: 10.99.0.$i"
			echo "		nodeid: $i"
			echo "		name: n$i"
			echo "	}"
			i=$((i + 1))
		done
		echo "}"
		echo "quorum {"
		echo "	provider: corosync_votequorum"
		[ "$NODES" = 2 ] && echo "	two_node: 1"
		echo "}"
		# corosync's parser wants one item per line
		echo "logging {"
		echo "	to_stderr: yes"
		echo "	to_syslog: no"
		echo "	to_logfile: no"
		echo "}"
		echo "system {"
		echo "	sched_rr: no"
		echo "	move_to_root_cgroup: no"
		echo "}"
	} >/etc/corosync/corosync.conf
}

# wait_for SECONDS CMD...: bounded poll, 1 s apart
wait_for() {
	w=$1
	shift
	while [ "$w" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 1
		w=$((w - 1))
	done
	return 1
}

quorate() { corosync-quorumtool -s 2>/dev/null | grep -q '^Quorate: *Yes'; }
controld_up() { dlm_tool status 2>/dev/null | grep -q '^cluster '; }

# start_corosync: corosync up (pid in cpid) and quorate (180 s), or a
# FAIL line and 1
start_corosync() {
	corosync_conf
	corosync -f >/tmp/corosync.log 2>&1 &
	cpid=$!
	if wait_for 180 quorate; then
		pass corosync-quorate
	else
		fail corosync-quorate "not quorate after 180 s"
		tail -n 20 /tmp/corosync.log
		return 1
	fi
}

# stack_dirs: what corosync, dlm_controld and libdlm expect to find
stack_dirs() {
	mkdir -p /dev/shm /run/dlm_controld /var/log/dlm_controld /etc/dlm
	mount -t tmpfs tmpfs /dev/shm
	mount -t debugfs none /sys/kernel/debug 2>/dev/null
	# libdlm and dlm_controld look for /dev/misc/dlm*; devtmpfs has /dev/dlm*
	[ -e /dev/misc ] || ln -s . /dev/misc
}

# start_controld CASE: dlm_controld up, pid in $dpid (its log appended to)
# dlm_controld writes our own comm (its address, local=1) some time after
# dlm_tool status shows the cluster; a lockspace made before that fails
# with ENOTCONN ("no local IP address has been set", seen once in UML)
local_comm() {
	[ "$(cat "/sys/kernel/config/dlm/cluster/comms/$ME/local" 2>/dev/null)" = 1 ]
}

start_controld() {
	dlm_controld --foreground 1 --enable_fencing 0 --protocol tcp \
		>>/tmp/dlm_controld.log 2>&1 &
	dpid=$!
	if wait_for 60 controld_up && wait_for 60 local_comm; then
		pass "$1"
	else
		fail "$1" "no cluster in dlm_tool status, or no local comm, after 60 s"
		ls -R /sys/kernel/config/dlm 2>&1 | head -n 20
		tail -n 20 /tmp/dlm_controld.log
		return 1
	fi
}

stop_controld() {
	kill "$dpid" 2>/dev/null
	wait_for 30 sh -c "! kill -0 $dpid"
}
