"""The HES rule by hand: 0 shown, 1-7 suppressed, others rounded to 5; rates on suppressed counts hidden."""

import math

import pandas as pd

from models.disclosure import SUPPRESSED, DisclosureRule


def test_hes_rule_counts():
    rule = DisclosureRule()
    assert [rule.count(n) for n in (0, 1, 7, 8, 10, 12, 13, 102, 103)] == [0, "*", "*", 10, 10, 10, 15, 100, 105]
    assert rule.count(None) is None


def test_rates_on_suppressed_counts_are_hidden():
    frame = pd.DataFrame({"unit": ["a", "b"], "readmissions": [3, 40], "discharges": [30, 400], "rate": [0.1, 0.1]})
    out = DisclosureRule().table(frame, ["readmissions", "discharges"], {"rate": "readmissions"})
    assert out["rate"].tolist() == [SUPPRESSED, 0.1]
    assert out["readmissions"].tolist() == [SUPPRESSED, 40] and out["discharges"].tolist() == [30, 400]


def test_threshold_is_configurable():
    assert DisclosureRule(suppress_max=5, round_to=1).count(6) == 6


def test_a_rate_is_hidden_when_its_numerator_or_denominator_is_suppressed():
    frame = pd.DataFrame({"k": [10, 10, 0], "n": [100, 5, 20], "rate": [0.1, 2.0, 0.0]})
    out = DisclosureRule().table(frame, ["k", "n"], {"rate": ("k", "n")})
    assert out["rate"].tolist() == [0.1, SUPPRESSED, 0.0] and out["n"].tolist() == [100, SUPPRESSED, 20]


def test_a_share_of_a_group_is_hidden_when_either_of_its_cells_is_a_count_of_1_to_7():
    rule = DisclosureRule()
    assert rule.hides_shares(8, 0.125)  # 1 of 8 had the outcome
    assert rule.hides_shares(40, 0.9)  # 36 did, 4 did not
    assert rule.hides_shares(103, 0.068)  # 7 of 103 (a weighted share: its nearest whole count)
    assert rule.hides_shares(5, 0.3)  # the group itself is 1-7
    assert not rule.hides_shares(40, 0.5)  # 20 and 20
    assert not rule.hides_shares(40, 0.0) and not rule.hides_shares(40, 1.0)  # 0 stays 0, as a count does
    assert not rule.hides_shares(40, 0.2)  # 8 and 32
    assert not rule.hides_shares(40, None) and not rule.hides_shares(None, 0.1)
    assert rule.hides_shares(105, 0.3, 6 / 105)  # participants 31 of 105, but 6 of the 105 comparison people


def test_derived_figures_come_from_the_published_counts():
    # G001 of the issue: 75,100 over 56 active members = 1,341.07 gave the count back; over the published 55 it cannot.
    frame = pd.DataFrame({"amount": [75100.0, 5000.0], "active": [56, 3], "k": [14, 2], "n": [24, 30]})
    out = DisclosureRule().table(frame, ["active", "k", "n"], ratios={"cost": ("amount", "active", 1.0, False),
                                                                      "pct": ("k", "n", 100.0, True)})
    assert out["active"].tolist() == [55, SUPPRESSED] and round(75100.0 / out["cost"][0]) == 55
    assert out["cost"][1] == SUPPRESSED
    assert out["pct"][0] == 100 * 15 / 25 and out["pct"][1] == SUPPRESSED  # 14 of 24 is published as 15 of 25


def test_secondary_suppression_takes_the_next_smallest_cell_of_the_group():
    frame = pd.DataFrame({"quarter": ["q1", "q1", "q1", "q2", "q2"], "bank": list("ABCAB"), "n": [3, 40, 12, 50, 60]})
    out = DisclosureRule().table(frame, ["n"], secondary=[["quarter"]])
    assert out["n"].tolist() == [SUPPRESSED, 40, SUPPRESSED, 50, 60]  # q1: 3 is primary, 12 the secondary
    assert out.attrs["disclosure"]["rows_suppressed_secondarily"] == 1


