"""Bodies of ``POST /api/v1/teachers/{teacher_id}/merge`` (07 CAP "merge duplicate teachers")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from polaris_api.schemas.common import MAX_DB_ID, StrictBody


class TeacherMergeRequest(StrictBody):
    into_teacher_id: int = Field(ge=1, le=MAX_DB_ID, description="the teacher that survives")
    dry_run: bool = Field(False, description="report what would change; write nothing")


class EventLinkMove(BaseModel):
    event_id: int
    outcome: Literal["moved", "kept_survivor", "kept_merged"] = Field(
        description="moved: the survivor had no link to the session; kept_survivor/kept_merged: both "
        "were linked, the named one's link (status, attendance, note) is kept and the other removed"
    )
    status: str = Field(description="the status the survivor's link has after the merge")
    dropped_status: str | None = Field(None, description="status of the link removed as a duplicate")


class RosterRecordMove(BaseModel):
    teacher_progress_id: int
    district_id: int
    academic_year: str
    outcome: Literal["relinked", "kept", "deactivated_duplicate", "inactive_duplicate"] = Field(
        description="relinked: now linked to the survivor; kept: the record kept for its district and "
        "year when both teachers had one; deactivated_duplicate: the other, deactivated "
        "(manual_admin, data_entry_error) so the teacher is counted once; inactive_duplicate: the other, "
        "already inactive"
    )


class OverrideMove(BaseModel):
    override_id: int
    event_id: int
    outcome: Literal["moved", "reversed_duplicate"] = Field(
        description="moved to the kept roster record; reversed_duplicate: that record already has an "
        "active override for the event, so this one is reversed"
    )


class TeacherMergeOut(BaseModel):
    teacher_id: int = Field(description="the duplicate, marked merged (never deleted)")
    into_teacher_id: int
    dry_run: bool
    event_links: list[EventLinkMove]
    roster_records: list[RosterRecordMove]
    overrides: list[OverrideMove]
    magic_links_invalidated: int = Field(description="unused magic links of deactivated duplicate records")
    emails_added: list[str] = Field(description="addresses the survivor gains as email rows")
    pathful_user_id: Literal["none", "moved", "kept_survivor"] = Field(
        description="moved: the survivor had none and takes the duplicate's; kept_survivor: both had one, "
        "the duplicate keeps its own, which Pathful imports follow to the survivor (merged_into_id)"
    )
    communications: int = Field(description="logged communications moved to the survivor")
    data_issues: int = Field(description="teacher data issues moved to the survivor")
    unmatched_records: int = Field(description="resolved Pathful unmatched records now naming the survivor")
    merged_teachers: list[int] = Field(
        description="teachers merged earlier into the duplicate, now into the survivor"
    )
    district_id_filled: bool = Field(
        description="the survivor had no roster district and takes the duplicate's"
    )
