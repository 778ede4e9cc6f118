"""'Words used on this page': the terms a page uses that its reader may not know, each with the meaning the page
gives it and, for a method, its source.

A page's last section (:func:`terms_section`); a meaning may name the disclosure rule's numbers
(``{suppress_max}``, ``{round_to}``) and the settings' defaults.
"""

from __future__ import annotations

import html

from dashboards.page import Section
from dashboards.windows import NHS_MOJ, Windows
from models.disclosure import DisclosureRule

_INTERVAL = ("95% interval", "The range in which the true difference most likely lies. When it includes no difference, "
             "the result is inconclusive: the data cannot tell a benefit from a harm.")
_SUPPRESSION = ("* and rounding", "Counts of 1 to {suppress_max} are shown as *, and other counts rounded to the nearest "
                "{round_to}, so that no one can be recognised; figures that rest on them are withheld too.")

_PARTICIPANTS = ("Participants", "People who took part: time-bank members and people who started a programme (each "
                 "result's design sentence says who counts, and from when). Every count of them on the pages says "
                 "participants.")
#: The evaluator's reader also opens the CSVs and the literature, which call the participants "treated".
_PARTICIPANTS_TREATED = (_PARTICIPANTS[0], _PARTICIPANTS[1] + " The CSVs, as the statistical literature, call them "
                         "'treated' (the diagnostics' count columns, a Cox model's term, the ATT: the average effect on "
                         "the treated).")

#: The commissioner page's terms.
COMMISSIONER = (
    _PARTICIPANTS,
    ("Matched comparison group", "People who did not take part, chosen because they resembled the participants before "
     "they started (age, sex, area deprivation, earlier use of services), so that the difference in outcomes is not "
     "simply who chose to take part."),
    _INTERVAL,
    ("Percentage points", "The difference between two percentages: 10% against 7% is 3 points."),
    ("IMD decile", "The Index of Multiple Deprivation decile of the small area a person lives in: the most deprived "
     "tenth of areas in England is decile 1, the least deprived decile 10."),
    ("Outcomes Star, Star area, distance travelled", "Outcomes Star readings score each area of life from 1 to 10 (1 to 5 "
     "on some Stars); distance travelled is the change from a first reading to a later one."),
    ("Social return on investment (SROI)", "The social value, in pounds, that each £1 invested is estimated to create, "
     "under the impact map's assumptions; £1 is break-even."),
    ("Crude rate", "A share of everyone in a group, with no matched comparison: differences may reflect who took part."),
    ("Funnel plot", "Each provider's or time bank's readmissions against those expected from its patients' case mix; a "
     "point outside the funnel is more different from the whole than chance alone would make it. Overdispersion (its "
     "table's last column): 'none' when the units differ among themselves no more than chance allows; otherwise the "
     "limits are widened to allow for it (Spiegelhalter 2005, Qual Saf Health Care 14:347)."),
    ("Primary outcome, exploratory result", "A primary outcome is named before the analysis and judged on its own 95% "
     "interval. Every other result is exploratory: a run compares many things, and about one in twenty looks like a "
     "difference by chance when nothing works, so an exploratory result is called a reduction or an increase only when "
     "it holds after allowing for all the run's comparisons. Read it as a lead to follow up, not a finding."),
    _SUPPRESSION,
)

#: The evaluator's words for a result's place among the run's comparisons (its "At a glance" and "Analysis role").
_ROLES = ("Primary outcome, exploratory result, Holm", "A primary outcome is named in the settings before the run and "
          "judged on its own 95% interval, as a trial's is. Every other result is exploratory: among many comparisons "
          "about one in twenty is significant by chance when nothing works, so an exploratory result is called "
          "significant only when its p-value adjusted by Holm's method over all the run's comparisons (the chance of "
          "any false finding among them; Holm 1979, Scand J Stat 6:65) is below 0.05.")

