"""The evaluator's SROI impact map: 18 columns in the CSV, 9 on the page, nothing lost.

At 1440 px its table scrolled sideways (1,801 px of table in a 1,134 px box). The page merges what belongs together:
the quantity with what it counts and its interval, the proxy with its value, the source with its licence, the four
adjustments, the duration with its discount. Every value of the CSV is still on the page.
"""

from __future__ import annotations

import html
import math

import pandas as pd

from dashboards.labels import heading, words
from dashboards.sroi_sections import COLUMNS, PAGE_COLUMNS, page_map, published_map
from models.disclosure import SUPPRESSED, DisclosureRule
from tests.dashboards.page_text import tables

RULE = DisclosureRule()


def _impact() -> pd.DataFrame:
    """Four rows of a map: an outcome in events, one in people resting on 5 (withheld), its partner withheld with it,
    and a time bank's hours."""
    rows = [
        {"scope": "overall", "outcome": "fewer_readmissions", "stakeholder": "NHS acute trusts", "quantity": -3.0,
         "quantity_source": "avoided_readmissions", "quantity_ci_low": -15.42, "quantity_ci_high": 9.42,
         "proxy_id": "non_elective_admission", "proxy_value_reporting": 2000.0, "proxy_source": "made up for the demo",
         "proxy_licence": "CC0-1.0", "deadweight_pct": 10.0, "attribution_pct": 0.0, "displacement_pct": 0.0,
         "drop_off_pct": 0.0, "duration_years": 1, "discount": "green_book (3.5% in years 0-30, then stepped)",
         "pv": -5797.1, "quantity_unit": "events", "quantity_estimate": -3.0, "quantity_scale": 1.0},
        {"scope": "overall", "outcome": "better_wellbeing", "stakeholder": "Members", "quantity": 2.5,
         "quantity_source": "wellbeing_reliable_improvement", "quantity_ci_low": 0.5, "quantity_ci_high": 4.5,
         "proxy_id": "wellby", "proxy_value_reporting": 16027.91, "proxy_source": "HM Treasury, Wellbeing Guidance",
         "proxy_licence": "OGL-UK-3.0", "deadweight_pct": 0.0, "attribution_pct": 25.0, "displacement_pct": 0.0,
         "drop_off_pct": 50.0, "duration_years": 2, "discount": "health (1.5% in years 0-30, then stepped)",
         "pv": 40000.0, "quantity_unit": "people", "quantity_estimate": 5.0, "quantity_scale": 0.5},
        # withheld with the well-being row, so that the scope's total less the rows shown gives the two together
        {"scope": "overall", "outcome": "fewer_gp_contacts", "stakeholder": "General practice", "quantity": 1500.0,
         "quantity_source": "avoided_contacts_gp", "quantity_ci_low": 500.0, "quantity_ci_high": 2500.0,
         "proxy_id": "gp_consultation", "proxy_value_reporting": 40.0, "proxy_source": "made up for the demo",
         "proxy_licence": "CC0-1.0", "deadweight_pct": 0.0, "attribution_pct": 0.0, "displacement_pct": 0.0,
         "drop_off_pct": 0.0, "duration_years": 1, "discount": "green_book (3.5% in years 0-30, then stepped)",
         "pv": 60000.0, "quantity_unit": "contacts", "quantity_estimate": 1500.0, "quantity_scale": 1.0},
        {"scope": "TB01", "outcome": "TB01_hours_exchanged", "stakeholder": "Members (TB01)", "quantity": 3224.25,
         "quantity_source": "hours_given@TB01", **{c: math.nan for c in COLUMNS[5:] if c not in ("proxy_id",
                                                                                              "proxy_source",
                                                                                              "proxy_licence",
                                                                                              "discount")},
         "proxy_id": None, "proxy_source": None, "proxy_licence": None, "discount": None,
         "quantity_unit": "hours", "quantity_estimate": 3224.25, "quantity_scale": 1.0},
    ]
    return pd.DataFrame(rows)


