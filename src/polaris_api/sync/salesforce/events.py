"""Kind ``salesforce-events``: every non-draft session for reporting (02 SF-32).

Filter ``Session_Status__c != 'Draft' AND Session_Type__c != 'Connector Session'``, key
``event.salesforce_id`` — the same row the hourly publishing sync (SF-40) writes. New rows get
``source='salesforce'``. Publishing-owned fields (display_on_website, publish_status,
archived_reason, publishing_first_seen_at, note, district links), Polaris-owned and
Pathful-owned fields are never written; ``cancellation_reason`` / ``cancellation_notes`` are only
initialised while null (VOC-16). ``School__c`` and ``District__c`` (else ``Parent_Account__c``
when that is a district) are optional references (SF-17). Skill links are the union of the three
skill fields; the import replaces only links with ``source='salesforce'``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.events import Event, EventSkill
from polaris_api.models.reference import District, School, Skill, normalize_name
from polaris_api.schemas.salesforce import SESSION_EVENT_FIELDS, SalesforceSessionEvent
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import FlagBook, chunks, one_of
from polaris_api.sync.salesforce.engine import (
    BatchWriter,
    RawScreen,
    SfObject,
    StoredRef,
    assign,
    blank,
    is_stale,
    load_by_sf_id,
    raw_id,
    restore,
    run_import,
    settle_deleted_or_rejected,
    snapshot_step,
)

__all__ = ["KIND", "SESSIONS", "run"]

KIND = "salesforce-events"
FLAG_CODES = (
    "unknown_picklist_value",
    "invalid_registration_link",
    "missing_start_date",
    "unresolved_reference",
)
PICKLIST_FIELDS = ("Session_Type__c", "Session_Status__c", "Format__c")


class _Writer(RawScreen, BatchWriter):
    """Issue 13 item 5, the raw fast path (:class:`RawScreen`): a record is set aside when it is
    the one this import last wrote (``events_import_sf_modstamp``) and what the full path derives
    would not change: the school and district it resolves to now, VOC-16 (a cancellation reason
    is initialised only while Polaris' is null) and the ``source='salesforce'`` skill links."""

    table = Event
    stamp_column = "events_import_sf_modstamp"

    def __init__(self, session: AsyncSession, ctx: RunContext, obj: SfObject) -> None:
        super().__init__(session, ctx, obj)
        self.skill_keys: dict[int, list[tuple[str, str]]] = {}  # event id → (skill key, source)
        self.rows: dict[str, Event] = {}
        self.schools: dict[str, int] = {}
        self.districts: dict[str, str] = {}  # SF id → name
        self.skills: dict[str, Skill] = {}
        self.skill_links: dict[int, list[EventSkill]] = {}
        self.flags = FlagBook(
            session, run_id=ctx.run_id, entity_type="event", sf_object="Session__c", codes=FLAG_CODES
        )

    def raw_parent_columns(self) -> tuple[str, ...]:
        return (
            "school_id",
            "school_salesforce_id",
            "district_salesforce_id",
            "district_partner",
            "cancellation_reason",
        )

    def stored_refs(self) -> list[StoredRef]:
        return [
            StoredRef("school_now", School, Event.school_salesforce_id),
            StoredRef("district_now", District, Event.district_salesforce_id, value="name"),
        ]

    async def load_for_refs_hold(self, rows: Sequence[Any]) -> None:
        for chunk in chunks(sorted(row.id for row in rows)):
            links = await self.session.execute(
                select(EventSkill.event_id, Skill.name_normalized, EventSkill.source)
                .join(Skill, Skill.id == EventSkill.skill_id)
                .where(one_of(self.session, EventSkill.event_id, chunk))
            )
            for event_id, key, source in links:
                self.skill_keys.setdefault(event_id, []).append((key, source))

    def refs_hold(self, raw: Mapping[str, Any], row: Any) -> bool:
        school, district = raw_id(raw, "School__c"), raw_id(raw, "District__c")
        parent = raw_id(raw, "Parent_Account__c")
        if school != row.school_salesforce_id or row.school_id != row.school_now:
            return False
        if district is None and parent is not None:
            # the parent account counts when it is a live district: known here only when it is
            # the row's district and still live; otherwise the full path looks it up
            if parent != row.district_salesforce_id or row.district_now is None:
                return False
        elif district != row.district_salesforce_id:
            return False
        if row.district_partner != row.district_now:
            return False
        if row.cancellation_reason is None and not blank(raw.get("Cancellation_Reason__c")):
            return False  # VOC-16 would initialise it
        return self._skills_hold(raw, row.id)

    def _skills_hold(self, raw: Mapping[str, Any], event_id: int) -> bool:
        """The links :meth:`_link_skills` would leave: every wanted skill linked (any source) and
        no ``source='salesforce'`` link to a skill not wanted."""
        try:
            wanted = {normalize_name(name) for name in SalesforceSessionEvent.raw_skill_names(raw)}
        except (TypeError, ValueError):  # not readable: the full path rejects the record
            return False
        links = self.skill_keys.get(event_id, [])
        linked = {key for key, _ in links}
        return wanted <= linked and all(key in wanted for key, source in links if source == "salesforce")

    async def prepare(self, records: Sequence[SalesforceSessionEvent]) -> None:
        session = self.session
        self.rows = await load_by_sf_id(session, Event, [r.id for r in records if r.id])
        schools = sorted({r.school_id for r in records if r.school_id})
        for school_chunk in chunks(schools):
            found_schools = await session.execute(
                select(School.salesforce_id, School.id).where(
                    School.salesforce_id.in_(school_chunk), School.is_deleted.is_(False)
                )
            )
            self.schools.update((sf_id, school_id) for sf_id, school_id in found_schools.all() if sf_id)
        accounts = sorted({a for r in records for a in (r.district_id, r.parent_account_id) if a})
        for account_chunk in chunks(accounts):
            found_districts = await session.execute(
                select(District.salesforce_id, District.name).where(
                    District.salesforce_id.in_(account_chunk), District.is_deleted.is_(False)
                )
            )
            self.districts.update((sf_id, name) for sf_id, name in found_districts.all() if sf_id)
        event_ids = [row.id for row in self.rows.values()]
        for id_chunk in chunks(event_ids):
            for link in (
                await session.execute(select(EventSkill).where(EventSkill.event_id.in_(id_chunk)))
            ).scalars():
                self.skill_links.setdefault(link.event_id, []).append(link)
        names = sorted({name for r in records for n in r.skill_names() if (name := normalize_name(n))})
        for name_chunk in chunks(names):
            for skill in (
                await session.execute(select(Skill).where(Skill.name_normalized.in_(name_chunk)))
            ).scalars():
                self.skills[skill.name_normalized] = skill
        await self.flags.load(event_ids)

    async def apply(self, index: int, record: SalesforceSessionEvent) -> None:
        ctx = self.ctx
        row = self.rows.get(record.id or "")
        if settle_deleted_or_rejected(ctx, self.obj, index, record, row):
            return
        values = record.event_values(ctx.settings.tz)
        values["school_id"] = self.schools.get(record.school_id) if record.school_id else None
        district_sf = record.district_id
        if district_sf is None and record.parent_account_id in self.districts:
            district_sf = record.parent_account_id
        values["district_salesforce_id"] = district_sf
        values["district_partner"] = self.districts.get(district_sf) if district_sf else None
        created = False
        if row is None:
            row = Event(salesforce_id=record.id, source="salesforce", is_deleted=False, **values)
            row.sf_modstamp = row.events_import_sf_modstamp = record.system_modstamp
            row.sf_last_seen_run_id = ctx.run_id
            self._init_cancellation(row, record)
            self.session.add(row)
            self.rows[record.id or ""] = row
            created = True
            changed = True
        else:
            self.see(row)
            if is_stale(row, record):
                ctx.count("unchanged")
                return
            changed = assign(row, values)
            changed |= self._init_cancellation(row, record)
            row.sf_modstamp = row.events_import_sf_modstamp = record.system_modstamp
            if restore(row):
                changed = True
                ctx.count("restored")
        wanted = self._wanted_skills(record)

        async def with_ids() -> None:
            skills_changed = await self._link_skills(row, wanted)
            self._flags(row, record, values)
            if created:
                ctx.count("created")
            else:
                ctx.count("updated" if changed or skills_changed else "unchanged")

        self.after_flush(with_ids)

    @staticmethod
    def _init_cancellation(row: Event, record: SalesforceSessionEvent) -> bool:
        """VOC-16: SF only initialises Polaris' cancellation_reason while it is null; True when
        it did."""
        if row.cancellation_reason is not None or record.cancellation_reason is None:
            return False
        mapped = record.cancellation()
        row.cancellation_reason = str(mapped.value or "other")
        if mapped.unknown and row.cancellation_notes is None:
            row.cancellation_notes = record.cancellation_reason
        return True

    def _wanted_skills(self, record: SalesforceSessionEvent) -> list[Skill]:
        """The record's skills; a new name becomes a ``skill`` row in the batch's flush."""
        wanted: dict[str, Skill] = {}
        for name in record.skill_names():
            key = normalize_name(name) or ""
            if key not in self.skills:
                skill = Skill(name=name, name_normalized=key)
                self.session.add(skill)
                self.skills[key] = skill
            wanted[key] = self.skills[key]
        return list(wanted.values())

    async def _link_skills(self, row: Event, wanted: Sequence[Skill]) -> bool:
        """SF-32: replace the event's ``source='salesforce'`` skill links (ids known by now)."""
        wanted_ids = {skill.id for skill in wanted}
        links = self.skill_links.setdefault(row.id, [])
        have = {link.skill_id: link for link in links}
        changed = False
        for skill_id, link in have.items():
            if link.source == "salesforce" and skill_id not in wanted_ids:
                links.remove(link)
                await self.session.delete(link)
                changed = True
        for skill_id in wanted_ids - set(have):
            link = EventSkill(event_id=row.id, skill_id=skill_id, source="salesforce")
            self.session.add(link)
            links.append(link)
            changed = True
        return changed

    def _flags(self, row: Event, record: SalesforceSessionEvent, values: dict[str, Any]) -> None:
        flags, note = self.flags, f"run {self.ctx.run_id}"
        unknown = {sf_field: (vocabulary, raw) for sf_field, vocabulary, raw in record.unknown_picklists()}
        for sf_field in PICKLIST_FIELDS:
            if sf_field in unknown:
                vocabulary, raw = unknown[sf_field]
                flags.raise_flag(
                    "unknown_picklist_value",
                    entity_id=row.id,
                    salesforce_id=record.id,
                    field=sf_field,
                    vocabulary=vocabulary,
                    raw_value=raw,
                    details={"sf_object": "Session__c", "salesforce_id": record.id, "sf_field": sf_field},
                )
            else:
                flags.resolve("unknown_picklist_value", entity_id=row.id, field=sf_field, note=note)
        if record.registration_link.invalid:
            flags.raise_flag(
                "invalid_registration_link",
                entity_id=row.id,
                salesforce_id=record.id,
                field="Registration_Link__c",
            )
        else:
            flags.resolve(
                "invalid_registration_link", entity_id=row.id, field="Registration_Link__c", note=note
            )
        if values["start_day"] is None:
            flags.raise_flag(
                "missing_start_date", entity_id=row.id, salesforce_id=record.id, field="Start_Date__c"
            )
        else:
            flags.resolve("missing_start_date", entity_id=row.id, field="Start_Date__c", note=note)
        for sf_field, ref, resolved in (
            ("School__c", record.school_id, values["school_id"]),
            ("District__c", record.district_id, values["district_partner"]),
        ):
            if ref and resolved is None:
                flags.raise_flag(
                    "unresolved_reference",
                    entity_id=row.id,
                    salesforce_id=record.id,
                    field=sf_field,
                    raw_value=ref,
                    details={"sf_object": "Session__c", "sf_field": sf_field, "salesforce_id": ref},
                )
            else:
                flags.resolve("unresolved_reference", entity_id=row.id, field=sf_field, note=note)


SESSIONS = SfObject(
    "Session__c",
    "Session__c",
    "Session_Status__c != 'Draft' AND Session_Type__c != 'Connector Session'",
    SESSION_EVENT_FIELDS,
    SalesforceSessionEvent,
    _Writer,
    label="sessions",
)


async def resolve_links(ctx: RunContext) -> None:
    """SF-17: fill ``school_id`` and ``district_partner`` once the school / district exists."""
    school = (
        select(School.id)
        .where(School.salesforce_id == Event.school_salesforce_id, School.is_deleted.is_(False))
        .correlate(Event)
    )
    district = (
        select(District.name)
        .where(District.salesforce_id == Event.district_salesforce_id, District.is_deleted.is_(False))
        .correlate(Event)
    )
    resolved = 0
    async with ctx.sessionmaker() as session:
        for column, lookup, sf_column, sf_field in (
            (Event.school_id, school, Event.school_salesforce_id, "School__c"),
            (Event.district_partner, district, Event.district_salesforce_id, "District__c"),
        ):
            waiting = (
                (
                    await session.execute(
                        select(Event.id).where(
                            Event.salesforce_id.is_not(None),
                            column.is_(None),
                            sf_column.is_not(None),
                            exists(lookup),
                        )
                    )
                )
                .scalars()
                .all()
            )
            for chunk in chunks(list(waiting)):
                await session.execute(
                    update(Event)
                    .where(Event.id.in_(chunk))
                    .values({column.key: lookup.scalar_subquery()})
                    .execution_options(synchronize_session=False)
                )
            flags = FlagBook(
                session,
                run_id=ctx.run_id,
                entity_type="event",
                sf_object="Session__c",
                codes=("unresolved_reference",),
            )
            await flags.load(waiting)
            for event_id in waiting:
                flags.resolve(
                    "unresolved_reference",
                    entity_id=event_id,
                    field=sf_field,
                    note=f"linked by run {ctx.run_id}",
                )
            resolved += len(waiting)
        await session.commit()
    ctx.count("links_resolved", resolved)


async def run(ctx: RunContext) -> None:
    await run_import(
        ctx, KIND, [SESSIONS], after_object=snapshot_step(Event, "Session__c"), at_end=[resolve_links]
    )
