"""Funnel limits, difference-in-differences, avoided events and empty inputs, on tiny hand cases."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models.mart_writer import write_mart
from models.readmission import (
    TABLES,
    ReadmissionSettings,
    admissions_before_after,
    avoided,
    build_index_discharges,
    discharges_frame,
    readmission_effects,
    readmission_funnel,
    readmission_rates,
    service_use_change,
)
from models.readmission.before_after import _window, person_frame, pseudo_rule
from models.readmission.funnel import estimate_dispersion, funnel_units, poisson_limit, winsorised_phi
from models.readmission.funnel import read_columns as funnel_columns
from tests.conftest import ingest_all

FIXTURE = Path(__file__).parents[1] / "fixtures" / "readmission"
Z95, Z998 = 1.959964, 3.090232
#: t(0.975) on 1 df: the matched DiD of two pairs (G = 2 clusters) uses t on G - 1 = 1 df (scipy: 12.706205)
T1DF = float(stats.t.ppf(0.975, 1))

# Five units, O and E chosen so that z = (O - E)/sqrt(E) = -2, -1, 0, 1, 4.
UNITS = pd.DataFrame({
    "unit": list("abcde"), "discharges": [40, 90, 160, 250, 1000],
    "observed": [0, 6, 16, 30, 140], "expected": [4.0, 9.0, 16.0, 25.0, 100.0],
})


# ---------------------------------------------------------------------- funnel
def test_winsorised_phi_by_hand():
    # 10th/90th percentiles (linear) of -2,-1,0,1,4: -2 + 0.4*1 = -1.6 and 1 + 0.6*3 = 2.8.
    # Winsorised: -1.6,-1,0,1,2.8; squares 2.56+1+0+1+7.84 = 12.4; phi = 12.4/5 = 2.48.
    assert winsorised_phi([-2, -1, 0, 1, 4], 0.10) == pytest.approx(2.48)


def test_multiplicative_limits_by_hand():
    s = ReadmissionSettings(funnel_overdispersion="multiplicative")
    rows, disp = funnel_units(UNITS, s, "provider", 0.1)
    # k*phi = 12.4 > chi2(4) 95% quantile 9.4877, so phi is applied.
    assert disp.method == "multiplicative" and disp.phi == pytest.approx(2.48)
    c = rows.set_index("unit").loc["c"]  # E = 16: SD = sqrt(2.48/16) = 0.3937004
    assert c["upper_95"] == pytest.approx(1 + Z95 * 0.3937004, abs=1e-5)  # 1.771639
    assert c["lower_95"] == pytest.approx(1 - Z95 * 0.3937004, abs=1e-5)  # 0.228361
    assert c["upper_998"] == pytest.approx(1 + Z998 * 0.3937004, abs=1e-5)  # 2.216625
    assert c["lower_998"] == 0.0  # 1 - 1.2166 is cut at 0
    e = rows.set_index("unit").loc["e"]  # E = 100: SD = sqrt(0.0248) = 0.1574802; ratio 1.4
    assert e["upper_95"] == pytest.approx(1.308655, abs=1e-5) and e["outlier_95"] == "high"
    assert e["upper_998"] == pytest.approx(1.486650, abs=1e-5) and e["outlier_998"] == "within"
    assert e["z"] == pytest.approx(4.0) and e["z_adjusted"] == pytest.approx(0.4 / 0.1574802, abs=1e-5)
    assert e["standardised_rate"] == pytest.approx(0.14)


def test_additive_limits_by_hand():
    rows, disp = funnel_units(UNITS, ReadmissionSettings(), "provider", 0.1)
    # tau2 = (k*phi - (k-1)) / (sum w - sum w^2 / sum w), w = E:
    # sum w = 154, sum w^2 = 10978, 10978/154 = 71.285714; tau2 = 8.4 / 82.714286 = 0.1015544
    assert disp.method == "additive" and disp.tau2 == pytest.approx(0.1015544, abs=1e-7)
    c = rows.set_index("unit").loc["c"]  # SD = sqrt(1/16 + 0.1015544) = 0.4050363
    assert c["upper_95"] == pytest.approx(1 + Z95 * 0.4050363, abs=1e-5)
    assert (rows["outlier_95"] == "within").all()


def test_no_adjustment_below_the_chi2_reference_uses_exact_poisson():
    units = UNITS.assign(observed=[2, 8, 15, 27, 104])
    rows, disp = funnel_units(units, ReadmissionSettings(), "provider", 0.1)
    assert disp.method == "none" and disp.tau2 == 0
    a = rows.set_index("unit").loc["a"]
    # E = 4. Poisson(4) CDF: F(0) = e^-4 = 0.0183156, F(1) = 5e^-4 = 0.0915782,
    # F(7) = 0.9488664, F(8) = 0.9786366.
    f = [math.exp(-4) * sum(4**j / math.factorial(j) for j in range(i + 1)) for i in range(9)]
    upper = (8 - (f[8] - 0.975) / (f[8] - f[7])) / 4  # r = 8, a = 0.12217 -> 1.969461
    lower = (1 - (f[1] - 0.025) / (f[1] - f[0])) / 4  # r = 1, a = 0.90877 -> 0.022810
    assert a["upper_95"] == pytest.approx(upper, abs=1e-9) and upper == pytest.approx(1.969461, abs=1e-6)
    assert a["lower_95"] == pytest.approx(lower, abs=1e-9) and lower == pytest.approx(0.022810, abs=1e-6)
    assert a["lower_998"] == 0.0  # F(0) > 0.001: the interpolated limit would be negative


def test_poisson_limits_approach_normal_for_large_expected():
    e = 10_000.0
    assert poisson_limit([e], 0.975)[0] == pytest.approx(1 + Z95 / 100, abs=2e-4)


def test_too_few_units_are_not_adjusted():
    disp = estimate_dispersion([0, 10, 30], [4, 9, 16], ReadmissionSettings())
    assert disp.method == "none" and "fewer than 5" in disp.note


def test_funnel_on_fixture_has_every_provider(fixture_con):
    frame, notes = readmission_funnel(discharges_frame(fixture_con), ReadmissionSettings())
    prov = frame[frame["unit_type"] == "provider"]
    assert sorted(prov["unit"]) == ["RXX01", "RXX02", "RXX03"]
    # the risk model has an intercept, so observed and expected totals agree
    assert prov["observed"].sum() == 7 and prov["expected"].sum() == pytest.approx(7, abs=1e-4)
    assert set(frame["unit_type"]) == {"provider", "timebank"}



def test_funnel_reads_only_its_columns(fixture_con):
    # the asset reads only read_columns of the discharges (issue 18): the same funnel as from every column
    s = ReadmissionSettings()
    every = readmission_funnel(discharges_frame(fixture_con), s)
    read = discharges_frame(fixture_con, columns=funnel_columns(s))
    assert list(read.columns) == ["readmitted", "provider_id", "timebank_id", "age", "sex", "imd_decile",
                                  "prior_emergency_12m", "specialty"]
    only = readmission_funnel(read, s)
    pd.testing.assert_frame_equal(only[0], every[0], check_exact=True)
    assert only[1] == every[1]

# ------------------------------------------------------------------ comparison
def test_risk_model_on_distinct_rows_is_the_per_discharge_glm():
    # the funnel's risk model is fitted on the distinct (covariates, outcome) rows with frequency weights (issue 18):
    # the same likelihood as statsmodels' GLM on one row per discharge, so the same fitted risks to summation order
    import numpy as np
    import statsmodels.api as sm

    from models.readmission.funnel import _design, fit_risk_model
    rng = np.random.default_rng(3)
    n = 4000
    d = pd.DataFrame({"age": rng.integers(18, 90, n), "sex": rng.choice(["f", "m"], n), "imd_decile": rng.integers(1, 11, n),
                      "prior_emergency_12m": rng.poisson(0.4, n), "specialty": rng.choice(["a", "b", "c", "d"], n)})
    d.loc[rng.random(n) < 0.05, "imd_decile"] = None
    risk = 1 / (1 + np.exp(-(-2.5 + 0.02 * (d["age"] - 50) + 0.4 * d["prior_emergency_12m"])))
    d["readmitted"] = rng.random(n) < risk
    s = ReadmissionSettings()
    X = _design(d, s.funnel_covariates, s.funnel_categorical, s.funnel_min_level_count)
    per_row = sm.GLM(d["readmitted"].astype(float).to_numpy(), X, family=sm.families.Binomial()).fit()
    model = fit_risk_model(d, s)
    assert model.note == "logistic GLM" and model.n == n
    np.testing.assert_allclose(model.expected, per_row.predict(X), rtol=1e-10, atol=0)
    np.testing.assert_allclose(model.params.to_numpy(), per_row.params.to_numpy(), rtol=1e-9, atol=1e-12)
    assert list(model.params.index) == list(X.columns)


def test_effects_on_fixture(fixture_con):
    frame, _ = readmission_effects(discharges_frame(fixture_con), ReadmissionSettings())
    row = frame.set_index("comparison").loc["any"]
    # 4 discharges are "exposed", but one of them (start day 14) was readmitted on day 8, before it
    # started: never a participant under the default risk-set design (test_readmission_designs.py)
    assert row["n_treated"] == 3 and row["n_discharges"] == 21
    assert row["status"] in ("estimated", "not estimated")
    if row["status"] == "estimated":
        assert row["n_matched"] <= 4 and "Justice Data Lab minimum" in row["warnings"]


# ------------------------------------------------------------------------ DiD
def _joiners_warehouse(path: Path, joined_on: str, contacts: dict[str, list[str]]) -> duckdb.DuckDBPyConnection:
    """Two joiners T1 (aged 40 in 2023) and T2 (60) on ``joined_on``, and three non-members of the same ages and 80;
    their GP contacts are ``contacts``."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.persons (person_id VARCHAR, birth_date DATE, sex VARCHAR, area_code VARCHAR, "
                "imd_decile BIGINT, died_on DATE, source_file VARCHAR, source_line BIGINT, run_id VARCHAR)")
    con.execute("""INSERT INTO staging.persons VALUES
        ('T1', '1983-01-01', 'female', 'E1', 5, NULL, 'f', 1, 'r'), ('T2', '1963-01-01', 'female', 'E1', 5, NULL, 'f', 2, 'r'),
        ('C1', '1983-01-01', 'female', 'E1', 5, NULL, 'f', 3, 'r'), ('C2', '1963-01-01', 'female', 'E1', 5, NULL, 'f', 4, 'r'),
        ('C3', '1943-01-01', 'female', 'E1', 5, NULL, 'f', 5, 'r')""")
    con.execute("CREATE TABLE staging.timebank_members (member_id VARCHAR, timebank_id VARCHAR, person_id VARCHAR, "
                "role VARCHAR, joined_on DATE, left_on DATE)")
    con.execute("INSERT INTO staging.timebank_members VALUES ('M1', 'TB01', 'T1', 'community', ?, NULL), "
                "('M2', 'TB01', 'T2', 'patient', ?, NULL)", [joined_on, joined_on])
    con.execute("CREATE TABLE staging.service_contacts (person_id VARCHAR, service VARCHAR, contact_on DATE)")
    con.executemany("INSERT INTO staging.service_contacts VALUES (?, 'gp', ?)",
                    [(p, d) for p, days in contacts.items() for d in days])
    return con


