"""Kind ``salesforce-history``: Task and EmailMessage → ``communication`` (02 SF-35, SF-36).

Task (``WhoId != null``, watermark ``Task``) then EmailMessage (no filter, watermark
``EmailMessage``), each with its own watermark. One row per SF activity id: the Task Id, or for
an EmailMessage its ``ActivityId``, else its own Id — a logged email and its Task are one row and
the EmailMessage's values win (its Id is kept in ``email_message_salesforce_id``). Only the
subject and a ≤ 500-character plain-text snippet are stored.

Association (SF-36), first hit wins: the SF contact id (WhoId, then a RelatedToId starting
``003``) through ``volunteer_sf_contact`` (or ``teacher.salesforce_id``); else the first
candidate address (Who.Email; To then Cc for outbound mail; From for inbound) owned by exactly
one live volunteer; else ``unmatched`` (``no_contact_match`` / ``ambiguous_email``). Unmatched
rows are retried at the end of every run; manual matches never change.
``volunteer.last_contacted_at`` = the volunteer's latest email ``occurred_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.comms import Communication
from polaris_api.models.people import Teacher, Volunteer, VolunteerEmail, VolunteerSfContact
from polaris_api.schemas.salesforce import (
    EMAIL_MESSAGE_FIELDS,
    TASK_FIELDS,
    SalesforceEmailMessage,
    SalesforceTask,
)
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import chunks, one_of
from polaris_api.sync.salesforce.engine import (
    BatchWriter,
    SfObject,
    StoredRef,
    assign,
    is_stale,
    load_current,
    restore,
    run_import,
    same_stamp_candidates,
    soft_delete,
)

__all__ = ["KIND", "refresh_last_contacted", "run"]

KIND = "salesforce-history"
# fields an EmailMessage provides: a Task never overwrites them once the email is known
_EMAIL_OWNED = {
    "kind",
    "direction",
    "subject",
    "snippet",
    "occurred_at",
    "occurred_on",
    "related_to_salesforce_id",
    "sf_status",
}


_MATCH_COLUMNS = ("volunteer_id", "teacher_id", "match_status", "match_method", "unmatched_reason")


def _candidates(row: Any) -> list[str]:
    out: list[str] = []
    if row.who_email:
        out.append(row.who_email)
    if row.direction == "inbound":
        if row.from_address:
            out.append(row.from_address)
    elif row.direction == "outbound":
        out.extend([*(row.to_addresses or []), *(row.cc_addresses or [])])
    return list(dict.fromkeys(out))


def _contact_ids(row: Any) -> list[str]:
    ids = []
    if row.who_salesforce_id:
        ids.append(row.who_salesforce_id)
    if row.related_to_salesforce_id and row.related_to_salesforce_id.startswith("003"):
        ids.append(row.related_to_salesforce_id)
    return ids


class Associator:
    """SF-36 matching for a set of rows with chunked preloads (no query per row)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.contacts: dict[str, int] = {}
        self.teachers: dict[str, int] = {}
        self.owners: dict[str, set[int]] = {}
        self.looked_up: set[str] = set()  # contact ids already queried, found or not

    async def load(self, rows: Iterable[Any]) -> None:
        rows = list(rows)
        ids = sorted({i for row in rows for i in _contact_ids(row)} - self.looked_up)
        self.looked_up.update(ids)
        for chunk in chunks(ids):
            result = await self.session.execute(
                select(VolunteerSfContact.salesforce_id, VolunteerSfContact.volunteer_id)
                .join(Volunteer, Volunteer.id == VolunteerSfContact.volunteer_id)
                .where(
                    one_of(self.session, VolunteerSfContact.salesforce_id, chunk),
                    Volunteer.is_deleted.is_(False),
                )
            )
            self.contacts.update(dict(result.all()))
            result = await self.session.execute(
                # a merged duplicate's contact is the survivor's (merges leave no chains)
                select(Teacher.salesforce_id, func.coalesce(Teacher.merged_into_id, Teacher.id)).where(
                    one_of(self.session, Teacher.salesforce_id, chunk), Teacher.is_deleted.is_(False)
                )
            )
            self.teachers.update(dict(result.all()))
        emails = sorted({e for row in rows for e in _candidates(row)} - set(self.owners))
        for chunk in chunks(emails):
            for email in chunk:
                self.owners.setdefault(email, set())
            result = await self.session.execute(
                select(Volunteer.email_normalized, Volunteer.id).where(
                    one_of(self.session, Volunteer.email_normalized, chunk), Volunteer.is_deleted.is_(False)
                )
            )
            for email, volunteer_id in result.all():
                self.owners[email].add(volunteer_id)
            result = await self.session.execute(
                select(VolunteerEmail.email_normalized, VolunteerEmail.volunteer_id)
                .join(Volunteer, Volunteer.id == VolunteerEmail.volunteer_id)
                .where(
                    one_of(self.session, VolunteerEmail.email_normalized, chunk),
                    Volunteer.is_deleted.is_(False),
                )
            )
            for email, volunteer_id in result.all():
                self.owners[email].add(volunteer_id)

    def associate(self, row: Communication) -> tuple[set[int], bool]:
        """Sets the association columns (unless manual); returns the volunteer ids touched and
        whether the association changed."""
        if row.match_method == "manual":
            return set(), False
        before = row.volunteer_id
        changed = assign(row, self.match(row))
        return {v for v in (before, row.volunteer_id) if v is not None}, changed

    def match(self, row: Any) -> dict[str, Any]:
        """The association columns SF-36 gives ``row`` now (an ORM row or a Core tuple)."""
        values: dict[str, Any] = {
            "volunteer_id": None,
            "teacher_id": None,
            "match_status": "unmatched",
            "match_method": None,
            "unmatched_reason": "no_contact_match",
        }
        for sf_id in _contact_ids(row):
            if sf_id in self.contacts:
                values.update(
                    volunteer_id=self.contacts[sf_id],
                    match_status="matched_volunteer",
                    match_method="sf_contact_id",
                    unmatched_reason=None,
                )
                break
            if sf_id in self.teachers:
                values.update(
                    teacher_id=self.teachers[sf_id],
                    match_status="matched_teacher",
                    match_method="sf_contact_id",
                    unmatched_reason=None,
                )
                break
        else:
            ambiguous = False
            for email in _candidates(row):
                owners = self.owners.get(email, set())
                if len(owners) == 1:
                    values.update(
                        volunteer_id=next(iter(owners)),
                        match_status="matched_volunteer",
                        match_method="email",
                        unmatched_reason=None,
                    )
                    break
                ambiguous |= len(owners) > 1
            else:
                if ambiguous:
                    values["unmatched_reason"] = "ambiguous_email"
        return values


