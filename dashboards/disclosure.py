"""Statistical disclosure control for every published count.

Default: the NHS Digital HES rule (since September 2018) for sub-national figures:
counts of 1-7 are suppressed (shown as "*"), other counts are rounded to the nearest 5,
and a rate or percentage built on a suppressed count is not shown. Zero is shown as 0.
Source: NHS Digital, "Hospital Episode Statistics (HES) Analysis Guide", small-number
suppression; see /shared/reference/methods.md section 4. Threshold and base are
configurable (`disclosure` settings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

SUPPRESSED = "*"


@dataclass(frozen=True)
class DisclosureRule:
    suppress_max: int = 7
    round_to: int = 5

    def count(self, value: float | None) -> int | str | None:
        """A count as it may be published: ``*`` for 1..suppress_max, else rounded to ``round_to``."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        value = int(round(value))
        if value == 0:
            return 0
        if 0 < value <= self.suppress_max:
            return SUPPRESSED
        return int(self.round_to * math.floor(value / self.round_to + 0.5))

    def hides(self, value: float | None) -> bool:
        """True when ``value`` is a count that would be published as ``*``."""
        return self.count(value) == SUPPRESSED

    def table(self, frame: pd.DataFrame, counts: list[str],
              rates: dict[str, str | tuple[str, ...]] | None = None) -> pd.DataFrame:
        """Protect ``counts`` columns; show ``*`` for each rate column any of whose base counts is suppressed.

        ``rates[rate]`` names the count (or a tuple of counts: numerator and denominator) the
        rate is built on; a mean or a sum over people is a rate on the count of those people.
        """
        out = frame.copy()
        for rate, bases in (rates or {}).items():
            bases = (bases,) if isinstance(bases, str) else bases
            hidden = pd.Series(False, index=out.index)
            for base in bases:
                hidden |= out[base].map(self.hides).astype(bool)
            out[rate] = out[rate].astype(object).where(~hidden, SUPPRESSED)
        for column in counts:
            out[column] = out[column].map(self.count).astype(object)
        return out
