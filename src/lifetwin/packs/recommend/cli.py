"""Recommendations on the command line: ``recommend``, ``feedback``, ``recommend-settings``
and ``recommend-log``. Each command calls one operation of
:mod:`lifetwin.packs.recommend.operations` (the API's routes and the "For you" page call
the same) and prints it, or its JSON with ``--json``."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lifetwin.cli.app import JsonOpt, PersonArg, context, emit, err, fmt_time, out
from lifetwin.core.errors import LifeTwinError

if TYPE_CHECKING:
    from lifetwin.operations.context import Context
    from lifetwin.packs.recommend.operations import (
        FeedbackDone,
        FeedbackKind,
        RecommendationList,
        SettingsView,
        ShownLog,
    )

HISTORY_LIMIT = 50  # the operation's default, for --help (a test checks they agree)


def _context(person: str) -> Context:
    from lifetwin.privacy.consent import Purpose  # here: start-up stays light

    return context(person).for_purpose(Purpose.RECOMMENDATIONS)


def recommend(
    person: PersonArg,
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            exists=True,
            dir_okay=False,
            help="Rank a provider's catalog (JSON or CSV) instead of the built-in nudges.",
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(help="The provider's name (default: the catalog's own, or its file name)."),
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Rank anew rather than show the last slate again.")
    ] = False,
    pause: Annotated[
        bool, typer.Option("--pause", help="Pause all recommendations (until --resume).")
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Resume recommendations.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Recommendations toward your own goals, each with why, the data behind it and the
    controls you have."""
    from lifetwin.packs.recommend import operations as ops

    if pause and resume:
        raise LifeTwinError("Give --pause or --resume, not both.")
    ctx = _context(person)
    if pause or resume:
        changed = ops.change_settings(ctx, ops.SettingsChange(paused=pause))
        for effect in changed.effects:
            err.print(effect, markup=False, highlight=False)
    found = ops.recommendations(ctx, catalog=catalog, provider=provider, fresh=fresh)
    emit(found, as_json, lambda r: _render(r, person))


def _render(found: RecommendationList, person: str) -> None:
    if not found.items:
        out.print(f"Nothing to suggest now: {found.status or 'no item fits'}.", markup=False)
    else:
        when = fmt_time(found.shown_at)
        out.print(f"For you, from {found.provider} (chosen {when}):", markup=False)
    for n, item in enumerate(found.items, 1):
        price = f" — {item.price:g} {item.currency}" if item.price is not None else ""
        extra = " (a promotion)" if item.promotional else ""
        out.print(f"\n{n}. {item.title}{price}{extra}", markup=False, soft_wrap=True)
        out.print(f"   id {item.id} (item {item.item_id})", markup=False)
        if item.description:
            out.print(f"   {item.description}", markup=False, soft_wrap=True)
        for reason in item.reasons:
            weight = f" ({reason.contribution:+.3f})" if reason.kind != "goal" else ""
            data = f" [{', '.join(reason.data)}]" if reason.data else ""
            out.print(f"   - {reason.text}{weight}{data}", markup=False, soft_wrap=True)
    out.print(f"\n{found.lineage.sentence}", markup=False, soft_wrap=True)
    unused = [c.title.lower() for c in found.data if c.held and not c.used]
    if unused:
        out.print(f"Not used (your choice): {', '.join(unused)}.", markup=False)
    if found.items:
        out.print(
            f'Answer with: lifetwin feedback "{person}" ID --useful | --not-now | '
            "--not-interested | --wrong FEATURE[=VALUE]",
            markup=False,
            soft_wrap=True,
        )
    out.print(
        "Change what you get: lifetwin recommend-settings (goals, quiet hours, "
        "--dont-use CATEGORY), or --pause.",
        markup=False,
        soft_wrap=True,
    )


def _correction(text: str, note: str, hours: float) -> Any:
    from lifetwin.packs.recommend.capability import Correction

    feature, _, value = text.partition("=")
    try:
        number = float(value) if value.strip() else None
    except ValueError:
        raise LifeTwinError(f"'{value}' is not a number (give --wrong FEATURE=VALUE).") from None
    return Correction(feature=feature.strip(), value=number, note=note, hours=hours)


def feedback(
    person: PersonArg,
    item: Annotated[
        str, typer.Argument(help="The recommendation's id, or the item's id (its newest showing).")
    ],
    useful: Annotated[bool, typer.Option("--useful", help="This was useful.")] = False,
    not_now: Annotated[
        bool, typer.Option("--not-now", help="Not now: hold it back for a few hours.")
    ] = False,
    not_interested: Annotated[
        bool, typer.Option("--not-interested", help="Never suggest this again.")
    ] = False,
    wrong: Annotated[
        str | None,
        typer.Option(
            "--wrong",
            metavar="FEATURE[=VALUE]",
            help="This is wrong about me: what the twin got wrong (sleep_debt, "
            "recent_activity, mood, glucose, budget_left) and its true value, or no value "
            "to leave it out for now.",
        ),
    ] = None,
    note: Annotated[str, typer.Option(help="A note with --wrong.")] = "",
    hours: Annotated[
        float, typer.Option(min=0.1, max=336, help="How long a --wrong correction holds.")
    ] = 24.0,
    as_json: JsonOpt = False,
) -> None:
    """Tell LifeTwin what a recommendation was worth; it learns at once."""
    from lifetwin.packs.recommend import operations as ops

    given: dict[FeedbackKind, bool] = {
        "useful": useful,
        "not_now": not_now,
        "not_interested": not_interested,
        "wrong": wrong is not None,
    }
    kinds = [k for k, on in given.items() if on]
    if len(kinds) != 1:
        raise LifeTwinError(
            "Give one of --useful, --not-now, --not-interested or --wrong FEATURE[=VALUE]."
        )
    correction = _correction(wrong, note, hours) if wrong is not None else None
    found = ops.feedback(_context(person), item, kinds[0], correction=correction)
    emit(found, as_json, _render_feedback)


