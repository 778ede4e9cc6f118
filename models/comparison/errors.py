"""The one exception the comparison engine raises for bad input.

``ComparisonError`` subclasses ``ValueError`` so callers that already catch
``ValueError`` keep working; the message always names the column or setting at
fault and says what to do about it.
"""

from __future__ import annotations


class ComparisonError(ValueError):
    """Input the comparison engine cannot analyse honestly.

    Raised for: an unknown column or setting; a treatment that is constant (no
    participants or no comparison people) or not 0/1; a cohort too small to match
    (fewer than 2 treated or 2 comparison people, or nobody left after common
    support and the caliper); a covariate that is all-missing or constant;
    perfect or quasi-complete separation in the propensity model; collinear
    covariates; outcome values outside what the outcome type allows.
    """
