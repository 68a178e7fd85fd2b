"""Sparklines: a day-by-day series as an inline SVG path, drawn on the server (no script,
so the overview's trends show even before plotly loads, and print)."""

from __future__ import annotations

from collections.abc import Sequence

WIDTH, HEIGHT, PAD = 120.0, 28.0, 3.0


def _points(values: Sequence[float | None], width: float) -> list[tuple[float, float]]:
    known = [v for v in values if v is not None]
    if not known:
        return []
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = (width - 2 * PAD) / max(len(values) - 1, 1)
    return [
        (
            round(PAD + i * step, 1),
            round(
                HEIGHT / 2 if high == low else HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD),
                1,
            ),
        )
        for i, v in enumerate(values)
        if v is not None
    ]


def path(values: Sequence[float | None], width: float = WIDTH) -> str:
    """The SVG path of ``values`` in a ``width`` × HEIGHT box; days without a value are
    bridged (a weight typed in twice a week still reads as a line).

    >>> path([1.0, 2.0, None, 3.0])
    'M3.0,25.0L41.0,14.0L117.0,3.0'
    >>> path([None, None])
    ''
    """
    return "".join(f"{'L' if i else 'M'}{x},{y}" for i, (x, y) in enumerate(_points(values, width)))


def last_point(values: Sequence[float | None], width: float = WIDTH) -> tuple[float, float] | None:
    """Where the newest value sits in the box (for a dot), if there is one.

    >>> last_point([1.0, 3.0, None], 60)
    (30.0, 3.0)
    """
    found = _points(values, width)
    return found[-1] if found else None
