"""Risk-adjusted funnel plots of readmission: observed/expected per provider and per time bank.

**Expected.** A logistic regression (statsmodels GLM, binomial) of ``readmitted`` on the
funnel covariates (default age, sex, IMD decile, prior emergency admissions in 12 months and
specialty) over every index discharge with full follow-up. Numeric covariates with missing
values get the median and a 0/1 ``<name>_missing`` column; categories with fewer than
``funnel_min_level_count`` discharges are pooled into ``other``, missing ones are a level of
their own. A unit's expected count E is the sum of its discharges' fitted risks (indirect
standardisation), its ratio O/E, its standardised rate (O/E) x the overall crude rate.
Because a logistic model with an intercept reproduces the total, sum(O) = sum(E) over all
discharges. As the NHS specification warns, each unit is compared with the whole (target
1), not units with each other.

**Limits** (Spiegelhalter 2005, Stat Med 24:1185; QSHC 14:347). Under the model O is taken
as Poisson with mean E (the standardised-ratio funnel), so the ratio's SD is 1/sqrt(E) and a
unit's z-score is z = (O - E)/sqrt(E).

* No overdispersion: exact Poisson limits with interpolation. For tail probability p, r is
  the p-quantile of Poisson(E) (the smallest r with F(r) >= p), a = (F(r) - p) / (F(r) - F(r-1)),
  and the limit on the ratio scale is max(r - a, 0)/E. p = 0.025/0.975 (95%) and 0.001/0.999 (99.8%).
* Overdispersion: phi = mean of the z-scores squared after 10%-winsorising (z below the
  10th percentile set to it, above the 90th set to it; numpy linear percentiles). It is
  used only if there are at least ``funnel_min_units`` units and k*phi exceeds the 95th
  percentile of chi-squared with k - 1 degrees of freedom (k - 1 because the expected
  counts are fitted to the same data, so sum(O) = sum(E)); otherwise phi = 1, tau2 = 0 and
  the exact limits apply.
  * ``additive`` (default; preferred by Spiegelhalter and adopted by the Healthcare
    Commission): tau2 = (k*phi - (k - 1)) / (sum(w) - sum(w^2)/sum(w)), w = E (= 1/SD^2),
    limits 1 +/- z_a * sqrt(1/E + tau2) (DerSimonian-Laird form).
  * ``multiplicative``: limits 1 +/- z_a * sqrt(phi/E).
  Normal limits are cut at 0 below. z_adjusted = (O/E - 1) / (the SD used for the limits).

Outlier flags: ``high`` above the upper limit, ``low`` below the lower one, else ``within``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from scipy import stats

from models.blas import one_blas_thread
from models.silenced import silenced

from .settings import ReadmissionSettings
from .tables import READMISSION_FUNNEL, empty_frame

LEVELS = {"95": 0.95, "998": 0.998}


# ------------------------------------------------------------------ risk model
def read_columns(settings: ReadmissionSettings) -> list[str]:
    """The columns of a discharge :func:`readmission_funnel` reads: the outcome, the units (provider and
    time bank) and the risk model's covariates."""
    return list(dict.fromkeys(["readmitted", "provider_id", "timebank_id", *settings.funnel_covariates]))


def _design(df: pd.DataFrame, covariates, categorical, min_count: int) -> pd.DataFrame:
    parts = []
    for cov in covariates:
        if cov not in df.columns:
            raise KeyError(f"funnel covariate {cov!r} is not a column of the discharges")
        col = df[cov]
        if cov in categorical or not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
            lev = col.astype(object).where(col.notna(), "(missing)").astype(str)
            counts = lev.value_counts()
            lev = lev.where(lev.map(counts) >= min_count, "other")
            dummies = pd.get_dummies(lev, prefix=cov, prefix_sep="=", dtype=float)
            if dummies.shape[1] > 1:
                biggest = lev.value_counts().idxmax()
                parts.append(dummies.drop(columns=f"{cov}={biggest}"))
        else:
            x = pd.to_numeric(col, errors="coerce").astype(float)
            if x.isna().any():
                if x.notna().any():
                    parts.append(x.isna().astype(float).rename(f"{cov}_missing"))
                x = x.fillna(x.median() if x.notna().any() else 0.0)
            parts.append(x.rename(cov))
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=df.index)
    varies = X.nunique() > 1
    if not varies.all():
        X = X.loc[:, varies]
    # statsmodels' add_constant(X, has_constant="add"), without its two copies of X (0.65 s at 1M persons)
    X.insert(0, "const", 1.0)
    return X


