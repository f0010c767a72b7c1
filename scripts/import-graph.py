#!/usr/bin/env python3
"""The import graph of host/src between its top-level modules, from the
`crate::` paths each file names (use lines and inline paths; comments are
skipped). Prints the edges and every cycle (strongly connected component);
exits 1 if there is a cycle. Usage: scripts/import-graph.py [host/src]"""
import pathlib, re, sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "host/src")
edges = {}
for f in sorted(root.rglob("*.rs")):
    rel = f.relative_to(root)
    if rel.name == "main.rs" and len(rel.parts) == 1:
        continue  # the crate root declares every module
    mod = rel.parts[0].removesuffix(".rs")
    text = "\n".join(l.split("//")[0] for l in f.read_text().splitlines())
    # `use crate::{a, b::c}` and `crate::a::...` anywhere.
    names = set(re.findall(r"crate::(\w+)", text))
    for group in re.findall(r"crate::\{([^}]*)\}", text):
        names |= {g.strip().split("::")[0] for g in group.split(",") if g.strip()}
    for n in names:
        if n != mod:
            edges.setdefault(mod, set()).add(n)
mods = sorted(set(edges) | {m for v in edges.values() for m in v})

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(sorted(comp))
for m in mods:
    if m not in index:
        visit(m)
for m in mods:
    print(f"{m} -> {', '.join(sorted(edges.get(m, ()))) or '(none)'}")
cycles = [c for c in sccs if len(c) > 1]
for c in cycles:
    print("CYCLE:", " <-> ".join(c))
print("no cycles" if not cycles else f"{len(cycles)} cycle(s)")
sys.exit(1 if cycles else 0)
