"""The mart registry: every table the models write, declared once.

Each :class:`Mart` gives the table's name, its grain (what one row is), its columns (name,
DuckDB type, meaning), whether it is published, and its disclosure rule. From it come:

* the one writer, :func:`models.mart_writer.write_mart` (typed, transactional, refuses a
  frame whose columns differ from the declaration);
* the assets' ``dagster/column_schema`` and ``dagster/row_count`` metadata and the
  ``aggregate_only`` check of every published mart (``pipelines/assets/publication.py``);
* the reader snapshot's allowlist (:func:`published_tables`, ``pipelines/snapshot.py``);
* the column tables of ``docs/outputs-*.md`` (``python -m schemas.marts_doc --write``; a
  test fails when a document and this registry disagree).

Adding a table is one ``Mart(...)`` entry here (then ``python -m schemas.marts_doc`` adds its
column block to its document). A column name may hold
``{months}``: it then stands for one column per value (``retention_{months}m`` matches
``retention_6m``, ``retention_12m``, ...), for marts whose columns follow a setting; a last
column ``{covariate}`` of type ``ANY`` stands for every further column of a source (the
covariates of ``staging.persons``), typed as staged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

#: Disclosure rules (docs/dashboards.md, models/disclosure.py).
COUNTS_AT_PUBLICATION = ("aggregates only; counts are unrounded in the warehouse and pass the HES rule "
                         "(1-7 suppressed, others rounded to 5) wherever a page or CSV publishes them")
PERSON_LEVEL = "person level: stays in the warehouse, never published or copied to the reader snapshot"

_TEMPLATE = re.compile(r"\{[a-z_]+\}")
#: What each placeholder of a templated column name stands for.
_PLACEHOLDERS = {"{months}": r"\d+", "{covariate}": r"[A-Za-z_][A-Za-z0-9_]*"}
#: The type of a column whose type follows its source (a covariate column of staging.persons).
AS_STAGED = "ANY"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    meaning: str

    @property
    def pattern(self) -> re.Pattern | None:
        """For a templated name (``retention_{months}m``) the pattern of the names it stands for."""
        if not _TEMPLATE.search(self.name):
            return None
        return re.compile("".join(_PLACEHOLDERS.get(part, re.escape(part))
                                  for part in re.split(r"(\{[a-z_]+\})", self.name)) + r"\Z")

    def matches(self, name: str) -> bool:
        pattern = self.pattern
        return bool(pattern.match(name)) if pattern else name == self.name


@dataclass(frozen=True)
class Mart:
    name: str
    grain: str
    columns: tuple[Column, ...]
    published: bool
    disclosure: str
    #: For a table written one slice at a time (a reporting quarter), the column that keys a slice:
    #: each run replaces its slices only, so the table holds rows from several runs.
    partition: str | None = None

    @property
    def schema(self) -> str:
        return self.name.split(".")[0]

    @property
    def table(self) -> str:
        return self.name.split(".")[1]

    @property
    def key(self) -> tuple[str, str]:
        """The Dagster asset key path of the asset that writes it."""
        return (self.schema, self.table)

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def resolve(self, names) -> tuple[Column, ...]:
        """The declared columns expanded to ``names`` (a frame's columns), in declaration order.

        A plain column takes its own name; a run of templated columns takes every name they
        match, in the frame's order (never a name a plain column declares). Raises ValueError naming the table and the columns when the names differ from
        the declaration (missing or unexpected columns).
        """
        names = list(names)
        plain = {c.name for c in self.columns if c.pattern is None}
        out: list[Column] = []
        used: set[str] = set()
        missing = []
        i = 0
        while i < len(self.columns):
            col = self.columns[i]
            if col.pattern is None:
                if col.name in names:
                    out.append(col)
                    used.add(col.name)
                else:
                    missing.append(col.name)
                i += 1
                continue
            block = []  # consecutive templated columns: their instances keep the frame's order
            while i < len(self.columns) and self.columns[i].pattern is not None:
                block.append(self.columns[i])
                i += 1
            for n in names:
                match = next((c for c in block if c.matches(n)), None)
                if match and n not in used and n not in plain:
                    out.append(Column(n, match.type, match.meaning))
                    used.add(n)
        unexpected = [n for n in names if n not in used]
        if missing or unexpected:
            raise ValueError(f"{self.name}: the frame's columns differ from schemas/marts.py: "
                             f"missing {missing or 'none'}, not declared {unexpected or 'none'}")
        return tuple(out)

    def types(self) -> dict[str, str]:
        """Plain column name -> DuckDB type, in order."""
        return {c.name: c.type for c in self.plain_columns()}

    def result_columns(self) -> list[str]:
        """The columns a model returns: every plain column but ``run_id`` (the writer adds it)."""
        return [c.name for c in self.plain_columns() if c.name != "run_id"]

    def empty_frame(self):
        """A frame with the result columns and no rows."""
        return pd.DataFrame({c: pd.Series(dtype=object) for c in self.result_columns()})

    def frame(self, rows) -> pd.DataFrame:
        """A model's rows (dicts) as this table's result frame: every result column, in declaration order.

        A column a row lacks is NULL (a "not estimated" row has no estimates, not fewer columns). A key
        the table does not declare is kept, after the declared ones, so the one writer refuses it
        instead of it being dropped here. No rows: :meth:`empty_frame`.
        """
        if not rows:
            return self.empty_frame()
        out = pd.DataFrame(rows)
        declared = self.result_columns()
        return out.reindex(columns=[*declared, *(c for c in out.columns if c not in declared)])

    def plain_columns(self) -> tuple[Column, ...]:
        """The columns of an empty table: every plain column (a templated one has no instance yet)."""
        return tuple(c for c in self.columns if c.pattern is None)


#: Every table's last or first column: the run that wrote the row.
RUN_ID = Column('run_id', 'VARCHAR', 'Dagster run that wrote the row (meta.runs holds its configuration and inputs).')

# ------------------------------------------------------------------ readmission core (person level)

INDEX_DISCHARGES = Mart(
    'core.index_discharges', grain='index discharge (the last spell of a continuous spell)',
    published=False, disclosure=PERSON_LEVEL,
    columns=(
        Column('discharge_id', 'VARCHAR', "spell_id (pseudonym) of the continuous spell's last spell"),
        Column('person_id', 'VARCHAR', 'person (pseudonym)'),
        Column('provider_id', 'VARCHAR', 'discharging provider (last spell)'),
        Column('admitted_on', 'DATE', "admission date of the continuous spell's first spell"),
        Column('discharged_on', 'DATE', 'discharge date (the index date)'),
        Column('admission_method', 'VARCHAR', 'method of the first spell'),
        Column('specialty', 'VARCHAR', 'specialty of the last spell'),
        Column('n_spells', 'INTEGER', 'spells in the continuous spell (1 = no transfer)'),
        Column('area_code', 'VARCHAR', 'area of residence'),
        Column('quarter', 'VARCHAR', 'calendar quarter of discharge, `YYYYQn`'),
        Column('discharge_year', 'VARCHAR', 'calendar year of discharge, `YYYY` (text: a matching covariate coded as categories)'),
        Column('length_of_stay', 'INTEGER', 'days from admission to discharge of the continuous spell (0 = same day)'),
        Column('length_of_stay_band', 'VARCHAR', 'length of stay in days, banded by `length_of_stay_bands` (default `0`, `1-2`, `3-6`, `7-20`, `21+`)'),
        Column('diagnosis_chapter', 'VARCHAR', "ICD-10 chapter (`I` to `XXII`, WHO) of the first spell's `primary_diagnosis`; NULL when the spells give none or the code's category lies in no chapter"),
        Column('age', 'INTEGER', 'age in whole years at discharge'),
        Column('sex', 'VARCHAR', 'sex'),
        Column('imd_decile', 'INTEGER', 'IMD decile (1 = most deprived)'),
        Column('prior_emergency_12m', 'INTEGER', 'emergency admissions in the 12 months before the admission'),
        Column('exposed', 'BOOLEAN', 'exposed by either route (rule 6)'),
        Column('exposed_timebank', 'BOOLEAN', 'time-bank activity in the 90 days before discharge'),
        Column('exposed_programme', 'BOOLEAN', 'programme enrolment within 14 days after discharge'),
        Column('timebank_id', 'VARCHAR', 'time bank of the activity, if exposed that way'),
        Column('programme_id', 'VARCHAR', 'programme of the earliest such enrolment, if exposed that way'),
        Column('programme_start_day', 'INTEGER', "days from discharge to that enrolment's start (0–14), else NULL: the participant's own time zero in the risk-set design"),
        Column('full_follow_up', 'BOOLEAN', 'rule 5; only these rows enter the marts'),
        Column('readmitted', 'BOOLEAN', 'emergency readmission 0–29 days after (rule 4)'),
        Column('days_to_readmission', 'INTEGER', "days from discharge to the readmission's admission (0–29), else NULL"),
        Column('readmission_id', 'VARCHAR', "spell_id of the readmitting continuous spell's last spell"),
        RUN_ID,
    ),
)
CONTINUOUS_SPELLS = Mart(
    'core.continuous_spells', grain='continuous spell (spells chained by same-day transfers)',
    published=False, disclosure=PERSON_LEVEL,
    columns=(
        Column('chain_id', 'VARCHAR', "the continuous spell's last spell id (pseudonym)"),
        Column('person_id', 'VARCHAR', 'person (pseudonym)'),
        Column('seq', 'BIGINT', 'order of the continuous spell within the person'),
        Column('first_spell_id', 'VARCHAR', 'id of its first spell'),
        Column('last_spell_id', 'VARCHAR', 'id of its last (discharging) spell'),
        Column('n_spells', 'INTEGER', 'spells chained by transfers (1 = no transfer)'),
        Column('admitted_on', 'DATE', 'admission date of the first spell'),
        Column('discharged_on', 'DATE', 'discharge date of the last spell'),
        Column('admission_method', 'VARCHAR', 'admission method of the first spell'),
        Column('discharge_destination', 'VARCHAR', 'discharge destination of the last spell'),
        Column('provider_id', 'VARCHAR', 'provider of the last spell'),
        Column('specialty', 'VARCHAR', 'specialty of the last spell'),
        Column('any_cancer', 'BOOLEAN', 'any of its spells is a cancer spell'),
        Column('specialties', 'VARCHAR[]', 'specialties of its spells, in spell order'),
        Column('primary_diagnosis', 'VARCHAR', "primary diagnosis of the first spell (ICD-10, as given), the admission's"),
        RUN_ID,
    ),
)

# ------------------------------------------------------------------ readmission

READMISSION_RATES = Mart(
    'marts.readmission_rates', grain='dimension × value (overall, exposure, time bank, programme, provider, area, quarter)',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        Column('dimension', 'VARCHAR', '`overall`, `exposure`, `timebank`, `programme`, `provider`, `area`, `quarter`'),
        Column('value', 'VARCHAR', '`all` (overall); `participant` / `non_participant` (exposure); the time bank, programme, provider, area (`(missing)` if absent) or quarter'),
        Column('discharges', 'BIGINT', 'index discharges with full follow-up'),
        Column('readmissions', 'BIGINT', 'of them, readmitted within 0–29 days'),
        Column('rate', 'DOUBLE', 'readmissions / discharges'),
        Column('ci_low', 'DOUBLE', 'Wilson score 95% interval (below)'),
        Column('ci_high', 'DOUBLE', 'Wilson score 95% interval (below)'),
        RUN_ID,
    ),
)
READMISSION_EFFECTS = Mart(
    'marts.readmission_effects', grain='comparison (any, timebank, programme)',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        Column('comparison', 'VARCHAR', '`any`, `timebank`, `programme`'),
        Column('outcome', 'VARCHAR', '`readmitted_within_30_days`'),
        Column('method', 'VARCHAR', '`match` or `ipw`; `ipcw` under the clone-censor-weight design (inverse probability of censoring weights)'),
        Column('status', 'VARCHAR', '`estimated`, or `not estimated` (too few to compare; reason in `warnings`)'),
        Column('n_discharges', 'BIGINT', 'distinct discharges in the design (participants + comparison pool)'),
        Column('n_treated', 'BIGINT', 'participant discharges analysed (at risk on their start day)'),
        Column('n_matched', 'BIGINT', 'participant discharges kept after support and caliper'),
        Column('n_control_matched', 'BIGINT', 'distinct comparison rows used (a discharge on several trial days counts once per day; clone_censor_weight: every discharge, as its "no start" clone)'),
        Column('participant_rate', 'DOUBLE', 'readmission risk of matched participant discharges'),
        Column('comparison_rate', 'DOUBLE', 'readmission risk of the matched comparison (weighted)'),
        Column('risk_difference', 'DOUBLE', 'participant − comparison risk, 95% interval (clustered on matched set and person), two-sided p'),
        Column('rd_ci_low', 'DOUBLE', 'participant − comparison risk, 95% interval (clustered on matched set and person), two-sided p'),
        Column('rd_ci_high', 'DOUBLE', 'participant − comparison risk, 95% interval (clustered on matched set and person), two-sided p'),
        Column('rd_p_value', 'DOUBLE', 'participant − comparison risk, 95% interval (clustered on matched set and person), two-sided p'),
        Column('odds_ratio', 'DOUBLE', 'marginal odds ratio in the matched sample, interval, p'),
        Column('or_ci_low', 'DOUBLE', 'marginal odds ratio in the matched sample, interval, p'),
        Column('or_ci_high', 'DOUBLE', 'marginal odds ratio in the matched sample, interval, p'),
        Column('or_p_value', 'DOUBLE', 'marginal odds ratio in the matched sample, interval, p'),
        Column('risk_ratio', 'DOUBLE', 'risk ratio, interval, p'),
        Column('rr_ci_low', 'DOUBLE', 'risk ratio, interval, p'),
        Column('rr_ci_high', 'DOUBLE', 'risk ratio, interval, p'),
        Column('rr_p_value', 'DOUBLE', 'risk ratio, interval, p'),
        Column('verdict', 'VARCHAR', '`significant reduction`, `significant increase`, `inconclusive` (from the risk-difference interval) or `not estimated`'),
        Column('jdl_statement', 'VARCHAR', '"For every 100 comparison discharges, … were readmitted within 30 days; for every 100 participant discharges, …"'),
        Column('max_abs_smd_after', 'DOUBLE', 'largest absolute standardised mean difference after matching'),
        Column('n_balance_flags', 'BIGINT', 'covariate columns with \\|SMD\\| > 0.1 after matching'),
        Column('covariates', 'VARCHAR', 'covariates of the propensity model'),
        Column('warnings', 'VARCHAR', "the engine's warnings joined by ` \\| `: support, caliper, balance, the JDL minimum of 60, participants left unmatched, and the immortal-time warning of `exposure_window`"),
        Column('design', 'VARCHAR', '`risk_set` (default), `landmark`, `clone_censor_weight` (all eligible discharges, start within the grace period vs not; non-default, docs/methods.md) or `exposure_window` (the earlier, biased definition)'),
        Column('design_sentence', 'VARCHAR', 'one plain sentence: when follow-up starts and who the comparison people are'),
        Column('estimand', 'VARCHAR', '`ATT` when at least 95% of participants are matched (`models.comparison.estimand_label`, the one rule for every outcome), else `effect on the matched participants`'),
        Column('share_participants_matched', 'DOUBLE', 'n_matched / n_treated (0–1)'),
        RUN_ID,
    ),
)
READMISSION_FUNNEL = Mart(
    'marts.readmission_funnel', grain='unit type × unit (provider, time bank)',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        Column('unit_type', 'VARCHAR', '`provider` or `timebank` (time bank = discharges exposed through it)'),
        Column('unit', 'VARCHAR', 'provider or time-bank id'),
        Column('discharges', 'BIGINT', 'discharges of the unit'),
        Column('observed', 'BIGINT', 'readmissions (O)'),
        Column('expected', 'DOUBLE', "expected readmissions from the risk model (E); the funnel's x-axis"),
        Column('ratio', 'DOUBLE', "O/E; the funnel's y-axis (target 1)"),
        Column('observed_rate', 'DOUBLE', 'O / discharges, E / discharges'),
        Column('expected_rate', 'DOUBLE', 'O / discharges, E / discharges'),
        Column('standardised_rate', 'DOUBLE', '(O/E) × overall crude rate'),
        Column('z', 'DOUBLE', '(O − E)/√E, unadjusted'),
        Column('z_adjusted', 'DOUBLE', '(O/E − 1) / SD used for the limits'),
        Column('overdispersion', 'VARCHAR', 'adjustment applied to this unit type: `none`, `additive`, `multiplicative`'),
        Column('phi', 'DOUBLE', 'winsorised φ (NULL when fewer than 5 units)'),
        Column('tau2', 'DOUBLE', 'τ² applied (0 unless additive)'),
        Column('lower_95', 'DOUBLE', "95% control limits at the unit's expected count"),
        Column('upper_95', 'DOUBLE', "95% control limits at the unit's expected count"),
        Column('lower_998', 'DOUBLE', "99.8% control limits at the unit's expected count"),
        Column('upper_998', 'DOUBLE', "99.8% control limits at the unit's expected count"),
        Column('outlier_95', 'VARCHAR', '`high` (above the upper limit), `low` (below the lower limit), `within`'),
        Column('outlier_998', 'VARCHAR', '`high` (above the upper limit), `low` (below the lower limit), `within`'),
        RUN_ID,
    ),
)

#: Columns shared by the two matched difference-in-differences marts (models/readmission/before_after.py).
_CHANGE_COLUMNS = (
    Column('n_participants', 'BIGINT', 'eligible participants'),
    Column('n_matched', 'BIGINT', 'participants matched'),
    Column('n_comparison', 'BIGINT', 'eligible comparison persons'),
    Column('n_comparison_joined_after', 'BIGINT', 'eligible comparison persons who joined within their after window, '
                                                  'kept as comparisons (intention to treat: the estimate is "joining at J '
                                                  'vs not having joined by J")'),
    Column('n_persons_in_both_groups', 'BIGINT', 'persons who are an eligible participant and, at an earlier pseudo '
                                                 'join date, an eligible comparison person (the interval is clustered '
                                                 'on person)'),
    Column('status', 'VARCHAR', '`estimated` or `not estimated` (reason in `warnings`)'),
    Column('participant_before', 'DOUBLE', "matched participants' mean rate per person-year, before and after"),
    Column('participant_after', 'DOUBLE', "matched participants' mean rate per person-year, before and after"),
    Column('comparison_before', 'DOUBLE', "matched comparison's weighted mean rate, before and after"),
    Column('comparison_after', 'DOUBLE', "matched comparison's weighted mean rate, before and after"),
    Column('did', 'DOUBLE', '(participant_after − participant_before) − (comparison_after − comparison_before)'),
    Column('ci_low', 'DOUBLE', '95% interval and p-value of `did`'),
    Column('ci_high', 'DOUBLE', '95% interval and p-value of `did`'),
    Column('p_value', 'DOUBLE', '95% interval and p-value of `did`'),
    Column('verdict', 'VARCHAR', '`significant reduction` / `significant increase` / `inconclusive` / `not estimated`'),
    Column('person_years_after', 'DOUBLE', 'n_matched × 365/365.25'),
    Column('pseudo_date_rule', 'VARCHAR', 'how comparison persons got their join date, and whom a programme enrolment left out'),
    Column('max_abs_smd_after', 'DOUBLE', 'largest \\|SMD\\| after matching'),
    Column('washout_days', 'BIGINT', 'days just before joining left out of the before window '
                                     '([J − washout − 365, J − washout − 1]; setting `washout_days`, 0 = none)'),
    Column('pretrend_status', 'VARCHAR', 'pre-trend check: `estimated`, or `not estimated: <reason>`'),
    Column('pretrend_did', 'DOUBLE', 'pre-trend (placebo) check: the same matched DiD with the before window as '
                                     '"after" and the 365 days before it as "before", among rows whose data reach that '
                                     'far back (matched again among them); about 0 when the groups were on parallel '
                                     'paths, positive when participants joined after a rise in use (Ashenfelter dip)'),
    Column('pretrend_ci_low', 'DOUBLE', '95% interval and p-value of `pretrend_did`; when the interval excludes 0 '
                                        'a caution is added to `warnings`'),
    Column('pretrend_ci_high', 'DOUBLE', '95% interval and p-value of `pretrend_did`; when the interval excludes 0 '
                                         'a caution is added to `warnings`'),
    Column('pretrend_p_value', 'DOUBLE', '95% interval and p-value of `pretrend_did`; when the interval excludes 0 '
                                         'a caution is added to `warnings`'),
    Column('pretrend_n_matched', 'BIGINT', 'participants matched in the pre-trend check'),
    Column('warnings', 'VARCHAR', "the engine's warnings, and the pre-trend check's caution when it fails"),
    RUN_ID,
)

READMISSION_BEFORE_AFTER = Mart(
    'marts.readmission_before_after', grain='outcome (emergency admissions)',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(Column('outcome', 'VARCHAR', '`emergency_admissions`'), *_CHANGE_COLUMNS),
)
SERVICE_USE_CHANGE = Mart(
    'marts.service_use_change', grain='service',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(Column('service', 'VARCHAR', 'the service of `staging.service_contacts`'), *_CHANGE_COLUMNS),
)
READMISSION_AVOIDED = Mart(
    'marts.readmission_avoided', grain='measure',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        Column('measure', 'VARCHAR', '`readmissions`, `emergency_admissions`, `contacts_<service>`'),
        Column('estimate', 'DOUBLE', 'readmissions: −RD × n; others: −DiD × person_years_after (per first year after joining)'),
        Column('ci_low', 'DOUBLE', 'the same transformation of the 95% interval'),
        Column('ci_high', 'DOUBLE', 'the same transformation of the 95% interval'),
        Column('comparison_rate', 'DOUBLE', "readmissions: matched comparison risk. Others: the participants' counterfactual rate after joining (participant_before + the comparison's change)"),
        Column('participant_rate', 'DOUBLE', "readmissions: matched participants' risk. Others: participant_after"),
        Column('n', 'BIGINT', 'matched participant discharges (readmissions) or matched participants'),
        Column('unit', 'VARCHAR', 'what the estimate counts, in words'),
        Column('source', 'VARCHAR', 'mart it comes from'),
        RUN_ID,
    ),
)


# ------------------------------------------------------------------ reoffending core (person level)

JUSTICE_COHORT = Mart(
    'core.justice_cohort', grain='person × cohort period (the index event; models/reoffending/cohort.py)',
    published=False, disclosure=PERSON_LEVEL,
    columns=(
        RUN_ID,
        Column('person_id', 'VARCHAR', 'person (pseudonym)'),
        Column('cohort_period', 'VARCHAR', 'cohort period of the index event (`2023-Q1`; month or year cohorts by setting)'),
        Column('period_start', 'DATE', 'first day of the cohort period'),
        Column('period_end', 'DATE', 'last day of the cohort period'),
        Column('index_date', 'DATE', "the person's first qualifying index event in the period"),
        Column('event_type', 'VARCHAR', 'type of the index event (the one listed first in index_event_types on a tie)'),
        Column('events_in_period', 'BIGINT', 'qualifying index events of the person in the period'),
        Column('follow_up_end', 'DATE', 'index date + follow_up_days (day 365 counts)'),
        Column('proof_deadline', 'DATE', 'follow_up_end + waiting_days: a reoffence proven later does not count'),
        Column('is_final', 'BOOLEAN', 'period_end + follow_up_days + waiting_days <= as_of (else provisional)'),
        Column('participant', 'BOOLEAN', 'a programme or time-bank start by index + participation_window_days, not ended before the index date'),
        Column('programmes', 'VARCHAR[]', 'programme labels: the programme_id, or `timebank:<timebank_id>`'),
        Column('participation_start', 'DATE', 'earliest start of those programmes'),
        Column('programme_start_days', 'BIGINT[]', 'day each programme started, counted from the index date (0 when on or before it)'),
        Column('reoffended', 'BOOLEAN', 'at least one proven reoffence'),
        Column('reoffences', 'BIGINT', 'proven reoffences (breaches never count)'),
        Column('reoffence_days', 'BIGINT[]', "each reoffence's offence date as days after the index date"),
        Column('first_reoffence_date', 'DATE', 'offence date of the first proven reoffence'),
        Column('days_to_first_reoffence', 'BIGINT', 'days from the index date to the first proven reoffence'),
        Column('breaches_in_window', 'BIGINT', 'breaches in the follow-up (recorded, never reoffences)'),
        Column('proven_after_waiting', 'BIGINT', 'offences in the follow-up proven after the deadline (recorded only)'),
        Column('age', 'DOUBLE', 'years at the index date (days / 365.25)'),
        Column('proven_offences_to_index', 'BIGINT', 'criminal history at the index date: offences proven on or before '
               'it (`staging.offences`, breaches not counted; within `history_years` when set), those of the index '
               "occasion among them where the extract holds them: the MoJ's previous offences plus the index occasion's"),
        Column('history_from', 'DATE', 'first day proven_offences_to_index could count: the earliest proven_on in the '
               'offences file, or the look-back\'s first day if later'),
        Column('{covariate}', AS_STAGED, 'every further column of `staging.persons` as staged (a name that clashes with '
               'a column above becomes `persons_<name>`)'),
    ),
)

# ------------------------------------------------------------------ reoffending

REOFFENDING_RATES = Mart(
    'marts.reoffending_rates', grain='cohort period × programme × index event type',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('cohort_period', 'VARCHAR', 'Cohort period (`2023-Q1`; `2023-01` or `2023` with month/year cohorts), or `all` for the final cohorts pooled.'),
        Column('period_start', 'DATE', 'First day of the cohort period (of the earliest pooled period for `all`).'),
        Column('period_end', 'DATE', 'Last day of the cohort period (of the latest pooled period for `all`).'),
        Column('status', 'VARCHAR', '`final` (follow-up and waiting period over by the as-of date) or `provisional` (rates can still rise). `all` rows pool final cohorts only.'),
        Column('programme', 'VARCHAR', '`all_people`, `any_participation`, `no_participation`, a `programme_id`, or `timebank:<timebank_id>`. A person in two programmes counts in both programme rows, once in the others.'),
        Column('event_type', 'VARCHAR', 'Index event type (custody_release, community_sentence, caution, youth_court) or `all`.'),
        Column('persons', 'BIGINT', 'People in the cohort (one index event each per period).'),
        Column('reoffenders', 'BIGINT', 'People with at least one proven reoffence.'),
        Column('binary_rate', 'DOUBLE', 'reoffenders / persons (proportion, 0-1).'),
        Column('ci_low', 'DOUBLE', 'Lower limit of the 95% Wilson score interval of binary_rate.'),
        Column('ci_high', 'DOUBLE', 'Upper limit of the 95% Wilson score interval of binary_rate.'),
        Column('reoffences', 'BIGINT', 'Proven reoffences (each proven offence counts; breaches never).'),
        Column('frequency', 'DOUBLE', "reoffences / persons (reoffences per person; x 100 for the MoJ's per-100 frequency rate)."),
        Column('reoffences_per_reoffender', 'DOUBLE', 'reoffences / reoffenders; empty when nobody reoffended.'),
    ),
)
REOFFENDING_EFFECTS = Mart(
    'marts.reoffending_effects', grain='programme × measure',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('programme', 'VARCHAR', '`any_participation`, a `programme_id` or `timebank:<timebank_id>`: the participants compared.'),
        Column('measure', 'VARCHAR', '`binary_rate`, `frequency`, `days_to_first_reoffence` (JDL: among reoffenders) or `time_to_first_reoffence` (hazard ratio, everyone).'),
        Column('effect_measure', 'VARCHAR', 'What estimate, ci_low, ci_high and p_value are: `risk_difference`, `mean_difference` or `hazard_ratio`.'),
        Column('value_unit', 'VARCHAR', 'Unit of participant_value and comparison_value.'),
        Column('participant_value', 'DOUBLE', "Participants' value in the matched sample (share reoffending, reoffences per person, mean days, share reoffending)."),
        Column('comparison_value', 'DOUBLE', "The matched comparison group's value (weighted by the matching weights)."),
        Column('difference', 'DOUBLE', 'participant_value - comparison_value.'),
        Column('estimate', 'DOUBLE', 'The effect (ATT): equals difference except for the hazard ratio.'),
        Column('ci_low', 'DOUBLE', 'Lower limit of the 95% interval of estimate (cluster-robust on matched sets; t on G - 1 df, G clusters).'),
        Column('ci_high', 'DOUBLE', 'Upper limit of the 95% interval of estimate.'),
        Column('p_value', 'DOUBLE', 'Two-sided p-value of estimate against no difference (0, or 1 for the hazard ratio), t on G - 1 df.'),
        Column('verdict', 'VARCHAR', '`significant reduction`, `significant increase`, `inconclusive`, or `not estimable`.'),
        Column('per_100_statement', 'VARCHAR', 'JDL wording: "For every 100 people in the comparison group, 35 reoffended; for every 100 participants, 28 reoffended."'),
        Column('verdict_statement', 'VARCHAR', 'The verdict with the estimate and its interval in words.'),
        Column('n_participants', 'BIGINT', "Participants analysed (people, each at the first final index event whose participation window holds their start; `index_events: first`: each person's first final index event; under `risk_set` and `landmark` only those with no reoffence before their time zero)."),
        Column('n_matched', 'BIGINT', 'Participants kept after matching (support and caliper): the n the effect applies to.'),
        Column('n_comparison', 'BIGINT', 'Distinct comparison people used (matched, or with positive weight).'),
        Column('n_comparison_pool', 'BIGINT', 'Comparison rows available for matching (under `risk_set` one per person and trial day at risk).'),
        Column('n_outcome_participants', 'BIGINT', 'Matched participants contributing to this measure (reoffenders only for days_to_first_reoffence).'),
        Column('n_outcome_comparison', 'BIGINT', 'Comparison people contributing to this measure.'),
        Column('below_minimum', 'BOOLEAN', 'n_matched is under the minimum (Justice Data Lab: 60): treat the result with caution.'),
        Column('max_abs_smd', 'DOUBLE', 'Largest absolute standardised mean difference of a covariate after matching (balanced below 0.1).'),
        Column('covariates', 'VARCHAR', 'Covariates matched on (comma-separated).'),
        Column('method', 'VARCHAR', 'Matching or weighting design, as the comparison engine describes it.'),
        Column('cohort_periods', 'VARCHAR', 'First and last cohort period of the analysis cohort.'),
        Column('warnings', 'VARCHAR', 'Warnings of the comparison (small cohort, balance, support), ` | `-separated.'),
        Column('estimable', 'BOOLEAN', 'False when no estimate could be made; the reason is then in not_estimable_reason.'),
        Column('not_estimable_reason', 'VARCHAR', '`not estimable: <reason>` (no participants, too few, no reoffences ...), else empty.'),
        Column('design', 'VARCHAR', "Time zero of the comparison: `risk_set` (each participant's start day, the default), `landmark` or `exposure_window` (the old, biased definition); docs/methods.md."),
        Column('design_sentence', 'VARCHAR', 'One plain sentence: when follow-up starts and who the comparison people are.'),
        Column('estimand', 'VARCHAR', '`ATT` when at least 95% of participants are matched (`models.comparison.estimand_label`, the one rule for every outcome), else `effect on the matched participants`.'),
        Column('share_participants_matched', 'DOUBLE', 'n_matched / participants analysed (0-1).'),
    ),
)
REOFFENDING_SURVIVAL = Mart(
    'marts.reoffending_survival', grain='programme × group × day',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('programme', 'VARCHAR', 'Participants compared (as in reoffending_effects).'),
        Column('group', 'VARCHAR', '`participants` or `matched_comparison`.'),
        Column('time_days', 'BIGINT', 'Days since time zero (the index event; under `risk_set` the trial day a participant started, under `landmark` the landmark day): 0, then each day with a first reoffence, then the end of follow-up.'),
        Column('n_at_risk', 'DOUBLE', 'Matching-weighted number still without a proven reoffence just before time_days.'),
        Column('n_events', 'DOUBLE', 'Matching-weighted first reoffences on time_days.'),
        Column('survival', 'DOUBLE', 'Kaplan-Meier proportion without a proven reoffence by time_days (statsmodels SurvfuncRight).'),
        Column('ci_low', 'DOUBLE', 'Lower limit of the 95% pointwise interval (log-log; variance clustered on the person, so a reused comparison person counts once).'),
        Column('ci_high', 'DOUBLE', 'Upper limit of the 95% pointwise interval.'),
    ),
)
REOFFENDING_COX = Mart(
    'marts.reoffending_cox', grain='programme × model term',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('programme', 'VARCHAR', 'Participants compared with all non-participants.'),
        Column('term', 'VARCHAR', '`treated`, a numeric covariate, `<covariate>[<level>]` for a category, or `<covariate>_missing`.'),
        Column('coef', 'DOUBLE', 'Log hazard ratio (Efron partial likelihood; equal to statsmodels PHReg to 1e-8).'),
        Column('se', 'DOUBLE', 'Standard error of coef: cluster-robust on the person (Lin & Wei 1989) when a person is in several trials (`risk_set`), else model-based.'),
        Column('hazard_ratio', 'DOUBLE', 'exp(coef).'),
        Column('ci_low', 'DOUBLE', 'Lower limit of the 95% interval of hazard_ratio (normal with model-based se; t on G - 1 df, G people, with cluster-robust se).'),
        Column('ci_high', 'DOUBLE', 'Upper limit of the 95% interval of hazard_ratio.'),
        Column('p_value', 'DOUBLE', 'Wald p-value of coef (normal, or t on G - 1 df with cluster-robust se).'),
        Column('ph_rho', 'DOUBLE', "Correlation of the term's scaled Schoenfeld residuals with transformed time."),
        Column('ph_chisq', 'DOUBLE', 'Grambsch-Therneau test statistic (1 df) of proportional hazards for the term.'),
        Column('ph_p_value', 'DOUBLE', 'p-value of ph_chisq.'),
        Column('ph_violated', 'BOOLEAN', 'ph_p_value below ph_alpha (0.05): the hazard ratio changes over follow-up.'),
        Column('n', 'BIGINT', 'People in the fit, each counted once however many trials they are in.'),
        Column('n_events', 'BIGINT', 'People in the fit with a first proven reoffence in the follow-up.'),
        Column('n_trial_rows', 'BIGINT', 'Rows fitted: under `risk_set` one per person and trial day at risk (a person with a reoffence is an event in each of their rows), else one per person.'),
        Column('ties', 'VARCHAR', 'Tie handling (efron or breslow).'),
        Column('time_transform', 'VARCHAR', 'Time scale of the PH test (km, rank, identity, log).'),
        Column('note', 'VARCHAR', '`not estimable: <reason>` on a placeholder row when no model could be fitted; covariates left out, else empty.'),
        Column('design_sentence', 'VARCHAR', 'When follow-up starts and whom the participants are compared with: the matched comparison\'s rows, in a Cox model adjusted (not matched) for the covariates.'),
    ),
)
REOFFENDING_AVOIDED = Mart(
    'marts.reoffending_avoided', grain='programme × measure',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('programme', 'VARCHAR', 'Participants the avoided reoffending is credited to.'),
        Column('measure', 'VARCHAR', '`reoffenders_avoided` (people) or `reoffences_avoided` (proven reoffences) in the follow-up year.'),
        Column('estimate', 'DOUBLE', '(comparison - participant value) x n: avoided among the matched participants; negative = more reoffending.'),
        Column('ci_low', 'DOUBLE', "Lower limit of the 95% interval (the effect's interval scaled by n)."),
        Column('ci_high', 'DOUBLE', 'Upper limit of the 95% interval.'),
        Column('per_participant', 'DOUBLE', 'estimate / n.'),
        Column('comparison_rate', 'DOUBLE', 'Matched comparison group: share reoffending, or reoffences per person.'),
        Column('participant_rate', 'DOUBLE', 'Participants: share reoffending, or reoffences per person.'),
        Column('n', 'BIGINT', 'Matched participants the estimate covers.'),
        Column('verdict', 'VARCHAR', 'Verdict of the underlying effect (reoffending_effects).'),
        Column('output_key', 'VARCHAR', 'Key for the social-value model: `avoided_proven_reoffences` or `avoided_reoffenders`, with `@<timebank_id>` or `@<programme_id>` for one programme (bare for any_participation).'),
        Column('unit', 'VARCHAR', '`reoffence` or `person`.'),
    ),
)

# ------------------------------------------------------------------ well-being core (person level; models/wellbeing/journeys.py)

WELLBEING_READINGS = Mart(
    'core.wellbeing_readings', grain='staged reading with an analysis score (person × version × area × date)',
    published=False, disclosure=PERSON_LEVEL,
    columns=(
        Column('person_id', 'VARCHAR', 'person (pseudonym)'),
        Column('star_version', 'VARCHAR', 'instrument (Star version, WEMWBS, SWEMWBS, ONS4)'),
        Column('area', 'VARCHAR', 'area or item of the instrument'),
        Column('assessed_on', 'DATE', 'date of the reading'),
        Column('raw_score', 'DOUBLE', 'the score as staged'),
        Column('score', 'DOUBLE', 'on the analysis scale (SWEMWBS converted to the Rasch metric, others as read)'),
        Column('score_oriented', 'DOUBLE', 'score reflected for lower-is-better items, so higher is always better'),
        Column('score_10', 'DOUBLE', 'oriented score on the 1-10 equivalent, `1 + 9 (s - min)/(max - min)`'),
        Column('scale_min', 'DOUBLE', 'lowest score of the scale'),
        Column('scale_max', 'DOUBLE', 'highest score of the scale'),
        Column('higher_is_better', 'BOOLEAN', 'direction of the item'),
        Column('score_scale', 'VARCHAR', '`raw` or the converted metric'),
        Column('stage', 'VARCHAR', 'Journey of Change / Well-being Star stage or ONS4 threshold band of the raw score'),
        Column('stage_order', 'INTEGER', 'order of the stage (1 = first)'),
        Column('months_since_first', 'DOUBLE', "months (days / 30.4375) since the person's first reading on the version"),
        Column('hours_given', 'DOUBLE', 'hours given by the person up to the reading (or in the hours window before it)'),
        Column('hours_received', 'DOUBLE', 'hours received by the person up to the reading (or in the hours window before it)'),
        RUN_ID,
    ),
)
WELLBEING_PEOPLE = Mart(
    'core.wellbeing_people', grain='person with a reading', published=False, disclosure=PERSON_LEVEL,
    columns=(
        Column('person_id', 'VARCHAR', 'person (pseudonym)'),
        Column('participant', 'BOOLEAN', 'a membership (role in member_roles) or enrolment started on or before the last reading'),
        Column('timebank_id', 'VARCHAR', "the participant's earliest membership (ties: lowest id), else `none`"),
        Column('first_joined_on', 'DATE', 'join date of that membership'),
        Column('first_enrolled_on', 'DATE', 'earliest programme enrolment start on or before the last reading'),
        Column('first_reading_on', 'DATE', 'first reading'),
        Column('last_reading_on', 'DATE', 'last reading'),
        Column('birth_date', 'DATE', 'from staging.persons'),
        Column('sex', 'VARCHAR', 'from staging.persons'),
        Column('imd_decile', 'BIGINT', 'from staging.persons (1 = most deprived)'),
        Column('{covariate}', AS_STAGED, 'each further configured covariate column of `staging.persons`, as staged'),
        RUN_ID,
    ),
)
STAR_JOURNEYS = Mart(
    'core.star_journeys', grain='person × version × area', published=False, disclosure=PERSON_LEVEL,
    columns=(
        Column('person_id', 'VARCHAR', 'person (pseudonym)'),
        Column('star_version', 'VARCHAR', 'instrument'),
        Column('area', 'VARCHAR', 'area or item'),
        Column('timebank_id', 'VARCHAR', 'as in core.wellbeing_people'),
        Column('participant', 'BOOLEAN', 'as in core.wellbeing_people'),
        Column('higher_is_better', 'BOOLEAN', 'direction of the item'),
        Column('score_scale', 'VARCHAR', '`raw` or the converted metric'),
        Column('n_readings', 'BIGINT', 'readings of the person on the version and area'),
        Column('baseline_reading', 'INTEGER', '1 or 2 (rule `lower_of_first_two` takes the second when lower)'),
        Column('baseline_on', 'DATE', 'date of the baseline reading'),
        Column('baseline_score', 'DOUBLE', 'baseline score (analysis scale)'),
        Column('baseline_stage', 'VARCHAR', 'stage of the baseline'),
        Column('baseline_stage_order', 'INTEGER', 'its order'),
        Column('latest_on', 'DATE', 'latest reading after the baseline (empty without paired readings)'),
        Column('latest_score', 'DOUBLE', 'its score'),
        Column('latest_stage', 'VARCHAR', 'its stage'),
        Column('latest_stage_order', 'INTEGER', 'its order'),
        Column('paired', 'BOOLEAN', 'a reading after the baseline exists'),
        Column('change', 'DOUBLE', 'latest - baseline score'),
        Column('improvement', 'DOUBLE', 'change made direction-aware (positive = better)'),
        Column('months_between', 'DOUBLE', 'baseline to latest, days / 30.4375'),
        Column('outcome', 'VARCHAR', 'improved / same / worse'),
        Column('reliability', 'DOUBLE', 'configured reliability, if any'),
        Column('sem_configured', 'DOUBLE', 'configured standard error of measurement, if any'),
        Column('rci_sd', 'DOUBLE', 'SD used for the RCI (configured, else the baseline SD)'),
        Column('s_diff', 'DOUBLE', 'standard error of the difference (Jacobson & Truax)'),
        Column('rci_threshold', 'DOUBLE', 'points of change that are reliable: `rci_z × s_diff`'),
        Column('rci', 'DOUBLE', 'Reliable Change Index, change / s_diff'),
        Column('reliable_improvement', 'BOOLEAN', 'improvement / s_diff > rci_z'),
        Column('reliable_deterioration', 'BOOLEAN', 'improvement / s_diff < -rci_z'),
        Column('age', 'DOUBLE', 'years at the baseline'),
        RUN_ID,
    ),
)
WELLBEING_TRIALS = Mart(
    'core.wellbeing_trials', grain='person × version × area × monthly trial × arm (target trial, docs/methods.md)',
    published=False, disclosure=PERSON_LEVEL,
    columns=(
        Column('person_id', 'VARCHAR', 'person (pseudonym)'),
        Column('star_version', 'VARCHAR', 'instrument'),
        Column('area', 'VARCHAR', 'area or item'),
        Column('trial_month', 'DATE', 'first day of the trial month'),
        Column('participant', 'BOOLEAN', 'arm: started in the month (true) or not started by its first day (false)'),
        Column('time_zero', 'DATE', "the start (participant) or the month's first day (comparison)"),
        Column('baseline_on', 'DATE', 'last reading at most baseline_lookback_days before time zero'),
        Column('baseline_oriented', 'DOUBLE', 'its oriented score'),
        Column('followup_on', 'DATE', 'reading nearest follow_up_days after the baseline, within the tolerance, after time zero'),
        Column('followup_oriented', 'DOUBLE', 'its oriented score (empty without one: counted, not compared)'),
        Column('improvement', 'DOUBLE', 'followup - baseline (oriented)'),
        Column('months_from_first_reading', 'DOUBLE', 'first reading on the instrument to the baseline, days / 30.4375'),
        Column('prior_on', 'DATE', 'the reading before the baseline, at most baseline_lookback_days earlier'),
        Column('prior_oriented', 'DOUBLE', 'its oriented score'),
        Column('days_from_prior', 'BIGINT', 'days from it to the baseline'),
        Column('age_at_time_zero', 'DOUBLE', 'years at time zero'),
        Column('s_diff', 'DOUBLE', 'standard error of the difference (as in core.star_journeys)'),
        Column('reliable_improvement', 'BOOLEAN', 'improvement / s_diff > rci_z'),
        Column('reliable_deterioration', 'BOOLEAN', 'improvement / s_diff < -rci_z'),
        RUN_ID,
    ),
)

# ------------------------------------------------------------------ wellbeing

WELLBEING_CHANGE = Mart(
    'marts.wellbeing_change', grain='Star version × area × time bank × period',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('star_version', 'VARCHAR', 'instrument (star_versions.yaml id)'),
        Column('area', 'VARCHAR', 'area of the version (`total` for WEMWBS/SWEMWBS), or `at_least_one_area`'),
        Column('timebank_id', 'VARCHAR', 'time bank of the participants, `none` (not members), or `all`'),
        Column('period', 'VARCHAR', 'period of the baseline reading, or `all`'),
        Column('score_scale', 'VARCHAR', '`raw` or `rasch_metric` (SWEMWBS)'),
        Column('higher_is_better', 'BOOLEAN', 'direction of `change` (false for ONS4 anxiety)'),
        Column('baseline_rule', 'VARCHAR', '`first` or `lower_of_first_two`'),
        Column('n_people', 'BIGINT', 'people with a baseline reading (the snapshot; single readings included)'),
        Column('n_single_reading', 'BIGINT', 'of them, people with one reading only'),
        Column('mean_baseline', 'DOUBLE', 'mean baseline score of `n_people`'),
        Column('n_paired', 'BIGINT', 'people with paired readings (the change analyses)'),
        Column('small_n', 'BOOLEAN', '`n_paired` < `min_paired_n` (30)'),
        Column('mean_baseline_paired', 'DOUBLE', 'mean baseline and latest score of the paired people'),
        Column('mean_latest', 'DOUBLE', 'mean baseline and latest score of the paired people'),
        Column('mean_change', 'DOUBLE', "mean of latest - baseline (scale's own direction)"),
        Column('sd_change', 'DOUBLE', 'SD of the changes'),
        Column('ci_low', 'DOUBLE', '95% t interval of `mean_change`'),
        Column('ci_high', 'DOUBLE', '95% t interval of `mean_change`'),
        Column('median_change', 'DOUBLE', 'median change'),
        Column('mean_months', 'DOUBLE', 'mean months between baseline and latest reading'),
        Column('wilcoxon_statistic', 'DOUBLE', 'Wilcoxon signed-rank statistic and two-sided p'),
        Column('wilcoxon_p', 'DOUBLE', 'Wilcoxon signed-rank statistic and two-sided p'),
        Column('rank_biserial', 'DOUBLE', 'matched-pairs rank-biserial correlation (signed like the change)'),
        Column('cohens_dz', 'DOUBLE', 'mean change / SD of changes'),
        Column('n_improved', 'BIGINT', 'paired people better, unchanged, worse (direction-aware)'),
        Column('n_same', 'BIGINT', 'paired people better, unchanged, worse (direction-aware)'),
        Column('n_worse', 'BIGINT', 'paired people better, unchanged, worse (direction-aware)'),
        Column('pct_improved', 'DOUBLE', 'the same as % of `n_paired`'),
        Column('pct_same', 'DOUBLE', 'the same as % of `n_paired`'),
        Column('pct_worse', 'DOUBLE', 'the same as % of `n_paired`'),
        Column('n_rci', 'BIGINT', 'paired people with an RCI (reliability or SEM configured)'),
        Column('rci_threshold', 'DOUBLE', 'change (in points) needed for reliable change'),
        Column('n_reliable_improvement', 'BIGINT', 'RCI above `rci_z` / below `-rci_z`'),
        Column('n_reliable_deterioration', 'BIGINT', 'RCI above `rci_z` / below `-rci_z`'),
        Column('pct_reliable_improvement', 'DOUBLE', 'as % of `n_rci`'),
        Column('pct_reliable_deterioration', 'DOUBLE', 'as % of `n_rci`'),
    ),
)
WELLBEING_SNAPSHOT = Mart(
    'marts.wellbeing_snapshot', grain='Star version × area × time bank × stage',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('star_version', 'VARCHAR', 'as above'),
        Column('area', 'VARCHAR', 'as above'),
        Column('timebank_id', 'VARCHAR', 'as above'),
        Column('stage', 'VARCHAR', 'stage name; 1 = the worst state'),
        Column('stage_order', 'INTEGER', 'stage name; 1 = the worst state'),
        Column('n', 'BIGINT', 'people whose baseline reading is in the stage'),
        Column('n_people', 'BIGINT', 'people with a staged baseline reading in the group'),
        Column('pct', 'DOUBLE', '`100 n / n_people`'),
    ),
)
WELLBEING_TRANSITIONS = Mart(
    'marts.wellbeing_transitions', grain='Star version × area × time bank × baseline stage × latest stage',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('star_version', 'VARCHAR', 'as above'),
        Column('area', 'VARCHAR', 'as above'),
        Column('timebank_id', 'VARCHAR', 'as above'),
        Column('baseline_stage', 'VARCHAR', 'stage of the baseline reading'),
        Column('baseline_stage_order', 'INTEGER', 'stage of the baseline reading'),
        Column('latest_stage', 'VARCHAR', 'stage of the latest reading'),
        Column('latest_stage_order', 'INTEGER', 'stage of the latest reading'),
        Column('n', 'BIGINT', 'people moving from the baseline stage to the latest stage'),
        Column('n_baseline_stage', 'BIGINT', 'paired people starting in the baseline stage (the row total)'),
        Column('pct_of_baseline_stage', 'DOUBLE', '`100 n / n_baseline_stage` (empty when the row total is 0)'),
        Column('movement', 'VARCHAR', '`forward`, `same` or `back` (by `stage_order`, so direction-aware)'),
    ),
)
WELLBEING_RELIABLE_IMPROVEMENT = Mart(
    'marts.wellbeing_reliable_improvement', grain='output key (measure × Star version × time bank)',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('output_key', 'VARCHAR', 'the key the impact map names: `reliable_wellbeing_improvement`, `...@<time bank>`, `....<version>`, `....<version>@<time bank>`'),
        Column('measure', 'VARCHAR', '`reliable_wellbeing_improvement` (people), `reliable_wellbeing_improvement_share` (proportion), `reliable_wellbeing_deterioration`, `reliable_wellbeing_deterioration_share`'),
        Column('star_version', 'VARCHAR', 'scope (`all` = every instrument / every participant)'),
        Column('timebank_id', 'VARCHAR', 'scope (`all` = every instrument / every participant)'),
        Column('estimate', 'DOUBLE', 'people (count measures) or proportion (share measures)'),
        Column('ci_low', 'DOUBLE', '95% Wilson score interval of the proportion (times `n` for counts)'),
        Column('ci_high', 'DOUBLE', '95% Wilson score interval of the proportion (times `n` for counts)'),
        Column('n', 'BIGINT', 'participants with paired readings and an RCI'),
        Column('n_events', 'BIGINT', 'of them, people with the outcome'),
        Column('participant_rate', 'DOUBLE', '`n_events / n`'),
        Column('comparison_rate', 'DOUBLE', 'the same share among comparison people (non-participants) on the same instruments'),
        Column('comparison_n', 'BIGINT', 'comparison people with paired readings and an RCI'),
        Column('small_n', 'BOOLEAN', '`n` < `min_paired_n`'),
        Column('estimand', 'VARCHAR', '`gross`: participants achieving the outcome, before deadweight'),
        Column('direction', 'VARCHAR', '`higher_is_better` (improvement) or `lower_is_better` (deterioration)'),
        Column('unit', 'VARCHAR', '`people` or `proportion`'),
        Column('definition', 'VARCHAR', 'the rule, in words'),
    ),
)
WELLBEING_EFFECTS = Mart(
    'marts.wellbeing_effects', grain='Star version × area × outcome',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('star_version', 'VARCHAR', 'scope'),
        Column('area', 'VARCHAR', 'scope'),
        Column('outcome', 'VARCHAR', '`improvement` (latest - baseline, direction-aware; positive = better)'),
        Column('method', 'VARCHAR', '`match` or `ipw`'),
        Column('measure', 'VARCHAR', "engine's headline measure (`mean_difference`)"),
        Column('estimate', 'DOUBLE', 'participants minus comparison, 95% interval (t on the engine\'s df: G - 1 for G matched sets), p; unit: points per area (per item) on the instrument\'s own scale, or on the 1-10 equivalent scale when `star_version = all`'),
        Column('ci_low', 'DOUBLE', 'participants minus comparison, 95% interval (t on the engine\'s df: G - 1 for G matched sets), p; unit: points per area (per item) on the instrument\'s own scale, or on the 1-10 equivalent scale when `star_version = all`'),
        Column('ci_high', 'DOUBLE', 'participants minus comparison, 95% interval (t on the engine\'s df: G - 1 for G matched sets), p; unit: points per area (per item) on the instrument\'s own scale, or on the 1-10 equivalent scale when `star_version = all`'),
        Column('p_value', 'DOUBLE', 'participants minus comparison, 95% interval (t on the engine\'s df: G - 1 for G matched sets), p; unit: points per area (per item) on the instrument\'s own scale, or on the 1-10 equivalent scale when `star_version = all`'),
        Column('treated_value', 'DOUBLE', 'mean improvement of participants / weighted comparison group, in the unit of `estimate`'),
        Column('comparison_value', 'DOUBLE', 'mean improvement of participants / weighted comparison group, in the unit of `estimate`'),
        Column('n_treated', 'BIGINT', 'participants / comparison people with paired readings'),
        Column('n_control', 'BIGINT', 'participants / comparison people with paired readings'),
        Column('n_matched', 'BIGINT', 'participants kept, comparison people used'),
        Column('n_control_matched', 'BIGINT', 'participants kept, comparison people used'),
        Column('n_balance_flags', 'BIGINT', 'covariates with \\|SMD\\| > 0.1 after matching; the largest \\|SMD\\|'),
        Column('max_abs_smd_after', 'DOUBLE', 'covariates with \\|SMD\\| > 0.1 after matching; the largest \\|SMD\\|'),
        Column('verdict', 'VARCHAR', 'engine\'s verdict (an "increase" is an improvement here)'),
        Column('interpretation', 'VARCHAR', '`improvement`, `deterioration`, `inconclusive` or `not estimated`'),
        Column('covariates', 'VARCHAR', 'covariates used'),
        Column('status', 'VARCHAR', '`estimated`, or `not estimated: <why>` (e.g. no comparison people)'),
        Column('warnings', 'VARCHAR', 'engine warnings (e.g. under the Justice Data Lab minimum of 60), rare levels merged, the clustering'),
        Column('design', 'VARCHAR', '`prior_reading` (the target trial matched also on the change from the reading before the baseline, default), `new_joiners` (the same trial without it; benchmarks only) or `joined_by_last_reading` (the earlier, biased definition; benchmarks only)'),
        Column('design_sentence', 'VARCHAR', 'one plain sentence: when follow-up starts and who the comparison people are'),
        Column('estimand', 'VARCHAR', "`ATT` when at least 95% of participants are matched (`models.comparison.estimand_label`, the one rule for every outcome), else `effect on the matched participants` (empty when not estimated)"),
        Column('share_participants_matched', 'DOUBLE', '`n_matched / n_treated` (0-1)'),
        Column('headline', 'BOOLEAN', 'true for the headline row of each instrument (mean improvement per area); every other row is exploratory'),
    ),
)
WELLBEING_MODEL = Mart(
    'marts.wellbeing_model', grain='scope × Star version × area × model term',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('scope', 'VARCHAR', 'model'),
        Column('star_version', 'VARCHAR', 'model'),
        Column('area', 'VARCHAR', 'model'),
        Column('score_scale', 'VARCHAR', 'scale of the outcome (always oriented: higher is better)'),
        Column('term', 'VARCHAR', '`hours_given`, `hours_received` (per `hours_unit` hours), `months`, `given_minus_received`'),
        Column('estimate', 'DOUBLE', 'coefficient, SE, 95% Wald interval'),
        Column('se', 'DOUBLE', 'coefficient, SE, 95% Wald interval'),
        Column('ci_low', 'DOUBLE', 'coefficient, SE, 95% Wald interval'),
        Column('ci_high', 'DOUBLE', 'coefficient, SE, 95% Wald interval'),
        Column('statistic', 'DOUBLE', 'Wald statistic (terms) or Wald chi-square, 1 df (`given_minus_received`), and p: t on G - 1 df (F(1, G - 1)) with person-clustered SEs, G people; normal (chi-square) with model-based SEs'),
        Column('p_value', 'DOUBLE', 'Wald statistic (terms) or Wald chi-square, 1 df (`given_minus_received`), and p: t on G - 1 df (F(1, G - 1)) with person-clustered SEs, G people; normal (chi-square) with model-based SEs'),
        Column('n_readings', 'BIGINT', 'readings and people in the model'),
        Column('n_people', 'BIGINT', 'readings and people in the model'),
        Column('n_dropped_missing', 'BIGINT', 'readings left out for a missing covariate'),
        Column('hours_unit', 'DOUBLE', 'settings used (window empty = cumulative)'),
        Column('hours_window_months', 'INTEGER', 'settings used (window empty = cumulative)'),
        Column('covariates', 'VARCHAR', 'covariates that entered the model'),
        Column('converged', 'BOOLEAN', 'optimiser converged'),
        Column('status', 'VARCHAR', '`fitted` or `fitted, not converged: read with care`, each followed by `; descriptive only: <why>` (the intervals undercover the injected effect in docs/validation.md, in every scope); `not fitted: <why>`, `not estimable: <why>`'),
    ),
)

# ------------------------------------------------------------------ reciprocity

MEMBER_RECIPROCITY = Mart(
    'marts.member_reciprocity', grain='account (member_id) over the window',
    published=False, disclosure=PERSON_LEVEL,
    columns=(
        RUN_ID,
        Column('member_id', 'VARCHAR', 'pseudonymised account id'),
        Column('timebank_id', 'VARCHAR', "the account's time bank"),
        Column('person_id', 'VARCHAR', 'pseudonymised linked person, NULL if none'),
        Column('role', 'VARCHAR', 'community, service_user, patient, prisoner, staff, organisation or system (NULL: in the log but not the member table)'),
        Column('joined_on', 'DATE', 'from the member table'),
        Column('left_on', 'DATE', 'from the member table'),
        Column('reciprocity_eligible', 'BOOLEAN', 'false for system and organisation accounts (their reciprocity columns are NULL)'),
        Column('window_start', 'DATE', 'the window measured and the reference date for `is_active`'),
        Column('window_end', 'DATE', 'the window measured and the reference date for `is_active`'),
        Column('as_of', 'DATE', 'the window measured and the reference date for `is_active`'),
        Column('hours_given', 'DOUBLE', 'hours given in exchanges in the window, any counterparty (organisation and system accounts kept)'),
        Column('hours_received', 'DOUBLE', 'hours received in exchanges in the window, any counterparty'),
        Column('hours_donated', 'DOUBLE', 'hours donated = `hours_donated_pot` + `hours_donated_family`'),
        Column('hours_donated_pot', 'DOUBLE', 'donations to the goodwill pot (a system account)'),
        Column('hours_donated_family', 'DOUBLE', 'donations to another member'),
        Column('hours_donation_received', 'DOUBLE', "donations the account received (the pot's intake, family gifts)"),
        Column('hours_system_credited', 'DOUBLE', 'system credits the account received'),
        Column('exchanges_given', 'BIGINT', 'exchange rows as giver / receiver'),
        Column('exchanges_received', 'BIGINT', 'exchange rows as giver / receiver'),
        Column('reciprocal_hours_given', 'DOUBLE', 'G: hours given to other eligible accounts'),
        Column('reciprocal_hours_received', 'DOUBLE', 'R: hours received from other eligible accounts'),
        Column('balance_index', 'DOUBLE', 'b = 2·min(G, R)/(G + R) in [0, 1]; 0 when G + R = 0'),
        Column('two_way', 'BOOLEAN', 'G > 0 and R > 0'),
        Column('give_receive_log_ratio', 'DOUBLE', 'ln((G + 1)/(R + 1)); > 0 net giver, < 0 net receiver'),
        Column('trading_partners', 'BIGINT', 'distinct eligible counterparties, either direction'),
        Column('first_exchange_on', 'DATE', 'first and last exchange in the window (donations and credits not counted)'),
        Column('last_exchange_on', 'DATE', 'first and last exchange in the window (donations and credits not counted)'),
        Column('is_active', 'BOOLEAN', 'an exchange in (as_of − `active_months`, as_of], looking back before the window if needed'),
    ),
)
TIMEBANK_ACTIVITY = Mart(
    'marts.timebank_activity', grain='time bank × period, plus one `overall` row per time bank',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('timebank_id', 'VARCHAR', 'time bank'),
        Column('period_type', 'VARCHAR', '`quarter` (or `month`, `year`: setting `period`), or `overall` for the whole window'),
        Column('period_label', 'VARCHAR', 'e.g. `2024-Q1`, `2024-03`, `2024`, or `overall`'),
        Column('period_start', 'DATE', 'the period, cut to the window'),
        Column('period_end', 'DATE', 'the period, cut to the window'),
        Column('period_complete', 'BOOLEAN', 'false when the window cuts the period short'),
        Column('as_of', 'DATE', 'reference date for activity and retention'),
        Column('members', 'BIGINT', 'eligible accounts whose membership overlaps the period'),
        Column('active_members', 'BIGINT', 'eligible accounts with an exchange in the 12 months to min(period_end, as_of)'),
        Column('trading_members', 'BIGINT', 'eligible accounts with an exchange in the period'),
        Column('exchanges', 'BIGINT', 'exchange rows in the period (all accounts)'),
        Column('hours_total', 'DOUBLE', 'hours of every row of every kind, all accounts'),
        Column('hours_exchanged', 'DOUBLE', 'hours of exchange rows (all accounts)'),
        Column('hours_group', 'DOUBLE', 'of which group activities'),
        Column('hours_system_credit', 'DOUBLE', 'system credits'),
        Column('hours_donated_pot', 'DOUBLE', 'donations to the goodwill pot'),
        Column('hours_donated_family', 'DOUBLE', 'donations to other members'),
        Column('hours_per_active_member', 'DOUBLE', '`hours_exchanged` / `active_members`'),
        Column('two_way_members', 'BIGINT', 'members with G > 0 and R > 0 in the period'),
        Column('two_way_share', 'DOUBLE', '`two_way_members` / `trading_members`'),
        Column('mean_balance_index', 'DOUBLE', 'mean balance index over members with G + R > 0'),
        Column('beneficiary_members', 'BIGINT', 'members with role service_user, patient or prisoner'),
        Column('beneficiary_givers', 'BIGINT', 'of those, members who gave at least `beneficiary_min_hours` (1) in the period'),
        Column('beneficiary_contribution_share', 'DOUBLE', '`beneficiary_givers` / `beneficiary_members`'),
        Column('network_edges', 'BIGINT', 'L: directed ties i→j between eligible members'),
        Column('reciprocated_edges', 'BIGINT', 'L↔: ties whose reverse exists'),
        Column('dyadic_reciprocity', 'DOUBLE', 'L↔ / L'),
        Column('reciprocal_hours', 'DOUBLE', 'W: hours on those ties'),
        Column('reciprocated_hours', 'DOUBLE', 'W↔ = Σ min(w_ij, w_ji) over ties (each direction counted)'),
        Column('weighted_reciprocity', 'DOUBLE', 'W↔ / W (Squartini et al. 2013)'),
        Column('circulating_hours', 'DOUBLE', 'hours on ties lying on a directed cycle of length ≥ 3'),
        Column('generalised_reciprocity', 'DOUBLE', '`circulating_hours` / W'),
        Column('gini_hours_given', 'DOUBLE', 'Gini of hours given over trading members, zero-givers included'),
        Column('joiners', 'BIGINT', 'eligible accounts that joined in the period'),
        Column('retention_{months}m_eligible', 'BIGINT', 'joiners whose {months} months had elapsed by as_of (one triple per horizon in retention_months, default 6 and 12)'),
        Column('retention_{months}m_retained', 'BIGINT', 'of those, with an exchange on or after joined_on + {months} months'),
        Column('retention_{months}m', 'DOUBLE', 'retained / eligible'),
        Column('joiners_with_exchange', 'BIGINT', 'joiners with an exchange on or after joining'),
        Column('median_days_to_first_exchange', 'DOUBLE', 'median days from joining to that first exchange'),
        Column('reciprocity_index', 'DOUBLE', 'weighted mean of the five components (reciprocity.md)'),
        Column('index_coverage', 'DOUBLE', 'share of the index weight whose component was defined'),
    ),
)
GRANT_METRICS = Mart(
    'marts.grant_metrics', grain='grant',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('grant_id', 'VARCHAR', 'from `staging.grants` (amount in GBP)'),
        Column('funder', 'VARCHAR', 'from `staging.grants` (amount in GBP)'),
        Column('timebank_id', 'VARCHAR', 'from `staging.grants` (amount in GBP)'),
        Column('amount', 'DOUBLE', 'from `staging.grants` (amount in GBP)'),
        Column('period_start', 'DATE', 'the grant period'),
        Column('period_end', 'DATE', 'the grant period'),
        Column('data_start', 'DATE', "the exchange log's first day (the data window; the same on every row)"),
        Column('data_end', 'DATE', "the exchange log's last day"),
        Column('observed_start', 'DATE', 'the observed period: the part of the grant period inside the data window; '
                                         'empty when none of it is'),
        Column('observed_end', 'DATE', 'the observed period'),
        Column('observed_share', 'DOUBLE', 'days of the observed period / days of the grant period (0 to 1)'),
        Column('observed_amount', 'DOUBLE', '`amount` × `observed_share`: the money spent in the observed period if the '
                                            'grant is spent evenly over its period'),
        Column('members', 'BIGINT', 'eligible accounts whose membership overlaps the observed period'),
        Column('active_members', 'BIGINT', 'eligible accounts that traded within the observed period'),
        Column('two_way_members', 'BIGINT', 'members who both gave and received (eligible counterparties) in the '
                                            'observed period'),
        Column('exchanges', 'BIGINT', 'as in the time-bank mart, over the observed period'),
        Column('hours_exchanged', 'DOUBLE', 'as in the time-bank mart, over the observed period'),
        Column('hours_total', 'DOUBLE', 'as in the time-bank mart, over the observed period'),
        Column('cost_per_active_member', 'DOUBLE', '`observed_amount` / `active_members`'),
        Column('cost_per_hour_exchanged', 'DOUBLE', '`observed_amount` / `hours_exchanged`'),
        Column('cost_per_two_way_member', 'DOUBLE', '`observed_amount` / `two_way_members`'),
        Column('two_way_share', 'DOUBLE', 'the five index components over the observed period'),
        Column('mean_balance_index', 'DOUBLE', 'the five index components over the observed period'),
        Column('weighted_reciprocity', 'DOUBLE', 'the five index components over the observed period'),
        Column('generalised_reciprocity', 'DOUBLE', 'the five index components over the observed period'),
        Column('beneficiary_contribution_share', 'DOUBLE', 'the five index components over the observed period'),
        Column('dyadic_reciprocity', 'DOUBLE', 'L↔ / L over the observed period (shown, not in the index)'),
        Column('reciprocity_index', 'DOUBLE', "the index with the settings' weights"),
        Column('index_coverage', 'DOUBLE', 'share of the weight whose component was defined'),
        Column('coproduction_assessed_on', 'DATE', 'date of the latest complete self-assessment on or before period_end'),
        Column('coproduction_score', 'DOUBLE', 'its total, 20–100'),
        Column('coproduction_band', 'VARCHAR', 'emerging (20–39), developing (40–59), established (60–79), leading (80–100)'),
        Column('social_value_basis', 'VARCHAR', 'member, grant or timebank: the key of the social-value input; NULL without one'),
        Column('social_value', 'DOUBLE', 'Σ SV (unweighted)'),
        Column('balance_weighted_social_value', 'DOUBLE', 'Σ SV_i·b_i (the α = 0 value)'),
        Column('alpha', 'DOUBLE', 'α used'),
        Column('reciprocity_weighted_social_value', 'DOUBLE', 'α·SV + (1 − α)·Σ SV_i·b_i, shown beside `social_value`, never instead'),
    ),
)
RECIPROCITY_ALLOCATION = Mart(
    'marts.reciprocity_allocation', grain='grant (pot split per funder)',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('funder', 'VARCHAR', 'the grant'),
        Column('grant_id', 'VARCHAR', 'the grant'),
        Column('timebank_id', 'VARCHAR', 'the grant'),
        Column('amount', 'DOUBLE', 'the grant'),
        Column('funder_total_amount', 'DOUBLE', "Σ of the funder's grant amounts (from whole pence)"),
        Column('reserved_pot_share', 'DOUBLE', 'share reserved (setting, default 0.10)'),
        Column('reserved_pot', 'DOUBLE', "the funder's pot in GBP"),
        Column('reserved_pot_pence', 'BIGINT', 'the pot in pence: round_half_up(share × total pence)'),
        Column('allocation_rule', 'VARCHAR', '`index` or `alpha_blend`'),
        Column('alpha', 'DOUBLE', 'α (used by `alpha_blend`)'),
        Column('reciprocity_index', 'DOUBLE', "the grant's index"),
        Column('allocation_weight', 'DOUBLE', 'index (NULL → 0), or α + (1 − α)·index'),
        Column('allocation_share', 'DOUBLE', 'weight / Σ weights of the funder (NULL if all are 0)'),
        Column('allocation_pence', 'BIGINT', 'largest-remainder pence; sums to `reserved_pot_pence` per funder exactly'),
        Column('allocation', 'DOUBLE', '`allocation_pence` / 100'),
        Column('basis', 'VARCHAR', '`proportional`, or `equal split (all weights 0)`'),
    ),
)
RECIPROCITY_ALLOCATION_SENSITIVITY = Mart(
    'marts.reciprocity_allocation_sensitivity', grain='α × weight set × grant',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        RUN_ID,
        Column('funder', 'VARCHAR', 'the grant'),
        Column('grant_id', 'VARCHAR', 'the grant'),
        Column('alpha', 'DOUBLE', 'α of this row'),
        Column('weight_set', 'VARCHAR', '`base`, `equal`, `without_<component>`, or a name from `sensitivity_weight_sets`'),
        Column('weights', 'VARCHAR', 'the weight set as JSON'),
        Column('reciprocity_index', 'DOUBLE', 'the index under these weights'),
        Column('allocation_weight', 'DOUBLE', 'as in the allocation table'),
        Column('allocation_share', 'DOUBLE', 'weight / Σ weights of the funder'),
        Column('allocation_pence', 'BIGINT', "the allocation under this row's α and weights"),
        Column('allocation', 'DOUBLE', "the allocation under this row's α and weights"),
        Column('base_allocation_pence', 'BIGINT', 'the allocation under the settings (the allocation table)'),
        Column('change_pence', 'BIGINT', '`allocation_pence` − `base_allocation_pence`'),
        Column('rank', 'BIGINT', '1 = largest allocation within the funder (ties: grant_id order)'),
        Column('social_value', 'DOUBLE', 'Σ SV, as in the grant mart'),
        Column('reciprocity_weighted_social_value', 'DOUBLE', "α·SV + (1 − α)·Σ SV_i·b_i at this row's α"),
    ),
)

# ------------------------------------------------------------------ social value

SOCIAL_VALUE = Mart(
    'marts.social_value', grain='scope (overall, each time bank with an outcome valued for it)',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        Column('scope', 'VARCHAR', '`overall` (every outcome, total investment) or a time-bank id (its outcomes, its investment); a time bank the impact map values no outcome for has no row (not a PV of £0)'),
        Column('pv', 'DOUBLE', 'present value of the impacts, £'),
        Column('npv', 'DOUBLE', '`pv − investment_pv`, £; empty when the scope has no investment'),
        Column('ratio', 'DOUBLE', 'SROI ratio `pv / investment_pv` (4 dp); empty without investment'),
        Column('net_ratio', 'DOUBLE', '`npv / investment_pv` (4 dp)'),
        Column('payback_months', 'DOUBLE', '`investment_pv / (year1_impact / 12)` (2 dp); empty when year-1 impact <= 0 or without investment'),
        Column('ratio_ci_low', 'DOUBLE', '2.5th percentile of the Monte Carlo ratio (4 dp); empty when the Monte Carlo was not run'),
        Column('ratio_ci_high', 'DOUBLE', '97.5th percentile of the Monte Carlo ratio (4 dp)'),
        Column('n_draws', 'BIGINT', 'Monte Carlo draws behind the interval (0 = not run)'),
        Column('investment_pv', 'DOUBLE', 'present value of the investment, £ (year 0 undiscounted)'),
        Column('year1_impact', 'DOUBLE', "year-1 impact of the scope's outcomes, undiscounted, £"),
        Column('price_year', 'BIGINT', 'reporting price year'),
        Column('base_case', 'VARCHAR', "the impact map's `base_case`, the case in `pv` and `ratio`: `point_estimate` (every model output at its estimate: the unbiased case; the default) or `evidenced` (a model output whose 95% interval includes no effect counts as 0: the conservative case)"),
        Column('pv_point_estimate', 'DOUBLE', 'present value with every model output at its point estimate, £ (equal to `pv` when `base_case` is `point_estimate`)'),
        Column('ratio_point_estimate', 'DOUBLE', 'the ratio with every model output at its point estimate (4 dp); the Monte Carlo interval is drawn around these estimates'),
        Column('pv_evidenced', 'DOUBLE', 'present value in the evidenced (conservative) case: a model output whose 95% interval includes no effect counts as 0, £ (equal to `pv` when `base_case` is `evidenced`)'),
        Column('ratio_evidenced', 'DOUBLE', 'the ratio in the evidenced (conservative) case (4 dp): a sensitivity, below the point estimate when the inconclusive estimates are positive'),
        RUN_ID,
    ),
)
SOCIAL_VALUE_SENSITIVITY = Mart(
    'marts.social_value_sensitivity', grain='scope × outcome × assumption',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        Column('scope', 'VARCHAR', 'whose ratio is tested: `overall` or a time bank'),
        Column('outcome', 'VARCHAR', 'outcome id'),
        Column('assumption', 'VARCHAR', '`quantity`, `proxy`, `deadweight`, `displacement`, `attribution`, `drop_off`, `duration` or `scale` (the conversion of the quantity: only for an outcome with a range on it or a scale other than 1)'),
        Column('unit', 'VARCHAR', "`percent` (0-100), `GBP per <unit> (reporting prices)`, `count` (or the model output's unit), `years`, or `multiplier of the quantity (quantity.scale)`"),
        Column('base', 'DOUBLE', 'the base value in that unit'),
        Column('low', 'DOUBLE', 'low end of the stated range (the 95% interval for a model-output quantity); empty when no range is stated'),
        Column('high', 'DOUBLE', 'high end of the stated range'),
        Column('ratio_low', 'DOUBLE', "the scope's ratio with the assumption at `low`"),
        Column('ratio_high', 'DOUBLE', "the scope's ratio with the assumption at `high`"),
        Column('swing', 'DOUBLE', '`abs(ratio_high − ratio_low)`: the bar length of a tornado chart'),
        Column('switching_value', 'DOUBLE', 'the value of the assumption at which the ratio reaches 1.00; empty when there is none within range'),
        Column('switching_note', 'VARCHAR', 'the switching value in words, or "no switching value within range"'),
        RUN_ID,
    ),
)
IMPACT_MAP = Mart(
    'marts.impact_map', grain='outcome',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        Column('scope', 'VARCHAR', "`overall` or the outcome's time bank"),
        Column('outcome', 'VARCHAR', 'outcome id'),
        Column('stakeholder', 'VARCHAR', 'who experiences the change'),
        Column('description', 'VARCHAR', 'outcome description'),
        Column('quantity', 'DOUBLE', 'the quantity used (after `scale`)'),
        Column('quantity_source', 'VARCHAR', '`fixed`, or the model-output key it came from'),
        Column('quantity_estimate', 'DOUBLE', "the model's estimate before `scale`; empty for fixed quantities"),
        Column('quantity_ci_low', 'DOUBLE', "low end of the model's 95% interval, after `scale`"),
        Column('quantity_ci_high', 'DOUBLE', "high end of the model's 95% interval, after `scale`"),
        Column('quantity_n', 'BIGINT', 'participants analysed by the model'),
        Column('quantity_unit', 'VARCHAR', "the model output's unit (`people` for a count of people, which pages publish "
                                           "through the disclosure rule); empty for fixed quantities"),
        Column('quantity_scale', 'DOUBLE', 'the `scale` multiplier (1 when not given)'),
        Column('proxy_id', 'VARCHAR', 'proxy id'),
        Column('proxy_description', 'VARCHAR', 'proxy description'),
        Column('proxy_unit', 'VARCHAR', 'what one unit of the proxy is'),
        Column('proxy_value', 'DOUBLE', "the proxy's value at its own price year, £"),
        Column('proxy_price_year', 'BIGINT', "the proxy's price year"),
        Column('uprating_factor', 'DOUBLE', '`index[reporting price year] / index[proxy_price_year]` from the deflator table (6 dp)'),
        Column('proxy_value_reporting', 'DOUBLE', 'the proxy in reporting-year prices, £ (penny)'),
        Column('proxy_source', 'VARCHAR', "the proxy's source"),
        Column('proxy_licence', 'VARCHAR', "the proxy's licence"),
        Column('proxy_url', 'VARCHAR', "the proxy's URL, if known"),
        Column('deadweight_pct', 'DOUBLE', 'deadweight used, %'),
        Column('deadweight_source', 'VARCHAR', '`fixed`, or `from_comparison:<model output key>`'),
        Column('comparison_rate', 'DOUBLE', 'comparison-group rate from the model output (when given)'),
        Column('participant_rate', 'DOUBLE', "participants' rate from the model output (when given)"),
        Column('displacement_pct', 'DOUBLE', 'displacement, %'),
        Column('attribution_pct', 'DOUBLE', 'attribution, %'),
        Column('drop_off_pct', 'DOUBLE', 'drop-off, %'),
        Column('duration_years', 'BIGINT', 'duration, years'),
        Column('discount', 'VARCHAR', 'discount schedule, e.g. `green_book (3.5% in years 0-30, then stepped)`'),
        Column('year1_impact', 'DOUBLE', "the outcome's year-1 impact, £"),
        Column('pv', 'DOUBLE', "the outcome's present value, £"),
        Column('price_year', 'BIGINT', 'reporting price year'),
        Column('status', 'VARCHAR', '`valued`; `valued at its point estimate; its 95% interval includes no effect (0 in the evidenced case)` (base case `point_estimate`, the default); `valued at 0 in the base case: its 95% interval includes no effect` (base case `evidenced`: its point estimate is in `quantity_estimate`); `output: reported, not valued (not in the ratio)` for an output such as hours exchanged (only its quantity is given); or, in the pipeline, `omitted: <reason>` for an outcome left out because its model has no results (its numbers are then empty)'),
        RUN_ID,
    ),
)
SOCIAL_VALUE_YEARLY = Mart(
    'marts.social_value_yearly', grain='scope × outcome × year',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        Column('scope', 'VARCHAR', "the outcome's scope"),
        Column('outcome', 'VARCHAR', 'outcome id'),
        Column('year', 'BIGINT', '1 … duration'),
        Column('impact', 'DOUBLE', 'impact in that year (after drop-off), £'),
        Column('discount_factor', 'DOUBLE', "`DF_t` of the outcome's schedule (6 dp)"),
        Column('present_value', 'DOUBLE', '`impact × DF_t`, £'),
        RUN_ID,
    ),
)

# ------------------------------------------------------------------ diagnostics

#: The columns naming the result a diagnostics row belongs to (models/comparison/diagnostics.py).
_LABEL_COLUMNS = (
    Column('result', 'VARCHAR', 'label of the comparison: `<outcome_model>: <comparison>`'),
    Column('outcome_model', 'VARCHAR', '`readmission`, `reoffending` or `wellbeing`'),
    Column('comparison', 'VARCHAR', 'readmission: `any`, `timebank`, `programme`; reoffending: the programme label; well-being: `<star_version> / <area>`'),
    Column('measure', 'VARCHAR', 'the outcome whose design this is (readmission `readmitted_within_30_days`, reoffending `binary_rate`, well-being `improvement`)'),
    Column('method', 'VARCHAR', '`match` or `ipw`'),
)

COMPARISON_BALANCE = Mart(
    'marts.comparison_balance', grain='result × design column',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        *_LABEL_COLUMNS,
        Column('covariate', 'VARCHAR', 'design column of the propensity model (a numeric covariate, a category level, a missing-value indicator)'),
        Column('source', 'VARCHAR', 'the covariate the design column came from'),
        Column('smd_before', 'DOUBLE', 'standardised mean difference before matching (pooled SD before; Austin 2009)'),
        Column('smd_after', 'DOUBLE', 'standardised mean difference after matching or weighting (same pooled SD)'),
        Column('vr_before', 'DOUBLE', 'variance ratio participants / comparison before'),
        Column('vr_after', 'DOUBLE', 'variance ratio after (weighted)'),
        Column('flag', 'BOOLEAN', '|smd_after| > 0.1 (Austin 2009)'),
        Column('vr_flag', 'BOOLEAN', 'non-binary column with vr_after outside 0.5-2 (Rubin 2001)'),
        Column('n_treated_before', 'BIGINT', 'participants in the propensity model'),
        Column('n_comparison_before', 'BIGINT', 'comparison people in the propensity model'),
        Column('n_treated_after', 'BIGINT', 'participants kept (matched, or weighted after support)'),
        Column('n_comparison_after', 'BIGINT', 'distinct comparison people used (matching) or with a positive weight (IPW)'),
        Column('smallest_cell_before', 'DOUBLE', 'a 0/1 design column (a category level, a missing-value indicator): the fewest people in a non-empty cell (with or without the level, in either group; a person with several rows counted once) before matching; empty for other columns. Not published: the page hides an SMD or variance ratio resting on 1-7'),
        Column('smallest_cell_after', 'DOUBLE', 'the same after matching or weighting (rows with a positive weight)'),
        RUN_ID,
    ),
)
PROPENSITY_OVERLAP = Mart(
    'marts.propensity_overlap', grain='result × group × logit-score bin',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        *_LABEL_COLUMNS,
        Column('group', 'VARCHAR', '`participants` or `comparison`'),
        Column('bin', 'INTEGER', 'bin number, 1 to 20, lowest logit first: equal width over the scores within 1e-9 of '
               'neither 0 nor 1, bin 1 (or 20) stretched to hold any scored beyond'),
        Column('logit_low', 'DOUBLE', 'lower edge of the bin, logit of the propensity score'),
        Column('logit_high', 'DOUBLE', 'upper edge of the bin, logit'),
        Column('score_low', 'DOUBLE', 'lower edge as a propensity score (probability)'),
        Column('score_high', 'DOUBLE', 'upper edge as a propensity score'),
        Column('n_before', 'BIGINT', 'people in the propensity model with a score in the bin'),
        Column('n_after', 'BIGINT', 'distinct people in the matched or weighted sample in the bin'),
        Column('weighted_after', 'DOUBLE', 'sum of their weights; comparison weights scaled to sum to the participants kept'),
        Column('share_treated_in_support', 'DOUBLE', 'share of participants inside common support'),
        Column('n_treated_outside_support', 'BIGINT', 'participants dropped by a common-support rule'),
        Column('n_comparison_removed', 'BIGINT', 'comparison people removed by the level or exact-stratum rules'),
        Column('pooled_sd_logit', 'DOUBLE', 'pooled SD of the logit score'),
        Column('caliper_width', 'DOUBLE', 'caliper in logit units (matching with a caliper; else NULL)'),
        RUN_ID,
    ),
)

# ------------------------------------------------------------------ effects

EFFECT_REGISTER = Mart(
    'marts.effect_register', grain='effect (source mart row): outcome family × programme × outcome × subgroup',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(
        Column('outcome_family', 'VARCHAR', '`readmission`, `reoffending` or `wellbeing`: the effects mart the row comes from'),
        Column('programme', 'VARCHAR', 'who took part: readmission `any` / `timebank` / `programme`; reoffending the programme label (`any_participation`, a programme id, `timebank:<id>`); well-being the Star version'),
        Column('outcome', 'VARCHAR', 'readmission `readmitted_within_30_days`; reoffending the measure (`binary_rate`, `frequency`, `days_to_first_reoffence`, `time_to_first_reoffence`); well-being `improvement`'),
        Column('subgroup', 'VARCHAR', 'well-being: the Star area (or the mean of areas); empty otherwise'),
        Column('measure', 'VARCHAR', 'what estimate is: `risk_difference`, `mean_difference`, `hazard_ratio` ...'),
        Column('estimate', 'DOUBLE', 'the effect, as in the source mart'),
        Column('ci_low', 'DOUBLE', 'lower limit of its 95% interval'),
        Column('ci_high', 'DOUBLE', 'upper limit of its 95% interval'),
        Column('p_value', 'DOUBLE', 'two-sided p-value, unadjusted'),
        Column('verdict', 'VARCHAR', "the source mart's verdict"),
        Column('n_matched', 'BIGINT', 'participants the effect applies to'),
        Column('estimand', 'VARCHAR', '`ATT` or `effect on the matched participants`, when the source mart gives it'),
        Column('share_participants_matched', 'DOUBLE', 'share of participants kept (0-1), when the source mart gives it'),
        Column('design_sentence', 'VARCHAR', 'when follow-up starts and who the comparison people are, when given'),
        Column('analysis_role', 'VARCHAR', '`primary` (the configured primary outcome of the programme) or `exploratory`'),
        Column('p_value_holm', 'DOUBLE', "Holm-adjusted p-value over the run's n_comparisons (family-wise error rate)"),
        Column('p_value_bh', 'DOUBLE', "Benjamini-Hochberg adjusted p-value over the run's n_comparisons (false discovery rate)"),
        Column('n_comparisons', 'BIGINT', 'effects with a p-value in this run: the size of the family adjusted for'),
        RUN_ID,
    ),
)

OUTCOME_COVERAGE = Mart(
    'marts.outcome_coverage', grain='outcome family (readmission, reoffending, wellbeing, reciprocity, social_value)',
    published=True, disclosure='aggregate only: a status word and a sentence per family; it names no count of people',
    columns=(
        Column('outcome_family', 'VARCHAR', '`readmission`, `reoffending`, `wellbeing`, `reciprocity` or `social_value`'),
        Column('label', 'VARCHAR', 'the family in words, as the pages name it'),
        Column('status', 'VARCHAR', '`estimated`, `not estimated`, `no participants` or `no source data` (models/coverage.py)'),
        Column('message', 'VARCHAR', 'the status as one plain sentence for the pages; it names no count of people'),
        Column('sources', 'VARCHAR', 'input sources the family is measured from (comma-separated)'),
        RUN_ID,
    ),
)

# ------------------------------------------------------------------ quarterly partitions (docs/partitions.md)

TIMEBANK_ACTIVITY_QUARTERLY = Mart(
    'marts.timebank_activity_quarterly', grain='time bank × reporting quarter (one partition per quarter)',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(Column('quarter_start', 'DATE', 'the partition: first day of the calendar quarter (the partition key), '
                    'even when the window cuts the quarter short'),
             Column('run_id', 'VARCHAR', "run that wrote this quarter's slice (a table holds slices from several runs)"),
             *(c for c in TIMEBANK_ACTIVITY.columns if c.name != 'run_id')),
    partition='quarter_start',
)

READMISSION_RATES_QUARTERLY = Mart(
    'marts.readmission_rates_quarterly',
    grain='quarter of discharge × dimension × value (one partition per quarter)',
    published=True, disclosure=COUNTS_AT_PUBLICATION,
    columns=(Column('quarter_start', 'DATE', 'first day of the quarter of discharge (the partition key)'),
             Column('quarter', 'VARCHAR', 'its label, e.g. `2024Q1` (as in `core.index_discharges`)'),
             *(c for c in READMISSION_RATES.columns if c.name != 'run_id'),
             Column('run_id', 'VARCHAR', "run that wrote this quarter's slice")),
    partition='quarter_start',
)


#: Outcome models whose comparisons have balance and overlap rows.
COMPARISON_FAMILIES = ("readmission", "reoffending", "wellbeing")


def family_diagnostics(published: Mart, family: str) -> Mart:
    """The unpublished part of a diagnostics mart that one outcome model writes when it runs its
    comparisons; the diagnostics asset gathers the parts into the published mart."""
    return Mart(f"core.{published.table}_{family}", grain=f"{published.grain}, {family} comparisons only",
                columns=published.columns, published=False,
                disclosure=f"aggregates, gathered into {published.name} (published there)")


FAMILY_DIAGNOSTICS = tuple(family_diagnostics(m, f) for m in (COMPARISON_BALANCE, PROPENSITY_OVERLAP)
                           for f in COMPARISON_FAMILIES)

#: Every declared table by name: each module-level Mart above (adding a table is one entry).
MARTS: dict[str, Mart] = {m.name: m for m in (*(v for v in dict(globals()).values() if isinstance(v, Mart)),
                                             *FAMILY_DIAGNOSTICS)}


def mart(name: str) -> Mart:
    """The declaration of ``name`` (``schema.table``); KeyError names the table when it is not declared."""
    try:
        return MARTS[name]
    except KeyError:
        raise KeyError(f"{name} is not declared in schemas/marts.py") from None


def published_tables() -> tuple[str, ...]:
    """Names of the published marts: the reader snapshot's allowlist."""
    return tuple(sorted(n for n, m in MARTS.items() if m.published))
