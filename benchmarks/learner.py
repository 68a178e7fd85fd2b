"""The learner twin on data generated from known models: BKT recovery and AUC, FSRS recall.

    python benchmarks/learner.py [--seed 1] [--peer-python PATH]   # PATH: a Python with pyBKT

**Knowledge tracing.** Five skills, each with BKT parameters drawn at random (p_init
0.1–0.6, p_learn 0.05–0.3, p_guess 0.05–0.3, p_slip 0.02–0.2); 300 learners answer 20
questions per skill for fitting and another 300 for testing. LifeTwin's EM
(``packs.learning.bkt``, best of 5 starts) is scored on parameter recovery (absolute
error per parameter) and on next-answer AUC on the test learners (each answer predicted
from the answers before it), next to the AUC the true parameters give (the ceiling),
and — when ``--peer-python`` points at an environment with pyBKT 1.4.3 — pyBKT's AUC on
the same rows (pyBKT does not install next to numpy 2.4 and scikit-learn ≥ 1.8).

**Memory.** 2,000 flashcards, each with a hidden half-life (the time to 50 % recall)
that starts at 2–30 days (log-uniform; FSRS's published first stabilities put a typical
Anki user there), grows after every recall (×2–4, depending on the card) and halves
after a lapse; the chance of recall after Δ days is 2^(−Δ/h) (a half-life-regression
truth, not FSRS's own curve, so FSRS gets no home advantage). Reviews follow a
fixed-interval schedule (1, 3, 7, 14, 30, 60 days, each ×0.7–1.5 at random; back to 1
day after a lapse), eight per card. Predictors of each review's outcome, scored by
log-loss and AUC on 1,000 held-out cards: FSRS with its default parameters replaying the
card's own history; the fixed-interval baseline — one forgetting curve 2^(−Δ/h) for
every card with h fitted on the 1,000 training cards (what a fixed schedule assumes:
the interval alone sets recall); and the training recall rate as a constant. A second
cohort of fast forgetters (first half-life 0.5–4 days) shows what FSRS's population
defaults do for a person far from the population.

Prints a summary and, last, one JSON line.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fsrs import Card, Rating

from lifetwin.packs.learning import bkt
from lifetwin.packs.learning.memory import retrievability, scheduler

DEFAULT_PEER = Path("/work/cache/recommend/peers-venv/bin/python")
SCHEDULE = (1.0, 3.0, 7.0, 14.0, 30.0, 60.0)
# A first half-life (recall 50 %) of 2–30 days: FSRS's published initial stabilities (the
# interval to 90 % recall: 0.2–8 days for the four first ratings) put a typical Anki
# user's first half-life at a few days to a few weeks. A second cohort forgets much
# faster (0.5–4 days) to show what FSRS's population defaults do for such a person.
REALISTIC_H0 = (2.0, 30.0)
FAST_H0 = (0.5, 4.0)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The area under the ROC curve (Mann–Whitney, ties counted half).

    >>> auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    0.75
    """
    labels = labels.astype(bool)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos, neg = labels.sum(), (~labels).sum()
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


