"""Glucose forecasts on UVA/Padova virtual patients: LifeTwin against persistence and AR2.

    python benchmarks/glucose_forecast.py [--patients adult#001,...] [--days 6] [--seed 1]
        [--test-days 2] [--oracle]

Each virtual patient (simglucose; random meals, CGM sensor noise, the basal-bolus
controller, 5-minute CGM) is simulated for ``--days`` days. The forecaster is trained on
all but the last ``--test-days`` days and scored on those only (never on data it trained
on); it is not updated during scoring. Reported per horizon (30, 60, 120 min): RMSE and
MAE for each model, Clarke error grid A and A+B shares, the effective delay (the shift of
the truth that best matches the forecast), and the hypoglycaemia alert (<70 mg/dL):
sensitivity (hypo onsets with an alert in the hour before), precision (alert episodes
followed by an onset within an hour), median lead time and false alerts per day.
``--oracle`` adds the alerts of a forecaster that knows everything but the future sensor
noise (see ``oracle_scores``), to show how much of the alert's error is the sensor's. The
summary is printed as one JSON line, last.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from typing import Any

import numpy as np

from lifetwin.capabilities.glucose_forecast import (
    HORIZONS_MIN,
    GlucoseForecaster,
    ar2_forecast,
    feature_matrix,
    targets,
)
from lifetwin.services.glucose_sim import SENSOR, simulate

DEFAULT_PATIENTS = (
    "adult#001,adult#002,adult#003,adult#004,adolescent#001,adolescent#002,"
    "adolescent#003,child#001,child#002,child#003"
)
HYPO = 70.0


def clarke_zone(ref: float, pred: float) -> str:
    if (ref <= 70 and pred <= 70) or 0.8 * ref <= pred <= 1.2 * ref:
        return "A"
    if (ref >= 180 and pred <= 70) or (ref <= 70 and pred >= 180):
        return "E"
    if (70 <= ref <= 290 and pred >= ref + 110) or (130 <= ref <= 180 and pred <= 1.4 * ref - 182):
        return "C"
    if (
        (ref >= 240 and 70 <= pred <= 180)
        or (ref <= 175 / 3 and 70 <= pred <= 180)
        or (175 / 3 <= ref <= 70 and pred >= 1.2 * ref)
    ):
        return "D"
    return "B"


def episodes(mask: np.ndarray, gap: int = 6) -> list[int]:
    """Start indices of runs of True, merging runs closer than ``gap`` steps."""
    starts, last = [], -(10**9)
    for i in np.flatnonzero(mask).tolist():
        if i - last > gap:
            starts.append(i)
        last = i
    return starts


def hypo_scores(cgm: np.ndarray, alert_mask: np.ndarray, split: int) -> dict[str, Any]:
    """Onsets caught (an alert in the hour before), alerts followed by an onset, lead times."""
    alert_mask = alert_mask & (cgm >= HYPO)
    alert_mask[:split] = False
    hypo_mask = cgm < HYPO
    hypo_mask[:split] = False
    onsets = episodes(hypo_mask)
    alerts = episodes(alert_mask)
    caught, leads = 0, []
    for onset in onsets:
        window_start = max(split, onset - 12)
        before = np.flatnonzero(alert_mask[window_start:onset])
        if len(before):
            caught += 1
            leads.append(5 * (onset - (window_start + int(before[0]))))
    true_alerts = sum(1 for a in alerts if any(0 < o - a <= 12 for o in onsets))
    return {
        "onsets": len(onsets),
        "caught": caught,
        "alerts": len(alerts),
        "true_alerts": true_alerts,
        "leads_min": leads,
    }


def oracle_scores(run: Any, split: int, seed: int) -> dict[str, Any]:
    """The hypo alert of a forecaster that knows the future exactly except the sensor noise.

    simglucose's CGM is the subcutaneous glucose plus a noise sequence drawn from the
    sensor's seed, so the benchmark can take the noise out: the oracle knows the future
    subcutaneous glucose and predicts the noise from its last four values (least squares
    on the training days). Its alerts are scored like LifeTwin's, for every threshold
    from 60 to 90 mg/dL on its lowest forecast within 15, 30 or 60 minutes. Context for
    how much of the alert's error is the sensor's, not a model anyone could run, and not
    a strict ceiling either (its noise forecast is linear, its alert one threshold).
    The run must use the default sensor of ``simulate``.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from simglucose.sensor.cgm import CGMSensor
    cgm = run.cgm_mg_dl
    n = len(cgm)
    source = CGMSensor.withName(SENSOR, seed=seed)._noise_generator
    noise = np.array([next(source) for _ in range(n)])
    physiology = cgm - noise
    lags = np.column_stack([np.ones(n)] + [np.roll(noise, lag) for lag in range(4)])
    forecasts = {}
    for minutes in range(5, 65, 5):
        steps = minutes // 5
        rows = np.arange(4, split - steps)
        weights = np.linalg.lstsq(lags[rows], noise[rows + steps], rcond=None)[0]
        forecast = np.full(n, np.inf)
        forecast[:-steps] = physiology[steps:] + (lags @ weights)[:-steps]
        forecasts[minutes] = forecast
    out = {}
    for within in (15, 30, 60):
        lowest = np.min([f for m, f in forecasts.items() if m <= within], axis=0)
        for threshold in range(60, 92, 2):
            out[f"{within}/{threshold}"] = hypo_scores(cgm, lowest < threshold, split)
    return out


