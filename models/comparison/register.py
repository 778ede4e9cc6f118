"""The effect register: every effect of a run in one table, with its role and adjusted p-values.

Pages show dozens of effects; read one at a time, some will look "significant" by chance.
The register (``marts.effect_register``, columns :data:`REGISTER_COLUMNS`, declared in schemas/marts.py)
lists every effect row of the three effects marts, one test per row:

* readmission (``marts.readmission_effects``): one row per comparison (``any``, ``timebank``,
  ``programme``), its headline risk difference;
* reoffending (``marts.reoffending_effects``): one row per programme and measure;
* well-being (``marts.wellbeing_effects``): one row per Star version and area.

``analysis_role`` is ``primary`` for the outcome the configuration names as the programme's
primary outcome (:class:`EffectRegisterSettings`), ``exploratory`` for every other row (the
distinction of pre-registered trials: CONSORT 2010 item 6a, and the EMA's guideline on
multiplicity issues in clinical trials, 2017). ``p_value_holm`` (family-wise error rate;
Holm 1979) and ``p_value_bh`` (false discovery rate; Benjamini & Hochberg 1995) are adjusted
over every row of the run that has a p-value, ``n_comparisons`` of them (:mod:`.multiplicity`).
Rows without a p-value (not estimated) stay in the register with empty p-values and are not
counted. Only aggregate columns are kept: no person-level value enters the register.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.marts import mart

from .multiplicity import benjamini_hochberg, holm

FAMILIES = ("readmission", "reoffending", "wellbeing")
DEFAULT_PRIMARY = "readmission:readmitted_within_30_days"


def family_outcomes() -> dict[str, tuple[str, ...]]:
    """The outcomes each family's effects mart writes (its ``outcome`` or ``measure`` column), from the models."""
    from models.readmission.effects import OUTCOME as READMISSION  # imported here: those models import the engine
    from models.reoffending.effects import MEASURES
    from models.wellbeing.effects import OUTCOME as WELLBEING

    return {"readmission": (READMISSION,), "reoffending": MEASURES, "wellbeing": (WELLBEING,)}

#: Columns of ``marts.effect_register`` (declared in schemas/marts.py; ``run_id`` is added on writing).
REGISTER_COLUMNS = mart("marts.effect_register").result_columns()
DESIGN_COLUMNS = ("estimand", "share_participants_matched", "design_sentence")


class EffectRegisterSettings(BaseModel):
    """The ``effects`` section of the configuration."""

    model_config = ConfigDict(extra="forbid")
    primary_outcome: dict[str, str] = Field(
        default_factory=lambda: {"*": DEFAULT_PRIMARY},
        description=("Primary outcome per programme label, as `family:outcome` or `family:outcome:subgroup`; "
                     "the key `*` applies to every programme not named. Default: 30-day emergency readmission "
                     "for every programme (`readmission:readmitted_within_30_days`)."),
    )

    @field_validator("primary_outcome")
    @classmethod
    def _known_outcome(cls, value: dict[str, str]) -> dict[str, str]:
        """A family and an outcome its mart writes (a misspelt outcome would make no row primary, silently)."""
        outcomes = family_outcomes()
        for programme, spec in value.items():
            parts = spec.split(":")
            if len(parts) not in (2, 3) or parts[0] not in FAMILIES or not parts[1]:
                raise ValueError(f"primary_outcome[{programme!r}] = {spec!r}: expected 'family:outcome' or "
                                 f"'family:outcome:subgroup' with family one of {FAMILIES}")
            if parts[1] not in outcomes[parts[0]]:
                close = difflib.get_close_matches(parts[1], outcomes[parts[0]], n=1)
                raise ValueError(f"primary_outcome[{programme!r}] = {spec!r}: {parts[0]} has no outcome {parts[1]!r}"
                                 + (f"; did you mean {close[0]}?" if close else "")
                                 + f" Its outcomes: {', '.join(outcomes[parts[0]])}")
        return value

    def is_primary(self, programme: str, family: str, outcome: str, subgroup: str | None) -> bool:
        spec = self.primary_outcome.get(programme, self.primary_outcome.get("*"))
        if not spec:
            return False
        parts = spec.split(":")
        sub = subgroup if isinstance(subgroup, str) else ""
        return parts[0] == family and parts[1] == outcome and (len(parts) == 2 or parts[2] == sub)


