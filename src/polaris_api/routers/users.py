"""Admin user management (00 §5.1; CAP: admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from polaris_api.auth import AdminUser
from polaris_api.deps import SessionDep
from polaris_api.errors import not_found, problem_responses
from polaris_api.models.identity import User
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.schemas.common import IdPath
from polaris_api.schemas.identity import UserCreate, UserOut, UserUpdate
from polaris_api.services import identity

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=Page[UserOut], responses=problem_responses(401, 403, 422))
async def list_users(
    principal: AdminUser,
    session: SessionDep,
    pagination: Pagination,
    is_active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="text in email or name")] = None,
) -> Page[UserOut]:
    statement = select(User)
    if is_active is not None:
        statement = statement.where(User.is_active == is_active)
    if q:
        pattern = f"%{q.strip().lower()}%"
        statement = statement.where(
            User.email.ilike(pattern) | User.first_name.ilike(pattern) | User.last_name.ilike(pattern)
        )
    return await paginate(session, statement.order_by(User.id), pagination, UserOut.model_validate)


@router.post(
    "",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        401, 403, 422, identity.EmailTaken, identity.DistrictsNeedDistrictScope, identity.AdminMustBeGlobal
    ),
)
async def create_user(body: UserCreate, principal: AdminUser, session: SessionDep) -> UserOut:
    return UserOut.model_validate(await identity.create_user(session, principal, body))


@router.get("/{user_id}", response_model=UserOut, responses=problem_responses(401, 403, 404, 422))
async def get_user(user_id: IdPath, principal: AdminUser, session: SessionDep) -> UserOut:
    user = await session.get(User, user_id)
    if user is None:
        raise not_found("user")
    return UserOut.model_validate(user)


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    responses=problem_responses(
        401,
        403,
        404,
        422,
        identity.EmailTaken,
        identity.CannotDemoteSelf,
        identity.NullNotAllowed,
        identity.DistrictsNeedDistrictScope,
        identity.AdminMustBeGlobal,
    ),
)
async def update_user(
    user_id: IdPath, body: UserUpdate, principal: AdminUser, session: SessionDep
) -> UserOut:
    """Changing password, level, scope or active flag invalidates the user's tokens (AC-4)."""
    return UserOut.model_validate(await identity.update_user(session, principal, user_id, body))
