"""Personal insights on generated people with planted effects: found versus false.

    python benchmarks/insights.py [--people 50] [--days 120] [--seed 1]

Each person gets eight daily metrics (steps, sleep minutes, resting heart rate, mood,
caffeine, alcoholic drinks, screen time, outdoor temperature) with their own levels and
noise, and three planted effects of modest size: more steps → longer sleep the same
night (lag 0), more alcohol → higher resting heart rate the next day (lag 1), and more
sleep → better mood the next day (lag 1). Everything else is independent. The insight
finder (lifetwin.capabilities.insights, Benjamini–Hochberg at 5 %) gets the table and
nothing else. A found insight is "planted" if its pair and lag are one of the three
(any direction of the pair counts as the same association); all others are false.
Prints a summary and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from lifetwin.capabilities.insights import find_insights

PLANTED = {
    ("steps", "sleep_duration", 0),
    ("alcoholic_drinks", "resting_heart_rate", 1),
    ("sleep_duration", "mood_valence", 1),
}


def person(rng: np.random.Generator, days: int) -> dict[str, np.ndarray]:
    steps = rng.normal(rng.uniform(5000, 11000), rng.uniform(1500, 3500), days).clip(0)
    alcohol = rng.poisson(rng.uniform(0.2, 1.2), days).astype(float)
    sleep = rng.normal(rng.uniform(380, 470), 35, days)
    sleep += 0.006 * (steps - steps.mean())  # ~ +12 min per 2,000 steps
    rhr = rng.normal(rng.uniform(52, 68), 1.8, days)
    rhr[1:] += 1.5 * (alcohol[:-1] - alcohol.mean())
    mood = rng.normal(0.1, 0.3, days)
    mood[1:] += 0.004 * (sleep[:-1] - sleep.mean())
    table = {
        "steps": steps,
        "sleep_duration": sleep,
        "resting_heart_rate": rhr,
        "mood_valence": mood.clip(-1, 1),
        "alcoholic_drinks": alcohol,
        "caffeine": rng.normal(200, 60, days).clip(0),
        "screen_time": rng.normal(180, 50, days).clip(0),
        "ambient_temperature": 12 + 8 * np.sin(np.arange(days) / 58) + rng.normal(0, 3, days),
    }
    for column in table.values():  # a few missing days
        column[rng.random(days) < 0.05] = np.nan
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    found_planted = 0
    false_found = 0
    tests_per_person = 0
    for _ in range(args.people):
        table = person(rng, args.days)
        insights = find_insights(table, {})
        keys = {(i.cause, i.effect, i.lag_days) for i in insights}
        hit = {p for p in PLANTED if p in keys or (p[1], p[0], p[2]) in keys}
        found_planted += len(hit)
        false_found += sum(
            1 for (c, e, lag) in keys if (c, e, lag) not in PLANTED and (e, c, lag) not in PLANTED
        )
        tests_per_person = len(table) * (len(table) - 1) * 3
    result = {
        "people": args.people,
        "days": args.days,
        "tests_per_person": tests_per_person,
        "planted": 3 * args.people,
        "planted_found": found_planted,
        "planted_found_rate": round(found_planted / (3 * args.people), 3),
        "false_insights": false_found,
        "false_insights_per_person": round(false_found / args.people, 3),
    }
    print(
        f"{args.people} people x {args.days} days, {tests_per_person} tests each: found "
        f"{found_planted}/{3 * args.people} planted effects "
        f"({result['planted_found_rate']:.0%}), {false_found} false insights "
        f"({result['false_insights_per_person']} per person)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
