"""Find a source's input files and load each into DuckDB as text, with its line numbers.

Every value is read as VARCHAR so that a bad value is kept and reported, not lost in a
type conversion. Header names are normalised (case, surrounding spaces, inner spaces and
hyphens) before they are matched against the contract.

Text files are read the way council and NHS extracts actually arrive (docs/reliability.md):
- encoding: UTF-8 (with or without a byte-order mark) is read as is; UTF-16 (a BOM, or
  the NUL pattern of one without) and files that are not valid UTF-8 (read as
  Windows-1252, or Latin-1 when a byte is undefined there, with a note naming the first
  line that is not UTF-8) are transcoded to UTF-8 first;
- delimiter: ``,``, ``;``, tab or ``|``, whichever splits the header line into the most
  fields; fields may be quoted and hold line breaks;
- a line that does not fit the header (too few or too many fields, an unclosed quote, a
  line over ``MAX_LINE_BYTES``) is not a crash and not lost: it becomes a *malformed*
  row, quarantined with its rule (``field_count``, ``quoting``, ``line_too_long``);
- ``line`` is the row as a spreadsheet numbers it: the header is line 1, a record whose
  quoted field holds line breaks counts once, a blank line counts but holds no row.
A file that cannot be ingested at all (empty, no header, repeated columns, a format the
source does not accept) raises :class:`SourceFileError` naming file, line, column and rule.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import hashlib
import re
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from schemas.raw import XLSX_SOURCES

TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
SUFFIXES = TEXT_SUFFIXES | {".parquet", ".xlsx"}
# Spreadsheet formats a source cannot be read from: said, never silently skipped.
REFUSED_SUFFIXES = {".xlsx", ".xls", ".xlsm", ".ods"}
DELIMITERS = (",", ";", "\t", "|")
MAX_LINE_BYTES = 16 * 1024 * 1024
_BLOCK = 1 << 20
# DuckDB's reject error types -> (rule, expected form).
_MALFORMED_RULES = {
    "MISSING COLUMNS": "field_count",
    "TOO MANY COLUMNS": "field_count",
    "UNQUOTED VALUE": "quoting",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}


class SourceFileError(Exception):
    """A file that cannot be ingested at all: unreadable, no header, or missing a required column.

    The message names the file, the line (when there is one), the column(s) and the rule;
    the same facts are attributes for callers.
    """

    def __init__(self, path: Path | str, rule: str, message: str, *, line: int | None = None, column: str | None = None):
        self.path, self.rule, self.line, self.column = Path(path), rule, line, column
        where = f"{path}: line {line}" if line else str(path)
        super().__init__(f"{where}: {message} [rule: {rule}]")


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    table: str
    rows: int
    columns: list[str]
    sha256: str
    bytes: int
    encoding: str = "utf-8"
    delimiter: str | None = None
    malformed: int = 0
    notes: tuple[str, ...] = ()
    mapping: str | None = None
    mapping_sha256: str | None = None


def _candidates(input_dir: Path, source: str) -> list[Path]:
    """Files named for the source (``<source>.*``, ``<source>_*.*``) and every file under ``<source>/``."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        return []
    found = [p for p in input_dir.iterdir() if p.is_file() and (p.stem == source or p.stem.startswith(source + "_"))]
    folder = input_dir / source
    if folder.is_dir():
        found += [p for p in folder.rglob("*") if p.is_file()]
    return found


def _allowed(source: str) -> set[str]:
    return SUFFIXES if source in XLSX_SOURCES else SUFFIXES - {".xlsx"}


def discover(input_dir: Path, source: str) -> list[Path]:
    """The files of one source: ``<source>.<ext>``, ``<source>_*.<ext>`` or anything in ``<source>/``."""
    allowed = _allowed(source)
    return sorted(p for p in _candidates(input_dir, source) if p.suffix.lower() in allowed)


