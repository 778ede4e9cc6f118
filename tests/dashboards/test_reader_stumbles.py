"""What an evaluator, commissioner or funder stumbled on, page by page: each test fails on the page as it was."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from dashboards import diagnostics_sections
from models.disclosure import DisclosureRule

RULE = DisclosureRule()


def _balance() -> pd.DataFrame:
    """A readmission comparison's balance rows: a common level, a rare one (1 person holds it: withheld before and
    after) and one withheld after matching only."""
    rows = [("age", 0.45, 0.05, None, None), ("sex[male]", -0.11, 0.02, 150.0, 140.0),
            ("sex[other]", -0.09, 0.04, 1.0, 1.0), ("event_type[youth_court]", 0.12, 0.2, 40.0, 3.0)]
    return pd.DataFrame([{"result": "readmission: any", "method": "match", "covariate": c, "source": c.split("[")[0],
                          "smd_before": b, "smd_after": a, "vr_before": 1.0, "vr_after": 1.0, "flag": False,
                          "vr_flag": False, "n_treated_before": 310, "n_comparison_before": 4000, "n_treated_after": 310,
                          "n_comparison_after": 740, "smallest_cell_before": cb, "smallest_cell_after": ca}
                         for c, b, a, cb, ca in rows])


def test_a_withheld_balance_row_says_it_is_withheld_in_the_chart_and_its_note():
    section = diagnostics_sections.balance_section(_balance(), RULE)
    labels = [y.replace("<br>", " ") for trace in section.figure.data for y in trace.y]
    assert "sex: other (* withheld: 1 to 7 people)" in labels  # not a bare "sex: other" with no point
    assert any(y.startswith("Event type: youth court (* after matching withheld") for y in labels)
    assert "sex: male" in labels and "age" in labels  # a published row keeps its plain label
    table = section.table.set_index("covariate")
    assert table.loc["sex[other]", "smd_after"] == "*" and table.loc["sex[male]", "smd_after"] != "*"  # the CSV agrees
    assert "withheld: 1 to 7 people" in section.note


def test_the_sroi_verdict_says_how_many_outcomes_were_valued_once():
    """The SROI item read "...; 11 of 11 outcomes could be valued." and, in the note under it, "11 of 11 outcomes
    valued.": said once, in the sentence."""
    from dashboards import verdicts

    value = pd.DataFrame([{"scope": "overall", "ratio": 0.14, "ratio_ci_low": 0.02, "ratio_ci_high": 0.24}])
    impact = pd.DataFrame({"scope": ["overall"] * 3, "outcome": ["a", "b", "c"], "pv": [10.0, 20.0, None],
                           "proxy_source": ["x"] * 3, "status": ["valued", "valued", "not valued"]})
    row = verdicts.sroi_row(value, impact)
    said = f"{row['sentence']} {row['design']}"
    assert len(re.findall(r"\d+ of \d+ outcomes", said)) == 1, said


def test_the_readmission_comparisons_are_in_words_and_the_csv_keeps_their_keys():
    """The evaluator read "Readmission within 30 days: any / timebank / programme", the mart's code words. The page
    says who was compared; the CSV keeps the mart's words, which join to the marts."""
    from dashboards.labels import words
    from dashboards.page import _shown

    assert words("Readmission within 30 days: any") == "Readmission within 30 days: Any participation"
    assert words("readmission: timebank") == "readmission: Time-bank members"
    assert words("readmission: programme") == "readmission: Programme participants"
    assert words("wellbeing: all / mean_of_areas") == "well-being: all / Mean of areas"  # as the summary table spells it
    assert words("30-day emergency readmission: participants 7.4%") == "30-day emergency readmission: participants 7.4%"
    assert _shown("result", "readmission: timebank", code=False)[0] == "readmission: Time-bank members"
    table = diagnostics_sections.published_balance(_balance(), RULE)
    assert set(table["result"]) == {"readmission: any"}  # the CSV's key, unchanged


