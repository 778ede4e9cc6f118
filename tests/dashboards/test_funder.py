"""The funder page reads right to a funder: grants costed on the money of the part of their period the data cover,
social value shared by what each grant bought, withheld grants withheld everywhere, withheld cells marked."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from dashboards.funder import NOT_VALUED, data_window, published_allocation, published_grants, withheld_grants
from models.disclosure import DisclosureRule
from tests.dashboards.page_text import page_text


def _grants(site) -> dict[str, dict]:
    frame = pd.read_csv(site / "funder-grant-metrics.csv", dtype=str, keep_default_na=False)
    return {row["grant_id"]: row for row in frame.to_dict("records")}


def _three_grants() -> pd.DataFrame:
    """Three grants of funder F, seen whole in 2024: G1 (T1) with 3 active members, G2 and G3 (T2) with 20 and 40."""
    components = ("two_way_share", "mean_balance_index", "weighted_reciprocity", "generalised_reciprocity",
                  "beneficiary_contribution_share")
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31")
    return pd.DataFrame({
        "grant_id": ["G1", "G2", "G3"], "funder": "F", "timebank_id": ["T1", "T2", "T2"], "amount": [1000.0, 2000.0, 3000.0],
        "period_start": start, "period_end": end, "observed_start": start, "observed_end": end, "observed_share": 1.0,
        "observed_amount": [1000.0, 2000.0, 3000.0], "members": [10, 40, 40], "active_members": [3, 20, 40],
        "two_way_members": [0, 10, 20], "exchanges": [4, 30, 60], "hours_exchanged": [5.0, 50.0, 100.0],
        "reciprocity_index": [0.1, 0.2, 0.4], "index_coverage": 1.0, "coproduction_band": None,
        "social_value": [10.0, 100.0, 200.0], "reciprocity_weighted_social_value": [5.0, 50.0, 100.0],
        **{c: 0.5 for c in components}})


def test_a_grant_is_costed_on_the_money_of_the_part_of_its_period_the_data_cover(demo_run):
    """The demo run's exchange log covers 2022-01-02 to 2025-12-30. G009 (2025-10-26 to 2028-10-25, 1,096 days,
    £17,100) is seen for 66 days: £17,100 × 66 / 1,096 = £1,029.74 of it. Its 65 hours cost £15.84 each, not the
    £263.08 of the whole grant over six weeks' hours."""
    site, _, _ = demo_run
    g = _grants(site)["G009"]
    assert (g["period_start"], g["period_end"]) == ("2025-10-26", "2028-10-25")
    assert (g["observed_start"], g["observed_end"]) == ("2025-10-26", "2025-12-30")
    assert float(g["observed_share"]) == pytest.approx(66 / 1096, abs=5e-4)
    assert float(g["observed_amount"]) == pytest.approx(17100 * 66 / 1096, abs=0.005)
    assert float(g["hours_exchanged"]) == 65
    assert float(g["cost_per_hour_exchanged"]) == pytest.approx(15.84)
    assert float(g["cost_per_active_member"]) == pytest.approx(1029.74 / float(g["active_members"]), abs=0.01)
    text = " ".join(page_text(site / "funder.html")["text"])
    assert "The data window is 2022-01-02 to 2025-12-30 (the exchange log's extent)" in text  # the page's first lines
    assert "The data window is 2022-01-02 to 2025-12-30; 19 grants ran partly outside it" in text  # grant metrics


def test_no_grant_shows_a_social_value_its_time_bank_does_not_have(demo_run):
    """The demo's impact map values no outcome for one time bank (the matched effects are programme-wide; hours are
    outputs), so each time bank's row of marts.social_value holds a PV of 0 for want of a measure. Shared among its
    grants by hours it read "£0" a grant. Now no grant has a value (NULL in the mart), the CSV says so in words, and
    the page says why above the table, which keeps the hours and the reciprocity index in the column's place."""
    site, warehouse, _ = demo_run
    con = duckdb.connect(str(warehouse), read_only=True)
    valued = con.execute("SELECT count(*) FROM marts.impact_map WHERE scope <> 'overall' AND pv IS NOT NULL").fetchone()[0]
    values = con.execute("SELECT count(social_value), count(reciprocity_weighted_social_value), count(*) "
                         "FROM marts.grant_metrics").fetchone()
    con.close()
    assert valued == 0 and values[:2] == (0, 0) and values[2] == 31
    table = pd.DataFrame(_grants(site).values())
    assert (table["social_value"] == NOT_VALUED).all() and (table["reciprocity_weighted_social_value"] == NOT_VALUED).all()
    assert table["hours_exchanged"].ne("").all() and table["reciprocity_index"].ne("").all()
    text = " ".join(page_text(site / "funder.html")["text"])
    assert ("Social value: not valued per time bank: the outcomes are measured for the programme as a whole; hours "
            "are reported as outputs, so no grant's share is shown") in text
    assert "social value £0" not in text.lower()


