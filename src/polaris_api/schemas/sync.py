"""API bodies of the sync endpoints (09 OPS-1, OPS-4; 00 §5.1 ``/api/v1/sync``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SyncStatus = Literal["queued", "running", "succeeded", "partial", "failed"]
HealthState = Literal["never_run", "ok", "no_changes", "failed"]


class SyncRunSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    mode: str
    trigger: str
    status: str = Field(description="VOC-19 sync_run_status")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    parent_run_id: int | None
    counts: dict[str, Any]
    error_count: int
    error_code: str | None = Field(
        description="why it failed: sf_not_configured, sf_auth_failed, sf_unavailable, sf_rate_limited, "
        "sf_query_error, db_error, stale_heartbeat, cancelled, ..."
    )


class SyncRunOut(SyncRunSummary):
    """One run (OPS-1). ``errors`` holds at most the first 100 errors (record ids, no personal
    values); ``error_count`` is the total. ``parts`` lists the part runs of a composite."""

    effective_mode: str | None = Field(
        description="what actually ran: an incremental run without a watermark runs full (SF-6)"
    )
    requested_by_id: int | None
    requested_by_api_key_id: int | None
    heartbeat_at: dt.datetime | None
    errors: list[dict[str, Any]]
    error_message: str | None
    watermark_before: dt.datetime | None
    watermark_after: dt.datetime | None
    watermarks: dict[str, Any] | None
    parts: list[SyncRunSummary] = Field(default_factory=list)


class SyncRunAccepted(BaseModel):
    """202 answer of ``POST /api/v1/sync/{kind}``: poll ``GET /api/v1/sync/runs/{run_id}``."""

    run_id: int
    status: str


class SyncKindHealth(BaseModel):
    kind: str
    description: str
    cadence: str
    available: bool = Field(description="false: listed for completeness, not implemented in this version")
    composite: bool
    parts: list[str] = Field(default_factory=list)
    state: HealthState = Field(
        description="never_run: no finished run; failed: the last finished run failed; "
        "no_changes: it succeeded without changing anything; ok: it succeeded with changes"
    )
    stale: bool = Field(
        description="no successful run within stale_after_hours (always false for composites)"
    )
    stale_after_hours: float | None
    running_run_id: int | None = Field(description="the queued or running run of this kind, if any")
    last_run: SyncRunSummary | None
    last_success_at: dt.datetime | None = Field(description="end of the newest succeeded or partial run")
    last_failure_at: dt.datetime | None
    last_failure_reason: str | None = Field(description="error code of the newest failed run")
    last_failure_message: str | None
    next_scheduled_at: dt.datetime | None = Field(
        None,
        description="next fire time of this kind in POLARIS_SCHEDULE (`polaris scheduler`), if scheduled",
    )


class SyncHealth(BaseModel):
    status: Literal["ok", "stale", "failed"] = Field(
        description="failed: an available kind's last run failed; stale: an available kind is stale "
        "(or never ran); ok otherwise. Kinds not available in this version are not counted"
    )
    checked_at: dt.datetime
    kinds: list[SyncKindHealth]
