"""The printable AGP report: the consensus one-page layout (Battelino et al. 2019) as HTML
with inline SVG drawn here from the report's model — time in ranges, the glucose
statistics and targets, the ambulatory glucose profile and the daily profiles.

No script is needed to draw it, so the same page prints from the dashboard and from a file
written by ``lifetwin glucose agp --output`` (which carries its own styles). The SVG holds
only numbers and fixed words from the model, never text a person typed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from lifetwin.operations.glucose import (
    RANGE_LABELS,
    AgpReport,
    CgmView,
    DayProfile,
    shown,
    to_unit,
)

RANGE_COLOURS = {
    "very_high": "#d2691e",
    "high": "#f0a500",
    "in_range": "#2e8b57",
    "low": "#e03c31",
    "very_low": "#8b0000",
}
RANGE_NAMES = {
    "very_high": "Very high",
    "high": "High",
    "in_range": "Target range",
    "low": "Low",
    "very_low": "Very low",
}
TARGET = "#1b7a3a"
BAND_OUTER = "#b9d3ee"
BAND_INNER = "#6fa3d8"
MEDIAN = "#0b3d78"


def _top(unit: str) -> float:
    """The glucose axis' top: 350 mg/dL (19.4 mmol/L), as AGPs draw it."""
    return to_unit(350.0, "mmol/L") if unit == "mmol/L" else 350.0


def _n(value: float) -> str:
    return f"{value:.1f}"


def ranges_svg(report: CgmView) -> Markup:
    """The time in ranges as one stacked column with each range's share beside it."""
    keys = ("very_high", "high", "in_range", "low", "very_low")
    labels = RANGE_LABELS[report.unit]
    height, bar_x, bar_w, top = 200.0, 4.0, 34.0, 6.0
    parts = []
    y = top
    for key in keys:
        share = report.ranges_pct.get(key, 0.0)
        h = max(height * share / 100, 0.0)
        parts.append(
            f'<rect x="{bar_x}" y="{_n(y)}" width="{bar_w}" height="{_n(h)}" '
            f'fill="{RANGE_COLOURS[key]}"/>'
        )
        y += h
    # labels at fixed rows (small shares would overlap at their own height)
    for i, key in enumerate(keys):
        row = top + 12 + i * (height - 8) / 4.6
        share = report.ranges_pct.get(key, 0.0)
        parts.append(
            f'<text x="{bar_x + bar_w + 8}" y="{_n(row)}" font-size="12" fill="#1a1a1a">'
            f"{RANGE_NAMES[key]} {labels[key]}</text>"
            f'<text x="236" y="{_n(row)}" font-size="13" font-weight="700" text-anchor="end" '
            f'fill="#1a1a1a">{share:g} %</text>'
        )
    return Markup(
        f'<svg class="agp-ranges" viewBox="0 0 240 {height + top * 2:g}" role="img" '
        f'aria-labelledby="agp-ranges-title" preserveAspectRatio="xMinYMin meet">'
        f'<title id="agp-ranges-title">Time in ranges: '
        + ", ".join(f"{RANGE_NAMES[k]} {report.ranges_pct.get(k, 0.0):g} %" for k in keys)
        + "</title>"
        + "".join(parts)
        + "</svg>"
    )


