"""The first run from the terminal: bad starts stop before the run, a good one is quiet and ends with index.html.

The bad starts run ``python -m pipelines.run`` as a user would and check one short message,
no traceback and exit code 2. The good and the failing run use the hand-checkable fixture
folder (35 rows) with a throwaway warehouse, output folder and DAGSTER_HOME.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.config import load_config
from pipelines import preflight
from pipelines.ingest.pseudonymise import MissingKeyError
from pipelines.resources import Settings
from tests.conftest import FIXTURES

REPO = Path(__file__).resolve().parents[2]
LONG_KEY = "k" * 40


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OUTCOMES_")}
    base.update({"OUTCOMES_INPUT_DIR": str(FIXTURES / "valid"), "OUTCOMES_WAREHOUSE": str(tmp_path / "w.duckdb"),
                 "OUTCOMES_OUTPUT_DIR": str(tmp_path / "site"), "DAGSTER_HOME": str(tmp_path / "dagster_home"),
                 "OUTCOMES_PSEUDONYM_KEY": LONG_KEY})
    base.update(env)
    return subprocess.run([sys.executable, "-m", "pipelines.run"], cwd=REPO, env=base, capture_output=True,
                          text=True, timeout=600)


def lines(proc: subprocess.CompletedProcess) -> list[str]:
    return (proc.stdout + proc.stderr).splitlines()


def assert_refused(proc: subprocess.CompletedProcess, *needles: str) -> str:
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "Traceback" not in text
    assert len(lines(proc)) < 20, text
    assert text.startswith("The run did not start:")
    for needle in needles:
        assert needle in text, text
    return text


# ------------------------------------------------------------------ the checks, as functions

def test_misspelt_key_gets_the_likely_key(tmp_path):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("reoffending:\n  follow_up_dayz: 365\n")
    assert preflight.config_problems(str(cfg)) == [
        f"settings file {cfg}, line 2: `reoffending.follow_up_dayz` is not a known setting: did you mean `follow_up_days`?"]


def test_mistakes_in_the_settings_are_listed_in_the_files_order(tmp_path):
    """Before: in the order of the sections in the code (line 4, line 1)."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("readmision:\n  window_max_days: 20\ningest:\n  max_quarantine_share: 0.1\n")
    assert preflight.config_problems(str(cfg)) == [
        f"settings file {cfg}, line 1: `readmision` is not a known setting: did you mean `readmission`?",
        f"settings file {cfg}, line 4: `ingest.max_quarantine_share` is not a known setting: did you mean "
        "`max_quarantined_share`?"]


def test_unknown_section_and_far_key(tmp_path):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("readmision:\n  x: 1\ningest:\n  zzzz: 1\n")
    prefix = f"settings file {cfg}, line "
    assert sorted(preflight.config_problems(str(cfg))) == [
        prefix + "1: `readmision` is not a known setting: did you mean `readmission`?",
        prefix + "4: `ingest.zzzz` is not a known setting"]


def test_a_misspelt_primary_outcome_is_named_before_the_run(tmp_path):
    """Before: accepted, and no row of the run was primary (every verdict read as exploratory), silently."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("effects:\n  primary_outcome:\n    '*': reoffending:binary_rates\n")
    [problem] = preflight.config_problems(str(cfg))
    assert problem.startswith(f"settings file {cfg}, line 2: `effects.primary_outcome`")
    assert ("reoffending has no outcome 'binary_rates'; did you mean binary_rate? Its outcomes: binary_rate, frequency, "
            "days_to_first_reoffence, time_to_first_reoffence") in problem


def test_negative_window_names_the_field(tmp_path):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("readmission:\n  window_max_days: -3\n")
    [problem] = preflight.config_problems(str(cfg))
    assert problem == (f"settings file {cfg}, line 2: `readmission.window_max_days`: input should be greater than or equal "
                       "to 0 (got -3)")


def test_the_renamed_programme_rule_says_what_to_write(tmp_path):
    """comparison_excludes_programmes (true/false) became programme_exclusion (four rules): an old settings file is
    told what to write for the same rule; a value not among the rules is named with the choices."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("readmission:\n  comparison_excludes_programmes: false\n")
    [problem] = preflight.config_problems(str(cfg))
    assert "comparison_excludes_programmes was replaced by programme_exclusion: write programme_exclusion: none " \
           "for the same rule" in problem
    cfg.write_text("readmission:\n  programme_exclusion: at_start\n")
    assert preflight.config_problems(str(cfg)) == [
        f"settings file {cfg}, line 2: `readmission.programme_exclusion`: input should be 'comparison_at_join', "
        "'comparison_before_window', 'both_before_window' or 'none' (got 'at_start')"]


def test_wrong_type_bad_yaml_and_encoding_name_the_line(tmp_path):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("ingest:\n  as_of: 2025-03-31\n\nreadmission:\n  design: landmark\n  workers: two\n")
    assert preflight.config_problems(str(cfg)) == [
        f"settings file {cfg}, line 6: `readmission.workers`: input should be a valid integer, unable to parse string "
        "as an integer (got 'two')"]
    # before: 'cannot be read as YAML: mapping values are not allowed here  in "<unicode string>", line 3, column 10'
    cfg.write_text("readmission:\n  workers: 1\n   design: landmark\n")
    assert preflight.config_problems(str(cfg)) == [
        f"settings file {cfg}, line 3, column 10: not valid YAML: mapping values are not allowed here"]
    cfg.write_bytes("social_value:\n  impact_map: carte_d'impact_générale.yaml\n".encode("latin-1"))
    [problem] = preflight.config_problems(str(cfg))
    assert problem.startswith(f"settings file {cfg} is not UTF-8 text (") and problem.endswith("save it as UTF-8")


