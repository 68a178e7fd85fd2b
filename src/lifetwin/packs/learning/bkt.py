"""Bayesian knowledge tracing (Corbett & Anderson 1995), fitted by expectation-maximization.

A skill is a two-state hidden Markov model: not known or known. ``p_init`` is the chance
the skill is known before the first attempt, ``p_learn`` the chance it becomes known
after an attempt (no forgetting), ``p_guess`` the chance of a right answer when it is not
known, ``p_slip`` of a wrong one when it is. EM (Baum–Welch with scaled forward and
backward passes) fits the four from sequences of right (1) and wrong (0) answers,
vectorized over sequences (padded to one length, masked). Guess and slip are kept below
0.5 so that "known" means "more likely right" (the usual identifiability constraint).

Our own small implementation, because pyBKT 1.4.3 pins break on scikit-learn ≥ 1.8 and
numpy 2.4; ``benchmarks/learner.py`` checks parameter recovery and compares AUC with
pyBKT in a separate environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
MAX_GUESS_SLIP = 0.45
EPS = 1e-6


@dataclass(frozen=True)
class BKTParams:
    p_init: float = 0.3
    p_learn: float = 0.1
    p_guess: float = 0.2
    p_slip: float = 0.1

    def as_dict(self) -> dict[str, float]:
        return {
            "p_init": self.p_init,
            "p_learn": self.p_learn,
            "p_guess": self.p_guess,
            "p_slip": self.p_slip,
        }


def _pad(
    sequences: Sequence[Sequence[int] | npt.NDArray[np.int_]],
) -> tuple[F64, npt.NDArray[np.bool_]]:
    length = max((len(s) for s in sequences), default=0)
    obs = np.zeros((len(sequences), length))
    mask = np.zeros((len(sequences), length), dtype=bool)
    for i, seq in enumerate(sequences):
        obs[i, : len(seq)] = np.asarray(seq, dtype=float)
        mask[i, : len(seq)] = True
    return obs, mask


def _emissions(obs: F64, mask: npt.NDArray[np.bool_], p: BKTParams) -> F64:
    """P(observation | state), shape (n, T, 2); 1 where there is no observation."""
    right = obs > 0.5
    unknown = np.where(right, p.p_guess, 1 - p.p_guess)
    known = np.where(right, 1 - p.p_slip, p.p_slip)
    e = np.stack([unknown, known], axis=-1)
    e[~mask] = 1.0
    return e


def forward(
    sequences: Sequence[Sequence[int] | npt.NDArray[np.int_]], p: BKTParams
) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
    """P(known) before each attempt and P(right answer) predicted for it, from the answers
    before it only (the next-answer prediction); both (n, T), with the mask of real steps.

    >>> known, right, _ = forward([[1, 1, 1]], BKTParams(0.5, 0.0, 0.2, 0.1))
    >>> [round(float(x), 3) for x in known[0]]
    [0.5, 0.818, 0.953]
    """
    obs, mask = _pad(sequences)
    n, length = obs.shape
    known_before = np.zeros((n, length))
    right = np.zeros((n, length))
    k = np.full(n, p.p_init)
    for t in range(length):
        known_before[:, t] = k
        right[:, t] = k * (1 - p.p_slip) + (1 - k) * p.p_guess
        o = obs[:, t] > 0.5
        like_known = np.where(o, 1 - p.p_slip, p.p_slip) * k
        like_unknown = np.where(o, p.p_guess, 1 - p.p_guess) * (1 - k)
        posterior = like_known / np.maximum(like_known + like_unknown, EPS)
        updated = posterior + (1 - posterior) * p.p_learn
        k = np.where(mask[:, t], updated, k)
    return known_before, right, mask


def mastery(sequence: Sequence[int] | npt.NDArray[np.int_], p: BKTParams) -> float:
    """P(known) after the last attempt of one sequence.

    >>> round(mastery([0, 1, 1, 1], BKTParams()), 3)
    0.961
    """
    if not len(sequence):
        return p.p_init
    known, _, _ = forward([sequence], p)
    k = float(known[0, -1])
    o = int(sequence[-1]) > 0
    like_known = (1 - p.p_slip if o else p.p_slip) * k
    like_unknown = (p.p_guess if o else 1 - p.p_guess) * (1 - k)
    posterior = like_known / max(like_known + like_unknown, EPS)
    return posterior + (1 - posterior) * p.p_learn


def fit(
    sequences: Sequence[Sequence[int] | npt.NDArray[np.int_]],
    *,
    start: BKTParams | None = None,
    max_iter: int = 200,
    tol: float = 1e-6,
) -> tuple[BKTParams, float]:
    """EM estimates of the four parameters from answer sequences of one skill, and the
    final log-likelihood."""
    obs, mask = _pad(sequences)
    if not mask.any():
        return start or BKTParams(), 0.0
    p = start or BKTParams()
    n, length = obs.shape
    previous = -np.inf
    loglik = -np.inf
    for _ in range(max_iter):
        e = _emissions(obs, mask, p)
        trans = np.array([[1 - p.p_learn, p.p_learn], [0.0, 1.0]])
        alpha = np.zeros((n, length, 2))
        scale = np.zeros((n, length))
        a = np.array([1 - p.p_init, p.p_init])[None, :] * e[:, 0]
        scale[:, 0] = a.sum(axis=1)
        alpha[:, 0] = a / scale[:, :1]
        for t in range(1, length):
            a = (alpha[:, t - 1] @ trans) * e[:, t]
            scale[:, t] = a.sum(axis=1)
            alpha[:, t] = a / scale[:, t : t + 1]
        beta = np.ones((n, length, 2))
        for t in range(length - 2, -1, -1):
            b = (e[:, t + 1] * beta[:, t + 1]) @ trans.T
            beta[:, t] = b / scale[:, t + 1 : t + 2]
        gamma = alpha * beta
        gamma /= gamma.sum(axis=2, keepdims=True)
        # expected unknown -> known transitions between attempts t and t + 1
        xi01 = (
            alpha[:, :-1, 0]
            * p.p_learn
            * e[:, 1:, 1]
            * beta[:, 1:, 1]
            / np.maximum(scale[:, 1:], EPS)
        )
        step_mask = mask[:, 1:]
        real = mask.astype(float)
        right = (obs > 0.5) & mask
        p_init = float(gamma[:, 0, 1].mean())
        from_unknown = float((gamma[:, :-1, 0] * step_mask).sum())
        p_learn = float((xi01 * step_mask).sum()) / max(from_unknown, EPS)
        unknown_mass = float((gamma[:, :, 0] * real).sum())
        known_mass = float((gamma[:, :, 1] * real).sum())
        p_guess = float((gamma[:, :, 0] * right).sum()) / max(unknown_mass, EPS)
        p_slip = float((gamma[:, :, 1] * (real - right)).sum()) / max(known_mass, EPS)
        p = BKTParams(
            p_init=float(np.clip(p_init, EPS, 1 - EPS)),
            p_learn=float(np.clip(p_learn, EPS, 1 - EPS)),
            p_guess=float(np.clip(p_guess, EPS, MAX_GUESS_SLIP)),
            p_slip=float(np.clip(p_slip, EPS, MAX_GUESS_SLIP)),
        )
        loglik = float(np.log(np.where(mask, scale, 1.0)).sum())
        if loglik - previous < tol:
            break
        previous = loglik
    return p, loglik


def fit_restarts(
    sequences: Sequence[Sequence[int] | npt.NDArray[np.int_]], *, seed: int = 0, restarts: int = 5
) -> BKTParams:
    """The best of several EM runs from random starts (EM finds local optima)."""
    rng = np.random.default_rng(seed)
    best, best_ll = BKTParams(), -np.inf
    starts = [BKTParams()] + [
        BKTParams(
            float(rng.uniform(0.05, 0.8)),
            float(rng.uniform(0.02, 0.4)),
            float(rng.uniform(0.05, 0.35)),
            float(rng.uniform(0.02, 0.3)),
        )
        for _ in range(restarts - 1)
    ]
    for start in starts:
        params, ll = fit(sequences, start=start)
        if ll > best_ll:
            best, best_ll = params, ll
    return best


def simulate(
    params: BKTParams, n_learners: int, n_attempts: int, seed: int = 0
) -> list[npt.NDArray[np.int_]]:
    """Answer sequences drawn from a BKT model with known parameters (for tests and benchmarks)."""
    rng = np.random.default_rng(seed)
    known = rng.random(n_learners) < params.p_init
    out = np.zeros((n_learners, n_attempts), dtype=int)
    for t in range(n_attempts):
        p_right = np.where(known, 1 - params.p_slip, params.p_guess)
        out[:, t] = rng.random(n_learners) < p_right
        known = known | (rng.random(n_learners) < params.p_learn)
    return list(out)
