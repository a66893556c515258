"""Merge a duplicate teacher into another (07 CAP "merge duplicate teachers", AUD-1; issue 11 item 12).

Typical case: the Salesforce teacher and the teacher a roster import created because the roster
spelled the email differently (04 RO-10). Everything that names the duplicate moves to the
survivor in the request's unit of work, without creating duplicates, and one audit entry
records it. ``dry_run`` computes the same plan and writes nothing.

The duplicate is **marked, never deleted**: ``merged_into_id`` = the survivor, ``is_active``
false, ``deactivation_source='merged'`` (all Polaris-owned, 02 SF-13). A Salesforce sync never
writes those fields, so it cannot bring the duplicate back; it keeps mirroring the duplicate's
own contact onto the marked row, and the readers follow ``merged_into_id`` to the survivor:
Pathful matching (``imports/pathful/lookups.Lookups.survivor``), unmatched-record resolution,
the roster's email lookup (the survivor gains the duplicate's addresses as email rows) and the
communication association (``sync/salesforce/history``). Earlier merges into the duplicate are
re-pointed at the survivor, so there are no chains.

Decisions where the spec is silent:

* A teacher linked to Salesforce is not merged into one that is not (409
  ``salesforce_teacher_must_survive``): merge the other way, so the survivor stays the row the
  Salesforce sync updates.
* A session linked to both keeps one link: the one not soft-deleted, then the one an admin
  annotated (``notes``, PF-15), then the higher VOC-15 merge precedence (attended > no_show >
  registered > cancelled), then confirmed attendance, then the survivor's.
* Roster records (``teacher_progress``) all move to the survivor. Where both teachers have one
  for the same district and academic year, the active one is kept (the survivor's when both
  are); the other, if active, is deactivated (``manual_admin``, reason ``data_entry_error``, so
  the roster import leaves it alone, RO-6) and its unused magic links are invalidated; its
  overrides move to the kept record unless that record already has an active override for the
  event, in which case the duplicate's is reversed (overrides are never deleted, TP-6).
* ``pathful_user_id`` moves when the survivor has none; otherwise the survivor keeps its own.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import NamedProblem, not_found
from polaris_api.models.app_setting import bump_reporting_data_version
from polaris_api.models.comms import Communication
from polaris_api.models.events import EventTeacher
from polaris_api.models.imports import PathfulUnmatchedRecord
from polaris_api.models.people import Teacher, TeacherEmail, TeacherPhone
from polaris_api.models.teachers import AttendanceOverride, DataIssue, MagicLink, TeacherProgress
from polaris_api.schemas.teacher_merge import EventLinkMove, OverrideMove, RosterRecordMove, TeacherMergeOut
from polaris_api.services import audit
from polaris_api.vocabularies import participation_rank

__all__ = [
    "REFERENCES",
    "MergeTargetDeleted",
    "SalesforceTeacherMustSurvive",
    "SameTeacher",
    "TeacherAlreadyMerged",
    "UnknownTeacher",
    "merge_teachers",
]

REFERENCES: dict[tuple[str, str], str] = {
    ("event_teacher", "teacher_id"): "moved; a session linked to both keeps one link",
    ("teacher_progress", "teacher_id"): "moved; one record per district and academic year stays active",
    ("communication", "teacher_id"): "moved",
    ("data_issue", "teacher_id"): "moved",
    ("pathful_unmatched_record", "resolved_teacher_id"): "moved",
    ("teacher_email", "teacher_id"): "copied to the survivor (source manual); the duplicate keeps its rows",
    ("teacher_phone", "teacher_id"): "copied to the survivor (source manual); the duplicate keeps its rows",
    ("teacher", "merged_into_id"): "earlier merges into the duplicate point at the survivor",
}
"""Every foreign key to ``teacher.id`` and what a merge does with it. A test compares this with
the metadata, so a new reference to teachers cannot be added without deciding its merge."""

DUPLICATE_RECORD_NOTE = "duplicate roster record of a merged teacher (teacher {dup} into {survivor})"


class SameTeacher(NamedProblem):
    status, code = 422, "same_teacher"
    default_detail = "A teacher cannot be merged into itself."


class UnknownTeacher(NamedProblem):
    """The body's ``into_teacher_id`` names no teacher."""

    status, code = 422, "unknown_teacher"
    default_detail = "into_teacher_id names no teacher."