def test_a_grant_of_a_time_bank_with_no_value_says_so_in_words():
    """A time bank with no value of its own (grant_metrics.social_value NULL): its grants' social value reads "not
    valued per time bank", not an empty cell or £0 (nor *: there is no value to withhold), beside the other bank's."""
    from dashboards.funder import grant_sections
    rule = DisclosureRule()
    grants = _three_grants().assign(active_members=[30, 20, 40], data_start=pd.Timestamp("2024-01-01"),
                                    data_end=pd.Timestamp("2024-12-31"))
    grants.loc[grants["timebank_id"] == "T2", ["social_value", "reciprocity_weighted_social_value"]] = float("nan")
    table = published_grants(grants, rule, withheld_grants(grants, None, rule)).set_index("grant_id")
    assert table["social_value"].tolist() == [10.0, NOT_VALUED, NOT_VALUED]
    assert table["reciprocity_weighted_social_value"].tolist() == [5.0, NOT_VALUED, NOT_VALUED]
    metrics = grant_sections(grants, rule, withheld_grants(grants, None, rule))[0]
    assert "Social value of T2&#x27;s grants: not valued per time bank" in metrics.html
    assert metrics.shown_columns[-1] == "social_value"  # one bank has a value: the column stays
    none = grants.assign(social_value=float("nan"), reciprocity_weighted_social_value=float("nan"))
    metrics = grant_sections(none, rule, withheld_grants(none, None, rule))[0]
    assert metrics.shown_columns[-1] == "reciprocity_index" and "hours_exchanged" in metrics.shown_columns
    assert "no grant&#x27;s share is shown" in metrics.html and "not valued per time bank" in metrics.note


def test_a_time_bank_with_a_withheld_grant_shows_no_grants_social_value():
    """T2's G4 has 2 active members: its hours are *, and G2's £100 over 50 h with T2's £310 (G2, G3, G4) would give
    all T2's grants' hours (155) less the published 150: G4's 5. So no grant of T2 shows a value; T1's G1 is alone."""
    rule = DisclosureRule()
    grants = pd.concat([_three_grants(), _three_grants().iloc[[1]].assign(grant_id="G4", active_members=2,
                                                                          hours_exchanged=5.0, social_value=10.0)],
                       ignore_index=True)
    table = published_grants(grants, rule, withheld_grants(grants, None, rule)).set_index("grant_id")
    assert table["social_value"].tolist() == ["*", "*", "*", "*"]
    assert table["reciprocity_weighted_social_value"].tolist() == ["*", "*", "*", "*"]
    assert table.loc["G2", "hours_exchanged"] == 50.0  # the hours stay: without a value per hour they give nothing


def test_a_grant_withheld_so_the_pot_cannot_give_a_small_one_back_is_withheld_everywhere(demo_run):
    """The attacker: a published allocation gives Σ index = pot × index / allocation; the pot less the published
    allocations gives the two withheld ones together, and the second's index from the grant table split them (on the
    audited build G026's 0.338 gave G010's £738.05 back as about £730). Every grant whose allocation is withheld shows
    * for its index in the grant table and is left out of the sensitivity; no funder's pot has one withheld allocation
    and no time bank's value one withheld social value. On the demo run G010 (NHS, 1-7 active members) takes G026
    (the NHS's next smallest allocation) with it."""
    site, _, _ = demo_run
    grants = _grants(site)
    allocation = pd.read_csv(site / "funder-allocation.csv", dtype=str, keep_default_na=False)
    sensitivity = pd.read_csv(site / "funder-allocation-sensitivity.csv", dtype=str, keep_default_na=False)
    withheld = set(allocation.loc[allocation["allocation"] == "*", "grant_id"])
    nhs = allocation[allocation["funder"] == "NHS Integrated Care Board"]
    assert set(nhs.loc[nhs["allocation"] == "*", "grant_id"]) == {"G010", "G026"}
    for grant in withheld:
        assert (grants[grant]["reciprocity_index"], grants[grant]["index_coverage"]) == ("*", "*"), grant
    assert not withheld & set(sensitivity["grant_id"])
    assert (allocation.groupby("funder")["allocation"].apply(lambda a: (a == "*").sum()) != 1).all()
    values = pd.DataFrame(grants.values())
    assert (values.groupby("timebank_id")["social_value"].apply(lambda v: (v == "*").sum()) != 1).all()
    # the demo map values no time bank: no value to withhold (test_no_grant_shows_a_social_value_its_time_bank_does_not_have)
    assert grants["G026"]["social_value"] == NOT_VALUED and grants["G026"]["reciprocity_weighted_social_value"] == NOT_VALUED
    assert grants["G026"]["cost_per_active_member"] not in ("", "*")  # a cost gives no allocation back: still shown


