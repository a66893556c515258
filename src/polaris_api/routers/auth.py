"""Login, current principal, own password (00 §5.1; 07 AC-3, AC-4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from polaris_api.auth import AccountOwner, AnyPrincipal
from polaris_api.deps import ClientIP, SessionDep, SettingsDep
from polaris_api.errors import ValidationFailed, problem_responses
from polaris_api.models.identity import User
from polaris_api.observability import person_hash
from polaris_api.ratelimit import RateLimitUnavailable
from polaris_api.schemas.identity import PasswordChange, PrincipalOut, TokenResponse, UserOut
from polaris_api.security import issue_token
from polaris_api.services import identity

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenResponse,
    responses=problem_responses(identity.InvalidCredentials, 422, 429, RateLimitUnavailable),
)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    client_ip: ClientIP,
) -> TokenResponse:
    """OAuth2 password flow: `username` is the email. 5 attempts per minute per IP and username (AC-3)."""
    if len(form.username) > 320 or len(form.password) > 256:
        raise ValidationFailed("username or password too long")
    limiter = request.app.state.rate_limiter
    await limiter.enforce([request.app.state.limits.login], "login", client_ip, person_hash(form.username))
    user = await identity.authenticate(session, form.username, form.password)
    if user is None:
        # AUD-1: the failed attempt's audit entry must outlive the 401 (an error rolls back)
        await session.commit()
        raise identity.InvalidCredentials()
    assert settings.jwt_secret is not None
    token, expires_in = issue_token(
        secret=settings.jwt_secret.get_secret_value(),
        subject=user.id,
        token_type="staff",
        version=user.token_version,
        minutes=settings.access_token_minutes,
    )
    return TokenResponse(access_token=token, expires_in=expires_in)


@router.get("/me", response_model=PrincipalOut, responses=problem_responses(401))
async def me(principal: AnyPrincipal, session: SessionDep) -> PrincipalOut:
    user = await session.get(User, principal.user_id) if principal.user_id else None
    return PrincipalOut(
        kind=principal.kind,
        id=principal.id,
        role=principal.role,
        security_level=principal.security_level if principal.kind != "teacher" else None,
        scope_type=principal.scope_type if principal.kind != "teacher" else None,
        allowed_district_ids=sorted(principal.allowed_district_ids),
        api_key_scopes=sorted(principal.api_scopes) if principal.api_scopes is not None else None,
        user=UserOut.model_validate(user) if user else None,
    )


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(identity.WrongPassword, 401, 403, 422),
)
async def change_password(body: PasswordChange, principal: AccountOwner, session: SessionDep) -> None:
    """Change your own password; every token issued before stops working (AC-4)."""
    await identity.change_password(session, principal, body.current_password, body.new_password)
