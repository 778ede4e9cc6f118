"""The five pages of a full run in Debian's chromium: no console error, every chart drawn, filters work, screenshots.

Playwright drives /usr/bin/chromium through ``executable_path`` (no browser download). The
screenshots are written to build/screenshots/<page>.png.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
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


def open_page(browser, path: Path, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    charts = page.locator("div.chart")
    for i in range(charts.count()):
        charts.nth(i).locator(".main-svg").first.wait_for(state="attached", timeout=20_000)
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
        "star": page.evaluate(CHART_DATA, "chart-distance-travelled-recovery-star"),
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
    page.evaluate(f"document.getElementById('{chart}').closest('details').open = true")
    page.wait_for_timeout(300)
    figure = page.locator(f"#{chart}")
    figure.locator("g.updatemenu-header").first.click()
    figure.locator("g.updatemenu-dropdown-button").nth(1).click()
    page.wait_for_function(f"() => document.getElementById('{chart}').layout.title.text !== {first_title!r}")
    after = page.evaluate(visible)
    assert after != before and sum(after) == sum(before)  # another result's traces, as many of them
    page.close()
    assert errors == []


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


@pytest.mark.browser
def test_every_tile_summary_table_and_csv_agree_for_every_filter_state(demo_run, browser):
    """One number, one source: the hours tile, the activity summary, the table under the chart and the CSV (filtered the
    same way) give the same hours for every time bank x year; the readmission tile for an area is the CSV's row."""
    site, _, _ = demo_run
    csv = pd.read_csv(site / "commissioner-activity-by-quarter.csv", dtype=str, keep_default_na=False)
    by_area = pd.read_csv(site / "commissioner-readmission-by-area.csv", dtype=str, keep_default_na=False)
    page, errors = open_page(browser, site / "commissioner.html")
    banks = page.eval_on_selector("#filter-timebank", "s => Array.from(s.options).map(o => o.value)")
    years = page.eval_on_selector("#filter-year", "s => Array.from(s.options).map(o => o.value)")
    states = 0
    for bank in banks:
        page.select_option("#filter-timebank", bank)
        for year in years:
            page.select_option("#filter-year", year)
            rows = csv[(csv["hours_exchanged"] != "*") & ((csv["timebank_id"] == bank) | (bank == "all"))
                       & (csv["period_label"].str.startswith(year) | (year == "all"))]
            expected = round(sum(float(v) for v in rows["hours_exchanged"]))
            tile = page.inner_text("#tile-hours .value")
            summary = page.inner_text("#summary-time-bank-activity-by-quarter")
            shown = page.eval_on_selector_all(
                "#table-time-bank-activity-by-quarter-body tr",
                "rows => rows.map(r => r.cells[6].textContent).filter(t => t !== '*')")
            table_total = round(sum(_number(t) for t in shown))
            if expected == 0:
                assert tile == "–" and summary.startswith("No hours exchanged"), (bank, year)
            else:
                assert _number(tile) == expected == table_total, (bank, year, tile, table_total)
                assert summary.startswith(f"{expected:,} hours exchanged"), (bank, year, summary)
            states += 1
    page.select_option("#filter-timebank", "all")
    page.select_option("#filter-year", "all")
    areas = page.eval_on_selector("#filter-area", "s => Array.from(s.options).map(o => o.value).slice(1)")
    for area in areas:
        page.select_option("#filter-area", area)
        row = by_area[by_area["area"].str.endswith(f"({area})")].iloc[0]
        tile = page.inner_text("#tile-readmission .value")
        assert tile == ("*" if row["rate_pct"] == "*" else f"{float(row['rate_pct']):.1f}%"), (area, tile, row["rate_pct"])
        states += 1
    verdicts = pd.read_csv(site / "commissioner-verdicts.csv", dtype=str, keep_default_na=False)
    listed = page.inner_text("#verdict-list")
    for row in verdicts.to_dict("records"):
        assert row["sentence"] in listed
        if row["difference"] not in ("", "*") and row["unit"] == "percentage points":
            assert f"{float(row['difference']):+.1f}" in row["sentence"]
    page.close()
    assert states > 20 and errors == []


@pytest.mark.browser
@pytest.mark.parametrize("name", [f for f, _ in PAGES])
def test_every_page_fits_a_390_px_phone_without_sideways_scroll(demo_run, browser, name):
    site, _, _ = demo_run
    page, errors = open_page(browser, site / name, width=390)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # legends sit under the plot, not over it
    overlaps = page.evaluate("""() => Array.from(document.querySelectorAll('div.chart .js-plotly-plot')).filter(gd => {
        const legend = gd.querySelector('g.legend'), size = gd._fullLayout && gd._fullLayout._size;
        if (!legend || !size || !legend.getBoundingClientRect().width) return false;
        const a = legend.getBoundingClientRect(), box = gd.getBoundingClientRect();
        const b = {left: box.left + size.l, right: box.left + size.l + size.w, top: box.top + size.t, bottom: box.top + size.t + size.h};
        return a.top < b.bottom - 1 && a.bottom > b.top + 1 && a.left < b.right - 1 && a.right > b.left + 1;
    }).map(gd => gd.id)""")
    assert overlaps == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name.replace(".html", "-390.png")))
    page.close()
    assert errors == []


@pytest.mark.browser
@pytest.mark.parametrize("name", [f for f, _ in PAGES])
def test_axe_finds_no_serious_or_critical_violation(demo_run, browser, name):
    """axe-core (the copy shipped inside axe-playwright-python; nothing downloaded), WCAG 2.2 A and AA rules."""
    from axe_playwright_python.sync_playwright import Axe

    site, _, _ = demo_run
    page, errors = open_page(browser, site / name)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                                             "wcag22aa"]}})
    bad = [(v["id"], v["impact"], len(v["nodes"])) for v in results.response["violations"]
           if v["impact"] in ("serious", "critical")]
    page.close()
    assert bad == []


@pytest.mark.browser
def test_filters_work_from_the_keyboard(demo_run, browser):
    site, _, _ = demo_run
    page, errors = open_page(browser, site / "commissioner.html")
    before = page.inner_text("#summary-time-bank-activity-by-quarter")
    page.focus("#filter-timebank")
    page.keyboard.press("ArrowDown")  # a focused select changes value with the arrow keys
    after = page.inner_text("#summary-time-bank-activity-by-quarter")
    assert page.eval_on_selector("#filter-timebank", "s => s.selectedIndex") == 1 and after != before
    page.close()
    assert errors == []
