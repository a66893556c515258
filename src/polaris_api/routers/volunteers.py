"""Volunteers (00 §5.1, §5.2): search, profile, participation and communication history, CSV
export. 07 CAP "search volunteers, profiles, comms history, volunteer export": global staff and
``read`` API keys; district users and teachers 403 (DV-1).

``/volunteers/export.csv`` is declared before ``/volunteers/{volunteer_id}`` so that it is not read
as an id.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from polaris_api.auth import VolunteerReader
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import problem_responses, validation_problem
from polaris_api.pagination import Page, Pagination
from polaris_api.schemas.common import IdPath, clean_text
from polaris_api.schemas.volunteers import (
    CommunicationPage,
    VolunteerListItem,
    VolunteerParticipationOut,
    VolunteerProfile,
)
from polaris_api.services import volunteers
from polaris_api.vocabularies import VocabularyChoice

router = APIRouter(prefix="/api/v1/volunteers", tags=["volunteers"])

# Printable text only: a NUL or another control character is refused (422), never sent to the database.
SEARCH_PATTERN = r"^[^\x00-\x1f\x7f]*$"
MAX_SKILLS = 20
MAX_SKILL_LENGTH = 255


def _text(max_length: int, description: str) -> Any:
    return Query(max_length=max_length, pattern=SEARCH_PATTERN, description=description)


def _cleaned(value: str | None) -> str | None:
    cleaned = clean_text(value)
    return cleaned if isinstance(cleaned, str) else None


def volunteer_filters(
    name: Annotated[str | None, _text(200, "every word in the first or last name (case-insensitive)")] = None,
    email: Annotated[
        str | None, _text(255, "text in any of the volunteer's emails (case-insensitive)")
    ] = None,
    organization: Annotated[
        str | None, _text(255, "text in the current organization or an affiliated organization's name")
    ] = None,
    title: Annotated[str | None, _text(255, "text in the job title (case-insensitive)")] = None,
    skills: Annotated[
        list[str] | None, Query(description=f"skill names, repeatable; all must match (at most {MAX_SKILLS})")
    ] = None,
    local_status: Annotated[
        Annotated[str, VocabularyChoice("local_status")] | None, Query(description="08 VOC-6 local_status")
    ] = None,
    last_volunteered_from: Annotated[
        dt.date | None, Query(description="newest attended participation on or after this day")
    ] = None,
    last_volunteered_to: Annotated[
        dt.date | None, Query(description="newest attended participation on or before this day")
    ] = None,
    virtual_only: Annotated[
        bool,
        Query(description="only volunteers who attended something and only ever virtual events (06 G7)"),
    ] = False,
) -> volunteers.VolunteerFilters:
    errors = []
    cleaned_skills: list[str] = []
    for index, skill in enumerate(skills or []):
        cleaned = _cleaned(skill)
        if cleaned is None:
            continue
        if len(cleaned) > MAX_SKILL_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
            errors.append(
                {"loc": ("query", "skills", index), "msg": "not a skill name", "type": "invalid_skill"}
            )
        elif cleaned.casefold() not in {s.casefold() for s in cleaned_skills}:
            cleaned_skills.append(cleaned)
    if len(cleaned_skills) > MAX_SKILLS:
        errors.append(
            {"loc": ("query", "skills"), "msg": f"at most {MAX_SKILLS} skills", "type": "too_many_skills"}
        )
    if (
        last_volunteered_from is not None
        and last_volunteered_to is not None
        and last_volunteered_from > last_volunteered_to
    ):
        errors.append(
            {
                "loc": ("query", "last_volunteered_to"),
                "msg": "last_volunteered_to must not be before last_volunteered_from",
                "type": "date_range",
            }
        )
    if errors:
        raise validation_problem(errors)
    return volunteers.VolunteerFilters(
        name=_cleaned(name),
        email=_cleaned(email),
        organization=_cleaned(organization),
        title=_cleaned(title),
        skills=tuple(cleaned_skills),
        local_status=local_status,
        last_volunteered_from=last_volunteered_from,
        last_volunteered_to=last_volunteered_to,
        virtual_only=virtual_only,
    )


Filters = Annotated[volunteers.VolunteerFilters, Depends(volunteer_filters)]


@router.get("", response_model=Page[VolunteerListItem], responses=problem_responses(401, 403, 422))
async def search_volunteers(
    principal: VolunteerReader, session: SessionDep, pagination: Pagination, filters: Filters
) -> Page[VolunteerListItem]:
    """Volunteers not deleted in Salesforce, by last name, first name and id. Filters intersect."""
    return await volunteers.search(session, principal, filters, pagination)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV of every match"},
        **problem_responses(401, 403, 422),
    },
)
async def export_volunteers(
    request: Request, principal: VolunteerReader, session: SessionDep, filters: Filters
) -> StreamingResponse:
    """Every volunteer matching the filters of ``GET /volunteers`` (not one page), as CSV, in the
    same order. Cells that a spreadsheet would read as a formula start with ``'`` (07 PRIV-3). The
    export is audited (``volunteers.exported``: who, filters, row count; 07 AUD-1)."""
    row_count = await volunteers.start_export(session, principal, filters)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        volunteers.export_csv(request.app.state.sessionmaker, filters, principal=principal),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="volunteers-{stamp}.csv"',
            "X-Row-Count": str(row_count),
        },
    )


@router.get(
    "/{volunteer_id}", response_model=VolunteerProfile, responses=problem_responses(401, 403, 404, 422)
)
async def get_volunteer(
    volunteer_id: IdPath, principal: VolunteerReader, session: SessionDep
) -> VolunteerProfile:
    """The volunteer's profile: contact rows, affiliations, skills, demographics and derived
    participation statistics."""
    return await volunteers.get_profile(session, volunteer_id)


@router.get(
    "/{volunteer_id}/participations",
    response_model=Page[VolunteerParticipationOut],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_participations(
    volunteer_id: IdPath, principal: VolunteerReader, session: SessionDep, pagination: Pagination
) -> Page[VolunteerParticipationOut]:
    """The volunteer's participations (any status, ``attended`` per 08 VOC-13), newest event first."""
    return await volunteers.participations(session, volunteer_id, pagination)


@router.get(
    "/{volunteer_id}/communications",
    response_model=CommunicationPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_communications(
    volunteer_id: IdPath,
    principal: VolunteerReader,
    session: SessionDep,
    settings: SettingsDep,
    pagination: Pagination,
) -> CommunicationPage:
    """Logged emails, calls and tasks of the volunteer, newest first, with the state of the
    ``salesforce-history`` sync (09 OPS-4: never_run, no_changes, ok or failed; stale; last
    success) so an empty list can be told apart from a history that was never imported."""
    return await volunteers.communications(session, settings, volunteer_id, pagination)
