"""Ingest one source: read its files, validate in DuckDB, stage valid rows, quarantine the rest.

Nothing is lost: every row read ends in ``staging.<source>`` or ``quarantine.<source>``
(one quarantine row per rejected input row, with its first broken rule and all of them).
A bad value in an optional covariate (a ``clear`` column, ``schemas.raw``) costs the value,
not the row: the row is staged with the column empty and the value is listed in
``quarantine.cleared_values`` (file, line, column, rule; one row per value). A row
quarantined for another rule lists such a value among its violations, after the rules
that cost it the row, and not in ``cleared_values``: each bad value is listed once.
Each ingest rebuilds both tables from every file present, inside one transaction, so a
rerun on the same files adds nothing and no half-written table is ever visible.

A line of a text file that does not fit its header (field count, quoting, length: see
``pipelines.ingest.readers``) is quarantined too, with that rule and no value.

Table rules run after the row rules, on rows that passed them:
- ``duplicate_row``: the same record again (same key and content; or, in a source without
  a key, the same record delivered in another file). The first copy is staged.
- ``conflicting_key`` / ``conflicting_record``: one key (or natural key) with different
  content. Every copy is quarantined: we cannot tell which is right.
- ``unknown_reference``: an identifier absent from the staged rows of the source it
  points to (e.g. a spell for an unknown person). Skipped, and said so, when that source
  was not supplied.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from pipelines.ingest.pseudonymise import register_pseudonym_macro
from pipelines.ingest.readers import (
    LoadedFile,
    SourceFileError,
    discover,
    drop,
    file_header,
    load,
    refuse_unreadable_formats,
    with_rows,
)
from schemas.contract import SourceContract, contract
from schemas.mapping import VIOLATION_TYPE, MappingError, MappingUse, check_parameters, compile_sql, load_mapping, missing_columns
from schemas.sql import (
    PARSE_MACROS,
    any_broken_sql,
    cleared_rules,
    pseudonym_joins_sql,
    quote,
    raw_value,
    record_json_sql,
    row_rules,
    typed_columns_sql,
    violations_sql,
)

SCALE_REGISTRY = Path(__file__).resolve().parents[2] / "data" / "reference" / "star_versions.yaml"
QUARANTINE_COLUMNS = (
    "source VARCHAR, source_file VARCHAR, source_line BIGINT, \"column\" VARCHAR, rule VARCHAR, "
    "expected VARCHAR, value VARCHAR, violations VARCHAR, record VARCHAR, run_id VARCHAR"
)
CLEARED_COLUMNS = (
    "source VARCHAR, source_file VARCHAR, source_line BIGINT, \"column\" VARCHAR, rule VARCHAR, expected VARCHAR, "
    "value VARCHAR, run_id VARCHAR"
)
# A row's id: file number * stride + position in the file, so it sorts by file then line.
_FILE_STRIDE = 10_000_000_000


@dataclass
class IngestReport:
    """What one ingest did: counts reconcile as rows_read = rows_staged + rows_quarantined."""

    source: str
    files: list[LoadedFile] = field(default_factory=list)
    rows_read: int = 0
    rows_staged: int = 0
    rows_quarantined: int = 0
    rules_broken: dict[str, int] = field(default_factory=dict)
    #: values cleared in staged rows, by (column, rule): counted apart from the rows quarantined (the rows are staged)
    values_cleared: dict[tuple[str, str], int] = field(default_factory=dict)
    unchecked_references: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def quarantined_share(self) -> float:
        return share_of(self.rows_quarantined, self.rows_read)

    @property
    def cleared(self) -> int:
        return sum(self.values_cleared.values())


def share_of(quarantined: int, rows: int) -> float:
    """The quarantined share of a source's ``rows``: 0 for a source with no row."""
    return quarantined / rows if rows else 0.0


