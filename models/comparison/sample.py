"""``match``: the comparison group, built once and reused for several outcomes.

Steps (each documented in its own module):

1. check the arguments and columns (:class:`ComparisonError` on bad input);
2. exclude rows with a missing treatment, cluster id or value in one of the
   ``outcomes`` columns, counting them (``n_dropped_missing``) and warning;
3. form exact-match strata (missing values are their own ``(missing)``
   level); drop strata without both participants and comparison people
   (participants there count as ``n_dropped_support``);
4. code the covariates and apply the missing-value rule (:mod:`.design`), once
   per distinct pattern of covariate values: each person reads their
   pattern's row of the design matrix;
5. level support: drop people whose covariate level occurs in only one group
   (:mod:`.support`, rule 1);
6. fit the logistic propensity model on the patterns (:mod:`.propensity`); with ``score_groups``,
   steps 5 and 6 (and the caliper) are done within each group (:func:`fit_group`);
7. score support: drop participants whose logit score is outside the
   comparison group's range in their stratum (:mod:`.support`, rule 2);
8. match (:mod:`.matching`) or weight (:mod:`.weighting`);
9. balance (:mod:`.balance`), within each ``balance_groups`` group too (:func:`group_balance`), and the
   design warnings.

The result, a :class:`MatchedSample`, is handed to
:func:`models.comparison.engine.estimate` once per outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.blas import one_blas_thread

from .balance import SMD_THRESHOLD, balance_table, smd_after_by_pattern
from .counts import SampleCounts
from .design import MISSING_LEVEL, build_design, covariate_patterns, is_text
from .errors import ComparisonError
from .matching import ORDERS, match_nearest, pooled_sd
from .propensity import EXTREME_LOGIT, EXTREME_P, PropensityFit, fit_patterns
from .support import level_support, score_support
from .weighting import att_weights, effective_sample_size

METHODS = ("match", "ipw")
JDL_MINIMUM = 60
# below this many comparison people per participant, warn about greedy matching without replacement
# (docs/validation.md: at 2.6 per participant 1:1 matching left biased counts; at 5 it did not)
SCARCE_POOL = 3.0
#: at least this share of participants kept: the estimand is the ATT; below it, the effect on the matched
#: participants (with a warning). The one rule for every outcome (:func:`estimand_label`)
ATT_SHARE = 0.95
#: the estimand's name below :data:`ATT_SHARE`
MATCHED_ONLY = "effect on the matched participants"


def estimand_label(n_matched: int, n_treated: int) -> str:
    """The estimand of a comparison that kept ``n_matched`` of ``n_treated`` participants: "ATT" when at least
    :data:`ATT_SHARE` (95%) of them are kept, else "effect on the matched participants". Every outcome model
    (readmission, reoffending, well-being) names its estimand with this rule (docs/comparison-engine.md, "Estimand")."""
    return "ATT" if n_treated and n_matched >= ATT_SHARE * n_treated else MATCHED_ONLY


def matched_share_note(n_matched: int, n_treated: int) -> str | None:
    """The note of a comparison that did not keep every participant, worded by :func:`estimand_label`'s rule; None
    when every participant was kept."""
    if not n_treated or n_matched >= n_treated:
        return None
    if estimand_label(n_matched, n_treated) == "ATT":
        return (f"{n_matched} of {n_treated} participants matched (at least {100 * ATT_SHARE:.0f}%: the estimate is "
                "read as the effect on the participants, ATT)")
    return f"{n_matched} of {n_treated} participants matched: the estimate applies to the matched participants only"
#: the columns of :attr:`MatchedSample.propensity_scores`
SCORE_COLUMNS = ("_row", "_treated", "_pscore", "_logit", "_in_support")
#: the engine's columns of :attr:`MatchedSample.matched_data`, after the input columns
SAMPLE_COLUMNS = ("_row", "_treated", "_pscore", "_logit", "_weight", "_pair", "_stratum")


def as_list(x, what) -> list[str]:
    """A column argument as a list of names (None -> [], a string -> [it])."""
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    out = list(x)
    if not all(isinstance(c, str) for c in out):
        raise ComparisonError(f"{what} must be column names (strings), got {out!r}")
    return out


def binary01(s: pd.Series, name: str, role: str) -> np.ndarray:
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


def _distinct_below_two(x: np.ndarray) -> bool:
    """``Series.nunique() < 2`` (missing values not counted) without hashing every value."""
    x = x[~np.isnan(x)]
    return not len(x) or bool(np.all(x == x[0]))


def _people_in(person: np.ndarray, pattern: np.ndarray, t: np.ndarray):
    """``people(mask, treated)`` for :func:`~.support.level_support`: the distinct persons among the
    participants' (or comparison) rows whose covariate pattern is in ``mask``."""

    def people(mask: np.ndarray, treated: bool) -> int:
        return len(np.unique(person[mask[pattern] & ((t == 1) == treated)]))

    return people