def test_counts_in_text_are_published_through_the_rule():
    rule = DisclosureRule()
    assert rule.text("not fitted: 18 people, fewer than min_model_people = 20") == \
        "not fitted: 20 people, fewer than min_model_people = 20"
    assert rule.text("not estimated: 4 participants and 0 comparison people") == \
        "not estimated: * participants and 0 comparison people"


def test_a_statistic_withheld_in_one_table_is_withheld_in_every_other():
    from models.disclosure import Withheld

    rule, withheld = DisclosureRule(), Withheld()
    grants = rule.table(pd.DataFrame({"grant_id": ["G018", "G001"], "active": [3, 56], "index": [0.1238, 0.34]}),
                        ["active"], {"index": "active"})
    withheld.add("index", grants, ["grant_id"])
    allocation = pd.DataFrame({"grant_id": ["G001", "G018"], "index": [0.34, 0.1238], "allocation": [10.0, 2.0]})
    out = withheld.apply(allocation, "index", ["grant_id"], ("allocation",))
    assert out["index"].tolist() == [0.34, SUPPRESSED] and out["allocation"].tolist() == [10.0, SUPPRESSED]


def _curve(rows):
    return pd.DataFrame(rows, columns=["time_days", "n_at_risk", "n_events"])


def test_a_survival_curve_steps_only_on_counts_rounded_to_eight():
    """40 people: 1 reoffends on day 10, 1 on day 20, 6 on day 30, 4 on day 50; 2 leave between days 30 and 50, 6
    between 50 and 365, 20 at 365. Cumulative events 1, 2, 8, 12 round (up to a multiple of 8, less 4) to 4, 4, 4,
    12; cumulative censored 2, 8, 28 to 4, 4, 28. Risk sets 40, 32 at the two steps: 4/40 on day 10 and 8/32 on
    day 50, so 0.9 and 0.675; no step is one person's day (days 20 and 30 vanish)."""
    exact = _curve([(0, 40, 0), (10, 40, 1), (20, 39, 1), (30, 38, 6), (50, 30, 4), (365, 20, 0)])
    out = DisclosureRule().survival_curve(exact)
    assert out["time_days"].tolist() == [0, 10, 50, 365]
    assert out["n_at_risk"].tolist() == [40, 40, 32, 24] and out["n_events"].tolist() == [0, 4, 8, 0]
    assert out["survival"].round(6).tolist() == [1.0, 0.9, 0.675, 0.675]
    # Greenwood on the log-log scale: var = 4/(40*36) + 8/(32*24); the interval is S^exp(±1.96 sqrt(var)/|ln S|)
    var, s = 4 / (40 * 36) + 8 / (32 * 24), 0.675
    spread = 1.959963984540054 * var ** 0.5 / abs(math.log(s))
    assert abs(out["ci_low"].iloc[2] - s ** math.exp(spread)) < 1e-12 and abs(out["ci_high"].iloc[2] - s ** math.exp(-spread)) < 1e-12
    assert out["ci_low"].iloc[0] == 1.0 == out["ci_high"].iloc[0]


def test_a_rounded_curve_stops_where_fewer_than_16_are_at_risk():
    """40 people: 8 reoffend on day 10, 12 leave before day 20, 8 reoffend on day 20, 8 leave before day 365. Rounded,
    the risk sets are 40, 40, 24 and then 8: the curve stops on day 20 (0.9, then 0.9 x 16/24 = 0.6), before a step
    of 8 could be most of the people left."""
    exact = _curve([(0, 40, 0), (10, 40, 8), (20, 20, 8), (365, 4, 0)])
    out = DisclosureRule().survival_curve(exact)
    assert out["time_days"].tolist() == [0, 10, 20] and out["n_at_risk"].tolist() == [40, 40, 24]
    assert out["survival"].round(6).tolist() == [1.0, 0.9, 0.6]
    assert DisclosureRule().survival_curve(_curve([(0, 12, 0), (50, 12, 2), (365, 10, 0)])).empty  # 10 at the start