def quarantine_over_ceiling(quarantined: int, rows: int, ceiling: float) -> tuple[float, bool]:
    """The quarantined share of a source's ``rows`` and whether it is over ``ceiling`` (``ingest.max_quarantined_share``;
    a share equal to it passes): the one rule of the run's blocking check ``quarantine_within_ceiling``
    (``pipelines.ingest.assets``) and of ``make check``'s verdict (``pipelines.check``), which compared each on its own."""
    share = share_of(quarantined, rows)
    return share, share > ceiling


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    for schema in ("staging", "quarantine", "meta"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.input_files (run_id VARCHAR, source VARCHAR, source_file VARCHAR, "
        "sha256 VARCHAR, bytes BIGINT, rows_read BIGINT, rows_staged BIGINT, rows_quarantined BIGINT)"
    )
    # How each file was read (added after the first release: warehouses from before gain the columns);
    # mapping: the preset or mapping file it was read with, and that file's SHA-256.
    for column in ("encoding", "delimiter", "notes", "mapping", "mapping_sha256"):
        con.execute(f"ALTER TABLE meta.input_files ADD COLUMN IF NOT EXISTS {column} VARCHAR")
    con.execute(f"CREATE TABLE IF NOT EXISTS quarantine.cleared_values ({CLEARED_COLUMNS})")


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    source: str,
    input_dir: Path,
    *,
    run_id: str,
    as_of: dt.date,
    key: bytes,
    mappings: list[MappingUse] | None = None,
    mapping_base: Path | None = None,
) -> IngestReport:
    """Ingest every file of ``source`` under ``input_dir`` into the warehouse behind ``con``.

    ``mappings`` (from the settings' ``mappings:`` section) says which files are read
    through a mapping (``schemas.mapping``); the first entry whose glob matches the file
    name applies, and a file that matches none is read in contract form. A mapping path
    that is not absolute is read from ``mapping_base`` (the settings file's folder; default
    the input folder).
    """
    spec = contract(source)
    ensure_schemas(con)
    for macro in PARSE_MACROS:
        con.execute(macro)
    register_pseudonym_macro(con, key)
    report = IngestReport(source)
    refuse_unreadable_formats(input_dir, source)
    report.files = []
    for i, path in enumerate(discover(input_dir, source)):
        mapped = _mapping_for(path, source, mappings or [], mapping_base or input_dir)
        try:
            report.files.append(_load_checked(con, spec, path, f"_raw_{source}_{i}", mapped))
        except SourceFileError as err:
            raise _in_contract_form(err, mapped, source, mappings) from None
    report.rows_read = sum(f.rows for f in report.files)
    report.notes = [f"{f.path.name}: {note}" for f in report.files for note in f.notes]
    if spec.keep_extra_columns:
        known = set(spec.column_names)
        report.extra_columns = sorted({c for f in report.files for c in f.columns if c not in known and c != "_mapping"})

    try:
        if report.files:
            _union_raw(con, spec, report)
            _pseudonyms(con, spec)
            _row_rules(con, spec, as_of, report.extra_columns, run_id)
            _month_first_dates(con, spec)
            _table_rules(con, spec, len(report.files))
            report.unchecked_references = _reference_rules(con, spec)
        _publish(con, spec, report, run_id, as_of)
    except BaseException:
        con.execute(f"DROP TABLE IF EXISTS {_pending(spec)}")
        raise
    for f in report.files:
        drop(con, f)
    return report


def _in_contract_form(err: SourceFileError, mapped, source: str, mappings: list[MappingUse] | None) -> SourceFileError:
    """A missing column of a file read in contract form, while mappings are set: say no mapping's glob matched it."""
    if mapped is None and mappings and err.rule == "required_column":
        globs = ", ".join(f"{u.files!r} ({u.use})" for u in mappings)
        return SourceFileError(err.path, err.rule, f"{str(err).split(': ', 2)[-1].rsplit(' [rule', 1)[0]}; "
                               f"it was read in contract form because its name matches none of the "
                               f"mappings set for {source}: {globs}", line=err.line, column=err.column)
    return err


