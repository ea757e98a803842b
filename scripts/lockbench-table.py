#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Lock round trips, stock dlm.ko against our drop-in (tests/lockbench.sh).

usage: lockbench-table.py VER ROUNDS NODES CSV < the guests' output

Every (dlm.ko, round 1..ROUNDS, phase) must have one line from each node
1..NODES, else a FAIL line and exit 1. Per round: cycles/s summed over the
nodes that cycled, CPU per cycle = all guests' busy time over the phase /
all cycles. Per phase: the median of each dlm.ko over the rounds, and the
median over the rounds of the ratio ours/stock within the round (each
round ran both dlm.ko back to back, so this cancels drift between rounds).
Writes every round to CSV.
"""
import csv
import re
import statistics
import sys

ver, want_rounds, want_nodes, csv_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
KEYS = ('node', 'active', 'cycles', 'secs', 'per_s', 'p50_us', 'p99_us', 'max_us', 'cpu_ms')
pat = re.compile(r'^INFO: lockbench: dlm (stock|ours) round (\d+) phase (pair|all) (.*)$')
runs, bad = {}, []
for line in sys.stdin:
    m = pat.match(line.strip())
    if not m:
        continue
    kv = m.group(4).split()
    try:
        f = {kv[i]: float(kv[i + 1]) for i in range(0, len(kv) - 1, 2)}
        if any(k not in f for k in KEYS):
            raise ValueError('fields missing')
    except ValueError as e:
        bad.append('unreadable line (%s): %s' % (e, line.strip()[:120]))
        continue
    runs.setdefault((m.group(1), int(m.group(2)), m.group(3)), {})[int(f['node'])] = f

rows = {}
for dlm in ('stock', 'ours'):
    for rnd in range(1, want_rounds + 1):
        for phase in ('pair', 'all'):
            nodes = runs.get((dlm, rnd, phase), {})
            if sorted(nodes) != list(range(1, want_nodes + 1)):
                bad.append('%s round %d %s: lines from nodes %s' % (dlm, rnd, phase, sorted(nodes) or 'none'))
                continue
            act = [n for n in nodes.values() if n['active']]
            cycles = sum(n['cycles'] for n in act)
            want_act = want_nodes if phase == 'all' else 1
            if len(act) != want_act or not cycles or any(n['cpu_ms'] < 0 for n in nodes.values()):
                bad.append('%s round %d %s: %d node(s) cycled, %d cycles' % (dlm, rnd, phase, len(act), cycles))
                continue
            rows[(dlm, rnd, phase)] = {
                'kernel': ver, 'dlm': dlm, 'round': rnd, 'phase': phase,
                'cycles_per_s': sum(n['per_s'] for n in act),
                'cpu_us_per_cycle': 1000.0 * sum(n['cpu_ms'] for n in nodes.values()) / cycles,
                'node1_p50_us': nodes[1]['p50_us'], 'node1_p99_us': nodes[1]['p99_us'],
                'node1_max_us': nodes[1]['max_us']}

with open(csv_path, 'w', newline='') as fh:
    fields = ['kernel', 'dlm', 'round', 'phase', 'cycles_per_s', 'cpu_us_per_cycle',
              'node1_p50_us', 'node1_p99_us', 'node1_max_us']
    w = csv.DictWriter(fh, fieldnames=fields)
    w.writeheader()
    for k in sorted(rows):
        w.writerow({f: round(v, 1) if isinstance(v, float) else v for f, v in rows[k].items()})

def med(dlm, phase, key):
    return statistics.median(r[key] for r in rows.values() if r['dlm'] == dlm and r['phase'] == phase)

def paired(phase, key):
    ratios = [rows[('ours', r, phase)][key] / rows[('stock', r, phase)][key]
              for r in range(1, want_rounds + 1)
              if ('ours', r, phase) in rows and ('stock', r, phase) in rows
              and rows[('stock', r, phase)][key] > 0]
    return statistics.median(ratios) if ratios else float('nan')

if not bad:
    print('INFO: lock-bench %s: a cycle is a PR lock, a convert to EX and an unlock on a resource the other node masters (3 requests to it); %d rounds, medians; ratios are medians of the per-round ratios' % (ver, want_rounds))
    print('INFO: lock-bench %s: phase | stock cycles/s | ours cycles/s | ours/stock | CPU us/cycle stock | ours | ours/stock | node 1 p50 us stock | ours | ours/stock | node 1 p99 us stock | ours | ours/stock' % ver)
    for phase in ('pair', 'all'):
        print('INFO: lock-bench %s: %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f'
              % (ver, phase, med('stock', phase, 'cycles_per_s'), med('ours', phase, 'cycles_per_s'),
                 paired(phase, 'cycles_per_s'),
                 med('stock', phase, 'cpu_us_per_cycle'), med('ours', phase, 'cpu_us_per_cycle'),
                 paired(phase, 'cpu_us_per_cycle'),
                 med('stock', phase, 'node1_p50_us'), med('ours', phase, 'node1_p50_us'),
                 paired(phase, 'node1_p50_us'),
                 med('stock', phase, 'node1_p99_us'), med('ours', phase, 'node1_p99_us'),
                 paired(phase, 'node1_p99_us')))
        for dlm in ('stock', 'ours'):
            per = ['%.0f' % rows[(dlm, r, phase)]['cycles_per_s'] for r in range(1, want_rounds + 1)]
            print('INFO: lock-bench %s:   %s %s rounds: %s cycles/s' % (ver, phase, dlm, ', '.join(per)))
    print('INFO: lock-bench %s: every round in %s' % (ver, csv_path))
if bad:
    print('FAIL: lock-bench.%s: %s' % (ver, '; '.join(bad[:8])))
    sys.exit(1)
print('PASS: lock-bench.%s (%d rounds of both dlm.ko, %d nodes)' % (ver, want_rounds, want_nodes))