@pytest.mark.parametrize("refused, says, mended", [
    # landmark without landmark_day: time zero defaulted to day 14, after the window, and the run published
    # '0 were readmitted ... likely between +nan and +nan points' with exit code 0
    ("  design: landmark\n", "`readmission`: design landmark: its default day, enrolment_days_after_discharge "
     "(14), falls after window_max_days (7); set landmark_day inside the readmission window", "  landmark_day: 5\n"),
    # risk_set (the default): starts to day 14 were trials on days 8-14 with no day of the window left to count a
    # readmission on, pulling the estimate towards 0 and adding people to n
    ("", "design risk_set: programme starts are counted to enrolment_days_after_discharge (14), after the readmission "
     "window ends (window_max_days 7)", "  enrolment_days_after_discharge: 7\n"),
])
def test_a_time_zero_after_a_shortened_window_is_refused(tmp_path, refused, says, mended):
    """window_max_days 7 with a time zero that can fall after it is refused before the run; set inside it, accepted."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("readmission:\n  window_max_days: 7\n" + refused)
    [problem] = preflight.config_problems(str(cfg))
    assert says in problem
    cfg.write_text("readmission:\n  window_max_days: 7\n" + refused + mended)
    assert preflight.config_problems(str(cfg)) == []


def test_a_misspelt_mapping_preset_is_named_at_its_line(tmp_path):
    """Before: 'hes_apc_episode' was taken for a mapping file of that name and said, only when the source had a file, as
    '<settings folder>/hes_apc_episode: (file): cannot be read (No such file or directory); shipped presets: ...'."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("ingest:\n  as_of: 2025-03-31\nmappings:\n  hospital_spells:\n    - files: 'hes*'\n"
                   "      use: hes_apc_episode\n")
    [problem] = preflight.config_problems(str(cfg))
    assert problem.startswith(f"settings file {cfg}, line 6: `mappings.hospital_spells[0].use`: 'hes_apc_episode' is "
                              f"neither a shipped preset nor a mapping file ({tmp_path / 'hes_apc_episode'} does not "
                              "exist); did you mean `hes_apc_episodes`? shipped presets: ecds_attendances, "), problem
    (tmp_path / "hes_apc_episode").write_text("")  # a file of that name is the evaluator's own mapping: read at ingest
    assert preflight.config_problems(str(cfg)) == []


def test_a_preset_under_the_wrong_source_says_where_it_belongs(tmp_path):
    """Before: "line 3: `mappings`: value error, mappings.service_contacts[0]: preset hes_apc_episodes produces
    hospital_spells, not service_contacts", with no word on where it goes."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("mappings:\n  service_contacts:\n    - use: hes_apc_episodes\n")
    assert preflight.config_problems(str(cfg)) == [
        f"settings file {cfg}, line 3: `mappings.service_contacts[0].use`: preset hes_apc_episodes produces "
        "hospital_spells, not service_contacts: put it under mappings.hospital_spells (it reads HES Admitted Patient "
        "Care episodes (HES APC field names) built into provider spells)"]


@pytest.mark.parametrize("written, meant", [("hospital_spell", "hospital_spells"), ("service_contact", "service_contacts")])
def test_a_misspelt_source_under_mappings_gets_the_likely_source(tmp_path, written, meant):
    """Before: "`mappings`: value error, mappings.hospital_spell: unknown source; one of persons, ..."."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text(f"ingest:\n  as_of: 2025-03-31\nmappings:\n  {written}:\n    - use: hes_apc_episodes\n")
    [problem] = preflight.config_problems(str(cfg))
    assert problem.startswith(f"settings file {cfg}, line 4: `mappings.{written}`: not a source; did you mean {meant}? "
                              "the sources: persons, timebank_members, "), problem


def test_a_misspelt_key_of_a_mapping_entry_gets_the_likely_key(tmp_path):
    """Before: "`mappings.hospital_spells.0.file` is not a known setting", with no suggestion."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("mappings:\n  hospital_spells:\n    - use: hes_apc_episodes\n      file: 'hes*'\n")
    assert preflight.config_problems(str(cfg)) == [
        f"settings file {cfg}, line 4: `mappings.hospital_spells[0].file` is not a known setting: did you mean `files`?"]


def test_a_rule_over_a_section_names_its_entry_and_no_dump(tmp_path):
    """Before: a rule of the mappings section was at line 1 (the section) and ended with the whole section's values,
    "(got {'timebank_exchanges': [{'use': ..., 'parameters': {...}}]})"; the readmission windows' rule likewise."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("mappings:\n  hospital_spells:\n    - use: hes_apc_episodes\n  timebank_exchanges:\n"
                   "    - use: timeoverflow_transfers\n      parameters: {timebank: TB01}\n")
    [problem] = preflight.config_problems(str(cfg))
    assert problem.startswith(f"settings file {cfg}, line 5: `mappings.timebank_exchanges[0].parameters`: missing "
                              "organisation, timebank_id and unknown timebank (did you mean timebank_id?) (the mapping "
                              "declares timebank_id: "), problem
    assert "(got" not in problem
    cfg.write_text("readmission:\n  window_max_days: 7\n  design: landmark\n")
    [problem] = preflight.config_problems(str(cfg))
    assert problem.endswith("set landmark_day inside the readmission window"), problem


def test_matching_covariates_empty_or_twice_are_refused(tmp_path):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("readmission:\n  matching_covariates: []\n")
    [problem] = preflight.config_problems(str(cfg))
    assert "`readmission.matching_covariates`: name at least one covariate to match on" in problem
    cfg.write_text("readmission:\n  matching_covariates: [age, sex, age]\n")
    [problem] = preflight.config_problems(str(cfg))
    assert "`readmission.matching_covariates`: covariates list a column twice" in problem