def _did_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Two joiners (2023-07-01) and three non-members; GP contacts counted by hand below."""
    return _joiners_warehouse(path, "2023-07-01", {
        "T1": ["2023-01-10", "2023-03-10", "2023-10-10"],  # before 2, after 1
        "T2": ["2022-09-01", "2022-12-01", "2023-05-01", "2023-08-01", "2023-11-01", "2024-02-01"],  # 3, 3
        "C1": ["2022-10-01", "2023-02-01", "2023-09-01", "2024-01-01"],  # 2, 2
        "C2": ["2023-04-01", "2023-08-15", "2023-12-15", "2024-03-15"],  # 1, 3
        "C3": ["2022-01-01", "2024-12-31"],  # outside C3's windows; they set the data window
    })


def test_did_by_hand(tmp_path):
    con = _did_warehouse(tmp_path / "did.duckdb")
    s = ReadmissionSettings(services=("gp",), before_after_covariates=("age",), washout_days=0)
    frame, counts = service_use_change(con, s, as_of=dt.date(2025, 1, 1))
    assert counts["participants_eligible"] == 2 and counts["comparison_eligible"] == 3
    row = frame.iloc[0]
    assert (row["service"], row["status"], row["n_matched"], row["n_participants"], row["n_comparison"]) == ("gp", "estimated", 2, 2, 3)
    f = 365.25 / 365  # counts per 365-day window -> per person-year
    # participants' changes -1 and 0 (mean -0.5); matched comparison (same ages) 0 and +2 (mean 1)
    assert row["did"] == pytest.approx(-1.5 * f)
    assert (row["participant_before"], row["participant_after"]) == pytest.approx((2.5 * f, 2.0 * f))
    assert (row["comparison_before"], row["comparison_after"]) == pytest.approx((1.5 * f, 2.5 * f))
    # pair differences -1 and -2: SE = sd/sqrt(2) = 0.5 (CR1, matched pairs as clusters); 2 pairs: t on 1 df
    assert row["ci_low"] == pytest.approx((-1.5 - T1DF * 0.5) * f, abs=1e-5)
    assert row["ci_high"] == pytest.approx((-1.5 + T1DF * 0.5) * f, abs=1e-5)
    assert row["person_years_after"] == pytest.approx(2 * 365 / 365.25)
    # no hospital data: the admissions table is empty, with its columns
    adm, _ = admissions_before_after(con, s, as_of=dt.date(2025, 1, 1))
    assert adm.empty and list(adm.columns) == [c for c in TABLES["marts.readmission_before_after"] if c != "run_id"]
    # avoided contacts = -DiD x person-years
    out = avoided(None, None, frame).set_index("measure").loc["contacts_gp"]
    assert out["estimate"] == pytest.approx(1.5 * f * 2 * 365 / 365.25)
    assert out["comparison_rate"] == pytest.approx(2.5 * f + 1.0 * f) and out["participant_rate"] == pytest.approx(2 * f)
    con.close()


def test_a_comparison_that_cannot_match_keeps_every_column(tmp_path):
    """Before: when no outcome could be estimated (here no comparison person shares the participants' area, matched
    exactly), the rows lacked the estimate's columns and the mart's writer refused the frame: the step failed."""
    con = _did_warehouse(tmp_path / "did.duckdb")
    con.execute("UPDATE staging.persons SET area_code = 'E2' WHERE person_id LIKE 'T%'")
    s = ReadmissionSettings(services=("gp",), before_after_covariates=("age", "area_code"), exact=("area_code",), washout_days=0)
    frame, _ = service_use_change(con, s, as_of=dt.date(2025, 1, 1))
    assert sorted(frame.columns) == sorted(c for c in TABLES["marts.service_use_change"] if c != "run_id")
    row = frame.iloc[0]
    assert (row["status"], row["n_matched"], row["n_participants"]) == ("not estimated", 0, 2) and np.isnan(row["did"])
    con.close()


def test_before_after_writes_nothing_and_runs_read_only(tmp_path):
    """Without core.continuous_spells the continuous spells are computed in memory: nothing is written, so
    the comparison runs on a read-only warehouse (the reader snapshot) and gives the same answer."""
    _did_warehouse(tmp_path / "did.duckdb").close()
    s = ReadmissionSettings(services=("gp",), before_after_covariates=("age",), washout_days=0)
    with duckdb.connect(str(tmp_path / "did.duckdb"), read_only=True) as con:
        frame, _ = service_use_change(con, s, as_of=dt.date(2025, 1, 1))
        adm, _ = admissions_before_after(con, s, as_of=dt.date(2025, 1, 1))
        tables = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'core'").fetchone()[0]
    assert frame.iloc[0]["did"] == pytest.approx(-1.5 * 365.25 / 365) and adm.empty and tables == 0


def _late_joiner_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """The DiD warehouse (joiners T1, T2 on 2023-07-01, the only join date: every pseudo date is 2023-07-01; data
    window 2022-01-01 .. 2024-12-31) and three people aged 33 then, unlike anyone there. L1 joins on 2024-03-01,
    inside their after window [2023-07-01, 2024-06-29], too late to be an eligible participant (their own after
    window would end after the data); GP contacts 2023-03-01 (before), 2023-09-01 and 2024-04-01 (after, the
    second after they joined). Q1 enrols in a programme on 2023-09-01, after the pseudo date; R1 on 2023-06-30,
    before it. D1 dies at home on 2024-02-01, inside their after window: the persons file's died_on, no spell. Z1
    died in 2019, before any pseudo date: not alive at J, so neither compared nor counted as a death in follow-up."""
    con = _did_warehouse(path)
    con.execute("""INSERT INTO staging.persons VALUES ('L1', '1990-01-01', 'female', 'E1', 5, NULL, 'f', 6, 'r'),
        ('Q1', '1990-01-01', 'female', 'E1', 5, NULL, 'f', 7, 'r'), ('R1', '1990-01-01', 'female', 'E1', 5, NULL, 'f', 8, 'r'),
        ('D1', '1990-01-01', 'female', 'E1', 5, '2024-02-01', 'f', 9, 'r'),
        ('Z1', '1930-01-01', 'female', 'E1', 5, '2019-05-01', 'f', 10, 'r')""")
    con.execute("INSERT INTO staging.timebank_members VALUES ('M3', 'TB01', 'L1', 'community', '2024-03-01', NULL)")
    con.execute("CREATE TABLE staging.programme_enrolments (person_id VARCHAR, programme_id VARCHAR, started_on DATE, "
                "ended_on DATE)")
    con.execute("INSERT INTO staging.programme_enrolments VALUES ('Q1', 'prog', '2023-09-01', NULL), "
                "('R1', 'prog', '2023-06-30', NULL)")
    con.execute("INSERT INTO staging.service_contacts VALUES ('L1', 'gp', '2023-03-01'), ('L1', 'gp', '2023-09-01'), "
                "('L1', 'gp', '2024-04-01')")
    return con


def test_a_later_joiner_is_a_comparison_person_before_joining(tmp_path):
    """Target-trial pool (Hernan & Robins 2016): at a pseudo join date J the comparison is everyone not yet joined
    or enrolled by J, whatever they do later. The old pool (never a member, never enrolled) left out L1 and Q1.
    L1 joins within their after window and stays a comparison person (intention to treat): their after-window
    contacts count whether before or after joining, and they are counted in ``comparison_joined_in_after``. D1, who
    died at home in their after window (died_on, no spell), is left out and counted in ``excluded_died``: their
    missing after-window contacts had read as a fall in use. R1, enrolled the day before J, is left out by the
    programme rule at J (the other rules: the next test)."""
    con = _late_joiner_warehouse(tmp_path / "late.duckdb")
    s = ReadmissionSettings(services=("gp",), before_after_covariates=("age",), washout_days=0,
                            programme_exclusion="comparison_at_join")
    contacts = "SELECT person_id, contact_on AS d, service AS label FROM staging.service_contacts"
    start, end = _window(con, s, dt.date(2025, 1, 1), "staging.service_contacts", ("contact_on",))
    frame, events, counts = person_frame(con, s, start, end, contacts, ("gp",))
    # persons in person_id order: C1 C2 C3 D1 L1 Q1 R1 T1 T2; T1, T2 are participants, C1-C3, L1, Q1 comparisons
    assert list(frame["person"]) == [8, 9, 1, 2, 3, 5, 6] and list(frame["treated"]) == [1, 1, 0, 0, 0, 0, 0]
    assert list(frame["age"]) == [40, 60, 40, 60, 80, 33, 33]
    assert list(events["gp"]["before_n"])[5:] == [1, 0] and list(events["gp"]["after_n"])[5:] == [2, 0]
    assert counts == {"participants_joined": 3, "participants_eligible": 2, "comparison_pool": 7,
                      "comparison_eligible": 5, "excluded_died": 1, "comparison_joined_in_after": 1,
                      "persons_in_both_groups": 0}
    # without the programme rule R1 is a comparison person too
    _, _, counts = person_frame(con, s.model_copy(update={"programme_exclusion": "none"}), start, end,
                                contacts, ("gp",))
    assert counts["comparison_eligible"] == 6
    # the DiD: T1 and T2 still match C1 and C2 (same ages), so the estimate of test_did_by_hand stands
    row = service_use_change(con, s, as_of=dt.date(2025, 1, 1))[0].iloc[0]
    assert (row["n_comparison"], row["n_matched"]) == (5, 2)
    assert (row["n_comparison_joined_after"], row["n_persons_in_both_groups"]) == (1, 0)  # L1, in the mart too
    assert row["did"] == pytest.approx(-1.5 * 365.25 / 365)
    con.close()


def test_the_programme_rule_is_measured_at_join_or_before_the_before_window_by_hand(tmp_path):
    """``programme_exclusion`` (docs/validation.md, "The programme rule of the comparison pool"). The pseudo date J is
    2023-07-01 (the only join date); with no washout the before window is [2022-07-01, 2023-06-30]. Enrolments: B0
    2022-06-30 (the day before it), B1 2022-07-01 (its first day), R1 2023-06-30 (its last day: peer visiting after a
    before-window admission), Q1 2023-09-01 (after J), and the participant T1 2022-06-30. At J (the old rule) B0, B1
    and R1 are left out; before the before window only B0 is, and under both_before_window T1 as a participant too;
    under none no one. With a 90-day washout the before window starts on 2022-04-02, and B0 is kept."""
    con = _late_joiner_warehouse(tmp_path / "rule.duckdb")
    con.execute("""INSERT INTO staging.persons VALUES ('B0', '1990-01-01', 'female', 'E1', 5, NULL, 'f', 11, 'r'),
        ('B1', '1990-01-01', 'female', 'E1', 5, NULL, 'f', 12, 'r')""")
    con.execute("INSERT INTO staging.programme_enrolments VALUES ('B0', 'prog', '2022-06-30', NULL), "
                "('B1', 'prog', '2022-07-01', NULL), ('T1', 'prog', '2022-06-30', NULL)")
    s = ReadmissionSettings(services=("gp",), before_after_covariates=("age",), washout_days=0)
    contacts = "SELECT person_id, contact_on AS d, service AS label FROM staging.service_contacts"
    start, end = _window(con, s, dt.date(2025, 1, 1), "staging.service_contacts", ("contact_on",))
    # persons in person_id order: B0 B1 C1 C2 C3 D1 L1 Q1 R1 T1 T2 Z1 (D1 dies in their after window, Z1 before J)
    def compared(rule, washout=0):
        frame, _, counts = person_frame(con, s.model_copy(update={"programme_exclusion": rule, "washout_days": washout}),
                                        start, end, contacts, ("gp",))
        return list(frame.loc[frame["treated"] == 1, "person"]), list(frame.loc[frame["treated"] == 0, "person"]), counts
    assert compared("comparison_at_join")[:2] == ([10, 11], [3, 4, 5, 7, 8])
    assert compared("comparison_before_window")[:2] == ([10, 11], [2, 3, 4, 5, 7, 8, 9])
    assert compared("both_before_window")[:2] == ([11], [2, 3, 4, 5, 7, 8, 9])
    assert compared("none")[:2] == ([10, 11], [1, 2, 3, 4, 5, 7, 8, 9])
    assert compared("comparison_before_window", washout=90)[:2] == ([10, 11], [1, 2, 3, 4, 5, 7, 8, 9])
    participants, _, counts = compared("both_before_window")
    assert (counts["participants_joined"], counts["participants_eligible"]) == (2, 1)  # L1 (joins 2024) and T2
    # the mart says which rule made the comparison
    at_join = ReadmissionSettings(programme_exclusion="comparison_at_join")
    both = ReadmissionSettings(programme_exclusion="both_before_window", washout_days=0)
    assert "no member account and no programme enrolment by it (" in pseudo_rule(at_join)
    assert ("no member account by it and no programme enrolment starting before their before window, which starts "
            "365 days before it (") in pseudo_rule(both)
    assert pseudo_rule(both).endswith("participants likewise left out if enrolled in a programme before their before "
                                      "window, which starts 365 days before joining")
    assert "no member account by it, whatever their programme enrolments (" in pseudo_rule(
        ReadmissionSettings(programme_exclusion="none"))
    con.close()


def test_the_rule_text_of_the_two_before_window_rules_in_full():
    """``pseudo_rule`` builds the comparison's sentence of the two before-window rules once; the text is the one the
    marts carried (default washout 90 + before_days 365 = 455 days), participants' clause only under both."""
    comparison = ("comparison persons: a join date drawn at random (seed 0) from the eligible participants' join dates, "
                  "one per person in person_id order; in the comparison at it if they had no member account by it and "
                  "no programme enrolment starting before their before window, which starts 455 days before it (later "
                  "joiners included: intention to treat); covariates and windows measured at it")
    assert pseudo_rule(ReadmissionSettings(programme_exclusion="comparison_before_window")) == comparison
    assert pseudo_rule(ReadmissionSettings(programme_exclusion="both_before_window")) == comparison + (
        "; participants likewise left out if enrolled in a programme before their before window, which starts 455 "
        "days before joining")


