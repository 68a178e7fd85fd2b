""" "Why am I seeing this?": reasons in plain words, with the data and grants behind them.

A recommendation's mean score is exactly the sum of its context features'
contributions (``LinUCB.contributions``); the reasons name the largest ones, say
whether each raised or lowered the item, and which data (metric, under which grant)
the feature was computed from. The goal the item serves is always the first reason;
when the exploration bonus outweighs what the policy knows, the person is told that
LifeTwin is still learning whether this helps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from lifetwin.packs.recommend.catalog import GOALS, CatalogItem
from lifetwin.packs.recommend.policy import CONTEXT_FEATURES, FEATURE_SOURCES

F64 = npt.NDArray[np.float64]
MIN_CONTRIBUTION = 0.01
MAX_REASONS = 3


class Reason(BaseModel):
    """One reason, in words, with its weight and the data behind it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["goal", "context", "history", "exploring"]
    text: str
    feature: str | None = None
    contribution: float = 0.0
    data: tuple[str, ...] = ()  # metric codes the feature was computed from
    grants: tuple[str, ...] = ()  # the grants that allowed reading them


def situation(feature: str, value: float, raw: Mapping[str, float | None]) -> str | None:
    """The person's situation a context feature stands for, in words (None: say nothing).

    >>> situation("sleep_debt", 0.5, {"sleep_debt_h": 2.0})
    'you are about 2.0 h short on sleep over the last nights'
    >>> situation("weekend", 1.0, {})
    'it is the weekend'
    """
    if feature == "sleep_debt":
        hours = raw.get("sleep_debt_h")
        if hours is None or hours <= 0:
            return "you have slept about as much as you need lately"
        return f"you are about {hours:.1f} h short on sleep over the last nights"
    if feature == "recent_activity":
        ratio = raw.get("activity_ratio")
        if ratio is None:
            return None
        share = round(100 * (1 + ratio))
        return (
            f"you have moved less than usual over the last day ({share} % of your usual steps)"
            if ratio < 0
            else f"you have moved more than usual over the last day ({share} % of your usual steps)"
        )
    if feature == "mood":
        return (
            "your recent mood entries are low" if value < 0 else "your recent mood entries are good"
        )
    if feature == "glucose":
        mg_dl = raw.get("glucose_mg_dl")
        if mg_dl is None:
            return None
        band = "above" if mg_dl > 180 else "below" if mg_dl < 70 else "within"
        return f"your latest glucose reading ({mg_dl:.0f} mg/dL) is {band} the 70–180 range"
    if feature == "budget_left":
        return (
            "your spending this month is ahead of your plan"
            if value < 0
            else "your spending this month is within your plan"
        )
    if feature in ("hour_sin", "hour_cos"):
        hour = raw.get("hour_local")
        if hour is None:
            return None
        part = (
            "night"
            if hour < 5 or hour >= 22
            else "morning"
            if hour < 12
            else "afternoon"
            if hour < 18
            else "evening"
        )
        return f"it is {part}"
    if feature == "weekend":
        return "it is the weekend" if value > 0 else "it is a weekday"
    if feature.startswith("goal_"):
        goal = feature.removeprefix("goal_")
        return f"you set the goal to {GOALS.get(goal, goal)}"
    return None


def reasons_for(
    item: CatalogItem,
    contributions: F64,
    context: F64,
    *,
    mean: float,
    bonus: float,
    declared: Sequence[str],
    raw: Mapping[str, float | None],
    grants_by_feature: Mapping[str, tuple[str, ...]],
    learned_from: int,
) -> list[Reason]:
    """The reasons for one item, most important first after the goal."""
    served = [GOALS[g] for g in item.goals if g in declared]
    out = [
        Reason(
            kind="goal",
            text="It serves your goal"
            + ("s " if len(served) > 1 else " ")
            + " and ".join(served)
            + ".",
        )
    ]
    # hour_sin and hour_cos are one thing to a person: the time of day.
    merged: dict[str, float] = {}
    for j, name in enumerate(CONTEXT_FEATURES):
        key = "hour_sin" if name == "hour_cos" else name
        merged[key] = merged.get(key, 0.0) + float(contributions[j])
    ranked = sorted(
        (k for k in merged if k != "bias" and abs(merged[k]) >= MIN_CONTRIBUTION),
        key=lambda k: -abs(merged[k]),
    )
    for name in ranked[:MAX_REASONS]:
        words = situation(name, float(context[CONTEXT_FEATURES.index(name)]), raw)
        if words is None:
            continue
        effect = "ranked it higher" if merged[name] > 0 else "ranked it lower"
        data = FEATURE_SOURCES.get(name, ("", ()))[1]
        out.append(
            Reason(
                kind="context",
                text=f"{words[0].upper()}{words[1:]}, which {effect}.",
                feature=name,
                contribution=round(merged[name], 4),
                data=tuple(data),
                grants=grants_by_feature.get(name, ()),
            )
        )
    base = merged.get("bias", 0.0)
    if learned_from and abs(base) >= MIN_CONTRIBUTION:
        out.append(
            Reason(
                kind="history",
                text=(
                    "Suggestions like this have been useful to you before."
                    if base > 0
                    else "Suggestions like this have rarely been useful to you; "
                    "it still fits best now."
                ),
                feature="bias",
                contribution=round(base, 4),
            )
        )
    if bonus > abs(mean):
        out.append(
            Reason(
                kind="exploring",
                text=(
                    "LifeTwin is still learning whether this helps you, "
                    "so it suggests it now and then."
                ),
                contribution=round(bonus, 4),
            )
        )
    return out


def summary(reasons: Sequence[Reason]) -> str:
    """The reasons as one short paragraph."""
    return " ".join(r.text for r in reasons)
