"""What the twin computes, as operations: the overview, the twin's state, early warnings,
forecasts, the CGM report, risk scores and insights.

Each function reads through the consent gate (each capability with its own purpose),
returns a pydantic model, and is the one place its defaults live — the command line, the
API and the dashboard all call these, so they show the same numbers for the same person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from lifetwin.capabilities.risk import RiskReport
from lifetwin.core.errors import LifeTwinError, NotEnoughDataError
from lifetwin.core.vocabulary import metric
from lifetwin.operations.context import Context
from lifetwin.operations.data import num
from lifetwin.operations.glucose import CGM_DAYS as CGM_DAYS
from lifetwin.operations.glucose import AgpHour as AgpHour
from lifetwin.operations.glucose import CgmView as CgmView
from lifetwin.operations.glucose import GlucoseForecast as GlucoseForecast
from lifetwin.operations.glucose import GlucosePoint as GlucosePoint
from lifetwin.operations.glucose import Targets as GlucoseTargets
from lifetwin.operations.glucose import cgm as cgm
from lifetwin.operations.glucose import glucose_forecast as glucose_forecast
from lifetwin.operations.glucose import rows_in_unit as glucose_rows
from lifetwin.privacy.consent import Purpose

# One default each, for every adapter (they had drifted: 0.1/21 days on the dashboard,
# 0.05/28 on the command line).
INSIGHT_FDR = 0.1  # false discovery rate across every pair tested (exploratory, BH)
INSIGHT_MIN_DAYS = 21  # days both metrics of a pair need
ILLNESS_BUDGET = 0.1  # false illness alerts per healthy month
DEVIATION_BUDGET = 1.0  # false "unusual value" alerts per metric and month
DAILY_HORIZON = 7
RECENT_ALERT_DAYS = 14
STALE_DAYS = 3  # a latest value older than this is stale (as `lifetwin doctor` says)


# -- the twin's state -----------------------------------------------------------------------
class MetricNow(BaseModel):
    """One metric's newest value against the person's own usual value (one rule for every
    adapter: :func:`lifetwin.capabilities.unusual.unusual`)."""

    metric: str
    name: str
    unit: str
    latest: float
    at: datetime
    usual: float | None
    spread: float | None
    z: float | None
    unusual: bool
    sentence: str
    age_days: float | None = Field(default=None, description="how old the latest value is")
    stale: bool = Field(default=False, description="older than STALE_DAYS (3) days")


class Slot(BaseModel):
    centre: float | None
    spread: float | None
    n: int


class BaselineView(BaseModel):
    overall: Slot
    by_hour_of_week: dict[str, Slot]


class TwinView(BaseModel):
    """The twin's state: every metric now, the baselines it is judged by, and measures
    derived from weeks of data (trends)."""

    person: str
    as_of: datetime | None = Field(description="the twin rebuilt from the data before this")
    based_on: datetime | None = Field(description="the newest observation the twin learned")
    learned_now: int
    metrics: list[MetricNow]
    baselines: dict[str, BaselineView]
    measures: dict[str, Any]


def _rows(state: Any, vault: Any, as_of: datetime | None) -> tuple[list[MetricNow], Any]:
    from lifetwin.capabilities.twin_state import twin_summary

    profile = vault.profile()
    summary = twin_summary(state, profile=profile, as_of=as_of)
    now = datetime.now(UTC)
    rows = []
    for row in summary.metrics:
        m = metric(row.metric)
        age = (now - row.at).total_seconds() / 86400
        rows.append(
            MetricNow(
                metric=row.metric,
                name=m.name,
                unit=m.unit if m.unit != "currency" else str(profile.get("currency") or ""),
                age_days=round(age, 1),
                stale=age > STALE_DAYS,
                latest=num(row.value, 2) or 0.0,
                at=row.at,
                usual=num(row.usual, 2),
                spread=num(row.spread, 2),
                z=num(row.z, 2),
                unusual=row.unusual,
                sentence=row.sentence,
            )
        )
    return glucose_rows(rows, vault.profile()), summary.based_on


def _glucose_baseline(view: BaselineView, profile: dict[str, Any]) -> BaselineView:
    from lifetwin.operations.glucose import converted, preferred_unit

    unit = preferred_unit(profile)
    fields = ("centre", "spread")
    return BaselineView(
        overall=converted(view.overall, fields, unit),
        by_hour_of_week={k: converted(v, fields, unit) for k, v in view.by_hour_of_week.items()},
    )


def twin(ctx: Context, *, as_of: datetime | None = None) -> TwinView:
    """The twin now (learning only what is new), or rebuilt as it was before ``as_of``.
    Reads for twin_core."""
    from lifetwin.capabilities.measures import derived_measures
    from lifetwin.capabilities.twin_state import TwinState, refresh_twin

    vault = ctx.vault()
    if as_of is not None:
        state, learned = TwinState.build(vault, as_of), 0
    else:
        state, learned = refresh_twin(vault)
    rows, based_on = _rows(state, vault, as_of)
    baselines = {
        code: BaselineView(
            overall=Slot(centre=num(b.centre, 3), spread=num(b.spread, 3), n=b.n),
            by_hour_of_week={
                str(slot): Slot(centre=num(s.centre, 3), spread=num(s.spread, 3), n=s.n)
                for slot, s in sorted(state.hourly.get(code, {}).items())
            },
        )
        for code, b in sorted(state.overall.items())
    }
    if "glucose" in baselines:
        baselines["glucose"] = _glucose_baseline(baselines["glucose"], vault.profile())
    return TwinView(
        person=ctx.person.name,
        as_of=as_of,
        based_on=based_on,
        learned_now=learned,
        metrics=rows,
        baselines=baselines,
        measures=derived_measures(vault) if as_of is None else {},
    )


# -- early warnings -------------------------------------------------------------------------
class AlertView(BaseModel):
    kind: str
    day: date
    metric: str
    message: str
    score: float | None
    at: datetime | None = None


class AlertList(BaseModel):
    items: list[AlertView]
    next: str | None = None


def _alert(a: Any) -> AlertView:
    return AlertView(
        kind=a.kind, day=a.day, metric=a.metric, message=a.message, score=num(a.score, 2), at=a.at
    )


def alerts(
    ctx: Context,
    *,
    budget: float = ILLNESS_BUDGET,
    deviation_budget: float = DEVIATION_BUDGET,
    notifiers: Sequence[Any] = (),
) -> AlertList:
    """Run the illness warning and the unusual-value check over the person's data (reads
    for forecasting), store and deliver what they find, and list it."""
    from lifetwin.capabilities.early_warning import deviation_alerts, illness_alerts

    vault = ctx.vault()
    found = illness_alerts(vault, false_alerts_per_month=budget, notifiers=notifiers)
    found += deviation_alerts(vault, false_alerts_per_month=deviation_budget, notifiers=notifiers)
    return AlertList(items=[_alert(a) for a in found])


# -- the overview ---------------------------------------------------------------------------
class Freshness(BaseModel):
    source: str
    last_day: date
    days_ago: int


class PersonRef(BaseModel):
    id: str
    name: str


class Overview(BaseModel):
    """Today against the person's baselines, recent alerts and how fresh each source is."""

    person: PersonRef
    based_on: datetime | None
    metrics: list[MetricNow]
    alerts: list[AlertView]
    freshness: list[Freshness]
    twin_core: bool = Field(description="whether the twin may use any data (the grant)")


