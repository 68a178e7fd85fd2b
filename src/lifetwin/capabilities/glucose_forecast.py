"""Glucose forecasting 5 to 120 minutes ahead, with prediction intervals and a hypo alert.

The model is a ridge regression per horizon on the recent CGM trace (level, its square,
and the changes over the last 30 minutes), the insulin delivered and the carbohydrates
eaten in seven windows of the past four hours (0-15, 15-30, 30-60, 60-90, 90-120,
120-180, 180-240 minutes ago; the model learns how each acts on each horizon), the
level times the recent insulin (insulin lowers high glucose faster), insulin and
carbohydrates on board (decaying exponentially), and two harmonics of the time of day.
It learns online: each ``learn_one`` adds one example to the sufficient statistics
(XᵀX, Xᵀy, yᵀy), and the weights are the exact ridge solution of everything seen so far,
so it personalizes as data arrives. Forecasts stay within the sensor's range.

The forecast is the ridge model's, combined with Nightscout's AR2 by a per-person,
per-horizon weight fitted by least squares on the person's own forecasts of data not
yet learned, once the model's own forecasts did worse than AR2's there
(:meth:`GlucoseForecaster.mix`): for most people the model stands alone; where it does
not forecast that person well, such as a CGM stuck at the sensor's floor, it leans on
AR2.

Intervals are split-conformal: the empirical quantiles of the forecast's own errors on
data it had not yet learned (each batch is forecast before it is learned); until there
are enough such errors, the in-sample residual spread (inflated) stands in. An interval
is never narrower than ``MIN_HALF_WIDTH_MG_DL`` either side (about the sensor's own
accuracy), so it can never read "108 to 108".

The hypo alert (:func:`hypo_warning`) is on when the forecast stays below 70 mg/dL for
15 minutes (three forecast points in a row) starting within the next 30 minutes — the
shape of a consensus level-1 event (Battelino et al. 2019). Chosen on tuning cohorts
only (see docs/benchmarks.md).

Sensor gaps: readings are put on a 5-minute grid and only gaps up to 15 minutes are
filled (:func:`regular_grid`); a longer gap stays empty, and no example or forecast is
made from a window that has one.

Baselines in the benchmark: persistence, and Nightscout's AR2 on y = ln(BG/140) in
5-minute steps, y_t = -0.723·y_(t-2) + 1.716·y_(t-1).

Entry points: :func:`forecast_for_person` (reads a vault, returns a
:class:`PersonForecast` with the time of the data it is based on and whether that is
current), :class:`GlucoseForecaster`, :func:`feature_matrix`, :func:`hypo_warning`.

Decision support, not a dosing instruction: valid for 5-minute CGM in the ranges it
was trained on.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from lifetwin.capabilities.models import register
from lifetwin.privacy.lineage import Lineage

F64 = npt.NDArray[np.float64]
STEP_MIN = 5
HORIZONS_MIN = (30, 60, 120)  # what a person is shown
ALERT_HORIZONS_MIN = tuple(range(5, 45, 5))  # the trajectory the hypo alert looks at
MODEL_HORIZONS_MIN = tuple(sorted(set(HORIZONS_MIN) | set(ALERT_HORIZONS_MIN)))
HISTORY = 7  # CGM samples used (30 minutes)
MAX_GAP_MIN = 15  # longer sensor gaps are not interpolated
STALE_AFTER_MIN = 15  # a forecast from an older reading is not current
HYPO_MG_DL = 70.0
MIN_HALF_WIDTH_MG_DL = 5.0
SENSOR_FLOOR_MG_DL = 40.0
SENSOR_CEILING_MG_DL = 400.0
# past windows for insulin and carbs, in 5-minute steps ago: [lo, hi)
WINDOWS = ((0, 3), (3, 6), (6, 12), (12, 18), (18, 24), (24, 36), (36, 48))
INTERACTION_WINDOWS = 4  # level x insulin for the first four windows (the last 90 min)
HARMONICS = 2
IOB_TAU_MIN = 75.0  # insulin and carbs on board decay exponentially too
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


def ar2_change(x: F64, horizon_min: int) -> F64:
    """AR2's forecast change for feature rows (from their level and last 5-minute change).

    >>> row = feature_matrix(np.array([100.0] * 6 + [105.0]), *(np.zeros(7),) * 3)[-1:]
    >>> round(float(ar2_change(row, 30)[0]) + 105, 6) == round(
    ...     ar2_forecast(np.array([100.0, 105.0]), 30), 6)
    True
    """
    current = np.maximum(x[:, 1] * 100.0, 1.0)
    previous = np.maximum(current - x[:, 2] * 10.0, 1.0)
    y1, y0 = np.log(previous / 140.0), np.log(current / 140.0)
    for _ in range(horizon_min // STEP_MIN):
        y1, y0 = y0, -0.723 * y1 + 1.716 * y0
    return np.asarray(140.0 * np.exp(y0) - current, dtype=np.float64)


def on_board(amounts: F64, tau_min: float) -> F64:
    """Exponentially decaying amount on board per 5-minute step (insulin or carbs)."""
    decay = np.exp(-STEP_MIN / tau_min)
    out = np.zeros(len(amounts))
    level = 0.0
    for i, amount in enumerate(amounts):
        level = level * decay + float(amount)
        out[i] = level
    return out


def regular_grid(
    ts_ms: npt.NDArray[np.int64],
    values: F64,
    step_min: int = STEP_MIN,
    max_gap_min: float = MAX_GAP_MIN,
) -> tuple[int, F64]:
    """Readings on a regular grid (start in ms, values); gaps up to ``max_gap_min`` are
    filled linearly, longer ones stay NaN.

    >>> t = np.array([0, 5, 10, 20, 60], dtype=np.int64) * 60_000
    >>> start, grid = regular_grid(t, np.array([100.0, 102, 104, 108, 120]))
    >>> grid.tolist()
    [100.0, 102.0, 104.0, 106.0, 108.0, nan, nan, nan, nan, nan, nan, nan, 120.0]
    """
    step_ms = step_min * 60_000
    start = int(ts_ms[0]) // step_ms * step_ms
    n = (int(ts_ms[-1]) - start) // step_ms + 1
    grid = np.full(n, np.nan)
    grid[(ts_ms - start) // step_ms] = values
    known = np.flatnonzero(np.isfinite(grid))
    for a, b in zip(known[:-1].tolist(), known[1:].tolist(), strict=True):
        if b - a > 1 and (b - a) * step_min <= max_gap_min:
            grid[a + 1 : b] = np.interp(np.arange(a + 1, b), [a, b], [grid[a], grid[b]])
    return start, grid


def _window_sums(amounts: F64) -> list[F64]:
    n = len(amounts)
    total = np.concatenate(([0.0], np.cumsum(amounts)))
    i = np.arange(n)
    return [
        total[np.clip(i - lo + 1, 0, n)] - total[np.clip(i - hi + 1, 0, n)] for lo, hi in WINDOWS
    ]


FEATURES = (
    ["intercept", "level"]
    + [f"change_{5 * lag}min" for lag in range(1, HISTORY)]
    + ["level_squared"]
    + [f"insulin_{5 * lo}_{5 * hi}min_ago" for lo, hi in WINDOWS]
    + [f"carbs_{5 * lo}_{5 * hi}min_ago" for lo, hi in WINDOWS]
    + [f"time_{kind}{k}" for k in range(1, HARMONICS + 1) for kind in ("sin", "cos")]
    + [f"level_x_insulin_{5 * lo}_{5 * hi}min_ago" for lo, hi in WINDOWS[:INTERACTION_WINDOWS]]
    + ["insulin_on_board", "carbs_on_board"]
)


def feature_matrix(cgm: F64, insulin_u: F64, carbs_g: F64, minute_of_day: F64) -> F64:
    """One row per 5-minute step (NaN where the last 30 minutes of CGM are incomplete)."""
    n = len(cgm)
    level = cgm / 100.0
    columns = [np.ones(n), level]
    for lag in range(1, HISTORY):
        previous = np.full(n, np.nan)
        previous[lag:] = cgm[:-lag]
        columns.append((cgm - previous) / 10.0)
    columns.append(level**2)
    insulin = _window_sums(np.nan_to_num(insulin_u))
    columns += insulin
    columns += [c / 10.0 for c in _window_sums(np.nan_to_num(carbs_g))]
    angle = 2 * np.pi * minute_of_day / 1440
    for k in range(1, HARMONICS + 1):
        columns += [np.sin(k * angle), np.cos(k * angle)]
    columns += [level * w for w in insulin[:INTERACTION_WINDOWS]]
    columns += [on_board(np.nan_to_num(insulin_u), IOB_TAU_MIN)]
    columns += [on_board(np.nan_to_num(carbs_g), COB_TAU_MIN) / 10.0]
    return np.column_stack(columns)


def targets(cgm: F64, horizons: tuple[int, ...] = HORIZONS_MIN) -> dict[int, F64]:
    """Future change of CGM per horizon (NaN where the future is not known)."""
    out = {}
    for horizon in horizons:
        steps = horizon // STEP_MIN
        future = np.full(len(cgm), np.nan)
        future[:-steps] = cgm[steps:]
        out[horizon] = future - cgm
    return out


def hypo_warning(
    trajectory: Mapping[int, float],
    threshold_mg_dl: float = HYPO_MG_DL,
    within_min: int = 30,
    lasting_min: int = 15,
) -> bool:
    """True when the forecast stays below the threshold for ``lasting_min`` (three 5-minute
    points in a row) starting within ``within_min`` minutes.

    >>> hypo_warning({5: 80, 10: 75, 15: 69, 20: 66, 25: 64, 30: 66, 35: 69, 40: 72})
    True
    >>> hypo_warning({5: 72, 10: 69, 15: 68, 20: 71, 25: 75, 30: 80, 35: 85, 40: 90})
    False
    """
    need = lasting_min // STEP_MIN
    for start in range(STEP_MIN, within_min + STEP_MIN, STEP_MIN):
        run = [trajectory.get(start + STEP_MIN * k) for k in range(need)]
        if all(v is not None and v < threshold_mg_dl for v in run):
            return True
    return False


def hypo_signal(
    trajectories: Mapping[int, F64],
    threshold_mg_dl: float = HYPO_MG_DL,
    within_min: int = 30,
    lasting_min: int = 15,
) -> npt.NDArray[np.bool_]:
    """:func:`hypo_warning` for every step at once (``trajectories``: horizon -> forecasts)."""
    need = lasting_min // STEP_MIN
    n = len(next(iter(trajectories.values())))
    out = np.zeros(n, dtype=bool)
    for start in range(STEP_MIN, within_min + STEP_MIN, STEP_MIN):
        run = np.ones(n, dtype=bool)
        for k in range(need):
            values = trajectories.get(start + STEP_MIN * k)
            if values is None:
                run[:] = False
                break
            run &= np.nan_to_num(values, nan=np.inf) < threshold_mg_dl
        out |= run
    return out


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
    of glucose by then (see :func:`targets`). ``floor_mg_dl``/``ceiling_mg_dl``: the
    sensor's range, which forecasts and intervals stay within (None: unbounded)."""

    name = "glucose"

    def __init__(
        self,
        ridge: float = 1.0,
        coverage: float = 0.9,
        error_window: int = 2016,
        horizons: tuple[int, ...] = HORIZONS_MIN,
        floor_mg_dl: float | None = None,
        ceiling_mg_dl: float | None = None,
    ) -> None:
        self.ridge = ridge
        self.coverage = coverage
        self.error_window = error_window
        self.horizons = horizons
        self.floor_mg_dl = floor_mg_dl
        self.ceiling_mg_dl = ceiling_mg_dl
        self._xtx: dict[int, F64] = {}
        self._xty: dict[int, F64] = {}
        self._yty: dict[int, float] = {}
        self._n: dict[int, int] = {}
        self._weights: dict[int, F64] = {}
        # per horizon, on data not yet learned: (model change - AR2 change, actual - AR2)
        self._pairs: dict[int, deque[tuple[float, float]]] = {
            h: deque(maxlen=error_window) for h in horizons
        }
        self.seen = 0
        self._cached: dict[int, tuple[float, F64]] = {}  # horizon -> (mix, errors)

    def clone(self) -> GlucoseForecaster:
        return GlucoseForecaster(
            self.ridge,
            self.coverage,
            self.error_window,
            self.horizons,
            self.floor_mg_dl,
            self.ceiling_mg_dl,
        )

    def _solve(self, horizon: int) -> None:
        size = len(self._xty[horizon])
        penalty = self.ridge * np.eye(size)
        penalty[0, 0] = 0.0  # the intercept is not shrunk
        self._weights[horizon] = np.asarray(
            np.linalg.solve(self._xtx[horizon] + penalty, self._xty[horizon]), dtype=np.float64
        )

    def learn_many(self, x: F64, targets: Mapping[int, F64]) -> None:
        """Add rows (features) with their future changes per horizon; NaNs are skipped.

        Each row is first forecast with the weights learned so far; those errors (on data
        not yet learned) make the intervals."""
        for horizon in self.horizons:
            y = targets[horizon]
            ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y)
            rows, ys = x[ok], y[ok]
            if horizon in self._weights and len(rows):
                own = rows @ self._weights[horizon]
                ar2 = ar2_change(rows, horizon)
                pairs = zip((own - ar2).tolist(), (ys - ar2).tolist(), strict=True)
                self._pairs[horizon].extend(pairs)
                self._cached.pop(horizon, None)
            size = x.shape[1]
            self._xtx[horizon] = self._xtx.get(horizon, np.zeros((size, size))) + rows.T @ rows
            self._xty[horizon] = self._xty.get(horizon, np.zeros(size)) + rows.T @ ys
            self._yty[horizon] = self._yty.get(horizon, 0.0) + float(ys @ ys)
            self._n[horizon] = self._n.get(horizon, 0) + len(ys)
            self._solve(horizon)
        self.seen += int(np.count_nonzero(np.all(np.isfinite(x), axis=1)))

    def learn_one(self, x: F64, targets: Mapping[int, float]) -> None:
        self.learn_many(x[None, :], {h: np.array([v]) for h, v in targets.items()})

    def _in_sample_sd(self, horizon: int) -> float:
        """The residual spread on the learned data, from the sufficient statistics."""
        w, n = self._weights[horizon], self._n[horizon]
        rss = float(self._yty[horizon] - 2 * w @ self._xty[horizon] + w @ self._xtx[horizon] @ w)
        return float(np.sqrt(max(rss, 0.0) / max(n - len(w), 1)))

    def mix(self, horizon: int) -> float:
        """The share of the ridge model in the forecast (the rest is AR2's): the least-
        squares weight on the person's own forecasts of data not yet learned, in [0, 1],
        used only when those forecasts did worse than AR2's (a CGM stuck at the sensor's
        floor); 1 otherwise, and until there are two days of them."""
        return self._mixed(horizon)[0]

    def errors(self, horizon: int) -> F64:
        """The forecast's errors on data not yet learned when it was forecast."""
        return self._mixed(horizon)[1]

    def _mixed(self, horizon: int) -> tuple[float, F64]:
        if horizon in self._cached:
            return self._cached[horizon]
        pairs = self._pairs[horizon]
        if not pairs:
            return 1.0, np.zeros(0)
        d, r = np.asarray(pairs).T
        share = 1.0
        if len(pairs) >= 2 * 288 and float(np.mean((r - d) ** 2)) > float(np.mean(r**2)):
            share = float(np.clip(d @ r / max(float(d @ d), 1e-9), 0.0, 1.0))
        self._cached[horizon] = (share, np.asarray(r - share * d, dtype=np.float64))
        return self._cached[horizon]

    def _change(self, x: F64, horizon: int) -> F64:
        own = x @ self._weights[horizon]
        share = self.mix(horizon)
        if share >= 1.0:
            return np.asarray(own, dtype=np.float64)
        ar2 = ar2_change(np.atleast_2d(x), horizon).reshape(np.shape(own))
        return np.asarray(ar2 + share * (own - ar2), dtype=np.float64)

    def _spread(self, horizon: int) -> tuple[float, float]:
        """The lower and upper offsets of the interval around a forecast change."""
        alpha = (1 - self.coverage) / 2
        errors = self.errors(horizon)
        if len(errors) >= 50:
            low, high = np.quantile(errors, [alpha, 1 - alpha])
        else:  # too few honest errors yet: the inflated in-sample spread
            from scipy.stats import norm

            half = 1.25 * float(norm.ppf(1 - alpha)) * self._in_sample_sd(horizon)
            low, high = -half, half
        return min(float(low), -MIN_HALF_WIDTH_MG_DL), max(float(high), MIN_HALF_WIDTH_MG_DL)

    def _clip(self, value: F64 | float) -> Any:
        if self.floor_mg_dl is None and self.ceiling_mg_dl is None:
            return value
        return np.clip(value, self.floor_mg_dl, self.ceiling_mg_dl)

    def predict_one(self, x: F64, current_mg_dl: float | None = None) -> list[Forecast]:
        """Forecasts from one feature row (the current level is the row's own, unless given)."""
        if current_mg_dl is None:
            current_mg_dl = float(x[1]) * 100.0  # the level column is glucose / 100
        out = []
        for horizon in self.horizons:
            if horizon not in self._weights or not np.all(np.isfinite(x)):
                continue
            raw = current_mg_dl + float(self._change(x, horizon))
            low, high = self._spread(horizon)
            value = float(self._clip(raw))
            out.append(
                Forecast(
                    horizon,
                    value,
                    min(value - MIN_HALF_WIDTH_MG_DL, float(self._clip(raw + low))),
                    max(value + MIN_HALF_WIDTH_MG_DL, float(self._clip(raw + high))),
                )
            )
        return out

    def predict_many(self, x: F64, current: F64, horizon: int) -> F64:
        """Forecasts for many rows at one horizon (NaN where a row is incomplete)."""
        return np.asarray(self._clip(current + self._change(x, horizon)), dtype=np.float64)

    def interval_many(self, x: F64, current: F64, horizon: int) -> tuple[F64, F64]:
        """The intervals of :meth:`predict_many`'s forecasts (low, high)."""
        raw = current + self._change(x, horizon)
        value = self._clip(raw)
        low, high = self._spread(horizon)
        return (
            np.minimum(value - MIN_HALF_WIDTH_MG_DL, self._clip(raw + low)),
            np.maximum(value + MIN_HALF_WIDTH_MG_DL, self._clip(raw + high)),
        )

    def explain_one(self, x: F64) -> dict[int, dict[str, float]]:
        """Each feature's contribution (weight × value, times the model's share) to the
        forecast change, and AR2's part, per horizon: they add up to the change."""
        out = {}
        for h, w in self._weights.items():
            share = self.mix(h)
            parts = dict(zip(FEATURES, (share * w * x).round(3).tolist(), strict=True))
            parts["nightscout_ar2"] = round((1 - share) * float(ar2_change(x[None, :], h)[0]), 3)
            out[h] = parts
        return out

    @staticmethod
    def example(n: int, seed: int) -> list[tuple[Any, Any]]:
        """Synthetic CGM with meals and doses, as (feature row, future changes) pairs."""
        rng = np.random.default_rng(seed)
        steps = np.arange(n + 60)
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
                "floor_mg_dl": self.floor_mg_dl,
                "ceiling_mg_dl": self.ceiling_mg_dl,
                "seen": self.seen,
                "xtx": {h: m.tolist() for h, m in self._xtx.items()},
                "xty": {h: v.tolist() for h, v in self._xty.items()},
                "yty": self._yty,
                "n": self._n,
                "pairs": {h: [list(p) for p in e] for h, e in self._pairs.items()},
            }
        )

    @classmethod
    def from_json(cls, text: str) -> GlucoseForecaster:
        raw: dict[str, Any] = json.loads(text)
        model = cls(
            raw["ridge"],
            raw["coverage"],
            raw["error_window"],
            tuple(raw["horizons"]),
            raw.get("floor_mg_dl"),
            raw.get("ceiling_mg_dl"),
        )
        model.seen = raw["seen"]
        for key, matrix in raw["xtx"].items():
            h = int(key)
            model._xtx[h] = np.array(matrix)
            model._xty[h] = np.array(raw["xty"][key])
            model._yty[h] = float(raw.get("yty", {}).get(key, 0.0))
            model._n[h] = int(raw.get("n", {}).get(key, 0))
            model._solve(h)
            model._pairs[h] = deque(
                (tuple(p) for p in raw.get("pairs", {}).get(key, [])), maxlen=model.error_window
            )
            model._cached.pop(h, None)
        return model


