"""The five pages from a full run on synthetic data: nav, privacy, disclosure, escaping, missing or empty marts."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboards import commissioner, evaluator, funder
from dashboards.data_quality import NOT_PERSONAL
from models.disclosure import DisclosureRule
from dashboards.page import PAGES, render
from schemas.contract import contract
from schemas.raw import SOURCES
from tests.dashboards.conftest import SCRIPT

PAGE_FILES = [f for f, _ in PAGES]
TOKEN = re.compile(r"[A-Za-z0-9_]+")
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
# Columns of published CSVs that hold counts of people or events.
COUNT_COLUMNS = {"discharges", "readmissions", "observed", "members", "active_members", "trading_members", "two_way_members",
                 "exchanges", "n_paired", "n_improved", "n_matched", "n", "n_events", "n_start", "events", "n_readings",
                 "n_people", "rows_read", "rows_staged", "rows_quarantined", "beneficiary_members",
                 "n_treated_before", "n_comparison_before", "n_treated_after", "n_comparison_after", "participants",
                 "n_treated_outside_support", "n_comparison_removed", *(f"{group}_{value}" for group in ("participants", "comparison")
                                                                         for value in ("before", "after", "weighted_after"))}


def published(site: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(site.iterdir()) if p.suffix in (".html", ".csv")}


def test_every_page_is_written_and_linked(demo_run):
    site, _, _ = demo_run
    for name in PAGE_FILES:
        text = (site / name).read_text()
        for other in PAGE_FILES:
            assert f"href='{other}'" in text
        # offline: no script or style from another host (a bare "cdn" can occur inside plotly's base64 arrays)
        assert not re.search(r"""<(?:script|link)[^>]+(?:src|href)=['"]?(?:https?:)?//""", text)
        assert "<script src='plotly.min.js'>" in text


def test_no_identifier_raw_or_hashed_is_published(demo_run):
    site, warehouse, inputs = demo_run
    con = duckdb.connect(str(warehouse), read_only=True)
    identifiers: set[str] = set()
    for source in SOURCES:
        for column in [c.name for c in contract(source).columns if c.pseudonymise]:
            identifiers |= {str(v) for (v,) in con.execute(f"SELECT DISTINCT {column} FROM staging.{source}").fetchall()}
            with open(inputs / f"{source}.csv", newline="") as handle:
                identifiers |= {row[column] for row in csv.DictReader(handle) if row[column]}
    with open(inputs / "timebank_exchanges.csv", newline="") as handle:
        identifiers |= {row["exchange_id"] for row in csv.DictReader(handle)}
    file_hashes = {h for (h,) in con.execute("SELECT sha256 FROM meta.input_files UNION SELECT config_sha256 FROM meta.runs").fetchall()}
    con.close()
    assert len(identifiers) > 3000  # raw and hashed ids of people, accounts, spells, offences, exchanges
    for name, text in published(site).items():
        assert not identifiers & set(TOKEN.findall(text)), name
        assert set(HEX64.findall(text)) <= file_hashes, name  # the only 64-hex strings are file and config hashes
    assert file_hashes & set(HEX64.findall((site / "evaluator.html").read_text()))  # provenance shows them


def test_every_published_count_passes_disclosure_control(demo_run):
    site, _, _ = demo_run
    checked = 0
    for path in sorted(site.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "source" in frame.columns:  # organisations' records (grants) are counted exactly on every page
            frame = frame[~frame["source"].isin(NOT_PERSONAL)]
        for column in COUNT_COLUMNS & set(frame.columns):
            for value in frame[column]:
                if value not in ("", "*"):
                    assert float(value) % 5 == 0, (path.name, column, value)
                    checked += 1
    assert checked > 200


def test_untrusted_text_is_escaped_and_csv_neutralised(demo_run):
    site, _, _ = demo_run
    page = (site / "funder.html").read_text()
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    grants = (site / "funder-grant-metrics.csv").read_text()
    assert "'=HYPERLINK" in grants and ",=HYPERLINK" not in grants


def test_rates_on_suppressed_counts_are_hidden(demo_run):
    site, _, _ = demo_run
    funnel = pd.read_csv(site / "commissioner-funnel-timebank.csv", dtype=str, keep_default_na=False)
    small = funnel[(funnel["observed"] == "*") | (funnel["discharges"] == "*")]
    assert not small.empty and (small["ratio"] == "*").all()


def test_pages_cope_with_empty_marts(empty_warehouse, tmp_path):
    rule = DisclosureRule()
    pages = [commissioner.build_page(empty_warehouse, rule), funder.build_page(empty_warehouse, rule),
             evaluator.build_page(empty_warehouse, "run-x", rule)]
    for page in pages:
        text = render(page, tmp_path).read_text()
        assert "no data:" in text and "Traceback" not in text
    evaluator_text = (tmp_path / "evaluator.html").read_text()
    assert "no data: marts.comparison_balance has no rows" in evaluator_text
    assert "no data: marts.propensity_overlap has no rows" in evaluator_text
    assert "no data: marts.grant_metrics has no rows" in (tmp_path / "funder.html").read_text()


@pytest.mark.parametrize("table", ["marts.readmission_rates", "marts.timebank_activity", "marts.wellbeing_change"])
def test_commissioner_page_copes_with_a_missing_mart(demo_run, tmp_path, table):
    _, warehouse, _ = demo_run
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(Path(warehouse).read_bytes())
    con = duckdb.connect(str(copy))
    con.execute(f"DROP TABLE {table}")
    text = render(commissioner.build_page(con, DisclosureRule()), tmp_path / "site").read_text()
    assert f"not available yet: {table} has not been built" in text


def test_evaluator_shows_balance_and_overlap_of_every_comparison(demo_run):
    site, warehouse, _ = demo_run
    page = (site / "evaluator.html").read_text()
    assert "chart-balance-before-and-after-matching" in page and "chart-propensity-overlap" in page
    assert "Propensity overlap: not available yet" not in page
    con = duckdb.connect(str(warehouse), read_only=True)
    results = {r for (r,) in con.execute("SELECT DISTINCT result FROM marts.comparison_balance").fetchall()}
    mart = con.execute("SELECT result, covariate, smd_after, n_treated_after, n_comparison_after, smallest_cell_after "
                       "FROM marts.comparison_balance").df()
    con.close()
    assert {"readmission: any", "readmission: timebank", "readmission: programme"} <= results
    assert any(r.startswith("reoffending: ") for r in results) and any(r.startswith("wellbeing: ") for r in results)
    balance = pd.read_csv(site / "evaluator-balance-covariates.csv", dtype=str, keep_default_na=False)
    assert set(balance["result"]) == results and len(balance) == len(mart)
    rule = DisclosureRule()
    merged = balance.merge(mart, on=["result", "covariate"], suffixes=("", "_mart"))
    small = merged["n_treated_after_mart"].map(rule.hides) | merged["n_comparison_after_mart"].map(rule.hides)
    assert small.any() and (merged.loc[small, "smd_after"] == "*").all()  # an SMD on a suppressed group is hidden
    small |= merged["smallest_cell_after"].map(rule.hides)  # or on a level held (or not) by 1-7 people
    shown = merged[~small]
    assert len(shown) and all(abs(float(a) - round(b, 3)) < 1e-9 for a, b in zip(shown["smd_after"], shown["smd_after_mart"]))
    overlap = pd.read_csv(site / "evaluator-propensity-overlap.csv", dtype=str, keep_default_na=False)
    assert set(overlap["result"]) == results and (overlap["participants_before"] == "*").any()
    support = pd.read_csv(site / "evaluator-common-support.csv", dtype=str, keep_default_na=False)
    assert set(support["result"]) == results


@pytest.mark.parametrize("name, terms", [("commissioner.html", "COMMISSIONER"), ("evaluator.html", "EVALUATOR")])
def test_each_page_explains_its_words_and_only_words_it_uses(demo_run, name, terms):
    """The glossary closes the page, and each term it explains (one of its comma-separated names) is used above it."""
    from dashboards import glossary
    from tests.dashboards.page_text import page_text

    site, _, _ = demo_run
    text = page_text(site / name)
    body, _, glossed = " ".join(text["text"]).lower().rpartition("words used on this page")
    assert glossed, "no glossary"
    words = " ".join([body, *text["charts"], *text["variants"]]).lower()
    unused = [term for term, _ in getattr(glossary, terms)
              if not any(re.sub(r"\s*\(.*\)", "", part).strip().lower() in words for part in re.split(r",| and ", term))]
    assert unused == []


@pytest.mark.parametrize("fixture", ["demo_run", "hardening_run"])
def test_a_sources_counts_agree_on_every_page(fixture, request):
    """Grants were "30 read, 30 staged, * quarantined" in the evaluator's input files, "29 staged, 1 quarantined" on the
    data-quality page, "type, amount, *" in its rules table beside the one example it shows, and 29 on the funder page:
    one source, counted exactly (not people's records) on every page and in every CSV."""
    from dashboards.data_quality import source_words

    site, _, _ = request.getfixturevalue(fixture)
    columns = ["rows_read", "rows_staged", "rows_quarantined"]
    files = pd.read_csv(site / "evaluator-input-files.csv", dtype=str, keep_default_na=False)
    sources = pd.read_csv(site / "data-quality-sources.csv", dtype=str, keep_default_na=False).set_index("source")
    rules = (pd.read_csv(site / "data-quality-rules.csv", dtype=str, keep_default_na=False)
             if (site / "data-quality-rules.csv").exists() else pd.DataFrame(columns=["source", "rows"]))
    for source in NOT_PERSONAL:
        mine = files[files["source"] == source]
        assert not mine.empty, source
        for column in columns:
            assert sum(int(v) for v in mine[column]) == int(sources.loc[source, column]), (source, column)
        assert sum(int(v) for v in rules[rules["source"] == source]["rows"]) == int(sources.loc[source, "rows_quarantined"])
    for source, mine in files.groupby("source"):  # a source in one file: the same published counts on both pages
        if len(mine) == 1:
            assert mine[columns].iloc[0].tolist() == sources.loc[source, columns].tolist(), source
    grants = pd.read_csv(site / "funder-grant-metrics.csv", dtype=str, keep_default_na=False)
    assert grants["grant_id"].nunique() == int(sources.loc["grants", "rows_staged"])
    shown = {name: _table_rows((site / name).read_text(encoding="utf-8")) for name in ("evaluator.html", "data-quality.html")}
    for source in NOT_PERSONAL:  # the pages' tables show what their CSVs hold
        # the input files table starts at the source: the run, one for every file, is said above it
        assert [r[-3:] for r in shown["evaluator.html"] if r[:1] == [source]] == files[files["source"] == source][columns].values.tolist()
        # the sources table names each source in words with its file (the CSV keeps the name)
        assert ([r[2:5] for r in shown["data-quality.html"] if r[:1] == [source_words(source)] and len(r) == 6]
                == [sources.loc[source, columns].tolist()])
        assert ([r[3] for r in shown["data-quality.html"] if r[:1] == [source] and len(r) == 4]
                == rules[rules["source"] == source]["rows"].tolist())


def _table_rows(page: str) -> list[list[str]]:
    """Every table row of a page as its cells' text (thousands separators dropped)."""
    return [[re.sub(r"<[^>]+>", "", c).replace(",", "") for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)]


def test_the_data_quality_chart_is_drawn_in_the_pages_palette(hardening_run):
    """Every chart's colours are the darkened Okabe-Ito palette (docs/dashboards.md); the data-quality page's bars were
    plotly express's own default blue, #636efa."""
    from dashboards import data_quality
    from dashboards.page import PALETTE

    _, warehouse, _ = hardening_run  # its input breaks rules; the demo run's does not
    with duckdb.connect(str(warehouse), read_only=True) as con:
        run_id = con.execute("SELECT run_id FROM meta.input_files LIMIT 1").fetchone()[0]
        page = data_quality.build_page(con, run_id, DisclosureRule())
    colours = {t.marker.color for s in page.sections if s.figure is not None for t in s.figure.data}
    assert colours and colours <= set(PALETTE), colours



def test_a_one_row_per_key_rule_reads_as_a_sentence(tmp_path):
    """The data-quality page's expected form of a duplicate row read "Person ID+Star version+area+Assessed on once" (ingest's
    "person_id+star_version+area+assessed_on once" put into words). It is a sentence, on the page and in the CSV."""
    from dashboards.data_quality import expected_words, examples
    from dashboards.page import Page, Section

    assert expected_words("star_readings", "person_id+star_version+area+assessed_on once") == \
        "one reading per person, Star version, area and date"
    assert expected_words("hospital_spells", "spell_id once") == "one record per spell ID"
    assert expected_words("programme_enrolments", "one record per person_id+programme_id+started_on") == \
        "one enrolment per person, programme and start date"
    assert expected_words("persons", "on or before 2026-12-05") == "on or before 2026-12-05"
    con = duckdb.connect()
    con.execute("CREATE SCHEMA quarantine")
    for source in SOURCES:
        con.execute(f"CREATE TABLE quarantine.{source} (source VARCHAR, rule VARCHAR, \"column\" VARCHAR, "
                    "source_file VARCHAR, source_line BIGINT, expected VARCHAR, value VARCHAR)")
    con.executemany("INSERT INTO quarantine.star_readings VALUES ('star_readings', 'duplicate_row', 'person_id', "
                    "'/in/star_readings.csv', ?, 'person_id+star_version+area+assessed_on once', 'P1')",
                    [(10 + i,) for i in range(9)])
    rule = DisclosureRule()
    table = rule.no_counts(examples(con, rule), "examples", "examples")
    html = render(Page("data-quality.html", "Data quality", "Intro.", [Section("Examples", "S.", table=table,
                                                                               csv_name="examples.csv")]), tmp_path)
    text = html.read_text()
    assert "one reading per person, Star version, area and date" in text and "+" not in text.split("<main")[1].split("<script")[0]
    assert set(pd.read_csv(tmp_path / "examples.csv")["expected"]) == {"one reading per person, Star version, area and date"}


def test_the_sensitivity_title_promises_only_what_the_rule_moves(demo_run):
    """The demo's index rule does not use alpha (its allocations are the same at every alpha), so the section's title
    names the index weights only: it read 'Sensitivity of the allocation to alpha and the index weights'."""
    site, _, _ = demo_run
    page = (site / "funder.html").read_text()
    assert "Sensitivity of the allocation to the index weights" in page and "to alpha and the index weights" not in page


def test_a_balance_result_that_is_not_drawn_is_named(demo_run):
    """The covariate-balance summary said '1 result is not drawn' without saying which; it names it."""
    site, _, _ = demo_run
    said = re.findall(r"(\d+) results? (?:is|are) not drawn \(([^)]+)\): every group", (site / "evaluator.html").read_text())
    assert said and all(int(n) == len(names.split(", ")) for n, names in said), said


def test_the_commissioners_verdicts_say_the_balance_the_evaluators_table_gives(demo_run):
    """A verdict's "balanced" (commissioner-verdicts.csv, and its line on the page) is the evaluator's balance table's
    for the same matched result: the commissioner page said nothing of balance while the evaluator's said none of the
    three had reached it."""
    site, _, _ = demo_run
    said = pd.read_csv(site / "commissioner-verdicts.csv", dtype=str, keep_default_na=False).set_index("source")
    table = pd.read_csv(site / "evaluator-balance.csv", dtype=str, keep_default_na=False).set_index("result")
    page = (site / "commissioner.html").read_text(encoding="utf-8")
    results = {"marts.readmission_effects (comparison any)": "readmission: any",
               "marts.reoffending_effects (any participation, binary rate)": "reoffending: any_participation"}
    checked = 0
    for source, row in said.iterrows():
        star = re.fullmatch(r"marts\.wellbeing_effects \((\w+), mean of areas\)", source)
        result = results.get(source) or (star and f"well-being: {star.group(1)} / mean_of_areas")
        if result and row["participants_value"]:  # a published verdict
            assert row["balanced"] == table.loc[result, "balanced"] and row["balanced"] in ("yes (≤ 0.1)", "no (> 0.1)")
            checked += 1
    assert checked and page.count("<p>Balance: after matching, the two groups ") == checked
    if "href='evaluator.html#balance-after-matching'" in page:  # the table it names, linked
        assert "<section id='balance-after-matching'" in (site / "evaluator.html").read_text(encoding="utf-8")
