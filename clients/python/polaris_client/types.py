"""Response shapes of the endpoints the client wraps (see openapi/openapi.json for all)."""

from __future__ import annotations

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
