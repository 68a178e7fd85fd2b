"""A demo person with several weeks of realistic, multi-source data.

Minute heart rate with a daily rhythm and workouts, steps, nightly sleep
stages, daily resting heart rate and HRV, CGM glucose with meals and insulin
from the UVA/Padova simulator, mood and journal notes, weight, and purchases.
Everything is generated from a seed, so the same seed gives the same person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from lifetwin.core.model import Event, EventKind, Observation, Provenance
from lifetwin.core.validation import plausible_mask
from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import DEMO_GRANTS, Scope
from lifetwin.services.glucose_sim import simulate
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Person, Store, Vault

DEMO_NAME = "Alex Demo"
DEMO_ZONE = ZoneInfo("Europe/Berlin")
MINUTE_MS = 60_000

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass
class DemoSummary:
    person: Person
    days: int
    observations: int
    events: int


def _columns(ts_ms: I64, values: F64, dur_ms: I64 | int, tz_min: I64) -> Columns:
    n = len(ts_ms)
    dur = np.full(n, dur_ms, dtype=np.int64) if isinstance(dur_ms, int) else dur_ms
    zeros = np.zeros(n, dtype=np.int64)
    return Columns(ts_ms, dur, values, tz_min, zeros, zeros, zeros)


class _Writer:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.observations = 0
        self.events = 0

    def series(
        self,
        code: str,
        source: str,
        device: str | None,
        ts_ms: I64,
        values: F64,
        dur_ms: I64 | int = 0,
    ) -> None:
        m = metric(code)
        keep = plausible_mask(m, values)
        tz = _offsets(ts_ms)
        cols = _columns(ts_ms, values, dur_ms, tz).take(np.flatnonzero(keep))
        self.observations += self.vault.write_columns(code, source, device, m.unit, cols).added

    def records(self, items: list[Observation | Event]) -> None:
        counts = self.vault.write_records(items)
        self.events += counts.added


def _offsets(ts_ms: I64) -> I64:
    """The demo zone's UTC offset in minutes at each time (looked up once per day)."""
    days = ts_ms // 86_400_000
    out = np.empty(len(ts_ms), dtype=np.int64)
    for day in np.unique(days):
        noon = datetime.fromtimestamp(int(day) * 86_400 + 43_200, UTC).astimezone(DEMO_ZONE)
        offset = noon.utcoffset()
        out[days == day] = 0 if offset is None else int(offset.total_seconds() // 60)
    return out


def _local(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(DEMO_ZONE)


def create_demo(
    store: Store,
    *,
    name: str = DEMO_NAME,
    days: int = 28,
    seed: int = 7,
    end: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Create the demo person with ``days`` days of data ending at ``end`` (default: now)."""
    say = progress or (lambda _message: None)
    rng = np.random.default_rng(seed)
    person = store.add_person(name)
    vault = store.vault(person)
    for scope, purpose in DEMO_GRANTS:  # a sensible set, as a person might choose at setup
        vault.grant(Scope.parse(scope), purpose, text_version="demo-1")
    write = _Writer(vault)
    end_local = (end or datetime.now(UTC)).astimezone(DEMO_ZONE)
    start_local = (end_local - timedelta(days=days)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    start_ms = int(start_local.timestamp() * 1000)
    n_min = days * 1440
    minute_ts = start_ms + np.arange(n_min, dtype=np.int64) * MINUTE_MS
    local_hour = ((minute_ts // MINUTE_MS + _offsets(minute_ts)) % 1440) / 60.0
    day_index = np.arange(n_min) // 1440

    with store.backend.transaction():
        say("heart rate, steps and sleep")
        # local hour the evening before, and hours asleep, both on whole minutes
        sleep_start = np.round((23.0 + rng.normal(0, 0.5, days)) * 60) / 60
        sleep_len = np.round(np.clip(rng.normal(7.6, 0.7, days), 5.0, 9.5) * 60) / 60
        asleep = np.zeros(n_min, dtype=bool)
        for d in range(days):
            lo = int((d * 24 + sleep_start[d] - 24) * 60)
            hi = lo + int(sleep_len[d] * 60)
            asleep[max(lo, 0) : max(hi, 0)] = True
        workout_days = rng.random(days) < 0.45
        workout = np.zeros(n_min, dtype=bool)
        for d in np.flatnonzero(workout_days).tolist():
            lo = int(d * 1440 + 18 * 60 + rng.integers(-60, 60))
            workout[lo : lo + int(rng.integers(30, 75))] = True
        resting = 58 + 2.0 * np.sin(np.arange(days) / 5.0) + rng.normal(0, 1.0, days)
        circadian = 6 * np.sin((local_hour - 9) / 24 * 2 * np.pi)
        noise = np.zeros(n_min)
        shocks = rng.normal(0, 1.6, n_min)
        for i in range(1, n_min):  # AR(1) minute-to-minute variation
            noise[i] = 0.9 * noise[i - 1] + shocks[i]
        hr = resting[day_index] + np.where(asleep, -6, 12 + circadian) + noise
        hr = np.where(workout, hr + 60 + rng.normal(0, 6, n_min), hr)
        write.series("heart_rate", "demo-watch", "Watch", minute_ts, np.round(hr))

        quarter = minute_ts[::15]
        awake_q = ~asleep[::15]
        steps_mean = np.where(awake_q, 180 + 120 * np.sin((local_hour[::15] - 8) / 14 * np.pi), 0)
        steps_mean = np.where(workout[::15], 1500, np.clip(steps_mean, 0, None))
        steps = rng.poisson(steps_mean).astype(np.float64)
        write.series("steps", "demo-watch", "Watch", quarter, steps, 15 * MINUTE_MS)

        stages: list[Observation | Event] = []
        for d in range(days):
            t = start_ms + round((d * 24 + sleep_start[d] - 24) * 60) * MINUTE_MS
            stop = t + round(sleep_len[d] * 60) * MINUTE_MS
            if t < start_ms:
                continue
            cycle = 0
            while t < stop:
                for stage, minutes in (
                    ("light", 35),
                    ("deep", 25 - 4 * cycle),
                    ("light", 15),
                    ("rem", 15 + 5 * cycle),
                    ("awake", 3),
                ):
                    length = max(int(minutes + rng.normal(0, 4)), 2) * MINUTE_MS
                    seg_end = min(t + length, stop)
                    if seg_end <= t:
                        break
                    stages.append(
                        Observation(
                            metric="sleep_stage",
                            value=stage,
                            start=_local(t),
                            end=_local(seg_end),
                            source="demo-watch",
                            device="Watch",
                        )
                    )
                    t = seg_end
                cycle = min(cycle + 1, 4)
        write.records(stages)

        daily_ts = start_ms + np.arange(days, dtype=np.int64) * 86_400_000 + 7 * 3_600_000
        write.series("resting_heart_rate", "demo-watch", "Watch", daily_ts, np.round(resting))
        hrv = np.round(np.clip(55 - 1.5 * (resting - 58) + rng.normal(0, 6, days), 15, 120)).astype(
            np.float64
        )
        write.series("hrv_sdnn", "demo-watch", "Watch", daily_ts, hrv)
        weigh_days = np.arange(0, days, 3)
        weight = np.round(72.4 + np.cumsum(rng.normal(-0.03, 0.15, len(weigh_days))), 1)
        write.series("body_mass", "demo-scale", "Scale", daily_ts[weigh_days], weight)

        say(f"CGM glucose with meals and insulin ({days} simulated days)")
        run = simulate(days, start_local.replace(tzinfo=None), seed)
        local_ms = run.times.astype(np.int64)
        # simglucose runs in naive local time; shift each sample to UTC.
        cgm_ts = local_ms - _offsets(local_ms) * MINUTE_MS
        sample_ms = int(run.sample_min * MINUTE_MS)
        write.series("glucose", "demo-cgm", "CGM", cgm_ts, np.round(run.cgm_mg_dl))
        write.series(
            "insulin_delivered", "demo-pump", "Pump", cgm_ts, np.round(run.insulin_u, 4), sample_ms
        )
        meals: list[Observation | Event] = []
        eating = run.carbs_g > 0
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
            bolus = float(np.round(run.insulin_u[lo:hi].sum(), 2))
            meals.append(
                Event(
                    kind=EventKind.INSULIN,
                    start=when,
                    details={"insulin_u": bolus, "type": "bolus"},
                    source="demo-pump",
                )
            )
        write.records(meals)

        say("mood, journal and purchases")
        evening = daily_ts + 14 * 3_600_000
        sleep_effect = (sleep_len - 7.5) * 0.15
        mood = np.round(np.clip(0.2 + sleep_effect + rng.normal(0, 0.25, days), -1, 1), 2).astype(
            np.float64
        )
        write.series("mood_valence", "demo-journal", None, evening, mood)
        energy = np.round(np.clip(3 + sleep_effect * 4 + rng.normal(0, 0.7, days), 1, 5)).astype(
            np.float64
        )
        write.series("energy_level", "demo-journal", None, evening, energy)
        notes = [
            "Long walk at lunch, felt good.",
            "Slept badly, busy day at work.",
            "Tried the new pasta place.",
            "Headache in the afternoon.",
            "Great run, new personal best on 5k.",
        ]
        journal: list[Observation | Event] = [
            Observation(
                metric="journal_note",
                value=notes[d % len(notes)],
                start=_local(int(evening[d])),
                source="demo-journal",
            )
            for d in range(0, days, 3)
        ]
        write.records(journal)
        shops = [
            ("Grocer", "groceries", 15, 80),
            ("Cafe", "eating_out", 3, 12),
            ("Bookshop", "books", 8, 30),
            ("Pharmacy", "health", 5, 40),
            ("Transit", "transport", 2, 5),
        ]
        purchases: list[Observation | Event] = []
        amount_ts: list[int] = []
        amounts: list[float] = []
        for d in range(days):
            for _ in range(int(rng.poisson(1.6))):
                merchant, category, low, high = shops[int(rng.integers(len(shops)))]
                ts = int(daily_ts[d] + rng.integers(2, 13) * 3_600_000)
                amount = float(np.round(rng.uniform(low, high), 2))
                purchases.append(
                    Event(
                        kind=EventKind.PURCHASE,
                        start=_local(ts),
                        title=merchant,
                        details={"amount": amount, "currency": "EUR", "category": category},
                        source="demo-bank",
                        provenance=Provenance(record=f"tx-{d}-{ts}"),
                    )
                )
                amount_ts.append(ts)
                amounts.append(-amount)
        write.records(purchases)
        order = np.argsort(amount_ts)
        vault.write_columns(
            "transaction_amount",
            "demo-bank",
            None,
            "EUR",
            _columns(
                np.array(amount_ts, dtype=np.int64)[order],
                np.array(amounts)[order],
                0,
                _offsets(np.array(amount_ts)[order]),
            ),
        )
        write.observations += len(amounts)
    return DemoSummary(person, days, write.observations, write.events)
