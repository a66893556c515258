"""What the two participation imports share (02 SF-33, SF-34): loading a batch's rows by
``salesforce_id`` and by (event, participant) pair, the required parents, the key (``salesforce_id``,
else the pair), adopting a pair row without SF id, the merge of a second Salesforce record for the
same pair, and the status / delivery-hours flags. The two writers differ only in the participant
(table, person column, how a Contact__c becomes a person id) and in extra flags."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.models.events import Event
from polaris_api.schemas.salesforce import hours
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import FlagBook, chunks, pair_of
from polaris_api.sync.salesforce.engine import (
    BatchWriter,
    NewRow,
    RawScreen,
    SfObject,
    StoredRef,
    assign,
    is_stale,
    load_by_sf_id,
    load_ids_by_sf_id,
    raw_id,
    require_parents,
    restore,
    settle_deleted_or_rejected,
    unchanged_ids,
    write_new_and_seen,
)
from polaris_api.vocabularies import participation_rank

__all__ = ["ParticipationWriter"]


class ParticipationWriter(RawScreen, BatchWriter):
    """A writer keyed by ``salesforce_id`` and by its (event, participant) pair.

    Subclasses set the class attributes, create ``flags`` and implement :meth:`people_of` (the
    person id of each Contact__c of the batch); :meth:`prepare` and :meth:`apply` do the rest."""

    vocabulary: ClassVar[str]  # the status vocabulary that ranks statuses (VOC-13 / VOC-14)
    table: ClassVar[Any]  # the participation model
    person_column: ClassVar[str]  # "volunteer_id" / "student_id"
    unknown_person: ClassVar[str]  # the pending reason of a missing person (SF-18)
    pair_filter: ClassVar[tuple[ColumnElement[bool], ...]] = ()  # e.g. the participant type
    new_row_fields: ClassVar[dict[str, Any]] = {}  # fixed fields of a created row
    rows: dict[str, Any]
    by_pair: dict[tuple[int, int], Any]
    people: dict[str, int]
    events: dict[str, int]
    flags: FlagBook
    unchanged: dict[str, int]  # salesforce_id → row id of records that change nothing
    seen: list[int]  # row ids to mark seen in finish()

    def __init__(self, session: AsyncSession, ctx: RunContext, obj: SfObject) -> None:
        super().__init__(session, ctx, obj)
        self.unchanged = {}
        self.seen = []
        self.new_rows: list[NewRow] = []  # rows to insert in finish()

    async def people_of(self, contact_ids: Sequence[str]) -> dict[str, int]:
        raise NotImplementedError

    async def prepare(self, records: Sequence[Any]) -> None:
        """Existing rows are read as Core tuples; a record :meth:`screen` did not set aside that
        would change nothing is only marked seen (one ``UPDATE`` per batch in :meth:`finish`); ORM objects are loaded for the
        rows that are written and the pairs of those records only (issue 13 item 5)."""
        session = self.session
        current = await self.current_rows([r.id for r in records if r.id])
        self.people = await self.people_of(sorted({r.contact_id for r in records if r.contact_id}))
        self.events = await load_ids_by_sf_id(session, Event, [r.session_id for r in records if r.session_id])
        self.unchanged = unchanged_ids(current, records, self.record_values)
        records = [r for r in records if r.id not in self.unchanged]
        written = [sf_id for sf_id in current if sf_id not in self.unchanged]
        self.rows = await load_by_sf_id(session, self.table, written) if written else {}
        pairs = sorted(
            {
                (self.events[r.session_id], self.people[r.contact_id])
                for r in records
                if r.session_id in self.events and r.contact_id in self.people
            }
        )
        person = getattr(self.table, self.person_column)
        for chunk in chunks(pairs):
            result = await session.execute(
                select(self.table).where(
                    *self.pair_filter, pair_of(session, self.table.event_id, person, chunk)
                )
            )
            for row in result.scalars():
                self.by_pair[(row.event_id, getattr(row, self.person_column))] = row
        for row in self.rows.values():
            self.by_pair.setdefault((row.event_id, getattr(row, self.person_column)), row)
        await self.flags.load({row.id for row in [*self.rows.values(), *self.by_pair.values()]})

    async def load_raw_parents(self, raws: Sequence[Mapping[str, Any]]) -> None:
        contacts = sorted({i for raw in raws if (i := raw_id(raw, "Contact__c"))})
        self.people = await self.people_of(contacts)
        sessions = [i for raw in raws if (i := raw_id(raw, "Session__c"))]
        self.events = await load_ids_by_sf_id(self.session, Event, sessions)

    person_table: ClassVar[Any] = None  # the person table when its salesforce_id is the Contact__c

    def raw_parent_columns(self) -> tuple[str, ...]:
        return ("event_id", self.person_column)

    def stored_refs(self) -> list[StoredRef]:
        """The Salesforce ids of the row's live event and person (issue 13 item 5): a raw record
        whose Session__c and Contact__c are those resolves to the row's own parents."""
        if self.person_table is None:
            return []
        person = self.person_table
        return [
            StoredRef("event_sf_now", Event, self.table.event_id, key="id", value="salesforce_id"),
            StoredRef(
                "person_sf_now",
                person,
                getattr(self.table, self.person_column),
                key="id",
                value="salesforce_id",
            ),
        ]

    def refs_hold(self, raw: Mapping[str, Any], row: Any) -> bool:
        session_id, contact_id = raw_id(raw, "Session__c"), raw_id(raw, "Contact__c")
        return (
            session_id is not None
            and contact_id is not None
            and session_id == row.event_sf_now
            and contact_id == row.person_sf_now
        )

    def raw_parents(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The event and the person a raw record resolves to now (issue 13 item 5)."""
        return {
            "event_id": self.events.get(raw_id(raw, "Session__c") or ""),
            self.person_column: self.people.get(raw_id(raw, "Contact__c") or ""),
        }

    def record_values(self, record: Any) -> dict[str, Any]:
        """The record's columns with its required parents (raises :class:`MissingParent`)."""
        person_id = self.people.get(record.contact_id or "")
        event_id = self.events.get(record.session_id or "")
        require_parents(
            (person_id, self.unknown_person, "Contact__c", record.contact_id),
            (event_id, "unknown_event", "Session__c", record.session_id),
        )
        return {**record.values(), "event_id": event_id, self.person_column: person_id}

    async def finish(self) -> None:
        await write_new_and_seen(self)
        await super().finish()

    async def apply(self, index: int, record: Any) -> None:
        ctx = self.ctx
        unchanged = self.unchanged.get(record.id or "")
        if unchanged is not None:
            self.seen.append(unchanged)
            ctx.count("unchanged")
            return
        if settle_deleted_or_rejected(ctx, self.obj, index, record, self.rows.get(record.id or "")):
            return
        values = self.record_values(record)
        event_id, person_id = values["event_id"], values[self.person_column]
        written = self.upsert(
            record,
            values,
            (event_id, person_id),
            lambda: NewRow(
                salesforce_id=record.id,
                is_deleted=False,
                sf_modstamp=record.system_modstamp,
                sf_last_seen_run_id=ctx.run_id,
                **self.new_row_fields,
                **values,
            ),
        )
        if written is not None:
            self.after_flush(lambda: self.raise_flags(written, record))

    def raise_flags(self, row: Any, record: Any) -> None:
        """Open or close the row's ``unknown_picklist_value`` (Status__c) and ``invalid_number``
        (Delivery_Hours__c) flags; subclasses add their own."""
        note = f"run {self.ctx.run_id}"
        if record.status.unknown:
            self.flags.raise_flag(
                "unknown_picklist_value",
                entity_id=row.id,
                salesforce_id=record.id,
                field="Status__c",
                vocabulary=self.vocabulary,
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

    def upsert(
        self, record: Any, values: dict[str, Any], pair: tuple[int, int], new_row: Callable[[], Any]
    ) -> Any | None:
        """Write ``record`` to its row: by ``salesforce_id``, else the pair's row without SF id
        (adopted), else a merge into the pair's other SF row, else ``new_row()``. Returns the row
        whose flags are due, or None (merged, or an older read: SF-10)."""
        ctx = self.ctx
        row = self.rows.get(record.id or "")
        if row is None:
            pair_row = self.by_pair.get(pair)
            if pair_row is not None and pair_row.salesforce_id is None:  # e.g. a website signup
                pair_row.salesforce_id = record.id
                row = pair_row
                ctx.count("adopted")
            elif pair_row is not None:
                self.merge_duplicate(pair_row, record, values)
                return None
        if row is None:
            row = new_row()
            self.new_rows.append(row)
            ctx.count("created")
        else:
            row.sf_last_seen_run_id = ctx.run_id
            if is_stale(row, record):
                ctx.count("unchanged")
                return None
            changed = assign(row, values)
            row.sf_modstamp = record.system_modstamp
            if restore(row):
                changed = True
                ctx.count("restored")
            ctx.count("updated" if changed else "unchanged")
        self.rows[record.id or ""] = row
        self.by_pair[pair] = row
        return row

    def merge_duplicate(self, row: Any, record: Any, values: dict[str, Any]) -> None:
        """VOC-13/VOC-14: the record with the higher-ranked status wins the row and keeps its
        ``salesforce_id``; flag ``duplicate_participation`` either way."""
        ctx = self.ctx
        row.sf_last_seen_run_id = ctx.run_id
        ids = sorted({row.salesforce_id or "", record.id or ""})
        if participation_rank(self.vocabulary, values["status"]) > participation_rank(
            self.vocabulary, row.status
        ):
            assign(row, values)
            row.salesforce_id = record.id
            row.sf_modstamp = record.system_modstamp
            restore(row)
            self.rows[record.id or ""] = row
            ctx.count("updated")
        else:
            ctx.count("unchanged")
        ctx.count("merged")
        kept = row.salesforce_id
        self.after_flush(
            lambda: self.flags.raise_flag(
                "duplicate_participation",
                entity_id=row.id,
                salesforce_id=kept,
                field="",
                details={"salesforce_ids": ids, "kept": kept},
            )
        )
