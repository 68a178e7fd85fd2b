"""Time per post-ingest analysis: a person's forecasts after each hour of new data,
refit from the whole history (before) against the incremental model runner (after).

    python benchmarks/post_ingest.py [--weeks 8] [--cycles 24] [--seed 1]
        [--patient adult#001] [--cache DIR]

One virtual patient (simglucose, ``--seed``; cached as ``DIR/<patient>_<seed>_<days>.npz``)
with ``--weeks`` weeks of 5-minute CGM, the insulin the pump delivered and the meals
(events), plus steps every 15 minutes, is written to an encrypted SQLite store twice:
two people with the same data. Then ``--cycles`` times: one more hour of data is
ingested for both (12 CGM readings, 12 insulin samples, the hour's meals, 4 steps
values), and each person's analysis runs as the service runs it after an ingest —
the glucose forecast (``forecast_for_person``) and a daily forecast of steps
(``forecast_daily``). Person A refits from the whole history (``incremental=False``,
the old path); person B's models are kept in the vault and learn only the new data
(``lifetwin.models.runner.update``). Both were warmed by one analysis before the
cycles (B's first one is its refit).

Reported per analysis: the median and p90 time per cycle for each path, the ratio, how
many of B's runs refit and how many examples they learned, and the largest difference
between the two paths' forecasts (they should agree to float precision). The summary is
printed as one JSON line, last.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from lifetwin.capabilities.daily_forecast import forecast_daily
from lifetwin.capabilities.glucose_forecast import forecast_for_person
from lifetwin.core.model import Event, EventKind, Observation
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.home import init_home
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Vault

HOUR_MS = 3_600_000
STEP_MS = 300_000
TZ_MIN = 60  # the person lives at UTC+1 (no daylight saving in the simulated weeks)
START = datetime(2026, 1, 5)  # a Monday, local time


def load_run(patient: str, seed: int, days: int, cache: Path | None) -> dict[str, Any]:
    """A simulated patient (from the cache when it is there)."""
    path = None if cache is None else cache / f"{patient.replace('#', '-')}_{seed}_{days}.npz"
    if path is not None and path.exists():
        with np.load(path) as stored:
            return {k: stored[k] for k in stored.files}
    from lifetwin.services.glucose_sim import simulate

    run = simulate(days, START, seed, patient=patient)
    data = {
        "times": run.times.astype("datetime64[ms]").astype(np.int64),
        "cgm": run.cgm_mg_dl,
        "carbs": run.carbs_g,
        "insulin": run.insulin_u,
    }
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **data)
    return data


def _columns(ts: np.ndarray, values: np.ndarray, dur_ms: int = 0) -> Columns:
    n = len(ts)
    z = np.zeros(n, dtype=np.int64)
    return Columns(ts.astype(np.int64), z + dur_ms, values.astype(np.float64), z + TZ_MIN, z, z, z)


class Person:
    """What one person's vault receives: every stream, cut into ingests by time."""

    def __init__(self, data: dict[str, Any], seed: int) -> None:
        local_ms = data["times"].astype(np.int64)
        self.cgm_ts = local_ms - TZ_MIN * 60_000  # simglucose runs in naive local time
        self.cgm = np.round(data["cgm"])
        self.insulin = np.round(data["insulin"], 4)
        self.carbs = data["carbs"]
        first, last = int(self.cgm_ts[0]), int(self.cgm_ts[-1])
        self.steps_ts = np.arange(first, last + 1, 15 * 60_000, dtype=np.int64)
        hour = ((self.steps_ts // 60_000 + TZ_MIN) % 1440) / 60.0
        awake = (hour > 7) & (hour < 23)
        rng = np.random.default_rng(seed)
        self.steps = rng.poisson(np.where(awake, 180 + 120 * np.sin((hour - 8) / 14 * np.pi), 0))

    def ingest(self, vault: Vault, lo_ms: int, hi_ms: int) -> None:
        """Write everything with lo_ms <= time < hi_ms."""
        cut = (self.cgm_ts >= lo_ms) & (self.cgm_ts < hi_ms)
        if cut.any():
            ts = self.cgm_ts[cut]
            vault.write_columns("glucose", "bench-cgm", "CGM", "mg/dL", _columns(ts, self.cgm[cut]))
            vault.write_columns(
                "insulin_delivered",
                "bench-pump",
                "Pump",
                "U",
                _columns(ts, self.insulin[cut], STEP_MS),
            )
        part = (self.steps_ts >= lo_ms) & (self.steps_ts < hi_ms)
        if part.any():
            vault.write_columns(
                "steps",
                "bench-watch",
                "Watch",
                "count",
                _columns(self.steps_ts[part], self.steps[part].astype(float), 15 * 60_000),
            )
        meals: list[Observation | Event] = []
        for i in np.flatnonzero(cut & (self.carbs > 0)).tolist():
            when = datetime.fromtimestamp(int(self.cgm_ts[i]) / 1000, UTC)
            meals.append(
                Event(
                    kind=EventKind.MEAL,
                    start=when,
                    details={"carbs_g": float(np.round(self.carbs[i], 1))},
                    source="bench-cgm",
                )
            )
        if meals:
            vault.write_records(meals)


def _spread(a: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(float(np.median(a)) * 1000, 2),
        "p90_ms": round(float(np.quantile(a, 0.9)) * 1000, 2),
    }


def _glucose_values(result: Any) -> list[float]:
    if result is None:
        return []
    out = [v for f in result.forecasts for v in (f.value_mg_dl, f.low_mg_dl, f.high_mg_dl)]
    return out + [result.trajectory[h] for h in sorted(result.trajectory)]


def _daily_values(result: Any) -> list[float]:
    if result is None:
        return []
    return [v for f in result.forecasts for v in (f.value, f.low, f.high)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--cycles", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--patient", default="adult#001")
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    days = args.weeks * 7 + (args.cycles + 23) // 24 + 1
    data = load_run(args.patient, args.seed, days, args.cache)
    person = Person(data, args.seed)
    end_history = int(person.cgm_ts[0]) + args.weeks * 7 * 86_400_000
    times: dict[str, dict[str, list[float]]] = {
        k: {"before": [], "after": []} for k in ("glucose", "daily_steps")
    }
    diffs = {"glucose": 0.0, "daily_steps": 0.0}
    refits = {"glucose": 0, "daily_steps": 0}
    learned: dict[str, list[int]] = {"glucose": [], "daily_steps": []}
    backtest_same = True
    with tempfile.TemporaryDirectory() as tmp:
        store = init_home(Path(tmp) / "home")
        vaults = {}
        t0 = time.perf_counter()
        for who in ("before", "after"):
            vault = store.vault(store.add_person(f"Bench {who}"))
            vault.grant(Scope.parse("all"), Purpose.FORECASTING)
            person.ingest(vault, -(10**15), end_history)
            vaults[who] = vault
        write_s = time.perf_counter() - t0
        clock = end_history
        now = datetime.fromtimestamp(clock / 1000, UTC) + timedelta(minutes=1)
        for who, vault in vaults.items():  # warm both; the incremental one fits here
            forecast_for_person(vault, now, incremental=who == "after")
            forecast_daily(vault, "steps", incremental=who == "after")
        for _cycle in range(args.cycles):
            results: dict[str, dict[str, Any]] = {}
            for vault in vaults.values():
                person.ingest(vault, clock, clock + HOUR_MS)
            clock += HOUR_MS
            now = datetime.fromtimestamp(clock / 1000, UTC) + timedelta(minutes=1)
            for who, vault in vaults.items():
                incremental = who == "after"
                t = time.perf_counter()
                glucose = forecast_for_person(vault, now, incremental=incremental)
                times["glucose"][who].append(time.perf_counter() - t)
                t = time.perf_counter()
                daily = forecast_daily(vault, "steps", incremental=incremental)
                times["daily_steps"][who].append(time.perf_counter() - t)
                results[who] = {"glucose": glucose, "daily_steps": daily}
            for key, values in (("glucose", _glucose_values), ("daily_steps", _daily_values)):
                a, b = values(results["before"][key]), values(results["after"][key])
                if not a or len(a) != len(b):
                    raise SystemExit(f"{key}: no forecast to compare ({len(a)}, {len(b)}).")
                diffs[key] = max(diffs[key], float(np.max(np.abs(np.subtract(a, b)))))
                stored = vaults["after"].derived(
                    f"forecast:{'glucose' if key == 'glucose' else 'steps'}"
                )
                assert stored is not None
                refits[key] += bool(stored.payload["refit"])
                learned[key].append(int(stored.payload["learned"]))
            backtest_same &= (
                results["before"]["daily_steps"].backtest
                == results["after"]["daily_steps"].backtest
            )
        store.close()
    summary: dict[str, Any] = {
        "weeks": args.weeks,
        "cycles": args.cycles,
        "patient": args.patient,
        "seed": args.seed,
        "history_write_s": round(write_s, 2),
    }
    for key in ("glucose", "daily_steps"):
        before, after = _spread(times[key]["before"]), _spread(times[key]["after"])
        summary[key] = {
            "before_full_refit": before,
            "after_incremental": after,
            "ratio": round(before["median_ms"] / after["median_ms"], 1),
            "refits_after": refits[key],
            "learned_per_cycle": sorted(set(learned[key])),
            "max_abs_forecast_difference": diffs[key],
        }
    summary["daily_backtest_identical"] = backtest_same
    g, d = summary["glucose"], summary["daily_steps"]
    print(
        f"{args.weeks} weeks, {args.cycles} hourly ingests: glucose forecast "
        f"{g['before_full_refit']['median_ms']} ms (refit) -> {g['after_incremental']['median_ms']}"
        f" ms (incremental), x{g['ratio']}; daily steps forecast "
        f"{d['before_full_refit']['median_ms']} -> {d['after_incremental']['median_ms']} ms, "
        f"x{d['ratio']}; refits after: {g['refits_after']} / {d['refits_after']}; largest "
        f"forecast difference {g['max_abs_forecast_difference']:.2e} mg/dL, "
        f"{d['max_abs_forecast_difference']:.2e} steps"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
