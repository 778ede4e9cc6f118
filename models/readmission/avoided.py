"""Avoided readmissions, emergency admissions and service contacts, for the social-value model.

Positive = avoided (fewer than the comparison implies); negative = extra.

* ``readmissions``: from marts.readmission_effects (comparison ``any``):
  estimate = -(risk difference) x n, interval = -(RD interval) x n, n = matched participant
  discharges; comparison_rate / participant_rate = the matched groups' readmission risks.
* ``emergency_admissions`` and ``contacts_<service>``: from the before/after DiD:
  estimate = -DiD x participant person-years after joining (n_matched x after_days/365.25),
  the interval likewise; participant_rate = participants' rate after joining,
  comparison_rate = their counterfactual rate, before rate + the comparison group's change.
  Per year of participation for the matched participants.

The estimates apply to the matched participants (ATT), not to everyone who took part.
"""

from __future__ import annotations

import pandas as pd

from models.social_value.model_outputs import adverse_events_avoided

from .tables import READMISSION_AVOIDED, empty_frame
from schemas.marts import mart


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def avoided(effects: pd.DataFrame, before_after: pd.DataFrame, services: pd.DataFrame) -> pd.DataFrame:
    rows = []
    if effects is not None and not effects.empty:
        e = effects[(effects["comparison"] == "any") & (effects["status"] == "estimated")]
        for _, r in e.iterrows():
            n = int(r["n_matched"])
            rows.append({
                "measure": "readmissions", "estimate": -_f(r["risk_difference"]) * n,
                "ci_low": -_f(r["rd_ci_high"]) * n, "ci_high": -_f(r["rd_ci_low"]) * n,
                "comparison_rate": _f(r["comparison_rate"]), "participant_rate": _f(r["participant_rate"]), "n": n,
                "unit": f"readmissions avoided among {n} matched participant discharges",
                "source": "marts.readmission_effects (comparison any)",
            })
    for frame, label_col, prefix, table in ((before_after, "outcome", "", "marts.readmission_before_after"),
                                            (services, "service", "contacts_", "marts.service_use_change")):
        if frame is None or frame.empty:
            continue
        for _, r in frame[frame["status"] == "estimated"].iterrows():
            py = _f(r["person_years_after"])
            counterfactual = _f(r["participant_before"]) + (_f(r["comparison_after"]) - _f(r["comparison_before"]))
            rows.append({
                "measure": f"{prefix}{r[label_col]}", "estimate": -_f(r["did"]) * py,
                "ci_low": -_f(r["ci_high"]) * py, "ci_high": -_f(r["ci_low"]) * py,
                "comparison_rate": counterfactual, "participant_rate": _f(r["participant_after"]),
                "n": int(r["n_matched"]),
                "unit": f"{str(r[label_col]).replace('_', ' ')} avoided in the first year after joining, "
                        f"{int(r['n_matched'])} matched participants ({py:.1f} person-years)",
                "source": table,
            })
    if not rows:
        return empty_frame(READMISSION_AVOIDED)
    out = mart("marts.readmission_avoided").frame(rows)
    out[["estimate", "ci_low", "ci_high"]] = out[["estimate", "ci_low", "ci_high"]].astype(float).replace(-0.0, 0.0)
    return out


def social_value_outputs(frame: pd.DataFrame) -> dict[str, dict]:
    """marts.readmission_avoided as the social-value model's output mapping: ``avoided_<measure>``.

    Net estimates (already the difference from the matched comparison group) of adverse
    events (``lower_is_better``). The rates travel only for ``readmissions``, where they are
    risks (proportions); for admissions and contacts they are events per person-year, which
    the interface's ``comparison_rate`` (a proportion, for deadweight) cannot hold.
    """
    return {f"avoided_{r.measure}": adverse_events_avoided(r, rates=r.measure == "readmissions")
            for r in frame.itertuples(index=False)}
