"""Readmission and service use: NHS 30-day emergency readmission, its comparison, funnel
plots, and before/after changes in admissions and service contacts.

Pure Python + DuckDB SQL (no Dagster). Each function takes a DuckDB connection holding the
``staging`` tables (docs/data-contract.md) and :class:`ReadmissionSettings`:

* :func:`continuous_spells`, :func:`index_discharges` -> the rows of ``core.continuous_spells``, ``core.index_discharges`` (relations; :func:`build_index_discharges` writes both)
  (person-level, never published; rules in :mod:`.spells`);
* :func:`readmission_rates` -> ``marts.readmission_rates`` (Wilson intervals, :mod:`.rates`);
* :func:`readmission_effects` -> ``marts.readmission_effects`` (comparison engine, :mod:`.effects`);
* :func:`readmission_funnel` -> ``marts.readmission_funnel`` (:mod:`.funnel`);
* :func:`admissions_before_after`, :func:`service_use_change` -> ``marts.readmission_before_after``,
  ``marts.service_use_change`` (matched DiD, :mod:`.before_after`);
* :func:`avoided` -> ``marts.readmission_avoided`` (:mod:`.avoided`).

The marts' functions return frames; the assets write them with ``models.mart_writer.write_mart``
(columns declared in schemas/marts.py), so an empty input gives an empty, typed table.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from schemas.raw import RECORDED_AFTER

from .avoided import avoided
from .before_after import admissions_before_after, service_use_change
from .effects import readmission_effects, run_comparison
from .funnel import estimate_dispersion, fit_risk_model, funnel_limits, poisson_limit, readmission_funnel, winsorised_phi
from .rates import readmission_rates, wilson_interval
from .settings import ReadmissionSettings
from .spells import (
    IndexReport,
    build_continuous_spells,
    build_index_discharges,
    continuous_spells,
    index_discharges,
    index_report,
    overlapping_spells,
    table_exists,
)
from .tables import TABLES

_PERSON_BASE = ("person_id", "birth_date", "sex", "area_code", "imd_decile", *RECORDED_AFTER, "source_file", "source_line", "run_id")


def discharges_frame(con: duckdb.DuckDBPyConnection, full_follow_up: bool = True, columns=None,
                     id_ranks: bool = False) -> pd.DataFrame:
    """core.index_discharges (full follow-up only by default) plus the extra covariate columns
    of staging.persons, for the comparison and the risk model. ``columns``: only those of them (the
    ones that exist, in that order), the same values read without the others.

    ``id_ranks``: ``discharge_id`` and ``person_id`` come as their rank among the frame's distinct values
    (0, 1, ...; in text order), not as text: the same equalities and the same order, held as integers
    rather than millions of Python strings (the comparison only groups, counts and orders by them)."""
    where = "WHERE d.full_follow_up" if full_follow_up else ""
    own = TABLES["core.index_discharges"]  # the table's declared columns, in its order
    extra = []
    if table_exists(con, "staging", "persons"):
        extra = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'persons'"
        ).fetchall() if r[0] not in _PERSON_BASE and r[0] not in own]
    names = [*own, *extra] if columns is None else [c for c in dict.fromkeys(columns) if c in own or c in extra]

    def term(c: str) -> str:
        if id_ranks and c in ("discharge_id", "person_id"):  # a rank over the rows the WHERE keeps
            return f'dense_rank() OVER (ORDER BY d."{c}")::INTEGER - 1 AS "{c}"'
        return f'd."{c}"' if c in own else f'p."{c}"'

    select = ", ".join(map(term, names))
    join = " LEFT JOIN staging.persons p USING (person_id)" if extra else ""
    sql = f"SELECT {select} FROM core.index_discharges d{join} {where}"
    return con.execute(sql + " ORDER BY d.discharged_on, d.discharge_id").df()


__all__ = [
    "ReadmissionSettings", "IndexReport", "build_index_discharges", "build_continuous_spells", "overlapping_spells",
    "continuous_spells", "index_discharges", "index_report",
    "discharges_frame", "readmission_rates", "wilson_interval", "readmission_effects", "run_comparison",
    "readmission_funnel", "fit_risk_model", "funnel_limits", "poisson_limit", "estimate_dispersion",
    "winsorised_phi", "admissions_before_after", "service_use_change", "avoided", "TABLES",
]
