"""Who is asking, for what, and may they: sessions, tokens, CSRF, rate limits.

Every route that touches a vault goes through :meth:`Gate.vault`, a FastAPI
dependency chain: it names the person, the purpose and the actor, refuses what the
principal may not see (404 for a person they cannot see at all, so existence does not
leak; 403 for a purpose their token lacks) and hands out a vault whose every read
is audited under the principal's name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import Request

from lifetwin.core.errors import LifeTwinError
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Account, AccountError, Accounts, Role, Token
from lifetwin.store.crypto import PersonKeys
from lifetwin.store.vault import Person, Store, Vault

SESSION_COOKIE = "lifetwin_session"
SESSION_HOURS = 12
CACHE_S = 10.0


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


@dataclass
class Session:
    id: str
    account: str
    csrf: str
    expires: float


@dataclass
class Principal:
    account: str
    role: Role
    person_id: str | None  # the person this account owns
    via: str  # "session" or "token"
    purposes: frozenset[Purpose] | None = None  # a token's purposes (None: a session)
    token_person: str | None = None  # a token's person
    session: Session | None = None

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.account}" + (" (token)" if self.via == "token" else "")


@dataclass
class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a sliding window)."""

    limit: int
    window: float
    _events: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str, cost: int = 1) -> float:
        """Count an event; return 0, or the seconds to wait when over the limit.

        ``cost=0`` only asks: it returns the wait when the limit is already reached."""
        now = time.monotonic()
        with self._lock:
            events = self._events[key]
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) + max(cost, 1) > self.limit:
                return events[0] + self.window - now if events else self.window
            events.extend([now] * cost)
            return 0.0

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)


def limit_or_raise(limiter: RateLimiter, key: str, what: str, cost: int = 1) -> None:
    wait = limiter.hit(key, cost)
    if wait:
        seconds = max(1, int(wait + 0.999))
        raise ApiError(
            429,
            f"Too many {what}; try again in {seconds} s.",
            "Too Many Requests",
            {"Retry-After": str(seconds)},
        )


class Gate:
    """Authentication and the consent/audit dependency shared by every route."""

    def __init__(self, store: Store, lock: threading.RLock) -> None:
        self.store = store
        self.lock = lock
        self.accounts = Accounts(store)
        self.sessions: dict[str, Session] = {}
        self._sessions_lock = threading.Lock()
        # Short-lived caches of what every request looks up (token, person, data key).
        # Revocation and erasure through the service clear them at once; changes made
        # with the command line while the service runs apply within CACHE_S.
        self._tokens: dict[str, tuple[float, Token, Account]] = {}
        self._persons: dict[str, tuple[float, Person, PersonKeys]] = {}

    def forget(self) -> None:
        """Drop the caches (after a token, account or person is removed)."""
        self._tokens.clear()
        self._persons.clear()

    # -- sessions ---------------------------------------------------------------
    def new_session(self, account: str) -> Session:
        session = Session(
            id=secrets.token_urlsafe(32),
            account=account,
            csrf=secrets.token_urlsafe(24),
            expires=time.time() + SESSION_HOURS * 3600,
        )
        with self._sessions_lock:
            self.sessions[session.id] = session
        return session

    def end_session(self, session_id: str) -> None:
        with self._sessions_lock:
            self.sessions.pop(session_id, None)

    def session_from(self, request: Request) -> Session | None:
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid:
            return None
        with self._sessions_lock:
            session = self.sessions.get(sid)
            if session is not None and session.expires < time.time():
                del self.sessions[sid]
                return None
        return session

    # -- principals -------------------------------------------------------------
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
            with self.lock:
                try:
                    account = self.accounts.get(session.account)
                except AccountError:
                    self.end_session(session.id)
                    raise ApiError(401, "This account no longer exists.", "Unauthorized") from None
            return Principal(
                account.name, account.role, account.person_id, "session", session=session
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
        try:
            if hit is not None and hit[0] > time.monotonic():
                token, account = self.accounts.unexpired(hit[1]), hit[2]
            else:
                with self.lock:
                    token = self.accounts.check_token(secret)
                    account = self.accounts.get(token.account)
                self._tokens[key] = (time.monotonic() + CACHE_S, token, account)
        except AccountError as exc:
            raise ApiError(401, str(exc), "Unauthorized", {"WWW-Authenticate": "Bearer"}) from None
        return self._from_token(
            token.account, account.role, account.person_id, token.purposes, token.person_id
        )

    def api_secret_principal(self, sha1_hex: str) -> Principal:
        with self.lock:
            try:
                token = self.accounts.check_api_secret(sha1_hex)
                account = self.accounts.get(token.account)
            except AccountError as exc:
                raise ApiError(401, str(exc), "Unauthorized") from None
        return self._from_token(
            token.account, account.role, account.person_id, token.purposes, token.person_id
        )

    @staticmethod
    def _from_token(
        name: str, role: Role, person_id: str | None, purposes: list[str], token_person: str
    ) -> Principal:
        return Principal(
            name,
            role,
            person_id,
            "token",
            purposes=frozenset(Purpose(p) for p in purposes),
            token_person=token_person,
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

    # -- access -----------------------------------------------------------------
    def person_for(self, principal: Principal, person_id: str) -> Person:
        """The person, if the principal may see them at all; 404 otherwise."""
        unknown = ApiError(404, f"There is no person '{person_id}' you can see.", "Not Found")
        if principal.role is Role.ADMIN:
            raise ApiError(403, "An administrator cannot read personal data.", "Forbidden")
        if principal.token_person is not None and principal.token_person != person_id:
            raise unknown
        if principal.role is Role.PERSON and principal.person_id != person_id:
            raise unknown
        person = self._person(person_id)
        if person is None:
            raise unknown
        if principal.role is Role.CAREGIVER:
            with self.lock:
                if not self._shares_with(person, principal.account):
                    raise unknown
        return person

    def _person(self, person_id: str) -> Person | None:
        hit = self._persons.get(person_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        with self.lock:
            found = self.store.person_with_keys(person_id)
        if found is None:
            return None
        person, keys = found
        self._persons[person_id] = (time.monotonic() + CACHE_S, person, keys)
        return person

    def _shares_with(self, person: Person, account: str) -> bool:
        ledger = self.store.vault(person, actor="service").consents()
        now = datetime.now(UTC)
        return any(
            g.purpose is Purpose.SHARING and g.recipient == account and g.active(now)
            for g in ledger.grants
        )

    def visible_persons(self, principal: Principal) -> list[Person]:
        if principal.role is Role.ADMIN:
            raise ApiError(403, "An administrator cannot read personal data.", "Forbidden")
        with self.lock:
            if principal.role is Role.PERSON:
                ids = [principal.person_id] if principal.person_id else []
                return [p for p in self.store.persons() if p.id in ids]
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
        if principal.purposes is not None and chosen not in principal.purposes:
            allowed = ", ".join(sorted(p.value for p in principal.purposes))
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
        if principal.purposes is not None and Purpose.SELF_ACCESS not in principal.purposes:
            raise ApiError(403, "This needs a token with the self_access purpose.", "Forbidden")
        return person

    def vault(self, principal: Principal, person: Person) -> Vault:
        """The person's vault for reading, its audit entries under the principal's name."""
        hit = self._persons.get(person.id)
        if hit is None or hit[0] <= time.monotonic():
            return self.store.vault(person, actor=principal.actor)
        return Vault(self.store.backend, person, hit[2], self.store.audit, principal.actor)
