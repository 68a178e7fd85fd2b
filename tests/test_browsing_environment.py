"""Browsing, media and environment sources."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from lifetwin.core.model import Event
from lifetwin.privacy.consent import Purpose
from lifetwin.services.importer import import_file
from lifetwin.store.vault import Person, Store

SELF = Purpose.SELF_ACCESS
REAL = Path(__file__).parent / "fixtures" / "realdata"
MADE = Path(__file__).parent / "fixtures" / "generated"


@pytest.fixture
def ada(store: Store) -> Person:
    return store.add_person("Ada")


def _viewed(store: Store, person: Person) -> list[Event]:
    return [
        e
        for e in store.vault(person).read_records("event:content_viewed", purpose=SELF)
        if isinstance(e, Event)
    ]


def test_takeout_my_activity_html_inside_the_zip(store: Store, ada: Person) -> None:
    summary = import_file(
        store, ada, REAL / "browser_history" / "promnesia_takeout-20150518T000000Z.zip"
    )
    assert summary.format == "my_activity"
    assert summary.problem_count == 0
    visits = _viewed(store, ada)
    assert visits
    first = next(
        v for v in visits if v.details.get("url") == "https://takeout.google.com/settings/takeout"
    )
    assert first.title == "Download your data"
    assert first.start == datetime(2018, 9, 18, 5, 48, 23, tzinfo=UTC)
    assert first.details["product"] == "Chrome"
    assert first.details["domain"] == "takeout.google.com"


def test_chrome_history_is_read_from_a_copy(store: Store, ada: Person, tmp_path: Path) -> None:
    path = tmp_path / "History"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE urls (id INTEGER PRIMARY KEY, url TEXT, title TEXT, "
            "visit_count INTEGER, last_visit_time INTEGER)"
        )
        db.execute(
            "CREATE TABLE visits (id INTEGER PRIMARY KEY, url INTEGER, visit_time "
            "INTEGER, visit_duration INTEGER)"
        )
        db.execute("INSERT INTO urls VALUES (1, 'https://example.org/a', 'A page', 1, 0)")
        # 13,350,000,000 s after 1601-01-01 is 2024-01-16T13:20:00Z
        db.execute("INSERT INTO visits VALUES (7, 1, 13350000000000000, 5000000)")
    before = path.read_bytes()
    summary = import_file(store, ada, path)
    assert summary.format == "browser_history"
    (visit,) = _viewed(store, ada)
    assert visit.start == datetime(1601, 1, 1, tzinfo=UTC) + timedelta(seconds=13350000000)
    assert visit.details["seconds"] == 5.0
    assert path.read_bytes() == before  # the live file is never touched


def test_firefox_places(store: Store, ada: Person, tmp_path: Path) -> None:
    path = tmp_path / "places.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT, title TEXT)")
        db.execute(
            "CREATE TABLE moz_historyvisits (id INTEGER PRIMARY KEY, place_id INTEGER, "
            "visit_date INTEGER)"
        )
        db.execute("INSERT INTO moz_places VALUES (3, 'https://mozilla.org/', 'Mozilla')")
        db.execute("INSERT INTO moz_historyvisits VALUES (9, 3, 1700000000000000)")
    import_file(store, ada, path)
    (visit,) = _viewed(store, ada)
    assert visit.start == datetime.fromtimestamp(1_700_000_000, UTC)
    assert visit.title == "Mozilla"


def test_netflix_and_spotify(store: Store, ada: Person) -> None:
    import_file(store, ada, MADE / "media" / "ViewingActivity.csv")
    import_file(store, ada, MADE / "media" / "StreamingHistory0.json", timezone="Europe/Berlin")
    titles = [v.title for v in _viewed(store, ada)]
    assert "The Show: Season 1: Pilot (Episode 1)" in titles
    assert "Feeling Good" in titles
    minutes = store.vault(ada).read_series("media_minutes", purpose=SELF)
    assert sorted(minutes.values.tolist()) == pytest.approx([1.0, 2.95, 42.166667], abs=1e-3)


def test_open_meteo_weather(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, MADE / "open_meteo.csv")
    assert summary.format == "open_meteo"
    assert summary.ok
    vault = store.vault(ada)
    temps = vault.series_observations(vault.read_series("ambient_temperature", purpose=SELF))
    first = next(iter(temps))
    assert first.value == 2.1
    assert first.start == datetime(2024, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    assert vault.read_series("relative_humidity", purpose=SELF).values.tolist() == [85.0, 87.0]


def test_home_assistant_sensors(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, MADE / "home_assistant_history.csv")
    assert summary.format == "smart_home"
    assert summary.skipped == {
        "other entities or unavailable states (not a sensor LifeTwin reads)": 2
    }
    vault = store.vault(ada)
    assert vault.read_series("indoor_temperature", purpose=SELF).values.tolist() == [21.4]
    co2 = vault.read_series("co2", purpose=SELF)
    assert co2.values.tolist() == [812.0]
    assert co2.streams[0].device == "sensor.office_co2"


def test_a_short_netflix_row_is_a_problem_and_the_rest_is_read(tmp_path: Path) -> None:
    """A row cut off before its Duration (the fuzzer found it crashing the connector)."""
    from lifetwin.core.model import Problem
    from lifetwin.sources.base import ReadOptions
    from lifetwin.sources.browsing import MediaHistoryConnector

    lines = (MADE / "media" / "ViewingActivity.csv").read_text().splitlines()
    short = tmp_path / "ViewingActivity.csv"
    short.write_text("\n".join([lines[0], "Ada,2024-01-03 20:15:00", *lines[1:]]) + "\n")
    items = list(MediaHistoryConnector().read(short, ReadOptions(timezone="UTC")))
    problems = [i for i in items if isinstance(i, Problem)]
    assert [p.line for p in problems] == [2]
    assert "cannot be read" in problems[0].reason
    assert any(not isinstance(i, Problem) for i in items)
