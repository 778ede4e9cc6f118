"""Checks made before a run starts: settings file, pseudonym key, input, output and warehouse folders.

``problems(settings, warehouse_path)`` returns one plain sentence per mistake, so ``make run``
stops with a single short message (no traceback, exit code 2) instead of failing every
ingest step in turn:

* no environment variable is meant for the project but misspelt (``OUTCOME_CONFIG``, ``OUTCOMES_INPUT_FOLDER``: a name
  beginning ``OUTCOM`` that is not one the project reads), which the run would otherwise go ahead without
  (``variable_problems``);
* the settings file (``OUTCOMES_CONFIG``) is read and validated against ``OutcomesConfig`` (a missing one is named
  with the closest YAML file beside it); each broken rule names its line and field (``line 2: readmission.window_max_days``), and an unknown key gets
  the closest known key of its section as a suggestion (``difflib``, ratio >= 0.6);
* every mapping the settings name (``mappings:``) is a shipped preset or an existing file, a misspelt preset named
  with the closest one, and a mapping file reads into the source it is set under (``mapping_use_problems``);
* the impact map the settings name (``social_value.impact_map``; in demo mode, the demo's) is read
  and validated as the social-value step will read it, and its further proxy tables must exist, so
  a mistake in the map stops the run here rather than at the social-value step, after the models;
* outside demo mode the pseudonym key must be set and at least ``MIN_KEY_LENGTH`` characters, and the input folder
  named (``OUTCOMES_INPUT_DIR``: the default is the synthetic sample);
* the input folder must exist (a mistyped one is named with the closest folder beside it) and hold at least one
  file of a source of the contract (the names ``pipelines.ingest.readers.discover`` reads; a folder one level too
  high is named with the folder inside it that holds them), and no file or folder whose name is meant for a source but
  is not read (``Persons.csv``, ``persons (1).csv``, ``person.csv``, ``persons.json``: ``unread_file_problems``);
* a file named as text (``.csv``) must not be a workbook, Parquet or gzip file by its first bytes (``_disguised``);
* every file of a source (text, Parquet or workbook) must have the header its ingest needs: readable, no
  required column missing or repeated, and a mapped file must fit its mapping
  (``pipelines.ingest.stage.header_problems``, the ingest step's own rules and messages);
* every readmission covariate the settings name must be a column its comparison can read, when the persons
  files' headers say which further columns there will be (``covariate_problems``);
* the warehouse must be a DuckDB database file or a name to create one at, not a folder, an empty file or another
  kind of file (``warehouse_problems``); the output and warehouse folders must be creatable and writable.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, RootModel, ValidationError

from models.config import ConfigError, OutcomesConfig, load_config
from pipelines.ingest.readers import SourceFileError, discover
from schemas.raw import SOURCES

#: The pseudonym key's minimum length (HMAC-SHA256: a key of 32 random characters or more).
MIN_KEY_LENGTH = 32


class PreflightError(RuntimeError):
    """The run cannot start; the message lists every problem found."""


def _section_model(path: tuple) -> type[BaseModel] | None:
    """The pydantic model that holds the fields at ``path`` (a pydantic error's ``loc`` without its last part), through
    sections, mappings of names (``mappings.<source>``) and lists (``mappings.<source>[0]``)."""
    kind: typing.Any = OutcomesConfig
    for part in path:
        if isinstance(kind, type) and issubclass(kind, RootModel):
            kind = kind.model_fields["root"].annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(part) if isinstance(part, str) else None
            kind = field and next((a for a in (field.annotation, *typing.get_args(field.annotation)) if a is not None
                                   and a is not type(None)), None)
        elif typing.get_origin(kind) is dict and isinstance(part, str):
            kind = typing.get_args(kind)[1]
        elif typing.get_origin(kind) in (list, tuple) and isinstance(part, int):
            kind = typing.get_args(kind)[0]
        else:
            return None
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def suggest_key(loc: tuple) -> str | None:
    """The known key closest to the last part of ``loc`` in its section, or None."""
    model = _section_model(loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return None
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1)
    return close[0] if close else None


def setting_name(loc: tuple) -> str:
    """``("mappings", "hospital_spells", 0, "files")`` -> ``mappings.hospital_spells[0].files``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top level)"