def test_a_covariate_no_comparison_can_read_is_named_before_the_run(tmp_path):
    """Before: a misspelt matching covariate ran the whole run and left every readmission comparison "not estimated"
    (warning "columns not in the data"). The persons file's further columns are covariates too; a mapped persons file
    does not say its columns by its header, so nothing is checked then."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("readmission:\n  matching_covariates: [age, employment, ethnicity]\n  before_after_covariates:\n"
                   "    - age\n    - specialty\n")
    config = load_config(cfg)
    assert preflight.covariate_problems(str(FIXTURES / "valid"), config, str(cfg)) == [
        f"settings file {cfg}, line 2: `readmission.matching_covariates` names 'ethnicity', which no readmission "
        "comparison can read: name a column of core.index_discharges (provider_id, admitted_on, discharged_on, "
        "admission_method, specialty, n_spells, area_code, quarter, discharge_year, length_of_stay, length_of_stay_band, "
        "diagnosis_chapter, age, sex, imd_decile, prior_emergency_12m) or a further column of the persons file (employment, "
        "prior_convictions)",
        f"settings file {cfg}, line 5: `readmission.before_after_covariates` names 'specialty', which no readmission "
        "comparison can read: name what it measures at joining (age, sex, area_code, imd_decile, prior_emergency_12m) "
        "or a further column of the persons file (employment, prior_convictions)"]
    assert preflight.covariate_problems(str(FIXTURES / "valid"), load_config(None), "") == []
    mapped = tmp_path / "mapped.yaml"
    mapped.write_text(cfg.read_text() + "mappings:\n  persons:\n    - files: '*.csv'\n      use: my_persons.yaml\n")
    assert preflight.covariate_problems(str(FIXTURES / "valid"), load_config(mapped), str(mapped)) == []


def test_the_case_mix_columns_are_readable_and_a_misspelt_exact_column_is_named(tmp_path):
    """The case-mix default (exact admission method; specialty, diagnosis chapter, length-of-stay band, discharge
    year) passes the check; a misspelt ``matching_exact`` or diagnosis column is named as a misspelt covariate is."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("readmission:\n  matching_covariates: [age, specialty, diagnosis_chapter, length_of_stay_band, "
                   "discharge_year, length_of_stay, diagnosis_chaptr]\n  matching_exact: [admission_method, admision_method]\n")
    problems = preflight.covariate_problems(str(FIXTURES / "valid"), load_config(cfg), str(cfg))
    assert len(problems) == 2 and problems[0].startswith(
        f"settings file {cfg}, line 2: `readmission.matching_covariates` names 'diagnosis_chaptr', which no readmission "
        "comparison can read") and problems[1].startswith(
        f"settings file {cfg}, line 3: `readmission.matching_exact` names 'admision_method', which no readmission "
        "comparison can read")


def test_a_misspelt_reoffending_covariate_is_named_before_the_run(tmp_path):
    """Before: nothing checked the reoffending covariates; a misspelt criminal history ran the whole run and the
    comparison matched without it, with a note at the end (left out, it biased the estimate by 1.4-2.0 points in
    docs/validation.md). The cohort's own columns and every covariate column of the persons file are accepted."""
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("reoffending:\n  covariates: [age, sex, proven_offences_to_idx, prior_convictions, event_type,\n"
                   "               prior_convicitons]\n")
    persons = "(area_code, employment, imd_decile, prior_convictions, sex)"
    at_index = "(age, event_type, events_in_period, proven_offences_to_index, earlier_index_events)"
    assert preflight.covariate_problems(str(FIXTURES / "valid"), load_config(cfg), str(cfg)) == [
        f"settings file {cfg}, line {line}: `reoffending.covariates` names {name!r}, which the reoffending comparison "
        f"cannot read: name what it measures at the index date {at_index} or a column of the persons file {persons}"
        for line, name in ((2, "proven_offences_to_idx"), (3, "prior_convicitons"))]
    assert preflight.covariate_problems(str(FIXTURES / "valid"), load_config(None), "") == []


def test_key_rules(monkeypatch):
    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    assert "is not set" in preflight.key_problems(demo=False)[0]
    assert preflight.key_problems(demo=True) == []
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", "x")
    assert preflight.key_problems(demo=False) == [
        "OUTCOMES_PSEUDONYM_KEY is 1 characters long: it must be at least 32 random characters, made by python3 -c "
        "'import secrets; print(secrets.token_urlsafe(32))'"]
    with pytest.raises(MissingKeyError, match="at least 32"):  # a run started from the UI is refused too
        Settings(demo=False).pseudonym_key()
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", "y" * 32)
    assert preflight.key_problems(demo=False) == []


def test_the_readmes_key_is_long_enough(monkeypatch):
    """Before, README.md's `OUTCOMES_PSEUDONYM_KEY='a long random secret'`, copied as written, was refused (20
    characters): the README's line now makes a key, as the refusal says to."""
    readme = (REPO / "README.md").read_text()
    [line] = [ln for ln in readme.splitlines() if ln.startswith("export OUTCOMES_PSEUDONYM_KEY=")]
    assert preflight.MAKE_A_KEY in line
    key = subprocess.run(["sh", "-c", preflight.MAKE_A_KEY.replace("python3", sys.executable, 1)], capture_output=True,
                         text=True, check=True).stdout.strip()
    monkeypatch.setenv("OUTCOMES_PSEUDONYM_KEY", key)
    assert preflight.key_problems(demo=False) == []


def test_input_folder_rules(tmp_path):
    assert preflight.input_problems(str(tmp_path / "nope")) == [
        f"input folder {tmp_path / 'nope'} (OUTCOMES_INPUT_DIR) does not exist"]
    (tmp_path / "notes.txt").write_text("hello")
    # before: 'is not a folder', to an evaluator who had named their persons file rather than its folder
    assert preflight.input_problems(str(tmp_path / "notes.txt")) == [
        f"input folder {tmp_path / 'notes.txt'} (OUTCOMES_INPUT_DIR) is a file, not a folder: name the folder that "
        f"holds the extract's files ({tmp_path})"]
    # before: 'settings file <folder> (OUTCOMES_CONFIG) does not exist', of a folder that does
    assert preflight.config_problems(str(tmp_path)) == [
        f"settings file {tmp_path} (OUTCOMES_CONFIG) is a folder: name the YAML file itself (docs/configuration.md)"]
    [problem] = preflight.input_problems(str(tmp_path))
    assert "holds no file of any source" in problem and "persons.csv" in problem and "hospital_spells.csv" in problem
    (tmp_path / "grants.csv").write_text("grant_id\n")
    assert preflight.input_problems(str(tmp_path)) == []


