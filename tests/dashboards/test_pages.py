"""Pages from a real run: disclosure, no identifiers, escaped text, neutralised CSVs, and a real browser."""

from __future__ import annotations

import hashlib
import hmac
import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.assets.pages import page_assets
from pipelines.ingest.assets import ingest_assets
from pipelines.provenance_assets import run_record
from pipelines.resources import Settings, Warehouse
from tests.conftest import KEY, append_rows

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","y")'
RAW_IDS = ["P001", "P002", "P003", "P004", "M001", "M002", "M003", "M004", "M005", "S001", "O001"]


@pytest.fixture
def site(inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", KEY.decode())
    # four of each: a rule broken by 1-7 rows shows no example on the page (the number shown would give the count)
    append_rows(inputs / "service_contacts.csv", *[row for day in range(1, 5) for row in (
        f"P001,{SCRIPT},2023-01-0{day}", 'P002,"' + FORMULA.replace('"', '""') + f'",2023-01-0{day}')])
    append_rows(inputs / "hospital_spells.csv", "S009,P999,RXX01,2023-05-01,2023-05-05,emergency,home,general_medicine,false")
    config = tmp_path / "config.yaml"
    config.write_text("ingest:\n  max_quarantined_share: 0.8\n")  # 8 of 11 service contacts are bad
    out = tmp_path / "site"
    resources = {"warehouse": Warehouse(path=str(tmp_path / "w.duckdb")),
                 "settings": Settings(input_dir=str(inputs), output_dir=str(out), config_path=str(config), demo=False)}
    result = dg.materialize([*ingest_assets, run_record, *page_assets], resources=resources, raise_on_error=False)
    assert result.success
    return out


def published_text(site: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(site.iterdir()) if p.suffix in (".html", ".csv"))


def test_no_identifier_raw_or_hashed_is_published(site):
    text = published_text(site)
    hashed = [hmac.new(KEY, raw.encode(), hashlib.sha256).hexdigest() for raw in RAW_IDS + ["P999"]]
    for token in RAW_IDS + hashed:
        assert token not in text
    con = duckdb.connect(str(site.parent / "w.duckdb"), read_only=True)
    file_hashes = {h for (h,) in con.execute("SELECT sha256 FROM meta.input_files UNION SELECT config_sha256 FROM meta.runs").fetchall()}
    con.close()
    assert set(re.findall(r"\b[0-9a-f]{64}\b", text)) <= file_hashes  # only the evaluator's file and config hashes


def test_untrusted_text_is_escaped_and_csv_neutralised(site):
    html = (site / "data-quality.html").read_text()
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    csv = (site / "data-quality-examples.csv").read_text()
    assert "'=HYPERLINK" in csv and "\n=HYPERLINK" not in csv and ",=HYPERLINK" not in csv


def test_counts_pass_disclosure_control(site):
    csv = (site / "data-quality-sources.csv").read_text().splitlines()
    header = csv[0].split(",")
    persons = dict(zip(header, next(line for line in csv if line.startswith("persons,")).split(",")))
    assert persons["rows_read"] == "*" and persons["rows_quarantined"] == "0"


def test_pages_say_when_their_marts_are_missing(site):
    for page in ("commissioner.html", "funder.html", "evaluator.html"):
        assert "not available yet: marts." in (site / page).read_text()
    evaluator = (site / "evaluator.html").read_text()
    assert "not available yet: marts.comparison_balance has not been built" in evaluator
    assert "not available yet: marts.propensity_overlap has not been built" in evaluator


def test_pages_are_self_contained(site):
    for page in ("index.html", "data-quality.html", "commissioner.html", "funder.html", "evaluator.html"):
        html = (site / page).read_text()
        assert "cdn" not in html.lower() and "<script src='plotly.min.js'>" in html
    assert (site / "plotly.min.js").stat().st_size > 1_000_000


@pytest.mark.browser
def test_pages_render_in_chromium_without_console_errors(site):
    """Every page, on a run without models (marts missing); the demo-run pages are in test_browser.py."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    shots = ROOT / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        drawn = {}
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for name in ("index.html", "data-quality.html", "commissioner.html", "funder.html", "evaluator.html"):
            page.goto((site / name).as_uri())
            page.wait_for_load_state("load")
            charts = page.locator("div.chart")
            for i in range(charts.count()):
                charts.nth(i).locator(".main-svg").first.wait_for(timeout=15_000)
            page.screenshot(path=str(shots / name.replace(".html", "-no-models.png")), full_page=True)
            drawn[name] = page.locator("div.chart .main-svg").count()
        assert drawn["data-quality.html"] >= 1  # the data-quality bar chart drew
        browser.close()
    assert errors == []


def test_each_window_title_names_its_page_then_the_site_once(tmp_path):
    """The overview's window title read "Co-production Outcomes · Co-production Outcomes" (WCAG 2.2 2.4.2: a tab list or a
    screen reader gave the site's name twice, and not which page)."""
    from dashboards.page import Page, render

    for filename, title, want in (("index.html", "Co-production Outcomes", "Overview · Co-production Outcomes"),
                                  ("funder.html", "For funders", "For funders · Co-production Outcomes")):
        text = render(Page(filename, title, "intro"), tmp_path).read_text(encoding="utf-8")
        assert re.search(r"<title>(.*?)</title>", text).group(1) == want
