"""Well-being change on hand-checkable fixtures, through a real DuckDB warehouse built by ingest.

Each test writes a few contract CSV rows, ingests them with ``ingest_all`` (so ids are
pseudonymised exactly as in production), runs the model functions and checks numbers that
can be worked out by hand.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models import wellbeing as wb
from models.social_value.errors import SocialValueError
from models.social_value.model_outputs import ModelOutput
from models.wellbeing import scales
from models.wellbeing.journeys import unaccounted_readings
from models.wellbeing.stats import cohens_dz, mean_interval, rank_biserial, wilcoxon, wilson
from tests.conftest import KEY, ingest_all

HEADERS = {
    "persons": "person_id,birth_date,sex,area_code,imd_decile",
    "star_readings": "person_id,star_version,assessed_on,area,score",
    "timebank_members": "member_id,timebank_id,person_id,role,joined_on,left_on",
    "timebank_exchanges": "exchange_id,timebank_id,giver_id,receiver_id,hours,exchanged_on,category,kind",
    "programme_enrolments": "person_id,programme_id,started_on,ended_on",
}


def pid(raw: str) -> str:
    """The pseudonym ingest gives a raw id (HMAC-SHA256 under the test key)."""
    return hmac.new(KEY, raw.encode(), hashlib.sha256).hexdigest()


def readings(person: str, version: str, area: str, *dated_scores) -> list[str]:
    """CSV lines for one person's readings: dated_scores = ("2023-01-01", 3), ..."""
    return [f"{person},{version},{d},{area},{s}" for d, s in dated_scores]


def build(tmp_path: Path, warehouse, star: list[str], *, members=(), exchanges=(), enrolments=(), persons=None) -> None:
    """Write the CSVs (persons made up for every id used, unless given) and ingest them."""
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    ids = sorted({line.split(",")[0] for line in star} | {line.split(",")[2] for line in members if line.split(",")[2]}
                 | {line.split(",")[0] for line in enrolments})
    if persons is None:
        persons = [f"{p},1970-01-01,{'female' if i % 2 else 'male'},E1,{1 + i % 10}" for i, p in enumerate(ids)]
    for source, lines in (("persons", persons), ("star_readings", star), ("timebank_members", members),
                          ("timebank_exchanges", exchanges), ("programme_enrolments", enrolments)):
        if lines:
            (folder / f"{source}.csv").write_text("\n".join([HEADERS[source], *lines]) + "\n")
    reports = ingest_all(warehouse, folder)
    assert all(r.rows_quarantined == 0 for r in reports.values()), {s: r.rows_quarantined for s, r in reports.items()}


def journey(con, person: str, version: str, area: str) -> dict:
    rows = con.execute("SELECT * FROM core.star_journeys WHERE person_id = ? AND star_version = ? AND area = ?",
                       [pid(person), version, area]).df()
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def change_row(frame: pd.DataFrame, version: str, area: str, timebank="all", period="all") -> dict:
    r = frame[(frame.star_version == version) & (frame.area == area) & (frame.timebank_id == timebank) & (frame.period == period)]
    assert len(r) == 1, r
    return r.iloc[0].to_dict()


# ------------------------------------------------------------------------------ scales


def test_swemwbs_table_and_registry_agree():
    assert scales.swemwbs_metric(7) == 7.00 and scales.swemwbs_metric(21) == 19.25 and scales.swemwbs_metric(35) == 35.00
    table = scales.conversion_frame()
    assert len(table) == 29 and table["metric_score"].is_monotonic_increasing
    assert set(table["raw_score"]) == set(map(float, range(7, 36)))
    reg = scales.registry()
    assert (reg["swemwbs"]["scale_min"], reg["swemwbs"]["scale_max"]) == (7, 35)
    # every band lies inside its version's range, and bands tile the range
    st = scales.stage_frame()
    for (v, a), g in st.groupby(["star_version", "area"]):
        covered = sorted(x for r in g.itertuples() for x in range(int(r.band_min), int(r.band_max) + 1))
        assert covered == list(range(int(reg[v]["scale_min"]), int(reg[v]["scale_max"]) + 1)), (v, a)


