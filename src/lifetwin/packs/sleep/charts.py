"""The sleep page's figures, built from :class:`~lifetwin.packs.sleep.operations.SleepSummary`
(plotly figure dicts; no store reads). Times are the person's wall-clock times, so the axis
reads as the person lived the night."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lifetwin.packs.sleep.operations import STAGE_LABELS, SleepSummary

Figure = dict[str, Any]
# Colours with at least 3:1 contrast on white (WCAG 1.4.11 for graphics).
STAGE_COLOURS = {
    "awake": "#c0392b",
    "rem": "#7b3fb5",
    "light": "#2f7ec7",
    "deep": "#1b2f80",
    "asleep": "#2e7d5b",
    "in_bed": "#767676",
}
BOTTOM_UP = ("deep", "light", "asleep", "rem", "awake", "in_bed")


def wall(moment: datetime) -> str:
    """A local time as plotly reads it: the wall-clock time, no offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def hypnogram(found: SleepSummary) -> Figure:
    """The night's stages as bars on a time axis, deep sleep at the bottom, awake on top."""
    present = [s for s in BOTTOM_UP if any(seg.stage == s for seg in found.hypnogram)]
    others = sorted({seg.stage for seg in found.hypnogram} - set(present))
    data = []
    for stage in [*present, *others]:
        segs = [seg for seg in found.hypnogram if seg.stage == stage]
        label = STAGE_LABELS.get(stage, stage)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": label,
                "y": [label] * len(segs),
                "base": [wall(seg.start) for seg in segs],
                "x": [seg.minutes * 60_000 for seg in segs],
                "marker": {"color": STAGE_COLOURS.get(stage, "#555555")},
                "customdata": [
                    f"{seg.start:%H:%M}–{seg.end:%H:%M}, {seg.minutes:g} min" for seg in segs
                ],
                "hovertemplate": "%{y}: %{customdata}<extra></extra>",
            }
        )
    order = [STAGE_LABELS.get(s, s) for s in [*present, *others]]
    return {
        "data": data,
        "layout": {
            "barmode": "overlay",
            "bargap": 0.15,
            "showlegend": False,
            "xaxis": {
                "type": "date",
                "tickformat": "%H:%M",
                "title": {"text": f"time ({found.time_zone})"},
            },
            "yaxis": {"type": "category", "categoryorder": "array", "categoryarray": order},
            "margin": {"l": 90, "r": 10, "t": 10, "b": 45},
        },
    }


def week(found: SleepSummary) -> Figure:
    """The last seven nights, each a stack of its stages (hours)."""
    nights = found.nights[-7:]
    x = [f"{n.night:%a %d}" for n in nights]
    stacked = [
        s for s in ("deep", "light", "rem", "asleep", "awake") if any(s in n.stages for n in nights)
    ]
    if not stacked:  # nightly totals only
        return {
            "data": [
                {
                    "type": "bar",
                    "x": x,
                    "y": [round(n.asleep_min / 60, 2) for n in nights],
                    "name": "asleep",
                    "marker": {"color": STAGE_COLOURS["asleep"]},
                }
            ],
            "layout": {"yaxis": {"title": {"text": "hours"}}, "showlegend": False},
        }
    return {
        "data": [
            {
                "type": "bar",
                "x": x,
                "y": [round(n.stages.get(s, 0.0) / 60, 2) for n in nights],
                "name": STAGE_LABELS.get(s, s),
                "marker": {"color": STAGE_COLOURS[s]},
                "hovertemplate": "%{x}: %{y:.1f} h<extra>" + STAGE_LABELS.get(s, s) + "</extra>",
            }
            for s in stacked
        ],
        "layout": {"barmode": "stack", "yaxis": {"title": {"text": "hours"}}},
    }


def month(found: SleepSummary) -> Figure:
    """Hours asleep night by night, with the mean of the last seven nights and the usual."""
    x = [n.night.isoformat() for n in found.nights]
    hours = [round(n.asleep_min / 60, 2) for n in found.nights]
    rolling = []
    for i in range(len(hours)):
        window = hours[max(0, i - 6) : i + 1]
        rolling.append(round(sum(window) / len(window), 2))
    data: list[Any] = [
        {
            "type": "bar",
            "x": x,
            "y": hours,
            "name": "asleep",
            "marker": {"color": STAGE_COLOURS["light"]},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": rolling,
            "name": "7-night mean",
            "line": {"color": "#1a1a1a", "width": 2},
        },
    ]
    shapes = []
    if found.usual.asleep_min is not None:
        usual = round(found.usual.asleep_min / 60, 2)
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": usual,
                "y1": usual,
                "line": {"color": "#a11", "dash": "dot"},
            }
        )
    return {
        "data": data,
        "layout": {
            "xaxis": {"type": "date", "tickformat": "%d %b"},
            "yaxis": {"title": {"text": "hours asleep"}},
            "shapes": shapes,
        },
    }
