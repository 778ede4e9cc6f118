"""Provenance for evaluators: the run that wrote the marts, its configuration, input file hashes, code version.

Source: ``meta.runs`` (run id, time, code version = package version + git commit, resolved
configuration as JSON and its SHA-256, as-of date) and ``meta.input_files`` (SHA-256 and
size of every input file). The hashes identify files, not people. Row counts pass the
disclosure rule like every other count of people's records (a grant's are counted exactly, as on the
data-quality page: :func:`dashboards.data_quality.by_source`); file names are shown without their folders.
"""

from __future__ import annotations

import html
import json

import duckdb
import pandas as pd

from models.disclosure import DisclosureRule
from models.social_value.settings import DEMO_IMPACT_MAP
from dashboards import data_quality
from dashboards.labels import plural
from dashboards.marts import read, unavailable
from dashboards.page import Section


def run_ids(marts: dict[str, pd.DataFrame | None], current: str) -> list[str]:
    """The current run and every run that wrote a row of the marts read."""
    ids = {current}
    for frame in marts.values():
        if frame is not None and "run_id" in frame.columns:
            ids.update(str(v) for v in frame["run_id"].dropna().unique())
    return sorted(ids)


REPO = DEMO_IMPACT_MAP.parents[2]


def _demo_map_note(run: pd.Series) -> str:
    """A demo run values the demo's impact map while its settings name none (``impact_map: null``): say which."""
    map_set = (json.loads(run["config"]).get("social_value") or {}).get("impact_map")
    if not bool(run["demo"]) or map_set:
        return ""
    return ("<p>A demo run: <code>social_value.impact_map</code> is empty below, so the demo's own impact map was "
            f"valued (<code>{DEMO_IMPACT_MAP.relative_to(REPO).as_posix()}</code>).</p>")


#: How ingest read each file (meta.input_files; the notes are on the data-quality page, their counts through the rule).
HOW_READ = ("encoding", "delimiter", "mapping", "mapping_sha256")
#: Columns of the input files said once above the table when every file has the same value (one run, UTF-8, commas,
#: no mapping): four columns of one value each made the table scroll sideways at 1440 px. The CSV keeps them.
SAID_ONCE = ("run_id", "encoding", "delimiter", "mapping", "mapping_sha256")


def said_once(files: pd.DataFrame) -> tuple[list[str], str]:
    """The :data:`SAID_ONCE` columns whose value is the same for every file (a mapping only when no file has one: a
    mapping's hash is no word for a sentence), and the sentence that says them ("Every file was read by run r, as
    utf-8, with ',' between fields, through no mapping.")."""
    same = [c for c in SAID_ONCE if c in files.columns and files[c].nunique(dropna=False) == 1
            and (not c.startswith("mapping") or files[c].isna().all())]
    if not same:
        return [], ""
    row = files.iloc[0]
    parts = {"run_id": f"by run {row.get('run_id')}", "encoding": f"as {row.get('encoding')}",
             "delimiter": f"with {'a tab' if row.get('delimiter') == chr(9) else repr(str(row.get('delimiter')))} between fields",
             "mapping": "through no mapping (each file in the contract's own form)"}
    said = [parts[c] for c in same if c in parts]
    return same, ("Every file was read " + ", ".join(said) + ". The CSV repeats this on each row.") if said else ""


def sections(con: duckdb.DuckDBPyConnection, ids: list[str], rule: DisclosureRule) -> list[Section]:
    runs, files = read(con, "meta.runs"), read(con, "meta.input_files")
    if runs is None or runs.empty:
        return [unavailable("Provenance", {"meta.runs": runs})]
    runs = runs[runs["run_id"].isin(ids)].sort_values("recorded_at")
    if runs.empty:
        return [Section("Provenance", "None of the runs that wrote these marts is recorded in meta.runs: "
                        "the figures cannot be traced to a configuration and inputs.",
                        html="<p class='empty'>Not available for this run.</p>")]
    table = rule.table(runs.assign(recorded_at=runs["recorded_at"].astype(str).str[:19]),
                       ["rows_read", "rows_staged", "rows_quarantined"], name="runs")[
        ["run_id", "recorded_at", "code_version", "config_sha256", "as_of", "demo", "files", "rows_read", "rows_staged",
         "rows_quarantined"]]
    out = [Section("Provenance", f"{plural(len(runs), 'run')} wrote the figures on these pages. The latest, {runs['run_id'].iloc[-1]}, "
                   f"ran code {runs['code_version'].iloc[-1]} with the configuration below; rerunning it on the same inputs "
                   "(same file hashes) gives the same marts.", table=table, csv_name="evaluator-runs.csv",
                   code_columns=("run_id", "code_version", "config_sha256"),
                   html="<details><summary>Configuration (resolved settings, JSON)</summary>"
                        + _demo_map_note(runs.iloc[-1]) + "<pre tabindex='0'>"
                        + html.escape(json.dumps(json.loads(runs["config"].iloc[-1]), indent=2, sort_keys=True))
                        + "</pre></details>")]
    mine = None if files is None else files[files["run_id"].isin(runs["run_id"])]
    if mine is None or mine.empty:
        out.append(unavailable("Input files and their hashes", {"meta.input_files": mine}))
        return out
    mine = mine.assign(file=mine["source_file"].astype(str).str.replace(r"^.*[\\/]", "", regex=True))
    published = data_quality.by_source(mine, rule, ["rows_read", "rows_staged", "rows_quarantined"], "input files")
    table = published[["run_id", "source", "file", "sha256", "bytes", *(c for c in HOW_READ if c in published.columns),
                       "rows_read", "rows_staged", "rows_quarantined"]]
    same, sentence = said_once(table)
    out.append(Section("Input files and their hashes", f"{len(mine)} input files; each SHA-256 lets an evaluator check they "
                       f"rerun on exactly the same data. {sentence}".rstrip(),
                       table=table, csv_name="evaluator-input-files.csv", collapsed=True,
                       shown_columns=tuple(c for c in table.columns if c not in same),
                       code_columns=("run_id", "source", "file", "sha256", *HOW_READ)))
    return out
