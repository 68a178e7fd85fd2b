"""Recommendations as operations: what the command line, the API and the "For you" page
call, each returning a pydantic model with its defaults here.

- :func:`recommendations` — the person's recommendations now (the built-in nudges and
  learning steps, or a provider's catalog ranked on the person's side), each with its
  reasons, the data and grants behind it, and the controls that apply;
- :func:`feedback` — useful, not now, not interested, or "this is wrong about me" with a
  correction; the policy learns at once (implicit outcomes — did the person walk after a
  walk nudge? — are learned at the next :func:`recommendations`);
- :func:`settings` / :func:`change_settings` — goals, quiet hours, the daily cap, the
  monthly budget, pause all, and "don't use my <category>" (a consent change that takes
  effect at once and removes what was learned from that data) or "use it again";
- :func:`history` — what was shown, when, why, and what came of it.

Recommendations read the twin for the ``recommendations`` purpose (the library in
:mod:`lifetwin.packs.recommend.capability` holds the policy, the guardrails and the state).
Times are the person's own: "now" is taken in the time zone of their profile, so quiet
hours and "today" mean what they mean to the person.
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from lifetwin.operations.context import Context
from lifetwin.packs.recommend.capability import (
    Control,
    Correction,
    Recommendation,
    RecommendError,
)
from lifetwin.packs.recommend.catalog import GOALS, Catalog, catalog_from_items, load_catalog
from lifetwin.packs.recommend.guardrails import RecommendSettings
from lifetwin.privacy.consent import Purpose, ScopeKind
from lifetwin.store.vault import Vault

PURPOSE = Purpose.RECOMMENDATIONS
HISTORY_LIMIT = 50  # entries of the shown log listed by default
# What a person may say is wrong about them, in their words, and the unit of the value.
CORRECTABLE: dict[str, tuple[str, str]] = {
    "sleep_debt": ("how short I am on sleep", "hours over the last three nights"),
    "recent_activity": ("how much I moved", "the last day against usual: -1 none, 0 usual"),
    "mood": ("my mood", "-1 low to 1 good"),
    "glucose": ("my glucose now", "mg/dL"),
    "budget_left": ("my spending against my plan", "-1 far ahead of plan to 1 well within"),
}
# The data categories recommendations may read (the context features', and learning).
CATEGORIES: tuple[str, ...] = ("sleep", "activity", "mood", "metabolic", "finance", "learning")
FeedbackKind = Literal["useful", "not_now", "not_interested", "wrong"]


def person_now(vault: Vault) -> datetime:
    """Now, in the time zone of the person's profile (the machine's when it names none)."""
    name = vault.profile().get("time_zone")
    if name:
        try:
            return datetime.now(ZoneInfo(str(name)))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return datetime.now().astimezone()


# -- models -------------------------------------------------------------------------------
class DataUsed(BaseModel):
    """One stream the recommendations read, and the span of it."""

    data: str
    source: str
    values: int
    first: datetime | None
    last: datetime | None


class GrantUsed(BaseModel):
    id: str
    scope: str
    purpose: str
    recipient: str | None = None


class LineageSummary(BaseModel):
    """Which data, under which grants, the recommendations were computed from."""

    purpose: str
    grants: list[GrantUsed]
    data: list[DataUsed]
    sentence: str


class DataCategory(BaseModel):
    """A kind of data recommendations may read, and whether they may now."""

    category: str
    title: str
    used: bool = Field(description="a recommendations grant covers it now")
    held: bool = Field(description="the person has data of this kind")
    features: list[str]


class Goal(BaseModel):
    name: str
    words: str
    declared: bool


class CorrectionField(BaseModel):
    """Something the person can correct with "this is wrong about me"."""

    feature: str
    label: str
    unit: str


class RecommendationList(BaseModel):
    """The person's recommendations now, with the reasons, data and controls behind them."""

    person: str
    provider: str
    asked_at: datetime = Field(description="when this was asked (the person's local time)")
    shown_at: datetime | None = Field(description="when these items were chosen")
    items: list[Recommendation]
    status: str | None = Field(description="why nothing is shown, when nothing is")
    withheld: dict[str, int] = Field(description="items left out, by the rule that left them")
    outcomes_learned: int = Field(description="earlier nudges the twin saw followed or not")
    goals: list[Goal]
    paused: bool
    quiet_hours: str | None
    max_per_day: int
    data: list[DataCategory]
    lineage: LineageSummary
    corrections: list[CorrectionField]
    controls: list[Control]


