"""The registry of per-person models and the contract every one of them follows.

A model learns from one example at a time and is personal: it is fitted on one
person's data only. The contract (checked for every registered model by
tests/test_model_contract.py):

- ``learn_one(x, y)`` — learn from one example;
- ``predict_one(x)`` — a list of predictions, each with a value and an interval
  (``low <= value <= high``), one per horizon the model forecasts;
- ``explain_one(x)`` — what the prediction is made of, as named numbers;
- ``clone()`` — a fresh, untrained model with the same settings;
- ``to_json()`` / ``from_json(text)`` — save and load; a loaded model predicts exactly
  what the saved one did;
- ``example(n, seed)`` — n synthetic (x, y) pairs of the shape the model learns from
  (the contract test feeds these; nothing here is used for real data).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

MODELS: dict[str, Callable[[], PersonalModel]] = {}


@runtime_checkable
class Prediction(Protocol):
    @property
    def horizon(self) -> int: ...

    @property
    def value(self) -> float: ...

    @property
    def low(self) -> float: ...

    @property
    def high(self) -> float: ...


class PersonalModel(Protocol):
    name: str

    def learn_one(self, x: Any, y: Any) -> None: ...

    def predict_one(self, x: Any) -> list[Any]: ...

    def explain_one(self, x: Any) -> dict[Any, Any]: ...

    def clone(self) -> PersonalModel: ...

    def to_json(self) -> str: ...

    @classmethod
    def from_json(cls, text: str) -> PersonalModel: ...

    @staticmethod
    def example(n: int, seed: int) -> list[tuple[Any, Any]]: ...


def register(name: str) -> Callable[[type[Any]], type[Any]]:
    """Class decorator: make a model known by name (its no-argument constructor)."""

    def add(cls: type[Any]) -> type[Any]:
        if name in MODELS:
            raise ValueError(f"A model named {name} is already registered.")
        cls.name = name
        MODELS[name] = cls
        return cls

    return add


def registered() -> dict[str, Callable[[], PersonalModel]]:
    """Every registered model (importing the modules that define them first)."""
    from lifetwin.capabilities import daily_forecast, glucose_forecast  # noqa: F401

    return dict(MODELS)