def run_patient(
    name: str, days: int, seed: int, test_days: int = 2, oracle: bool = False
) -> dict[str, Any]:
    run = simulate(days, datetime(2026, 1, 1), seed, patient=name)
    cgm = run.cgm_mg_dl
    minutes = (run.times - run.times[0]).astype("timedelta64[m]").astype(float) + 0.0
    x = feature_matrix(cgm, run.insulin_u, run.carbs_g, minutes % 1440)
    y = targets(cgm)
    split = len(cgm) - test_days * 288
    model = GlucoseForecaster()
    model.learn_many(x[:split], {h: v[:split] for h, v in y.items()})
    out: dict[str, Any] = {"patient": name, "train_steps": split, "test_steps": len(cgm) - split}
    test = np.arange(max(split, 2), len(cgm))
    predictions: dict[int, np.ndarray] = {}
    for horizon in HORIZONS_MIN:
        steps = horizon // 5
        idx = test[test + steps < len(cgm)]
        truth = cgm[idx + steps]
        ours = model.predict_many(x[idx], cgm[idx], horizon)
        ar2 = np.array([ar2_forecast(cgm[i - 1 : i + 1], horizon) for i in idx])
        persist = cgm[idx]
        predictions[horizon] = np.full(len(cgm), np.nan)
        predictions[horizon][idx] = ours
        row: dict[str, Any] = {}
        for label, pred in (("lifetwin", ours), ("ar2", ar2), ("persistence", persist)):
            err = pred - truth
            row[label] = {
                "rmse": float(np.sqrt(np.mean(err**2))),
                "mae": float(np.mean(np.abs(err))),
            }
        zones = [clarke_zone(r, p) for r, p in zip(truth, ours, strict=True)]
        row["clarke_a"] = zones.count("A") / len(zones)
        row["clarke_ab"] = (zones.count("A") + zones.count("B")) / len(zones)
        best = min(
            range(steps + 1),
            key=lambda lag: (
                float(
                    np.mean(
                        (ours[: len(ours) - lag] - cgm[idx[: len(idx) - lag] + steps - lag]) ** 2
                    )
                )
                if lag < len(ours)
                else float("inf")
            ),
        )
        row["effective_delay_min"] = 5 * best
        out[str(horizon)] = row
    # Hypoglycaemia alerts from the 30- and 60-minute forecasts.
    alert_mask = np.zeros(len(cgm), dtype=bool)
    for horizon in (30, 60):
        alert_mask |= np.nan_to_num(predictions[horizon], nan=1e9) < HYPO
    out["hypo"] = hypo_scores(cgm, alert_mask, split)
    if oracle:
        out["oracle"] = oracle_scores(run, split, seed)
    return out


