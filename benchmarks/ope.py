"""Off-policy evaluation on the Open Bandit Dataset sample: validation and LifeTwin's policy.

    python benchmarks/ope.py [--data ../shared/realdata/bandit] [--boot 1000] [--seed 0]
                             [--peer-python PATH]   # a Python with obp 0.5.7, optional

Data: the OBD small sample (Saito et al., NeurIPS Datasets & Benchmarks 2021; CC BY 4.0),
"all" campaign, 10,000 impressions logged by a uniform random policy and 10,000 by
Bernoulli Thompson sampling (BTS), each with the true propensity of the logged (item,
position); 80 items, 3 positions.

**Cross-policy validation, as the dataset's authors do**: estimate the value (CTR) of
one logging policy from the other policy's log and compare it with its on-policy value
(the mean click of its own log). BTS from the random log needs BTS's probability of
every item at every position for every random-log round; the log ships BTS's
propensity of the *logged* pair only, and BTS's posterior was updated in batches during
the week (its logged propensities for one pair vary). obp computes it by Monte Carlo
from the BTS prior the ZOZOTOWN system started from (``bts_prior`` below, via obp in a
separate environment when one is given). Our own, data-only equivalent: BTS does not use
the user's features, so the week's BTS log is a draw from the time-averaged BTS policy
π̄(item | position) = E_t[π_t], and the BTS log's mean click is that mixture's value
(linearity over rounds); the frequency of each item at each position in the BTS log is
an unbiased estimate of π̄. So "BTS" here is π̄ estimated from the BTS log, evaluated on
the random log. The reverse direction (random from the BTS log) is exact: 1/80.
DR's reward model is a per-(item, position) CTR shrunk toward the position's CTR
(prior weight 50 impressions), cross-fitted on two halves of the evaluation log.

**LifeTwin's policy**: the same LinUCB class the person's policy uses, over user
features (four categorical, one-hot) × item identity, fitted on the first half (by
time) of a log, shown slates ranked by its upper confidence score (position k gets the
k-th item: deterministic), evaluated on the second half of the same log and compared
with the logging policy's CTR on that half (and the other policy's). A non-personalized
"popular items" ranking trained the same way is evaluated alongside.

Prints a summary and, last, one JSON line.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads only slow a 2-core box

import argparse
import csv
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from lifetwin.packs.recommend import ope
from lifetwin.packs.recommend.policy import LinUCB

N_ITEMS, N_POS = 80, 3
ESTIMATORS = ("ipw", "snipw", "dr")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "bandit"
DEFAULT_PEER = Path("/work/cache/recommend/peers-venv/bin/python")
SHRINK = 50.0


def load(path: Path) -> dict[str, np.ndarray]:
    with gzip.open(path, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows.sort(key=lambda r: r["timestamp"])
    return {
        "action": np.array([int(r["item_id"]) for r in rows]),
        "position": np.array([int(r["position"]) - 1 for r in rows]),
        "reward": np.array([float(r["click"]) for r in rows]),
        "pscore": np.array([float(r["propensity_score"]) for r in rows]),
        "users": np.array([[r[f"user_feature_{k}"] for k in range(4)] for r in rows]),
    }


def take(log: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[index] for k, v in log.items()}


def ctr_model(log: dict[str, np.ndarray]) -> np.ndarray:
    """CTR per (item, position), shrunk toward the position's CTR: q̂[item, position]."""
    q = np.zeros((N_ITEMS, N_POS))
    for k in range(N_POS):
        at = log["position"] == k
        base = log["reward"][at].mean() if at.any() else 0.0
        shown = np.bincount(log["action"][at], minlength=N_ITEMS)
        clicks = np.bincount(log["action"][at], weights=log["reward"][at], minlength=N_ITEMS)
        q[:, k] = (clicks + SHRINK * base) / (shown + SHRINK)
    return q


def cross_fitted_q(log: dict[str, np.ndarray], seed: int) -> np.ndarray:
    """q̂ per round, each from the half of the log the round is not in: (n, items, positions)."""
    n = len(log["reward"])
    fold = np.random.default_rng(seed).integers(0, 2, n)
    out = np.zeros((n, N_ITEMS, N_POS))
    for f in (0, 1):
        out[fold == f] = ctr_model(take(log, np.flatnonzero(fold != f)))[None]
    return out