class TeacherAlreadyMerged(NamedProblem):
    status, code = 409, "teacher_already_merged"


class MergeTargetDeleted(NamedProblem):
    status, code = 409, "merge_target_deleted"
    default_detail = "The surviving teacher was deleted in Salesforce; merge into a live teacher."


class SalesforceTeacherMustSurvive(NamedProblem):
    status, code = 409, "salesforce_teacher_must_survive"
    default_detail = (
        "The duplicate is linked to Salesforce and the survivor is not: merge the other way, so the "
        "Salesforce teacher survives."
    )


MERGE_PROBLEMS = (
    SameTeacher,
    UnknownTeacher,
    TeacherAlreadyMerged,
    MergeTargetDeleted,
    SalesforceTeacherMustSurvive,
)


@dataclass
class _Plan:
    dup: Teacher
    survivor: Teacher
    event_links: list[EventLinkMove] = field(default_factory=list)
    links_to_delete: list[EventTeacher] = field(default_factory=list)
    links_to_move: list[EventTeacher] = field(default_factory=list)
    roster: list[RosterRecordMove] = field(default_factory=list)
    records_to_move: list[TeacherProgress] = field(default_factory=list)
    records_to_deactivate: list[TeacherProgress] = field(default_factory=list)
    override_moves: list[tuple[AttendanceOverride, TeacherProgress | None]] = field(default_factory=list)
    overrides: list[OverrideMove] = field(default_factory=list)
    magic_links: list[MagicLink] = field(default_factory=list)
    emails: list[TeacherEmail] = field(default_factory=list)
    phones: list[TeacherPhone] = field(default_factory=list)
    pathful: str = "none"
    counts: dict[str, int] = field(default_factory=dict)
    merged_teachers: list[Teacher] = field(default_factory=list)


async def _teacher(session: AsyncSession, teacher_id: int) -> Teacher | None:
    statement = select(Teacher).where(Teacher.id == teacher_id).with_for_update()
    return (await session.execute(statement.execution_options(populate_existing=True))).scalar_one_or_none()


async def _check(session: AsyncSession, teacher_id: int, into_teacher_id: int) -> tuple[Teacher, Teacher]:
    if teacher_id == into_teacher_id:
        raise SameTeacher()
    # both rows locked (PostgreSQL) in id order, so two merges of the same pair cannot interleave
    first, second = sorted((teacher_id, into_teacher_id))
    rows = {first: await _teacher(session, first), second: await _teacher(session, second)}
    dup, survivor = rows[teacher_id], rows[into_teacher_id]
    if dup is None:
        raise not_found("teacher")
    if survivor is None:
        raise UnknownTeacher()
    for teacher in (dup, survivor):
        if teacher.merged_into_id is not None:
            raise TeacherAlreadyMerged(
                f"Teacher {teacher.id} was already merged into teacher {teacher.merged_into_id}.",
                teacher_id=teacher.id,
                merged_into_id=teacher.merged_into_id,
            )
    if survivor.is_deleted:
        raise MergeTargetDeleted()
    if dup.salesforce_id and not survivor.salesforce_id:
        raise SalesforceTeacherMustSurvive()
    return dup, survivor


def _link_rank(link: EventTeacher, is_survivor: bool) -> tuple[Any, ...]:
    return (
        not link.is_deleted,
        link.notes is not None,
        participation_rank("teacher_participation_status", link.status),
        link.attendance_confirmed_at is not None,
        is_survivor,
    )


