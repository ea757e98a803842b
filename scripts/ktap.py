#!/usr/bin/env python3
"""Turn KUnit's KTAP output in a (UML console) log into PASS:/FAIL: lines.

usage: ktap.py <console.log> [prefix]     (prefix default: "kunit")

One line per test case: "PASS: kunit.<suite>.<case>" or
"FAIL: kunit.<suite>.<case>: <reason>".  A parameterised case gives one line
for the case as a whole (it fails if any parameter fails; the failing
parameters are named in the reason).  Skipped cases print PASS and a note on
stderr.  Suite-level problems (suite init failed, results missing because the
kernel died mid-suite) give "FAIL: kunit.<suite>: <reason>"; no suite at all
gives "FAIL: kunit-missing".  Exit status 1 if any FAIL line was printed.
"""
import re
import sys

TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')            # printk time stamp
SUBTEST = re.compile(r'^( *)# Subtest: (\S+)')
PLAN = re.compile(r'^( *)1\.\.(\d+)\s*$')
RESULT = re.compile(r'^( *)(ok|not ok) (\d+)(?: (?:- )?([^#]*?))?\s*(?:#\s*(.*))?$')


def parse(lines):
    """Return list of suites: dict(name, plan, result, cases=[...])."""
    suites = []
    names = {}          # indent -> name of the subtest declared at that indent
    plans = {}          # indent -> plan count
    cur = None          # current suite (declared at indent 4)
    case_params = {}    # case name -> list of (ok, param name)
    for raw in lines:
        line = TS.sub('', raw.rstrip('\r\n'))
        m = SUBTEST.match(line)
        if m:
            ind = len(m.group(1))
            names = {k: v for k, v in names.items() if k < ind}
            names[ind] = m.group(2)
            if ind == 4:
                cur = dict(name=m.group(2), plan=None, result=None,
                           directive='', cases=[])
                suites.append(cur)
                case_params = {}
            continue
        m = PLAN.match(line)
        if m:
            ind = len(m.group(1))
            if ind == 4 and cur is not None and cur['plan'] is None:
                cur['plan'] = int(m.group(2))
            continue
        m = RESULT.match(line)
        if not m:
            continue
        ind = len(m.group(1))
        ok = m.group(2) == 'ok'
        name = (m.group(4) or '').strip()
        directive = (m.group(5) or '').strip()
        if ind == 0:
            # Top-level result: ends the suite of that name.
            for s in reversed(suites):
                if s['name'] == name and s['result'] is None:
                    s['result'] = ok
                    s['directive'] = directive
                    break
        elif ind == 4 and cur is not None:
            cur['cases'].append(dict(name=name, ok=ok, directive=directive,
                                     params=case_params.pop(name, [])))
        elif ind == 8 and cur is not None and 8 in names:
            case_params.setdefault(names[8], []).append((ok, name, directive))
    return suites


def is_skip(directive):
    return directive.upper().startswith('SKIP')


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    prefix = sys.argv[2] if len(sys.argv) > 2 else 'kunit'
    with open(sys.argv[1], errors='replace') as f:
        suites = parse(f)
    out = []
    for s in suites:
        base = f"{prefix}.{s['name']}"
        for c in s['cases']:
            name = f"{base}.{c['name']}"
            if c['ok']:
                out.append(f"PASS: {name}")
                if is_skip(c['directive']):
                    print(f"ktap: {name} skipped: {c['directive']}",
                          file=sys.stderr)
            else:
                bad = [p for ok, p, _ in c['params'] if not ok]
                why = f"params {', '.join(bad)} failed" if bad else "failed"
                out.append(f"FAIL: {name}: {why}")
        got = len(s['cases'])
        if s['result'] is None:
            out.append(f"FAIL: {base}: no suite result, {got} of "
                       f"{s['plan']} case results seen (kernel died?)")
        elif s['plan'] is not None and got < s['plan'] and not is_skip(s['directive']):
            out.append(f"FAIL: {base}: {got} of {s['plan']} case results seen")
        elif not s['result'] and all(c['ok'] for c in s['cases']):
            out.append(f"FAIL: {base}: suite failed ({s['directive'] or 'init/exit?'})")
        elif s['result'] and is_skip(s['directive']) and not s['cases']:
            print(f"ktap: suite {base} skipped: {s['directive']}", file=sys.stderr)
    if not suites:
        out.append(f"FAIL: {prefix}-missing: no KUnit suite in {sys.argv[1]}")
    for l in out:
        print(l)
    return 1 if any(l.startswith('FAIL:') for l in out) else 0


if __name__ == '__main__':
    sys.exit(main())
