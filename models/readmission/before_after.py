"""Emergency admissions and service contacts per person-year, 12 months before vs after joining.

Design: a matched difference-in-differences.

* **Participants**: persons with a linked time-bank member account of a role in
  ``member_roles``; their join date J is the earliest ``joined_on`` of those accounts.
* **Comparison pool**: persons with no member account at all and (``comparison_excludes_
  programmes``, default) no programme enrolment.
* **Pseudo join dates**: each comparison person gets a join date drawn at random (seeded by
  ``seed``, persons in person_id order) from the eligible participants' join dates, so the
  two groups have the same calendar spread; covariates and windows are measured at it.
* **Windows**: before = [J - before_days, J - 1], after = [J, J + after_days - 1] (365 days
  each). A person is eligible when both windows lie inside the data window of the source
  (start = ``data_start`` or the earliest date in the source; end = min(as-of, ``data_end``
  or the latest date in the source)), they are born by the start of the before window, and
  no hospital spell records their death before the after window ends (people who die
  within it are excluded from both groups alike, and counted).
* **Outcome**: change = after rate - before rate, per person-year (count / (days/365.25)).
  Emergency admissions are continuous spells whose first spell is an emergency admission
  (core.continuous_spells); contacts are service_contacts rows of the service.
* **Estimate**: the comparison engine (:func:`models.comparison.match`, then ``estimate``) with a continuous outcome
  (the change), matching participants to comparison persons on ``before_after_covariates``
  (default age, sex and IMD decile at J). Not on emergency admissions in the 12 months
  before J: that is the before-period outcome, and matching on it lets each group regress
  to its own mean afterwards, which biases the difference-in-differences (Daw & Hatfield
  2018, Health Serv Res 53:4138); naming it adds :data:`RTM_WARNING` to the row. Its
  mean difference is the difference-in-differences (participants' change minus matched
  comparison's change) with a cluster-robust 95% interval (matched sets). The four group
  rates are weighted means in the matched sample. The services share one matched sample
  (:func:`did_rows`: the people and covariates are the same for each), matched once.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from models.comparison import ComparisonError, estimate, match

from .settings import ReadmissionSettings
from .spells import age_sql, continuous_spells, source, table_exists
from .tables import READMISSION_BEFORE_AFTER, SERVICE_USE_CHANGE, empty_frame

YEAR = 365.25
RTM_WARNING = ("matched on prior_emergency_12m, the before-period outcome: regression to the mean can bias the "
               "difference-in-differences (Daw & Hatfield 2018)")
PERSON_COLUMNS = ("person_id", "birth_date", "sex", "area_code", "imd_decile")
#: What the comparison measures of a person at the (pseudo) join date, besides the further columns of staging.persons.
MEASURED_AT_JOINING = ("age", "sex", "area_code", "imd_decile", "prior_emergency_12m")
_META = ("source_file", "source_line", "run_id")


def _window(con, settings: ReadmissionSettings, as_of: dt.date, table: str, columns: tuple[str, ...]):
    lo = ", ".join(f"min({c})" for c in columns)
    hi = ", ".join(f"max({c})" for c in columns)
    first, last = con.execute(f"SELECT least({lo}), greatest({hi}) FROM {table}").fetchone()
    start = settings.data_start or first
    end_data = settings.data_end or last
    end = None if end_data is None else min(as_of, end_data)
    return start, end


def pseudo_rule(settings: ReadmissionSettings) -> str:
    return (f"comparison persons: a join date drawn at random (seed {settings.seed}) from the eligible participants' "
            "join dates; covariates and windows measured at it")


def person_frame(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, start, end, events_sql: str,
                 labels: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict]:
    """The people compared, for each label the ``before_n`` and ``after_n`` counts of the events
    ``(person_id, d, label)`` of ``events_sql`` in their windows (row for row with the people), and the
    counts of who was left out.

    The people: participants, then comparison persons, each in person_id order, with ``treated`` and the
    covariates of ``before_after_covariates`` and ``exact`` measured at the (pseudo) join date (age in
    whole years, a staging.persons column, or ``prior_emergency_12m``). All is done in DuckDB but the
    draw of the pseudo join dates (numpy's ``choice`` over the sorted join dates of the eligible
    participants, one draw per pool person in person_id order); each person is keyed by an integer,
    their position in that order, not the person_id, and only the columns the comparison reads come back
    to pandas (issue 18: a frame of every person built in pandas, sent back to DuckDB to count events,
    cost most of these steps at 1M persons)."""
    counts = {"participants_joined": 0, "participants_eligible": 0, "comparison_pool": 0, "comparison_eligible": 0,
              "excluded_died": 0}
    if start is None or end is None:
        return pd.DataFrame(), {}, counts
    s = settings
    b, a = int(s.before_days), int(s.after_days)
    members, persons = source(con, "timebank_members"), source(con, "persons")
    enrol, spells = source(con, "programme_enrolments"), source(con, "hospital_spells")
    no_programme = f"AND person_id NOT IN (SELECT person_id FROM {enrol})" if s.comparison_excludes_programmes else ""
    extra = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'persons'"
    ).fetchall() if r[0] not in PERSON_COLUMNS + _META] if table_exists(con, "staging", "persons") else []
    computed = {"age": age_sql("x.birth_date", "x.index_date"), "prior_emergency_12m": "coalesce(prior.n, 0)"}
    measured = {c: computed.get(c, f'x."{c}"') for c in (*MEASURED_AT_JOINING, *extra)}
    read = [c for c in dict.fromkeys([*s.before_after_covariates, *s.exact]) if c in measured]
    kept = "".join(f', p."{c}"' for c in read if c in ("sex", "area_code", "imd_decile", *extra))
    # everyone who can be compared, in the order of the frame (pos): participants first
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _rd_candidates AS
        WITH joiners AS (
            SELECT person_id, min(joined_on) AS join_date FROM {members}
            WHERE person_id IS NOT NULL AND list_contains($roles::VARCHAR[], role) GROUP BY person_id
        ), deaths AS (
            SELECT person_id, min(discharged_on) AS died_on FROM {spells} WHERE discharge_destination = 'died'
            GROUP BY person_id
        ), people AS (
            SELECT p.person_id, p.birth_date{kept}, j.join_date, d.died_on,
                   (j.person_id IS NOT NULL) AS treated,
                   (j.person_id IS NULL AND p.person_id NOT IN (SELECT person_id FROM {members} WHERE person_id IS NOT NULL)
                    {no_programme}) AS pool
            FROM {persons} p LEFT JOIN joiners j USING (person_id) LEFT JOIN deaths d USING (person_id)
        )
        SELECT row_number() OVER (ORDER BY treated DESC, person_id) AS pos, * EXCLUDE (pool)
        FROM people WHERE treated OR pool
    """, {"roles": list(s.member_roles)})
    # eligible: both windows inside the data window, born by its start; excluded (and counted): a spell
    # records their death before the after window ends
    eligible = (f"(x.index_date - {b} >= $start::DATE AND x.index_date + {a - 1} <= $end::DATE "
                f"AND x.birth_date <= x.index_date - {b})")
    died = f"coalesce(x.died_on < x.index_date + {a}, false)"
    window = {"start": start, "end": end}
    try:
        joined = con.execute(f"""
            SELECT x.index_date FROM (SELECT *, join_date AS index_date FROM _rd_candidates WHERE treated) x
            WHERE {eligible} AND NOT {died} ORDER BY x.index_date
        """, window).df()["index_date"].to_numpy()
        n_joined, n_pool = con.execute(
            "SELECT count(*) FILTER (treated), count(*) FILTER (NOT treated) FROM _rd_candidates").fetchall()[0]
        draws = np.empty(0, dtype=joined.dtype)
        if len(joined) and n_pool:
            draws = np.random.default_rng(s.seed).choice(joined, size=n_pool, replace=True)
        # the pool persons follow the participants: the k-th of them (person_id order) has pos n_joined + k
        con.register("_rd_draws", pd.DataFrame({"pos": n_joined + 1 + np.arange(len(draws)), "index_date": draws}))
        indexed = f"""
            SELECT c.*, CASE WHEN c.treated THEN c.join_date ELSE d.index_date::DATE END AS index_date
            FROM _rd_candidates c LEFT JOIN _rd_draws d USING (pos)"""
        row = con.execute(f"""
            SELECT count(*) FILTER (x.treated), count(*) FILTER (x.treated AND {eligible} AND NOT {died}),
                   count(*) FILTER (NOT x.treated), count(*) FILTER (NOT x.treated AND {eligible} AND NOT {died}),
                   count(*) FILTER ({eligible} AND {died})
            FROM ({indexed}) x
        """, window).fetchall()[0]
        counts.update(zip(counts, map(int, row)))
        if not counts["participants_eligible"] + counts["comparison_eligible"]:
            return pd.DataFrame(), {}, counts
        prior = f"""
            LEFT JOIN (
                SELECT f.pos, count(*) AS n
                FROM f JOIN {chains(con, s)} e ON e.person_id = f.person_id AND e.admission_method = 'emergency'
                 AND e.admitted_on >= f.index_date - {int(s.prior_admission_days)} AND e.admitted_on < f.index_date
                GROUP BY f.pos
            ) prior USING (pos)""" if "prior_emergency_12m" in read else ""
        counted = []
        for i, label in enumerate(labels):
            is_label = f"e.label = '{label.replace(chr(39), '')}'"
            counted += [f"count(*) FILTER ({is_label} AND e.d < f.index_date) AS before_{i}",
                        f"count(*) FILTER ({is_label} AND e.d >= f.index_date) AS after_{i}"]
        out = con.execute(f"""
            WITH f AS MATERIALIZED (
                SELECT * FROM ({indexed}) x WHERE {eligible} AND NOT {died}
            ), ev AS (  -- each label's events in the before and after windows, in one pass over the events
                SELECT f.pos{"".join(", " + c for c in counted)}
                FROM f JOIN ({events_sql}) e ON e.person_id = f.person_id
                 AND e.d BETWEEN f.index_date - {b} AND f.index_date + {a - 1}
                GROUP BY f.pos
            )
            SELECT x.treated::BIGINT AS treated{"".join(f', {measured[c]} AS "{c}"' for c in read)}
                   {"".join(f", coalesce(ev.before_{i}, 0) AS before_{i}, coalesce(ev.after_{i}, 0) AS after_{i}"
                            for i in range(len(labels)))}
            FROM f x LEFT JOIN ev USING (pos){prior}
            ORDER BY x.pos
        """, window).df()
    finally:
        con.execute("DROP TABLE IF EXISTS _rd_candidates")
        con.unregister("_rd_draws")
    events = {label: pd.DataFrame({"before_n": out.pop(f"before_{i}"), "after_n": out.pop(f"after_{i}")})
              for i, label in enumerate(labels)}
    return out, events, counts


