"""What is kept about a person besides their observations: derived results with their
lineage, small sealed state (the profile among it) and where alerts are delivered.

None of it is read through the consent gate: a derived result carries the lineage of
the reads that made it (and is deleted when a grant it used is revoked), and the rest
is the person's own settings.
"""

from __future__ import annotations

import json
from typing import Any

from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Derived
from lifetwin.store.context import PersonContext


class State:
    """Small sealed values of one person under a name; the profile; webhooks."""

    def __init__(self, ctx: PersonContext) -> None:
        self._ctx = ctx

    def tag(self, name: str) -> bytes:
        return self._ctx.keys.tag(b"state|" + name.encode())

    def put(self, name: str, plain: bytes) -> None:
        ctx = self._ctx
        tag = self.tag(name)
        ctx.backend.state_put(ctx.person.id, tag, ctx.keys.seal(plain, ctx.aad(b"state", tag)))

    def get(self, name: str) -> bytes | None:
        ctx = self._ctx
        tag = self.tag(name)
        sealed = ctx.backend.state_get(ctx.person.id, tag)
        return None if sealed is None else ctx.keys.open(sealed, ctx.aad(b"state", tag))

    # -- profile: facts about the person that are not measurements -------------
    def profile(self) -> dict[str, Any]:
        raw = self.get("profile")
        return {} if raw is None else dict(json.loads(raw))

    def set_profile(self, facts: dict[str, Any]) -> None:
        from lifetwin.core.profile import parse_facts

        checked = parse_facts(facts)
        with self._ctx.transaction():
            merged = {**self.profile(), **checked}
            self.put("profile", json.dumps(merged, default=str).encode())
            self._ctx.log_event("write", what="profile", fields=sorted(facts))

    # -- webhooks: where the person's alerts are delivered --------------------------------
    def webhooks(self) -> list[dict[str, Any]]:
        ctx = self._ctx
        return [
            json.loads(ctx.keys.open(sealed, ctx.aad(b"webhook", hook_id.encode())))
            for hook_id, sealed in ctx.backend.webhook_rows(ctx.person.id)
        ]

    def add_webhook(self, hook: dict[str, Any]) -> None:
        ctx = self._ctx
        hook_id = str(hook["id"])
        sealed = ctx.keys.seal(json.dumps(hook).encode(), ctx.aad(b"webhook", hook_id.encode()))
        with ctx.transaction():
            ctx.backend.webhook_put(ctx.person.id, hook_id, sealed)
            ctx.log_event("webhook", Purpose.SELF_ACCESS.value, hook=hook_id, url=hook["url"])

    def remove_webhook(self, hook_id: str) -> bool:
        ctx = self._ctx
        with ctx.transaction():
            removed = ctx.backend.webhook_delete(ctx.person.id, hook_id)
            if removed:
                ctx.log_event("webhook", Purpose.SELF_ACCESS.value, hook=hook_id, removed=True)
        return removed


class DerivedResults:
    """Derived outputs of one person (daily summaries, model state, ...), one sealed row
    each, with the lineage of the reads that made them."""

    def __init__(self, ctx: PersonContext) -> None:
        self._ctx = ctx

    def _tag(self, name: str) -> bytes:
        return self._ctx.keys.tag(b"derived|" + name.encode())

    def save(self, derived: Derived) -> None:
        ctx = self._ctx
        tag = self._tag(derived.name)
        sealed = ctx.keys.seal(derived.model_dump_json().encode(), ctx.aad(b"derived", tag))
        with ctx.transaction():
            ctx.backend.derived_put(ctx.person.id, tag, sealed)
            ctx.log_event(
                "derive",
                derived.lineage.purpose,
                name=derived.name,
                kind=derived.kind,
                grants=derived.lineage.grants,
            )

    def get(self, name: str) -> Derived | None:
        ctx = self._ctx
        tag = self._tag(name)
        sealed = ctx.backend.derived_get(ctx.person.id, tag)
        if sealed is None:
            return None
        return Derived.model_validate_json(ctx.keys.open(sealed, ctx.aad(b"derived", tag)))

    def all(self) -> list[Derived]:
        ctx = self._ctx
        found = [
            Derived.model_validate_json(ctx.keys.open(sealed, ctx.aad(b"derived", tag)))
            for tag, sealed in ctx.backend.derived_rows(ctx.person.id)
        ]
        return sorted(found, key=lambda d: d.name)

    def delete(self, name: str) -> None:
        self._ctx.backend.derived_delete(self._ctx.person.id, self._tag(name))
