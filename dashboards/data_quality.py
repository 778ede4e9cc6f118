"""The data-quality page: rows read, staged and quarantined per source; rules most broken; examples; the values of
optional covariates cleared in staged rows (``quarantine.cleared_values``), counted and shown as the rules are.

Counts pass disclosure control. Examples show where a rule broke (file, line, column,
expected form) and the offending value, except for identifier columns and dates of birth,
which are masked: no identifier, raw or hashed, leaves the warehouse.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd
import plotly.express as px

from models.disclosure import DisclosureRule
from dashboards import charts, glossary
from dashboards.marts import demo_run
from dashboards.page import PALETTE, cell, Page, Section
from schemas.contract import contract
from schemas.raw import RECORDED_AFTER, SOURCES, XLSX_SOURCES

MASKED = "(masked)"
#: Sources whose rows are organisations' records, not people's: their row counts are published exactly
#: (a grant is a public award; rounding 29 grants to 30 only made this page disagree with the funder page).
NOT_PERSONAL = ("grants",)


#: A count of rows inside ingest's note on a file (``meta.input_files.notes``, ``pipelines.ingest``): "12 malformed
#: line(s) quarantined", "433 input row(s) became 300 (grouped by ...)".
ROWS_IN_NOTE = re.compile(r"\b\d[\d,]*(?=\s+(?:malformed line|input row)\(s\)|\s+\((?:grouped|one row))")


def file_notes(con: duckdb.DuckDBPyConnection, run_id: str, rule: DisclosureRule) -> pd.DataFrame:
    """The run's files that ingest wrote a note on (not UTF-8, another delimiter, read through a mapping that reshaped
    or could not link its rows, malformed lines), each count of rows in a note through the rule."""
    frame = con.execute(
        "SELECT source, regexp_extract(source_file, '[^/\\\\]+$') AS file, notes FROM meta.input_files "
        "WHERE run_id = ? AND notes IS NOT NULL ORDER BY source, file", [run_id]).df()
    frame["notes"] = [ROWS_IN_NOTE.sub(lambda m: str(rule.count(int(m.group(0).replace(",", "")))), n)
                      for n in frame["notes"]]
    return rule.no_counts(frame, "notes on how files were read; each count of rows in them published through the rule",
                          "file notes")


def source_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    frame = con.execute(
        "SELECT source, count(*) AS files, sum(rows_read) AS rows_read, sum(rows_staged) AS rows_staged, "
        "sum(rows_quarantined) AS rows_quarantined FROM meta.input_files WHERE run_id = ? GROUP BY source", [run_id]
    ).df()
    frame = pd.DataFrame({"source": list(SOURCES)}).merge(frame, on="source", how="left").fillna(0)
    for col in ("files", "rows_read", "rows_staged", "rows_quarantined"):
        frame[col] = frame[col].astype(int)
    frame["quarantined_pct"] = (100 * frame["rows_quarantined"] / frame["rows_read"].where(frame["rows_read"] > 0)).round(1)
    return frame


def by_source(frame: pd.DataFrame, rule: DisclosureRule, counts: list[str], name: str,
              ratios: dict[str, tuple[str, str, float, bool]] | None = None) -> pd.DataFrame:
    """Rows keyed by ``source`` as every page publishes them: the counts of people's records through the rule, those of
    the :data:`NOT_PERSONAL` sources (and their ``ratios``) exactly, so the evaluator's input files, this page's sources
    and rules, and the funder page count the same grants."""
    exact = frame["source"].isin(NOT_PERSONAL)
    checked = rule.table(frame[~exact], counts, ratios=ratios, name=name)
    out = frame.astype(object)
    out.loc[~exact] = checked
    out.attrs["disclosure"] = {**checked.attrs["disclosure"], "rows": int(len(out)),
                               "rule": f"{checked.attrs['disclosure']['rule']} for people's records; exact for "
                                       + ", ".join(NOT_PERSONAL) + " (organisations' records)"}
    return out


def recorded(source: str, cleared: bool = False) -> str:
    """Where ingest recorded ``source``'s problems: its quarantined rows, or (``cleared``) the values it cleared in rows
    it staged (pipelines/ingest/stage.py)."""
    return f"(SELECT * FROM quarantine.cleared_values WHERE source = '{source}')" if cleared else f"quarantine.{source}"


def rules_broken(con: duckdb.DuckDBPyConnection, cleared: bool = False) -> pd.DataFrame:
    """Rows quarantined (``cleared``: values cleared) per source, rule and column, each rule also in words (``meaning``,
    :func:`glossary.rule_words`)."""
    parts = [f"SELECT source, rule, \"column\", count(*) AS rows FROM {recorded(s, cleared)} GROUP BY ALL" for s in SOURCES]
    frame = con.execute(" UNION ALL ".join(parts) + " ORDER BY rows DESC, source, rule").df()
    frame.insert(2, "meaning", frame["rule"].map(glossary.rule_words))
    return frame


#: What one row of a source is, and its key columns in words, for the sentence of a one-row-per-key rule: ingest
#: writes "person_id+star_version+area+assessed_on once" (pipelines/ingest/stage.py), which the page showed as
#: "Person ID+Star version+area+Assessed on once".
ROW_NOUNS = {"persons": "record", "timebank_members": "membership", "timebank_exchanges": "record",
             "programme_enrolments": "enrolment", "star_readings": "reading", "hospital_spells": "record",
             "offences": "record", "grants": "record", "coproduction_assessments": "rating"}
KEY_WORDS = {"person_id": "person", "member_id": "member ID", "exchange_id": "exchange ID", "programme_id": "programme",
             "started_on": "start date", "star_version": "Star version", "area": "area", "assessed_on": "date",
             "spell_id": "spell ID", "offence_id": "offence ID", "grant_id": "grant ID", "timebank_id": "time bank",
             "domain": "domain", "item": "item"}
ONCE = re.compile(r"^(?:(?P<key>[A-Za-z0-9_+]+) once|one record per (?P<clash>[A-Za-z0-9_+]+))$")


def expected_words(source: str, expected: str) -> str:
    """A one-row-per-key rule's expected form as a sentence: 'person_id+star_version+area+assessed_on once' on
    star_readings -> 'one reading per person, Star version, area and date'; 'spell_id once' on hospital_spells ->
    'one record per spell ID'; any other expected form as it is."""
    found = ONCE.match(str(expected))
    if not found:
        return expected
    keys = [KEY_WORDS.get(k, k.replace("_", " ")) for k in (found["key"] or found["clash"]).split("+")]
    listed = keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]
    return f"one {ROW_NOUNS.get(source, 'row')} per {listed}"


def examples(con: duckdb.DuckDBPyConnection, rule: DisclosureRule, per_rule: int = 3, cleared: bool = False) -> pd.DataFrame:
    """Up to ``per_rule`` quarantined rows (``cleared``: values cleared) of each broken rule and column, identifiers
    (pseudonymised columns, and the record id of a source of people's records) and dates of birth masked.

    A rule broken by 1 to ``rule.suppress_max`` rows of a person-level source shows none: the number of its examples
    (1 or 2 of at most 3) would give back the count the rules table shows as ``*``."""
    parts = [
        f"SELECT source, rule, \"column\", regexp_extract(source_file, '[^/]+$') AS file, source_line AS line, expected, value "
        f"FROM {recorded(s, cleared)} QUALIFY row_number() OVER (PARTITION BY rule, \"column\" ORDER BY source_line) <= {per_rule}"
        + ("" if s in NOT_PERSONAL else f" AND count(*) OVER (PARTITION BY rule, \"column\") > {rule.suppress_max}")
        for s in SOURCES
    ]
    frame = con.execute(" UNION ALL ".join(parts) + " ORDER BY source, rule, \"column\", line").df()
    hidden = {(s, c.name) for s in SOURCES for c in contract(s).columns
              if c.pseudonymise or c.name in ("birth_date", *RECORDED_AFTER)}  # a date of birth or death finds a person
    # a record's own id (an exchange's, in the platform's export) finds it, and the people in it, in the source system
    hidden |= {(s, contract(s).key) for s in SOURCES if s not in NOT_PERSONAL and contract(s).key}
    frame["value"] = [MASKED if (s, c) in hidden or r == "unknown_reference" else v
                      for s, c, r, v in zip(frame["source"], frame["column"], frame["rule"], frame["value"])]
    frame["expected"] = [expected_words(s, e) for s, e in zip(frame["source"], frame["expected"])]
    frame.insert(2, "meaning", frame["rule"].map(glossary.rule_words))
    return frame


#: What each source holds, in words, for the page's first table: a reader meets "time-bank members
#: (timebank_members.csv)" there, not ``timebank_members`` in code font (the CSV keeps the source names).
SOURCE_WORDS = {"persons": "people", "timebank_members": "time-bank members", "timebank_exchanges": "time-bank exchanges",
                "programme_enrolments": "programme enrolments", "star_readings": "Outcomes Star readings",
                "hospital_spells": "hospital stays", "justice_events": "justice events", "offences": "proven offences",
                "service_contacts": "service contacts", "grants": "grants",
                "coproduction_assessments": "co-production assessments"}


def source_words(source: str) -> str:
    """'timebank_members' -> 'time-bank members (timebank_members.csv)'; a source kept in spreadsheets names both
    its file types ('grants (grants.csv or .xlsx)')."""
    kind = ".csv or .xlsx" if source in XLSX_SOURCES else ".csv"
    return f"{SOURCE_WORDS.get(source, source.replace('_', ' '))} ({source}{kind})"


def rules_section(broken: pd.DataFrame, rule: DisclosureRule) -> Section:
    """The rules broken (:func:`rules_broken`, not empty): a chart of the 15 most broken, each bar a source, rule and
    column in words (two columns under one label drew one bar), the codes on hover; the table keeps the codes beside
    their meaning."""
    protected = by_source(broken, rule, ["rows"], "rules broken")
    said = [f"{SOURCE_WORDS.get(s, s)}: {m} ({c.replace('_', ' ')})"
            for s, c, m in zip(broken["source"], broken["column"], broken["meaning"])]
    chart = broken.assign(rows_shown=[0 if v == "*" else v for v in protected["rows"]], label=charts.wrapped(said),
                          codes=[f"{s}.{c}, rule {r}" for s, c, r in zip(broken["source"], broken["column"], broken["rule"])])
    top = broken.iloc[0]
    figure = px.bar(chart.head(15), x="rows_shown", y="label", orientation="h", title="Quarantined rows by source and rule",
                    labels={"rows_shown": "rows (rounded; suppressed shown as 0)", "label": ""}, custom_data=["codes"],
                    color_discrete_sequence=PALETTE)  # plotly express's own blue (#636efa) otherwise
    figure.update_traces(hovertemplate="%{y}: %{x} rows<br>%{customdata[0]}<extra></extra>")
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(height=max(320, 120 + charts.row_height(chart["label"].head(15)) * len(chart.head(15))))
    return Section("Rules most often broken",
                   f"The rule broken most often was '{top['meaning']}' (rule {top['rule']}), in "
                   f"{SOURCE_WORDS.get(top['source'], top['source'])} ({top['column'].replace('_', ' ')}). "
                   f"{len(broken)} source, rule and column combinations were broken in all.",
                   figure=figure, table=protected, csv_name="data-quality-rules.csv", code_columns=("source", "rule", "column"),
                   values_in_text=True)


def cleared_sections(con: duckdb.DuckDBPyConnection, rule: DisclosureRule) -> list[Section]:
    """The values ingest cleared, their rows staged (none: no section): how many per source, rule and column, and up to
    three examples of each with the file and line, as the rejected rows are shown."""
    present = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'quarantine' "
                          "AND table_name = 'cleared_values'").fetchone()[0]
    cleared = rules_broken(con, cleared=True).rename(columns={"rows": "values"}) if present else pd.DataFrame()
    if cleared.empty:
        return []
    total = cell(rule.count(int(cleared["values"].sum())))[0]
    return [
        Section("Values cleared, rows kept",
                f"About {total} values of optional covariates (such as an IMD decile or a diagnosis code) broke their rule. "
                "Each was cleared: its row was staged with that value empty, so the row counts in every figure and the "
                "models read the value as missing. These values are not in the quarantined rows or share above.",
                table=by_source(cleared, rule, ["values"], "values cleared"), csv_name="data-quality-cleared.csv",
                code_columns=("source", "rule", "column")),
        Section("Example cleared values",
                "Up to three examples of each rule, with the file and line to look at. As for rejected rows, a rule broken "
                f"by 1 to {rule.suppress_max} values of people's records shows no example; the warehouse's "
                "quarantine.cleared_values holds every one.",
                table=rule.no_counts(examples(con, rule, cleared=True), "examples: identifiers and dates of birth masked, "
                                     "no counts", "cleared examples"),
                csv_name="data-quality-cleared-examples.csv", code_columns=("source", "rule", "column", "file", "value")),
    ]


def build_page(con: duckdb.DuckDBPyConnection, run_id: str, rule: DisclosureRule) -> Page:
    counts = source_counts(con, run_id)
    published = by_source(counts, rule, ["rows_read", "rows_staged", "rows_quarantined"], "sources",
                          {"quarantined_pct": ("rows_quarantined", "rows_read", 100.0, True)})
    published["quarantined_pct"] = [round(v, 1) if isinstance(v, float) else v for v in published["quarantined_pct"]]
    total_read, total_q = int(counts["rows_read"].sum()), int(counts["rows_quarantined"].sum())
    supplied = int((counts["files"] > 0).sum())
    broken = rules_broken(con)
    sections = [
        Section(
            "Rows read, staged and quarantined",
            f"{supplied} of {len(SOURCES)} sources were supplied. Of about {cell(rule.count(total_read))[0]} rows read, "
            f"{cell(rule.count(total_q))[0]} were quarantined; every row is either staged or quarantined.",
            table=published.rename(columns={"quarantined_pct": "quarantined_%"}),
            csv_name="data-quality-sources.csv",
            note=f"Counts of 1-{rule.suppress_max} of people's records are shown as * and others rounded to the nearest "
                 f"{rule.round_to} (NHS HES rule). The {', '.join(NOT_PERSONAL)} rows are organisations' records (public "
                 "awards), counted exactly.",
            code_columns=("source",), shown_values={"source": {s: source_words(s) for s in SOURCES}},
        )
    ]
    notes = file_notes(con, run_id, rule)
    if len(notes):
        sections.append(Section(
            "How the files were read",
            f"Ingest noted how {len(notes)} of the files were read (text not in UTF-8, another delimiter, an extract read "
            "through a mapping, lines that did not fit the header): read these before the figures built on them.",
            table=notes, csv_name="data-quality-file-notes.csv", code_columns=("source", "file")))
    if broken.empty:
        sections.append(Section("Rules most often broken", "No row broke a rule in this run."))
    else:
        sections.append(rules_section(broken, rule))
        sections.append(Section(
            "Example rejected rows",
            "Up to three examples of each broken rule, with the file and line to look at. Identifiers and dates of birth are masked. "
            f"A rule broken by 1 to {rule.suppress_max} rows of people's records shows no example (their number would give "
            "the count); the warehouse's quarantine tables hold every row.",
            table=rule.no_counts(examples(con, rule), "examples: identifiers and dates of birth masked, no counts", "examples"),
            csv_name="data-quality-examples.csv", code_columns=("source", "rule", "column", "file", "value"),
        ))
    sections += cleared_sections(con, rule)
    return Page("data-quality.html", "Data quality", "What arrived, what was accepted and why rows were set aside.", sections,
                demo=demo_run(con))

