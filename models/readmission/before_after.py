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


def person_frame(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, start, end) -> tuple[pd.DataFrame, dict]:
    """Participants and comparison persons with (pseudo) join dates and baseline covariates."""
    counts = {"participants_joined": 0, "participants_eligible": 0, "comparison_pool": 0, "comparison_eligible": 0,
              "excluded_died": 0}
    if start is None or end is None:
        return pd.DataFrame(), counts
    s = settings
    members, persons = source(con, "timebank_members"), source(con, "persons")
    enrol, spells = source(con, "programme_enrolments"), source(con, "hospital_spells")
    no_programme = f"AND person_id NOT IN (SELECT person_id FROM {enrol})" if s.comparison_excludes_programmes else ""
    people = con.execute(f"""
        WITH joiners AS (
            SELECT person_id, min(joined_on) AS join_date FROM {members}
            WHERE person_id IS NOT NULL AND list_contains($roles::VARCHAR[], role) GROUP BY person_id
        ), deaths AS (
            SELECT person_id, min(discharged_on) AS died_on FROM {spells} WHERE discharge_destination = 'died'
            GROUP BY person_id
        )
        SELECT p.person_id, p.birth_date, j.join_date, d.died_on,
               (j.person_id IS NOT NULL) AS treated,
               (j.person_id IS NULL AND p.person_id NOT IN (SELECT person_id FROM {members} WHERE person_id IS NOT NULL)
                {no_programme}) AS pool
        FROM {persons} p LEFT JOIN joiners j USING (person_id) LEFT JOIN deaths d USING (person_id)
        ORDER BY p.person_id
    """, {"roles": list(s.member_roles)}).df()
    for c in ("birth_date", "join_date", "died_on"):
        people[c] = pd.to_datetime(people[c])
    before, after = pd.Timedelta(days=s.before_days), pd.Timedelta(days=s.after_days)
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)

    def eligible(frame: pd.DataFrame, date: pd.Series) -> pd.Series:
        return ((date - before >= start_ts) & (date + after - pd.Timedelta(days=1) <= end_ts)
                & (frame["birth_date"] <= date - before))

    def died(frame: pd.DataFrame, date: pd.Series) -> pd.Series:
        return frame["died_on"].notna() & (frame["died_on"] < date + after)

    t = people[people["treated"]].copy()
    counts["participants_joined"] = len(t)
    t["index_date"] = t["join_date"]
    ok = eligible(t, t["index_date"])
    gone = ok & died(t, t["index_date"])
    counts["excluded_died"] += int(gone.sum())
    t = t[ok & ~gone]
    counts["participants_eligible"] = len(t)
    c = people[people["pool"]].copy()
    counts["comparison_pool"] = len(c)
    if t.empty or c.empty:
        frame = t
    else:
        rng = np.random.default_rng(s.seed)
        c["index_date"] = rng.choice(np.sort(t["index_date"].to_numpy()), size=len(c), replace=True)
        ok = eligible(c, c["index_date"])
        gone = ok & died(c, c["index_date"])
        counts["excluded_died"] += int(gone.sum())
        c = c[ok & ~gone]
        counts["comparison_eligible"] = len(c)
        frame = pd.concat([t, c], ignore_index=True)
    if frame.empty:
        return pd.DataFrame(), counts
    frame = frame[["person_id", "index_date", "treated"]].assign(treated=lambda f: f["treated"].astype(int))
    extra = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'persons'"
    ).fetchall() if r[0] not in PERSON_COLUMNS + _META] if table_exists(con, "staging", "persons") else []
    extra_sql = "".join(f', p."{x}"' for x in extra)
    chained = chains(con, s)
    con.register("_rd_people0", frame)
    try:
        out = con.execute(f"""
            WITH _rd_people AS (SELECT person_id, index_date::DATE AS index_date, treated FROM _rd_people0)
            SELECT f.person_id, f.index_date, f.treated, {age_sql('p.birth_date', 'f.index_date')} AS age,
                   p.sex, p.area_code, p.imd_decile{extra_sql},
                   (SELECT count(*) FROM {chained} e
                     WHERE e.person_id = f.person_id AND e.admission_method = 'emergency'
                       AND e.admitted_on >= f.index_date - {int(s.prior_admission_days)}
                       AND e.admitted_on < f.index_date) AS prior_emergency_12m
            FROM _rd_people f LEFT JOIN {persons} p USING (person_id)
            ORDER BY f.treated DESC, f.person_id
        """).df()
    finally:
        con.unregister("_rd_people0")
    return out, counts


def event_counts(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, events_sql: str, settings: ReadmissionSettings,
                 labels: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """For each label, ``before_n`` and ``after_n`` per row of ``frame`` (in its order), from events
    ``(person_id, d, label)`` of ``events_sql``: every label counted in one pass over the events."""
    b, a = int(settings.before_days), int(settings.after_days)
    counted = []
    for i, label in enumerate(labels):
        is_label = f"e.label = '{label.replace(chr(39), '')}'"
        counted += [f"count(e.d) FILTER ({is_label} AND e.d BETWEEN f.index_date - {b} AND f.index_date - 1) AS before_{i}",
                    f"count(e.d) FILTER ({is_label} AND e.d BETWEEN f.index_date AND f.index_date + {a - 1}) AS after_{i}"]
    con.register("_rd_idx0", frame[["person_id", "index_date"]].assign(_pos=np.arange(len(frame))))
    try:
        out = con.execute(f"""
            WITH _rd_idx AS (SELECT _pos, person_id, index_date::DATE AS index_date FROM _rd_idx0)
            SELECT {", ".join(counted)}
            FROM _rd_idx f LEFT JOIN ({events_sql}) e ON e.person_id = f.person_id
             AND e.d BETWEEN f.index_date - {b} AND f.index_date + {a - 1}  -- only the windows' events: half the rows
            GROUP BY f._pos ORDER BY f._pos
        """).df()
    finally:
        con.unregister("_rd_idx0")
    return {label: pd.DataFrame({"before_n": out[f"before_{i}"], "after_n": out[f"after_{i}"]})
            for i, label in enumerate(labels)}


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
                           outcome_label=f"change in {label.replace('_', ' ')} per person-year")
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
    frame, counts = person_frame(con, settings, start, end)
    counts.update(window_start=str(start), window_end=str(end))
    if frame.empty or not frame["treated"].any():
        return empty_frame(READMISSION_BEFORE_AFTER), counts
    events = (f"SELECT person_id, admitted_on AS d, 'emergency_admissions' AS label FROM {chains(con, settings)} "
              "WHERE admission_method = 'emergency'")
    per_outcome = event_counts(con, frame, events, settings, ("emergency_admissions",))
    return pd.DataFrame(did_rows(frame, settings, "outcome", per_outcome)), counts


def service_use_change(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, *,
                       as_of: dt.date) -> tuple[pd.DataFrame, dict]:
    """marts.service_use_change rows (one per service) and counts."""
    contacts = source(con, "service_contacts")
    start, end = _window(con, settings, as_of, contacts, ("contact_on",))
    frame, counts = person_frame(con, settings, start, end)
    counts.update(window_start=str(start), window_end=str(end))
    if frame.empty or not frame["treated"].any():
        return empty_frame(SERVICE_USE_CHANGE), counts
    events = f"SELECT person_id, contact_on AS d, service AS label FROM {contacts}"
    per_service = event_counts(con, frame, events, settings, tuple(settings.services))
    return pd.DataFrame(did_rows(frame, settings, "service", per_service)), counts
