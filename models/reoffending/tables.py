"""The reoffending marts: columns, types and meanings in one place, and the writer.

docs/outputs-reoffending.md documents the same columns (a test compares them). Each mart
is written whole by :func:`write_mart`: the table is created from these specs, so an empty
result is an empty table with the right columns and types, never a missing table.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Col:
    name: str
    type: str
    doc: str


RATES = (
    Col("run_id", "VARCHAR", "Dagster run that wrote the row (meta.runs holds its config and inputs)."),
    Col("cohort_period", "VARCHAR", "Cohort period (`2023-Q1`; `2023-01` or `2023` with month/year cohorts), or `all` for the final cohorts pooled."),
    Col("period_start", "DATE", "First day of the cohort period (of the earliest pooled period for `all`)."),
    Col("period_end", "DATE", "Last day of the cohort period (of the latest pooled period for `all`)."),
    Col("status", "VARCHAR", "`final` (follow-up and waiting period over by the as-of date) or `provisional` (rates can still rise). `all` rows pool final cohorts only."),
    Col("programme", "VARCHAR", "`all_people`, `any_participation`, `no_participation`, a `programme_id`, or `timebank:<timebank_id>`. A person in two programmes counts in both programme rows, once in the others."),
    Col("event_type", "VARCHAR", "Index event type (custody_release, community_sentence, caution, youth_court) or `all`."),
    Col("persons", "BIGINT", "People in the cohort (one index event each per period)."),
    Col("reoffenders", "BIGINT", "People with at least one proven reoffence."),
    Col("binary_rate", "DOUBLE", "reoffenders / persons (proportion, 0-1)."),
    Col("ci_low", "DOUBLE", "Lower limit of the 95% Wilson score interval of binary_rate."),
    Col("ci_high", "DOUBLE", "Upper limit of the 95% Wilson score interval of binary_rate."),
    Col("reoffences", "BIGINT", "Proven reoffences (each proven offence counts; breaches never)."),
    Col("frequency", "DOUBLE", "reoffences / persons (reoffences per person; x 100 for the MoJ's per-100 frequency rate)."),
    Col("reoffences_per_reoffender", "DOUBLE", "reoffences / reoffenders; empty when nobody reoffended."),
)

EFFECTS = (
    Col("run_id", "VARCHAR", "Dagster run that wrote the row."),
    Col("programme", "VARCHAR", "`any_participation`, a `programme_id` or `timebank:<timebank_id>`: the participants compared."),
    Col("measure", "VARCHAR", "`binary_rate`, `frequency`, `days_to_first_reoffence` (JDL: among reoffenders) or `time_to_first_reoffence` (hazard ratio, everyone)."),
    Col("effect_measure", "VARCHAR", "What estimate, ci_low, ci_high and p_value are: `risk_difference`, `mean_difference` or `hazard_ratio`."),
    Col("value_unit", "VARCHAR", "Unit of participant_value and comparison_value."),
    Col("participant_value", "DOUBLE", "Participants' value in the matched sample (share reoffending, reoffences per person, mean days, share reoffending)."),
    Col("comparison_value", "DOUBLE", "The matched comparison group's value (weighted by the matching weights)."),
    Col("difference", "DOUBLE", "participant_value - comparison_value."),
    Col("estimate", "DOUBLE", "The effect (ATT): equals difference except for the hazard ratio."),
    Col("ci_low", "DOUBLE", "Lower limit of the 95% interval of estimate (cluster-robust on matched sets)."),
    Col("ci_high", "DOUBLE", "Upper limit of the 95% interval of estimate."),
    Col("p_value", "DOUBLE", "Two-sided p-value of estimate against no difference (0, or 1 for the hazard ratio)."),
    Col("verdict", "VARCHAR", "`significant reduction`, `significant increase`, `inconclusive`, or `not estimable`."),
    Col("per_100_statement", "VARCHAR", "JDL wording: \"For every 100 people in the comparison group, 35 reoffended; for every 100 participants, 28 reoffended.\""),
    Col("verdict_statement", "VARCHAR", "The verdict with the estimate and its interval in words."),
    Col("n_participants", "BIGINT", "Participants analysed (each person's first final index event; under `risk_set` and `landmark` only those with no reoffence before their time zero)."),
    Col("n_matched", "BIGINT", "Participants kept after matching (support and caliper): the n the effect applies to."),
    Col("n_comparison", "BIGINT", "Distinct comparison people used (matched, or with positive weight)."),
    Col("n_comparison_pool", "BIGINT", "Comparison rows available for matching (under `risk_set` one per person and trial day at risk)."),
    Col("n_outcome_participants", "BIGINT", "Matched participants contributing to this measure (reoffenders only for days_to_first_reoffence)."),
    Col("n_outcome_comparison", "BIGINT", "Comparison people contributing to this measure."),
    Col("below_minimum", "BOOLEAN", "n_matched is under the minimum (Justice Data Lab: 60): treat the result with caution."),
    Col("max_abs_smd", "DOUBLE", "Largest absolute standardised mean difference of a covariate after matching (balanced below 0.1)."),
    Col("covariates", "VARCHAR", "Covariates matched on (comma-separated)."),
    Col("method", "VARCHAR", "Matching or weighting design, as the comparison engine describes it."),
    Col("cohort_periods", "VARCHAR", "First and last cohort period of the analysis cohort."),
    Col("warnings", "VARCHAR", "Warnings of the comparison (small cohort, balance, support), ` | `-separated."),
    Col("estimable", "BOOLEAN", "False when no estimate could be made; the reason is then in not_estimable_reason."),
    Col("not_estimable_reason", "VARCHAR", "`not estimable: <reason>` (no participants, too few, no reoffences ...), else empty."),
    Col("design", "VARCHAR", "Time zero of the comparison: `risk_set` (each participant's start day, the default), `landmark` or `exposure_window` (the old, biased definition); docs/methods.md."),
    Col("design_sentence", "VARCHAR", "One plain sentence: when follow-up starts and who the comparison people are."),
    Col("estimand", "VARCHAR", "`ATT` when every participant was matched, else `effect on the matched participants`."),
    Col("share_participants_matched", "DOUBLE", "n_matched / participants analysed (0-1)."),
)

SURVIVAL = (
    Col("run_id", "VARCHAR", "Dagster run that wrote the row."),
    Col("programme", "VARCHAR", "Participants compared (as in reoffending_effects)."),
    Col("group", "VARCHAR", "`participants` or `matched_comparison`."),
    Col("time_days", "BIGINT", "Days since the index event (0, then each day with a first reoffence, then the end of follow-up)."),
    Col("n_at_risk", "DOUBLE", "Matching-weighted number still without a proven reoffence just before time_days."),
    Col("n_events", "DOUBLE", "Matching-weighted first reoffences on time_days."),
    Col("survival", "DOUBLE", "Kaplan-Meier proportion without a proven reoffence by time_days (statsmodels SurvfuncRight)."),
    Col("ci_low", "DOUBLE", "Lower limit of the 95% pointwise interval (Greenwood, log-log)."),
    Col("ci_high", "DOUBLE", "Upper limit of the 95% pointwise interval."),
)

COX = (
    Col("run_id", "VARCHAR", "Dagster run that wrote the row."),
    Col("programme", "VARCHAR", "Participants compared with all non-participants."),
    Col("term", "VARCHAR", "`treated`, a numeric covariate, `<covariate>[<level>]` for a category, or `<covariate>_missing`."),
    Col("coef", "DOUBLE", "Log hazard ratio (statsmodels PHReg)."),
    Col("se", "DOUBLE", "Model-based standard error of coef."),
    Col("hazard_ratio", "DOUBLE", "exp(coef)."),
    Col("ci_low", "DOUBLE", "Lower limit of the 95% interval of hazard_ratio."),
    Col("ci_high", "DOUBLE", "Upper limit of the 95% interval of hazard_ratio."),
    Col("p_value", "DOUBLE", "Wald p-value of coef."),
    Col("ph_rho", "DOUBLE", "Correlation of the term's scaled Schoenfeld residuals with transformed time."),
    Col("ph_chisq", "DOUBLE", "Grambsch-Therneau test statistic (1 df) of proportional hazards for the term."),
    Col("ph_p_value", "DOUBLE", "p-value of ph_chisq."),
    Col("ph_violated", "BOOLEAN", "ph_p_value below ph_alpha (0.05): the hazard ratio changes over follow-up."),
    Col("n", "BIGINT", "People in the fit."),
    Col("n_events", "BIGINT", "First proven reoffences in the fit."),
    Col("ties", "VARCHAR", "Tie handling (efron or breslow)."),
    Col("time_transform", "VARCHAR", "Time scale of the PH test (km, rank, identity, log)."),
    Col("note", "VARCHAR", "`not estimable: <reason>` on a placeholder row when no model could be fitted; covariates left out, else empty."),
)

AVOIDED = (
    Col("run_id", "VARCHAR", "Dagster run that wrote the row."),
    Col("programme", "VARCHAR", "Participants the avoided reoffending is credited to."),
    Col("measure", "VARCHAR", "`reoffenders_avoided` (people) or `reoffences_avoided` (proven reoffences) in the follow-up year."),
    Col("estimate", "DOUBLE", "(comparison - participant value) x n: avoided among the matched participants; negative = more reoffending."),
    Col("ci_low", "DOUBLE", "Lower limit of the 95% interval (the effect's interval scaled by n)."),
    Col("ci_high", "DOUBLE", "Upper limit of the 95% interval."),
    Col("per_participant", "DOUBLE", "estimate / n."),
    Col("comparison_rate", "DOUBLE", "Matched comparison group: share reoffending, or reoffences per person."),
    Col("participant_rate", "DOUBLE", "Participants: share reoffending, or reoffences per person."),
    Col("n", "BIGINT", "Matched participants the estimate covers."),
    Col("verdict", "VARCHAR", "Verdict of the underlying effect (reoffending_effects)."),
    Col("output_key", "VARCHAR", "Key for the social-value model: `avoided_proven_reoffences` or `avoided_reoffenders`, with `@<timebank_id>` or `@<programme_id>` for one programme (bare for any_participation)."),
    Col("unit", "VARCHAR", "`reoffence` or `person`."),
)

MARTS: dict[str, tuple[Col, ...]] = {
    "marts.reoffending_rates": RATES,
    "marts.reoffending_effects": EFFECTS,
    "marts.reoffending_survival": SURVIVAL,
    "marts.reoffending_cox": COX,
    "marts.reoffending_avoided": AVOIDED,
}


def empty_frame(cols: tuple[Col, ...]) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype=object) for c in cols})


def conform(df: pd.DataFrame, cols: tuple[Col, ...], run_id: str) -> pd.DataFrame:
    """The frame with exactly these columns in order, run_id filled, NaN as missing."""
    out = df.copy()
    out["run_id"] = run_id
    missing = [c.name for c in cols if c.name not in out.columns]
    if missing:
        raise ValueError(f"mart frame lacks columns {missing}")
    out = out[[c.name for c in cols]]
    return out.astype(object).where(pd.notna(out), None).replace({np.nan: None})


def write_mart(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame, run_id: str) -> int:
    """Replace ``table`` (schema.name) with ``df`` cast to its specified columns; returns rows."""
    cols = MARTS[table]
    schema = table.split(".")[0]
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    if not len(df):
        ddl = ", ".join(f'"{c.name}" {c.type}' for c in cols)
        con.execute(f"CREATE OR REPLACE TABLE {table} ({ddl})")
    else:
        frame = conform(df, cols, run_id)
        con.register("_mart_rows", frame)
        try:
            select = ", ".join(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in cols)
            # One statement: a killed run leaves the previous table whole, never an empty one.
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {select} FROM _mart_rows")
        finally:
            con.unregister("_mart_rows")
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def column_table(cols: tuple[Col, ...]) -> str:
    """The markdown table of a mart's columns, as it appears in docs/outputs-reoffending.md."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type} | {c.doc.replace('|', '&#124;')} |" for c in cols]
    return "\n".join(lines)
