"""Medical records in FHIR R4: HL7's examples, a generated bundle, bulk NDJSON, round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from lifetwin.core.model import Event
from lifetwin.privacy.consent import Purpose
from lifetwin.services.demo import create_demo
from lifetwin.services.export import export_person
from lifetwin.services.importer import import_file
from lifetwin.store.vault import Person, Store

SELF = Purpose.SELF_ACCESS
REAL = Path(__file__).parent / "fixtures" / "realdata" / "fhir"
MADE = Path(__file__).parent / "fixtures" / "generated"


@pytest.fixture
def ada(store: Store) -> Person:
    return store.add_person("Ada")


def test_hl7_vital_sign_examples(store: Store, ada: Person) -> None:
    import_file(
        store, ada, REAL / "hl7_r4_observation-example-heart-rate.json", timezone="Europe/Berlin"
    )
    bp = import_file(
        store, ada, REAL / "hl7_r4_observation-example-bloodpressure.json", timezone="Europe/Berlin"
    )
    assert bp.format == "fhir"
    vault = store.vault(ada)
    (hr,) = vault.series_observations(vault.read_series("heart_rate", purpose=SELF))
    assert hr.value == 44.0
    assert hr.start == datetime(1999, 7, 2, tzinfo=ZoneInfo("Europe/Berlin"))
    assert vault.read_series("blood_pressure_systolic", purpose=SELF).values.tolist() == [107.0]
    assert vault.read_series("blood_pressure_diastolic", purpose=SELF).values.tolist() == [60.0]


def test_a_bundle_of_labs_conditions_medications_and_visits(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, MADE / "fhir_bundle.json", timezone="UTC")
    assert summary.problem_count == 1
    assert "does not validate as FHIR R4" in summary.problems[0].reason
    assert summary.skipped == {"LOINC 59576-9 (not in LifeTwin's vocabulary yet)": 1}
    vault = store.vault(ada)
    assert vault.read_series("hba1c", purpose=SELF).values.tolist() == [6.1]
    # 5.5 mmol/L of cholesterol has no molar mass in the vocabulary: refused, not guessed.
    assert (
        summary.problem_count == 1 or len(vault.read_series("total_cholesterol", purpose=SELF)) == 0
    )
    assert vault.read_series("hdl_cholesterol", purpose=SELF).values.tolist() == [52.0]
    kinds = {s.metric for s in vault.streams() if s.metric.startswith("event:")}
    assert kinds == {
        "event:condition",
        "event:medication",
        "event:immunization",
        "event:allergy",
        "event:encounter",
        "event:procedure",
    }
    (condition,) = vault.read_records("event:condition", purpose=SELF)
    assert isinstance(condition, Event)
    assert condition.title == "Diabetes mellitus type 1"
    assert condition.details["status"] == "active"
    (visit,) = vault.read_records("event:encounter", purpose=SELF)
    assert visit.end is not None
    assert vault.profile() == {"birth_date": "1971-04-02", "sex": "female"}
    assert "Canary" not in json.dumps(vault.profile())


def test_bulk_ndjson(store: Store, ada: Person, tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "resourceType": "Observation",
                "id": f"o{i}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                "effectiveDateTime": f"2024-01-{i + 1:02d}T07:00:00Z",
                "valueQuantity": {
                    "value": 150 + i,
                    "system": "http://unitsofmeasure.org",
                    "code": "[lb_av]",
                },
            }
        )
        for i in range(20)
    ]
    path = tmp_path / "Observation.ndjson"
    path.write_text("\n".join(lines) + "\n")
    summary = import_file(store, ada, path)
    assert summary.stored == 20
    weights = store.vault(ada).read_series("body_mass", purpose=SELF).values
    assert weights[0] == pytest.approx(150 * 0.45359237)


def test_our_fhir_export_imports_back(tmp_path: Path, store: Store) -> None:
    person = create_demo(store, days=1, seed=9, end=datetime(2026, 1, 5, tzinfo=UTC)).person
    path = tmp_path / "alex.fhir.json"
    export_person(store, person, "fhir", path)
    copy = store.add_person("Copy")
    result = import_file(store, copy, path)
    assert result.problem_count == 0
    for metric_code in ("heart_rate", "glucose", "steps"):
        a = store.vault(person).read_series(metric_code, purpose=SELF)
        b = store.vault(copy).read_series(metric_code, purpose=SELF)
        assert np.array_equal(a.ts_ms, b.ts_ms)
        assert np.array_equal(a.values, b.values)
        assert [s.source for s in a.streams] == [s.source for s in b.streams]