def _col(frame: pd.DataFrame, name: str, default=None) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series(default, index=frame.index, dtype=object)


def _design(frame: pd.DataFrame) -> dict:
    return {c: _col(frame, c) for c in DESIGN_COLUMNS}


def readmission_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The headline risk difference of each comparison of ``marts.readmission_effects``."""
    estimated = _col(frame, "status").eq("estimated")
    return pd.DataFrame({
        "outcome_family": "readmission", "programme": frame["comparison"], "outcome": frame["outcome"],
        "subgroup": None, "measure": "risk_difference",
        "estimate": _col(frame, "risk_difference").where(estimated), "ci_low": _col(frame, "rd_ci_low").where(estimated),
        "ci_high": _col(frame, "rd_ci_high").where(estimated), "p_value": _col(frame, "rd_p_value").where(estimated),
        "verdict": frame["verdict"], "n_matched": _col(frame, "n_matched"), **_design(frame),
    })


def reoffending_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Each programme and measure of ``marts.reoffending_effects``."""
    return pd.DataFrame({
        "outcome_family": "reoffending", "programme": frame["programme"], "outcome": frame["measure"],
        "subgroup": None, "measure": frame["effect_measure"], "estimate": frame["estimate"],
        "ci_low": frame["ci_low"], "ci_high": frame["ci_high"], "p_value": frame["p_value"],
        "verdict": frame["verdict"], "n_matched": _col(frame, "n_matched"), **_design(frame),
    })


def wellbeing_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Each Star version and area of ``marts.wellbeing_effects``."""
    return pd.DataFrame({
        "outcome_family": "wellbeing", "programme": frame["star_version"], "outcome": frame["outcome"],
        "subgroup": frame["area"], "measure": frame["measure"], "estimate": frame["estimate"],
        "ci_low": frame["ci_low"], "ci_high": frame["ci_high"], "p_value": frame["p_value"],
        "verdict": frame["verdict"], "n_matched": _col(frame, "n_matched"), **_design(frame),
    })


NUMERIC_COLUMNS = ("estimate", "ci_low", "ci_high", "p_value", "share_participants_matched")


def _numeric(rows: pd.DataFrame) -> pd.DataFrame:
    """The numeric columns as float in every family's rows before they are stacked, so that a family whose
    column is all missing (object None) does not decide the stacked column's type."""
    for c in NUMERIC_COLUMNS:
        rows[c] = pd.to_numeric(rows[c], errors="coerce").astype(float)
    return rows


ROWS = {"readmission": readmission_rows, "reoffending": reoffending_rows, "wellbeing": wellbeing_rows}


def effect_register(marts: dict[str, pd.DataFrame | None], settings: EffectRegisterSettings) -> pd.DataFrame:
    """The register (see module) from the effects marts, keyed by family; a missing or empty mart adds no rows."""
    parts = [_numeric(ROWS[family](frame)) for family, frame in marts.items() if frame is not None and len(frame)]
    if not parts:
        return mart("marts.effect_register").empty_frame()
    reg = pd.concat(parts, ignore_index=True)
    reg["analysis_role"] = [
        "primary" if settings.is_primary(str(r.programme), r.outcome_family, str(r.outcome), r.subgroup)
        else "exploratory" for r in reg.itertuples(index=False)
    ]
    p = reg["p_value"].to_numpy()
    reg["p_value_holm"] = holm(p)
    reg["p_value_bh"] = benjamini_hochberg(p)
    reg["n_comparisons"] = int(np.isfinite(p).sum())
    return reg[list(REGISTER_COLUMNS)]
