#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# interop.sh - guest test (busybox sh / dash): dlm_lowcomms against the
# stock dlm.ko of the same kernel.  Run by scripts/interop.sh through
# scripts/qemu-run.sh; needs in the initramfs: /modules/dlm_lowcomms.ko,
# dlm.ko (+ dependencies), veth.ko, /extra/dlm_ls_create and, for the wire
# capture, /usr/bin/tcpdump.
#
# Topology (one kernel):
#   root netns : stock dlm.ko, node 2, 192.0.2.2  (dlm is global: init_net)
#   netns n1   : our instance c1, node 1, 192.0.2.1, veth v12 <-> v21 (root)
#   netns n3   : our instance c3, node 3, 192.0.2.3, veth v13 (n1) <-> v31
#
# Cases, one "PASS: interop.<case>" / "FAIL: interop.<case>: reason" each:
#   load        configfs, dlm.ko (deps from its modinfo), veth, ours: both
#               configfs roots present
#   stock-node  stock configfs (binary sockaddr_storage addresses), a
#               lockspace through /dev/dlm-control, listener on 21064
#   our-node    c1 in n1 (nodes 1,2,3), c3 in n3 (nodes 1,3), started
#   ping        c1 -> stock node 2: INTEROP_PINGS pings, replies == sent
#               (stock lockspace id set as dlm_controld would: -ESRCH reply)
#   ping-ls0    3 more with the stock lockspace's id 0 = our ping's id
#   bulk        c1 <-> c3 checked DLM_MSG both ways (captured too)
#   capture     tcpdump in n1 (-i any) over ping + bulk; the pcap is printed
#               as base64 between "PCAP-BEGIN <name> <bytes> <md5>" and
#               "PCAP-END <name>" for the host to decode with tshark
#   port-taken  an instance of ours in the root netns on 192.0.2.2:21064
#               must fail "control start" with EADDRINUSE and log
#               "port in use"; stock still answers afterwards
#   stock-stream c1 -> stock node 2: INTEROP_STREAM (100000) numbered bulk
#               messages; the stock node's ACKs (pad byte 0) must free every
#               copy (unacked_msgs 0, no acks_stale, no ENOBUFS) and the
#               graceful stop that follows must take under 1 s and take the
#               stock node's FIN; started again, c1 numbers from 0
#               (fin_resets 1) and must ping and stream 1,000 messages to
#               it, acknowledged, stop again, and leave no WARNING and no
#               message ahead of what it expects in the stock node's log
#   flood       only with INTEROP_FLOOD (client counts, e.g. "1 4 8"): a
#               benchmark of node 2 under RCOM_STATUS floods (case_flood);
#               with INTEROP_FLOOD_STANDALONE=1 rounds against our c1
#               alternate with them; with INTEROP_FLOOD_PING (rounds) also
#               ping latency idle and under a flood (case_flood); with
#               INTEROP_SWAP_KO node 2 is also our drop-in, in this boot
#               (node2_swap between rounds); INTEROP_FLOOD_NODE2=0 leaves
#               node 2 out (c1's rounds only)
#   unload      stop, rmdir, rmmod dlm_lowcomms (dlm.ko stays), no splat
#   local-moves only with INTEROP_DLM_KO: node 2's comms removed with no
#               lockspace left, node 2 configured again on 192.0.2.12: the
#               next lockspace must listen there and not on 192.0.2.2;
#               then its comm made again on 192.0.2.22 while that runs:
#               still listening on .12, and the next lockspace on .22
#   dlm-unload  only with INTEROP_DLM_KO: the lockspace started (node 2 its
#               only member) and removed, configfs emptied, rmmod dlm
# Environment: INTEROP_DLM_KO (a dlm.ko to load as node 2 instead of the
#   kernel's own: our drop-in, whose version must read lowcomms-*; its
#   messages reach the kernel's DLM through our transport),
#   INTEROP_MODS (/modules), INTEROP_HELPER (/extra/dlm_ls_create),
#   INTEROP_TAG (interop: the prefix of the result lines),
#   INTEROP_BUILTIN (modules the kernel has built in, "configfs veth"),
#   INTEROP_PINGS (10), INTEROP_PING_TMO (3000 ms),
#   INTEROP_BULK (20 messages each way), INTEROP_SIZE (256),
#   INTEROP_CAPTURE (1; 0 = no tcpdump), INTEROP_LS (lockspace name),
#   INTEROP_LS_ID (its global id, default 1229869140),
#   INTEROP_LOWCOMMS_PARAMS (insmod parameters for dlm_lowcomms.ko, e.g.
#   serial_io=1), INTEROP_STANDALONE_NAME (what the flood lines call c1:
#   standalone, or legacy with serial_io=1), INTEROP_SWAP_KO (in a boot of
#   the kernel's own dlm.ko: our drop-in, which the flood swaps in as node
#   2 for rounds of its own, "dlm=dropin", and out again)
# Exit status: number of failed cases.

TAG=${INTEROP_TAG:-interop}
. "$(dirname "$0")/lib.sh"

# ping: busybox's where the root file system has none (UML's hostfs)
PING=ping
command -v ping >/dev/null 2>&1 || PING="/bin/busybox ping"

TCPDUMP=
for c in /usr/bin/tcpdump /usr/sbin/tcpdump /sbin/tcpdump; do
	[ -x "$c" ] && { TCPDUMP=$c; break; }
done

PINGS=${INTEROP_PINGS:-10}
PING_TMO=${INTEROP_PING_TMO:-3000}
BULK=${INTEROP_BULK:-20}
SIZE=${INTEROP_SIZE:-256}
CAPTURE=${INTEROP_CAPTURE:-1}
LSNAME=${INTEROP_LS:-interop}
LSID=${INTEROP_LS_ID:-1229869140}	# "TRNI": any id but 0
MODS=${INTEROP_MODS:-/modules}
HELPER=${INTEROP_HELPER:-/extra/dlm_ls_create}
DLM_KO=${INTEROP_DLM_KO:-}
CFG=/sys/kernel/config/dlm_lowcomms
SCFG=/sys/kernel/config/dlm
T=${TMPDIR:-/tmp}/interop
ERR=$T/err
PCAP=$T/interop.pcap
mkdir -p "$T"

# Kernel log lines of interest since the last mark
DMESG_MARK=0
dmesg_mark() { DMESG_MARK=$(dmesg | wc -l); }
dmesg_since() { dmesg | tail -n +$((DMESG_MARK + 1)); }
dmesg_dlm() {
	dmesg_since | grep -Ei 'dlm|lowcomms' | tail -n "${1:-20}" | sed 's/^/INFO:   dmesg: /'
}

# sockaddr_storage (128 bytes): AF_INET (2, little-endian), port 0, IPv4
# address in network order, zeros; written with ONE write() as stock
# configfs insists on exactly sizeof(struct sockaddr_storage).
write_ss() {
	a=$1 f=$2
	oct=
	for o in $(echo "$a" | tr '.' ' '); do
		oct="$oct\\$(printf '%03o' "$o")"
	done
	{
		printf '\002\000\000\000'
		printf "$oct"
		head -c 120 /dev/zero
	} >"$T/ss.bin"
	sz=$(wc -c <"$T/ss.bin")
	[ "$sz" = 128 ] || { echo "sockaddr is $sz bytes" >"$ERR"; return 1; }
	dd if="$T/ss.bin" of="$f" bs=128 count=1 2>"$ERR" >/dev/null
}

