"""Generate docs/data-contract.md from the pandera models: ``python -m schemas.contract_doc > docs/data-contract.md``.

A test checks the committed document equals this output, so the document cannot drift
from the code.
"""

from __future__ import annotations

from schemas.contract import contract, describe_check
from schemas.mapping_doc import render_presets
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
serial day numbers are rejected (`type`), never guessed: a US date whose day is over 12
(`03/15/2023`) does not parse, and then every other slash date in that file, in any date
column (`01/05/2023`, which would read as 1 May), is quarantined too (`month_first_date`). Numbers must be finite (`NaN`,
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

A bad value in an optional covariate costs the value, not the row. The columns whose
"bad value" below says *cleared* (`persons.imd_decile`, `hospital_spells.primary_diagnosis`)
are optional and describe a person or a stay; no event, window, identifier or outcome
depends on them, and the models read an empty one as missing (the comparison engine's
missing-value rule, docs/comparison-engine.md; the readmission model leaves a spell's
diagnosis chapter empty, and leaves the chapter out when under 90% of discharges have one). A value there that breaks the column's type or check is cleared: the
row is staged with the column empty, and the value is listed in `quarantine.cleared_values`
(source, file, line, column, rule, expected form, value, run), one row per value, replaced
by each ingest of the source. Quarantining the row instead would lose a hospital stay (an
index discharge, or the readmission that is the outcome) or, for a person, every record
that refers to them. A row quarantined for another rule lists such a value among its
violations, after the rules that cost it the row, not in `cleared_values`. Every other
column's rules quarantine the row: identifiers, keys, event and window dates, outcomes,
amounts and codes that choose a record's place in a measure (e.g. `admission_method`).

Cleared values are counted beside the rows (the ingest asset's metadata, its ceiling
check's, `make check`, `inspect --dry-run`, the data-quality page), never in the
quarantined share that `ingest.max_quarantined_share` caps: their rows are staged, and one
covariate of a row is not the row's events and outcomes. A column cleared throughout shows
as such on the data-quality page and, for the diagnosis, in the readmission model's note
that the chapter was left out.

Rules, in the order they are checked:

| rule | meaning |
|---|---|
| `required` | a required column is empty |
| `type` | the text does not parse as the column's type (numbers must be finite) |
| `isin`, `greater_than`, `greater_than_or_equal_to`, `less_than_or_equal_to`, `in_range` | the pandera check of the column (`in_range` on `persons.imd_decile`: cleared, the person kept) |
| `icd10_code` | a diagnosis that is not an ICD-10 code (a letter, two digits, optionally a fourth character and up to two more; `hospital_spells.primary_diagnosis`, cleared: the spell is kept) |
| `not_future` | an event date after the run's as-of date (`ingest.as_of`, default today) |
| `order` | a later date before its earlier partner (e.g. discharge before admission) |
| `known_version`, `area_in_version`, `within_scale` | Star/scale readings against `data/reference/star_versions.yaml` |
| `month_first_date` | a slash date in a file holding a date that can only be month first (US `MM/DD/YYYY`): it could be either, so it is not read |
| `duplicate_row` | the same record again: same key and content, or (sources without a key) the same record delivered in another file. The first copy is staged. Identical rows inside one file of a keyless source are kept: two GP contacts on one day are real. |
| `conflicting_key`, `conflicting_record` | one key (or natural key) with different content: every copy is quarantined |
| `unknown_reference` | an identifier absent from the staged rows of the source it refers to (skipped, and reported, when that source is not supplied) |
| `unmapped_value`, `date_format`, `number_format`, `duration_format`, and a mapping's own `keep` rules (e.g. `inactive_or_deleted_member`, `unfinished_episode`, `incomplete_form`) | an extract read through a mapping ("Bring your own extract"): checked first, before the rules above |
| `field_count`, `quoting`, `line_too_long` | a line of a text file that does not fit its header: too few or too many fields, a quote left open, or over 16 MiB. The line is quarantined with the rule and no value (its text may hold identifiers) |

## Pseudonymisation
Columns marked *pseudonymised* are replaced at ingest by HMAC-SHA256 (hex) under the key
in `OUTCOMES_PSEUDONYM_KEY`. Raw identifiers are never stored. Without a key the
pipeline refuses to run, except in demo mode (`OUTCOMES_DEMO=1`), which uses a fixed,
public key and says so. `exchange_id` (a platform's record id) and organisation ids
(`timebank_id`, `provider_id`, `programme_id`, `grant_id`) are kept as given.

## Platform exports
`python -m pipelines.ingest.platforms community_weaver EXPORT --timebank ID --out INPUT_DIR`
writes a contract-form `timebank_exchanges_community_weaver.csv` from a Community Weaver 2.2
`exchange_history.csv`: exchange id, provider (giver), recipient (receiver), service date,
service category, hours; accepted header aliases are listed in `pipelines/ingest/platforms.py`.
TimeOverflow exports are read by the shipped mappings below ("Bring your own extract").
"""


BRING_YOUR_OWN = """
## Bring your own extract
An extract that is not in contract form is read through a **mapping**: a YAML file, one per
extract format, applied inside DuckDB before the contract's checks (`schemas/mapping.py`).
No code is needed. Shipped presets for common formats are in `data/mappings/` (below); a
mapping of your own can live anywhere. Choose them in the analysis settings:

```yaml
mappings:
  hospital_spells:
    - use: hes_apc_episodes          # a shipped preset, or a path (relative to this settings file)
      files: "hes_apc*"              # glob on the file name; default every file of the source
  timebank_exchanges:
    - use: timeoverflow_transfers
      files: "*Transfer*"            # <bank>_Transfers_<date>.csv (es/ca: Transferencias, Transferències); Transfers_<date>.csv in the "download all" zip
      parameters: {timebank_id: TB01, organisation: "Banc de Temps"}
  timebank_members:
    - use: timeoverflow_members
      files: "*_Us*"                 # <bank>_Users_<date>.csv (es/ca: Usuarios, Usuaris)
      parameters: {timebank_id: TB01}
    - use: timeoverflow_members
      files: "Members_*"             # the same report in the "download all" zip
      parameters: {timebank_id: TB01}
```

The files themselves sit where the source's files do (`hospital_spells/hes_apc_2024.csv`,
`timebank_exchanges/Banc de Temps_Transfers_2025-03-02.csv`, ...). A file whose name matches no entry is read in
contract form. Each file's mapping and the SHA-256 of the mapping file are recorded in
`meta.input_files` (`mapping`, `mapping_sha256`), and the settings (with the mappings
section) in the run's configuration digest.

A mapping has these keys, applied in this order (unknown keys are refused):

| key | does |
|---|---|
| `source`, `description`, `references` | the contract source it produces; what the extract is; the public definitions it follows |
| `parameters` | values the settings must give, used in expressions as `@name` |
| `columns` | required inputs: `name: header` or `name: [header, alternative, ...]` (first found wins; headers compared normalised). An extract without one fails with the missing columns named |
| `optional_columns` | inputs that may be absent (then empty) |
| `derive` | new columns, in order: an expression or a map |
| `keep` | rows where `if` is not true are quarantined with the rule, column and expected form given (`show`: an expression shown as the value) |
| `group` | rows sharing `by` become one (`first`/`last` by `order`, `any`: true in any row), e.g. episodes into spells; its `keep`: rules on the groups, as `keep` is on the rows (e.g. a spell whose last episode says it had not ended) |
| `output` | each contract column: an expression, a constant (`"'ae'"`) or a map; every required column must be produced |
| `unpivot` | one row per listed column (`name` and `value` columns), for wide forms |

A **map** is `{map: expression, values: {code: value}}`: a code it does not list is
quarantined with rule `unmapped_value`, never given a default. **Expressions** are parsed by
the project (`schemas/expressions.py`) into SQL from a whitelist, never evaluated: column
names, `@parameters`, 'text' and numbers, `= != < <= > >=`, `and or not`, `is [not] null`,
`[not] in (...)`, `+ - * /`, `||`, and the functions `lower upper trim length left right
substr replace concat coalesce nullif if matches contains extract any_match count_of sum_of
round abs least greatest text hash_id`, plus three that can fail on a value: `date(x,
'format')` (strftime format; a trailing `%z` zone is dropped and the date kept as written),
`number(x)` and `hours_minutes(x)` (`h:mm`). A value they cannot read is quarantined with
rule `date_format`, `number_format` or `duration_format`. Anything else (another function,
an unknown column, a `;`) refuses the mapping on load, naming the file, the key and the
reason; so does a target column that is not in the contract.

Nothing is lost: rows read = staged + quarantined. With `group` or `unpivot`, the rows
read are the rows the mapping makes (spells, readings) plus the rows it quarantined before
(each once); `meta.input_files.notes` says how many input rows became how many.

`python -m pipelines.ingest.inspect EXTRACT [--source S]` prints a draft mapping for an
extract: the presets its header fits, the nearest header for each contract column, a date
format, and the most frequent values of each coded column (left `null` for you to choose).
`python -m pipelines.ingest.inspect EXTRACT --dry-run MAPPING [--param name=value]` prints
how many rows would be staged and quarantined, from a throwaway in-memory warehouse, then
each quarantined row's file, line, column, rule, expected form and value (the first three of
each rule and column, then how many more).

### Presets
Each was written from the format's public definition, cited in the preset and below.
Outcomes Star Online's own export is not among them: its column layout is not publicly
documented, so no preset could be written without guessing. A Star export whose columns are
`person_id, star_version, assessed_on` and one column per area (the registry's area names)
is read as it is, in the contract's wide form; an unknown area name is quarantined
(`area_in_version`). A wide export whose versions and areas are named in words ("Recovery
Star", "Physical health & self-care") is read with `star_wide_readings`: its three identity
headers are assumed (change them in a copy of the preset), while versions and area names are
matched to the scale registry, and a name that matches none is quarantined and reported
(`unknown_star_version`, `unknown_area`). The tools it is built on work in any mapping:
`unpivot: other_columns` (one row per column the mapping does not name) and the functions
`star_version(name)` and `star_area(version, name)`.
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
        out.append("\n| column | type | required | rules | bad value | description |\n|---|---|---|---|---|---|")
        for col in spec.columns:
            rules = [describe_check(c) for c in col.checks]
            if col.not_future:
                rules.append("not in the future")
            if col.references:
                rules.append(f"exists in `{col.references}`")
            if col.pseudonymise:
                rules.append("*pseudonymised*")
            out.append(f"| `{col.name}` | {col.expected_type} | {'no' if col.nullable else 'yes'} | {'; '.join(rules)} | "
                       f"{col.bad_value} | {col.description} |")
        out.append("")
    out.append(BRING_YOUR_OWN)
    out.append(render_presets())
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
