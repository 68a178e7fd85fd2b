"""What if?, as operations: run a scenario on the person's twin, ask for the best change
within their limits, answer a suggestion, and list what was run and suggested.

Each function takes a :class:`~lifetwin.operations.context.Context` (the command line,
the API and the dashboard build one reading for the ``simulation`` purpose) and returns a
pydantic model; the library underneath (:mod:`lifetwin.packs.whatif.capability`) reads
through the consent gate and does the modelling. A scenario run is stored (sealed, with
its lineage, as ``scenario:<id>``; the id is a digest of the scenario, so running the
same scenario again replaces it), so revoking a grant it used deletes it, as it deletes
suggestions and the feedback stored with them.

Nothing here is an instruction: results and suggestions carry the library's caveat.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from lifetwin.core.errors import NotEnoughDataError
from lifetwin.operations.context import Context
from lifetwin.packs.whatif import capability
from lifetwin.packs.whatif.capability import Feedback, OutcomeDifference, WhatIfError, WhatIfResult
from lifetwin.packs.whatif.optimize import Goal, Limits, Suggestion
from lifetwin.packs.whatif.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from lifetwin.privacy.consent import Purpose

PURPOSE = Purpose.SIMULATION
DEFAULT_GOAL: Literal["time_in_range"] = "time_in_range"
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
SAVED_LIMIT = 20  # the newest scenario runs and suggestions listed
# A glucose scenario replays the person's usual day: two weeks of it say all it can, and a
# longer one costs the service a gigabyte and half a minute (90 days).
GLUCOSE_MAX_DAYS = 14
Verdict = Literal["accept", "reject", "correct"]

__all__ = [
    "DEFAULT_GOAL",
    "GLUCOSE_MAX_DAYS",
    "PURPOSE",
    "Goal",
    "Limits",
    "NoSuchSuggestionError",
    "SavedScenario",
    "ScenarioRun",
    "SuggestionRecord",
    "WhatIfError",
    "WhatIfSaved",
    "correction_from_pairs",
    "describe_plan",
    "describe_value",
    "feedback",
    "plan_values",
    "run_scenario",
    "saved",
    "scenario_from_text",
    "scenario_id",
    "suggest",
    "suggestion",
]


class NoSuchSuggestionError(NotEnoughDataError):
    """A suggestion that is not stored (never made, or removed with a revoked grant)."""


# -- models ------------------------------------------------------------------------------------
class ScenarioRun(WhatIfResult):
    """A scenario's result (as usual against the scenario, with 90 % bands, the outcome
    differences, the model and its fit, the plain-language comparison, the lineage) and
    the id it is saved under."""

    id: str = Field(description="the saved run (a digest of the scenario)")


class SavedScenario(BaseModel):
    """A scenario that was run, with what it showed then."""

    id: str
    name: str
    kinds: list[str]
    ran_at: datetime
    scenario: Scenario
    comparison: str
    outcomes: list[OutcomeDifference]


class SuggestionRecord(BaseModel):
    """A suggestion of the optimizer with every answer the person gave to it."""

    suggestion: Suggestion
    feedback: list[Feedback] = Field(default_factory=list)


class WhatIfSaved(BaseModel):
    """The scenarios run and the suggestions made for the person, newest first."""

    person: str
    scenarios: list[SavedScenario]
    suggestions: list[SuggestionRecord]


# -- reading a scenario ------------------------------------------------------------------------
def scenario_from_text(text: str, name: str | None = None) -> Scenario:
    """A scenario from YAML or JSON text (``name``: a file name deciding which, else it is
    guessed from the text). Every problem is one sentence (:class:`ScenarioError`)."""
    fmt: Literal["yaml", "json"] | None = None
    if name is not None:
        suffix = Path(name).suffix.lower()
        fmt = "json" if suffix == ".json" else "yaml" if suffix in (".yaml", ".yml") else None
    return load_scenario(text, fmt)


def _scenario(given: Scenario | Mapping[str, Any] | str) -> Scenario:
    if isinstance(given, Scenario):
        return given
    if isinstance(given, str):
        return scenario_from_text(given)
    return parse_scenario(dict(given))


def scenario_id(scenario: Scenario) -> str:
    """The same scenario always gets the same id (so a rerun replaces the saved one)."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "w-" + hashlib.sha256(text.encode()).hexdigest()[:12]


