"""Who is calling, and may they? (07 AC-*, CAP-*, DV-*)

Every access rule is a typed dependency. An endpoint declares the principal it needs, e.g.
``principal: GlobalStaff`` or ``principal: SyncRunner``; the dependency answers 401 without
credentials and 403 when the principal lacks the right (AC-6). District scoping (AC-2, AC-6)
is applied by :data:`DistrictReader` for district ids in the path and the query; a service
checks district ids it reads from a body or a record with :meth:`Principal.require_districts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select

from polaris_api.db import utcnow
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import forbidden, unauthorized
from polaris_api.models.identity import ApiKey, User
from polaris_api.security import decode_token, sha256_hex

ADMIN, MANAGER, SUPERVISOR, USER = 3, 2, 1, 0
LEVEL_NAMES = {0: "user", 1: "supervisor", 2: "manager", 3: "admin"}
API_KEY_SCOPES = ("sync:run", "sync:read", "imports:write", "read")

PrincipalKind = Literal["user", "api_key", "teacher"]

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a staff user, an API key (acting for its owner) or a teacher."""

    kind: PrincipalKind
    id: int
    security_level: int = USER
    scope_type: str = "global"
    allowed_district_ids: frozenset[int] = frozenset()
    api_scopes: frozenset[str] | None = None  # None: not an API key, no scope limit
    user_id: int | None = None
    teacher_progress_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_global(self) -> bool:
        return self.scope_type == "global"

    @property
    def is_admin(self) -> bool:
        return self.kind == "user" and self.security_level >= ADMIN

    @property
    def role(self) -> str:
        if self.kind == "teacher":
            return "teacher"
        level = LEVEL_NAMES.get(self.security_level, str(self.security_level))
        scope = "global" if self.is_global else "district"
        return f"{'api_key:' if self.kind == 'api_key' else ''}{level}:{scope}"

    def visible_district_ids(self) -> frozenset[int] | None:
        """None when every district is visible; otherwise the allowed set (maybe empty, AC-2)."""
        return None if self.is_global else self.allowed_district_ids

    def can_see_district(self, district_id: int) -> bool:
        allowed = self.visible_district_ids()
        return allowed is None or district_id in allowed

    def require_districts(self, district_ids: Iterable[int | None]) -> None:
        for district_id in district_ids:
            if district_id is not None and not self.can_see_district(district_id):
                raise forbidden("This district is outside your scope.")


async def _principal_from_api_key(session: SessionDep, raw_key: str) -> Principal | None:
    digest = sha256_hex(raw_key)
    key = (await session.execute(select(ApiKey).where(ApiKey.key_digest == digest))).scalar_one_or_none()
    now = utcnow()
    if key is None or key.revoked_at is not None or (key.expires_at and key.expires_at <= now):
        return None
    owner = await session.get(User, key.owner_user_id)
    if owner is None or not owner.is_active:
        return None
    if key.last_used_at is None or now - key.last_used_at > dt.timedelta(seconds=30):
        key.last_used_at = now
        await session.commit()
    return Principal(
        kind="api_key",
        id=key.id,
        security_level=owner.security_level,
        scope_type=owner.scope_type,
        allowed_district_ids=frozenset(int(d) for d in owner.allowed_district_ids),
        api_scopes=frozenset(key.scopes),
        user_id=owner.id,
    )


async def _principal_from_token(session: SessionDep, secret: str, token: str) -> Principal | None:
    claims = decode_token(token, secret=secret)
    if claims is None:
        return None
    if claims.token_type == "teacher":
        return Principal(kind="teacher", id=int(claims.subject), teacher_progress_id=int(claims.subject))
    user = await session.get(User, int(claims.subject)) if claims.subject.isdigit() else None
    if user is None or not user.is_active or user.token_version != claims.version:
        return None
    return Principal(
        kind="user",
        id=user.id,
        security_level=user.security_level,
        scope_type=user.scope_type,
        allowed_district_ids=frozenset(int(d) for d in user.allowed_district_ids),
        user_id=user.id,
    )


