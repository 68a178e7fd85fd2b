"""What if?: scenarios and their errors, the optimizer's hard limits (property-tested),
the generic association model, and the capability on a real store with consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifetwin.core.model import Event, EventKind
from lifetwin.packs.metabolic import glucose_twin as gt
from lifetwin.packs.whatif import capability, generic, optimize
from lifetwin.packs.whatif.scenario import (
    ScenarioError,
    apply_glucose_scenario,
    load_scenario,
    parse_scenario,
)
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Store, Vault

BASAL = 0.015
TRUE = {**gt.PRIOR_MEDIAN, "Gb": 135.0, "SI": 8e-4}


# -- scenarios ----------------------------------------------------------------------------------
def test_a_yaml_scenario_is_read_with_its_interventions() -> None:
    scenario = load_scenario(
        """
name: later dinner, pre-bolus
horizon_days: 2
interventions:
  - {kind: meal, at: "19:30", shift_min: 60, absorption: slow}
  - {kind: bolus, shift_min: -15, days: [2]}
  - {kind: basal, scale: 0.9, from_time: "22:00", to_time: "06:00"}
  - {kind: exercise, at: "18:00", duration_min: 45, intensity: vigorous}
  - {kind: sleep, bedtime: "23:00", wake: "07:00"}
