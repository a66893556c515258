"""Logged communications the history import left unmatched (02 SF-36): the review list and the
manual assignment. Access: 07 CAP "resolve unmatched import rows" (global staff users)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from polaris_api.auth import UnmatchedResolver
from polaris_api.deps import SessionDep
from polaris_api.errors import problem_responses
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.schemas.common import IdPath
from polaris_api.schemas.communications import CommunicationAssign, CommunicationReviewOut, UnmatchedReason
from polaris_api.services import communications

router = APIRouter(prefix="/api/v1/communications", tags=["communications"])


@router.get(
    "/unmatched", response_model=Page[CommunicationReviewOut], responses=problem_responses(401, 403, 422)
)
async def list_unmatched(
    principal: UnmatchedResolver,
    session: SessionDep,
    pagination: Pagination,
    reason: Annotated[
        UnmatchedReason | None, Query(description="only rows unmatched for this reason")
    ] = None,
) -> Page[CommunicationReviewOut]:
    """Logged emails, calls and tasks matched to no volunteer or teacher, newest first."""
    return await paginate(
        session, communications.unmatched_statement(reason), pagination, CommunicationReviewOut.model_validate
    )


@router.post(
    "/{communication_id}/assign",
    response_model=CommunicationReviewOut,
    responses=problem_responses(401, 403, 404, 422, communications.UnknownVolunteer),
)
async def assign(
    communication_id: IdPath, body: CommunicationAssign, principal: UnmatchedResolver, session: SessionDep
) -> CommunicationReviewOut:
    """Match the communication to a volunteer by hand (``match_method='manual'``, audited); the
    history import never changes it afterwards. Any row may be (re)assigned, matched or not."""
    row = await communications.assign_to_volunteer(session, principal, communication_id, body.volunteer_id)
    return CommunicationReviewOut.model_validate(row)
