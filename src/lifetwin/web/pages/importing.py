"""Importing an export file from the browser, with the job's progress and summary."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from lifetwin.api.deps import Svc
from lifetwin.api.security import ApiError
from lifetwin.web.layout import Viewer, own, page

router = APIRouter(include_in_schema=False)


@router.get("/p/{person_id}/import")
def import_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, job: str | None = None
) -> HTMLResponse:
    person = own(svc, who, person_id)
    records = svc.gate.vault(who, person).imports()
    found = svc.import_status(person, job) if job else None
    return page(
        request,
        "import.html",
        title="Import",
        section="import",
        who=who,
        person=person,
        job=found,
        imports=list(reversed(records))[:20],
    )


@router.post("/p/{person_id}/import")
async def import_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    form = await request.form()
    svc.gate.check_csrf(who, str(form.get("csrf_token") or ""))
    person = own(svc, who, person_id)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ApiError(422, "Choose a file to import.")
    job = await svc.receive_upload(person, upload, None)
    return RedirectResponse(f"/p/{person.id}/import?job={job.id}", status_code=303)