def test_the_evaluator_draws_a_rounded_curve_only_for_a_group_of_40_or_more():
    from dashboards.evaluator import km_section

    big = _curve([(0, 40, 0), (10, 40, 1), (20, 39, 1), (30, 38, 6), (50, 30, 4), (365, 20, 0)])
    small = _curve([(0, 10, 0), (198, 10, 1), (365, 0, 0)])  # 1 of 10 reoffended on day 198
    survival = pd.concat([big.assign(programme="a", group="participants"), small.assign(programme="b", group="participants")])
    section = km_section(survival.assign(survival=0.0, ci_low=0.0, ci_high=0.0), DisclosureRule())
    table = section.table.set_index("programme")
    assert table.loc["a", "survival_end"] == 0.675 and table.loc["a", "events"] == 10
    # the curve's own events (12: 4 on day 10, 8 on day 50) beside the rounded total, which it did not match (15 and
    # a curve of 12 of 60 in the demo); the first step holds 4, not "at least 8"
    assert table.loc["a", "events_on_curve"] == 12
    assert "every step holds 8 events (the first 4" in section.summary and "10.0 percentage points of the smallest" in section.summary
    assert pd.isna(table.loc["b", "survival_end"]) and table.loc["b", "events"] == SUPPRESSED
    assert table.loc["b", "note"].startswith("not drawn")
    (trace,) = [t for t in section.figure.data if t.showlegend is not False]
    assert list(trace.x) == [0, 10, 50, 365] and [round(y, 6) for y in trace.y] == [1.0, 0.9, 0.675, 0.675]
    # under the default risk-set design the days count from each participant's time zero, not the index event
    assert section.figure.layout.xaxis.title.text.startswith("days since time zero")
    old_design = km_section(survival.assign(survival=0.0, ci_low=0.0, ci_high=0.0), DisclosureRule(), "exposure_window")
    assert old_design.figure.layout.xaxis.title.text == "days since the index event"


def test_an_smd_resting_on_1_to_7_people_with_a_level_is_hidden():
    """sex[other]: 1 participant of 312 has it. Its SMD (-0.089) and variance ratio (0.306) before matching give the
    share back, so both are *; after matching the cells hold 10 or more, so they are shown."""
    from dashboards.diagnostics_sections import published_balance

    balance = pd.DataFrame({"result": ["readmission: any"] * 2, "method": ["match"] * 2, "covariate": ["sex[other]", "age"],
                            "source": ["sex", "age"], "smd_before": [-0.089, 0.4], "smd_after": [0.01, 0.05],
                            "vr_before": [0.306, 0.7], "vr_after": [1.0, 0.9], "flag": [False, False],
                            "vr_flag": [False, False], "n_treated_before": [312, 312], "n_comparison_before": [43385, 43385],
                            "n_treated_after": [310, 310], "n_comparison_after": [740, 740],
                            "smallest_cell_before": [1.0, float("nan")], "smallest_cell_after": [12.0, float("nan")]})
    table = published_balance(balance, DisclosureRule()).set_index("covariate")
    assert table.loc["sex[other]", "smd_before"] == SUPPRESSED and table.loc["sex[other]", "vr_before"] == SUPPRESSED
    assert table.loc["sex[other]", "smd_after"] == 0.01 and table.loc["age", "smd_before"] == 0.4
    assert "smallest_cell_before" not in table.columns and table.attrs["disclosure"]["table"] == "covariate balance"


