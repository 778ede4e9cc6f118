"""Human labels for the pages: area names for ONS codes, domain words in title case, numbers, plurals.

Area names come from the ONS release "Local Authority Districts (April 2020) Names and Codes
in the United Kingdom" (Open Government Licence v3.0), shipped in ``data/reference/ons/``.
"""

from __future__ import annotations

import csv
import math
from functools import lru_cache
from pathlib import Path

LAD_FILE = Path(__file__).resolve().parents[1] / "data" / "reference" / "ons" / "lad_april_2020_names_codes_uk.csv"
#: Domain words whose capitals are not title case.
WORDS = {"sroi": "SROI", "wemwbs": "WEMWBS", "swemwbs": "SWEMWBS", "tb01": "TB01", "and": "and", "of": "of", "a": "a",
         "ae": "A&E", "gp": "GP", "imd": "IMD", "id": "ID", "ons4": "ONS4", "to": "to", "in": "in", "on": "on"}


@lru_cache(maxsize=1)
def lad_names() -> dict[str, str]:
    with LAD_FILE.open(newline="", encoding="utf-8") as handle:
        return {row["LAD20CD"]: row["LAD20NM"] for row in csv.DictReader(handle)}


def area(code: str) -> str:
    """'E06000001' -> 'Hartlepool (E06000001)'; an unknown code as it is."""
    name = lad_names().get(str(code))
    return f"{name} ({code})" if name else str(code)


def title(value: str) -> str:
    """A snake_case domain value in title case: 'recovery_star' -> 'Recovery Star'."""
    words = str(value).replace("_", " ").split()
    out = [WORDS.get(w.lower(), w if any(c.isupper() for c in w) else w.capitalize()) for w in words]
    if out:
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


def plural(n: float, word: str, words: str | None = None) -> str:
    """'1 time bank', '3 time banks', '1,200 hours'."""
    shown = f"{n:,.0f}" if isinstance(n, (int, float)) and not isinstance(n, bool) else str(n)
    return f"{shown} {word if n == 1 else (words or word + 's')}"


def money(value: float | None, pence: bool = False) -> str:
    """'£75,100' (or '£75,100.50' with ``pence``); '–' for nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"£{value:,.2f}" if pence else f"£{value:,.0f}"


def pct(value: float | None, places: int = 1) -> str:
    """A share (0-1) as a percentage: 0.0648 -> '6.5%'."""
    if value is None or isinstance(value, str) or math.isnan(value):
        return "–" if not isinstance(value, str) else value
    return f"{100 * value:.{places}f}%"


def programme(value: str) -> str:
    """A programme label of the reoffending marts in words: 'timebank:TB01' -> 'Time bank TB01',
    'any_participation' -> 'Any participation', 'prison_listeners' -> 'Prison listeners'."""
    text = str(value)
    if text.startswith("timebank:"):
        return "Time bank " + text.removeprefix("timebank:")
    words = text.replace("_", " ")
    return words[:1].upper() + words[1:]