listening_21064() {
	# state 0A = LISTEN, port 21064 = 0x5248
	awk '$2 ~ /:5248$/ && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# --- load -------------------------------------------------------------------
# load_dlm: the kernel's own dlm.ko, or $DLM_KO (after its dependencies)
load_dlm() {
	if [ -z "$DLM_KO" ]; then
		insmod_dep dlm
		return
	fi
	for d in $(modinfo -F depends "$DLM_KO" 2>/dev/null | tr ',' ' '); do
		insmod_dep "$d" || return 1
	done
	insmod "$DLM_KO" 2>"$ERR" || return 1
	v=$(cat /sys/module/dlm/version 2>/dev/null)
	case $v in
	lowcomms-*) info "load: $DLM_KO is our drop-in, version $v" ;;
	*) echo "$DLM_KO loaded with version '$v', not ours" >"$ERR"; return 1 ;;
	esac
}

case_load() {
	bad=
	for m in configfs veth; do
		case " ${INTEROP_BUILTIN:-} " in *" $m "*) continue ;; esac
		insmod_dep "$m" || bad="$bad $m:$(errtxt)"
	done
	load_dlm || bad="$bad dlm:$(errtxt)"
	# shellcheck disable=SC2086 # module parameters, split on purpose
	insmod "$MODS/dlm_lowcomms.ko" ${INTEROP_LOWCOMMS_PARAMS:-} 2>"$ERR" ||
		bad="$bad dlm_lowcomms:$(errtxt)"
	grep -q ' /sys/kernel/config ' /proc/mounts ||
		mount -t configfs none /sys/kernel/config 2>/dev/null
	for m in dlm dlm_lowcomms; do
		grep -q "^$m " /proc/modules || bad="$bad $m-not-loaded"
	done
	[ -d "$SCFG" ] || bad="$bad no-$SCFG"
	[ -d "$CFG" ] || bad="$bad no-$CFG"
	[ -n "$bad" ] && { fail load "$bad"; return 1; }
	info "load: modules $(awk '{print $1}' /proc/modules | tr '\n' ' ')"
	info "load: dlm.ko depends '$(modinfo -F depends "${DLM_KO:-$MODS/dlm.ko}" 2>/dev/null)'; configfs roots: $(ls /sys/kernel/config | tr '\n' ' ')"
	pass load
}

# --- topology + stock node ----------------------------------------------------
topology() {
	for ns in n1 n3; do
		"$IP" netns add "$ns" 2>"$ERR" || return 1
		"$IP" -n "$ns" link set lo up
	done
	"$IP" link add v21 type veth peer name v12 netns n1 2>"$ERR" || return 1
	"$IP" -n n1 link add v13 type veth peer name v31 netns n3 2>"$ERR" || return 1
	{
		"$IP" addr add 192.0.2.2/32 dev v21 &&
			"$IP" link set v21 up &&
			"$IP" route add 192.0.2.1/32 dev v21 src 192.0.2.2 &&
			"$IP" -n n1 addr add 192.0.2.1/32 dev v12 &&
			"$IP" -n n1 addr add 192.0.2.1/32 dev v13 &&
			"$IP" -n n1 link set v12 up &&
			"$IP" -n n1 link set v13 up &&
			"$IP" -n n1 route add 192.0.2.2/32 dev v12 src 192.0.2.1 &&
			"$IP" -n n1 route add 192.0.2.3/32 dev v13 src 192.0.2.1 &&
			"$IP" -n n3 addr add 192.0.2.3/32 dev v31 &&
			"$IP" -n n3 link set v31 up &&
			"$IP" -n n3 route add 192.0.2.1/32 dev v31 src 192.0.2.3
	} 2>"$ERR" || return 1
	for _ in 1 2 3 4 5; do
		in_ns n1 $PING -c 1 -W 2 192.0.2.2 >/dev/null 2>&1 &&
			in_ns n1 $PING -c 1 -W 2 192.0.2.3 >/dev/null 2>&1 && return 0
	done
	echo "no ICMP between n1 and 192.0.2.2/3" >"$ERR"
	return 1
}

# node2_config: node 2 in the kernel DLM's configfs (binary sockaddr_storage
# addresses), a lockspace through /dev/dlm-control (HELPER_PID), its global
# id set, and the listener on 21064; what failed in $ERR
node2_config() {
	C=$SCFG/cluster
	mkdir "$C" 2>"$ERR" || { echo "mkdir $C: $(errtxt)" >"$ERR"; return 1; }
	for n in 1 2; do
		mkdir "$C/comms/$n" 2>"$ERR" || { echo "mkdir comms/$n: $(errtxt)" >"$ERR"; return 1; }
		wr "$C/comms/$n/nodeid" "$n" || { echo "comms/$n/nodeid: $(errtxt)" >"$ERR"; return 1; }
		write_ss "192.0.2.$n" "$C/comms/$n/addr" ||
			{ echo "comms/$n/addr: $(errtxt)" >"$ERR"; return 1; }
	done
	wr "$C/comms/2/local" 1 || { echo "comms/2/local: $(errtxt)" >"$ERR"; return 1; }
	node2_ls_up
}

# node2_ls_up: the lockspace (HELPER_PID), as node2_config says
node2_ls_up() {
	[ -x "$HELPER" ] || { echo "no $HELPER" >"$ERR"; return 1; }
	# devtmpfs normally gives us the node; the helper mknods it otherwise
	grep -q ' /dev devtmpfs' /proc/mounts || mount -t devtmpfs devtmpfs /dev 2>/dev/null
	# the helper removes its lockspace once this file exists
	rm -f "$T/ls.remove"
	"$HELPER" -w "$T/ls.remove" "$LSNAME" >"$T/helper.out" 2>&1 &
	HELPER_PID=$!
	ev=/sys/kernel/dlm/$LSNAME/event_done
	k=0
	while [ ! -e "$ev" ] && [ $k -lt 100 ]; do
		kill -0 "$HELPER_PID" 2>/dev/null || break
		sleep 0.1
		k=$((k + 1))
	done
	[ -e "$ev" ] || { echo "no $ev; helper: $(tr '\n' ' ' <"$T/helper.out")" >"$ERR"; return 1; }
	# dlm_controld would set the lockspace's global id (a hash of the
	# name) before starting it; without that it stays 0, which is the
	# lockspace id our ping uses (see case_ping_ls0).
	echo "$LSID" >"/sys/kernel/dlm/$LSNAME/id" 2>"$ERR" ||
		{ echo "write id: $(errtxt)" >"$ERR"; return 1; }
	echo 0 >"$ev" 2>"$ERR" || { echo "write $ev: $(errtxt)" >"$ERR"; return 1; }
	k=0
	while ! listening_21064 && [ $k -lt 50 ]; do
		sleep 0.1
		k=$((k + 1))
	done
	sleep 0.5
	listening_21064 || {
		echo "nothing listens on port 21064 in the root netns; helper: $(tr '\n' ' ' <"$T/helper.out")" >"$ERR"
		return 1
	}
}

case_stock() {
	topology || { fail stock-node "topology: $(errtxt)"; return 1; }
	dmesg_mark
	if ! node2_config; then
		fail stock-node "$(errtxt)"
		dmesg_dlm
		return 1
	fi
	info "stock-node: helper pid $HELPER_PID $(kill -0 "$HELPER_PID" 2>/dev/null && echo 'blocked in write (expected)' || echo exited): $(tr '\n' ' ' <"$T/helper.out")"
	dmesg_dlm
	info "stock-node: listening: $(awk '$2 ~ /:5248$/ && $4 == "0A" {print $2}' /proc/net/tcp)"
	pass stock-node
}

