"""Teachers (00 §5.1 ``GET /teachers``) and manual roster-record lifecycle (04 RO-14).

The list is district data (07 DV-2): global users, ``read`` API keys, and district users inside
their districts (a district id or a school of another district in the query → 403; the list is silently
restricted; see :mod:`polaris_api.services.readable`).
A teacher belongs to a district through its roster link (``teacher.district_id``), its school, or
a roster record of that district. Deactivation and reactivation are for admins and global
manager+ users (07 CAP); merging duplicate teachers for admins.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from polaris_api.auth import DistrictReader, RosterManager, TeacherMerger
from polaris_api.deps import SessionDep
from polaris_api.errors import NotesRequired, problem_responses
from polaris_api.models.people import Teacher
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.schemas.common import IdPath, IdQuery
from polaris_api.schemas.roster import DeactivateBody, ReactivateBody, RosterRecordOut, TeacherOut
from polaris_api.schemas.teacher_merge import TeacherMergeOut, TeacherMergeRequest
from polaris_api.services import teacher_merge, teacher_records
from polaris_api.services.readable import readable_teachers, require_readable_school, teacher_in_districts

router = APIRouter(tags=["teachers"])


def _teacher_out(teacher: Teacher) -> TeacherOut:
    return TeacherOut(
        id=teacher.id,
        first_name=teacher.first_name,
        last_name=teacher.last_name,
        email=teacher.email_normalized,
        school_id=teacher.school_id,
        school_name=teacher.school.name if teacher.school is not None else None,
        district_id=teacher.district_id,
        import_source=teacher.import_source,
        is_active=teacher.is_active,
        salesforce_id=teacher.salesforce_id,
        merged_into_id=teacher.merged_into_id,
    )


@router.get("/api/v1/teachers", response_model=Page[TeacherOut], responses=problem_responses(401, 403, 422))
async def list_teachers(
    principal: DistrictReader,
    session: SessionDep,
    pagination: Pagination,
    district_id: IdQuery | None = None,
    school_id: IdQuery | None = None,
    q: Annotated[str | None, Query(max_length=100, description="text in the name or email")] = None,
    active: Annotated[
        bool | None, Query(description="only active (true) or inactive (false) teachers")
    ] = None,
) -> Page[TeacherOut]:
    await require_readable_school(session, principal, school_id)
    statement = select(Teacher).options(joinedload(Teacher.school)).where(*readable_teachers(principal))
    if district_id is not None:
        statement = statement.where(teacher_in_districts([district_id]))
    if school_id is not None:
        statement = statement.where(Teacher.school_id == school_id)
    if active is not None:
        statement = statement.where(Teacher.is_active.is_(active))
    if q and q.strip():
        needle = " ".join(q.split()).lower()
        full_name = func.lower(func.coalesce(Teacher.first_name, "") + " " + Teacher.last_name)
        statement = statement.where(
            or_(
                full_name.contains(needle, autoescape=True),
                func.lower(Teacher.last_name).contains(needle, autoescape=True),
                Teacher.email_normalized.contains(needle, autoescape=True),
            )
        )
    statement = statement.order_by(func.lower(Teacher.last_name), func.lower(Teacher.first_name), Teacher.id)
    return await paginate(session, statement, pagination, _teacher_out)


@router.post(
    "/api/v1/teachers/{teacher_id}/merge",
    response_model=TeacherMergeOut,
    responses=problem_responses(401, 403, 404, 422, *teacher_merge.MERGE_PROBLEMS),
)
async def merge_teacher(
    teacher_id: IdPath, body: TeacherMergeRequest, principal: TeacherMerger, session: SessionDep
) -> TeacherMergeOut:
    """07 CAP: merge a duplicate teacher into ``into_teacher_id`` (admins only). Session links,
    roster records (with their overrides and magic links), communications, data issues, resolved
    unmatched Pathful records, addresses and the Pathful id move to the survivor without creating
    duplicates; the duplicate is marked (``merged_into_id``, inactive), never deleted, and imports
    follow the mark to the survivor. ``dry_run: true`` answers the same report and writes nothing.
    Audited as ``teacher.merged``. 404 unknown teacher in the path; 422 ``same_teacher``,
    ``unknown_teacher``; 409 ``teacher_already_merged``, ``merge_target_deleted``,
    ``salesforce_teacher_must_survive``."""
    return await teacher_merge.merge_teachers(
        session, principal, teacher_id, body.into_teacher_id, dry_run=body.dry_run
    )


@router.post(
    "/api/v1/teacher-progress/{teacher_progress_id}/deactivate",
    response_model=RosterRecordOut,
    responses=problem_responses(401, 403, 404, 422, NotesRequired),
)
async def deactivate_record(
    teacher_progress_id: IdPath, body: DeactivateBody, principal: RosterManager, session: SessionDep
) -> RosterRecordOut:
    """RO-14: deactivate by hand (``manual_admin``); later roster imports leave the record alone
    (RO-6). ``reason`` ``other`` needs ``notes`` (422 ``notes_required``). Repeating the call
    updates the reason and notes."""
    record = await teacher_records.deactivate_record(
        session, principal, teacher_progress_id, body.reason, body.notes
    )
    return RosterRecordOut.model_validate(record)


@router.post(
    "/api/v1/teacher-progress/{teacher_progress_id}/reactivate",
    response_model=RosterRecordOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def reactivate_record(
    teacher_progress_id: IdPath, body: ReactivateBody, principal: RosterManager, session: SessionDep
) -> RosterRecordOut:
    """RO-14: reactivate the record and close its ``protected_teacher_skipped`` flag. An active
    record is returned unchanged."""
    record = await teacher_records.reactivate_record(session, principal, teacher_progress_id, body.reason)
    return RosterRecordOut.model_validate(record)
