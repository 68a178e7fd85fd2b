"""A personal glucose–insulin–meal twin, identified from a person's own records.

The model is the reduced UVA/Padova model of ReplayBG (Cappon, Vettoretti, Sparacino,
Del Favero, Facchinetti, "ReplayBG: a digital twin-based methodology to identify a
personalized model from type 1 diabetes data and simulate glucose concentrations to
assess alternative therapies", IEEE TBME 2023), written here from the paper's
equations (no code of py-replay-bg, which is GPL-3.0, is used or copied)::

    dG/dt    = -[SG + rho(G) X] G + SG Gb + Ra / VG          plasma glucose (mg/dl)
    dX/dt    = -p2 [X - SI (I - Ib)]                          insulin action (1/min)
    dIsc1/dt = -kd Isc1 + u                                   subcutaneous insulin
    dIsc2/dt =  kd Isc1 - ka2 Isc2
    dIp/dt   =  ka2 Isc2 - ke Ip,          I = Ip / VI        plasma insulin (µU/ml)
    dQsto1/dt = -kempt Qsto1 + CHO(t - beta)                  stomach (solid)
    dQsto2/dt =  kempt (Qsto1 - Qsto2)                        stomach (liquid)
    dQgut/dt  =  kempt Qsto2 - kabs Qgut,  Ra = f kabs Qgut   gut and appearance
    dIG/dt   = -(IG - G) / alpha                              interstitial glucose (the CGM)

``rho(G)`` is the UVA/Padova 2014 increase of insulin action in hypoglycaemia
(1 + 10 r1 (ln(G)^r2 - ln(Gb)^r2)^2 below Gb, G held at 60 mg/dl below that).
The personal parameters are Gb, SG, SI, p2, kd, ka2, kempt, kabs and beta; VG, VI,
ke, f and alpha are population constants, as in the paper. Ib is the plasma insulin
at the person's usual basal rate, so changing the basal rate moves X and glucose.

Exercise is an addition of ours, **not fitted to the person**: a session of intensity
``e`` (a fraction of heart-rate reserve) raises glucose effectiveness while it lasts
and insulin action for some hours after (in the spirit of Breton, J Diabetes Sci
Technol 2008), with population constants.

Identification follows the paper's Bayesian approach: log-normal priors around
population values, a point estimate (the posterior mode, by ``scipy.optimize``) for
speed, and posterior samples (``emcee``'s affine-invariant ensemble) for bands. The
CGM residuals are strongly autocorrelated, so the likelihood is tempered by the
effective number of independent residuals (``(1 - phi) / (1 + phi)`` of them, phi the
lag-1 autocorrelation at the mode), and predictive bands add an AR(1) model error with
the residuals' own spread.

Integration is exponential Euler on a one-minute grid for the linear compartments
and semi-implicit for glucose, compiled with numba: one simulated day of one
parameter set takes tens of microseconds.

Entry points: :func:`build_inputs` (records to per-minute arrays), :func:`fit_map`,
:func:`sample_posterior`, :func:`simulate_cgm` and :func:`predictive_band`; the fitted
twin is a :class:`GlucoseTwin` (pydantic, JSON round-trip).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from lifetwin.core.errors import LifeTwinError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MODEL_NAME = "reduced UVA/Padova (ReplayBG, Cappon et al. 2023)"
MODEL_VERSION = "1"

# Population constants (ReplayBG, from the UVA/Padova population).
VG_DL_KG = 1.45
VI_L_KG = 0.126
KE_PER_MIN = 0.127
F_MEAL = 0.9
ALPHA_MIN = 7.0
R1, R2, G_TH = 1.44, 0.8124, 60.0
# Exercise (population, not fitted): effect on SG while active, on insulin action after.
EX_SG_GAIN, EX_SI_GAIN, EX_TAU_MIN, EX_AFTER_TAU_MIN = 1.0, 0.6, 5.0, 300.0

PARAMS: tuple[str, ...] = ("Gb", "SG", "SI", "p2", "kd", "ka2", "kempt", "kabs", "beta")
UNITS: dict[str, str] = {
    "Gb": "mg/dl",
    "SG": "1/min",
    "SI": "ml/µU/min",
    "p2": "1/min",
    "kd": "1/min",
    "ka2": "1/min",
    "kempt": "1/min",
    "kabs": "1/min",
    "beta": "min",
}
MEANINGS: dict[str, str] = {
    "Gb": "basal glucose",
    "SG": "glucose effectiveness",
    "SI": "insulin sensitivity",
    "p2": "rate of insulin action",
    "kd": "insulin absorption (first compartment)",
    "ka2": "insulin absorption (second compartment)",
    "kempt": "gastric emptying rate",
    "kabs": "carbohydrate absorption rate",
    "beta": "carbohydrate absorption delay",
}
# Prior medians: the medians of the posterior modes of seven UVA/Padova virtual patients
# (simglucose's adult#001-003, adolescent#001-002, child#001-002: the benchmark's tuning
# cohort, never reported), started from the minimal model's and UVA/Padova's population
# values; the log-scale spreads are wide: the priors are weakly informative.
PRIOR_MEDIAN: dict[str, float] = {
    "Gb": 125.0,
    "SG": 0.015,
    "SI": 6.7e-4,
    "p2": 0.012,
    "kd": 0.023,
    "ka2": 0.017,
    "kempt": 0.021,
    "kabs": 0.038,
    "beta": 9.3,
}
PRIOR_LOG_SD: dict[str, float] = {
    "Gb": 0.25,
    "SG": 0.6,
    "SI": 1.0,
    "p2": 0.6,
    "kd": 0.5,
    "ka2": 0.5,
    "kempt": 0.6,
    "kabs": 0.7,
    "beta": 0.8,
}
BOUNDS: dict[str, tuple[float, float]] = {
    "Gb": (60.0, 300.0),
    "SG": (1e-4, 0.1),
    "SI": (1e-6, 0.02),
    "p2": (1e-3, 0.2),
    "kd": (2e-3, 0.2),
    "ka2": (2e-3, 0.2),
    "kempt": (5e-3, 0.5),
    "kabs": (2e-3, 0.5),
    "beta": (0.5, 60.0),
}
ABSORPTION: dict[str, float] = {"fast": 2.0, "normal": 1.0, "slow": 0.5}
SAMPLE_MIN = 5
# At least this share of the residuals counts as independent (chosen on the tuning cohort:
# a floor of 0.1 narrowed the posterior and dropped the 90 % band's coverage to 0.75).
N_EFF_FLOOR = 0.01


class GlucoseTwinError(LifeTwinError):
    """Data that cannot identify a glucose twin, or a twin asked the impossible."""


@dataclass(frozen=True)
class GlucoseInputs:
    """Everything that drives the model, on a one-minute grid from ``start_ms``.

    ``carbs_g`` has one row per absorption speed (``ABSORPTION`` order: fast, normal,
    slow); insulin is split into basal and bolus so scenarios can change either.
    ``exercise`` is the intensity (0–1, a fraction of heart-rate reserve) each minute.
    """

    start_ms: int
    carbs_g: F64  # (3, T) grams eaten in each minute, by absorption speed
    basal_u: F64  # (T,) units delivered in each minute as basal
    bolus_u: F64  # (T,) units delivered in each minute as bolus
    exercise: F64  # (T,)
    body_mass_kg: float = 70.0

    @property
    def minutes(self) -> int:
        return int(self.basal_u.shape[0])

    def window(self, lo: int, hi: int) -> GlucoseInputs:
        """The minutes [lo, hi) of these inputs."""
        return GlucoseInputs(
            self.start_ms + lo * 60_000,
            self.carbs_g[:, lo:hi].copy(),
            self.basal_u[lo:hi].copy(),
            self.bolus_u[lo:hi].copy(),
            self.exercise[lo:hi].copy(),
            self.body_mass_kg,
        )

    def per_kg(self) -> tuple[F64, F64]:
        """Carbohydrate (mg/kg/min, by channel) and insulin (mU/kg/min) for the kernel."""
        scale = 1000.0 / self.body_mass_kg
        return self.carbs_g * scale, (self.basal_u + self.bolus_u) * scale


def empty_inputs(start_ms: int, minutes: int, body_mass_kg: float = 70.0) -> GlucoseInputs:
    """Inputs with nothing eaten, no insulin and no exercise (to fill in)."""
    return GlucoseInputs(
        start_ms,
        np.zeros((3, minutes)),
        np.zeros(minutes),
        np.zeros(minutes),
        np.zeros(minutes),
        body_mass_kg,
    )


def build_inputs(
    start_ms: int,
    minutes: int,
    *,
    meals: list[tuple[int, float]],
    insulin_ts_ms: I64,
    insulin_u: F64,
    insulin_dur_ms: I64 | None = None,
    boluses: list[tuple[int, float]] | None = None,
    body_mass_kg: float = 70.0,
) -> GlucoseInputs:
    """Per-minute inputs from logged meals, delivered insulin and bolus records.

    ``meals`` and ``boluses`` are (epoch ms, grams or units). Delivered insulin
    (``insulin_ts_ms``/``insulin_u``, each amount spread over its duration, five
    minutes by default) is the total; the boluses are taken out of it to leave the
    basal. Without bolus records, the basal is the running low (10th percentile over
    two hours) of the delivery rate and boluses are what is above it.
    """
    out = empty_inputs(start_ms, minutes, body_mass_kg)
    for ts, grams in meals:
        i = (ts - start_ms) // 60_000
        if 0 <= i < minutes and grams > 0:
            out.carbs_g[1, i] += grams
    total = np.zeros(minutes)
    dur = (
        np.full(len(insulin_ts_ms), SAMPLE_MIN * 60_000, dtype=np.int64)
        if insulin_dur_ms is None
        else np.maximum(insulin_dur_ms, 60_000)
    )
    for ts, units, d in zip(insulin_ts_ms.tolist(), insulin_u.tolist(), dur.tolist(), strict=True):
        lo = (ts - start_ms) // 60_000
        n = max(d // 60_000, 1)
        if lo + n <= 0 or lo >= minutes or units <= 0:
            continue
        a, b = max(lo, 0), min(lo + n, minutes)
        total[a:b] += units / n
    bolus = np.zeros(minutes)
    if boluses:
        for ts, units in boluses:
            i = (ts - start_ms) // 60_000
            if 0 <= i < minutes and units > 0:
                bolus[i] += units
        # a bolus recorded at a minute is delivered in the delivery sample around it
        basal = np.clip(total - _spread_like(bolus, total), 0.0, None)
    else:
        basal = _running_low(total)
        bolus = _collapse(np.clip(total - basal, 0.0, None))
    out.basal_u[:] = basal
    out.bolus_u[:] = bolus
    return out


def _spread_like(bolus: F64, total: F64) -> F64:
    """Spread each bolus over the delivery sample it fell in (so it can be subtracted)."""
    out = np.zeros_like(bolus)
    for i in np.flatnonzero(bolus).tolist():
        lo = i - i % SAMPLE_MIN
        n = min(SAMPLE_MIN, len(total) - lo)
        out[lo : lo + n] += bolus[i] / n
    return out


def _running_low(rate: F64, window: int = 120) -> F64:
    n = len(rate)
    if n == 0:
        return rate.copy()
    pad = np.pad(rate, (window // 2, window - window // 2 - 1), mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(pad, window)[:n]
    return cast(F64, np.percentile(view, 10, axis=1))


def _collapse(extra: F64) -> F64:
    """Put each run of above-basal delivery at its first minute (a bolus is a pulse)."""
    out = np.zeros_like(extra)
    on = extra > 1e-6
    i = 0
    while i < len(extra):
        if on[i]:
            j = i
            while j < len(extra) and on[j]:
                j += 1
            out[i] = extra[i:j].sum()
            i = j
        else:
            i += 1
    return out


# -- the compiled kernel ------------------------------------------------------------
def _kernel_py(
    theta: F64,
    carbs: F64,
    speed: F64,
    insulin: F64,
    basal_ref: float,
    exercise: F64,
    g_force: F64,
    obs_idx: I64,
    out: F64,
) -> None:  # pragma: no cover - compiled by numba; tested through simulate_cgm
    n_s = theta.shape[0]
    n_c = carbs.shape[0]
    n_t = insulin.shape[0]
    n_o = obs_idx.shape[0]
    e_ke = math.exp(-KE_PER_MIN)
    e_al = math.exp(-1.0 / ALPHA_MIN)
    e_ey = math.exp(-1.0 / EX_TAU_MIN)
    e_ez = math.exp(-1.0 / EX_AFTER_TAU_MIN)
    q1 = np.zeros(n_c)
    q2 = np.zeros(n_c)
    qg = np.zeros(n_c)
    e1 = np.zeros(n_c)
    e2 = np.zeros(n_c)
    k1 = np.zeros(n_c)
    k2 = np.zeros(n_c)
    for s in range(n_s):
        gb = theta[s, 0]
        sg = theta[s, 1]
        si = theta[s, 2]
        p2 = theta[s, 3]
        kd = theta[s, 4]
        ka2 = theta[s, 5]
        kempt = theta[s, 6]
        kabs = theta[s, 7]
        beta = theta[s, 8]
        e_kd = math.exp(-kd)
        e_ka2 = math.exp(-ka2)
        e_p2 = math.exp(-p2)
        for c in range(n_c):
            k1[c] = kempt * speed[c]
            k2[c] = kabs * speed[c]
            e1[c] = math.exp(-k1[c])
            e2[c] = math.exp(-k2[c])
            q1[c] = 0.0
            q2[c] = 0.0
            qg[c] = 0.0
        b0 = int(beta)
        w = beta - b0
        ib = basal_ref / (KE_PER_MIN * VI_L_KG)
        isc1 = basal_ref / kd
        isc2 = basal_ref / ka2
        ip = basal_ref / KE_PER_MIN
        x = 0.0
        y = 0.0
        z = 0.0
        g = g_force[0] if g_force[0] == g_force[0] else gb
        ig = g
        lgb = math.log(gb) ** R2
        j = 0
        for t in range(n_t):
            u = insulin[t]
            isc1_n = isc1 * e_kd + u * (1.0 - e_kd) / kd
            isc2_n = isc2 * e_ka2 + kd * isc1 * (1.0 - e_ka2) / ka2
            ip = ip * e_ke + ka2 * isc2 * (1.0 - e_ke) / KE_PER_MIN
            isc1 = isc1_n
            isc2 = isc2_n
            x = x * e_p2 + si * (ip / VI_L_KG - ib) * (1.0 - e_p2)
            ra = 0.0
            i0 = t - b0
            for c in range(n_c):
                inp = 0.0
                if i0 >= 0:
                    inp += (1.0 - w) * carbs[c, i0]
                if i0 >= 1:
                    inp += w * carbs[c, i0 - 1]
                q1_n = q1[c] * e1[c] + inp * (1.0 - e1[c]) / k1[c]
                q2_n = q2[c] * e1[c] + q1[c] * (1.0 - e1[c])
                qg[c] = qg[c] * e2[c] + k1[c] * q2[c] * (1.0 - e2[c]) / k2[c]
                q1[c] = q1_n
                q2[c] = q2_n
                ra += F_MEAL * k2[c] * qg[c]
            y = y * e_ey + exercise[t] * (1.0 - e_ey)
            z = z * e_ez + y / 60.0
            rho = 1.0
            if g < gb:
                gg = g if g > G_TH else G_TH
                d = math.log(gg) ** R2 - lgb
                rho = 1.0 + 10.0 * R1 * d * d
            denom = 1.0 + sg * (1.0 + EX_SG_GAIN * y) + rho * x * (1.0 + EX_SI_GAIN * z)
            if denom < 0.05:
                denom = 0.05
            g = (g + sg * gb + ra / VG_DL_KG) / denom
            if g < 1.0:
                g = 1.0
            f = g_force[t]
            if f == f:  # not NaN: the glucose is known here (warm-up or a segment start)
                g = f
                ig = f
            else:
                ig = ig * e_al + g * (1.0 - e_al)
            while j < n_o and obs_idx[j] == t:
                out[s, j] = ig
                j += 1


_Kernel = Callable[[F64, F64, F64, F64, float, F64, F64, I64, F64], None]
_compiled: _Kernel | None = None


def _kernel() -> _Kernel:
    global _compiled
    if _compiled is None:
        import numba

        _compiled = cast(_Kernel, numba.njit(cache=True, nogil=True)(_kernel_py))
    return _compiled


_SPEED = np.array([ABSORPTION["fast"], ABSORPTION["normal"], ABSORPTION["slow"]])


def simulate_cgm(
    theta: F64,
    inputs: GlucoseInputs,
    basal_ref_u_min: float,
    g_force: F64,
    obs_idx: I64,
) -> F64:
    """The CGM (interstitial glucose, mg/dl) at minutes ``obs_idx`` for each parameter row.

    ``theta`` is (S, 9) in ``PARAMS`` order; ``g_force`` (one value a minute, NaN where
    free) pins glucose where it is known (the warm-up before a window, segment starts);
    ``basal_ref_u_min`` is the person's usual basal rate (U/min), which sets Ib.
    """
    theta = np.ascontiguousarray(np.atleast_2d(theta), dtype=np.float64)
    carbs, insulin = inputs.per_kg()
    out = np.empty((theta.shape[0], len(obs_idx)))
    _kernel()(
        theta,
        np.ascontiguousarray(carbs),
        _SPEED,
        np.ascontiguousarray(insulin),
        basal_ref_u_min * 1000.0 / inputs.body_mass_kg,
        np.ascontiguousarray(inputs.exercise, dtype=np.float64),
        np.ascontiguousarray(g_force, dtype=np.float64),
        np.ascontiguousarray(obs_idx, dtype=np.int64),
        out,
    )
    return out


# -- the fitted twin ------------------------------------------------------------------
class FitQuality(BaseModel):
    """How well the twin reproduces the data it was fitted on."""

    model_config = ConfigDict(frozen=True)

    rmse_mg_dl: float
    mard_percent: float
    population_rmse_mg_dl: float  # the same model with the prior medians, same data
    residual_sd_mg_dl: float
    residual_lag1: float  # autocorrelation of residuals 5 minutes apart
    readings: int
    days: float
    segment_h: float
    fit_seconds: float
    posterior_seconds: float | None = None
    acceptance: float | None = None  # the MCMC's mean acceptance fraction


class GlucoseTwin(BaseModel):
    """A person's fitted glucose twin: the mode, posterior samples, and how it fits."""

    model: str = MODEL_NAME
    version: str = MODEL_VERSION
    params: dict[str, float]
    samples: list[list[float]] = Field(default_factory=list)  # posterior draws, PARAMS order
    basal_ref_u_min: float
    body_mass_kg: float
    quality: FitQuality
    trained_from_ms: int
    trained_to_ms: int

    def theta(self) -> F64:
        return np.array([[self.params[p] for p in PARAMS]])

    def theta_samples(self, limit: int | None = None) -> F64:
        """Posterior draws (S, 9); the mode alone when there are none."""
        if not self.samples:
            return self.theta()
        draws = np.array(self.samples)
        return draws if limit is None else draws[:limit]

    def credible(self, level: float = 0.9) -> dict[str, tuple[float, float]]:
        """Each parameter's central credible interval (the mode twice without samples)."""
        draws = self.theta_samples()
        lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
        return {
            p: (float(np.percentile(draws[:, i], lo)), float(np.percentile(draws[:, i], hi)))
            for i, p in enumerate(PARAMS)
        }


