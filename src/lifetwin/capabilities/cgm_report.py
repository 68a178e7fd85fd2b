"""The CGM report: international-consensus glucose metrics and the ambulatory glucose profile.

Metrics follow Battelino et al., Diabetes Care 2019 (time in ranges <54, 54-69, 70-180,
181-250, >250 mg/dL), Bergenstal et al. 2018 (GMI = 3.31 + 0.02392 × mean mg/dL),
Kovatchev's low and high blood glucose indices, and MAGE (Service 1970: the mean of the
glucose excursions between successive turning points that exceed one standard
deviation). The profile gives the 5th, 25th, 50th, 75th and 95th percentiles by hour of
the local day. Pure functions over arrays; ``cgm_report`` reads through the consent gate.

Checked against iglu_python on the Dexcom Clarity sample (tests/test_cgm_report.py):
every figure agrees except MAGE, where iglu's default moving-average algorithm
(Fernandes et al. 2022) picks other turning points (69.1 against 61.3 mg/dL there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from lifetwin.core.model import Quality
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Lineage
from lifetwin.store.vault import Vault

F64 = npt.NDArray[np.float64]
RANGES = (
    ("very_low", "<54"),
    ("low", "54-69"),
    ("in_range", "70-180"),
    ("high", "181-250"),
    ("very_high", ">250"),
)
PERCENTILES = (5, 25, 50, 75, 95)


def time_in_ranges(mg_dl: F64) -> dict[str, float]:
    """Percent of readings in each consensus range.

    >>> time_in_ranges(np.array([50.0, 60, 100, 200, 300]))["in_range"]
    20.0
    """
    n = len(mg_dl)
    if not n:
        return {name: 0.0 for name, _ in RANGES}
    counts = {
        "very_low": np.count_nonzero(mg_dl < 54),
        "low": np.count_nonzero((mg_dl >= 54) & (mg_dl < 70)),
        "in_range": np.count_nonzero((mg_dl >= 70) & (mg_dl <= 180)),
        "high": np.count_nonzero((mg_dl > 180) & (mg_dl <= 250)),
        "very_high": np.count_nonzero(mg_dl > 250),
    }
    return {name: round(100 * int(count) / n, 2) for name, count in counts.items()}


def risk_indices(mg_dl: F64) -> tuple[float, float]:
    """Kovatchev's LBGI and HBGI."""
    f = 1.509 * (np.log(mg_dl) ** 1.084 - 5.381)
    risk = 10 * f**2
    return float(np.mean(np.where(f < 0, risk, 0))), float(np.mean(np.where(f > 0, risk, 0)))


def mage(mg_dl: F64) -> float | None:
    """Mean amplitude of glycemic excursions larger than one SD (None: too few readings)."""
    if len(mg_dl) < 3:
        return None
    sd = float(np.std(mg_dl, ddof=1))
    steps = np.diff(mg_dl)
    steps = steps[steps != 0]
    if not len(steps):
        return 0.0
    values = mg_dl[np.concatenate(([True], np.diff(mg_dl) != 0))]
    turns = np.flatnonzero(np.diff(np.sign(np.diff(values))) != 0) + 1
    extrema = np.concatenate(([values[0]], values[turns], [values[-1]]))
    amplitudes = np.abs(np.diff(extrema))
    big = amplitudes[amplitudes > sd]
    return float(np.mean(big)) if len(big) else 0.0


@dataclass
class CgmReport:
    readings: int
    first: datetime | None
    last: datetime | None
    data_captured_pct: float
    mean_mg_dl: float | None
    sd_mg_dl: float | None
    cv_pct: float | None
    gmi_pct: float | None
    mage_mg_dl: float | None
    lbgi: float | None
    hbgi: float | None
    ranges_pct: dict[str, float]
    agp: dict[int, dict[str, float]] = field(default_factory=dict)  # hour -> percentiles
    lineage: Lineage | None = None


def summarize(ts_ms: npt.NDArray[np.int64], tz_min: npt.NDArray[np.int64], mg_dl: F64) -> CgmReport:
    n = len(mg_dl)
    if not n:
        return CgmReport(
            0, None, None, 0.0, None, None, None, None, None, None, None, time_in_ranges(mg_dl)
        )
    interval = float(np.median(np.diff(ts_ms))) if n > 1 else 300_000.0
    expected = (int(ts_ms[-1]) - int(ts_ms[0])) / interval + 1 if interval > 0 else n
    mean = float(np.mean(mg_dl))
    sd = float(np.std(mg_dl, ddof=1)) if n > 1 else 0.0
    lbgi, hbgi = risk_indices(mg_dl)
    local_hour = ((ts_ms // 60_000 + tz_min) % 1440) // 60
    agp = {}
    for hour in range(24):
        values = mg_dl[local_hour == hour]
        if len(values):
            cuts = np.percentile(values, PERCENTILES)
            agp[hour] = {
                f"p{p}": round(float(c), 1) for p, c in zip(PERCENTILES, cuts, strict=True)
            }
            agp[hour]["n"] = float(len(values))
    from datetime import UTC

    return CgmReport(
        readings=n,
        first=datetime.fromtimestamp(int(ts_ms[0]) / 1000, UTC),
        last=datetime.fromtimestamp(int(ts_ms[-1]) / 1000, UTC),
        data_captured_pct=round(min(100.0, 100 * n / expected), 1),
        mean_mg_dl=round(mean, 1),
        sd_mg_dl=round(sd, 1),
        cv_pct=round(100 * sd / mean, 1),
        gmi_pct=round(3.31 + 0.02392 * mean, 2),
        mage_mg_dl=None if (m := mage(mg_dl)) is None else round(m, 1),
        lbgi=round(lbgi, 2),
        hbgi=round(hbgi, 2),
        ranges_pct=time_in_ranges(mg_dl),
        agp=agp,
    )


def cgm_report(
    vault: Vault,
    purpose: Purpose,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    recipient: str | None = None,
) -> CgmReport:
    series = vault.read_series(
        "glucose", purpose=purpose, recipient=recipient, since=since, until=until
    )
    cgm = np.array([not s.source.endswith("(daily)") for s in series.streams], dtype=bool)
    keep = cgm[series.stream_index] if len(series.streams) else np.zeros(0, dtype=bool)
    keep &= (series.columns.quality & int(Quality.CALIBRATION)) == 0  # finger sticks are not CGM
    report = summarize(series.ts_ms[keep], series.columns.tz_min[keep], series.values[keep])
    report.lineage = series.lineage
    return report
