"""The per-person privacy budget: every contribution to a study spends some of it.

Each person has a budget (total ε and δ, under basic composition) and a ledger of
what each study spent and when. A contribution that would go beyond the budget is
refused with one sentence, and the person's data is then not read at all. The
ledger is sealed in the person's vault (``load_budget`` / ``save_budget`` are the
only two functions that touch storage, so it can later move to rows).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from lifetwin.core.errors import LifeTwinError
from lifetwin.store.vault import Vault

DEFAULT_EPSILON_LIMIT = 10.0
DEFAULT_DELTA_LIMIT = 1e-4
_STATE_NAME = "privacy-budget"
_SLACK = 1e-12  # float sums: 0.1 + 0.2 may not equal 0.3 exactly


class BudgetExceededError(LifeTwinError):
    """A contribution that the person's privacy budget cannot pay for."""


class Spend(BaseModel):
    """One contribution: which study asked what, and what it cost."""

    study: str
    query: str  # e.g. "dp-mean resting_heart_rate", "federated run r-…"
    epsilon: float = Field(ge=0)
    delta: float = Field(ge=0, le=1)
    at: datetime


class PrivacyBudget(BaseModel):
    """A person's privacy budget and everything spent from it."""

    epsilon_limit: float = Field(default=DEFAULT_EPSILON_LIMIT, ge=0)
    delta_limit: float = Field(default=DEFAULT_DELTA_LIMIT, ge=0, le=1)
    spends: list[Spend] = Field(default_factory=list)

    @property
    def epsilon_spent(self) -> float:
        return math.fsum(s.epsilon for s in self.spends)

    @property
    def delta_spent(self) -> float:
        return math.fsum(s.delta for s in self.spends)

    @property
    def epsilon_left(self) -> float:
        return max(0.0, self.epsilon_limit - self.epsilon_spent)

    def can_afford(self, epsilon: float, delta: float = 0.0) -> bool:
        """Whether a spend of (ε, δ) stays within the budget.

        >>> b = PrivacyBudget(epsilon_limit=1.0)
        >>> b.can_afford(1.0), b.can_afford(1.01)
        (True, False)
        """
        return (
            self.epsilon_spent + epsilon <= self.epsilon_limit + _SLACK
            and self.delta_spent + delta <= self.delta_limit + _SLACK
        )

    def spent_on(self, study: str, query: str) -> Spend | None:
        return next((s for s in self.spends if s.study == study and s.query == query), None)

    def charge(
        self, study: str, query: str, epsilon: float, delta: float = 0.0, at: datetime | None = None
    ) -> Spend:
        """Record a spend, or refuse it when it goes beyond the budget."""
        if epsilon < 0 or delta < 0:
            raise BudgetExceededError("A privacy cost cannot be negative.")
        if not self.can_afford(epsilon, delta):
            raise BudgetExceededError(
                f"This contribution to {study} costs ε={epsilon:g} but only "
                f"ε={self.epsilon_left:.3g} of the privacy budget of ε={self.epsilon_limit:g} "
                f"is left, so nothing was shared."
            )
        made = Spend(
            study=study, query=query, epsilon=epsilon, delta=delta, at=at or datetime.now(UTC)
        )
        self.spends.append(made)
        return made


# -- storage: the only two functions that know where the ledger lives -----------------
def load_budget(vault: Vault) -> PrivacyBudget:
    raw = vault.get_state(_STATE_NAME)
    return PrivacyBudget() if raw is None else PrivacyBudget.model_validate_json(raw)


def save_budget(vault: Vault, budget: PrivacyBudget) -> None:
    vault.put_state(_STATE_NAME, budget.model_dump_json().encode())


def spend(vault: Vault, study: str, query: str, epsilon: float, delta: float = 0.0) -> Spend:
    """Charge a contribution to the person's budget (once per study and query).

    Asking again for the same study and query costs nothing more: the release it
    paid for is reused, not recomputed with fresh noise.
    """
    with vault.backend.transaction():
        budget = load_budget(vault)
        already = budget.spent_on(study, query)
        if already is not None:
            return already
        made = budget.charge(study, query, epsilon, delta)
        save_budget(vault, budget)
        vault.log_event(
            "privacy-spend", "research", study=study, query=query, epsilon=epsilon, delta=delta
        )
    return made


def set_budget_limit(vault: Vault, epsilon_limit: float, delta_limit: float | None = None) -> None:
    """The person sets their own budget (it never goes below what was already spent)."""
    with vault.backend.transaction():
        budget = load_budget(vault)
        if epsilon_limit < budget.epsilon_spent:
            raise BudgetExceededError(
                f"ε={budget.epsilon_spent:.3g} is already spent, so the budget cannot be "
                f"lowered to ε={epsilon_limit:g}."
            )
        budget.epsilon_limit = epsilon_limit
        if delta_limit is not None:
            budget.delta_limit = delta_limit
        save_budget(vault, budget)
        vault.log_event("privacy-budget", "self_access", epsilon_limit=epsilon_limit)
