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

_PERSON_BASE = ("person_id", "birth_date", "sex", "area_code", "imd_decile", "source_file", "source_line", "run_id")


def discharges_frame(con: duckdb.DuckDBPyConnection, full_follow_up: bool = True, columns=None) -> pd.DataFrame:
    """core.index_discharges (full follow-up only by default) plus the extra covariate columns
    of staging.persons, for the comparison and the risk model. ``columns``: only those of them (the
    ones that exist, in that order), the same values read without the others."""
    where = "WHERE d.full_follow_up" if full_follow_up else ""
    extra = []
    if table_exists(con, "staging", "persons"):
        extra = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'persons'"
        ).fetchall() if r[0] not in _PERSON_BASE and r[0] not in TABLES["core.index_discharges"]]
    if columns is None:
        select = "d.*" + "".join(f', p."{c}"' for c in extra)
    else:
        own = TABLES["core.index_discharges"]  # the table's declared columns
        select = ", ".join(f'd."{c}"' if c in own else f'p."{c}"' for c in dict.fromkeys(columns)
                           if c in own or c in extra)
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