def header_problems(source: str, input_dir: Path, mappings: list[MappingUse] | None = None,
                    mapping_base: Path | None = None) -> list[SourceFileError]:
    """What ingest would refuse in ``source``'s files from their headers alone, without a warehouse.

    The same rules and messages as :func:`ingest_source` (format, mapping, header, repeated or missing
    columns), so ``make run`` stops before the run starts (``pipelines.preflight``); a run launched any
    other way still fails that source's step. Text, Parquet and spreadsheet files alike (:func:`file_header`).
    """
    spec = contract(source)
    found: list[SourceFileError] = []
    try:
        refuse_unreadable_formats(input_dir, source)
    except SourceFileError as err:
        found.append(err)
    for path in discover(input_dir, source):
        mapped = None
        try:
            mapped = _mapping_for(path, source, mappings or [], mapping_base or input_dir)
            names = file_header(path)
            if mapped is not None:
                missing = missing_columns(mapped[1], names)
                if missing:
                    raise _misfit(path, mapped[1].name, missing, names)
            elif not (spec.scale_registry and "area" not in names and "score" not in names):  # wide readings: unpivoted first
                _require_columns(spec, path, names)
        except SourceFileError as err:
            found.append(_in_contract_form(err, mapped, source, mappings))
    return found


def _require_columns(spec: SourceContract, path: Path, columns: list[str]) -> None:
    missing = [c for c in spec.required_columns if c not in columns]
    if missing:
        raise SourceFileError(
            path, "required_column",
            f"required column(s) {', '.join(missing)} missing from the header "
            f"({', '.join(columns)}); the contract for {spec.name} expects "
            f"{', '.join(spec.column_names)} (docs/data-contract.md)",
            line=1, column=missing[0],
        )


def _misfit(path: Path, mapping_name: str, missing: list[str], columns: list[str]) -> SourceFileError:
    return SourceFileError(
        path, "required_column",
        f"the extract does not fit mapping {mapping_name}: column(s) {', '.join(missing)} missing from the header "
        f"({', '.join(columns)})", line=1, column=missing[0].split(" ")[0],
    )


def _mapping_for(path: Path, source: str, uses: list[MappingUse], base: Path) -> tuple[MappingUse, object] | None:
    """The first mapping whose glob matches the file name, loaded and checked (or None: contract form)."""
    for use in uses:
        if fnmatch.fnmatch(path.name, use.files):
            try:
                mapping = load_mapping(use.use, Path(base))
                check_parameters(mapping, use.parameters, f"mappings.{source}")
            except MappingError as err:
                raise SourceFileError(err.path, "mapping", f"{err.key}: {err.reason} (mapping for {path.name})") from None
            if mapping.spec.source != source:
                raise SourceFileError(mapping.path, "mapping", f"produces {mapping.spec.source}, not {source} (mapping for {path.name})")
            return use, mapping
    return None


def apply_mapping(con: duckdb.DuckDBPyConnection, spec: SourceContract, loaded: LoadedFile, use: MappingUse, mapping) -> LoadedFile:
    """Read ``loaded`` through its mapping: the view then holds contract columns and ``_mapping`` violations."""
    missing = missing_columns(mapping, loaded.columns)
    if missing:
        raise _misfit(loaded.path, mapping.name, missing, loaded.columns)
    sql = compile_sql(mapping, use.parameters, loaded.table, set(loaded.columns))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {loaded.table}_mapped AS {sql} ORDER BY _seq")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {loaded.table} AS SELECT * FROM {loaded.table}_mapped")
    rows = con.execute(f"SELECT count(*) FROM {loaded.table}_mapped").fetchone()[0]
    reshaped = mapping.spec.group or mapping.spec.unpivot
    note = reshaped and (f"read with mapping {mapping.name}: {loaded.rows - loaded.malformed} input row(s) became {rows} "
                         f"({_reshaped(mapping.spec)}; rows quarantined before it count once each)")
    columns = list(mapping.spec.output) + ([mapping.spec.unpivot.name, mapping.spec.unpivot.value] if mapping.spec.unpivot else [])
    notes = loaded.notes + ((note,) if reshaped else ()) + _unlinked_members(mapping)
    return dataclasses.replace(with_rows(loaded, rows, columns + ["_mapping"]), mapping=use.use,
                               mapping_sha256=mapping.sha256, notes=notes)


