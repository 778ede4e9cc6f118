"""Clone–censor–weight for a strategy with a grace period ("start within G days" vs "do not").

Target trial (Hernán & Robins 2016, *Am J Epidemiol* 183:758; Hernán, Sauer, Hernández-Díaz,
Platt & Shrier 2016, *J Clin Epidemiol* 79:70; Maringe et al. 2020, *Int J Epidemiol*
49:1719). Every eligible unit (an index discharge) is cloned at time zero (day 0) into two
strategies, followed in whole days 0…H:

* **start**: start within the grace period (days 0…G). The clone is censored at the start
  of day G+1 when it has not started by day G and had no event by then. Events during the
  grace period count in this arm, started or not.
* **no start**: do not start within days 0…G. The clone is censored on its own start day
  (a start on day k comes before an event on day k: that event is not counted).

A unit blocked on day b (exposed by another route) is censored in both arms from day b
(assumed uninformative, unweighted); blocked on day 0 it is not eligible.

The censoring is undone by inverse-probability-of-censoring weights from a pooled logistic
model of the daily hazard of starting, h_j(X), fitted on unit-days j = 0…G at risk of
starting (not started before j, no event before j, not blocked), on day-specific intercepts
and the baseline covariates X (Maringe et al. 2020, Box 2). With K(j) = Π_{i≤j}(1 − h_i):

* no-start clone at risk on day k: weight 1 / K(min(k, G));
* start clone on day k > G (it started by day G): weight 1 / (1 − K(G)); weight 1 on days ≤ G.

Stabilised weights multiply by the same quantity from the model on day alone; they can be
truncated at a percentile of the weights of the clones at risk. K is computed on the log scale,
so a weight is infinite only when the model makes a start (or no start) certain for a clone
still at risk: positivity fails, and the estimate is refused (ValueError) rather than the
clone's days being dropped. A bootstrap replicate where that happens is left out and counted. The risk by day H in each arm is one minus the weighted
Kaplan–Meier survival (daily events over the weighted risk set); the risk difference is
start − no start. The 95% interval is the percentile interval of a person-cluster bootstrap
(persons drawn with replacement, every one of their units with them; the hazard model refitted
each time), with a fixed seed so it is deterministic: the persons are coded in their sorted
order, so the same data in any row order give the same draws and the same interval.

Caveat: the start arm's weight uses P(started by G | X) from the hazard model among units
still event-free; when starting changes the event hazard during the grace period this is an
approximation (exact under no effect). The estimand is "start within G days" with the
observed timing of starts, not "start on day 0".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.blas import one_blas_thread

RIDGE = 1e-3  # L2 penalty (absolute, negligible against the data): keeps day intercepts finite on days nobody starts


@dataclass(frozen=True)
class CloneCensorWeightResult:
    """Risks by day H in each strategy, their difference and ratio with bootstrap 95% intervals."""

    n_units: int
    n_persons: int
    n_started: int  # units that started within the grace period, not after their event
    risk_start: float
    risk_no_start: float
    risk_difference: float
    rd_ci_low: float
    rd_ci_high: float
    rd_se: float
    risk_ratio: float
    rr_ci_low: float
    rr_ci_high: float
    max_weight: float
    bootstrap: int  # replicates used
    bootstrap_refused: int = 0  # replicates left out: a clone at risk had an infinite weight
    rd_p_value: float = np.nan  # two-sided percentile-bootstrap p-value of the difference (:func:`bootstrap_p_value`)


def covariate_matrix(frame: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    """Numeric columns as they are (missing: the mean plus a missing indicator); others one-hot (first level
    dropped, missing a level of its own); every column standardised."""
    parts = []
    for c in covariates:
        x = pd.to_numeric(frame[c], errors="coerce") if pd.api.types.is_numeric_dtype(frame[c]) else None
        if x is None:
            parts.append(pd.get_dummies(frame[c].astype("string"), prefix=c, drop_first=True, dummy_na=True).astype(float))
            continue
        miss = x.isna()
        parts.append(x.fillna(x.mean() if miss.any() and not miss.all() else 0.0).rename(c).to_frame())
        if miss.any():
            parts.append(miss.astype(float).rename(f"{c}_missing").to_frame())
    if not parts:
        return np.zeros((len(frame), 0))
    m = pd.concat(parts, axis=1).to_numpy(dtype=float)
    sd = m.std(axis=0)
    keep = sd > 0
    return (m[:, keep] - m[:, keep].mean(axis=0)) / sd[keep]


@one_blas_thread()
def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray | None = None,
                 iterations: int = 50) -> np.ndarray:
    """Weighted logistic regression by Newton–Raphson with a tiny ridge (RIDGE), from ``beta``."""
    beta = np.zeros(x.shape[1]) if beta is None else beta.copy()
    lam = RIDGE
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -30, 30)))
        grad = x.T @ (w * (y - p)) - lam * beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + lam * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


@dataclass(frozen=True)
class _Design:
    start: np.ndarray  # day started within grace (nan = not)
    event: np.ndarray  # day of first event (nan = none by H)
    block: np.ndarray  # day blocked (inf = never)
    person: np.ndarray  # person index 0..P-1
    unit: np.ndarray  # unit of each unit-day row
    day: np.ndarray  # day of each unit-day row
    started: np.ndarray  # 1 when the unit starts on that day
    x: np.ndarray  # covariates of each unit (standardised)
    grace: int
    horizon: int


def _design(units: pd.DataFrame, start: str, event: str, blocked: str | None, cluster: str,
            covariates: list[str], grace: int, horizon: int) -> _Design:
    s = pd.to_numeric(units[start], errors="coerce").to_numpy(dtype=float)
    s = np.where(s <= grace, s, np.nan)
    e = pd.to_numeric(units[event], errors="coerce").to_numpy(dtype=float)
    e = np.where(e <= horizon, e, np.nan)
    b = np.full(len(units), np.inf) if blocked is None else \
        np.nan_to_num(pd.to_numeric(units[blocked], errors="coerce").to_numpy(dtype=float), nan=np.inf)
    b = np.where(~np.isnan(s) & (s <= b), np.inf, b)  # started by its own route first: never blocked
    # last day at risk of starting: grace, or the start / event day, or the day before being blocked
    last = np.minimum.reduce([np.full(len(s), float(grace)), np.nan_to_num(s, nan=np.inf),
                              np.nan_to_num(e, nan=np.inf), b - 1])
    n_days = np.where(last >= 0, last + 1, 0).astype(int)
    unit = np.repeat(np.arange(len(s)), n_days)
    day = np.arange(n_days.sum()) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    started = (s[unit] == day).astype(float)
    person = pd.factorize(units[cluster], sort=True)[0]  # in the persons' sorted order: the bootstrap's draws follow it
    return _Design(s, e, b, person, unit, day, started, covariate_matrix(units, covariates), grace, horizon)


def _log_uncensored(d: _Design, freq: np.ndarray, beta: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(log K, beta): log K(j) = Σ_{i≤j} log(1 − h_i), units × days 0..G, with h the daily start hazard of the
    pooled logistic model on day-specific intercepts and the covariates, fitted from ``beta`` (a warm start).
    log(1 − expit(η)) = −log(1 + e^η), so a hazard near 1 gives a very negative log K, not log 0."""
    rows = np.hstack([np.eye(d.grace + 1)[d.day], d.x[d.unit]])
    beta = fit_logistic(rows, d.started, freq[d.unit], beta)
    lin = beta[: d.grace + 1][None, :] + (d.x @ beta[d.grace + 1:])[:, None]
    return np.cumsum(-np.logaddexp(0.0, lin), axis=1), beta


