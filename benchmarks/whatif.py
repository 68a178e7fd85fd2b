"""What-if benchmark: the personal glucose twin against simglucose's truth, the optimizer's
plans applied in simglucose, speed, and the fitness–fatigue model out of sample.

Ground truth is simglucose (UVA/Padova 2008 model, 30 virtual patients) driven day by
day as a person would live (benchmarks/whatif_truth.py): random meals, boluses for the
*counted* carbohydrates (relative counting error SD 25 %, truncated at ±50 %), 10 % of
meals not logged, the GuardianRT CGM noise model, exact pump insulin records.

For each patient: fit the twin on the first ``--days`` days (posterior mode, then
emcee draws), then on the next day (which the twin never saw):

- held-out replay: the day open loop from its logged meals and insulin; RMSE against
  simglucose's glucose, personal twin vs the same model with population-median
  parameters, and a patient-level paired bootstrap CI of the ratio;
- counterfactuals: bolus ×0.7 and ×1.3, basal ×0.8 and ×1.2, a 15-minute pre-bolus, and
  dinner (with its bolus) two hours later, each run in simglucose from the same state;
  RMSE of the trace, error of time in range and of time below 70, and the coverage of
  the 90 % predictive band;
- optimizer: the suggestion from the person's last three usual days (limits: bolus
  ±20 %, basal ±10 %, pre-bolus ≤ 20 min), applied in simglucose on two new days against
  the usual basal-bolus therapy on the same days: time in range gain, time below 70
  change, and readings below 54 that the change caused (below 54 with the plan where the
  usual therapy was not).

Speed: one simulated day of a fitted twin (one parameter set; and 200 posterior draws)
against stock simglucose (its own SimObj with BBController) in the same run.

Fitness–fatigue: simulated athletes (lifetwin.packs.athletics.fitness_fatigue.
simulate_athletes) with rolling origins every week from week 12: fit on the days
before, predict the tests of the next week; MAE skill against population-prior
parameters and against persistence (the last test), with a bootstrap CI across people.

Tuning vs reporting: every choice (priors, segment length, error scale, optimizer
settings) was made on the tuning cohort (adult#001–003, adolescent#001–002,
child#001–002, seed 0; athletes of seed 100); reports use the other 23 patients
(``--patients`` takes a count or names) and seed 1 by default.

Usage: python benchmarks/whatif.py [--patients N|name,...] [--seed S] [--days D]
       [--tuning] [--athletes N] [--steps N]
The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import whatif_truth as wt
from lifetwin.packs.athletics import fitness_fatigue as ff
from lifetwin.packs.metabolic import glucose_twin as gt
from lifetwin.packs.whatif import optimize as opt

TUNING = (
    "adult#001",
    "adult#002",
    "adult#003",
    "adolescent#001",
    "adolescent#002",
    "child#001",
    "child#002",
)
ALL = tuple(f"{g}#{i:03d}" for g in ("adult", "adolescent", "child") for i in range(1, 11))
REPORTED = tuple(p for p in ALL if p not in TUNING)
WARMUP = 360
SCENARIOS = (
    "bolus x0.7",
    "bolus x1.3",
    "basal x0.8",
    "basal x1.2",
    "pre-bolus 15 min",
    "dinner +2 h",
)


def _logged_inputs(
    run: wt.TruthRun, meals: list[wt.Meal], minutes: int, bw: float
) -> gt.GlucoseInputs:
    inputs = gt.empty_inputs(0, minutes, bw)
    for m in meals:
        if m.counted is not None and 0 <= m.minute < minutes:
            inputs.carbs_g[1, m.minute] += m.counted
    inputs.basal_u[:] = run.basal_u[:minutes]
    inputs.bolus_u[:] = run.bolus_u[:minutes]
    return inputs


def _concat(a: gt.GlucoseInputs, b: gt.GlucoseInputs) -> gt.GlucoseInputs:
    return gt.GlucoseInputs(
        a.start_ms,
        np.concatenate([a.carbs_g, b.carbs_g], axis=1),
        np.r_[a.basal_u, b.basal_u],
        np.r_[a.bolus_u, b.bolus_u],
        np.r_[a.exercise, b.exercise],
        a.body_mass_kg,
    )


def _cgm_minutes(run: wt.TruthRun) -> np.ndarray:
    return np.interp(np.arange(len(run.bg)), np.arange(len(run.cgm)) * 5, run.cgm)


def _tir(g: np.ndarray) -> float:
    return float(np.mean((g >= 70) & (g <= 180)))


def _tbr(g: np.ndarray) -> float:
    return float(np.mean(g < 70))


def _counterfactual(
    name: str, day_meals: list[wt.Meal], run: wt.TruthRun
) -> tuple[dict, np.ndarray, list[wt.Meal]]:
    """simglucose arguments, the insulin array and the meals of one counterfactual day."""
    insulin = run.insulin_u.copy()
    basal = run.basal_u.copy()
    bolus = run.bolus_u.copy()
    meals = list(day_meals)
    if name.startswith("bolus"):
        factor = float(name.split("x")[1])
        insulin = basal + bolus * factor
    elif name.startswith("basal"):
        factor = float(name.split("x")[1])
        insulin = basal * factor + bolus
    elif name.startswith("pre-bolus"):
        moved = np.zeros_like(bolus)
        for i in np.flatnonzero(bolus).tolist():
            moved[max(i - 15, 0)] += bolus[i]
        insulin = basal + moved
    elif name.startswith("dinner"):
        dinners = [m for m in meals if m.minute % 1440 >= 16 * 60 and m.grams >= 30]
        if dinners:
            d = dinners[0]
            moved = bolus.copy()
            near = [i for i in np.flatnonzero(bolus).tolist() if abs(i - d.minute) <= 2]
            for i in near:
                moved[i] = 0.0
                if i + 120 < len(moved):
                    moved[i + 120] += bolus[i]
            insulin = basal + moved
            meals = [m for m in meals if m is not d]
            if d.minute + 120 < 1440:
                meals.append(wt.Meal(d.minute + 120, d.grams, d.counted))
    return {}, insulin, meals


def _twin_inputs_for(
    name: str,
    base: gt.GlucoseInputs,
    insulin_day: np.ndarray,
    meals: list[wt.Meal],
    run_basal: np.ndarray,
) -> gt.GlucoseInputs:
    """The twin's view of a counterfactual day: warm-up as logged, then the changed day
    with the person's *counted* carbohydrates."""
    day = gt.empty_inputs(0, 1440, base.body_mass_kg)
    for m in meals:
        if m.counted is not None and 0 <= m.minute < 1440:
            day.carbs_g[1, m.minute] += m.counted
    factor = float(name.split("x")[1]) if name.startswith("basal") else 1.0
    basal = run_basal * factor
    day.basal_u[:] = basal
    day.bolus_u[:] = np.clip(insulin_day - basal, 0.0, None)
    return _concat(base, day)


