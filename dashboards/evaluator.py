"""The evaluator page: provenance, matching diagnostics, survival, Cox, mixed model, SROI, and what can be said.

Reads ``meta.runs``, ``meta.input_files``, ``marts.readmission_effects``,
``marts.reoffending_effects`` (every measure: :func:`dashboards.reoffending_sections.measures_section`),
``marts.reoffending_survival``, ``marts.reoffending_cox``,
``marts.readmission_before_after`` and ``marts.service_use_change`` (their pre-trend check),
``marts.wellbeing_effects``, ``marts.wellbeing_model``, ``marts.comparison_balance`` and
``marts.propensity_overlap``, and the SROI marts (:mod:`dashboards.sroi_sections`). The balance summary is read from the effect marts (largest
|SMD| after matching; below 0.1 is balanced, Austin 2009); per-covariate balance before and
after matching, the propensity-score overlap and common support come from the diagnostics
marts (:mod:`dashboards.diagnostics_sections`). Counts pass the disclosure rule; a
Kaplan-Meier curve is recomputed from rounded counts (no step is one person's event) and
drawn only for a group large enough for those steps to be small.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import plotly.graph_objects as go

from dashboards import (charts, coverage, diagnostics_sections, evaluator_glance, glossary, labels, multiplicity,
                        provenance, reoffending_sections, sroi_sections, wording)
from models.disclosure import SUPPRESSED, DisclosureRule
from models.readmission.before_after import PRETREND_WARNING
from models.wellbeing.effects import MEAN_OF_AREAS
from models.wellbeing.settings import SHARED_MATCH_DESIGNS
from dashboards.labels import heading, plural
from dashboards.marts import demo_run, read_marts, unavailable
from dashboards.page import PALETTE, Page, Section
from dashboards.verdicts import balanced
from dashboards.windows import read_windows

MARTS = ("readmission_effects", "reoffending_effects", "reoffending_survival", "reoffending_cox", "wellbeing_effects",
         "readmission_before_after", "service_use_change",
         "wellbeing_model", "effect_register", *sroi_sections.MARTS, *diagnostics_sections.MARTS, *coverage.MARTS)


def balance_section(m: dict[str, pd.DataFrame | None], rule: DisclosureRule) -> Section:
    title = "Balance after matching"
    parts = []
    if m["readmission_effects"] is not None:
        r = m["readmission_effects"]
        parts.append(pd.DataFrame({"result": "readmission: " + r["comparison"], "n_matched": r["n_matched"],
                                   "max_abs_smd_after": r["max_abs_smd_after"], "covariates": r["covariates"]}))
    if m["reoffending_effects"] is not None:
        r = m["reoffending_effects"][m["reoffending_effects"]["measure"] == "binary_rate"]
        parts.append(pd.DataFrame({"result": "reoffending: " + r["programme"], "n_matched": r["n_matched"],
                                   "max_abs_smd_after": r["max_abs_smd"], "covariates": r["covariates"]}))
    shared = 0
    if m["wellbeing_effects"] is not None:
        r = m["wellbeing_effects"]
        own = (r["area"] == MEAN_OF_AREAS) | ~r["design"].isin(SHARED_MATCH_DESIGNS)  # the rest share their Star's
        shared, r = int((~own).sum()), r[own]
        parts.append(pd.DataFrame({"result": "well-being: " + r["star_version"] + " / " + r["area"], "n_matched": r["n_matched"],
                                   "max_abs_smd_after": r["max_abs_smd_after"], "covariates": r["covariates"]}))
    rows = pd.concat(parts, ignore_index=True) if parts else None
    if rows is None or rows.empty:
        return unavailable(title, {"marts.readmission_effects": m["readmission_effects"],
                                   "marts.reoffending_effects": m["reoffending_effects"],
                                   "marts.wellbeing_effects": m["wellbeing_effects"]})
    rows = rows[rows["max_abs_smd_after"].notna()].reset_index(drop=True)
    rows["balanced"] = [balanced(r, "max_abs_smd_after") for _, r in rows.iterrows()]  # as the commissioner's verdicts
    # the figure is the largest over the covariate rows the next section publishes; none without them
    largest = diagnostics_sections.largest_published_smd(m.get("comparison_balance"), rule)  # keyed "wellbeing: ..."
    rows["max_abs_smd_after"] = rows["result"].str.replace("well-being: ", "wellbeing: ", regex=False).map(largest)
    unlisted = rows["max_abs_smd_after"].isna() & ~rows["n_matched"].map(rule.hides)
    table = rule.table(rows.round(3), ["n_matched"], {"max_abs_smd_after": "n_matched", "balanced": "n_matched"},
                       name="balance")
    table["max_abs_smd_after"] = table["max_abs_smd_after"].where(~unlisted.to_numpy(), SUPPRESSED)
    drawn = table[table["max_abs_smd_after"] != SUPPRESSED]  # the chart shows what the table publishes, no more
    # a withheld result keeps its row, labelled as withheld (as its table row shows *), without a point
    labels = charts.wrapped([r if v != SUPPRESSED else diagnostics_sections.withheld_label(r, v, v, rule)
                             for r, v in zip(table["result"], table["max_abs_smd_after"])])
    figure = go.Figure(go.Scatter(
        x=[None if v == SUPPRESSED else v for v in table["max_abs_smd_after"]], y=labels, mode="markers",
        name="largest |SMD| after matching",
        marker={"symbol": ["circle" if str(b).startswith("yes") else "x" for b in table["balanced"]], "size": 10,
                "color": PALETTE[0]}))
    figure.add_vline(x=0.1, line_dash="dash", annotation_text="0.1")
    figure.update_layout(title=title, xaxis_title="largest absolute standardised mean difference", xaxis_rangemode="tozero",
                         yaxis_autorange="reversed",
                         height=max(320, 80 + charts.row_height(labels) * len(table)))
    off = int((table["balanced"] == "no (> 0.1)").sum())
    small = int(rows["n_matched"].map(rule.hides).sum())
    left_out = [f"{int(unlisted.sum())} with no such rows drawn without a point, labelled withheld" if unlisted.any() else "",
                f"{small} on a matched group of 1 to {rule.suppress_max} drawn without a point, labelled "
                f"'* withheld: 1 to {rule.suppress_max} people' (* in the table)" if small else "",
                f"{plural(shared, 'well-being result')} per area or for a reliable change not listed: each is estimated "
                "on its Star's matched sample, whose 'mean of areas' row gives their balance" if shared else ""]
    return Section(title, f"{plural(len(drawn), 'matched comparison')} drawn; {off} of the {len(table) - small} published "
                   f"leave at least one covariate with |SMD| above 0.1 (circles balanced, crosses not). Each point is the "
                   f"largest |SMD| among the covariate rows published in the next section."
                   + "".join(f" {part[0].upper()}{part[1:]}." for part in left_out if part),
                   figure=figure, table=table, csv_name="evaluator-balance.csv", collapsed=True, values_in_text=True,
                   note="Every covariate, before and after matching: the next section.")


#: Services (and outcomes) as a sentence names them: the contract's codes in words.
SERVICE_WORDS = {"gp": "GP", "ae": "A&E"}


#: The words that open the caution the before/after model adds to a row's ``warnings`` when its pre-trend check fails
#: ("pre-trend check failed"): the model's verdict, which the page repeats.
PRETREND_CAUTION = PRETREND_WARNING.split(":", 1)[0]


def pretrend_section(m: dict[str, pd.DataFrame | None], rule: DisclosureRule) -> Section:
    """The before/after rows' pre-trend (placebo) check, as the marts give it (``pretrend_*``,
    models/readmission/before_after.py): a failed check means the groups were not on parallel paths before
    joining (e.g. an Ashenfelter dip), so the difference-in-differences is in doubt. Failed or passed is the model's
    own verdict, the caution it adds to the row's ``warnings`` (:data:`PRETREND_CAUTION`), not judged again here."""
    title = "Before and after joining: pre-trend check"
    parts = [pd.DataFrame({"result": prefix + frame[col].map(lambda v: SERVICE_WORDS.get(v, v.replace("_", " "))),
                           "washout_days": frame["washout_days"],
                           "n_matched": frame["pretrend_n_matched"], "pretrend_did": frame["pretrend_did"],
                           "ci_low": frame["pretrend_ci_low"], "ci_high": frame["pretrend_ci_high"],
                           "p_value": frame["pretrend_p_value"], "status": frame["pretrend_status"],
                           "caution": frame["warnings"].fillna("").str.contains(PRETREND_CAUTION, regex=False)})
             for name, col, prefix in (("readmission_before_after", "outcome", ""), ("service_use_change", "service", "contacts: "))
             if (frame := m[name]) is not None and not frame.empty]
    if not parts:
        return unavailable(title, {"marts.readmission_before_after": m["readmission_before_after"],
                                   "marts.service_use_change": m["service_use_change"]})
    rows = pd.concat(parts, ignore_index=True)
    done = rows["status"] == "estimated"
    rows["check"] = rows.pop("caution").map({True: "failed", False: "passed"}).where(done, "not run")
    table = rule.table(rows.round(3), ["n_matched"], {c: "n_matched" for c in ("pretrend_did", "ci_low", "ci_high",
                                                                               "p_value", "check")},
                       texts=["status"], name="pre-trend check")
    failed = int((table["check"] == "failed").sum())
    washout = sorted(set(rows["washout_days"].dropna().astype(int)))
    before = (f"the year ending {washout[0]} days before joining" if washout and washout[0] else
              "the year before joining") if len(washout) <= 1 else "the year before joining (less the washout)"
    return Section(title, f"{plural(int(done.sum()), 'before/after result')} checked, {failed} failed. The check is the same "
                   f"matched difference-in-differences one year earlier: {before} against the year before that. It is "
                   "about 0 when participants and comparison were on parallel paths. A failed check (its 95% interval "
                   "excludes 0) means the groups were already drifting apart, e.g. people joining after a crisis, whose "
                   "use falls back whatever joining does; the result's own row then carries a caution. The washout, the "
                   "days just before joining left out of the before window, is the setting that guards against it.",
                   table=table, csv_name="evaluator-pretrend.csv", collapsed=True,
                   shown_values={"result": {r: r[:1].upper() + r[1:] for r in rows["result"]}})


