#!/usr/bin/env python3
"""Summarise gremlins JSON reports: the score per package (killed / (killed + lived)) and every
survivor, each marked explained when docs/mutation.md has a row for it (same file, column,
mutator and source line text: line numbers move, the code they point at rarely does).

Usage: gremlins_report.py DOC.md ROOT/PKG=REPORT.json...   (exit 1 if a survivor is unexplained)
"""
import json
import os
import re
import sys
from collections import OrderedDict


def explained_rows(doc):
    """(file, column, mutator, code) of every survivor row of the doc's tables."""
    rows = set()
    if not os.path.exists(doc):
        return rows
    for line in open(doc, encoding='utf-8'):
        cells = [c.strip() for c in re.split(r'(?<!\\)\|', line.strip().strip('|'))]
        if len(cells) < 4 or not re.match(r'^`?[\w/.]+\.go:\d+(:\d+)?`?$', cells[0]):
            continue
        where = cells[0].strip('`')
        code = cells[2].strip('`').replace('\\|', '|')
        parts = where.split(':')
        rows.add((parts[0], parts[-1], cells[1].strip('`'), code))
    return rows


def main():
    doc, reports = sys.argv[1], sys.argv[2:]
    known = explained_rows(doc)
    unexplained = 0
    totals = OrderedDict()
    for arg in reports:
        pkg, path = arg.split('=', 1)
        if not os.path.exists(path):
            print('  %s: no report (%s)' % (pkg, path))
            unexplained += 1
            continue
        d = json.load(open(path))
        for f in d['files']:
            rel = os.path.join(pkg, f['file_name'])
            sub = os.path.dirname(rel)
            t = totals.setdefault(sub, {'KILLED': 0, 'LIVED': 0, 'TIMED OUT': 0, 'NOT COVERED': 0, 'NOT VIABLE': 0, 'lived': []})
            src = open(rel, encoding='utf-8').read().split('\n') if os.path.exists(rel) else []
            for m in f['mutations']:
                st = m['status']
                t[st] = t.get(st, 0) + 1
                if st == 'LIVED':
                    code = src[m['line'] - 1].strip() if m['line'] <= len(src) else '?'
                    t['lived'].append((rel, m, code))
    allk = alll = 0
    print('%-28s %7s %6s %9s %11s %9s' % ('package', 'killed', 'lived', 'timed out', 'not covered', 'efficacy'))
    for sub, t in totals.items():
        k, l = t['KILLED'], t['LIVED']
        allk, alll = allk + k, alll + l
        eff = 100.0 * k / (k + l) if k + l else 100.0
        print('%-28s %7d %6d %9d %11d %8.1f%%' % (sub, k, l, t['TIMED OUT'], t['NOT COVERED'], eff))
    if allk + alll:
        print('%-28s %7d %6d %9s %11s %8.1f%%' % ('all', allk, alll, '', '', 100.0 * allk / (allk + alll)))
    for sub, t in totals.items():
        for rel, m, code in t['lived']:
            ok = (rel, str(m['column']), m['type'], code) in known
            unexplained += 0 if ok else 1
            print('  %-9s %s:%d:%d %s  %s' % ('explained' if ok else 'NEW', rel, m['line'], m['column'], m['type'], code))
    if unexplained:
        print('%d survivor(s) not explained in %s: add a test that kills each, or a row saying why it is acceptable' % (unexplained, doc))
    return 1 if unexplained else 0


if __name__ == '__main__':
    sys.exit(main())
