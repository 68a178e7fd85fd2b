"""The data step of revision 0002: sealed blobs become rows (run with the store's keys)."""

from __future__ import annotations

import json

from lifetwin.privacy.audit import SERVICE_CHAIN
from lifetwin.privacy.consent import ConsentLedger
from lifetwin.privacy.lineage import Derived
from lifetwin.store.crypto import MasterKey
from lifetwin.store.sql import SQLBackend


def rows_from_blobs(backend: SQLBackend, master: MasterKey) -> None:
    from lifetwin.services.accounts import Accounts
    from lifetwin.store.vault import Store

    store = Store(backend, master, actor="upgrade")
    for row in backend.person_rows():
        person, _keys = store._opened(row)
        vault = store.vault(person)
        raw = vault.get_state("consent")
        if raw is not None:
            vault.import_grants(ConsentLedger.model_validate_json(raw).grants)
            backend.state_delete(person.id, vault._state.tag("consent"))
        index = vault.get_state("derived-index")
        for name in json.loads(index) if index else []:
            plain = vault.get_state("derived|" + name)
            if plain is not None:
                vault.save_derived(Derived.model_validate_json(plain))
                backend.state_delete(person.id, vault._state.tag("derived|" + name))
        backend.state_delete(person.id, vault._state.tag("derived-index"))
        hooks = vault.get_state("webhooks")
        for hook in json.loads(hooks) if hooks else []:
            vault.add_webhook(hook)
        backend.state_delete(person.id, vault._state.tag("webhooks"))
        vault.log_event("upgrade", what="store format 2")
    Accounts(store).upgrade_from_meta()
    # Chains of persons erased earlier: an entry without details, so their heads are signed.
    alive = {row[0] for row in backend.person_rows()} | {SERVICE_CHAIN}
    for person_id in backend.audit_persons():
        if person_id not in alive:
            store.audit.append(person_id, "upgrade", actor="upgrade")
