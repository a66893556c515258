"""Publishing controls for staff (03 PUB-5; CAP: global users of any level, district users 403)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request

from polaris_api.auth import Publisher
from polaris_api.deps import SessionDep
from polaris_api.errors import (
    OWNERSHIP_PROBLEMS,
    PayloadTooLarge,
    check_date_range,
    problem_responses,
    validation_problem,
)
from polaris_api.pagination import Page, Pagination
from polaris_api.schemas.common import IdPath, IdQuery, clean_text
from polaris_api.schemas.publishing import PublishingEventOut, PublishingEventUpdate, SyncErrorOut
from polaris_api.services import publishing
from polaris_api.vocabularies import VocabularyChoice

router = APIRouter(prefix="/api/v1/publishing", tags=["publishing"])

MAX_BODY_BYTES = 64 * 1024
PublishStatus = Annotated[str, VocabularyChoice("publish_status")]


async def json_object_body(request: Request) -> dict[str, Any]:
    """The raw JSON object: ownership (409) is checked on its keys before the strict model (422)."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise validation_problem(
            [{"loc": ("body",), "msg": "JSON decode error", "type": "json_invalid"}]
        ) from None
    if not isinstance(data, dict):
        raise validation_problem(
            [{"loc": ("body",), "msg": "a JSON object is required", "type": "model_attributes_type"}]
        )
    return data


_UPDATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PublishingEventUpdate.model_json_schema()}},
    }
}


@router.get("/events", response_model=Page[PublishingEventOut], responses=problem_responses(401, 403, 422))
async def list_publishing_events(
    principal: Publisher,
    session: SessionDep,
    pagination: Pagination,
    status: Annotated[PublishStatus | None, Query(description="publish status: active or archived")] = None,
    visibility: Annotated[bool | None, Query(description="display_on_website")] = None,
    district_id: Annotated[IdQuery | None, Query(description="linked to this district")] = None,
    start_date: Annotated[dt.date | None, Query(description="first start date, inclusive")] = None,
    end_date: Annotated[dt.date | None, Query(description="last start date, inclusive")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="text in name or location, or the SF id")
    ] = None,
) -> Page[PublishingEventOut]:
    """Events the hourly publishing sync has seen, in start order (start date, name, id)."""
    check_date_range(start_date, end_date)
    text = clean_text(q)
    filters = publishing.PublishingFilters(
        status=status,
        visibility=visibility,
        district_id=district_id,
        start_date=start_date,
        end_date=end_date,
        q=text if isinstance(text, str) else None,
    )
    return await publishing.list_events(session, filters, pagination)


@router.patch(
    "/events/{event_id}",
    response_model=PublishingEventOut,
    responses=problem_responses(401, 403, 404, 413, 422, *OWNERSHIP_PROBLEMS),
    openapi_extra=_UPDATE_BODY,
)
async def update_publishing_event(
    event_id: IdPath,
    principal: Publisher,
    session: SessionDep,
    body: Annotated[dict[str, Any], Depends(json_object_body)],
) -> PublishingEventOut:
    """Body ``{display_on_website?, note?}`` (PublishingEventUpdate). A Salesforce-owned field
    (title, dates, slots, ...) → 409 ``owned_by_salesforce``; any other key → 422."""
    return await publishing.update_event(session, principal, event_id, body)


@router.put(
    "/events/{event_id}/districts/{district_id}",
    response_model=PublishingEventOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def link_district(
    event_id: IdPath, district_id: IdPath, principal: Publisher, session: SessionDep
) -> PublishingEventOut:
    """Link the district (idempotent: 200 and the event, whether or not it was linked already)."""
    return await publishing.link_district(session, principal, event_id, district_id)


@router.delete(
    "/events/{event_id}/districts/{district_id}",
    response_model=PublishingEventOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def unlink_district(
    event_id: IdPath, district_id: IdPath, principal: Publisher, session: SessionDep
) -> PublishingEventOut:
    """Unlink the district (idempotent: 200 and the event, whether or not it was linked)."""
    return await publishing.unlink_district(session, principal, event_id, district_id)


@router.get("/sync-errors", response_model=Page[SyncErrorOut], responses=problem_responses(401, 403, 422))
async def list_sync_errors(
    principal: Publisher, session: SessionDep, pagination: Pagination
) -> Page[SyncErrorOut]:
    """Sessions the newest finished publishing sync could not publish, and why (PUB-3)."""
    return publishing.page_of(await publishing.current_sync_errors(session), pagination)
