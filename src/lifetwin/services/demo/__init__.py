"""A demo person with weeks of realistic, multi-source data: *Alex Demo*, in Berlin.

Alex is 41, runs and rides, lives with type 1 diabetes, learns Spanish and statistics,
and is paid in euros. ``create_demo`` writes, for ``days`` days up to ``end`` (default:
now), through the vault's own API:

- **watch**: heart rate every minute (daily rhythm, lower asleep, the workouts' own
  curves and the recovery after them), steps and active energy every 15 minutes,
  nightly sleep stages with sleep cycles (:mod:`.sleep`) and the nightly total asleep
  (``sleep_duration``), daily resting heart rate and HRV, a VO2 max estimate after runs;
- **workouts** (:mod:`.workouts`): runs and rides as ``event:workout`` records with
  distance, duration, energy, average and maximum heart rate, ascent and a GPS route
  around Kreuzberg stored as the FIT/TCX/GPX/Apple Health connectors store routes
  (``details["route"] = {"points", "columns": ["time_ms", "lat", "lon", "ele"], "data"}``);
- **CGM and pump**: glucose every 5 minutes, insulin delivered, meals and boluses from
  the UVA/Padova simulator (:mod:`lifetwin.services.glucose_sim`);
- **typed in by hand** (source ``manual``, flagged as manual entries): blood pressure a
  few mornings a week, weight, a cholesterol lab result (total and HDL), height and
  waist; mood and energy every evening and journal notes that tell of the day;
- **money** (:mod:`.money`): the current account in EUR from the first day of the month
  before ``end`` (salary, rent, direct debits, card payments with merchant and category)
  and online orders, plus the signed ``transaction_amount`` series;
- **learning** (:mod:`.learning`): an Anki review history and an exercise log, read by
  the learning pack's connectors;
- **profile and settings**: the facts the risk scores need (birth date, sex, smoking,
  diabetes, blood-pressure treatment, family history, activity, vegetables; also the
  time zone, the currency and the maximum heart rate for training zones), the
  recommendation goals and a monthly budget, and the consent grants of
  :data:`lifetwin.privacy.consent.DEMO_GRANTS`.

Each kind of data draws from its own random stream of the seed (the glucose simulator
from the seed itself), so the same seed and end give the same person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from lifetwin.core.model import Event, EventKind, Observation, Provenance, Quality
from lifetwin.core.validation import plausible_mask
from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import DEMO_GRANTS, Scope
from lifetwin.services.demo import money, workouts
from lifetwin.services.demo.learning import learning_history
from lifetwin.services.demo.sleep import asleep_minutes, hypnogram
from lifetwin.services.glucose_sim import simulate
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Person, Store, Vault

DEMO_NAME = "Alex Demo"
DEMO_ZONE = ZoneInfo("Europe/Berlin")
MINUTE_MS = 60_000
DAY_MS = 86_400_000
BODY_MASS_KG = 72.4
MANUAL = "manual"  # the source of values the person typed in
PROFILE: dict[str, Any] = {
    "birth_date": "1984-06-12",
    "sex": "male",
    "postcode": "10999",
    "time_zone": DEMO_ZONE.key,
    "currency": money.CURRENCY,
    "smoker": False,
    "diabetes": True,
    "diabetes_type": "type 1",
    "bp_treated": False,
    "statin": False,
    "hypertension": False,
    "physically_active": True,
    "daily_vegetables": True,
    "high_glucose_history": True,
    "family_history_diabetes": "second_degree",
    "max_heart_rate_bpm": workouts.HR_MAX_BPM,  # from a field test: for heart-rate zones
}
GOALS = ("move_more", "sleep_better", "glucose_in_range", "spend_less", "learn")
MONTHLY_BUDGET_EUR = 2600.0
STEPS = 8  # progress messages, one per part

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass
class DemoSummary:
    person: Person
    days: int
    observations: int
    events: int
    counts: dict[str, int] = field(default_factory=dict)  # records by kind (workouts, ...)


def _columns(ts_ms: I64, values: F64, dur_ms: I64 | int, tz_min: I64, quality: int = 0) -> Columns:
    n = len(ts_ms)
    dur = np.full(n, dur_ms, dtype=np.int64) if isinstance(dur_ms, int) else dur_ms
    zeros = np.zeros(n, dtype=np.int64)
    flags = np.full(n, quality, dtype=np.int64)
    return Columns(ts_ms, dur, values, tz_min, flags, zeros, zeros)


class _Writer:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.observations = 0
        self.events = 0
        self.counts: dict[str, int] = {}

    def series(
        self,
        code: str,
        source: str,
        device: str | None,
        ts_ms: npt.ArrayLike,
        values: npt.ArrayLike,
        dur_ms: I64 | int = 0,
        *,
        unit: str | None = None,
        quality: Quality = Quality.NONE,
    ) -> None:
        m = metric(code)
        ts = np.asarray(ts_ms, dtype=np.int64)
        vals = np.asarray(values, dtype=np.float64)
        keep = plausible_mask(m, vals)
        cols = _columns(ts, vals, dur_ms, _offsets(ts), int(quality))
        added = self.vault.write_columns(
            code, source, device, unit or m.unit, cols.take(np.flatnonzero(keep))
        ).added
        self.observations += added

    def records(self, kind: str, items: list[Observation | Event]) -> None:
        added = self.vault.write_records(items).added
        self.events += added
        self.counts[kind] = self.counts.get(kind, 0) + added


def _offsets(ts_ms: I64) -> I64:
    """The demo zone's UTC offset in minutes at each time (looked up once per hour)."""
    hours = ts_ms // 3_600_000
    out = np.empty(len(ts_ms), dtype=np.int64)
    for hour in np.unique(hours):
        moment = datetime.fromtimestamp(int(hour) * 3600 + 1800, UTC).astimezone(DEMO_ZONE)
        offset = moment.utcoffset()
        out[hours == hour] = 0 if offset is None else int(offset.total_seconds() // 60)
    return out


def _utc_from_wall(wall_ms: I64) -> I64:
    """UTC times of naive local wall-clock times (simglucose runs on a naive clock)."""
    hours = wall_ms // 3_600_000
    out = np.empty(len(wall_ms), dtype=np.int64)
    for hour in np.unique(hours):
        wall = datetime.fromtimestamp(int(hour) * 3600, UTC).replace(tzinfo=DEMO_ZONE)
        offset = wall.utcoffset()
        minutes = 0 if offset is None else int(offset.total_seconds() // 60)
        out[hours == hour] = wall_ms[hours == hour] - minutes * MINUTE_MS
    return out


def _local(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(DEMO_ZONE)


def _wall_ms(day: date, hours: float) -> int:
    """Milliseconds since the epoch of a local wall-clock time (hours after midnight)."""
    moment = datetime.combine(day, time(0), DEMO_ZONE) + timedelta(minutes=round(hours * 60))
    return int(moment.timestamp() * 1000)


@dataclass
class _Frame:
    """The demo's time frame: local days, and the minutes from the first midnight to the end."""

    start_ms: int
    end_ms: int
    dates: list[date]

    @property
    def minutes(self) -> int:
        return (self.end_ms - self.start_ms) // MINUTE_MS

    def index(self, ts_ms: int) -> int:
        return (ts_ms - self.start_ms) // MINUTE_MS


@dataclass
class _Night:
    bed_ms: int
    stages: list[tuple[str, float, float]]

    @property
    def asleep_min(self) -> float:
        return asleep_minutes(self.stages)

    @property
    def wake_ms(self) -> int:
        return self.bed_ms + round(self.stages[-1][2]) * MINUTE_MS


@dataclass
class _Workout:
    day: int
    start_ms: int
    session: workouts.Session
    hr: F64
    kcal_per_min: F64
    track: list[list[float]]

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.session.minutes * MINUTE_MS

    @property
    def distance_m(self) -> float:
        lat = np.array([p[1] for p in self.track])
        lon = np.array([p[2] for p in self.track])
        return round(float(workouts.segment_lengths_m(lat, lon).sum()), 1)


Plan = tuple[str, str, float | None, int]  # sport, style, local start hour, minutes


def _plan(rng: np.random.Generator, frame: _Frame) -> list[Plan | None]:
    """The week's sessions, day by day (one now and then skipped, never in the first days)."""
    plans: list[Plan | None] = []
    for d, day in enumerate(frame.dates):
        week = workouts.WEEK.get(day.weekday())
        if week is None or (d >= 2 and rng.random() < 0.12):
            plans.append(None)
            continue
        sport, style, hour, (low, high) = week
        plans.append((sport, style, hour, int(rng.integers(low, high))))
    return plans


def _load_h(plan: Plan) -> float:
    """A rough training load in hours of running: rides count less, intervals more."""
    sport, style, _hour, minutes = plan
    return minutes / 60 * (0.6 if sport == "ride" else 1.2 if style == "intervals" else 1.0)


def _nights(rng: np.random.Generator, frame: _Frame, plans: list[Plan | None]) -> list[_Night]:
    """The nights that end by the end, from the one before the first day on. A day of
    training sends Alex to bed a little earlier and keeps him there longer."""
    nights = []
    for d, day in enumerate(frame.dates):
        evening = day - timedelta(days=1)
        before = plans[d - 1] if d > 0 else None
        weekend = evening.weekday() in (4, 5)
        trained = 0.0 if before is None else 0.45 * _load_h(before)
        bed_h = 23.0 + rng.normal(0, 0.25) + (0.35 if weekend else 0.0) - 0.3 * trained
        in_bed_h = 7.5 + (0.3 if weekend else 0.0) + trained + rng.normal(0, 0.3)
        in_bed_h = float(np.clip(in_bed_h, 5.5, 10.0))
        night = _Night(_wall_ms(evening, bed_h), hypnogram(rng, in_bed_h * 60))
        if night.wake_ms <= frame.end_ms:
            nights.append(night)
    return nights


def _sessions(
    rng: np.random.Generator,
    frame: _Frame,
    plans: list[Plan | None],
    nights: list[_Night],
    resting: F64,
) -> list[_Workout]:
    """The planned sessions at their times, with heart rate, energy and route."""
    wakes = {_local(n.wake_ms).date(): n.wake_ms for n in nights}
    beds = {_local(n.bed_ms).date(): n.bed_ms for n in nights}
    done = []
    for d, (day, plan) in enumerate(zip(frame.dates, plans, strict=True)):
        if plan is None:
            continue
        sport, style, hour, minutes = plan
        if hour is None:  # before work, soon after waking
            wake = wakes.get(day, _wall_ms(day, 6.5))
            start_ms = wake + int(rng.integers(20, 40)) * MINUTE_MS
        else:
            start_ms = _wall_ms(day, hour + rng.normal(0, 0.4))
        start_ms -= start_ms % MINUTE_MS
        end_ms = start_ms + minutes * MINUTE_MS
        if start_ms < frame.start_ms or end_ms > frame.end_ms:
            continue
        if day in beds and end_ms > beds[day]:
            continue
        fitness = 1.0 + 0.002 * d
        sess = workouts.session(rng, sport, style, minutes, fitness)
        hr = workouts.heart_rate(rng, sess.intensity, float(resting[d]))
        track = workouts.route(rng, sess, start_ms)
        kcal = workouts.energy_kcal(sess, BODY_MASS_KG)
        done.append(_Workout(d, start_ms, sess, hr, kcal, track))
    return done


def _resting(rng: np.random.Generator, plans: list[Plan | None]) -> F64:
    """Daily resting heart rate: a slow wave, noise, and a little higher after a long session."""
    n = len(plans)
    after_long = np.array(
        [0.0] + [1.0 if p is not None and p[1] == "long" else 0.0 for p in plans[:-1]]
    )
    return np.asarray(
        58 + 2.0 * np.sin(np.arange(n) / 5.0) + 1.5 * after_long + rng.normal(0, 0.8, n),
        dtype=np.float64,
    )


def _workout_event(w: _Workout) -> Event:
    s = w.session
    details: dict[str, Any] = {
        "duration_min": float(s.minutes),
        "distance_m": w.distance_m,
        "energy_kcal": round(float(w.kcal_per_min.sum()), 1),
        "avg_heart_rate_bpm": round(float(w.hr.mean()), 1),
        "max_heart_rate_bpm": float(w.hr.max()),
        "ascent_m": workouts.ascent_m(w.track),
        "time_zone": DEMO_ZONE.key,
        "route": {
            "points": len(w.track),
            "columns": list(workouts.ROUTE_COLUMNS),
            "data": w.track,
        },
    }
    return Event(
        kind=EventKind.WORKOUT,
        start=_local(w.start_ms),
        end=_local(w.end_ms),
        title=s.title,
        details=details,
        source="demo-watch",
        device="Watch",
    )


def _stage_records(nights: list[_Night]) -> list[Observation | Event]:
    out: list[Observation | Event] = []
    for night in nights:
        for stage, lo, hi in night.stages:
            out.append(
                Observation(
                    metric="sleep_stage",
                    value=stage,
                    start=_local(night.bed_ms + round(lo) * MINUTE_MS),
                    end=_local(night.bed_ms + round(hi) * MINUTE_MS),
                    source="demo-watch",
                    device="Watch",
                )
            )
    return out


def _ar1(rng: np.random.Generator, n: int, rho: float, sd: float) -> F64:
    shocks = rng.normal(0, sd, n)
    out = np.zeros(n)
    for i in range(1, n):
        out[i] = rho * out[i - 1] + shocks[i]
    return out


def _quarters(values: F64, n: int) -> F64:
    return np.asarray(np.add.reduceat(values, np.arange(0, n, 15)), dtype=np.float64)


def _watch(
    write: _Writer,
    rng: np.random.Generator,
    frame: _Frame,
    nights: list[_Night],
    sessions: list[_Workout],
    resting: F64,
) -> None:
    """Minute heart rate, steps and energy every 15 minutes, sleep, resting HR, HRV, VO2 max."""
    n = frame.minutes
    minute_ts = frame.start_ms + np.arange(n, dtype=np.int64) * MINUTE_MS
    local_hour = ((minute_ts // MINUTE_MS + _offsets(minute_ts)) % 1440) / 60.0
    day_index = np.minimum(np.arange(n) // 1440, len(resting) - 1)
    asleep = np.zeros(n, dtype=bool)
    for night in nights:
        asleep[max(frame.index(night.bed_ms), 0) : frame.index(night.wake_ms)] = True
    circadian = 6 * np.sin((local_hour - 9) / 24 * 2 * np.pi)
    hr = resting[day_index] + np.where(asleep, -6, 12 + circadian) + _ar1(rng, n, 0.9, 1.6)
    moving = np.zeros(n, dtype=bool)
    run_steps = np.zeros(n)
    workout_kcal = np.zeros(n)
    for w in sessions:
        lo = frame.index(w.start_ms)
        hi = lo + w.session.minutes
        recover = np.arange(min(30, n - hi))
        excess = w.hr[-1] - hr[hi] if hi < n else 0.0
        hr[lo:hi] = w.hr
        hr[hi : hi + len(recover)] += excess * np.exp(-(recover + 1) / 5.0)
        moving[lo:hi] = True
        workout_kcal[lo:hi] = w.kcal_per_min
        if w.session.sport == "run":
            run_steps[lo:hi] = 150 + 6 * w.session.speed_m_s
    write.series("heart_rate", "demo-watch", "Watch", minute_ts, np.round(hr))

    walking = np.where(
        asleep | moving, 0.0, np.clip(7 + 6 * np.sin((local_hour - 8) / 14 * np.pi), 0, None)
    )
    quarter_ts = minute_ts[::15]
    steps = rng.poisson(_quarters(walking, n)) + np.round(_quarters(run_steps, n))
    write.series(
        "steps", "demo-watch", "Watch", quarter_ts, steps.astype(np.float64), 15 * MINUTE_MS
    )
    energy = np.round(0.045 * steps + _quarters(workout_kcal, n), 1)
    write.series("active_energy", "demo-watch", "Watch", quarter_ts, energy, 15 * MINUTE_MS)

    write.records("sleep_stage", _stage_records(nights))
    write.series(
        "sleep_duration",
        "demo-watch",
        "Watch",
        [night.bed_ms for night in nights],
        [night.asleep_min for night in nights],
        np.array([night.wake_ms - night.bed_ms for night in nights], dtype=np.int64),
    )
    mornings = [_wall_ms(day, 7.0) for day in frame.dates]
    keep = [i for i, t in enumerate(mornings) if t <= frame.end_ms]
    daily_ts = np.array([mornings[i] for i in keep], dtype=np.int64)
    write.series("resting_heart_rate", "demo-watch", "Watch", daily_ts, np.round(resting[keep]))
    hrv = np.round(np.clip(55 - 1.5 * (resting - 58) + rng.normal(0, 6, len(resting)), 15, 120))
    write.series("hrv_sdnn", "demo-watch", "Watch", daily_ts, hrv[keep])
    runs = [w for w in sessions if w.session.sport == "run"]
    vo2 = [round(46.0 + 0.03 * w.day + float(rng.normal(0, 0.4)), 1) for w in runs]
    write.series("vo2max", "demo-watch", "Watch", [w.end_ms for w in runs], vo2)
    write.records("workout", [_workout_event(w) for w in sessions])


def _glucose(write: _Writer, frame: _Frame, seed: int) -> tuple[I64, F64]:
    """CGM, insulin, meals and boluses from the UVA/Padova simulator."""
    start_local = datetime.fromtimestamp(frame.start_ms / 1000, DEMO_ZONE)
    run = simulate(frame.minutes / 1440, start_local.replace(tzinfo=None), seed)
    local_ms = run.times.astype(np.int64)
    cgm_ts = _utc_from_wall(local_ms)
    inside = cgm_ts <= frame.end_ms
    sample_ms = int(run.sample_min * MINUTE_MS)
    cgm = np.round(run.cgm_mg_dl)
    write.series("glucose", "demo-cgm", "CGM", cgm_ts[inside], cgm[inside])
    write.series(
        "insulin_delivered",
        "demo-pump",
        "Pump",
        cgm_ts[inside],
        np.round(run.insulin_u, 4)[inside],
        sample_ms,
    )
    meals: list[Observation | Event] = []
    boluses: list[Observation | Event] = []
    eating = (run.carbs_g > 0) & inside
    basal = float(run.insulin_u.min())  # the controller's basal is constant
    edges = np.flatnonzero(np.diff(np.concatenate(([0], eating.astype(int), [0]))))
    for lo, hi in zip(edges[::2], edges[1::2], strict=True):
        carbs = float(np.round(run.carbs_g[lo:hi].sum(), 1))
        when = _local(int(cgm_ts[lo]))
        meals.append(
            Event(
                kind=EventKind.MEAL,
                start=when,
                end=_local(int(cgm_ts[hi - 1]) + sample_ms),
                details={"carbs_g": carbs},
                source="demo-cgm",
            )
        )
        # The controller boluses in the sample after it sees the meal: the bolus is what
        # that delivery holds above the basal, recorded when it was delivered.
        at = min(hi, len(run.insulin_u) - 1)
        extra = run.insulin_u[lo : at + 1].sum() - basal * (at + 1 - lo)
        bolus = float(np.round(max(extra, 0.0), 2))
        if bolus <= 0 or not inside[at]:
            continue
        boluses.append(
            Event(
                kind=EventKind.INSULIN,
                start=_local(int(cgm_ts[at])),
                details={"insulin_u": bolus, "type": "bolus"},
                source="demo-pump",
            )
        )
    write.records("meal", meals)
    write.records("insulin", boluses)
    return cgm_ts[inside], cgm[inside]


def _manual(write: _Writer, rng: np.random.Generator, frame: _Frame) -> None:
    """Values typed in by hand: blood pressure, weight, a lab result, height, waist."""
    days = frame.dates
    flag = Quality.MANUAL_ENTRY

    def mornings(chance: float, hour: float) -> list[int]:
        chosen = [d for d in range(len(days)) if d == 0 or rng.random() < chance]
        times = [
            _wall_ms(days[d], hour + rng.normal(0, 0.25)) // MINUTE_MS * MINUTE_MS for d in chosen
        ]
        return [t for t in times if frame.start_ms <= t <= frame.end_ms]

    bp_ts = mornings(0.4, 7.6)
    systolic = np.round(121 + rng.normal(0, 6, len(bp_ts)))
    diastolic = np.round(78 + 0.4 * (systolic - 121) + rng.normal(0, 3, len(bp_ts)))
    write.series("blood_pressure_systolic", MANUAL, None, bp_ts, systolic, quality=flag)
    write.series("blood_pressure_diastolic", MANUAL, None, bp_ts, diastolic, quality=flag)
    weigh_ts = mornings(0.45, 7.2)
    drift = np.array([(t - frame.start_ms) / DAY_MS for t in weigh_ts])
    weight = np.round(BODY_MASS_KG - 0.02 * drift + rng.normal(0, 0.3, len(weigh_ts)), 1)
    write.series("body_mass", MANUAL, None, weigh_ts, weight, quality=flag)
    lab_days = range(min(2, len(days) - 1), len(days), 28)
    lab_ts = [t for t in (_wall_ms(days[d], 20.5) for d in lab_days) if t <= frame.end_ms]
    if not lab_ts:  # a demo of less than a day: the lab result of the first morning
        lab_ts = [frame.start_ms + 8 * 3_600_000]
    total = np.round(196 + rng.normal(0, 8, len(lab_ts)))
    hdl = np.round(58 + rng.normal(0, 3, len(lab_ts)))
    write.series("total_cholesterol", MANUAL, None, lab_ts, total, quality=flag)
    write.series("hdl_cholesterol", MANUAL, None, lab_ts, hdl, quality=flag)
    egfr = np.round(98 + rng.normal(0, 4, len(lab_ts)))  # kidney function, from the same draw
    write.series("egfr", MANUAL, None, lab_ts, egfr, quality=flag)
    first = [frame.start_ms + 8 * 3_600_000]
    write.series("height", MANUAL, None, first, [178.0], quality=flag)
    waist_ts = [t for t in (_wall_ms(days[d], 7.3) for d in range(0, len(days), 28))]
    waist_ts = [t for t in waist_ts if t <= frame.end_ms] or first
    write.series(
        "waist_circumference",
        MANUAL,
        None,
        waist_ts,
        np.round(84 + rng.normal(0, 0.8, len(waist_ts)), 1),
        quality=flag,
    )


def _journal(
    write: _Writer,
    rng: np.random.Generator,
    frame: _Frame,
    nights: list[_Night],
    sessions: list[_Workout],
    cgm: tuple[I64, F64],
) -> None:
    """Mood and energy every evening, and a note every other day that tells of the day."""
    slept = {_local(n.wake_ms).date(): n.asleep_min / 60 for n in nights}
    trained = {_local(w.start_ms).date(): w for w in sessions}
    cgm_ts, cgm_values = cgm
    evening_ts, moods, energies = [], [], []
    notes: list[Observation | Event] = []
    quiet = (
        "Quiet day at work.",
        "Cooked with friends, too much pasta.",
        "Spanish class after work, understood most of it.",
        "Long call with my sister.",
        "Busy day, back-to-back meetings.",
        "Walked along the canal at lunch.",
    )
    for day in frame.dates:
        at = _wall_ms(day, 21.5 + rng.normal(0, 0.3)) // MINUTE_MS * MINUTE_MS
        if at > frame.end_ms or at < frame.start_ms:
            continue
        hours = slept.get(day, 7.5)
        workout = trained.get(day)
        mood = 0.15 + 0.4 * (hours - 7.3) + (0.15 if workout else 0.0) + rng.normal(0, 0.12)
        evening_ts.append(at)
        moods.append(round(float(np.clip(mood, -1, 1)), 2))
        energies.append(
            float(np.clip(np.round(3 + 1.2 * (hours - 7.3) + rng.normal(0, 0.5)), 1, 5))
        )
        if notes and rng.random() >= 0.5:
            continue  # a note every other evening or so, starting with the first
        night = (cgm_ts >= _wall_ms(day, 0)) & (cgm_ts < _wall_ms(day, 6))
        evening = (cgm_ts >= _wall_ms(day, 18)) & (cgm_ts < at)
        if workout is not None and workout.session.style == "long":
            km = workout.distance_m / 1000
            text = (
                f"Long run, {km:.1f} km along the canal and through the park. Legs heavy, happy."
                if workout.session.sport == "run"
                else f"Rode {km:.0f} km out of the city and back. Windy on the way home."
            )
        elif workout is not None and workout.session.style == "intervals":
            text = "Intervals tonight, 6 × 4 minutes. Hard, but the last one felt strong."
        elif night.any() and cgm_values[night].min() < 70:
            text = "Went low in the night, woke up and had some juice."
        elif hours < 6.5:
            text = "Slept badly, tired all day."
        elif evening.any() and cgm_values[evening].max() > 220:
            text = "High after dinner, I think I under-counted the carbs."
        else:
            text = quiet[int(rng.integers(len(quiet)))]
        notes.append(
            Observation(
                metric="journal_note",
                value=text,
                start=_local(at + MINUTE_MS),
                source="demo-journal",
            )
        )
    write.series("mood_valence", "demo-journal", None, evening_ts, moods)
    write.series("energy_level", "demo-journal", None, evening_ts, energies)
    write.records("journal_note", notes)


def _money(write: _Writer, rng: np.random.Generator, frame: _Frame) -> None:
    """The account's statement from the first day of last month, and online orders."""
    end = _local(frame.end_ms)
    last_month = (end.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    first = min(last_month, frame.dates[0])
    rows = money.statement(rng, first, end, DEMO_ZONE)
    seen: dict[str, int] = {}
    bank: list[Observation | Event] = []
    for row in rows:
        base = f"{row.when.date().isoformat()}|{row.amount:.2f}|{row.payee}"
        seen[base] = seen.get(base, 0) + 1
        bank.append(
            Event(
                kind=EventKind.TRANSACTION,
                start=row.when,
                title=row.payee,
                details={
                    "amount": row.amount,
                    "currency": money.CURRENCY,
                    "category": row.category,
                    "payee": row.payee,
                    "type": row.type,
                },
                source="demo-bank",
                provenance=Provenance(record=f"{base}|{seen[base]}"),
            )
        )
    write.records("transaction", bank)
    orders = money.online_orders(rng, first, end, DEMO_ZONE)
    purchases: list[Observation | Event] = [
        Event(
            kind=EventKind.PURCHASE,
            start=order.when,
            title="Online order",
            details={
                "amount": order.amount,
                "currency": money.CURRENCY,
                "category": order.category,
                "items": order.items,
                "tax": round(-order.amount * 19 / 119, 2),
            },
            source="demo-shop",
            provenance=Provenance(record=f"order-{int(order.when.timestamp())}"),
        )
        for order in orders
    ]
    write.records("purchase", purchases)
    write.series(
        "transaction_amount",
        "demo-bank",
        None,
        [int(r.when.timestamp() * 1000) for r in rows],
        [r.amount for r in rows],
        unit=money.CURRENCY,
    )


def create_demo(
    store: Store,
    *,
    name: str = DEMO_NAME,
    days: int = 28,
    seed: int = 7,
    end: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Create the demo person with ``days`` days of data up to ``end`` (default: now).

    The data start at the local midnight ``days`` days before ``end`` and run up to
    ``end`` itself (today is partly there, as it would be for a real person); the bank
    statement starts on the first day of the month before. ``progress`` receives one
    message per part, numbered ``i/8``.
    """
    step = iter(range(1, STEPS + 1))

    def say(message: str) -> None:
        if progress is not None:
            progress(f"{next(step)}/{STEPS} {message}")

    streams = np.random.SeedSequence(seed).spawn(8)
    rngs = [np.random.default_rng(s) for s in streams]
    person = store.add_person(name)
    vault = store.vault(person)
    write = _Writer(vault)
    end_local = (end or datetime.now(UTC)).astimezone(DEMO_ZONE)
    first_day = (end_local - timedelta(days=days)).date()
    start_ms = _wall_ms(first_day, 0.0)
    end_ms = int(end_local.timestamp() * 1000) // MINUTE_MS * MINUTE_MS
    dates = [first_day + timedelta(days=d) for d in range((end_local.date() - first_day).days + 1)]
    frame = _Frame(start_ms, end_ms, dates)

    with store.backend.transaction():
        for scope, purpose in DEMO_GRANTS:  # a sensible set, as a person might choose at setup
            vault.grant(Scope.parse(scope), purpose, text_version="demo-1")
        vault.set_profile(**PROFILE)
        say("sleep, workouts and routes")
        plans = _plan(rngs[0], frame)
        resting = _resting(rngs[0], plans)
        nights = _nights(rngs[1], frame, plans)
        sessions = _sessions(rngs[2], frame, plans, nights, resting)
        say("heart rate, steps, energy and sleep stages")
        _watch(write, rngs[3], frame, nights, sessions, resting)
        say(f"CGM glucose with meals and insulin ({frame.minutes / 1440:.1f} simulated days)")
        cgm = _glucose(write, frame, seed)
        say("blood pressure, weight and lab values typed in by hand")
        _manual(write, rngs[4], frame)
        say("mood and journal")
        _journal(write, rngs[5], frame, nights, sessions, cgm)
        say("bank statement and online orders in EUR")
        _money(write, rngs[6], frame)
        say("flashcard reviews and exercises")
        write.records(
            "lesson_attempted", list(learning_history(rngs[7], start_ms, end_ms, DEMO_ZONE))
        )
        say("recommendation goals and budget")
        from lifetwin.packs.recommend.capability import update_settings

        update_settings(vault, goals=GOALS, monthly_budget=MONTHLY_BUDGET_EUR)
    return DemoSummary(person, days, write.observations, write.events, dict(write.counts))
