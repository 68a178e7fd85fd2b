"""Generate N synthetic twins in a real store, fast enough for population work.

Each twin gets a profile (birth date, sex, postcode) and ``days`` of daily
summaries written through the vault like any import: resting heart rate, HRV
(RMSSD), steps and last night's sleep duration. A hidden daily "strain" moves
heart rate up, HRV down and shortens the next night's sleep, so next-night poor
sleep is predictable from the day's summaries, as in real wearables data.

A share of the twins (``research_share``) grant ``research`` for the study as
recipient; the others grant nothing and must contribute nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.home import init_home, open_home
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Store, Vault

DAY_MS = 86_400_000
COHORT_METRICS = ("resting_heart_rate", "hrv_rmssd", "steps", "sleep_duration")
DEFAULT_STUDY = "study-sleep-2026"

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TwinTruth:
    """What the generator knows and a study never sees (for benchmarks only)."""

    person_id: str
    consented: bool
    age: int
    sex: str
    daily: dict[str, F64]  # metric -> one value per day


@dataclass(frozen=True)
class Cohort:
    home: Path
    study: str
    start: datetime
    days: int
    twins: tuple[TwinTruth, ...]


def simulate_days(rng: np.random.Generator, age: int, sex: str, days: int) -> dict[str, F64]:
    """One twin's daily summaries (pure: the same generator state gives the same days).

    >>> d = simulate_days(np.random.default_rng(1), 40, "female", 10)
    >>> sorted(d), len(d["steps"])
    (['hrv_rmssd', 'resting_heart_rate', 'sleep_duration', 'steps'], 10)
    """
    male = sex == "male"
    base_rhr = 63.0 + 0.08 * (age - 45) - (2.5 if male else 0.0) + rng.normal(0, 6)
    base_hrv = max(12.0, 42.0 - 0.45 * (age - 45) + rng.normal(0, 10))
    base_steps = max(1500.0, 8000.0 - 25 * (age - 45) + rng.normal(0, 2500))
    base_sleep = 430.0 - 0.4 * (age - 45) + rng.normal(0, 30)
    strain = np.zeros(days)
    for d in range(1, days):
        strain[d] = 0.6 * strain[d - 1] + rng.normal(0, 1.0)
    steps = base_steps * np.exp(rng.normal(0, 0.3, days) - 0.08 * strain)
    rhr = base_rhr + 2.0 * strain + rng.normal(0, 1.5, days)
    hrv = np.maximum(5.0, base_hrv * np.exp(-0.08 * strain + rng.normal(0, 0.08, days)))
    # sleep[d] is the night that ends on the morning of day d; it follows day d-1's strain
    sleep = np.empty(days)
    sleep[0] = base_sleep + rng.normal(0, 35)
    activity = (np.log(steps / base_steps)) * 20.0
    sleep[1:] = base_sleep - 25.0 * strain[:-1] + activity[:-1] + rng.normal(0, 30, days - 1)
    return {
        "resting_heart_rate": np.asarray(np.round(rhr, 1), dtype=np.float64),
        "hrv_rmssd": np.asarray(np.round(hrv, 1), dtype=np.float64),
        "steps": np.asarray(np.round(steps), dtype=np.float64),
        "sleep_duration": np.asarray(np.round(np.clip(sleep, 120, 720)), dtype=np.float64),
    }


def _write_twin(vault: Vault, start_ms: int, daily: dict[str, F64]) -> None:
    days = len(daily["steps"])
    day_ts = start_ms + np.arange(days, dtype=np.int64) * DAY_MS
    zeros = np.zeros(days, dtype=np.int64)
    placement = {
        # (start offset, duration): resting HR and HRV in the morning, steps over the day,
        # sleep from the evening before to the morning
        "resting_heart_rate": (7 * 3_600_000, 0),
        "hrv_rmssd": (7 * 3_600_000, 0),
        "steps": (0, DAY_MS - 1),
        "sleep_duration": (-2 * 3_600_000, 0),
    }
    units = {
        "resting_heart_rate": "bpm",
        "hrv_rmssd": "ms",
        "steps": "count",
        "sleep_duration": "min",
    }
    for code in COHORT_METRICS:
        offset, dur = placement[code]
        values = daily[code]
        dur_ms = (values * 60_000).astype(np.int64) if code == "sleep_duration" else zeros + dur
        columns = Columns(day_ts + offset, dur_ms, values, zeros, zeros, zeros, zeros)
        vault.write_columns(code, "cohort-generator", None, units[code], columns)


def make_cohort(
    home: Path,
    n: int,
    *,
    seed: int = 0,
    days: int = 35,
    study: str = DEFAULT_STUDY,
    research_share: float = 0.9,
    end: date | None = None,
) -> Cohort:
    """Create a store in ``home`` holding ``n`` twins (the home must not exist yet)."""
    rng = np.random.default_rng(seed)
    store = init_home(home)
    try:
        last = end or date(2026, 6, 30)
        start = datetime(last.year, last.month, last.day, tzinfo=UTC) - timedelta(days=days - 1)
        start_ms = int(start.timestamp() * 1000)
        twins = []
        for i in range(n):
            age = int(rng.integers(20, 81))
            sex = "female" if rng.random() < 0.5 else "male"
            birth = date(last.year - age, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            consented = bool(rng.random() < research_share)
            daily = simulate_days(rng, age, sex, days)
            with store.backend.transaction():
                person = store.add_person(f"twin-{i:06d}")
                vault = store.vault(person)
                vault.set_profile(
                    birth_date=birth.isoformat(),
                    sex=sex,
                    postcode=f"{int(rng.integers(10, 99))}{int(rng.integers(0, 999)):03d}",
                )
                if consented:
                    vault.grant(Scope.parse("all"), Purpose.RESEARCH, recipient=study)
                _write_twin(vault, start_ms, daily)
            twins.append(TwinTruth(person.id, consented, age, sex, daily))
        return Cohort(home, study, start, days, tuple(twins))
    finally:
        store.close()


def open_cohort_store(home: Path) -> Store:
    """Open a generated cohort's store (each worker opens its own connection)."""
    return open_home(home)