def test_the_data_quality_page_names_its_sources_in_words_where_a_reader_meets_them(tmp_path):
    """The first table of the data-quality page listed ``timebank_members`` in code font: it reads "time-bank members
    (timebank_members.csv)"; the CSV keeps the source names."""
    from dashboards import data_quality
    from dashboards.page import Page, Section, render

    assert data_quality.source_words("timebank_members") == "time-bank members (timebank_members.csv)"
    assert data_quality.source_words("grants") == "grants (grants.csv or .xlsx)"
    frame = RULE.no_counts(pd.DataFrame({"source": ["timebank_members", "grants"], "files": [1, 1]}), "test sources")
    path = render(Page("data-quality.html", "Data quality", "Intro.", [Section(
        "Rows read", "S.", table=frame, csv_name="data-quality-sources.csv", code_columns=("source",),
        shown_values={"source": {s: data_quality.source_words(s) for s in ("timebank_members", "grants")}})]), tmp_path)
    page = path.read_text()
    assert "<td>time-bank members (timebank_members.csv)</td>" in page and "<code>timebank_members</code>" not in page
    assert pd.read_csv(tmp_path / "data-quality-sources.csv")["source"].tolist() == ["timebank_members", "grants"]


def test_the_common_support_note_names_its_columns_as_the_table_heads_them():
    """The note under "Common support" read "Caliper Width and Pooled Sd Logit are on the logit scale" (its column
    names put into title case) under a table headed "Caliper width" and "Pooled SD logit"."""
    from dashboards.labels import heading, words

    overlap = pd.DataFrame({"result": "readmission: any", "method": "match", "group": ["participants", "comparison"],
                            "n_before": [310, 4000], "share_treated_in_support": 1.0, "n_treated_outside_support": 0,
                            "n_comparison_removed": 0, "pooled_sd_logit": 0.7, "caliper_width": 0.14})
    note = words(diagnostics_sections.support_section(overlap, RULE).note)
    assert f"{heading('caliper_width')} and {heading('pooled_sd_logit')} are on the logit scale" in note
    assert "Pooled Sd Logit" not in note and "caliper_width" not in note


def test_withheld_quarters_and_grants_are_said_to_have_1_to_7_not_fewer_than_8():
    """The activity summary read "withheld (fewer than 8 trading accounts, ...)" and the funder's cost chart "Grants
    with fewer than 8 active members are withheld", where the tiles and every other sentence say "1 to 7" (a quarter
    with no trading account is not withheld)."""
    from dashboards.activity_sections import activity_section
    from dashboards.filters import ALL, Filter
    from dashboards.funder import grant_sections, withheld_grants
    from tests.dashboards.test_funder import _three_grants

    trading = {"TB01": [30, 45, 45, 50], "TB02": [9, 11, 15, 17], "TB03": [7, 15, 10, 10]}
    ta = pd.DataFrame([{"timebank_id": bank, "period_type": "quarter", "period_label": f"2022-Q{i + 1}",
                        "period_start": pd.Timestamp(2022, 3 * i + 1, 1), "members": 40, "active_members": 40,
                        "trading_members": t, "exchanges": 2 * t, "hours_exchanged": 2.0 * t, "reciprocity_index": 0.5}
                       for bank in trading for i, t in enumerate(trading[bank])])
    filters = [Filter("timebank", "Time bank", ((ALL, "All"),)), Filter("year", "Year", ((ALL, "All"),))]
    activity = activity_section(ta, RULE, filters)
    assert "withheld (1 to 7 trading accounts, or to protect one that has)." in activity.summary
    grants = _three_grants().assign(data_start=pd.Timestamp("2024-01-01"), data_end=pd.Timestamp("2024-12-31"))
    cost = grant_sections(grants, RULE, withheld_grants(grants, None, RULE))[1]
    assert cost.summary.endswith("Not drawn: G1 (withheld: 1 to 7 active members).")
    assert "fewer than" not in activity.summary + cost.summary


