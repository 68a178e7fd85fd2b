"""The obp side of benchmarks/ope.py: run in a SEPARATE environment that has obp 0.5.7.

Never imported by LifeTwin. ``benchmarks/ope.py`` writes each evaluation's inputs to an
.npz file and calls ``PYTHON ope_obp_peer.py estimate FILE`` (obp's IPW, SNIPW and DR on
exactly those inputs, with obp's bootstrap intervals) or ``... bts_prior N_SIM SEED
OUT`` (the action distribution of the Bernoulli Thompson sampling policy with the
ZOZOTOWN prior, by obp's Monte Carlo, as the dataset's authors compute it). The last
printed line is one JSON object.

obp 0.5.7's metadata wants Python < 3.11 and imports PyTorch at module level for its
neural learners; the benchmark environment installs it with ``--no-deps
--ignore-requires-python`` next to numpy < 2.3, pandas < 3, scikit-learn < 1.6, and a
stub ``torch`` module (the estimators used here are pure numpy). See docs/benchmarks.md.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def estimate(path: str) -> dict[str, dict[str, float]]:
    from obp.ope import (
        DoublyRobust,
        InverseProbabilityWeighting,
        SelfNormalizedInverseProbabilityWeighting,
    )

    data = np.load(path)
    common = {
        "reward": data["reward"],
        "action": data["action"].astype(int),
        "position": data["position"].astype(int),
        "pscore": data["pscore"],
        "action_dist": data["action_dist"],
    }
    out: dict[str, dict[str, float]] = {}
    for name, estimator, extra in (
        ("ipw", InverseProbabilityWeighting(), {}),
        ("snipw", SelfNormalizedInverseProbabilityWeighting(), {}),
        ("dr", DoublyRobust(), {"estimated_rewards_by_reg_model": data["q_hat"]}),
    ):
        value = estimator.estimate_policy_value(**common, **extra)
        interval = estimator.estimate_interval(
            **common, **extra, alpha=0.05, n_bootstrap_samples=1000, random_state=0
        )
        out[name] = {
            "estimate": float(value),
            "ci_low": float(interval["95.0% CI (lower)"]),
            "ci_high": float(interval["95.0% CI (upper)"]),
        }
    return out


def bts_prior(n_sim: int, seed: int, target: str) -> dict[str, float]:
    from obp.policy import BernoulliTS

    policy = BernoulliTS(
        n_actions=80, len_list=3, is_zozotown_prior=True, campaign="all", random_state=seed
    )
    dist = policy.compute_batch_action_dist(n_sim=n_sim, n_rounds=1)[0]
    np.save(target, dist)
    return {"n_sim": n_sim, "max_prob": float(dist.max())}


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "estimate":
        print(json.dumps(estimate(sys.argv[2])))
    elif command == "bts_prior":
        print(json.dumps(bts_prior(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
    else:
        raise SystemExit(f"unknown command {command}")
