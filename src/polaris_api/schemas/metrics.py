"""Response models of ``GET /api/v1/metrics`` (06 §3, §4, §7). Aggregates only: no DV-1 field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ReportMeta(BaseModel):
    """06 §7 metadata carried by every metrics and report response."""

    metrics_version: str
    computed_at: str = Field(description="UTC ISO-8601 with Z")
    cached: bool = False
    filters: dict[str, Any]
    parameters: dict[str, Any]
    data_freshness: dict[str, Any]


class MetricValues(BaseModel):
    """The requested metrics (06 §3); only the ids asked for are present."""

    M10: int | None = Field(None, description="Unique students reached")
    M20: int | None = Field(None, description="Unique volunteers reached")
    M30: float | None = Field(None, description="Volunteer hours (2 decimals)")
    M40: int | None = Field(None, description="Unique organisations engaged")
    M60: int | None = Field(None, description="Events")
    M61: int | None = Field(None, description="Virtual sessions")
    M62: int | None = Field(None, description="In-person events")
    M63: int | None = Field(None, description="Cancelled events")
    M70: int | None = Field(None, description="Unique teachers reached (virtual, delivered)")
    M71: int | None = Field(None, description="Classrooms reached (= M70)")
    M72: int | None = Field(None, description="Confirmed teachers")
    M73: int | None = Field(None, description="Estimated virtual students (N x M70)")
    M80: int | None = Field(None, description="Virtual experiences (teacher x session)")
    M81: int | None = Field(None, description="Local sessions")
    M82: int | None = Field(None, description="Sessions with a presenter of colour")
    M83: float | None = Field(None, description="Local session % (1 decimal)")
    M84: float | None = Field(None, description="Presenter-of-colour session % (1 decimal)")
    M90: int | None = Field(None, description="Volunteers of colour")
    M91: int | None = Field(None, description="Local volunteers")
    M92: int | None = Field(None, description="First-time volunteers")
    M100: int | None = Field(None, description="Unique schools reached")
    M110: dict[str, int] | None = Field(
        None, description="Students per volunteer per in-person event: {event_id: value}, events with a value"
    )
    M111: float | None = Field(None, description="Average of M110 (1 decimal); null when no event has one")
    M120: dict[str, int] | None = Field(None, description="Events by type; zero types omitted")


class GroupRef(BaseModel):
    id: int | None = Field(description="null for the Unknown group")
    name: str


class MetricsGroupRow(BaseModel):
    group: GroupRef
    metrics: MetricValues


class MetricsResponse(BaseModel):
    """Ungrouped: ``metrics``; with ``group_by``: ``groups`` (06 §4, Unknown row last)."""

    meta: ReportMeta
    metrics: MetricValues | None = None
    groups: list[MetricsGroupRow] | None = None
