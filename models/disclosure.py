"""Statistical disclosure control: the one step every published table and figure goes through.

Rule (default, configurable in the ``disclosure`` settings): the NHS Digital HES rule for
sub-national figures (since September 2018): a count of 1-7 is suppressed (``*``), other
counts are rounded to the nearest 5, 0 stays 0. Source: NHS Digital, "Hospital Episode
Statistics (HES) Analysis Guide", small-number suppression; /shared/reference/methods.md §4.

On top of the primary rule, so that an attacker cannot undo it (ONS / ACRO output checking):

* **derived figures come from the published counts** (OpenSAFELY ehrQL computes ratios after
  redaction and rounding): a percentage is published k / published n, a cost per member is
  the amount over the published member count; either is ``*`` when a count it rests on is
  suppressed. So amount ÷ cost gives back only the rounded count;
* **statistics on a suppressed group are suppressed with it** (a mean, an index, a model
  estimate, a verdict): ``rates`` name the counts they rest on; a share of a group (a matched
  group's readmission or reoffending rate) rests on both of its cells, the people with the
  outcome and those without, in both groups (:meth:`DisclosureRule.hides_shares`);
* **secondary suppression**: within a group of rows whose total is published elsewhere (a
  time bank's quarters, a quarter's time banks, a filter's options), a lone suppressed cell
  takes the next smallest cell with it, so total minus the others gives two cells, not one;
* **a whole less its parts**: comparisons nest (readmission after any participation is the
  time-bank comparison and the programme comparison together), so the whole's participants
  with the outcome, less its published parts', give back a withheld part's; a part is
  withheld too while that difference is a count of 1..suppress_max
  (:meth:`DisclosureRule.subtraction_withheld`);
* **entities withheld everywhere**: a key (a grant, a time bank) whose statistic is
  suppressed in one table is suppressed in every other table that shows that statistic
  (:class:`Withheld`);
* **counts inside text** ("not fitted: 18 people") are published through the rule too;
* **a survival curve steps only on rounded counts**: each step of a Kaplan-Meier curve is a
  count of events on one day (one step of 1/8 is one person's reoffence on that day), so the
  published curve is recomputed from cumulative counts rounded to steps of at least
  ``suppress_max + 1`` (:meth:`DisclosureRule.survival_curve`).

Every call of :meth:`DisclosureRule.table` returns the published frame with a checking
record in ``frame.attrs["disclosure"]`` (what was rounded, suppressed and why). The page
writer refuses a table without one, and writes the records of a page as its output-checking
report (``disclosure-<page>.json``), in the spirit of the ACRO/SACRO checking report.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SUPPRESSED = "*"
#: A whole number followed by a word that counts people or events, inside free text.
COUNT_IN_TEXT = re.compile(
    r"\b(\d[\d,]*)(\s+(?:comparison\s+|matched\s+|treated\s+)?(?:people|persons?|participants?|members?|discharges?|"
    r"reoffenders?|readings?|individuals?|accounts?))\b")


@dataclass
class Withheld:
    """Keys whose statistic is suppressed in some published table: suppress it in every other one.

    ``keys[statistic]`` is a set of key tuples, e.g. ``keys["reciprocity_index"] = {("G007",)}``.
    """

    keys: dict[str, set] = field(default_factory=dict)

    def add(self, statistic: str, frame: pd.DataFrame, key: list[str], rows: pd.Series | None = None) -> None:
        """Withhold ``statistic`` for the keys of ``frame``'s ``rows`` (default: the rows where it is ``*``)."""
        if rows is None:
            if statistic not in frame.columns:
                return
            rows = frame[statistic].astype(object) == SUPPRESSED
        hidden = frame[rows.astype(bool)]
        self.keys.setdefault(statistic, set()).update(tuple(r) for r in hidden[key].astype(str).itertuples(index=False))

    def rows(self, frame: pd.DataFrame, statistic: str, key: list[str]) -> pd.Series:
        """True for the rows of ``frame`` whose key is withheld for ``statistic``."""
        return pd.Series([tuple(r) in self.keys.get(statistic, set()) for r in frame[key].astype(str).itertuples(index=False)],
                         index=frame.index, dtype=bool)

    def apply(self, frame: pd.DataFrame, statistic: str, key: list[str], also: tuple[str, ...] = ()) -> pd.DataFrame:
        """``*`` in ``statistic`` (and the ``also`` columns derived from it) for every withheld key."""
        out = frame.copy()
        mask = self.rows(out, statistic, key)
        for column in (statistic, *also):
            if column in out.columns:
                out[column] = out[column].astype(object).where(~mask, SUPPRESSED)
        return out


