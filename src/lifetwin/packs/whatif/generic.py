"""What-if for metrics without a mechanistic model: a per-person lagged regression.

For an outcome (mood, resting heart rate, sleep, spending) and a driver the person can
change (hours of sleep, exercise minutes), one value a day::

    y[t] = a + sum_l b_l x[t - l] + phi y[t - 1] + e[t]

is fitted on the person's own days by least squares, and a what-if ("x at this level
every day instead of my usual") is the difference it implies, built up day by day
through ``phi``. Intervals come from a moving-block bootstrap over days (blocks of a
week keep weekly rhythms and autocorrelation together). Every result is labelled
**association, not cause**: these are the person's own co-variations, not an
experiment. A level outside the range the person has actually lived is refused
(:class:`ExtrapolationError`): the data say nothing about it.

>>> rng = np.random.default_rng(0)
>>> sleep = rng.uniform(6, 9, 120)
>>> mood = 0.3 * np.r_[np.nan, sleep[:-1]] + rng.normal(0, 0.1, 120)
>>> m = fit_lagged(mood, sleep, lags=(1,), outcome="mood", driver="sleep_h")
>>> r = what_if_level(m, 8.5, horizon_days=7)
>>> r.label, 0.1 < r.change < 0.5
('association, not cause', True)
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from lifetwin.core.errors import LifeTwinError

F64 = npt.NDArray[np.float64]
LABEL = "association, not cause"


class ExtrapolationError(LifeTwinError):
    """A what-if outside the range of the person's own days."""


class LaggedModel(BaseModel):
    """A person's lagged association between a driver and an outcome."""

    model_config = ConfigDict(frozen=True)

    outcome: str
    driver: str
    lags: tuple[int, ...]
    intercept: float
    coef: tuple[float, ...]  # one per lag
    phi: float  # the outcome's own lag-1 weight
    boot: list[list[float]]  # bootstrap (coef..., phi) rows
    days: int
    r2: float
    driver_lived: tuple[float, float]  # the lowest and highest driver level of the days used
    driver_usual: float  # the mean of the last 28 days used
    label: str = LABEL


def _design(y: F64, x: F64, lags: tuple[int, ...], ar: bool) -> tuple[F64, F64]:
    start = max(max(lags), 1 if ar else 0)
    cols = [np.ones(len(y) - start)]
    cols += [x[start - lag : len(x) - lag] for lag in lags]
    if ar:
        cols.append(y[start - 1 : -1])
    design = np.column_stack(cols)
    target = y[start:]
    ok = np.isfinite(target) & np.all(np.isfinite(design), axis=1)
    return design[ok], target[ok]