def test_the_balance_chart_draws_only_what_its_table_publishes():
    """Prison listeners: 7 matched participants; the table showed * for their largest |SMD|, the chart drew 0.389. And
    the largest |SMD| over every column was sex[male]'s 0.316, whose cells (4 men) the covariate table hides: the point
    is the largest among the published covariate rows (age, 0.05), the verdict still judged on every row."""
    from dashboards.evaluator import balance_section

    effects = pd.DataFrame({"programme": ["any_participation", "prison_listeners"], "measure": ["binary_rate"] * 2,
                            "n_matched": [60, 7], "max_abs_smd": [0.316, 0.3894641], "covariates": ["age, sex"] * 2})
    balance = pd.DataFrame({"result": ["reoffending: any_participation"] * 2 + ["reoffending: prison_listeners"],
                            "covariate": ["age", "sex[male]", "age"], "smd_after": [0.05, -0.316, 0.3894641],
                            "n_treated_after": [60, 60, 7], "n_comparison_after": [60, 60, 7],
                            "smallest_cell_after": [float("nan"), 4.0, float("nan")]})
    section = balance_section({"readmission_effects": None, "reoffending_effects": effects, "wellbeing_effects": None,
                               "comparison_balance": balance}, DisclosureRule())
    # the withheld result keeps its row, labelled withheld, with no point: no value of it is drawn
    assert list(section.figure.data[0].x) == [0.05, None]
    assert "withheld: 1 to 7 people" in section.figure.data[0].y[1].replace("<br>", " ")
    table = section.table.set_index("result")
    assert table.loc["reoffending: any_participation", "max_abs_smd_after"] == 0.05
    assert table.loc["reoffending: any_participation", "balanced"] == "no (> 0.1)"
    assert table.loc["reoffending: prison_listeners", "max_abs_smd_after"] == SUPPRESSED
    assert table.loc["reoffending: prison_listeners", "balanced"] == SUPPRESSED


def test_a_lone_withheld_cell_takes_the_next_smallest_of_each_group_with_it_until_none_is_alone():
    """A time bank's years add up to its whole, and a year's banks to the year's. TB01 2025 has 3 people: withheld,
    and TB01's next smallest year (2024, 10) with it; each leaves its year with one withheld bank, so TB02 2024 (12)
    and TB02 2025 (30) go too. Then every group holds two or none. The wholes (period all) are never parts."""
    frame = pd.DataFrame({"timebank_id": ["TB01"] * 4 + ["TB02"] * 4,
                          "period": ["all", "2023", "2024", "2025"] * 2,
                          "n_paired": [34, 21, 10, 3, 62, 20, 12, 30]})
    years = frame["period"] != "all"
    hidden = DisclosureRule().withheld_cells(frame, "n_paired", [(years, ["timebank_id"]), (years, ["period"])])
    assert frame[hidden][["timebank_id", "period"]].values.tolist() == [["TB01", "2024"], ["TB01", "2025"],
                                                                          ["TB02", "2024"], ["TB02", "2025"]]


def test_the_signed_rank_p_value_is_withheld_with_a_suppressed_number_improved():
    """11 people, 2 improved: the mean, its interval and the Wilcoxon p together left 1-4 sets of changes, pinning the
    2. The mean and interval stay (they rest on the 11); the p-value ranks the improvements, so it goes with them."""
    from dashboards.wellbeing_sections import change_table_section

    change = pd.DataFrame({"timebank_id": ["all"], "period": ["all"], "star_version": ["justice_star"],
                           "area": ["accommodation"], "n_paired": [11], "mean_baseline_paired": [4.2], "mean_latest": [4.5],
                           "mean_change": [0.3], "ci_low": [-0.4], "ci_high": [1.0], "wilcoxon_p": [0.41],
                           "n_improved": [2], "pct_improved": [18.2], "small_n": [True]})
    row = change_table_section(change, DisclosureRule()).table.iloc[0]
    assert row["wilcoxon_p"] == SUPPRESSED and row["n_improved"] == SUPPRESSED and row["pct_improved"] == SUPPRESSED
    assert row["mean_change"] == 0.3 and row["ci_low"] == -0.4 and row["n_paired"] == 10


