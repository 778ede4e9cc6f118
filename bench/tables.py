"""Validation summaries as Markdown tables for docs/validation.md, one number format for every bench script."""

from __future__ import annotations

import numpy as np
import pandas as pd


def cell(column: str, value: object, three: tuple[str, ...] = ("share_matched",), one: tuple[str, ...] = ()) -> str:
    """A number as the validation tables write it: a percentage or a mean count to one decimal, a share to three
    (``three``), anything else (a bias, an estimate) signed to four; '–' for none; text as it is."""
    if not isinstance(value, (float, np.floating)):
        return str(value)
    if np.isnan(value):
        return "–"
    if column.endswith("pct") or column.startswith("mean_n") or column in one:
        return f"{value:.1f}"
    return f"{value:.3f}" if column in three else f"{value:+.4f}"


def markdown(summary: pd.DataFrame, columns: list[str] | None = None, three: tuple[str, ...] = ("share_matched",),
             one: tuple[str, ...] = ()) -> str:
    """``summary``'s ``columns`` (default all) as a Markdown table, each number through :func:`cell`."""
    cols = list(summary.columns) if columns is None else columns
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(c, v, three, one) for c, v in zip(cols, r)) + " |"
              for r in summary[cols].itertuples(index=False)]
    return "\n".join(lines)
