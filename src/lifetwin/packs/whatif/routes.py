"""What if? in the API: run a scenario, ask for a suggestion, answer it, list the saved
ones. Each route parses, calls one operation of :mod:`lifetwin.packs.whatif.operations`
and returns its model; all read for the ``simulation`` purpose (a token must carry it)."""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from lifetwin.api.deps import Svc, Who, Writer, reply, scope, twin_reader
from lifetwin.api.security import ApiError
from lifetwin.packs.whatif import operations as ops
from lifetwin.packs.whatif.scenario import Scenario, load_scenario

router = APIRouter(prefix="/api/v1/persons/{person_id}/whatif", tags=["what if"])
SCENARIO_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml")


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its definitions inlined (the spec's request bodies carry no
    ``$defs`` of their own)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].split("/")[-1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    found: dict[str, Any] = walk(schema)
    return found


@cache
def scenario_schema() -> dict[str, Any]:
    return _inline(Scenario.model_json_schema())


class OptimizeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal: ops.Goal = Field(default_factory=lambda: ops.Goal(kind=ops.DEFAULT_GOAL))
    limits: ops.Limits = Field(default_factory=ops.Limits)


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["accept", "reject", "correct"]
    correction: dict[str, Any] | None = Field(
        default=None,
        description="With 'correct': the values you would use, keys as in the plan "
        '(dotted for nested ones: {"bolus_percent.dinner": 90}).',
    )
    note: str | None = Field(default=None, max_length=2000)


@router.get(
    "",
    summary="The scenarios run and the suggestions made, newest first",
    response_model=ops.WhatIfSaved,
    openapi_extra=scope("simulation"),
)
def get_saved(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    ctx = twin_reader(svc, who, person_id, ops.PURPOSE)
    return reply(request, ops.saved(ctx))


@router.post(
    "",
    summary="Run a scenario on the person's twin: as usual against the scenario, with bands",
    response_model=ops.ScenarioRun,
    openapi_extra={
        **scope("simulation"),
        "requestBody": {
            "content": {
                "application/json": {"schema": scenario_schema()},
                "application/yaml": {
                    "schema": {"type": "string", "description": "The scenario as YAML."}
                },
            },
            "required": True,
        },
    },
)
async def run_scenario(person_id: str, request: Request, svc: Svc, who: Writer) -> Response:
    ctx = await asyncio.to_thread(twin_reader, svc, who, person_id, ops.PURPOSE)
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind not in SCENARIO_TYPES:
        raise ApiError(
            415, f"Send the scenario as application/json or application/yaml, not {kind}."
        )
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, "The scenario is not UTF-8 text.") from None
    fmt: Literal["json", "yaml"] = "json" if kind == "application/json" else "yaml"
    scenario = load_scenario(text, fmt)
    found = await asyncio.to_thread(ops.run_scenario, ctx, scenario)
    return reply(request, found)


@router.post(
    "/optimize",
    summary="The best change within the person's limits toward a goal (a suggestion)",
    response_model=ops.SuggestionRecord,
    openapi_extra=scope("simulation"),
)
def optimize(
    person_id: str, body: OptimizeBody, request: Request, svc: Svc, who: Writer
) -> Response:
    ctx = twin_reader(svc, who, person_id, ops.PURPOSE)
    return reply(request, ops.suggest(ctx, body.goal, body.limits))


@router.get(
    "/suggestions/{suggestion_id}",
    summary="A suggestion and the person's answers to it",
    response_model=ops.SuggestionRecord,
    openapi_extra=scope("simulation"),
)
def get_suggestion(
    person_id: str, suggestion_id: str, request: Request, svc: Svc, who: Who
) -> Response:
    ctx = twin_reader(svc, who, person_id, ops.PURPOSE)
    return reply(request, ops.suggestion(ctx, suggestion_id))


@router.post(
    "/suggestions/{suggestion_id}/feedback",
    summary="Accept, reject or correct a suggestion (stored with it)",
    response_model=ops.SuggestionRecord,
    openapi_extra=scope("simulation"),
)
def post_feedback(
    person_id: str,
    suggestion_id: str,
    body: FeedbackBody,
    request: Request,
    svc: Svc,
    who: Writer,
) -> Response:
    ctx = twin_reader(svc, who, person_id, ops.PURPOSE)
    found = ops.feedback(
        ctx, suggestion_id, body.verdict, correction=body.correction, note=body.note
    )
    return reply(request, found)
