#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# interop.sh <6.12|6.1>
#
# Interoperability of dlm_lowcomms with the stock dlm.ko of the same Debian
# kernel, in one QEMU (TCG) guest, plus a Wireshark check of our traffic:
#   1. installs what it needs (scripts/deps.sh: tcpdump, tshark, qemu, ...)
#   2. builds tests/tools/dlm_ls_create.c with gcc -static
#   3. runs tests/interop.sh in the guest through scripts/qemu-run.sh with
#      dlm.ko (+ deps) from the kernel image, tcpdump and the helper
#   4. takes the pcap the guest printed as base64 between PCAP-BEGIN and
#      PCAP-END, checks size and md5, and decodes it with tshark's DLM3
#      dissector: PASS: interop.wire-decode only if DLM3 PDUs go both ways,
#      every PDU has version 3.x and a sane length, the PDU lengths add up
#      to the TCP payload of each direction, our ping request, the stock
#      reply and our DLM_MSG bulk are all there, and tshark reports no
#      malformed packet and no DLM3 expert warning/error.
# Prints every PASS:/FAIL:/INFO: line; exit status non-zero on any FAIL.
# Files in ${DLM_LC_OUT:-/tmp/dlm_lc_out}/interop-<ver>/ (console log in
# ${DLM_LC_OUT}/interop-<ver>.log).
set -uo pipefail

ver=${1:?usage: interop.sh <6.12|6.1>}
case "$ver" in 6.12|6.1) ;; *) echo "usage: interop.sh <6.12|6.1>" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${DLM_LC_OUT:-/tmp/dlm_lc_out}
name=interop-$ver
work=$out/$name
log=$out/$name.log
mkdir -p "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# 1. packages
if ! "$here/deps.sh" >"$work/deps.log" 2>&1; then
	echo "FAIL: interop.deps: scripts/deps.sh failed:"
	tail -n 20 "$work/deps.log" | sed 's/^/  /'
	exit 1
fi
for c in gcc tcpdump tshark qemu-system-x86_64 base64 md5sum python3; do
	command -v "$c" >/dev/null || { echo "FAIL: interop.deps: $c missing"; exit 1; }
done

# 2. helper
helper=$work/dlm_ls_create
if ! gcc -static -O2 -Wall -Wextra -o "$helper" "$repo/tests/tools/dlm_ls_create.c" \
	>"$work/helper-build.log" 2>&1; then
	echo "FAIL: interop.helper-build:"
	sed 's/^/  /' "$work/helper-build.log" | head -n 20
	exit 1
fi

# 3. guest
QEMU_NAME=$name QEMU_MODULES="dlm ${QEMU_MODULES:-}" \
	QEMU_BINS="$(command -v tcpdump) ${QEMU_BINS:-}" \
	QEMU_FILES="$helper ${QEMU_FILES:-}" \
	"$here/qemu-run.sh" "$ver" "$repo/tests/interop.sh"
qrc=$?
[ $qrc -eq 0 ] || fails=$((fails + 1))

# 4. pcap -> tshark
pcap=$work/interop.pcap
rm -f "$pcap" "$work"/tshark.*
hdr=$(grep -a '^PCAP-BEGIN interop ' "$log" 2>/dev/null | tail -n1)
if [ -z "$hdr" ]; then
	fail "interop.wire-decode: the guest printed no pcap (see $log)"
