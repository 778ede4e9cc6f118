"""Person-level well-being facts in DuckDB SQL: scored readings, people, Star journeys.

``build_core(con, settings)`` computes four person-level tables (never published; declared in
schemas/marts.py) and returns them as relations; the asset writes them (all four or none):

``core.wellbeing_readings``, one row per staged reading
    the raw score; ``score`` on the analysis scale (SWEMWBS converted to the Rasch metric
    with the Warwick table, everything else as read); ``score_oriented`` (reflected for
    lower-is-better items such as ONS4 anxiety, so higher is always better);
    ``score_10`` (``score_oriented`` rescaled to 1-10, for models pooled across versions);
    the stage (Star Journey of Change / Well-being Star stage / ONS4 threshold band);
    months since the person's first reading on that version; hours given and received by
    the person (all their member accounts in ``member_roles``, exchange kinds in
    ``exchange_kinds``) up to the reading date, or in the ``hours_window_months`` before it.

``core.wellbeing_people``, one row per person with a reading
    ``participant``: a time-bank membership (role in ``member_roles``) joined, or a
    programme enrolment started, on or before the person's last reading; everyone else
    with readings is the comparison group (a waiting list: not yet, or never, a member).
    ``timebank_id``: the participant's earliest membership (ties: lowest id), else 'none'.
    The demographics and the configured covariates from ``staging.persons``.

``core.wellbeing_trials``, one row per person x version x area x trial x arm (the target trial of
    docs/methods.md, "Well-being"; used by the comparison designs ``prior_reading`` and ``new_joiners``)
    ``participation_started_on`` = the person's first membership (role in ``member_roles``)
    or programme enrolment. One trial per calendar month in which someone reading the
    instrument started. A **participant** of the trial started in that month and has a
    reading on or before the start, at most ``baseline_lookback_days`` before it; time zero
    is the start, the baseline their last such reading. A **comparison person** of the trial
    had not started by the month's first day (never, or later, even later that month: a later
    participant is a comparison person until then, Li, Propert & Rosenbaum 2001) and has a
    reading in the ``baseline_lookback_days`` up to it; time zero is the month's first day.
    Nothing after that day decides who is a comparison person (the matching never makes a person
    their own comparison: ``models.wellbeing.effects.own_comparison_rows``). For both, the
    outcome reading is the one nearest ``follow_up_days`` after the baseline, within
    ``follow_up_tolerance_days``, and after time zero (earliest on ties); NULL when none
    (no follow-up: counted, not compared). Covariates are measured at or before time zero:
    the baseline score, age at time zero, months from the first reading on the instrument
    to the baseline, and the reading before the baseline at most ``baseline_lookback_days``
    earlier (``prior_on``, its score ``prior_oriented`` and ``days_from_prior``; NULL when
    none: for a participant read at referral and at intake, the referral). Nothing after time
    zero decides who is in a trial or in which arm.

``core.star_journeys``, one row per person x version x area
    baseline (rule ``first`` or ``lower_of_first_two``), latest reading, change, months
    between, improved/same/worse (direction-aware), baseline and latest stage, and the
    Reliable Change Index (Jacobson & Truax) where a reliability or SEM is configured.

Staged readings are already checked at ingest (version, area in version, range,
conflicting duplicates). A SWEMWBS raw score that is not a whole number has no metric
value and is left out; ``reading_counts`` reports how many.
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd

from models.wellbeing import scales
from models.wellbeing.settings import WellbeingSettings
from models.wellbeing.tables import JOURNEYS, PEOPLE, READINGS, TRIALS, columns_of, scalar, table_exists
from schemas.contract import empty_source_sql
from schemas.raw import RECORDED_AFTER

DAYS_PER_MONTH = 30.4375  # average Gregorian month
RCI_TOLERANCE = 1e-9  # |RCI| must exceed z by more than floating-point noise: exactly z is not reliable

PERSON_COLUMNS = ("birth_date", "sex", "imd_decile")
#: core table -> the temporary table build_core computes it into
TEMP_TABLES = {READINGS: "_wb_readings", PEOPLE: "_wb_people", JOURNEYS: "_wb_journeys", TRIALS: "_wb_trials"}


def _q(text: object) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _in(values) -> str:
    return "(" + ", ".join(_q(v) for v in values) + ")" if values else "(NULL)"


def _source(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The staged table, or an empty relation with its columns when the source was never staged."""
    return f"(SELECT * FROM {table})" if table_exists(con, table) else f"({empty_source_sql(table.split('.')[1])})"


