"""Garmin FIT, TCX and GPX activities: exact values from real files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from lifetwin.core.model import Event
from lifetwin.privacy.consent import Purpose
from lifetwin.services.importer import import_file
from lifetwin.store.vault import Person, Store

SELF = Purpose.SELF_ACCESS
FIT = Path(__file__).parent / "fixtures" / "realdata" / "garmin_fit"
TCX = Path(__file__).parent / "fixtures" / "realdata" / "gpx_tcx"
GPX = Path(__file__).parent / "fixtures" / "realdata" / "apple_health"


@pytest.fixture
def ada(store: Store) -> Person:
    return store.add_person("Ada")


def test_a_fit_run_gives_its_records_and_a_workout(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, FIT / "garmin-fenix-5-run.fit")
    assert summary.format == "fit"
    assert summary.problem_count == 0
    vault = store.vault(ada)
    hr = vault.read_series("heart_rate", purpose=SELF)
    assert len(hr) == 21
    assert (hr.values[0], hr.values[-1]) == (61.0, 112.0)
    assert hr.times()[0] == np.datetime64("2017-06-11T14:34:09.000")  # FIT is UTC
    assert set(hr.columns.tz_min.tolist()) == {-420}  # from the activity's local time
    (run,) = vault.read_records("event:workout", purpose=SELF)
    assert isinstance(run, Event)
    assert run.title == "Running"
    assert run.start == datetime(2017, 6, 11, 14, 34, 9, tzinfo=UTC)
    assert run.start.utcoffset() == timedelta(hours=-7)
    assert run.details["distance_m"] == pytest.approx(157.56)
    assert run.details["duration_min"] == pytest.approx(56.887 / 60)
    assert run.details["avg_heart_rate_bpm"] == 90.0
    assert run.details["route"]["points"] == 21
    assert run.details["hrv_rmssd_ms"] > 0


def test_fit_weight_scale_and_monitoring(store: Store, ada: Person) -> None:
    import_file(store, ada, FIT / "WeightScaleSingleUser.fit")
    import_file(store, ada, FIT / "MonitoringFile.fit")
    vault = store.vault(ada)
    weight = vault.read_series("body_mass", purpose=SELF)
    assert weight.values[0] == 75.8
    assert weight.times()[0] == np.datetime64("2009-09-09T21:38:00.000")
    assert vault.read_series("body_fat", purpose=SELF).values[0] == 22.3
    steps = vault.read_series("steps", purpose=SELF)
    assert len(steps) > 50
    assert np.all(steps.values > 0)


def test_a_damaged_fit_file_is_a_problem_not_a_crash(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    data = (FIT / "garmin-edge-820-bike.fit").read_bytes()
    broken = tmp_path / "broken.fit"
    broken.write_bytes(data[: len(data) // 2])
    summary = import_file(store, ada, broken)
    assert summary.problem_count == 1
    assert "damaged or truncated" in summary.problems[0].reason


def test_tcx_laps_trackpoints_and_heart_rate(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, TCX / "tcxparser_test.tcx")
    assert summary.format == "tcx"
    vault = store.vault(ada)
    hr = vault.read_series("heart_rate", purpose=SELF)
    assert hr.values[0] == 62.0
    assert hr.times()[0] == np.datetime64("2012-12-26T21:29:53.000")
    (run,) = vault.read_records("event:workout", purpose=SELF)
    assert run.title == "Running"
    assert run.details["distance_m"] == pytest.approx(4689.24267578)  # type: ignore[union-attr]
    assert run.details["notes"] == "Aerobics"  # type: ignore[union-attr]


def test_gpx_track_becomes_a_workout_with_its_route(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, GPX / "hk2sqlite_route_2019-06-11_3.00pm.gpx")
    assert summary.format == "gpx"
    (walk,) = store.vault(ada).read_records("event:workout", purpose=SELF)
    assert walk.title == "Route 2019-06-11 3:00pm"
    assert walk.details["route"]["points"] == 3  # type: ignore[union-attr]
    assert walk.start == datetime(2019, 6, 11, 22, 0, 42, tzinfo=UTC)
