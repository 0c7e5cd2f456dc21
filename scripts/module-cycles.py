#!/usr/bin/env python3
"""Dependency cycles among the server's modules (run from the repository root:
`python3 scripts/module-cycles.py`), one level below the crate
root's folders: `devices::http`, `devices::service`, `http::extract`, `error`…
A reference `crate::a::b::…` counts as a dependency on `a::b` when `a` is a
folder module, else on `a`. References inside a module's own folder root
(`a` itself, i.e. a/mod.rs) count too."""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else 'crates/usher/src'
dirs = {d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))}
def unit(parts):
    if parts[0] in dirs and len(parts) > 1 and os.path.exists(os.path.join(root, parts[0], parts[1] + '.rs')) or (parts[0] in dirs and len(parts) > 1 and os.path.isdir(os.path.join(root, parts[0], parts[1]))):
        return parts[0] + '::' + parts[1]
    return parts[0]
edges = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p = os.path.join(d, f)
        rel = os.path.relpath(p, root)[:-3].split(os.sep)
        if rel[-1] == 'mod': rel = rel[:-1]
        if rel in (['main'], ['lib']) or not rel: continue
        m = unit(rel)
        src = open(p).read()
        src = re.sub(r'#\[cfg\(test\)\]\s*mod tests\s*\{.*', '', src, flags=re.S)
        for use in re.findall(r'crate::((?:[a-z_0-9]+)(?:::[a-z_0-9]+)?)', src):
            t = unit(use.split('::'))
            if t != m:
                edges.setdefault(m, set()).add(t)
idx, low, st, on, out, c = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: out.append(sorted(comp))
for v in list(edges):
    if v not in idx: sc(v)
for comp in out:
    print('cycle of', len(comp), 'modules:', ' '.join(comp))
    for a in comp:
        print('   ', a, '->', ' '.join(sorted(t for t in edges.get(a, ()) if t in comp)))
print(len(out), 'cycles among', len(set(edges) | {t for s in edges.values() for t in s}), 'modules')
