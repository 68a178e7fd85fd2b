"""How many of the demo person's insights were pairs of one thing measured two ways.

    python benchmarks/insights_related.py [--days 28] [--seed 7] [--end 2026-11-29]

Creates the demo person (28 days, seed 7, ending on the given day) in a scratch store and
finds insights twice with the operations' defaults (FDR 0.1, 21 days): once testing every
pair of daily metrics, as before the related-metric groups, and once leaving out the pairs
of :data:`lifetwin.capabilities.insights.RELATED` before testing. Prints the insights of
the first run that are related pairs, and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from lifetwin.capabilities.insights import RELATED, daily_table, find_insights, related
from lifetwin.operations.twin import INSIGHT_FDR, INSIGHT_MIN_DAYS
from lifetwin.privacy.consent import Purpose
from lifetwin.services.demo import create_demo
from lifetwin.services.home import init_home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", default=None, help="the demo's last day (default: now)")
    args = parser.parse_args()
    end = datetime.fromisoformat(args.end).replace(tzinfo=UTC) if args.end else datetime.now(UTC)
    with tempfile.TemporaryDirectory() as scratch:
        store = init_home(Path(scratch) / "home")
        person = create_demo(store, days=args.days, seed=args.seed, end=end).person
        table, units = daily_table(store.vault(person), Purpose.TWIN_CORE, INSIGHT_MIN_DAYS)
        store.close()
    every = find_insights(table, units, min_days=INSIGHT_MIN_DAYS, fdr=INSIGHT_FDR, groups=())
    kept = find_insights(table, units, min_days=INSIGHT_MIN_DAYS, fdr=INSIGHT_FDR)
    pairs = [i for i in every if related(i.cause, i.effect)]
    for i in pairs:
        print(f"related: {i.cause} -> {i.effect} (lag {i.lag_days}): {related(i.cause, i.effect)}")
    print(
        json.dumps(
            {
                "metrics": len(table),
                "insights_testing_every_pair": len(every),
                "of_them_related_pairs": len(pairs),
                "insights_without_related_pairs": len(kept),
                "groups": len(RELATED),
            }
        )
    )


if __name__ == "__main__":
    main()
