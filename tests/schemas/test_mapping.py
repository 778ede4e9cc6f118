"""Mappings are validated on load: unknown keys, columns outside the contract and unsafe expressions are refused."""

from __future__ import annotations

import duckdb
import pytest
import yaml

from models.config import ConfigError, load_config
from schemas.expressions import ExpressionError, compile_expression
from schemas.mapping import MappingError, load_mapping, presets

BASE = {
    "source": "service_contacts",
    "description": "a test extract",
    "columns": {"pid": "Patient", "when": ["Seen", "Date seen"], "kind": "Type"},
    "output": {"person_id": "pid", "contact_on": "date(when, '%d.%m.%Y')", "service": {"map": "kind", "values": {"A": "ae", "G": "gp"}}},
}


def write(tmp_path, **changes):
    spec = {**BASE, **changes}
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    return path


@pytest.mark.parametrize("changes, key, reason", [
    ({"colums": {}}, "colums", "unknown key"),
    ({"output": {**BASE["output"], "ward": "'x'"}}, "output.ward", "not a column of service_contacts"),
    ({"output": {"person_id": "pid", "service": "'gp'"}}, "output", "required column(s) of service_contacts not produced: contact_on"),
    ({"source": "patients"}, "source", "unknown source"),
    ({"derive": {"x": "system('rm -rf /')"}}, "derive.x", "function system() is not in the safe subset"),
    ({"derive": {"x": "pid; DROP TABLE persons"}}, "derive.x", "cannot read"),
    ({"derive": {"x": "(SELECT 1)"}}, "derive.x", "unknown column 'SELECT'"),
    ({"derive": {"x": "nosuch || 'a'"}}, "derive.x", "unknown column 'nosuch'"),
    ({"derive": {"x": "@secret"}}, "derive.x", "unknown parameter @secret"),
    ({"derive": {"x": "date(when, when)"}}, "derive.x", "argument 2 of date() must be a literal"),
    ({"keep": [{"if": "pid is not null", "rule": "Bad Rule", "column": "person_id", "expected": "x"}]}, "keep.0.rule", "lower-case"),
    ({"derive": {"x": {"map": "kind", "values": {}}}}, "derive.x", "non-empty"),
    ({"group": {"by": ["nosuch"]}}, "group.by", "unknown column 'nosuch'"),
    # group.keep sees the grouped columns only: 'kind' is neither in by, first, last nor any.
    ({"group": {"by": ["pid"], "last": ["when"], "keep": [{"if": "kind = 'A'", "rule": "r", "column": "service", "expected": "x"}]}},
     "group.keep[0].if", "unknown column 'kind'"),
])
def test_bad_mapping_is_refused_with_file_key_and_reason(tmp_path, changes, key, reason):
    path = write(tmp_path, **changes)
    with pytest.raises(MappingError) as err:
        load_mapping(str(path))
    assert err.value.path == path and err.value.key.startswith(key.split(".")[0])
    assert key in str(err.value) and reason in str(err.value)


def test_every_shipped_preset_loads():
    assert {"timeoverflow_transfers", "timeoverflow_transfers_complete", "timeoverflow_members"} <= set(presets())
    for name in presets():
        assert load_mapping(name).spec.description


def test_settings_refuse_a_preset_for_the_wrong_source(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("mappings:\n  hospital_spells:\n    - use: timeoverflow_members\n      parameters: {timebank_id: T}\n")
    with pytest.raises(ConfigError, match="produces timebank_members, not hospital_spells"):
        load_config(config)


@pytest.mark.parametrize("text, value", [
    ("1 + 2 * 3", 7),
    ("'a' || 'b'", "ab"),
    ("not (1 = 2) and 3 in (1, 3)", True),
    ("if(null is null, 'y', 'n')", "y"),
    ("extract('Ana (12)', '\\((\\w+)\\)$', 1)", "12"),
    ("hours_minutes('2:45')", 2.75),
    ("date('2024-03-08 23:30:00 +0100', '%Y-%m-%d %H:%M:%S %z')", "2024-03-08"),
    ("count_of(1, null, 3)", 2),
    ("sum_of(1, null, 3)", 4),
    ("any_match('^C', 'D12', null, 'C50')", True),
    ("star_version('Well-being Star')", "wellbeing_star"),
    ("star_area('recovery_star', 'Physical health & self-care')", "physical_health_self_care"),
    ("star_area(star_version('JUSTICE STAR'), 'Drugs and alcohol')", "drugs_alcohol"),
])
def test_expressions_compute_what_they_say(text, value):
    sql = compile_expression(text, set()).sql
    got = duckdb.connect().execute(f"SELECT CAST({sql} AS VARCHAR)").fetchone()[0]
    assert got == str(value).lower() if isinstance(value, bool) else got == str(value)


def test_failed_conversions_are_checks_not_silent_nulls():
    compiled = compile_expression("date(d, '%d/%m/%Y')", {"d"})
    (check,) = compiled.checks
    con = duckdb.connect()
    hits = con.execute(f"SELECT d, {check.condition} FROM (VALUES ('31/02/2024'), ('01/02/2024'), (NULL)) t(d)").fetchall()
    assert hits == [("31/02/2024", True), ("01/02/2024", False), (None, False)]
    assert check.rule == "date_format"


def test_star_names_that_match_no_registry_name_are_checks_not_guesses():
    compiled = compile_expression("star_area(star_version(v), a)", {"v", "a"})
    version_check, area_check = compiled.checks
    assert (version_check.rule, area_check.rule) == ("unknown_star_version", "unknown_area")
    rows = duckdb.connect().execute(
        f"SELECT {compiled.sql}, {version_check.condition}, {area_check.condition} FROM (VALUES "
        "('Recovery Star', 'Trust & hope'), ('Recovery Star', 'Motivation'), ('Family Star', 'Trust & hope')) t(v, a)").fetchall()
    assert rows == [("trust_hope", False, False), (None, False, True), (None, True, False)]


def test_every_registry_name_matches_itself():
    from schemas.star_names import match_key, registry_areas
    keys = [match_key(v) for v in registry_areas()]
    assert len(set(keys)) == len(keys)
    for version, areas in registry_areas().items():
        assert len({match_key(a) for a in areas}) == len(areas), version


@pytest.mark.parametrize("unpivot, key, reason", [
    ({"name": "area", "value": "score"}, "unpivot", "give columns, other_columns or both"),
    ({"name": "area", "value": "score", "other_columns": {"name": "header", "value": "nosuch"}},
     "unpivot.other_columns.value", "unknown column 'nosuch'"),
])
def test_bad_unpivot_is_refused(tmp_path, unpivot, key, reason):
    path = write(tmp_path, source="star_readings", columns={"pid": "pid", "v": "v", "d": "d"},
                 output={"person_id": "pid", "star_version": "v", "assessed_on": "d"}, unpivot=unpivot)
    with pytest.raises(MappingError) as err:
        load_mapping(str(path))
    assert key in str(err.value) and reason in str(err.value)


def test_expression_errors_say_why():
    with pytest.raises(ExpressionError, match="takes 3 argument"):
        compile_expression("substr(a, 1)", {"a"})
    with pytest.raises(ExpressionError, match="ends too early"):
        compile_expression("a ||", {"a"})