# --- our nodes ------------------------------------------------------------------
case_ours() {
	in_ns n1 mkdir "$CFG/c1" 2>"$ERR" || { fail our-node "mkdir c1 in n1: $(errtxt)"; return 1; }
	in_ns n3 mkdir "$CFG/c3" 2>"$ERR" || { fail our-node "mkdir c3 in n3: $(errtxt)"; return 1; }
	for n in 1 2 3; do
		mkdir "$CFG/c1/comms/$n" 2>"$ERR" &&
			wr "$CFG/c1/comms/$n/addr" "192.0.2.$n" ||
			{ fail our-node "c1/comms/$n: $(errtxt)"; return 1; }
	done
	for n in 1 3; do
		mkdir "$CFG/c3/comms/$n" 2>"$ERR" &&
			wr "$CFG/c3/comms/$n/addr" "192.0.2.$n" ||
			{ fail our-node "c3/comms/$n: $(errtxt)"; return 1; }
	done
	wr "$CFG/c1/comms/1/local" 1 && wr "$CFG/c3/comms/3/local" 1 ||
		{ fail our-node "local: $(errtxt)"; return 1; }
	wr "$CFG/c1/control" start || { fail our-node "c1 start: $(errtxt)"; return 1; }
	wr "$CFG/c3/control" start || { fail our-node "c3 start: $(errtxt)"; return 1; }
	for i in 1 3; do
		c=$(cat "$CFG/c$i/control")
		[ "$c" = running ] || { fail our-node "c$i control reads '$c'"; return 1; }
	done
	in_ns n1 awk '$2 ~ /:5248$/ && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp ||
		{ fail our-node "c1 not listening in n1"; return 1; }
	pass our-node
}

# --- capture --------------------------------------------------------------------
TCPDUMP_PID=
capture_start() {
	[ "$CAPTURE" = 1 ] || return 0
	[ -n "$TCPDUMP" ] || { info "capture: no tcpdump in the image"; return 1; }
	# signal tcpdump itself: the job's pid is a subshell, which ignores
	# SIGINT as background jobs do, so tcpdump never saw it
	rm -f "$T/tcpdump.pid"
	in_ns n1 sh -c 'echo $$ >"$0"; exec "$@"' "$T/tcpdump.pid" \
		"$TCPDUMP" -i any -n -s 0 -U -Z root -w "$PCAP" tcp port 21064 \
		>"$T/tcpdump.out" 2>&1 &
	TCPDUMP_PID=$!
	k=0
	while ! grep -q 'listening on' "$T/tcpdump.out" && [ $k -lt 100 ]; do
		kill -0 "$TCPDUMP_PID" 2>/dev/null || break
		sleep 0.1
		k=$((k + 1))
	done
	grep -q 'listening on' "$T/tcpdump.out" || {
		info "capture: tcpdump did not start: $(tr '\n' ' ' <"$T/tcpdump.out")"
		TCPDUMP_PID=
		return 1
	}
	sleep 0.3
}

capture_stop() {
	[ -n "$TCPDUMP_PID" ] || return 1
	# tcpdump stops at SIGINT with what it has read, and libpcap hands
	# packets over a ring-buffer block at a time (1 s timeout): let the
	# last block in first
	sleep 2
	tp=$(cat "$T/tcpdump.pid" 2>/dev/null)
	[ -n "$tp" ] && kill -INT "$tp" 2>/dev/null
	# bounded: a tcpdump that ignores the signal is killed after 10 s
	(sleep 10; [ -n "$tp" ] && kill -9 "$tp" 2>/dev/null; kill -9 "$TCPDUMP_PID" 2>/dev/null) &
	wd=$!
	wait "$TCPDUMP_PID" 2>/dev/null
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	TCPDUMP_PID=
	info "capture: tcpdump: $(grep -v '^ *$' "$T/tcpdump.out" | tr '\n' ';' | sed 's/;$//')"
}

# Print the pcap between marker lines, with the console quiet meanwhile
capture_dump() {
	if [ ! -s "$PCAP" ]; then
		fail capture "no pcap written"
		return 1
	fi
	sz=$(wc -c <"$PCAP")
	md=$(md5sum "$PCAP" | cut -d' ' -f1)
	lvl=$(cut -f1 /proc/sys/kernel/printk)
	dmesg -n 1 2>/dev/null
	echo "PCAP-BEGIN interop $sz $md"
	base64 "$PCAP"
	echo "PCAP-END interop"
	dmesg -n "$lvl" 2>/dev/null
	pass capture
}

# --- ping -----------------------------------------------------------------------
case_ping() {
	f=$CFG/c1/comms/2
	dmesg_mark
	wr "$f/reset" 1 || { fail ping "reset: $(errtxt)"; return 1; }
	t0=$(now)
	wr "$f/ping" "$PINGS $PING_TMO" $((PINGS * PING_TMO / 1000 + 30))
	r=$?
	e=$(errtxt)
	sent=$(st "$f/status" ping_sent)
	rep=$(st "$f/status" ping_replies)
	tmo=$(st "$f/status" ping_timeouts)
	p50=$(st "$f/status" rtt_p50_ns)
	info "ping c1 -> stock node 2: rc=$r ${e:+($e) }sent=$sent replies=$rep timeouts=$tmo rtt_p50=$(awk -v n="${p50:-0}" 'BEGIN{printf "%.1f", n/1000}')us in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}')s"
	info "ping: c1/comms/2/status: $(tr '\n' ' ' <"$f/status")"
	dmesg_dlm
	bad=
	[ $r -eq 0 ] || bad="$bad write failed ($e)"
	[ "$rep" = "$PINGS" ] || bad="$bad replies=${rep:-?}/$PINGS"
	[ -n "$sent" ] && [ "$rep" = "$sent" ] || bad="$bad replies=${rep:-?}!=sent=${sent:-?}"
	[ "${tmo:-1}" = 0 ] || bad="$bad timeouts=${tmo:-?}"
	[ -z "$bad" ] && pass ping || fail ping "$bad"
}

# Same ping while the stock lockspace's global id is 0, the id our ping
# carries: the stock node then answers from a real lockspace (result 0 and
# its rcom_config) instead of -ESRCH; ours must count those replies too.
case_ping_ls0() {
	f=$CFG/c1/comms/2
	n=3
	echo 0 >"/sys/kernel/dlm/$LSNAME/id" 2>"$ERR" || { fail ping-ls0 "write id 0: $(errtxt)"; return 1; }
	wr "$f/reset" 1 || { fail ping-ls0 "reset: $(errtxt)"; return 1; }
	wr "$f/ping" "$n $PING_TMO" 60
	r=$?
	e=$(errtxt)
	rep=$(st "$f/status" ping_replies)
	echo "$LSID" >"/sys/kernel/dlm/$LSNAME/id" 2>/dev/null
	info "ping-ls0 c1 -> stock node 2 (stock lockspace id 0): rc=$r ${e:+($e) }replies=$rep/$n"
	[ $r -eq 0 ] && [ "$rep" = "$n" ] && pass ping-ls0 || fail ping-ls0 "rc=$r ($e) replies=${rep:-?}/$n"
}

