"""What if? — a scenario on the person's own fitted twin, the best plan within their
limits, and their feedback on it.

Entry points (each takes a :class:`~lifetwin.store.vault.Vault`, reads only through its
consent gate with the ``simulation`` purpose, and returns a pydantic model):

- :func:`whatif` ``(vault, scenario, *, posterior=True) -> WhatIfResult``: trajectories
  under "as usual" and under the scenario with 90 % bands, the outcome differences with
  their intervals, the model, its parameters and fit quality, a plain-language
  comparison, and the lineage of every input;
- :func:`suggest` ``(vault, goal, limits=None) -> Suggestion``: the optimizer's plan
  (lifetwin.packs.whatif.optimize) with its evidence and constraint checks, stored
  sealed in the vault;
- :func:`record_feedback` ``(vault, suggestion_id, verdict, *, correction=None,
  note=None) -> Feedback``: accept, reject or correct a suggestion, stored with it;
- :func:`glucose_twin_for` ``(vault, *, posterior=True) -> (GlucoseTwin, Lineage)``:
  the fitted twin, reloaded when the data have not changed since it was fitted.

The fitted glucose twin is stored with :meth:`Vault.save_derived` (name
``twin:glucose``, kind ``model``) with its lineage, so revoking a grant it used deletes
it. Suggestions and their feedback are stored the same way (``suggestion:<id>``);
storage goes through :func:`_save_record` and :func:`_load_record` only.

Nothing here is a medical instruction: every result says so, states the model's
validity range, and presents changes relative to the person's usual therapy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from lifetwin.core.errors import LifeTwinError
from lifetwin.core.model import Event
from lifetwin.packs.athletics import fitness_fatigue as ff
from lifetwin.packs.metabolic import glucose_twin as gt
from lifetwin.packs.whatif import generic, optimize
from lifetwin.packs.whatif.scenario import (
    ExerciseSession,
    Scenario,
    SleepSchedule,
    SpendingPlan,
    TrainingPlan,
    apply_glucose_scenario,
)
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Derived, Lineage
from lifetwin.store.records import Records
from lifetwin.store.series import Series
from lifetwin.store.vault import Vault

F64 = npt.NDArray[np.float64]
PURPOSE = Purpose.SIMULATION
TWIN_NAME = "twin:glucose"
WARMUP_MIN = 360
FIT_DAYS = 7
DEFAULT_BODY_MASS_KG = 70.0
DAY_MS = 86_400_000
POSTERIOR_STEPS = 1500
VALIDITY = (
    "Valid for days like the ones the twin was fitted on (meals, insulin and activity in "
    "the ranges you have logged); outside them it extrapolates. Decision support, not a "
    "medical instruction."
)


class WhatIfError(LifeTwinError):
    """A what-if that cannot be answered from the data the simulation purpose may see."""


# -- results ---------------------------------------------------------------------------------------
class Trajectory(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str  # "as usual" or the scenario's name
    times_ms: list[int]
    median: list[float]
    low: list[float]  # 90 % band
    high: list[float]
    unit: str


class OutcomeDifference(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    unit: str
    usual: float
    scenario: float
    difference: float
    low: float  # 90 % interval of the difference over the posterior draws
    high: float


class ModelReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    params: dict[str, float]
    units: dict[str, str]
    credible_90: dict[str, tuple[float, float]]
    quality: dict[str, Any]
    fitted_from: datetime
    fitted_to: datetime
    reused: bool  # loaded from the vault instead of fitted now
    validity: str = VALIDITY


class GlucoseWhatIf(BaseModel):
    trajectories: list[Trajectory]
    outcomes: list[OutcomeDifference]
    model: ModelReport
    usual_day: datetime  # the logged day replayed as "as usual" (its local midnight, in UTC)
    usual_date: date | None = None  # that day's local date


class TrainingWhatIf(BaseModel):
    trajectories: list[Trajectory]
    outcomes: list[OutcomeDifference]
    model: dict[str, Any]
    acwr_max_scenario: float
    acwr_flag: str


class WhatIfResult(BaseModel):
    person: str
    scenario: Scenario
    glucose: GlucoseWhatIf | None = None
    training: TrainingWhatIf | None = None
    associations: list[generic.AssociationWhatIf] = Field(default_factory=list)
    projections: list[OutcomeDifference] = Field(default_factory=list)
    not_simulated: list[str] = Field(default_factory=list)  # one sentence each: what and why
    comparison: str
    lineage: Lineage
    caveat: str = optimize.NOT_AN_ORDER


class Feedback(BaseModel):
    suggestion_id: str
    verdict: Literal["accept", "reject", "correct"]
    correction: dict[str, Any] | None = None
    note: str | None = None
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


# -- storage: the only place that touches the vault's sealed records -------------------------------
def _save_record(
    vault: Vault, name: str, kind: str, lineage: Lineage, payload: dict[str, Any]
) -> None:
    vault.save_derived(Derived(name=name, kind=kind, lineage=lineage, payload=payload))


def _load_record(vault: Vault, name: str) -> Derived | None:
    return vault.derived(name)


# -- reading the person's glucose data -------------------------------------------------------------
@dataclass(frozen=True)
class GlucoseData:
    cgm_ts: npt.NDArray[np.int64]
    cgm: F64
    tz_min: int
    inputs: gt.GlucoseInputs  # from the first CGM reading (floored to the minute) on
    lineage: Lineage
    body_mass_note: str | None


def read_glucose_data(vault: Vault) -> GlucoseData:
    """CGM, delivered insulin, bolus and meal records, read for simulation."""
    series = vault.read_series("glucose", purpose=PURPOSE)
    if len(series) < 288:
        raise WhatIfError(
            "The glucose twin needs at least a day of CGM readings that the simulation purpose "
            "may use (grant it with: lifetwin consent grant domain:metabolic simulation)."
        )
    lineage = series.lineage
    ts, values = series.ts_ms, series.values
    start = int(ts[0]) // 60_000 * 60_000
    minutes = (int(ts[-1]) - start) // 60_000 + 1
    delivered = vault.read_series("insulin_delivered", purpose=PURPOSE)
    lineage = lineage.merge(delivered.lineage)
    records = vault.read_records("event:insulin", purpose=PURPOSE)
    lineage = lineage.merge(records.lineage)
    meals_read = vault.read_records("event:meal", purpose=PURPOSE)
    lineage = lineage.merge(meals_read.lineage)
    boluses: list[tuple[int, float]] = []
    basal_events: list[tuple[int, int, float]] = []
    for item in records:
        if not isinstance(item, Event) or not isinstance(
            item.details.get("insulin_u"), int | float
        ):
            continue
        t = int(item.start.timestamp() * 1000)
        units = float(item.details["insulin_u"])
        if str(item.details.get("type", "bolus")).lower() == "basal":
            end = int(item.end.timestamp() * 1000) if item.end else t + DAY_MS
            basal_events.append((t, end, units))
        else:
            boluses.append((t, units))
    meals = [
        (int(e.start.timestamp() * 1000), float(e.details["carbs_g"]))
        for e in meals_read
        if isinstance(e, Event) and isinstance(e.details.get("carbs_g"), int | float)
    ]
    if not meals:
        raise WhatIfError(
            "The glucose twin needs meal records (carbohydrates) that the simulation purpose may "
            "use; a data-category grant does not cover events, so grant their source too "
            "(for example: lifetwin consent grant source:NAME simulation)."
        )
    if len(delivered):
        ins_ts, ins_u = delivered.ts_ms, delivered.values
        ins_dur = np.where(delivered.columns.dur_ms > 0, delivered.columns.dur_ms, 5 * 60_000)
    else:
        parts_ts = [t for t, _u in boluses] + [a for a, _b, _u in basal_events]
        parts_u = [u for _t, u in boluses] + [u for _a, _b, u in basal_events]
        parts_d = [60_000] * len(boluses) + [max(b - a, 60_000) for a, b, _u in basal_events]
        ins_ts = np.array(parts_ts, dtype=np.int64)
        ins_u = np.array(parts_u, dtype=np.float64)
        ins_dur = np.array(parts_d, dtype=np.int64)
    if not len(ins_u):
        raise WhatIfError(
            "The glucose twin needs insulin records (pump deliveries or doses) that the "
            "simulation purpose may use."
        )
    body_mass, note = DEFAULT_BODY_MASS_KG, None
    weights = vault.read_series("body_mass", purpose=PURPOSE)
    if len(weights):
        body_mass = float(weights.values[-1])
        lineage = lineage.merge(weights.lineage)
    else:
        note = (
            f"No body mass visible to the simulation purpose: {DEFAULT_BODY_MASS_KG:g} kg assumed "
            "(it scales insulin sensitivity, which is fitted, so the predictions barely change)."
        )
    inputs = gt.build_inputs(
        start,
        minutes,
        meals=meals,
        insulin_ts_ms=ins_ts,
        insulin_u=ins_u,
        insulin_dur_ms=ins_dur,
        boluses=boluses or None,
        body_mass_kg=body_mass,
    )
    tz = int(series.columns.tz_min[-1])
    return GlucoseData(ts, values, tz, inputs, lineage, note)


def _fit_window(data: GlucoseData, fit_days: int) -> tuple[int, int]:
    hi = data.inputs.minutes
    lo = max(0, hi - fit_days * 1440 - WARMUP_MIN)
    return lo, hi


def glucose_twin_for(
    vault: Vault,
    *,
    posterior: bool = True,
    fit_days: int = FIT_DAYS,
    data: GlucoseData | None = None,
) -> tuple[gt.GlucoseTwin, Lineage, bool]:
    """The person's glucose twin: reloaded when the data are the same as at its fit,
    fitted (and stored with its lineage) otherwise. Returns (twin, lineage, reused)."""
    data = data or read_glucose_data(vault)
    stored = _load_record(vault, TWIN_NAME)
    last_ms = int(data.cgm_ts[-1])
    if stored is not None:
        twin = gt.GlucoseTwin.model_validate(stored.payload)
        same_data = twin.trained_to_ms >= last_ms and stored.payload.get("inputs_count") == _count(
            data
        )
        if same_data and twin.version == gt.MODEL_VERSION and (twin.samples or not posterior):
            return twin, stored.lineage, True
    lo, hi = _fit_window(data, fit_days)
    window = data.inputs.window(lo, hi)
    fit_data = gt.prepare(window, data.cgm_ts, data.cgm, warmup_min=WARMUP_MIN)
    twin = gt.fit_map(fit_data)
    if posterior:
        twin = gt.sample_posterior(twin, fit_data, steps=POSTERIOR_STEPS)
    twin = twin.model_copy(update={"trained_to_ms": max(twin.trained_to_ms, last_ms)})
    _save_record(
        vault, TWIN_NAME, "model", data.lineage, {**twin.model_dump(), "inputs_count": _count(data)}
    )
    return twin, data.lineage, False


def _count(data: GlucoseData) -> list[float]:
    """A fingerprint of the inputs: a refit is needed when any of it changed."""
    i = data.inputs
    return [
        float(len(data.cgm)),
        round(float(data.cgm.sum()), 3),
        round(float(i.carbs_g.sum()), 3),
        round(float(i.basal_u.sum() + i.bolus_u.sum()), 4),
    ]


def _usual_day(data: GlucoseData) -> tuple[int, datetime]:
    """The start (minute index in the inputs) of the last complete local day."""
    local_start = (data.inputs.start_ms + data.tz_min * 60_000) // 60_000
    minutes = data.inputs.minutes
    first_midnight = (-local_start) % 1440
    days = (minutes - first_midnight) // 1440
    if days < 1 or first_midnight + (days - 1) * 1440 < WARMUP_MIN:
        raise WhatIfError("A what-if needs one complete logged day after six hours of CGM.")
    begin = first_midnight + (days - 1) * 1440
    moment = datetime.fromtimestamp((data.inputs.start_ms + begin * 60_000) / 1000, UTC)
    return begin, moment


def _day_template(data: GlucoseData, begin: int, horizon_days: int) -> tuple[gt.GlucoseInputs, F64]:
    """Warm-up plus the usual day repeated over the horizon, and the warm-up glucose."""
    warm = data.inputs.window(begin - WARMUP_MIN, begin)
    day = data.inputs.window(begin, begin + 1440)
    reps = [day] * horizon_days
    inputs = gt.GlucoseInputs(
        warm.start_ms,
        np.concatenate([warm.carbs_g, *[d.carbs_g for d in reps]], axis=1),
        np.concatenate([warm.basal_u, *[d.basal_u for d in reps]]),
        np.concatenate([warm.bolus_u, *[d.bolus_u for d in reps]]),
        np.concatenate([warm.exercise, *[d.exercise for d in reps]]),
        warm.body_mass_kg,
    )
    minute_ms = data.inputs.start_ms + (begin - WARMUP_MIN + np.arange(WARMUP_MIN)) * 60_000
    history = np.interp(minute_ms, data.cgm_ts, data.cgm)
    return inputs, history


def _metrics(g: F64) -> dict[str, F64]:
    return {
        "time in range 70–180": 100 * ((g >= 70) & (g <= 180)).mean(axis=-1),
        "time below 70": 100 * (g < 70).mean(axis=-1),
        "time below 54": 100 * (g < 54).mean(axis=-1),
        "time above 180": 100 * (g > 180).mean(axis=-1),
        "mean glucose": g.mean(axis=-1),
        "peak glucose": g.max(axis=-1),
    }


_UNITS = {"mean glucose": "mg/dl", "peak glucose": "mg/dl"}


def _glucose_whatif(
    vault: Vault, scenario: Scenario, posterior: bool
) -> tuple[GlucoseWhatIf, Lineage, str | None]:
    data = read_glucose_data(vault)
    twin, lineage, reused = glucose_twin_for(vault, posterior=posterior, data=data)
    begin, day_moment = _usual_day(data)
    usual_inputs, history = _day_template(data, begin, scenario.horizon_days)
    changed = apply_glucose_scenario(scenario, usual_inputs, WARMUP_MIN)
    rep_usual = gt.replay(twin, usual_inputs, history, warmup_min=WARMUP_MIN)
    rep_scen = gt.replay(twin, changed, history, warmup_min=WARMUP_MIN)
    start_ms = usual_inputs.start_ms + WARMUP_MIN * 60_000
    times = [int(start_ms + m * 60_000) for m in rep_usual.minutes.tolist()]
    trajectories = []
    for label, rep in (("as usual", rep_usual), (scenario.name, rep_scen)):
        med, lo, hi = gt.predictive_band(twin, rep)
        trajectories.append(
            Trajectory(
                label=label,
                times_ms=times,
                median=np.round(med, 1).tolist(),
                low=np.round(lo, 1).tolist(),
                high=np.round(hi, 1).tolist(),
                unit="mg/dl",
            )
        )
    mu, ms = _metrics(rep_usual.draws), _metrics(rep_scen.draws)
    outcomes = [
        OutcomeDifference(
            metric=name,
            unit=_UNITS.get(name, "%"),
            usual=round(float(mu[name].mean()), 2),
            scenario=round(float(ms[name].mean()), 2),
            difference=round(float((ms[name] - mu[name]).mean()), 2),
            low=round(float(np.percentile(ms[name] - mu[name], 5)), 2),
            high=round(float(np.percentile(ms[name] - mu[name], 95)), 2),
        )
        for name in mu
    ]
    report = ModelReport(
        name=twin.model,
        version=twin.version,
        params=twin.params,
        units=gt.UNITS,
        credible_90=twin.credible(),
        quality=twin.quality.model_dump(),
        fitted_from=datetime.fromtimestamp(twin.trained_from_ms / 1000, UTC),
        fitted_to=datetime.fromtimestamp(twin.trained_to_ms / 1000, UTC),
        reused=reused,
    )
    return (
        GlucoseWhatIf(
            trajectories=trajectories,
            outcomes=outcomes,
            model=report,
            usual_day=day_moment,
            usual_date=(day_moment + timedelta(minutes=data.tz_min)).date(),
        ),
        lineage,
        data.body_mass_note,
    )


def _daily(
    vault: Vault, code: str, days: int, end_ms: int, how: Literal["sum", "mean"]
) -> tuple[F64, Lineage]:
    series = vault.read_series(code, purpose=PURPOSE)
    day0 = (end_ms // DAY_MS - days + 1) * DAY_MS
    tz = int(series.columns.tz_min[-1]) if len(series) else 0
    fn = generic.daily_totals if how == "sum" else generic.daily_means
    return fn(series.ts_ms, series.values, day0, days, tz), series.lineage


def _sleep_hours(vault: Vault, days: int, end_ms: int) -> tuple[F64, Lineage]:
    """Hours asleep per night (assigned to the day the sleep ends), from sleep stages."""
    records = vault.read_records("sleep_stage", purpose=PURPOSE)
    day0 = (end_ms // DAY_MS - days + 1) * DAY_MS
    out = np.full(days, np.nan)
    for item in records:
        if getattr(item, "value", None) in ("awake", None) or item.end is None:
            continue
        end = int(item.end.timestamp() * 1000)
        offset = item.end.utcoffset()
        local = end + (int(offset.total_seconds() * 1000) if offset else 0)
        d = (local - day0) // DAY_MS
        if 0 <= d < days:
            hours = (item.end - item.start).total_seconds() / 3600
            out[d] = hours if math.isnan(out[d]) else out[d] + hours
    return out, records.lineage


NIGHT_GAP = 3 * 3_600_000  # stages less than this apart belong to the same night


def _nights(records: Any) -> list[tuple[datetime, datetime]]:
    """(went to bed, woke) per night: a night's sleep stages are one span, however many."""
    spans = sorted((r.start, r.end) for r in records if r.end is not None)
    nights: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if nights and (start - nights[-1][1]).total_seconds() * 1000 <= NIGHT_GAP:
            nights[-1] = (nights[-1][0], max(nights[-1][1], end))
        else:
            nights.append((start, end))
    return nights


