"""The interface between the outcome models and the SROI calculator.

The readmission, reoffending and well-being models hand their results over as a
plain mapping from an **output id** to a record::

    {"avoided_readmissions": {"estimate": 12.3, "ci_low": 4.1, "ci_high": 20.0,
                              "comparison_rate": 0.14, "participant_rate": 0.10,
                              "n": 300, "estimand": "net",
                              "direction": "lower_is_better"}}

or as ``ModelOutput`` objects. Results for one time bank use the key
``"<id>@<time_bank>"`` (e.g. ``"avoided_readmissions@riverside"``); the impact
map names whichever key it wants, verbatim.

Fields (see docs/social-value.md, "Model-output interface"):

``estimate`` (required)
    The quantity for the impact map, in the outcome's unit (events avoided,
    people improving, hours). ``None`` or NaN means "the model has no results".
``ci_low``, ``ci_high``
    95% interval of ``estimate`` (both or neither). The Monte Carlo treats the
    estimate as normal with ``SE = (ci_high - ci_low) / 3.92``.
``n``
    People analysed (participants).
``comparison_rate``, ``participant_rate``
    Proportions in [0, 1] of the comparison group and of participants, used by
    ``deadweight: from_comparison``.
``comparison``
    ``"matched"`` when ``comparison_rate`` is the matched comparison group's (on
    the participants' matched sample), ``"unmatched"`` when it is anyone else's.
    ``from_comparison`` needs ``"matched"``.
``estimand``
    ``"net"`` (default): the estimate is already the difference from the matched
    comparison group (e.g. avoided readmissions), so deadweight is netted out.
    ``"gross"``: the estimate counts participants achieving the outcome before
    subtracting what would have happened anyway.
``direction``
    ``"higher_is_better"`` when the rates are of achieving the outcome (reliable
    improvement), ``"lower_is_better"`` when they are of an adverse event
    (readmission). Required by ``from_comparison``.
``nonnegative``
    Whether the quantity can be below zero; default: ``True`` for gross counts,
    ``False`` for net effects (a net effect below zero is a harm and is carried as
    such). Monte Carlo draws of a non-negative quantity are truncated at 0.

Any other keys are kept in ``extra`` and not read.

Deadweight from the comparison group
------------------------------------
With success rates ``s = rate`` (higher_is_better) or ``s = 1 - rate``
(lower_is_better)::

    deadweight = min(1, s_comparison / s_participants)

the share of the participants' outcome that the comparison group suggests would
have happened anyway. Applied to a **gross** quantity ``n * s_participants`` it
leaves ``n * (s_participants - s_comparison)``, the matched-comparison effect.
On a net estimate it would count deadweight twice, so that is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from decimal import Decimal, localcontext
from typing import Any, Mapping

from models.social_value.errors import SocialValueError

Z_95 = 3.92  # width of a 95% normal interval in standard errors (2 x 1.96)
ESTIMANDS = ("net", "gross")
DIRECTIONS = ("higher_is_better", "lower_is_better")
COMPARISONS = ("matched", "unmatched")


def model_output_key(output_id: str, time_bank: str | None = None) -> str:
    """The mapping key for an output, overall (``id``) or for one time bank (``id@bank``)."""
    return output_id if not time_bank or time_bank == "overall" else f"{output_id}@{time_bank}"


def adverse_events_avoided(row: Any, *, rates: bool) -> dict[str, Any]:
    """One row of an "avoided" mart (``marts.readmission_avoided``, ``marts.reoffending_avoided``) as a record:
    a net estimate (already the difference from the matched comparison group) of adverse events avoided
    (``lower_is_better``), with its interval, ``n`` and ``unit``. ``rates``: the row's rates are proportions
    (readmission, reoffending) and travel, from the matched comparison group, for ``deadweight: from_comparison``;
    events per person-year or per person cannot, so other rows leave them out."""
    record = {"estimate": float(row.estimate), "ci_low": float(row.ci_low), "ci_high": float(row.ci_high),
              "n": int(row.n), "estimand": "net", "direction": "lower_is_better", "unit": row.unit}
    if rates:
        record.update(comparison_rate=float(row.comparison_rate), participant_rate=float(row.participant_rate),
                      comparison="matched")
    return record


@dataclass(frozen=True)
class ModelOutput:
    """One model result as the SROI calculator reads it (see the module docstring)."""

    estimate: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    comparison_rate: float | None = None
    participant_rate: float | None = None
    estimand: str = "net"
    direction: str | None = None
    nonnegative: bool | None = None
    unit: str | None = None
    comparison: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None

    @property
    def se(self) -> float | None:
        """Standard error implied by the 95% interval: ``(ci_high - ci_low) / 3.92``."""
        if not self.has_interval:
            return None
        return (self.ci_high - self.ci_low) / Z_95

    @property
    def is_nonnegative(self) -> bool:
        return self.nonnegative if self.nonnegative is not None else self.estimand == "gross"

    @classmethod
    def from_value(cls, key: str, value: Any, *, outcome: str | None = None, field_name: str = "quantity") -> "ModelOutput":
        """Validate a ``ModelOutput`` or a mapping; errors name the outcome, the field and the output."""

        def fail(message: str) -> SocialValueError:
            return SocialValueError(f"model output {key!r}: {message}", outcome=outcome, field=field_name)

        if isinstance(value, ModelOutput):
            record = {f.name: getattr(value, f.name) for f in fields(cls) if f.name != "extra"}
            extra = dict(value.extra)
        elif isinstance(value, Mapping):
            known = {f.name for f in fields(cls)} - {"extra"}
            record = {k: v for k, v in value.items() if k in known}
            extra = {k: v for k, v in value.items() if k not in known}
        elif value is None:
            raise fail("the model has no results (no record was supplied)")
        else:
            raise fail(f"expected a mapping with at least 'estimate', got {type(value).__name__}")

        def number(name: str, *, required: bool = False) -> float | None:
            raw = record.get(name)
            if raw is None or (isinstance(raw, float) and math.isnan(raw)):
                if required:
                    raise fail(f"the model has no results ('{name}' is missing or empty)")
                return None
            if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal)):
                raise fail(f"'{name}' must be a number, got {raw!r}")
            result = float(raw)
            if not math.isfinite(result):
                raise fail(f"'{name}' must be finite, got {raw!r}")
            return result

        estimate = number("estimate", required=True)
        ci_low, ci_high = number("ci_low"), number("ci_high")
        if (ci_low is None) != (ci_high is None):
            raise fail("give both 'ci_low' and 'ci_high', or neither")
        if ci_low is not None and not ci_low <= estimate <= ci_high:
            raise fail(f"the interval [{ci_low}, {ci_high}] does not contain the estimate {estimate}")
        rates = {}
        for name in ("comparison_rate", "participant_rate"):
            rates[name] = number(name)
            if rates[name] is not None and not 0 <= rates[name] <= 1:
                raise fail(f"'{name}' must be a proportion in [0, 1], got {rates[name]}")
        n = record.get("n")
        if n is not None:
            if isinstance(n, bool) or not isinstance(n, (int, float)) or n < 0 or float(n) != int(n):
                raise fail(f"'n' must be a whole number of people, got {n!r}")
            n = int(n)
        estimand = record.get("estimand") or "net"
        if estimand not in ESTIMANDS:
            raise fail(f"'estimand' must be 'net' or 'gross', got {estimand!r}")
        direction = record.get("direction")
        if direction is not None and direction not in DIRECTIONS:
            raise fail(f"'direction' must be 'higher_is_better' or 'lower_is_better', got {direction!r}")
        comparison = record.get("comparison")
        if comparison is not None and comparison not in COMPARISONS:
            raise fail(f"'comparison' must be 'matched' or 'unmatched', got {comparison!r}")
        nonnegative = record.get("nonnegative")
        if nonnegative is not None and not isinstance(nonnegative, bool):
            raise fail(f"'nonnegative' must be true or false, got {nonnegative!r}")
        result = cls(
            estimate=estimate,
            ci_low=ci_low,
            ci_high=ci_high,
            n=n,
            comparison_rate=rates["comparison_rate"],
            participant_rate=rates["participant_rate"],
            estimand=estimand,
            direction=direction,
            nonnegative=nonnegative,
            unit=record.get("unit"),
            comparison=comparison,
            extra=extra,
        )
        if result.is_nonnegative and estimate < 0:
            raise fail(f"the estimate {estimate} is negative but the quantity cannot be (nonnegative)")
        return result


def lookup(
    model_outputs: Mapping[str, Any] | None, key: str, *, outcome: str, field_name: str = "quantity"
) -> ModelOutput:
    """The validated output ``key``; absent or empty results are an error naming the outcome."""
    if model_outputs is None or key not in model_outputs:
        supplied = ", ".join(sorted(model_outputs)) if model_outputs else "none"
        raise SocialValueError(
            f"model output {key!r} has no results (outputs supplied: {supplied}). Run the model first, "
            f"or give a fixed quantity",
            outcome=outcome,
            field=field_name,
        )
    return ModelOutput.from_value(key, model_outputs[key], outcome=outcome, field_name=field_name)


def deadweight_from_comparison(output: ModelOutput, key: str, *, outcome: str, field_name: str = "deadweight") -> Decimal:
    """``min(1, s_comparison / s_participants)`` as a fraction (see the module docstring)."""
    if output.comparison_rate is None or output.participant_rate is None:
        raise SocialValueError(
            f"deadweight from_comparison needs 'comparison_rate' and 'participant_rate' in model output {key!r}",
            outcome=outcome,
            field=field_name,
        )
    if output.direction is None:
        raise SocialValueError(
            f"deadweight from_comparison needs 'direction' (higher_is_better or lower_is_better) in model "
            f"output {key!r}, to know whether its rates are of achieving the outcome or of an adverse event",
            outcome=outcome,
            field=field_name,
        )
    if output.comparison != "matched":
        said = "says its rates are not" if output.comparison == "unmatched" else "does not say its rates are"
        raise SocialValueError(
            f"deadweight from_comparison needs the comparison group's rate from the matched sample, and model output "
            f"{key!r} {said} (comparison: matched). An unmatched group's rate differs from the participants' for "
            f"who they are as well as for what the programme did; value a net matched estimate instead",
            outcome=outcome,
            field=field_name,
        )
    with localcontext() as ctx:
        ctx.prec = 40
        comparison = Decimal(str(output.comparison_rate))
        participants = Decimal(str(output.participant_rate))
        if output.direction == "lower_is_better":
            comparison, participants = 1 - comparison, 1 - participants
        if participants == 0:
            raise SocialValueError(
                f"deadweight from_comparison is undefined: no participants achieved the outcome in {key!r}",
                outcome=outcome,
                field=field_name,
            )
        return min(Decimal(1), comparison / participants)
