"""marts.grant_metrics and the co-production self-assessment (hand computations inline)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.reciprocity import (
    GRANT_COLUMNS,
    ReciprocitySettings,
    coproduction_band,
    grant_metrics,
    score_assessments,
)
from tests.models.test_reciprocity_fixtures import GRANTS, WINDOW, assessment, load


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _by_grant(df):
    return {r["grant_id"]: r for _, r in df.iterrows()}


# --- self-assessment -------------------------------------------------------------------

def test_band_boundaries_and_labels():
    # 20–39 emerging, 40–59 developing, 60–79 established, 80–100 leading (our labels)
    cases = {20: "emerging", 39: "emerging", 40: "developing", 59: "developing", 60: "established",
             79: "established", 80: "leading", 100: "leading"}
    for score, band in cases.items():
        assert coproduction_band(score) == band
    assert coproduction_band(19) is None and coproduction_band(101) is None and coproduction_band(None) is None
    hub = ("not there", "starting out", "on the way", "going strong")  # The Hub's published labels
    assert coproduction_band(85, hub) == "going strong"


def test_scoring_complete_incomplete_and_invalid(con):
    rows = (
        assessment("TB1", "2024-03-01", [3] * 10 + [4] * 10)  # 30 + 40 = 70 → established
        + assessment("TB1", "2024-09-01", [5] * 20)  # 100 → leading
        + assessment("TB1", "2024-11-01", [1] * 19)  # one item missing → incomplete
        + assessment("TB2", "2024-02-01", [2] * 20)  # 40 → developing
        + [("TB2", "2024-02-01", "Assets ", "ITEM1", 2)]  # a duplicate after case/space folding → invalid
    )
    load(con, members=None, exchanges=None, assessments=rows)
    df = score_assessments(con).set_index(["timebank_id", "assessed_on"])
    got = {(tb, str(d)[:10]): (r["status"], r["coproduction_score"], r["coproduction_band"]) for (tb, d), r in df.iterrows()}
    assert got[("TB1", "2024-03-01")] == ("complete", 70.0, "established")
    assert got[("TB1", "2024-09-01")] == ("complete", 100.0, "leading")
    status, score, band = got[("TB1", "2024-11-01")]
    assert status == "incomplete" and np.isnan(score) and band is None
    assert got[("TB2", "2024-02-01")][0] == "invalid"
    assert df.loc[("TB1", pd.Timestamp("2024-03-01")), "items"] == 20


def test_scoring_absent_source(con):
    df = score_assessments(con)
    assert df.empty and "coproduction_band" in df.columns


# --- grant metrics ----------------------------------------------------------------------

def test_grant_metrics_hand_computed(con):
    load(con, grants=GRANTS, assessments=assessment("TB1", "2024-03-01", [3] * 10 + [4] * 10))
    g = _by_grant(grant_metrics(con, WINDOW, run_id="r1"))
    g1 = g["G1"]
    # G1 = TB1, 2024-01-01..06-30: E1–E6 and E10. Traded: A B X Y Z P Q = 7; two-way A B X Y Z = 5;
    # hours exchanged 2+2+1+0.5+1+3+1 = 10.5.
    assert (g1["members"], g1["active_members"], g1["two_way_members"], g1["exchanges"]) == (8, 7, 5, 7)
    assert g1["hours_exchanged"] == pytest.approx(10.5) and g1["hours_total"] == pytest.approx(13.0)
    assert g1["cost_per_active_member"] == pytest.approx(10000 / 7)
    assert g1["cost_per_hour_exchanged"] == pytest.approx(10000 / 10.5)
    assert g1["cost_per_two_way_member"] == pytest.approx(2000.0)
    # balances in H1: A 1, B 1, X 1 (E3 out, E5 in), Y 2/3, Z 2/3, P 0, Q 0 → 13/21
    # network: W = 9.5, W↔ = 4, circulating 2.5 (the X→Y→Z→X cycle with E3 only)
    comps = {"two_way_share": 5 / 7, "mean_balance_index": 13 / 21, "weighted_reciprocity": 4 / 9.5,
             "generalised_reciprocity": 2.5 / 9.5, "beneficiary_contribution_share": 2 / 3}
    for c, v in comps.items():
        assert g1[c] == pytest.approx(v), c
    assert g1["dyadic_reciprocity"] == pytest.approx(1 / 3)
    assert g1["reciprocity_index"] == pytest.approx(sum(comps.values()) / 5)
    assert (g1["coproduction_score"], g1["coproduction_band"]) == (70.0, "established")
    assert str(g1["coproduction_assessed_on"])[:10] == "2024-03-01"
    # G2 = TB1 H2: only E11 (X→Y, 1 hour). X and Y traded, neither both ways; X (patient) gave 1 hour.
    g2 = g["G2"]
    assert (g2["active_members"], g2["two_way_members"]) == (2, 0)
    assert g2["cost_per_active_member"] == 2500 and pd.isna(g2["cost_per_two_way_member"])
    assert g2["reciprocity_index"] == pytest.approx((0 + 0 + 0 + 0 + 1 / 3) / 5)
    # G3 = TB2: no exchanges at all; no assessment.
    g3 = g["G3"]
    assert g3["active_members"] == 0 and pd.isna(g3["cost_per_active_member"]) and pd.isna(g3["reciprocity_index"])
    assert pd.isna(g3["coproduction_score"]) and g3["coproduction_band"] is None
    assert pd.isna(g1["social_value"])  # no social value supplied


def test_a_grant_is_measured_and_costed_over_the_part_of_its_period_the_data_cover(con):
    """The log runs 2024-01-10 (E1) to 2024-09-01 (E11). G4 (2024-07-01..2025-06-30, 365 days, £3,650) is seen for 63
    days: £630 of it, on E11's 1 hour by X and Y; it was costed at £3,650 an hour. G5 (2023-11-01..2024-01-31, 92
    days, £9,200) is seen for 22 days: £2,200, on E1's 2 hours by A and B. G6 lies after the log: nothing seen."""
    extra = [("G4", "F3", "TB1", 3650.0, "2024-07-01", "2025-06-30"), ("G5", "F3", "TB1", 9200.0, "2023-11-01", "2024-01-31"),
             ("G6", "F3", "TB1", 1000.0, "2025-01-01", "2025-12-31")]
    load(con, grants=GRANTS + extra)
    g = _by_grant(grant_metrics(con, ReciprocitySettings(), run_id="r1"))
    assert (str(g["G4"]["data_start"])[:10], str(g["G4"]["data_end"])[:10]) == ("2024-01-10", "2024-09-01")
    g4, g5, g6 = g["G4"], g["G5"], g["G6"]
    assert (str(g4["observed_start"])[:10], str(g4["observed_end"])[:10]) == ("2024-07-01", "2024-09-01")
    assert g4["observed_share"] == pytest.approx(63 / 365) and g4["observed_amount"] == pytest.approx(630.0)
    assert (g4["active_members"], g4["hours_exchanged"]) == (2, 1.0)
    assert g4["cost_per_hour_exchanged"] == pytest.approx(630.0) and g4["cost_per_active_member"] == pytest.approx(315.0)
    assert (str(g5["observed_start"])[:10], str(g5["observed_end"])[:10]) == ("2024-01-10", "2024-01-31")
    assert g5["observed_amount"] == pytest.approx(2200.0) and g5["hours_exchanged"] == 2.0
    assert g5["cost_per_hour_exchanged"] == pytest.approx(1100.0) and g5["cost_per_active_member"] == pytest.approx(1100.0)
    assert pd.isna(g6["observed_start"]) and (g6["observed_share"], g6["observed_amount"], g6["members"]) == (0, 0, 0)
    assert pd.isna(g6["cost_per_active_member"]) and pd.isna(g6["reciprocity_index"])
    # A window set in the settings declares what the extract covers: the log covers G4 to 2024-12-31 (184 days).
    g = _by_grant(grant_metrics(con, WINDOW, run_id="r1"))
    assert str(g["G4"]["observed_end"])[:10] == "2024-12-31" and g["G4"]["observed_amount"] == pytest.approx(1840.0)
    assert g["G1"]["observed_share"] == 1 and g["G1"]["observed_amount"] == 10000


