"""Headline tiles, filters and wording on small frames checked by hand."""

import json

import pandas as pd
import pytest

from dashboards import headlines, subtraction, verdicts, wording
from models.disclosure import DisclosureRule
from dashboards.filters import Filter, Item, embed_json, variants
from dashboards.tiles import judge

RULE = DisclosureRule()
RATES = pd.DataFrame({
    "dimension": ["overall", "timebank", "timebank", "area", "quarter", "quarter", "quarter"],
    "value": ["all", "TB01", "TB02", "E1", "2023Q1", "2023Q2", "2024Q1"],
    "discharges": [1000, 100, 40, 200, 50, 30, 20],
    "readmissions": [100, 12, 5, 20, 4, 11, 2],
    "rate": [0.1, 0.12, 0.125, 0.1, 0.08, 0.3667, 0.1],
})


def test_readmission_tile_for_one_time_bank_is_a_wilson_interval_against_all_discharges():
    h = headlines.readmission(RATES, None, RULE, "TB01", "all", "all")
    # 12/100 is published as 10/100 (12 rounded to 5), and the rate and its interval come from the published counts:
    # 10/100, Wilson 95% interval 5.5% to 17.4% (z = 1.96). Labelled crude, beside the unmatched benchmark, with no
    # verdict: TB03's crude reoffending rate read "✓ Better" against non-participants while its matched result was
    # withheld and its Cox model inconclusive
    assert (h.value, h.interval, h.n, h.rag) == ("10.0%", "95% CI 5.5% to 17.4% (Wilson)", "n ≈ 100 discharges", "none")
    assert h.tag == headlines.CRUDE and h.against == "all discharges 10.0%; not a like-for-like comparison, so no verdict"
    low = headlines.readmission(RATES.assign(readmissions=[500, 12, 5, 20, 4, 11, 2]), None, RULE, "TB01", "all", "all")
    assert low.rag == "none" and low.against.startswith("all discharges 50.0%")  # far below the benchmark: still none


def test_readmission_tile_hides_a_rate_on_a_suppressed_count():
    h = headlines.readmission(RATES, None, RULE, "TB02", "all", "all")  # 5 readmissions: 1-7
    assert h.value == "*" and h.n == "n ≈ 40 discharges"


def test_readmission_tile_on_a_small_matched_comparison_is_withheld_not_a_crash():
    # 5 matched participant discharges: the count is published as '*', so the tile says so (it used to format
    # '*' with a thousands separator and stop the page)
    effects = pd.DataFrame({"comparison": ["any"], "status": ["estimated"], "n_matched": [5], "participant_rate": [0.4],
                            "risk_difference": [-0.1], "rd_ci_low": [-0.3], "rd_ci_high": [0.1], "comparison_rate": [0.5]})
    h = headlines.readmission(RATES, effects, RULE, "all", "all", "all")
    assert h.value == "*" and h.n == "n = * matched participant discharges"


def test_matched_tiles_and_verdicts_are_withheld_when_the_participants_rate_rests_on_1_to_7_people():
    """7 of 103 matched participants readmitted: 6.8% beside "n ≈ 105" would give the 7 back, and the difference
    beside the comparison rate would give the rate back. So no rate, difference or verdict; the group's size stays."""
    from dashboards import verdicts

    effects = pd.DataFrame({"comparison": ["any"], "status": ["estimated"], "n_matched": [103], "participant_rate": [7 / 103],
                            "risk_difference": [-0.042], "rd_ci_low": [-0.106], "rd_ci_high": [0.022],
                            "comparison_rate": [0.11], "verdict": ["inconclusive"], "jdl_statement": ["For every 100 ..."]})
    tile = headlines.readmission(RATES, effects, RULE, "all", "all", "all")
    assert tile.value == "*" and tile.n == "n ≈ 105 matched participant discharges"
    row = verdicts.readmission_row(effects, RULE)
    assert row["verdict"] == "not published" and row["n_matched"] == 105
    assert row["participants_value"] is None and row["difference"] is None and "6.8" not in row["sentence"]
    why = subtraction.withheld_reason(effects.iloc[0], RULE, ("participant_rate", "comparison_rate"))
    said = wording.statement("r", "inconclusive", 103, "Readmission", "6.8%", "11.0%", (-4.2, -10.6, 2.2), "points",
                             0.05, "age", RULE, why)
    assert said["verdict"] == "not published" and "6.8" not in said["what you can say"]
    enough = effects.assign(participant_rate=[8 / 103])  # 8 and 95: both publishable
    assert headlines.readmission(RATES, enough, RULE, "all", "all", "all").value == "7.8%"
    assert verdicts.readmission_row(enough, RULE)["participants_value"] == "7.8%"


def test_readmission_tile_sums_the_quarters_of_a_year():
    h = headlines.readmission(RATES, None, RULE, "all", "all", "2023")  # 15 of 80 = 18.75%
    assert h.value == "18.8%" and h.n == "n ≈ 80 discharges"


def test_readmission_tile_refuses_a_combination_the_mart_does_not_hold():
    assert headlines.readmission(RATES, None, RULE, "TB01", "E1", "all").interval == "not available for this combination"


