"""The learner twin on the command line: ``lifetwin learn PERSON`` calls
:func:`lifetwin.packs.learning.operations.learning` (as ``GET …/learning`` and the
Learning page do) and prints it, or its JSON with ``--json``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from lifetwin.cli.app import JsonOpt, PersonArg, context, emit, fmt_time, out

if TYPE_CHECKING:
    from lifetwin.packs.learning.operations import LearningView


def learn(person: PersonArg, as_json: JsonOpt = False) -> None:
    """Mastery per skill, forecast recall per deck, and what to study next."""
    from lifetwin.packs.learning.operations import learning
    from lifetwin.privacy.consent import Purpose  # here: start-up stays light

    ctx = context(person).for_purpose(Purpose.TWIN_CORE)
    emit(learning(ctx), as_json, _render)


def _pct(value: float | None) -> str:
    return f"{100 * value:.0f} %" if value is not None else ""


def _render(view: LearningView) -> None:
    from rich.table import Table

    skills = Table("skill", "mastery", "next answer right", "attempts", "right so far", "")
    for s in view.skills:
        skills.add_row(
            s.skill,
            _pct(s.mastery),
            _pct(s.p_correct_next),
            str(s.attempts),
            _pct(s.correct_rate),
            s.status,
        )
    out.print(skills)
    if view.recall_forecast:
        days = view.recall_forecast[0].days
        shown = [i for i, d in enumerate(days) if d in (0, 7, 30)]
        decks = Table(
            "deck",
            "cards",
            "due now",
            *(f"recall in {days[i]} d" if days[i] else "recall now" for i in shown),
        )
        for deck in view.recall_forecast:
            decks.add_row(
                deck.skill,
                str(deck.cards),
                str(deck.due_now),
                *(_pct(deck.mean_recall[i]) for i in shown),
            )
        out.print(decks)
        out.print(
            f"{view.due_now} of {view.card_count} cards are due now (as of "
            f"{fmt_time(view.asked_at)}).",
            markup=False,
        )
    if view.next_steps:
        out.print("Next:", markup=False)
    for n, step in enumerate(view.next_steps, 1):
        out.print(f"{n}. {step.title} — {step.why}", markup=False, soft_wrap=True)
    out.print(view.validity, markup=False, soft_wrap=True, style="dim")


def register(app: typer.Typer) -> None:
    """Add ``learn`` to ``lifetwin``."""
    app.command("learn")(learn)
