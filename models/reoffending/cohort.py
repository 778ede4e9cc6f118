"""``core.justice_cohort``: one row per person and cohort period, built in DuckDB SQL.

Rules (settings in :class:`~models.reoffending.settings.ReoffendingSettings`; defaults follow
the MoJ proven-reoffending measure, reference/methods.md section 2):

1. **Index event.** A ``staging.justice_events`` row of a type in ``index_event_types`` dated on
   or before the as-of date. The cohort period (quarter by default) is the one holding the
   event date. Each person's *first* qualifying event in the period is the index event
   (``events_in_period`` counts them all); two on the same day: the type listed first in
   ``index_event_types`` wins.
2. **Proven reoffence.** A ``staging.offences`` row of the person with ``is_breach`` false,
   ``offence_date`` in [index + 1, index + ``follow_up_days``] (day 365 counts, the index day
   does not) and ``proven_on`` on or before index + ``follow_up_days`` + ``waiting_days``
   (``proof_deadline``) and the as-of date. Each such row is one reoffence. Breaches in the
   follow-up (``breaches_in_window``) and offences proven after the deadline
   (``proven_after_waiting``) are counted for the record, never as reoffences.
   ``reoffence_days`` lists each reoffence's offence date as days after the index date, so
   outcomes can be counted from a later time zero.
3. **Final or provisional.** A cohort is final when the last index date it can hold has had its
   full follow-up and waiting period by the as-of date: ``period_end + follow_up_days +
   waiting_days <= as_of``. Other cohorts are provisional (their rates can only rise).
4. **Participation.** A ``staging.programme_enrolments`` row (programme filters apply) or a
   person-linked ``staging.timebank_members`` row with a participant role that starts on or
   before index + ``participation_window_days`` and has not ended before the index date
   (``ended_on``/``left_on`` empty or on/after it). ``programmes`` lists the labels: the
   ``programme_id``, or ``timebank:<timebank_id>`` for a time bank; ``programme_start_days``
   the day each started, counted from the index date (0 when it started on or before it).
   ``participant`` records the rule only: a start after the index date is each participant's
   own time zero in the risk-set design (:mod:`.prepare`), never a reason to count follow-up
   from the index date (immortal time).
5. **Criminal history.** ``proven_offences_to_index``: the person's ``staging.offences`` rows with
   ``is_breach`` false proven on or before the index date (and, with ``history_years``, after the
   index date less that many years). The offences proven at the index occasion are among them when
   the extract holds them (a caution's or court disposal's offence is proven on the index date, a
   released prisoner's at conviction), so the count is the previous offences the MoJ's quarterly
   bulletins break rates down by (offences before the index offence) plus the index occasion's:
   criminal history, which the Justice Data Lab matches on (reference/methods.md section 2). It is
   measured at the index date from dated rows, so, unlike an undated ``prior_convictions`` column
   counted at the extract date, it never includes the follow-up's convictions. It reaches back only
   as far as the offences extract does: ``history_from`` is the first day it could count (the
   earliest ``proven_on`` in the file, or the look-back's first day if later), which the comparison
   checks (:func:`~models.reoffending.prepare.history_note`).
6. **Covariates.** ``age`` (years at the index date, decimal: days / 365.25), ``sex``,
   ``imd_decile``, ``area_code`` and every further column of ``staging.persons`` (a name that
   clashes with a cohort column becomes ``persons_<name>``). A person absent from persons
   (possible only when persons was not supplied) keeps the row with empty covariates.

The table is person-level and never published; the marts are built from it.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from models.mart_writer import write_mart
from schemas.contract import empty_source_sql
from schemas.marts import mart
from schemas.raw import RECORDED_AFTER

from .settings import ReoffendingSettings

COHORT_TABLE = "core.justice_cohort"
BOOKKEEPING = ("source_file", "source_line", "run_id")
#: Columns of core.justice_cohort before the persons covariates, in order.
#: The fixed columns (name, type) of core.justice_cohort, as schemas/marts.py declares them.
COHORT_COLUMNS: tuple[tuple[str, str], ...] = tuple((c.name, c.type) for c in mart(COHORT_TABLE).plain_columns())


_PERIOD = {
    "month": ("month", "1 MONTH", "strftime(period_start, '%Y-%m')"),
    "quarter": ("quarter", "3 MONTH", "strftime(period_start, '%Y') || '-Q' || quarter(period_start)"),
    "year": ("year", "1 YEAR", "strftime(period_start, '%Y')"),
}


def q(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def qi(name: str) -> str:
    """A SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]] | None:
    """(name, type) of a table's columns in order, or None when it does not exist."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 "
        "ORDER BY ordinal_position", [schema, table],
    ).fetchall()
    return rows or None


def _source(con, table: str) -> str:
    return f"staging.{table}" if table_columns(con, "staging", table) else f"({empty_source_sql(table)})"


def persons_covariates(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(persons column, cohort column name) for every covariate column of staging.persons."""
    cols = table_columns(con, "staging", "persons") or [("sex", "VARCHAR"), ("area_code", "VARCHAR"), ("imd_decile", "BIGINT")]
    taken = {c for c, _ in COHORT_COLUMNS}
    out = []
    for name, _ in cols:
        if name in ("person_id", "birth_date", *RECORDED_AFTER, *BOOKKEEPING):
            continue
        out.append((name, f"persons_{name}" if name in taken else name))
    return out