def test_the_pre_trend_check_says_what_the_model_said_not_a_verdict_of_its_own():
    """The page judged the check again from the interval beside the model's own caution (``warnings``), two sources
    for one verdict. Here the model cautioned on GP, whose rounded interval the page would have passed, and not on
    emergency admissions, whose interval the page would have failed: the page now says what the model said."""
    from dashboards.evaluator import PRETREND_CAUTION, pretrend_section
    from models.readmission.before_after import PRETREND_WARNING

    caution = PRETREND_WARNING.format(years="year", did=0.4, lo=0.0001, hi=0.8)
    assert caution.startswith(PRETREND_CAUTION)
    rows = {"washout_days": 90, "pretrend_n_matched": 120, "pretrend_p_value": 0.05, "pretrend_status": "estimated"}
    admissions = pd.DataFrame([{"outcome": "emergency_admissions", **rows, "pretrend_did": 0.2, "pretrend_ci_low": 0.1,
                                "pretrend_ci_high": 0.3, "warnings": "the engine's note"}])
    services = pd.DataFrame([{"service": "gp", **rows, "pretrend_did": 0.4, "pretrend_ci_low": 0.0001,
                              "pretrend_ci_high": 0.8, "warnings": f"the engine's note | {caution}"}])
    section = pretrend_section({"readmission_before_after": admissions, "service_use_change": services}, RULE)
    assert section.table.set_index("result")["check"].to_dict() == {"emergency admissions": "passed",
                                                                   "contacts: GP": "failed"}
    assert section.summary.startswith("2 before/after results checked, 1 failed.")


def test_the_balance_and_overlap_tables_say_once_what_every_row_shares_and_fit_a_desktop():
    """The covariate balance (14 columns) and overlap tables scrolled sideways at 1440 px: ``method`` was "match" on
    every row and ``source`` repeated the covariate's own label ("sex: male", source sex). The method is said once above
    the table, the source left to the CSV, which keeps every column."""
    balance = diagnostics_sections.balance_section(_balance(), RULE)
    assert "method" not in balance.shown_columns and "source" not in balance.shown_columns
    assert set(balance.table.columns) - set(balance.shown_columns) == {"method", "source"}
    assert "Every comparison used propensity-score matching (method match)." in balance.summary
    assert "(source)" in balance.note
    mixed = diagnostics_sections.balance_section(_balance().assign(method=["match", "match", "ipw", "ipw"]), RULE)
    assert "method" in mixed.shown_columns and "Every comparison used" not in mixed.summary


def test_a_diagnostics_chart_has_one_control_the_select_above_it():
    """The balance and overlap charts had two drop-downs, plotly's inside the chart and the select above it, for one
    chart. plotly's is no longer drawn; its buttons are what the select runs, and the summary names the select."""
    from dashboards.page import _picker

    section = diagnostics_sections.balance_section(_balance().assign(result="readmission: any").pipe(
        lambda b: pd.concat([b, b.assign(result="readmission: timebank")], ignore_index=True)), RULE)
    (menu,) = section.figure.layout.updatemenus
    assert menu.visible is False and [b.label for b in menu.buttons] == ["readmission: any", "readmission: timebank"]
    assert "<label for='pick-balance'>Result shown in the chart</label>" in _picker(section.figure, "balance")
    assert section.summary.endswith("Choose the result the chart shows in 'Result shown in the chart', above it.")
    assert "drop-down" not in section.summary


def test_every_ingest_rule_has_words_short_enough_for_a_label():
    """Every rule docs/data-contract.md lists (schemas/contract_doc.py: "Rules, in the order they are checked") is said in
    words on the data-quality page; a mapping's own rule reads with spaces."""
    from dashboards.glossary import RULES, rule_words
    from schemas import contract_doc

    listed = Path(contract_doc.__file__).read_text(encoding="utf-8").split("Rules, in the order they are checked:")[1].split("\n\n")[1]
    rules = {name for line in listed.splitlines()[2:] for name in re.findall(r"`(\w+)`", line.split("|")[1].split(
        " and a mapping's own")[0])}
    assert {"month_first_date", "conflicting_key", "field_count"} <= rules
    assert rules <= set(RULES), rules - set(RULES)
    assert all(len(w) <= 40 for w in RULES.values())  # longer, a repeated cell becomes a numbered note
    assert rule_words("inactive_or_deleted_member") == "inactive or deleted member"


