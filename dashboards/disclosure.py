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

    def count(self, value: float | int | None) -> int | str | None:
        """A count as it may be published: ``*`` for 1..suppress_max, else rounded to ``round_to``."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        value = int(round(value))
        if value == 0:
            return 0
        if 0 < value <= self.suppress_max:
            return SUPPRESSED
        return int(self.round_to * math.floor(value / self.round_to + 0.5))

    def table(self, frame: pd.DataFrame, counts: list[str], rates: dict[str, str] | None = None) -> pd.DataFrame:
        """Protect ``counts`` columns; blank each rate column whose base count (``rates[rate] = count``) is suppressed."""
        out = frame.copy()
        for rate, base in (rates or {}).items():
            hidden = out[base].map(lambda n: self.count(n) == SUPPRESSED)
            out[rate] = out[rate].astype(object).where(~hidden, SUPPRESSED)
        for column in counts:
            out[column] = out[column].map(self.count).astype(object)
        return out
