"""The scale registry as small tables: ranges, direction, stage bands, SWEMWBS conversion.

Two reference files, read once:

* ``data/reference/star_versions.yaml`` (shared with ingest): versions, areas, score range,
  and the Star stage bands (Journey of Change 1-10 in five stages; Well-being Star 1-5).
* ``data/reference/scale_details.yaml`` (this model's): the SWEMWBS raw-to-metric table,
  which items are "lower is better" (ONS4 anxiety), the ONS4 threshold bands, and the
  default reliabilities / SEMs for the Reliable Change Index with their sources.

Every function returns a plain pandas frame so the SQL in :mod:`.journeys` can join it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import yaml

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"
REGISTRY_FILE = REFERENCE / "star_versions.yaml"
DETAILS_FILE = REFERENCE / "scale_details.yaml"


@cache
def registry() -> dict:
    """``versions`` of star_versions.yaml: version -> {scale_min, scale_max, areas, stages?}."""
    return yaml.safe_load(REGISTRY_FILE.read_text())["versions"]


@cache
def details() -> dict:
    return yaml.safe_load(DETAILS_FILE.read_text())


def default_reliability() -> dict[str, float]:
    return {v: float(d["value"]) for v, d in (details().get("reliability") or {}).items()}


def default_sem() -> dict[str, float]:
    return {v: float(d["value"]) for v, d in (details().get("sem") or {}).items()}


def star_versions() -> list[str]:
    """The Outcomes Star versions: those with a stage journey in star_versions.yaml."""
    return [v for v, spec in registry().items() if spec.get("stages")]


def metric_scale(version: str) -> str:
    """'rasch_metric' for versions converted before analysis (SWEMWBS), else 'raw'."""
    conv = (details().get("conversions") or {}).get(version)
    return conv["scale"] if conv else "raw"


def higher_is_better(version: str, area: str) -> bool:
    return area not in ((details().get("lower_is_better") or {}).get(version) or [])


def scale_frame() -> pd.DataFrame:
    """One row per (star_version, area): range, direction, metric scale, whether stages exist."""
    rows = []
    bands = details().get("bands") or {}
    for version, spec in registry().items():
        for area in spec["areas"]:
            rows.append({
                "star_version": version,
                "area": area,
                "scale_min": float(spec["scale_min"]),
                "scale_max": float(spec["scale_max"]),
                "higher_is_better": higher_is_better(version, area),
                "score_scale": metric_scale(version),
                "has_stages": bool(spec.get("stages")) or area in (bands.get(version) or {}),
            })
    return pd.DataFrame(rows, columns=["star_version", "area", "scale_min", "scale_max", "higher_is_better",
                                       "score_scale", "has_stages"])


def stage_frame() -> pd.DataFrame:
    """Stage bands on the raw score, one row per (star_version, area, stage).

    ``stage_order`` runs from 1 = the worst state to the best (Journey of Change: stuck = 1
    ... self-reliance = 5; ONS4 anxiety: high = 1 ... very low = 4). A score ``s`` is in a
    band when ``band_min <= s < band_max + 1`` (scores are whole numbers; the half-open
    upper edge only guards against non-integers).
    """
    rows = []
    bands = details().get("bands") or {}
    for version, spec in registry().items():
        for area in spec["areas"]:
            stages = (bands.get(version) or {}).get(area) or spec.get("stages") or []
            for order, band in enumerate(stages, start=1):
                rows.append({"star_version": version, "area": area, "stage": band["stage"], "stage_order": order,
                             "band_min": float(band["min"]), "band_max": float(band["max"])})
    return pd.DataFrame(rows, columns=["star_version", "area", "stage", "stage_order", "band_min", "band_max"])


def conversion_frame() -> pd.DataFrame:
    """Raw-to-metric conversion tables: one row per (star_version, raw_score)."""
    rows = [
        {"star_version": version, "raw_score": float(raw), "metric_score": float(metric)}
        for version, conv in (details().get("conversions") or {}).items()
        for raw, metric in conv["table"].items()
    ]
    return pd.DataFrame(rows, columns=["star_version", "raw_score", "metric_score"])


def swemwbs_metric(raw: float) -> float:
    """SWEMWBS raw total (7-35, whole number) to the Rasch metric score; KeyError otherwise."""
    table = details()["conversions"]["swemwbs"]["table"]
    if float(raw) != int(raw):
        raise KeyError(f"SWEMWBS raw score {raw} is not a whole number")
    return float(table[int(raw)])
