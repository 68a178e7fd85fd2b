"""The what-if figures, built from a scenario run's model (plotly.js figure dicts the page
embeds as JSON): each trajectory's median with its 90 % band, as usual against the
scenario. No figure reads the store.

>>> from lifetwin.packs.whatif.capability import Trajectory
>>> t = Trajectory(label="as usual", times_ms=[0, 300_000], median=[100.0, 110.0],
...                low=[90.0, 95.0], high=[120.0, 130.0], unit="mg/dl")
>>> fig = trajectories([t], start_ms=0, clock=True)
>>> [trace["name"] for trace in fig["data"]]
['as usual (90 % band)', 'as usual (90 % band)', 'as usual']
>>> fig["data"][2]["x"]
[0.0, 0.08333]
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lifetwin.packs.whatif.capability import Trajectory
    from lifetwin.packs.whatif.operations import ScenarioRun

Figure = dict[str, Any]
# As usual in grey-blue, the scenario in orange: distinguishable with colour blindness.
COLOURS = (("#1f5f99", "rgba(31,95,153,0.18)"), ("#c0500a", "rgba(192,80,10,0.18)"))
TARGET = (70.0, 180.0)


def _hours(times_ms: list[int], start_ms: int) -> list[float]:
    return [round((t - start_ms) / 3_600_000, 5) for t in times_ms]


def _clock_ticks(hours: float) -> tuple[list[float], list[str]]:
    step = 3 if hours <= 24 else 12 if hours <= 96 else 24
    values = [float(h) for h in range(0, int(hours) + 1, step)]
    labels = [
        f"{int(h) % 24:02d}:00" if hours <= 24 else f"day {int(h) // 24 + 1} {int(h) % 24:02d}:00"
        for h in values
    ]
    return values, labels


def trajectories(
    found: list[Trajectory], *, start_ms: int | None = None, clock: bool = False
) -> Figure:
    """Each trajectory's 90 % band and median. ``clock``: x in hours from ``start_ms`` (the
    local midnight the replayed day starts at), ticks as times of day; else dates."""
    data: list[Any] = []
    for i, t in enumerate(found):
        line, fill = COLOURS[i % len(COLOURS)]
        x: list[Any] = (
            _hours(t.times_ms, start_ms if start_ms is not None else t.times_ms[0])
            if clock
            else [datetime.fromtimestamp(ms / 1000, UTC).date().isoformat() for ms in t.times_ms]
        )
        band = f"{t.label} (90 % band)"
        data += [
            {
                "x": x,
                "y": t.low,
                "mode": "lines",
                "line": {"width": 0},
                "name": band,
                "legendgroup": band,
                "showlegend": False,
                "hoverinfo": "skip",
            },
            {
                "x": x,
                "y": t.high,
                "mode": "lines",
                "line": {"width": 0},
                "fill": "tonexty",
                "fillcolor": fill,
                "name": band,
                "legendgroup": band,
                "hoverinfo": "skip",
            },
            {
                "x": x,
                "y": t.median,
                "mode": "lines",
                "name": t.label,
                "line": {"color": line, "width": 2, "dash": "solid" if i == 0 else "dash"},
            },
        ]
    unit = found[0].unit if found else ""
    layout: dict[str, Any] = {"yaxis": {"title": {"text": unit}}}
    if clock and found:
        first = found[0]
        span = _hours(first.times_ms, start_ms if start_ms is not None else first.times_ms[0])
        values, labels = _clock_ticks(span[-1] if span else 24.0)
        layout["xaxis"] = {"tickvals": values, "ticktext": labels}
    else:
        layout["xaxis"] = {"type": "date"}
    return {"data": data, "layout": layout}


def glucose(run: ScenarioRun) -> Figure | None:
    """Glucose as usual and under the scenario over the replayed day(s), the 70–180 mg/dl
    target range marked."""
    g = run.glucose
    if g is None:
        return None
    start = int(g.usual_day.timestamp() * 1000)
    fig = trajectories(g.trajectories, start_ms=start, clock=True)
    fig["layout"]["shapes"] = [
        {
            "type": "rect",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": TARGET[0],
            "y1": TARGET[1],
            "fillcolor": "rgba(46,139,87,0.07)",
            "line": {"width": 0},
            "layer": "below",
        }
    ]
    fig["layout"]["yaxis"]["title"]["text"] = "glucose (mg/dl)"
    return fig


def training(run: ScenarioRun) -> Figure | None:
    """Predicted performance per day as usual and under the training plan."""
    t = run.training
    if t is None:
        return None
    fig = trajectories(t.trajectories)
    fig["layout"]["yaxis"]["title"]["text"] = f"performance ({t.trajectories[0].unit})"
    return fig
