"""The evaluator's table of the reoffending measures beside the binary rate (frequency, days to first reoffence, the
matched hazard ratio): each of the run's comparisons that Holm's adjustment counts is on the page with its n, interval,
verdict and adjusted p-value, and no figure gives back a count of 1-7."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboards import evaluator_glance, headlines, multiplicity, subtraction, verdicts, wording
from dashboards.filters import make_filter
from dashboards.reoffending_sections import MEASURES, SHARES, jdl_section, measure_rows, measures_section
from models.disclosure import SUPPRESSED, DisclosureRule

RULE = DisclosureRule()
REOFFENDING = multiplicity.FAMILIES[1]


def _effects(days_reoffenders: tuple[int, int] = (30, 25), n: int = 100) -> pd.DataFrame:
    """One programme's four rows: 30 of 100 participants reoffended against 40 of the matched comparison."""
    base = {"programme": "any_participation", "n_matched": n, "estimable": True, "not_estimable_reason": None}
    rows = [
        {**base, "measure": "binary_rate", "participant_value": 0.30, "comparison_value": 0.40, "estimate": -0.10,
         "ci_low": -0.23, "ci_high": 0.03, "verdict": "inconclusive", "n_outcome_participants": n, "n_outcome_comparison": 80},
        {**base, "measure": "frequency", "participant_value": 0.61234, "comparison_value": 0.98765, "estimate": -0.37531,
         "ci_low": -0.70123, "ci_high": -0.04567, "verdict": "significant reduction", "n_outcome_participants": n,
         "n_outcome_comparison": 80},
        {**base, "measure": "days_to_first_reoffence", "participant_value": 151.6, "comparison_value": 120.2,
         "estimate": 31.4, "ci_low": -10.4, "ci_high": 73.2, "verdict": "inconclusive",
         "n_outcome_participants": days_reoffenders[0], "n_outcome_comparison": days_reoffenders[1]},
        {**base, "measure": "time_to_first_reoffence", "participant_value": 0.30, "comparison_value": 0.40,
         "estimate": 0.7012, "ci_low": 0.4521, "ci_high": 1.0876, "verdict": "inconclusive",
         "n_outcome_participants": n, "n_outcome_comparison": 80},
    ]
    return pd.DataFrame(rows)


def _register(effects: pd.DataFrame, holm: float = 0.2) -> pd.DataFrame:
    return pd.DataFrame({"outcome_family": "reoffending", "programme": effects["programme"], "outcome": effects["measure"],
                         "subgroup": None, "analysis_role": "exploratory", "p_value": 0.01, "p_value_holm": holm,
                         "n_comparisons": 45})


def _marked(effects: pd.DataFrame, holm: float = 0.2) -> pd.DataFrame:
    return multiplicity.mark(effects, REOFFENDING, _register(effects, holm))


def test_each_estimable_measure_is_listed_with_its_figures_as_in_the_mart():
    effects = _marked(_effects(), holm=0.01)
    table = measure_rows(effects, RULE).set_index("measure")
    assert list(table.index) == [MEASURES[m][0] for m in ("frequency", "days_to_first_reoffence", "time_to_first_reoffence")]
    assert (table["n_matched"] == 100).all() and (table["programme"] == "Any participation").all()
    frequency = table.loc[MEASURES["frequency"][0]]
    assert (frequency["participants_value"], frequency["comparison_value"]) == (0.61, 0.99)
    assert (frequency["estimate"], frequency["ci_low"], frequency["ci_high"]) == (-0.38, -0.7, -0.05)
    assert frequency["unit"] == "reoffences per person" and frequency["verdict"] == "significant reduction"
    days = table.loc[MEASURES["days_to_first_reoffence"][0]]
    assert [days[c] for c in ("participants_value", "comparison_value", "estimate", "ci_low", "ci_high")] == [152, 120, 31, -10, 73]
    hazard = table.loc[MEASURES["time_to_first_reoffence"][0]]
    assert (hazard["estimate"], hazard["ci_low"], hazard["ci_high"]) == (0.7, 0.45, 1.09)
    assert hazard["unit"] == "hazard ratio (below 1: later/fewer reoffences)" and pd.isna(hazard["participants_value"])
    assert (table["holm_p"] == 0.01).all() and (table["analysis_role"] == "exploratory").all()


