"""Kind ``salesforce-volunteer-participations``: who volunteered where (02 SF-33).

Session_Participant__c with ``Participant_Type__c = 'Volunteer'`` → ``event_participation``
(``participant_type='volunteer'``, new rows ``source='salesforce'``), watermark
``Session_Participant__c:volunteer``. Required parents: the volunteer (``Contact__c`` via a live
``volunteer_sf_contact``) and the live event (``Session__c``); a missing one sends the record to
the pending queue (SF-18), swept at the end of the run. A null Contact__c / Session__c is a
rejection (SF-19).

Key: ``salesforce_id``, else the unique (event, volunteer, 'volunteer') pair. A row of that pair
without SF id (a website signup) is adopted. A second SF record for the pair merges into the
first: the higher VOC-13 status wins and keeps its ``salesforce_id``; flag
``duplicate_participation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.events import Event, EventParticipation
from polaris_api.models.people import VolunteerSfContact
from polaris_api.schemas.salesforce import (
    VOLUNTEER_PARTICIPANT_FIELDS,
    SalesforceVolunteerParticipant,
    hours,
    sf_email,
)
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import FlagBook, chunks
from polaris_api.sync.salesforce.engine import (
    SfObject,
    full_snapshot,
    load_by_sf_id,
    load_ids_by_sf_id,
    require_parents,
    run_import,
    settle_deleted_or_rejected,
)
from polaris_api.sync.salesforce.participations import ParticipationWriter

__all__ = ["KIND", "PARTICIPANTS", "run"]

KIND = "salesforce-volunteer-participations"
VOCABULARY = "volunteer_participation_status"
FLAG_CODES = ("duplicate_participation", "unknown_picklist_value", "invalid_number", "invalid_email")


class _Writer(ParticipationWriter):
    vocabulary = VOCABULARY

    def __init__(self, session: AsyncSession, ctx: RunContext, obj: SfObject) -> None:
        super().__init__(session, ctx, obj)
        self.rows: dict[str, EventParticipation] = {}
        self.by_pair: dict[tuple[int, int], EventParticipation] = {}
        self.volunteers: dict[str, int] = {}
        self.events: dict[str, int] = {}
        self.flags = FlagBook(
            session,
            run_id=ctx.run_id,
            entity_type="event_participation",
            sf_object="Session_Participant__c",
            codes=FLAG_CODES,
        )

    async def prepare(self, records: Sequence[SalesforceVolunteerParticipant]) -> None:
        session = self.session
        self.rows = await load_by_sf_id(session, EventParticipation, [r.id for r in records if r.id])
        contacts = sorted({r.contact_id for r in records if r.contact_id})
        for chunk in chunks(contacts):
            result = await session.execute(
                select(VolunteerSfContact.salesforce_id, VolunteerSfContact.volunteer_id).where(
                    VolunteerSfContact.salesforce_id.in_(chunk), VolunteerSfContact.is_deleted.is_(False)
                )
            )
            self.volunteers.update(dict(result.all()))
        self.events = await load_ids_by_sf_id(session, Event, [r.session_id for r in records if r.session_id])
        pairs = sorted(
            {
                (self.events[r.session_id], self.volunteers[r.contact_id])
                for r in records
                if r.session_id in self.events and r.contact_id in self.volunteers
            }
        )
        for chunk in chunks(pairs):
            result = await session.execute(
                select(EventParticipation).where(
                    EventParticipation.participant_type == "volunteer",
                    tuple_(EventParticipation.event_id, EventParticipation.volunteer_id).in_(chunk),
                )
            )
            for row in result.scalars():
                self.by_pair[(row.event_id, row.volunteer_id)] = row
        for row in self.rows.values():
            self.by_pair.setdefault((row.event_id, row.volunteer_id), row)
        await self.flags.load({row.id for row in [*self.rows.values(), *self.by_pair.values()]})

    async def apply(self, index: int, record: SalesforceVolunteerParticipant) -> None:
        ctx = self.ctx
        row = self.rows.get(record.id or "")
        if settle_deleted_or_rejected(ctx, self.obj, index, record, row):
            return
        volunteer_id = self.volunteers.get(record.contact_id or "")
        event_id = self.events.get(record.session_id or "")
        require_parents(
            (volunteer_id, "unknown_volunteer", "Contact__c", record.contact_id),
            (event_id, "unknown_event", "Session__c", record.session_id),
        )
        values = {**record.values(), "event_id": event_id, "volunteer_id": volunteer_id}
        written = self.upsert(
            record,
            values,
            (event_id, volunteer_id),
            lambda: EventParticipation(
                salesforce_id=record.id,
                participant_type="volunteer",
                source="salesforce",
                is_deleted=False,
                sf_modstamp=record.system_modstamp,
                sf_last_seen_run_id=self.ctx.run_id,
                **values,
            ),
        )
        if written is not None:
            self.after_flush(lambda: self._flags(written, record))

    def _flags(self, row: EventParticipation, record: SalesforceVolunteerParticipant) -> None:
        flags, note = self.flags, f"run {self.ctx.run_id}"
        if record.status.unknown:
            flags.raise_flag(
                "unknown_picklist_value",
                entity_id=row.id,
                salesforce_id=record.id,
                field="Status__c",
                vocabulary=VOCABULARY,
                raw_value=record.status.raw,
            )
        else:
            flags.resolve("unknown_picklist_value", entity_id=row.id, field="Status__c", note=note)
        if hours(record.delivery_hours_raw)[1]:
            flags.raise_flag(
                "invalid_number", entity_id=row.id, salesforce_id=record.id, field="Delivery_Hours__c"
            )
        else:
            flags.resolve("invalid_number", entity_id=row.id, field="Delivery_Hours__c", note=note)
        if sf_email(record.email_raw)[1]:
            flags.raise_flag("invalid_email", entity_id=row.id, salesforce_id=record.id, field="Email__c")
        else:
            flags.resolve("invalid_email", entity_id=row.id, field="Email__c", note=note)


PARTICIPANTS = SfObject(
    "Session_Participant__c:volunteer",
    "Session_Participant__c",
    "Participant_Type__c = 'Volunteer'",
    VOLUNTEER_PARTICIPANT_FIELDS,
    SalesforceVolunteerParticipant,
    _Writer,
    label="participants",
)


async def _snapshot(ctx: RunContext, obj: SfObject, progress: Any) -> None:
    if progress.mode == "full":
        await full_snapshot(
            ctx,
            EventParticipation,
            "Session_Participant__c",
            label=obj.key,
            live_filter=EventParticipation.participant_type == "volunteer",
        )


async def run(ctx: RunContext) -> None:
    await run_import(ctx, KIND, [PARTICIPANTS], after_object=_snapshot)
