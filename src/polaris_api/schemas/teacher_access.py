"""Bodies of the teacher magic-link endpoints (04 ML-*) and the data-issue review (ML-10)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from polaris_api.schemas.common import MAX_DB_ID, InboundModel


class MagicLinkRequest(InboundModel):
    """ML-1: any string up to 320 characters; an address that is on no roster gets the same answer."""

    email: str = Field(min_length=1, max_length=320)


class AcceptedOut(BaseModel):
    status: Literal["accepted"] = "accepted"


class MagicLinkExchange(InboundModel):
    token: str = Field(min_length=1, max_length=200)


class TeacherTokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds")


class TeacherSessionItem(BaseModel):
    """ML-9: exactly these fields."""

    event_id: int
    title: str | None
    date: str | None = Field(description="local ISO 8601 with offset")
    status: Literal["attended", "registered", "no_show"]


class TeacherView(BaseModel):
    """ML-9: exactly these fields; no school, building, district, aggregates or other people."""

    name: str
    email: str
    status: Literal["achieved", "in_progress", "not_started"]
    target_sessions: int
    completed_sessions: int
    past: list[TeacherSessionItem]
    upcoming: list[TeacherSessionItem]


class DataIssueCreate(InboundModel):
    """ML-10. ``category`` is checked by the service (422 ``invalid_choice``); a body naming a
    teacher (``teacher_id``, ``teacher_progress_id``, ``email``) is refused with 403."""

    model_config = ConfigDict(extra="allow")

    category: str = Field(max_length=100, description="missing_data | incorrect_data")
    note: str = Field(min_length=1, max_length=2000)
    event_id: int | None = Field(None, ge=1, le=MAX_DB_ID)


class DataIssueCreated(BaseModel):
    id: int
    status: Literal["open"] = "open"


DataIssueStatus = Literal["open", "resolved", "dismissed"]


class DataIssueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    teacher_progress_id: int
    teacher_name: str | None = None
    district_id: int | None = None
    event_id: int | None
    category: str
    note: str
    status: DataIssueStatus
    resolution_note: str | None
    resolved_by_id: int | None
    resolved_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class DataIssuePage(BaseModel):
    items: list[DataIssueOut]
    page: int
    page_size: int
    total: int


class DataIssueUpdate(InboundModel):
    """Staff review: close (``resolved``/``dismissed``) or reopen an issue, with an optional note."""

    status: DataIssueStatus
    resolution_note: str | None = Field(None, max_length=2000)


class TeacherAccessSettings(InboundModel):
    """07 PRIV-7: ``false`` turns every teacher-facing teacher-access endpoint into a 503."""

    enabled: bool
