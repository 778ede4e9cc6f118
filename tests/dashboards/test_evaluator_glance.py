"""The evaluator's "At a glance": each line counts the published rows of the table it links to, withheld rows as
withheld, and a table the run did not publish gives no line."""

from __future__ import annotations

import pandas as pd

from dashboards import evaluator_glance as glance
from dashboards.diagnostics_sections import SUPPORT_TITLE
from dashboards.page import Section
from models.disclosure import DisclosureRule

RULE = DisclosureRule()


def _sections(says: pd.DataFrame | None = None) -> list[Section]:
    says = says if says is not None else pd.DataFrame({
        "verdict": ["significant reduction", "inconclusive", "not published", "slower reoffending", "£0.85 per £1"],
        "analysis role": ["Primary outcome (12 comparisons in this run).", "Exploratory result (12 comparisons ...",
                          "Exploratory result (12 comparisons ...", None, None]})
    return [Section(glance.RESULTS, "s", table=says),
            Section(glance.BALANCE, "s", table=pd.DataFrame({"balanced": ["yes (≤ 0.1)", "no (> 0.1)", "*"]})),
            Section(SUPPORT_TITLE, "s", table=pd.DataFrame({"participants": [310, 40, 100, "*"],
                                                            "share_treated_in_support": [1.0, 0.75, "*", "*"],
                                                            "n_treated_outside_support": [0, 10, "*", 0]})),
            Section(glance.PRETREND, "s", table=pd.DataFrame({"check": ["passed", "failed", "not run"]}))]


def test_each_line_counts_its_tables_published_rows():
    html = glance.section(_sections(), 12, None, RULE).html
    assert ">4 matched or modelled results</a>: 2 significant, 1 inconclusive, 1 not published, 0 not estimable. " \
           "1 primary outcome and 2 exploratory results, judged over the run&#x27;s 12 comparisons (Holm)." in html
    assert ">Balance after matching</a>: 1 of 2 published comparisons reached a largest |SMD| of 0.1 or less on every " \
           "covariate (1 withheld: 1 to 7 people); where it did not" in html
    assert (">Common support</a>: 1 of 3 published comparisons keep every participant; 1 leaves 1 to 7 participants "
            "outside it; 1 leaves more outside it (1 withheld: 1 to 7 people).") in html
    assert ">Pre-trend check</a>: 1 of 2 before/after results passed." in html
    assert html.count("<li>") == 4 and "href='#balance-after-matching'" in html


def test_a_table_not_published_gives_no_line_and_no_register_says_so():
    said = pd.DataFrame({"verdict": ["inconclusive"], "analysis role": ["Analysis role not available: ..."]})
    sections = [s for s in _sections(said) if s.title != glance.BALANCE]
    sections.append(Section(glance.BALANCE, "not available", html="<p class='empty'>Not available for this run.</p>"))
    html = glance.section(sections, None, None, RULE).html
    assert "Balance after matching" not in html and html.count("<li>") == 3
    assert "Analysis roles not available (marts.effect_register was not built)." in html
    assert "No result" in glance.section([], None, None, RULE).html


def test_the_results_line_says_how_many_of_the_runs_comparisons_no_page_shows():
    """The demo's line read "judged over the run's 45 comparisons (Holm)"; 15 of them (reoffences per person, days to a
    first reoffence and the matched hazard ratio of each reoffending programme) were on no page, so an evaluator looked
    for them in vain. They are now in the reoffending measures' table, so the line and the results section say nothing
    of them; an outcome no table lists is still counted in a few words (its four lines fit a phone's first screen), and
    the results section, where it would be, says which."""
    register = pd.DataFrame({
        "outcome_family": ["readmission", "reoffending", "reoffending", "reoffending", "reoffending", "reoffending",
                           "reoffending", "wellbeing"],
        "outcome": ["readmitted_within_30_days", "binary_rate", "frequency", "days_to_first_reoffence",
                    "time_to_first_reoffence", "reoffences_per_reoffender", "reoffences_per_reoffender", "improvement"],
        "p_value": [0.5, 0.3, 0.2, 0.04, 0.6, 0.1, None, 0.7]})  # a row without a p-value is not one of the run's comparisons
    html = glance.section(_sections(), 7, register, RULE).html
    assert "judged over the run&#x27;s 7 comparisons (Holm; 1 of them on no page)." in html
    assert glance.unlisted_sentence(register) == (" The run's other 1 comparison (reoffending: reoffences per reoffender) "
                                                  "is on no page: marts.effect_register holds it.")
    listed = register[register["outcome"] != "reoffences_per_reoffender"]
    assert glance.unlisted(listed) == (0, "")
    assert "on no page" not in glance.section(_sections(), 6, listed, RULE).html + glance.unlisted_sentence(listed)
    assert glance.unlisted_sentence(None) == ""
    # a run whose register holds no comparison with a p-value (one source alone): none unlisted, no error
    assert glance.unlisted(register.assign(p_value=None)) == (0, "")


def test_the_results_section_counts_its_rows_as_the_first_line_does():
    """The first line said "43 matched or modelled results" and linked to a section opening "44 results": the 44th row
    is the social return's ratio, which the line does not count as a comparison."""
    says = _sections()[0].table
    assert glance.results_summary(says) == ("5 results, each with what it supports and what it does not: 4 matched or "
                                            "modelled and the social return on investment.")
    html = glance.section(_sections(), 12, None, RULE).html
    assert ">4 matched or modelled results</a>" in html
    assert glance.results_summary(says.iloc[:2]) == "2 results, each with what it supports and what it does not."


def test_the_support_line_counts_a_comparison_with_1_to_7_participants_outside_as_not_keeping_them():
    """On the demo the first line said "Common support: 7 of 7 published comparisons keep every participant (7 withheld:
    1 to 7 people)", and the section "9 of 14 comparisons keep every participant": five of the seven withheld shares
    were comparisons of 20 to 100 participants (reoffending's any participation among them) that left 1 to 7 of them
    outside common support, which their table shows as * beside a published number of participants."""
    from dashboards.diagnostics_sections import support_words

    table = pd.DataFrame({"participants": [310, 100, 25, "*", "*"], "share_treated_in_support": [1.0, "*", "*", "*", "*"],
                          "n_treated_outside_support": [0, "*", "*", 0, "*"]})
    assert support_words(table, RULE) == ("1 of 3 published comparisons keep every participant; 2 leave 1 to 7 "
                                          "participants outside it (2 withheld: 1 to 7 people)")
