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
per horizon and the share of actual values inside the intervals. The model keeps the
same record as it learns (:meth:`DailyForecaster.scorecard`), so a person's forecast
does not replay their history.

A person's model is kept in their vault, one per metric, by
:mod:`lifetwin.models.runner`: :func:`forecast_daily` learns only the days completed since
it last learned (the newest day, which may still grow, is learned on a copy for each
forecast) and refits only when a learned day's data changed.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Self

import numpy as np
import numpy.typing as npt

from lifetwin.capabilities.daily import daily_values
from lifetwin.capabilities.measures import asleep_night, money_out
from lifetwin.core.errors import LifeTwinError
from lifetwin.core.vocabulary import metric
from lifetwin.models.contract import (
    DAY_MS,
    JSON,
    ExampleData,
    Examples,
    FeatureSpec,
    InputData,
    PersonalModel,
    PurposeNotGrantedError,
    SeriesData,
)
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Derived, Lineage
from lifetwin.store.vault import Records, Series, Vault

F64 = npt.NDArray[np.float64]
SEASON = 7
MIN_DAYS = 21  # days of data before a forecast is made
SCORE_HORIZONS = (1, 7, 14)  # the rolling-origin record's horizons
SCORE_START = 28  # ... from this many days after the first
_EPOCH = date(1970, 1, 1).toordinal()


@dataclass
class DayForecast:
    horizon: int  # days ahead
    value: float
    low: float
    high: float
    day: str | None = None  # the date forecast, when known


@dataclass
class Backtest:
    days: int
    horizons: list[int]
    mae: dict[str, list[float | None]]  # model -> MAE per horizon (None: nothing to score)
    coverage: list[float | None]  # share of actual values inside the interval, per horizon
    nominal: float