def test_a_file_meant_for_a_source_but_not_read_is_named(tmp_path):
    """Before: names are read exactly, so Persons.csv, a browser's 'persons (1).csv' or person.csv were skipped unseen
    and the run succeeded on every other source (readmission, reoffending: 'not estimated'), exit code 0."""
    for name in ("Persons.csv", "persons (1).csv", "person.csv", "persons.json", "star_readings - Copy.csv",
                 "notes.txt", "README.md", "truth.json", "service_contacts.CSV", "grants_2024.csv",
                 "persons_data_dictionary.pdf"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "Offences").mkdir()
    (tmp_path / ".DS_Store").write_text("")
    expected = "file names are read exactly (persons.csv, persons_*.csv or a file in persons/); rename it persons.csv"
    assert preflight.input_problems(str(tmp_path)) == [
        f"input folder {tmp_path / 'Offences'} is not read: a source's folder is named exactly for it; rename it "
        f"offences/ (or move it out of {tmp_path})",
        f"input file {tmp_path / 'Persons.csv'} is not read: {expected} (or move it out of {tmp_path})",
        f"input file {tmp_path / 'person.csv'} is not read: {expected} (or move it out of {tmp_path})",
        f"input file {tmp_path / 'persons (1).csv'} is not read: {expected} (or move it out of {tmp_path})",
        f"input file {tmp_path / 'persons.json'} is not read: persons is read from CSV, PARQUET, TSV, TXT files; save it "
        f"as persons.csv (or move it out of {tmp_path})",
        f"input file {tmp_path / 'star_readings - Copy.csv'} is not read: file names are read exactly "
        "(star_readings.csv, star_readings_*.csv or a file in star_readings/); rename it star_readings.csv "
        f"(or move it out of {tmp_path})"]
    # a folder holding only misnamed files says which, then that nothing is read
    only = tmp_path / "only"
    only.mkdir()
    (only / "Persons.csv").write_text("x\n")
    [misnamed, nothing] = preflight.input_problems(str(only))
    assert misnamed.startswith(f"input file {only / 'Persons.csv'} is not read") and "holds no file of any source" in nothing


def test_output_folder_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("")
    assert preflight._writable_folder(tmp_path / "afile" / "site", "output folder") == [
        f"output folder {tmp_path / 'afile' / 'site'}: {tmp_path / 'afile'} is a file, not a folder"]
    assert preflight._writable_folder(tmp_path / "new" / "site", "output folder") == []


def _demo_map_with(tmp_path: Path, old: str, new: str) -> Path:
    """The demo's impact map, beside its unit-cost table, with one line changed; a settings file naming it."""
    demo = REPO / "data" / "demo"
    text = (demo / "impact_map.yaml").read_text()
    assert text.count(old) == 1
    (tmp_path / "impact_map.yaml").write_text(text.replace(old, new))
    (tmp_path / "illustrative_unit_costs.csv").write_text((demo / "illustrative_unit_costs.csv").read_text())
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("social_value:\n  impact_map: impact_map.yaml\n")
    return cfg


def test_impact_map_breaking_a_rule_is_named_before_the_run(tmp_path):
    """An evaluator raised the well-being drop-off from 50 to 90 and kept its sensitivity range 25-75: the run
    used to stop at the social-value step, after every model, with 8 steps (the pages) not run."""
    cfg = _demo_map_with(tmp_path, "    drop_off: 50\n", "    drop_off: 90\n")
    [problem] = preflight.impact_map_problems(load_config(cfg), demo=False)
    assert problem.startswith("impact map (social_value.impact_map): ")
    assert "outcome 'better_wellbeing', field 'ranges.drop_off': the range 25-75 does not contain the base value" in problem
    kept = _demo_map_with(tmp_path, "    drop_off: 50\n", "    drop_off: 60\n")
    assert preflight.impact_map_problems(load_config(kept), demo=False) == []


def test_missing_impact_map_and_proxy_table_are_named(tmp_path):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("social_value:\n  impact_map: nope.yaml\n  proxy_tables: [costs.csv]\n")
    assert preflight.impact_map_problems(load_config(cfg), demo=False) == [
        f"impact map {tmp_path / 'nope.yaml'} (social_value.impact_map) does not exist",
        f"proxy table {tmp_path / 'costs.csv'} (social_value.proxy_tables) does not exist"]
    assert preflight.impact_map_problems(load_config(None), demo=False) == []  # no map outside demo mode: nothing to value
    assert preflight.impact_map_problems(load_config(None), demo=True) == []  # the demo's own map is valid


# ------------------------------------------------------------------ the bad starts, from the terminal

def test_bad_impact_map_stops_before_the_run(tmp_path):
    cfg = _demo_map_with(tmp_path, "    drop_off: 50\n", "    drop_off: 90\n")
    assert_refused(start(tmp_path, OUTCOMES_CONFIG=str(cfg)), "field 'ranges.drop_off'")
    assert not (tmp_path / "w.duckdb").exists()


def test_bad_settings_stop_before_the_run(tmp_path):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("reoffending:\n  follow_up_dayz: 365\nreadmission:\n  window_max_days: -3\n")
    assert_refused(start(tmp_path, OUTCOMES_CONFIG=str(cfg)), "did you mean `follow_up_days`?",
                   "`readmission.window_max_days`")
    assert not (tmp_path / "w.duckdb").exists()


def test_misspelt_mapping_preset_stops_before_the_run(tmp_path):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("mappings:\n  hospital_spells:\n    - use: hes_apc_episode\n")
    text = assert_refused(start(tmp_path, OUTCOMES_CONFIG=str(cfg)), f"settings file {cfg}, line 3: ",
                          "did you mean `hes_apc_episodes`?")
    assert text.count("\n  - ") == 1 and "(file)" not in text, text


def test_missing_key_stops_before_the_run(tmp_path):
    assert_refused(start(tmp_path, OUTCOMES_PSEUDONYM_KEY=""), "OUTCOMES_PSEUDONYM_KEY is not set")


def test_short_key_stops_before_the_run(tmp_path):
    assert_refused(start(tmp_path, OUTCOMES_PSEUDONYM_KEY="x"), "OUTCOMES_PSEUDONYM_KEY is 1 characters long")


def test_an_unset_input_folder_stops_before_the_run(tmp_path):
    """Before: `make run` without OUTCOMES_INPUT_DIR (an `export` left out) read the synthetic sample as the evaluator's
    extract, under their key, and published its made-up figures with exit code 0."""
    text = assert_refused(start(tmp_path, OUTCOMES_INPUT_DIR=""), "OUTCOMES_INPUT_DIR is not set: set it to the "
                          f"folder of your extract (without it the run would read the synthetic sample, {REPO / 'data' / 'sample'}")
    assert text.count("\n  - ") == 1, text
    assert not (tmp_path / "w.duckdb").exists()
    assert preflight.input_dir_unset_problems(demo=True, default="data/sample") == []  # the demo reads the sample


