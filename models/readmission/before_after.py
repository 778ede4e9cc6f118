"""Emergency admissions and service contacts per person-year, 12 months before vs after joining.

Design: a matched difference-in-differences.

* **Participants**: persons with a linked time-bank member account of a role in
  ``member_roles``; their join date J is the earliest ``joined_on`` of those accounts.
* **Comparison pool** (a sequence of target trials, one per pseudo join date: Hernán & Robins
  2016, Am J Epidemiol 183:758; Danaei et al. 2013, Stat Methods Med Res 22:70): every person
  draws a pseudo join date J at random (seeded by ``seed``, persons in person_id order) from the
  eligible participants' join dates, so the two groups have the same calendar spread. They are a
  comparison person at J when no member account of theirs, of any role, has ``joined_on`` <= J
  and no programme enrolment started before their before window (``programme_exclusion``, default
  ``comparison_before_window``: ``started_on`` <= J - washout_days - before_days - 1). An enrolment in the
  before window or after it does not count: peer visiting follows an emergency admission, so a rule at J
  (``comparison_at_join``, the old default) left out people for a before-window admission and selected the
  comparison on its before-window outcome (-0.015 admissions per person-year under no effect;
  docs/validation.md, "The programme rule of the comparison pool: results"). ``both_before_window`` applies
  the same rule to participants, ``none`` no rule.
  Eligibility and covariates are measured at J: whether they join later does not decide
  whether they are compared (the old pool, persons never a member and never enrolled, did, by
  leaving out everyone who joins later); the one later fact that does is death within the after
  window, for both groups alike (**Windows** below). So a participant can also be a comparison person at an
  earlier pseudo date (the marts' ``n_persons_in_both_groups`` counts them): two rows of one person, and the
  interval is clustered on person as well as matched set (the engine's ``cluster``: two-way,
  Cameron, Gelbach & Miller 2011), as for any person in two matched sets. A person can in
  principle be matched to their own earlier row; that is a valid comparison of two trials.
* **Joining in the after window**: a comparison person who joins during their after window stays
  in the comparison with all their after-window events (intention to treat for the strategy "not
  joined by J", the usual choice in sequential trials; Danaei et al. 2013). Censoring them at
  joining would estimate the per-protocol contrast "never joins in the year" but needs inverse
  probability of censoring weights, as joining depends on health (Hernán & Robins 2016); it is
  not done. The estimate is therefore "joining at J vs not having joined by J", which is nearer 0
  than "joining vs never joining" by the effect on those who join in their after window; their
  number is the marts' ``n_comparison_joined_after``. In ``bench/validate_before_after.py``
  (20,000 persons) about 2% of comparison persons joined in their after window, and the dilution
  was 2.4-3% of the GP effect (docs/validation.md, "Before/after design" and "Dates of death from the
  persons file").
* **Windows**: before = [J - washout_days - before_days, J - washout_days - 1], after = [J, J + after_days - 1]
  (365 days each; ``washout_days`` 90 by default, see **Joining after a crisis**). A person is eligible when both
  windows lie inside the data window of the source
  (start = ``data_start`` or the earliest date in the source; end = min(as-of, ``data_end``
  or the latest date in the source)), they are born by the start of the before window and
  alive at J, and they did not die within the after window (people who do are excluded from
  both groups alike, and counted in ``excluded_died``: a rule on what happens after J, so the
  contrast is among those alive a year after J; rates per person-year with the days alive as
  denominator would keep them, and are not done): the death is the persons file's ``died_on``
  where the extract links one (e.g. ONS death registrations), else a hospital spell ending in
  death.
  Without ``died_on`` a comparison person who dies at home stays in, their after-window
  contacts missing, which understates a reduction (by 3.6% of the GP effect in
  ``bench/validate_before_after.py``; docs/validation.md, "Dates of death from the persons file").
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
  comparison's change) with a 95% interval clustered on matched set and person. The four group
  rates are weighted means in the matched sample. The services share one matched sample
  (:func:`did_rows`: the people and covariates are the same for each), matched once.
* **Joining after a crisis (an Ashenfelter dip)**: people who join just after a transient rise in their use
  (Ashenfelter 1978, Rev Econ Stat 60:47; Heckman & Smith 1999, Econ J 109:313) have an inflated before rate
  that falls after J whatever joining does, and the DiD reads the fall as an effect; not matching on the
  before-period outcome does not protect against it. Two tools:

  - the **pre-trend check** (a placebo test; Angrist & Pischke 2009, Mostly Harmless Econometrics, 5.2; Roth
    2022, Am Econ Rev Insights 4:305): the same matched DiD with the before window as "after" and the
    ``before_days`` before it, [J - washout_days - 2 x before_days, J - washout_days - before_days - 1], as
    "before", among the rows whose data reach back that far (matched again among them). Parallel trends make it
    0; a dip makes it positive (the participants' use rises into the before window). It is the row's
    ``pretrend_*`` columns, and :data:`PRETREND_WARNING` is added to the row when its 95% interval excludes 0. It
    tests the windows the estimate uses, so behind a washout long enough to hold the dip it passes;
  - the **washout** (``washout_days``, 90 by default): the before window ends ``washout_days`` before J, leaving
    out the months where a crisis would sit. In ``bench/validate_before_after.py`` (20,000
    persons, 80 seeds), with 30% of joiners at 3x their use over the 90 days before joining and no effect, the
    default read a GP reduction of -1.06 contacts per person-year (Monte Carlo SE 0.02; significant in every
    run) and the check failed in every run; a 90-day washout brought the GP bias to -0.06 (0.02), coverage 94%,
    and the check failed in 4%, and with no crisis it left both scenarios unbiased at about 12% fewer eligible
    participants and 5% wider GP intervals (docs/validation.md, "Joining after a crisis"); hence the default.
    The same crisis on emergency admissions: -0.020 without a washout, none with it; the admissions row's remaining
    -0.017 (with or without a crisis) came from the old programme rule at J (``comparison_at_join``): peer visiting
    follows an admission, so leaving out the enrolled selected the comparison on its before-window outcome
    (docs/validation.md, "Emergency admissions under a crisis: results"); the default rule, measured before the
    before window, leaves +0.002 (MC SE 0.004). The GP residual under the washout is the comparison persons'
    own later crisis in their after window (verified there; no rule at J sees it).

  Matching on the outcome of an earlier year (before the before window) is not done: the dip lies in the
  before window, which the DiD still differences against, and matching on a pre-period level invites the
  regression to the mean above.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from models.comparison import ComparisonError, estimate, match
from schemas.raw import RECORDED_AFTER

from .settings import ReadmissionSettings
from .spells import age_sql, continuous_spells, source, table_exists
from .tables import READMISSION_BEFORE_AFTER, SERVICE_USE_CHANGE, empty_frame

YEAR = 365.25
PRETREND_WARNING = ("pre-trend check failed: in the {years} before the before window the participants' rate already "
                    "changed differently from the matched comparison's (placebo DiD {did:+.3f} per person-year, 95% "
                    "CI {lo:+.3f} to {hi:+.3f}): the groups were not on parallel paths, e.g. people joining after a "
                    "crisis (an Ashenfelter dip), which makes the difference-in-differences read a fall as an effect; "
                    "before_after.washout_days leaves the months before joining out")
RTM_WARNING = ("matched on prior_emergency_12m, the before-period outcome: regression to the mean can bias the "
               "difference-in-differences (Daw & Hatfield 2018)")
PERSON_COLUMNS = ("person_id", "birth_date", "sex", "area_code", "imd_decile", *RECORDED_AFTER)
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
    """The ``pseudo_date_rule`` column: how comparison persons got their join date, who is one at it, and whom a
    programme enrolment leaves out (``programme_exclusion``)."""
    rule = settings.programme_exclusion
    start = f"which starts {int(settings.washout_days) + int(settings.before_days)} days before"
    before_window = f"no member account by it and no programme enrolment starting before their before window, {start} it"
    programmes = {
        "comparison_at_join": "no member account and no programme enrolment by it",
        "comparison_before_window": before_window,
        "both_before_window": before_window,
        "none": "no member account by it, whatever their programme enrolments",
    }[rule]
    participants = (f"; participants likewise left out if enrolled in a programme before their before window, "
                    f"{start} joining") if rule == "both_before_window" else ""
    return (f"comparison persons: a join date drawn at random (seed {settings.seed}) from the eligible participants' "
            f"join dates, one per person in person_id order; in the comparison at it if they had {programmes} "
            f"(later joiners included: intention to treat); covariates and windows measured at it{participants}")


def _enrolment_cutoff(s: ReadmissionSettings) -> int:
    """Days before the (pseudo) join date J up to which a programme enrolment leaves a person out: an enrolment
    starting on or before J - cutoff does (0: on or before J, ``comparison_at_join``; washout_days + before_days + 1:
    before the before window)."""
    return 0 if s.programme_exclusion == "comparison_at_join" else int(s.washout_days) + int(s.before_days) + 1


def _people_sql(con, s: ReadmissionSettings, kept: str) -> str:
    """Every person once, in person_id order (``person``, 1..n): birth date, the columns ``kept``, the join date
    as a participant (earliest ``joined_on`` of a ``member_roles`` account), the first ``joined_on`` of any account,
    the first programme ``started_on`` (unless ``programme_exclusion`` is none) and the death date (the earlier of
    ``died_on`` and a hospital spell ending in death)."""
    members, persons = source(con, "timebank_members"), source(con, "persons")
    enrol, spells = source(con, "programme_enrolments"), source(con, "hospital_spells")
    enrolled, enrol_join = "NULL::DATE AS first_enrolled", ""
    if s.programme_exclusion != "none":
        enrolled = "e.first_enrolled"
        enrol_join = (f"LEFT JOIN (SELECT person_id, min(started_on) AS first_enrolled FROM {enrol} GROUP BY person_id) e "
                      "USING (person_id)")
    return f"""
        WITH accounts AS (
            SELECT person_id, min(joined_on) FILTER (list_contains($roles::VARCHAR[], role)) AS join_date,
                   min(joined_on) AS first_account
            FROM {members} WHERE person_id IS NOT NULL GROUP BY person_id
        ), deaths AS (
            SELECT person_id, min(discharged_on) AS died_on FROM {spells} WHERE discharge_destination = 'died'
            GROUP BY person_id
        )
        SELECT row_number() OVER (ORDER BY p.person_id) AS person, p.person_id, p.birth_date{kept}, a.join_date,
               a.first_account, {enrolled}, least(d.died_on, p.died_on) AS died_on
        FROM {persons} p LEFT JOIN accounts a USING (person_id) {enrol_join} LEFT JOIN deaths d USING (person_id)"""


def _count_sql(a: int, ok: str, died: str, eligible: str) -> str:
    """The counts of :func:`person_frame`, in its order, over the rows ``x`` of ``_rd_candidates``."""
    return f"""
        SELECT count(*) FILTER (x.treated), count(*) FILTER (x.treated AND {ok}),
               count(*) FILTER (NOT x.treated), count(*) FILTER (NOT x.treated AND {ok}),
               count(*) FILTER ({eligible} AND {died}),
               count(*) FILTER (NOT x.treated AND {ok} AND x.join_date <= x.index_date + {a - 1})
        FROM _rd_candidates x"""


def person_frame(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, start, end, events_sql: str,
                 labels: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict]:
    """The rows compared, for each label the ``before_n`` and ``after_n`` counts of the events
    ``(person_id, d, label)`` of ``events_sql`` in their windows (row for row with the rows), and the
    counts of who was left out.

    The rows: participants at their join date, then comparison persons at their pseudo join date, each in
    person_id order, with ``treated``, ``person`` (the person's rank in person_id order: a participant can also
    be a comparison person at an earlier pseudo date, and the interval is clustered on it) and the covariates
    of ``before_after_covariates`` and ``exact`` measured at the (pseudo) join date (age in whole years, a
    staging.persons column, or ``prior_emergency_12m``). Every person draws a pseudo date (numpy's ``choice``
    over the sorted join dates of the eligible participants, one draw per person in person_id order); they are
    in the comparison at it when no member account of theirs (any role) has ``joined_on`` on or before it
    and no programme enrolment leaves them out (``programme_exclusion``: comparison_at_join, one with
    ``started_on`` on or before it; comparison_before_window and both_before_window, one starting before their
    before window, on or before J - washout_days - before_days - 1; none, none does). Under both_before_window a
    participant with an enrolment starting before their before window is left out too.
    ``pretrend_window`` is true for rows whose data also hold the ``before_days`` before the before window (the
    pre-trend check's, :func:`did_rows`), for which each label also has ``pre_n``, the count in
    [J - washout_days - 2 x before_days, J - washout_days - before_days - 1] (0 for the other rows).
    All else is done in DuckDB, and only the columns the comparison reads come back to pandas (issue 18).

    Counts: ``participants_joined`` (persons with a ``member_roles`` account, less those a programme leaves out),
    ``comparison_pool`` (persons not joined, and not left out by a programme, at their pseudo date), each ``..._eligible`` (windows in the data, born, alive),
    ``excluded_died`` (rows of either group, alive at J, who die within the after window),
    ``comparison_joined_in_after`` (eligible comparison persons who joined as participants within their after
    window, kept as comparisons: intention to treat) and ``persons_in_both_groups`` (persons eligible as a
    participant and, at an earlier pseudo date, as a comparison person)."""
    counts = {"participants_joined": 0, "participants_eligible": 0, "comparison_pool": 0, "comparison_eligible": 0,
              "excluded_died": 0, "comparison_joined_in_after": 0, "persons_in_both_groups": 0}
    if start is None or end is None:
        return pd.DataFrame(), {}, counts
    s = settings
    b, a, w = int(s.before_days), int(s.after_days), int(s.washout_days)
    extra = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'persons'"
    ).fetchall() if r[0] not in PERSON_COLUMNS + _META] if table_exists(con, "staging", "persons") else []
    computed = {"age": age_sql("x.birth_date", "x.index_date"), "prior_emergency_12m": "coalesce(prior.n, 0)"}
    measured = {c: computed.get(c, f'x."{c}"') for c in (*MEASURED_AT_JOINING, *extra)}
    read = [c for c in dict.fromkeys([*s.before_after_covariates, *s.exact]) if c in measured]
    kept = "".join(f', p."{c}"' for c in read if c in ("sex", "area_code", "imd_decile", *extra))
    # eligible: both windows inside the data window, born by its start, alive at J; excluded (and counted): died
    # (died_on or a spell ending in death) within the after window
    eligible = (f"(x.index_date - {w + b} >= $start::DATE AND x.index_date + {a - 1} <= $end::DATE "
                f"AND x.birth_date <= x.index_date - {w + b} AND coalesce(x.died_on >= x.index_date, true))")
    died = f"coalesce(x.died_on < x.index_date + {a}, false)"
    ok = f"({eligible} AND NOT {died})"
    window = {"start": start, "end": end}
    cut = _enrolment_cutoff(s)
    # a participant is left out by a programme only under both_before_window; a comparison person unless none
    participant = "join_date IS NOT NULL" + (
        f" AND coalesce(first_enrolled > join_date - {cut}, true)" if s.programme_exclusion == "both_before_window" else "")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _rd_people AS {_people_sql(con, s, kept)}", {"roles": list(s.member_roles)})
    try:
        joined = con.execute(f"""
            SELECT x.index_date FROM (SELECT *, join_date AS index_date FROM _rd_people WHERE {participant}) x
            WHERE {ok} ORDER BY x.index_date
        """, window).df()["index_date"].to_numpy()
        n_people = con.execute("SELECT count(*) FROM _rd_people").fetchall()[0][0]
        draws = np.empty(0, dtype=joined.dtype)
        if len(joined):
            draws = np.random.default_rng(s.seed).choice(joined, size=n_people, replace=True)
        # the k-th person in person_id order draws the k-th date
        con.register("_rd_draws", pd.DataFrame({"person": 1 + np.arange(len(draws)), "pseudo_date": draws}))
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _rd_candidates AS
            SELECT row_number() OVER (ORDER BY treated DESC, person) AS pos, * FROM (
                SELECT *, true AS treated, join_date AS index_date FROM _rd_people WHERE {participant}
                UNION ALL
                SELECT p.*, false AS treated, d.pseudo_date::DATE AS index_date
                FROM _rd_people p JOIN _rd_draws d USING (person)
                WHERE coalesce(p.first_account > d.pseudo_date::DATE, true)
                  AND coalesce(p.first_enrolled > d.pseudo_date::DATE - {cut}, true))""")
        counts.update(zip(counts, map(int, con.execute(_count_sql(a, ok, died, eligible), window).fetchall()[0])))
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
            counted += [f"count(*) FILTER ({is_label} AND e.d < f.index_date - {w + b} "
                        f"AND f.index_date - {w + 2 * b} >= $start::DATE) AS pre_{i}",
                        f"count(*) FILTER ({is_label} AND e.d BETWEEN f.index_date - {w + b} AND f.index_date - {w + 1})"
                        f" AS before_{i}",
                        f"count(*) FILTER ({is_label} AND e.d >= f.index_date) AS after_{i}"]
        out = con.execute(f"""
            WITH f AS MATERIALIZED (
                SELECT * FROM _rd_candidates x WHERE {ok}
            ), ev AS (  -- each label's events in the pre, before and after windows, in one pass over the events
                SELECT f.pos{"".join(", " + c for c in counted)}
                FROM f JOIN ({events_sql}) e ON e.person_id = f.person_id
                 AND e.d BETWEEN f.index_date - {w + 2 * b} AND f.index_date + {a - 1}
                GROUP BY f.pos
            )
            SELECT x.treated::BIGINT AS treated, x.person{"".join(f', {measured[c]} AS "{c}"' for c in read)},
                   x.index_date - {w + 2 * b} >= $start::DATE AS pretrend_window
                   {"".join(f", coalesce(ev.pre_{i}, 0) AS pre_{i}, coalesce(ev.before_{i}, 0) AS before_{i}, "
                            f"coalesce(ev.after_{i}, 0) AS after_{i}" for i in range(len(labels)))}
            FROM f x LEFT JOIN ev USING (pos){prior}
            ORDER BY x.pos
        """, window).df()
    finally:
        con.execute("DROP TABLE IF EXISTS _rd_candidates")
        con.execute("DROP TABLE IF EXISTS _rd_people")
        con.unregister("_rd_draws")
    counts["persons_in_both_groups"] = int((out.groupby("person")["treated"].nunique() == 2).sum())
    events = {label: pd.DataFrame({"pre_n": out.pop(f"pre_{i}"), "before_n": out.pop(f"before_{i}"),
                                   "after_n": out.pop(f"after_{i}")})
              for i, label in enumerate(labels)}
    return out, events, counts


