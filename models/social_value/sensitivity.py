"""One-at-a-time sensitivity: switching values and tornado data.

For every outcome and assumption (quantity, proxy, deadweight, displacement,
attribution, drop-off, duration, and the quantity's scale where it has one), holding everything else at its base value:

Switching value
    The value of the assumption at which the scope's SROI ratio reaches 1.00
    (PV = present value of the investment): "how far must this assumption move
    before the conclusion flips". The ratio is linear in the quantity, the proxy
    and each of deadweight, displacement and attribution, so those are solved
    exactly; drop-off is solved numerically (the ratio is monotone in it);
    duration is whole years: the nearest duration at which the ratio crosses
    1.00 (falls below it if the base is at or above 1, reaches it if below).
    When no value in the allowed range gets there (percentages 0-100%,
    quantities and proxies >= 0 (a net model effect may go negative), durations
    1-100 years) the note says "no switching value within range". SROI guide,
    stage 5 ("Sensitivity analysis"), summarised in ``reference/sroi.md`` 1.4.
Tornado
    The ratio at the low and at the high end of the assumption's stated range
    (``ranges:`` in the impact map; for a model-output quantity, its 95%
    interval). Assumptions without a range get empty low/high.

Units: percentages on the 0-100 scale, proxies in reporting-year pounds,
quantities in the outcome's unit, durations in years (see the ``unit`` column).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from models.social_value.engine import PARAMS, Engine
from models.social_value.impact_map import OVERALL
from models.social_value.resolve import ResolvedMap, ResolvedOutcome

MAX_DURATION = 100
PERCENT = ("deadweight", "displacement", "attribution", "drop_off")
LINEAR = ("quantity", "proxy", "deadweight", "displacement", "attribution", "scale")
NO_SWITCH = "no switching value within range"
SENSITIVITY_COLUMNS = (
    "scope", "outcome", "assumption", "unit", "base", "low", "high", "ratio_low", "ratio_high", "swing",
    "switching_value", "switching_note",
)


@dataclass(frozen=True)
class SwitchingValue:
    """``value`` in display units (percent 0-100, pounds, count, years) or ``None``; ``note`` in words."""

    value: float | None
    note: str


def unit_of(assumption: str, outcome: ResolvedOutcome) -> str:
    if assumption in PERCENT:
        return "percent"
    if assumption == "proxy":
        return f"GBP per {outcome.proxy.unit} (reporting prices)"
    if assumption == "duration":
        return "years"
    if assumption == "scale":
        return "multiplier of the quantity (quantity.scale)"
    return "count" if outcome.model_output is None or not outcome.model_output.unit else outcome.model_output.unit


def _display(assumption: str, value: float) -> float:
    return value * 100 if assumption in PERCENT else value


def _ratios(engine: Engine, scope: str, k: int, assumption: str, values: np.ndarray) -> np.ndarray:
    params = engine.base_params(len(values))
    params[assumption][:, k] = values
    return engine.ratio(params, scope)


def switching_value(resolved: ResolvedMap, outcome_id: str, assumption: str, scope: str = OVERALL, *, engine: Engine | None = None) -> SwitchingValue:
    """The value of one assumption of one outcome that brings ``scope``'s ratio to 1.00."""
    if assumption not in PARAMS:
        raise ValueError(f"unknown assumption {assumption!r}; one of {', '.join(PARAMS)}")
    engine = engine or Engine(resolved)
    k = engine.index(outcome_id)
    outcome = resolved.outcomes[k]
    if not engine.members[scope][k] or not engine.investment_pv.get(scope):
        return SwitchingValue(None, NO_SWITCH)
    label = assumption.replace("_", "-")

    if assumption in LINEAR:
        r0, r1 = _ratios(engine, scope, k, assumption, np.array([0.0, 1.0]))
        slope = r1 - r0
        if slope == 0:
            return SwitchingValue(None, NO_SWITCH)
        x = (1.0 - r0) / slope
        low, high = (0.0, 1.0) if assumption in PERCENT else (0.0, np.inf)
        if assumption == "scale" and outcome.quantity == 0:
            return SwitchingValue(None, NO_SWITCH)
        if assumption == "quantity" and not outcome.quantity_nonnegative:
            low = -np.inf
        if not low - 1e-12 <= x <= high + 1e-12:
            return SwitchingValue(None, NO_SWITCH)
        value = _display(assumption, float(min(max(x, low), high)))
        return SwitchingValue(value, _note(assumption, label, value, outcome))

    if assumption == "drop_off":
        r0, r1 = _ratios(engine, scope, k, assumption, np.array([0.0, 1.0]))
        if (r0 - 1) * (r1 - 1) > 0:
            return SwitchingValue(None, NO_SWITCH)
        f = lambda d: float(_ratios(engine, scope, k, assumption, np.array([d]))[0]) - 1.0  # noqa: E731
        x = 0.0 if r0 == 1 else 1.0 if r1 == 1 else brentq(f, 0.0, 1.0, xtol=1e-12)
        value = _display(assumption, x)
        return SwitchingValue(value, _note(assumption, label, value, outcome))

    # duration: whole years
    base = outcome.duration
    grid = np.arange(1, max(MAX_DURATION, base) + 1)
    ratios = _ratios(engine, scope, k, "duration", grid)
    above_base = ratios[base - 1] >= 1
    flips = [d for d in grid if (ratios[d - 1] >= 1) != above_base]
    if not flips:
        return SwitchingValue(None, NO_SWITCH)
    d = int(min(flips, key=lambda c: (abs(c - base), c)))
    years = f"{d} year{'s' if d > 1 else ''}"
    if above_base:
        return SwitchingValue(float(d), f"the ratio falls below 1.00 if the outcome lasts {years}")
    return SwitchingValue(float(d), f"the ratio reaches 1.00 if the outcome lasts {years}")