def test_wellbeing_tile_is_the_matched_distance_travelled_and_withheld_on_a_small_group():
    effects = pd.DataFrame({"star_version": ["all", "recovery_star"], "area": "mean_of_areas", "estimate": [0.5, 1.4],
                            "ci_low": [0.1, 0.6], "ci_high": [0.9, 2.2], "treated_value": [0.8, 1.8],
                            "comparison_value": [0.3, 0.4], "n_matched": [42, 3], "status": "estimated"})
    h = headlines.wellbeing(effects, RULE, "all", "all")
    assert (h.value, h.rag, h.n) == ("+0.80 points", "better", "n ≈ 40 matched participants")
    assert headlines.wellbeing(effects.assign(n_matched=[5, 3]), RULE, "all", "all").value == "*"
    # the pooled row withheld by subtraction (the verdict list withholds it): the tile showed its figures all the same
    marked = effects.assign(**{subtraction.COLUMN: [True, False]})
    tile = headlines.wellbeing(marked, RULE, "all", "all")
    assert tile.value == "*" and "+0.50" not in tile.interval and "by subtraction" in tile.interval
    assert verdicts.wellbeing_row(marked, RULE)["verdict"] == "not published"
    assert "not available for this selection" in headlines.wellbeing(effects, RULE, "TB01", "all").interval
    # Without a pooled row the headline is the instrument with the most participants.
    by_instrument = effects.assign(star_version=["wellbeing_star", "recovery_star"], headline=True, n_treated=[40, 90])
    assert headlines.wellbeing_headline_row(by_instrument)["star_version"] == "recovery_star"
    assert headlines.wellbeing_headline_row(by_instrument.assign(headline=False)) is None


def test_the_wellbeing_unit_says_the_pooled_headline_is_on_the_1_to_10_equivalent():
    """The pooled row (star_version "all") rescales every instrument to 1-10: its unit is not "Star points per area"
    (the label it had); an instrument's own row is in points per area on its own scale."""
    from dashboards import verdicts

    effects = pd.DataFrame({"star_version": ["all", "recovery_star"], "area": "mean_of_areas", "outcome": "improvement",
                            "estimate": [0.5, 1.4], "ci_low": [0.1, 0.6], "ci_high": [0.9, 2.2],
                            "treated_value": [0.8, 1.8], "comparison_value": [0.3, 0.4], "n_matched": [42, 40],
                            "n_treated": [42, 40], "status": "estimated", "interpretation": "improvement",
                            "headline": [False, True]})
    pooled = verdicts.wellbeing_row(effects, RULE)
    assert pooled["unit"] == "points per area (1-10 equivalent)" and "1-10 equivalent" in pooled["sentence"]
    assert "Star" not in pooled["unit"]
    assert "1-10 equivalent" in headlines.wellbeing(effects, RULE, "all", "all").note
    own = verdicts.wellbeing_row(effects.iloc[[1]], RULE)
    assert own["unit"] == "points per area (own scale)" and "own scale" in own["sentence"]


def test_active_members_in_a_year_come_from_its_last_quarter():
    ta = pd.DataFrame({"timebank_id": ["T", "T", "T"], "period_type": ["quarter", "quarter", "overall"],
                       "period_label": ["2023-Q1", "2023-Q4", "overall"],
                       "period_end": pd.to_datetime(["2023-03-31", "2023-12-31", "2023-12-31"]),
                       "period_start": pd.to_datetime(["2023-01-01", "2023-10-01", "2023-01-01"]),
                       "active_members": [20, 41, 50], "trading_members": [9, 30, 40], "hours_exchanged": [10.0, 20.0, 30.0]})
    assert headlines.active_members(ta, RULE, "all", "2023").value == "40"  # 41 rounded to 5
    assert headlines.hours_exchanged(ta, RULE, "T", "2023").value == "30 h"


def test_rag_is_judged_on_the_interval():
    assert judge(0.05, 0.08, 0.1, lower_is_better=True) == "better"
    assert judge(0.05, 0.12, 0.1, lower_is_better=True) == "inconclusive"
    assert judge(0.11, 0.2, 0.1, lower_is_better=False) == "better"


def test_variants_cover_every_combination_and_embed_safely():
    filters = [Filter("timebank", "Time bank", (("all", "All"), ("A", "A"))),
               Filter("year", "Year", (("all", "All"), ("2023", "2023"), ("2024", "2024")))]
    block = variants(filters, ("timebank", "year"), lambda c: Item(f"{c['timebank']} {c['year']}"))
    assert sorted(block.items) == ["A|2023", "A|2024", "A|all", "all|2023", "all|2024", "all|all"]
    text = embed_json({"s": "</script><b>&"})
    assert "<" not in text and ">" not in text and "&" not in text and json.loads(text) == {"s": "</script><b>&"}


def test_wording_for_an_inconclusive_small_unbalanced_comparison():
    row = wording.statement("r", "inconclusive", 40, "Readmission", "15.0%", "10.0%", (5.0, -2.0, 12.0), "points",
                            0.25, "age, sex", RULE)
    assert "likely between -2.0 and +12.0 points" in row["what you can say"]
    for phrase in ("cannot say the programme had no effect", "an |SMD| above 0.1", "About 60 matched participants or fewer"):
        assert phrase in row["what you cannot say"]
    # judged on the published count: 58 and 62 both read "60", and both carry the caution, so it cannot tell them apart
    # (with the exact count it named 58 as under 60 beside "n 60"); 63 reads "65" and has none
    said = {n: wording.statement("r", "inconclusive", n, "R", "15.0%", "10.0%", (5.0, -2.0, 12.0), "points", 0.0, "age",
                                 RULE) for n in (58, 62, 63)}
    assert said[58]["n_matched"] == said[62]["n_matched"] == 60 and said[63]["n_matched"] == 65
    assert said[58]["what you cannot say"] == said[62]["what you cannot say"]
    assert "Justice Data Lab" in said[58]["what you cannot say"] and "Justice Data Lab" not in said[63]["what you cannot say"]
    assert wording.statement("r", "inconclusive", 5, "x", "", "", (0, 0, 0), "", 0.0, "", RULE)["n_matched"] == "*"