def glucose_patient(patient: str, seed: int, days: int, steps: int) -> dict:
    facts = wt.patient_facts(patient)
    bw = facts["body_mass_kg"]
    rng_seed = zlib.crc32(f"{patient}|{seed}".encode())
    meals = wt.random_meals(days + 3, seed=rng_seed)
    fit_min = days * 1440
    fit_meals = [m for m in meals if m.minute < fit_min]
    day_meals = [
        wt.Meal(m.minute - fit_min, m.grams, m.counted)
        for m in meals
        if fit_min <= m.minute < fit_min + 1440
    ]
    opt_meals = [
        wt.Meal(m.minute - fit_min - 1440, m.grams, m.counted)
        for m in meals
        if m.minute >= fit_min + 1440
    ]
    t0 = time.perf_counter()
    fit_run = wt.run(patient, fit_min, meals=fit_meals, noise_seed=rng_seed % 10_000)
    test_run = wt.run(
        patient,
        1440,
        meals=day_meals,
        init_state=fit_run.final_state,
        noise_seed=rng_seed % 10_000 + 1,
    )
    truth_s = time.perf_counter() - t0

    fit_inputs = _logged_inputs(fit_run, fit_meals, fit_min, bw)
    cgm_ts = np.arange(len(fit_run.cgm), dtype=np.int64) * 300_000
    data = gt.prepare(
        fit_inputs, cgm_ts, fit_run.cgm, warmup_min=WARMUP, basal_ref_u_min=facts["basal_u_min"]
    )
    t0, c0 = time.perf_counter(), time.process_time()
    twin = gt.fit_map(data, seed=seed)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    twin = gt.sample_posterior(twin, data, steps=steps, seed=seed)
    post_s, post_cpu = time.perf_counter() - t0, time.process_time() - c0
    pop = twin.model_copy(
        update={"params": {p: gt.PRIOR_MEDIAN[p] for p in gt.PARAMS}, "samples": []}
    )

    history = _cgm_minutes(fit_run)[fit_min - WARMUP : fit_min]
    warm = fit_inputs.window(fit_min - WARMUP, fit_min)
    # Held-out replay of the logged next day.
    logged_day = _logged_inputs(test_run, day_meals, 1440, bw)
    replay_inputs = _concat(warm, logged_day)
    rep = gt.replay(twin, replay_inputs, history, warmup_min=WARMUP)
    rep_pop = gt.replay(pop, replay_inputs, history, warmup_min=WARMUP)
    truth = test_run.bg[rep.minutes]
    out: dict = {
        "patient": patient,
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu,
        "posterior_s": post_s,
        "posterior_cpu_s": post_cpu,
        "truth_s": truth_s,
        "fit_rmse": twin.quality.rmse_mg_dl,
        "replay_rmse": float(np.sqrt(np.mean((rep.point - truth) ** 2))),
        "replay_rmse_pop": float(np.sqrt(np.mean((rep_pop.point - truth) ** 2))),
        "params": twin.params,
        "cf": [],
    }
    # Counterfactuals the twin never saw.
    for k, name in enumerate(SCENARIOS):
        _args, insulin_day, cf_meals = _counterfactual(name, day_meals, test_run)
        cf_run = wt.run(
            patient,
            1440,
            meals=cf_meals,
            insulin_override=insulin_day,
            init_state=fit_run.final_state,
            noise_seed=rng_seed % 10_000 + 2 + k,
        )
        inputs = _twin_inputs_for(name, warm, insulin_day, cf_meals, test_run.basal_u)
        sim = gt.replay(twin, inputs, history, warmup_min=WARMUP)
        sim_pop = gt.replay(pop, inputs, history, warmup_min=WARMUP)
        med, lo, hi = gt.predictive_band(twin, sim, seed=seed + k)
        truth = cf_run.bg[sim.minutes]
        tbr_draws = float(np.mean([_tbr(d) for d in sim.draws]))
        tir_draws = float(np.mean([_tir(d) for d in sim.draws]))
        out["cf"].append(
            {
                "scenario": name,
                "rmse": float(np.sqrt(np.mean((sim.point - truth) ** 2))),
                "rmse_pop": float(np.sqrt(np.mean((sim_pop.point - truth) ** 2))),
                "tir_err_pp": 100 * abs(tir_draws - _tir(truth)),
                "tbr_err_pp": 100 * abs(tbr_draws - _tbr(truth)),
                "tbr_err_pop_pp": 100 * abs(_tbr(sim_pop.point) - _tbr(truth)),
                "tbr_err_point_pp": 100 * abs(_tbr(sim.point) - _tbr(truth)),
                "tbr_err_median_pp": 100 * abs(_tbr(med) - _tbr(truth)),
                "tbr_truth_pp": 100 * _tbr(truth),
                "coverage": float(np.mean((truth >= lo) & (truth <= hi))),
                "band_width": float(np.mean(hi - lo)),
            }
        )
    # Optimizer: usual days = the last three fitted days, replayed from their warm-ups.
    cgm_min = _cgm_minutes(fit_run)
    usual_days = []
    for d in range(max(days - 3, 1), days):
        lo_m, hi_m = d * 1440 - WARMUP, (d + 1) * 1440
        usual_days.append(
            opt.UsualDay(fit_inputs.window(lo_m, hi_m), cgm_min[lo_m : lo_m + WARMUP], WARMUP)
        )
    t0 = time.perf_counter()
    suggestion = opt.suggest_glucose_plan(twin, usual_days, seed=seed)
    out["opt_s"] = time.perf_counter() - t0
    out["opt_status"] = suggestion.status
    out["opt_plan"] = suggestion.plan
    state = test_run.final_state
    base_run = wt.run(
        patient, 2 * 1440, meals=opt_meals, init_state=state, noise_seed=rng_seed % 10_000 + 20
    )
    if suggestion.status == "suggested":
        plan = opt.GlucosePlan.model_validate(suggestion.plan)
        plan_run = wt.run(
            patient,
            2 * 1440,
            meals=opt_meals,
            init_state=state,
            noise_seed=rng_seed % 10_000 + 20,
            basal_scale=plan.basal_percent / 100,
            bolus_shift_min=-plan.prebolus_min,
            slot_scale=tuple(plan.bolus_percent[s] / 100 for s in ("breakfast", "lunch", "dinner")),
        )
    else:
        plan_run = base_run
    out["tir_base"] = 100 * _tir(base_run.bg)
    out["tir_plan"] = 100 * _tir(plan_run.bg)
    out["tbr_base"] = 100 * _tbr(base_run.bg)
    out["tbr_plan"] = 100 * _tbr(plan_run.bg)
    out["below54_caused"] = int(np.sum((plan_run.bg < 54) & (base_run.bg >= 54)))
    out["twin_tir_gain"] = (
        (suggestion.evidence[0].suggested - suggestion.evidence[0].usual)
        if suggestion.evidence
        else 0.0
    )
    return out