def test_swemwbs_is_converted_before_change(tmp_path, warehouse):
    star = (readings("P1", "swemwbs", "total", ("2023-01-10", 20), ("2023-07-10", 24))
            + readings("P2", "swemwbs", "total", ("2023-01-10", 20), ("2023-07-10", 23)))
    build(tmp_path, warehouse, star)
    wb.write_core(warehouse, wb.WellbeingSettings(), "r")
    p1, p2 = journey(warehouse, "P1", "swemwbs", "total"), journey(warehouse, "P2", "swemwbs", "total")
    assert p1["baseline_score"] == 18.59 and p1["latest_score"] == 21.54
    assert p1["change"] == pytest.approx(2.95) and p2["change"] == pytest.approx(2.14)
    assert p1["score_scale"] == "rasch_metric"
    # Reliable change with the default SEM 1.03 (Shah et al. 2018): threshold 1.96 * sqrt(2) * 1.03 = 2.855 points.
    assert p1["rci_threshold"] == pytest.approx(1.96 * math.sqrt(2) * 1.03)
    assert p1["rci"] == pytest.approx(2.95 / (math.sqrt(2) * 1.03))
    assert bool(p1["reliable_improvement"]) and not bool(p2["reliable_improvement"])
    assert unaccounted_readings(warehouse) == 0


def test_unaccounted_readings_counts_a_lost_reading_not_a_raw_score_without_conversion(tmp_path, warehouse):
    star = (readings("P1", "swemwbs", "total", ("2023-01-10", 20.5), ("2023-07-10", 24))
            + readings("P2", "recovery_star", "work", ("2023-01-10", 4), ("2023-07-10", 6)))
    build(tmp_path, warehouse, star)
    counts = wb.write_core(warehouse, wb.WellbeingSettings(), "r")
    assert counts["readings_left_out"] == 1 and unaccounted_readings(warehouse) == 0
    warehouse.execute("DELETE FROM core.wellbeing_readings WHERE person_id = ? AND assessed_on = '2023-07-10'",
                      [pid("P2")])
    assert unaccounted_readings(warehouse) == 1


# ------------------------------------------------------------------------------ baseline rules


STAR_RULES = (readings("A", "recovery_star", "work", ("2023-01-01", 5), ("2023-04-01", 3), ("2023-10-01", 7))
              + readings("B", "recovery_star", "work", ("2023-01-01", 3), ("2023-04-01", 5), ("2023-10-01", 6))
              + readings("C", "recovery_star", "work", ("2023-01-01", 6), ("2023-04-01", 4)))


def test_baseline_first_reading(tmp_path, warehouse):
    build(tmp_path, warehouse, STAR_RULES)
    wb.write_core(warehouse, wb.WellbeingSettings(baseline_rule="first"), "r")
    a, b, c = (journey(warehouse, p, "recovery_star", "work") for p in "ABC")
    assert (a["baseline_score"], a["latest_score"], a["change"], a["baseline_reading"]) == (5, 7, 2, 1)
    assert (b["baseline_score"], b["change"]) == (3, 3)
    assert (c["baseline_score"], c["latest_score"], c["change"], c["outcome"]) == (6, 4, -2, "worse")
    # months between 2023-01-01 and 2023-10-01: 273 days / 30.4375
    assert a["months_between"] == pytest.approx(273 / 30.4375)
    row = change_row(wb.change_table(warehouse, wb.WellbeingSettings()), "recovery_star", "work")
    assert (row["n_people"], row["n_paired"], row["mean_change"]) == (3, 3, 1.0)
    assert (row["n_improved"], row["n_same"], row["n_worse"]) == (2, 0, 1)
    assert row["baseline_rule"] == "first"


def test_baseline_lower_of_first_two(tmp_path, warehouse):
    build(tmp_path, warehouse, STAR_RULES)
    settings = wb.WellbeingSettings(baseline_rule="lower_of_first_two")
    wb.write_core(warehouse, settings, "r")
    a, b, c = (journey(warehouse, p, "recovery_star", "work") for p in "ABC")
    assert (a["baseline_score"], a["change"], a["baseline_reading"]) == (3, 4, 2)  # 3 is lower than 5
    assert (b["baseline_score"], b["change"], b["baseline_reading"]) == (3, 3, 1)  # first already lower
    # C's lower reading is its last: no later reading to measure from, so no change.
    assert c["baseline_score"] == 4 and not c["paired"] and (c["change"] is None or math.isnan(c["change"]))
    row = change_row(wb.change_table(warehouse, settings), "recovery_star", "work")
    assert (row["n_people"], row["n_paired"], row["mean_change"]) == (3, 2, 3.5)
    assert row["baseline_rule"] == "lower_of_first_two"


# ------------------------------------------------------------------------------ 1-5 Star, snapshot, transitions


