"""A contextual bandit per person: linear UCB over (twin context × item) features.

Why LinUCB in numpy, not river's bandits: river 0.26's ``bandit.LinUCBDisjoint`` keeps
one Bayesian linear regression per arm in Python dicts (its own docstring says it is
"too slow to realistically be used in practice"): it cannot share what it learns across
items, so a 10,000-item catalog is 10,000 cold models, and scoring them took 1.9 s here
(``benchmarks/recommend_regret.py --river`` measures it) against the 20 ms budget. A
shared ("hybrid") linear model over the outer product of context and item features
learns across items and catalogs and ranks 10,000 items in a few milliseconds with two
matrix products. We chose UCB over Thompson sampling because the ranking is then
deterministic — the same twin and catalog give the same list, which makes "why am I
seeing this?" exact and the guardrail tests reproducible — and because its mean score
decomposes exactly into per-context-feature contributions (:meth:`LinUCB.contributions`).

The model: reward ≈ θ·(f ⊗ c), with ``f`` the item vector and ``c`` the context vector;
θ has a Gaussian posterior with precision ``A`` and ``b = A θ̂``, a prior N(θ₀, I/ridge)
whose mean θ₀ holds a few plain links (short on sleep → sleep nudges, little activity →
movement nudges), so a new person gets sensible nudges on day one and the data overrides
them. Evidence fades with a half-life (``half_life_days``, 14 days: the lowest regret
among 7, 14, 30 and 60 days on simulated people whose tastes change, see
docs/benchmarks.md) so the policy follows a person whose preferences drift; the fading
is applied when ranking. A feedback update is
a Sherman–Morrison rank-one update (O(d²)); the history of updates is kept so that a
context feature the person withdraws is removed from the model exactly (:meth:`forget`
refits as if it had never been used).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from lifetwin.packs.recommend.catalog import GOALS, ITEM_DIM, goal_slot

F64 = npt.NDArray[np.float64]

CONTEXT_FEATURES: tuple[str, ...] = (
    "bias",
    "hour_sin",
    "hour_cos",
    "weekend",
    "sleep_debt",
    "recent_activity",
    "mood",
    "glucose",
    "budget_left",
    *(f"goal_{g}" for g in GOALS),
)
CONTEXT_DIM = len(CONTEXT_FEATURES)
CONTEXT_INDEX = {name: i for i, name in enumerate(CONTEXT_FEATURES)}

# The twin data each context feature is computed from: its data category and metrics.
FEATURE_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sleep_debt": ("sleep", ("sleep_duration",)),
    "recent_activity": ("activity", ("steps",)),
    "mood": ("mood", ("mood_valence",)),
    "glucose": ("metabolic", ("glucose",)),
    "budget_left": ("finance", ("event:transaction", "event:purchase")),
}
# Health and finance features: never used to rank a provider's promotion without a grant
# for that provider.
SENSITIVE_FEATURES: frozenset[str] = frozenset(FEATURE_SOURCES)

# Plain links the prior starts from: (context feature, goal an item serves) -> weight.
PRIOR_LINKS: dict[tuple[str, str], float] = {
    ("sleep_debt", "sleep_better"): 0.3,
    # evenings: -sin + cos peaks at 9 pm and is negative from 3 am to 3 pm (-sin alone,
    # negative all afternoon, pushed "wind down tonight" from noon on)
    ("hour_sin", "sleep_better"): -0.14,
    ("hour_cos", "sleep_better"): 0.14,
    ("recent_activity", "move_more"): -0.3,
    ("mood", "stress_less"): -0.3,
    ("glucose", "glucose_in_range"): 0.3,
    ("budget_left", "spend_less"): -0.3,
}


def context_vector(
    hour_local: float,
    weekday: int,
    *,
    sleep_debt_h: float | None = None,
    activity_ratio: float | None = None,
    mood: float | None = None,
    glucose_mg_dl: float | None = None,
    budget_left: float | None = None,
    goals: frozenset[str] | set[str] = frozenset(),
) -> F64:
    """The twin's state as the policy sees it, each feature scaled to about [-2, 2].

    Missing data (or data not allowed for recommendations) is 0, the neutral value.
    ``activity_ratio`` is the last day's steps over the person's usual day, minus one;
    ``budget_left`` is the share of the month's budget left minus the share of the
    month still to come (negative: spending runs ahead of plan).

    >>> v = context_vector(21.0, 5, sleep_debt_h=2.0, goals={"sleep_better"})
    >>> round(float(v[CONTEXT_INDEX["sleep_debt"]]), 2), float(v[CONTEXT_INDEX["weekend"]])
    (0.5, 1.0)
    """
    v = np.zeros(CONTEXT_DIM)
    v[0] = 1.0
    angle = 2 * math.pi * (hour_local % 24) / 24
    v[CONTEXT_INDEX["hour_sin"]] = math.sin(angle)
    v[CONTEXT_INDEX["hour_cos"]] = math.cos(angle)
    v[CONTEXT_INDEX["weekend"]] = 1.0 if weekday >= 5 else 0.0
    if sleep_debt_h is not None:
        v[CONTEXT_INDEX["sleep_debt"]] = min(max(sleep_debt_h, 0.0) / 4.0, 2.0)
    if activity_ratio is not None:
        v[CONTEXT_INDEX["recent_activity"]] = min(max(activity_ratio, -1.0), 1.0)
    if mood is not None:
        v[CONTEXT_INDEX["mood"]] = min(max(mood, -1.0), 1.0)
    if glucose_mg_dl is not None:
        v[CONTEXT_INDEX["glucose"]] = min(max((glucose_mg_dl - 120.0) / 60.0, -2.0), 2.0)
    if budget_left is not None:
        v[CONTEXT_INDEX["budget_left"]] = min(max(budget_left, -1.0), 1.0)
    for goal in goals:
        if goal in GOALS:
            v[CONTEXT_INDEX[f"goal_{goal}"]] = 1.0
    return v


def spd_inverse(a: F64) -> F64:
    """The inverse of a symmetric positive definite matrix, through its Cholesky factor.

    >>> spd_inverse(np.array([[4.0, 0.0], [0.0, 2.0]])).round(12).tolist()
    [[0.25, 0.0], [0.0, 0.5]]
    """
    from scipy.linalg import lapack  # here: the command line starts without scipy

    factor, info = lapack.dpotrf(a, lower=False)
    if info != 0:
        raise np.linalg.LinAlgError("the policy's precision matrix is not positive definite")
    inverse, info = lapack.dpotri(factor, lower=False)
    return np.asarray(np.triu(inverse) + np.triu(inverse, 1).T, dtype=np.float64)


def personal_prior() -> F64:
    """θ₀ for a person: the plain links, laid out as the (item × context) weight grid."""
    grid = np.zeros((ITEM_DIM, CONTEXT_DIM))
    for (feature, goal), weight in PRIOR_LINKS.items():
        grid[goal_slot(goal), CONTEXT_INDEX[feature]] = weight
    for goal in GOALS:  # an item serving a goal the person declared starts a little ahead
        grid[goal_slot(goal), CONTEXT_INDEX[f"goal_{goal}"]] = 0.1
    return grid.ravel()


class LinUCB:
    """Linear UCB over the outer product of item and context vectors.

    Hyper-parameters live in ``__init__`` only (river's contract): ``clone()`` gives a
    fresh policy with the same settings.
    """

    def __init__(
        self,
        context_dim: int = CONTEXT_DIM,
        item_dim: int = ITEM_DIM,
        *,
        alpha: float = 0.3,
        ridge: float = 1.0,
        half_life_days: float | None = 14.0,
        prior: F64 | None = None,
        max_history: int = 5000,
    ) -> None:
        self.context_dim = context_dim
        self.item_dim = item_dim
        self.alpha = alpha
        self.ridge = ridge
        self.half_life_days = half_life_days
        self.max_history = max_history
        d = context_dim * item_dim
        self.prior = np.zeros(d) if prior is None else np.asarray(prior, dtype=float).copy()
        if self.prior.shape != (d,):
            raise ValueError(f"the prior has {self.prior.shape} weights, not {d}")
        self.A = np.eye(d) * ridge
        self.A_inv = np.eye(d) / ridge
        self.b = self.prior * ridge
        self.theta = self.prior.copy()
        self.t_days = 0.0  # the time (days) the fading was last applied at
        self._hist_c: list[F64] = []
        self._hist_f: list[F64] = []
        self._hist_r: list[float] = []
        self._hist_w: list[float] = []
        self._hist_t: list[float] = []

    @property
    def dim(self) -> int:
        return self.context_dim * self.item_dim

    @property
    def n_updates(self) -> int:
        return len(self._hist_r)

    def clone(self) -> LinUCB:
        return LinUCB(
            self.context_dim,
            self.item_dim,
            alpha=self.alpha,
            ridge=self.ridge,
            half_life_days=self.half_life_days,
            prior=self.prior,
            max_history=self.max_history,
        )

    # -- ranking ------------------------------------------------------------------------
    def weights(self) -> F64:
        """θ̂ as an (item feature × context feature) grid."""
        return self.theta.reshape(self.item_dim, self.context_dim)

    def scores(self, context: F64, items: F64) -> tuple[F64, F64, F64]:
        """(upper confidence score, mean, exploration bonus) for every item row."""
        c = np.asarray(context, dtype=float)
        wc = self.weights() @ c
        mean = items @ wc
        blocks = self.A_inv.reshape(
            self.item_dim, self.context_dim, self.item_dim, self.context_dim
        )
        m = np.einsum("iajb,a,b->ij", blocks, c, c, optimize=True)
        var = ((items @ m) * items).sum(axis=1)
        bonus = self.alpha * np.sqrt(np.maximum(var, 0.0))
        return mean + bonus, mean, bonus

    def contributions(self, context: F64, item: F64) -> F64:
        """How much each context feature adds to the item's mean score (they sum to it)."""
        return np.asarray(context, dtype=float) * (np.asarray(item, dtype=float) @ self.weights())

    # -- learning -----------------------------------------------------------------------
    def learn_one(
        self, context: F64, item: F64, reward: float, *, weight: float = 1.0, at_days: float = 0.0
    ) -> None:
        """One observed reward for an item shown in a context (a rank-one update)."""
        if weight <= 0:
            return
        phi = np.outer(item, context).ravel()
        a_phi = self.A_inv @ phi
        denom = 1.0 + weight * float(phi @ a_phi)
        self.A_inv -= np.outer(a_phi, a_phi) * (weight / denom)
        self.A += weight * np.outer(phi, phi)
        self.b += weight * reward * phi
        self.theta = self.A_inv @ self.b
        self._hist_c.append(np.asarray(context, dtype=float).copy())
        self._hist_f.append(np.asarray(item, dtype=float).copy())
        self._hist_r.append(float(reward))
        self._hist_w.append(float(weight))
        self._hist_t.append(float(at_days))
        if len(self._hist_r) > self.max_history:
            # The oldest update has faded the most; it leaves the history, not the model.
            for hist in (self._hist_c, self._hist_f, self._hist_r, self._hist_w, self._hist_t):
                del hist[0]

    def learn_many(self, contexts: F64, items: F64, rewards: F64, *, at_days: float = 0.0) -> None:
        """Many observed rewards at once (a batch refit: faster than one by one)."""
        for c, f, r in zip(contexts, items, rewards, strict=True):
            self._hist_c.append(np.asarray(c, dtype=float).copy())
            self._hist_f.append(np.asarray(f, dtype=float).copy())
            self._hist_r.append(float(r))
            self._hist_w.append(1.0)
            self._hist_t.append(float(at_days))
        excess = len(self._hist_r) - self.max_history
        if excess > 0:
            for hist in (self._hist_c, self._hist_f, self._hist_r, self._hist_w, self._hist_t):
                del hist[:excess]
        self.refit(max(self.t_days, at_days))

    def fade_to(self, t_days: float) -> None:
        """Let evidence older than now fade by its half-life (applied when ranking)."""
        if self.half_life_days is None or t_days <= self.t_days:
            self.t_days = max(self.t_days, t_days)
            return
        gamma = 0.5 ** ((t_days - self.t_days) / self.half_life_days)
        eye = np.eye(self.dim)
        self.A = gamma * self.A + (1 - gamma) * self.ridge * eye
        self.b = gamma * self.b + (1 - gamma) * self.ridge * self.prior
        self._refresh()
        self.t_days = t_days

    def _refresh(self) -> None:
        self.A = (self.A + self.A.T) / 2
        self.A_inv = spd_inverse(self.A)
        self.theta = self.A_inv @ self.b

    def refit(self, t_days: float | None = None) -> None:
        """Rebuild the model from the prior and the kept history (faded to ``t_days``)."""
        now = self.t_days if t_days is None else t_days
        self.A = np.eye(self.dim) * self.ridge
        self.b = self.prior * self.ridge
        if self._hist_r:
            c = np.stack(self._hist_c)
            f = np.stack(self._hist_f)
            phi = (f[:, :, None] * c[:, None, :]).reshape(len(c), -1)
            w = np.asarray(self._hist_w)
            if self.half_life_days is not None:
                w = w * 0.5 ** (
                    np.maximum(now - np.asarray(self._hist_t), 0.0) / self.half_life_days
                )
            self.A += phi.T @ (phi * w[:, None])
            self.b += phi.T @ (w * np.asarray(self._hist_r))
        self.t_days = now
        self._refresh()

    def forget(self, feature_indices: list[int]) -> None:
        """Remove context features from the model and its history, as if never used."""
        if not feature_indices:
            return
        for c in self._hist_c:
            c[feature_indices] = 0.0
        self.refit()

    # -- saving ------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        settings = {
            "context_dim": self.context_dim,
            "item_dim": self.item_dim,
            "alpha": self.alpha,
            "ridge": self.ridge,
            "half_life_days": self.half_life_days,
            "max_history": self.max_history,
            "t_days": self.t_days,
        }
        n = len(self._hist_r)
        np.savez(
            buffer,
            settings=np.frombuffer(json.dumps(settings).encode(), dtype=np.uint8),
            prior=self.prior,
            A=self.A,
            b=self.b,
            hist_c=np.stack(self._hist_c) if n else np.zeros((0, self.context_dim)),
            hist_f=np.stack(self._hist_f) if n else np.zeros((0, self.item_dim)),
            hist_r=np.asarray(self._hist_r),
            hist_w=np.asarray(self._hist_w),
            hist_t=np.asarray(self._hist_t),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> LinUCB:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            settings: Mapping[str, float] = json.loads(bytes(data["settings"]).decode())
            policy = cls(
                int(settings["context_dim"]),
                int(settings["item_dim"]),
                alpha=float(settings["alpha"]),
                ridge=float(settings["ridge"]),
                half_life_days=settings["half_life_days"],
                prior=data["prior"],
                max_history=int(settings["max_history"]),
            )
            policy.A = data["A"].copy()
            policy.b = data["b"].copy()
            policy.t_days = float(settings["t_days"])
            policy._hist_c = list(data["hist_c"].copy())
            policy._hist_f = list(data["hist_f"].copy())
            policy._hist_r = [float(x) for x in data["hist_r"]]
            policy._hist_w = [float(x) for x in data["hist_w"]]
            policy._hist_t = [float(x) for x in data["hist_t"]]
        policy._refresh()
        return policy


def personal_policy() -> LinUCB:
    """A new person's policy over the twin context and catalog item vectors."""
    return LinUCB(CONTEXT_DIM, ITEM_DIM, prior=personal_prior())
