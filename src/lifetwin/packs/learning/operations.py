"""The learner twin as an operation: what ``lifetwin learn``, ``GET …/learning`` and the
Learning page show — mastery per skill (Bayesian knowledge tracing), forecast recall per
card and per deck (FSRS), and what to study next at the right difficulty.

Reads the person's answers (``lesson_attempted`` events: Anki reviews, exercise logs)
for the ``twin_core`` purpose, as the rest of the person's own twin does.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from lifetwin.core.errors import NotEnoughDataError
from lifetwin.operations.context import Context
from lifetwin.packs.learning.capability import (
    CardRecall,
    DeckForecast,
    LearningStep,
    SkillMastery,
)
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import InputRef

PURPOSE = Purpose.TWIN_CORE
CARDS_SHOWN = 20  # the cards least likely remembered now


class Sources(BaseModel):
    """What the learner twin read: the streams and the grants that allowed it."""

    purpose: str
    grants: list[str]
    inputs: list[InputRef]


class LearningView(BaseModel):
    """Mastery per skill, forecast recall per deck and card, and the next steps."""

    person: str
    asked_at: datetime = Field(description="the moment the forecasts start from")
    skills: list[SkillMastery]
    recall_forecast: list[DeckForecast]
    cards: list[CardRecall] = Field(description="the cards least likely remembered now")
    card_count: int
    due_now: int
    mean_recall_now: float | None
    next_steps: list[LearningStep]
    bkt_params: dict[str, float]
    bkt_fitted: bool
    validity: str
    lineage: Sources


def learning(
    ctx: Context, *, cards: int = CARDS_SHOWN, now: datetime | None = None
) -> LearningView:
    """The learner twin now; :class:`NotEnoughDataError` when there are no answers the
    twin may read."""
    from lifetwin.packs.learning.capability import learner_state
    from lifetwin.packs.recommend.operations import person_now

    vault = ctx.vault()
    moment = now or person_now(vault)
    state = learner_state(vault, moment, purpose=ctx.purpose, max_cards=1_000_000)
    if not state.skills:
        raise NotEnoughDataError(
            "There are no lessons or flashcard reviews the twin may read (import an Anki "
            "collection or an exercise log, and allow learning for twin_core)."
        )
    return LearningView(
        person=state.person,
        asked_at=moment,
        skills=state.skills,
        recall_forecast=state.recall_forecast,
        cards=state.cards[: max(cards, 0)],
        card_count=len(state.cards),
        due_now=state.due_now,
        mean_recall_now=state.mean_recall_now,
        next_steps=state.next_steps,
        bkt_params=state.bkt_params,
        bkt_fitted=state.bkt_fitted,
        validity=state.validity,
        lineage=Sources(
            purpose=state.lineage.purpose,
            grants=list(state.lineage.grants),
            inputs=list(state.lineage.inputs),
        ),
    )
