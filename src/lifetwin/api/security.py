"""Who is asking, for what, and may they: sessions, tokens, CSRF, rate limits.

Every route that touches a vault goes through :meth:`Gate.vault`, a FastAPI
dependency chain: it names the person, the purpose and the actor, refuses what the
principal may not see (404 for a person they cannot see at all, so existence does not
leak; 403 for a purpose their token lacks) and hands out a vault whose every read
is audited under the principal's pseudonym.

Nothing here lives only in one process: sessions and rate-limit windows are rows of
the store, and the short-lived caches (tokens, persons' keys) are dropped as soon as
any worker, or the command line, changes what they hold (the store's generations,
checked every ``cache_check_s``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from fastapi import Request

from lifetwin.core.errors import LifeTwinError
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import (
    WRITE,
    WRONG_SIGN_IN,
    Account,
    AccountError,
    Accounts,
    Role,
    Session,
    Token,
)
from lifetwin.settings import Settings
from lifetwin.store.crypto import PersonKeys
from lifetwin.store.vault import Person, Store, Vault

log = logging.getLogger(__name__)

SESSION_COOKIE = "lifetwin_session"
CACHE_S = 60.0


class ApiError(LifeTwinError):
    """An error with an HTTP status; rendered as application/problem+json."""

    def __init__(
        self, status: int, detail: str, title: str = "", headers: dict[str, str] | None = None
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.headers = headers or {}


@dataclass(frozen=True)
class Principal:
    account: str
    role: Role
    person_id: str | None  # the person this account owns
    via: str  # "session" or "token"
    actor: str  # how the audit chain names it (a pseudonym)
    scopes: frozenset[str] | None = None  # a token's scopes (None: a session)
    token_person: str | None = None  # a token's person
    session: Session | None = None

    @cached_property
    def purposes(self) -> frozenset[Purpose] | None:
        if self.scopes is None:
            return None
        return frozenset(Purpose(s) for s in self.scopes if s != WRITE)

    @property
    def can_write(self) -> bool:
        return self.scopes is None or WRITE in self.scopes


def _no_personal_data(principal: Principal) -> None:
    """Administrators and study operators never reach a person (403, whoever it is)."""
    if principal.role is Role.ADMIN:
        raise ApiError(403, "An administrator cannot read personal data.", "Forbidden")
    if principal.role is Role.OPERATOR:
        raise ApiError(
            403, "A study operator sees studies and their aggregates, never a person.", "Forbidden"
        )


_CACHE_ONLY: ContextVar[bool] = ContextVar("cache_only", default=False)


class NotCachedError(Exception):
    """Inside :func:`cache_only`: the answer needs the store (go to a worker thread)."""


@contextmanager
def cache_only() -> Iterator[None]:
    """Answer from this worker's caches or raise :class:`NotCachedError` before any store
    access: what the event loop may do itself (the store may be busy with a writer)."""
    token = _CACHE_ONLY.set(True)
    try:
        yield
    finally:
        _CACHE_ONLY.reset(token)


def needs_store() -> None:
    """Called before reading the store where a cache did not answer."""
    if _CACHE_ONLY.get():
        raise NotCachedError


class Generations:
    """What changed in the store since a cache entry was made (checked at most every
    ``every_s``, one small query), so caches of every worker follow changes made by any."""

    def __init__(self, store: Store, every_s: float) -> None:
        self.store = store
        self.every_s = every_s
        self._seen: dict[str, int] = {}
        self._checked = 0.0
        self._lock = threading.Lock()
        self._looking: tuple[asyncio.AbstractEventLoop, asyncio.Future[int]] | None = None

    def __call__(self, scope: str) -> int:
        now = time.monotonic()
        if now - self._checked >= self.every_s:
            needs_store()
            with self._lock:
                if now - self._checked >= self.every_s:
                    self._seen = self.store.backend.generations()
                    self._checked = time.monotonic()
        return self._seen.get(scope, 0)

    def refresh(self) -> None:
        self._checked = 0.0

    async def fresh(self) -> None:
        """Look for changes now if it is time, off the event loop; the requests that arrive
        meanwhile wait for the same look (not one thread each)."""
        if time.monotonic() - self._checked < self.every_s:
            return
        loop = asyncio.get_running_loop()
        looking = self._looking
        if looking is None or looking[0] is not loop or looking[1].done():
            looking = (loop, asyncio.ensure_future(asyncio.to_thread(self, "")))
            self._looking = looking
        await asyncio.shield(looking[1])


def too_many(what: str, wait_s: float) -> ApiError:
    seconds = max(1, int(wait_s + 0.999))
    return ApiError(
        429,
        f"Too many {what}; try again in {seconds} s.",
        "Too Many Requests",
        {"Retry-After": str(seconds)},
    )


class Refresher:
    """For caches whose entries are also invalidated by :class:`Generations`: an entry
    older than its time, while nothing it depends on changed, still answers, and one
    background thread reads it again (once per key at a time). Without it every entry
    made in the same minute expired in the same minute, and every request for one of them
    went to the store at once (bursts of 0.6 s answers: docs/benchmarks.md, fourth pass)."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def soon(self, key: str, load: Callable[[], object]) -> None:
        """Run ``load`` in the background unless ``key`` is being loaded already."""
        with self._lock:
            if key in self._busy:
                return
            self._busy.add(key)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="refresh")
            pool = self._pool

        def run() -> None:
            try:
                load()
            except Exception:  # the old entry stays; the next request past its time retries
                log.warning("refreshing a cache entry failed", exc_info=True)
            finally:
                with self._lock:
                    self._busy.discard(key)

        pool.submit(run)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class Gate:
    """Authentication and the consent/audit dependency shared by every route."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.accounts = Accounts(store)
        self.generations = Generations(store, settings.cache_check_s)
        self._proxies = settings.networks("trusted_proxies")
        # Argon2 is slow on purpose: sign-ins are checked by a few threads of their own,
        # never on the event loop and never holding anything other requests need.
        self._hashers: ThreadPoolExecutor | None = None
        self._tokens: dict[str, tuple[float, int, Token, Principal]] = {}
        self._persons: dict[str, tuple[float, int, Person, PersonKeys]] = {}
        self.refresher = Refresher()

    def forget(self) -> None:
        """Drop this worker's caches now (others follow within ``cache_check_s``)."""
        self._tokens.clear()
        self._persons.clear()
        self.generations.refresh()

    @property
    def hashers(self) -> ThreadPoolExecutor:
        if self._hashers is None:
            self._hashers = ThreadPoolExecutor(
                self.settings.password_hashers, thread_name_prefix="argon2"
            )
        return self._hashers

    def close(self) -> None:
        if self._hashers is not None:
            self._hashers.shutdown(wait=False)
            self._hashers = None
        self.refresher.close()

    # -- addresses and rate limits ----------------------------------------------------------
    def client_address(self, request: Request) -> str:
        """The caller's address: the peer's, or — only when the peer is a configured proxy —
        the nearest address in X-Forwarded-For that is not one of the proxies."""
        peer = request.client.host if request.client else "?"
        if not self._proxies or not self._trusted(peer):
            return peer
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else peer

    def _trusted(self, address: str) -> bool:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self._proxies)

    def _rate_key(self, key: str) -> bytes:
        return self.accounts.mac(b"rate", key)

    def charge(self, key: str, limit: int, window_s: float, what: str) -> None:
        """Count one attempt against ``limit`` per ``window_s`` — before the attempt is
        checked, atomically in the store, so concurrent attempts cannot slip past."""
        wait_ms = self.store.backend.rate_charge(
            self._rate_key(key), int(time.time() * 1000), int(window_s * 1000), limit, 1
        )
        if wait_ms:
            raise too_many(what, wait_ms / 1000)

    def reset(self, key: str) -> None:
        self.store.backend.rate_reset(self._rate_key(key))

    def account_backoff(self, name: str) -> None:
        """Past a few recent attempts on one account (from anywhere), each next attempt
        waits twice as long as the one before (up to ``account_backoff_max_s``)."""
        s = self.settings
        key = self._rate_key("account|" + name.strip().lower())
        now_ms = int(time.time() * 1000)
        window_ms = int(max(s.account_backoff_max_s * 4, 3600) * 1000)
        with self.store.backend.transaction():
            recent = self.store.backend._all(
                "SELECT ts_ms FROM {rate_events} WHERE key = ? AND ts_ms > ? ORDER BY ts_ms",
                (key, now_ms - window_ms),
            )
            extra = len(recent) - s.account_free_attempts
            if extra >= 0:
                wait_s = min(s.account_backoff_s * 2**extra, s.account_backoff_max_s)
                due = int(recent[-1][0]) + int(wait_s * 1000)
                if due > now_ms:
                    raise too_many("sign-in attempts for this account", (due - now_ms) / 1000)
            self.store.backend._run("INSERT INTO {rate_events} VALUES (?, ?)", (key, now_ms))

    async def sign_in(
        self, request: Request, name: str, password: str, code: str
    ) -> tuple[Account, Session]:
        """Check a sign-in: the limits first (charged before anything is verified), then
        the password off the event loop, then the one-time code. Every wrong part gets the
        same answer."""
        s = self.settings
        client = self.client_address(request)
        name = name.strip().lower()

        def limits() -> None:
            what = "sign-in attempts"
            self.charge(f"login|{name}|{client}", s.login_attempts, s.login_window_s, what)
            self.charge(f"login-address|{client}", s.login_per_address, s.login_window_s, what)
            self.account_backoff(name)

        await asyncio.to_thread(limits)  # store work never runs on the event loop
        loop = asyncio.get_running_loop()
        account = await loop.run_in_executor(
            self.hashers, self.accounts.check_password, name, password
        )
        if account is None:
            raise ApiError(401, WRONG_SIGN_IN, "Unauthorized")
        try:
            account = await asyncio.to_thread(self.accounts.accept_code, name, code)
        except AccountError:
            raise ApiError(401, WRONG_SIGN_IN, "Unauthorized") from None
        return account, await asyncio.to_thread(self._signed_in, account, name, client)

    def _signed_in(self, account: Account, name: str, client: str) -> Session:
        self.reset(f"login|{name}|{client}")
        self.reset("account|" + name)
        if account.person_id:
            actor = self.store.actor_name(account.role.value, account.name)
            found = self.store.person_with_keys(account.person_id)
            if found is not None:
                vault = Vault(self.store.backend, found[0], found[1], self.store.audit, actor)
                vault.log_event("login", "self_access", account=account.name, address=client)
        return self.accounts.new_session(account)

    # -- sessions ---------------------------------------------------------------------------
    def end_session(self, session_id: str) -> None:
        self.accounts.end_session(session_id)

    def session_from(self, request: Request) -> Session | None:
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid or len(sid) > 200:
            return None
        needs_store()
        return self.accounts.session(sid)

    # -- principals -------------------------------------------------------------------------
    def principal(self, request: Request, *, required: bool = True) -> Principal | None:
        """The caller, from a bearer token or the session cookie."""
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise ApiError(
                    401, "The Authorization header must be 'Bearer <token>'.", "Unauthorized"
                )
            return self.token_principal(secret)
        session = self.session_from(request)
        if session is not None:
            try:
                account = self.accounts.get(session.account)
            except AccountError:
                self.end_session(session.id)
                raise ApiError(401, "This account no longer exists.", "Unauthorized") from None
            return Principal(
                account.name,
                account.role,
                account.person_id,
                "session",
                self.store.actor_name(account.role.value, account.name),
                session=session,
            )
        if required:
            raise ApiError(
                401,
                "Sign in, or send 'Authorization: Bearer <token>'.",
                "Unauthorized",
                {"WWW-Authenticate": "Bearer"},
            )
        return None

    def token_principal(self, secret: str) -> Principal:
        key = hashlib.sha256(secret.strip().encode()).hexdigest()
        hit = self._tokens.get(key)
        gen = self.generations("tokens")
        try:
            if hit is not None and hit[1] == gen:
                if hit[0] <= time.monotonic():
                    self.refresher.soon("token:" + key, lambda: self._load_token(key, secret))
                self.accounts.unexpired(hit[2])
                return hit[3]
            needs_store()
            return self._load_token(key, secret)
        except AccountError as exc:
            raise ApiError(401, str(exc), "Unauthorized", {"WWW-Authenticate": "Bearer"}) from None

    def _load_token(self, key: str, secret: str) -> Principal:
        gen = self.generations("tokens")
        try:
            token = self.accounts.check_token(secret)
            account = self.accounts.get(token.account)
        except AccountError:
            self._tokens.pop(key, None)
            raise
        found = self._from_token(token, account)
        self._tokens[key] = (time.monotonic() + CACHE_S, gen, token, found)
        return found

    def api_secret_principal(self, sha1_hex: str) -> Principal:
        try:
            token = self.accounts.check_api_secret(sha1_hex)
            account = self.accounts.get(token.account)
        except AccountError as exc:
            raise ApiError(401, str(exc), "Unauthorized") from None
        return self._from_token(token, account)

    def _from_token(self, token: Token, account: Account) -> Principal:
        return Principal(
            account.name,
            account.role,
            account.person_id,
            "token",
            self.store.actor_name(account.role.value, account.name) + " (token)",
            scopes=frozenset(token.purposes),
            token_person=token.person_id,
        )

    @staticmethod
    def check_csrf(principal: Principal, given: str | None) -> None:
        """State-changing requests from a session must carry its CSRF token."""
        if principal.via != "session":
            return
        assert principal.session is not None
        if not given or not hmac.compare_digest(given, principal.session.csrf):
            raise ApiError(
                403,
                "The request is missing its CSRF token (reload the page and try again).",
                "Forbidden",
            )

    @staticmethod
    def require_write(principal: Principal) -> None:
        """Adding data needs a session or a token with the ``write`` scope."""
        if not principal.can_write:
            raise ApiError(
                403,
                "This token cannot add data: that needs a token with the write scope.",
                "Forbidden",
            )

    # -- access -----------------------------------------------------------------------------
    def person_for(self, principal: Principal, person_id: str) -> Person:
        """The person, if the principal may see them at all; 404 otherwise."""
        unknown = ApiError(404, f"There is no person '{person_id}' you can see.", "Not Found")
        _no_personal_data(principal)
        if principal.token_person is not None and principal.token_person != person_id:
            raise unknown
        if principal.role is Role.PERSON and principal.person_id != person_id:
            raise unknown
        found = self._person(person_id)
        if found is None:
            raise unknown
        person = found[0]
        if principal.role is Role.CAREGIVER and not self._shares_with(person, principal.account):
            raise unknown
        return person

    def _person(self, person_id: str) -> tuple[Person, PersonKeys] | None:
        hit = self._persons.get(person_id)
        if hit is not None and hit[1] == self.generations("persons"):
            if hit[0] <= time.monotonic():
                self.refresher.soon("person:" + person_id, lambda: self._load_person(person_id))
            return hit[2], hit[3]
        needs_store()
        return self._load_person(person_id)

    def _load_person(self, person_id: str) -> tuple[Person, PersonKeys] | None:
        gen = self.generations("persons")
        found = self.store.person_with_keys(person_id)
        if found is None:
            self._persons.pop(person_id, None)
            return None
        self._persons[person_id] = (time.monotonic() + CACHE_S, gen, *found)
        return found

    def keys_of(self, person_id: str) -> PersonKeys | None:
        found = self._person(person_id)
        return None if found is None else found[1]

    def _shares_with(self, person: Person, account: str) -> bool:
        needs_store()
        ledger = self.vault_as(person, "service").consents()
        now = datetime.now(UTC)
        return any(
            g.purpose is Purpose.SHARING and g.recipient == account and g.active(now)
            for g in ledger.grants
        )

    def visible_persons(self, principal: Principal) -> list[Person]:
        _no_personal_data(principal)
        if principal.role is Role.PERSON:
            found = self._person(principal.person_id) if principal.person_id else None
            return [found[0]] if found else []
        people = [p for p in self.store.persons() if self._shares_with(p, principal.account)]
        if principal.token_person is not None:
            people = [p for p in people if p.id == principal.token_person]
        return people

    def read_access(
        self, principal: Principal, person_id: str, purpose: str | None = None
    ) -> tuple[Person, Purpose, str | None]:
        """The person, the purpose to read for and the recipient, or raise."""
        person = self.person_for(principal, person_id)
        if principal.role is Role.CAREGIVER:
            chosen = Purpose.SHARING
            recipient: str | None = principal.account
        else:
            chosen = Purpose(purpose) if purpose else Purpose.SELF_ACCESS
            recipient = None
            if chosen is Purpose.SHARING:
                raise ApiError(
                    400, "The sharing purpose is for caregivers' accounts.", "Bad Request"
                )
        if purpose and Purpose(purpose) is not chosen:
            raise ApiError(
                403, f"This account reads for the {chosen.value} purpose only.", "Forbidden"
            )
        purposes = principal.purposes
        if purposes is not None and chosen not in purposes:
            allowed = ", ".join(sorted(principal.scopes or ()))
            raise ApiError(
                403,
                f"This token is not for the {chosen.value} purpose (it allows: {allowed}).",
                "Forbidden",
            )
        return person, chosen, recipient

    def owner_access(self, principal: Principal, person_id: str) -> Person:
        """Only the person themself (session, or a self_access token) may do this."""
        person = self.person_for(principal, person_id)
        if principal.role is not Role.PERSON:
            raise ApiError(403, "Only the person themself can do this.", "Forbidden")
        purposes = principal.purposes
        if purposes is not None and Purpose.SELF_ACCESS not in purposes:
            raise ApiError(403, "This needs a token with the self_access purpose.", "Forbidden")
        return person

    def vault(self, principal: Principal, person: Person) -> Vault:
        """The person's vault, its audit entries under the principal's pseudonym."""
        return self.vault_as(person, principal.actor)

    def vault_as(self, person: Person, actor: str) -> Vault:
        found = self._person(person.id)
        if found is None:
            raise ApiError(404, f"There is no person '{person.id}' you can see.", "Not Found")
        return Vault(self.store.backend, found[0], found[1], self.store.audit, actor)