# -- operations --------------------------------------------------------------------------------
def run_scenario(
    ctx: Context, scenario: Scenario | Mapping[str, Any] | str, *, posterior: bool = True
) -> ScenarioRun:
    """Run a scenario on the person's twin (reads for simulation) and save the run.

    ``scenario`` is a validated :class:`Scenario`, a mapping, or YAML/JSON text; a
    scenario that does not make sense is refused with one sentence
    (:class:`~lifetwin.packs.whatif.scenario.ScenarioError`). Nothing simulable
    (no data or grants for any of its parts) is a :class:`WhatIfError` saying why."""
    chosen = _scenario(scenario)
    if chosen.touches_glucose() and chosen.horizon_days > GLUCOSE_MAX_DAYS:
        raise ScenarioError(
            f"A scenario that changes meals, insulin or exercise covers at most "
            f"{GLUCOSE_MAX_DAYS} days (it replays your usual day); run longer plans "
            "without them."
        )
    vault = ctx.vault()
    result = capability.whatif(vault, chosen, posterior=posterior)
    made = ScenarioRun(**dict(result), id=scenario_id(chosen))
    outcomes = [
        *(made.glucose.outcomes if made.glucose else []),
        *(made.training.outcomes if made.training else []),
        *made.projections,
    ]
    record = SavedScenario(
        id=made.id,
        name=chosen.name,
        kinds=sorted(chosen.kinds()),
        ran_at=datetime.now(UTC),
        scenario=chosen,
        comparison=made.comparison,
        outcomes=outcomes,
    )
    capability._save_record(
        vault, f"scenario:{made.id}", "scenario", made.lineage, record.model_dump(mode="json")
    )
    return made


def suggest(ctx: Context, goal: Goal, limits: Limits | None = None) -> SuggestionRecord:
    """The optimizer's suggestion toward ``goal`` within ``limits`` (default: bolus ±20 %,
    basal ±10 %, pre-bolus ≤ 20 min, weekly load +10 %, bedtime 30 min a week), with its
    evidence and constraint checks; stored, so the person can answer it."""
    return SuggestionRecord(suggestion=capability.suggest(ctx.vault(), goal, limits or Limits()))


def _exists(ctx: Context, suggestion_id: str) -> None:
    if ctx.vault().derived(f"suggestion:{suggestion_id}") is None:
        raise NoSuchSuggestionError(
            f"There is no suggestion {suggestion_id} (it may have been removed when a grant "
            "was revoked)."
        )


def suggestion(ctx: Context, suggestion_id: str) -> SuggestionRecord:
    """A stored suggestion and the answers given to it."""
    _exists(ctx, suggestion_id)
    found, answers = capability.stored_suggestion(ctx.vault(), suggestion_id)
    return SuggestionRecord(suggestion=found, feedback=answers)


