"""The activity pages' figures, built from the operations' models (plotly figure dicts; no
store reads). The route is drawn from the GPS track projected to metres — no map tiles, so
nothing leaves the machine — with a scale bar and north up."""

from __future__ import annotations

from typing import Any

from lifetwin.packs.athletics.operations import ActivityMetric, WorkoutDetail

Figure = dict[str, Any]
BLUE = "#0b5cad"
# Zone colours with at least 3:1 contrast on white (WCAG 1.4.11 for graphics).
ZONE_COLOURS = ("#767676", "#4f76a8", "#2e8b57", "#a67c00", "#d0531f", "#b22222")


def _shown(value: float | None, unit: str) -> float | None:
    if value is None:
        return None
    return round(value / 1000, 2) if unit == "m" else round(value, 1)


def _axis_unit(unit: str) -> str:
    return {"m": "km", "count": "", "dimensionless": ""}.get(unit, unit)


def days(found: ActivityMetric, n: int) -> Figure:
    """The last ``n`` days' totals as bars, the usual day dotted (and a 7-day mean over a month)."""
    chosen = found.days[-n:]
    x = [d.day.isoformat() for d in chosen]
    y = [_shown(d.value, found.unit) for d in chosen]
    data: list[Any] = [
        {
            "type": "bar",
            "x": x,
            "y": y,
            "name": found.name,
            "marker": {"color": BLUE},
            "hovertemplate": "%{x|%a %d %b}: %{y:,}<extra></extra>",
        }
    ]
    if n > 7:
        values = [d.value for d in found.days]
        start = len(values) - n
        mean = []
        for i in range(start, len(values)):
            window = [v for v in values[max(0, i - 6) : i + 1] if v is not None]
            mean.append(_shown(sum(window) / len(window), found.unit) if window else None)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": mean,
                "name": "7-day mean",
                "line": {"color": "#1a1a1a", "width": 2},
            }
        )
    shapes = []
    usual = _shown(found.usual_day, found.unit)
    if usual is not None:
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
            "xaxis": {"type": "date", "tickformat": "%a %d" if n <= 7 else "%d %b"},
            "yaxis": {"title": {"text": _axis_unit(found.unit) or found.name.lower()}},
            "shapes": shapes,
            "showlegend": n > 7,
            "margin": {"l": 55, "r": 10, "t": 10, "b": 40},
        },
    }


def heart_rate(found: WorkoutDetail) -> Figure:
    """Heart rate through the workout, the zones shaded behind it."""
    shapes = []
    for z in found.zones:
        if z.zone == 0 or z.low_bpm is None or z.high_bpm is None:
            continue
        shapes.append(
            {
                "type": "rect",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": z.low_bpm,
                "y1": z.high_bpm,
                "fillcolor": ZONE_COLOURS[z.zone],
                "opacity": 0.13,
                "line": {"width": 0},
                "layer": "below",
            }
        )
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": [s.minute for s in found.heart_rate],
                "y": [s.bpm for s in found.heart_rate],
                "name": "heart rate",
                "line": {"color": "#b22222", "width": 2},
                "hovertemplate": "minute %{x:.0f}: %{y:.0f} bpm<extra></extra>",
            }
        ],
        "layout": {
            "xaxis": {"title": {"text": "minutes from the start"}},
            "yaxis": {"title": {"text": "bpm"}},
            "shapes": shapes,
            "showlegend": False,
        },
    }


def _scale_label(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def route(found: WorkoutDetail) -> Figure:
    """The track in metres (north up, equal scales), start and finish marked, a scale bar."""
    r = found.route
    assert r is not None
    xmin, xmax = min(r.x_m), max(r.x_m)
    ymin, ymax = min(r.y_m), max(r.y_m)
    size = max(xmax - xmin, ymax - ymin, 1.0)
    pad = 0.08 * size
    bar_y = ymin - pad
    bar = [xmin, xmin + r.scale_bar_m]
    tick = 0.02 * size
    line = {"color": "#1a1a1a", "width": 3}
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": r.x_m,
                "y": r.y_m,
                "name": "route",
                "line": {"color": BLUE, "width": 3},
                "customdata": r.along_km,
                "hovertemplate": "%{customdata:.2f} km<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "x": [r.x_m[-1]],
                "y": [r.y_m[-1]],
                "name": "finish",
                "marker": {
                    "color": "#1a1a1a",
                    "size": 11,
                    "symbol": "square",
                    "line": {"color": "#fff", "width": 2},
                },
            },
            {
                "type": "scatter",
                "mode": "markers",
                "x": [r.x_m[0]],
                "y": [r.y_m[0]],
                "name": "start",
                "marker": {"color": "#1e7b34", "size": 13, "line": {"color": "#fff", "width": 2}},
            },
        ],
        "layout": {
            "xaxis": {"visible": False, "range": [xmin - pad, xmax + pad]},
            "yaxis": {
                "visible": False,
                "scaleanchor": "x",
                "scaleratio": 1,
                "range": [ymin - 2 * pad, ymax + pad],
            },
            "plot_bgcolor": "#f3f5f8",
            "margin": {"l": 10, "r": 10, "t": 10, "b": 30},
            "legend": {"orientation": "h", "x": 0, "y": -0.01, "yanchor": "top"},
            "shapes": [
                _segment(bar[0], bar[1], bar_y, bar_y, line),
                _segment(bar[0], bar[0], bar_y - tick, bar_y + tick, line),
                _segment(bar[1], bar[1], bar_y - tick, bar_y + tick, line),
            ],
            "annotations": [
                {
                    "x": (bar[0] + bar[1]) / 2,
                    "y": bar_y + tick,
                    "text": _scale_label(r.scale_bar_m),
                    "showarrow": False,
                    "yanchor": "bottom",
                    "font": {"color": "#1a1a1a", "size": 13},
                },
                {
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.99,
                    "y": 0.02,
                    "text": "N ↑",
                    "showarrow": False,
                    "xanchor": "right",
                    "yanchor": "bottom",
                    "font": {"color": "#1a1a1a", "size": 14},
                },
            ],
        },
    }


def _segment(x0: float, x1: float, y0: float, y1: float, line: dict[str, Any]) -> Figure:
    return {"type": "line", "x0": x0, "x1": x1, "y0": y0, "y1": y1, "line": line}


def elevation(found: WorkoutDetail) -> Figure:
    """Elevation along the route."""
    r = found.route
    assert r is not None
    assert r.elevation_m is not None
    known = [e for e in r.elevation_m if e is not None]
    low = min(known) if known else 0.0
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": r.along_km,
                "y": r.elevation_m,
                "fill": "tozeroy",
                "fillcolor": "rgba(118,118,118,0.2)",
                "line": {"color": "#555555"},
                "name": "elevation",
                "hovertemplate": "%{x:.2f} km: %{y:.0f} m<extra></extra>",
            }
        ],
        "layout": {
            "xaxis": {"title": {"text": "km"}},
            "yaxis": {"title": {"text": "m"}, "range": [low - 10, max(known, default=10) + 5]},
            "showlegend": False,
        },
    }
