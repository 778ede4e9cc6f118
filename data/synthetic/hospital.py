"""Hospital provider spells, with 30-day emergency readmissions drawn from a known model.

Admissions arrive at a rate set by age, deprivation, long-term conditions and latent
frailty. Spells carry a method (emergency, elective incl. same-day day cases, maternity,
other), a specialty, a cancer flag, a length of stay and a destination; a few emergency
stays continue by transfer to another provider the same day, and people who die in
hospital have a final spell ending in death. Persons are simulated in lockstep, one stay
per person per step, so everything is vectorised while each stay can depend on history.

At every index discharge (see truth.DEFINITIONS: the pipeline's default NHS rules) the
outcome is drawn first: readmission within 30 days from READMIT_MODEL without and with the
programme (common random numbers), and the day it would happen. Participation is then read
off the data: time-bank activity in the 90 days before discharge (known at discharge, so
it acts from day 0), or peer visiting (offered at two partner trusts, more often to older,
deprived, frequently admitted patients) planned to start 1-14 days after discharge. A
readmission before the planned start prevents the start (the person is back in hospital):
this is the post-index enrolment mechanism that creates immortal-time bias when
participation is defined by events after discharge. The programme acts only from its start
day: the observed outcome follows the without-programme draw before it and the
with-programme draw from it. The outcome is written into the spells exactly: a readmission
is the next stay, days 1-29; otherwise the next stay starts on day 31 or later. Stays still
open on --end are cut off there (every date in the file is within the window).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import diagnoses as dx
from .common import NEVER, choose_rows, expit
from .exchanges import PersonTimeline
from .justice import PEER_VISITING
from .people import AREAS, People
from .truth import (ACTIVE_WINDOW_DAYS, CASEMIX_DIAGNOSIS_ENROL, CASEMIX_DIAGNOSIS_READMIT, CASEMIX_DIAGNOSIS_SICKER,
                    CASEMIX_ENROL, CASEMIX_READMIT, ENROL_AFTER_DISCHARGE_DAYS, READMIT_MODEL, READMIT_PRIOR_CAP,
                    CaseMix, Effects)

PROVIDERS = ("RXX01", "RXX02", "RXX03", "RXX04", "RXX05")
HOME_PROVIDER = np.array([0, 1, 2, 3, 4, 0])[: len(AREAS)]
PARTNER_PROVIDERS = (0, 1)  # trusts running peer visiting after discharge
METHODS = ("emergency", "elective", "maternity", "other")
EMERGENCY, ELECTIVE, MATERNITY, OTHER = range(4)
DESTINATIONS = ("home", "transfer", "died", "other")
HOME, TRANSFER, DIED, DEST_OTHER = range(4)
SPECIALTIES = ("general_medicine", "general_surgery", "geriatric_medicine", "cardiology", "respiratory",
               "orthopaedics", "obstetrics", "mental_health")
GEN_MED, GEN_SURG, GERIATRIC, CARDIO, RESP, ORTHO, OBSTETRICS, MENTAL = range(8)
# Specialty weights by (stay kind, aged 70+): rows emergency, elective, maternity, other, readmission.
_SPEC = np.array([
    [0.34, 0.14, 0.00, 0.12, 0.13, 0.09, 0.0, 0.07],
    [0.14, 0.35, 0.00, 0.10, 0.05, 0.28, 0.0, 0.02],
    [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 1.0, 0.00],
    [0.40, 0.15, 0.00, 0.00, 0.00, 0.10, 0.0, 0.15],
    [0.40, 0.15, 0.00, 0.14, 0.16, 0.08, 0.0, 0.00],
])
_SPEC_OLD = _SPEC.copy()
_SPEC_OLD[:, GERIATRIC] = [0.22, 0.03, 0.0, 0.20, 0.25]
_SPEC_OLD[:, MENTAL] *= 0.4
SPEC_TABLE = np.vstack([_SPEC, _SPEC_OLD])  # row = kind + 5 * old
READMIT_KIND = 4
PRIOR_DEPTH = 16


@dataclass
class Hospital:
    spells: dict  # person, provider, admitted, discharged, method, destination, specialty, cancer[, diagnosis]
    enrolments: dict  # peer visiting: person, programme, start, end
    truth: dict  # one row per index discharge
    crisis: dict | None = None  # CrisisAdmissions' extra emergency admissions: person, admitted


EMERGENCY_SHARE = 0.58  # share of the non-maternity stays admitted as emergencies (the method draw below)


@dataclass
class CrisisAdmissions:
    """The crisis scenario's extra emergency admissions (truth.Crisis with ``admissions_rr``): person i's admission
    hazard is ``rate`` x (1 + ``extra``) on its crisis days [lo[i], hi[i]] (empty when hi < lo) and ``rate``
    otherwise, with ``extra`` = EMERGENCY_SHARE x (admissions_rr - 1); an arrival on a crisis day is one of the extra
    emergency admissions with probability extra / (1 + extra) (a draw from ``rng``, the stream "crisis:hospital"),
    otherwise an ordinary stay. So a non-maternity person's emergency admissions come at admissions_rr x their usual
    rate on those days and their other stays at the usual rate."""

    lo: np.ndarray
    hi: np.ndarray
    admissions_rr: float
    rng: np.random.Generator

    @property
    def extra(self) -> float:
        return EMERGENCY_SHARE * (self.admissions_rr - 1)

    def gap(self, rows: np.ndarray, t0: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Whole days from ``t0`` to the next arrival of ``rows``, whose waiting time at the usual hazard is
        ``base`` (Exp(1) / rate): the cumulative hazard from t0, in units of the usual one, is x up to the crisis
        start a, then a + (1 + extra)(x - a) to its end b (the day after hi), then x + extra (b - a); inverted."""
        c = self.extra
        a = np.maximum(self.lo[rows] - t0, 0).astype(float)
        b = np.maximum(self.hi[rows] + 1 - t0, a).astype(float)
        x = np.where(base <= a, base, np.where(base <= a + (1 + c) * (b - a), a + (base - a) / (1 + c), base - c * (b - a)))
        return np.floor(x).astype(np.int64)

    def marks(self, rows: np.ndarray, adm: np.ndarray, pend: np.ndarray) -> np.ndarray:
        """Which of the stays admitted on ``adm`` are extra crisis admissions (not a pending readmission)."""
        u = self.rng.random(rows.size)
        return ~pend & (adm >= self.lo[rows]) & (adm <= self.hi[rows]) & (u < self.extra / (1 + self.extra))