def _describe(error: dict) -> str:
    loc = tuple(error["loc"])
    field = setting_name(loc)
    if error["type"] == "extra_forbidden":
        guess = suggest_key(loc)
        hint = f": did you mean `{guess}`?" if guess else ""
        return f"`{field}` is not a known setting{hint}"
    # a rule of our own (a validator's ValueError): its words, without pydantic's "Value error, "
    msg = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"][0].lower() + error["msg"][1:]
    named = re.match(r"(mappings\.\w+(?:\[\d+\])?(?:\.\w+)?): ", msg) if loc == ("mappings",) else None
    if named:  # a rule of the mappings section names the entry it is about: that is the setting
        field, msg = named.group(1), msg[named.end():]
    given = error.get("input")
    # a rule over a whole section (the readmission windows, the mappings) says its values itself: no dump of the section
    got = "" if isinstance(given, (dict, list)) else f" (got {given!r})"
    return f"`{field}`: {msg}{got}"


def _error_loc(error: dict) -> tuple:
    """Where in the settings an error is: its ``loc``, or, for a rule of the ``mappings`` section, the entry its
    message names (``mappings.hospital_spells[0]``), so the line is the entry's, not the section's."""
    loc = tuple(error["loc"])
    named = re.search(r"mappings\.(\w+)(?:\[(\d+)\])?", error["msg"]) if loc == ("mappings",) else None
    if named:
        return ("mappings", named.group(1), *((int(named.group(2)),) if named.group(2) else ()))
    return loc


