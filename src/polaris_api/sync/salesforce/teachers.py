"""Kind ``salesforce-teachers``: teachers for tagging and progress matching (02 SF-28).

Filter ``Contact_Type__c = 'Teacher'``; key ``teacher.salesforce_id``, else a teacher with no SF
Id and the same normalized email is adopted; new rows get ``import_source='salesforce'``;
watermark ``Contact:teacher``. The primary email and phone (kind ``work``) are SF child rows of
the contact (``sf_source_id``); roster/Polaris-owned fields (import_source, is_active,
exclude_from_reports, notes, merged_into_id, district link) and Pathful's ``pathful_user_id`` are
never written. ``npsp__Primary_Affiliation__c`` → ``school_id`` is an optional reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from polaris_api.models.people import Teacher, TeacherEmail, TeacherPhone
from polaris_api.models.reference import School
from polaris_api.schemas.salesforce import (
    CONTACT_TEACHER_FIELDS,
    SalesforceContactTeacher,
    sf_email,
    sf_phone,
    trim,
)
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import chunks
from polaris_api.sync.salesforce.engine import (
    MirrorWriter,
    OptionalRef,
    SfObject,
    assign,
    link_resolver,
    run_import,
    snapshot_step,
)

__all__ = ["KIND", "TEACHERS", "run"]

KIND = "salesforce-teachers"


class _Writer(MirrorWriter):
    table = Teacher
    entity_type = "teacher"
    refs = (
        OptionalRef("npsp__Primary_Affiliation__c", "school_id", "school_id", School, "school_salesforce_id"),
    )
    flag_codes = ("invalid_email", "unknown_picklist_value")
    new_row_defaults = {"import_source": "salesforce"}

    def values(self, record: SalesforceContactTeacher) -> dict[str, Any]:
        return record.values()

    async def prepare_more(self, records: Sequence[SalesforceContactTeacher]) -> None:
        self.adoptable: dict[str, Teacher] = {}
        emails = sorted({e for r in records if r.id not in self.rows for e in [r.email()[0]] if e})
        for chunk in chunks(emails):
            result = await self.session.execute(
                select(Teacher)
                .where(
                    Teacher.salesforce_id.is_(None),
                    Teacher.email_normalized.in_(chunk),
                    Teacher.merged_into_id.is_(None),  # a merged duplicate is never adopted
                )
                .order_by(Teacher.id)
            )
            for row in result.scalars():
                self.adoptable.setdefault(row.email_normalized or "", row)
        ids = [row.id for row in [*self.rows.values(), *self.adoptable.values()]]
        self.emails: dict[int, list[TeacherEmail]] = {}
        self.phones: dict[int, list[TeacherPhone]] = {}
        for id_chunk in chunks(ids):
            for email in (
                await self.session.execute(select(TeacherEmail).where(TeacherEmail.teacher_id.in_(id_chunk)))
            ).scalars():
                self.emails.setdefault(email.teacher_id, []).append(email)
            for phone in (
                await self.session.execute(select(TeacherPhone).where(TeacherPhone.teacher_id.in_(id_chunk)))
            ).scalars():
                self.phones.setdefault(phone.teacher_id, []).append(phone)

    async def find_existing(self, record: SalesforceContactTeacher, values: dict[str, Any]) -> Any | None:
        email = values.get("email_normalized")
        return self.adoptable.pop(email, None) if email else None

    async def after_write(
        self, row: Any, record: SalesforceContactTeacher, values: dict[str, Any], created: bool
    ) -> bool:
        sf_id = record.id or ""
        changed = False
        email, invalid = sf_email(record.email_raw)
        rows = self.emails.setdefault(row.id, [])
        for child in list(rows):
            if child.sf_source_id == sf_id and child.email_normalized != email:
                rows.remove(child)
                await self.session.delete(child)
                changed = True
        if email:
            existing = next((c for c in rows if c.email_normalized == email), None)
            if existing is None:
                child = TeacherEmail(
                    teacher_id=row.id,
                    email=trim(record.email_raw) or email,
                    email_normalized=email,
                    kind="work",
                    is_primary=True,
                    source="salesforce",
                    sf_source_id=sf_id,
                )
                self.session.add(child)
                rows.append(child)
                changed = True
            elif existing.source == "salesforce":
                changed |= assign(existing, {"is_primary": True, "sf_source_id": sf_id})
        number, e164 = sf_phone(record.phone_raw)
        phones = self.phones.setdefault(row.id, [])
        for phone in list(phones):
            if phone.sf_source_id == sf_id and phone.number != number:
                phones.remove(phone)
                await self.session.delete(phone)
                changed = True
        if number and not any(c.number == number for c in phones):
            new_phone = TeacherPhone(
                teacher_id=row.id,
                number=number,
                e164=e164,
                kind="work",
                is_primary=True,
                source="salesforce",
                sf_source_id=sf_id,
            )
            self.session.add(new_phone)
            phones.append(new_phone)
            changed = True
        note = f"run {self.ctx.run_id}"
        if invalid:
            self.flags.raise_flag("invalid_email", entity_id=row.id, salesforce_id=record.id, field="Email")
        else:
            self.flags.resolve("invalid_email", entity_id=row.id, field="Email", note=note)
        if record.gender.unknown:
            self.flags.raise_flag(
                "unknown_picklist_value",
                entity_id=row.id,
                salesforce_id=record.id,
                field="Gender__c",
                vocabulary="gender",
                raw_value=record.gender.raw,
            )
        else:
            self.flags.resolve("unknown_picklist_value", entity_id=row.id, field="Gender__c", note=note)
        return changed


TEACHERS = SfObject(
    "Contact:teacher",
    "Contact",
    "Contact_Type__c = 'Teacher'",
    CONTACT_TEACHER_FIELDS,
    SalesforceContactTeacher,
    _Writer,
    label="teachers",
)


async def run(ctx: RunContext) -> None:
    await run_import(
        ctx,
        KIND,
        [TEACHERS],
        after_object=snapshot_step(Teacher, "Contact"),
        at_end=[
            link_resolver(
                Teacher,
                "school_id",
                "school_salesforce_id",
                School,
                "npsp__Primary_Affiliation__c",
                "Contact",
            )
        ],
    )
