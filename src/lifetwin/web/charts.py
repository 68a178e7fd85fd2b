"""Every dashboard figure, built from an operation's model (plotly.js figure dicts that a
page embeds as JSON; the browser draws them with the bundled plotly.js).

No figure reads the store: a page asks an operation for its model and hands it here.
Glucose's figures are in :mod:`lifetwin.web.glucose_charts`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lifetwin.operations.twin import MetricHistory

Figure = dict[str, Any]

BLUE = "#0b5cad"


def _band(x: list[str], low: list[float | None], high: list[float | None], name: str) -> list[Any]:
    return [
        {
            "x": x,
            "y": low,
            "mode": "lines",
            "line": {"width": 0},
            "name": name,
            "showlegend": False,
            "hoverinfo": "skip",
        },
        {
            "x": x,
            "y": high,
            "mode": "lines",
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": "rgba(11,92,173,0.15)",
            "name": name,
        },
    ]


def metric_history(found: MetricHistory) -> Figure:
    """A metric over time, the person's usual range shaded, unusual values marked."""
    x = [p.t for p in found.points]
    data: list[Any] = []
    if any(p.usual_high is not None for p in found.points):
        data += _band(
            x, [p.usual_low for p in found.points], [p.usual_high for p in found.points], "usual"
        )
    data.append(
        {
            "x": x,
            "y": [p.mean for p in found.points],
            "mode": "lines",
            "name": found.name,
            "line": {"color": BLUE},
        }
    )
    odd = [p for p in found.points if p.unusual]
    if odd:
        data.append(
            {
                "x": [p.t for p in odd],
                "y": [p.mean for p in odd],
                "mode": "markers",
                "name": "unusual",
                "marker": {"color": "#c00", "size": 8},
            }
        )
    layout: Figure = {"yaxis": {"title": {"text": found.unit}}, "xaxis": {"type": "date"}}
    if found.targets is not None:  # glucose: the person's target lines
        from lifetwin.web.glucose_charts import target_lines

        layout["shapes"] = target_lines(found.targets)
    return {"data": data, "layout": layout}


def since_hours(moment: datetime, hours: float) -> datetime:
    return moment - timedelta(hours=hours)