async def optional_principal(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal | None:
    if api_key:
        return await _principal_from_api_key(session, api_key)
    if token:
        assert settings.jwt_secret is not None
        return await _principal_from_token(session, settings.jwt_secret.get_secret_value(), token)
    return None


async def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise unauthorized("Valid credentials are required (bearer token or X-API-Key).")
    return principal


@dataclass(frozen=True)
class Rule:
    """One capability of the CAP matrix, checked against a principal."""

    name: str
    min_level: int = USER
    global_only: bool = False
    api_key_scope: str | None = None  # the scope a key needs; None: keys refused
    kinds: frozenset[PrincipalKind] = frozenset({"user", "api_key"})
    also_api_key_scopes: frozenset[str] = frozenset()  # other scopes that imply api_key_scope

    def check(self, principal: Principal) -> Principal:
        if principal.kind not in self.kinds:
            raise forbidden(f"'{self.name}' is not available to this kind of caller.")
        if principal.kind == "api_key" and (
            self.api_key_scope is None
            or not ({self.api_key_scope} | self.also_api_key_scopes) & (principal.api_scopes or frozenset())
        ):
            raise forbidden(f"This API key lacks the scope needed for '{self.name}'.")
        if principal.kind != "teacher":
            if principal.security_level < self.min_level:
                raise forbidden(f"'{self.name}' needs security level {LEVEL_NAMES[self.min_level]}.")
            if self.global_only and not principal.is_global:
                raise forbidden(f"'{self.name}' is not available to district-scoped users.")
        return principal


def requires(rule: Rule) -> Callable[..., Any]:
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        return rule.check(principal)

    dependency.__name__ = f"requires_{rule.name.replace(' ', '_').replace('-', '_')}"
    return dependency


async def _district_guard(request: Request, principal: Principal) -> Principal:
    """District ids in the path or query must be inside the caller's scope (AC-6).

    Checked on the values as the endpoint will parse them, not on the raw text: ``+1``, `` 1``
    and ``1.0`` all read as district 1 (the id types refuse them too, with 422)."""
    candidates: list[str] = []
    if "district_id" in request.path_params:
        candidates.append(str(request.path_params["district_id"]))
    candidates.extend(request.query_params.getlist("district_id"))
    principal.require_districts(_parsed_ids(candidates))
    return principal


_LAX_INT: TypeAdapter[int] = TypeAdapter(int)


def _parsed_ids(values: Iterable[str]) -> list[int]:
    """Every value an integer parameter would accept, as that integer; the rest are not ids."""
    ids = []
    for value in values:
        try:
            ids.append(_LAX_INT.validate_python(value))
        except PydanticValidationError:
            continue
    return ids


def district_scoped(rule: Rule) -> Callable[..., Any]:
    async def dependency(
        request: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Principal:
        return await _district_guard(request, rule.check(principal))

    dependency.__name__ = f"district_scoped_{rule.name.replace(' ', '_').replace('-', '_')}"
    return dependency


def metrics_scoped(rule: Rule) -> Callable[..., Any]:
    """06 /metrics (07 CAP "global dashboards and metrics" / "district metrics"): global callers
    see everything; a district-scoped caller must name one of its own districts in
    ``district_id`` (another district: 403, none: 403, the figures would be global)."""

    async def dependency(
        request: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Principal:
        principal = await _district_guard(request, rule.check(principal))
        if not principal.is_global and not _parsed_ids(request.query_params.getlist("district_id")):
            raise forbidden("Metrics without a district_id are global metrics: name one of your districts.")
        return principal

    dependency.__name__ = f"metrics_scoped_{rule.name.replace(' ', '_').replace('-', '_')}"
    return dependency


# --- The capability matrix (CAP-*) as rules; endpoints use the typed aliases below. ---
MANAGE_USERS = Rule("manage users and API keys", min_level=ADMIN)
READ_AUDIT = Rule("read audit log", min_level=ADMIN)
OWN_ACCOUNT = Rule("own account", kinds=frozenset({"user"}))
PUBLISHING = Rule("publishing controls", global_only=True, kinds=frozenset({"user"}))
EDIT_VIRTUAL_EVENTS = Rule("edit virtual events", global_only=True, kinds=frozenset({"user"}))
SET_CANCELLATION = Rule("set cancellation reason", kinds=frozenset({"user"}))
RUN_SYNC = Rule("trigger syncs", global_only=True, api_key_scope="sync:run")
# a key that may trigger syncs may also read their runs (the scheduler polls what it started)
READ_SYNC = Rule(
    "read sync runs", global_only=True, api_key_scope="sync:read", also_api_key_scopes=frozenset({"sync:run"})
)
WRITE_IMPORTS = Rule("upload imports", global_only=True, api_key_scope="imports:write")
RESOLVE_UNMATCHED = Rule("resolve unmatched rows", global_only=True, kinds=frozenset({"user"}))
MANAGE_ATTENDANCE = Rule("attendance overrides", min_level=MANAGER, global_only=True)
MANAGE_ROSTER = Rule("teacher deactivation and reactivation", min_level=MANAGER, global_only=True)
# 07 CAP "merge duplicate teachers": admin only (global staff users; no keys, no district users)
MERGE_TEACHERS = Rule(
    "merge duplicate teachers", min_level=ADMIN, global_only=True, kinds=frozenset({"user"})
)
VOLUNTEER_DATA = Rule("volunteer data", global_only=True, api_key_scope="read")
# Organizations: their names are not DV-1, but DV-2 does not list them for district users either:
# global staff and `read` keys only; district users 403.
ORGANIZATION_DATA = Rule("organization data", global_only=True, api_key_scope="read")
GLOBAL_METRICS = Rule("global metrics", global_only=True, api_key_scope="read")
DISTRICT_DATA = Rule("district data", api_key_scope="read")
TEACHER_SELF = Rule("teacher self-service", kinds=frozenset({"teacher"}))
# 09 MAIL-3 "staff": global users (recipients are people's addresses; no API keys, no district users)
MANAGE_OUTBOX = Rule("email outbox", global_only=True, kinds=frozenset({"user"}))
# 06 §1 metric inputs Polaris owns (attendance details, report exclusions, local status override):
# global staff users, like publishing controls; district users, keys and teachers 403
EDIT_METRIC_INPUTS = Rule("edit metric inputs", global_only=True, kinds=frozenset({"user"}))
# 06 G8 reporting settings and school levels (global reference inputs): global admins only
ADMIN_METRIC_INPUTS = Rule(
    "admin metric inputs", min_level=ADMIN, global_only=True, kinds=frozenset({"user"})
)
# 04 PF-3 header aliases of the file imports: admin-managed configuration
COLUMN_ALIASES = Rule("column aliases", min_level=ADMIN, global_only=True, kinds=frozenset({"user"}))

AnyPrincipal = Annotated[Principal, Depends(current_principal)]
AdminUser = Annotated[Principal, Depends(requires(MANAGE_USERS))]
AuditReader = Annotated[Principal, Depends(requires(READ_AUDIT))]
AccountOwner = Annotated[Principal, Depends(requires(OWN_ACCOUNT))]
Publisher = Annotated[Principal, Depends(requires(PUBLISHING))]
VirtualEventEditor = Annotated[Principal, Depends(requires(EDIT_VIRTUAL_EVENTS))]
SyncRunner = Annotated[Principal, Depends(requires(RUN_SYNC))]
SyncReader = Annotated[Principal, Depends(requires(READ_SYNC))]
Importer = Annotated[Principal, Depends(requires(WRITE_IMPORTS))]
UnmatchedResolver = Annotated[Principal, Depends(requires(RESOLVE_UNMATCHED))]
AttendanceManager = Annotated[Principal, Depends(requires(MANAGE_ATTENDANCE))]
RosterManager = Annotated[Principal, Depends(requires(MANAGE_ROSTER))]
TeacherMerger = Annotated[Principal, Depends(requires(MERGE_TEACHERS))]
VolunteerReader = Annotated[Principal, Depends(requires(VOLUNTEER_DATA))]
OrganizationReader = Annotated[Principal, Depends(requires(ORGANIZATION_DATA))]
MetricsReader = Annotated[Principal, Depends(requires(GLOBAL_METRICS))]
MetricsViewer = Annotated[Principal, Depends(metrics_scoped(DISTRICT_DATA))]
DistrictReader = Annotated[Principal, Depends(district_scoped(DISTRICT_DATA))]
TeacherPrincipal = Annotated[Principal, Depends(requires(TEACHER_SELF))]
OutboxOperator = Annotated[Principal, Depends(requires(MANAGE_OUTBOX))]
MetricInputEditor = Annotated[Principal, Depends(requires(EDIT_METRIC_INPUTS))]
MetricInputAdmin = Annotated[Principal, Depends(requires(ADMIN_METRIC_INPUTS))]
ColumnAliasAdmin = Annotated[Principal, Depends(requires(COLUMN_ALIASES))]