def line_of(text: str, loc: tuple) -> int | None:
    """The line (1-based) of the key at ``loc`` in the YAML ``text``, or of the deepest part of it found."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def config_problems(config_path: str, given_as: str = "OUTCOMES_CONFIG") -> list[str]:
    """Every broken rule in the settings file, one line each, with its line ([] when it is valid or not given).
    ``given_as``: where the path was set, said beside a path that is no file (a run launched from the UI may have it
    from the launchpad, not the variable)."""
    if not config_path:
        return []
    path = Path(config_path)
    if path.is_dir():
        return [f"settings file {path} ({given_as}) is a folder: name the YAML file itself (docs/configuration.md)"]
    if not path.is_file():
        return [f"settings file {path} ({given_as}) does not exist{_closest_in(path, '*.y*ml')}"]
    try:
        text = path.read_text()
        raw = yaml.safe_load(text) or {}
    except OSError as err:
        return [f"settings file {path} cannot be read: {err}"]
    except UnicodeDecodeError as err:
        return [f"settings file {path} is not UTF-8 text ({err.reason} at byte {err.start}): save it as UTF-8"]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = " ".join(filter(None, [getattr(err, "context", None), getattr(err, "problem", None)])) or str(err)
        return [f"settings file {path}{where}: not valid YAML: {what}"]
    if not isinstance(raw, dict):
        return [f"settings file {path} must hold sections of settings (a YAML mapping)"]
    try:
        OutcomesConfig.model_validate(raw)
    except ValidationError as err:
        lines = [(line_of(text, _error_loc(e)), _describe(e)) for e in err.errors()]
        # in the file's order (pydantic's is the sections' order in the code)
        return [f"settings file {path}{f', line {line}' if line else ''}: {said}"
                for line, said in sorted(lines, key=lambda ls: ls[0] or 0)]
    try:
        config = load_config(path)
    except ConfigError as err:
        return [f"settings file {err}"]
    return mapping_use_problems(config, path, text)


def mapping_use_problems(config: OutcomesConfig, path: Path, text: str) -> list[str]:
    """Each ``mappings.<source>[i].use`` that is neither a shipped preset nor a mapping file, at its line in the settings,
    with the closest preset. Before, a misspelt preset (``hes_apc_episode``) was taken for a file of that name and
    said as "<settings folder>/hes_apc_episode: (file): cannot be read", and only when the source had a file."""
    from schemas.mapping import presets, resolve

    found = []
    for source, uses in config.mappings.root.items():
        for i, use in enumerate(uses):
            target = resolve(use.use, path.parent)
            line = line_of(text, ("mappings", source, i, "use"))
            if target.is_file():
                found += _mapping_source_problems(target, source, i, f"settings file {path}{f', line {line}' if line else ''}")
                continue
            close = difflib.get_close_matches(use.use, presets(), n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            found.append(f"settings file {path}{f', line {line}' if line else ''}: `mappings.{source}[{i}].use`: "
                         f"{use.use!r} is neither a shipped preset nor a mapping file ({target} does not exist); "
                         f"{hint}shipped presets: {', '.join(presets())}")
    return found


def _mapping_source_problems(target: Path, source: str, i: int, where: str) -> list[str]:
    """A mapping file (not a preset: those are checked as the settings load) set under a source other than the one
    its ``source:`` names. Before, it was said only when a file of that source was in the folder, as the mapping's
    own first complaint ('output.service: not a column of persons'), with no word of the settings line to fix."""
    try:
        declared = yaml.safe_load(target.read_bytes())
    except (OSError, yaml.YAMLError):
        return []  # unreadable: the header check says it, with the mapping's own words
    named = declared.get("source") if isinstance(declared, dict) else None
    if not isinstance(named, str) or named == source:
        return []
    move = (f"put it under `mappings.{named}`" if named in SOURCES else
            f"its `source:` must be one of {', '.join(SOURCES)}")
    return [f"{where}: `mappings.{source}[{i}].use`: {target} reads into {named} (its `source:`), not {source}: "
            f"{move}, or name a mapping written for {source}"]


def impact_map_problems(config: OutcomesConfig, demo: bool) -> list[str]:
    """The impact map the run will value (and the proxy tables beside it) can be read and breaks no rule of the map;
    ``config``: the settings, once :func:`config_problems` has found them valid."""
    from models.social_value.errors import SocialValueError
    from models.social_value.impact_map import load_impact_map

    settings = config.social_value
    path = settings.map_path(demo)
    if path is None:
        return []
    found = []
    if not Path(path).is_file():
        found.append(f"impact map {path} (social_value.impact_map) does not exist")
    else:
        try:
            load_impact_map(path)
        except SocialValueError as err:
            found.append(f"impact map (social_value.impact_map): {err}")
    found += [f"proxy table {p} (social_value.proxy_tables) does not exist" for p in settings.proxy_tables
              if not Path(p).is_file()]
    return found


#: How to make a key, as README.md says it: 43 random characters.
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def key_problems(demo: bool) -> list[str]:
    """The pseudonym key must be set and long enough, outside demo mode."""
    if demo:
        return []
    key = os.environ.get("OUTCOMES_PSEUDONYM_KEY", "")
    if not key:
        return ["OUTCOMES_PSEUDONYM_KEY is not set: set it to a secret of at least "
                f"{MIN_KEY_LENGTH} random characters, made by {MAKE_A_KEY} (or OUTCOMES_DEMO=1 for the synthetic "
                "demo only)"]
    if len(key) < MIN_KEY_LENGTH:
        return [f"OUTCOMES_PSEUDONYM_KEY is {len(key)} characters long: it must be at least {MIN_KEY_LENGTH} "
                f"random characters, made by {MAKE_A_KEY}"]
    return []


#: The environment variables the project reads (docs/configuration.md; the quarterly location's first quarter, and
#: the marker pipelines.memory sets when it re-executes a run).
VARIABLES = ("OUTCOMES_INPUT_DIR", "OUTCOMES_WAREHOUSE", "OUTCOMES_OUTPUT_DIR", "OUTCOMES_CONFIG", "OUTCOMES_PSEUDONYM_KEY",
             "OUTCOMES_DEMO", "OUTCOMES_FIRST_QUARTER", "OUTCOMES_MEMORY_SETTINGS_APPLIED")


def variable_problems(environ: typing.Mapping[str, str] | None = None) -> list[str]:
    """Each environment variable meant for the project but not read, by its name: ``OUTCOME_CONFIG``,
    ``OUTCOMES_INPUT_FOLDER``, ``outcomes_config``, ``OUTCOMS_WAREHOUSE``. Before, the run went ahead without it: the
    default settings, or the default warehouse, with no word that the setting given was never read."""
    environ = os.environ if environ is None else environ
    tails = {v.removeprefix("OUTCOMES_"): v for v in VARIABLES[:6]}
    found = []
    for name in sorted(environ):
        if name in VARIABLES or not name.upper().startswith("OUTCOM"):
            continue
        tail = name.upper().partition("_")[2]
        close = (difflib.get_close_matches(tail, list(tails), n=1)
                 or [t for t in tails if set(tail.split("_")) & set(t.split("_"))][:1])
        hint = f"did you mean {tails[close[0]]}? " if close else ""
        found.append(f"{name} is set but not read: {hint}the variables read are {', '.join(VARIABLES[:6])} "
                     f"(docs/configuration.md)")
    return found


def input_dir_unset_problems(demo: bool, default: str) -> list[str]:
    """Outside demo mode the input folder must be named: without OUTCOMES_INPUT_DIR the run read the synthetic sample
    (``default``, ``data/sample``) as the evaluator's extract, under their key, and published its made-up figures
    as theirs, saying nothing (an ``export`` left out, a new terminal)."""
    if demo or os.environ.get("OUTCOMES_INPUT_DIR"):
        return []
    return [f"OUTCOMES_INPUT_DIR is not set: set it to the folder of your extract (without it the run would read the "
            f"synthetic sample, {default}, as your data; the synthetic demo is `make demo`)"]


def expected_file_names() -> str:
    return ", ".join(f"{s}.csv" for s in SOURCES)


def _closest_in(path: Path, pattern: str) -> str:
    """': did you mean <sibling>?' for the entry beside ``path`` (matching ``pattern``) whose name is closest to
    ``path``'s, in its nearest existing folder; '' when none is close (``difflib``, ratio >= 0.6)."""
    parent = path.parent
    while not parent.is_dir() and parent != parent.parent:
        parent = parent.parent
    try:
        names = [p.name for p in parent.glob(pattern) if not p.name.startswith(".")]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1)
    return f": did you mean {parent / close[0]}?" if close else ""


