"""The contract document is generated from the schemas, and the pandera models accept the fixtures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from schemas.contract import contract
from schemas.contract_doc import render
from schemas.raw import SOURCES

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "valid"


def test_contract_doc_matches_the_schemas():
    assert (ROOT / "docs" / "data-contract.md").read_text() == render(), "regenerate: python -m schemas.contract_doc > docs/data-contract.md"


@pytest.mark.parametrize("source", list(SOURCES))
def test_source_description_is_its_whole_first_paragraph(source):
    """A docstring's first paragraph may wrap: the description is every line of it, not the first line."""
    description = contract(source).description
    first_paragraph = " ".join(SOURCES[source].__doc__.strip().split("\n\n")[0].split())
    assert description == first_paragraph and description.endswith(".")


def read_typed(source: str) -> pd.DataFrame:
    model = SOURCES[source]
    frame = pd.read_csv(FIXTURES / f"{source}.csv", dtype=str, keep_default_na=False).replace("", None)
    for name, column in model.to_schema().columns.items():
        if name not in frame and not column.required:  # an optional column the fixture leaves out (persons.died_on)
            continue
        if str(column.dtype) == "datetime64[ns]":
            frame[name] = pd.to_datetime(frame[name])
        elif str(column.dtype) == "float64":
            frame[name] = pd.to_numeric(frame[name]).astype(float)
        elif str(column.dtype) == "int64":
            frame[name] = pd.to_numeric(frame[name])
        elif str(column.dtype) == "bool":
            frame[name] = frame[name].map({"true": True, "false": False})
    return frame


@pytest.mark.parametrize("source", list(SOURCES))
def test_pandera_model_accepts_the_valid_fixture(source):
    SOURCES[source].validate(read_typed(source), lazy=True)


def test_pandera_model_rejects_what_sql_rejects():
    frame = read_typed("timebank_exchanges")
    frame.loc[0, "hours"] = 30.0
    frame.loc[1, "kind"] = "barter"
    with pytest.raises(pa.errors.SchemaErrors) as err:
        SOURCES["timebank_exchanges"].validate(frame, lazy=True)
    assert set(err.value.failure_cases["check"].astype(str)) >= {"less_than_or_equal_to(24)", "isin(['exchange', 'group', 'donation', 'system_credit'])"}


def test_only_optional_covariates_clear_a_bad_value():
    """The audit of docs/data-contract.md, pinned: a bad value is cleared (the row kept) in the IMD decile and the
    diagnosis only; every other column with a rule quarantines the row, and free text has no rule to break."""
    cleared = {(s, c.name) for s in SOURCES for c in contract(s).columns if c.clear}
    assert cleared == {("persons", "imd_decile"), ("hospital_spells", "primary_diagnosis")}
    free = {(s, c.name) for s in SOURCES for c in contract(s).columns if c.bad_value.startswith("none")}
    assert free == {("persons", "area_code"), ("timebank_exchanges", "category"), ("offences", "offence_group")}


@pytest.mark.parametrize("field, metadata", [
    ("spell_id", {"clear": True}),                                   # the key (and an identifier)
    ("admitted_on", {"clear": True}),                                # required, an event date
    ("person_id", {"clear": True, "pseudonymise": True}),            # an identifier
    ("ended_on", {"clear": True}),                                   # optional, but it closes a window (order)
    ("note", {"clear": True}),                                       # optional free text: nothing to break
])
def test_the_contract_refuses_to_clear_what_must_cost_the_row(monkeypatch, field, metadata):
    from typing import Optional

    from pandera.typing import Series

    import schemas.contract as module

    kinds = {"spell_id": Series[str], "admitted_on": Series[pd.Timestamp], "person_id": Series[str],
             "ended_on": Optional[Series[pd.Timestamp]], "note": Optional[Series[str]]}
    annotations = {name: kinds[name] for name in kinds}
    fields = {name: pa.Field(nullable=name in ("ended_on", "note"), metadata=metadata if name == field else None)
              for name in kinds}
    config = type("Config", (), {"metadata": {"key": "spell_id", "order": [("admitted_on", "ended_on")]}})
    model = type("Made", (pa.DataFrameModel,), {"__annotations__": annotations, **fields, "Config": config,
                                                "__doc__": "A made-up source."})
    monkeypatch.setitem(module.SOURCES, "made_up", model)
    module.contract.cache_clear()
    try:
        with pytest.raises(ValueError, match=f"made_up.{field}: only an optional covariate"):
            contract("made_up")
    finally:
        module.contract.cache_clear()