def population_theta() -> F64:
    """The model with every personal parameter at its population (prior) median."""
    return np.array([[PRIOR_MEDIAN[p] for p in PARAMS]])


def theta_of(params: dict[str, float]) -> F64:
    """A (1, 9) parameter row from a name → value mapping (missing: population median)."""
    return np.array([[params.get(p, PRIOR_MEDIAN[p]) for p in PARAMS]])


@dataclass(frozen=True)
class FitData:
    """A fitting problem: inputs, the CGM on the grid, and which minutes are pinned."""

    inputs: GlucoseInputs
    obs_idx: I64  # minutes with a CGM reading that count in the likelihood
    obs: F64
    g_force: F64
    basal_ref_u_min: float
    segment_h: float


def prepare(
    inputs: GlucoseInputs,
    cgm_ts_ms: I64,
    cgm_mg_dl: F64,
    *,
    warmup_min: int = 360,
    segment_h: float = 12.0,
    basal_ref_u_min: float | None = None,
) -> FitData:
    """Set up a fit: the first ``warmup_min`` are pinned to the CGM (so insulin and meals
    already on board are in the states), then glucose runs free in segments of
    ``segment_h`` hours, each started from its first CGM reading."""
    minutes = inputs.minutes
    idx = (cgm_ts_ms - inputs.start_ms) // 60_000
    ok = (idx >= 0) & (idx < minutes) & np.isfinite(cgm_mg_dl)
    idx, vals = idx[ok], cgm_mg_dl[ok]
    if len(idx) < 288:
        raise GlucoseTwinError(
            "A glucose twin needs at least one day of CGM readings alongside insulin and meals."
        )
    order = np.argsort(idx, kind="stable")
    idx, vals = idx[order], vals[order]
    grid = np.interp(np.arange(minutes), idx, vals)
    g_force = np.full(minutes, np.nan)
    g_force[:warmup_min] = grid[:warmup_min]
    seg = max(int(segment_h * 60), 60)
    for start in range(warmup_min, minutes, seg):
        g_force[start] = grid[start]
    free = np.isnan(g_force[idx])
    positive_basal = inputs.basal_u[inputs.basal_u > 0]
    if basal_ref_u_min is None:
        if not len(positive_basal):
            raise GlucoseTwinError(
                "A glucose twin needs basal insulin records (a pump or a daily dose)."
            )
        basal_ref_u_min = float(np.median(positive_basal))
    return FitData(inputs, idx[free], vals[free], g_force, basal_ref_u_min, segment_h)


