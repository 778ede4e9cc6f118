"""The synthetic data generator: contract, determinism, realism, and that its truth is recoverable.

The outcome and participation checks recompute everything from the written files alone,
following the definitions in truth.json, so they also prove the pipeline can recover it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from data.generate import main
from data.synthetic import CaseMix, Config, Crisis, Effects, generate

REGISTRY = yaml.safe_load((Path(__file__).resolve().parents[2] / "data/reference/star_versions.yaml").read_text())["versions"]
CONTRACT = {
    "persons": ["person_id", "birth_date", "sex", "area_code", "imd_decile", "died_on", "prior_convictions", "employment",
                "marital_status", "long_term_condition"],
    "timebank_members": ["member_id", "timebank_id", "person_id", "role", "joined_on", "left_on"],
    "timebank_exchanges": ["exchange_id", "timebank_id", "giver_id", "receiver_id", "hours", "exchanged_on", "category", "kind"],
    "programme_enrolments": ["person_id", "programme_id", "started_on", "ended_on"],
    "star_readings": ["person_id", "star_version", "assessed_on", "area", "score"],
    "hospital_spells": ["spell_id", "person_id", "provider_id", "admitted_on", "discharged_on", "admission_method",
                        "discharge_destination", "specialty", "cancer"],
    "justice_events": ["person_id", "event_type", "event_date"],
    "offences": ["offence_id", "person_id", "offence_date", "proven_on", "offence_group", "is_breach"],
    "service_contacts": ["person_id", "service", "contact_on"],
    "grants": ["grant_id", "funder", "timebank_id", "amount", "period_start", "period_end"],
    "coproduction_assessments": ["timebank_id", "assessed_on", "domain", "item", "score"],
}
DATES = {"birth_date", "died_on", "joined_on", "left_on", "exchanged_on", "started_on", "ended_on", "assessed_on", "admitted_on",
         "discharged_on", "event_date", "offence_date", "proven_on", "contact_on", "period_start", "period_end"}
BOOLS = {"long_term_condition", "cancer", "is_breach"}
START, END = pd.Timestamp("2022-01-01"), pd.Timestamp("2025-12-31")
JUSTICE_PROGRAMMES = {"youth_court_jury", "prison_bike_repair", "prison_listeners"}


def raw(d: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(d / f"{name}.csv", dtype=str, keep_default_na=False)


def load(d: Path, name: str) -> pd.DataFrame:
    df = raw(d, name).replace("", None)
    for c in df.columns:
        if c in DATES:
            df[c] = pd.to_datetime(df[c], format="%Y-%m-%d")
        elif c in BOOLS or c in {"via_timebank", "via_programme", "participant", "readmitted", "reoffended",
                                 "follow_up_complete", "y0", "y1"}:
            df[c] = df[c] == "true"
        elif c in {"hours", "amount", "p0", "p1", "age"}:
            df[c] = df[c].astype(float)
        elif c in {"imd_decile", "prior_convictions", "score", "prior_emergency_12m", "event_order"}:
            df[c] = df[c].astype(int)
    return df


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    truth = generate(Config(persons=2000, seed=7, out=out))
    return out, truth


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        assert main(["--persons", "400", "--seed", str(seed), "--out", str(tmp_path / name), "--quiet"]) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == len(CONTRACT) + 4  # sources, truth.json, truth/ (3 files)
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    for f in ("persons.csv", "hospital_spells.csv", "timebank_exchanges.csv"):
        assert (tmp_path / "a" / f).read_bytes() != (tmp_path / "c" / f).read_bytes(), f


def test_every_source_present_with_exactly_the_contract_columns(sample):
    d, _ = sample
    assert sorted(p.name for p in d.glob("*.csv")) == sorted(f"{s}.csv" for s in CONTRACT)
    for source, columns in CONTRACT.items():
        header = (d / f"{source}.csv").open().readline().rstrip("\n")
        assert header == ",".join(columns), source
        assert len(raw(d, source)) > 0, source


def test_csv_conventions_iso_dates_true_false_and_empty_nulls(sample):
    d, _ = sample
    for source in CONTRACT:
        df = raw(d, source)
        assert '"' not in (d / f"{source}.csv").read_text()
        for c in df.columns:
            v = df[c][df[c] != ""]
            if c in DATES:
                assert v.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all(), (source, c)
                if c not in {"period_start", "period_end"}:
                    assert (v <= "2025-12-31").all(), (source, c)  # nothing after the extract's cut-off
            if c in BOOLS:
                assert set(v) <= {"true", "false"} and len(set(v)) == 2, (source, c)
            if c not in {"person_id", "left_on", "ended_on", "died_on"}:
                assert (df[c] != "").all(), (source, c)  # only the contract's nullable columns are ever empty
    members = raw(d, "timebank_members")
    assert (members.person_id == "").any() and (members.left_on == "").any()
    assert raw(d, "persons").person_id.str.fullmatch(r"P\d{7}").all()
    assert raw(d, "persons").person_id.iloc[0] == "P0000001"


def test_value_domains(sample):
    d, _ = sample
    p = load(d, "persons")
    assert set(p.sex) <= {"female", "male", "other", "unknown"} and {"female", "male"} <= set(p.sex)
    assert p.imd_decile.between(1, 10).all() and p.imd_decile.nunique() == 10
    assert p.area_code.str.fullmatch(r"E0\d{7}").all() and 3 <= p.area_code.nunique() <= 10
    assert set(p.employment) == {"employed", "unemployed", "inactive"}
    assert set(p.marital_status) == {"single", "married", "other"}
    assert (p.prior_convictions >= 0).all() and (p.birth_date < START).all()
    m = load(d, "timebank_members")
    assert set(m.role) == {"community", "service_user", "patient", "prisoner", "staff", "organisation", "system"}
    assert (m.left_on.isna() | (m.left_on >= m.joined_on)).all() and (m.joined_on <= END).all()
    x = load(d, "timebank_exchanges")
    assert set(x.kind) == {"exchange", "group", "donation", "system_credit"}
    assert x.category.isin(["befriending", "transport", "gardening", "diy", "bike_repair", "listening", "reading",
                            "shopping", "admin", "group_activity"]).all()
    assert ((x.hours > 0) & (x.hours <= 24)).all() and ((x.hours * 4) % 1 == 0).all()
    assert x.hours.between(0.5, 3).mean() > 0.7
    assert x.exchanged_on.between(START, END).all()
    h = load(d, "hospital_spells")
    assert set(h.admission_method) == {"emergency", "elective", "maternity", "other"}
    assert set(h.discharge_destination) == {"home", "transfer", "died", "other"}
    assert set(h.specialty) == {"general_medicine", "general_surgery", "geriatric_medicine", "cardiology", "respiratory",
                                "orthopaedics", "obstetrics", "mental_health"}
    assert (h.discharged_on >= h.admitted_on).all() and h.admitted_on.between(START, END).all()
    assert h.provider_id.nunique() >= 4 and h.provider_id.str.fullmatch(r"RXX0\d").all()
    assert h.cancer.any() and (h.admission_method.eq("maternity") == h.specialty.eq("obstetrics")).all()
    assert (h.admission_method.eq("elective") & (h.admitted_on == h.discharged_on)).any()  # day cases
    j = load(d, "justice_events")
    assert set(j.event_type) == {"custody_release", "community_sentence", "caution", "youth_court"}
    o = load(d, "offences")
    assert (o.proven_on >= o.offence_date).all() and o.is_breach.any() and (~o.is_breach).any()
    lag = (o.proven_on - o.offence_date).dt.days
    assert lag.between(30, 270).mean() > 0.6
    assert set(o.offence_group) <= {"theft", "violence", "drugs", "criminal_damage", "public_order", "motoring", "other"}
    e = load(d, "programme_enrolments")
    assert set(e.programme_id) == {"peer_visiting_after_discharge"} | JUSTICE_PROGRAMMES
    assert (e.ended_on.isna() | (e.ended_on >= e.started_on)).all()
    c = load(d, "service_contacts")
    assert set(c.service) == {"gp", "ae", "mental_health", "social_care", "other"} and c.contact_on.between(START, END).all()
    g = load(d, "grants")
    assert (g.amount > 0).all() and (g.period_end >= g.period_start).all() and set(g.timebank_id) == {"TB01", "TB02", "TB03", "TB04"}
    a = load(d, "coproduction_assessments")
    assert a.score.between(1, 5).all() and a.domain.nunique() == 5
    assert (a.groupby(["timebank_id", "assessed_on"]).item.nunique() == 20).all()
    assert a.item.str.fullmatch(r"d[1-5]_i[1-4]").all()


def test_star_readings_follow_the_registry_and_a_3_to_6_month_rhythm(sample):
    d, _ = sample
    s = load(d, "star_readings")
    for version, rows in s.groupby("star_version"):
        reg = REGISTRY[version]
        assert rows.score.between(reg["scale_min"], reg["scale_max"]).all(), version
        assert set(rows.area) <= set(reg["areas"]), version
        assert (rows.groupby(["person_id", "assessed_on"]).area.nunique() == len(reg["areas"])).all(), version
    assert {"wellbeing_star", "justice_star", "recovery_star"} <= set(s.star_version)
    visits = s[["person_id", "star_version", "assessed_on"]].drop_duplicates().sort_values(["person_id", "star_version", "assessed_on"])
    gap = visits.groupby(["person_id", "star_version"]).assessed_on.diff().dt.days.dropna()
    # 3-6 months apart, except referral to intake (14-45 days) for people referred before joining
    assert gap.between(91, 183).mean() > 0.8 and gap.between(14, 183).all()
    n = visits.groupby(["person_id", "star_version"]).size()
    assert (n == 1).any() and (n >= 3).any()
    members = set(load(d, "timebank_members").person_id.dropna())
    assert not set(s.person_id) <= members  # a waiting-list comparison group is read too


def test_every_reference_resolves(sample):
    d, _ = sample
    persons = set(raw(d, "persons").person_id)
    for source in ("timebank_members", "programme_enrolments", "star_readings", "hospital_spells", "justice_events",
                   "offences", "service_contacts"):
        ids = set(raw(d, source).person_id) - {""}
        assert ids <= persons, source
    m = load(d, "timebank_members").set_index("member_id")
    x = load(d, "timebank_exchanges")
    assert x.giver_id.isin(m.index).all() and x.receiver_id.isin(m.index).all()
    assert (m.timebank_id.loc[x.giver_id].values == x.timebank_id.values).all()
    assert (m.timebank_id.loc[x.receiver_id].values == x.timebank_id.values).all()
    assert (x.giver_id != x.receiver_id).all()
    assert set(load(d, "grants").timebank_id) | set(load(d, "coproduction_assessments").timebank_id) <= set(m.timebank_id)


def test_time_banks_have_realistic_structure(sample):
    d, _ = sample
    m = load(d, "timebank_members")
    x = load(d, "timebank_exchanges").merge(m[["member_id", "role"]].rename(columns={"member_id": "giver_id", "role": "giver_role"}))
    x = x.merge(m[["member_id", "role"]].rename(columns={"member_id": "receiver_id", "role": "receiver_role"}))
    for tb, accounts in m.groupby("timebank_id"):
        assert {"system", "organisation", "staff"} <= set(accounts.role), tb
        assert accounts.person_id.isna().any() and accounts.person_id.notna().any(), tb
    assert m[m.role.isin(["staff", "organisation", "system"])].person_id.isna().all()
    assert (x[x.kind == "system_credit"].giver_role == "system").all()
    assert (x[x.kind == "group"].receiver_role == "organisation").all()
    donations = x[x.kind == "donation"]
    assert (donations.receiver_role == "system").any() and (donations.receiver_role != "system").any()
    people = x[x.kind.isin(["exchange", "group", "donation"])]
    gave, got = set(people.giver_id), set(x[x.kind == "exchange"].receiver_id)
    assert gave - got and got - gave  # some only give, some only receive
    # Heavy-tailed activity: the busiest tenth of members account for much of the hours.
    hours = pd.concat([people[["giver_id", "hours"]].set_axis(["m", "h"], axis=1),
                       x[x.kind == "exchange"][["receiver_id", "hours"]].set_axis(["m", "h"], axis=1)]).groupby("m").h.sum()
    hours = hours[hours.index.isin(m[m.role.isin(["community", "patient", "service_user", "prisoner"])].member_id)]
    top = hours.sort_values(ascending=False)
    assert top.iloc[: len(top) // 10].sum() > 0.35 * top.sum()
    pairs = set(zip(x[x.kind == "exchange"].giver_id, x[x.kind == "exchange"].receiver_id))
    assert any((b, a) in pairs for a, b in pairs)  # reciprocal pairs
    nxt = {}
    for a, b in pairs:
        nxt.setdefault(a, set()).add(b)
    assert any(a in nxt.get(c, ()) for a, bs in nxt.items() for b in bs for c in nxt.get(b, ()) if c not in (a, b))


def test_hospital_spells_chain_only_by_transfer(sample):
    d, _ = sample
    h = load(d, "hospital_spells").sort_values(["person_id", "admitted_on", "discharged_on"])
    nxt = h.groupby("person_id").shift(-1)
    has = nxt.admitted_on.notna()
    assert (nxt.admitted_on[has] >= h.discharged_on[has]).all()
    same_day = has & (nxt.admitted_on == h.discharged_on)
    assert (h.discharge_destination[same_day] == "transfer").all()
    tr = h.discharge_destination == "transfer"
    assert tr.any() and (same_day[tr]).all() and (nxt.provider_id[tr] != h.provider_id[tr]).all()
    assert not (has & (h.discharge_destination == "died")).any()  # nothing after death
    assert (h.discharge_destination == "died").any()


def test_every_death_is_in_the_persons_file_and_a_death_in_hospital_ends_a_spell(sample):
    """died_on is the person's day of death (as ONS death registrations linked to an extract would give it): a spell
    ending in death ends on it, and many die outside hospital, where only died_on records it."""
    d, _ = sample
    persons = load(d, "persons").set_index("person_id")
    h = load(d, "hospital_spells")
    died = h[h.discharge_destination == "died"]
    assert (died.discharged_on.to_numpy() == persons.loc[died.person_id, "died_on"].to_numpy()).all()
    dead = persons[persons.died_on.notna()]
    assert (dead.died_on >= dead.birth_date).all() and (dead.died_on <= END).all()
    assert len(dead) > 2 * died.person_id.nunique() > 0  # most deaths are outside hospital


def _index_stays(h: pd.DataFrame) -> pd.DataFrame:
    """Index discharges per truth.json's definition; adds the stay number to ``h``."""
    h.sort_values(["person_id", "admitted_on", "discharged_on"], inplace=True)
    prev = h.groupby("person_id").shift(1)
    h["stay"] = (~((prev.discharge_destination == "transfer") & (prev.discharged_on == h.admitted_on))).cumsum()
    s = h.groupby("stay").agg(person_id=("person_id", "first"), admitted_on=("admitted_on", "first"),
                              method=("admission_method", "first"), discharged_on=("discharged_on", "last"),
                              dest=("discharge_destination", "last"), spells=("spell_id", "size"),
                              cancer=("cancer", "any"),
                              excluded_spec=("specialty", lambda v: v.isin(["obstetrics"]).any()))
    day_case = (s.method == "elective") & (s.admitted_on == s.discharged_on) & (s.spells == 1)
    keep = s.dest.isin(["home", "other"]) & (s.method != "maternity") & ~day_case & ~s.excluded_spec
    return s[keep].reset_index()