async def _plan_links(session: AsyncSession, plan: _Plan) -> None:
    ids = (plan.dup.id, plan.survivor.id)
    links = (
        await session.execute(
            select(EventTeacher).where(EventTeacher.teacher_id.in_(ids)).order_by(EventTeacher.event_id)
        )
    ).scalars()
    by_event: dict[int, dict[int, EventTeacher]] = defaultdict(dict)
    for link in links:
        by_event[link.event_id][link.teacher_id] = link
    for event_id, pair in by_event.items():
        mine, theirs = pair.get(plan.dup.id), pair.get(plan.survivor.id)
        if mine is None:
            continue
        if theirs is None:
            plan.links_to_move.append(mine)
            plan.event_links.append(EventLinkMove(event_id=event_id, outcome="moved", status=mine.status))
        elif _link_rank(theirs, True) >= _link_rank(mine, False):
            plan.links_to_delete.append(mine)
            plan.event_links.append(
                EventLinkMove(
                    event_id=event_id,
                    outcome="kept_survivor",
                    status=theirs.status,
                    dropped_status=mine.status,
                )
            )
        else:
            plan.links_to_delete.append(theirs)
            plan.links_to_move.append(mine)
            plan.event_links.append(
                EventLinkMove(
                    event_id=event_id, outcome="kept_merged", status=mine.status, dropped_status=theirs.status
                )
            )


async def _plan_roster(session: AsyncSession, plan: _Plan) -> None:
    records = (
        await session.execute(
            select(TeacherProgress)
            .where(TeacherProgress.teacher_id.in_((plan.dup.id, plan.survivor.id)))
            .order_by(TeacherProgress.id)
        )
    ).scalars()
    groups: dict[tuple[int, str], list[TeacherProgress]] = defaultdict(list)
    for record in records:
        groups[(record.district_id, record.academic_year)].append(record)
    losers: dict[int, TeacherProgress] = {}  # duplicate record id -> the kept record
    for group in groups.values():
        if not any(r.teacher_id == plan.dup.id for r in group):
            continue
        plan.records_to_move.extend(r for r in group if r.teacher_id == plan.dup.id)
        if len(group) == 1:
            plan.roster.append(_roster_move(group[0], "relinked"))
            continue
        kept = max(group, key=lambda r: (r.is_active, r.teacher_id == plan.survivor.id, -r.id))
        plan.roster.append(_roster_move(kept, "kept"))
        for record in group:
            if record is kept:
                continue
            losers[record.id] = kept
            if record.is_active:
                plan.records_to_deactivate.append(record)
                plan.roster.append(_roster_move(record, "deactivated_duplicate"))
            else:
                plan.roster.append(_roster_move(record, "inactive_duplicate"))
    if not losers:
        return
    kept_ids = {kept.id for kept in losers.values()}
    overrides = (
        await session.execute(
            select(AttendanceOverride)
            .where(AttendanceOverride.teacher_progress_id.in_([*losers, *kept_ids]))
            .order_by(AttendanceOverride.id)
        )
    ).scalars()
    active: set[tuple[int, int]] = set()
    movable: list[AttendanceOverride] = []
    for override in overrides:
        if override.teacher_progress_id in losers:
            movable.append(override)
        elif override.is_active:
            active.add((override.teacher_progress_id, override.event_id))
    for override in movable:
        kept = losers[override.teacher_progress_id]
        if override.is_active and (kept.id, override.event_id) in active:
            plan.override_moves.append((override, None))
            plan.overrides.append(
                OverrideMove(
                    override_id=override.id, event_id=override.event_id, outcome="reversed_duplicate"
                )
            )
            continue
        if override.is_active:
            active.add((kept.id, override.event_id))
        plan.override_moves.append((override, kept))
        plan.overrides.append(
            OverrideMove(override_id=override.id, event_id=override.event_id, outcome="moved")
        )
    deactivated = [record.id for record in plan.records_to_deactivate]
    if deactivated:
        plan.magic_links = list(
            (
                await session.execute(
                    select(MagicLink).where(
                        MagicLink.teacher_progress_id.in_(deactivated),
                        MagicLink.used_at.is_(None),
                        MagicLink.invalidated_at.is_(None),
                    )
                )
            ).scalars()
        )


