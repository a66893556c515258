"""Polaris virtual events: create, Polaris-owned edits and presenter / teacher tags (04 VS-5).

Paths share the ``/api/v1/events`` prefix with the staff event reads (``routers/events.py``) and
use other methods or sub-paths. Access (07 CAP): global users create and edit virtual events and
tag presenters and teachers (:data:`VirtualEventEditor`); the cancellation reason may also be set
by district users on events in their districts (:data:`CancellationSetter`, 🔒), and by them on
nothing else (403).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from polaris_api.auth import SET_CANCELLATION, Principal, VirtualEventEditor, requires
from polaris_api.db import utcnow
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import (
    OWNERSHIP_PROBLEMS,
    NotesRequired,
    UnknownDistrict,
    UnknownSchool,
    problem_responses,
)
from polaris_api.routers.publishing import json_object_body
from polaris_api.schemas.common import IdPath
from polaris_api.schemas.virtual_events import (
    PresenterTag,
    TagRemoved,
    TeacherCorrection,
    TeacherLinkOut,
    TeacherTag,
    VirtualEventCreate,
    VirtualEventOut,
    VirtualEventUpdate,
)
from polaris_api.services import virtual_events as service

router = APIRouter(prefix="/api/v1/events", tags=["virtual-events"])

# Global users: every Polaris-owned field; district users: only the cancellation fields, in scope.
CancellationSetter = Annotated[Principal, Depends(requires(SET_CANCELLATION))]

_UPDATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": VirtualEventUpdate.model_json_schema()}},
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=VirtualEventOut,
    responses=problem_responses(401, 403, 422, UnknownSchool, UnknownDistrict),
)
async def create_virtual_event(
    body: VirtualEventCreate, principal: VirtualEventEditor, session: SessionDep, settings: SettingsDep
) -> VirtualEventOut:
    """A Polaris virtual event: format ``virtual``, source ``manual``, type ``virtual_session`` and
    status ``draft`` unless given. A naive ``start_date`` is local time (``POLARIS_TIMEZONE``)."""
    return await service.create_event(session, principal, body, zone=settings.tz, now=utcnow())


@router.patch(
    "/{event_id}",
    response_model=VirtualEventOut,
    responses=problem_responses(
        401,
        403,
        404,
        413,
        422,
        *OWNERSHIP_PROBLEMS,
        service.NotCancelled,
        NotesRequired,
        UnknownSchool,
        UnknownDistrict,
    ),
    openapi_extra=_UPDATE_BODY,
)
async def update_virtual_event(
    event_id: IdPath,
    principal: CancellationSetter,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[dict[str, Any], Depends(json_object_body)],
) -> VirtualEventOut:
    """Body: :class:`VirtualEventUpdate`. A field owned by Salesforce or Pathful → 409
    ``owned_by_<owner>``. ``cancellation_reason`` / ``cancellation_notes`` only while the (resulting)
    status is ``cancelled`` (409 ``not_cancelled``); ``other`` needs notes (422 ``notes_required``);
    upper-case codes are accepted. District users: the cancellation fields of an event in their
    districts only; any other field, or an event outside their districts → 403."""
    return await service.update_event(session, principal, event_id, body, zone=settings.tz, now=utcnow())


@router.post(
    "/{event_id}/presenters",
    status_code=status.HTTP_201_CREATED,
    response_model=VirtualEventOut,
    responses=problem_responses(401, 403, 404, 422, service.AlreadyTagged),
)
async def add_presenter(
    event_id: IdPath, body: PresenterTag, principal: VirtualEventEditor, session: SessionDep
) -> VirtualEventOut:
    """Adds a manual ``presenter`` participation (409 ``already_tagged`` if the pair exists)."""
    return await service.add_presenter(session, principal, event_id, body.volunteer_id, now=utcnow())


@router.delete(
    "/{event_id}/presenters/{volunteer_id}",
    response_model=TagRemoved,
    responses=problem_responses(401, 403, 404, 422, *OWNERSHIP_PROBLEMS),
)
async def remove_presenter(
    event_id: IdPath, volunteer_id: IdPath, principal: VirtualEventEditor, session: SessionDep
) -> TagRemoved:
    """Removes a manual presenter tag; an imported row → 409 ``owned_by_pathful`` (or
    ``owned_by_salesforce``). No such tag: 200 with ``removed: false``."""
    return await service.remove_presenter(session, principal, event_id, volunteer_id, now=utcnow())


@router.post(
    "/{event_id}/teachers",
    status_code=status.HTTP_201_CREATED,
    response_model=VirtualEventOut,
    responses=problem_responses(401, 403, 404, 422, service.AlreadyTagged),
)
async def add_teacher(
    event_id: IdPath, body: TeacherTag, principal: VirtualEventEditor, session: SessionDep
) -> VirtualEventOut:
    """Adds a manual ``registered`` teacher link (409 ``already_tagged`` if the pair exists)."""
    return await service.add_teacher(session, principal, event_id, body.teacher_id, now=utcnow())


@router.delete(
    "/{event_id}/teachers/{teacher_id}",
    response_model=TagRemoved,
    responses=problem_responses(401, 403, 404, 422, *OWNERSHIP_PROBLEMS),
)
async def remove_teacher(
    event_id: IdPath, teacher_id: IdPath, principal: VirtualEventEditor, session: SessionDep
) -> TagRemoved:
    """Removes a manual teacher link; a Pathful row → 409 ``owned_by_pathful``. No such link: 200
    with ``removed: false``."""
    return await service.remove_teacher(session, principal, event_id, teacher_id, now=utcnow())


@router.patch(
    "/{event_id}/teachers/{teacher_id}",
    response_model=TeacherLinkOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def correct_teacher(
    event_id: IdPath,
    teacher_id: IdPath,
    body: TeacherCorrection,
    principal: VirtualEventEditor,
    session: SessionDep,
) -> TeacherLinkOut:
    """Admin correction ``{status?, notes}`` (``notes`` required). ``attended`` sets
    ``attendance_confirmed_at``, other statuses clear it; a note protects the row from Pathful
    imports (PF-15), ``notes: null`` removes the protection."""
    return await service.correct_teacher(session, principal, event_id, teacher_id, body, now=utcnow())
