"""Pipeline settings of the social-value model (the ``social_value`` section of the config).

The calculator itself is driven by the impact map (docs/social-value.md); these settings
say which map the pipeline evaluates and what to do when a model has no results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The demo's impact map: openly licensed proxies plus a labelled, made-up unit-cost table.
DEMO_IMPACT_MAP = Path(__file__).resolve().parents[2] / "data" / "demo" / "impact_map.yaml"


class SocialValueSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    impact_map: Path | None = Field(
        None,
        description="The impact map (YAML) the pipeline evaluates. Default: none, so the social-value marts are "
                    "empty with a note; in demo mode, data/demo/impact_map.yaml.",
    )
    proxy_tables: tuple[Path, ...] = Field(
        (), description="Further proxy tables (CSV) read after the map's own, e.g. your unit costs.",
    )
    draws: int | None = Field(None, ge=0, description="Monte Carlo draws; default: the map's (10,000).")
    seed: int | None = Field(None, description="Monte Carlo seed; default: the map's.")
    missing_output: Literal["omit", "error"] = Field(
        "omit",
        description="An outcome whose model has no results: 'omit' leaves it out of the totals and lists it "
                    "(marts.impact_map status, and a warning check); 'error' fails the asset with the message.",
    )

    def map_path(self, demo: bool) -> Path | None:
        return self.impact_map or (DEMO_IMPACT_MAP if demo else None)
