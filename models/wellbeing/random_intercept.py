"""Exact REML fit of the linear random-intercept model, vectorised with group sums.

The model, for person (group) ``i`` with ``n_i`` readings::

    y_i = X_i beta + u_i 1 + e_i,    u_i ~ N(0, tau2),    e_i ~ N(0, sigma2 I)

so ``V_i = sigma2 (I + lam J)`` with ``lam = tau2 / sigma2`` and ``J`` the all-ones matrix.
Its inverse and determinant are closed-form (compound symmetry; Searle, Casella & McCulloch
1992, *Variance Components*, ch. 3 (the one-way classification) and ch. 6 (ML and REML);
Pinheiro & Bates 2000, *Mixed-Effects Models in S and S-PLUS*, ch. 2)::

    V_i^-1     = (I - g_i J) / sigma2,     g_i = lam / (1 + n_i lam)
    log|V_i|   = n_i log sigma2 + log(1 + n_i lam)

Write ``M = [X y]`` and ``m_i`` for the person's mean row of ``M``. Because
``M_i' (I - g_i J) M_i = W_i + n_i / (1 + n_i lam) m_i m_i'`` (``W_i`` the within-person
cross-products), every quadratic form the likelihood needs is one ``(p+1) x (p+1)`` matrix::

    Omega(lam) = M' V^-1 M sigma2 = W + sum_n  n / (1 + n lam)  K_n,    K_n = sum_{i: n_i = n} m_i m_i'

with ``W`` the pooled within-person cross-products. ``W`` and the ``K_n`` (one per distinct
group size) are computed once; each likelihood evaluation then costs a few
``(p+1) x (p+1)`` operations, whatever the number of people. All terms are positive
semi-definite, so nothing cancels as ``lam`` grows. The Cholesky factor of ``Omega``,
``[[L, 0], [l', d]]``, gives ``X'V^-1X sigma2 = L L'``, ``beta = L'^-1 l`` (GLS) and the
residual quadratic form ``q = d^2``.

REML (Patterson & Thompson 1971, Biometrika 58:545-554; Harville 1977, JASA 72:320-338)
with ``sigma2`` profiled out analytically (``sigma2 = q / (N - p)``; Pinheiro & Bates 2000,
section 2.2) leaves one parameter::

    l_R(lam) = -1/2 [ (N-p) log(2 pi) + (N-p) log(q / (N-p)) + sum_i log(1 + n_i lam)
                      + log|L L'| + (N-p) ]

the same constant and form as statsmodels ``MixedLM(reml=True)`` (its ``llf``). It is
maximised over ``lam >= 0``: on a grid of ``log lam`` in [-15, 15] (step 0.5), then at the
root of the analytic derivative ``d l_R / d log lam`` (Brent's method) between the best grid
point's neighbours. When the best grid point is the lowest, the boundary ``lam = 0`` is the
estimate if the slope there is not positive, else the root in [0, e^-14.5]. A maximum on the
upper edge of the grid, or a bracket whose slope does not change sign, is reported as not
converged.

Covariance of the fixed effects. The usual REML Wald covariance is ``(X'V^-1X)^-1``
(``cov_gls``). statsmodels' ``cov_params()`` is not quite that: it inverts the observed
Hessian of its log-likelihood in ``(beta, lam)`` jointly (``MixedLM.hessian``), whose
``beta x lam`` block ``(N-p)/q X'V_s^-1 J V_s^-1 r`` is not zero at the estimate (it is zero
only in expectation). The difference is small (0.01-0.25% in SE on the test data, 3% at
``lam = 0``). So that the model's results stay statsmodels', ``cov_params`` reproduces its
definition with closed-form derivatives (``V_s = V / sigma2``)::

    H_bb = -(N-p)/q A,                     A = X'V_s^-1X
    H_bl = (N-p)/q [Omega' e]_beta,        e = [-beta, 1]
    H_ll = -1/2 [ (N-p) (q''/q - (q'/q)^2) - sum_i n_i^2/(1+n_i lam)^2
                  + tr(A^-1 A'') - tr(A^-1 A' A^-1 A') ]

with ``Omega' = -sum_n n^2/(1+n lam)^2 K_n``, ``Omega'' = sum_n 2 n^3/(1+n lam)^3 K_n``,
``q' = e'Omega'e``, ``q'' = e'Omega''e`` and ``A', A''`` the leading blocks of ``Omega'``,
``Omega''``; ``cov_params`` is the ``beta`` block of ``(-H)^-1``.

Person-clustered covariance (``cov_robust``). Both model-based covariances assume the model's
correlation: one person intercept and independent readings otherwise. When that is wrong,
e.g. readings of one occasion share their hours across up to 10 areas and each area has its
own person-level level, the cluster-robust ("sandwich") covariance of the GLS estimator
stays valid (Liang & Zeger 1986, Biometrika 73:13-22; Cameron & Miller 2015, J Hum Resour
50:317, section VII.B)::

    cov_robust = c A^-1 (sum_i s_i s_i') A^-1,   A = X'V_s^-1X,
    s_i = X_i' V_s,i^-1 r_i = X_i' r_i - g_i n_i^2 xbar_i rbar_i,   r_i = y_i - X_i beta

(``V_s,i^-1 = I - g_i J``, so ``sigma2`` cancels), with the CR1 factor
``c = G/(G-1) (N-1)/(N-p)`` of statsmodels' OLS ``cov_type="cluster"``, which it equals when
``lam = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
from scipy import linalg, optimize, sparse

from models.blas import one_blas_thread

GRID = np.arange(-15.0, 15.0 + 1e-9, 0.5)  # log lam
#: rows per block of the in-place centring and columns per block of the clustered sums: no N x p temporary (a pooled
#: fit at 1M persons has 2.5M readings x 40 columns, 0.8 GB a copy); every element is computed as before, to the bit
BLOCK = 65536
COLUMNS = 8


class SingularDesignError(np.linalg.LinAlgError):
    """The fixed-effects design matrix is not of full column rank."""


@dataclass(frozen=True)
class RandomInterceptFit:
    """REML estimates of a random-intercept model (names follow statsmodels' MixedLMResults)."""

    fe_params: pd.Series  # beta, indexed by the patsy term names
    cov_params: pd.DataFrame  # statsmodels-compatible covariance of beta (see the module docstring)
    cov_gls: pd.DataFrame  # (X'V^-1X)^-1
    cov_robust: pd.DataFrame  # person-clustered (CR1 sandwich) covariance of beta (module docstring)
    tau2: float  # random-intercept variance (statsmodels: cov_re)
    sigma2: float  # residual variance (statsmodels: scale)
    llf: float  # REML log-likelihood, statsmodels' constant
    converged: bool
    n_obs: int
    n_groups: int

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov_params)), index=self.fe_params.index)


