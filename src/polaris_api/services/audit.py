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
from polaris_api.db import utcnow
from polaris_api.models.audit import AuditEntry, audit_payload
from polaris_api.observability import client_ip_var, request_id_var

Change = tuple[Any, Any]


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Change]:
    """The fields whose value changed, as ``{field: (old, new)}``."""
    return {key: (before.get(key), value) for key, value in after.items() if before.get(key) != value}


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
    entry = AuditEntry(
        occurred_at=utcnow(),
        actor_type=actor.kind if actor else "system",
        actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        changes=audit_payload(changes, details),
        request_id=request_id_var.get(),
        client_ip=client_ip_var.get(),
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
