"""Kind ``salesforce-affiliations``: volunteer ↔ organization links (02 SF-31).

npe5__Affiliation__c of volunteer contacts (``npe5__Contact__r.Contact_Type__c`` Volunteer or
blank); key ``volunteer_affiliation.salesforce_id``; watermark ``npe5__Affiliation__c``.
Required parents (SF-17/SF-18 pending queue): the volunteer (``npe5__Contact__c`` via a live
``volunteer_sf_contact``) and the account (``npe5__Organization__c``), looked up as an
organization, else a school, else a district — exactly one of the three FKs is set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    StoredRef,
    load_ids_by_sf_id,
    raw_id,
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
        await self._load_parents(
            [r.contact_id for r in records if r.contact_id], [r.account_id for r in records if r.account_id]
        )

    async def load_raw_parents(self, raws: Sequence[Mapping[str, Any]]) -> None:
        contacts = [i for raw in raws if (i := raw_id(raw, "npe5__Contact__c"))]
        await self._load_parents(contacts, [i for raw in raws if (i := raw_id(raw, "npe5__Organization__c"))])

    def raw_parent_columns(self) -> tuple[str, ...]:
        return ("volunteer_id", *_ACCOUNT_COLUMNS, "contact_salesforce_id", "account_salesforce_id")

    def stored_refs(self) -> list[StoredRef]:
        """What the row's stored contact and account ids resolve to now (issue 13 item 5)."""
        table = VolunteerAffiliation
        return [
            StoredRef("volunteer_now", VolunteerSfContact, table.contact_salesforce_id, value="volunteer_id"),
            StoredRef("organization_now", Organization, table.account_salesforce_id),
            StoredRef("school_now", School, table.account_salesforce_id),
            StoredRef("district_now", District, table.account_salesforce_id),
        ]

    def refs_hold(self, raw: Mapping[str, Any], row: Any) -> bool:
        if (
            raw_id(raw, "npe5__Contact__c") != row.contact_salesforce_id
            or raw_id(raw, "npe5__Organization__c") != row.account_salesforce_id
            or row.volunteer_now is None
            or row.volunteer_now != row.volunteer_id
        ):
            return False
        # an organization first, else a school, else a district (as _parents decides)
        if row.organization_now is not None:
            wanted = (row.organization_now, None, None)
        elif row.school_now is not None:
            wanted = (None, row.school_now, None)
        else:
            wanted = (None, None, row.district_now)
        return wanted != (None, None, None) and wanted == (
            row.organization_id,
            row.school_id,
            row.district_id,
        )

    def raw_parents(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The volunteer and the one account column a raw record resolves to (issue 13 item 5)."""
        account_id = raw_id(raw, "npe5__Organization__c")
        parents = dict.fromkeys(_ACCOUNT_COLUMNS)
        for column, ids in self.accounts:
            if account_id in ids:
                parents[column] = ids[account_id]
                break
        parents["volunteer_id"] = self.volunteers.get(raw_id(raw, "npe5__Contact__c") or "")
        return parents

    async def _load_parents(self, contact_ids: Sequence[str], account_ids: Sequence[str]) -> None:
        self.volunteers: dict[str, int] = {}
        for chunk in chunks(sorted(set(contact_ids))):
            result = await self.session.execute(
                select(VolunteerSfContact.salesforce_id, VolunteerSfContact.volunteer_id).where(
                    one_of(self.session, VolunteerSfContact.salesforce_id, chunk),
                    VolunteerSfContact.is_deleted.is_(False),
                )
            )
            self.volunteers.update(dict(result.all()))
        # an organization first, else a school, else a district: each looked up only for the
        # accounts not found yet (usually one query, not three)
        self.accounts: list[tuple[str, dict[str, int]]] = []
        left = set(account_ids)
        for column, table in (
            ("organization_id", Organization),
            ("school_id", School),
            ("district_id", District),
        ):
            found = await load_ids_by_sf_id(self.session, table, sorted(left)) if left else {}
            self.accounts.append((column, found))
            left.difference_update(found)

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
