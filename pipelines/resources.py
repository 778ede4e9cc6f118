"""Dagster resources: where the warehouse, inputs, outputs and settings are.

Defaults come from the ``OUTCOMES_*`` environment variables, read when the code location loads
(``make ui`` or a reload), so the launchpad's default config shows the paths in use; every field
can be set again there, so an evaluator reruns on their own extract without code.
The pseudonym key is deliberately not a field: it is read from the environment at use
and never appears in run config or logs.
"""


import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from models.config import OutcomesConfig, load_config
from pipelines.ingest.pseudonymise import DEMO_WARNING, MissingKeyError, resolve_key
from pipelines.preflight import (MIN_KEY_LENGTH, PreflightError, config_problems, input_folder_problems, key_problems,
                                 unread_file_problems, warehouse_problems)

REPO = Path(__file__).resolve().parents[1]


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


class WarehouseBusyError(RuntimeError):
    """The warehouse file is locked by a writer (a run) for longer than the reader would wait."""


def _open(path: str | Path, read_only: bool, wait_seconds: float, poll_seconds: float = 0.1) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting up to ``wait_seconds`` while another process holds its lock."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower():
                raise
            if time.monotonic() >= deadline:
                holder = re.search(r"\(PID (\d+)\)", str(err))
                doing = "a run is writing to" if read_only else "another process (a run or a reader) has open"
                raise WarehouseBusyError(
                    f"warehouse busy: {doing} {path}{f' (process {holder.group(1)})' if holder else ''}; "
                    f"waited {wait_seconds:g} s; try again when it finishes"
                ) from None
            time.sleep(poll_seconds)