def _geom(rng, mean, n):
    return rng.geometric(1.0 / np.maximum(mean, 1.0), n).astype(np.int64)


def casemix_logit(terms: dict, strength: float, method: np.ndarray, los: np.ndarray, spec: np.ndarray) -> np.ndarray:
    """The case-mix scenario's logit terms (truth.CaseMix) of stays with these methods, lengths and specialties."""
    x = np.zeros(method.size)
    for name, code in (("emergency", EMERGENCY), ("elective", ELECTIVE), ("other", OTHER)):
        x += terms.get(name, 0.0) * (method == code)
    x += terms["per_log_los"] * (np.log1p(los) - np.log(4.0))
    for name, beta in terms["specialty"].items():
        x += beta * (spec == SPECIALTIES.index(name))
    return strength * x


def casemix_method(case_mix: CaseMix, cm_rng: np.random.Generator, member: np.ndarray,
                   method: np.ndarray) -> np.ndarray:
    """Admission methods under the case-mix scenario: a stay of a person with time-bank activity in the 90 days
    before it (``member``) is elective instead of 'other' with probability s / 2 (one uniform per stay from
    ``cm_rng``, the stream "casemix")."""
    u = cm_rng.random(method.size)
    return np.where(member & (method == OTHER) & (u < case_mix.strength / 2), ELECTIVE, method)


def casemix_los(case_mix: CaseMix, member: np.ndarray, method: np.ndarray, los: np.ndarray) -> np.ndarray:
    """Lengths of stay under the case-mix scenario: a member's non-maternity stay lasts floor(length x (1 - 0.4 s))."""
    short = np.floor(los * (1 - 0.4 * case_mix.strength)).astype(np.int64)
    return np.where(member & (method != MATERNITY), short, los)


