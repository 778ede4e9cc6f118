"""Who a comparison analysed, dropped and kept: the counts a matched sample and its results share.

Definitions (the fields of :class:`SampleCounts`) are in :class:`~models.comparison.results.ComparisonResults`'
docstring and docs/comparison-engine.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(repr=False)
class SampleCounts:
    n_input: int
    n_dropped_missing: int
    n_treated: int
    n_control: int
    n_control_dropped_support: int
    n_dropped_support: int
    n_dropped_caliper: int
    n_matched: int
    n_control_matched: int
    ess_control: float

    def counts(self) -> dict:
        """The counts as keyword arguments, to hand them on (the sample's to its results)."""
        return {f.name: getattr(self, f.name) for f in fields(SampleCounts)}