def test_assessment_after_the_grant_is_not_used(con):
    load(con, grants=GRANTS, assessments=assessment("TB1", "2024-08-01", [5] * 20))
    g = _by_grant(grant_metrics(con, WINDOW, run_id="r1"))
    assert pd.isna(g["G1"]["coproduction_score"])  # assessed after G1 ended (06-30)
    assert g["G2"]["coproduction_score"] == 100.0


def test_reciprocity_weighted_social_value_member_level(con):
    load(con, grants=GRANTS)
    sv = pd.DataFrame({"member_id": ["A", "P", "Q", "X"], "social_value": [100.0, 200.0, 50.0, 10.0]})
    g = _by_grant(grant_metrics(con, WINDOW, run_id="r1", social_value=sv))
    # G1: b in H1: A 1, P 0 (pure giver), Q 0 (pure receiver), X 1
    #     SV = 360; Σ SV·b = 100 + 10 = 110; α = 0.5 → 0.5·360 + 0.5·110 = 235
    assert (g["G1"]["social_value"], g["G1"]["balance_weighted_social_value"]) == (360.0, 110.0)
    assert g["G1"]["reciprocity_weighted_social_value"] == pytest.approx(235.0)
    assert g["G1"]["social_value_basis"] == "member"
    # G2: nobody balanced in H2 (X only gave) → Σ SV·b = 0 → 0.5·360 = 180
    assert g["G2"]["reciprocity_weighted_social_value"] == pytest.approx(180.0)
    assert pd.isna(g["G3"]["social_value"])
    # α = 1 ignores reciprocity; α = 0 counts only balanced value.
    one = _by_grant(grant_metrics(con, WINDOW.model_copy(update={"alpha": 1.0}), run_id="r", social_value=sv))
    zero = _by_grant(grant_metrics(con, WINDOW.model_copy(update={"alpha": 0.0}), run_id="r", social_value=sv))
    assert one["G1"]["reciprocity_weighted_social_value"] == 360 and zero["G1"]["reciprocity_weighted_social_value"] == 110
    # Tie member values to one grant with a grant_id column.
    tied = sv.assign(grant_id="G1")
    g = _by_grant(grant_metrics(con, WINDOW, run_id="r1", social_value=tied))
    assert g["G1"]["social_value"] == 360 and pd.isna(g["G2"]["social_value"])