def agp_svg(report: CgmView) -> Markup:
    """The ambulatory glucose profile: the 5–95 % and 25–75 % bands and the median by hour,
    the consensus thresholds as grid lines and the person's targets dashed."""
    unit = report.unit
    left, right, top, bottom, width, height = 46.0, 22.0, 8.0, 26.0, 720.0, 250.0
    plot_w, plot_h = width - left - right, height - top - bottom
    y_top = _top(unit)
    hours = sorted(report.agp, key=int)
    values = [report.agp[h].p95 for h in hours]
    y_top = max([y_top, *values])

    def px(hour: float) -> float:
        return left + plot_w * hour / 24

    def py(value: float) -> float:
        return top + plot_h * (1 - min(value, y_top) / y_top)

    def band(lo: str, hi: str) -> str:
        upper = [f"{_n(px(int(h) + 0.5))},{_n(py(getattr(report.agp[h], hi)))}" for h in hours]
        lower = [
            f"{_n(px(int(h) + 0.5))},{_n(py(getattr(report.agp[h], lo)))}" for h in reversed(hours)
        ]
        return " ".join(upper + lower)

    parts = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff"/>']
    for mg in (54.0, 70.0, 180.0, 250.0):
        value = to_unit(mg, unit)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{_n(py(value))}" y2="{_n(py(value))}" '
            f'stroke="#9a9a9a" stroke-width="0.6"/>'
            f'<text x="{left - 4}" y="{_n(py(value) + 4)}" font-size="11" text-anchor="end" '
            f'fill="#1a1a1a">{shown(value, unit)}</text>'
        )
    for hour in range(0, 25, 3):
        parts.append(
            f'<line x1="{_n(px(hour))}" x2="{_n(px(hour))}" y1="{top}" y2="{top + plot_h}" '
            f'stroke="#d0d0d0" stroke-width="0.6"/>'
            f'<text x="{_n(px(hour))}" y="{height - 8}" font-size="11" text-anchor="middle" '
            f'fill="#1a1a1a">{hour % 24:02d}:00</text>'
        )
    if hours:
        parts.append(f'<polygon points="{band("p5", "p95")}" fill="{BAND_OUTER}"/>')
        parts.append(f'<polygon points="{band("p25", "p75")}" fill="{BAND_INNER}"/>')
        median = " ".join(f"{_n(px(int(h) + 0.5))},{_n(py(report.agp[h].p50))}" for h in hours)
        parts.append(
            f'<polyline points="{median}" fill="none" stroke="{MEDIAN}" stroke-width="2.4"/>'
        )
    for value in (report.targets.low, report.targets.high):
        parts.append(
            f'<line class="target-line" x1="{left}" x2="{left + plot_w}" y1="{_n(py(value))}" '
            f'y2="{_n(py(value))}" stroke="{TARGET}" stroke-width="1.4" stroke-dasharray="6 4"/>'
        )
    parts.append(
        f'<text x="{left - 34}" y="{top + 10}" font-size="11" fill="#1a1a1a">{unit}</text>'
    )
    return Markup(
        f'<svg class="agp-profile" viewBox="0 0 {width:g} {height:g}" role="img" '
        f'aria-labelledby="agp-profile-title"><title id="agp-profile-title">Ambulatory glucose '
        f"profile: the median and the 25–75 % and 5–95 % ranges of glucose by hour of the day, "
        f"with your targets {shown(report.targets.low, unit)}–{shown(report.targets.high, unit)} "
        f"{unit} dashed</title>" + "".join(parts) + "</svg>"
    )


def day_svg(day: DayProfile, report: CgmView) -> Markup:
    """One day's 15-minute trace in a small cell, the target range shaded."""
    unit = report.unit
    width, height, pad = 140.0, 70.0, 2.0
    y_top = max([_top(unit), *(p.value for p in day.points)])

    def px(minute: int) -> float:
        return pad + (width - 2 * pad) * (minute + 7.5) / 1440

    def py(value: float) -> float:
        return pad + (height - 2 * pad) * (1 - min(value, y_top) / y_top)

    low, high = report.targets.low, report.targets.high
    parts = [
        f'<rect x="0" y="0" width="{width:g}" height="{height:g}" fill="#fff" stroke="#9a9a9a" '
        f'stroke-width="0.8"/>',
        f'<rect x="{pad}" y="{_n(py(high))}" width="{width - 2 * pad:g}" '
        f'height="{_n(py(low) - py(high))}" fill="#e3f1e7"/>',
    ]
    # a line per run of bins without a gap longer than an hour
    runs: list[list[str]] = []
    previous = None
    for point in day.points:
        if previous is None or point.minute - previous > 60:
            runs.append([])
        runs[-1].append(f"{_n(px(point.minute))},{_n(py(point.value))}")
        previous = point.minute
    for run in runs:
        parts.append(
            f'<polyline points="{" ".join(run)}" fill="none" stroke="{MEDIAN}" stroke-width="1.3"/>'
        )
    return Markup(
        f'<svg class="agp-day" viewBox="0 0 {width:g} {height:g}" role="img" '
        f'aria-label="{day.weekday} {day.day.isoformat()}: mean {shown(day.mean, unit)} {unit}">'
        + "".join(parts)
        + "</svg>"
    )


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("lifetwin.web", "templates"), autoescape=select_autoescape()
    )
    env.globals["fmt"] = shown
    return env


def report_values(found: AgpReport) -> dict[str, Any]:
    """What the report's template needs: the model and its drawings."""
    return {
        "agp_report": found,
        "ranges_svg": ranges_svg(found.report),
        "agp_svg": agp_svg(found.report),
        "day_svgs": [(d, day_svg(d, found.report)) for d in found.days],
    }


def agp_html(found: AgpReport) -> str:
    """The report as one HTML page that carries its own styles (a file to print; the
    dashboard renders the same body inside its layout)."""
    template = _environment().get_template("glucose_agp_file.html")
    return template.render(**report_values(found))