def simulate_hospital(p: People, activity: PersonTimeline, start: int, end: int, effects: Effects,
                      rng: np.random.Generator, crisis: CrisisAdmissions | None = None,
                      case_mix: CaseMix = CaseMix(), cm_rng: np.random.Generator | None = None,
                      dx_rng: np.random.Generator | None = None) -> Hospital:
    """The spells, peer-visiting enrolments and index-discharge truth; with ``crisis`` (None: the scenario off, and
    every draw as without it) the crisis days' extra emergency admissions too; with ``case_mix`` on (truth.CaseMix),
    stays of time-bank members are shorter and less often 'other', and readmission and the peer-visiting offer depend
    on the stay's method, length and specialty (:func:`casemix_method`, :func:`casemix_los`, :func:`casemix_logit`;
    ``cm_rng`` the stream "casemix"). With ``dx_rng`` (the stream "diagnosis"; None: no diagnoses) every spell gets a
    primary diagnosis (:mod:`.diagnoses`, spells' "diagnosis"), and under case mix the chapter of a stay's first
    spell enters both logits too, and time-bank members' stays are less often in the sicker chapters."""
    n = p.n
    age0 = p.age(np.arange(n), start)
    rate = np.exp(-2.1 + 0.02 * (age0 - 50) + 0.6 * p.frailty + 0.25 * p.ltc + 0.15 * p.dep) / 365.25
    in_hospital_death = rng.random(n) < 0.45
    home = HOME_PROVIDER[p.area]
    t_next = np.full(n, start, dtype=np.int64)
    pending = np.full(n, NEVER)  # day of a drawn readmission
    # Last emergency admission days, newest last: deep enough that the 12-month count is exact.
    recent = np.full((n, PRIOR_DEPTH), -NEVER, dtype=np.int32)
    active = np.ones(n, dtype=bool)
    last_pv = np.full(n, -NEVER)  # start of the latest peer-visiting enrolment
    last_index = np.full(n, -NEVER)  # latest index discharge
    sp = {k: [] for k in ("person", "provider", "admitted", "discharged", "method", "destination", "specialty", "cancer",
                          *(("diagnosis",) if dx_rng is not None else ()))}
    enr = {k: [] for k in ("person", "programme", "start", "end")}
    tru = {k: [] for k in ("person", "admitted", "discharged", "age", "prior", "via_timebank", "via_programme",
                           "participant", "start", "p0", "p1", "y0", "y1", "outcome", "complete")}
    c, log_or = READMIT_MODEL, np.log(effects.or_readmit)
    crisis_person, crisis_day = [], []

    def spell(person, provider, adm, dis, method, dest, spec, cancer, diagnosis=None):
        for k, v in zip(sp, (person, provider, adm, dis, method, dest, spec, cancer, diagnosis)):
            sp[k].append(np.array(v))  # a copy: the caller goes on to edit transferred stays

    def diagnose(spec, cancer):  # codes from the stream "diagnosis" (None without it)
        return dx.draw(dx_rng, spec, cancer) if dx_rng is not None else None

    while active.any():
        rows = np.flatnonzero(active)
        pend = pending[rows] != NEVER
        if crisis is None:
            gap = np.floor(rng.exponential(1.0, rows.size) / rate[rows]).astype(np.int64)
        else:
            gap = crisis.gap(rows, t_next[rows], rng.exponential(1.0, rows.size) / rate[rows])
        adm = np.where(pend, pending[rows], t_next[rows] + gap)
        death = p.death[rows]
        stop = np.where(pend, adm > end, (adm > end) | (adm >= death))
        # Deaths in hospital: a final emergency stay ending on the day of death.
        dh = rows[stop & ~pend & (death <= end) & (death >= t_next[rows]) & in_hospital_death[rows]]
        if dh.size:
            a = np.maximum(t_next[dh], p.death[dh] - (_geom(rng, 6, dh.size) - 1))
            old = p.age(dh, a) >= 70
            dh_spec, dh_cancer = np.where(old, GERIATRIC, GEN_MED), rng.random(dh.size) < 0.2
            spell(dh, home[dh], a, p.death[dh], np.full(dh.size, EMERGENCY), np.full(dh.size, DIED), dh_spec, dh_cancer,
                  diagnose(dh_spec, dh_cancer))
        active[rows[stop]] = False
        rows, adm, pend = rows[~stop], adm[~stop], pend[~stop]
        if not rows.size:
            break
        pending[rows] = NEVER
        m = rows.size
        age = p.age(rows, adm)
        old = age >= 70
        fertile = (p.sex[rows] == 0) & (age >= 16) & (age <= 45)
        u = rng.random(m)
        method = np.where(fertile & (u < 0.4), MATERNITY,
                          np.where(rng.random(m) < 0.58, EMERGENCY, np.where(rng.random(m) < 0.88, ELECTIVE, OTHER)))
        method = np.where(pend, EMERGENCY, method)
        if crisis is not None:
            extra = crisis.marks(rows, adm, pend)
            method = np.where(extra, EMERGENCY, method)
            crisis_person.append(rows[extra]); crisis_day.append(adm[extra])
        if case_mix.on:
            member = activity.count(rows, adm - ACTIVE_WINDOW_DAYS, adm) > 0
            member &= ~pend  # a readmission is emergency whatever
            method = casemix_method(case_mix, cm_rng, member, method)
        kind = np.where(pend, READMIT_KIND, method)
        spec = choose_rows(rng, SPEC_TABLE, kind + 5 * old)
        cancer_p = np.select([method == ELECTIVE, method == EMERGENCY, method == OTHER], [0.08, 0.04, 0.03], 0.0)
        cancer = (rng.random(m) < cancer_p * np.where(age >= 50, 1.5, 0.5)) & ~pend & (spec != OBSTETRICS) & (spec != MENTAL)
        los = np.select(
            [spec == MENTAL, method == MATERNITY, method == ELECTIVE, spec == GERIATRIC],
            [4 + _geom(rng, 20, m), _geom(rng, 2, m) - 1,
             np.where(rng.random(m) < 0.5, 0, _geom(rng, 3, m)), _geom(rng, 9, m)],
            np.where(rng.random(m) < 0.12, 0, _geom(rng, 4.5, m)))
        los = np.minimum(los, 120)
        if case_mix.on:
            los = casemix_los(case_mix, member, method, los)
        dis = np.minimum(adm + los, end)  # stays still open at the cut-off end on it
        death = p.death[rows]
        died = dis >= death
        dis = np.minimum(dis, death)
        provider = np.where(rng.random(m) < 0.85, home[rows], rng.integers(0, len(PROVIDERS), m))
        transfer = (~died & (method == EMERGENCY) & ~cancer & (spec != MENTAL) & (rng.random(m) < 0.05))
        dest = np.where(died, DIED, np.where(transfer, TRANSFER, np.where(rng.random(m) < 0.92, HOME, DEST_OTHER)))
        if dx_rng is None:
            code = None
        elif case_mix.on:  # the first spell's: the stay's diagnosis, whatever a transfer adds; members' less often sicker
            code = dx.draw(dx_rng, spec, cancer, member, case_mix.strength, CASEMIX_DIAGNOSIS_SICKER)
        else:
            code = dx.draw(dx_rng, spec, cancer)
        spell(rows, provider, adm, dis, method, dest, spec, cancer, code)
        # Transfers: a second spell at another provider, admitted the day the first ends.
        tr = np.flatnonzero(transfer)
        if tr.size:
            prov2 = (provider[tr] + rng.integers(1, len(PROVIDERS), tr.size)) % len(PROVIDERS)
            a2 = dis[tr]
            d2 = np.minimum(np.minimum(a2 + _geom(rng, 8, tr.size) + 1, death[tr]), end)
            died2 = d2 >= death[tr]
            spec2 = np.where(old[tr], GERIATRIC, GEN_MED)
            dest2 = np.where(died2, DIED, np.where(rng.random(tr.size) < 0.85, HOME, DEST_OTHER))
            spell(rows[tr], prov2, a2, d2, np.full(tr.size, OTHER), dest2, spec2, np.zeros(tr.size, bool),
                  diagnose(spec2, np.zeros(tr.size, bool)))
            dis[tr], dest[tr], provider[tr], spec[tr], died[tr] = d2, dest2, prov2, spec2, died2

        # Prior emergency admissions in the 365 days before this stay, then remember this one.
        prior = ((recent[rows] >= adm[:, None] - 365) & (recent[rows] < adm[:, None])).sum(axis=1)
        em = np.flatnonzero(method == EMERGENCY)
        recent[rows[em], :-1] = recent[rows[em], 1:]
        recent[rows[em], -1] = adm[em]

        active[rows[died]] = False
        index = (~died & ((dest == HOME) | (dest == DEST_OTHER)) & (method != MATERNITY)
                 & ~((method == ELECTIVE) & (dis == adm)) & (spec != OBSTETRICS))
        t_next[rows] = dis + 1
        i = np.flatnonzero(index)
        r, d = rows[i], dis[i]
        ag = age[i]
        dep = p.dep[r]
        # The outcome first: both potential outcomes and the day a readmission would happen.
        lin = (c["intercept"] + c["per_decade_over_65"] * (ag - 65) / 10 + c["male"] * p.male[r] + c["deprivation"] * dep
               + c["per_prior_emergency_admission"] * np.minimum(prior[i], READMIT_PRIOR_CAP))
        if case_mix.on:
            lin = lin + casemix_logit(CASEMIX_READMIT, case_mix.strength, method[i], d - adm[i], spec[i])
            if code is not None:
                lin = lin + dx.chapter_logit(CASEMIX_DIAGNOSIS_READMIT, case_mix.strength, code[i])
        p0, p1 = expit(lin), expit(lin + log_or)
        uu = rng.random(i.size)
        y0, y1 = uu < p0, uu < p1
        back = d + 1 + np.floor(29 * rng.beta(1.0, 2.0, i.size)).astype(np.int64)
        day_back = back - d  # 1..29
        back = np.minimum(back, p.death[r])
        via_tb = activity.count(r, d - ACTIVE_WINDOW_DAYS, d) > 0
        # Peer visiting: an enrolment already starting in [d, d+14] counts; otherwise one may be
        # offered, planned 1-14 days ahead. A new start never falls within 14 days of an earlier
        # index discharge, so no earlier discharge becomes a participant after its outcome was drawn.
        window = ENROL_AFTER_DISCHARGE_DAYS
        already = (last_pv[r] >= d) & (last_pv[r] <= d + window)
        offer = np.isin(provider[i], PARTNER_PROVIDERS) & ~already
        offer_logit = -2.4 + 0.4 * prior[i] + 0.25 * (ag - 65) / 10 + 0.3 * dep
        if case_mix.on:
            offer_logit = offer_logit + casemix_logit(CASEMIX_ENROL, case_mix.strength, method[i], d - adm[i], spec[i])
            if code is not None:
                offer_logit = offer_logit + dx.chapter_logit(CASEMIX_DIAGNOSIS_ENROL, case_mix.strength, code[i])
        enrol = offer & (rng.random(i.size) < expit(offer_logit))
        st = np.maximum(d + rng.integers(1, window + 1, i.size), last_index[r] + window + 1)
        en = st + rng.integers(28, 85, i.size)
        enrol &= (st <= d + window) & (st <= np.minimum(end, p.death[r] - 1))
        enrol &= ~(y0 & (day_back < st - d))  # readmitted before the planned start: never starts
        last_pv[r[enrol]] = st[enrol]
        last_index[r] = d
        enr["person"].append(r[enrol]); enr["programme"].append(np.full(int(enrol.sum()), PEER_VISITING))
        enr["start"].append(st[enrol]); enr["end"].append(np.where(en[enrol] > end, NEVER, np.minimum(en[enrol], p.death[r[enrol]])))
        # Start day: 0 for time-bank activity, else the enrolment's day after discharge.
        start_day = np.where(via_tb, 0, np.where(already, last_pv[r] - d, np.where(enrol, st - d, NEVER)))
        at_risk = ~(y0 & (day_back < start_day))  # not readmitted before the start
        a = (start_day < NEVER) & at_risk
        y = np.where(day_back < start_day, y0, y1)
        # Effect on participants from their own start day (the risk-set estimand), given at risk then.
        s_eff = np.where(a, start_day, 0)
        surv = np.where(s_eff <= 1, 1.0, (1.0 - (s_eff - 1) / 29.0) ** 2)  # P(day_back >= s): Beta(1, 2)
        p0s, p1s = p0 * surv / (1 - p0 * (1 - surv)), p1 * surv / (1 - p0 * (1 - surv))
        y0s, y1s = y0 & (day_back >= s_eff), y1 & (day_back >= s_eff)
        # Readmitted: next stay on day 1-29 (before death). Not: no stay before day 31.
        seen = y & (back <= end)  # what the spells file shows
        for k, v in zip(tru, (r, adm[i], d, ag, prior[i], via_tb, (enrol | already) & at_risk, a,
                              np.where(a, d + s_eff, NEVER), p0s, p1s, y0s, y1s, seen, d + 30 <= end)):
            tru[k].append(v)
        pending[r[y]] = back[y]
        t_next[r[~y]] = d[~y] + 31

    cat = lambda dd: {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in dd.items()}
    extra = cat({"person": crisis_person, "admitted": crisis_day}) if crisis is not None else None
    return Hospital(cat(sp), cat(enr), cat(tru), extra)
