"""The contract every per-person model follows, and how a pack registers one.

A personal model learns from one person's data only, one example at a time (river's
``learn_one``/``predict_one``), and says what it reads before it reads it:

* :class:`FeatureSpec` — the input metrics and event kinds, the consent purpose it reads
  them for, its look-back windows, the horizons it forecasts, how far back an example's
  features reach and how far ahead its outcome does, and a version. Its digest (with the
  model's hyper-parameters) names the model's saved state: a new digest means a refit.
* :class:`PersonalModel` ``[X, Y]`` — ``learn_one(x, y)`` (``learn_many`` for a batch),
  ``predict_one(x)`` (one :class:`Prediction` with an interval per horizon),
  ``explain_one(x)`` (named numbers), ``clone()`` (untrained, same settings),
  ``to_state()``/``from_state()`` (bytes; a loaded model predicts exactly what the saved
  one did), ``truth(x, y)`` (what each horizon's prediction for ``x`` was about),
  ``featurize(data, cursor)`` (a person's data, read by the framework, as examples) and,
  for the contract test only, ``example(n, seed)`` and ``example_data(days, seed)``.

The framework (:mod:`lifetwin.models.runner`) reads the data through the consent gate,
feeds a model only what it has not seen, keeps its state sealed in the person's vault
with lineage, and refits only when the spec or the data's past changed.

A pack registers model classes from its ``lifetwin_models()`` hook through
:func:`register`, which mypy checks: only a concrete subclass of :class:`PersonalModel`
(every abstract method implemented, with compatible signatures) type-checks there.
``tests/test_model_contract.py`` runs every registered model through the same checks.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Protocol,
    Self,
    TypeAlias,
    TypeVar,
    runtime_checkable,
)

import numpy as np
import numpy.typing as npt

from lifetwin.core.errors import LifeTwinError

if TYPE_CHECKING:
    from lifetwin.core.model import Event, Observation
    from lifetwin.privacy.lineage import Lineage
    from lifetwin.store.vault import Records, Series

X = TypeVar("X")
Y = TypeVar("Y")

JSON: TypeAlias = str | int | float | bool | list["JSON"] | dict[str, "JSON"] | None
# What a prediction is made of: named numbers, or named numbers per horizon.
Explanation: TypeAlias = Mapping[str, float] | Mapping[int, Mapping[str, float]]

MINUTE_MS = 60_000
DAY_MS = 86_400_000


class PurposeNotGrantedError(LifeTwinError):
    """A model was asked to learn from data its purpose may not read."""


@runtime_checkable
class Prediction(Protocol):
    """One forecast: a value and the interval around it (``low <= value <= high``) for a
    horizon (in the spec's ``horizon_unit``)."""

    @property
    def horizon(self) -> int: ...

    @property
    def value(self) -> float: ...

    @property
    def low(self) -> float: ...

    @property
    def high(self) -> float: ...


@dataclass(frozen=True)
class FeatureSpec:
    """What a model reads, for which purpose, and how its examples depend on the data.

    ``context_min``: how far before an example's time its features reach (plus what the
    model carries across updates in its cursor); ``settle_min``: how far after it its
    outcome (and anything else about it) reaches. The framework re-reads
    ``context_min + settle_min`` before the day of the newest data on each update, so a
    change there is seen; a change further back is seen through the stored rows.
    ``version``: bump it when the meaning of the features changes (a new digest refits
    every saved model of the kind)."""

    inputs: tuple[str, ...]  # metric codes and "event:KIND"
    purpose: str
    required: tuple[str, ...]  # without data of one of these there is nothing to learn
    step_min: int  # one example per step (5 minutes, one day)
    windows_min: tuple[int, ...]  # the look-back windows of the features
    horizons: tuple[int, ...]
    horizon_unit: str  # "min" or "day"
    context_min: int
    settle_min: int
    version: str

    def digest(self, params: Mapping[str, JSON]) -> str:
        """A short digest of the spec and the model's hyper-parameters.

        >>> spec = FeatureSpec(("steps",), "forecasting", ("steps",), 1440, (1440,), (1,),
        ...                    "day", 2880, 2880, "1")
        >>> spec.digest({"a": 1}) == spec.digest({"a": 1}) != spec.digest({"a": 2})
        True
        """
        text = json.dumps(
            {"spec": self.__dict__, "params": params}, sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Window:
    """The part of a person's history the framework read for one run.

    ``read_from_ms`` None: all of it (a refit). ``next_from_ms``: where the next update
    will start reading; a model that carries state across updates (a running sum, say)
    puts in its cursor what it needs to continue from there."""

    read_from_ms: int | None
    next_from_ms: int


@dataclass
class InputData:
    """A person's data for a model's inputs, read through the consent gate for its
    purpose (only what the person granted); the lineage of the reads."""

    series: dict[str, Series]  # numeric metrics
    records: dict[str, Records]  # events ("event:KIND") and non-numeric metrics
    window: Window
    lineage: Lineage


@dataclass
class Examples(Generic[X, Y]):
    """What :meth:`PersonalModel.featurize` makes of a person's data.

    ``ts_ms``: each example's time (increasing); the first ``settled`` examples are final
    (their outcome is known and nothing newer changes them) and are learned for good;
    the rest are pending: learned provisionally for a forecast, again next time.
    ``present``: the features of now, to predict from. ``cursor``: what the model needs
    to continue from ``window.next_from_ms`` (kept with its state). ``summary``: numbers
    about all the data so far that the model's capability reports."""

    ts_ms: list[int]
    xs: Sequence[X]
    ys: Sequence[Y]
    settled: int
    present: X | None = None
    cursor: dict[str, JSON] = field(default_factory=dict)
    summary: dict[str, JSON] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ts_ms)


@dataclass(frozen=True)
class SeriesData:
    """Numeric values of one metric from one source (for ``example_data``)."""

    metric: str
    source: str
    unit: str
    ts_ms: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    tz_min: int = 0
    dur_ms: int = 0


@dataclass(frozen=True)
class ExampleData:
    """A person's raw data of a model's inputs, as the contract test writes it to a vault."""

    series: tuple[SeriesData, ...] = ()
    records: tuple[Observation | Event, ...] = ()

    def end_ms(self) -> int:
        """The time of the newest value."""
        ends = [int(s.ts_ms[-1]) for s in self.series if len(s.ts_ms)]
        ends += [int(r.start.timestamp() * 1000) for r in self.records]
        return max(ends)

    def split(self, at_ms: int) -> tuple[ExampleData, ExampleData]:
        """What came before ``at_ms``, and the rest."""
        parts = []
        for before in (True, False):
            series = []
            for s in self.series:
                keep = (s.ts_ms < at_ms) if before else (s.ts_ms >= at_ms)
                series.append(
                    SeriesData(
                        s.metric,
                        s.source,
                        s.unit,
                        s.ts_ms[keep],
                        s.values[keep],
                        s.tz_min,
                        s.dur_ms,
                    )
                )
            records = tuple(
                r for r in self.records if (r.start.timestamp() * 1000 < at_ms) == before
            )
            parts.append(ExampleData(tuple(series), records))
        return parts[0], parts[1]


class PersonalModel(ABC, Generic[X, Y]):
    """A per-person model: learns online, forecasts with intervals, explains, saves.

    Hyper-parameters are only set in ``__init__`` and returned by :meth:`params` (so
    :meth:`clone` and the state's digest come from them); everything learned is in the
    state (:meth:`to_state`)."""

    name: ClassVar[str]
    coverage: float  # the share of outcomes its intervals are meant to hold

    @abstractmethod
    def spec(self) -> FeatureSpec:
        """What the model reads and for which purpose (may depend on hyper-parameters)."""

    @abstractmethod
    def params(self) -> dict[str, JSON]:
        """The hyper-parameters: ``type(self)(**self.params())`` is an untrained twin."""

    @abstractmethod
    def learn_one(self, x: X, y: Y) -> None:
        """Learn one example."""

    def learn_many(self, xs: Sequence[X], ys: Sequence[Y]) -> None:
        """Learn examples in order; the same as ``learn_one`` on each, however the
        examples are split into batches."""
        for x, y in zip(xs, ys, strict=True):
            self.learn_one(x, y)

    @abstractmethod
    def predict_one(self, x: X) -> Sequence[Prediction]:
        """One prediction per horizon (increasing), each with its interval; none before
        the model has learned enough."""

    @abstractmethod
    def explain_one(self, x: X) -> Explanation:
        """What the prediction for ``x`` is made of, as named numbers."""

    @abstractmethod
    def truth(self, x: X, y: Y) -> dict[int, float]:
        """Per horizon, the value a prediction for ``x`` was about, given the outcome ``y``
        (only the horizons ``y`` tells)."""

    @abstractmethod
    def to_state(self) -> bytes:
        """Everything learned, with the hyper-parameters."""

    @classmethod
    @abstractmethod
    def from_state(cls, state: bytes) -> Self:
        """The model :meth:`to_state` saved; it predicts exactly what the saved one did."""

    @abstractmethod
    def featurize(self, data: InputData, cursor: Mapping[str, JSON] | None) -> Examples[X, Y]:
        """The examples in a person's data (``cursor``: the last run's, on an update; None
        on a refit, when ``data`` holds all of the person's history). Every example whose
        features reach back no further than ``data.window.read_from_ms`` must be the same
        as on a refit."""

    @classmethod
    @abstractmethod
    def example(cls, n: int, seed: int) -> list[tuple[X, Y]]:
        """``n`` synthetic (x, y) pairs of the shape the model learns (for the contract
        test; nothing here is used on real data)."""

    @classmethod
    @abstractmethod
    def example_data(cls, days: int, seed: int) -> ExampleData:
        """``days`` days of synthetic raw data of the inputs (for the contract test)."""

    def clone(self) -> Self:
        """A fresh, untrained model with the same hyper-parameters."""
        return type(self)(**self.params())


ModelClass = type[PersonalModel[Any, Any]]


def register(model_cls: type[PersonalModel[X, Y]]) -> type[PersonalModel[X, Y]]:
    """Check a model class and return it (for a pack's ``lifetwin_models`` hook).

    mypy accepts only a concrete subclass of :class:`PersonalModel` here; at run time an
    abstract class, a missing name or a constructor that needs arguments is refused.
    """
    if not (isinstance(model_cls, type) and issubclass(model_cls, PersonalModel)):
        raise LifeTwinError(f"{model_cls!r} is not a PersonalModel subclass.")
    if inspect.isabstract(model_cls):
        missing = ", ".join(sorted(getattr(model_cls, "__abstractmethods__", ())))
        raise LifeTwinError(f"The model {model_cls.__name__} does not implement {missing}.")
    name = getattr(model_cls, "name", None)
    if not isinstance(name, str) or not name:
        raise LifeTwinError(f"The model {model_cls.__name__} has no name.")
    required = [
        p.name
        for p in inspect.signature(model_cls).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if required:
        raise LifeTwinError(
            f"The model {name} needs {', '.join(required)} to be made; every setting of a "
            "model needs a default."
        )
    return model_cls