def input_folder_problems(input_dir: str, given_as: str = "OUTCOMES_INPUT_DIR") -> list[str]:
    """The input folder must exist (every run, also one launched from the UI: ``Settings.setup_for_execution``); a
    mistyped one is said with the closest folder beside it. ``given_as``: where the path was set."""
    folder = Path(input_dir)
    if not folder.is_dir():
        what = (f"is a file, not a folder: name the folder that holds the extract's files ({folder.parent})"
                if folder.exists() else f"does not exist{_closest_in(folder, '*/')}")
        return [f"input folder {folder} ({given_as}) {what}"]
    return []


def _source_subfolders(folder: Path) -> str:
    """' (<sub> holds persons.csv, ...: set OUTCOMES_INPUT_DIR to it)' for the folders inside ``folder`` that hold
    files of a source: the input folder named one level too high (the extract's parent, a download folder)."""
    try:
        subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in SOURCES)
    except OSError:
        return ""
    held = [(sub, [f.name for s in SOURCES for f in discover(sub, s)]) for sub in subs]
    held = [(sub, files) for sub, files in held if files]
    if not held:
        return ""
    sub, files = held[0]
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    others = f" (and {len(held) - 1} other folder(s) inside it)" if len(held) > 1 else ""
    return f"; {sub} holds {shown}{others}: set OUTCOMES_INPUT_DIR to it"


def input_problems(input_dir: str) -> list[str]:
    """The input folder must exist and hold at least one file of a source."""
    folder = Path(input_dir)
    missing = input_folder_problems(input_dir)
    if missing:
        return missing
    if not any(discover(folder, s) for s in SOURCES):
        return [*unread_file_problems(input_dir), f"input folder {folder} (OUTCOMES_INPUT_DIR) holds no file of any source; expected one or more of: "
                f"{expected_file_names()} (or .parquet/.tsv/.txt, <source>_*.csv, or files in a <source>/ folder)"
                f"{_source_subfolders(folder)}"]
    return unread_file_problems(input_dir)


