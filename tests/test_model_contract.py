"""Every registered per-person model keeps the model contract (see
lifetwin.capabilities.models): learn one, predict one with an interval, explain one,
clone, save and load. New models are covered by registering them."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lifetwin.capabilities.models import registered

MODELS = registered()


def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    return [tree]


def _trained(name: str, n: int = 400, seed: int = 1) -> tuple[Any, list[tuple[Any, Any]]]:
    model = MODELS[name]()
    data = model.example(n, seed)
    for x, y in data:
        model.learn_one(x, y)
    return model, data


def test_the_registry_holds_the_glucose_and_daily_models() -> None:
    assert {"glucose", "daily"} <= set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_predictions_come_with_intervals_around_them(name: str) -> None:
    model, data = _trained(name)
    predictions = model.predict_one(data[-1][0])
    assert predictions
    horizons = [p.horizon for p in predictions]
    assert horizons == sorted(set(horizons))
    for p in predictions:
        assert math.isfinite(p.value)
        assert p.low <= p.value <= p.high


@pytest.mark.parametrize("name", sorted(MODELS))
def test_intervals_cover_about_what_they_claim_on_new_data(name: str) -> None:
    model, _ = _trained(name, n=1500, seed=2)
    fresh = MODELS[name]().example(600, 3)
    hits = total = 0
    if name == "glucose":
        for x, y in fresh[:-30]:
            for p in model.predict_one(x):
                actual = float(x[1]) * 100 + y[p.horizon]
                if math.isfinite(actual):
                    hits += p.low <= actual <= p.high
                    total += 1
    else:
        for _, y in fresh:
            first = model.predict_one(None)[0]
            if y is not None and math.isfinite(y):
                hits += first.low <= y <= first.high
                total += 1
            model.learn_one(None, y)
    assert total > 100
    nominal = getattr(model, "coverage", 0.8)
    assert abs(hits / total - nominal) < 0.12, (hits / total, nominal)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_explanations_are_named_numbers(name: str) -> None:
    model, data = _trained(name)
    explained = model.explain_one(data[-1][0])
    leaves = _leaves(explained)
    assert leaves
    assert all(isinstance(v, float | int) and math.isfinite(v) for v in leaves)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_clone_is_fresh_with_the_same_settings(name: str) -> None:
    model, data = _trained(name)
    twin = model.clone()
    assert type(twin) is type(model)
    assert twin.to_json() != model.to_json()
    fresh = MODELS[name]()
    assert twin.to_json() == fresh.to_json()
    for x, y in data:
        twin.learn_one(x, y)
    assert twin.to_json() == model.to_json()  # the same data make the same model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_saved_model_loads_and_predicts_the_same(name: str) -> None:
    model, data = _trained(name)
    loaded = type(model).from_json(model.to_json())
    for a, b in zip(model.predict_one(data[-1][0]), loaded.predict_one(data[-1][0]), strict=True):
        assert (a.horizon, a.value, a.low, a.high) == (b.horizon, b.value, b.low, b.high)
    more = model.example(50, 9)
    for x, y in more:
        model.learn_one(x, y)
        loaded.learn_one(x, y)
    assert model.to_json() == loaded.to_json()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_learning_is_online_one_example_at_a_time(name: str) -> None:
    model = MODELS[name]()
    before = model.to_json()
    x, y = next((x, y) for x, y in reversed(model.example(60, 4)) if _finite(y))
    model.learn_one(x, y)
    assert model.to_json() != before


def _finite(y: Any) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in _leaves(y))