def cohort_sql(con: duckdb.DuckDBPyConnection, settings: ReoffendingSettings, as_of: dt.date, run_id: str) -> str:
    """The SELECT that yields core.justice_cohort (see the module docstring for the rules)."""
    s = settings
    unit, length, label = _PERIOD[s.cohort_period]
    types = ", ".join(q(t) for t in s.index_event_types)
    priority = " ".join(f"WHEN {q(t)} THEN {i}" for i, t in enumerate(s.index_event_types))
    as_of_sql = f"DATE {q(as_of.isoformat())}"
    prog_filter = []
    if s.include_programmes is not None:
        prog_filter.append(f"programme_id IN ({', '.join(q(p) for p in s.include_programmes) or 'NULL'})")
    if s.exclude_programmes:
        prog_filter.append(f"programme_id NOT IN ({', '.join(q(p) for p in s.exclude_programmes)})")
    prog_where = " AND ".join(["person_id IS NOT NULL", "started_on IS NOT NULL", *prog_filter])
    timebank = ""
    if s.include_timebanks:
        roles = ", ".join(q(r) for r in s.timebank_roles) or "NULL"
        timebank = (
            f"UNION ALL SELECT person_id, 'timebank:' || timebank_id, joined_on, left_on FROM {_source(con, 'timebank_members')} "
            f"WHERE person_id IS NOT NULL AND joined_on IS NOT NULL AND role IN ({roles})"
        )
    look_back_days = None if s.history_years is None else round(s.history_years * 365.25)
    look_back = "" if look_back_days is None else f"AND o.proven_on > c.index_date - {look_back_days}"
    history_from = ("e.first_proven" if look_back_days is None
                    else f"greatest(e.first_proven, (c.index_date - {look_back_days - 1})::DATE)")
    covs = persons_covariates(con)
    cov_select = "".join(f", p.{qi(src)} AS {qi(dst)}" for src, dst in covs)
    return f"""
WITH ev AS (
    SELECT person_id, event_type, event_date,
           date_trunc('{unit}', event_date)::DATE AS period_start,
           CASE event_type {priority} END AS priority
    FROM {_source(con, 'justice_events')}
    WHERE person_id IS NOT NULL AND event_date IS NOT NULL AND event_date <= {as_of_sql}
      AND event_type IN ({types})
), ranked AS (
    SELECT *,
           row_number() OVER (PARTITION BY person_id, period_start ORDER BY event_date, priority) AS rn,
           count(*) OVER (PARTITION BY person_id, period_start) AS events_in_period
    FROM ev
), cohort AS (
    SELECT person_id, period_start,
           (period_start + INTERVAL {length} - INTERVAL 1 DAY)::DATE AS period_end,
           event_date AS index_date, event_type, events_in_period,
           (event_date + {s.follow_up_days})::DATE AS follow_up_end,
           (event_date + {s.follow_up_days + s.waiting_days})::DATE AS proof_deadline
    FROM ranked WHERE rn = 1
), offs AS (
    SELECT c.person_id, c.period_start,
           count(*) FILTER (WHERE NOT coalesce(o.is_breach, false) AND o.proven_on <= c.proof_deadline
                                  AND o.proven_on <= {as_of_sql}) AS reoffences,
           list(date_diff('day', c.index_date, o.offence_date) ORDER BY o.offence_date)
               FILTER (WHERE NOT coalesce(o.is_breach, false) AND o.proven_on <= c.proof_deadline
                       AND o.proven_on <= {as_of_sql}) AS reoffence_days,
           min(o.offence_date) FILTER (WHERE NOT coalesce(o.is_breach, false) AND o.proven_on <= c.proof_deadline
                                       AND o.proven_on <= {as_of_sql}) AS first_reoffence_date,
           count(*) FILTER (WHERE coalesce(o.is_breach, false)) AS breaches_in_window,
           count(*) FILTER (WHERE NOT coalesce(o.is_breach, false) AND o.proven_on > c.proof_deadline) AS proven_after_waiting
    FROM cohort c
    JOIN {_source(con, 'offences')} o
      ON o.person_id = c.person_id AND o.offence_date > c.index_date AND o.offence_date <= c.follow_up_end
    GROUP BY c.person_id, c.period_start, c.index_date
), history AS (
    SELECT c.person_id, c.period_start, count(*) AS proven_offences
    FROM cohort c
    JOIN {_source(con, 'offences')} o
      ON o.person_id = c.person_id AND o.proven_on <= c.index_date AND NOT coalesce(o.is_breach, false)
     {look_back}
    GROUP BY c.person_id, c.period_start
), extract_start AS (
    SELECT min(proven_on) AS first_proven FROM {_source(con, 'offences')}
), spells AS (
    SELECT person_id, programme_id AS programme, started_on AS started, ended_on AS ended
    FROM {_source(con, 'programme_enrolments')} WHERE {prog_where}
    {timebank}
), part_programme AS (
    SELECT c.person_id, c.period_start, sp.programme,
           greatest(date_diff('day', c.index_date, min(sp.started)), 0) AS start_day,
           min(sp.started) AS started
    FROM cohort c
    JOIN spells sp
      ON sp.person_id = c.person_id
     AND sp.started <= c.index_date + {s.participation_window_days}
     AND (sp.ended IS NULL OR sp.ended >= c.index_date)
    GROUP BY c.person_id, c.period_start, c.index_date, sp.programme
), part AS (
    SELECT person_id, period_start,
           list(programme ORDER BY programme) AS programmes,
           list(start_day ORDER BY programme) AS programme_start_days,
           min(started) AS participation_start
    FROM part_programme
    GROUP BY ALL
)
SELECT {q(run_id)} AS run_id, c.person_id, {label.replace('period_start', 'c.period_start')} AS cohort_period,
       c.period_start, c.period_end, c.index_date, c.event_type, c.events_in_period,
       c.follow_up_end, c.proof_deadline,
       (c.period_end + {s.follow_up_days + s.waiting_days}) <= {as_of_sql} AS is_final,
       pa.person_id IS NOT NULL AS participant,
       coalesce(pa.programmes, []::VARCHAR[]) AS programmes,
       pa.participation_start,
       coalesce(pa.programme_start_days, []::BIGINT[]) AS programme_start_days,
       coalesce(o.reoffences, 0) > 0 AS reoffended,
       coalesce(o.reoffences, 0)::BIGINT AS reoffences,
       coalesce(o.reoffence_days, []::BIGINT[]) AS reoffence_days,
       o.first_reoffence_date,
       date_diff('day', c.index_date, o.first_reoffence_date)::BIGINT AS days_to_first_reoffence,
       coalesce(o.breaches_in_window, 0)::BIGINT AS breaches_in_window,
       coalesce(o.proven_after_waiting, 0)::BIGINT AS proven_after_waiting,
       date_diff('day', p.birth_date, c.index_date) / 365.25 AS age,
       coalesce(h.proven_offences, 0)::BIGINT AS proven_offences_to_index,
       {history_from} AS history_from
       {cov_select}
FROM cohort c
CROSS JOIN extract_start e
LEFT JOIN offs o USING (person_id, period_start)
LEFT JOIN history h USING (person_id, period_start)
LEFT JOIN part pa USING (person_id, period_start)
LEFT JOIN {_source(con, 'persons')} p ON p.person_id = c.person_id
ORDER BY c.period_start, c.person_id
"""


