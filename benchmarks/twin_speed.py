"""Twin-engine speed: online state updates, as-of reconstruction, one glucose forecast.

    python benchmarks/twin_speed.py [--points 525600]

1. Learns one year of minute heart rate into the twin state (robust baselines per hour
   of the week), reading it through the consent gate from an encrypted vault, and
   reports observations per second — this is also the as-of reconstruction of a
   year-long twin. Targets: at least 100,000 observations/s; reconstruction under 5 s.
2. Times one glucose forecast (features of the newest step and three horizons with
   intervals) from a trained forecaster. Target: under 5 ms.
Prints a summary and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from lifetwin.capabilities.glucose_forecast import GlucoseForecaster, feature_matrix, targets
from lifetwin.capabilities.twin_state import TwinState
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.glucose_sim import simulate
from lifetwin.services.home import init_home
from lifetwin.store.codec import Columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=525_600)
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = init_home(Path(tmp) / "home")
        vault = store.vault(store.add_person("Bench"))
        vault.grant(Scope.parse("all"), Purpose.TWIN_CORE)
        n = args.points
        rng = np.random.default_rng(1)
        z = np.zeros(n, dtype=np.int64)
        values = np.clip(65 + np.cumsum(rng.normal(0, 1, n)) % 40, 40, 190).round()
        vault.write_columns(
            "heart_rate",
            "watch",
            None,
            "bpm",
            Columns(
                1_704_067_200_000 + np.arange(n, dtype=np.int64) * 60_000,
                z,
                values,
                z + 60,
                z,
                z,
                z,
            ),
        )
        t0 = time.perf_counter()
        state = TwinState.build(vault)
        seconds = time.perf_counter() - t0
        assert state.overall["heart_rate"].n == n
        results["reconstruct_year_s"] = seconds
        results["online_obs_per_s"] = n / seconds
        store.close()
    run = simulate(3, datetime(2026, 1, 1), 1)
    minutes = (run.times - run.times[0]).astype("timedelta64[m]").astype(float)
    x = feature_matrix(run.cgm_mg_dl, run.insulin_u, run.carbs_g, minutes % 1440)
    model = GlucoseForecaster()
    model.learn_many(x, targets(run.cgm_mg_dl))
    last = x[-1]
    timings = []
    for _ in range(200):
        t0 = time.perf_counter()
        model.predict_one(last, float(run.cgm_mg_dl[-1]))
        timings.append(time.perf_counter() - t0)
    results["forecast_ms_median"] = float(np.median(timings) * 1000)
    print(
        f"twin state: {results['online_obs_per_s']:,.0f} observations/s; a year rebuilt in "
        f"{results['reconstruct_year_s']:.2f} s; one glucose forecast "
        f"{results['forecast_ms_median']:.3f} ms"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
