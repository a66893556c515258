"""Runtime switches and counters that admins or the app change without a deploy.

``app_setting`` is a key/value table (e.g. the PRIV-7 teacher-access kill switch, the 06 G8
``virtual_students_per_teacher``). ``data_version`` holds monotonic counters bumped in the same
transaction as the writes they track (06 P4 ``reporting_data_version``; public listing caches).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from polaris_api.db import Base, JSONType, UTCDateTime, utcnow

__all__ = [
    "REPORTING_DATA_VERSION",
    "TEACHER_ACCESS_ENABLED",
    "VIRTUAL_STUDENTS_PER_TEACHER",
    "AppSetting",
    "DataVersion",
    "bump_reporting_data_version",
]

TEACHER_ACCESS_ENABLED = "teacher_access_enabled"
"""07 PRIV-7: ``false`` disables the teacher-access endpoints (503). Absent means enabled."""

VIRTUAL_STUDENTS_PER_TEACHER = "virtual_students_per_teacher"
"""06 G8: integer 1-100, default 25 when absent."""

REPORTING_DATA_VERSION = "reporting"
"""``data_version`` name of the 06 P4 reporting data version."""


class AppSetting(Base):
    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)  # any JSON value
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class DataVersion(Base):
    """A named monotonic counter: ``UPDATE data_version SET version = version + 1 WHERE name = :n``."""

    __tablename__ = "data_version"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


async def bump_reporting_data_version(session: AsyncSession, now: dt.datetime | None = None) -> None:
    """06 P4: ``reporting_data_version + 1`` in the caller's transaction (row created on first use).

    The one implementation, called by every write that changes a reported number (imports,
    overrides, metric inputs, virtual-event edits)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    now = now or utcnow()
    statement = insert(DataVersion).values(name=REPORTING_DATA_VERSION, version=1, updated_at=now)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[DataVersion.name],
            set_={"version": DataVersion.version + 1, "updated_at": now},
        )
    )
