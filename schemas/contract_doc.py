"""Generate docs/data-contract.md from the pandera models: ``python -m schemas.contract_doc > docs/data-contract.md``.

A test checks the committed document equals this output, so the document cannot drift
from the code.
"""

from __future__ import annotations

from schemas.contract import contract, describe_check
from schemas.raw import SOURCES, XLSX_SOURCES

HEADER = """# Data contract

Generated from `schemas/raw.py` by `python -m schemas.contract_doc`; do not edit by hand
(a test compares this file with the generator's output).

## Files
Every source is optional. A source is one file named `<source>.csv` (also `.tsv`,
`.txt`, `.parquet`; `.xlsx` for the hand-kept sources marked below), files named
`<source>_<anything>.<ext>`, or a folder `<source>/` of such files, under
`OUTCOMES_INPUT_DIR`. A file named for a source in a spreadsheet format the source does
not accept (e.g. `hospital_spells.xlsx`, any `.xls`) fails that source with a message;
it is never skipped silently.

Text files may be UTF-8 (with or without a byte-order mark) or UTF-16; a file that is not
valid UTF-8 is read as Windows-1252 (Latin-1 when a byte is undefined there) and the run
notes the first line that is not UTF-8 (`meta.input_files.notes`). The delimiter (`,`,
`;`, tab or `|`) is the one that splits the header into most fields; fields may be quoted
and hold line breaks. Header names are matched after lower-casing, trimming and turning
spaces and hyphens into `_`; a name that then appears twice fails the file. Extra columns
are ignored (`persons`: kept as covariates); a missing optional column is empty. Dates are
ISO `YYYY-MM-DD` or UK `DD/MM/YYYY` (so `01/02/2023` is 1 February), with a four-digit
year; a time of day after the date is ignored; two-digit years, US `MM/DD/YYYY` and Excel
serial day numbers are rejected (`type`), never guessed. Numbers must be finite (`NaN`,
`inf` are rejected); booleans are `true/false`, `yes/no`, `1/0`. Text is stored as given:
formula-like (`=HYPERLINK(...)`) and HTML text is neutralised where it is published (CSV
exports, HTML pages), not altered in the warehouse.

A file's `line` is the row as a spreadsheet numbers it: the header is line 1, a record
whose quoted field holds line breaks counts once, a blank line counts but holds no row.

## What happens to a row
Each row read ends in `staging.<source>` (valid, identifiers pseudonymised) or in
`quarantine.<source>` with the file, line, column, rule, expected form and offending
value (identifiers pseudonymised there too). Counts reconcile: rows read = staged +
quarantined, a blocking check. A file that cannot be ingested at all (empty, no header,
a column named twice, a required column missing, unreadable) fails that source's asset
with a message naming the file, line, column and rule (`[rule: header]`,
`unique_columns`, `required_column`, `format`); other sources run.

Rules, in the order they are checked:

| rule | meaning |
|---|---|
| `required` | a required column is empty |
| `type` | the text does not parse as the column's type (numbers must be finite) |
| `isin`, `greater_than`, `greater_than_or_equal_to`, `less_than_or_equal_to`, `in_range` | the pandera check of the column |
| `not_future` | an event date after the run's as-of date (`ingest.as_of`, default today) |
| `order` | a later date before its earlier partner (e.g. discharge before admission) |
| `known_version`, `area_in_version`, `within_scale` | Star/scale readings against `data/reference/star_versions.yaml` |
| `duplicate_row` | the same record again: same key and content, or (sources without a key) the same record delivered in another file. The first copy is staged. Identical rows inside one file of a keyless source are kept: two GP contacts on one day are real. |
| `conflicting_key`, `conflicting_record` | one key (or natural key) with different content: every copy is quarantined |
| `unknown_reference` | an identifier absent from the staged rows of the source it refers to (skipped, and reported, when that source is not supplied) |
| `field_count`, `quoting`, `line_too_long` | a line of a text file that does not fit its header: too few or too many fields, a quote left open, or over 16 MiB. The line is quarantined with the rule and no value (its text may hold identifiers) |

## Pseudonymisation
Columns marked *pseudonymised* are replaced at ingest by HMAC-SHA256 (hex) under the key
in `OUTCOMES_PSEUDONYM_KEY`. Raw identifiers are never stored. Without a key the
pipeline refuses to run, except in demo mode (`OUTCOMES_DEMO=1`), which uses a fixed,
public key and says so. `exchange_id` (a platform's record id) and organisation ids
(`timebank_id`, `provider_id`, `programme_id`, `grant_id`) are kept as given.

## Platform exports
`python -m pipelines.ingest.platforms PLATFORM EXPORT --timebank ID --out INPUT_DIR`
writes a contract-form `timebank_exchanges_<platform>.csv`:

| platform | export | mapping |
|---|---|---|
| `timeoverflow` | transfers CSV `date, from, to, post, quantity` | the uid in "name (uid)" is the member id; `to` (credited) is the giver, `from` (debited) the receiver; `quantity` h:mm becomes decimal hours; `post` is the category; a transfer with the organisation account becomes `system_credit` |
| `community_weaver` | CW 2.2 `exchange_history.csv` | exchange id, provider (giver), recipient (receiver), service date, service category, hours; accepted header aliases are listed in `pipelines/ingest/platforms.py` |
"""


def render() -> str:
    out = [HEADER]
    for source in SOURCES:
        spec = contract(source)
        formats = "CSV, Parquet" + (", XLSX" if source in XLSX_SOURCES else "")
        out.append(f"\n## `{source}`\n\n{spec.description} Formats: {formats}.\n")
        table_rules = []
        if spec.key:
            table_rules.append(f"key `{spec.key}`")
        if spec.natural_key:
            table_rules.append("one record per " + " + ".join(f"`{c}`" for c in spec.natural_key))
        table_rules += [f"`{later}` on or after `{earlier}`" for earlier, later in spec.order]
        if spec.keep_extra_columns:
            table_rules.append("further columns are kept as covariates (typed as number, true/false or text)")
        else:
            table_rules.append("further columns are ignored")
        out.append("Table rules: " + "; ".join(table_rules) + ".\n")
        out.append("\n| column | type | required | rules | description |\n|---|---|---|---|---|")
        for col in spec.columns:
            rules = [describe_check(c) for c in col.checks]
            if col.not_future:
                rules.append("not in the future")
            if col.references:
                rules.append(f"exists in `{col.references}`")
            if col.pseudonymise:
                rules.append("*pseudonymised*")
            out.append(f"| `{col.name}` | {col.expected_type} | {'no' if col.nullable else 'yes'} | {'; '.join(rules)} | {col.description} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
