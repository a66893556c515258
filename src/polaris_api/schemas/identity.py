"""API bodies for auth, users and API keys (00 §5.1, 07 AC-*)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

from polaris_api.auth import API_KEY_SCOPES, LEVEL_NAMES
from polaris_api.schemas.common import CleanText, Email, Password, StrictBody

SecurityLevel = Annotated[
    int, Field(ge=0, le=3, description="VOC-17: 0 user, 1 supervisor, 2 manager, 3 admin")
]
ScopeType = Literal["global", "district"]
ApiKeyScope = Literal["sync:run", "sync:read", "imports:write", "read"]
assert set(ApiKeyScope.__args__) == set(API_KEY_SCOPES)  # type: ignore[attr-defined]

Name = Annotated[CleanText, StringConstraints(max_length=100)]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class PasswordChange(StrictBody):
    current_password: Annotated[str, Field(max_length=256)]
    new_password: Password


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    first_name: str | None
    last_name: str | None
    security_level: int
    scope_type: str
    allowed_district_ids: list[int]
    is_active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def security_level_name(self) -> str:
        return LEVEL_NAMES[self.security_level]


class PrincipalOut(BaseModel):
    kind: Literal["user", "api_key", "teacher"]
    id: int
    role: str
    security_level: int | None
    scope_type: str | None
    allowed_district_ids: list[int]
    api_key_scopes: list[str] | None
    user: UserOut | None


class UserCreate(StrictBody):
    email: Email
    first_name: Name | None = None
    last_name: Name | None = None
    password: Password
    security_level: SecurityLevel = 0
    scope_type: ScopeType = "global"
    allowed_district_ids: Annotated[list[Annotated[int, Field(ge=1)]], Field(max_length=500)] = []
    is_active: bool = True


class UserUpdate(StrictBody):
    email: Email | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    password: Password | None = None
    security_level: SecurityLevel | None = None
    scope_type: ScopeType | None = None
    allowed_district_ids: Annotated[list[Annotated[int, Field(ge=1)]], Field(max_length=500)] | None = None
    is_active: bool | None = None


class ApiKeyCreate(StrictBody):
    name: Name
    scopes: Annotated[list[ApiKeyScope], Field(min_length=1, max_length=4)]
    expires_at: dt.datetime | None = None


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    scopes: list[str]
    owner_user_id: int
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class ApiKeyCreated(BaseModel):
    """The only response that ever contains the key itself (AC-5)."""

    id: int
    key: str
    prefix: str
    scopes: list[str]
    expires_at: dt.datetime | None


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: dt.datetime
    actor_type: str
    actor_id: int | None
    actor_role: str | None
    action: str
    entity_type: str | None
    entity_id: str | None
    changes: dict[str, object]
    request_id: str | None
    client_ip: str | None