else
	read -r _ _ want_sz want_md5 <<<"$hdr"
	# only base64 lines between the markers (kernel lines would not match)
	awk '/^PCAP-BEGIN interop /{on=1; next} /^PCAP-END interop/{on=0} on' "$log" |
		grep -aE '^[A-Za-z0-9+/=]+$' | base64 -d >"$pcap" 2>"$work/base64.err"
	got_sz=$(stat -c %s "$pcap")
	got_md5=$(md5sum "$pcap" | cut -d' ' -f1)
	if [ "$got_sz" != "$want_sz" ] || [ "$got_md5" != "$want_md5" ]; then
		fail "interop.wire-decode: pcap damaged on the console: $got_sz bytes md5 $got_md5, guest said $want_sz $want_md5"
	else
		echo "INFO: $name: pcap $pcap ($got_sz bytes, md5 ok)"
		tshark -r "$pcap" -2 -d tcp.port==21064,dlm3 -T fields \
			-e dlm3.h.version -e dlm3.h.nodeid -e dlm3.h.length -e dlm3.h.cmd \
			>"$work/tshark.basic" 2>"$work/tshark.err"
		tshark -r "$pcap" -2 -d tcp.port==21064,dlm3 -T fields \
			-E separator='	' -E occurrence=a -E aggregator='|' \
			-e frame.number -e ip.src -e ip.dst -e tcp.stream -e tcp.len \
			-e tcp.reassembled_in -e dlm3.h.version -e dlm3.h.major_version \
			-e dlm3.h.minor_version -e dlm3.h.nodeid -e dlm3.h.length \
			-e dlm3.h.cmd -e dlm3.rc.type -e dlm3.rc.result -e dlm3.m.type \
			-e _ws.malformed -e _ws.expert.severity -e _ws.expert.message \
			-e _ws.expert.group -e frame.protocols \
			>"$work/tshark.fields" 2>>"$work/tshark.err"
		tshark -r "$pcap" -2 -d tcp.port==21064,dlm3 -q -z expert \
			>"$work/tshark.expert" 2>>"$work/tshark.err"
		tshark -r "$pcap" -2 -d tcp.port==21064,dlm3 -V \
			>"$work/tshark.verbose" 2>>"$work/tshark.err"
		echo "INFO: $name: tshark $(tshark -v | head -n1 | awk '{print $3}'): version nodeid length cmd (first lines of $work/tshark.basic):"
		grep -v '^[[:space:]]*$' "$work/tshark.basic" | sort | uniq -c | sort -rn | head -n 12 |
			sed "s/^/INFO: $name:   /"
		python3 - "$work/tshark.fields" "$work/tshark.expert" "$work/tshark.err" <<'PY'
import sys
fields, expert, errf = sys.argv[1:4]
bad = []
pdus = []              # (src, dst, ver, major, minor, nodeid, length, cmd)
tcp_bytes = {}         # (stream, src) -> payload bytes
pdu_bytes = {}         # (stream, src) -> sum of top-level PDU lengths
rc = []                # (src, type, result)
msgs = 0
malformed = 0
dlm_expert = []

def split(v):
    return [x for x in v.split('|')] if v else []

for line in open(fields):
    f = line.rstrip('\n').split('\t')
    f += [''] * (20 - len(f))
    (num, src, dst, stream, tlen, reas, ver, maj, mnr, nid, ln, cmd,
     rct, rcr, mt, mal, sev, emsg, egrp, protos) = f[:20]
    key = (stream, src)
    tcp_bytes[key] = tcp_bytes.get(key, 0) + int(tlen or 0)
    if mal:
        malformed += 1
        bad.append('frame %s malformed' % num)
    if 'dlm3' in protos.split(':') and (sev or emsg):
        for s, m in zip(split(sev), split(emsg)):
            dlm_expert.append('frame %s: %s (severity %s)' % (num, m, s))
    if not ln:
        continue
    vers, majs, mnrs, nids, lns, cmds = map(split, (ver, maj, mnr, nid, ln, cmd))
    n = len(lns)
    if not (len(vers) == len(majs) == len(nids) == len(cmds) == n):
        bad.append('frame %s: field counts differ %s' % (num, (len(vers), len(nids), n, len(cmds))))
        continue
    skip_inner = 0
    for i in range(n):
        l, c = int(lns[i]), int(cmds[i])
        inner = skip_inner > 0
        if inner:
            skip_inner -= 1
        pdus.append((src, dst, vers[i], int(majs[i]), int(mnrs[i] or 0), int(nids[i]), l, c, inner))
        if int(majs[i]) != 3:
            bad.append('frame %s: version %s' % (num, vers[i]))
        if l < 16 or l > 4096:
            bad.append('frame %s: length %d out of 16..4096' % (num, l))
        if not inner:
            pdu_bytes[key] = pdu_bytes.get(key, 0) + l
        if c == 3:
            skip_inner = 1     # OPTS wraps one inner message with its own header
        if c == 1 and not inner:
            msgs += 1
    for t, r in zip(split(rct), split(rcr)):
        rc.append((src, int(t), int(r)))

