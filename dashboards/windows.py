"""The outcome windows a run used, in the words the pages name their outcomes with.

The readmission window (``readmission.window_min_days`` / ``window_max_days``, NHS: days 0-29)
and the reoffending follow-up (``reoffending.follow_up_days``, MoJ: 365) are settings; a page
that says "30-day emergency readmission" or "within a year" must say so only when the run that
wrote the figures used those windows. Each is read from the settings its effects mart was built
with (``meta.settings_used``, :mod:`models.settings_used`), or, in a warehouse from before that
record, from the configuration in ``meta.runs`` of the run that wrote the mart (the latest run when
that one is not recorded), so a title always describes the figure beside it. When the marts of
one outcome were built with different windows (some materialised again after the settings
changed), :func:`read_windows` raises :class:`WindowsDisagree` naming them: no page names one
window over figures counted in another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from dashboards.marts import read
from models.readmission.settings import readmitted_within
from models.settings_used import recorded


@dataclass(frozen=True)
class Windows:
    """The readmission window (first and last day after discharge) and the reoffending follow-up, in days."""

    readmission_first: int = 0
    readmission_last: int = 29
    reoffending_days: int = 365

    @property
    def nhs(self) -> bool:
        """The NHS indicator's window (days 0-29 after discharge)."""
        return (self.readmission_first, self.readmission_last) == (0, 29)

    @property
    def moj(self) -> bool:
        """The MoJ's one-year follow-up."""
        return self.reoffending_days == 365

    @property
    def readmitted_within(self) -> str:
        """'within 30 days' for the NHS window 0-29 (:func:`models.readmission.settings.readmitted_within`)."""
        return readmitted_within(self.readmission_first, self.readmission_last)

    @property
    def readmission(self) -> str:
        """The outcome's name: '30-day emergency readmission' (NHS I02040) or the window used instead."""
        if self.readmission_first == 0:
            return f"{self.readmission_last + 1}-day emergency readmission"
        return f"Emergency readmission {self.readmitted_within}"

    @property
    def readmission_lower(self) -> str:
        """The outcome's name inside a sentence."""
        return self.readmission[0].lower() + self.readmission[1:]

    @property
    def reoffending_within(self) -> str:
        """'within a year' for the MoJ's 365 days, else 'within N days'."""
        return "within a year" if self.reoffending_days == 365 else f"within {self.reoffending_days} days"

    @property
    def reoffending(self) -> str:
        return f"Proven reoffending {self.reoffending_within}"


NHS_MOJ = Windows()


def _config(runs, run_id: str | None) -> dict:
    """The recorded configuration of ``run_id``, else of the latest run; {} when none is recorded."""
    if runs is None or runs.empty:
        return {}
    mine = runs[runs["run_id"] == run_id] if run_id is not None else runs.iloc[:0]
    chosen = (mine if not mine.empty else runs).sort_values("recorded_at")["config"].iloc[-1]
    try:
        return json.loads(chosen) if chosen else {}
    except (TypeError, ValueError):
        return {}


def _writer(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    frame = read(con, table)
    if frame is None or frame.empty or "run_id" not in frame.columns:
        return None
    ids = frame["run_id"].dropna()
    return None if ids.empty else str(ids.iloc[0])


#: The marts whose figures depend on each window, the effects mart first (it names the window).
READMISSION_MARTS = ("marts.readmission_effects", "marts.readmission_rates", "marts.readmission_funnel",
                     "marts.readmission_avoided")
REOFFENDING_MARTS = ("marts.reoffending_effects", "marts.reoffending_rates", "marts.reoffending_survival",
                     "marts.reoffending_avoided", "marts.reoffending_cox")
READMISSION_FIELDS = ("window_min_days", "window_max_days")
REOFFENDING_FIELDS = ("follow_up_days",)


class WindowsDisagree(ValueError):
    """The marts of one outcome were built with different windows."""


def _built_with(con: duckdb.DuckDBPyConnection, marts: tuple[str, ...], fields: tuple[str, ...]) -> dict[str, tuple]:
    """Each mart's recorded values of ``fields`` (marts with no record, or recorded without them, left out)."""
    out = {}
    for table in marts:
        found = recorded(con, table)
        if found and all(f in found[1] for f in fields):
            out[table] = tuple(found[1][f] for f in fields)
    return out


def _agreed(con: duckdb.DuckDBPyConnection, section: str, marts: tuple[str, ...], fields: tuple[str, ...]) -> dict:
    """The fields every mart of ``marts`` was built with; raises :class:`WindowsDisagree` when they differ."""
    found = _built_with(con, marts, fields)
    if len(set(found.values())) > 1:
        said = "; ".join(f"{t} with {', '.join(f'{section}.{f} {v}' for f, v in zip(fields, vs))}" for t, vs in found.items())
        raise WindowsDisagree(f"the {section} marts were built with different windows ({said}): materialise them again "
                              f"together (the {section} group, or 'Materialize all'), so each page names the window of "
                              "every figure it shows")
    return dict(zip(fields, next(iter(found.values())))) if found else {}


def read_windows(con: duckdb.DuckDBPyConnection) -> Windows:
    """The windows the readmission and reoffending marts were built with (see the module's docstring)."""
    readmission = _agreed(con, "readmission", READMISSION_MARTS, READMISSION_FIELDS)
    reoffending = _agreed(con, "reoffending", REOFFENDING_MARTS, REOFFENDING_FIELDS)
    runs = read(con, "meta.runs") if not (readmission and reoffending) else None
    readmission = readmission or _config(runs, _writer(con, "marts.readmission_effects")).get("readmission") or {}
    reoffending = reoffending or _config(runs, _writer(con, "marts.reoffending_effects")).get("reoffending") or {}
    return Windows(readmission_first=int(readmission.get("window_min_days", NHS_MOJ.readmission_first)),
                   readmission_last=int(readmission.get("window_max_days", NHS_MOJ.readmission_last)),
                   reoffending_days=int(reoffending.get("follow_up_days", NHS_MOJ.reoffending_days)))
