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
