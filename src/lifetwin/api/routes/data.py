"""Persons and their data: streams, values, ingest, uploads and imports."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel

from lifetwin.api import ingest
from lifetwin.api.deps import Svc, Who, Writer, owner, page_link, reader, reply, scope, writer
from lifetwin.api.security import ApiError
from lifetwin.operations import data
from lifetwin.operations.data import MAX_POINTS, ImportResult, parse_time
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Role
from lifetwin.services.background import ImportStatus, summary_dict

router = APIRouter(prefix="/api/v1")


class PersonRef(BaseModel):
    id: str
    name: str


class PersonList(BaseModel):
    items: list[PersonRef]
    next: str | None = None


class ImportStatusOut(BaseModel):
    id: str
    file: str
    state: str
    read: int
    seconds: float
    summary: ImportResult | None
    error: str | None

    @classmethod
    def of(cls, status: ImportStatus) -> ImportStatusOut:
        return cls.model_validate(status.public())


class ImportRecordOut(BaseModel):
    id: int
    file: str
    format: str
    started: str
    finished: str | None
    counts: dict[str, int]
    error: str | None = None


class ImportList(BaseModel):
    items: list[ImportRecordOut]
    next: str | None = None


@router.get(
    "/persons",
    tags=["persons"],
    summary="The persons you can see",
    response_model=PersonList,
    openapi_extra=scope("account"),
)
def list_persons(request: Request, svc: Svc, who: Who) -> Response:
    people = svc.gate.visible_persons(who)
    return reply(request, PersonList(items=[PersonRef(id=p.id, name=p.name) for p in people]))


@router.get(
    "/persons/{person_id}",
    tags=["persons"],
    summary="One person",
    response_model=data.PersonView,
    openapi_extra=scope("read"),
)
def get_person(
    person_id: str, request: Request, svc: Svc, who: Who, purpose: Purpose | None = None
) -> Response:
    return reply(request, data.person(reader(svc, who, person_id, purpose)))


@router.delete(
    "/persons/{person_id}",
    tags=["persons"],
    summary="Erase the person (irreversible)",
    status_code=204,
    openapi_extra=scope("self_access"),
)
def erase_person(
    person_id: str,
    svc: Svc,
    who: Writer,
    confirm: str = Query(description="The person's name, to confirm."),
) -> Response:
    ctx = owner(svc, who, person_id)
    if not svc.confirms(ctx.person, confirm):
        raise ApiError(400, "To erase, 'confirm' must be the person's name exactly.")
    svc.erase(ctx.person, who)
    return Response(status_code=204)


@router.get(
    "/persons/{person_id}/streams",
    tags=["data"],
    summary="Streams you may see",
    response_model=data.StreamList,
    openapi_extra=scope("read"),
)
def list_streams(
    person_id: str, request: Request, svc: Svc, who: Who, purpose: Purpose | None = None
) -> Response:
    return reply(request, data.streams(reader(svc, who, person_id, purpose)))


@router.get(
    "/persons/{person_id}/observations",
    tags=["data"],
    summary="A metric's values in a time range",
    response_model=data.SeriesPage,
    openapi_extra=scope("read"),
)
def read_observations(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    metric: str = Query(max_length=80),
    since: str | None = Query(default=None, description="ISO 8601 start (inclusive)."),
    until: str | None = Query(default=None, description="ISO 8601 end (exclusive)."),
    every: int | None = Query(
        default=None, ge=1, le=366 * 86400, description="Average into buckets of this many seconds."
    ),
    limit: int = Query(default=5000, ge=1, le=MAX_POINTS),
    after_ms: int | None = Query(
        default=None, description="The 'next_after_ms' of the previous page."
    ),
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    page = data.series(
        ctx,
        metric,
        since=parse_time(since, "since"),
        until=parse_time(until, "until"),
        every_s=every,
        limit=limit,
        after_ms=after_ms,
    )
    headers = {}
    if page.next_after_ms is not None:
        headers["Link"] = page_link(request, after_ms=page.next_after_ms)
    return reply(request, page, headers=headers)


@router.post(
    "/persons/{person_id}/observations",
    tags=["data"],
    summary="Ingest observations (JSON or NDJSON); all are stored or none",
    status_code=201,
    response_model=ImportResult,
    openapi_extra={
        **scope("write"),
        "requestBody": {
            "content": {
                "application/json": {"schema": ingest.schema()},
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "One observation per line."}
                },
            },
            "required": True,
        },
    },
)
async def ingest_observations(person_id: str, request: Request, svc: Svc, who: Writer) -> Response:
    person = writer(svc, who, person_id)
    settings = svc.settings
    await asyncio.to_thread(
        svc.gate.charge,
        f"ingest|{who.account}|{who.via}",
        settings.ingest_requests,
        settings.ingest_window_s,
        "ingest requests",
    )
    body = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        items = await asyncio.to_thread(ingest.parse_ndjson, body, settings.max_batch)
    elif kind == "application/json":
        items = await asyncio.to_thread(ingest.parse_json, body)
    else:
        raise ApiError(415, f"Send application/json or application/x-ndjson, not {kind}.")
    if len(items) > settings.max_batch:
        raise ApiError(413, f"At most {settings.max_batch:,} observations per request.")
    digest = hashlib.sha256(body).hexdigest()
    summary = await asyncio.to_thread(svc.ingest, person, items, digest, "api")
    return reply(request, summary_dict(summary), status=201)


@router.post(
    "/persons/{person_id}/imports",
    tags=["data"],
    summary="Upload an export file to import",
    status_code=202,
    response_model=ImportStatusOut,
    openapi_extra=scope("write"),
)
async def upload_import(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Writer,
    file: Annotated[
        UploadFile, File(description="An export file (Apple Health zip, Clarity CSV, FHIR, ...).")
    ],
    format: Annotated[
        str | None, Form(description="Force a format instead of detecting it.")
    ] = None,
) -> Response:
    person = await asyncio.to_thread(writer, svc, who, person_id)
    job = await svc.receive_upload(person, file, format or None)
    location = f"/api/v1/persons/{person_id}/imports/{job.id}"
    return reply(request, ImportStatusOut.of(job), status=202, headers={"Location": location})


@router.get(
    "/persons/{person_id}/imports/{job_id}",
    tags=["data"],
    summary="Progress and summary of an upload (on any worker)",
    response_model=ImportStatusOut,
    openapi_extra=scope("write|self_access"),
)
def import_status(person_id: str, job_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = svc.gate.person_for(who, person_id)
    if who.role is not Role.PERSON or not (
        who.can_write or Purpose.SELF_ACCESS in (who.purposes or ())
    ):
        raise ApiError(403, "Only the person themself (or their write token) can see this.")
    status = svc.import_status(person, job_id)
    if status is None:
        raise ApiError(404, f"There is no import '{job_id}' for this person.")
    return reply(request, ImportStatusOut.of(status))


@router.get(
    "/persons/{person_id}/imports",
    tags=["data"],
    summary="Past imports",
    response_model=ImportList,
    openapi_extra=scope("self_access"),
)
def list_imports(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    ctx = owner(svc, who, person_id)
    records = ctx.vault().imports()
    return reply(
        request,
        ImportList(
            items=[
                ImportRecordOut(
                    id=r.id,
                    file=r.file,
                    format=r.format,
                    started=str(r.started),
                    finished=str(r.finished) if r.finished else None,
                    counts=r.counts,
                    error=r.error,
                )
                for r in records
            ]
        ),
    )
