"""Insights: planted effects are found, noise is not, and the sentence is honest."""

from __future__ import annotations

import numpy as np

from lifetwin.capabilities.insights import benjamini_hochberg, daily_table, find_insights
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.vault import DAY_MS, Store


def test_a_planted_next_day_effect_is_found_with_its_interval() -> None:
    rng = np.random.default_rng(3)
    steps = rng.normal(8000, 2500, 150)
    sleep = rng.normal(420, 30, 150)
    sleep[1:] += 0.01 * (steps[:-1] - 8000)  # +25 min the night after 2,500 more steps
    found = find_insights({"steps": steps, "sleep_duration": sleep}, {"sleep_duration": "min"})
    best = found[0]
    assert (best.cause, best.effect, best.lag_days) == ("steps", "sleep_duration", 1)
    assert best.ci_low > 0
    assert best.ci_low < best.difference < best.ci_high
    assert "not proof that one causes the other" in best.sentence
    assert "The day after days when your steps was above" in best.sentence


def test_pure_noise_rarely_gives_insights() -> None:
    # Under no effect at all, BH at 5 % keeps the chance of any discovery near 5 %.
    with_any = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        table = {name: rng.normal(0, 1, 90) for name in ("a", "b", "c", "d")}
        with_any += bool(find_insights(table, {}))
    assert with_any <= 6


def test_benjamini_hochberg_is_monotone_and_bounded() -> None:
    p = np.array([0.001, 0.2, 0.03, 0.04, 0.9])
    q = benjamini_hochberg(p)
    assert np.all(q >= p)
    assert np.all(q <= 1)
    order = np.argsort(p)
    assert np.all(np.diff(q[order]) >= 0)


def test_the_daily_table_sums_intervals_and_averages_instants(store: Store) -> None:
    person = store.add_person("Ada")
    vault = store.vault(person)
    vault.grant(Scope.parse("all"), Purpose.TWIN_CORE)
    days = 40
    z = np.zeros(2 * days, dtype=np.int64)
    ts = np.repeat(np.arange(days, dtype=np.int64) * DAY_MS, 2) + np.tile(
        [3_600_000, 7_200_000], days
    )
    vault.write_columns(
        "steps", "w", None, "count", Columns(ts, z + 60_000, np.full(2 * days, 100.0), z, z, z, z)
    )
    vault.write_columns(
        "resting_heart_rate",
        "w",
        None,
        "bpm",
        Columns(ts, z, np.tile([50.0, 60.0], days), z, z, z, z),
    )
    table, units = daily_table(vault)
    assert table["steps"].tolist() == [200.0] * days
    assert table["resting_heart_rate"].tolist() == [55.0] * days
    assert units == {"steps": "count", "resting_heart_rate": "bpm"}
