"""Property-based tests (hypothesis) over the contract: rows are never lost, valid rows always stage, pseudonyms behave."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import tempfile
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest.pseudonymise import register_pseudonym_macro
from pipelines.ingest.stage import ingest_source
from schemas.contract import contract
from schemas.sql import PARSE_MACROS
from tests.conftest import AS_OF, KEY

INGESTS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHEAP = settings(max_examples=100, deadline=None)

# Anything a cell might hold: delimiters, quotes, line breaks, accents, emoji, control characters.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
dates = st.dates(dt.date(1900, 1, 1), AS_OF)


@pytest.fixture(scope="module")
def macros():
    """One connection for the cheap properties (the parse and pseudonym macros)."""
    con = duckdb.connect()
    for macro in PARSE_MACROS:
        con.execute(macro)
    yield con
    con.close()


@contextmanager
def ingest(source: str, header: list[str], rows: list[list[str]], delimiter: str = ","):
    """Write ``rows`` as a properly quoted CSV, ingest it into a fresh warehouse file; yields (report, connection)."""
    with tempfile.TemporaryDirectory(prefix="prop-") as tmp:
        folder = Path(tmp)
        with open(folder / f"{source}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(header)
            writer.writerows(rows)
        with duckdb.connect(str(folder / "w.duckdb")) as con:
            yield ingest_source(con, source, folder, run_id="prop", as_of=AS_OF, key=KEY), con


@INGESTS
@given(st.lists(st.lists(any_text, min_size=6, max_size=6), min_size=1, max_size=12), st.sampled_from([",", ";", "\t"]))
def test_arbitrary_rows_are_staged_or_quarantined_never_lost(rows, delimiter):
    header = contract("grants").column_names
    with ingest("grants", header, rows, delimiter) as (report, con):
        staged = con.execute("SELECT count(*) FROM staging.grants").fetchone()[0]
        quarantined = con.execute("SELECT count(*) FROM quarantine.grants").fetchone()[0]
        assert report.rows_read == len(rows) == staged + quarantined
        reasons = con.execute("SELECT count(*) FROM quarantine.grants WHERE rule IS NULL OR expected IS NULL").fetchone()[0]
        assert reasons == 0


words = st.text(st.sampled_from("abcXYZ éü£-'\",;\n&<>=+@"), min_size=1, max_size=20).filter(lambda s: s.strip(" "))
amounts = st.floats(0, 1e9, allow_nan=False, allow_infinity=False)


@st.composite
def valid_grants(draw):
    n = draw(st.integers(1, 10))
    ids = draw(st.lists(st.from_regex(r"G[0-9]{1,6}", fullmatch=True), min_size=n, max_size=n, unique=True))
    rows = []
    for grant_id in ids:
        start = draw(dates)
        end = draw(st.dates(start, dt.date(2100, 1, 1)))
        uk = draw(st.booleans())
        fmt = (lambda d: d.strftime("%d/%m/%Y")) if uk else dt.date.isoformat
        rows.append([grant_id, draw(words), draw(st.sampled_from(["TB01", "TB02"])), repr(draw(amounts)), fmt(start), fmt(end)])
    return rows


@INGESTS
@given(valid_grants(), st.sampled_from([",", ";", "\t", "|"]))
def test_valid_rows_always_stage_with_their_values(rows, delimiter):
    with ingest("grants", contract("grants").column_names, rows, delimiter) as (report, con):
        assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (len(rows), len(rows), 0)
        got = {r[0]: r[1:] for r in con.execute("SELECT grant_id, funder, amount, period_start FROM staging.grants").fetchall()}
    for grant_id, funder, _, amount, start, _ in rows:
        parsed = dt.date.fromisoformat(start) if "-" in start else dt.datetime.strptime(start, "%d/%m/%Y").date()
        assert got[grant_id] == (funder.strip(" "), float(amount), parsed)


@INGESTS
@given(st.permutations(contract("persons").column_names),
       st.lists(st.sampled_from(["upper", "title", "pad", "space"]), min_size=len(contract("persons").column_names),
                max_size=len(contract("persons").column_names)))
def test_headers_match_in_any_order_case_and_spacing(order, styles):
    def style(name: str, how: str) -> str:
        return {"upper": name.upper(), "title": name.title(), "pad": f"  {name} ", "space": name.replace("_", " ")}[how]
    row = {"person_id": "P1", "birth_date": "1970-01-01", "sex": "male", "area_code": "E1", "imd_decile": "3",
           "died_on": ""}
    with ingest("persons", [style(c, s) for c, s in zip(order, styles)], [[row[c] for c in order]]) as (report, _):
        assert (report.rows_read, report.rows_staged) == (1, 1)


@CHEAP
@given(dates)
def test_iso_and_uk_dates_parse_to_the_same_day_and_two_digit_years_never_parse(macros, day):
    con = macros
    iso, uk, short = day.isoformat(), day.strftime("%d/%m/%Y"), day.strftime("%d/%m/%y")
    assert con.execute("SELECT parse_date(?), parse_date(?), parse_date(?)", [iso, uk, short]).fetchone() == (day, day, None)


def test_plain_iso_branch_of_the_date_parser_gives_what_the_general_branch_gives(macros):
    """parse_date reads YYYY-MM-DD through a cheaper first branch; on every such string (all 10,000
    month-day pairs 00-99 of five years, impossible days included) it equals the general ISO branch."""
    general = "try_cast(replace(split_part(replace(x, 'T', ' '), ' ', 1), '/', '-') AS DATE)"
    differ, parsed, total = macros.execute(
        f"SELECT count(*) FILTER (WHERE parse_date(x) IS DISTINCT FROM {general}), count(parse_date(x)), count(*) "
        "FROM (SELECT printf('%04d-%02d-%02d', y, m, d) AS x "
        "FROM unnest([1900, 2000, 2023, 2024, 9999]) years(y), range(100) mm(m), range(100) dd(d))"
    ).fetchone()
    assert (differ, total) == (0, 5 * 100 * 100)
    assert parsed == 3 * 365 + 2 * 366  # real days only: 1900 is not a leap year, 2000 and 2024 are


@CHEAP
@given(st.lists(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40), min_size=1, max_size=20, unique=True),
       st.binary(min_size=1, max_size=100))
def test_pseudonyms_are_deterministic_keyed_and_never_the_raw_id(macros, raw_ids, other_key):
    con = macros
    register_pseudonym_macro(con, KEY)
    first = [con.execute("SELECT pseudonym(?)", [r]).fetchone()[0] for r in raw_ids]
    again = [con.execute("SELECT pseudonym(?)", [r]).fetchone()[0] for r in raw_ids]
    assert first == again
    assert first == [hmac.new(KEY, r.encode(), hashlib.sha256).hexdigest() for r in raw_ids]
    assert len(set(first)) == len(raw_ids)
    assert not set(first) & set(raw_ids)
    if other_key != KEY:
        register_pseudonym_macro(con, other_key)
        assert not {con.execute("SELECT pseudonym(?)", [r]).fetchone()[0] for r in raw_ids} & set(first)
