"""Continuous spells, index discharges, readmissions and exposure, in DuckDB SQL.

Rules (each a setting of :class:`ReadmissionSettings`; defaults follow NHS Digital I02040):

1. **Overlapping spells.** Two spells of one person overlap when each starts strictly before
   the other ends (``a.admitted_on < b.discharged_on AND b.admitted_on < a.discharged_on``).
   Touching spells (one admitted the day the other ends) do not overlap. Every spell in an
   overlap is left out and counted (``overlapping_spells_excluded``); the ingest will
   quarantine them later.
2. **Continuous spells.** A person's spells are ordered by (admitted_on, discharged_on,
   spell_id). A spell whose discharge_destination is ``transfer`` is continued by the next
   spell when that one is admitted 0..``transfer_max_gap_days`` days after it (default the
   same day); chains have any length. A continuous spell takes the admission date and
   method (and primary diagnosis) of its first spell and the discharge date, destination, provider and specialty of
   its last spell (the discharging spell); it is "obstetric" / "cancer" if any of its spells
   is.
3. **Index discharges.** Each continuous spell's final discharge, except: death
   (destination ``died``), day cases (first method elective and admitted and discharged the
   same day), obstetric spells (first method maternity, or any spell in specialty
   obstetrics), and methods outside ``index_admission_methods``.
4. **Readmissions.** A continuous spell whose first spell is an emergency admission, with
   no spell in obstetrics and no cancer coded, is attributed to the person's most recent
   earlier index discharge (the last index continuous spell before it in the ordering of
   rule 2). It is a readmission of that discharge if it starts ``window_min_days`` to
   ``window_max_days`` (0-29) days after it. A discharge keeps only its first readmission.
   A same-day admission is day 0 unless it continues a transfer (then it is the same
   continuous spell, rule 2).
5. **Follow-up.** A discharge has full follow-up when ``discharged_on + window_max_days <=
   follow_up_end``, where follow_up_end = min(as-of date, data end) and the data end is
   ``data_end`` or else the latest admitted_on/discharged_on in staging.hospital_spells.
   Only these discharges enter the rates, effects and funnel (``full_follow_up``).
6. **Exposure.** Exposed through a time bank: a linked member account of the person (role
   in ``member_roles``) is giver or receiver of an exchange of a kind in ``activity_kinds``
   dated ``activity_days_before_discharge`` (90) days before the discharge up to the
   discharge day. ``timebank_id`` is that member's time bank (the one with most such
   exchanges; ties: the smallest id). Exposed through a programme: an enrolment (of
   ``programme_ids``, default any) starting on the discharge day up to
   ``enrolment_days_after_discharge`` (14) days after it; ``programme_start_day`` is the
   earliest such start, in days after the discharge (the participant's own time zero in the
   risk-set design, :mod:`.designs`). ``exposed*`` record the routes only: defining
   participants by them with follow-up from day 0 gives immortal time (design
   ``exposure_window``, kept only to show that bias).
7. **Covariates.** Age in whole years on the discharge date; sex, area, IMD decile from
   staging.persons; prior_emergency_12m = continuous spells starting with an emergency
   admission in the ``prior_admission_days`` (365) days before the index spell's admission
   (the admission day itself excluded); quarter = calendar quarter of discharge (2024Q1),
   discharge_year its year ('2024'); length_of_stay = discharged_on - admitted_on of the
   continuous spell in days, length_of_stay_band its band (``length_of_stay_bands``: 0, 1-2,
   3-6, 7-20, 21+ by default); diagnosis_chapter the ICD-10 chapter (WHO, I to XXII) of the
   continuous spell's first spell's primary_diagnosis (the admission's, as its method), NULL
   without one (:mod:`.diagnosis`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from models.mart_writer import write_mart
from schemas.contract import empty_source_sql

from .diagnosis import chapter_sql
from .settings import ReadmissionSettings
from .tables import CONTINUOUS_SPELLS, INDEX_DISCHARGES



def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2", [schema, table]
    ).fetchall()[0][0])  # fetched to the end: DuckDB refuses a register() while a result is unfinished


def optional_column(con: duckdb.DuckDBPyConnection, name: str, column: str) -> str:
    """``column`` of ``staging.<name>``, or a text NULL when the staged table predates that optional column (a
    warehouse staged before it was in the contract); an absent table's stand-in (:func:`source`) has it."""
    if not table_exists(con, "staging", name) or con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = $1 "
            "AND column_name = $2", [name, column]).fetchall()[0][0]:
        return column
    return "NULL::VARCHAR"