#: A curve is drawn from counts rounded to steps of ``suppress_max + 1`` events, for a group of at least this many
#: such steps: at its start a step is at most a fifth of the group.
KM_MIN_STEPS = 5


#: The survival mart's groups as every page writes them ("matched comparison", not "Matched comparison" beside
#: "participants" in one legend).
KM_GROUPS = {"participants": "participants", "matched_comparison": "matched comparison"}


#: What the survival mart's days count from, by the reoffending design (marts.reoffending_effects.design;
#: models.reoffending.prepare.design_rows): each participant's time zero, not the index event, but for the old design.
KM_DAYS_SINCE = {"risk_set": "days since time zero (a participant's start, or the index event if before it)",
                 "landmark": "days since the landmark day", "exposure_window": "days since the index event"}


def km_section(survival: pd.DataFrame | None, rule: DisclosureRule, design: str | None = None) -> Section:
    """Kaplan-Meier curves and their end points, each recomputed from rounded counts (``rule.survival_curve``);
    ``design``: the reoffending comparison's, which says what the days count from (:data:`KM_DAYS_SINCE`)."""
    title = "Kaplan-Meier curves: time to first proven reoffence"
    if survival is None or survival.empty:
        return unavailable(title, {"marts.reoffending_survival": survival})
    survival = survival.assign(programme=survival["programme"].map(labels.words), group=survival["group"].map(KM_GROUPS))
    step = rule.suppress_max + 1
    rows, curves = [], []
    for (programme, group), exact in survival.sort_values("time_days").groupby(["programme", "group"], sort=True):
        n_start, events = exact["n_at_risk"].iloc[0], exact["n_events"].sum()
        row = {"programme": programme, "group": group, "n_start": n_start, "events": events, "to_day": None,
               "events_on_curve": None, "survival_end": None, "ci_low_end": None, "ci_high_end": None, "note": ""}
        size = rule.published(n_start)
        if size is None:
            row["note"] = f"not published: 1 to {rule.suppress_max} people"
        elif size < KM_MIN_STEPS * step:
            row["note"] = (f"not drawn: a group of fewer than {KM_MIN_STEPS * step} people, where a rounded step of "
                           f"{step} events is more than a fifth of the group")
        else:
            curve = rule.survival_curve(exact)
            curves.append(curve)
            last = curve.iloc[-1]
            row.update(to_day=last["time_days"], events_on_curve=curve["n_events"].sum(), survival_end=last["survival"],
                       ci_low_end=last["ci_low"], ci_high_end=last["ci_high"])
            if last["time_days"] < exact["time_days"].max():
                row["note"] = (f"drawn to day {last['time_days']}: after it fewer than {2 * step} people were at risk, "
                               "where rounding would set the curve")
        rows.append(row)
    shown = ("to_day", "events_on_curve", "survival_end", "ci_low_end", "ci_high_end")
    table = rule.table(pd.DataFrame(rows).round(3), ["n_start", "events"], {c: "n_start" for c in shown},
                       name="kaplan-meier")
    drawn = pd.concat(curves, ignore_index=True) if curves else survival.iloc[:0]
    smallest = min((c["n_at_risk"].iloc[0] for c in curves), default=None)
    shift = (f", {100 * (step // 2) / smallest:.1f} percentage points of the smallest group drawn ({smallest:.0f} "
             "people) when no one leaves follow-up early, more when people do" if smallest else "")
    return Section(title, f"{plural(len(curves), 'curve')} drawn (solid: participants, dashed: matched comparison), with pointwise "
                   f"95% bands; {len(rows) - len(curves)} not drawn. Each curve is recomputed from counts rounded so that "
                   f"every step holds {step} events (the first {step - step // 2}; OpenSAFELY's method), so that no step "
                   f"is one person's reoffence; it is drawn for a group of at least {KM_MIN_STEPS * step} people, while "
                   f"{2 * step} or more are at risk ({heading('to_day')}: its last day; the end values are on it). The rounding can "
                   f"move a curve's end by up to {step // 2} events{shift}: read the curves for their shape, and the "
                   "matched difference from 'What you can and cannot say'.",
                   figure=charts.km(drawn, title, KM_DAYS_SINCE.get(design, KM_DAYS_SINCE["risk_set"])) if curves
                   else charts.no_data(title, "No group is large enough to draw."),
                   table=table, csv_name="evaluator-km.csv", collapsed=True,
                   note=f"{heading('events')}: every event in follow-up, rounded to the nearest {rule.round_to}; "
                        f"{heading('events_on_curve')}: those before {heading('to_day')} as the curve counts them "
                        f"(cumulative counts moved to the middle of a step of {step}).")


