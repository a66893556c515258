"""02 SF-36 review: unmatched logged communications and their manual assignment.

A manual match (``match_method='manual'``) is Polaris-owned from then on: the history import
never changes it (SF-13, SF-36). Each assignment is audited with the old and new association.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import NamedProblem, not_found
from polaris_api.models.comms import Communication
from polaris_api.models.people import Volunteer
from polaris_api.services import audit
from polaris_api.sync.salesforce.history import refresh_last_contacted

__all__ = ["UnknownVolunteer", "assign_to_volunteer", "unmatched_statement"]

_ASSOCIATION = ("volunteer_id", "teacher_id", "match_status", "match_method", "unmatched_reason")


class UnknownVolunteer(NamedProblem):
    status, code = 422, "unknown_volunteer"
    default_detail = "The volunteer does not exist."


def unmatched_statement(reason: str | None = None) -> Select[Any]:
    """Live unmatched rows, newest first (stable: then by id)."""
    statement = select(Communication).where(
        Communication.match_status == "unmatched", Communication.is_deleted.is_(False)
    )
    if reason is not None:
        statement = statement.where(Communication.unmatched_reason == reason)
    return statement.order_by(Communication.occurred_at.desc().nulls_last(), Communication.id.desc())


async def assign_to_volunteer(
    session: AsyncSession, actor: Principal, communication_id: int, volunteer_id: int
) -> Communication:
    """Match the communication to the volunteer by hand; their ``last_contacted_at`` (and the
    previous volunteer's) follow. 404 for an unknown or deleted row, 422 ``unknown_volunteer``."""
    row = await session.get(Communication, communication_id)
    if row is None or row.is_deleted:
        raise not_found("communication")
    volunteer = await session.get(Volunteer, volunteer_id)
    if volunteer is None or volunteer.is_deleted:
        raise UnknownVolunteer()
    before = {name: getattr(row, name) for name in _ASSOCIATION}
    row.volunteer_id, row.teacher_id = volunteer.id, None
    row.match_status, row.match_method, row.unmatched_reason = "matched_volunteer", "manual", None
    row.matched_by_id = actor.user_id
    row.matched_at = utcnow()
    changes = {
        name: (before[name], getattr(row, name))
        for name in _ASSOCIATION
        if before[name] != getattr(row, name)
    }
    await audit.record(
        session,
        "communication.assigned",
        actor=actor,
        entity_type="communication",
        entity_id=row.id,
        changes=changes,
    )
    await session.flush()
    await refresh_last_contacted(
        session, {volunteer.id, *([before["volunteer_id"]] if before["volunteer_id"] else [])}
    )
    await session.refresh(row)
    return row
