"""Public listings for the website (03 LIST-*): unauthenticated, read-only, cacheable.

Responses are raw bytes encoded once by the listing service and reused while the data is
unchanged (09 SCALE-3); they carry a strong ``ETag`` and ``Cache-Control: public`` and answer
``If-None-Match`` with 304 (LIST-7). CORS for these paths is set up in ``app.py`` (LIST-10).

The handlers are lean on purpose: one query-parameter model instead of one parameter each, the
settings and the database session taken from the app (opened only on a cache miss), and no
synchronous dependency (FastAPI would run it in the thread pool).

A request seen before is answered before any of that (:class:`ListingFastPath`, issue 13 item 6):
each answer is remembered by path and raw query string with the data version its ETag was made
from, and while that version is still the current one a repeated request gets its 304 or its
cached body straight from memory, with the same headers (one function builds both), without
query-parameter validation or dependency solving. A new version (a publishing, visibility,
signup or district change, here or in another process) makes every remembered answer unusable,
exactly when the ETags change; bad query parameters were never remembered, so they still reach
validation and its 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from polaris_api.clock import local_today
from polaris_api.errors import not_found, problem_responses
from polaris_api.pagination import Page
from polaris_api.schemas.common import EventRef
from polaris_api.schemas.public import PublicEvent, PublicFilters, PublicListingParams
from polaris_api.services import listings
from polaris_api.settings import Settings

PREFIX = "/api/v1/public/"


class ListingFastPath:
    """Pure ASGI middleware (installed by ``app.py`` inside the public CORS middleware, so the CORS,
    request-id and security headers are added as on the full path): answers a repeated public
    GET from memory before routing, query-parameter validation and dependency solving (see the
    module docstring). Anything it cannot answer goes on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIX):
            state = scope["app"].state
            cache: listings.ListingCache | None = getattr(state, "listing_cache", None)
            if cache is not None:
                settings: Settings = state.settings
                recalled = cache.recall(
                    (scope["path"], scope["query_string"]), local_today(settings.tz), _if_none_match(scope)
                )
                if recalled is not None:
                    media_type, route = recalled.extra
                    scope["route"] = route  # the access log names the route as on the full path
                    await _build_response(settings, recalled.rendered, media_type)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _if_none_match(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return str(value.decode("latin-1"))
    return None


router = APIRouter(prefix="/api/v1/public", tags=["public"])

JSON = "application/json"
CALENDAR = "text/calendar; charset=utf-8"

# Documented here, read from the request in the handler (one FastAPI parameter fewer per request).
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "an ETag of an earlier response: 304 Not Modified while it is current (LIST-7)",
}
_CACHED: dict[str, Any] = {"parameters": [_IF_NONE_MATCH]}
_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not Modified: the ETag in If-None-Match is current (no body)"}
}


def _filters(params: PublicFilters) -> listings.ListingFilters:
    return listings.ListingFilters(
        start_date=params.start_date, end_date=params.end_date, event_type=params.event_type, q=params.q
    )


def _query(params: PublicListingParams) -> listings.ListingQuery:
    return listings.ListingQuery(filters=_filters(params), page=params.page, page_size=params.page_size)


def _context(request: Request) -> dict[str, Any]:
    """Today in the service's zone (LIST-1 "today or later"), the zone for start times, the
    listing cache of this app and the client's If-None-Match."""
    settings: Settings = request.app.state.settings
    zone = settings.tz
    return {
        "today": local_today(zone),
        "zone": zone,
        "if_none_match": request.headers.get("if-none-match"),
    }


def _build_response(settings: Settings, rendered: listings.Rendered, media_type: str) -> Response:
    """The one place a listing response is made, on the full path and from memory alike."""
    headers = {"ETag": rendered.etag, "Cache-Control": f"public, max-age={settings.public_cache_max_age}"}
    if rendered.body is None:
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type=media_type, headers=headers)


