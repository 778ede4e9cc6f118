"""TimeOverflow exports read through the shipped presets (data/mappings/timeoverflow_*.yaml).

Fixtures in tests/fixtures/extracts/timeoverflow are written as TimeOverflow's report code
writes them (Report::TransferDecorator, TransferCompleteReportDecorator, Report::MemberDecorator)
with the en/es/ca locale strings; each expected value below can be checked by reading them.
"""

from __future__ import annotations

import json
import shutil

import pytest

from pipelines.ingest.readers import SourceFileError
from pipelines.ingest.stage import ingest_source
from schemas.mapping import MappingUse
from tests.conftest import AS_OF, FIXTURES, KEY

EXTRACTS = FIXTURES / "extracts" / "timeoverflow"
ORG = "member_id,timebank_id,person_id,role,joined_on,left_on\norg-TB01,TB01,,organisation,2024-01-01,\n"


def _folder(tmp_path, *files):
    folder = tmp_path / "in"
    (folder / "timebank_exchanges").mkdir(parents=True)
    (folder / "timebank_members").mkdir()
    for name in files:
        target = "timebank_members" if name.startswith("members") else "timebank_exchanges"
        shutil.copy(EXTRACTS / name, folder / target / name)
    (folder / "timebank_members" / "organisation.csv").write_text(ORG)
    return folder


def _ingest(con, folder, source, uses):
    return ingest_source(con, source, folder, run_id="r", as_of=AS_OF, key=KEY, mappings=uses)


MEMBERS = [MappingUse(use="timeoverflow_members", files="members*", parameters={"timebank_id": "TB01"})]
TRANSFERS = [MappingUse(use="timeoverflow_transfers", files="all_transfers*",
                        parameters={"timebank_id": "TB01", "organisation": "Banc de Temps"}),
             MappingUse(use="timeoverflow_transfers_complete", files="transfers_complete*", parameters={"timebank_id": "TB01"})]


def _pseudonym(con, raw):
    return con.execute("SELECT pseudonym(?)", [raw]).fetchone()[0]


def test_all_transfers_in_three_locales(tmp_path, warehouse):
    folder = _folder(tmp_path, "members_en.csv", "all_transfers_en.csv", "all_transfers_es.csv", "all_transfers_ca.csv")
    members = _ingest(warehouse, folder, "timebank_members", MEMBERS)
    assert (members.rows_read, members.rows_staged, members.rows_quarantined) == (3, 3, 0)
    report = _ingest(warehouse, folder, "timebank_exchanges", TRANSFERS)
    # 5 + 2 + 2 rows; the inactive or deleted member rows (2 en, 1 es, 1 ca) are quarantined, never attributed.
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (9, 5, 4)
    assert report.rules_broken == {"inactive_or_deleted_member": 4}
    ana, joan, org = (_pseudonym(warehouse, x) for x in ("1", "2", "org-TB01"))
    rows = warehouse.execute(
        "SELECT giver_id, receiver_id, hours, exchanged_on::VARCHAR, kind, category FROM staging.timebank_exchanges "
        "ORDER BY exchanged_on").fetchall()
    assert rows == [
        (joan, ana, 1.5, "2024-03-02", "exchange", "Company at home"),   # To gave, From received
        (ana, joan, 0.75, "2024-03-08", "exchange", "Shopping"),         # 23:30 +0100 stays on the 8th
        (ana, org, 2.0, "2024-03-10", "system_credit", None),            # the organisation's credit
        (joan, ana, 2.25, "2024-04-02", "exchange", "Acompañamiento"),
        (ana, joan, 0.5, "2024-05-02", "exchange", "Companyia"),
    ]
    quarantined = warehouse.execute(
        "SELECT source_line, \"column\", rule, value FROM quarantine.timebank_exchanges ORDER BY source_file, source_line").fetchall()
    assert quarantined == [
        (3, "receiver_id", "inactive_or_deleted_member", None),  # ca: From "L'usuari ja no existeix"
        (5, "receiver_id", "inactive_or_deleted_member", None),
        (6, "giver_id", "inactive_or_deleted_member", None),
        (3, "receiver_id", "inactive_or_deleted_member", None),
    ]
    files = warehouse.execute("SELECT source_file, mapping, mapping_sha256 FROM meta.input_files WHERE source = 'timebank_exchanges' "
                              "ORDER BY source_file").fetchall()
    assert [f[1] for f in files] == ["timeoverflow_transfers"] * 3 and all(len(f[2]) == 64 for f in files)