def _unlinked_members(mapping) -> tuple[str, ...]:
    """A members mapping that gives no person_id (e.g. timeoverflow_members: the export has none) says so.

    Its members enter the time-bank measures, but the readmission, reoffending and well-being
    comparisons find participants through a person-linked timebank_members row: without a note
    the time bank would just be absent from the outcome pages.
    """
    if mapping.spec.source != "timebank_members" or "person_id" in mapping.spec.output:
        return ()
    return (f"read with mapping {mapping.name}, which gives no person_id: its members are linked to no person, so they count "
            "in the time-bank measures (reciprocity) but not as participants in the readmission, reoffending or well-being "
            "comparisons; to link them, give the members in contract form with person_id (docs/data-contract.md, timebank_members)",)


def _reshaped(spec) -> str:
    if spec.group:
        return f"grouped by {', '.join(spec.group.by)}"
    named = list(spec.unpivot.columns) + (["column the mapping does not name"] if spec.unpivot.other_columns else [])
    return f"one row per non-empty {', '.join(named)}"


def _load_checked(con: duckdb.DuckDBPyConnection, spec: SourceContract, path: Path, table: str, mapped=None) -> LoadedFile:
    loaded = load(con, path, table)
    if mapped is not None:
        return apply_mapping(con, spec, loaded, *mapped)
    if spec.scale_registry and "area" not in loaded.columns and "score" not in loaded.columns:
        loaded = _unpivot_wide_readings(con, loaded)
    _require_columns(spec, path, loaded.columns)
    return loaded


def _unpivot_wide_readings(con: duckdb.DuckDBPyConnection, loaded: LoadedFile) -> LoadedFile:
    """Wide Star files (one column per area) become long rows; each keeps its file line."""
    ids = {"person_id", "star_version", "assessed_on"}
    areas = [c for c in loaded.columns if c not in ids]
    if not areas or not ids <= set(loaded.columns):
        return loaded
    cols = ", ".join(f'"{a}"' for a in areas)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {loaded.table}_long AS SELECT _line, person_id, star_version, assessed_on, area, score "
        f"FROM (UNPIVOT {loaded.table} ON {cols} INTO NAME area VALUE score) ORDER BY _line"
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW {loaded.table} AS SELECT rowid AS _seq, * FROM {loaded.table}_long")
    rows = con.execute(f"SELECT count(*) FROM {loaded.table}_long").fetchall()[0][0]
    return with_rows(loaded, rows, ["person_id", "star_version", "assessed_on", "area", "score"])


def _union_raw(con: duckdb.DuckDBPyConnection, spec: SourceContract, report: IngestReport) -> None:
    selects = []
    for i, f in enumerate(report.files):
        cols = [f'"{c}"' if c in f.columns else f'NULL::VARCHAR AS "{c}"' for c in spec.column_names]
        cols += [f'"{c}"' for c in report.extra_columns if c in f.columns]
        cols.append("_mapping" if f.mapping else f"NULL::{VIOLATION_TYPE}[] AS _mapping")
        selects.append(f"SELECT {_FILE_STRIDE} * {i} + _seq AS _row, {quote(str(f.path))} AS _file, _line, {', '.join(cols)} FROM {f.table}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW _raw AS {' UNION ALL BY NAME '.join(selects)}")
    malformed = [
        f"SELECT {i} AS _fileno, {quote(str(f.path))} AS _file, line AS _line, \"column\", rule, expected FROM {f.table}_malformed"
        for i, f in enumerate(report.files) if f.malformed
    ]
    con.execute("CREATE OR REPLACE TEMP VIEW _malformed AS " + (" UNION ALL ".join(malformed) or
                "SELECT NULL::BIGINT AS _fileno, NULL AS _file, NULL::BIGINT AS _line, NULL AS \"column\", NULL AS rule, NULL AS expected WHERE false"))


