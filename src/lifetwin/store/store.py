"""The store: many persons, each with an encrypted vault under their own data key.

A :class:`Store` holds the master key, the persons (their names behind keyed tags,
their data keys wrapped under the master key) and the audit chains;
:meth:`Store.vault` opens one person's :class:`~lifetwin.store.vault.Vault`.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from lifetwin.core.errors import PersonError, StoreError
from lifetwin.privacy.audit import AuditLog
from lifetwin.store.context import Person
from lifetwin.store.crypto import KEY_BYTES, KdfParams, MasterKey, PersonKeys, keyed_tag
from lifetwin.store.sql import SQLBackend as Backend

if TYPE_CHECKING:
    from lifetwin.store.vault import Vault


class Store:
    """A LifeTwin store: many persons, each with an encrypted vault."""

    def __init__(self, backend: Backend, master: MasterKey, actor: str = "self") -> None:
        self.backend = backend
        self._master = master
        self.actor = actor  # who is acting, as written in the audit log
        wrapped_index = backend.meta_get("index_key")
        if wrapped_index is None:
            raise StoreError("The store is not initialized; run `lifetwin init` first.")
        self._index_key = master.unwrap(wrapped_index)
        signing = backend.meta_get("audit_signing_key")
        public = backend.meta_get("audit_public_key")
        if signing is None or public is None:
            raise StoreError("The store has no audit key; it was made by an older LifeTwin.")
        self.audit = AuditLog(
            backend,
            Ed25519PrivateKey.from_private_bytes(master.unwrap(signing)),
            Ed25519PublicKey.from_public_bytes(public),
        )
        self.notes: list[str] = []  # upgrades and tightened files, for the person to read

    # -- opening -------------------------------------------------------------
    @classmethod
    def initialize(cls, backend: Backend, master: MasterKey, kdf: KdfParams | None = None) -> Store:
        """Set up an empty backend for this master key (a passphrase when ``kdf`` is given)."""
        from lifetwin.store import migrations

        if migrations.has_store(backend):
            raise StoreError(f"A LifeTwin store already exists in {backend.describe()}.")
        with backend.transaction():
            migrations.create_head(backend)
            backend.meta_set("key_check", master.check_value())
            backend.meta_set("index_key", master.wrap(os.urandom(KEY_BYTES)))
            signing = Ed25519PrivateKey.generate()
            backend.meta_set("audit_signing_key", master.wrap(signing.private_bytes_raw()))
            backend.meta_set("audit_public_key", signing.public_key().public_bytes_raw())
            if kdf is not None:
                backend.meta_set("kdf", kdf.encode())
        return cls(backend, master)

    @staticmethod
    def kdf_params(backend: Backend) -> KdfParams | None:
        """The passphrase parameters of a store, or None when it uses a key file."""
        blob = backend.meta_get("kdf")
        return None if blob is None else KdfParams.decode(blob)

    @classmethod
    def open(cls, backend: Backend, master: MasterKey, *, upgrade: bool = True) -> Store:
        """Open a store; one made by an older LifeTwin is upgraded in place first (unless
        ``upgrade`` is False: then it is refused with the command that upgrades it)."""
        from lifetwin.store import migrations

        if not migrations.has_store(backend):
            raise StoreError(
                f"There is no LifeTwin store in {backend.describe()}; run `lifetwin init` first."
            )
        check = backend.meta_get("key_check")
        if check is None:
            raise StoreError(f"The store in {backend.describe()} has no key check; it is damaged.")
        master.verify(check, passphrase=backend.meta_get("kdf") is not None)
        notes: list[str] = []
        if migrations.needs_upgrade(backend):
            if not upgrade:
                raise StoreError(
                    "The store was made by an older LifeTwin; run `lifetwin migrate` to upgrade it."
                )
            notes = migrations.upgrade(backend, master)
        opened = cls(backend, master)
        opened.notes = notes
        return opened

    def close(self) -> None:
        self.audit.close()  # entries waiting for a group commit are written first
        self.backend.close()

    # -- persons -------------------------------------------------------------
    def _name_tag(self, name: str) -> bytes:
        return keyed_tag(self._index_key, b"person-name|" + name.strip().casefold().encode())

    def add_person(self, name: str) -> Person:
        name = name.strip()
        if not name:
            raise PersonError("A person needs a name.")
        person = Person(id="p-" + uuid.uuid4().hex[:16], name=name, created=datetime.now(UTC))
        data_key = os.urandom(KEY_BYTES)
        profile = json.dumps({"name": name, "created": person.created.isoformat()}).encode()
        sealed = PersonKeys(data_key).seal(profile, b"person|" + person.id.encode())
        with self.backend.transaction(person.id):
            added = self.backend.person_insert(
                person.id, self._name_tag(name), self._master.wrap(data_key), sealed
            )
            if added:
                self.audit.append(person.id, "create", actor=self.actor)
        if not added:
            raise PersonError(f"A person named '{name}' already exists in this store.")
        return person

    def _opened(self, row: tuple[str, bytes, bytes, bytes]) -> tuple[Person, PersonKeys]:
        person_id, _tag, wrapped, sealed = row
        keys = PersonKeys(self._master.unwrap(wrapped))
        profile = json.loads(keys.open(sealed, b"person|" + person_id.encode()))
        person = Person(person_id, profile["name"], datetime.fromisoformat(profile["created"]))
        return person, keys

    def person_with_keys(self, person_id: str) -> tuple[Person, PersonKeys] | None:
        """A person by id with their data key, from one row (None when there is none)."""
        row = self.backend.person_by_id(person_id)
        return None if row is None else self._opened(row)

    def persons(self) -> list[Person]:
        people = [self._opened(row)[0] for row in self.backend.person_rows()]
        return sorted(people, key=lambda p: (p.name.casefold(), p.id))

    def person(self, name_or_id: str) -> Person:
        """Find a person by name (any case) or by id."""
        row = self.backend.person_by_tag(self._name_tag(name_or_id))
        if row is None:
            row = self.backend.person_by_id(name_or_id)
        if row is not None:
            return self._opened(row)[0]
        raise PersonError(
            f"There is no person '{name_or_id}' in this store; `lifetwin person list` shows who is."
        )

    def pseudonym(self, person: Person, recipient: str) -> str:
        """The id a recipient knows this person by (different for every recipient)."""
        from lifetwin.privacy.pseudonym import pseudonym

        key = keyed_tag(self._index_key, b"pseudonym-key") * 2
        return pseudonym(key, person.id, recipient)

    def actor_name(self, role: str, account: str) -> str:
        """How an account is named in audit chains: its role and a keyed pseudonym, never
        the account's name (``lifetwin audit show`` turns it back for the key holder)."""
        tag = keyed_tag(self._index_key, b"actor|" + account.strip().lower().encode())
        return f"{role}:acct-{tag.hex()[:12]}"

    def master_wrap(self, key: bytes) -> bytes:
        """Wrap a service key (e.g. the accounts key) under the master key."""
        return self._master.wrap(key)

    def master_unwrap(self, wrapped: bytes) -> bytes:
        return self._master.unwrap(wrapped)

    def vault(self, person: Person, actor: str | None = None) -> Vault:
        """The person's vault; ``actor`` names who acts in its audit entries."""
        from lifetwin.store.vault import Vault  # the vault imports this module

        row = self.backend.person_by_id(person.id)
        if row is not None:
            keys = PersonKeys(self._master.unwrap(row[2]))
            return Vault(self.backend, person, keys, self.audit, actor or self.actor)
        raise PersonError(f"The person '{person.name}' is no longer in this store.")

    def erase(self, person: Person) -> list[str]:
        """Destroy the person's data key and every row of theirs (crypto-shredding) in one
        transaction; return the ids of the jobs removed with them.

        The audit chain stays (its details were sealed under the destroyed key). The
        write-ahead log is truncated after it, so no old page lingers in a file; full
        compaction is left to ``lifetwin maintain``."""
        with self.backend.transaction(person.id):
            jobs = self.backend.person_delete(person.id)
            self.audit.append(person.id, "erase", actor=self.actor)
            self.audit.checkpoint(person.id)
            self.backend.generation_bump("persons")
            self.backend.after_commit(self.backend.wipe_free_space)
        return jobs

    def rotate_master_key(self, new: MasterKey, kdf: KdfParams | None = None) -> None:
        """Re-wrap every data key under a new master key; no data is re-encrypted.

        ``kdf`` gives the passphrase parameters when the new key comes from a passphrase.
        """
        with self.backend.transaction():
            for person_id, _tag, wrapped, _sealed in self.backend.person_rows():
                self.backend.person_rewrap(person_id, new.wrap(self._master.unwrap(wrapped)))
            for name in ("index_key", "audit_signing_key", "accounts_key"):
                wrapped_key = self.backend.meta_get(name)
                if wrapped_key is not None:
                    self.backend.meta_set(name, new.wrap(self._master.unwrap(wrapped_key)))
            self.backend.meta_set("key_check", new.check_value())
            if kdf is not None:
                self.backend.meta_set("kdf", kdf.encode())
            else:  # the new key comes from a key file, not a passphrase
                self.backend.meta_delete("kdf")
        self._master = new

    def compact(self) -> None:
        self.backend.compact()
