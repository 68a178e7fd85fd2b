"""Accounts and API tokens of the service.

An account has a role:

- ``person``: the owner of one person's vault (reads everything of theirs, for the
  ``self_access`` purpose, and controls consent, export and erasure);
- ``caregiver``: someone persons share with (a clinician, a coach, family); reads only
  what a person granted to this account's name for the ``sharing`` purpose;
- ``admin``: operates the service (accounts, health) and reads no personal data.

Passwords are stored as Argon2id hashes, and TOTP second factors with the last
accepted time step (each code works once). Accounts live sealed (AES-256-GCM under a
key wrapped by the master key) in the store's ``meta`` table, so a copied database
shows neither TOTP secrets nor which person an account belongs to.

API tokens are scoped to one person, a set of purposes and an expiry. A token is
``lt_<id>_<secret>``; the store keeps only SHA-256 and SHA-1 digests of it (SHA-1
because Nightscout uploaders send ``api-secret: sha1(secret)``), never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lifetwin.core.errors import LifeTwinError
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.mfa import TotpGuard
from lifetwin.store.vault import Store

_HASHER = PasswordHasher()
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10


class AccountError(LifeTwinError):
    """An account that does not exist, a name taken, or a bad password or code."""


class Role(StrEnum):
    PERSON = "person"
    CAREGIVER = "caregiver"
    ADMIN = "admin"


@dataclass
class Account:
    name: str
    role: Role
    password_hash: str
    totp_secret: str
    totp_last_step: int = -1
    person_id: str | None = None  # the person this account owns (role person)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def guard(self) -> TotpGuard:
        return TotpGuard(self.totp_secret, self.totp_last_step)


@dataclass
class Token:
    id: str
    account: str
    person_id: str
    purposes: list[str]
    expires: str  # ISO time
    sha256: str
    sha1: str
    label: str = ""

    @property
    def expires_at(self) -> datetime:
        return datetime.fromisoformat(self.expires)


@dataclass
class NewToken:
    token: Token
    secret: str  # shown once


class Accounts:
    """The service's accounts and tokens, kept sealed in the store's meta table."""

    def __init__(self, store: Store) -> None:
        self.store = store
        backend = store.backend
        wrapped = backend.meta_get("accounts_key")
        if wrapped is None:
            wrapped = store.master_wrap(os.urandom(32))
            backend.meta_set("accounts_key", wrapped)
        self._aead = AESGCM(store.master_unwrap(wrapped))

    # -- sealed rows -----------------------------------------------------------
    def _put(self, key: str, value: dict[str, Any]) -> None:
        nonce = os.urandom(12)
        blob = nonce + self._aead.encrypt(nonce, json.dumps(value).encode(), key.encode())
        self.store.backend.meta_set(key, blob)

    def _get(self, key: str) -> dict[str, Any] | None:
        blob = self.store.backend.meta_get(key)
        if blob is None:
            return None
        raw: dict[str, Any] = json.loads(self._aead.decrypt(blob[:12], blob[12:], key.encode()))
        return raw

    def _index(self, kind: str) -> list[str]:
        raw = self._get(f"{kind}-index")
        return list(raw["names"]) if raw else []

    def _set_index(self, kind: str, names: list[str]) -> None:
        self._put(f"{kind}-index", {"names": sorted(set(names))})

    # -- accounts --------------------------------------------------------------
    def create(
        self,
        name: str,
        password: str,
        role: Role,
        person_id: str | None = None,
        totp_secret: str | None = None,
    ) -> Account:
        name = name.strip().lower()
        if not _NAME.match(name):
            raise AccountError(
                f"'{name}' is not an account name: use 2-64 lower-case letters, digits, "
                "dots, dashes or underscores."
            )
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"A password needs at least {MIN_PASSWORD} characters.")
        if role is Role.PERSON and not person_id:
            raise AccountError("A person account needs the person it belongs to.")
        if role is not Role.PERSON and person_id:
            raise AccountError(f"A {role.value} account does not own a person.")
        with self.store.backend.transaction():
            if self._get(f"account/{name}") is not None:
                raise AccountError(f"An account named '{name}' already exists.")
            account = Account(
                name=name,
                role=role,
                password_hash=_HASHER.hash(password),
                totp_secret=totp_secret or TotpGuard.new_secret(),
                person_id=person_id,
            )
            self._save(account)
            self._set_index("account", [*self._index("account"), name])
        return account

    def _save(self, account: Account) -> None:
        self._put(f"account/{account.name}", asdict(account))

    def get(self, name: str) -> Account:
        raw = self._get(f"account/{name.strip().lower()}")
        if raw is None:
            raise AccountError(f"There is no account '{name}'.")
        raw["role"] = Role(raw["role"])
        return Account(**raw)

    def all(self) -> list[Account]:
        return [self.get(name) for name in self._index("account")]

    def delete(self, name: str) -> None:
        account = self.get(name)
        with self.store.backend.transaction():
            for token in self.tokens(account.name):
                self.revoke_token(token.id)
            self.store.backend.meta_delete(f"account/{account.name}")
            self._set_index("account", [n for n in self._index("account") if n != account.name])

    def delete_for_person(self, person_id: str) -> None:
        """Remove the accounts owning a person, and every token for that person."""
        for account in self.all():
            if account.person_id == person_id:
                self.delete(account.name)
        for token_id in self._index("token"):
            token = self.token(token_id)
            if token is not None and token.person_id == person_id:
                self.revoke_token(token_id)

    def set_password(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"A password needs at least {MIN_PASSWORD} characters.")
        account = self.get(name)
        account.password_hash = _HASHER.hash(password)
        self._save(account)

    def authenticate(self, name: str, password: str, code: str, at: float | None = None) -> Account:
        """Check password and TOTP code (each code is accepted once); the account or raise."""
        try:
            account = self.get(name)
        except AccountError:
            _HASHER.hash(password)  # the same work whether or not the name exists
            raise AccountError("The name or password is wrong.") from None
        try:
            _HASHER.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise AccountError("The name or password is wrong.") from None
        with self.store.backend.transaction():
            account = self.get(name)  # re-read inside the transaction: replay-safe
            guard = account.guard()
            guard.verify(code, at)
            account.totp_last_step = guard.last_step
            self._save(account)
        return account

    # -- tokens ------------------------------------------------------------------
    def issue_token(
        self,
        account: Account,
        person_id: str,
        purposes: list[Purpose],
        days: float = 90,
        label: str = "",
    ) -> NewToken:
        if not purposes:
            raise AccountError("A token needs at least one purpose.")
        if account.role is Role.ADMIN:
            raise AccountError("An administrator cannot hold tokens for a person's data.")
        if account.role is Role.PERSON and account.person_id != person_id:
            raise AccountError("A person account can only make tokens for its own person.")
        if account.role is Role.CAREGIVER and set(purposes) != {Purpose.SHARING}:
            raise AccountError("A caregiver token can only carry the sharing purpose.")
        if days <= 0 or days > 3650:
            raise AccountError(
                "A token lasts between a moment and ten years; give 0 < days ≤ 3650."
            )
        token_id = secrets.token_hex(6)
        secret = f"lt_{token_id}_{secrets.token_urlsafe(24)}"
        token = Token(
            id=token_id,
            account=account.name,
            person_id=person_id,
            purposes=[p.value for p in purposes],
            expires=(datetime.now(UTC) + timedelta(days=days)).isoformat(),
            sha256=hashlib.sha256(secret.encode()).hexdigest(),
            sha1=hashlib.sha1(secret.encode()).hexdigest(),
            label=label,
        )
        with self.store.backend.transaction():
            self._put(f"token/{token_id}", asdict(token))
            self._put(f"token-sha1/{token.sha1}", {"id": token_id})
            self._set_index("token", [*self._index("token"), token_id])
        return NewToken(token, secret)

    def token(self, token_id: str) -> Token | None:
        raw = self._get(f"token/{token_id}")
        return None if raw is None else Token(**raw)

    def tokens(self, account: str | None = None) -> list[Token]:
        found = [self.token(t) for t in self._index("token")]
        return [t for t in found if t is not None and (account is None or t.account == account)]

    def revoke_token(self, token_id: str) -> None:
        token = self.token(token_id)
        if token is None:
            raise AccountError(f"There is no token '{token_id}'.")
        with self.store.backend.transaction():
            self.store.backend.meta_delete(f"token/{token_id}")
            self.store.backend.meta_delete(f"token-sha1/{token.sha1}")
            self._set_index("token", [t for t in self._index("token") if t != token_id])

    def check_token(self, secret: str, now: datetime | None = None) -> Token:
        """The token a bearer secret stands for; raise when unknown, tampered or expired."""
        match = re.fullmatch(r"lt_([0-9a-f]{12})_[A-Za-z0-9_-]{32}", secret.strip())
        token = self.token(match.group(1)) if match else None
        digest = hashlib.sha256(secret.strip().encode()).hexdigest()
        if token is None or not hmac.compare_digest(token.sha256, digest):
            raise AccountError("The token is not valid (unknown, revoked or altered).")
        return self.unexpired(token, now)

    def check_api_secret(self, sha1_hex: str, now: datetime | None = None) -> Token:
        """The token whose SHA-1 a Nightscout uploader sends as ``api-secret``."""
        sha1_hex = sha1_hex.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{40}", sha1_hex):
            raise AccountError("The api-secret header must be the SHA-1 of a LifeTwin token.")
        ref = self._get(f"token-sha1/{sha1_hex}")
        token = self.token(ref["id"]) if ref else None
        if token is None or not hmac.compare_digest(token.sha1, sha1_hex):
            raise AccountError("The api-secret does not match any token.")
        return self.unexpired(token, now)

    @staticmethod
    def unexpired(token: Token, now: datetime | None = None) -> Token:
        """The token, or raise when it has expired."""
        if (now or datetime.now(UTC)) >= token.expires_at:
            raise AccountError(f"The token expired at {token.expires}; ask for a new one.")
        return token
