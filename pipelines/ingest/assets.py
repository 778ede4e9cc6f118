"""Ingest assets: one per source, each with two blocking checks.

``staging/<source>`` reads every file of the source, stages valid rows and quarantines
the rest (pipelines.ingest.stage). Its checks: ``rows_reconcile`` (staged + quarantined
= rows read, counted again from the warehouse) and ``quarantine_within_ceiling``
(the quarantined share is at most the configured ceiling; above it the run fails).
A value cleared in an optional covariate (``quarantine.cleared_values``) is counted in the
metadata and in the ceiling check's, but not in the share: its row is staged, and the models
read a cleared covariate as they read one the extract left empty. A lost row costs events
and outcomes; a cleared value costs one covariate of one row.
The checks are the asset's own ``check_specs``, evaluated in its step on its connection:
as separate steps they cost 22 more Dagster steps, each reopening the warehouse
(docs/benchmarks.md). A failed blocking check fails the step, so nothing downstream runs.
"""

from pathlib import Path

import dagster as dg
import duckdb

from pipelines.ingest.pseudonymise import MissingKeyError
from pipelines.ingest.readers import SourceFileError
from pipelines.ingest.stage import MONTH_FIRST, IngestReport, ingest_source, quarantine_over_ceiling
from pipelines.resources import Settings, Warehouse
from schemas.contract import contract
from schemas.raw import RECORDED_AFTER, SOURCES

WAREHOUSE_POOL = "warehouse"

def _metadata(report: IngestReport) -> dict:
    rules = "\n".join(f"| {rule} | {n} |" for rule, n in sorted(report.rules_broken.items(), key=lambda kv: -kv[1]))
    cleared = "\n".join(f"| {column} | {rule} | {n} |" for (column, rule), n in report.values_cleared.items())
    return {
        "rows_read": report.rows_read,
        "rows_staged": report.rows_staged,
        "rows_quarantined": report.rows_quarantined,
        "quarantined_share": round(report.quarantined_share, 4),
        "files": dg.MetadataValue.md("\n".join(f"- `{f.path.name}` ({f.rows} rows, sha256 {f.sha256[:12]}…)" for f in report.files) or "no files: source not supplied"),
        "rules_broken": dg.MetadataValue.md("| rule | rows |\n|---|---|\n" + rules if rules else "none"),
        # bad values of optional covariates, cleared in rows that were staged (each in quarantine.cleared_values)
        "values_cleared": report.cleared,
        "cleared_values": dg.MetadataValue.md("| column | rule | values |\n|---|---|---|\n" + cleared if cleared else "none"),
        "unchecked_references": ", ".join(report.unchecked_references) or "none",
        "covariate_columns": ", ".join(report.extra_columns) or "none",
        "mappings": ", ".join(sorted({f"{f.mapping} (sha256 {f.mapping_sha256[:12]}…)" for f in report.files if f.mapping})) or "none (contract form)",
        # how a file was read when not as written (not UTF-8, UTF-16, reshaped by a mapping); make run prints each
        "notes": "\n".join(report.notes) or "none",
    }

#: The two blocking checks of every ingest asset, evaluated inside it (check_specs), on its own connection.
CHECKS = {
    "rows_reconcile": "Every row read is staged or quarantined: nothing is lost.",
    "quarantine_within_ceiling": "The quarantined share stays under the configured ceiling (ingest.max_quarantined_share).",
}


def build_ingest_asset(source: str) -> dg.AssetsDefinition:
    spec = contract(source)
    upstream = sorted({ref.split(".")[0] for ref in spec.references.values()})
    key = dg.AssetKey(["staging", source])

    @dg.asset(
        key=key,
        group_name="ingest",
        kinds={"duckdb"},
        deps=[dg.AssetKey(["staging", s]) for s in upstream],
        pool=WAREHOUSE_POOL,
        check_specs=[dg.AssetCheckSpec(name, asset=key, blocking=True, description=text) for name, text in CHECKS.items()],
        description=f"{spec.description} Valid rows of `{source}` files; rejected rows go to quarantine.{source}.",
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
        config = settings.config()
        try:
            pseudonym_key = settings.pseudonym_key()
            with warehouse.connect() as con:
                report = ingest_source(con, source, settings.input_dir, run_id=context.run.run_id, as_of=config.as_of(), key=pseudonym_key,
                                       mappings=config.mappings.for_source(source),
                                       mapping_base=Path(settings.config_path).parent if settings.config_path else None)
                checks = [rows_reconcile(con, source, context.run.run_id),
                          quarantine_within_ceiling(con, source, config.ingest.max_quarantined_share, context.log)]
        except (SourceFileError, MissingKeyError) as err:
            raise dg.Failure(description=str(err)) from None
        if not report.files:
            context.log.info(f"{source}: no files under {settings.input_dir}; empty tables written (source not supplied)")
        return dg.MaterializeResult(metadata=_metadata(report), check_results=checks)

    return _ingest


def rows_reconcile(con: duckdb.DuckDBPyConnection, source: str, run_id: str) -> dg.AssetCheckResult:
    """Rows read (meta.input_files) = rows in staging + rows in quarantine, counted again from the warehouse."""
    read, staged, quarantined = con.execute(
        f"SELECT (SELECT coalesce(sum(rows_read), 0) FROM meta.input_files WHERE run_id = $1 AND source = $2), "
        f"(SELECT count(*) FROM staging.{source}), (SELECT count(*) FROM quarantine.{source})",
        [run_id, source],
    ).fetchone()
    return dg.AssetCheckResult(
        check_name="rows_reconcile",
        passed=bool(read == staged + quarantined),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"rows_read": int(read), "rows_staged": int(staged), "rows_quarantined": int(quarantined)},
    )


