"""The twin's state: online baselines, determinism, as-of reconstruction, consent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from lifetwin.capabilities.twin_state import Baseline, TwinState, refresh_twin
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.vault import DAY_MS, Store

T0 = 20_000 * DAY_MS  # 2024-10-04, a Friday


def _write(store: Store, name: str, start_ms: int, values: np.ndarray) -> None:
    n = len(values)
    z = np.zeros(n, dtype=np.int64)
    ts = start_ms + np.arange(n, dtype=np.int64) * 3_600_000
    store.vault(store.person(name)).write_columns(
        "heart_rate", "w", None, "bpm", Columns(ts, z, values, z, z, z, z)
    )


def test_a_running_median_is_robust_to_outliers() -> None:
    rng = np.random.default_rng(1)
    baseline = Baseline()
    for value in rng.normal(60, 2, 3000):
        baseline.learn_one(float(value))
    before = baseline.centre
    baseline.learn_one(100_000.0)  # a mean would move by 33; the median steps by a hair
    assert abs(baseline.centre - before) < 0.2
    assert baseline.centre == pytest.approx(60, abs=1.0)
    assert 1.4826 * baseline.spread == pytest.approx(2, abs=0.6)
    z = baseline.z(66.0)
    assert z is not None
    assert 2 < z < 4


def test_the_state_is_online_deterministic_and_reconstructible(store: Store) -> None:
    person = store.add_person("Ada")
    vault = store.vault(person)
    vault.grant(Scope.parse("all"), Purpose.TWIN_CORE)
    rng = np.random.default_rng(2)
    _write(store, "Ada", T0, rng.normal(62, 2, 24 * 60).round())
    state, learned = refresh_twin(vault)
    assert learned == 24 * 60
    _write(store, "Ada", T0 + 60 * DAY_MS, rng.normal(62, 2, 24 * 10).round())
    state, learned = refresh_twin(vault)
    assert learned == 24 * 10  # only the new data
    rebuilt = TwinState.build(vault)
    assert rebuilt.to_json() == state.to_json()  # online == from scratch, same order
    cut = datetime.fromtimestamp((T0 + 60 * DAY_MS) / 1000, UTC)
    before = TwinState.build(vault, as_of=cut)
    assert before.overall["heart_rate"].n == 24 * 60
    assert TwinState.build(vault, as_of=cut).to_json() == before.to_json()
    friday_9h = TwinState.slot(T0 + 9 * 3_600_000, 0)
    assert friday_9h == 4 * 24 + 9
    assert before.hourly["heart_rate"][friday_9h].n == 9  # sixty days hold nine Fridays


def test_without_the_twin_core_grant_the_twin_sees_nothing_and_revoking_resets_it(
    store: Store,
) -> None:
    store.add_person("Ada")
    vault = store.vault(store.person("Ada"))
    _write(store, "Ada", T0, np.full(100, 60.0))
    state, learned = refresh_twin(vault)
    assert (learned, state.overall) == (0, {})
    grant = vault.grant(Scope.parse("domain:vitals"), Purpose.TWIN_CORE)
    assert refresh_twin(vault)[1] == 100
    assert vault.revoke(grant.id) == ["twin:state"]
    assert refresh_twin(vault)[0].overall == {}


def test_the_twin_command(cli: Callable[..., Any]) -> None:
    cli("init")
    cli("demo", "--days", "2")
    shown = cli("twin", "Alex Demo")
    assert shown.returncode == 0, shown.stderr
    assert "heart_rate" in shown.stdout
    assert "new observations learned" in shown.stdout
    assert "0 new observations learned" in cli("twin", "Alex Demo").stdout
