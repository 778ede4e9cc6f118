"""``marts.grant_metrics``: what each grant bought, and how reciprocal the exchange was.

One row per grant (``staging.grants``), measured over the grant's time bank and its
*observed period* with ``models.reciprocity.measures`` (the same definitions as the time-bank
mart). A grant often runs partly outside the data: a three-year grant that began six weeks
before the exchange log ends has six weeks of exchanges to show for it. So:

* the **data window** (``data_start``, ``data_end``) is the exchange log's extent, its first to
  last day over every time bank, widened to ``window_start`` / ``window_end`` where the settings
  set them further out (they declare what the extract covers: a log whose first exchange falls
  on 10 January still covers 1 January). The settings never narrow it: grants are measured on
  all the data. It is the extract's extent, not each time bank's: a time bank with no exchange
  in part of it had none (it had not started, or was quiet), a finding, not missing data;
* the **observed period** is the part of [period_start, period_end] inside the data window
  (``observed_start``, ``observed_end``; empty when the grant lies wholly outside it), and
  ``observed_share`` its days over the grant period's days;
* the **observed amount** is ``amount × observed_share``: the money spent in the observed
  period if the grant is spent evenly over its period (no spending profile is in the data; a
  funder who front-loads a grant would put more of it in an early period).

For a grant, *active members* are the eligible members who traded during the observed period
(the funder pays for that period; the rolling 12-month stock would credit a grant with activity
from before it started). Costs divide the observed amount by what happened in the observed
period, so a grant seen for six weeks is costed on six weeks of its money:

    cost_per_active_member = observed_amount / active_members
    cost_per_hour_exchanged = observed_amount / hours_exchanged      (exchange and group rows)
    cost_per_two_way_member = observed_amount / two_way_members

(NULL when the divisor is 0). The reciprocity index is ``models.reciprocity.index``. The
co-production score is the latest complete self-assessment of the time bank on or before
period_end (``models.reciprocity.assessment``).

Reciprocity-weighted social value (reference/sroi.md section 4), shown BESIDE the
unweighted social value, never instead of it:

    RWSV = Σ_i SV_i · (α + (1 − α)·b_i) = α·SV + (1 − α)·Σ_i SV_i·b_i

with b_i each member's balance index over the observed period (0 if they had no reciprocal
exchange, or are a system or organisation account). ``social_value`` may be given per member
(columns ``member_id, social_value``; optional ``grant_id`` to tie values to one grant), per
grant (``grant_id, social_value``) or per time bank (``timebank_id, social_value``); without
member detail b is the observed period's mean balance index (0 when nobody traded both ways).

A per-time-bank value (the pipeline passes each time bank's SROI present value) is **shared
among the time bank's grants in proportion to the hours exchanged in each grant's observed
period**: what the grant bought, measured as the rest of the row is. A grant's share is its
hours over the sum of its time bank's grants' hours, so a time bank's grants add up to its
value, and a grant seen for six weeks is credited with six weeks' hours, not with its amount
(sharing by amount credited G018, 10.75 hours, with £1,070.52 and G016, 225 hours, with
£593.81). Where two grants ran at once, each counts the hours they share, so each is credited
with them in equal measure: the value says what happened while a grant ran, not what it alone
paid for. When no grant of a time bank has hours, its value is not shared (NULL).
"""

from __future__ import annotations

import uuid

import duckdb
import numpy as np
import pandas as pd

from models.reciprocity.assessment import score_assessments
from models.reciprocity.index import reciprocity_index
from models.reciprocity.measures import group_measures
from models.reciprocity.prepare import GRANTS, prepared, source_sql
from models.reciprocity.settings import ReciprocitySettings
from schemas.marts import mart

