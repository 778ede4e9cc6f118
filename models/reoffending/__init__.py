"""Proven reoffending (MoJ definition) and Justice Data Lab style effects of co-produced programmes.

Pure Python and DuckDB SQL; no Dagster (the assets are in ``pipelines/assets/reoffending.py``).

* :mod:`.settings`: :class:`ReoffendingSettings` (windows, cohort, participation, covariates,
  matching), each default with its source.
* :mod:`.cohort`: ``core.justice_cohort`` in SQL (:func:`justice_cohort` returns its rows as a relation): index events, proven reoffences, final or
  provisional cohorts, participation, covariates.
* :mod:`.rates`: ``marts.reoffending_rates`` with Wilson intervals.
* :mod:`.effects`: ``marts.reoffending_effects``, ``marts.reoffending_survival`` and
  ``marts.reoffending_avoided`` from one matching per programme (the shared comparison engine).
* :mod:`.cox`: ``marts.reoffending_cox`` (the partial likelihood of :mod:`.partial_likelihood`,
  statsmodels PHReg's fit) with a Schoenfeld-residual proportional-hazards test.
* :mod:`.tables`: the marts' columns, as schemas/marts.py declares them.
"""

from models.mart_writer import write_mart

from .cohort import COHORT_TABLE, analysis_cohort, build_justice_cohort, cohort_sql, justice_cohort, read_cohort
from .cox import fit_cox, ph_test, reoffending_cox, schoenfeld_residuals
from .effects import ReoffendingComparison, compare_reoffending, km_curve, social_value_outputs
from .rates import reoffending_rates, wilson_interval
from .settings import ReoffendingSettings
from .tables import MARTS

__all__ = [
    "ReoffendingSettings",
    "COHORT_TABLE",
    "build_justice_cohort",
    "justice_cohort",
    "cohort_sql",
    "read_cohort",
    "analysis_cohort",
    "reoffending_rates",
    "wilson_interval",
    "compare_reoffending",
    "ReoffendingComparison",
    "km_curve",
    "social_value_outputs",
    "reoffending_cox",
    "fit_cox",
    "ph_test",
    "schoenfeld_residuals",
    "MARTS",
    "run_reoffending",
]


def run_reoffending(con, settings: ReoffendingSettings, *, as_of, run_id: str) -> dict:
    """Build the cohort and write every mart (a notebook's one call); returns row counts."""
    counts = {COHORT_TABLE: build_justice_cohort(con, settings, as_of=as_of, run_id=run_id)}
    counts["marts.reoffending_rates"] = write_mart(con, "marts.reoffending_rates", reoffending_rates(con), run_id)
    cohort = read_cohort(con)
    comp = compare_reoffending(cohort, settings)
    counts["marts.reoffending_effects"] = write_mart(con, "marts.reoffending_effects", comp.effects, run_id)
    counts["marts.reoffending_survival"] = write_mart(con, "marts.reoffending_survival", comp.survival, run_id)
    counts["marts.reoffending_avoided"] = write_mart(con, "marts.reoffending_avoided", comp.avoided, run_id)
    counts["marts.reoffending_cox"] = write_mart(con, "marts.reoffending_cox", reoffending_cox(cohort, settings), run_id)
    return counts