def _render_feedback(done: FeedbackDone) -> None:
    out.print(f"{done.title}: {done.effect}", markup=False, soft_wrap=True)


def _quiet(text: str) -> tuple[time, time]:
    if text.strip().lower() in ("off", "none", "no"):
        return time(0), time(0)
    start, sep, end = text.partition("-")
    try:
        if not sep:
            raise ValueError
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise LifeTwinError(f"'{text}' is not quiet hours (give HH:MM-HH:MM, or off).") from None


def recommend_settings(
    person: PersonArg,
    goals: Annotated[
        str | None,
        typer.Option(
            help="Your goals, comma-separated (move_more, sleep_better, stress_less, "
            "hydrate, spend_less, learn, glucose_in_range); 'none' for none."
        ),
    ] = None,
    quiet: Annotated[
        str | None, typer.Option(help="Quiet hours, HH:MM-HH:MM in your time zone, or off.")
    ] = None,
    max_per_day: Annotated[
        int | None, typer.Option(min=0, max=100, help="At most this many a day.")
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(min=0, help="Your monthly budget (with the goal spend_less); 0 for none."),
    ] = None,
    dont_use: Annotated[
        list[str] | None,
        typer.Option(
            "--dont-use",
            metavar="CATEGORY",
            help="Don't use my CATEGORY data for recommendations (sleep, activity, mood, "
            "metabolic, finance, learning): a consent change, at once, and what was learned "
            "from it is removed.",
        ),
    ] = None,
    use: Annotated[
        list[str] | None,
        typer.Option(
            "--use", metavar="CATEGORY", help="Let recommendations use CATEGORY data again."
        ),
    ] = None,
    reset_not_interested: Annotated[
        bool,
        typer.Option(
            "--reset-not-interested", help="Let items you were not interested in come back."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show or change your recommendation settings and the data they may use."""
    from lifetwin.packs.recommend import operations as ops

    ctx = _context(person)
    fields: dict[str, Any] = {}
    if goals is not None:
        named = [g.strip() for g in goals.split(",") if g.strip()]
        fields["goals"] = [] if named == ["none"] else named
    if quiet is not None:
        fields["quiet_start"], fields["quiet_end"] = _quiet(quiet)
    if max_per_day is not None:
        fields["max_per_day"] = max_per_day
    if budget is not None:
        fields["monthly_budget"] = budget
    change = ops.SettingsChange(
        **fields,
        exclude=dont_use or [],
        include=use or [],
        reset_not_interested=reset_not_interested,
    )
    touched = fields or change.exclude or change.include or reset_not_interested
    found = ops.change_settings(ctx, change) if touched else ops.settings(ctx)
    emit(found, as_json, _render_settings)


def _render_settings(view: SettingsView) -> None:
    for effect in view.effects:
        out.print(effect, markup=False, soft_wrap=True)
    s = view.settings
    goals = ", ".join(g.name for g in view.goals if g.declared) or "none"
    out.print(f"goals: {goals}", markup=False)
    out.print(f"paused: {'yes' if s.paused else 'no'}", markup=False)
    out.print(f"quiet hours: {view.quiet_hours or 'none'}", markup=False)
    out.print(
        f"at most {s.max_per_day} a day, each item at most {s.max_per_item_per_day} a day, "
        f"{s.slate_size} at a time; 'not now' holds an item back {s.snooze_h:g} h",
        markup=False,
    )
    if s.monthly_budget is not None:
        out.print(f"monthly budget: {s.monthly_budget:g}", markup=False)
    for c in view.data:
        state = "used" if c.used else "not used"
        held = "" if c.held else " (no data of this kind)"
        out.print(f"{c.category}: {state}{held}", markup=False)
    if view.not_interested:
        out.print(f"not interested: {', '.join(view.not_interested)}", markup=False)


def recommend_log(
    person: PersonArg,
    limit: Annotated[
        int, typer.Option(min=1, max=300, help="How many of the newest entries.")
    ] = HISTORY_LIMIT,
    as_json: JsonOpt = False,
) -> None:
    """What was recommended, when and why, and what came of it."""
    from lifetwin.packs.recommend import operations as ops

    emit(ops.history(_context(person), limit=limit), as_json, _render_log)


def _render_log(log: ShownLog) -> None:
    if not log.items:
        out.print("Nothing was recommended yet.")
    for e in log.items:
        answer = (e.answer or "no answer yet").replace("_", " ")
        out.print(
            f"{fmt_time(e.shown_at)} {e.title} ({e.provider}, {e.recommendation_id}): {answer}",
            markup=False,
            soft_wrap=True,
        )
        out.print(f"  why: {e.why}", markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the recommendation commands to ``lifetwin``."""
    app.command("recommend")(recommend)
    app.command("feedback")(feedback)
    app.command("recommend-settings")(recommend_settings)
    app.command("recommend-log")(recommend_log)
