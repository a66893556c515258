"""Staff views of website signups and the email outbox (03 SIGN-8, 09 MAIL-3).

* ``GET /api/v1/signups``: signups with the status of their confirmation email
  (capability "publishing controls": global staff users).
* ``GET /api/v1/outbox`` and ``POST /api/v1/outbox/{message_id}/requeue``
  (capability "email outbox": global staff users). Message bodies are never returned.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from polaris_api.auth import OutboxOperator, Publisher
from polaris_api.deps import SessionDep
from polaris_api.errors import problem_responses
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.schemas.common import IdPath, IdQuery
from polaris_api.schemas.signup import EmailStatus, OutboxMessageOut, SignupOut
from polaris_api.services import outbox
from polaris_api.services import signup as signups

router = APIRouter(prefix="/api/v1", tags=["outbox"])

OutboxStatus = Literal["queued", "sending", "sent", "failed", "suppressed", "cancelled"]


@router.get("/signups", response_model=Page[SignupOut], responses=problem_responses(401, 403, 422))
async def list_signups(
    principal: Publisher,
    session: SessionDep,
    pagination: Pagination,
    event_id: IdQuery | None = None,
    email_status: Annotated[EmailStatus | None, Query(description="status of the confirmation email")] = None,
) -> Page[SignupOut]:
    """Website signups, newest first, with the status of each confirmation email (SIGN-8)."""
    page: Page[Any] = await paginate(session, signups.list_statement(event_id, email_status), pagination)
    statuses = await signups.email_statuses(session, [row.id for row in page.items])
    items = []
    for row in page.items:
        email_status_value, message_id = statuses.get(row.id, ("none", None))
        items.append(
            SignupOut(
                id=row.id,
                event_id=row.event_id,
                volunteer_id=row.volunteer_id,
                participation_id=row.participation_id,
                created_at=row.created_at,
                first_name=row.first_name,
                last_name=row.last_name,
                email=row.email,
                organization=row.organization,
                title=row.title,
                email_status=email_status_value,
                email_message_id=message_id,
                sf_push_status=row.sf_push_status,
            )
        )
    return Page[SignupOut](items=items, page=page.page, page_size=page.page_size, total=page.total)


@router.get("/outbox", response_model=Page[OutboxMessageOut], responses=problem_responses(401, 403, 422))
async def list_outbox(
    principal: OutboxOperator,
    session: SessionDep,
    pagination: Pagination,
    status: OutboxStatus | None = None,
    kind: Annotated[str | None, Query(max_length=40, description="e.g. signup_confirmation")] = None,
) -> Page[OutboxMessageOut]:
    """Outbox messages, newest first, with every delivery attempt (MAIL-3). No bodies."""
    return await paginate(
        session, outbox.list_statement(status, kind), pagination, OutboxMessageOut.model_validate
    )


@router.post(
    "/outbox/{message_id}/requeue",
    response_model=OutboxMessageOut,
    responses=problem_responses(401, 403, 404, 422, outbox.NotRequeueable),
)
async def requeue_message(
    message_id: IdPath, principal: OutboxOperator, session: SessionDep
) -> OutboxMessageOut:
    """Queue a failed (or suppressed, or cancelled) message again with a fresh retry schedule.

    A message that is already queued is returned unchanged; one being sent or sent is a 409.
    """
    message = await outbox.requeue(session, message_id, principal)
    return OutboxMessageOut.model_validate(message)
