"""The "What if" page: pick or edit a scenario (a form, or YAML/JSON), see the
trajectories as usual and under the scenario with their 90 % bands and the comparison in
plain words; ask for the best change within your limits and accept, reject or correct it.

Pages parse forms, call :mod:`lifetwin.packs.whatif.operations` (reading for the
``simulation`` purpose) and render; figures come from :mod:`lifetwin.packs.whatif.charts`.
"""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lifetwin.api.deps import Svc
from lifetwin.core.errors import LifeTwinError
from lifetwin.packs.whatif import charts
from lifetwin.packs.whatif import operations as ops
from lifetwin.packs.whatif.scenario import parse_scenario
from lifetwin.web.layout import Viewer, form_csrf, page, twin_context

router = APIRouter(include_in_schema=False)
TEMPLATE = "whatif.html"
GOALS = (
    ("time_in_range", "More time in range (glucose)"),
    ("performance", "A performance by a date (training)"),
    ("sleep", "A sleep target (hours)"),
)


def examples() -> dict[str, str]:
    """The example scenarios shipped with the pack (name -> YAML text)."""
    folder = resources.files("lifetwin.packs.whatif") / "examples"
    return {
        item.name.removesuffix(".yaml"): item.read_text(encoding="utf-8")
        for item in sorted(folder.iterdir(), key=lambda i: i.name)
        if item.name.endswith(".yaml")
    }