def test_wellbeing_star_one_to_five(tmp_path, warehouse):
    star = (readings("W1", "wellbeing_star", "money", ("2023-01-01", 1), ("2023-06-01", 5))
            + readings("W2", "wellbeing_star", "money", ("2023-01-01", 3), ("2023-06-01", 3)))
    build(tmp_path, warehouse, star)
    wb.write_core(warehouse, wb.WellbeingSettings(), "r")
    w1 = journey(warehouse, "W1", "wellbeing_star", "money")
    assert (w1["baseline_stage"], w1["latest_stage"]) == ("not_thinking_about_it", "as_good_as_it_can_be")
    assert (w1["baseline_stage_order"], w1["latest_stage_order"]) == (1, 5)
    assert journey(warehouse, "W2", "wellbeing_star", "money")["baseline_stage"] == "making_changes"
    r = warehouse.execute("SELECT raw_score, score_10 FROM core.wellbeing_readings ORDER BY raw_score").fetchall()
    assert {x: y for x, y in r} == {1.0: 1.0, 3.0: 5.5, 5.0: 10.0}  # 1-5 mapped onto 1-10
    # no reliability is configured for Outcomes Stars by default: no RCI, never a made-up one
    assert w1["rci"] is None or math.isnan(w1["rci"])
    row = change_row(wb.change_table(warehouse, wb.WellbeingSettings()), "wellbeing_star", "money")
    assert (row["mean_change"], row["n_improved"], row["n_same"], row["n_rci"]) == (2.0, 1, 1, 0)


def test_single_reading_counts_in_snapshot_not_in_change(tmp_path, warehouse):
    star = (readings("S1", "justice_star", "accommodation", ("2023-01-01", 2))  # one reading only
            + readings("S2", "justice_star", "accommodation", ("2023-01-01", 4), ("2023-05-01", 6)))
    build(tmp_path, warehouse, star)
    settings = wb.WellbeingSettings()
    wb.write_core(warehouse, settings, "r")
    row = change_row(wb.change_table(warehouse, settings), "justice_star", "accommodation")
    assert (row["n_people"], row["n_single_reading"], row["n_paired"]) == (2, 1, 1)
    assert row["mean_baseline"] == 3.0 and row["mean_baseline_paired"] == 4.0 and row["mean_change"] == 2.0
    snap = wb.snapshot_table(warehouse, settings)
    snap = snap[(snap.area == "accommodation") & (snap.timebank_id == "all")].set_index("stage")
    assert snap.loc["stuck", "n"] == 1 and snap.loc["accepting_help", "n"] == 1 and snap["n"].sum() == 2
    assert snap.loc["stuck", "pct"] == 50.0 and (snap["n_people"] == 2).all()
    trans = wb.transitions_table(warehouse, settings)
    assert trans[trans.timebank_id == "all"]["n"].sum() == 1  # only the paired person moves


def test_transition_matrix(tmp_path, warehouse):
    star = (readings("T1", "recovery_star", "work", ("2023-01-01", 1), ("2023-06-01", 4))   # stuck -> accepting_help
            + readings("T2", "recovery_star", "work", ("2023-01-01", 2), ("2023-06-01", 5))  # stuck -> believing
            + readings("T3", "recovery_star", "work", ("2023-01-01", 2), ("2023-06-01", 1))  # stuck -> stuck
            + readings("T4", "recovery_star", "work", ("2023-01-01", 8), ("2023-06-01", 6)))  # learning -> believing
    build(tmp_path, warehouse, star)
    wb.write_core(warehouse, wb.WellbeingSettings(), "r")
    t = wb.transitions_table(warehouse, wb.WellbeingSettings())
    t = t[(t.area == "work") & (t.timebank_id == "all")]
    assert len(t) == 25  # the full 5 x 5 matrix, zero cells included
    m = t.pivot(index="baseline_stage_order", columns="latest_stage_order", values="n")
    expected = np.zeros((5, 5), dtype=int)
    expected[0, 1] = expected[0, 2] = expected[0, 0] = 1
    expected[3, 2] = 1
    assert (m.to_numpy() == expected).all()
    stuck = t[t.baseline_stage == "stuck"].set_index("latest_stage")
    assert stuck.loc["accepting_help", "pct_of_baseline_stage"] == pytest.approx(100 / 3)
    assert (stuck["n_baseline_stage"] == 3).all()
    assert t.set_index(["baseline_stage", "latest_stage"]).loc[("learning", "believing"), "movement"] == "back"
    assert t.set_index(["baseline_stage", "latest_stage"]).loc[("stuck", "stuck"), "movement"] == "same"


