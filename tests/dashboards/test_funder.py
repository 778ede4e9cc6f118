"""The funder page reads right to a funder: grants costed on the money of the part of their period the data cover,
social value shared by what each grant bought, withheld grants withheld everywhere, withheld cells marked."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from tests.dashboards.page_text import page_text


def _grants(site) -> dict[str, dict]:
    frame = pd.read_csv(site / "funder-grant-metrics.csv", dtype=str, keep_default_na=False)
    return {row["grant_id"]: row for row in frame.to_dict("records")}


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
    assert "The data cover 2022-01-02 to 2025-12-30 (the exchange log)" in text  # the page's first lines
    assert "The exchange log covers 2022-01-02 to 2025-12-30;" in text  # the grant metrics section


def test_a_time_banks_social_value_is_shared_among_its_grants_by_the_hours_each_bought(demo_run):
    """Each time bank's present value (marts.social_value) over its grants in proportion to the hours exchanged in each
    grant's observed period: the grants add up to the time bank's value, and every published grant of a time bank
    shows the same value per hour (by amount, it was the same value per £, whatever the hours)."""
    site, warehouse, _ = demo_run
    con = duckdb.connect(str(warehouse), read_only=True)
    pv = dict(con.execute("SELECT scope, pv FROM marts.social_value WHERE scope <> 'overall'").fetchall())
    mart = con.execute("SELECT timebank_id, sum(social_value), sum(hours_exchanged) FROM marts.grant_metrics "
                       "GROUP BY ALL").fetchall()
    con.close()
    assert len(mart) == 4
    per_hour = {}
    for bank, value, hours in mart:
        assert value == pytest.approx(pv[bank])
        per_hour[bank] = pv[bank] / hours
    checked = 0
    for g in _grants(site).values():
        if g["social_value"] not in ("", "*") and float(g["hours_exchanged"]) > 0:
            assert float(g["social_value"]) / float(g["hours_exchanged"]) == pytest.approx(per_hour[g["timebank_id"]],
                                                                                          rel=1e-3), g["grant_id"]
            checked += 1
    assert checked >= 15
    text = " ".join(page_text(site / "funder.html")["text"])
    assert "shared among the time bank's grants in proportion to the hours exchanged in each grant's observed period" in text


def test_a_grant_withheld_so_the_pot_cannot_give_a_small_one_back_is_withheld_everywhere(demo_run):
    """The attacker: a published allocation gives Σ index = pot × index / allocation; the pot less the published
    allocations gives the two withheld ones together, and the second's index from the grant table split them (on the
    audited build G026's 0.338 gave G010's £738.05 back as about £730). Every grant whose allocation is withheld shows
    * for its index in the grant table and is left out of the sensitivity; no funder's pot has one withheld allocation
    and no time bank's value one withheld social value. On the demo run G010 (NHS, 1-7 active members) takes G026
    (the NHS's next smallest allocation) with it, and G029 (TB04) takes TB04's next smallest social value, G026's."""
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
    assert grants["G026"]["social_value"] == "*" and grants["G026"]["reciprocity_weighted_social_value"] == "*"
    assert grants["G026"]["cost_per_active_member"] not in ("", "*")  # a cost gives no allocation back: still shown
