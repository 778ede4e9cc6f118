"""Analysis settings: one YAML file (``OUTCOMES_CONFIG``), validated on load.

Every default is documented with its source in docs/configuration.md. An evaluator
changes windows, covariates and thresholds here, never in code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from models.comparison.register import EffectRegisterSettings
from models.disclosure import DisclosureRule
from models.readmission.settings import ReadmissionSettings
from models.reciprocity.settings import ReciprocitySettings
from models.reoffending.settings import ReoffendingSettings
from models.social_value.settings import SocialValueSettings
from models.warehouse import WarehouseSettings
from models.wellbeing.settings import WellbeingSettings
from schemas.mapping import MappingSettings


class IngestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_quarantined_share: float = Field(
        0.05, ge=0, le=1,
        description="Largest share of a source's rows that may be quarantined before the run fails (default 5%).",
    )
    as_of: dt.date | None = Field(
        None, description="Reference date for 'no future dates' and activity windows; default: the day of the run.",
    )


class DisclosureSettings(BaseModel):
    """Small-number suppression for published counts (NHS Digital HES rule since 2018)."""

    model_config = ConfigDict(extra="forbid")

    suppress_max: int = Field(7, ge=0, description="Counts from 1 to this are shown as '*' (HES: 7).")
    round_to: int = Field(5, ge=1, description="Other counts are rounded to the nearest multiple of this (HES: 5).")

    def rule(self) -> DisclosureRule:
        """The rule every published figure passes (pages, and the social value's hours of a time bank)."""
        return DisclosureRule(suppress_max=self.suppress_max, round_to=self.round_to)


class OutcomesConfig(BaseModel):
    """The whole analysis configuration."""

    model_config = ConfigDict(extra="forbid")

    ingest: IngestSettings = IngestSettings()
    disclosure: DisclosureSettings = DisclosureSettings()
    readmission: ReadmissionSettings = ReadmissionSettings()
    reoffending: ReoffendingSettings = ReoffendingSettings()
    wellbeing: WellbeingSettings = WellbeingSettings()
    reciprocity: ReciprocitySettings = ReciprocitySettings()
    social_value: SocialValueSettings = SocialValueSettings()
    mappings: MappingSettings = MappingSettings()
    effects: EffectRegisterSettings = EffectRegisterSettings()
    warehouse: WarehouseSettings = WarehouseSettings()

    def as_of(self) -> dt.date:
        return self.ingest.as_of or dt.date.today()

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the resolved settings (recorded with every run)."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


class ConfigError(ValueError):
    """The configuration file is unreadable or breaks a rule; the message names the field."""


def load_config(path: str | Path | None) -> OutcomesConfig:
    """Read and validate the YAML config; ``None`` or an empty path gives the documented defaults."""
    if not path:
        return OutcomesConfig()
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot be read as YAML: {err}") from err
    try:
        config = OutcomesConfig.model_validate(raw)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from err
    return _relative_to(config, path.parent)


def _relative_to(config: OutcomesConfig, base: Path) -> OutcomesConfig:
    """File paths in the config (the impact map, proxy tables) are relative to the config file."""
    sv = config.social_value
    absolute = lambda p: p if p.is_absolute() else (base / p).resolve()
    sv = sv.model_copy(update={"impact_map": sv.impact_map and absolute(sv.impact_map),
                               "proxy_tables": tuple(absolute(p) for p in sv.proxy_tables)})
    return config.model_copy(update={"social_value": sv})