def _to_z(theta: F64) -> F64:
    return np.log(theta)


def _from_z(z: F64) -> F64:
    return np.exp(z)


def _prior_arrays(gb_median: float) -> tuple[F64, F64, F64, F64]:
    mu = np.log([gb_median if p == "Gb" else PRIOR_MEDIAN[p] for p in PARAMS])
    sd = np.array([PRIOR_LOG_SD[p] for p in PARAMS])
    lo = np.log([BOUNDS[p][0] for p in PARAMS])
    hi = np.log([BOUNDS[p][1] for p in PARAMS])
    return mu, sd, lo, hi


@dataclass
class _Posterior:
    data: FitData
    mu: F64
    sd: F64
    lo: F64
    hi: F64
    n_eff_ratio: float = 1.0

    def sse(self, z: F64) -> F64:
        z = np.atleast_2d(z)
        sim = simulate_cgm(
            _from_z(z),
            self.data.inputs,
            self.data.basal_ref_u_min,
            self.data.g_force,
            self.data.obs_idx,
        )
        return cast(F64, ((sim - self.data.obs) ** 2).sum(axis=1))

    def log_prob(self, z: F64) -> F64:
        """Unnormalised log posterior of rows of log-parameters (vectorised over rows)."""
        z = np.atleast_2d(z)
        inside = np.all((z >= self.lo) & (z <= self.hi), axis=1)
        out = np.full(z.shape[0], -np.inf)
        if inside.any():
            n = len(self.data.obs) * self.n_eff_ratio
            sse = self.sse(z[inside])
            prior = -0.5 * (((z[inside] - self.mu) / self.sd) ** 2).sum(axis=1)
            out[inside] = -0.5 * n * np.log(np.maximum(sse, 1e-9) / len(self.data.obs)) + prior
        return out


