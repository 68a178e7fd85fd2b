"""Insights: planted effects are found, noise is not, and the sentence is honest."""

from __future__ import annotations

import numpy as np

from lifetwin.capabilities.insights import (
    LAGS,
    RELATED,
    benjamini_hochberg,
    daily_table,
    find_insights,
    pairs,
    related,
)
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
    assert best.headline.startswith("The day after you walk ")
    assert "more steps, you sleep " in best.headline
    assert " min longer on average." in best.headline
    assert best.cause_difference > 1000  # the steps of the high days against the others


def test_sentences_have_units_and_people_numbers_never_codes_or_exponents() -> None:
    rng = np.random.default_rng(5)
    n = 120
    steps = rng.normal(8000, 2500, n)
    mood = np.clip(rng.normal(0.2, 0.2, n) + 0.00008 * (steps - 8000), -1, 1)
    hrv = rng.normal(55, 8, n)
    heart = rng.normal(68, 3, n) - 0.2 * (hrv - 55)
    table = {"steps": steps, "mood_valence": mood, "hrv_sdnn": hrv, "heart_rate": heart}
    units = {
        "steps": "count",
        "mood_valence": "dimensionless",
        "hrv_sdnn": "ms",
        "heart_rate": "bpm",
    }
    found = find_insights(table, units, fdr=0.1)
    assert found, "the planted effects are found"
    for insight in found:
        for bad in ("e+0", "e-0", "dimensionless", "count", "hrv sdnn", "heart_rate", "_"):
            assert bad not in insight.sentence, (bad, insight.sentence)
    steps_mood = next(i for i in found if (i.cause, i.effect) == ("steps", "mood_valence"))
    assert "more steps" in steps_mood.headline
    assert "points better" in steps_mood.headline
    assert "(−1 to +1)" not in steps_mood.headline  # a difference is in points


def test_pairs_that_measure_one_thing_two_ways_are_never_tested() -> None:
    # Heart rate and resting heart rate move together by construction; steps and distance too.
    rng = np.random.default_rng(11)
    n = 120
    heart = rng.normal(70, 4, n)
    steps = rng.normal(8000, 2500, n)
    table = {
        "heart_rate": heart,
        "resting_heart_rate": heart - 12 + rng.normal(0, 0.5, n),
        "steps": steps,
        "distance": steps * 0.75,
        "blood_pressure_systolic": rng.normal(120, 8, n),
    }
    table["blood_pressure_diastolic"] = table["blood_pressure_systolic"] * 0.65
    found = find_insights(table, {}, fdr=0.2)
    assert [(i.cause, i.effect) for i in found if related(i.cause, i.effect)] == []
    kept, left_out = pairs(sorted(table), LAGS)
    assert left_out == 3 * 2 * 3  # three related pairs, both ways, three lags each
    assert all(not related(a, b) for a, b, _ in kept)


def test_every_related_group_names_metrics_that_exist() -> None:
    from lifetwin.core.vocabulary import metric_codes

    known = set(metric_codes())
    for why, group, hub in RELATED:
        assert hub is None or hub in group, why
        assert group <= known, (why, group - known)


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