def refuse_unreadable_formats(input_dir: Path, source: str) -> None:
    """Raise :class:`SourceFileError` for a file of the source in a spreadsheet format it is not read from (e.g. ``hospital_spells.xlsx``), rather than skip it unseen."""
    allowed = _allowed(source)
    for p in sorted(_candidates(input_dir, source)):
        if p.suffix.lower() in REFUSED_SUFFIXES - allowed:
            accepted = ", ".join(sorted(s[1:].upper() for s in allowed))
            raise SourceFileError(p, "format", f"{p.suffix[1:].upper()} files are not read for {source}; save it as one of {accepted}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def normalise_header(name: str) -> str:
    """``' Person ID '`` -> ``person_id``."""
    return re.sub(r"[\s\-]+", "_", name.replace("\ufeff", "").strip().lower())


def load(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> LoadedFile:
    """Load one file into temp table ``<table>_in``, seen through view ``table``: ``_seq`` (0, 1, ... in file order), ``_line`` and one VARCHAR per header.

    Malformed lines of a text file are in temp table ``<table>_malformed`` (``line``,
    ``column``, ``rule``, ``expected``); ``rows`` counts them too.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise SourceFileError(path, "header", "the file is empty (no header line); expected a header naming the contract's columns")
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _load_text(con, path, table, size)
    with _unreadable_as(path):
        if suffix == ".parquet":
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_in AS SELECT * FROM read_parquet(?)", [str(path)])
            headers = [row[0] for row in con.execute(f"DESCRIBE {table}_in").fetchall()]
            first_line = 1
        else:
            headers, frame = _read_xlsx(path)
            first_line = 2
    names = _checked_names(path, headers)
    if suffix == ".xlsx":
        frame.columns = [f"c{i}" for i in range(len(names))]
        con.register(f"{table}_frame", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_in AS SELECT * FROM {table}_frame")
        con.unregister(f"{table}_frame")
        headers = list(frame.columns)
    select = ", ".join(f'CAST("{_ident(h)}" AS VARCHAR) AS "{_ident(n)}"' for h, n in zip(headers, names))
    # A view, not a copy. rowid follows the file's order: DuckDB preserves insertion order.
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT rowid AS _seq, rowid + {first_line} AS _line, {select} FROM {table}_in")
    rows = con.execute(f"SELECT count(*) FROM {table}_in").fetchall()[0][0]
    return LoadedFile(path, table, rows, names, file_sha256(path), size)


@contextmanager
def _unreadable_as(path: Path):
    """A Parquet or spreadsheet file its reader cannot read raises :class:`SourceFileError` (rule ``format``); a
    workbook that is not a zip archive (a password-protected one is an OLE file) too."""
    try:
        yield
    except (duckdb.Error, ValueError, OSError, KeyError, zipfile.BadZipFile) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SourceFileError(path, "format", f"cannot be read as {path.suffix[1:].upper()}: {first}") from err


def file_header(path: Path) -> list[str]:
    """The normalised column names of any input file, from its header alone, as :func:`load` would name them.

    A text file's header line (:func:`text_header`), a Parquet file's schema (its footer: no row is read),
    a workbook's first row. Raises :class:`SourceFileError` as :func:`load` would: an empty file, a file its
    reader cannot read (``format``), a repeated column.
    """
    path = Path(path)
    names = text_header(path)
    if names is not None:
        return names
    if path.stat().st_size == 0:
        raise SourceFileError(path, "header", "the file is empty (no header line); expected a header naming the contract's columns")
    with _unreadable_as(path):
        if path.suffix.lower() == ".parquet":
            with duckdb.connect() as con:
                headers = [row[0] for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
        else:
            headers = _xlsx_header(path)
    return _checked_names(path, headers)


def text_header(path: Path) -> list[str] | None:
    """The normalised column names of a text file's header line, without loading the file (None: not a text file).

    Read as :func:`load` reads it (byte-order mark or UTF-16, else UTF-8, else Windows-1252; the delimiter
    giving the most fields), so ``make run`` can refuse a file that lacks a required column before the run
    starts (``pipelines.preflight``). Raises :class:`SourceFileError` as :func:`load` would for an empty
    file, a blank first line or a repeated column.
    """
    path = Path(path)
    if path.suffix.lower() not in TEXT_SUFFIXES:
        return None
    if path.stat().st_size == 0:
        raise SourceFileError(path, "header", "the file is empty (no header line); expected a header naming the contract's columns")
    encoding = _head_encoding(path)
    with open(path, "rb") as handle:
        head = handle.read(MAX_LINE_BYTES)
    if encoding == "utf-8":
        first = re.split(rb"\r\n|\r|\n", head, maxsplit=1)[0]
        encoding = "utf-8" if _decodes_bytes(first, "utf-8") else "cp1252" if _decodes_bytes(first, "cp1252") else "latin-1"
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
    line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]  # the line ends ingest's readline() knows, CR alone too
    if not line.strip():
        raise SourceFileError(path, "header", "the first line is blank; expected a header naming the contract's columns", line=1)
    delimiter = max(DELIMITERS, key=lambda d: len(next(csv.reader([line], delimiter=d))))
    return _checked_names(path, next(csv.reader([line], delimiter=delimiter)))


def _decodes_bytes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _checked_names(path: Path, headers: list[str]) -> list[str]:
    names = [normalise_header(str(h)) or f"unnamed_{i + 1}" for i, h in enumerate(headers)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        spelled = "; ".join(
            f"{n} as " + ", ".join(f"'{h}' (field {i + 1})" for i, (h, m) in enumerate(zip(headers, names)) if m == n)
            for n in repeated
        )
        raise SourceFileError(path, "unique_columns", f"column(s) {', '.join(repeated)} appear more than once: {spelled}",
                              line=1, column=repeated[0])
    return names


@dataclass
class _Scan:
    sha256: str
    encoding: str
    note: str | None
    lines: int  # physical lines: line breaks, plus one for a last line without one


def _head_encoding(path: Path) -> str:
    """The encoding the first four bytes tell: a byte-order mark, the NUL pattern of UTF-16, else UTF-8."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) == 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    if len(head) == 4 and head[0] == 0 and head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    return "utf-8"


def _scan(path: Path) -> _Scan:
    """One pass over the bytes: the SHA-256, the encoding, and the number of lines.

    Runs beside DuckDB's read of the same file (:func:`_read_while_scanning`), on the same two
    cores, so what it spends slows the read: ASCII blocks are not decoded, and lines are counted
    (:func:`_load_text` compares the count with the records read) rather than searched for a
    blank one.
    """
    digest = hashlib.sha256()
    encoding = _head_encoding(path)
    decoder = codecs.getincrementaldecoder("utf-8")() if encoding.startswith("utf-8") else None
    note, lines, offset, last = None, 0, 0, b"\n"
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
            # A block of ASCII bytes is UTF-8 whenever no multi-byte character is pending from the block
            # before (the decoder's buffer is empty): skip decoding it, most of the scan's cost.
            if decoder is not None and not (block.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as err:
                    decoder, encoding, note = None, None, f"line {_line_at(path, offset + err.start)} is not UTF-8"
            lines += block.count(b"\n")
            last = block[-1:]
            offset += len(block)
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding, note = None, "the last line is not UTF-8"
    if encoding is None:
        encoding = "cp1252" if _decodes(path, "cp1252") else "latin-1"
        note = f"{note}: read as {'Windows-1252' if encoding == 'cp1252' else 'Latin-1'}; export as UTF-8 to be sure of accented letters"
    elif encoding.startswith("utf-16"):
        note = "UTF-16 text, transcoded to UTF-8"
    return _Scan(digest.hexdigest(), encoding, note, lines + (last != b"\n"))


def _records(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """The records DuckDB read from the file into ``<table>_in`` or rejected (``<table>_rej``, one per line)."""
    return con.execute(f"SELECT (SELECT count(*) FROM {table}_in) + (SELECT count(DISTINCT line) FROM {table}_rej)").fetchone()[0]


def _line_at(path: Path, position: int) -> int:
    """The number of the line holding byte ``position`` (line breaks before it + 1)."""
    breaks = 0
    with open(path, "rb") as handle:
        while position > 0:
            block = handle.read(min(_BLOCK, position))
            if not block:
                break
            breaks += block.count(b"\n")
            position -= len(block)
    return breaks + 1


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(_BLOCK), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(path: Path, encoding: str, folder: Path) -> tuple[Path, bool]:
    """A UTF-8 copy of ``path`` in ``folder``, and whether it holds a blank line."""
    target = folder / (path.stem + ".utf8" + path.suffix)
    blank, tail = False, ""
    with open(path, encoding=encoding, newline="") as src, open(target, "w", encoding="utf-8", newline="") as out:
        for chunk in iter(lambda: src.read(_BLOCK), ""):
            out.write(chunk)
            window = tail + chunk
            blank = blank or "\n\n" in window or "\n\r\n" in window
            tail = chunk[-2:]
    return target, blank


def _header(path: Path, text_path: Path) -> tuple[str, list[str]]:
    """The delimiter (the candidate giving the most header fields) and the header names."""
    with open(text_path, encoding="utf-8-sig", newline="") as handle:
        line = handle.readline(MAX_LINE_BYTES).rstrip("\r\n")
    if not line.strip():
        raise SourceFileError(path, "header", "the first line is blank; expected a header naming the contract's columns", line=1)

    def fields(delimiter: str) -> list[str]:
        return next(csv.reader([line], delimiter=delimiter))

    delimiter = max(DELIMITERS, key=lambda d: len(fields(d)))  # ties keep the earlier candidate: "," first
    return delimiter, fields(delimiter)


def _blank_line_numbers(text_path: Path, delimiter: str) -> list[int]:
    """Line numbers (as DuckDB counts them: one per record or blank line) of the blank lines."""
    csv.field_size_limit(MAX_LINE_BYTES)
    out = []
    with open(text_path, encoding="utf-8-sig", newline="") as handle:
        for line, record in enumerate(csv.reader(handle, delimiter=delimiter), start=1):
            if not record:
                out.append(line)
    return out


def _read_delimited(con: duckdb.DuckDBPyConnection, path: Path, text_path: Path, table: str) -> tuple[str, list[str]]:
    """Read the UTF-8 text ``text_path`` (of ``path``) into ``<table>_in``, every field as text; its delimiter and column names."""
    delimiter, headers = _header(path, text_path)
    names = _checked_names(path, headers)
    columns = {f"c{i}": "VARCHAR" for i in range(len(names))}
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_in AS SELECT * FROM read_csv($path, auto_detect = false, header = true, "
            "delim = $delim, quote = '\"', escape = '\"', columns = $columns, ignore_errors = true, store_rejects = true, "
            f"rejects_table = '{table}_rej', rejects_scan = '{table}_scan', max_line_size = {MAX_LINE_BYTES})",
            {"path": str(text_path), "delim": delimiter, "columns": columns},
        )
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0]
        raise SourceFileError(path, "format", f"cannot be read as delimited text ({delimiter!r}-separated): {first}") from err
    return delimiter, names


def _read_while_scanning(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> tuple[_Scan, tuple[str, list[str]] | None]:
    """The file's :func:`_scan`, run in a thread while DuckDB reads the file as UTF-8 (nearly every file is).

    When the scan confirms UTF-8, the read's delimiter and names (or the :class:`SourceFileError` it
    raised, raised now); otherwise None, with the read's tables dropped: the caller reads the file
    again from a UTF-8 copy.
    """
    with ThreadPoolExecutor(1) as pool:
        scanning = pool.submit(_scan, path)
        read: tuple[str, list[str]] | SourceFileError | None = None
        if _head_encoding(path).startswith("utf-8"):
            try:
                read = _read_delimited(con, path, path, table)
            except SourceFileError as err:
                read = err
            except UnicodeDecodeError:  # the header line is not UTF-8: the scan says what it is
                read = None
        scan = scanning.result()
    if scan.encoding.startswith("utf-8"):
        if isinstance(read, SourceFileError):
            raise read
        return scan, read
    for suffix in ("_in", "_rej", "_scan"):  # DuckDB adds to a rejects table that exists: start the next read afresh
        con.execute(f"DROP TABLE IF EXISTS {table}{suffix}")
    return scan, None


def _load_text(con: duckdb.DuckDBPyConnection, path: Path, table: str, size: int) -> LoadedFile:
    scan, read = _read_while_scanning(con, path, table)
    notes = [scan.note] if scan.note else []
    with ExitStack() as stack:
        text_path, blank = path, None
        if not scan.encoding.startswith("utf-8"):
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="outcomes-ingest-")))
            text_path, blank = _transcode(path, scan.encoding, folder)
        delimiter, names = read or _read_delimited(con, path, text_path, table)
        records = _records(con, table)
        if blank is None:
            # DuckDB skips a blank line without a record and every record takes at least one line, so only a file
            # with more lines than its header and records can hold a blank one (or quoted line breaks: then
            # _blank_line_numbers reads it to find the blank lines, if any)
            blank = scan.lines != 1 + records
        gaps = _blank_line_numbers(text_path, delimiter) if blank else []
        _refuse_open_quote(con, table, path, text_path, names, records + len(gaps) + 1)
    _malformed_table(con, table, names)
    select = ", ".join(f'i.c{i} AS "{_ident(n)}"' for i, n in enumerate(names))
    skipped = con.execute(f"SELECT count(*) FROM {table}_malformed").fetchall()[0][0] + len(gaps)
    # rowid follows the file's order (DuckDB preserves insertion order).
    if not skipped:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT i.rowid AS _seq, i.rowid + 2 AS _line, {select} FROM {table}_in i")
    else:
        # Each skipped line (malformed or blank) before a row moves it down one: g = rows parsed before it.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_gaps AS WITH skipped AS ("
            f"SELECT line FROM {table}_malformed UNION SELECT unnest($gaps::BIGINT[])), "
            "numbered AS (SELECT line - 1 - row_number() OVER (ORDER BY line) AS g, row_number() OVER (ORDER BY line) AS n FROM skipped) "
            "SELECT g, max(n) AS n FROM numbered GROUP BY g",
            {"gaps": gaps},
        )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT i.k AS _seq, i.k + 2 + coalesce(s.n, 0) AS _line, {select} "
            f"FROM (SELECT rowid AS k, * FROM {table}_in) i ASOF LEFT JOIN {table}_gaps s ON i.k >= s.g"
        )
    parsed = con.execute(f"SELECT count(*) FROM {table}_in").fetchall()[0][0]
    malformed = con.execute(f"SELECT count(*) FROM {table}_malformed").fetchall()[0][0]
    if malformed:
        notes.append(f"{malformed} malformed line(s) quarantined")
    if not parsed + malformed:  # an export that wrote its header only: the run goes on, the source empty, said so
        notes.append("a header and no rows: nothing was read from this file")
    if delimiter != ",":
        notes.append(f"delimiter {delimiter!r}")
    encoding = "utf-8" if scan.encoding == "utf-8-sig" else scan.encoding
    return LoadedFile(path, table, parsed + malformed, names, scan.sha256, size, encoding, delimiter, malformed, tuple(notes))