def _roster_move(record: TeacherProgress, outcome: Any) -> RosterRecordMove:
    return RosterRecordMove(
        teacher_progress_id=record.id,
        district_id=record.district_id,
        academic_year=record.academic_year,
        outcome=outcome,
    )


async def _plan_contacts(session: AsyncSession, plan: _Plan) -> None:
    """The duplicate's addresses and numbers the survivor lacks, as new rows of the survivor."""
    dup, survivor = plan.dup, plan.survivor
    emails = (
        await session.execute(
            select(TeacherEmail)
            .where(TeacherEmail.teacher_id.in_((dup.id, survivor.id)))
            .order_by(TeacherEmail.id)
        )
    ).scalars()
    have = {survivor.email_normalized} - {None}
    offered: list[tuple[str, str, str]] = []
    if dup.email_normalized:
        offered.append((dup.email_normalized, dup.email_normalized, "work"))
    for row in emails:
        if row.teacher_id == survivor.id:
            have.add(row.email_normalized)
        else:
            offered.append((row.email, row.email_normalized, row.kind))
    for text, normalized, kind in offered:
        if normalized not in have:
            have.add(normalized)
            plan.emails.append(
                TeacherEmail(
                    teacher_id=survivor.id,
                    email=text,
                    email_normalized=normalized,
                    kind=kind,
                    is_primary=False,
                    source="manual",
                )
            )
    phones = (
        await session.execute(
            select(TeacherPhone)
            .where(TeacherPhone.teacher_id.in_((dup.id, survivor.id)))
            .order_by(TeacherPhone.id)
        )
    ).scalars()
    numbers: set[str] = set()
    offered_phones: list[TeacherPhone] = []
    for phone in phones:
        if phone.teacher_id == survivor.id:
            numbers.add(phone.number)
        else:
            offered_phones.append(phone)
    for phone in offered_phones:
        if phone.number not in numbers:
            numbers.add(phone.number)
            plan.phones.append(
                TeacherPhone(
                    teacher_id=survivor.id,
                    number=phone.number,
                    e164=phone.e164,
                    kind=phone.kind,
                    is_primary=False,
                    source="manual",
                )
            )


async def _count(session: AsyncSession, column: Any, teacher_id: int) -> int:
    return int(await session.scalar(select(func.count()).where(column == teacher_id)) or 0)


async def _plan(session: AsyncSession, dup: Teacher, survivor: Teacher) -> _Plan:
    plan = _Plan(dup=dup, survivor=survivor)
    await _plan_links(session, plan)
    await _plan_roster(session, plan)
    await _plan_contacts(session, plan)
    if dup.pathful_user_id:
        plan.pathful = "kept_survivor" if survivor.pathful_user_id else "moved"
    plan.counts = {
        "communications": await _count(session, Communication.teacher_id, dup.id),
        "data_issues": await _count(session, DataIssue.teacher_id, dup.id),
        "unmatched_records": await _count(session, PathfulUnmatchedRecord.resolved_teacher_id, dup.id),
    }
    plan.merged_teachers = list(
        (
            await session.execute(
                select(Teacher).where(Teacher.merged_into_id == dup.id).order_by(Teacher.id)
            )
        ).scalars()
    )
    return plan


