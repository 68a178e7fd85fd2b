"""The fairness gate refuses a model whose quality differs too much across groups."""

from __future__ import annotations

import numpy as np
import pytest

from lifetwin.population.fairness import (
    FairnessGate,
    FairnessGateError,
    audit_classifier,
    audit_errors,
)


def _population(seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    n = 4000
    groups = {
        "sex": rng.choice(["female", "male"], n),
        "age_band": rng.choice(["20-29", "40-49", "60-69"], n),
    }
    return rng.random(n) < 0.3, groups


def test_a_fair_model_passes_and_a_biased_one_is_refused() -> None:
    y, groups = _population(0)
    rng = np.random.default_rng(1)
    fair = np.where(y, 0.7, 0.3) + rng.normal(0, 0.2, len(y))
    gate = FairnessGate()
    passed = gate.require(audit_classifier("fair", y, fair, groups))
    assert passed.passed
    assert len(passed.groups) == 6
    biased = fair.copy()
    old_women = (groups["sex"] == "female") & (groups["age_band"] == "60-69")
    biased[old_women] = rng.random(int(old_women.sum()))  # no better than chance for them
    report = audit_classifier("biased", y, biased, groups)
    assert report.metric("auc").by_group["female × 60-69"] < 0.6
    with pytest.raises(FairnessGateError, match="was not deployed: auc differs"):
        gate.require(report)


def test_personal_model_errors_are_compared_across_groups() -> None:
    y, groups = _population(2)
    truth = np.random.default_rng(3).normal(420, 40, len(y))
    errors = np.where(groups["sex"] == "male", 20.0, 5.0)
    report = audit_errors("sleep-forecast", truth, truth + errors, groups)
    mae = report.metric("mae")
    assert mae.difference == pytest.approx(15.0)
    assert mae.ratio == pytest.approx(0.25)
    assert not FairnessGate(max_difference={"mae": 10.0}).check(report).passed
