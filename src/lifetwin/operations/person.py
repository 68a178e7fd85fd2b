"""The person: their profile (facts that are not measurements, through the profile schema),
the time zone their times are shown in, and every metric they hold.

* :func:`profile` / :func:`set_profile` — the profile's facts as form fields (kind,
  choices, unit, current answer, which risk scores use it); answers are checked by
  :mod:`lifetwin.core.profile` and a refused one stores nothing and says why in one sentence.
* :func:`zone_of` — the zone times are shown in: the profile's ``time_zone``, else the
  offset the person's newest data was recorded in, else UTC (the command line and the
  dashboard show the same clock).
* :func:`held_metrics` — every metric the person holds, with its unit, sources, devices,
  files, count and first and last time; several streams of one metric are explained.
"""

from __future__ import annotations

import typing
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Literal

from pydantic import BaseModel, Field

from lifetwin.operations.context import Context
from lifetwin.privacy.consent import Purpose

# -- the time zone ------------------------------------------------------------------------


class ZoneView(BaseModel):
    name: str = Field(description="an IANA name (Europe/Berlin) or an offset (UTC+01:00)")
    source: Literal["profile", "data", "default"]


def zone_view(ctx: Context) -> ZoneView:
    """Where the person's times are shown: the profile's zone, else their data's offset."""
    from lifetwin.core.display import zone, zone_name

    named = ctx.vault().profile().get("time_zone")
    if named:
        return ZoneView(name=zone_name(zone(str(named))), source="profile")
    offset = _data_offset(ctx)
    if offset is not None:
        return ZoneView(name=zone_name(zone(None, offset)), source="data")
    return ZoneView(name="UTC", source="default")


def zone_of(ctx: Context) -> tzinfo:
    """The zone to show the person's times in (see :func:`zone_view`)."""
    from lifetwin.core.display import zone

    named = ctx.vault().profile().get("time_zone")
    if named:
        return zone(str(named))
    return zone(None, _data_offset(ctx))


def _data_offset(ctx: Context) -> int | None:
    """The UTC offset (minutes) of the newest value of the freshest numeric stream the
    caller may read (one read of its last day, through the gate)."""
    from datetime import timedelta

    vault = ctx.vault()
    last = vault.stream_last_days()
    visible = [s for s in vault.visible_streams(ctx.purpose, ctx.recipient) if s.numeric]
    fresh = max(visible, key=lambda s: last.get(s.id, -1), default=None)
    if fresh is None or fresh.id not in last:
        return None
    day = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=last[fresh.id])
    series = vault.read_series(
        fresh.metric, purpose=ctx.purpose, recipient=ctx.recipient, since=day, source=fresh.source
    )
    return int(series.columns.tz_min[-1]) if len(series) else None


# -- the profile ----------------------------------------------------------------------------
FieldKind = Literal["date", "choice", "yes_no", "measure", "text"]


class ProfileField(BaseModel):
    key: str
    label: str
    kind: FieldKind
    choices: list[str] = Field(default_factory=list)
    unit: str | None = None
    value: str | None = Field(description="the stored answer, as it can be typed again")
    problem: str | None = Field(
        default=None, description="why a stored answer cannot be used (stored before checks)"
    )
    used_by: list[str] = Field(default_factory=list, description="the risk scores that use it")


class ProfileView(BaseModel):
    """The person's profile: every fact LifeTwin knows, answered or not."""

    person: str
    facts: dict[str, Any]
    fields: list[ProfileField]


def _kind(key: str, annotation: Any) -> tuple[FieldKind, list[str], str | None]:
    from lifetwin.core.profile import _MEASURES

    if key in _MEASURES:
        return "measure", [], _MEASURES[key][0].replace("mg/dl", "mg/dL")
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    inner = args[0] if args else annotation
    if inner is bool:
        return "yes_no", ["yes", "no"], None
    if inner is date:
        return "date", [], None
    if typing.get_origin(inner) is Literal:
        return "choice", [str(c) for c in typing.get_args(inner)], None
    return "text", [], None


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def profile_inputs() -> dict[str, list[str]]:
    """Profile fact -> the risk scores that use it."""
    from lifetwin.capabilities.risk import score_inputs

    needs: dict[str, list[str]] = {}
    for score, keys in score_inputs().items():
        for key in keys:
            facts = {"age": ("birth_date",), "bmi": ("weight_kg", "height_cm")}.get(key, (key,))
            for fact in facts:
                needs.setdefault(fact, []).append(score)
    return needs


def profile(ctx: Context) -> ProfileView:
    """The profile as the person answered it, each fact a form field."""
    from lifetwin.core.profile import DESCRIPTIONS, Profile, read_profile

    stored = ctx.vault().profile()
    checked, problems = read_profile(stored)
    used = profile_inputs()
    fields = []
    for key, info in Profile.model_fields.items():
        kind, choices, unit = _kind(key, info.annotation)
        value = getattr(checked, key)
        fields.append(
            ProfileField(
                key=key,
                label=DESCRIPTIONS.get(key, key.replace("_", " ")),
                kind=kind,
                choices=choices,
                unit=unit,
                value=_shown(value if value is not None else stored.get(key)),
                problem=problems.get(key),
                used_by=used.get(key, []),
            )
        )
    ctx.vault().log_event("view", ctx.purpose.value, what="profile")
    return ProfileView(person=ctx.person.name, facts=checked.stored(), fields=fields)


