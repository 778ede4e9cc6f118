"""Keyed pseudonyms for identifiers: HMAC-SHA256 computed inside DuckDB.

HMAC(K, m) = H((K' xor opad) || H((K' xor ipad) || m)), with K' the key padded to the
64-byte SHA-256 block (RFC 2104). The key comes from ``OUTCOMES_PSEUDONYM_KEY``; it is
never logged, stored or shown. Without a key the pipeline refuses to run, except in demo
mode, which uses a fixed, public key and says so.
"""

from __future__ import annotations

import hashlib
import os

import duckdb

DEMO_KEY = "co-production-outcomes-demo-key-NOT-SECRET"
DEMO_WARNING = (
    "DEMO MODE: identifiers are pseudonymised with a fixed, published key. "
    "Anyone can reverse them by guessing. Never use demo mode on real records."
)


class MissingKeyError(RuntimeError):
    """Raised when real data would be ingested without a pseudonym key."""


def resolve_key(demo: bool) -> bytes:
    """The pseudonym key from the environment, or the public demo key in demo mode."""
    key = os.environ.get("OUTCOMES_PSEUDONYM_KEY", "")
    if key:
        return key.encode("utf-8")
    if demo:
        return DEMO_KEY.encode("utf-8")
    raise MissingKeyError(
        "OUTCOMES_PSEUDONYM_KEY is not set. Identifiers must be pseudonymised with a secret key: "
        "set OUTCOMES_PSEUDONYM_KEY (at least 32 random characters), or set OUTCOMES_DEMO=1 to run "
        "the demo on synthetic data with a public key."
    )


def register_pseudonym_macro(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Define the temp macro ``pseudonym(text)``: lowercase hex HMAC-SHA256 of the UTF-8 text."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in block).hex()
    opad = bytes(b ^ 0x5C for b in block).hex()
    con.execute(
        "CREATE OR REPLACE TEMP MACRO pseudonym(x) AS "
        f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode(x))))"
    )