def _three_allocations() -> pd.DataFrame:
    """Funder F's £600 pot split by index over _three_grants' G1 (index 0.1), G2 (0.2) and G3 (0.4)."""
    return pd.DataFrame({"funder": "F", "grant_id": ["G1", "G2", "G3"], "timebank_id": ["T1", "T2", "T2"],
                         "amount": [1000.0, 2000.0, 3000.0], "reserved_pot": 600.0, "allocation_rule": "index",
                         "alpha": 0.5, "reciprocity_index": [0.1, 0.2, 0.4],
                         "allocation_share": [1 / 7, 2 / 7, 4 / 7], "allocation": [600 / 7, 1200 / 7, 2400 / 7],
                         "basis": "proportional"})


def test_the_grant_table_withholds_the_index_of_the_grant_withheld_from_the_pot():
    """G1 has 3 active members: its index is *. F's pot (£600) less G3's £342.86 gives G1's and G2's allocations
    together, and G3's row gives Σ index (600 × 0.4 / 342.86 = 0.7): G2's index (0.2) would split them. So G2, the next
    smallest allocation, is withheld with G1 in the allocation and in the grant table, which showed its index. G2's
    cost per active member stays: it gives no allocation back."""
    rule = DisclosureRule()
    grants = _three_grants()
    allocation = _three_allocations()
    withheld = withheld_grants(grants, allocation, rule)
    table = published_grants(grants, rule, withheld).set_index("grant_id")
    assert table["reciprocity_index"].tolist() == ["*", "*", 0.4] and table["index_coverage"].tolist() == ["*", "*", 1.0]
    assert table.loc["G2", "cost_per_active_member"] == 100.0
    assert published_allocation(allocation, withheld)["allocation"].tolist()[:2] == ["*", "*"]
    # T1's only grant is G1: its value is *, and no other grant of T1 can give it back; T2 has none withheld
    assert table["social_value"].tolist() == ["*", 100.0, 200.0]


def test_a_withheld_cost_shows_a_star_and_a_cost_with_nothing_to_divide_by_says_so():
    """G1's 3 active members are *, and so are its two-way members (0 of them), so its cost per two-way member is
    withheld: "*", not a blank that reads as "no cost". G3's 40 active members had no two-way member: its cost per
    two-way member is not applicable, "n/a"; G2's is £2,000 / 10 = £200."""
    rule = DisclosureRule()
    grants = _three_grants().assign(two_way_members=[0, 10, 0])
    table = published_grants(grants, rule, withheld_grants(grants, None, rule)).set_index("grant_id")
    assert table["cost_per_two_way_member"].tolist() == ["*", 200.0, "n/a"]
    assert table.loc["G1", ["cost_per_active_member", "cost_per_hour_exchanged"]].tolist() == ["*", "*"]


def test_g010s_cost_per_two_way_member_is_withheld_not_blank(demo_run):
    site, _, _ = demo_run
    g = _grants(site)["G010"]
    assert (g["active_members"], g["two_way_members"], g["cost_per_two_way_member"]) == ("*", "*", "*")
    text = " ".join(page_text(site / "funder.html")["text"])
    assert "n/a: nothing to divide by" in text


