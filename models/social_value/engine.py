"""A vectorised (float, numpy) evaluator of the same arithmetic, for many scenarios at once.

``models.social_value.arithmetic`` is the exact, penny-accurate evaluator of the
base case. The one-at-a-time sensitivity and the Monte Carlo need the ratio for
thousands of parameter sets, so this module evaluates the identical formula on
arrays of shape ``(n_scenarios, n_outcomes)``::

    PV_k = Q*P*(1-DW)*(1-DS)*(1-AT) * sum_{t=1..T} (1-DO)^(t-1) * [t <= D] * DF_k,t

(Q after its scale; a scale moved from the map's multiplies Q by the new scale over the map's).

Tests check that it agrees with the exact evaluator on the base case.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from models.social_value.arithmetic import investment_present_value
from models.social_value.impact_map import OVERALL
from models.social_value.resolve import ResolvedMap

#: ``quantity`` is the quantity after its scale; ``scale`` (last, so a map without a scale range draws as before)
#: multiplies it by scale / the map's scale: a range on a conversion such as life-satisfaction points per Star point
PARAMS = ("quantity", "proxy", "deadweight", "displacement", "attribution", "drop_off", "duration", "scale")
_CHUNK_CELLS = 4_000_000  # scenarios x outcomes x years per block, to bound memory


class Engine:
    """Base parameters of a resolved map as arrays, and a fast PV/ratio evaluator."""

    def __init__(self, resolved: ResolvedMap) -> None:
        self.resolved = resolved
        self.outcomes = resolved.outcomes
        self.ids = [o.id for o in self.outcomes]
        self.base = {
            "quantity": np.array([float(o.quantity) for o in self.outcomes]),
            "proxy": np.array([float(o.proxy_value) for o in self.outcomes]),
            "deadweight": np.array([float(o.deadweight) for o in self.outcomes]),
            "displacement": np.array([float(o.displacement) for o in self.outcomes]),
            "attribution": np.array([float(o.attribution) for o in self.outcomes]),
            "drop_off": np.array([float(o.drop_off) for o in self.outcomes]),
            "duration": np.array([o.duration for o in self.outcomes], dtype=np.int64),
            "scale": np.array([float(o.quantity_scale) for o in self.outcomes]),
        }
        self.members = {
            scope: np.array([scope == OVERALL or o.scope == scope for o in self.outcomes], dtype=bool)
            for scope in resolved.scopes
        }
        self.investment_pv = {
            scope: (float(investment_present_value(resolved.investment[scope], resolved.discount)) if scope in resolved.investment else None)
            for scope in resolved.scopes
        }
        self._schedules = tuple(o.discount for o in self.outcomes)

    def index(self, outcome_id: str) -> int:
        return self.ids.index(outcome_id)

    def base_params(self, n: int = 1) -> dict[str, np.ndarray]:
        """The base case repeated ``n`` times: arrays of shape ``(n, K)``."""
        return {name: np.repeat(values[None, :], n, axis=0) for name, values in self.base.items()}

    def discount_matrix(self, years: int) -> np.ndarray:
        """``DF[k, t-1]`` for t = 1..years, shape ``(K, years)``."""
        return _discount_matrix(self._schedules, years)

    def outcome_pv(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """PV of every outcome in every scenario, shape ``(n, K)``."""
        q, p = params["quantity"] * (params["scale"] / self.base["scale"]), params["proxy"]
        first = q * p * (1 - params["deadweight"]) * (1 - params["displacement"]) * (1 - params["attribution"])
        keep = 1 - params["drop_off"]
        duration = params["duration"].astype(np.int64)
        n, k = first.shape
        years = max(int(duration.max(initial=1)), 1)
        df = self.discount_matrix(years)
        exponents = np.arange(years)
        out = np.empty((n, k))
        step = max(1, _CHUNK_CELLS // max(1, k * years))
        for start in range(0, n, step):
            sl = slice(start, start + step)
            decay = keep[sl, :, None] ** exponents  # 0 ** 0 == 1: year 1 never drops off
            live = exponents < duration[sl, :, None]
            out[sl] = first[sl] * np.sum(decay * live * df[None, :, :], axis=2)
        return out

    def scope_pv(self, outcome_pv: np.ndarray, scope: str) -> np.ndarray:
        return outcome_pv[:, self.members[scope]].sum(axis=1)

    def ratio(self, params: dict[str, np.ndarray], scope: str = OVERALL) -> np.ndarray:
        """SROI ratio of ``scope`` in every scenario (NaN when the scope has no investment)."""
        invest = self.investment_pv[scope]
        pv = self.scope_pv(self.outcome_pv(params), scope)
        if not invest:
            return np.full(pv.shape, np.nan)
        return pv / invest


@lru_cache(maxsize=64)
def _discount_matrix(schedules: tuple, years: int) -> np.ndarray:
    matrix = np.vstack([s.factors_array(years) for s in schedules])
    matrix.setflags(write=False)
    return matrix