#: What a download or a copy adds to a file name: ``persons (1)``, ``persons - Copy``, ``persons copy 2``.
_COPY_MARK = re.compile(r"(\s*\(\d+\)|\s*-?\s*copy(\s*\d+)?)+$")


def _read_as(name: str, prefix: bool = True) -> str | None:
    """The source a file or folder name was most likely meant for (``Persons``, ``persons (1)``, ``person``,
    ``hospital-spells``, ``persons.csv`` saved as ``persons.csv.txt``), or None. ``prefix``: ``<source>_<anything>``
    counts too (as it does for a file in a format that is read)."""
    stem = re.sub(r"[\s.-]+", "_", _COPY_MARK.sub("", name.lower()).strip())
    for source in SOURCES:
        if stem == source or (prefix and stem.startswith(source + "_")):
            return source
    close = difflib.get_close_matches(stem, list(SOURCES), n=1, cutoff=0.8)
    return close[0] if close else None


def unread_file_problems(input_dir: str) -> list[str]:
    """Each file or folder in the input folder that no source reads although its name says which source it is for:
    ``Persons.csv``, ``persons (1).csv``, ``person.csv`` or ``persons.json`` would otherwise be skipped unseen, and the
    run would succeed on every source but that one. Names are read exactly (:func:`discover`); a name close to no
    source (``notes.txt``) is left alone, and a spreadsheet format a source refuses (``persons.xlsx``) is said by
    :func:`file_problems`."""
    from pipelines.ingest.readers import REFUSED_SUFFIXES, SUFFIXES, _allowed

    folder = Path(input_dir)
    read = {p for source in SOURCES for p in discover(folder, source)}
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry in read or (entry.is_dir() and entry.name in SOURCES):
            continue
        suffix = "" if entry.is_dir() else entry.suffix.lower()
        # a file in a format that is not read is taken for a source's only by its whole stem (persons.json, Persons.xlsx):
        # persons_data_dictionary.pdf is documentation beside the extract
        source = _read_as(entry.stem, prefix=suffix in SUFFIXES or entry.is_dir())
        if source is None or (entry.stem == source and suffix in REFUSED_SUFFIXES):
            continue
        elsewhere = f"or move it out of {folder}"
        if entry.is_dir():
            found.append(f"input folder {entry} is not read: a source's folder is named exactly for it; rename it "
                         f"{source}/ ({elsewhere})")
        elif suffix not in _allowed(source):
            formats = ", ".join(sorted(s[1:].upper() for s in _allowed(source)))
            found.append(f"input file {entry} is not read: {source} is read from {formats} files; save it as "
                         f"{source}.csv ({elsewhere})")
        else:
            found.append(f"input file {entry} is not read: file names are read exactly ({source}{suffix}, "
                         f"{source}_*{suffix} or a file in {source}/); rename it {source}{suffix} ({elsewhere})")
    return found


def file_problems(input_dir: str, config: OutcomesConfig, config_path: str) -> list[str]:
    """Every file of a source whose header ingest would refuse (a missing or repeated column, a mapping it does
    not fit): file, line 1, column and rule, as the ingest step would say it, but before the run starts. ``config``:
    the settings read from ``config_path`` (its folder is the base of relative mapping paths)."""
    from pipelines.ingest.stage import header_problems

    base = Path(config_path).parent if config_path else None
    disguised = {path: said for source in SOURCES for path in discover(Path(input_dir), source)
                 if (said := _disguised(path, source))}
    return [*disguised.values(), *(str(err) for source in SOURCES
                                   for err in header_problems(source, Path(input_dir), config.mappings.for_source(source), base)
                                   if err.path not in disguised)]


#: The first bytes of a file format that is not text, and what it is called (a workbook is a ZIP file).
_NOT_TEXT = ((b"PK\x03\x04", "an Excel or OpenDocument workbook (a ZIP file)", ".xlsx"),
             (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)", None),
             (b"PAR1", "a Parquet file", ".parquet"),
             (b"\x1f\x8b", "a gzip-compressed file", None))


