"""Daily summaries of a metric: the first derived output, with full lineage."""

from __future__ import annotations

import numpy as np

from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Derived
from lifetwin.store.vault import Vault

DAY_MS = 86_400_000


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