class _GroupSums:
    """W and the K_n of the module docstring, for one ``M = [X y]`` and grouping. ``M`` (C-ordered floats) becomes the
    within-person deviations, in place: no second N x (p+1) matrix (0.8 GB for a pooled fit at 1M persons)."""

    def __init__(self, M: np.ndarray, groups) -> None:
        codes, _ = pd.factorize(pd.Series(groups), sort=False)
        if (codes < 0).any():
            raise ValueError("missing group labels")
        self.N, self.p = M.shape[0], M.shape[1] - 1
        G = int(codes.max()) + 1
        sizes = np.bincount(codes, minlength=G)
        self.codes = codes
        self.Z = sparse.csr_matrix((np.ones(self.N), (codes, np.arange(self.N))), shape=(G, self.N))  # person sums
        means = np.asarray(self.Z @ M) / sizes[:, None]
        for start in range(0, self.N, BLOCK):  # M becomes the within-person deviations, in place
            M[start:start + BLOCK] -= means[codes[start:start + BLOCK]]
        self.W = M.T @ M
        self.sizes, size_of_group = np.unique(sizes, return_inverse=True)
        self.counts = np.bincount(size_of_group).astype(float)
        self.K = np.empty((len(self.sizes), self.p + 1, self.p + 1))
        for k in range(len(self.sizes)):
            m = means[size_of_group == k]
            self.K[k] = m.T @ m
        self.n_groups = G
        self.scale = np.sqrt(np.diag(self.omega(0.0)))  # column norms of [X y]: equilibrates Omega
        self.scale[self.scale == 0] = 1.0

    def omega(self, lam: float, order: int = 0) -> np.ndarray:
        """d^order Omega / d lam^order."""
        n, f = self.sizes.astype(float), 1.0 + self.sizes * lam
        w = {0: n / f, 1: -(n**2) / f**2, 2: 2 * n**3 / f**3}[order]
        base = self.W if order == 0 else 0.0
        return base + np.tensordot(w, self.K, axes=1)

    def full_rank(self) -> bool:
        xtx = self.omega(0.0)[: self.p, : self.p] / np.outer(self.scale[: self.p], self.scale[: self.p])
        return bool(np.linalg.eigvalsh(xtx)[0] > self.p * 1e-12)

    def profile(self, lam: float) -> tuple[float, np.ndarray, np.ndarray, float]:
        """(REML log-likelihood, beta, Cholesky factor of A = X'V_s^-1X, q) at lam."""
        p, dof = self.p, self.N - self.p
        s = self.scale
        L = np.linalg.cholesky(self.omega(lam) / np.outer(s, s))  # scaled for conditioning; undone below
        Lx, l, d = L[:p, :p] * s[:p, None], L[p, :p] * s[p], L[p, p] * s[p]
        beta = linalg.solve_triangular(Lx, l, trans="T", lower=True)
        q = d * d
        logdet_a = 2 * np.log(np.abs(np.diag(Lx))).sum()
        llf = -0.5 * (dof * np.log(2 * np.pi) + dof * np.log(q / dof) + self.counts @ np.log1p(self.sizes * lam)
                      + logdet_a + dof)
        return float(llf), beta, Lx, float(q)

    def slope(self, lam: float) -> float:
        """d l_R / d lam."""
        _, beta, Lx, q = self.profile(lam)
        e = np.append(-beta, 1.0)
        o1 = self.omega(lam, 1)
        a_inv_a1 = _chol_solve(Lx, o1[: self.p, : self.p])
        return float(-0.5 * ((self.N - self.p) * (e @ o1 @ e) / q
                             + self.counts @ (self.sizes / (1.0 + self.sizes * lam)) + np.trace(a_inv_a1)))

    def hessian(self, lam: float, beta: np.ndarray, Lx: np.ndarray, q: float) -> np.ndarray:
        """statsmodels' Hessian in (beta, lam) at the estimate (module docstring)."""
        p, dof = self.p, self.N - self.p
        e = np.append(-beta, 1.0)
        o1, o2 = self.omega(lam, 1), self.omega(lam, 2)
        q1, q2 = e @ o1 @ e, e @ o2 @ e
        a1, a2 = _chol_solve(Lx, o1[:p, :p]), _chol_solve(Lx, o2[:p, :p])
        h = np.empty((p + 1, p + 1))
        h[:p, :p] = -dof / q * (Lx @ Lx.T)
        h[:p, p] = h[p, :p] = dof / q * (o1 @ e)[:p]
        h[p, p] = -0.5 * (dof * (q2 / q - (q1 / q) ** 2) - self.counts @ (self.sizes**2 / (1.0 + self.sizes * lam) ** 2)
                          + np.trace(a2) - np.trace(a1 @ a1))
        return h


