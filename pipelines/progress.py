"""A compact progress display for a headless run, and Dagster's full log in a file.

``RunProgress`` is handed every log record of the run through a Dagster logger
(``logger_defs``). It counts the asset groups whose assets have all been materialised and
shows, on one line: groups done of total, the step running now and the time elapsed. On a
terminal that line is redrawn in place; when the output is a file or a pipe (``| tee``)
only one line per finished group is written. ``file_logger`` writes every record, DEBUG
included, to the run's log file: the terminal stays quiet and nothing is lost.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import TextIO

import dagster as dg

_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def step_label(step_key: str) -> str:
    """``marts__readmission_effects`` -> ``marts/readmission_effects``."""
    return step_key.replace("__", "/")


class RunProgress(logging.Handler):
    """Groups done of total, current step and elapsed time, from the run's Dagster events."""

    def __init__(self, groups: dict[str, set[dg.AssetKey]], stream: TextIO | None = None):
        super().__init__(level=logging.DEBUG)
        self.pending = {g: set(keys) for g, keys in groups.items()}
        self.total = len(groups)
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self.step = ""

    @classmethod
    def for_job(cls, job: dg.JobDefinition, stream: TextIO | None = None) -> RunProgress:
        graph = job.asset_layer.asset_graph
        groups: dict[str, set[dg.AssetKey]] = defaultdict(set)
        for key in graph.get_all_asset_keys():
            if graph.get(key).is_executable:
                groups[graph.get(key).group_name or "default"].add(key)
        return cls(dict(groups), stream)

    @property
    def done(self) -> int:
        return sum(1 for keys in self.pending.values() if not keys)

    def _status(self) -> str:
        line = (f"[{self.done}/{self.total} groups] {elapsed(time.monotonic() - self.started)}"
                + (f"  {self.step}" if self.step else ""))
        return line[:shutil.get_terminal_size().columns - 1]  # a wrapped line could not be redrawn in place

    def _write(self, line: str, transient: bool) -> None:
        if self.live:
            self.stream.write("\r\033[K" + line + ("" if transient else "\n"))
            if not transient:
                self.stream.write(self._status())
        elif not transient:
            self.stream.write(line + "\n")
        self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None:
            return
        if event.is_step_start:
            self.step = step_label(event.step_key)
            self._write(self._status(), transient=True)
        elif event.is_step_materialization:
            key = event.asset_key
            for group, keys in self.pending.items():
                if key in keys:
                    keys.discard(key)
                    if not keys:
                        self._write(f"  done  {group:<14s} [{self.done}/{self.total}] "
                                    f"{elapsed(time.monotonic() - self.started)}", transient=False)

    def finish(self) -> None:
        """End the redrawn line, so what follows starts on a line of its own."""
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def logger_def(self) -> dg.LoggerDefinition:
        def build(_context) -> logging.Logger:
            log = logging.Logger("outcomes.progress", level=logging.DEBUG)
            log.addHandler(self)
            return log
        return dg.LoggerDefinition(build, description="Progress line on the terminal (pipelines.run).")


def file_handler(path: Path) -> logging.FileHandler:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(logging.DEBUG)
    return handler


def file_logger(handler: logging.Handler) -> dg.LoggerDefinition:
    """Every record of the run, DEBUG included, through ``handler`` (the run's log file)."""
    def build(_context) -> logging.Logger:
        log = logging.Logger("outcomes.run_log", level=logging.DEBUG)
        log.addHandler(handler)
        return log
    return dg.LoggerDefinition(build, description="Dagster's full log of the run, in a file (pipelines.run).")
