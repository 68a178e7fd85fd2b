"""Sign-in, sessions and scoped tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from lifetwin.api.deps import Svc, Who, Writer, reply, scope
from lifetwin.api.security import SESSION_COOKIE, ApiError
from lifetwin.api.service import Service
from lifetwin.services.accounts import SESSION_HOURS, AccountError, Role, parse_scopes

router = APIRouter(prefix="/api/v1", tags=["auth"])


class LoginBody(BaseModel):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    code: str = Field(max_length=12, description="The current TOTP code.")


class SessionOut(BaseModel):
    account: str
    role: str
    person_id: str | None
    csrf_token: str


class MeOut(BaseModel):
    account: str
    role: str
    person_id: str | None
    via: str
    purposes: list[str] | None


class TokenBody(BaseModel):
    person_id: str = Field(max_length=64, description="The person ('' for a study operator).")
    purposes: list[str] = Field(
        min_length=1,
        max_length=10,
        description="Scopes: purposes it may read for, and 'write' to add data.",
    )
    days: float = Field(default=90, gt=0, le=3650)
    label: str = Field(default="", max_length=100)


class NewTokenOut(BaseModel):
    id: str
    token: str
    expires: str
    purposes: list[str]
    person_id: str


class TokenOut(BaseModel):
    id: str
    person_id: str
    purposes: list[str]
    expires: str
    label: str


async def login(
    svc: Service, request: Request, name: str, password: str, code: str
) -> tuple[Any, Any]:
    """Sign in (rate limits, password, one-time code): the API's and the dashboard's."""
    return await svc.gate.sign_in(request, name, password, code)


def set_session_cookie(response: Response, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        secure=True,
        samesite="strict",
        path="/",
    )


@router.post(
    "/session",
    summary="Sign in (password and TOTP code)",
    response_model=SessionOut,
    openapi_extra=scope("account"),
)
async def create_session(body: LoginBody, request: Request, svc: Svc) -> Response:
    account, session = await login(svc, request, body.name, body.password, body.code)
    out = SessionOut(
        account=account.name,
        role=account.role.value,
        person_id=account.person_id,
        csrf_token=session.csrf,
    )
    response = reply(request, out)
    set_session_cookie(response, session.id)
    return response


@router.delete("/session", summary="Sign out", status_code=204, openapi_extra=scope("account"))
def delete_session(svc: Svc, who: Writer) -> Response:
    if who.session is not None:
        svc.gate.end_session(who.session.id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", summary="Who is signed in", response_model=MeOut, openapi_extra=scope("account"))
def me(request: Request, who: Who) -> Response:
    return reply(
        request,
        MeOut(
            account=who.account,
            role=who.role.value,
            person_id=who.person_id,
            via=who.via,
            purposes=sorted(who.scopes) if who.scopes is not None else None,
        ),
    )


@router.post(
    "/tokens",
    summary="Make a scoped API token (shown once)",
    status_code=201,
    response_model=NewTokenOut,
    openapi_extra=scope("account"),
)
def create_token(body: TokenBody, request: Request, svc: Svc, who: Writer) -> Response:
    if who.via == "token":
        raise ApiError(403, "Tokens are made from a signed-in session, not with another token.")
    # a study operator's token names no person (and so reaches none)
    person = None if who.role is Role.OPERATOR else svc.gate.person_for(who, body.person_id)
    try:
        scopes = parse_scopes(body.purposes)
    except AccountError as exc:
        raise ApiError(422, str(exc)) from None
    try:
        made = svc.gate.accounts.issue_token(
            svc.gate.accounts.get(who.account),
            body.person_id,
            scopes,
            body.days,
            body.label,
            actor=who.actor,
        )
    except AccountError as exc:
        raise ApiError(403, str(exc)) from None
    if person is not None:
        vault = svc.gate.vault(who, person)
        vault.log_event("token", "self_access", token=made.token.id, purposes=made.token.purposes)
    out = NewTokenOut(
        id=made.token.id,
        token=made.secret,
        expires=made.token.expires,
        purposes=made.token.purposes,
        person_id=made.token.person_id,
    )
    return reply(request, out, status=201)


@router.get(
    "/tokens",
    summary="Your tokens (never their secrets)",
    response_model=list[TokenOut],
    openapi_extra=scope("account"),
)
def list_tokens(request: Request, svc: Svc, who: Who) -> Response:
    tokens = svc.gate.accounts.tokens(who.account)
    return reply(
        request,
        [
            TokenOut(
                id=t.id,
                person_id=t.person_id,
                purposes=t.purposes,
                expires=t.expires,
                label=t.label,
            ).model_dump()
            for t in tokens
        ],
    )


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke a token",
    status_code=204,
    openapi_extra=scope("account"),
)
def revoke_token(token_id: str, svc: Svc, who: Writer) -> Response:
    token = svc.gate.accounts.token(token_id)
    if token is None or token.account != who.account:
        raise ApiError(404, f"There is no token '{token_id}' of yours.")
    svc.gate.accounts.revoke_token(token_id, actor=who.actor)
    svc.gate.forget()
    return Response(status_code=204)