def test_the_old_programme_setting_is_refused_with_what_to_write():
    with pytest.raises(ValueError, match="replaced by programme_exclusion: write programme_exclusion: "
                                         "comparison_at_join for the same rule"):
        ReadmissionSettings(comparison_excludes_programmes=True)
    with pytest.raises(ValueError, match="write programme_exclusion: none for the same rule"):
        ReadmissionSettings(comparison_excludes_programmes=False)
    with pytest.raises(ValueError, match="comparison_at_join"):
        ReadmissionSettings(programme_exclusion="at_start")


def _people_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Who the before/after comparison takes, by hand. Contacts (of X, a person not in persons) set the data
    window to 2022-01-01 .. 2025-06-30. Participants: P1 (joined 2023-07-01) and P2 (2024-01-01; a later account
    does not count) are eligible; P3 joined 2022-06-01, so their before window starts before the data; P4 died
    2024-03-01, inside their after window. S1 is staff and E1 enrolled in a programme: neither is a participant
    nor a comparison person (their account and enrolment precede any pseudo date). The pool: C1-C6 and P2 at a pseudo
    date before they joined; C5 is born 2023-03-01, after any before window starts; C6 dies 2023-09-01."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.persons (person_id VARCHAR, birth_date DATE, sex VARCHAR, area_code VARCHAR, "
                "imd_decile BIGINT, employment VARCHAR, died_on DATE, source_file VARCHAR, source_line BIGINT, run_id VARCHAR)")
    born = {"P1": "1960-01-01", "P2": "1960-01-01", "P3": "1960-01-01", "P4": "1960-01-01", "S1": "1970-01-01",
            "E1": "1970-01-01", "C5": "2023-03-01", **{f"C{i}": "1950-10-01" for i in (1, 2, 3, 4, 6)}}
    con.executemany("INSERT INTO staging.persons VALUES (?, ?, 'female', 'E1', 5, ?, NULL, 'f', 1, 'r')",
                    [(p, d, f"job of {p}") for p, d in born.items()])
    con.execute("CREATE TABLE staging.timebank_members (member_id VARCHAR, timebank_id VARCHAR, person_id VARCHAR, "
                "role VARCHAR, joined_on DATE, left_on DATE)")
    con.execute("""INSERT INTO staging.timebank_members VALUES
        ('M1', 'TB', 'P1', 'community', '2023-07-01', NULL), ('M2', 'TB', 'P2', 'patient', '2024-01-01', NULL),
        ('M2b', 'TB', 'P2', 'community', '2024-06-01', NULL), ('M3', 'TB', 'P3', 'community', '2022-06-01', NULL),
        ('M4', 'TB', 'P4', 'service_user', '2023-07-01', NULL), ('M5', 'TB', 'S1', 'staff', '2023-01-01', NULL)""")
    con.execute("CREATE TABLE staging.programme_enrolments (person_id VARCHAR, programme_id VARCHAR, started_on DATE, "
                "ended_on DATE)")
    con.execute("INSERT INTO staging.programme_enrolments VALUES ('E1', 'prog', '2023-01-01', NULL)")
    con.execute("CREATE TABLE staging.hospital_spells (spell_id VARCHAR, person_id VARCHAR, provider_id VARCHAR, "
                "admitted_on DATE, discharged_on DATE, admission_method VARCHAR, discharge_destination VARCHAR, "
                "specialty VARCHAR, cancer BOOLEAN)")
    con.execute("""INSERT INTO staging.hospital_spells VALUES
        ('S1', 'P1', 'R1', '2023-02-01', '2023-02-03', 'emergency', 'home', 'general', false),
        ('S2', 'P1', 'R1', '2023-05-01', '2023-05-02', 'elective', 'home', 'general', false),
        ('S3', 'P2', 'R1', '2022-12-01', '2022-12-02', 'emergency', 'home', 'general', false),
        ('S4', 'P4', 'R1', '2024-02-20', '2024-03-01', 'emergency', 'died', 'general', false),
        ('S5', 'C6', 'R1', '2023-08-20', '2023-09-01', 'emergency', 'died', 'general', false)""")
    con.execute("CREATE TABLE staging.service_contacts (person_id VARCHAR, service VARCHAR, contact_on DATE)")
    con.execute("""INSERT INTO staging.service_contacts VALUES
        ('X', 'gp', '2022-01-01'), ('X', 'gp', '2025-06-30'),
        ('P1', 'gp', '2022-06-30'), ('P1', 'gp', '2023-01-10'), ('P1', 'gp', '2023-08-01'), ('P1', 'ae', '2023-09-01'),
        ('C1', 'gp', '2023-12-31'), ('C4', 'gp', '2023-12-31')""")
    return con


