"""Sleep, activity and workouts, readiness, money and trends — the operations on a real store
with the demo person, the command line (with --json), the API and the pages.

What a person coming from Oura, Apple Health or a banking app should find: a night's
hypnogram and totals on their own clock, the day's steps against their usual, a workout
with its heart-rate zones and its route, a readiness summary that says it is not a medical
score, and their spending by category in euros (never "currency").
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PASSWORD, ServiceWorld
from lifetwin.core.errors import LifeTwinError, NotEnoughDataError
from lifetwin.core.model import Event, EventKind, Observation
from lifetwin.operations.context import Context
from lifetwin.packs.athletics import operations as athletics
from lifetwin.packs.athletics import workouts as calc
from lifetwin.packs.cardio import operations as cardio
from lifetwin.packs.finance import operations as finance
from lifetwin.packs.sleep import nights
from lifetwin.packs.sleep import operations as sleep_ops
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Role
from lifetwin.services.demo import create_demo
from lifetwin.services.home import init_home
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Store

BERLIN = ZoneInfo("Europe/Berlin")
PERSON = "Alex Demo"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    """A home with the demo person (14 days up to now), used in-process and by the CLI."""
    where = tmp_path_factory.mktemp("body") / "home"
    store = init_home(where)
    create_demo(store, days=14)
    yield store, where
    store.close()


@pytest.fixture(scope="module")
def store(home: tuple[Store, Path]) -> Store:
    return home[0]


def ctx(store: Store, purpose: Purpose = Purpose.SELF_ACCESS, **kw: Any) -> Context:
    return Context(store, store.person(PERSON), purpose=purpose, **kw)


# -- the arithmetic -------------------------------------------------------------------------
intervals = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 500)), min_size=1, max_size=40
).map(lambda xs: (np.array([a for a, _ in xs]), np.array([a + d for a, d in xs])))


@given(intervals)
def test_the_union_of_intervals_is_never_more_than_their_sum_nor_less_than_the_longest(
    pair: tuple[Any, Any],
) -> None:
    starts, ends = pair
    total = nights.union_ms(starts, ends)
    assert int(np.max(ends - starts)) <= total <= int(np.sum(ends - starts))
    assert total <= int(ends.max() - starts.min())


@given(
    st.lists(st.sampled_from(["awake", "light", "deep", "rem", "in_bed"]), min_size=1, max_size=30)
)
def test_a_night_is_never_asleep_longer_than_in_bed(stages: list[str]) -> None:
    starts = np.arange(len(stages), dtype=np.int64) * 10 * nights.MINUTE_MS
    totals = nights.night_totals(stages, starts, starts + 12 * nights.MINUTE_MS)
    assert 0 <= totals.asleep_min <= totals.in_bed_min
    assert math.isclose(totals.asleep_min + totals.awake_min, totals.in_bed_min, abs_tol=0.11)
    if totals.efficiency_pct is not None:
        assert 0 <= totals.efficiency_pct <= 100


@given(
    st.lists(st.floats(40, 230), min_size=1, max_size=60),
    st.floats(120, 220),
)
def test_time_in_zones_adds_up_to_the_time_recorded(bpm: list[float], hr_max: float) -> None:
    weights = np.full(len(bpm), 60.0)
    minutes = calc.zone_minutes(np.array(bpm), weights, hr_max)
    assert len(minutes) == 6
    assert math.isclose(sum(minutes), len(bpm), abs_tol=0.35)


@settings(max_examples=50)
@given(
    st.floats(-60, 60),
    st.floats(-170, 170),
    st.lists(st.tuples(st.floats(-0.02, 0.02), st.floats(-0.02, 0.02)), min_size=2, max_size=30),
)
def test_the_projected_route_keeps_its_distances(
    lat0: float, lon0: float, steps: list[tuple[float, float]]
) -> None:
    lat = lat0 + np.cumsum([a for a, _ in steps])
    lon = lon0 + np.cumsum([b for _, b in steps])
    x, y = calc.project_m(lat, lon)
    flat = float(np.sum(np.hypot(np.diff(x), np.diff(y))))
    sphere = float(np.sum(calc.segment_lengths_m(lat, lon)))
    assert flat == pytest.approx(sphere, rel=0.01, abs=1.0)


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 2), st.floats(0, 1000)), min_size=1, max_size=50
    )
)
def test_two_devices_never_double_a_day(rows: list[tuple[int, int, float]]) -> None:
    days = np.array([r[0] for r in rows])
    sources = np.array([r[1] for r in rows])
    values = np.array([r[2] for r in rows])
    totals = calc.daily_totals(days, sources, values)
    for day, total in totals.items():
        mine = [(s, v) for d, s, v in rows if d == day]
        per_source = [sum(v for s, v in mine if s == k) for k in {s for s, _ in mine}]
        assert total == pytest.approx(max(per_source))
        assert total <= sum(v for _, v in mine) + 1e-9


@given(st.floats(0, 5), st.floats(0, 5))
def test_more_training_than_usual_never_raises_readiness(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert 0 <= cardio.load_score(high) <= cardio.load_score(low) <= 100


@given(st.floats(30, 120), st.floats(30, 120), st.floats(0.5, 20), st.booleans())
def test_a_signal_scores_between_0_and_100_and_80_at_the_usual(
    value: float, usual: float, spread: float, higher: bool
) -> None:
    assert 0 <= cardio.signal_score(value, usual, spread, higher) <= 100
    assert cardio.signal_score(usual, usual, spread, higher) == 80


def test_zones_come_from_the_profile_or_else_from_age_and_say_which() -> None:
    top, basis = athletics.hr_max({"max_heart_rate_bpm": 186}, date(2026, 3, 1))
    assert top == 186
    assert "your profile" in basis
    top, basis = athletics.hr_max({"birth_date": "1984-06-12"}, date(2026, 3, 1))
    assert top == 179
    assert "220 − age (41)" in basis
    assert "estimate" in basis
    top, basis = athletics.hr_max({}, date(2026, 3, 1))
    assert top is None
    assert "birth date" in basis


# -- sleep ----------------------------------------------------------------------------------
def test_the_newest_night_has_a_hypnogram_and_totals_on_the_persons_clock(store: Store) -> None:
    found = sleep_ops.sleep(ctx(store))
    night = found.night
    assert found.time_zone == "Europe/Berlin"
    assert night.bed_time.utcoffset() == night.bed_time.astimezone(BERLIN).utcoffset()
    assert night.bed_time.hour >= 20 or night.bed_time.hour <= 2  # the demo goes to bed ~23:00
    assert {"light", "deep", "rem"} <= {seg.stage for seg in found.hypnogram}
    asleep = sum(night.stages.get(s, 0.0) for s in ("light", "deep", "rem", "asleep"))
    assert night.asleep_min == pytest.approx(asleep, abs=1)
    assert night.asleep_min + night.awake_min == pytest.approx(night.in_bed_min, abs=0.2)
    assert 80 < (night.efficiency_pct or 0) <= 100
    assert found.hypnogram[0].start == night.bed_time
    assert "Europe/Berlin" in found.sentence
    assert "You slept" in found.sentence
    assert found.week.nights == 7
    assert found.usual.nights >= 7
    assert found.nights[-1].night == night.night
    assert found.next_night is None
    assert len(found.nights) >= 13


def test_a_chosen_night_and_a_night_without_sleep(store: Store) -> None:
    newest = sleep_ops.sleep(ctx(store)).night.night
    earlier = newest - timedelta(days=3)
    found = sleep_ops.sleep(ctx(store), night=earlier)
    assert found.night.night == earlier
    assert found.next_night == earlier + timedelta(days=1)
    with pytest.raises(NotEnoughDataError, match="no sleep recorded for the night of"):
        sleep_ops.sleep(ctx(store), night=date(2001, 1, 1))


def test_a_caregiver_without_a_grant_sees_no_sleep(store: Store) -> None:
    with pytest.raises(NotEnoughDataError):
        sleep_ops.sleep(ctx(store, Purpose.SHARING, recipient="dr-nobody"))


def test_nights_with_only_a_total_still_count(tmp_path: Path) -> None:
    """An export with the nightly total and no stages (Fitbit's or Oura's summary)."""
    store = Store.initialize(SQLiteBackend(tmp_path / "s.db", create=True), _master())
    person = store.add_person("Nia")
    vault = store.vault(person)
    vault.set_profile(time_zone="America/New_York")
    from lifetwin.store.codec import Columns

    bed = [int(datetime(2026, 1, d, 3, 30, tzinfo=UTC).timestamp() * 1000) for d in range(2, 12)]
    n = len(bed)
    cols = Columns(
        np.array(bed, dtype=np.int64),
        np.full(n, 8 * 3_600_000, dtype=np.int64),
        np.full(n, 450.0),
        np.full(n, -300, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
    )
    vault.write_columns("sleep_duration", "ring", None, "min", cols)
    found = sleep_ops.sleep(Context(store, person))
    assert found.time_zone == "America/New_York"
    assert found.night.bed_time.hour == 22
    assert found.night.night == date(2026, 1, 10)
    assert found.night.asleep_min == 450
    assert found.night.efficiency_pct == pytest.approx(93.8)
    assert not found.night.staged
    assert found.hypnogram == []


# -- activity and workouts ------------------------------------------------------------------
def test_todays_steps_are_the_local_days_total(store: Store) -> None:
    found = athletics.activity(ctx(store))
    assert found.today
    assert found.time_zone == "Europe/Berlin"
    steps = next(m for m in found.metrics if m.metric == "steps")
    day = datetime.now(UTC).astimezone(BERLIN).date()
    since = datetime.combine(day, datetime.min.time(), BERLIN)
    series = store.vault(store.person(PERSON)).read_series(
        "steps", purpose=Purpose.SELF_ACCESS, since=since
    )
    assert steps.total == pytest.approx(float(series.values.sum()), abs=0.1)
    assert steps.usual_day is not None
    assert steps.usual_day > 3000
    assert len(steps.days) == athletics.ACTIVITY_DAYS
    assert steps.days[-1].day == day
    assert "So far today" in found.sentence
    assert "steps" in found.sentence
    with pytest.raises(LifeTwinError, match="future"):
        athletics.activity(ctx(store), day=day + timedelta(days=2))


def test_a_workout_opens_with_distance_duration_heart_rate_zones_and_route(store: Store) -> None:
    listed = athletics.workouts(ctx(store))
    assert listed.items
    assert all(a.start >= b.start for a, b in zip(listed.items, listed.items[1:], strict=False))
    run = next(w for w in listed.items if w.title == "Running")
    assert run.has_route
    assert run.pace_min_per_km
    assert 3 < run.pace_min_per_km < 9
    w = athletics.workout(ctx(store), run.id)
    assert w.distance_m == run.distance_m
    assert w.duration_min == run.duration_min
    assert w.start.utcoffset() == w.start.astimezone(BERLIN).utcoffset()
    assert len(w.heart_rate) >= 0.9 * (w.duration_min or 0)
    assert w.hr_max_bpm == 186
    assert "your profile" in w.hr_max_basis
    assert [z.zone for z in w.zones] == [0, 1, 2, 3, 4, 5]
    assert sum(z.minutes for z in w.zones) == pytest.approx(w.duration_min, abs=1.5)
    assert sum(z.pct for z in w.zones) == pytest.approx(100, abs=0.5)
    assert w.route is not None
    assert len(w.route.x_m) == len(w.route.y_m) > 100
    assert 100 <= w.route.scale_bar_m <= max(w.route.width_m, w.route.height_m) / 2
    assert w.route.along_km[-1] == pytest.approx((w.distance_m or 0) / 1000, rel=0.02)
    assert sum(s.length_km for s in w.splits) == pytest.approx(w.route.along_km[-1], abs=0.02)
    with pytest.raises(NotEnoughDataError, match="no workout"):
        athletics.workout(ctx(store), "0" * 24)


# -- readiness ------------------------------------------------------------------------------
def test_readiness_is_a_summary_of_ones_own_baselines_with_its_parts_explained(
    store: Store,
) -> None:
    found = cardio.readiness(ctx(store, Purpose.TWIN_CORE))
    assert found.note == "A summary of your own baselines, not a medical score."
    assert found.score is not None
    assert 0 <= found.score <= 100
    names = {p.name: p for p in found.parts}
    assert set(names) == {"sleep", "resting_heart_rate", "hrv", "training_load"}
    assert names["resting_heart_rate"].score is not None
    assert "your usual" in names["resting_heart_rate"].sentence
    assert names["sleep"].sentence.startswith("You slept")
    # 14 days are too few for a training load (it needs 21 of the last 28)
    assert names["training_load"].score is None
    assert "21 days" in names["training_load"].sentence
    judged = {p.name: p.score for p in found.parts if p.score is not None}
    assert found.score == cardio.combine(judged)


# -- money ----------------------------------------------------------------------------------
def test_spending_by_category_is_in_euros(store: Store) -> None:
    found = finance.money(ctx(store))
    assert found.currency == "EUR"
    assert found.currency_basis == "your profile's currency"
    assert sum(c.amount for c in found.categories) == pytest.approx(found.spent, abs=0.02)
    assert found.categories[0].category == "rent"  # paid on the first banking day
    assert found.categories == sorted(found.categories, key=lambda c: -c.amount)
    assert "EUR" in found.sentence
    assert "currency" not in found.sentence
    last = finance.money(ctx(store), month=found.months[0].month)
    assert last.complete
    assert last.income > 3000
    with pytest.raises(LifeTwinError, match="is not a month"):
        finance.money(ctx(store), month="March")


def test_other_currencies_are_listed_apart_never_added(tmp_path: Path) -> None:
    store = Store.initialize(SQLiteBackend(tmp_path / "m.db", create=True), _master())
    person = store.add_person("Ola")
    vault = store.vault(person)
    when = datetime.now(UTC).replace(day=1, hour=12) + timedelta(days=1)

    def paid(amount: float, currency: str, category: str, n: int) -> Event:
        return Event(
            kind=EventKind.TRANSACTION,
            start=when + timedelta(minutes=n),
            title=f"payee {n}",
            details={"amount": amount, "currency": currency, "category": category},
            source="bank",
        )

    vault.write_records(
        [
            paid(-20.0, "NOK", "groceries", 1),
            paid(-30.0, "NOK", "travel", 2),
            paid(-9.5, "USD", "books", 3),
        ]
    )
    found = finance.money(Context(store, person))
    assert found.currency == "NOK"
    assert "most of your records" in found.currency_basis
    assert found.spent == 50.0
    assert found.other_currencies == {"USD": 9.5}
    vault.set_profile(currency="USD")
    found = finance.money(Context(store, person))
    assert found.currency == "USD"
    assert found.spent == 9.5
    assert found.other_currencies == {"NOK": 50.0}


# -- trends ---------------------------------------------------------------------------------
def test_trends_give_each_metric_its_last_month_day_by_day(store: Store) -> None:
    from lifetwin.operations.trends import trends
    from lifetwin.web import sparkline

    found = trends(ctx(store))
    codes = [t.metric for t in found.items]
    assert {"steps", "resting_heart_rate", "sleep_duration", "glucose"} <= set(codes)
    assert "transaction_amount" not in codes  # money has its own page, not a "currency" trend
    steps = found.items[codes.index("steps")]
    assert len(steps.days) == 30
    assert steps.how == "daily total"
    assert steps.days[-1] == pytest.approx(athletics.activity(ctx(store)).metrics[0].total, abs=0.5)
    assert sparkline.path(steps.days).startswith("M")
    mood = found.items[codes.index("mood_valence")]
    assert mood.change_pct is None  # a scale through zero has no percentages


def _master() -> Any:
    from lifetwin.store.crypto import MasterKey

    return MasterKey.generate()


# -- the command line -----------------------------------------------------------------------
def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env |= {"LIFETWIN_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "lifetwin", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_the_command_line_shows_sleep_workouts_readiness_and_money(
    home: tuple[Store, Path],
) -> None:
    _, where = home
    done = _run(where, "sleep", PERSON)
    assert done.returncode == 0, done.stderr
    assert "Night of" in done.stdout
    assert "Europe/Berlin" in done.stdout
    assert "stages:" in done.stdout
    night = json.loads(_run(where, "sleep", PERSON, "--json").stdout)
    assert night["time_zone"] == "Europe/Berlin"
    assert night["hypnogram"]
    earlier = (date.fromisoformat(night["night"]["night"]) - timedelta(days=2)).isoformat()
    assert (
        json.loads(_run(where, "sleep", PERSON, "--night", earlier, "--json").stdout)["night"][
            "night"
        ]
        == earlier
    )
    bad = _run(where, "sleep", PERSON, "--night", "yesterday")
    assert bad.returncode == 1
    assert "is not a date for --night (use YYYY-MM-DD)" in bad.stderr

    listed = json.loads(_run(where, "workouts", PERSON, "--json").stdout)
    first = listed["items"][0]
    text = _run(where, "workouts", PERSON).stdout
    assert first["id"] in text
    assert "Workouts, newest first" in text
    shown = _run(where, "workout", PERSON, first["id"])
    assert shown.returncode == 0, shown.stderr
    assert "Time in heart-rate zones" in shown.stdout
    assert "Zones from your maximum" in shown.stdout
    detail = json.loads(_run(where, "workout", PERSON, first["id"], "--json").stdout)
    assert detail["route"]["x_m"]
    assert detail["zones"]
    missing = _run(where, "workout", PERSON, "nope")
    assert missing.returncode == 1
    assert "There is no workout 'nope'" in missing.stderr

    assert "So far today" in _run(where, "activity", PERSON).stdout
    ready = _run(where, "readiness", PERSON)
    assert "not a medical score" in ready.stdout
    assert "/100" in ready.stdout
    money = _run(where, "money", PERSON)
    assert "EUR" in money.stdout
    assert "Rent" in money.stdout
    assert not re.search(r"\d currency", money.stdout)  # an amount is never in "currency"
    assert json.loads(_run(where, "money", PERSON, "--json").stdout)["currency"] == "EUR"
    assert "Steps" in _run(where, "trends", PERSON).stdout


# -- the API and the pages ------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(store: Store) -> Iterator[tuple[ServiceWorld, dict[str, str], str]]:
    made = ServiceWorld(store)
    person = store.person(PERSON)
    made.accounts.create("alex", PASSWORD, Role.PERSON, person.id)
    auth = {"Authorization": f"Bearer {made.token('alex', person.id)}"}
    yield made, auth, person.id
    made.app.state.service.close()


def test_the_api_answers_with_the_operations_models(
    world: tuple[ServiceWorld, dict[str, str], str],
) -> None:
    made, auth, pid = world
    client = made.client
    base = f"/api/v1/persons/{pid}"
    night = client.get(f"{base}/sleep", headers=auth)
    assert night.status_code == 200
    assert night.json()["hypnogram"]
    assert client.get(f"{base}/sleep?night=1999-01-01", headers=auth).status_code == 404
    assert client.get(f"{base}/sleep?night=soon", headers=auth).status_code == 422
    listed = client.get(f"{base}/workouts", headers=auth).json()
    one = client.get(f"{base}/workouts/{listed['items'][0]['id']}", headers=auth)
    assert one.status_code == 200
    assert one.json()["zones"]
    assert client.get(f"{base}/workouts/{'0' * 24}", headers=auth).status_code == 404
    assert client.get(f"{base}/activity", headers=auth).json()["today"] is True
    ready = client.get(f"{base}/readiness", headers=auth).json()
    assert ready["note"].endswith("not a medical score.")
    money = client.get(f"{base}/money", headers=auth).json()
    assert money["currency"] == "EUR"
    assert client.get(f"{base}/money?month=13-2026", headers=auth).status_code == 422
    assert client.get(f"{base}/trends", headers=auth).json()["items"]


def test_the_pages_render_and_sleep_stages_lead_to_the_sleep_page(
    world: tuple[ServiceWorld, dict[str, str], str],
) -> None:
    made, _, pid = world
    client = made.new_client()
    made.sign_in(client, "alex")
    html = {"accept": "text/html"}
    moved = client.get(f"/p/{pid}/metric/sleep_stage", headers=html, follow_redirects=False)
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/p/{pid}/sleep"
    moved = client.get(f"/p/{pid}/metric/event:workout", headers=html, follow_redirects=False)
    assert moved.headers["location"] == f"/p/{pid}/activity"
    assert client.get(f"/p/{pid}/metric/heart_rate", headers=html).status_code == 200
    page = client.get(f"/p/{pid}/sleep", headers=html).text
    assert 'id="chart-hypnogram"' in page
    assert "Europe/Berlin" in page
    assert "no sleep recorded" in client.get(f"/p/{pid}/sleep?night=2001-01-01", headers=html).text
    overview = client.get(f"/p/{pid}", headers=html).text
    assert 'id="trends"' in overview
    assert 'class="spark-line"' in overview
    for path, nav in (("sleep", "Sleep"), ("activity", "Activity"), ("money", "Money")):
        assert f'href="/p/{pid}/{path}"' in overview, nav
    money = client.get(f"/p/{pid}/money", headers=html).text
    assert "EUR" in money
    assert "Rent" in money
    ready = client.get(f"/p/{pid}/readiness", headers=html).text
    assert "not a medical score" in ready
    listed = client.get(f"/p/{pid}/workouts", headers=html).text
    assert 'id="workout-list"' in listed


def test_a_person_without_money_or_sleep_sees_no_such_navigation(tmp_path: Path) -> None:
    from lifetwin.packs.registry import registry

    held = {"heart_rate", "glucose"}
    shown = {n.label for p in registry().pages for n in p.nav if n.when(held)}
    assert not shown & {"Sleep", "Activity", "Money"}
    held |= {"sleep_stage", "event:workout", "event:transaction"}
    shown = {n.label for p in registry().pages for n in p.nav if n.when(held)}
    assert {"Sleep", "Activity", "Money"} <= shown


def test_observations_of_unknown_stages_do_not_break_a_night(tmp_path: Path) -> None:
    store = Store.initialize(SQLiteBackend(tmp_path / "n.db", create=True), _master())
    person = store.add_person("Kim")
    vault = store.vault(person)
    bed = datetime(2026, 5, 3, 22, 0, tzinfo=UTC)
    stages = [("in_bed", 0, 480), ("asleep", 10, 200), ("awake", 200, 215), ("asleep", 215, 470)]
    vault.write_records(
        [
            Observation(
                metric="sleep_stage",
                value=s,
                start=bed + timedelta(minutes=a),
                end=bed + timedelta(minutes=b),
                source="phone",
            )
            for s, a, b in stages
        ]
    )
    found = sleep_ops.sleep(Context(store, person))
    assert found.time_zone == "UTC"
    assert found.night.in_bed_min == 480
    assert found.night.asleep_min == 445
    assert not found.night.staged
    assert [s.stage for s in found.hypnogram] == ["asleep", "awake", "asleep"]
