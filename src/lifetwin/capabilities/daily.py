"""Daily summaries of a metric: the first derived output, with full lineage."""

from __future__ import annotations

import numpy as np

from lifetwin.core.vocabulary import Kind
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Derived
from lifetwin.store.vault import Series, Vault

DAY_MS = 86_400_000


def daily_values(series: Series) -> dict[int, float]:
    """One value per local day (days since 1970-01-01): the day's sum for interval
    metrics (steps, energy), else the day's mean."""
    if not len(series):
        return {}
    days = ((series.ts_ms // 60_000 + series.columns.tz_min) // 1440).astype(np.int64)
    unique, inverse = np.unique(days, return_inverse=True)
    sums = np.bincount(inverse, weights=series.values)
    values = sums if series.metric.kind is Kind.INTERVAL else sums / np.bincount(inverse)
    return dict(zip(unique.tolist(), values.tolist(), strict=True))


def daily_summary(vault: Vault, metric_code: str, purpose: Purpose) -> Derived:
    """Per local day: count, mean, min and max of a metric, from what ``purpose`` may use.

    The result is stored in the vault under ``daily:<metric>:<purpose>`` with the
    lineage of its read, so revoking a grant it used removes it.
    """
    name = f"daily:{metric_code}:{Purpose(purpose).value}"
    series = vault.read_series(metric_code, purpose=purpose)
    local_ms = series.ts_ms + series.columns.tz_min * 60_000
    days = local_ms // DAY_MS
    table: dict[str, list[float]] = {}
    if len(series):
        order = np.argsort(days, kind="stable")
        ordered_days, values = days[order], series.values[order]
        unique, starts, counts = np.unique(ordered_days, return_index=True, return_counts=True)
        table = {
            "day": [float(day) for day in unique],  # days since 1970-01-01, local time
            "count": counts.astype(float).tolist(),
            "mean": (np.add.reduceat(values, starts) / counts).round(6).tolist(),
            "min": np.minimum.reduceat(values, starts).tolist(),
            "max": np.maximum.reduceat(values, starts).tolist(),
        }
    derived = Derived(
        name=name,
        kind="daily_summary",
        lineage=series.lineage,
        payload={"metric": metric_code, "unit": series.unit, **table},
    )
    vault.save_derived(derived)
    return derived
