"""Portability: exports in CSV, Open mHealth and FHIR R4 that import back the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from fhir.resources.R4B.bundle import Bundle

from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.demo import create_demo
from lifetwin.services.export import export_person
from lifetwin.services.home import init_home
from lifetwin.services.importer import import_file
from lifetwin.store.vault import Store

SELF = Purpose.SELF_ACCESS
END = datetime(2026, 2, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = init_home(tmp_path_factory.mktemp("export") / "home")
    create_demo(store, days=2, seed=3, end=END)
    return store


def _snapshot(store: Store, name: str) -> dict[str, object]:
    vault = store.vault(store.person(name))
    out: dict[str, object] = {}
    for stream in vault.streams():
        key = f"{stream.metric}|{stream.source}|{stream.device}"
        if stream.numeric:
            s = vault.read_series(stream.metric, purpose=SELF, source=stream.source)
            out[key] = (
                s.ts_ms.tolist(),
                s.values.tolist(),
                s.columns.dur_ms.tolist(),
                s.columns.tz_min.tolist(),
                s.unit,
            )
        else:
            records = vault.read_records(stream.metric, purpose=SELF)
            out[key] = sorted(
                json.dumps(
                    r.model_dump(mode="json", exclude={"provenance", "person"}), sort_keys=True
                )
                for r in records
                if r.source == stream.source
            )
    return out


@pytest.mark.parametrize("fmt", ["csv", "omh"])
def test_an_export_imports_back_to_the_same_observations(
    demo: Store, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"alex.{'csv' if fmt == 'csv' else 'json'}"
    summary = export_person(demo, demo.person("Alex Demo"), fmt, path)
    assert summary.observations > 2 * 1440
    assert summary.events > 0
    copy = demo.add_person(f"Copy {fmt}")
    result = import_file(demo, copy, path)
    assert result.problem_count == 0, result.problems[:3]
    assert result.stored == summary.observations + summary.events
    assert _snapshot(demo, f"Copy {fmt}") == _snapshot(demo, "Alex Demo")
    demo.erase(copy)


def test_the_fhir_export_is_a_valid_r4_bundle(demo: Store, tmp_path: Path) -> None:
    path = tmp_path / "alex.fhir.json"
    summary = export_person(demo, demo.person("Alex Demo"), "fhir", path)
    raw = json.loads(path.read_text())
    bundle = Bundle.model_validate(raw)
    resources = [e.resource for e in bundle.entry]
    assert resources[0].__resource_type__ == "Patient"
    observations = [r for r in raw["entry"] if r["resource"]["resourceType"] == "Observation"]
    assert len(observations) == summary.observations
    heart = next(
        o["resource"]
        for o in observations
        if o["resource"]["code"]["coding"][0]["code"] == "8867-4"
    )
    assert heart["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert heart["valueQuantity"]["code"] == "/min"
    glucose = next(
        o["resource"]
        for o in observations
        if o["resource"]["code"]["coding"][0]["code"] == "2339-0"
    )
    assert glucose["valueQuantity"]["code"] == "mg/dL"


def test_an_export_for_a_recipient_holds_only_what_they_were_granted(
    demo: Store, tmp_path: Path
) -> None:
    person = demo.person("Alex Demo")
    vault = demo.vault(person)
    grant = vault.grant(Scope.parse("metric:glucose"), Purpose.SHARING, recipient="dr-jones")
    vault.grant(Scope.parse("metric:journal_note"), Purpose.SHARING, recipient="dr-jones")
    path = tmp_path / "for-dr-jones.csv"
    export_person(demo, person, "csv", path, recipient="dr-jones")
    text = path.read_text()
    metrics = {line.split(",")[2] for line in text.splitlines()[1:]}
    assert metrics == {"glucose", "journal_note"}
    bundle = tmp_path / "for-dr-jones.fhir.json"
    export_person(demo, person, "fhir", bundle, recipient="dr-jones")
    patient = json.loads(bundle.read_text())["entry"][0]["resource"]
    assert "name" not in patient
    assert patient["id"] == demo.pseudonym(person, "dr-jones") != demo.pseudonym(person, "coach")
    assert person.id not in bundle.read_text()
    vault.revoke(grant.id)
    export_person(demo, person, "csv", path, recipient="dr-jones")
    assert "glucose" not in path.read_text()
    assert np.array_equal(
        np.array([e.action for e in demo.audit.entries(person.id, None)][-1:]), ["export"]
    )
