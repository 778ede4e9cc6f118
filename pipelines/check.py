"""Try an extract without a run: ``make check`` (``python -m pipelines.check``).

First everything ``make run`` checks before it starts (``pipelines.preflight``: settings, key, folders, file names
and headers); then every source is read as the run's ingest reads it (``pipelines.ingest.stage.ingest_source``, the
settings' mappings, reference date and quarantine ceiling) into a throwaway DuckDB file in a temporary folder, with
a random pseudonym key. The warehouse, the output folder and DAGSTER_HOME are never opened.

It prints, per source, the rows read, staged and quarantined, then each quarantined row as the ingest records it
(file, line, column, rule, expected form, value: ``pipelines.ingest.inspect.quarantined_rows``), each value it would
clear (an optional covariate's bad value, its row staged without it: ``cleared_values``; these never fail the run),
and how each file was read when not as written (not UTF-8, another delimiter). Exit code 0 when the run would ingest every source,
1 when a source would fail it (a file the ingest refuses, a quarantined share over ``ingest.max_quarantined_share``),
2 when the preflight refuses the run.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from pathlib import Path

import duckdb

from models.config import OutcomesConfig, load_config
from pipelines.ingest.inspect import cleared_values, quarantined_rows
from pipelines.ingest.readers import SourceFileError, discover
from pipelines.ingest.stage import ingest_source, quarantine_over_ceiling
from schemas.raw import SOURCES


def ingest_lines(input_dir: str, config: OutcomesConfig, config_path: str) -> tuple[list[str], bool]:
    """What ingesting ``input_dir`` would give, source by source, and whether every source would pass."""
    folder, passed, lines = Path(input_dir), True, []
    base = Path(config_path).parent if config_path else None
    key = secrets.token_bytes(32)
    with tempfile.TemporaryDirectory(prefix="outcomes-check-") as tmp, \
            duckdb.connect(str(Path(tmp) / "check.duckdb")) as con:
        for statement in config.warehouse.statements():
            con.execute(statement)
        for source in SOURCES:  # the contract's order: a reference is checked against the source it names
            if not discover(folder, source):
                continue
            try:
                report = ingest_source(con, source, folder, run_id="check", as_of=config.as_of(), key=key,
                                       mappings=config.mappings.for_source(source), mapping_base=base)
            except SourceFileError as err:
                passed = False
                lines.append(f"{source}: not read, so the run would fail it: {err}")
                continue
            ceiling = config.ingest.max_quarantined_share
            share, over = quarantine_over_ceiling(report.rows_quarantined, report.rows_read, ceiling)
            passed &= not over
            lines.append(f"{source}: {report.rows_read:,} rows read: {report.rows_staged:,} staged, "
                         f"{report.rows_quarantined:,} quarantined"
                         + (f" ({share:.1%}, over the ceiling of {ceiling:.1%}, ingest.max_quarantined_share: the run "
                            f"would fail)" if over else "")
                         + (f"; {report.cleared:,} value(s) cleared, their rows staged" if report.cleared else ""))
            lines += [f"  {line}" for line in quarantined_rows(con, source) + cleared_values(con, source)]
            lines += [f"  note: {note}" for note in report.notes]
    return lines, passed


def main() -> int:
    from pipelines.preflight import PreflightError, check
    from pipelines.resources import Settings, Warehouse

    settings = Settings()
    try:
        check(settings.input_dir, settings.output_dir, settings.config_path, settings.demo, Warehouse().path)
    except PreflightError as err:
        print(err, file=sys.stderr)
        return 2
    lines, passed = ingest_lines(settings.input_dir, load_config(settings.config_path or None), settings.config_path)
    print(f"Checked {settings.input_dir} (nothing written; the run's ingest, in a throwaway warehouse):")
    print("\n".join(lines))
    print("Every source would be ingested: `make run` can start." if passed else
          "A source would fail the run (above): fix it, then `make check` again.")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
