"""Scoring for the glucose benchmark: consensus hypoglycaemia events, alert edges, and
patient-clustered bootstrap intervals. Imported by ``glucose_forecast.py``.

Events follow the international consensus on CGM metrics (Danne et al., Diabetes Care
2017; Battelino et al., Diabetes Care 2019) as iglu's ``episode_calculation`` reads it
for 5-minute data: an event begins with at least 15 minutes (three consecutive
readings) below the threshold — 70 mg/dL for level 1, 54 mg/dL for level 2 — and starts
at the first of those readings; it ends with at least 15 minutes (three consecutive
readings) at or above the threshold. A missing reading breaks a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
STEP_MIN = 5
RUN = 3  # 15 minutes of 5-minute readings
WINDOW = 12  # an alert is true when an event starts within 60 minutes (12 steps)


def consensus_events(cgm: F64, threshold: float) -> list[tuple[int, int]]:
    """(start, end) index pairs of consensus events below ``threshold``; ``end`` is the
    first reading of the 15 minutes back at or above it (len(cgm) if still ongoing).

    One reading back above 70 does not end an event; 15 minutes do:

    >>> x = np.array([80, 69, 68, 67, 80, 60, 61, 62, 63, 75, 76, 77, 78.0])
    >>> consensus_events(x, 70)
    [(1, 9)]
    >>> consensus_events(np.array([80, 65, 66, 80, 80, 80.0]), 70)
    []
    """
    events: list[tuple[int, int]] = []
    n = len(cgm)
    below = np.nan_to_num(cgm, nan=np.inf) < threshold
    above = np.nan_to_num(cgm, nan=-np.inf) >= threshold
    i = 0
    while i <= n - RUN:
        if below[i : i + RUN].all():
            start = i
            j = i + RUN
            while j <= n - RUN and not above[j : j + RUN].all():
                j += 1
            end = j if j <= n - RUN else n
            events.append((start, end))
            i = end + RUN
        else:
            i += 1
    return events


def low_mask(cgm: F64, events: list[tuple[int, int]]) -> B:
    """True while the person is low: inside an event or at a reading below 70."""
    mask = np.nan_to_num(cgm, nan=np.inf) < 70
    for start, end in events:
        mask[start:end] = True
    return mask


def alert_edges(signal: B, low: B) -> npt.NDArray[np.int64]:
    """Indices where an alert is raised: rising edges of the signal while not low.

    An alert that stays on through a dip is not raised again when the dip ends.

    >>> on = np.array([0, 1, 1, 1, 0, 1, 1, 0, 0, 1], dtype=bool)
    >>> low = np.array([0, 0, 1, 0, 0, 1, 0, 0, 0, 0], dtype=bool)
    >>> alert_edges(on, low).tolist()
    [1, 9]
    """
    previous = np.concatenate(([False], signal[:-1]))
    return np.flatnonzero(signal & ~previous & ~low)


@dataclass
class AlertScore:
    """One patient's alerts against their events, over the scored steps."""

    events: int = 0
    caught: int = 0
    level2: int = 0
    level2_caught: int = 0
    alerts: int = 0
    true_alerts: int = 0
    days: float = 0.0
    gains_min: list[float] = field(default_factory=list)  # of caught events
    warned_15: int = 0  # events with an alert at least 15 minutes before their start

    def add(self, other: AlertScore) -> AlertScore:
        return AlertScore(
            self.events + other.events,
            self.caught + other.caught,
            self.level2 + other.level2,
            self.level2_caught + other.level2_caught,
            self.alerts + other.alerts,
            self.true_alerts + other.true_alerts,
            self.days + other.days,
            self.gains_min + other.gains_min,
            self.warned_15 + other.warned_15,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "hypo_recall": _ratio(self.caught, self.events),
            "hypo_precision": _ratio(self.true_alerts, self.alerts),
            "false_alerts_per_day": (
                round((self.alerts - self.true_alerts) / self.days, 3) if self.days else None
            ),
            "median_time_gain_min": float(np.median(self.gains_min)) if self.gains_min else None,
            "share_warned_15min": _ratio(self.warned_15, self.events),
            "level2_recall": _ratio(self.level2_caught, self.level2),
            "events": self.events,
            "level2_events": self.level2,
            "alerts": self.alerts,
        }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def score_alerts(cgm: F64, signal: B, first: int, last: int | None = None) -> AlertScore:
    """Score an alert signal on steps ``first``..``last``.

    Events count when they start at least an hour into the scored span (so the whole
    hour before them is scored); alerts count anywhere in it. An event is caught when an
    alert was raised within the hour before its start; its time gain is the start minus
    the earliest such alert. An alert is true when an event (scored or not) starts
    within the hour after it. A level-2 event is caught when an alert came within the
    hour before it, or before the level-1 event it lies in.
    """
    last = len(cgm) if last is None else last
    level1 = consensus_events(cgm, 70.0)
    level2 = consensus_events(cgm, 54.0)
    low = low_mask(cgm, level1)
    edges = alert_edges(signal, low)
    edges = edges[(edges >= first) & (edges < last)]
    starts = np.array([s for s, _ in level1], dtype=np.int64)
    score = AlertScore(days=(last - first) * STEP_MIN / 1440)
    score.alerts = len(edges)
    score.true_alerts = int(
        sum(np.any((starts > a) & (starts <= a + WINDOW)) for a in edges.tolist())
    )
    caught_starts: list[int] = []
    for start, _end in level1:
        if not first + WINDOW <= start < last:
            continue
        score.events += 1
        before = edges[(edges >= start - WINDOW) & (edges < start)]
        if len(before):
            score.caught += 1
            gain = STEP_MIN * (start - int(before[0]))
            score.gains_min.append(float(gain))
            score.warned_15 += gain >= 15
            caught_starts.append(start)
    for start, _end in level2:
        if not first + WINDOW <= start < last:
            continue
        score.level2 += 1
        parent = [s for s, e in level1 if s <= start < e]
        before = edges[(edges >= start - WINDOW) & (edges < start)]
        if len(before) or (parent and parent[0] in caught_starts):
            score.level2_caught += 1
    return score


def bootstrap(
    per_patient: list[Any],
    statistic: Any,
    draws: int = 1000,
    seed: int = 0,
) -> tuple[float | None, float | None]:
    """95 % percentile interval of ``statistic(sample)`` over patient resamples."""
    rng = np.random.default_rng(seed)
    n = len(per_patient)
    values = []
    for _ in range(draws):
        sample = [per_patient[i] for i in rng.integers(0, n, n)]
        value = statistic(sample)
        if value is not None and np.isfinite(value):
            values.append(value)
    if not values:
        return None, None
    low, high = np.percentile(values, [2.5, 97.5])
    return round(float(low), 3), round(float(high), 3)
