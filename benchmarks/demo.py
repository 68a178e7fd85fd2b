"""How long the demo person takes: `make run`'s first start waits for it.

    python benchmarks/demo.py [--days 28] [--sim-days 1] [--repeat 2]

1. The glucose simulator: one run of stock simglucose (adult#001, basal-bolus
   controller, random meals) against LifeTwin's faster run of the same patient, seed and
   start, per simulated day, and whether the outputs (CGM, blood glucose, meals,
   insulin) are identical bit for bit.
2. ``create_demo`` for ``--days`` days in this process, best of ``--repeat``, with the
   time of each of its parts (from its progress messages).
3. ``lifetwin demo`` end to end as a person runs it (a new process: imports, the store,
   the demo, the sign-in account), after ``lifetwin init``. Target: under 30 s.
Prints a summary and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from lifetwin.services.demo import create_demo
from lifetwin.services.glucose_sim import simulate
from lifetwin.services.home import init_home

START = datetime(2026, 1, 5)  # a Monday, naive local time as simglucose wants it


def stock_run(days: float, seed: int) -> dict[str, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from simglucose.actuator.pump import InsulinPump
        from simglucose.controller.basal_bolus_ctrller import BBController
        from simglucose.patient.t1dpatient import T1DPatient
        from simglucose.sensor.cgm import CGMSensor
        from simglucose.simulation.env import T1DSimEnv
        from simglucose.simulation.scenario_gen import RandomScenario
        from simglucose.simulation.sim_engine import SimObj

    env = T1DSimEnv(
        T1DPatient.withName("adult#001"),
        CGMSensor.withName("GuardianRT", seed=seed),
        InsulinPump.withName("Insulet"),
        RandomScenario(start_time=START, seed=seed),
    )
    run = SimObj(env, BBController(), timedelta(days=days), animate=False, path=None)
    run.simulate()
    frame = run.results()
    return {k: frame[k].to_numpy(dtype=np.float64) for k in ("CGM", "BG", "CHO", "insulin")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--sim-days", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results: dict[str, object] = {"days": args.days}

    simulate(0.05, START, args.seed)  # imports simglucose and scipy once
    began = time.perf_counter()
    fast = simulate(args.sim_days, START, args.seed)
    fast_s = time.perf_counter() - began
    began = time.perf_counter()
    stock = stock_run(args.sim_days, args.seed)
    stock_s = time.perf_counter() - began
    identical = all(
        np.array_equal(a, b, equal_nan=True)
        for a, b in (
            (fast.cgm_mg_dl, stock["CGM"]),
            (fast.blood_glucose_mg_dl, stock["BG"]),
        )
    ) and np.array_equal(np.nan_to_num(stock["CHO"]) * fast.sample_min, fast.carbs_g)
    results |= {
        "sim_day_s_fast": round(fast_s / args.sim_days, 3),
        "sim_day_s_stock": round(stock_s / args.sim_days, 3),
        "sim_speedup": round(stock_s / fast_s, 2),
        "sim_identical": bool(identical),
    }
    print(
        f"glucose simulator, per simulated day: {fast_s / args.sim_days:.2f} s "
        f"(stock simglucose {stock_s / args.sim_days:.2f} s, {stock_s / fast_s:.1f}x); "
        f"identical output: {identical}"
    )

    end = datetime(2026, 3, 10, 12, tzinfo=UTC)
    best = float("inf")
    parts: dict[str, float] = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            store = init_home(Path(tmp) / "home")
            marks: list[tuple[str, float]] = []

            def mark(message: str, marks: list[tuple[str, float]] = marks) -> None:
                marks.append((message, time.perf_counter()))

            began = time.perf_counter()
            summary = create_demo(store, days=args.days, seed=args.seed, end=end, progress=mark)
            took = time.perf_counter() - began
            store.close()
        if took < best:
            best = took
            stops = [t for _m, t in marks[1:]] + [began + took]
            parts = {
                m.split(" ", 1)[1]: round(t1 - t0, 3)
                for (m, t0), t1 in zip(marks, stops, strict=True)
            }
    results |= {
        "create_demo_s": round(best, 2),
        "parts_s": parts,
        "observations": summary.observations,
        "records": summary.events,
        "counts": summary.counts,
    }
    print(f"create_demo, {args.days} days: {best:.2f} s (best of {args.repeat})")
    for name, seconds in parts.items():
        print(f"  {seconds:6.2f} s  {name}")

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
        env["LIFETWIN_HOME"] = str(Path(tmp) / "home")
        command = [sys.executable, "-m", "lifetwin"]
        subprocess.run([*command, "init"], env=env, check=True, capture_output=True)
        began = time.perf_counter()
        subprocess.run(
            [*command, "demo", "--days", str(args.days)], env=env, check=True, capture_output=True
        )
        cli_s = time.perf_counter() - began
    results["cli_demo_s"] = round(cli_s, 2)
    print(f"`lifetwin demo --days {args.days}` end to end: {cli_s:.2f} s (target < 30 s)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