def day_hazards(d: _Design, freq: np.ndarray) -> np.ndarray:
    """Daily start hazards on day alone (the stabilising numerator): starts / units at risk of starting, per day."""
    w = freq[d.unit]
    at_risk = np.bincount(d.day, w, d.grace + 1)
    starts = np.bincount(d.day, w * d.started, d.grace + 1)
    return np.divide(starts, at_risk, out=np.zeros(d.grace + 1), where=at_risk > 0)


def _weights(d: _Design, freq: np.ndarray, stabilise: bool, truncate: float | None, beta: np.ndarray | None,
             at_risk: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(no-start, start) weights, units × days 0..H, and the fit. Only the clones at risk (``at_risk``, drawn:
    ``freq`` > 0) count: their weights are finite or ValueError; the others' are 0."""
    log_k, beta = _log_uncensored(d, freq, beta)
    days = np.minimum(np.arange(d.horizon + 1), d.grace)
    after_grace = np.arange(d.horizon + 1)[None, :] > d.grace
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        w0 = np.exp(-log_k[:, days])
        w1 = np.where(after_grace, 1 / -np.expm1(log_k[:, [d.grace]]), 1.0)
        if stabilise:
            k_day = np.cumprod(1 - day_hazards(d, freq))[None, :]
            w0 = w0 * k_day[:, days]
            w1 = np.where(after_grace, w1 * (1 - k_day[:, [d.grace]]), 1.0)
    drawn = freq[:, None] > 0
    w0, w1 = (np.where(r & drawn, w, 0.0) for w, r in zip((w0, w1), at_risk))
    if not (np.isfinite(w0).all() and np.isfinite(w1).all()):
        raise ValueError("clone-censor-weight: a clone still at risk has an infinite weight (the start model makes "
                         "starting, or not starting, certain for discharges like it), so positivity fails")
    if truncate is not None:
        for w, r in zip((w0, w1), at_risk):
            if (r & drawn).any():  # an arm with no clone at risk (a draw of day-0 starters only) has only 0s
                np.minimum(w, np.quantile(w[r & drawn], truncate), out=w)
    return w0, w1, beta


def _at_risk(d: _Design) -> tuple[np.ndarray, np.ndarray]:
    """(no-start, start) clone at risk on day k (units × days 0..H): no event before k, not censored by k."""
    k = np.arange(d.horizon + 1)[None, :]
    free = np.isnan(d.event)[:, None] | (d.event[:, None] >= k)
    free &= d.block[:, None] > k
    s = d.start[:, None]
    no_start = free & (np.isnan(s) | (s > k))
    deviated = np.isnan(s) & (k > d.grace) & ~(d.event[:, None] <= d.grace)
    return no_start, free & ~deviated


def _risk(w: np.ndarray, event_on: np.ndarray, freq: np.ndarray) -> float:
    """One minus the weighted Kaplan–Meier survival at day H (``w``: 0 for a clone not at risk)."""
    ww = w * freq[:, None]
    n = ww.sum(axis=0)
    d = (ww * event_on).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(n > 0, d / n, 0.0)
    return float(1 - np.prod(1 - q))


def _risks(d: _Design, freq: np.ndarray, stabilise: bool, truncate: float | None,
           beta: np.ndarray | None = None) -> tuple[float, float, float, np.ndarray]:
    """(risk start, risk no start, largest weight of a clone at risk, the hazard model's coefficients)."""
    w0, w1, beta = _weights(d, freq, stabilise, truncate, beta, _at_risk(d))
    event_on = d.event[:, None] == np.arange(d.horizon + 1)[None, :]
    max_w = float(max(w0.max(initial=0), w1.max(initial=0)))
    return _risk(w1, event_on, freq), _risk(w0, event_on, freq), max_w, beta


def clone_censor_weight(units: pd.DataFrame, *, start: str, event: str, cluster: str, covariates: list[str],
                        grace: int, horizon: int, blocked: str | None = None, stabilise: bool = True,
                        truncate: float | None = None, bootstrap: int = 200, seed: int = 0) -> CloneCensorWeightResult:
    """The clone–censor–weight estimate (module docstring) for ``units``: one row per unit with ``start`` (day
    started, missing = not within the grace period), ``event`` (day of the first event, missing = none),
    optional ``blocked`` (day exposed by another route), the person column ``cluster`` and the covariates."""
    units = units.loc[~(pd.to_numeric(units[blocked], errors="coerce") <= 0)] if blocked else units
    units = units.reset_index(drop=True)
    if units.empty:
        raise ValueError("clone-censor-weight: no eligible units")
    d = _design(units, start, event, blocked, cluster, covariates, grace, horizon)
    n_started = int((~np.isnan(d.start) & ~(d.event < d.start)).sum())
    if n_started == 0:
        raise ValueError("clone-censor-weight: nobody started within the grace period, so the 'start' strategy "
                         "has no follow-up after it")
    ones = np.ones(len(units))
    r1, r0, max_w, beta = _risks(d, ones, stabilise, truncate)
    rng = np.random.default_rng(seed)
    n_persons = int(d.person.max()) + 1
    boot = np.full((bootstrap, 2), np.nan)
    for b in range(bootstrap):
        draws = np.bincount(rng.integers(0, n_persons, n_persons), minlength=n_persons).astype(float)
        try:
            b1, b0, _, _ = _risks(d, draws[d.person], stabilise, truncate, beta)
        except ValueError:
            continue  # this replicate's start model breaks positivity: left out, counted
        boot[b] = b1, b0
    boot = boot[~np.isnan(boot[:, 0])]
    used = len(boot)
    rd = boot[:, 0] - boot[:, 1]
    lo, hi = (np.quantile(rd, [0.025, 0.975]) if used else (np.nan, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = boot[:, 0] / boot[:, 1]
        rr_lo, rr_hi = (np.quantile(rr[np.isfinite(rr)], [0.025, 0.975]) if used and np.isfinite(rr).any()
                        else (np.nan, np.nan))
    return CloneCensorWeightResult(
        n_units=len(units), n_persons=n_persons, n_started=n_started,
        risk_start=r1, risk_no_start=r0, risk_difference=r1 - r0, rd_ci_low=float(lo), rd_ci_high=float(hi),
        rd_se=float(rd.std(ddof=1)) if used > 1 else np.nan,
        risk_ratio=r1 / r0 if r0 > 0 else np.nan, rr_ci_low=float(rr_lo), rr_ci_high=float(rr_hi),
        max_weight=max_w, bootstrap=used, bootstrap_refused=bootstrap - used, rd_p_value=bootstrap_p_value(rd))


def bootstrap_p_value(replicates: np.ndarray) -> float:
    """Two-sided p-value of "no difference" from the bootstrap replicates whose percentiles give the interval:
    ``2 min((1 + #{d* <= 0}) / (B + 1), (1 + #{d* >= 0}) / (B + 1))``, at most 1 (Davison & Hinkley 1997,
    *Bootstrap Methods and their Application*, section 4.4.1). It is below 0.05 when 0 lies outside the 95%
    percentile interval, as the verdict reads it (a Wald p-value on the bootstrap SE could disagree near the edge)."""
    b = len(replicates)
    if not b:
        return np.nan
    below, above = (1 + np.sum(replicates <= 0)) / (b + 1), (1 + np.sum(replicates >= 0)) / (b + 1)
    return float(min(1.0, 2 * min(below, above)))