def person_covariates(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> tuple[list[str], list[str]]:
    """(configured covariates found, configured covariates absent); 'age' is always computable, a column recorded
    after the fact (``schemas.raw.RECORDED_AFTER``: died_on) never is."""
    available = set(columns_of(con, "staging.persons")) if table_exists(con, "staging.persons") else set(PERSON_COLUMNS)
    available -= set(RECORDED_AFTER)
    found, absent = [], []
    for c in settings.covariates:
        (found if c == "age" or c in available else absent).append(c)
    return found, absent


def _register_reference(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> None:
    scale = scales.scale_frame()
    rci = []
    for r in scale.itertuples():
        rel = settings.lookup("reliability", r.star_version, r.area)
        sem = settings.lookup("sem", r.star_version, r.area)
        sd = settings.lookup("rci_sd", r.star_version, r.area)
        rci.append({"star_version": r.star_version, "area": r.area,
                    "reliability": math.nan if rel is None else rel,
                    "sem": math.nan if sem is None else sem,
                    "sd_override": math.nan if sd is None else sd})
    frames = {"_wb_scale": scale, "_wb_stage": scales.stage_frame(), "_wb_conv": scales.conversion_frame(),
              "_wb_rci": pd.DataFrame(rci, columns=["star_version", "area", "reliability", "sem", "sd_override"])}
    for name, frame in frames.items():
        con.register(f"{name}_df", frame)
        try:
            # NaN -> NULL so coalesce() works on "not configured".
            cols = ", ".join(
                f'CASE WHEN isnan("{c}") THEN NULL ELSE "{c}" END AS "{c}"' if frame[c].dtype == float else f'"{c}"'
                for c in frame.columns
            )
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols} FROM {name}_df")
        finally:
            con.unregister(f"{name}_df")


def build_core(con: duckdb.DuckDBPyConnection,
               settings: WellbeingSettings) -> tuple[dict[str, duckdb.DuckDBPyRelation], dict]:
    """Compute the four core tables (module docstring) into temporary tables of ``con``, so it
    runs on the read-only reader snapshot too; returns ``({table: relation}, covariates)``, the
    relations to write with :func:`models.mart_writer.write_mart_set` (all four or none) and the
    configured covariates used and absent, for the asset's metadata."""
    _register_reference(con, settings)
    covs, absent = person_covariates(con, settings)
    extra = [c for c in covs if c not in ("age", *PERSON_COLUMNS)]
    window = ""
    if settings.hours_window_months:
        window = f" AND h.exchanged_on > d.assessed_on - INTERVAL {int(settings.hours_window_months)} MONTH"
    kinds, roles = _in(settings.exchange_kinds), _in(settings.member_roles)
    z = float(settings.rci_z) + RCI_TOLERANCE
    first_two = settings.baseline_rule == "lower_of_first_two"

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _wb_members AS
        SELECT member_id::VARCHAR AS member_id, timebank_id::VARCHAR AS timebank_id, person_id::VARCHAR AS person_id,
               joined_on::DATE AS joined_on
        FROM {_source(con, 'staging.timebank_members')}
        WHERE person_id IS NOT NULL AND role IN {roles}
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _wb_readings AS
        WITH r AS (
            SELECT person_id::VARCHAR AS person_id, star_version::VARCHAR AS star_version, area::VARCHAR AS area,
                   assessed_on::DATE AS assessed_on, score::DOUBLE AS raw_score
            FROM {_source(con, 'staging.star_readings')}
        ), scored AS (
            SELECT r.*, s.scale_min, s.scale_max, s.higher_is_better, s.score_scale,
                   CASE WHEN s.score_scale = 'raw' THEN r.raw_score ELSE c.metric_score END AS score
            FROM r JOIN _wb_scale s USING (star_version, area)
            LEFT JOIN _wb_conv c ON c.star_version = r.star_version AND c.raw_score = r.raw_score
        ), dates AS (
            SELECT DISTINCT person_id, assessed_on FROM scored
        ), firsts AS (  -- a group-by and join: cheaper than a window partitioned by person at 1M readings
            SELECT person_id, star_version, min(assessed_on) AS first_on FROM scored WHERE score IS NOT NULL GROUP BY ALL
        ), hours AS (
            SELECT m.person_id, e.exchanged_on::DATE AS exchanged_on, e.hours::DOUBLE AS hours, 'given' AS dir
            FROM {_source(con, 'staging.timebank_exchanges')} e JOIN _wb_members m ON e.giver_id = m.member_id
            WHERE e.kind IN {kinds}
            UNION ALL
            SELECT m.person_id, e.exchanged_on::DATE, e.hours::DOUBLE, 'received'
            FROM {_source(con, 'staging.timebank_exchanges')} e JOIN _wb_members m ON e.receiver_id = m.member_id
            WHERE e.kind IN {kinds}
        ), at_date AS (
            SELECT d.person_id, d.assessed_on,
                   coalesce(sum(h.hours) FILTER (WHERE h.dir = 'given'), 0)::DOUBLE AS hours_given,
                   coalesce(sum(h.hours) FILTER (WHERE h.dir = 'received'), 0)::DOUBLE AS hours_received
            FROM dates d LEFT JOIN hours h
              ON h.person_id = d.person_id AND h.exchanged_on <= d.assessed_on{window}
            GROUP BY d.person_id, d.assessed_on
        )
        SELECT s.person_id, s.star_version, s.area, s.assessed_on, s.raw_score, s.score,
               CASE WHEN s.higher_is_better THEN s.score ELSE s.scale_min + s.scale_max - s.score END AS score_oriented,
               1 + 9 * ((CASE WHEN s.higher_is_better THEN s.score ELSE s.scale_min + s.scale_max - s.score END)
                        - s.scale_min) / (s.scale_max - s.scale_min) AS score_10,
               s.scale_min, s.scale_max, s.higher_is_better, s.score_scale,
               st.stage, st.stage_order::INTEGER AS stage_order,
               date_diff('day', f.first_on, s.assessed_on) / {DAYS_PER_MONTH} AS months_since_first,
               a.hours_given, a.hours_received
        FROM scored s
        JOIN at_date a USING (person_id, assessed_on)
        JOIN firsts f ON f.person_id = s.person_id AND f.star_version = s.star_version
        LEFT JOIN _wb_stage st ON st.star_version = s.star_version AND st.area = s.area
             AND s.raw_score >= st.band_min AND s.raw_score < st.band_max + 1
        WHERE s.score IS NOT NULL
    """)  # unsorted, as core.wellbeing_trials: every reader orders (the model frame) or aggregates what it reads
    extra_sql = "".join(f', p."{c}"' for c in extra)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _wb_people AS
        WITH seen AS (
            SELECT person_id, min(assessed_on) AS first_reading_on, max(assessed_on) AS last_reading_on
            FROM _wb_readings GROUP BY person_id
        ), member AS (
            SELECT m.person_id, m.timebank_id, m.joined_on,
                   row_number() OVER (PARTITION BY m.person_id ORDER BY m.joined_on, m.timebank_id) AS k
            FROM _wb_members m JOIN seen USING (person_id)
            WHERE m.joined_on <= seen.last_reading_on
        ), enrolled AS (
            SELECT e.person_id, min(e.started_on::DATE) AS first_enrolled_on
            FROM {_source(con, 'staging.programme_enrolments')} e JOIN seen USING (person_id)
            WHERE e.started_on::DATE <= seen.last_reading_on
            GROUP BY e.person_id
        )
        SELECT seen.person_id,
               (member.person_id IS NOT NULL OR enrolled.person_id IS NOT NULL) AS participant,
               coalesce(member.timebank_id, 'none') AS timebank_id,
               member.joined_on AS first_joined_on, enrolled.first_enrolled_on,
               seen.first_reading_on, seen.last_reading_on,
               p.birth_date::DATE AS birth_date, p.sex::VARCHAR AS sex, p.imd_decile::BIGINT AS imd_decile{extra_sql}
        FROM seen
        LEFT JOIN member ON member.person_id = seen.person_id AND member.k = 1
        LEFT JOIN enrolled ON enrolled.person_id = seen.person_id
        LEFT JOIN {_source(con, 'staging.persons')} p ON p.person_id = seen.person_id
        ORDER BY seen.person_id
    """)
    pick = "n_readings >= 2 AND r2_oriented < r1_oriented" if first_two else "false"
    reading = "{'on': assessed_on, 'score': score, 'oriented': score_oriented, 'stage': stage, 'stage_order': stage_order}"
    # the first two readings when the rule may pick the second, else the first alone (a quarter cheaper at 1M)
    first_readings = f"arg_min({reading}, assessed_on, 2)" if first_two else f"[arg_min({reading}, assessed_on)]"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _wb_journeys AS
        WITH agg AS (  -- readings' dates are distinct per person x version x area (the natural key): first (two), latest
            SELECT person_id, star_version, area, any_value(higher_is_better) AS higher_is_better,
                   any_value(score_scale) AS score_scale, count(*) AS n_readings,
                   {first_readings} AS first_two,
                   arg_max({{'on': assessed_on, 'score': score, 'oriented': score_oriented, 'stage': stage,
                             'stage_order': stage_order}}, assessed_on) AS latest
            FROM _wb_readings GROUP BY person_id, star_version, area
        ), flat AS (
            SELECT person_id, star_version, area, higher_is_better, score_scale, n_readings,
                   first_two[1].on AS r1_on, first_two[1].score AS r1_score, first_two[1].oriented AS r1_oriented,
                   first_two[1].stage AS r1_stage, first_two[1].stage_order AS r1_order,
                   first_two[2].on AS r2_on, first_two[2].score AS r2_score, first_two[2].oriented AS r2_oriented,
                   first_two[2].stage AS r2_stage, first_two[2].stage_order AS r2_order,
                   latest.on AS latest_on, latest.score AS latest_score, latest.oriented AS latest_oriented,
                   latest.stage AS latest_stage, latest.stage_order AS latest_stage_order
            FROM agg
        ), base AS (
            SELECT *, ({pick}) AS use_second FROM flat
        ), chosen AS (
            SELECT person_id, star_version, area, higher_is_better, score_scale, n_readings,
                   CASE WHEN use_second THEN 2 ELSE 1 END AS baseline_reading,
                   CASE WHEN use_second THEN r2_on ELSE r1_on END AS baseline_on,
                   CASE WHEN use_second THEN r2_score ELSE r1_score END AS baseline_score,
                   CASE WHEN use_second THEN r2_oriented ELSE r1_oriented END AS baseline_oriented,
                   CASE WHEN use_second THEN r2_stage ELSE r1_stage END AS baseline_stage,
                   CASE WHEN use_second THEN r2_order ELSE r1_order END AS baseline_stage_order,
                   latest_on, latest_score, latest_oriented, latest_stage, latest_stage_order
            FROM base
        ), sd AS (
            SELECT star_version, area, stddev_samp(baseline_score ORDER BY baseline_score) AS sd_baseline FROM chosen GROUP BY ALL
        ), j AS (
            SELECT c.*, latest_on > baseline_on AS paired,
                   CASE WHEN latest_on > baseline_on THEN latest_score - baseline_score END AS change,
                   CASE WHEN latest_on > baseline_on THEN latest_oriented - baseline_oriented END AS improvement,
                   CASE WHEN latest_on > baseline_on THEN date_diff('day', baseline_on, latest_on) / {DAYS_PER_MONTH} END
                       AS months_between,
                   x.reliability, x.sem AS sem_configured,
                   coalesce(x.sd_override, sd.sd_baseline) AS rci_sd,
                   sqrt(2) * coalesce(x.sem, coalesce(x.sd_override, sd.sd_baseline) * sqrt(1 - x.reliability)) AS s_diff
            FROM chosen c
            LEFT JOIN sd USING (star_version, area)
            LEFT JOIN _wb_rci x USING (star_version, area)
        )
        SELECT j.person_id, j.star_version, j.area, pe.timebank_id, pe.participant,
               j.higher_is_better, j.score_scale, j.n_readings, j.baseline_reading,
               j.baseline_on, j.baseline_score, j.baseline_stage, j.baseline_stage_order,
               CASE WHEN j.paired THEN j.latest_on END AS latest_on,
               CASE WHEN j.paired THEN j.latest_score END AS latest_score,
               CASE WHEN j.paired THEN j.latest_stage END AS latest_stage,
               CASE WHEN j.paired THEN j.latest_stage_order END AS latest_stage_order,
               j.paired, j.change, j.improvement, j.months_between,
               CASE WHEN j.improvement > 0 THEN 'improved' WHEN j.improvement = 0 THEN 'same'
                    WHEN j.improvement < 0 THEN 'worse' END AS outcome,
               j.reliability, j.sem_configured, j.rci_sd,
               CASE WHEN j.s_diff > 0 THEN j.s_diff END AS s_diff,
               CASE WHEN j.s_diff > 0 THEN {float(settings.rci_z)} * j.s_diff END AS rci_threshold,
               CASE WHEN j.s_diff > 0 THEN j.change / j.s_diff END AS rci,
               CASE WHEN j.s_diff > 0 AND j.paired THEN j.improvement / j.s_diff > {z} END AS reliable_improvement,
               CASE WHEN j.s_diff > 0 AND j.paired THEN j.improvement / j.s_diff < -{z} END AS reliable_deterioration,
               date_diff('day', pe.birth_date, j.baseline_on) / 365.25 AS age
        FROM j JOIN _wb_people pe USING (person_id)
        ORDER BY j.person_id, j.star_version, j.area
    """)
    _build_trials(con, settings, z)
    frames = {name: con.sql(f"SELECT * FROM {temp}") for name, temp in TEMP_TABLES.items()}
    return frames, {"covariates_used": covs, "covariates_absent": absent}


def _build_trials(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings, z: float) -> None:
    """core.wellbeing_trials (module docstring), as a temporary table."""
    back, h, tol = int(settings.baseline_lookback_days), int(settings.follow_up_days), int(settings.follow_up_tolerance_days)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _wb_trials AS
        WITH starts AS (
            SELECT person_id, min(d) AS started_on FROM (
                SELECT person_id, joined_on AS d FROM _wb_members
                UNION ALL
                SELECT person_id::VARCHAR, started_on::DATE FROM {_source(con, 'staging.programme_enrolments')}
                WHERE person_id IS NOT NULL AND started_on IS NOT NULL
            ) GROUP BY person_id
        ), occ AS MATERIALIZED (  -- reading dates; rid numbers them, for the score look-ups below (materialised: one numbering)
            SELECT d.person_id, d.star_version, d.assessed_on, f.first_on, row_number() OVER () AS rid
            FROM (SELECT DISTINCT person_id, star_version, assessed_on FROM _wb_readings) d
            JOIN (SELECT person_id, star_version, min(assessed_on) AS first_on FROM _wb_readings GROUP BY ALL) f
              ON f.person_id = d.person_id AND f.star_version = d.star_version
        ), scores AS (  -- each reading's oriented score by (rid, area): the look-ups join on an integer, not on the
            -- 64-character person_id, version and date (3.5M rows three times at 1M persons; issue 18)
            SELECT o.rid, r.area, r.score_oriented
            FROM _wb_readings r JOIN occ o USING (person_id, star_version, assessed_on)
        ), part AS (
            SELECT o.person_id, o.star_version, date_trunc('month', s.started_on)::DATE AS trial_month, TRUE AS participant,
                   s.started_on AS time_zero, max(o.assessed_on) AS baseline_on, any_value(o.first_on) AS first_on,
                   arg_max(o.rid, o.assessed_on) AS baseline_rid
            FROM starts s JOIN occ o ON o.person_id = s.person_id
             AND o.assessed_on <= s.started_on AND o.assessed_on >= s.started_on - INTERVAL {back} DAY
            GROUP BY ALL
        ), months AS (
            SELECT DISTINCT star_version, trial_month FROM part
        ), ctrl AS (
            SELECT o.person_id, o.star_version, m.trial_month, FALSE AS participant, m.trial_month AS time_zero,
                   max(o.assessed_on) AS baseline_on, any_value(o.first_on) AS first_on,
                   arg_max(o.rid, o.assessed_on) AS baseline_rid
            FROM months m JOIN occ o ON o.star_version = m.star_version
             AND o.assessed_on <= m.trial_month AND o.assessed_on >= m.trial_month - INTERVAL {back} DAY
            LEFT JOIN starts s ON s.person_id = o.person_id
            WHERE s.started_on IS NULL OR s.started_on > m.trial_month
            GROUP BY ALL
        ), trial AS (
            SELECT * FROM part UNION ALL SELECT * FROM ctrl
        ), fu AS (  -- the reading nearest the follow-up day, the earlier on ties (a person's dates are distinct)
            SELECT t.person_id, t.star_version, t.trial_month, t.participant,
                   arg_min(o.assessed_on, (abs(date_diff('day', t.baseline_on, o.assessed_on) - {h}), o.assessed_on))
                       AS followup_on,
                   arg_min(o.rid, (abs(date_diff('day', t.baseline_on, o.assessed_on) - {h}), o.assessed_on)) AS followup_rid
            FROM trial t JOIN occ o ON o.person_id = t.person_id AND o.star_version = t.star_version
             AND o.assessed_on > t.time_zero AND date_diff('day', t.baseline_on, o.assessed_on) BETWEEN {h - tol} AND {h + tol}
            GROUP BY ALL
        ), prior AS (
            SELECT t.person_id, t.star_version, t.trial_month, t.participant, max(o.assessed_on) AS prior_on,
                   arg_max(o.rid, o.assessed_on) AS prior_rid
            FROM trial t JOIN occ o ON o.person_id = t.person_id AND o.star_version = t.star_version
             AND o.assessed_on < t.baseline_on AND o.assessed_on >= t.baseline_on - INTERVAL {back} DAY
            GROUP BY ALL
        ), rows AS (
            SELECT t.*, fu.followup_on, fu.followup_rid, prior.prior_on, prior.prior_rid FROM trial t
            LEFT JOIN fu ON fu.person_id = t.person_id AND fu.star_version = t.star_version
             AND fu.trial_month = t.trial_month AND fu.participant = t.participant
            LEFT JOIN prior ON prior.person_id = t.person_id AND prior.star_version = t.star_version
             AND prior.trial_month = t.trial_month AND prior.participant = t.participant
        ), sdiff AS (
            SELECT DISTINCT star_version, area, s_diff FROM _wb_journeys
        )
        SELECT r.person_id, r.star_version, b.area, r.trial_month, r.participant, r.time_zero,
               r.baseline_on, b.score_oriented AS baseline_oriented, r.followup_on, f.score_oriented AS followup_oriented,
               f.score_oriented - b.score_oriented AS improvement,
               date_diff('day', r.first_on, r.baseline_on) / {DAYS_PER_MONTH} AS months_from_first_reading,
               r.prior_on, pr.score_oriented AS prior_oriented, date_diff('day', r.prior_on, r.baseline_on) AS days_from_prior,
               date_diff('day', p.birth_date, r.time_zero) / 365.25 AS age_at_time_zero,
               d.s_diff,
               CASE WHEN d.s_diff > 0 AND f.score_oriented IS NOT NULL
                    THEN (f.score_oriented - b.score_oriented) / d.s_diff > {z} END AS reliable_improvement,
               CASE WHEN d.s_diff > 0 AND f.score_oriented IS NOT NULL
                    THEN (f.score_oriented - b.score_oriented) / d.s_diff < -{z} END AS reliable_deterioration
        FROM rows r
        JOIN scores b ON b.rid = r.baseline_rid
        LEFT JOIN scores f ON f.rid = r.followup_rid AND f.area = b.area
        LEFT JOIN scores pr ON pr.rid = r.prior_rid AND pr.area = b.area
        LEFT JOIN sdiff d ON d.star_version = r.star_version AND d.area = b.area
        JOIN _wb_people p ON p.person_id = r.person_id
    """)  # in no particular order: its one reader (models.wellbeing.effects) orders what it reads; sorting its
    # 3.5M rows at 1M persons was a third of this statement (issue 18)


