"""Glucose forecasting 30, 60 and 120 minutes ahead, with prediction intervals.

The model is a ridge regression per horizon on the recent CGM trace (the last 30
minutes of levels and changes), insulin on board and carbohydrates on board (from
logged doses and meals, decaying exponentially), insulin and carbohydrates of the last
half hour, and the time of day. It learns online: each ``learn_one`` adds one example
to the sufficient statistics (XᵀX, Xᵀy), and the weights are the exact ridge solution
of everything seen so far, so it personalizes as data arrives. Intervals are the
empirical quantiles of its own recent errors (split-conformal style).

Baselines in the same harness: persistence, and Nightscout's AR2 on y = ln(BG/140) in
5-minute steps, y_t = -0.723·y_(t-2) + 1.716·y_(t-1).

Decision support, not a dosing instruction: valid for 5-minute CGM in the ranges it
was trained on.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lifetwin.capabilities.models import register

F64 = npt.NDArray[np.float64]
STEP_MIN = 5
HORIZONS_MIN = (30, 60, 120)
HISTORY = 7  # CGM samples used (30 minutes)
IOB_TAU_MIN = 75.0
COB_TAU_MIN = 45.0


def ar2_forecast(cgm: F64, horizon_min: int) -> float:
    """Nightscout's AR2 forecast from the last two 5-minute readings.

    >>> round(ar2_forecast(np.array([140.0, 140.0]), 30), 6)
    140.0
    """
    y1, y0 = np.log(cgm[-2] / 140.0), np.log(cgm[-1] / 140.0)
    for _ in range(horizon_min // STEP_MIN):
        y1, y0 = y0, -0.723 * y1 + 1.716 * y0
    return float(140.0 * np.exp(y0))


def on_board(amounts: F64, tau_min: float) -> F64:
    """Exponentially decaying amount on board per 5-minute step (insulin or carbs)."""
    decay = np.exp(-STEP_MIN / tau_min)
    out = np.zeros(len(amounts))
    level = 0.0
    for i, amount in enumerate(amounts):
        level = level * decay + float(amount)
        out[i] = level
    return out


def feature_matrix(cgm: F64, insulin_u: F64, carbs_g: F64, minute_of_day: F64) -> F64:
    """One row per time step (NaN rows where there is not yet enough history)."""
    n = len(cgm)
    iob, cob = on_board(insulin_u, IOB_TAU_MIN), on_board(carbs_g, COB_TAU_MIN)
    recent_insulin = np.convolve(insulin_u, np.ones(6))[:n]
    recent_carbs = np.convolve(carbs_g, np.ones(6))[:n]
    columns = [np.ones(n), cgm / 100.0]
    for lag in range(1, HISTORY):
        previous = np.full(n, np.nan)
        previous[lag:] = cgm[:-lag]
        columns.append(
            (cgm - previous) / 10.0 if lag == 1 else (np.roll(cgm, lag - 1) - previous) / 10.0
        )
    angle = 2 * np.pi * minute_of_day / 1440
    columns += [
        iob,
        cob / 10.0,
        recent_insulin,
        recent_carbs / 10.0,
        np.sin(angle),
        np.cos(angle),
        (cgm / 100.0) ** 2,
    ]
    return np.column_stack(columns)


@dataclass
class Forecast:
    horizon_min: int
    value_mg_dl: float
    low_mg_dl: float
    high_mg_dl: float

    # The model contract's names (lifetwin.capabilities.models.Prediction).
    @property
    def horizon(self) -> int:
        return self.horizon_min

    @property
    def value(self) -> float:
        return self.value_mg_dl

    @property
    def low(self) -> float:
        return self.low_mg_dl

    @property
    def high(self) -> float:
        return self.high_mg_dl


@register("glucose")
class GlucoseForecaster:
    """Per-person online ridge regression, one per horizon (the model contract:
    learn_one, predict_one with an interval, explain_one, clone, to_json/from_json).

    ``x`` is one row of :func:`feature_matrix`; ``y`` maps each horizon to the change
    of glucose by then (see :func:`targets`)."""

    name = "glucose"

    def __init__(
        self,
        ridge: float = 1.0,
        coverage: float = 0.9,
        error_window: int = 2000,
        horizons: tuple[int, ...] = HORIZONS_MIN,
    ) -> None:
        self.ridge = ridge
        self.coverage = coverage
        self.error_window = error_window
        self.horizons = horizons
        self._xtx: dict[int, F64] = {}
        self._xty: dict[int, F64] = {}
        self._weights: dict[int, F64] = {}
        self._errors: dict[int, deque[float]] = {h: deque(maxlen=error_window) for h in horizons}
        self.seen = 0

    def clone(self) -> GlucoseForecaster:
        return GlucoseForecaster(self.ridge, self.coverage, self.error_window, self.horizons)

    def learn_many(self, x: F64, targets: dict[int, F64]) -> None:
        """Add rows (features) with their future changes per horizon; NaNs are skipped."""
        for horizon in self.horizons:
            y = targets[horizon]
            ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y)
            rows, ys = x[ok], y[ok]
            if horizon in self._weights and len(rows):
                predicted = rows @ self._weights[horizon]
                self._errors[horizon].extend((ys - predicted).tolist())
            size = x.shape[1]
            self._xtx[horizon] = self._xtx.get(horizon, np.zeros((size, size))) + rows.T @ rows
            self._xty[horizon] = self._xty.get(horizon, np.zeros(size)) + rows.T @ ys
            penalty = self.ridge * np.eye(size)
            penalty[0, 0] = 0.0  # the intercept is not shrunk
            self._weights[horizon] = np.asarray(
                np.linalg.solve(self._xtx[horizon] + penalty, self._xty[horizon]), dtype=np.float64
            )
        self.seen += int(np.count_nonzero(np.all(np.isfinite(x), axis=1)))

    def learn_one(self, x: F64, targets: dict[int, float]) -> None:
        self.learn_many(x[None, :], {h: np.array([v]) for h, v in targets.items()})

    def predict_one(self, x: F64, current_mg_dl: float | None = None) -> list[Forecast]:
        """Forecasts from one feature row (the current level is the row's own, unless given)."""
        if current_mg_dl is None:
            current_mg_dl = float(x[1]) * 100.0  # the level column is glucose / 100
        out = []
        for horizon in self.horizons:
            if horizon not in self._weights or not np.all(np.isfinite(x)):
                continue
            change = float(x @ self._weights[horizon])
            errors = np.array(self._errors[horizon]) if self._errors[horizon] else np.zeros(1)
            alpha = (1 - self.coverage) / 2
            low, high = np.quantile(errors, [alpha, 1 - alpha])
            value = current_mg_dl + change
            out.append(Forecast(horizon, value, value + float(low), value + float(high)))
        return out

    def predict_many(self, x: F64, current: F64, horizon: int) -> F64:
        return current + x @ self._weights[horizon]

    def explain_one(self, x: F64) -> dict[int, dict[str, float]]:
        """Each feature's contribution (weight × value) to the forecast change, per horizon."""
        names = (
            ["intercept", "level"]
            + [f"change_{5 * lag}min" for lag in range(1, HISTORY)]
            + [
                "insulin_on_board",
                "carbs_on_board",
                "insulin_30min",
                "carbs_30min",
                "time_sin",
                "time_cos",
                "level_squared",
            ]
        )
        return {
            h: dict(zip(names, (w * x).round(3).tolist(), strict=True))
            for h, w in self._weights.items()
        }

    @staticmethod
    def example(n: int, seed: int) -> list[tuple[Any, Any]]:
        """Synthetic CGM with meals and doses, as (feature row, future changes) pairs."""
        rng = np.random.default_rng(seed)
        steps = np.arange(n + 30)
        carbs = np.where(rng.random(len(steps)) < 0.01, rng.uniform(20, 80, len(steps)), 0.0)
        insulin = carbs / 10.0
        cgm = 120 + 30 * np.sin(2 * np.pi * steps / 288) + rng.normal(0, 4, len(steps))
        cgm += np.convolve(carbs, np.exp(-np.arange(36) / 12) * 0.8)[: len(steps)]
        cgm -= np.convolve(insulin, np.exp(-np.arange(48) / 18) * 6.0)[: len(steps)]
        cgm = np.clip(cgm, 40, 400)
        x = feature_matrix(cgm, insulin, carbs, (steps * STEP_MIN % 1440).astype(float))
        y = targets(cgm)
        return [(x[i], {h: float(y[h][i]) for h in HORIZONS_MIN}) for i in range(HISTORY, n)]

    def to_json(self) -> str:
        return json.dumps(
            {
                "ridge": self.ridge,
                "coverage": self.coverage,
                "error_window": self.error_window,
                "horizons": list(self.horizons),
                "seen": self.seen,
                "xtx": {h: m.tolist() for h, m in self._xtx.items()},
                "xty": {h: v.tolist() for h, v in self._xty.items()},
                "errors": {h: list(e) for h, e in self._errors.items()},
            }
        )

    @classmethod
    def from_json(cls, text: str) -> GlucoseForecaster:
        raw: dict[str, Any] = json.loads(text)
        model = cls(raw["ridge"], raw["coverage"], raw["error_window"], tuple(raw["horizons"]))
        model.seen = raw["seen"]
        for key, matrix in raw["xtx"].items():
            h = int(key)
            model._xtx[h] = np.array(matrix)
            model._xty[h] = np.array(raw["xty"][key])
            penalty = model.ridge * np.eye(len(model._xty[h]))
            penalty[0, 0] = 0.0
            model._weights[h] = np.asarray(
                np.linalg.solve(model._xtx[h] + penalty, model._xty[h]), dtype=np.float64
            )
            model._errors[h] = deque(raw["errors"][key], maxlen=model.error_window)
        return model


def targets(cgm: F64, horizons: tuple[int, ...] = HORIZONS_MIN) -> dict[int, F64]:
    """Future change of CGM per horizon (NaN where the future is not known)."""
    out = {}
    for horizon in horizons:
        steps = horizon // STEP_MIN
        future = np.full(len(cgm), np.nan)
        future[:-steps] = cgm[steps:]
        out[horizon] = future - cgm
    return out


@dataclass
class PersonForecast:
    last_reading_ms: int
    last_mg_dl: float
    forecasts: list[Forecast]
    trained_steps: int
    hypo_warning: bool


def forecast_for_person(vault: Any) -> PersonForecast | None:
    """Fit the person's forecaster on their CGM, insulin and meals and forecast from now.

    Reads for the forecasting purpose; stores the result with its lineage. None when
    there are fewer than two days of CGM to learn from.
    """
    from lifetwin.core.model import Event, Quality
    from lifetwin.privacy.consent import Purpose
    from lifetwin.privacy.lineage import Derived

    purpose = Purpose.FORECASTING
    series = vault.read_series("glucose", purpose=purpose)
    keep = (series.columns.quality & int(Quality.CALIBRATION)) == 0
    ts, values = series.ts_ms[keep], series.values[keep]
    if len(ts) < 2 * 288:
        return None
    step_ms = STEP_MIN * 60_000
    start = int(ts[0]) // step_ms * step_ms
    n = (int(ts[-1]) - start) // step_ms + 1
    grid = np.full(n, np.nan)
    grid[(ts - start) // step_ms] = values
    known = np.flatnonzero(np.isfinite(grid))
    grid = np.interp(np.arange(n), known, grid[known])  # fill short sensor gaps
    insulin = np.zeros(n)
    carbs = np.zeros(n)
    lineage = series.lineage
    delivered = vault.read_series("insulin_delivered", purpose=purpose)
    if len(delivered):
        index = (delivered.ts_ms - start) // step_ms
        ok = (index >= 0) & (index < n)
        np.add.at(insulin, index[ok], delivered.values[ok])
        lineage = lineage.merge(delivered.lineage)
    for name, target, key in (
        ("event:insulin", insulin, "insulin_u"),
        ("event:meal", carbs, "carbs_g"),
    ):
        if name == "event:insulin" and len(delivered):
            continue  # doses are already in the delivered series
        records = vault.read_records(name, purpose=purpose)
        lineage = lineage.merge(records.lineage)
        for event in records:
            if isinstance(event, Event) and isinstance(event.details.get(key), int | float):
                i = (int(event.start.timestamp() * 1000) - start) // step_ms
                if 0 <= i < n:
                    target[i] += float(event.details[key])
    local_offset = int(series.columns.tz_min[keep][-1])
    minutes = (start // 60_000 + local_offset + np.arange(n) * STEP_MIN) % 1440
    x = feature_matrix(grid, insulin, carbs, minutes.astype(float))
    model = GlucoseForecaster()
    future = targets(grid)
    split = int(n * 0.8)  # the last fifth is learned after being forecast: honest intervals
    model.learn_many(x[:split], {h: v[:split] for h, v in future.items()})
    model.learn_many(x[split:], {h: v[split:] for h, v in future.items()})
    forecasts = model.predict_one(x[-1], float(grid[-1]))
    result = PersonForecast(
        int(ts[-1]),
        float(values[-1]),
        forecasts,
        model.seen,
        any(f.value_mg_dl < 70 for f in forecasts if f.horizon_min <= 60),
    )
    vault.save_derived(
        Derived(
            name="forecast:glucose",
            kind="forecast",
            lineage=lineage,
            payload={
                "from_ms": result.last_reading_ms,
                "model": model.to_json(),
                "forecasts": [f.__dict__ for f in forecasts],
            },
        )
    )
    return result