def test_mistyped_input_folder_stops_before_the_run(tmp_path):
    assert_refused(start(tmp_path, OUTCOMES_INPUT_DIR="/nonexistent"), "input folder /nonexistent",
                   "does not exist")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_refused(start(tmp_path, OUTCOMES_INPUT_DIR=str(empty)), "holds no file of any source", "persons.csv")


def test_misnamed_files_stop_before_the_run(tmp_path):
    inputs = copy_fixtures(tmp_path)
    (inputs / "persons.csv").rename(inputs / "Persons.csv")
    (inputs / "service_contacts.csv").rename(inputs / "service_contacts.CSV")  # read: the extension's case is free
    (inputs / "grants (1).csv").write_bytes((inputs / "grants.csv").read_bytes())  # a second download of grants.csv
    text = assert_refused(start(tmp_path, OUTCOMES_INPUT_DIR=str(inputs)),
                          f"input file {inputs / 'Persons.csv'} is not read: ", "rename it persons.csv",
                          f"input file {inputs / 'grants (1).csv'} is not read: ", "rename it grants.csv")
    assert text.count("\n  - ") == 2 and "service_contacts" not in text, text
    assert not (tmp_path / "w.duckdb").exists()


def test_output_folder_under_a_file_stops_before_the_run(tmp_path):
    (tmp_path / "afile").write_text("")
    assert_refused(start(tmp_path, OUTCOMES_OUTPUT_DIR=str(tmp_path / "afile" / "site")), "is a file, not a folder")


# ------------------------------------------------------------------ good and failing runs

def test_demo_run_is_quiet_and_ends_with_index(tmp_path):
    proc = start(tmp_path, OUTCOMES_DEMO="1", OUTCOMES_PSEUDONYM_KEY="")
    out = lines(proc)
    assert proc.returncode == 0, "\n".join(out)
    assert len(out) < 60, "\n".join(out)
    assert proc.stdout.splitlines()[-1] == f"Open:      {tmp_path / 'site' / 'index.html'}"
    assert sum("DEMO MODE" in line for line in out) == 1
    assert not any(" - DEBUG - " in line or "Traceback" in line for line in out)
    assert any(line.strip().startswith("done  ingest") for line in out)
    assert any(line.startswith("Headline figures:") for line in out)
    [log_line] = [line for line in out if line.startswith("Full log:")]
    log = Path(log_line.split(":", 1)[1].strip())
    assert log.parent == tmp_path / "w.duckdb.logs"
    text = log.read_text()
    assert "STEP_SUCCESS" in text and "RUN_SUCCESS" in text


def test_failing_step_is_told_once(tmp_path):
    inputs = copy_fixtures(tmp_path)
    # a file only the step can find unreadable: its footer, all the preflight reads, is whole, its data is not
    as_parquet(inputs / "grants.csv", inputs / "grants_2024.parquet")
    data = bytearray((inputs / "grants_2024.parquet").read_bytes())
    data[4:40] = b"\xff" * 36  # the first data page, after the magic bytes
    (inputs / "grants_2024.parquet").write_bytes(bytes(data))
    site = tmp_path / "site"  # an earlier run's pages: the summary must not send the reader to them unmarked
    site.mkdir()
    for page in ("index.html", "funder.html", "data-quality.html"):
        (site / page).write_text("<html>an earlier run</html>")
        os.utime(site / page, (1_700_000_000, 1_700_000_000))
    proc = start(tmp_path, OUTCOMES_INPUT_DIR=str(inputs))
    out = lines(proc)
    text = "\n".join(out)
    assert proc.returncode == 1, text
    assert len(out) < 60 and "Traceback" not in text
    failed = [line for line in out if "failed:" in line]
    assert len(failed) == 1 and failed[0].strip().startswith("Step staging/grants failed:")
    assert "grants_2024.parquet: cannot be read as PARQUET" in failed[0]
    assert "not executed" not in text.lower()
    assert any("later step(s) did not run" in line for line in out)
    [earlier] = [line for line in out if "Not rebuilt by this run" in line]
    assert "data-quality.html" in earlier and "funder.html" in earlier  # their inputs failed: not rebuilt
    assert out[-1] == f"Open:      {site / 'index.html'}" + (" (an earlier run's page)" if "index.html" in earlier else "")


def test_a_run_failing_before_its_first_step_is_told_why():
    """A run a resource refuses or cannot start runs no step: before, `make run` printed 'Run ...: FAILED' and no
    reason (seen with the warehouse named after a source inside the input folder, whose log folder the run's own
    refusal then named); the reason was only in the full log."""
    import dagster as dg

    from pipelines import summary
    from pipelines.resources import refusal

    class Refusing(dg.ConfigurableResource):
        def setup_for_execution(self, context) -> None:
            raise refusal("The run did not start: no step ran.\n  - input folder /x is not read")

    class Broken(dg.ConfigurableResource):
        def setup_for_execution(self, context) -> None:
            raise OSError("cannot open /w.duckdb")

    for resource, told in ((Refusing(), ["The run did not start: no step ran.", "  - input folder /x is not read"]),
                           (Broken(), ["OSError: cannot open /w.duckdb"])):  # as a step's error is told
        @dg.asset(required_resource_keys={"r"})
        def a() -> None:  # never runs
            raise AssertionError

        job = dg.Definitions(assets=[a], resources={"r": resource}).resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(raise_on_error=False)
        assert not result.success
        assert summary.step_failures(result, job) == told