async def _apply(session: AsyncSession, plan: _Plan, actor: Principal, now: dt.datetime) -> None:
    dup, survivor = plan.dup, plan.survivor
    # removals and the unique Pathful id first: the moves below would collide with them
    for link in plan.links_to_delete:
        await session.delete(link)
    pathful_id = dup.pathful_user_id
    if plan.pathful == "moved":
        dup.pathful_user_id = None
    await session.flush()
    if plan.pathful == "moved":
        survivor.pathful_user_id = pathful_id
    for link in plan.links_to_move:
        link.teacher_id = survivor.id
    for record in plan.records_to_move:
        record.teacher_id = survivor.id
    note = DUPLICATE_RECORD_NOTE.format(dup=dup.id, survivor=survivor.id)
    for record in plan.records_to_deactivate:
        record.is_active = False
        record.deactivation_source = "manual_admin"
        record.deactivated_at = now
        record.deactivation_reason = "data_entry_error"
        record.deactivation_notes = note
        record.deactivated_by_id = actor.user_id
    for override, kept in plan.override_moves:
        if kept is None:
            override.is_active = False
            override.reversed_at = now
            override.reversed_by_id = actor.user_id
            override.reversal_reason = f"{note}: the kept record has an active override for this event"
    await session.flush()  # reversals before moves: one active override per (record, event)
    for override, kept in plan.override_moves:
        if kept is not None:
            override.teacher_progress_id = kept.id
    for magic_link in plan.magic_links:
        magic_link.invalidated_at = now
    session.add_all([*plan.emails, *plan.phones])
    for model, column in (
        (Communication, Communication.teacher_id),
        (DataIssue, DataIssue.teacher_id),
        (PathfulUnmatchedRecord, PathfulUnmatchedRecord.resolved_teacher_id),
    ):
        await session.execute(update(model).where(column == dup.id).values({column.key: survivor.id}))
    for earlier in plan.merged_teachers:
        earlier.merged_into_id = survivor.id
    if survivor.district_id is None and dup.district_id is not None:
        survivor.district_id = dup.district_id
    dup.merged_into_id = survivor.id
    dup.is_active = False
    dup.deactivation_source = "merged"
    dup.deactivated_at = now


def _state(teacher: Teacher) -> dict[str, Any]:
    return {
        "merged_into_id": teacher.merged_into_id,
        "is_active": teacher.is_active,
        "deactivation_source": teacher.deactivation_source,
        "pathful_user_id": teacher.pathful_user_id,
        "district_id": teacher.district_id,
    }


async def merge_teachers(
    session: AsyncSession,
    actor: Principal,
    teacher_id: int,
    into_teacher_id: int,
    *,
    dry_run: bool,
    now: dt.datetime | None = None,
) -> TeacherMergeOut:
    """Merge ``teacher_id`` into ``into_teacher_id`` (or, with ``dry_run``, only say what would
    move). Flushes; the request commits."""
    dup, survivor = await _check(session, teacher_id, into_teacher_id)
    plan = await _plan(session, dup, survivor)
    out = TeacherMergeOut(
        teacher_id=dup.id,
        into_teacher_id=survivor.id,
        dry_run=dry_run,
        event_links=plan.event_links,
        roster_records=plan.roster,
        overrides=plan.overrides,
        magic_links_invalidated=len(plan.magic_links),
        emails_added=[row.email_normalized for row in plan.emails],
        pathful_user_id=plan.pathful,  # type: ignore[arg-type]
        communications=plan.counts["communications"],
        data_issues=plan.counts["data_issues"],
        unmatched_records=plan.counts["unmatched_records"],
        merged_teachers=[teacher.id for teacher in plan.merged_teachers],
        district_id_filled=survivor.district_id is None and dup.district_id is not None,
    )
    if dry_run:
        return out
    now = now or utcnow()
    dup_before, survivor_before = _state(dup), _state(survivor)
    await _apply(session, plan, actor, now)
    await audit.record(
        session,
        "teacher.merged",
        actor=actor,
        entity_type="teacher",
        entity_id=dup.id,
        changes=audit.diff(dup_before, _state(dup)),
        details={
            "into_teacher_id": survivor.id,
            "survivor_changes": {
                k: list(v) for k, v in audit.diff(survivor_before, _state(survivor)).items()
            },
            "event_links": {
                outcome: [m.event_id for m in plan.event_links if m.outcome == outcome]
                for outcome in ("moved", "kept_survivor", "kept_merged")
            },
            "roster_records": {str(m.teacher_progress_id): m.outcome for m in plan.roster},
            "overrides": {str(m.override_id): m.outcome for m in plan.overrides},
            "magic_links_invalidated": len(plan.magic_links),
            "emails_added": len(plan.emails),
            "phones_added": len(plan.phones),
            "pathful_user_id": plan.pathful,
            **plan.counts,
            "merged_teachers": out.merged_teachers,
        },
    )
    await bump_reporting_data_version(session, now)
    await session.flush()
    return out
