"""Parameters of the reciprocity measures, validated by pydantic; every default has a stated source.

Defaults and their sources (details in docs/reciprocity.md):

* window: the whole data range (earliest to latest date among ``joined_on`` and
  ``exchanged_on``); ``as_of`` is the window end.
* ``active_months`` = 12: "active = at least one logged exchange in 12 months", a common
  time-bank convention (reference/sroi.md section 4; Collom 2012).
* ``retention_months`` = (6, 12): our choice, matching the 6- and 12-month marks used for
  activity in the platforms reviewed (wadobo/timebank's 6-month variant, the 12-month rule).
* ``index_weights``: equal weights. No published weighting exists (reference/sroi.md: "I
  found no published grant or payment-by-results formula that operationalises it"), so the
  least presumptive choice is equal, and the sensitivity table shows how much it matters.
* ``alpha`` = 0.5: reference/sroi.md section 4, "Σ SV_i × (α + (1−α)·b_i), with α ≈ 0.5".
* ``reserved_pot_share`` = 0.10: ours (no source); the funder sets it.
* ``beneficiary_min_hours`` = 1.0: "gave at least one hour" (the issue's wording).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Reciprocity-index components, in the order they are reported.
INDEX_COMPONENTS: tuple[str, ...] = (
    "two_way_share",
    "mean_balance_index",
    "weighted_reciprocity",
    "generalised_reciprocity",
    "beneficiary_contribution_share",
)


class IndexWeights(BaseModel):
    """Weights of the reciprocity index; each component is a proportion in [0, 1].

    Only the ratios matter: the index divides by the sum of the weights of the components
    that are defined (see ``models.reciprocity.index``).
    """

    model_config = ConfigDict(extra="forbid")

    two_way_share: float = Field(1.0, ge=0, description="Members who both gave and received, over members who traded.")
    mean_balance_index: float = Field(1.0, ge=0, description="Mean balance index b over members with reciprocal hours.")
    weighted_reciprocity: float = Field(1.0, ge=0, description="Squartini et al. (2013) weighted reciprocity.")
    generalised_reciprocity: float = Field(1.0, ge=0, description="Share of hours on directed cycles of length >= 3.")
    beneficiary_contribution_share: float = Field(1.0, ge=0, description="Service users, patients, prisoners who gave.")

    @model_validator(mode="after")
    def _some_weight(self) -> "IndexWeights":
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("index_weights: at least one weight must be positive")
        return self

    def as_dict(self) -> dict[str, float]:
        return {c: float(getattr(self, c)) for c in INDEX_COMPONENTS}


class ReciprocitySettings(BaseModel):
    """All parameters of the reciprocity, time-bank activity and grant measures."""

    model_config = ConfigDict(extra="forbid")

    window_start: dt.date | None = Field(None, description="First day of the window; default: the earliest date in the data.")
    window_end: dt.date | None = Field(None, description="Last day of the window; default: the latest date in the data.")
    as_of: dt.date | None = Field(None, description="Reference date for activity and retention; default: the window end.")
    period: Literal["month", "quarter", "year"] = Field("quarter", description="Period of the time-bank × period rows.")
    active_months: int = Field(12, ge=1, le=120, description="Active = an exchange in this many months up to as_of (12).")
    retention_months: tuple[int, ...] = Field((6, 12), description="Retention horizons in months (6 and 12).")
    exchange_kinds: tuple[str, ...] = Field(
        ("exchange", "group"),
        description="Kinds that are exchanges of time: they make hours given/received, activity and the network.",
    )
    excluded_roles: tuple[str, ...] = Field(
        ("system", "organisation"),
        description="Accounts left out of reciprocity measures (kept in hour totals); the goodwill pot has role system.",
    )
    pot_roles: tuple[str, ...] = Field(("system",), description="Donations to these accounts go to the goodwill pot.")
    beneficiary_roles: tuple[str, ...] = Field(
        ("service_user", "patient", "prisoner"), description="Roles counted in the beneficiary contribution share."
    )
    beneficiary_min_hours: float = Field(1.0, gt=0, description="A beneficiary 'contributes' by giving at least this many hours.")
    index_weights: IndexWeights = Field(default_factory=IndexWeights, description="Reciprocity-index weights (equal).")
    alpha: float = Field(0.5, ge=0, le=1, description="α in Σ SV·(α + (1−α)·b) (reference/sroi.md: α ≈ 0.5).")
    reserved_pot_share: float = Field(0.10, ge=0, le=1, description="Share of a funder's total grants reserved for the pot (ours).")
    allocation_rule: Literal["index", "alpha_blend"] = Field(
        "index",
        description="'index': pot shares proportional to the index; 'alpha_blend': proportional to α + (1−α)·index.",
    )
    sensitivity_alphas: tuple[float, ...] = Field((0.0, 0.25, 0.5, 0.75, 1.0), description="α values in the sensitivity table.")
    sensitivity_weight_sets: dict[str, IndexWeights] = Field(
        default_factory=dict,
        description="Extra named weight sets for the sensitivity table (beside base, equal and leave-one-out).",
    )
    band_labels: tuple[str, str, str, str] = Field(
        ("emerging", "developing", "established", "leading"),
        description="Our labels for self-assessment totals 20–39, 40–59, 60–79, 80–100.",
    )

    @field_validator("retention_months")
    @classmethod
    def _horizons(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(h < 1 for h in v) or len(set(v)) != len(v):
            raise ValueError("retention_months: distinct whole months, each at least 1")
        return tuple(sorted(v))

    @field_validator("sensitivity_alphas")
    @classmethod
    def _alphas(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(not 0 <= a <= 1 for a in v):
            raise ValueError("sensitivity_alphas: at least one value, each in [0, 1]")
        return v

    @model_validator(mode="after")
    def _window(self) -> "ReciprocitySettings":
        if self.window_start and self.window_end and self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        if set(self.pot_roles) - set(self.excluded_roles):
            raise ValueError("pot_roles must be among excluded_roles (the goodwill pot is never a reciprocity partner)")
        return self