def test_reciprocity_weighted_social_value_grant_and_timebank_level(con):
    load(con, grants=GRANTS)
    g = _by_grant(grant_metrics(con, WINDOW, run_id="r1",
                                social_value=pd.DataFrame({"grant_id": ["G1"], "social_value": [1000.0]})))
    # no member detail: b = the period's mean balance index (13/21 for G1)
    assert g["G1"]["reciprocity_weighted_social_value"] == pytest.approx(500 + 500 * 13 / 21)
    assert g["G1"]["social_value_basis"] == "grant"
    with pytest.raises(ValueError):
        grant_metrics(con, WINDOW, run_id="r1", social_value=pd.DataFrame({"value": [1.0]}))


def test_a_time_banks_social_value_is_shared_among_its_grants_by_the_hours_each_bought(con):
    """TB1's £1,150 over G1 (H1: 10.5 hours) and G2 (H2: E11's 1 hour): £1,050 and £100, adding up to £1,150. By
    amount (£10,000 and £5,000) it was £766.67 and £383.33, the same £ per £ whatever the hours. G1's balance-weighted
    value is 1,050 × 13/21 = 650 (mean balance in H1), G2's 0 (X only gave, Y only received); with α = 0.5 the
    weighted values are 850 and 50. TB2's £300 has no hours to share it by (G3 saw no exchange): not shared."""
    load(con, grants=GRANTS)
    by_bank = pd.DataFrame({"timebank_id": ["TB1", "TB2"], "social_value": [1150.0, 300.0]})
    g = _by_grant(grant_metrics(con, WINDOW, run_id="r1", social_value=by_bank))
    assert g["G1"]["social_value"] == pytest.approx(1050.0) and g["G2"]["social_value"] == pytest.approx(100.0)
    assert g["G1"]["balance_weighted_social_value"] == pytest.approx(650.0)
    assert g["G2"]["balance_weighted_social_value"] == 0
    assert g["G1"]["reciprocity_weighted_social_value"] == pytest.approx(850.0)
    assert g["G2"]["reciprocity_weighted_social_value"] == pytest.approx(50.0)
    assert pd.isna(g["G3"]["social_value"]) and g["G1"]["social_value_basis"] == "timebank"


@pytest.mark.parametrize("setup", ["absent", "empty grants", "grants only"])
def test_absent_or_empty_inputs(con, setup):
    if setup == "empty grants":
        load(con, grants=[])
    if setup == "grants only":
        load(con, members=None, exchanges=None, grants=GRANTS)
    df = grant_metrics(con, ReciprocitySettings(), run_id="r1")
    assert list(df.columns) == GRANT_COLUMNS
    if setup == "grants only":
        assert len(df) == 3 and (df["active_members"] == 0).all() and df["reciprocity_index"].isna().all()
    else:
        assert df.empty