def _response(request: Request, rendered: listings.Rendered, media_type: str) -> Response:
    """The response, and the answer remembered for the same path and raw query string."""
    cache = listings.listing_cache(request.app.state)
    scope = request.scope
    cache.remember((scope["path"], scope["query_string"]), rendered, (media_type, scope.get("route")))
    return _build_response(request.app.state.settings, rendered, media_type)


def _lazy_session(request: Request) -> listings.LazySession:
    return listings.LazySession(request.app.state.sessionmaker)


@router.get(
    "/events",
    response_model=Page[PublicEvent],
    responses={**_NOT_MODIFIED, **problem_responses(422)},
    openapi_extra=_CACHED,
    summary="Main public listing (LIST-1)",
)
async def list_events(request: Request, params: Annotated[PublicListingParams, Query()]) -> Response:
    """Publishing events shown on the website, active and upcoming, in start order."""
    async with _lazy_session(request) as lazy_session:
        rendered = await listings.main_page(
            lazy_session, listings.listing_cache(request.app.state), _query(params), **_context(request)
        )
    return _response(request, rendered, JSON)


@router.get(
    "/events.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {"schema": {"type": "string"}}}, "description": "RFC 5545 feed"},
        **_NOT_MODIFIED,
        **problem_responses(422),
    },
    openapi_extra=_CACHED,
    summary="Calendar feed of the main listing (LIST-8)",
)
async def calendar_feed(request: Request, params: Annotated[PublicFilters, Query()]) -> Response:
    """Every event of the main listing matching the filters (no pagination), one VEVENT each."""
    async with _lazy_session(request) as lazy_session:
        rendered = await listings.calendar_feed(
            lazy_session, listings.listing_cache(request.app.state), _filters(params), **_context(request)
        )
    return _response(request, rendered, CALENDAR)


@router.get(
    "/events/{event_id}",
    response_model=PublicEvent,
    responses={**_NOT_MODIFIED, **problem_responses(404, 422)},
    openapi_extra=_CACHED,
    summary="One listed event (LIST-9)",
)
async def get_event(
    request: Request,
    event_id: EventRef,
) -> Response:
    """The event when it is listed on the main, a district or the DIA page; otherwise 404."""
    async with _lazy_session(request) as lazy_session:
        rendered = await listings.one_event(
            lazy_session, listings.listing_cache(request.app.state), event_id, **_context(request)
        )
    if rendered is None:
        raise not_found("event")
    return _response(request, rendered, JSON)


@router.get(
    "/districts/{district}/events",
    response_model=Page[PublicEvent],
    responses={**_NOT_MODIFIED, **problem_responses(404, 422)},
    openapi_extra=_CACHED,
    summary="One district's listing (LIST-2)",
)
async def list_district_events(
    request: Request,
    district: Annotated[str, Path(pattern=listings.DISTRICT_REF_PATTERN, description="district id or slug")],
    params: Annotated[PublicListingParams, Query()],
) -> Response:
    """Events linked to the district, active and upcoming, whatever the website toggle says."""
    async with _lazy_session(request) as lazy_session:
        rendered = await listings.district_page(
            lazy_session,
            listings.listing_cache(request.app.state),
            district,
            _query(params),
            **_context(request),
        )
    if rendered is None:
        raise not_found("district")
    return _response(request, rendered, JSON)


@router.get(
    "/dia/events",
    response_model=Page[PublicEvent],
    responses={**_NOT_MODIFIED, **problem_responses(422)},
    openapi_extra=_CACHED,
    summary="Data in Action listing (LIST-3)",
)
async def list_dia_events(request: Request, params: Annotated[PublicListingParams, Query()]) -> Response:
    """Active, upcoming events whose type or name has the word DIA, whatever the toggle says."""
    async with _lazy_session(request) as lazy_session:
        rendered = await listings.dia_page(
            lazy_session, listings.listing_cache(request.app.state), _query(params), **_context(request)
        )
    return _response(request, rendered, JSON)