def did_row(frame: pd.DataFrame, settings: ReadmissionSettings, label_col: str, label: str) -> dict:
    """Matched DiD of the change in rate per person-year for one outcome (columns before_n, after_n)."""
    return did_rows(frame, settings, label_col, {label: frame})[0]


def did_rows(frame: pd.DataFrame, settings: ReadmissionSettings, label_col: str,
             counts: dict[str, pd.DataFrame]) -> list[dict]:
    """:func:`did_row` for several outcomes: ``counts`` maps each label to its ``before_n`` and ``after_n``,
    row for row with ``frame``. Who is compared, and on what, does not depend on the outcome, so the
    participants are matched once (:func:`models.comparison.match`) and every outcome is estimated on
    that one matched sample (:func:`models.comparison.estimate`), as one call per outcome would."""
    s = settings
    f = frame.copy()
    for label, c in counts.items():
        f[f"{label}:before_rate"] = c["before_n"].to_numpy() / (s.before_days / YEAR)
        f[f"{label}:after_rate"] = c["after_n"].to_numpy() / (s.after_days / YEAR)
        f[f"{label}:change"] = f[f"{label}:after_rate"] - f[f"{label}:before_rate"]
    n_t = int(f["treated"].sum())
    base = {"n_participants": n_t, "n_comparison": int(len(f) - n_t), "pseudo_date_rule": pseudo_rule(s)}

    def not_estimated(label: str, err: ComparisonError) -> dict:
        t = f[f["treated"] == 1]
        return {label_col: label, **base, "status": "not estimated", "n_matched": 0, "verdict": "not estimated",
                "warnings": str(err), "participant_before": t[f"{label}:before_rate"].mean(),
                "participant_after": t[f"{label}:after_rate"].mean()}

    try:
        matched = match(f, "treated", list(s.before_after_covariates), method=s.method, caliper=s.caliper,
                        ratio=s.ratio, replace=s.replace, exact=list(s.exact) or None, seed=s.seed,
                        outcomes=[f"{label}:change" for label in counts])
    except ComparisonError as err:
        return [not_estimated(label, err) for label in counts]

    rows = []
    for label in counts:
        try:
            res = estimate(matched, f"{label}:change", "continuous",
                           outcome_label=f"change in {label.replace('_', ' ')} per person-year",
                           matched_columns=["_weight", "_treated", f"{label}:before_rate", f"{label}:after_rate"])
        except ComparisonError as err:
            rows.append(not_estimated(label, err))
            continue
        md = res.matched_data
        w = md["_weight"].to_numpy()
        tr = md["_treated"].to_numpy() == 1

        def wmean(col, mask):
            return float(np.average(md.loc[mask, col], weights=w[mask])) if mask.any() else np.nan

        rows.append({
            label_col: label, **base, "status": "estimated", "n_matched": res.n_matched, "did": res.estimate,
            "ci_low": res.ci_low, "ci_high": res.ci_high, "p_value": res.p_value, "verdict": res.verdict,
            "participant_before": wmean(f"{label}:before_rate", tr), "participant_after": wmean(f"{label}:after_rate", tr),
            "comparison_before": wmean(f"{label}:before_rate", ~tr), "comparison_after": wmean(f"{label}:after_rate", ~tr),
            "person_years_after": res.n_matched * s.after_days / YEAR,
            "max_abs_smd_after": float(np.nanmax(np.abs(res.balance["smd_after"]))) if len(res.balance) else np.nan,
            "warnings": " | ".join([*res.warnings, *([RTM_WARNING] if "prior_emergency_12m" in s.before_after_covariates else [])]),
        })
    return rows


