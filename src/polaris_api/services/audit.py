"""The audit log service every module calls (07 AUD-*).

Entries are append-only: this module offers ``record`` and ``list`` and nothing that edits or
deletes. Changed personal values (emails, names, phones) are stored as hashes (AUD-2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.models.audit import AuditEntry, Change, new_entry
from polaris_api.models.audit import diff as diff  # services call audit.diff with audit.record


async def record(
    session: AsyncSession,
    action: str,
    *,
    actor: Principal | None,
    entity_type: str | None = None,
    entity_id: Any = None,
    changes: Mapping[str, Change] | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the session; it commits with the action it describes."""
    entry = new_entry(
        action,
        actor=actor,
        entity_type=entity_type,
        entity_id=entity_id,
        changes=changes,
        details=details,
    )
    session.add(entry)
    return entry


async def record_anonymous(session: AsyncSession, action: str, **kwargs: Any) -> AuditEntry:
    entry = await record(session, action, actor=None, **kwargs)
    entry.actor_type = "anonymous"
    return entry


def list_statement(
    *,
    actor_type: str | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Select[AuditEntry]:
    statement = select(AuditEntry)
    if actor_type:
        statement = statement.where(AuditEntry.actor_type == actor_type)
    if actor_id is not None:
        statement = statement.where(AuditEntry.actor_id == actor_id)
    if action:
        prefix = action.removesuffix("*")
        statement = statement.where(
            AuditEntry.action.startswith(prefix) if action.endswith("*") else AuditEntry.action == action
        )
    if entity_type:
        statement = statement.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        statement = statement.where(AuditEntry.entity_id == entity_id)
    if since:
        statement = statement.where(AuditEntry.occurred_at >= since)
    if until:
        statement = statement.where(AuditEntry.occurred_at <= until)
    return statement.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
