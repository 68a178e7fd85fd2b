"""The per-person step's reading side: a person's daily summaries, through consent.

Everything here runs where the vault is. ``read_daily`` reads the cohort metrics
with purpose ``research`` for the study as recipient (a person without that grant
yields nothing), lays them out one row per day, and ``sleep_examples`` turns the
days into (features, next-night-poor-sleep) examples with a fixed, data-free
scaling, so no statistic of anyone's data is needed to prepare features.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from lifetwin.population.cohort import COHORT_METRICS, DAY_MS
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Lineage
from lifetwin.store.vault import Vault

F64 = npt.NDArray[np.float64]
POOR_SLEEP_MIN = 360.0  # a night under six hours
FEATURES = (
    "resting_hr",
    "resting_hr_vs_week",
    "hrv",
    "hrv_vs_week",
    "steps_k",
    "sleep_last_night_h",
    "sleep_week_h",
    "age_decades",
    "male",
)
# Fixed centre and scale per feature (from physiology, not from anyone's data).
_CENTRE = np.array([62.0, 0.0, 40.0, 0.0, 8.0, 7.0, 7.0, 5.0, 0.5])
_SCALE = np.array([8.0, 3.0, 15.0, 8.0, 3.0, 1.0, 0.7, 1.5, 0.5])


@dataclass(frozen=True)
class DailyTable:
    """One person's days: a value per metric per day (NaN where missing)."""

    days: npt.NDArray[np.int64]  # days since the epoch (UTC)
    values: dict[str, F64]
    age: float | None
    sex: str | None
    lineage: Lineage | None

    def __len__(self) -> int:
        return len(self.days)


def _age(birth: str | None, on: date) -> float | None:
    if not birth:
        return None
    born = date.fromisoformat(birth)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def read_daily(
    vault: Vault,
    study: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    metrics: tuple[str, ...] = COHORT_METRICS,
    purpose: Purpose = Purpose.RESEARCH,
) -> DailyTable:
    """The person's daily summaries that ``purpose`` (default research) for ``study``
    as recipient may see now."""
    per_metric: dict[str, dict[int, float]] = {}
    lineage: Lineage | None = None
    for code in metrics:
        series = vault.read_series(code, purpose=purpose, recipient=study, since=since, until=until)
        lineage = series.lineage if lineage is None else lineage.merge(series.lineage)
        # a day's summary: sleep ends that morning, the others fall within the day
        day = np.floor(series.ts_ms / DAY_MS + 2 / 24).astype(np.int64)
        per_metric[code] = dict(zip(day.tolist(), series.values.tolist(), strict=True))
    all_days = sorted(set().union(*(set(d) for d in per_metric.values())))
    days = np.array(all_days, dtype=np.int64)
    values = {
        code: np.array([per_metric[code].get(d, np.nan) for d in all_days], dtype=np.float64)
        for code in metrics
    }
    age = sex = None
    if all_days:  # the profile is read only when research may see some data
        facts = vault.profile()
        last = date.fromordinal(date(1970, 1, 1).toordinal() + int(days[-1]))
        age = _age(facts.get("birth_date"), last)
        sex = facts.get("sex")
    return DailyTable(days, values, None if age is None else float(age), sex, lineage)


def _trailing_mean(x: F64, window: int) -> F64:
    """Mean of the previous ``window`` values (not including today), NaN-aware.

    >>> _trailing_mean(np.array([1.0, 3.0, 5.0, 7.0]), 2).tolist()
    [nan, 1.0, 2.0, 4.0]
    """
    out = np.full(len(x), np.nan)
    for i in range(1, len(x)):
        part = x[max(0, i - window) : i]
        part = part[~np.isnan(part)]
        if len(part):
            out[i] = part.mean()
    return out


def sleep_examples(table: DailyTable) -> tuple[F64, F64]:
    """Features of day d and whether the night after it (ending on d+1) was poor.

    Returns ``(X, y)`` with X already centred and scaled; days with a missing
    value are dropped.
    """
    v = table.values
    if len(table) < 3 or table.age is None:
        return np.zeros((0, len(FEATURES))), np.zeros(0)
    rhr, hrv = v["resting_heart_rate"], v["hrv_rmssd"]
    sleep_h = v["sleep_duration"] / 60.0
    consecutive = np.diff(table.days) == 1
    raw = np.column_stack(
        [
            rhr,
            rhr - _trailing_mean(rhr, 7),
            hrv,
            hrv - _trailing_mean(hrv, 7),
            v["steps"] / 1000.0,
            sleep_h,
            _trailing_mean(sleep_h, 7),
            np.full(len(table), table.age / 10.0),
            np.full(len(table), 1.0 if table.sex == "male" else 0.0),
        ]
    )[:-1]
    target = v["sleep_duration"][1:]
    keep = consecutive & ~np.isnan(raw).any(axis=1) & ~np.isnan(target)
    x = (raw[keep] - _CENTRE) / _SCALE
    y = (target[keep] < POOR_SLEEP_MIN).astype(np.float64)
    return x, y
