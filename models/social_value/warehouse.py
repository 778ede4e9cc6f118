"""Collect the outcome models' results from the warehouse as the calculator's ``model_outputs``.

Keys (docs/social-value.md, "Model-output interface"):

* ``avoided_readmissions``, ``avoided_emergency_admissions``, ``avoided_contacts_<service>``
  from ``marts.readmission_avoided``;
* ``avoided_proven_reoffences``, ``avoided_reoffenders`` (``@<time bank>`` per time bank)
  from ``marts.reoffending_avoided``;
* ``reliable_wellbeing_improvement`` and its relatives (``.<star version>``, ``@<time bank>``)
  from ``marts.wellbeing_reliable_improvement`` (gross, descriptive; its comparison rate is unmatched);
* ``wellbeing_matched_change`` (``.<star version>``) and ``life_satisfaction_matched_change`` from
  ``marts.wellbeing_effects`` (net, matched: what the impact map values for well-being);
* ``hours_given`` and ``hours_given@<time bank>``: hours exchanged between members over the
  whole window, from the ``overall`` rows of ``marts.timebank_activity`` (a count, so no
  interval; gross). A time bank with 1 to ``suppress_max`` trading accounts (the disclosure
  rule) has no ``hours_given@`` and is left out of ``hours_given``: the impact map publishes
  its hours as a quantity and in its value, unrounded, and a bank with one quarter of trading
  has no second quarter for secondary suppression to withhold with it, so the map would give
  that quarter back. Its hours outcome is then left out as having no model result.

A mart that does not exist yet contributes nothing: the calculator then names the outcome
whose model has no results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

import duckdb
import pandas as pd

from models.disclosure import DisclosureRule
from models.readmission.avoided import social_value_outputs as readmission_outputs
from models.reoffending.effects import social_value_outputs as reoffending_outputs
from models.social_value.errors import SocialValueError
from models.social_value.impact_map import Outcome, load_impact_map
from models.social_value.model_outputs import deadweight_from_comparison, lookup
from models.social_value.outputs import run_social_value
from models.social_value.settings import SocialValueSettings
from models.wellbeing.change import model_outputs as wellbeing_outputs
from models.wellbeing.effects import model_outputs as wellbeing_effect_outputs
from schemas.marts import mart

SOURCES = {
    "marts.readmission_avoided": readmission_outputs,
    "marts.reoffending_avoided": reoffending_outputs,
    "marts.wellbeing_reliable_improvement": wellbeing_outputs,
    "marts.wellbeing_effects": wellbeing_effect_outputs,
}
HOURS_TABLE = "marts.timebank_activity"
MART_NAMES = ("social_value", "social_value_sensitivity", "impact_map", "social_value_yearly")


def _table(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame | None:
    schema, name = table.split(".")
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchone()[0]
    return con.execute(f"SELECT * FROM {table}").df() if found else None


def hours_outputs(activity: pd.DataFrame, rule: DisclosureRule = DisclosureRule()) -> dict[str, dict]:
    """``hours_given@<time bank>`` per time bank and ``hours_given`` in all, from the overall rows of the time banks
    whose trading accounts ``rule`` publishes (module docstring)."""
    overall = activity[activity["period_type"] == "overall"]
    overall = overall[~overall["trading_members"].map(rule.hides).astype(bool)]
    out = {f"hours_given@{r.timebank_id}": {"estimate": float(r.hours_exchanged), "n": int(r.trading_members),
                                           "estimand": "gross", "unit": "hours"}
           for r in overall.itertuples(index=False)}
    if len(overall):
        out["hours_given"] = {"estimate": float(overall["hours_exchanged"].sum()),
                              "n": int(overall["trading_members"].sum()), "estimand": "gross", "unit": "hours"}
    return out


def model_outputs_from_warehouse(con: duckdb.DuckDBPyConnection, rule: DisclosureRule = DisclosureRule()) -> dict[str, dict]:
    """Every model result the warehouse holds, keyed as the impact map names them (hours under ``rule``)."""
    outputs: dict[str, dict] = {}
    for table, adapter in SOURCES.items():
        frame = _table(con, table)
        if frame is not None and len(frame):
            outputs.update(adapter(frame))
    activity = _table(con, HOURS_TABLE)
    if activity is not None and len(activity):
        outputs.update(hours_outputs(activity, rule))
    return outputs


@dataclass(frozen=True)
class WarehouseEvaluation:
    """The social-value marts of one pipeline run, and what was left out and why."""

    map_path: Path | None
    marts: dict[str, pd.DataFrame]
    omitted: tuple[tuple[str, str], ...]  # (outcome id, the calculator's message)
    note: str


def _missing_output(outcome: Outcome, outputs: Mapping[str, dict]) -> str | None:
    """The calculator's message if the outcome's model has no results (or lacks comparison rates)."""
    try:
        if outcome.quantity.model_output:
            lookup(outputs, outcome.quantity.model_output, outcome=outcome.id)
        key = outcome.deadweight.from_comparison
        if key:
            deadweight_from_comparison(lookup(outputs, key, outcome=outcome.id, field_name="deadweight"), key,
                                       outcome=outcome.id)
    except SocialValueError as err:
        return str(err).split(" (outputs supplied")[0]
    return None


def _empty_marts() -> dict[str, pd.DataFrame]:
    return {name: mart(f"marts.{name}").empty_frame() for name in MART_NAMES}


def evaluate_from_warehouse(con: duckdb.DuckDBPyConnection, settings: SocialValueSettings, *, demo: bool,
                            rule: DisclosureRule = DisclosureRule()) -> WarehouseEvaluation:
    """Evaluate the configured impact map on the models' results in the warehouse (the pages' disclosure ``rule``).

    No map configured (and not demo mode): empty marts and a note. An outcome whose model
    has no results is left out and listed (``missing_output: omit``, the default) or stops
    the evaluation with the calculator's message (``error``). The ``impact_map`` mart gains a
    ``status`` column: ``valued``, or ``omitted: <reason>`` for outcomes left out.
    """
    path = settings.map_path(demo)
    if path is None:
        return WarehouseEvaluation(None, _empty_marts(), (), "no impact map configured (social_value.impact_map)")
    impact_map = load_impact_map(path)
    outputs = model_outputs_from_warehouse(con, rule)
    omitted = tuple((o.id, msg) for o in impact_map.outcomes if (msg := _missing_output(o, outputs)))
    if omitted and settings.missing_output == "error":
        raise SocialValueError("; ".join(msg for _, msg in omitted))
    skipped = {oid for oid, _ in omitted}
    # an output without results (a time bank's hours withheld by the disclosure rule) is left out, not listed
    reported = tuple(o for o in impact_map.outputs if not o.quantity.model_output or o.quantity.model_output in outputs)
    kept = replace(impact_map, outcomes=tuple(o for o in impact_map.outcomes if o.id not in skipped), outputs=reported)
    if not kept.outcomes:
        marts = _empty_marts()
    else:
        run = run_social_value(kept, outputs, extra_proxy_tables=settings.proxy_tables, n_draws=settings.draws,
                               seed=settings.seed)
        marts = run.marts()
        # status: valued, valued at its estimate or at 0 (inconclusive; by base case) or an output (models.social_value.outputs)
    left_out = pd.DataFrame([
        {"scope": o.scope, "outcome": o.id, "stakeholder": o.stakeholder, "description": o.description,
         "quantity_source": o.quantity.source, "proxy_id": o.proxy, "status": f"omitted: {dict(omitted)[o.id]}"}
        for o in impact_map.outcomes if o.id in skipped
    ])
    if len(left_out):
        marts["impact_map"] = pd.concat([marts["impact_map"], left_out], ignore_index=True)
    note = (f"{len(kept.outcomes)} of {len(impact_map.outcomes)} outcomes valued"
            + (f"; left out (no model results): {', '.join(sorted(skipped))}" if skipped else ""))
    return WarehouseEvaluation(Path(path), marts, omitted, note)