def test_verdicts_show_the_design_sentence_and_the_exploratory_label_when_the_run_records_them():
    from dashboards import multiplicity, verdicts

    effects = pd.DataFrame({"comparison": ["any"], "status": ["estimated"], "risk_difference": [-0.05],
                            "rd_ci_low": [-0.09], "rd_ci_high": [-0.01], "participant_rate": [0.10], "comparison_rate": [0.15],
                            "n_matched": [120], "verdict": ["reduction"], "outcome": ["readmitted_within_30_days"],
                            "jdl_statement": ["For every 100 people in the comparison group, 15 were readmitted; for every "
                                              "100 participants, 10 were."],
                            "design_sentence": ["Follow-up starts on the day each participant joined."], "estimand": ["ATT"]})
    register = pd.DataFrame({"outcome_family": ["readmission"], "programme": ["any"],
                             "outcome": ["readmitted_within_30_days"], "analysis_role": ["exploratory"],
                             "n_comparisons": [12]})
    marked = multiplicity.mark(effects, multiplicity.FAMILIES[0], register)
    row = verdicts.readmission_row(marked, RULE)
    assert row["design"] == "Follow-up starts on the day each participant joined." and row["estimand"] == "ATT"
    assert row["rag"] == "better" and "a reduction" in row["sentence"] and "between -9.0 and -1.0 points" in row["sentence"]
    assert verdicts.role_words(row["analysis_role"], row["n_comparisons"]).startswith("Exploratory result (12 comparisons")
    bare = verdicts.readmission_row(effects.drop(columns=["design_sentence", "estimand"]), RULE)
    assert bare["design"] == verdicts.NO_DESIGN and verdicts.role_words(bare["analysis_role"], None) == verdicts.NO_ROLE
    small = verdicts.readmission_row(marked.assign(n_matched=[5]), RULE)
    assert small["verdict"] == "not published" and small["difference"] is None


def test_the_readmission_reoffending_and_wellbeing_verdicts_state_their_difference_alike():
    """One page, one way of saying a matched difference: its size, what it is, and where the true difference likely
    lies, whichever outcome it is (the reoffending verdict used to read 'Significant reduction: risk difference ...
    (95% CI ...)' beside the readmission one's sentence)."""
    from dashboards import verdicts

    readmission = pd.DataFrame({"comparison": ["any"], "status": ["estimated"], "risk_difference": [-0.027],
                                "rd_ci_low": [-0.029], "rd_ci_high": [-0.025], "participant_rate": [0.10],
                                "comparison_rate": [0.127], "n_matched": [120], "verdict": ["reduction"],
                                "jdl_statement": ["For every 100 people in the comparison group, 13 were readmitted."]})
    reoffending = pd.DataFrame({"programme": ["any_participation"], "measure": ["binary_rate"], "estimable": [True],
                                "estimate": [0.012], "ci_low": [-0.008], "ci_high": [0.032], "participant_value": [0.25],
                                "comparison_value": [0.238], "n_matched": [300], "verdict": ["inconclusive"],
                                "per_100_statement": ["For every 100 people in the comparison group, 24 reoffended."],
                                "not_estimable_reason": [None]})
    rd = verdicts.readmission_row(readmission, RULE)["sentence"]
    ro = verdicts.reoffending_row(reoffending, RULE)["sentence"]
    assert rd.endswith("The difference of -2.7 percentage points (from the unrounded rates) is a reduction: the true "
                       "difference is likely "
                       "between -2.9 and -2.5 points (95% interval).")
    assert ro == ("For every 100 people in the comparison group, 24 reoffended. The difference of +1.2 percentage points "
                  "(from the unrounded rates) is inconclusive: the true difference is likely between -0.8 and +3.2 points (95% interval).")


def test_the_per_100_chart_shows_no_matched_rate_on_1_to_7_people_either_way():
    """21 of 24 matched participants of a time bank reoffended: "88 of 100" beside "n ≈ 25" gives back the 3 who did
    not. The chart falls back to the crude rates from the published counts (20 of 25); with 10 of 24 it shows the
    matched comparison."""
    from dashboards.filters import make_filter
    from dashboards.reoffending_sections import jdl_section

    rates = pd.DataFrame({"cohort_period": ["all"] * 3, "event_type": ["all"] * 3, "reoffenders": [40, 21, 300],
                          "programme": ["any_participation", "timebank:TB03", "no_participation"], "persons": [120, 24, 1000]})
    effects = pd.DataFrame({"programme": ["timebank:TB03"], "measure": ["binary_rate"], "estimable": [True],
                            "n_matched": [24], "participant_value": [21 / 24], "comparison_value": [0.25],
                            "estimate": [0.625], "ci_low": [0.4], "ci_high": [0.85],
                            "per_100_statement": ["For every 100 people in the comparison group, 25 reoffended."]})
    filters = [make_filter("timebank", "Time bank", "All time banks", ["TB03"])]
    item = jdl_section(rates, effects, RULE, filters).variants.items["TB03"]
    assert item.summary.startswith("For every 100 non-participants, 30 reoffended within a year; for every 100 "
                                   "participants, 80.") and "crude" in item.figure.layout.title.text
    enough = jdl_section(rates, effects.assign(participant_value=[10 / 24], comparison_value=[0.5]), RULE,
                         filters).variants.items["TB03"]
    assert "matched comparison group, n ≈ 25 participants" in enough.figure.layout.title.text


def test_the_year_filter_lists_only_years_with_exchanges_or_outcomes():
    """The time banks' quarters start at the first member's joining: 2014-2021 had no exchange, and choosing 2016
    emptied every section. A year is listed when hours were exchanged in it, or an outcome mart has it."""
    from dashboards.commissioner import page_filters

    activity = pd.DataFrame({"timebank_id": "TB01", "period_label": ["2016-Q1", "2022-Q3", "overall"],
                             "hours_exchanged": [0.0, 12.5, 12.5]})
    reoffending = pd.DataFrame({"programme": "any_participation", "cohort_period": ["2023-Q1", "all"]})
    marts = {"timebank_activity": activity, "readmission_rates": None, "reoffending_rates": reoffending,
             "wellbeing_change": None, "social_value": None}
    year = {f.name: f for f in page_filters(marts)}["year"]
    assert [v for v, _ in year.options][1:] == ["2022", "2023"]