@dataclass
class RiskModel:
    expected: np.ndarray
    n: int
    c_statistic: float
    params: pd.Series
    note: str


@one_blas_thread()
def fit_risk_model(df: pd.DataFrame, settings: ReadmissionSettings) -> RiskModel:
    """Each discharge's expected readmission risk from the case-mix model."""
    y = df["readmitted"].astype(float).to_numpy()
    n = len(y)
    if n == 0:
        return RiskModel(np.zeros(0), 0, float("nan"), pd.Series(dtype=float), "no discharges")
    if y.min() == y.max():
        return RiskModel(np.full(n, y.mean()), n, float("nan"), pd.Series(dtype=float),
                         "outcome constant: expected = crude rate")
    X = _design(df, settings.funnel_covariates, settings.funnel_categorical, settings.funnel_min_level_count)
    note = "logistic GLM"
    with silenced():
        try:
            p, params = _distinct_fit(y, X)
            if not np.all(np.isfinite(p)):
                raise ValueError("non-finite fit")
        except Exception:  # separation or a singular design: a lightly penalised fit instead
            fit = GLM(y, X, family=Binomial()).fit_regularized(alpha=1e-4, L1_wt=0.0)
            p = np.asarray(fit.predict(X))
            params = pd.Series(fit.params, index=X.columns)
            note = "logistic GLM, ridge-penalised (alpha 1e-4) after separation"
    return RiskModel(p, n, _c_statistic(y, p), params, note)


