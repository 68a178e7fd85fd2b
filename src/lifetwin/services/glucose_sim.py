"""CGM, meals and insulin from the UVA/Padova type 1 diabetes simulator (simglucose).

Speed-ups that leave the output identical, bit for bit: the patient's parameters are
read from a plain object instead of a pandas Series; the ODE right-hand side
(:func:`_model`) does simglucose's arithmetic, operation for operation in the same
order, on Python floats instead of numpy scalars (both are IEEE doubles, so every
result is the same; ``tanh`` stays numpy's); the pump reads its settings from a dict;
the basal-bolus controller looks its patient up once instead of at every step; and the
environment skips the risk indices it computes at every step for reinforcement
learning, which nothing here reads.
Together they make a simulated day about forty times faster than stock simglucose.
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
        # The same values as Python floats, for the right-hand side.
        self.floats = {
            key: float(value)
            for key, value in series.items()
            if isinstance(value, int | float | np.number) and not isinstance(value, bool)
        }


def _model(
    t: float, x: Any, action: Any, params: _FastParams, last_qsto: float, last_foodtaken: float
) -> npt.NDArray[np.float64]:
    """simglucose's ``T1DPatient.model`` (MIT licence), the same operations in the same
    order on Python floats; its debug log line is left out (the logger is quiet)."""
    p = params.floats
    x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12 = x.tolist()
    kmax, kmin, b, d_frac, bw = p["kmax"], p["kmin"], p["b"], p["d"], p["BW"]
    d = action.CHO * 1000
    insulin = action.insulin * 6000 / bw
    qsto = x0 + x1
    dbar = last_qsto + last_foodtaken * 1000
    dx0 = -kmax * x0 + d
    if dbar > 0:
        aa = 5 / (2 * dbar * (1 - b))
        cc = 5 / (2 * dbar * d_frac)
        kgut = kmin + (kmax - kmin) / 2 * (
            float(np.tanh(aa * (qsto - b * dbar))) - float(np.tanh(cc * (qsto - d_frac * dbar))) + 2
        )
    else:
        kgut = kmax
    dx1 = kmax * x0 - x1 * kgut
    kabs = p["kabs"]
    dx2 = kgut * x1 - kabs * x2
    rat = p["f"] * kabs * x2 / bw
    egpt = p["kp1"] - p["kp2"] * x3 - p["kp3"] * x8
    uiit = p["Fsnc"]
    et = p["ke1"] * (x3 - p["ke2"]) if x3 > p["ke2"] else 0
    k1, k2 = p["k1"], p["k2"]
    dx3 = max(egpt, 0) + rat - uiit - et - k1 * x3 + k2 * x4
    dx3 = (x3 >= 0) * dx3
    vmt = p["Vm0"] + p["Vmx"] * x6
    uidt = vmt * x4 / (p["Km0"] + x4)
    dx4 = -uidt + k1 * x3 - k2 * x4
    dx4 = (x4 >= 0) * dx4
    m1, m2, ka1, ka2, kd = p["m1"], p["m2"], p["ka1"], p["ka2"], p["kd"]
    dx5 = -(m2 + p["m4"]) * x5 + m1 * x9 + ka1 * x10 + ka2 * x11
    it = x5 / p["Vi"]
    dx5 = (x5 >= 0) * dx5
    p2u, ki = p["p2u"], p["ki"]
    dx6 = -p2u * x6 + p2u * (it - p["Ib"])
    dx7 = -ki * (x7 - it)
    dx8 = -ki * (x8 - x7)
    dx9 = -(m1 + p["m30"]) * x9 + m2 * x5
    dx9 = (x9 >= 0) * dx9
    dx10 = insulin - (ka1 + kd) * x10
    dx10 = (x10 >= 0) * dx10
    dx11 = kd * x10 - ka2 * x11
    dx11 = (x11 >= 0) * dx11
    ksc = p["ksc"]
    dx12 = -ksc * x12 + ksc * x3
    dx12 = (x12 >= 0) * dx12
    return np.array(
        [dx0, dx1, dx2, dx3, dx4, dx5, dx6, dx7, dx8, dx9, dx10, dx11, dx12], dtype=np.float64
    )


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
        from simglucose.simulation.env import Observation, Step, T1DSimEnv
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

    class QuietEnv(T1DSimEnv):  # type: ignore[misc]
        """T1DSimEnv.step (simglucose, MIT) without its risk indices, which nothing here reads
        and which cost a sixth of the run: the same states, readings and actions."""

        def step(self, action: Any, reward_fun: Any = None) -> Any:
            cho = insulin = bg = cgm = 0.0
            for _ in range(int(self.sample_time)):
                tmp_cho, tmp_insulin, tmp_bg, tmp_cgm = self.mini_step(action)
                cho += tmp_cho / self.sample_time
                insulin += tmp_insulin / self.sample_time
                bg += tmp_bg / self.sample_time
                cgm += tmp_cgm / self.sample_time
            self.CHO_hist.append(cho)
            self.insulin_hist.append(insulin)
            self.time_hist.append(self.time)
            self.BG_hist.append(bg)
            self.CGM_hist.append(cgm)
            for history in (self.risk_hist, self.LBGI_hist, self.HBGI_hist):
                history.append(np.nan)
            return Step(
                observation=Observation(CGM=cgm),
                reward=0.0,
                done=bg < 10 or bg > 600,
                sample_time=self.sample_time,
                patient_name=self.patient.name,
                meal=cho,
                patient_state=self.patient.state,
                time=self.time,
                bg=bg,
            )

    logging.getLogger("simglucose").setLevel(logging.WARNING)
    person = T1DPatient.withName(patient)
    person._params = _FastParams(person._params)
    # reset() builds the ODE solver from self.model: the instance attribute is used from then on
    person.model = _model
    person.reset()
    pump = InsulinPump.withName("Insulet")
    pump._params = dict(pump._params.items())
    env = QuietEnv(
        person,
        CGMSensor.withName(sensor, seed=seed),
        pump,
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
