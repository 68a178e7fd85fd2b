"""Early warnings: deviation from the person's own baseline, with a false-alarm budget.

:func:`illness_alerts` is the illness early warning (Mishra et al., Nature Biomedical
Engineering 2020; Alavi et al., Nature Medicine 2021; Quer et al., Nature Medicine
2021): every wearable signal the person has — resting heart rate, HRV, respiratory rate,
skin temperature, sleep, steps — adjusted for what they logged (alcohol, training,
time-zone changes, the menstrual cycle), combined into one nightly score and alerted on
with the person's false-alarm budget; the numeric core is
:mod:`lifetwin.capabilities.illness`. The earlier resting-heart-rate-only detector
(:func:`standardized`, :func:`normal_scores`, :func:`illness_scores`,
:func:`cusum_alert_days`: robust z-scores turned into capped empirical normal scores and
a CuSum) stays for comparison in the benchmark.

:func:`deviation_alerts` flags each metric's newest value that is unusual for the
person by the one rule of :mod:`lifetwin.capabilities.unusual`.

Every alert says when the value it is based on was taken (``at``). These are
association signals, not diagnoses.
"""

from __future__ import annotations

import bisect
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Derived, Lineage
from lifetwin.store.vault import Vault

F64 = npt.NDArray[np.float64]


def cusum_threshold(false_alerts_per_month: float, k: float = 0.5) -> float:
    """The CuSum threshold h whose in-control average run length is 30 / budget days.

    Siegmund: ARL0 ≈ (exp(2k(h + 1.166)) - 2k(h + 1.166) - 1) / (2k²).

    >>> round(cusum_threshold(0.1), 2)
    3.88
    """
    target = 30.0 / false_alerts_per_month
    low, high = 0.0, 50.0
    for _ in range(100):
        h = (low + high) / 2
        b = 2 * k * (h + 1.166)
        arl = (math.exp(b) - b - 1) / (2 * k * k)
        low, high = (h, high) if arl < target else (low, h)
    return (low + high) / 2


def standardized(daily: F64, baseline_days: int = 28, gap_days: int = 7, min_days: int = 14) -> F64:
    """Each day's value as a robust z-score against the person's earlier baseline."""
    z = np.full(len(daily), np.nan)
    for t in range(len(daily)):
        window = daily[max(0, t - gap_days - baseline_days) : max(0, t - gap_days)]
        window = window[np.isfinite(window)]
        if len(window) < min_days or not np.isfinite(daily[t]):
            continue
        centre = float(np.median(window))
        spread = 1.4826 * float(np.median(np.abs(window - centre)))
        spread = max(spread, 1.0)  # at least 1 bpm, so a very steady baseline is not brittle
        z[t] = (daily[t] - centre) / spread
    return z


def normal_scores(z: F64, min_days: int = 28, cap: float = 2.0) -> F64:
    """Each day's z as an empirical normal score among the person's earlier z-scores.

    >>> scores = normal_scores(np.arange(40, dtype=float))
    >>> bool(np.isnan(scores[27])), round(float(scores[39]), 2)
    (True, 2.0)
    """
    from scipy.stats import norm

    out = np.full(len(z), np.nan)
    past: list[float] = []  # the earlier z-scores, kept sorted
    for t, value in enumerate(z.tolist()):
        if not math.isfinite(value):
            continue
        if len(past) >= min_days:
            below = bisect.bisect_left(past, value)
            rank = below + 0.5 * (bisect.bisect_right(past, value) - below)
            out[t] = min(cap, float(norm.ppf((rank + 0.5) / (len(past) + 1))))
        bisect.insort(past, value)
    return out


def illness_scores(daily: F64) -> tuple[F64, F64]:
    """The robust z-scores of daily resting heart rate and the scores the CuSum runs on."""
    z = standardized(daily)
    return z, normal_scores(z)


def cusum_alert_days(
    z: F64, h: float, k: float = 0.5, refractory_days: int = 7
) -> npt.NDArray[np.bool_]:
    """True on the days the one-sided CuSum of z crosses h.

    The sum restarts after each alarm, as a CuSum chart does, and no new alarm is raised
    for ``refractory_days`` (one episode, one alert). Missing days hold the sum.
    """
    s = 0.0
    quiet_until = -1
    out = np.zeros(len(z), dtype=bool)
    for t, value in enumerate(z):
        if np.isfinite(value):
            s = max(0.0, s + float(value) - k)
        if s > h:
            s = 0.0
            if t > quiet_until:
                out[t] = True
                quiet_until = t + refractory_days
    return out