class DailyForecaster(PersonalModel[None, float | None]):
    """Online additive Holt-Winters with a damped trend, ETS(A,Ad,A), on one daily
    series with a weekly season; conformal intervals per horizon.

    Each day: error e = y - (level + phi·trend + season[t-7]); level += phi·trend + alpha·e;
    trend = phi·trend + beta·e; season[t] = season[t-7] + gamma·e. The first week sets
    the level (its mean) and the season (its deviations); until then the forecast is the
    last value. The forecast h days ahead is level + (phi + … + phi^h)·trend + the season
    of that weekday.

    ``metric``: what a person's data is read as (a numeric metric's daily mean or sum,
    ``sleep`` minutes asleep a night, ``spending`` money out a day). Forecasts for a
    horizon do not depend on ``horizon`` (the longest kept), so one model serves any
    shorter one.
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
        metric: str = "resting_heart_rate",
    ) -> None:
        self.alpha, self.beta, self.gamma, self.phi = alpha, beta, gamma, phi
        self.horizon = horizon
        self.coverage = coverage
        self.error_window = error_window
        self.metric = metric
        self.level = math.nan
        self.trend = 0.0
        self.season: list[float] = []  # the last SEASON seasonal terms, oldest first
        self.first: list[float] = []  # the first week, before the model starts
        self.seen = 0
        self.observed = 0  # days with a value (not filled)
        self.last = math.nan
        self._pending: deque[list[float]] = deque(maxlen=horizon)  # forecasts made, newest last
        self._errors: list[deque[float]] = [deque(maxlen=error_window) for _ in range(horizon)]
        # the rolling-origin record (see ``backtest``): days so far, the last observed
        # values, the forecasts made at each origin, and the errors per model and horizon
        self._t = 0
        self._recent: deque[float] = deque(maxlen=SEASON * 2)
        self._last_value: float | None = None
        self._origins: deque[tuple[int, list[list[float]], float]] = deque(
            maxlen=max(SCORE_HORIZONS)
        )
        self._scores: dict[str, list[list[float]]] = {
            k: [[] for _ in SCORE_HORIZONS] for k in ("holt_winters", "naive", "seasonal_naive")
        }
        self._inside: list[list[bool]] = [[] for _ in SCORE_HORIZONS]

    def _ready(self) -> bool:
        return bool(self.season)

    def learn_one(self, x: None, y: float | None) -> None:
        """Learn one day's value (None or NaN: a missing day, filled with the forecast)."""
        del x
        missing = y is None or not math.isfinite(y)
        self._score(None if missing else y)
        if missing and not self._ready():
            return  # nothing to fill a gap with yet; skip it
        value = self._forecast(1)[0] if missing or y is None else float(y)
        if not missing:  # score the forecasts made for this day before learning it
            self.observed += 1
            for age, made in enumerate(reversed(self._pending)):
                if age < len(made):
                    self._errors[age].append(value - made[age])
        self._update(value)
        self._pending.append(self._forecast(self.horizon) if self._ready() else [])

    def _score(self, value: float | None) -> None:
        """The rolling-origin record: forecast from today's origin (before today is
        learned), then score every origin whose target is today."""
        t = self._t
        if t >= SCORE_START and self.seen >= 2 * SEASON and self._last_value is not None:
            values = self._forecast(max(SCORE_HORIZONS))
            made = []
            for h in SCORE_HORIZONS:
                f = self._interval(h, values[h - 1]) if h <= self.horizon else None
                made.append([] if f is None else [f.value, f.low, f.high])
            self._origins.append((t, made, self._last_value))
        if value is not None:
            for origin, made, naive in self._origins:
                for k, h in enumerate(SCORE_HORIZONS):
                    if origin + h - 1 != t or not made[k]:
                        continue
                    forecast, low, high = made[k]
                    self._scores["holt_winters"][k].append(abs(value - forecast))
                    self._scores["naive"][k].append(abs(value - naive))
                    back = t - SEASON * math.ceil(h / SEASON)
                    if back >= 0 and t - back <= len(self._recent):
                        earlier = self._recent[len(self._recent) - (t - back)]
                        if math.isfinite(earlier):
                            self._scores["seasonal_naive"][k].append(abs(value - earlier))
                    self._inside[k].append(low <= value <= high)
            self._last_value = value
        self._recent.append(math.nan if value is None else value)
        self._t += 1

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

    def predict_one(self, x: None = None) -> list[DayForecast]:
        del x
        if self.seen == 0:
            return []
        values = self._forecast(self.horizon)
        return [self._interval(h, value) for h, value in enumerate(values, start=1)]

    def _interval(self, h: int, value: float) -> DayForecast:
        alpha = (1 - self.coverage) / 2
        errors = np.array(self._errors[h - 1])
        if len(errors) >= 10:
            lo, hi = (float(q) for q in np.quantile(errors, [alpha, 1 - alpha]))
        else:  # too few errors yet: widen by what one-day errors there are, or the level
            base = np.array(self._errors[0]) if len(self._errors[0]) >= 2 else None
            spread = float(np.std(base)) if base is not None else abs(value) * 0.1
            lo, hi = -1.28 * spread * math.sqrt(h), 1.28 * spread * math.sqrt(h)
        return DayForecast(h, value, value + min(0.0, lo), value + max(0.0, hi))

    def explain_one(self, x: None = None) -> dict[str, float]:
        """The next day's forecast as level + damped trend + the weekday's season."""
        del x
        if not self._ready():
            return {"last_value": self.last}
        return {
            "level": self.level,
            "trend": self.phi * self.trend,
            "season": self.season[0],
        }

    def truth(self, x: None, y: float | None) -> dict[int, float]:
        """Before a day is learned, the one-day-ahead forecast is about that day."""
        return {} if y is None or not math.isfinite(y) else {1: float(y)}

    def scorecard(self, horizons: Sequence[int] = SCORE_HORIZONS) -> Backtest:
        """The rolling-origin record so far (what :func:`backtest` computes from the days
        learned), for the given horizons (of ``SCORE_HORIZONS``)."""
        ks = [SCORE_HORIZONS.index(h) for h in horizons]
        return Backtest(
            days=self._t,
            horizons=list(horizons),
            mae={
                name: [round(float(np.mean(v[k])), 3) if v[k] else None for k in ks]
                for name, v in self._scores.items()
            },
            coverage=[
                round(float(np.mean(self._inside[k])), 3) if self._inside[k] else None for k in ks
            ],
            nominal=self.coverage,
        )

    def params(self) -> dict[str, JSON]:
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "gamma": self.gamma,
            "phi": self.phi,
            "horizon": self.horizon,
            "coverage": self.coverage,
            "error_window": self.error_window,
            "metric": self.metric,
        }

    def to_state(self) -> bytes:
        return json.dumps(
            {
                "params": self.params(),
                "level": self.level,
                "trend": self.trend,
                "season": self.season,
                "first": self.first,
                "seen": self.seen,
                "observed": self.observed,
                "last": self.last,
                "pending": list(self._pending),
                "errors": [list(e) for e in self._errors],
                "t": self._t,
                "recent": list(self._recent),
                "last_value": self._last_value,
                "origins": [list(o) for o in self._origins],
                "scores": self._scores,
                "inside": self._inside,
            }
        ).encode()

    @classmethod
    def from_state(cls, state: bytes) -> Self:
        raw = json.loads(state)
        model = cls(**raw["params"])
        model.level, model.trend, model.season = raw["level"], raw["trend"], raw["season"]
        model.first, model.seen, model.last = raw["first"], raw["seen"], raw["last"]
        model.observed = raw["observed"]
        model._pending.extend(raw["pending"])
        for kept, errors in zip(model._errors, raw["errors"], strict=True):
            kept.extend(errors)
        model._t, model._last_value = raw["t"], raw["last_value"]
        model._recent.extend(raw["recent"])
        model._origins.extend((int(t), made, float(naive)) for t, made, naive in raw["origins"])
        model._scores = raw["scores"]
        model._inside = raw["inside"]
        return model

    # -- a person's data ------------------------------------------------------------------
    def inputs(self) -> tuple[str, ...]:
        """What the metric is read from."""
        if self.metric == "sleep":
            return ("sleep_stage",)
        if self.metric == "spending":
            return ("event:purchase", "event:transaction")
        return (metric(self.metric).code,)

    def spec(self) -> FeatureSpec:
        inputs = self.inputs()
        return FeatureSpec(
            inputs=inputs,
            purpose="forecasting",
            required=inputs,
            step_min=1440,
            windows_min=(SEASON * 1440,),
            horizons=tuple(range(1, self.horizon + 1)),
            horizon_unit="day",
            context_min=2 * 1440,  # a local day starts up to 14 h before its UTC day
            settle_min=2 * 1440,  # ... and ends up to 12 h after it; a night spans two
            version="1",
        )

    def featurize(
        self, data: InputData, cursor: Mapping[str, JSON] | None
    ) -> Examples[None, float | None]:
        """One example per local day from the first with data, a missing day as None;
        every day but the newest is settled (the newest may still grow)."""
        by_day, unit = _by_day(self.metric, data.series, data.records)
        if not by_day:
            return Examples([], [], [], 0, summary={"unit": unit})
        first = min(by_day) if cursor is None else int(str(cursor["first_day"]))
        last = max(by_day)
        lo = first
        if data.window.read_from_ms is not None:
            lo = max(first, data.window.read_from_ms // DAY_MS)
        days = list(range(lo, last + 1))
        return Examples(
            ts_ms=[day * DAY_MS for day in days],
            xs=[None] * len(days),
            ys=[by_day.get(day) for day in days],
            settled=len(days) - 1,
            present=None,
            cursor={"first_day": first},
            summary={"unit": unit, "first_day": first, "last_day": last},
        )

    # -- for the contract test ----------------------------------------------------------
    @classmethod
    def example(cls, n: int, seed: int) -> list[tuple[None, float | None]]:
        rng = np.random.default_rng(seed)
        days = np.arange(n)
        values = 60 + 2 * np.sin(2 * np.pi * days / 7) + rng.normal(0, 1, n)
        values[rng.random(n) < 0.05] = np.nan
        return [(None, float(v)) for v in values]

    @classmethod
    def example_data(cls, days: int, seed: int) -> ExampleData:
        """A resting heart rate each morning with a weekly rhythm, ending on 2026-03-01."""
        rng = np.random.default_rng(seed)
        first = date(2026, 3, 1).toordinal() - _EPOCH - days
        ts = (first + np.arange(days, dtype=np.int64)) * DAY_MS + 7 * 3_600_000
        values = np.round(60 + 2 * np.sin(2 * np.pi * np.arange(days) / 7) + rng.normal(0, 1, days))
        keep = rng.random(days) >= 0.05
        return ExampleData(
            series=(
                SeriesData("resting_heart_rate", "example-watch", "bpm", ts[keep], values[keep]),
            )
        )


# -- daily series from a vault -----------------------------------------------------------
def _by_day(
    name: str, series: Mapping[str, Series], records: Mapping[str, Records]
) -> tuple[dict[int, float], str]:
    """One value per local day (days since the epoch), and its unit."""
    by_day: dict[int, float] = {}
    if name == "sleep":
        for item in records["sleep_stage"]:
            night = asleep_night(item)
            if night is not None and item.end is not None:
                day = night.toordinal() - _EPOCH
                by_day[day] = by_day.get(day, 0.0) + (item.end - item.start).total_seconds() / 60
        return by_day, "min"
    if name == "spending":
        for kind in ("event:purchase", "event:transaction"):
            for item in records[kind]:
                spent = money_out(item, kind)
                if spent > 0:
                    day = item.start.date().toordinal() - _EPOCH
                    by_day[day] = by_day.get(day, 0.0) + spent
        return by_day, "currency"
    read = series[metric(name).code]
    return daily_values(read), read.unit


def daily_series(
    vault: Vault, name: str, purpose: Purpose = Purpose.FORECASTING
) -> tuple[int, F64, str, Lineage | None]:
    """(first epoch day, one value per local day with NaN gaps, unit, lineage)."""
    model = DailyForecaster(metric=name)
    if name not in ("sleep", "spending") and not metric(name).is_numeric:
        raise LifeTwinError(f"{metric(name).code} is not numeric; daily forecasts need numbers.")
    series: dict[str, Series] = {}
    records: dict[str, Records] = {}
    lineage: Lineage | None = None
    for code in model.inputs():
        read: Series | Records
        if code.startswith("event:") or code == "sleep_stage":
            read = records[code] = vault.read_records(code, purpose=purpose)
        else:
            read = series[code] = vault.read_series(code, purpose=purpose)
        lineage = read.lineage if lineage is None else lineage.merge(read.lineage)
    by_day, unit = _by_day(name, series, records)
    if not by_day:
        return 0, np.zeros(0), unit, lineage
    first, last = min(by_day), max(by_day)
    values = np.full(last - first + 1, np.nan)
    for day, value in by_day.items():
        values[day - first] = value
    return first, values, unit, lineage


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


def person_model(name: str, horizon: int = 7) -> DailyForecaster:
    """The daily model a person's forecast of ``name`` uses for ``horizon`` days (its
    state, one per metric, serves every horizon up to 14 days)."""
    return DailyForecaster(horizon=max(horizon, max(SCORE_HORIZONS)), metric=name)


def forecast_daily(
    vault: Vault, name: str, horizon: int = 7, *, incremental: bool = True
) -> DailyResult | None:
    """The person's daily model for a metric (kept up to date in their vault, learning
    only the days completed since it last learned; ``incremental=False`` refits from the
    whole history, the old way), a forecast of ``horizon`` days and its rolling-origin
    backtest; the result is stored with its lineage. None when there are fewer than
    MIN_DAYS days, or none may be read for forecasting."""
    from lifetwin.models.runner import refit, update

    if name not in ("sleep", "spending") and not metric(name).is_numeric:
        raise LifeTwinError(f"{metric(name).code} is not numeric; daily forecasts need numbers.")
    template = person_model(name, horizon)
    try:
        run = (update if incremental else refit)(vault, template, key=f"{name}:h{template.horizon}")
    except PurposeNotGrantedError:
        return None
    model = run.model
    assert isinstance(model, DailyForecaster)
    summary = run.examples.summary
    if model.observed < MIN_DAYS or "last_day" not in summary:
        return None
    last = date(1970, 1, 1) + timedelta(days=int(str(summary["last_day"])))
    forecasts = model.predict_one()[:horizon]
    for f in forecasts:
        f.day = (last + timedelta(days=f.horizon)).isoformat()
    result = DailyResult(
        name=name,
        unit=str(summary["unit"]),
        last_day=last.isoformat(),
        days=model.observed,
        forecasts=forecasts,
        explanation=model.explain_one(),
        backtest=model.scorecard(tuple(h for h in SCORE_HORIZONS if h <= max(horizon, 1)) or (1,)),
    )
    vault.save_derived(
        Derived(
            name=f"forecast:{name}",
            kind="forecast",
            lineage=run.lineage,
            payload={
                "computed": datetime.now(UTC).isoformat(),
                "model": run.state_name,
                "refit": run.refit,
                "learned": run.learned,
                "forecasts": [f.__dict__ for f in forecasts],
            },
        )
    )
    return result
