"""Cycle detection (generalised reciprocity) and the network totals, against hand cases and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from models.reciprocity.graph import undirected_bridges
from models.reciprocity.network import CycleStats, circulating_edges, network_totals

A, B, C, D, E, F = range(6)


def _circ(edges, n=6):
    src = np.array([e[0] for e in edges])
    dst = np.array([e[1] for e in edges])
    return dict(zip(edges, circulating_edges(n, src, dst).tolist()))


def test_hand_cases():
    # A three-member cycle: every edge circulates.
    assert all(_circ([(A, B), (B, C), (C, A)]).values())
    # A balanced pair alone is only a 2-cycle: not generalised reciprocity.
    assert not any(_circ([(A, B), (B, A)]).values())
    # A pure giver's one-way edge lies on no cycle.
    assert not any(_circ([(A, B)]).values())
    # A 4-cycle counts (length >= 3).
    assert all(_circ([(A, B), (B, C), (C, D), (D, A)]).values())
    # A triangle of mutual pairs: all six arcs lie on a 3-cycle one way or the other.
    tri = [(A, B), (B, A), (B, C), (C, B), (C, A), (A, C)]
    assert all(_circ(tri).values())
    # A↔B, B↔C and A→C. A→B needs B⇝A without B→A: B's only other arc goes to C, and C
    # only returns to B → no. B→A: A→C→B closes B→A→C→B → yes. C→B: B→A→C → yes.
    # B→C needs C⇝B without C→B: C has no other arc → no. A→C: one-way in the SCC → yes.
    got = _circ([(A, B), (B, A), (B, C), (C, B), (A, C)])
    assert got == {(A, B): False, (B, A): True, (B, C): False, (C, B): True, (A, C): True}
    # Two triangles joined only by a mutual pair C↔D: the bridge pair never circulates.
    two = [(A, B), (B, C), (C, A), (D, E), (E, F), (F, D), (C, D), (D, C)]
    got = _circ(two)
    assert not got[(C, D)] and not got[(D, C)]
    assert all(v for k, v in got.items() if k not in ((C, D), (D, C)))


def _brute(n, edges):
    """Mark the edges of every simple cycle of length >= 3 (enumerated from its smallest node)."""
    adj = {i: [] for i in range(n)}
    for u, v in edges:
        adj[u].append(v)
    on = set()

    def walk(start, node, path):
        for w in adj[node]:
            if w == start and len(path) >= 3:
                cyc = path + [start]
                on.update(zip(cyc, cyc[1:]))
            elif w > start and w not in path:
                walk(start, w, path + [w])

    for s in range(n):
        walk(s, s, [s])
    return [e in on for e in edges]


def test_matches_brute_force_on_random_graphs():
    rng = np.random.default_rng(1)
    total = CycleStats()
    for _ in range(1500):
        n = int(rng.integers(2, 9))
        p, recip = rng.uniform(0.15, 0.6), rng.uniform(0, 1)
        edges = set()
        for u, v in itertools.permutations(range(n), 2):
            if rng.random() < p:
                edges.add((u, v))
                if rng.random() < recip:
                    edges.add((v, u))
        edges = sorted(edges)
        if not edges:
            continue
        st = CycleStats()
        got = circulating_edges(n, np.array([e[0] for e in edges]), np.array([e[1] for e in edges]), st)
        assert got.tolist() == _brute(n, edges), edges
        for field in ("directions_by_search", "directions_by_short_path", "pairs_by_bridge"):
            setattr(total, field, getattr(total, field) + getattr(st, field))
    # every decision path was exercised
    assert total.directions_by_search > 0 and total.directions_by_short_path > 0 and total.pairs_by_bridge > 0


def test_undirected_bridges_match_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(300):
        m = int(rng.integers(1, 10))
        a, b = rng.integers(0, 6, m), rng.integers(0, 6, m)
        expected = []
        for k in range(m):
            rest = [(a[j], b[j]) for j in range(m) if j != k]
            seen, stack = {a[k]}, [a[k]]
            while stack:
                x = stack.pop()
                for u, v in rest:
                    for p, q in ((u, v), (v, u)):
                        if p == x and q not in seen:
                            seen.add(q)
                            stack.append(q)
            expected.append(b[k] not in seen)
        assert undirected_bridges(6, a, b).tolist() == expected


def test_input_checks():
    with pytest.raises(ValueError, match="self-loops"):
        circulating_edges(2, np.array([0]), np.array([0]))
    with pytest.raises(ValueError, match="distinct"):
        circulating_edges(2, np.array([0, 0]), np.array([1, 1]))
    assert circulating_edges(0, np.array([], dtype=int), np.array([], dtype=int)).size == 0


def test_network_totals_per_group():
    # group 0: A⇄B with 3 and 1 hours; group 1: a triangle with 1, 2 and 4 hours plus a pendant edge.
    grp = np.array([0, 0, 1, 1, 1, 1])
    giver = np.array([A, B, A, B, C, C])
    receiver = np.array([B, A, B, C, A, D])
    hours = np.array([3.0, 1.0, 1.0, 2.0, 4.0, 5.0])
    t = network_totals(grp, giver, receiver, hours)
    assert t["grp"].tolist() == [0, 1]
    assert t["network_edges"].tolist() == [2, 4]
    assert t["reciprocated_edges"].tolist() == [2, 0]
    assert t["reciprocal_hours"].tolist() == [4.0, 12.0]
    # W↔ = min(3, 1) + min(1, 3) = 2 → weighted reciprocity 2/4 (Squartini et al. 2013)
    assert t["reciprocated_hours"].tolist() == [2.0, 0.0]
    assert t["circulating_hours"].tolist() == [0.0, 7.0]  # the triangle, not C→D
    empty = network_totals(np.array([], dtype=int), np.array([], dtype=int), np.array([], dtype=int), np.array([]))
    assert empty["grp"].size == 0


def test_a_long_chain_and_a_large_random_graph_finish():
    # A chain of 20,000 mutual pairs (deep BFS trees in the bridge finder): no long cycles.
    n = 20_000
    s = np.arange(n - 1)
    src, dst = np.concatenate([s, s + 1]), np.concatenate([s + 1, s])
    assert not circulating_edges(n, src, dst).any()
    # A one-way ring, plus the reverse of one of its edges: every ring edge circulates; the
    # extra 1→0 does not (0's only way out is 0→1 itself).
    ring_src, ring_dst = np.arange(n), (np.arange(n) + 1) % n
    out = circulating_edges(n, np.concatenate([ring_src, [1]]), np.concatenate([ring_dst, [0]]))
    assert out[:n].all() and not out[n]
    # Random sparse graph with reciprocation: consistent with the SCC bound.
    rng = np.random.default_rng(0)
    m = 60_000
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = u != v
    key = np.unique(u[keep] * n + v[keep])
    out = circulating_edges(n, key // n, key % n)
    assert 0 < out.sum() < len(key)


def test_network_totals_keep_groups_apart():
    """Several random networks in one call (member ids shared across groups) = each on its own."""
    rng = np.random.default_rng(5)
    groups, givers, receivers, hours, expected = [], [], [], [], {}
    for grp in range(6):
        n = int(rng.integers(3, 8))
        edges = sorted({(int(u), int(v)) for u, v in rng.integers(0, n, (3 * n, 2)) if u != v})
        w = rng.integers(1, 8, len(edges)) * 0.5
        on = _brute(n, edges)
        expected[grp] = float(sum(x for x, o in zip(w, on) if o))
        groups += [grp] * len(edges)
        givers += [u for u, _ in edges]
        receivers += [v for _, v in edges]
        hours += w.tolist()
    perm = rng.permutation(len(groups))
    t = network_totals(*(np.array(x)[perm] for x in (groups, givers, receivers, hours)))
    got = dict(zip(t["grp"].tolist(), t["circulating_hours"].tolist()))
    assert got == pytest.approx(expected)