class FeedbackDone(BaseModel):
    recommendation_id: str
    item_id: str
    title: str
    kind: str
    learned: bool
    effect: str


class SettingsView(BaseModel):
    """What the person decided about their recommendations."""

    settings: RecommendSettings
    goals: list[Goal]
    quiet_hours: str | None
    data: list[DataCategory]
    not_interested: list[str] = Field(description="items the person never wants again")
    snoozed: dict[str, datetime] = Field(description="items on hold ('not now') until")
    effects: list[str] = Field(default_factory=list, description="what the change did")


class SettingsChange(BaseModel):
    """A change of settings; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    goals: list[str] | None = Field(default=None, max_length=len(GOALS))
    paused: bool | None = None
    quiet_start: time | None = None
    quiet_end: time | None = Field(default=None, description="equal to the start: no quiet hours")
    max_per_day: int | None = Field(default=None, ge=0, le=100)
    max_per_item_per_day: int | None = Field(default=None, ge=0, le=20)
    slate_size: int | None = Field(default=None, ge=1, le=50)
    snooze_h: float | None = Field(default=None, ge=0, le=24 * 30)
    monthly_budget: float | None = Field(
        default=None, ge=0, description="0 (or null given explicitly): no budget"
    )
    exclude: list[str] = Field(
        default_factory=list, max_length=20, description="don't use my <category>"
    )
    include: list[str] = Field(
        default_factory=list, max_length=20, description="use my <category> again"
    )
    reset_not_interested: bool = False


class ShownEntry(BaseModel):
    recommendation_id: str
    item_id: str
    title: str
    provider: str
    shown_at: datetime
    why: str
    grants: list[str]
    answer: str | None = Field(
        description="useful, not_now, not_interested, wrong; done or not_done when the "
        "twin saw it followed or not; no_data; none yet"
    )


class ShownLog(BaseModel):
    """What was shown and why (newest first); each shown slate is in the audit chain too."""

    items: list[ShownEntry]
    total: int


class CatalogIn(BaseModel):
    """A provider's catalog, ranked on the person's side (nothing goes back to it)."""

    provider: str = Field(min_length=1, max_length=200)
    items: list[dict[str, Any]] = Field(min_length=1)


# -- helpers --------------------------------------------------------------------------------
def _goals(declared: tuple[str, ...]) -> list[Goal]:
    return [Goal(name=g, words=w, declared=g in declared) for g, w in GOALS.items()]


def _quiet(s: RecommendSettings) -> str | None:
    if s.quiet_start == s.quiet_end:
        return None
    return f"{s.quiet_start.strftime('%H:%M')}–{s.quiet_end.strftime('%H:%M')}"


def _categories(vault: Vault) -> list[DataCategory]:
    from lifetwin.core.vocabulary import domains
    from lifetwin.packs.recommend.capability import _stream_domain
    from lifetwin.packs.recommend.policy import FEATURE_SOURCES

    titles = {d.name: d.title for d in domains()}
    now = datetime.now().astimezone()
    ledger = vault.consents()
    streams = vault.streams()
    active = [g for g in ledger.active(now) if g.purpose is PURPOSE and g.recipient is None]
    out = []
    for name in CATEGORIES:
        if name not in titles:
            continue
        held = [s for s in streams if _stream_domain(s.metric) == name]
        if held:
            used = any(ledger.allowing(s.metric, s.source, PURPOSE, None, now) for s in held)
        else:
            used = any(
                g.scope.kind is ScopeKind.ALL
                or (g.scope.kind is ScopeKind.DOMAIN and g.scope.value == name)
                for g in active
            )
        out.append(
            DataCategory(
                category=name,
                title=titles[name],
                used=used,
                held=bool(held),
                features=[f for f, (d, _) in FEATURE_SOURCES.items() if d == name],
            )
        )
    return out


def _ms(ms: int | None) -> datetime | None:
    from datetime import UTC

    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def _lineage(vault: Vault, items: list[Recommendation]) -> LineageSummary:
    """The data and grants behind the items shown (one slate: they share them)."""
    if not items:
        return LineageSummary(
            purpose=PURPOSE.value,
            grants=[],
            data=[],
            sentence="Nothing is shown, so no data of yours stands behind anything here.",
        )
    lineage = items[0].lineage
    scopes = {g.id: g for g in vault.consents().grants}
    grants = [
        GrantUsed(
            id=gid,
            scope=str(scopes[gid].scope),
            purpose=scopes[gid].purpose.value,
            recipient=scopes[gid].recipient,
        )
        for gid in lineage.grants
        if gid in scopes
    ]
    data = [
        DataUsed(
            data=ref.metric,
            source=ref.source,
            values=ref.count,
            first=_ms(ref.first_ms),
            last=_ms(ref.last_ms),
        )
        for ref in lineage.inputs
        if ref.count
    ]
    if data:
        listed = ", ".join(f"{d.data.removeprefix('event:')} from {d.source}" for d in data)
        under = ", ".join(sorted({g.scope for g in grants}))
        sentence = f"Read for recommendations: {listed}" + (
            f", under your grants of {under}." if under else "."
        )
    else:
        sentence = "No data of yours was read: only your goals and the time of day."
    return LineageSummary(purpose=lineage.purpose, grants=grants, data=data, sentence=sentence)


def _catalog(path: Path | None, body: CatalogIn | None, provider: str | None) -> Catalog | None:
    if body is not None:
        return catalog_from_items(provider or body.provider, body.items)
    if path is not None:
        return load_catalog(path, provider)
    return None


# -- operations -----------------------------------------------------------------------------
def recommendations(
    ctx: Context,
    *,
    catalog: Path | None = None,
    body: CatalogIn | None = None,
    provider: str | None = None,
    fresh: bool = False,
    now: datetime | None = None,
) -> RecommendationList:
    """The person's recommendations now: the built-in nudges (and learning steps, with the
    goal ``learn``), or a provider's catalog from a file (``catalog``, JSON or CSV) or a
    request (``body``), ranked on the person's side. A slate shown in the last 30 minutes
    is shown again without the items already answered; ``fresh`` ranks anew."""
    from lifetwin.packs.recommend import capability as cap

    chosen = _catalog(catalog, body, provider)
    vault = ctx.vault()
    moment = now or person_now(vault)
    found = cap.recommend(vault, chosen, moment, fresh=fresh)
    current = cap.get_settings(vault)
    return RecommendationList(
        person=found.person,
        provider=found.provider,
        asked_at=moment,
        shown_at=found.items[0].lineage.computed_at if found.items else None,
        items=found.items,
        status=found.status,
        withheld={k: v for k, v in found.withheld.items() if v},
        outcomes_learned=found.outcomes_learned,
        goals=_goals(current.goals),
        paused=current.paused,
        quiet_hours=_quiet(current),
        max_per_day=current.max_per_day,
        data=_categories(vault),
        lineage=_lineage(vault, found.items),
        corrections=[
            CorrectionField(feature=f, label=label, unit=unit)
            for f, (label, unit) in CORRECTABLE.items()
        ],
        controls=found.controls,
    )


def _shown(vault: Vault, ref: str) -> Recommendation:
    """The shown recommendation ``ref`` names: by its id, or by its item's id (the item's
    newest showing)."""
    from lifetwin.packs.recommend.capability import KEEP_PENDING, load_log

    log = load_log(vault)
    for pending in reversed(log.pending):
        rec = pending.recommendation
        if ref in (rec.id, rec.item_id):
            return rec
    raise RecommendError(
        f"'{ref}' is not among the last {KEEP_PENDING} recommendations shown (give the id "
        "`lifetwin recommend` prints, or the item's id)."
    )


def feedback(
    ctx: Context,
    recommendation: str,
    kind: FeedbackKind,
    *,
    correction: Correction | None = None,
    now: datetime | None = None,
) -> FeedbackDone:
    """What a recommendation was worth to the person (``recommendation`` is its id, or the
    item's id for its newest showing). ``not_now`` puts the item on hold for the snooze
    hours, ``not_interested`` never shows it again, ``wrong`` takes a correction of what
    the twin believes (and learns nothing from this recommendation)."""
    from lifetwin.packs.recommend import capability as cap

    vault = ctx.vault()
    moment = now or person_now(vault)
    with vault.transaction():  # the policy and the log change together, under the lock
        rec = _shown(vault, recommendation)
        done = cap.feedback(vault, rec.id, kind, correction, moment)
    return FeedbackDone(
        recommendation_id=rec.id,
        item_id=rec.item_id,
        title=rec.title,
        kind=done.kind,
        learned=done.learned,
        effect=done.effect,
    )


def _view(vault: Vault, effects: list[str] | None = None) -> SettingsView:
    from lifetwin.packs.recommend.capability import load_log, load_settings

    current, log = load_settings(vault), load_log(vault)
    return SettingsView(
        settings=current,
        goals=_goals(current.goals),
        quiet_hours=_quiet(current),
        data=_categories(vault),
        not_interested=sorted(log.blocked),
        snoozed=dict(sorted(log.snoozed.items())),
        effects=effects or [],
    )


def settings(ctx: Context) -> SettingsView:
    """The person's recommendation settings and which data recommendations may read."""
    return _view(ctx.vault())


def _category(name: str) -> str:
    if name not in CATEGORIES:
        raise RecommendError(
            f"'{name}' is not a kind of data recommendations read (they read: "
            f"{', '.join(CATEGORIES)})."
        )
    return name


def change_settings(
    ctx: Context, change: SettingsChange, *, now: datetime | None = None
) -> SettingsView:
    """Change what the person decides: goals, quiet hours, caps, budget, pause; stop
    recommendations from using a kind of data (a consent change, at once, and what the
    policy learned from it is removed) or let them use it again."""
    from lifetwin.operations import privacy as ops_privacy
    from lifetwin.packs.recommend import capability as cap

    vault = ctx.vault()
    moment = now or person_now(vault)
    given = change.model_dump(
        include={
            "goals",
            "paused",
            "quiet_start",
            "quiet_end",
            "max_per_day",
            "max_per_item_per_day",
            "slate_size",
            "snooze_h",
        },
        exclude_none=True,
    )
    effects: list[str] = []
    with vault.transaction():
        current = cap.get_settings(vault)
        if "monthly_budget" in change.model_fields_set:
            given["monthly_budget"] = change.monthly_budget or None
        if "goals" in given:
            given["goals"] = tuple(given["goals"])
            if "spend_less" not in given["goals"] and current.monthly_budget is not None:
                if given.get("monthly_budget") is not None:
                    raise RecommendError(
                        "A monthly budget only makes sense with the goal spend_less."
                    )
                given["monthly_budget"] = None
                effects.append("Your monthly budget is cleared with the goal spend_less.")
        if given:
            effects += _effects(current, cap.update_settings(vault, **given))
        for name in dict.fromkeys(change.exclude):
            done = cap.exclude_data(vault, _category(name), now=moment)
            effects.append(done.effect)
        for name in dict.fromkeys(change.include):
            allowed = ops_privacy.set_category(ctx, _category(name), PURPOSE.value, True)
            effects.append(
                f"Recommendations may use your {name} data again."
                if allowed.allowed
                else allowed.message
            )
        if change.reset_not_interested:
            count = cap.reset_blocked(vault)
            effects.append(f"{count} item(s) you were not interested in may be suggested again.")
    return _view(vault, effects)


def _effects(before: RecommendSettings, after: RecommendSettings) -> list[str]:
    out = []
    if before.paused != after.paused:
        out.append("Recommendations are paused." if after.paused else "Recommendations resume.")
    if before.goals != after.goals:
        words = ", ".join(GOALS[g] for g in after.goals) or "none"
        out.append(f"Your goals: {words}.")
    if (before.quiet_start, before.quiet_end) != (after.quiet_start, after.quiet_end):
        quiet = _quiet(after)
        out.append(f"Quiet hours: {quiet}." if quiet else "No quiet hours.")
    if before.max_per_day != after.max_per_day:
        out.append(f"At most {after.max_per_day} recommendations a day.")
    if before.monthly_budget != after.monthly_budget and after.monthly_budget is not None:
        out.append(f"Monthly budget: {after.monthly_budget:g}.")
    for name in ("max_per_item_per_day", "slate_size", "snooze_h"):
        if getattr(before, name) != getattr(after, name):
            out.append(f"{name.replace('_', ' ')}: {getattr(after, name):g}.")
    return out


def history(ctx: Context, *, limit: int = HISTORY_LIMIT) -> ShownLog:
    """What was shown, when and why, and what came of it (the person's answer, or what the
    twin saw them do), newest first."""
    from lifetwin.packs.recommend.capability import load_log

    vault = ctx.vault()
    log = load_log(vault)
    entries = [
        ShownEntry(
            recommendation_id=p.recommendation.id,
            item_id=p.recommendation.item_id,
            title=p.recommendation.title,
            provider=p.recommendation.provider,
            shown_at=p.recommendation.lineage.computed_at,
            why=p.recommendation.why,
            grants=list(p.recommendation.lineage.grants),
            answer=p.resolved,
        )
        for p in reversed(log.pending)
    ]
    vault.log_event("read", Purpose.SELF_ACCESS.value, what="recommendation log")
    return ShownLog(items=entries[: max(limit, 0)], total=len(entries))
