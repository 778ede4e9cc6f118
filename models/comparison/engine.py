"""``estimate_effect``: the one call every outcome model makes.

Steps (each documented in its own module):

1. check the arguments and columns (:class:`ComparisonError` on bad input);
2. exclude rows with a missing treatment, outcome, event or exposure value,
   counting them (``n_dropped_missing``) and warning;
3. form exact-match strata (missing values are their own ``(missing)``
   level); drop strata without both participants and comparison people
   (participants there count as ``n_dropped_support``);
4. code the covariates and apply the missing-value rule (:mod:`.design`);
5. level support: drop people whose covariate level occurs in only one group
   (:mod:`.support`, rule 1);
6. fit the logistic propensity model (:mod:`.propensity`);
7. score support: drop participants whose logit score is outside the
   comparison group's range in their stratum (:mod:`.support`, rule 2);
8. match (:mod:`.matching`) or weight (:mod:`.weighting`);
9. balance (:mod:`.balance`), effects (:mod:`.effects`), verdict and JDL
   statement (:mod:`.verdict`), warnings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .balance import balance_table
from .design import MISSING_LEVEL, build_design
from .effects import compute_effects
from .errors import ComparisonError
from .matching import ORDERS, match_nearest, pooled_sd
from .propensity import fit_propensity
from .results import ComparisonResults, effects_frame
from .support import level_support, score_support
from .verdict import jdl_statement, verdict, verdict_statement
from .weighting import att_weights, effective_sample_size

OUTCOME_TYPES = ("binary", "count", "continuous", "time_to_event")
METHODS = ("match", "ipw")
JDL_MINIMUM = 60
# below this many comparison people per participant, warn about greedy matching without replacement
# (docs/validation.md: at 2.6 per participant 1:1 matching left biased counts; at 5 it did not)
SCARCE_POOL = 3.0


def _as_list(x, what) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    out = list(x)
    if not all(isinstance(c, str) for c in out):
        raise ComparisonError(f"{what} must be column names (strings), got {out!r}")
    return out


def _binary01(s: pd.Series, name: str, role: str) -> np.ndarray:
    """Coerce a 0/1 or True/False column to 0/1 floats, or raise."""
    if pd.api.types.is_bool_dtype(s.dtype) or s.dtype == object:
        vals = s.map(lambda v: float(v) if isinstance(v, (bool, np.bool_, int, float, np.integer, np.floating)) else np.nan)
    else:
        vals = pd.to_numeric(s, errors="coerce")
    a = vals.to_numpy(dtype=float)
    bad = ~np.isin(a, (0.0, 1.0))
    if bad.any():
        examples = list(pd.unique(s[bad]))[:5]
        raise ComparisonError(f"{role} column {name!r} must hold only 0/1 or True/False; found {examples}")
    return a


def _summ(x: np.ndarray) -> dict:
    if len(x) == 0:
        return {k: float("nan") for k in ("min", "q25", "median", "q75", "max")}
    q = np.quantile(x, [0, 0.25, 0.5, 0.75, 1])
    return dict(zip(("min", "q25", "median", "q75", "max"), map(float, q)))


def estimate_effect(
    df: pd.DataFrame,
    treatment: str,
    outcome: str,
    covariates,
    outcome_type: str,
    method: str = "match",
    caliper: float | None = 0.2,
    ratio: int = 1,
    replace: bool = False,
    exact=None,
    seed: int = 0,
    *,
    event: str | None = None,
    exposure: str | None = None,
    categorical=None,
    common_support: bool = True,
    order: str = "descending",
    stabilize: bool = False,
    trim_quantile: float | None = None,
    outcome_label: str | None = None,
) -> ComparisonResults:
    """Estimate the effect of taking part on an outcome, against a comparison group.

    The estimand is the average effect on the participants (ATT): how their
    outcome compares with what similar non-participants experienced.

    Parameters
    ----------
    df : DataFrame
        One row per person.
    treatment : str
        0/1 (or boolean) column: 1 = participant.
    outcome : str
        Outcome column. For ``time_to_event`` the duration (time from index
        to event or censoring, > 0).
    covariates : list of str
        Columns for the propensity model: numeric, boolean or categorical
        (dummy-coded, first level dropped). Missing values follow the rule in
        :mod:`models.comparison.design` (never a silent drop).
    outcome_type : {"binary", "count", "continuous", "time_to_event"}
    method : {"match", "ipw"}
        Nearest-neighbour matching on the logit score, or ATT inverse
        probability weighting.
    caliper : float or None
        Caliper in SDs of the logit score (pooled SD), default 0.2 (Austin
        2011). ``None``: no caliper. Matching only.
    ratio : int
        Comparison people per participant (1:k). Matching only.
    replace : bool
        Match with replacement. Matching only.
    exact : list of str, optional
        Columns to match exactly on (strata). Under IPW the strata are added
        to the propensity model as a categorical covariate.
    seed : int
        Seeds tie-breaking and the "random" matching order.
    event : str
        ``time_to_event`` only, required: 0/1 column, 1 = event observed,
        0 = censored.
    exposure : str, optional
        ``count`` only: exposure (e.g. person-years at risk, > 0); the count
        is then compared as a rate per unit of exposure.
    categorical : list of str, optional
        Numeric covariates to treat as categorical (e.g. area codes).
    common_support : bool
        Drop participants whose logit score lies outside the comparison
        group's range (within their exact stratum). Default True.
    order : {"descending", "ascending", "random", "data"}
        Order in which participants pick controls when matching without
        replacement; default highest propensity first.
    stabilize : bool
        Stabilise ATT weights (IPW only; does not change estimates).
    trim_quantile : float, optional
        Truncate comparison ATT weights at this quantile (IPW only).
    outcome_label : str, optional
        Words for the JDL statement, e.g. "were readmitted" (binary) or
        "reoffences" (count).

    Returns
    -------
    ComparisonResults
    """
    # ------------------------------------------------------------ arguments
    if not isinstance(df, pd.DataFrame):
        raise ComparisonError("df must be a pandas DataFrame")
    if outcome_type not in OUTCOME_TYPES:
        raise ComparisonError(f"outcome_type must be one of {OUTCOME_TYPES}, not {outcome_type!r}")
    if method not in METHODS:
        raise ComparisonError(f"method must be one of {METHODS}, not {method!r}")
    if isinstance(ratio, bool) or int(ratio) != ratio or ratio < 1:
        raise ComparisonError(f"ratio must be a positive integer, not {ratio!r}")
    ratio = int(ratio)
    if caliper is not None and not (np.isfinite(caliper) and caliper > 0):
        raise ComparisonError(f"caliper must be a positive number of SDs or None, not {caliper!r}")
    if order not in ORDERS:
        raise ComparisonError(f"order must be one of {ORDERS}, not {order!r}")
    covariates = _as_list(covariates, "covariates")
    exact = _as_list(exact, "exact")
    categorical = _as_list(categorical, "categorical")
    if not covariates:
        raise ComparisonError("at least one covariate is needed for the propensity model")
    if len(set(covariates)) != len(covariates):
        raise ComparisonError(f"covariates listed twice: {covariates}")
    if outcome_type == "time_to_event" and event is None:
        raise ComparisonError("time_to_event needs event=<0/1 column, 1 = event observed>")
    if event is not None and outcome_type != "time_to_event":
        raise ComparisonError("event= is only used with outcome_type='time_to_event'")
    if exposure is not None and outcome_type != "count":
        raise ComparisonError("exposure= is only used with outcome_type='count'")
    needed = [treatment, outcome, *covariates, *exact] + [c for c in (event, exposure) if c]
    absent = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if absent:
        raise ComparisonError(f"columns not in the data: {absent}")
    for role, col in (("treatment", treatment), ("outcome", outcome), ("event", event), ("exposure", exposure)):
        if col is not None and col in covariates:
            raise ComparisonError(f"the {role} column {col!r} cannot also be a covariate")

    warnings: list[str] = []
    n_input = len(df)

    # ------------------------------------------------- missing outcome/treatment
    key_cols = [c for c in (treatment, outcome, event, exposure) if c]
    miss = df[key_cols].isna()
    drop = miss.any(axis=1).to_numpy()
    n_dropped_missing = int(drop.sum())
    if n_dropped_missing:
        per = {c: int(v) for c, v in miss.sum().items() if v}
        warnings.append(
            f"{n_dropped_missing} rows excluded for missing values in {per} (treatment/outcome values are never imputed)"
        )
    rows = np.flatnonzero(~drop)  # positions into df
    data = df.iloc[rows]

    t = _binary01(data[treatment], treatment, "treatment")
    y = data[outcome]
    if outcome_type == "binary":
        y = _binary01(y, outcome, "outcome")
    else:
        if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
            raise ComparisonError(f"outcome column {outcome!r} must be numeric for a {outcome_type} outcome")
        y = y.to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            raise ComparisonError(f"outcome column {outcome!r} holds infinite values")
        if outcome_type == "count" and np.any(y < 0):
            raise ComparisonError(f"count outcome {outcome!r} has negative values")
        if outcome_type == "time_to_event" and np.any(y <= 0):
            raise ComparisonError(f"duration column {outcome!r} must be > 0 (time from index to event or censoring)")
    ev = _binary01(data[event], event, "event") if event else None
    ex = None
    if exposure:
        ex = pd.to_numeric(data[exposure], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(ex) & (ex > 0)):
            raise ComparisonError(f"exposure column {exposure!r} must be positive and finite")

    n_t_all, n_c_all = int(t.sum()), int(len(t) - t.sum())
    if n_t_all == 0 or n_c_all == 0:
        raise ComparisonError(
            f"treatment {treatment!r} is constant: {n_t_all} participants and {n_c_all} comparison people; "
            "both groups are needed"
        )
    if n_t_all < 2 or n_c_all < 2:
        raise ComparisonError(
            f"cohort too small to match: {n_t_all} participants and {n_c_all} comparison people (need at least 2 of each)"
        )

    # ------------------------------------------------------------ exact strata
    missing_imputed: dict = {}
    n_dropped_support = 0
    n_control_exact = 0
    if exact:
        lab = data[exact].astype(object)
        for c in exact:
            nm = int(lab[c].isna().sum())
            if nm:
                missing_imputed[f"exact:{c}"] = nm
                warnings.append(f"exact column {c!r}: {nm} missing values form their own stratum {MISSING_LEVEL!r}")
        lab = lab.where(lab.notna(), MISSING_LEVEL)
        strata = lab.groupby(exact, sort=True, dropna=False).ngroup().to_numpy().astype(np.int64)
        has_t = np.bincount(strata, weights=t) > 0
        has_c = np.bincount(strata, weights=1 - t) > 0
        ok = (has_t & has_c)[strata]
        lost_t = int(np.sum(~ok & (t == 1)))
        n_control_exact = int(np.sum(~ok & (t == 0)))
        if lost_t:
            n_dropped_support += lost_t
            warnings.append(f"{lost_t} participants are in exact strata with no comparison people and are dropped")
        keep = np.flatnonzero(ok)
        rows, data, t, y, strata = rows[keep], data.iloc[keep], t[keep], y[keep], strata[keep]
        ev = ev[keep] if ev is not None else None
        ex = ex[keep] if ex is not None else None
        if t.sum() < 2 or (1 - t).sum() < 2:
            raise ComparisonError(
                f"cohort too small to match within exact strata {exact}: {int(t.sum())} participants and "
                f"{int((1 - t).sum())} comparison people share a stratum"
            )
    else:
        strata = np.zeros(len(t), dtype=np.int64)

    # ------------------------------------------------------- design + propensity
    design_df = data
    ps_covariates = list(covariates)
    if exact and method == "ipw" and len(np.unique(strata)) > 1:
        design_df = data.assign(_exact_stratum=strata)
        ps_covariates.append("_exact_stratum")
        categorical = [*categorical, "_exact_stratum"]
    design = build_design(design_df, ps_covariates, categorical)
    for cov, n_m in design.missing_imputed.items():
        if n_m and cov in covariates:
            missing_imputed[cov] = n_m
            how = (
                f"median {design.medians[cov]:.4g} plus indicator {cov}_missing"
                if cov in design.medians
                else f"level {MISSING_LEVEL!r}"
            )
            warnings.append(f"covariate {cov!r}: {n_m} missing values imputed ({how})")
    for cov in covariates:
        missing_imputed.setdefault(cov, 0)

    # ------------------------------------------- level support (one-sided levels)
    lev = level_support(
        design.X, t, design.binary, missing_columns=design.missing_columns, drop_treated=common_support
    )
    warnings += lev.notes
    n_dropped_support += lev.n_treated_dropped
    n_control_dropped_support = lev.n_control_dropped + n_control_exact
    keep = np.flatnonzero(lev.keep)
    X = design.X.iloc[keep]
    X = X[[c for c in X.columns if c not in lev.dropped_columns]]
    flat = [c for c in X.columns if X[c].nunique() < 2]
    if flat:
        warnings.append(f"design columns constant among the people kept, left out of the model: {flat}")
        X = X.drop(columns=flat)
    if X.shape[1] == 0:
        raise ComparisonError("no covariate varies among the people who can be compared; nothing to match on")
    binary = [c for c in design.binary if c in X.columns]
    rows, data, t, y, strata = rows[keep], data.iloc[keep], t[keep], y[keep], strata[keep]
    ev = ev[keep] if ev is not None else None
    ex = ex[keep] if ex is not None else None
    if t.sum() < 2 or (1 - t).sum() < 2:
        raise ComparisonError(
            f"cohort too small to match after common support: {int(t.sum())} participants and "
            f"{int((1 - t).sum())} comparison people"
        )

    # ------------------------------------------------------------ propensity
    ps = fit_propensity(X, t, binary)
    logit = ps.logit
    tb = t.astype(bool)
    sd_logit = pooled_sd(logit, tb)

    # ---------------------------------------------------------- score support
    in_support = score_support(logit, tb, strata) if common_support else np.ones(len(t), dtype=bool)
    out_t = int(np.sum(tb & ~in_support))
    n_dropped_support += out_t
    n_treated = n_t_all
    overlap = {
        "treated": _summ(logit[tb]),
        "comparison": _summ(logit[~tb]),
        "share_treated_in_support": float(1 - n_dropped_support / n_treated),
        "n_treated_outside_support": n_dropped_support,
        "n_comparison_removed": n_control_dropped_support,
        "pooled_sd_logit": sd_logit,
        "caliper_width": float(caliper * sd_logit) if (method == "match" and caliper is not None) else None,
    }
    if out_t:
        warnings.append(
            f"{out_t} participants ({100 * out_t / n_treated:.1f}%) have propensity scores outside the comparison "
            "group's range and are dropped (common support)"
        )
    if not np.any(tb & in_support):
        raise ComparisonError("no participant lies within the comparison group's range of propensity scores")

    # ------------------------------------------------------------ match / weight
    n_dropped_caliper = 0
    if method == "match":
        t_pos = np.flatnonzero(tb & in_support)
        c_pos = np.flatnonzero(~tb)
        width = None if caliper is None else caliper * sd_logit
        m = match_nearest(
            logit[t_pos], logit[c_pos], strata_treated=strata[t_pos], strata_control=strata[c_pos],
            ratio=ratio, replace=replace, caliper_width=width, order=order, seed=seed,
        )
        n_dropped_caliper = m.n_dropped_caliper
        if len(m.matched_treated) == 0:
            raise ComparisonError(
                f"no participant has a comparison person within the caliper ({caliper} SD = {width:.4g} on the "
                "logit scale); widen the caliper or review the covariates"
            )
        if n_dropped_caliper:
            warnings.append(
                f"{n_dropped_caliper} participants had no comparison person within the caliper and are dropped; "
                "the estimate applies to the matched participants only"
            )
        n_sets = len(m.matched_treated)
        k_per_set = np.bincount(m.pairs_set, minlength=n_sets)
        a_t = t_pos[m.matched_treated]
        a_c = c_pos[m.pairs_control]
        local = np.r_[a_t, a_c]  # positions into `data`
        w = np.r_[np.ones(n_sets), 1.0 / k_per_set[m.pairs_set]]
        pair = np.r_[np.arange(n_sets), m.pairs_set]
        clusters = [pair, local] if replace else [pair]
        n_control_matched = len(np.unique(a_c))
        unit_w = np.bincount(a_c, weights=1.0 / k_per_set[m.pairs_set], minlength=len(t))[np.unique(a_c)]
        ess = effective_sample_size(unit_w)
    else:
        keep = np.flatnonzero(in_support)
        w_all = att_weights(ps.score, tb, stabilize=stabilize, trim_quantile=trim_quantile)
        local = keep
        w = w_all[keep]
        pair = np.full(len(keep), -1, dtype=np.int64)
        clusters = [local]
        n_control_matched = int(np.sum((~tb[keep]) & (w > 0)))
        ess = effective_sample_size(w[~tb[keep]])
    n_matched = int(np.sum(tb[local]))

    # ----------------------------------------------------------------- balance
    bal = balance_table(X, tb, X.iloc[local], tb[local], w, source=design.source, binary=binary)
    flagged = bal.loc[bal["flag"], "covariate"].tolist()
    if flagged:
        warnings.append(f"balance: |SMD| after {'matching' if method == 'match' else 'weighting'} > 0.1 for {flagged}")
    vr_flagged = bal.loc[bal["vr_flag"], "covariate"].tolist()
    if vr_flagged:
        warnings.append(f"balance: variance ratio after outside 0.5-2 for {vr_flagged}")
    pool = int((~tb).sum()) / max(int(tb.sum()), 1)
    if method == "match" and not replace and pool < SCARCE_POOL:
        warnings.append(
            f"the comparison pool has only {pool:.1f} people per participant; greedy matching without replacement "
            "can then leave residual imbalance and bias (see docs/validation.md, scenario 'scarce'); "
            "consider replace=True or method='ipw' as a check"
        )
    if n_matched < JDL_MINIMUM:
        warnings.append(
            f"matched cohort of {n_matched} participants is under the Justice Data Lab minimum of {JDL_MINIMUM}"
        )

    # ----------------------------------------------------------------- effects
    yl = y[local]
    measures, tv, cv = compute_effects(
        outcome_type, yl, t[local], w, clusters,
        event=None if ev is None else ev[local], exposure=None if ex is None else ex[local],
    )
    head = measures[0]
    lo, hi = head.interval()
    eff = effects_frame(measures)
    for mm in measures:
        if not np.isfinite(mm.estimate):
            warnings.append(f"{mm.name} could not be estimated (no events, or all events, in a group)")
        elif not (np.isfinite(mm.se) and mm.se > 0):
            warnings.append(f"{mm.name}: no variation in the outcome, so no interval")
    un_measures, _, _ = compute_effects(
        outcome_type, y, t, np.ones(len(t)), [np.arange(len(t))], event=ev, exposure=ex
    )
    verdict_text = verdict(lo, hi, head.null)

    # ------------------------------------------------------------ matched data
    md = df.iloc[rows[local]].copy()
    md["_row"] = rows[local]
    md["_treated"] = t[local].astype(np.int8)
    md["_pscore"] = ps.score[local]
    md["_logit"] = logit[local]
    md["_weight"] = w
    md["_pair"] = pair
    md["_stratum"] = strata[local]
    scores = pd.DataFrame({"_row": rows, "_treated": t.astype(np.int8), "_pscore": ps.score, "_logit": logit,
                           "_in_support": in_support})

    settings = {
        "method": method, "caliper": caliper, "ratio": ratio, "replace": replace, "exact": exact or None,
        "seed": seed, "event": event, "exposure": exposure, "categorical": categorical or None,
        "common_support": common_support, "order": order, "stabilize": stabilize,
        "trim_quantile": trim_quantile, "covariates": covariates,
    }
    return ComparisonResults(
        outcome_type=outcome_type, method=method, treatment=treatment, outcome=outcome, covariates=covariates,
        measure=head.name, estimate=head.estimate, se=head.se, ci_low=lo, ci_high=hi, p_value=head.p_value,
        null_value=head.null, verdict=verdict_text,
        jdl_statement=jdl_statement(outcome_type, tv, cv, outcome_label, exposure=exposure is not None),
        verdict_statement=verdict_statement(verdict_text, head.name, head.estimate, lo, hi),
        effects=eff, unadjusted_effects=effects_frame(un_measures), treated_value=float(tv),
        comparison_value=float(cv), n_input=n_input, n_dropped_missing=n_dropped_missing, n_treated=n_treated,
        n_control=n_c_all, n_control_dropped_support=n_control_dropped_support, n_dropped_support=n_dropped_support, n_dropped_caliper=n_dropped_caliper,
        n_matched=n_matched, n_control_matched=n_control_matched, ess_control=float(ess), balance=bal,
        overlap=overlap, missing_imputed=missing_imputed, warnings=warnings, propensity_params=ps.params,
        matched_data=md, propensity_scores=scores, settings=settings, _measures=measures,
    )