# --- bulk between two of ours ---------------------------------------------------
case_bulk() {
	for p in "1 3" "3 1"; do
		set -- $p
		wr "$CFG/c$1/comms/$2/reset" 1 || { fail bulk "reset: $(errtxt)"; return 1; }
	done
	for p in "1 3" "3 1"; do
		set -- $p
		wr "$CFG/c$1/comms/$2/bulk" "$BULK $SIZE" 120 ||
			{ fail bulk "c$1 -> node $2: $(errtxt)"; return 1; }
	done
	k=0
	while [ $k -lt 150 ]; do
		a=$(st "$CFG/c3/comms/1/status" bulk_rx_msgs)
		b=$(st "$CFG/c1/comms/3/status" bulk_rx_msgs)
		[ "$a" = "$BULK" ] && [ "$b" = "$BULK" ] && break
		sleep 0.2
		k=$((k + 1))
	done
	bad=
	for p in "1 3" "3 1"; do
		set -- $p
		s=$CFG/c$2/comms/$1/status
		rx=$(st "$s" bulk_rx_msgs)
		cs=$(st "$s" bulk_rx_bad_csum)
		sq=$(st "$s" bulk_rx_seq_err)
		info "bulk node $1 -> node $2: rx=$rx/$BULK x $SIZE B bad_csum=$cs seq_err=$sq"
		[ "$rx" = "$BULK" ] && [ "$cs" = 0 ] && [ "$sq" = 0 ] ||
			bad="$bad $1->$2:rx=$rx,csum=$cs,seq=$sq"
	done
	[ -z "$bad" ] && pass bulk || fail bulk "$bad"
}

# --- port taken by the stock node ----------------------------------------------
case_port_taken() {
	P=$CFG/probe
	dmesg_mark
	listening_21064 || { fail port-taken "stock dlm is not listening on 21064"; return 1; }
	mkdir "$P" 2>"$ERR" && mkdir "$P/comms/2" 2>>"$ERR" &&
		wr "$P/comms/2/addr" 192.0.2.2 && wr "$P/comms/2/local" 1 ||
		{ fail port-taken "configure: $(errtxt)"; rmdir "$P/comms/2" "$P" 2>/dev/null; return 1; }
	bad=
	if wr "$P/control" start 30; then
		bad="control start succeeded while stock dlm listens on 192.0.2.2:21064"
		wr "$P/control" stop 30
	else
		e=$(errtxt)
		info "port-taken: control start failed as wanted: $e"
		case "$e" in
		*"in use"*) ;;
		*) bad="$bad error is not EADDRINUSE: '$e'" ;;
		esac
	fi
	c=$(cat "$P/control" 2>/dev/null)
	[ "$c" = stopped ] || bad="$bad probe control reads '$c'"
	sleep 0.2
	l=$(dmesg_since | grep -i 'port in use' | head -n1)
	if [ -n "$l" ]; then
		info "port-taken: kernel log: $l"
	else
		bad="$bad no 'port in use' kernel log line"
		dmesg_since | tail -n 5 | sed 's/^/INFO:   dmesg: /'
	fi
	rmdir "$P/comms/2" 2>"$ERR" && rmdir "$P" 2>>"$ERR" || bad="$bad rmdir probe: $(errtxt)"
	# the failed start must not have hurt the stock listener or our c1
	listening_21064 || bad="$bad stock listener gone"
	wr "$CFG/c1/comms/2/ping" "3 $PING_TMO" 60 || bad="$bad ping after probe: $(errtxt)"
	[ -z "$bad" ] && pass port-taken || fail port-taken "$bad"
}

# --- a long numbered stream to the stock node --------------------------------
case_stock_stream() {
	f=$CFG/c1/comms/2
	n=${INTEROP_STREAM:-100000}
	bad=
	t0=$(now)
	wr "$f/bulk" "$n 256" 600 || bad="$bad bulk: $(errtxt)"
	k=0
	while [ $k -lt 300 ] && [ "$(st "$f/status" unacked_msgs)" != 0 ]; do
		sleep 0.2
		k=$((k + 1))
	done
	t1=$(now)
	un=$(st "$f/status" unacked_msgs)
	stale=$(st "$f/status" acks_stale)
	arx=$(st "$f/status" acks_rx)
	seq=$(st "$f/status" rel_tx_msgs)
	acked=$(st "$f/status" seq_tx_acked)
	ver=$(st "$f/status" version)
	info "stock-stream c1 -> stock node 2: $n x 256 B in $(elapsed "$t0" "$t1")s, version=$ver rel_tx_msgs=$seq seq_tx_acked=$acked acks_rx=$arx acks_stale=$stale unacked_msgs=$un"
	[ "$un" = 0 ] || bad="$bad unacked_msgs=$un"
	[ "$stale" = 0 ] || bad="$bad acks_stale=$stale"
	[ "${arx:-0}" -gt 0 ] || bad="$bad no ACK from the stock node"
	[ "${seq:-0}" -ge "$n" ] || bad="$bad rel_tx_msgs=$seq < $n"
	t0=$(now)
	wr "$CFG/c1/control" stop 30 || bad="$bad stop: $(errtxt)"
	ts=$(elapsed "$t0")
	info "stock-stream: stop took ${ts}s"
	awk -v t="$ts" 'BEGIN { exit !(t < 1.0) }' || bad="$bad stop took ${ts}s"
	stream_restart
	[ -z "$bad" ] && pass stock-stream || fail stock-stream "$bad"
}