def justice_cohort(con: duckdb.DuckDBPyConnection, settings: ReoffendingSettings, *, as_of: dt.date
                   ) -> duckdb.DuckDBPyRelation:
    """The rows of core.justice_cohort, as a DuckDB relation (computed in SQL, nothing written)."""
    return con.sql(cohort_sql(con, settings, as_of, run_id=""))


def build_justice_cohort(
    con: duckdb.DuckDBPyConnection, settings: ReoffendingSettings, *, as_of: dt.date, run_id: str
) -> int:
    """:func:`justice_cohort` written with the one writer (a script's one call); returns its row count."""
    return write_mart(con, COHORT_TABLE, justice_cohort(con, settings, as_of=as_of), run_id)


def read_cohort(con: duckdb.DuckDBPyConnection, *, final_only: bool = False) -> pd.DataFrame:
    """core.justice_cohort as a DataFrame (empty, with the fixed columns, if the table is absent)."""
    if not table_columns(con, "core", "justice_cohort"):
        return pd.DataFrame({c: pd.Series(dtype=object) for c, _ in COHORT_COLUMNS})
    where = " WHERE is_final" if final_only else ""
    return con.execute(f"SELECT * FROM {COHORT_TABLE}{where} ORDER BY period_start, person_id").df()


#: The unit's count of the person's earlier final index events, banded (docs/methods.md, "Amendment: earlier index
#: events as a covariate"): a category per count up to 2, then "3 or more".
EARLIER = "earlier_index_events"
EARLIER_BANDS: tuple[str, ...] = ("0", "1", "2", "3 or more")


