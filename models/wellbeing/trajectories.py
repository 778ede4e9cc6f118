"""Trajectories: linear mixed models of the score on time and hours given and received.

For each reading::

    score ~ months + hours_given / unit + hours_received / unit + covariates [+ item] + (1 | person)

fitted by REML with a random intercept per person (``random_intercept.fit_main_effects``:
exact and vectorised over people, the estimates, standard errors and log-likelihood of
statsmodels ``MixedLM(reml=True)`` without its per-person Python loop). Standard errors are
clustered on the person by default (``trajectory_se = "person_cluster"``: the CR1 sandwich of
``random_intercept``), because one occasion's readings share their hours across up to 10
areas and each area has its own person-level level, which the single person intercept does
not model: with model-based SEs the pooled Outcomes Star interval covered the injected effect
in 13 of 20 seeds (issue 15). ``trajectory_se = "model"`` gives the REML model-based SEs.
Every scope still undercovers with clustered SEs on the generator's seeds (the giving
coefficient covered the injected effect in 71-81% of seeds, per version and pooled; rounding and
clipping make the effect non-linear in heavy-tailed hours, so the seed-to-seed spread exceeds
any within-sample SE): every fitted row's status says "descriptive only" and why (``DESCRIPTIVE``).
Where

* ``score`` is ``score_oriented``: the analysis-scale score (SWEMWBS as Rasch metric) with
  lower-is-better items (ONS4 anxiety) reflected, so a positive coefficient is always an
  improvement;
* ``months`` is the time since the person's first reading on the instrument;
* hours are the person's hours given / received up to the reading (or in the configured
  window before it), per ``hours_unit`` hours (10 by default);
* covariates: ``age`` at the person's first reading, and the configured person columns
  (numbers enter linearly, anything else as categories).

Scopes: ``area`` (one instrument and area), ``version`` (all areas of an instrument, with
area fixed effects), ``stars`` (every Outcomes Star version, i.e. the versions with stages in
star_versions.yaml, on the 1-10 equivalent scale ``score_10``, with version x area fixed
effects: "Star points per 10 hours") and ``all`` (every instrument including WEMWBS, SWEMWBS
and ONS4 on the 1-10 equivalent; only when such readings exist). Pooling puts different
scales on one ruler by a linear rescaling of their ranges; the per-version rows are the
primary results, the pooled ones a summary. Reported terms: ``hours_given``, ``hours_received``,
``months`` (95% Wald intervals), and ``given_minus_received``: the difference with its
interval and the Wald chi-square test (1 df) that giving and receiving have the same
coefficient. With the person-clustered SEs the intervals and p-values use t on G - 1 degrees of
freedom (G people in the model; the rule of the comparison engine, docs/comparison-engine.md),
the chi-square's p-value F(1, G - 1); with the model-based SEs, the normal and chi-square(1). Rows with missing covariates are left out and counted.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from models.comparison.effects import critical_value, two_sided_p
from models.wellbeing import scales
from models.wellbeing.journeys import person_covariates
from models.wellbeing.random_intercept import DesignBuffer, fit_main_effects
from models.wellbeing.settings import WellbeingSettings
from models.wellbeing.tables import ALL, MODEL, PEOPLE, READINGS, empty, table_exists
from schemas.marts import mart
from schemas.sql import quote

TERMS = ("hours_given", "hours_received", "months")
#: each scope's status suffix: even with person-clustered SEs the intervals covered the injected effect
#: too rarely over the generator's seeds (docs/validation.md, "Well-being design (issue 15)"); the
#: per-area models were not validated on their own, but share the per-version model's structure
DESCRIPTIVE = {
    "area": "descriptive only: intervals not validated per area, and the per-version ones undercover",
    "version": "descriptive only: per-version intervals undercover in validation",
    "stars": "descriptive only: pooled intervals undercover in validation",
    "all": "descriptive only: pooled intervals undercover in validation",
}
STARS = "outcomes_stars"


def model_frame(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> tuple[pd.DataFrame, list[str]]:
    """Every scored reading with its model terms, in person order; ``person_id`` is the person's rank (0, 1, ...):
    every fit groups by it, and integers cost a fraction of the 64-character text at 1M persons. Each text column
    (version, area, scale, a text covariate) comes as a Categorical of its sorted values (:func:`_enums`)."""
    covs, _ = person_covariates(con, settings)
    if not (table_exists(con, READINGS) and table_exists(con, PEOPLE)):
        return pd.DataFrame(), covs
    read = {**_enums(con, READINGS, ["star_version", "area", "score_scale"]), **_enums(con, PEOPLE, [c for c in covs if c != "age"])}

    def column(alias: str, name: str) -> str:
        return f'CAST({alias}."{name}" AS {read[name]}) AS "{name}"' if name in read else f'{alias}."{name}"'

    extra = "".join(", " + column("p", c) for c in covs if c != "age")
    unit = float(settings.hours_unit)
    frame = con.execute(f"""
        SELECT p.person_rank AS person_id, {column("r", "star_version")}, {column("r", "area")}, r.score_oriented,
               r.score_10, {column("r", "score_scale")},
               r.months_since_first AS months, r.hours_given / {unit} AS hours_given,
               r.hours_received / {unit} AS hours_received,
               date_diff('day', p.birth_date, p.first_reading_on) / 365.25 AS age{extra}
        FROM {READINGS} r
        JOIN (SELECT *, row_number() OVER (ORDER BY person_id) - 1 AS person_rank FROM {PEOPLE}) p USING (person_id)
        ORDER BY p.person_rank, r.star_version, r.area, r.assessed_on
    """).df()
    return frame, covs


def _enums(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> dict[str, str]:
    """For each text column of ``table`` among ``columns`` that holds a value: an ENUM type of its values, sorted as
    :func:`_levels` sorts text. DuckDB hands an ENUM column to pandas as a Categorical (codes, not a Python string per
    reading: as text, the four columns of 2.5M readings at 1M persons were 10M strings, a quarter of the model
    step's memory; issue 18)."""
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    text = [c for c in columns if types.get(c) == "VARCHAR"]
    if not text:
        return {}
    found = con.execute("SELECT " + ", ".join(f'list(DISTINCT "{c}") FILTER (WHERE "{c}" IS NOT NULL)' for c in text)
                        + f" FROM {table}").fetchone()
    return {c: "ENUM(" + ", ".join(quote(v) for v in sorted(values)) + ")" for c, values in zip(text, found) if values}


def _item(version: pd.Series, area: pd.Series) -> pd.Series:
    """``version.area`` of each reading as a Categorical of the sorted names, as :func:`_levels` codes that text,
    from the two columns' codes: no text per reading."""
    v, a, n_areas = version.cat.codes.to_numpy(np.int64), area.cat.codes.to_numpy(np.int64), len(area.cat.categories)
    known = (v >= 0) & (a >= 0)  # a missing version or area gives a missing item, as text would
    seen, codes = np.unique((v * n_areas + a)[known], return_inverse=True)
    names = np.array([f"{version.cat.categories[k // n_areas]}.{area.cat.categories[k % n_areas]}" for k in seen], dtype=object)
    order = np.argsort(names, kind="stable")
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    item = np.full(len(v), -1, dtype=np.int64)
    item[known] = position[codes]
    return pd.Series(pd.Categorical.from_codes(item, names[order]), index=version.index)


def _safe(name: str) -> str:
    return "cov_" + re.sub(r"\W", "_", name)


def _levels(values: pd.Series) -> pd.Series:
    """A categorical term's column as a pandas Categorical, text levels sorted (patsy's own order for text), which patsy
    codes as a factor without testing every value for missingness and collecting the levels one by one (most of the
    model mart's time at 100,000 persons; issue 18). A Categorical keeps its order and loses the levels absent here."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.remove_unused_categories()
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # codes and sorted levels in one pass over the text
        codes, levels = pd.factorize(values, sort=True)
        return pd.Series(pd.Categorical.from_codes(codes, levels), index=values.index)
    return pd.Series(pd.Categorical(values), index=values.index)


def fit_trajectory(data: pd.DataFrame, y: str, covariates: list[str], item: str | None,
                   settings: WellbeingSettings, rows: np.ndarray | None = None,
                   buffer: DesignBuffer | None = None) -> tuple[list[dict], dict]:
    """Fit one mixed model to ``data`` (its rows at positions ``rows`` when given; its design laid out in ``buffer``
    when given); returns (term rows, fit info). Never raises on bad data: status says why. Only the model's columns are taken, one by one (a frame of 2.5M readings
    copied whole, or built from columns, cost seconds at 1M persons; issue 18); ``data`` itself is not changed."""
    info = {"n_readings": 0, "n_people": 0, "n_dropped_missing": 0, "converged": None, "covariates": ""}
    cols = [y, "person_id", *TERMS, *covariates] + ([item] if item else [])
    d = {c: data[c] if rows is None else data[c].take(rows) for c in cols}
    complete = np.logical_and.reduce([s.notna().to_numpy() for s in d.values()])
    info["n_dropped_missing"] = int((~complete).sum())
    if not complete.all():  # no second copy of 2.5M readings when nothing is missing
        d = {c: s[complete] for c, s in d.items()}
    d = {_safe(c) if c in covariates else c: s for c, s in d.items()}
    info["n_readings"], info["n_people"] = len(d[y]), int(d["person_id"].nunique())

    def not_fitted(reason: str):
        return [{"term": t, "status": reason} for t in (*TERMS, "given_minus_received")], info

    if info["n_people"] < settings.min_model_people:
        return not_fitted(f"not fitted: {info['n_people']} people, fewer than min_model_people = {settings.min_model_people}")
    if not d["person_id"].duplicated().any():
        return not_fitted("not fitted: nobody has two or more readings")
    rhs, used = [], []
    flat = [t for t in TERMS if d[t].nunique() < 2]
    rhs += [t for t in TERMS if t not in flat]
    for c in covariates:
        s = d[_safe(c)]
        if s.nunique() < 2:
            continue
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if not numeric:
            d[_safe(c)] = _levels(s)
        rhs.append(_safe(c))
        used.append(c)
    if item and d[item].nunique() > 1:
        d[item] = _levels(d[item])
        rhs.append(item)
    info["covariates"] = ", ".join(used)
    if not rhs:
        return not_fitted("not fitted: nothing varies")
    try:
        res = fit_main_effects(d, y, rhs, d["person_id"], buffer)
    except (ValueError, np.linalg.LinAlgError) as err:  # e.g. collinear terms (SingularDesignError)
        return not_fitted(f"not fitted: {err}")
    info["converged"] = res.converged
    status = "fitted" if res.converged else "fitted, not converged: read with care"
    params = res.fe_params
    clustered = settings.trajectory_se == "person_cluster"
    cov = res.cov_robust if clustered else res.cov_params
    df = float(info["n_people"] - 1) if clustered else float("inf")  # G - 1 for G people (module docstring)
    q = critical_value(df)
    rows = []
    for t in TERMS:
        if t in flat:
            rows.append({"term": t, "status": f"not estimable: no variation in {t}"})
            continue
        est, se = float(params[t]), float(np.sqrt(cov.loc[t, t]))
        rows.append({"term": t, "estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se,
                     "statistic": est / se if se > 0 else np.nan,
                     "p_value": two_sided_p(est / se, df) if se > 0 else np.nan, "status": status})
    if "hours_given" in flat or "hours_received" in flat:
        rows.append({"term": "given_minus_received", "status": "not estimable: hours given or received do not vary"})
    else:
        diff = float(params["hours_given"] - params["hours_received"])
        var = float(cov.loc["hours_given", "hours_given"] + cov.loc["hours_received", "hours_received"]
                    - 2 * cov.loc["hours_given", "hours_received"])
        se = float(np.sqrt(var)) if var > 0 else np.nan
        chi2 = diff * diff / var if var > 0 else np.nan
        rows.append({"term": "given_minus_received", "estimate": diff, "se": se, "ci_low": diff - q * se,
                     "ci_high": diff + q * se, "statistic": chi2,
                     "p_value": (float(stats.chi2.sf(chi2, 1)) if np.isinf(df) else float(stats.f.sf(chi2, 1, df)))
                     if var > 0 else np.nan, "status": status})
    return rows, info


def model_table(con: duckdb.DuckDBPyConnection, settings: WellbeingSettings) -> pd.DataFrame:
    """marts.wellbeing_model: the hours terms of every fitted trajectory model. Each model takes its readings from the
    one model frame by position (no copy of a version's or of the Outcomes Stars' 2.5M readings, every column, first;
    issue 18), in the frame's order."""
    frame, covs = model_frame(con, settings)
    if frame.empty:
        return empty(MODEL).drop(columns="run_id")
    fits = []  # (scope, version, area, scale, y, item, rows), in the mart's order

    def add(scope, version, area, scale, y, item, rows=None):
        fits.append((scope, version, area, scale, y, item, rows))

    areas = sorted(frame.groupby(["star_version", "area"], sort=True, observed=True).indices.items())
    for version, v in sorted(frame.groupby("star_version", sort=True, observed=True).indices.items()):
        scale = f"{frame['score_scale'].iat[v[0]]}, higher is better"
        in_version = [(area, a) for (ver, area), a in areas if ver == version]
        for area, a in in_version:
            add("area", version, area, scale, "score_oriented", None, a)
        if len(in_version) > 1:
            add("version", version, ALL, scale, "score_oriented", "area", v)
    # the item as a Categorical of the sorted texts (a model's own items are its levels: _levels), built once for both
    # pooled models, in place: not a copy of 2.5M readings at 1M persons
    frame["item"] = _item(frame["star_version"], frame["area"])
    stars = np.flatnonzero(frame["star_version"].isin(scales.star_versions()).to_numpy())
    if frame["item"].take(stars).nunique() > 1:
        add("stars", STARS, ALL, "1-10 equivalent, higher is better", "score_10", "item", stars)
    if len(stars) < len(frame) and frame["item"].nunique() > 1:
        add("all", ALL, ALL, "1-10 equivalent, higher is better", "score_10", "item")
    # fitted largest first, every design laid out in the memory of the first (DesignBuffer)
    buffer = DesignBuffer()
    readings = [len(frame) if rows is None else len(rows) for *_, rows in fits]
    fitted = {}
    for i in sorted(range(len(fits)), key=lambda i: -readings[i]):
        *_, y, item, rows = fits[i]
        fitted[i] = fit_trajectory(frame, y, covs, item, settings, rows, buffer)
    out = []
    for i, (scope, version, area, scale, *_) in enumerate(fits):
        rows_, info = fitted[i]
        for r in rows_:
            out.append({"scope": scope, "star_version": version, "area": area, "score_scale": scale, **info, **r,
                        "hours_unit": settings.hours_unit, "hours_window_months": settings.hours_window_months})
    for r in out:
        if str(r.get("status", "")).startswith("fitted"):
            r["status"] = f"{r['status']}; {DESCRIPTIVE[r['scope']]}"
    return mart(MODEL).frame(out)
