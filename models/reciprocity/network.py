"""Which edges of a directed exchange network lie on a directed cycle of length >= 3.

Generalised (indirect) reciprocity is help returned round a loop, A→B→C→A, rather than
straight back (reference/sroi.md section 4: "the time-bank ideal, so do not penalise a lack
of dyadic return"). We call an edge u→v *circulating* when it lies on some simple directed
cycle of length at least 3; ``timebank.py`` reports the share of hours on circulating edges.

The test is exact, and runs set-based on millions of edges (numpy + scipy.sparse.csgraph):

1. An edge between two strongly connected components (SCCs) lies on no cycle.
2. A one-way edge u→v (no v→u) inside an SCC always qualifies: there is a path v⇝u, it
   cannot be the missing direct edge, so the cycle u→v⇝u has length >= 3.
3. An edge u→v whose reverse v→u exists qualifies if and only if v reaches u without the
   edge v→u (a shortest such path has length >= 2 and avoids u and v in between). These
   questions are settled in bulk, direction by direction. An edge is "regular" (usable by
   every open question) once the question about its reverse is settled. The SCCs of the
   regular edges are "super-nodes": an open edge inside one qualifies. Pairs open both ways
   that lie on an undirected cycle of such pairs between super-nodes qualify both ways (the
   cycle can be walked either way). On the graph of super-nodes: a second arc in the same
   direction, or a path of length 2 or 3, means yes; no other arc into the target or out of
   the start means no; a pair that is a bridge of the whole underlying undirected graph
   means no. Settled edges become regular and the SCCs are recomputed (on the condensed
   graph) while a round still settles >= 5% of the open questions.
4. The few questions left (about 2,400 of 3.5 million at 10M exchanges) are answered by a
   bidirectional breadth-first search between super-nodes.

Checked against brute-force cycle enumeration in the tests, and by ``bench/
reciprocity_network.py --verify`` against a plain search on a 10M-exchange network.

Inputs are *distinct* directed edges without self-loops, as dense integer node ids; a caller
aggregates the exchange log to edges in SQL first. Several independent networks (time banks
× periods) are handled in one call by giving their nodes disjoint ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from models.reciprocity.graph import (
    adjacency,
    expand,
    is_member,
    strong_components,
    undirected_bridges,
    unique_inverse,
    unique_sorted,
)


@dataclass
class CycleStats:
    """Diagnostics of one call: edges, and how many reciprocated-edge questions each step settled."""

    edges: int = 0
    intra_scc_edges: int = 0
    reciprocated_pairs: int = 0
    directions_by_contraction: int = 0
    pairs_by_bridge: int = 0
    directions_by_short_path: int = 0
    directions_by_search: int = 0
    scc_rounds: int = 0


NETWORK_TOTALS = ("network_edges", "reciprocated_edges", "reciprocal_hours", "reciprocated_hours", "circulating_hours")


def network_totals(
    group: np.ndarray, giver: np.ndarray, receiver: np.ndarray, hours: np.ndarray, stats: CycleStats | None = None
) -> dict[str, np.ndarray]:
    """Dyadic, weighted and generalised reciprocity totals of many networks in one pass.

    Input: one row per distinct directed edge (group, giver, receiver) with its total hours
    (no self-loops); groups are independent networks (time bank × period). Returns, per
    group id in ``grp`` (groups that have edges): ``network_edges`` L, ``reciprocated_edges``
    L↔ (edges whose reverse exists), ``reciprocal_hours`` W = Σ w_ij, ``reciprocated_hours``
    W↔ = Σ min(w_ij, w_ji) and ``circulating_hours`` (hours on edges lying on a directed
    cycle of length >= 3, ``circulating_edges``).
    """
    group = np.asarray(group, dtype=np.int64)
    giver = np.asarray(giver, dtype=np.int64)
    receiver = np.asarray(receiver, dtype=np.int64)
    hours = np.asarray(hours, dtype=np.float64)
    st = stats if stats is not None else CycleStats()
    st.edges = m = len(group)
    if m == 0:
        empty = np.zeros(0)
        return {"grp": np.zeros(0, dtype=np.int64), **{k: empty for k in NETWORK_TOTALS}}
    if (giver == receiver).any():
        raise ValueError("network_totals: self-loops are not allowed")
    n, src, dst = _dense_nodes(group, giver, receiver)
    order, reverse = _sorted_with_reverse(n, src, dst)
    src, dst, w, g = src[order], dst[order], hours[order], group[order]
    has_rev = reverse >= 0
    w_rev = np.where(has_rev, w[np.maximum(reverse, 0)], 0.0)
    circ = _circulating_sorted(n, src, dst, reverse, st)
    size = int(g.max()) + 1
    present = np.flatnonzero(np.bincount(g, minlength=size))
    sums = {
        "network_edges": np.bincount(g, minlength=size),
        "reciprocated_edges": np.bincount(g, weights=has_rev.astype(np.float64), minlength=size),
        "reciprocal_hours": np.bincount(g, weights=w, minlength=size),
        "reciprocated_hours": np.bincount(g, weights=np.minimum(w, w_rev), minlength=size),
        "circulating_hours": np.bincount(g, weights=np.where(circ, w, 0.0), minlength=size),
    }
    return {"grp": present, **{k: v[present] for k, v in sums.items()}}


def circulating_edges(n: int, src: np.ndarray, dst: np.ndarray, stats: CycleStats | None = None) -> np.ndarray:
    """Boolean mask: edge ``src[k]→dst[k]`` lies on a simple directed cycle of length >= 3.

    ``n`` nodes with ids in [0, n); edges distinct, no self-loops (both checked).
    """
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    m = len(src)
    st = stats if stats is not None else CycleStats()
    st.edges = m
    if m == 0:
        return np.zeros(0, dtype=bool)
    if (src == dst).any():
        raise ValueError("circulating_edges: self-loops are not allowed")
    # Work on the edges sorted by (src, dst): every subset keeps that order, so adjacency
    # matrices are built without sorting again.
    order, reverse = _sorted_with_reverse(n, src, dst)
    out = np.zeros(m, dtype=bool)
    out[order] = _circulating_sorted(n, src[order], dst[order], reverse, st)
    return out


def _circulating_sorted(n: int, src: np.ndarray, dst: np.ndarray, reverse: np.ndarray, st: CycleStats) -> np.ndarray:
    m = len(src)
    out = np.zeros(m, dtype=bool)
    has_rev = reverse >= 0
    lab = strong_components(n, src, dst, sorted_src=True)
    intra = lab[src] == lab[dst]
    st.intra_scc_edges = int(intra.sum())
    oneway = intra & ~has_rev
    out[oneway] = True  # step 2 of the module docstring
    cand = intra & has_rev
    ncand = int(cand.sum())
    if ncand == 0:
        return out
    st.reciprocated_pairs = ncand // 2

    # Each candidate edge u→v asks "does v reach u without v→u (its reverse)?". An edge is
    # usable ("regular") for every open question except its reverse's, so it joins the
    # super-node graph once the question of its reverse is settled.
    rev = np.where(has_rev, reverse, 0)
    status = np.zeros(m, dtype=np.int8)  # on candidates: 0 open, 1 on a long cycle, 2 not
    isrc, idst = src[intra], dst[intra]
    sup = None
    while True:
        st.scc_rounds += 1
        before = int(((status != 0) & cand).sum())
        regular = oneway | (cand & (status[rev] != 0))
        if sup is None:
            sup = strong_components(n, src[regular], dst[regular], sorted_src=True)
        else:
            # The regular set only grows, so new super-nodes are unions of the old ones:
            # condense first, then join components over the arcs between super-nodes.
            a, b = sup[src[regular]], sup[dst[regular]]
            keep = a != b
            sup = strong_components(n, a[keep], b[keep])[sup]
        status[cand & (status == 0) & (sup[src] == sup[dst])] = 1
        # Pairs open both ways lying on an undirected cycle of such pairs: yes, both ways.
        both = np.flatnonzero(cand & (status == 0) & (status[rev] == 0) & (src < dst))
        if len(both):
            on_cycle = both[~undirected_bridges(n, sup[src[both]], sup[dst[both]])]
            status[on_cycle] = 1
            status[rev[on_cycle]] = 1
        st.directions_by_contraction = int(((status == 1) & cand).sum())
        open_ = np.flatnonzero(cand & (status == 0))
        if len(open_) == 0:
            break
        cross = sup[isrc] != sup[idst]
        hs, hd = sup[isrc[cross]], sup[idst[cross]]
        decided = _by_degree_and_short_paths(n, hs, hd, sup[dst[open_]], sup[src[open_]], st)
        status[open_[decided == 1]] = 1
        status[open_[decided == 2]] = 2
        # A pair that is a bridge of the whole underlying undirected graph: no, both ways.
        if (cand & (status == 0)).any():
            in_h = intra & (sup[src] != sup[dst])
            single = np.flatnonzero(in_h & (~has_rev | (src < dst)))  # a pair counts once
            br = single[undirected_bridges(n, sup[src[single]], sup[dst[single]])]
            no = br[cand[br] & (status[br] == 0)]
            st.pairs_by_bridge += len(no)
            status[no] = 2
            back = rev[no]
            status[back[status[back] == 0]] = 2
        # Another round (one more SCC pass) only while it still settles a good share.
        if int(((status != 0) & cand).sum()) - before < 0.05 * (ncand - before):
            break

    open_ = np.flatnonzero(cand & (status == 0))
    if len(open_):
        cross = sup[isrc] != sup[idst]
        hs, hd = sup[isrc[cross]], sup[idst[cross]]
        st.directions_by_search += len(open_)
        found = _meet_all(adjacency(n, hs, hd), adjacency(n, hd, hs), sup[dst[open_]], sup[src[open_]])
        status[open_] = np.where(found, 1, 2)
    out[cand] = status[cand] == 1
    return out


def _dense_nodes(group: np.ndarray, giver: np.ndarray, receiver: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Dense node ids for (group, member), increasing in (group, member) order."""
    width = int(max(giver.max(), receiver.max())) + 1
    a, b = group * width + giver, group * width + receiver
    size = (int(group.max()) + 1) * width
    if size <= 2**28:  # a presence table: linear time, no sort of the edges
        present = np.zeros(size, dtype=bool)
        present[a] = True
        present[b] = True
        # a node's id is its rank among the cells present: the running count, in 4 bytes a cell (at most 2**28
        # cells), taken to 8 only at the edges (two 8-byte arrays of every cell took 0.3-1.4 s at 1M persons)
        count = np.cumsum(present, dtype=np.int32)
        return int(count[-1]), count[a] - np.int64(1), count[b] - np.int64(1)
    nodes, inv = unique_inverse(np.concatenate([a, b]))
    return len(nodes), inv[: len(a)], inv[len(a):]


