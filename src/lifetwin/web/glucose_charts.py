"""The glucose figures, built from the glucose operations' models (plotly.js figure dicts
that a page embeds as JSON): every one in the model's unit, with the person's target
lines. No figure reads the store.

Times are the readings' local clock time (a day view starts at local midnight), drawn
as naive date strings: plotly.js has no time zones, and a person reads their own clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from lifetwin.operations.data import SeriesPage
from lifetwin.operations.glucose import (
    RANGE_LABELS,
    CgmView,
    GlucoseDay,
    GlucoseForecast,
    GlucoseWeek,
    Targets,
    shown,
    to_unit,
)

Figure = dict[str, Any]

BLUE = "#0b5cad"
TARGET = "#1b7a3a"
INSULIN = "#5b3ea4"
CARBS = "#b45309"
RANGE_COLOURS = ("#8b0000", "#e03c31", "#2e8b57", "#f0a500", "#d2691e")  # very low .. very high
# Okabe–Ito: seven colours people with colour-vision deficiencies tell apart
DAY_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


def _layout(**values: Any) -> Figure:
    """A glucose figure's layout: the legend above the plot (below it, it would cover the
    time axis on a phone)."""
    return {
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "margin": {"l": 50, "r": 16, "t": 36, "b": 44},
        **values,
    }


def _nice(top: float) -> float:
    """An axis top a little above ``top``, on a round number.

    >>> _nice(40.0), _nice(4.6), _nice(0.3)
    (60.0, 7.0, 1.0)
    """
    wanted = top * 1.35
    step = 10.0 if wanted > 20 else 1.0
    return float(max(step, -(-wanted // step) * step))


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def target_lines(targets: Targets, **extra: Any) -> list[Figure]:
    """The person's target range as two dashed lines (shapes), labelled with their value."""
    return [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": value,
            "y1": value,
            "line": {"color": TARGET, "dash": "dash", "width": 1.5},
            "label": {
                "text": f"target {shown(value, targets.unit)}",
                "textposition": "end",
                "font": {"color": TARGET, "size": 11},
            },
            "name": f"target {which}",
            **extra,
        }
        for which, value in (("low", targets.low), ("high", targets.high))
    ]


def _glucose_axis(unit: str, top: float, **extra: Any) -> Figure:
    return {"title": {"text": unit}, "range": [0, top], "rangemode": "tozero", **extra}


def _top(values: list[float], unit: str) -> float:
    """The glucose axis' upper end: 350 mg/dL (19.4 mmol/L) as AGPs draw it, or more."""
    floor = to_unit(350.0, "mmol/L") if unit == "mmol/L" else 350.0
    return max([floor, *(v * 1.05 for v in values)])


def time_in_ranges(report: CgmView) -> Figure:
    """One stacked bar of the time in each consensus range, labelled in the report's unit."""
    labels = RANGE_LABELS[report.unit]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [report.ranges_pct[key]],
                "y": ["time"],
                "name": f"{labels[key]} {report.unit}",
                "marker": {"color": colour},
                "hovertemplate": f"{labels[key]} {report.unit}: %{{x}} %<extra></extra>",
            }
            for key, colour in zip(labels, RANGE_COLOURS, strict=True)
        ],
        "layout": _layout(
            barmode="stack",
            xaxis={"range": [0, 100], "ticksuffix": " %"},
            yaxis={"visible": False},
            legend={"orientation": "h", "traceorder": "normal", "yanchor": "bottom", "y": 1.05},
            margin={"l": 10, "r": 10, "t": 50, "b": 30},
        ),
    }


def _band(x: list[Any], low: list[float], high: list[float], name: str, fill: str) -> list[Any]:
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
            "fillcolor": fill,
            "name": name,
        },
    ]


def agp(report: CgmView) -> Figure:
    """The ambulatory glucose profile: median, 25–75 % and 5–95 % bands by local hour, and
    the person's target lines."""
    hours = sorted(report.agp, key=int)
    x = [int(h) for h in hours]
    cut = {
        k: [getattr(report.agp[h], k) for h in hours] for k in ("p5", "p25", "p50", "p75", "p95")
    }
    return {
        "data": [
            *_band(x, cut["p5"], cut["p95"], "5–95 %", "rgba(11,92,173,0.15)"),
            *_band(x, cut["p25"], cut["p75"], "25–75 %", "rgba(11,92,173,0.35)"),
            {
                "x": x,
                "y": cut["p50"],
                "mode": "lines",
                "line": {"color": BLUE, "width": 2},
                "name": "median",
            },
        ],
        "layout": _layout(
            xaxis={"title": {"text": "hour of day (local time)"}, "range": [0, 23], "dtick": 3},
            yaxis=_glucose_axis(report.unit, _top(cut["p95"], report.unit)),
            shapes=target_lines(report.targets),
        ),
    }