def test_us_dates_fail_their_source_saying_so(tmp_path):
    """Before: 'Check failed on staging/hospital_spells (quarantine_within_ceiling): ... Found: quarantined share: 0.25;
    ceiling: 0.05.', after a step line broken in two by Dagster's own message, and no page to read the rules on (the
    run stops before the data-quality page)."""
    import re

    inputs = copy_fixtures(tmp_path)
    spells = inputs / "hospital_spells.csv"
    spells.write_text(re.sub(r"(\d{4})-(\d\d)-(\d\d)", r"\2/\3/\1", spells.read_text()))  # MM/DD/YYYY, as Excel-US writes
    proc = start(tmp_path, OUTCOMES_INPUT_DIR=str(inputs))
    out = lines(proc)
    text = "\n".join(out)
    assert proc.returncode == 1 and "Traceback" not in text, text
    assert "  Step staging/hospital_spells failed: its blocking check quarantine_within_ceiling failed (below)" in out
    assert not any(line.startswith("staging/") for line in out), text  # Dagster's second line, unindented
    [check] = [line for line in out if line.startswith("  Check failed: ")]
    # 02/20/2023 cannot be day first, so none of the file's slash dates is read, in either date column
    assert check.startswith("  Check failed: hospital_spells: 4 of 4 rows (100.0%) quarantined, above the ceiling of 5.0% "
                            "(ingest.max_quarantined_share); most for rule month_first_date on admitted_on (3 rows; first "
                            "at hospital_spells.csv line 2: "), check
    assert "then rule type on discharged_on (1 row; first at hospital_spells.csv line 3: '02/20/2023'" in check, check
    assert ("The dates of admitted_on, discharged_on are written month first (US MM/DD/YYYY" in check
            and "none of that file's slash dates is read" in check and "export them as YYYY-MM-DD" in check), check


def test_a_quarantined_identifier_or_birth_date_is_not_repeated(tmp_path):
    """The terminal and the log say the first broken row's file and line; its value only when the data-quality page
    would show it (not an identifier, a date of birth or death)."""
    import duckdb

    from pipelines.ingest.assets import most_broken

    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA quarantine")
        con.execute("CREATE TABLE quarantine.persons (source_file TEXT, source_line BIGINT, \"column\" TEXT, rule TEXT, "
                    "expected TEXT, value TEXT)")
        con.execute("INSERT INTO quarantine.persons VALUES ('/x/persons.csv', 7, 'birth_date', 'type', 'a date', '13/31/1950'),"
                    " ('/x/persons.csv', 9, 'birth_date', 'type', 'a date', '1950-02-30'),"
                    " ('/x/persons.csv', 4, 'imd_decile', 'in_range', '1 to 10', '11')")
        said = most_broken(con, "persons")
    assert said == ("most for rule type on birth_date (2 rows; first at persons.csv line 7: expected a date); then rule "
                    "in_range on imd_decile (1 row; first at persons.csv line 4: '11', expected 1 to 10)")


# ------------------------------------------------------------------ the same mistakes in a run launched from the UI

def ui_run(tmp_path: Path, **settings):
    """"Materialize all" (Dagster's implicit asset job), with the settings as the UI's launchpad gives them."""
    import dagster as dg

    from pipelines.definitions import defs

    config = {"input_dir": str(FIXTURES / "valid"), "output_dir": str(tmp_path / "site"), "config_path": "", "demo": True,
              **settings}
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            run_config={"resources": {"settings": {"config": config},
                                      "warehouse": {"config": {"path": str(tmp_path / "w.duckdb")}}}},
            instance=instance, raise_on_error=False)


def refused_in_ui(result, tmp_path: Path) -> str:
    assert not result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_START"], "no step may start"
    [failure] = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    assert not (tmp_path / "w.duckdb").exists()
    return failure.event_specific_data.error.message


@pytest.mark.filterwarnings("error::DeprecationWarning")  # the check itself is quiet
def test_ui_run_with_a_mistyped_input_folder_runs_no_step(tmp_path):
    # before: every step succeeded on no files, and the pages showed an empty warehouse
    message = refused_in_ui(ui_run(tmp_path, input_dir=str(tmp_path / "smaple")), tmp_path)
    assert f"input folder {tmp_path / 'smaple'} (the launchpad's input_dir) does not exist" in message


@pytest.mark.filterwarnings("error::DeprecationWarning")  # the check itself is quiet
def test_ui_run_with_a_misnamed_file_runs_no_step(tmp_path):
    # before: "Materialize all" succeeded with no persons (staging.persons empty), every comparison "not estimated"
    inputs = copy_fixtures(tmp_path)
    (inputs / "persons.csv").rename(inputs / "persons (1).csv")
    message = refused_in_ui(ui_run(tmp_path, input_dir=str(inputs)), tmp_path)
    assert f"input file {inputs / 'persons (1).csv'} is not read: " in message and "rename it persons.csv" in message


def test_ui_run_with_a_warehouse_folder_runs_no_step(tmp_path):
    """Before: the run started and its first three steps failed with DuckDB's 'IO Error: Could not read from file
    ".../w.duckdb": Is a directory', 40 more not run."""
    (tmp_path / "w.duckdb").mkdir()
    result = ui_run(tmp_path)
    assert not result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_START"], "no step may start"
    [failure] = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    assert failure.event_specific_data.error.message.endswith(
        f"The run did not start: no step ran.\n  - warehouse {tmp_path / 'w.duckdb'} (the launchpad's path) is a folder, "
        f"not a file: name the DuckDB file the run writes, such as {tmp_path / 'w.duckdb' / 'warehouse.duckdb'}\n")
    assert list((tmp_path / "w.duckdb").iterdir()) == []


