"""Staff event reads (00 §5.1 ``GET /api/v1/events``, ``GET /api/v1/events/{id}``; 07 CAP, DV-1, DV-2).

Two views of the same event, told apart by ``view``:

* ``staff`` (:class:`EventListItem`, :class:`EventDetail`): global staff and global ``read`` keys;
  the detail lists the volunteer participants and tagged teachers by name.
* ``district`` (:class:`DistrictEventListItem`, :class:`DistrictEventDetail`): district-scoped
  callers. These models have no field for a person at all (DV-1: no volunteer names, emails,
  phones or demographics, no student rows): participants are aggregate counts only, and they
  refuse unknown keys, so a staff-only field can never be serialized through them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from polaris_api.pagination import Page


class EventSchool(BaseModel):
    id: int
    name: str
    district_id: int | None


class EventDistrictRef(BaseModel):
    id: int
    name: str
    slug: str


class ParticipantAggregates(BaseModel):
    """Counts over the event's participation rows (deleted rows excluded). 08 VOC-13 / VOC-14
    decide what counts as attended; hours are the attended volunteers' delivery hours."""

    model_config = ConfigDict(extra="forbid")

    volunteer_participations: int = Field(description="volunteer participation rows, any status")
    volunteers_attended: int = Field(description="distinct volunteers with an attended status (VOC-13)")
    volunteer_hours: float = Field(description="sum of delivery hours of attended participations")
    students_reached: int = Field(description="distinct students with status attended (VOC-14)")
    teachers_tagged: int = Field(description="teachers linked to the event (not deleted)")
    teachers_attended: int = Field(description="linked teachers with status attended (VOC-15)")


class _EventFields(BaseModel):
    """Event details a district user may see inside their districts (DV-2). No person fields."""

    model_config = ConfigDict(extra="forbid")

    id: int
    salesforce_id: str | None
    pathful_session_id: str | None
    source: str = Field(description="08 VOC-19 record_source")
    title: str
    type: str | None = Field(description="08 VOC-10 event_type")
    status: str | None = Field(description="08 VOC-11 event_status")
    format: str = Field(description="08 VOC-9 event_format")
    start_day: dt.date | None = Field(description="calendar date of the session (never shifted)")
    start_date: dt.datetime | None
    end_date: dt.datetime | None
    duration: int | None = Field(description="minutes")
    location: str | None
    school: EventSchool | None
    districts: list[EventDistrictRef] = Field(
        description="the event's districts: its district links, its school's district and the "
        "districts of its linked teachers' schools"
    )
    district_partner: str | None
    session_host: str | None
    volunteers_requested: int | None
    available_slots: int
    filled_volunteer_jobs: int
    cancellation_reason: str | None = Field(description="08 VOC-16")
    registered_student_count: int | None = Field(description="Pathful-reported")
    attended_student_count: int | None = Field(description="Pathful-reported")
    career_cluster: str | None
    participants: ParticipantAggregates


class _EventDetailFields(_EventFields):
    description: str | None
    additional_information: str | None
    date_time_display: str | None
    registration_link: str | None
    cancellation_notes: str | None
    attendance_status: str | None
    work_based_learning: str | None
    series: str | None
    skills: list[str]


class DistrictEventListItem(_EventFields):
    """An event as a district user sees it in a list (aggregates only, DV-1)."""

    view: Literal["district"] = "district"


class DistrictEventDetail(_EventDetailFields):
    """One event as a district user sees it (aggregates only, DV-1)."""

    view: Literal["district"] = "district"


class VolunteerParticipant(BaseModel):
    """A volunteer at the event (staff view only)."""

    participation_id: int
    volunteer_id: int
    first_name: str | None
    last_name: str
    email: str | None = Field(description="the volunteer's primary email")
    participant_type: str = Field(description="08 VOC-19 participant_type")
    status: str = Field(description="08 VOC-13")
    attended: bool
    delivery_hours: float | None
    title: str | None = Field(description="job title given for this participation")
    source: str


class TeacherParticipant(BaseModel):
    """A teacher tagged on the event (staff view only)."""

    teacher_id: int
    first_name: str | None
    last_name: str
    school_id: int | None
    status: str = Field(description="08 VOC-15")
    attendance_confirmed_at: dt.datetime | None


class EventListItem(_EventFields):
    """An event as global staff see it in a list."""

    view: Literal["staff"] = "staff"
    publish_status: str | None
    display_on_website: bool


class EventDetail(_EventDetailFields):
    """One event as global staff see it: details, participants by name, staff note."""

    view: Literal["staff"] = "staff"
    publish_status: str | None
    display_on_website: bool
    note: str | None = Field(description="staff note, never public")
    volunteers: list[VolunteerParticipant]
    teachers: list[TeacherParticipant]


EventListEntry = Annotated[EventListItem | DistrictEventListItem, Field(discriminator="view")]
EventDetailOut = Annotated[EventDetail | DistrictEventDetail, Field(discriminator="view")]


class EventPage(Page[EventListEntry]):
    """A page of events: ``staff`` items for global callers, ``district`` items for district users."""
