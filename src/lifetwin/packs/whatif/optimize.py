"""The best change within the person's limits, searched on their twin — a suggestion,
never an order.

Glucose (:func:`suggest_glucose_plan`): the plan is a percentage of the usual meal
boluses for breakfast, lunch and dinner, a percentage of the usual basal rate, and how
many minutes before a meal the bolus comes. The search (CMA-ES, the ``cma`` package)
maximises the posterior-mean time in range 70–180 mg/dl over the person's recent usual
days, replayed on the twin. Hard constraints, checked on every posterior draw of the
twin for the plan that is returned (a plan that fails any is never returned):

1. no simulated trajectory of any draw goes below 54 mg/dl;
2. the posterior-mean time below 70 mg/dl is not higher than under the usual therapy;
3. no change beyond the person's limits (bolus ±20 %, basal ±10 % and a pre-bolus of
   at most 20 minutes by default; :class:`Limits`).

When nothing satisfies them all, the answer is "no safe change found", with the reason.

Training (:func:`suggest_training_plan`): weekly loads until a target date that
maximise the predicted performance on that date under the person's fitness–fatigue
posterior, with each week at most ``weekly_load_change`` above the one before and no
acute:chronic spike (ACWR ≤ 1.5). Sleep (:func:`suggest_sleep_schedule`): a bedtime
moving toward a sleep target by at most ``bedtime_shift_min`` a week, within the hours
the person has actually slept.

Every suggestion carries its evidence (what the twin predicts with and without it,
with 90 % intervals), the constraint checks with their values, and wording that
presents it as something to consider and discuss — doses are never given as
instructions; changes are relative to the person's own usual therapy.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from lifetwin.packs.athletics.fitness_fatigue import FitnessFatigueFit, acwr, impulse
from lifetwin.packs.metabolic.glucose_twin import GlucoseInputs, GlucoseTwin, simulate_cgm

F64 = npt.NDArray[np.float64]
HYPO_FLOOR_MG_DL = 54.0
SLOTS: tuple[tuple[str, int, int], ...] = (
    ("breakfast", 0, 10 * 60 + 30),
    ("lunch", 10 * 60 + 30, 16 * 60),
    ("dinner", 16 * 60, 24 * 60),
)
MEAL_BOLUS_WINDOW_MIN = 20  # a bolus this close to a meal is that meal's bolus
NOT_AN_ORDER = (
    "This is a suggestion from a simulation of your twin, not a medical instruction: "
    "discuss any change to your therapy with your care team before trying it."
)


class Limits(BaseModel):
    """The largest change per step the person allows (fractions of the usual)."""

    model_config = ConfigDict(frozen=True)

    bolus_change: float = Field(default=0.2, ge=0, le=0.5)
    basal_change: float = Field(default=0.1, ge=0, le=0.5)
    prebolus_max_min: int = Field(default=20, ge=0, le=30)
    weekly_load_change: float = Field(default=0.1, ge=0, le=0.5)
    bedtime_shift_min: int = Field(default=30, ge=0, le=120)


class Goal(BaseModel):
    """What the person wants: time in range, a performance by a date, a sleep target."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["time_in_range", "performance", "sleep"]
    target: float | None = None  # performance (marker units) or sleep hours
    by_days: int | None = Field(default=None, ge=7, le=182)  # for performance: days from now


class GlucosePlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    bolus_percent: dict[str, float]  # of the usual meal bolus, per meal slot
    basal_percent: float  # of the usual basal rate
    prebolus_min: int  # minutes before the meal


class ConstraintCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    limit: str
    value: float
    ok: bool


class Evidence(BaseModel):
    """What the twin predicts with the usual therapy and with the suggestion."""

    model_config = ConfigDict(frozen=True)

    metric: str
    usual: float
    suggested: float
    suggested_low: float  # 90 % interval over the posterior draws
    suggested_high: float
    unit: str


class Suggestion(BaseModel):
    """A change to consider, with its evidence and constraints — or none, with why."""

    id: str = Field(default_factory=lambda: "s-" + uuid.uuid4().hex[:12])
    goal: Goal
    limits: Limits
    status: Literal["suggested", "no_safe_change", "no_improvement"]
    plan: dict[str, float | int | dict[str, float] | list[float]] = Field(default_factory=dict)
    evidence: list[Evidence] = Field(default_factory=list)
    constraints: list[ConstraintCheck] = Field(default_factory=list)
    days_evaluated: int = 0
    draws: int = 0
    summary: str
    caveat: str = NOT_AN_ORDER


