"""Kind ``salesforce-affiliations``: volunteer ↔ organization links (02 SF-31).

npe5__Affiliation__c of volunteer contacts (``npe5__Contact__r.Contact_Type__c`` Volunteer or
blank); key ``volunteer_affiliation.salesforce_id``; watermark ``npe5__Affiliation__c``.
Required parents (SF-17/SF-18 pending queue): the volunteer (``npe5__Contact__c`` via a live
``volunteer_sf_contact``) and the account (``npe5__Organization__c``), looked up as an
organization, else a school, else a district — exactly one of the three FKs is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from polaris_api.models.people import VolunteerAffiliation, VolunteerSfContact
from polaris_api.models.reference import District, Organization, School
from polaris_api.schemas.salesforce import AFFILIATION_FIELDS, SalesforceAffiliation
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import chunks, one_of
from polaris_api.sync.salesforce.engine import (
    MirrorWriter,
    SfObject,
    load_ids_by_sf_id,
    require_parents,
    run_import,
    snapshot_step,
)

__all__ = ["AFFILIATIONS", "KIND", "run"]

KIND = "salesforce-affiliations"
_ACCOUNT_COLUMNS = ("organization_id", "school_id", "district_id")


class _Writer(MirrorWriter):
    table = VolunteerAffiliation
    entity_type = "volunteer_affiliation"
    flag_codes = ("unknown_picklist_value",)

    async def prepare_more(self, records: Sequence[SalesforceAffiliation]) -> None:
        self.volunteers: dict[str, int] = {}
        contacts = sorted({r.contact_id for r in records if r.contact_id})
        for chunk in chunks(contacts):
            result = await self.session.execute(
                select(VolunteerSfContact.salesforce_id, VolunteerSfContact.volunteer_id).where(
                    one_of(self.session, VolunteerSfContact.salesforce_id, chunk),
                    VolunteerSfContact.is_deleted.is_(False),
                )
            )
            self.volunteers.update(dict(result.all()))
        accounts = [r.account_id for r in records if r.account_id]
        self.accounts: list[tuple[str, dict[str, int]]] = [
            ("organization_id", await load_ids_by_sf_id(self.session, Organization, accounts)),
            ("school_id", await load_ids_by_sf_id(self.session, School, accounts)),
            ("district_id", await load_ids_by_sf_id(self.session, District, accounts)),
        ]

    def _parents(self, record: SalesforceAffiliation) -> dict[str, Any]:
        volunteer_id = self.volunteers.get(record.contact_id or "")
        account = next(
            ((col, ids[record.account_id]) for col, ids in self.accounts if record.account_id in ids), None
        )
        require_parents(
            (volunteer_id, "unknown_volunteer", "npe5__Contact__c", record.contact_id),
            (account, "unknown_account", "npe5__Organization__c", record.account_id),
        )
        assert account is not None  # require_parents refused the record otherwise
        parents = dict.fromkeys(_ACCOUNT_COLUMNS)
        parents[account[0]] = account[1]
        parents["volunteer_id"] = volunteer_id
        return parents

    def values(self, record: SalesforceAffiliation) -> dict[str, Any]:
        return {**record.values(), **self._parents(record)}

    async def apply(self, index: int, record: SalesforceAffiliation) -> None:
        if record.id not in self.unchanged and not record.is_deleted and not record.missing_fields():
            self._parents(record)  # raises MissingParent before anything is written
        await super().apply(index, record)

    async def after_write(
        self, row: Any, record: SalesforceAffiliation, values: dict[str, Any], created: bool
    ) -> bool:
        if record.status.unknown:
            self.flags.raise_flag(
                "unknown_picklist_value",
                entity_id=row.id,
                salesforce_id=record.id,
                field="npe5__Status__c",
                vocabulary="affiliation_status",
                raw_value=record.status.raw,
            )
        else:
            self.flags.resolve(
                "unknown_picklist_value", entity_id=row.id, field="npe5__Status__c", note="clean"
            )
        return False


AFFILIATIONS = SfObject(
    "npe5__Affiliation__c",
    "npe5__Affiliation__c",
    "npe5__Contact__r.Contact_Type__c = 'Volunteer' OR npe5__Contact__r.Contact_Type__c = '' "
    "OR npe5__Contact__r.Contact_Type__c = null",
    AFFILIATION_FIELDS,
    SalesforceAffiliation,
    _Writer,
    label="affiliations",
)


async def run(ctx: RunContext) -> None:
    await run_import(
        ctx, KIND, [AFFILIATIONS], after_object=snapshot_step(VolunteerAffiliation, "npe5__Affiliation__c")
    )
