#!/usr/bin/env python3
"""Re-apply the LIVED mutants of a gremlins JSON report one at a time, the way gremlins does
(one token replaced at line:column, in a copy of the tree), and run the mutated package's
tests: says which a new test now kills, in minutes instead of a whole gremlins run. Only valid
while the product code is the one the report was made on (the positions must still match).
Usage: gremlins_recheck.py build/mutate/gremlins-gopresence.json gopresence [FILTER]
With RECHECK_OUT=FILE, also writes the report with the killed ones marked KILLED (for
gremlins_report.py), the rest as they were."""
import json, os, re, shutil, subprocess, sys, tempfile

top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

REPL = {
    'CONDITIONALS_BOUNDARY': {'>=': '>', '>': '>=', '<=': '<', '<': '<='},
    'CONDITIONALS_NEGATION': {'==': '!=', '!=': '==', '>=': '<', '>': '<=', '<=': '>', '<': '>='},
    'ARITHMETIC_BASE': {'+': '-', '-': '+', '*': '/', '/': '*', '%': '*'},
    'INCREMENT_DECREMENT': {'++': '--', '--': '++'},
    'INVERT_NEGATIVES': {'-': '+'},
    'INVERT_LOGICAL': {'&&': '||', '||': '&&'},
}


def token_at(line, col):
    s = line[col - 1:]
    for t in ('>=', '<=', '==', '!=', '++', '--', '&&', '||', '>', '<', '+', '-', '*', '/', '%'):
        if s.startswith(t):
            return t
    raise SystemExit('no operator at column %d of %r' % (col, line))


def main():
    report, pkgdir = sys.argv[1], sys.argv[2].rstrip('/')
    flt = sys.argv[3] if len(sys.argv) > 3 else ''
    d = json.load(open(report))
    work = tempfile.mkdtemp(prefix='recheck-')
    for x in ('go.mod', 'go.sum'):
        shutil.copy(os.path.join(top, x), work)
    for x in ('gopresence', 'db', 'internal', 'cgo', 'module', 'tests'):
        if os.path.isdir(os.path.join(top, x)):
            shutil.copytree(os.path.join(top, x), os.path.join(work, x))
    env = dict(os.environ, GOFLAGS='-count=1')
    killed = lived = 0
    for f in d['files']:
        for m in f['mutations']:
            if m['status'] != 'LIVED':
                continue
            rel = os.path.join(pkgdir, f['file_name'])
            where = '%s:%d:%d' % (rel, m['line'], m['column'])
            if not re.search(flt, where):
                continue
            path = os.path.join(work, rel)
            orig = open(path).read()
            lines = orig.split('\n')
            ln = lines[m['line'] - 1]
            tok = token_at(ln, m['column'])
            new = REPL[m['type']][tok]
            c = m['column'] - 1
            lines[m['line'] - 1] = ln[:c] + new + ln[c + len(tok):]
            open(path, 'w').write('\n'.join(lines))
            try:
                r = subprocess.run(['go', 'test', '-tags', 'libsqlite3', '-failfast', './' + os.path.dirname(rel)],
                                   cwd=work, env=env, capture_output=True, timeout=300)
                ok = r.returncode == 0
                if b'build failed' in r.stdout + r.stderr:
                    m['status'] = 'NOT VIABLE'
                    print('NOT VIABLE %s' % where, flush=True)
                    continue
            except subprocess.TimeoutExpired:
                ok = False
            finally:
                open(path, 'w').write(orig)
            if ok:
                lived += 1
                print('LIVED   %-40s %-22s %s -> %s' % (where, m['type'], tok, new), flush=True)
            else:
                killed += 1
                m['status'] = 'KILLED'
                print('killed  %-40s %-22s %s -> %s' % (where, m['type'], tok, new), flush=True)
    shutil.rmtree(work)
    if os.environ.get('RECHECK_OUT'):
        json.dump(d, open(os.environ['RECHECK_OUT'], 'w'), indent=1)
    print('recheck: %d now killed, %d still lived' % (killed, lived))


if __name__ == '__main__':
    main()
