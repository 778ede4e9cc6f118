"""The evaluator's first screen: how far the run's results can be trusted, in four lines, each from a table below.

An evaluator opening the page met the run's provenance and, below the fold at 1440 x 900 (and three screens down on a
phone), the results; that no matched comparison had reached balance (every largest |SMD| after matching above 0.1)
was in the seventh table. The lines count the published rows of the sections they link to (one number, one source):
the results and their verdicts ("What you can and cannot say"), their analysis roles over the run's comparisons
(``marts.effect_register``, the rows' marks), balance after matching, common support and the pre-trend check. A
withheld row (``*``) is counted as withheld, never guessed.
"""

from __future__ import annotations

import html

import pandas as pd

from dashboards.diagnostics_sections import SUPPORT_TITLE, support_words
from dashboards.labels import plural
from dashboards.page import Section, slug
from dashboards.reoffending_sections import MEASURES
from models.disclosure import SUPPRESSED, DisclosureRule

TITLE = "At a glance"
RESULTS, BALANCE, PRETREND = ("What you can and cannot say", "Balance after matching",
                              "Before and after joining: pre-trend check")
#: Verdicts of "What you can and cannot say" that say no difference was found or shown; any other verdict of a
#: comparison is a significant one ("significant reduction", a Cox model's "slower reoffending"); the SROI ratio's
#: ("£0.85 per £1") is no comparison and is not counted.
NOT_SIGNIFICANT = ("inconclusive", "not published", "not estimable")
#: The register's outcomes that the page lists, by family (None: every outcome): "What you can and cannot say" and,
#: for reoffending's other measures, :data:`dashboards.reoffending_sections.MEASURES`. Any other would count among the
#: run's comparisons (Holm) but be on no page (the line said "judged over the run's 45 comparisons" beside 30 that an
#: evaluator could find, before the reoffending measures' table).
LISTED = {"readmission": None, "reoffending": ("binary_rate", *MEASURES), "wellbeing": None}


def _link(title: str, words: str) -> str:
    return f"<a href='#{slug(title)}'>{html.escape(words)}</a>"


def _withheld(n: int, rule: DisclosureRule) -> str:
    return f" ({n} withheld: 1 to {rule.suppress_max} people)" if n else ""


def unlisted(register: pd.DataFrame | None) -> tuple[int, str]:
    """(how many, which in words) of the run's comparisons (register rows with a p-value) whose outcome :data:`LISTED`
    leaves out: (2, "reoffending: reoffences per reoffender") for a measure no page lists; (0, '') when there are none
    (the demo) or no register."""
    if register is None or register.empty:
        return 0, ""
    counted = register[pd.to_numeric(register["p_value"], errors="coerce").notna()]
    left = counted[pd.Series([LISTED.get(f, ()) is not None and o not in LISTED.get(f, ())
                              for f, o in zip(counted["outcome_family"], counted["outcome"])], index=counted.index,
                             dtype=bool)]  # a mask even with no row (a list of none would select no column)
    kinds = "; ".join(f"{f}: " + ", ".join(str(o).replace("_", " ")
                                           for o in dict.fromkeys(left.loc[left["outcome_family"] == f, "outcome"]))
                      for f in dict.fromkeys(left["outcome_family"]))
    return len(left), kinds


def unlisted_sentence(register: pd.DataFrame | None) -> str:
    """" The run's other 2 comparisons (reoffending: ...) are on no page: marts.effect_register holds them." for the
    results section's summary, where an evaluator looks for them; '' when every comparison is listed."""
    count, kinds = unlisted(register)
    return (f" The run's other {plural(count, 'comparison')} ({kinds}) {'is' if count == 1 else 'are'} on no page: "
            f"marts.effect_register holds {'it' if count == 1 else 'them'}." if count else "")


def compared(says: pd.DataFrame) -> pd.DataFrame:
    """The rows of "What you can and cannot say" that are matched or modelled results: all but the SROI ratio's."""
    return says[~says["verdict"].astype(str).str.endswith("per £1")]


def results_summary(says: pd.DataFrame) -> str:
    """The results section's opening words, counting its rows as this page's first line does: "44 results, each with
    what it supports and what it does not: 43 matched or modelled and the social return on investment." (it said "44
    results" under a first line of "43 matched or modelled results" that links to it)."""
    results = len(compared(says))
    others = len(says) - results
    split = (f": {results} matched or modelled and the social return on investment" if others == 1 else
             f": {results} matched or modelled and {others} social return ratios" if others else "")
    return f"{plural(len(says), 'result')}, each with what it supports and what it does not{split}."