@dataclass
class GroupFit:
    """The propensity model of one score group (:func:`fit_group`): ``keep`` over the group's patterns, the fit on
    the patterns kept (``propensity``, its ``params`` naming the design columns it used), the rows level support
    dropped and its notes."""

    keep: np.ndarray
    propensity: PropensityFit
    n_treated_dropped: int
    n_control_dropped: int
    notes: list


def fit_group(design, sel: np.ndarray, n_t: np.ndarray, n_c: np.ndarray, common_support: bool, people,
              name: str = "") -> GroupFit:
    """Level support (:func:`~.support.level_support`) and the logistic propensity model on the patterns ``sel`` of
    ``design`` (held by ``n_t`` participants and ``n_c`` comparison people), every note and error prefixed by
    ``name``: the whole sample's, or one score group's. ``people`` counts the people holding a mask over all of
    ``design``'s patterns (:func:`_people_in`), or None."""
    try:
        return _fit_group(design, sel, n_t, n_c, common_support, people, name)
    except ComparisonError as err:
        if not name:
            raise
        raise ComparisonError(f"{name}{err}") from None


def _fit_group(design, sel, n_t, n_c, common_support, people, name) -> GroupFit:
    def within(mask: np.ndarray, treated: bool) -> int:  # a mask over sel, for people() over every pattern
        full = np.zeros(len(design.X), dtype=bool)
        full[sel] = mask
        return people(full, treated)

    X = design.X.iloc[sel]
    lev = level_support(X, n_t, n_c, design.binary, missing_columns=design.missing_columns,
                        drop_treated=common_support, people=None if people is None else within,
                        references=design.references)
    notes = [name + note for note in lev.notes]
    X, n_t, n_c = X[lev.keep], n_t[lev.keep], n_c[lev.keep]
    if lev.dropped_columns:
        X = X[[c for c in X.columns if c not in lev.dropped_columns]]
    flat = [c for c in X.columns if _distinct_below_two(X[c].to_numpy(dtype=float))]
    if flat:
        notes.append(f"{name}design columns constant among the people kept, left out of the model: {flat}")
        X = X.drop(columns=flat)
    if X.shape[1] == 0:
        raise ComparisonError("no covariate varies among the people who can be compared; nothing to match on")
    if n_t.sum() < 2 or n_c.sum() < 2:
        raise ComparisonError(
            f"cohort too small to match after common support: {int(n_t.sum())} participants and "
            f"{int(n_c.sum())} comparison people"
        )
    ps = fit_patterns(X, n_t, n_c, [c for c in design.binary if c in X.columns])
    far = ps.logit < -EXTREME_LOGIT  # kept by the fit only where it has found its maximum
    if (n_c[far] > 0).any():
        mask = np.zeros(len(lev.keep), dtype=bool)
        mask[np.flatnonzero(lev.keep)[far]] = True
        rows = int(n_c[far].sum())
        held = f"{rows} comparison people" if people is None else f"{within(mask, False)} comparison people ({rows} trial rows)"
        notes.append(f"{name}{held} have a propensity score below {EXTREME_P:.0e}".replace("e-0", "e-")
                     + ": no participant is like them, so they are matched with nobody")
    return GroupFit(keep=lev.keep, propensity=ps, n_treated_dropped=lev.n_treated_dropped,
                    n_control_dropped=lev.n_control_dropped, notes=notes)


