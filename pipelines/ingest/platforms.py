"""Map a Community Weaver export onto the ``timebank_exchanges`` contract.

``python -m pipelines.ingest.platforms community_weaver EXPORT.csv --timebank TB01 --out DIR``
writes ``DIR/timebank_exchanges_community_weaver.csv``, ready for ingest (members must be
supplied in ``timebank_members`` with the same member ids).

TimeOverflow exports are read by the shipped mapping presets instead
(``data/mappings/timeoverflow_*.yaml``, docs/data-contract.md "Bring your own extract"),
which keep inactive and deleted members out of every account.

Community Weaver 2.2 ``exchange_history.csv`` (TimeBanks USA): one row per exchange with
provider, recipient, service date, service category and hours, plus unique ids. The
provider gave the time (our giver); the recipient received it. Column names differ
between versions: the aliases below are the ones we accept (case and spacing ignored).
Documented in docs/data-contract.md ("Platform exports").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from pipelines.ingest.readers import normalise_header

WEAVER_ALIASES = {
    "exchange_id": ["exchange_id", "id", "transaction_id"],
    "giver_id": ["provider_id", "provider_uid", "provider"],
    "receiver_id": ["recipient_id", "recipient_uid", "recipient"],
    "exchanged_on": ["service_date", "date"],
    "category": ["service_category", "category"],
    "hours": ["hours", "hours_exchanged"],
}


def community_weaver_sql(con: duckdb.DuckDBPyConnection, path: Path, timebank_id: str) -> str:
    header = {normalise_header(c): c for c in con.sql(f"SELECT * FROM read_csv('{path}', all_varchar = true) LIMIT 0").columns}
    pick = {}
    for target, aliases in WEAVER_ALIASES.items():
        found = next((header[a] for a in aliases if a in header), None)
        if found is None:
            raise ValueError(f"{path}: line 1: no column for {target}; expected one of {', '.join(aliases)}")
        pick[target] = f'"{found}"'
    return f"""
        SELECT {pick['exchange_id']} AS exchange_id, '{timebank_id}' AS timebank_id, {pick['giver_id']} AS giver_id,
               {pick['receiver_id']} AS receiver_id, {pick['hours']} AS hours, {pick['exchanged_on']} AS exchanged_on,
               {pick['category']} AS category, 'exchange' AS kind
        FROM read_csv('{path}', all_varchar = true, header = true)
    """


def convert(platform: str, export: Path, timebank_id: str, out_dir: Path) -> Path:
    """Write the export as a contract-form ``timebank_exchanges_<platform>.csv`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"timebank_exchanges_{platform}.csv"
    with duckdb.connect() as con:
        query = community_weaver_sql(con, export, timebank_id)
        con.execute(f"COPY ({query}) TO '{target}' (HEADER)")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description="Map a time-bank platform export onto timebank_exchanges.")
    parser.add_argument("platform", choices=["community_weaver"])
    parser.add_argument("export", type=Path)
    parser.add_argument("--timebank", required=True, help="timebank_id to give the exchanges")
    parser.add_argument("--out", type=Path, required=True, help="input folder to write into")
    args = parser.parse_args()
    print(convert(args.platform, args.export, args.timebank, args.out))


if __name__ == "__main__":
    main()