def speed(twin_params: dict, patient: str = "adult#004") -> dict:
    """One simulated day: the twin (one draw, and 200 draws) vs stock simglucose."""
    twin = gt.GlucoseTwin(
        params=twin_params,
        basal_ref_u_min=0.02,
        body_mass_kg=80,
        quality=gt.FitQuality(
            rmse_mg_dl=0,
            mard_percent=0,
            population_rmse_mg_dl=0,
            residual_sd_mg_dl=10,
            residual_lag1=0.9,
            readings=0,
            days=0,
            segment_h=12,
            fit_seconds=0,
        ),
        trained_from_ms=0,
        trained_to_ms=0,
    )
    inputs = gt.empty_inputs(0, 1440, 80)
    inputs.basal_u[:] = 0.02
    for minute, grams in ((450, 50), (780, 70), (1170, 75)):
        inputs.carbs_g[1, minute] = grams
        inputs.bolus_u[minute] = grams / 10
    g_force = np.full(1440, np.nan)
    g_force[0] = 120.0
    obs = np.arange(0, 1440, 5, dtype=np.int64)
    theta = twin.theta()
    gt.simulate_cgm(theta, inputs, 0.02, g_force, obs)  # compile / load the cache
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        gt.simulate_cgm(theta, inputs, 0.02, g_force, obs)
        times.append(time.perf_counter() - t0)
    many = np.repeat(theta, 200, axis=0)
    t0 = time.perf_counter()
    gt.simulate_cgm(many, inputs, 0.02, g_force, obs)
    draws_ms = (time.perf_counter() - t0) * 1000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import logging
        from datetime import datetime, timedelta

        from simglucose.actuator.pump import InsulinPump
        from simglucose.controller.basal_bolus_ctrller import BBController
        from simglucose.patient.t1dpatient import T1DPatient
        from simglucose.sensor.cgm import CGMSensor
        from simglucose.simulation.env import T1DSimEnv
        from simglucose.simulation.scenario_gen import RandomScenario
        from simglucose.simulation.sim_engine import SimObj

        logging.getLogger("simglucose").setLevel(logging.WARNING)
        env = T1DSimEnv(
            T1DPatient.withName(patient),
            CGMSensor.withName("GuardianRT", seed=1),
            InsulinPump.withName("Insulet"),
            RandomScenario(start_time=datetime(2026, 1, 1), seed=1),
        )
        t0 = time.perf_counter()
        SimObj(env, BBController(), timedelta(days=1), animate=False, path=None).simulate()
        stock_ms = (time.perf_counter() - t0) * 1000
        from lifetwin.services.glucose_sim import simulate

        t0 = time.perf_counter()
        simulate(1, datetime(2026, 1, 1), 1, patient)
        wrapper_ms = (time.perf_counter() - t0) * 1000
    return {
        "sim_day_ms": float(np.median(times) * 1000),
        "sim_day_200_draws_ms": draws_ms,
        "stock_sim_day_ms": stock_ms,
        "project_wrapper_sim_day_ms": wrapper_ms,
    }


