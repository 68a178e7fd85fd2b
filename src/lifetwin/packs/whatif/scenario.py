"""What-if scenarios: a list of interventions over a horizon, validated in one sentence.

A scenario changes a person's usual days. Times of day are local ``HH:MM``; an
intervention applies on every day of the horizon unless it names ``days`` (1 is the
first day). Kinds:

- ``meal``: change the logged meal nearest ``at`` (size ``scale`` or ``carbs_g``,
  ``shift_min``, ``absorption`` fast/normal/slow), or ``add`` a new one;
- ``bolus``: scale or move the meal boluses (``at`` one meal, or all of them), or add one;
- ``basal``: scale the basal rate, all day or between ``from_time`` and ``to_time``;
- ``exercise``: a session (``at``, ``duration_min``, ``intensity``);
- ``sleep``: a sleep schedule (``bedtime``, ``wake``);
- ``training``: a training plan (``weekly_load_scale`` or a ``daily_load`` list);
- ``spending``: a spending plan (``daily_budget`` or ``scale``).

A scenario is loaded from YAML or JSON text with :func:`load_scenario`; every problem
is a :class:`ScenarioError` with one sentence saying where and what. Example::

    name: later dinner, pre-bolus
    horizon_days: 1
    interventions:
      - {kind: meal, at: "19:30", shift_min: 60}
      - {kind: bolus, shift_min: -15}

>>> s = load_scenario('{"interventions": [{"kind": "basal", "scale": 0.9}]}')
>>> s.interventions[0].scale, s.horizon_days
(0.9, 1)
>>> load_scenario('{"interventions": [{"kind": "basal", "scale": 9}]}')
Traceback (most recent call last):
...
lifetwin.packs.whatif.scenario.ScenarioError: Intervention 1 (basal), scale: must be at most 3.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lifetwin.core.errors import LifeTwinError
from lifetwin.packs.metabolic.glucose_twin import GlucoseInputs

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ScenarioError(LifeTwinError):
    """A scenario that cannot be read or does not make sense."""


def minute_of_day(hhmm: str) -> int:
    """``"07:30"`` → 450.

    >>> minute_of_day("23:05")
    1385
    """
    match = _HHMM.match(hhmm)
    if match is None:
        raise ValueError(f"'{hhmm}' is not a time of day (use HH:MM, e.g. 07:30)")
    return int(match.group(1)) * 60 + int(match.group(2))


def _check_time(value: str | None) -> str | None:
    if value is not None:
        minute_of_day(value)
    return value


class _Intervention(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[Annotated[int, Field(ge=1, le=366)]] | None = None

    def on_day(self, day: int) -> bool:
        """Whether this applies on ``day`` (1-based) of the horizon."""
        return self.days is None or day in self.days


class MealChange(_Intervention):
    kind: Literal["meal"]
    at: str
    add: bool = False
    carbs_g: Annotated[float, Field(ge=0, le=300)] | None = None
    scale: Annotated[float, Field(ge=0, le=3)] | None = None
    shift_min: Annotated[int, Field(ge=-360, le=360)] = 0
    absorption: Literal["fast", "normal", "slow"] | None = None

    _t = field_validator("at")(_check_time)

    @model_validator(mode="after")
    def _sense(self) -> MealChange:
        if self.add and self.carbs_g is None:
            raise ValueError("an added meal needs carbs_g")
        if self.carbs_g is not None and self.scale is not None:
            raise ValueError("give carbs_g or scale, not both")
        if (
            not self.add
            and self.carbs_g is None
            and self.scale is None
            and self.shift_min == 0
            and self.absorption is None
        ):
            raise ValueError("a meal change needs carbs_g, scale, shift_min or absorption")
        return self


class BolusChange(_Intervention):
    kind: Literal["bolus"]
    at: str | None = None  # the meal bolus nearest this time; None: every meal bolus
    scale: Annotated[float, Field(ge=0, le=3)] | None = None
    shift_min: Annotated[int, Field(ge=-60, le=60)] = 0
    add_u: Annotated[float, Field(gt=0, le=50)] | None = None  # a new bolus at ``at``

    _t = field_validator("at")(_check_time)

    @model_validator(mode="after")
    def _sense(self) -> BolusChange:
        if self.add_u is not None and self.at is None:
            raise ValueError("an added bolus needs at")
        if self.add_u is None and self.scale is None and self.shift_min == 0:
            raise ValueError("a bolus change needs scale, shift_min or add_u")
        return self


class BasalChange(_Intervention):
    kind: Literal["basal"]
    scale: Annotated[float, Field(ge=0, le=3)]
    from_time: str | None = None
    to_time: str | None = None

    _t = field_validator("from_time", "to_time")(_check_time)

    @model_validator(mode="after")
    def _sense(self) -> BasalChange:
        if (self.from_time is None) != (self.to_time is None):
            raise ValueError("give both from_time and to_time, or neither")
        return self


class ExerciseSession(_Intervention):
    kind: Literal["exercise"]
    at: str
    duration_min: Annotated[int, Field(ge=5, le=360)]
    intensity: Literal["light", "moderate", "vigorous"] | Annotated[float, Field(gt=0, le=1)] = (
        "moderate"
    )

    _t = field_validator("at")(_check_time)

    @property
    def heart_rate_reserve(self) -> float:
        """Intensity as a fraction of heart-rate reserve."""
        named = {"light": 0.35, "moderate": 0.55, "vigorous": 0.75}
        return named[self.intensity] if isinstance(self.intensity, str) else float(self.intensity)


class SleepSchedule(_Intervention):
    kind: Literal["sleep"]
    bedtime: str
    wake: str

    _t = field_validator("bedtime", "wake")(_check_time)

    @property
    def hours(self) -> float:
        """Hours in bed (across midnight when wake is earlier than bedtime)."""
        return ((minute_of_day(self.wake) - minute_of_day(self.bedtime)) % 1440) / 60

    @model_validator(mode="after")
    def _sense(self) -> SleepSchedule:
        if not 3 <= self.hours <= 14:
            raise ValueError(f"a sleep of {self.hours:.1f} hours is outside 3–14 hours")
        return self


class TrainingPlan(_Intervention):
    kind: Literal["training"]
    weekly_load_scale: Annotated[float, Field(ge=0, le=3)] | None = None
    daily_load: list[Annotated[float, Field(ge=0, le=2000)]] | None = None

    @model_validator(mode="after")
    def _sense(self) -> TrainingPlan:
        if (self.weekly_load_scale is None) == (self.daily_load is None):
            raise ValueError("give weekly_load_scale or daily_load (one of them)")
        return self


class SpendingPlan(_Intervention):
    kind: Literal["spending"]
    daily_budget: Annotated[float, Field(ge=0)] | None = None
    scale: Annotated[float, Field(ge=0, le=3)] | None = None

    @model_validator(mode="after")
    def _sense(self) -> SpendingPlan:
        if (self.daily_budget is None) == (self.scale is None):
            raise ValueError("give daily_budget or scale (one of them)")
        return self


Intervention = Annotated[
    MealChange
    | BolusChange
    | BasalChange
    | ExerciseSession
    | SleepSchedule
    | TrainingPlan
    | SpendingPlan,
    Field(discriminator="kind"),
]

GLUCOSE_KINDS = frozenset({"meal", "bolus", "basal", "exercise"})


class Scenario(BaseModel):
    """Interventions over ``horizon_days`` days starting ``start`` (default: tomorrow)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=120)] = "scenario"
    horizon_days: Annotated[int, Field(ge=1, le=90)] = 1
    start: date | None = None
    interventions: Annotated[list[Intervention], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _days_in_horizon(self) -> Scenario:
        for i, item in enumerate(self.interventions, 1):
            late = [d for d in item.days or [] if d > self.horizon_days]
            if late:
                raise ValueError(
                    f"intervention {i} names day {late[0]} of a {self.horizon_days}-day horizon"
                )
        return self

    def kinds(self) -> set[str]:
        return {item.kind for item in self.interventions}

    def touches_glucose(self) -> bool:
        return bool(self.kinds() & GLUCOSE_KINDS)


_MESSAGES = {
    "less_than_equal": "must be at most {le}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than": "must be less than {lt}",
    "missing": "is missing",
    "extra_forbidden": "is not a setting of this kind",
    "too_short": "needs at least {min_length} item(s)",
    "too_long": "allows at most {max_length}",
}


def _sentence(error: ValidationError, raw: Any) -> str:
    first = error.errors()[0]
    loc = [part for part in first["loc"] if not (isinstance(part, str) and part[:1].isupper())]
    template = _MESSAGES.get(first["type"])
    ctx = first.get("ctx") or {}
    if template is not None:
        message = template.format(**{k: _num(v) for k, v in ctx.items()})
    elif "error" in ctx:
        message = str(ctx["error"])
    else:
        message = first["msg"][0].lower() + first["msg"][1:]
    if first["type"] == "union_tag_invalid":
        message = "kind must be one of meal, bolus, basal, exercise, sleep, training, spending"
        loc = loc[:2]
    if first["type"] == "union_tag_not_found":
        message = "needs a kind (meal, bolus, basal, exercise, sleep, training or spending)"
    if len(loc) >= 2 and loc[0] == "interventions" and isinstance(loc[1], int):
        index = loc[1]
        kind = ""
        items = raw.get("interventions") if isinstance(raw, dict) else None
        if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
            kind = f" ({items[index].get('kind')})" if items[index].get("kind") else ""
        rest = [str(p) for p in loc[2:] if not (isinstance(p, str) and p in _KIND_NAMES)]
        where = f"Intervention {index + 1}{kind}" + (f", {'.'.join(rest)}" if rest else "")
    else:
        where = "Scenario" + (f" {'.'.join(str(p) for p in loc)}" if loc else "")
    message = message.rstrip(".")
    return f"{where}: {message}."


_KIND_NAMES = {"meal", "bolus", "basal", "exercise", "sleep", "training", "spending"}


def _num(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def parse_scenario(raw: Any) -> Scenario:
    """Validate already-parsed data (a dict) into a scenario."""
    if not isinstance(raw, dict):
        raise ScenarioError("A scenario is a mapping with an 'interventions' list.")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as error:
        raise ScenarioError(_sentence(error, raw)) from None


def load_scenario(text: str, fmt: Literal["yaml", "json"] | None = None) -> Scenario:
    """A scenario from YAML or JSON text (``fmt`` None: JSON if it looks like JSON)."""
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    if fmt == "json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise ScenarioError(
                f"The scenario is not valid JSON (line {error.lineno}: {error.msg})."
            ) from None
    else:
        import yaml

        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise ScenarioError(f"The scenario is not valid YAML{where}.") from None
    return parse_scenario(raw)


# -- applying a scenario to the glucose twin's inputs ------------------------------------------
MEAL_MATCH_MIN = 90  # a change "at 19:30" means the logged meal within 90 minutes of it
MEAL_BOLUS_MIN = 20  # a bolus this close to a meal belongs to it


def apply_glucose_scenario(
    scenario: Scenario, inputs: GlucoseInputs, warmup_min: int
) -> GlucoseInputs:
    """The twin's inputs with the scenario's meal, bolus, basal and exercise changes.

    ``inputs`` starts ``warmup_min`` minutes before local midnight of the first day of
    the horizon (the warm-up is never changed); day ``d`` is minutes
    ``warmup_min + (d - 1) * 1440`` onward.
    """
    carbs = inputs.carbs_g.copy()
    basal = inputs.basal_u.copy()
    bolus = inputs.bolus_u.copy()
    exercise = inputs.exercise.copy()
    speed_row = {"fast": 0, "normal": 1, "slow": 2}
    n = inputs.minutes
    for day in range(1, scenario.horizon_days + 1):
        lo = warmup_min + (day - 1) * 1440
        hi = min(lo + 1440, n)
        if lo >= n:
            break
        meal_minutes = [int(i) for i in np.flatnonzero(carbs[:, lo:hi].sum(axis=0)) + lo]
        for item in scenario.interventions:
            if not item.on_day(day):
                continue
            if isinstance(item, MealChange):
                at = lo + minute_of_day(item.at)
                if item.add:
                    row = speed_row[item.absorption or "normal"]
                    t = min(max(at + item.shift_min, warmup_min), n - 1)
                    carbs[row, t] += float(item.carbs_g or 0.0)
                    continue
                near = [m for m in meal_minutes if abs(m - at) <= MEAL_MATCH_MIN]
                if not near:
                    continue
                meal = min(near, key=lambda m: abs(m - at))
                grams = carbs[:, meal].copy()
                carbs[:, meal] = 0.0
                total = float(grams.sum())
                if item.carbs_g is not None:
                    grams = grams / total * item.carbs_g if total > 0 else grams
                elif item.scale is not None:
                    grams = grams * item.scale
                if item.absorption is not None:
                    grams = np.eye(3)[speed_row[item.absorption]] * float(grams.sum())
                t = min(max(meal + item.shift_min, warmup_min), n - 1)
                carbs[:, t] += grams
                if item.shift_min:  # the meal's bolus moves with it
                    for b in np.flatnonzero(
                        bolus[max(meal - MEAL_BOLUS_MIN, lo) : meal + MEAL_BOLUS_MIN + 1]
                    ):
                        src = int(b) + max(meal - MEAL_BOLUS_MIN, lo)
                        dst = min(max(src + item.shift_min, warmup_min), n - 1)
                        units = bolus[src]
                        bolus[src] = 0.0
                        bolus[dst] += units
            elif isinstance(item, BolusChange):
                if item.add_u is not None and item.at is not None:
                    bolus[min(lo + minute_of_day(item.at), n - 1)] += item.add_u
                    continue
                targets = meal_minutes
                if item.at is not None:
                    at = lo + minute_of_day(item.at)
                    near = [m for m in meal_minutes if abs(m - at) <= MEAL_MATCH_MIN]
                    targets = [min(near, key=lambda m: abs(m - at))] if near else []
                for meal in targets:
                    a = max(meal - MEAL_BOLUS_MIN, lo)
                    for k in np.flatnonzero(bolus[a : meal + MEAL_BOLUS_MIN + 1]).tolist():
                        src = a + k
                        units = bolus[src] * (item.scale if item.scale is not None else 1.0)
                        bolus[src] = 0.0
                        dst = min(max(src + item.shift_min, warmup_min), n - 1)
                        bolus[dst] += units
            elif isinstance(item, BasalChange):
                if item.from_time is None or item.to_time is None:
                    basal[lo:hi] *= item.scale
                else:
                    t_from, t_to = minute_of_day(item.from_time), minute_of_day(item.to_time)
                    minutes = np.arange(1440)
                    inside = (
                        (minutes >= t_from) & (minutes < t_to)
                        if t_from < t_to
                        else (minutes >= t_from) | (minutes < t_to)
                    )
                    span = basal[lo:hi]
                    span[inside[: hi - lo]] *= item.scale
            elif isinstance(item, ExerciseSession):
                begin = lo + minute_of_day(item.at)
                exercise[begin : min(begin + item.duration_min, n)] = item.heart_rate_reserve
    return GlucoseInputs(inputs.start_ms, carbs, basal, bolus, exercise, inputs.body_mass_kg)
