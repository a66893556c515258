"""Append-only audit log (07 AUD-*), and how a changed value is stored in it (AUD-2).

Services write entries with :func:`polaris_api.services.audit.record`; code below the services
adds :func:`new_entry` to its session (the roster import) or builds the same ``changes`` payload
with :func:`audit_payload` for a bulk insert (the Pathful import).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from polaris_api.db import Base, IdMixin, utcnow
from polaris_api.observability import client_ip_var, person_hash, request_id_var

if TYPE_CHECKING:
    from polaris_api.auth import Principal

Change = tuple[Any, Any]

PERSONAL_FIELDS = frozenset(
    {"email", "first_name", "last_name", "middle_name", "name", "phone", "username", "password"}
)


def audit_value(field: str, value: Any) -> Any:
    """``value`` as the audit log stores it: personal values as hashes (AUD-2), JSON-ready."""
    if value is None:
        return None
    if field in PERSONAL_FIELDS or field.endswith(("_email", "_name", "_phone")):
        return f"sha256:{person_hash(str(value))}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value)
    return value


def audit_payload(
    changes: Mapping[str, tuple[Any, Any]] | None, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """An entry's ``changes`` column: ``{field: {"old", "new"}}`` plus ``_details``, values safe."""
    payload: dict[str, Any] = {
        field: {"old": audit_value(field, old), "new": audit_value(field, new)}
        for field, (old, new) in (changes or {}).items()
    }
    if details:
        payload["_details"] = {key: audit_value(key, value) for key, value in details.items()}
    return payload


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_log"

    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
    actor_type: Mapped[str] = mapped_column(String(20))  # user, api_key, teacher, system, anonymous
    actor_id: Mapped[int | None]
    actor_role: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity_type: Mapped[str | None] = mapped_column(String(60), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(64))


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Change]:
    """The fields whose value changed, as ``{field: (old, new)}``."""
    return {key: (before.get(key), value) for key, value in after.items() if before.get(key) != value}


def new_entry(
    action: str,
    *,
    actor: Principal | None,
    entity_type: str | None = None,
    entity_id: Any = None,
    changes: Mapping[str, Change] | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """An audit entry by ``actor`` (None: the system) now, with the request's id and client IP."""
    return AuditEntry(
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
