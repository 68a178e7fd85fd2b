"""The Learning page's figures, built from :class:`~lifetwin.packs.learning.operations.
LearningView` (plotly.js figure dicts; no store reads here)."""

from __future__ import annotations

from typing import Any

from lifetwin.packs.learning.memory import DESIRED_RETENTION
from lifetwin.packs.learning.operations import LearningView

Figure = dict[str, Any]
BLUE = "#0b5cad"
GREEN = "#106b21"


def mastery(view: LearningView) -> Figure:
    """Mastery per skill (P(known)) as bars, the chance of a right next answer as dots."""
    names = [s.skill for s in view.skills]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": names,
                "x": [s.mastery for s in view.skills],
                "name": "mastery",
                "marker": {
                    "color": [GREEN if s.status == "mastered" else BLUE for s in view.skills]
                },
            },
            {
                "type": "scatter",
                "mode": "markers",
                "y": names,
                "x": [s.p_correct_next for s in view.skills],
                "name": "chance of a right next answer",
                "marker": {"color": "#1a1a1a", "symbol": "diamond", "size": 9},
            },
        ],
        "layout": {
            "xaxis": {"range": [0, 1], "tickformat": ".0%"},
            "yaxis": {"automargin": True},
            "margin": {"l": 10, "r": 10, "t": 10, "b": 40},
        },
    }


def recall(view: LearningView) -> Figure:
    """Each deck's mean forecast recall over the next 30 days without reviewing, and the
    retention FSRS schedules for."""
    data: list[Any] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": deck.days,
            "y": deck.mean_recall,
            "name": deck.skill,
        }
        for deck in view.recall_forecast
    ]
    if view.recall_forecast:
        days = view.recall_forecast[0].days
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [days[0], days[-1]],
                "y": [DESIRED_RETENTION, DESIRED_RETENTION],
                "name": f"kept at {100 * DESIRED_RETENTION:.0f} % by reviewing",
                "line": {"dash": "dash", "color": "#4a4a4a"},
            }
        )
    return {
        "data": data,
        "layout": {
            "xaxis": {"title": {"text": "days from now, without reviewing"}},
            "yaxis": {"range": [0, 1], "tickformat": ".0%", "title": {"text": "recall"}},
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.22},
            "margin": {"l": 60, "r": 10, "t": 10, "b": 100},
        },
    }