def _dip_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Two joiners (2023-01-01) whose GP use rose in the months before joining, and their two age-matched comparison
    persons; C3 (aged 80, unmatched) sets the data window, 2021-01-01 to 2024-12-31. Every pseudo join date is
    2023-01-01, so the windows are: pre [2021-01-01, 2021-12-31], before [2022-01-01, 2022-12-31], after [2023-01-01,
    2023-12-31]; with a 90-day washout, before [2021-10-03, 2022-10-02] (and no pre window inside the data)."""
    return _joiners_warehouse(path, "2023-01-01", {  # pre, before (of which in the last 90 days before joining), after
        "T1": ["2021-06-01", "2022-03-01", "2022-11-01", "2022-11-15", "2022-12-01", "2023-05-01"],  # 1, 4 (3), 1
        "T2": ["2021-05-01", "2022-02-01", "2022-11-20", "2022-12-20", "2023-03-01"],  # 1, 3 (2), 1
        "C1": ["2021-04-01", "2022-04-01", "2023-04-01", "2023-10-01"],  # 1, 1 (0), 2
        "C2": ["2021-02-01", "2021-06-01", "2022-06-01", "2022-08-01", "2023-06-01", "2023-08-01"],  # 2, 2 (0), 2
        "C3": ["2021-01-01", "2024-12-31"],
    })


def test_pretrend_check_flags_a_rise_seen_in_enough_pairs():
    """The flag path of the pre-trend check (the two-pair fixture below cannot reach it on t(1)): six participants whose
    rate rose by 2 or 3 a year before joining against six comparison people whose rate did not; the placebo DiD's
    interval (t on the clusters' df) excludes 0, so the row carries the caution."""
    from models.readmission.before_after import did_rows

    n = 6
    frame = pd.DataFrame({"treated": [1] * n + [0] * n, "person": np.arange(2 * n),
                          "age": np.r_[np.arange(n) * 10.0 + 30, np.arange(n) * 10.0 + 31], "pretrend_window": True})
    rise = np.r_[[3, 2, 3, 2, 3, 2], [0] * n]
    counts = {"gp": pd.DataFrame({"pre_n": np.ones(2 * n), "before_n": 1 + rise, "after_n": 1 + rise})}
    s = ReadmissionSettings(services=("gp",), before_after_covariates=("age",), washout_days=0, caliper=None)
    row = did_rows(frame, s, "service", counts)[0]
    f = 365.25 / 365
    # participants' mean rise 2.5 a year, comparison 0 (the continuous outcome's bias correction on age moves it a little)
    assert row["pretrend_status"] == "estimated" and 2 * f < row["pretrend_did"] < 3 * f
    assert row["pretrend_ci_low"] > 0 and row["pretrend_p_value"] < 0.05
    assert "pre-trend check failed" in row["warnings"]


def test_pretrend_check_flags_a_rise_before_joining_and_a_washout_leaves_it_out_by_hand(tmp_path):
    """The pre-trend (placebo) check and the washout (models/readmission/before_after.py) on counts checked by hand."""
    con = _dip_warehouse(tmp_path / "dip.duckdb")
    f = 365.25 / 365
    s = ReadmissionSettings(services=("gp",), before_after_covariates=("age",), washout_days=0)
    row = service_use_change(con, s, as_of=dt.date(2025, 1, 1))[0].iloc[0]
    assert (row["status"], row["n_matched"], row["washout_days"]) == ("estimated", 2, 0)
    # changes (after - before): T1 -3, T2 -2, C1 +1, C2 0: pair differences -4 and -2, SE sd/sqrt(2) = 1
    assert row["did"] == pytest.approx(-3 * f)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(((-3 - T1DF) * f, (-3 + T1DF) * f), abs=1e-5)
    # placebo changes (before - pre): T1 +3, T2 +2, C1 0, C2 0: pair differences 3 and 2, SE 0.5, t = 5. With 1.96 the
    # interval excluded 0 and the check failed; two pairs give t on 1 df (12.71), p = 0.126: the interval holds 0, and
    # two pairs cannot show a pre-trend, so there is no caution
    assert (row["pretrend_status"], row["pretrend_n_matched"]) == ("estimated", 2)
    assert row["pretrend_did"] == pytest.approx(2.5 * f)
    assert (row["pretrend_ci_low"], row["pretrend_ci_high"]) == pytest.approx(
        ((2.5 - T1DF * 0.5) * f, (2.5 + T1DF * 0.5) * f), abs=1e-5)
    assert row["pretrend_p_value"] == pytest.approx(2 * stats.t.sf(5.0, 1), abs=1e-6)
    assert row["pretrend_p_value"] == pytest.approx(0.1257, abs=1e-4)
    assert "pre-trend check failed" not in row["warnings"]

    washed = ReadmissionSettings(services=("gp",), before_after_covariates=("age",), washout_days=90)
    row = service_use_change(con, washed, as_of=dt.date(2025, 1, 1))[0].iloc[0]
    assert (row["status"], row["n_matched"], row["washout_days"]) == ("estimated", 2, 90)
    # before = [2021-10-03, 2022-10-02]: T1 1, T2 1, C1 1, C2 2; changes 0, 0, +1, 0: pair differences -1 and 0
    assert (row["participant_before"], row["comparison_before"]) == pytest.approx((1 * f, 1.5 * f))
    assert row["did"] == pytest.approx(-0.5 * f)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(((-0.5 - T1DF * 0.5) * f, (-0.5 + T1DF * 0.5) * f), abs=1e-5)
    # the placebo's window, [2020-10-03, 2021-10-02], starts before the data: not estimated, and no caution
    assert row["pretrend_status"].startswith("not estimated") and row["pretrend_n_matched"] == 0
    assert np.isnan(row["pretrend_did"]) and "pre-trend" not in row["warnings"]
    con.close()


def test_people_of_the_before_after_comparison_by_hand(tmp_path):
    con = _people_warehouse(tmp_path / "people.duckdb")
    # the programme rule at J (E1's enrolment on 2023-01-01 lies in their before window, so the default keeps them;
    # the rules: test_the_programme_rule_is_measured_at_join_or_before_the_before_window_by_hand)
    s = ReadmissionSettings(before_after_covariates=("age", "employment", "prior_emergency_12m"), washout_days=0,
                            programme_exclusion="comparison_at_join")
    contacts = "SELECT person_id, contact_on AS d, service AS label FROM staging.service_contacts"
    start, end = _window(con, s, dt.date(2025, 12, 31), "staging.service_contacts", ("contact_on",))
    frame, events, counts = person_frame(con, s, start, end, contacts, ("gp", "ae"))
    assert (start, end) == (dt.date(2022, 1, 1), dt.date(2025, 6, 30))
    assert counts == {"participants_joined": 4, "participants_eligible": 2, "comparison_pool": 7,
                      "comparison_eligible": 5, "excluded_died": 2, "comparison_joined_in_after": 1,
                      "persons_in_both_groups": 1}
    # every person draws a pseudo join date, in person_id order (C1-C6, E1, P1-P4, S1): numpy's choice (seed 0)
    # of the eligible participants' sorted join dates gives 2024-01-01 to C1-C3, P3, P4, S1, 2023-07-01 to the rest
    joined = np.array(["2023-07-01", "2024-01-01"], dtype="datetime64[D]")
    assert list(np.random.default_rng(0).choice(joined, size=12).astype(str)) == (
        ["2024-01-01"] * 3 + ["2023-07-01"] * 6 + ["2024-01-01"] * 3)
    # in the comparison at it: C1-C6 and P2 (joins 2024-01-01, after their date 2023-07-01); not P1, P4 (joined
    # on their date), P3, S1 (accounts before it) or E1 (enrolled before it)
    # participants first, then the comparison persons; only the columns the comparison reads
    assert list(frame.columns) == ["treated", "person", "age", "employment", "prior_emergency_12m", "pretrend_window"]
    assert list(frame["treated"]) == [1, 1, 0, 0, 0, 0, 0]
    assert list(frame["person"]) == [8, 9, 1, 2, 3, 4, 9]  # rank in person_id order: P2 twice
    assert list(frame["age"]) == [63, 64, 73, 73, 73, 72, 63]  # on the (pseudo) join date
    assert list(frame["employment"]) == ["job of P1", "job of P2", "job of C1", "job of C2", "job of C3", "job of C4",
                                         "job of P2"]
    # P1's emergency admission 2023-02-01 is within 365 days before joining, P2's 2022-12-01 is not, but it is
    # within 365 days before P2's pseudo date
    assert list(frame["prior_emergency_12m"]) == [1, 0, 0, 0, 0, 0, 1]
    # the pre-trend check's window, [J - 730, J - 366], lies in the data (from 2022-01-01) for J = 2024-01-01 only
    assert list(frame["pretrend_window"]) == [False, True, True, True, True, False, False]
    # before = the 365 days before the (pseudo) join date, after = the 365 from it: P1's contact of 2022-06-30
    # is outside; C1's contact of 2023-12-31 is the day before their date, C4's within their after window
    assert list(events["gp"]["before_n"]) == [1, 0, 1, 0, 0, 0, 0]
    assert list(events["gp"]["after_n"]) == [1, 0, 0, 0, 0, 1, 0]
    assert list(events["ae"]["before_n"]) == [0] * 7 and list(events["ae"]["after_n"]) == [1, 0, 0, 0, 0, 0, 0]
    # nothing is left behind in the warehouse or the connection
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE NOT internal AND schema_name <> 'staging'"
                       ).fetchone()[0] == 0
    con.close()


