"""File imports: Pathful session reports and district rosters (04 PF, RO).

``import_run`` stores each committed import and its report (PF-19, RO-13); dry runs write nothing
(PF-20). ``pathful_unmatched_record`` is the unmatched queue and the no-date queue (PF-17).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from polaris_api.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow

__all__ = ["ColumnAlias", "ImportRun", "PathfulUnmatchedRecord"]


class ImportRun(IdMixin, Base):
    """One import and its report (04 PF-19 / RO-13).

    ``counts`` holds the report's numbers (every PF-9 bucket, ``rows_total``, ``processed``,
    ``created_events``, ``updated_events``; or ``added``, ``updated``, ``unchanged``,
    ``deactivated``, ``skipped``) and ``report`` the full report as returned (``invalid_rows``,
    ``warnings``, ``protected_skipped``, ...), so ``GET /imports/{id}`` replays it exactly.
    """

    __tablename__ = "import_run"

    kind: Mapped[str] = mapped_column(String(40), index=True)  # pathful | roster | undated_resolution
    # pathful: full | current_semester | last_6_months | since (PF-10); null for roster
    mode: Mapped[str | None] = mapped_column(String(40))
    since: Mapped[dt.date | None]
    cutoff_date: Mapped[dt.date | None]
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    forced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # RO-9
    status: Mapped[str] = mapped_column(
        String(40), default="running", index=True
    )  # running | succeeded | failed
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("district.id", ondelete="SET NULL"), index=True
    )  # roster scope
    academic_year: Mapped[str | None] = mapped_column(String(9))  # roster scope (YYYY-YYYY)
    source_type: Mapped[str | None] = mapped_column(String(40))  # file | sheet
    source_name: Mapped[str | None] = mapped_column(String(255))  # file name or sheet id/worksheet
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    sync_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_run.id", ondelete="SET NULL")
    )  # when run by the pathful-sheet sync kind
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    duration_s: Mapped[float | None] = mapped_column(Float)
    rows_total: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error_code: Mapped[str | None] = mapped_column(String(64))  # missing_columns, import_failed, ...
    error_detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_import_run_kind_status_finished", "kind", "status", "finished_at"),)


class PathfulUnmatchedRecord(IdMixin, TimestampMixin, Base):
    """An unmatched Pathful teacher or presenter row, or an undated session (04 PF-17/PF-18).

    Key (unique): (``type``, ``session_id``, ``match_key``), where ``match_key`` is the User Auth
    Id, else ``norm_name`` of the attempted name, and ``''`` for ``no_date_session`` records.
    """

    __tablename__ = "pathful_unmatched_record"

    type: Mapped[str] = mapped_column(String(40), index=True)  # teacher | volunteer | no_date_session
    session_id: Mapped[str] = mapped_column(String(64), index=True)  # Pathful Session ID
    user_auth_id: Mapped[str | None] = mapped_column(String(64), index=True)
    match_key: Mapped[str] = mapped_column(String(255), default="", server_default="")
    attempted_name: Mapped[str | None] = mapped_column(String(255))
    attempted_email: Mapped[str | None] = mapped_column(String(255))
    attempted_school: Mapped[str | None] = mapped_column(String(255))
    # canonical column -> text or null, plus "_row"; for no_date_session {"rows": [...]}
    raw_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    candidates: Mapped[list[Any]] = mapped_column(default=list)  # [{id, name, school, ...}]
    reason: Mapped[str | None] = mapped_column(String(64))  # no_match | ambiguous | no_date
    status: Mapped[str] = mapped_column(
        String(40), default="pending", index=True
    )  # pending | resolved | ignored
    first_import_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id", ondelete="SET NULL"))
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id", ondelete="SET NULL"))
    resolved_teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teacher.id", ondelete="SET NULL"))
    resolved_volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id", ondelete="SET NULL"))
    resolved_import_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_run.id", ondelete="SET NULL")
    )  # the import that resolved it (automatic) or the undated_resolution run
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None]
    ignored_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("type", "session_id", "match_key", name="uq_pathful_unmatched_record_key"),
    )


class ColumnAlias(IdMixin, Base):
    """Admin-managed header alias for file imports (04 PF-3): a renamed column is configuration."""

    __tablename__ = "column_alias"

    import_type: Mapped[str] = mapped_column(String(40))  # pathful | roster
    alias: Mapped[str] = mapped_column(String(255))  # trimmed, casefolded, whitespace collapsed
    canonical: Mapped[str] = mapped_column(String(255))  # canonical column name
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("import_type", "alias", name="uq_column_alias_import_type_alias"),)
