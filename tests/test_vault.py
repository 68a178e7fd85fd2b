"""The store and its vaults, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from lifetwin.core.errors import MasterKeyError, PersonError, StoreError
from lifetwin.core.model import Event, EventKind, Observation, Quarantined
from lifetwin.privacy.consent import Purpose
from lifetwin.store.codec import Columns
from lifetwin.store.crypto import MasterKey
from lifetwin.store.sql import SQLBackend as Backend
from lifetwin.store.vault import DAY_MS, Store

SELF = Purpose.SELF_ACCESS

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def minute_series(n: int, start_ms: int = T0, seed: int = 1) -> Columns:
    rng = np.random.default_rng(seed)
    z = np.zeros(n, dtype=np.int64)
    return Columns(
        ts_ms=start_ms + np.arange(n, dtype=np.int64) * 60_000,
        dur_ms=z,
        value=np.clip(70 + np.cumsum(rng.integers(-2, 3, n)), 40, 180).astype(np.float64),
        tz_min=z + 60,
        quality=z,
        import_id=z + 1,
        record=np.arange(n, dtype=np.int64) + 2,
    )


def test_a_series_reads_back_exactly(store: Store) -> None:
    vault = store.vault(store.add_person("Ada"))
    cols = minute_series(5000)
    counts = vault.write_columns("heart_rate", "watch", "W1", "bpm", cols)
    assert counts.added == 5000
    series = vault.read_series("heart_rate", purpose=SELF)
    assert np.array_equal(series.ts_ms, cols.ts_ms)
    assert np.array_equal(series.values, cols.value)
    assert np.array_equal(series.columns.tz_min, cols.tz_min)
    assert series.unit == "bpm"


def test_ranged_reads_include_the_start_and_exclude_the_end(store: Store) -> None:
    vault = store.vault(store.add_person("Ada"))
    cols = minute_series(3 * 1440)
    vault.write_columns("heart_rate", "watch", None, "bpm", cols)
    since = datetime.fromtimestamp((T0 + 100 * 60_000) / 1000, UTC)
    until = since + timedelta(days=1)
    series = vault.read_series("heart_rate", purpose=SELF, since=since, until=until)
    assert len(series) == 1440
    assert series.ts_ms[0] == T0 + 100 * 60_000
    assert series.ts_ms[-1] == T0 + (100 + 1439) * 60_000


def test_writing_the_same_data_twice_adds_nothing(store: Store) -> None:
    vault = store.vault(store.add_person("Ada"))
    cols = minute_series(2000)
    vault.write_columns("heart_rate", "watch", None, "bpm", cols)
    again = vault.write_columns("heart_rate", "watch", None, "bpm", cols)
    assert (again.added, again.duplicates, again.changed) == (0, 2000, 0)
    assert len(vault.read_series("heart_rate", purpose=SELF)) == 2000


def test_a_newer_value_for_the_same_time_replaces_the_old(store: Store) -> None:
    vault = store.vault(store.add_person("Ada"))
    cols = minute_series(100)
    vault.write_columns("heart_rate", "watch", None, "bpm", cols)
    fixed = cols.take(slice(10, 20))
    fixed.value = fixed.value + 1
    counts = vault.write_columns("heart_rate", "watch", None, "bpm", fixed)
    assert (counts.added, counts.changed) == (0, 10)
    values = vault.read_series("heart_rate", purpose=SELF).values
    assert np.array_equal(values[10:20], cols.value[10:20] + 1)
    assert np.array_equal(values[:10], cols.value[:10])


def test_sources_stay_apart_and_merge_on_read(store: Store) -> None:
    vault = store.vault(store.add_person("Ada"))
    vault.write_columns("heart_rate", "watch", None, "bpm", minute_series(10))
    vault.write_columns("heart_rate", "strap", None, "bpm", minute_series(10, T0 + 30_000, 2))
    both = vault.read_series("heart_rate", purpose=SELF)
    assert len(both) == 20
    assert np.all(np.diff(both.ts_ms) > 0)
    assert len(vault.read_series("heart_rate", source="strap", purpose=SELF)) == 10


def test_records_and_events_are_deduplicated(store: Store) -> None:
    vault = store.vault(store.add_person("Ada"))
    now = datetime(2026, 1, 2, 7, 0, tzinfo=UTC)
    items: list[Observation | Event] = [
        Observation(
            metric="sleep_stage",
            value="deep",
            start=now,
            end=now + timedelta(minutes=20),
            source="watch",
        ),
        Event(kind=EventKind.MEAL, start=now, details={"carbs_g": 45.0}, source="app"),
    ]
    assert vault.write_records(items).added == 2
    assert vault.write_records(items).added == 0
    meal = vault.read_records("event:meal", purpose=SELF)
    assert len(meal) == 1
    assert isinstance(meal[0], Event)
    assert meal[0].details == {"carbs_g": 45.0}
    assert vault.read_records("sleep_stage", purpose=SELF)[0].start == now


def test_quarantined_values_stay_visible_with_their_reason(store: Store) -> None:
    vault = store.vault(store.add_person("Ada"))
    bad = Observation(metric="heart_rate", value=900.0, start=datetime.now(UTC))
    assert vault.write_quarantine([Quarantined(observation=bad, reason="too high")]) == 1
    assert vault.write_quarantine([Quarantined(observation=bad, reason="too high")]) == 0
    kept = vault.quarantined(purpose=SELF)
    assert [q.reason for q in kept] == ["too high"]
    assert kept[0].observation.value == 900.0
    assert len(vault.read_series("heart_rate", purpose=SELF)) == 0


def test_person_names_are_unique_whatever_their_case(store: Store) -> None:
    store.add_person("Ada Lovelace")
    with pytest.raises(PersonError, match="already exists"):
        store.add_person("ada lovelace")
    assert store.person("ADA LOVELACE").name == "Ada Lovelace"
    with pytest.raises(PersonError, match="no person 'Bob'"):
        store.person("Bob")


def test_erasing_a_person_leaves_others_untouched(store: Store) -> None:
    ada, bob = store.add_person("Ada"), store.add_person("Bob")
    store.vault(ada).write_columns("heart_rate", "w", None, "bpm", minute_series(500))
    store.vault(bob).write_columns("heart_rate", "w", None, "bpm", minute_series(700))
    store.erase(ada)
    assert [p.name for p in store.persons()] == ["Bob"]
    assert len(store.vault(bob).read_series("heart_rate", purpose=SELF)) == 700
    with pytest.raises(PersonError):
        store.vault(ada)


def test_another_master_key_cannot_open_the_store(backend: Backend, master: MasterKey) -> None:
    Store.initialize(backend, master)
    with pytest.raises(MasterKeyError, match="does not open this store"):
        Store.open(backend, MasterKey.generate())


def test_rotating_the_master_key_keeps_every_vault_readable(
    backend: Backend, master: MasterKey
) -> None:
    store = Store.initialize(backend, master)
    ada = store.add_person("Ada")
    store.vault(ada).write_columns("heart_rate", "w", None, "bpm", minute_series(100))
    new = MasterKey.generate()
    store.rotate_master_key(new)
    reopened = Store.open(backend, new)
    assert (
        len(reopened.vault(reopened.person("Ada")).read_series("heart_rate", purpose=SELF)) == 100
    )
    with pytest.raises(MasterKeyError):
        Store.open(backend, master)


def test_a_block_moved_to_another_day_fails_its_integrity_check(store: Store) -> None:
    vault = store.vault(store.add_person("Ada"))
    vault.write_columns("heart_rate", "w", None, "bpm", minute_series(2 * 1440))
    stream = vault.streams()[0]
    day = T0 // DAY_MS
    rows = dict(store.backend.block_get(vault.person.id, stream.id, day, day + 1))
    # Swap the two days' ciphertexts: each is bound to its own day.
    store.backend.block_put(
        vault.person.id, stream.id, [(day, rows[day + 1]), (day + 1, rows[day])]
    )
    with pytest.raises(StoreError, match="integrity check"):
        vault.read_series("heart_rate", purpose=SELF)
