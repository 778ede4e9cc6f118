"""The bad-input corpus (tests/hardening/corpus.py): every case ends in quarantine with its reason or a clear error, nothing is lost, and unrelated sources still ingest."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import duckdb
import pytest

from tests.conftest import FIXTURES
from tests.hardening.corpus import CASES, Case, bystander, run_case, valid_rows


def test_the_corpus_covers_the_issue():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    groups = Counter(c.group for c in CASES)
    for group in ("encoding", "delimiter", "quoting", "header", "columns", "dates", "size", "hours", "scores", "future",
                  "duplicates", "orphans", "order", "injection"):
        assert groups[group] >= 1, group
    assert sum(1 for c in CASES if c.error) >= 8 and sum(1 for c in CASES if c.quarantined) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(FIXTURES / "valid", folder)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        outcome = run_case(case, folder, con)

        # Unrelated sources still run, whole.
        other = bystander(case.source)
        assert outcome.reports[other].rows_staged == valid_rows(other)
        assert set(outcome.errors) <= {case.source}

        # Nothing lost: per source and per file, rows read = staged + quarantined, counted in the warehouse.
        for source, report in outcome.reports.items():
            staged = con.execute(f"SELECT count(*) FROM staging.{source}").fetchall()[0][0]
            quarantined = con.execute(f"SELECT count(*) FROM quarantine.{source}").fetchall()[0][0]
            assert (report.rows_staged, report.rows_quarantined) == (staged, quarantined), source
            assert report.rows_read == staged + quarantined, source
        assert con.execute("SELECT count(*) FROM meta.input_files WHERE rows_read <> rows_staged + rows_quarantined").fetchall() == [(0,)]

        if case.error:
            rule, line, column = case.error
            err = outcome.errors.get(case.source)
            assert err is not None, f"{case.id}: expected a SourceFileError ({rule}), got {outcome.reports.get(case.source)}"
            assert (err.rule, err.line, err.column) == (rule, line, column), str(err)
            message = str(err)
            assert err.path.name in message and f"[rule: {rule}]" in message
            if line:
                assert f"line {line}" in message
            if column:
                assert column in message
            return

        assert case.source not in outcome.errors, str(outcome.errors.get(case.source))
        report = outcome.reports[case.source]
        assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (case.read, case.staged, len(case.quarantined))
        rows = con.execute(
            f'SELECT source_file, source_line, "column", rule, expected, violations, record FROM quarantine.{case.source}'
        ).fetchall()
        assert [(r[1], r[2], r[3]) for r in rows] == list(case.quarantined)
        for source_file, _, _, rule, expected, violations, _ in rows:
            assert source_file.startswith(str(folder))  # the file is named
            assert expected, "the expected form is always said"
            assert json.loads(violations)[0]["rule"] == rule
        for check in case.then:
            check(con, report)
    finally:
        con.close()
