"""Realistic mistakes for the demo sample: about 1% bad rows in every source (``--bad-rows 0.01``).

Extracts from real systems carry typing slips, impossible dates and records that point
nowhere. Five kinds are made here, each broken by one rule of the data contract and so
quarantined at ingest with that rule (docs/data-contract.md):

* ``wrong_type``: a number, flag or date typed as words (``seven``, ``maybe``);
* ``future_date``: an event date in the 22nd century (a mistyped century, 2123 for 2023), rule
  ``not_future``;
* ``two_digit_year``: a date written ``14/05/23``, which the contract refuses as ambiguous;
* ``unknown_reference``: a person or member id that no staged row has (an orphan);
* ``duplicate``: the same record delivered twice (rule ``duplicate_row``; the first copy is kept).

Each bad row is an appended copy of a real row, changed in one field; a copy of a keyed row
gets a key of its own unless it is the duplicate, so the real rows are all staged as before
and every figure of the demo is unchanged. The sample is CSV: a typed Parquet file cannot
hold a word in a number column.
"""

from __future__ import annotations

import csv
from pathlib import Path


from schemas.contract import ColumnRule, SourceContract, contract
from schemas.raw import SOURCES

from .common import stream

KINDS = ("wrong_type", "future_date", "unknown_reference", "duplicate", "two_digit_year")
WORDS = {"DOUBLE": "two and a half", "BIGINT": "seven", "BOOLEAN": "maybe", "DATE": "last Tuesday"}


def _dates(spec: SourceContract) -> list[ColumnRule]:
    """Date columns, event dates (not in the future) first."""
    return sorted((c for c in spec.columns if c.sql_type == "DATE"), key=lambda c: not c.not_future)


def _kinds(spec: SourceContract) -> list[str]:
    """The kinds of mistake a row of this source can carry."""
    possible = {
        "wrong_type": any(c.sql_type in WORDS and c.name != spec.key for c in spec.columns),
        "future_date": any(c.not_future for c in spec.columns),
        "unknown_reference": bool(spec.references),
        # Identical rows of a source without a key can be real (two GP contacts in a day).
        "duplicate": bool(spec.key or spec.natural_key),
        "two_digit_year": bool(_dates(spec)),
    }
    return [k for k in KINDS if possible[k]]


def spoil_row(row: dict[str, str], kind: str, spec: SourceContract, number: int) -> dict[str, str]:
    """A copy of ``row`` with one mistake of ``kind``; ``number`` makes new keys and ids unique."""
    bad = dict(row)
    if spec.key and kind != "duplicate":
        bad[spec.key] = f"{row[spec.key]}-{number}"
    if kind == "wrong_type":
        # never a covariate whose bad value is cleared (schemas/raw.py ``clear``): its row would be staged, a record more
        column = next(c for c in spec.columns if c.sql_type in WORDS and c.name != spec.key and not c.clear and row[c.name])
        bad[column.name] = WORDS[column.sql_type]
    elif kind == "future_date":
        column = next(c for c in spec.columns if c.not_future and row[c.name])
        bad[column.name] = "21" + row[column.name][2:]
    elif kind == "two_digit_year":
        column = next(c for c in _dates(spec) if row[c.name])
        year, month, day = row[column.name].split("-")
        bad[column.name] = f"{day}/{month}/{year[2:]}"
    elif kind == "unknown_reference":
        column = next(iter(spec.references))
        bad[column] = f"UNKNOWN{number:05d}"
    return bad


def spoil(folder: Path, share: float, seed: int) -> dict[str, int]:
    """Append ``share`` (at least one row) bad rows to every ``<source>.csv`` in ``folder``; rows added per source."""
    added: dict[str, int] = {}
    for source in SOURCES:
        rng = stream(seed, f"spoil {source}")  # one stream per source: a source's row count never moves another's picks
        path = Path(folder) / f"{source}.csv"
        if not path.exists():
            continue
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            header, rows = reader.fieldnames, list(reader)
        if not rows:
            continue
        spec, kinds = contract(source), _kinds(contract(source))
        n = max(1, round(share * len(rows)))
        picks = rng.choice(len(rows), size=n, replace=n > len(rows))
        bad = []
        for i, pick in enumerate(picks):
            # A row lacking the field a kind changes (an empty optional date) takes the next kind.
            for kind in kinds[i % len(kinds):] + kinds[:i % len(kinds)]:
                try:
                    bad.append(spoil_row(rows[pick], kind, spec, i + 1))
                    break
                except StopIteration:
                    continue
        with open(path, "a", newline="") as handle:
            csv.DictWriter(handle, header, lineterminator="\n").writerows(bad)
        added[source] = len(bad)
    return added
