"""The closing summary of a headless run: outcome, headline figures, warnings in plain words, where to look.

The headline figures are the commissioner page's verdict sentences, read from the CSV it
publishes (``commissioner-verdicts.csv``), so the terminal says exactly what the page says,
after disclosure control (DESIGN.md principle 9).

A failed check is told by its description and its evaluation's metadata; a failed step by its
own error, once, with the number of later steps that therefore did not run; a run that failed before its first step by
the run's own error.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import dagster as dg


#: The commissioner page's verdict table: one published row per outcome (dashboards.verdicts).
VERDICTS_CSV = "commissioner-verdicts.csv"


def headlines(output_dir: str | Path) -> list[str]:
    """One sentence per outcome, exactly as the commissioner page publishes it (after disclosure control)."""
    path = Path(output_dir) / VERDICTS_CSV
    if not path.exists():
        return [f"No headline figures: {path} was not written."]
    with path.open(newline="", encoding="utf-8") as f:
        return [f"{row['outcome']}: {row['sentence'].removeprefix(row['outcome'] + ': ')}" for row in csv.DictReader(f)]


def _metadata_words(metadata: dict) -> str:
    parts = []
    for name, value in metadata.items():
        text = " ".join(str(getattr(value, "value", value)).split())
        parts.append(f"{name.replace('_', ' ')}: {text if len(text) <= 160 else text[:157] + '...'}")
    return "; ".join(parts)


def check_warnings(result: dg.ExecuteInProcessResult, graph) -> list[str]:
    """Each check that did not pass: what it found in its own words when it says them (the result's description),
    else its asset, its description and its metadata."""
    lines = []
    for ev in result.get_asset_check_evaluations():
        if ev.passed:
            continue
        key = ev.asset_check_key
        level = "Warning" if ev.severity == dg.AssetCheckSeverity.WARN else "Check failed"
        where = f"{key.asset_key.to_user_string()} ({key.name})"
        if ev.description:
            lines.append(f"{level}: {ev.description.rstrip('.')} [{where}].")
            continue
        found = _metadata_words(ev.metadata)
        lines.append(f"{level} on {where}: {(graph.get_check_spec(key).description or '').rstrip('.')}."
                     + (f" Found: {found}." if found else ""))
    return lines


def file_notes(result: dg.ExecuteInProcessResult) -> list[str]:
    """How an input file was read when not as written (``notes`` of the ingest assets): 'Note on grants.csv: line 2
    is not UTF-8: read as Windows-1252; export as UTF-8 to be sure of accented letters'."""
    found = []
    for ev in result.all_events:
        if ev.event_type_value == "ASSET_MATERIALIZATION":
            notes = ev.event_specific_data.materialization.metadata.get("notes")
            text = getattr(notes, "value", notes)
            if isinstance(text, str) and text != "none":
                found += [f"Note on {line}" for line in text.splitlines()]
    return found


def _own_message(error) -> str:
    """The error's own words: the user code's exception inside Dagster's wrapper, without the class path."""
    if error.cls_name in ("DagsterExecutionStepExecutionError", "DagsterResourceFunctionError") and error.cause:
        error = error.cause
    message = re.sub(r"^[\w.]*\.\w+: ", "", error.message.strip())
    if error.cls_name == "DagsterAssetCheckFailedError":
        # Dagster's "1 blocking asset check failed with ERROR severity:\nstaging/x: name" broke the line; the check
        # itself is told below (check_warnings), in its own words
        names = ", ".join(line.split(": ", 1)[-1] for line in message.splitlines()[1:])
        return f"its blocking check {names} failed (below)"
    return message


def step_failures(result: dg.ExecuteInProcessResult, job: dg.JobDefinition) -> list[str]:
    """The failing steps' own errors, once each, and how many later steps therefore did not run; for a run that failed
    before any step (a resource refused it or could not start), the run's own error. Before, such a run printed only
    'Run ...: FAILED', with no reason."""
    failed = [e for e in result.all_events if e.is_step_failure]
    if not failed and not result.success:
        run = next((e for e in result.all_events if e.is_run_failure and e.event_specific_data.error), None)
        return _own_message(run.event_specific_data.error).splitlines() if run else []
    lines = [f"Step {e.step_key.replace('__', '/')} failed: {_own_message(e.event_specific_data.error)}"
             for e in failed]
    started = {e.step_key for e in result.all_events if e.is_step_start}
    not_run = len(set(job.graph.node_dict) - started)  # one step per top-level node in an asset job
    if failed and not_run:
        lines.append(f"{not_run} later step(s) did not run because of this (details in the full log).")
    return lines


def earlier_pages(output_dir: str | Path, since: float) -> list[str]:
    """The pages in ``output_dir`` this run did not write (last written before ``since``, a ``time.time()``): after a
    failed run they still show an earlier run's figures, which the run's own summary must say."""
    folder = Path(output_dir)
    return sorted(p.name for p in folder.glob("*.html") if p.stat().st_mtime < since) if folder.is_dir() else []

