"""Staff event reads (00 §5.1; 07 CAP "event list and event detail": global staff and ``read`` keys
see everything, district users only events of their districts, with participants as aggregates
(DV-1); a district id outside their scope in the query is 403, an event outside it is 404)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from polaris_api.auth import DistrictReader
from polaris_api.deps import SessionDep
from polaris_api.errors import check_date_range, problem_responses
from polaris_api.pagination import Pagination
from polaris_api.schemas.common import IdPath, IdQuery, clean_text
from polaris_api.schemas.events import EventDetailOut, EventPage
from polaris_api.services import events
from polaris_api.vocabularies import VocabularyChoice

router = APIRouter(prefix="/api/v1", tags=["events"])

# Printable text only: a NUL or another control character is refused (422), never sent to the database.
SEARCH_PATTERN = r"^[^\x00-\x1f\x7f]*$"


@router.get("/events", response_model=EventPage, responses=problem_responses(401, 403, 422))
async def list_events(
    principal: DistrictReader,
    session: SessionDep,
    pagination: Pagination,
    format: Annotated[
        Annotated[str, VocabularyChoice("event_format")] | None, Query(description="08 VOC-9 event_format")
    ] = None,
    event_type: Annotated[
        Annotated[str, VocabularyChoice("event_type")] | None, Query(description="08 VOC-10 event_type")
    ] = None,
    status: Annotated[
        Annotated[str, VocabularyChoice("event_status")] | None, Query(description="08 VOC-11 event_status")
    ] = None,
    start_date: Annotated[dt.date | None, Query(description="first start day, inclusive")] = None,
    end_date: Annotated[dt.date | None, Query(description="last start day, inclusive")] = None,
    district_id: Annotated[
        IdQuery | None,
        Query(description="one of the event's districts (link, school, or a linked teacher's school)"),
    ] = None,
    school_id: Annotated[IdQuery | None, Query(description="the event's school")] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=SEARCH_PATTERN, description="text in name or location, or the SF id"),
    ] = None,
) -> Any:
    """Events not deleted in their source, newest first (start day descending, then id).

    Global callers get ``view: staff`` items; district users get ``view: district`` items of their
    districts only, without any person field (07 DV-1)."""
    check_date_range(start_date, end_date)
    text = clean_text(q)
    filters = events.EventFilters(
        format=format,
        event_type=event_type,
        status=status,
        start_date=start_date,
        end_date=end_date,
        district_id=district_id,
        school_id=school_id,
        q=text if isinstance(text, str) else None,
    )
    return await events.list_events(session, principal, filters, pagination)


@router.get(
    "/events/{event_id}", response_model=EventDetailOut, responses=problem_responses(401, 403, 404, 422)
)
async def get_event(event_id: IdPath, principal: DistrictReader, session: SessionDep) -> Any:
    """One event. Global callers see its volunteer participants and teachers by name
    (``view: staff``); district users get aggregates only (``view: district``) and 404 for an event
    outside their districts."""
    return await events.get_event(session, principal, event_id)
