"""The closing summary of a headless run: outcome, headline figures, warnings in plain words, where to look.

Each headline is one row of a published effects mart, printed as the mart words it (its
verdict and its "for every 100" sentence), never recomputed here (DESIGN.md principle 9):

* readmission: ``marts.readmission_effects``, the row comparing any participation;
* reoffending: ``marts.reoffending_effects``, the estimable 1-year proven-reoffending rate
  row with the most matched participants;
* well-being: ``marts.wellbeing_effects``, the all-instruments mean-of-areas improvement.

A failed check is told by its description and its evaluation's metadata; a failed step by its
own error, once, with the number of later steps that therefore did not run.
"""

from __future__ import annotations

import re

import dagster as dg
import duckdb

from pipelines.resources import read_warehouse


def _fmt(value: float, scale: float = 1.0) -> str:
    return f"{value * scale:+.2f}" if scale == 1.0 else f"{value * scale:+.1f}"


def _interval(row: dict, low: str, high: str, scale: float = 1.0) -> str:
    return f"95% CI {_fmt(row[low], scale)} to {_fmt(row[high], scale)}"


def _readmission(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.sql("SELECT * FROM marts.readmission_effects WHERE comparison = 'any' AND status = 'estimated'").df()
    if rows.empty:
        return None
    r = rows.iloc[0].to_dict()
    return (f"30-day readmission, {r['verdict']}: {r['jdl_statement']} "
            f"(risk difference {_fmt(r['risk_difference'], 100)} per 100, {_interval(r, 'rd_ci_low', 'rd_ci_high', 100)})")


def _reoffending(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.sql("SELECT * FROM marts.reoffending_effects WHERE estimable AND measure = 'binary_rate' "
                   "ORDER BY n_matched DESC, programme LIMIT 1").df()
    if rows.empty:
        return None
    r = rows.iloc[0].to_dict()
    return f"Proven reoffending ({r['programme']}): {r['per_100_statement']} {r['verdict_statement']}"


def _wellbeing(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.sql("SELECT * FROM marts.wellbeing_effects WHERE status = 'estimated' AND area = 'mean_of_areas' "
                   "ORDER BY star_version = 'all' DESC, n_matched DESC LIMIT 1").df()
    if rows.empty:
        return None
    r = rows.iloc[0].to_dict()
    return (f"Outcomes Star distance travelled ({r['star_version']}), {r['verdict']}: participants "
            f"{_fmt(r['treated_value'])} points, comparison {_fmt(r['comparison_value'])} "
            f"(difference {_fmt(r['estimate'])}, {_interval(r, 'ci_low', 'ci_high')})")


HEADLINES = {"readmission": _readmission, "reoffending": _reoffending, "well-being": _wellbeing}


def headlines(warehouse_path: str) -> list[str]:
    """One sentence per outcome family; says so when a family has no estimate or its mart cannot be read."""
    lines = []
    with read_warehouse(warehouse_path) as con:
        for family, build in HEADLINES.items():
            try:
                lines.append(build(con) or f"{family.capitalize()}: no estimate in this run (see the pages for why)")
            except (duckdb.Error, KeyError) as err:
                lines.append(f"{family.capitalize()}: not summarised ({str(err).splitlines()[0]})")
    return lines


def _metadata_words(metadata: dict) -> str:
    parts = []
    for name, value in metadata.items():
        text = " ".join(str(getattr(value, "value", value)).split())
        parts.append(f"{name.replace('_', ' ')}: {text if len(text) <= 160 else text[:157] + '...'}")
    return "; ".join(parts)


def check_warnings(result: dg.ExecuteInProcessResult, graph) -> list[str]:
    """Each check that did not pass: its asset, its description, and what it found."""
    lines = []
    for ev in result.get_asset_check_evaluations():
        if ev.passed:
            continue
        key = ev.asset_check_key
        spec = graph.get_check_spec(key)
        level = "Warning" if ev.severity == dg.AssetCheckSeverity.WARN else "Check failed"
        found = _metadata_words(ev.metadata)
        lines.append(f"{level} on {key.asset_key.to_user_string()} ({key.name}): "
                     f"{(spec.description or '').rstrip('.')}." + (f" Found: {found}." if found else ""))
    return lines


def _own_message(error) -> str:
    """The error's own words: the user code's exception inside Dagster's wrapper, without the class path."""
    if error.cls_name == "DagsterExecutionStepExecutionError" and error.cause:
        error = error.cause
    return re.sub(r"^[\w.]*\.\w+: ", "", error.message.strip())


def step_failures(result: dg.ExecuteInProcessResult, job: dg.JobDefinition) -> list[str]:
    """The failing steps' own errors, once each, and how many later steps therefore did not run."""
    failed = [e for e in result.all_events if e.is_step_failure]
    lines = [f"Step {e.step_key.replace('__', '/')} failed: {_own_message(e.event_specific_data.error)}"
             for e in failed]
    started = {e.step_key for e in result.all_events if e.is_step_start}
    not_run = len(set(job.graph.node_dict) - started)  # one step per top-level node in an asset job
    if failed and not_run:
        lines.append(f"{not_run} later step(s) did not run because of this (details in the full log).")
    return lines
