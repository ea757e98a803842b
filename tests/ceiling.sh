#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# ceiling.sh [path/to/dlm_lowcomms.ko]: make bench row 4. Bulk one way,
# node 1 to node 2 of cluster.sh's topology (one veth between two
# namespaces), for each message size in BENCH_CEIL_SIZES ("64 256 1024
# 4000"), BENCH_ROUNDS (3) rounds, about BENCH_CEIL_BYTES (16 MiB) each:
#   ours: checked bulk messages of that size (DLM 3.2: sequence numbers,
#         resend copies and ACKs; the size counts every header), by the
#         receiver's first-to-last span (bulk_rx_span_ns)
#   one:  ours again with the sender limited to one page per sendmsg
#         (module parameter send_pages=1, as upstream sends), restored
#         afterwards
#   tcp:  plain TCP between the same namespaces, the same bytes in write()s
#         of that size (/extra/tcp_bulk, tests/tools/tcp_bulk.c), by the
#         reader's first-to-last byte: the ceiling
#   page: plain TCP as above, with 4096-byte writes
# One line per round and size:
#   INFO: ceiling: round=R size=S ours_mbps=X one_mbps=W tcp_mbps=Y
#         page_mbps=Z ours_ranges_per_call=P
# (MB/s, 10^6 bytes; P: page ranges per sendmsg, tx_ranges / tx_calls).
# The two of ours alternate which goes first from round to round.
# Cases (PASS/FAIL ceiling.<case>): load topology configure ours (every
# message arrived in sequence with a good checksum, both ways of
# sending) tcp (every byte arrived) teardown. Counts, not timing, decide
# PASS.

CLUSTER_LIB=1
. "$(dirname "$0")/cluster.sh"
TAG=ceiling
SIZES=${BENCH_CEIL_SIZES:-64 256 1024 4000}
BYTES=${BENCH_CEIL_BYTES:-16777216}
ROUNDS=${BENCH_ROUNDS:-3}
TOOL=${BENCH_CEIL_TOOL:-/extra/tcp_bulk}
TMO=${CLUSTER_BULK_TIMEOUT:-300}
OUT=${TMPDIR:-/tmp}/ceiling.$$
port=5000

for v in $SIZES "$BYTES" "$ROUNDS"; do
	case $v in
	'' | *[!0-9]* | 0) echo "FAIL: ceiling.params: sizes='$SIZES' bytes=$BYTES rounds=$ROUNDS: positive integers"; exit 1 ;;
	esac
done
for s in $SIZES; do
	[ "$s" -ge 64 ] && [ "$s" -le 4096 ] ||
		{ echo "FAIL: ceiling.params: size $s: 64..4096 (a 3.2 bulk message)"; exit 1; }
done

# mbps BYTES NS
mbps() { awk -v b="$1" -v n="$2" 'BEGIN { printf "%.1f", (n > 0) ? b * 1000 / n : 0 }'; }

# ours SIZE: sets $rate and $ppc (pages per sendmsg), or $bad
ours() {
	c0=$(cst 1 2 tx_calls)
	g0=$(cst 1 2 tx_ranges)
	n=$((BYTES / $1))
	wr "$CFG/c1/comms/2/reset" 1 && wr "$CFG/c2/comms/1/reset" 1 ||
		{ bad="$bad reset: $(errtxt)"; return 1; }
	wr "$CFG/c1/comms/2/bulk" "$n $1 1" "$TMO" ||
		{ bad="$bad size $1: bulk: $(errtxt)"; return 1; }
	t=$(now)
	until [ "$(cst 2 1 bulk_rx_msgs)" = "$n" ]; do
		older_than "$t" "$TMO" &&
			{ bad="$bad size $1: $(cst 2 1 bulk_rx_msgs) of $n after ${TMO}s"; return 1; }
		sleep 0.2
	done
	x=$(cst 2 1 bulk_rx_bad_csum)/$(cst 2 1 bulk_rx_seq_err)
	[ "$x" = 0/0 ] || { bad="$bad size $1: bad_csum/seq_err $x"; return 1; }
	rate=$(mbps $((n * $1)) "$(cst 2 1 bulk_rx_span_ns)")
	ppc=$(awk -v c=$(($(cst 1 2 tx_calls) - c0)) -v g=$(($(cst 1 2 tx_ranges) - g0)) \
		'BEGIN { printf "%.2f", (c > 0) ? g / c : 0 }')
}

# ours_pages N SIZE: ours with at most N pages per sendmsg; sets $rate
ours_pages() {
	pp=/sys/module/dlm_lowcomms/parameters/send_pages
	was=$(cat "$pp" 2>"$ERR") && echo "$1" >"$pp" 2>"$ERR" ||
		{ bad="$bad send_pages=$1: $(errtxt)"; return 1; }
	b0=$bad
	ours "$2"
	orc=$?
	[ "$bad" = "$b0" ] || bad="$b0 (send_pages=$1)${bad#"$b0"}"
	echo "$was" >"$pp" || { bad="$bad send_pages: not restored to $was"; return 1; }
	return $orc
}

# tcp WRITE: sets $rate, or $terr
tcp() {
	port=$((port + 1))
	in_ns n2 "$TOOL" recv 192.0.2.2 "$port" "$BYTES" >"$OUT.r" 2>&1 &
	rp=$!
	in_ns n1 "$TOOL" send 192.0.2.2 "$port" "$BYTES" "$1" >"$OUT.s" 2>&1
	sr=$?
	wait "$rp"
	rr=$?
	if [ $sr != 0 ] || [ $rr != 0 ]; then
		terr="$terr write $1: send $sr recv $rr: $(cat "$OUT.s" "$OUT.r" | tr '\n' ' ')"
		return 1
	fi
	# bytes=N timed_bytes=B span_ns=T: B arrived within the span
	rate=$(awk '{ b = $2; n = $3; sub(/.*=/, "", b); sub(/.*=/, "", n)
		printf "%.1f", (n > 0) ? b * 1000 / n : 0 }' "$OUT.r")
}

case_rounds() {
	[ -x "$TOOL" ] || { fail tcp "no $TOOL"; fail ours "not run (no $TOOL)"; return 1; }
	bad=
	terr=
	rnd=1	# not r: wr() sets r
	while [ "$rnd" -le "$ROUNDS" ]; do
		for s in $SIZES; do
			o=-
			o1=-
			pc=-
			if [ $((rnd % 2)) = 0 ]; then
				if ours_pages 1 "$s"; then o1=$rate; fi
			fi
			if ours "$s"; then o=$rate; pc=$ppc; fi
			if [ $((rnd % 2)) = 1 ]; then
				if ours_pages 1 "$s"; then o1=$rate; fi
			fi
			tc=-
			pg=-
			if tcp "$s"; then tc=$rate; fi
			if tcp 4096; then pg=$rate; fi
			info "ceiling: round=$rnd size=$s ours_mbps=$o one_mbps=$o1 tcp_mbps=$tc page_mbps=$pg ours_ranges_per_call=$pc"
		done
		rnd=$((rnd + 1))
	done
	[ -z "$bad" ] && pass ours || fail ours "$bad"
	[ -z "$terr" ] && pass tcp || fail tcp "$terr"
}

T0=$(now)
info "ceiling: module=${MOD:-none} sizes='$SIZES' bytes=$BYTES rounds=$ROUNDS kernel=$(uname -r)"
cluster_cases "ours tcp" case_rounds
info "ceiling: finished in $(elapsed "$T0")s, $failed failed"
rm -f "$ERR" "$OUT".*
exit $failed
