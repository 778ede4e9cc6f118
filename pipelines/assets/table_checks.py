"""Checks on a table, evaluated by the asset that writes it, right after the write.

Each check is declared on that asset (``check_specs``) and measured on the asset's own
connection, so it is not a step of its own that reopens the warehouse and adds its own
events to the run (issue 18: "checks as ``check_specs`` on their asset instead of separate
steps"). A blocking check that fails still stops every downstream asset of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dagster as dg
import duckdb

#: measure(con) -> (passed, metadata)
Measure = Callable[[duckdb.DuckDBPyConnection], tuple[bool, dict]]


@dataclass(frozen=True)
class TableCheck:
    """One named check on ``table`` (``schema.name``, the asset's key)."""

    table: str
    name: str
    description: str
    measure: Measure
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
    blocking: bool = False

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey(self.table.split("."))

    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=self.asset_key, blocking=self.blocking, description=self.description)

    def evaluate(self, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
        passed, metadata = self.measure(con)
        return dg.AssetCheckResult(asset_key=self.asset_key, check_name=self.name, passed=bool(passed),
                                   severity=self.severity, metadata=metadata)


def specs(checks: Iterable[TableCheck], *tables: str) -> list[dg.AssetCheckSpec]:
    """The specs of the checks on ``tables``."""
    return [c.spec() for c in checks if c.table in tables]


def evaluate(checks: Iterable[TableCheck], con: duckdb.DuckDBPyConnection, table: str) -> list[dg.AssetCheckResult]:
    """The results of the checks on ``table``, measured now on ``con``."""
    return [c.evaluate(con) for c in checks if c.table == table]