def _distinct_fit(y: np.ndarray, X: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
    """Each discharge's fitted risk and the coefficients of the logistic GLM, fitted on the distinct (covariates,
    outcome) rows weighted by how often each occurs (``freq_weights``): the same likelihood as one row per discharge,
    so the same fit up to floating-point summation order (``tests/models/test_readmission_funnel.py`` checks 1e-10),
    on a tenth of the rows at 1M persons (issue 18)."""
    rows = X.assign(_y=y)
    groups = rows.groupby(list(rows.columns), sort=True, dropna=False)
    distinct = groups.size().reset_index(name="_n")
    code = groups.ngroup().to_numpy()
    Xd = distinct[list(X.columns)].astype(float)
    fit = GLM(distinct["_y"].to_numpy(dtype=float), Xd, family=Binomial(),
                 freq_weights=distinct["_n"].to_numpy(dtype=float)).fit()
    return np.asarray(fit.predict(Xd))[code], fit.params


def _c_statistic(y: np.ndarray, p: np.ndarray) -> float:
    ranks = stats.rankdata(p)
    n1 = y.sum()
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


# ---------------------------------------------------------------------- limits
def poisson_limit(expected, p: float) -> np.ndarray:
    """Interpolated exact Poisson limit (Spiegelhalter 2005, appendix) on the O/E scale."""
    e = np.asarray(expected, dtype=float)
    r = stats.poisson.ppf(p, e)
    f_r = stats.poisson.cdf(r, e)
    f_rm1 = stats.poisson.cdf(r - 1, e)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(f_r > f_rm1, (f_r - p) / (f_r - f_rm1), 0.0)
        return np.maximum(r - a, 0.0) / e


@dataclass
class Dispersion:
    method: str  # what was applied: none / additive / multiplicative
    phi: float
    tau2: float
    k: int
    note: str


def winsorised_phi(z, share: float = 0.10) -> float:
    z = np.asarray(z, dtype=float)
    lo, hi = np.quantile(z, [share, 1 - share])
    return float(np.mean(np.clip(z, lo, hi) ** 2))


def estimate_dispersion(observed, expected, settings: ReadmissionSettings) -> Dispersion:
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    ok = e > 0
    o, e = o[ok], e[ok]
    k = len(e)
    if settings.funnel_overdispersion == "none":
        return Dispersion("none", 1.0, 0.0, k, "no adjustment (setting)")
    if k < settings.funnel_min_units:
        return Dispersion("none", float("nan"), 0.0, k, f"{k} units: fewer than {settings.funnel_min_units}, not estimated")
    z = (o - e) / np.sqrt(e)
    phi = winsorised_phi(z, settings.funnel_winsor)
    reference = float(stats.chi2.ppf(settings.funnel_dispersion_test, k - 1))
    if k * phi <= reference:
        return Dispersion("none", phi, 0.0, k, f"k*phi = {k * phi:.3g} <= chi2({k - 1}) {settings.funnel_dispersion_test} "
                                               f"quantile {reference:.3g}: no overdispersion adjustment")
    if settings.funnel_overdispersion == "multiplicative":
        return Dispersion("multiplicative", phi, 0.0, k, f"phi = {phi:.3g} applied")
    w = e
    tau2 = max(0.0, (k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    return Dispersion("additive", phi, tau2, k, f"tau2 = {tau2:.4g} applied (phi = {phi:.3g})")


def funnel_limits(expected, dispersion: Dispersion) -> dict[str, np.ndarray]:
    """lower_/upper_ 95 and 998 limits on the O/E scale at each expected count, and the SD used."""
    e = np.asarray(expected, dtype=float)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if dispersion.method == "multiplicative":
            sd = np.sqrt(dispersion.phi / e)
        elif dispersion.method == "additive":
            sd = np.sqrt(1 / e + dispersion.tau2)
        else:
            sd = np.sqrt(1 / e)
        for name, level in LEVELS.items():
            tail = (1 - level) / 2
            if dispersion.method == "none":
                lo, hi = poisson_limit(e, tail), poisson_limit(e, 1 - tail)
            else:
                zq = float(stats.norm.ppf(1 - tail))
                lo, hi = np.maximum(1 - zq * sd, 0.0), 1 + zq * sd
            out[f"lower_{name}"], out[f"upper_{name}"] = lo, hi
    out["sd"] = sd
    return out


def outlier_flag(ratio, lo, hi) -> np.ndarray:
    """``high`` above the upper limit, ``low`` below the lower one, else ``within``."""
    return np.where(ratio > hi, "high", np.where(ratio < lo, "low", "within"))


def funnel_units(units: pd.DataFrame, settings: ReadmissionSettings, unit_type: str, overall_rate: float) -> tuple[pd.DataFrame, Dispersion]:
    """Funnel rows from per-unit ``unit, discharges, observed, expected``."""
    u = units.copy()
    disp = estimate_dispersion(u["observed"], u["expected"], settings)
    lim = funnel_limits(u["expected"], disp)
    e = u["expected"].to_numpy(dtype=float)
    o = u["observed"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        u["ratio"] = np.where(e > 0, o / e, np.nan)
        u["z"] = np.where(e > 0, (o - e) / np.sqrt(e), np.nan)
        u["z_adjusted"] = np.where(e > 0, (u["ratio"] - 1) / lim["sd"], np.nan)
    u["observed_rate"] = u["observed"] / u["discharges"]
    u["expected_rate"] = u["expected"] / u["discharges"]
    u["standardised_rate"] = u["ratio"] * overall_rate
    u["unit_type"] = unit_type
    u["overdispersion"] = disp.method
    u["phi"] = disp.phi
    u["tau2"] = disp.tau2
    for name in LEVELS:
        u[f"lower_{name}"], u[f"upper_{name}"] = lim[f"lower_{name}"], lim[f"upper_{name}"]
        u[f"outlier_{name}"] = outlier_flag(u["ratio"].to_numpy(), lim[f"lower_{name}"], lim[f"upper_{name}"])
        u.loc[~(e > 0), f"outlier_{name}"] = None
    return u, disp


def readmission_funnel(discharges: pd.DataFrame, settings: ReadmissionSettings) -> tuple[pd.DataFrame, dict]:
    """Funnel rows for providers and time banks, and notes for metadata.

    ``discharges``: core.index_discharges rows with full follow-up (plus any person
    covariates the settings name).
    """
    if discharges.empty:
        return empty_frame(READMISSION_FUNNEL), {"note": "no discharges with full follow-up"}
    model = fit_risk_model(discharges, settings)
    d = discharges.assign(_expected=model.expected, _observed=discharges["readmitted"].astype(int))
    overall = float(d["_observed"].mean())
    frames, notes = [], {"risk_model": model.note, "risk_model_n": model.n, "c_statistic": model.c_statistic}
    for unit_type, col in (("provider", "provider_id"), ("timebank", "timebank_id")):
        sub = d[d[col].notna()]
        if sub.empty:
            notes[f"{unit_type}_overdispersion"] = "no units"
            continue
        units = (sub.groupby(col, sort=True)
                 .agg(discharges=("_observed", "size"), observed=("_observed", "sum"), expected=("_expected", "sum"))
                 .reset_index().rename(columns={col: "unit"}))
        rows, disp = funnel_units(units, settings, unit_type, overall)
        frames.append(rows)
        notes[f"{unit_type}_overdispersion"] = disp.note
    if not frames:
        return empty_frame(READMISSION_FUNNEL), notes
    return pd.concat(frames, ignore_index=True), notes
