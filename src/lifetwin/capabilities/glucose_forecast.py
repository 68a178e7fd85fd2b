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
data it had not yet learned (each batch of a day's rows is forecast before it is learned);
until there are enough such errors, the in-sample residual spread (inflated) stands in. An interval
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

A person's forecaster is kept in their vault and updated, not refit: after an ingest it
learns only the steps whose two-hour outcome became known since it last learned
(:mod:`lifetwin.models.runner`; the CGM, insulin and meals of the last hours are re-read
for their features, and what is on board from before is carried in the model's cursor).
The last two hours, whose longer horizons are not measured yet, are learned on a copy for
each forecast, as a refit would have learned them. It refits from the whole history only
when that history changed (data inserted or corrected before what it learned, a grant
given or withdrawn, a change of time zone) or its settings did.

Entry points: :func:`forecast_for_person` (reads a vault, returns a
:class:`PersonForecast` with the time of the data it is based on and whether that is
current), :func:`person_model` (the forecaster every person's forecast uses; the ingest
capability calls ``lifetwin.models.runner.update(vault, person_model())``),
:class:`GlucoseForecaster`, :func:`feature_matrix`, :func:`hypo_warning`.

Decision support, not a dosing instruction: valid for 5-minute CGM in the ranges it
was trained on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self, overload

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from lifetwin.models.contract import (
    JSON,
    ExampleData,
    Examples,
    FeatureSpec,
    InputData,
    PersonalModel,
    PurposeNotGrantedError,
    SeriesData,
)
from lifetwin.models.state import pack, unpack
from lifetwin.privacy.lineage import Lineage
from lifetwin.store.vault import Vault

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


def on_board(amounts: F64, tau_min: float, start: float = 0.0) -> F64:
    """Exponentially decaying amount on board per 5-minute step (insulin or carbs);
    ``start``: what was on board the step before the first.

    >>> on_board(np.array([1.0, 0.0, 0.0]), 5.0, start=0.0).round(4).tolist()
    [1.0, 0.3679, 0.1353]
    """
    decay = np.exp(-STEP_MIN / tau_min)
    out = np.zeros(len(amounts))
    level = float(start)
    for i, amount in enumerate(amounts):
        level = level * decay + float(amount)
        out[i] = level
    return out


def regular_grid(
    ts_ms: npt.NDArray[np.int64],
    values: F64,
    step_min: int = STEP_MIN,
    max_gap_min: float = MAX_GAP_MIN,
    start_ms: int | None = None,
) -> tuple[int, F64]:
    """Readings on a regular grid (start in ms, values); gaps up to ``max_gap_min`` are
    filled linearly, longer ones stay NaN. The grid starts at the first reading's step,
    or at ``start_ms`` (a step boundary at or before it).

    >>> t = np.array([0, 5, 10, 20, 60], dtype=np.int64) * 60_000
    >>> start, grid = regular_grid(t, np.array([100.0, 102, 104, 108, 120]))
    >>> grid.tolist()
    [100.0, 102.0, 104.0, 106.0, 108.0, nan, nan, nan, nan, nan, nan, nan, 120.0]
    """
    step_ms = step_min * 60_000
    start = int(ts_ms[0]) // step_ms * step_ms if start_ms is None else start_ms
    n = (int(ts_ms[-1]) - start) // step_ms + 1
    grid = np.full(n, np.nan)
    grid[(ts_ms - start) // step_ms] = values
    known = np.flatnonzero(np.isfinite(grid))
    for a, b in zip(known[:-1].tolist(), known[1:].tolist(), strict=True):
        if b - a > 1 and (b - a) * step_min <= max_gap_min:
            grid[a + 1 : b] = np.interp(np.arange(a + 1, b), [a, b], [grid[a], grid[b]])
    return start, grid


def _window_sums(amounts: F64) -> list[F64]:
    """Per step, the amounts of each past window, each summed from its own steps (so a
    step's sums are the same bits however far back the array starts).

    >>> [float(w[-1]) for w in _window_sums(np.arange(60, dtype=float))][:3]
    [174.0, 165.0, 303.0]
    """
    n = len(amounts)
    out = []
    for lo, hi in WINDOWS:
        total = np.zeros(n)
        for lag in range(lo, min(hi, n)):
            total[lag:] += amounts[: n - lag]
        out.append(total)
    return out


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


def feature_matrix(
    cgm: F64,
    insulin_u: F64,
    carbs_g: F64,
    minute_of_day: F64,
    on_board_before: tuple[float, float] = (0.0, 0.0),
) -> F64:
    """One row per 5-minute step (NaN where the last 30 minutes of CGM are incomplete);
    ``on_board_before``: insulin and carbs on board the step before the first."""
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
    columns += [on_board(np.nan_to_num(insulin_u), IOB_TAU_MIN, on_board_before[0])]
    columns += [on_board(np.nan_to_num(carbs_g), COB_TAU_MIN, on_board_before[1]) / 10.0]
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

    # The model contract's names (lifetwin.models.contract.Prediction).
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


class _Rows(Sequence[F64]):
    """The rows of a feature matrix as a sequence of examples (without copying them)."""

    def __init__(self, matrix: F64) -> None:
        self.matrix = matrix

    def __len__(self) -> int:
        return len(self.matrix)

    @overload
    def __getitem__(self, index: int) -> F64: ...

    @overload
    def __getitem__(self, index: slice) -> _Rows: ...

    def __getitem__(self, index: int | slice) -> F64 | _Rows:
        if isinstance(index, slice):
            return _Rows(self.matrix[index])
        return np.asarray(self.matrix[index], dtype=np.float64)


class _Targets(Sequence[Mapping[int, float]]):
    """Future changes per horizon (columns) as a sequence of examples' outcomes."""

    def __init__(self, horizons: tuple[int, ...], matrix: F64) -> None:
        self.horizons = horizons
        self.matrix = matrix

    def __len__(self) -> int:
        return len(self.matrix)

    @overload
    def __getitem__(self, index: int) -> Mapping[int, float]: ...

    @overload
    def __getitem__(self, index: slice) -> _Targets: ...

    def __getitem__(self, index: int | slice) -> Mapping[int, float] | _Targets:
        if isinstance(index, slice):
            return _Targets(self.horizons, self.matrix[index])
        return dict(zip(self.horizons, self.matrix[index].tolist(), strict=True))


class GlucoseForecaster(PersonalModel[F64, Mapping[int, float]]):
    """Per-person online ridge regression, one per horizon, combined with AR2, with
    conformal intervals (the model contract of :mod:`lifetwin.models.contract`).

    ``x`` is one row of :func:`feature_matrix`; ``y`` maps each horizon to the change
    of glucose by then (see :func:`targets`). ``floor_mg_dl``/``ceiling_mg_dl``: the
    sensor's range, which forecasts and intervals stay within (None: unbounded).

    Honest errors: examples are learned in batches of ``batch_rows`` complete rows, each
    forecast, before it is learned, with the weights of every batch before it — by
    count, so learning in any split (an hour after an ingest, or the whole history at
    once) gives the same model."""

    name = "glucose"

    def __init__(
        self,
        ridge: float = 1.0,
        coverage: float = 0.9,
        error_window: int = 2016,
        horizons: Sequence[int] = HORIZONS_MIN,
        floor_mg_dl: float | None = None,
        ceiling_mg_dl: float | None = None,
        batch_rows: int = 288,
    ) -> None:
        self.ridge = ridge
        self.coverage = coverage
        self.error_window = error_window
        self.horizons = tuple(int(h) for h in horizons)
        self.floor_mg_dl = floor_mg_dl
        self.ceiling_mg_dl = ceiling_mg_dl
        self.batch_rows = batch_rows
        self._xtx: dict[int, F64] = {}
        self._xty: dict[int, F64] = {}
        self._yty: dict[int, float] = {}
        self._n: dict[int, int] = {}
        self._weights: dict[int, F64] = {}
        self._frozen: dict[int, F64] = {}  # the weights before the current batch
        self._in_batch = 0
        # per horizon, on data not yet learned: (model change - AR2 change, actual - AR2)
        # (the newest ``error_window`` of them, oldest first, one row each)
        self._pairs: dict[int, F64] = {h: np.zeros((0, 2)) for h in self.horizons}
        self.seen = 0
        self._cached: dict[int, tuple[float, F64]] = {}  # horizon -> (mix, errors)

    # -- the contract -------------------------------------------------------------------
    def spec(self) -> FeatureSpec:
        return FeatureSpec(
            inputs=("glucose", "insulin_delivered", "event:insulin", "event:meal"),
            purpose="forecasting",
            required=("glucose",),
            step_min=STEP_MIN,
            windows_min=(5 * (HISTORY - 1), 5 * WINDOWS[-1][1]),
            horizons=self.horizons,
            horizon_unit="min",
            # the insulin and carb windows (4 h) and the CGM lags, with room; what is
            # on board from before is carried in the cursor
            context_min=6 * 60,
            settle_min=max(self.horizons) + 2 * MAX_GAP_MIN,
            version="1",
        )

    def params(self) -> dict[str, JSON]:
        return {
            "ridge": self.ridge,
            "coverage": self.coverage,
            "error_window": self.error_window,
            "horizons": list(self.horizons),
            "floor_mg_dl": self.floor_mg_dl,
            "ceiling_mg_dl": self.ceiling_mg_dl,
            "batch_rows": self.batch_rows,
        }

    def _solve(self, horizon: int) -> F64:
        size = len(self._xty[horizon])
        penalty = self.ridge * np.eye(size)
        penalty[0, 0] = 0.0  # the intercept is not shrunk
        return np.asarray(
            np.linalg.solve(self._xtx[horizon] + penalty, self._xty[horizon]), dtype=np.float64
        )

    def learn_many(
        self,
        xs: Sequence[F64] | F64,
        ys: Sequence[Mapping[int, float]] | Mapping[int, F64],
    ) -> None:
        """Add rows (features) with their future changes per horizon; NaNs are skipped.

        ``xs``/``ys``: examples as the contract has them, or a feature matrix and a
        mapping of horizon to future changes. Each row is first forecast with the weights
        of the batches before its own; those errors (on data not yet learned) make the
        intervals and the AR2 combination."""
        if not len(xs):
            return
        if isinstance(xs, _Rows):
            x = xs.matrix
        elif isinstance(xs, np.ndarray):
            x = np.atleast_2d(xs)
        else:
            x = np.array([np.asarray(row, dtype=np.float64) for row in xs]).reshape(len(xs), -1)
        if isinstance(ys, Mapping):
            y = {h: np.asarray(ys[h], dtype=np.float64) for h in self.horizons if h in ys}
        elif isinstance(ys, _Targets):
            y = {h: ys.matrix[:, ys.horizons.index(h)] for h in self.horizons if h in ys.horizons}
        else:
            y = {
                h: np.array([o.get(h, np.nan) for o in ys], dtype=np.float64) for h in self.horizons
            }
        complete = np.all(np.isfinite(x), axis=1)
        x = x[complete]
        y = {h: v[complete] for h, v in y.items()}
        start = 0
        while start < len(x):
            if self._in_batch >= self.batch_rows:  # the batch is full: freeze its weights
                self._frozen = {h: self._solve(h) for h in self._xtx}
                self._in_batch = 0
            stop = min(len(x), start + self.batch_rows - self._in_batch)
            self._learn_rows(x[start:stop], {h: v[start:stop] for h, v in y.items()})
            self._in_batch += stop - start
            start = stop
        self.seen += len(x)
        self._weights = {h: self._solve(h) for h in self._xtx}

    def _learn_rows(self, x: F64, targets: Mapping[int, F64]) -> None:
        for horizon, y in targets.items():
            ok = np.isfinite(y)
            rows, ys = x[ok], y[ok]
            if horizon in self._frozen and len(rows):
                own = rows @ self._frozen[horizon]
                ar2 = ar2_change(rows, horizon)
                new = np.column_stack((own - ar2, ys - ar2))
                both = np.concatenate((self._pairs[horizon], new))
                self._pairs[horizon] = both[max(len(both) - self.error_window, 0) :]
                self._cached.pop(horizon, None)
            size = x.shape[1]
            self._xtx[horizon] = self._xtx.get(horizon, np.zeros((size, size))) + rows.T @ rows
            self._xty[horizon] = self._xty.get(horizon, np.zeros(size)) + rows.T @ ys
            self._yty[horizon] = self._yty.get(horizon, 0.0) + float(ys @ ys)
            self._n[horizon] = self._n.get(horizon, 0) + len(ys)

    def learn_one(self, x: F64, y: Mapping[int, float]) -> None:
        self.learn_many(x[None, :], {h: np.array([v]) for h, v in y.items()})

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
        if not len(pairs):
            return 1.0, np.zeros(0)
        d, r = pairs.T
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

    def truth(self, x: F64, y: Mapping[int, float]) -> dict[int, float]:
        """The glucose each horizon's forecast was about: the level plus its change."""
        level = float(x[1]) * 100.0
        return {h: level + float(v) for h, v in y.items() if np.isfinite(v)}

    def to_state(self) -> bytes:
        arrays: dict[str, npt.NDArray[Any]] = {}
        for h in self._xtx:
            arrays[f"xtx{h}"] = self._xtx[h]
            arrays[f"xty{h}"] = self._xty[h]
        for h, w in self._frozen.items():
            arrays[f"frozen{h}"] = w
        for h, pairs in self._pairs.items():
            arrays[f"pairs{h}"] = pairs
        meta = {
            "params": self.params(),
            "seen": self.seen,
            "in_batch": self._in_batch,
            "learned": sorted(self._xtx),
            "frozen": sorted(self._frozen),
            "yty": {str(h): v for h, v in self._yty.items()},
            "n": {str(h): v for h, v in self._n.items()},
        }
        return pack(meta, arrays)

    @classmethod
    def from_state(cls, state: bytes) -> Self:
        meta, arrays = unpack(state)
        model = cls(**meta["params"])
        model.seen, model._in_batch = int(meta["seen"]), int(meta["in_batch"])
        for h in meta["learned"]:
            model._xtx[h] = arrays[f"xtx{h}"]
            model._xty[h] = arrays[f"xty{h}"]
            model._yty[h] = float(meta["yty"][str(h)])
            model._n[h] = int(meta["n"][str(h)])
            model._weights[h] = model._solve(h)
        for h in meta["frozen"]:
            model._frozen[h] = arrays[f"frozen{h}"]
        for h in model.horizons:
            model._pairs[h] = arrays[f"pairs{h}"].reshape(-1, 2)
        return model

    # -- a person's data ------------------------------------------------------------------
    def featurize(
        self, data: InputData, cursor: Mapping[str, JSON] | None
    ) -> Examples[F64, Mapping[int, float]]:
        """One example per 5-minute step with complete features, settled once its
        longest horizon has been measured; the present is the newest reading's step."""
        from lifetwin.core.model import Event, Quality

        step_ms = STEP_MIN * 60_000
        series = data.series["glucose"]
        cgm_streams = np.array([not s.source.endswith("(daily)") for s in series.streams], bool)
        keep = (series.columns.quality & int(Quality.CALIBRATION)) == 0
        if len(series.streams):
            keep &= cgm_streams[series.stream_index]
        ts, values = series.ts_ms[keep], series.values[keep]
        window = data.window
        tally = _Tally.read(None if cursor is None else cursor.get("tally"))
        if not len(ts):
            return Examples([], [], [], 0, summary=tally.summary())
        if cursor is None or window.read_from_ms is None:
            origin = int(ts[0]) // step_ms * step_ms
            before = (0.0, 0.0)
        else:
            origin = max(int(_number(cursor["origin_ms"])), window.read_from_ms)
            before = (_number(cursor["iob"]), _number(cursor["cob"]))
        start, grid = regular_grid(ts, values, start_ms=origin)
        n = len(grid)
        insulin = np.zeros(n)
        carbs = np.zeros(n)
        delivered = data.series["insulin_delivered"]
        if len(delivered):
            index = (delivered.ts_ms - start) // step_ms
            ok = (index >= 0) & (index < n)
            np.add.at(insulin, index[ok], delivered.values[ok])
        for name, target, key in (
            ("event:insulin", insulin, "insulin_u"),
            ("event:meal", carbs, "carbs_g"),
        ):
            if name == "event:insulin" and delivered.streams:
                continue  # doses are already in the delivered series
            for event in data.records[name]:
                if isinstance(event, Event) and isinstance(event.details.get(key), int | float):
                    i = (int(event.start.timestamp() * 1000) - start) // step_ms
                    if 0 <= i < n:
                        target[i] += float(event.details[key])
        local_offset = int(series.columns.tz_min[keep][-1])
        minutes = (start // 60_000 + local_offset + np.arange(n) * STEP_MIN) % 1440
        x = feature_matrix(grid, insulin, carbs, minutes.astype(float), before)
        future = targets(grid, self.horizons)
        rows = np.flatnonzero(np.all(np.isfinite(x), axis=1))
        settled = int(np.searchsorted(rows, n - max(self.horizons) // STEP_MIN, side="left"))
        # what the next update needs to continue from window.next_from_ms
        carry = (window.next_from_ms - start) // step_ms - 1
        if carry >= 0:
            iob = on_board(np.nan_to_num(insulin[: carry + 1]), IOB_TAU_MIN, before[0])[-1]
            cob = on_board(np.nan_to_num(carbs[: carry + 1]), COB_TAU_MIN, before[1])[-1]
            before = (float(iob), float(cob))
        kept = tally.add(
            values[ts < window.next_from_ms]
            if cursor is None
            else values[(ts >= (window.read_from_ms or 0)) & (ts < window.next_from_ms)]
        )
        now = kept.add(values[ts >= window.next_from_ms])
        summary = now.summary()
        summary["last_ms"] = int(ts[-1])
        summary["last_mg_dl"] = float(values[-1])
        return Examples(
            ts_ms=(start + rows * step_ms).tolist(),
            xs=_Rows(x[rows]),
            ys=_Targets(self.horizons, np.column_stack([future[h][rows] for h in self.horizons])),
            settled=settled,
            present=x[n - 1],
            cursor={
                "origin_ms": origin if cursor is None else int(_number(cursor["origin_ms"])),
                "iob": before[0],
                "cob": before[1],
                "tally": kept.write(),
            },
            summary=summary,
        )

    # -- for the contract test ----------------------------------------------------------
    @classmethod
    def example(cls, n: int, seed: int) -> list[tuple[F64, Mapping[int, float]]]:
        """Synthetic CGM with meals and doses, as (feature row, future changes) pairs."""
        cgm, insulin, carbs = _synthetic_day(n + 60, seed)
        steps = np.arange(n + 60)
        x = feature_matrix(cgm, insulin, carbs, (steps * STEP_MIN % 1440).astype(float))
        y = targets(cgm)
        return [(x[i], {h: float(y[h][i]) for h in HORIZONS_MIN}) for i in range(HISTORY, n)]

    @classmethod
    def example_data(cls, days: int, seed: int) -> ExampleData:
        """Synthetic CGM readings, insulin doses and meals, ending on 2026-03-01."""
        from lifetwin.core.model import Event, EventKind

        n = days * 288
        cgm, insulin, carbs = _synthetic_day(n, seed)
        end_ms = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)
        ts = end_ms - (n - np.arange(n, dtype=np.int64)) * STEP_MIN * 60_000
        records = []
        for i in np.flatnonzero(carbs > 0).tolist():
            when = datetime.fromtimestamp(int(ts[i]) / 1000, UTC)
            records.append(
                Event(kind=EventKind.MEAL, start=when, details={"carbs_g": round(carbs[i], 1)})
            )
            records.append(
                Event(
                    kind=EventKind.INSULIN, start=when, details={"insulin_u": round(insulin[i], 2)}
                )
            )
        return ExampleData(
            series=(SeriesData("glucose", "example-cgm", "mg/dL", ts, np.round(cgm)),),
            records=tuple(records),
        )


def _synthetic_day(n: int, seed: int) -> tuple[F64, F64, F64]:
    """n 5-minute steps of synthetic CGM with meals and the doses for them."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n)
    carbs = np.where(rng.random(n) < 0.01, rng.uniform(20, 80, n), 0.0)
    insulin = carbs / 10.0
    cgm = 120 + 30 * np.sin(2 * np.pi * steps / 288) + rng.normal(0, 4, n)
    cgm += np.convolve(carbs, np.exp(-np.arange(36) / 12) * 0.8)[:n]
    cgm -= np.convolve(insulin, np.exp(-np.arange(48) / 18) * 6.0)[:n]
    return np.clip(cgm, 40, 400), insulin, carbs


def _number(value: JSON) -> float:
    if not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class _Tally:
    """How many readings there were, how many at the sensor's limits, and their range."""

    readings: int = 0
    at_floor: int = 0
    at_ceiling: int = 0
    low: float = math.inf
    high: float = -math.inf

    def add(self, values: F64) -> _Tally:
        if not len(values):
            return self
        return _Tally(
            self.readings + len(values),
            self.at_floor + int(np.count_nonzero(values <= SENSOR_FLOOR_MG_DL)),
            self.at_ceiling + int(np.count_nonzero(values >= SENSOR_CEILING_MG_DL)),
            min(self.low, float(values.min())),
            max(self.high, float(values.max())),
        )

    def write(self) -> dict[str, JSON]:
        return {
            "readings": self.readings,
            "at_floor": self.at_floor,
            "at_ceiling": self.at_ceiling,
            "low": self.low if self.readings else None,
            "high": self.high if self.readings else None,
        }

    @classmethod
    def read(cls, raw: JSON) -> _Tally:
        if not isinstance(raw, dict) or not raw.get("readings"):
            return cls()
        return cls(
            int(_number(raw["readings"])),
            int(_number(raw["at_floor"])),
            int(_number(raw["at_ceiling"])),
            _number(raw["low"]),
            _number(raw["high"]),
        )

    def summary(self) -> dict[str, JSON]:
        n = max(self.readings, 1)
        return {
            "readings": self.readings,
            "at_floor": self.at_floor / n,
            "at_ceiling": self.at_ceiling / n,
            "min_mg_dl": self.low if self.readings else None,
            "max_mg_dl": self.high if self.readings else None,
        }


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


def person_model() -> GlucoseForecaster:
    """The forecaster every person's forecast uses (its settings name its saved state)."""
    return GlucoseForecaster(
        horizons=MODEL_HORIZONS_MIN,
        floor_mg_dl=SENSOR_FLOOR_MG_DL,
        ceiling_mg_dl=SENSOR_CEILING_MG_DL,
    )


def forecast_for_person(
    vault: Vault, now: datetime | None = None, *, incremental: bool = True
) -> PersonForecast | None:
    """The person's glucose forecast from their newest reading, by their own forecaster.

    The forecaster is kept up to date by :func:`lifetwin.models.runner.update`: it learns
    only the CGM, insulin and meals that arrived since it last learned (and refits from
    the whole history only when that history changed); ``incremental=False`` refits from
    the whole history every time (the old way, kept for comparison).

    Reads for the forecasting purpose; stores the result with its lineage. None when
    there are fewer than two days of CGM to learn from, or none may be read for
    forecasting. The result says when the newest reading was taken; when that is more
    than 15 minutes before ``now`` the forecast is not current (``current`` False, the
    age in ``status``) and no hypo warning is raised.
    """
    from lifetwin.models.runner import refit, update
    from lifetwin.privacy.lineage import Derived

    try:
        run = (update if incremental else refit)(vault, person_model(), now=now)
    except PurposeNotGrantedError:
        return None
    summary = run.examples.summary
    present = run.examples.present
    readings = int(_number(summary["readings"]))
    if readings < 2 * 288 or present is None:
        return None
    model = run.model
    assert isinstance(model, GlucoseForecaster)
    model.floor_mg_dl = min(SENSOR_FLOOR_MG_DL, _number(summary["min_mg_dl"]))
    model.ceiling_mg_dl = max(SENSOR_CEILING_MG_DL, _number(summary["max_mg_dl"]))
    last_ms, last_mg_dl = int(_number(summary["last_ms"])), _number(summary["last_mg_dl"])
    predicted = model.predict_one(present, last_mg_dl)
    shown = [f for f in predicted if f.horizon_min in HORIZONS_MIN]
    trajectory = {f.horizon_min: round(f.value_mg_dl, 1) for f in predicted}
    based_on = datetime.fromtimestamp(last_ms / 1000, UTC)
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
        (_number(summary["at_floor"]), f"at its lower limit ({SENSOR_FLOOR_MG_DL:g}"),
        (_number(summary["at_ceiling"]), f"at its upper limit ({SENSOR_CEILING_MG_DL:g}"),
    ):
        if share > 0.2:
            warnings.append(
                f"Your sensor read {words} mg/dL or beyond) {share:.0%} of the time; forecasts "
                "learned from such readings are less reliable."
            )
    result = PersonForecast(
        last_reading_ms=last_ms,
        last_mg_dl=last_mg_dl,
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
        lineage=run.lineage,
    )
    vault.save_derived(
        Derived(
            name="forecast:glucose",
            kind="forecast",
            lineage=run.lineage,
            payload={
                "from_ms": result.last_reading_ms,
                "model": run.state_name,
                "refit": run.refit,
                "learned": run.learned,
                "forecasts": [f.__dict__ for f in shown],
                "current": current,
            },
        )
    )
    return result
