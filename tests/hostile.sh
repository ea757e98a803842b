#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# hostile.sh [path/to/dlm_lowcomms.ko]
#
# A hostile peer must not leave a healthy peer slower once it is gone.
#
#   n1 (instance h1, node 1, 192.0.2.1) --v12--v21-- n2 (node 2: hostile)
#                                       --v13--v31-- n3 (node 3: healthy)
#
# Our instance runs in n1 with nodes 1 (local), 2 and 3 configured. Nodes
# 2 and 3 are plain TCP clients (tests/tools/dlm_flood, C, or
# dlm_flood.py) bound to their configured addresses. Node 3 keeps
# HOSTILE_INFLIGHT (8) RCOM_STATUS requests in flight for the whole run,
# in slices of HOSTILE_FLOOD_SLICE (default HOSTILE_SLICE) seconds, each
# on a new connection (0: one connection throughout), and logs its reply
# rate every second. Node 2 runs, in turn, one case per HOSTILE_SLICE (4 s):
#   garbage  short  long  badver  spoof  drip  noread  conns
# (random bytes; length 8; length 5000; version 2.1; sender nodeid 3 from
# node 2's address; one byte per segment; HOSTILE_NOREAD (200,000)
# requests never reading a reply; HOSTILE_CONNS (300) connections at
# once). Not in the default list: "halfclose" (noread, then SHUT_WR: our
# side in CLOSE_WAIT with a full send buffer) and "none" (node 2 idle: a
# control run).
# Then node 2 is gone, and node 3's rate must come back:
#   hostile.recovery  within 5 s of node 2's exit, node 3's rate (2 s
#                     window) >= HOSTILE_REC_RATIO (0.5) x its rate before
#                     the cases; the mean from 5 s to HOSTILE_AFTER (25 s)
#                     >= HOSTILE_MEAN_RATIO (0.5) x before; and the dlm_io
#                     and dlm_process kworkers' CPU per reply from 5 s on
#                     <= HOSTILE_KW_RATIO (2) x before. The defect this
#                     catches left 0.21-0.33 of the rate with the kworkers
#                     spinning (some 20 x the CPU per reply). The debug
#                     guest itself slows down over the cases: after them a
#                     healthy run was seen at 0.66 x the rate, the flooder
#                     (userspace, its own TCP) taking 1.6 x the CPU per
#                     reply and our kworkers 1.3 x; other guests on the
#                     same cores move a 20 s mean by more than 0.3.
#   hostile.idle      node 3 stopped as well: the kworkers use < 5% of
#                     the CPU (nothing spins)
# Each case PASSes if the node did what it must (closed the broken stream
# and counted it, answered the dripped requests, ...) and node 3 was still
# answered during it, with no stretch of more than GAP_MAX (3) s without
# a reply (a redial race once left node 3 unanswered for 4-5 s in a case
# that still got replies before and after it). Printed per phase: node
# 3's rate and its ratio to "before" (and per busy guest CPU-second), the
# busiest kworkers' CPU, node 2's status (queued, connected, ...). Before the cases and after
# node 2 left (outside the measured windows: forks slow the debug guest)
# tracefs counts the work items per 1000 replies, failed socket memory
# charges (sock_exceed_buf_limit) and, for each new connection of node 3,
# the time from its accept to the next run of its send worker; then
# /proc/<kworker>/stack is sampled.
#
# Runs as a guest script (from a guest launcher, or QEMU's initramfs) or
# as PID 1 of a UML guest itself (scripts/hostile.sh boots it so): then it
# mounts what it needs and powers off at the end, printing GUEST-DONE.
# Environment: HOSTILE_SLICE HOSTILE_AFTER HOSTILE_CASES HOSTILE_INFLIGHT
# HOSTILE_NOREAD HOSTILE_CONNS HOSTILE_FLOOD_SLICE HOSTILE_TAG (default
# hostile) HOSTILE_TOOL HOSTILE_DEBUG; in QEMU from /extra/hostile.env.