def _first_in_window(left: pd.DataFrame, right: pd.DataFrame, day: str, lo: int, hi: int, on="person_id") -> np.ndarray:
    """For each row of left: the first right.day in [left.d + lo, left.d + hi], in days after left.d (NaN: none)."""
    left = left.reset_index(drop=True).assign(_row=lambda f: np.arange(len(f)))
    other = [c for c in ("stay",) if c in left and c in right]
    mm = left[[on, "_row", "d", *other]].merge(right[[on, day, *other]], on=on, suffixes=("", "_r"))
    mm["off"] = (mm[day] - mm.d).dt.days
    hit = mm[(mm.off >= lo) & (mm.off <= hi)]
    if other:
        hit = hit[hit.stay != hit.stay_r]
    return hit.groupby("_row").off.min().reindex(left._row).to_numpy(dtype=float)


def _any_in_window(left: pd.DataFrame, right: pd.DataFrame, day: str, lo: int, hi: int, on="person_id") -> pd.Series:
    """For each row of left: does right have a row of the same person (another stay, if both have
    stays) with right.day in [left.d + lo, left.d + hi]?"""
    left = left.reset_index(drop=True).assign(_row=lambda f: np.arange(len(f)))
    other = [c for c in ("stay",) if c in left and c in right]
    mm = left[[on, "_row", "d", *other]].merge(right[[on, day, *other]], on=on, suffixes=("", "_r"))
    hit = mm[(mm[day] >= mm.d + pd.Timedelta(days=lo)) & (mm[day] <= mm.d + pd.Timedelta(days=hi))]
    if other:
        hit = hit[hit.stay != hit.stay_r]
    return left._row.isin(hit._row)