# -- knowledge tracing -----------------------------------------------------------------------
def tracing(seed: int, peer_python: Path | None) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    skills = []
    rows: list[tuple[int, int, str, int, str]] = []  # order, learner, skill, correct, split
    results = []
    for k in range(5):
        truth = bkt.BKTParams(
            float(rng.uniform(0.1, 0.6)),
            float(rng.uniform(0.05, 0.3)),
            float(rng.uniform(0.05, 0.3)),
            float(rng.uniform(0.02, 0.2)),
        )
        train = bkt.simulate(truth, 300, 20, seed=seed * 100 + k)
        test = bkt.simulate(truth, 300, 20, seed=seed * 100 + 50 + k)
        found = bkt.fit_restarts(train, seed=seed)
        _, p_fit, mask = bkt.forward(test, found)
        _, p_true, _ = bkt.forward(test, truth)
        y = np.array(test)[mask]
        results.append(
            {
                "truth": truth.as_dict(),
                "fitted": found.as_dict(),
                "abs_error": {n: abs(found.as_dict()[n] - v) for n, v in truth.as_dict().items()},
                "auc": auc(p_fit[mask], y),
                "auc_true_params": auc(p_true[mask], y),
                "y": y,
                "p": p_fit[mask],
                "p_true": p_true[mask],
            }
        )
        name = f"skill{k}"
        skills.append(name)
        for split, data, offset in (("train", train, 0), ("test", test, 1000)):
            for learner, seq in enumerate(data):
                for answer in seq:
                    rows.append((len(rows), offset + learner, name, int(answer), split))
    y_all = np.concatenate([r["y"] for r in results])
    p_all = np.concatenate([r["p"] for r in results])
    out: dict[str, Any] = {
        "mean_abs_error": {
            n: float(np.mean([r["abs_error"][n] for r in results]))
            for n in ("p_init", "p_learn", "p_guess", "p_slip")
        },
        "max_abs_error": float(max(max(r["abs_error"].values()) for r in results)),
        "auc": auc(p_all, y_all),  # all skills' test answers pooled
        "auc_true_params": auc(np.concatenate([r["p_true"] for r in results]), y_all),
        "auc_per_skill": [round(r["auc"], 4) for r in results],
        "auc_per_skill_true_params": [round(r["auc_true_params"], 4) for r in results],
        "skills": [
            {"truth": r["truth"], "fitted": {k: round(v, 4) for k, v in r["fitted"].items()}}
            for r in results
        ],
    }
    if peer_python is not None and peer_python.exists():
        table = Path(tempfile.mkdtemp(prefix="lifetwin-bkt-")) / "answers.csv"
        with table.open("w") as handle:
            handle.write("order_id,user_id,skill_name,correct,split\n")
            for row in rows:
                handle.write(",".join(map(str, row)) + "\n")
        script = Path(__file__).with_name("learner_pybkt_peer.py")
        done = subprocess.run(
            [str(peer_python), str(script), str(table), str(seed)],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode == 0:
            peer = json.loads(done.stdout.strip().splitlines()[-1])
            scores = np.array(peer["predictions"])
            out["pybkt"] = {
                "auc": auc(scores, np.array(peer["correct"])),
                "params": peer["params"],
                "fit_s": peer["fit_s"],
            }
        else:
            out["pybkt"] = {"error": done.stderr.strip().splitlines()[-1:]}
    return out


# -- memory ------------------------------------------------------------------------------------
def reviews(n_cards: int, seed: int, h0_days: tuple[float, float]) -> list[list[tuple[float, int]]]:
    """Each card's reviews: (days since the previous review, recalled 1/0)."""
    rng = np.random.default_rng(seed)
    cards = []
    low, high = np.log(h0_days[0]), np.log(h0_days[1])
    for _ in range(n_cards):
        half_life = float(np.exp(rng.uniform(low, high)))
        growth = float(rng.uniform(2.0, 4.0))
        step = 0
        history = [(0.0, 1)]  # first seen and learned
        for _ in range(8):
            interval = SCHEDULE[min(step, len(SCHEDULE) - 1)] * float(rng.uniform(0.7, 1.5))
            recalled = int(rng.random() < 2 ** (-interval / half_life))
            history.append((interval, recalled))
            if recalled:
                half_life *= growth
                step += 1
            else:
                half_life = max(half_life / 2, 0.3)
                step = 0
        cards.append(history)
    return cards


def fsrs_predictions(cards: list[list[tuple[float, int]]]) -> tuple[np.ndarray, np.ndarray]:
    fsrs = scheduler()
    predictions, outcomes = [], []
    for history in cards:
        moment = datetime(2024, 1, 1, tzinfo=UTC)
        card = Card()
        card, _ = fsrs.review_card(card, Rating.Good, review_datetime=moment)
        for interval, recalled in history[1:]:
            moment += timedelta(days=interval)
            predictions.append(retrievability(interval, float(card.stability or 0.0)))
            outcomes.append(recalled)
            rating = Rating.Good if recalled else Rating.Again
            card, _ = fsrs.review_card(card, rating, review_datetime=moment)
    return np.array(predictions), np.array(outcomes)


def memory(seed: int, h0_days: tuple[float, float]) -> dict[str, Any]:
    train = reviews(1000, seed, h0_days)
    test = reviews(1000, seed + 1, h0_days)
    train_d = np.array([d for card in train for d, _ in card[1:]])
    train_y = np.array([y for card in train for _, y in card[1:]])
    grid = np.exp(np.linspace(np.log(0.2), np.log(200), 400))
    losses = [log_loss(2 ** (-train_d / h), train_y) for h in grid]
    h_global = float(grid[int(np.argmin(losses))])
    test_d = np.array([d for card in test for d, _ in card[1:]])
    test_y = np.array([y for card in test for _, y in card[1:]])
    p_fsrs, y_fsrs = fsrs_predictions(test)
    assert np.array_equal(y_fsrs, test_y)
    p_fixed = 2 ** (-test_d / h_global)
    p_const = np.full(len(test_y), train_y.mean())
    return {
        "first_half_life_days": list(h0_days),
        "reviews_scored": len(test_y),
        "recall_rate": float(test_y.mean()),
        "fsrs": {"log_loss": log_loss(p_fsrs, test_y), "auc": auc(p_fsrs, test_y)},
        "fixed_interval_curve": {
            "log_loss": log_loss(p_fixed, test_y),
            "auc": auc(p_fixed, test_y),
            "half_life_days": h_global,
        },
        "constant": {"log_loss": log_loss(p_const, test_y)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--peer-python", type=Path, default=DEFAULT_PEER)
    parser.add_argument("--no-pybkt", action="store_true")
    args = parser.parse_args()
    peer = args.peer_python if args.peer_python.exists() and not args.no_pybkt else None
    traced = tracing(args.seed, peer)
    remembered = memory(args.seed, REALISTIC_H0)
    fast = memory(args.seed, FAST_H0)
    print(
        f"BKT: mean abs error {traced['mean_abs_error']}, AUC {traced['auc']:.4f} "
        f"(true parameters {traced['auc_true_params']:.4f}); pyBKT {traced.get('pybkt')}"
    )
    print(
        f"recall: FSRS log-loss {remembered['fsrs']['log_loss']:.4f}, fixed-interval curve "
        f"{remembered['fixed_interval_curve']['log_loss']:.4f}, constant "
        f"{remembered['constant']['log_loss']:.4f}"
    )
    print(
        f"fast forgetters: FSRS log-loss {fast['fsrs']['log_loss']:.4f}, fixed-interval "
        f"{fast['fixed_interval_curve']['log_loss']:.4f}, "
        f"constant {fast['constant']['log_loss']:.4f}"
    )
    print(
        json.dumps(
            {"seed": args.seed, "bkt": traced, "fsrs": remembered, "fsrs_fast_forgetters": fast}
        )
    )


if __name__ == "__main__":
    main()
