"""Append-only audit log (07 AUD-*), and how a changed value is stored in it (AUD-2).

Services write entries with :func:`polaris_api.services.audit.record`; bulk writers below the
services (the Pathful import) build the same ``changes`` payload with :func:`audit_payload`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from polaris_api.db import Base, IdMixin
from polaris_api.observability import person_hash

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