def did_row(frame: pd.DataFrame, settings: ReadmissionSettings, label_col: str, label: str) -> dict:
    """Matched DiD of the change in rate per person-year for one outcome (columns pre_n, before_n, after_n,
    ``pretrend_window`` and ``person``: the person of each row, which the interval is clustered on;
    :func:`person_frame` gives them)."""
    return did_rows(frame, settings, label_col, {label: frame})[0]


def did_rows(frame: pd.DataFrame, settings: ReadmissionSettings, label_col: str,
             counts: dict[str, pd.DataFrame]) -> list[dict]:
    """:func:`did_row` for several outcomes: ``counts`` maps each label to its ``pre_n``, ``before_n`` and
    ``after_n``, row for row with ``frame``, whose ``person`` column keys the person of each row (one person can be a
    comparison row and, later, a participant row: the interval is clustered on matched set and person). Who is compared, and on what, does not depend on the outcome, so the
    participants are matched once (:func:`models.comparison.match`) and every outcome is estimated on
    that one matched sample (:func:`models.comparison.estimate`), as one call per outcome would.

    The pre-trend check (module docstring) is the same: the rows with ``pretrend_window`` matched once among
    themselves, and each outcome's placebo change (before rate - the rate in the ``before_days`` before it)
    estimated on that sample; ``pretrend_status`` says why it is missing when it is."""
    s = settings
    f = frame.copy()
    for label, c in counts.items():
        f[f"{label}:pre_rate"] = c["pre_n"].to_numpy() / (s.before_days / YEAR)
        f[f"{label}:before_rate"] = c["before_n"].to_numpy() / (s.before_days / YEAR)
        f[f"{label}:after_rate"] = c["after_n"].to_numpy() / (s.after_days / YEAR)
        f[f"{label}:change"] = f[f"{label}:after_rate"] - f[f"{label}:before_rate"]
        f[f"{label}:pre_change"] = f[f"{label}:before_rate"] - f[f"{label}:pre_rate"]
    n_t = int(f["treated"].sum())
    base = {"n_participants": n_t, "n_comparison": int(len(f) - n_t), "pseudo_date_rule": pseudo_rule(s),
            "washout_days": int(s.washout_days)}
    pretrend = _pretrend(f[f["pretrend_window"].to_numpy(dtype=bool)].reset_index(drop=True), s, list(counts))

    def not_estimated(label: str, err: ComparisonError) -> dict:
        """The row of an outcome with no estimate: every column an estimated row has, the estimate's empty."""
        t = f[f["treated"] == 1]
        return {label_col: label, **base, **pretrend[label], "status": "not estimated", "n_matched": 0, "did": np.nan,
                "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan, "verdict": "not estimated",
                "participant_before": t[f"{label}:before_rate"].mean(), "participant_after": t[f"{label}:after_rate"].mean(),
                "comparison_before": np.nan, "comparison_after": np.nan, "person_years_after": 0.0,
                "max_abs_smd_after": np.nan, "warnings": str(err)}

    try:
        matched = _matched(f, s, [f"{label}:change" for label in counts])
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

        p = pretrend[label]
        failed = p["pretrend_status"] == "estimated" and not p["pretrend_ci_low"] <= 0 <= p["pretrend_ci_high"]
        caution = [PRETREND_WARNING.format(
            years="year" if s.before_days == 365 else f"{s.before_days} days", did=p["pretrend_did"],
            lo=p["pretrend_ci_low"], hi=p["pretrend_ci_high"])] if failed else []
        rows.append({
            label_col: label, **base, **p, "status": "estimated", "n_matched": res.n_matched, "did": res.estimate,
            "ci_low": res.ci_low, "ci_high": res.ci_high, "p_value": res.p_value, "verdict": res.verdict,
            "participant_before": wmean(f"{label}:before_rate", tr), "participant_after": wmean(f"{label}:after_rate", tr),
            "comparison_before": wmean(f"{label}:before_rate", ~tr), "comparison_after": wmean(f"{label}:after_rate", ~tr),
            "person_years_after": res.n_matched * s.after_days / YEAR,
            "max_abs_smd_after": float(np.nanmax(np.abs(res.balance["smd_after"]))) if len(res.balance) else np.nan,
            "warnings": " | ".join([*res.warnings, *([RTM_WARNING] if "prior_emergency_12m" in s.before_after_covariates else []),
                                    *caution]),
        })
    return rows


