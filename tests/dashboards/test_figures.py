"""A filter state's figure JSON (page.figure_json) against the styled figure it stands for, on small figures."""

import json

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboards import charts
from dashboards.page import PALETTE, figure_json, style

RATES = pd.DataFrame({"area": ["north_east", "E2"], "rate": [0.1, 0.25], "ci_low": [0.05, 0.2], "ci_high": [0.2, 0.3]})
STAR = pd.DataFrame({"area": ["Managing money", "Self-care <&>"], "first": [3.5, 4.0], "latest": [5.0, 3.75],
                     "change": [1.5, -0.25]})
FOREST = pd.DataFrame({"label": ["wellbeing_star", "recovery_star"], "estimate": [0.4, -0.1], "ci_low": [0.1, -0.5],
                       "ci_high": [0.7, 0.3]})


def _snake_case() -> go.Figure:
    figure = go.Figure(go.Bar(x=["hours_given", "hours_received"], y=[3, 4], name="time_bank_hours"))
    return figure.update_layout(xaxis_title="hours_kind", yaxis_title="total_hours", margin={"t": 90})


def _drop_down() -> go.Figure:
    from dashboards.diagnostics_sections import _selector

    figure = go.Figure([go.Bar(x=["a"], y=[1]), go.Bar(x=["a"], y=[2], visible=False)])
    return figure.update_layout(title={"text": "Overlap: reoffending: any_participation"},
                                updatemenus=_selector(["reoffending: any_participation", "reoffending: prison_listeners"], 1,
                                                      ["Overlap: reoffending: any_participation",
                                                       "Overlap: reoffending: prison_listeners"]))


FIGURES = {
    "drop-down": _drop_down,
    "rate bars": lambda: charts.rate_bars(RATES, "area", "Rates", "rate (%)", 0.15),
    "distance": lambda: charts.distance(STAR, "Distance", 1, 10),
    "forest": lambda: charts.forest(FOREST, "label", "", "points", 0.0),
    "no data": lambda: charts.no_data("Nothing"),
    "snake case": _snake_case,
}


@pytest.mark.parametrize("name", FIGURES)
def test_state_json_is_the_styled_figure_without_its_template(name):
    figure = FIGURES[name]()
    before = figure.to_json()
    expected = json.loads(style(go.Figure(figure), "Section title").to_json())  # the styled figure, as the page draws it
    expected["layout"].pop("template")
    got = figure_json(figure, "Section title")
    assert json.dumps(got) == json.dumps(expected)  # same keys in the same order, same values
    assert "template" not in got["layout"] and figure.to_json() == before  # the item's figure is left as it was


def test_state_json_puts_labels_into_words_and_keeps_a_chart_title():
    got = figure_json(_snake_case(), "Section title")
    assert got["data"][0]["x"] == ["Hours given", "Hours received"] and got["data"][0]["name"] == "Time Bank Hours"
    assert got["layout"]["xaxis"]["title"]["text"] == "Hours Kind" and got["layout"]["margin"]["t"] == 90
    assert got["layout"]["title"]["text"] == "Section title"
    assert figure_json(charts.no_data("Nothing"), "Section title")["layout"]["title"]["text"] == "Nothing"


def test_distance_draws_a_line_per_area_then_first_and_latest():
    figure = charts.distance(STAR, "Distance", 1, 10)
    assert [t.mode for t in figure.data] == ["lines", "lines", "markers", "markers"]
    assert list(figure.data[1].x) == [4.0, 3.75] and list(figure.data[1].y) == ["Self-care &lt;&amp;&gt;: −0.25"] * 2
    assert figure.data[0].showlegend is False and figure.data[0].hoverinfo == "skip"
    assert [t.name for t in figure.data[2:4]] == ["first reading (mean)", "latest reading (mean)"]
    # the whole 1-10 scale, and each area named with its change (a fall of 0.25 reads −0.25, not a flat line)
    assert list(figure.layout.xaxis.range) == [0.7, 10.3]
    assert list(figure.data[3].y) == ["Managing money: +1.50", "Self-care &lt;&amp;&gt;: −0.25"]


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_palette_colour_stands_3_to_1_against_white():
    # WCAG 2.2 1.4.11: a line, marker or bar a reader must see; #56B4E9 (2.3:1) and #F0E442 (1.3:1) failed it
    assert {c: round(1.05 / (_luminance(c) + 0.05), 2) for c in PALETTE if 1.05 / (_luminance(c) + 0.05) < 3} == {}


