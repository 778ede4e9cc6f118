"""Reconciliation, idempotent re-ingest, pseudonymisation, absent sources, formats and unreadable files."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pandas as pd
import pytest

from pipelines.ingest.pseudonymise import MissingKeyError, register_pseudonym_macro, resolve_key
from pipelines.ingest.readers import SourceFileError
from tests.conftest import KEY, append_rows, ingest_all

RAW_IDS = ["P001", "P002", "P003", "P004", "M001", "M002", "M003", "M004", "M005", "S001", "S002", "O001", "O002"]


def test_counts_reconcile_per_file(inputs, warehouse):
    append_rows(inputs / "timebank_exchanges.csv", "X009,TB01,M001,M002,99,2023-03-01,admin,exchange")
    ingest_all(warehouse, inputs)
    mismatches = warehouse.execute(
        "SELECT source FROM meta.input_files WHERE rows_read <> rows_staged + rows_quarantined"
    ).fetchall()
    assert mismatches == []
    assert warehouse.execute("SELECT sum(rows_read), sum(rows_quarantined) FROM meta.input_files").fetchone() == (36, 1)


def test_reingesting_the_same_files_adds_nothing(inputs, warehouse):
    ingest_all(warehouse, inputs, run_id="first")
    before = {t: warehouse.execute(f"SELECT count(*) FROM staging.{t}").fetchone()[0] for t in ("persons", "timebank_exchanges")}
    ingest_all(warehouse, inputs, run_id="second")
    after = {t: warehouse.execute(f"SELECT count(*) FROM staging.{t}").fetchone()[0] for t in ("persons", "timebank_exchanges")}
    assert before == after == {"persons": 4, "timebank_exchanges": 5}


def test_file_hashes_are_recorded(inputs, warehouse):
    ingest_all(warehouse, inputs)
    stored = warehouse.execute("SELECT sha256 FROM meta.input_files WHERE source = 'persons'").fetchone()[0]
    assert stored == hashlib.sha256((inputs / "persons.csv").read_bytes()).hexdigest()


def test_pseudonym_is_hmac_sha256(warehouse):
    register_pseudonym_macro(warehouse, KEY)
    got = warehouse.execute("SELECT pseudonym('P001')").fetchone()[0]
    assert got == hmac.new(KEY, b"P001", hashlib.sha256).hexdigest()


def test_no_raw_identifier_anywhere_in_the_warehouse(inputs, warehouse):
    append_rows(inputs / "hospital_spells.csv", "S009,P999,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,false")
    ingest_all(warehouse, inputs)
    columns = warehouse.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
    ).fetchall()
    assert len(columns) > 50
    raw = RAW_IDS + ["P999"]
    for schema, table, column in columns:
        hits = warehouse.execute(
            f'SELECT count(*) FROM {schema}.{table} WHERE regexp_matches("{column}", ?)', [r"\b(" + "|".join(raw) + r")\b"]
        ).fetchone()[0]
        assert hits == 0, f"raw identifier in {schema}.{table}.{column}"
    # The linked ids still join: a member's person is a staged person.
    assert warehouse.execute(
        "SELECT count(*) FROM staging.timebank_members m JOIN staging.persons p USING (person_id)"
    ).fetchone()[0] == 4


def test_key_is_required_outside_demo(monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="OUTCOMES_PSEUDONYM_KEY"):
        resolve_key(demo=False)
    assert resolve_key(demo=True)
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", "s3cret")
    assert resolve_key(demo=False) == b"s3cret"


def test_absent_sources_give_empty_tables(tmp_path, warehouse):
    empty = tmp_path / "nothing"
    empty.mkdir()
    reports = ingest_all(warehouse, empty)
    assert all(r.rows_read == 0 for r in reports.values())
    assert warehouse.execute("SELECT count(*) FROM staging.hospital_spells").fetchone()[0] == 0
    assert "admitted_on" in [r[0] for r in warehouse.execute("DESCRIBE staging.hospital_spells").fetchall()]
    assert warehouse.execute("SELECT count(*) FROM quarantine.offences").fetchone()[0] == 0


def test_references_are_skipped_and_said_when_the_source_is_absent(inputs, warehouse):
    (inputs / "persons.csv").unlink()
    report = ingest_all(warehouse, inputs)["hospital_spells"]
    assert report.rows_staged == 4
    assert report.unchecked_references == ["person_id -> persons.person_id (persons not supplied)"]


def test_missing_required_column_names_file_and_column(inputs, warehouse):
    (inputs / "offences.csv").write_text("offence_id,person_id,offence_date,offence_group,is_breach\nO1,P001,2023-01-01,theft,false\n")
    with pytest.raises(SourceFileError, match=r"offences.csv: line 1: required column\(s\) proven_on missing"):
        ingest_all(warehouse, inputs, sources=["persons", "offences"])


def test_empty_file_is_a_clear_error(inputs, warehouse):
    (inputs / "grants.csv").write_text("")
    with pytest.raises(SourceFileError, match="grants.csv: the file is empty"):
        ingest_all(warehouse, inputs, sources=["grants"])


def test_header_names_are_normalised_and_delimiter_detected(inputs, warehouse):
    (inputs / "grants.csv").write_text(" Grant ID ;FUNDER;Timebank-ID;amount;period_start;period_end\nG1;Fund;TB01;100;2023-01-01;2023-12-31\n")
    report = ingest_all(warehouse, inputs, sources=["grants"])["grants"]
    assert (report.rows_read, report.rows_staged) == (1, 1)


def test_folder_parquet_and_xlsx_sources(inputs, warehouse):
    folder = inputs / "grants"
    folder.mkdir()
    pd.DataFrame({"grant_id": ["G010"], "funder": ["F"], "timebank_id": ["TB01"], "amount": [10.0],
                  "period_start": pd.to_datetime(["2023-01-01"]).date, "period_end": pd.to_datetime(["2023-06-30"]).date}
                 ).to_parquet(folder / "more.parquet")
    pd.DataFrame({"grant_id": ["G011"], "funder": ["F"], "timebank_id": ["TB02"], "amount": [20],
                  "period_start": pd.to_datetime(["2023-01-01"]), "period_end": pd.to_datetime(["2023-06-30"])}
                 ).to_excel(inputs / "grants_2024.xlsx", index=False)
    report = ingest_all(warehouse, inputs, sources=["grants"])["grants"]
    assert (report.rows_read, report.rows_staged, len(report.files)) == (4, 4, 3)
    assert sorted(r[0] for r in warehouse.execute("SELECT grant_id FROM staging.grants").fetchall()) == ["G001", "G002", "G010", "G011"]


def test_wide_star_readings_are_unpivoted(inputs, warehouse):
    (inputs / "star_readings_wide.csv").write_text(
        "person_id,star_version,assessed_on,lifestyle,money,feeling_positive\nP002,wellbeing_star,2023-05-01,3,2,6\n"
    )
    report = ingest_all(warehouse, inputs)["star_readings"]
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (7, 6, 1)
    assert warehouse.execute("SELECT source_line, \"column\", rule FROM quarantine.star_readings").fetchone() == (2, "score", "within_scale")


def test_a_failed_ingest_leaves_the_previous_tables_whole(inputs, warehouse):
    ingest_all(warehouse, inputs, sources=["grants"])
    (inputs / "grants.csv").write_text("grant_id,funder\nG1,F\n")
    with pytest.raises(SourceFileError):
        ingest_all(warehouse, inputs, sources=["grants"])
    assert warehouse.execute("SELECT count(*) FROM staging.grants").fetchone()[0] == 2


def test_warehouse_file_is_real_duckdb(tmp_path, inputs):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    ingest_all(con, inputs, sources=["persons"])
    con.close()
    with duckdb.connect(str(path), read_only=True) as again:
        assert again.execute("SELECT count(*) FROM staging.persons").fetchone()[0] == 4


def _working_tables(con) -> list:
    return con.execute("SELECT table_name FROM information_schema.tables WHERE table_name LIKE '\\_pending\\_%' ESCAPE '\\'").fetchall()


def test_staging_from_the_flag_pass_keeps_only_valid_rows_and_the_published_columns(inputs, warehouse):
    append_rows(inputs / "timebank_exchanges.csv", "X009,TB01,M001,M002,99,2023-03-01,admin,exchange",
                "X001,TB01,M001,M002,2,2023-01-10,befriending,exchange")
    reports = ingest_all(warehouse, inputs)
    columns = [c for (c,) in warehouse.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'timebank_exchanges' "
        "ORDER BY ordinal_position").fetchall()]
    assert columns == ["exchange_id", "timebank_id", "giver_id", "receiver_id", "hours", "exchanged_on", "category", "kind",
                       "source_file", "source_line", "run_id"]
    report = reports["timebank_exchanges"]
    assert report.rows_read == report.rows_staged + report.rows_quarantined and report.rows_quarantined >= 1
    assert warehouse.execute("SELECT count(*) FROM staging.timebank_exchanges WHERE exchange_id = 'X009'").fetchone()[0] == 0
    assert _working_tables(warehouse) == []


def test_a_failure_after_the_flag_pass_leaves_no_working_table(inputs, warehouse, monkeypatch):
    import pipelines.ingest.stage as stage

    ingest_all(warehouse, inputs, sources=["persons"])
    def broken(con, spec):
        raise RuntimeError("disk full")
    monkeypatch.setattr(stage, "_reference_rules", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_all(warehouse, inputs, sources=["persons"])
    assert _working_tables(warehouse) == []
    assert warehouse.execute("SELECT count(*) FROM staging.persons").fetchone()[0] == 4


def test_scan_counts_lines_across_blocks_and_names_a_non_utf8_line_in_a_later_block(tmp_path):
    """The byte scan reads 1 MiB blocks: a blank line split by a block edge still moves the rows after it
    down a line, and the first line that is not UTF-8 is named by its number even in a later block (and the
    file is read as Windows-1252)."""
    from pipelines.ingest.readers import _BLOCK, _scan, load

    row = b"G001,Community Fund\n"
    rows = _BLOCK // len(row)
    split = tmp_path / "split.csv"
    head = b"grant_id,funder\n" + row * rows
    split.write_bytes(head + b"x" * (_BLOCK - len(head) - 1) + b"\n\nG002,Trust")  # "\n" | "\n" across the edge
    assert _scan(split).lines == rows + 4 and _scan(split).encoding == "utf-8"  # the last line has no line break
    con = duckdb.connect()
    load(con, split, "t")
    assert con.execute("SELECT _line FROM t WHERE grant_id = 'G002'").fetchone()[0] == rows + 4  # after x..x and the blank
    plain = tmp_path / "plain.csv"
    plain.write_bytes(head)
    assert _scan(plain).lines == rows + 1
    load(con, plain, "p")
    assert con.execute("SELECT max(_line), count(*) FROM p").fetchone() == (rows + 1, rows)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(head + "G003,Fonds Région\n".encode("cp1252"))
    scanned = _scan(latin)
    assert scanned.encoding == "cp1252" and scanned.note.startswith(f"line {rows + 2} is not UTF-8")
    assert scanned.sha256 == hashlib.sha256(latin.read_bytes()).hexdigest()


def test_scan_checks_an_ascii_block_that_follows_a_character_cut_by_the_block_edge(tmp_path):
    """ASCII blocks are not decoded, unless a character is pending from the block before: a character split
    by the block edge is UTF-8; its first byte followed by ASCII is not (and the line is named)."""
    from pipelines.ingest.readers import _BLOCK, _scan

    head = b"grant_id,funder\nG001,"
    pad = b"x" * (_BLOCK - len(head) - 1)  # the block ends one byte into the next character
    split = tmp_path / "split.csv"
    split.write_bytes(head + pad + "é".encode() + b"\n" + b"G002,Trust\n" * (_BLOCK // 11 + 2))
    assert _scan(split).encoding == "utf-8"
    cut = tmp_path / "cut.csv"
    cut.write_bytes(head + pad + "é".encode()[:1] + b"\n" + b"G002,Trust\n" * (_BLOCK // 11 + 2))
    scanned = _scan(cut)
    assert scanned.encoding == "cp1252" and scanned.note.startswith("line 2 is not UTF-8")


def test_a_file_found_not_utf8_after_its_first_lines_is_read_again_with_nothing_left_from_the_first_read(tmp_path):
    """DuckDB starts reading while the bytes are scanned; a Windows-1252 letter far into the file (past what the
    header check reads) makes that read reject its line. The file is read again from a UTF-8 copy, and the
    first read's rejected line is not carried over: every row is read, none is malformed."""
    from pipelines.ingest.readers import load

    rows = [f"G{i:05d},Trust {i}" for i in range(5000)] + ["G99999,Fonds Région"]
    path = tmp_path / "grants.csv"
    path.write_bytes(("grant_id,funder\n" + "\n".join(rows) + "\n").encode("cp1252"))
    con = duckdb.connect()
    loaded = load(con, path, "g")
    assert (loaded.rows, loaded.malformed, loaded.encoding) == (5001, 0, "cp1252")
    assert loaded.notes[0].startswith("line 5002 is not UTF-8")
    assert con.execute("SELECT funder, _line FROM g WHERE grant_id = 'G99999'").fetchall() == [("Fonds Région", 5002)]