def _pseudonyms(con: duckdb.DuckDBPyConnection, spec: SourceContract) -> None:
    """One HMAC per distinct identifier, joined back: far cheaper than one per row.

    Keyed by the text as read (``schemas.sql.pseudonym_joins_sql``), each with the pseudonym of
    its trimmed value (NULL when that is empty): the distinct texts are found first, so only
    they are trimmed, and the rows are joined without trimming them. Two statements, because in
    one DuckDB would push a filter on the trimmed value below the DISTINCT, onto every row.
    """
    ids = [c.name for c in spec.columns if c.pseudonymise]
    if not ids:
        return
    union = " UNION ALL ".join(f'SELECT r."{c}" AS raw FROM _raw r' for c in ids)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _identifiers AS SELECT DISTINCT raw FROM ({union}) WHERE raw IS NOT NULL")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _pseudonyms AS SELECT raw, pseudonym({raw_value('raw', 'i')}) AS pseudonym FROM _identifiers i")
    con.execute("DROP TABLE _identifiers")


def _scale_joins(con: duckdb.DuckDBPyConnection, spec: SourceContract) -> str:
    if not spec.scale_registry:
        return ""
    _register_scale_registry(con)
    return (
        f" LEFT JOIN _scale_versions sv ON sv.star_version = {raw_value('star_version')}"
        f" LEFT JOIN _scale_areas sa ON sa.star_version = sv.star_version AND sa.area = {raw_value('area')}"
    )


def _pending(spec: SourceContract) -> str:
    return f"staging._pending_{spec.name}"


def _row_rules(con: duckdb.DuckDBPyConnection, spec: SourceContract, as_of: dt.date, extra_columns: list[str], run_id: str) -> None:
    """Typed rows plus one flag per row; the reasons are spelled out later, for rejected rows only.

    The rows are written once, in staging's own column order, to ``staging._pending_<source>``
    (visible to no one: the run holds the warehouse's write lock); publishing deletes the
    rejected rows, drops the working columns and renames it into place.
    """
    extras = _covariate_columns_sql(con, extra_columns)
    con.execute(
        f"CREATE OR REPLACE TABLE {_pending(spec)} AS SELECT {typed_columns_sql(spec)}{extras}, _file, _line, "
        f"{quote(run_id)} AS run_id, _row, ({any_broken_sql(row_rules(spec, as_of))} OR coalesce(len(r._mapping), 0) > 0) AS _bad, "
        f"{any_broken_sql(cleared_rules(spec, as_of))} AS _cleared "
        f"FROM _raw r{pseudonym_joins_sql(spec)}{_scale_joins(con, spec)}"
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW _checked AS SELECT * FROM {_pending(spec)}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _flags AS SELECT _row, "
        "{'column': NULL::VARCHAR, 'rule': NULL::VARCHAR, 'expected': NULL::VARCHAR, 'value': NULL::VARCHAR} AS v "
        "FROM _checked WHERE false"
    )


def _covariate_columns_sql(con: duckdb.DuckDBPyConnection, extra: list[str]) -> str:
    """Further columns kept as covariates, typed as number or true/false when every value parses, else text.

    One scan for all the columns (a column with no value at all is text).
    """
    if not extra:
        return ""
    tests = ", ".join(f"bool_and(parse_double({raw}) IS NOT NULL) FILTER (WHERE {raw} IS NOT NULL), "
                      f"bool_and(parse_bool({raw}) IS NOT NULL) FILTER (WHERE {raw} IS NOT NULL)"
                      for raw in map(raw_value, extra))
    found = con.execute(f"SELECT {tests} FROM _raw r").fetchone()
    out = []
    for i, col in enumerate(extra):
        numeric, boolean = found[2 * i], found[2 * i + 1]
        parsed = "parse_double({})" if numeric else "parse_bool({})" if boolean else "{}"
        out.append(f', {parsed.format(raw_value(col))} AS "{col}"')
    return "".join(out)


def _flag(con: duckdb.DuckDBPyConnection, select_rows: str, column: str, rule: str, expected: str, value: str) -> None:
    """Add one table-rule violation for each ``_row`` that ``select_rows`` returns (alias ``c``)."""
    con.execute(
        f"INSERT INTO _flags SELECT c._row, {{'column': {quote(column)}, 'rule': {quote(rule)}, "
        f"'expected': {quote(expected)}, 'value': left(CAST({value} AS VARCHAR), 200)}} FROM ({select_rows}) c"
    )


_CLEAN = "(SELECT * FROM _checked ANTI JOIN _flags USING (_row) WHERE NOT _bad)"