def test_balance_lists_a_stars_per_area_results_once_when_they_share_its_matched_sample():
    """Under the target-trial design each Star's areas are estimated on its 'mean of areas' match, which alone has
    covariate rows: the two area results are folded into that row (listed, they read * and counted as 'no' twice
    more). Under the earlier design each area has its own match and its own row."""
    from dashboards.evaluator import balance_section

    effects = pd.DataFrame({"star_version": ["recovery_star"] * 3, "area": ["mean_of_areas", "work", "trust_hope"],
                            "n_matched": [40] * 3, "max_abs_smd_after": [0.3] * 3, "covariates": ["age"] * 3,
                            "design": ["prior_reading"] * 3})
    balance = pd.DataFrame({"result": ["wellbeing: recovery_star / mean_of_areas"], "covariate": ["age"],
                            "smd_after": [0.3], "n_treated_after": [40], "n_comparison_after": [80],
                            "smallest_cell_after": [float("nan")]})
    marts = {"readmission_effects": None, "reoffending_effects": None, "wellbeing_effects": effects,
             "comparison_balance": balance}
    section = balance_section(marts, DisclosureRule())
    assert section.table["result"].tolist() == ["well-being: recovery_star / mean_of_areas"]
    assert section.table["max_abs_smd_after"].tolist() == [0.3]
    assert "2 well-being results per area or for a reliable change not listed" in section.summary
    assert "1 of the 1 published" in section.summary
    earlier = balance_section({**marts, "wellbeing_effects": effects.assign(design="joined_by_last_reading")},
                              DisclosureRule())
    assert len(earlier.table) == 3 and "not listed" not in earlier.summary


def test_distance_summary_names_a_fall_as_a_fall_and_uses_the_tables_change():
    """Every area fell: the summary said "the largest gain is in Crime-free life (-0.37 points)", from the two rounded
    means, beside a table whose change was -0.364. It now names the smallest fall, with the table's mean change."""
    from dashboards.filters import ALL, Filter
    from dashboards.wellbeing_sections import distance_sections

    areas = ["crime_free_life", "drugs", "accommodation"]
    change = pd.DataFrame({"star_version": "justice_star", "area": areas, "timebank_id": ALL, "period": ALL,
                           "n_paired": [12, 30, 40], "mean_baseline_paired": [5.5, 6.0, 6.2],
                           "mean_latest": [5.136, 5.2, 5.5], "mean_change": [-0.364, -0.8, -0.7]})
    filters = [Filter("timebank", "Time bank", ((ALL, "All"),)), Filter("year", "Year", ((ALL, "All"),))]
    (section,) = distance_sections(change, DisclosureRule(), filters)
    assert "higher in no area, the smallest fall is in Crime-free life (-0.36 points)" in section.summary
    rising = change.assign(mean_change=[-0.364, 0.25, -0.7], mean_latest=[5.136, 6.25, 5.5])
    (section,) = distance_sections(rising, DisclosureRule(), filters)
    assert "higher in 1 area, the largest gain is in Drugs (+0.25 points)" in section.summary


def test_secondary_suppression_takes_its_primary_cells_from_a_mask():
    """A funder's allocations add up to its pot: G1 (withheld for its 1-7 active members, though its £100 is no count)
    takes the next smallest non-empty allocation, G3's £200, not G4's £0 (the pot less the others is G1's with or
    without it). F2's lone grant has no partner."""
    frame = pd.DataFrame({"funder": ["F1"] * 4 + ["F2"], "grant_id": ["G1", "G2", "G3", "G4", "G5"],
                          "allocation": [100.0, 300.0, 200.0, 0.0, 50.0]})
    everything = pd.Series(True, index=frame.index)
    primary = frame["grant_id"].isin(["G1", "G5"])
    hidden = DisclosureRule().withheld_cells(frame, "allocation", [(everything, ["funder"])], primary=primary)
    assert frame.loc[hidden, "grant_id"].tolist() == ["G1", "G3", "G5"]