def test_a_grant_wholly_outside_the_data_window_is_said_to_be_and_shows_no_cost():
    """Data window 2024: G2 (2023-07-01 to 2024-06-30) ran partly outside it, G3 (2026) wholly: it is not measured
    (observed share 0, so £0 of its amount and no members or hours), and its costs are n/a, not a division by 0."""
    rule = DisclosureRule()
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31")
    grants = _three_grants().assign(
        data_start=start, data_end=end,
        period_start=[start, pd.Timestamp("2023-07-01"), pd.Timestamp("2026-01-01")],
        period_end=[end, pd.Timestamp("2024-06-30"), pd.Timestamp("2026-12-31")],
        observed_start=[start, start, pd.NaT], observed_end=[end, pd.Timestamp("2024-06-30"), pd.NaT],
        observed_share=[1.0, 182 / 366, 0.0], observed_amount=[1000.0, 2000 * 182 / 366, 0.0],
        active_members=[3, 20, 0], two_way_members=[0, 10, 0], hours_exchanged=[5.0, 50.0, 0.0])
    assert data_window(grants) == (
        "The data window is 2024-01-01 to 2024-12-31; 1 grant ran partly outside it (1 began before it, 0 end after "
        "it), so each grant is measured over the part of its period inside it and costed on the same share of its "
        "amount (£1,995 of the £6,000), taking a grant to be spent evenly over its period. 1 grant lies wholly outside "
        "it and is not measured (no costs: n/a).")
    row = published_grants(grants, rule, withheld_grants(grants, None, rule)).set_index("grant_id").loc["G3"]
    assert row[["cost_per_active_member", "cost_per_hour_exchanged", "cost_per_two_way_member"]].tolist() == ["n/a"] * 3


def test_the_note_says_the_sroi_divides_by_the_maps_own_investment(demo_run):
    """The demo map's investment (£952,624) is the data/sample grants' observed amounts, not this run's: the note says
    the map's own figure is used and gives the observed amount as what a like-for-like map would use."""
    site, _, _ = demo_run
    text = " ".join(page_text(site / "funder.html")["text"])
    assert "divides its value by the investment in the impact map, the map's own figure, which need not match" in text
    assert "a map measured like for like on this data window would use the money spent in it, the observed amounts" in text
    assert "that is the money spent in the data window" not in text


def test_a_grants_reciprocity_index_reads_the_same_in_every_table(demo_run):
    """One number, one source: G001's index read 0.368 in the grant table and 0.3679 in the allocation table beside it."""
    site, _, _ = demo_run
    grants = pd.read_csv(site / "funder-grant-metrics.csv", dtype=str, keep_default_na=False).set_index("grant_id")
    allocation = pd.read_csv(site / "funder-allocation.csv", dtype=str, keep_default_na=False).set_index("grant_id")
    both = grants[["reciprocity_index"]].join(allocation[["reciprocity_index"]], rsuffix="_allocation")
    differ = both[both["reciprocity_index"] != both["reciprocity_index_allocation"]]
    assert len(both) == len(grants) and differ.empty, differ.to_dict("index")


def test_the_allocation_sensitivity_table_shows_its_allocations_in_pounds(tmp_path):
    """Its columns were named base, low, high and range, which the page does not know as money: "1,233.70" stood where
    the allocation table beside it wrote "£1,233.70"."""
    import re

    from dashboards.funder import sensitivity_section
    from dashboards.page import Page, render
    from models.disclosure import DisclosureRule, Withheld

    rows = [("F", g, a, ws, base, base + d, r) for g, base, r in (("G1", 300_00, 2), ("G2", 900_55, 1))
            for a, ws, d in ((0.5, "base", 0), (1.0, "equal", 50_00))]
    sensitivity = pd.DataFrame(rows, columns=["funder", "grant_id", "alpha", "weight_set", "base_allocation_pence",
                                              "allocation_pence", "rank"])
    section = sensitivity_section(sensitivity, DisclosureRule(), Withheld())
    html = render(Page("funder.html", "For funders", "Intro.", [section]), tmp_path).read_text()
    body = re.search(r"<tbody id='table-[^']*-body'>(.*?)</tbody>", html).group(1)
    first = re.findall(r"<td[^>]*>([^<]*)</td>", body.split("</tr>")[0])
    # one money format in the table: the range in pence too (it read "£50" beside "£300.00")
    assert first == ["F", "G1", "£300.00", "£300.00", "£350.00", "2", "2", "2", "£50.00"]