# After the stop's FIN exchange the stock node starts its numbers again
# (both ways, midcomms_node_reset); so must we. Start c1 again, ping and
# stream to node 2, stop again; no WARN on the stock side.
stream_restart() {
	info "stock-stream: after the stop: fin_tx=$(st "$f/status" fin_tx) fin_rx=$(st "$f/status" fin_rx) rx_discarded=$(st "$f/status" rx_discarded)"
	[ "$(st "$f/status" fin_rx)" = 1 ] || bad="$bad the stock node's FIN not taken"
	dmesg_mark
	wr "$CFG/c1/control" start || { bad="$bad start again: $(errtxt)"; return; }
	info "stock-stream: started again: fin_resets=$(st "$f/status" fin_resets) seq_tx_next=$(st "$f/status" seq_tx_next)"
	[ "$(st "$f/status" fin_resets)" = 1 ] || bad="$bad numbers not started again"
	wr "$f/ping" "3 $PING_TMO" 60 || bad="$bad ping after the restart: $(errtxt)"
	wr "$f/bulk" "1000 256" 600 || bad="$bad bulk after the restart: $(errtxt)"
	k=0
	while [ $k -lt 100 ] && [ "$(st "$f/status" unacked_msgs)" != 0 ]; do
		sleep 0.1
		k=$((k + 1))
	done
	info "stock-stream: after the restart: unacked_msgs=$(st "$f/status" unacked_msgs) rx_future=$(st "$f/status" rx_future) rx_dups=$(st "$f/status" rx_dups) acks_stale=$(st "$f/status" acks_stale)"
	[ "$(st "$f/status" unacked_msgs)" = 0 ] || bad="$bad not acked after the restart"
	wr "$CFG/c1/control" stop 30 || bad="$bad second stop: $(errtxt)"
	# a duplicate (our probe of an idle tail) is logged too, and is fine;
	# one ahead of what the stock node expects is not
	w=$(dmesg_since | awk '/WARNING:|BUG:|unexpected state/ { print; exit }
		/seq mismatch/ { s = $0; sub(/.*seq: /, "", s); e = $0
			sub(/.*expected: /, "", e)
			if (s + 0 > e + 0) { print; exit } }')
	[ -z "$w" ] || bad="$bad stock node: $w"
}

# --- flood (a benchmark, INTEROP_FLOOD="1 4 8") ------------------------------
# K plain TCP clients (tests/tools/dlm_flood), nodes 11.., each in its own
# netns on a veth to the root netns, keep INTEROP_FLOOD_INFLIGHT RCOM_STATUS
# requests in flight against node 2 for INTEROP_FLOOD_SECS; the guest's
# /proc/stat gives the CPU time. One INFO line per round; the host's
# scripts/interop-bench.sh sets node 2 to the stock dlm.ko and to ours.
# With INTEROP_FLOOD_STANDALONE=1 each client also has a veth to n1 and c1
# knows it: rounds against c1 (our standalone module) alternate with node 2's.
# INTEROP_FLOOD_PING=R: R more rounds per target of ping latency (flood_ping).

flood_setup() {
	i=1
	while [ "$i" -le "$1" ]; do
		n=$((10 + i))
		"$IP" netns add "f$n" 2>"$ERR" &&
			"$IP" -n "f$n" link set lo up &&
			"$IP" link add "vf$n" type veth peer name v2 netns "f$n" &&
			"$IP" link set "vf$n" up &&
			"$IP" route add "192.0.2.$n/32" dev "vf$n" src 192.0.2.2 &&
			"$IP" -n "f$n" addr add "192.0.2.$n/32" dev v2 &&
			"$IP" -n "f$n" link set v2 up &&
			"$IP" -n "f$n" route add 192.0.2.2/32 dev v2 src "192.0.2.$n" 2>>"$ERR" ||
			return 1
		if [ "$FLOOD_STANDALONE" = 1 ]; then
			# a veth of its own to n1: no forwarding hop for c1
			"$IP" -n n1 link add "wf$n" type veth peer name w1 netns "f$n" 2>"$ERR" &&
				"$IP" -n n1 link set "wf$n" up &&
				"$IP" -n n1 route add "192.0.2.$n/32" dev "wf$n" src 192.0.2.1 &&
				"$IP" -n "f$n" addr add "192.0.2.$n/32" dev w1 &&
				"$IP" -n "f$n" link set w1 up &&
				"$IP" -n "f$n" route add 192.0.2.1/32 dev w1 src "192.0.2.$n" &&
				mkdir "$CFG/c1/comms/$n" &&
				wr "$CFG/c1/comms/$n/addr" "192.0.2.$n" 2>>"$ERR" || return 1
		fi
		i=$((i + 1))
	done
	flood_comms "$1"
}

# flood_comms K: clients 11..10+K as nodes in node 2's configfs
flood_comms() {
	i=1
	while [ "$i" -le "$1" ]; do
		n=$((10 + i))
		mkdir "$SCFG/cluster/comms/$n" 2>"$ERR" &&
			wr "$SCFG/cluster/comms/$n/nodeid" "$n" &&
			write_ss "192.0.2.$n" "$SCFG/cluster/comms/$n/addr" || return 1
		i=$((i + 1))
	done
}

# With INTEROP_SWAP_KO (our drop-in, shipped into a boot of the kernel's
# own dlm.ko), node 2 is measured as both, in this boot: between targets
# it is taken down (node2_down: its lockspace left, rmmod dlm) and set up
# again on the other dlm.ko (load_dlm, node2_config, flood_comms). NODE2
# names the one that runs.
SWAP_KO=${INTEROP_SWAP_KO:-}
NODE2=stock
[ -z "$DLM_KO" ] || NODE2=dropin

# node2_swap WHO: node 2 runs WHO (stock or dropin) afterwards and has
# answered c1's pings, or $ERR says why not. A swap that failed is said at
# once and ends the swapping (SWAP_KO emptied): node 2 is left as it is.
node2_swap() {
	[ "$NODE2" = "$1" ] && return 0
	step "node 2: $NODE2 to $1"
	ts=$(now)
	if node2_swap_steps "$1"; then
		info "flood: node 2 is $1 now (swapped in $(elapsed "$ts") s)"
		return 0
	fi
	cp "$ERR" "$T/swap.err"
	info "flood: swapping node 2 to $1 failed: $(errtxt); no more swaps"
	dmesg_dlm
	SWAP_KO=
	cp "$T/swap.err" "$ERR"
	return 1
}

# A cluster's other nodes see a node that restarts leave and join again
# (dlm_controld tells their DLMs): so does c1, by node 2 removed from its
# configfs and added again. A node keeps its peers' sequence state until
# then (Documentation/reliability.md), and 6.1 and 6.12 number their
# not-ready reply to c1's pings: without it the new node 2's numbers would
# read as duplicates of the old one's.
node2_swap_steps() {
	node2_down || { echo "$NODE2 down: $down_bad" >"$ERR"; NODE2=none; return 1; }
	NODE2=none
	rmdir "$CFG/c1/comms/2" 2>"$ERR" || { echo "c1 forgets node 2: $(errtxt)" >"$ERR"; return 1; }
	keep_ko=$DLM_KO
	DLM_KO=
	[ "$1" = dropin ] && DLM_KO=$SWAP_KO
	load_dlm
	lrc=$?
	DLM_KO=$keep_ko
	[ $lrc -eq 0 ] || { echo "load $1: $(errtxt)" >"$ERR"; return 1; }
	node2_config || { echo "$1 up: $(errtxt)" >"$ERR"; return 1; }
	flood_comms "$FLOOD_MAX" || { echo "$1 comms: $(errtxt)" >"$ERR"; return 1; }
	mkdir "$CFG/c1/comms/2" 2>"$ERR" && wr "$CFG/c1/comms/2/addr" 192.0.2.2 ||
		{ echo "c1 adds node 2: $(errtxt)" >"$ERR"; return 1; }
	# c1 knows node 2: if c1 runs, node 2 must answer it to count as up
	if [ "$(cat "$CFG/c1/control" 2>/dev/null)" = running ]; then
		wr "$CFG/c1/comms/2/ping" "3 $PING_TMO" 60 || {
			echo "$1 does not answer c1's pings: $(errtxt); c1/comms/2/status: $(tr '\n' ' ' <"$CFG/c1/comms/2/status")" >"$ERR"
			return 1
		}
	fi
	NODE2=$1
}

# on_target WHO: before a round against WHO; node 2 swapped if need be
on_target() {
	case $1 in
	stock | dropin) [ "$NODE2" = "$1" ] && return 0 ;;
	*) return 0 ;;
	esac
	[ -n "$SWAP_KO" ] || { echo "no $1 in this boot" >"$ERR"; return 1; }
	node2_swap "$1"
}

# targets_now: $targets with the dlm.ko node 2 runs now first and the
# other one last, so that a pass over them swaps node 2 once
targets_now() {
	first=
	mid=
	last=
	for tg in $targets; do
		case ${tg%%:*} in
		"$NODE2") first=$tg ;;
		stock | dropin) last="$last $tg" ;;
		*) mid="$mid $tg" ;;
		esac
	done
	# shellcheck disable=SC2086 # split on purpose: one line of words
	echo $first $mid $last
}