def _sorted_with_reverse(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The order sorting the edges by (src, dst), and for each sorted edge the sorted position
    of its reverse (−1 if absent). Raises if an edge repeats.

    The edges in (dst, src) order come from scipy's CSR→CSC conversion (a counting sort in C);
    their reversed keys are then sorted, so the binary search walks memory in order, many
    times faster than random look-ups on millions of edges.
    """
    m = len(src)
    key = src * n + dst
    order = np.argsort(key, kind="stable")
    skey = key[order]
    if (skey[1:] == skey[:-1]).any():
        raise ValueError("circulating_edges: edges must be distinct (aggregate first)")
    ssrc, sdst = skey // n, skey % n
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ssrc, minlength=n), out=indptr[1:])
    by_dst = csr_matrix((np.arange(1, m + 1, dtype=np.int64), sdst, indptr), shape=(n, n)).tocsc()
    rorder = by_dst.data - 1  # sorted positions, in (dst, src) order
    rkey = sdst[rorder] * n + ssrc[rorder]  # ascending
    pos = np.minimum(np.searchsorted(skey, rkey), m - 1)
    found = skey[pos] == rkey
    reverse = np.full(m, -1, dtype=np.int64)
    reverse[rorder[found]] = pos[found]
    return order, reverse


def _by_degree_and_short_paths(n, hs, hd, y, x, st: CycleStats) -> np.ndarray:
    """For questions "y ⇝ x without one given arc y→x" on the super-node multigraph (hs→hd):
    1 = yes, 2 = no, 0 = undecided.

    A second arc y→x means yes; no other arc into x, or out of y, means no; a path of length 2
    or 3 that starts with an arc to a node other than x means yes.
    """
    hkey = np.sort(hs * n + hd)
    qkey = y * n + x
    mult = np.searchsorted(hkey, qkey, side="right") - np.searchsorted(hkey, qkey, side="left")
    outdeg = np.bincount(hs, minlength=n)
    indeg = np.bincount(hd, minlength=n)
    res = np.zeros(len(y), dtype=np.int8)
    res[mult >= 2] = 1
    res[(res == 0) & ((indeg[x] <= 1) | (outdeg[y] <= 1))] = 2
    todo = np.flatnonzero(res == 0)
    if len(todo):
        short = _short_paths(adjacency(n, hs, hd), adjacency(n, hd, hs), y[todo], x[todo])
        st.directions_by_short_path += int(short.sum())
        res[todo[short]] = 1
    return res


def _short_paths(fwd: csr_matrix, bwd: csr_matrix, ys: np.ndarray, xs: np.ndarray, cap: int = 2000) -> np.ndarray:
    """Vectorised: a path y→a⇝x of length 2 or 3 (a ≠ x, so never the arc y→x), for each (y, x).

    Queries at a hub (more than ``cap`` arcs out of y or into x, or fanning out to more than
    ``cap`` arcs at the second step) are left to the search.
    """
    k = len(ys)
    found = np.zeros(k, dtype=bool)
    outdeg, indeg = np.diff(fwd.indptr), np.diff(bwd.indptr)
    q = np.flatnonzero((outdeg[ys] <= cap) & (indeg[xs] <= cap)).astype(np.int64)
    if len(q) == 0:
        return found
    n = fwd.shape[0]
    fq, fa = expand(fwd, q, ys[q])
    keep = fa != xs[fq]
    fq, fa = fq[keep], fa[keep]
    bq, bb = expand(bwd, q, xs[q])
    keep = bb != ys[bq]
    bq, bb = bq[keep], bb[keep]
    bkey = unique_sorted(bq * n + bb)
    found[fq[is_member(fq * n + fa, bkey)]] = True  # y→a→x
    fan = np.bincount(fq, weights=(fwd.indptr[fa + 1] - fwd.indptr[fa]).astype(np.float64), minlength=k)
    sel = ~found[fq] & (fan[fq] <= cap)
    tq, tw = expand(fwd, fq[sel], fa[sel])
    found[tq[is_member(tq * n + tw, bkey)]] = True  # y→a→b→x
    return found


def _meet_all(fwd: csr_matrix, bwd: csr_matrix, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """For each i: is there a path ys[i] ⇝ xs[i] that does not use the single arc ys[i]→xs[i]?

    Bidirectional breadth-first search in plain Python over adjacency lists (per search the
    work is the nodes explored, typically tens; numpy's per-call overhead would dominate).
    Each round expands the smaller frontier; a search ends as soon as the two sides meet
    (found) or either side runs dry (not found).
    """
    fp, fi = fwd.indptr.tolist(), fwd.indices.tolist()
    bp, bi = bwd.indptr.tolist(), bwd.indices.tolist()
    return np.array([_meet(fp, fi, bp, bi, y, x) for y, x in zip(ys.tolist(), xs.tolist())], dtype=bool)


def _meet(fp: list, fi: list, bp: list, bi: list, y: int, x: int) -> bool:
    ff = [v for v in fi[fp[y]:fp[y + 1]] if v != x]
    bf = [v for v in bi[bp[x]:bp[x + 1]] if v != y]
    fseen, bseen = {y, *ff}, {x, *bf}
    if not fseen.isdisjoint(bseen):
        return True
    while ff and bf:
        forward = len(ff) <= len(bf)
        ptr, idx, seen, other, frontier = (fp, fi, fseen, bseen, ff) if forward else (bp, bi, bseen, fseen, bf)
        nxt = []
        for node in frontier:
            for w in idx[ptr[node]:ptr[node + 1]]:
                if w not in seen:
                    if w in other:
                        return True
                    seen.add(w)
                    nxt.append(w)
        if forward:
            ff = nxt
        else:
            bf = nxt
    return False
