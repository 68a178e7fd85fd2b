"""The demo person, the glucose simulator speed-up, and the service start page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient

from lifetwin.api.app import create_app
from lifetwin.capabilities.risk import all_scores, gather_inputs
from lifetwin.core.model import Event, Observation, Quality
from lifetwin.core.validation import plausible_mask
from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import Purpose
from lifetwin.services.demo import DEMO_NAME, create_demo
from lifetwin.services.demo.workouts import segment_lengths_m
from lifetwin.services.home import init_home
from lifetwin.store.vault import Store, Vault

SELF = Purpose.SELF_ACCESS
BERLIN = ZoneInfo("Europe/Berlin")
END = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a Tuesday, 13:00 in Berlin
START_MS = int(datetime(2026, 3, 7, tzinfo=BERLIN).timestamp() * 1000)  # three days before
END_MS = int(END.timestamp() * 1000)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = init_home(tmp_path_factory.mktemp("demo"))
    create_demo(store, days=3, seed=11, end=END)
    return store


@pytest.fixture(scope="module")
def alex(demo_store: Store) -> Vault:
    return demo_store.vault(demo_store.person(DEMO_NAME))


def _events(vault: Vault, kind: str) -> list[Event]:
    return [e for e in vault.read_records(f"event:{kind}", purpose=SELF) if isinstance(e, Event)]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_the_demo_person_has_every_kind_of_data(alex: Vault) -> None:
    names = {s.metric for s in alex.streams()}
    assert {
        "heart_rate",
        "steps",
        "active_energy",
        "sleep_stage",
        "sleep_duration",
        "resting_heart_rate",
        "hrv_sdnn",
        "vo2max",
        "glucose",
        "insulin_delivered",
        "mood_valence",
        "energy_level",
        "journal_note",
        "blood_pressure_systolic",
        "blood_pressure_diastolic",
        "total_cholesterol",
        "hdl_cholesterol",
        "body_mass",
        "height",
        "waist_circumference",
        "transaction_amount",
        "event:meal",
        "event:insulin",
        "event:workout",
        "event:transaction",
        "event:purchase",
        "event:lesson_attempted",
    } <= names
    hr = alex.read_series("heart_rate", purpose=SELF)
    assert hr.ts_ms[0] == START_MS  # from the local midnight three days before the end...
    assert len(hr) == (END_MS - START_MS) // 60_000  # ...every minute up to the end
    assert np.all(np.diff(hr.ts_ms) == 60_000)
    glucose = alex.read_series("glucose", purpose=SELF)
    assert len(glucose) > 3 * 280  # five-minute CGM
    assert glucose.ts_ms[-1] <= END_MS
    for code in ("heart_rate", "glucose", "steps", "active_energy"):
        series = alex.read_series(code, purpose=SELF)
        assert plausible_mask(metric(code), series.values).all()
    meals = _events(alex, "meal")
    assert meals
    assert all(m.details["carbs_g"] > 0 for m in meals)


def test_workouts_have_a_route_around_berlin_and_heart_rate_during_them(alex: Vault) -> None:
    found = _events(alex, "workout")
    assert {w.title for w in found} == {"Running", "Cycling"}  # Saturday's ride, Sunday's run
    hr = alex.read_series("heart_rate", purpose=SELF)
    resting = float(np.median(alex.read_series("resting_heart_rate", purpose=SELF).values))
    for workout in found:
        assert workout.end is not None
        d = workout.details
        route = d["route"]
        assert route["columns"] == ["time_ms", "lat", "lon", "ele"]  # as the GPX/FIT connectors
        points = np.array(route["data"], dtype=float)
        assert route["points"] == len(points)
        assert 200 <= len(points) <= 400
        lat, lon = points[:, 1], points[:, 2]
        # Berlin and, for a long ride, its outskirts
        assert np.all((lat > 52.25) & (lat < 52.75) & (lon > 12.95) & (lon < 13.9))
        assert points[0, 0] == _ms(workout.start)
        assert points[-1, 0] == _ms(workout.end)
        assert np.all(np.diff(points[:, 0]) > 0)
        length = float(segment_lengths_m(lat, lon).sum())
        assert length == pytest.approx(d["distance_m"], abs=0.06)
        back_home = segment_lengths_m(lat[[0, -1]], lon[[0, -1]])[0]
        assert back_home < 50  # a loop from home
        minutes = d["duration_min"]
        if workout.title == "Running":
            assert 4.0 < minutes / (d["distance_m"] / 1000) < 7.5  # min/km
        else:
            assert 15 < (d["distance_m"] / 1000) / (minutes / 60) < 35  # km/h
        assert 0 < d["energy_kcal"] < 20 * minutes
        during = (hr.ts_ms >= _ms(workout.start)) & (hr.ts_ms < _ms(workout.end))
        assert during.sum() == minutes
        assert hr.values[during].mean() == pytest.approx(d["avg_heart_rate_bpm"], abs=0.05)
        assert hr.values[during].max() == d["max_heart_rate_bpm"]
        assert d["avg_heart_rate_bpm"] > resting + 40


def _nights(vault: Vault) -> list[list[Observation]]:
    stages = sorted(
        (r for r in vault.read_records("sleep_stage", purpose=SELF) if isinstance(r, Observation)),
        key=lambda r: r.start,
    )
    nights: list[list[Observation]] = []
    for stage in stages:
        if nights and nights[-1][-1].end == stage.start:
            nights[-1].append(stage)
        else:
            nights.append([stage])
    return nights


def _minutes(night: list[Observation], stage: str, middle: datetime, first_half: bool) -> float:
    return sum(
        (s.end - s.start).total_seconds() / 60
        for s in night
        if s.value == stage and s.end is not None and (s.start < middle) == first_half
    )


def test_sleep_nights_have_cycles_and_a_nightly_total(alex: Vault) -> None:
    nights = _nights(alex)
    assert len(nights) == 4  # the night into the first day, and one before each later day
    assert _ms(nights[0][-1].start) > START_MS > _ms(nights[0][0].start)
    totals = alex.read_series("sleep_duration", purpose=SELF)
    assert len(totals) == 4
    for night, asleep_min, start_ms in zip(nights, totals.values, totals.ts_ms, strict=True):
        assert night[0].value == "awake"  # falling asleep
        assert night[-1].value == "awake"  # and waking up
        assert _ms(night[0].start) == start_ms
        begin, finish = night[0].start, night[-1].end
        assert finish is not None
        assert 5 <= (finish - begin).total_seconds() / 3600 <= 10.5
        middle = begin + (finish - begin) / 2
        assert _minutes(night, "deep", middle, True) > _minutes(night, "deep", middle, False)
        assert _minutes(night, "rem", middle, False) > _minutes(night, "rem", middle, True)
        rem_episodes = sum(1 for a, b in pairwise(night) if b.value == "rem" != a.value)
        assert rem_episodes >= 3  # cycles of about 90 minutes
        asleep = sum(
            (s.end - s.start).total_seconds() / 60
            for s in night
            if s.value != "awake" and s.end is not None
        )
        assert asleep == pytest.approx(asleep_min)


def test_values_typed_in_by_hand_are_flagged_and_feed_the_risk_scores(alex: Vault) -> None:
    systolic = alex.read_series("blood_pressure_systolic", purpose=SELF)
    diastolic = alex.read_series("blood_pressure_diastolic", purpose=SELF)
    assert len(systolic) >= 1
    assert np.array_equal(systolic.ts_ms, diastolic.ts_ms)  # one reading, two numbers
    assert np.all(systolic.values > diastolic.values)
    for code in ("blood_pressure_systolic", "body_mass", "total_cholesterol", "hdl_cholesterol"):
        series = alex.read_series(code, purpose=SELF)
        assert {s.source for s in series.streams} == {"manual"}
        assert np.all(series.columns.quality & int(Quality.MANUAL_ENTRY))
    profile = alex.profile()
    assert profile["time_zone"] == "Europe/Berlin"
    scores = all_scores(gather_inputs(alex, today=END.date()))
    assert [s.refused for s in scores] == [None] * len(scores)  # every score has its inputs
    assert all(s.value is not None and s.value >= 0 for s in scores)


def test_mood_and_journal_notes_are_logged_in_the_evening(alex: Vault) -> None:
    mood = alex.read_series("mood_valence", purpose=SELF)
    assert len(mood) == 3  # three evenings before the end
    local = [datetime.fromtimestamp(t / 1000, BERLIN) for t in mood.ts_ms.tolist()]
    assert all(20 <= t.hour <= 23 for t in local)
    notes = [
        r.value
        for r in alex.read_records("journal_note", purpose=SELF)
        if isinstance(r, Observation)
    ]
    assert notes
    assert all(isinstance(text, str) and text.endswith(".") for text in notes)


def test_money_is_in_euros_and_last_month_is_a_plausible_month(alex: Vault) -> None:
    bank = _events(alex, "transaction")
    orders = _events(alex, "purchase")
    assert orders
    assert {e.details["currency"] for e in bank + orders} == {"EUR"}
    february = [e for e in bank if e.start.astimezone(BERLIN).month == 2]
    assert min(e.start.astimezone(BERLIN).date() for e in february) == date(2026, 2, 1)
    income = [e.details["amount"] for e in february if e.details["amount"] > 0]
    assert len(income) == 1  # one salary
    assert 2000 < income[0] < 6000
    spent = -sum(e.details["amount"] for e in february if e.details["amount"] < 0)
    assert 1500 < spent < 4000
    by_category: dict[str, float] = defaultdict(float)
    for e in february:
        by_category[e.details["category"]] -= e.details["amount"]
    assert by_category["rent"] > 500
    assert {"groceries", "transport", "subscriptions", "utilities"} <= set(by_category)
    assert all(e.title and e.details["payee"] == e.title for e in bank)  # the merchant
    assert all(e.details["amount"] < 0 and e.details["items"] for e in orders)
    series = alex.read_series("transaction_amount", purpose=SELF)
    assert series.unit == "EUR"
    assert float(series.values.sum()) == pytest.approx(sum(e.details["amount"] for e in bank))


def test_the_learner_state_has_mastery_per_skill_and_forecast_recall(alex: Vault) -> None:
    from lifetwin.packs.learning.capability import learner_state

    reviews = [e for e in _events(alex, "lesson_attempted") if e.source == "anki"]
    assert reviews
    assert all(  # what the Anki connector makes of a collection's review log
        e.title == "Anki review"
        and {"card_id", "rating", "deck", "review_type"} <= e.details.keys()
        for e in reviews
    )
    state = learner_state(alex, now=END)
    assert len(state.skills) >= 4
    assert {"Spanish::Vocabulary", "Statistics"} <= {s.skill for s in state.skills}
    assert all(0 <= s.mastery <= 1 and s.attempts > 0 for s in state.skills)
    assert state.cards
    assert all(0 < c.recall_now <= 1 and c.front for c in state.cards)
    assert state.next_steps


def test_the_demo_consents_to_twin_simulation_and_recommendations_not_research(
    alex: Vault,
) -> None:
    everything = {s.metric for s in alex.streams()}
    for purpose in (Purpose.TWIN_CORE, Purpose.FORECASTING):
        assert {s.metric for s in alex.visible_streams(purpose)} == everything
    simulation = {s.metric for s in alex.visible_streams(Purpose.SIMULATION)}
    assert {
        "glucose",
        "insulin_delivered",
        "event:meal",
        "event:insulin",
        "body_mass",
        "event:workout",
        "vo2max",
        "sleep_stage",
        "mood_valence",
        "transaction_amount",
    } <= simulation
    recommend = {s.metric for s in alex.visible_streams(Purpose.RECOMMENDATIONS)}
    assert {
        "sleep_duration",
        "steps",
        "mood_valence",
        "glucose",
        "event:transaction",
        "event:lesson_attempted",
    } <= recommend
    for purpose in (Purpose.RESEARCH, Purpose.PRODUCT_IMPROVEMENT):
        assert alex.visible_streams(purpose) == []


def test_the_demo_person_gets_nudges_with_reasons(alex: Vault) -> None:
    from lifetwin.packs.recommend.capability import get_settings, recommend

    settings = get_settings(alex)
    assert {"move_more", "sleep_better", "learn"} <= set(settings.goals)
    assert settings.monthly_budget is not None
    shown = recommend(alex, now=END.astimezone(BERLIN))  # 13:00, outside the quiet hours
    assert shown.items
    assert not shown.missing  # every context feature has data and a grant
    for item in shown.items:
        assert item.reasons
        assert item.why
        assert item.lineage.grants
        assert item.goals
        assert set(item.goals) <= set(settings.goals)  # only toward declared goals


def test_the_demo_boluses_are_what_the_pump_delivered_for_each_meal(alex: Vault) -> None:
    delivered = alex.read_series("insulin_delivered", purpose=SELF)
    above = delivered.values - delivered.values.min()  # the controller's basal is constant
    meals = [_ms(e.start) for e in _events(alex, "meal")]
    boluses = _events(alex, "insulin")
    assert len(boluses) == len(meals)
    for bolus in boluses:
        at = _ms(bolus.start)
        i = int(np.searchsorted(delivered.ts_ms, at))
        assert delivered.ts_ms[i] == at  # recorded in the delivery that holds it
        assert bolus.details["insulin_u"] == pytest.approx(above[i], abs=0.011)
        assert bolus.details["insulin_u"] > 0.3  # a meal bolus, not a basal step
        assert min(at - m for m in meals if m <= at) <= 15 * 60_000  # just after its meal
    total = sum(b.details["insulin_u"] for b in boluses)
    assert total == pytest.approx(above.sum(), rel=0.01)


def test_a_what_if_on_the_demo_person_returns_trajectories(alex: Vault) -> None:
    from lifetwin.packs.whatif.capability import whatif
    from lifetwin.packs.whatif.scenario import parse_scenario

    scenario = parse_scenario(
        {"name": "smaller boluses", "interventions": [{"kind": "bolus", "scale": 0.7}]}
    )
    result = whatif(alex, scenario, posterior=False)
    assert result.glucose is not None
    usual, changed = result.glucose.trajectories
    assert len(usual.times_ms) == len(changed.times_ms) == 288
    by = {o.metric: o for o in result.glucose.outcomes}
    assert by["peak glucose"].difference > 0  # less insulin, a higher peak
    assert result.glucose.model.quality["rmse_mg_dl"] < 30


def _snapshot(store: Store) -> dict[str, Any]:
    vault = store.vault(store.person(DEMO_NAME))
    out: dict[str, Any] = {}
    for stream in vault.streams():
        key = f"{stream.metric}|{stream.source}"
        if stream.numeric:
            s = vault.read_series(stream.metric, purpose=SELF, source=stream.source)
            out[key] = (s.ts_ms.tolist(), s.values.tolist(), s.columns.dur_ms.tolist())
        else:
            out[key] = sorted(
                json.dumps(r.model_dump(mode="json", exclude={"person"}), sort_keys=True)
                for r in vault.read_records(stream.metric, purpose=SELF)
                if r.source == stream.source
            )
    out["profile"] = vault.profile()
    return out


def test_the_same_seed_gives_the_same_person(tmp_path: Path, demo_store: Store) -> None:
    other = init_home(tmp_path / "again")
    create_demo(other, days=3, seed=11, end=END)
    assert _snapshot(other) == _snapshot(demo_store)
    different = init_home(tmp_path / "other")
    create_demo(different, days=1, seed=12, end=END)
    a = demo_store.vault(demo_store.person(DEMO_NAME)).read_series("heart_rate", purpose=SELF)
    b = different.vault(different.person(DEMO_NAME)).read_series("heart_rate", purpose=SELF)
    common = np.isin(a.ts_ms, b.ts_ms)
    assert not np.array_equal(a.values[common], b.values[np.isin(b.ts_ms, a.ts_ms)])


def test_progress_is_reported_part_by_part(tmp_path: Path) -> None:
    said: list[str] = []
    summary = create_demo(init_home(tmp_path), days=1, seed=3, end=END, progress=said.append)
    assert [m.split(" ", 1)[0] for m in said] == [f"{i}/8" for i in range(1, 9)]
    assert any("CGM" in m for m in said)
    assert summary.counts["transaction"] > 20
    assert summary.observations > 1440


def test_the_demo_command_is_idempotent_with_if_missing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env |= {"LIFETWIN_HOME": str(tmp_path / "home"), "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lifetwin", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )

    assert cli("init").returncode == 0
    first = cli("demo", "--days", "1", "--if-missing", "--account", "")
    assert first.returncode == 0, first.stderr
    assert "Created Alex Demo" in first.stdout
    again = cli("demo", "--days", "1", "--if-missing", "--account", "")
    assert again.returncode == 0, again.stderr
    assert "already exists" in again.stdout
    listed = cli("person", "list")
    assert listed.stdout.count(DEMO_NAME) == 1


@pytest.mark.slow
def test_four_weeks_of_demo_data_answer_every_kind_of_what_if(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lifetwin.packs.recommend.capability import recommend
    from lifetwin.packs.whatif import capability
    from lifetwin.packs.whatif.scenario import parse_scenario

    now = datetime.now(BERLIN)
    end = now.replace(hour=13, minute=0, second=0, microsecond=0)
    if end > now:
        end -= timedelta(days=1)
    store = init_home(tmp_path)
    summary = create_demo(store, days=28, seed=7, end=end)
    vault = store.vault(summary.person)
    assert summary.counts["workout"] >= 14
    assert len(vault.read_series("vo2max", purpose=SELF)) >= 8
    monkeypatch.setattr(capability, "POSTERIOR_STEPS", 200)
    scenario = parse_scenario(
        {
            "name": "smaller boluses, more sleep, a budget, harder training",
            "horizon_days": 7,
            "interventions": [
                {"kind": "bolus", "scale": 0.8},
                {"kind": "sleep", "bedtime": "22:45", "wake": "07:00"},
                {"kind": "spending", "daily_budget": 40},
                {"kind": "training", "weekly_load_scale": 1.1},
            ],
        }
    )
    result = capability.whatif(vault, scenario)
    assert result.not_simulated == []
    assert result.glucose is not None
    assert all(
        lo <= hi
        for lo, hi in zip(
            result.glucose.trajectories[1].low, result.glucose.trajectories[1].high, strict=True
        )
    )
    assert result.training is not None
    assert len(result.training.trajectories[0].times_ms) == 7
    assert {a.outcome for a in result.associations} >= {"mood_valence"}
    (spending,) = result.projections
    assert spending.unit == "EUR"
    assert spending.usual > 0  # money out, not the salary
    assert spending.difference < 0
    shown = recommend(vault, now=end)
    assert shown.items
    assert all(i.reasons for i in shown.items)


def test_the_faster_simulator_gives_the_stock_simulators_output() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from simglucose.actuator.pump import InsulinPump
        from simglucose.controller.basal_bolus_ctrller import BBController
        from simglucose.patient.t1dpatient import T1DPatient
        from simglucose.sensor.cgm import CGMSensor
        from simglucose.simulation.env import T1DSimEnv
        from simglucose.simulation.scenario_gen import RandomScenario
        from simglucose.simulation.sim_engine import SimObj

    from lifetwin.services.glucose_sim import simulate

    start = datetime(2026, 1, 1, 6, 0)
    env = T1DSimEnv(
        T1DPatient.withName("child#003"),
        CGMSensor.withName("GuardianRT", seed=5),
        InsulinPump.withName("Insulet"),
        RandomScenario(start_time=start, seed=5),
    )
    stock = SimObj(env, BBController(), timedelta(hours=8), animate=False, path=None)
    stock.simulate()
    expected = stock.results()
    fast = simulate(8 / 24, start, seed=5, patient="child#003")
    assert np.array_equal(fast.cgm_mg_dl, expected["CGM"].to_numpy())
    assert np.array_equal(fast.blood_glucose_mg_dl, expected["BG"].to_numpy())


def test_the_service_answers_health_and_asks_to_sign_in(demo_store: Store) -> None:
    client = TestClient(create_app(demo_store), base_url="https://testserver")
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    start = client.get("/", follow_redirects=False)
    assert start.status_code == 303
    assert start.headers["location"] == "/login"
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="code"' in page.text
    assert "Alex Demo" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