def overview(ctx: Context) -> Overview:
    """The twin refreshed (twin_core), the alerts of the last two weeks, the day of each
    source's newest data."""
    from lifetwin.capabilities.early_warning import stored_alerts
    from lifetwin.capabilities.twin_state import refresh_twin

    vault = ctx.vault()
    state, _ = refresh_twin(vault)
    rows, based_on = _rows(state, vault, None)
    today = datetime.now(UTC).date()
    last = vault.stream_last_days()
    fresh: dict[str, int] = {}
    for s in vault.streams():
        if s.id in last:
            fresh[s.source] = max(fresh.get(s.source, -(10**9)), last[s.id])
    epoch = date(1970, 1, 1)
    return Overview(
        person=PersonRef(id=ctx.person.id, name=ctx.person.name),
        based_on=based_on,
        metrics=rows,
        alerts=[
            _alert(a) for a in stored_alerts(vault) if (today - a.day).days <= RECENT_ALERT_DAYS
        ],
        freshness=[
            Freshness(
                source=source,
                last_day=epoch + timedelta(days=day),
                days_ago=(today - (epoch + timedelta(days=day))).days,
            )
            for source, day in sorted(fresh.items())
        ],
        twin_core=bool(state.overall),
    )


# -- forecasts ------------------------------------------------------------------------------
class DayPoint(BaseModel):
    day: str | None
    horizon: int
    value: float
    low: float
    high: float