#: The evaluator page's terms: the diagnostics' vocabulary, with the thresholds the page applies.
EVALUATOR = (
    _PARTICIPANTS_TREATED,
    ("Propensity score, logit", "Each person's modelled probability of taking part, given the covariates (a logistic "
     "regression). The logit, log(p / (1 − p)), is the scale on which matches are made and overlap is drawn."),
    ("Caliper", "The largest distance allowed between a participant's logit score and their match's: 0.2 standard "
     "deviations of the logit unless the settings say otherwise (Austin 2011, Pharm Stat 10:150). Participants with no "
     "one within it are dropped and counted."),
    ("Common support", "The range of covariates and scores that both groups share. A participant outside it has no one "
     "comparable and is dropped; a comparison person with a value no participant has is removed. Both are counted."),
    ("Standardised mean difference (SMD)", "A covariate's difference in mean between participants and comparison, "
     "divided by their pooled standard deviation. Below 0.1 in size after matching is taken as balanced (Austin 2009, "
     "Stat Med 28:3083)."),
    ("Variance ratio", "A covariate's variance among participants over its variance in the comparison group; 0.5 to 2 "
     "is taken as acceptable (Rubin 2001, Health Serv Outcomes Res Methodol 2:169)."),
    ("ATT, effect on the matched participants", "Each estimate is an average effect on the participants it compares, "
     "not on everyone. It is the ATT (the average effect on the treated) when at least 95% of the participants are "
     "kept; otherwise it is the effect on the matched participants only, and those dropped for support or the caliper "
     "may differ from them."),
    ("Weights, weighted after", "After matching, a comparison person matched to several participants, or tied with "
     "others on the same score, carries a share of weight; 'weighted after' sums those weights."),
    ("Proven reoffence", "An offence committed within a year of the index date (release from custody, a community "
     "sentence, a caution or a youth-court disposal) and proven by a caution or conviction within that year or a "
     "further six months (Ministry of Justice).{follow_up} The Justice Data Lab asks for at least 60 matched "
     "participants."),
    ("Kaplan-Meier curve", "The share of a group still without a proven reoffence, day by day since the index date. "
     "Its 95% bands are pointwise: each day's band, not the whole curve at once."),
    ("Hazard ratio, Cox model", "How much faster (above 1) or slower (below 1) a group reaches a first proven reoffence, "
     "adjusted for the covariates (Cox proportional hazards). 'PH p value' tests whether the ratio stays the same over "
     "time (Grambsch & Therneau 1994, Biometrika 81:515); a small one means it does not. The reoffending measures' "
     "table gives the matched one: participants against their matched comparison group, everyone matched."),
    ("Frequency, days to first reoffence", "Two of the Justice Data Lab's measures beside the share who reoffended: "
     "frequency is the proven reoffences per person in the follow-up; days to first reoffence is the mean number of days "
     "to the first proven reoffence among those who reoffended only, so it describes them rather than measuring an "
     "effect of taking part (the hazard ratio compares everyone matched)."),
    ("Mixed model, random intercept, REML", "A regression of Star readings with a level of its own for each person, so "
     "that one person's repeated readings count as related; fitted by restricted maximum likelihood (REML)."),
    ("Deadweight, displacement, attribution, drop-off", "The SROI discounts: the share of an outcome that would have "
     "happened anyway, that only moved elsewhere, that is due to others, and the share lost each year after the first "
     "(Social Value UK, A Guide to Social Return on Investment)."),
    ("Switching value", "The value an assumption would need for the SROI ratio to fall to £1 per £1 (break-even)."),
    _ROLES,
    _INTERVAL,
    _SUPPRESSION,
)


#: Ingest's rules (docs/data-contract.md, "What happens to a row") in words, for the data-quality page's chart, tables
#: and sentence: a reader met ``month_first_date`` and ``conflicting_key`` there. The code name stays beside them. Each
#: is short enough (40 characters) for a chart label and a table cell, where a longer text repeated down a column
#: becomes a numbered note.
RULES = {
    "required": "required value missing", "type": "value of the wrong type",
    "isin": "value not among those allowed", "greater_than": "value too small",
    "greater_than_or_equal_to": "value too small", "less_than_or_equal_to": "value too large",
    "in_range": "value out of range", "not_future": "date in the future", "order": "dates in the wrong order",
    "known_version": "unknown Outcomes Star version", "area_in_version": "area not on this Star",
    "within_scale": "score off the Star's scale", "month_first_date": "date that may be month first (US style)",
    "duplicate_row": "duplicate of a row already read", "conflicting_key": "one key with different content",
    "conflicting_record": "one record with different content", "unknown_reference": "refers to no known record",
    "unmapped_value": "value the mapping does not list", "date_format": "date not in the mapping's format",
    "number_format": "number not in the mapping's format", "duration_format": "duration not in the mapping's format",
    "field_count": "wrong number of fields on the line", "quoting": "quote left open",
    "line_too_long": "line too long (over 16 MiB)", "icd10_code": "not an ICD-10 code",
}


def rule_words(rule: str) -> str:
    """A rule's name in words (:data:`RULES`); a mapping's own rule ('inactive_or_deleted_member') with its underscores
    as spaces."""
    return RULES.get(rule, rule.replace("_", " "))


def terms_section(terms: tuple[tuple[str, str], ...], rule: DisclosureRule, windows: Windows = NHS_MOJ) -> Section:
    """A glossary of a page's words (a definition list), the page's last section; ``windows``: the outcome windows the
    run used (:mod:`dashboards.windows`), said where they differ from the official definition."""
    follow_up = "" if windows.moj else f" This run follows {windows.reoffending_days} days instead of the year."
    counts = {"suppress_max": rule.suppress_max, "round_to": rule.round_to, "follow_up": follow_up}
    items = "".join(f"<dt>{html.escape(term)}</dt><dd>{html.escape(meaning.format(**counts))}</dd>"
                    for term, meaning in terms)
    return Section("Words used on this page", f"What {len(terms)} of the page's terms mean.",
                   html=f"<dl class='terms'>{items}</dl>")