AS_INIT=0
if [ "$$" = 1 ]; then
	AS_INIT=1
	PATH=/usr/sbin:/usr/bin:/sbin:/bin
	export PATH
	mountpoint -q /proc || mount -t proc proc /proc
	mountpoint -q /sys || mount -t sysfs sysfs /sys
	mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev 2>/dev/null
	mount -t tmpfs -o mode=755 tmpfs /run
	# $1: the scratch dir with the modules, the scripts and the tool
	SRCDIR=${1:-}
	mkdir -p /run/dlm_lc/mod
	cp "$SRCDIR"/*.ko /run/dlm_lc/mod/ 2>/dev/null
	cp "$SRCDIR"/tests/lib.sh "$SRCDIR"/tests/hostile.sh /run/dlm_lc/ 2>/dev/null
	cp "$SRCDIR"/tests/tools/dlm_flood.py /run/dlm_lc/ 2>/dev/null
	cp "$SRCDIR"/dlm_flood /run/dlm_lc/ 2>/dev/null
	mount -t tmpfs tmpfs /tmp
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	ip link set lo up 2>/dev/null
	cd /run/dlm_lc || true
	set -- /run/dlm_lc/mod/dlm_lowcomms.ko
	HERE=/run/dlm_lc
else
	HERE=$(dirname "$0")
fi

. "$HERE/lib.sh"
# settings from a QEMU host wrapper (its initramfs carries only files)
[ -f /extra/hostile.env ] && . /extra/hostile.env

TAG=${HOSTILE_TAG:-hostile}
SLICE=${HOSTILE_SLICE:-4}
AFTER=${HOSTILE_AFTER:-25}
INFL=${HOSTILE_INFLIGHT:-8}
NOREAD=${HOSTILE_NOREAD:-200000}
NCONNS=${HOSTILE_CONNS:-300}
# node 3 floods in slices: a new connection every FSLICE s (0: one for all)
FSLICE=${HOSTILE_FLOOD_SLICE:-$SLICE}
CASES=$(echo "${HOSTILE_CASES:-garbage short long badver spoof drip noread conns}" | tr , " ")
CFG=/sys/kernel/config/dlm_lowcomms
I=$CFG/h1
W=${TMPDIR:-/tmp}/hostile.$$
mkdir -p "$W"
ERR=$W/err
FLOG=$W/flood3.log
STOP=$W/stop
MOD=${1:-/modules/dlm_lowcomms.ko}
# the flooder: the static C build if there is one (cheap per reply, and
# all a busybox initramfs can run), else the python one
PY=
TOOL=${HOSTILE_TOOL:-}
for c in "$TOOL" /extra/dlm_flood "$HERE/dlm_flood" "$HERE/dlm_flood.py" \
	"$HERE/tools/dlm_flood.py" "$HERE/../tests/tools/dlm_flood.py"; do
	[ -n "$c" ] && [ -f "$c" ] && { TOOL=$c; break; }
done
case $TOOL in *.py) PY=python3 ;; esac

finish() {
	echo "hostile: $failed failed"
	if [ $AS_INIT = 1 ]; then
		echo "GUEST-DONE"
		sync 2>/dev/null
		/bin/busybox poweroff -f 2>/dev/null || poweroff -f
		exit 1
	fi
	exit "$failed"
}

nst() { st "$I/comms/$1/status" "$2"; }	# nst NODE KEY

# --- rates from node 3's log: "FLOOD t=<s> n=<k> total=<T> rate=<r>" ---------
# rate A B: replies/s between boot times A and B (nearest log lines)
rate() {
	awk -v a="$1" -v b="$2" '
	/^FLOOD t=/ {
		split($2, x, "="); split($4, y, "=")
		t = x[2] + 0; tot = y[2] + 0
		if (t <= a || !ha) { ta = t; va = tot; ha = 1 }
		if (t >= b && !hb) { tb = t; vb = tot; hb = 1 }
		tl = t; vl = tot
	}
	END {
		if (!hb) { tb = tl; vb = vl }
		if (tb > ta) printf "%.1f", (vb - va) / (tb - ta); else print 0
	}' "$FLOG"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "0.00" }'; }
# the longest time, in s, node 3 went without a reply between $1 and $2:
# from its last second with replies to each later second without
GAP_MAX=3
longest_gap() {
	awk -v a="$1" -v b="$2" '
	/^FLOOD t=/ {
		split($2, x, "="); split($3, y, "=")
		t = x[2] + 0; n = y[2] + 0
		if (!seen || t <= a || n > 0) { last = t; seen = 1; next }
		if (t > b) next
		if (t - last > g) g = t - last
	}
	END { printf "%.1f", g + 0 }' "$FLOG"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

# --- CPU: per-thread ticks of kworkers and the flooders, /proc/stat --------
snap() {	# snap FILE: "pid comm ticks" lines, then "STAT user sys idle all"
	# one process for all of them: forks are dear in the debug guest and
	# would slow down what is measured
	awk '$2 ~ /kworker|python|dlm_flood/ { print $1, $2, $14 + $15 }' /proc/[0-9]*/stat >"$1" 2>/dev/null
	awk '$1 == "cpu" { print "STAT", $2 + $3, $4 + $7 + $8, $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat >>"$1"
}
# cpu_report A B LABEL: busiest threads between snapshots A and B, sys%
cpu_report() {
	awk -v label="$3" '
	FNR == 1 { f++ }
	$1 == "STAT" { s[f, "u"] = $2; s[f, "s"] = $3; s[f, "a"] = $5; next }
	f == 1 { t0[$1] = $3; next }
	{ d = $3 - t0[$1]; if (d > 0) { dd[$1] = d; cm[$1] = $2 } }
	END {
		all = s[2, "a"] - s[1, "a"]; if (all <= 0) all = 1
		n = 0
		for (p in dd) { o[n++] = p }
		for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
			if (dd[o[j]] > dd[o[i]]) { x = o[i]; o[i] = o[j]; o[j] = x }
		line = ""
		for (i = 0; i < n && i < 4; i++)
			line = line sprintf(" %s(%s)=%.0f%%", cm[o[i]], o[i], 100 * dd[o[i]] / all)
		io = 0
		for (p in dd) if (cm[p] ~ /dlm_io/) io += dd[p]
		printf "CPU %s: sys %.0f%% user %.0f%% dlm_io-kworkers %.0f%% top:%s\n", label,
			100 * (s[2, "s"] - s[1, "s"]) / all, 100 * (s[2, "u"] - s[1, "u"]) / all,
			100 * io / all, line
	}' "$1" "$2"
}
# share of all CPU the kworkers used (any workqueue) between A and B
kw_pct() {
	awk 'FNR == 1 { f++ }
	$1 == "STAT" { a[f] = $5; next }
	f == 1 { t0[$1] = $3; next }
	$2 ~ /kworker/ { d = $3 - t0[$1]; if (d > 0) k += d }
	END { all = a[2] - a[1]; if (all <= 0) all = 1; printf "%.0f", 100 * k / all }' "$1" "$2"
}

