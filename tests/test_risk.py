"""Validated risk scores: published examples, validity ranges, inputs from the twin."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifetwin.capabilities.risk import (
    PREVENT_OUTCOMES,
    ada_points,
    all_scores,
    findrisc_points,
    framingham_risk,
    gather_inputs,
    pooled_cohort_risk,
    prevent_risk,
    risk_report,
)
from lifetwin.core.profile import ProfileError, parse_facts
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
    assert "'nonsense' is not KEY=VALUE" in done.stderr
    shown = cli("risk", "Zed")
    assert shown.returncode == 0, shown.stderr
    # diabetes comes from the record's active Condition now, not only from the profile
    assert "not computed (missing: sbp, bp_treated, smoker)" in shown.stdout
    assert "from the record: Condition 'Diabetes mellitus type 1'" in shown.stdout
    assert "total_chol: 212.6575 (measured 2024-02-01 (medical record))" in shown.stdout
    assert "Decision support, not a diagnosis" in shown.stdout


def _scores(vault: Any, today: date = date(2024, 6, 1)) -> dict[str, Any]:
    return {r.name: r for r in all_scores(gather_inputs(vault, today))}


def _measure(vault: Any, code: str, value: float, unit: str, day: int = 1) -> None:
    when_ms = int(datetime(2024, 3, day, tzinfo=UTC).timestamp() * 1000)
    one = np.zeros(1, dtype=np.int64)
    vault.write_columns(
        code, "lab", None, unit, Columns(one + when_ms, one, np.array([value]), one, one, one, one)
    )


def test_prevent_reproduces_the_papers_worked_examples() -> None:
    # Khan et al. 2024, Table S25 (woman, 50, TC 200, HDL 45, SBP 160 treated, no statin,
    # diabetes, non-smoker, eGFR 90, BMI 35): total CVD 14.7 %; the supplement's
    # spreadsheet gives ASCVD 9.2 % and heart failure 8.1 %, and for a man with the
    # same values 16.3 %, 10.2 % and 10.6 %.
    woman = (50, "female", 200, 45, 160, True, False, True, False, 90, 35)
    man = (50, "male", 200, 45, 160, True, False, True, False, 90, 35)
    assert [round(prevent_risk(o, *woman), 1) for o in PREVENT_OUTCOMES] == [14.7, 9.2, 8.1]
    assert [round(prevent_risk(o, *man), 1) for o in PREVENT_OUTCOMES] == [16.3, 10.2, 10.6]
    # more risk with each risk factor
    assert prevent_risk(
        "total_cvd", 50, "female", 200, 45, 160, True, False, True, True, 90, 35
    ) > (prevent_risk("total_cvd", *woman))


def test_the_pooled_cohort_equations_refuse_outside_their_validated_ranges(store: Store) -> None:
    vault = store.vault(store.add_person("Ranges"))
    vault.set_profile(birth_date="1970-01-01", sex="male", smoker="no", diabetes="no")
    vault.set_profile(bp_treated="no", statin="no")
    inputs = gather_inputs(vault, today=date(2024, 6, 1))
    for key, value, words in (
        ("total_chol", 340.0, "total cholesterol 340 mg/dL (validated 130-320)"),
        ("hdl", 15.0, "HDL cholesterol 15 mg/dL (validated 20-100)"),
        ("sbp", 210.0, "systolic blood pressure 210 mmHg (validated 90-200)"),
    ):
        given = {"total_chol": 200.0, "hdl": 50.0, "sbp": 130.0, key: value}
        inputs.values.update(given)
        pce = next(r for r in all_scores(inputs) if r.name.startswith("ACC/AHA"))
        assert pce.value is None
        assert pce.refused == f"outside the validated range: {words}"
    inputs.values.update(total_chol=200.0, hdl=50.0, sbp=130.0)
    assert next(r for r in all_scores(inputs) if r.name.startswith("ACC/AHA")).value is not None


def test_ada_counts_only_parents_and_siblings(store: Store) -> None:
    vault = store.vault(store.add_person("Family"))
    vault.set_profile(birth_date="1970-01-01", sex="female", hypertension="no")
    vault.set_profile(physically_active="yes", height_cm="165 cm", weight_kg="60 kg")

    def ada(history: str) -> Any:
        vault.set_profile(family_history_diabetes=history)
        return _scores(vault)["ADA type 2 diabetes risk test"]

    assert ada("second_degree").value == 2  # age 54: 2 points; an aunt does not count
    assert ada("child").value == 2
    assert ada("Mother").value == 3  # a parent: one point more
    assert (
        ada("parent_or_sibling")
        .inputs["family_history_diabetes"]
        .startswith("parent_or_sibling (self-reported")
    )
    refused = ada("first_degree")
    assert refused.value is None
    assert "does not say whether a parent or sibling" in str(refused.refused)
    findrisc = _scores(vault)["FINDRISC: 10-year type 2 diabetes"]
    assert findrisc.inputs["family_history_diabetes"].startswith("first_degree")


def test_profile_answers_are_checked_with_one_sentence(store: Store) -> None:
    vault = store.vault(store.add_person("Answers"))
    vault.set_profile(smoker="YES", diabetes="0", sex="F", waist_cm="36 in")
    assert vault.profile() == {
        "smoker": True,
        "diabetes": False,
        "sex": "female",
        "waist_cm": 91.44,
    }
    for facts, sentence in (
        ({"smoker": "maybe"}, "The answer 'maybe' for smoker is not yes or no."),
        ({"family_history_diabetes": "yes"}, "The answer 'yes' for family_history_diabetes"),
        ({"waist_cm": "3 m"}, "is outside the plausible range 40-250 cm."),
        ({"height_cm": "180 furlongs"}, "The unit 'furlongs' for height_cm is not one of"),
        ({"smokr": "yes"}, "'smokr' is not a profile fact LifeTwin knows"),
    ):
        with pytest.raises(ProfileError) as refused:
            vault.set_profile(**facts)
        assert sentence in str(refused.value)
        assert str(refused.value).count(".") >= 1
        assert "\n" not in str(refused.value)
    assert vault.profile()["smoker"] is True  # a refused answer stores nothing


def test_an_old_unchecked_yes_no_longer_crashes_findrisc(store: Store) -> None:
    vault = store.vault(store.add_person("Legacy"))
    vault.set_profile(birth_date="1970-01-01", sex="male", physically_active="yes")
    vault.set_profile(daily_vegetables="yes", bp_treated="no", high_glucose_history="no")
    vault.set_profile(height_cm=180, weight_kg=80, waist_cm=90)
    # stored before answers were checked: "yes" once became True and crashed FINDRISC
    vault.put_state(
        "profile", json.dumps({**vault.profile(), "family_history_diabetes": True}).encode()
    )
    findrisc = _scores(vault)["FINDRISC: 10-year type 2 diabetes"]
    assert findrisc.value is None
    assert findrisc.refused == (
        "The answer 'True' for family_history_diabetes is not one of none, second_degree, "
        "parent_or_sibling, child, first_degree"
    )


def test_the_cli_refuses_a_profile_answer_it_cannot_use(cli: Callable[..., Any]) -> None:
    cli("init")
    cli("person", "add", "Zed")
    done = cli("person", "profile", "Zed", "--set", "smoker=maybe")
    assert done.returncode == 1
    assert "The answer 'maybe' for smoker is not yes or no." in done.stderr
    assert "Traceback" not in done.stderr
    assert cli("person", "profile", "Zed", "--set", "smoker=yes").returncode == 0


@given(st.text(max_size=12))
def test_every_yes_no_answer_is_a_boolean_or_one_refusal(answer: str) -> None:
    try:
        parsed = parse_facts({"smoker": answer})
    except ProfileError as refused:
        message = str(refused)
        assert message.endswith(".")
        assert "\n" not in message
        assert "smoker" in message
    else:
        assert parsed["smoker"] in (True, False)
        assert answer.strip().lower() in {
            "yes",
            "y",
            "true",
            "t",
            "1",
            "on",
            "no",
            "n",
            "false",
            "f",
            "0",
            "off",
            "never",
        }


_BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"resource": r}
        for r in (
            {"resourceType": "Patient", "id": "p", "birthDate": "1964-05-02", "gender": "male"},
            {
                "resourceType": "Observation",
                "id": "smoke",
                "status": "final",
                "category": [{"coding": [{"code": "social-history"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "72166-2"}]},
                "effectiveDateTime": "2024-01-15",
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://snomed.info/sct",
                            "code": "449868002",
                            "display": "Smokes tobacco daily",
                        }
                    ]
                },
            },
            {
                "resourceType": "Condition",
                "id": "htn",
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "code": {
                    "coding": [
                        {
                            "system": "http://snomed.info/sct",
                            "code": "38341003",
                            "display": "Hypertensive disorder",
                        }
                    ]
                },
                "subject": {"reference": "Patient/p"},
                "onsetDateTime": "2019-03-01",
            },
            {
                "resourceType": "MedicationRequest",
                "id": "lis",
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                            "code": "314076",
                            "display": "lisinopril 10 MG Oral Tablet",
                        }
                    ]
                },
                "subject": {"reference": "Patient/p"},
                "authoredOn": "2023-02-01",
            },
            {
                "resourceType": "MedicationStatement",
                "id": "ator",
                "status": "stopped",
                "medicationCodeableConcept": {"text": "atorvastatin 20 mg"},
                "subject": {"reference": "Patient/p"},
                "effectiveDateTime": "2020-02-01",
            },
            {
                "resourceType": "Observation",
                "id": "gfr",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "98979-8"}]},
                "effectiveDateTime": "2024-02-01",
                "valueQuantity": {
                    "value": 72,
                    "system": "http://unitsofmeasure.org",
                    "code": "mL/min/{1.73_m2}",
                },
            },
        )
    ],
}


def test_risk_inputs_come_from_the_record(store: Store, tmp_path: Path) -> None:
    person = store.add_person("Rec")
    vault = store.vault(person)
    vault.grant(Scope.parse("all"), Purpose.TWIN_CORE)
    path = tmp_path / "record.json"
    path.write_text(json.dumps(_BUNDLE))
    summary = import_file(store, person, path, timezone="UTC")
    assert summary.problem_count == 0
    assert not any("72166-2" in key for key in summary.skipped)
    (status,) = vault.read_records("smoking_status", purpose=Purpose.SELF_ACCESS)
    assert status.value == "current_every_day"
    vault.set_profile(smoker="no", statin="no", diabetes="no")  # the record wins
    inputs = gather_inputs(vault, today=date(2024, 6, 1))
    assert inputs.values["smoker"] is True
    assert inputs.origin["smoker"].startswith(
        "from the record: smoking status 'current_every_day' on 2024-01-15"
    )
    assert inputs.origin["smoker"].endswith("the profile says False")
    assert inputs.values["hypertension"] is True
    assert "Hypertensive disorder" in inputs.origin["hypertension"]
    assert inputs.values["bp_treated"] is True
    assert "lisinopril" in inputs.origin["bp_treated"]
    assert inputs.values["statin"] is False  # the stopped statin does not count
    assert inputs.values["egfr"] == 72.0
    _measure(vault, "total_cholesterol", 210, "mg/dL")
    _measure(vault, "hdl_cholesterol", 48, "mg/dL")
    _measure(vault, "blood_pressure_systolic", 142, "mmHg")
    _measure(vault, "bmi", 28.0, "kg/m2")
    report = risk_report(vault, today=date(2024, 6, 1))
    by_name = {s.name: s for s in report.scores}
    prevent = by_name["AHA PREVENT: 10-year total cardiovascular disease"]
    expected = prevent_risk("total_cvd", 60, "male", 210, 48, 142, True, False, False, True, 72, 28)
    assert prevent.value == pytest.approx(expected, abs=0.05)
    assert prevent.based_on == date(2023, 2, 1)  # the oldest record it used: the lisinopril
    assert report.lineage is not None
    assert report.lineage.purpose == "twin_core"


def test_an_input_held_but_not_granted_says_so_and_how(store: Store) -> None:
    person = store.add_person("Zed")
    vault = store.vault(person)
    import_file(store, person, MADE / "fhir_bundle.json", timezone="UTC")
    vault.grant(Scope.parse("domain:vitals"), Purpose.TWIN_CORE)  # not the lab values
    vault.set_profile(smoker="no", bp_treated="no", statin="no", diabetes="no")
    inputs = gather_inputs(vault, today=date(2024, 6, 1))
    assert "total_chol" not in inputs.values
    hint = inputs.not_granted["total_chol"]
    assert hint.startswith("in the vault but not granted for the twin_core purpose")
    assert (
        "lifetwin consent grant 'Zed' --scope metric:total_cholesterol --purpose twin_core" in hint
    )
    pce = next(r for r in all_scores(inputs) if r.name.startswith("ACC/AHA"))
    assert pce.inputs["total_chol"] == hint
    assert pce.inputs["sbp"] == "missing"  # not in the vault at all
    assert pce.refused is not None
    assert pce.refused.startswith("not granted for the twin_core purpose: total_chol, hdl")
