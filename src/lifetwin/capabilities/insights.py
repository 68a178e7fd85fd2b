"""Personal insights between daily metrics, computed honestly.

For every ordered pair of daily metrics (A, B) and every lag of 0, 1 or 2 days, the days
are split at A's median and B is compared between A's high and low days: the difference
of means with its 95 % confidence interval (Welch), and a p-value from Welch's t-test.
All the tests together are controlled with Benjamini–Hochberg at the chosen false
discovery rate, pairs need a minimum number of days, and every sentence says it is an
association in the person's own data, not a cause.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from lifetwin.capabilities.daily import daily_values
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Vault

F64 = npt.NDArray[np.float64]
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Insight:
    cause: str  # the metric whose high days are compared ("A")
    effect: str  # the metric compared ("B")
    lag_days: int
    threshold: float  # A's median
    difference: float  # mean of B on A's high days minus on A's low days
    ci_low: float
    ci_high: float
    p_value: float
    q_value: float
    days_high: int
    days_low: int
    unit: str
    sentence: str


def benjamini_hochberg(p_values: F64) -> F64:
    """BH-adjusted q-values (monotone, capped at 1).

    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    n = len(p_values)
    if not n:
        return p_values
    order = np.argsort(p_values)
    ranked = p_values[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def compare(a: F64, b: F64, lag: int) -> tuple[float, float, float, float, int, int, float]:
    """(difference, CI low, CI high, p, n high, n low, threshold) for B after A's high days."""
    x, y = (a[:-lag], b[lag:]) if lag else (a, b)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    threshold = float(np.median(x)) if len(x) else float("nan")
    high, low = y[x > threshold], y[x <= threshold]
    if len(high) < 5 or len(low) < 5 or np.std(y) == 0:
        nan = float("nan")
        return nan, nan, nan, nan, len(high), len(low), threshold
    test = stats.ttest_ind(high, low, equal_var=False)
    diff = float(np.mean(high) - np.mean(low))
    se = float(np.sqrt(np.var(high, ddof=1) / len(high) + np.var(low, ddof=1) / len(low)))
    dof = float(test.df) if hasattr(test, "df") else len(high) + len(low) - 2
    margin = float(stats.t.ppf(0.975, dof)) * se
    return diff, diff - margin, diff + margin, float(test.pvalue), len(high), len(low), threshold


def find_insights(
    table: dict[str, F64],
    units: dict[str, str],
    *,
    min_days: int = 28,
    fdr: float = 0.05,
    lags: tuple[int, ...] = (0, 1, 2),
) -> list[Insight]:
    """Insights between the columns of a daily table (NaN where a day has no value)."""
    tested: list[tuple[str, str, int, tuple[float, float, float, float, int, int, float]]] = []
    names = sorted(table)
    for cause in names:
        for effect in names:
            if cause == effect:
                continue
            for lag in lags:
                result = compare(table[cause], table[effect], lag)
                if np.isfinite(result[3]) and result[4] + result[5] >= min_days:
                    tested.append((cause, effect, lag, result))
    if not tested:
        return []
    q_values = benjamini_hochberg(np.array([t[3][3] for t in tested]))
    found = []
    for (cause, effect, lag, r), q in zip(tested, q_values, strict=True):
        if q > fdr:
            continue
        diff, low, high, p, n_high, n_low, threshold = r
        unit = units.get(effect, "")
        when = {0: "on days when", 1: "the day after days when", 2: "two days after days when"}
        more = "higher" if diff > 0 else "lower"
        sentence = (
            f"{when[lag].capitalize()} your {cause.replace('_', ' ')} was above {threshold:g} "
            f"(your median), your {effect.replace('_', ' ')} was {abs(diff):.3g} {unit} {more} "
            f"on average (95 % CI {low:.3g} to {high:.3g}; {n_high} vs {n_low} days). "
            "This is an association in your own data, not proof that one causes the other."
        )
        found.append(
            Insight(
                cause,
                effect,
                lag,
                threshold,
                diff,
                low,
                high,
                p,
                float(q),
                n_high,
                n_low,
                unit,
                sentence,
            )
        )
    return sorted(found, key=lambda i: i.q_value)


def daily_table(
    vault: Vault, purpose: Purpose = Purpose.TWIN_CORE, min_days: int = 28
) -> tuple[dict[str, F64], dict[str, str]]:
    """One value per local day and numeric metric: sums for interval metrics, else means."""
    columns: dict[str, dict[int, float]] = {}
    units: dict[str, str] = {}
    for code in sorted({s.metric for s in vault.streams() if s.numeric}):
        series = vault.read_series(code, purpose=purpose)
        by_day = daily_values(series)
        if len(by_day) < min_days:
            continue
        columns[code] = by_day
        units[code] = series.unit
    if not columns:
        return {}, {}
    first = min(min(c) for c in columns.values())
    last = max(max(c) for c in columns.values())
    table = {}
    for code, by_day in columns.items():
        column = np.full(last - first + 1, np.nan)
        for day, value in by_day.items():
            column[day - first] = value
        table[code] = column
    return table, units