# ------------------------------------------------------------------------------ reliable change


def test_reliable_change_exactly_at_the_threshold_is_not_reliable(tmp_path, warehouse):
    # r = 0.5 and SD1 = 2/1.96 give S_diff = sqrt(2) * SD1 * sqrt(0.5) = 2/1.96, so a change of 2 has RCI = 1.96.
    star = (readings("R1", "recovery_star", "work", ("2023-01-01", 3), ("2023-06-01", 5))    # +2: RCI 1.96
            + readings("R2", "recovery_star", "work", ("2023-01-01", 3), ("2023-06-01", 6))  # +3: RCI 2.94
            + readings("R3", "recovery_star", "work", ("2023-01-01", 6), ("2023-06-01", 3))  # -3: reliable deterioration
            + readings("R4", "recovery_star", "work", ("2023-01-01", 6), ("2023-06-01", 4)))  # -2: not reliable
    build(tmp_path, warehouse, star)
    settings = wb.WellbeingSettings(reliability={"recovery_star": 0.5}, rci_sd={"recovery_star": 2 / 1.96})
    wb.write_core(warehouse, settings, "r")
    r1, r2, r3, r4 = (journey(warehouse, p, "recovery_star", "work") for p in ("R1", "R2", "R3", "R4"))
    assert r1["rci"] == pytest.approx(1.96) and r1["rci_threshold"] == pytest.approx(2.0)
    assert not r1["reliable_improvement"] and not r1["reliable_deterioration"]
    assert r2["rci"] == pytest.approx(2.94) and r2["reliable_improvement"]
    assert r3["reliable_deterioration"] and not r3["reliable_improvement"]
    assert not r4["reliable_deterioration"]
    row = change_row(wb.change_table(warehouse, settings), "recovery_star", "work")
    assert (row["n_rci"], row["n_reliable_improvement"], row["n_reliable_deterioration"]) == (4, 1, 1)
    assert row["pct_reliable_improvement"] == 25.0


def test_rci_uses_the_baseline_sd_of_the_data(tmp_path, warehouse):
    # Baselines 3 and 5: SD1 = sqrt(2); r = 0.75: SE = sqrt(2) * 0.5, S_diff = sqrt(2) * SE = 1.
    star = (readings("D1", "home_star", "my_money", ("2023-01-01", 3), ("2023-06-01", 5))
            + readings("D2", "home_star", "my_money", ("2023-01-01", 5), ("2023-06-01", 6)))
    build(tmp_path, warehouse, star)
    wb.write_core(warehouse, wb.WellbeingSettings(reliability={"home_star": 0.75}), "r")
    d1, d2 = journey(warehouse, "D1", "home_star", "my_money"), journey(warehouse, "D2", "home_star", "my_money")
    assert d1["rci_sd"] == pytest.approx(math.sqrt(2)) and d1["s_diff"] == pytest.approx(1.0)
    assert (d1["rci"], d2["rci"]) == (pytest.approx(2.0), pytest.approx(1.0))
    assert d1["reliable_improvement"] and not d2["reliable_improvement"]


def test_reliable_improvement_mart_for_the_social_value_model(tmp_path, warehouse):
    from models.social_value.model_outputs import ModelOutput, deadweight_from_comparison

    # Participants: members of TB01 (M1..M3). Comparison: N1, N2 (readings, no membership).
    star = (readings("M1", "swemwbs", "total", ("2023-01-10", 18), ("2023-07-10", 24))    # 17.43 -> 21.54: +4.11 reliable
            + readings("M2", "swemwbs", "total", ("2023-01-10", 20), ("2023-07-10", 21))  # +0.66
            + readings("M3", "swemwbs", "total", ("2023-01-10", 25), ("2023-07-10", 20))  # -3.76 reliable deterioration
            + readings("N1", "swemwbs", "total", ("2023-01-10", 20), ("2023-07-10", 20))
            + readings("N2", "swemwbs", "total", ("2023-01-10", 17), ("2023-07-10", 21)))  # 16.88 -> 19.25: +2.37
    members = [f"X{i},TB01,M{i},community,2022-06-01," for i in (1, 2, 3)]
    build(tmp_path, warehouse, star, members=members)
    settings = wb.WellbeingSettings()
    wb.write_core(warehouse, settings, "r")
    rel = wb.reliable_table(warehouse, settings)
    overall = rel.set_index("output_key")
    assert {"reliable_wellbeing_improvement", "reliable_wellbeing_improvement@TB01",
            "reliable_wellbeing_improvement.swemwbs", "reliable_wellbeing_improvement_share"} <= set(overall.index)
    r = overall.loc["reliable_wellbeing_improvement"]
    share, lo, hi = wilson(1, 3)
    assert (r["estimate"], r["n"], r["n_events"]) == (1.0, 3, 1)
    assert r["ci_low"] == pytest.approx(3 * lo) and r["ci_high"] == pytest.approx(3 * hi)
    assert r["participant_rate"] == pytest.approx(1 / 3) and r["comparison_rate"] == 0.0 and r["comparison_n"] == 2
    assert r["small_n"] and r["estimand"] == "gross" and r["direction"] == "higher_is_better"
    assert overall.loc["reliable_wellbeing_deterioration", "estimate"] == 1.0
    outputs = wb.model_outputs(rel)
    parsed = ModelOutput.from_value("reliable_wellbeing_improvement", outputs["reliable_wellbeing_improvement"])
    assert parsed.estimate == 1.0 and parsed.n == 3 and parsed.direction == "higher_is_better"
    # its comparison rate is everyone else's, unmatched: deadweight from_comparison refuses it
    assert parsed.comparison == "unmatched"
    with pytest.raises(SocialValueError, match="from the matched sample"):
        deadweight_from_comparison(parsed, "reliable_wellbeing_improvement", outcome="better_wellbeing")