def test_the_allocation_sensitivity_withholds_a_second_grant_of_the_funder_on_its_own():
    """The base allocation is the allocation: with G1's withheld, G2's (£900) was the pot less nothing else. The table
    withholds the funder's next smallest itself (it relied on the allocation mart being there), and a funder whose
    every grant is withheld leaves a section that says so (it raised on an empty table)."""
    from dashboards.funder import sensitivity_section
    from models.disclosure import Withheld

    rows = [("F", g, a, ws, base, base + d, r) for g, base, r in (("G1", 300_00, 2), ("G2", 900_00, 1))
            for a, ws, d in ((0.5, "base", 0), (1.0, "equal", 50_00))]
    sensitivity = pd.DataFrame(rows, columns=["funder", "grant_id", "alpha", "weight_set", "base_allocation_pence",
                                              "allocation_pence", "rank"])
    withheld = Withheld()
    withheld.keys["reciprocity_index"] = {("G1",)}
    section = sensitivity_section(sensitivity, DisclosureRule(), withheld)
    assert section.table is None and "No grant's allocation can be published (2 grants withheld)" in section.summary
    other = pd.DataFrame([("H", "G3", 0.5, "base", 500_00, 500_00, 1)], columns=sensitivity.columns)
    section = sensitivity_section(pd.concat([sensitivity, other]), DisclosureRule(), withheld)
    assert section.table["grant_id"].tolist() == ["G3"]


def test_the_cohort_table_lists_the_drawn_programmes_only():
    """Everyone's cohort ("all_people", 20) beside its parts (no participation 15, participants *) was a total less a
    cell; the table lists the programmes the chart draws. A cohort of 0 people has no share (it raised)."""
    from dashboards.filters import ALL, Filter
    from dashboards.reoffending_sections import cohort_section

    rates = pd.DataFrame({"event_type": ALL, "status": "final", "cohort_period": ["2024-Q2"] * 3 + ["2024-Q3"],
                          "programme": ["all_people", "no_participation", "any_participation", "any_participation"],
                          "persons": [20, 15, 5, 0], "reoffenders": [8, 6, 2, 0]})
    filters = [Filter("timebank", "Time bank", ((ALL, "All"),)), Filter("year", "Year", ((ALL, "All"),))]
    table = cohort_section(rates, DisclosureRule(), filters).table
    assert set(table["programme"]) == {"no_participation", "any_participation"}
    empty = table[table["cohort_period"] == "2024-Q3"].iloc[0]
    assert empty["persons"] == 0 and pd.isna(empty["reoffended_pct"])


def test_the_tornado_gives_a_count_of_people_as_the_impact_map_publishes_it():
    """23 members with a reliable improvement at a scale of 0.5: the map showed 12.5 (25, rounded) and the tornado's
    quantity row 11.5, the exact count back."""
    from dashboards.sroi_sections import COLUMNS, sections

    impact = pd.DataFrame([{c: None for c in COLUMNS} | {
        "scope": "overall", "outcome": o, "quantity": q, "pv": pv, "quantity_unit": u, "quantity_estimate": e,
        "quantity_scale": 0.5 if u == "people" else 1.0, "quantity_source": o}
        for o, q, pv, u, e in (("better_wellbeing", 11.5, 15_000.0, "people", 23.0),
                               ("fewer_readmissions", 8.7, 20_000.0, "events", 8.7))])
    sens = pd.DataFrame({"scope": "overall", "outcome": ["better_wellbeing", "better_wellbeing", "fewer_readmissions"],
                         "assumption": ["quantity", "attribution", "quantity"], "base": [11.5, 20.0, 8.7],
                         "low": [5.0, 10.0, 4.0], "high": [18.0, 40.0, 12.0], "ratio_low": [0.1, 0.2, 0.1],
                         "ratio_high": [0.3, 0.2, 0.3], "swing": [0.2, 0.0, 0.2], "switching_value": [None] * 3,
                         "switching_note": [None] * 3})
    impact_map, tornado = sections({"impact_map": impact, "social_value_sensitivity": sens,
                                    "social_value": pd.DataFrame({"scope": ["overall"], "ratio": [0.2]}),
                                    "timebank_activity": None}, DisclosureRule())
    assert impact_map.table.set_index("outcome").loc["better_wellbeing", "quantity"] == 12.5
    assert tornado.table["base"].tolist() == [12.5, 20.0, 8.7]