def group_balance(column: str, values, codes: np.ndarray, X: pd.DataFrame, tb: np.ndarray, local: np.ndarray,
                  w: np.ndarray, pattern: np.ndarray) -> list[str]:
    """The warnings of balance within each group of ``column`` (``codes``: each analysed person's group, an index into
    ``values``): the
    design columns whose |SMD| after matching exceeds :data:`~.balance.SMD_THRESHOLD` among the group's rows, and
    the largest. The balance table pools the groups, where opposite imbalances in two groups can cancel. Each person
    is read as their covariate pattern (:func:`~.balance.smd_after_by_pattern`)."""
    out = []
    sample_group = codes[local]
    Xv = X.to_numpy(dtype=float)
    for g, value in enumerate(values):
        after = sample_group == g
        if not after.any():
            continue
        m = codes == g
        smd = np.abs(smd_after_by_pattern(Xv, pattern[m], tb[m], pattern[local[after]], tb[local[after]], w[after]))
        flagged = np.flatnonzero(smd > SMD_THRESHOLD)
        if len(flagged):
            worst = int(np.nanargmax(smd))
            out.append(f"balance within {column} = {value}: |SMD| after matching or weighting > {SMD_THRESHOLD} for "
                       f"{[X.columns[i] for i in flagged]} (largest {smd[worst]:.2f}, {X.columns[worst]})")
    return out


def exact_strata(data: pd.DataFrame, exact: list[str]) -> np.ndarray:
    """Stratum code of each row: the rank of its ``exact`` values among the distinct ones, sorted column by
    column, missing values forming the level ``(missing)`` (``groupby(exact, sort=True).ngroup()`` of the
    values as objects). Numeric columns without missing values, and columns of text only, are coded by their
    sorted distinct values (``pandas.factorize(sort=True)``, the same ranks: it is how ``groupby`` codes each
    column) without the object frame and its ``groupby``."""
    cols = [data[c] for c in exact]
    if all((pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype)
            and not s.isna().any()) or (is_text(s) and not s.isna().any())
           for s in cols):
        key, levels = np.zeros(len(data), dtype=np.int64), 1
        for s in cols:
            codes, uniques = pd.factorize(s.to_numpy(), sort=True)
            if levels * len(uniques) >= 2**62:  # rank the key so far (same order) before the next digit
                key, combined = pd.factorize(key, sort=True)
                levels = len(combined)
            key, levels = key * len(uniques) + codes, levels * len(uniques)
        return pd.factorize(key, sort=True)[0].astype(np.int64)
    lab = data[exact].astype(object)
    lab = lab.where(lab.notna(), MISSING_LEVEL)
    return lab.groupby(exact, sort=True, dropna=False).ngroup().to_numpy().astype(np.int64)


def _summ(x: np.ndarray) -> dict:
    if len(x) == 0:
        return {k: float("nan") for k in ("min", "q25", "median", "q75", "max")}
    q = np.quantile(x, [0, 0.25, 0.5, 0.75, 1])
    return dict(zip(("min", "q25", "median", "q75", "max"), map(float, q)))


