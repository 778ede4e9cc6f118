"""Writes each source as ``<source>.csv`` or ``<source>.parquet`` in the contract's column order.

CSV: header row, ISO dates, ``true``/``false``, empty field for null, no quoting (no value
holds a comma or quote). Parquet: dates as date32, booleans as bool. Both are written in batches through
pyarrow, so a large source never has to be held whole, and the bytes depend only on the
data (same seed, same files).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .common import NEVER

STR, DATE, BOOL, INT, FLOAT = pa.string(), pa.date32(), pa.bool_(), pa.int64(), pa.float64()
SCHEMAS = {
    "persons": [("person_id", STR), ("birth_date", DATE), ("sex", STR), ("area_code", STR), ("imd_decile", INT),
                ("died_on", DATE), ("prior_convictions", INT), ("employment", STR), ("marital_status", STR), ("long_term_condition", BOOL)],
    "timebank_members": [("member_id", STR), ("timebank_id", STR), ("person_id", STR), ("role", STR),
                         ("joined_on", DATE), ("left_on", DATE)],
    "timebank_exchanges": [("exchange_id", STR), ("timebank_id", STR), ("giver_id", STR), ("receiver_id", STR),
                           ("hours", FLOAT), ("exchanged_on", DATE), ("category", STR), ("kind", STR)],
    "programme_enrolments": [("person_id", STR), ("programme_id", STR), ("started_on", DATE), ("ended_on", DATE)],
    "star_readings": [("person_id", STR), ("star_version", STR), ("assessed_on", DATE), ("area", STR), ("score", INT)],
    "hospital_spells": [("spell_id", STR), ("person_id", STR), ("provider_id", STR), ("admitted_on", DATE),
                        ("discharged_on", DATE), ("admission_method", STR), ("discharge_destination", STR),
                        ("specialty", STR), ("cancer", BOOL)],
    "justice_events": [("person_id", STR), ("event_type", STR), ("event_date", DATE)],
    "offences": [("offence_id", STR), ("person_id", STR), ("offence_date", DATE), ("proven_on", DATE),
                 ("offence_group", STR), ("is_breach", BOOL)],
    "service_contacts": [("person_id", STR), ("service", STR), ("contact_on", DATE)],
    "grants": [("grant_id", STR), ("funder", STR), ("timebank_id", STR), ("amount", FLOAT), ("period_start", DATE),
               ("period_end", DATE)],
    "coproduction_assessments": [("timebank_id", STR), ("assessed_on", DATE), ("domain", STR), ("item", STR),
                                 ("score", INT)],
}
FORMATS = ("csv", "parquet")


def ids(prefix: str, idx, width: int) -> pa.Array:
    """``prefix`` + zero-padded 1-based number (index 0 -> P0000001); null where idx < 0."""
    idx = np.asarray(idx, dtype=np.int64)
    digits = pc.utf8_lpad(pa.array(np.maximum(idx, 0) + 1).cast(pa.string()), width=width, padding="0")
    out = pc.binary_join_element_wise(pa.scalar(prefix), digits, "")
    return pc.if_else(pa.array(idx < 0), pa.nulls(idx.size, pa.string()), out) if (idx < 0).any() else out


def labels(values, codes) -> pa.Array:
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def dates(days) -> pa.Array:
    """Day numbers to date32; NEVER becomes null."""
    d = np.asarray(days, dtype=np.int64)
    never = d >= NEVER
    return pa.array(np.where(never, 0, d).astype(np.int32), mask=never if never.any() else None).cast(pa.date32())


class Sink:
    """One output file, written batch by batch."""

    def __init__(self, out: Path, name: str, fmt: str, schema=None):
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}")
        self.schema = pa.schema(schema or SCHEMAS[name])
        self.path = Path(out) / f"{name}.{fmt}"
        for other in FORMATS:  # never leave a stale twin in the other format
            Path(out, f"{name}.{other}").unlink(missing_ok=True)
        if fmt == "csv":
            self._w = pacsv.CSVWriter(self.path, self.schema, write_options=pacsv.WriteOptions(quoting_style="none", quoting_header="none"))
        else:
            self._w = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.rows = 0

    def write(self, columns: dict) -> None:
        arrays = [columns[f.name] if isinstance(columns[f.name], pa.Array) else pa.array(columns[f.name], f.type)
                  for f in self.schema]
        batch = pa.RecordBatch.from_arrays([a.cast(f.type) for a, f in zip(arrays, self.schema)], schema=self.schema)
        self._w.write_batch(batch) if hasattr(self._w, "write_batch") else self._w.write(batch)
        self.rows += batch.num_rows

    def close(self) -> int:
        self._w.close()
        return self.rows


def write(out: Path, name: str, fmt: str, columns: dict, schema=None) -> int:
    sink = Sink(out, name, fmt, schema)
    sink.write(columns)
    return sink.close()
