"""docs/outputs-reoffending.md documents every mart column and every setting as the code has them."""

from __future__ import annotations

from pathlib import Path

from models.reoffending import ReoffendingSettings
from models.reoffending.tables import MARTS
from schemas.marts import mart
from schemas.marts_doc import block

DOC = Path(__file__).resolve().parents[2] / "docs" / "outputs-reoffending.md"


def test_every_mart_column_table_is_in_the_doc():
    text = DOC.read_text()
    for table, cols in MARTS.items():
        assert f"## `{table}`" in text, table
        assert block(mart(table)) in text, f"{table}: regenerate its column table with python -m schemas.marts_doc"


def test_every_setting_is_in_the_doc():
    text = DOC.read_text()
    for name, field in ReoffendingSettings.model_fields.items():
        assert f"| `{name}` |" in text and field.description in text, name
