"""The learner twin: mastery per skill, forecast recall per card, the next step.

Public entry points:

- ``learner_state(vault, now=None, purpose=Purpose.TWIN_CORE) -> LearnerState`` — for
  the dashboard page: mastery of every skill (Bayesian knowledge tracing on the
  person's own answers, ``bkt``), recall forecast now and in a week for each card and
  over the next 30 days for each deck (FSRS, ``memory``), what is due, and the next
  steps.
- ``next_steps(vault, now=None, k=5) -> list[LearningStep]`` — reviews that are due
  (least likely remembered first) and practice on the skills whose predicted chance of
  a right answer is nearest :data:`TARGET_P_CORRECT` (hard enough to learn from, easy
  enough not to discourage: Wilson et al., "The eighty five percent rule for optimal
  learning", Nature Communications 2019).
- ``learning_catalog_items(vault, now)`` — the same steps as catalog items for the
  recommender (read under ``Purpose.RECOMMENDATIONS``).

Answers come from ``lesson_attempted`` events (Anki reviews, exercise logs). BKT's four
parameters are fitted by EM on all of the person's skills together once there are
:data:`MIN_ATTEMPTS_TO_FIT` answers, and default textbook values are used before that.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from lifetwin.core.model import Event
from lifetwin.packs.learning import bkt
from lifetwin.packs.learning.memory import DESIRED_RETENTION, recall_probability, replay, scheduler
from lifetwin.packs.recommend.catalog import CatalogItem, learning_exercises
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Lineage
from lifetwin.store.vault import Vault

TARGET_P_CORRECT = 0.85
FORECAST_DAYS = (0, 1, 2, 3, 5, 7, 10, 14, 21, 30)
MASTERED = 0.95
MIN_ATTEMPTS_TO_FIT = 30


class SkillMastery(BaseModel):
    skill: str
    mastery: float = Field(ge=0, le=1)  # P(known) after the last answer
    p_correct_next: float = Field(ge=0, le=1)
    attempts: int
    correct_rate: float
    last_attempt: datetime
    status: Literal["learning", "mastered"]


class CardRecall(BaseModel):
    card: str
    skill: str
    front: str | None = None
    recall_now: float
    recall_in_7d: float
    due: datetime
    stability_days: float
    difficulty: float
    reviews: int
    lapses: int


class DeckForecast(BaseModel):
    """How well a deck's cards will be remembered in the days ahead without reviewing:
    the mean of FSRS's recall forecast over the deck's cards."""

    skill: str
    cards: int
    due_now: int
    days: list[int]
    mean_recall: list[float]


class LearningStep(BaseModel):
    id: str
    kind: Literal["review", "practice"]
    skill: str
    title: str
    p_correct: float  # the predicted chance of answering right
    count: int = 1  # cards due, for a review step
    why: str


class LearnerState(BaseModel):
    person: str
    at: datetime
    skills: list[SkillMastery]
    cards: list[CardRecall]
    due_now: int
    mean_recall_now: float | None
    recall_forecast: list[DeckForecast] = Field(default_factory=list)
    bkt_params: dict[str, float]
    bkt_fitted: bool
    next_steps: list[LearningStep]
    validity: str
    lineage: Lineage


def _answers(vault: Vault, purpose: Purpose, now: datetime) -> tuple[list[Event], Lineage]:
    records = vault.read_records("event:lesson_attempted", purpose=purpose, until=now)
    events = [r for r in records if isinstance(r, Event)]
    return events, records.lineage


def _correct(event: Event) -> bool:
    value: Any = event.details.get("correct")
    if value is None:
        score = event.details.get("score")
        return bool(score is not None and float(score) >= 0.5)
    return bool(value)


def _state(vault: Vault, now: datetime, purpose: Purpose, max_cards: int) -> LearnerState:
    events, lineage = _answers(vault, purpose, now)
    by_skill: dict[str, list[Event]] = defaultdict(list)
    by_card: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        skill = str(event.details.get("skill") or event.title or "unnamed skill")
        by_skill[skill].append(event)
        card = event.details.get("card_id") or event.details.get("item")
        if card is not None:
            by_card[f"{event.source}:{card}"].append(event)
    sequences = {
        skill: [int(_correct(e)) for e in sorted(items, key=lambda e: e.start)]
        for skill, items in by_skill.items()
    }
    total = sum(len(s) for s in sequences.values())
    fitted = total >= MIN_ATTEMPTS_TO_FIT
    params = bkt.fit_restarts(list(sequences.values()), restarts=3) if fitted else bkt.BKTParams()
    skills = []
    for skill, seq in sorted(sequences.items()):
        known = bkt.mastery(seq, params)
        p_next = known * (1 - params.p_slip) + (1 - known) * params.p_guess
        skills.append(
            SkillMastery(
                skill=skill,
                mastery=round(known, 4),
                p_correct_next=round(p_next, 4),
                attempts=len(seq),
                correct_rate=round(sum(seq) / len(seq), 4),
                last_attempt=max(e.start for e in by_skill[skill]),
                status="mastered" if known >= MASTERED else "learning",
            )
        )
    fsrs = scheduler()
    cards = []
    curves: dict[str, list[list[float]]] = defaultdict(list)
    for card, items in by_card.items():
        reviews = [
            (e.start, int(e.details.get("rating") or (3 if _correct(e) else 1))) for e in items
        ]
        state = replay(reviews, fsrs)
        if state is None:
            continue
        first = items[0]
        curves[str(first.details.get("skill") or "unnamed skill")].append(
            [recall_probability(state, now + timedelta(days=d), fsrs) for d in FORECAST_DAYS]
        )
        cards.append(
            CardRecall(
                card=card,
                skill=str(first.details.get("skill") or "unnamed skill"),
                front=first.details.get("front"),
                recall_now=round(recall_probability(state, now, fsrs), 4),
                recall_in_7d=round(recall_probability(state, now + timedelta(days=7), fsrs), 4),
                due=state.due,
                stability_days=round(state.stability_days, 3),
                difficulty=round(state.difficulty, 3),
                reviews=state.reviews,
                lapses=state.lapses,
            )
        )
    cards.sort(key=lambda c: (c.recall_now, c.card))
    due = [c for c in cards if c.due <= now]
    steps = _steps(skills, due, now)
    forecast = [
        DeckForecast(
            skill=skill,
            cards=len(rows),
            due_now=sum(1 for c in due if c.skill == skill),
            days=list(FORECAST_DAYS),
            mean_recall=[round(sum(col) / len(col), 4) for col in zip(*rows, strict=True)],
        )
        for skill, rows in sorted(curves.items())
    ]
    return LearnerState(
        person=vault.person.id,
        at=now,
        skills=skills,
        cards=cards[:max_cards],
        due_now=len(due),
        mean_recall_now=round(sum(c.recall_now for c in cards) / len(cards), 4) if cards else None,
        recall_forecast=forecast,
        bkt_params={k: round(v, 4) for k, v in params.as_dict().items()},
        bkt_fitted=fitted,
        next_steps=steps,
        validity=(
            "Mastery is a model's estimate from right and wrong answers; recall uses FSRS's "
            "default parameters, fitted on many Anki users, not on you."
        ),
        lineage=lineage,
    )


def _steps(skills: list[SkillMastery], due: list[CardRecall], now: datetime) -> list[LearningStep]:
    steps: list[LearningStep] = []
    due_by_skill: dict[str, list[CardRecall]] = defaultdict(list)
    for card in due:
        due_by_skill[card.skill].append(card)
    for skill, cards in sorted(
        due_by_skill.items(), key=lambda kv: min(c.recall_now for c in kv[1])
    ):
        p = sum(c.recall_now for c in cards) / len(cards)
        steps.append(
            LearningStep(
                id=f"review:{skill}",
                kind="review",
                skill=skill,
                title=f"Review {len(cards)} due card{'s' if len(cards) > 1 else ''} of {skill}",
                p_correct=round(p, 4),
                count=len(cards),
                why=(
                    f"FSRS expects you to remember them with {100 * p:.0f} % chance now, below "
                    f"the {100 * DESIRED_RETENTION:.0f} % you keep them at."
                ),
            )
        )
    practice = [s for s in skills if s.status == "learning"]
    practice.sort(key=lambda s: (abs(s.p_correct_next - TARGET_P_CORRECT), s.skill))
    for learner in practice:
        steps.append(
            LearningStep(
                id=f"practice:{learner.skill}",
                kind="practice",
                skill=learner.skill,
                title=f"Practise {learner.skill}",
                p_correct=learner.p_correct_next,
                why=_practice_why(learner.p_correct_next),
            )
        )
    return steps


def _practice_why(p_correct: float) -> str:
    """Why a practice step has the right difficulty, in words.

    >>> _practice_why(0.8).split(":")[1]
    ' hard enough to learn from, close to the 85 % that suits learning best.'
    >>> _practice_why(0.5).split(":")[1].split(",")[0]
    ' harder than the 85 % that suits learning best'
    """
    said = f"You would answer about {100 * p_correct:.0f} % right"
    target = f"{100 * TARGET_P_CORRECT:.0f} %"
    if abs(p_correct - TARGET_P_CORRECT) <= 0.1:
        return f"{said}: hard enough to learn from, close to the {target} that suits learning best."
    if p_correct < TARGET_P_CORRECT:
        return (
            f"{said}: harder than the {target} that suits learning best, but the nearest to it "
            "of the skills you are learning; go slowly, or go back over the basics first."
        )
    return (
        f"{said}: easier than the {target} that suits learning best, but the nearest to it "
        "of the skills you are learning."
    )


def learner_state(
    vault: Vault,
    now: datetime | None = None,
    *,
    purpose: Purpose = Purpose.TWIN_CORE,
    max_cards: int = 200,
) -> LearnerState:
    """Mastery per skill and forecast recall per card, as of ``now``."""
    moment = now or datetime.now().astimezone()
    return _state(vault, moment, purpose, max_cards)


def next_steps(vault: Vault, now: datetime | None = None, k: int = 5) -> list[LearningStep]:
    """The next reviews and exercises at the right difficulty (for recommendations)."""
    moment = now or datetime.now().astimezone()
    return _state(vault, moment, Purpose.RECOMMENDATIONS, 0).next_steps[:k]


def learning_catalog_items(vault: Vault, now: datetime | None = None) -> list[CatalogItem]:
    """The next steps as catalog items the recommender ranks with the nudges."""
    steps = next_steps(vault, now, k=5)
    return learning_exercises(
        (s.id, s.title, s.skill, round(1 - s.p_correct, 4), s.kind) for s in steps
    )