def fit_map(
    data: FitData,
    *,
    restarts: int = 4,
    seed: int = 0,
    gb_prior_median: float | None = None,
) -> GlucoseTwin:
    """The posterior mode (a point estimate in seconds), with its fit quality."""
    from scipy.optimize import minimize

    started = time.perf_counter()
    gb0 = (
        float(np.clip(np.median(data.obs), 80, 250)) if gb_prior_median is None else gb_prior_median
    )
    mu, sd, lo, hi = _prior_arrays(gb0)
    post = _Posterior(data, mu, sd, lo, hi)
    # The first pass sets the tempering from the residuals' autocorrelation at its mode.
    rng = np.random.default_rng(seed)
    best_z = mu.copy()
    for attempt in range(2):
        starts = [best_z]
        if attempt == 0:  # the second pass refines the first one's mode
            starts += [
                np.clip(mu + rng.normal(0, 0.5, len(mu)) * sd, lo, hi) for _ in range(restarts - 1)
            ]
        best_val = np.inf
        for z0 in starts:
            res = minimize(
                lambda z: -float(post.log_prob(z)[0]),
                z0,
                method="L-BFGS-B",
                bounds=list(zip(lo, hi, strict=True)),
                options={"maxiter": 400},
            )
            if res.fun < best_val:
                best_val, best_z = float(res.fun), np.asarray(res.x)
        if attempt == 0:
            resid = _residuals(data, _from_z(best_z))
            phi = _lag1(resid, data.obs_idx)
            post.n_eff_ratio = _n_eff_ratio(phi)
    theta = _from_z(best_z)[None, :]
    quality = _quality(data, theta, time.perf_counter() - started)
    return GlucoseTwin(
        params={p: float(theta[0, i]) for i, p in enumerate(PARAMS)},
        basal_ref_u_min=data.basal_ref_u_min,
        body_mass_kg=data.inputs.body_mass_kg,
        quality=quality,
        trained_from_ms=data.inputs.start_ms,
        trained_to_ms=data.inputs.start_ms + data.inputs.minutes * 60_000,
    )