# busy guest CPU seconds between snapshots A and B (all ticks - idle)
busy_s() {
	awk '$1 == "STAT" { f++; b[f] = $5 - $4 } END { printf "%.2f", (b[2] - b[1]) / 100 }' "$1" "$2"
}
# nrate RATE SECS A B: replies per busy guest CPU-second
nrate() {
	awk -v r="$1" -v s="$2" -v b="$(busy_s "$3" "$4")" 'BEGIN { if (b > 0) printf "%.0f", r * s / b; else print 0 }'
}

node_status() {	# node_status NODE: the keys that matter, one line
	awk -v n="$1" 'BEGIN { split("connected queued queued_max tx_bytes rx_msgs broken reconnects connect_fail drops send_backoffs", k, " ") }
		{ v[$1] = $2 }
		END { printf "node %s:", n; for (i = 1; i in k; i++) if (k[i] in v) printf " %s=%s", k[i], v[k[i]]; print "" }' \
		"$I/comms/$1/status"
}

# --- tracefs: work items run and failed socket memory charges -----------------
TR=
for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
	[ -f "$d/trace" ] && { TR=$d; break; }
done
if [ -z "$TR" ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null &&
		[ -f /sys/kernel/tracing/trace ] && TR=/sys/kernel/tracing
fi
trace_window() {	# trace_window SECS LABEL
	[ -n "$TR" ] || { info "trace: no tracefs"; return; }
	echo 0 >"$TR/tracing_on"
	echo >"$TR/trace"
	echo 4096 >"$TR/buffer_size_kb" 2>/dev/null
	for e in workqueue/workqueue_execute_start sock/sock_exceed_buf_limit \
		tcp/tcp_retransmit_skb; do
		[ -f "$TR/events/$e/enable" ] && echo 1 >"$TR/events/$e/enable"
	done
	r0=$(nst 3 tx_msgs)
	echo 1 >"$TR/tracing_on"
	sleep "$1"
	echo 0 >"$TR/tracing_on"
	r1=$(nst 3 tx_msgs)
	for e in workqueue/workqueue_execute_start sock/sock_exceed_buf_limit \
		tcp/tcp_retransmit_skb; do
		[ -f "$TR/events/$e/enable" ] && echo 0 >"$TR/events/$e/enable"
	done
	awk -v label="$2" -v secs="$1" -v replies=$(( ${r1:-0} - ${r0:-0} )) '
	/workqueue_execute_start:/ {
		for (i = 1; i <= NF; i++) if ($i == "function") f = $(i + 1)
		# when a new connection is accepted, how long until a send
		# worker runs (replies go out only then)
		ts = $0; sub(/: workqueue_execute_start.*/, "", ts); n = split(ts, tt, " "); ts = tt[n] + 0
		w = $0; sub(/.*work struct /, "", w); sub(/:.*/, "", w)
		ne++; et[ne] = ts; ef[ne] = f; ew[ne] = w
		fn[f]++; ws[f " " w]++; next
	}
	/sock_exceed_buf_limit:/ {
		k = $0; sub(/.*sock_exceed_buf_limit: /, "", k); sub(/ sysctl_mem=.*/, "", k)
		ex[k]++; nex++; if (!first) first = $0; next
	}
	/tcp_retransmit_skb:/ { rt++ }
	/lost/ { lost = $0 }
	END {
		printf "TRACE %s (%s s, node 3 got %d replies): work items run:", label, secs, replies
		for (f in fn) printf " %s=%d", f, fn[f]
		printf "\n"
		if (replies > 0) {
			printf "TRACE %s: per 1000 replies to node 3:", label
			for (f in fn) printf " %s=%.0f", f, 1000 * fn[f] / replies
			printf "\n"
		}
		for (k in ws) if (ws[k] >= 2) printf "TRACE %s:   work %s ran %d times\n", label, k, ws[k]
		printf "TRACE %s: sock_exceed_buf_limit %d, tcp_retransmit_skb %d\n", label, nex + 0, rt + 0
		# the send worker of node 3 is the busiest one; after each accept, how
		# long until it runs (its replies wait until then)
		for (k in ws) if (k ~ /send_work/ && ws[k] > best) { best = ws[k]; w3 = k }
		sub(/^[^ ]* /, "", w3)
		gaps = ""; nacc = 0
		for (i = 1; i <= ne; i++) {
			if (ef[i] !~ /accept_work/) continue
			nacc++
			for (j = i + 1; j <= ne; j++)
				if (ef[j] ~ /send_work/ && ew[j] == w3) { gaps = gaps sprintf(" %.3f", et[j] - et[i]); break }
		}
		if (nacc) printf "TRACE %s: %d accepts; s from each to the next run of node 3 send worker:%s\n", label, nacc, gaps
		for (k in ex) printf "TRACE %s:   exceed %s x%d\n", label, k, ex[k]
		if (first) printf "TRACE %s:   first: %s\n", label, first
	}' "$TR/trace"
	cp "$TR/trace" "$W/trace.$2" 2>/dev/null
	echo >"$TR/trace"
}

# sample_stacks N LABEL: where the dlm kworkers are, N rounds (few forks)
sample_stacks() {
	pids=$(awk '/dlm_io|dlm_process/ { f = FILENAME; sub("/proc/", "", f); sub("/comm", "", f); printf "%s ", f }' \
		/proc/[0-9]*/comm 2>/dev/null)
	: >"$W/stacks"
	k=0
	while [ $k -lt "$1" ] && [ -n "$pids" ]; do
		for p in $pids; do
			# the innermost frame of ours, or the first past the scheduler
			awk -v p="$p" '{ sub(/^\[<[^>]*>\] /, ""); sub(/\+.*/, "") }
				/dlm_lc|send_|recv_|accept_|process_|tcp_|sk_|sock_|inet_|worker_thread/ { print p, $0; exit }' \
				"/proc/$p/stack" >>"$W/stacks" 2>/dev/null
		done
		k=$((k + 1))
		sleep 0.1
	done
	sort -k2 "$W/stacks" | awk '{ c[$2]++ } END { for (f in c) print c[f], f }' | sort -rn | head -n 8 |
		sed "s/^/STACK $2: /"
}

# raw socket and process views (HOSTILE_DEBUG=1)
rawview() {
	[ "${HOSTILE_DEBUG:-0}" = 1 ] || return 0
	for n in n1 n3; do
		in_ns $n ss -tanmi 2>&1 | sed "s/^/RAW $1 ss $n: /"
	done
	ps -eo pid,stat,time,comm 2>/dev/null | awk '$3 != "00:00:00"' | sed "s/^/RAW $1 ps: /"
	sed "s/^/RAW $1 node3: /" "$I/comms/3/status" | head -n 12
}

sockstat() {	# TCP memory and sockets in n1
	in_ns n1 cat /proc/net/sockstat 2>/dev/null | awk '/^TCP:/ { $1 = ""; print "SOCKSTAT n1:" $0 }'
	in_ns n1 ss -tanm 2>/dev/null | awk '
		/^State/ { next }
		/^[A-Z]/ { st = $1; sq = $3; pa = $5; next }
		/skmem/ { n[st]++; q[st] += sq; if (sq > mx) { mx = sq; mp = pa " " st } }
		END { for (s in n) printf "SS n1: %s x%d send-q %d\n", s, n[s], q[s]; if (mx) printf "SS n1: biggest send-q %d to %s\n", mx, mp }'
}

# --- setup ----------------------------------------------------------------------
setup() {
	grep -q ' /sys/kernel/config ' /proc/mounts ||
		mount -t configfs none /sys/kernel/config 2>"$ERR" || return 1
	grep -q '^dlm_lowcomms ' /proc/modules && rmmod dlm_lowcomms 2>/dev/null
	# veth may be a module (Debian kernels) or built in (UML)
	if [ ! -d /sys/module/veth ]; then
		insmod "$(dirname "$MOD")/veth.ko" 2>/dev/null || modprobe veth 2>/dev/null || true
	fi
	insmod "$MOD" 2>"$ERR" || return 1
	for n in 1 2 3; do "$IP" netns del "n$n" 2>/dev/null; done
	for n in 1 2 3; do
		"$IP" netns add "n$n" 2>"$ERR" || return 1
		"$IP" -n "n$n" link set lo up
	done
	for j in 2 3; do
		"$IP" link add "v1$j" netns n1 type veth peer name "v${j}1" netns "n$j" 2>"$ERR" || return 1
		"$IP" -n n1 addr add 192.0.2.1/32 dev "v1$j" &&
			"$IP" -n n1 link set "v1$j" up &&
			"$IP" -n n1 route add "192.0.2.$j/32" dev "v1$j" src 192.0.2.1 &&
			"$IP" -n "n$j" addr add "192.0.2.$j/32" dev "v${j}1" &&
			"$IP" -n "n$j" link set "v${j}1" up &&
			"$IP" -n "n$j" route add 192.0.2.1/32 dev "v${j}1" src "192.0.2.$j" 2>"$ERR" || return 1
	done
	in_ns n1 mkdir "$I" 2>"$ERR" || return 1
	for n in 1 2 3; do
		mkdir "$I/comms/$n" 2>"$ERR" && wr "$I/comms/$n/addr" "192.0.2.$n" || return 1
	done
	wr "$I/comms/1/local" 1 && wr "$I/control" start
}

flood3_start() {
	rm -f "$STOP"
	in_ns n3 timeout -k 5 "$1" $PY "$TOOL" flood --src 192.0.2.3 --dst 192.0.2.1 \
		--nodeid 3 --inflight "$INFL" --interval 1 --duration "$1" --slice "$FSLICE" \
		--stop-file "$STOP" >"$FLOG" 2>&1 &
	FPID=$!
	# wait for its first rate line (python starts slowly under KASAN)
	k=0
	while [ $k -lt 60 ] && ! grep -q '^FLOOD t=' "$FLOG"; do
		sleep 0.5
		k=$((k + 1))
	done
	grep -q '^FLOOD t=' "$FLOG"
}

# hostile2 MODE DURATION [ARGS...]: node 2 runs one case; output in $W/h.MODE
hostile2() {
	m=$1 d=$2
	shift 2
	in_ns n2 timeout -k 5 $(( ${d%.*} + 30 )) $PY "$TOOL" "$m" --src 192.0.2.2 \
		--dst 192.0.2.1 --nodeid 2 --duration "$d" "$@" >"$W/h.$m" 2>&1
	cat "$W/h.$m" | sed 's/^/  /'
}
hval() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" "$W/h.$1" | head -n1; }

# --- run --------------------------------------------------------------------------
[ -n "$TOOL" ] || { fail setup "no dlm_flood or dlm_flood.py"; finish; }
[ -z "$PY" ] || command -v $PY >/dev/null 2>&1 || { fail setup "no python3 for $TOOL"; finish; }
if ! setup; then
	fail setup "$(errtxt)"
	finish
fi
pass setup
info "tool $TOOL, slice ${SLICE}s, node 3 reconnects every ${FSLICE}s, after ${AFTER}s, $INFL in flight, cases: $CASES"

ncases=$(echo $CASES | wc -w)
total=$(( 60 + ncases * (SLICE + 10) + 60 + AFTER + 120 ))
if ! flood3_start "$total"; then
	fail flood "node 3's flooder printed no rate: $(head -c 300 "$FLOG" | tr '\n' ' ')"
	finish
fi
sleep 2

# before: 3 slices
snap "$W/c0"
t0=$(now)
sleep $((3 * SLICE))
t1=$(now)
snap "$W/c1"
RB=$(rate "$t0" "$t1")
NB=$(nrate "$RB" "$(elapsed "$t0" "$t1")" "$W/c0" "$W/c1")
info "node 3 rate before: $RB/s ($NB per busy guest CPU-second)"
cpu_report "$W/c0" "$W/c1" before
CPU_BEFORE=$(kw_pct "$W/c0" "$W/c1")
if ge "$RB" 1; then pass flood; else fail flood "node 3 got no replies before the cases"; fi
# the same counts as after node 2 has gone, for comparison
trace_window 3 before
SUMMARY="before=$RB"

for c in $CASES; do
	b0=$(nst 2 broken)
	snap "$W/c0"
	ta=$(now)
	case $c in
	garbage|short|long|badver) hostile2 "$c" "$SLICE" ;;
	spoof) hostile2 spoof "$SLICE" --spoof-nodeid 3 ;;
	drip) hostile2 drip "$SLICE" --drip-ms 5 ;;
	noread) hostile2 noread 60 --count "$NOREAD" --hold "$SLICE" ;;
	halfclose) hostile2 halfclose 60 --count "$NOREAD" --hold "$SLICE" ;;
	conns) hostile2 conns "$SLICE" --conns "$NCONNS" ;;
	none) sleep "$SLICE"; echo "HOSTILE mode=none" >"$W/h.none" ;;	# control
	*) fail "$c" "unknown case"; continue ;;
	esac
	tb=$(now)
	snap "$W/c1"
	RD=$(rate "$ta" "$tb")
	b1=$(nst 2 broken)
	info "case $c: $(elapsed "$ta" "$tb") s, node 3 rate $RD/s ($(ratio "$RD" "$RB") x before), node 2 broken +$((b1 - b0))"
	cpu_report "$W/c0" "$W/c1" "$c"
	node_status 2
	SUMMARY="$SUMMARY $c=$RD"
	conns=$(hval "$c" conns)
	closed=$(hval "$c" closed)
	why=
	ge "$RD" 1 || why="node 3 starved (no replies during the case)"
	gap=$(longest_gap "$ta" "$tb")
	info "case $c: node 3's longest time without a reply ${gap} s (at most $GAP_MAX)"
	ge "$GAP_MAX" "$gap" || why="$why; node 3 got no reply for $gap s"
	case $c in
	garbage|short|long|badver|spoof)
		[ "${conns:-0}" -gt 0 ] || why="$why; no connection made"
		[ "${closed:-0}" = "${conns:-x}" ] || why="$why; node closed $closed of $conns broken streams"
		[ $((b1 - b0)) -ge "${conns:-1}" ] || why="$why; broken counted +$((b1 - b0)) for $conns"
		;;
	drip)
		[ "$(hval drip replies)" -gt 0 ] 2>/dev/null || why="$why; dripped requests not answered"
		[ "${closed:-0}" = 0 ] || why="$why; node closed the dripping connection"
		;;
	noread|halfclose)
		[ "$(hval "$c" requests)" -gt 0 ] 2>/dev/null || why="$why; no request written"
		;;
	conns)
		[ "${conns:-0}" -gt 0 ] || why="$why; no connection up"
		info "cluster: $(tr '\n' ' ' <"$I/status")"
		;;
	esac
	if [ -z "$why" ]; then pass "$c"; else fail "$c" "${why#; }"; fi
