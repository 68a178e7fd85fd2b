"""Every dashboard figure, built from an operation's model (plotly.js figure dicts that a
page embeds as JSON; the browser draws them with the bundled plotly.js).

No figure reads the store: a page asks an operation for its model and hands it here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lifetwin.capabilities.cgm_report import RANGES
from lifetwin.operations.data import SeriesPage
from lifetwin.operations.twin import CgmView, GlucoseForecast, InsightView, MetricHistory

Figure = dict[str, Any]

BLUE = "#0b5cad"
RANGE_COLOURS = ("#8b0000", "#e03c31", "#2e8b57", "#f0a500", "#d2691e")  # very low .. very high


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
    return {
        "data": data,
        "layout": {"yaxis": {"title": {"text": found.unit}}, "xaxis": {"type": "date"}},
    }


def time_in_ranges(report: CgmView) -> Figure:
    """One stacked bar of the time in each consensus range."""
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [report.ranges_pct[key]],
                "y": ["time"],
                "name": label,
                "marker": {"color": colour},
            }
            for (key, label), colour in zip(RANGES, RANGE_COLOURS, strict=True)
        ],
        "layout": {
            "barmode": "stack",
            "xaxis": {"range": [0, 100], "title": {"text": "% of time"}},
            "yaxis": {"visible": False},
        },
    }


def agp(report: CgmView, targets: tuple[float, float] = (70.0, 180.0)) -> Figure:
    """The ambulatory glucose profile: median, 25–75 % and 5–95 % bands by hour."""
    hours = sorted(report.agp, key=int)
    x = [int(h) for h in hours]
    cut = {
        k: [getattr(report.agp[h], k) for h in hours] for k in ("p5", "p25", "p50", "p75", "p95")
    }
    outer = _band([str(h) for h in x], cut["p5"], cut["p95"], "5–95 %")
    inner = _band([str(h) for h in x], cut["p25"], cut["p75"], "25–75 %")
    inner[1]["fillcolor"] = "rgba(11,92,173,0.3)"
    for trace in outer + inner:
        trace["x"] = x
    return {
        "data": [
            *outer,
            *inner,
            {
                "x": x,
                "y": cut["p50"],
                "mode": "lines",
                "line": {"color": BLUE, "width": 2},
                "name": "median",
            },
        ],
        "layout": {
            "xaxis": {"title": {"text": "hour of day"}, "range": [0, 23]},
            "yaxis": {"title": {"text": "mg/dL"}},
            "shapes": [
                {
                    "type": "rect",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": targets[0],
                    "y1": targets[1],
                    "fillcolor": "rgba(46,139,87,0.08)",
                    "line": {"width": 0},
                }
            ],
        },
    }


def glucose_forecast(found: GlucoseForecast, recent: SeriesPage) -> Figure:
    """The last hours of CGM and the forecast from the newest reading, with intervals."""
    start = found.start.astimezone(UTC)
    fx = [
        (start + timedelta(minutes=f.horizon_min)).isoformat().replace("+00:00", "Z")
        for f in found.forecasts
    ]
    return {
        "data": [
            {
                "x": [p.t for p in recent.points],
                "y": [p.value for p in recent.points],
                "mode": "lines",
                "name": "CGM",
            },
            {
                "x": fx,
                "y": [f.value_mg_dl for f in found.forecasts],
                "mode": "markers+lines",
                "name": "forecast",
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [f.high_mg_dl - f.value_mg_dl for f in found.forecasts],
                    "arrayminus": [f.value_mg_dl - f.low_mg_dl for f in found.forecasts],
                },
            },
        ],
        "layout": {
            "yaxis": {"title": {"text": "mg/dL"}},
            "xaxis": {"type": "date"},
            "shapes": [
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": 70,
                    "y1": 70,
                    "line": {"color": "#c00", "dash": "dot"},
                }
            ],
        },
    }


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
