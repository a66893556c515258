"""District year-end report shapes (06 §6.4-6.9, §7).

Aggregates only: no volunteer, student or demographic field exists anywhere here (07 DV-1), so
district users can be given every one of these bodies.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from polaris_api.schemas.common import InboundModel
from polaris_api.schemas.metrics import ReportMeta

MAX_MANUAL_VALUE = 1_000_000_000


def _json_number(value: object) -> object:
    """06 §6.8 values are JSON numbers: refuse strings and booleans (lax mode would coerce them)."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("number_type", "must be a number or null")
    return value


ManualInt = Annotated[int, BeforeValidator(_json_number), Field(ge=0, le=MAX_MANUAL_VALUE)]
ManualFloat = Annotated[
    float, BeforeValidator(_json_number), Field(ge=0, le=MAX_MANUAL_VALUE, allow_inf_nan=False)
]


class ManualInputs(BaseModel):
    """06 §6.8: all 14 keys; null when not entered for this exact (district, school_year, host_filter)."""

    math_relays_hs: ManualInt | None = None
    math_relays_jr: ManualInt | None = None
    math_relays_awards_hs: ManualInt | None = None
    math_relays_awards_ms: ManualInt | None = None
    dia_irc_earned: ManualInt | None = None
    p2gd_dual_credit: ManualInt | None = None
    p2t_completed: ManualInt | None = None
    cna_students: ManualInt | None = None
    cma_students: ManualInt | None = None
    college_credits_students: ManualInt | None = None
    college_credits_total: ManualFloat | None = None
    careers_on_wheels: ManualInt | None = None
    holland_visits: ManualInt | None = None
    data_science: ManualInt | None = None


class ManualInputsUpdate(ManualInputs, InboundModel):
    """06 §6.8 partial update: a number (>= 0; an integer except ``college_credits_total``) sets
    the key, ``null`` deletes it, absent keys are left alone; an unknown key is a 422."""

    model_config = ConfigDict(extra="forbid")

    def changes(self) -> dict[str, int | float | None]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class Ref(BaseModel):
    id: int
    name: str


class EventCounts(BaseModel):
    total: int
    in_person: int
    virtual: int
    in_person_pct: float
    virtual_pct: float


class StudentCounts(BaseModel):
    total: int
    in_person: int
    virtual: int = Field(description="N x virtual_sessions.confirmed_teachers (an estimate)")
    unique_total: int
    unique_in_person: int
    unique_virtual: int = Field(description="always 0: virtual students are estimated, not tracked")


class VolunteerCounts(BaseModel):
    total: int
    in_person: int
    virtual: int
    unique_total: int
    unique_in_person: int
    unique_virtual: int
    hours_total: float
    hours_in_person: float
    hours_virtual: float
    hours_in_person_pct: float
    hours_virtual_pct: float


class OrganizationCounts(BaseModel):
    unique_total: int
    unique_in_person: int
    unique_virtual: int
    volunteer_hours_total: float
    volunteer_hours_in_person: float
    volunteer_hours_virtual: float


class VirtualSessionCounts(BaseModel):
    classrooms_reached: int
    unique_teachers: int
    confirmed_teachers: int
    registered_teachers: int


class EventTypesByFormat(BaseModel):
    in_person: dict[str, int]
    virtual: dict[str, int]


class Enhanced(BaseModel):
    """06 §6.4 over B(d), connector sessions included as virtual."""

    events: EventCounts
    students: StudentCounts
    volunteers: VolunteerCounts
    organizations: OrganizationCounts
    virtual_sessions: VirtualSessionCounts
    event_types: dict[str, int]
    event_types_by_format: EventTypesByFormat


class StudentBucket(BaseModel):
    total: int = Field(description="attendances: distinct (event, student) pairs")
    unique: int = Field(description="distinct students")


class TeachersEngaged(BaseModel):
    total: int
    unique: int


class StudentsParticipated(BaseModel):
    total: int
    unique: None = Field(None, description="always null by design (06 §6.5)")


class ConnectorSessions(BaseModel):
    session_count: int
    teachers_engaged: TeachersEngaged
    students_participated: StudentsParticipated


class ProgramBreakdown(BaseModel):
    """06 §6.5."""

    in_person_students: StudentBucket
    career_jumping_students: StudentBucket
    career_speakers_students: StudentBucket
    career_college_fair_hs_students: StudentBucket
    healthstart_students: StudentBucket
    bfi_students: StudentBucket
    sla_students: StudentBucket
    p2t_students: StudentBucket
    p2gd_students: StudentBucket
    dia_students: StudentBucket
    client_connected_students: StudentBucket
    math_relays_count: int
    connector_sessions: ConnectorSessions


class MonthCount(BaseModel):
    month: str = Field(examples=["2024-08"])
    events: int


class TimelineEvent(BaseModel):
    event_id: int
    title: str
    start_date: dt.datetime
    type: str | None
    format: str
    school: Ref | None
    students: int
    volunteers: int
    volunteer_hours: float


class SchoolTimeline(BaseModel):
    """One known school's timeline rows and their sums (unknown-school events are left out, G4)."""

    school: Ref
    events_count: int
    students: int
    volunteers: int
    volunteer_hours: float
    events: list[TimelineEvent]


class Timeline(BaseModel):
    """06 §6.6 over B(d) minus connector sessions."""

    events_by_month: list[MonthCount]
    events: list[TimelineEvent]
    by_school: list[SchoolTimeline]


class YearEndReport(BaseModel):
    """06 §6.9."""

    meta: ReportMeta
    district: Ref
    school_year: str = Field(examples=["2425"])
    school_year_label: str = Field(examples=["2024-2025"])
    host_filter: str
    enhanced: Enhanced
    program_breakdown: ProgramBreakdown
    timeline: Timeline
    manual_inputs: ManualInputs


class YearEndCard(BaseModel):
    """06 §6.7: the district's enhanced events.total, students.total, volunteers.hours_total and
    volunteers.unique_total."""

    district: Ref
    events_total: int
    students_total: int
    volunteer_hours_total: float
    unique_volunteers: int


class YearEndCardPage(BaseModel):
    meta: ReportMeta
    school_year: str
    school_year_label: str
    host_filter: str
    items: list[YearEndCard]
    page: int
    page_size: int
    total: int


class ManualInputsOut(BaseModel):
    district: Ref
    school_year: str
    host_filter: str
    manual_inputs: ManualInputs
