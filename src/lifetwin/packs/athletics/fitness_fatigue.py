"""Training load, the fitness–fatigue (Banister impulse–response) model, and ACWR.

Performance on day ``t`` is a baseline plus a slow, positive "fitness" response and a
fast, negative "fatigue" response to the training loads of the days before
(Banister, Calvert, Savage & Bach 1975)::

    p(t) = p0 + k1 * sum_{s<t} w(s) exp(-(t-s)/tau1) - k2 * sum_{s<t} w(s) exp(-(t-s)/tau2)

The five parameters are fitted per person in relative units (performance as % of the
person's mean, load as a multiple of the person's mean daily load), so one set of
weakly informative priors serves everyone: log tau1 ~ N(log 42 d, 0.35), log tau2 ~
N(log 7 d, 0.45) with tau2 < tau1, and Gaussian priors on (p0, k1, k2). Given the two
time constants the model is linear in (p0, k1, k2); with a conjugate
Normal–inverse-gamma prior their posterior and the marginal likelihood are exact, so
the posterior over (tau1, tau2) is computed on a grid and samples are drawn exactly —
no MCMC tuning. The parameters are known to be collinear (Hellard et al., Med Sci
Sports Exerc 2006): :class:`FitnessFatigueFit` reports credible intervals and the
k1–k2 and tau1–tau2 correlations so the person sees how well each is determined.

Load: Banister's TRIMP from heart rate (:func:`trimp_banister`), Edwards' zone TRIMP
(:func:`trimp_edwards`), or a training-stress score from power (:func:`load_from_power`)
or pace (:func:`load_from_pace`). Performance marker: the output (pace or power) at a
fixed heart rate (:func:`output_at_heart_rate`), or any logged result.

Acute:chronic workload ratio (:func:`acwr`, exponentially weighted, Williams et al.,
Br J Sports Med 2017) and its flag (:func:`acwr_flag`): above 1.5 is a spike, below
0.8 a drop.

>>> loads = np.r_[np.zeros(10), np.full(30, 1.0)]
>>> p = banister(loads, p0=0.0, k1=0.1, k2=0.3, tau1=42.0, tau2=7.0)
>>> bool(p[12] < 0 < p[-1])  # tired after the first days, fitter after a month
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from lifetwin.core.errors import LifeTwinError

F64 = npt.NDArray[np.float64]

TAU1_PRIOR_DAYS, TAU1_LOG_SD = 42.0, 0.35
TAU2_PRIOR_DAYS, TAU2_LOG_SD = 7.0, 0.45
# Prior means and SDs of (p0 %, k1 and k2 in % per unit of relative load).
BETA_PRIOR_MEAN = np.array([0.0, 0.1, 0.3])
BETA_PRIOR_SD = np.array([10.0, 0.15, 0.4])
NOISE_PRIOR_SD_PCT = 1.5  # the inverse-gamma prior on the noise is centred here
_GRID_TAU1 = np.exp(np.linspace(math.log(15), math.log(90), 24))
_GRID_TAU2 = np.exp(np.linspace(math.log(2), math.log(20), 20))


class FitnessFatigueError(LifeTwinError):
    """Training data that cannot identify the fitness–fatigue model."""


# -- training load ---------------------------------------------------------------------
def trimp_banister(
    hr_bpm: F64, dt_min: float, hr_rest: float, hr_max: float, sex: Literal["m", "f"] = "m"
) -> float:
    """Banister's TRIMP: minutes × heart-rate reserve fraction × an exponential weight.

    >>> round(trimp_banister(np.full(60, 150.0), 1.0, 50.0, 190.0), 1)
    108.1
    """
    if hr_max <= hr_rest:
        raise FitnessFatigueError("The maximum heart rate must be above the resting heart rate.")
    a, b = (0.64, 1.92) if sex == "m" else (0.86, 1.67)
    frac = np.clip((np.asarray(hr_bpm, dtype=float) - hr_rest) / (hr_max - hr_rest), 0.0, 1.0)
    return float(np.sum(dt_min * frac * a * np.exp(b * frac)))


def trimp_edwards(hr_bpm: F64, dt_min: float, hr_max: float) -> float:
    """Edwards' TRIMP: minutes in the five zones of 50–100 % HRmax, weighted 1–5.

    >>> trimp_edwards(np.full(30, 0.75 * 190), 1.0, 190.0)
    90.0
    """
    pct = np.asarray(hr_bpm, dtype=float) / hr_max
    zone = np.clip(np.floor((pct - 0.5) / 0.1) + 1, 0, 5)
    return float(np.sum(np.where(pct >= 0.5, zone, 0.0)) * dt_min)


def load_from_power(power_w: F64, dt_s: float, ftp_w: float) -> float:
    """Training stress score from power: 100 for one hour at functional threshold power.

    >>> round(load_from_power(np.full(3600, 200.0), 1.0, 200.0))
    100
    """
    p = np.asarray(power_w, dtype=float)
    if len(p) == 0:
        return 0.0
    window = max(round(30 / dt_s), 1)
    rolling = np.convolve(p, np.ones(window) / window, mode="valid") if len(p) >= window else p
    normalized = float(np.mean(rolling**4) ** 0.25)
    intensity = normalized / ftp_w
    hours = len(p) * dt_s / 3600
    return 100.0 * hours * intensity**2


def load_from_pace(speed_m_s: F64, dt_s: float, threshold_m_s: float) -> float:
    """Running stress score from pace: 100 for one hour at threshold pace.

    >>> round(load_from_pace(np.full(1800, 4.0), 1.0, 4.0))
    50
    """
    v = np.asarray(speed_m_s, dtype=float)
    hours = len(v) * dt_s / 3600
    intensity = float(np.mean(v)) / threshold_m_s if len(v) else 0.0
    return 100.0 * hours * intensity**2


def output_at_heart_rate(
    hr_bpm: F64, output: F64, target_bpm: float, band_bpm: float = 5.0, min_samples: int = 60
) -> float | None:
    """The mean output (speed or power) while heart rate is within ``band_bpm`` of
    ``target_bpm`` — a performance marker that rises with fitness; None if too few.

    >>> hr = np.r_[np.full(100, 140.0), np.full(100, 170.0)]
    >>> output_at_heart_rate(hr, np.r_[np.full(100, 3.5), np.full(100, 4.5)], 140.0)
    3.5
    """
    hr = np.asarray(hr_bpm, dtype=float)
    out = np.asarray(output, dtype=float)
    near = (np.abs(hr - target_bpm) <= band_bpm) & np.isfinite(out)
    if near.sum() < min_samples:
        return None
    return float(np.mean(out[near]))


def acwr(daily_load: F64, acute_days: int = 7, chronic_days: int = 28) -> F64:
    """Acute:chronic workload ratio with exponentially weighted averages (NaN until a
    chronic load exists).

    >>> r = acwr(np.r_[np.full(35, 50.0), np.full(7, 200.0)])
    >>> round(float(r[34]), 2), bool(r[-1] > 1.5)
    (1.0, True)
    """
    load = np.asarray(daily_load, dtype=float)
    la, lc = 2 / (acute_days + 1), 2 / (chronic_days + 1)
    acute = np.zeros(len(load))
    chronic = np.zeros(len(load))
    a = c = float(load[0]) if len(load) else 0.0
    for i, w in enumerate(load):
        a = la * w + (1 - la) * a
        c = lc * w + (1 - lc) * c
        acute[i], chronic[i] = a, c
    ratio = np.where(chronic > 1e-9, acute / np.maximum(chronic, 1e-9), np.nan)
    ratio[: min(chronic_days, len(load))] = np.nan
    return cast(F64, ratio)


def acwr_flag(ratio: float) -> Literal["spike", "drop", "steady", "unknown"]:
    """``spike`` above 1.5, ``drop`` below 0.8 (Gabbett's "sweet spot" is 0.8–1.3)."""
    if not math.isfinite(ratio):
        return "unknown"
    return "spike" if ratio > 1.5 else "drop" if ratio < 0.8 else "steady"


# -- the model ---------------------------------------------------------------------------
def impulse(loads: F64, tau: F64 | float) -> F64:
    """sum_{s<t} w(s) exp(-(t-s)/tau) for each day t (one row per tau when tau is an array)."""
    taus = np.atleast_1d(np.asarray(tau, dtype=float))
    decay = np.exp(-1.0 / taus)
    out = np.zeros((len(taus), len(loads)))
    g = np.zeros(len(taus))
    for t in range(1, len(loads)):
        g = decay * (g + loads[t - 1])
        out[:, t] = g
    return out if np.ndim(tau) else out[0]


def banister(loads: F64, *, p0: float, k1: float, k2: float, tau1: float, tau2: float) -> F64:
    """Performance each day from the loads before it."""
    return p0 + k1 * impulse(loads, tau1) - k2 * impulse(loads, tau2)


class FitnessFatigueFit(BaseModel):
    """A person's fitted fitness–fatigue model (relative units) and its uncertainty."""

    model_config = ConfigDict(frozen=True)

    model: str = "Banister impulse-response (fitness–fatigue)"
    performance_mean: float  # the person's mean marker: 0 % relative performance
    load_mean: float  # the person's mean daily load: 1.0 relative load
    params: dict[str, float]  # posterior means: p0 (%), k1, k2 (% per relative load), tau1, tau2
    credible_90: dict[str, tuple[float, float]]
    corr_k1_k2: float
    corr_tau1_tau2: float
    samples: list[list[float]]  # (p0, k1, k2, tau1, tau2) draws
    noise_sd_pct: float
    days: int
    tests: int

    def predict(self, loads: F64, draws: bool = False) -> F64:
        """Performance (the marker's units) per day for absolute daily ``loads``;
        ``draws``: one row per posterior sample."""
        rel = np.asarray(loads, dtype=float) / self.load_mean
        if not draws:
            pr = self.params
            pct = banister(
                rel, p0=pr["p0"], k1=pr["k1"], k2=pr["k2"], tau1=pr["tau1"], tau2=pr["tau2"]
            )
            return self.performance_mean * (1 + pct / 100)
        s = np.array(self.samples)
        out = s[:, :1] + s[:, 1:2] * impulse(rel, s[:, 3]) - s[:, 2:3] * impulse(rel, s[:, 4])
        return self.performance_mean * (1 + out / 100)


@dataclass(frozen=True)
class FitnessPrior:
    """Priors for a person's fit; :func:`pooled_prior` builds one from other people."""

    tau1_days: float = TAU1_PRIOR_DAYS
    tau1_log_sd: float = TAU1_LOG_SD
    tau2_days: float = TAU2_PRIOR_DAYS
    tau2_log_sd: float = TAU2_LOG_SD
    beta_mean: tuple[float, float, float] = (0.0, 0.1, 0.3)
    beta_sd: tuple[float, float, float] = (10.0, 0.15, 0.4)


def pooled_prior(fits: list[FitnessFatigueFit], shrink: float = 0.5) -> FitnessPrior:
    """A hierarchical (empirical-Bayes) prior: centred on other people's posterior means,
    spreads no narrower than ``shrink`` × the default ones."""
    if not fits:
        return FitnessPrior()
    base = FitnessPrior()
    t1 = np.log([f.params["tau1"] for f in fits])
    t2 = np.log([f.params["tau2"] for f in fits])
    k = np.array([[f.params["k1"], f.params["k2"]] for f in fits])
    k_sd = k.std(axis=0) if len(fits) > 1 else np.array(base.beta_sd[1:])
    return FitnessPrior(
        tau1_days=float(np.exp(t1.mean())),
        tau1_log_sd=float(max(t1.std(), shrink * base.tau1_log_sd)),
        tau2_days=float(np.exp(t2.mean())),
        tau2_log_sd=float(max(t2.std(), shrink * base.tau2_log_sd)),
        beta_mean=(0.0, float(k[:, 0].mean()), float(k[:, 1].mean())),
        beta_sd=(
            base.beta_sd[0],
            float(max(k_sd[0], shrink * base.beta_sd[1])),
            float(max(k_sd[1], shrink * base.beta_sd[2])),
        ),
    )


def fit_fitness_fatigue(
    daily_load: F64,
    performance: F64,
    *,
    prior: FitnessPrior | None = None,
    draws: int = 400,
    seed: int = 0,
) -> FitnessFatigueFit:
    """Fit a person's model: ``daily_load`` one value a day, ``performance`` the marker
    on the same days (NaN where there was no test)."""
    prior = prior or FitnessPrior()
    load = np.asarray(daily_load, dtype=float)
    perf = np.asarray(performance, dtype=float)
    tested = np.flatnonzero(np.isfinite(perf))
    if len(tested) < 8 or len(load) < 28:
        raise FitnessFatigueError(
            "The fitness–fatigue model needs four weeks of training load and at least 8 "
            "performance tests."
        )
    load_mean = float(np.mean(load)) if np.mean(load) > 0 else 1.0
    perf_mean = float(np.mean(perf[tested]))
    rel = load / load_mean
    y = 100 * (perf[tested] / perf_mean - 1)
    n = len(y)
    m0 = np.array(prior.beta_mean)
    v0_inv = np.diag(1 / np.array(prior.beta_sd) ** 2)
    a0 = 2.0
    b0 = NOISE_PRIOR_SD_PCT**2 * (a0 - 1)
    g1 = impulse(rel, _GRID_TAU1)[:, tested]
    g2 = impulse(rel, _GRID_TAU2)[:, tested]
    logp = np.full((len(_GRID_TAU1), len(_GRID_TAU2)), -np.inf)
    post: dict[tuple[int, int], tuple[F64, F64, float, float]] = {}
    for i, t1 in enumerate(_GRID_TAU1):
        for j, t2 in enumerate(_GRID_TAU2):
            if t2 >= t1:
                continue
            x = np.column_stack([np.ones(n), g1[i], -g2[j]])
            vn_inv = v0_inv + x.T @ x
            vn = np.linalg.inv(vn_inv)
            mn = vn @ (v0_inv @ m0 + x.T @ y)
            an = a0 + n / 2
            bn = b0 + 0.5 * float(y @ y + m0 @ v0_inv @ m0 - mn @ vn_inv @ mn)
            _s, logdet_vn = np.linalg.slogdet(vn)
            _s, logdet_v0 = np.linalg.slogdet(np.linalg.inv(v0_inv))
            marginal = 0.5 * (logdet_vn - logdet_v0) + a0 * math.log(b0) - an * math.log(bn)
            marginal += math.lgamma(an) - math.lgamma(a0)
            lp1 = -0.5 * ((math.log(t1) - math.log(prior.tau1_days)) / prior.tau1_log_sd) ** 2
            lp2 = -0.5 * ((math.log(t2) - math.log(prior.tau2_days)) / prior.tau2_log_sd) ** 2
            logp[i, j] = marginal + lp1 + lp2
            post[(i, j)] = (mn, vn, an, bn)
    weights = np.exp(logp - logp.max())
    weights /= weights.sum()
    rng = np.random.default_rng(seed)
    cells = rng.choice(weights.size, size=draws, p=weights.ravel())
    samples = np.empty((draws, 5))
    noise = np.empty(draws)
    for k, cell in enumerate(cells):
        i, j = divmod(int(cell), len(_GRID_TAU2))
        mn, vn, an, bn = post[(i, j)]
        sigma2 = bn / rng.gamma(an)
        beta = rng.multivariate_normal(mn, vn * sigma2)
        # jitter within the grid cell so the draws are continuous in tau
        t1 = _GRID_TAU1[i] * math.exp(rng.uniform(-0.5, 0.5) * _step(_GRID_TAU1))
        t2 = _GRID_TAU2[j] * math.exp(rng.uniform(-0.5, 0.5) * _step(_GRID_TAU2))
        samples[k] = (beta[0], beta[1], beta[2], t1, t2)
        noise[k] = math.sqrt(sigma2)
    names = ("p0", "k1", "k2", "tau1", "tau2")
    return FitnessFatigueFit(
        performance_mean=perf_mean,
        load_mean=load_mean,
        params={name: float(np.mean(samples[:, c])) for c, name in enumerate(names)},
        credible_90={
            name: (float(np.percentile(samples[:, c], 5)), float(np.percentile(samples[:, c], 95)))
            for c, name in enumerate(names)
        },
        corr_k1_k2=float(np.corrcoef(samples[:, 1], samples[:, 2])[0, 1]),
        corr_tau1_tau2=float(np.corrcoef(samples[:, 3], samples[:, 4])[0, 1]),
        samples=samples.tolist(),
        noise_sd_pct=float(np.median(noise)),
        days=len(load),
        tests=n,
    )


def _step(grid: F64) -> float:
    return float(np.log(grid[1] / grid[0]))


def predict_mean(fit: FitnessFatigueFit, loads: F64) -> F64:
    """The posterior-mean performance per day (averaged over draws, not at the mean)."""
    return cast(F64, fit.predict(loads, draws=True).mean(axis=0))


def population_prediction(loads: F64, performance: F64, prior: FitnessPrior | None = None) -> F64:
    """The model with the prior's parameters (tau1, tau2, k1, k2) and only the baseline
    p0 set from the person's tests — the "population" model a personal fit must beat."""
    prior = prior or FitnessPrior()
    load = np.asarray(loads, dtype=float)
    perf = np.asarray(performance, dtype=float)
    tested = np.isfinite(perf)
    load_mean = float(np.mean(load)) if np.mean(load) > 0 else 1.0
    perf_mean = float(np.mean(perf[tested]))
    shape = banister(
        load / load_mean,
        p0=0.0,
        k1=prior.beta_mean[1],
        k2=prior.beta_mean[2],
        tau1=prior.tau1_days,
        tau2=prior.tau2_days,
    )
    p0 = float(np.mean(100 * (perf[tested] / perf_mean - 1) - shape[tested]))
    return perf_mean * (1 + (shape + p0) / 100)


# -- simulated athletes (for tests and the benchmark) --------------------------------------
@dataclass(frozen=True)
class SimulatedAthlete:
    """Known parameters, daily loads and noisy performance tests (NaN: no test)."""

    params: dict[str, float]
    daily_load: F64
    performance: F64
    truth: F64  # noiseless performance each day


def simulate_athletes(
    n: int, days: int = 182, seed: int = 0, noise_pct: float = 1.0
) -> list[SimulatedAthlete]:
    """Athletes with known fitness–fatigue parameters, for training and testing fits.

    The set-up follows the teaching simulations of Clarke & Skiba ("Rationale and
    resources for teaching the mathematical modeling of athletic training and
    performance", Adv Physiol Educ 37:134–152, 2013): a Banister model with person-level
    parameters drawn around tau1 ≈ 42 d and tau2 ≈ 7 d (Busso, Med Sci Sports Exerc
    35:1188, 2003 reports this spread), k2/k1 ≈ 2–4, a periodized plan (three building
    weeks of +8 %, one recovery week at 60 %, one or two rest days a week, day-to-day
    variation, an occasional missed week), and a performance test two or three times a
    week with measurement noise of ``noise_pct`` % (a power or pace marker at a fixed
    heart rate varies by about 1–2 % test to test).
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        tau1 = float(TAU1_PRIOR_DAYS * math.exp(rng.normal(0, 0.25)))
        tau2 = float(TAU2_PRIOR_DAYS * math.exp(rng.normal(0, 0.3)))
        k1 = float(0.1 * math.exp(rng.normal(0, 0.35)))
        k2 = float(k1 * 3.0 * math.exp(rng.normal(0, 0.25)))
        base_load = float(rng.uniform(40, 120))  # TRIMP a day
        base_perf = float(rng.uniform(200, 320))  # e.g. watts at a fixed heart rate
        load = np.zeros(days)
        week_level = 1.0
        for d in range(days):
            week = d // 7
            if d % 7 == 0:
                week_level = 0.6 if week % 4 == 3 else 1.0 + 0.08 * (week % 4)
                if rng.random() < 0.05:
                    week_level = 0.2  # illness or travel
            rest = d % 7 in (0,) or (d % 7 == 3 and rng.random() < 0.5)
            if not rest:
                load[d] = base_load * week_level * 1.17 * math.exp(rng.normal(0, 0.3))
        rel = load / load.mean()
        truth_pct = banister(rel, p0=0.0, k1=k1, k2=k2, tau1=tau1, tau2=tau2)
        truth = base_perf * (1 + truth_pct / 100)
        perf = np.full(days, np.nan)
        for d in range(days):
            if d % 7 in (2, 5) or (d % 7 == 6 and rng.random() < 0.5):
                perf[d] = truth[d] * (1 + rng.normal(0, noise_pct / 100))
        params = {"k1": k1, "k2": k2, "tau1": tau1, "tau2": tau2, "base": base_perf}
        out.append(SimulatedAthlete(params, load, perf, truth))
    return out
