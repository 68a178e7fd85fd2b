"""Studies and what each one released: the study operator's record, sealed in the store.

A study is what persons grant ``research`` to: its id is the recipient of their grants.
Its record holds a title, a description and the study's privacy cap — the most ε the
study may spend on any one person over all its releases — and one row per release (a
DP statistic, a federated training run, a synthetic cohort, a fairness audit) with its
privacy cost and the aggregate it released. No row names a person or holds a person's
value; each person's own ledger (``lifetwin.population.budget``) stays in their vault.

The rows live in the store's ``meta`` table (``study/ID``, ``study/ID/release/RID``),
sealed under a key derived from the service key, with the row's key as associated data
(a row cannot be moved to another study or release). A release is reserved before any
vault is read: the check of the study's cap and the reservation are one transaction that
holds the study's lock, so concurrent releases cannot spend past the cap together. Each
release is its own row, written when reserved and once more when it ends; nothing is
read, changed and written back as a list.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from lifetwin.core.errors import NotEnoughDataError
from lifetwin.population.errors import PopulationError
from lifetwin.store.crypto import PersonKeys
from lifetwin.store.vault import Store

ReleaseKind = Literal["statistic", "federated", "synthetic", "audit"]
ReleaseState = Literal["pending", "released", "failed"]
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_PREFIX = "study/"
_SLACK = 1e-12  # float sums: 0.1 + 0.2 may not equal 0.3 exactly


class UnknownStudyError(PopulationError, NotEnoughDataError):
    """A study that does not exist (the service answers 404)."""


class StudyBudgetError(PopulationError):
    """A release that would take a study past its privacy cap (nothing is read)."""


class Study(BaseModel):
    """A population study as its operator set it up."""

    id: str
    title: str
    description: str = ""
    epsilon_cap: float = Field(gt=0)  # the most ε the study may spend on one person
    created_at: datetime
    created_by: str


class Release(BaseModel):
    """One release of a study: what it cost and what it released (aggregates only)."""

    id: str
    study: str
    kind: ReleaseKind
    state: ReleaseState
    epsilon: float = Field(ge=0)  # what it may cost each contributor (0: not a DP release)
    delta: float = Field(ge=0, le=1)
    summary: str  # what it is, in words ("the mean of resting_heart_rate across persons")
    outcome: str = ""  # what came out, in words ("61.8 bpm from about 57 persons")
    query: str = ""  # how contributors' budget ledgers name it (once known)
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    result: dict[str, Any] = Field(default_factory=dict)  # the released aggregate (JSON)

    @property
    def counts(self) -> bool:
        """Whether it counts against the study's cap (a failed release may have charged
        persons before it stopped, so it counts too)."""
        return self.state in ("pending", "released", "failed")


def check_study_id(study_id: str) -> str:
    """A study id as persons' research grants name it, or an error.

    >>> check_study_id("Sleep-2026")
    'sleep-2026'
    """
    found = study_id.strip().lower()
    if not _ID.match(found):
        raise PopulationError(
            f"'{study_id}' is not a study id: use 2-64 lower-case letters, digits, dots, "
            "dashes or underscores."
        )
    return found


class StudyBook:
    """The studies of one store and their releases."""

    def __init__(self, store: Store) -> None:
        from lifetwin.services.accounts import Accounts

        self.store = store
        self.backend = store.backend
        self._keys: PersonKeys = Accounts(store).service_keys("studies")

    # -- rows --------------------------------------------------------------------------------
    def _put(self, key: str, model: BaseModel) -> None:
        plain = model.model_dump_json().encode()
        self.backend.meta_set(key, self._keys.seal(plain, b"study|" + key.encode()))

    def _get(self, key: str) -> dict[str, Any] | None:
        sealed = self.backend.meta_get(key)
        if sealed is None:
            return None
        found: dict[str, Any] = json.loads(self._keys.open(sealed, b"study|" + key.encode()))
        return found

    # -- studies -----------------------------------------------------------------------------
    def create(
        self, study_id: str, title: str, epsilon_cap: float, description: str, actor: str
    ) -> Study:
        study = Study(
            id=check_study_id(study_id),
            title=title.strip() or study_id,
            description=description.strip(),
            epsilon_cap=epsilon_cap,
            created_at=datetime.now(UTC),
            created_by=actor,
        )
        with self.backend.transaction("study:" + study.id):
            if self._get(_PREFIX + study.id) is not None:
                raise PopulationError(f"A study named '{study.id}' exists already.")
            self._put(_PREFIX + study.id, study)
        return study

    def get(self, study_id: str) -> Study:
        raw = self._get(_PREFIX + study_id.strip().lower())
        if raw is None:
            raise UnknownStudyError(
                f"There is no study '{study_id}'; `lifetwin population study list` shows them."
            )
        return Study.model_validate(raw)

    def find(self, study_id: str) -> Study | None:
        try:
            return self.get(study_id)
        except UnknownStudyError:
            return None

    def studies(self) -> list[Study]:
        ids = [k[len(_PREFIX) :] for k in self.backend.meta_keys() if k.startswith(_PREFIX)]
        return [self.get(i) for i in ids if "/" not in i]

    # -- releases ----------------------------------------------------------------------------
    def releases(self, study_id: str) -> list[Release]:
        prefix = f"{_PREFIX}{study_id}/release/"
        found = []
        for key in self.backend.meta_keys():
            if key.startswith(prefix):
                raw = self._get(key)
                if raw is not None:
                    found.append(Release.model_validate(raw))
        return sorted(found, key=lambda r: r.started_at)

    def release(self, study_id: str, release_id: str) -> Release:
        raw = self._get(f"{_PREFIX}{study_id}/release/{release_id}")
        if raw is None:
            raise UnknownStudyError(f"The study '{study_id}' has no release '{release_id}'.")
        return Release.model_validate(raw)

    def spent(self, study_id: str) -> tuple[float, float]:
        """The ε and δ the study's releases may have cost each contributor so far."""
        counted = [r for r in self.releases(study_id) if r.counts]
        return math.fsum(r.epsilon for r in counted), math.fsum(r.delta for r in counted)

    def reserve(
        self,
        study_id: str,
        kind: ReleaseKind,
        epsilon: float,
        delta: float,
        summary: str,
        *,
        release_id: str | None = None,
    ) -> Release:
        """Reserve a release's cost against the study's cap, or refuse it (nothing read)."""
        study = self.get(study_id)
        with self.backend.transaction("study:" + study.id):
            spent, _ = self.spent(study.id)
            if spent + epsilon > study.epsilon_cap + _SLACK:
                left = max(0.0, study.epsilon_cap - spent)
                raise StudyBudgetError(
                    f"This release costs ε={epsilon:g} but the study {study.id} has only "
                    f"ε={left:.3g} of its cap of ε={study.epsilon_cap:g} left, so nothing "
                    "was read."
                )
            release = Release(
                id=release_id or f"{kind[:3]}-{uuid.uuid4().hex[:10]}",
                study=study.id,
                kind=kind,
                state="pending",
                epsilon=epsilon,
                delta=delta,
                summary=summary,
                started_at=datetime.now(UTC),
            )
            self._put(self._key(release), release)
        return release

    def record(self, study_id: str, kind: ReleaseKind, summary: str) -> Release:
        """A release that costs no ε (a fairness audit), recorded as it starts."""
        return self.reserve(study_id, kind, 0.0, 0.0, summary)

    def finish(
        self,
        release: Release,
        result: BaseModel,
        *,
        outcome: str,
        query: str = "",
        epsilon: float | None = None,
    ) -> Release:
        """The release happened: what came out (an aggregate) and its actual cost."""
        done = release.model_copy(
            update={
                "state": "released",
                "finished_at": datetime.now(UTC),
                "result": result.model_dump(mode="json"),
                "outcome": outcome,
                "query": query,
                "epsilon": release.epsilon if epsilon is None else epsilon,
            }
        )
        self._put(self._key(done), done)
        return done

    def fail(self, release: Release, error: str) -> Release:
        """The release stopped after it may have charged persons: it keeps counting."""
        done = release.model_copy(
            update={"state": "failed", "finished_at": datetime.now(UTC), "error": error}
        )
        self._put(self._key(done), done)
        return done

    def drop(self, release: Release) -> None:
        """The release was refused before anyone was charged: it never happened."""
        self.backend.meta_delete(self._key(release))

    # -- synthetic rows (invented persons; they can be large, so they have their own row) ----
    def put_rows(self, release: Release, data: BaseModel) -> None:
        self._put(f"{_PREFIX}{release.study}/rows/{release.id}", data)

    def rows(self, study_id: str, release_id: str) -> dict[str, Any]:
        raw = self._get(f"{_PREFIX}{study_id}/rows/{release_id}")
        if raw is None:
            raise UnknownStudyError(
                f"The study '{study_id}' has no synthetic cohort '{release_id}'."
            )
        return raw

    @staticmethod
    def _key(release: Release) -> str:
        return f"{_PREFIX}{release.study}/release/{release.id}"
