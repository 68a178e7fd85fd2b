"""What may leave a vault for a recipient or a population job.

Quasi-identifiers are generalized first (birth date to year, age to a band,
location to a coarse grid, postcode to a prefix); then the released table must
be k-anonymous — every combination of quasi-identifier values shared by at
least k rows — or the release is refused.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from lifetwin.core.errors import LifeTwinError


class ReleaseRefusedError(LifeTwinError):
    """A release that would single people out."""


def birth_year(birth: date) -> int:
    """Generalize a birth date to its year.

    >>> birth_year(date(1985, 7, 14))
    1985
    """
    return birth.year


def age_band(age: float, width: int = 10) -> str:
    """Generalize an age to a band of ``width`` years.

    >>> age_band(37)
    '30-39'
    """
    low = int(age // width) * width
    return f"{low}-{low + width - 1}"


def coarse_location(lat: float, lon: float, cell_km: float = 25.0) -> tuple[float, float]:
    """The south-west corner of the grid cell (about ``cell_km`` wide) holding a point.

    >>> coarse_location(52.5200, 13.4050)
    (52.33, 13.25)
    """
    step = cell_km / 111.32  # degrees of latitude per cell; longitude uses the same step
    return (round(math.floor(lat / step) * step, 2), round(math.floor(lon / step) * step, 2))


def postcode_prefix(postcode: str, keep: int = 3) -> str:
    """Keep the first ``keep`` characters of a postcode.

    >>> postcode_prefix("10115")
    '101**'
    """
    cleaned = postcode.replace(" ", "")
    return cleaned[:keep] + "*" * max(len(cleaned) - keep, 0)


def generalize(
    rows: Sequence[Mapping[str, Any]], rules: Mapping[str, Callable[[Any], Any]]
) -> list[dict[str, Any]]:
    """Apply a generalization per column (columns without a rule pass unchanged)."""
    return [{k: rules[k](v) if k in rules else v for k, v in row.items()} for row in rows]


def smallest_group(rows: Sequence[Mapping[str, Any]], quasi_identifiers: Sequence[str]) -> int:
    """The size of the smallest group of rows sharing all quasi-identifier values."""
    if not rows:
        return 0
    groups = Counter(tuple(row.get(q) for q in quasi_identifiers) for row in rows)
    return min(groups.values())


def release(
    rows: Sequence[Mapping[str, Any]],
    quasi_identifiers: Sequence[str],
    k: int,
    rules: Mapping[str, Callable[[Any], Any]] | None = None,
) -> list[dict[str, Any]]:
    """Generalize, check k-anonymity, and return the table that may leave — or refuse."""
    if k < 2:
        raise ReleaseRefusedError(f"k must be at least 2 for a release, not {k}.")
    table = generalize(rows, rules or {})
    smallest = smallest_group(table, quasi_identifiers)
    if smallest < k:
        raise ReleaseRefusedError(
            f"The release is refused: after generalization its smallest group of "
            f"{', '.join(quasi_identifiers)} has {smallest} row(s), fewer than k = {k}."
        )
    return table