def _table_rules(con: duckdb.DuckDBPyConnection, spec: SourceContract, files: int) -> None:
    content = ", ".join(f'"{c}"' for c in spec.column_names)
    if spec.key or spec.natural_key:
        keys = [spec.key] if spec.key else list(spec.natural_key)
        key_cols = ", ".join(f'"{k}"' for k in keys)
        label = spec.key or "+".join(keys)
        clash = "conflicting_key" if spec.key else "conflicting_record"
        # Only repeated keys need their content compared: find them first, and stop when there are none.
        con.execute(f"CREATE OR REPLACE TEMP TABLE _repeated AS SELECT {key_cols} FROM {_CLEAN} GROUP BY ALL HAVING count(*) > 1")
        if _count(con, "_repeated") == 0:
            con.execute("DROP TABLE _repeated")
            return
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _groups AS SELECT {key_cols}, count(DISTINCT hash({content})) AS versions "
            f"FROM {_CLEAN} c SEMI JOIN _repeated USING ({key_cols}) GROUP BY ALL"
        )
        con.execute("DROP TABLE _repeated")
        joined = f"SELECT c.*, g.versions FROM {_CLEAN} c JOIN _groups g USING ({key_cols})"
        _flag(con, f"SELECT * FROM ({joined}) WHERE versions > 1", keys[0], clash,
              f"one record per {label}", f"c.\"{keys[0]}\"")
        _flag(con, f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY {key_cols} ORDER BY _row) AS copy "
                   f"FROM ({joined}) WHERE versions = 1) WHERE copy > 1",
              keys[0], "duplicate_row", f"{label} once", f"c.\"{keys[0]}\"")
    elif files > 1:
        # Identical rows in one file can be real (two GP contacts in a day); the same rows
        # delivered again in another file are a re-delivery (so with one file there is none).
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _groups AS SELECT hash({content}) AS h, min(_row // {_FILE_STRIDE}) AS first_file "
            f"FROM {_CLEAN} GROUP BY 1 HAVING count(DISTINCT _row // {_FILE_STRIDE}) > 1"
        )
        _flag(con, f"SELECT c.* FROM {_CLEAN} c JOIN _groups g ON g.h = hash({content}) "
                   f"WHERE c._row // {_FILE_STRIDE} <> g.first_file",
              spec.column_names[0], "duplicate_row", "not already delivered in an earlier file", "c._file")
    con.execute("DROP TABLE IF EXISTS _groups")


#: A slash date that can only be month first (US MM/DD/YYYY, ``11/18/2023``): a month, then a second number above 12.
MONTH_FIRST = r"(0?[1-9]|1[0-2])/(1[3-9]|2\d|3[01])/\d{4}( .*)?"
SLASH_DATE = r"\d{1,2}/\d{1,2}/\d{4}( .*)?"


def _month_first_dates(con: duckdb.DuckDBPyConnection, spec: SourceContract) -> None:
    """Rule ``month_first_date``: a file with a date that can only be month first (03/15/2023) was exported with
    month-first dates, so its other slash dates, in every date column (01/05/2023, read day first as 1 May), cannot be
    trusted either: each is quarantined, never read as something else. Only a file with a rejected row can hold such
    a value (the day-first parse fails on month 15), so a file with none costs one look at its flags."""
    dates = [c.name for c in spec.columns if c.sql_type == "DATE"]
    if not dates or not con.execute(f"SELECT bool_or(_bad) FROM {_pending(spec)}").fetchone()[0]:
        return
    rejected = f"(SELECT _row FROM {_pending(spec)} WHERE _bad)"
    evidence = " OR ".join(f"regexp_full_match({raw_value(c)}, '{MONTH_FIRST}')" for c in dates)
    files = [f for (f,) in con.execute(f"SELECT DISTINCT r._row // {_FILE_STRIDE} FROM _raw r "
                                       f"SEMI JOIN {rejected} b USING (_row) WHERE {evidence}").fetchall()]
    for f in files:
        for column in dates:
            raw = raw_value(column)
            _flag(con, f"SELECT c._row, {raw} AS v FROM {_CLEAN} c JOIN _raw r USING (_row) "
                       f"WHERE c._row // {_FILE_STRIDE} = {f} AND regexp_full_match({raw}, '{SLASH_DATE}')",
                  column, "month_first_date", "a date this file writes day first: it writes other dates month first "
                  "(US MM/DD/YYYY, e.g. 03/15/2023), so this one could be either; export YYYY-MM-DD", "c.v")


