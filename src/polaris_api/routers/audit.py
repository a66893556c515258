"""Read-only audit log for admins (07 AUD-3: no edit, no delete)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from polaris_api.auth import AuditReader
from polaris_api.deps import SessionDep
from polaris_api.errors import problem_responses
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.schemas.common import IdQuery
from polaris_api.schemas.identity import AuditEntryOut
from polaris_api.services import audit

router = APIRouter(prefix="/api/v1/audit-log", tags=["audit"])


@router.get("", response_model=Page[AuditEntryOut], responses=problem_responses(401, 403, 422))
async def list_audit_log(
    principal: AuditReader,
    session: SessionDep,
    pagination: Pagination,
    actor_type: Annotated[str | None, Query(max_length=20)] = None,
    actor_id: IdQuery | None = None,
    action: Annotated[str | None, Query(max_length=80, description="exact, or a prefix ending in *")] = None,
    entity_type: Annotated[str | None, Query(max_length=60)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Page[AuditEntryOut]:
    statement = audit.list_statement(
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        since=since,
        until=until,
    )
    return await paginate(session, statement, pagination, AuditEntryOut.model_validate)
