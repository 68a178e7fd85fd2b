"""The demo person's nights: a hypnogram of sleep cycles, as a watch records it.

A night is a sequence of cycles of about 90 minutes (Carskadon & Dement, "Normal human
sleep: an overview", in Principles and Practice of Sleep Medicine): light sleep, deep
sleep, light sleep again, then REM. Deep sleep is long in the first cycles and gone by
the fourth; REM grows from a few minutes to half an hour or more towards the morning;
short awakenings come between cycles, more often late in the night. The night starts
with the minutes it takes to fall asleep and ends with a few minutes awake in bed.
"""

from __future__ import annotations

import numpy as np

Segment = tuple[str, float, float]  # stage, start and end in minutes after going to bed


def hypnogram(rng: np.random.Generator, in_bed_min: float) -> list[Segment]:
    """The stages of one night in bed, as (stage, start, end) in whole minutes after bedtime.

    >>> night = hypnogram(np.random.default_rng(1), 450)
    >>> night[0][0], night[-1][0], night[-1][2]
    ('awake', 'awake', 450.0)
    >>> sum(end - start for stage, start, end in night if stage != "awake") > 380
    True
    >>> [s for s, _a, _b in night].count("rem") >= 4
    True
    """
    total = float(round(in_bed_min))
    latency = float(rng.integers(4, 19))
    final_awake = float(rng.integers(2, 9))
    out: list[Segment] = []
    t = 0.0

    def add(stage: str, minutes: float) -> None:
        nonlocal t
        stop = min(t + float(round(minutes)), total - final_awake)
        if stop - t < 1:
            return
        if out and out[-1][0] == stage:
            out[-1] = (stage, out[-1][1], stop)
        else:
            out.append((stage, t, stop))
        t = stop

    add("awake", latency)
    cycle = 0
    while t < total - final_awake - 1:
        length = float(np.clip(rng.normal(92, 8), 75, 110))
        deep = max(0.0, rng.normal(38 - 13 * cycle, 5))
        rem = float(np.clip(rng.normal(9 + 7 * cycle, 4), 4, 40))
        light = max(length - deep - rem, 12.0)
        first_light = round(0.65 * light)
        add("light", first_light)
        add("deep", deep)
        add("light", light - first_light)
        add("rem", rem)
        if rng.random() < 0.3 + 0.1 * cycle:
            add("awake", float(rng.integers(1, 6)))
        cycle += 1
    t = total - final_awake
    out.append(("awake", t, total))
    return out


def asleep_minutes(night: list[Segment]) -> float:
    """Minutes asleep in a night (every stage but awake).

    >>> asleep_minutes([("awake", 0, 10), ("light", 10, 100), ("awake", 100, 103)])
    90
    """
    return sum(end - start for stage, start, end in night if stage != "awake")
