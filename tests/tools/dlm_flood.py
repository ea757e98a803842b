#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""dlm_flood.py - a DLM peer over plain TCP, well-behaved or hostile.

Used by tests/hostile.sh inside the UML guest (python3 comes from the build
machine's root over hostfs). Every mode is bounded in time and in count and
stops by itself.

  dlm_flood.py MODE --src ADDR --dst ADDR [--port 21064] --nodeid N [...]

Modes:
  flood      keep --inflight RCOM_STATUS requests in flight on one TCP
             connection; every --interval seconds print
             "FLOOD t=<boottime> n=<replies> rate=<replies/s>" until
             --duration passes or --stop-file appears; then FLOOD-SUMMARY.
             --slice S: a new connection every S seconds (the replies in
             flight are collected first: a clean close each time).
  garbage    connections that send random bytes
  short      a header with length 8 (< 16)
  long       a header with length 5000 (> 4096), then that many bytes
  badver     version 0x00020001 (2.1), otherwise a good RCOM_STATUS
  spoof      a good RCOM_STATUS carrying --spoof-nodeid as sender
  drip       good RCOM_STATUS requests, one byte per segment, --drip-ms
             apart; counts replies
  noread     --count requests (default 200000) as fast as the socket
             takes them (for at most --duration), never reading a reply;
             the socket stays open --hold seconds more, then closes with
             the replies unread
  halfclose  noread, then shutdown(SHUT_WR) once the requests are out
  conns      --conns (default 300) connections opened at once, one request
             on each, never read, all held until --duration passes, then
             closed
The repeating modes (garbage, short, long, badver, spoof) open a new
connection whenever the node closes the last one, until --duration.
Each hostile mode ends with one line
  "HOSTILE mode=<m> conns=<c> closed=<peer closed> sent=<bytes> replies=<r>
   secs=<s> <extra>"
The source address is bound (the node identifies peers by it).
"""

import argparse
import errno
import os
import random
import select
import socket
import struct
import sys
import time

V31 = 0x00030001
CMD_RCOM = 2
RCOM_STATUS = 1
RCOM_STATUS_REPLY = 5
HDR = struct.Struct("<IIIHBB")          # version lockspace nodeid length cmd pad
RCOM = struct.Struct("<iiQQQ")          # type result id seq seq_reply
REQ_LEN = HDR.size + RCOM.size + 8      # 56: a stock-sized RCOM_STATUS


def now():
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def rcom_status(nodeid, rid, version=V31, lockspace=0, length=REQ_LEN):
    return (HDR.pack(version, lockspace, nodeid, length, CMD_RCOM, 0) +
            RCOM.pack(RCOM_STATUS, 0, rid, 0, 0) + bytes(8))


class Parser:
    """Cuts the reply stream into messages; counts RCOM_STATUS_REPLYs."""

    def __init__(self):
        self.buf = b""
        self.replies = 0
        self.other = 0
        self.bad = 0

    def feed(self, data):
        self.buf += data
        got = 0
        while len(self.buf) >= HDR.size:
            ver, _ls, _nid, length, cmd, _pad = HDR.unpack_from(self.buf)
            if (ver >> 16) != 3 or length < HDR.size or length > 4096:
                self.bad += 1
                self.buf = b""
                break
            if len(self.buf) < length:
                break
            msg, self.buf = self.buf[:length], self.buf[length:]
            if (cmd == CMD_RCOM and length >= HDR.size + RCOM.size and
                    RCOM.unpack_from(msg, HDR.size)[0] == RCOM_STATUS_REPLY):
                got += 1
            else:
                self.other += 1
        self.replies += got
        return got


def connect(a, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.bind((a.src, 0))
    s.settimeout(timeout)
    s.connect((a.dst, a.port))
    s.setblocking(False)
    return s


def send_all(s, data, deadline):
    """Non-blocking write of data until done or deadline: bytes written."""
    done = 0
    while done < len(data) and now() < deadline:
        try:
            done += s.send(data[done:])
        except BlockingIOError:
            select.select([], [s], [], max(0.0, min(0.2, deadline - now())))
        except OSError:
            break
    return done


# --- flood: the healthy peer ---------------------------------------------------
def mode_flood(a):
    end = now() + a.duration
    rid = 1
    total = 0
    reconnects = 0
    topups = 0
    slices = 0
    t_conn = 0.0
    s = None
    p = Parser()
    inflight = 0
    t_int = now()
    n_int = 0
    last_reply = now()
    pend = b""
    while now() < end and not (a.stop_file and os.path.exists(a.stop_file)):
        if s is None:
            try:
                s = connect(a)
            except OSError as e:
                out("FLOOD-EVENT t=%.2f connect-failed %s" % (now(), e))
                time.sleep(0.2)
                reconnects += 1
                continue
            p = Parser()
            inflight = 0
            pend = b""
            t_conn = now()
            last_reply = now()
        if a.slice > 0 and now() - t_conn >= a.slice:
            # end of a slice: collect the replies in flight, close cleanly
            # (what is counted in flight must be on the wire first)
            lim = now() + 1.0
            if pend:
                send_all(s, pend, lim)
                pend = b""
            got = 0
            while got < inflight and now() < lim:
                r, _, _ = select.select([s], [], [], 0.1)
                if not r:
                    continue
                try:
                    data = s.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                got += p.feed(data)
            n_int += got
            total += got
            s.close()
            s = None
            slices += 1
            continue
        if inflight < a.inflight:
            # no reply for a while (dropped by the node?): fill up again
            k = a.inflight - inflight
            if inflight and now() - last_reply > 1.0:
                topups += 1
            if not inflight or now() - last_reply > 1.0:
                for _ in range(k):
                    pend += rcom_status(a.nodeid, rid)
                    rid += 1
                inflight = a.inflight
                last_reply = now()
        try:
            if pend:
                n = s.send(pend)
                pend = pend[n:]
        except BlockingIOError:
            pass
        except OSError as e:
            out("FLOOD-EVENT t=%.2f send-error %s" % (now(), e))
            s.close()
            s = None
            reconnects += 1
            continue
        tnext = t_int + a.interval
        r, _, _ = select.select([s], [s] if pend else [], [],
                                max(0.0, min(0.1, tnext - now())))
        if r:
            try:
                data = s.recv(65536)
            except BlockingIOError:
                data = None
            except OSError as e:
                out("FLOOD-EVENT t=%.2f recv-error %s" % (now(), e))
                data = b""
            if data == b"":
                out("FLOOD-EVENT t=%.2f closed-by-node" % now())
                s.close()
                s = None
                reconnects += 1
                continue
            if data:
                got = p.feed(data)
                if got:
                    last_reply = now()
                    inflight -= got
                    n_int += got
                    total += got
                    for _ in range(got):
                        pend += rcom_status(a.nodeid, rid)
                        rid += 1
                    inflight += got
        t = now()
        if t >= tnext:
            out("FLOOD t=%.2f n=%d total=%d rate=%.1f" %
                (t, n_int, total, n_int / (t - t_int)))
            t_int = t
            n_int = 0
    out("FLOOD-SUMMARY replies=%d secs=%.1f reconnects=%d slices=%d topups=%d "
        "bad=%d" % (total, a.duration, reconnects, slices, topups, p.bad))
    return 0


# --- hostile modes ---------------------------------------------------------------
def payload(a, mode, rid):
    nid = a.nodeid
    if mode == "garbage":
        # version word never 3.x, so the node rejects at the first 4 bytes
        b = bytearray(random.getrandbits(8) for _ in range(4096))
        b[2:4] = b"\xff\xff"
        return bytes(b)
    if mode == "short":
        return HDR.pack(V31, 0, nid, 8, CMD_RCOM, 0) + bytes(48)
    if mode == "long":
        return HDR.pack(V31, 0, nid, 5000, CMD_RCOM, 0) + bytes(4984)
    if mode == "badver":
        return rcom_status(nid, rid, version=0x00020001)
    if mode == "spoof":
        return rcom_status(a.spoof_nodeid, rid)
    raise ValueError(mode)


def drain_until_closed(s, deadline, p):
    """Read what the node sends until it closes (True) or deadline (False)."""
    while now() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, min(0.2, deadline - now())))
        if not r:
            continue
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            return True
        if not data:
            return True
        p.feed(data)
    return False


def mode_repeat(a):
    end = now() + a.duration
    start = now()
    conns = closed = sent = 0
    p = Parser()
    rid = 1
    while now() < end and conns < a.max_conns:
        try:
            s = connect(a, timeout=min(5.0, max(0.1, end - now())))
        except OSError:
            time.sleep(0.05)
            continue
        conns += 1
        data = payload(a, a.mode, rid)
        rid += 1
        sent += send_all(s, data, end)
        # the node must close a broken stream: wait up to 2 s for it (a
        # connection the end of the slice cuts short is not counted)
        limit = now() + 2.0
        if drain_until_closed(s, min(end, limit), p):
            closed += 1
        elif limit > end:
            conns -= 1
        s.close()
    out("HOSTILE mode=%s conns=%d closed=%d sent=%d replies=%d secs=%.1f" %
        (a.mode, conns, closed, sent, p.replies, now() - start))
    return 0


def mode_drip(a):
    end = now() + a.duration
    start = now()
    p = Parser()
    sent = conns = closed = 0
    rid = 1
    s = None
    while now() < end:
        if s is None:
            try:
                s = connect(a)
                conns += 1
            except OSError:
                time.sleep(0.1)
                continue
        msg = rcom_status(a.nodeid, rid)
        rid += 1
        for i in range(len(msg)):
            if now() >= end:
                break
            try:
                s.send(msg[i:i + 1])
                sent += 1
            except OSError:
                closed += 1
                s.close()
                s = None
                break
            time.sleep(a.drip_ms / 1000.0)
            r, _, _ = select.select([s], [], [], 0)
            if r:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    closed += 1
                    s.close()
                    s = None
                    break
                p.feed(data)
    if s is not None:
        drain_until_closed(s, now() + 0.5, p)
        s.close()
    out("HOSTILE mode=drip conns=%d closed=%d sent=%d replies=%d secs=%.1f" %
        (conns, closed, sent, p.replies, now() - start))
    return 0


def mode_noread(a):
    start = now()
    end = start + a.duration
    s = connect(a)
    chunk = b"".join(rcom_status(a.nodeid, i + 1) for i in range(256))
    sent = 0
    reqs = 0
    while reqs < a.count and now() < end:
        k = min(256, a.count - reqs)
        data = chunk if k == 256 else chunk[:k * REQ_LEN]
        n = send_all(s, data, end)
        sent += n
        reqs += n // REQ_LEN
        if n < len(data):
            break
    t_sent = now() - start
    if a.mode == "halfclose":
        s.shutdown(socket.SHUT_WR)
    # hold the connection, reading nothing, then close it with the
    # replies unread (the kernel answers that close with a RST)
    hold = min(end, now() + a.hold)
    while now() < hold:
        time.sleep(min(0.2, max(0.0, hold - now())))
    s.close()
    out("HOSTILE mode=%s conns=1 closed=0 sent=%d requests=%d replies=0 "
        "secs=%.1f write_secs=%.1f" % (a.mode, sent, reqs, now() - start, t_sent))
    return 0


def mode_conns(a):
    end = now() + a.duration
    start = now()
    socks = []
    fails = 0
    for _ in range(a.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        try:
            s.bind((a.src, 0))
            e = s.connect_ex((a.dst, a.port))
        except OSError as ex:
            e = ex.errno
        if e not in (0, errno.EINPROGRESS):
            fails += 1
            s.close()
            continue
        socks.append(s)
    # wait for the connects, then one request on each
    pending = set(socks)
    up = []
    while pending and now() < end:
        _, w, _ = select.select([], list(pending), [], 0.2)
        for s in w:
            pending.discard(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                up.append(s)
            else:
                fails += 1
    sent = 0
    for i, s in enumerate(up):
        try:
            sent += s.send(rcom_status(a.nodeid, i + 1))
        except OSError:
            pass
    # hold them all, reading nothing
    while now() < end:
        time.sleep(min(0.2, max(0.0, end - now())))
    closed = 0
    for s in up:
        try:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                closed += 1
        except OSError:
            closed += 1
    for s in socks:
        s.close()
    out("HOSTILE mode=conns conns=%d closed=%d sent=%d replies=%d secs=%.1f "
        "connect_fail=%d" % (len(up), closed, sent, 0, now() - start, fails))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["flood", "garbage", "short", "long",
                                     "badver", "spoof", "drip", "noread",
                                     "halfclose", "conns"])
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, default=21064)
    ap.add_argument("--nodeid", type=int, required=True)
    ap.add_argument("--spoof-nodeid", type=int, default=3)
    ap.add_argument("--duration", type=float, default=4.0)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--inflight", type=int, default=8)
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--conns", type=int, default=300)
    ap.add_argument("--max-conns", type=int, default=1000)
    ap.add_argument("--drip-ms", type=float, default=5.0)
    ap.add_argument("--hold", type=float, default=4.0)
    ap.add_argument("--slice", type=float, default=0.0)
    ap.add_argument("--stop-file", default="")
    a = ap.parse_args()
    # hard bounds, whatever the caller asks
    a.duration = min(a.duration, 600.0)
    a.count = min(a.count, 1000000)
    a.conns = min(a.conns, 1000)
    a.inflight = max(1, min(a.inflight, 1024))
    if a.mode == "flood":
        return mode_flood(a)
    if a.mode == "drip":
        return mode_drip(a)
    if a.mode in ("noread", "halfclose"):
        return mode_noread(a)
    if a.mode == "conns":
        return mode_conns(a)
    return mode_repeat(a)


if __name__ == "__main__":
    sys.exit(main())