def test_a_cox_row_claims_no_matched_group():
    """The Cox model is fitted on everyone analysed: its 15 participants were shown as "n matched 15" beside a matched
    group of 1 to 7 for the same programme. The row has no n matched, and its text gives the model's participants."""
    cox = pd.DataFrame({"programme": ["prison_listeners"], "term": ["treated"], "hazard_ratio": [0.8], "ci_low": [0.5],
                        "ci_high": [1.3], "n_participants": [15]})
    (row,) = wording.cox_statements(cox)
    assert row["n_matched"] is None and "about 15 of them participants), not matched" in row["what you can say"]
    assert row["design"] == wording.NO_DESIGN  # a table from before the Cox mart recorded its design


def test_a_cox_row_says_it_is_not_among_the_runs_comparisons():
    """Every other result's "Analysis role" says primary or exploratory over the run's comparisons; the nine Cox rows'
    cell was empty. The Cox model is not in the register (the matched hazard ratio is), so no Holm adjustment holds it,
    and the row says so, published or not."""
    cox = pd.DataFrame({"programme": ["a", "b"], "term": "treated", "hazard_ratio": [0.8, "*"], "ci_low": [0.5, "*"],
                        "ci_high": [1.3, "*"], "n_participants": [15, "*"]})
    assert [r["analysis role"] for r in wording.cox_statements(cox)] == [wording.COX_ROLE] * 2
    assert "not one of the run's comparisons" in wording.COX_ROLE


def test_a_cox_row_states_its_design_from_the_model():
    """Every Cox row said "design not recorded": the Cox mart now records its design sentence (the comparison's time
    zero, the covariates adjusted for, not matched), published as written; the page states it."""
    from dashboards.evaluator import published_cox
    from models.reoffending import ReoffendingSettings, reoffending_cox
    from tests.models.test_reoffending_cox import make_cohort

    settings = ReoffendingSettings(covariates=("age", "sex"))
    cox = reoffending_cox(make_cohort(n=600, seed=4), settings)
    effects = pd.DataFrame({"programme": cox["programme"].unique(), "measure": "binary_rate", "n_participants": 50})
    rows = wording.cox_statements(published_cox(cox, effects, DisclosureRule()))
    assert rows and all(r["design"].startswith("Follow-up starts on the day each participant started") for r in rows)
    assert all(r["design"].endswith("in a Cox model adjusted (not matched) for age, sex.") for r in rows)


def test_the_spine_gives_each_outcome_its_own_scale():
    """Percentage points, Star points and pounds on one axis: a well-being interval of 0.6 points could not be seen
    beside one of 30. Each outcome now has its own axis centred on its comparison; the social return's is labelled in
    pounds per £1 with break-even (£1) at the line."""
    from dashboards.verdicts import spine

    frame = pd.DataFrame({"outcome": ["Proven reoffending within a year", "Well-being: distance travelled",
                                      "Social return on investment"],
                          "difference": [8.5, -0.07, -0.91], "ci_low": [-9.3, -0.59, -0.97], "ci_high": [26.3, 0.44, -0.84],
                          "unit": ["percentage points", "Star points per area", "£ per £1 invested"],
                          "rag": ["inconclusive", "inconclusive", "worse"]})
    figure = spine(frame, "spine")
    axes = [figure.layout[f"xaxis{i if i > 1 else ''}"] for i in (1, 2, 3)]
    assert [abs(a.range[1]) for a in axes] == pytest.approx([1.15 * 26.3, 1.15 * 0.59, 1.15 * 0.97])
    # the difference keeps the sign the tables give it (it was drawn at -8.5 beside a table's +8.5); fewer reoffences
    # is better, so that axis runs from + to − and better is still to the right
    assert list(figure.data[0].x) == [8.5] and list(figure.data[0].error_x.arrayminus) == pytest.approx([8.5 + 9.3])
    assert axes[0].range[0] == 1.15 * 26.3 and axes[0].range[1] == -1.15 * 26.3
    assert axes[0].title.text == "percentage points, participants minus comparison (fewer to the right)"
    assert axes[1].range[0] < 0 < axes[1].range[1] and list(figure.data[1].x) == [-0.07]
    assert list(axes[2].ticktext) == ["£0.00", "£0.50", "£1.00", "£1.50", "£2.00"] and list(axes[2].tickvals)[2] == 0
    assert axes[2].range[0] == -1.05  # no room for a ratio below £0
    # a ratio of £2.60 (£1.90 to £3.30): no "£-1.00" tick; an interval of a few pence still gets ticks either side
    for difference, low, high, first, last in ((1.6, 0.9, 2.3, "£0.00", "£3.00"), (0.01, -0.03, 0.04, "£0.96", "£1.04")):
        row = frame.iloc[[2]].assign(difference=difference, ci_low=low, ci_high=high, rag="inconclusive")
        ticks = list(spine(row, "spine").layout.xaxis.ticktext)
        assert (ticks[0], ticks[-1]) == (first, last) and len(ticks) >= 3, ticks
    assert list(spine(row.assign(difference=400.0, ci_low=300.0, ci_high=500.0), "s").layout.xaxis.ticktext) == [
        "£1.00", "£201.00", "£401.00"]  # a span over 150 raised StopIteration
    assert [t.showlegend for t in figure.data] == [True, False, True]