def test_the_pre_trend_check_of_the_before_after_rows_on_the_evaluator_page():
    """Emergency admissions pass (0 inside the interval), GP fails (0 outside), A&E's check was not run, and
    mental health's rests on 5 matched participants: its figures are withheld with the count, not judged."""
    from dashboards.evaluator import pretrend_section

    nan = float("nan")
    admissions = pd.DataFrame({"outcome": ["emergency_admissions"], "washout_days": [0], "pretrend_n_matched": [120],
                               "pretrend_did": [0.02], "pretrend_ci_low": [-0.05], "pretrend_ci_high": [0.09],
                               "pretrend_p_value": [0.6], "pretrend_status": ["estimated"], "warnings": [""]})
    services = pd.DataFrame({"service": ["gp", "ae", "mental_health"], "washout_days": [0] * 3,
                             "pretrend_n_matched": [120, 0, 5], "pretrend_did": [0.8, nan, 0.9],
                             "pretrend_ci_low": [0.3, nan, 0.2], "pretrend_ci_high": [1.3, nan, 1.6],
                             "pretrend_p_value": [0.001, nan, 0.01],
                             "pretrend_status": ["estimated", "not estimated: no participant's data reach back before "
                                                 "the before window", "estimated"],
                             "warnings": ["pre-trend check failed: ...", None, "pre-trend check failed: ..."]})
    section = pretrend_section({"readmission_before_after": admissions, "service_use_change": services},
                               DisclosureRule())
    table = section.table.set_index("result")
    assert table["check"].tolist() == ["passed", "failed", "not run", SUPPRESSED]
    assert table.loc["contacts: GP", "pretrend_did"] == 0.8 and table.loc["contacts: GP", "n_matched"] == 120
    assert table.loc["contacts: mental health", "pretrend_did"] == SUPPRESSED
    assert section.summary.startswith("3 before/after results checked, 1 failed. The check is the same matched "
                                      "difference-in-differences one year earlier: the year before joining against")
    assert section.shown_values["result"]["contacts: A&E"] == "Contacts: A&E"  # the page's words; the CSV keeps the text
    washed = pretrend_section({"readmission_before_after": admissions.assign(washout_days=90),
                               "service_use_change": services.assign(washout_days=90)}, DisclosureRule())
    assert "one year earlier: the year ending 90 days before joining against the year before that." in washed.summary
    assert pretrend_section({"readmission_before_after": None, "service_use_change": None},
                            DisclosureRule()).table is None


def test_the_impact_maps_summary_counts_its_hours_as_outputs_not_outcomes():
    """The summary read "11 outcomes in the impact map, 7 of them valued" when 4 rows were hours reported as outputs."""
    from dashboards.sroi_sections import _summary

    rows = [{"outcome": f"o{i}", "pv": 100.0 * i, "status": "valued", "quantity_source": "avoided_readmissions",
             "quantity": 1.0, "quantity_estimate": 1.0, "quantity_n": None, "quantity_unit": "events", "proxy_source": "PSSRU"} for i in range(1, 8)]
    rows += [{"outcome": f"TB0{i}_hours_exchanged", "pv": None, "status": "output: reported, not valued",
              "quantity_source": f"hours_given@TB0{i}", "quantity": 50.0, "quantity_estimate": 50.0, "quantity_n": None, "quantity_unit": "hours", "proxy_source": None}
             for i in range(1, 5)]
    text = _summary(pd.DataFrame(rows), set(), DisclosureRule(), None)
    assert text.startswith("7 outcomes and 4 outputs (hours exchanged, reported and not valued) in the impact map, 7 of "
                           "the outcomes valued")