def test_a_run_that_ingests_nothing_needs_no_input_folder(tmp_path):
    """Raw extracts are often deleted once ingested: a selection without an ingest asset (here the run record) runs
    with the input folder gone, as does the quarterly location, which reads only the warehouse."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.quarterly_definitions import defs as quarterly

    config = {"input_dir": str(tmp_path / "deleted"), "output_dir": str(tmp_path / "site"), "config_path": "", "demo": True}
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            run_config={"resources": {"settings": {"config": config},
                                      "warehouse": {"config": {"path": str(tmp_path / "w.duckdb")}}}},
            instance=instance, asset_selection=[dg.AssetKey(["meta", "run_record"])], raise_on_error=False)
    assert result.success
    # configured at launch (one Settings per run, the warehouse's too): what each location fixes in code is its data
    assert quarterly.resources["settings"].data == {"reads_inputs": False} and defs.resources["settings"].data == {}


@pytest.mark.filterwarnings("error::DeprecationWarning")  # the check itself is quiet
def test_ui_run_with_a_broken_settings_file_runs_no_step(tmp_path):
    # before: each ingest step failed in turn with pydantic's traceback
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("ingest:\n  max_quarantined_shar: 0.1\nreadmission:\n  window_max_days: -3\n")
    message = refused_in_ui(ui_run(tmp_path, config_path=str(cfg)), tmp_path)
    assert "`ingest.max_quarantined_shar` is not a known setting: did you mean `max_quarantined_share`?" in message
    assert "`readmission.window_max_days`: input should be greater than or equal to 0" in message


def all_assets_job():
    """The location's job of every asset, for :func:`dagster.build_reconstructable_job`: a run of it with
    ``execute_job`` has the location's executor, as a run the UI launches has (``execute_in_process`` brings its own)."""
    from pipelines.definitions import defs

    return defs.resolve_job_def("all_assets_job")


def test_a_ui_refusal_is_the_run_failures_message_without_our_traceback(tmp_path, monkeypatch):
    """Before, the run's page and `make ui`'s terminal showed the refusal in 68 lines of two stack traces: the
    resource's failure with the 5 frames down to our raise, and the run's failure as "Error executing resource_fn on
    ResourceDefinition settings", Dagster's stack (14 frames), then the refusal and its 5 frames again as the cause."""
    import dagster as dg

    monkeypatch.delenv("OUTCOMES_PSEUDONYM_KEY", raising=False)
    config = {"input_dir": str(FIXTURES / "valid"), "output_dir": str(tmp_path / "site"), "config_path": "", "demo": False}
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.execute_job(
            dg.build_reconstructable_job("tests.pipelines.test_first_run", "all_assets_job"), instance,
            run_config={"resources": {"settings": {"config": config},
                                      "warehouse": {"config": {"path": str(tmp_path / "w.duckdb")}}}},
            raise_on_error=False)
        events = [e.dagster_event for e in instance.all_logs(result.run_id) if e.is_dagster_event]
    assert not result.success and not [e for e in events if e.event_type_value == "STEP_START"]
    [resource] = [e.event_specific_data.error for e in events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    [run] = [e.event_specific_data.error for e in events if e.event_type_value == "PIPELINE_FAILURE"]
    refusal = "The run did not start: no step ran.\n  - OUTCOMES_PSEUDONYM_KEY is not set"
    assert resource.message.startswith(f"pipelines.preflight.PreflightError: {refusal}"), resource.message
    assert len(resource.stack) == 1 and resource.cause is None and resource.context is None, resource.to_string()
    # the run's failure is the refusal itself, once: no cause repeating it, two frames (Dagster's call, the executor's)
    assert run.message == resource.message, run.message
    assert len(run.stack) == 2 and run.cause is None and run.context is None, run.to_string()
    assert len(resource.to_string().splitlines()) + len(run.to_string().splitlines()) <= 14


def test_a_ui_refusal_says_a_path_from_the_launchpad_is_the_launchpads(tmp_path):
    """Before: 'settings file /x/setings.yaml (OUTCOMES_CONFIG) does not exist' of a path typed in the launchpad's
    config_path, with OUTCOMES_CONFIG not set at all. The default (the variable's value) is still said as the variable's."""
    missing = tmp_path / "setings.yaml"
    message = refused_in_ui(ui_run(tmp_path, config_path=str(missing)), tmp_path)
    assert f"settings file {missing} (the launchpad's config_path) does not exist" in message, message
    assert "OUTCOMES_CONFIG" not in message
    default = Settings()
    assert default.given_as("config_path", "OUTCOMES_CONFIG") == "OUTCOMES_CONFIG"
    assert default.given_as("input_dir", "OUTCOMES_INPUT_DIR") == "OUTCOMES_INPUT_DIR"
    assert Settings(input_dir=str(missing)).given_as("input_dir", "OUTCOMES_INPUT_DIR") == "the launchpad's input_dir"


def test_a_ui_demo_run_warns_of_the_public_key_once_before_its_first_step(tmp_path):
    """Before, every ingest step logged the DEMO MODE warning: 11 times on the run's page and in `make ui`'s terminal."""
    import dagster as dg

    from pipelines.definitions import defs

    config = {"input_dir": str(FIXTURES / "valid"), "output_dir": str(tmp_path / "site"), "config_path": "", "demo": True}
    job = defs.resolve_implicit_global_asset_job_def()
    ingest = [k for k in job.asset_layer.asset_graph.get_all_asset_keys() if k.path[0] == "staging"]
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            run_config={"resources": {"settings": {"config": config},
                                      "warehouse": {"config": {"path": str(tmp_path / "w.duckdb")}}}},
            instance=instance, asset_selection=ingest, raise_on_error=False)
        logs = instance.all_logs(result.run_id)
    assert result.success and len(ingest) == 11
    said = [i for i, e in enumerate(logs) if "DEMO MODE" in (e.user_message or "")]
    assert len(said) == 1 and logs[said[0]].level == logging.WARNING
    first_step = next(i for i, e in enumerate(logs) if e.is_dagster_event and e.dagster_event_type == "STEP_START")
    assert said[0] < first_step


# ------------------------------------------------------------------ a file's header, before the run

def copy_fixtures(tmp_path: Path) -> Path:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for f in (FIXTURES / "valid").iterdir():
        (inputs / f.name).write_bytes(f.read_bytes())
    return inputs


def as_parquet(csv: Path, target: Path, columns: str = "*") -> None:
    """Write the rows of ``csv`` (as text, the ``columns`` selected) to the Parquet file ``target``."""
    import duckdb

    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT {columns} FROM read_csv('{csv}', all_varchar = true)) TO '{target}' (FORMAT parquet)")


def test_renamed_column_stops_before_the_run(tmp_path):
    # before: the run started, staging/persons failed after the other sources' steps, and 40 steps did not run
    inputs = copy_fixtures(tmp_path)
    persons = inputs / "persons.csv"
    persons.write_text(persons.read_text().replace("birth_date", "date_of_birth", 1))
    text = assert_refused(start(tmp_path, OUTCOMES_INPUT_DIR=str(inputs)),
                          f"{persons}: line 1: required column(s) birth_date missing from the header",
                          "[rule: required_column]")
    assert text.count("\n  - ") == 1, text
    assert not (tmp_path / "w.duckdb").exists()