def test_the_spine_draws_the_whole_social_return_interval_when_it_runs_below_zero():
    """The demo's social return is £0.00 per £1 (95% interval −£0.30 to £0.30: a negative present value in some draws).
    The spine's axis stopped at £0 ("no room for a ratio below £0"), so its whisker was cut there and the chart showed
    £0.00 to £0.30 beside a sentence and a CSV saying −£0.30 to £0.30."""
    from dashboards.verdicts import spine

    row = pd.DataFrame({"outcome": ["Social return on investment"], "difference": [-0.9992], "ci_low": [-1.2964],
                        "ci_high": [-0.6992], "unit": ["£ per £1 invested"], "rag": ["worse"]})
    axis = spine(row, "spine").layout.xaxis
    assert axis.range[0] < -1.2964 < axis.range[1]  # the whole interval is on the axis
    assert list(axis.ticktext) == ["£0.00", "£1.00", "£2.00"]  # as few ticks as on one span: five turned on end at 390 px


def test_the_spines_legend_names_the_social_returns_verdict_as_the_first_screen_does():
    """The first screen says "✗ Below £1" for the social return (judged against break-even, not a comparison group);
    the spine's legend beside its red cross said "Worse". A worse matched outcome keeps its own "Worse" entry."""
    from dashboards.verdicts import spine

    frame = pd.DataFrame({"outcome": ["Proven reoffending within a year", "Social return on investment"],
                          "difference": [9.0, -0.9992], "ci_low": [2.0, -1.2964], "ci_high": [16.0, -0.6992],
                          "unit": ["percentage points", "£ per £1 invested"], "rag": ["worse", "worse"]})
    figure = spine(frame, "spine")
    assert [(t.name, t.showlegend) for t in figure.data] == [("Worse", True), ("Below £1", True)]


def test_each_verdict_on_the_first_screen_gives_its_published_n():
    """The commissioner's first screen gave intervals but no n (it was in the tiles below the fold)."""
    from dashboards.verdicts import COLUMNS, _list

    frame = pd.DataFrame([{c: None for c in COLUMNS} | {"outcome": "30-day emergency readmission", "n_matched": 310,
                                                         "rag": "inconclusive", "sentence": "s", "design": "", "analysis_role": None},
                          {c: None for c in COLUMNS} | {"outcome": "Social return on investment", "rag": "worse",
                                                         "sentence": "t", "design": "", "analysis_role": None}])
    listed = _list(frame)
    assert "30-day emergency readmission (n ≈ 310 matched participants)" in listed
    assert "Social return on investment</p>" in listed


def test_an_interval_including_no_difference_is_called_inconclusive_everywhere():
    """The verdict's badge and the tile read "≈ Similar" beside a sentence saying "inconclusive" (participants 7.4%,
    comparison 10.2%, -6.9 to +1.3 points): "similar" claimed the groups alike where the data cannot tell."""
    from dashboards import wording
    from dashboards.tiles import tile
    from dashboards.verdicts import COLUMNS, _list, spine

    row = {c: None for c in COLUMNS} | {"outcome": "30-day emergency readmission", "n_matched": 310, "rag": "inconclusive",
                                        "sentence": "s", "design": "", "analysis_role": None}
    listed = _list(pd.DataFrame([row]))
    shown = tile("30-day emergency readmission", "7.4%", "difference -2.8 points", "n ≈ 310", "inconclusive",
                 "matched comparison 10.2%")
    legend = spine(pd.DataFrame([row | {"difference": -2.8, "ci_low": -6.9, "ci_high": 1.3, "unit": "points"}]), "s")
    assert "? Inconclusive</span>" in listed and "? Inconclusive: matched comparison 10.2%" in shown
    assert legend.data[0].name == "Inconclusive"
    assert wording.direction("inconclusive", "a reduction", "an increase") == "inconclusive"
    from dashboards.tiles import judge
    assert judge(-6.9, 1.3, 0.0, lower_is_better=True) == "inconclusive"  # the verdicts CSV's rag column said "similar"
    assert "Similar" not in listed + shown


def test_what_you_cannot_say_names_the_covariates_as_the_design_sentence_does():
    """The evaluator's caution listed 'baseline, Pre Change, age, Months From First Reading' (field names, title-cased
    on the page) where the design sentence beside it reads 'baseline score, the change from the reading before the
    baseline, age, time since their first reading'."""
    from dashboards.wording import statement

    row = statement("Well-being change: Recovery Star / Mean of areas", "inconclusive", 40, "Mean change", "0.10", "0.05",
                    (0.05, -0.2, 0.3), "points", 0.05, "baseline, pre_change, age, months_from_first_reading, imd_decile",
                    DisclosureRule())
    assert ("matching balances only what was measured (baseline score, the change from the reading before the baseline, "
            "age, time since their first reading, IMD decile)") in row["what you cannot say"]


def test_the_commissioner_page_says_what_its_words_mean():
    """IMD, percentage points, the 95% interval and the * were used on the page and explained nowhere on it."""
    from dashboards import glossary

    section = glossary.terms_section(glossary.COMMISSIONER, DisclosureRule())
    for term in ("IMD decile", "95% interval", "Percentage points", "Matched comparison group", "* and rounding"):
        assert f"<dt>{term}</dt>" in section.html
    assert "Counts of 1 to 7 are shown as *, and other counts rounded to the nearest 5" in section.html


