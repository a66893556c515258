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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.events import EventParticipation
from polaris_api.models.people import VolunteerSfContact
from polaris_api.schemas.salesforce import (
    VOLUNTEER_PARTICIPANT_FIELDS,
    SalesforceVolunteerParticipant,
    sf_email,
)
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import FlagBook, chunks, one_of
from polaris_api.sync.salesforce.engine import (
    SfObject,
    run_import,
    snapshot_step,
)
from polaris_api.sync.salesforce.participations import ParticipationWriter

__all__ = ["KIND", "PARTICIPANTS", "run"]

KIND = "salesforce-volunteer-participations"
VOCABULARY = "volunteer_participation_status"
FLAG_CODES = ("duplicate_participation", "unknown_picklist_value", "invalid_number", "invalid_email")


class _Writer(ParticipationWriter):
    vocabulary = VOCABULARY
    table = EventParticipation
    person_column = "volunteer_id"
    unknown_person = "unknown_volunteer"
    pair_filter = (EventParticipation.participant_type == "volunteer",)
    new_row_fields = {"participant_type": "volunteer", "source": "salesforce"}

    def __init__(self, session: AsyncSession, ctx: RunContext, obj: SfObject) -> None:
        super().__init__(session, ctx, obj)
        self.rows: dict[str, EventParticipation] = {}
        self.by_pair: dict[tuple[int, int], EventParticipation] = {}
        self.flags = FlagBook(
            session,
            run_id=ctx.run_id,
            entity_type="event_participation",
            sf_object="Session_Participant__c",
            codes=FLAG_CODES,
        )

    async def people_of(self, contact_ids: Sequence[str]) -> dict[str, int]:
        """A Contact__c is a volunteer through its live ``volunteer_sf_contact`` row."""
        people: dict[str, int] = {}
        for chunk in chunks(contact_ids):
            result = await self.session.execute(
                select(VolunteerSfContact.salesforce_id, VolunteerSfContact.volunteer_id).where(
                    one_of(self.session, VolunteerSfContact.salesforce_id, chunk),
                    VolunteerSfContact.is_deleted.is_(False),
                )
            )
            people.update(dict(result.all()))
        return people

    def raise_flags(self, row: EventParticipation, record: SalesforceVolunteerParticipant) -> None:
        super().raise_flags(row, record)
        if sf_email(record.email_raw)[1]:
            self.flags.raise_flag(
                "invalid_email", entity_id=row.id, salesforce_id=record.id, field="Email__c"
            )
        else:
            self.flags.resolve(
                "invalid_email", entity_id=row.id, field="Email__c", note=f"run {self.ctx.run_id}"
            )


PARTICIPANTS = SfObject(
    "Session_Participant__c:volunteer",
    "Session_Participant__c",
    "Participant_Type__c = 'Volunteer'",
    VOLUNTEER_PARTICIPANT_FIELDS,
    SalesforceVolunteerParticipant,
    _Writer,
    label="participants",
)


async def run(ctx: RunContext) -> None:
    await run_import(
        ctx,
        KIND,
        [PARTICIPANTS],
        after_object=snapshot_step(
            EventParticipation,
            "Session_Participant__c",
            live_filter=EventParticipation.participant_type == "volunteer",
        ),
    )
