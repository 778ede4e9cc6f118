"""The reoffending marts' columns, as schemas/marts.py declares them (docs/outputs-reoffending.md
is generated from that declaration). Each mart is written whole by
:func:`models.mart_writer.write_mart`, so an empty result is an empty table with the right
columns and types, never a missing table.
"""

from __future__ import annotations

import pandas as pd

from schemas.marts import Column, mart

RATES = mart("marts.reoffending_rates").columns
EFFECTS = mart("marts.reoffending_effects").columns
SURVIVAL = mart("marts.reoffending_survival").columns
COX = mart("marts.reoffending_cox").columns
AVOIDED = mart("marts.reoffending_avoided").columns
MARTS: dict[str, tuple[Column, ...]] = {name: mart(name).columns for name in (
    "marts.reoffending_rates", "marts.reoffending_effects", "marts.reoffending_survival", "marts.reoffending_cox",
    "marts.reoffending_avoided")}


def empty_frame(cols: tuple[Column, ...]) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype=object) for c in cols})