# -- glucose -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class UsualDay:
    """One usual day to replay: inputs from ``warmup_min`` before local midnight to the
    day's end, and the glucose of the warm-up (one value a minute)."""

    inputs: GlucoseInputs
    history: F64
    warmup_min: int


def apply_glucose_plan(day: UsualDay, plan: GlucosePlan) -> GlucoseInputs:
    """The day's inputs with the plan's bolus and basal percentages and pre-bolus."""
    inputs = day.inputs
    basal = inputs.basal_u.copy()
    basal[day.warmup_min :] *= plan.basal_percent / 100
    bolus = inputs.bolus_u.copy()
    meal_minutes = np.flatnonzero(inputs.carbs_g.sum(axis=0) > 0)
    moved = np.zeros_like(bolus)
    for i in np.flatnonzero(bolus[day.warmup_min :]).tolist():
        at = i + day.warmup_min
        if not len(meal_minutes):
            continue
        nearest = int(meal_minutes[np.argmin(np.abs(meal_minutes - at))])
        if abs(nearest - at) > MEAL_BOLUS_WINDOW_MIN:
            continue  # a correction bolus: left as it was
        minute_of_day = (nearest - day.warmup_min) % 1440
        slot = next(name for name, lo, hi in SLOTS if lo <= minute_of_day < hi)
        units = bolus[at] * plan.bolus_percent[slot] / 100
        bolus[at] = 0.0
        new_at = max(nearest - plan.prebolus_min, day.warmup_min) if plan.prebolus_min else at
        moved[new_at] += units
    return GlucoseInputs(
        inputs.start_ms,
        inputs.carbs_g,
        basal,
        bolus + moved,
        inputs.exercise,
        inputs.body_mass_kg,
    )


@dataclass(frozen=True)
class PlanOutcome:
    tir: F64  # per draw, mean over days (fraction)
    tbr: F64
    lowest: float  # lowest glucose over all draws and days
    highest: F64


def evaluate_glucose_plan(
    twin: GlucoseTwin, days: list[UsualDay], plan: GlucosePlan, theta: F64
) -> PlanOutcome:
    """Time in range, time below 70 and the lowest glucose of every draw over the days."""
    tir = np.zeros(theta.shape[0])
    tbr = np.zeros(theta.shape[0])
    highest = np.zeros(theta.shape[0])
    lowest = math.inf
    for day in days:
        inputs = apply_glucose_plan(day, plan)
        g_force = np.full(inputs.minutes, np.nan)
        g_force[: day.warmup_min] = day.history[: day.warmup_min]
        obs = np.arange(day.warmup_min, inputs.minutes, 5, dtype=np.int64)
        sims = simulate_cgm(theta, inputs, twin.basal_ref_u_min, g_force, obs)
        tir += ((sims >= 70) & (sims <= 180)).mean(axis=1)
        tbr += (sims < 70).mean(axis=1)
        highest = np.maximum(highest, sims.max(axis=1))
        lowest = min(lowest, float(sims.min()))
    return PlanOutcome(tir / len(days), tbr / len(days), lowest, highest)


USUAL = GlucosePlan(
    bolus_percent={name: 100.0 for name, _lo, _hi in SLOTS}, basal_percent=100.0, prebolus_min=0
)


def _plan_from(v: F64, limits: Limits) -> GlucosePlan:
    """A plan from a point of [-1, 1]^5, always inside the limits."""
    v = np.clip(v, -1.0, 1.0)
    return GlucosePlan(
        bolus_percent={
            name: round(100 * (1 + limits.bolus_change * float(v[i])), 1)
            for i, (name, _lo, _hi) in enumerate(SLOTS)
        },
        basal_percent=round(100 * (1 + limits.basal_change * float(v[3])), 1),
        prebolus_min=round(limits.prebolus_max_min * (float(v[4]) + 1) / 2),
    )


