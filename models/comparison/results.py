"""The results object handed back by :func:`estimate_effect`.

Modelled on statsmodels' results classes: the numbers as attributes, plus
``conf_int()`` and ``summary()``; ``to_record()`` flattens the headline into a
dict of scalars for a results mart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .counts import SampleCounts
from .effects import Measure


@dataclass(repr=False)
class ComparisonResults(SampleCounts):
    """Outcome of one comparison of participants with a matched or weighted comparison group.

    Headline (the first row of ``effects``)
    ---------------------------------------
    measure : str
        Name of the headline measure: ``risk_difference`` (binary),
        ``mean_difference`` (count without exposure, continuous),
        ``rate_difference`` (count with exposure), ``hazard_ratio``
        (time to event).
    estimate, ci_low, ci_high, p_value, se : float
        Headline estimate, 95% interval, two-sided p-value, standard error
        (log scale for ratios).
    df : float
        Degrees of freedom of the t distribution behind the interval and p-value: G - 1 for G
        clusters of the cluster-robust variance (the smaller G of two-way clustering; see
        :mod:`.effects`).
    null_value : float
        0 for differences, 1 for ratios.
    verdict : str
        "significant reduction", "significant increase" or "inconclusive".
    jdl_statement, verdict_statement : str
        Justice Data Lab style sentences.
    effects : DataFrame
        Every measure for the outcome type, indexed by measure, with
        ``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``se``, ``scale``, ``df``.
    unadjusted_effects : DataFrame
        The same measures comparing all participants with all comparison
        people analysed, before matching or weighting (the naive comparison;
        person-level robust SEs); None when :func:`~models.comparison.engine.estimate`
        was told ``unadjusted=False``.
    treated_value, comparison_value : float
        Weighted group outcome values in the matched/weighted sample: share
        with the outcome (binary; time to event: share with the event during
        follow-up), mean count or rate, mean score.

    Counts
    ------
    n_input : rows passed in.
    n_dropped_missing : rows excluded for a missing treatment, outcome, event
        or exposure value (0 when none; covariates are imputed, not dropped).
    n_treated, n_control : participants and comparison people analysed.
    n_dropped_support : participants outside common support (their logit
        score outside the comparison group's range, within their exact
        stratum) or in an exact stratum with no comparison people.
    n_control_dropped_support : comparison people removed because they have
        a covariate level no participant has (see :mod:`.support`), or are in
        an exact stratum with no participants.
    n_dropped_caliper : participants with no comparison person within the
        caliper (matching only).
    n_matched : participants kept (matched, or weighted after trimming).
    n_control_matched : distinct comparison people used (matching) or with a
        positive weight (IPW).
    ess_control : Kish effective sample size of the comparison group weights.

    Diagnostics
    -----------
    balance : DataFrame (see :func:`.balance.balance_table`).
    overlap : dict with ``treated`` / ``comparison`` summaries of the logit
        score (min, q25, median, q75, max), ``share_treated_in_support``,
        ``n_treated_outside_support``, ``pooled_sd_logit``, ``caliper_width``.
    missing_imputed : dict covariate -> values filled by the missing rule.
    warnings : list of str.
    propensity_params : Series of propensity-model coefficients.

    Reuse
    -----
    matched_data : DataFrame of the analysed rows (the input's columns, its
        index kept) plus ``_row`` (position in the input), ``_treated`` (0/1),
        ``_pscore``, ``_logit``, ``_weight``, ``_pair`` (matched-set id; -1
        under IPW) and ``_stratum`` (exact-match stratum code, 0 if none).
        With replacement a reused control appears once per set it is in,
        with weight 1/k for that set.
    propensity_scores : DataFrame, one row per person in the propensity model
        (everyone left after the exact-stratum and level-support rules,
        before score support and matching or weighting): ``_row`` (position
        in the input), ``_treated`` (0/1), ``_pscore``, ``_logit`` and
        ``_in_support`` (False for participants outside the comparison
        group's score range). Person level: for diagnostics
        (:mod:`.diagnostics` publishes only binned counts), never published.
    described : the balance and overlap rows of :mod:`.diagnostics` (without the result's label), once
        :func:`.diagnostics.release_rows` has computed them and dropped ``matched_data`` and
        ``propensity_scores`` (None: not yet).
    settings : dict of the arguments used (for run records).

    Estimand
    --------
    estimand : "ATT" when at least 95% of the participants analysed are kept
        (``models.comparison.sample.ATT_SHARE``), else "effect on the matched
        participants" (and a warning).
    share_participants_matched : n_matched / n_treated.
    params, bse, pvalues : statsmodels-style Series over the measures.
    """

    outcome_type: str
    method: str
    treatment: str
    outcome: str
    covariates: list
    measure: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    null_value: float
    verdict: str
    jdl_statement: str
    verdict_statement: str
    effects: pd.DataFrame
    unadjusted_effects: pd.DataFrame | None
    treated_value: float
    comparison_value: float
    balance: pd.DataFrame
    overlap: dict
    missing_imputed: dict
    warnings: list
    propensity_params: pd.Series
    matched_data: pd.DataFrame | None
    propensity_scores: pd.DataFrame | None = None
    described: tuple[pd.DataFrame, pd.DataFrame] | None = None
    settings: dict = field(default_factory=dict)
    _measures: list = field(default_factory=list)
    estimand: str = "ATT"
    share_participants_matched: float = float("nan")
    df: float = float("inf")

    @property
    def params(self) -> pd.Series:
        """Every measure's estimate, indexed by measure (headline first), as statsmodels' ``params``.

        Differences as they are; ratios as ratios (``bse`` is then on the log scale).
        """
        return self.effects["estimate"].rename("params")

    @property
    def bse(self) -> pd.Series:
        """Standard errors, as statsmodels' ``bse``: of the difference, or of the log ratio."""
        return self.effects["se"].rename("bse")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided Wald p-values against the null (0 for differences, 1 for ratios)."""
        return self.effects["p_value"].rename("pvalues")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Intervals for every measure at level 1 - ``alpha``.

        Returns a DataFrame indexed by measure with columns ``lower`` and
        ``upper``; the first row is the headline measure.
        """
        rows = {m.name: m.interval(alpha) for m in self._measures}
        return pd.DataFrame.from_dict(rows, orient="index", columns=["lower", "upper"])

    def to_record(self) -> dict:
        """The headline and counts as a flat dict of scalars (one mart row)."""
        keys = [
            "outcome_type", "method", "treatment", "outcome", "measure", "estimate", "ci_low", "ci_high",
            "p_value", "se", "verdict", "jdl_statement", "treated_value", "comparison_value", "n_input",
            "n_dropped_missing", "n_treated", "n_control", "n_control_dropped_support", "n_dropped_support", "n_dropped_caliper",
            "n_matched", "n_control_matched", "ess_control", "estimand", "share_participants_matched",
        ]
        rec = {k: getattr(self, k) for k in keys}
        rec["n_balance_flags"] = int(self.balance["flag"].sum())
        rec["max_abs_smd_after"] = float(np.nanmax(np.abs(self.balance["smd_after"]))) if len(self.balance) else np.nan
        rec["warnings"] = " | ".join(self.warnings)
        return rec

    def summary(self) -> str:
        """A plain-text report: headline, all measures, counts, balance, warnings."""
        w = 78
        lines = ["=" * w, f"Comparison engine results (estimand: {self.estimand})".center(w), "=" * w]
        info = [
            ("Outcome", f"{self.outcome} ({self.outcome_type})"),
            ("Treatment", self.treatment),
            ("Estimand", "ATT (effect on the participants)" if self.estimand == "ATT" else
             f"{self.estimand} ({100 * self.share_participants_matched:.0f}% of participants)"),
            ("Method", self._design_name()),
            ("Participants analysed", self.n_treated),
            ("  dropped: missing values", self.n_dropped_missing),
            ("  dropped: outside support", self.n_dropped_support),
            ("  dropped: no match in caliper", self.n_dropped_caliper),
            ("  kept (n_matched)", self.n_matched),
            ("Comparison people available", self.n_control),
            ("  removed: level no participant has", self.n_control_dropped_support),
            ("Comparison people used", self.n_control_matched),
            ("Comparison effective n", f"{self.ess_control:.1f}"),
        ]
        lines += [f"{k:<32}{v}" for k, v in info]
        lines.append("-" * w)
        lines.append(f"{'measure':<20}{'estimate':>12}{'95% CI low':>12}{'95% CI high':>12}{'p-value':>10}")
        for name, row in self.effects.iterrows():
            lines.append(
                f"{name:<20}{row.estimate:>12.4f}{row.ci_low:>12.4f}{row.ci_high:>12.4f}{row.p_value:>10.4f}"
            )
        lines.append("-" * w)
        lines.append(f"Treated value {self.treated_value:.4f}; comparison value {self.comparison_value:.4f}")
        lines.append(self.jdl_statement)
        lines.append(self.verdict_statement)
        lines.append("-" * w)
        lines.append(f"{'covariate':<28}{'SMD before':>11}{'SMD after':>11}{'VR before':>11}{'VR after':>11}  flag")
        for _, r in self.balance.iterrows():
            lines.append(
                f"{str(r.covariate)[:27]:<28}{r.smd_before:>11.3f}{r.smd_after:>11.3f}"
                f"{r.vr_before:>11.2f}{r.vr_after:>11.2f}  {'*' if r.flag else ''}"
            )
        ov = self.overlap
        lines.append("-" * w)
        lines.append(
            f"Logit score: participants {ov['treated']['min']:.2f} to {ov['treated']['max']:.2f}; "
            f"comparison {ov['comparison']['min']:.2f} to {ov['comparison']['max']:.2f}; "
            f"{100 * ov['share_treated_in_support']:.1f}% of participants in common support"
        )
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  - {x}" for x in self.warnings]
        lines.append("=" * w)
        return "\n".join(lines)

    def _design_name(self) -> str:
        if self.method == "ipw":
            return "comparison group weighted by ATT inverse-probability weights"
        s = self.settings
        rep = "with" if s.get("replace") else "without"
        cal = s.get("caliper")
        cal_txt = f", caliper {cal} SD of logit" if cal is not None else ", no caliper"
        ex = f", exact on {s.get('exact')}" if s.get("exact") else ""
        return f"1:{s.get('ratio', 1)} nearest-neighbour matched comparison group ({rep} replacement{cal_txt}{ex})"

    def __repr__(self) -> str:
        return (
            f"<ComparisonResults {self.outcome_type} {self.method}: {self.measure}={self.estimate:.4g} "
            f"[{self.ci_low:.4g}, {self.ci_high:.4g}], p={self.p_value:.3g}, n_matched={self.n_matched}, "
            f"{self.verdict}>"
        )

    __str__ = summary


def effects_frame(measures: list[Measure]) -> pd.DataFrame:
    """DataFrame of measures: estimate, ci_low, ci_high, p_value, se, scale, df (of the t critical value)."""
    rows = []
    for m in measures:
        lo, hi = m.interval()
        rows.append(
            {"measure": m.name, "estimate": m.estimate, "ci_low": lo, "ci_high": hi, "p_value": m.p_value,
             "se": m.se, "scale": m.scale, "df": m.df}
        )
    return pd.DataFrame(rows).set_index("measure")
