"""Users, logins, passwords and API keys (07 AC-3..AC-5, AUD-1)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import ADMIN, Principal
from polaris_api.db import utcnow
from polaris_api.errors import NamedProblem, not_found
from polaris_api.models.identity import ApiKey, User
from polaris_api.schemas.common import normalize_email
from polaris_api.schemas.identity import ApiKeyCreate, UserCreate, UserUpdate
from polaris_api.security import generate_api_key, hash_password, verify_password
from polaris_api.services import audit

# Changing any of these invalidates the user's existing tokens (AC-4).
TOKEN_INVALIDATING_FIELDS = frozenset(
    {"password", "security_level", "scope_type", "allowed_district_ids", "is_active"}
)


class InvalidCredentials(NamedProblem):
    """AC-3: the login failed (no hint whether the email or the password was wrong)."""

    status, code = 401, "invalid_credentials"
    default_detail = "Email or password is incorrect."
    default_headers = {"WWW-Authenticate": "Bearer"}


class WrongPassword(NamedProblem):
    status, code = 400, "wrong_password"
    default_detail = "The current password is not correct."


class DistrictsNeedDistrictScope(NamedProblem):
    status, code = 422, "districts_need_district_scope"
    default_detail = "allowed_district_ids is only meaningful with scope_type 'district'."


class AdminMustBeGlobal(NamedProblem):
    status, code = 422, "admin_must_be_global"
    default_detail = "An admin must have the global scope."


class EmailTaken(NamedProblem):
    status, code = 409, "email_taken"
    default_detail = "A user with this email already exists."


class NullNotAllowed(NamedProblem):
    status, code = 422, "null_not_allowed"
    default_detail = "Only first_name and last_name may be set to null."


class CannotDemoteSelf(NamedProblem):
    status, code = 409, "cannot_demote_self"
    default_detail = "An admin cannot deactivate or demote their own account."


class TimezoneRequired(NamedProblem):
    status, code = 422, "timezone_required"
    default_detail = "expires_at needs a UTC offset."


class ExpiryInPast(NamedProblem):
    status, code = 422, "expiry_in_past"
    default_detail = "expires_at must be in the future."


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    statement = select(User).where(User.email == normalize_email(email))
    return (await session.execute(statement)).scalar_one_or_none()


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Audits success and failure (AUD-1)."""
    user = await find_user_by_email(session, email)
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        await audit.record_anonymous(
            session,
            "auth.login.failed",
            entity_type="user",
            entity_id=user.id if user else None,
            details={"email": normalize_email(email)},
        )
        return None
    user.last_login_at = utcnow()
    principal = Principal(
        kind="user", id=user.id, security_level=user.security_level, scope_type=user.scope_type
    )
    await audit.record(
        session, "auth.login.succeeded", actor=principal, entity_type="user", entity_id=user.id
    )
    return user


async def change_password(session: AsyncSession, principal: Principal, current: str, new: str) -> None:
    user = await session.get(User, principal.user_id)
    if user is None or not verify_password(current, user.password_hash):
        raise WrongPassword()
    user.password_hash = hash_password(new)
    user.token_version += 1
    await audit.record(
        session, "user.password.changed", actor=principal, entity_type="user", entity_id=user.id
    )


def _validate_scope(scope_type: str, allowed_district_ids: list[int], security_level: int) -> None:
    if scope_type == "global" and allowed_district_ids:
        raise DistrictsNeedDistrictScope()
    if scope_type == "district" and security_level >= ADMIN:
        raise AdminMustBeGlobal()


async def create_user(session: AsyncSession, actor: Principal | None, body: UserCreate) -> User:
    _validate_scope(body.scope_type, body.allowed_district_ids, body.security_level)
    user = User(
        email=body.email,
        first_name=body.first_name,
        last_name=body.last_name,
        password_hash=hash_password(body.password),
        security_level=body.security_level,
        scope_type=body.scope_type,
        allowed_district_ids=sorted(set(body.allowed_district_ids)),
        is_active=body.is_active,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise EmailTaken() from None
    await audit.record(
        session,
        "user.created",
        actor=actor,
        entity_type="user",
        entity_id=user.id,
        changes={
            "email": (None, user.email),
            "security_level": (None, user.security_level),
            "scope_type": (None, user.scope_type),
            "allowed_district_ids": (None, user.allowed_district_ids),
            "is_active": (None, user.is_active),
        },
    )
    return user


async def update_user(session: AsyncSession, actor: Principal, user_id: int, body: UserUpdate) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise not_found("user")
    submitted: dict[str, Any] = body.model_dump(exclude_unset=True)
    if any(
        submitted.get(key, "") is None
        for key in ("email", "password", "security_level", "scope_type", "is_active")
    ):
        raise NullNotAllowed()
    if "allowed_district_ids" in submitted:
        submitted["allowed_district_ids"] = sorted(set(submitted["allowed_district_ids"]))
    _validate_scope(
        submitted.get("scope_type", user.scope_type),
        submitted.get("allowed_district_ids", user.allowed_district_ids),
        submitted.get("security_level", user.security_level),
    )
    if user.id == actor.user_id and (
        submitted.get("is_active") is False or submitted.get("security_level", ADMIN) < ADMIN
    ):
        raise CannotDemoteSelf()
    password = submitted.pop("password", None)
    before = {key: getattr(user, key) for key in submitted}
    changes = audit.diff(before, submitted)
    for key, value in submitted.items():
        setattr(user, key, value)
    if password is not None:
        user.password_hash = hash_password(password)
        changes["password"] = ("***", "***")
    if TOKEN_INVALIDATING_FIELDS & changes.keys():
        user.token_version += 1
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise EmailTaken() from None
    if changes:
        await audit.record(
            session, "user.updated", actor=actor, entity_type="user", entity_id=user.id, changes=changes
        )
    await session.flush()
    return user


async def create_api_key(session: AsyncSession, actor: Principal, body: ApiKeyCreate) -> tuple[ApiKey, str]:
    if body.expires_at is not None:
        if body.expires_at.tzinfo is None:
            raise TimezoneRequired()
        if body.expires_at <= utcnow():
            raise ExpiryInPast()
    new_key = generate_api_key()
    api_key = ApiKey(
        name=body.name,
        prefix=new_key.prefix,
        key_digest=new_key.digest,
        scopes=sorted(set(body.scopes)),
        owner_user_id=actor.user_id,
        created_at=utcnow(),
        expires_at=body.expires_at,
    )
    session.add(api_key)
    await session.flush()
    await audit.record(
        session,
        "api_key.created",
        actor=actor,
        entity_type="api_key",
        entity_id=api_key.id,
        changes={"scopes": (None, api_key.scopes), "prefix": (None, api_key.prefix)},
    )
    return api_key, new_key.key


async def revoke_api_key(session: AsyncSession, actor: Principal, key_id: int) -> ApiKey:
    api_key = await session.get(ApiKey, key_id)
    if api_key is None:
        raise not_found("API key")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        await audit.record(
            session,
            "api_key.revoked",
            actor=actor,
            entity_type="api_key",
            entity_id=api_key.id,
            changes={"revoked_at": (None, api_key.revoked_at)},
        )
        await session.flush()
    return api_key


async def ensure_bootstrap_admin(session: AsyncSession, email: str, password: str) -> User | None:
    """Create the configured first admin when no admin exists yet (POLARIS_BOOTSTRAP_ADMIN_*)."""
    existing = (await session.execute(select(User.id).where(User.security_level >= ADMIN).limit(1))).first()
    if existing is not None:
        return None
    return await create_user(session, None, UserCreate(email=email, password=password, security_level=ADMIN))
