"""Population research at scale: federated training, DP statistics, synthetic cohorts,
encrypted scoring and Ray scale-out, on generated twins in real stores.

    python benchmarks/population.py --twins 1000 --seed 11

- FL: ``--twins`` twins (one SuperNode each) on Flower's simulation engine with SecAgg+
  and client-side clipping DP (final ε ≤ 3 at δ 1e-5); AUC on the last week of every
  consenting twin (held out from training), against logistic regression trained on the
  pooled first weeks (the benchmark alone pools data).
- DP stats: ``--stats-twins`` twins (10,000 by default, generated the light way:
  the same generator, persons' values without stores) for the DP mean of resting HR at
  ε = 1; budget refusals checked exactly on the FL store.
- Synthetic cohort at ε = 1 from half of the stats twins, membership inference against
  the other half; SDMetrics quality (in .venv-flower).
- HE: encrypted logit error and latency; Ray: one population step over the FL store's
  vaults with 1 and 2 workers.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from lifetwin.population.budget import load_budget, set_budget_limit
from lifetwin.population.cohort import make_cohort, simulate_days
from lifetwin.population.dpstats import dp_mean, population_statistic
from lifetwin.population.fairness import FairnessGate, audit_classifier, audit_errors
from lifetwin.population.features import read_daily, sleep_examples
from lifetwin.population.federated import FederatedConfig
from lifetwin.population.he_scoring import PersonKeys, score_encrypted
from lifetwin.population.model import predict_proba, roc_auc, train_central
from lifetwin.population.runtime import simulate_federated
from lifetwin.population.scaleout import daily_means_step, run_population_step, shutdown_ray
from lifetwin.population.synth import (
    age_band,
    distance_to_closest_record,
    membership_auc,
    quality_report,
    synthesize_rows,
)
from lifetwin.privacy.consent import Purpose
from lifetwin.services.home import open_home

TEST_DAYS = 7
DAYS = 42


def pooled_examples(home: Path, study: str, cutoff: datetime) -> tuple[np.ndarray, ...]:
    """Benchmark only: every consenting twin's examples; training sees the days before
    ``cutoff`` (as the federated run does), the test is the last week after it."""
    store = open_home(home)
    xs, ys, xt, yt, groups, sleep_true, sleep_pred = [], [], [], [], [], [], []
    for person in store.persons():
        vault = store.vault(person, actor="benchmark")
        x, y = sleep_examples(read_daily(vault, study, until=cutoff))
        table = read_daily(vault, study)
        x_all, y_all = sleep_examples(table)
        if not len(y):
            continue
        xs.append(x)
        ys.append(y)
        xt.append(x_all[-TEST_DAYS:])
        yt.append(y_all[-TEST_DAYS:])
        assert table.age is not None
        groups += [(str(table.sex), age_band(table.age))] * TEST_DAYS
        # a personal model: tonight's sleep forecast is the person's last-7-nights mean
        sleep = table.values["sleep_duration"]
        for d in range(len(sleep) - TEST_DAYS, len(sleep)):
            sleep_true.append(sleep[d])
            sleep_pred.append(np.nanmean(sleep[d - 7 : d]))
    store.close()
    return (
        np.vstack(xs),
        np.concatenate(ys),
        np.vstack(xt),
        np.concatenate(yt),
        groups,
        np.array(sleep_true),
        np.array(sleep_pred),
    )


def light_rows(n: int, seed: int) -> list[list[object]]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        age = int(rng.integers(20, 81))
        sex = "female" if rng.random() < 0.5 else "male"
        d = simulate_days(rng, age, sex, 35)
        rows.append(
            [sex, age_band(age), str(int(rng.integers(1, 10)))]
            + [float(d[k].mean()) for k in ("resting_heart_rate", "hrv_rmssd", "steps")]
            + [float(d["sleep_duration"].mean())]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--twins", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stats-twins", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="keep the store here")
    args = parser.parse_args()
    out: dict[str, object] = {"twins": args.twins, "seed": args.seed}
    tmp = Path(tempfile.mkdtemp(prefix="lifetwin-bench-pop-"))
    home = args.keep or tmp / "home"
    try:
        t = time.perf_counter()
        if not (home / "config.json").exists():
            make_cohort(home, args.twins, seed=args.seed, days=DAYS)
        study = "study-sleep-2026"
        # make_cohort's days end on 2026-06-30; the last week is the test
        start = datetime(2026, 6, 30, tzinfo=UTC) - timedelta(days=DAYS - 1)
        cutoff = start + timedelta(days=DAYS - TEST_DAYS)
        out["build_s"] = round(time.perf_counter() - t, 1)
        print(f"cohort of {args.twins} built in {out['build_s']} s", file=sys.stderr)

        # -- federated (the vault side trains on all but the last week: see features) --
        x_train, y_train, x_test, y_test, groups, sleep_true, sleep_pred = pooled_examples(
            home, study, cutoff
        )
        central = train_central(x_train, y_train)
        out["central_auc"] = round(roc_auc(y_test, predict_proba(central, x_test)), 4)
        config = FederatedConfig(
            study=study,
            rounds=args.rounds,
            target_epsilon=3.0,
            delta=1e-5,
            min_train_nodes=args.twins,
            local_epochs=20,
            learning_rate=0.5,
            clipping_norm=2.0,
            until=cutoff,
        )
        t = time.perf_counter()
        report = simulate_federated(home, config, args.twins, workers=args.workers)
        weights = np.array(report.weights)
        out |= {
            "fl_auc": round(roc_auc(y_test, predict_proba(weights, x_test)), 4),
            "epsilon": round(report.epsilon, 3),
            "epsilon_per_round": [round(r.epsilon, 3) for r in report.per_round],
            "delta": report.delta,
            "noise_multiplier": report.noise_multiplier,
            "rounds": report.rounds,
            "rounds_aggregated": report.rounds_aggregated,
            "fl_seconds": round(time.perf_counter() - t, 1),
            "fl_round_seconds": [round(r.seconds, 1) for r in report.per_round],
            "fl_bytes_per_client_round": report.bytes_per_client_per_round,
            "secure_aggregation": report.secure_aggregation,
            "num_shares": report.num_shares,
        }
        print(f"FL {out['fl_auc']} vs central {out['central_auc']}", file=sys.stderr)

        # -- fairness: the federated model, and a personal model's error --
        attributes = {"sex": [g[0] for g in groups], "age_band": [g[1] for g in groups]}
        audit = FairnessGate().check(
            audit_classifier("fl-sleep", y_test, predict_proba(weights, x_test), attributes)
        )
        auc = audit.metric("auc")
        out |= {
            "fl_fair_passed": audit.passed,
            "fl_fair_auc_difference": round(auc.difference, 4),
            "fl_fair_auc_ratio": round(auc.ratio, 4),
            "fl_fair_groups": len(audit.groups),
            "fl_fair_reasons": audit.reasons,
        }
        personal = FairnessGate(max_difference={"mae": 15.0}, min_ratio={}).check(
            audit_errors("sleep-baseline", sleep_true, sleep_pred, attributes)
        )
        mae = personal.metric("mae")
        out |= {
            "personal_mae_min": round(mae.overall, 1),
            "personal_mae_difference_min": round(mae.difference, 1),
            "personal_mae_ratio": round(mae.ratio, 3),
            "personal_fair_passed": personal.passed,
        }

        # -- DP statistics: exact refusals on the store, accuracy on 10,000 twins --
        store = open_home(home)
        consenting = [
            p for p in store.persons() if store.vault(p).visible_streams(Purpose.RESEARCH, study)
        ]
        low = consenting[:25]
        for person in low:
            budget = load_budget(store.vault(person))
            set_budget_limit(store.vault(person), budget.epsilon_spent + 0.5)
        release = population_statistic(
            store, study, "resting_heart_rate", "mean", 1.0, bounds=(30.0, 120.0)
        )
        out["budget_refusals"] = release.refused_budget
        out["budget_refusals_expected"] = len(low)
        out["budget_refusals_exact"] = release.refused_budget == len(low)
        store.close()
        rng = np.random.default_rng(args.seed + 1)
        stats_rows = light_rows(args.stats_twins, args.seed + 2)
        rhr = np.array([r[3] for r in stats_rows], dtype=float)
        errors = []
        for _ in range(20):
            mean, _n = dp_mean(rhr, 30.0, 120.0, 1.0)
            errors.append(abs(mean - rhr.mean()) / rhr.mean())
        del rng
        out["dp_mean_rel_error"] = float(np.median(errors))
        out["dp_mean_rel_error_max_of_20"] = float(np.max(errors))

        # -- synthetic cohort at ε = 1: half the stats twins in, half held out --
        half = len(stats_rows) // 2
        members, holdout = stats_rows[:half], stats_rows[half:]
        t = time.perf_counter()
        synth = synthesize_rows(members, epsilon=1.0, delta=1e-6, seed=args.seed)
        out["synth_seconds"] = round(time.perf_counter() - t, 1)
        quality = quality_report(members, synth.rows)
        out["synth_quality"] = round(quality["overall"], 4)
        out["synth_shapes"] = round(quality["column_shapes"], 4)
        out["synth_pair_trends"] = round(quality["column_pair_trends"], 4)
        out["synth_epsilon"], out["synth_delta"] = synth.epsilon, synth.delta
        out["mia_auc"] = round(membership_auc(members[:2000], holdout[:2000], synth.rows), 4)
        out |= {
            f"synth_{k}": round(v, 4)
            for k, v in distance_to_closest_record(members[:2000], synth.rows[:2000]).items()
        }
        small = synthesize_rows(members[:900], epsilon=1.0, delta=1e-6, seed=args.seed)
        out["synth_quality_900"] = round(quality_report(members[:900], small.rows)["overall"], 4)

        # -- encrypted scoring --
        keys = PersonKeys()
        public = keys.public_context()
        errs, times = [], []
        for row in x_test[:20]:
            cipher = keys.encrypt(row)
            t = time.perf_counter()
            blob = score_encrypted(public, cipher, weights[:-1], float(weights[-1]))
            times.append((time.perf_counter() - t) * 1000)
            errs.append(abs(keys.logit(blob) - float(row @ weights[:-1] + weights[-1])))
        out |= {
            "he_logit_error": float(max(errs)),
            "he_ms": round(float(np.median(times)), 1),
            "he_public_context_mib": round(len(public) / 2**20, 2),
            "he_ciphertext_kib": round(len(cipher) / 1024, 1),
            "he_logit_kib": round(len(blob) / 1024, 1),
        }

        # -- Ray: one population step over every vault, 1 and 2 workers --
        for workers in (1, 2):
            _res, run = run_population_step(home, study, daily_means_step, workers=workers)
            out[f"ray_{workers}w_s"] = round(run.seconds, 2)
            shutdown_ray()
        _res, run = run_population_step(home, study, daily_means_step)
        out["in_process_s"] = round(run.seconds, 2)
        out["ray_speedup_2w"] = round(float(out["ray_1w_s"]) / float(out["ray_2w_s"]), 2)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