def _effects_row(version, area, estimate, ci_low, ci_high, n_matched, status="estimated", outcome="improvement"):
    return {"star_version": version, "area": area, "outcome": outcome, "status": status, "estimate": estimate,
            "ci_low": ci_low, "ci_high": ci_high, "n_matched": n_matched, "estimand": "ATT", "design": "prior_reading"}


def test_matched_change_for_the_social_value_model():
    from models.wellbeing.effects import model_outputs as matched_outputs

    frame = pd.DataFrame([
        _effects_row("recovery_star", "mean_of_areas", 0.5, -0.5, 1.5, 10),      # 1-10: 10 x 0.5 = 5 person-points
        _effects_row("recovery_star", "work", 2.0, 1.0, 3.0, 10),                # an area: not the quantity
        _effects_row("wellbeing_star", "mean_of_areas", -0.2, -0.6, 0.2, 8),     # 1-5: x 9/4 -> -0.45 x 8 = -3.6
        _effects_row("wellbeing_star", "at_least_one_area", 0.3, 0.1, 0.5, 8, outcome="reliable_improvement"),
        _effects_row("all", "mean_of_areas", 0.1, -0.3, 0.5, 18),                # pooled, already 1-10: 1.8
        _effects_row("swemwbs", "mean_of_areas", None, None, None, None, status="not estimated: 1 participant"),
    ])
    out = matched_outputs(frame)
    assert out["wellbeing_matched_change.recovery_star"]["estimate"] == pytest.approx(5.0)
    assert (out["wellbeing_matched_change.recovery_star"]["ci_low"], out["wellbeing_matched_change.recovery_star"]["ci_high"]) \
        == (pytest.approx(-5.0), pytest.approx(15.0))
    star = out["wellbeing_matched_change.wellbeing_star"]
    assert (star["estimate"], star["ci_low"], star["ci_high"]) == (pytest.approx(-3.6), pytest.approx(-10.8), pytest.approx(3.6))
    # the overall key is the pooled row; a deterioration is negative and stays so (net, not truncated at 0)
    overall = ModelOutput.from_value("wellbeing_matched_change", out["wellbeing_matched_change"])
    assert overall.estimate == pytest.approx(1.8) and overall.n == 18 and overall.estimand == "net"
    assert overall.comparison == "matched" and not overall.is_nonnegative
    assert "wellbeing_matched_change.swemwbs" not in out and "life_satisfaction_matched_change" not in out
    # one instrument and no pooled row: the overall key is that instrument's; life satisfaction is already WELLBYs
    one = matched_outputs(pd.DataFrame([_effects_row("wellbeing_star", "mean_of_areas", -0.2, -0.6, 0.2, 8),
                                        _effects_row("ons4", "life_satisfaction", 0.25, -0.25, 0.75, 12)]))
    assert one["wellbeing_matched_change"]["estimate"] == pytest.approx(-3.6)
    assert one["life_satisfaction_matched_change"]["estimate"] == pytest.approx(3.0)


