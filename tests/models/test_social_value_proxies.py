"""Proxy table, licences of the shipped values, and uprating with the deflator table."""

from __future__ import annotations

import copy
import csv
import re
from decimal import Decimal

import pytest

from models.social_value import (
    SocialValueError,
    evaluate,
    load_impact_map,
    builtin_deflators_path,
    builtin_proxies_path,
    load_deflators,
    load_proxy_table,
    parse_impact_map,
    resolve,
    uprate,
)
from models.social_value.proxies import DeflatorTable, ProxyTable, proxies_from_records

OPEN_LICENCES = {"OGL-UK-3.0", "CC-BY-4.0", "CC0-1.0"}


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- what we ship -----------------------------------------------------------------------------

def test_shipped_proxies_are_openly_licensed_with_provenance():
    rows = _rows(builtin_proxies_path())
    assert rows, "the shipped table should not be empty"
    for row in rows:
        assert row["licence"] in OPEN_LICENCES, row["id"]
        for column in ("id", "description", "value", "unit", "price_year", "source", "licence"):
            assert row[column].strip(), (row["id"], column)
        # HACT Social Value Bank and National TOMs values are CC BY-NC-ND: never bundled
        text = " ".join(row.values()).lower()
        assert not re.search(r"\bhact\b|social value bank|national toms|social value portal", text), row["id"]
        assert not re.search(r"\bnc\b|\bnd\b|noncommercial|non-commercial|noderiv", row["licence"].lower())


def test_shipped_wellby_values():
    # HMT Wellbeing Guidance for Appraisal (2021): £13,000 central, £10,000 low, £16,000 high, 2019 prices
    table = load_proxy_table(builtin_proxies_path())
    assert {p: (table.get(p).value, table.get(p).price_year) for p in ("wellby", "wellby_low", "wellby_high")} == {
        "wellby": (Decimal(13000), 2019), "wellby_low": (Decimal(10000), 2019), "wellby_high": (Decimal(16000), 2019)
    }


def test_shipped_deflators_cover_every_shipped_price_year():
    deflators = load_deflators(builtin_deflators_path())
    for proxy_id in load_proxy_table(builtin_proxies_path()).ids():
        year = load_proxy_table(builtin_proxies_path()).get(proxy_id).price_year
        assert year in deflators.index, proxy_id
    assert all(deflators.sources[y] for y in deflators.index)


def test_wellby_uprated_2019_to_2024():
    # index 2019 = 81.1085, 2024 = 100: 13,000 x 100 / 81.1085 = 16,027.91
    deflators = load_deflators(builtin_deflators_path())
    wellby = load_proxy_table(builtin_proxies_path()).get("wellby")
    assert round(uprate(wellby, 2024, deflators), 2) == Decimal("16027.91")
    # the WELLBY check of reference/sroi.md: +0.2 life satisfaction for a year = 0.2 x 13,000 = 2,600 (2019 prices)
    assert Decimal("0.2") * wellby.value == 2600


# --- uprating and errors ----------------------------------------------------------------------

DEFLATORS = DeflatorTable(index={2020: Decimal(80), 2024: Decimal(100)}, origin="test")


def _proxy(**row):
    base = {"id": "p", "description": "d", "value": 50, "unit": "u", "price_year": 2020, "source": "s", "licence": "CC0-1.0"}
    base.update(row)
    return proxies_from_records([base], origin="test").get("p")


def test_uprating_hand_computed():
    # 50 x 100/80 = 62.50
    assert uprate(_proxy(), 2024, DEFLATORS) == Decimal("62.5")
    # same year: no uprating and no deflator row needed
    assert uprate(_proxy(price_year=2030), 2030, DEFLATORS) == Decimal(50)


def test_proxy_without_price_year_is_an_error_naming_the_outcome():
    with pytest.raises(SocialValueError) as info:
        uprate(_proxy(price_year=""), 2024, DEFLATORS, outcome="x", field="proxy")
    assert info.value.outcome == "x" and "no price year" in str(info.value)