def _reference_rules(con: duckdb.DuckDBPyConnection, spec: SourceContract) -> list[str]:
    unchecked = []
    for column, target in spec.references.items():
        source, target_col = target.split(".")
        if not _table_exists(con, "staging", source) or _count(con, f"staging.{source}") == 0:
            unchecked.append(f"{column} -> {target} ({source} not supplied)")
            continue
        _flag(con, f"SELECT c.* FROM {_CLEAN} c WHERE c.\"{column}\" IS NOT NULL AND NOT EXISTS "
                   f"(SELECT 1 FROM staging.{source} t WHERE t.\"{target_col}\" = c.\"{column}\")",
              column, "unknown_reference", f"an identifier present in {source}.{target_col}", f'c."{column}"')
    return unchecked


def _publish(con: duckdb.DuckDBPyConnection, spec: SourceContract, report: IngestReport, run_id: str, as_of: dt.date) -> None:
    """Replace staging and quarantine tables and log the files, atomically."""
    src = spec.name
    con.execute("BEGIN TRANSACTION")
    try:
        if report.files:
            con.execute(
                f"CREATE OR REPLACE TABLE quarantine.{src} AS "
                "WITH rejected AS (SELECT _row FROM _checked WHERE _bad UNION SELECT _row FROM _flags), "
                "flags AS (SELECT _row, list(v) AS vs FROM _flags GROUP BY _row), "
                f"reasons AS (SELECT r._row, r._file, r._line, {record_json_sql(spec)} AS record, "
                f"list_concat(coalesce(r._mapping, []), {violations_sql(row_rules(spec, as_of))}) AS vs, "
                f"{violations_sql(cleared_rules(spec, as_of))} AS cleared FROM _raw r{pseudonym_joins_sql(spec)}{_scale_joins(con, spec)} "
                "WHERE r._row IN (SELECT _row FROM rejected)), "
                f"bad AS (SELECT reasons._row // {_FILE_STRIDE} AS _fileno, _file, _line, record, "
                "list_concat(reasons.vs, coalesce(flags.vs, []), reasons.cleared) AS vs FROM reasons LEFT JOIN flags USING (_row) "
                "UNION ALL SELECT _fileno, _file, _line, NULL AS record, "
                "[{'column': \"column\", 'rule': rule, 'expected': expected, 'value': NULL::VARCHAR}] AS vs FROM _malformed) "
                f"SELECT {quote(src)} AS source, _file AS source_file, _line AS source_line, vs[1].column AS \"column\", "
                "vs[1].rule AS rule, vs[1].expected AS expected, vs[1].value AS value, to_json(vs)::VARCHAR AS violations, "
                f"record, {quote(run_id)} AS run_id FROM bad ORDER BY _fileno, _line"
            )
            _record_cleared(con, spec, run_id, as_of)
            _stage_pending(con, spec)
        else:
            types = ", ".join(f'"{c.name}" {c.sql_type}' for c in spec.columns)
            con.execute(f"CREATE OR REPLACE TABLE staging.{src} ({types}, source_file VARCHAR, source_line BIGINT, run_id VARCHAR)")
            con.execute(f"CREATE OR REPLACE TABLE quarantine.{src} ({QUARANTINE_COLUMNS})")
            con.execute("DELETE FROM quarantine.cleared_values WHERE source = ?", [src])
        con.execute("DELETE FROM meta.input_files WHERE run_id = ? AND source = ?", [run_id, src])
        for f in report.files:
            staged, quarantined = con.execute(
                f"SELECT (SELECT count(*) FROM staging.{src} WHERE source_file = $1), "
                f"(SELECT count(*) FROM quarantine.{src} WHERE source_file = $1)", [str(f.path)]
            ).fetchone()
            con.execute("INSERT INTO meta.input_files (run_id, source, source_file, sha256, bytes, rows_read, rows_staged, "
                        "rows_quarantined, encoding, delimiter, notes, mapping, mapping_sha256) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [run_id, src, str(f.path), f.sha256, f.bytes, f.rows, staged, quarantined, f.encoding, f.delimiter,
                         "; ".join(f.notes) or None, f.mapping, f.mapping_sha256])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    report.rows_staged = _count(con, f"staging.{src}")
    report.rows_quarantined = _count(con, f"quarantine.{src}")
    report.rules_broken = dict(Counter(dict(con.execute(f"SELECT rule, count(*) FROM quarantine.{src} GROUP BY rule").fetchall())))
    report.values_cleared = {(column, rule): n for column, rule, n in con.execute(
        'SELECT "column", rule, count(*) FROM quarantine.cleared_values WHERE source = ? GROUP BY ALL ORDER BY ALL',
        [src]).fetchall()}
    for table in ("_flags", "_pseudonyms", "_scale_versions", "_scale_areas"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    for view in ("_checked", "_raw"):
        con.execute(f"DROP VIEW IF EXISTS {view}")
    con.execute("DROP VIEW IF EXISTS _malformed")


def _record_cleared(con: duckdb.DuckDBPyConnection, spec: SourceContract, run_id: str, as_of: dt.date) -> None:
    """Replace the source's rows of ``quarantine.cleared_values``: each value a staged row had cleared, in file and line
    order (inside the caller's transaction, before the rejected rows leave the pending table). The flag pass marked
    the rows (``_cleared``): only they are read again, as a rejected row's reasons are."""
    con.execute("DELETE FROM quarantine.cleared_values WHERE source = ?", [spec.name])
    rules = cleared_rules(spec, as_of)
    if not rules:
        return
    con.execute(  # a cleared column is no identifier: no pseudonym join
        f"INSERT INTO quarantine.cleared_values SELECT {quote(spec.name)}, _file, _line, v.column, v.rule, v.expected, "
        f"v.value, {quote(run_id)} FROM (SELECT r._row, r._file, r._line, unnest({violations_sql(rules)}) AS v FROM _raw r "
        f"SEMI JOIN (SELECT _row FROM {_pending(spec)} WHERE _cleared AND NOT _bad) USING (_row) ANTI JOIN _flags USING (_row)) "
        "ORDER BY _row"
    )


def _stage_pending(con: duckdb.DuckDBPyConnection, spec: SourceContract) -> None:
    """Turn the flag pass's table into ``staging.<source>`` without copying it (inside the caller's transaction)."""
    pending = _pending(spec)
    if con.execute(f"SELECT EXISTS (SELECT 1 FROM {pending} WHERE _bad) OR EXISTS (SELECT 1 FROM _flags)").fetchone()[0]:
        con.execute(f"DELETE FROM {pending} WHERE _bad OR _row IN (SELECT _row FROM _flags)")
    for alter in ("DROP COLUMN _bad", "DROP COLUMN _cleared", "DROP COLUMN _row", "RENAME COLUMN _file TO source_file", "RENAME COLUMN _line TO source_line"):
        con.execute(f"ALTER TABLE {pending} {alter}")
    con.execute(f"DROP TABLE IF EXISTS staging.{spec.name}")
    con.execute(f"ALTER TABLE {pending} RENAME TO {spec.name}")


def _register_scale_registry(con: duckdb.DuckDBPyConnection) -> None:
    registry = yaml.safe_load(SCALE_REGISTRY.read_text())["versions"]
    con.execute("CREATE OR REPLACE TEMP TABLE _scale_versions (star_version VARCHAR, scale_min DOUBLE, scale_max DOUBLE)")
    con.execute("CREATE OR REPLACE TEMP TABLE _scale_areas (star_version VARCHAR, area VARCHAR)")
    for version, spec in registry.items():
        con.execute("INSERT INTO _scale_versions VALUES (?, ?, ?)", [version, spec["scale_min"], spec["scale_max"]])
        con.executemany("INSERT INTO _scale_areas VALUES (?, ?)", [[version, a] for a in spec["areas"]])


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()[0] > 0


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