def test_person_reliable_improvement_needs_no_reliable_deterioration(tmp_path, warehouse):
    # One person, two areas: one reliably better, one reliably worse -> not a reliable improvement (IAPT rule).
    star = (readings("Q1", "recovery_star", "work", ("2023-01-01", 2), ("2023-06-01", 8))
            + readings("Q1", "recovery_star", "trust_hope", ("2023-01-01", 8), ("2023-06-01", 2))
            + readings("Q2", "recovery_star", "work", ("2023-01-01", 2), ("2023-06-01", 8))
            + readings("Q2", "recovery_star", "trust_hope", ("2023-01-01", 5), ("2023-06-01", 5)))
    build(tmp_path, warehouse, star)
    settings = wb.WellbeingSettings(reliability={"recovery_star": 0.8}, rci_sd={"recovery_star": 1.0})
    wb.write_core(warehouse, settings, "r")
    ch = wb.change_table(warehouse, settings)
    any_area = change_row(ch, "recovery_star", "at_least_one_area")
    assert (any_area["n_paired"], any_area["n_improved"], any_area["n_worse"], any_area["n_same"]) == (2, 2, 1, 0)
    assert (any_area["n_reliable_improvement"], any_area["n_reliable_deterioration"]) == (1, 1)


# ------------------------------------------------------------------------------ direction (ONS4 anxiety)


def test_anxiety_lower_is_better(tmp_path, warehouse):
    star = (readings("O1", "ons4", "anxiety", ("2023-01-01", 8), ("2023-06-01", 3))
            + readings("O1", "ons4", "life_satisfaction", ("2023-01-01", 8), ("2023-06-01", 3)))
    build(tmp_path, warehouse, star)
    settings = wb.WellbeingSettings(reliability={"ons4": 0.5}, rci_sd={"ons4": 1.0})
    wb.write_core(warehouse, settings, "r")
    anx, life = journey(warehouse, "O1", "ons4", "anxiety"), journey(warehouse, "O1", "ons4", "life_satisfaction")
    assert anx["change"] == -5 and anx["improvement"] == 5 and anx["outcome"] == "improved" and not anx["higher_is_better"]
    assert life["change"] == -5 and life["improvement"] == -5 and life["outcome"] == "worse"
    assert (anx["baseline_stage"], anx["latest_stage"]) == ("high", "low")
    assert anx["latest_stage_order"] > anx["baseline_stage_order"]  # order runs worst -> best
    assert (life["baseline_stage"], life["latest_stage"]) == ("high", "low")
    assert life["latest_stage_order"] < life["baseline_stage_order"]
    assert anx["rci"] == pytest.approx(-5.0) and anx["reliable_improvement"] and not anx["reliable_deterioration"]
    assert life["reliable_deterioration"]
    oriented = dict(warehouse.execute(
        "SELECT raw_score, score_oriented FROM core.wellbeing_readings WHERE area = 'anxiety'").fetchall())
    assert oriented == {8.0: 2.0, 3.0: 7.0}
    ch = wb.change_table(warehouse, settings)
    row = change_row(ch, "ons4", "anxiety")
    assert row["mean_change"] == -5 and not row["higher_is_better"] and row["n_improved"] == 1
    t = wb.transitions_table(warehouse, settings)
    moved = t[(t.area == "anxiety") & (t.timebank_id == "all") & (t.n > 0)]
    assert moved[["baseline_stage", "latest_stage", "movement"]].values.tolist() == [["high", "low", "forward"]]


# ------------------------------------------------------------------------------ the <30 flag and the statistics


def _paired_people(n: int, prefix: str = "F") -> list[str]:
    lines = []
    for i in range(n):
        lines += readings(f"{prefix}{i:03d}", "wemwbs", "total", ("2023-02-01", 40 + i % 7), ("2023-08-01", 42 + i % 5))
    return lines


@pytest.mark.parametrize("n,small", [(29, True), (30, False)])
def test_fewer_than_30_paired_is_flagged(tmp_path, warehouse, n, small):
    build(tmp_path, warehouse, _paired_people(n))
    settings = wb.WellbeingSettings()
    wb.write_core(warehouse, settings, "r")
    ch = wb.change_table(warehouse, settings)
    row = change_row(ch, "wemwbs", "total")
    assert row["n_paired"] == n and bool(row["small_n"]) is small
    assert bool(change_row(ch, "wemwbs", "at_least_one_area")["small_n"]) is small
    d = np.array([(42 + i % 5) - (40 + i % 7) for i in range(n)], dtype=float)
    mean, sd, lo, hi = mean_interval(d)
    assert row["mean_change"] == pytest.approx(d.mean()) and row["sd_change"] == pytest.approx(d.std(ddof=1))
    half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(d.mean() - half), pytest.approx(d.mean() + half))
    assert row["wilcoxon_p"] == pytest.approx(stats.wilcoxon(d, method="asymptotic").pvalue)
    assert row["cohens_dz"] == pytest.approx(d.mean() / d.std(ddof=1))


