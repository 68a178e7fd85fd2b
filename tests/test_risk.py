"""Validated risk scores: published examples, validity ranges, inputs from the twin."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lifetwin.capabilities.risk import (
    ada_points,
    all_scores,
    findrisc_points,
    framingham_risk,
    gather_inputs,
    pooled_cohort_risk,
)
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.importer import import_file
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Store

MADE = Path(__file__).parent / "fixtures" / "generated"


def test_the_pooled_cohort_equations_guideline_example() -> None:
    # Goff 2013: 55-year-old white man, TC 213, HDL 50, SBP 120 untreated, non-smoker,
    # no diabetes: the guideline prints 5.3 % (its linear predictor 60.69 gives 5.38 %).
    risk = pooled_cohort_risk(55, "male", "white", 213, 50, 120, False, False, False)
    assert risk == pytest.approx(5.3, abs=0.1)
    # The guideline's other three worked examples (same person, other sex and race).
    assert pooled_cohort_risk(
        55, "female", "white", 213, 50, 120, False, False, False
    ) == pytest.approx(2.1, abs=0.1)
    assert pooled_cohort_risk(
        55, "male", "black", 213, 50, 120, False, False, False
    ) == pytest.approx(6.1, abs=0.1)
    assert pooled_cohort_risk(
        55, "female", "black", 213, 50, 120, False, False, False
    ) == pytest.approx(3.0, abs=0.1)


def test_framingham_follows_the_published_function() -> None:
    # 1 - 0.88936 ** exp(sum - 23.9802) for a 50-year-old male smoker, TC 200, HDL 45,
    # SBP 130 untreated, written out from D'Agostino 2008, Table 2.
    linear = (
        3.06117 * math.log(50)
        + 1.12370 * math.log(200)
        - 0.93263 * math.log(45)
        + 1.93303 * math.log(130)
        + 0.65451
    )
    expected = 100 * (1 - 0.88936 ** math.exp(linear - 23.9802))
    assert framingham_risk(50, "male", 200, 45, 130, False, True, False) == pytest.approx(expected)
    assert 10 < expected < 20
    assert framingham_risk(50, "male", 200, 45, 130, True, True, True) > expected


def test_point_scores() -> None:
    assert findrisc_points(50, 27, 95, "male", True, True, False, False, "none") == 6
    assert findrisc_points(70, 32, 110, "female", False, False, True, True, "first_degree") == 26
    assert ada_points(45, "female", False, True, False, True, 31) == 4
    assert ada_points(65, "male", False, True, True, False, 41) == 10


def test_scores_from_the_twin_say_where_inputs_came_from(store: Store) -> None:
    person = store.add_person("Zed")
    vault = store.vault(person)
    vault.grant(Scope.parse("all"), Purpose.TWIN_CORE)
    import_file(store, person, MADE / "fhir_bundle.json", timezone="UTC")  # labs, birth date
    vault.set_profile(smoker="no", diabetes="yes", bp_treated="no", race="white")
    inputs = gather_inputs(vault, today=date(2024, 6, 1))
    assert inputs.values["age"] == 53
    assert inputs.origin["total_chol"].startswith("measured 2024-02-01")
    assert inputs.origin["smoker"] == "self-reported"
    results = {r.name.split(":")[0]: r for r in all_scores(inputs)}
    pce = results["ACC/AHA pooled cohort equations"]
    assert pce.value is None
    assert pce.refused == "missing: sbp"
    assert pce.inputs["sbp"] == "missing"
    when_ms = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp() * 1000)
    one = np.zeros(1, dtype=np.int64)
    vault.write_columns(
        "blood_pressure_systolic",
        "cuff",
        None,
        "mmHg",
        Columns(one + when_ms, one, np.array([128.0]), one, one, one, one),
    )
    results = {r.name.split(":")[0]: r for r in all_scores(gather_inputs(vault, date(2024, 6, 1)))}
    pce = results["ACC/AHA pooled cohort equations"]
    assert pce.refused is None
    expected = pooled_cohort_risk(53, "female", "white", 5.5 * 38.665, 52, 128, False, False, True)
    assert pce.value == pytest.approx(expected, abs=0.05)
    assert pce.inputs["sbp"] == "128.0 (measured 2024-03-01 (cuff))"


def test_outside_the_validated_age_range_the_score_is_refused(store: Store) -> None:
    person = store.add_person("Young")
    vault = store.vault(person)
    vault.set_profile(
        birth_date="2000-01-01", sex="male", smoker="no", diabetes="no", bp_treated="no"
    )
    inputs = gather_inputs(vault, today=date(2024, 6, 1))
    inputs.values.update(total_chol=180.0, hdl=55.0, sbp=118.0)
    pce = next(r for r in all_scores(inputs) if r.name.startswith("ACC/AHA"))
    assert pce.refused == "validated only for ages 40-79; the person is 24"


def test_risk_from_the_command_line(cli: Callable[..., Any]) -> None:
    cli("init")
    cli("person", "add", "Zed")
    cli("consent", "grant", "Zed", "--scope", "all", "--purpose", "twin_core")
    cli("import", str(MADE / "fhir_bundle.json"), "-p", "Zed", "--timezone", "UTC")
    done = cli("person", "profile", "Zed", "--set", "smoker=no", "--set", "nonsense")
    assert done.returncode == 1
    assert "'nonsense' is not KEY=VALUE." in done.stderr
    shown = cli("risk", "Zed")
    assert shown.returncode == 0, shown.stderr
    assert "not computed (missing: sbp, bp_treated, smoker, diabetes)" in shown.stdout
    assert "total_chol: 212.6575 (measured 2024-02-01 (medical record))" in shown.stdout
    assert "Decision support, not a diagnosis" in shown.stdout
