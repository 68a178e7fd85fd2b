"""The population model's maths: logistic regression in numpy, pure functions.

Weights are one flat vector ``[w_1 … w_d, b]`` so they travel as one array
between vaults and the aggregator.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def init_weights(n_features: int) -> F64:
    return np.zeros(n_features + 1, dtype=np.float64)


def logits(weights: F64, x: F64) -> F64:
    return np.asarray(x @ weights[:-1] + weights[-1], dtype=np.float64)


def predict_proba(weights: F64, x: F64) -> F64:
    """P(y = 1) for each row.

    >>> predict_proba(np.array([1.0, 0.0]), np.array([[0.0], [100.0]])).round(3).tolist()
    [0.5, 1.0]
    """
    z = np.clip(logits(weights, x), -30, 30)
    return 1.0 / (1.0 + np.exp(-z))


def gradient(weights: F64, x: F64, y: F64, l2: float = 0.0) -> F64:
    """Mean log-loss gradient (with an L2 penalty on the weights, not the bias)."""
    err = predict_proba(weights, x) - y
    grad = np.append(x.T @ err, err.sum()) / max(len(y), 1)
    grad[:-1] += l2 * weights[:-1]
    return grad


def local_train(
    weights: F64, x: F64, y: F64, *, epochs: int = 5, lr: float = 0.5, l2: float = 1e-3
) -> F64:
    """A few full-batch gradient steps on one person's examples (returns new weights)."""
    w = weights.copy()
    if len(y) == 0:
        return w
    for _ in range(epochs):
        w -= lr * gradient(w, x, y, l2)
    return w


def train_central(x: F64, y: F64, *, steps: int = 500, lr: float = 0.5, l2: float = 1e-3) -> F64:
    """Full-batch gradient descent on pooled data (the benchmark's reference only)."""
    return local_train(init_weights(x.shape[1]), x, y, epochs=steps, lr=lr, l2=l2)


def clip_update(update: F64, clipping_norm: float) -> F64:
    """Scale an update down to L2 norm ``clipping_norm`` when it is longer.

    >>> clip_update(np.array([3.0, 4.0]), 1.0).round(6).tolist()
    [0.6, 0.8]
    """
    norm = float(np.linalg.norm(update))
    return update if norm <= clipping_norm else update * (clipping_norm / norm)


def roc_auc(y: F64, score: F64) -> float:
    """Area under the ROC curve (ties counted half), NaN with one class only.

    >>> roc_auc(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    pos, neg = score[y == 1], score[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([neg, pos]), kind="mergesort")
    allv = np.concatenate([neg, pos])[order]
    ranks = np.empty(len(allv))
    # average ranks over ties
    _, first, counts = np.unique(allv, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks = np.repeat(avg, counts)
    is_pos = np.concatenate([np.zeros(len(neg)), np.ones(len(pos))])[order]
    rank_sum = ranks[is_pos == 1].sum()
    return float((rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
