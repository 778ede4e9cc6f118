"""Human labels on every built page: no snake_case, no share shown as a bare decimal, thousands separated, plurals right.

Reads what a reader sees (tests/dashboards/page_text.py): visible text, every filter state's
summaries and table cells, and each chart's title, axes, legend and category labels.
Evaluators and data managers also see names as their files spell them (files, columns,
rules, run ids, the configuration): those are in <code> or <pre>, and only there.
"""

from __future__ import annotations

import re

import pytest

from dashboards.page import PAGES
from tests.dashboards.page_text import page_text, tables

SNAKE = re.compile(r"(?<![\w./-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b(?!\.\w)")
SHARE_HEADING = re.compile(r"(rate|share|\(%\)|^%)", re.I)
UNSEPARATED = re.compile(r"(?<![\w.,:-])\d{5,}(?![\w.:-])")
ONE_PLURAL = re.compile(r"(?<![\d.,£])\b1 (?!in\b)([a-z]+s)\b")
VERBATIM_ALLOWED = {"evaluator.html", "data-quality.html"}


@pytest.fixture(params=["demo_run", "hardening_run"])
def site(request):
    return request.getfixturevalue(request.param)[0]


@pytest.mark.parametrize("name", [f for f, _ in PAGES])
def test_no_snake_case_on_any_page(site, name):
    text = page_text(site / name)
    found = {(kind, token, s[:80]) for kind in ("text", "variants", "charts") for s in text[kind] for token in SNAKE.findall(s)}
    assert found == set()
    if name not in VERBATIM_ALLOWED:
        assert text["code"] == []


@pytest.mark.parametrize("name", [f for f, _ in PAGES])
def test_shares_are_percentages_and_numbers_are_readable(site, name):
    checked = 0
    for table_id, head, rows in tables(site / name):
        for i, heading in enumerate(head):
            if not SHARE_HEADING.search(heading):
                continue
            for row in rows:
                if i < len(row) and row[i] not in ("", "*", "–"):
                    assert row[i].endswith("%"), (table_id, heading, row[i])
                    checked += 1
    text = page_text(site / name)
    for kind in ("text", "variants", "charts"):
        for s in text[kind]:
            assert not UNSEPARATED.findall(s), (kind, s[:120])
            assert not ONE_PLURAL.findall(s), (kind, s[:120])
    if name in ("commissioner.html", "funder.html"):
        assert checked > 0


def test_justice_star_areas_are_named_as_the_star_names_them():
    """The commissioner's Justice Star chart and well-being table read "Drugs Alcohol", "Friends Community",
    "Parenting Caring": snake_case names put into words without the Star's "and"."""
    from pathlib import Path

    import yaml

    from dashboards.labels import title

    registry = Path(__file__).resolve().parents[2] / "data" / "reference" / "star_versions.yaml"
    areas = yaml.safe_load(registry.read_text())["versions"]["justice_star"]["areas"]
    assert [title(a) for a in areas] == [
        "Accommodation", "Living skills and self-care", "Mental health and well-being", "Friends and community",
        "Relationships and family", "Parenting and caring", "Drugs and alcohol", "Positive use of time",
        "Managing strong feelings", "Crime-free life"]


def test_a_column_heading_is_the_words_a_commissioner_uses():
    """Tables were headed "Timebank ID", "Grant ID", "Period label", "Two way share" and "Coproduction band": the
    field names spelled out. The CSVs keep the names."""
    from dashboards.labels import heading

    assert [heading(c) for c in ("timebank_id", "grant_id", "period_label", "persons", "two_way_share",
                                 "cost_per_two_way_member", "coproduction_band", "ci_low_pct", "n_matched")] == [
        "Time bank", "Grant", "Period", "People", "Two-way share of trading members", "Cost per two-way member", "Co-production band",
        "95% CI low (%)", "n matched"]


RAW_HEADING = re.compile(r"\bID\b|Timebank|Two way|Coproduction|label$")


@pytest.mark.parametrize("name", ["index.html", "commissioner.html", "funder.html"])
def test_no_table_on_a_commissioners_or_funders_page_is_headed_by_a_field_name(site, name):
    raw = {(table_id, h) for table_id, head, _ in tables(site / name) for h in head if RAW_HEADING.search(h)}
    assert raw == set()


