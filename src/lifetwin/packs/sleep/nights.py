"""The arithmetic of nights: stage intervals to nightly totals, pure functions over arrays.

A night's stages come as intervals (stage, start, end) from one source. Sources overlap
themselves at times (an "in bed" interval around the stages, or an "asleep" interval
around "light" and "deep"), so every total is the length of a **union** of intervals,
never a plain sum:

* in bed — the union of every interval of the night, awake ones included;
* asleep — the union of the sleeping stages (``asleep``, ``light``, ``deep``, ``rem``);
* awake — in bed but not asleep (falling asleep, waking in the night, lying in);
* efficiency — asleep / in bed, in % (Ohayon et al. 2017 call ≥ 85 % good sleep quality).

Sessions are split where nothing is recorded for more than ``gap_ms`` (a nap in the
afternoon is not part of the night before).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
MINUTE_MS = 60_000
ASLEEP = ("asleep", "light", "deep", "rem")
STAGES = ("awake", "rem", "light", "deep", "asleep", "in_bed")  # top to bottom of a hypnogram


def union_ms(starts: I64, ends: I64) -> int:
    """The total length of the union of intervals [start, end).

    >>> union_ms(np.array([0, 5, 20]), np.array([10, 12, 30]))
    22
    >>> union_ms(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    0
    """
    if len(starts) == 0:
        return 0
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    # an interval starts a new block when it begins after everything before it ended
    new = np.r_[True, s[1:] > reach[:-1]]
    block = np.cumsum(new) - 1
    block_start = s[new]
    block_end = np.zeros(len(block_start), dtype=np.int64)
    np.maximum.at(block_end, block, e)
    return int(np.sum(np.maximum(block_end - block_start, 0)))


def split_sessions(starts: I64, ends: I64, gap_ms: int) -> list[I64]:
    """Indices (in time order) of each session: intervals with no gap longer than ``gap_ms``.

    >>> [s.tolist() for s in split_sessions(np.array([0, 10, 100]), np.array([10, 20, 110]), 30)]
    [[0, 1], [2]]
    """
    if len(starts) == 0:
        return []
    order = np.argsort(starts, kind="stable")
    reach = np.maximum.accumulate(ends[order])
    cut = np.flatnonzero(starts[order][1:] - reach[:-1] > gap_ms) + 1
    return [np.asarray(part, dtype=np.int64) for part in np.split(order, cut)]


def clock_mean_min(minutes: F64) -> float | None:
    """The mean of clock times (minutes after midnight) on the circle, so 23:30 and 00:30
    average to midnight, not to noon.

    >>> round(clock_mean_min(np.array([23.5 * 60, 0.5 * 60])) % 1440)
    0
    >>> clock_mean_min(np.array([])) is None
    True
    """
    ok = minutes[np.isfinite(minutes)]
    if len(ok) == 0:
        return None
    angle = ok / 1440 * 2 * math.pi
    mean = math.atan2(float(np.mean(np.sin(angle))), float(np.mean(np.cos(angle))))
    return (mean / (2 * math.pi) * 1440) % 1440


@dataclass
class NightTotals:
    """One night's totals in minutes (``stages``: minutes per stage recorded)."""

    bed_ms: int
    wake_ms: int
    in_bed_min: float
    asleep_min: float
    awake_min: float
    efficiency_pct: float | None
    latency_min: float | None  # from going to bed to the first sleep
    wake_ups: int  # awake intervals between the first and the last sleep
    stages: dict[str, float] = field(default_factory=dict)


def night_totals(stages: list[str], starts_ms: I64, ends_ms: I64) -> NightTotals:
    """Totals of one night from one source's intervals.

    >>> t = night_totals(["awake", "light", "deep", "awake", "rem", "awake"],
    ...                  np.array([0, 10, 100, 200, 205, 290]) * MINUTE_MS,
    ...                  np.array([10, 100, 200, 205, 290, 300]) * MINUTE_MS)
    >>> t.in_bed_min, t.asleep_min, t.awake_min, t.efficiency_pct, t.latency_min, t.wake_ups
    (300.0, 275.0, 25.0, 91.7, 10.0, 1)
    >>> t.stages
    {'awake': 25.0, 'rem': 85.0, 'light': 90.0, 'deep': 100.0}
    """
    kinds = np.array(stages, dtype=object)
    in_bed = union_ms(starts_ms, ends_ms) / MINUTE_MS
    sleeping = np.isin(kinds, ASLEEP)
    asleep = union_ms(starts_ms[sleeping], ends_ms[sleeping]) / MINUTE_MS
    per_stage: dict[str, float] = {}
    for stage in (*STAGES, *sorted(set(stages) - set(STAGES))):
        if stage == "in_bed":
            continue
        mask = kinds == stage
        if mask.any():
            per_stage[stage] = round(union_ms(starts_ms[mask], ends_ms[mask]) / MINUTE_MS, 1)
    bed, wake = int(starts_ms.min()), int(ends_ms.max())
    latency = None
    wake_ups = 0
    if sleeping.any():
        first, last = int(starts_ms[sleeping].min()), int(ends_ms[sleeping].max())
        latency = round((first - bed) / MINUTE_MS, 1)
        awake = (kinds == "awake") & (starts_ms >= first) & (ends_ms <= last)
        wake_ups = int(np.count_nonzero(awake))
    return NightTotals(
        bed_ms=bed,
        wake_ms=wake,
        in_bed_min=round(in_bed, 1),
        asleep_min=round(asleep, 1),
        awake_min=round(max(in_bed - asleep, 0.0), 1),
        efficiency_pct=round(100 * asleep / in_bed, 1) if in_bed > 0 else None,
        latency_min=latency,
        wake_ups=wake_ups,
        stages=per_stage,
    )