def test_the_offences_file_holds_each_persons_prior_convictions_before_the_window(sample):
    """The persons file's prior_convictions is the count of offences proven before the window, dated from age 10;
    the one more is a prisoner released in the window whose index offence was proven before it."""
    d, _ = sample
    p, o = load(d, "persons"), load(d, "offences")
    before = o[o.proven_on < START]
    assert not before.is_breach.any() and (before.offence_date <= before.proven_on).all()
    more = before.groupby("person_id").size().reindex(p.person_id, fill_value=0).to_numpy() - p.prior_convictions.to_numpy()
    assert set(more) == {0, 1} and (more == 0).mean() > 0.99 and p.prior_convictions.sum() > 100
    released = load(d, "justice_events").query("event_type == 'custody_release'").person_id
    assert p.person_id[more == 1].isin(released).all()
    born = before.merge(p[["person_id", "birth_date"]], on="person_id")
    assert ((born.offence_date - born.birth_date).dt.days >= 10 * 365.25 - 60).all()


def test_readmission_truth_is_recoverable_from_the_files(sample):
    d, truth = sample
    h = load(d, "hospital_spells")
    stays = _index_stays(h)
    emerg = h[(h.admission_method == "emergency") & (h.specialty != "obstetrics") & ~h.cancer]
    stays["d"] = stays.discharged_on
    stays["readmitted"] = _any_in_window(stays, emerg, "admitted_on", 0, 29)
    # the first emergency admission after an index discharge is never on day 0 or day 30, so 0-29
    # and 0-30 windows agree (a later stay's readmission may fall on day 30 of an earlier one)
    assert not np.isin(_first_in_window(stays, emerg, "admitted_on", 0, 30), (0, 30)).any()
    em = h[h.admission_method == "emergency"]
    st = stays.assign(d=stays.admitted_on)
    mm = st.reset_index().merge(em[["person_id", "admitted_on"]].rename(columns={"admitted_on": "e"}), on="person_id")
    mm = mm[(mm.e >= mm.d - pd.Timedelta(days=365)) & (mm.e < mm.d)]
    stays["prior"] = mm.groupby("index").size().reindex(stays.index, fill_value=0).values
    m = load(d, "timebank_members").dropna(subset=["person_id"])
    x = load(d, "timebank_exchanges")
    x = x[x.kind != "system_credit"]
    acts = pd.concat([x[["giver_id", "exchanged_on"]].set_axis(["member_id", "day"], axis=1),
                      x[["receiver_id", "exchanged_on"]].set_axis(["member_id", "day"], axis=1)]).merge(m[["member_id", "person_id"]])
    e = load(d, "programme_enrolments")
    pv = e[e.programme_id == "peer_visiting_after_discharge"]
    # start day: 0 for time-bank activity before discharge, else the peer-visiting start; a
    # readmission before the start means the person never started (never a participant)
    start = np.where(_any_in_window(stays, acts, "day", -90, 0).values, 0.0, _first_in_window(stays, pv, "started_on", 0, 14))
    readmit_day = _first_in_window(stays, emerg, "admitted_on", 0, 29)
    stays["participant"] = ~np.isnan(start) & ~(readmit_day < start)
    stays["start_on"] = stays.d + pd.to_timedelta(np.where(stays.participant, start, np.nan), unit="D")

    t = load(d / "truth", "readmission_discharges")
    both = stays.merge(t, on=["person_id", "discharged_on"], how="outer", indicator=True, suffixes=("", "_t"))
    assert (both._merge == "both").all()  # the same index discharges
    assert (both.readmitted == both.readmitted_t).all()
    assert (both.participant == both.participant_t).all()
    assert (both.start_on.isna() | (both.start_on == both.start_on_t)).all() and (both.start_on.isna() == both.start_on_t.isna()).all()
    assert (both.prior == both.prior_emergency_12m).all()
    full = both[both.follow_up_complete]
    rate = full.readmitted.mean()
    assert 0.05 <= rate <= 0.17
    assert rate == pytest.approx(truth["realised"]["readmission"]["rate"])
    assert full.participant.sum() == truth["realised"]["readmission"]["n_participant"] > 0


