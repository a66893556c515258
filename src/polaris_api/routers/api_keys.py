"""API keys for machine clients (07 AC-5; CAP: admin only)."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from polaris_api.auth import AdminUser
from polaris_api.deps import SessionDep
from polaris_api.errors import problem_responses
from polaris_api.models.identity import ApiKey
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.schemas.common import IdPath
from polaris_api.schemas.identity import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from polaris_api.services import identity

router = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"])


@router.get("", response_model=Page[ApiKeyOut], responses=problem_responses(401, 403, 422))
async def list_api_keys(
    principal: AdminUser, session: SessionDep, pagination: Pagination, include_revoked: bool = False
) -> Page[ApiKeyOut]:
    statement = select(ApiKey)
    if not include_revoked:
        statement = statement.where(ApiKey.revoked_at.is_(None))
    return await paginate(session, statement.order_by(ApiKey.id), pagination, ApiKeyOut.model_validate)


@router.post(
    "",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 422, identity.TimezoneRequired, identity.ExpiryInPast),
)
async def create_api_key(body: ApiKeyCreate, principal: AdminUser, session: SessionDep) -> ApiKeyCreated:
    """The key is in this response only; it is stored as a SHA-256 digest (AC-5)."""
    api_key, key = await identity.create_api_key(session, principal, body)
    return ApiKeyCreated(
        id=api_key.id, key=key, prefix=api_key.prefix, scopes=api_key.scopes, expires_at=api_key.expires_at
    )


@router.delete("/{key_id}", response_model=ApiKeyOut, responses=problem_responses(401, 403, 404, 422))
async def revoke_api_key(key_id: IdPath, principal: AdminUser, session: SessionDep) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await identity.revoke_api_key(session, principal, key_id))