class Alert(BaseModel):
    kind: str
    day: date
    metric: str
    message: str
    score: float
    lineage: Lineage
    at: datetime | None = None  # the time of the value the alert is based on


class Notifier(Protocol):
    """Where alerts go (the service adds webhooks); delivery failures are its own concern."""

    def notify(self, alert: Alert) -> None: ...


@dataclass
class FileNotifier:
    """Appends each alert as one JSON line to a file the person chose."""

    path: str

    def notify(self, alert: Alert) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(alert.model_dump_json() + "\n")


# the wearable signals the illness warning uses: the name in lifetwin.capabilities.
# illness, then the metric codes that can give it (the first the person has is used)
ILLNESS_SIGNALS = {
    "resting_heart_rate": ("resting_heart_rate",),
    "hrv": ("hrv_rmssd", "hrv_sdnn"),
    "respiratory_rate": ("respiratory_rate",),
    "skin_temperature": ("skin_temperature_deviation",),
    "sleep": ("sleep_duration",),
    "steps": ("steps",),
}
_WORDS = {
    "resting_heart_rate": "resting heart rate higher",
    "hrv": "HRV lower",
    "respiratory_rate": "respiratory rate higher",
    "skin_temperature": "skin temperature higher",
    "sleep": "sleep longer",
    "steps": "steps fewer",
}


def _nightly(vault: Vault, code: str, purpose: Purpose) -> tuple[dict[int, float], Lineage]:
    from lifetwin.capabilities.daily import daily_values

    series = vault.read_series(code, purpose=purpose)
    return daily_values(series), series.lineage


