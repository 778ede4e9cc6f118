"""Headline tiles: a value, its 95% interval and n, and a RAG judgement told by symbol and words.

RAG follows OHID Fingertips: compared with a benchmark using 95% intervals, "better" or
"worse" only when the interval excludes the benchmark, otherwise what Fingertips calls "similar".
That third judgement is "inconclusive" (in the pages and in their CSVs' ``rag`` column), the word
of the Justice Data Lab that the pages' sentences use: every benchmark here is a comparison group, and an interval that includes no
difference says the data cannot tell, not that the groups are alike (Altman & Bland 1995,
"Absence of evidence is not evidence of absence", BMJ 311:485); "≈ Similar" beside
"inconclusive" said both. The judgement is written out and carries a symbol that does not
point (✓ better, ✗ worse, ? inconclusive), so a "worse" ratio below 1:1 is never drawn as an
arrow going up, and colour is never the only cue.
"""

from __future__ import annotations

import html

from dashboards.labels import pct

RAG = {"better": ("✓", "rag-better", "Better"), "worse": ("✗", "rag-worse", "Worse"),
       "inconclusive": ("?", "rag-inconclusive", "Inconclusive"), "none": ("–", "rag-inconclusive", "Not compared")}

__all__ = ["RAG", "judge", "pct", "summary", "tile"]


def judge(low: float, high: float, benchmark: float, lower_is_better: bool) -> str:
    """better / worse / inconclusive: where the 95% interval [low, high] lies against ``benchmark``."""
    if high < benchmark:
        return "better" if lower_is_better else "worse"
    if low > benchmark:
        return "worse" if lower_is_better else "better"
    return "inconclusive"


def tile(label: str, value: str, interval: str, n: str, rag: str = "none", against: str = "", note: str = "",
         tag: str = "", responds: str = "") -> str:
    """The inner HTML of one tile; every argument is plain text and is escaped here.

    ``tag``: a label such as "Demo: synthetic data" or "Crude rate, not matched", shown by the title.
    """
    symbol, css, word = RAG[rag]
    rag_text = f"<p class='rag {css}'>{symbol} {word}{': ' + html.escape(against) if against else ''}</p>" if rag != "none" else (
        f"<p class='note'>{html.escape(against)}</p>" if against else "")
    tag_html = f" <span class='demo-tag'>{html.escape(tag)}</span>" if tag else ""
    return (f"<h3>{html.escape(label)}{tag_html}</h3><div class='value'>{html.escape(value)}</div>"
            f"<p>{html.escape(interval)}</p><p>{html.escape(n)}</p>{rag_text}"
            + (f"<p class='note'>{html.escape(note)}</p>" if note else "")
            + (f"<p class='note'>{html.escape(responds)}</p>" if responds else ""))


def summary(label: str, value: str, interval: str, n: str, rag: str, against: str, tag: str = "") -> str:
    judged = f" {RAG[rag][2]}: {against}" if rag != "none" else (f" {against}" if against else "")
    return f"{label}{' [' + tag + ']' if tag else ''}: {value} ({interval}; {n}).{judged}"