def source(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """A FROM-able expression for ``staging.<name>``: the table, or a typed empty subquery if absent."""
    if table_exists(con, "staging", name):
        return f"staging.{name}"
    return f"({empty_source_sql(name)})"


def los_band_label(days: int, starts: tuple[int, ...]) -> str:
    """The band of a length of stay: ``starts`` are the first days of the bands after the 0-day band, so (1, 3, 7, 21)
    gives '0', '1-2', '3-6', '7-20' and '21+' (one day is written '1', not '1-1')."""
    lows = (0, *starts)
    i = max(k for k, lo in enumerate(lows) if days >= lo)
    lo, hi = lows[i], (lows[i + 1] - 1 if i + 1 < len(lows) else None)
    return f"{lo}+" if hi is None else str(lo) if hi == lo else f"{lo}-{hi}"


def los_band_sql(days: str, starts: tuple[int, ...]) -> str:
    """SQL for :func:`los_band_label` of the whole-day expression ``days``."""
    lows = (0, *starts)
    whens = " ".join(f"WHEN {days} >= {lo} THEN '{los_band_label(lo, starts)}'" for lo in reversed(lows[1:]))
    return f"CASE {whens} ELSE '{los_band_label(0, starts)}' END"


def age_sql(birth: str, on: str) -> str:
    """Age in whole years on a date (birthdays counted on the day)."""
    return (f"(year({on}) - year({birth}) - CASE WHEN month({on}) * 100 + day({on}) < "
            f"month({birth}) * 100 + day({birth}) THEN 1 ELSE 0 END)")


@dataclass
class IndexReport:
    spells: int
    overlapping_spells_excluded: int
    persons_with_overlapping_spells: int
    continuous_spells: int
    index_discharges: int
    with_full_follow_up: int
    readmissions: int
    exposed: int
    exposed_timebank: int
    exposed_programme: int
    follow_up_end: dt.date | None
    data_end: dt.date | None

    def as_metadata(self) -> dict:
        return {k: (str(v) if isinstance(v, dt.date) or v is None else v) for k, v in self.__dict__.items()}


def overlapping_spells(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(spells, persons) in an overlap with another spell of the same person (rule 1)."""
    hs = source(con, "hospital_spells")
    return con.execute(f"""
        SELECT count(DISTINCT s.spell_id), count(DISTINCT s.person_id)
        FROM {hs} s JOIN {hs} o
          ON o.person_id = s.person_id AND o.spell_id <> s.spell_id
         AND o.admitted_on < s.discharged_on AND s.admitted_on < o.discharged_on
    """).fetchone()


def follow_up_end(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, as_of: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """(follow-up end, data end) for rule 5; None when there are no spells and no data_end."""
    data_end = settings.data_end
    if data_end is None:
        data_end = con.execute(
            f"SELECT greatest(max(admitted_on), max(discharged_on)) FROM {source(con, 'hospital_spells')}"
        ).fetchone()[0]
    end = as_of if data_end is None else min(as_of, data_end)
    return end, data_end


def continuous_spells(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings) -> duckdb.DuckDBPyRelation:
    """The rows of core.continuous_spells (rules 1-2) from staging.hospital_spells, as a relation (nothing written)."""
    hs = source(con, "hospital_spells")
    diagnosis = optional_column(con, "hospital_spells", "primary_diagnosis")
    chain = "true" if settings.chain_transfers else "false"
    return con.sql(f"""
        SELECT * FROM (
        WITH valid AS (
            SELECT s.* FROM {hs} s
            WHERE NOT EXISTS (
                SELECT 1 FROM {hs} o
                WHERE o.person_id = s.person_id AND o.spell_id <> s.spell_id
                  AND o.admitted_on < s.discharged_on AND s.admitted_on < o.discharged_on)
        ), ordered AS (
            SELECT *,
                   row_number() OVER w AS spell_seq,
                   lag(discharge_destination) OVER w AS prev_dest,
                   lag(discharged_on) OVER w AS prev_discharged
            FROM valid
            WINDOW w AS (PARTITION BY person_id ORDER BY admitted_on, discharged_on, spell_id)
        ), flagged AS (
            SELECT *,
                   CASE WHEN {chain} AND prev_dest = 'transfer'
                             AND (admitted_on - prev_discharged) BETWEEN 0 AND {int(settings.transfer_max_gap_days)}
                        THEN 0 ELSE 1 END AS new_chain
            FROM ordered
        ), chained AS (
            SELECT *, sum(new_chain) OVER w AS seq,
                   lead(new_chain, 1, 1) OVER w = 1 AND new_chain = 1 AS alone  -- a chain of this one spell
            FROM flagged
            WINDOW w AS (PARTITION BY person_id ORDER BY spell_seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        )
        -- a one-spell chain is its spell (most chains): only longer chains are aggregated, as the aggregate with
        -- its ordered list was most of this statement at 1M persons (issue 18)
        SELECT spell_id, person_id, seq, spell_id, spell_id, 1::INTEGER, admitted_on, discharged_on, admission_method,
               discharge_destination, provider_id, specialty, coalesce(cancer, false), [specialty], {diagnosis}
        FROM chained WHERE alone
        UNION ALL
        SELECT arg_max(spell_id, spell_seq) AS chain_id, person_id, seq,
               arg_min(spell_id, spell_seq), arg_max(spell_id, spell_seq), count(*)::INTEGER,
               min(admitted_on), max(discharged_on),
               arg_min(admission_method, spell_seq), arg_max(discharge_destination, spell_seq),
               arg_max(provider_id, spell_seq), arg_max(specialty, spell_seq),
               bool_or(coalesce(cancer, false)), list(specialty ORDER BY spell_seq),
               first({diagnosis} ORDER BY spell_seq)  -- not arg_min: it skips a first spell's NULL
        FROM chained WHERE NOT alone
        GROUP BY person_id, seq
        ) AS t({_columns(CONTINUOUS_SPELLS)})
    """)


def build_continuous_spells(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, run_id: str) -> int:
    """Write core.continuous_spells with the one writer; returns its row count."""
    return write_mart(con, "core.continuous_spells", continuous_spells(con, settings), run_id)


def _columns(table: dict[str, str]) -> str:
    return ", ".join(c for c in table if c != "run_id")


def index_discharges(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, *, as_of: dt.date
                     ) -> duckdb.DuckDBPyRelation:
    """The rows of core.index_discharges (rules 3-6) from core.continuous_spells and staging, as a relation."""
    s = settings
    end, _ = follow_up_end(con, s, as_of)
    persons = source(con, "persons")
    members = source(con, "timebank_members")
    exchanges = source(con, "timebank_exchanges")
    enrol = source(con, "programme_enrolments")
    params = {
        "index_methods": list(s.index_admission_methods),
        "excluded_methods": list(s.excluded_index_methods),
        "excluded_specs": list(s.excluded_index_specialties),
        "readmit_methods": list(s.readmission_methods),
        "readmit_excluded_specs": list(s.readmission_excluded_specialties),
        "roles": list(s.member_roles),
        "kinds": list(s.activity_kinds),
        "programmes": list(s.programme_ids or []),
        "end": end,
    }
    any_programme = "true" if s.programme_ids is None else "false"
    return con.sql(f"""
        SELECT * FROM (
        WITH cs AS (
            SELECT c.*,
                   list_has_any(c.specialties, $excluded_specs::VARCHAR[]) AS obstetric,
                   (list_contains($index_methods::VARCHAR[], c.admission_method)
                    AND NOT ({str(s.exclude_deaths).lower()} AND c.discharge_destination = 'died')
                    AND NOT ({str(s.exclude_day_cases).lower()} AND c.admission_method = 'elective'
                             AND c.admitted_on = c.discharged_on)
                    AND NOT list_contains($excluded_methods::VARCHAR[], c.admission_method)
                    AND NOT list_has_any(c.specialties, $excluded_specs::VARCHAR[])
                    AND NOT ({str(s.exclude_cancer_index).lower()} AND c.any_cancer)) AS is_index,
                   (list_contains($readmit_methods::VARCHAR[], c.admission_method)
                    AND NOT list_has_any(c.specialties, $readmit_excluded_specs::VARCHAR[])
                    AND NOT ({str(s.readmission_exclude_cancer).lower()} AND c.any_cancer)) AS is_candidate
            FROM core.continuous_spells c
        ), attributed AS (
            -- the most recent earlier index discharge of each continuous spell
            SELECT *, max(CASE WHEN is_index THEN seq END) OVER (
                       PARTITION BY person_id ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior_index_seq
            FROM cs
        ), readmission AS (
            SELECT i.person_id, i.seq AS index_seq,
                   arg_min(r.chain_id, r.seq) AS readmission_id,
                   arg_min(r.admitted_on - i.discharged_on, r.seq) AS days
            FROM attributed r JOIN cs i ON i.person_id = r.person_id AND i.seq = r.prior_index_seq
            WHERE r.is_candidate
              AND (r.admitted_on - i.discharged_on) BETWEEN {int(s.window_min_days)} AND {int(s.window_max_days)}
            GROUP BY i.person_id, i.seq
        ), idx AS (
            SELECT * FROM cs WHERE is_index
        ), prior AS (
            SELECT i.chain_id, count(e.chain_id) AS n
            FROM idx i LEFT JOIN cs e
              ON e.person_id = i.person_id AND e.admission_method = 'emergency'
             AND e.admitted_on >= i.admitted_on - {int(s.prior_admission_days)} AND e.admitted_on < i.admitted_on
            GROUP BY i.chain_id
        ), activity AS (
            SELECT i.chain_id, m.timebank_id, count(*) AS n
            FROM idx i
            JOIN {members} m ON m.person_id = i.person_id AND list_contains($roles::VARCHAR[], m.role)
            JOIN (  -- each exchange once per side (an equi-join: an OR condition would be a nested loop)
                  SELECT giver_id AS member_id, exchanged_on, kind FROM {exchanges}
                  UNION ALL
                  SELECT receiver_id, exchanged_on, kind FROM {exchanges} WHERE receiver_id IS DISTINCT FROM giver_id
                 ) x ON x.member_id = m.member_id
             AND list_contains($kinds::VARCHAR[], x.kind)
             AND x.exchanged_on BETWEEN i.discharged_on - {int(s.activity_days_before_discharge)} AND i.discharged_on
            GROUP BY i.chain_id, m.timebank_id
        ), tb AS (
            SELECT chain_id, timebank_id
            FROM (SELECT chain_id, timebank_id,
                         row_number() OVER (PARTITION BY chain_id ORDER BY n DESC, timebank_id) AS rk
                  FROM activity)
            WHERE rk = 1
        ), prog AS (
            SELECT i.chain_id, arg_min(e.programme_id, (e.started_on, e.programme_id)) AS programme_id,
                   (min(e.started_on) - i.discharged_on)::INTEGER AS start_day
            FROM idx i JOIN {enrol} e ON e.person_id = i.person_id
             AND ({any_programme} OR list_contains($programmes::VARCHAR[], e.programme_id))
             AND e.started_on BETWEEN i.discharged_on AND i.discharged_on + {int(s.enrolment_days_after_discharge)}
            GROUP BY i.chain_id, i.discharged_on
        )
        SELECT i.chain_id, i.person_id, i.provider_id, i.admitted_on, i.discharged_on, i.admission_method,
               i.specialty, i.n_spells, p.area_code,
               year(i.discharged_on)::VARCHAR || 'Q' || quarter(i.discharged_on)::VARCHAR,
               year(i.discharged_on)::VARCHAR, (i.discharged_on - i.admitted_on)::INTEGER,
               {los_band_sql('(i.discharged_on - i.admitted_on)', s.length_of_stay_bands)},
               {chapter_sql('i.primary_diagnosis')},
               {age_sql('p.birth_date', 'i.discharged_on')}, p.sex, p.imd_decile,
               coalesce(pr.n, 0),
               (tb.chain_id IS NOT NULL OR prog.chain_id IS NOT NULL),
               tb.chain_id IS NOT NULL, prog.chain_id IS NOT NULL, tb.timebank_id, prog.programme_id, prog.start_day,
               ($end::DATE IS NOT NULL AND i.discharged_on + {int(s.follow_up_days)} <= $end::DATE),
               r.readmission_id IS NOT NULL, r.days, r.readmission_id
        FROM idx i
        LEFT JOIN {persons} p ON p.person_id = i.person_id
        LEFT JOIN prior pr ON pr.chain_id = i.chain_id
        LEFT JOIN tb ON tb.chain_id = i.chain_id
        LEFT JOIN prog ON prog.chain_id = i.chain_id
        LEFT JOIN readmission r ON r.person_id = i.person_id AND r.index_seq = i.seq
        ORDER BY i.person_id, i.discharged_on
        ) AS t({_columns(INDEX_DISCHARGES)})
    """, params=params)


def index_report(con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, *, as_of: dt.date) -> IndexReport:
    """Counts of the written core tables, for the asset's metadata."""
    end, data_end = follow_up_end(con, settings, as_of)
    n_spells = con.execute(f"SELECT count(*) FROM {source(con, 'hospital_spells')}").fetchone()[0]
    n_overlap, n_overlap_persons = overlapping_spells(con)
    n_chains = con.execute("SELECT count(*) FROM core.continuous_spells").fetchone()[0]
    row = con.execute("""
        SELECT count(*), count(*) FILTER (full_follow_up), count(*) FILTER (full_follow_up AND readmitted),
               count(*) FILTER (full_follow_up AND exposed), count(*) FILTER (full_follow_up AND exposed_timebank),
               count(*) FILTER (full_follow_up AND exposed_programme)
        FROM core.index_discharges
    """).fetchone()
    return IndexReport(
        spells=int(n_spells), overlapping_spells_excluded=int(n_overlap),
        persons_with_overlapping_spells=int(n_overlap_persons), continuous_spells=int(n_chains),
        index_discharges=int(row[0]), with_full_follow_up=int(row[1]), readmissions=int(row[2]),
        exposed=int(row[3]), exposed_timebank=int(row[4]), exposed_programme=int(row[5]),
        follow_up_end=end, data_end=data_end,
    )


def build_index_discharges(
    con: duckdb.DuckDBPyConnection, settings: ReadmissionSettings, *, as_of: dt.date, run_id: str
) -> IndexReport:
    """Write core.continuous_spells and core.index_discharges with the one writer (a script's one call), as the
    asset does; return their counts."""
    build_continuous_spells(con, settings, run_id)
    write_mart(con, "core.index_discharges", index_discharges(con, settings, as_of=as_of), run_id)
    return index_report(con, settings, as_of=as_of)
