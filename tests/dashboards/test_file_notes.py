"""Ingest's notes on how each file was read reach the data-quality page, their counts of rows through the rule.

Before, a note such as "timebank_members linked to no person" (a TimeOverflow members report has no person id) was in
the terminal and in meta.input_files only: the time bank vanished from the outcome comparisons with no word on a page.
"""

import duckdb
import pandas as pd

from dashboards import data_quality
from models.disclosure import DisclosureRule

RULE = DisclosureRule()
UNLINKED = ("read with mapping timeoverflow_members, which gives no person_id: its members are linked to no person, so "
            "they count in the time-bank measures (reciprocity) but not as participants")


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA meta")
    con.execute("CREATE TABLE meta.input_files (run_id VARCHAR, source VARCHAR, source_file VARCHAR, notes VARCHAR)")
    con.executemany("INSERT INTO meta.input_files VALUES ('r', ?, ?, ?)", [
        ("hospital_spells", "/in/hes/hes_apc_2023.txt",
         "read with mapping hes_apc_episodes: 433 input row(s) became 1,302 (grouped by person, procode, admidate; rows "
         "quarantined before it count once each); 3 malformed line(s) quarantined"),
        ("timebank_members", "/in/Members_2024-05-01.csv", UNLINKED),
        ("persons", "/in/persons.csv", None),
    ])
    return con


def test_notes_are_listed_with_their_counts_of_rows_published():
    notes = data_quality.file_notes(_warehouse(), "r", RULE)
    assert notes["file"].tolist() == ["hes_apc_2023.txt", "Members_2024-05-01.csv"]  # the files with a note only
    assert notes["notes"].iloc[0] == ("read with mapping hes_apc_episodes: 435 input row(s) became 1300 (grouped by "
                                      "person, procode, admidate; rows quarantined before it count once each); "
                                      "* malformed line(s) quarantined")
    assert notes["notes"].iloc[1] == UNLINKED
    assert notes.attrs["disclosure"]["count_columns"] == []


def test_the_data_quality_page_says_how_the_files_were_read():
    con = _warehouse()
    con.execute("ALTER TABLE meta.input_files ADD COLUMN rows_read BIGINT DEFAULT 0")
    con.execute("ALTER TABLE meta.input_files ADD COLUMN rows_staged BIGINT DEFAULT 0")
    con.execute("ALTER TABLE meta.input_files ADD COLUMN rows_quarantined BIGINT DEFAULT 0")
    con.execute("CREATE SCHEMA quarantine")
    for source in data_quality.SOURCES:
        con.execute(f"CREATE TABLE quarantine.{source} (source VARCHAR, rule VARCHAR, \"column\" VARCHAR, "
                    "source_file VARCHAR, source_line BIGINT, expected VARCHAR, value VARCHAR)")
    page = data_quality.build_page(con, "r", RULE)
    (section,) = [s for s in page.sections if s.title == "How the files were read"]
    assert "2 of the files" in section.summary and UNLINKED in section.table["notes"].tolist()
    con.execute("UPDATE meta.input_files SET notes = NULL")
    assert "How the files were read" not in [s.title for s in data_quality.build_page(con, "r", RULE).sections]


def test_the_presets_names_read_as_their_publishers_write_them():
    from dashboards.labels import words

    assert words("read with mapping hes_apc_episodes: 435 input row(s)") == "read with mapping HES APC Episodes: 435 input row(s)"
    assert words("timeoverflow_members") == "TimeOverflow Members"



def test_the_evaluators_input_files_say_how_each_was_read():
    """Encoding, delimiter and mapping (with its SHA-256) of each input file, beside its own hash: what a rerun needs."""
    from dashboards import provenance

    con = duckdb.connect()
    con.execute("CREATE SCHEMA meta")
    con.execute("CREATE TABLE meta.runs AS SELECT 'r' AS run_id, TIMESTAMP '2026-12-05 10:00' AS recorded_at, "
                "'abc' AS code_version, 'f00' AS config_sha256, DATE '2026-12-01' AS as_of, false AS demo, 1 AS files, "
                "500 AS rows_read, 500 AS rows_staged, 0 AS rows_quarantined, '{}' AS config")
    con.execute("CREATE TABLE meta.input_files AS SELECT 'r' AS run_id, 'hospital_spells' AS source, "
                "'/in/hes_apc.txt' AS source_file, 'e3b0' AS sha256, 1000 AS bytes, 500 AS rows_read, 500 AS rows_staged, "
                "0 AS rows_quarantined, 'utf-8' AS encoding, '|' AS delimiter, 'hes_apc_episodes' AS mapping, "
                "'9f86' AS mapping_sha256, NULL AS notes")
    (files,) = [s for s in provenance.sections(con, ["r"], RULE) if s.title == "Input files and their hashes"]
    row = files.table.iloc[0]
    assert (row["encoding"], row["delimiter"], row["mapping"], row["mapping_sha256"]) == ("utf-8", "|", "hes_apc_episodes", "9f86")
    assert {"encoding", "delimiter", "mapping", "mapping_sha256"} <= set(files.code_columns)
    assert files.shown_columns == ("source", "file", "sha256", "bytes", "mapping", "mapping_sha256", "rows_read",
                                   "rows_staged", "rows_quarantined")  # the rest said once, above the table
    assert "Every file was read by run r, as utf-8, with '|' between fields." in files.summary


def test_the_input_files_table_says_once_what_every_file_shares():
    """The input files table scrolled sideways at 1440 px, four of its columns one value down every row (the run id,
    utf-8, ',' and no mapping): they are said once above it, and the CSV keeps them. A column that differs, or a
    mapping, stays in the table."""
    from dashboards.provenance import said_once

    files = pd.DataFrame({"run_id": ["r1", "r1"], "source": ["persons", "grants"], "encoding": ["utf-8", "utf-8"],
                          "delimiter": [",", ","], "mapping": [None, None], "mapping_sha256": [None, None]})
    same, sentence = said_once(files)
    assert same == ["run_id", "encoding", "delimiter", "mapping", "mapping_sha256"]
    assert sentence == ("Every file was read by run r1, as utf-8, with ',' between fields, through no mapping (each "
                        "file in the contract's own form). The CSV repeats this on each row.")
    mixed = files.assign(encoding=["utf-8", "cp1252"], delimiter=["\t", "\t"], mapping=["hes_apc_episodes", None],
                         mapping_sha256=["9f86", None])
    assert said_once(mixed) == (["run_id", "delimiter"], "Every file was read by run r1, with a tab between fields. "
                                                         "The CSV repeats this on each row.")