def _cells(html: str) -> list[list[str]]:
    import re

    body = re.search(r"<tbody id='table-[^']*-body'>(.*?)</tbody>", html).group(1)
    return [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in body.split("</tr>") if row]


def test_a_table_writes_all_its_money_one_way(tmp_path):
    """The allocation table wrote the grant and the pot in whole pounds ("£9,200", "£13,520") beside allocations in
    pence ("£1,233.70"): a table with pence anywhere in its money has them in every pounds column; a table of whole
    pounds only has none. The CSV keeps the plain numbers."""
    from dashboards.page import Page, Section, render

    rule = DisclosureRule()
    mixed = rule.no_counts(pd.DataFrame({"grant_id": ["G1", "G2"], "amount": [9200.0, 5900.0],
                                         "reserved_pot": [13520.0, 13520.0], "allocation": [1233.7, 12286.3]}), "money")
    whole = rule.no_counts(pd.DataFrame({"grant_id": ["G1"], "amount": [9200.0], "reserved_pot": [13520.0]}), "money")
    html = render(Page("funder.html", "For funders", "Intro.", [Section("Mixed", "S.", table=mixed, csv_name="m.csv")]),
                  tmp_path / "a").read_text()
    assert _cells(html) == [["G1", "£9,200.00", "£13,520.00", "£1,233.70"], ["G2", "£5,900.00", "£13,520.00", "£12,286.30"]]
    html = render(Page("funder.html", "For funders", "Intro.", [Section("Whole", "S.", table=whole)]), tmp_path / "b").read_text()
    assert _cells(html) == [["G1", "£9,200", "£13,520"]]
    assert (tmp_path / "a" / "m.csv").read_text().splitlines()[1] == "G1,9200.0,13520.0,1233.7"


def test_the_funder_summary_writes_its_money_in_whole_pounds(demo_run):
    """Each funder's sentence gave its grants in whole pounds and its pot and split in pence ("£135,200 ... Reserved
    reciprocity pot £13,520.00, split: G006 £1,233.70"). The sentence is in whole pounds throughout, the split said to be
    to the pound, as the summary CSV's split; the summary CSV's member counts are whole numbers, as on the page."""
    import re

    from dashboards.labels import money

    site, _, _ = demo_run
    html = (site / "funder.html").read_text()
    glance = re.search(r"<section id='your-grants-at-a-glance'.*?</section>", html).group(0)
    assert re.findall(r"£[\d,]+\.\d", glance) == []
    summary = pd.read_csv(site / "funder-summary.csv", dtype=str, keep_default_na=False)
    allocation = pd.read_csv(site / "funder-allocation.csv", dtype=str, keep_default_na=False)
    for row in summary.to_dict("records"):
        if row["reserved_pot"]:
            assert f"Reserved reciprocity pot {money(float(row['reserved_pot']))}, split (to the pound): " \
                   f"{row['pot_split']}." in glance.replace("&amp;", "&"), row["funder"]
            mine = allocation[allocation["funder"] == row["funder"]]
            assert row["pot_split"] == "; ".join(f"{g} {a if a == '*' else money(float(a))}"
                                                 for g, a in zip(mine["grant_id"], mine["allocation"]))
        assert re.fullmatch(r"\d+", row["active_members"]) and re.fullmatch(r"\d+", row["two_way_members"]), row


def test_the_funder_sentence_says_why_a_grants_share_of_the_pot_is_withheld():
    """The funder's sentence read "split (to the pound): G1 *; G2 *; G3 £343." with nothing to say what * is: it now
    says that G1 has 1 to 7 active members and G2 is withheld with it (the pot less G3 would give G1's share)."""
    from dashboards.funder import summary_section

    rule = DisclosureRule()
    grants = _three_grants()
    allocation = _three_allocations()
    section = summary_section(grants, allocation, rule, withheld_grants(grants, allocation, rule))
    assert "G1 *; G2 *; G3 £343." in section.html
    assert ("* withheld: G1 has 1 to 7 active members; G2 is withheld with it, as the pot less the other grants "
            "would give its share.") in section.html


