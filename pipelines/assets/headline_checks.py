"""Checks on the headline effect marts: every estimated row is a complete, coherent estimate.

DESIGN.md principle 4: each estimate carries n, a 95% interval and a plain verdict. For each
effects mart, every row the model marks as estimated must have a number, an interval with
``ci_low <= estimate <= ci_high``, a verdict and at least one matched participant. The check
fails (severity ERROR, not blocking, so the pages still show what there is) with the number of
incomplete rows, and says so when the mart lacks one of the columns it reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from pipelines.assets.publication import table_columns
from pipelines.ingest.assets import WAREHOUSE_POOL
from pipelines.resources import Warehouse


@dataclass(frozen=True)
class EffectColumns:
    """Where a mart keeps its estimate, interval, verdict and n, and which rows are estimated."""

    table: str
    flag: str  # the column that says a row was estimated
    estimated: str
    estimate: str
    ci_low: str
    ci_high: str
    n: str = "n_matched"
    verdict: str = "verdict"


HEADLINE_MARTS = (
    EffectColumns("marts.readmission_effects", "status", "status = 'estimated'", "risk_difference", "rd_ci_low", "rd_ci_high"),
    EffectColumns("marts.reoffending_effects", "estimable", "estimable", "estimate", "ci_low", "ci_high"),
    EffectColumns("marts.wellbeing_effects", "status", "status = 'estimated'", "estimate", "ci_low", "ci_high"),
)


def incomplete_rows_sql(c: EffectColumns) -> str:
    """Count of estimated rows lacking a number, a coherent 95% interval, a verdict or a matched participant."""
    return (f"SELECT count(*) FILTER (WHERE {c.estimated}), count(*) FILTER (WHERE ({c.estimated}) AND ("
            f"{c.estimate} IS NULL OR {c.ci_low} IS NULL OR {c.ci_high} IS NULL OR isnan({c.estimate}) "
            f"OR NOT ({c.ci_low} <= {c.estimate} AND {c.estimate} <= {c.ci_high}) "
            f"OR {c.verdict} IS NULL OR coalesce({c.n}, 0) < 1)) FROM {c.table}")


def headline_check(c: EffectColumns) -> dg.AssetChecksDefinition:
    schema, name = c.table.split(".")

    @dg.asset_check(asset=dg.AssetKey([schema, name]), name="estimates_complete", pool=WAREHOUSE_POOL,
                    description="Every estimated row has an estimate inside its 95% interval, a verdict and a "
                                "matched n of at least 1.")
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        needed = [c.flag, c.estimate, c.ci_low, c.ci_high, c.n, c.verdict]
        with warehouse.connect() as con:
            missing = [col for col in needed if col not in table_columns(con, c.table)]
            estimated, incomplete = (0, 0) if missing else con.execute(incomplete_rows_sql(c)).fetchone()
        return dg.AssetCheckResult(
            passed=not missing and incomplete == 0, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"estimated_rows": int(estimated), "incomplete_rows": int(incomplete),
                      "missing_columns": ", ".join(missing) or "none"})

    return _check


headline_checks = [headline_check(c) for c in HEADLINE_MARTS]