def test_the_evaluator_writes_a_star_result_as_the_commissioner_page_does():
    """The same well-being difference read "-0.07 (-0.59 to +0.44)" on the commissioner page and "-0.1 (-0.6 to
    +0.4)" on the evaluator page, which also called a mean change of -0.30 a "mean improvement"."""
    wellbeing = pd.DataFrame({"interpretation": ["inconclusive"], "star_version": ["wellbeing_star"], "area": ["all"],
                              "outcome": ["change"], "n_matched": [20], "treated_value": [-0.30], "comparison_value": [-0.23],
                              "estimate": [-0.07], "ci_low": [-0.59], "ci_high": [0.44], "max_abs_smd_after": [0.05],
                              "covariates": ["age"]})
    said = wording.statements(None, None, wellbeing, None, RULE).iloc[0]
    assert said["result"] == "Well-being change: Wellbeing Star / All"
    assert ("Mean change in score (a rise is an improvement): participants -0.30 against -0.23 in the matched comparison "
            "group. The difference of -0.07 points (from the unrounded means) is inconclusive: the true difference is likely between -0.59 and "
            "+0.44 points (95% interval).") == said["what you can say"]


def test_a_year_of_reoffending_counts_final_cohorts_and_says_how_many_are_still_provisional():
    """2025's tile added about 40 people of provisional cohorts to one final cohort of 20, and the cohort chart said
    "27 provisional cohorts not drawn" under every filter (counting programmes it does not show)."""
    from dashboards.filters import ALL, Filter
    from dashboards.reoffending_sections import cohort_section

    rates = pd.DataFrame({"event_type": ALL, "cohort_period": ["2025-Q1", "2025-Q1", "2025-Q2", "2025-Q2", "2024-Q4", "all"],
                          "programme": ["any_participation", "no_participation", "any_participation", "timebank:TB09",
                                        "any_participation", "any_participation"],
                          "status": ["final", "final", "provisional", "provisional", "provisional", "provisional"],
                          "persons": [20, 100, 40, 30, 50, 110], "reoffenders": [10, 30, 8, 9, 10, 28]})
    tile = headlines.reoffending(rates, None, RULE, ALL, "2025")
    assert (tile.value, tile.n) == ("50.0%", "n ≈ 20 people in the final cohorts")
    assert tile.note.endswith("Final cohorts only: 1 provisional cohort of 2025 (follow-up not over) left out.")
    later = headlines.reoffending(rates.assign(cohort_period=rates["cohort_period"].str.replace("2025-Q2", "2026-Q1")),
                                  None, RULE, ALL, "2026")  # nothing final yet: the tile still says what is pending
    assert later.value == "–" and later.note.endswith("1 provisional cohort of 2026 (follow-up not over) left out.")
    filters = [Filter("timebank", "Time bank", ((ALL, "All"),)), Filter("year", "Year", ((ALL, "All"), ("2025", "2025")))]
    items = cohort_section(rates, RULE, filters).variants.items
    said = {key: item.summary for key, item in items.items()}
    assert [("1 provisional cohort" in s, "2 provisional cohorts" in s) for s in said.values()] == [(False, True), (True, False)]


def test_the_cohort_chart_says_how_many_of_each_lines_cohorts_are_withheld():
    """On the demo the participants' line was one point (2022-Q3, 0 of 10 reoffended) beside 13 non-participant
    cohorts: 12 participant cohorts were withheld, which neither the chart nor its summary said ("14 cohort points
    published"), so a commissioner read 0% as the participants' record."""
    from dashboards.filters import ALL, Filter
    from dashboards.reoffending_sections import cohort_section

    quarters = ["2023-Q1", "2023-Q2", "2023-Q3"]
    rates = pd.DataFrame({"event_type": ALL, "cohort_period": quarters * 2, "status": "final",
                          "programme": ["any_participation"] * 3 + ["no_participation"] * 3,
                          "persons": [10, 12, 15, 40, 45, 50], "reoffenders": [0, 3, 5, 12, 15, 20]})
    filters = [Filter("timebank", "Time bank", ((ALL, "All"),)), Filter("year", "Year", ((ALL, "All"),))]
    item = next(iter(cohort_section(rates, RULE, filters).variants.items.values()))
    assert ("4 cohort points published (participants 1 of 3 final cohorts; non-participants 3 of 3 final cohorts; "
            "2 cohorts withheld: 1 to 7 people or reoffenders).") in item.summary
    assert [t.name for t in item.figure.data] == ["participants (2 of 3 withheld)", "non-participants"]


def test_the_hours_tile_does_not_say_a_quarter_withheld_to_protect_another_had_1_to_7_trading_accounts():
    """On the demo, TB03 2022-Q1 had 7 trading accounts and three more quarters were withheld to protect it, two of them
    TB02's (9 and 17 accounts). With TB02 picked, the tile said "2 withheld (1 to 7 trading accounts)"; the activity
    summary beside it said "fewer than 8 trading accounts, or to protect one that has"."""
    trading = {"TB01": [30, 45, 45, 50], "TB02": [9, 11, 15, 17], "TB03": [7, 15, 10, 10]}
    ta = pd.DataFrame([{"timebank_id": bank, "period_type": "quarter", "period_label": f"2022-Q{i + 1}",
                        "period_start": pd.Timestamp(2022, 3 * i + 1, 1), "trading_members": t, "hours_exchanged": 2.0 * t}
                       for bank in trading for i, t in enumerate(trading[bank])])
    hidden = headlines.quarters(ta, RULE)[1]
    assert len(hidden[hidden["timebank_id"] == "TB02"]) == 2 and (hidden[hidden["timebank_id"] == "TB02"]["trading_members"] >= 8).all()
    tile = headlines.hours_exchanged(ta, RULE, "TB02", "all")
    assert tile.n == "2 time-bank quarters; 2 withheld (1 to 7 trading accounts, or to protect one that has)"