def fit_lagged(
    outcome_daily: F64,
    driver_daily: F64,
    *,
    lags: tuple[int, ...] = (0, 1),
    outcome: str = "outcome",
    driver: str = "driver",
    autoregressive: bool = True,
    boot: int = 300,
    block_days: int = 7,
    seed: int = 0,
) -> LaggedModel:
    """Fit the lagged regression on aligned daily arrays (NaN: no value that day)."""
    y = np.asarray(outcome_daily, dtype=float)
    x = np.asarray(driver_daily, dtype=float)
    design, target = _design(y, x, lags, autoregressive)
    if len(target) < 21:
        raise LifeTwinError(
            f"An association of {outcome} with {driver} needs at least 21 days with both; "
            f"there are {len(target)}."
        )
    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ beta
    r2 = 1 - float(resid.var() / target.var()) if target.var() > 0 else 0.0
    rng = np.random.default_rng(seed)
    n = len(target)
    rows = []
    for _ in range(boot):
        starts = rng.integers(0, max(n - block_days, 1), size=n // block_days + 1)
        pick = np.concatenate([np.arange(s, min(s + block_days, n)) for s in starts])[:n]
        b, *_ = np.linalg.lstsq(design[pick], target[pick], rcond=None)
        rows.append(b[1:].tolist() if autoregressive else [*b[1:].tolist(), 0.0])
    used_x = x[np.isfinite(x)]
    phi = float(beta[-1]) if autoregressive else 0.0
    return LaggedModel(
        outcome=outcome,
        driver=driver,
        lags=tuple(lags),
        intercept=float(beta[0]),
        coef=tuple(float(b) for b in beta[1 : 1 + len(lags)]),
        phi=phi,
        boot=rows,
        days=n,
        r2=r2,
        driver_lived=(float(used_x.min()), float(used_x.max())),
        driver_usual=float(np.mean(used_x[-28:])),
    )


class AssociationWhatIf(BaseModel):
    """The outcome's change if the driver were at ``level`` every day of the horizon."""

    model_config = ConfigDict(frozen=True)

    outcome: str
    driver: str
    level: float
    usual: float
    change: float  # mean difference over the horizon (outcome units)
    low: float  # 90 % bootstrap interval
    high: float
    per_day: list[float]
    label: str = LABEL
    sentence: str


def _path(coef: F64, phi: float, lags: tuple[int, ...], delta: float, days: int) -> F64:
    out = np.zeros(days)
    prev = 0.0
    phi = float(np.clip(phi, -0.95, 0.95))  # a bootstrap draw can be explosive
    for t in range(days):
        now = sum(c * delta for c, lag in zip(coef, lags, strict=True) if t - lag >= 0)
        prev = now + phi * prev
        out[t] = prev
    return out


def what_if_level(model: LaggedModel, level: float, *, horizon_days: int = 7) -> AssociationWhatIf:
    """What the person's own days associate with the driver at ``level`` each day."""
    lo, hi = model.driver_lived
    if not lo <= level <= hi:
        raise ExtrapolationError(
            f"{level:g} {model.driver} is outside the range you have lived "
            f"({lo:g}–{hi:g}), so your data cannot say what would happen."
        )
    delta = level - model.driver_usual
    point = _path(np.array(model.coef), model.phi, model.lags, delta, horizon_days)
    draws = np.array(
        [
            _path(np.array(row[:-1]), row[-1], model.lags, delta, horizon_days).mean()
            for row in model.boot
        ]
    )
    low, high = (
        (float(np.percentile(draws, 5)), float(np.percentile(draws, 95)))
        if len(draws)
        else (float(point.mean()),) * 2
    )
    change = float(point.mean())
    sentence = (
        f"On days like yours, {model.driver} at {level:g} instead of your usual "
        f"{model.driver_usual:.3g} goes with {model.outcome} "
        f"{'higher' if change >= 0 else 'lower'} by {abs(change):.2g} "
        f"(90 % interval {low:.2g} to {high:.2g}); {LABEL}."
    )
    return AssociationWhatIf(
        outcome=model.outcome,
        driver=model.driver,
        level=level,
        usual=model.driver_usual,
        change=change,
        low=low,
        high=high,
        per_day=point.tolist(),
        sentence=sentence,
    )


def daily_totals(
    ts_ms: npt.NDArray[np.int64], values: F64, day0_ms: int, days: int, tz_min: int = 0
) -> F64:
    """Sum of values per local day (NaN for days without any value)."""
    out = np.full(days, np.nan)
    idx = (ts_ms + tz_min * 60_000 - day0_ms) // 86_400_000
    ok = (idx >= 0) & (idx < days)
    if ok.any():
        sums = np.bincount(idx[ok], weights=values[ok], minlength=days)
        seen = np.bincount(idx[ok], minlength=days) > 0
        out[seen] = sums[seen]
    return cast(F64, out)


def daily_means(
    ts_ms: npt.NDArray[np.int64], values: F64, day0_ms: int, days: int, tz_min: int = 0
) -> F64:
    """Mean of values per local day (NaN for days without any value)."""
    sums = daily_totals(ts_ms, values, day0_ms, days, tz_min)
    counts = daily_totals(ts_ms, np.ones(len(values)), day0_ms, days, tz_min)
    return sums / counts
