"""Sync bookkeeping (09 OPS-1, 02 SF-8/SF-18), data-quality flags (02 SF-16) and the mirror mixins.

``SalesforceMirrorMixin`` is the set of columns every row mirrored from a Salesforce record carries
(02 SF-10/SF-11). ``SalesforceTrackedMixin`` is the same without ``salesforce_id``, for rows whose
Salesforce key lives elsewhere (a volunteer's contact ids are in ``volunteer_sf_contact``; a
communication is keyed by ``salesforce_activity_id``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from polaris_api.db import Base, IdMixin, JSONType, TimestampMixin, UTCDateTime, utcnow

__all__ = [
    "DataQualityFlag",
    "SalesforceMirrorMixin",
    "SalesforceTrackedMixin",
    "SfPendingRecord",
    "SfWatermark",
    "SyncRun",
]

SF_ID = 18
"""Salesforce ids are stored in their 18-character, case-sensitive form (02 SF-10)."""


# --------------------------------------------------------------------------------------
# Mixins for mirrored Salesforce rows (02 SF-10, SF-11)


class SoftDeleteMixin:
    """Soft deletion as seen in the source: nothing is ever hard-deleted by a sync (00 §6)."""

    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    deleted_in_source_at: Mapped[dt.datetime | None]
    # VOC-19 deleted_in_source_reason: deleted | merged | absent_from_full_snapshot
    deleted_in_source_reason: Mapped[str | None] = mapped_column(String(40))


class SalesforceTrackedMixin(SoftDeleteMixin):
    """Sync bookkeeping of a row fed by Salesforce, without the record id itself."""

    # SystemModstamp of the record that last wrote the SF-owned fields (stale-write guard, SF-10).
    sf_modstamp: Mapped[dt.datetime | None]
    sf_last_seen_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))


class SalesforceMirrorMixin(SalesforceTrackedMixin):
    """A row mirrored from one Salesforce record: ``salesforce_id`` is unique per entity.

    Null for rows Salesforce does not know (Polaris virtual events, website volunteers' rows,
    roster teachers): those are never touched by an import (SF-13).
    """

    salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID), unique=True)


# --------------------------------------------------------------------------------------
# Sync runs (09 OPS-1/OPS-2)

ACTIVE_SYNC_STATUSES = ("queued", "running")


class SyncRun(IdMixin, Base):
    """One run of a sync kind: a durable row, created before the work starts (OPS-1).

    At most one queued-or-running run per kind, enforced by a partial unique index
    (``uq_sync_run_active_kind``): inserting a second one raises IntegrityError, which the
    trigger endpoint turns into 409 with the running run's id (OPS-2). A run whose heartbeat is
    older than the setting is marked ``failed`` by the next trigger, freeing the kind.
    """

    __tablename__ = "sync_run"

    kind: Mapped[str] = mapped_column(String(64), index=True)  # 09 §1 kinds, e.g. salesforce-events
    mode: Mapped[str] = mapped_column(String(40), default="incremental")  # VOC-19 sync_mode
    # VOC-19 sync_mode: what actually ran (an incremental run without a watermark runs full, SF-6)
    effective_mode: Mapped[str | None] = mapped_column(String(40))
    trigger: Mapped[str] = mapped_column(String(40), default="manual")  # VOC-19 sync_trigger
    status: Mapped[str] = mapped_column(String(40), default="queued", index=True)  # VOC-19 sync_run_status
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    requested_by_api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    parent_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_run.id", ondelete="SET NULL"), index=True
    )  # the composite (daily / weekly) this run is a part of
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)  # queued at
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]  # touched by the worker while running (OPS-2)
    worker_id: Mapped[str | None] = mapped_column(String(255))  # host:pid of the process running it
    # read, created, updated, unchanged, skipped, pending, errors + kind-specific counts (SF-20, SF-43)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # bounded list (first 100) of {salesforce_id?, index?, code, fields?, message}; no personal values
    errors: Mapped[list[Any]] = mapped_column(default=list)
    error_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # failure code (sf_auth_failed, sf_unavailable, sf_rate_limited, sf_query_error,
    # sf_not_configured, db_error, ...) and a short human reason
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    watermark_before: Mapped[dt.datetime | None]
    watermark_after: Mapped[dt.datetime | None]
    # per-object watermarks for kinds that read several objects ({"Task": iso, "EmailMessage": iso})
    watermarks: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (
        Index(
            "uq_sync_run_active_kind",
            "kind",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        Index("ix_sync_run_kind_status_finished", "kind", "status", "finished_at"),
    )


class SfWatermark(IdMixin, Base):
    """Largest committed SystemModstamp per (kind, object), written with each batch (02 SF-8)."""

    __tablename__ = "sf_watermark"

    kind: Mapped[str] = mapped_column(String(64))  # sync kind, e.g. salesforce-history
    sf_object: Mapped[str] = mapped_column(String(64))  # e.g. Contact, Task, Account:district
    watermark: Mapped[dt.datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("kind", "sf_object", name="uq_sf_watermark_kind_sf_object"),)


class SfPendingRecord(IdMixin, Base):
    """A Salesforce record whose required parent is unknown or deleted (02 SF-17/SF-18).

    A newer read of the same record replaces ``payload`` and resets ``attempts``. Pending rows
    are retried at the end of every run; after ``salesforce_pending_max_attempts`` attempts and
    at least 7 days they become ``abandoned`` (flag ``orphan_reference``) and stay listed.
    """

    __tablename__ = "sf_pending_record"

    kind: Mapped[str] = mapped_column(String(64))  # the import kind that read it
    salesforce_id: Mapped[str] = mapped_column(String(SF_ID))
    sf_object: Mapped[str] = mapped_column(String(64))
    sf_modstamp: Mapped[dt.datetime | None]  # of the stored payload ("newer read" test)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the SF record as read
    # unknown_volunteer | unknown_event | unknown_student | unknown_account, joined with '+'
    reason: Mapped[str] = mapped_column(String(255))
    missing_refs: Mapped[list[Any]] = mapped_column(default=list)  # [{sf_field, salesforce_id}]
    status: Mapped[str] = mapped_column(String(40), default="pending", index=True)  # VOC-19 pending_status
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    first_queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]  # resolved, abandoned or discarded
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("kind", "salesforce_id", name="uq_sf_pending_record_kind_salesforce_id"),
    )


# --------------------------------------------------------------------------------------
# Data-quality flags (02 SF-15/SF-16, 04 RO-6, 00 N-3)


def _flag_record_key(context: DefaultExecutionContext) -> str:
    params = context.get_current_parameters()
    if params.get("entity_id") is not None:
        return str(params["entity_id"])
    if params.get("salesforce_id"):
        return str(params["salesforce_id"])
    return ""


class DataQualityFlag(IdMixin, TimestampMixin, Base):
    """A data problem found by an import or a check, for staff review.

    At most one open flag per (code, record, field) (SF-16): the partial unique index
    ``uq_data_quality_flag_open`` covers ``(code, entity_type, record_key, field)`` while
    ``status = 'open'``. ``record_key`` defaults to ``entity_id`` (as text), else the Salesforce
    id, so flags about records Polaris does not hold yet (pending, orphan) are deduplicated too.
    A later import that finds the field clean resolves the flag.
    """

    __tablename__ = "data_quality_flag"

    # e.g. unknown_picklist_value, invalid_email, unresolved_reference, sf_contact_merged,
    # multiple_sf_contacts, duplicate_participation, orphan_reference, mass_absence,
    # protected_teacher_skipped, invalid_grade, missing_start_date, all_caps_name, ...
    code: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(64))  # table name: volunteer, event, teacher_progress
    entity_id: Mapped[int | None]  # Polaris id when the record exists in Polaris
    record_key: Mapped[str] = mapped_column(String(64), default=_flag_record_key)
    salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID), index=True)
    sf_object: Mapped[str | None] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(100), default="", server_default="")  # '' = whole record
    vocabulary: Mapped[str | None] = mapped_column(String(64))  # for unknown_picklist_value
    raw_value: Mapped[str | None] = mapped_column(Text)  # the value as received (never personal data in logs)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(40), default="open", index=True)  # open | resolved | dismissed
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    resolution_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "uq_data_quality_flag_open",
            "code",
            "entity_type",
            "record_key",
            "field",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_data_quality_flag_entity", "entity_type", "entity_id"),
    )
