"""Graph primitives on integer edge lists, vectorised with numpy and scipy.sparse.csgraph.

Used by ``network.py``: canonical adjacency matrices, strongly connected components, bridges
of an undirected multigraph, neighbour expansion and sorted-key membership.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components


def unique_sorted(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: numpy 2's hash-based ``np.unique`` is slower here)."""
    x = np.sort(x)
    return x[np.concatenate(([True], x[1:] != x[:-1]))] if len(x) else x


def unique_inverse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and, for each input, the index of its value among them."""
    order = np.argsort(x, kind="stable")
    sx = x[order]
    new = np.concatenate(([True], sx[1:] != sx[:-1])) if len(x) else np.zeros(0, dtype=bool)
    inv = np.empty(len(x), dtype=np.int64)
    inv[order] = np.cumsum(new) - 1
    return sx[new], inv


def adjacency(n: int, a: np.ndarray, b: np.ndarray, *, sorted_a: bool = False) -> csr_matrix:
    """Canonical adjacency matrix (CSR: rows sorted, no duplicate entries) built directly.

    ``sorted_a`` promises the arcs are already distinct and sorted by (a, b); otherwise they
    are deduplicated and sorted here (scipy's strong-components routine needs canonical CSR:
    it does not terminate on duplicate entries).
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if not sorted_a:
        key = unique_sorted(a * n + b)
        a, b = key // n, key % n
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    itype = np.int32 if n < 2**31 - 1 and len(a) < 2**31 - 1 else np.int64
    return csr_matrix((np.ones(len(a)), b.astype(itype), indptr.astype(itype)), shape=(n, n))


def strong_components(n: int, src: np.ndarray, dst: np.ndarray, *, sorted_src: bool = False) -> np.ndarray:
    """SCC label of each of the ``n`` nodes (scipy; Pearce's algorithm, linear time)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    return connected_components(adjacency(n, src, dst, sorted_a=sorted_src), directed=True, connection="strong")[1]


def undirected_bridges(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each edge {a_k, b_k} of an undirected multigraph, whether it is a bridge.

    Parallel edges and self-loops are never bridges. Method: a breadth-first spanning forest;
    every non-tree edge covers the tree path between its ends (+1 at both ends, −2 at their
    lowest common ancestor, found by binary lifting); a tree edge is a bridge iff its lower
    end's subtree sum is 0. Vectorised; the only Python loop is over tree levels.
    """
    m = len(a)
    bridge = np.zeros(m, dtype=bool)
    if m == 0:
        return bridge
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    nodes, inv = unique_inverse(np.concatenate([a, b]))
    a, b = inv[:m], inv[m:]
    k = len(nodes)
    proper = a != b
    pa, pb = a[proper], b[proper]
    comp = connected_components(adjacency(k, pa, pb), directed=False)[1]
    first = np.full(int(comp.max()) + 1, -1, dtype=np.int64)
    first[comp[::-1]] = np.arange(k - 1, -1, -1)
    roots = first  # one node (the first) of each component
    root = k  # a virtual root joined to one node per component
    g = adjacency(k + 1, np.concatenate([pa, pb, np.full(len(roots), root)]),
               np.concatenate([pb, pa, roots]))
    order, pred = breadth_first_order(g, root, directed=True, return_predecessors=True)
    parent = pred.astype(np.int64)
    parent[root] = root

    # Binary lifting: up[j] = 2^j-th ancestor (the root is its own ancestor).
    up = [parent]
    depth = _depths(parent)
    levels = int(depth.max())
    while (1 << len(up)) <= levels:
        up.append(up[-1][up[-1]])

    # Which input edge is the tree edge of each non-root node.
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * (k + 1) + hi
    child = order[1:][parent[order[1:]] != root]
    tkey = np.minimum(child, parent[child]) * (k + 1) + np.maximum(child, parent[child])
    sort = np.argsort(key, kind="stable")
    tree_edge = sort[np.searchsorted(key[sort], tkey)]
    is_tree = np.zeros(m, dtype=bool)
    is_tree[tree_edge] = True

    # Cover counts from non-tree edges.
    nt = ~is_tree & proper
    x, y = a[nt].copy(), b[nt].copy()
    swap = depth[x] < depth[y]
    x[swap], y[swap] = y[swap], x[swap]
    diff = depth[x] - depth[y]
    for j, anc in enumerate(up):
        mv = ((diff >> j) & 1).astype(bool)
        x[mv] = anc[x[mv]]
    for anc in reversed(up):
        ax, ay = anc[x], anc[y]
        mv = ax != ay
        x[mv], y[mv] = ax[mv], ay[mv]
    lca = np.where(x == y, x, parent[x])
    cover = np.zeros(k + 1, dtype=np.int64)
    np.add.at(cover, a[nt], 1)
    np.add.at(cover, b[nt], 1)
    np.add.at(cover, lca, -2)

    # Subtree sums, deepest level first (the BFS order is sorted by level).
    dorder = depth[order]
    bounds = np.searchsorted(dorder, np.arange(levels + 2))
    for lev in range(levels, 0, -1):
        level_nodes = order[bounds[lev]:bounds[lev + 1]]
        np.add.at(cover, parent[level_nodes], cover[level_nodes])
    bridge[tree_edge] = cover[child] == 0
    return bridge


def _depths(parent: np.ndarray) -> np.ndarray:
    """Depth of each node of a rooted forest given as a parent array (roots are their own parent).

    Pointer doubling (list ranking): O(n log depth) with no Python loop over nodes.
    """
    steps = (parent != np.arange(len(parent))).astype(np.int64)
    anc = parent.copy()
    while True:
        more = steps[anc]
        if not more.any():
            return steps
        steps = steps + more
        anc = anc[anc]


def is_member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0 or len(keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def expand(g: csr_matrix, owner: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (owner, neighbour) pairs for the given (owner, node) entries."""
    starts = g.indptr[nodes].astype(np.int64)
    lens = (g.indptr[nodes + 1] - g.indptr[nodes]).astype(np.int64)
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    offs = np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return np.repeat(owner, lens), g.indices[np.arange(total) + offs].astype(np.int64)
