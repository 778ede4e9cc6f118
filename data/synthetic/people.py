"""The linked population: who exists, their covariates, and two latent traits.

Simulates a deprived-leaning local population aged 10-95 across a handful of north-east
England local authorities. Besides the published covariates it draws two latent traits
that the other simulators use: ``frailty`` (drives hospital use, deaths, service contacts
and joining a health-linked time bank) and ``crim`` (drives convictions and justice
contact). Deaths are drawn up front so every later process stops at the same date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .common import NEVER, expit

SEXES = ("female", "male", "other", "unknown")
# ONS local-authority codes (Hartlepool, Middlesbrough, Redcar & Cleveland, Stockton-on-Tees,
# Darlington, County Durham) with their share of the population and mean IMD decile.
AREAS = ("E06000001", "E06000002", "E06000003", "E06000004", "E06000005", "E06000047")
AREA_SHARE = (0.14, 0.18, 0.13, 0.2, 0.11, 0.24)
AREA_IMD_MEAN = (3.0, 2.6, 3.8, 5.0, 5.2, 4.4)
AGE_BANDS = ((10, 18, 0.10), (18, 35, 0.26), (35, 55, 0.26), (55, 75, 0.23), (75, 96, 0.15))
EMPLOYMENT = ("employed", "unemployed", "inactive")
MARITAL = ("single", "married", "other")


@dataclass
class People:
    n: int
    birth: np.ndarray  # day numbers
    sex: np.ndarray  # index into SEXES
    area: np.ndarray  # index into AREAS
    imd: np.ndarray  # 1..10, 1 = most deprived
    prior_convictions: np.ndarray
    employment: np.ndarray
    marital: np.ndarray
    ltc: np.ndarray  # long-term condition
    frailty: np.ndarray  # latent, ~N(., 1)
    crim: np.ndarray  # latent
    death: np.ndarray  # day of death, NEVER if alive at the end

    @property
    def dep(self) -> np.ndarray:
        """Deprivation on [-1, 1]: +1 = decile 1 (most deprived)."""
        return (5.5 - self.imd) / 4.5

    @property
    def male(self) -> np.ndarray:
        return self.sex == 1

    def age(self, idx, day) -> np.ndarray:
        return (np.asarray(day) - self.birth[idx]) / 365.25


def simulate_people(n: int, start: int, end: int, rng: np.random.Generator) -> People:
    lo, hi, w = (np.array(v, dtype=float) for v in zip(*AGE_BANDS))
    band = rng.choice(len(w), size=n, p=w / w.sum())
    age = lo[band] + rng.random(n) * (hi[band] - lo[band])
    birth = start - np.floor(age * 365.25).astype(np.int64)
    sex = rng.choice(4, size=n, p=[0.505, 0.475, 0.005, 0.015])
    area = rng.choice(len(AREAS), size=n, p=AREA_SHARE)
    imd = np.clip(np.round(rng.normal(np.asarray(AREA_IMD_MEAN)[area], 2.4)), 1, 10).astype(np.int64)
    dep = (5.5 - imd) / 4.5
    male = sex == 1

    ltc = rng.random(n) < expit(-1.6 + 0.05 * (age - 50) + 0.4 * dep)
    frailty = 0.4 * ltc + 0.015 * (age - 50) + 0.3 * dep + rng.normal(0, 0.9, n)
    crim = -0.7 + 0.9 * male + 0.7 * dep - 0.03 * np.maximum(age - 25, 0) + rng.normal(0, 1, n)
    years_at_risk = np.clip(age - 10, 0, 20)
    prior = rng.poisson(np.exp(crim - 1.2) * years_at_risk / 5)

    working_age = (age >= 18) & (age < 67)
    p_emp = expit(1.0 - 0.8 * dep - 0.7 * ltc - 0.3 * np.log1p(prior))
    u = rng.random(n)
    employment = np.where(working_age, np.where(u < p_emp, 0, np.where(u < p_emp + (1 - p_emp) * 0.45, 1, 2)), 2)
    p_married = np.where(age < 18, 0.0, expit(-1.5 + 0.06 * np.minimum(age - 18, 40) - 0.4 * dep))
    p_other = np.where(age < 25, 0.0, 0.06 + 0.004 * (age - 25))
    u = rng.random(n)
    marital = np.where(u < p_married, 1, np.where(u < p_married + p_other, 2, 0))

    hazard = np.exp(-10.0 + 0.085 * age + 0.45 * frailty + 0.3 * ltc)  # per year
    t_death = start + np.floor(rng.exponential(1.0, n) / hazard * 365.25).astype(np.int64)
    death = np.where(t_death <= end, t_death, NEVER)

    return People(n, birth, sex, area, imd, prior, employment, marital, ltc, frailty, crim, death)