def test_a_result_significant_alone_but_not_after_holm_reads_inconclusive_after_holm():
    table = measure_rows(_marked(_effects(), holm=0.2), RULE).set_index("measure")
    assert table.loc[MEASURES["frequency"][0], "verdict"] == "inconclusive after Holm"
    assert table.loc[MEASURES["frequency"][0], "holm_p"] == 0.2


def test_a_days_row_over_fewer_than_8_reoffenders_in_a_group_is_withheld():
    """The days mean is over the reoffenders alone: 30 participants but 7 distinct comparison people (matching with
    replacement reuses them) is a mean over 7 people. The binary rate, frequency and hazard ratio stay published."""
    for reoffenders in ((30, 7), (7, 30), (30, 1)):
        table = measure_rows(_marked(_effects(reoffenders)), RULE).set_index("measure")
        days = table.loc[MEASURES["days_to_first_reoffence"][0]]
        assert days["verdict"] == "not published", reoffenders
        assert all(days[c] == SUPPRESSED for c in ("participants_value", "comparison_value", "estimate", "ci_low",
                                                   "ci_high", "holm_p"))
        assert "fewer than 8 people reoffended" in days["note"] and days["n_matched"] == 100
        assert table.loc[MEASURES["frequency"][0], "estimate"] == -0.38
    published = measure_rows(_marked(_effects((8, 8))), RULE).set_index("measure")
    assert published.loc[MEASURES["days_to_first_reoffence"][0], "estimate"] == 31


def test_every_measure_of_a_programme_whose_rate_is_withheld_is_withheld():
    """Five of 100 participants reoffended: the rate is withheld (1-7 reoffenders), and so are the programme's other
    measures, which rest on the same matched sample (5 reoffenders × their frequency is a count of reoffences)."""
    effects = _effects().copy()
    effects.loc[effects["measure"] == "binary_rate", "participant_value"] = 0.05
    table = measure_rows(_marked(effects), RULE)
    assert (table["verdict"] == "not published").all() and (table["estimate"] == SUPPRESSED).all()
    small = _effects(n=6)
    assert (measure_rows(_marked(small), RULE)["n_matched"] == SUPPRESSED).all()


def test_a_programme_not_estimable_says_why_without_figures():
    effects = _effects().assign(estimable=False, estimate=float("nan"),
                                not_estimable_reason="not estimable: no non-participants")
    table = measure_rows(_marked(effects), RULE)
    assert (table["verdict"] == "not estimable").all() and (table["note"] == "no non-participants").all()
    assert table["estimate"].isna().all()


def test_the_section_publishes_a_checked_csv_and_leaves_no_comparison_unlisted():
    effects = _marked(_effects())
    section = measures_section(effects, RULE)
    assert section.csv_name == "evaluator-reoffending-measures.csv" and "disclosure" in section.table.attrs
    assert section.summary.startswith("3 comparisons of 1 programme label beside the proven reoffending rate")
    register = _register(_effects())
    assert evaluator_glance.unlisted(register) == (0, "") and evaluator_glance.unlisted_sentence(register) == ""


def test_the_demo_tables_figures_are_the_marts(demo_run):
    """On a full run the CSV lists every row of the mart beside the binary rate (each of the run's comparisons Holm's
    adjustment counts); a published figure is the mart's, rounded as published; a row not published is a programme whose
    proven reoffending rate "What you can and cannot say" withholds too, or a days mean over 1 to 7 reoffenders; and the
    results section names no comparison on no page."""
    import duckdb

    from dashboards.labels import words

    site, warehouse, _ = demo_run
    con = duckdb.connect(str(warehouse), read_only=True)
    mart = con.execute("SELECT * FROM marts.reoffending_effects WHERE measure <> 'binary_rate'").df()
    counted = con.execute("SELECT programme, outcome FROM marts.effect_register WHERE outcome_family = 'reoffending' AND "
                          "outcome <> 'binary_rate' AND p_value IS NOT NULL").df()
    con.close()
    csv = pd.read_csv(site / "evaluator-reoffending-measures.csv", dtype=str, keep_default_na=False)
    says = pd.read_csv(site / "evaluator-what-you-can-say.csv", dtype=str, keep_default_na=False).set_index("result")
    assert len(csv) == len(mart)
    named = {MEASURES[k][0]: k for k in MEASURES}
    listed = set(zip(csv["programme"], csv["measure"].map(named)))
    assert all((words(p), o) in listed for p, o in zip(counted["programme"], counted["outcome"]))
    for r in csv.to_dict("records"):
        key = named[r["measure"]]
        m = mart[(mart["measure"] == key) & (mart["programme"].map(words) == r["programme"])].iloc[0]
        if r["verdict"] == "not published":
            rate = says.loc[f"Proven reoffending: {r['programme']}", "verdict"]
            few = key == "days_to_first_reoffence" and min(m["n_outcome_participants"], m["n_outcome_comparison"]) <= 7
            assert (rate == "not published" or few) and r["estimate"] == "*", r
        elif r["verdict"] != "not estimable":
            for column in ("estimate", "ci_low", "ci_high"):
                assert float(r[column]) == round(float(m[column]), MEASURES[key][2]), (r, column)
    page = (site / "evaluator.html").read_text()
    assert "on no page" not in page and "id='reoffending-frequency-and-time-to-first-reoffence'" in page