def feedback(
    ctx: Context,
    suggestion_id: str,
    verdict: Verdict,
    *,
    correction: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> SuggestionRecord:
    """Store the person's accept, reject or correct with the suggestion it answers.

    A correction names values of the suggestion's plan (dotted for nested ones:
    ``{"bolus_percent.dinner": 90}`` or ``{"bolus_percent": {"dinner": 90}}``), each a
    number. The values that differ from the plan are stored (flat, dotted keys); a
    correction that changes nothing is refused, as is a key the plan does not have."""
    vault = ctx.vault()
    _exists(ctx, suggestion_id)
    found, _answers = capability.stored_suggestion(vault, suggestion_id)
    flat: dict[str, float] | None = None
    if verdict == "correct":
        flat = _checked_correction(found, correction or {})
    elif correction:
        raise WhatIfError("Only a correction carries corrected values (use verdict 'correct').")
    if note is not None and len(note) > 2000:
        raise WhatIfError("A note is at most 2,000 characters.")
    text = note.strip() if note else ""
    capability.record_feedback(vault, suggestion_id, verdict, correction=flat, note=text or None)
    return suggestion(ctx, suggestion_id)


def saved(ctx: Context) -> WhatIfSaved:
    """The newest scenario runs and suggestions stored for the person (newest first)."""
    vault = ctx.vault()
    runs: list[SavedScenario] = []
    made: list[tuple[datetime, SuggestionRecord]] = []
    for record in vault.derived_all():
        if record.kind == "scenario" and record.name.startswith("scenario:"):
            runs.append(SavedScenario.model_validate(record.payload))
        elif record.kind == "suggestion" and record.name.startswith("suggestion:"):
            made.append(
                (
                    record.lineage.computed_at,
                    SuggestionRecord(
                        suggestion=Suggestion.model_validate(record.payload["suggestion"]),
                        feedback=[Feedback.model_validate(f) for f in record.payload["feedback"]],
                    ),
                )
            )
    runs.sort(key=lambda r: (r.ran_at, r.id), reverse=True)
    made.sort(key=lambda m: (m[0], m[1].suggestion.id), reverse=True)
    return WhatIfSaved(
        person=ctx.person.id,
        scenarios=runs[:SAVED_LIMIT],
        suggestions=[m[1] for m in made[:SAVED_LIMIT]],
    )


# -- corrections -------------------------------------------------------------------------------
def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= _flatten(item, f"{prefix}{key}.")
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out |= _flatten(item, f"{prefix}{i}.")
        return out
    return {prefix[:-1]: value}


def plan_values(found: Suggestion) -> dict[str, float]:
    """The suggestion's plan as dotted keys and numbers (what a correction may name)."""
    return {k: float(v) for k, v in _flatten(found.plan).items() if isinstance(v, int | float)}


def _clock(minutes: float) -> str:
    m = round(minutes) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


def describe_value(key: str, value: float) -> tuple[str, str]:
    """One plan entry in words: (label, value).

    >>> describe_value("bolus_percent.dinner", 90.0)
    ('dinner bolus', '90 % of usual')
    >>> describe_value("bedtime_min_of_day", 1371)
    ('bedtime', '22:51')
    """
    head, _, tail = key.partition(".")
    if head == "bolus_percent":
        return f"{tail} bolus", f"{value:g} % of usual"
    if head == "basal_percent":
        return "basal", f"{value:g} % of usual"
    if head == "prebolus_min":
        return "pre-bolus", f"{value:g} min before eating"
    if head == "weekly_load_ratio" and tail.isdigit():
        return f"week {int(tail) + 1} load", f"{value * 100:g} % of the week before"
    if head.endswith("_min_of_day"):
        return head.removesuffix("_min_of_day").replace("_", " "), _clock(value)
    return key.replace("_", " ").replace(".", ": "), f"{value:g}"


def describe_plan(found: Suggestion) -> list[tuple[str, str, str]]:
    """The plan in words: (key, label, value) per entry a person would read or correct
    (the daily loads a weekly plan implies are left out).

    >>> from lifetwin.packs.whatif.optimize import Goal, Limits, Suggestion
    >>> s = Suggestion(goal=Goal(kind="sleep"), limits=Limits(), status="suggested",
    ...                plan={"bedtime_min_of_day": 1371, "hours_in_bed": 8.0}, summary=".")
    >>> describe_plan(s)
    [('bedtime_min_of_day', 'bedtime', '22:51'), ('hours_in_bed', 'hours in bed', '8')]
    """
    return [
        (key, *describe_value(key, value))
        for key, value in plan_values(found).items()
        if not key.startswith("daily_load")
    ]


def _checked_correction(found: Suggestion, correction: Mapping[str, Any]) -> dict[str, float]:
    known = plan_values(found)
    if not known:
        raise WhatIfError(
            "This suggestion has no plan to correct; reject it instead, with a note if you like."
        )
    flat = _flatten(correction)
    if not flat:
        raise WhatIfError(
            "A correction needs the corrected values (for example the bolus percentages "
            "you would use)."
        )
    out: dict[str, float] = {}
    for key, value in flat.items():
        if key not in known:
            names = ", ".join(sorted(known)[:8]) + (", …" if len(known) > 8 else "")
            raise WhatIfError(f"'{key}' is not part of this suggestion's plan ({names}).")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise WhatIfError(f"The corrected value of '{key}' must be a number.")
        # a form shows six significant digits: a value it sent back unchanged is no change
        if abs(float(value) - known[key]) > 1e-5 * max(1.0, abs(known[key])):
            out[key] = float(value)
    if not out:
        raise WhatIfError(
            "A correction changes at least one value of the plan; to take it as it is, accept it."
        )
    return out


def correction_from_pairs(pairs: Iterable[str | tuple[str, str]]) -> dict[str, float]:
    """``KEY=VALUE`` texts (or (key, value) pairs), values numbers, into a correction;
    an empty value is left out. One sentence for what is not a number."""
    out: dict[str, float] = {}
    for pair in pairs:
        if isinstance(pair, str):
            if "=" not in pair:
                raise WhatIfError(f"'{pair}' is not KEY=VALUE (for example basal_percent=95).")
            key, text = pair.split("=", 1)
        else:
            key, text = pair
        key, text = key.strip(), text.strip()
        if not text:
            continue
        clock = _HHMM.match(text)
        if clock and key.endswith("_min_of_day"):
            out[key] = float(int(clock.group(1)) * 60 + int(clock.group(2)))
            continue
        try:
            value = float(text)
        except ValueError:
            raise WhatIfError(f"The corrected value of '{key}' must be a number.") from None
        if not math.isfinite(value):
            raise WhatIfError(f"The corrected value of '{key}' must be a number.")
        out[key] = value
    return out
