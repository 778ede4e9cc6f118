"""Commissioner sections on well-being: Star charts of first against latest reading, and the change table.

Source: ``marts.wellbeing_change`` (distance travelled: latest minus baseline reading per
instrument and area, people with paired readings). A mean over 1 to the threshold people is
not published (HES rule for means), so such an area is left off its Star. Instruments with
fewer than three areas (WEMWBS, SWEMWBS: one total) have no Star; they are in the table.
"""

from __future__ import annotations

import pandas as pd

from dashboards import charts
from models.disclosure import DisclosureRule
from dashboards.filters import ALL, Filter, Item, variants
from dashboards.marts import unavailable
from dashboards.labels import ROUNDING_NOTE, plural, title
from dashboards.page import Section
from models.wellbeing.scales import registry

NOT_AREAS = ("at_least_one_area", "total")


def _areas(change: pd.DataFrame) -> pd.DataFrame:
    return change[~change["area"].isin(NOT_AREAS)]


def distance_sections(change: pd.DataFrame | None, rule: DisclosureRule, filters: list[Filter]) -> list[Section]:
    if change is None or change.empty:
        return [unavailable("Distance travelled per Star area", {"marts.wellbeing_change": change})]
    rows = _areas(change)
    versions = [v for v, g in rows.groupby("star_version") if g["area"].nunique() >= 3]
    return [_distance(rows[rows["star_version"] == v], v, rule, filters) for v in sorted(versions)]


def _distance(rows: pd.DataFrame, version: str, rule: DisclosureRule, filters: list[Filter]) -> Section:
    """Mean first and latest reading per area on the instrument's own scale (Outcomes Star "average change per scale")."""
    scale = registry().get(version, {})
    low, high = scale.get("scale_min", 1), scale.get("scale_max", 10)
    name = title(version)
    heading = f"Distance travelled: {name}"

    # A mean's denominator is its group's exact size, so the charts of one time bank's years (or one year's time
    # banks) give back a lone withheld group as the whole minus the others: withhold a second one with it.
    years, banks = rows["period"].astype(str) != ALL, rows["timebank_id"] != ALL
    withheld = rule.withheld_cells(rows, "n_paired", [(years, ["timebank_id", "area"]), (banks, ["period", "area"])])

    def build(choice: dict[str, str]) -> Item:
        tb, year = choice["timebank"], choice["year"]
        picked = rows[(rows["timebank_id"] == tb) & (rows["period"].astype(str) == year)]
        total = len(picked)
        picked = picked[(picked["n_paired"] > 0) & ~withheld[picked.index]].sort_values("area")
        who = "everyone with readings" if tb == ALL else f"time bank {tb}"
        when = "all years" if year == ALL else "first reading in " + year
        if picked.empty:
            return Item(f"Too few people with two readings to show the {name} for {who} ({when}).", charts.no_data(heading))
        # two decimals, as the table: a mean at full precision names its group's exact size (3.909090 = 43/11)
        # the change the table publishes (mean of the paired changes), to the chart's two decimals
        frame = pd.DataFrame({"area": picked["area"].map(title), "first": picked["mean_baseline_paired"].round(2),
                              "latest": picked["mean_latest"].round(2), "change": picked["mean_change"].round(2)})
        gain = frame["change"].set_axis(frame["area"])
        rises = int((gain > 0).sum())
        best = (f"the largest gain is in {gain.idxmax()}" if rises else
                f"the smallest {'fall' if gain.max() < 0 else 'change'} is in {gain.idxmax()}")
        return Item(f"{name}, {who} ({when}): mean first and latest reading in {plural(len(frame), 'area')} on the "
                    f"{low}-{high} scale; the latest mean is higher in {plural(rises, 'area') if rises else 'no area'}, "
                    f"{best} ({gain.max():+.2f} points). Smallest group about "
                    f"{rule.count(picked['n_paired'].min())} people; {plural(total - len(frame), 'area')} withheld for small "
                    "numbers.", charts.distance(frame, heading, low, high))

    return Section.filtered(heading, variants(filters, ("timebank", "year"), build), "Responds to: time bank, year.",
                            note=f"Drawn on the {name}'s whole {low}-{high} scale, so that a small change looks small; "
                                 "the figure after each area's name is its mean change. " + ROUNDING_NOTE)


def change_table_section(change: pd.DataFrame | None, rule: DisclosureRule) -> Section:
    heading = "Well-being change by instrument and area"
    rows = None if change is None else change[(change["timebank_id"] == ALL) & (change["period"].astype(str) == ALL)]
    if rows is None or rows.empty:
        return unavailable(heading, {"marts.wellbeing_change": rows})
    columns = ["star_version", "area", "n_paired", "mean_baseline_paired", "mean_latest", "mean_change", "ci_low", "ci_high",
               "wilcoxon_p", "n_improved", "pct_improved", "small_n"]
    means = {c: "n_paired" for c in ("mean_baseline_paired", "mean_latest", "mean_change", "ci_low", "ci_high")}
    # the signed-rank test ranks the improvements: with the mean and interval it pinned a suppressed n improved
    means["wilcoxon_p"] = ("n_paired", "n_improved")
    means["n_improved"] = "n_paired"  # "0 improved" of a suppressed group says none of its 1-7 did
    table = rule.table(rows[columns].round(3), ["n_paired", "n_improved"], means,
                       {"pct_improved": ("n_improved", "n_paired", 100.0, True)}, name="wellbeing change")
    table["pct_improved"] = [v if not isinstance(v, float) else round(v, 1) for v in table["pct_improved"]]
    table["star_version"], table["area"] = table["star_version"].map(title), table["area"].map(title)
    return Section(heading, f"{len(rows)} instrument and area rows for everyone with readings, all years: mean change "
                          "between the first and latest reading with its 95% interval and the Wilcoxon p-value.",
                   table=table, csv_name="commissioner-wellbeing-change.csv", responds="Not filtered.",
                   note=f"Means over 1 to {rule.suppress_max} people are shown as *; % improved is the published "
                        "n improved over the published n paired. Small n: fewer than 30 people "
                        "with two readings (Warwick guidance). " + ROUNDING_NOTE)