def _refuse_open_quote(con: duckdb.DuckDBPyConnection, table: str, path: Path, text_path: Path, names: list[str], last_line: int) -> None:
    """A quote opened in the last record (``last_line``: header, records and blank lines) and never closed swallows
    every line after it: refuse the file rather than hide them."""
    found = con.execute(
        f"SELECT line, line_byte_position, column_name FROM {table}_rej WHERE error_type = 'UNQUOTED VALUE' "
        "ORDER BY line DESC LIMIT 1"
    ).fetchall()
    if not found or found[0][0] < last_line:
        return
    line, start, column = found[0]
    swallowed = 0
    with open(text_path, "rb") as handle:
        handle.seek(start)
        handle.readline()
        tail = b""
        for block in iter(lambda: handle.read(_BLOCK), b""):
            swallowed += block.count(b"\n")
            tail = block
    swallowed += bool(tail) and not tail.endswith(b"\n")
    if swallowed:
        name = names[int(column[1:])] if column else None
        raise SourceFileError(
            path, "quoting",
            f"a quote opened in column {name} is never closed, so the {swallowed} line(s) after it would be read as "
            "part of one field; close or remove the quote", line=line, column=name,
        )


def _malformed_table(con: duckdb.DuckDBPyConnection, table: str, names: list[str]) -> None:
    """One row per rejected line: its first problem as a rule and the expected form (never the raw text)."""
    rules = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _MALFORMED_RULES.items())
    fields = len(names)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table}_malformed AS "
        "SELECT line, $names[TRY_CAST(substr(arg_min(column_name, coalesce(column_idx, 0)), 2) AS INTEGER) + 1] AS \"column\", "
        f"CASE first(error_type ORDER BY coalesce(column_idx, 0)) {rules} ELSE 'malformed_line' END AS rule, "
        f"CASE first(error_type ORDER BY coalesce(column_idx, 0)) "
        f"WHEN 'MISSING COLUMNS' THEN '{fields} fields, as in the header; found ' || regexp_extract(first(error_message), 'Found: (\\d+)', 1) "
        f"WHEN 'TOO MANY COLUMNS' THEN '{fields} fields, as in the header; found more' "
        "WHEN 'UNQUOTED VALUE' THEN 'a quoted field closed by a quote before the next delimiter' "
        f"WHEN 'LINE SIZE OVER MAXIMUM' THEN 'a line of at most {MAX_LINE_BYTES} bytes' "
        "ELSE first(error_message) END AS expected "
        f"FROM {table}_rej GROUP BY line ORDER BY line",
        {"names": names},
    )
    con.execute(f"DROP TABLE IF EXISTS {table}_rej")
    con.execute(f"DROP TABLE IF EXISTS {table}_scan")