def glucose_constraints(
    plan: GlucosePlan, outcome: PlanOutcome, usual: PlanOutcome, limits: Limits
) -> list[ConstraintCheck]:
    """The hard constraints of a plan, each with its value."""
    bolus_dev = max(abs(p / 100 - 1) for p in plan.bolus_percent.values())
    return [
        ConstraintCheck(
            name="lowest simulated glucose (every posterior draw)",
            limit=f">= {HYPO_FLOOR_MG_DL:g} mg/dl",
            value=round(outcome.lowest, 1),
            ok=outcome.lowest >= HYPO_FLOOR_MG_DL,
        ),
        ConstraintCheck(
            name="time below 70 mg/dl",
            limit=f"<= usual ({100 * usual.tbr.mean():.2f} %)",
            value=round(100 * float(outcome.tbr.mean()), 2),
            ok=float(outcome.tbr.mean()) <= float(usual.tbr.mean()) + 1e-12,
        ),
        ConstraintCheck(
            name="bolus change",
            limit=f"<= ±{100 * limits.bolus_change:g} %",
            value=round(100 * bolus_dev, 1),
            ok=bolus_dev <= limits.bolus_change + 1e-9,
        ),
        ConstraintCheck(
            name="basal change",
            limit=f"<= ±{100 * limits.basal_change:g} %",
            value=round(abs(plan.basal_percent - 100), 1),
            ok=abs(plan.basal_percent / 100 - 1) <= limits.basal_change + 1e-9,
        ),
        ConstraintCheck(
            name="pre-bolus",
            limit=f"<= {limits.prebolus_max_min} min",
            value=plan.prebolus_min,
            ok=0 <= plan.prebolus_min <= limits.prebolus_max_min,
        ),
    ]


def suggest_glucose_plan(
    twin: GlucoseTwin,
    days: list[UsualDay],
    limits: Limits | None = None,
    *,
    draws: int = 100,
    evaluations: int = 240,
    seed: int = 0,
    min_gain_pp: float = 0.5,
) -> Suggestion:
    """Search the plan space for the highest time in range within the hard constraints."""
    import cma

    limits = limits or Limits()
    goal = Goal(kind="time_in_range")
    if not days:
        return Suggestion(
            goal=goal,
            limits=limits,
            status="no_safe_change",
            summary="There are no usual days to replay.",
        )
    theta = twin.theta_samples(draws)
    usual = evaluate_glucose_plan(twin, days, USUAL, theta)
    seen: dict[str, tuple[GlucosePlan, PlanOutcome]] = {}

    def score(v: F64) -> float:
        plan = _plan_from(v, limits)
        key = plan.model_dump_json()
        if key not in seen:
            seen[key] = (plan, evaluate_glucose_plan(twin, days, plan, theta))
        out = seen[key][1]
        penalty = 50 * max(0.0, HYPO_FLOOR_MG_DL + 3 - out.lowest) / 10
        penalty += 200 * max(0.0, float(out.tbr.mean() - usual.tbr.mean()))
        return -float(out.tir.mean()) + penalty

    opts = {
        "bounds": [-1.0, 1.0],
        "maxfevals": evaluations,
        "seed": seed + 1,
        "verbose": -9,
        "popsize": 10,
    }
    es = cma.CMAEvolutionStrategy(np.zeros(5), 0.5, opts)
    while not es.stop():
        xs = es.ask()
        es.tell(xs, [score(np.asarray(x)) for x in xs])
    # The hard check: the best plan by time in range that passes every constraint.
    ranked = sorted(seen.values(), key=lambda po: -float(po[1].tir.mean()))
    chosen: tuple[GlucosePlan, PlanOutcome] | None = None
    for plan, outcome in ranked:
        if all(c.ok for c in glucose_constraints(plan, outcome, usual, limits)):
            chosen = (plan, outcome)
            break
    base_evidence = Evidence(
        metric="time in range 70–180 mg/dl",
        usual=round(100 * float(usual.tir.mean()), 1),
        suggested=round(100 * float(usual.tir.mean()), 1),
        suggested_low=round(100 * float(np.percentile(usual.tir, 5)), 1),
        suggested_high=round(100 * float(np.percentile(usual.tir, 95)), 1),
        unit="%",
    )
    if chosen is None:
        return Suggestion(
            goal=goal,
            limits=limits,
            status="no_safe_change",
            evidence=[base_evidence],
            days_evaluated=len(days),
            draws=theta.shape[0],
            summary=(
                "No change within your limits kept every simulated day above 54 mg/dl and "
                "time below 70 mg/dl at or under your usual; the twin suggests nothing."
            ),
        )
    plan, outcome = chosen
    gain = 100 * float(outcome.tir.mean() - usual.tir.mean())
    checks = glucose_constraints(plan, outcome, usual, limits)
    evidence = [
        Evidence(
            metric="time in range 70–180 mg/dl",
            usual=round(100 * float(usual.tir.mean()), 1),
            suggested=round(100 * float(outcome.tir.mean()), 1),
            suggested_low=round(100 * float(np.percentile(outcome.tir, 5)), 1),
            suggested_high=round(100 * float(np.percentile(outcome.tir, 95)), 1),
            unit="%",
        ),
        Evidence(
            metric="time below 70 mg/dl",
            usual=round(100 * float(usual.tbr.mean()), 2),
            suggested=round(100 * float(outcome.tbr.mean()), 2),
            suggested_low=round(100 * float(np.percentile(outcome.tbr, 5)), 2),
            suggested_high=round(100 * float(np.percentile(outcome.tbr, 95)), 2),
            unit="%",
        ),
        Evidence(
            metric="highest glucose",
            usual=round(float(usual.highest.mean()), 0),
            suggested=round(float(outcome.highest.mean()), 0),
            suggested_low=round(float(np.percentile(outcome.highest, 5)), 0),
            suggested_high=round(float(np.percentile(outcome.highest, 95)), 0),
            unit="mg/dl",
        ),
    ]
    if gain < min_gain_pp:
        return Suggestion(
            goal=goal,
            limits=limits,
            status="no_improvement",
            evidence=evidence[:1],
            constraints=checks,
            days_evaluated=len(days),
            draws=theta.shape[0],
            summary=(
                f"Within your limits the twin finds no change that raises time in range by "
                f"{min_gain_pp:g} points or more; your usual therapy looks as good as any."
            ),
        )
    parts = [
        f"{name} boluses at {pct:g} % of your usual"
        for name, pct in plan.bolus_percent.items()
        if pct != 100
    ]
    if plan.basal_percent != 100:
        parts.append(f"basal at {plan.basal_percent:g} % of your usual rate")
    if plan.prebolus_min:
        parts.append(f"meal boluses {plan.prebolus_min} minutes before eating")
    summary = (
        f"On your twin, {', '.join(parts) or 'no change'} raised time in range from "
        f"{evidence[0].usual:g} % to {evidence[0].suggested:g} % (90 % interval "
        f"{evidence[0].suggested_low:g}–{evidence[0].suggested_high:g} %) over {len(days)} of "
        f"your usual days, with no simulated glucose below {HYPO_FLOOR_MG_DL:g} mg/dl."
    )
    return Suggestion(
        goal=goal,
        limits=limits,
        status="suggested",
        plan=cast(dict[str, float | int | dict[str, float] | list[float]], plan.model_dump()),
        evidence=evidence,
        constraints=checks,
        days_evaluated=len(days),
        draws=theta.shape[0],
        summary=summary,
    )


