"""Seeded synthetic inputs for every source, with known injected effects (see truth.py)."""

from .build import generate
from .truth import CaseMix, Config, Crisis, Effects, LaterEvents

__all__ = ["generate", "CaseMix", "Config", "Crisis", "Effects", "LaterEvents"]