def test_effect_sizes_by_hand():
    # changes 1, 2, -3, 0: non-zero |d| ranks 1, 2, 3; R+ = 3, R- = 3 -> r = 0
    assert rank_biserial(np.array([1, 2, -3, 0])) == 0.0
    # 1, 2, 3, -1: |d| ranks 1.5, 3, 4, 1.5; R+ = 8.5, R- = 1.5 -> r = 7/10
    assert rank_biserial(np.array([1, 2, 3, -1])) == pytest.approx(0.7)
    assert rank_biserial(np.array([2, 2])) == 1.0 and math.isnan(rank_biserial(np.array([0, 0])))
    assert cohens_dz(np.array([1.0, 3.0])) == pytest.approx(2 / math.sqrt(2))
    assert math.isnan(wilcoxon(np.zeros(5))[1])
    assert wilcoxon(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))[1] == pytest.approx(0.0625)  # exact: 2 / 2^5
    share, lo, hi = wilson(0, 10)
    assert share == 0 and lo == 0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert wilson(5, 10)[1:] == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))


# ------------------------------------------------------------------------------ hours, participants, time banks, periods


def test_hours_up_to_each_reading_and_participants(tmp_path, warehouse):
    star = (readings("H1", "recovery_star", "work", ("2023-03-01", 4), ("2023-09-01", 6))
            + readings("H2", "recovery_star", "work", ("2023-03-01", 4), ("2023-09-01", 4))
            + readings("H3", "recovery_star", "work", ("2023-03-01", 5), ("2023-09-01", 5)))
    members = ["MA,TB01,H1,community,2023-01-01,", "MB,TB02,H2,patient,2023-01-01,",
               "MC,TB03,H3,community,2024-01-01,",  # joins after the last reading: a waiting-list comparison
               "STAFF,TB01,,staff,2023-01-01,", "SYS,TB01,,system,2023-01-01,"]
    exchanges = ["E1,TB01,MA,MB,2,2023-02-01,x,exchange",
                 "E2,TB01,MA,MB,3,2023-06-15,x,exchange",
                 "E3,TB01,MB,MA,1.5,2023-04-01,x,group",
                 "E4,TB01,MA,SYS,5,2023-04-01,,donation",      # not time given
                 "E5,TB01,SYS,MA,5,2023-04-01,,system_credit",  # not time received
                 "E6,TB01,MA,MB,4,2023-10-01,x,exchange"]       # after the last reading
    build(tmp_path, warehouse, star, members=members, exchanges=exchanges)
    settings = wb.WellbeingSettings()
    wb.write_core(warehouse, settings, "r")
    h = warehouse.execute(
        "SELECT person_id, assessed_on::VARCHAR, hours_given, hours_received FROM core.wellbeing_readings ORDER BY ALL"
    ).fetchall()
    got = {(p, d): (g, r) for p, d, g, r in h}
    assert got[(pid("H1"), "2023-03-01")] == (2.0, 0.0) and got[(pid("H1"), "2023-09-01")] == (5.0, 1.5)
    assert got[(pid("H2"), "2023-03-01")] == (0.0, 2.0) and got[(pid("H2"), "2023-09-01")] == (1.5, 5.0)
    assert got[(pid("H3"), "2023-09-01")] == (0.0, 0.0)
    people = dict(warehouse.execute("SELECT person_id, participant FROM core.wellbeing_people").fetchall())
    assert people == {pid("H1"): True, pid("H2"): True, pid("H3"): False}
    tb = {r[0]: r[1] for r in warehouse.execute("SELECT person_id, timebank_id FROM core.star_journeys").fetchall()}
    assert tb == {pid("H1"): "TB01", pid("H2"): "TB02", pid("H3"): "none"}
    # a 3-month window, (2023-06-01, 2023-09-01], keeps only E2 (2023-06-15) of the hours given
    wb.write_core(warehouse, wb.WellbeingSettings(hours_window_months=3), "r")
    g = warehouse.execute("SELECT hours_given FROM core.wellbeing_readings WHERE person_id = ? AND assessed_on = '2023-09-01'",
                          [pid("H1")]).fetchall()
    assert g == [(3.0,)]
    ch = wb.change_table(warehouse, settings)
    assert set(ch["timebank_id"]) == {"TB01", "TB02", "none", "all"} and set(ch["period"]) == {"2023", "all"}
    q = wb.change_table(warehouse, wb.WellbeingSettings(period="quarter"))
    assert set(q["period"]) == {"2023-Q1", "all"}


