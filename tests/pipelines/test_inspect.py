"""``python -m pipelines.ingest.inspect``: a draft mapping from header and values, and a dry run that writes nothing."""

from __future__ import annotations

import yaml

from pipelines.ingest.inspect import dry_run, main, suggest
from tests.conftest import AS_OF, FIXTURES

COUNCIL = FIXTURES / "extracts" / "council"


def test_suggestion_from_header_similarity_and_code_frequencies():
    draft = suggest(COUNCIL / "contacts_export.csv", "service_contacts")
    assert "contact_on: contact_date" in draft
    assert "date(contact_on, '%d/%m/%Y')   # reads 6 of 7 distinct values sampled" in draft  # 31/02/2024 is no date
    parsed = yaml.safe_load(draft)
    # A code that is a contract value but for its case is mapped; the others are left null (refused on load): nothing defaults.
    assert parsed["output"]["service"]["values"] == {"GP": "gp", "ASC": None, "A&E": None, "Dentist": None, "MH": None}
    assert "2 rows; one of gp, ae, mental_health, social_care, other" in draft


def test_suggestion_names_a_preset_the_header_fits():
    draft = suggest(FIXTURES / "extracts" / "timeoverflow" / "all_transfers_ca.csv")
    assert "source: timebank_exchanges" in draft and "presets this header fits: timeoverflow_transfers" in draft


def test_dry_run_counts_by_rule_and_column_and_writes_no_warehouse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = dry_run(COUNCIL / "contacts_export.csv", str(COUNCIL / "contacts_mapping.yaml"), {}, as_of=AS_OF.replace(year=2025))
    assert (result["rows_read"], result["rows_staged"], result["rows_quarantined"]) == (7, 5, 2)
    assert result["by_rule"] == [("date_format", "contact_on", 1), ("unmapped_value", "service", 1)]
    assert list(tmp_path.iterdir()) == []


def test_dry_run_names_each_quarantined_row_by_file_line_column_and_rule(tmp_path, monkeypatch):
    """Before, the dry run printed '1  date_format  contact_on': which row, in which file, it did not say."""
    monkeypatch.chdir(tmp_path)
    result = dry_run(COUNCIL / "contacts_export.csv", str(COUNCIL / "contacts_mapping.yaml"), {}, as_of=AS_OF.replace(year=2025))
    extract = COUNCIL / "contacts_export.csv"
    assert result["problems"] == [
        f"{extract}, line 8, column contact_on: rule date_format, expected a date written as %d/%m/%Y, got '31/02/2024'",
        f"{extract}, line 7, column service: rule unmapped_value, expected a code the mapping lists (GP, A&E, MH, ASC; "
        f"contacts_mapping.yaml output.service), got 'Dentist'"]


def test_dry_run_shows_three_rows_of_a_rule_then_how_many_more(tmp_path, monkeypatch):
    extract = tmp_path / "contacts.csv"
    bad = [f"C-1{i:03d},{day}/02/2024,GP,North" for i, day in enumerate((30, 31, 32, 33, 34))]  # no 30 February and on
    extract.write_text("Client Ref,Contact Date,Service Type,Team\nC-1001,03/01/2024,GP,North\n" + "\n".join(bad) + "\n")
    monkeypatch.chdir(tmp_path)
    result = dry_run(extract, str(COUNCIL / "contacts_mapping.yaml"), {}, as_of=AS_OF.replace(year=2025))
    assert result["rows_quarantined"] == 5
    assert [p.split(": rule")[0] for p in result["problems"][:3]] == [
        f"{extract}, line {n}, column contact_on" for n in (3, 4, 5)]
    assert result["problems"][3:] == ["... and 2 more row(s) breaking rule date_format on column contact_on"]


def test_dry_run_names_each_value_it_would_clear(tmp_path, monkeypatch, capsys):
    """HES APC episodes with one diagnosis that is no ICD-10 code: the spell would be staged without it, and the dry run
    names the value by file, line, column and rule."""
    source = FIXTURES / "extracts" / "hes_apc" / "hes_apc_episodes.csv"
    extract = tmp_path / "hes_apc_episodes.csv"
    lines = source.read_text().splitlines()
    lines[2] = lines[2].replace(",R69X,", ",R6!,")  # line 3: A01's second spell
    extract.write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    result = dry_run(extract, "hes_apc_episodes", {}, as_of=AS_OF)
    assert result["values_cleared"] == 1
    assert len(result["cleared"]) == 1 and result["cleared"][0].startswith(
        f"{extract}, line 3, column primary_diagnosis: rule icd10_code, expected an ICD-10 code")
    assert result["cleared"][0].endswith(", got 'R6!' (value cleared, row staged)")
    assert main([str(extract), "--dry-run", "hes_apc_episodes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith(", values cleared 1") and f"  {result['cleared'][0]}" in out


def test_command_line(capsys):
    assert main([str(COUNCIL / "contacts_export.csv"), "--dry-run", str(COUNCIL / "contacts_mapping.yaml")]) == 0
    out = capsys.readouterr().out
    assert "rows read 7: staged 5, quarantined 2" in out and "unmapped_value" in out
    assert main([str(COUNCIL / "contacts_export.csv"), "--dry-run", "no_such_preset"]) == 2
    assert "cannot be read" in capsys.readouterr().err


def test_readme_shows_what_inspect_prints(capsys, monkeypatch):
    """The README's example is the command's real output (its elided head aside)."""
    readme = (FIXTURES.parents[1] / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```console\n")[1:]]
    suggestion = next(b for b in blocks if "--source service_contacts" in b).splitlines()
    shown = suggestion[suggestion.index("...") + 1:]
    printed = suggest(COUNCIL / "contacts_export.csv", "service_contacts").splitlines()
    assert "\n".join(shown) in "\n".join(printed)
    dry = next(b for b in blocks if "--dry-run" in b).splitlines()[1:]
    monkeypatch.chdir(COUNCIL)  # as the README runs it, beside the extract
    main(["contacts_export.csv", "--dry-run", "contacts_mapping.yaml"])
    assert capsys.readouterr().out.splitlines()[:len(dry)] == dry