class _State:
    def __init__(self) -> None:
        self.touched: set[int] = set()


_SCREEN_COLUMNS = (
    "id",
    "salesforce_activity_id",
    "email_message_salesforce_id",
    "sf_modstamp",
    "task_sf_modstamp",
    "is_deleted",
    "who_salesforce_id",
    "who_email",
    "related_to_salesforce_id",
    "direction",
    "from_address",
    "to_addresses",
    "cc_addresses",
    *_MATCH_COLUMNS,
)


def _who_refs() -> list[StoredRef]:
    """SF-36's first hit for a row with a WhoId: the live volunteer its contact id links to,
    joined to the rows the screen loads (``who_volunteer``; NULL when there is none)."""
    link = StoredRef("who_link", VolunteerSfContact, Communication.who_salesforce_id, value="volunteer_id")
    return [link, StoredRef("who_volunteer", Volunteer, link.target.volunteer_id, key="id")]


_WHO_REFS = _who_refs()


def _holds_by_who(row: Any) -> bool:
    """True when the row is matched to the live volunteer its WhoId links to: SF-36 checks the
    WhoId first, so nothing else can change the match (no other lookup is needed)."""
    return row.who_volunteer is not None and (
        row.volunteer_id,
        row.teacher_id,
        row.match_status,
        row.match_method,
        row.unmatched_reason,
    ) == (row.who_volunteer, None, "matched_volunteer", "sf_contact_id", None)