def _disguised(path: Path, source: str) -> str | None:
    """A file named as text (``.csv``, ``.tsv``, ``.txt``) whose first bytes say it is not: a workbook saved with a
    ``.csv`` name, a Parquet or gzip file renamed. Before, the header check printed the workbook's first bytes as
    its header ('required column(s) ... missing from the header (pk\x03\x04...)'), and the ingest said 'The CSV
    Parser state machine reached an invalid state'. Said as the ingest says a file's format: file, line 1, rule."""
    from pipelines.ingest.readers import TEXT_SUFFIXES, _allowed

    if path.suffix.lower() not in TEXT_SUFFIXES:
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return None  # the header check says it cannot be read
    for magic, what, suffix in _NOT_TEXT:
        if head.startswith(magic):
            fix = (f"rename it {path.stem}{suffix}" if suffix in _allowed(source)
                   else f"save it as CSV (comma-separated, UTF-8) under the name {path.name}")
            return (f"{path}: line 1: {what}, not delimited text, although named {path.suffix}: {fix} [rule: format]")
    return None


#: Columns of core.index_discharges that identify, define the exposure or are the outcome: not listed as covariates.
NOT_COVARIATES = ("discharge_id", "person_id", "exposed", "exposed_timebank", "exposed_programme", "timebank_id",
                  "programme_id", "programme_start_day", "full_follow_up", "readmitted", "days_to_readmission",
                  "readmission_id", "run_id")


def _persons_columns(input_dir: str, config: OutcomesConfig) -> set[str] | None:
    """The columns the persons files will stage (their headers, as ingest normalises them); None when the
    headers do not say it: no persons file, files read through a mapping, or one that is not text (:func:`_disguised`)."""
    from pipelines.ingest.readers import file_header

    files = discover(Path(input_dir), "persons")
    if not files or config.mappings.for_source("persons") or any(_disguised(p, "persons") for p in files):
        return None
    try:
        return set().union(*(file_header(p) for p in files))
    except SourceFileError:
        return None  # a broken header: file_problems says so


def covariate_problems(input_dir: str, config: OutcomesConfig, config_path: str) -> list[str]:
    """Each readmission or reoffending covariate no staged column can give, before the run: the readmission
    comparisons match on columns of core.index_discharges or further columns of staging.persons, the before/after
    comparison on what it measures at joining (:data:`models.readmission.before_after.MEASURED_AT_JOINING`) or those
    further columns, the reoffending comparison on what core.justice_cohort measures at the index date
    (:data:`models.reoffending.prepare.MEASURED_AT_INDEX`) or any covariate column of the persons file. A misspelt
    name would otherwise leave every readmission comparison "not estimated", or the reoffending comparison matched
    without it (criminal history left out: a bias of 1.4-2.0 points in docs/validation.md), at the end of the run.
    Checked only when the persons files' headers say which columns there will be (:func:`_persons_columns`)."""
    from models.readmission.before_after import MEASURED_AT_JOINING
    from models.reoffending.prepare import MEASURED_AT_INDEX
    from schemas.contract import contract
    from schemas.marts import mart
    from schemas.raw import RECORDED_AFTER

    persons = _persons_columns(input_dir, config)
    if persons is None:
        return []
    further = sorted(persons - set(contract("persons").column_names))
    discharges = mart("core.index_discharges").column_names()
    shown = ", ".join(c for c in discharges if c not in NOT_COVARIATES)
    of_discharges = (discharges, f"a column of core.index_discharges ({shown})")
    readable = {"matching_covariates": of_discharges, "matching_exact": of_discharges, "funnel_covariates": of_discharges,
                "exact": of_discharges,
                "before_after_covariates": (MEASURED_AT_JOINING, f"what it measures at joining "
                                                                 f"({', '.join(MEASURED_AT_JOINING)})")}
    text = Path(config_path).read_text() if config_path else ""
    found = []
    for field, (own, said) in readable.items():
        for i, name in enumerate(getattr(config.readmission, field)):
            if name not in own and name not in further:
                line = line_of(text, ("readmission", field, i))
                where = f"settings file {config_path}, line {line}" if line else "settings"
                found.append(f"{where}: `readmission.{field}` names {name!r}, which no readmission comparison can read: "
                             f"name {said} or a further column of the persons file ({', '.join(further) or 'none'})")
    of_persons = sorted(persons - {"person_id", "birth_date", *RECORDED_AFTER})
    for field in ("covariates", "exact", "categorical"):
        for i, name in enumerate(getattr(config.reoffending, field)):
            if name not in MEASURED_AT_INDEX and name not in of_persons:
                line = line_of(text, ("reoffending", field, i))
                where = f"settings file {config_path}, line {line}" if line else "settings"
                found.append(f"{where}: `reoffending.{field}` names {name!r}, which the reoffending comparison cannot "
                             f"read: name what it measures at the index date ({', '.join(MEASURED_AT_INDEX)}) or a "
                             f"column of the persons file ({', '.join(of_persons)})")
    return found