case_flood() {
	[ -n "${INTEROP_FLOOD:-}" ] || return 0
	tool=${INTEROP_FLOOD_TOOL:-/extra/dlm_flood}
	secs=${INTEROP_FLOOD_SECS:-6}
	rounds=${INTEROP_FLOOD_ROUNDS:-3}
	FLOOD_STANDALONE=${INTEROP_FLOOD_STANDALONE:-0}
	max=0
	for k in $INTEROP_FLOOD; do [ "$k" -gt "$max" ] && max=$k; done
	pings=${INTEROP_FLOOD_PING:-0}
	# the pinger and two flooders
	[ "$pings" -gt 0 ] && [ "$max" -lt 3 ] && max=3
	[ -x "$tool" ] || { fail flood "no $tool"; return 1; }
	FLOOD_MAX=$max
	flood_setup "$max" || { fail flood "setup: $(errtxt)"; return 1; }
	# stock-stream stopped c1
	if [ "$FLOOD_STANDALONE" = 1 ] && [ "$(cat "$CFG/c1/control")" != running ]; then
		wr "$CFG/c1/control" start || { fail flood "c1 start: $(errtxt)"; return 1; }
	fi
	boot_node2=$NODE2
	# node 2 (dlm.ko; not with INTEROP_FLOOD_NODE2=0) and, alternating
	# with it, c1 (ours, standalone), and node 2 as our drop-in with
	# INTEROP_SWAP_KO
	targets=
	[ "${INTEROP_FLOOD_NODE2:-1}" = 0 ] || targets="$NODE2:192.0.2.2"
	[ "$FLOOD_STANDALONE" = 1 ] &&
		targets="$targets ${INTEROP_STANDALONE_NAME:-standalone}:192.0.2.1"
	if [ -n "$SWAP_KO" ] && [ -n "$DLM_KO" ]; then
		info "flood: INTEROP_SWAP_KO ignored: node 2 is already $DLM_KO"
		SWAP_KO=
	fi
	[ -n "$SWAP_KO" ] && [ "${INTEROP_FLOOD_NODE2:-1}" != 0 ] &&
		targets="$targets dropin:192.0.2.2"
	[ -n "$targets" ] || { fail flood "no target"; return 1; }
	bad=
	# fk, fr: the swaps' helpers (wr, until_t, ...) use k and r
	for fk in $INTEROP_FLOOD; do
		fr=1
		while [ "$fr" -le "$rounds" ]; do
			for tg in $(targets_now); do
				if ! on_target "${tg%%:*}"; then
					bad="$bad ${tg%%:*} clients=$fk round=$fr: $(errtxt)"
					continue
				fi
				flood_round "$fk" "$fr" "${tg%%:*}" "${tg#*:}" ||
					bad="$bad ${tg%%:*} clients=$fk round=$fr: not run"
			done
			fr=$((fr + 1))
		done
	done
	# a malformed 3.2 envelope closes the connection; the pings after it
	# are node 11's too, and show the node takes it back
	for tg in $(targets_now); do
		[ "${tg%%:*}" = stock ] && continue
		if on_target "${tg%%:*}"; then
			flood_badopts "${tg%%:*}" "${tg#*:}"
		else
			bad="$bad ${tg%%:*} badopts: $(errtxt)"
		fi
	done
	# how our instance sent: socket calls, and send runs its receive
	# workers did themselves after delivering (tx_inline)
	if [ "${INTEROP_FLOOD_STANDALONE:-0}" = 1 ]; then
		info "flood: standalone sends: $(cat "$CFG"/c1/comms/*/status 2>/dev/null |
			awk '$1 == "tx_calls" { c += $2 } $1 == "tx_inline" { i += $2 }
			END { printf "tx_calls=%d tx_inline=%d", c, i }')"
	fi
	fr=1
	while [ "$fr" -le "$pings" ]; do
		for tg in $(targets_now); do
			if ! on_target "${tg%%:*}"; then
				bad="$bad ping ${tg%%:*} round $fr: $(errtxt)"
				continue
			fi
			for load in idle flood; do
				flood_ping "$fr" "${tg%%:*}" "${tg#*:}" "$load"
			done
		done
		fr=$((fr + 1))
	done
	# where the CPU goes: one more round per target at the most clients,
	# under perf, not counted in the rounds above (perf costs CPU too)
	if [ "${INTEROP_FLOOD_PERF:-0}" = 1 ]; then
		for tg in $(targets_now); do
			if on_target "${tg%%:*}"; then
				flood_perf "$max" "${tg%%:*}" "${tg#*:}"
			else
				bad="$bad perf ${tg%%:*}: $(errtxt)"
			fi
		done
	fi
	# the cases after this one expect the dlm.ko the boot began with
	on_target "$boot_node2" || bad="$bad back to $boot_node2: $(errtxt)"
	[ -z "$bad" ] && pass flood || fail flood "$bad"
}

# flood_round K ROUND WHO ADDR: K clients against ADDR; one INFO line
flood_round() {
	step "flood $3 $1 clients round $2"
	c0=$(busy_ticks)
	x0=$(ctxt)
	t0=$(now)
	pids=
	i=1
	while [ "$i" -le "$1" ]; do
		n=$((10 + i))
		# --listen: replies a node sends on its own connection count
		in_ns "f$n" "$tool" flood --src "192.0.2.$n" --dst "$4" \
			--nodeid "$n" --inflight "${INTEROP_FLOOD_INFLIGHT:-8}" \
			--duration "$secs" --listen 1 >"$T/flood-$n.out" 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	# not a bare wait: the lockspace helper never returns
	for p in $pids; do wait "$p"; done
	t1=$(now)
	c1=$(busy_ticks)
	x1=$(ctxt)
	reps=0
	back=0
	i=1
	while [ "$i" -le "$1" ]; do
		n=$((10 + i))
		got=$(sed -n 's/^FLOOD-SUMMARY replies=\([0-9]*\).*/\1/p' "$T/flood-$n.out")
		[ -n "$got" ] || bad="$bad $3 client $n: $(tail -n 1 "$T/flood-$n.out")"
		reps=$((reps + ${got:-0}))
		got=$(sed -n 's/^FLOOD-SUMMARY.* via_listener=\([0-9]*\).*/\1/p' "$T/flood-$n.out")
		back=$((back + ${got:-0}))
		i=$((i + 1))
	done
	# ticks are USER_HZ (100 a second): microseconds per reply
	info "flood: dlm=$3 clients=$1 round=$2 replies=$reps via_listener=$back secs=$(elapsed "$t0" "$t1") rate=$(awk -v n="$reps" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }') cpu_us_per_reply=$(awk -v n="$reps" -v c=$((c1 - c0)) 'BEGIN { printf "%.1f", n ? c * 10000 / n : 0 }') ctxt_per_reply=$(awk -v n="$reps" -v c=$((x1 - x0)) 'BEGIN { printf "%.2f", n ? c / n : 0 }')"
	# the kernel's own dlm.ko has been seen silent for a whole round
	# after a client reconnected: said, not judged
	if [ "$reps" = 0 ] && [ "$3" = stock ]; then
		info "flood: dlm=stock clients=$1 round=$2: no replies"
	elif [ "$reps" = 0 ]; then
		bad="$bad $3 clients=$1 round=$2: no replies"
	fi
}

# flood_badopts WHO ADDR: node 11 sends ADDR (ours) malformed 3.2
# envelopes, each on two connections: badopts, one whose inner
# RCOM_STATUS claims 8 bytes more than the envelope holds (the kernel's
# DLM, under the drop-in, would read the inner message by its own length,
# past the item the transport read it into: -EMSGSIZE, -90), and
# nestopts, one that wraps an ACK (stock wraps only messages; its DLM
# would drop it without using up its number and wait: -EPROTO, -71). The
# transport must refuse each as a broken stream: close each connection,
# and say so in the log.
flood_badopts() {
	for m in badopts:90 nestopts:71; do
		step "flood-${m%:*} $1"
		b0=$(dmesg | grep -c "node 11: broken stream (-${m#*:})")
		out=$(in_ns f11 "$tool" "${m%:*}" --src 192.0.2.11 --dst "$2" \
			--nodeid 11 --duration 5 --max-conns 2 2>&1)
		b1=$(dmesg | grep -c "node 11: broken stream (-${m#*:})")
		info "flood-${m%:*}: dlm=$1 $out logged=$((b1 - b0))"
		case $out in
		*"conns=2 closed=2 "*) ;;
		*) bad="$bad ${m%:*} $1: not closed ($out)" ;;
		esac
		# the log line is rate-limited: at least one of the two
		[ "$b1" -gt "$b0" ] ||
			bad="$bad ${m%:*} $1: no broken-stream line (-${m#*:})"
	done
}

