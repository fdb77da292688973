#!/bin/sh
# The daemon is a stack of layers (README, "Inside daemon/"): no two of
# its files reach each other through their includes, directly or round a
# circle. A module is a .c file with its .h; an arrow is an
# `#include "x.h"` of another module. Fails naming every circle found.
set -u
: "${SS_SRCDIR:?run the tests with make check}"
command -v python3 >/dev/null 2>&1 || {
	echo "FAIL: python3 is not installed; this test needs it"
	exit 1
}
exec python3 - "$SS_SRCDIR/daemon" <<'PY'
import glob, os, re, sys

graph = {}
for path in glob.glob(os.path.join(sys.argv[1], "*.[ch]")):
    module = os.path.basename(path)[:-2]
    with open(path, encoding="utf-8") as f:
        used = re.findall(r'#include "([a-z_0-9]+)\.h"', f.read())
    graph.setdefault(module, set()).update(u for u in used if u != module)
if len(graph) < 10:
    print("FAIL: found only %d modules in %s" % (len(graph), sys.argv[1]))
    sys.exit(1)

# Tarjan's strongly connected components: each of more than one module
# is a circle.
index, low, stack, on, circles = {}, {}, [], set(), []
sys.setrecursionlimit(10000)

def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on.add(v)
    for w in graph.get(v, ()):
        if w not in graph:
            continue
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        part = []
        while True:
            w = stack.pop()
            on.discard(w)
            part.append(w)
            if w == v:
                break
        if len(part) > 1:
            circles.append(sorted(part))

for v in sorted(graph):
    if v not in index:
        visit(v)
for c in circles:
    print("FAIL: these files include each other, round a circle: %s"
          % ", ".join(c))
if circles:
    sys.exit(1)
print("ok: %d modules in daemon/, no include circle" % len(graph))
PY