def fitness(n: int, seed: int) -> dict:
    athletes = ff.simulate_athletes(n, days=182, seed=seed)
    rows = []
    for a in athletes:
        err_p, err_pop, err_pers = [], [], []
        for origin in range(84, 182 - 6, 7):
            past_perf = a.performance[:origin]
            fit = ff.fit_fitness_fatigue(a.daily_load[:origin], past_perf, draws=200, seed=seed)
            loads = a.daily_load[: origin + 7]
            pred = ff.predict_mean(fit, loads)
            pop = ff.population_prediction(loads, np.r_[past_perf, np.full(7, np.nan)])
            last = past_perf[np.isfinite(past_perf)][-1]
            for d in range(origin, origin + 7):
                if np.isfinite(a.performance[d]):
                    err_p.append(abs(pred[d] - a.performance[d]))
                    err_pop.append(abs(pop[d] - a.performance[d]))
                    err_pers.append(abs(last - a.performance[d]))
        rows.append((np.mean(err_p), np.mean(err_pop), np.mean(err_pers)))
    r = np.array(rows)
    rng = np.random.default_rng(seed)
    boots_pop, boots_pers = [], []
    for _ in range(2000):
        pick = rng.integers(0, len(r), len(r))
        boots_pop.append(1 - r[pick, 0].mean() / r[pick, 1].mean())
        boots_pers.append(1 - r[pick, 0].mean() / r[pick, 2].mean())
    return {
        "athletes": n,
        "ff_mae": float(r[:, 0].mean()),
        "ff_mae_population": float(r[:, 1].mean()),
        "ff_mae_persistence": float(r[:, 2].mean()),
        "ff_skill_vs_population": float(1 - r[:, 0].mean() / r[:, 1].mean()),
        "ff_skill_vs_population_ci": [
            float(np.percentile(boots_pop, 2.5)),
            float(np.percentile(boots_pop, 97.5)),
        ],
        "ff_skill_vs_persistence": float(1 - r[:, 0].mean() / r[:, 2].mean()),
        "ff_skill_vs_persistence_ci": [
            float(np.percentile(boots_pers, 2.5)),
            float(np.percentile(boots_pers, 97.5)),
        ],
    }