def test_enrolment_makes_a_participant(tmp_path, warehouse):
    star = readings("E1", "recovery_star", "work", ("2023-03-01", 4), ("2023-09-01", 6))
    build(tmp_path, warehouse, star, enrolments=["E1,peer_visiting_after_discharge,2023-02-01,"])
    wb.write_core(warehouse, wb.WellbeingSettings(), "r")
    assert warehouse.execute("SELECT participant, timebank_id FROM core.wellbeing_people").fetchall() == [(True, "none")]


# ------------------------------------------------------------------------------ empty sources


def test_no_sources_gives_empty_marts_with_their_columns(tmp_path, warehouse):
    (tmp_path / "empty").mkdir()
    ingest_all(warehouse, tmp_path / "empty")
    counts = wb.run_all(warehouse, wb.WellbeingSettings(), run_id="r")
    assert counts["readings_staged"] == 0
    for table in (*wb.MART_TABLES, *wb.CORE_TABLES):
        assert warehouse.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)], table
    for table in wb.MART_TABLES:
        cols = [r[0] for r in warehouse.execute(f"DESCRIBE {table}").fetchall()]
        assert cols == list(wb.SCHEMAS[table]), table


def test_no_staging_schema_at_all(warehouse):
    counts = wb.run_all(warehouse, wb.WellbeingSettings(), run_id="r")
    assert counts["people"] == 0 and all(counts[t] == 0 for t in wb.MART_TABLES)


def test_marts_never_hold_person_identifiers(tmp_path, warehouse):
    build(tmp_path, warehouse, STAR_RULES)
    wb.run_all(warehouse, wb.WellbeingSettings(), run_id="run-7")
    for table in wb.MART_TABLES:
        cols = {r[0] for r in warehouse.execute(f"DESCRIBE {table}").fetchall()}
        assert not cols & {"person_id", "member_id"}, table
        runs = warehouse.execute(f"SELECT DISTINCT run_id FROM {table}").fetchall()
        assert runs in ([], [("run-7",)]), table


def test_settings_validation():
    with pytest.raises(ValueError, match="reliability"):
        wb.WellbeingSettings(reliability={"wemwbs": 1.2})
    with pytest.raises(ValueError, match="sem"):
        wb.WellbeingSettings(sem={"swemwbs": 0})
    with pytest.raises(ValueError):
        wb.WellbeingSettings(baseline_rule="last")
    defaults = wb.WellbeingSettings()
    assert defaults.reliability == {"wemwbs": 0.89} and defaults.sem == {"swemwbs": 1.03}
    assert defaults.lookup("reliability", "wemwbs", "total") == 0.89
    assert wb.WellbeingSettings(reliability={"ons4": 0.5, "ons4.anxiety": 0.7}).lookup("reliability", "ons4", "anxiety") == 0.7


def test_build_core_computes_on_a_read_only_warehouse_and_writes_nothing(tmp_path, warehouse):
    """build_core returns the four core tables as relations (temporary tables of the connection), so it runs on a
    read-only warehouse; written by write_core, they hold the same rows."""
    star = (readings("P1", "swemwbs", "total", ("2023-01-10", 20), ("2023-07-10", 24))
            + readings("P2", "swemwbs", "total", ("2023-01-10", 20)))
    build(tmp_path, warehouse, star)
    warehouse.close()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        frames, covariates = wb.build_core(con, wb.WellbeingSettings())
        computed = {name: rel.order("ALL").fetchall() for name, rel in frames.items()}
        assert not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'core'").fetchone()[0]
    assert set(computed) == set(wb.CORE_TABLES) and covariates["covariates_absent"] == []
    assert sorted(r[:3] for r in computed[wb.JOURNEYS]) == sorted([(pid("P1"), "swemwbs", "total"),
                                                                   (pid("P2"), "swemwbs", "total")])
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        counts = wb.write_core(con, wb.WellbeingSettings(), "r")
        for name, rows in computed.items():
            written = con.sql(f"SELECT * EXCLUDE (run_id) FROM {name} ORDER BY ALL").fetchall()
            assert written == rows and counts[f"rows_{name.split('.')[1]}"] == len(rows)
