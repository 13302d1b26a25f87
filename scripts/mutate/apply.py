#!/usr/bin/env python3
"""apply.py FILE ORIGINAL REPLACEMENT: replace the one occurrence of ORIGINAL in FILE.
\\t and \\n in the arguments stand for a tab and a newline. Exit 1 if ORIGINAL is not there
exactly once (the mutant list has gone stale)."""
import sys

path, orig, repl = sys.argv[1], sys.argv[2], sys.argv[3]
unescape = lambda s: s.replace("\\t", "\t").replace("\\n", "\n")
orig, repl = unescape(orig), unescape(repl)
text = open(path).read()
if text.count(orig) != 1:
    sys.exit(1)
open(path, "w").write(text.replace(orig, repl))
