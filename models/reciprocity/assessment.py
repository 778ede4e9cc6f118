"""Co-production self-assessment: 5 domains × 4 items, each scored 1–5, total 20–100.

Source: The Hub "Coproduction Assessment" (Cahn lineage; reference/sroi.md section 4), with
domains Assets, Work, Reciprocity, Community and Respect. An assessment is one
(time bank, assessed_on); it is scored only when complete: exactly 5 domains, 4 distinct
items in each, one score per item, every score in 1..5. Domain and item names are matched
case- and space-insensitively and are not checked against a list.

Bands over the total: 20–39, 40–59, 60–79, 80–100. The labels are ours, settable in
``ReciprocitySettings.band_labels`` (default "emerging", "developing", "established",
"leading"); The Hub publishes its own ("not there", "starting out", "on the way",
"going strong"), which an evaluator can set instead.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from models.reciprocity.prepare import ASSESSMENTS, source_sql
from models.reciprocity.settings import ReciprocitySettings

DOMAINS = 5
ITEMS_PER_DOMAIN = 4
SCORE_MIN, SCORE_MAX = 1, 5
TOTAL_MIN, TOTAL_MAX = DOMAINS * ITEMS_PER_DOMAIN * SCORE_MIN, DOMAINS * ITEMS_PER_DOMAIN * SCORE_MAX  # 20, 100
BAND_LOWER_BOUNDS = (20, 40, 60, 80)

ASSESSMENT_COLUMNS = ["timebank_id", "assessed_on", "items", "domains", "status", "coproduction_score",
                      "coproduction_band"]


def coproduction_band(score: float | None, labels: tuple[str, ...] | None = None) -> str | None:
    """Band label of a total in [20, 100]; None for a missing or out-of-range total."""
    labels = labels or ReciprocitySettings().band_labels
    if score is None or pd.isna(score) or not TOTAL_MIN <= score <= TOTAL_MAX:
        return None
    band = sum(score >= b for b in BAND_LOWER_BOUNDS) - 1
    return labels[band]


def score_assessments(con: duckdb.DuckDBPyConnection, settings: ReciprocitySettings | None = None) -> pd.DataFrame:
    """One row per (timebank_id, assessed_on): counts, status (complete / incomplete / invalid), total and band."""
    s = settings or ReciprocitySettings()
    src = source_sql(con, ASSESSMENTS)
    df = con.execute(
        f"""
        WITH a AS (
            SELECT timebank_id, assessed_on, lower(trim(domain)) AS domain, lower(trim(item)) AS item, score
            FROM ({src})
        ),
        per_domain AS (
            SELECT timebank_id, assessed_on, domain, count(DISTINCT item) AS n_items, count(*) AS n_rows
            FROM a GROUP BY ALL
        ),
        shape AS (
            SELECT timebank_id, assessed_on, count(*) AS domains,
                   bool_and(n_items = {ITEMS_PER_DOMAIN}) AS four_each, sum(n_rows) AS n_rows
            FROM per_domain GROUP BY ALL
        )
        SELECT a.timebank_id, a.assessed_on, count(DISTINCT (a.domain, a.item)) AS items,
               any_value(shape.domains) AS domains,
               CASE WHEN bool_or(a.score IS NULL OR a.score < {SCORE_MIN} OR a.score > {SCORE_MAX})
                         OR count(*) > count(DISTINCT (a.domain, a.item)) THEN 'invalid'
                    WHEN any_value(shape.domains) = {DOMAINS} AND bool_and(shape.four_each) THEN 'complete'
                    ELSE 'incomplete' END AS status,
               sum(a.score) AS total
        FROM a JOIN shape USING (timebank_id, assessed_on)
        GROUP BY a.timebank_id, a.assessed_on
        ORDER BY a.timebank_id, a.assessed_on
        """
    ).df()
    if df.empty:
        return pd.DataFrame({
            "timebank_id": pd.Series(dtype="object"), "assessed_on": pd.Series(dtype="datetime64[us]"),
            "items": pd.Series(dtype="int64"), "domains": pd.Series(dtype="int64"),
            "status": pd.Series(dtype="object"), "coproduction_score": pd.Series(dtype="float64"),
            "coproduction_band": pd.Series(dtype="object"),
        })
    df["coproduction_score"] = df["total"].where(df["status"] == "complete").astype("float64")
    df["coproduction_band"] = [coproduction_band(v, s.band_labels) for v in df["coproduction_score"]]
    df["items"] = df["items"].astype("int64")
    df["domains"] = df["domains"].astype("int64")
    return df[ASSESSMENT_COLUMNS]