# -- training -----------------------------------------------------------------------------------
def _weekly_plan_loads(recent_week: F64, ratios: F64, weeks: int) -> F64:
    """Daily loads for ``weeks`` weeks: the recent week's shape, each week scaled by its
    ratio to the week before."""
    out = []
    level = 1.0
    for w in range(weeks):
        level *= float(ratios[w])
        out.append(recent_week * level)
    return np.concatenate(out)


def suggest_training_plan(
    fit: FitnessFatigueFit,
    past_loads: F64,
    goal: Goal,
    limits: Limits | None = None,
    *,
    draws: int = 200,
    seed: int = 0,
) -> Suggestion:
    """Weekly loads toward a performance by a date, within the weekly limit and no ACWR spike."""
    limits = limits or Limits()
    weeks = max(1, (goal.by_days or 28) // 7)
    past = np.asarray(past_loads, dtype=float)
    recent_week = (
        past[-7:] if len(past) >= 7 else np.full(7, float(np.mean(past) if len(past) else 0))
    )
    s = np.array(fit.samples)[:draws]

    def perf_at_end(ratios: F64) -> tuple[F64, F64]:
        loads = np.r_[past, _weekly_plan_loads(recent_week, ratios, weeks)]
        rel = loads / fit.load_mean
        fitness = impulse(rel, s[:, 3])[:, -1]
        fatigue = impulse(rel, s[:, 4])[:, -1]
        end = s[:, 0] + s[:, 1] * fitness - s[:, 2] * fatigue
        return fit.performance_mean * (1 + end / 100), loads

    usual_perf, _ = perf_at_end(np.ones(weeks))
    rng = np.random.default_rng(seed)
    best: tuple[float, F64, F64, F64] | None = None
    lo_ratio = 1 - 0.4  # a lighter week (taper or recovery) is always allowed
    for k in range(120):
        ratios = (
            np.ones(weeks)
            if k == 0
            else rng.uniform(lo_ratio, 1 + limits.weekly_load_change, weeks)
        )
        if k % 3 == 1:  # build then taper, a classic shape
            ratios = np.r_[np.full(max(weeks - 1, 0), 1 + limits.weekly_load_change), [0.7]][:weeks]
        perf, loads = perf_at_end(ratios)
        ratio = acwr(loads)[len(past) :]
        if np.nanmax(np.r_[ratio, 0.0]) > 1.5:
            continue
        value = float(perf.mean())
        if best is None or value > best[0]:
            best = (value, ratios, perf, loads)
    assert best is not None  # the usual plan (k == 0) keeps ACWR as it was
    _value, ratios, perf, loads = best
    acwr_max = float(np.nanmax(np.r_[acwr(loads)[len(past) :], 0.0]))
    reach = float(np.mean(perf >= goal.target)) if goal.target is not None else float("nan")
    evidence = [
        Evidence(
            metric="performance on the target date",
            usual=round(float(usual_perf.mean()), 2),
            suggested=round(float(perf.mean()), 2),
            suggested_low=round(float(np.percentile(perf, 5)), 2),
            suggested_high=round(float(np.percentile(perf, 95)), 2),
            unit="marker units",
        )
    ]
    checks = [
        ConstraintCheck(
            name="weekly load increase",
            limit=f"<= +{100 * limits.weekly_load_change:g} % a week",
            value=round(100 * (float(ratios.max()) - 1), 1),
            ok=float(ratios.max()) <= 1 + limits.weekly_load_change + 1e-9,
        ),
        ConstraintCheck(
            name="acute:chronic workload ratio",
            limit="<= 1.5",
            value=round(acwr_max, 2),
            ok=acwr_max <= 1.5,
        ),
    ]
    chance = (
        ""
        if math.isnan(reach)
        else f" The twin gives it a {100 * reach:.0f} % chance of reaching {goal.target:g}."
    )
    return Suggestion(
        goal=goal,
        limits=limits,
        status="suggested",
        plan={
            "weekly_load_ratio": [round(float(r), 3) for r in ratios],
            "daily_load": [round(float(x), 1) for x in loads[len(past) :]],
        },
        evidence=evidence,
        constraints=checks,
        days_evaluated=weeks * 7,
        draws=len(s),
        summary=(
            f"Weekly loads of {', '.join(f'{100 * r:.0f} %' for r in ratios)} of the week before "
            f"predict {evidence[0].suggested:g} (90 % interval {evidence[0].suggested_low:g}–"
            f"{evidence[0].suggested_high:g}) on the date, against {evidence[0].usual:g} keeping "
            f"your usual load.{chance}"
        ),
        caveat=(
            "A suggestion from your fitness–fatigue model, not a coach's prescription; stop "
            "and rest when you feel unwell or injured."
        ),
    )


# -- sleep ----------------------------------------------------------------------------------------
def suggest_sleep_schedule(
    usual_bedtime_min: int,
    usual_wake_min: int,
    lived_hours: tuple[float, float],
    goal: Goal,
    limits: Limits | None = None,
) -> Suggestion:
    """A bedtime one step (at most ``bedtime_shift_min``) toward the sleep target, kept
    inside the hours the person has actually slept."""
    limits = limits or Limits()
    target = float(goal.target or 8.0)
    usual_h = ((usual_wake_min - usual_bedtime_min) % 1440) / 60
    lo, hi = lived_hours
    want = float(np.clip(target, lo, hi))
    shift = int(
        np.clip(round((want - usual_h) * 60), -limits.bedtime_shift_min, limits.bedtime_shift_min)
    )
    bedtime = (usual_bedtime_min - shift) % 1440
    hours = usual_h + shift / 60
    return Suggestion(
        goal=goal,
        limits=limits,
        status="suggested" if shift else "no_improvement",
        plan={"bedtime_min_of_day": bedtime, "hours_in_bed": round(hours, 2)},
        constraints=[
            ConstraintCheck(
                name="bedtime shift",
                limit=f"<= {limits.bedtime_shift_min} min a week",
                value=abs(shift),
                ok=abs(shift) <= limits.bedtime_shift_min,
            ),
            ConstraintCheck(
                name="within the hours you have slept",
                limit=f"{lo:.1f}–{hi:.1f} h",
                value=round(hours, 2),
                ok=lo - 1e-9 <= hours <= hi + 1e-9,
            ),
        ],
        summary=(
            f"Going to bed at {bedtime // 60:02d}:{bedtime % 60:02d} this week "
            f"({abs(shift)} minutes {'earlier' if shift >= 0 else 'later'}) moves you from "
            f"{usual_h:.1f} toward {target:g} hours."
            if shift
            else f"Your usual {usual_h:.1f} hours is as close to {target:g} hours as the "
            "hours you have lived allow."
        ),
        caveat=(
            "A step toward your own target; its effects on other measures are associations, "
            "not causes."
        ),
    )