@dataclass(repr=False)
class MatchedSample(SampleCounts):
    """A matched or weighted comparison group, ready for :func:`~models.comparison.engine.estimate`.

    "Analysed" people are those left after the missing-value, exact-stratum and
    level-support rules (everyone in the propensity model). The matched or
    weighted sample is a list of *rows* into the analysed people: with
    replacement, or with tied controls, one person can appear in several
    matched sets.

    Attributes
    ----------
    df : DataFrame
        The input, unchanged (outcomes are read from it).
    rows : ndarray
        Positions in ``df`` of the analysed people.
    treated : ndarray of bool
        Participant flag of the analysed people.
    strata : ndarray of int
        Exact-match stratum code of the analysed people (0 if none).
    person : ndarray or None
        Cluster label (``cluster`` column) of the analysed people, or None.
    X : DataFrame
        Design matrix of the propensity model, one row per covariate pattern (distinct covariate values)
        of the analysed people: a risk-set design repeats each unit in every trial it is at risk for.
    pattern : ndarray or None
        The row of ``X`` of each analysed person (:meth:`design_matrix`); None once no estimate needs it.
    propensity : PropensityFit
    in_support : ndarray of bool
        False for participants outside the comparison group's score range.
    local : ndarray
        Positions into the analysed people of every row of the sample.
    weight, pair : ndarray
        Weight and matched-set id (-1 under IPW) of every sample row.
    estimand : str
        "ATT" when at least :data:`ATT_SHARE` of the participants are kept,
        else "effect on the matched participants".
    balance, overlap, warnings, missing_imputed, settings :
        As in :class:`~models.comparison.results.ComparisonResults`.
    n_* : int
        The counts of :class:`~models.comparison.results.ComparisonResults`.
    """

    df: pd.DataFrame
    treatment: str
    covariates: list
    method: str
    cluster: str | None
    rows: np.ndarray
    treated: np.ndarray
    strata: np.ndarray
    person: np.ndarray | None
    X: pd.DataFrame
    pattern: np.ndarray | None
    binary: list
    source: dict
    propensity: PropensityFit
    in_support: np.ndarray
    local: np.ndarray
    weight: np.ndarray
    pair: np.ndarray
    balance: pd.DataFrame
    overlap: dict
    missing_imputed: dict
    warnings: list
    settings: dict
    outcomes: list = field(default_factory=list)
    estimand: str = "ATT"

    @property
    def logit(self) -> np.ndarray:
        return self.propensity.logit

    @property
    def share_participants_matched(self) -> float:
        """Participants kept (``n_matched``) over participants analysed (``n_treated``)."""
        return float(self.n_matched / self.n_treated) if self.n_treated else float("nan")

    def clusters(self) -> list[np.ndarray]:
        """Cluster labels of the sample rows for the variance (see ``docs/comparison-engine.md``).

        Matching: the matched set, plus the person (the ``cluster`` column if
        given, else the row) when a person can appear in more than one set.
        IPW: the person (the ``cluster`` column if given, else the row).
        """
        who = self.local if self.person is None else self.person[self.local]
        if self.method == "ipw":
            return [who]
        reused = (self.person is not None or bool(self.settings.get("replace"))
                  or bool(np.bincount(self.local).max() > 1))  # a row twice (np.unique's hashing took 0.5 s at 1M)
        return [self.pair, who] if reused else [self.pair]

    def design_matrix(self, positions: np.ndarray | None = None) -> np.ndarray:
        """The propensity model's design matrix of the analysed people (of those at ``positions``): each
        person's row is their pattern's row of :attr:`X`."""
        rows = self.pattern if positions is None else self.pattern[positions]
        return self.X.to_numpy(dtype=float)[rows]

    @property
    def matched_data(self) -> pd.DataFrame:
        """The sample rows: input columns plus ``_row``, ``_treated``, ``_pscore``, ``_logit``,
        ``_weight``, ``_pair`` and ``_stratum`` (see :class:`ComparisonResults`)."""
        md = self.df.take(self.rows[self.local])  # a new frame (take marks it no copy of df), its index kept
        for name in SAMPLE_COLUMNS:
            md[name] = self._engine_column(name, sample=True)
        return md

    def _engine_column(self, name: str, sample: bool) -> np.ndarray:
        """One engine column, over the sample rows (``sample``) or every row of the propensity model."""
        if name in ("_weight", "_pair"):  # defined on the sample rows only
            return self.weight if name == "_weight" else self.pair
        values = {"_row": self.rows, "_treated": self.treated, "_pscore": self.propensity.score,
                  "_logit": self.propensity.logit, "_stratum": self.strata, "_in_support": self.in_support}[name]
        values = values[self.local] if sample else values
        return values.astype(np.int8) if name == "_treated" else values

    def matched_columns(self, columns) -> pd.DataFrame:
        """:attr:`matched_data` with only ``columns`` (input or engine columns, in that order), made
        column by column: no other column of the sample rows is copied."""
        rows = self.rows[self.local]
        return pd.DataFrame({c: self._engine_column(c, sample=True) if c in SAMPLE_COLUMNS else self.df[c].array.take(rows)
                             for c in columns}, index=self.df.index.take(rows))

    @property
    def propensity_scores(self) -> pd.DataFrame:
        return self.score_columns(SCORE_COLUMNS)

    def score_columns(self, columns) -> pd.DataFrame:
        """:attr:`propensity_scores` with only ``columns`` (of :data:`SCORE_COLUMNS`)."""
        return pd.DataFrame({c: self._engine_column(c, sample=False) for c in columns})

    def __repr__(self) -> str:
        return (f"<MatchedSample {self.method}: {self.n_matched} of {self.n_treated} participants kept, "
                f"{self.n_control_matched} comparison people>")