done

# --- after: node 2 is gone ----------------------------------------------------------
# Only cheap snapshots in the measured window: anything that forks a lot
# slows the debug guest down and would be blamed on the module.
tg=$(now)
snap "$W/a0"
node_status 2 >"$W/n2.gone"
sleep 5
t5=$(now)
snap "$W/a5"
sleep $((AFTER - 5))
te=$(now)
snap "$W/a1"
info "node 2 gone at $tg; its status then and ${AFTER} s later:"
cat "$W/n2.gone"
node_status 2
node_status 3
cpu_report "$W/a0" "$W/a5" "after-0-5s"
cpu_report "$W/a5" "$W/a1" "after-5-${AFTER}s"
CPU_AFTER=$(kw_pct "$W/a5" "$W/a1")
# now the slow phase itself, node 3 still flooding: what runs, what
# fails, where the kworkers are, what the sockets hold
sockstat
rawview after
trace_window 9 after
sample_stacks 10 after

# per-second timeline after the gone mark
info "node 3 after node 2 left (s since: replies/s):"
awk -v g="$tg" '/^FLOOD t=/ { split($2, x, "="); split($5, r, "=");
	d = x[2] - g; if (d >= -1 && d <= AFTER + 1) printf " %+.0f:%s", d, r[2] } END { print "" }' AFTER="$AFTER" "$FLOG" |
	sed 's/^/INFO: timeline/'
