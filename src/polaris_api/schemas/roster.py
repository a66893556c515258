"""District roster rows (04 RO-2) and the API bodies of roster, teacher and teacher-progress endpoints.

:class:`DistrictRosterRow` is the inbound model of one roster row (00 N-6): its aliases are the
roster's column names (the first alias is the canonical name; 04 PF-3 header matching adds the
admin-managed ``column_alias`` rows of ``import_type='roster'``) and its validators are the RO-2
transforms. Validation errors carry a stable code and never the submitted value (07 PRIV-1).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from polaris_api.schemas.common import StrictBody, clean_text_input, normalize_email

# ---------------------------------------------------------------------------------------------
# Inbound roster row (RO-2)

ACADEMIC_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
# RO-2: one '@' with a dot after it (and something on each side of both).
ROSTER_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_TARGET_SESSIONS = 1000


def _required(value: object) -> str:
    cleaned = clean_text_input(value)
    if cleaned is None:
        raise PydanticCustomError("missing_value", "a value is required")
    if not isinstance(cleaned, str):
        cleaned = str(cleaned)
    return cleaned


def academic_year_start(value: str) -> int:
    """``YYYY-YYYY`` with the second year = first + 1 → the first year; ValueError otherwise."""
    match = ACADEMIC_YEAR.match(value)
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise ValueError("academic year must be YYYY-YYYY, the second year the first plus one")
    return int(match.group(1))


class DistrictRosterRow(BaseModel):
    """One row of a district roster file (04 RO-2)."""

    model_config = ConfigDict(extra="ignore")

    teacher_email: str = Field(validation_alias=AliasChoices("Teacher Email"), max_length=255)
    teacher_name: str = Field(validation_alias=AliasChoices("Teacher Name"), max_length=255)
    building: str = Field(
        validation_alias=AliasChoices("School/Building", "School", "Building"), max_length=255
    )
    grade: str | None = Field(None, validation_alias=AliasChoices("Grade"), max_length=64)
    academic_year: str = Field(validation_alias=AliasChoices("Academic Year"))
    virtual_year: str = Field(validation_alias=AliasChoices("Virtual Year"))
    target_sessions: int = Field(1, validation_alias=AliasChoices("Target Sessions"))

    @field_validator("teacher_email", mode="before")
    @classmethod
    def _email(cls, value: object) -> str:
        email = normalize_email(_required(value))  # 00 N-1
        if not ROSTER_EMAIL.match(email):
            raise PydanticCustomError("invalid_email", "must contain one '@' with a dot after it")
        return email

    @field_validator("teacher_name", "building", mode="before")
    @classmethod
    def _text(cls, value: object) -> str:
        return _required(value)  # N-2: whitespace collapsed

    @field_validator("grade", mode="before")
    @classmethod
    def _grade(cls, value: object) -> object:
        return clean_text_input(value)

    @field_validator("academic_year", mode="before")
    @classmethod
    def _academic_year(cls, value: object) -> str:
        text = _required(value)
        try:
            academic_year_start(text)
        except ValueError:
            raise PydanticCustomError(
                "invalid_academic_year", "must be YYYY-YYYY, the second year the first plus one"
            ) from None
        return text

    @field_validator("virtual_year", mode="before")
    @classmethod
    def _virtual_year(cls, value: object, info: ValidationInfo) -> str:
        text = _required(value)
        academic_year = info.data.get("academic_year")
        if academic_year is not None and text != academic_year:
            raise PydanticCustomError("virtual_year_mismatch", "must equal the Academic Year")
        return text

    @field_validator("target_sessions", mode="before")
    @classmethod
    def _target(cls, value: object) -> int:
        text = clean_text_input(value)
        if text is None:
            return 1
        if isinstance(text, int) and not isinstance(text, bool):
            number = text
        elif isinstance(text, str) and re.fullmatch(r"\d+", text):
            number = int(text)
        else:
            raise PydanticCustomError("invalid_target_sessions", "must be a whole number of at least 1")
        if not 1 <= number <= MAX_TARGET_SESSIONS:
            raise PydanticCustomError(
                "invalid_target_sessions", f"must be between 1 and {MAX_TARGET_SESSIONS}"
            )
        return number


def roster_columns() -> list[tuple[str, str, tuple[str, ...], bool]]:
    """``(field, canonical column, every alias, required)`` for each roster column, in order."""
    columns = []
    for name, info in DistrictRosterRow.model_fields.items():
        alias = info.validation_alias
        choices = tuple(str(choice) for choice in alias.choices) if isinstance(alias, AliasChoices) else ()
        columns.append((name, choices[0], choices, info.is_required()))
    return columns


# ---------------------------------------------------------------------------------------------
# Roster import report (RO-13)


class RosterWarning(BaseModel):
    row: int | None
    code: str
    message: str
    column: str | None = None
    reason: str | None = None
    first_row: int | None = None


class ProtectedSkipped(BaseModel):
    teacher_progress_id: int
    email: str
    name: str
    deactivated_at: dt.datetime | None
    deactivation_reason: str | None


class RosterChange(BaseModel):
    """What an applied row changes (dry runs report exactly this)."""

    row: int
    email: str
    action: Literal["added", "updated"]
    teacher_progress_id: int | None = Field(None, description="null for a new record in a dry run")
    fields: list[str] = Field(default_factory=list, description="changed record fields")
    reactivated: bool = False
    teacher: Literal["kept", "linked", "created"]


class RosterDeactivation(BaseModel):
    teacher_progress_id: int
    email: str
    name: str


class RosterReport(BaseModel):
    """The RO-13 report: ``rows_total = added + updated + unchanged + len(protected_skipped) + skipped``."""

    import_id: int | None = Field(description="null for a dry run (nothing is stored)")
    kind: Literal["roster"] = "roster"
    district_id: int
    academic_year: str | None
    dry_run: bool
    forced: bool = Field(description="the RO-9 guard was exceeded and bypassed with force=true")
    duration: float
    rows_total: int
    added: int
    updated: int
    unchanged: int
    deactivated: int
    skipped: int
    protected_skipped: list[ProtectedSkipped]
    warnings: list[RosterWarning]
    active_before: int
    teachers_created: int
    changes: list[RosterChange]
    deactivated_records: list[RosterDeactivation]


# ---------------------------------------------------------------------------------------------
# Teachers and roster record lifecycle (RO-14)

DeactivationReason = Literal["left_district", "transferred", "retired", "data_entry_error", "other"]


class DeactivateBody(StrictBody):
    reason: DeactivationReason
    notes: Annotated[str | None, Field(None, max_length=2000)] = None

    @field_validator("notes", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_text_input(value)


class ReactivateBody(StrictBody):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]

    @field_validator("reason", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_text_input(value) or ""


class TeacherOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str | None
    last_name: str
    email: str | None = Field(description="normalized primary email")
    school_id: int | None
    school_name: str | None
    district_id: int | None
    import_source: str
    is_active: bool
    salesforce_id: str | None
    merged_into_id: int | None = Field(None, description="set when this teacher was merged into another")


# ---------------------------------------------------------------------------------------------
# Teacher progress (TP-*) and overrides (TP-5, TP-6)

ProgressStatus = Literal["achieved", "in_progress", "not_started"]


class ProgressMeta(BaseModel):
    """06 §7 metadata carried by teacher-progress responses."""

    metrics_version: str
    computed_at: dt.datetime
    cached: bool = False
    filters: dict[str, Any]
    parameters: dict[str, Any]
    data_freshness: dict[str, Any]


class TeacherProgressItem(BaseModel):
    id: int
    district_id: int
    academic_year: str
    name: str
    email: str
    building: str | None
    school_id: int | None
    grade: str | None
    target_sessions: int
    teacher_id: int | None
    is_active: bool
    attended_count: int
    status: ProgressStatus


class TeacherProgressPage(BaseModel):
    items: list[TeacherProgressItem]
    page: int
    page_size: int
    total: int
    meta: ProgressMeta


class NamedRef(BaseModel):
    id: int | None
    name: str


class SchoolProgressCounts(BaseModel):
    school: NamedRef
    teachers: int
    achieved: int
    in_progress: int
    not_started: int


class DistrictProgressCounts(BaseModel):
    district: NamedRef
    schools: int
    teachers: int
    achieved: int
    in_progress: int
    not_started: int
    by_school: list[SchoolProgressCounts]


class TeacherProgressSummary(BaseModel):
    meta: ProgressMeta
    academic_year: str
    districts: list[DistrictProgressCounts]


class ProgressSession(BaseModel):
    event_id: int
    title: str
    start_date: dt.datetime | None
    status: str | None = Field(
        description="the teacher's participation status; 'attended' for an add override"
    )
    event_status: str | None
    counted: bool
    source: Literal["import", "override"]


class OverrideOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    teacher_progress_id: int
    event_id: int
    action: Literal["add", "remove"]
    reason: str
    is_active: bool
    created_by_id: int | None
    created_at: dt.datetime
    reversed_by_id: int | None
    reversed_at: dt.datetime | None
    reversal_reason: str | None


class TeacherProgressDetail(TeacherProgressItem):
    deactivation_source: str | None
    deactivated_at: dt.datetime | None
    deactivation_reason: str | None
    deactivation_notes: str | None
    reactivated_at: dt.datetime | None
    reactivation_reason: str | None
    window_start: dt.datetime
    window_end: dt.datetime
    sessions: list[ProgressSession]
    overrides: list[OverrideOut]
    meta: ProgressMeta


class OverrideCreate(StrictBody):
    event_id: Annotated[int, Field(ge=1, le=2_147_483_647)]
    action: Literal["add", "remove"]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]

    @field_validator("reason", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class OverrideReverse(StrictBody):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]

    @field_validator("reason", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class RosterRecordOut(BaseModel):
    """A roster record's lifecycle after a manual deactivation or reactivation (RO-14)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    district_id: int
    academic_year: str
    name: str
    email: str
    is_active: bool
    deactivation_source: str | None
    deactivated_at: dt.datetime | None
    deactivation_reason: str | None
    deactivation_notes: str | None
    deactivated_by_id: int | None
    reactivated_at: dt.datetime | None
    reactivation_reason: str | None
