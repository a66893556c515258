"""Bodies and responses of the virtual-event endpoints (04 VS-1..VS-7, 07 CAP, 08 VOC-16).

Two audiences edit an event through ``PATCH /api/v1/events/{id}``:

* global users (CAP "create/edit virtual events"): :class:`VirtualEventUpdate`;
* district users (CAP "set cancellation reason", 🔒): :class:`CancellationUpdate` only.

Vocabulary fields use :func:`polaris_api.vocabularies.Choice` (exact match, 08 VOC-1; the
cancellation reason also accepts its upper-case code, VOC-16).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from polaris_api.pagination import Page
from polaris_api.schemas.common import MAX_DB_ID, StrictBody, clean_text_input
from polaris_api.vocabularies import VocabularyChoice

EventStatus = Annotated[str, VocabularyChoice("event_status")]
EventType = Annotated[str, VocabularyChoice("event_type")]
CancellationReason = Annotated[str, VocabularyChoice("cancellation_reason")]
TeacherStatus = Annotated[str, VocabularyChoice("teacher_participation_status")]
DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Duration = Annotated[int, Field(ge=1, le=24 * 60, description="minutes")]


# Trimmed, whitespace collapsed (00 N-2); blank is null.
LongText = Annotated[
    Annotated[str, StringConstraints(max_length=20_000)] | None, BeforeValidator(clean_text_input)
]
ShortText = Annotated[
    Annotated[str, StringConstraints(max_length=255)] | None, BeforeValidator(clean_text_input)
]
Notes = Annotated[
    Annotated[str, StringConstraints(max_length=4_000)] | None, BeforeValidator(clean_text_input)
]


def _plausible_start(value: dt.datetime) -> dt.datetime:
    """Keep time-zone arithmetic (local dates, end = start + duration) inside datetime's range."""
    if not 1900 <= value.year <= 2200:
        raise PydanticCustomError("date_out_of_range", "start_date must be between the years 1900 and 2200")
    return value


EventStart = Annotated[dt.datetime, AfterValidator(_plausible_start)]

CANCELLATION_FIELDS = frozenset({"cancellation_reason", "cancellation_notes"})
FLAG_TYPES = ("needs_attention", "missing_teacher", "missing_presenter", "needs_reason")
FlagType = Literal["needs_attention", "missing_teacher", "missing_presenter", "needs_reason"]
FlagStatus = Literal["open", "resolved"]
Urgency = Literal["red", "yellow", "blue"]


class VirtualEventCreate(StrictBody):
    """A Polaris virtual event (format ``virtual``, source ``manual``). A naive ``start_date`` is
    read in ``POLARIS_TIMEZONE`` (R6); ``end_date`` is start + duration."""

    title: Title
    start_date: EventStart
    duration: Duration | None = 60
    type: EventType = "virtual_session"
    status: EventStatus = "draft"
    description: LongText = None
    location: LongText = None
    session_host: ShortText = None
    school_id: DbId | None = None
    district_ids: list[DbId] = Field(default_factory=list, max_length=50)


class VirtualEventUpdate(StrictBody):
    """Global users: any Polaris-owned field. Fields owned by Salesforce (SF-linked event) or by
    Pathful (Pathful session) → 409 ``owned_by_<owner>``. Cancellation fields: VS-5 / VOC-16."""

    title: Title | None = None
    start_date: EventStart | None = None
    duration: Duration | None = None
    type: EventType | None = None
    status: EventStatus | None = None
    description: LongText = None
    location: LongText = None
    session_host: ShortText = None
    school_id: DbId | None = None
    district_ids: list[DbId] | None = Field(None, max_length=50)
    cancellation_reason: CancellationReason | None = None
    cancellation_notes: Notes = None


class CancellationUpdate(StrictBody):
    """District users (in scope): the cancellation fields only; any other key → 403."""

    cancellation_reason: CancellationReason | None = None
    cancellation_notes: Notes = None


class PresenterTag(StrictBody):
    volunteer_id: DbId


class TeacherTag(StrictBody):
    teacher_id: DbId


class TeacherCorrection(StrictBody):
    """Admin correction of a teacher link (VS-5). ``notes`` is required: a note protects the row
    from Pathful imports (PF-15); ``notes: null`` removes the protection."""

    status: TeacherStatus | None = None
    notes: Notes = Field(description="required key; null removes the protection")


class PresenterOut(BaseModel):
    volunteer_id: int
    status: str
    source: str


class TeacherLinkOut(BaseModel):
    teacher_id: int
    status: str
    source: str
    attendance_confirmed_at: dt.datetime | None
    notes: str | None
    protected: bool = Field(description="true while an admin note protects the row (PF-15)")


class VirtualEventOut(BaseModel):
    id: int
    title: str
    type: str | None
    format: str
    status: str | None
    source: str
    salesforce_id: str | None
    pathful_session_id: str | None
    start_date: dt.datetime | None
    start_day: dt.date | None
    end_date: dt.datetime | None
    duration: int | None
    description: str | None
    location: str | None
    session_host: str | None
    school_id: int | None
    district_ids: list[int] = Field(description="the event's own district links")
    cancellation_reason: str | None
    cancellation_notes: str | None
    presenters: list[PresenterOut] = Field(description="empty for district callers (DV-1)")
    teachers: list[TeacherLinkOut] = Field(description="empty for district callers (DV-1)")
    open_flags: list[str] = Field(description="VS-6 flags open on the event")


class TagRemoved(BaseModel):
    event_id: int
    removed: bool = Field(description="false when there was no such tag (DELETE is idempotent)")


class NamedRef(BaseModel):
    id: int
    name: str


class RecruitmentItem(BaseModel):
    event_id: int
    title: str
    start_date: dt.datetime
    days_until: int = Field(description="local start date − local today")
    urgency: Urgency = Field(description="red ≤ 7 days, yellow 8–14, blue > 14")
    status: str | None
    teacher_count: int
    schools: list[NamedRef]
    districts: list[NamedRef]


class FlagItem(BaseModel):
    event_id: int
    title: str
    start_date: dt.datetime | None
    flag_type: str
    status: str
    opened_at: dt.datetime
    resolved_at: dt.datetime | None


RecruitmentPage = Page[RecruitmentItem]
FlagPage = Page[FlagItem]
