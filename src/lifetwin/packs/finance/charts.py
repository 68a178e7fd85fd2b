"""The money page's figures, built from :class:`~lifetwin.packs.finance.operations.MoneySummary`
(plotly figure dicts; no store reads)."""

from __future__ import annotations

from typing import Any

from lifetwin.packs.finance.operations import MoneySummary, label

Figure = dict[str, Any]
# Distinct colours, each at least 3:1 against white.
PALETTE = ("#0b5cad", "#b8560b", "#2e7d5b", "#7b3fb5", "#b22222", "#4f6f8f", "#8a6d00", "#767676")
TOP = 7  # categories drawn by name in the months' stacks; the rest is "other"


def categories(found: MoneySummary) -> Figure:
    """The month's spending by category, largest on top."""
    cats = list(reversed(found.categories))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [c.label for c in cats],
                "x": [c.amount for c in cats],
                "marker": {"color": PALETTE[0]},
                "text": [f"{c.amount:,.2f}" for c in cats],
                "textposition": "auto",
                "hovertemplate": "%{y}: %{x:,.2f} " + found.currency + "<extra></extra>",
            }
        ],
        "layout": {
            "xaxis": {"title": {"text": found.currency}},
            "yaxis": {"automargin": True},
            "showlegend": False,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 40},
        },
    }


def months(found: MoneySummary) -> Figure:
    """Spending month by month, stacked by the largest categories."""
    totals: dict[str, float] = {}
    for m in found.months:
        for c, v in m.by_category.items():
            totals[c] = totals.get(c, 0.0) + v
    top = [c for c, _ in sorted(totals.items(), key=lambda cv: -cv[1])[:TOP]]
    x = [m.month for m in found.months]
    data = [
        {
            "type": "bar",
            "x": x,
            "y": [m.by_category.get(c, 0.0) for m in found.months],
            "name": label(c),
            "marker": {"color": PALETTE[i % len(PALETTE)]},
        }
        for i, c in enumerate(top)
    ]
    rest = [sum(v for c, v in m.by_category.items() if c not in top) for m in found.months]
    if any(rest):
        data.append(
            {"type": "bar", "x": x, "y": rest, "name": "Other", "marker": {"color": PALETTE[-1]}}
        )
    return {
        "data": data,
        "layout": {
            "barmode": "stack",
            "xaxis": {"type": "category"},
            "yaxis": {"title": {"text": found.currency}},
        },
    }
