"""Encrypted scoring: the scorer computes on ciphertext it cannot decrypt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tenseal as ts

from lifetwin.population.cohort import make_cohort
from lifetwin.population.errors import PopulationError
from lifetwin.population.features import FEATURES
from lifetwin.population.he_scoring import (
    PersonKeys,
    PrivateContextError,
    encrypted_sleep_risk,
    score_encrypted,
)
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.home import open_home

WEIGHTS = [0.4, -0.2, 0.1, 0.3, -0.5, -1.2, -0.3, 0.2, 0.05]


def test_the_scorer_gets_no_secret_key_and_the_logit_is_exact() -> None:
    keys = PersonKeys()
    public = keys.public_context()
    assert not ts.context_from(public).is_private()
    x = np.random.default_rng(1).normal(0, 1, len(WEIGHTS))
    blob = score_encrypted(public, keys.encrypt(x), WEIGHTS, -0.7)
    assert abs(keys.logit(blob) - (x @ WEIGHTS - 0.7)) < 1e-4
    # the scorer cannot decrypt what it returns
    with pytest.raises(ValueError, match=r"(?i)secret"):
        ts.ckks_vector_from(ts.context_from(public), blob).decrypt()


def test_a_context_with_the_secret_key_is_refused() -> None:
    keys = PersonKeys()
    private = keys._ctx.serialize(save_secret_key=True)
    with pytest.raises(PrivateContextError, match="refused"):
        score_encrypted(private, keys.encrypt([0.0] * len(WEIGHTS)), WEIGHTS, 0.0)


def test_scoring_a_person_needs_their_sharing_grant(tmp_path: Path) -> None:
    make_cohort(tmp_path / "home", 1, seed=4, research_share=1.0)
    store = open_home(tmp_path / "home")
    vault = store.vault(store.persons()[0])
    with pytest.raises(PopulationError, match="sharing with risk-lab"):
        encrypted_sleep_risk(vault, "risk-lab", WEIGHTS, -0.7)
    vault.grant(Scope.parse("domain:sleep"), Purpose.SHARING, recipient="risk-lab")
    vault.grant(Scope.parse("domain:vitals"), Purpose.SHARING, recipient="risk-lab")
    vault.grant(Scope.parse("domain:activity"), Purpose.SHARING, recipient="risk-lab")
    score = encrypted_sleep_risk(vault, "risk-lab", WEIGHTS, -0.7)
    assert score.abs_error < 1e-4
    assert 0 < score.risk < 1
    assert not score.context_is_private
    assert len(WEIGHTS) == len(FEATURES)
    store.close()
