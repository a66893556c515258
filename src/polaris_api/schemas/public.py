"""Public listing bodies (03 LIST-5): what the website sees of an event, and nothing more.

Never the staff note, sync errors, or anything about people (LIST-5). Responses are encoded once
with Pydantic's Rust serializer (:data:`PUBLIC_EVENT_PAGE`, :data:`PUBLIC_EVENT`) and reused while
the data is unchanged (09 SCALE-3).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator

from polaris_api.pagination import Page
from polaris_api.schemas.common import clean_text_input
from polaris_api.vocabularies import VocabularyChoice

MAX_PUBLIC_PAGE_SIZE = 100


class PublicFilters(BaseModel):
    """LIST-4 filters (query parameters), shared by the listings and the calendar feed.

    One model validates them all at once (cheaper than one FastAPI parameter each, 09 SCALE-3).
    Unknown query parameters (cache busters) are ignored.
    """

    model_config = ConfigDict(extra="ignore")

    start_date: dt.date | None = Field(None, description="first start date, inclusive (YYYY-MM-DD)")
    end_date: dt.date | None = Field(None, description="last start date, inclusive (YYYY-MM-DD)")
    event_type: Annotated[str, VocabularyChoice("event_type")] | None = Field(
        None, description="08 VOC-10 event_type value"
    )
    q: Annotated[str | None, BeforeValidator(clean_text_input)] = Field(
        None, max_length=200, description="text in the event name"
    )

    @model_validator(mode="after")
    def _ordered(self) -> PublicFilters:
        if self.start_date is not None and self.end_date is not None and self.start_date > self.end_date:
            raise ValueError("end_date must not be before start_date")
        return self


class PublicListingParams(PublicFilters):
    """LIST-4: the filters plus pagination (page size at most 100)."""

    page: int = Field(1, ge=1, le=1_000_000, description="1-based page number")
    page_size: int = Field(20, ge=1, le=MAX_PUBLIC_PAGE_SIZE, description="items per page (at most 100)")


class PublicDistrict(BaseModel):
    id: int
    name: str
    slug: str


class PublicEvent(BaseModel):
    """One listed event (LIST-5), exactly these keys."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": 812,
                    "sf_event_id": "a0B5f000001XyZqEAK",
                    "name": "Career Fair - Wyandotte High School",
                    "event_type": "career_fair",
                    "start_date": "2026-03-12",
                    "start_datetime": "2026-03-12T09:00:00-05:00",
                    "date_and_time": "03/12/2026 09:00 AM to 11:00 AM",
                    "location": "2501 Minnesota Ave, Kansas City, KS",
                    "description": "Talk with juniors about your career path.",
                    "available_slots": 6,
                    "filled_volunteer_jobs": 4,
                    "remaining_slots": 5,
                    "signup_open": True,
                    "registration_link": "https://forms.example.org/123?sessionId=a0B5f000001XyZqEAK",
                    "districts": [{"id": 3, "name": "Kansas City Kansas Public Schools", "slug": "kckps"}],
                    "is_dia": False,
                }
            ]
        }
    )

    event_id: int
    sf_event_id: str | None = Field(description="Salesforce session id (18 characters)")
    name: str
    event_type: str | None = Field(description="08 VOC-10 event_type")
    start_date: dt.date = Field(description="calendar start date")
    start_datetime: dt.datetime | None = Field(description="start time in the service's zone, when known")
    date_and_time: str | None = Field(description="Salesforce display string, as entered")
    location: str | None
    description: str | None
    available_slots: int
    filled_volunteer_jobs: int
    remaining_slots: int = Field(
        description="available slots minus website signups Salesforce does not reflect yet, never below 0 (LIST-6)"
    )
    signup_open: bool = Field(description="listed and remaining_slots > 0 (LIST-6)")
    registration_link: str | None
    districts: list[PublicDistrict]
    is_dia: bool = Field(description="listed on the Data in Action page (LIST-3)")


PUBLIC_EVENT_PAGE: TypeAdapter[Page[PublicEvent]] = TypeAdapter(Page[PublicEvent])
PUBLIC_EVENT: TypeAdapter[PublicEvent] = TypeAdapter(PublicEvent)
