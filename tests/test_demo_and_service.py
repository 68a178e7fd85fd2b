"""The demo person, the glucose simulator speed-up, and the service start page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from lifetwin.api.app import create_app
from lifetwin.core.validation import plausible_mask
from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import Purpose
from lifetwin.services.demo import create_demo
from lifetwin.services.home import init_home
from lifetwin.store.vault import Store

SELF = Purpose.SELF_ACCESS

END = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = init_home(tmp_path_factory.mktemp("demo"))
    create_demo(store, days=3, seed=11, end=END)
    return store


def test_the_demo_person_has_every_kind_of_data(demo_store: Store) -> None:
    vault = demo_store.vault(demo_store.person("Alex Demo"))
    names = {s.metric for s in vault.streams()}
    assert {
        "heart_rate",
        "steps",
        "sleep_stage",
        "glucose",
        "insulin_delivered",
        "mood_valence",
        "transaction_amount",
        "event:meal",
        "event:purchase",
    } <= names
    hr = vault.read_series("heart_rate", purpose=SELF)
    assert len(hr) == 3 * 1440
    assert np.all(np.diff(hr.ts_ms) == 60_000)
    glucose = vault.read_series("glucose", purpose=SELF)
    assert len(glucose) > 3 * 280  # five-minute CGM
    for code in ("heart_rate", "glucose", "steps"):
        series = vault.read_series(code, purpose=SELF)
        assert plausible_mask(metric(code), series.values).all()
    meals = vault.read_records("event:meal", purpose=SELF)
    assert meals
    assert all(m.details["carbs_g"] > 0 for m in meals)
    assert glucose.times()[-1] <= np.datetime64(END.replace(tzinfo=None)) + np.timedelta64(1, "D")


def test_the_same_seed_gives_the_same_person(tmp_path: Path, demo_store: Store) -> None:
    other = init_home(tmp_path / "again")
    create_demo(other, days=3, seed=11, end=END)
    a = demo_store.vault(demo_store.person("Alex Demo")).read_series("glucose", purpose=SELF)
    b = other.vault(other.person("Alex Demo")).read_series("glucose", purpose=SELF)
    assert np.array_equal(a.values, b.values)
    assert np.array_equal(a.ts_ms, b.ts_ms)


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
