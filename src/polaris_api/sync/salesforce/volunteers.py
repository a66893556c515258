"""Kind ``salesforce-volunteers``: volunteer profiles from Contact (02 SF-26, SF-27, 00 R2).

Filter: ``Contact_Type__c`` Volunteer or blank; watermark ``Contact:volunteer``. A contact is
resolved to a volunteer by (1) its ``volunteer_sf_contact`` link, (2) else the live volunteer
owning one of its normalized emails (flag ``multiple_sf_contacts`` when that volunteer already
had a contact), (3) else a new volunteer. ``volunteer.email_normalized`` is unique: two contacts
with the same address (any case) are one volunteer with two contact rows.

When a volunteer has several contacts, the newest SystemModstamp writes the SF-owned fields; an
older contact only refreshes its own link row. SF child rows (emails, phones, skill links) carry
``sf_source_id``: each contact replaces only its own rows; Polaris rows are never touched.
``local_status`` (Polaris-owned, 08 VOC-6) is re-derived from the written mailing address by
:func:`polaris_api.locality.refresh_local_status`; a staff override (``manual``) is never changed.
Deleted contacts (SF-11): the link is soft-deleted (reason ``merged`` + flag
``sf_contact_merged`` when ``MasterRecordId`` is set); the volunteer counts as deleted only when
all its contacts are. The full snapshot (SF-12) applies to contact links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.db import utcnow
from polaris_api.locality import ZipPrefixes, next_local_status, refresh_local_status
from polaris_api.models.people import (
    Volunteer,
    VolunteerEmail,
    VolunteerPhone,
    VolunteerSfContact,
    VolunteerSkill,
)
from polaris_api.models.reference import Skill, normalize_name
from polaris_api.schemas.salesforce import (
    CONTACT_VOLUNTEER_FIELDS,
    SalesforceContactVolunteer,
    ValidationError,
)
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import FlagBook, chunks, one_of
from polaris_api.sync.salesforce.engine import (
    BatchWriter,
    SfObject,
    assign,
    is_stale,
    load_by_sf_id,
    load_current,
    reject_missing,
    restore,
    run_import,
    same_stamp_candidates,
    snapshot_step,
    soft_delete,
)

__all__ = ["CONTACTS", "KIND", "run"]

KIND = "salesforce-volunteers"
FLAG_CODES = (
    "unknown_picklist_value",
    "invalid_email",
    "all_caps_name",
    "multiple_sf_contacts",
    "sf_contact_merged",
)
PICKLIST_FIELDS = (
    "Salutation",
    "Suffix",
    "Gender__c",
    "Highest_Level_of_Educational__c",
    "Age_Group__c",
    "Racial_Ethnic_Background__c",
)
EMAIL_FIELDS = ("npe01__WorkEmail__c", "npe01__HomeEmail__c", "npe01__AlternateEmail__c", "Email")


def _all_caps(name: str | None) -> bool:
    return bool(name) and name.isupper() and sum(c.isalpha() for c in name) > 1  # type: ignore[union-attr]


class _Writer(BatchWriter):
    """Volunteers created in a batch get their ids in the batch's one flush (SCALE-1), so the
    maps below are keyed by the ``Volunteer`` object and child rows link through relationships."""

    def __init__(self, session: AsyncSession, ctx: RunContext, obj: SfObject) -> None:
        super().__init__(session, ctx, obj)
        self.links: dict[str, VolunteerSfContact] = {}
        self.volunteers: dict[int, Volunteer] = {}
        self.volunteer_of_new_link: dict[str, Volunteer] = {}
        self.by_email: dict[str, Volunteer] = {}  # normalized email → live volunteer
        self.contacts_of: dict[Volunteer, list[VolunteerSfContact]] = {}
        self.emails_of: dict[Volunteer, list[VolunteerEmail]] = {}
        self.phones_of: dict[Volunteer, list[VolunteerPhone]] = {}
        self.skills_of: dict[Volunteer, list[VolunteerSkill]] = {}
        self.skills: dict[str, Skill] = {}
        self._pending_deletes: list[Any] = []
        self.flags = FlagBook(
            session, run_id=ctx.run_id, entity_type="volunteer", sf_object="Contact", codes=FLAG_CODES
        )
        self.zip_prefixes = ZipPrefixes.of(ctx.settings.local_zip_prefixes, ctx.settings.partial_zip_prefixes)

    async def screen(
        self, batch: Sequence[tuple[int, dict[str, Any]]]
    ) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, dt.datetime], list[int]]:
        """Issue 13 item 5, the fast path of :class:`~polaris_api.sync.salesforce.engine.RawScreen`
        for contacts: a record is set aside (not written, its link counted as seen by the SF-12
        snapshot) when its live link and its live volunteer both carry its SystemModstamp (this
        contact wrote the volunteer last, SF-10), and what the full path derives beyond the
        record's own values would not change either: the volunteer's ``email_normalized`` is the
        record's primary address and ``local_status`` is what VOC-6 derives now."""
        session, tz = self.session, self.ctx.settings.tz
        ids = [sf_id for _, raw in batch if isinstance(sf_id := raw.get("Id"), str)]
        names = ("id", "salesforce_id", "volunteer_id", "sf_modstamp", "is_deleted")
        links = await load_current(session, VolunteerSfContact, ids, names=names)
        candidates = same_stamp_candidates(batch, links, self.obj.model.required, tz)
        if not candidates:
            return list(batch), {}, []
        columns = (
            Volunteer.id,
            Volunteer.sf_modstamp,
            Volunteer.is_deleted,
            Volunteer.email_normalized,
            Volunteer.local_status,
            Volunteer.local_status_source,
            Volunteer.mailing_postal_code,
            Volunteer.mailing_country,
        )
        volunteers: dict[int, Any] = {}
        for chunk in chunks(sorted({link.volunteer_id for _, _, link in candidates})):
            rows = await session.execute(select(*columns).where(one_of(session, Volunteer.id, chunk)))
            volunteers.update({row.id: row for row in rows})
        skipped: dict[int, Any] = {}
        for index, raw, link in candidates:
            volunteer = volunteers.get(link.volunteer_id)
            if volunteer is None or volunteer.is_deleted or volunteer.sf_modstamp != link.sf_modstamp:
                continue
            try:
                record = SalesforceContactVolunteer.from_sf(raw, tz=tz)
            except ValidationError:
                continue
            primary = next((e.email_normalized for e in record.emails()[0] if e.is_primary), None)
            local = next_local_status(
                volunteer.local_status,
                volunteer.local_status_source,
                volunteer.mailing_postal_code,
                self.zip_prefixes,
                country=volunteer.mailing_country,
            )
            if volunteer.email_normalized == primary and local == (
                volunteer.local_status,
                volunteer.local_status_source,
            ):
                skipped[index] = link
        rest = [(index, raw) for index, raw in batch if index not in skipped]
        stamps = {link.salesforce_id: link.sf_modstamp for link in skipped.values()}
        return rest, stamps, [link.id for link in skipped.values()]

    async def prepare(self, records: Sequence[SalesforceContactVolunteer]) -> None:
        session = self.session
        self.links = await load_by_sf_id(session, VolunteerSfContact, [r.id for r in records if r.id])
        emails = sorted({e.email_normalized for r in records for e in r.emails()[0]})
        owner_ids: dict[str, int] = {}
        for email_chunk in chunks(emails):
            owners = await session.execute(
                select(Volunteer.email_normalized, Volunteer.id).where(
                    Volunteer.email_normalized.in_(email_chunk), Volunteer.is_deleted.is_(False)
                )
            )
            owner_ids.update((email, volunteer_id) for email, volunteer_id in owners.all() if email)
        for email_chunk in chunks(emails):
            addresses = await session.execute(
                select(VolunteerEmail.email_normalized, VolunteerEmail.volunteer_id)
                .join(Volunteer, Volunteer.id == VolunteerEmail.volunteer_id)
                .where(VolunteerEmail.email_normalized.in_(email_chunk), Volunteer.is_deleted.is_(False))
                .order_by(VolunteerEmail.volunteer_id)
            )
            for email, volunteer_id in addresses.all():
                owner_ids.setdefault(email, volunteer_id)
        ids = sorted({link.volunteer_id for link in self.links.values()} | set(owner_ids.values()))
        children: tuple[tuple[Any, dict[Volunteer, list[Any]]], ...] = (
            (VolunteerSfContact, self.contacts_of),
            (VolunteerEmail, self.emails_of),
            (VolunteerPhone, self.phones_of),
            (VolunteerSkill, self.skills_of),
        )
        for id_chunk in chunks(ids):
            for row in (await session.execute(select(Volunteer).where(Volunteer.id.in_(id_chunk)))).scalars():
                self.volunteers[row.id] = row
            for table, target in children:
                for child in (
                    await session.execute(select(table).where(table.volunteer_id.in_(id_chunk)))
                ).scalars():
                    target.setdefault(self.volunteers[child.volunteer_id], []).append(child)
        names = sorted({name for r in records for n in r.skill_names() if (name := normalize_name(n))})
        for name_chunk in chunks(names):
            for skill in (
                await session.execute(select(Skill).where(Skill.name_normalized.in_(name_chunk)))
            ).scalars():
                self.skills[skill.name_normalized] = skill
        linked = sorted({link.skill_id for links in self.skills_of.values() for link in links})
        for skill_chunk in chunks(linked):
            for skill in (await session.execute(select(Skill).where(Skill.id.in_(skill_chunk)))).scalars():
                self.skills[skill.name_normalized] = skill
        self.by_email = {email: self.volunteers[i] for email, i in owner_ids.items()}
        await self.flags.load(ids)

    def _volunteer_of(self, link: VolunteerSfContact) -> Volunteer:
        return self.volunteer_of_new_link.get(link.salesforce_id) or self.volunteers[link.volunteer_id]

    # ---------------------------------------------------------------------------------------
    async def apply(self, index: int, record: SalesforceContactVolunteer) -> None:
        ctx = self.ctx
        sf_id = record.id or ""
        link = self.links.get(sf_id)
        if record.is_deleted:
            self._delete(link, record)
            return
        if reject_missing(ctx, self.obj, index, record):
            if link is not None:
                link.sf_last_seen_run_id = ctx.run_id
            return
        emails, invalid = record.emails()
        primary = next((e.email_normalized for e in emails if e.is_primary), None)
        created = False
        if link is not None:
            volunteer = self._volunteer_of(link)
        else:
            found = next(
                (self.by_email[e.email_normalized] for e in emails if e.email_normalized in self.by_email),
                None,
            )
            if found is not None:
                volunteer = found
                method = "email"
            else:
                volunteer = Volunteer(
                    source="salesforce",
                    last_name=record.last_name,
                    email_normalized=primary,
                    is_deleted=False,
                    sf_last_seen_run_id=ctx.run_id,
                )
                self.session.add(volunteer)
                method = "new"
                created = True
            for email in emails:
                self.by_email.setdefault(email.email_normalized, volunteer)
            others = [c for c in self.contacts_of.get(volunteer, []) if c.salesforce_id != sf_id]
            link = VolunteerSfContact(
                salesforce_id=sf_id,
                volunteer=volunteer,
                link_method=method,
                is_deleted=False,
                master_record_id=record.master_record_id,
                contact_type=record.contact_type,
                linked_at=utcnow(),
            )
            self.session.add(link)
            self.links[sf_id] = link
            self.volunteer_of_new_link[sf_id] = volunteer
            self.contacts_of.setdefault(volunteer, []).append(link)
            if others:
                contact_ids = sorted([c.salesforce_id for c in others] + [sf_id])
                self.after_flush(
                    lambda: self.flags.raise_flag(
                        "multiple_sf_contacts",
                        entity_id=volunteer.id,
                        salesforce_id=sf_id,
                        field="",
                        details={"salesforce_ids": contact_ids},
                    )
                )
        # the contact's own mirror row
        self.see(link)
        link_changed = False
        if not is_stale(link, record):
            link_changed = assign(
                link, {"contact_type": record.contact_type, "master_record_id": record.master_record_id}
            )
            link.sf_modstamp = record.system_modstamp
            if restore(link):
                link_changed = True
                ctx.count("restored")
        self.see(volunteer)
        if not created and is_stale(volunteer, record):  # a newer contact of this volunteer wrote
            ctx.count("updated" if link_changed else "unchanged")
            return
        values = record.values()
        owner = self.by_email.get(primary) if primary else None
        if owner is None or owner is volunteer:
            values["email_normalized"] = primary
        changed = assign(volunteer, values)
        changed |= refresh_local_status(volunteer, self.zip_prefixes)  # VOC-6, never a manual value
        volunteer.sf_modstamp = record.system_modstamp
        if restore(volunteer):
            changed = True
        changed |= self._emails(volunteer, sf_id, emails)
        changed |= self._phones(volunteer, sf_id, record)
        changed |= self._skills(volunteer, sf_id, record)
        for child in self._pending_deletes:
            await self.session.delete(child)
        self._pending_deletes.clear()
        self.after_flush(lambda: self._flags(volunteer, record, invalid))
        if created:
            ctx.count("created")
        else:
            ctx.count("updated" if changed or link_changed else "unchanged")

    def _delete(self, link: VolunteerSfContact | None, record: SalesforceContactVolunteer) -> None:
        ctx = self.ctx
        if link is None:
            ctx.count("skipped")  # a deleted Id unknown to Polaris is ignored (SF-11)
            return
        merged = record.master_record_id is not None
        changed = soft_delete(link, ctx, record, "merged" if merged else "deleted")
        link.master_record_id = record.master_record_id
        volunteer = self._volunteer_of(link)
        if merged:
            details = {"salesforce_id": record.id, "master_record_id": record.master_record_id}
            self.after_flush(
                lambda: self.flags.raise_flag(
                    "sf_contact_merged",
                    entity_id=volunteer.id,
                    salesforce_id=record.id,
                    field=record.id or "",
                    details=details,
                )
            )
        contacts = self.contacts_of.get(volunteer, [link])
        if all(c.is_deleted for c in contacts) and not volunteer.is_deleted:
            volunteer.is_deleted = True
            volunteer.deleted_in_source_at = link.deleted_in_source_at
            volunteer.deleted_in_source_reason = link.deleted_in_source_reason
        ctx.count("deleted_in_source" if changed else "unchanged")

    def _emails(self, volunteer: Volunteer, sf_id: str, emails: Sequence[Any]) -> bool:
        rows = self.emails_of.setdefault(volunteer, [])
        by_email = {row.email_normalized: row for row in rows}
        wanted = {e.email_normalized: e for e in emails}
        changed = False
        for row in list(rows):
            if row.sf_source_id == sf_id and row.email_normalized not in wanted:
                rows.remove(row)
                self._pending_deletes.append(row)
                changed = True
        has_primary = any(e.is_primary for e in emails)
        for normalized, email in wanted.items():
            found = by_email.get(normalized)
            if found is None:
                row = VolunteerEmail(
                    volunteer=volunteer,
                    email=email.email,
                    email_normalized=normalized,
                    kind=email.kind,
                    is_primary=email.is_primary,
                    source="salesforce",
                    sf_source_id=sf_id,
                )
                self.session.add(row)
                rows.append(row)
                changed = True
            elif found.source == "salesforce":
                changed |= assign(
                    found,
                    {
                        "email": email.email,
                        "kind": email.kind,
                        "is_primary": email.is_primary,
                        "sf_source_id": sf_id,
                    },
                )
        if has_primary:
            for row in rows:
                if row.source == "salesforce" and row.is_primary and row.email_normalized not in wanted:
                    row.is_primary = False
                    changed = True
        return changed

    def _phones(self, volunteer: Volunteer, sf_id: str, record: SalesforceContactVolunteer) -> bool:
        phones = record.phones()
        rows = self.phones_of.setdefault(volunteer, [])
        by_number = {row.number: row for row in rows}
        wanted = {p.number: p for p in phones}
        changed = False
        for row in list(rows):
            if row.sf_source_id == sf_id and row.number not in wanted:
                rows.remove(row)
                self._pending_deletes.append(row)
                changed = True
        for number, phone in wanted.items():
            found = by_number.get(number)
            if found is None:
                row = VolunteerPhone(
                    volunteer=volunteer,
                    number=number,
                    e164=phone.e164,
                    kind=phone.kind,
                    is_primary=phone.is_primary,
                    source="salesforce",
                    sf_source_id=sf_id,
                )
                self.session.add(row)
                rows.append(row)
                changed = True
            elif found.source == "salesforce":
                changed |= assign(
                    found,
                    {
                        "e164": phone.e164,
                        "kind": phone.kind,
                        "is_primary": phone.is_primary,
                        "sf_source_id": sf_id,
                    },
                )
        return changed

    def _skills(self, volunteer: Volunteer, sf_id: str, record: SalesforceContactVolunteer) -> bool:
        links = self.skills_of.setdefault(volunteer, [])
        key_by_id = {skill.id: key for key, skill in self.skills.items() if skill.id is not None}
        wanted_keys: set[str] = set()
        for name in record.skill_names():
            key = normalize_name(name) or ""
            if key not in self.skills:
                skill = Skill(name=name, name_normalized=key)
                self.session.add(skill)
                self.skills[key] = skill
            wanted_keys.add(key)
        changed = False
        have = {
            (
                key_by_id.get(link.skill_id, f"#{link.skill_id}")
                if link.skill_id is not None
                else link.skill.name_normalized
            ): link
            for link in links
        }
        for key, link in list(have.items()):
            if link.sf_source_id == sf_id and link.source == "salesforce" and key not in wanted_keys:
                links.remove(link)
                self._pending_deletes.append(link)
                changed = True
        for key in wanted_keys:
            if key not in have:
                link = VolunteerSkill(
                    volunteer=volunteer, skill=self.skills[key], source="salesforce", sf_source_id=sf_id
                )
                self.session.add(link)
                links.append(link)
                changed = True
        return changed

    def _flags(
        self, volunteer: Volunteer, record: SalesforceContactVolunteer, invalid: Sequence[str]
    ) -> None:
        flags, note = self.flags, f"run {self.ctx.run_id}"
        unknown = {sf_field: (vocabulary, raw) for sf_field, vocabulary, raw in record.unknown_picklists()}
        for sf_field in PICKLIST_FIELDS:
            if sf_field in unknown:
                vocabulary, raw = unknown[sf_field]
                flags.raise_flag(
                    "unknown_picklist_value",
                    entity_id=volunteer.id,
                    salesforce_id=record.id,
                    field=sf_field,
                    vocabulary=vocabulary,
                    raw_value=raw,
                    details={
                        "sf_object": "Contact",
                        "salesforce_id": record.id,
                        "sf_field": sf_field,
                        "vocabulary": vocabulary,
                    },
                )
            else:
                flags.resolve("unknown_picklist_value", entity_id=volunteer.id, field=sf_field, note=note)
        for sf_field in EMAIL_FIELDS:
            if sf_field in invalid:
                flags.raise_flag(
                    "invalid_email", entity_id=volunteer.id, salesforce_id=record.id, field=sf_field
                )
            else:
                flags.resolve("invalid_email", entity_id=volunteer.id, field=sf_field, note=note)
        for sf_field, value in (("FirstName", record.first_name), ("LastName", record.last_name)):
            if _all_caps(value):
                flags.raise_flag(
                    "all_caps_name", entity_id=volunteer.id, salesforce_id=record.id, field=sf_field
                )
            else:
                flags.resolve("all_caps_name", entity_id=volunteer.id, field=sf_field, note=note)


