"""A CSV log of drinks: ``time,water_ml`` (an optional ``note`` column is ignored).

A connector is a plain generator: it yields observations, and a ``Problem`` (with the
line) for a row it cannot read — the importer stores the rest, deduplicates re-imports
and converts units. It never writes anything itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from lifetwin.core.model import Observation, Problem, Provenance
from lifetwin.sources.base import Item, ReadOptions
from lifetwin.sources.textio import BoundedLines


class HydrationCsv:
    name = "hydration_csv"
    priority = 300  # tried before the generic table reader (1000)
    description = "A drinks log as CSV: time, water_ml"

    def detect(self, path: Path, head: bytes) -> bool:
        first = head.decode("utf-8", "replace").lstrip("\ufeff").split("\n", 1)[0].lower()
        return path.suffix.lower() == ".csv" and {"time", "water_ml"} <= {
            c.strip() for c in first.split(",")
        }

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        source = options.source or "hydration-log"
        with path.open(encoding=options.encoding or "utf-8-sig", newline="") as handle:
            rows = csv.DictReader(BoundedLines(handle, path.name))
            for line, row in enumerate(rows, start=2):
                try:
                    when = datetime.fromisoformat((row.get("time") or "").strip())
                    amount = float((row.get("water_ml") or "").strip())
                except ValueError:
                    yield Problem(
                        file=path.name, line=line, reason="the row needs a time and a number of mL"
                    )
                    continue
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                yield Observation(
                    metric="water_intake",
                    value=amount,
                    unit="mL",
                    start=when,
                    source=source,
                    provenance=Provenance(file=path.name, line=line),
                )
