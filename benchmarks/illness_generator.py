"""Generated wearable nights with planted infections, for the illness warning benchmark.

Each person has one value per night or day of the signals a wearable gives — resting
(sleeping) heart rate, HRV (RMSSD), respiratory rate, skin-temperature deviation, sleep
duration and steps — and a log of what else happened: alcohol (drinks the evening
before), training (exercise minutes the day before), the local UTC offset (travel across
time zones) and the first day of each period. Nothing here is fitted to the detector:
the choices below were fixed, each from the literature, before the detector was tuned.

* Signals present. Everyone has resting heart rate, sleep and steps; 70 % also HRV and
  60 % respiratory rate and skin temperature (ring- and band-type wearables: Oura,
  Whoop, Fitbit; Mishra et al. 2020 had heart rate, steps and sleep from most devices,
  respiratory rate and temperature from fewer).
* Personal levels and day-to-day noise: resting heart rate 50-75 bpm with a noise SD of
  1-2.5 bpm, HRV 25-90 ms (SD 12-20 % of the level), respiratory rate 12-18 /min (SD
  0.3-0.6), skin temperature deviation (SD 0.1-0.2 °C), sleep 6.5-8.5 h (SD 30-60 min),
  steps 4,000-14,000 (SD 25-40 %); a weekly rhythm and a slow drift. The noise is
  autocorrelated from night to night (AR(1), ρ 0.3-0.6), as physiological series are
  (Quer et al., Nature Medicine 2021 standardize against a rolling personal baseline
  for this reason), not independent.
* Menstrual cycle: half of the people log periods. Their cycles last 25-33 days
  (± 2 days from cycle to cycle); in the luteal phase (from about day 15 to the next
  period) resting heart rate is 1.5-3 bpm higher, skin temperature 0.2-0.4 °C higher,
  HRV 5-15 % lower and respiratory rate 0.2-0.4 /min higher (Shilaih et al., Bioscience
  Reports 2018: wrist skin temperature ~0.3 °C higher in the luteal phase; Goodale et
  al., JMIR 2019: pulse rate, respiratory rate, skin temperature and HRV all shift
  across the cycle; Alzueta et al. 2022, Oura, resting heart rate higher and HRV lower
  in the luteal phase).
* Confounders: alcohol on 4-10 % of evenings, 80 % of them logged (next night resting
  heart rate +3-7 bpm, HRV -10 to -25 %, skin temperature +0.1-0.3 °C); hard training
  days (2-6 a month, logged as exercise minutes: next night +1-3 bpm, HRV -5 to -15 %);
  trips across 2-9 time zones (about one every two months: +2-4 bpm and 30-90 minutes
  less sleep for 2-3 nights, seen as a change of the local UTC offset).
* Infections: 60 % of the people have one or two in the period. Their signals start to
  change 1-5 days before symptom onset and peak around onset (Mishra et al., Nature
  Biomedical Engineering 2020: resting heart rate rose before symptoms in most
  COVID-19 cases; Alavi et al., Nature Medicine 2021: 80 % flagged a median 3 days
  before symptoms; Natarajan et al., npj Digital Medicine 2020: respiratory rate and
  HRV change; Smarr et al., Scientific Reports 2020: temperature rises often precede
  symptoms). Peak effects: resting heart rate +3-9 bpm, HRV -10 to -35 %, respiratory
  rate +0.5-2 /min, skin temperature +0.2-1.0 °C; after onset sleep +20-90 minutes and
  steps -20 to -60 % for a week (Quer et al. 2021; Radin et al., Lancet Digital Health
  2020). In 25 % of infections resting heart rate does not rise at all (Mishra et al.
  2020 found heart-rate changes in about four of five cases), and in 10 % no signal
  changes (mild infections). After the peak the elevation persists for weeks: it
  decays to a tail of 20-40 % of the peak that fades over 3-8 weeks (Radin et al.,
  JAMA Network Open 2021: resting heart rate took about 79 days on average to return
  to baseline after COVID-19, sleep and steps about a month).
* Missing nights are informative: 4-10 % of nights are missing at random, and during
  the first days of symptoms a night is missing with probability 25 % (people take the
  device off or forget to charge it when unwell; Quer et al. 2021 saw less wear around
  illness); after alcohol nights 10 %.

``person(rng, days)`` returns a :class:`Person`; the benchmark scores an alert starting
on days onset-7 .. onset-1 as a warning before symptoms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
SIGNALS = ("resting_heart_rate", "hrv", "respiratory_rate", "skin_temperature", "sleep", "steps")


@dataclass
class Person:
    signals: dict[str, F64]  # signal -> one value per day (NaN: missing or not measured)
    alcohol: F64  # drinks logged the evening before each night
    exercise_min: F64  # exercise minutes logged the day before each night
    utc_offset_h: F64  # the local UTC offset on each day
    period_starts: list[int] = field(default_factory=list)
    onsets: list[int] = field(default_factory=list)
    # for the benchmark's oracle only: each signal's noise (in SDs) and illness effect
    noise_sd: dict[str, F64] = field(default_factory=dict)
    effect_sd: dict[str, F64] = field(default_factory=dict)


def _ar1(rng: np.random.Generator, days: int, sd: float, rho: float) -> F64:
    shocks = rng.normal(0, sd * np.sqrt(1 - rho**2), days)
    out = np.empty(days)
    out[0] = rng.normal(0, sd)
    for t in range(1, days):
        out[t] = rho * out[t - 1] + shocks[t]
    return out


def _shape(days: int, onset: int, lead: int, tail: float, tail_weeks: float) -> F64:
    """0 → 1 from ``lead`` days before onset to onset, then down to ``tail`` in a week
    and fading over ``tail_weeks`` weeks."""
    out = np.zeros(days)
    for d in range(max(0, onset - lead), days):
        if d <= onset:
            out[d] = (d - (onset - lead) + 1) / (lead + 1)
        elif d <= onset + 7:
            out[d] = 1 - (1 - tail) * (d - onset) / 7
        else:
            out[d] = tail * np.exp(-(d - onset - 7) / (7 * tail_weeks))
    return out


def person(rng: np.random.Generator, days: int) -> Person:
    t = np.arange(days)
    weekly = np.sin(2 * np.pi * t / 7)
    rho = rng.uniform(0.3, 0.6)
    level = {
        "resting_heart_rate": rng.uniform(50, 75),
        "hrv": rng.uniform(25, 90),
        "respiratory_rate": rng.uniform(12, 18),
        "skin_temperature": 0.0,
        "sleep": rng.uniform(390, 510),
        "steps": rng.uniform(4000, 14000),
    }
    sd = {
        "resting_heart_rate": rng.uniform(1.0, 2.5),
        "hrv": level["hrv"] * rng.uniform(0.12, 0.2),
        "respiratory_rate": rng.uniform(0.3, 0.6),
        "skin_temperature": rng.uniform(0.1, 0.2),
        "sleep": rng.uniform(30, 60),
        "steps": level["steps"] * rng.uniform(0.25, 0.4),
    }
    noise = {
        s: _ar1(rng, days, sd[s], rho) + np.cumsum(rng.normal(0, 0.01 * sd[s], days))
        for s in SIGNALS
    }
    x = {s: level[s] + noise[s] for s in SIGNALS}
    x["resting_heart_rate"] += 0.6 * weekly
    x["sleep"] += 25 * np.sin(2 * np.pi * (t - 5) / 7)
    x["steps"] *= 1 + 0.15 * weekly
    # menstrual cycle (half of the people log periods)
    starts: list[int] = []
    if rng.random() < 0.5:
        length = rng.uniform(25, 33)
        day = -int(rng.integers(0, int(length)))
        luteal = np.zeros(days)
        while day < days:
            this = max(21, round(length + rng.normal(0, 2)))
            if day >= 0:
                starts.append(day)
            luteal[max(0, day + 14) : max(0, day + this)] = 1.0
            day += this
        x["resting_heart_rate"] += rng.uniform(1.5, 3) * luteal
        x["skin_temperature"] += rng.uniform(0.2, 0.4) * luteal
        x["hrv"] *= 1 - rng.uniform(0.05, 0.15) * luteal
        x["respiratory_rate"] += rng.uniform(0.2, 0.4) * luteal
    # alcohol (the evening before a night), hard training, travel
    drank = rng.random(days) < rng.uniform(0.04, 0.10)
    drinks = np.where(drank, rng.integers(2, 7, days), 0).astype(float)
    x["resting_heart_rate"] += np.where(drank, rng.uniform(3, 7, days), 0)
    x["hrv"] *= 1 - np.where(drank, rng.uniform(0.10, 0.25, days), 0)
    x["skin_temperature"] += np.where(drank, rng.uniform(0.1, 0.3, days), 0)
    alcohol = np.where(drank & (rng.random(days) < 0.8), drinks, 0.0)
    hard = rng.random(days) < rng.uniform(2, 6) / 30
    exercise = np.where(hard, rng.uniform(60, 150, days), rng.uniform(0, 40, days))
    x["resting_heart_rate"] += np.where(hard, rng.uniform(1, 3, days), 0)
    x["hrv"] *= 1 - np.where(hard, rng.uniform(0.05, 0.15, days), 0)
    offset = np.zeros(days)
    home = float(rng.integers(-8, 9))
    offset[:] = home
    for _ in range(rng.poisson(days / 60)):
        leave = int(rng.integers(0, days))
        stay = int(rng.integers(4, 15))
        shift = float(rng.choice([-1, 1]) * rng.integers(2, 10))
        offset[leave : leave + stay] = home + shift
        for edge in (leave, leave + stay):
            span = slice(edge, edge + int(rng.integers(2, 4)))
            x["resting_heart_rate"][span] += rng.uniform(2, 4)
            x["sleep"][span] -= rng.uniform(30, 90)
    # infections
    healthy = {s: v.copy() for s, v in x.items()}
    onsets: list[int] = []
    symptomatic = np.zeros(days, dtype=bool)
    if rng.random() < 0.6:
        for _ in range(int(rng.integers(1, 3))):
            onset = int(rng.integers(45, days - 10))
            if any(abs(onset - o) < 60 for o in onsets):
                continue
            onsets.append(onset)
            shape = _shape(
                days,
                onset,
                int(rng.integers(1, 6)),
                rng.uniform(0.2, 0.4),
                rng.uniform(3, 8),
            )
            silent = rng.random()
            if silent >= 0.10:  # 10 %: nothing changes
                if silent >= 0.35:  # a further 25 %: no resting heart rate rise
                    x["resting_heart_rate"] += rng.uniform(3, 9) * shape
                x["hrv"] *= 1 - rng.uniform(0.10, 0.35) * shape
                x["respiratory_rate"] += rng.uniform(0.5, 2.0) * shape
                x["skin_temperature"] += rng.uniform(0.2, 1.0) * shape
                after = np.zeros(days)
                after[onset : onset + 7] = 1.0
                x["sleep"] += rng.uniform(20, 90) * after
                x["steps"] *= 1 - rng.uniform(0.2, 0.6) * after
            symptomatic[onset : onset + 4] = True
    # which signals this person measures, and the missing nights
    has = {s: True for s in SIGNALS}
    has["hrv"] = rng.random() < 0.7
    has["respiratory_rate"] = has["skin_temperature"] = rng.random() < 0.6
    p_missing = np.full(days, rng.uniform(0.04, 0.10))
    p_missing[symptomatic] = 0.25
    p_missing[np.concatenate(([False], drank[:-1]))] = np.maximum(
        p_missing[np.concatenate(([False], drank[:-1]))], 0.10
    )
    missing = rng.random(days) < p_missing
    signals = {}
    for s in SIGNALS:
        values = np.round(x[s], 2)
        values[missing] = np.nan
        signals[s] = values if has[s] else np.full(days, np.nan)
    return Person(
        signals,
        alcohol,
        exercise,
        offset,
        starts,
        onsets,
        {s: noise[s] / sd[s] for s in SIGNALS},
        {s: (x[s] - healthy[s]) / sd[s] for s in SIGNALS},
    )