def test_reoffending_truth_is_recoverable_from_the_files(sample):
    d, truth = sample
    ev = load(d, "justice_events").rename(columns={"event_date": "d"})
    assert not ev.duplicated(["person_id", "d"]).any()
    o = load(d, "offences")
    o = o[~o.is_breach]
    ev = ev.reset_index(drop=True)
    mm = ev.reset_index().merge(o, on="person_id")
    hit = mm[(mm.offence_date >= mm.d + pd.Timedelta(days=1)) & (mm.offence_date <= mm.d + pd.Timedelta(days=365))
             & (mm.proven_on <= mm.d + pd.Timedelta(days=365 + 182))]
    ev["reoffended"] = ev.index.isin(hit["index"])
    m = load(d, "timebank_members").dropna(subset=["person_id"]).rename(columns={"joined_on": "s", "left_on": "f"})
    e = load(d, "programme_enrolments")
    e = e[e.programme_id.isin(JUSTICE_PROGRAMMES)].rename(columns={"started_on": "s", "ended_on": "f"})
    spans = pd.concat([m[["person_id", "s", "f"]], e[["person_id", "s", "f"]]])
    mm = ev.reset_index().merge(spans, on="person_id")
    on = mm[(mm.s <= mm.d + pd.Timedelta(days=90)) & (mm.f.isna() | (mm.f >= mm.d))]
    start = ((on.groupby("index").s.min() - ev.d.reindex(on.groupby("index").s.min().index)).dt.days.clip(lower=0)
             .reindex(ev.index).to_numpy(dtype=float))
    first = ((hit.groupby("index").offence_date.min() - ev.d.reindex(hit.groupby("index").offence_date.min().index))
             .dt.days.reindex(ev.index).to_numpy(dtype=float))
    ev["participant"] = ~np.isnan(start) & ~(first < start)  # a reoffence before the start: never started

    t = load(d / "truth", "reoffending_events").rename(columns={"event_date": "d"})
    both = ev.merge(t, on=["person_id", "d"], how="outer", indicator=True, suffixes=("", "_t"))
    assert (both._merge == "both").all()
    assert (both.reoffended == both.reoffended_t).all()
    assert (both.participant == both.participant_t).all()
    first = both[(both.event_order == 1) & both.follow_up_complete]
    assert (both.groupby("person_id").d.min().sort_index() == both[both.event_order == 1].set_index("person_id").d.sort_index()).all()
    assert len(first) >= 100
    assert 0.20 <= first.reoffended.mean() <= 0.40
    assert first.reoffended.mean() == pytest.approx(truth["realised"]["reoffending"]["rate"])