def _note(assumption: str, label: str, value: float, outcome: ResolvedOutcome) -> str:
    if assumption in PERCENT:
        return f"{label} of {value:.1f}% brings the ratio to 1.00"
    if assumption == "proxy":
        return f"a proxy value of £{value:,.2f} per {outcome.proxy.unit} brings the ratio to 1.00"
    if assumption == "scale":
        return f"a scale (quantity.scale) of {value:,.3f} brings the ratio to 1.00"
    return f"a quantity of {value:,.2f} brings the ratio to 1.00"


def one_at_a_time(resolved: ResolvedMap, scopes: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The ``social_value_sensitivity`` mart: one row per scope, outcome and assumption.

    Scopes without an investment (no ratio to test) are left out.
    """
    engine = Engine(resolved)
    rows = []
    for scope in scopes or resolved.scopes:
        if not engine.investment_pv.get(scope):
            continue
        for k, outcome in enumerate(resolved.outcomes):
            if not engine.members[scope][k]:
                continue
            for assumption in PARAMS:
                if assumption == "scale" and "scale" not in outcome.ranges and outcome.quantity_scale == 1:
                    continue  # no conversion to test: the scale row is for outcomes with one
                base = float(engine.base[assumption][k])
                rng = outcome.ranges.get(assumption)
                low = high = ratio_low = ratio_high = None
                if rng is not None:
                    low, high = float(rng.low), float(rng.high)
                    ratio_low, ratio_high = (float(r) for r in _ratios(engine, scope, k, assumption, np.array([low, high])))
                sv = switching_value(resolved, outcome.id, assumption, scope, engine=engine)
                rows.append({
                    "scope": scope,
                    "outcome": outcome.id,
                    "assumption": assumption,
                    "unit": unit_of(assumption, outcome),
                    "base": _display(assumption, base),
                    "low": None if low is None else _display(assumption, low),
                    "high": None if high is None else _display(assumption, high),
                    "ratio_low": ratio_low,
                    "ratio_high": ratio_high,
                    "swing": None if ratio_low is None else abs(ratio_high - ratio_low),
                    "switching_value": sv.value,
                    "switching_note": sv.note,
                })
    frame = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    for column in ("base", "low", "high", "ratio_low", "ratio_high", "swing", "switching_value"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def tornado(sensitivity: pd.DataFrame, scope: str = OVERALL) -> pd.DataFrame:
    """Rows with a stated range for one scope, widest swing first (the tornado chart's order)."""
    rows = sensitivity[(sensitivity["scope"] == scope) & sensitivity["swing"].notna()]
    return rows.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