# first 2 s window after the gone mark with rate >= HOSTILE_REC_RATIO x before
REC=
k=0
while [ $k -le $(( AFTER - 2 )) ]; do
	a=$(awk -v g="$tg" -v k=$k 'BEGIN { printf "%.2f", g + k }')
	b=$(awk -v g="$tg" -v k=$k 'BEGIN { printf "%.2f", g + k + 2 }')
	r=$(rate "$a" "$b")
	if ge "$r" "$(awk -v x="$RB" -v f="${HOSTILE_REC_RATIO:-0.5}" 'BEGIN { print f * x }')"; then REC=$k; break; fi
	k=$((k + 1))
done
RA5=$(rate "$tg" "$t5")
RA=$(rate "$t5" "$te")
NA=$(nrate "$RA" "$(elapsed "$t5" "$te")" "$W/a5" "$W/a1")
info "node 3 per busy guest CPU-second: before $NB, 5-${AFTER} s after $NA ($(ratio "$NA" "$NB") x)"
SUMMARY="$SUMMARY after0-5s=$RA5 after5-${AFTER}s=$RA"
info "node 3 rate after: 0-5 s $RA5/s, 5-${AFTER} s $RA/s ($(ratio "$RA" "$RB") x before); recovered at ${REC:-never} s"
info "kworker CPU share: before $CPU_BEFORE%, after $CPU_AFTER% (node 3 only, both)"
# kworker CPU per reply (share / rate), after over before
KWR=$(awk -v cb="$CPU_BEFORE" -v ca="$CPU_AFTER" -v rb="$RB" -v ra="$RA" \
	'BEGIN { if (cb <= 0 || rb <= 0) cb = rb = 1; printf "%.2f", ra > 0 ? (ca / ra) / (cb / rb) : 99 }')