def test_the_allocation_table_states_its_unchanging_settings_once_above_it():
    """The allocation table repeated allocation rule, alpha and basis on every row, the same on each: the summary
    says them once and the page's table leaves them out; the CSV keeps them."""
    from dashboards.funder import allocation_section

    rule = DisclosureRule()
    grants = _three_grants()
    allocation = pd.DataFrame({"funder": "F", "grant_id": ["G1", "G2", "G3"], "timebank_id": ["T1", "T2", "T2"],
                               "amount": [1000.0, 2000.0, 3000.0], "reserved_pot": 600.0, "reserved_pot_share": 0.1,
                               "allocation_rule": "index", "alpha": 0.5, "reciprocity_index": [0.1, 0.2, 0.4],
                               "allocation_share": [1 / 7, 2 / 7, 4 / 7], "allocation": [600 / 7, 1200 / 7, 2400 / 7],
                               "basis": "proportional"})
    section = allocation_section(allocation, rule, withheld_grants(grants, allocation, rule))
    assert {"allocation_rule", "alpha", "basis"} <= set(section.table.columns)  # the CSV's
    assert section.shown_columns and not {"allocation_rule", "alpha", "basis"} & set(section.shown_columns)
    assert "Every grant: allocation rule index" in section.summary and "alpha 0.5" in section.summary
    assert "basis proportional" in section.summary


def test_the_sensitivity_says_when_alpha_moves_no_allocation():
    """The sensitivity section read "under 5 values of alpha and 7 weight sets", while under the index rule alpha moves
    no allocation: every range is the weight sets'. It says so; with the alpha_blend rule, where alpha moves them, not."""
    from dashboards.funder import alpha_idle

    rows = [{"grant_id": g, "weight_set": w, "alpha": a, "allocation_pence": 100 * (i + 1) + j}
            for i, g in enumerate(["G1", "G2"]) for j, w in enumerate(["base", "equal"]) for a in (0.0, 0.5, 1.0)]
    idle = pd.DataFrame(rows)
    assert alpha_idle(idle)
    assert not alpha_idle(idle.assign(allocation_pence=idle["allocation_pence"] + (idle["alpha"] * 10).astype(int)))


def test_the_star_in_a_grants_social_value_is_explained_above_the_table():
    """TB02's grants showed * for social value, explained only in the long note under the table. The line above the
    table says why, in plain words, naming the time bank and its small grant (here T1's G1, with 3 active members)."""
    from dashboards.funder import grant_sections

    rule = DisclosureRule()
    grants = _three_grants().assign(data_start=pd.Timestamp("2024-01-01"), data_end=pd.Timestamp("2024-12-31"))
    metrics = grant_sections(grants, rule, withheld_grants(grants, None, rule))[0]
    assert metrics.html == ("<p class='withheld'>* in the Social value column: T1 has a grant with only 1 to 7 active "
                            "members (G1): a time bank&#x27;s social value is shared among its grants by their hours, so "
                            "the value of any T1 grant would let a reader work out G1&#x27;s hours, and none is shown.</p>")
    shown = grants.assign(active_members=[30, 20, 40])
    assert grant_sections(shown, rule, withheld_grants(shown, None, rule))[0].html is None  # no *, nothing to explain


def test_the_cost_chart_names_the_grants_it_does_not_draw():
    """The demo's chart drew 28 bars for 29 grants and said "Grants with 1 to 7 active members are withheld": a funder
    looked for G010 among the bars. The summary names each grant left out and why (G1: 3 active members; G3: none)."""
    from dashboards.funder import grant_sections

    rule = DisclosureRule()
    grants = _three_grants().assign(active_members=[3, 20, 0], two_way_members=[0, 10, 0],
                                    data_start=pd.Timestamp("2024-01-01"), data_end=pd.Timestamp("2024-12-31"))
    chart = grant_sections(grants, rule, withheld_grants(grants, None, rule))[1]
    assert chart.summary.startswith("1 of 3 grants drawn, each on the money and members of its observed period")
    assert chart.summary.endswith(" Not drawn: G1 (withheld: 1 to 7 active members); G3 (no active member in its "
                                  "observed period).")
    assert [list(t.y) for t in chart.figure.data] == [["G2"]]  # the grants down the side