def test_bar_series_after_the_first_have_their_own_fill_pattern():
    tornado = charts.tornado(pd.DataFrame({"outcome": ["a"], "assumption": ["b"], "ratio_low": [1.0], "ratio_high": [3.0]}),
                             2.0, "SROI")
    assert [t.marker.pattern.shape for t in tornado.data] == [None, "/"]
    assert len({charts.pattern(i)["shape"] for i in range(len(charts.PATTERNS))}) == len(charts.PATTERNS)


def test_the_tornados_base_label_sits_above_the_bars():
    """'base 0.14' was drawn inside the plot at its top, on the widest bar (the first row)."""
    tornado = charts.tornado(pd.DataFrame({"outcome": ["a", "b"], "assumption": ["q", "d"], "ratio_low": [0.11, 0.13],
                                           "ratio_high": [0.16, 0.14]}), 0.135, "SROI")
    [base] = [a for a in tornado.layout.annotations if a.text.startswith("base")]
    assert (base.yref, base.y, base.yanchor) == ("y domain", 1, "bottom")


def test_a_funnel_unit_beyond_its_95_limit_only_is_not_drawn_as_within():
    """RXX03 (ratio 1.311 above its upper 95% limit 1.289, within 99.8%) was drawn in 'unit within the limits'."""
    units = pd.DataFrame({"unit": ["A", "B", "C"], "expected": [10.0, 20.0, 30.0], "ratio": [1.0, 1.31, 2.5],
                          "upper_998": [2.0, 1.6, 1.5], "outlier_95": ["within", "high", "high"],
                          "outlier_998": ["within", "within", "high"], "overdispersion": ["none"] * 3,
                          "phi": [1.0] * 3, "tau2": [0.0] * 3})
    drawn = {t.name: (list(t.text), t.marker.symbol) for t in charts.funnel(units, "Funnel").data if t.mode == "markers+text"}
    assert drawn == {"unit within the 95% limits": (["A"], "circle"),
                     "unit above the 95% limit only": (["B"], "triangle-up-open"),
                     "unit above the 99.8% limit": (["C"], "triangle-up")}