def test_readmission_quarters_are_written_as_the_other_quarterly_sections_write_them():
    """The commissioner page said "busiest quarter 2025-Q2" (activity) and "highest in 2025Q4" (readmission), and its
    reoffending chart, tables and CSVs wrote 2022-Q1 where the readmission chart, table and CSV wrote 2022Q1."""
    from dashboards.filters import Filter
    from dashboards.readmission_sections import quarter_section

    years = Filter("year", "Year", (("all", "All years"), ("2023", "2023"), ("2024", "2024")))
    section = quarter_section(RATES, RULE, [years])
    assert list(section.table["quarter"]) == ["2023-Q1", "2023-Q2", "2024-Q1"]
    assert "highest in 2023-Q2" in section.summary
    assert list(section.figure.data[0].x) == ["2023-Q2"]  # 4 and 2 readmissions: 1-7, not drawn
    assert set(section.variants.items["2023"].table["quarter"]) == {"2023-Q1", "2023-Q2"}


def test_the_readmission_verdict_counts_discharges_as_its_tile_does():
    """Readmission is compared discharge by discharge (marts.readmission_effects.n_matched: "participant discharges kept
    after support and caliper"; on the demo 315 exposed discharges were 248 people's). The first screen said "(n ≈ 310
    matched participants)" above the tile's "n ≈ 310 matched participant discharges"."""
    from dashboards import verdicts

    readmission = pd.DataFrame({"comparison": ["any"], "status": ["estimated"], "risk_difference": [-0.028],
                                "rd_ci_low": [-0.069], "rd_ci_high": [0.013], "participant_rate": [0.074],
                                "comparison_rate": [0.102], "n_matched": [310], "verdict": ["inconclusive"],
                                "jdl_statement": ["For every 100 people in the comparison group, 10 were readmitted."]})
    reoffending = pd.DataFrame({"programme": ["any_participation"], "measure": ["binary_rate"], "estimable": [True],
                                "estimate": [-0.085], "ci_low": [-0.263], "ci_high": [0.094], "participant_value": [0.22],
                                "comparison_value": [0.305], "n_matched": [60], "verdict": ["inconclusive"],
                                "per_100_statement": ["For every 100 people in the comparison group, 31 reoffended."],
                                "not_estimable_reason": [None]})
    frame = pd.DataFrame([verdicts.readmission_row(readmission, RULE), verdicts.reoffending_row(reoffending, RULE)],
                         columns=verdicts.COLUMNS)
    listed = verdicts._list(frame)
    tile = headlines.readmission(RATES, readmission, RULE, "all", "all", "all")
    assert f"30-day emergency readmission ({tile.n})" in listed
    assert "Proven reoffending within a year (n ≈ 60 matched participants)" in listed


def test_a_negative_ratio_puts_its_sign_before_the_pound_sign():
    """The SROI interval read "£-0.21 to £0.32"."""
    from dashboards.labels import pounds

    assert [pounds(v) for v in (0.0549, -0.2123, -0.001, 1234.5)] == ["£0.05", "−£0.21", "£0.00", "£1,234.50"]
    row = {"scope": "overall", "ratio": 0.0549, "ratio_ci_low": -0.2123, "ratio_ci_high": 0.3201}
    from dashboards.verdicts import sroi_row

    said = sroi_row(pd.DataFrame([{**row, "n_draws": 2000}]), None)["sentence"]
    assert "95% interval −£0.21 to £0.32" in said and "£-" not in said


def test_each_verdict_says_whether_its_matched_groups_were_balanced_as_the_evaluator_page_does():
    """The commissioner's first section called every comparison "a matched group of similar people"; on the demo none
    of its three had reached balance (largest |SMD| after matching 0.13, 0.23 and 0.29), which only the evaluator page
    said. Each published verdict now says whether its groups were alike after matching, in the evaluator's words."""
    readmission = pd.DataFrame({"comparison": ["any"], "status": ["estimated"], "risk_difference": [0.010],
                                "rd_ci_low": [-0.030], "rd_ci_high": [0.050], "participant_rate": [0.074],
                                "comparison_rate": [0.065], "n_matched": [310], "verdict": ["inconclusive"],
                                "jdl_statement": ["For every 100 comparison discharges, 6 were readmitted."],
                                "max_abs_smd_after": [0.135]})
    rows = [verdicts.readmission_row(readmission, RULE),
            verdicts.readmission_row(readmission.assign(max_abs_smd_after=0.04), RULE),
            verdicts.readmission_row(readmission.drop(columns="max_abs_smd_after"), RULE),  # a model recording none
            verdicts.readmission_row(readmission.assign(n_matched=5), RULE)]  # not published: nothing said of it
    assert [r["balanced"] for r in rows] == ["no (> 0.1)", "yes (≤ 0.1)", None, None]
    listed = verdicts._list(pd.DataFrame(rows, columns=verdicts.COLUMNS))
    assert listed.count(verdicts.BALANCE["no (> 0.1)"].split(",")[0]) == 2  # "Balance: after matching"
    assert "<a href='evaluator.html#balance-after-matching'>The evaluator page&#x27;s balance table</a> gives each" in listed
    assert verdicts.BALANCE["yes (≤ 0.1)"] in listed
    # the evaluator's balance table judges the same mart column the same way
    assert verdicts.balanced(pd.Series({"max_abs_smd": 0.1}), "max_abs_smd") == "yes (≤ 0.1)"


def test_the_first_screen_gives_readmission_as_a_share_of_stays_not_of_people():
    """Readmission is compared stay by stay (its n: "matched participant discharges"; a participant can have several),
    but the first screen's line read "7.4% of participants, 6.5% of the matched comparison"."""
    row = {c: None for c in verdicts.COLUMNS} | {"participants_value": "7.4%", "comparison_value": "6.5%",
                                                  "unit": "percentage points",
                                                  "source": "marts.readmission_effects (comparison any)"}
    assert verdicts.answer(row) == "7.4% of participant stays, 6.5% of the matched comparison"
    reoffending = row | {"source": "marts.reoffending_effects (any participation, binary rate)"}
    assert verdicts.answer(reoffending) == "7.4% of participants, 6.5% of the matched comparison"