def _title(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("name:"):
            return line.split(":", 1)[1].strip()
    return "scenario"


def _yaml(scenario: Any) -> str:
    import yaml

    data = scenario.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    for item in data.get("interventions", []):
        for key in [k for k, v in item.items() if k != "kind" and v in (0, False)]:
            if key in ("shift_min", "add"):
                del item[key]
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return text


def _number(form: dict[str, Any], key: str) -> float | None:
    text = str(form.get(key) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise LifeTwinError(f"'{text}' is not a number ({key.replace('_', ' ')}).") from None


def _text(form: dict[str, Any], key: str) -> str | None:
    text = str(form.get(key) or "").strip()
    return text or None


def scenario_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """The simple form's fields as a scenario (percentages of the usual become scales);
    the scenario module then validates it with one-sentence errors."""
    items: list[dict[str, Any]] = []
    meal_at = _text(form, "meal_at")
    if meal_at:
        meal: dict[str, Any] = {"kind": "meal", "at": meal_at}
        if (shift := _number(form, "meal_shift_min")) is not None:
            meal["shift_min"] = int(shift)
        if (pct := _number(form, "meal_pct")) is not None:
            meal["scale"] = pct / 100
        if absorption := _text(form, "meal_absorption"):
            meal["absorption"] = absorption
        items.append(meal)
    bolus_pct, bolus_shift = _number(form, "bolus_pct"), _number(form, "bolus_shift_min")
    if bolus_pct is not None or bolus_shift:
        bolus: dict[str, Any] = {"kind": "bolus"}
        if bolus_pct is not None:
            bolus["scale"] = bolus_pct / 100
        if bolus_shift:
            bolus["shift_min"] = int(bolus_shift)
        items.append(bolus)
    if (basal_pct := _number(form, "basal_pct")) is not None:
        basal: dict[str, Any] = {"kind": "basal", "scale": basal_pct / 100}
        if (a := _text(form, "basal_from")) and (b := _text(form, "basal_to")):
            basal |= {"from_time": a, "to_time": b}
        items.append(basal)
    if exercise_at := _text(form, "exercise_at"):
        items.append(
            {
                "kind": "exercise",
                "at": exercise_at,
                "duration_min": int(_number(form, "exercise_min") or 30),
                "intensity": _text(form, "exercise_intensity") or "moderate",
            }
        )
    bedtime, wake = _text(form, "bedtime"), _text(form, "wake")
    if bedtime or wake:
        items.append({"kind": "sleep", "bedtime": bedtime or "23:00", "wake": wake or "07:00"})
    if (load := _number(form, "load_pct")) is not None:
        items.append({"kind": "training", "weekly_load_scale": load / 100})
    if (budget := _number(form, "daily_budget")) is not None:
        items.append({"kind": "spending", "daily_budget": budget})
    if not items:
        raise LifeTwinError("Fill in at least one change (or write the scenario as YAML/JSON).")
    raw: dict[str, Any] = {"interventions": items}
    if name := _text(form, "name"):
        raw["name"] = name
    if (days := _number(form, "horizon_days")) is not None:
        raw["horizon_days"] = int(days)
    return raw


def _answers(record: ops.SuggestionRecord | None) -> list[str]:
    """Each answer in words, newest last."""
    out: list[str] = []
    for f in record.feedback if record else []:
        words = {"accept": "accepted", "reject": "rejected", "correct": "corrected"}[f.verdict]
        text = f"{f.at.strftime('%Y-%m-%d %H:%M')} UTC: {words}"
        if f.correction:
            values = [ops.describe_value(k, float(v)) for k, v in f.correction.items()]
            text += " (" + ", ".join(f"{label} {value}" for label, value in values) + ")"
        if f.note:
            text += f" — {f.note}"
        out.append(text)
    return out


def _render(
    request: Request,
    ctx: Any,
    who: Any,
    *,
    status: int = 200,
    text: str | None = None,
    form: dict[str, Any] | None = None,
    run: ops.ScenarioRun | None = None,
    record: ops.SuggestionRecord | None = None,
    error: str | None = None,
    suggest_error: str | None = None,
    flash: str | None = None,
) -> HTMLResponse:
    shipped = examples()
    try:
        stored = ops.saved(ctx)
    except LifeTwinError:
        stored = None
    return page(
        request,
        TEMPLATE,
        status=status,
        title="What if",
        section="whatif",
        who=who,
        person=ctx.person,
        charts=run is not None,
        flash=flash,
        examples=[(key, _title(value)) for key, value in shipped.items()],
        text=text if text is not None else shipped.get("prebolus", ""),
        form=form or {},
        run=run,
        glucose_chart=charts.glucose(run) if run else None,
        training_chart=charts.training(run) if run else None,
        record=record,
        plan=ops.describe_plan(record.suggestion) if record else [],
        plan_values=ops.plan_values(record.suggestion) if record else {},
        said=_answers(record),
        goals=GOALS,
        error=error,
        suggest_error=suggest_error,
        saved=stored,
        limits=ops.Limits(),
    )


@router.get("/p/{person_id}/whatif")
def whatif_page(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Viewer,
    example: str | None = None,
    saved: str | None = None,
    suggestion: str | None = None,
    flash: str | None = None,
) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, ops.PURPOSE)
    text = examples().get(example) if example else None
    if saved:
        found = [s for s in ops.saved(ctx).scenarios if s.id == saved]
        text = _yaml(found[0].scenario) if found else None
    record = None
    error = None
    if suggestion:
        try:
            record = ops.suggestion(ctx, suggestion)
        except LifeTwinError as exc:
            error = str(exc)
    return _render(request, ctx, who, text=text, record=record, suggest_error=error, flash=flash)


@router.post("/p/{person_id}/whatif")
async def whatif_run(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    """Run the scenario of the simple form, or of the YAML/JSON text."""
    import asyncio

    form = await form_csrf(request, who, svc)
    ctx = await asyncio.to_thread(twin_context, svc, who, person_id, ops.PURPOSE)
    advanced = str(form.get("mode") or "") == "text"
    text = str(form.get("scenario_text") or "") if advanced else None
    try:
        scenario = (
            ops.scenario_from_text(text or "")
            if advanced
            else parse_scenario(scenario_from_form(form))
        )
        run = await asyncio.to_thread(ops.run_scenario, ctx, scenario)
    except LifeTwinError as exc:
        return await asyncio.to_thread(
            _render,
            request,
            ctx,
            who,
            status=422,
            text=text,
            form={} if advanced else form,
            error=str(exc),
        )
    return await asyncio.to_thread(
        _render,
        request,
        ctx,
        who,
        text=text if advanced else _yaml(scenario),
        form={} if advanced else form,
        run=run,
    )


@router.post("/p/{person_id}/whatif/optimize")
async def whatif_optimize(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    """Ask for the best change within the limits given; show it with its evidence."""
    import asyncio

    form = await form_csrf(request, who, svc)
    ctx = await asyncio.to_thread(twin_context, svc, who, person_id, ops.PURPOSE)
    try:
        goal = ops.Goal.model_validate(
            {
                "kind": str(form.get("goal") or ops.DEFAULT_GOAL),
                "target": _number(form, "target"),
                "by_days": int(days) if (days := _number(form, "by_days")) is not None else None,
            }
        )
        given: dict[str, Any] = {}
        for key, field, scale in (
            ("bolus_limit", "bolus_change", 100.0),
            ("basal_limit", "basal_change", 100.0),
            ("load_limit", "weekly_load_change", 100.0),
            ("prebolus_max", "prebolus_max_min", 1.0),
            ("bedtime_shift", "bedtime_shift_min", 1.0),
        ):
            if (value := _number(form, key)) is not None:
                given[field] = value / scale if scale != 1.0 else int(value)
        limits = ops.Limits.model_validate(given)
        record = await asyncio.to_thread(ops.suggest, ctx, goal, limits)
    except LifeTwinError as exc:
        return await asyncio.to_thread(
            _render, request, ctx, who, status=422, suggest_error=str(exc)
        )
    except ValueError as exc:  # pydantic's, for a goal or limit out of range
        message = _sentence(exc)
        return await asyncio.to_thread(
            _render, request, ctx, who, status=422, suggest_error=message
        )
    return RedirectResponse(
        f"/p/{ctx.person.id}/whatif?suggestion={quote(record.suggestion.id)}#suggestion",
        status_code=303,
    )


def _sentence(exc: ValueError) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]).replace("_", " ")
        return f"{where}: {first['msg'][0].lower()}{first['msg'][1:]}.".replace("..", ".")
    return str(exc)


@router.post("/p/{person_id}/whatif/suggestions/{suggestion_id}/feedback")
async def whatif_feedback(
    person_id: str, suggestion_id: str, request: Request, svc: Svc, who: Viewer
) -> Response:
    """Accept, reject or correct a suggestion; the answer is stored with it."""
    import asyncio

    form = await form_csrf(request, who, svc)
    ctx = await asyncio.to_thread(twin_context, svc, who, person_id, ops.PURPOSE)
    verdict = str(form.get("verdict") or "")
    where = f"/p/{ctx.person.id}/whatif?suggestion={quote(suggestion_id)}"
    try:
        if verdict not in ("accept", "reject", "correct"):
            raise LifeTwinError("The answer must be accept, reject or correct.")
        correction = None
        if verdict == "correct":
            correction = ops.correction_from_pairs(
                (key.removeprefix("set:"), str(value))
                for key, value in form.items()
                if key.startswith("set:")
            )
        await asyncio.to_thread(
            ops.feedback,
            ctx,
            suggestion_id,
            verdict,  # type: ignore[arg-type]  # checked above
            correction=correction,
            note=_text(form, "note"),
        )
    except LifeTwinError as exc:
        return RedirectResponse(f"{where}&flash={quote(str(exc))}#suggestion", status_code=303)
    said = {"accept": "accepted", "reject": "rejected", "correct": "corrected"}[verdict]
    message = f"Your answer ({said}) is stored with the suggestion."
    return RedirectResponse(f"{where}&flash={quote(message)}#suggestion", status_code=303)