def test_csv_keeps_numbers_as_numbers_and_neutralises_formulas(tmp_path):
    """The verdicts CSV held the well-being means as text ("'-0.30") and its counts as "310.0"."""
    from dashboards.page import write_csv

    frame = pd.DataFrame({"value": ["-0.30", "+1.5", "-2+3", "=HYPERLINK(\"http://x\")", "@SUM(A1)", "7.4%"],
                          "n_matched": [310.0, None, 47.0, 5.0, 1.0, 2.0], "share": [0.5, 1.0, 2.0, 3.0, 4.0, 5.0]})
    write_csv(frame, tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines == ["value,n_matched,share", "-0.30,310,0.5", "+1.5,,1.0", "'-2+3,47,2.0", "\"'=HYPERLINK(\"\"http://x\"\")\",5,3.0",
                     "'@SUM(A1),1,4.0", "7.4%,2,5.0"]


def test_a_funnel_plot_needs_three_units_with_publishable_counts():
    """The time-bank funnel drew one unit (TB02, 2.3 expected) between limits that said nothing: it now says why not."""
    from dashboards.readmission_sections import funnel_sections
    from models.disclosure import DisclosureRule

    def units(unit_type, discharges):
        n = len(discharges)
        return pd.DataFrame({"unit_type": unit_type, "unit": [f"{unit_type}{i}" for i in range(n)], "discharges": discharges,
                             "observed": [10] * n, "expected": [10.0] * n, "lower_95": [5.0] * n, "upper_95": [16.0] * n,
                             "lower_998": [3.0] * n, "upper_998": [20.0] * n, "outlier_95": "within", "outlier_998": "within",
                             "overdispersion": "none", "phi": 1.0, "tau2": 0.0})

    provider, timebank = funnel_sections(pd.concat([units("provider", [100, 120, 90]), units("timebank", [100, 5, 4])]),
                                         DisclosureRule())
    assert provider.summary.startswith("3 providers drawn") and any(t.mode == "markers+text" for t in provider.figure.data)
    assert timebank.summary.startswith("1 time bank with publishable counts, too few to draw (fewer than 3)")
    # no empty chart box (260 px that said only what the summary says): the summary says why, the table gives each unit
    assert timebank.figure is None and "so it is drawn for 3 or more; the table gives each one." in timebank.summary
    assert timebank.table is not None and "triangles" not in timebank.note and "triangles" in provider.note


def test_a_footnote_marker_links_to_its_note(tmp_path):
    """Long text repeated down a column is said once under the table; its [1] was plain text."""
    import re

    from dashboards.page import Page, Section, render

    note = "A long note repeated on every row of the table, said once below it."
    from models.disclosure import DisclosureRule

    table = DisclosureRule().no_counts(pd.DataFrame({"unit": ["A", "B", "C"], "note": [note, note, "short"]}), "text", "notes")
    html = render(Page("index.html", "Overview", "Intro.", [Section("Notes", "Summary.", table=table)]), tmp_path).read_text()
    links = re.findall(r"<td><a href='#([^']+)'>\[1\]</a></td>", html)
    assert len(links) == 2 and len(set(links)) == 1 and f"<li id='{links[0]}'>" in html
    # the first column names the rows: a long label repeated down it (a result's covariate rows) stays
    label = "well-being: Wellbeing Star / Mean of areas (the pooled result)"
    table = DisclosureRule().no_counts(pd.DataFrame({"result": [label, label], "smd": [0.1, 0.2]}), "text", "labels")
    html = render(Page("index.html", "Overview", "Intro.", [Section("Labels", "Summary.", table=table)]), tmp_path).read_text()
    assert html.count(f"<td>{label}</td>") == 2 and "[1]" not in html


def test_a_drop_downs_chart_titles_are_in_words_as_its_labels_are():
    """The evaluator's overlap chart, switched to a result, read "Propensity overlap: reoffending: any_participation" under
    a drop-down (and select) offering "reoffending: Any participation"."""
    spec = json.loads(style(_drop_down(), "Overlap").to_json())
    buttons = spec["layout"]["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == ["reoffending: Any participation", "reoffending: Prison Listeners"]
    assert [b["args"][1]["title"]["text"] for b in buttons] == ["Overlap: reoffending: Any participation",
                                                                "Overlap: reoffending: Prison Listeners"]
    assert spec["layout"]["title"]["text"] == "Overlap: reoffending: Any participation"


def _contrast_on_white(color: str) -> float:
    """WCAG contrast of a colour (#rrggbb or rgba(...), composited on white) against white."""
    import re

    if color.startswith("#"):
        r, g, b, a = int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16), 1.0
    else:
        r, g, b, *rest = [float(v) for v in re.findall(r"[\d.]+", color)]
        a = rest[0] if rest else 1.0
    channels = [(v * a + 255 * (1 - a)) / 255 for v in (r, g, b)]
    lum = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 1.05 / (0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2] + 0.05)