def _design(effects: pd.DataFrame | None) -> str | None:
    """The design of a comparison mart (one per run), or None when it has no rows."""
    return None if effects is None or effects.empty or "design" not in effects else str(effects["design"].iloc[0])


def published_cox(cox: pd.DataFrame, effects: pd.DataFrame | None, rule: DisclosureRule) -> pd.DataFrame:
    """The Cox table as published: a model whose participant group (``n_participants`` of the programme's
    reoffending comparison) has 1 to 7 people, or is unknown, shows no hazard ratio, interval or p-value."""
    columns = ["programme", "term", "hazard_ratio", "ci_low", "ci_high", "p_value", "ph_p_value", "ph_violated", "n",
               "n_events", "n_participants", "note", "design_sentence"]
    sizes = (pd.DataFrame(columns=["programme", "n_participants"]) if effects is None else
             effects[effects["measure"] == "binary_rate"][["programme", "n_participants"]].drop_duplicates("programme"))
    frame = cox.merge(sizes, on="programme", how="left").round(4)
    frame["n_participants"] = frame["n_participants"].astype(float)
    unknown = frame["n_participants"].isna()
    frame.loc[unknown, "n_participants"] = 1  # unknown participant count: treated as not publishable
    table = rule.table(frame[columns], ["n", "n_events", "n_participants"],
                       {c: "n_participants" for c in ("hazard_ratio", "ci_low", "ci_high", "p_value", "ph_p_value",
                                                       "ph_violated")},
                       texts=["note", "design_sentence"], name="cox")
    table.loc[unknown.to_numpy(), "n_participants"] = None
    return table


