"""Daily forecasts (Holt-Winters with conformal intervals) from a person's vault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from lifetwin.capabilities.daily_forecast import backtest, daily_series, forecast_daily
from lifetwin.core.model import Event, EventKind
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Store

DAY_MS = 86_400_000


def _start(days: int) -> datetime:
    return (datetime.now(UTC) - timedelta(days=days)).replace(
        hour=7, minute=0, second=0, microsecond=0
    )


def _weekly(days: int, seed: int = 1) -> np.ndarray:
    """Higher at weekends (by the calendar of the days _write_daily gives them)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    weekend = (_start(days).weekday() + t) % 7 >= 5
    return 58 + 3 * weekend + 0.01 * t + rng.normal(0, 0.8, days)


def _write_daily(store: Store, values: np.ndarray, code: str = "resting_heart_rate") -> Any:
    person = store.add_person("Dee")
    vault = store.vault(person)
    start = _start(len(values))
    keep = np.isfinite(values)
    ts = (int(start.timestamp() * 1000) + np.arange(len(values)) * DAY_MS)[keep].astype(np.int64)
    zeros = np.zeros(len(ts), dtype=np.int64)
    vault.write_columns(
        code, "watch", None, "bpm", Columns(ts, zeros, values[keep], zeros, zeros, zeros, zeros)
    )
    return vault


def test_holt_winters_beats_naive_on_a_weekly_rhythm_and_its_intervals_cover() -> None:
    values = _weekly(200)
    values[np.random.default_rng(2).random(200) < 0.05] = np.nan
    result = backtest(values, (1, 7, 14))
    model, naive = result.mae["holt_winters"], result.mae["naive"]
    assert all(m < n for m, n in zip(model, naive, strict=True)), result.mae
    assert model[0] < 1.2  # close to the 0.8 bpm noise
    assert all(abs(c - 0.8) < 0.1 for c in result.coverage), result.coverage


def test_a_person_forecast_needs_the_grant_and_is_stored_with_lineage(store: Store) -> None:
    vault = _write_daily(store, _weekly(60))
    assert forecast_daily(vault, "resting_heart_rate") is None  # no grant: it sees nothing
    series = daily_series(vault, "resting_heart_rate")[1]
    assert len(series) == 0
    grant = vault.grant(Scope.parse("metric:resting_heart_rate"), Purpose.FORECASTING)
    result = forecast_daily(vault, "resting_heart_rate", horizon=7)
    assert result is not None
    assert [f.horizon for f in result.forecasts] == list(range(1, 8))
    assert all(f.low <= f.value <= f.high for f in result.forecasts)
    weekend = [f for f in result.forecasts if datetime.fromisoformat(f.day or "").weekday() >= 5]
    weekday = [f for f in result.forecasts if datetime.fromisoformat(f.day or "").weekday() < 5]
    assert min(f.value for f in weekend) > max(f.value for f in weekday)  # it learned the week
    stored = vault.derived("forecast:resting_heart_rate")
    assert stored is not None
    assert grant.id in stored.lineage.grants
    vault.revoke(grant.id)
    assert vault.derived("forecast:resting_heart_rate") is None


def test_too_little_data_gives_no_forecast(store: Store) -> None:
    vault = _write_daily(store, _weekly(10))
    vault.grant(Scope.parse("all"), Purpose.FORECASTING)
    assert forecast_daily(vault, "resting_heart_rate") is None


def test_spending_is_money_out_per_day(store: Store) -> None:
    person = store.add_person("Sam")
    vault = store.vault(person)
    vault.grant(Scope.parse("all"), Purpose.FORECASTING)
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    items = [
        Event(
            kind=EventKind.PURCHASE,
            start=start + timedelta(days=d),
            source="shop",
            title=f"order {d}",
            details={"amount": 10.0 + d % 7, "currency": "EUR"},
        )
        for d in range(40)
    ] + [
        Event(
            kind=EventKind.TRANSACTION,
            start=start + timedelta(days=d, hours=1),
            source="bank",
            title=f"salary {d}",
            details={"amount": 1000.0, "currency": "EUR"},
        )
        for d in range(0, 40, 14)
    ]
    vault.write_records(items)
    _, values, _, _ = daily_series(vault, "spending")
    assert len(values) == 40
    assert values[0] == pytest.approx(10.0)  # the salary coming in is not spending
    assert forecast_daily(vault, "spending") is not None


@pytest.mark.slow
def test_the_command_line_forecasts_a_daily_metric_with_its_backtest(cli: Any) -> None:
    assert cli("init").returncode == 0
    assert cli("demo", "--days", "30", "--account", "").returncode == 0
    done = cli("forecast", "Alex Demo", "--metric", "resting_heart_rate", "--horizon", "5")
    assert done.returncode == 0, done.stderr
    assert "Rolling-origin backtest" in done.stdout
    assert done.stdout.count(" bpm (") == 5
    sleep = cli("forecast", "Alex Demo", "--metric", "sleep")
    assert sleep.returncode == 0, sleep.stderr
    assert "min (" in sleep.stdout
    bad = cli("forecast", "Alex Demo", "--metric", "resting_heart_rate", "--horizon", "90")
    assert bad.returncode == 1
    assert "1 to 60 days" in bad.stderr


def test_a_new_day_is_learned_without_replaying_the_history(store: Store) -> None:
    values = _weekly(60, seed=3)
    vault = _write_daily(store, values[:-1])
    vault.grant(Scope.parse("all"), Purpose.FORECASTING)
    assert forecast_daily(vault, "resting_heart_rate") is not None
    start = _start(len(values) - 1)
    z = np.zeros(1, dtype=np.int64)
    ts = np.array([int(start.timestamp() * 1000) + (len(values) - 1) * DAY_MS], dtype=np.int64)
    vault.write_columns(
        "resting_heart_rate", "watch", None, "bpm", Columns(ts, z, values[-1:], z, z, z, z)
    )
    after = forecast_daily(vault, "resting_heart_rate")
    stored = vault.derived("forecast:resting_heart_rate")
    assert stored is not None
    assert stored.payload["refit"] is False
    assert stored.payload["learned"] == 1  # yesterday, now complete; today is provisional
    refit = forecast_daily(vault, "resting_heart_rate", incremental=False)
    assert after is not None
    assert refit is not None
    assert after.forecasts == refit.forecasts
    assert (
        after.backtest
        == refit.backtest
        == backtest(daily_series(vault, "resting_heart_rate")[1], (1, 7))
    )
    assert (after.days, after.last_day) == (refit.days, refit.last_day) == (60, refit.last_day)
