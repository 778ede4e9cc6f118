"""Map time-bank platform exports onto the ``timebank_exchanges`` contract.

``python -m pipelines.ingest.platforms timeoverflow EXPORT.csv --timebank TB01 --out DIR``
writes ``DIR/timebank_exchanges_<platform>.csv``, ready for ingest (members must be
supplied in ``timebank_members`` with the same member ids).

TimeOverflow (coopdevs/timeoverflow) transfers export: ``date, from, to, post, quantity``.
``from`` and ``to`` are display names "name (uid)"; the member id is the uid in brackets.
A transfer moves time credit from the account that received help to the account that
gave it, so ``to`` is our giver and ``from`` our receiver. ``quantity`` is ``h:mm``. A
transfer from or to the organisation account (no uid) becomes kind ``system_credit``.

Community Weaver 2.2 ``exchange_history.csv`` (TimeBanks USA): one row per exchange with
provider, recipient, service date, service category and hours, plus unique ids. The
provider gave the time (our giver); the recipient received it. Column names differ
between versions: the aliases below are the ones we accept (case and spacing ignored).
Both mappings are documented in docs/data-contract.md ("Platform exports").
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


def timeoverflow_sql(path: Path, timebank_id: str) -> str:
    uid = "regexp_extract(\"{col}\", '\\((\\w+)\\)\\s*$', 1)"
    giver, receiver = uid.format(col="to"), uid.format(col="from")
    return f"""
        SELECT 'TO-' || row_number() OVER () AS exchange_id, '{timebank_id}' AS timebank_id,
               coalesce(NULLIF({giver}, ''), 'org-{timebank_id}') AS giver_id,
               coalesce(NULLIF({receiver}, ''), 'org-{timebank_id}') AS receiver_id,
               round(split_part(quantity, ':', 1)::DOUBLE + split_part(quantity, ':', 2)::DOUBLE / 60, 4) AS hours,
               coalesce(try_cast(date AS DATE), try_strptime(date, '%d/%m/%Y')::DATE) AS exchanged_on,
               post AS category,
               CASE WHEN {giver} = '' OR {receiver} = '' THEN 'system_credit' ELSE 'exchange' END AS kind
        FROM read_csv('{path}', all_varchar = true, header = true)
    """


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
        query = timeoverflow_sql(export, timebank_id) if platform == "timeoverflow" else community_weaver_sql(con, export, timebank_id)
        con.execute(f"COPY ({query}) TO '{target}' (HEADER)")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description="Map a time-bank platform export onto timebank_exchanges.")
    parser.add_argument("platform", choices=["timeoverflow", "community_weaver"])
    parser.add_argument("export", type=Path)
    parser.add_argument("--timebank", required=True, help="timebank_id to give the exchanges")
    parser.add_argument("--out", type=Path, required=True, help="input folder to write into")
    args = parser.parse_args()
    print(convert(args.platform, args.export, args.timebank, args.out))


if __name__ == "__main__":
    main()