def quarantine_within_ceiling(con: duckdb.DuckDBPyConnection, source: str, ceiling: float, log: dg.DagsterLogManager) -> dg.AssetCheckResult:
    """The quarantined share of the source's rows is at most ``ceiling``; above it the run fails, saying where to look.
    Values cleared in staged rows are counted beside it, never in the share (their rows are staged)."""
    staged, quarantined, cleared = con.execute(
        f"SELECT (SELECT count(*) FROM staging.{source}), (SELECT count(*) FROM quarantine.{source}), "
        "(SELECT count(*) FROM quarantine.cleared_values WHERE source = $1)", [source]
    ).fetchone()
    total = staged + quarantined
    share, over = quarantine_over_ceiling(quarantined, total, ceiling)
    description = None
    if over:
        # the run stops here, before the data-quality page is written: the message itself says what to mend
        description = (f"{source}: {quarantined:,} of {total:,} rows ({share:.1%}) quarantined, above the ceiling of "
                       f"{ceiling:.1%} (ingest.max_quarantined_share); {most_broken(con, source)}. Every row is in "
                       f"quarantine.{source}")
        log.error(description)
    return dg.AssetCheckResult(
        check_name="quarantine_within_ceiling",
        passed=not over,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"quarantined_share": round(share, 4), "ceiling": ceiling, "values_cleared": int(cleared)},
        description=description,
    )


def _hidden(source: str, column: str, rule: str) -> bool:
    """A value the summary must not repeat, as the data-quality page masks it (an identifier, a date of birth or death,
    a record's own id)."""
    spec = contract(source)
    rule_of = next((c for c in spec.columns if c.name == column), None)
    return (rule == "unknown_reference" or column in ("birth_date", *RECORDED_AFTER) or column == spec.key
            or (rule_of is not None and rule_of.pseudonymise))


def most_broken(con: duckdb.DuckDBPyConnection, source: str, top: int = 2) -> str:
    """The rules most rows broke, each with its first row (file, line, column, what was expected), and a word on dates
    written month first (US ``MM/DD/YYYY``): 'most for rule type on admitted_on (2,664 rows; first at
    hospital_spells.csv line 3: '12/16/2024', expected a date, ...)'."""
    rows = con.execute(
        f"SELECT rule, \"column\", count(*) AS n, arg_min({{'file': regexp_extract(source_file, '[^/]+$'), "
        f"'line': source_line, 'value': value, 'expected': expected}}, source_line), "
        f"count(*) FILTER (WHERE regexp_full_match(value, '{MONTH_FIRST}')) "
        f"FROM quarantine.{source} GROUP BY ALL ORDER BY n DESC, rule, \"column\" LIMIT {top}").fetchall()
    parts, month_first = [], []
    for rule, column, n, first, n_month_first in rows:
        value = "" if _hidden(source, column, rule) or first["value"] is None else f"{first['value']!r}, "
        parts.append(f"rule {rule} on {column} ({n:,} row{'s' if n != 1 else ''}; first at {first['file']} line {first['line']}: {value}"
                     f"expected {first['expected']})")
        if (rule == "type" and n_month_first or rule == "month_first_date") and column not in month_first:
            month_first.append(column)
    said = "most for " + "; then ".join(parts) if parts else "no rule named"
    if month_first:
        said += (f". The dates of {', '.join(month_first)} are written month first (US MM/DD/YYYY, e.g. 11/18/2023), so "
                 "none of that file's slash dates is read (those with a day up to 12 could be either): export them as "
                 "YYYY-MM-DD (or DD/MM/YYYY)")
    return said


ingest_assets = [build_ingest_asset(s) for s in SOURCES]