#: the counts of :func:`reading_counts`, in its order
READING_COUNTS = ("readings_staged", "readings_scored", "readings_left_out", "people", "people_paired",
                  "trial_participants", "trial_participants_followed_up")


def reading_counts(con: duckdb.DuckDBPyConnection) -> dict:
    """Staged readings, readings scored, and readings left out (SWEMWBS raw not a whole number)."""
    staged = scalar(con, "SELECT count(*) FROM staging.star_readings") if table_exists(con, "staging.star_readings") else 0
    scored = scalar(con, f"SELECT count(*) FROM {READINGS}") if table_exists(con, READINGS) else 0
    people, paired = (0, 0)
    if table_exists(con, JOURNEYS):
        people, paired = con.execute(
            f"SELECT count(DISTINCT person_id), count(DISTINCT person_id) FILTER (WHERE paired) FROM {JOURNEYS}"
        ).fetchall()[0]
    starts, followed = (0, 0)
    if table_exists(con, TRIALS):
        starts, followed = con.execute(
            f"SELECT count(DISTINCT (person_id, star_version)) FILTER (WHERE participant), "
            f"count(DISTINCT (person_id, star_version)) FILTER (WHERE participant AND improvement IS NOT NULL) FROM {TRIALS}"
        ).fetchall()[0]
    return {"readings_staged": int(staged), "readings_scored": int(scored), "readings_left_out": int(staged - scored),
            "people": int(people), "people_paired": int(paired), "trial_participants": int(starts),
            "trial_participants_followed_up": int(followed)}


def unaccounted_readings(con: duckdb.DuckDBPyConnection) -> int:
    """Staged readings that are neither in core.wellbeing_readings nor a SWEMWBS-style raw score
    without a conversion (not a whole number). Zero when nothing was lost. An anti join: the
    correlated ``NOT EXISTS`` it replaces was planned as a distinct, a semi and a mark join, 3-4 s
    at 1M persons against under 1 s (issue 18)."""
    if not table_exists(con, "staging.star_readings"):
        return 0
    if not table_exists(con, READINGS):
        return int(scalar(con, "SELECT count(*) FROM staging.star_readings"))
    converted = _in(sorted(scales.conversion_frame()["star_version"].unique()))
    return int(scalar(con, f"""
        SELECT count(*) FROM staging.star_readings s
        ANTI JOIN {READINGS} r ON r.person_id = s.person_id AND r.star_version = s.star_version
             AND r.area = s.area AND r.assessed_on = s.assessed_on
        WHERE NOT (s.star_version IN {converted} AND s.score <> round(s.score))
    """))