def test_truth_json_records_effects_definitions_and_realised_figures(sample):
    d, truth = sample
    on_disk = json.loads((d / "truth.json").read_text())
    assert on_disk == truth
    assert on_disk["seed"] == 7 and on_disk["persons"] == 2000
    assert on_disk["effects"] == {"or_readmit": 0.7, "or_reoffend": 0.75, "star_per_10h_given": 0.3,
                                  "star_per_10h_received": 0.1, "contacts_rr": 0.85}
    for key in ("readmission_participant", "reoffending_participant", "index_discharge", "readmission",
                "proven_reoffence", "prior_emergency_12m", "star_effect", "contacts_effect"):
        assert on_disk["definitions"][key]
    assert "imd_decile" in on_disk["selection_covariates"]["timebank_membership"]
    r = on_disk["realised"]
    for outcome in ("readmission", "reoffending"):
        for key in ("rate", "n_participant", "att_expected_risk_difference", "att_sample_risk_difference", "naive_risk_difference"):
            assert r[outcome][key] is not None, (outcome, key)
        assert r[outcome]["att_expected_risk_difference"] < 0
    assert r["rows"]["persons"] == 2000 and set(r["rows"]) == set(CONTRACT)
    assert r["contacts"]["expected_rate_ratio"] == {"gp": 0.85, "ae": 0.85}
    assert r["star"]["recovery_star"]["expected_points_per_10h_given"] == pytest.approx(0.3)
    assert r["star"]["wellbeing_star"]["expected_points_per_10h_given"] == pytest.approx(0.3 * 4 / 9)


def test_star_target_trial_effects_per_person_add_up_to_truth_json(sample):
    d, truth = sample
    per = pd.read_csv(d / "truth" / "star_trial_effects.csv")
    assert list(per.columns) == ["person_id", "star_version", "effect", "effect_1_10"]
    people = set(raw(d, "persons")["person_id"])
    assert set(per["person_id"]) <= people and not per.duplicated(["person_id", "star_version"]).any()
    trial = truth["realised"]["star"]["target_trial"]
    for version, g in per.groupby("star_version"):
        assert len(g) == trial[version]["n_participants"]
        assert g["effect"].mean() == pytest.approx(trial[version]["mean_area_effect"])
        assert g["effect_1_10"].mean() == pytest.approx(trial[version]["mean_area_effect_1_10"])
    assert set(per["star_version"]) == {v for v, t in trial.items() if v != "definition" and t["n_participants"]}


@pytest.fixture(scope="module")
def larger(tmp_path_factory):
    out = tmp_path_factory.mktemp("larger")
    return out, generate(Config(persons=40_000, seed=21, out=out))


def test_confounding_biases_the_naive_comparison_and_matching_removes_it(larger):
    """Participants differ on the drivers of risk; a propensity match on observed covariates recovers the ATT."""
    d, truth = larger
    r = truth["realised"]["readmission"]
    assert r["mean_prior_emergency_12m"]["participant"] > 1.3 * r["mean_prior_emergency_12m"]["nonparticipant"]
    rc = truth["realised"]["reoffending"]["mean_prior_convictions"]
    assert rc["participant"] < rc["nonparticipant"]
    t = load(d / "truth", "readmission_discharges")
    t = t[t.follow_up_complete].merge(load(d, "persons")[["person_id", "sex", "imd_decile"]], on="person_id")
    X = np.column_stack([np.ones(len(t)), t.age, t.sex == "male", t.imd_decile, np.minimum(t.prior_emergency_12m, 6)]).astype(float)
    import statsmodels.api as sm

    # time-bank participants start on the discharge day, so their follow-up and the comparison's
    # both start on day 0; later (peer-visiting) starters are compared from their own start
    # day in the pipeline's risk-set design and are left in the comparison pool here
    tb = (t.participant & t.via_timebank).to_numpy()
    ps = sm.Logit(tb.astype(float), X).fit(disp=0).predict(X)
    lg = np.log(ps / (1 - ps))
    treated, control = np.flatnonzero(tb), np.flatnonzero(~t.participant)
    order = control[np.argsort(lg[control])]
    pos = np.clip(np.searchsorted(lg[order], lg[treated]), 1, len(order) - 1)
    nearest = np.where(np.abs(lg[order[pos - 1]] - lg[treated]) < np.abs(lg[order[pos]] - lg[treated]), order[pos - 1], order[pos])
    y = t.readmitted.to_numpy(float)
    matched = y[treated].mean() - y[nearest].mean()
    target = float((t.p1 - t.p0)[tb].mean())
    assert abs(matched - target) < 0.02
    naive = y[treated].mean() - y[control].mean()
    assert abs(naive - target) > 2 * abs(matched - target)
    fit = sm.Logit(y, np.column_stack([X, tb.astype(float)])).fit(disp=0)
    lo, hi = np.exp(fit.conf_int()[-1])
    assert lo < 0.7 < hi  # the conditional OR is recovered by the correctly specified model