class BacktestView(BaseModel):
    days: int
    horizons: list[int]
    mae: dict[str, list[float | None]]
    coverage: list[float | None]
    nominal: float


class DailyForecast(BaseModel):
    """A daily metric days ahead (Holt-Winters with a weekly season, 80 % intervals from
    its own past errors), with a rolling-origin backtest against naive forecasts."""

    kind: Literal["daily"] = "daily"
    name: str
    unit: str
    last_day: str
    days: int
    forecasts: list[DayPoint]
    explanation: dict[str, float]
    backtest: BacktestView


def daily_forecast(ctx: Context, name: str, *, days: int = DAILY_HORIZON) -> DailyForecast:
    """A daily metric (a numeric metric's daily value, ``sleep`` or ``spending``) ``days``
    ahead (1 to 60). Reads for forecasting."""
    from lifetwin.capabilities.daily_forecast import MIN_DAYS, forecast_daily

    if not 1 <= days <= 60:
        raise LifeTwinError("For daily metrics the horizon is 1 to 60 days.")
    if name not in ("sleep", "spending"):
        name = metric(name).code
    result = forecast_daily(ctx.vault(), name, days)
    if result is None:
        raise NotEnoughDataError(
            f"There are fewer than {MIN_DAYS} days of {name} for {ctx.person.name} that may "
            "be used for forecasting."
        )
    return DailyForecast(
        name=result.name,
        unit=result.unit,
        last_day=result.last_day,
        days=result.days,
        forecasts=[DayPoint(**asdict(f)) for f in result.forecasts],
        explanation=result.explanation,
        backtest=BacktestView(**asdict(result.backtest)),
    )


def forecast(
    ctx: Context, name: str = "glucose", *, days: int = DAILY_HORIZON, unit: str | None = None
) -> GlucoseForecast | DailyForecast:
    """Glucose minutes ahead (in ``unit``, default the person's), or any other (daily)
    metric days ahead."""
    if name in ("sleep", "spending") or metric(name).code != "glucose":
        return daily_forecast(ctx, name, days=days)
    return glucose_forecast(ctx, unit=unit)


# -- risk scores and insights ---------------------------------------------------------------
def risk(ctx: Context, *, today: date | None = None) -> RiskReport:
    """Every validated risk score with its inputs' origin (reads for twin_core)."""
    from lifetwin.capabilities.risk import risk_report

    return risk_report(ctx.vault(), today=today).model_copy(update={"lineage": None})


class InsightView(BaseModel):
    cause: str
    effect: str
    lag_days: int
    threshold: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    q_value: float
    days_high: int
    days_low: int
    unit: str
    sentence: str
    headline: str = Field(default="", description="the finding in one plain sentence")
    cause_name: str = ""
    effect_name: str = ""
    cause_unit: str = ""
    cause_difference: float = Field(
        default=0.0, description="the cause's mean on its high days minus on its other days"
    )
    effect_high: float = Field(default=0.0, description="the effect's mean after high days")
    effect_low: float = Field(default=0.0, description="the effect's mean after other days")


class InsightList(BaseModel):
    items: list[InsightView]
    metrics_tested: int
    fdr: float
    min_days: int
    pairs_tested: int = 0
    related_left_out: int = Field(
        default=0, description="tests not run: pairs that measure one thing two ways"
    )
    related: list[str] = Field(
        default_factory=list, description="the groups of related metrics among the person's"
    )