class PersonForecast(BaseModel):
    """A person's glucose forecast, the reading it starts from, and whether it is current."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    last_reading_ms: int
    last_mg_dl: float
    forecasts: list[Forecast]
    trained_steps: int
    hypo_warning: bool  # a low is forecast and the forecast is current
    # the time of the data the forecast is based on, and how old it was when made
    based_on: datetime
    age_min: float
    current: bool
    status: str  # one sentence: current, or how old the last reading is
    hypo_forecast: bool = False  # the alert rule on the last reading, current or not
    trajectory: dict[int, float] = {}  # horizon -> forecast, every 5 minutes to 40
    warnings: list[str] = []  # what makes this forecast less reliable
    lineage: Lineage | None = None


def _age_words(minutes: float) -> str:
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} h"
    return f"{minutes / 1440:.0f} days"


def forecast_for_person(vault: Any, now: datetime | None = None) -> PersonForecast | None:
    """Fit the person's forecaster on their CGM, insulin and meals and forecast from their
    newest reading.

    Reads for the forecasting purpose; stores the result with its lineage. None when
    there are fewer than two days of CGM to learn from. The result says when the newest
    reading was taken; when that is more than 15 minutes before ``now`` the forecast is
    not current (``current`` False, the age in ``status``) and no hypo warning is raised.
    """
    from lifetwin.core.model import Event, Quality
    from lifetwin.privacy.consent import Purpose
    from lifetwin.privacy.lineage import Derived

    purpose = Purpose.FORECASTING
    series = vault.read_series("glucose", purpose=purpose)
    cgm_streams = np.array([not s.source.endswith("(daily)") for s in series.streams], bool)
    keep = (series.columns.quality & int(Quality.CALIBRATION)) == 0
    if len(series.streams):
        keep &= cgm_streams[series.stream_index]
    ts, values = series.ts_ms[keep], series.values[keep]
    if len(ts) < 2 * 288:
        return None
    step_ms = STEP_MIN * 60_000
    start, grid = regular_grid(ts, values)
    n = len(grid)
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
    model = GlucoseForecaster(
        horizons=MODEL_HORIZONS_MIN,
        floor_mg_dl=min(SENSOR_FLOOR_MG_DL, float(values.min())),
        ceiling_mg_dl=max(SENSOR_CEILING_MG_DL, float(values.max())),
    )
    future = targets(grid, MODEL_HORIZONS_MIN)
    # learned day by day, each day forecast before it is learned: honest interval errors
    for lo in range(0, n, 288):
        model.learn_many(x[lo : lo + 288], {h: v[lo : lo + 288] for h, v in future.items()})
    last = int(np.flatnonzero(np.isfinite(grid))[-1])
    predicted = model.predict_one(x[last], float(grid[last]))
    shown = [f for f in predicted if f.horizon_min in HORIZONS_MIN]
    trajectory = {f.horizon_min: round(f.value_mg_dl, 1) for f in predicted}
    based_on = datetime.fromtimestamp(int(ts[-1]) / 1000, UTC)
    age_min = max(0.0, ((now or datetime.now(UTC)) - based_on).total_seconds() / 60)
    current = age_min <= STALE_AFTER_MIN
    status = (
        f"Based on the reading of {_age_words(age_min)} ago."
        if current
        else f"Not current: the last reading is {_age_words(age_min)} old, so this forecast "
        "describes the past, not now."
    )
    low_ahead = bool(shown) and hypo_warning(trajectory)
    warnings = []
    for share, words in (
        (
            float(np.mean(values <= SENSOR_FLOOR_MG_DL)),
            f"at its lower limit ({SENSOR_FLOOR_MG_DL:g}",
        ),
        (
            float(np.mean(values >= SENSOR_CEILING_MG_DL)),
            f"at its upper limit ({SENSOR_CEILING_MG_DL:g}",
        ),
    ):
        if share > 0.2:
            warnings.append(
                f"Your sensor read {words} mg/dL or beyond) {share:.0%} of the time; forecasts "
                "learned from such readings are less reliable."
            )
    result = PersonForecast(
        last_reading_ms=int(ts[-1]),
        last_mg_dl=float(values[-1]),
        forecasts=shown,
        trained_steps=model.seen,
        hypo_warning=low_ahead and current,
        based_on=based_on,
        age_min=round(age_min, 1),
        current=current,
        status=status,
        hypo_forecast=low_ahead,
        trajectory=trajectory,
        warnings=warnings,
        lineage=lineage,
    )
    vault.save_derived(
        Derived(
            name="forecast:glucose",
            kind="forecast",
            lineage=lineage,
            payload={
                "from_ms": result.last_reading_ms,
                "model": model.to_json(),
                "forecasts": [f.__dict__ for f in shown],
                "current": current,
            },
        )
    )
    return result
