"""Teacher roster and progress (04 RO, TP), attendance overrides, magic links (ML) and data issues.

Progress status is never stored (00 R4, 04 TP-1): it is computed from ``event_teacher``,
``attendance_override`` and today's date each time it is read.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polaris_api.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from polaris_api.models.events import Event
    from polaris_api.models.people import Teacher
    from polaris_api.models.reference import District, School

__all__ = ["AttendanceOverride", "DataIssue", "MagicLink", "TeacherProgress"]


class TeacherProgress(IdMixin, TimestampMixin, Base):
    """A roster row: one teacher expected in a district's virtual programme for one academic year.

    Upserted by the roster import on (district, academic_year, email) (04 RO-5); nothing is deleted.
    Records the import deactivates (``import_diff``) come back when the email returns (RO-7);
    records an admin deactivated (``manual_admin``) are protected from the import (RO-6).
    """

    __tablename__ = "teacher_progress"

    # --- Roster-owned (04 RO-2, RO-10, RO-11)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"), index=True)
    academic_year: Mapped[str] = mapped_column(String(9), index=True)  # YYYY-YYYY
    virtual_year: Mapped[str] = mapped_column(String(9))  # equals academic_year (RO-2)
    email: Mapped[str] = mapped_column(String(255), index=True)  # normalized (N-1)
    name: Mapped[str] = mapped_column(String(255))  # the roster's name wins over Pathful's (R3)
    building: Mapped[str | None] = mapped_column(String(255))  # School/Building as written
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="SET NULL"), index=True)
    grade: Mapped[str | None] = mapped_column(String(64))
    target_sessions: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teacher.id", ondelete="SET NULL"), index=True)
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id", ondelete="SET NULL"))

    # --- Lifecycle (RO-6..RO-9, RO-14): the import owns it unless an admin deactivated the row
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    deactivation_source: Mapped[str | None] = mapped_column(String(40))  # import_diff | manual_admin
    deactivated_at: Mapped[dt.datetime | None]
    # RO-14 reason: left_district | transferred | retired | data_entry_error | other (needs notes)
    deactivation_reason: Mapped[str | None] = mapped_column(String(40))
    deactivation_notes: Mapped[str | None] = mapped_column(Text)
    deactivated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reactivated_at: Mapped[dt.datetime | None]
    reactivation_reason: Mapped[str | None] = mapped_column(Text)

    district: Mapped[District] = relationship()
    school: Mapped[School | None] = relationship()
    teacher: Mapped[Teacher | None] = relationship()
    overrides: Mapped[list[AttendanceOverride]] = relationship(
        back_populates="teacher_progress", passive_deletes=True, order_by="AttendanceOverride.id"
    )

    __table_args__ = (
        UniqueConstraint(
            "district_id", "academic_year", "email", name="uq_teacher_progress_district_year_email"
        ),
        CheckConstraint("target_sessions >= 1", name="target_sessions"),
    )


class AttendanceOverride(IdMixin, Base):
    """A staff correction to a roster record's count (04 TP-5..TP-7): never deleted, only reversed.

    At most one active override per (teacher_progress, event): partial unique index.
    """

    __tablename__ = "attendance_override"

    teacher_progress_id: Mapped[int] = mapped_column(
        ForeignKey("teacher_progress.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(40))  # add | remove (04 TP-5)
    reason: Mapped[str] = mapped_column(Text)  # 1-2000 characters
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reversed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reversed_at: Mapped[dt.datetime | None]
    # a staff reason, or 'auto-resolved: attendance imported by import <id>' (TP-7)
    reversal_reason: Mapped[str | None] = mapped_column(Text)

    teacher_progress: Mapped[TeacherProgress] = relationship(back_populates="overrides")
    event: Mapped[Event] = relationship()

    __table_args__ = (
        CheckConstraint("action IN ('add', 'remove')", name="action"),
        Index(
            "uq_attendance_override_active",
            "teacher_progress_id",
            "event_id",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
    )


class MagicLink(IdMixin, Base):
    """A one-time teacher sign-in link (04 ML-4/ML-5). Only the SHA-256 of the token is stored."""

    __tablename__ = "magic_link"

    teacher_progress_id: Mapped[int] = mapped_column(
        ForeignKey("teacher_progress.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(255), index=True)  # normalized, as requested
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex; never the token
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    invalidated_at: Mapped[dt.datetime | None]  # a newer link for the email invalidates this one
    requested_ip_hash: Mapped[str | None] = mapped_column(String(64))

    teacher_progress: Mapped[TeacherProgress] = relationship()


class DataIssue(IdMixin, TimestampMixin, Base):
    """A teacher's report of missing or incorrect data (04 ML-10), reviewed by staff."""

    __tablename__ = "data_issue"

    teacher_progress_id: Mapped[int] = mapped_column(
        ForeignKey("teacher_progress.id", ondelete="CASCADE"), index=True
    )
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teacher.id", ondelete="SET NULL"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"))
    category: Mapped[str] = mapped_column(String(40))  # missing_data | incorrect_data
    note: Mapped[str] = mapped_column(Text)  # 1-2000 characters
    status: Mapped[str] = mapped_column(String(40), default="open", index=True)  # open | resolved | dismissed
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None]

    teacher_progress: Mapped[TeacherProgress] = relationship()