@pytest.mark.browser
def test_the_table_passes_axe_on_a_phone_and_a_desktop(tmp_path):
    """axe-core (WCAG 2.2 A and AA, and best practices) on the section as the evaluator page renders it, opened."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    from dashboards.page import Page, render
    from tests.dashboards.test_browser import ARGS, open_page

    effects = _marked(pd.concat([_effects(), _effects((30, 5)).assign(programme="timebank:TB01")], ignore_index=True))
    path = render(Page("evaluator.html", "For evaluators", "Intro.", [measures_section(effects, RULE)]), tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        bad = []
        for width in (390, 1440):
            page, errors = open_page(browser, path, width)
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            assert "Time bank TB01" in page.inner_text("#table-reoffending-frequency-and-time-to-first-reoffence")
            for tags in (["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"], ["best-practice"]):
                found = Axe().run(page, options={"runOnly": {"type": "tag", "values": tags}}).response["violations"]
                bad += [(width, v["id"], v["impact"]) for v in found
                        if tags[0] == "best-practice" or v["impact"] in ("serious", "critical")]
            page.close()
            assert errors == []
        browser.close()
    assert bad == []


@pytest.mark.parametrize("kind, change", [
    (None, {}),
    ("group", {"n_matched": 6}),
    ("cells", {"participant_value": 0.05}),  # 5 of 100 participants reoffended
    ("subtraction", {subtraction.COLUMN: True}),
])
def test_every_page_path_withholds_a_programme_for_the_one_reason(kind, change):
    """The tile, the "for every 100" chart, the verdict list, the evaluator's statements and the measures table ask one
    function (:func:`dashboards.subtraction.withheld_reason`) whether a programme's binary-rate row is withheld, and
    say the same reason."""
    effects = _marked(_effects().assign(**{subtraction.COLUMN: False, "per_100_statement": "For every 100 ...",
                                           "max_abs_smd": 0.05, "covariates": "age"}).assign(**change))
    binary = effects[effects["measure"] == "binary_rate"].iloc[0]
    why = subtraction.withheld_reason(binary, RULE, SHARES, "reoffended")
    assert (why and why.kind) == kind
    rates = pd.DataFrame({"programme": ["any_participation", "no_participation"], "cohort_period": "all",
                          "event_type": "all", "reoffenders": [40, 300], "persons": [100, 1000], "status": "final"})
    tile = headlines.reoffending(rates, effects, RULE, "all", "all")
    chart = jdl_section(rates, effects, RULE, [make_filter("timebank", "Time bank", "All time banks", [])]).figure
    verdict = verdicts.reoffending_row(effects, RULE)
    said = wording.statements(None, effects, None, None, RULE).iloc[0]
    table = measure_rows(effects, RULE)
    if kind is None:
        assert tile.value == "30.0%" and verdict["participants_value"] == "30.0%"
        assert said["verdict"] == "inconclusive" and (table["verdict"] != "not published").all()
        assert "matched comparison group" in chart.layout.title.text
    else:
        assert tile.value != "30.0%" and "Matched" not in str(tile) and "crude" in chart.layout.title.text
        assert verdict["verdict"] == said["verdict"] == "not published"
        assert why.words in verdict["sentence"] and why.words.replace("reoffended", "had the outcome") in said["what you can say"]
        assert (table["verdict"] == "not published").all() and (table["note"] == why.words).all()
