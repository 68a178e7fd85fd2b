"""Who asks, about whom, for what: what every operation gets from its adapter."""

from __future__ import annotations

from dataclasses import dataclass, field

from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Person, Store, Vault


@dataclass
class Context:
    """An operation's caller: the store, the person, the audit actor, and the purpose (and
    recipient) reads are made for. The command line acts as ``self`` for the person's own
    access; the service passes the signed-in account's pseudonym."""

    store: Store
    person: Person
    actor: str = "self"
    purpose: Purpose = Purpose.SELF_ACCESS
    recipient: str | None = None
    _vault: Vault | None = field(default=None, repr=False)

    def vault(self) -> Vault:
        if self._vault is None:
            self._vault = self.store.vault(self.person, actor=self.actor)
        return self._vault

    def for_purpose(self, purpose: Purpose) -> Context:
        """The same caller reading for another purpose (the twin's outputs read for theirs)."""
        return Context(self.store, self.person, self.actor, purpose, self.recipient, self._vault)
