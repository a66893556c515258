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

from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.events import EventStudentParticipation
from polaris_api.models.people import Student
from polaris_api.schemas.salesforce import STUDENT_PARTICIPANT_FIELDS, SalesforceStudentParticipant
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import FlagBook
from polaris_api.sync.salesforce.engine import (
    SfObject,
    load_ids_by_sf_id,
    run_import,
    snapshot_step,
)
from polaris_api.sync.salesforce.participations import ParticipationWriter

__all__ = ["KIND", "PARTICIPANTS", "run"]

KIND = "salesforce-student-participations"
VOCABULARY = "student_participation_status"


class _Writer(ParticipationWriter):
    vocabulary = VOCABULARY
    table = EventStudentParticipation
    person_column = "student_id"
    person_table = Student
    unknown_person = "unknown_student"

    def __init__(self, session: AsyncSession, ctx: RunContext, obj: SfObject) -> None:
        super().__init__(session, ctx, obj)
        self.rows: dict[str, EventStudentParticipation] = {}
        self.by_pair: dict[tuple[int, int], EventStudentParticipation] = {}
        self.flags = FlagBook(
            session,
            run_id=ctx.run_id,
            entity_type="event_student_participation",
            sf_object="Session_Participant__c",
            codes=("duplicate_participation", "unknown_picklist_value", "invalid_number"),
        )

    async def people_of(self, contact_ids: Sequence[str]) -> dict[str, int]:
        return await load_ids_by_sf_id(self.session, Student, contact_ids)


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
