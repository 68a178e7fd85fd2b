"""Daily-metric forecasts: LifeTwin's damped Holt-Winters against river's HoltWinters,
yesterday's value (naive) and the same weekday last week (seasonal naive).

    python benchmarks/daily_forecast.py [--people 50] [--days 365] [--seed 1]

Generated people, each with four daily series: resting heart rate (weekly rhythm, slow
drift, noise, a few sick weeks), minutes asleep (shorter on weeknights, longer at
weekends, noisy), body weight (slow trend, small noise) and money spent (weekly shape,
heavy-tailed), with 5 % of days missing. Rolling origin: from day 28 on, each model,
fitted only on the days before, forecasts 1, 7 and 14 days ahead; MAE per horizon is
taken where the day is known, and the share of actual values inside LifeTwin's 80 %
interval. Both Holt-Winters models use the same smoothing constants. Prints a table
and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import numpy as np
from river import time_series

from lifetwin.capabilities.daily_forecast import SEASON, DailyForecaster

HORIZONS = (1, 7, 14)


def people(rng: np.random.Generator, days: int) -> dict[str, np.ndarray]:
    t = np.arange(days)
    weekend = (t % 7) >= 5
    rhr = rng.uniform(52, 70) + 1.5 * weekend + np.cumsum(rng.normal(0, 0.05, days))
    rhr += rng.normal(0, rng.uniform(0.8, 2.0), days)
    for _ in range(rng.poisson(days / 120)):
        start = int(rng.integers(0, days))
        rhr[start : start + 7] += rng.uniform(3, 8)
    sleep = rng.uniform(380, 470) + 50 * weekend + rng.normal(0, rng.uniform(20, 45), days)
    weight = rng.uniform(55, 100) + np.cumsum(rng.normal(rng.uniform(-0.01, 0.01), 0.05, days))
    weight += rng.normal(0, 0.3, days)
    shape = rng.uniform(0.5, 1.5, 7)
    spend = shape[t % 7] * rng.lognormal(3, 0.6, days) * (rng.random(days) < 0.8)
    out = {
        "resting_heart_rate": rhr,
        "sleep_minutes": sleep,
        "body_mass": weight,
        "spending": spend,
    }
    for series in out.values():
        series[rng.random(days) < 0.05] = np.nan
    return out


class RiverPeer:
    def __init__(self, model: DailyForecaster) -> None:
        self.model = time_series.HoltWinters(
            alpha=model.alpha, beta=model.beta, gamma=model.gamma, seasonality=SEASON
        )
        self.seen: list[float] = []

    def forecast(self, steps: int) -> list[float]:
        if len(self.seen) < 2 * SEASON:
            return [self.seen[-1]] * steps if self.seen else [math.nan] * steps
        return [float(v) for v in self.model.forecast(horizon=steps)]

    def learn(self, value: float) -> None:
        if not math.isfinite(value):
            if len(self.seen) < 2 * SEASON:
                return
            value = self.forecast(1)[0]
        self.model.learn_one(value)
        self.seen.append(value)


def evaluate(values: np.ndarray) -> dict[str, Any]:
    ours = DailyForecaster(horizon=max(HORIZONS))
    peer = RiverPeer(ours)
    errors: dict[str, dict[int, list[float]]] = {
        k: {h: [] for h in HORIZONS} for k in ("lifetwin", "river", "naive", "seasonal_naive")
    }
    inside: dict[int, list[bool]] = {h: [] for h in HORIZONS}
    seconds = 0.0
    for t, value in enumerate(values):
        if t >= 28:
            tick = time.perf_counter()
            made = ours.predict_one()
            seconds += time.perf_counter() - tick
            theirs = peer.forecast(max(HORIZONS))
            known = values[:t][np.isfinite(values[:t])]
            for h in HORIZONS:
                target = t + h - 1
                if target >= len(values) or not np.isfinite(values[target]):
                    continue
                actual = float(values[target])
                errors["lifetwin"][h].append(abs(actual - made[h - 1].value))
                errors["river"][h].append(abs(actual - theirs[h - 1]))
                errors["naive"][h].append(abs(actual - float(known[-1])))
                back = target - SEASON * math.ceil(h / SEASON)
                if np.isfinite(values[back]):
                    errors["seasonal_naive"][h].append(abs(actual - float(values[back])))
                inside[h].append(made[h - 1].low <= actual <= made[h - 1].high)
        ours.learn_one(None, float(value))
        peer.learn(float(value))
    return {"errors": errors, "inside": inside, "forecast_seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    pooled: dict[str, dict[str, dict[int, list[float]]]] = {}
    covered: dict[str, dict[int, list[bool]]] = {}
    forecast_s, forecasts = 0.0, 0
    for _ in range(args.people):
        for name, values in people(rng, args.days).items():
            result = evaluate(values)
            forecast_s += result["forecast_seconds"]
            forecasts += args.days - 28
            for model, by_h in result["errors"].items():
                for h, errs in by_h.items():
                    pooled.setdefault(name, {}).setdefault(model, {}).setdefault(h, []).extend(errs)
            for h, hits in result["inside"].items():
                covered.setdefault(name, {}).setdefault(h, []).extend(hits)
    summary: dict[str, Any] = {"people": args.people, "days": args.days, "seed": args.seed}
    for name, models in pooled.items():
        row: dict[str, Any] = {
            model: {str(h): round(float(np.mean(errs)), 3) for h, errs in by_h.items()}
            for model, by_h in models.items()
        }
        row["ratio_to_river"] = {
            str(h): round(row["lifetwin"][str(h)] / row["river"][str(h)], 3) for h in HORIZONS
        }
        row["ratio_to_seasonal_naive"] = {
            str(h): round(row["lifetwin"][str(h)] / row["seasonal_naive"][str(h)], 3)
            for h in HORIZONS
        }
        row["coverage_80"] = {str(h): round(float(np.mean(covered[name][h])), 3) for h in HORIZONS}
        summary[name] = row
        print(
            f"{name:>18}: MAE 1/7/14 d  LifeTwin "
            + " / ".join(f"{row['lifetwin'][str(h)]:.3g}" for h in HORIZONS)
            + "  river "
            + " / ".join(f"{row['river'][str(h)]:.3g}" for h in HORIZONS)
            + "  seasonal naive "
            + " / ".join(f"{row['seasonal_naive'][str(h)]:.3g}" for h in HORIZONS)
            + "  naive "
            + " / ".join(f"{row['naive'][str(h)]:.3g}" for h in HORIZONS)
            + "  coverage "
            + " / ".join(f"{row['coverage_80'][str(h)]:.0%}" for h in HORIZONS)
        )
    summary["forecast_ms"] = round(forecast_s / forecasts * 1000, 4)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