def test_the_rules_chart_and_tables_say_each_rule_in_words_and_keep_its_code():
    """The rules chart read "Service Contacts: type" beside "persons: type", file-style names; the tables had only the
    code. The chart says the source and the rule in words, one bar per column, with the codes on hover; the tables keep
    the code and add its meaning."""
    import duckdb

    from dashboards import data_quality

    con = duckdb.connect()
    con.execute("CREATE SCHEMA quarantine")
    for source in data_quality.SOURCES:
        con.execute(f"CREATE TABLE quarantine.{source} (source VARCHAR, rule VARCHAR, \"column\" VARCHAR, "
                    "source_file VARCHAR, source_line BIGINT, expected VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO quarantine.persons SELECT 'persons', 'month_first_date', 'birth_date', '/in/persons.csv', "
                "i, 'a day-first date', '03/04/1970' FROM range(2, 14) t(i)")
    con.execute("INSERT INTO quarantine.timebank_exchanges SELECT 'timebank_exchanges', 'type', c, '/in/x.csv', i, "
                "'a number', 'x' FROM range(2, 12) t(i), (VALUES ('hours'), ('exchanged_on')) v(c)")
    broken = data_quality.rules_broken(con)
    assert broken.set_index(["rule", "column"])["meaning"].to_dict() == {
        ("month_first_date", "birth_date"): "date that may be month first (US style)",
        ("type", "exchanged_on"): "value of the wrong type", ("type", "hours"): "value of the wrong type"}
    assert data_quality.examples(con, RULE)["meaning"].iloc[0] == "date that may be month first (US style)"
    section = data_quality.rules_section(broken, RULE)
    (bars,) = section.figure.data
    assert [y.replace("<br>", " ") for y in bars.y] == ["people: date that may be month first (US style) (birth date)",
                                                        "time-bank exchanges: value of the wrong type (hours)",
                                                        "time-bank exchanges: value of the wrong type (exchanged on)"]
    assert [c[0] for c in bars.customdata] == ["persons.birth_date, rule month_first_date",
                                               "timebank_exchanges.hours, rule type", "timebank_exchanges.exchanged_on, rule type"]
    assert section.summary.startswith("The rule broken most often was 'date that may be month first (US style)' (rule "
                                      "month_first_date), in people (birth date).")
    assert {"rule", "meaning"} <= set(section.table.columns) and "rule" in section.code_columns


def test_the_selected_areas_bar_is_told_apart_by_more_than_its_colour():
    """WCAG 2.2 1.4.1 Use of colour: picking an area turned its bar orange among blue ones, and nothing else marked it
    (a reader who cannot tell the two apart, or a grey-scale print, lost which bar was theirs). It is hatched too."""
    from dashboards.filters import Filter
    from dashboards.labels import area
    from dashboards.readmission_sections import area_section

    codes = ["E06000001", "E06000002", "E06000003"]
    rates = pd.DataFrame({"dimension": ["overall"] + ["area"] * 3, "value": ["all"] + codes,
                          "discharges": [1550, 470, 680, 400], "readmissions": [185, 55, 80, 50]})
    rates["rate"] = rates["readmissions"] / rates["discharges"]
    areas = Filter("area", "Area of residence", (("all", "All areas"), *((c, area(c)) for c in codes)))
    section = area_section(rates, RULE, [areas])
    bars = {key: item.figure.data[0].marker for key, item in section.variants.items.items()}
    picked = next(marker for key, marker in bars.items() if "E06000002" in str(key))
    everyone = next(marker for key, marker in bars.items() if "all" in str(key))
    assert [bool(s) for s in picked.pattern.shape] == [False, True, False]
    assert len(set(picked.color)) == 2 and not any(everyone.pattern.shape)
    assert "hatched" in section.responds


