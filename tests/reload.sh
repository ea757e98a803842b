#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# reload.sh: one side of the two-VM module-reload test (scripts/reload.sh
# boots both). Each VM is one node; the link is a QEMU socket netdev
# carried over the host's loopback.
#
#   RELOAD_ROLE=b (node 2, 10.99.0.2): sends RELOAD_MSGS checked bulk
#       messages to node 1 in RELOAD_CHUNK-sized writes, RELOAD_PAUSE
#       seconds apart (so that the stream outlasts the reloads), then waits until
#       node 1 has acknowledged every one. Prints RELOAD-SENT: <n>.
#   RELOAD_ROLE=a (node 1, 10.99.0.1): while the messages arrive, stops its
#       instance, unloads the module, loads it again and reconfigures,
#       RELOAD_CYCLES times. Adds up what each module life delivered and
#       checks that every life takes up the stream exactly where the last
#       one stopped. Prints RELOAD-DELIVERED: <delivered> <seq errors>
#       <reloads>.
#
# The host compares the two (scripts/reload.sh). Env: RELOAD_MSGS (20000),
# RELOAD_CHUNK (500), RELOAD_PAUSE (0.3), RELOAD_CYCLES (3), SIZE (512).

. "$(dirname "$0")/lib.sh"

ROLE=${RELOAD_ROLE:?RELOAD_ROLE=a|b}
TOTAL=${RELOAD_MSGS:-20000}
CHUNK=${RELOAD_CHUNK:-500}
PAUSE=${RELOAD_PAUSE:-0.3}
CYCLES=${RELOAD_CYCLES:-3}
SIZE=${SIZE:-512}
MODS=/modules
CFG=/sys/kernel/config/dlm_lowcomms
ERR=/tmp/reload.err
TAG=reload-$ROLE
if [ "$ROLE" = a ]; then ME=1 PEER=2; else ME=2 PEER=1; fi
D=$CFG/c
N=$D/comms/$PEER

load() {	# insmod and configure one module life
	insmod "$MODS/dlm_lowcomms.ko" 2>"$ERR" || return 1
	mkdir "$D" 2>"$ERR" &&
		mkdir "$D/comms/1" "$D/comms/2" 2>"$ERR" &&
		wr "$D/comms/1/addr" 10.99.0.1 && wr "$D/comms/2/addr" 10.99.0.2 &&
		wr "$D/comms/$ME/local" 1 && wr "$D/control" start
}

unload() {	# stop (FIN after our ACKs), remove, rmmod
	bad=
	remove_instance "$D"
	[ -z "$bad" ] || { echo "$bad" >"$ERR"; return 1; }
	rmmod_retry
}

cst() { st "$N/status" "$1"; }

grep -qw configfs /proc/filesystems || insmod_dep configfs
grep -q ' /sys/kernel/config ' /proc/mounts ||
	mount -t configfs none /sys/kernel/config 2>/dev/null
setup_net || exit 1
load || { fail load "$(errtxt)"; exit 1; }
pass load

# the peer VM boots at about the same time: wait for it (bounded)
t=$(now)
until wr "$N/ping" "1 1000" 10; do
	older_than "$t" 120 && { fail peer "node $PEER never answered: $(errtxt)"; exit 1; }
	sleep 1
done
pass peer

if [ "$ROLE" = b ]; then
	sent=0
	t=$(now)
	while [ $sent -lt "$TOTAL" ]; do
		# a write waits while node 1 is away and our backlog is full
		if wr "$N/bulk" "$CHUNK $SIZE" 120; then
			sent=$((sent + CHUNK))
			sleep "$PAUSE"
		else
			fail send "after $sent: $(errtxt)"
			break
		fi
	done
	info "reload-b: queued $sent messages in $(elapsed "$t")s"
	t=$(now)
	until [ "$(cst unacked_msgs)" = 0 ] && [ "$(cst bulk_tx_msgs)" = "$sent" ]; do
		older_than "$t" 180 && { fail acked "$(cst unacked_msgs) still unacked"; break; }
		sleep 0.5
	done
	info "reload-b: retransmits=$(cst retransmits) reconnects=$(cst reconnects) fin_rx=$(cst fin_rx) unacked_max=$(cst unacked_max)"
	echo "RELOAD-SENT: $(cst bulk_tx_msgs)"
	# a life that saw no numbered message yet does not know we speak 3.2
	[ "$(cst fin_rx)" -ge 1 ] 2>/dev/null &&
		pass fin-seen || fail fin-seen "fin_rx=$(cst fin_rx)"
	unload || fail unload "$(errtxt)"
else
	delivered=0 seqerr=0 reloads=0 next=0
	# one module life: the stream must go on where the last life stopped
	life_end() {
		first=$(cst bulk_rx_first_seq)
		rx=$(cst bulk_rx_msgs)
		se=$(cst bulk_rx_seq_err)
		if [ "${rx:-0}" -gt 0 ] && [ "$first" != "$next" ]; then
			fail continuity "life $reloads started at $first, expected $next"
		fi
		delivered=$((delivered + ${rx:-0}))
		seqerr=$((seqerr + ${se:-0}))
		next=$((next + ${rx:-0}))
	}
	t=$(now)
	until [ "$(cst bulk_rx_msgs)" -gt 0 ] 2>/dev/null; do
		older_than "$t" 120 && break
		sleep 0.2
	done
	while [ $reloads -lt "$CYCLES" ]; do
		sleep 1
		# stop first: after the FIN nothing more is delivered
		wr "$D/control" stop 60 || fail reload "stop: $(errtxt)"
		life_end
		unload || { fail reload "unload: $(errtxt)"; break; }
		reloads=$((reloads + 1))
		load || { fail reload "load: $(errtxt)"; break; }
		info "reload-a: reload $reloads done, $delivered delivered so far"
	done
	t=$(now)
	# an empty status (module not loaded) counts 0: $(( )) on "" kills sh
	while rx=$(cst bulk_rx_msgs); [ $((delivered + ${rx:-0})) -lt "$TOTAL" ]; do
		older_than "$t" 180 && break
		sleep 0.5
	done
	sleep 1
	life_end
	echo "RELOAD-DELIVERED: $delivered $seqerr $reloads"
	[ $reloads = "$CYCLES" ] && pass reloads || fail reloads "$reloads of $CYCLES"
	unload || fail unload "$(errtxt)"
fi
echo "TAINTED: $(cat /proc/sys/kernel/tainted)"
exit $failed