def _writable_folder(folder: Path, what: str) -> list[str]:
    """``folder`` exists (or its nearest existing parent does) as a writable directory."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return [f"{what} {folder}: {probe} is a file, not a folder"]
    if not os.access(probe, os.W_OK | os.X_OK):
        return [f"{what} {folder}: {probe} is not writable"]
    return []


#: Bytes 8-11 of every DuckDB database file (its main header's magic), read to tell one from any other file.
DUCKDB_MAGIC = b"DUCK"


def warehouse_problems(warehouse_path: str, given_as: str = "OUTCOMES_WAREHOUSE") -> list[str]:
    """The warehouse is a DuckDB database file, or a name the run can create one at: not a folder, not an empty file,
    not another kind of file (a CSV of the extract, the variables swapped). Before, each started the run, whose first
    steps failed with DuckDB's 'Is a directory' or 'not a valid DuckDB database file', or (a file in the input folder)
    with no reason said at all. ``given_as``: where the path was set, for the message."""
    path = Path(warehouse_path)
    what = f"warehouse {path} ({given_as})"
    if path.is_dir():
        return [f"{what} is a folder, not a file: name the DuckDB file the run writes, such as "
                f"{path / 'warehouse.duckdb'}"]
    if not path.is_file():
        return []
    with path.open("rb") as f:
        head = f.read(12)
    if not head:
        return [f"{what} is an empty file, not a DuckDB database: delete it (the run creates the file) or name another"]
    if head[8:12] != DUCKDB_MAGIC:
        return [f"{what} is not a DuckDB database file: name a new file for the run to create, or an earlier "
                "run's warehouse"]
    return []


def problems(input_dir: str, output_dir: str, config_path: str, demo: bool, warehouse_path: str) -> list[str]:
    """Every reason the run cannot start; [] when it can. The settings are read once; the impact map and the files'
    headers are checked only with valid settings, the headers only in an input folder holding files."""
    found_config, found_input = config_problems(config_path), input_problems(input_dir)
    config = None if found_config else load_config(config_path or None)
    # the files that are read, checked also when another file in the folder is not (a misnamed one)
    files = config is not None and Path(input_dir).is_dir() and any(discover(Path(input_dir), s) for s in SOURCES)
    unset = input_dir_unset_problems(demo, input_dir)
    if unset:  # the synthetic sample's files, checked as if they were the extract, would only add noise
        found_input, files = unset, False
    return [*variable_problems(), *found_config, *(impact_map_problems(config, demo) if config else []),
            *key_problems(demo), *found_input,
            *(file_problems(input_dir, config, config_path) if files else []),
            *(covariate_problems(input_dir, config, config_path) if files else []),
            *_writable_folder(Path(output_dir), "output folder (OUTCOMES_OUTPUT_DIR)"),
            *(warehouse_problems(warehouse_path)
              or _writable_folder(Path(warehouse_path).parent, "warehouse folder (OUTCOMES_WAREHOUSE)"))]


def check(input_dir: str, output_dir: str, config_path: str, demo: bool, warehouse_path: str) -> None:
    """Raise :class:`PreflightError` listing every problem, or return when the run can start."""
    found = problems(input_dir, output_dir, config_path, demo, warehouse_path)
    if found:
        raise PreflightError("The run did not start:\n" + "\n".join(f"  - {p}" for p in found))