def earlier_index_events(person_id: pd.Series) -> pd.Categorical:
    """Per row of final cohort rows in index-date order: how many rows of the same person come before it, banded
    0, 1, 2, 3 or more (:data:`EARLIER_BANDS`). A person has one index event per cohort period, so their rows have
    distinct dates; the periods before a final one are final too, so this is also the count of the person's earlier
    index events in the whole cohort table (within the extract: events before it starts are not seen)."""
    count = person_id.groupby(person_id, sort=False).cumcount().to_numpy()
    codes = count.clip(max=len(EARLIER_BANDS) - 1)
    return pd.Categorical.from_codes(codes, categories=list(EARLIER_BANDS))


def analysis_cohort(cohort: pd.DataFrame, index_events: str = "all") -> pd.DataFrame:
    """The final cohort rows a comparison analyses, in (index date, person) order, with each row's
    ``earlier_index_events`` (:func:`earlier_index_events`, counted before ``first`` keeps one row a person, so 0
    there).

    ``all`` (the default, ``ReoffendingSettings.index_events``): every final row, one per person and index event; a
    person with several is in several trials, and which of their rows are analysed for a programme is decided per
    programme (:func:`models.reoffending.prepare.design_rows`: rows after the first that holds the programme are left
    out). ``first``: the earlier rule, each person's earliest final row only, which analyses a participant referred at
    a later index event as a comparison person at their first (docs/methods.md "Target trials")."""
    if index_events not in ("all", "first"):
        raise ValueError(f"index_events must be 'all' or 'first', not {index_events!r}")
    if cohort.empty:
        out = cohort.copy()
        out[EARLIER] = pd.Categorical([], categories=list(EARLIER_BANDS))
        return out
    final = cohort[cohort["is_final"].astype(bool)].sort_values(["index_date", "person_id"], kind="stable")
    final[EARLIER] = earlier_index_events(final["person_id"])
    if index_events == "first":
        final = final.drop_duplicates("person_id", keep="first")
    return final.reset_index(drop=True)