@dataclass(frozen=True)
class DisclosureRule:
    suppress_max: int = 7
    round_to: int = 5

    def count(self, value: float | None) -> int | str | None:
        """A count as it may be published: ``*`` for 1..suppress_max, else rounded to ``round_to``."""
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        if value == SUPPRESSED:
            return SUPPRESSED
        value = int(round(float(value)))
        if value == 0:
            return 0
        if 0 < value <= self.suppress_max:
            return SUPPRESSED
        return int(self.round_to * math.floor(value / self.round_to + 0.5))

    def hides(self, value: float | None) -> bool:
        """True when ``value`` is a count that would be published as ``*``."""
        return self.count(value) == SUPPRESSED

    def hides_shares(self, n: float | None, *shares: float | None) -> bool:
        """True when a share of a group of ``n`` cannot be published: ``n``, or for any of ``shares`` the people with
        the outcome (share × ``n``) or without it, is a count of 1..suppress_max.

        A share of a group is a two-cell table (with the outcome, without it), each cell a count through the rule;
        a share at full precision beside a rounded ``n`` gives both cells back (12.5% of "n ≈ 10" is 1 of 8). A
        matched comparison publishes two shares on the same ``n`` (the participants' rate, and the comparison's,
        whose weights add up to the participants' number: with 1:1 matching each is a count of people), and its
        difference gives one from the other; so every statistic resting on them (the rates, their difference, the
        verdict) is suppressed with either. A weighted share's cells are its nearest whole counts.
        """
        if self.hides(n):
            return True
        if n is None or pd.isna(n):
            return False
        for share in shares:
            if share is None or pd.isna(share):
                continue
            events = round(float(share) * float(n))
            if self.hides(events) or self.hides(round(float(n)) - events):
                return True
        return False

    def published(self, value: float | None) -> float | None:
        """The published count as a number (None when suppressed or missing): the only base for derived figures."""
        shown = self.count(value)
        return None if shown is None or shown == SUPPRESSED else float(shown)

    def ratio(self, numerator: float | None, denominator: float | None, scale: float = 1.0,
              numerator_is_count: bool = True) -> float | str | None:
        """``scale`` × published numerator ÷ published denominator; ``*`` when either is suppressed.

        ``numerator_is_count=False`` for money or hours (not counts of people): used as it is.
        """
        den = self.published(denominator)
        if self.hides(denominator) or (numerator_is_count and self.hides(numerator)):
            return SUPPRESSED
        num = self.published(numerator) if numerator_is_count else (
            None if numerator is None or pd.isna(numerator) else float(numerator))
        if num is None or den is None or den == 0:
            return None
        return scale * num / den

    def survival_curve(self, curve: pd.DataFrame) -> pd.DataFrame:
        """One Kaplan-Meier curve as it may be published: every step at least ``suppress_max + 1`` events.

        ``curve``: one group's rows by ``time_days`` with ``n_at_risk`` (just before that day) and
        ``n_events`` (on it), possibly weighted; those censored between two rows are the fall in the
        risk set that is not events. The method is OpenSAFELY's (opensafely-actions/kaplan-meier-function,
        ``analysis/km.R``: ``round_cmlcount``, method ``constant``): the cumulative events, the cumulative
        censored and the group's size are each rounded up to a multiple of ``m = suppress_max + 1`` and
        moved down by ``m // 2`` (0 stays 0), so a step holds ``m`` events (the first ``m - m // 2``) and
        never one person. The group's size is its published count (rounded to ``round_to``, as the
        tables show it; OpenSAFELY rounds it like the events). The risk set is that size less the rounded
        events and censored before, and the curve and its 95% interval (Greenwood, log-log) are
        recomputed from those counts. When ``curve`` carries its own interval (``survival``, ``ci_low``:
        the mart's, whose variance is clustered on the person, so that a comparison person reused by
        several matched sets counts once), Greenwood's variance on the rounded counts is multiplied by the
        exact curve's ratio of that variance to Greenwood's on the exact counts, day by day (the last ratio
        carried to days without one; 1 before the first): a published band as wide, relative to its
        counts, as the mart's. Rows are kept where the rounded curve steps, with the first and the
        last day, and only while the rounded risk set holds at least ``2 m``: below it a rounded step of ``m``
        events is most of the people left, and rounding, not the data, sets the curve (in simulated groups of
        40-120 it fell to 0 where the exact curve ended above 0.1). A step moves the curve by about ``m`` / the
        risk set: draw it only for groups large enough.
        """
        m = self.suppress_max + 1
        rows = curve.sort_values("time_days").reset_index(drop=True)
        at_risk, events = rows["n_at_risk"].to_numpy(float), rows["n_events"].to_numpy(float)
        censored = at_risk - events - np.append(at_risk[1:], 0.0)

        def mid(x: np.ndarray) -> np.ndarray:
            return np.where(x > 1e-9, np.ceil(x / m - 1e-9) * m - m // 2, 0.0)

        cum_events, cum_left = mid(np.cumsum(events)), mid(np.cumsum(events)) + mid(np.cumsum(censored))
        risk = (self.published(at_risk[0]) or 0.0) - np.append(0.0, cum_left[:-1])
        steps = np.clip(np.diff(cum_events, prepend=0.0), 0.0, np.maximum(risk, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            survival = np.cumprod(np.where(risk > 0, 1 - steps / risk, 1.0))
            greenwood = np.cumsum(np.where((risk > 0) & (risk > steps), steps / (risk * (risk - steps)), 0.0))
            greenwood = greenwood * _variance_ratio(rows, at_risk, events)
            spread = 1.959963984540054 * np.sqrt(greenwood) / np.abs(np.log(survival))
            low, high = survival ** np.exp(spread), survival ** np.exp(-spread)
        low, high = np.where(survival >= 1, 1.0, low), np.where(survival >= 1, 1.0, high)
        out = rows.assign(n_at_risk=np.maximum(risk, 0.0), n_events=steps, survival=survival,
                          ci_low=np.where(survival > 0, low, 0.0), ci_high=np.where(survival > 0, high, 0.0))
        out = out[risk >= 2 * m] if risk[0] >= 2 * m else out.iloc[:0]
        keep = (out["n_events"] > 0) | (out.index == 0) | (out.index == len(out) - 1)
        return out[keep].reset_index(drop=True)

    def text(self, value: object) -> object:
        """Free text with every count of people in it published through the rule."""
        if not isinstance(value, str):
            return value
        return COUNT_IN_TEXT.sub(lambda m: f"{self.count(int(m.group(1).replace(',', '')))}{m.group(2)}", value)

    def secondary(self, frame: pd.DataFrame, count: str, *groupings: list[str]) -> pd.Series:
        """Rows to suppress as well: until no group of any of ``groupings`` (rows sharing those columns, whose total is
        published) holds exactly one suppressed ``count``, its row with the next smallest non-zero count (ONS/tau-ARGUS
        style; :meth:`withheld_cells` over every row, less the primary cells). The groupings are tried in order, so
        the first decides which partner a lone cell takes."""
        everything = pd.Series(True, index=frame.index)
        return (self.withheld_cells(frame, count, [(everything, list(g)) for g in groupings])
                & ~frame[count].map(self.hides).astype(bool))

    def withheld_cells(self, frame: pd.DataFrame, count: str, groupings: list[tuple[pd.Series, list[str]]],
                       primary: pd.Series | None = None) -> pd.Series:
        """Cells to withhold: ``count`` of 1..suppress_max, and, until none is left alone, the next smallest non-empty
        cell of each group holding exactly one withheld cell (secondary suppression, repeated across groupings).

        ``groupings``: (rows that are parts, columns that group them), each group's parts adding up to a published
        whole (a time bank's years; a year's time banks). ``primary``: the cells withheld in the first place, when
        ``count`` is not itself a count of people but a figure withheld with one (a grant's allocation, withheld with
        its 1-7 active members; the funder's allocations add up to its pot). The second cell is always a non-empty
        one (> 0)."""
        hidden = (frame[count].map(self.hides) if primary is None else primary.reindex(frame.index, fill_value=False))
        hidden = hidden.astype(bool).copy()
        changed = True
        while changed:
            changed = False
            for parts, groups in groupings:
                for _, rows in frame[parts].groupby(groups, sort=False, dropna=False):
                    alone = hidden[rows.index]
                    others = rows[~alone & (rows[count].fillna(0) > 0)]
                    if alone.sum() == 1 and not others.empty:
                        hidden[others[count].astype(float).idxmin()] = changed = True
        return hidden

    def table(self, frame: pd.DataFrame, counts: list[str], rates: dict[str, str | tuple[str, ...]] | None = None,
              ratios: dict[str, tuple[str, str, float, bool]] | None = None, texts: list[str] | None = None,
              secondary: list[list[str]] | None = None, name: str = "") -> pd.DataFrame:
        """The table as it may be published, with its checking record in ``attrs["disclosure"]``.

        * ``counts``: counts of people or events, through the rule;
        * ``rates[column]``: the count(s) a statistic rests on; ``*`` when any is suppressed (a count may rest on
          another: the events of a group, whose "0" beside a suppressed group says none of its 1-7 had them);
        * ``ratios[column] = (numerator, denominator, scale, numerator_is_count)``: recomputed
          from the published counts (:meth:`ratio`);
        * ``texts``: free-text columns whose counts of people are published through the rule;
        * ``secondary``: the groupings (lists of columns) of rows whose total is published (:meth:`secondary`; the
          first count column decides the secondary cell); the whole row's counts and figures are suppressed.
        """
        out = frame.copy()
        rates, ratios, texts = rates or {}, ratios or {}, texts or []
        primary = pd.Series(False, index=out.index)
        for column in counts:
            primary |= out[column].map(self.hides).astype(bool)
        extra = self.secondary(out, counts[0], *secondary) if secondary and counts else pd.Series(False, index=out.index)
        derived_hidden = 0
        withheld = {column: extra for column in counts}
        for column, bases in rates.items():
            bases = (bases,) if isinstance(bases, str) else bases
            hidden = extra.copy()
            for base in bases:
                hidden |= out[base].map(self.hides).astype(bool)
            derived_hidden += int(hidden.sum())
            out[column] = out[column].astype(object).where(~hidden, SUPPRESSED)
            if column in withheld:
                withheld[column] = hidden
        for column, (num, den, scale, is_count) in ratios.items():
            values = [SUPPRESSED if x else self.ratio(a, b, scale, is_count)
                      for a, b, x in zip(frame[num], frame[den], extra)]
            derived_hidden += sum(v == SUPPRESSED for v in values)
            out[column] = pd.Series(values, index=out.index, dtype=object)
        for column in counts:
            out[column] = [SUPPRESSED if x else self.count(v) for v, x in zip(frame[column], withheld[column])]
            out[column] = out[column].astype(object)
        for column in texts:
            out[column] = out[column].map(self.text).astype(object)
        out.attrs["disclosure"] = {
            "table": name, "rows": int(len(out)), "rule": f"HES: 1-{self.suppress_max} suppressed, others rounded to "
                                                          f"{self.round_to}",
            "count_columns": list(counts), "rows_with_a_suppressed_count": int(primary.sum()),
            "rows_suppressed_secondarily": int(extra.sum()), "derived_cells_suppressed": derived_hidden,
            "statistics_on_counts": {c: list((b,) if isinstance(b, str) else b) for c, b in rates.items()},
            "figures_recomputed_from_published_counts": {c: [n, d] for c, (n, d, _, _) in ratios.items()},
            "text_columns_scrubbed": list(texts), "secondary_groups": [list(g) for g in secondary or []],
        }
        return out

    def subtraction_withheld(self, hidden: pd.Series, whole: pd.Series, cells: pd.DataFrame, size: pd.Series) -> pd.Series:
        """One family of comparisons (a whole and its parts), with the parts withheld so that the whole's published cells
        less its published parts' never give a count of 1..suppress_max.

        ``hidden``: the rows already withheld (their figures are not published); ``whole``: the family's total row;
        ``cells``: per row, the counts its published figures give back (the matched participants with the outcome and
        without it: a share at full precision beside its rounded group pins both); ``size``: the order in which published
        parts are withheld, smallest first. While the whole is published, some part is withheld, and the whole's cells
        less the published parts' hold a count of 1..suppress_max (an attacker's subtraction: 23 readmitted after any
        participation, 16 after a programme, so 7 after the time bank), the smallest published part is withheld as well.
        Once every part is withheld the difference is the whole's own cells, publishable since the whole is. The parts'
        people may overlap (a person in two programmes), in which case the difference is not exactly a part's count; it
        is treated as one all the same.
        """
        hidden = hidden.astype(bool).copy()
        if int(whole.sum()) != 1 or hidden[whole.idxmax()]:
            return hidden
        top, parts = whole.idxmax(), ~whole.astype(bool)
        while (parts & hidden).any() and (published := parts & ~hidden).any():
            left = cells.loc[top] - cells[published].sum()
            if not any(self.hides(v) for v in left):
                break
            hidden[size[published].astype(float).idxmin()] = True
        return hidden

    def no_counts(self, frame: pd.DataFrame, reason: str, name: str = "") -> pd.DataFrame:
        """A table that holds no count of people (money, settings, model coefficients on published groups)."""
        out = frame.copy()
        out.attrs["disclosure"] = {"table": name, "rows": int(len(out)), "count_columns": [], "reason": reason}
        return out


def _variance_ratio(rows: pd.DataFrame, at_risk: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Per row of an exact Kaplan-Meier curve, the variance of log S its own log-log interval gives over Greenwood's on
    its counts (:meth:`DisclosureRule.survival_curve`); 1 where the curve carries no interval."""
    if not {"survival", "ci_low"} <= set(rows.columns):
        return np.ones(len(rows))
    s, low = rows["survival"].to_numpy(float), rows["ci_low"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(np.where(at_risk > events, events / (at_risk * (at_risk - events)), 0.0))
        own = (np.log(np.log(low) / np.log(s)) / 1.959963984540054 * np.log(s)) ** 2  # log-log: low = S^exp(z sd / |ln S|)
        ratio = own / greenwood
    known = (s > 0) & (s < 1) & (low > 0) & (low < s) & (greenwood > 0) & np.isfinite(ratio)
    return pd.Series(np.where(known, ratio, np.nan)).ffill().fillna(1.0).to_numpy()

