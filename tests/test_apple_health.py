"""Apple Health exports: exact values from real fixtures, zips with routes, and attacks."""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from lifetwin.core.model import Event
from lifetwin.privacy.consent import Purpose
from lifetwin.services.importer import import_file
from lifetwin.store.vault import Person, Store

SELF = Purpose.SELF_ACCESS
FIXTURES = Path(__file__).parent / "fixtures" / "realdata" / "apple_health"
PDT = timezone(timedelta(hours=-7))


@pytest.fixture
def ada(store: Store) -> Person:
    return store.add_person("Ada")


def _zip(tmp_path: Path) -> Path:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(FIXTURES / "hk2sqlite_zip_export.xml", "apple_health_export/export.xml")
        archive.write(
            FIXTURES / "hk2sqlite_route_2019-06-11_3.00pm.gpx",
            "apple_health_export/workout-routes/route_2019-06-11_3.00pm.gpx",
        )
    return path


def test_records_are_read_with_their_values_times_units_and_devices(
    store: Store, ada: Person
) -> None:
    summary = import_file(store, ada, FIXTURES / "hk2sqlite_export.xml")
    assert summary.format == "apple_health"
    assert summary.problem_count == 0
    vault = store.vault(ada)
    (hr,) = vault.series_observations(vault.read_series("heart_rate", purpose=SELF))
    assert hr.value == 72.0
    assert hr.unit == "bpm"
    assert hr.start == datetime(2018, 9, 10, 2, 28, 55, tzinfo=PDT)
    assert hr.start.utcoffset() == timedelta(hours=-7)
    assert hr.source == "Apple Watch"
    assert hr.device == "Apple Watch Watch2,4"
    bmi = vault.read_series("bmi", purpose=SELF)
    assert bmi.values.tolist() == [22.5312]  # HealthKit writes BMI with unit "count"
    days = vault.read_series("exercise_minutes", purpose=SELF, source="Apple Activity summary")
    assert days.values.tolist() == [68.0, 39.0]


def test_a_workout_keeps_distance_energy_metadata_and_inline_route(
    store: Store, ada: Person
) -> None:
    import_file(store, ada, FIXTURES / "hk2sqlite_export.xml")
    (run,) = store.vault(ada).read_records("event:workout", purpose=SELF)
    assert isinstance(run, Event)
    assert run.title == "Running"
    assert run.start == datetime(2016, 11, 14, 7, 25, 41, tzinfo=PDT)
    assert run.details["distance_m"] == pytest.approx(0.4971749504535062 * 1609.344)
    assert run.details["energy_kcal"] == pytest.approx(48.745)
    assert run.details["duration_min"] == pytest.approx(5.19412346680959)
    assert run.details["time_zone"] == "America/Los_Angeles"
    assert run.details["metadata"]["HKWeatherTemperature"] == "56 degF"
    assert run.details["route"]["points"] == 2
    assert run.details["route"]["data"][0][1:3] == [37.7777, -122.426]


def test_a_zip_export_reads_its_gpx_route(store: Store, ada: Person, tmp_path: Path) -> None:
    summary = import_file(store, ada, _zip(tmp_path))
    assert summary.problem_count == 0
    (run,) = store.vault(ada).read_records("event:workout", purpose=SELF)
    route = run.details["route"]  # type: ignore[union-attr]
    assert route["points"] == 3
    assert route["data"][0] == [1560290442000, 37.781672, -122.396397, 4.076904]


def test_sleep_stages_and_fractional_percentages(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, FIXTURES / "ahp_export.zip")
    assert summary.problem_count == 0
    vault = store.vault(ada)
    stages = vault.read_records("sleep_stage", purpose=SELF)
    assert {s.value for s in stages} <= {"in_bed", "asleep", "awake", "light", "deep", "rem"}  # type: ignore[union-attr]
    assert len(stages) == 2
    hr = vault.read_series("heart_rate", purpose=SELF)
    assert hr.values.tolist() == [74.0, 75.0]
    assert hr.columns.tz_min.tolist() == [120, 120]


def test_reimporting_the_zip_after_the_xml_adds_nothing_new(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    import_file(store, ada, FIXTURES / "hk2sqlite_export.xml")
    again = import_file(store, ada, _zip(tmp_path))
    assert again.stored == 0  # same records, same workout (its route does not make it new)


def test_a_billion_laughs_file_is_refused_quickly(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    lol = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    ]
    path = tmp_path / "export.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n' + "\n".join(lol) + "\n]>\n"
        '<HealthData><Record type="HKQuantityTypeIdentifierHeartRate" '
        'value="&lol9;"/></HealthData>\n'
    )
    refused = import_file(store, ada, path, fmt="apple_health")
    assert refused.fatal is not None
    assert "declares XML entities" in refused.fatal
    assert refused.stored == 0


def test_an_external_entity_is_never_read(store: Store, ada: Person, tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE HealthData [<!ENTITY xxe SYSTEM '
        '"file:///etc/passwd">]>\n<HealthData><Record sourceName="&xxe;"/></HealthData>'
    )
    refused = import_file(store, ada, path, fmt="apple_health")
    assert refused.fatal is not None
    assert "declares XML entities" in refused.fatal
    assert refused.stored == 0


def test_zip_path_traversal_and_bombs_are_refused(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("apple_health_export/export.xml", "<HealthData/>")
        archive.writestr("../../etc/cron.d/evil", "x")
    refused = import_file(store, ada, evil, fmt="apple_health")
    assert refused.fatal is not None
    assert "escapes its folder" in refused.fatal
    assert refused.stored == 0
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("apple_health_export/export.xml", b"<HealthData>" + b" " * 50_000_000)
    refused = import_file(store, ada, bomb, fmt="apple_health")
    assert refused.fatal is not None
    assert "zip bomb" in refused.fatal
    assert refused.stored == 0


def test_a_truncated_export_keeps_what_came_before(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    text = (FIXTURES / "hk2sqlite_export.xml").read_text()
    cut = tmp_path / "export.xml"
    cut.write_text(text[: text.index("<Workout")])
    summary = import_file(store, ada, cut)
    assert summary.problem_count == 1
    assert "malformed or truncated" in summary.problems[0].reason
    assert len(store.vault(ada).read_series("heart_rate", purpose=SELF)) == 1


def test_unknown_types_are_counted_and_skipped_not_errors(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    path = tmp_path / "export.xml"
    path.write_text(
        '<HealthData><ExportDate value="2024-01-01 10:00:00 +0100"/>'
        '<Record type="HKQuantityTypeIdentifierNumberOfTimesFallen" sourceName="W" unit="count" '
        'startDate="2024-01-01 09:00:00 +0100" endDate="2024-01-01 09:00:00 +0100" value="1"/>'
        '<Record type="HKQuantityTypeIdentifierOxygenSaturation" sourceName="W" unit="%" '
        'startDate="2024-01-01 09:00:00 +0100" endDate="2024-01-01 09:00:00 +0100" value="0.97"/>'
        "</HealthData>"
    )
    summary = import_file(store, ada, path)
    assert summary.ok
    assert summary.skipped == {
        "HKQuantityTypeIdentifierNumberOfTimesFallen (not in LifeTwin's vocabulary yet)": 1
    }
    spo2 = store.vault(ada).read_series("oxygen_saturation", purpose=SELF)
    assert spo2.values.tolist() == [97.0]
    assert np.all(spo2.columns.tz_min == 60)