def test_the_sensitivity_names_the_grants_it_leaves_out():
    """The demo's sensitivity listed 27 of 29 grants and never said so: G010 and G026, shown as * in the allocation
    above it, were missing from its chart and table without a word. Here G1 and G2 are withheld (G1 alone would give
    its share back from the pot), and the summary names them."""
    from dashboards.funder import sensitivity_section
    from models.disclosure import DisclosureRule, Withheld

    rows = [("F", g, a, ws, base, base + d, r) for g, base, r in (("G1", 300_00, 3), ("G2", 600_00, 2), ("G3", 900_00, 1))
            for a, ws, d in ((0.5, "base", 0), (1.0, "equal", 50_00))]
    sensitivity = pd.DataFrame(rows, columns=["funder", "grant_id", "alpha", "weight_set", "base_allocation_pence",
                                              "allocation_pence", "rank"])
    withheld = Withheld({"reciprocity_index": {("G1",)}})
    section = sensitivity_section(sensitivity, DisclosureRule(), withheld)
    assert list(section.table["Grant" if "Grant" in section.table else "grant_id"]) == ["G3"]
    assert section.summary.endswith(" Not listed: G1, G2, whose allocation is withheld (*) in the allocation above.")


def test_the_sensitivity_ranks_a_funders_grants_among_those_it_shows():
    """The ranks were the mart's, among all of a funder's grants: a funder showing 2 grants listed one as 3rd, and another
    as moving from 1st to 2nd, which told where a withheld grant's allocation stood against them. Here G1 is withheld
    (and G2 with it, the pot less the others would give its share): G3 and G4 rank 1st and 2nd of 2 whatever G1 does."""
    from dashboards.funder import sensitivity_section
    from models.disclosure import DisclosureRule, Withheld

    allocations = {"G1": (1000_00, 1000_00), "G2": (100_00, 100_00), "G3": (900_00, 1100_00), "G4": (800_00, 700_00)}
    rows = []
    for i, ws in enumerate(("base", "equal")):
        order = sorted(allocations, key=lambda g: -allocations[g][i])
        rows += [("F", g, 0.5, ws, allocations[g][0], allocations[g][i], order.index(g) + 1) for g in allocations]
    sensitivity = pd.DataFrame(rows, columns=["funder", "grant_id", "alpha", "weight_set", "base_allocation_pence",
                                              "allocation_pence", "rank"])
    section = sensitivity_section(sensitivity, DisclosureRule(), Withheld({"reciprocity_index": {("G1",)}}))
    table = section.table.set_index("grant_id")
    assert list(table.index) == ["G3", "G4"]
    assert table[["best_rank", "worst_rank", "ranked_among"]].to_dict("index") == {
        "G3": {"best_rank": 1, "worst_rank": 1, "ranked_among": 2}, "G4": {"best_rank": 2, "worst_rank": 2, "ranked_among": 2}}
    assert "ranks within a funder (among its grants listed here) move by up to 0 places" in section.summary


def test_each_two_way_share_names_the_members_it_is_a_share_of(tmp_path):
    """"At a glance" gave each funder's share of active members who both gave and received (47-60% on the demo), the
    components table a "Two-way share" of each time bank's trading members (50-64%): two figures under one name. Each
    now says its denominator, and each note says how the other differs; the summary's CSV names its column so too."""
    from dashboards.funder import component_section, summary_section
    from dashboards.page import Page, render
    from models.reciprocity.settings import INDEX_COMPONENTS

    rule = DisclosureRule()
    grants, allocation = _three_grants(), _three_allocations()
    glance = summary_section(grants, allocation, rule, withheld_grants(grants, allocation, rule))
    assert "Of about 60 active members (those who traded while a grant ran, counted grant by grant), 50.0% both gave " \
           "and received: the two-way share of active members" in glance.html
    assert glance.note.startswith("Two-way share of active members:") and "two-way share of trading members" in glance.note
    assert "two_way_share_of_active_members" in glance.table.columns and "two_way_share" not in glance.table.columns
    activity = pd.DataFrame({"timebank_id": ["T1", "T2"], "period_type": "overall", "trading_members": [40, 60],
                             "beneficiary_members": [20, 30], "two_way_members": [20, 30], "beneficiary_givers": [10, 15],
                             **{c: 0.5 for c in INDEX_COMPONENTS}, "reciprocity_index": 0.5, "index_coverage": 1.0})
    components = component_section(activity, rule)
    assert components.note.startswith("Two-way share of trading members:") and "share of active members" in components.note
    assert "Two-way share of trading members" in [t.name for t in components.figure.data]
    written = render(Page("funder.html", "For funders", "Intro.", [glance, components]), tmp_path).read_text()
    assert "<th scope='col'>Two-way share of trading members</th>" in written
    assert "<th scope='col'>Two-way share</th>" not in written