def test_unknown_covariate_stops_before_the_run(tmp_path):
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("readmission:\n  matching_covariates: [age, ethnicity]\n")
    text = assert_refused(start(tmp_path, OUTCOMES_CONFIG=str(cfg)),
                          f"settings file {cfg}, line 2: `readmission.matching_covariates` names 'ethnicity'")
    assert text.count("\n  - ") == 1, text
    assert not (tmp_path / "w.duckdb").exists()


def test_header_rules_as_ingest_says_them(tmp_path):
    from pipelines.ingest.stage import header_problems

    inputs = copy_fixtures(tmp_path)
    assert [header_problems(s, inputs) for s in ("persons", "grants", "offences")] == [[], [], []]
    # Windows-1252 with semicolons, as a spreadsheet saves it: read as ingest reads it, nothing to say
    (inputs / "grants.csv").write_bytes("grant_id;funder;timebank_id;amount;period_start;period_end\n"
                                        "G1;Fondation Générale;TB01;100;2023-01-01;2023-12-31\n".encode("cp1252"))
    assert header_problems("grants", inputs) == []
    (inputs / "offences.csv").write_text("offence_id,person_id,offence_date,offence_group,is_breach\nO1,P001,2023-01-01,theft,false\n")
    (inputs / "grants.csv").write_text("grant_id,Grant ID,timebank_id,amount,period_start,period_end\n")
    [offences] = header_problems("offences", inputs)
    [grants] = header_problems("grants", inputs)
    assert (offences.rule, offences.line, offences.column) == ("required_column", 1, "proven_on")
    assert (grants.rule, grants.line, grants.column) == ("unique_columns", 1, "grant_id")
    (inputs / "grants.csv").write_text("")
    assert [e.rule for e in header_problems("grants", inputs)] == ["header"]
    # old-Mac line ends (CR alone, Excel's "CSV (Macintosh)"): ingest reads them, so the header is read as it does
    # (the check had raised csv.Error: "new-line character seen in unquoted field", a traceback before the run)
    (inputs / "grants.csv").write_bytes(b"grant_id,funder,timebank_id,amount,period_start,period_end\r"
                                        b"G1,Fund,TB01,100,2023-01-01,2023-12-31\r")
    assert header_problems("grants", inputs) == []
    (inputs / "grants.csv").write_bytes(b"grant_id,funder,timebank_id,amount,period_end\rG1,Fund,TB01,100,2023-12-31\r")
    assert [(e.rule, e.column) for e in header_problems("grants", inputs)] == [("required_column", "period_start")]


def test_parquet_and_workbook_headers_are_checked_before_the_run(tmp_path):
    """Before: only text files' headers were read before the run; a Parquet or workbook file missing a required
    column, or one its reader cannot open, failed its ingest step mid-run."""
    from openpyxl import Workbook

    from pipelines.ingest.stage import header_problems

    inputs = copy_fixtures(tmp_path)
    as_parquet(inputs / "grants.csv", inputs / "grants.parquet", "* EXCLUDE (period_start)")
    (inputs / "grants.csv").unlink()
    [missing] = header_problems("grants", inputs)
    assert (missing.rule, missing.column, missing.path.name) == ("required_column", "period_start", "grants.parquet")
    (inputs / "grants.parquet").write_bytes(b"PAR1 not a parquet file")
    [unreadable] = header_problems("grants", inputs)
    assert (unreadable.rule, unreadable.path.name) == ("format", "grants.parquet")
    assert "cannot be read as PARQUET" in str(unreadable)
    (inputs / "grants.parquet").unlink()
    book = Workbook()
    book.active.append(["Grant ID", "Funder", "Timebank ID", "Amount", "Period start", "Grant ID"])
    book.active.append(["G1", "Fund", "TB01", 100, "2023-01-01", "G1"])
    book.save(inputs / "grants.xlsx")
    [repeated] = header_problems("grants", inputs)
    assert (repeated.rule, repeated.column) == ("unique_columns", "grant_id")
    book.active.delete_cols(6)
    book.active.cell(1, 6, "Period end")
    book.save(inputs / "grants.xlsx")
    assert header_problems("grants", inputs) == []
    # a password-protected workbook is an OLE file, not a zip: openpyxl's BadZipFile was a traceback before the run
    (inputs / "grants.xlsx").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))
    [locked] = header_problems("grants", inputs)
    assert (locked.rule, locked.path.name) == ("format", "grants.xlsx") and "cannot be read as XLSX" in str(locked)


def test_a_covariate_in_a_parquet_persons_file_is_known_before_the_run(tmp_path):
    # before: a persons file in Parquet said nothing of its columns, so no covariate was checked
    inputs = copy_fixtures(tmp_path)
    as_parquet(inputs / "persons.csv", inputs / "persons.parquet", "*, 'x' AS ethnicity")
    (inputs / "persons.csv").unlink()
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("readmission:\n  matching_covariates: [age, ethnicity, religion]\n")
    [problem] = preflight.covariate_problems(str(inputs), load_config(cfg), str(cfg))
    assert "names 'religion'" in problem and "(employment, ethnicity, prior_convictions)" in problem, problem


def test_a_file_not_in_utf8_is_told_in_the_summary(tmp_path):
    # before: read as Windows-1252 with a note kept only in meta.input_files; the terminal said nothing
    inputs = copy_fixtures(tmp_path)
    grants = inputs / "grants.csv"
    grants.write_bytes(grants.read_text().replace("\n", "\nG099,Fondation Générale,TB01,100,2023-01-01,2023-12-31\n", 1)
                       .encode("cp1252"))
    proc = start(tmp_path, OUTCOMES_INPUT_DIR=str(inputs))
    out = lines(proc)
    assert proc.returncode == 0, "\n".join(out)
    assert "  Note on grants.csv: line 2 is not UTF-8: read as Windows-1252; export as UTF-8 to be sure of accented " \
           "letters" in out, "\n".join(out)
    assert sum(line.startswith("  Note on ") for line in out) == 1
