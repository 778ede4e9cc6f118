"""Reading numbers, percentages and years from YAML/CSV values, strictly.

Percentages
-----------
The impact map writes every percentage (deadweight, displacement, attribution,
drop-off, a custom discount rate) **on the 0-100 scale**: ``20`` means 20%.

* a bare number must be ``0`` or lie in (1, 100]: ``20``, ``2.5``, ``100``;
* a string with a per-cent sign is read as written and may be any value in
  0-100: ``"20%"``, ``"0.5%"``, ``"1%"``;
* a bare number in (0, 1] is **rejected as ambiguous** (is ``0.2`` 20% written
  as a fraction, or a fifth of one per cent?); write ``20`` or ``"0.2%"``;
* anything below 0 or above 100, a boolean, or a string without ``%`` is
  rejected.

Internally a percentage is held as a ``Decimal`` fraction (20 -> ``Decimal("0.2")``).
Numbers go through ``Decimal(str(x))`` so that ``0.1`` typed in YAML stays
exactly one tenth.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from models.social_value.errors import SocialValueError

HUNDRED = Decimal(100)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def to_decimal(
    value: Any,
    *,
    outcome: str | None = None,
    field: str | None = None,
    minimum: Decimal | int | None = None,
    what: str = "a number",
) -> Decimal:
    """A finite ``Decimal`` from an int, float, Decimal or numeric string."""
    if isinstance(value, bool) or value is None:
        raise SocialValueError(f"expected {what}, got {value!r}", outcome=outcome, field=field)
    if _is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            raise SocialValueError(f"expected {what}, got {value!r}", outcome=outcome, field=field)
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise SocialValueError(f"expected {what}, got {value!r}", outcome=outcome, field=field) from None
    else:
        raise SocialValueError(f"expected {what}, got {value!r}", outcome=outcome, field=field)
    if not number.is_finite():
        raise SocialValueError(f"expected {what}, got {value!r}", outcome=outcome, field=field)
    if minimum is not None and number < Decimal(minimum):
        raise SocialValueError(
            f"{value!r} is below the minimum {minimum} ({what})", outcome=outcome, field=field
        )
    return number


def parse_percent(value: Any, *, outcome: str | None = None, field: str | None = None) -> Decimal:
    """A percentage written on the 0-100 scale, returned as a fraction in [0, 1].

    See the module docstring for the rules; every rejection names the outcome and
    the field and says how to write the value instead.
    """
    hint = "percentages are written 0-100, e.g. 20 for 20%"
    if isinstance(value, bool) or value is None:
        raise SocialValueError(f"expected a percentage, got {value!r} ({hint})", outcome=outcome, field=field)
    if isinstance(value, str):
        text = value.strip()
        if not text.endswith("%"):
            raise SocialValueError(
                f"{value!r} is not a percentage: write a number such as 20, or a string with a "
                f"per-cent sign such as '20%'",
                outcome=outcome,
                field=field,
            )
        number = to_decimal(text[:-1], outcome=outcome, field=field, what="a percentage")
        if number < 0 or number > HUNDRED:
            raise SocialValueError(f"{value!r} is outside 0-100% ({hint})", outcome=outcome, field=field)
        return number / HUNDRED
    number = to_decimal(value, outcome=outcome, field=field, what="a percentage")
    if number < 0 or number > HUNDRED:
        raise SocialValueError(f"{value!r} is outside 0-100 ({hint})", outcome=outcome, field=field)
    if 0 < number <= 1:
        raise SocialValueError(
            f"{value!r} is ambiguous: percentages are written 0-100, so write {float(number * HUNDRED):g} "
            f"for {float(number * HUNDRED):g}%, or '{value}%' if you really mean {value} per cent",
            outcome=outcome,
            field=field,
        )
    return number / HUNDRED


def parse_int(
    value: Any,
    *,
    outcome: str | None = None,
    field: str | None = None,
    minimum: int | None = None,
    what: str = "a whole number",
) -> int:
    """An integer (``3`` or ``3.0``; not ``2.5``, not a boolean) at or above ``minimum``."""
    number = to_decimal(value, outcome=outcome, field=field, what=what)
    if number != number.to_integral_value():
        raise SocialValueError(f"{value!r} is not {what}", outcome=outcome, field=field)
    result = int(number)
    if minimum is not None and result < minimum:
        raise SocialValueError(f"{value!r} must be at least {minimum} ({what})", outcome=outcome, field=field)
    return result
