"""Memory of flashcards by FSRS (the Free Spaced Repetition Scheduler, ``fsrs`` 6.3.2, MIT).

Each card's reviews (time and rating 1–4: again, hard, good, easy) are replayed through
FSRS's scheduler to get its memory state (stability in days, difficulty 1–10) and the
time it falls due; the recall forecast is FSRS's retrievability
``R(t) = (1 + F·t/S)^D`` at any later time. FSRS's published default parameters are
used (fitted by its authors on millions of Anki reviews); fitting them to one person
needs the optimizer's PyTorch stack, which LifeTwin does not ship.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from fsrs import Card, Rating, Scheduler

DESIRED_RETENTION = 0.9


@dataclass(frozen=True)
class MemoryState:
    stability_days: float
    difficulty: float
    last_review: datetime
    due: datetime
    reviews: int
    lapses: int


def scheduler(desired_retention: float = DESIRED_RETENTION) -> Scheduler:
    """FSRS with its default parameters and no random fuzz (the same history, the same due)."""
    return Scheduler(desired_retention=desired_retention, enable_fuzzing=False)


def replay(
    reviews: Sequence[tuple[datetime, int]], fsrs: Scheduler | None = None
) -> MemoryState | None:
    """The memory state after a card's reviews (time, rating 1–4), oldest first.

    >>> from datetime import timedelta
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> state = replay([(t0, 3), (t0 + timedelta(days=1), 3), (t0 + timedelta(days=4), 3)])
    >>> state.reviews, state.stability_days > 3
    (3, True)
    """
    if not reviews:
        return None
    fsrs = fsrs or scheduler()
    card = Card(card_id=0)  # an id of our own: fsrs sleeps 1 ms to make one from the clock
    lapses = 0
    for moment, rating in sorted(reviews, key=lambda r: r[0]):
        rated = Rating(min(max(int(rating), 1), 4))
        lapses += rated is Rating.Again
        card, _log = fsrs.review_card(card, rated, review_datetime=moment.astimezone(UTC))
    assert card.last_review is not None
    return MemoryState(
        stability_days=float(card.stability or 0.0),
        difficulty=float(card.difficulty or 0.0),
        last_review=card.last_review,
        due=card.due,
        reviews=len(reviews),
        lapses=lapses,
    )


def recall_probability(state: MemoryState, at: datetime, fsrs: Scheduler | None = None) -> float:
    """FSRS's forecast of the chance to recall the card at ``at`` (elapsed whole days)."""
    fsrs = fsrs or scheduler()
    card = Card(card_id=0, stability=state.stability_days, difficulty=state.difficulty)
    card.last_review = state.last_review
    return float(fsrs.get_card_retrievability(card, at.astimezone(UTC)))


def retrievability(elapsed_days: float, stability_days: float) -> float:
    """FSRS-6's forgetting curve with its default decay, for fractional days (benchmarks).

    >>> round(retrievability(10.0, 10.0), 3)
    0.9
    """
    decay = -scheduler().parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    return float((1 + factor * max(elapsed_days, 0.0) / max(stability_days, 1e-6)) ** decay)