"""
    )
    assert scenario.horizon_days == 2
    assert [i.kind for i in scenario.interventions] == [
        "meal",
        "bolus",
        "basal",
        "exercise",
        "sleep",
    ]
    assert scenario.touches_glucose()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"interventions": [{"kind": "basal", "scale": 9}]}',
            "Intervention 1 (basal), scale: must be at most 3.",
        ),
        ('{"interventions": [{"kind": "lunch"}]}', "kind must be one of"),
        (
            '{"interventions": [{"kind": "meal", "at": "25:00", "scale": 1}]}',
            "'25:00' is not a time of day",
        ),
        (
            '{"interventions": [{"kind": "meal", "at": "12:00", "add": true}]}',
            "an added meal needs carbs_g",
        ),
        ('{"interventions": [{"kind": "bolus"}]}', "needs scale, shift_min or add_u"),
        (
            '{"horizon_days": 2, "interventions": [{"kind": "basal", "scale": 1, "days": [3]}]}',
            "day 3 of a 2-day",
        ),
        ('{"interventions": []}', "needs at least 1 item"),
        (
            '{"interventions": [{"kind": "basal", "scale": 1, "speed": 2}]}',
            "speed: is not a setting",
        ),
        ("interventions: [", "not valid YAML"),
        ('{"interventions": ', "not valid JSON"),
    ],
)
def test_every_scenario_error_is_one_sentence(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(text)
    said = str(caught.value)
    assert message in said
    assert said.endswith(".")
    assert "\n" not in said
    assert "Traceback" not in said


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(
                st.sampled_from(["kind", "at", "scale", "interventions", "days", "x"]),
                c,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
@settings(max_examples=150, deadline=None)
def test_no_input_breaks_the_scenario_parser(raw: object) -> None:
    try:
        parse_scenario(raw)
    except ScenarioError as error:
        said = str(error)
    else:
        said = "."
    assert said.endswith(".")


# -- applying a scenario to the twin's inputs ------------------------------------------------------
def _usual_day(warmup: int = 360) -> gt.GlucoseInputs:
    inputs = gt.empty_inputs(0, warmup + 1440, 70.0)
    inputs.basal_u[:] = BASAL
    for minute, grams in ((7 * 60 + 30, 45), (12 * 60 + 30, 70), (19 * 60, 80)):
        inputs.carbs_g[1, warmup + minute] = grams
        inputs.bolus_u[warmup + minute] = grams / 10
    inputs.bolus_u[warmup + 3 * 60] = 1.0  # a correction, far from any meal
    return inputs


def test_scenario_changes_reach_only_what_they_name() -> None:
    base = _usual_day()
    scenario = parse_scenario(
        {
            "interventions": [
                {"kind": "bolus", "at": "19:00", "scale": 0.5},
                {"kind": "basal", "scale": 0.8, "from_time": "00:00", "to_time": "06:00"},
                {"kind": "meal", "at": "12:00", "shift_min": 60, "absorption": "fast"},
            ]
        }
    )
    out = apply_glucose_scenario(scenario, base, 360)
    assert out.bolus_u[360 + 19 * 60] == pytest.approx(4.0)  # dinner bolus halved
    assert out.bolus_u[360 + 3 * 60] == pytest.approx(1.0)  # the correction untouched
    assert out.bolus_u[360 + 13 * 60 + 30] == pytest.approx(7.0)  # lunch bolus moved with lunch
    assert out.carbs_g[0, 360 + 13 * 60 + 30] == pytest.approx(70)  # lunch later and fast
    assert out.basal_u[360 + 60] == pytest.approx(0.8 * BASAL)
    assert out.basal_u[360 + 12 * 60] == pytest.approx(BASAL)
    assert np.array_equal(out.basal_u[:360], base.basal_u[:360])  # the warm-up is history


# -- the generic model ----------------------------------------------------------------------------
def test_associations_are_labelled_and_refuse_to_extrapolate() -> None:
    rng = np.random.default_rng(1)
    sleep = rng.uniform(6, 8, 90)
    mood = 0.2 * sleep + rng.normal(0, 0.1, 90)
    model = generic.fit_lagged(mood, sleep, lags=(0,), outcome="mood", driver="hours asleep")
    answer = generic.what_if_level(model, 7.8)
    assert answer.label == "association, not cause"
    assert "association, not cause" in answer.sentence
    assert answer.low <= answer.change <= answer.high
    with pytest.raises(generic.ExtrapolationError, match="outside the range you have"):
        generic.what_if_level(model, 10.0)


# -- the optimizer: no suggestion ever breaks a hard constraint ---------------------------------
def _twin(params: dict[str, float], rng: np.random.Generator, draws: int) -> gt.GlucoseTwin:
    theta = gt.theta_of(params)[0]
    samples = theta * np.exp(rng.normal(0, 0.1, (draws, len(theta))))
    samples[:, gt.PARAMS.index("beta")] = np.clip(samples[:, gt.PARAMS.index("beta")], 0.5, 60)
    return gt.GlucoseTwin(
        params=params,
        samples=samples.tolist(),
        basal_ref_u_min=BASAL,
        body_mass_kg=70.0,
        quality=gt.FitQuality(
            rmse_mg_dl=10,
            mard_percent=8,
            population_rmse_mg_dl=20,
            residual_sd_mg_dl=10,
            residual_lag1=0.9,
            readings=1000,
            days=4,
            segment_h=12,
            fit_seconds=1,
        ),
        trained_from_ms=0,
        trained_to_ms=0,
    )


@given(
    si=st.floats(3e-4, 2e-3),
    gb=st.floats(90, 200),
    start=st.floats(70, 250),
    carbs_scale=st.floats(0.5, 1.5),
    bolus_change=st.floats(0.0, 0.3),
    basal_change=st.floats(0.0, 0.3),
    prebolus=st.integers(0, 30),
    seed=st.integers(0, 1000),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_suggestion_ever_violates_the_hard_constraints(
    si: float,
    gb: float,
    start: float,
    carbs_scale: float,
    bolus_change: float,
    basal_change: float,
    prebolus: int,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    twin = _twin({**TRUE, "SI": si, "Gb": gb}, rng, draws=20)
    day = _usual_day()
    day.carbs_g[:] *= carbs_scale
    limits = optimize.Limits(
        bolus_change=bolus_change, basal_change=basal_change, prebolus_max_min=prebolus
    )
    usual_day = optimize.UsualDay(day, np.full(360, start), 360)
    s = optimize.suggest_glucose_plan(twin, [usual_day], limits, evaluations=40, seed=seed)
    assert "order" not in s.summary.lower()
    assert "take " not in s.summary.lower()
    if s.status != "suggested":
        return
    plan = optimize.GlucosePlan.model_validate(s.plan)
    assert all(abs(p / 100 - 1) <= bolus_change + 1e-9 for p in plan.bolus_percent.values())
    assert abs(plan.basal_percent / 100 - 1) <= basal_change + 1e-9
    assert 0 <= plan.prebolus_min <= prebolus
    # An independent re-simulation of the plan on every draw of the twin.
    theta = twin.theta_samples()
    obs = np.arange(360, day.minutes, 5)
    g_force = np.r_[np.full(360, start), np.full(1440, np.nan)]
    with_plan = gt.simulate_cgm(
        theta, optimize.apply_glucose_plan(usual_day, plan), BASAL, g_force, obs
    )
    usual = gt.simulate_cgm(theta, day, BASAL, g_force, obs)
    assert with_plan.min() >= optimize.HYPO_FLOOR_MG_DL
    assert (with_plan < 70).mean() <= (usual < 70).mean() + 1e-12
    assert all(c.ok for c in s.constraints)


def test_a_suggestion_says_it_is_not_an_instruction() -> None:
    twin = _twin({**TRUE, "SI": 4e-4}, np.random.default_rng(0), draws=20)
    day = optimize.UsualDay(_usual_day(), np.full(360, 160.0), 360)
    s = optimize.suggest_glucose_plan(twin, [day], evaluations=60)
    assert "not a medical instruction" in s.caveat
    assert s.status in ("suggested", "no_improvement", "no_safe_change")
    if s.status == "suggested":
        assert ("% of your usual" in s.summary) or ("before eating" in s.summary)
        assert " U " not in s.summary  # no doses in units


# -- the capability on a real store ---------------------------------------------------------------
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _cols(ts: np.ndarray, values: np.ndarray, dur_ms: int) -> Columns:
    n = len(ts)
    zeros = np.zeros(n, dtype=np.int64)
    return Columns(
        ts.astype(np.int64), np.full(n, dur_ms, dtype=np.int64), values, zeros, zeros, zeros, zeros
    )


def _person_with_glucose(store: Store, days: int = 3) -> Vault:
    vault = store.vault(store.add_person("Gina"))
    minutes = days * 1440
    inputs = gt.empty_inputs(int(T0.timestamp() * 1000), minutes, 70.0)
    inputs.basal_u[:] = BASAL
    rng = np.random.default_rng(4)
    meals: list[Event] = []
    for d in range(days):
        for hour, grams in ((7.5, 45), (12.5, 70), (19.0, 80)):
            m = d * 1440 + int(hour * 60) + int(rng.integers(-20, 20))
            inputs.carbs_g[1, m] = grams
            inputs.bolus_u[m] = grams / 9
            when = T0 + timedelta(minutes=m)
            meals.append(
                Event(
                    kind=EventKind.MEAL, start=when, details={"carbs_g": grams}, source="test-pump"
                )
            )
            meals.append(
                Event(
                    kind=EventKind.INSULIN,
                    start=when,
                    details={"insulin_u": grams / 9, "type": "bolus"},
                    source="test-pump",
                )
            )
    obs = np.arange(0, minutes, 5)
    g_force = np.full(minutes, np.nan)
    g_force[0] = 140.0
    cgm = gt.simulate_cgm(gt.theta_of(TRUE), inputs, BASAL, g_force, obs)[0] + rng.normal(
        0, 3, len(obs)
    )
    ts = inputs.start_ms + obs * 60_000
    vault.write_columns("glucose", "test-cgm", None, "mg/dL", _cols(ts, np.round(cgm), 0))
    delivered = inputs.basal_u.reshape(-1, 5).sum(axis=1) + inputs.bolus_u.reshape(-1, 5).sum(
        axis=1
    )
    vault.write_columns("insulin_delivered", "test-pump", None, "U", _cols(ts, delivered, 300_000))
    vault.write_records(meals)
    return vault


SCENARIO = {
    "name": "smaller dinner bolus",
    "interventions": [{"kind": "bolus", "at": "19:00", "scale": 0.8}],
}


@pytest.mark.slow
def test_whatif_on_a_real_store_with_consent_and_refusal_without(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capability, "POSTERIOR_STEPS", 200)
    vault = _person_with_glucose(store)
    with pytest.raises(capability.WhatIfError, match="simulation purpose"):
        capability.whatif(vault, parse_scenario(SCENARIO))
    grant = vault.grant(Scope.parse("domain:metabolic"), Purpose.SIMULATION)
    with pytest.raises(capability.WhatIfError, match="meal records"):
        capability.whatif(vault, parse_scenario(SCENARIO))  # events need their own grant
    vault.grant(Scope.parse("source:test-pump"), Purpose.SIMULATION)
    result = capability.whatif(vault, parse_scenario(SCENARIO))
    assert result.glucose is not None
    usual, changed = result.glucose.trajectories
    assert usual.label == "as usual"
    assert changed.label == "smaller dinner bolus"
    assert len(usual.times_ms) == 288
    assert all(
        lo <= m <= hi for lo, m, hi in zip(changed.low, changed.median, changed.high, strict=True)
    )
    by = {o.metric: o for o in result.glucose.outcomes}
    assert by["peak glucose"].difference > 0  # less insulin at dinner: a higher peak
    assert (
        by["time in range 70–180"].low
        <= by["time in range 70–180"].difference
        <= by["time in range 70–180"].high
    )
    assert grant.id in result.lineage.grants
    assert {i.metric for i in result.lineage.inputs} >= {
        "glucose",
        "insulin_delivered",
        "event:meal",
    }
    assert result.glucose.model.params["SI"] > 0
    assert result.glucose.model.quality["rmse_mg_dl"] < 15
    assert "twin" in result.comparison
    assert "time in range" in result.comparison
    assert vault.derived(capability.TWIN_NAME) is not None
    again = capability.whatif(vault, parse_scenario(SCENARIO))
    assert again.glucose is not None
    assert again.glucose.model.reused
    # The suggestion, the person's feedback on it, and revocation reaching both.
    suggestion = capability.suggest(vault, optimize.Goal(kind="time_in_range"))
    feedback = capability.record_feedback(
        vault, suggestion.id, "correct", correction={"basal_percent": 95}, note="nights feel low"
    )
    stored, answers = capability.stored_suggestion(vault, suggestion.id)
    assert stored.id == suggestion.id
    assert answers == [feedback]
    with pytest.raises(capability.WhatIfError, match="needs the corrected values"):
        capability.record_feedback(vault, suggestion.id, "correct")
    removed = vault.revoke(grant.id)
    assert capability.TWIN_NAME in removed
    assert f"suggestion:{suggestion.id}" in removed
    with pytest.raises(capability.WhatIfError):
        capability.whatif(vault, parse_scenario(SCENARIO))


def _person_with_sleep_spending_and_training(store: Store) -> Vault:
    from lifetwin.core.model import Observation

    vault = store.vault(store.add_person("Sam"))
    rng = np.random.default_rng(7)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = 84
    stages: list[Observation | Event] = []
    mood_ts, mood = [], []
    spend_ts, spend = [], []
    workouts: list[Observation | Event] = []
    vo2_ts, vo2 = [], []
    for d in range(days):
        night = today - timedelta(days=days - d) + timedelta(hours=23)
        hours = float(rng.uniform(5.5, 8.5))
        stages.append(
            Observation(
                metric="sleep_stage",
                value="light",
                start=night,
                end=night + timedelta(hours=hours),
                source="test-watch",
            )
        )
        evening = night + timedelta(hours=hours + 10)
        mood_ts.append(int(evening.timestamp() * 1000))
        mood.append(float(np.clip(0.25 * (hours - 7) + rng.normal(0, 0.1), -1, 1)))
        spend_ts.append(int(evening.timestamp() * 1000))
        spend.append(-float(rng.uniform(5, 60)))
        if d % 2 == 0:
            workouts.append(
                Event(
                    kind=EventKind.WORKOUT,
                    start=evening - timedelta(hours=3),
                    source="test-watch",
                    details={"duration_min": 45.0, "avg_heart_rate_bpm": 140.0 + d % 10},
                )
            )
        if d % 3 == 0:
            vo2_ts.append(int(evening.timestamp() * 1000))
            vo2.append(45.0 + 0.02 * d + float(rng.normal(0, 0.3)))
    vault.write_records(stages + workouts)
    for code, unit, ts, values in (
        ("mood_valence", "dimensionless", mood_ts, mood),
        ("transaction_amount", "EUR", spend_ts, spend),
        ("vo2max", "mL/kg/min", vo2_ts, vo2),
    ):
        vault.write_columns(
            code, "test-watch", None, unit, _cols(np.array(ts), np.array(values), 0)
        )
    return vault


def test_sleep_spending_and_training_what_ifs_on_a_real_store(store: Store) -> None:
    vault = _person_with_sleep_spending_and_training(store)
    vault.grant(Scope.parse("all"), Purpose.SIMULATION)
    scenario = parse_scenario(
        {
            "name": "more sleep, a budget, harder training",
            "horizon_days": 14,
            "interventions": [
                {"kind": "sleep", "bedtime": "22:30", "wake": "06:30"},
                {"kind": "spending", "daily_budget": 20},
                {"kind": "training", "weekly_load_scale": 1.1},
            ],
        }
    )
    result = capability.whatif(vault, scenario)
    (mood,) = [a for a in result.associations if a.outcome == "mood_valence"]
    assert mood.label == "association, not cause"
    assert mood.change > 0  # more sleep went with better mood on this person's days
    (spending,) = result.projections
    assert spending.difference < 0
    assert result.training is not None
    assert result.training.acwr_flag in ("steady", "spike", "drop", "unknown")
    assert len(result.training.trajectories[0].times_ms) == 14
    assert result.glucose is None
    assert "association, not cause" in result.comparison
    far = parse_scenario(
        {"interventions": [{"kind": "sleep", "bedtime": "20:00", "wake": "07:00"}]}
    )
    with pytest.raises(capability.WhatIfError, match="outside the range you have lived"):
        capability.whatif(vault, far)


def test_training_and_sleep_suggestions_keep_their_limits(store: Store) -> None:
    vault = _person_with_sleep_spending_and_training(store)
    vault.grant(Scope.parse("all"), Purpose.SIMULATION)
    limits = optimize.Limits(weekly_load_change=0.05, bedtime_shift_min=20)
    plan = capability.suggest(
        vault, optimize.Goal(kind="performance", target=47.0, by_days=28), limits
    )
    assert plan.status == "suggested"
    assert all(c.ok for c in plan.constraints)
    ratios = plan.plan["weekly_load_ratio"]
    assert isinstance(ratios, list)
    assert max(ratios) <= 1.05 + 1e-9
    sleep = capability.suggest(vault, optimize.Goal(kind="sleep", target=9.0), limits)
    assert all(c.ok for c in sleep.constraints)
    assert capability.stored_suggestion(vault, sleep.id)[0].summary == sleep.summary


def test_a_spending_plan_projects_money_out_not_the_salary(store: Store) -> None:
    vault = store.vault(store.add_person("Pay"))
    vault.grant(Scope.parse("domain:finance"), Purpose.SIMULATION)
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    ts, amounts = [], []
    for d in range(1, 43):
        ts.append(int((today - timedelta(days=d)).timestamp() * 1000))
        amounts.append(-20.0)  # twenty a day out...
        if d % 30 == 5:  # ...and the salary in
            ts.append(ts[-1] + 3_600_000)
            amounts.append(3000.0)
    order = np.argsort(ts)
    vault.write_columns(
        "transaction_amount",
        "bank",
        None,
        "EUR",
        _cols(np.array(ts)[order], np.array(amounts)[order], 0),
    )
    scenario = parse_scenario(
        {"horizon_days": 7, "interventions": [{"kind": "spending", "daily_budget": 15}]}
    )
    (projection,) = capability.whatif(vault, scenario).projections
    assert projection.unit == "EUR"
    # about 7 days of 20 out (today, with nothing yet, counts as a day without spending)
    assert projection.usual == pytest.approx(140.0, abs=6.0)
    assert projection.scenario == pytest.approx(105.0, abs=6.0)  # 7 days of at most 15


def test_a_sleep_suggestion_counts_nights_not_sleep_stages(store: Store) -> None:
    """A watch logs each night as many stages; the usual bedtime and hours are the
    night's, not a stage's."""
    from lifetwin.core.model import Observation

    vault = store.vault(store.add_person("Stella"))
    vault.grant(Scope.parse("all"), Purpose.SIMULATION)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rng = np.random.default_rng(3)
    stages: list[Observation | Event] = []
    for d in range(30):
        start = today - timedelta(days=30 - d) + timedelta(hours=23)
        hours = float(rng.uniform(6.5, 7.5))
        cuts = np.linspace(0, hours, 6)
        for k, (a, b) in enumerate(pairwise(cuts)):
            stages.append(
                Observation(
                    metric="sleep_stage",
                    value=("light", "deep", "light", "rem", "light")[k],
                    start=start + timedelta(hours=float(a)),
                    end=start + timedelta(hours=float(b)),
                    source="test-watch",
                )
            )
    vault.write_records(stages)
    found = capability.suggest(vault, optimize.Goal(kind="sleep", target=8.0))
    assert found.status == "suggested"
    assert 22 * 60 <= float(found.plan["bedtime_min_of_day"]) < 23 * 60  # earlier than 23:00
    assert 7.0 <= float(found.plan["hours_in_bed"]) <= 7.6  # one step from about 7 hours
    assert all(c.ok for c in found.constraints)