def test_the_words_for_a_results_place_among_the_comparisons_are_explained_where_they_are_met():
    """The commissioner's first screen says "Exploratory result (45 comparisons in this run)" and "Primary outcome", the
    funnel tables' last column "Overdispersion", and the evaluator's first line "judged over the run's 45 comparisons
    (Holm)": none was in either page's "Words used on this page"."""
    from dashboards import glossary
    from dashboards.verdicts import role_words

    def glossed(terms) -> tuple[str, str]:
        return " ".join(t for t, _ in terms).lower(), " ".join(m for _, m in terms).lower()

    met = [role_words(role, 45).split(" (")[0].lower() for role in ("primary", "exploratory")]
    assert met == ["primary outcome", "exploratory result"]
    for terms in (glossary.COMMISSIONER, glossary.EVALUATOR):
        assert all(words in glossed(terms)[0] for words in met)
    assert "overdispersion" in glossed(glossary.COMMISSIONER)[1]
    assert "holm" in glossed(glossary.EVALUATOR)[0]


def test_the_sroi_row_of_the_verdicts_csv_reads_as_the_page_does():
    """The CSV's row said verdict "£0.00 per £1" under the page's "✗ Below £1", a comparison value of "£1.00" as if a
    comparison group had one, and an interval of -1.3 to -0.7 "£ per £1 invested" beside the page's "−£0.30 to £0.30"
    (both right: the CSV's was from break-even, which it did not say)."""
    from dashboards import verdicts
    from dashboards.labels import pounds

    value = pd.DataFrame([{"scope": "overall", "ratio": 0.004, "ratio_ci_low": -0.3, "ratio_ci_high": 0.3}])
    row = verdicts.sroi_row(value, None)
    assert row["verdict"] == verdicts.verdict_head(row)[2].lower() == "below £1"
    assert row["comparison_value"] == "£1.00 (break-even)" and "break-even" in row["unit"]
    assert f"95% interval {pounds(1 + row['ci_low'])} to {pounds(1 + row['ci_high'])}" in row["sentence"]
    assert f"(95% interval {pounds(1 + row['ci_low'])} to {pounds(1 + row['ci_high'])})" in verdicts.answer(row)
    above = verdicts.sroi_row(value.assign(ratio=2.1, ratio_ci_low=1.4, ratio_ci_high=2.8), None)
    unsure = verdicts.sroi_row(value.assign(ratio=1.1, ratio_ci_low=0.6, ratio_ci_high=1.6), None)
    assert (above["verdict"], unsure["verdict"]) == ("above £1", "inconclusive")


def test_a_difference_beside_its_rounded_rates_says_it_is_from_the_unrounded_ones():
    """The first screen read participants 7.4% and comparison 6.5% beside a difference of "+1.0" points: a reader
    subtracts and gets 0.9. The difference is worked out before rounding (as official statistics publish it, with its
    interval), and every place that shows it beside the two rounded rates or means says so."""
    from dashboards import headlines, verdicts, wording
    from models.disclosure import DisclosureRule

    rule = DisclosureRule()
    effects = pd.DataFrame({"comparison": ["any"], "status": ["estimated"], "n_matched": [310],
                            "participant_rate": [0.07445], "comparison_rate": [0.06451], "risk_difference": [0.00994],
                            "rd_ci_low": [-0.03], "rd_ci_high": [0.05], "verdict": ["inconclusive"],
                            "jdl_statement": ["For every 100 comparison discharges, 6 were readmitted."],
                            "max_abs_smd_after": [0.05], "covariates": ["age"]})
    rates = pd.DataFrame({"dimension": ["overall"], "value": ["all"], "readmissions": [100], "discharges": [1000]})
    tile = headlines.readmission(rates, effects, rule, "all", "all", "all")
    assert (tile.value, tile.against) == ("7.4%", "matched comparison 6.5%")
    assert tile.interval.startswith("difference +1.0 points from the unrounded rates (95% CI")
    row = verdicts.readmission_row(effects, rule)
    assert (row["participants_value"], row["comparison_value"]) == ("7.4%", "6.5%")
    assert "+1.0 percentage points (from the unrounded rates)" in row["sentence"]
    said = wording.statements(effects, None, None, None, rule).iloc[0]
    assert "7.4% against 6.5%" in said["what you can say"] and "+1.0 points (from the unrounded rates)" in said["what you can say"]
