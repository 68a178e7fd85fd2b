"""The personal policy on simulated people whose preferences drift: regret, adaptation,
guardrails, speed.

    python benchmarks/recommend_regret.py [--people 40] [--days 90] [--seed 100]
                                          [--plots docs] [--no-river]

Each simulated person declares two to four goals and has a hidden taste: the chance of
following a nudge is sigmoid(-1.5 + f·Θ·c) for the nudge's item vector f and the twin
context c (time of day, weekday, sleep debt, activity, mood, glucose, budget, goals),
with Θ drawn at random (entries N(0, 0.8²)). Halfway, the taste changes
(Θ ← 0.3·Θ + 0.95·Θ_new). The context follows the person's days: sleep debt and
activity as AR(1) processes, mood and glucose noisy. Five rounds a day (8, 12, 16, 20
and 23 h; the last falls in the quiet hours), on 5 % of days the person pauses
recommendations. Each round the policy shows a slate of two built-in nudges through the
real ranking (``rank_slate``, all guardrails on); each shown nudge is followed or not,
and the policy learns as the capability does (followed: reward 1; not: "not now",
reward 0 at half weight); evidence fades with the policy's half-life (14 days, chosen
among 7, 14, 30 and 60 on the development cohort, seed 1, 10 people), applied once a day.

Compared on the same people and contexts: an oracle (knows each chance, same
guardrails), a non-personalized policy (one LinUCB over item vectors without context,
shared and updated by everybody: "what most people follow"), and random eligible
slates. Regret = the oracle's expected follows minus the policy's, per round.
Time to adapt: rounds after the change until the policy's regret per round (mean over
people and the last 20 rounds) has lost half of its excess over the 40 rounds before the
change, and until it is back within 10 % of that level.
Every shown slate is checked against every guardrail (``guardrails.check_slate``).

Speed: ranking a 10,000-item catalog (scores and guardrails) and one feedback update,
median of repeated runs; river's ``LinUCBDisjoint`` picking among 10,000 arms for the
same context, for the choice of library (``--no-river`` skips it).

Prints a summary and, last, one JSON line.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads only slow a 2-core box

import argparse
import json
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from lifetwin.packs.recommend.catalog import (
    GOALS,
    ITEM_DIM,
    Catalog,
    CatalogIndex,
    CatalogItem,
    wellbeing_nudges,
)
from lifetwin.packs.recommend.guardrails import (
    RecommendSettings,
    Shown,
    check_slate,
    choose_slate,
    recent_ids,
    shown_today,
    stop_reason,
    withheld_reason,
)
from lifetwin.packs.recommend.policy import (
    CONTEXT_DIM,
    LinUCB,
    context_vector,
    personal_policy,
)
from lifetwin.packs.recommend.ranking import rank_slate

HOURS = (8, 12, 16, 20, 23)
START = datetime(2024, 1, 1, tzinfo=UTC)
WINDOW = 20


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Person:
    def __init__(self, rng: np.random.Generator, days: int) -> None:
        self.rng = rng
        self.goals = tuple(rng.choice(sorted(GOALS), size=rng.integers(2, 5), replace=False))
        self.theta = rng.normal(0, 0.8, (ITEM_DIM, CONTEXT_DIM))
        self.theta_after = 0.3 * self.theta + 0.95 * rng.normal(0, 0.8, (ITEM_DIM, CONTEXT_DIM))
        self.paused_days = set(np.flatnonzero(rng.random(days) < 0.05).tolist())
        self.sleep_debt, self.activity = 1.0, 0.0
        self.glucose = rng.random() < 0.3  # a person with CGM data
        self.budget = "spend_less" in self.goals

    def context(self, moment: datetime) -> np.ndarray:
        r = self.rng
        if moment.hour == HOURS[0]:
            self.sleep_debt = max(0.0, 0.7 * self.sleep_debt + r.normal(0.6, 1.0))
        self.activity = float(np.clip(0.6 * self.activity + r.normal(0, 0.4), -1, 1))
        return context_vector(
            moment.hour,
            moment.weekday(),
            sleep_debt_h=self.sleep_debt,
            activity_ratio=self.activity,
            mood=float(np.clip(r.normal(0.1, 0.4), -1, 1)),
            glucose_mg_dl=float(r.normal(140, 40)) if self.glucose else None,
            budget_left=float(r.normal(0, 0.3)) if self.budget else None,
            goals=set(self.goals),
        )

    def chances(self, matrix: np.ndarray, context: np.ndarray, changed: bool) -> np.ndarray:
        theta = self.theta_after if changed else self.theta
        return sigmoid(-1.5 + matrix @ theta @ context)


def eligible_mask(
    index: CatalogIndex, settings: RecommendSettings, now: datetime, shown: list[Shown]
) -> np.ndarray:
    today = shown_today(shown, now)
    return np.array(
        [withheld_reason(i, settings, now, today, set(), {}) is None for i in index.items]
    )


def oracle_slate(
    index: CatalogIndex,
    settings: RecommendSettings,
    now: datetime,
    shown: list[Shown],
    chances: np.ndarray,
) -> list[int]:
    if stop_reason(settings, now, shown) is not None:
        return []
    room = settings.max_per_day - sum(shown_today(shown, now).values())
    return choose_slate(
        index.items,
        chances,
        eligible_mask(index, settings, now, shown),
        k=min(settings.slate_size, room),
        declared=settings.goals,
        recent=recent_ids(shown, now),
    )


def simulate(people: int, days: int, seed: int, half_life_days: float) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    index = CatalogIndex(wellbeing_nudges())
    rounds = days * len(HOURS)
    change = rounds // 2
    shared = LinUCB(1, ITEM_DIM, half_life_days=half_life_days)
    names = ("lifetwin", "non_personalized", "random", "oracle")
    follows = {n: np.zeros((people, rounds)) for n in names}
    shown_count = {n: 0 for n in names}
    violations = {n: 0 for n in names}
    checked = 0
    messages: list[str] = []
    population = [Person(np.random.default_rng(seed * 1000 + p), days) for p in range(people)]
    policies = [personal_policy() for _ in range(people)]
    for policy in policies:
        policy.half_life_days = half_life_days
    logs: dict[str, list[list[Shown]]] = {n: [[] for _ in range(people)] for n in names}
    for r in range(rounds):
        day, slot = divmod(r, len(HOURS))
        now = START + timedelta(days=day, hours=HOURS[slot])
        for p, person in enumerate(population):
            settings = RecommendSettings(
                goals=person.goals,
                paused=day in person.paused_days,
                quiet_start=time(22),
                quiet_end=time(7),
                max_per_day=8,
                max_per_item_per_day=2,
                slate_size=2,
            )
            context = person.context(now)
            chances = person.chances(index.matrix, context, r >= change)
            if slot == 0:
                policies[p].fade_to(day)
            slates: dict[str, list[int]] = {}
            slates["lifetwin"] = rank_slate(
                policies[p], context, index, settings, now, shown=logs["lifetwin"][p]
            ).chosen
            slates["non_personalized"] = rank_slate(
                shared, np.ones(1), index, settings, now, shown=logs["non_personalized"][p]
            ).chosen
            elig = eligible_mask(index, settings, now, logs["random"][p])
            if stop_reason(settings, now, logs["random"][p]) is None and elig.any():
                slates["random"] = choose_slate(
                    index.items,
                    rng.random(len(index.items)),
                    elig,
                    k=settings.slate_size,
                    declared=settings.goals,
                    recent=recent_ids(logs["random"][p], now),
                )
            else:
                slates["random"] = []
            slates["oracle"] = oracle_slate(index, settings, now, logs["oracle"][p], chances)
            for name, slate in slates.items():
                chosen = [index.items[i] for i in slate]
                broken = check_slate(
                    chosen,
                    catalog={i.id: i for i in index.items},
                    shown_prices=[c.price for c in chosen],
                    settings=settings,
                    now=now,
                    shown_before=logs[name][p],
                    blocked=set(),
                    snoozed={},
                )
                checked += 1
                violations[name] += bool(broken)
                if broken and len(messages) < 20:
                    messages.append(f"{name}: {broken}")
                follows[name][p, r] = float(chances[slate].sum()) if slate else 0.0
                shown_count[name] += len(slate)
                logs[name][p].extend(Shown(item_id=c.id, at=now) for c in chosen)
                for i in slate:
                    followed = bool(rng.random() < chances[i])
                    reward, weight = (1.0, 1.0) if followed else (0.0, 0.5)
                    if name == "lifetwin":
                        policies[p].learn_one(
                            context, index.matrix[i], reward, weight=weight, at_days=day
                        )
                    elif name == "non_personalized":
                        shared.learn_one(np.ones(1), index.matrix[i], reward, weight=weight)
            for name in names:  # keep the logs short: the rules look back a week
                cutoff = now - timedelta(days=8)
                logs[name][p] = [s for s in logs[name][p] if s.at > cutoff]
        if slot == 0:
            shared.fade_to(day)
    return {
        "follows": follows,
        "violations": violations,
        "checked": checked,
        "messages": messages,
        "shown": shown_count,
        "change": change,
        "rounds": rounds,
    }


def trailing(values: np.ndarray) -> np.ndarray:
    """The mean of the last WINDOW values at each round (NaN before there are WINDOW)."""
    out = np.full(len(values), np.nan)
    sums = np.cumsum(np.concatenate(([0.0], values)))
    out[WINDOW - 1 :] = (sums[WINDOW:] - sums[:-WINDOW]) / WINDOW
    return out


def adaptation(regret: np.ndarray, change: int) -> dict[str, float | int | None]:
    """How the mean regret per round recovers after the change of preferences.

    ``rounds_to_recover`` — until the trailing 20-round regret is back within 10 % of its
    level over the 40 rounds before the change; ``rounds_to_half`` — until half of the
    excess over that level (at its peak after the change) is gone.
    """
    smooth = trailing(regret)
    before = float(regret[change - 40 : change].mean())
    peak_at = change + int(np.nanargmax(smooth[change : change + 60]))
    peak = float(smooth[peak_at])
    half = next(
        (
            t - change
            for t in range(peak_at, len(smooth))
            if smooth[t] <= before + (peak - before) / 2
        ),
        None,
    )
    recover = next(
        (t - change for t in range(change + WINDOW, len(smooth)) if smooth[t] <= 1.1 * before),
        None,
    )
    return {
        "regret_per_round_before_change": before,
        "regret_per_round_peak_after": peak,
        "regret_per_round_last_40": float(regret[-40:].mean()),
        "rounds_to_half": half,
        "rounds_to_recover": recover,
    }


def speed(use_river: bool) -> dict[str, float]:
    rng = np.random.default_rng(0)
    goals = sorted(GOALS)
    items = tuple(
        CatalogItem(
            id=f"item-{i}",
            title=f"Item {i}",
            kind="product",
            goals=(goals[i % len(goals)],),
            tags=(f"tag{i % 17}", f"brand{i % 29}"),
            features={"rating": float(rng.normal()), "popularity": float(rng.normal())},
            price=float(rng.uniform(5, 200)),
            currency="EUR",
        )
        for i in range(10_000)
    )
    started = clock.perf_counter()
    index = CatalogIndex(Catalog(provider="shop", items=items))
    index_ms = 1000 * (clock.perf_counter() - started)
    policy = personal_policy()
    settings = RecommendSettings(goals=("move_more", "sleep_better", "learn"), quiet_end=time(22))
    now = datetime(2024, 3, 5, 12, tzinfo=UTC)
    for _ in range(300):
        c = context_vector(12, 2, sleep_debt_h=float(rng.uniform(0, 4)), goals=set(settings.goals))
        policy.learn_one(c, index.matrix[rng.integers(len(items))], float(rng.random() < 0.3))
    c = context_vector(12, 2, sleep_debt_h=2.0, goals=set(settings.goals))
    rank_ms = []
    for _ in range(100):
        t0 = clock.perf_counter()
        rank_slate(policy, c, index, settings, now)
        rank_ms.append(1000 * (clock.perf_counter() - t0))
    update_ms = []
    for _ in range(2000):
        f = index.matrix[rng.integers(len(items))]
        t0 = clock.perf_counter()
        policy.learn_one(c, f, 1.0)
        update_ms.append(1000 * (clock.perf_counter() - t0))
    t0 = clock.perf_counter()
    policy.fade_to(policy.t_days + 1)
    fade_ms = 1000 * (clock.perf_counter() - t0)
    out = {
        "rank_10k_ms_median": float(np.median(rank_ms)),
        "rank_10k_ms_p95": float(np.percentile(rank_ms, 95)),
        "update_ms_median": float(np.median(update_ms)),
        "update_ms_p95": float(np.percentile(update_ms, 95)),
        "daily_fade_ms": fade_ms,
        "index_10k_ms": index_ms,
    }
    if use_river:
        try:
            from river import bandit
        except ImportError:
            return out
        river_policy = bandit.LinUCBDisjoint(alpha=1.0, seed=0)
        arms = [f"item-{i}" for i in range(10_000)]
        context = {f"c{j}": float(v) for j, v in enumerate(c)}
        for i in range(50):
            river_policy.update(arms[i], context, float(i % 3 == 0))
        t0 = clock.perf_counter()
        river_policy.pull(arms, context=context)
        out["river_linucb_disjoint_pull_10k_ms"] = 1000 * (clock.perf_counter() - t0)
    return out


def plot(result: dict[str, Any], target: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    follows = result["follows"]
    oracle = follows["oracle"]
    change = result["change"]
    files = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, colour in (("lifetwin", "C0"), ("non_personalized", "C1"), ("random", "C2")):
        regret = np.cumsum(oracle - follows[name], axis=1)
        mean = regret.mean(axis=0)
        low, high = np.percentile(regret, [10, 90], axis=0)
        ax.plot(mean, color=colour, label=name.replace("_", "-"))
        ax.fill_between(np.arange(len(mean)), low, high, color=colour, alpha=0.15)
    ax.axvline(change, color="grey", linestyle="--", label="preferences change")
    ax.set_xlabel("round (five a day)")
    ax.set_ylabel("cumulative regret (expected follows)")
    ax.set_title("Regret against an oracle: mean and 10–90 % of people")
    ax.legend()
    fig.tight_layout()
    path = target / "recommend_regret.png"
    fig.savefig(path, dpi=110)
    files.append(str(path))
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, colour in (("lifetwin", "C0"), ("non_personalized", "C1"), ("random", "C2")):
        per_round = (oracle - follows[name]).mean(axis=0)
        ax.plot(trailing(per_round), color=colour, label=name.replace("_", "-"))
    ax.axvline(change, color="grey", linestyle="--")
    ax.set_xlabel("round")
    ax.set_ylabel(f"regret per round (mean of the last {WINDOW})")
    ax.set_title("Adapting after the change of preferences")
    ax.legend()
    fig.tight_layout()
    path = target / "recommend_adapt.png"
    fig.savefig(path, dpi=110)
    files.append(str(path))
    plt.close(fig)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--plots", type=Path, default=None)
    parser.add_argument("--no-river", action="store_true")
    parser.add_argument("--half-life", type=float, default=None, help="days (the policy's own)")
    args = parser.parse_args()
    started = clock.perf_counter()
    half_life = args.half_life or personal_policy().half_life_days or 60.0
    result = simulate(args.people, args.days, args.seed, half_life)
    follows = result["follows"]
    oracle = follows["oracle"]
    change = result["change"]
    summary: dict[str, Any] = {
        "people": args.people,
        "days": args.days,
        "seed": args.seed,
        "rounds": result["rounds"],
        "half_life_days": half_life,
    }
    for name in ("lifetwin", "non_personalized", "random"):
        regret = oracle - follows[name]
        lt = regret.mean(axis=0)
        summary[name] = {
            "cumulative_regret": float(regret.sum(axis=1).mean()),
            "regret_before_change": float(regret[:, :change].sum(axis=1).mean()),
            "regret_after_change": float(regret[:, change:].sum(axis=1).mean()),
            "follows_per_round": float(follows[name].mean()),
            "adaptation": adaptation(lt, change),
        }
    summary["oracle_follows_per_round"] = float(oracle.mean())
    summary["guardrails"] = {
        "slates_checked": result["checked"],
        "violations": result["violations"],
        "held_share": 1.0 - sum(result["violations"].values()) / result["checked"],
        "first_violations": result["messages"],
    }
    summary["simulation_s"] = clock.perf_counter() - started
    summary["speed"] = speed(not args.no_river)
    if args.plots is not None:
        summary["plots"] = plot(result, args.plots)
    for name in ("lifetwin", "non_personalized", "random"):
        s = summary[name]
        print(
            f"{name:17s} regret {s['cumulative_regret']:.1f} "
            f"(before {s['regret_before_change']:.1f}, "
            f"after {s['regret_after_change']:.1f}), follows/round {s['follows_per_round']:.3f}, "
            f"adaptation {s['adaptation']}"
        )
    print(f"guardrails: {summary['guardrails']}")
    print(f"speed: {summary['speed']}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
