"""Bodies and answers of the metric inputs Polaris owns (06 §1, G8, M110; 08 VOC-6).

Every body is strict (``extra="forbid"``): a key that is not editable is refused before anything
is written (a field owned by another system → 409 naming its owner, anything else → 422).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from polaris_api.schemas.common import StrictBody
from polaris_api.vocabularies import VocabularyChoice

SchoolLevel = Literal["elementary", "middle", "high", "other"]
LocalStatus = Annotated[str, VocabularyChoice("local_status")]
Count = Annotated[StrictInt, Field(ge=0, le=1_000_000)]


class _Strict(StrictBody):
    model_config = ConfigDict(extra="forbid")


class ReportingSettings(_Strict):
    """06 G8 (admin-editable; echoed in every metrics response's ``meta.parameters``)."""

    virtual_students_per_teacher: Annotated[StrictInt, Field(ge=1, le=100)] = Field(
        description="N: estimated students per confirmed teacher on a delivered virtual session (M73)"
    )


class SchoolUpdate(_Strict):
    """``school.level`` (Polaris-owned; 06 §6.5 reads ``level = 'high'``). ``null`` clears it."""

    level: SchoolLevel | None


class AttendanceDetailIn(_Strict):
    """06 M110 inputs of one in-person event; a ``PUT`` replaces all three (an omitted key is null)."""

    total_students: Count | None = None
    num_classrooms: Count | None = None
    rotations: Count | None = None


class AttendanceDetailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: int
    total_students: int | None
    num_classrooms: int | None
    rotations: int | None
    updated_at: dt.datetime | None
    updated_by_id: int | None


class ExclusionUpdate(_Strict):
    """06 G3: a person with ``exclude_from_reports`` is left out of every metric."""

    exclude_from_reports: StrictBool


class ExclusionOut(BaseModel):
    """The reporting flag of a teacher or student, and nothing else about the person (07 DV-1)."""

    id: int
    exclude_from_reports: bool


class VolunteerUpdate(_Strict):
    """``exclude_from_reports`` (06 G3) and/or a manual ``local_status`` (08 VOC-6).

    ``local_status`` set: a staff override that imports never change. ``local_status: null``
    removes the override: the value is derived from the mailing ZIP code again.
    """

    exclude_from_reports: StrictBool = False
    local_status: LocalStatus | None = None


class VolunteerReportingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    exclude_from_reports: bool
    local_status: str = Field(description="08 VOC-6")
    local_status_source: Literal["derived", "self_reported", "manual"] = Field(
        description="derived (mailing ZIP code), self_reported (website form) or manual (staff override)"
    )
    local_status_updated_at: dt.datetime | None