def test_the_page_says_every_value_of_a_row_in_nine_columns():
    published = published_map(_impact(), RULE)
    shown = page_map(published)
    assert len(shown.columns) == 9 and len(COLUMNS) == 18 and shown.attrs == published.attrs
    first = shown.iloc[0]
    assert first[PAGE_COLUMNS["quantity"]] == "-3.00 avoided readmissions (-15.42 to 9.42)"
    assert first[PAGE_COLUMNS["proxy"]] == "Non Elective Admission: £2,000.00"
    assert first[PAGE_COLUMNS["source"]] == "made up for the demo (CC0-1.0)"
    assert first[PAGE_COLUMNS["adjustments"]] == "10% / 0% / 0% / 0%"
    assert first[PAGE_COLUMNS["duration"]] == "1 year, discounted green_book (3.5% in years 0-30, then stepped)"
    assert first["pv"] == -5797.1


def test_a_withheld_quantity_is_withheld_with_its_interval_and_value_and_an_output_has_no_blanks_said():
    shown = page_map(published_map(_impact(), RULE)).set_index("outcome")
    wellbeing = shown.loc["better_wellbeing"]  # 5 people: the quantity, its interval and its value are withheld
    assert wellbeing[PAGE_COLUMNS["quantity"]] == f"{SUPPRESSED} wellbeing reliable improvement"
    assert wellbeing["pv"] == SUPPRESSED and "0.5" not in wellbeing[PAGE_COLUMNS["quantity"]]
    assert wellbeing[PAGE_COLUMNS["proxy"]] == "WELLBY: £16,027.91"
    assert wellbeing[PAGE_COLUMNS["adjustments"]] == "0% / 25% / 0% / 50%"
    assert shown.loc["fewer_gp_contacts", PAGE_COLUMNS["quantity"]] == f"{SUPPRESSED} avoided contacts GP"
    hours = shown.loc["TB01_hours_exchanged"]
    assert hours[PAGE_COLUMNS["quantity"]] == "3,224.25 hours given at TB01"
    assert [hours[PAGE_COLUMNS[c]] for c in ("proxy", "source", "adjustments", "duration")] == ["", "", "", ""]


def test_every_value_of_the_csv_is_on_the_page(demo_run):
    """The demo run's impact map: each CSV row's values are in its page row (numbers as the page writes them)."""
    site, _, _ = demo_run
    csv = pd.read_csv(site / "evaluator-impact-map.csv", dtype=str, keep_default_na=False)
    (table,) = [t for t in tables(site / "evaluator.html") if t[0] == "table-sroi-impact-map"]
    _, head, rows = table
    assert head == [heading(c) for c in ("scope", "outcome", "stakeholder")] + [
        PAGE_COLUMNS[k] for k in ("quantity", "proxy", "source", "adjustments", "duration")] + [heading("pv")]
    assert len(rows) == len(csv)
    notes = (site / "evaluator.html").read_text(encoding="utf-8")
    for row, shown in zip(csv.to_dict("records"), rows):
        text = " ".join(shown)
        assert row["scope"] in text
        for column in ("quantity", "quantity_ci_low", "quantity_ci_high", "proxy_value_reporting", "pv"):
            if row[column] and row[column] != SUPPRESSED:
                assert f"{abs(float(row[column])):,.2f}" in text, (column, row[column], text)
        for column in ("deadweight_pct", "attribution_pct", "displacement_pct", "drop_off_pct"):
            if row[column]:
                assert f"{float(row[column]):g}%" in shown[6], (column, shown[6])
        for column in ("proxy_source", "proxy_licence", "discount"):  # said in its cell, or in a numbered note
            if row[column]:
                said = words(row[column])  # in words, as every cell ("green_book" reads "Green Book")
                assert said in text or html.escape(said) in notes, (column, said)
        if row["duration_years"]:
            assert f"{row['duration_years']} year" in text or f"{row['duration_years']} year" in notes
