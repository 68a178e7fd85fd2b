"""The twin's living state: personal baselines that update online, reconstructible as of
any past date.

For every numeric metric the state keeps a robust centre (a running median) and spread
(a running median absolute deviation) for each hour of the week (weekday × hour of day,
in the person's local time) and overall, with the number of observations behind each.
Both follow the data by stochastic approximation — each observation nudges the centre
towards itself by a step proportional to the spread — so the baseline drifts slowly with
the person and needs no full recompute. The same observations in the same order always
give the same state, so ``build(as_of=…)`` reconstructs the twin of any past date.

:func:`twin_summary` judges each metric's newest value by the one "unusual" rule of
:mod:`lifetwin.capabilities.unusual` and says when the data it is based on were taken.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel

from lifetwin.core.model import to_epoch_ms
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Derived, Lineage
from lifetwin.store.vault import Vault

WARMUP = 20  # observations averaged exactly before the running estimates take over
RATE = 0.05  # the step of the running estimates, as a fraction of the spread


@dataclass
class Baseline:
    """A running median and median absolute deviation (of the metric it is named with)."""

    centre: float = 0.0
    spread: float = 0.0
    n: int = 0
    _warm: list[float] = field(default_factory=list)
    metric: str | None = None

    def learn_one(self, value: float) -> None:
        self.n += 1
        if self.n <= WARMUP:
            self._warm.append(value)
            self.centre = float(np.median(self._warm))
            self.spread = float(np.median(np.abs(np.array(self._warm) - self.centre)))
            if self.n == WARMUP:
                self._warm = []
            return
        scale = max(self.spread, 1e-6)
        self.centre += (
            RATE * scale * (1.0 if value > self.centre else -1.0 if value < self.centre else 0.0)
        )
        deviation = abs(value - self.centre)
        self.spread += RATE * scale * (0.5 if deviation > self.spread else -0.5)
        self.spread = max(self.spread, 0.0)

    def z(self, value: float) -> float | None:
        """The robust z-score of a value (None until there is a spread to compare with,
        and for amounts that are events, such as insulin doses).

        The spread never collapses below a physiologically plausible floor for the
        metric, nor below 1 % of the level (see lifetwin.capabilities.unusual)."""
        from lifetwin.capabilities.unusual import EVENT_METRICS, robust_z

        if self.n < 5 or self.metric in EVENT_METRICS:
            return None
        z, sd = robust_z(self.metric or "", value, self.centre, self.spread)
        return z if sd > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {"centre": self.centre, "spread": self.spread, "n": self.n, "warm": self._warm}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], metric: str | None = None) -> Baseline:
        return cls(raw["centre"], raw["spread"], raw["n"], list(raw["warm"]), metric)


@dataclass
class TwinState:
    """Baselines per metric: overall and per hour of the week; the last time seen."""

    overall: dict[str, Baseline] = field(default_factory=dict)
    hourly: dict[str, dict[int, Baseline]] = field(default_factory=dict)
    # metric -> (ms, value, local offset in minutes) of the newest observation
    latest: dict[str, tuple[int, float, int]] = field(default_factory=dict)
    seen_until_ms: dict[str, int] = field(default_factory=dict)
    first_ms: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def slot(ts_ms: int, tz_min: int) -> int:
        local_minutes = ts_ms // 60_000 + tz_min
        weekday = (local_minutes // 1440 + 3) % 7  # 1970-01-01 was a Thursday: Monday is 0
        return int(weekday * 24 + (local_minutes % 1440) // 60)

    def learn_one(self, metric: str, ts_ms: int, tz_min: int, value: float) -> None:
        self.overall.setdefault(metric, Baseline(metric=metric)).learn_one(value)
        self.hourly.setdefault(metric, {}).setdefault(
            self.slot(ts_ms, tz_min), Baseline(metric=metric)
        ).learn_one(value)
        if metric not in self.latest or ts_ms >= self.latest[metric][0]:
            self.latest[metric] = (ts_ms, value, tz_min)
        self.seen_until_ms[metric] = max(self.seen_until_ms.get(metric, ts_ms), ts_ms)
        self.first_ms[metric] = min(self.first_ms.get(metric, ts_ms), ts_ms)

    def update(self, vault: Vault, as_of: datetime | None = None) -> int:
        """Learn the observations not yet seen (up to ``as_of``); return how many."""
        learned = 0
        until = as_of
        for code in sorted({s.metric for s in vault.streams() if s.numeric}):
            since_ms = self.seen_until_ms.get(code)
            since = None if since_ms is None else datetime.fromtimestamp(since_ms / 1000, UTC)
            series = vault.read_series(code, purpose=Purpose.TWIN_CORE, since=since, until=until)
            if not len(series):
                continue
            ts, tz, values = series.ts_ms, series.columns.tz_min, series.values
            if since_ms is not None:
                new = ts > since_ms
                ts, tz, values = ts[new], tz[new], values[new]
            for t, z, v in zip(ts.tolist(), tz.tolist(), values.tolist(), strict=True):
                self.learn_one(code, t, z, v)
            learned += len(ts)
        return learned

    @classmethod
    def build(cls, vault: Vault, as_of: datetime | None = None) -> TwinState:
        """The state from scratch, from everything before ``as_of`` (the twin of that date)."""
        state = cls()
        state.update(vault, as_of)
        return state

    def to_json(self) -> str:
        return json.dumps(
            {
                "overall": {m: b.as_dict() for m, b in self.overall.items()},
                "hourly": {
                    m: {str(s): b.as_dict() for s, b in slots.items()}
                    for m, slots in self.hourly.items()
                },
                "latest": self.latest,
                "seen_until_ms": self.seen_until_ms,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> TwinState:
        raw = json.loads(text)
        return cls(
            overall={m: Baseline.from_dict(b, m) for m, b in raw["overall"].items()},
            hourly={
                m: {int(s): Baseline.from_dict(b, m) for s, b in slots.items()}
                for m, slots in raw["hourly"].items()
            },
            latest={m: (int(v[0]), float(v[1]), int(v[2])) for m, v in raw["latest"].items()},
            seen_until_ms={m: int(v) for m, v in raw["seen_until_ms"].items()},
            first_ms={m: int(v) for m, v in raw.get("first_ms", {}).items()},
        )


def refresh_twin(vault: Vault) -> tuple[TwinState, int]:
    """Load the stored state, learn what arrived since, store it again (with lineage)."""
    stored = vault.derived("twin:state")
    state = TwinState.from_json(stored.payload["state"]) if stored else TwinState()
    learned = state.update(vault)
    lineage = Lineage(
        purpose=Purpose.TWIN_CORE.value,
        grants=tuple(
            sorted(
                {
                    g.id
                    for g in vault.consents().grants
                    if g.purpose is Purpose.TWIN_CORE and g.revoked_at is None
                }
            )
        ),
    )
    if stored is not None and not learned and stored.lineage.grants == lineage.grants:
        return state, learned  # nothing new: the stored state stands
    vault.save_derived(
        Derived(
            name="twin:state",
            kind="twin_state",
            lineage=lineage,
            payload={
                "state": state.to_json(),
                "updated_ms": to_epoch_ms(datetime.now().astimezone()),
            },
        )
    )
    return state, learned


class MetricNow(BaseModel):
    """One metric's newest value against the person's baseline."""

    metric: str
    value: float
    at: datetime  # when the value was measured
    usual: float | None
    spread: float | None  # robust SD, never below the metric's plausible floor
    z: float | None
    unusual: bool
    sentence: str


class TwinSummary(BaseModel):
    """The twin at a glance: every metric's newest value, judged by one rule, and the
    time of the data it is based on."""

    as_of: datetime | None  # the twin of this date (None: now)
    based_on: datetime | None  # the newest observation the state has learned
    metrics: list[MetricNow]


def twin_summary(
    state: TwinState, *, profile: dict[str, Any] | None = None, as_of: datetime | None = None
) -> TwinSummary:
    """Judge every metric's newest value by :func:`lifetwin.capabilities.unusual.unusual`
    (glucose against the person's targets from ``profile`` too)."""
    from lifetwin.capabilities.unusual import assess, glucose_targets

    targets = glucose_targets(profile or {})
    rows = []
    for code in sorted(state.latest):
        ts_ms, value, _tz = state.latest[code]
        verdict = assess(state, code, targets=targets if code == "glucose" else None)
        if verdict is None:
            continue
        rows.append(
            MetricNow(
                metric=code,
                value=value,
                at=datetime.fromtimestamp(ts_ms / 1000, UTC),
                usual=verdict.usual,
                spread=verdict.spread,
                z=verdict.z,
                unusual=verdict.unusual,
                sentence=verdict.sentence,
            )
        )
    newest = max((r.at for r in rows), default=None)
    return TwinSummary(as_of=as_of, based_on=newest, metrics=rows)
