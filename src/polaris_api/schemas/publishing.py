"""Publishing controls bodies (03 PUB-5): the staff view of publishing events and its one edit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from polaris_api.schemas.common import StrictBody

NOTE_MAX_LENGTH = 10_000


def _clean_note(value: object) -> object:
    """Trim; empty after trimming clears the note. Line breaks are kept (free text)."""
    if isinstance(value, str):
        return value.strip() or None
    return value


class PublishingEventUpdate(StrictBody):
    """``PATCH /api/v1/publishing/events/{id}``: only these two publishing-owned fields.

    A Salesforce-owned field in the body is refused with 409 ``owned_by_salesforce`` (OWN-2);
    any other key with 422. ``note: null`` (or blank) clears the note.
    """

    # Optional but never null: the schema says boolean, an explicit null is refused (422).
    display_on_website: StrictBool = Field(None, description="show on the main public page")  # type: ignore[assignment]
    note: Annotated[str | None, StringConstraints(max_length=NOTE_MAX_LENGTH)] = Field(
        None, description="staff note, never public; null or blank clears it"
    )

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict) and "note" in data:
            data = {**data, "note": _clean_note(data["note"])}
        return data


class PublishingDistrict(BaseModel):
    id: int
    name: str
    slug: str
    is_deleted: bool


class PublishingEventOut(BaseModel):
    """A publishing event as staff see it: SF fields, publishing state, note, districts."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    salesforce_id: str | None
    title: str
    type: str | None
    status: str | None = Field(description="Salesforce session status (08 VOC-11)")
    format: str
    start_day: dt.date | None
    start_date: dt.datetime | None
    end_date: dt.datetime | None
    date_time_display: str | None
    location: str | None
    description: str | None
    school_id: int | None
    district_partner: str | None
    volunteers_requested: int | None
    available_slots: int
    filled_volunteer_jobs: int
    remaining_slots: int = Field(description="03 LIST-6")
    registration_link: str | None
    is_deleted: bool = Field(description="deleted in Salesforce")
    display_on_website: bool
    publish_status: str | None = Field(description="active or archived")
    archived_reason: str | None = Field(description="full or not_in_salesforce; null when active")
    note: str | None
    districts: list[PublishingDistrict]
    is_dia: bool
    publishing_first_seen_at: dt.datetime | None
    publishing_last_seen_at: dt.datetime | None
    updated_at: dt.datetime


class SyncErrorOut(BaseModel):
    """A session the publishing sync could not publish, and why (PUB-3)."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")

    run_id: int | None = None
    run_finished_at: dt.datetime | None = None
    salesforce_id: str | None = None
    index: int | None = None
    code: str | None = None
    fields: list[Any] | None = Field(None, description="the missing or unreadable Salesforce fields")
    missing_fields: list[Any] | None = Field(None, description="required Salesforce fields that were missing")
    message: str | None = None