def chains(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings) -> str:
    """A FROM-able expression for the continuous spells: ``core.continuous_spells`` when the index-discharges
    asset has written it, else the same rows computed in memory from staging (nothing is written, so this
    runs on a read-only warehouse too)."""
    if table_exists(con, "core", "continuous_spells"):
        return "core.continuous_spells"
    return f"({continuous_spells(con, settings).sql_query()})"


def admissions_before_after(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, *,
                            as_of: dt.date) -> tuple[pd.DataFrame, dict]:
    """marts.readmission_before_after rows (one, outcome emergency_admissions) and counts."""
    start, end = _window(con, settings, as_of, source(con, "hospital_spells"), ("admitted_on", "discharged_on"))
    events = (f"SELECT person_id, admitted_on AS d, 'emergency_admissions' AS label FROM {chains(con, settings)} "
              "WHERE admission_method = 'emergency'")
    frame, per_outcome, counts = person_frame(con, settings, start, end, events, ("emergency_admissions",))
    counts.update(window_start=str(start), window_end=str(end))
    if frame.empty or not frame["treated"].any():
        return empty_frame(READMISSION_BEFORE_AFTER), counts
    return pd.DataFrame(did_rows(frame, settings, "outcome", per_outcome)), counts


def service_use_change(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, *,
                       as_of: dt.date) -> tuple[pd.DataFrame, dict]:
    """marts.service_use_change rows (one per service) and counts."""
    contacts = source(con, "service_contacts")
    start, end = _window(con, settings, as_of, contacts, ("contact_on",))
    events = f"SELECT person_id, contact_on AS d, service AS label FROM {contacts}"
    frame, per_service, counts = person_frame(con, settings, start, end, events, tuple(settings.services))
    counts.update(window_start=str(start), window_end=str(end))
    if frame.empty or not frame["treated"].any():
        return empty_frame(SERVICE_USE_CHANGE), counts
    return pd.DataFrame(did_rows(frame, settings, "service", per_service)), counts