def pooled(scores: list[dict[str, Any]], test_days: int) -> dict[str, Any]:
    """Hypo alert figures over all patients."""
    onsets = sum(h["onsets"] for h in scores)
    alerts = sum(h["alerts"] for h in scores)
    true_alerts = sum(h["true_alerts"] for h in scores)
    leads = [lead for h in scores for lead in h["leads_min"]]
    return {
        "onsets": onsets,
        "alerts": alerts,
        "sensitivity": round(sum(h["caught"] for h in scores) / onsets, 3) if onsets else None,
        "precision": round(true_alerts / alerts, 3) if alerts else None,
        "median_lead_min": float(np.median(leads)) if leads else None,
        "false_alerts_per_day": round((alerts - true_alerts) / test_days, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", default=DEFAULT_PATIENTS)
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--test-days", type=int, default=2, help="the last days of each patient, scored"
    )
    parser.add_argument(
        "--oracle", action="store_true", help="also score a forecaster that knows the future"
    )
    args = parser.parse_args()
    if not 1 <= args.test_days < args.days:
        parser.error("--test-days must be at least 1 and leave at least one day to train on")
    t0 = time.perf_counter()
    per_patient = [
        run_patient(p, args.days, args.seed + i, args.test_days, args.oracle)
        for i, p in enumerate(args.patients.split(","))
    ]
    summary: dict[str, Any] = {
        "patients": len(per_patient),
        "days": args.days,
        "test_days": args.test_days,
        "seed": args.seed,
    }
    for horizon in map(str, HORIZONS_MIN):
        rows = [p[horizon] for p in per_patient]
        summary[horizon] = {
            label: {
                "rmse": round(float(np.mean([r[label]["rmse"] for r in rows])), 2),
                "mae": round(float(np.mean([r[label]["mae"] for r in rows])), 2),
            }
            for label in ("lifetwin", "ar2", "persistence")
        }
        summary[horizon]["rmse_ratio_to_ar2"] = round(
            summary[horizon]["lifetwin"]["rmse"] / summary[horizon]["ar2"]["rmse"], 3
        )
        summary[horizon]["clarke_a"] = round(float(np.mean([r["clarke_a"] for r in rows])), 3)
        summary[horizon]["clarke_ab"] = round(float(np.mean([r["clarke_ab"] for r in rows])), 3)
        summary[horizon]["effective_delay_min"] = float(
            np.median([r["effective_delay_min"] for r in rows])
        )
    test_days = len(per_patient) * args.test_days
    summary["hypo"] = pooled([p["hypo"] for p in per_patient], test_days)
    if args.oracle:
        rules = {
            rule: pooled([p["oracle"][rule] for p in per_patient], test_days)
            for rule in per_patient[0]["oracle"]
        }
        sensitive = [(r, s) for r, s in rules.items() if (s["sensitivity"] or 0) >= 0.85]
        precise = [(r, s) for r, s in rules.items() if (s["precision"] or 0) >= 0.8]
        summary["oracle"] = {
            "best_precision_at_sensitivity_0.85": max(
                sensitive, key=lambda rs: rs[1]["precision"] or 0, default=None
            ),
            "best_sensitivity_at_precision_0.8": max(
                precise, key=lambda rs: rs[1]["sensitivity"] or 0, default=None
            ),
        }
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    for horizon in map(str, HORIZONS_MIN):
        s = summary[horizon]
        print(
            f"{horizon:>3} min: RMSE LifeTwin {s['lifetwin']['rmse']:6.2f}  AR2 "
            f"{s['ar2']['rmse']:6.2f}  persistence {s['persistence']['rmse']:6.2f}  "
            f"(ratio to AR2 {s['rmse_ratio_to_ar2']}); Clarke A {s['clarke_a']:.1%}, A+B "
            f"{s['clarke_ab']:.1%}; delay {s['effective_delay_min']:g} min"
        )
    print(f"hypo alerts: {summary['hypo']}")
    if args.oracle:
        print(f"oracle (within minutes/threshold mg/dL): {summary['oracle']}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