def illness_alerts(
    vault: Vault,
    *,
    false_alerts_per_month: float = 0.1,
    notifiers: Sequence[Notifier] = (),
) -> list[Alert]:
    """The illness early warning over the person's history; store and deliver the alerts.

    Uses every signal the person's wearable gives (resting heart rate, HRV, respiratory
    rate, skin temperature, sleep, steps) and what they logged (alcoholic drinks,
    exercise minutes, time-zone changes seen in their data, period starts) through
    :mod:`lifetwin.capabilities.illness`, with the false-alarm budget in alerts per
    healthy month. Reads for the forecasting purpose (health forecasts and alerts), so it
    needs that grant; with no grant nothing is read and nothing is raised.
    """
    from lifetwin.capabilities.illness import alert_days, combined_score, confounder_matrix

    purpose = Purpose.FORECASTING
    from lifetwin.capabilities.daily import daily_values

    nightly: dict[str, dict[int, float]] = {}
    lineage = Lineage(purpose=purpose.value)
    offsets: dict[int, float] = {}
    for name, codes in ILLNESS_SIGNALS.items():
        for code in codes:
            series = vault.read_series(code, purpose=purpose)
            lineage = lineage.merge(series.lineage)
            if len(series):
                nightly[name] = daily_values(series)
                local = (series.ts_ms // 60_000 + series.columns.tz_min) // 1440
                for day, tz in zip(local.tolist(), series.columns.tz_min.tolist(), strict=True):
                    offsets[day] = tz / 60.0
                break
    alerts: list[Alert] = []
    if "resting_heart_rate" in nightly or len(nightly) >= 2:
        first = min(min(v) for v in nightly.values())
        last = max(max(v) for v in nightly.values())
        days = last - first + 1

        def array(values: dict[int, float], shift: int = 0) -> F64:
            out = np.full(days, np.nan)
            for day, value in values.items():
                if 0 <= day - first + shift < days:
                    out[day - first + shift] = value
            return out

        logged = {}
        for code in ("alcoholic_drinks", "exercise_minutes"):
            values, read = _nightly(vault, code, purpose)
            lineage = lineage.merge(read)
            logged[code] = np.nan_to_num(array(values, shift=1))  # the evening/day before
        periods = vault.read_records("event:menstruation", purpose=purpose)
        lineage = lineage.merge(periods.lineage)
        starts = sorted(
            {(int(p.start.timestamp()) // 60 + _tz(p.start)) // 1440 - first for p in periods}
        )
        covariates = confounder_matrix(
            days,
            logged["alcoholic_drinks"],
            logged["exercise_minutes"],
            array(offsets),
            starts,
        )
        score, parts = combined_score({k: array(v) for k, v in nightly.items()}, covariates)
        flags = alert_days(score, false_alerts_per_month)
        for index in np.flatnonzero(flags).tolist():
            day = date(1970, 1, 1) + timedelta(days=first + index)
            moved = [
                _WORDS[name]
                for name, z in sorted(parts.items(), key=lambda kv: -np.nan_to_num(kv[1][index]))
                if np.isfinite(z[index]) and z[index] >= 1.5
            ]
            what = ", ".join(moved) if moved else "several signals off"
            alerts.append(
                Alert(
                    kind="illness_early_warning",
                    day=day,
                    metric="resting_heart_rate" if "resting_heart_rate" in parts else "illness",
                    message=(
                        f"On the night to {day.isoformat()} your body was off your own "
                        f"baseline ({what}; score {score[index]:+.1f}). This often comes a "
                        "day or two before an infection's symptoms, but also after late "
                        "drinks, travel or hard training you did not log; it is an "
                        "association, not a diagnosis."
                    ),
                    score=round(float(score[index]), 2),
                    lineage=lineage,
                    at=datetime.combine(day, datetime.min.time(), UTC),
                )
            )
    known = {(a["day"], a["kind"]) for a in _stored(vault)}
    new = [a for a in alerts if (a.day.isoformat(), a.kind) not in known]
    for alert in new:
        for notifier in notifiers:
            notifier.notify(alert)
    vault.save_derived(
        Derived(
            name="alerts:illness_early_warning",
            kind="alerts",
            lineage=lineage,
            payload={
                "alerts": [a.model_dump(mode="json") for a in alerts],
                "false_alerts_per_month": false_alerts_per_month,
                "computed": datetime.now(UTC).isoformat(),
            },
        )
    )
    return alerts


def _tz(moment: datetime) -> int:
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds() // 60)


def _stored(vault: Vault) -> list[dict[str, object]]:
    derived = vault.derived("alerts:illness_early_warning")
    return list(derived.payload.get("alerts", [])) if derived else []


def stored_alerts(vault: Vault) -> list[Alert]:
    return [Alert.model_validate(a) for a in _stored(vault)]


def deviation_threshold(false_alerts_per_month: float, observations_per_month: float) -> float:
    """The |z| above which a value is flagged, so a normally-behaved stream raises about
    ``false_alerts_per_month`` false alerts (two-sided normal tail).

    >>> round(deviation_threshold(1.0, 30.0), 2)
    2.13
    """
    from scipy.stats import norm

    p = min(1.0, false_alerts_per_month / max(observations_per_month, 1.0))
    return float(norm.ppf(1 - p / 2))


def deviation_alerts(
    vault: Vault, *, false_alerts_per_month: float = 1.0, notifiers: Sequence[Notifier] = ()
) -> list[Alert]:
    """Flag each metric whose newest value is unusual for the person, by the one rule of
    :mod:`lifetwin.capabilities.unusual` (outside their targets, or far from their own
    baseline for that hour of the week with a spread that cannot collapse below a
    plausible floor), the distance set by a per-metric false-alarm budget. Amounts that
    are events (insulin doses, meals) are never flagged. Reads for forecasting."""
    from lifetwin.capabilities.twin_state import TwinState
    from lifetwin.capabilities.unusual import assess, glucose_targets

    state = TwinState()
    lineage: Lineage | None = None
    for code in sorted({s.metric for s in vault.streams() if s.numeric}):
        series = vault.read_series(code, purpose=Purpose.FORECASTING)
        lineage = series.lineage if lineage is None else lineage.merge(series.lineage)
        for t, z, v in zip(
            series.ts_ms.tolist(),
            series.columns.tz_min.tolist(),
            series.values.tolist(),
            strict=True,
        ):
            state.learn_one(code, t, z, v)
    targets = glucose_targets(vault.profile())
    found: list[Alert] = []
    for code, (ts_ms, _value, _tz_min) in sorted(state.latest.items()):
        overall = state.overall[code]
        if overall.n < 8 or lineage is None:
            continue
        first_ms = state.first_ms[code]
        per_month = overall.n / max(1.0, (ts_ms - first_ms) / 86_400_000) * 30
        limit = deviation_threshold(false_alerts_per_month, per_month)
        verdict = assess(state, code, targets=targets if code == "glucose" else None, z_limit=limit)
        if verdict is None or not verdict.unusual:
            continue
        at = datetime.fromtimestamp(ts_ms / 1000, UTC)
        found.append(
            Alert(
                kind="deviation",
                day=at.date(),
                metric=code,
                score=verdict.z if verdict.z is not None else 0.0,
                lineage=lineage,
                at=at,
                message=(
                    f"Your latest {code.replace('_', ' ')}: {verdict.sentence} "
                    "An observation, not a diagnosis."
                ),
            )
        )
    for alert in found:
        for notifier in notifiers:
            notifier.notify(alert)
    return found