def evaluate(
    log: dict[str, np.ndarray],
    action_dist: np.ndarray,
    q_hat: np.ndarray,
    boot: int,
    seed: int,
) -> dict[str, dict[str, float]]:
    """IPW, SNIPW and DR of a policy given as action_dist[round, item, position]."""
    n = len(log["reward"])
    rows = np.arange(n)
    pi_e = action_dist[rows, log["action"], log["position"]]
    q_logged = q_hat[rows, log["action"], log["position"]]
    q_policy = (action_dist[rows, :, log["position"]] * q_hat[rows, :, log["position"]]).sum(axis=1)
    out = {}
    for name in ESTIMATORS:
        found = ope.estimate(
            name,
            log["reward"],
            log["pscore"],
            pi_e,
            q_logged=q_logged,
            q_policy=q_policy,
            n_boot=boot,
            seed=seed,
        )
        out[name] = found.as_dict()
    w = pi_e / log["pscore"]
    matched = pi_e > 0
    clicks = int(log["reward"][matched].sum())
    out["support"] = {
        "matched_rounds": int(matched.sum()),
        "clicks_in_matched": clicks,
        "effective_sample_size": float(w.sum() ** 2 / max((w**2).sum(), 1e-12)),
    }
    if clicks == 0 and matched.any():
        # The bootstrap cannot show uncertainty without a single click; the rule of three
        # bounds the click rate of the matched rounds (95 %), scaled as IPW scales it.
        out["support"]["ipw_upper_95_rule_of_three"] = float(
            w[matched].sum() / n * 3 / matched.sum()
        )
    return out


def peer(python: Path | None, *args: str) -> dict[str, Any] | None:
    if python is None or not python.exists():
        return None
    script = Path(__file__).with_name("ope_obp_peer.py")
    done = subprocess.run(
        [str(python), str(script), *args], capture_output=True, text=True, timeout=1200
    )
    if done.returncode != 0:
        print(f"obp peer failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def with_peer(
    python: Path | None,
    log: dict[str, np.ndarray],
    action_dist: np.ndarray,
    q_hat: np.ndarray,
    scratch: Path,
    name: str,
) -> dict[str, Any] | None:
    if python is None or not python.exists():
        return None
    target = scratch / f"{name}.npz"
    np.savez(
        target,
        reward=log["reward"],
        action=log["action"],
        position=log["position"],
        pscore=log["pscore"],
        action_dist=action_dist,
        q_hat=q_hat,
    )
    return peer(python, "estimate", str(target))


def rel_error(estimate: float, truth: float) -> float:
    return abs(estimate - truth) / truth


def user_onehot(users: np.ndarray, vocab: list[dict[str, int]]) -> np.ndarray:
    width = 1 + sum(len(v) for v in vocab)
    out = np.zeros((len(users), width))
    out[:, 0] = 1.0
    start = 1
    for k, values in enumerate(vocab):
        for i, value in enumerate(users[:, k]):
            j = values.get(value)
            if j is not None:
                out[i, start + j] = 1.0
        start += len(values)
    return out


def lifetwin_slates(train: dict[str, np.ndarray], test: dict[str, np.ndarray]) -> np.ndarray:
    """The LinUCB policy fitted on ``train``: its slate for each test round (n, positions)."""
    vocab = [{v: i for i, v in enumerate(sorted(set(train["users"][:, k])))} for k in range(4)]
    contexts = user_onehot(train["users"], vocab)
    items = np.eye(N_ITEMS)
    policy = LinUCB(contexts.shape[1], N_ITEMS, alpha=0.3, half_life_days=None, max_history=20_000)
    policy.learn_many(contexts, items[train["action"]], train["reward"])
    test_contexts = user_onehot(test["users"], vocab)
    slates = np.zeros((len(test_contexts), N_POS), dtype=int)
    cache: dict[bytes, np.ndarray] = {}
    for i, c in enumerate(test_contexts):
        key = c.tobytes()
        if key not in cache:
            score, _, _ = policy.scores(c, items)
            cache[key] = np.argsort(-score, kind="stable")[:N_POS]
        slates[i] = cache[key]
    return slates


def popular_slates(train: dict[str, np.ndarray], n: int) -> np.ndarray:
    q = ctr_model(train).mean(axis=1)
    return np.tile(np.argsort(-q, kind="stable")[:N_POS], (n, 1))