def test_every_stars_areas_are_in_one_case():
    """The well-being table's area column read "Crime-free life" (Justice Star) above "Managing Mental Health" and
    "At Least One Area": the areas without a name of their own were put in title case."""
    from dashboards.labels import title, words

    assert [title(a) for a in ("managing_mental_health", "addictive_behaviour", "social_networks", "trust_hope",
                               "looking_after_yourself")] == [
        "Managing mental health", "Addictive behaviour", "Social networks", "Trust and hope", "Looking after yourself"]
    assert words("at_least_one_area") == "At least one area" and title("recovery_star") == "Recovery Star"
    assert title("at_least_one_area") == "At least one area" and title("mean_of_areas") == "Mean of areas"


def test_a_programme_label_is_written_one_way():
    """The evaluator wrote one programme three ways ("timebank:TB01" in the Cox and balance tables, "Time bank TB01" in
    the verdicts; "Prison Bike Repair" beside "Prison bike repair"), and the commissioner's cohort table had
    "timebank:TB01" and "No Participation" under "Any participation"."""
    from dashboards.labels import words

    assert [words(p) for p in ("timebank:TB01", "reoffending: timebank:TB03", "any_participation", "no_participation",
                               "prison_bike_repair")] == [
        "Time bank TB01", "reoffending: Time bank TB03", "Any participation", "No participation", "Prison Bike Repair"]


@pytest.mark.parametrize("name", [f for f, _ in PAGES])
def test_no_page_shows_a_time_banks_programme_label_as_the_marts_write_it(site, name):
    text = page_text(site / name)
    assert [s[:80] for kind in ("text", "variants", "charts") for s in text[kind] if "timebank:" in s] == []


def test_a_covariate_levels_design_column_is_written_in_words():
    """The balance chart and the Cox table read 'sex[male]', 'Event type[Community Sentence]', 'Pre Change' and
    'Months From First Reading': the model's column names, title-cased."""
    from dashboards.labels import words

    assert words("sex[male]") == "sex: male"
    assert words("event_type[community_sentence]") == "Event type: community sentence"
    assert words("imd_decile[T.3]") == "IMD decile: 3"
    assert words("pre_change, months_from_first_reading") == "Change before the baseline, Months from first reading"
    assert words("[rule: required]") == "[rule: required]"


def test_identifier_columns_are_headed_by_what_they_name():
    """The evaluator's tables were headed "Run ID" and "Proxy ID": the run that wrote the figures, and the impact map's
    financial proxy (the unit cost, by its name in the proxy library)."""
    from dashboards.labels import heading

    assert heading("run_id") == "Run" and heading("proxy_id") == "Financial proxy"
    assert heading("proxy_value_reporting") == "Proxy value (£, reporting-year prices)" and heading("pv") == "Present value"
    assert heading("config_sha256") == "Configuration SHA-256"


TREATED_COLUMNS = ("n_treated_before", "n_treated_after", "share_treated_in_support", "n_treated_outside_support",
                   "n_participants")


def test_the_people_who_took_part_are_participants_in_every_heading():
    """The balance table read "n treated before" beside the overlap table's "Participants before" (the same people),
    and the common-support table "Participants" beside "Share treated in support": one word, participants."""
    from dashboards.labels import PARTICIPANTS, heading

    for column in TREATED_COLUMNS:
        assert "treated" not in heading(column).lower() and PARTICIPANTS in heading(column).lower(), column
    assert heading("n_treated_before") == heading("participants_before") == "Participants before"
    assert heading("n_comparison_after") == heading("comparison_after") == "Comparison after"


@pytest.mark.parametrize("name", [f for f, _ in PAGES])
def test_no_page_heads_a_column_or_names_a_term_treated(demo_run, name):
    """Every table on every page (and every filter state's) says participants; "treated" is left to the CSVs, and the
    evaluator's glossary, which says so."""
    site, _, _ = demo_run
    heads = {h for _, head, _ in tables(site / name) for h in head}
    assert not [h for h in heads if "treated" in h.lower()]
    if name == "evaluator.html":
        assert {"Participants before", "Participants after", "Share of participants in common support",
                "Participants outside common support", "Participants"} <= heads
        (cox,) = [rows for tid, _, rows in tables(site / name) if tid == "table-cox-proportional-hazards-models"]
        terms = {r[1] for r in cox}  # the participation term beside the covariates'
        assert "participation" in terms and "treated" not in terms
        text = " ".join(page_text(site / name)["text"])
        assert "'treated' in the CSV" in text and "call them 'treated'" in text


def test_an_amount_in_words_puts_its_sign_before_the_pound():
    """The impact map's summary read "£-85,113 present value in all" beside "−£0.09 per £1"."""
    from dashboards.labels import money, pounds

    assert money(-85113.2) == "−£85,113" and money(75100) == "£75,100" and money(-0.5, pence=True) == "−£0.50"
    assert money(-0.2) == "£0" and money(None) == "–" and pounds(-0.09) == "−£0.09"