def with_rows(loaded: LoadedFile, table_rows: int, columns: list[str]) -> LoadedFile:
    """The same file seen through a reshaped view (wide readings unpivoted): new row count and columns."""
    return dataclasses.replace(loaded, rows=table_rows + loaded.malformed, columns=columns)


def _ident(name: str) -> str:
    return name.replace('"', '""')


def drop(con: duckdb.DuckDBPyConnection, loaded: LoadedFile) -> None:
    con.execute(f"DROP VIEW IF EXISTS {loaded.table}")
    for suffix in ("_in", "_long", "_malformed", "_gaps", "_mapped"):
        con.execute(f"DROP TABLE IF EXISTS {loaded.table}{suffix}")


def _read_xlsx(path: Path) -> tuple[list[str], pd.DataFrame]:
    """First sheet of a workbook as text; dates become ISO strings (openpyxl: no DuckDB extension needed)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    header = _header_row(rows[:1])

    def text(value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    body = [([text(v) for v in row] + [None] * len(header))[: len(header)] for row in rows[1:]]
    return header, pd.DataFrame(body, columns=range(len(header)), dtype=object)


def _xlsx_header(path: Path) -> list[str]:
    """The first sheet's first row, as :func:`_read_xlsx` reads it, without reading the other rows."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    first = list(book.worksheets[0].iter_rows(max_row=1, values_only=True))
    book.close()
    return _header_row(first)


def _header_row(rows: list[tuple]) -> list[str]:
    if not rows:
        raise ValueError("the first sheet is empty")
    return [str(h) if h is not None else "" for h in rows[0]]
