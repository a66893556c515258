"""Public volunteer signup (03 SIGN-*): ``POST /api/v1/public/events/{event_id}/signup``.

Before the body is parsed, every attempt counts against the per-IP limits (SIGN-10: 429 with
``Retry-After``; invalid and repeated attempts count too) and bodies over 16 KB are refused with
413, by ``Content-Length`` and by the bytes actually received.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from polaris_api.deps import SettingsDep, client_ip
from polaris_api.errors import PayloadTooLarge, Problem, problem_responses
from polaris_api.ratelimit import RateLimitUnavailable
from polaris_api.schemas.common import EventRef
from polaris_api.schemas.signup import SignupCreated, SignupRepeated, WebsiteSignup
from polaris_api.services import signup as signups

NO_STORE = {"Cache-Control": "no-store"}


def too_large() -> Problem:
    return PayloadTooLarge(
        f"The request body is larger than {signups.MAX_BODY_BYTES // 1024} KB.",
        title="Content Too Large",
    )


class SignupRoute(APIRoute):
    """SIGN-10 checks that must run before FastAPI reads and validates the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            app = request.app
            await app.state.rate_limiter.enforce(app.state.limits.signup, "signup", client_ip(request))
            declared = request.headers.get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > signups.MAX_BODY_BYTES):
                raise too_large()
            received = bytearray()
            async for chunk in request.stream():
                received.extend(chunk)
                if len(received) > signups.MAX_BODY_BYTES:
                    raise too_large()
            request._body = bytes(received)  # FastAPI reads the body from here
            return await handler(request)

        return guarded


router = APIRouter(prefix="/api/v1/public", tags=["public"], route_class=SignupRoute)


@router.post(
    "/events/{event_id}/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=SignupCreated,
    responses={
        200: {"model": SignupRepeated, "description": "This email already signed up for the event"},
        **problem_responses(404, signups.EventFull, 413, 422, 429, RateLimitUnavailable),
    },
)
async def sign_up(
    event_id: EventRef, body: WebsiteSignup, request: Request, settings: SettingsDep
) -> Response:
    """Sign up for an event listed on the website (SIGN-1..SIGN-11), named by our id or its
    Salesforce id (15 or 18 characters), as LIST-9 reads it.

    201 for a new signup (a confirmation email with a calendar invitation is queued); 200 when
    this email (any letter case) already signed up for the event: nothing changes and no second
    email is sent. 404 when the event is not listed anywhere, 409 `event_full` when it has no
    remaining slots, 429 beyond 10 signups per minute or 100 per day from one address.
    """
    outcome = await signups.sign_up(
        request.app.state.sessionmaker, settings, event_id, body, client_ip=client_ip(request)
    )
    if not outcome.created:
        repeated = SignupRepeated(signup_id=outcome.signup_id)
        return JSONResponse(repeated.model_dump(), status_code=200, headers=NO_STORE)
    created = SignupCreated(
        signup_id=outcome.signup_id,
        event_id=outcome.event_id,
        message=signups.success_message(settings),
    )
    return JSONResponse(created.model_dump(), status_code=201, headers=NO_STORE)