def cox_section(cox: pd.DataFrame | None, effects: pd.DataFrame | None, rule: DisclosureRule) -> Section:
    title = "Cox proportional hazards models"
    if cox is None or cox.empty:
        return unavailable(title, {"marts.reoffending_cox": cox})
    table = published_cox(cox, effects, rule)
    treated = table[(table["term"] == "treated") & table["hazard_ratio"].map(lambda v: isinstance(v, float) and not pd.isna(v))]
    return Section(title, f"Hazard ratios of time to first proven reoffence for {plural(cox['programme'].nunique(), 'programme label')}, "
                   f"adjusted for the covariates; {plural(len(treated), 'model')} publish a participation term (participants "
                   f"against everyone else analysed; 'treated' in the CSV). A model whose participant group has 1 to "
                   f"{rule.suppress_max} people shows no estimate. ph_violated flags "
                   "terms whose hazard ratio changes over follow-up (Grambsch-Therneau test).",
                   table=table, csv_name="evaluator-cox.csv", collapsed=True,
                   shown_values={"term": {"treated": "participation"}})


def mixed_sections(model: pd.DataFrame | None, rule: DisclosureRule) -> list[Section]:
    title = "Mixed-model coefficients: hours given and received"
    if model is None or model.empty:
        return [unavailable(title, {"marts.wellbeing_model": model})]
    fitted = model[model["status"].astype(str).str.startswith("fitted") & model["term"].isin(["hours_given", "hours_received"])
                   & ~model["n_people"].map(rule.hides)].copy()
    fitted["label"] = fitted["scope"] + ": " + fitted["star_version"] + " / " + fitted["area"] + " — " + fitted["term"]
    fitted = fitted[fitted["scope"].isin(["version", "stars", "all"])].sort_values(["scope", "star_version", "term"])
    figure = (charts.forest(fitted, "label", title, "change in score per 10 hours (95% interval)", 0.0)
              if not fitted.empty else charts.no_data(title))
    columns = ["scope", "star_version", "area", "term", "estimate", "se", "ci_low", "ci_high", "p_value", "n_readings",
               "n_people", "converged", "status"]
    table = rule.table(model[columns].round(4), ["n_readings", "n_people"],
                       {c: "n_people" for c in ("estimate", "se", "ci_low", "ci_high", "p_value")}, texts=["status"],
                       name="mixed model")
    return [Section(title, f"{len(fitted)} coefficients of hours given and received from fitted models per instrument and "
                    "pooled (random intercept per person, REML). Every coefficient is descriptive only: in simulations with "
                    "a known effect their 95% intervals held it in 65-81% of runs, not 95% (docs/validation.md), so "
                    "read them as a description of who improved alongside their hours, not as an effect. Pooled rows "
                    "also put different scales on one ruler.", figure=figure, table=table, csv_name="evaluator-mixed-model.csv",
                    collapsed=True, values_in_text=True)]


