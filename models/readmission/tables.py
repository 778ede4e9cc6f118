"""Column definitions of the core table and the marts, and the writer that keeps them typed.

Every table is created from its declared columns first and then filled, so an empty input
gives an empty table with the right columns and types, never a crash or a guessed type.
Column meanings: docs/outputs-readmission.md.
"""

from __future__ import annotations

import duckdb
import pandas as pd

INDEX_DISCHARGES = {
    "discharge_id": "VARCHAR", "person_id": "VARCHAR", "provider_id": "VARCHAR", "admitted_on": "DATE",
    "discharged_on": "DATE", "admission_method": "VARCHAR", "specialty": "VARCHAR", "n_spells": "INTEGER",
    "area_code": "VARCHAR", "quarter": "VARCHAR", "age": "INTEGER", "sex": "VARCHAR", "imd_decile": "INTEGER",
    "prior_emergency_12m": "INTEGER", "exposed": "BOOLEAN", "exposed_timebank": "BOOLEAN",
    "exposed_programme": "BOOLEAN", "timebank_id": "VARCHAR", "programme_id": "VARCHAR",
    "programme_start_day": "INTEGER",
    "full_follow_up": "BOOLEAN", "readmitted": "BOOLEAN", "days_to_readmission": "INTEGER",
    "readmission_id": "VARCHAR", "run_id": "VARCHAR",
}

CONTINUOUS_SPELLS = {
    "chain_id": "VARCHAR", "person_id": "VARCHAR", "seq": "BIGINT", "first_spell_id": "VARCHAR",
    "last_spell_id": "VARCHAR", "n_spells": "INTEGER", "admitted_on": "DATE", "discharged_on": "DATE",
    "admission_method": "VARCHAR", "discharge_destination": "VARCHAR", "provider_id": "VARCHAR",
    "specialty": "VARCHAR", "any_cancer": "BOOLEAN", "specialties": "VARCHAR[]", "run_id": "VARCHAR",
}

READMISSION_RATES = {
    "dimension": "VARCHAR", "value": "VARCHAR", "discharges": "BIGINT", "readmissions": "BIGINT",
    "rate": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE", "run_id": "VARCHAR",
}

READMISSION_EFFECTS = {
    "comparison": "VARCHAR", "outcome": "VARCHAR", "method": "VARCHAR", "status": "VARCHAR",
    "n_discharges": "BIGINT", "n_treated": "BIGINT", "n_matched": "BIGINT", "n_control_matched": "BIGINT",
    "participant_rate": "DOUBLE", "comparison_rate": "DOUBLE",
    "risk_difference": "DOUBLE", "rd_ci_low": "DOUBLE", "rd_ci_high": "DOUBLE", "rd_p_value": "DOUBLE",
    "odds_ratio": "DOUBLE", "or_ci_low": "DOUBLE", "or_ci_high": "DOUBLE", "or_p_value": "DOUBLE",
    "risk_ratio": "DOUBLE", "rr_ci_low": "DOUBLE", "rr_ci_high": "DOUBLE", "rr_p_value": "DOUBLE",
    "verdict": "VARCHAR", "jdl_statement": "VARCHAR", "max_abs_smd_after": "DOUBLE",
    "n_balance_flags": "BIGINT", "covariates": "VARCHAR", "warnings": "VARCHAR", "design": "VARCHAR",
    "design_sentence": "VARCHAR", "estimand": "VARCHAR", "share_participants_matched": "DOUBLE", "run_id": "VARCHAR",
}

READMISSION_FUNNEL = {
    "unit_type": "VARCHAR", "unit": "VARCHAR", "discharges": "BIGINT", "observed": "BIGINT",
    "expected": "DOUBLE", "ratio": "DOUBLE", "observed_rate": "DOUBLE", "expected_rate": "DOUBLE",
    "standardised_rate": "DOUBLE", "z": "DOUBLE", "z_adjusted": "DOUBLE", "overdispersion": "VARCHAR",
    "phi": "DOUBLE", "tau2": "DOUBLE", "lower_95": "DOUBLE", "upper_95": "DOUBLE", "lower_998": "DOUBLE",
    "upper_998": "DOUBLE", "outlier_95": "VARCHAR", "outlier_998": "VARCHAR", "run_id": "VARCHAR",
}

_CHANGE = {
    "n_participants": "BIGINT", "n_matched": "BIGINT", "n_comparison": "BIGINT", "status": "VARCHAR",
    "participant_before": "DOUBLE", "participant_after": "DOUBLE", "comparison_before": "DOUBLE",
    "comparison_after": "DOUBLE", "did": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE", "p_value": "DOUBLE",
    "verdict": "VARCHAR", "person_years_after": "DOUBLE", "pseudo_date_rule": "VARCHAR",
    "max_abs_smd_after": "DOUBLE", "warnings": "VARCHAR", "run_id": "VARCHAR",
}
READMISSION_BEFORE_AFTER = {"outcome": "VARCHAR", **_CHANGE}
SERVICE_USE_CHANGE = {"service": "VARCHAR", **_CHANGE}

READMISSION_AVOIDED = {
    "measure": "VARCHAR", "estimate": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE",
    "comparison_rate": "DOUBLE", "participant_rate": "DOUBLE", "n": "BIGINT", "unit": "VARCHAR",
    "source": "VARCHAR", "run_id": "VARCHAR",
}

TABLES = {
    "core.index_discharges": INDEX_DISCHARGES,
    "core.continuous_spells": CONTINUOUS_SPELLS,
    "marts.readmission_rates": READMISSION_RATES,
    "marts.readmission_effects": READMISSION_EFFECTS,
    "marts.readmission_funnel": READMISSION_FUNNEL,
    "marts.readmission_before_after": READMISSION_BEFORE_AFTER,
    "marts.service_use_change": SERVICE_USE_CHANGE,
    "marts.readmission_avoided": READMISSION_AVOIDED,
}


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def write_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, run_id: str) -> int:
    """Replace ``table`` (``schema.name`` in TABLES) with ``frame``'s rows, typed by the declaration.

    ``run_id`` fills the run_id column. Columns the frame lacks are NULL; extra ones are dropped.
    Returns the row count.
    """
    columns = TABLES[table]
    schema = table.split(".")[0]
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    if frame is None or frame.empty:
        ddl = ", ".join(f'"{c}" {t}' for c, t in columns.items())
        con.execute(f"CREATE OR REPLACE TABLE {table} ({ddl})")
        return 0
    out = frame.copy()
    out["run_id"] = run_id
    for c in columns:
        if c not in out.columns:
            out[c] = None
    out = out[list(columns)]
    # Floats: NaN -> NULL so SQL aggregates and readers see a missing value, not a number.
    for c, t in columns.items():
        if t == "DOUBLE":
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    con.register("_rd_frame", out)
    try:
        select = ", ".join(
            f'CASE WHEN isnan(TRY_CAST("{c}" AS DOUBLE)) THEN NULL ELSE "{c}" END::{t} AS "{c}"' if t == "DOUBLE"
            else f'"{c}"::{t} AS "{c}"' for c, t in columns.items()
        )
        # One statement: a killed run leaves the previous table whole, never an empty one.
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {select} FROM _rd_frame")
    finally:
        con.unregister("_rd_frame")
    return len(out)
