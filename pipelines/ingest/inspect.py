"""Help write a mapping for an extract: ``python -m pipelines.ingest.inspect EXTRACT``.

* ``python -m pipelines.ingest.inspect EXTRACT [--source S]`` reads the extract's header
  and values and prints a draft mapping (YAML) for the source: the shipped presets the
  header fits, then each contract column with the most similar header (normalised names
  compared by ``difflib`` ratio, 0.6 or more; a header a shipped preset reads into that
  column wins), the date format that reads the most sampled values, and for a coded column
  (one with a list of allowed values) the extract's most frequent values, already mapped
  when they are a contract value (case aside) and left ``null`` for you to choose otherwise
  (a draft with a ``null`` is refused on load: nothing defaults). Without ``--source`` the
  source of a preset the header fits is taken, else the source whose columns it fits best.
* ``--dry-run MAPPING [--param name=value ...]`` reads the extract through a mapping (a
  preset name or a file) into a throwaway in-memory warehouse and prints how many rows
  would be staged and quarantined, then each quarantined row as the ingest records it: file,
  line, column, rule, expected form and value (the first ``SHOWN_PER_RULE`` of each rule and
  column, then how many more), and likewise each value it would clear (an optional covariate's
  bad value: the row is staged without it). The warehouse file is never opened.

Identifiers are pseudonymised with a random key in the dry run, so nothing it prints can be
linked back; no value of an identifier column is ever printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import itertools
import secrets
import sys
import tempfile
from pathlib import Path

import duckdb
import yaml

from pipelines.ingest.readers import SourceFileError, load
from pipelines.ingest.stage import ingest_source
from schemas.contract import contract
from schemas.mapping import MappingError, MappingUse, load_mapping, missing_columns, presets
from schemas.raw import SOURCES
from schemas.sql import quote

SIMILAR = 0.6
TOP_VALUES = 12
SHOWN_PER_RULE = 3
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y", "%d-%m-%Y",
                "%Y%m%d", "%m/%d/%Y")


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def known_headers(source: str) -> dict[str, tuple[str, str]]:
    """Headers the shipped presets read straight into a contract column: header -> (column, preset)."""
    out = {}
    for name in presets():
        m = load_mapping(name)
        if m.spec.source != source:
            continue
        for column, expr in m.spec.output.items():
            if isinstance(expr, str) and expr in {**m.spec.columns, **m.spec.optional_columns}:
                for header in m.headers(expr):
                    out.setdefault(header, (column, name))
    return out


def best_header(column: str, headers: list[str], known: dict[str, tuple[str, str]] | None = None) -> tuple[str | None, float]:
    """The header a shipped preset reads into ``column``, else the most similar one, with its similarity."""
    for h in headers:
        if (known or {}).get(h, ("",))[0] == column:
            return h, 1.0
    scored = sorted(((_similar(column, h), h) for h in headers), reverse=True)
    if not scored or scored[0][0] < SIMILAR:
        return None, scored[0][0] if scored else 0.0
    return scored[0][1], scored[0][0]


def guess_source(headers: list[str]) -> str:
    """The source of a shipped preset the headers fit, else the one whose columns they fit best (mean best similarity)."""
    for name in presets():
        m = load_mapping(name)
        if not missing_columns(m, headers):
            return m.spec.source
    def fit(source: str) -> float:
        cols = contract(source).column_names
        return sum(max((_similar(c, h) for h in headers), default=0) for c in cols) / len(cols)
    return max(SOURCES, key=fit)


def date_format(con: duckdb.DuckDBPyConnection, table: str, header: str) -> tuple[str, int, int] | None:
    """The format that reads the most non-empty sampled values of ``header``: (format, read, sampled)."""
    values = [v for (v,) in con.execute(
        f'SELECT DISTINCT trim("{header}") FROM {table} WHERE NULLIF(trim("{header}"), \'\') IS NOT NULL LIMIT 200').fetchall()]

    def reads(fmt: str) -> int:
        n = 0
        for v in values:
            try:
                dt.datetime.strptime(v, fmt)
                n += 1
            except ValueError:
                pass
        return n

    counts = [(reads(fmt), -i, fmt) for i, fmt in enumerate(DATE_FORMATS)]
    best = max(counts) if values else (0, 0, "")
    return (best[2], best[0], len(values)) if best[0] else None


def suggest(path: Path, source: str | None = None) -> str:
    """A draft mapping for ``path`` as YAML text, with comments saying how each line was found."""
    with duckdb.connect() as con:
        loaded = load(con, path, "_extract")
        headers = loaded.columns
        source = source or guess_source(headers)
        spec = contract(source)
        lines = [f"# Draft mapping for {path.name} -> {source} (python -m pipelines.ingest.inspect)",
                 f"# {loaded.rows} rows; header: {', '.join(headers)}"]
        fits = [p for p in presets() if (m := load_mapping(p)).spec.source == source and not missing_columns(m, headers)]
        lines.append(f"# Shipped presets this header fits: {', '.join(fits)}" if fits else
                     "# No shipped preset fits this header (data/mappings/).")
        lines += [f"source: {source}", f"description: {path.name}", "columns:"]
        output, known = [], known_headers(source)
        for rule in spec.columns:
            header, score = best_header(rule.name, headers, known)
            if header is None:
                note = "required: no similar header; write an expression" if not rule.nullable else "optional: no similar header"
                output.append(f"  # {rule.name}: ...   # {note}")
                continue
            how = f"as in preset {known[header][1]}" if header in known and known[header][0] == rule.name else f"similarity {score:.2f}"
            lines.append(f"  {rule.name}: {header}   # {how}")
            if rule.sql_type == "DATE" and (found := date_format(con, loaded.table, header)):
                fmt, read, sampled = found
                output.append(f"  {rule.name}: date({rule.name}, '{fmt}')   # reads {read} of {sampled} distinct values sampled")
            elif (allowed := next((c.statistics["allowed_values"] for c in rule.checks if c.name == "isin"), None)):
                output.append(f"  {rule.name}:\n    map: {rule.name}\n    values:   # most frequent values; choose for each null")
                for value, n in con.execute(
                        f'SELECT trim("{header}") AS v, count(*) FROM {loaded.table} WHERE NULLIF(trim("{header}"), \'\') IS NOT NULL '
                        f"GROUP BY v ORDER BY count(*) DESC, v LIMIT {TOP_VALUES}").fetchall():
                    target = value if value in allowed else (value.lower() if value.lower() in allowed else "null")
                    output.append(f"      {yaml.safe_dump(value).strip().removesuffix('...').strip()}: {target}   # {n} rows"
                                  + ("" if target != "null" else f"; one of {', '.join(allowed)}"))
            else:
                output.append(f"  {rule.name}: {rule.name}")
        return "\n".join(lines + ["output:"] + output) + "\n"


def dry_run(path: Path, use: str, params: dict[str, str], as_of: dt.date | None = None) -> dict:
    """Counts a mapping would give on ``path``: rows read, staged, quarantined, and by (rule, column)."""
    mapping = load_mapping(use, Path.cwd())
    source = mapping.spec.source
    with tempfile.TemporaryDirectory(prefix="outcomes-dry-run-") as tmp, duckdb.connect() as con:
        folder = Path(tmp) / source
        folder.mkdir()
        (folder / path.name).symlink_to(path.resolve())
        report = ingest_source(con, source, Path(tmp), run_id="dry-run", as_of=as_of or dt.date.today(),
                               key=secrets.token_bytes(32), mappings=[MappingUse(use=str(mapping.path), parameters=params)])
        by_rule = con.execute(f'SELECT rule, "column", count(*) FROM quarantine.{source} GROUP BY ALL ORDER BY 3 DESC, 1, 2').fetchall()
        problems = quarantined_rows(con, source, {str(folder / path.name): path})
        cleared = cleared_values(con, source, {str(folder / path.name): path})
    return {"source": source, "mapping": mapping.name, "sha256": mapping.sha256, "rows_read": report.rows_read,
            "rows_staged": report.rows_staged, "rows_quarantined": report.rows_quarantined, "by_rule": by_rule,
            "problems": problems, "values_cleared": report.cleared, "cleared": cleared,
            "unchecked_references": report.unchecked_references, "notes": report.notes}


def quarantined_rows(con: duckdb.DuckDBPyConnection, source: str, shown_as: dict[str, Path] | None = None) -> list[str]:
    """Each row of ``quarantine.<source>`` as the ingest records it (file, line, column, rule, expected form, value; a
    value the data-quality page masks, such as an identifier, is not repeated), the rule breaking the most rows
    first, and for each rule and column past ``SHOWN_PER_RULE`` rows how many more broke it. ``shown_as``: the name to
    print for a file read under another (the dry run's link to the extract)."""
    return _listed(con, source, f"quarantine.{source}", "", "row(s) breaking", shown_as)


def cleared_values(con: duckdb.DuckDBPyConnection, source: str, shown_as: dict[str, Path] | None = None) -> list[str]:
    """Each value of ``source`` that ingest cleared (``quarantine.cleared_values``: an optional covariate's bad value, its
    row staged without it), as :func:`quarantined_rows` lists rows, each saying it was cleared."""
    return _listed(con, source, f"(SELECT * FROM quarantine.cleared_values WHERE source = {quote(source)})",
                   " (value cleared, row staged)", "value(s) cleared for breaking", shown_as)


def _listed(con: duckdb.DuckDBPyConnection, source: str, table: str, said: str, more: str,
            shown_as: dict[str, Path] | None) -> list[str]:
    from pipelines.ingest.assets import _hidden

    rows = con.execute(
        f'SELECT rule, "column", count(*) OVER (PARTITION BY rule, "column") AS n, source_file, source_line, expected, '
        f'value FROM {table} '
        f'QUALIFY row_number() OVER (PARTITION BY rule, "column" ORDER BY source_file, source_line) <= {SHOWN_PER_RULE} '
        f'ORDER BY n DESC, rule, "column", source_file, source_line').fetchall()
    lines = []
    for (rule, column, n), shown in itertools.groupby(rows, key=lambda row: row[:3]):
        for *_, file, line, expected, value in shown:
            got = "" if value is None or _hidden(source, column, rule) else f", got {value!r}"
            lines.append(f"{(shown_as or {}).get(file, file)}, line {line}, column {column}: rule {rule}, "
                         f"expected {expected}{got}{said}")
        if n > SHOWN_PER_RULE:
            lines.append(f"... and {n - SHOWN_PER_RULE:,} more {more} rule {rule} on column {column}")
    return lines


def _print_dry_run(result: dict) -> None:
    print(f"{result['mapping']} (sha256 {result['sha256'][:12]}) -> {result['source']}")
    print(f"rows read {result['rows_read']}: staged {result['rows_staged']}, quarantined {result['rows_quarantined']}"
          + (f", values cleared {result['values_cleared']}" if result["values_cleared"] else ""))
    for problem in result["problems"] + result["cleared"]:
        print(f"  {problem}")
    for note in result["notes"]:
        print(f"  note: {note}")
    for ref in result["unchecked_references"]:
        print(f"  not checked: {ref}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Suggest a mapping for an extract, or dry-run one.")
    parser.add_argument("extract", type=Path)
    parser.add_argument("--source", choices=list(SOURCES), help="the contract source the extract feeds (default: best fit)")
    parser.add_argument("--dry-run", metavar="MAPPING", help="a preset name or mapping file to try on the extract")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a mapping parameter (repeatable)")
    args = parser.parse_args(argv)
    try:
        if args.dry_run:
            params = dict(p.split("=", 1) for p in args.param)
            _print_dry_run(dry_run(args.extract, args.dry_run, params))
        else:
            print(suggest(args.extract, args.source), end="")
    except (SourceFileError, MappingError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
