"""Recommendations for one person: the operations the CLI, API and dashboard call.

Public entry points (each returns a pydantic model):

- ``recommend(vault, catalog=None, now=None) -> Recommendations`` — rank a catalog
  (default: the built-in wellbeing nudges for the person's goals, plus learning steps
  when the goal ``learn`` is declared) for the person now, with reasons and lineage;
  every shown slate goes to the audit chain with why.
- ``feedback(vault, recommendation_id, kind, correction=None, now=None) -> FeedbackResult``
  — ``useful``, ``not_now``, ``not_interested`` or ``wrong`` ("this is wrong about
  me", with a :class:`Correction`); the policy learns at once.
- ``why(vault, recommendation_id) -> Recommendation`` — the stored reasons of a shown
  recommendation.
- ``get_settings(vault)`` / ``update_settings(vault, **changes)`` — goals, quiet hours,
  the pause switch, caps, the monthly budget.
- ``exclude_data(vault, what, now=None) -> ExclusionResult`` — "don't use my sleep for
  recommendations": a consent change that takes effect at once and removes what the
  policy learned from that data.
- ``provider_view(vault, provider) -> ProviderView`` — all a provider may receive.

The twin is read through the consent gate with ``Purpose.RECOMMENDATIONS``: a context
feature whose data is not granted is missing (neutral) and its reason is not given.
Ranking happens here, on the person's side; a provider's catalog comes in, and only
what ``provider_view`` shows may go out. Implicit outcomes (did the person walk after a
walk nudge?) are read from the twin at the next call and update the policy too.

State lives sealed in the vault under three names; the ``load_*`` functions and
:func:`save_state` are the only ones that touch it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lifetwin.core.errors import LifeTwinError
from lifetwin.core.model import Event, to_epoch_ms
from lifetwin.core.vocabulary import domain_names, metric
from lifetwin.packs.recommend.catalog import (
    Catalog,
    CatalogIndex,
    Outcome,
    wellbeing_nudges,
)
from lifetwin.packs.recommend.explain import Reason, reasons_for, summary
from lifetwin.packs.recommend.guardrails import (
    RecommendSettings,
    Shown,
    check_slate,
    promotion_context,
    stop_reason,
)
from lifetwin.packs.recommend.policy import (
    CONTEXT_INDEX,
    FEATURE_SOURCES,
    LinUCB,
    context_vector,
    personal_policy,
)
from lifetwin.packs.recommend.ranking import rank_slate
from lifetwin.privacy.consent import Grant, Purpose, Scope, ScopeKind
from lifetwin.privacy.lineage import InputRef, Lineage
from lifetwin.store.vault import Vault

F64 = npt.NDArray[np.float64]
PURPOSE = Purpose.RECOMMENDATIONS
SLEEP_NEED_H = 7.5
KEEP_SHOWN_DAYS = 30
KEEP_PENDING = 300
FeedbackKind = Literal["useful", "not_now", "not_interested", "wrong"]
# reward and weight of each kind of feedback and outcome
REWARDS: dict[str, tuple[float, float]] = {
    "useful": (1.0, 1.0),
    "not_now": (0.0, 0.5),
    "not_interested": (0.0, 1.0),
    "done": (1.0, 0.5),  # an implicit outcome: the twin saw the person do it
    "not_done": (0.0, 0.25),
}


class RecommendError(LifeTwinError):
    """A recommendation operation that cannot be done as asked."""


class Correction(BaseModel):
    """What the person says is wrong about them: a context feature and its true value."""

    model_config = ConfigDict(frozen=True)

    feature: str
    value: float | None = None  # None: do not use this feature for now
    note: str = Field(default="", max_length=500)
    hours: float = Field(default=24.0, gt=0, le=24 * 14)


class Override(BaseModel):
    feature: str
    value: float | None
    until: datetime
    note: str = ""


class Recommendation(BaseModel):
    """One shown item with its reasons, lineage and the controls that apply."""

    id: str
    item_id: str
    provider: str
    title: str
    kind: str
    description: str = ""
    url: str | None = None
    goals: tuple[str, ...]
    price: float | None = None  # the catalog's list price, never a personal one
    currency: str | None = None
    promotional: bool = False
    score: float
    reasons: list[Reason]
    why: str
    lineage: Lineage


class Control(BaseModel):
    """Something the person can do about their recommendations, and the call that does it."""

    label: str
    operation: str
    argument: str | None = None


class Recommendations(BaseModel):
    person: str
    at: datetime
    provider: str
    items: list[Recommendation]
    status: str | None = None  # why nothing was shown, when nothing was
    withheld: dict[str, int] = Field(default_factory=dict)
    context: dict[str, float] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)  # features with no data or no grant
    outcomes_learned: int = 0
    controls: list[Control] = Field(default_factory=list)
    lineage: Lineage


class Pending(BaseModel):
    """A shown recommendation the policy may still learn from."""

    recommendation: Recommendation
    context: list[float]
    item_vector: list[float]
    outcome: Outcome | None = None
    resolved: str | None = None


class RecommendLog(BaseModel):
    shown: list[Shown] = Field(default_factory=list)
    pending: list[Pending] = Field(default_factory=list)
    blocked: list[str] = Field(default_factory=list)
    snoozed: dict[str, datetime] = Field(default_factory=dict)
    overrides: list[Override] = Field(default_factory=list)
    corrections: list[Correction] = Field(default_factory=list)
    used_features: list[str] = Field(default_factory=list)


class FeedbackResult(BaseModel):
    recommendation_id: str
    kind: str
    learned: bool
    effect: str


class ExclusionResult(BaseModel):
    domain: str
    revoked: list[str]
    granted: list[str]
    forgotten_features: list[str]
    effect: str


class ProviderView(BaseModel):
    """Everything a provider may receive: nothing of the twin unless granted by name."""

    provider: str
    shared_streams: list[str]
    interactions: list[dict[str, str]]


# -- state: the only place that touches storage ---------------------------------------
_SETTINGS, _POLICY, _LOG = "recommend:settings", "recommend:policy", "recommend:log"


def load_settings(vault: Vault) -> RecommendSettings:
    raw = vault.get_state(_SETTINGS)
    return RecommendSettings.model_validate_json(raw) if raw else RecommendSettings()


def load_log(vault: Vault) -> RecommendLog:
    """What was shown and answered (without the policy, which is costlier to load)."""
    raw = vault.get_state(_LOG)
    return RecommendLog.model_validate_json(raw) if raw else RecommendLog()


def load_policy(vault: Vault) -> LinUCB:
    raw = vault.get_state(_POLICY)
    return LinUCB.from_bytes(raw) if raw else personal_policy()


def load_state(vault: Vault) -> tuple[RecommendSettings, LinUCB, RecommendLog]:
    return load_settings(vault), load_policy(vault), load_log(vault)


def save_state(
    vault: Vault,
    settings: RecommendSettings | None = None,
    policy: LinUCB | None = None,
    log: RecommendLog | None = None,
) -> None:
    with vault.backend.transaction():
        if settings is not None:
            vault.put_state(_SETTINGS, settings.model_dump_json().encode())
        if policy is not None:
            vault.put_state(_POLICY, policy.to_bytes())
        if log is not None:
            vault.put_state(_LOG, log.model_dump_json().encode())


# -- settings --------------------------------------------------------------------------
def get_settings(vault: Vault) -> RecommendSettings:
    return load_settings(vault)


def update_settings(vault: Vault, **changes: Any) -> RecommendSettings:
    """Change goals, quiet hours, caps, the budget or the pause switch (``paused=True``)."""
    current = get_settings(vault)
    try:
        updated = RecommendSettings.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise RecommendError(f"{where or 'settings'}: {message}.") from None
    save_state(vault, settings=updated)
    vault.log_event("recommend_settings", PURPOSE.value, changed=sorted(changes))
    return updated


# -- the twin's context -------------------------------------------------------------------
@dataclass
class TwinContext:
    vector: F64
    raw: dict[str, float | None]
    grants: dict[str, tuple[str, ...]]
    inputs: list[InputRef] = field(default_factory=list)
    available: set[str] = field(default_factory=set)

    def lineage(self) -> Lineage:
        grants = sorted({g for gs in self.grants.values() for g in gs})
        return Lineage(purpose=PURPOSE.value, grants=tuple(grants), inputs=tuple(self.inputs))


def _local(moment: datetime, tz_min: int) -> datetime:
    from datetime import timezone

    return moment.astimezone(timezone(timedelta(minutes=tz_min)))


def twin_context(
    vault: Vault,
    now: datetime,
    settings: RecommendSettings,
    overrides: Sequence[Override] = (),
) -> TwinContext:
    """The policy's view of the person now, read through the consent gate."""
    raw: dict[str, float | None] = {"hour_local": now.hour + now.minute / 60}
    grants: dict[str, tuple[str, ...]] = {}
    inputs: list[InputRef] = []

    def series(code: str, days: float) -> tuple[npt.NDArray[np.int64], F64, Any, Any] | None:
        read = vault.read_series(code, purpose=PURPOSE, since=now - timedelta(days=days), until=now)
        inputs.extend(read.lineage.inputs)
        if not len(read):
            return None
        return read.ts_ms, read.values, read.columns, read.lineage.grants

    # sleep: the hours short of the need over the last three nights with data
    got = series("sleep_duration", 4)
    if got is not None:
        ts, values, columns, used = got
        nights: dict[Any, float] = {}
        for t, v, d, z in zip(ts, values, columns.dur_ms, columns.tz_min, strict=True):
            end = datetime.fromtimestamp((int(t) + int(d)) / 1000, now.tzinfo)
            night = _local(end, int(z)).date()
            nights[night] = nights.get(night, 0.0) + float(v) / 60
        last = sorted(nights)[-3:]
        raw["sleep_debt_h"] = sum(max(0.0, SLEEP_NEED_H - nights[n]) for n in last)
        grants["sleep_debt"] = used
    # activity: the last day's steps against the usual day of the two weeks before
    got = series("steps", 15)
    if got is not None:
        ts, values, _, used = got
        now_ms = to_epoch_ms(now)
        last_day = float(values[ts >= now_ms - 86_400_000].sum())
        before = ts < now_ms - 86_400_000
        days = {int(t) // 86_400_000 for t in ts[before]}
        if len(days) >= 3 and values[before].sum() > 0:
            usual = float(values[before].sum()) / len(days)
            raw["activity_ratio"] = last_day / usual - 1
            grants["recent_activity"] = used
    got = series("mood_valence", 1)
    if got is not None:
        raw["mood"] = float(got[1][-1])
        grants["mood"] = got[3]
    got = series("glucose", 1 / 24)
    if got is not None:
        raw["glucose_mg_dl"] = float(got[1][-1])
        grants["glucose"] = got[3]
    if settings.monthly_budget is not None:
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        spent = 0.0
        used_grants: set[str] = set()
        for kind in ("event:transaction", "event:purchase"):
            records = vault.read_records(kind, purpose=PURPOSE, since=start, until=now)
            inputs.extend(records.lineage.inputs)
            used_grants.update(records.lineage.grants)
            for record in records:
                if isinstance(record, Event):
                    amount = float(record.details.get("amount", 0.0) or 0.0)
                    spent += -amount if amount < 0 else 0.0
        if used_grants:
            next_month = (start + timedelta(days=32)).replace(day=1)
            month_left = (next_month - now) / (next_month - start)
            raw["budget_left"] = (1 - spent / settings.monthly_budget) - month_left
            grants["budget_left"] = tuple(sorted(used_grants))
    for override in overrides:
        if override.until > now:
            key = {
                "sleep_debt": "sleep_debt_h",
                "recent_activity": "activity_ratio",
                "mood": "mood",
                "glucose": "glucose_mg_dl",
                "budget_left": "budget_left",
            }.get(override.feature)
            if key is not None:
                raw[key] = override.value
    vector = context_vector(
        raw["hour_local"] or 0.0,
        now.weekday(),
        sleep_debt_h=raw.get("sleep_debt_h"),
        activity_ratio=raw.get("activity_ratio"),
        mood=raw.get("mood"),
        glucose_mg_dl=raw.get("glucose_mg_dl"),
        budget_left=raw.get("budget_left"),
        goals=set(settings.goals),
    )
    available = {
        feature
        for feature, key in (
            ("sleep_debt", "sleep_debt_h"),
            ("recent_activity", "activity_ratio"),
            ("mood", "mood"),
            ("glucose", "glucose_mg_dl"),
            ("budget_left", "budget_left"),
        )
        if raw.get(key) is not None
    }
    return TwinContext(vector, raw, grants, inputs, available)


def allowed_features(vault: Vault, recipient: str | None = None) -> set[str]:
    """Context features whose data the person lets recommendations use now.

    With a ``recipient``, only grants made to that recipient by name count: the
    promotion firewall (a general grant does not let a shop use sleep data).
    """
    now = datetime.now().astimezone()
    ledger = vault.consents()
    streams = vault.streams()
    out = set()
    for feature, (_domain, metrics) in FEATURE_SOURCES.items():
        for stream in streams:
            if stream.metric not in metrics:
                continue
            allowing = ledger.allowing(stream.metric, stream.source, PURPOSE, recipient, now)
            if recipient is not None:
                allowing = [g for g in allowing if g.recipient == recipient]
            if allowing:
                out.add(feature)
    return out


# -- recommend ------------------------------------------------------------------------
def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now().astimezone()
    if now.tzinfo is None:
        raise RecommendError("The time must carry a time zone (an offset or UTC).")
    return now


def _days(moment: datetime) -> float:
    return moment.timestamp() / 86_400


def _purge(policy: LinUCB, log: RecommendLog, features: set[str]) -> list[str]:
    """Remove features from the policy and the pending contexts (they may no longer be used)."""
    gone = sorted(features & set(log.used_features))
    if not gone:
        return []
    policy.forget([CONTEXT_INDEX[f] for f in gone])
    for pending in log.pending:
        for f in gone:
            pending.context[CONTEXT_INDEX[f]] = 0.0
    log.overrides = [o for o in log.overrides if o.feature not in gone]
    log.used_features = [f for f in log.used_features if f not in gone]
    return gone


def _observe_outcomes(vault: Vault, policy: LinUCB, log: RecommendLog, now: datetime) -> int:
    """Learn from what the twin saw the person do after the nudges whose window has passed."""
    learned = 0
    for pending in log.pending:
        outcome = pending.outcome
        rec = pending.recommendation
        if pending.resolved is not None or outcome is None:
            continue
        window = timedelta(hours=outcome.window_h)
        if rec.lineage.computed_at + window > now:
            continue
        shown = rec.lineage.computed_at
        before = vault.read_series(
            outcome.metric, purpose=PURPOSE, since=shown - window, until=shown
        )
        after = vault.read_series(
            outcome.metric, purpose=PURPOSE, since=shown, until=shown + window
        )
        pending.resolved = "no_data"
        if not len(after) and not len(before):
            continue
        change = float(after.values.sum()) - float(before.values.sum())
        done = change > 0 if outcome.direction == "up" else change < 0
        kind = "done" if done else "not_done"
        reward, weight = REWARDS[kind]
        policy.learn_one(
            np.asarray(pending.context),
            np.asarray(pending.item_vector),
            reward,
            weight=weight,
            at_days=_days(now),
        )
        pending.resolved = kind
        learned += 1
    return learned


def _default_catalog(vault: Vault, settings: RecommendSettings, now: datetime) -> Catalog:
    nudges = wellbeing_nudges(settings.goals)
    if "learn" not in settings.goals:
        return nudges
    from lifetwin.packs.learning.capability import learning_catalog_items

    steps = learning_catalog_items(vault, now=now)
    return Catalog(provider="lifetwin", items=nudges.items + tuple(steps))


_INDEX_CACHE: dict[int, tuple[Catalog, CatalogIndex]] = {}


def catalog_index(catalog: Catalog) -> CatalogIndex:
    """The catalog's ranking index, reused while the same catalog object is passed."""
    cached = _INDEX_CACHE.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    index = CatalogIndex(catalog)
    if len(_INDEX_CACHE) > 8:
        _INDEX_CACHE.clear()
    _INDEX_CACHE[id(catalog)] = (catalog, index)
    return index


REUSE_MIN = 30


def _recent_slate(log: RecommendLog, provider: str, now: datetime) -> list[Recommendation]:
    """The last slate's items the person has not answered yet, if it is recent: feedback on
    one item takes that one away and leaves the others where they were."""
    if not log.pending:
        return []
    last = log.pending[-1].recommendation.lineage.computed_at
    if not (now - timedelta(minutes=REUSE_MIN) < last <= now):
        return []
    slate = [
        p
        for p in log.pending
        if p.recommendation.lineage.computed_at == last and p.recommendation.provider == provider
    ]
    return [p.recommendation for p in slate if p.resolved is None]


def _still_valid(
    slate: Sequence[Recommendation], settings: RecommendSettings, allowed: set[str]
) -> bool:
    """Whether a shown slate may be shown again: every item serves a goal still declared,
    and no reason uses data that recommendations may no longer read."""
    for rec in slate:
        if not set(rec.goals) & set(settings.goals):
            return False
        for reason in rec.reasons:
            if reason.feature in FEATURE_SOURCES and reason.feature not in allowed:
                return False
    return True


def recommend(
    vault: Vault,
    catalog: Catalog | None = None,
    now: datetime | None = None,
    *,
    fresh: bool = False,
) -> Recommendations:
    """Rank a catalog for the person now, within the guardrails, with reasons.

    The items of a slate shown less than ``REUSE_MIN`` minutes ago for the same provider
    that have no feedback yet are shown again rather than replaced (a page reload is not a
    new recommendation), as long as each still serves a declared goal and its reasons use
    only data still allowed; ``fresh=True`` ranks anew.
    """
    now = _now(now)
    settings, log = load_settings(vault), load_log(vault)
    provider = catalog.provider if catalog is not None else "lifetwin"
    # Reuse only when a new slate could be shown now (not paused, not in quiet hours).
    if not fresh and stop_reason(settings, now, []) is None:
        again = _recent_slate(log, provider, now)
        if again and not _still_valid(again, settings, allowed_features(vault)):
            again = []
        if again:
            vault.log_event(
                "recommend", PURPOSE.value, provider=provider, again=[r.id for r in again]
            )
            return Recommendations(
                person=vault.person.id,
                at=now,
                provider=provider,
                items=again,
                status=None,
                lineage=again[0].lineage,
                controls=_controls(settings, set(log.used_features)),
            )
    policy = load_policy(vault)  # only now: a shown slate again needs no policy
    # A grant withdrawn anywhere (the privacy centre, the CLI) reaches the policy here.
    withdrawn = set(FEATURE_SOURCES) - allowed_features(vault)
    purged = _purge(policy, log, withdrawn)
    learned = _observe_outcomes(vault, policy, log, now)
    policy.fade_to(_days(now))
    chosen_catalog = catalog or _default_catalog(vault, settings, now)
    index = catalog_index(chosen_catalog)
    context = twin_context(vault, now, settings, log.overrides)
    granted_promo = allowed_features(vault, recipient=chosen_catalog.provider)
    promo = promotion_context(context.vector, granted_promo)
    blocked = set(log.blocked)
    ranked = rank_slate(
        policy,
        context.vector,
        index,
        settings,
        now,
        shown=log.shown,
        blocked=blocked,
        snoozed=log.snoozed,
        promo_context=promo,
    )
    lineage = context.lineage()
    items: list[Recommendation] = []
    pendings: list[Pending] = []
    for i in ranked.chosen:
        item = index.items[i]
        used = promo if item.promotional else context.vector
        vector = index.matrix[i]
        reasons = reasons_for(
            item,
            policy.contributions(used, vector),
            used,
            mean=float(ranked.mean[i]),
            bonus=float(ranked.bonus[i]),
            declared=settings.goals,
            raw=context.raw,
            grants_by_feature=context.grants,
            learned_from=policy.n_updates,
        )
        rec = Recommendation(
            id="r-" + uuid.uuid4().hex[:12],
            item_id=item.id,
            provider=chosen_catalog.provider,
            title=item.title,
            kind=item.kind,
            description=item.description,
            url=item.url,
            goals=tuple(g for g in item.goals if g in settings.goals),
            price=item.price,
            currency=item.currency,
            promotional=item.promotional,
            score=round(float(ranked.score[i]), 6),
            reasons=reasons,
            why=summary(reasons),
            lineage=lineage.model_copy(update={"computed_at": now}),
        )
        items.append(rec)
        pendings.append(
            Pending(
                recommendation=rec,
                context=[float(x) for x in used],
                item_vector=[float(x) for x in vector],
                outcome=item.outcome,
            )
        )
    broken = check_slate(
        [index.items[i] for i in ranked.chosen],
        catalog={index.items[i].id: index.items[i] for i in ranked.chosen},
        shown_prices=[r.price for r in items],
        settings=settings,
        now=now,
        shown_before=log.shown,
        blocked=blocked,
        snoozed=log.snoozed,
        promo_contexts=[np.asarray(p.context) for p in pendings],
        granted_for_promotion=granted_promo,
    )
    if broken:  # defence in depth: never show a slate that breaks a rule
        vault.log_event("recommend_blocked", PURPOSE.value, broken=broken)
        items, pendings = [], []
    log.shown = [s for s in log.shown if s.at > now - timedelta(days=KEEP_SHOWN_DAYS)]
    log.shown.extend(Shown(item_id=r.item_id, at=now) for r in items)
    log.pending = (log.pending + pendings)[-KEEP_PENDING:]
    log.snoozed = {k: v for k, v in log.snoozed.items() if v > now}
    log.overrides = [o for o in log.overrides if o.until > now]
    log.used_features = sorted(set(log.used_features) | context.available)
    save_state(vault, policy=policy, log=log)
    vault.log_event(
        "recommend",
        PURPOSE.value,
        provider=chosen_catalog.provider,
        shown=[
            {
                "id": r.id,
                "item": r.item_id,
                "score": r.score,
                "why": r.why,
                "grants": r.lineage.grants,
            }
            for r in items
        ],
        status=ranked.status,
        withheld=dict(ranked.withheld),
        forgotten=purged,
    )
    missing = sorted(set(FEATURE_SOURCES) - context.available)
    return Recommendations(
        person=vault.person.id,
        at=now,
        provider=chosen_catalog.provider,
        items=items,
        status=ranked.status if not broken else "the slate broke a guardrail and was withheld",
        withheld=dict(ranked.withheld),
        context={k: round(float(v), 4) for k, v in zip(CONTEXT_INDEX, context.vector, strict=True)},
        missing=missing,
        outcomes_learned=learned,
        controls=_controls(settings, context.available),
        lineage=lineage,
    )


def _controls(settings: RecommendSettings, available: set[str]) -> list[Control]:
    controls = [
        Control(
            label="Resume recommendations" if settings.paused else "Pause all recommendations",
            operation="update_settings",
            argument="paused=false" if settings.paused else "paused=true",
        ),
        Control(label="Change my goals", operation="update_settings", argument="goals"),
    ]
    for feature in sorted(available):
        domain = FEATURE_SOURCES[feature][0]
        controls.append(
            Control(
                label=f"Don't use my {domain} data for recommendations",
                operation="exclude_data",
                argument=domain,
            )
        )
    return controls


# -- feedback --------------------------------------------------------------------------
def _find(log: RecommendLog, recommendation_id: str) -> Pending:
    for pending in log.pending:
        if pending.recommendation.id == recommendation_id:
            return pending
    raise RecommendError(
        f"There is no recent recommendation {recommendation_id}; feedback applies to the last "
        f"{KEEP_PENDING} shown."
    )


def why(vault: Vault, recommendation_id: str) -> Recommendation:
    """The reasons and lineage of a recommendation that was shown."""
    found = _find(load_log(vault), recommendation_id).recommendation
    vault.log_event("read", Purpose.SELF_ACCESS.value, what="recommendation", id=recommendation_id)
    return found


def feedback(
    vault: Vault,
    recommendation_id: str,
    kind: str,
    correction: Correction | None = None,
    now: datetime | None = None,
) -> FeedbackResult:
    """Tell the policy what a recommendation was worth; it learns at once."""
    now = _now(now)
    if kind not in ("useful", "not_now", "not_interested", "wrong"):
        raise RecommendError(
            f"'{kind}' is not feedback LifeTwin knows (useful, not_now, not_interested, wrong)."
        )
    settings, policy, log = load_state(vault)
    pending = _find(log, recommendation_id)
    item_id = pending.recommendation.item_id
    if kind == "wrong":
        if correction is None:
            raise RecommendError("'This is wrong about me' needs a correction: what is wrong.")
        if correction.feature not in FEATURE_SOURCES:
            names = ", ".join(FEATURE_SOURCES)
            raise RecommendError(
                f"'{correction.feature}' is not something recommendations read about you "
                f"(they read: {names})."
            )
        log.corrections.append(correction)
        log.overrides.append(
            Override(
                feature=correction.feature,
                value=correction.value,
                until=now + timedelta(hours=correction.hours),
                note=correction.note,
            )
        )
        pending.resolved = "wrong"
        effect = (
            f"LifeTwin will use your correction of {correction.feature} for the next "
            f"{correction.hours:g} h and did not learn from this recommendation."
        )
        learned = False
    else:
        reward, weight = REWARDS[kind]
        policy.learn_one(
            np.asarray(pending.context),
            np.asarray(pending.item_vector),
            reward,
            weight=weight,
            at_days=_days(now),
        )
        pending.resolved = kind
        learned = True
        effect = "LifeTwin will suggest things like this more often."
        if kind == "not_now":
            log.snoozed[item_id] = now + timedelta(hours=settings.snooze_h)
            effect = f"LifeTwin will not suggest this again for {settings.snooze_h:g} h."
        elif kind == "not_interested":
            if item_id not in log.blocked:
                log.blocked.append(item_id)
            effect = "LifeTwin will not suggest this again."
    save_state(vault, policy=policy if learned else None, log=log)
    vault.log_event(
        "recommend_feedback",
        PURPOSE.value,
        recommendation=recommendation_id,
        item=item_id,
        kind=kind,
        correction=correction.model_dump() if correction else None,
    )
    return FeedbackResult(
        recommendation_id=recommendation_id, kind=kind, learned=learned, effect=effect
    )


def reset_blocked(vault: Vault) -> int:
    """Let every item marked "not interested" be suggested again; return how many."""
    log = load_log(vault)
    count = len(log.blocked)
    log.blocked = []
    save_state(vault, log=log)
    vault.log_event("recommend_settings", PURPOSE.value, changed=["blocked"])
    return count


# -- controls ---------------------------------------------------------------------------
def _domain_of(what: str) -> str:
    if what in domain_names():
        return what
    if what in FEATURE_SOURCES:
        return FEATURE_SOURCES[what][0]
    try:
        return metric(what).domain
    except LifeTwinError:
        names = ", ".join(sorted({v[0] for v in FEATURE_SOURCES.values()}))
        raise RecommendError(
            f"'{what}' is not a kind of data recommendations use (kinds: {names})."
        ) from None


def exclude_data(vault: Vault, what: str, now: datetime | None = None) -> ExclusionResult:
    """Stop recommendations from using a kind of data ("sleep"), at once and backwards.

    Every recommendations grant covering that data is revoked; a grant of everything is
    replaced by grants of each other data category, so nothing else changes. What the
    policy learned from that data is removed (refitted without it).
    """
    domain = _domain_of(what)
    moment = _now(now)
    revoked: list[str] = []
    granted: list[str] = []
    ledger = vault.consents()
    active: list[Grant] = [
        g for g in ledger.active(datetime.now().astimezone()) if g.purpose is PURPOSE
    ]
    for grant in active:
        scope = grant.scope
        hits = (
            scope.kind is ScopeKind.ALL
            or (scope.kind is ScopeKind.DOMAIN and scope.value == domain)
            or (scope.kind is ScopeKind.METRIC and metric(scope.value).domain == domain)
            or (
                scope.kind is ScopeKind.SOURCE
                and any(
                    s.source == scope.value and _stream_domain(s.metric) == domain
                    for s in vault.streams()
                )
            )
        )
        if not hits:
            continue
        vault.revoke(grant.id)
        revoked.append(grant.id)
        if scope.kind is ScopeKind.ALL:
            for other in sorted(domain_names()):
                if other != domain:
                    made = vault.grant(
                        Scope(kind=ScopeKind.DOMAIN, value=other),
                        PURPOSE,
                        recipient=grant.recipient,
                    )
                    granted.append(made.id)
    _settings, policy, log = load_state(vault)
    features = {f for f, (d, _) in FEATURE_SOURCES.items() if d == domain}
    log.used_features = sorted(set(log.used_features) | features)  # purge even if unused
    forgotten = _purge(policy, log, features)
    policy.fade_to(_days(moment))
    save_state(vault, policy=policy, log=log)
    vault.log_event(
        "recommend_exclude", PURPOSE.value, domain=domain, revoked=revoked, granted=granted
    )
    return ExclusionResult(
        domain=domain,
        revoked=revoked,
        granted=granted,
        forgotten_features=forgotten,
        effect=(
            f"Recommendations no longer read your {domain} data, and what they had learned "
            "from it is removed."
        ),
    )


def _stream_domain(code: str) -> str | None:
    from lifetwin.privacy.consent import event_domain

    if code.startswith("event:"):
        return event_domain(code.removeprefix("event:"))
    try:
        return metric(code).domain
    except LifeTwinError:
        return None


def provider_view(vault: Vault, provider: str) -> ProviderView:
    """What ``provider`` may receive: the streams granted to it by name, and the person's
    interactions with its items only if some grant names it; never the twin itself."""
    now = datetime.now().astimezone()
    named = [
        g for g in vault.consents().active(now) if g.purpose is PURPOSE and g.recipient == provider
    ]
    streams = sorted(
        {
            f"{s.metric} ({s.source})"
            for s in vault.streams()
            if any(g.scope.covers(s.metric, s.source) for g in named)
        }
    )
    interactions: list[dict[str, str]] = []
    if named:
        for pending in load_log(vault).pending:
            rec = pending.recommendation
            if rec.provider == provider:
                interactions.append(
                    {
                        "item": rec.item_id,
                        "shown": rec.lineage.computed_at.isoformat(),
                        "feedback": pending.resolved or "",
                    }
                )
    vault.log_event("share_view", PURPOSE.value, recipient=provider, streams=len(streams))
    return ProviderView(provider=provider, shared_streams=streams, interactions=interactions)
