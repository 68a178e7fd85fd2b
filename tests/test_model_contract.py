"""Every registered per-person model keeps the model contract (lifetwin.models.contract):
learn one, predict one with an interval, explain one, clone, save and load; learning in
any split equals learning at once; through the runner (lifetwin.models.runner) on a real
store it reads only what its purpose was granted, learns only what is new after an ingest,
refits when the past changed, and what it saves carries lineage.

The models are the ones the installed packs register (``registry().models``) and the
example model of docs/models.md (so the tutorial keeps working); a new model is covered by
registering it. Nothing here depends on which model it is."""

from __future__ import annotations

import math
import re
import sys
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lifetwin.models.contract import (
    DAY_MS,
    ExampleData,
    ModelClass,
    PersonalModel,
    Prediction,
    PurposeNotGrantedError,
    register,
)
from lifetwin.models.runner import refit, state_name, update
from lifetwin.packs.registry import registry
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.crypto import MasterKey
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Store, Vault


def _docs_example() -> ModelClass:
    """The example model of docs/models.md, run as a module of its own."""
    text = (Path(__file__).parents[1] / "docs" / "models.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    code = next(b for b in blocks if b.startswith("# docs/models.md: an example model"))
    module = types.ModuleType("docs_models_example")
    sys.modules[module.__name__] = module
    exec(compile(code, "docs/models.md", "exec"), module.__dict__)
    return register(module.DailyMean)


MODELS = registry().models
CHECKED = {**MODELS, "daily_mean (docs/models.md)": _docs_example()}
TOLERANCE = 1e-6  # update-equals-refit: |a - b| <= TOLERANCE * (1 + |a|)
DAYS = 10  # of synthetic raw data written to a vault


@pytest.fixture(params=sorted(CHECKED))
def model_cls(request: pytest.FixtureRequest) -> ModelClass:
    return CHECKED[request.param]


def _trained(cls: ModelClass, n: int = 400, seed: int = 1) -> tuple[Any, list[tuple[Any, Any]]]:
    model = cls()
    data = cls.example(n, seed)
    model.learn_many([x for x, _ in data], [y for _, y in data])
    return model, data


def _numbers(predictions: Any) -> list[tuple[int, float, float, float]]:
    return [(p.horizon, p.value, p.low, p.high) for p in predictions]


def _close(a: Any, b: Any) -> bool:
    first, second = _numbers(a), _numbers(b)
    return len(first) == len(second) > 0 and all(
        h == k and all(abs(u - v) <= TOLERANCE * (1 + abs(u)) for u, v in zip(p, q, strict=True))
        for (h, *p), (k, *q) in zip(first, second, strict=True)
    )


def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    return [tree]


def test_the_packs_register_the_built_in_models_through_the_checked_hook() -> None:
    assert {"glucose", "daily"} <= set(MODELS)
    owners = {m for entry in registry().packs.values() for m in entry.models}
    assert set(MODELS) == owners
    for cls in MODELS.values():
        assert register(cls) is cls


def test_a_class_that_does_not_keep_the_contract_is_refused(model_cls: ModelClass) -> None:
    from lifetwin.core.errors import LifeTwinError

    class Half(PersonalModel[float, float]):  # type: ignore[misc]
        name = "half"

    with pytest.raises(LifeTwinError, match="does not implement"):
        register(Half)  # type: ignore[type-abstract]
    with pytest.raises(LifeTwinError, match="not a PersonalModel"):
        register(int)  # type: ignore[arg-type]

    class Needy(model_cls):  # type: ignore[valid-type,misc]
        def __init__(self, must: float) -> None:
            super().__init__()

    with pytest.raises(LifeTwinError, match="needs must"):
        register(Needy)


def test_the_spec_says_what_it_reads_and_for_what(model_cls: ModelClass) -> None:
    spec = model_cls().spec()
    assert spec.inputs
    assert set(spec.required) <= set(spec.inputs)
    assert spec.purpose in Purpose
    assert spec.horizons == tuple(sorted(set(spec.horizons)))
    assert spec.horizon_unit in (
        "min",
        "day",
    )
    assert spec.step_min > 0
    assert spec.context_min >= 0
    assert spec.settle_min >= 0
    assert spec.digest(model_cls().params()) == model_cls().spec().digest(model_cls().params())


def test_predictions_come_with_intervals_around_them(model_cls: ModelClass) -> None:
    model, data = _trained(model_cls)
    predictions = model.predict_one(data[-1][0])
    assert predictions
    horizons = [p.horizon for p in predictions]
    assert horizons == sorted(set(horizons))
    assert set(horizons) <= set(model.spec().horizons)
    for p in predictions:
        assert isinstance(p, Prediction)
        assert math.isfinite(p.value)
        assert p.low <= p.value <= p.high


def test_intervals_cover_about_what_they_claim_on_new_data(model_cls: ModelClass) -> None:
    model, _ = _trained(model_cls, n=1500, seed=2)
    hits = total = 0
    for x, y in model_cls.example(600, 3):  # each forecast made before its example is learned
        truth = model.truth(x, y)
        for p in model.predict_one(x):
            if p.horizon in truth:
                hits += p.low <= truth[p.horizon] <= p.high
                total += 1
        model.learn_one(x, y)
    assert total > 100
    assert abs(hits / total - model.coverage) < 0.12, (hits / total, model.coverage)


def test_explanations_are_named_numbers(model_cls: ModelClass) -> None:
    model, data = _trained(model_cls)
    leaves = _leaves(model.explain_one(data[-1][0]))
    assert leaves
    assert all(isinstance(v, float | int) and math.isfinite(v) for v in leaves)


def test_a_clone_is_fresh_with_the_same_settings(model_cls: ModelClass) -> None:
    model, data = _trained(model_cls)
    twin = model.clone()
    assert type(twin) is type(model)
    assert twin.params() == model.params()
    assert list(twin.predict_one(data[-1][0])) == []  # it has learned nothing
    assert twin.to_state() == model_cls().to_state()
    twin.learn_many([x for x, _ in data], [y for _, y in data])
    assert twin.to_state() == model.to_state()  # the same data make the same model


def test_a_saved_model_loads_and_predicts_the_same(model_cls: ModelClass) -> None:
    model, data = _trained(model_cls)
    loaded = model_cls.from_state(model.to_state())
    x = data[-1][0]
    assert _numbers(loaded.predict_one(x)) == _numbers(model.predict_one(x))
    assert loaded.explain_one(x) == model.explain_one(x)
    more = model_cls.example(50, 9)
    for x, y in more:
        model.learn_one(x, y)
        loaded.learn_one(x, y)
    assert loaded.to_state() == model.to_state()


def test_learning_is_online_one_example_at_a_time(model_cls: ModelClass) -> None:
    model = model_cls()
    before = model.to_state()
    x, y = next((x, y) for x, y in reversed(model_cls.example(60, 4)) if model.truth(x, y))
    model.learn_one(x, y)
    assert model.to_state() != before


def test_an_update_equals_a_refit_however_the_examples_are_split(model_cls: ModelClass) -> None:
    data = model_cls.example(1200, 5)
    xs, ys = [x for x, _ in data], [y for _, y in data]
    whole = model_cls()
    whole.learn_many(xs, ys)
    part = model_cls()
    part.learn_many(xs[:401], ys[:401])
    part = model_cls.from_state(part.to_state())  # saved and reloaded in between
    for lo in range(401, len(xs), 13):  # then an ingest's worth at a time, and one by one
        if lo % 2:
            part.learn_many(xs[lo : lo + 13], ys[lo : lo + 13])
        else:
            for x, y in zip(xs[lo : lo + 13], ys[lo : lo + 13], strict=True):
                part.learn_one(x, y)
    for x, _ in data[-20:]:
        assert _close(whole.predict_one(x), part.predict_one(x))


# -- through the runner, on a real store ------------------------------------------------------
@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    store = Store.initialize(
        SQLiteBackend(tmp_path / "lifetwin.db", create=True), MasterKey.generate()
    )
    return store.vault(store.add_person("Robin"))


def _write(vault: Vault, data: ExampleData) -> None:
    for s in data.series:
        n = len(s.ts_ms)
        if n:
            z = np.zeros(n, dtype=np.int64)
            columns = Columns(s.ts_ms, z + s.dur_ms, s.values, z + s.tz_min, z, z, z)
            vault.write_columns(s.metric, s.source, None, s.unit, columns)
    if data.records:
        vault.write_records(list(data.records))


def _now(data: ExampleData) -> datetime:
    return datetime.fromtimestamp(data.end_ms() / 1000 + 60, UTC)


def test_after_an_ingest_only_the_new_data_is_learned(model_cls: ModelClass, vault: Vault) -> None:
    data = model_cls.example_data(DAYS, 6)
    history, ingest = data.split(data.end_ms() - DAY_MS + 1)
    _write(vault, history)
    grant = vault.grant(Scope.parse("all"), Purpose(model_cls().spec().purpose))
    first = update(vault, model_cls(), now=_now(history))
    assert first.refit
    assert first.learned == first.seen > 0
    saved = vault.derived(state_name(model_cls()))
    assert saved is not None
    assert saved.kind == "model"
    assert grant.id in saved.lineage.grants
    assert saved.lineage.purpose == grant.purpose.value
    assert {i.metric for i in saved.lineage.inputs} >= set(model_cls().spec().required)

    _write(vault, ingest)
    second = update(vault, model_cls(), now=_now(data))
    assert not second.refit, second.reason
    scratch = refit(vault, model_cls(), now=_now(data), save=False)
    assert 0 < second.learned == scratch.seen - first.seen < first.seen
    assert second.seen == scratch.seen
    assert _close(
        second.model.predict_one(second.examples.present),
        scratch.model.predict_one(scratch.examples.present),
    )
    assert grant.id in second.lineage.grants
    spans = {(i.metric, i.source): i for i in second.lineage.inputs}
    for s in data.series:
        if len(s.ts_ms):
            ref = spans[(s.metric, s.source)]
            assert (ref.first_ms, ref.last_ms) == (int(s.ts_ms[0]), int(s.ts_ms[-1]))
            assert ref.count == len(s.ts_ms)  # what was read twice is counted once

    third = update(vault, model_cls(), now=_now(data))  # nothing new: nothing learned
    assert not third.refit
    assert third.learned == 0
    assert _close(
        third.model.predict_one(third.examples.present),
        second.model.predict_one(second.examples.present),
    )


def test_a_change_to_the_past_makes_it_refit(model_cls: ModelClass, vault: Vault) -> None:
    data = model_cls.example_data(DAYS, 7)
    _write(vault, data)
    vault.grant(Scope.parse("all"), Purpose(model_cls().spec().purpose))
    update(vault, model_cls(), now=_now(data))
    s = next(s for s in data.series if len(s.ts_ms))
    z = np.zeros(1, dtype=np.int64)
    corrected = Columns(s.ts_ms[:1], z + s.dur_ms, s.values[:1] + 1, z + s.tz_min, z, z, z)
    vault.write_columns(s.metric, s.source, None, s.unit, corrected)  # a value days ago changed
    again = update(vault, model_cls(), now=_now(data))
    assert again.refit
    assert "changed" in again.reason
    assert not update(vault, model_cls(), now=_now(data)).refit  # and continues from there


def test_it_reads_only_what_its_purpose_was_granted(model_cls: ModelClass, vault: Vault) -> None:
    data = model_cls.example_data(DAYS, 8)
    _write(vault, data)
    purpose = Purpose(model_cls().spec().purpose)
    other = next(p for p in Purpose if p not in (purpose, Purpose.SELF_ACCESS))
    vault.grant(Scope.parse("all"), other)
    with pytest.raises(PurposeNotGrantedError) as refused:
        update(vault, model_cls(), now=_now(data))
    message = str(refused.value)
    assert message.endswith(".")
    assert message.count(". ") == 0
    assert purpose.value in message
    grant = vault.grant(Scope.parse("all"), purpose)
    assert update(vault, model_cls(), now=_now(data)).seen > 0
    assert state_name(model_cls()) in vault.revoke(grant.id)  # revocation reaches the model
    with pytest.raises(PurposeNotGrantedError):
        update(vault, model_cls(), now=_now(data))
    assert vault.derived(state_name(model_cls())) is None


def test_mypy_refuses_a_registration_that_does_not_fit_the_contract(tmp_path: Path) -> None:
    from mypy import api

    contract = Path(__file__).parents[1] / "src" / "lifetwin" / "models" / "contract.py"
    snippet = tmp_path / "bad_models.py"
    snippet.write_text(
        "from lifetwin.models.contract import JSON, FeatureSpec, PersonalModel, register\n"
        "\n"
        "\n"
        "class Half(PersonalModel[float, float]):  # learns, but cannot predict or save\n"
        "    name = 'half'\n"
        "\n"
        "    def spec(self) -> FeatureSpec:\n"
        "        raise NotImplementedError\n"
        "\n"
        "    def params(self) -> dict[str, JSON]:\n"
        "        return {}\n"
        "\n"
        "    def learn_one(self, x: float, y: float) -> None:\n"
        "        pass\n"
        "\n"
        "\n"
        "class Wrong(Half):\n"
        "    def learn_one(self, x: float, y: str) -> None:  # another outcome type\n"
        "        pass\n"
        "\n"
        "\n"
        "register(Half)\n"
        "register(int)\n"
    )
    out, _err, status = api.run(
        [
            "--strict",
            "--follow-imports=skip",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--python-version",
            "3.11",
            str(contract),
            str(snippet),
        ]
    )
    assert status == 1
    assert 'Only concrete class can be given where "type[PersonalModel[float, float]]"' in out
    assert 'incompatible type "type[int]"' in out
    assert 'Argument 2 of "learn_one" is incompatible with supertype' in out