def test_members_export_keeps_no_names_or_contacts(tmp_path, warehouse):
    folder = _folder(tmp_path, "members_en.csv")
    _ingest(warehouse, folder, "timebank_members", MEMBERS)
    rows = warehouse.execute("SELECT member_id, role, joined_on::VARCHAR FROM staging.timebank_members ORDER BY joined_on").fetchall()
    assert [r[1:] for r in rows] == [("community", "2023-01-10"), ("community", "2023-02-01"), ("organisation", "2024-01-01")]
    columns = [r[0] for r in warehouse.execute("DESCRIBE staging.timebank_members").fetchall()]
    assert not {"name", "email", "phone"} & set(columns)



def test_members_export_says_its_members_are_linked_to_no_person(tmp_path, warehouse):
    """TimeOverflow's members report has no field a person could be linked by (Report::MemberDecorator:
    member_uid, name, email, phones, created_at, last login, locale, balance), so every member it
    gives has an empty person_id. Those members never take part in the readmission, reoffending or
    well-being comparisons (each reads participation from a person-linked timebank_members row), and a
    run said nothing: the time bank simply went missing from the outcome pages. The run's notes say it."""
    folder = _folder(tmp_path, "members_en.csv")
    report = _ingest(warehouse, folder, "timebank_members", MEMBERS)
    notes = [n for n in report.notes if n.startswith("members_en.csv:")]
    assert len(notes) == 1 and "no person_id" in notes[0] and "not as participants" in notes[0]
    assert not [n for n in report.notes if n.startswith("organisation.csv:")]  # a contract-form file: no such note

def test_complete_export(tmp_path, warehouse):
    folder = _folder(tmp_path, "members_en.csv", "transfers_complete.csv")
    _ingest(warehouse, folder, "timebank_members", MEMBERS)
    report = _ingest(warehouse, folder, "timebank_exchanges", TRANSFERS)
    assert (report.rows_read, report.rows_staged, report.rows_quarantined) == (4, 2, 2)
    ana, joan, org = (_pseudonym(warehouse, x) for x in ("1", "2", "org-TB01"))
    rows = warehouse.execute("SELECT giver_id, receiver_id, hours, kind FROM staging.timebank_exchanges ORDER BY exchanged_on").fetchall()
    assert rows == [(joan, ana, 1.5, "exchange"), (ana, org, 2.0, "system_credit")]
    violations = [json.loads(v)[0]["rule"] for (v,) in warehouse.execute("SELECT violations FROM quarantine.timebank_exchanges").fetchall()]
    assert violations == ["inactive_or_deleted_member"] * 2


def test_an_unknown_bare_name_is_quarantined_not_credited_to_the_organisation(tmp_path, warehouse):
    folder = _folder(tmp_path, "members_en.csv")
    (folder / "timebank_exchanges" / "all_transfers_x.csv").write_text(
        "Date,From,To,Post,Quantity\n2024-03-12 18:00:00 +0100,Utilisateur inactif,Joan Puig (2),Jardin,1:00\n")
    _ingest(warehouse, folder, "timebank_members", MEMBERS)
    report = _ingest(warehouse, folder, "timebank_exchanges", TRANSFERS)
    assert (report.rows_staged, report.rules_broken) == (0, {"unknown_account": 1})


def test_extract_that_does_not_fit_names_the_missing_columns(tmp_path, warehouse):
    folder = _folder(tmp_path)
    (folder / "timebank_exchanges" / "all_transfers_bad.csv").write_text("Date,From,Post\n2024-03-12 18:00:00 +0100,A (1),x\n")
    with pytest.raises(SourceFileError, match=r"to \(to or destino or destí\), quantity \(quantity or cantidad or quantitat\)"):
        _ingest(warehouse, folder, "timebank_exchanges", TRANSFERS)


