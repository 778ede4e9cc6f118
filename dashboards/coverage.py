"""A family's coverage on its page: why it has no result (``marts.outcome_coverage``, models/coverage.py).

Shown where the family's own sections are, only when its status is not ``estimated``: the
sentence the mart carries (no participants, no source data, not estimated), never
recomputed here. Nothing is shown when the mart was not built (older warehouse).
"""

from __future__ import annotations

import html

import pandas as pd

from dashboards.page import Section

MARTS = ("outcome_coverage",)


def sections(m: dict[str, pd.DataFrame | None], family: str) -> list[Section]:
    """[a section with the family's status and sentence] when it was not estimated, else []."""
    frame = m.get("outcome_coverage")
    rows = frame[frame["outcome_family"] == family] if frame is not None and not frame.empty else None
    if rows is None or rows.empty or rows["status"].iloc[0] == "estimated":
        return []
    row = rows.iloc[0]
    status = str(row["status"])
    return [Section(f"{row['label']}: {status}", str(row["message"]),
                    html=f"<p class='empty coverage' data-family='{html.escape(family, quote=True)}' "
                         f"data-status='{html.escape(status, quote=True)}'>{html.escape(status.capitalize())}.</p>")]