def test_a_verdict_on_a_small_matched_sample_says_to_read_it_with_caution_as_the_evaluator_page_does():
    """The demo's well-being verdict rested on about 20 matched participants; the evaluator page said "treat it with
    caution" (the Justice Data Lab asks for at least 60), the commissioner page only "(n ≈ 20 matched participants)"."""
    base = {c: None for c in verdicts.COLUMNS} | {"rag": "inconclusive", "sentence": "s", "design": "",
                                                  "participants_value": "-0.30", "comparison_value": "-0.22"}
    rows = [base | {"outcome": "Well-being", "n_matched": 20, "source": "marts.wellbeing_effects (all, mean of areas)"},
            base | {"outcome": "Readmission", "n_matched": 310, "source": "marts.readmission_effects (comparison any)"},
            base | {"outcome": "Reoffending", "n_matched": 60, "source": "marts.reoffending_effects (any participation, "
                                                                         "binary rate)"},
            base | {"outcome": "Held", "n_matched": 20, "participants_value": None, "verdict": "not published",
                    "rag": "none", "source": "marts.wellbeing_effects (all, mean of areas)"}]
    listed = verdicts._list(pd.DataFrame(rows, columns=verdicts.COLUMNS))
    assert [verdicts.small(r) for r in rows] == [True, False, True, False]
    assert ("Small sample: about 20 matched participants, where the Justice Data Lab asks for at least 60: treat it "
            "with caution.") in listed
    assert listed.count("Small sample: about") == 2 and "about 60 matched participants" in listed


def test_the_benchmark_of_all_discharges_is_explained_where_it_meets_the_matched_comparison():
    """The readmission tile gave the matched comparison's 6.5% and the area chart just below it a benchmark of 10.1%,
    with nothing to say which a commissioner should believe. The tile and the chart's summary now say that all discharges
    are everyone discharged and the matched comparison people like the participants, the one to judge them by; the chart
    names its benchmark in its legend (its label on the line sat over the last bar's error bar)."""
    from dashboards import charts
    from dashboards.filters import Filter
    from dashboards.readmission_sections import area_section

    effects = pd.DataFrame({"comparison": ["any"], "status": ["estimated"], "n_matched": [310], "participant_rate": [0.074],
                            "risk_difference": [0.01], "rd_ci_low": [-0.03], "rd_ci_high": [0.05], "comparison_rate": [0.065]})
    tile = headlines.readmission(RATES, effects, RULE, "all", "all", "all")
    assert tile.against == "matched comparison 6.5%"
    assert "All discharges, 10.0% (the dashed line in the area chart), include everyone discharged" in tile.note
    assert "not the comparison to judge them by" in tile.note
    assert headlines.matched_comparison(effects, RULE) == 0.065
    assert headlines.matched_comparison(effects.assign(n_matched=[5]), RULE) is None  # the tile shows none: nor does the chart
    areas = Filter("area", "Area of residence", (("all", "All areas"), ("E1", "E1")))
    said = area_section(RATES, RULE, [areas], matched=0.065).summary
    assert said.startswith("Crude 30-day emergency readmission rate in 1 area against all discharges (10.0%, the dashed line).")
    assert "people like them (matched comparison 6.5%), the comparison to judge them by" in said
    assert "matched comparison" not in area_section(RATES, RULE, [areas]).summary
    figure = charts.rate_bars(RATES.iloc[[3]].assign(ci_low=0.06, ci_high=0.15), "value", "Rates", "readmitted (%)", 0.101)
    assert not figure.layout.annotations and figure.layout.showlegend
    assert [t.name for t in figure.data if t.showlegend is not False] == ["benchmark: all discharges, 10.1%"]


def test_the_commissioners_verdicts_say_what_the_runs_comparisons_are_in_plain_words():
    """The verdict list said "Primary outcome (49 comparisons in this run).": a commissioner asked what the 49 were and
    why it mattered. It now says what they are and why their number matters (chance findings among many); the evaluator's
    "What you can say" keeps the short form, with Holm's method in its glossary."""
    from dashboards import multiplicity

    effects = pd.DataFrame({"comparison": ["any"], "status": ["estimated"], "risk_difference": [0.010],
                            "rd_ci_low": [-0.030], "rd_ci_high": [0.050], "participant_rate": [0.074],
                            "comparison_rate": [0.065], "n_matched": [310], "verdict": ["inconclusive"],
                            "jdl_statement": ["For every 100 comparison discharges, 6 were readmitted."],
                            "outcome": ["readmitted_within_30_days"]})
    listed = []
    for role in ("primary", "exploratory"):
        register = pd.DataFrame({"outcome_family": ["readmission"], "programme": ["any"],
                                 "outcome": ["readmitted_within_30_days"], "analysis_role": [role], "n_comparisons": [49]})
        row = verdicts.readmission_row(multiplicity.mark(effects, multiplicity.FAMILIES[0], register), RULE)
        listed.append(verdicts._list(pd.DataFrame([row], columns=verdicts.COLUMNS)))
    primary, exploratory = listed
    assert "comparisons in this run" not in primary + exploratory
    assert ("Primary outcome: named before the analysis as the main test, so it is judged on its own 95% interval. This "
            "run made 49 comparisons in all (each outcome for each group of participants); about 1 in 20 of them would "
            "show a difference by chance alone") in primary
    assert "Exploratory result: one of 49 comparisons this run made" in exploratory
    assert "only if it holds after allowing for all of them: read it as a lead to follow up, not as a finding." in exploratory
    assert "This run made 1 comparison in all" in verdicts.role_plain("primary", 1)
    assert verdicts.role_words("primary", 49) == "Primary outcome (49 comparisons in this run)."  # the evaluator's
    assert verdicts.role_plain("not available", None) == verdicts.NO_ROLE