CONTACTS = SfObject(
    "Contact:volunteer",
    "Contact",
    "Contact_Type__c = 'Volunteer' OR Contact_Type__c = '' OR Contact_Type__c = null",
    CONTACT_VOLUNTEER_FIELDS,
    SalesforceContactVolunteer,
    _Writer,
    label="contacts",
)


async def _volunteers_follow_contacts(session: AsyncSession) -> None:
    """A volunteer is deleted when all of its contacts are (after the full snapshot)."""
    live_contact = exists(
        select(VolunteerSfContact.id).where(
            VolunteerSfContact.volunteer_id == Volunteer.id, VolunteerSfContact.is_deleted.is_(False)
        )
    )
    any_contact = exists(select(VolunteerSfContact.id).where(VolunteerSfContact.volunteer_id == Volunteer.id))
    await session.execute(
        update(Volunteer)
        .where(and_(Volunteer.is_deleted.is_(False), any_contact, ~live_contact))
        .values(
            is_deleted=True,
            deleted_in_source_at=utcnow(),
            deleted_in_source_reason="absent_from_full_snapshot",
        )
        .execution_options(synchronize_session=False)
    )


async def run(ctx: RunContext) -> None:
    await run_import(
        ctx,
        KIND,
        [CONTACTS],
        after_object=snapshot_step(VolunteerSfContact, "Contact", after=_volunteers_follow_contacts),
    )