info "kworker CPU per reply to node 3: after/before $KWR x"
why=
[ -n "$REC" ] && [ "$REC" -le 5 ] ||
	why="node 3 not back to ${HOSTILE_REC_RATIO:-0.5} x $RB/s within 5 s (recovered at ${REC:-never} s)"
ge "$RA" "$(awk -v x="$RB" -v f="${HOSTILE_MEAN_RATIO:-0.5}" 'BEGIN { print f * x }')" ||
	why="$why; node 3 at $RA/s from 5 to ${AFTER} s after node 2 left, $(ratio "$RA" "$RB") x before"
ge "${HOSTILE_KW_RATIO:-2}" "$KWR" ||
	why="$why; the kworkers take $KWR x their CPU per reply of before"
if [ -z "$why" ]; then pass recovery; else fail recovery "${why#; }"; fi

# --- idle: nobody talks, nothing may spin -------------------------------------------
touch "$STOP"
wait "$FPID" 2>/dev/null
grep '^FLOOD-SUMMARY' "$FLOG" | sed 's/^/  node 3 /'
sleep 2
snap "$W/i0"
sleep 4
snap "$W/i1"
cpu_report "$W/i0" "$W/i1" idle
IDLE=$(kw_pct "$W/i0" "$W/i1")
node_status 2
if [ "$IDLE" -lt 5 ]; then
	pass idle
else
	trace_window 2 idle
	sample_stacks 40 idle
	fail idle "kworkers use $IDLE% of the CPU with no peer talking"
fi
echo "RATES: $SUMMARY"
# node 3's whole log, relative to node 2's exit
awk -v g="$tg" '/^FLOOD t=/ { split($2, x, "="); sub(/^FLOOD t=[0-9.]* /, ""); printf "FLOOD3 %+.1f %s\n", x[2] - g, $0; next }
	{ print "FLOOD3 " $0 }' "$FLOG"

# --- teardown ---------------------------------------------------------------------------
bad=
remove_instance "$I"
for n in 1 2 3; do "$IP" netns del "n$n" 2>/dev/null; done
rmmod_retry || bad="$bad rmmod: $(errtxt)"
if [ -z "$bad" ]; then pass teardown; else fail teardown "$bad"; fi
finish