def test_the_overlap_charts_pale_bars_have_an_edge_of_3_to_1():
    """WCAG 2.2 1.4.11: the evaluator's overlap chart told 'before matching' from 'after' by pale bars, 1.7:1 (blue) and
    1.6:1 (orange) on white, with no outline."""
    from dashboards.diagnostics_sections import _mirror

    table = pd.DataFrame({"result": ["readmission: any"] * 2, "logit_low": [-2.0, -1.0], "logit_high": [-1.0, 0.0],
                          "participants_before": [40, 60], "participants_weighted_after": [35, 55],
                          "comparison_before": [400, 300], "comparison_weighted_after": [35, 55]})
    bars = [t for t in _mirror(table, ["readmission: any"]).data if t.type == "bar"]
    assert len(bars) == 4
    for bar in bars:
        if _contrast_on_white(bar.marker.color) < 3:
            assert bar.marker.line.width >= 1 and _contrast_on_white(bar.marker.line.color) >= 3, bar.name


def test_a_tables_number_column_has_one_number_of_decimals_in_every_filter_state(tmp_path):
    """The commissioner's activity table read 66, 74.5 and 140.25 hours in one column (and the funder's grant metrics
    £49,500 beside £64,297.95): each number was formatted alone. A filter's rows keep the whole table's decimals. A
    withheld count (*) is right-aligned with its column's numbers (the data-quality table's stood at the left)."""
    import json
    import re

    from dashboards.filters import Filter, Item, variants
    from dashboards.page import Page, Section, render
    from models.disclosure import DisclosureRule

    frame = pd.DataFrame({"timebank_id": ["TB01", "TB01", "TB02", "TB02", "TB02"],
                          "hours_exchanged": [66.0, 74.5, 140.25, 12.0, "*"], "observed_amount": [49500.0, 64297.95, 100.0, 7.5, "*"],
                          "note": pd.array([pd.NA] * 5, dtype="string")})  # an empty cell, pd.NA (the evaluator's notes)
    table = DisclosureRule().no_counts(frame, "a test table of hours")
    banks = Filter("timebank", "Time bank", (("all", "All"), ("TB02", "TB02")))
    block = variants([banks], ("timebank",), lambda c: Item("S.", table=table if c["timebank"] == "all" else
                                                            table[table["timebank_id"] == "TB02"]))
    section = Section.filtered("Hours", block, "Responds to: time bank.", table=table)
    html = render(Page("commissioner.html", "For commissioners", "Intro.", [section], filters=[banks]), tmp_path).read_text()
    body = re.search(r"<tbody id='table-hours-body'>(.*?)</tbody>", html).group(1)
    cells = re.findall(r"<td class='num'>([^<]*)</td>", body)
    assert cells == ["66.00", "£49,500.00", "74.50", "£64,297.95", "140.25", "£100.00", "12.00", "£7.50", "*", "*"]
    payload = json.loads(re.search(r"<script type='application/json' id='variants'>(.*?)</script>", html).group(1))
    filtered = payload[0]["items"]["TB02"]["html"]
    assert re.findall(r"<td class='num'>([^<]*)</td>", filtered) == ["140.25", "£100.00", "12.00", "£7.50", "*", "*"]
    from dashboards.page import decimals  # a column of values of several kinds (the SROI sensitivity's base values)
    assert decimals(pd.Series([8.6794, 2000.0, 0.0, 0.25])) == 2 and decimals(pd.Series([0.0017, 0.702, 0.0])) == 4


def test_the_kaplan_meier_series_are_named_and_coloured_as_the_other_charts_name_them():
    """The legend read "Any participation: participants" beside "Any participation: Matched comparison", the table
    "timebank:TB01", and the comparison was drawn in blue, the participants' colour everywhere else."""
    from dashboards.evaluator import km_section
    from models.disclosure import DisclosureRule

    def group(programme, name, events):
        days = list(range(0, 400, 20))
        at_risk = [200 - events * i for i in range(len(days))]
        return pd.DataFrame({"programme": programme, "group": name, "time_days": days, "n_at_risk": at_risk,
                             "n_events": events})

    survival = pd.concat([group(p, g, e) for p in ("any_participation", "timebank:TB01")
                          for g, e in (("participants", 3), ("matched_comparison", 5))], ignore_index=True)
    section = km_section(survival, DisclosureRule())
    lines = {t.name: t.line.color for t in section.figure.data if t.showlegend is not False}
    assert lines == {"Any participation: participants": PALETTE[0], "Any participation: matched comparison": PALETTE[1],
                     "Time bank TB01: participants": PALETTE[2], "Time bank TB01: matched comparison": PALETTE[3]}
    assert set(section.table["group"]) == {"participants", "matched comparison"}
    assert set(section.table["programme"]) == {"Any participation", "Time bank TB01"}


