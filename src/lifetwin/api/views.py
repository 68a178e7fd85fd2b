"""What the API returns and the dashboard draws: plain dicts built from a vault.

Every function here reads through the vault's consent gate with the purpose (and
recipient) it is given, so the API and the dashboard show exactly the same things.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from lifetwin.capabilities.cgm_report import cgm_report
from lifetwin.capabilities.early_warning import stored_alerts
from lifetwin.capabilities.twin_state import TwinState, refresh_twin
from lifetwin.core.errors import LifeTwinError
from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Vault

MAX_POINTS = 10_000
MIN_SLOT = 8  # values an hour-of-week baseline needs before it is used
UNUSUAL_Z = 4.0  # robust z from which a value is shown as unusual


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str | None, what: str) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise LifeTwinError(f"'{text}' is not a time for {what} (use ISO 8601).") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _iso_many(ms: npt.NDArray[np.int64]) -> list[str]:
    """ISO 8601 UTC times (second precision, 'Z') for many epoch milliseconds at once."""
    text = np.datetime_as_string(ms.astype("datetime64[ms]").astype("datetime64[s]"), unit="s")
    return [t + "Z" for t in text.tolist()]


def _rounded(values: npt.NDArray[np.float64], digits: int = 3) -> list[float | None]:
    """Values rounded for JSON, NaN and infinities as null."""
    out = np.round(values, digits).astype(object)
    out[~np.isfinite(values)] = None
    result: list[float | None] = out.tolist()
    return result


def _num(value: float | None, digits: int = 2) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def streams(vault: Vault, purpose: Purpose, recipient: str | None) -> list[dict[str, Any]]:
    """The streams this purpose may see, with the day of their newest data."""
    last = vault.stream_last_days()
    visible = vault.visible_streams(purpose, recipient)
    return [
        {
            "metric": s.metric,
            "source": s.source,
            "device": s.device,
            "unit": s.unit,
            "numeric": s.numeric,
            "last_day": (
                (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=last[s.id])).date().isoformat()
                if s.id in last
                else None
            ),
        }
        for s in visible
    ]


def series(
    vault: Vault,
    code: str,
    purpose: Purpose,
    recipient: str | None,
    since: datetime | None,
    until: datetime | None,
    every_s: int | None,
    limit: int,
    after_ms: int | None,
) -> dict[str, Any]:
    """A metric's values in a time range, optionally averaged into buckets of every_s
    seconds; at most ``limit`` points, then a cursor for the next page."""
    m = metric(code)
    if not m.is_numeric:
        raise LifeTwinError(f"{m.code} is not a numeric metric; read it as records.")
    data = vault.read_series(m.code, purpose=purpose, recipient=recipient, since=since, until=until)
    ts, values = data.ts_ms, data.values
    if after_ms is not None:
        keep = ts > after_ms
        ts, values = ts[keep], values[keep]
    points: list[dict[str, Any]]
    if every_s:
        # ts is sorted: buckets are runs; reduce each run at once.
        bucket = ts // (every_s * 1000)
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]]) if len(ts) else ts
        counts = np.diff(np.r_[starts, len(ts)])
        columns = {
            "mean": np.add.reduceat(values, starts) / counts if len(ts) else values,
            "min": np.minimum.reduceat(values, starts) if len(ts) else values,
            "max": np.maximum.reduceat(values, starts) if len(ts) else values,
        }
        at = bucket[starts] * every_s * 1000
        rows = zip(
            _iso_many(at),
            at.tolist(),
            *(_rounded(v) for v in columns.values()),
            counts.tolist(),
            strict=True,
        )
        points = [
            {"t": t, "ms": ms, "mean": mean, "min": lo, "max": hi, "n": n}
            for t, ms, mean, lo, hi, n in rows
        ]
    else:
        points = [
            {"t": t, "ms": ms, "value": v}
            for t, ms, v in zip(_iso_many(ts), ts.tolist(), _rounded(values), strict=True)
        ]
    page, more = points[:limit], len(points) > limit
    return {
        "metric": m.code,
        "name": m.name,
        "unit": m.unit,
        "every_s": every_s,
        "points": page,
        "next_after_ms": page[-1]["ms"] if more and page else None,
        "sources": sorted({s.source for s in data.streams}),
    }


def overview(vault: Vault) -> dict[str, Any]:
    """Today against the person's baselines, active alerts and data freshness.

    The twin state is refreshed (learning only what is new), which reads for the
    twin_core purpose; alerts are the stored ones.
    """
    state, _ = refresh_twin(vault)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    rows = []
    for code in sorted(state.latest):
        ts_ms, value, tz_min = state.latest[code]
        slot = state.hourly.get(code, {}).get(TwinState.slot(ts_ms, tz_min))
        overall = state.overall[code]
        base = slot if slot is not None and slot.n >= MIN_SLOT else overall
        m = metric(code)
        z = base.z(value) if base.n >= MIN_SLOT else None
        rows.append(
            {
                "metric": code,
                "name": m.name,
                "unit": m.unit,
                "latest": _num(value, 2),
                "at": iso(ts_ms),
                "usual": _num(base.centre, 2),
                "spread": _num(base.spread, 2),
                "baseline": "hour of week" if base is slot else "overall",
                "z": _num(z, 2),
                "unusual": z is not None and abs(z) >= UNUSUAL_Z,
                "n": overall.n,
            }
        )
    last = vault.stream_last_days()
    today = now_ms // 86_400_000
    fresh: dict[str, int] = {}
    for s in vault.streams():
        if s.id in last:
            fresh[s.source] = max(fresh.get(s.source, -(10**9)), last[s.id])
    alerts = [
        {
            "kind": a.kind,
            "day": a.day.isoformat(),
            "metric": a.metric,
            "message": a.message,
            "score": _num(a.score, 2),
        }
        for a in stored_alerts(vault)
        if (datetime.now(UTC).date() - a.day).days <= 14
    ]
    return {
        "person": {"id": vault.person.id, "name": vault.person.name},
        "metrics": rows,
        "alerts": alerts,
        "freshness": [
            {
                "source": src,
                "last_day": (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=d))
                .date()
                .isoformat(),
                "days_ago": int(today - d),
            }
            for src, d in sorted(fresh.items())
        ],
        "twin_core": bool(state.overall),
    }


def baselines(vault: Vault) -> dict[str, Any]:
    state, learned = refresh_twin(vault)
    return {
        "learned_now": learned,
        "metrics": {
            code: {
                "overall": {"centre": _num(b.centre, 3), "spread": _num(b.spread, 3), "n": b.n},
                "by_hour_of_week": {
                    str(slot): {"centre": _num(s.centre, 3), "spread": _num(s.spread, 3), "n": s.n}
                    for slot, s in sorted(state.hourly.get(code, {}).items())
                },
            }
            for code, b in sorted(state.overall.items())
        },
    }


def cgm(vault: Vault, purpose: Purpose, recipient: str | None, days: int) -> dict[str, Any] | None:
    since = datetime.now(UTC) - timedelta(days=days) if days else None
    report = cgm_report(vault, purpose, since, recipient=recipient)
    if not report.readings:
        return None
    raw = asdict(report)
    raw.pop("lineage", None)
    raw["first"] = report.first.isoformat() if report.first else None
    raw["last"] = report.last.isoformat() if report.last else None
    raw["agp"] = {str(h): v for h, v in report.agp.items()}
    return raw