class _Writer(BatchWriter):
    model: type[SalesforceTask] | type[SalesforceEmailMessage]
    email_message = False

    def __init__(self, session: AsyncSession, ctx: RunContext, obj: SfObject, state: _State) -> None:
        super().__init__(session, ctx, obj)
        self.state = state
        self.by_activity: dict[str, Communication] = {}
        self.by_message: dict[str, Communication] = {}
        self.associator = Associator(session)

    async def screen(
        self, batch: Sequence[tuple[int, dict[str, Any]]]
    ) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, dt.datetime], list[int]]:
        """Issue 13 item 5, the fast path of :class:`~polaris_api.sync.salesforce.engine.RawScreen`
        for activities: a record is set aside (nothing written) when its live row carries its
        SystemModstamp (for a Task, ``task_sf_modstamp``: the stamp of the Task last written
        to the row, which an EmailMessage may share) and the SF-36
        association the full path would make now is the row's (a manual match never changes)."""
        session, tz = self.session, self.ctx.settings.tz
        column = (
            Communication.email_message_salesforce_id
            if self.email_message
            else Communication.salesforce_activity_id
        )
        ids = [sf_id for _, raw in batch if isinstance(sf_id := raw.get("Id"), str)]
        rows = await load_current(
            session, Communication, ids, column=column, names=_SCREEN_COLUMNS, refs=_WHO_REFS
        )
        # an EmailMessage is compared with the row's stamp, a Task with its own (the row's is the
        # email's once there is one)
        stamp = "sf_modstamp" if self.email_message else "task_sf_modstamp"
        candidates = [
            (index, row)
            for index, _, row in same_stamp_candidates(batch, rows, self.obj.model.required, tz, stamp)
        ]
        if not candidates:
            return list(batch), {}, []
        held = {index for index, row in candidates if row.match_method == "manual" or _holds_by_who(row)}
        await self.associator.load([row for index, row in candidates if index not in held])
        skipped = {
            index: row
            for index, row in candidates
            if index in held
            or self.associator.match(row) == {name: getattr(row, name) for name in _MATCH_COLUMNS}
        }
        rest = [(index, raw) for index, raw in batch if index not in skipped]
        key = "email_message_salesforce_id" if self.email_message else "salesforce_activity_id"
        stamps = {getattr(row, key): row.sf_modstamp for row in skipped.values()}
        return rest, stamps, [row.id for row in skipped.values()]

    async def _load(self, activity_ids: Sequence[str], message_ids: Sequence[str]) -> None:
        for chunk in chunks(sorted(set(activity_ids))):
            result = await self.session.execute(
                select(Communication).where(one_of(self.session, Communication.salesforce_activity_id, chunk))
            )
            for row in result.scalars():
                self.by_activity[row.salesforce_activity_id] = row
        for chunk in chunks(sorted(set(message_ids))):
            result = await self.session.execute(
                select(Communication).where(
                    one_of(self.session, Communication.email_message_salesforce_id, chunk)
                )
            )
            for row in result.scalars():
                self.by_message[row.email_message_salesforce_id or ""] = row

    async def _write(self, key: str, record: Any, values: dict[str, Any], *, email_message: bool) -> None:
        ctx = self.ctx
        row = self.by_message.get(record.id) if email_message else None
        row = row or self.by_activity.get(key)
        if record.is_deleted:
            if row is None:
                ctx.count("skipped")
            elif soft_delete(row, ctx, record):
                ctx.count("deleted_in_source")
            else:
                ctx.count("unchanged")
            return
        created = False
        if row is None:
            row = Communication(
                salesforce_activity_id=key,
                is_deleted=False,
                match_status="unmatched",
                to_addresses=[],
                cc_addresses=[],
            )
            self.session.add(row)
            self.by_activity[key] = row
            created = True
        self.see(row)
        if email_message:
            values["email_message_salesforce_id"] = record.id
            self.by_message[record.id] = row
        else:
            # SF-10 for a Task: a row of its own keeps the newest stamp it was given (a deletion's
            # too); on a row shared with an email, the stamp of the Task last written counts
            shared = row.email_message_salesforce_id is not None
            if not created and is_stale(row, record, "task_sf_modstamp" if shared else "sf_modstamp"):
                ctx.count("unchanged")
                return
            row.task_sf_modstamp = record.system_modstamp
            if shared:
                values = {k: v for k, v in values.items() if k not in _EMAIL_OWNED}  # the email's win
        changed = assign(row, values)
        if created or not (not email_message and row.email_message_salesforce_id is not None):
            row.sf_modstamp = max(filter(None, (row.sf_modstamp, record.system_modstamp)), default=None)
        if restore(row):
            changed = True
            ctx.count("restored")
        await self.associator.load([row])
        touched, matched_anew = self.associator.associate(row)
        self.state.touched |= touched
        changed |= matched_anew
        if row.match_status == "unmatched":
            ctx.count("unmatched")
        ctx.count("created" if created else ("updated" if changed else "unchanged"))


