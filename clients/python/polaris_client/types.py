"""Response shapes of the endpoints the client wraps (see openapi/openapi.json for all)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypedDict, TypeVar

T = TypeVar("T")


class Page(TypedDict, Generic[T]):
    items: list[T]
    page: int
    page_size: int
    total: int


class Token(TypedDict):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


class Principal(TypedDict):
    kind: Literal["user", "api_key", "teacher"]
    id: int
    role: str
    security_level: int | None
    scope_type: str | None
    allowed_district_ids: list[int]
    api_key_scopes: list[str] | None
    user: dict[str, Any] | None


class SyncRun(TypedDict, total=False):
    id: int
    run_id: int
    kind: str
    mode: str
    trigger: str
    status: str
    counts: dict[str, int]
    errors: list[dict[str, Any]]
    started_at: str | None
    finished_at: str | None


class PublicEvent(TypedDict, total=False):
    event_id: int
    sf_event_id: str | None
    name: str
    event_type: str | None
    start_date: str
    start_datetime: str | None
    date_and_time: str | None
    location: str | None
    description: str | None
    available_slots: int
    filled_volunteer_jobs: int
    remaining_slots: int
    signup_open: bool
    registration_link: str | None
    districts: list[dict[str, Any]]
    is_dia: bool


class SignupResult(TypedDict, total=False):
    status: Literal["signed_up", "already_signed_up"]
    signup_id: int
    event_id: int
    email_status: str
    message: str


class ReportMeta(TypedDict):
    """06 §7: definition version, when computed, every filter echoed, parameters, data freshness."""

    metrics_version: str
    computed_at: str
    cached: bool
    filters: dict[str, Any]
    parameters: dict[str, Any]
    data_freshness: dict[str, Any]


class MetricsResult(TypedDict, total=False):
    """``GET /api/v1/metrics``: ``metrics`` ungrouped, ``groups`` with ``group_by``."""

    meta: ReportMeta
    metrics: dict[str, Any]
    groups: list[dict[str, Any]]


class DistrictRef(TypedDict):
    id: int
    name: str


class YearEndCard(TypedDict):
    district: DistrictRef
    events_total: int
    students_total: int
    volunteer_hours_total: float
    unique_volunteers: int


class YearEndCardPage(TypedDict):
    meta: ReportMeta
    school_year: str
    school_year_label: str
    host_filter: str
    items: list[YearEndCard]
    page: int
    page_size: int
    total: int


class YearEndReport(TypedDict):
    """06 §6.9; ``enhanced``, ``program_breakdown`` and ``timeline`` as in openapi/openapi.json."""

    meta: ReportMeta
    district: DistrictRef
    school_year: str
    school_year_label: str
    host_filter: str
    enhanced: dict[str, Any]
    program_breakdown: dict[str, Any]
    timeline: dict[str, Any]
    manual_inputs: dict[str, float | int | None]


class ManualInputsResult(TypedDict):
    district: DistrictRef
    school_year: str
    host_filter: str
    manual_inputs: dict[str, float | int | None]


@dataclass(frozen=True)
class Download:
    """An exported file: its bytes, media type, suggested file name and the ``X-Report-Meta`` header."""

    content: bytes
    media_type: str
    filename: str | None
    report_meta: str | None
