"""Matching on hand-checkable fixtures, and against a brute-force reference."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.comparison import match_nearest, pooled_sd
from models.comparison.matching import TIE_TOLERANCE


def pairs(m):
    """{treated position: sorted list of control positions}."""
    out = {}
    for t, c in zip(m.pairs_treated.tolist(), m.pairs_control.tolist()):
        out.setdefault(t, []).append(c)
    return {k: sorted(v) for k, v in out.items()}


def test_six_person_fixture_known_pairs():
    # treated T0 = 0.0, T1 = 1.0; controls C0 = 0.12, C1 = 0.9, C2 = 2.0, C3 = -3.0
    m = match_nearest([0.0, 1.0], [0.12, 0.9, 2.0, -3.0])
    assert pairs(m) == {0: [0], 1: [1]}
    assert m.n_dropped_caliper == 0
    # descending order: T1 (higher score) forms set 0
    assert m.matched_treated.tolist() == [1, 0]


def test_caliper_drops_the_person_without_a_close_control():
    m = match_nearest([0.0, 1.0, 5.0], [0.1, 0.9, 3.0], caliper_width=0.5)
    assert pairs(m) == {0: [0], 1: [1]}
    assert m.n_dropped_caliper == 1
    assert 2 not in m.matched_treated


def test_greedy_without_replacement_contention_and_order():
    # both treated want C0 = 0.02; highest score (T1 = 0.05) picks first
    m = match_nearest([0.0, 0.05], [0.02, 0.5], caliper_width=1.0)
    assert pairs(m) == {1: [0], 0: [1]}
    m = match_nearest([0.0, 0.05], [0.02, 0.5], caliper_width=0.3)
    assert pairs(m) == {1: [0]} and m.n_dropped_caliper == 1
    # ascending order: T0 picks first and takes C0
    m = match_nearest([0.0, 0.05], [0.02, 0.5], caliper_width=1.0, order="ascending")
    assert pairs(m) == {0: [0], 1: [1]}


def test_with_replacement_reuses_the_nearest_control():
    m = match_nearest([0.0, 0.05], [0.02, 0.5], replace=True, caliper_width=0.3)
    assert pairs(m) == {0: [0], 1: [0]}
    assert m.n_dropped_caliper == 0


def test_exact_strata_prevent_a_cross_stratum_match():
    # control 0 is nearest (0.01) but in stratum 1; control 1 (0.5) shares the stratum
    m = match_nearest([0.0], [0.01, 0.5], strata_treated=[0], strata_control=[1, 0])
    assert pairs(m) == {0: [1]}
    m = match_nearest([0.0], [0.01, 0.5], strata_treated=[0], strata_control=[1, 0], caliper_width=0.2)
    assert pairs(m) == {} and m.n_dropped_caliper == 1
    m = match_nearest([0.0], [0.01, 0.5], strata_treated=[0], strata_control=[1, 0], replace=True)
    assert pairs(m) == {0: [1]}


def test_ratio_two_takes_the_two_nearest():
    m = match_nearest([0.0], [-0.1, 0.05, 0.2, 1.0], ratio=2)
    assert pairs(m) == {0: [0, 1]}
    m = match_nearest([0.0], [-0.1, 0.05, 0.2, 1.0], ratio=2, replace=True)
    assert pairs(m) == {0: [0, 1]}


def test_ratio_two_without_replacement_runs_in_passes():
    # pass 1 (descending): T1=0.1 -> C1=0.08, T0=0.0 -> C0=0.02; pass 2: T1 -> C2=0.5, T0 -> C3=0.6
    m = match_nearest([0.0, 0.1], [0.02, 0.08, 0.5, 0.6], ratio=2)
    assert pairs(m) == {0: [0, 3], 1: [1, 2]}
    assert m.pairs_set.tolist() == [0, 0, 1, 1]
    # a caliper of 0.45 lets T1 take C2 (0.4 away) but leaves T0 with one control
    m = match_nearest([0.0, 0.1], [0.02, 0.08, 0.5, 0.6], ratio=2, caliper_width=0.45)
    assert pairs(m) == {0: [0], 1: [1, 2]}


def test_no_replacement_never_reuses_and_replacement_may():
    rng = np.random.default_rng(1)
    xt, xc = rng.normal(0.5, 1, 300), rng.normal(0, 1, 400)
    m = match_nearest(xt, xc, caliper_width=0.2)
    assert len(np.unique(m.pairs_control)) == len(m.pairs_control)
    r = match_nearest(xt, xc, caliper_width=0.2, replace=True)
    assert len(np.unique(r.pairs_control)) < len(r.pairs_control)
    assert r.n_dropped_caliper <= m.n_dropped_caliper


def test_pooled_sd_by_hand():
    logit = np.array([1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 8.0])
    t = np.array([1, 1, 1, 0, 0, 0, 0], bool)
    assert pooled_sd(logit, t) == pytest.approx(np.sqrt((1.0 + 20.0 / 3.0) / 2.0))


def weights(m):
    """{control position: summed weight} over every set."""
    out = {}
    for c, w in zip(m.set_controls.tolist(), m.control_weight.tolist()):
        out[c] = out.get(c, 0.0) + w
    return out


@pytest.mark.parametrize("replace", [False, True])
def test_ties_are_kept_with_equal_weights_whatever_the_seed(replace):
    # four controls at the same logit as the participant: all four kept, 1/4 each (Matching ties=TRUE)
    for seed in range(20):
        m = match_nearest([0.0], [0.0, 0.0, 0.0, 0.0], seed=seed, replace=replace)
        assert pairs(m) == {0: [0, 1, 2, 3]}
        assert m.control_weight.tolist() == [0.25] * 4
    # equally far on either side: both kept, 1/2 each; the third is further and left out
    m = match_nearest([0.0], [-0.5, 0.5, 2.0], replace=replace)
    assert pairs(m) == {0: [0, 1]} and weights(m) == {0: 0.5, 1: 0.5}
    # 1:2 with a tie at the second place: three controls, 1/3 each
    m = match_nearest([0.0], [0.1, -0.3, 0.3, 0.9], ratio=2, replace=replace)
    assert pairs(m) == {0: [0, 1, 2]} and m.control_weight == pytest.approx([1 / 3] * 3)


def test_tied_participants_share_one_set():
    # two participants with one logit form one set; without replacement they need two controls, and
    # the three controls tied at 0.1 are all kept: weight 2/3 each, so the set's controls weigh 2
    m = match_nearest([0.0, 0.0, 1.0], [0.1, 0.1, 0.1, 0.9, 5.0], caliper_width=0.5)
    assert sorted(m.matched_treated.tolist()) == [0, 1, 2]
    set_of = dict(zip(m.matched_treated.tolist(), m.treated_set.tolist()))
    assert set_of[0] == set_of[1] != set_of[2]
    assert weights(m) == pytest.approx({0: 2 / 3, 1: 2 / 3, 2: 2 / 3, 3: 1.0})
    assert pairs(m) == {0: [0, 1, 2], 1: [0, 1, 2], 2: [3]}


def test_input_order_and_seed_do_not_change_the_match():
    rng = np.random.default_rng(5)
    xt = np.round(rng.normal(0.5, 1, 200), 1)  # coarse scores: many ties
    xc = np.round(rng.normal(0, 1, 500), 1)
    ref = match_nearest(xt, xc, caliper_width=0.2)
    perm = rng.permutation(len(xc))
    for seed in range(5):
        m = match_nearest(xt, xc[perm], caliper_width=0.2, seed=seed)
        # the same controls (by value) with the same total weight per value
        got = pd.Series(m.control_weight).groupby(xc[perm][m.set_controls]).sum()
        want = pd.Series(ref.control_weight).groupby(xc[ref.set_controls]).sum()
        pd.testing.assert_series_equal(got, want)


# ---------------------------------------------------------------- brute force


def brute_greedy(xt, xc, st_, sc, k, width):
    """O(n^2) reference: descending order, k passes, nearest available (right wins ties)."""
    order = np.argsort(-np.asarray(xt), kind="stable")
    avail = np.ones(len(xc), bool)
    out = {}
    active = list(order)
    for _ in range(k):
        nxt = []
        for i in active:
            d = np.abs(np.asarray(xc) - xt[i])
            d[~avail | (np.asarray(sc) != st_[i])] = np.inf
            j = int(np.argmin(d))
            if d[j] <= width:
                out.setdefault(int(i), []).append(j)
                avail[j] = False
                nxt.append(i)
        active = nxt
    return {k_: sorted(v) for k_, v in out.items()}


def brute_replace(xt, xc, st_, sc, k, width):
    out = {}
    for i, x in enumerate(xt):
        d = np.abs(np.asarray(xc) - x)
        d[np.asarray(sc) != st_[i]] = np.inf
        near = [int(j) for j in np.argsort(d, kind="stable")[:k] if d[j] <= width]
        if near:
            out[i] = sorted(near)
    return out


scores = st.lists(st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 6)), min_size=1, max_size=25, unique=True)


@settings(max_examples=150, deadline=None)
@given(xt=scores, xc=scores, k=st.integers(1, 3), width=st.sampled_from([0.05, 0.3, 10.0]),
       nstrata=st.integers(1, 3), data=st.data())
def test_matches_equal_brute_force(xt, xc, k, width, nstrata, data):
    # distinct scores across groups so distances never tie
    xc = [v + 1e-7 for v in xc if all(abs(v + 1e-7 - u) > 1e-9 for u in xt)]
    if not xc:
        return
    s_t = data.draw(st.lists(st.integers(0, nstrata - 1), min_size=len(xt), max_size=len(xt)))
    s_c = data.draw(st.lists(st.integers(0, nstrata - 1), min_size=len(xc), max_size=len(xc)))
    xt_a, xc_a = np.array(xt), np.array(xc)
    dists = np.abs(xt_a[:, None] - xc_a[None, :]).ravel()
    if len(np.unique(np.round(dists, 9))) < len(dists):
        return  # equal distances: tie-break order legitimately differs
    m = match_nearest(xt, xc, strata_treated=s_t, strata_control=s_c, ratio=k, caliper_width=width)
    assert pairs(m) == brute_greedy(xt, xc, s_t, s_c, k, width)
    r = match_nearest(xt, xc, strata_treated=s_t, strata_control=s_c, ratio=k, caliper_width=width, replace=True)
    assert pairs(r) == brute_replace(xt, xc, s_t, s_c, k, width)


def test_large_matching_is_subquadratic():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 400_000)
    t = rng.random(len(x)) < 1 / (1 + np.exp(-(x - 1)))
    t0 = time.perf_counter()
    m = match_nearest(x[t], x[~t], caliper_width=0.2)
    elapsed = time.perf_counter() - t0
    # a quadratic matcher needs ~1e10 distance evaluations here (hours); ours takes about a second
    assert elapsed < 30
    assert len(m.matched_treated) > 0.9 * t.sum()


def brute_tied_greedy(xt, xc, width):
    """O(n^2) reference with ties: blocks of equal scores in descending order, each taking its nearest
    available controls (right wins equal distances) until it has one per participant and the next
    distance is larger than the last one taken (so every control tied with the last one is taken)."""
    xt, xc = np.asarray(xt), np.asarray(xc)
    avail = np.ones(len(xc), bool)
    out = {}
    for x in sorted(set(xt.tolist()), reverse=True):
        need, taken, last = int(np.sum(xt == x)), 0, -1.0
        while True:
            d = np.where(avail, np.abs(xc - x), np.inf)
            near = d.min()
            if near == np.inf or near > width or (taken >= need and near > last + TIE_TOLERANCE):
                break
            pick = avail & (xc - x == near)
            if not pick.any():
                pick = avail & (x - xc == near)
            out.setdefault(x, []).extend(np.flatnonzero(pick).tolist())
            avail &= ~pick
            taken, last = taken + int(pick.sum()), near
    return {x: sorted(v) for x, v in out.items()}


@pytest.mark.parametrize("seed", range(20))
def test_runs_of_tied_controls_match_the_tied_brute_force(seed):
    # scores on a coarse grid, as a risk-set design gives: many participants and controls share a score
    rng = np.random.default_rng(seed)
    grid = np.round(rng.normal(size=6), 3)
    xt, xc = rng.choice(grid, 15), rng.choice(grid, 80)
    for width in (0.05, 0.5, 10.0):
        m = match_nearest(xt, xc, caliper_width=width)
        got = {}
        for s in np.unique(m.control_set):
            x = float(xt[m.matched_treated[m.treated_set == s][0]])
            got[x] = sorted(m.set_controls[m.control_set == s].tolist())
        assert got == brute_tied_greedy(xt, xc, width)


@pytest.mark.parametrize("seed", range(10))
def test_runs_of_tied_controls_stop_at_stratum_bounds(seed):
    # a run of equal scores can cross from one stratum into the next in the sorted controls; each
    # stratum must still match as the tied brute force does on its own people
    rng = np.random.default_rng(100 + seed)
    grid = np.round(rng.normal(size=4), 3)
    xt, xc = rng.choice(grid, 24), rng.choice(grid, 90)
    st, sc = rng.integers(0, 3, 24), rng.integers(0, 3, 90)
    for width in (0.05, 10.0):
        m = match_nearest(xt, xc, strata_treated=st, strata_control=sc, caliper_width=width)
        for s in range(3):
            got = {}
            for set_id in np.unique(m.control_set):
                first = m.matched_treated[m.treated_set == set_id][0]
                if st[first] == s:
                    got[float(xt[first])] = sorted(m.set_controls[m.control_set == set_id].tolist())
            local = np.flatnonzero(sc == s)
            want = brute_tied_greedy(xt[st == s], xc[local], width)
            assert got == {x: sorted(local[v].tolist()) for x, v in want.items()}