def slate_dist(slates: np.ndarray) -> np.ndarray:
    dist = np.zeros((len(slates), N_ITEMS, N_POS))
    for k in range(N_POS):
        dist[np.arange(len(slates)), slates[:, k], k] = 1.0
    return dist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-python", type=Path, default=DEFAULT_PEER)
    args = parser.parse_args()
    peer_python: Path | None = args.peer_python if args.peer_python.exists() else None
    logs = {name: load(args.data / name / "all.csv.gz") for name in ("random", "bts")}
    on_policy = {
        name: ope.mean_with_ci(log["reward"], n_boot=args.boot, seed=args.seed).as_dict()
        for name, log in logs.items()
    }
    scratch = Path(tempfile.mkdtemp(prefix="lifetwin-ope-"))

    # -- cross-policy validation --------------------------------------------------------
    bts = logs["bts"]
    mixture = np.zeros((N_ITEMS, N_POS))
    for k in range(N_POS):
        at = bts["position"] == k
        mixture[:, k] = np.bincount(bts["action"][at], minlength=N_ITEMS) / at.sum()
    policies: dict[str, tuple[str, str, np.ndarray]] = {
        # name: (evaluated policy, log it is evaluated on, its action distribution)
        "bts_from_random": ("bts", "random", mixture),
        "random_from_bts": ("random", "bts", np.full((N_ITEMS, N_POS), 1 / N_ITEMS)),
    }
    prior_file = scratch / "bts_prior.npy"
    if peer(peer_python, "bts_prior", "100000", str(args.seed), str(prior_file)) is not None:
        policies["bts_prior_from_random"] = ("bts", "random", np.load(prior_file))
    cross: dict[str, Any] = {}
    obp_check: dict[str, Any] = {}
    for direction, (target, source, dist) in policies.items():
        log = logs[source]
        n = len(log["reward"])
        action_dist = np.broadcast_to(dist, (n, N_ITEMS, N_POS)).copy()
        q_hat = cross_fitted_q(log, args.seed)
        found = evaluate(log, action_dist, q_hat, args.boot, args.seed)
        truth = on_policy[target]["estimate"]
        for name in ESTIMATORS:
            found[name]["on_policy"] = truth
            found[name]["rel_error"] = rel_error(found[name]["estimate"], truth)
            found[name]["covers"] = bool(found[name]["ci_low"] <= truth <= found[name]["ci_high"])
        cross[direction] = found
        theirs = with_peer(peer_python, log, action_dist, q_hat, scratch, direction)
        if theirs is not None:
            obp_check[direction] = {
                name: {
                    "obp": theirs[name],
                    "abs_diff_estimate": abs(theirs[name]["estimate"] - found[name]["estimate"]),
                }
                for name in ESTIMATORS
            }
    main_directions = ("bts_from_random", "random_from_bts")
    coverage = float(
        np.mean([cross[d][name]["covers"] for d in main_directions for name in ESTIMATORS])
    )

    # -- LifeTwin's policy, trained on one half, evaluated on the other -------------------
    lifetwin: dict[str, Any] = {}
    for name, log in logs.items():
        n = len(log["reward"])
        train, test = take(log, np.arange(n // 2)), take(log, np.arange(n // 2, n))
        q_train = np.broadcast_to(ctr_model(train), (len(test["reward"]), N_ITEMS, N_POS))
        result: dict[str, Any] = {}
        for label, slates in (
            ("lifetwin", lifetwin_slates(train, test)),
            ("popular", popular_slates(train, len(test["reward"]))),
        ):
            result[label] = evaluate(test, slate_dist(slates), q_train, args.boot, args.seed)
        other = "bts" if name == "random" else "random"
        other_half = logs[other]["reward"][len(logs[other]["reward"]) // 2 :]
        result["logging_ctr_test_half"] = ope.mean_with_ci(
            test["reward"], n_boot=args.boot, seed=args.seed
        ).as_dict()
        result[f"{other}_ctr_test_half"] = ope.mean_with_ci(
            other_half, n_boot=args.boot, seed=args.seed
        ).as_dict()
        lifetwin[f"{name}_log"] = result

    print(f"on-policy CTR: random {on_policy['random']}, bts {on_policy['bts']}")
    for direction, found in cross.items():
        for name in ESTIMATORS:
            f = found[name]
            print(
                f"{direction:24s} {name:6s} {f['estimate']:.5f} [{f['ci_low']:.5f}, "
                f"{f['ci_high']:.5f}] vs {f['on_policy']:.5f}: rel. error {f['rel_error']:.3f}"
            )
    for name, result in lifetwin.items():
        for label in ("lifetwin", "popular"):
            for est in ESTIMATORS:
                f = result[label][est]
                print(
                    f"{name:10s} {label:9s} {est:6s} {f['estimate']:.5f} "
                    f"[{f['ci_low']:.5f}, {f['ci_high']:.5f}]"
                )
    summary = {
        "data": "OBD small sample, campaign all, 10,000 rounds per logging policy",
        "on_policy": on_policy,
        "cross_policy": cross,
        "ci_coverage": coverage,
        "lifetwin_policy": lifetwin,
        "obp": obp_check or None,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
