"""Checks on the headline effect marts: every estimated row is a complete, coherent estimate.

DESIGN.md principle 4: each estimate carries n, a 95% interval and a plain verdict. For each
effects mart, every row the model marks as estimated must have a number, an interval with
``ci_low <= estimate <= ci_high``, a verdict and at least one matched participant. The check
fails (severity ERROR, not blocking, so the pages still show what there is) with the number of
incomplete rows, and says so when the mart lacks one of the columns it reads. The check is
evaluated by the asset that writes the mart (:mod:`pipelines.assets.table_checks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.assets.publication import table_columns
from pipelines.assets.table_checks import TableCheck


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


def headline_check(c: EffectColumns) -> TableCheck:
    """The ``estimates_complete`` check of one headline mart."""

    def measure(con: duckdb.DuckDBPyConnection) -> tuple[bool, dict]:
        needed = [c.flag, c.estimate, c.ci_low, c.ci_high, c.n, c.verdict]
        missing = [col for col in needed if col not in table_columns(con, c.table)]
        estimated, incomplete = (0, 0) if missing else con.execute(incomplete_rows_sql(c)).fetchone()
        return not missing and incomplete == 0, {"estimated_rows": int(estimated), "incomplete_rows": int(incomplete),
                                                 "missing_columns": ", ".join(missing) or "none"}

    return TableCheck(c.table, "estimates_complete", "Every estimated row has an estimate inside its 95% interval, a "
                      "verdict and a matched n of at least 1.", measure)


#: the ``estimates_complete`` check of each headline mart
HEADLINE_CHECKS = [headline_check(c) for c in HEADLINE_MARTS]