def _matched(f: pd.DataFrame, s: ReadmissionSettings, outcomes: list[str]):
    """Participants matched to comparison rows on ``before_after_covariates`` with the settings' method, clustered on
    person (the estimate and its pre-trend check match alike)."""
    return match(f, "treated", list(s.before_after_covariates), method=s.method, caliper=s.caliper, ratio=s.ratio,
                 replace=s.replace, exact=list(s.exact) or None, seed=s.seed, cluster="person", outcomes=outcomes)


def _pretrend(f: pd.DataFrame, s: ReadmissionSettings, labels: list[str]) -> dict[str, dict]:
    """Per label, the pre-trend check's columns on the rows ``f`` whose data reach back a further ``before_days``:
    the matched DiD of ``<label>:pre_change`` (before rate minus the rate in the window before it), matched among
    these rows as :func:`did_rows` matches all of them, with its 95% interval and p-value."""
    missing = {"pretrend_did": np.nan, "pretrend_ci_low": np.nan, "pretrend_ci_high": np.nan,
               "pretrend_p_value": np.nan, "pretrend_n_matched": 0}
    if not f["treated"].any():
        why = "not estimated: no participant's data reach back before the before window"
        return {label: {**missing, "pretrend_status": why} for label in labels}
    try:
        matched = _matched(f, s, [f"{label}:pre_change" for label in labels])
    except ComparisonError as err:
        return {label: {**missing, "pretrend_status": f"not estimated: {err}"} for label in labels}
    out = {}
    for label in labels:
        try:
            res = estimate(matched, f"{label}:pre_change", "continuous", matched_columns=["_weight", "_treated"],
                           outcome_label=f"pre-trend change in {label.replace('_', ' ')} per person-year")
        except ComparisonError as err:
            out[label] = {**missing, "pretrend_status": f"not estimated: {err}"}
            continue
        out[label] = {"pretrend_status": "estimated", "pretrend_did": res.estimate, "pretrend_ci_low": res.ci_low,
                      "pretrend_ci_high": res.ci_high, "pretrend_p_value": res.p_value,
                      "pretrend_n_matched": res.n_matched}
    return out


def chains(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings) -> str:
    """A FROM-able expression for the continuous spells: ``core.continuous_spells`` when the index-discharges
    asset has written it, else the same rows computed in memory from staging (nothing is written, so this
    runs on a read-only warehouse too)."""
    if table_exists(con, "core", "continuous_spells"):
        return "core.continuous_spells"
    return f"({continuous_spells(con, settings).sql_query()})"


def _with_people(rows: list[dict], counts: dict) -> pd.DataFrame:
    """The mart's rows with the people the intention-to-treat reading rests on (:func:`person_frame`'s counts):
    comparison persons who joined within their after window, and persons in both groups."""
    return pd.DataFrame(rows).assign(n_comparison_joined_after=counts["comparison_joined_in_after"],
                                     n_persons_in_both_groups=counts["persons_in_both_groups"])


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
    return _with_people(did_rows(frame, settings, "outcome", per_outcome), counts), counts


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
    return _with_people(did_rows(frame, settings, "service", per_service), counts), counts
