"""Publishing controls (03 PUB-5): the staff view of publishing events and its edits.

Staff list publishing events (events the hourly publishing sync has seen: ``publishing_first_seen_at``
set), set ``display_on_website``, edit the note, link and unlink districts, and list the current
sync errors (PUB-3). Each change is audited with old and new values (07 AUD-1/2). A body naming a
Salesforce-owned field is refused with 409 naming Salesforce (OWN-2) before anything is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import not_found, validation_problem
from polaris_api.models.events import Event, EventDistrict, remaining_slots_expr
from polaris_api.models.reference import District
from polaris_api.ownership import OWNERSHIP, Owner, check_writable
from polaris_api.pagination import Page, PageParams
from polaris_api.schemas.publishing import (
    PublishingDistrict,
    PublishingEventOut,
    PublishingEventUpdate,
    SyncErrorOut,
)
from polaris_api.services import audit, sync_health
from polaris_api.services.visibility import event_is_dia, linked_to_district

EDITABLE_FIELDS = frozenset(PublishingEventUpdate.model_fields)


@dataclass(frozen=True)
class PublishingFilters:
    status: str | None = None  # publish_status: active | archived
    visibility: bool | None = None  # display_on_website
    district_id: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    q: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [Event.publishing_first_seen_at.is_not(None)]
        if self.status is not None:
            conditions.append(Event.publish_status == self.status)
        if self.visibility is not None:
            conditions.append(Event.display_on_website.is_(self.visibility))
        if self.district_id is not None:
            conditions.append(linked_to_district(self.district_id))
        if self.start_date is not None:
            conditions.append(Event.start_day >= self.start_date)
        if self.end_date is not None:
            conditions.append(Event.start_day <= self.end_date)
        if self.q:
            conditions.append(
                Event.title.icontains(self.q, autoescape=True)
                | Event.location.icontains(self.q, autoescape=True)
                | (Event.salesforce_id == self.q)
            )
        return conditions


_SCALAR_FIELDS = tuple(
    name for name in PublishingEventOut.model_fields if name not in {"remaining_slots", "districts", "is_dia"}
)


def _out(event: Event, remaining: int | None) -> PublishingEventOut:
    values: dict[str, Any] = {name: getattr(event, name) for name in _SCALAR_FIELDS}
    return PublishingEventOut(
        **values,
        remaining_slots=max(0, int(remaining or 0)),
        districts=[
            PublishingDistrict(id=d.id, name=d.name, slug=d.slug, is_deleted=d.is_deleted)
            for d in event.districts
        ],
        is_dia=event_is_dia(event),
    )


async def list_events(
    session: AsyncSession, filters: PublishingFilters, params: PageParams
) -> Page[PublishingEventOut]:
    conditions = filters.conditions()
    total = (await session.execute(select(func.count(Event.id)).where(*conditions))).scalar_one()
    rows = (
        await session.execute(
            select(Event, remaining_slots_expr().label("remaining_slots"))
            .options(selectinload(Event.districts))
            .where(*conditions)
            .order_by(Event.start_day, Event.title, Event.id)
            .limit(params.page_size)
            .offset(params.offset)
        )
    ).all()
    return Page[PublishingEventOut](
        items=[_out(event, remaining) for event, remaining in rows],
        page=params.page,
        page_size=params.page_size,
        total=total,
    )


async def _publishing_event(session: AsyncSession, event_id: int, *, refresh: bool = False) -> Event:
    statement = (
        select(Event)
        .options(selectinload(Event.districts))
        .where(Event.id == event_id, Event.publishing_first_seen_at.is_not(None))
    )
    if refresh:
        statement = statement.execution_options(populate_existing=True)
    event = (await session.execute(statement)).scalar_one_or_none()
    if event is None:
        raise not_found("publishing event")
    return event


async def get_event(session: AsyncSession, event_id: int) -> PublishingEventOut:
    """The event as staff see it, re-read (districts, remaining slots) after any change."""
    event = await _publishing_event(session, event_id, refresh=True)
    remaining = (
        await session.execute(select(remaining_slots_expr()).where(Event.id == event_id))
    ).scalar_one()
    return _out(event, remaining)


def parse_update(raw: Mapping[str, Any]) -> PublishingEventUpdate:
    """OWN-2 first (a Salesforce-owned key → 409 naming Salesforce), then the strict body (422).

    Publishing events are Salesforce sessions by definition (PUB-1), so ownership is read for an
    SF-linked record.
    """
    known = OWNERSHIP["event"]
    check_writable(
        "event", [key for key in raw if key in known and key not in EDITABLE_FIELDS], Owner.publishing
    )
    try:
        return PublishingEventUpdate.model_validate(raw)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise validation_problem(errors) from None


async def update_event(
    session: AsyncSession, principal: Principal, event_id: int, raw: Mapping[str, Any]
) -> PublishingEventOut:
    """Set ``display_on_website`` and/or the note; each change audited with old and new value."""
    event = await _publishing_event(session, event_id)
    body = parse_update(raw)
    submitted = body.model_fields_set
    if "display_on_website" in submitted and body.display_on_website != event.display_on_website:
        old = event.display_on_website
        event.display_on_website = bool(body.display_on_website)
        await audit.record(
            session,
            "publishing.visibility.updated",
            actor=principal,
            entity_type="event",
            entity_id=event.id,
            changes={"display_on_website": (old, event.display_on_website)},
        )
    if "note" in submitted and body.note != event.note:
        old_note = event.note
        event.note = body.note
        await audit.record(
            session,
            "publishing.note.updated",
            actor=principal,
            entity_type="event",
            entity_id=event.id,
            changes={"note": (old_note, event.note)},
        )
    await session.flush()
    return await get_event(session, event_id)


async def _live_district(session: AsyncSession, district_id: int) -> District:
    district = await session.get(District, district_id)
    if district is None or district.is_deleted:
        raise not_found("district")
    return district


async def link_district(
    session: AsyncSession, principal: Principal, event_id: int, district_id: int
) -> PublishingEventOut:
    """Idempotent: linking a linked district changes nothing and writes no audit entry."""
    event = await _publishing_event(session, event_id)
    check_writable("event", ["districts"], Owner.publishing)
    await _live_district(session, district_id)
    before = sorted(d.id for d in event.districts)
    if district_id not in before:
        session.add(
            EventDistrict(event_id=event.id, district_id=district_id, created_by_id=principal.user_id)
        )
        event.updated_at = utcnow()  # the listing data version sees link changes on the event too
        await audit.record(
            session,
            "publishing.district.linked",
            actor=principal,
            entity_type="event",
            entity_id=event.id,
            changes={"districts": (before, sorted([*before, district_id]))},
            details={"district_id": district_id},
        )
        try:
            await session.flush()
        except IntegrityError:  # a concurrent request linked it first: the same end state
            await session.rollback()
    return await get_event(session, event_id)


async def unlink_district(
    session: AsyncSession, principal: Principal, event_id: int, district_id: int
) -> PublishingEventOut:
    """Idempotent: unlinking a district that is not linked changes nothing (no audit entry)."""
    event = await _publishing_event(session, event_id)
    check_writable("event", ["districts"], Owner.publishing)
    before = sorted(d.id for d in event.districts)
    if district_id in before:
        link = await session.get(EventDistrict, (event.id, district_id))
        if link is not None:
            await session.delete(link)
        event.updated_at = utcnow()
        await audit.record(
            session,
            "publishing.district.unlinked",
            actor=principal,
            entity_type="event",
            entity_id=event.id,
            changes={"districts": (before, [d for d in before if d != district_id])},
            details={"district_id": district_id},
        )
        await session.flush()
    elif await session.get(District, district_id) is None:
        raise not_found("district")
    return await get_event(session, event_id)


# --------------------------------------------------------------------------------------
# Current sync errors (PUB-3)


def _as_error(item: Any) -> SyncErrorOut:
    if isinstance(item, SyncErrorOut):
        return item
    if isinstance(item, Mapping):
        values = dict(item)
    else:
        values = {name: getattr(item, name) for name in SyncErrorOut.model_fields if hasattr(item, name)}
    if not values.get("fields"):
        values["fields"] = list(values.get("missing_fields") or values.get("invalid_fields") or [])
    for key in ("fields", "missing_fields"):
        if values.get(key) is not None and not isinstance(values[key], list):
            values[key] = [values[key]]
    return SyncErrorOut.model_validate(values)


async def current_sync_errors(session: AsyncSession) -> list[SyncErrorOut]:
    """The errors of the newest ``salesforce-publishing`` run that applied data (PUB-3), as read by
    ``services.sync_health.current_sync_errors`` (the sync owns its error format)."""
    return [_as_error(item) for item in await sync_health.current_sync_errors(session)]


def page_of(items: Sequence[SyncErrorOut], params: PageParams) -> Page[SyncErrorOut]:
    return Page[SyncErrorOut](
        items=list(items[params.offset : params.offset + params.page_size]),
        page=params.page,
        page_size=params.page_size,
        total=len(items),
    )