def test_parquet_matches_csv_and_cli_overrides_reach_truth(tmp_path):
    args = ["--persons", "300", "--seed", "5", "--or-readmit", "0.5", "--contacts-rr", "0.9", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "p"), "--format", "parquet"]) == 0
    assert main(args + ["--out", str(tmp_path / "c")]) == 0
    assert sorted(p.name for p in (tmp_path / "p").glob("*.parquet")) == sorted(f"{s}.parquet" for s in CONTRACT)
    assert not list((tmp_path / "p").glob("*.csv"))
    for source, columns in CONTRACT.items():
        table = pq.read_table(tmp_path / "p" / f"{source}.parquet")
        assert table.column_names == columns
        from_csv = pacsv.read_csv(tmp_path / "c" / f"{source}.csv",
                                  convert_options=pacsv.ConvertOptions(column_types=table.schema, strings_can_be_null=True))
        assert from_csv.equals(table), source
    truth = json.loads((tmp_path / "p" / "truth.json").read_text())
    assert truth["effects"]["or_readmit"] == 0.5 and truth["effects"]["contacts_rr"] == 0.9 and truth["format"] == "parquet"
    assert (tmp_path / "p" / "truth" / "readmission_discharges.parquet").exists()


def test_the_crisis_scenario_off_gives_the_same_bytes_and_on_adds_contacts_just_before_joining(tmp_path):
    """truth.Crisis: switched off (share 0, whatever its other fields) every file is the default generator's, byte
    for byte; switched on, only service_contacts and truth.json change, and the contacts it adds (on minus off, as
    a multiset: the other draws are unchanged) are each of a joiner, of gp, ae, mental_health or social_care, within
    the crisis days before their first joining, as many as truth.json says."""
    base = tmp_path / "base"
    generate(Config(persons=1500, seed=11, out=base))
    off = tmp_path / "off"
    generate(Config(persons=1500, seed=11, out=off, crisis=Crisis(share=0.0, days=30, rate_ratio=5.0)))
    on = tmp_path / "on"
    truth = generate(Config(persons=1500, seed=11, out=on, crisis=Crisis(share=0.5, days=60, rate_ratio=4.0)))
    files = sorted(p.relative_to(base) for p in base.rglob("*") if p.is_file())
    for f in files:
        assert (base / f).read_bytes() == (off / f).read_bytes(), f
        if str(f) not in ("service_contacts.csv", "truth.json"):
            assert (base / f).read_bytes() == (on / f).read_bytes(), f
    assert "crisis" not in json.loads((base / "truth.json").read_text())
    assert truth["crisis"] == {"share": 0.5, "days": 60, "rate_ratio": 4.0, "admissions_rr": 1.0}
    assert "crisis_before_joining" in truth["definitions"]

    key = ["person_id", "service", "contact_on"]
    a, b = raw(base, "service_contacts"), raw(on, "service_contacts")
    a["k"], b["k"] = a.groupby(key).cumcount(), b.groupby(key).cumcount()
    both = b.merge(a, on=[*key, "k"], how="left", indicator=True)
    assert len(both) == len(b) and len(a) == int((both["_merge"] == "both").sum())  # every ordinary contact kept
    extra = both[both["_merge"] == "left_only"].copy()
    stats = truth["realised"]["contacts"]["crisis"]
    assert stats["persons"] > 20
    assert extra["service"].value_counts().to_dict() == {k: v for k, v in stats["extra_contacts"].items() if v}
    members = load(on, "timebank_members")
    first = members.dropna(subset=["person_id"]).groupby("person_id")["joined_on"].min()
    day = pd.to_datetime(extra["contact_on"])
    join = extra["person_id"].map(first)
    assert join.notna().all()
    assert ((day < join) & (day >= join - pd.Timedelta(days=60))).all()
    assert extra["person_id"].nunique() <= stats["persons"] < 0.6 * first.size


def test_crisis_admissions_off_change_nothing_and_on_add_emergency_admissions_in_the_crisis_days(tmp_path):
    """truth.Crisis.admissions_rr: at 1 (the default) the hospital files are the generator's without it, byte for
    byte, whatever the contacts' crisis; above 1 the joiners in crisis have extra emergency admissions, each in the
    spells file (an emergency spell of that person admitted that day) within [J - days, J - 1] of their first
    joining, counted in truth.json; every source the hospital does not feed is unchanged."""
    base, on = tmp_path / "base", tmp_path / "on"
    generate(Config(persons=1500, seed=11, out=base, crisis=Crisis(share=0.5, days=60, rate_ratio=4.0)))
    truth = generate(Config(persons=1500, seed=11, out=on,
                            crisis=Crisis(share=0.5, days=60, rate_ratio=4.0, admissions_rr=40.0)))
    hospital_fed = {"hospital_spells.csv", "programme_enrolments.csv", "truth.json", "truth/readmission_discharges.csv"}
    for f in sorted(p.relative_to(base) for p in base.rglob("*") if p.is_file()):
        if str(f) not in hospital_fed:
            assert (base / f).read_bytes() == (on / f).read_bytes(), f
    assert (base / "hospital_spells.csv").read_bytes() != (on / "hospital_spells.csv").read_bytes()
    stats = truth["realised"]["readmission"]["crisis_admissions"]
    assert stats["extra_emergency_admissions"] > 20 and stats["persons"] <= stats["extra_emergency_admissions"]

    spells = load(on, "hospital_spells")
    emergency = spells[spells["admission_method"] == "emergency"]
    members = load(on, "timebank_members")
    first = members.dropna(subset=["person_id"]).groupby("person_id")["joined_on"].min()
    e = emergency.assign(join=emergency["person_id"].map(first), day=pd.to_datetime(emergency["admitted_on"]))
    in_crisis_days = e[(e["day"] < e["join"]) & (e["day"] >= e["join"] - pd.Timedelta(days=60))]
    b = load(base, "hospital_spells")
    b = b[b["admission_method"] == "emergency"]
    b = b.assign(join=b["person_id"].map(first), day=pd.to_datetime(b["admitted_on"]))
    before = b[(b["day"] < b["join"]) & (b["day"] >= b["join"] - pd.Timedelta(days=60))]
    # the crisis days hold the extra admissions on top of (about) the usual ones
    assert len(in_crisis_days) >= stats["extra_emergency_admissions"] > 3 * len(before)