@one_blas_thread()
def match(
    df: pd.DataFrame,
    treatment: str,
    covariates,
    method: str = "match",
    caliper: float | None = 0.2,
    ratio: int = 1,
    replace: bool = False,
    exact=None,
    seed: int = 0,
    *,
    cluster: str | None = None,
    outcomes=None,
    categorical=None,
    common_support: bool = True,
    order: str = "descending",
    stabilize: bool = False,
    trim_quantile: float | None = None,
    score_groups: str | None = None,
    balance_groups: str | None = None,
) -> MatchedSample:
    """Build the matched or weighted comparison group (see the module docstring).

    ``df``, ``treatment`` and ``covariates`` are as in
    :func:`~models.comparison.engine.estimate_effect`, which passes the design
    parameters below on unchanged.

    Parameters
    ----------
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
        Seeds the "random" matching order only.
    cluster : str, optional
        Column of a person id (or other cluster) when a person can have
        several rows: variances are then clustered on it as well (two-way
        with the matched set when matching, one-way under IPW).
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
    score_groups : str, optional
        Column grouping the rows into score groups (matching only; no missing values): the column
        joins the exact strata, and level support, the propensity model and the caliper (in SDs of
        the group's own logit score) are fitted within each group; balance is also checked within
        each group (docs/comparison-engine.md, "Score groups"). A risk-set design whose trial days
        select on the covariates in different ways (readmission's routes) gives each its own score.
    balance_groups : str, optional
        Column (no missing values) whose groups' balance after matching or weighting is also checked
        one by one: a warning names each group with a design column's |SMD| above 0.1, which the
        balance table, pooled over the groups, can hide. Default: the ``score_groups`` column.
    outcomes : list of str, optional
        Columns that must be present for a row to be analysed (a row missing
        any of them is excluded before the propensity model and counted in
        ``n_dropped_missing``), so several outcomes can be estimated on one
        sample.
    """
    if not isinstance(df, pd.DataFrame):
        raise ComparisonError("df must be a pandas DataFrame")
    if method not in METHODS:
        raise ComparisonError(f"method must be one of {METHODS}, not {method!r}")
    if isinstance(ratio, bool) or int(ratio) != ratio or ratio < 1:
        raise ComparisonError(f"ratio must be a positive integer, not {ratio!r}")
    ratio = int(ratio)
    if caliper is not None and not (np.isfinite(caliper) and caliper > 0):
        raise ComparisonError(f"caliper must be a positive number of SDs or None, not {caliper!r}")
    if order not in ORDERS:
        raise ComparisonError(f"order must be one of {ORDERS}, not {order!r}")
    covariates = as_list(covariates, "covariates")
    exact = as_list(exact, "exact")
    categorical = as_list(categorical, "categorical")
    outcomes = [c for c in as_list(outcomes, "outcomes") if c]
    if not covariates:
        raise ComparisonError("at least one covariate is needed for the propensity model")
    if len(set(covariates)) != len(covariates):
        raise ComparisonError(f"covariates listed twice: {covariates}")
    if cluster is not None and not isinstance(cluster, str):
        raise ComparisonError(f"cluster must be a column name, not {cluster!r}")
    if score_groups is not None:
        if not isinstance(score_groups, str):
            raise ComparisonError(f"score_groups must be a column name, not {score_groups!r}")
        if method != "match":
            raise ComparisonError(
                "score_groups applies to matching (method='match'): under IPW the exact strata enter one propensity "
                "model as a categorical covariate, and the weights' variance allows for that one model only")
        if score_groups in covariates:
            raise ComparisonError(f"the score_groups column {score_groups!r} cannot also be a covariate")
    if balance_groups is not None and not isinstance(balance_groups, str):
        raise ComparisonError(f"balance_groups must be a column name, not {balance_groups!r}")
    balance_groups = balance_groups or score_groups
    needed = [treatment, *outcomes, *covariates, *exact] + ([cluster] if cluster else []) + [
        c for c in dict.fromkeys((score_groups, balance_groups)) if c]
    absent = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if absent:
        raise ComparisonError(f"columns not in the data: {absent}")
    for col in [treatment, *outcomes]:
        if col in covariates:
            role = "treatment" if col == treatment else "outcome"
            raise ComparisonError(f"the {role} column {col!r} cannot also be a covariate")

    warnings: list[str] = []
    n_input = len(df)

    # ------------------------------------------------- missing treatment/outcomes
    key_cols = list(dict.fromkeys([treatment, *outcomes] + ([cluster] if cluster else [])))
    miss = df[key_cols].isna()
    drop = miss.any(axis=1).to_numpy()
    n_dropped_missing = int(drop.sum())
    if n_dropped_missing:
        per = {c: int(v) for c, v in miss.sum().items() if v}
        warnings.append(
            f"{n_dropped_missing} rows excluded for missing values in {per} (treatment/outcome values are never imputed)"
        )
    rows = np.flatnonzero(~drop)  # positions into df
    # the rows analysed, and of them only the columns the design reads (the input, unchanged, when no row is
    # excluded: a risk-set design's input has millions of rows, and the design reads it column by column)
    data = df[list(dict.fromkeys(needed))].iloc[rows] if n_dropped_missing else df
    t = binary01(data[treatment], treatment, "treatment")
    person = None if cluster is None else pd.factorize(data[cluster])[0].astype(np.int64)
    for role, col in (("score_groups", score_groups), ("balance_groups", balance_groups)):
        if col is not None and (n_na := int(data[col].isna().sum())):
            raise ComparisonError(f"{role} column {col!r} has {n_na} missing values; every row needs a group")

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

    pattern = None

    def subset(keep):
        nonlocal rows, data, t, strata, group, bgroup, person, pattern
        if len(keep) == len(rows):  # everyone kept (keep is sorted positions): nothing to copy
            return
        rows, t, strata, group = rows[keep], t[keep], strata[keep], group[keep]
        bgroup = None if bgroup is None else bgroup[keep]
        data = None if data is None else data[list(dict.fromkeys(needed))].iloc[keep]
        person = None if person is None else person[keep]
        pattern = None if pattern is None else pattern[keep]

    # ------------------------------------------------------------ exact strata
    missing_imputed: dict = {}
    n_dropped_support = 0
    n_control_exact = 0
    strata = np.zeros(len(t), dtype=np.int64)
    # the score group of each row (0 without score_groups) and the groups' values, in sorted order
    group, group_values = (np.zeros(len(t), dtype=np.int64), np.zeros(1)) if score_groups is None else \
        pd.factorize(data[score_groups], sort=True)
    # the balance group of each row and the groups' values (None: balance is the pooled table's only)
    bgroup, bgroup_values = (None, None) if balance_groups is None else pd.factorize(data[balance_groups], sort=True)
    if exact or score_groups:
        for c in exact:
            nm = int(data[c].isna().sum())
            if nm:
                missing_imputed[f"exact:{c}"] = nm
                warnings.append(f"exact column {c!r}: {nm} missing values form their own stratum {MISSING_LEVEL!r}")
        strata = exact_strata(data, [*exact, score_groups] if score_groups else exact)  # groups split no stratum

        has_t = np.bincount(strata, weights=t) > 0
        has_c = np.bincount(strata, weights=1 - t) > 0
        ok = (has_t & has_c)[strata]
        lost_t = int(np.sum(~ok & (t == 1)))
        n_control_exact = int(np.sum(~ok & (t == 0)))
        if lost_t:
            n_dropped_support += lost_t
            warnings.append(f"{lost_t} participants are in exact strata with no comparison people and are dropped")
        subset(np.flatnonzero(ok))
        if t.sum() < 2 or (1 - t).sum() < 2:
            raise ComparisonError(
                f"cohort too small to match within exact strata {exact}: {int(t.sum())} participants and "
                f"{int((1 - t).sum())} comparison people share a stratum"
            )

    # ------------------------------------------------------- design + propensity
    design_df = data
    ps_covariates = list(covariates)
    if exact and method == "ipw" and len(np.unique(strata)) > 1:
        design_df = data[covariates].assign(_exact_stratum=strata)
        ps_covariates.append("_exact_stratum")
        categorical = [*categorical, "_exact_stratum"]
    # the design matrix has a row per distinct pattern of covariate values, and each person the number of theirs
    # with score groups a pattern is also within one group (its people are fitted by that group's model)
    pattern, first, counts = covariate_patterns(design_df, [*ps_covariates, *([score_groups] if score_groups else [])])
    design = build_design(design_df.iloc[first], ps_covariates, categorical, counts=counts)
    pattern_group = group[first]
    data = design_df = first = None  # the design matrix and the patterns hold all the model reads from here on
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

    # ------------------- level support (one-sided levels) and propensity, within each score group
    n_t_held = np.bincount(pattern, weights=t, minlength=len(counts)).astype(np.int64)
    people = None if person is None else _people_in(person, pattern, t)
    held = np.zeros(len(counts), dtype=bool)
    score, lp = np.zeros(len(counts)), np.zeros(len(counts))
    kept_columns, params, iterations = set(), {}, 0
    n_control_dropped_support = n_control_exact
    for g, value in enumerate(group_values):
        sel = np.flatnonzero(pattern_group == g)
        fit = fit_group(design, sel, n_t_held[sel], counts[sel] - n_t_held[sel], common_support, people,
                         "" if score_groups is None else f"score group {score_groups} = {value}: ")
        warnings += fit.notes
        n_dropped_support += fit.n_treated_dropped
        n_control_dropped_support += fit.n_control_dropped
        held[sel[fit.keep]] = True
        score[sel[fit.keep]], lp[sel[fit.keep]] = fit.propensity.score, fit.propensity.logit
        kept_columns.update(fit.propensity.params.index)
        params[value] = fit.propensity.params
        iterations = max(iterations, fit.propensity.iterations)
    # the columns of any group's model, in the design's order: the design matrix of balance and corrections
    X = design.X.loc[held, [c for c in design.X.columns if c in kept_columns]]
    binary = [c for c in design.binary if c in X.columns]
    design.X = None  # X holds the columns and patterns kept
    if not held.all():
        subset(np.flatnonzero(held[pattern]))
        pattern = (np.cumsum(held) - 1)[pattern]  # numbered among the patterns kept
    ps = PropensityFit(score=score[held], logit=lp[held], iterations=iterations,
                       params=params[group_values[0]] if score_groups is None else pd.concat(params, names=[score_groups, "term"])
                       ).take(pattern)
    held = score = lp = None
    logit = ps.logit
    tb = t.astype(bool)
    t = None  # tb from here on
    # the caliper is in SDs of each group's own score (the score its participants are matched on), over the people
    # scored within 1e-9 of neither 0 nor 1: a fit at its maximum can score comparison people no participant is like
    # at logits of -20 to -28 (propensity.fit_patterns), who would widen it; every other fit has none
    near = np.abs(logit) <= EXTREME_LOGIT
    sd_logit = pooled_sd(logit[near], tb[near])
    members = [np.flatnonzero(group == g) for g in range(len(group_values))] if score_groups else [np.arange(len(tb))]
    width = [None if caliper is None or method != "match" else caliper * pooled_sd(logit[m[near[m]]], tb[m[near[m]]])
             for m in members]

    # ---------------------------------------------------------- score support
    # min-max support only where no caliper does the job (IPW, or matching without a caliper): with a
    # caliper it would also drop participants just beyond the comparison range who have a control in reach
    use_score_support = common_support and not (method == "match" and caliper is not None)
    in_support = score_support(logit, tb, strata) if use_score_support else np.ones(len(tb), dtype=bool)
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
        # with score groups, the widest group's caliper (each group's width is in ``score_groups``)
        "caliper_width": None if width[0] is None else float(max(width)),
    }
    if score_groups:
        overlap["score_groups"] = {value: {"n_rows": len(m), "caliper_width": None if w_g is None else float(w_g)}
                                   for value, m, w_g in zip(group_values, members, width)}
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
        a_t, a_c, cw, t_set, c_set, n_sets = [], [], [], [], [], 0
        for m_g, width_g in zip(members, width):  # strata are nested in score groups: matched group by group
            t_pos = m_g[tb[m_g] & in_support[m_g]]
            c_pos = m_g[~tb[m_g]]
            if not len(t_pos):
                continue
            m = match_nearest(
                logit[t_pos], logit[c_pos], strata_treated=strata[t_pos], strata_control=strata[c_pos],
                ratio=ratio, replace=replace, caliper_width=width_g, order=order, seed=seed,
            )
            n_dropped_caliper += m.n_dropped_caliper
            a_t.append(t_pos[m.matched_treated])
            a_c.append(c_pos[m.set_controls])
            cw.append(m.control_weight)
            t_set.append(m.treated_set + n_sets)
            c_set.append(m.control_set + n_sets)
            n_sets += int(m.treated_set.max()) + 1 if len(m.treated_set) else 0
        a_t, a_c = np.concatenate(a_t), np.concatenate(a_c)
        if len(a_t) == 0:
            raise ComparisonError(
                f"no participant has a comparison person within the caliper ({caliper} SD = "
                f"{' / '.join(f'{w_g:.4g}' for w_g in width)} on the logit scale); widen the caliper or review the "
                "covariates"
            )
        if n_dropped_caliper:
            warnings.append(
                f"{n_dropped_caliper} participants had no comparison person within the caliper and are dropped; "
                "the estimate applies to the matched participants only"
            )
        local = np.r_[a_t, a_c]  # positions into the analysed people
        w = np.r_[np.ones(len(a_t)), np.concatenate(cw)]
        pair = np.r_[np.concatenate(t_set), np.concatenate(c_set)]
        used = np.flatnonzero(np.bincount(a_c, minlength=len(tb)))  # np.unique(a_c), without sorting
        n_control_matched = len(used)
        unit_w = np.bincount(a_c, weights=w[len(a_t):], minlength=len(tb))[used]
        ess = effective_sample_size(unit_w)
        m = t_pos = c_pos = a_t = a_c = cw = t_set = c_set = used = None  # local, w and pair hold the sample
    else:
        local = np.flatnonzero(in_support)
        w = att_weights(ps.score, tb, stabilize=stabilize, trim_quantile=trim_quantile)[local]
        pair = np.full(len(local), -1, dtype=np.int64)
        n_control_matched = int(np.sum((~tb[local]) & (w > 0)))
        ess = effective_sample_size(w[~tb[local]])
    n_matched = int(np.sum(tb[local]))
    share = n_matched / n_treated
    estimand = estimand_label(n_matched, n_treated)
    if estimand != "ATT":
        warnings.append(
            f"only {100 * share:.0f}% of participants ({n_matched} of {n_treated}) have a comparison; the estimate "
            "is the effect on the matched participants, who may differ from the participants as a whole"
        )

    # ----------------------------------------------------------------- balance
    # a person can hold several rows: one per trial day at risk (``cluster``), or one per set reusing them
    bal = balance_table(X, tb, X, tb[local], w, source=design.source, binary=binary, before_rows=pattern,
                        after_rows=pattern[local], people_before=person,
                        people_after=local if person is None else person[local])
    flagged = bal.loc[bal["flag"], "covariate"].tolist()
    if flagged:
        warnings.append(f"balance: |SMD| after {'matching' if method == 'match' else 'weighting'} > 0.1 for {flagged}")
    if balance_groups and len(bgroup_values) > 1:  # one group's balance is the table's
        warnings += group_balance(balance_groups, bgroup_values, bgroup, X, tb, local, w, pattern)
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

    settings = {
        "method": method, "caliper": caliper, "ratio": ratio, "replace": replace, "exact": exact or None,
        "seed": seed, "cluster": cluster, "categorical": categorical or None,
        "common_support": common_support, "order": order, "stabilize": stabilize,
        "trim_quantile": trim_quantile, "covariates": covariates, "score_groups": score_groups,
        "balance_groups": balance_groups,
    }
    return MatchedSample(
        df=df, treatment=treatment, covariates=covariates, method=method, cluster=cluster, rows=rows, treated=tb,
        strata=strata, person=person, X=X, pattern=pattern, binary=binary, source=design.source, propensity=ps,
        in_support=in_support, local=local, weight=w, pair=pair, balance=bal, overlap=overlap,
        missing_imputed=missing_imputed, warnings=warnings, settings=settings, n_input=n_input,
        n_dropped_missing=n_dropped_missing, n_treated=n_treated, n_control=n_c_all,
        n_control_dropped_support=n_control_dropped_support, n_dropped_support=n_dropped_support,
        n_dropped_caliper=n_dropped_caliper, n_matched=n_matched, n_control_matched=n_control_matched,
        ess_control=float(ess), outcomes=outcomes, estimand=estimand,
    )