def test_price_year_without_deflator_is_an_error():
    with pytest.raises(SocialValueError) as info:
        uprate(_proxy(price_year=2011), 2024, DEFLATORS, outcome="x")
    assert "no index for 2011" in str(info.value) and info.value.outcome == "x"


def _map(proxy_row, **outcome):
    o = {"id": "x", "stakeholder": "s", "quantity": 1, "proxy": "p", "duration": 1, **outcome}
    return parse_impact_map({"price_year": 2024, "investment": 100, "proxy_tables": [], "proxies": [proxy_row], "outcomes": [o]})


ROW = {"id": "p", "description": "d", "value": 10, "unit": "u", "price_year": 2024, "source": "s", "licence": "CC0-1.0"}


def test_unknown_proxy_id_in_outcome():
    with pytest.raises(SocialValueError) as info:
        resolve(_map(ROW, proxy="nope"), deflators=DEFLATORS)
    assert (info.value.outcome, info.value.field) == ("x", "proxy")
    assert "unknown proxy id 'nope'" in str(info.value) and "known ids: p" in str(info.value)


def test_missing_price_year_and_missing_deflator_through_resolve():
    with pytest.raises(SocialValueError, match="outcome 'x', field 'proxy'.*no price year"):
        resolve(_map({**ROW, "price_year": None}), deflators=DEFLATORS)
    with pytest.raises(SocialValueError, match="outcome 'x', field 'proxy'.*no index for 2019"):
        resolve(_map({**ROW, "price_year": 2019}), deflators=DEFLATORS)


def test_proxy_rows_need_provenance():
    for missing in ("source", "licence", "unit", "value"):
        row = copy.deepcopy(ROW)
        row[missing] = ""
        with pytest.raises(SocialValueError, match=missing):
            proxies_from_records([row], origin="test")
    with pytest.raises(SocialValueError, match="non-negative"):
        proxies_from_records([{**ROW, "value": -1}], origin="test")


def test_duplicate_proxy_ids_across_tables():
    a = proxies_from_records([ROW], origin="a.csv")
    b = proxies_from_records([ROW], origin="b.csv")
    with pytest.raises(SocialValueError, match="a.csv and b.csv"):
        a.merged(b)
    assert len(ProxyTable({}).merged(a)) == 1


def test_user_table_from_csv(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("id,description,value,unit,price_year,source,licence,url\n"
                    "gp,GP consultation,42,consultation,2020,My trust's costing,internal,\n")
    table = load_proxy_table(path)
    assert table.get("gp").value == 42 and table.get("gp").origin == str(path)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,value\nx,1\n")
    with pytest.raises(SocialValueError, match="lacks column"):
        load_proxy_table(bad)


def test_user_table_through_the_map(tmp_path):
    # a map naming its own table by a path relative to the map file
    (tmp_path / "costs.csv").write_text("id,description,value,unit,price_year,source,licence\n"
                                         "gp,GP consultation,40,consultation,2023,own,internal\n")
    (tmp_path / "defl.csv").write_text("year,index,source\n2023,96,test\n2024,100,test\n")
    (tmp_path / "map.yaml").write_text(
        "price_year: 2024\ninvestment: 100\nproxy_tables: [costs.csv]\ndeflators: defl.csv\n"
        "outcomes:\n  - {id: g, stakeholder: s, quantity: 3, proxy: gp, duration: 1}\n"
    )
    r = resolve(load_impact_map(tmp_path / "map.yaml"))
    # 40 x 100/96 = 41.6667; x 3 = 125.00; / 1.035 = 120.77
    assert round(r.outcomes[0].proxy_value, 4) == Decimal("41.6667")
    assert round(evaluate(r).overall.pv, 2) == Decimal("120.77")


def test_deflator_table_validation(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("year,index,source\n2020,0,x\n")
    with pytest.raises(SocialValueError, match="positive"):
        load_deflators(path)
    path.write_text("year,index\n2020,1\n")
    with pytest.raises(SocialValueError, match="lacks column"):
        load_deflators(path)
