"""Every dashboard figure, built from an operation's model (plotly.js figure dicts that a
page embeds as JSON; the browser draws them with the bundled plotly.js).

No figure reads the store: a page asks an operation for its model and hands it here.
Glucose's figures are in :mod:`lifetwin.web.glucose_charts`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lifetwin.operations.twin import InsightView, MetricHistory

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


def insight(found: InsightView) -> Figure:
    """An insight's two groups of days side by side: the effect's mean after the cause's
    other days and after its high days (dots, so the axis shows the difference rather than
    zero), the difference's 95 % interval on the second."""
    from lifetwin.core.display import unit_label

    when = {0: "on", 1: "the day after", 2: "two days after"}[found.lag_days]
    label = unit_label(found.unit, found.effect)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "x": [f"{when} other days", f"{when} high {found.cause_name.lower()}"],
                "y": [round(found.effect_low, 3), round(found.effect_high, 3)],
                "marker": {"color": ["#5a6b80", BLUE], "size": 14},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [0, round(found.ci_high - found.difference, 3)],
                    "arrayminus": [0, round(found.difference - found.ci_low, 3)],
                    "color": "#1a1a1a",
                },
                "name": found.effect_name,
                "hovertemplate": "%{y:.3~g} " + label + "<extra></extra>",
            }
        ],
        "layout": {
            "showlegend": False,
            "margin": {"l": 50, "r": 10, "t": 10, "b": 30},
            "yaxis": {
                "title": {"text": f"{found.effect_name} ({label})" if label else found.effect_name}
            },
        },
    }