def _n_eff_ratio(phi: float) -> float:
    """The share of residuals that count as independent, for lag-1 autocorrelation phi."""
    return float(np.clip((1 - phi) / (1 + phi), N_EFF_FLOOR, 1.0))


def _residuals(data: FitData, theta: F64) -> F64:
    sim = simulate_cgm(
        np.atleast_2d(theta), data.inputs, data.basal_ref_u_min, data.g_force, data.obs_idx
    )
    return cast(F64, data.obs - sim[0])


def _lag1(resid: F64, idx: I64) -> float:
    """Autocorrelation of residuals that are one CGM sample apart (gaps skipped)."""
    if len(resid) < 3:
        return 0.0
    gap = np.diff(idx)
    step = int(np.median(gap))
    pair = gap == step
    a, b = resid[:-1][pair], resid[1:][pair]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.clip(np.corrcoef(a, b)[0, 1], -0.99, 0.995))


def _quality(data: FitData, theta: F64, seconds: float) -> FitQuality:
    resid = _residuals(data, theta)
    pop = _residuals(data, population_theta())
    return FitQuality(
        rmse_mg_dl=float(np.sqrt(np.mean(resid**2))),
        mard_percent=float(np.mean(np.abs(resid) / data.obs) * 100),
        population_rmse_mg_dl=float(np.sqrt(np.mean(pop**2))),
        residual_sd_mg_dl=float(resid.std()),
        residual_lag1=_lag1(resid, data.obs_idx),
        readings=len(resid),
        days=data.inputs.minutes / 1440,
        segment_h=data.segment_h,
        fit_seconds=seconds,
    )


