"""Glucose as a person with diabetes reads it: in their unit, against their targets and the
consensus ones, with the trend Nightscout would show, a banner when the data are old, a
day with its insulin and carbohydrates, a week, the AGP report — the same in the
operations, the command line and the API."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ServiceWorld
from lifetwin.core.errors import LifeTwinError, NotEnoughDataError
from lifetwin.core.model import Event, EventKind
from lifetwin.operations import glucose as ops
from lifetwin.operations import twin as twin_ops
from lifetwin.operations.context import Context
from lifetwin.operations.data import metric_values
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Store, Vault

REAL = Path(__file__).parent / "fixtures" / "realdata" / "cgm"
CLARITY = REAL / "cgmquantify_dexcom_clarity_test_file.csv"
# Three days up to 2024-03-03 11:55 UTC, local time UTC+01:00, every five minutes.
START = datetime(2024, 3, 1, 0, 0, tzinfo=UTC) - timedelta(hours=1)  # local midnight
STEP_MS = 300_000
TZ = 60


def _cgm(vault: Vault, values: np.ndarray, start: datetime = START, tz: int = TZ) -> np.ndarray:
    n = len(values)
    ts = int(start.timestamp() * 1000) + np.arange(n, dtype=np.int64) * STEP_MS
    z = np.zeros(n, dtype=np.int64)
    vault.write_columns(
        "glucose", "cgm", None, "mg/dL", Columns(ts, z, values.astype(float), z + tz, z, z, z)
    )
    return ts


def _person(store: Store, values: np.ndarray | None = None) -> tuple[Context, np.ndarray]:
    person = store.add_person("Ada")
    vault = store.vault(person)
    if values is None:
        minutes = np.arange(3 * 288) * 5
        values = np.round(120 + 50 * np.sin(minutes / 1440 * 2 * np.pi * 3))
    ts = _cgm(vault, values)
    return Context(store, person), ts


def _at(local: str) -> datetime:
    """A local time (UTC+01:00) as UTC."""
    return datetime.fromisoformat(local).replace(tzinfo=UTC) - timedelta(minutes=TZ)


def test_mmol_per_litre_is_the_persons_choice_in_every_glucose_operation(store: Store) -> None:
    ctx, _ = _person(store)
    in_mg = ops.cgm(ctx, days=0)
    assert in_mg.unit == "mg/dL"
    assert ops.glucose_settings(ctx).unit == "mg/dL"
    found = ops.set_glucose_settings(ctx, unit="mmol/l")
    assert found.unit == "mmol/L"
    assert (found.targets.low, found.targets.high) == (3.89, 9.99)
    in_mmol = ops.cgm(ctx, days=0)
    assert in_mmol.unit == "mmol/L"
    assert in_mmol.mean == pytest.approx(in_mg.mean / ops.MG_DL_PER_MMOL_L, abs=0.006)
    assert in_mmol.agp["6"].p50 == pytest.approx(in_mg.agp["6"].p50 / 18.0156, abs=0.006)
    assert in_mmol.range_labels["in_range"] == "3.9–10.0"
    assert in_mmol.ranges_pct == in_mg.ranges_pct  # the same readings, the same shares
    assert ops.cgm(ctx, days=0, unit="mg/dL") == in_mg  # a caller may pin the unit
    now = ops.glucose_now(ctx)
    assert now.unit == "mmol/L"
    assert 2 < now.value < 12
    day = ops.glucose_day(ctx)
    assert all(2 < r.value < 12 for r in day.readings)
    # the twin's row, a metric's values and its history
    vault = ctx.vault()
    vault.grant(Scope.parse("all"), Purpose.TWIN_CORE)
    rows = twin_ops.twin(ctx.for_purpose(Purpose.TWIN_CORE)).metrics
    (row,) = [r for r in rows if r.metric == "glucose"]
    assert row.unit == "mmol/L"
    assert "mmol/L" in row.sentence
    assert row.latest == pytest.approx(now.value, abs=0.01)
    values = metric_values(ctx, "glucose", limit=3)
    assert values.unit == "mmol/L"
    assert values.maximum is not None
    assert values.maximum < 12
    assert all(v.unit == "mmol/L" for v in values.latest)
    history = twin_ops.metric_history(ctx, "glucose", days=3650)
    assert history.unit == "mmol/L"
    assert history.targets is not None
    assert history.targets.low == 3.89


def test_the_trend_is_the_one_nightscout_clients_show(store: Store) -> None:
    from lifetwin.services import nightscout as ns

    rising = np.array([100.0] * 20 + [100 + 12.5 * i for i in range(1, 5)])
    ctx, ts = _person(store, rising)
    now = ops.glucose_now(ctx, now=datetime.fromtimestamp(ts[-1] / 1000, UTC))
    assert (now.direction, now.arrow, now.trend) == ("SingleUp", "↑", "rising fast")
    assert now.change == 12.5
    assert now.rate_per_min == 2.5
    assert now.minutes_since_previous == 5
    assert now.at.utcoffset() == timedelta(minutes=TZ)
    entries = ns.entries(ctx.vault(), ns.parse_query([("count", "1")]), purpose=Purpose.SELF_ACCESS)
    assert entries[0]["direction"] == now.direction
    assert entries[0]["sgv"] == now.value
    assert now.range == "in_range"


def test_no_trend_after_a_gap_and_a_banner_when_the_newest_reading_is_old(store: Store) -> None:
    ctx, ts = _person(store, np.array([150.0, 150.0, 150.0]))
    last = datetime.fromtimestamp(int(ts[-1]) / 1000, UTC) + timedelta(minutes=20)
    _cgm(ctx.vault(), np.array([140.0]), start=last)
    fresh = ops.glucose_now(ctx, now=last + timedelta(minutes=4))
    assert (fresh.direction, fresh.arrow, fresh.change) == ("NOT COMPUTABLE", "", None)
    assert not fresh.stale
    assert fresh.status == "Newest reading 4 min ago."
    old = ops.glucose_now(ctx, now=last + timedelta(hours=3))
    assert old.stale
    assert old.status.startswith("No new reading for 3 h")
    assert "not your glucose now" in old.status


def test_a_day_is_a_local_day_with_its_insulin_and_carbohydrates(store: Store) -> None:
    ctx, _ = _person(store)
    vault = ctx.vault()
    vault.write_records(
        [
            Event(
                kind=EventKind.MEAL,
                start=_at("2024-03-02T07:30"),
                details={"carbs_g": 45},
                source="app",
            ),
            Event(
                kind=EventKind.INSULIN,
                start=_at("2024-03-02T07:25"),
                details={"insulin_u": 4.5, "type": "bolus"},
                source="app",
            ),
            # 00:30 local on the 3rd is still the 2nd in UTC: it belongs to the 3rd
            Event(
                kind=EventKind.MEAL,
                start=_at("2024-03-03T00:30"),
                details={"carbs_g": 12},
                source="app",
            ),
        ]
    )
    day = ops.glucose_day(ctx, date(2024, 3, 2))
    assert day.zone == "UTC+01:00"
    assert len(day.readings) == 288
    assert day.readings[0].at.isoformat() == "2024-03-02T00:00:00+01:00"
    assert [(c.at.strftime("%H:%M"), c.grams) for c in day.carbs] == [("07:30", 45.0)]
    assert [(d.at.strftime("%H:%M"), d.units, d.kind) for d in day.insulin] == [
        ("07:25", 4.5, "bolus")
    ]
    assert (day.stats.carbs_g, day.stats.insulin_u) == (45.0, 4.5)
    assert (day.previous_day, day.next_day) == (date(2024, 3, 1), date(2024, 3, 3))
    assert (day.first_day, day.last_day) == (date(2024, 3, 1), date(2024, 3, 3))
    third = ops.glucose_day(ctx, date(2024, 3, 3))
    assert [c.grams for c in third.carbs] == [12.0]
    assert third.next_day is None
    assert ops.glucose_day(ctx).day == date(2024, 3, 3)  # default: the newest reading's day
    # a pump's delivery counts as the day's insulin, and is drawn as delivered
    ts = int(_at("2024-03-02T12:00").timestamp() * 1000) + np.arange(12) * STEP_MS
    z = np.zeros(12, dtype=np.int64)
    vault.write_columns(
        "insulin_delivered",
        "pump",
        None,
        "U",
        Columns(ts, z + STEP_MS, np.full(12, 0.1), z, z, z, z),
    )
    pumped = ops.glucose_day(ctx, date(2024, 3, 2))
    assert len(pumped.delivered) == 12
    assert pumped.stats.insulin_u == pytest.approx(1.2)
    # an empty day in between still answers, with nothing in it
    empty = ops.glucose_day(ctx, date(2020, 1, 1))
    assert empty.readings == []
    assert empty.stats.readings == 0


def test_week_to_week(store: Store) -> None:
    ctx, _ = _person(store)
    week = ops.glucose_week(ctx)
    assert (week.start, week.end) == (date(2024, 2, 26), date(2024, 3, 3))
    assert [d.day for d in week.days][-1] == date(2024, 3, 3)
    assert len(week.days) == 7
    full = [d for d in week.days if d.readings == 288]
    assert len(full) == 3
    assert len(full[0].points) == 96  # 15-minute means
    assert week.previous_start is None
    assert week.next_start is None
    earlier = ops.glucose_week(ctx, date(2024, 2, 20))
    assert earlier.next_start == date(2024, 2, 27)
    assert earlier.stats.readings == 0


def test_the_agp_report_has_the_consensus_parts(store: Store) -> None:
    from lifetwin.web.glucose_report import agp_html

    ctx, _ = _person(store)
    found = ops.agp_report(ctx)
    assert len(found.report.agp) == 24
    assert [d.day for d in found.days][-1] == date(2024, 3, 3)
    assert 3 <= len(found.days) <= ops.PROFILE_DAYS
    assert {c.key for c in found.report.checks} == {
        "time_in_range",
        "time_below_70",
        "time_below_54",
        "time_above_180",
        "time_above_250",
        "cv",
    }
    html = agp_html(found)
    assert html.count('class="target-line"') == 2
    assert html.count('class="agp-day"') == len(found.days)
    assert "@media print" in html
    assert "Ada" in html
    assert "<script" not in html  # it prints without a script


def test_the_consensus_targets_are_flagged_where_a_person_misses_them() -> None:
    ranges = {"very_low": 0.5, "low": 4.0, "in_range": 70.0, "high": 20.0, "very_high": 5.5}
    checks = {c.key: c for c in ops.target_checks(ranges, 36.0, "mg/dL")}
    assert checks["time_below_70"].value_pct == 4.5
    assert not checks["time_below_70"].met
    assert "above the consensus target (< 4 %)" in checks["time_below_70"].sentence
    assert checks["time_below_54"].met
    assert checks["time_in_range"].met  # 70 % is the target itself
    assert not checks["time_above_180"].met
    assert checks["time_above_180"].value_pct == 25.5
    assert not checks["time_above_250"].met
    assert checks["cv"].met  # at most 36 %


@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=5, max_size=5),
    st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
    st.sampled_from(["mg/dL", "mmol/L"]),
)
def test_a_target_is_flagged_exactly_when_the_time_is_worse_than_it(
    shares: list[float], cv: float | None, unit: str
) -> None:
    keys = ("very_low", "low", "in_range", "high", "very_high")
    ranges = dict(zip(keys, shares, strict=True))
    checks = {c.key: c for c in ops.target_checks(ranges, cv, unit)}
    below70 = round(ranges["very_low"] + ranges["low"], 2)
    above180 = round(ranges["high"] + ranges["very_high"], 2)
    assert checks["time_below_70"].met == (below70 <= 4)
    assert checks["time_below_54"].met == (round(ranges["very_low"], 2) <= 1)
    assert checks["time_in_range"].met == (round(ranges["in_range"], 2) >= 70)
    assert checks["time_above_180"].met == (above180 <= 25)
    assert checks["time_above_250"].met == (round(ranges["very_high"], 2) <= 5)
    assert ("cv" in checks) == (cv is not None)
    for check in checks.values():
        assert "not met" not in check.sentence
        assert ("within" in check.sentence) == check.met
        assert (unit in check.label) or check.key == "cv"


@given(st.floats(20, 600, allow_nan=False))
def test_a_value_survives_the_round_trip_through_mmol(mg_dl: float) -> None:
    mmol = ops.to_unit(mg_dl, "mmol/L")
    assert abs(mmol * ops.MG_DL_PER_MMOL_L - mg_dl) <= 0.005 * ops.MG_DL_PER_MMOL_L + 1e-9
    assert ops.shown(mmol, "mmol/L").count(".") == 1
    assert "." not in ops.shown(ops.to_unit(mg_dl, "mg/dL"), "mg/dL")


@given(st.text(max_size=30))
def test_any_unit_is_read_or_refused_in_one_sentence(text: str) -> None:
    try:
        found = ops.parse_unit(text)
    except LifeTwinError as refused:
        message = str(refused)
        assert "\n" not in message
        assert message.endswith("is not a glucose unit (use mg/dL or mmol/L).")
    else:
        assert found in (None, *ops.UNITS)


def test_settings_are_checked_and_said_in_one_sentence(store: Store) -> None:
    ctx, _ = _person(store)
    with pytest.raises(LifeTwinError, match=r"^The low target \(200 mg/dL\) must be below"):
        ops.set_glucose_settings(ctx, low=200)
    with pytest.raises(LifeTwinError, match="is not a glucose unit"):
        ops.set_glucose_settings(ctx, unit="stone")
    with pytest.raises(LifeTwinError, match="plausible range"):
        ops.set_glucose_settings(ctx, low=20)
    found = ops.set_glucose_settings(ctx, unit="mmol/L", low=4.2, high=9)
    assert (found.targets.low, found.targets.high, found.defaults) == (4.2, 9.0, False)
    assert ctx.vault().profile()["glucose_low_mg_dl"] == pytest.approx(75.67, abs=0.01)
    assert ops.cgm(ctx, days=0).targets.low == 4.2
    assert ops.glucose_settings(ctx) == found


def test_no_readings_is_one_sentence(store: Store) -> None:
    ctx = Context(store, store.add_person("Bo"))
    for run in (ops.glucose_now, ops.glucose_day, ops.glucose_week, ops.agp_report):
        with pytest.raises(NotEnoughDataError, match="There are no CGM readings of Bo"):
            run(ctx)  # type: ignore[operator]


# -- the command line and the API ---------------------------------------------------------------
Cli = Callable[..., Any]


def test_the_glucose_commands(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    cli("person", "add", "Joe")
    assert cli("glucose", "now", "Joe").stderr.strip() == "error: There are no CGM readings of Joe."
    cli("import", str(CLARITY), "-p", "Joe", "--timezone", "America/New_York")
    now = cli("glucose", "now", "Joe")
    assert now.returncode == 0, now.stderr
    assert "mg/dL" in now.stdout
    assert "No new reading for" in now.stdout
    day = cli("glucose", "day", "Joe", "--day", "2016-10-26")
    assert day.returncode == 0, day.stderr
    assert "Wednesday 2016-10-26 (UTC-04:00)" in day.stdout
    assert "--day 2016-10-25" in day.stdout
    bad = cli("glucose", "day", "Joe", "--day", "26.10.2016")
    assert bad.stderr.strip() == "error: '26.10.2016' is not a date for --day (use YYYY-MM-DD)."
    week = json.loads(cli("glucose", "week", "Joe", "--start", "2016-10-24", "--json").stdout)
    assert next(d["day"] for d in week["days"]) == "2016-10-24"
    assert week["days"][2]["readings"] > 200
    settings = cli("glucose", "settings", "Joe", "--unit", "mmol/l")
    assert "Glucose is shown in mmol/L; your target range is 3.9–10.0 mmol/L" in settings.stdout
    report = cli("cgm", "Joe", "--days", "0")
    assert "Time below 3.9 mmol/L" in report.stdout
    assert "(mmol/L, local time)" in report.stdout
    pinned = json.loads(cli("cgm", "Joe", "--days", "0", "--unit", "mg/dL", "--json").stdout)
    assert pinned["unit"] == "mg/dL"
    target = tmp_path / "agp.html"
    wrote = cli("glucose", "agp", "Joe", "--days", "0", "--output", str(target))
    assert wrote.returncode == 0, wrote.stderr
    assert "one printable page" in wrote.stdout
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    html = target.read_text()
    assert "glucose in mmol/L" in html
    assert 'class="agp-profile"' in html
    shown = cli("show", "Joe", "-m", "glucose")
    assert "(mmol/L)" in shown.stdout
    refused = cli("glucose", "settings", "Joe", "--low", "12")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: The low target (12.0 mmol/L) must be below")


def test_the_glucose_api(world: ServiceWorld) -> None:
    from lifetwin.services.importer import import_file

    pid = world.add_person("Ana", "ana")
    import_file(world.store, world.store.person(pid), CLARITY, timezone="America/New_York")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    base = f"/api/v1/persons/{pid}"
    now = world.client.get(f"{base}/glucose/now", headers=auth).json()
    assert now["unit"] == "mg/dL"
    assert now["stale"] is True
    mmol = world.client.get(f"{base}/glucose/now?unit=mmol", headers=auth).json()
    assert mmol["unit"] == "mmol/L"
    assert mmol["value"] == pytest.approx(now["value"] / 18.0156, abs=0.006)
    bad = world.client.get(f"{base}/glucose/now?unit=stone", headers=auth)
    assert bad.status_code == 422
    assert bad.json()["detail"] == "'stone' is not a glucose unit (use mg/dL or mmol/L)."
    day = world.client.get(f"{base}/glucose/day?day=2016-10-26", headers=auth).json()
    assert day["day"] == "2016-10-26"
    assert len(day["readings"]) > 200
    bad_day = world.client.get(f"{base}/glucose/day?day=yesterday", headers=auth)
    assert bad_day.status_code == 422
    week = world.client.get(f"{base}/glucose/week?start=2016-10-24", headers=auth).json()
    assert len(week["days"]) == 7
    agp = world.client.get(f"{base}/glucose/agp?days=0", headers=auth).json()
    assert agp["report"]["readings"] > 2000
    put = world.client.put(
        f"{base}/glucose/settings", json={"unit": "mmol/L", "low": 4, "high": 9.5}, headers=auth
    )
    assert put.status_code == 200, put.text
    assert put.json()["targets"] == {"low": 4.0, "high": 9.5, "unit": "mmol/L"}
    cgm = world.client.get(f"{base}/cgm?days=0", headers=auth).json()
    assert cgm["unit"] == "mmol/L"
    assert cgm["targets"]["low"] == 4.0
    assert world.client.get(f"{base}/glucose/settings", headers=auth).json()["unit"] == "mmol/L"
    # a token for one purpose only cannot change the person's settings
    narrow = {"Authorization": f"Bearer {world.token('ana', pid, 'forecasting')}"}
    refused = world.client.put(f"{base}/glucose/settings", json={"unit": "mg/dL"}, headers=narrow)
    assert refused.status_code == 403