def test_bad_hours_and_dates_are_quarantined_with_their_rule(tmp_path, warehouse):
    folder = _folder(tmp_path, "members_en.csv")
    (folder / "timebank_exchanges" / "all_transfers_x.csv").write_text(
        "Date,From,To,Post,Quantity\n02/03/2025,Ana Garcia (1),Joan Puig (2),x,1:30\n2024-03-02 10:15:00 +0100,Ana Garcia (1),Joan Puig (2),x,1.5\n")
    _ingest(warehouse, folder, "timebank_members", MEMBERS)
    report = _ingest(warehouse, folder, "timebank_exchanges", TRANSFERS)
    rules = warehouse.execute("SELECT source_line, rule, value FROM quarantine.timebank_exchanges ORDER BY source_line").fetchall()
    assert rules == [(2, "date_format", "02/03/2025"), (3, "duration_format", "1.5")]
    assert report.rows_read == report.rows_staged + report.rows_quarantined == 2


def test_the_documented_glob_matches_every_name_timeoverflow_gives_the_transfers_report():
    """The settings example in docs/data-contract.md must pick up the report however it was downloaded.

    Reports > Transfers names it "<bank>_<Transfer.model_name.human(count: :many)>_<date>.csv"
    (Report::TransferDecorator#name: en Transfers, es Transferencias, ca Transferències), but
    Reports > "download all" puts it in a zip as "Transfers_<date>.csv" whatever the locale
    (ReportsController#add_csv_to_zip: "#{report_class.pluralize}_#{Date.today}.csv";
    coopdevs/timeoverflow@ddaec8a7). The documented "*_Transfer*" missed the zip's name, and the
    run refused to start, reading the file in contract form."""
    import fnmatch
    import re

    doc = (FIXTURES.parents[1] / "docs" / "data-contract.md").read_text()
    glob = re.search(r'use: timeoverflow_transfers\n\s+files: "([^"]+)"', doc).group(1)
    names = ["Banc de Temps_Transfers_2025-03-02.csv", "Banc de Temps_Transferencias_2025-03-02.csv",
             "Banc de Temps_Transferències_2025-03-02.csv", "Transfers_2025-03-02.csv"]
    assert [n for n in names if not fnmatch.fnmatch(n, glob)] == []


def test_a_stock_install_writes_utc_as_the_word_and_both_reports_read_it(tmp_path, warehouse):
    """TimeOverflow sets no config.time_zone (config/application.rb, coopdevs/timeoverflow@ddaec8a7), so
    created_at.to_s is a UTC ActiveSupport::TimeWithZone written "2025-03-02 09:15:00 UTC", not "+0000"."""
    folder = _folder(tmp_path)
    (folder / "timebank_members" / "members_utc.csv").write_text(
        "N,Name,Email,Phone,Alternative Phone,Created,Last login,Locale,Balance\n1,Ana Garcia,,,,2023-01-10 23:30:00 UTC,,en,0\n"
        "2,Joan Puig,,,,2023-02-01 08:00:00 UTC,,en,0\n")
    (folder / "timebank_exchanges" / "all_transfers_utc.csv").write_text(
        "Date,From,To,Post,Quantity\n2024-03-02 09:15:00 UTC,Ana Garcia (1),Joan Puig (2),Shopping,1:15\n")
    members = _ingest(warehouse, folder, "timebank_members", MEMBERS)
    transfers = _ingest(warehouse, folder, "timebank_exchanges", TRANSFERS)
    assert (members.rows_quarantined, transfers.rows_quarantined) == (0, 0)
    assert warehouse.execute("SELECT exchanged_on::VARCHAR, hours FROM staging.timebank_exchanges").fetchall() == [("2024-03-02", 1.25)]
    assert warehouse.execute("SELECT min(joined_on)::VARCHAR FROM staging.timebank_members WHERE role = 'community'").fetchone() == ("2023-01-10",)