def build_page(con: duckdb.DuckDBPyConnection, run_id: str, rule: DisclosureRule) -> Page:
    m = read_marts(con, MARTS, rule)
    windows = read_windows(con)
    says = wording.statements(m["readmission_effects"], m["reoffending_effects"], m["wellbeing_effects"], m["social_value"], rule,
                              published_cox(m["reoffending_cox"], m["reoffending_effects"], rule)
                              if m["reoffending_cox"] is not None and not m["reoffending_cox"].empty else None,
                              windows)
    sections = [
        *provenance.sections(con, provenance.run_ids(m, run_id), rule),
        Section("What you can and cannot say", evaluator_glance.results_summary(says)
                + evaluator_glance.unlisted_sentence(multiplicity.register(m)),
                table=rule.no_counts(says, "n_matched published through the rule; no verdict on a suppressed group",
                                     "what you can say"),
                csv_name="evaluator-what-you-can-say.csv",
                note="n matched: the matched participants (for readmission, their discharges: a participant can have "
                     "several). A Cox row has none: its model is fitted on everyone analysed, "
                     "not on a matched sample, and its text gives the participants in it. Readmission compares "
                     "three groups of participants: any participation (time-bank activity in the days before "
                     "discharge or a programme start after it), time-bank members (that activity alone) and programme "
                     "participants (a programme start alone); the CSV names them any, timebank and programme.")
                if not says.empty else unavailable(
            "What you can and cannot say", {"marts.readmission_effects": m["readmission_effects"],
                                            "marts.reoffending_effects": m["reoffending_effects"]}),
        reoffending_sections.measures_section(m["reoffending_effects"], rule),
        balance_section(m, rule),
        pretrend_section(m, rule),
        *diagnostics_sections.sections(m, rule),
        km_section(m["reoffending_survival"], rule, _design(m["reoffending_effects"])),
        cox_section(m["reoffending_cox"], m["reoffending_effects"], rule),
        *mixed_sections(m["wellbeing_model"], rule),
        *coverage.sections(m, "social_value"),
        *sroi_sections.sections(m, rule),
        glossary.terms_section(glossary.EVALUATOR, rule, windows),
    ]
    sections.insert(0, evaluator_glance.section(sections, multiplicity.run_comparisons(m), multiplicity.register(m), rule))
    return Page("evaluator.html", "For evaluators", "The diagnostics behind every headline: provenance, matching and the "
                "models' own tables.", sections, demo=demo_run(con),
                more="Sections open when you select their title; long tables are paged and searchable, and every table "
                     "downloads whole as CSV.")