def test_avoided_by_hand():
    effects = pd.DataFrame([{"comparison": "any", "status": "estimated", "n_matched": 100, "risk_difference": -0.05,
                             "rd_ci_low": -0.1, "rd_ci_high": 0.0, "comparison_rate": 0.15, "participant_rate": 0.10}])
    ba = pd.DataFrame([{"outcome": "emergency_admissions", "status": "estimated", "n_matched": 2, "did": -1.5,
                        "ci_low": -2.5, "ci_high": -0.5, "person_years_after": 2.0, "participant_before": 2.0,
                        "participant_after": 1.0, "comparison_before": 1.0, "comparison_after": 1.5}])
    out = avoided(effects, ba, None).set_index("measure")
    assert tuple(out.loc["readmissions", ["estimate", "ci_low", "ci_high"]]) == pytest.approx((5.0, 0.0, 10.0))
    assert tuple(out.loc["emergency_admissions", ["estimate", "ci_low", "ci_high"]]) == pytest.approx((3.0, 1.0, 5.0))
    assert out.loc["emergency_admissions", "comparison_rate"] == pytest.approx(2.5)


# ----------------------------------------------------------------- empty input
@pytest.mark.parametrize("ingest", [True, False], ids=["empty_sources", "no_staging_tables"])
def test_empty_inputs_give_empty_typed_tables(tmp_path, ingest):
    con = duckdb.connect(str(tmp_path / "e.duckdb"))
    if ingest:
        (tmp_path / "in").mkdir()
        ingest_all(con, tmp_path / "in")
    s = ReadmissionSettings()
    as_of = dt.date(2025, 1, 1)
    report = build_index_discharges(con, s, as_of=as_of, run_id="r")
    assert report.index_discharges == 0 and report.overlapping_spells_excluded == 0
    d = discharges_frame(con)
    results = {
        "marts.readmission_rates": readmission_rates(con),
        "marts.readmission_effects": readmission_effects(d, s)[0],
        "marts.readmission_funnel": readmission_funnel(d, s)[0],
        "marts.readmission_before_after": admissions_before_after(con, s, as_of=as_of)[0],
        "marts.service_use_change": service_use_change(con, s, as_of=as_of)[0],
    }
    results["marts.readmission_avoided"] = avoided(results["marts.readmission_effects"],
                                                   results["marts.readmission_before_after"],
                                                   results["marts.service_use_change"])
    for table, frame in results.items():
        assert write_mart(con, table, frame, "r") == 0
    for table, columns in TABLES.items():
        schema, name = table.split(".")
        got = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 "
                          "AND table_name = $2 ORDER BY ordinal_position", [schema, name]).fetchall()
        assert [c for c, _ in got] == list(columns), table
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    con.close()


# ---------------------------------------------------------------------- shared
@pytest.fixture(scope="module")
def fixture_con(tmp_path_factory):
    folder = tmp_path_factory.mktemp("in")
    for f in FIXTURE.glob("*.csv"):
        shutil.copy(f, folder)
    con = duckdb.connect(str(tmp_path_factory.mktemp("wh") / "w.duckdb"))
    ingest_all(con, folder)
    build_index_discharges(con, ReadmissionSettings(), as_of=dt.date(2025, 1, 1), run_id="t")
    yield con
    con.close()