def _run_patient(item: tuple[str, int, int, int]) -> dict:
    t0 = time.perf_counter()
    row = glucose_patient(*item)
    row["wall_s"] = time.perf_counter() - t0
    return row


def _say(row: dict) -> None:
    cf = {k: np.mean([c[k] for c in row["cf"]]) for k in ("rmse", "rmse_pop", "tbr_err_pp")}
    cov = np.mean([c["coverage"] for c in row["cf"]])
    print(
        f"{row['patient']}: fit {row['fit_s']:.1f}s post {row['posterior_s']:.1f}s | replay rmse "
        f"{row['replay_rmse']:.1f} vs pop {row['replay_rmse_pop']:.1f} | cf rmse "
        f"{cf['rmse']:.1f} vs pop {cf['rmse_pop']:.1f} "
        f"tbr err {cf['tbr_err_pp']:.2f}pp cov {cov:.2f} | "
        f"opt {row['opt_status']} TIR {row['tir_base']:.1f}->{row['tir_plan']:.1f} "
        f"TBR {row['tbr_base']:.2f}->{row['tbr_plan']:.2f} <54 caused {row['below54_caused']} "
        f"({row['wall_s']:.0f}s)",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--patients",
        default=None,
        help="a count of reported patients, or names separated by commas",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=4, help="days the twin is fitted on")
    ap.add_argument("--tuning", action="store_true", help="run on the tuning cohort instead")
    ap.add_argument("--athletes", type=int, default=30)
    ap.add_argument("--steps", type=int, default=1500, help="MCMC steps per walker")
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="patients run in parallel processes (times are per process)",
    )
    ap.add_argument(
        "--rows", default=None, help="also write the per-patient rows to this JSON file"
    )
    args = ap.parse_args()
    cohort = TUNING if args.tuning else REPORTED
    if args.patients:
        cohort = (
            cohort[: int(args.patients)]
            if args.patients.isdigit()
            else tuple(args.patients.split(","))
        )
    per = []
    work = [(patient, args.seed, args.days, args.steps) for patient in cohort]
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs) as pool:
            rows = pool.map(_run_patient, work)
            for row in rows:
                per.append(row)
                _say(row)
    else:
        for item in work:
            row = _run_patient(item)
            per.append(row)
            _say(row)
    if args.rows:
        Path(args.rows).write_text(json.dumps(per, default=str))
    cfs = [c for row in per for c in row["cf"]]
    rmse = np.array([c["rmse"] for c in cfs])
    rmse_pop = np.array([c["rmse_pop"] for c in cfs])
    rep = np.array([row["replay_rmse"] for row in per])
    rep_pop = np.array([row["replay_rmse_pop"] for row in per])
    rng = np.random.default_rng(args.seed)
    boots = []
    for _ in range(4000):
        pick = rng.integers(0, len(per), len(per))
        boots.append(rep[pick].mean() / rep_pop[pick].mean())
    per_scenario = {
        name: {
            "rmse": float(np.mean([c["rmse"] for c in cfs if c["scenario"] == name])),
            "rmse_pop": float(np.mean([c["rmse_pop"] for c in cfs if c["scenario"] == name])),
            "tbr_err_pp": float(np.mean([c["tbr_err_pp"] for c in cfs if c["scenario"] == name])),
            "coverage": float(np.mean([c["coverage"] for c in cfs if c["scenario"] == name])),
        }
        for name in SCENARIOS
    }
    for name, v in per_scenario.items():
        print(
            f"  {name}: rmse {v['rmse']:.1f} vs pop {v['rmse_pop']:.1f}, "
            f"tbr err {v['tbr_err_pp']:.2f} pp, coverage {v['coverage']:.2f}"
        )
    tir_gain = np.array([row["tir_plan"] - row["tir_base"] for row in per])
    tbr_change = np.array([row["tbr_plan"] - row["tbr_base"] for row in per])
    sp = speed(per[0]["params"]) if per else {}
    ffr = fitness(args.athletes, args.seed + (100 if args.tuning else 0))
    result = {
        "benchmark": "whatif",
        "cohort": "tuning" if args.tuning else "reported",
        "patients": len(per),
        "seed": args.seed,
        "days": args.days,
        "counterfactual_rmse": float(rmse.mean()),
        "counterfactual_rmse_pop": float(rmse_pop.mean()),
        "counterfactual_rmse_ratio": float(rmse.mean() / rmse_pop.mean()),
        "tbr_error_pp": float(np.mean([c["tbr_err_pp"] for c in cfs])),
        "tbr_error_pp_median": float(np.median([c["tbr_err_pp"] for c in cfs])),
        "tbr_error_pop_pp": float(np.mean([c["tbr_err_pop_pp"] for c in cfs])),
        "tbr_error_point_pp": float(np.mean([c["tbr_err_point_pp"] for c in cfs])),
        "tbr_error_median_pp": float(np.mean([c["tbr_err_median_pp"] for c in cfs])),
        "tir_error_pp": float(np.mean([c["tir_err_pp"] for c in cfs])),
        "coverage_90": float(np.mean([c["coverage"] for c in cfs])),
        "band_width_mg_dl": float(np.mean([c["band_width"] for c in cfs])),
        "replay_rmse": float(rep.mean()),
        "replay_rmse_pop": float(rep_pop.mean()),
        "replay_rmse_ratio": float(rep.mean() / rep_pop.mean()),
        "replay_rmse_ratio_ci95": [
            float(np.percentile(boots, 2.5)),
            float(np.percentile(boots, 97.5)),
        ],
        "tir_gain_pp": float(tir_gain.mean()),
        "tir_gain_pp_median": float(np.median(tir_gain)),
        "tbr_change_pp": float(tbr_change.mean()),
        "below54_caused": int(sum(row["below54_caused"] for row in per)),
        "suggested": int(sum(row["opt_status"] == "suggested" for row in per)),
        "fit_s": float(np.median([row["fit_s"] for row in per])),
        "fit_s_max": float(np.max([row["fit_s"] for row in per])),
        "fit_cpu_s": float(np.median([row["fit_cpu_s"] for row in per])),
        "fit_cpu_s_max": float(np.max([row["fit_cpu_s"] for row in per])),
        "posterior_s": float(np.median([row["posterior_s"] for row in per])),
        "posterior_cpu_s": float(np.median([row["posterior_cpu_s"] for row in per])),
        "posterior_cpu_s_max": float(np.max([row["posterior_cpu_s"] for row in per])),
        "posterior_s_max": float(np.max([row["posterior_s"] for row in per])),
        "optimizer_s": float(np.median([row["opt_s"] for row in per])),
        **sp,
        "speedup_vs_stock": sp["stock_sim_day_ms"] / sp["sim_day_ms"] if sp else None,
        **ffr,
        "per_scenario": per_scenario,
        "median_params": {
            p: float(np.median([row["params"][p] for row in per])) for p in gt.PARAMS
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