def insights(
    ctx: Context, *, fdr: float = INSIGHT_FDR, min_days: int = INSIGHT_MIN_DAYS
) -> InsightList:
    """Associations between the person's daily metrics (lags 0–2 days), with the false
    discovery rate controlled across every pair tested (reads for twin_core)."""
    from lifetwin.capabilities.insights import LAGS, RELATED, daily_table, find_insights, pairs

    if not 0 < fdr < 1:
        raise LifeTwinError("The false discovery rate must be between 0 and 1.")
    table, units = daily_table(ctx.vault(), min_days=min_days)
    found = find_insights(table, units, min_days=min_days, fdr=fdr)
    kept, left_out = pairs(sorted(table), LAGS)
    return InsightList(
        items=[InsightView(**asdict(i)) for i in found],
        metrics_tested=len(table),
        fdr=fdr,
        min_days=min_days,
        pairs_tested=len(kept),
        related_left_out=left_out,
        related=[why for why, group, _hub in RELATED if len(group & table.keys()) >= 2],
    )


# -- a metric's history against the usual range ---------------------------------------------
class HistoryPoint(BaseModel):
    t: str
    ms: int
    mean: float | None
    usual_low: float | None = None
    usual_high: float | None = None
    unusual: bool = False


class MetricHistory(BaseModel):
    """A metric's averages over the last days, each with the person's usual range for its
    hour of the week (±2 robust SD) and whether the one rule calls it unusual."""

    metric: str
    name: str
    unit: str
    days: int
    every_s: int
    points: list[HistoryPoint]
    sources: list[str]
    unusual: int | None = Field(description="values called unusual (None: no baseline)")
    targets: GlucoseTargets | None = Field(
        default=None, description="the person's target range (glucose), in the unit"
    )


def metric_history(
    ctx: Context, code: str, *, days: int = 7, baseline: bool = True
) -> MetricHistory:
    """Read for the caller's purpose; the usual range is the person's own twin (twin_core),
    shown only to the person (``baseline``) and only where the twin may use the metric."""
    from lifetwin.capabilities.twin_state import refresh_twin
    from lifetwin.capabilities.unusual import baseline_for, glucose_targets, unusual
    from lifetwin.operations.data import series

    days = min(max(days, 1), 7300)
    every = max(60, days * 86400 // 2000)
    since = datetime.now(UTC) - timedelta(days=days)
    found = series(ctx, code, since=since, every_s=every, limit=10_000)
    vault = ctx.vault()
    state = None
    if baseline and any(s.metric == found.metric for s in vault.visible_streams(Purpose.TWIN_CORE)):
        state, _ = refresh_twin(vault)
    latest = state.latest.get(found.metric) if state else None
    tz_min = latest[2] if latest else 0  # baselines are by local hour of the week
    targets = glucose_targets(vault.profile()) if found.metric == "glucose" else None
    points: list[HistoryPoint] = []
    odd = 0
    for p in found.points:
        point = HistoryPoint(t=p.t, ms=p.ms, mean=p.mean)
        base = baseline_for(state, found.metric, p.ms + every * 500, tz_min) if state else None
        if base is not None and p.mean is not None:
            verdict = unusual(found.metric, p.mean, base, targets=targets)
            if verdict.usual is not None and verdict.spread is not None:
                point.usual_low = round(verdict.usual - 2 * verdict.spread, 3)
                point.usual_high = round(verdict.usual + 2 * verdict.spread, 3)
            point.unusual = verdict.unusual
            odd += verdict.unusual
        points.append(point)
    history = MetricHistory(
        metric=found.metric,
        name=found.name,
        unit=found.unit,
        days=days,
        every_s=every,
        points=points,
        sources=found.sources,
        unusual=odd if state is not None else None,
    )
    if targets is not None:  # glucose: in the person's unit, with their target lines
        from lifetwin.operations.glucose import converted, preferred_unit, to_unit

        unit = preferred_unit(vault.profile())
        fields = ("mean", "usual_low", "usual_high")
        history = history.model_copy(
            update={
                "unit": unit,
                "points": [converted(p, fields, unit) for p in points],
                "targets": GlucoseTargets(
                    low=to_unit(targets[0], unit), high=to_unit(targets[1], unit), unit=unit
                ),
            }
        )
    return history