def _chol_solve(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(L L')^-1 B for a lower Cholesky factor L."""
    return linalg.cho_solve((L, True), B)


def _maximise(sums: _GroupSums) -> tuple[float, bool]:
    """(lam at the REML maximum, converged): best point of the log-lam grid, then the root of the slope."""
    def slope_theta(theta: float) -> float:  # d l_R / d log lam
        lam = float(np.exp(theta))
        return lam * sums.slope(lam)

    k = int(np.argmax([sums.profile(float(np.exp(t)))[0] for t in GRID]))
    if k == len(GRID) - 1:  # lam beyond e^15: no within-person variation left to speak of
        return float(np.exp(GRID[-1])), False
    if k == 0:  # at or next to the boundary lam = 0
        if sums.slope(0.0) <= 0:
            return 0.0, True
        hi = float(np.exp(GRID[1]))
        if sums.slope(hi) >= 0:
            return float(np.exp(GRID[0])), False
        lam, found = optimize.brentq(sums.slope, 0.0, hi, xtol=1e-14 * hi, full_output=True)
        return float(lam), found.converged
    lo, hi = GRID[k - 1], GRID[k + 1]
    if not slope_theta(lo) > 0 > slope_theta(hi):
        return float(np.exp(GRID[k])), False
    theta, found = optimize.brentq(slope_theta, lo, hi, xtol=1e-12, full_output=True)
    return float(np.exp(theta)), found.converged


def _cluster_robust(y: np.ndarray, X: np.ndarray, sums: _GroupSums, beta: np.ndarray, lam: float,
                    Lx: np.ndarray) -> np.ndarray:
    """The CR1 person-clustered sandwich covariance of the GLS estimate (module docstring); the persons and their sums
    (``Z``) are those of ``sums``."""
    N, p = X.shape
    G, Z = sums.n_groups, sums.Z
    n = np.bincount(sums.codes, minlength=G).astype(float)
    r = y - X @ beta
    xr = np.hstack([np.asarray(Z @ (X[:, c:c + COLUMNS] * r[:, None])) for c in range(0, p, COLUMNS)])  # X_i' r_i
    xsum = np.hstack([np.asarray(Z @ X[:, c:c + COLUMNS]) for c in range(0, p, COLUMNS)])  # n_i xbar_i
    rsum = np.asarray(Z @ r).ravel()  # n_i rbar_i
    g = lam / (1.0 + n * lam)
    scores = xr - (g * rsum)[:, None] * xsum
    bread = _chol_solve(Lx, np.eye(p))
    c = G / (G - 1) * (N - 1) / (N - p) if G > 1 and N > p else np.nan
    return c * bread @ (scores.T @ scores) @ bread


class DesignBuffer:
    """Memory that successive fits lay their ``[X y]`` matrix out in (grown when a fit needs more): a fit's matrix is
    written whole before it is read, and a page this process has touched is far cheaper to write again than a new one
    (on the benchmark VM a new 600 MB cost 2.8 s, a reused one 0.13 s; issue 18). Fit the largest model first."""

    def __init__(self) -> None:
        self._memory = np.empty(0)

    def matrix(self, rows: int, columns: int) -> np.ndarray:
        """A C-ordered ``rows`` x ``columns`` float matrix in the buffer (its values are whatever was there)."""
        if self._memory.size < rows * columns:
            self._memory = np.empty(0)  # freed before the larger one is taken
            self._memory = np.empty(rows * columns)
        return self._memory[: rows * columns].reshape(rows, columns)


def main_effects_design(data: pd.DataFrame | dict[str, pd.Series], y: str,
                        terms: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``y``, the design matrix and its column names of ``y ~ term + term + ...`` exactly as ``patsy.dmatrices`` builds
    them for main effects: an intercept, then the categorical terms (pandas Categorical columns; treatment coding
    against the first category, columns ``term[T.level]``), then the numeric ones, each group in the order given
    (patsy's term order). ``y`` and the design are views of one C-ordered float matrix ``[X y]``, filled in place:
    patsy's per-factor arrays and the data frame it returns cost most of the fits' time and memory at 1M persons
    (issue 18); ``tests/models/test_random_intercept.py`` checks the two agree exactly."""
    M, names = _design_matrix(data, y, terms, None, None)
    return M[:, -1], M[:, :-1], names


def _design_matrix(data, y: str, terms: list[str], out: np.ndarray | None,
                   buffer: DesignBuffer | None) -> tuple[np.ndarray, list[str]]:
    """The matrix ``[X y]`` of :func:`main_effects_design` and the names of X's columns: ``out`` refilled when given,
    else laid out in ``buffer`` (:class:`DesignBuffer`) when given, else in new memory."""
    categorical = [t for t in terms if isinstance(data[t].dtype, pd.CategoricalDtype)]
    numeric = [t for t in terms if t not in categorical]
    names = ["Intercept"]
    for t in categorical:
        names += [f"{t}[T.{level}]" for level in data[t].cat.categories[1:]]
    p = len(names) + len(numeric)
    if out is not None:
        M = out
    else:
        M = np.empty((len(data[y]), p + 1)) if buffer is None else buffer.matrix(len(data[y]), p + 1)
    M[:, 0] = 1.0
    j = 1
    for t in categorical:  # treatment coding: 1.0 in the column of the row's level, unless it is the first
        k = len(data[t].cat.categories) - 1
        codes = data[t].cat.codes.to_numpy()
        M[:, j:j + k] = 0.0
        coded = np.flatnonzero(codes > 0)
        M[coded, j - 1 + codes[coded]] = 1.0
        j += k
    for t in numeric:
        M[:, j] = data[t].to_numpy(dtype=float)
        j += 1
    M[:, p] = data[y].to_numpy(dtype=float)
    return M, names + numeric


def fit_main_effects(data: pd.DataFrame | dict[str, pd.Series], y: str, terms: list[str], groups,
                     buffer: DesignBuffer | None = None) -> RandomInterceptFit:
    """:func:`fit_random_intercept` of ``y ~ term + term + ...`` (main effects; pandas Categorical columns are factors;
    ``data`` a frame or its columns by name),
    with the design built by :func:`main_effects_design` instead of patsy: the same fit, to the last bit. One matrix
    ``[X y]`` serves the whole fit: centred in place for the likelihood, then refilled with the design for the
    clustered covariance (0.8 GB less, and faster, than a copy for a pooled fit at 1M persons; issue 18), laid out in
    ``buffer`` when given."""
    M, names = _design_matrix(data, y, terms, None, buffer)

    def design() -> tuple[np.ndarray, np.ndarray]:
        _design_matrix(data, y, terms, M, None)
        return M[:, -1], M[:, :-1]

    with one_blas_thread():
        return _fit(M, names, groups, design)


def fit_random_intercept(formula: str, data: pd.DataFrame, groups) -> RandomInterceptFit:
    """REML fit of ``formula`` (patsy, as statsmodels' ``mixedlm``) with a random intercept per ``groups``.

    ``data`` must have no missing values in the formula's columns (patsy raises otherwise;
    statsmodels would drop the rows). Raises :class:`SingularDesignError` when the fixed-effects
    design is rank-deficient.
    """
    y, X = patsy.dmatrices(formula, data, NA_action="raise", return_type="dataframe")
    yv, Xv = y.to_numpy()[:, 0], X.to_numpy()
    with one_blas_thread():
        return _fit(np.column_stack([Xv, yv]).astype(float, copy=False), list(X.columns), groups, lambda: (yv, Xv))


def _fit(M: np.ndarray, names: list[str], groups, design) -> RandomInterceptFit:
    """The fit of ``M = [X y]`` (C-ordered; centred in place), with ``design()`` giving ``(y, X)`` again for the
    clustered covariance; the linear algebra on one BLAS thread: the products are narrow (N x p with p at most a few
    dozen), and OpenBLAS's second thread, spinning on a busy machine, made ``W`` alone 10-70 times slower (issue 18)."""
    sums = _GroupSums(M, groups)
    if sums.N <= sums.p or not sums.full_rank():
        raise SingularDesignError(f"the design matrix ({sums.N} x {sums.p}) is not of full column rank")
    lam, converged = _maximise(sums)
    llf, beta, Lx, q = sums.profile(lam)
    sigma2 = q / (sums.N - sums.p)
    cov_gls = sigma2 * _chol_solve(Lx, np.eye(sums.p))
    cov = np.linalg.inv(-sums.hessian(lam, beta, Lx, q))[: sums.p, : sums.p]
    y, X = design()
    robust = _cluster_robust(y, X, sums, beta, lam, Lx)
    return RandomInterceptFit(
        fe_params=pd.Series(beta, index=names), cov_params=pd.DataFrame(cov, index=names, columns=names),
        cov_gls=pd.DataFrame(cov_gls, index=names, columns=names),
        cov_robust=pd.DataFrame(robust, index=names, columns=names), tau2=lam * sigma2, sigma2=sigma2, llf=llf,
        converged=converged and bool(np.isfinite(llf)), n_obs=sums.N, n_groups=sums.n_groups)
