"""The marts: ``social_value``, ``social_value_sensitivity``, ``impact_map`` (and yearly detail).

Every column is documented in docs/social-value.md under "Outputs". Money is
rounded to the penny, ratios to 4 decimal places, payback to 2; percentages are
on the 0-100 scale (columns ending ``_pct``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from models.social_value.arithmetic import SROIResult, evaluate
from models.social_value.impact_map import ImpactMap, load_impact_map
from models.social_value.monte_carlo import MonteCarloResult, simulate
from models.social_value.resolve import ResolvedMap, resolve
from models.social_value.sensitivity import SENSITIVITY_COLUMNS, one_at_a_time

SOCIAL_VALUE_COLUMNS = (
    "scope", "pv", "npv", "ratio", "net_ratio", "payback_months", "ratio_ci_low", "ratio_ci_high", "n_draws",
    "investment_pv", "year1_impact", "price_year", "base_case", "pv_point_estimate", "ratio_point_estimate",
    "pv_evidenced", "ratio_evidenced",
)
IMPACT_MAP_COLUMNS = (
    "scope", "outcome", "stakeholder", "description", "quantity", "quantity_source", "quantity_estimate",
    "quantity_ci_low", "quantity_ci_high", "quantity_n", "quantity_unit", "quantity_scale", "proxy_id", "proxy_description",
    "proxy_unit", "proxy_value", "proxy_price_year", "uprating_factor", "proxy_value_reporting", "proxy_source",
    "proxy_licence", "proxy_url", "deadweight_pct", "deadweight_source", "comparison_rate", "participant_rate",
    "displacement_pct", "attribution_pct", "drop_off_pct", "duration_years", "discount", "year1_impact", "pv",
    "price_year", "status",
)
INCONCLUSIVE = "valued at 0 in the base case: its 95% interval includes no effect"
#: an inconclusive estimate under the ``point_estimate`` base case: counted, and 0 in the evidenced case beside it
INCONCLUSIVE_COUNTED = "valued at its point estimate; its 95% interval includes no effect (0 in the evidenced case)"
OUTPUT_STATUS = "output: reported, not valued (not in the ratio)"
YEARLY_COLUMNS = ("scope", "outcome", "year", "impact", "discount_factor", "present_value")


def _round(value: Decimal | float | None, places: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return float(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def social_value_frame(resolved: ResolvedMap, result: SROIResult, mc: MonteCarloResult | None = None,
                       point: SROIResult | None = None, evidenced: SROIResult | None = None) -> pd.DataFrame:
    """One row per scope (``overall`` first, then each time bank). Both cases are given whichever is the base case:
    ``point``, the result with every model output at its point estimate (the unbiased case, the default base case),
    and ``evidenced``, with an estimate whose 95% interval includes no effect at 0 (the conservative case). Either
    defaults to ``result`` (the base case's)."""
    rows = []
    point = point or result
    evidenced = evidenced or result
    for scope in resolved.scopes:
        s = result.scopes[scope].as_dict()
        p = point.scopes[scope].as_dict()
        e = evidenced.scopes[scope].as_dict()
        low, high = mc.interval(scope) if mc is not None else (np.nan, np.nan)
        rows.append({
            **{k: s[k] for k in ("scope", "pv", "npv", "ratio", "net_ratio", "payback_months", "investment_pv", "year1_impact")},
            "ratio_ci_low": None if np.isnan(low) else round(low, 4),
            "ratio_ci_high": None if np.isnan(high) else round(high, 4),
            "n_draws": mc.n_draws if mc is not None else 0,
            "price_year": resolved.price_year,
            "base_case": resolved.base_case,
            "pv_point_estimate": p["pv"],
            "ratio_point_estimate": p["ratio"],
            "pv_evidenced": e["pv"],
            "ratio_evidenced": e["ratio"],
        })
    frame = pd.DataFrame(rows, columns=list(SOCIAL_VALUE_COLUMNS))
    for column in ("pv", "npv", "ratio", "net_ratio", "payback_months", "ratio_ci_low", "ratio_ci_high", "investment_pv",
                   "year1_impact", "pv_point_estimate", "ratio_point_estimate", "pv_evidenced", "ratio_evidenced"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["n_draws"] = frame["n_draws"].astype("int64")
    frame["price_year"] = frame["price_year"].astype("int64")
    return frame


def impact_map_frame(resolved: ResolvedMap, result: SROIResult) -> pd.DataFrame:
    """The resolved map: one row per outcome with every number and its source."""
    rows = []
    for o in resolved.outcomes:
        mo = o.model_output
        interval = o.quantity_interval
        rows.append({
            "scope": o.scope,
            "outcome": o.id,
            "stakeholder": o.stakeholder,
            "description": o.description,
            "quantity": float(o.quantity),
            "quantity_source": o.quantity_source,
            "quantity_estimate": None if mo is None else mo.estimate,
            "quantity_ci_low": None if interval is None else float(interval[0]),
            "quantity_ci_high": None if interval is None else float(interval[1]),
            "quantity_n": None if mo is None else mo.n,
            "quantity_unit": None if mo is None else mo.unit,
            "quantity_scale": float(o.quantity_scale),
            "proxy_id": o.proxy.id,
            "proxy_description": o.proxy.description,
            "proxy_unit": o.proxy.unit,
            "proxy_value": float(o.proxy.value),
            "proxy_price_year": o.proxy.price_year,
            "uprating_factor": _round(o.uprating_factor, "0.000001"),
            "proxy_value_reporting": _round(o.proxy_value, "0.01"),
            "proxy_source": o.proxy.source,
            "proxy_licence": o.proxy.licence,
            "proxy_url": o.proxy.url,
            "deadweight_pct": float(o.deadweight * 100),
            "deadweight_source": o.deadweight_source,
            "comparison_rate": None if mo is None else mo.comparison_rate,
            "participant_rate": None if mo is None else mo.participant_rate,
            "displacement_pct": float(o.displacement * 100),
            "attribution_pct": float(o.attribution * 100),
            "drop_off_pct": float(o.drop_off * 100),
            "duration_years": o.duration,
            "discount": o.discount.describe(),
            "year1_impact": _round(result.outcomes[o.id].year1_impact, "0.01"),
            "pv": _round(result.outcomes[o.id].pv, "0.01"),
            "price_year": resolved.price_year,
            "status": "valued" if o.evidence != "inconclusive" else INCONCLUSIVE if resolved.base_case == "evidenced"
            else INCONCLUSIVE_COUNTED,
        })
    for o in resolved.outputs:
        mo = o.model_output
        rows.append({
            "scope": o.scope, "outcome": o.id, "stakeholder": o.stakeholder, "description": o.description,
            "quantity": float(o.quantity), "quantity_source": o.quantity_source,
            "quantity_estimate": None if mo is None else mo.estimate, "quantity_n": None if mo is None else mo.n,
            "quantity_unit": None if mo is None else mo.unit, "quantity_scale": float(o.quantity_scale),
            "price_year": resolved.price_year, "status": OUTPUT_STATUS,
        })
    frame = pd.DataFrame(rows, columns=list(IMPACT_MAP_COLUMNS))
    for column in ("quantity_estimate", "quantity_ci_low", "quantity_ci_high", "comparison_rate", "participant_rate",
                   "proxy_value", "uprating_factor", "proxy_value_reporting", "deadweight_pct", "displacement_pct",
                   "attribution_pct", "drop_off_pct", "year1_impact", "pv"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["quantity_n"] = pd.array(frame["quantity_n"], dtype="Int64")
    frame["proxy_price_year"] = pd.array(frame["proxy_price_year"], dtype="Int64")
    return frame


def yearly_frame(result: SROIResult) -> pd.DataFrame:
    """Impact, discount factor and present value of every outcome in every year."""
    rows = [
        {
            "scope": o.scope,
            "outcome": o.id,
            "year": y.year,
            "impact": _round(y.impact, "0.01"),
            "discount_factor": _round(y.discount_factor, "0.000001"),
            "present_value": _round(y.present_value, "0.01"),
        }
        for o in result.outcomes.values()
        for y in o.years
    ]
    return pd.DataFrame(rows, columns=list(YEARLY_COLUMNS))


@dataclass(frozen=True)
class SocialValueRun:
    """Everything one evaluation produces: the exact result, the Monte Carlo and the marts."""

    resolved: ResolvedMap
    result: SROIResult
    monte_carlo: MonteCarloResult | None
    social_value: pd.DataFrame
    social_value_sensitivity: pd.DataFrame
    impact_map: pd.DataFrame
    social_value_yearly: pd.DataFrame

    def marts(self) -> dict[str, pd.DataFrame]:
        return {
            "social_value": self.social_value,
            "social_value_sensitivity": self.social_value_sensitivity,
            "impact_map": self.impact_map,
            "social_value_yearly": self.social_value_yearly,
        }


def run_social_value(
    impact_map: ImpactMap | str | Path,
    model_outputs: Mapping[str, Any] | None = None,
    *,
    proxy_tables=None,
    extra_proxy_tables=(),
    deflators=None,
    n_draws: int | None = None,
    seed: int | None = None,
    monte_carlo: bool = True,
    sensitivity: bool = True,
    base_case: str | None = None,
) -> SocialValueRun:
    """Load (if a path), resolve, evaluate, run sensitivity and Monte Carlo, build the marts.

    This is the one call a pipeline asset needs. ``n_draws``/``seed`` override the
    map's ``monte_carlo`` settings; ``monte_carlo=False`` skips it (``n_draws`` 0
    and empty intervals in the mart).
    """
    if not isinstance(impact_map, ImpactMap):
        impact_map = load_impact_map(impact_map)
    if base_case is not None:  # overrides the map's base_case
        impact_map = replace(impact_map, base_case=base_case)
    resolved = resolve(
        impact_map, model_outputs, proxy_tables=proxy_tables, extra_proxy_tables=extra_proxy_tables, deflators=deflators
    )
    result = evaluate(resolved)
    # the other case, published beside the base case (docs/social-value.md, "Base case")
    other = "evidenced" if resolved.base_case == "point_estimate" else "point_estimate"
    beside = evaluate(resolve(replace(impact_map, base_case=other), model_outputs, proxy_tables=proxy_tables,
                              extra_proxy_tables=extra_proxy_tables, deflators=deflators))
    cases = {resolved.base_case: result, other: beside}
    mc = simulate(resolved, n_draws=n_draws, seed=seed) if monte_carlo else None
    sens = one_at_a_time(resolved) if sensitivity else pd.DataFrame(columns=list(SENSITIVITY_COLUMNS))
    return SocialValueRun(
        resolved=resolved,
        result=result,
        monte_carlo=mc,
        social_value=social_value_frame(resolved, result, mc, cases["point_estimate"], cases["evidenced"]),
        social_value_sensitivity=sens,
        impact_map=impact_map_frame(resolved, result),
        social_value_yearly=yearly_frame(result),
    )
