"""The per-person privacy budget and consent: what a person can rely on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifetwin.population.budget import (
    BudgetExceededError,
    PrivacyBudget,
    load_budget,
    set_budget_limit,
    spend,
)
from lifetwin.population.cohort import make_cohort
from lifetwin.population.federated import FederatedConfig, vault_update
from lifetwin.population.views import contribution_view
from lifetwin.services.home import open_home


@given(
    limit=st.floats(0.1, 10.0),
    asks=st.lists(st.floats(0.0, 3.0, allow_nan=False), max_size=40),
)
def test_spends_never_exceed_the_budget(limit: float, asks: list[float]) -> None:
    budget = PrivacyBudget(epsilon_limit=limit)
    for i, eps in enumerate(asks):
        before = budget.epsilon_spent
        if budget.can_afford(eps):
            budget.charge("s", f"q{i}", eps)
        else:
            with pytest.raises(BudgetExceededError, match="nothing was shared"):
                budget.charge("s", f"q{i}", eps)
            assert before + eps > limit  # refused only when it would go over
            assert budget.epsilon_spent == before
        assert budget.epsilon_spent <= limit + 1e-9


def test_a_refusal_is_exact_and_one_sentence(tmp_path: Path) -> None:
    make_cohort(tmp_path / "home", 2, seed=1, research_share=1.0)
    store = open_home(tmp_path / "home")
    vault = store.vault(store.persons()[0])
    set_budget_limit(vault, 1.0)
    spend(vault, "study-a", "q1", 0.6)
    spend(vault, "study-a", "q1", 0.6)  # the same query again is not charged twice
    with pytest.raises(BudgetExceededError) as refused:
        spend(vault, "study-a", "q2", 0.5)
    message = str(refused.value)
    assert message.endswith(".")
    assert ". " not in message  # one sentence
    assert "ε=0.4" in message
    spend(vault, "study-a", "q3", 0.4)  # exactly what is left is allowed
    assert load_budget(vault).epsilon_left == pytest.approx(0.0)
    with pytest.raises(BudgetExceededError):
        set_budget_limit(vault, 0.5)
    view = contribution_view(vault)
    assert [c.query for c in view.contributions] == ["q1", "q3"]
    assert view.studies_with_research_grant == ["study-sleep-2026"]
    store.close()


def test_a_person_without_the_research_grant_contributes_nothing(tmp_path: Path) -> None:
    cohort = make_cohort(tmp_path / "home", 6, seed=2, research_share=0.5)
    store = open_home(tmp_path / "home")
    config = FederatedConfig(study=cohort.study, rounds=2)
    weights = np.zeros(10)
    for twin in cohort.twins:
        person = store.person(twin.person_id)
        update = vault_update(store.vault(person), weights, config)
        assert update.contributed == twin.consented
        if not twin.consented:
            assert not update.update.any()
            assert load_budget(store.vault(person)).spends == []
        else:
            assert np.linalg.norm(update.update) <= config.clipping_norm + 1e-9
    # a grant for another study is not a grant for this one
    other = FederatedConfig(study="another-study", rounds=2)
    first = store.person(cohort.twins[0].person_id)
    assert not vault_update(store.vault(first), weights, other).contributed
    store.close()