@contextmanager
def read_warehouse(path: str | Path, wait_seconds: float = 10.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for notebooks, dashboards and checks outside a run (docs/storage.md).

    DuckDB lets no other process open a file while one writes it. A run holds the file only
    while an asset writes, so this retries for up to ``wait_seconds``, then raises
    :class:`WarehouseBusyError` saying so; it never returns a partial view and never hangs.
    """
    con = _open(path, True, wait_seconds)
    try:
        yield con
    finally:
        con.close()


def refusal(message: str) -> dg.DagsterResourceFunctionError:
    """A run's refusal as Dagster's own resource error, carrying a :class:`PreflightError` with one line of traceback.

    Raised from ``setup_for_execution``, a plain exception is wrapped by Dagster with the frames it passed through and
    shown twice in the UI and in ``make ui``'s terminal (68 lines around a 3-line refusal): in the resource's failure,
    with its traceback down to the raise, and in the run's failure, as "Error executing resource_fn on
    ResourceDefinition settings" with Dagster's stack and, again, the refusal and its traceback as the cause. This one
    Dagster passes on as it is (a ``DagsterUserCodeExecutionError`` is not wrapped again): the resource's failure shows
    the refusal with the one frame of this function, the run's failure (:data:`in_process_executor`) the refusal
    itself, with no cause."""
    try:
        raise PreflightError(message)
    except PreflightError as err:
        return dg.DagsterResourceFunctionError(message, user_exception=err, original_exc_info=sys.exc_info())


class _RefusingExecutor(dg.Executor):
    """Dagster's in-process executor, which lets a run's :func:`refusal` out as the :class:`PreflightError` it carries.

    Dagster's in-process executor starts the resources inside its own ``execute``, so a resource's error leaves it
    through a dozen of Dagster's frames, and the run's failure showed them all (33 lines) under the refusal, in the UI
    and in ``make ui``'s terminal. Raised again from here, the run's failure has two frames (Dagster's call of
    ``execute`` and this one). Any other error leaves as it came."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan):
        try:
            yield from self._inner.execute(plan_context, execution_plan)
        except dg.DagsterResourceFunctionError as err:
            if not isinstance(err.user_exception, PreflightError):
                raise
            raise err.user_exception.with_traceback(None) from None


@dg.executor(name="in_process", config_schema=dg.in_process_executor.config_schema)
def in_process_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's ``in_process_executor`` (the same name and settings in the launchpad), as :class:`_RefusingExecutor`:
    every code location's executor (``pipelines.definitions``, ``pipelines.quarterly_definitions``)."""
    return _RefusingExecutor(dg.in_process_executor.executor_creation_fn(init_context))


class Settings(dg.ConfigurableResource):
    """Input folder, output folder, analysis config file and demo mode."""

    input_dir: str = Field(_env("OUTCOMES_INPUT_DIR", str(REPO / "data" / "sample")),
                           description="Folder of the extract's files: OUTCOMES_INPUT_DIR, else data/sample (synthetic).")
    output_dir: str = Field(_env("OUTCOMES_OUTPUT_DIR", str(REPO / "build" / "site")),
                            description="Where the pages and CSVs go: OUTCOMES_OUTPUT_DIR, else build/site.")
    config_path: str = Field(_env("OUTCOMES_CONFIG", ""),
                             description="Analysis settings (YAML): OUTCOMES_CONFIG; empty: the documented defaults.")
    demo: bool = Field(_env("OUTCOMES_DEMO", "0").lower() in ("1", "true", "yes"),
                       description="OUTCOMES_DEMO=1: the synthetic demo, with a fixed, public pseudonym key.")
    reads_inputs: bool = Field(True, description="False for a code location none of whose assets reads the input "
                                                 "folder (the quarterly partitions read the warehouse only).")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Refuse a run whose settings file breaks a rule, or that ingests without a pseudonym key (outside demo mode)
        or from a missing input folder or one holding a file meant for a source but not read (``Persons.csv``,
        ``persons (1).csv``), before any step. (Without the key, each of the 11 ingest steps failed in turn.)

        ``make run`` checks this and more first (``pipelines.preflight``); a run launched from the UI
        ("Materialize all", the launchpad) or by a schedule starts here. Without it a broken settings file
        failed every step with a traceback, a mistyped input folder gave a green run of empty tables, and a misnamed file
        a green run without its source. A run that
        ingests nothing (a selection without a ``staging`` asset, or the quarterly location) needs no input folder:
        raw extracts are often deleted once ingested. A demo run that ingests with the public key says so here, once.
        """
        if context.run is None:  # a sensor's tick, not a run: the input-folder sensor skips a missing folder
            return
        selected = context.run.asset_selection
        ingests = self.reads_inputs and (not selected or any(k.path[0] == "staging" for k in selected))  # none: the job's all
        found = [*config_problems(self.config_path, self.given_as("config_path", "OUTCOMES_CONFIG"))]
        if ingests:
            found += [*key_problems(self.demo),
                      *(input_folder_problems(self.input_dir, self.given_as("input_dir", "OUTCOMES_INPUT_DIR"))
                        or unread_file_problems(self.input_dir))]
        if found:
            raise refusal("The run did not start: no step ran.\n" + "\n".join(f"  - {p}" for p in found)) from None
        if ingests and self.uses_demo_key():
            # once per run, before its first step (the executor is in-process: resources start once per run); it was
            # logged by every ingest step, 11 times in a run
            context.log.warning(DEMO_WARNING)

    def given_as(self, field: str, variable: str) -> str:
        """Where the run's ``field`` was set, for a refusal to name: ``variable`` when it is the default (the variable's
        value when the code location loaded; a schedule's or sensor's run has no other), else the launchpad. Before, a
        misspelt path typed in the launchpad was said to be OUTCOMES_CONFIG's, a variable that was not even set."""
        return variable if getattr(self, field) == type(self).model_fields[field].default else f"the launchpad's {field}"

    def config(self) -> OutcomesConfig:
        return load_config(self.config_path or None)

    def uses_demo_key(self) -> bool:
        """Demo mode without a key of its own: identifiers get the fixed, public demo key."""
        return self.demo and not os.environ.get("OUTCOMES_PSEUDONYM_KEY")

    def pseudonym_key(self) -> bytes:
        """The key from OUTCOMES_PSEUDONYM_KEY (at least MIN_KEY_LENGTH characters outside demo mode)."""
        key = resolve_key(self.demo)
        if not self.demo and len(key) < MIN_KEY_LENGTH:
            raise MissingKeyError(f"OUTCOMES_PSEUDONYM_KEY is {len(key)} characters long: it must be at least "
                                  f"{MIN_KEY_LENGTH} random characters")
        return key


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file. One writer at a time: see docs/storage.md.

    Its connection settings (the ``warehouse:`` section: memory limit, spill folder) come from the settings file of
    ``settings``, the run's Settings resource (definitions.py hands it the same one the assets get), so the file the
    launchpad names sets them too; without one (a notebook, a test), the documented defaults."""

    path: str = Field(_env("OUTCOMES_WAREHOUSE", str(REPO / "data" / "warehouse.duckdb")),
                      description="The DuckDB warehouse file: OUTCOMES_WAREHOUSE, else data/warehouse.duckdb.")
    # A reader holds the file for the length of its query; a step waits that long rather than fail.
    wait_seconds: float = 60.0
    settings: dg.ResourceDependency[Settings] = None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Refuse a run, before any step, whose warehouse is a folder, an empty file or not a DuckDB database (as
        ``make run`` does first). Before, a run launched from the UI started and each step that opened the warehouse
        failed in turn with DuckDB's 'Is a directory' or 'not a valid DuckDB database file'."""
        if context.run is None:
            return
        given_as = "OUTCOMES_WAREHOUSE" if self.path == type(self).model_fields["path"].default else "the launchpad's path"
        found = warehouse_problems(self.path, given_as)
        if found:
            raise refusal("The run did not start: no step ran.\n" + "\n".join(f"  - {p}" for p in found)) from None

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        config = self.settings.config() if self.settings is not None else OutcomesConfig()
        con = _open(self.path, False, self.wait_seconds)
        try:
            for statement in config.warehouse.statements():  # memory_limit, temp_directory
                con.execute(statement)
            yield con
        finally:
            con.close()

    def read(self, wait_seconds: float = 10.0):
        """Read-only access that waits briefly for a writing run, then says the warehouse is busy."""
        return read_warehouse(self.path, wait_seconds)
