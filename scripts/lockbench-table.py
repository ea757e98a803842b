#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Lock round trips, stock dlm.ko against our drop-in (tests/lockbench.sh).

usage: lockbench-table.py VER CSV < the guests' output

Sums each phase's cycles over the nodes that ran them, per round and
dlm.ko; CPU per cycle is both guests' busy time over the phase divided
by all cycles. Prints one table row per phase with the median over the
rounds of each dlm.ko and the ratio ours/stock, writes every round to
CSV, and exits 1 (with a FAIL line) if a round is missing or empty.
"""
import csv
import re
import statistics
import sys

ver, csv_path = sys.argv[1], sys.argv[2]
pat = re.compile(r'^INFO: lockbench: dlm (\w+) round (\d+) phase (\w+) (.*)$')
runs = {}
for line in sys.stdin:
    m = pat.match(line.strip())
    if not m:
        continue
    kv = m.group(4).split()
    f = {kv[i]: float(kv[i + 1]) for i in range(0, len(kv) - 1, 2)}
    runs.setdefault((m.group(1), int(m.group(2)), m.group(3)), []).append(f)

rows, bad = [], []
for (dlm, rnd, phase), nodes in sorted(runs.items()):
    act = [n for n in nodes if n['active']]
    cycles = sum(n['cycles'] for n in act)
    if len(nodes) < 2 or not cycles or any(n['cpu_ms'] < 0 for n in nodes):
        bad.append('%s round %d %s: %d node line(s), %d cycles' % (dlm, rnd, phase, len(nodes), cycles))
        continue
    n1 = [n for n in nodes if n['node'] == 1][0]
    rows.append({'kernel': ver, 'dlm': dlm, 'round': rnd, 'phase': phase,
                 'cycles_per_s': sum(n['per_s'] for n in act),
                 'cpu_us_per_cycle': 1000.0 * sum(n['cpu_ms'] for n in nodes) / cycles,
                 'node1_p50_us': n1['p50_us'], 'node1_p99_us': n1['p99_us'],
                 'node1_max_us': n1['max_us']})

with open(csv_path, 'w', newline='') as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()) if rows else ['kernel'])
    w.writeheader()
    w.writerows(rows)

def med(dlm, phase, key):
    v = [r[key] for r in rows if r['dlm'] == dlm and r['phase'] == phase]
    return statistics.median(v) if v else None

print('INFO: lock-bench %s: a cycle is a PR lock, a convert to EX and an unlock on a resource the other node masters (3 round trips); medians of the rounds' % ver)
print('INFO: lock-bench %s: phase | stock cycles/s | ours cycles/s | ours/stock | CPU us/cycle stock | ours | ours/stock | node 1 p50 us stock | ours | p99 us stock | ours' % ver)
for phase in ('pair', 'all'):
    s, o = med('stock', phase, 'cycles_per_s'), med('ours', phase, 'cycles_per_s')
    sc, oc = med('stock', phase, 'cpu_us_per_cycle'), med('ours', phase, 'cpu_us_per_cycle')
    if None in (s, o, sc, oc):
        bad.append('%s: no rounds for one dlm.ko' % phase)
        continue
    print('INFO: lock-bench %s: %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f | %.0f'
          % (ver, phase, s, o, o / s, sc, oc, oc / sc,
             med('stock', phase, 'node1_p50_us'), med('ours', phase, 'node1_p50_us'),
             med('stock', phase, 'node1_p99_us'), med('ours', phase, 'node1_p99_us')))
    for dlm in ('stock', 'ours'):
        per = ['%.0f' % r['cycles_per_s'] for r in rows if r['dlm'] == dlm and r['phase'] == phase]
        print('INFO: lock-bench %s:   %s %s rounds: %s cycles/s' % (ver, phase, dlm, ', '.join(per)))
print('INFO: lock-bench %s: every round in %s' % (ver, csv_path))
if bad:
    print('FAIL: lock-bench.%s: %s' % (ver, '; '.join(bad)))
    sys.exit(1)
print('PASS: lock-bench.%s (%d rounds)' % (ver, len(rows)))