class _TaskWriter(_Writer):
    async def prepare(self, records: Sequence[SalesforceTask]) -> None:
        await self._load([r.id for r in records if r.id], [])
        rows = [self._preview(r) for r in records]
        await self.associator.load(rows)

    def _preview(self, record: SalesforceTask) -> Communication:
        return Communication(
            who_salesforce_id=record.who_id,
            who_email=record.who_email,
            related_to_salesforce_id=record.what_id,
        )

    async def apply(self, index: int, record: SalesforceTask) -> None:
        await self._write(record.id or "", record, record.values(self.ctx.settings.tz), email_message=False)


class _EmailWriter(_Writer):
    email_message = True

    async def prepare(self, records: Sequence[SalesforceEmailMessage]) -> None:
        await self._load([r.activity_key for r in records if r.activity_key], [r.id for r in records if r.id])
        previews = []
        for record in records:
            values = record.values()
            previews.append(
                Communication(
                    direction=values["direction"],
                    from_address=values["from_address"],
                    to_addresses=values["to_addresses"],
                    cc_addresses=values["cc_addresses"],
                    related_to_salesforce_id=record.related_to_id,
                )
            )
        await self.associator.load([*previews, *self.by_activity.values()])

    async def apply(self, index: int, record: SalesforceEmailMessage) -> None:
        await self._write(
            record.activity_key or "", record, record.values(self.ctx.settings.tz), email_message=True
        )


async def retry_unmatched(ctx: RunContext, state: _State) -> None:
    """SF-36: unmatched rows are retried at the end of each run."""
    async with ctx.sessionmaker() as session:
        ids = (
            (
                await session.execute(
                    select(Communication.id).where(
                        Communication.match_status == "unmatched",
                        Communication.is_deleted.is_(False),
                        or_(Communication.match_method.is_(None), Communication.match_method != "manual"),
                    )
                )
            )
            .scalars()
            .all()
        )
    matched = 0
    unmatched = 0
    for chunk in chunks(list(ids)):
        async with ctx.sessionmaker() as session:
            rows = (
                (await session.execute(select(Communication).where(Communication.id.in_(chunk))))
                .scalars()
                .all()
            )
            associator = Associator(session)
            await associator.load(rows)
            for row in rows:
                state.touched |= associator.associate(row)[0]
                if row.match_status == "unmatched":
                    unmatched += 1
                else:
                    matched += 1
            await session.commit()
    ctx.counts["unmatched"] = unmatched  # rows still unmatched after the retry
    ctx.count("matched_on_retry", matched)


async def update_last_contacted(ctx: RunContext, state: _State) -> None:
    async with ctx.sessionmaker() as session:
        await refresh_last_contacted(session, state.touched)
        await session.commit()


async def refresh_last_contacted(session: AsyncSession, volunteer_ids: Iterable[int]) -> None:
    """``volunteer.last_contacted_at`` = latest ``occurred_at`` of the volunteer's email rows."""
    latest = (
        select(func.max(Communication.occurred_at))
        .where(
            Communication.volunteer_id == Volunteer.id,
            Communication.kind == "email",
            Communication.is_deleted.is_(False),
        )
        .correlate(Volunteer)
        .scalar_subquery()
    )
    for chunk in chunks(sorted(set(volunteer_ids))):
        await session.execute(
            update(Volunteer)
            .where(Volunteer.id.in_(chunk))
            .values(last_contacted_at=latest)
            .execution_options(synchronize_session=False)
        )


async def run(ctx: RunContext) -> None:
    state = _State()
    tasks = SfObject(
        "Task",
        "Task",
        "WhoId != null",
        TASK_FIELDS,
        SalesforceTask,
        lambda s, c, o: _TaskWriter(s, c, o, state),
        label="tasks",
    )
    messages = SfObject(
        "EmailMessage",
        "EmailMessage",
        None,
        EMAIL_MESSAGE_FIELDS,
        SalesforceEmailMessage,
        lambda s, c, o: _EmailWriter(s, c, o, state),
        label="email_messages",
    )
    ctx.counts.setdefault("unmatched", 0)

    async def retry(c: RunContext) -> None:
        await retry_unmatched(c, state)

    async def last_contacted(c: RunContext) -> None:
        await update_last_contacted(c, state)

    await run_import(ctx, KIND, [tasks, messages], at_end=[retry, last_contacted])
