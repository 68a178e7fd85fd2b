"""Live delivery: webhooks and the event stream."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from lifetwin.api.deps import Svc, Who, Writer, owner, reply, scope, twin_reader
from lifetwin.api.security import ApiError
from lifetwin.privacy.consent import Purpose
from lifetwin.services.live import EVENTS, webhook_problem

router = APIRouter(prefix="/api/v1/persons/{person_id}", tags=["live"])


class WebhookBody(BaseModel):
    url: str = Field(max_length=2000, description="An https:// address on the internet.")
    events: list[str] = Field(default_factory=lambda: list(EVENTS), max_length=5)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]


class NewWebhookOut(WebhookOut):
    secret: str


class DeliveryOut(BaseModel):
    webhook_id: str
    event: str
    state: str  # queued, retrying, delivered, failed
    status: int | None  # the receiver's HTTP status, when it answered
    attempts: int


class WebhookList(BaseModel):
    items: list[WebhookOut]
    deliveries: list[DeliveryOut]


@router.get(
    "/webhooks",
    summary="Registered webhooks and their latest deliveries",
    response_model=WebhookList,
    openapi_extra=scope("self_access"),
)
def list_webhooks(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    ctx = owner(svc, who, person_id)
    hooks = ctx.vault().webhooks()
    return reply(
        request,
        WebhookList(
            items=[WebhookOut(id=h["id"], url=h["url"], events=h["events"]) for h in hooks],
            deliveries=[
                DeliveryOut(
                    webhook_id=d.webhook_id,
                    event=d.event,
                    state=d.state,
                    status=d.status,
                    attempts=d.attempts,
                )
                for d in svc.broker.deliveries(ctx.person.id)
            ],
        ),
    )


@router.post(
    "/webhooks",
    summary="Register a webhook (secret shown once)",
    status_code=201,
    response_model=NewWebhookOut,
    openapi_extra=scope("self_access"),
)
def add_webhook(
    person_id: str, body: WebhookBody, request: Request, svc: Svc, who: Writer
) -> Response:
    ctx = owner(svc, who, person_id)
    problem = webhook_problem(body.url, body.events, svc.broker.allow)
    if problem:
        raise ApiError(422, problem)
    hook = NewWebhookOut(
        id=secrets.token_hex(6),
        url=body.url.strip(),
        secret=secrets.token_urlsafe(32),
        events=body.events,
    )
    ctx.vault().add_webhook(hook.model_dump())
    return reply(request, hook, status=201)


@router.delete(
    "/webhooks/{hook_id}",
    summary="Remove a webhook",
    status_code=204,
    openapi_extra=scope("self_access"),
)
def delete_webhook(person_id: str, hook_id: str, svc: Svc, who: Writer) -> Response:
    if not owner(svc, who, person_id).vault().remove_webhook(hook_id):
        raise ApiError(404, f"There is no webhook '{hook_id}'.")
    return Response(status_code=204)


@router.get(
    "/events",
    summary="Server-sent events: new alerts and forecasts (from any worker)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "string",
                        "description": "event: alert|forecast, data: the event as JSON",
                    }
                }
            },
            "description": "An event stream",
        }
    },
    openapi_extra=scope("forecasting"),
)
async def events(
    person_id: str, request: Request, svc: Svc, who: Who, once: bool = False
) -> StreamingResponse:
    ctx = await asyncio.to_thread(twin_reader, svc, who, person_id, Purpose.FORECASTING)
    person = ctx.person
    broker = svc.broker
    last = await asyncio.to_thread(broker.last_id, person.id)
    deadline = asyncio.get_running_loop().time() + svc.settings.sse_max_s

    async def stream() -> Any:
        nonlocal last
        yield f": connected {datetime.now(UTC).isoformat()}\n\n"
        seen = -1
        idle = 0.0
        polled = 0.0
        loop = asyncio.get_running_loop()
        while not await request.is_disconnected() and loop.time() < deadline:
            signal = broker.signal(person.id)
            now = loop.time()
            # Look in the store when a worker said something arrived, else every 250 ms.
            if signal != seen or now - polled >= 0.25:
                seen, polled = signal, now
                found = await asyncio.to_thread(broker.read, person.id, last)
                for event_id, message in found:
                    last = event_id
                    idle = 0.0
                    data = json.dumps(message["data"])
                    yield f"id: {message['id']}\nevent: {message['event']}\ndata: {data}\n\n"
                if once and not found:
                    return
            await asyncio.sleep(0.05)
            idle += 0.05
            if idle >= 15:
                idle = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )
