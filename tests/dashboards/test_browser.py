"""The five pages of a full run in Debian's chromium: no console error, every chart drawn, filters work, screenshots.

Playwright drives /usr/bin/chromium through ``executable_path`` (no browser download). The
screenshots are written to build/screenshots/<page>.png.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dashboards.page import PAGES

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
# Ids of every chart with neither a trace nor a "no data" note, and of charts whose SVG holds no trace.
UNDRAWN = """() => Array.from(document.querySelectorAll('div.chart .js-plotly-plot')).filter(gd =>
    !((gd.data.length && gd.querySelectorAll('g.trace').length) || (gd.layout.annotations || []).length)).map(gd => gd.id)"""
DRAWN = "() => Array.from(document.querySelectorAll('div.chart .js-plotly-plot')).filter(gd => gd.data.length).length"
CHART_DATA = "id => JSON.stringify(document.getElementById(id).data.map(t => [t.x, t.y, t.r, t.marker && t.marker.color]))"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS, headless=True)
        yield chromium
        chromium.close()


def open_page(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    charts = page.locator("div.chart")
    for i in range(charts.count()):
        charts.nth(i).locator(".main-svg").first.wait_for(timeout=20_000)
    return page, errors


@pytest.mark.browser
@pytest.mark.parametrize("name", [f for f, _ in PAGES])
def test_page_renders_every_chart_without_console_errors(demo_run, browser, name):
    site, _, _ = demo_run
    page, errors = open_page(browser, site / name)
    assert page.evaluate(UNDRAWN) == []
    minimum = {"index.html": 0, "data-quality.html": 0, "commissioner.html": 8, "funder.html": 4, "evaluator.html": 4}[name]
    assert page.evaluate(DRAWN) >= minimum
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name.replace(".html", ".png")), full_page=True)
    page.close()
    assert errors == []


def _state(page) -> dict[str, str]:
    return {
        "active": page.inner_text("#tile-active"),
        "readmission": page.inner_text("#tile-readmission"),
        "activity summary": page.inner_text("#summary-time-bank-activity-by-quarter"),
        "activity chart": page.evaluate(CHART_DATA, "chart-time-bank-activity-by-quarter"),
        "quarter summary": page.inner_text("#summary-readmission-rate-by-quarter"),
        "area chart": page.evaluate(CHART_DATA, "chart-readmission-rate-by-area-of-residence"),
        "star": page.evaluate(CHART_DATA, "chart-star-chart-recovery-star-first-and-latest-reading"),
    }


@pytest.mark.browser
def test_commissioner_filters_change_what_is_shown(demo_run, browser):
    site, _, _ = demo_run
    page, errors = open_page(browser, site / "commissioner.html")
    before = _state(page)
    bank = page.eval_on_selector("#filter-timebank", "s => s.options[1].value")
    page.select_option("#filter-timebank", bank)
    after_bank = _state(page)
    assert bank in after_bank["activity summary"]
    for key in ("active", "activity summary", "activity chart", "star"):
        assert after_bank[key] != before[key], key
    assert after_bank["quarter summary"] == before["quarter summary"]  # not broken down by time bank
    page.select_option("#filter-timebank", "all")
    assert _state(page) == before  # back to where it started
    year = page.eval_on_selector("#filter-year", "s => s.options[2].value")
    page.select_option("#filter-year", year)
    assert year in page.inner_text("#summary-readmission-rate-by-quarter")
    page.select_option("#filter-year", "all")
    area = page.eval_on_selector("#filter-area", "s => s.options[1].value")
    page.select_option("#filter-area", area)
    after_area = _state(page)
    assert after_area["readmission"] != before["readmission"] and after_area["area chart"] != before["area chart"]
    page.screenshot(path=str(SHOTS / "commissioner-filtered.png"), full_page=True)
    page.close()
    assert errors == []


@pytest.mark.browser
@pytest.mark.parametrize("chart", ["chart-balance-before-and-after-matching", "chart-propensity-overlap"])
def test_evaluator_diagnostics_drop_down_switches_result(demo_run, browser, chart):
    site, _, _ = demo_run
    page, errors = open_page(browser, site / "evaluator.html")
    visible = f"() => document.getElementById('{chart}').data.map(t => t.visible)"
    title = f"() => document.getElementById('{chart}').layout.title.text"
    before, first_title = page.evaluate(visible), page.evaluate(title)
    figure = page.locator(f"#{chart}")
    figure.locator("g.updatemenu-header").first.click()
    figure.locator("g.updatemenu-dropdown-button").nth(1).click()
    page.wait_for_function(f"() => document.getElementById('{chart}').layout.title.text !== {first_title!r}")
    after = page.evaluate(visible)
    assert after != before and sum(after) == sum(before)  # another result's traces, as many of them
    page.close()
    assert errors == []