def glucose_forecast(found: GlucoseForecast, recent: SeriesPage, offset_min: int) -> Figure:
    """The last hours of CGM and the forecast from the newest reading, with intervals, in
    the forecast's unit and local time (``offset_min`` from UTC)."""
    zone = timezone(timedelta(minutes=offset_min))
    start = found.start.astimezone(zone)
    fx = [_clock(start + timedelta(minutes=f.horizon_min)) for f in found.forecasts]
    rx = [_clock(datetime.fromtimestamp(p.ms / 1000, UTC).astimezone(zone)) for p in recent.points]
    ry = [None if p.value is None else to_unit(p.value, found.unit) for p in recent.points]
    values = [v for v in ry if v is not None] + [f.high for f in found.forecasts]
    return {
        "data": [
            {"x": rx, "y": ry, "mode": "lines", "name": "CGM", "line": {"color": BLUE}},
            {
                "x": fx,
                "y": [f.value for f in found.forecasts],
                "mode": "markers+lines",
                "name": "forecast",
                "line": {"color": "#7a4b00", "dash": "dot"},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [round(f.high - f.value, 2) for f in found.forecasts],
                    "arrayminus": [round(f.value - f.low, 2) for f in found.forecasts],
                },
            },
        ],
        "layout": _layout(
            yaxis=_glucose_axis(found.unit, _top(values, found.unit)),
            xaxis={"type": "date", "title": {"text": "local time"}},
            shapes=target_lines(found.targets),
        ),
    }


def glucose_day(day: GlucoseDay) -> Figure:
    """A day's trace on top; the insulin (a pump's delivery as bars, logged doses as
    markers) and the carbohydrates (markers) below, each labelled with its amount."""
    unit = day.unit
    midnight = datetime(day.day.year, day.day.month, day.day.day)
    values = [r.value for r in day.readings]
    data: list[Any] = [
        {
            "x": [_clock(r.at) for r in day.readings],
            "y": values,
            "mode": "lines",
            "name": f"glucose ({unit})",
            "line": {"color": BLUE, "width": 2},
        }
    ]
    if day.delivered:
        data.append(
            {
                "type": "bar",
                "x": [_clock(d.at) for d in day.delivered],
                "y": [d.units for d in day.delivered],
                "yaxis": "y2",
                "name": "insulin delivered (U)",
                "width": [10 * 60_000] * len(day.delivered),  # ms: visible on a day's axis
                "marker": {"color": "rgba(91,62,164,0.6)"},
            }
        )
    if day.insulin:
        data.append(
            {
                "x": [_clock(d.at) for d in day.insulin],
                "y": [d.units for d in day.insulin],
                "yaxis": "y2",
                "mode": "markers+text",
                "name": "insulin (U)",
                "text": [f"{d.units:g} U" for d in day.insulin],
                "textposition": "top center",
                "marker": {"color": INSULIN, "symbol": "triangle-down", "size": 10},
                "customdata": [d.kind for d in day.insulin],
                "hovertemplate": "%{y} U %{customdata}<extra>insulin</extra>",
            }
        )
    if day.carbs:
        data.append(
            {
                "x": [_clock(c.at) for c in day.carbs],
                "y": [c.grams for c in day.carbs],
                "yaxis": "y3",
                "mode": "markers+text",
                "name": "carbohydrates (g)",
                "text": [f"{c.grams:g} g" for c in day.carbs],
                "textposition": "top center",
                "marker": {"color": CARBS, "symbol": "circle", "size": 10},
                "hovertemplate": "%{y} g<extra>carbohydrates</extra>",
            }
        )
    top_insulin = max([1.0, *(d.units for d in day.insulin), *(d.units for d in day.delivered)])
    top_carbs = max([10.0, *(c.grams for c in day.carbs)])
    return {
        "data": data,
        "layout": _layout(
            xaxis={
                "type": "date",
                "range": [_clock(midnight), _clock(midnight + timedelta(days=1))],
                "title": {"text": f"local time ({day.zone})"},
            },
            yaxis=_glucose_axis(unit, _top(values, unit), domain=[0.36, 1]),
            yaxis2={
                "domain": [0, 0.24],
                "title": {"text": "insulin (U)"},
                "range": [0, _nice(top_insulin)],
                "nticks": 3,
            },
            yaxis3={
                "overlaying": "y2",
                "side": "right",
                "title": {"text": "carbs (g)"},
                "range": [0, _nice(top_carbs)],
                "nticks": 3,
                "showgrid": False,
            },
            shapes=target_lines(day.targets, yref="y"),
            margin={"l": 50, "r": 50, "t": 36, "b": 44},
        ),
    }


def glucose_week(week: GlucoseWeek) -> Figure:
    """Seven days laid over one 24-hour axis, one colour each, with the target lines."""
    values = [p.value for d in week.days for p in d.points]
    return {
        "data": [
            {
                "x": [round(p.minute / 60, 3) for p in d.points],
                "y": [p.value for p in d.points],
                "mode": "lines",
                "name": f"{d.weekday} {d.day.strftime('%d %b')}",
                "line": {"color": colour, "width": 1.6},
            }
            for d, colour in zip(week.days, DAY_COLOURS, strict=False)
            if d.points
        ],
        "layout": _layout(
            xaxis={"title": {"text": "hour of day (local time)"}, "range": [0, 24], "dtick": 3},
            yaxis=_glucose_axis(week.unit, _top(values, week.unit)),
            shapes=target_lines(week.targets),
        ),
    }
