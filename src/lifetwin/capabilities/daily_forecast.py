"""Forecasts for daily metrics (resting heart rate, sleep, weight, spending, ...).

Each person's daily series is forecast by an additive Holt-Winters with a damped trend
and a weekly season, learned one day at a time (river's HoltWinters was the first
choice; it drifts on a flat weekly series: it is the peer in docs/benchmarks.md).
Intervals are split-conformal: the empirical quantiles of the model's own past errors
at each horizon (from forecasts it made before it saw the day), so they say how wrong
*this* model has been for *this* person. A missing day is filled with the model's own
one-day forecast so the weekly season stays aligned (and is not counted as an error).

``backtest`` replays a series with a rolling origin and compares against the naive
(yesterday's value) and seasonal naive (the same weekday last week) forecasts: MAE
per horizon and the share of actual values inside the intervals.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from lifetwin.capabilities.daily import daily_values
from lifetwin.capabilities.measures import asleep_night, money_out
from lifetwin.capabilities.models import register
from lifetwin.core.errors import LifeTwinError
from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Derived
from lifetwin.store.vault import Vault

F64 = npt.NDArray[np.float64]
SEASON = 7
MIN_DAYS = 21  # days of data before a forecast is made


@dataclass
class DayForecast:
    horizon: int  # days ahead
    value: float
    low: float
    high: float
    day: str | None = None  # the date forecast, when known


@register("daily")
class DailyForecaster:
    """Online additive Holt-Winters with a damped trend, ETS(A,Ad,A), on one daily
    series with a weekly season; conformal intervals per horizon.

    Each day: error e = y - (level + phi·trend + season[t-7]); level += phi·trend + alpha·e;
    trend = phi·trend + beta·e; season[t] = season[t-7] + gamma·e. The first week sets
    the level (its mean) and the season (its deviations); until then the forecast is the
    last value. The forecast h days ahead is level + (phi + … + phi^h)·trend + the season
    of that weekday.
    """

    name = "daily"

    def __init__(
        self,
        alpha: float = 0.15,
        beta: float = 0.01,
        gamma: float = 0.1,
        phi: float = 0.9,
        horizon: int = 14,
        coverage: float = 0.8,
        error_window: int = 365,
    ) -> None:
        self.alpha, self.beta, self.gamma, self.phi = alpha, beta, gamma, phi
        self.horizon = horizon
        self.coverage = coverage
        self.error_window = error_window
        self.level = math.nan
        self.trend = 0.0
        self.season: list[float] = []  # the last SEASON seasonal terms, oldest first
        self.first: list[float] = []  # the first week, before the model starts
        self.seen = 0
        self.last = math.nan
        self._pending: deque[list[float]] = deque(maxlen=horizon)  # forecasts made, newest last
        self._errors: list[deque[float]] = [deque(maxlen=error_window) for _ in range(horizon)]

    def _ready(self) -> bool:
        return bool(self.season)

    def learn_one(self, x: Any, y: float | None) -> None:
        """Learn one day's value (None or NaN: a missing day, filled with the forecast)."""
        del x
        missing = y is None or not math.isfinite(y)
        if missing and not self._ready():
            return  # nothing to fill a gap with yet; skip it
        value = self._forecast(1)[0] if missing or y is None else float(y)
        if not missing:  # score the forecasts made for this day before learning it
            for age, made in enumerate(reversed(self._pending)):
                if age < len(made):
                    self._errors[age].append(value - made[age])
        self._update(value)
        self._pending.append(self._forecast(self.horizon) if self._ready() else [])

    def _update(self, value: float) -> None:
        self.seen += 1
        self.last = value
        if not self._ready():
            self.first.append(value)
            if len(self.first) == SEASON:
                self.level = sum(self.first) / SEASON
                self.season = [v - self.level for v in self.first]
                self.first = []
            return
        error = value - (self.level + self.phi * self.trend + self.season[0])
        self.level += self.phi * self.trend + self.alpha * error
        self.trend = self.phi * self.trend + self.beta * error
        self.season = [*self.season[1:], self.season[0] + self.gamma * error]

    def _forecast(self, steps: int) -> list[float]:
        if not self._ready():
            return [self.last] * steps
        out, damp, power = [], 0.0, 1.0
        for h in range(1, steps + 1):
            power *= self.phi
            damp += power
            out.append(self.level + damp * self.trend + self.season[(h - 1) % SEASON])
        return out

    def predict_one(self, x: Any = None) -> list[DayForecast]:
        del x
        if self.seen == 0:
            return []
        out = []
        alpha = (1 - self.coverage) / 2
        spread = 0.0
        for h, value in enumerate(self._forecast(self.horizon), start=1):
            errors = np.array(self._errors[h - 1])
            if len(errors) >= 10:
                lo, hi = (float(q) for q in np.quantile(errors, [alpha, 1 - alpha]))
            else:  # too few errors yet: widen by what one-day errors there are, or the level
                base = np.array(self._errors[0]) if len(self._errors[0]) >= 2 else None
                spread = float(np.std(base)) if base is not None else abs(value) * 0.1
                lo, hi = -1.28 * spread * math.sqrt(h), 1.28 * spread * math.sqrt(h)
            out.append(DayForecast(h, value, value + min(0.0, lo), value + max(0.0, hi)))
        return out

    def explain_one(self, x: Any = None) -> dict[str, float]:
        """The next day's forecast as level + damped trend + the weekday's season."""
        del x
        if not self._ready():
            return {"last_value": self.last}
        return {
            "level": self.level,
            "trend": self.phi * self.trend,
            "season": self.season[0],
        }

    def _params(self) -> tuple[float, float, float, float, int, float, int]:
        """The constructor's arguments, in order (what clone and to_json keep)."""
        return (
            self.alpha,
            self.beta,
            self.gamma,
            self.phi,
            self.horizon,
            self.coverage,
            self.error_window,
        )

    def clone(self) -> DailyForecaster:
        return DailyForecaster(*self._params())

    def to_json(self) -> str:
        return json.dumps(
            {
                "params": list(self._params()),
                "level": self.level,
                "trend": self.trend,
                "season": self.season,
                "first": self.first,
                "seen": self.seen,
                "last": self.last,
                "pending": list(self._pending),
                "errors": [list(e) for e in self._errors],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DailyForecaster:
        raw: dict[str, Any] = json.loads(text)
        model = cls(*raw["params"])
        model.level, model.trend, model.season = raw["level"], raw["trend"], raw["season"]
        model.first, model.seen, model.last = raw["first"], raw["seen"], raw["last"]
        model._pending.extend(raw["pending"])
        for kept, errors in zip(model._errors, raw["errors"], strict=True):
            kept.extend(errors)
        return model

    @staticmethod
    def example(n: int, seed: int) -> list[tuple[Any, Any]]:
        rng = np.random.default_rng(seed)
        days = np.arange(n)
        values = 60 + 2 * np.sin(2 * np.pi * days / 7) + rng.normal(0, 1, n)
        values[rng.random(n) < 0.05] = np.nan
        return [(None, float(v)) for v in values]


# -- daily series from a vault -----------------------------------------------------------
def daily_series(
    vault: Vault, name: str, purpose: Purpose = Purpose.FORECASTING
) -> tuple[int, F64, str, Any]:
    """(first epoch day, one value per local day with NaN gaps, unit, lineage)."""
    epoch = date(1970, 1, 1).toordinal()
    by_day: dict[int, float] = {}
    if name == "sleep":
        records = vault.read_records("sleep_stage", purpose=purpose)
        for item in records:
            night = asleep_night(item)
            if night is not None and item.end is not None:
                day = night.toordinal() - epoch
                by_day[day] = by_day.get(day, 0.0) + (item.end - item.start).total_seconds() / 60
        unit, lineage = "min", records.lineage
    elif name == "spending":
        lineage = None
        for kind in ("event:purchase", "event:transaction"):
            records = vault.read_records(kind, purpose=purpose)
            lineage = records.lineage if lineage is None else lineage.merge(records.lineage)
            for item in records:
                spent = money_out(item, kind)
                if spent > 0:
                    day = item.start.date().toordinal() - epoch
                    by_day[day] = by_day.get(day, 0.0) + spent
        unit = "currency"
    else:
        m = metric(name)
        if not m.is_numeric:
            raise LifeTwinError(f"{m.code} is not numeric; daily forecasts need numbers.")
        series = vault.read_series(m.code, purpose=purpose)
        by_day = daily_values(series)
        unit, lineage = series.unit, series.lineage
    if not by_day:
        return 0, np.zeros(0), unit, lineage
    first, last = min(by_day), max(by_day)
    values = np.full(last - first + 1, np.nan)
    for day, value in by_day.items():
        values[day - first] = value
    return first, values, unit, lineage


@dataclass
class Backtest:
    days: int
    horizons: list[int]
    mae: dict[str, list[float | None]]  # model -> MAE per horizon (None: nothing to score)
    coverage: list[float | None]  # share of actual values inside the interval, per horizon
    nominal: float


def backtest(values: F64, horizons: tuple[int, ...] = (1, 7, 14), start: int = 28) -> Backtest:
    """Rolling-origin evaluation: at every day from ``start`` the model (fitted on the
    days before only) forecasts each horizon; errors are taken where the day is known."""
    model = DailyForecaster(horizon=max(horizons))
    errors: dict[str, dict[int, list[float]]] = {
        k: {h: [] for h in horizons} for k in ("holt_winters", "naive", "seasonal_naive")
    }
    inside: dict[int, list[bool]] = {h: [] for h in horizons}
    for t, value in enumerate(values):
        if t >= start and model.seen >= 2 * SEASON:
            made = model.predict_one()
            known = values[:t]
            last = known[np.isfinite(known)]
            for h in horizons:
                target = t + h - 1
                if target >= len(values) or not np.isfinite(values[target]) or not len(last):
                    continue
                actual = float(values[target])
                f = made[h - 1]
                errors["holt_winters"][h].append(abs(actual - f.value))
                errors["naive"][h].append(abs(actual - float(last[-1])))
                back = target - SEASON * math.ceil(h / SEASON)
                if back >= 0 and np.isfinite(values[back]):
                    errors["seasonal_naive"][h].append(abs(actual - float(values[back])))
                inside[h].append(f.low <= actual <= f.high)
        model.learn_one(None, float(value))
    return Backtest(
        days=len(values),
        horizons=list(horizons),
        mae={
            k: [round(float(np.mean(v[h])), 3) if v[h] else None for h in horizons]
            for k, v in errors.items()
        },
        coverage=[round(float(np.mean(inside[h])), 3) if inside[h] else None for h in horizons],
        nominal=model.coverage,
    )


@dataclass
class DailyResult:
    name: str
    unit: str
    last_day: str
    days: int
    forecasts: list[DayForecast]
    explanation: dict[str, float]
    backtest: Backtest


def forecast_daily(vault: Vault, name: str, horizon: int = 7) -> DailyResult | None:
    """Fit the person's daily model for a metric, forecast ``horizon`` days, backtest it;
    store the result with its lineage. None when there are fewer than MIN_DAYS days."""
    first, values, unit, lineage = daily_series(vault, name)
    if np.count_nonzero(np.isfinite(values)) < MIN_DAYS:
        return None
    model = DailyForecaster(horizon=max(horizon, 1))
    for value in values:
        model.learn_one(None, float(value))
    last = date(1970, 1, 1) + timedelta(days=first + len(values) - 1)
    forecasts = model.predict_one()[:horizon]
    for f in forecasts:
        f.day = (last + timedelta(days=f.horizon)).isoformat()
    result = DailyResult(
        name=name,
        unit=unit,
        last_day=last.isoformat(),
        days=int(np.count_nonzero(np.isfinite(values))),
        forecasts=forecasts,
        explanation=model.explain_one(),
        backtest=backtest(values, tuple(h for h in (1, 7, 14) if h <= max(horizon, 1)) or (1,)),
    )
    if lineage is not None:
        vault.save_derived(
            Derived(
                name=f"forecast:{name}",
                kind="forecast",
                lineage=lineage,
                payload={
                    "computed": datetime.now(UTC).isoformat(),
                    "model": model.to_json(),
                    "forecasts": [f.__dict__ for f in forecasts],
                },
            )
        )
    return result
