"""What the validation benches share: a generated extract ingested into a scratch warehouse, and their loop.

The extract is ``data.synthetic.generate`` with the scenario's effects; each listed source is ingested by
``pipelines.ingest.stage.ingest_source``, as the pipeline's ingest step does (contract rules, pseudonyms).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from data.synthetic import CaseMix, Config, Crisis, Effects, LaterEvents, generate
from pipelines.ingest.stage import ingest_source


@contextmanager
def ingested(persons: int, seed: int, effects: Effects, sources, key: bytes, crisis: Crisis = Crisis(),
             later_events: LaterEvents = LaterEvents(), case_mix: CaseMix = CaseMix(),
             diagnoses: bool = False) -> Iterator[tuple]:
    """(connection, truth.json as a dict, as-of date, generator Config) of a scratch warehouse holding ``sources``
    of a generated extract (with the ``crisis``, ``later_events`` and ``case_mix`` scenarios and the spells'
    ``diagnoses``, off by default); the warehouse and the extract are deleted on leaving."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config(persons=persons, seed=seed, out=Path(tmp) / "in", effects=effects, crisis=crisis,
                     later_events=later_events, case_mix=case_mix, diagnoses=diagnoses)
        truth = generate(cfg)
        as_of = dt.date.fromisoformat(truth["end"])
        con = duckdb.connect(str(Path(tmp) / "w.duckdb"))
        try:
            for source in sources:
                ingest_source(con, source, cfg.out, run_id="bench", as_of=as_of, key=key)
            yield con, truth, as_of, cfg
        finally:
            con.close()


def replications(reps: int, max_minutes: float | None) -> Iterator[int]:
    """0, 1, ... reps - 1, starting no new replication once ``max_minutes`` have passed."""
    start = time.perf_counter()
    for r in range(reps):
        if max_minutes is not None and time.perf_counter() - start > 60 * max_minutes:
            return
        yield r


def seeds_until(first: int, last: int, stop_at: str | None) -> Iterator[int]:
    """``first`` .. ``last`` (inclusive), starting no new seed once ``stop_at`` (``HH:MM`` UTC, its next occurrence)
    has passed: :func:`replications` by the clock, for a paired run whose seeds are named."""
    stop = None
    if stop_at:
        now = dt.datetime.now(dt.timezone.utc)
        stop = now.replace(hour=int(stop_at[:2]), minute=int(stop_at[3:]), second=0, microsecond=0)
        stop += dt.timedelta(days=1) if stop < now else dt.timedelta(0)
    for seed in range(first, last + 1):
        if stop is not None and dt.datetime.now(dt.timezone.utc) >= stop:
            return
        yield seed