def _associations(
    vault: Vault, scenario: Scenario, lineage: Lineage
) -> tuple[list[generic.AssociationWhatIf], list[OutcomeDifference], list[str], Lineage]:
    found: list[generic.AssociationWhatIf] = []
    projections: list[OutcomeDifference] = []
    refused: list[str] = []
    days = 120
    end_ms = int(datetime.now(UTC).timestamp() * 1000)
    for item in scenario.interventions:
        if isinstance(item, SleepSchedule):
            sleep, lin = _sleep_hours(vault, days, end_ms)
            lineage = lineage.merge(lin)
            if np.isfinite(sleep).sum() < 21:
                refused.append(
                    "Sleep: fewer than 21 nights of sleep are visible to the simulation purpose, "
                    "so "
                    "its associations cannot be estimated."
                )
                continue
            for code, lag in (("mood_valence", 0), ("energy_level", 0), ("resting_heart_rate", 1)):
                outcome, lin = _daily(vault, code, days, end_ms, "mean")
                lineage = lineage.merge(lin)
                if np.isfinite(outcome).sum() < 21:
                    continue
                try:
                    model = generic.fit_lagged(
                        outcome, sleep, lags=(lag,), outcome=code, driver="hours asleep"
                    )
                    found.append(
                        generic.what_if_level(model, item.hours, horizon_days=scenario.horizon_days)
                    )
                except LifeTwinError as error:
                    refused.append(f"{code}: {error}")
        elif isinstance(item, SpendingPlan):
            series = vault.read_series("transaction_amount", purpose=PURPOSE)
            lineage = lineage.merge(series.lineage)
            day0 = (end_ms // DAY_MS - days + 1) * DAY_MS
            tz = int(series.columns.tz_min[-1]) if len(series) else 0
            # Money out only (a salary coming in is not negative spending), over the last
            # eight weeks from the first day with a transaction.
            out = generic.daily_totals(
                series.ts_ms, np.minimum(series.values, 0.0), day0, days, tz
            )[-56:]
            seen = np.flatnonzero(np.isfinite(out))
            if not len(seen):
                refused.append("Spending: no transactions are visible to the simulation purpose.")
                continue
            spent = -np.nan_to_num(out[int(seen[0]) :], nan=0.0)
            rng = np.random.default_rng(0)
            usual = np.array([rng.choice(spent, scenario.horizon_days).sum() for _ in range(1000)])
            plan = (
                np.array(
                    [
                        np.minimum(
                            rng.choice(spent, scenario.horizon_days), item.daily_budget
                        ).sum()
                        for _ in range(1000)
                    ]
                )
                if item.daily_budget is not None
                else usual * float(item.scale or 1.0)
            )
            projections.append(
                OutcomeDifference(
                    metric=f"spending over {scenario.horizon_days} days (if the plan is kept)",
                    unit=series.unit,
                    usual=round(float(usual.mean()), 2),
                    scenario=round(float(plan.mean()), 2),
                    difference=round(float((plan - usual).mean()), 2),
                    low=round(float(np.percentile(plan - usual, 5)), 2),
                    high=round(float(np.percentile(plan - usual, 95)), 2),
                )
            )
    return found, projections, refused, lineage


def _daily_training(
    vault: Vault, workouts: Records, marker: Series, end_day: int
) -> tuple[F64, F64]:
    """The training load (Banister TRIMP) and the performance marker per UTC day up to
    ``end_day`` (today), from the first workout. Days without a workout while the watch
    was recording carry no load (zero), not no data: when the first workout is less than
    four weeks ago, the series starts earlier, with the activity data, up to four weeks
    (a month of data whose first day was a rest day is four weeks, not 27 days)."""
    first = min(int(w.start.timestamp() * 1000) for w in workouts) // DAY_MS
    four_weeks = end_day - 27
    for stream in vault.visible_streams(PURPOSE):
        if first > four_weeks and stream.metric in ("heart_rate", "active_energy", "steps"):
            span = vault.stream_days(stream)
            if span is not None:
                first = min(first, max(span[0], four_weeks))
    days = end_day - first + 1
    load = np.zeros(days)
    for w in workouts:
        if not isinstance(w, Event):
            continue
        dur = float(w.details.get("duration_min", 0) or 0)
        hr = w.details.get("avg_heart_rate_bpm")
        d = int(w.start.timestamp() * 1000) // DAY_MS - first
        if isinstance(hr, int | float) and dur > 0 and 0 <= d < days:
            load[d] += ff.trimp_banister(np.full(int(dur), float(hr)), 1.0, 60.0, 190.0)
    perf = np.full(days, np.nan)
    for t, v in zip(marker.ts_ms.tolist(), marker.values.tolist(), strict=True):
        if 0 <= t // DAY_MS - first < days:
            perf[t // DAY_MS - first] = v
    return load, perf


def _training_whatif(
    vault: Vault, scenario: Scenario, lineage: Lineage
) -> tuple[TrainingWhatIf | None, str | None, Lineage]:
    plans = [i for i in scenario.interventions if isinstance(i, TrainingPlan | ExerciseSession)]
    if not plans:
        return None, None, lineage
    workouts = vault.read_records("event:workout", purpose=PURPOSE)
    marker = vault.read_series("vo2max", purpose=PURPOSE)
    lineage = lineage.merge(workouts.lineage).merge(marker.lineage)
    if not len(workouts) or len(marker) < 8:
        return (
            None,
            (
                "Training: the fitness–fatigue model needs workouts with heart rate and at least 8 "
                "performance tests (VO2 max estimates) visible to the simulation purpose."
            ),
            lineage,
        )
    end_day = int(datetime.now(UTC).timestamp() * 1000) // DAY_MS
    load, perf = _daily_training(vault, workouts, marker, end_day)
    days = len(load)
    try:
        fit = ff.fit_fitness_fatigue(load, perf)
    except LifeTwinError as error:
        return None, f"Training: {error}", lineage
    future_days = scenario.horizon_days
    recent = load[-7:] if len(load) >= 7 else np.full(7, load.mean())
    usual_future = np.resize(recent, future_days)
    plan_future = usual_future.copy()
    for item in plans:
        if isinstance(item, TrainingPlan):
            if item.weekly_load_scale is not None:
                plan_future = plan_future * item.weekly_load_scale
            elif item.daily_load is not None:
                plan_future = np.resize(np.array(item.daily_load, dtype=float), future_days)
        else:
            extra = ff.trimp_banister(
                np.full(item.duration_min, 60 + item.heart_rate_reserve * 130), 1.0, 60.0, 190.0
            )
            for d in range(future_days):
                if item.on_day(d + 1):
                    plan_future[d] += extra
    usual = fit.predict(np.r_[load, usual_future], draws=True)[:, days:]
    plan = fit.predict(np.r_[load, plan_future], draws=True)[:, days:]
    ratio = ff.acwr(np.r_[load, plan_future])[days:]
    acwr_max = float(np.nanmax(np.r_[ratio, 0.0]))
    times = [int((end_day + 1 + d) * DAY_MS) for d in range(future_days)]
    trajectories = [
        Trajectory(
            label=label,
            times_ms=times,
            median=np.round(np.median(p, axis=0), 2).tolist(),
            low=np.round(np.percentile(p, 5, axis=0), 2).tolist(),
            high=np.round(np.percentile(p, 95, axis=0), 2).tolist(),
            unit=marker.unit,
        )
        for label, p in (("as usual", usual), (scenario.name, plan))
    ]
    diff = plan[:, -1] - usual[:, -1]
    outcomes = [
        OutcomeDifference(
            metric="performance at the end of the horizon",
            unit=marker.unit,
            usual=round(float(usual[:, -1].mean()), 2),
            scenario=round(float(plan[:, -1].mean()), 2),
            difference=round(float(diff.mean()), 2),
            low=round(float(np.percentile(diff, 5)), 2),
            high=round(float(np.percentile(diff, 95)), 2),
        )
    ]
    return (
        TrainingWhatIf(
            trajectories=trajectories,
            outcomes=outcomes,
            model=fit.model_dump(exclude={"samples"}),
            acwr_max_scenario=acwr_max,
            acwr_flag=ff.acwr_flag(acwr_max),
        ),
        None,
        lineage,
    )


def _comparison(result: WhatIfResult) -> str:
    parts: list[str] = []
    if result.glucose is not None:
        by = {o.metric: o for o in result.glucose.outcomes}
        tir, tbr, peak = by["time in range 70–180"], by["time below 70"], by["peak glucose"]
        verb = (
            "raises" if tir.difference > 0.05 else "lowers" if tir.difference < -0.05 else "keeps"
        )
        parts.append(
            f"On your twin, '{result.scenario.name}' {verb} time in range from "
            f"{tir.usual:.0f} % to "
            f"{tir.scenario:.0f} % (difference {tir.difference:+.1f} points, 90 % interval "
            f"{tir.low:+.1f} to {tir.high:+.1f}); time below 70 goes from {tbr.usual:.1f} % to "
            f"{tbr.scenario:.1f} % and the peak from {peak.usual:.0f} to {peak.scenario:.0f} mg/dl."
        )
        if tbr.high > 0.5:
            parts.append(
                "Some simulated days dip below 70 mg/dl more often: treat this as a warning sign."
            )
    if result.training is not None:
        o = result.training.outcomes[0]
        parts.append(
            f"Training: performance at the end is predicted at {o.scenario:g} against "
            f"{o.usual:g} as "
            f"usual ({o.difference:+.2f}, 90 % interval {o.low:+.2f} to {o.high:+.2f}); the "
            f"acute:chronic workload ratio peaks at {result.training.acwr_max_scenario:.2f} "
            f"({result.training.acwr_flag})."
        )
    parts += [a.sentence for a in result.associations]
    parts += [
        f"{p.metric}: {p.scenario:.2f} against {p.usual:.2f} as usual ({p.difference:+.2f})."
        for p in result.projections
    ]
    parts += result.not_simulated
    return " ".join(parts) or "Nothing in this scenario could be simulated."


def whatif(vault: Vault, scenario: Scenario, *, posterior: bool = True) -> WhatIfResult:
    """Run a scenario on the person's twin: see the module docstring."""
    lineage = Lineage(purpose=PURPOSE.value)
    glucose: GlucoseWhatIf | None = None
    notes: list[str] = []
    if scenario.touches_glucose():
        try:
            glucose, lin, note = _glucose_whatif(vault, scenario, posterior)
            lineage = lineage.merge(lin)
            if note:
                notes.append(note)
        except (WhatIfError, gt.GlucoseTwinError) as error:
            notes.append(f"Glucose: {error}")
    training, refusal, lineage = _training_whatif(vault, scenario, lineage)
    if refusal:
        notes.append(refusal)
    associations, projections, refused, lineage = _associations(vault, scenario, lineage)
    notes += refused
    result = WhatIfResult(
        person=vault.person.id,
        scenario=scenario,
        glucose=glucose,
        training=training,
        associations=associations,
        projections=projections,
        not_simulated=notes,
        comparison="",
        lineage=lineage,
    )
    result.comparison = _comparison(result)
    vault.log_event("whatif", PURPOSE.value, scenario=scenario.name, kinds=sorted(scenario.kinds()))
    if glucose is None and training is None and not associations and not projections:
        raise WhatIfError(" ".join(notes) or "Nothing in this scenario could be simulated.")
    return result


# -- suggestions and feedback ----------------------------------------------------------------------
def suggest(
    vault: Vault, goal: optimize.Goal, limits: optimize.Limits | None = None
) -> optimize.Suggestion:
    """The optimizer's suggestion for ``goal`` within ``limits``, stored with its lineage."""
    limits = limits or optimize.Limits()
    if goal.kind == "time_in_range":
        data = read_glucose_data(vault)
        twin, lineage, _reused = glucose_twin_for(vault, posterior=True, data=data)
        begin, _moment = _usual_day(data)
        days = []
        for k in range(3):
            start = begin - k * 1440
            if start - WARMUP_MIN < 0:
                break
            inputs, history = _day_template(data, start, 1)
            days.append(optimize.UsualDay(inputs, history, WARMUP_MIN))
        suggestion = optimize.suggest_glucose_plan(twin, days, limits)
    elif goal.kind == "performance":
        return suggest_training(vault, goal, limits)
    else:
        records = vault.read_records("sleep_stage", purpose=PURPOSE)
        lineage = records.lineage
        nights = _nights(records)
        starts = [a for a, _b in nights]
        ends = [b for _a, b in nights]
        if len(nights) < 21:
            raise WhatIfError(
                "A sleep suggestion needs at least 21 nights of sleep visible to the "
                "simulation purpose."
            )
        hours, _lin = _sleep_hours(vault, 120, int(datetime.now(UTC).timestamp() * 1000))
        lived = hours[np.isfinite(hours)]
        bed = (
            int(np.median([(s.hour * 60 + s.minute + 720) % 1440 for s in starts[-200:]]) - 720)
            % 1440
        )
        wake = int(np.median([e.hour * 60 + e.minute for e in ends[-200:]]))
        suggestion = optimize.suggest_sleep_schedule(
            bed, wake, (float(lived.min()), float(lived.max())), goal, limits
        )
    _save_record(
        vault,
        f"suggestion:{suggestion.id}",
        "suggestion",
        lineage,
        {"suggestion": suggestion.model_dump(mode="json"), "feedback": []},
    )
    return suggestion


def suggest_training(
    vault: Vault, goal: optimize.Goal, limits: optimize.Limits | None = None
) -> optimize.Suggestion:
    """A training plan toward a performance by a date (fitness–fatigue posterior)."""
    workouts = vault.read_records("event:workout", purpose=PURPOSE)
    marker = vault.read_series("vo2max", purpose=PURPOSE)
    lineage = workouts.lineage.merge(marker.lineage)
    if not len(workouts) or len(marker) < 8:
        raise WhatIfError(
            "A training suggestion needs workouts and at least 8 performance tests visible "
            "to the simulation purpose."
        )
    load, perf = _daily_training(
        vault, workouts, marker, int(datetime.now(UTC).timestamp() * 1000) // DAY_MS
    )
    fit = ff.fit_fitness_fatigue(load, perf)
    suggestion = optimize.suggest_training_plan(fit, load, goal, limits)
    _save_record(
        vault,
        f"suggestion:{suggestion.id}",
        "suggestion",
        lineage,
        {"suggestion": suggestion.model_dump(mode="json"), "feedback": []},
    )
    return suggestion


def stored_suggestion(
    vault: Vault, suggestion_id: str
) -> tuple[optimize.Suggestion, list[Feedback]]:
    """A stored suggestion and the feedback given on it."""
    record = _load_record(vault, f"suggestion:{suggestion_id}")
    if record is None:
        raise WhatIfError(
            f"There is no suggestion {suggestion_id} (it may have been removed when a grant "
            "was revoked)."
        )
    return (
        optimize.Suggestion.model_validate(record.payload["suggestion"]),
        [Feedback.model_validate(f) for f in record.payload.get("feedback", [])],
    )


def record_feedback(
    vault: Vault,
    suggestion_id: str,
    verdict: Literal["accept", "reject", "correct"],
    *,
    correction: dict[str, Any] | None = None,
    note: str | None = None,
) -> Feedback:
    """Store the person's accept / reject / correct with the suggestion it answers."""
    if verdict == "correct" and not correction:
        raise WhatIfError(
            "A correction needs the corrected values (for example the bolus percentages "
            "you would use)."
        )
    record = _load_record(vault, f"suggestion:{suggestion_id}")
    if record is None:
        raise WhatIfError(
            f"There is no suggestion {suggestion_id} (it may have been removed when a grant "
            "was revoked)."
        )
    feedback = Feedback(
        suggestion_id=suggestion_id, verdict=verdict, correction=correction, note=note
    )
    payload = dict(record.payload)
    payload["feedback"] = [*payload.get("feedback", []), feedback.model_dump(mode="json")]
    _save_record(vault, record.name, record.kind, record.lineage, payload)
    vault.log_event("feedback", PURPOSE.value, suggestion=suggestion_id, verdict=verdict)
    return feedback