def results_line(says: pd.DataFrame, comparisons: int | None, register: pd.DataFrame | None = None) -> str:
    """"43 matched or modelled results: 0 significant, 29 inconclusive, 10 not published, 4 not estimable. 3 primary
    outcomes and 31 exploratory results, judged over the run's 45 comparisons (Holm)." (the Cox
    models have no role; ``register`` gives the comparisons no page shows, :func:`unlisted`)."""
    verdict = says["verdict"].astype(str)
    results = compared(says)
    kind = verdict[results.index].where(verdict[results.index].isin(NOT_SIGNIFICANT), "significant")
    counts = {v: int((kind == v).sum()) for v in ("significant", *NOT_SIGNIFICANT)}
    role = says.loc[results.index, "analysis role"].astype(str)
    primary, exploratory = int(role.str.startswith("Primary").sum()), int(role.str.startswith("Exploratory").sum())
    hidden = unlisted(register)[0]  # said in a few words: the four lines fit a phone's first screen
    run = (f", judged over the run's {plural(comparisons, 'comparison')} (Holm"
           + (f"; {hidden} of them on no page" if hidden else "") + ")") if comparisons else ""
    roles = (f" {plural(primary, 'primary outcome')} and {plural(exploratory, 'exploratory result')}{run}."
             if primary or exploratory else " Analysis roles not available (marts.effect_register was not built).")
    return (f"{_link(RESULTS, plural(len(results), 'matched or modelled result'))}: "
            + ", ".join(f"{n} {v}" for v, n in counts.items()) + "." + html.escape(roles))


def balance_line(table: pd.DataFrame, rule: DisclosureRule) -> str:
    """"Balance after matching: 0 of 11 comparisons reached |SMD| ≤ 0.1 on every covariate (1 withheld)"."""
    balanced = table["balanced"].astype(str)
    withheld = int((balanced == SUPPRESSED).sum())
    shown = len(table) - withheld
    yes = int(balanced.str.startswith("yes").sum())
    return (f"{_link(BALANCE, 'Balance after matching')}: {yes} of {plural(shown, 'published comparison')} reached a "
            f"largest |SMD| of 0.1 or less on every covariate{html.escape(_withheld(withheld, rule))}"
            + ("; where it did not, a difference may partly reflect who took part." if yes < shown else "."))


def support_line(table: pd.DataFrame, rule: DisclosureRule) -> str:
    """"Common support: 7 of 12 published comparisons keep every participant; 5 leave 1 to 7 participants outside it (2
    withheld: 1 to 7 people)" (:func:`dashboards.diagnostics_sections.support_words`, as its section says it)."""
    return f"{_link(SUPPORT_TITLE, 'Common support')}: {html.escape(support_words(table, rule))}."


def pretrend_line(table: pd.DataFrame, rule: DisclosureRule) -> str:
    """"Pre-trend check: 1 of 1 before/after result passed"."""
    check = table["check"].astype(str)
    run = check.isin(("passed", "failed"))
    return (f"{_link(PRETREND, 'Pre-trend check')}: {int((check == 'passed').sum())} of "
            f"{plural(int(run.sum()), 'before/after result')} passed{html.escape(_withheld(int((check == SUPPRESSED).sum()), rule))}.")


LINES = ((RESULTS, None), (BALANCE, balance_line), (SUPPORT_TITLE, support_line), (PRETREND, pretrend_line))


def section(sections: list[Section], comparisons: int | None, register: pd.DataFrame | None,
            rule: DisclosureRule) -> Section:
    """The first section: one line per table below that the run published (``comparisons``: the run's, from the effect
    rows' marks, :func:`dashboards.multiplicity.role`; ``register``: ``marts.effect_register``, None when not built;
    ``rule``: the run's disclosure rule, whose withheld counts the lines name)."""
    tables = {s.title: s.table for s in sections if s.table is not None and not s.table.empty}
    lines = [results_line(tables[title], comparisons, register) if make is None else make(tables[title], rule)
             for title, make in LINES if title in tables]
    body = ("<ol class='verdicts' id='glance'>" + "".join(f"<li>{line}</li>" for line in lines) + "</ol>") if lines else \
        "<p class='empty'>No result, balance or support table in this run.</p>"
    return Section(TITLE, "How far the results can be trusted, from the tables below.", html=body)