def test_an_empty_charts_note_is_in_lines_that_fit_a_phone():
    """The time-bank funnel's "too few to draw" note was one line of 150 characters, cut off on both sides at 390 px."""
    message = ("1 time bank with publishable counts: a funnel plot compares several units with the whole, so it is drawn "
               "for 3 or more. The table gives each one.")
    figure = charts.no_data("Risk-adjusted readmission by time bank: funnel plot", message)
    lines = figure.layout.annotations[0].text.split("<br>")
    assert len(lines) > 1 and max(len(line) for line in lines) <= charts.NOTE_WIDTH
    assert " ".join(lines) == message


def test_the_overlap_chart_draws_each_groups_share_so_a_small_group_shows():
    """Counts drew 100 participants beside a comparison pool of 14,000 as bars a pixel high; each bar is now its group's
    share of people in the bin (of the published bins), the counts on hover and in the table."""
    from dashboards.diagnostics_sections import _mirror

    table = pd.DataFrame({"result": ["readmission: any"] * 2, "logit_low": [-2.0, -1.0], "logit_high": [-1.0, 0.0],
                          "participants_before": [40, 60], "participants_weighted_after": [35, None],
                          "comparison_before": [10000, 4000], "comparison_weighted_after": [35, 65]})
    bars = {t.name: t for t in _mirror(table, ["readmission: any"]).data if t.type == "bar"}
    assert list(bars["participants before matching"].y) == [0.4, 0.6]
    assert [round(v, 4) for v in bars["comparison before matching"].y] == [-0.7143, -0.2857]
    assert list(bars["participants after matching"].y) == [1.0, None]  # a withheld bin is not drawn
    assert list(bars["comparison before matching"].customdata) == [10000, 4000]
    axis = _mirror(table, ["readmission: any"]).layout.yaxis
    assert list(axis.ticktext) == ["100%", "90%", "80%", "70%", "60%", "50%", "40%", "30%", "20%", "10%", "0%", "10%", "20%",
                                   "30%", "40%", "50%", "60%", "70%", "80%", "90%", "100%"]  # no "-20%" below the line


def test_the_overlap_charts_stretched_end_bin_is_drawn_at_the_others_width():
    """The referee's F4: a fit scoring comparison people no participant is like at logits of -20 to -28 has its first
    bin stretched out to them (models.comparison.diagnostics.logit_edges). Drawn at its edges (and every bar at the
    first bin's width) it spread the axis over the far-out scores and drew every bar 29 units wide; it is drawn beside
    the others at their width, its true edges on hover."""
    from dashboards.diagnostics_sections import _mirror

    table = pd.DataFrame({"result": ["reoffending: youth_court_jury"] * 3, "logit_low": [-31.0, -1.75, -0.5],
                          "logit_high": [-1.75, -0.5, 0.75], "participants_before": [2, 40, 60],
                          "participants_weighted_after": [2, 35, 55], "comparison_before": [90, 300, 200],
                          "comparison_weighted_after": [2, 35, 55]})
    bars = {t.name: t for t in _mirror(table, ["reoffending: youth_court_jury"]).data if t.type == "bar"}
    before = bars["comparison before matching"]
    assert list(before.x) == [-2.375, -1.125, 0.125] and before.width == pytest.approx(0.95 * 1.25)
    assert list(before.hovertext) == ["-31.00 to -1.75", "-1.75 to -0.50", "-0.50 to 0.75"]
