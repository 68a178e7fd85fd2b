"""Ground truth for benchmarks/whatif.py: simglucose's UVA/Padova patients under a
person's realistic day, every run cached on disk.

A day is a list of meals (minute, true grams, counted grams or None when the meal is
not logged) and a basal rate. The person boluses at each meal for the grams they
counted (their carbohydrate ratio, plus a correction above 150 mg/dl from the CGM at
that moment, as simglucose's basal-bolus controller does); unlogged meals get the
bolus too, but no carbohydrate record. Open-loop replays take a fixed insulin array
instead. The CGM is simglucose's GuardianRT noise model, one value every 5 minutes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
CACHE = Path(os.environ.get("LIFETWIN_WHATIF_CACHE", "/work/cache/whatif")) / "truth"
VERSION = "3"
TARGET = 140.0


@dataclass(frozen=True)
class Meal:
    minute: int  # since the start of the run
    grams: float  # eaten
    counted: float | None  # the person's count; None: not logged


@dataclass
class TruthRun:
    bg: F64  # per minute, simglucose's subcutaneous glucose (its "BG")
    cgm: F64  # every 5 minutes (minute 0, 5, ...)
    insulin_u: F64  # per minute, delivered (basal + bolus)
    bolus_u: F64  # per minute
    basal_u: F64  # per minute
    carbs_g: F64  # per minute, eaten (announced minute)
    final_state: F64


def _quiet_imports() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandas as pd
        from simglucose.patient.t1dpatient import Action, T1DPatient
        from simglucose.sensor.noise_gen import CGMNoise

        from lifetwin.services.glucose_sim import _FastParams
    logging.getLogger("simglucose").setLevel(logging.WARNING)
    return pd, Action, T1DPatient, CGMNoise, _FastParams


def patient_facts(name: str) -> dict[str, float]:
    """Body mass, basal rate (U/min), carbohydrate ratio and correction factor."""
    pd, _a, T1DPatient, _n, _f = _quiet_imports()  # noqa: N806 (classes)
    params = T1DPatient.withName(name)._params
    import importlib.resources as ir

    quest = pd.read_csv(ir.files("simglucose") / "params" / "Quest.csv")
    row = quest[quest.Name == name].iloc[0]
    return {
        "body_mass_kg": float(params.BW),
        "basal_u_min": float(params.u2ss * params.BW / 6000),
        "cr": float(row.CR),
        "cf": float(row.CF),
    }


def _key(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def run(
    patient: str,
    minutes: int,
    *,
    meals: list[Meal],
    basal_scale: float = 1.0,
    bolus_scale: float = 1.0,
    bolus_shift_min: int = 0,
    slot_scale: tuple[float, float, float] = (1.0, 1.0, 1.0),
    insulin_override: F64 | None = None,
    init_state: F64 | None = None,
    noise_seed: int = 0,
) -> TruthRun:
    """Run ``minutes`` of ``patient`` (cached). ``insulin_override`` (U per minute)
    replaces the controller; otherwise the person boluses for the counted grams ×
    ``bolus_scale``, ``bolus_shift_min`` minutes from the meal (negative: before)."""
    payload = {
        "v": VERSION,
        "p": patient,
        "m": minutes,
        "meals": [(m.minute, m.grams, m.counted) for m in meals],
        "bs": basal_scale,
        "bo": bolus_scale,
        "sh": bolus_shift_min,
        "slot": list(slot_scale),
        "ins": None
        if insulin_override is None
        else hashlib.sha256(insulin_override.tobytes()).hexdigest(),
        "x0": None
        if init_state is None
        else hashlib.sha256(np.asarray(init_state).tobytes()).hexdigest(),
        "seed": noise_seed,
    }
    path = CACHE / f"{_key(payload)}.npz"
    if path.exists():
        z = np.load(path)
        return TruthRun(**{k: z[k] for k in z.files})
    pd, Action, T1DPatient, CGMNoise, FastParams = _quiet_imports()  # noqa: N806 (classes)
    facts = patient_facts(patient)
    person = T1DPatient.withName(
        patient, init_state=None if init_state is None else np.array(init_state)
    )
    person._params = FastParams(person._params)
    import importlib.resources as ir

    sensors = pd.read_csv(ir.files("simglucose") / "params" / "sensor_params.csv")
    noise = CGMNoise(sensors[sensors.Name == "GuardianRT"].squeeze(), seed=noise_seed)
    basal = facts["basal_u_min"] * basal_scale
    eat = np.zeros(minutes)
    for m in meals:
        if 0 <= m.minute < minutes:
            eat[m.minute] += m.grams
    bolus_at: dict[int, tuple[float, float]] = {}
    for m in meals:
        counted = m.counted if m.counted is not None else m.grams * 1.0
        at = m.minute + bolus_shift_min
        mod = m.minute % 1440
        slot = slot_scale[0] if mod < 630 else slot_scale[1] if mod < 960 else slot_scale[2]
        if 0 <= at < minutes:
            bolus_at[at] = (bolus_at.get(at, (0.0, slot))[0] + counted, slot)
    bg = np.zeros(minutes)
    cgm = np.zeros((minutes + 4) // 5)
    insulin = np.zeros(minutes)
    bolus = np.zeros(minutes)
    last_cgm = float(person.observation.Gsub)
    for t in range(minutes):
        g = float(person.observation.Gsub)
        bg[t] = g
        if t % 5 == 0:
            last_cgm = float(np.clip(g + next(noise), 39.0, 400.0))
            cgm[t // 5] = last_cgm
        if insulin_override is not None:
            dose = float(insulin_override[t])
            bolus[t] = max(dose - basal, 0.0)
        else:
            dose = basal
            if t in bolus_at:
                carbs, slot = bolus_at[t]
                b = carbs / facts["cr"] + (last_cgm > 150) * (last_cgm - TARGET) / facts["cf"]
                bolus[t] = max(b, 0.0) * bolus_scale * slot
                dose += bolus[t]
        insulin[t] = dose
        person.step(Action(CHO=float(eat[t]), insulin=dose))
    out = TruthRun(
        bg=bg,
        cgm=cgm,
        insulin_u=insulin,
        bolus_u=bolus,
        basal_u=np.full(minutes, basal) if insulin_override is None else insulin - bolus,
        carbs_g=eat,
        final_state=np.array(person.state, dtype=np.float64),
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **out.__dict__)
    tmp.replace(path)
    return out


def random_meals(
    days: int, seed: int, *, logged_fraction: float = 0.9, count_sd: float = 0.25
) -> list[Meal]:
    """Three meals a day and snacks at jittered times; counted grams off by a relative
    error of SD ``count_sd`` (truncated at ±50 %); ``1 - logged_fraction`` not logged."""
    rng = np.random.default_rng(seed)
    plan = [  # (hour, sd hours, mean g, sd g, probability)
        (7.5, 0.6, 50, 12, 0.95),
        (10.5, 0.5, 15, 5, 0.3),
        (13.0, 0.7, 70, 15, 0.95),
        (16.0, 0.5, 15, 5, 0.3),
        (19.5, 0.7, 75, 15, 0.95),
        (22.5, 0.4, 15, 5, 0.2),
    ]
    meals = []
    for d in range(days):
        for hour, sd_h, mean_g, sd_g, p in plan:
            if rng.random() > p:
                continue
            minute = d * 1440 + int(np.clip(rng.normal(hour, sd_h), 0, 23.9) * 60)
            grams = float(np.clip(rng.normal(mean_g, sd_g), 5, 150).round())
            err = float(np.clip(rng.normal(0, count_sd), -0.5, 0.5))
            counted = float(round(grams * (1 + err))) if rng.random() < logged_fraction else None
            meals.append(Meal(minute, grams, counted))
    return meals
