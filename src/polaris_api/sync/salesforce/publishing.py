"""Kind ``salesforce-publishing``: the hourly publishing sync (02 SF-40..SF-43, 03 PUB-1..PUB-4).

1. Read every page of the SF-41 query (``query``, not ``queryAll``) before touching the database.
   A failed Salesforce call (after SF-60 retries) fails the run and changes nothing (PUB-4).
2. Validate each record (SF-42): missing ``Id``/``Name``/``Start_Date__c`` → a run error
   ``{salesforce_id|null, index, missing_fields}``, run ``partial``, the record counts as not
   returned. Re-check locally: ``start_day`` after today (``POLARIS_TIMEZONE``) and not Draft.
3. Apply everything in ONE transaction (SF-43 table), loading existing rows in chunks.

``event.publishing_last_seen_at`` is set to the run's start for every returned event with a row
(03 SIGN-9: a signup pushed before that instant is reflected in ``available_slots``).
The current sync errors (PUB-3) are read with ``services.sync_health.current_sync_errors``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.clock import local_today
from polaris_api.models.events import Event
from polaris_api.schemas.salesforce import SalesforceSessionPublishing, ValidationError, invalid_aliases
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import FlagBook, chunks

__all__ = ["KIND", "SOQL", "run"]

log = logging.getLogger(__name__)

KIND = "salesforce-publishing"

SOQL = (
    "SELECT Id, Name, Available_Slots__c, Filled_Volunteer_Jobs__c, Date_and_Time_for_Cal__c,\n"
    "  Session_Type__c, Format__c, Registration_Link__c, Display_on_Website__c, Start_Date__c,\n"
    "  Start_Date_and_Time__c, End_Date_and_Time__c, Session_Status__c,\n"
    "  Location_Information__c, Description__c, SystemModstamp\n"
    "FROM Session__c\n"
    "WHERE Start_Date__c > TODAY AND Session_Status__c != 'Draft'\n"
    "ORDER BY Start_Date__c ASC, Id ASC"
)
"""The SF-41 query, verbatim."""

FLAG_CODES = ("unknown_picklist_value", "invalid_registration_link")
COUNT_KEYS = (
    "returned",
    "created",
    "updated",
    "unchanged",
    "reactivated",
    "archived",
    "errors",
    "archived_full",
    "archived_not_in_salesforce",
    "restored",
    "not_created_full",
    "not_upcoming_or_draft",
)


def _salesforce_id_of(record: Any) -> str | None:
    value = record.get("Id") if isinstance(record, dict) else None
    return value.strip() or None if isinstance(value, str) else None


async def run(ctx: RunContext) -> None:
    ctx.effective_mode = "full"
    for key in COUNT_KEYS:
        ctx.counts.setdefault(key, 0)
    tz = ctx.settings.tz
    async with ctx.connector() as connector:
        records = await connector.query_all(SOQL, include_deleted=False)  # all pages (SF-4)
        if connector.api_usage is not None:
            ctx.counts["api_usage"] = connector.api_usage
    ctx.counts["returned"] = len(records)
    await ctx.heartbeat()

    today = local_today(tz)
    valid: dict[str, SalesforceSessionPublishing] = {}
    for index, raw in enumerate(records):
        try:
            record = SalesforceSessionPublishing.from_sf(raw, tz=tz)
        except ValidationError as exc:
            ctx.add_error(
                {
                    "salesforce_id": _salesforce_id_of(raw),
                    "index": index,
                    "code": "invalid_value",
                    "missing_fields": [],
                    "invalid_fields": invalid_aliases(SalesforceSessionPublishing, exc),
                }
            )
            continue
        missing = record.missing_fields()
        if missing:
            ctx.add_error(
                {
                    "salesforce_id": record.id,
                    "index": index,
                    "code": "missing_required_field",
                    "missing_fields": missing,
                }
            )
            continue
        assert record.id is not None and record.start_day is not None
        if record.start_day <= today or record.is_draft:  # SF-41 local re-check
            ctx.count("not_upcoming_or_draft")
            continue
        valid[record.id] = record

    async with ctx.sessionmaker() as session:
        try:
            await _apply(session, ctx, valid)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def _apply_sf_fields(event: Event, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(event, name) != value:
            setattr(event, name, value)
            changed = True
    return changed


async def _apply(
    session: AsyncSession, ctx: RunContext, valid: dict[str, SalesforceSessionPublishing]
) -> None:
    tz = ctx.settings.tz
    started_at = ctx.started_at
    existing: dict[str, Event] = {}
    for chunk in chunks(list(valid)):
        rows = (await session.execute(select(Event).where(Event.salesforce_id.in_(chunk)))).scalars()
        existing.update({event.salesforce_id: event for event in rows if event.salesforce_id})

    touched: list[tuple[Event, SalesforceSessionPublishing, bool]] = []  # (event, record, SF fields written)
    new_rows: list[dict[str, Any]] = []
    for sf_id, record in valid.items():
        values = record.event_values(tz)
        event = existing.get(sf_id)
        if event is None:
            if values["available_slots"] <= 0:  # full on first sight: not created (PUB-1)
                ctx.count("not_created_full")
                continue
            new_rows.append(
                {
                    "source": "salesforce",
                    "salesforce_id": sf_id,
                    "sf_modstamp": record.system_modstamp,
                    "sf_last_seen_run_id": ctx.run_id,
                    "is_deleted": False,
                    "publish_status": "active",
                    "archived_reason": None,
                    "display_on_website": record.display_on_website,
                    "publishing_first_seen_at": started_at,
                    "publishing_last_seen_at": started_at,
                    **values,
                }
            )
            ctx.count("created")
            continue

        stale = (
            event.sf_modstamp is not None
            and record.system_modstamp is not None
            and record.system_modstamp < event.sf_modstamp
        )
        changed = False
        if not stale:  # SF-10 stale-write guard
            changed = _apply_sf_fields(event, values)
            event.sf_modstamp = record.system_modstamp
            if event.is_deleted:  # returned by `query`: live in SF again (SF-11 restored)
                event.is_deleted = False
                event.deleted_in_source_at = None
                event.deleted_in_source_reason = None
                ctx.count("restored")
                changed = True
        slots = event.available_slots
        category = "updated" if changed else "unchanged"
        was_publishing = event.publishing_first_seen_at is not None
        if slots > 0:
            if not was_publishing:  # first sighting: initialise once (SF-43, PUB-1)
                event.publishing_first_seen_at = started_at
                event.display_on_website = record.display_on_website
                category = "updated"
            elif event.publish_status != "active":
                category = "reactivated"
            if event.publish_status != "active" or event.archived_reason is not None:
                event.publish_status = "active"
                event.archived_reason = None
        elif was_publishing and (event.publish_status, event.archived_reason) != ("archived", "full"):
            if event.publish_status == "archived":  # gone before, back but full: only the reason changes
                category = "updated"
            else:
                category = "archived"
                ctx.count("archived_full")
            event.publish_status = "archived"
            event.archived_reason = "full"
        ctx.count(category)
        touched.append((event, record, not stale))

    await session.flush()
    # New events: one multi-row INSERT per chunk (the ORM would insert them one by one on SQLite).
    created_ids: dict[str, int] = {}
    for row_chunk in chunks(new_rows, 1000):
        await session.execute(insert(Event), list(row_chunk))
    for sf_chunk in chunks([row["salesforce_id"] for row in new_rows]):
        created = await session.execute(
            select(Event.salesforce_id, Event.id).where(Event.salesforce_id.in_(sf_chunk))
        )
        created_ids.update({sf_id: event_id for sf_id, event_id in created.all() if sf_id})

    # Every returned event with a row: last seen by this run (SIGN-9) — one UPDATE per chunk,
    # leaving updated_at alone (being seen is not a change).
    seen_ids = [event.id for event, _, _ in touched]
    for id_chunk in chunks(seen_ids):
        await session.execute(
            update(Event)
            .where(Event.id.in_(id_chunk))
            .values(
                publishing_last_seen_at=started_at,
                sf_last_seen_run_id=ctx.run_id,
                updated_at=Event.updated_at,
            )
            .execution_options(synchronize_session=False)
        )

    # Publishing events not returned: archived, not_in_salesforce; SF fields untouched (SF-43).
    candidates = (
        await session.execute(
            select(Event.id, Event.salesforce_id).where(
                Event.publishing_first_seen_at.is_not(None),
                Event.salesforce_id.is_not(None),
                or_(
                    Event.publish_status.is_(None),
                    Event.publish_status != "archived",
                    Event.archived_reason.is_(None),
                    Event.archived_reason != "not_in_salesforce",
                ),
            )
        )
    ).all()
    gone = [event_id for event_id, sf_id in candidates if sf_id not in valid]
    for gone_chunk in chunks(gone):
        await session.execute(
            update(Event)
            .where(Event.id.in_(gone_chunk))
            .values(publish_status="archived", archived_reason="not_in_salesforce")
            .execution_options(synchronize_session=False)
        )
    ctx.count("archived", len(gone))
    ctx.count("archived_not_in_salesforce", len(gone))

    # Data-quality flags (SF-15/SF-16) for the records whose SF fields were written.
    flags = FlagBook(
        session, run_id=ctx.run_id, entity_type="event", sf_object="Session__c", codes=FLAG_CODES
    )
    written = [(event.id, record) for event, record, wrote in touched if wrote]
    written += [(created_ids[sf_id], valid[sf_id]) for sf_id in created_ids]
    await flags.load(event_id for event_id, _ in written)
    note = f"clean in {KIND} run {ctx.run_id}"
    for event_id, record in written:
        unknown = {sf_field: (vocabulary, raw) for sf_field, vocabulary, raw in record.unknown_picklists()}
        for sf_field, _attribute, vocabulary in SalesforceSessionPublishing.picklist_fields:
            if sf_field in unknown:
                flags.raise_flag(
                    "unknown_picklist_value",
                    entity_id=event_id,
                    salesforce_id=record.id,
                    field=sf_field,
                    vocabulary=vocabulary,
                    raw_value=unknown[sf_field][1],
                    details={"sf_object": "Session__c", "sf_field": sf_field, "vocabulary": vocabulary},
                )
            else:
                flags.resolve("unknown_picklist_value", entity_id=event_id, field=sf_field, note=note)
        if record.registration_link.invalid:
            flags.raise_flag(
                "invalid_registration_link",
                entity_id=event_id,
                salesforce_id=record.id,
                field="Registration_Link__c",
                raw_value=record.registration_link.raw,
                details={"sf_object": "Session__c", "sf_field": "Registration_Link__c"},
            )
        else:
            flags.resolve(
                "invalid_registration_link", entity_id=event_id, field="Registration_Link__c", note=note
            )
    ctx.counts["flags_raised"] = flags.raised
    ctx.counts["flags_resolved"] = flags.resolved
    await session.flush()