# flood_ping ROUND WHO ADDR LOAD: node 11 (A) keeps one RCOM_STATUS in
# flight against ADDR (B) for the round and times each round trip; with
# LOAD=flood, nodes 12 and 13 (C, D) flood B meanwhile, starting first and
# ending last. On real nodes A, C and D are other machines; here they
# share the guest's two CPUs with B, so C's and D's own user-space work
# runs at nice INTEROP_FLOOD_PING_NICE (19), and A, idle or not, under
# SCHED_FIFO at priority INTEROP_FLOOD_PING_RT (1; 0: nice 0, where A
# waits for a CPU behind B's high-priority workers and the tail is A's
# own wait: Documentation/performance.md, "Ping under a flood").
# One INFO line: the round trips' p50/p99/p999 and the flood's rate.
flood_ping() {
	step "flood-ping $2 $4 round $1"
	fl=
	rm -f "$T/flood-11.out" "$T/flood-12.out" "$T/flood-13.out"
	if [ "$4" = flood ]; then
		for n in 12 13; do
			in_ns "f$n" "$tool" flood --src "192.0.2.$n" --dst "$3" \
				--nodeid "$n" --inflight "${INTEROP_FLOOD_INFLIGHT:-8}" \
				--nice "${INTEROP_FLOOD_PING_NICE:-19}" \
				--duration $((secs + 2)) --listen 1 >"$T/flood-$n.out" 2>&1 &
			fl="$fl $!"
		done
		sleep 1
	fi
	rt=
	[ "${INTEROP_FLOOD_PING_RT:-1}" = 0 ] || rt="--rt ${INTEROP_FLOOD_PING_RT:-1}"
	# shellcheck disable=SC2086 # $rt: two words or none
	in_ns f11 "$tool" flood --src 192.0.2.11 --dst "$3" --nodeid 11 --lat 1 \
		$rt --duration "$secs" --listen 1 >"$T/flood-11.out" 2>&1
	for p in $fl; do wait "$p"; done
	lat=$(sed -n 's/^FLOOD-LAT //p' "$T/flood-11.out")
	n=$(echo "$lat" | sed -n 's/^n=\([0-9]*\) .*/\1/p')
	lrep=0
	if [ "$4" = flood ]; then
		for fn in 12 13; do
			got=$(sed -n 's/^FLOOD-SUMMARY replies=\([0-9]*\).*/\1/p' "$T/flood-$fn.out")
			lrep=$((lrep + ${got:-0}))
		done
	fi
	# a round counts (valid=1) if A had a round trip every 100 ms and,
	# under load, the flood flowed
	why=
	valid=1
	case $lat in
	"") why="no FLOOD-LAT line ($(tail -n 1 "$T/flood-11.out"))" ;;
	*" over=0 "*) ;;
	*) why="more round trips than dlm_flood keeps" ;;
	esac
	if [ -n "$why" ]; then
		valid=0
	elif [ "${n:-0}" -lt $((secs * 10)) ] || { [ "$4" = flood ] && [ "$lrep" = 0 ]; }; then
		valid=0
		# the kernel's own dlm.ko has been seen silent after a reconnect:
		# said, left out of the table, not judged
		if [ "$2" != stock ]; then
			why="$n round trips, flood $lrep replies"
			[ "$4" = flood ] && why="$why ($(tail -n 1 "$T/flood-12.out"))"
		fi
	fi
	info "flood-ping: dlm=$2 load=$4 round=$1 valid=$valid ${lat:-n=0} load_rate=$((lrep / (secs + 2))) a_rt=${INTEROP_FLOOD_PING_RT:-1}"
	[ -z "$why" ] || bad="$bad ping $2 $4 round $1: $why"
}

# flood_perf K WHO ADDR: a round under perf; its top symbols as INFO lines.
# perf's workload touches a file and sleeps: perf starts it only once it
# records (its setup takes seconds in a TCG guest), and the round starts
# when the file is there.
flood_perf() {
	command -v perf >/dev/null 2>&1 || { bad="$bad perf: not in the guest"; return; }
	# kernel and module symbols by name
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	rm -f "$T/perf.go"
	perf record -a -e cpu-clock -F 997 -o "$T/perf-$2.data" -- \
		sh -c 'touch "$0"; sleep "$1"' "$T/perf.go" "$secs" \
		>"$T/perf-$2.log" 2>&1 &
	pp=$!
	k=0
	while [ ! -e "$T/perf.go" ] && [ $k -lt 600 ]; do
		sleep 0.1
		k=$((k + 1))
	done
	[ -e "$T/perf.go" ] || info "flood-perf: perf did not start: $(tail -n 1 "$T/perf-$2.log")"
	flood_round "$1" perf "$2" "$3" >/dev/null || bad="$bad $2 perf round: not run"
	wait "$pp"
	perf report -i "$T/perf-$2.data" --stdio --no-children --sort dso,sym \
		--percent-limit 0.7 2>/dev/null | grep -E '^ +[0-9]' | head -n 30 \
		>"$T/perf-$2.top"
	[ -s "$T/perf-$2.top" ] || bad="$bad $2 perf: no samples ($(tail -n 1 "$T/perf-$2.log"))"
	while read -r pct dso _ sym; do
		info "flood-perf: dlm=$2 clients=$1 $pct $dso $sym"
	done <"$T/perf-$2.top"
	# each object's share (the guest's perf counts modules with the kernel)
	perf report -i "$T/perf-$2.data" --stdio --no-children --sort dso \
		2>/dev/null | grep -E '^ +[0-9]' | head -n 8 |
		while read -r pct dso; do
			info "flood-perf-dso: dlm=$2 clients=$1 $pct $dso"
		done
	rm -f "$T/perf-$2.data" "$T/perf-$2.top" "$T/perf.go"
}

# --- unload -----------------------------------------------------------------
case_unload() {
	bad=
	for i in 1 3; do
		remove_instance "$CFG/c$i"
	done
	rmmod_retry || bad="$bad rmmod: $(errtxt)"
	[ -d "$CFG" ] && bad="$bad $CFG still there"
	grep -q '^dlm ' /proc/modules || bad="$bad dlm.ko gone"
	"$IP" netns del n1 2>/dev/null
	"$IP" netns del n3 2>/dev/null
	sleep 0.5
	s=$(dmesg | grep -E 'WARNING:|BUG:|Call Trace|general protection|Oops|refcount_t:|UBSAN:|KASAN:' | head -n 3)
	[ -n "$s" ] && bad="$bad splat: $s"
	[ -z "$bad" ] && pass unload || fail unload "$bad"
}

# --- dlm-unload (with INTEROP_DLM_KO) -------------------------------------------
# dlm_controld's part to the end: node 2 as the lockspace's only member and
# a start, so that its recovery runs and the helper's create returns; then
# the lockspace is removed (the last one: the transport stops), the
# configuration undone and dlm.ko unloaded; the caller's kmemleak scan
# follows.
# node2_down: dlm_controld's part to the end (above) and rmmod dlm; what
# failed is in $down_bad, empty on success
node2_down() {
	node2_ls_down
	[ $? = 2 ] && return 1
	node2_unload
}