def set_profile(ctx: Context, facts: dict[str, Any]) -> ProfileView:
    """Store answers (blank ones are left as they were); the first one the schema refuses
    stores nothing and raises a ``ProfileError`` that says why in one sentence."""
    given = {k: v for k, v in facts.items() if v is not None and str(v).strip() != ""}
    if given:
        ctx.vault().set_profile(**given)
    return profile(ctx)


# -- every metric held --------------------------------------------------------------------------
class HeldStream(BaseModel):
    source: str
    device: str | None
    files: list[str] = Field(description="the imported files its values came from")
    count: int
    first: datetime | None
    last: datetime | None


class HeldMetric(BaseModel):
    metric: str
    name: str
    unit: str = Field(description="the unit as shown (never a placeholder)")
    kind: str
    numeric: bool
    count: int
    first: datetime | None
    last: datetime | None
    streams: list[HeldStream]
    note: str | None = Field(
        default=None, description="why one metric has several streams, when it has"
    )


class MetricList(BaseModel):
    """Every metric the person holds, for the metrics page and ``lifetwin show``."""

    person: str
    zone: ZoneView
    items: list[HeldMetric]
    quarantined: int


def _explain(name: str, streams: list[HeldStream]) -> str | None:
    if len(streams) < 2:
        return None
    parts = []
    for s in streams:
        where = s.source + (f" on {s.device}" if s.device else "")
        if s.files:
            where += " (" + ", ".join(s.files[:3]) + (", …" if len(s.files) > 3 else "") + ")"
        parts.append(where)
    return (
        f"{len(streams)} streams of {name.lower()}: {'; '.join(parts)}. Each source or "
        "device is kept as its own stream, so a value measured by two of them is not "
        "counted twice and you can tell them apart."
    )


def held_metrics(ctx: Context) -> MetricList:
    """Every metric (and event kind) the person holds, with where each stream came from."""
    from lifetwin.core.display import unit_label
    from lifetwin.core.errors import UnknownMetricError
    from lifetwin.core.vocabulary import metric

    vault = ctx.vault()
    files = {r.id: r.file for r in vault.imports()}
    currency = vault.profile().get("currency")
    by_metric: dict[str, list[Any]] = {}
    for stream in vault.streams():
        by_metric.setdefault(stream.metric, []).append(stream)
    items: list[HeldMetric] = []
    for code, streams in sorted(by_metric.items()):
        held: list[HeldStream] = []
        numeric = streams[0].numeric
        if numeric:
            series = vault.read_series(code, purpose=ctx.purpose, recipient=ctx.recipient)
            for i, stream in enumerate(series.streams):
                keep = series.stream_index == i
                ts = series.ts_ms[keep]
                ids = sorted({int(x) for x in series.columns.import_id[keep].tolist()})
                held.append(
                    HeldStream(
                        source=stream.source,
                        device=stream.device,
                        files=[files[x] for x in ids if x in files],
                        count=int(ts.shape[0]),
                        first=_at(int(ts[0])) if len(ts) else None,
                        last=_at(int(ts[-1])) if len(ts) else None,
                    )
                )
        else:
            records = vault.read_records(code, purpose=ctx.purpose, recipient=ctx.recipient)
            for stream in streams:
                mine = [r for r in records if r.source == stream.source]
                if not mine:
                    continue
                held.append(
                    HeldStream(
                        source=stream.source,
                        device=stream.device,
                        files=sorted({r.provenance.file for r in mine if r.provenance.file}),
                        count=len(mine),
                        first=min(r.start for r in mine),
                        last=max(r.start for r in mine),
                    )
                )
        held = [h for h in held if h.count]
        if not held:
            continue
        try:
            m = metric(code)
            name, unit, kind = m.name, unit_label(m.unit, m.code, currency), m.kind.value
        except UnknownMetricError:
            name, unit, kind = (
                code.removeprefix("event:").replace("_", " ").capitalize(),
                "",
                "event",
            )
        items.append(
            HeldMetric(
                metric=code,
                name=name,
                unit=unit,
                kind=kind,
                numeric=numeric,
                count=sum(h.count for h in held),
                first=min((h.first for h in held if h.first), default=None),
                last=max((h.last for h in held if h.last), default=None),
                streams=held,
                note=_explain(name, held),
            )
        )
    return MetricList(
        person=ctx.person.name,
        zone=zone_view(ctx),
        items=items,
        quarantined=len(vault.quarantined(purpose=ctx.purpose))
        if ctx.purpose is Purpose.SELF_ACCESS
        else 0,
    )


def _at(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


__all__ = [
    "HeldMetric",
    "HeldStream",
    "MetricList",
    "ProfileField",
    "ProfileView",
    "ZoneView",
    "held_metrics",
    "profile",
    "set_profile",
    "zone_of",
    "zone_view",
]