def test_crisis_admission_hazard_is_inverted_by_hand():
    """hospital.CrisisAdmissions.gap: usual hazard outside the crisis days, (1 + 0.58 x (rr - 1)) x inside. With
    rr = 3 (extra 1.16) and crisis days [10, 19] from t0 = 0: a usual waiting time of 5 ends on day 5 (before the
    crisis); of 12: 10 usual days, then 2 / 2.16 = 0.93 days in crisis, day 10; of 30: still in crisis (it holds
    2.16 x 10 = 21.6 units, up to 31.6), 10 + 20 / 2.16 = 19.26, day 19; of 40: past it, 40 - 1.16 x 10 = 28.4,
    day 28. Persons without crisis
    days (hi < lo) and a crisis already over (t0 = 25) keep the usual waiting time."""
    from data.synthetic.hospital import CrisisAdmissions

    c = CrisisAdmissions(lo=np.array([10, 10, 10, 10, 1, 10]), hi=np.array([19, 19, 19, 19, 0, 19]), admissions_rr=3.0,
                         rng=np.random.default_rng(0))
    rows = np.arange(6)
    got = c.gap(rows, np.array([0, 0, 0, 0, 0, 25]), np.array([5.0, 12.0, 30.0, 40.0, 12.5, 3.7]))
    assert got.tolist() == [5, 10, 19, 28, 12, 3]
    # an arrival on a crisis day is extra with probability 1.16 / 2.16; a pending readmission never is
    marks = c.marks(np.zeros(20_000, dtype=int), np.full(20_000, 15), np.zeros(20_000, dtype=bool))
    assert abs(marks.mean() - 1.16 / 2.16) < 0.01
    assert not c.marks(np.zeros(5, dtype=int), np.full(5, 15), np.ones(5, dtype=bool)).any()
    assert not c.marks(np.zeros(5, dtype=int), np.full(5, 25), np.zeros(5, dtype=bool)).any()


def test_the_later_events_scenario_off_gives_the_same_bytes_and_on_recruits_at_later_events(tmp_path):
    """truth.LaterEvents: switched off (every field 0) every file is the default generator's, byte for byte, and
    truth.json does not mention it; switched on, most justice participants are recruited at a later index event than
    their first (truth.json's first_participating_event counts them) and risk rises with the event's order."""
    from data.synthetic import LaterEvents
    from data.synthetic.truth import LATER_EVENTS_ON

    base, off, on = tmp_path / "base", tmp_path / "off", tmp_path / "on"
    generate(Config(persons=3000, seed=11, out=base))
    generate(Config(persons=3000, seed=11, out=off, later_events=LaterEvents()))
    truth = generate(Config(persons=3000, seed=11, out=on, later_events=LATER_EVENTS_ON))
    for f in sorted(p.relative_to(base) for p in base.rglob("*") if p.is_file()):
        assert (base / f).read_bytes() == (off / f).read_bytes(), f
    plain = json.loads((base / "truth.json").read_text())
    assert "later_events" not in plain and "first_participating_event" not in plain["realised"]["reoffending"]
    assert truth["later_events"] == {"uptake_first": -1.5, "uptake_later": 1.0, "risk_per_event": 0.3}
    first = truth["realised"]["reoffending"]["first_participating_event"]
    assert first["n_at_a_later_event"] > first["n_participant"] / 2
    assert first["n_participant"] - first["n_at_a_later_event"] <= truth["realised"]["reoffending"]["n_participant"]
    ev = pd.read_csv(on / "truth" / "reoffending_events.csv")
    plain_ev = pd.read_csv(base / "truth" / "reoffending_events.csv")
    def rise(e):  # mean risk without participation at later events less that at first events (non-participants)
        e = e[~e["participant"].astype(bool)]
        return e.loc[e["event_order"] > 1, "p0"].mean() - e.loc[e["event_order"] == 1, "p0"].mean()

    assert rise(ev) > rise(plain_ev) + 0.03


