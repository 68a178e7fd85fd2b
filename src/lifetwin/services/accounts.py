"""Accounts, API tokens and sessions of the service, kept as sealed rows.

An account has a role:

- ``person``: the owner of one person's vault (reads everything of theirs, for the
  ``self_access`` purpose, and controls consent, export and erasure);
- ``caregiver``: someone persons share with (a clinician, a coach, family); reads only
  what a person granted to this account's name for the ``sharing`` purpose;
- ``operator``: runs population studies (``lifetwin.operations.population``): sees the
  studies, their DP releases, budgets, synthetic cohorts and fairness reports — never a
  person, a vault or a value of one person; its tokens name no person and carry only
  the ``research`` scope;
- ``admin``: operates the service (accounts, health) and reads no personal data.

Passwords are Argon2id hashes, TOTP second factors keep the last accepted time step
(each code works once). Every row is sealed (AES-256-GCM) under the service key, which
the master key wraps, and keyed by a keyed tag (HMAC) — so a copied database shows no
account name, no TOTP secret and nothing that works as a credential:

- an API token ``lt_<id>_<secret>`` is kept as its SHA-256 inside the sealed row, and,
  for Nightscout uploaders (which send ``api-secret: sha1(token)``), as an HMAC of its
  SHA-1 under the service key: what uploaders send is looked up, what is stored cannot
  be sent;
- a session is kept under an HMAC of its id, with its CSRF token sealed.

Each row carries a version bound into its sealing, and every change is recorded in the
store's ``service`` audit chain (tag, version, digest of the sealed row), so a row
replaced by an older copy, brought back after deletion or inserted without the key is
reported by :meth:`Accounts.verify_rows` (``lifetwin audit verify``).

Token scopes: the purposes a token may read for, and ``write`` — adding data
(ingest, uploads, Nightscout uploads) is its own scope, never implied by a purpose.
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
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lifetwin.core.errors import LifeTwinError, StoreError
from lifetwin.privacy.audit import SERVICE_CHAIN, service_row_digest
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.mfa import MfaError, TotpGuard
from lifetwin.store.crypto import PersonKeys, Sealer
from lifetwin.store.vault import Store

_HASHER = PasswordHasher()
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
WRITE = "write"  # the scope that lets a token add data
SCOPES = (*(p.value for p in Purpose), WRITE)
WRONG_SIGN_IN = "The name, password or code is wrong."
SESSION_HOURS = 12


class AccountError(LifeTwinError):
    """An account that does not exist, a name taken, or a bad password or code."""


class Role(StrEnum):
    PERSON = "person"
    CAREGIVER = "caregiver"
    OPERATOR = "operator"
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
    purposes: list[str]  # its scopes: purposes, and "write"
    expires: str  # ISO time
    sha256: str
    label: str = ""

    @property
    def expires_at(self) -> datetime:
        return datetime.fromisoformat(self.expires)

    @property
    def can_write(self) -> bool:
        return WRITE in self.purposes


@dataclass
class NewToken:
    token: Token
    secret: str  # shown once


@dataclass
class Session:
    id: str  # the cookie value (only its HMAC is stored)
    account: str
    csrf: str
    expires: float


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def parse_scopes(names: list[str]) -> list[str]:
    """Validate token scopes (purposes, or ``write``); one sentence when one is unknown."""
    out: list[str] = []
    for name in names:
        value = str(name).strip().lower()
        if value not in SCOPES:
            raise AccountError(f"'{name}' is not a token scope; scopes: {', '.join(SCOPES)}.")
        if value not in out:
            out.append(value)
    return out


class Accounts:
    """The service's accounts, tokens and sessions, as sealed rows of the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        backend = store.backend
        wrapped = backend.meta_get("accounts_key")
        if wrapped is None:
            # Many workers may start at once: the first key written wins, all use it.
            wrapped = backend.meta_set_if_absent("accounts_key", store.master_wrap(os.urandom(32)))
        root = store.master_unwrap(wrapped)
        self._root = root
        self._legacy = AESGCM(root)  # how the first release sealed accounts in meta
        self._sealer = Sealer(_derive(root, b"lifetwin/v2/accounts-seal"))
        self._mac_key = _derive(root, b"lifetwin/v2/accounts-mac")

    def service_keys(self, name: str) -> PersonKeys:
        """Keys for what the service keeps that belongs to no person (studies, a study's
        jobs), derived from the service key (so a master-key rotation carries them)."""
        return PersonKeys(_derive(self._root, b"lifetwin/v2/service/" + name.encode()))

    # -- keyed tags ------------------------------------------------------------------------
    def mac(self, kind: bytes, value: str | bytes) -> bytes:
        data = value.encode() if isinstance(value, str) else value
        return hmac.new(self._mac_key, kind + b"|" + data, hashlib.sha256).digest()[:16]

    def _account_tag(self, name: str) -> bytes:
        return self.mac(b"account", name.strip().lower())

    # -- the service chain -------------------------------------------------------------------
    def _record(self, kind: str, key: str, version: int, sealed: bytes | None, actor: str) -> None:
        """Record a change to an account or token row in the service chain."""
        self.store.audit.append(
            SERVICE_CHAIN,
            f"{kind}-{'put' if sealed is not None else 'delete'}",
            actor=actor,
            details={
                "kind": kind,
                "key": key,
                "version": version,
                "digest": None if sealed is None else service_row_digest(sealed),
            },
            keys=self._sealer,
        )

    # -- accounts ----------------------------------------------------------------------------
    def _seal_account(self, tag: bytes, version: int, account: Account) -> bytes:
        aad = b"account|" + tag + b"|" + str(version).encode()
        return self._sealer.seal(json.dumps(asdict(account)).encode(), aad)

    def _open_account(self, tag: bytes, version: int, sealed: bytes) -> Account:
        aad = b"account|" + tag + b"|" + str(version).encode()
        try:
            raw: dict[str, Any] = json.loads(self._sealer.open(sealed, aad))
        except Exception:
            raise StoreError(
                "An account row failed its integrity check: the store was altered."
            ) from None
        raw["role"] = Role(raw["role"])
        return Account(**raw)

    def create(
        self,
        name: str,
        password: str,
        role: Role,
        person_id: str | None = None,
        totp_secret: str | None = None,
        actor: str = "self",
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
        account = Account(
            name=name,
            role=role,
            password_hash=_HASHER.hash(password),
            totp_secret=totp_secret or TotpGuard.new_secret(),
            person_id=person_id,
        )
        self._insert(account, actor)
        return account

    def _insert(self, account: Account, actor: str) -> None:
        tag = self._account_tag(account.name)
        sealed = self._seal_account(tag, 1, account)
        with self.store.backend.transaction(SERVICE_CHAIN):
            if not self.store.backend.account_insert(tag, account.person_id, 1, sealed):
                raise AccountError(f"An account named '{account.name}' already exists.")
            self._record("account", tag.hex(), 1, sealed, actor)

    def _save(self, account: Account, actor: str = "self") -> None:
        """Write a changed account (call inside ``transaction(SERVICE_CHAIN)``)."""
        tag = self._account_tag(account.name)
        found = self.store.backend.account_get(tag)
        if found is None:
            raise AccountError(f"There is no account '{account.name}'.")
        version = found[1] + 1
        sealed = self._seal_account(tag, version, account)
        self.store.backend.account_update(tag, version, sealed)
        self._record("account", tag.hex(), version, sealed, actor)

    def get(self, name: str) -> Account:
        tag = self._account_tag(name)
        found = self.store.backend.account_get(tag)
        if found is None:
            raise AccountError(f"There is no account '{name}'.")
        return self._open_account(tag, found[1], found[2])

    def all(self) -> list[Account]:
        accounts = [
            self._open_account(tag, version, sealed)
            for tag, _person, version, sealed in self.store.backend.account_rows()
        ]
        return sorted(accounts, key=lambda a: a.name)

    def delete(self, name: str, actor: str = "self") -> None:
        """Delete an account with its tokens and sessions."""
        account = self.get(name)
        tag = self._account_tag(account.name)
        with self.store.backend.transaction(SERVICE_CHAIN):
            for token in self.tokens(account.name):
                self._record("token", token.id, 0, None, actor)
            self.store.backend.account_delete(tag)
            self._record("account", tag.hex(), 0, None, actor)
            self.store.backend.generation_bump("tokens")

    def forget_person(self, person_id: str, actor: str = "self") -> list[str]:
        """Record the removal of the accounts and tokens of a person who is being erased
        (the rows themselves go with the person's, in the same transaction); return the
        names of the accounts."""
        names: list[str] = []
        with self.store.backend.transaction(SERVICE_CHAIN):
            for token in self.tokens():
                if token.person_id == person_id:
                    self._record("token", token.id, 0, None, actor)
            for account in self.all():
                if account.person_id == person_id:
                    names.append(account.name)
                    for token in self.tokens(account.name):
                        if token.person_id != person_id:
                            self._record("token", token.id, 0, None, actor)
                    self._record("account", self._account_tag(account.name).hex(), 0, None, actor)
            self.store.backend.generation_bump("tokens")
        return names

    def set_password(self, name: str, password: str, actor: str = "self") -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"A password needs at least {MIN_PASSWORD} characters.")
        with self.store.backend.transaction(SERVICE_CHAIN):
            account = self.get(name)
            account.password_hash = _HASHER.hash(password)
            self._save(account, actor)

    def check_password(self, name: str, password: str) -> Account | None:
        """The account when the password is right, else None — the same work either way
        (slow on purpose: call it off the event loop, holding no lock)."""
        try:
            account = self.get(name)
        except AccountError:
            _HASHER.hash(password)  # the same work whether or not the name exists
            return None
        try:
            _HASHER.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return account

    def accept_code(self, name: str, code: str, at: float | None = None) -> Account:
        """Accept a TOTP code once (replay-safe: checked and spent in one transaction)."""
        with self.store.backend.transaction(SERVICE_CHAIN):
            account = self.get(name)
            guard = account.guard()
            try:
                guard.verify(code, at)
            except MfaError:
                raise AccountError(WRONG_SIGN_IN) from None
            account.totp_last_step = guard.last_step
            self._save(account, self.store.actor_name(account.role.value, account.name))
        return account

    def authenticate(self, name: str, password: str, code: str, at: float | None = None) -> Account:
        """Check password and TOTP code (each code is accepted once); the account or raise
        one answer for any wrong part, so the answer tells nothing about which."""
        if self.check_password(name, password) is None:
            raise AccountError(WRONG_SIGN_IN)
        return self.accept_code(name, code, at)

    # -- tokens ------------------------------------------------------------------------------
    def _token_aad(self, token_id: str, version: int) -> bytes:
        return b"token|" + token_id.encode() + b"|" + str(version).encode()

    def issue_token(
        self,
        account: Account,
        person_id: str,
        purposes: list[Purpose] | list[str],
        days: float = 90,
        label: str = "",
        actor: str = "self",
    ) -> NewToken:
        scopes = parse_scopes([getattr(p, "value", p) for p in purposes])
        if not scopes:
            raise AccountError("A token needs at least one scope.")
        if account.role is Role.ADMIN:
            raise AccountError("An administrator cannot hold tokens for a person's data.")
        if account.role is Role.OPERATOR:
            if person_id:
                raise AccountError("A study operator's token names no person.")
            if scopes != [Purpose.RESEARCH.value]:
                raise AccountError("A study operator's token can only carry the research scope.")
        elif not person_id:
            raise AccountError("A token needs the person it is for.")
        if account.role is Role.PERSON and account.person_id != person_id:
            raise AccountError("A person account can only make tokens for its own person.")
        if account.role is Role.CAREGIVER and set(scopes) != {Purpose.SHARING.value}:
            raise AccountError("A caregiver token can only carry the sharing purpose.")
        if days <= 0 or days > 3650:
            raise AccountError(
                "A token lasts between a moment and ten years; give 0 < days ≤ 3650."
            )
        token_id = secrets.token_hex(6)
        secret = f"lt_{token_id}_{secrets.token_urlsafe(24)}"
        expires = datetime.now(UTC) + timedelta(days=days)
        token = Token(
            id=token_id,
            account=account.name,
            person_id=person_id,
            purposes=scopes,
            expires=expires.isoformat(),
            sha256=hashlib.sha256(secret.encode()).hexdigest(),
            label=label,
        )
        sealed = self._sealer.seal(json.dumps(asdict(token)).encode(), self._token_aad(token_id, 1))
        nightscout = self.mac(b"nightscout", hashlib.sha1(secret.encode()).hexdigest())
        with self.store.backend.transaction(SERVICE_CHAIN):
            self.store.backend.token_insert(
                token_id,
                self._account_tag(account.name),
                person_id,
                nightscout,
                int(expires.timestamp() * 1000),
                sealed,
            )
            self._record("token", token_id, 1, sealed, actor)
        return NewToken(token, secret)

    def token(self, token_id: str) -> Token | None:
        found = self.store.backend.token_get(token_id)
        if found is None:
            return None
        _account, _person, _expires, version, sealed = found
        try:
            raw = json.loads(self._sealer.open(sealed, self._token_aad(token_id, version)))
        except Exception:
            raise StoreError(
                "A token row failed its integrity check: the store was altered."
            ) from None
        return Token(**raw)

    def tokens(self, account: str | None = None) -> list[Token]:
        found = [self.token(row[0]) for row in self.store.backend.token_rows()]
        return [t for t in found if t is not None and (account is None or t.account == account)]

    def revoke_token(self, token_id: str, actor: str = "self") -> None:
        with self.store.backend.transaction(SERVICE_CHAIN):
            if not self.store.backend.token_delete(token_id):
                raise AccountError(f"There is no token '{token_id}'.")
            self._record("token", token_id, 0, None, actor)
            self.store.backend.generation_bump("tokens")

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
        token_id = self.store.backend.token_by_nightscout(self.mac(b"nightscout", sha1_hex))
        token = self.token(token_id) if token_id else None
        if token is None:
            raise AccountError("The api-secret does not match any token.")
        return self.unexpired(token, now)

    @staticmethod
    def unexpired(token: Token, now: datetime | None = None) -> Token:
        """The token, or raise when it has expired."""
        if (now or datetime.now(UTC)) >= token.expires_at:
            raise AccountError(f"The token expired at {token.expires}; ask for a new one.")
        return token

    # -- sessions ----------------------------------------------------------------------------
    def new_session(self, account: Account, hours: float = SESSION_HOURS) -> Session:
        sid = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        expires = datetime.now(UTC).timestamp() + hours * 3600
        key = self.mac(b"session", sid)
        sealed = self._sealer.seal(
            json.dumps({"account": account.name, "csrf": csrf, "expires": expires}).encode(),
            b"session|" + key,
        )
        self.store.backend.session_put(
            key, self._account_tag(account.name), account.person_id, int(expires * 1000), sealed
        )
        return Session(sid, account.name, csrf, expires)

    def session(self, sid: str) -> Session | None:
        key = self.mac(b"session", sid)
        found = self.store.backend.session_get(key)
        if found is None:
            return None
        _account_tag, expires_ms, sealed = found
        try:
            raw = json.loads(self._sealer.open(sealed, b"session|" + key))
        except Exception:
            return None
        now = datetime.now(UTC).timestamp()
        # The expiry inside the sealed row counts: an old row copied back stays dead.
        if raw["expires"] < now or expires_ms < now * 1000:
            self.store.backend.session_delete(key)
            return None
        return Session(sid, str(raw["account"]), str(raw["csrf"]), float(raw["expires"]))

    def end_session(self, sid: str) -> None:
        self.store.backend.session_delete(self.mac(b"session", sid))

    # -- checks ----------------------------------------------------------------------------
    def verify_rows(self) -> list[str]:
        """Compare the account and token rows with the service chain: one sentence per row
        that was replaced, brought back, inserted or removed without the key."""
        expected: dict[tuple[str, str], tuple[int, str | None]] = {}
        for entry in self.store.audit.entries(SERVICE_CHAIN, self._sealer):
            details = entry.details or {}
            if "kind" in details:
                expected[(details["kind"], details["key"])] = (
                    int(details["version"]),
                    details["digest"],
                )
        actual: dict[tuple[str, str], tuple[int, str]] = {}
        for tag, _person, version, sealed in self.store.backend.account_rows():
            actual[("account", tag.hex())] = (version, service_row_digest(sealed))
        for token_id, _tag, _person, _exp, version, sealed in self.store.backend.token_rows():
            actual[("token", token_id)] = (version, service_row_digest(sealed))
        problems: list[str] = []
        for (kind, key), (version, digest) in sorted(actual.items()):
            want = expected.get((kind, key))
            if want is None or want[1] is None:
                what = "was never recorded" if want is None else "was deleted"
                problems.append(
                    f"a {kind} row {what} but is in the store: it was put there without the key"
                )
            elif want != (version, digest):
                problems.append(
                    f"a {kind} row is not the version the service chain recorded: it was "
                    "replaced (by an older copy?) without the key"
                )
        for (kind, key), (_version, recorded) in sorted(expected.items()):
            if recorded is not None and (kind, key) not in actual:
                problems.append(
                    f"a {kind} row recorded in the service chain is missing from the store"
                )
        return problems

    # -- upgrade from the first release -------------------------------------------------------
    def upgrade_from_meta(self) -> None:
        """Move accounts and tokens kept sealed in ``meta`` (format 1) into rows."""
        backend = self.store.backend
        for key in backend.meta_keys():
            if key.startswith("account/"):
                raw = self._legacy_get(key)
                if raw is not None:
                    raw["role"] = Role(raw["role"])
                    self._insert(Account(**raw), "upgrade")
        for key in backend.meta_keys():
            if key.startswith("token/"):
                raw = self._legacy_get(key)
                if raw is not None:
                    self._import_token(raw)
        for key in backend.meta_keys():
            if key.startswith(("account/", "token/", "token-sha1/")) or key in (
                "account-index",
                "token-index",
            ):
                backend.meta_delete(key)

    def _legacy_get(self, key: str) -> dict[str, Any] | None:
        blob = self.store.backend.meta_get(key)
        if blob is None:
            return None
        raw: dict[str, Any] = json.loads(self._legacy.decrypt(blob[:12], blob[12:], key.encode()))
        return raw

    def _import_token(self, raw: dict[str, Any]) -> None:
        sha1 = str(raw.pop("sha1"))
        token = Token(**raw)
        sealed = self._sealer.seal(json.dumps(asdict(token)).encode(), self._token_aad(token.id, 1))
        with self.store.backend.transaction(SERVICE_CHAIN):
            self.store.backend.token_insert(
                token.id,
                self._account_tag(token.account),
                token.person_id,
                self.mac(b"nightscout", sha1),
                int(token.expires_at.timestamp() * 1000),
                sealed,
            )
            self._record("token", token.id, 1, sealed, "upgrade")
