"""Covariates to a numeric design matrix, with the missing-value rule.

The design matrix feeds the propensity model and the balance table. Every
covariate is classified, checked and coded here, and every missing value is
counted; nothing is dropped silently.

Coding (the usual treatment/dummy coding, as in patsy's ``C(x)``):

* **numeric** (any non-boolean numeric dtype, unless named in ``categorical``):
  used as is. Missing values are replaced by the median of the observed values
  and a 0/1 indicator column ``<name>_missing`` is added (the
  missing-indicator method; see Austin & Stuart 2015, Stat Med 34:3661, and
  Rosenbaum & Rubin 1984, JASA 79:516, for matching on the pattern of
  missingness).
* **boolean** (``bool``/``boolean`` dtype, or an object column holding only
  True/False): a single 0/1 column named ``<name>``. If any value is missing the
  covariate is coded as a categorical with levels ``False`` (reference),
  ``True`` and ``(missing)``.
* **categorical** (object, string or ``category`` dtype, or named in
  ``categorical``): one 0/1 column ``<name>[<level>]`` per level except the
  first, which is the reference (first in ``category`` order, otherwise in
  sorted order). Missing values become an explicit level ``(missing)``, always
  placed last so it is never the reference.

Checks (each raises :class:`ComparisonError`): the covariate exists; it is not
all-missing; it has at least two distinct observed values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ComparisonError
from .propensity import distinct

MISSING_LEVEL = "(missing)"


@dataclass
class Design:
    """The coded covariates.

    Attributes
    ----------
    X : DataFrame
        Numeric design matrix (no intercept), same index as the input rows.
    source : dict
        Design column -> covariate it came from.
    kinds : dict
        Covariate -> "numeric", "boolean" or "categorical".
    binary : list
        Design columns that only take the values 0 and 1.
    missing_imputed : dict
        Covariate -> number of missing values filled in (median + indicator for
        numeric, the ``(missing)`` level otherwise). Every covariate is listed,
        with 0 when nothing was missing.
    medians : dict
        Numeric covariate -> median used to fill its missing values.
    missing_columns : list
        Design columns that code missingness (``<name>_missing`` indicators
        and ``<name>[(missing)]`` levels).
    references : dict
        A categorical covariate's reference level, named as a design column would be
        (``event_type[caution]``) -> the design columns of its other levels: a row holds the
        reference level when all of those are 0. Level support checks it as it checks a column
        (:func:`models.comparison.support.level_support`).
    """

    X: pd.DataFrame
    source: dict = field(default_factory=dict)
    kinds: dict = field(default_factory=dict)
    binary: list = field(default_factory=list)
    missing_imputed: dict = field(default_factory=dict)
    medians: dict = field(default_factory=dict)
    missing_columns: list = field(default_factory=list)
    references: dict = field(default_factory=dict)


def _is_boolean(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s.dtype):
        return True
    if s.dtype == object:
        obs = s.dropna()
        return len(obs) > 0 and all(isinstance(v, (bool, np.bool_)) for v in obs)
    return False


def classify(s: pd.Series, force_categorical: bool = False) -> str:
    """Return "numeric", "boolean" or "categorical" for a covariate column."""
    if force_categorical:
        return "categorical"
    if _is_boolean(s):
        return "boolean"
    if pd.api.types.is_numeric_dtype(s.dtype):
        return "numeric"
    return "categorical"


def _levels(s: pd.Series) -> list:
    """Observed levels in reference-first order (category order, else sorted)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        present = np.bincount(codes[codes >= 0], minlength=len(s.cat.categories)) > 0
        return list(s.cat.categories[present])
    obs = s.dropna()
    uniq = list(obs.unique())
    try:
        return sorted(uniq)
    except TypeError:  # mixed types: sort by their text
        return sorted(uniq, key=str)


def is_text(s: pd.Series) -> bool:
    """An object column holding only text (and missing values)."""
    return s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "string"


