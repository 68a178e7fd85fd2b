"""The audit chain as people read and check it: names for pseudonyms, verification with
and without a receipt. One place for the command line, the API and the dashboard."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from lifetwin.privacy.audit import SERVICE_CHAIN
from lifetwin.services.accounts import Accounts
from lifetwin.store.vault import Person, Store


def actor_labels(store: Store, accounts: Accounts | None = None) -> dict[str, str]:
    """Pseudonymous actors of the chains, turned back into account names for the key
    holder (accounts that were deleted stay pseudonyms)."""
    accounts = accounts or Accounts(store)
    labels: dict[str, str] = {}
    for account in accounts.all():
        name = store.actor_name(account.role.value, account.name)
        labels[name] = f"{account.role.value}:{account.name}"
        labels[name + " (token)"] = f"{account.role.value}:{account.name} (token)"
    return labels


class Verification(BaseModel):
    """What ``audit verify`` found for one chain."""

    person_id: str
    intact: bool
    problem: str | None = None
    receipt_checked: bool = False
    entries: int = 0


def verify_person(
    store: Store, person: Person, receipt: dict[str, Any] | None = None
) -> Verification:
    """Check a person's chain (hashes, signed head, consent rows) and, given a receipt
    saved earlier, that the chain still holds the entry it was made at."""
    return verify_chain_of(store, person.id, receipt)


def verify_chain_of(
    store: Store, chain: str, receipt: dict[str, Any] | None = None
) -> Verification:
    problem = store.audit.verify(chain, consent=chain != SERVICE_CHAIN)
    if problem is None and chain == SERVICE_CHAIN:
        rows = Accounts(store).verify_rows()
        problem = rows[0] if rows else None
    if problem is None and receipt is not None:
        problem = store.audit.check_receipt(chain, receipt)
    head = store.backend.audit_head(chain)
    return Verification(
        person_id=chain,
        intact=problem is None,
        problem=problem,
        receipt_checked=receipt is not None,
        entries=head[0] if head else 0,
    )
