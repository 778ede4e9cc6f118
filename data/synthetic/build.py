"""Runs the simulators in dependency order and writes every source plus the truth files.

Order matters because later processes read earlier ones: people -> community-bank
memberships -> justice (adds prison-bank members and justice programmes) -> all accounts ->
exchanges -> hospital (participation is read from the exchange log) -> Star readings
(hours given/received from the log) -> service contacts (after first joining) -> grants
and co-production assessments -> truth.json.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import writers as w
from .common import NEVER, Calendar, stream, to_day
from .coproduction import DOMAINS, ITEMS_PER_DOMAIN, simulate_assessments
from .diagnoses import ALL_CODES
from .exchanges import CATEGORIES, KINDS, simulate_exchanges, timelines
from .grants import FUNDERS, simulate_grants
from .hospital import DESTINATIONS, METHODS, PROVIDERS, SPECIALTIES, CrisisAdmissions, simulate_hospital
from .justice import EVENT_TYPES, OFFENCE_GROUPS, PROGRAMMES, first_participating_event, offence_history, simulate_justice
from .people import AREAS, EMPLOYMENT, MARITAL, SEXES, simulate_people
from .services import SERVICES, crisis_windows, simulate_contacts
from .timebanks import ROLES, SERVICE_USER, TIMEBANKS, assemble_members, community_memberships
from .truth import Config, potential_outcome_summary, write_truth
from .wellbeing import registry, scale_factor, simulate_readings

TB_IDS = [t[0] for t in TIMEBANKS]


def generate(cfg: Config, log=None) -> dict:
    """Write every source for ``cfg`` into ``cfg.out``; return the truth dictionary."""
    t0 = time.perf_counter()
    say = log or (lambda *_: None)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    start, end = to_day(cfg.start), to_day(cfg.end)
    if end - start < 365:
        raise ValueError("the window (--start to --end) must span at least a year")
    cal = Calendar(start, end)
    fx, fmt, seed = cfg.effects, cfg.fmt, cfg.seed
    pw = max(7, len(str(cfg.persons)))
    pid = lambda idx: w.ids("P", idx, pw)
    rows: dict[str, int] = {}

    people = simulate_people(cfg.persons, start, end, stream(seed, "people"))
    rows["persons"] = w.write(out, "persons", fmt, {
        "person_id": pid(np.arange(people.n)), "birth_date": w.dates(people.birth), "sex": w.labels(SEXES, people.sex),
        "area_code": w.labels(AREAS, people.area), "imd_decile": people.imd, "died_on": w.dates(people.death),
        "prior_convictions": people.prior_convictions,
        "employment": w.labels(EMPLOYMENT, people.employment), "marital_status": w.labels(MARITAL, people.marital),
        "long_term_condition": people.ltc})
    say("persons", time.perf_counter() - t0)

    ms = community_memberships(people, start, end, stream(seed, "memberships"))
    justice = simulate_justice(people, ms, start, end, fx, stream(seed, "justice"), cfg.later_events)
    members = assemble_members(ms, start, end, stream(seed, "accounts"))
    mw = max(7, len(str(members.n)))
    rows["timebank_members"] = w.write(out, "timebank_members", fmt, {
        "member_id": w.ids("M", np.arange(members.n), mw), "timebank_id": w.labels(TB_IDS, members.tb),
        "person_id": pid(members.person), "role": w.labels(ROLES, members.role),
        "joined_on": w.dates(members.joined), "left_on": w.dates(members.left)})
    say("members", time.perf_counter() - t0)

    ex = simulate_exchanges(members, cal, stream(seed, "exchanges"))
    rows["timebank_exchanges"] = w.write(out, "timebank_exchanges", fmt, {
        "exchange_id": w.ids("E", np.arange(ex.n), max(8, len(str(ex.n)))), "timebank_id": w.labels(TB_IDS, ex.tb),
        "giver_id": w.ids("M", ex.giver, mw), "receiver_id": w.ids("M", ex.receiver, mw), "hours": ex.hours,
        "exchanged_on": w.dates(ex.day), "category": w.labels(CATEGORIES, ex.category), "kind": w.labels(KINDS, ex.kind)})
    tl = timelines(ex, members, start - 1000)
    say("exchanges", time.perf_counter() - t0)

    mp, mj = ms.get("person"), ms.get("joined")
    first_join = np.full(people.n, NEVER)
    np.minimum.at(first_join, mp, mj)
    crisis_adm = None
    if cfg.crisis.admissions:  # the same persons and days as the contacts' crisis (services.crisis_windows)
        lo, hi = crisis_windows(first_join, np.minimum(people.death - 1, end), cal, cfg.crisis, seed)
        crisis_adm = CrisisAdmissions(lo, hi, cfg.crisis.admissions_rr, stream(seed, "crisis:hospital"))
    hosp = simulate_hospital(people, tl["activity"], start, end, fx, stream(seed, "hospital"), crisis_adm,
                             cfg.case_mix, stream(seed, "casemix") if cfg.case_mix.on else None,
                             stream(seed, "diagnosis") if cfg.diagnoses else None)
    sp = hosp.spells
    o = np.lexsort((sp["method"] == 3, sp["discharged"], sp["admitted"], sp["person"]))
    sp = {k: v[o] for k, v in sp.items()}
    rows["hospital_spells"] = w.write(out, "hospital_spells", fmt, {
        "spell_id": w.ids("S", np.arange(o.size), max(8, len(str(o.size)))), "person_id": pid(sp["person"]),
        "provider_id": w.labels(PROVIDERS, sp["provider"]), "admitted_on": w.dates(sp["admitted"]),
        "discharged_on": w.dates(sp["discharged"]), "admission_method": w.labels(METHODS, sp["method"]),
        "discharge_destination": w.labels(DESTINATIONS, sp["destination"]),
        "specialty": w.labels(SPECIALTIES, sp["specialty"]), "cancer": sp["cancer"].astype(bool),
        **({"primary_diagnosis": w.labels(ALL_CODES, sp["diagnosis"])} if cfg.diagnoses else {})},
        schema=[*w.SCHEMAS["hospital_spells"], *((("primary_diagnosis", w.STR),) if cfg.diagnoses else ())])
    say("hospital", time.perf_counter() - t0)

    enr = {k: np.concatenate([justice.enrolments[k], hosp.enrolments[k]]) for k in justice.enrolments}
    o = np.lexsort((enr["programme"], enr["start"], enr["person"]))
    rows["programme_enrolments"] = w.write(out, "programme_enrolments", fmt, {
        "person_id": pid(enr["person"][o]), "programme_id": w.labels(PROGRAMMES, enr["programme"][o]),
        "started_on": w.dates(enr["start"][o]), "ended_on": w.dates(enr["end"][o])})
    ev = justice.events
    o = np.lexsort((ev["day"], ev["person"]))
    rows["justice_events"] = w.write(out, "justice_events", fmt, {
        "person_id": pid(ev["person"][o]), "event_type": w.labels(EVENT_TYPES, ev["type"][o]),
        "event_date": w.dates(ev["day"][o])})
    history = offence_history(people, start, stream(seed, "offence_history"))
    of = {k: np.concatenate([history[k], justice.offences[k]]) for k in justice.offences}
    o = np.lexsort((of["proven"], of["offence"], of["person"]))
    rows["offences"] = w.write(out, "offences", fmt, {
        "offence_id": w.ids("O", np.arange(o.size), max(8, len(str(o.size)))), "person_id": pid(of["person"][o]),
        "offence_date": w.dates(of["offence"][o]), "proven_on": w.dates(of["proven"][o]),
        "offence_group": w.labels(OFFENCE_GROUPS, of["group"][o]), "is_breach": of["breach"][o].astype(bool)})
    say("justice", time.perf_counter() - t0)

    rd = simulate_readings(people, ms, tl["given"], tl["received"], start, end, fx, stream(seed, "wellbeing"))
    area_names = [registry()[v]["areas"] for v in rd.versions]
    offsets = np.cumsum([0] + [len(a) for a in area_names])
    rows["star_readings"] = w.write(out, "star_readings", fmt, {
        "person_id": pid(rd.person), "star_version": w.labels(rd.versions, rd.version), "assessed_on": w.dates(rd.day),
        "area": w.labels([a for names in area_names for a in names], offsets[rd.version] + rd.area), "score": rd.score})
    by_version = [(i, *rd.trial_effects[v]) for i, v in enumerate(rd.versions) if v in rd.trial_effects]
    t_person = np.concatenate([p_ for _, p_, _ in by_version] or [np.zeros(0)]).astype(np.int64)
    t_version = np.concatenate([np.full(p_.size, i) for i, p_, _ in by_version] or [np.zeros(0)]).astype(np.int64)
    t_effect = np.concatenate([e for _, _, e in by_version] or [np.zeros(0)])
    w.write(out / "truth", "star_trial_effects", fmt, {
        "person_id": pid(t_person), "star_version": w.labels(rd.versions, t_version), "effect": t_effect,
        "effect_1_10": t_effect / np.array([scale_factor(v) for v in rd.versions])[t_version]},
        schema=[("person_id", w.STR), ("star_version", w.STR), ("effect", w.FLOAT), ("effect_1_10", w.FLOAT)])
    say("stars", time.perf_counter() - t0)

    mp = ms.get("person")
    service_user = np.zeros(people.n, dtype=bool)
    service_user[mp[ms.get("role") == SERVICE_USER]] = True
    contact_stats: dict = {}
    sink = w.Sink(out, "service_contacts", fmt)
    for chunk in simulate_contacts(people, first_join, service_user, cal, fx, seed, contact_stats, cfg.crisis):
        sink.write({"person_id": pid(chunk["person"]), "service": w.labels(SERVICES, chunk["service"]),
                    "contact_on": w.dates(chunk["day"])})
    rows["service_contacts"] = sink.close()
    say("contacts", time.perf_counter() - t0)

    g = simulate_grants(start, end, stream(seed, "grants"))
    rows["grants"] = w.write(out, "grants", fmt, {
        "grant_id": w.ids("G", np.arange(g["tb"].size), 3), "funder": w.labels(FUNDERS, g["funder"]),
        "timebank_id": w.labels(TB_IDS, g["tb"]), "amount": g["amount"].astype(float),
        "period_start": w.dates(g["start"]), "period_end": w.dates(g["end"])})
    ca = simulate_assessments(start, end, stream(seed, "coproduction"))
    rows["coproduction_assessments"] = w.write(out, "coproduction_assessments", fmt, {
        "timebank_id": w.labels(TB_IDS, ca["tb"]), "assessed_on": w.dates(ca["day"]),
        "domain": w.labels(DOMAINS, ca["domain"]),
        "item": w.labels([f"d{d + 1}_i{i + 1}" for d in range(len(DOMAINS)) for i in range(ITEMS_PER_DOMAIN)],
                         ca["domain"] * ITEMS_PER_DOMAIN + ca["item"]),
        "score": ca["score"]})

    realised = _realised(cfg, people, members, hosp.truth, justice.truth, rd.realised, contact_stats, rows, pid, out)
    if hosp.crisis is not None:
        realised["readmission"]["crisis_admissions"] = {
            "persons": int(np.unique(hosp.crisis["person"]).size), "extra_emergency_admissions": int(hosp.crisis["person"].size)}
    return write_truth(cfg, realised, out / "truth.json")


def _realised(cfg, people, members, ht, jt, star, contacts, rows, pid, out) -> dict:
    fmt = cfg.fmt
    complete = ht["complete"].astype(bool)
    readmit = potential_outcome_summary({**ht, "participant": ht["participant"].astype(bool)}, complete)
    readmit["n_index_discharges_all"] = int(complete.size)
    readmit["n_participant_persons"] = int(np.unique(ht["person"][ht["participant"].astype(bool) & complete]).size)
    readmit["n_via_timebank"] = int((ht["via_timebank"] & complete).sum())
    readmit["n_via_programme"] = int((ht["via_programme"] & complete).sum())
    readmit["mean_prior_emergency_12m"] = {
        "participant": float(ht["prior"][complete & ht["participant"]].mean()) if (complete & ht["participant"]).any() else None,
        "nonparticipant": float(ht["prior"][complete & ~ht["participant"]].mean()) if (complete & ~ht["participant"]).any() else None}
    first = (jt["order"] == 0) & jt["complete"].astype(bool)
    reoff = potential_outcome_summary(jt, first)
    reoff["cohort"] = "each person's first justice event with full follow-up"
    if cfg.later_events.on:
        reoff["first_participating_event"] = first_participating_event(jt)
    reoff["all_events_full_follow_up"] = potential_outcome_summary(jt, jt["complete"].astype(bool))
    pr = people.prior_convictions[jt["person"]]
    reoff["mean_prior_convictions"] = {
        "participant": float(pr[first & jt["participant"]].mean()) if (first & jt["participant"]).any() else None,
        "nonparticipant": float(pr[first & ~jt["participant"]].mean()) if (first & ~jt["participant"]).any() else None}

    w.write(out / "truth", "readmission_discharges", fmt, {
        "person_id": pid(ht["person"]), "admitted_on": w.dates(ht["admitted"]), "discharged_on": w.dates(ht["discharged"]),
        "age": np.round(ht["age"], 3), "prior_emergency_12m": ht["prior"], "via_timebank": ht["via_timebank"],
        "via_programme": ht["via_programme"], "participant": ht["participant"], "start_on": w.dates(ht["start"]),
        "p0": ht["p0"], "p1": ht["p1"],
        "y0": ht["y0"], "y1": ht["y1"], "readmitted": ht["outcome"], "follow_up_complete": complete},
        schema=[("person_id", w.STR), ("admitted_on", w.DATE), ("discharged_on", w.DATE), ("age", w.FLOAT),
                ("prior_emergency_12m", w.INT), ("via_timebank", w.BOOL), ("via_programme", w.BOOL),
                ("participant", w.BOOL), ("start_on", w.DATE), ("p0", w.FLOAT), ("p1", w.FLOAT), ("y0", w.BOOL),
                ("y1", w.BOOL), ("readmitted", w.BOOL), ("follow_up_complete", w.BOOL)])
    w.write(out / "truth", "reoffending_events", fmt, {
        "person_id": pid(jt["person"]), "event_date": w.dates(jt["day"]), "event_type": w.labels(EVENT_TYPES, jt["type"]),
        "event_order": jt["order"] + 1, "participant": jt["participant"], "start_on": w.dates(jt["start"]),
        "p0": jt["p0"], "p1": jt["p1"],
        "y0": jt["y0"], "y1": jt["y1"], "reoffended": jt["outcome"], "follow_up_complete": jt["complete"]},
        schema=[("person_id", w.STR), ("event_date", w.DATE), ("event_type", w.STR), ("event_order", w.INT),
                ("participant", w.BOOL), ("start_on", w.DATE), ("p0", w.FLOAT), ("p1", w.FLOAT), ("y0", w.BOOL),
                ("y1", w.BOOL), ("reoffended", w.BOOL), ("follow_up_complete", w.BOOL)])

    linked = members.person >= 0
    return {
        "rows": rows,
        "members": {
            "accounts": int(members.n),
            "person_linked": int(linked.sum()),
            "persons_with_membership": int(np.unique(members.person[linked]).size),
            "by_timebank": {TB_IDS[t]: int((members.tb == t).sum()) for t in range(len(TB_IDS))},
            "by_role": {r: int((members.role == i).sum()) for i, r in enumerate(ROLES)},
        },
        "readmission": readmit,
        "reoffending": reoff,
        "star": star,
        "contacts": contacts,
    }