def text_as_category(df: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """``df`` with each covariate holding only text (and missing values) as a ``category`` column whose categories
    are its values sorted; the others unchanged.

    :func:`build_design` codes such a column as it codes the text: its levels are the categories present, in category
    order (the text's: the distinct values, sorted), the reference first; a missing value (code -1) is the level
    ``(missing)``, as a missing text is; patterns compare the codes, equal exactly when the texts are. So the design matrix, its patterns in order of first appearance and every figure after them are
    the same, but each pass of the own-person rule reads integer codes where it read Python strings several times
    (missing values, levels, indicator columns, patterns): about 5 of the matchings' 12 CPU seconds at 1M persons
    in the well-being comparison's own-person passes (docs/benchmarks.md, "twelfth session"). The readmission and
    reoffending comparisons type their text covariates (and reoffending its ``person_id``) through it too. Text
    columns only: a column of True/False is a boolean covariate."""
    text = [c for c in covariates if is_text(df[c])]
    return df.assign(**{c: pd.Categorical(df[c], categories=sorted(df[c].dropna().unique())) for c in text}) \
        if text else df


def _constant(x: np.ndarray) -> bool:
    """Fewer than two distinct values in ``x`` (no missing values)."""
    return not len(x) or bool(np.all(x == x[0]))


def _indicators(s: pd.Series, miss: np.ndarray, levels: list):
    """For each of ``levels`` (observed values, or :data:`MISSING_LEVEL`), a boolean array: the row holds it.
    A ``category`` column is compared by its integer codes; any other by its values as objects."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        where = {c: i for i, c in enumerate(s.cat.categories)}
        for level in levels:
            yield miss if level == MISSING_LEVEL else codes == where[level]
        return
    lab = s.astype(object).to_numpy()
    lab = np.where(miss, MISSING_LEVEL, lab) if miss.any() else lab
    for level in levels:
        yield lab == level


class _Columns(dict):
    """A dict that refuses to overwrite a design column (e.g. ``age_missing``
    made for ``age`` when the data already has a covariate ``age_missing``)."""

    def __setitem__(self, key, value):
        if key in self:
            raise ComparisonError(
                f"design column {key!r} would be created twice; rename the covariate that clashes with it"
            )
        super().__setitem__(key, value)


def build_design(df: pd.DataFrame, covariates: list[str], categorical: list[str] | None = None, *,
                 counts: np.ndarray | None = None) -> Design:
    """Code ``covariates`` of ``df`` into a numeric design matrix.

    See the module docstring for the coding and the missing-value rule. ``counts``: each row of ``df``
    stands for that many people with its covariate values (the distinct rows of :func:`covariate_patterns`),
    so the missing values are counted, and the median that fills them taken, over the people, not the rows;
    the matrix is then one row per pattern.
    """
    categorical = set(categorical or [])
    counts = np.ones(len(df), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    cols: _Columns = _Columns()
    design = Design(X=pd.DataFrame(index=df.index))
    for cov in covariates:
        if cov not in df.columns:
            raise ComparisonError(f"covariate {cov!r} is not a column of the data")
        s = df[cov]
        miss = s.isna().to_numpy()
        n_miss = int(counts[miss].sum())
        if n_miss == n:
            raise ComparisonError(
                f"covariate {cov!r} is missing for all {n} people analysed; drop it from the covariates"
            )
        kind = classify(s, cov in categorical)
        levels = None if kind == "numeric" else _levels(s)
        if kind == "numeric" and _constant(s.to_numpy(dtype=float, na_value=np.nan)[~miss]):
            levels = _levels(s)  # the one value, for the message
        if levels is not None and len(levels) < 2:
            raise ComparisonError(
                f"covariate {cov!r} is constant ({levels[0]!r}) among the {n} people analysed; "
                "it cannot predict participation, drop it from the covariates"
            )
        design.kinds[cov] = kind
        design.missing_imputed[cov] = n_miss
        if kind == "numeric":
            x = s.to_numpy(dtype=float, na_value=np.nan)
            if not np.all(np.isfinite(x[~miss])):
                raise ComparisonError(f"covariate {cov!r} holds infinite values")
            if n_miss:
                med = median_of_counts(x[~miss], counts[~miss])
                design.medians[cov] = med
                x = np.where(miss, med, x)
                name = f"{cov}_missing"
                cols[cov] = x
                cols[name] = miss.astype(float)
                design.source[cov] = cov
                design.source[name] = cov
                design.binary.append(name)
                design.missing_columns.append(name)
            else:
                cols[cov] = x
                design.source[cov] = cov
            if np.all((x == 0.0) | (x == 1.0)):  # only the values 0 and 1 (x has no missing value here)
                design.binary.append(cov)
            continue
        if kind == "boolean" and n_miss == 0:
            cols[cov] = s.astype(bool).to_numpy().astype(float)
            design.source[cov] = cov
            design.binary.append(cov)
            continue
        # categorical (or boolean with missing values)
        if n_miss:
            levels = levels + [MISSING_LEVEL]
        names = [f"{cov}[{level}]" for level in levels[1:]]
        for level, name, has in zip(levels[1:], names, _indicators(s, miss, levels[1:])):
            cols[name] = has.astype(float)
            design.source[name] = cov
            design.binary.append(name)
            if level == MISSING_LEVEL:
                design.missing_columns.append(name)
        design.references[f"{cov}[{levels[0]}]"] = names
    design.X = _frame(cols, df.index)
    return design


def median_of_counts(values: np.ndarray, counts: np.ndarray) -> float:
    """``numpy.median`` of ``values`` each repeated ``counts`` times, without repeating them: the middle
    value in sorted order, or the mean of the two middle ones when the total count is even."""
    order = np.argsort(values, kind="stable")
    values, ends = values[order], np.cumsum(counts[order])
    total = int(ends[-1])
    middle = values[np.searchsorted(ends, [(total - 1) // 2, total // 2], side="right")]
    return float(np.mean(middle))


def covariate_patterns(df: pd.DataFrame, covariates: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of ``df[covariates]`` (:func:`models.comparison.propensity.distinct`): each row's
    pattern, numbered in order of first appearance, the position of each pattern's first row, and how many
    rows hold it.

    A risk-set design repeats each unit in every trial it is at risk for, with the same covariates, so the
    design matrix is built once per pattern (:func:`build_design` with ``counts``) and read through the
    pattern of each row, never as a rows x columns matrix (8.9 million rows for one readmission comparison at a
    million persons). Columns are
    compared by value (a ``category`` column by its codes; missing values equal to each other).
    """
    columns = []
    for cov in covariates:
        s = df[cov]
        if isinstance(s.dtype, pd.CategoricalDtype):
            columns.append(s.cat.codes.to_numpy())
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            columns.append(s.to_numpy(dtype=float, na_value=np.nan))
        else:
            columns.append(s.to_numpy())
    return distinct(len(df), columns)


def _frame(cols: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    """The columns as one float block, each column freed as it is copied in: pandas would build
    the block beside them (rows x columns twice over, and a new page is slow to get on a busy machine)."""
    names = list(cols)
    block = np.empty((len(names), len(index)))
    for i, name in enumerate(names):
        block[i] = cols.pop(name)
    return pd.DataFrame(block.T, index=index, columns=names, copy=False)