def test_the_case_mix_scenario_off_gives_the_same_bytes_and_on_selects_participants_on_the_stay(tmp_path):
    """truth.CaseMix: switched off (strength 0) every file is the default generator's, byte for byte, and truth.json
    does not mention it. Switched on with no effect (OR 1), only the hospital files, the enrolments and the truth
    change; peer-visiting participants' stays are shorter and more often elective than the other discharges' (off:
    about the same), time-bank members' stays shorter, and the participants' true effect is still none."""
    base, off, on = tmp_path / "base", tmp_path / "off", tmp_path / "on"
    generate(Config(persons=2000, seed=11, out=base, effects=Effects(or_readmit=1.0)))
    generate(Config(persons=2000, seed=11, out=off, effects=Effects(or_readmit=1.0), case_mix=CaseMix(0.0)))
    truth = generate(Config(persons=2000, seed=11, out=on, effects=Effects(or_readmit=1.0), case_mix=CaseMix(1.0)))
    changed = {"hospital_spells.csv", "programme_enrolments.csv", "truth.json", "truth/readmission_discharges.csv"}
    for f in sorted(p.relative_to(base) for p in base.rglob("*") if p.is_file()):
        assert (base / f).read_bytes() == (off / f).read_bytes(), f
        assert ((base / f).read_bytes() == (on / f).read_bytes()) == (str(f) not in changed), f
    assert "case_mix" not in json.loads((base / "truth.json").read_text())
    assert truth["case_mix"] == {"strength": 1.0} and "case_mix_selection" in truth["definitions"]
    assert truth["realised"]["readmission"]["att_expected_risk_difference"] == 0.0

    def by_route(folder: Path) -> dict:
        t = load(folder / "truth", "readmission_discharges")
        t["los"] = (t["discharged_on"] - t["admitted_on"]).dt.days
        spells = load(folder, "hospital_spells").drop_duplicates(["person_id", "discharged_on"], keep="last")
        t = t.merge(spells[["person_id", "discharged_on", "admission_method"]], on=["person_id", "discharged_on"])
        t["elective"] = t["admission_method"] == "elective"
        pv, tb = t.groupby("via_programme").mean(numeric_only=True), t.groupby("via_timebank").mean(numeric_only=True)
        return {"pv_los": pv.loc[True, "los"] / pv.loc[False, "los"],
                "pv_elective": pv.loc[True, "elective"] / pv.loc[False, "elective"],
                "tb_los": tb.loc[True, "los"] / tb.loc[False, "los"]}

    before, after = by_route(base), by_route(on)
    assert before["pv_los"] > 0.9 and after["pv_los"] < 0.8
    assert before["pv_elective"] < 1.2 and after["pv_elective"] > 1.5
    assert after["tb_los"] < before["tb_los"] - 0.2


def test_diagnoses_off_change_nothing_and_on_add_a_plausible_icd10_column(tmp_path):
    """``diagnoses``: the spells gain primary_diagnosis from a stream of its own; every other column of every file is
    the generator's without it, byte for byte (truth.json gains only its "diagnoses" entry). Each code is an ICD-10
    code the contract accepts, with a chapter, and fits the specialty (obstetrics chapter XV, mostly circulatory
    codes in cardiology, mental and behavioural in mental health; general medicine mixes chapters)."""
    import re

    from models.readmission.diagnosis import chapter_of
    from schemas.raw import ICD10_CODE

    base, dx = tmp_path / "base", tmp_path / "dx"
    generate(Config(persons=2000, seed=11, out=base))
    truth = generate(Config(persons=2000, seed=11, out=dx, diagnoses=True))
    for f in sorted(p.relative_to(base) for p in base.rglob("*") if p.is_file()):
        if str(f) not in ("hospital_spells.csv", "truth.json"):
            assert (base / f).read_bytes() == (dx / f).read_bytes(), f
    with_dx = raw(dx, "hospital_spells")
    pd.testing.assert_frame_equal(with_dx.drop(columns="primary_diagnosis"), raw(base, "hospital_spells"))
    assert {k: v for k, v in truth.items() if k != "diagnoses"} == json.loads((base / "truth.json").read_text())
    assert truth["diagnoses"] == {"column": "hospital_spells.primary_diagnosis"}
    assert with_dx["primary_diagnosis"].map(lambda c: re.fullmatch(ICD10_CODE, c) is not None).all()
    with_dx["chapter"] = with_dx["primary_diagnosis"].map(chapter_of)
    assert with_dx["chapter"].notna().all()
    share = pd.crosstab(with_dx["specialty"], with_dx["chapter"], normalize="index")
    assert share.loc["obstetrics", "XV"] == 1.0
    assert share.loc["cardiology", "IX"] > 0.7 and share.loc["mental_health", "V"] > 0.85
    assert (share.loc["general_medicine"] > 0.05).sum() >= 6  # no one chapter stands for general medicine
    cancer = with_dx[with_dx["cancer"] == "true"]
    assert 0.4 < (cancer["chapter"] == "II").mean() < 0.8 and (with_dx.loc[with_dx["cancer"] == "false", "chapter"] != "II").all()


def test_under_case_mix_the_diagnosis_chapter_confounds(tmp_path):
    """Case mix and diagnoses on, no effect (OR 1): within general medicine, respiratory admissions (chapter X) carry a
    higher readmission risk (p0) and are offered peer visiting less than symptom-only admissions (chapter XVIII), so
    the chapter predicts both participation and the outcome; the true effect is still none."""
    from models.readmission.diagnosis import chapter_of

    out = tmp_path / "cm"
    truth = generate(Config(persons=4000, seed=11, out=out, effects=Effects(or_readmit=1.0), case_mix=CaseMix(1.0),
                            diagnoses=True))
    assert set(truth["diagnoses"]["case_mix_terms"]) == {"readmission", "enrolment", "timebank_leaves_with_probability_s_over_2"}
    assert truth["realised"]["readmission"]["att_expected_risk_difference"] == 0.0
    t = load(out / "truth", "readmission_discharges")
    spells = load(out, "hospital_spells").sort_values(["person_id", "admitted_on", "spell_id"])
    first = spells.drop_duplicates(["person_id", "admitted_on"], keep="first")  # a stay's first spell
    t = t.merge(first[["person_id", "admitted_on", "specialty", "primary_diagnosis"]], on=["person_id", "admitted_on"])
    t["chapter"] = t["primary_diagnosis"].map(chapter_of)
    gm = t[t["specialty"] == "general_medicine"].groupby("chapter")
    assert gm["p0"].mean()["X"] > gm["p0"].mean()["XVIII"] + 0.03
    assert gm["via_programme"].mean()["XVIII"] > 1.5 * gm["via_programme"].mean()["X"]
