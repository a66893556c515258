"""Kind ``salesforce-student-participations``: student attendance (02 SF-34).

Session_Participant__c with ``Participant_Type__c = 'Student'`` → ``event_student_participation``;
watermark ``Session_Participant__c:student``. Required parents: the live student (``Contact__c``)
and the live event (``Session__c``) — else the pending queue (SF-18). Key: the unique
``(event_id, student_id)``; ``salesforce_id`` is stored too. A second SF record for the pair
merges into the first by VOC-14 precedence (the winner keeps its ``salesforce_id``), with flag
``duplicate_participation``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.events import Event, EventStudentParticipation
from polaris_api.models.people import Student
from polaris_api.schemas.salesforce import STUDENT_PARTICIPANT_FIELDS, SalesforceStudentParticipant, hours
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import FlagBook, chunks
from polaris_api.sync.salesforce.engine import (
    SfObject,
    load_by_sf_id,
    load_ids_by_sf_id,
    require_parents,
    run_import,
    settle_deleted_or_rejected,
    snapshot_step,
)
from polaris_api.sync.salesforce.participations import ParticipationWriter

__all__ = ["KIND", "PARTICIPANTS", "run"]

KIND = "salesforce-student-participations"
VOCABULARY = "student_participation_status"


class _Writer(ParticipationWriter):
    vocabulary = VOCABULARY

    def __init__(self, session: AsyncSession, ctx: RunContext, obj: SfObject) -> None:
        super().__init__(session, ctx, obj)
        self.rows: dict[str, EventStudentParticipation] = {}
        self.by_pair: dict[tuple[int, int], EventStudentParticipation] = {}
        self.students: dict[str, int] = {}
        self.events: dict[str, int] = {}
        self.flags = FlagBook(
            session,
            run_id=ctx.run_id,
            entity_type="event_student_participation",
            sf_object="Session_Participant__c",
            codes=("duplicate_participation", "unknown_picklist_value", "invalid_number"),
        )

    async def prepare(self, records: Sequence[SalesforceStudentParticipant]) -> None:
        session = self.session
        self.rows = await load_by_sf_id(session, EventStudentParticipation, [r.id for r in records if r.id])
        self.students = await load_ids_by_sf_id(
            session, Student, [r.contact_id for r in records if r.contact_id]
        )
        self.events = await load_ids_by_sf_id(session, Event, [r.session_id for r in records if r.session_id])
        pairs = sorted(
            {
                (self.events[r.session_id], self.students[r.contact_id])
                for r in records
                if r.session_id in self.events and r.contact_id in self.students
            }
        )
        for chunk in chunks(pairs):
            result = await session.execute(
                select(EventStudentParticipation).where(
                    tuple_(EventStudentParticipation.event_id, EventStudentParticipation.student_id).in_(
                        chunk
                    )
                )
            )
            for row in result.scalars():
                self.by_pair[(row.event_id, row.student_id)] = row
        for row in self.rows.values():
            self.by_pair.setdefault((row.event_id, row.student_id), row)
        await self.flags.load({row.id for row in [*self.rows.values(), *self.by_pair.values()]})

    async def apply(self, index: int, record: SalesforceStudentParticipant) -> None:
        ctx = self.ctx
        row = self.rows.get(record.id or "")
        if settle_deleted_or_rejected(ctx, self.obj, index, record, row):
            return
        student_id = self.students.get(record.contact_id or "")
        event_id = self.events.get(record.session_id or "")
        require_parents(
            (student_id, "unknown_student", "Contact__c", record.contact_id),
            (event_id, "unknown_event", "Session__c", record.session_id),
        )
        values = {**record.values(), "event_id": event_id, "student_id": student_id}
        written = self.upsert(
            record,
            values,
            (event_id, student_id),
            lambda: EventStudentParticipation(
                salesforce_id=record.id,
                is_deleted=False,
                sf_modstamp=record.system_modstamp,
                sf_last_seen_run_id=self.ctx.run_id,
                **values,
            ),
        )
        if written is not None:
            self.after_flush(lambda: self._flags(written, record))

    def _flags(self, row: EventStudentParticipation, record: SalesforceStudentParticipant) -> None:
        note = f"run {self.ctx.run_id}"
        if record.status.unknown:
            self.flags.raise_flag(
                "unknown_picklist_value",
                entity_id=row.id,
                salesforce_id=record.id,
                field="Status__c",
                vocabulary=VOCABULARY,
                raw_value=record.status.raw,
            )
        else:
            self.flags.resolve("unknown_picklist_value", entity_id=row.id, field="Status__c", note=note)
        if hours(record.delivery_hours_raw)[1]:
            self.flags.raise_flag(
                "invalid_number", entity_id=row.id, salesforce_id=record.id, field="Delivery_Hours__c"
            )
        else:
            self.flags.resolve("invalid_number", entity_id=row.id, field="Delivery_Hours__c", note=note)


PARTICIPANTS = SfObject(
    "Session_Participant__c:student",
    "Session_Participant__c",
    "Participant_Type__c = 'Student'",
    STUDENT_PARTICIPANT_FIELDS,
    SalesforceStudentParticipant,
    _Writer,
    label="participants",
)


async def run(ctx: RunContext) -> None:
    await run_import(
        ctx,
        KIND,
        [PARTICIPANTS],
        after_object=snapshot_step(EventStudentParticipation, "Session_Participant__c"),
    )