GRANT_COLUMNS = mart("marts.grant_metrics").column_names()  # schemas/marts.py
_DTYPES = {
    "run_id": "object", "grant_id": "object", "funder": "object", "timebank_id": "object",
    "period_start": "datetime64[us]", "period_end": "datetime64[us]", "coproduction_assessed_on": "datetime64[us]",
    "data_start": "datetime64[us]", "data_end": "datetime64[us]", "observed_start": "datetime64[us]",
    "observed_end": "datetime64[us]",
    "coproduction_band": "object", "social_value_basis": "object",
    "members": "int64", "active_members": "int64", "two_way_members": "int64", "exchanges": "int64",
}


def empty_grant_metrics() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, "float64")) for c in GRANT_COLUMNS})


def grant_metrics(
    con: duckdb.DuckDBPyConnection,
    settings: ReciprocitySettings | None = None,
    *,
    run_id: str,
    social_value: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The grant mart as a DataFrame (one row per grant)."""
    s = settings or ReciprocitySettings()
    grants = con.execute(f"SELECT * FROM ({source_sql(con, GRANTS)}) ORDER BY grant_id").df()
    if grants.empty:
        return empty_grant_metrics()
    grants["grp"] = np.arange(len(grants), dtype="int64")
    tag = uuid.uuid4().hex[:10]
    groups, mstats, gframe = f"_rc_ggroups_{tag}", f"_rc_gmember_{tag}", f"_rc_gframe_{tag}"
    # Grant periods are measured on all the data: the window settings do not cut them short.
    with prepared(con, s.model_copy(update={"window_start": None, "window_end": None})) as p:
        first, last = con.execute(f"SELECT min(d), max(d) FROM {p.exchanges}").fetchall()[0]
        grants = observed_periods(grants, min((d for d in (first, s.window_start) if d), default=None),
                                  max((d for d in (last, s.window_end) if d), default=None))
        con.register(gframe, grants)
        try:
            con.execute(  # an empty observed period (NULL dates) matches no exchange and no member
                f"CREATE TEMP TABLE {groups} AS SELECT grp::INTEGER AS grp, timebank_id, "
                f"observed_start::DATE AS period_start, observed_end::DATE AS period_end, NULL::DATE AS bucket FROM {gframe}"
            )
            measures = group_measures(con, p, s, groups, member_stats=mstats)
            by_member = _member_social_value(con, p, social_value, mstats, gframe)
        finally:
            con.unregister(gframe)
            for t in (groups, mstats):
                con.execute(f"DROP TABLE IF EXISTS {t}")
    out = grants.merge(measures, on="grp", how="left")
    out["active_members"] = out["trading_members"]  # for a grant: traded within the grant period
    out = pd.concat([out, reciprocity_index(out, s.index_weights)], axis=1)
    amount = out["observed_amount"].astype("float64")
    for col, den in (("cost_per_active_member", "active_members"), ("cost_per_hour_exchanged", "hours_exchanged"),
                     ("cost_per_two_way_member", "two_way_members")):
        d = out[den].astype("float64")
        out[col] = (amount / d).where(d > 0)
    out = _with_assessment(con, s, out)
    out = _with_social_value(out, social_value, by_member)
    out["alpha"] = s.alpha
    out["reciprocity_weighted_social_value"] = s.alpha * out["social_value"] + (1 - s.alpha) * out["balance_weighted_social_value"]
    out["run_id"] = run_id
    out = out[GRANT_COLUMNS].copy()
    empty = empty_grant_metrics()
    for c in GRANT_COLUMNS:
        out[c] = out[c].astype(empty[c].dtype)
    return out


def observed_periods(grants: pd.DataFrame, data_start, data_end) -> pd.DataFrame:
    """``grants`` with the data window and each grant's observed period, share and amount (module docstring).

    Days are counted inclusively (2024-01-01..2024-01-31 is 31 days). Without an exchange log
    (``data_start`` None) nothing is observed: share 0, amount 0.
    """
    out = grants.copy()
    start, end = pd.to_datetime(out["period_start"]), pd.to_datetime(out["period_end"])
    lo, hi = pd.Timestamp(data_start) if data_start else pd.NaT, pd.Timestamp(data_end) if data_end else pd.NaT
    first, last = start.where(start > lo, lo), end.where(end < hi, hi)
    seen = first.notna() & last.notna() & (first <= last)
    days = ((last - first).dt.days + 1).where(seen, 0)
    out["data_start"], out["data_end"] = lo, hi
    out["observed_start"], out["observed_end"] = first.where(seen), last.where(seen)
    out["observed_share"] = days / ((end - start).dt.days + 1)
    out["observed_amount"] = out["amount"].astype("float64") * out["observed_share"]
    return out


def _with_assessment(con, s: ReciprocitySettings, out: pd.DataFrame) -> pd.DataFrame:
    scored = score_assessments(con, s)
    scored = scored[scored["status"] == "complete"]
    dates, scores, bands = [], [], []
    for tb, end in zip(out["timebank_id"], pd.to_datetime(out["period_end"])):
        rows = scored[(scored["timebank_id"] == tb) & (pd.to_datetime(scored["assessed_on"]) <= end)]
        if rows.empty:
            dates.append(pd.NaT), scores.append(np.nan), bands.append(None)
        else:
            last = rows.sort_values("assessed_on").iloc[-1]
            dates.append(last["assessed_on"]), scores.append(last["coproduction_score"]), bands.append(last["coproduction_band"])
    out["coproduction_assessed_on"] = pd.to_datetime(pd.Series(dates, index=out.index, dtype="object"))
    out["coproduction_score"] = scores
    out["coproduction_band"] = bands
    return out


def _member_social_value(con, p, social_value: pd.DataFrame | None, mstats: str, gframe: str) -> pd.DataFrame | None:
    """Member values per grant: ``grant_id``, social_value (Σ SV) and balance_weighted_social_value (Σ SV·b)."""
    if social_value is None:
        return None
    if "social_value" not in social_value.columns:
        raise ValueError("social_value: needs a 'social_value' column")
    if "member_id" not in social_value.columns:
        if not {"grant_id", "timebank_id"} & set(social_value.columns):
            raise ValueError("social_value: needs a member_id, grant_id or timebank_id column")
        return None
    name = f"_rc_sv_{uuid.uuid4().hex[:10]}"
    grant_filter = "AND (v.grant_id IS NULL OR v.grant_id = g.grant_id)" if "grant_id" in social_value.columns else ""
    con.register(name, social_value)
    try:
        return con.execute(f"""
            SELECT g.grant_id, sum(v.social_value ORDER BY v.social_value) AS social_value,
                   sum(v.social_value * coalesce(m.b, 0) ORDER BY v.social_value * coalesce(m.b, 0))
                       AS balance_weighted_social_value
            FROM {gframe} g
            JOIN {p.accounts} a ON a.timebank_id = g.timebank_id
            JOIN {name} v ON v.member_id = a.member_id {grant_filter}
            LEFT JOIN {mstats} m ON m.grp = g.grp AND m.mid = a.mid
            GROUP BY g.grant_id
        """).df()
    finally:
        con.unregister(name)


def _with_social_value(out: pd.DataFrame, social_value: pd.DataFrame | None, by_member: pd.DataFrame | None) -> pd.DataFrame:
    """``out`` with social_value_basis, social_value and balance_weighted_social_value (module docstring)."""
    if social_value is None:
        return out.assign(social_value_basis=None, social_value=np.nan, balance_weighted_social_value=np.nan)
    if by_member is not None:
        return out.merge(by_member, on="grant_id", how="left").assign(social_value_basis="member")
    if "grant_id" in social_value.columns:
        basis, value = "grant", out["grant_id"].map(social_value.groupby("grant_id")["social_value"].sum())
    else:
        hours = out["hours_exchanged"].astype("float64")
        total = hours.groupby(out["timebank_id"]).transform("sum")
        by_bank = out["timebank_id"].map(social_value.groupby("timebank_id")["social_value"].sum())
        basis, value = "timebank", by_bank * (hours / total).where(total > 0)
    return out.assign(social_value_basis=basis, social_value=value,
                      balance_weighted_social_value=value * out["mean_balance_index"].fillna(0))
