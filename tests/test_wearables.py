"""Fitbit (Takeout and Web API), Google Fit REST and Oura API v2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from lifetwin.privacy.consent import Purpose
from lifetwin.services.importer import import_file
from lifetwin.store.vault import Person, Store

SELF = Purpose.SELF_ACCESS
REAL = Path(__file__).parent / "fixtures" / "realdata" / "fitbit_googlefit"
MADE = Path(__file__).parent / "fixtures" / "generated"


@pytest.fixture
def ada(store: Store) -> Person:
    return store.add_person("Ada")


def test_fitbit_web_api_intraday_heart_rate(store: Store, ada: Person) -> None:
    summary = import_file(
        store, ada, REAL / "shimmer_fitbit-activities-heart-1d-1m-intraday.json", timezone="UTC"
    )
    assert summary.format == "fitbit"
    series = store.vault(ada).read_series("heart_rate", purpose=SELF)
    assert series.values.tolist() == [64.0, 63.0, 64.0, 65.0, 65.0]
    assert series.times()[0].astype(str) == "2015-08-21T00:01:00.000"


def test_google_fit_heart_rate_points(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, REAL / "shimmer_googlefit-heart-rate.json")
    assert summary.format == "google_fit"
    vault = store.vault(ada)
    obs = list(vault.series_observations(vault.read_series("heart_rate", purpose=SELF)))
    assert [o.value for o in obs] == [54.0, 58.0]
    assert obs[0].start == datetime.fromtimestamp(1422632268.186, UTC)
    assert obs[0].device == "com.azumio.instantheartrate.full"


def test_fitbit_takeout_files(store: Store, ada: Person) -> None:
    folder = MADE / "fitbit"
    for name in (
        "heart_rate-2020-01-01.json",
        "sleep-2020-01-02.json",
        "resting_heart_rate-2020-01-01.json",
        "weight-2020-01-01.json",
        "Daily SpO2 - 2021-01-01.csv",
    ):
        summary = import_file(store, ada, folder / name, timezone="Europe/Berlin")
        assert summary.format == "fitbit", name
        assert summary.problem_count == 0, summary.problems
    vault = store.vault(ada)
    assert vault.read_series("heart_rate", purpose=SELF).values.tolist() == [72.0, 74.0, 71.0]
    assert vault.read_series("resting_heart_rate", purpose=SELF).values.tolist() == [58.62]
    assert vault.read_series("body_mass", purpose=SELF).values[0] == pytest.approx(
        165.3 * 0.45359237
    )
    assert vault.read_series("oxygen_saturation", purpose=SELF).values.tolist() == [96.4, 95.8]
    stages = vault.read_records("sleep_stage", purpose=SELF)
    assert [s.value for s in stages] == ["awake", "light", "deep", "rem"]  # type: ignore[union-attr]
    cet = timezone(timedelta(hours=1))
    assert stages[2].start == datetime(2020, 1, 2, 0, 10, tzinfo=cet)
    assert vault.read_series("sleep_duration", purpose=SELF).values.tolist() == [412.0]


def test_oura_sleep_and_readiness(store: Store, ada: Person) -> None:
    import_file(store, ada, MADE / "oura" / "sleep.json")
    summary = import_file(store, ada, MADE / "oura" / "daily_readiness.json")
    assert summary.format == "oura"
    vault = store.vault(ada)
    assert vault.read_series("sleep_duration", purpose=SELF).values.tolist() == [420.0]
    assert vault.read_series("resting_heart_rate", purpose=SELF).values.tolist() == [48.0]
    assert vault.read_series("hrv_rmssd", purpose=SELF).values.tolist() == [42.0]
    assert vault.read_series("heart_rate", purpose=SELF).values.tolist() == [55.0, 52.0]
    stages = vault.read_records("sleep_stage", purpose=SELF)
    assert len(stages) == 10
    assert stages[0].value == "awake"  # type: ignore[union-attr]
    assert vault.read_series("readiness_score", purpose=SELF).values.tolist() == [84.0]
    assert vault.read_series("skin_temperature_deviation", purpose=SELF).values.tolist() == [-0.21]
