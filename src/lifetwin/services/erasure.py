"""Erasure: one operation for the command line, the API and the dashboard.

In one transaction: the person's data key and every row of theirs (data, consent,
derived results, jobs, sealed uploads, webhooks, deliveries, live events), their
accounts with their tokens and sessions, and the tokens others held for them; the
service chain records the accounts and tokens removed. After it: the plain files an
import may have left and a demo login file naming one of their accounts. The audit
chain stays (its details were sealed under the destroyed key; its actors are
pseudonyms), so it remains verifiable and tells nothing about who they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lifetwin.services.accounts import Accounts
from lifetwin.store.vault import Person, Store

DEMO_LOGIN = "demo-login.txt"


@dataclass
class Erased:
    person: str
    accounts: list[str]
    files_removed: int


def erase_person(
    store: Store,
    person: Person,
    *,
    actor: str = "self",
    upload_dir: Path | None = None,
    home: Path | None = None,
) -> Erased:
    accounts = Accounts(store)
    with store.backend.transaction(person.id):
        names = accounts.forget_person(person.id, actor)
        jobs = store.erase(person)
    removed = 0
    if upload_dir is not None and upload_dir.exists():
        for job_id in jobs:
            for path in upload_dir.glob(f"{job_id}.*"):
                path.unlink(missing_ok=True)
                removed += 1
    login = home / DEMO_LOGIN if home is not None else None
    if login is not None and login.exists():
        first = login.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        if first and first[0].removeprefix("account: ").strip() in names:
            login.unlink()
            removed += 1
    return Erased(person.name, names, removed)