def sample_posterior(
    twin: GlucoseTwin,
    data: FitData,
    *,
    walkers: int = 32,
    steps: int = 1500,
    keep: int = 200,
    seed: int = 0,
    gb_prior_median: float | None = None,
) -> GlucoseTwin:
    """Posterior draws around the mode by emcee's ensemble sampler (the first half of
    the chain is discarded); returns the twin with ``keep`` draws added."""
    import emcee

    started = time.perf_counter()
    gb0 = (
        float(np.clip(np.median(data.obs), 80, 250)) if gb_prior_median is None else gb_prior_median
    )
    mu, sd, lo, hi = _prior_arrays(gb0)
    phi = twin.quality.residual_lag1
    post = _Posterior(data, mu, sd, lo, hi, _n_eff_ratio(phi))
    rng = np.random.default_rng(seed)
    z0 = np.log(twin.theta()[0])
    start = np.clip(z0 + rng.normal(0, 0.02, (walkers, len(z0))), lo + 1e-9, hi - 1e-9)
    sampler = emcee.EnsembleSampler(walkers, len(z0), post.log_prob, vectorize=True)
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    sampler.run_mcmc(start, steps, progress=False)
    chain = sampler.get_chain(discard=steps // 2, flat=True)
    pick = rng.choice(len(chain), size=min(keep, len(chain)), replace=False)
    draws = np.exp(chain[pick])
    quality = twin.quality.model_copy(
        update={
            "posterior_seconds": time.perf_counter() - started,
            "acceptance": float(np.mean(sampler.acceptance_fraction)),
        }
    )
    return twin.model_copy(update={"samples": draws.tolist(), "quality": quality})


# -- prediction ------------------------------------------------------------------------
@dataclass(frozen=True)
class Replay:
    """Open-loop glucose from a known start: per-draw trajectories on a 5-minute grid."""

    minutes: I64  # minutes since the start of the window (after the warm-up)
    draws: F64  # (S, N) CGM-like glucose, parameter uncertainty only
    point: F64  # (N,) the mode


def replay(
    twin: GlucoseTwin,
    inputs: GlucoseInputs,
    history: F64,
    *,
    warmup_min: int,
    draws: int | None = 200,
    sample_min: int = SAMPLE_MIN,
) -> Replay:
    """Simulate ``inputs`` open loop from the end of a ``warmup_min`` history.

    ``history`` is glucose (mg/dl) each minute of the warm-up (interpolated CGM): it pins
    the model there so that the insulin and carbohydrates already on board are carried
    in; after it glucose runs free to the end of ``inputs``.
    """
    minutes = inputs.minutes
    g_force = np.full(minutes, np.nan)
    g_force[:warmup_min] = history[:warmup_min]
    obs_idx = np.arange(warmup_min, minutes, sample_min, dtype=np.int64)
    point = simulate_cgm(twin.theta(), inputs, twin.basal_ref_u_min, g_force, obs_idx)[0]
    sims = (
        simulate_cgm(twin.theta_samples(draws), inputs, twin.basal_ref_u_min, g_force, obs_idx)
        if twin.samples
        else point[None, :]
    )
    return Replay(obs_idx - warmup_min, sims, point)


def predictive_band(
    twin: GlucoseTwin,
    result: Replay,
    *,
    level: float = 0.9,
    seed: int = 0,
    error_scale: float = 1.0,
) -> tuple[F64, F64, F64]:
    """The median and central ``level`` band of glucose: parameter draws plus an AR(1)
    model error with the fit residuals' spread and autocorrelation, starting at zero
    where glucose is known."""
    rng = np.random.default_rng(seed)
    sims = result.draws
    reps = max(1, 1000 // sims.shape[0])
    base = np.repeat(sims, reps, axis=0)
    phi = float(np.clip(twin.quality.residual_lag1, 0.0, 0.999))
    sigma = twin.quality.residual_sd_mg_dl * error_scale
    shocks = rng.normal(0.0, sigma * math.sqrt(1 - phi**2), base.shape)
    err = np.zeros_like(base)
    prev = np.zeros(base.shape[0])
    for k in range(base.shape[1]):
        prev = phi * prev + shocks[:, k]
        err[:, k] = prev
    total = np.clip(base + err, 10.0, 600.0)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return (
        cast(F64, np.percentile(total, 50, axis=0)),
        cast(F64, np.percentile(total, lo, axis=0)),
        cast(F64, np.percentile(total, hi, axis=0)),
    )


def with_inputs(inputs: GlucoseInputs, **changes: Any) -> GlucoseInputs:
    """A copy of ``inputs`` with some arrays replaced."""
    return replace(inputs, **changes)
