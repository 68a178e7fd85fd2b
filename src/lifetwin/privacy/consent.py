"""Purpose-bound consent: who may use which data for what, and since when.

A person's ledger is a list of grants. A grant covers a scope (all data, a
domain such as ``metabolic``, one metric, or one source) for one purpose,
optionally for one named recipient, from the time it is given until it is
revoked. Nothing is granted by default. Every read of a vault names a purpose;
the vault asks the ledger which streams that purpose may see *now* and returns
only those (see ``lifetwin.store.vault``).

The person's own access (showing, exporting, the access report) is the
``SELF_ACCESS`` purpose: a right, not a consent, so it is always allowed — and
audited like every other read.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from lifetwin.core.errors import LifeTwinError
from lifetwin.core.names import RegisteredName
from lifetwin.core.vocabulary import domain_names, metric


class Purpose(RegisteredName):
    """What data may be used for. The core's purposes are below; a pack may add its own
    (``lifetwin_purposes``)."""

    _kind = "purpose"

    TWIN_CORE: ClassVar[Purpose]  # baselines, state, the person's own twin
    FORECASTING: ClassVar[Purpose]  # health forecasts and alerts
    SIMULATION: ClassVar[Purpose]  # what-if scenarios
    RECOMMENDATIONS: ClassVar[Purpose]
    SHARING: ClassVar[Purpose]  # with a named recipient (clinician, coach, app)
    RESEARCH: ClassVar[Purpose]  # population research (aggregates only leave the vault)
    PRODUCT_IMPROVEMENT: ClassVar[Purpose]
    SELF_ACCESS: ClassVar[Purpose]  # the person's own view, export and report: always allowed


CORE_PURPOSES = (
    "twin_core",
    "forecasting",
    "simulation",
    "recommendations",
    "sharing",
    "research",
    "product_improvement",
    "self_access",
)
for _name in CORE_PURPOSES:
    setattr(Purpose, _name.upper(), Purpose.define(_name))


def _load_pack_purposes() -> None:
    from lifetwin.packs.registry import registry

    for name in registry().purposes:
        Purpose.define(name)


Purpose._loader = _load_pack_purposes


class ScopeKind(StrEnum):
    ALL = "all"
    DOMAIN = "domain"
    METRIC = "metric"
    SOURCE = "source"


def event_domain(kind: str) -> str | None:
    """The data category of an event kind, as the pack that owns it says (meals are
    nutrition, transactions finance), so a category grant covers those events too."""
    from lifetwin.packs.registry import registry

    return registry().event_domains.get(kind)


class ConsentError(LifeTwinError):
    """A grant or revocation that cannot be made as asked."""


class Scope(BaseModel):
    """What a grant covers."""

    model_config = ConfigDict(frozen=True)

    kind: ScopeKind
    value: str = ""

    @classmethod
    def parse(cls, text: str) -> Scope:
        """``all``, ``domain:metabolic``, ``metric:glucose`` or ``source:demo-cgm``.

        >>> Scope.parse("metric:glucose")
        Scope(kind=<ScopeKind.METRIC: 'metric'>, value='glucose')
        """
        if text == "all":
            return cls(kind=ScopeKind.ALL)
        kind, _, value = text.partition(":")
        if kind not in {k.value for k in ScopeKind} or not value:
            raise ConsentError(
                f"'{text}' is not a scope: use all, domain:NAME, metric:CODE or source:NAME."
            )
        scope = cls(kind=ScopeKind(kind), value=value)
        if scope.kind is ScopeKind.DOMAIN and value not in domain_names():
            names = ", ".join(sorted(domain_names()))
            raise ConsentError(f"'{value}' is not a data category (categories: {names}).")
        if scope.kind is ScopeKind.METRIC:
            scope = cls(kind=ScopeKind.METRIC, value=metric(value).code)
        return scope

    def covers(self, metric_code: str, source: str) -> bool:
        if self.kind is ScopeKind.ALL:
            return True
        if self.kind is ScopeKind.SOURCE:
            return self.value == source
        code = metric_code.removeprefix("event:")
        if self.kind is ScopeKind.METRIC:
            return self.value == code
        if metric_code.startswith("event:"):
            return event_domain(code) == self.value
        try:
            return metric(code).domain == self.value
        except LifeTwinError:
            return False

    def __str__(self) -> str:
        return "all" if self.kind is ScopeKind.ALL else f"{self.kind.value}:{self.value}"


class Grant(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: "g-" + uuid.uuid4().hex[:12])
    scope: Scope
    purpose: Purpose
    recipient: str | None = None
    text_version: str = "1"
    granted_at: datetime
    granted_by: str = "self"  # "self" or "guardian"
    revoked_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        return self.granted_at <= at and (self.revoked_at is None or at < self.revoked_at)


class ConsentLedger(BaseModel):
    """All grants a person ever gave, revoked ones included (the history is kept)."""

    grants: list[Grant] = Field(default_factory=list)

    def grant(
        self,
        scope: Scope,
        purpose: Purpose,
        *,
        recipient: str | None = None,
        text_version: str = "1",
        granted_by: str = "self",
        at: datetime | None = None,
    ) -> Grant:
        if purpose is Purpose.SELF_ACCESS:
            raise ConsentError("Self access is the person's right; it needs no grant.")
        if purpose is Purpose.SHARING and not recipient:
            raise ConsentError("Sharing needs a named recipient (--recipient).")
        if granted_by not in ("self", "guardian"):
            raise ConsentError("A grant is given by 'self' or by a 'guardian'.")
        made = Grant(
            scope=scope,
            purpose=purpose,
            recipient=recipient,
            text_version=text_version,
            granted_at=at or datetime.now(UTC),
            granted_by=granted_by,
        )
        self.grants.append(made)
        return made

    def revoke(self, grant_id: str, at: datetime | None = None) -> Grant:
        for index, existing in enumerate(self.grants):
            if existing.id == grant_id:
                if existing.revoked_at is not None:
                    raise ConsentError(f"The grant {grant_id} is already revoked.")
                revoked = existing.model_copy(update={"revoked_at": at or datetime.now(UTC)})
                self.grants[index] = revoked
                return revoked
        raise ConsentError(f"There is no grant {grant_id}; `lifetwin consent list` shows them.")

    def active(self, at: datetime) -> list[Grant]:
        return [g for g in self.grants if g.active(at)]

    def allowing(
        self,
        metric_code: str,
        source: str,
        purpose: Purpose,
        recipient: str | None,
        at: datetime,
    ) -> list[Grant]:
        """The active grants that let ``purpose`` (for ``recipient``) use this stream now."""
        return [
            g
            for g in self.grants
            if g.purpose is purpose
            and g.active(at)
            and (g.recipient is None or g.recipient == recipient)
            and (purpose is not Purpose.SHARING or g.recipient == recipient)
            and g.scope.covers(metric_code, source)
        ]


# What the demo person allows: their own twin and forecasts on everything; what-if
# simulation on what its models read (CGM and insulin, meals, weight for the glucose twin;
# workouts and VO2 max for fitness-fatigue; sleep, mood, resting heart rate and spending for
# the association models); recommendations on what the recommender's context and the
# learning steps read. Nothing for research or product improvement, nothing shared.
DEMO_GRANTS: tuple[tuple[str, Purpose], ...] = (
    ("all", Purpose.TWIN_CORE),
    ("all", Purpose.FORECASTING),
    *(
        (f"domain:{name}", Purpose.SIMULATION)
        for name in (
            "metabolic",
            "nutrition",
            "body",
            "activity",
            "vitals",
            "sleep",
            "mood",
            "finance",
        )
    ),
    *(
        (f"domain:{name}", Purpose.RECOMMENDATIONS)
        for name in ("activity", "sleep", "mood", "metabolic", "finance", "learning")
    ),
)