for key, b in sorted(tcp_bytes.items()):
    p = pdu_bytes.get(key, 0)
    print('INFO: wire: stream %s from %s: %d TCP payload bytes, %d in DLM3 PDUs' % (key[0], key[1], b, p))
    if b != p:
        bad.append('stream %s from %s: TCP payload %d != sum of DLM3 lengths %d' % (key[0], key[1], b, p))

dirs = {(p[0], p[1]) for p in pdus}
print('INFO: wire: %d DLM3 PDUs, directions: %s' % (len(pdus), ' '.join('%s->%s' % d for d in sorted(dirs))))
vs = {}
for p in pdus:
    k = '%s->%s %s cmd=%d%s' % (p[0], p[1], p[2], p[7], ' (inner)' if p[8] else '')
    vs[k] = vs.get(k, 0) + 1
for k in sorted(vs):
    print('INFO: wire:   %5d x %s' % (vs[k], k))
if ('192.0.2.1', '192.0.2.2') not in dirs or ('192.0.2.2', '192.0.2.1') not in dirs:
    bad.append('no DLM3 PDUs in both directions between node 1 and the stock node 2')
req = [r for r in rc if r[0] == '192.0.2.1' and r[1] == 1]
rep = [r for r in rc if r[0] == '192.0.2.2' and r[1] == 5]
print('INFO: wire: RCOM_STATUS requests from node 1: %d; RCOM_STATUS_REPLY from stock node 2: %d, results %s'
      % (len(req), len(rep), sorted({r[2] for r in rep})))
if not req:
    bad.append('no RCOM_STATUS (type 1) from our node 1')
if not rep:
    bad.append('no RCOM_STATUS_REPLY (type 5) from the stock node')
if msgs == 0:
    bad.append('no DLM_MSG (cmd 1) PDUs (our bulk)')
else:
    print('INFO: wire: %d DLM_MSG PDUs (bulk between our nodes 1 and 3)' % msgs)
if malformed:
    print('INFO: wire: %d malformed frames' % malformed)
for e in dlm_expert:
    print('INFO: wire: expert: ' + e)
# severity is reported as a number: 0x00600000 warn, 0x00800000 error
for line in open(expert):
    s = line.strip()
    if s:
        print('INFO: wire: -z expert: ' + s)
txt = open(expert).read()
for sect in ('Errors', 'Warnings'):
    for block in txt.split('\n\n'):
        if block.lstrip().startswith(sect) and ('dlm3' in block.lower() or 'malformed' in block.lower()):
            bad.append('tshark %s in DLM3: %s' % (sect.lower(), ' / '.join(block.strip().splitlines()[1:6])))
if 'Malformed' in txt:
    bad.append('tshark -z expert reports Malformed')
err = open(errf).read().strip()
if err:
    bad.append('tshark stderr: ' + err.replace('\n', ' ')[:300])
if bad:
    print('FAIL: interop.wire-decode: ' + '; '.join(bad[:12]) + (' (+%d more)' % (len(bad) - 12) if len(bad) > 12 else ''))
    sys.exit(1)
print('PASS: interop.wire-decode')
PY
		[ $? -eq 0 ] || fails=$((fails + 1))
	fi
fi

echo "INFO: $name: console $log, capture and tshark output in $work"
if [ $fails -eq 0 ]; then
	echo "INFO: $name: all passed"
	exit 0
fi
echo "INFO: $name: $fails failure(s)"
exit 1
