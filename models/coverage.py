"""What each outcome family could measure in this run: ``marts.outcome_coverage``.

Real extracts are partial (issue 17): a run may have hospital spells but no time-bank
members, or SWEMWBS readings with nobody linked to a programme. Every mart then comes out
with its columns and no rows, and the pages must say *why* in plain words. This table gives
one row per outcome family with

* ``status``: ``estimated`` (the family's effect or measure was computed), ``not estimated``
  (participants were linked but the model could not estimate: too few, no overlap, ...; its
  own mart says why), ``no participants`` (the outcome data were supplied but nobody in them
  took part), or ``no source data`` (the extract the outcome is measured from was not supplied
  or held no usable rows);
* ``message``: that status as one sentence for the pages;
* ``sources``: the input sources the family is measured from.

Statuses are read from the warehouse (staged rows, the family's person-level core table,
its published mart), in that order. No count of people is published: the status is a word
and the sentence names no number, so the table needs no disclosure control.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from schemas.marts import mart

TABLE = "marts.outcome_coverage"
STATUSES = ("estimated", "not estimated", "no participants", "no source data")
#: Columns of ``marts.outcome_coverage`` as declared in schemas/marts.py (``run_id`` is added on writing).
COLUMNS = [c.name for c in mart(TABLE).columns if c.name != "run_id"]
PARTICIPATION_SOURCES = ("timebank_members", "timebank_exchanges", "programme_enrolments")



@dataclass(frozen=True)
class Family:
    """How to read one family's coverage: its outcome sources, who took part, and what was estimated."""

    name: str
    label: str
    sources: tuple[str, ...]
    participants: str  # SQL: count of participants in the family's person-level table
    estimated: str  # SQL: count of estimated rows in its published mart
    estimated_words: str


FAMILIES = (
    Family("readmission", "Emergency readmission", ("hospital_spells",),
           "SELECT count(*) FROM core.index_discharges WHERE exposed",
           "SELECT count(*) FROM marts.readmission_effects WHERE status = 'estimated'",
           "readmission effects were estimated"),
    Family("reoffending", "Proven reoffending", ("justice_events",),
           "SELECT count(*) FROM core.justice_cohort WHERE participant",
           "SELECT count(*) FROM marts.reoffending_effects WHERE estimate IS NOT NULL AND verdict <> 'not estimable'",
           "reoffending effects were estimated"),
    Family("wellbeing", "Well-being", ("star_readings",),
           "SELECT count(*) FROM core.wellbeing_people WHERE participant",
           "SELECT count(*) FROM marts.wellbeing_effects WHERE status = 'estimated'",
           "well-being effects were estimated"),
    Family("reciprocity", "Reciprocity and time-bank activity", ("timebank_exchanges",),
           "SELECT count(*) FROM marts.member_reciprocity",
           "SELECT count(*) FROM marts.timebank_activity",
           "time-bank activity and reciprocity were measured"),
)
SOCIAL_VALUE = Family("social_value", "Social value (SROI)", ("hospital_spells", "justice_events", "star_readings"),
                      "", "SELECT count(*) FROM marts.impact_map WHERE status = 'valued'",
                      "social value was calculated from the estimated outcomes")


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The query's count, or 0 when a table it reads was not built in this warehouse."""
    try:
        return int(con.execute(sql).fetchone()[0])
    except duckdb.CatalogException:
        return 0


def staged(con: duckdb.DuckDBPyConnection, source: str) -> int:
    return _count(con, f"SELECT count(*) FROM staging.{source}")


def _words(sources) -> str:
    names = [s.replace("_", " ") for s in sources]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _row(family: Family, status: str, message: str) -> dict:
    return {"outcome_family": family.name, "label": family.label, "status": status, "message": message,
            "sources": ", ".join(family.sources)}


def family_status(con: duckdb.DuckDBPyConnection, family: Family, participation: bool) -> dict:
    """One family's row: the first of no source data, no participants, estimated, not estimated that holds."""
    if not any(staged(con, s) for s in family.sources):
        return _row(family, "no source data", f"{family.label}: not measured, because no {_words(family.sources)} "
                                               "were supplied (or none passed the data checks).")
    if _count(con, family.participants) == 0:
        why = ("no time-bank or programme records were supplied to say who took part" if not participation
               else f"none of the people in the {_words(family.sources)} took part in a time bank or programme")
        return _row(family, "no participants", f"{family.label}: no participants, so no effect was estimated: {why}.")
    if _count(con, family.estimated):
        return _row(family, "estimated", f"{family.label}: {family.estimated_words}.")
    return _row(family, "not estimated", f"{family.label}: participants were found, but the model could not estimate "
                                         "a result (too few people or no comparable people; its table says why).")


def outcome_coverage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per outcome family (module docstring), columns as declared in ``schemas/marts.py``."""
    participation = any(staged(con, s) for s in PARTICIPATION_SOURCES)
    rows = [family_status(con, f, participation) for f in FAMILIES]
    if _count(con, SOCIAL_VALUE.estimated):
        rows.append(_row(SOCIAL_VALUE, "estimated", f"{SOCIAL_VALUE.label}: {SOCIAL_VALUE.estimated_words}."))
    else:
        outcomes = [r for r in rows if r["outcome_family"] in ("readmission", "reoffending", "wellbeing")]
        statuses = {r["status"] for r in outcomes}
        if statuses == {"no source data"}:
            rows.append(_row(SOCIAL_VALUE, "no source data", f"{SOCIAL_VALUE.label}: not calculated, because no outcome "
                                                             "data (hospital spells, justice events or well-being "
                                                             "readings) were supplied."))
        elif statuses <= {"no source data", "no participants"}:
            rows.append(_row(SOCIAL_VALUE, "no participants", f"{SOCIAL_VALUE.label}: not calculated, because no "
                                                              "participants were found in the outcome data."))
        else:
            rows.append(_row(SOCIAL_VALUE, "not estimated", f"{SOCIAL_VALUE.label}: not calculated, because no impact map "
                                                            "was configured or no outcome in it was estimated (the "
                                                            "impact map says why)."))
    return pd.DataFrame(rows, columns=COLUMNS)
