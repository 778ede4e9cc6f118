"""The bridge from the models' marts to the SROI calculator, on a real DuckDB file."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
import yaml

from models.disclosure import DisclosureRule
from models.social_value import SocialValueError
from models.social_value.settings import SocialValueSettings
from models.social_value.warehouse import evaluate_from_warehouse, model_outputs_from_warehouse

MAP = {
    "version": 1, "name": "t", "price_year": 2024, "discount": "green_book", "investment": {0: 100},
    "proxy_tables": ["builtin"], "deflators": "builtin", "monte_carlo": {"draws": 100, "seed": 3},
    "outcomes": [
        {"id": "readmissions", "stakeholder": "NHS", "quantity": "avoided_readmissions", "proxy": "wellby",
         "deadweight": 0, "duration": 1},
        {"id": "help", "stakeholder": "members", "quantity": "hours_given", "proxy": "national_living_wage_hour_2024",
         "deadweight": 0, "duration": 1},
    ],
}


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    c.execute("CREATE SCHEMA marts")
    c.execute("""CREATE TABLE marts.timebank_activity AS SELECT * FROM (VALUES
        ('TB01', 'overall', 10.0, 30), ('TB01', 'quarter', 4.0, 20), ('TB02', 'overall', 2.5, 20))
        t(timebank_id, period_type, hours_exchanged, trading_members)""")
    yield c
    c.close()


def test_hours_from_the_overall_rows(con):
    out = model_outputs_from_warehouse(con)
    assert out["hours_given@TB01"]["estimate"] == 10.0 and out["hours_given@TB02"]["estimate"] == 2.5
    assert out["hours_given"] == {"estimate": 12.5, "n": 50, "estimand": "gross", "unit": "hours"}
    assert "avoided_readmissions" not in out  # no readmission mart: no key, so the calculator can say so


def test_a_time_bank_with_1_to_7_trading_accounts_gives_no_hours_to_the_impact_map(con, tmp_path):
    """TB03 traded in one quarter only, 5 accounts, 3.25 h: the activity pages withhold that quarter, and with no
    other quarter to withhold it with, its impact-map row (hours_given@TB03: the quantity 3.25 and its value) gave it
    back. It has no hours output, the total is TB01's and TB02's, and its hours outcome is left out."""
    con.execute("INSERT INTO marts.timebank_activity VALUES ('TB03', 'overall', 3.25, 5), ('TB03', 'quarter', 3.25, 5)")
    out = model_outputs_from_warehouse(con)
    assert "hours_given@TB03" not in out and out["hours_given"]["estimate"] == 12.5
    assert "hours_given@TB03" in model_outputs_from_warehouse(con, DisclosureRule(suppress_max=4))
    small = {**MAP, "outcomes": [{"id": f"{tb}_help", "stakeholder": "members", "scope": tb,
                                  "quantity": f"hours_given@{tb}", "proxy": "national_living_wage_hour_2024",
                                  "deadweight": 0, "duration": 1} for tb in ("TB01", "TB03")],
             "time_banks": ["TB01", "TB03"]}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(small))
    imap = evaluate_from_warehouse(con, SocialValueSettings(impact_map=tmp_path / "m.yaml"), demo=False).marts["impact_map"]
    imap = imap.set_index("outcome")
    assert imap.loc["TB01_help", "quantity"] == 10.0 and imap.loc["TB03_help", "status"].startswith("omitted")
    assert pd.isna(imap.loc["TB03_help", "quantity"]) and pd.isna(imap.loc["TB03_help", "pv"])


def test_readmission_rates_travel_only_for_readmissions(con):
    con.execute("""CREATE TABLE marts.readmission_avoided AS SELECT * FROM (VALUES
        ('readmissions', 3.0, 1.0, 5.0, 0.2, 0.15, 60, 'r'), ('contacts_gp', 12.0, -4.0, 28.0, 6.5, 6.1, 60, 'c'))
        t(measure, estimate, ci_low, ci_high, comparison_rate, participant_rate, n, unit)""")
    out = model_outputs_from_warehouse(con)
    assert out["avoided_readmissions"]["comparison_rate"] == 0.2 and out["avoided_readmissions"]["estimand"] == "net"
    assert "comparison_rate" not in out["avoided_contacts_gp"]  # 6.5 contacts per person-year is not a proportion


def test_missing_model_is_omitted_and_listed(con, tmp_path):
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(MAP))
    ev = evaluate_from_warehouse(con, SocialValueSettings(impact_map=tmp_path / "m.yaml"), demo=False)
    assert [o for o, _ in ev.omitted] == ["readmissions"]
    imap = ev.marts["impact_map"].set_index("outcome")
    assert imap.loc["help", "status"] == "valued"
    assert imap.loc["readmissions", "status"].startswith("omitted: outcome 'readmissions', field 'quantity'")
    # 12.5 h x GBP 11.44 / 1.035 = GBP 138.16
    assert ev.marts["social_value"].set_index("scope").loc["overall", "pv"] == pytest.approx(138.16)


def test_missing_model_can_be_an_error(con, tmp_path):
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(MAP))
    with pytest.raises(SocialValueError, match="avoided_readmissions"):
        evaluate_from_warehouse(con, SocialValueSettings(impact_map=tmp_path / "m.yaml", missing_output="error"),
                                demo=False)


def test_no_map_no_rows(con):
    ev = evaluate_from_warehouse(con, SocialValueSettings(), demo=False)
    assert ev.map_path is None and all(f.empty for f in ev.marts.values())


def test_demo_map_is_used_in_demo_mode():
    assert SocialValueSettings().map_path(demo=True).name == "impact_map.yaml"


def test_config_paths_are_relative_to_the_config_file(tmp_path):
    from models.config import load_config

    (tmp_path / "cfg").mkdir()
    path = tmp_path / "cfg" / "settings.yaml"
    path.write_text("social_value:\n  impact_map: maps/m.yaml\n  proxy_tables: [/abs/costs.csv, costs.csv]\n"
                    "reciprocity:\n  alpha: 0.3\n")
    config = load_config(path)
    assert config.social_value.impact_map == tmp_path / "cfg" / "maps" / "m.yaml"
    assert [str(p) for p in config.social_value.proxy_tables] == ["/abs/costs.csv", str(tmp_path / "cfg" / "costs.csv")]
    assert config.reciprocity.alpha == 0.3
