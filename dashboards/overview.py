"""The index page: what the run found in three lines, then where to look.

Line 1: the verdict of every outcome (the commissioner page's first screen,
:mod:`dashboards.verdicts`); line 2: activity and money (``marts.timebank_activity``,
``marts.grant_metrics``): the hours of the published quarters, as the commissioner page, and when
some are withheld, every hour exchanged (the ``overall`` rows, as the evaluator's impact map); line 3: what arrived and what was set aside (``meta.runs``). The run
id, code version and hashes are on the evaluator page, not here.
"""

from __future__ import annotations

import html

import duckdb

from dashboards import commissioner, headlines, verdicts
from dashboards.filters import ALL
from dashboards.labels import money, plural
from dashboards.marts import demo_run, read_marts
from dashboards.page import SITE, Page, Section
from dashboards.windows import read_windows
from models.disclosure import DisclosureRule

#: Everything the overview reads: the commissioner's marts (its verdicts) and the grants.
MARTS = (*commissioner.MARTS, "grant_metrics")

WHERE = (("commissioner.html", "Commissioners", "one verdict per outcome against a matched comparison, headline figures, "
          "funnel plots, trends, distance travelled per Star area; filter by time bank, area and year"),
         ("funder.html", "Funders", "your grants at a glance: hours of exchange while they ran, two-way participation, your reciprocity pot and "
          "its split; then every grant's metrics"),
         ("evaluator.html", "Evaluators", "provenance (run, code version, input hashes), what you can and cannot say, "
          "balance, overlap, survival, Cox and mixed models, the SROI impact map and tornado"),
         ("data-quality.html", "Data quality", "rows read, staged and quarantined per source, and why rows were set aside"))


def _thousands(count: int | str | None) -> str:
    """A published count with its thousands separated ('1,515'); '*' as it is."""
    return f"{count:,}" if isinstance(count, int) else str(count)


def found(con: duckdb.DuckDBPyConnection, run_id: str, rule: DisclosureRule) -> list[str]:
    m = read_marts(con, MARTS, rule)
    said = verdicts.rows(m, rule, read_windows(con))
    # the social return's verdict ("below £1") with its ratio, which is what it judges
    line1 = "Outcomes: " + "; ".join(f"{r['outcome'].split(':')[0].lower()} {r['verdict']}"
                                      + (f" ({r['participants_value']} per £1)" if str(r["unit"]).startswith("£")
                                         and r["participants_value"] is not None else "")
                                      for r in said.to_dict("records") if r["verdict"]) + "."
    ta = m["timebank_activity"]
    split = headlines.quarters(ta, rule)
    hours = headlines.hours_exchanged(ta, rule, ALL, ALL, split)
    every = 0.0 if ta is None else ta.loc[ta["period_type"] == "overall", "hours_exchanged"].sum()
    # the impact map values every hour; say why this total is smaller (the bank totals already cover the difference)
    why = "" if split[1].empty else (f" in the published quarters ({every:,.0f} in all: "
                                     f"{plural(len(split[1]), 'time-bank quarter')} withheld for small numbers)")
    active = headlines.active_members(m["timebank_activity"], rule, ALL, ALL)
    grants = m["grant_metrics"]
    money_line = "" if grants is None or grants.empty else (
        f"; {plural(len(grants), 'grant')} worth {money(grants['amount'].sum())} from "
        f"{plural(grants['funder'].nunique(), 'funder')}")
    line2 = f"Activity: {hours.value.replace(' h', ' hours')} exchanged{why}, about {active.value} active member accounts{money_line}."
    row = con.execute("SELECT files, rows_read, rows_quarantined, as_of FROM meta.runs WHERE run_id = ?", [run_id]).fetchone()
    read_rows = rule.count(row[1]) if row is not None else None
    line3 = "" if row is None else (f"Data: {plural(row[0], 'input file')}, about {plural(read_rows, 'row')} read, "
                                    f"{_thousands(rule.count(row[2]))} set aside for breaking a rule; data as of {row[3]}.")
    return [line1, line2, line3]


def build_page(con: duckdb.DuckDBPyConnection, run_id: str, rule: DisclosureRule) -> Page:
    demo = demo_run(con)
    exists = con.execute("SELECT count(*) FROM meta.runs WHERE run_id = ?", [run_id]).fetchone()[0]
    if not exists:
        return Page("index.html", SITE, "No run has been recorded in this warehouse yet.", demo=demo)
    lines = found(con, run_id, rule)
    where = "".join(f"<li><a href='{f}'>{html.escape(t)}</a>: {html.escape(d)}</li>" for f, t, d in WHERE)
    return Page(
        "index.html", SITE, "What time banks and co-produced services achieved in this run.",
        [Section("What this run found", "Three lines: what the outcomes show, what the time banks did, what data arrived.",
                 html="<ol class='verdicts' id='found'>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines if x) + "</ol>"),
         Section("Where to look", "Four pages, one for each reader.", html=f"<ul>{where}</ul>")],
        demo=demo,
    )
