"""The reserved reciprocity pot: exact pence, ties, awkward amounts, and the sensitivity table."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.reciprocity import (
    ALLOCATION_COLUMNS,
    INDEX_COMPONENTS,
    SENSITIVITY_COLUMNS,
    IndexWeights,
    ReciprocitySettings,
    allocation_sensitivity,
    grant_metrics,
    largest_remainder,
    reciprocity_allocation,
)
from models.reciprocity.allocation import reserved_pot_pence, to_pence, weight_sets
from tests.models.test_reciprocity_fixtures import GRANTS, WINDOW, load


def _metrics(rows):
    """A grant_metrics-shaped frame: (grant_id, funder, amount, index components...)."""
    recs = []
    for grant_id, funder, amount, comps in rows:
        recs.append({"grant_id": grant_id, "funder": funder, "timebank_id": "TB", "amount": amount,
                     **dict(zip(INDEX_COMPONENTS, comps))})
    df = pd.DataFrame(recs)
    from models.reciprocity import reciprocity_index

    return pd.concat([df, reciprocity_index(df, IndexWeights())], axis=1)


def test_largest_remainder_exact_and_ties():
    # 100 pence over three equal weights: 33⅓ each; the spare penny goes to the first grant_id.
    assert largest_remainder(100, [1, 1, 1], ["G3", "G1", "G2"]) == [33, 34, 33]
    assert largest_remainder(100, [1, 1, 1], ["A", "B", "C"]) == [34, 33, 33]
    # Exact quotas need no rounding, even from binary floats (0.1 + 0.2 + 0.3 != 0.6 in floats).
    assert largest_remainder(6, [0.1, 0.2, 0.3], ["a", "b", "c"]) == [1, 2, 3]
    # Largest fractional part first: quotas 2.5, 1.5 (tie → key order), 1.0... total 5 over 5:3:2
    assert largest_remainder(5, [5, 3, 2], ["x", "y", "z"]) == [3, 1, 1]  # 2.5 1.5 1.0 → x gets the unit
    # All weights zero: an equal split; nothing at all to share.
    assert largest_remainder(10, [0, 0, 0], ["a", "b", "c"]) == [4, 3, 3]
    assert largest_remainder(0, [0.3, 0.7], ["a", "b"]) == [0, 0]
    assert largest_remainder(0, [], []) == []
    with pytest.raises(ValueError):
        largest_remainder(5, [-1, 2], ["a", "b"])


def test_largest_remainder_property():
    rng = np.random.default_rng(11)
    for _ in range(500):
        k = int(rng.integers(1, 12))
        total = int(rng.integers(0, 10**9))
        w = rng.random(k) * (rng.random(k) < 0.8)  # some zero weights
        parts = largest_remainder(total, w.tolist(), [f"g{i}" for i in range(k)])
        assert sum(parts) == total
        if w.sum() > 0:
            quota = total * w / w.sum()
            assert all(np.floor(q) - 1e-6 <= p <= np.ceil(q) + 1e-6 for p, q in zip(parts, quota))


def test_pence_conversion_of_awkward_amounts():
    assert to_pence(0.1 + 0.2) == 30
    assert to_pence(1234.565) == 123457  # the decimal the user typed, half up
    assert to_pence(3333.33) == 333333
    assert to_pence(0.005) == 1
    assert reserved_pot_pence(333333, 0.1) == 33333  # 33,333.3 → 33,333
    assert reserved_pot_pence(5, 0.1) == 1  # 0.5 → 1 (half up)


def test_allocation_sums_to_the_pot_exactly():
    frame = _metrics([
        ("G1", "F1", 3333.33, [0.5, 0.6, 0.3, 0.2, 1.0]),
        ("G2", "F1", 1234.567, [0.5, 0.6, 0.3, 0.2, 1.0]),  # same index as G1: a tie
        ("G3", "F1", 0.01, [1 / 3, 1 / 7, 0.0, 0.0, np.nan]),
        ("G4", "F2", 999.99, [np.nan] * 5),  # no data: index NaN → weight 0 → whole pot (only grant)
        ("G5", "F3", 100.0, [0.0] * 5),
        ("G6", "F3", 100.0, [0.0] * 5),  # all zero → equal split
    ])
    s = ReciprocitySettings(reserved_pot_share=0.07)
    alloc = reciprocity_allocation(frame, s, run_id="r1")
    assert list(alloc.columns) == ALLOCATION_COLUMNS
    for funder, rows in alloc.groupby("funder"):
        total = sum(to_pence(a) for a in rows["amount"])
        assert rows["allocation_pence"].sum() == reserved_pot_pence(total, 0.07) == rows["reserved_pot_pence"].iloc[0]
    f1 = alloc[alloc["funder"] == "F1"].set_index("grant_id")
    # F1 total 3333.33 + 1234.57 + 0.01 = 4567.91 → pot 7% = 319.7537 → 31975 pence
    assert f1["reserved_pot_pence"].iloc[0] == 31975
    assert abs(f1.loc["G1", "allocation_pence"] - f1.loc["G2", "allocation_pence"]) <= 1
    assert f1.loc["G1", "allocation_pence"] >= f1.loc["G2", "allocation_pence"]  # tie → first grant_id
    assert (alloc["allocation"] * 100).round().astype(int).tolist() == alloc["allocation_pence"].tolist()
    g4 = alloc.set_index("grant_id").loc["G4"]
    assert g4["allocation_pence"] == reserved_pot_pence(to_pence(999.99), 0.07) and g4["basis"].startswith("equal")
    f3 = alloc[alloc["funder"] == "F3"]
    assert f3["allocation_pence"].tolist() == [700, 700]


def test_allocation_is_proportional_to_the_index():
    frame = _metrics([("A", "F", 1000.0, [0.8] * 5), ("B", "F", 1000.0, [0.2] * 5)])
    alloc = reciprocity_allocation(frame, ReciprocitySettings(), run_id="r").set_index("grant_id")
    # pot 10% of £2,000 = £200 = 20,000 pence, split 0.8 : 0.2
    assert alloc.loc["A", "allocation_pence"] == 16000 and alloc.loc["B", "allocation_pence"] == 4000
    blend = ReciprocitySettings(allocation_rule="alpha_blend", alpha=0.5)
    alloc = reciprocity_allocation(frame, blend, run_id="r").set_index("grant_id")
    # weights 0.5 + 0.5·0.8 = 0.9 and 0.5 + 0.5·0.2 = 0.6 → 12,000 and 8,000
    assert alloc.loc["A", "allocation_pence"] == 12000 and alloc.loc["B", "allocation_pence"] == 8000


def test_sensitivity_table_shape_and_sums():
    frame = _metrics([
        ("G1", "F1", 10000.0, [0.9, 0.8, 0.1, 0.0, 0.5]),
        ("G2", "F1", 5000.0, [0.2, 0.3, 0.6, 0.7, 0.4]),
        ("G3", "F2", 2500.0, [0.5, 0.5, 0.5, 0.5, np.nan]),
    ])
    frame["social_value"] = [1000.0, 500.0, np.nan]
    frame["balance_weighted_social_value"] = [400.0, 100.0, np.nan]
    s = ReciprocitySettings(sensitivity_weight_sets={"reciprocity_only": IndexWeights(
        two_way_share=0, mean_balance_index=0, weighted_reciprocity=1, generalised_reciprocity=1,
        beneficiary_contribution_share=0)})
    sens = allocation_sensitivity(frame, reciprocity_allocation(frame, s, run_id="r1"), s, run_id="r1")
    sets = weight_sets(s)
    assert list(sets) == ["base", "equal"] + [f"without_{c}" for c in INDEX_COMPONENTS] + ["reciprocity_only"]
    assert list(sens.columns) == SENSITIVITY_COLUMNS
    assert len(sens) == len(s.sensitivity_alphas) * len(sets) * 3 == 5 * 8 * 3
    for (alpha, ws, funder), rows in sens.groupby(["alpha", "weight_set", "funder"]):
        pot = {"F1": 150000, "F2": 25000}[funder]
        assert rows["allocation_pence"].sum() == pot
        assert sorted(rows["rank"]) == list(range(1, len(rows) + 1))
    base = sens[(sens["weight_set"] == "base") & (sens["alpha"] == 0.5)].set_index("grant_id")
    assert (base["change_pence"] == 0).all()
    # Dropping generalised reciprocity helps G1 (which has none) against G2.
    drop = sens[(sens["weight_set"] == "without_generalised_reciprocity") & (sens["alpha"] == 0.5)].set_index("grant_id")
    assert drop.loc["G1", "change_pence"] > 0 and drop.loc["G2", "change_pence"] < 0
    assert json.loads(drop.loc["G1", "weights"])["generalised_reciprocity"] == 0.0
    # α moves the reciprocity-weighted social value: α·SV + (1 − α)·Σ SV·b
    g1 = sens[(sens["weight_set"] == "base") & (sens["grant_id"] == "G1")].set_index("alpha")
    assert g1.loc[0.0, "reciprocity_weighted_social_value"] == 400 and g1.loc[1.0, "reciprocity_weighted_social_value"] == 1000
    assert g1.loc[0.25, "reciprocity_weighted_social_value"] == pytest.approx(0.25 * 1000 + 0.75 * 400)


def test_from_the_warehouse_end_to_end():
    con = duckdb.connect()
    load(con, grants=GRANTS)
    gm = grant_metrics(con, WINDOW, run_id="r1")
    alloc = reciprocity_allocation(gm, WINDOW, run_id="r1").set_index("grant_id")
    # F1: £15,000 → pot £1,500 = 150,000 pence split by index G1 : G2; F2: £3,333.33 → 33,333 pence to G3.
    assert alloc.loc["G1", "allocation_pence"] + alloc.loc["G2", "allocation_pence"] == 150000
    assert alloc.loc["G3", "allocation_pence"] == 33333
    share = gm.set_index("grant_id")["reciprocity_index"]
    assert alloc.loc["G1", "allocation_share"] == pytest.approx(share["G1"] / (share["G1"] + share["G2"]))
    con.close()


def test_empty_inputs():
    empty = grant_metrics(duckdb.connect(), run_id="r")
    a = reciprocity_allocation(empty, run_id="r")
    s = allocation_sensitivity(empty, a, run_id="r")
    assert a.empty and list(a.columns) == ALLOCATION_COLUMNS
    assert s.empty and list(s.columns) == SENSITIVITY_COLUMNS


def test_written_marts_have_the_same_types_empty_or_full():
    from models.mart_writer import write_mart
    from models.reciprocity import MART_TABLES, timebank_activity

    def schemas(con):
        gm = grant_metrics(con, WINDOW, run_id="r")
        frames = {"timebank": timebank_activity(con, WINDOW, run_id="r"), "grants": gm,
                  "allocation": reciprocity_allocation(gm, WINDOW, run_id="r"),
                  "sensitivity": allocation_sensitivity(gm, reciprocity_allocation(gm, WINDOW, run_id="r"), WINDOW, run_id="r")}
        out = {}
        for key, frame in frames.items():
            write_mart(con, MART_TABLES[key], frame, "r")
            d = con.execute(f"DESCRIBE {MART_TABLES[key]}").df()
            out[key] = list(zip(d["column_name"], d["column_type"]))
        return out

    empty, full = duckdb.connect(), duckdb.connect()
    load(full, grants=GRANTS)
    assert schemas(empty) == schemas(full)
    assert ("period_start", "DATE") in schemas(full)["grants"]
    assert ("coproduction_band", "VARCHAR") in schemas(empty)["grants"]