# node2_unload: configfs emptied, rmmod dlm; failures added to $down_bad
node2_unload() {
	for c in "$SCFG"/cluster/comms/*; do
		[ -d "$c" ] && rmdir "$c"
	done
	rmdir "$SCFG/cluster" 2>"$ERR" || down_bad="$down_bad rmdir cluster: $(errtxt)"
	rmmod dlm 2>"$ERR" || down_bad="$down_bad rmmod dlm: $(errtxt)"
	[ -z "$down_bad" ]
}

# node2_ls_down: node2_down up to the lockspace's removal (the transport
# stopped); what failed is in $down_bad; 2 if the members and start
# failed (the lockspace is left as it was)
node2_ls_down() {
	down_bad=
	S=$SCFG/cluster/spaces/$LSNAME
	ls_sys=/sys/kernel/dlm/$LSNAME
	if ! { mkdir "$S" && mkdir "$S/nodes/2"; } 2>"$ERR" ||
	   ! wr "$S/nodes/2/nodeid" 2 || ! wr "$S/nodes/2/weight" 1 ||
	   ! wr "$ls_sys/control" 1; then
		down_bad="members and start: $(errtxt)"
		return 2
	fi
	until_t 60 grep -q ' created' "$T/helper.out" ||
		down_bad="$down_bad join never completed: $(tr '\n' ' ' <"$T/helper.out")"
	# as dlm_controld does for a leave: stop the lockspace (which frees
	# its slots; release does not), and the event_done the leave will
	# wait for, ahead of it
	wr "$ls_sys/control" 0 || down_bad="$down_bad stop: $(errtxt)"
	# the other nodes count as gone (after case_unload they are; in a
	# swap our instances stay, but node 2's lockspace has no other
	# member): their comms go first, as dlm_controld removes departed
	# nodes, or 6.1's leave waits up to 3 minutes for a FIN from each
	for c in "$SCFG"/cluster/comms/*; do
		[ -d "$c" ] && [ "${c##*/}" != 2 ] && rmdir "$c"
	done
	wr "$ls_sys/event_done" 0 || down_bad="$down_bad event_done: $(errtxt)"
	: >"$T/ls.remove"
	until_t 60 sh -c "! kill -0 $HELPER_PID 2>/dev/null" ||
		down_bad="$down_bad the lockspace's removal did not return"
	grep -q 'lockspace removed' "$T/helper.out" ||
		down_bad="$down_bad remove: $(tr '\n' ' ' <"$T/helper.out")"
	[ -d "$ls_sys" ] && down_bad="$down_bad $ls_sys still there"
	rmdir "$S/nodes/2" "$S" 2>/dev/null
	[ -z "$down_bad" ]
}

# --- local-moves (with INTEROP_DLM_KO) ------------------------------------------
# dlm_controld stopped with no lockspace left (its comms removed) and came
# back with another address for this node: the next lockspace must listen
# there, as the kernel's own lowcomms does (it reads the local addresses
# at each start), not on the old one. Then the local comm is removed and
# made again, with a third address, while a lockspace runs: the running
# transport keeps listening where it did, and the next lockspace listens
# on the third. Node 2's lockspace is already gone (node2_ls_down), and so
# is 192.0.2.2 (with the veth, in case_unload); the new addresses go on
# lo. The lockspace leaves again at the end.
LISTEN_12=0C0200C0:5248	# 192.0.2.12:21064 as /proc/net/tcp shows it
LISTEN_22=160200C0:5248	# 192.0.2.22:21064
listening_on() {
	awk -v a="$1" '$2 == a && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp
}
listeners() {
	awk '$2 ~ /:5248$/ && $4 == "0A" {printf "%s ", $2}' /proc/net/tcp
}

# node2_comm ADDR: node 2's comm made again on ADDR, as its local node
node2_comm() {
	C=$SCFG/cluster
	for c in "$C"/comms/*; do
		[ -d "$c" ] && rmdir "$c"
	done
	mkdir "$C/comms/2" 2>"$ERR" && wr "$C/comms/2/nodeid" 2 &&
		write_ss "$1" "$C/comms/2/addr" && wr "$C/comms/2/local" 1
}

# local_moves_ls: node 2's lockspace up, listening on $1 only; else $lm_bad
local_moves_ls() {
	if ! node2_ls_up; then
		lm_bad="$lm_bad lockspace on $2: $(errtxt)"
		# a helper still in its create: fail the join, else leave
		if kill -0 "$HELPER_PID" 2>/dev/null; then
			echo -1 >"/sys/kernel/dlm/$LSNAME/event_done" 2>/dev/null
			until_t 5 sh -c "! kill -0 $HELPER_PID 2>/dev/null" ||
				node2_ls_down
			: >"$T/ls.remove"
			until_t 30 sh -c "! kill -0 $HELPER_PID 2>/dev/null"
		fi
		return 1
	fi
	info "local-moves: listening on $(listeners)(want $2)"
	for l in $LISTEN_12 $LISTEN_22; do
		if [ "$l" = "$1" ]; then
			listening_on "$l" || lm_bad="$lm_bad nothing listens on $2"
		else
			listening_on "$l" && lm_bad="$lm_bad still listening on $l"
		fi
	done
	return 0
}

case_local_moves() {
	lm_bad=
	if ! "$IP" addr add 192.0.2.12/32 dev lo 2>"$ERR" ||
	   ! "$IP" addr add 192.0.2.22/32 dev lo 2>"$ERR" ||
	   ! node2_comm 192.0.2.12; then
		lm_bad="configure: $(errtxt)"
	elif local_moves_ls $LISTEN_12 192.0.2.12; then
		# removed and made again while running: the transport stays
		if ! node2_comm 192.0.2.22; then
			lm_bad="$lm_bad configure .22: $(errtxt)"
			# without a local comm the leave would oops (6.12)
			node2_comm 192.0.2.12
		fi
		sleep 0.5
		listening_on $LISTEN_12 ||
			lm_bad="$lm_bad not listening on 192.0.2.12 after the comm came back while running"
		node2_ls_down || lm_bad="$lm_bad leave: $down_bad"
		local_moves_ls $LISTEN_22 192.0.2.22 && {
			node2_ls_down || lm_bad="$lm_bad leave: $down_bad"
		}
	fi
	"$IP" addr del 192.0.2.12/32 dev lo 2>/dev/null
	"$IP" addr del 192.0.2.22/32 dev lo 2>/dev/null
	[ -z "$lm_bad" ] && pass local-moves || fail local-moves "$lm_bad"
}

case_dlm_unload() {
	bad=
	node2_ls_down
	ls_r=$?
	first_bad=$down_bad
	if [ $ls_r = 0 ]; then
		case_local_moves
	else
		skip local-moves dlm-unload
	fi
	down_bad=$first_bad
	[ $ls_r = 2 ] || node2_unload
	bad=$down_bad
	s=$(dmesg | grep -E 'WARNING:|BUG:|Call Trace|general protection|Oops|refcount_t:|UBSAN:|KASAN:' | head -n 3)
	[ -n "$s" ] && bad="$bad splat: $s"
	[ -z "$bad" ] && pass dlm-unload || fail dlm-unload "$bad"
}

# --- main -------------------------------------------------------------------
T0=$(now)
info "interop: kernel $(uname -r) ip=$IP tcpdump=${TCPDUMP:-none} pings=$PINGS bulk=${BULK}x$SIZE"
skip() { fail "$1" "not run ($2 failed)"; }
if case_load; then
	if case_stock; then
		if case_ours; then
			capture_start
			case_ping
			case_ping_ls0
			case_bulk
			capture_stop && capture_dump
			case_port_taken
			case_stock_stream
			case_flood
		else
			for c in ping ping-ls0 bulk port-taken stock-stream; do skip $c our-node; done
		fi
	else
		for c in our-node ping ping-ls0 bulk port-taken stock-stream; do skip $c stock-node; done
	fi
	case_unload
	if [ -n "$DLM_KO" ]; then
		if [ -n "${HELPER_PID:-}" ]; then
			case_dlm_unload
		else
			skip dlm-unload stock-node
			skip local-moves stock-node
		fi
	fi
else
	for c in stock-node our-node ping ping-ls0 bulk port-taken stock-stream unload; do skip $c load; done
fi
echo "INFO: interop: dlm kernel log:"
dmesg | grep -Ei 'dlm|lowcomms' | tail -n 60 | sed 's/^/INFO:   dmesg: /'
info "interop: finished in $(awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')s, $failed failed"
exit $failed
