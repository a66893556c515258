"""Teacher magic links (04 ML-*), the teacher-access kill switch (07 PRIV-7) and data issues (ML-10).

Teacher-facing endpoints (``request``, ``exchange``, ``me``, ``issues``) answer 503 while an admin
has disabled teacher access, before anything else runs. A teacher token works only on
``/teacher-access/me`` and ``POST /teacher-access/issues`` (every other rule refuses the
``teacher`` kind, ML-8); no parameter chooses the teacher: identity comes from the token alone.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from limits import parse

from polaris_api.auth import (
    AdminUser,
    Principal,
    Rule,
    TeacherPrincipal,
    bearer_scheme,
    district_scoped,
    requires,
)
from polaris_api.deps import SessionDep, SettingsDep, client_ip
from polaris_api.errors import UnknownEvent, not_found, problem_responses
from polaris_api.models.teachers import TeacherProgress
from polaris_api.pagination import Pagination
from polaris_api.ratelimit import RateLimitUnavailable
from polaris_api.schemas.common import IdPath, IdQuery, normalize_email
from polaris_api.schemas.teacher_access import (
    AcceptedOut,
    DataIssueCreate,
    DataIssueCreated,
    DataIssueOut,
    DataIssuePage,
    DataIssueStatus,
    DataIssueUpdate,
    MagicLinkExchange,
    MagicLinkRequest,
    TeacherAccessSettings,
    TeacherTokenOut,
    TeacherView,
)
from polaris_api.security import decode_token, sha256_hex
from polaris_api.services import magic_links

router = APIRouter(tags=["teacher-access"])

# ML-10: "Global users, and district users in scope" review data issues (no API keys, no teachers).
REVIEW_DATA_ISSUES = Rule("review data issues", kinds=frozenset({"user"}))
# 04 TP "teacher-view (global users only, for support)"; ML-8: district users 403.
TEACHER_SUPPORT_VIEW = Rule("teacher view for support", global_only=True, kinds=frozenset({"user"}))

IssueReviewer = Annotated[Principal, Depends(district_scoped(REVIEW_DATA_ISSUES))]
SupportViewer = Annotated[Principal, Depends(requires(TEACHER_SUPPORT_VIEW))]


async def teacher_access_enabled(session: SessionDep) -> None:
    """07 PRIV-7: 503 while disabled; runs before authentication and rate limits."""
    await magic_links.require_enabled(session)


Enabled = [Depends(teacher_access_enabled)]


async def current_teacher_record(
    principal: TeacherPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(bearer_scheme)],
) -> TeacherProgress:
    """ML-7: the token's record, re-checked on every request (active, same email as its link)."""
    assert settings.jwt_secret is not None and token is not None
    claims = decode_token(token, secret=settings.jwt_secret.get_secret_value())
    assert claims is not None and principal.teacher_progress_id is not None
    return await magic_links.session_record(session, principal.teacher_progress_id, claims.version)


TeacherRecord = Annotated[TeacherProgress, Depends(current_teacher_record)]


@router.post(
    "/api/v1/teacher-access/request",
    response_model=AcceptedOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=Enabled,
    responses=problem_responses(422, 429, magic_links.TeacherAccessDisabled, RateLimitUnavailable),
)
async def request_link(
    body: MagicLinkRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, str]:
    """ML-1..ML-5: always 202 ``{"status": "accepted"}``, whether or not the email is on a roster
    (PRIV-2). For an active roster email, a single-use link is emailed through the outbox.
    Rate limited per IP and per normalized email (429 ``rate_limited`` with ``Retry-After``)."""
    limiter = request.app.state.rate_limiter
    ip = client_ip(request)
    await limiter.enforce([parse(settings.magic_link_limit_per_ip)], "magic-link-request-ip", ip)
    email_key = sha256_hex(normalize_email(body.email))
    await limiter.enforce([parse(settings.magic_link_limit_per_email)], "magic-link-request-email", email_key)
    await magic_links.request_link(session, settings, body.email, client_ip=ip)
    return {"status": "accepted"}


@router.post(
    "/api/v1/teacher-access/exchange",
    response_model=TeacherTokenOut,
    dependencies=Enabled,
    responses=problem_responses(
        magic_links.InvalidLink, 422, 429, magic_links.TeacherAccessDisabled, RateLimitUnavailable
    ),
)
async def exchange_link(
    body: MagicLinkExchange, request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """ML-6: a valid, unused, unexpired link → a teacher token (once). Any failure → the same 401
    ``invalid_link``. Rate limited per IP."""
    await request.app.state.rate_limiter.enforce(
        [parse(settings.magic_link_limit_per_ip)], "magic-link-exchange-ip", client_ip(request)
    )
    exchanged = await magic_links.exchange(session, settings, body.token)
    if exchanged is None:
        # AUD-1: the failed exchange's audit entry must outlive the 401 (an error rolls back)
        await session.commit()
        raise magic_links.invalid_link()
    token, expires_in = exchanged
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


@router.get(
    "/api/v1/teacher-access/me",
    response_model=TeacherView,
    dependencies=Enabled,
    responses=problem_responses(401, 403, magic_links.TeacherAccessDisabled),
)
async def teacher_me(record: TeacherRecord, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """ML-9: the caller's own progress and sessions (teacher token only)."""
    return await magic_links.teacher_view(session, settings, record)


@router.post(
    "/api/v1/teacher-access/issues",
    response_model=DataIssueCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=Enabled,
    responses=problem_responses(
        401,
        403,
        422,
        429,
        magic_links.TeacherAccessDisabled,
        magic_links.InvalidChoice,
        UnknownEvent,
    ),
)
async def report_issue(
    body: DataIssueCreate,
    principal: TeacherPrincipal,
    record: TeacherRecord,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """ML-10: report missing or incorrect data about the caller's own record or sessions.
    ``event_id`` must be one of the caller's sessions (422 ``unknown_event``); a body naming a
    teacher → 403; at most 10 a day."""
    issue = await magic_links.create_issue(
        session,
        settings,
        record,
        principal,
        category=body.category,
        note=body.note,
        event_id=body.event_id,
        extra_keys=set(body.model_extra or {}),
    )
    return {"id": issue.id, "status": "open"}


@router.get("/api/v1/data-issues", response_model=DataIssuePage, responses=problem_responses(401, 403, 422))
async def list_data_issues(
    principal: IssueReviewer,
    session: SessionDep,
    pagination: Pagination,
    status_: Annotated[DataIssueStatus | None, Query(alias="status")] = None,
    district_id: IdQuery | None = None,
) -> dict[str, Any]:
    """ML-10 review queue: global users see every issue, district users those of their districts."""
    items, total = await magic_links.list_issues(
        session,
        visible_district_ids=principal.visible_district_ids(),
        status=status_,
        district_id=district_id,
        limit=pagination.page_size,
        offset=pagination.offset,
    )
    return {"items": items, "page": pagination.page, "page_size": pagination.page_size, "total": total}


@router.patch(
    "/api/v1/data-issues/{issue_id}",
    response_model=DataIssueOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def update_data_issue(
    issue_id: IdPath, body: DataIssueUpdate, principal: IssueReviewer, session: SessionDep
) -> dict[str, Any]:
    """ML-10: resolve, dismiss or reopen an issue (district users: their districts only, else 403)."""
    return await magic_links.update_issue(
        session, principal, issue_id, status=body.status, resolution_note=body.resolution_note
    )


@router.put(
    "/api/v1/teacher-access/settings",
    response_model=TeacherAccessSettings,
    responses=problem_responses(401, 403, 422),
)
async def set_teacher_access(
    body: TeacherAccessSettings, principal: AdminUser, session: SessionDep
) -> dict[str, bool]:
    """07 PRIV-7 kill switch (admin): ``enabled: false`` makes every teacher-facing
    teacher-access endpoint answer 503 and issue nothing, until enabled again. Audited."""
    return {"enabled": await magic_links.set_enabled(session, principal, body.enabled)}


@router.get(
    "/api/v1/teacher-access/settings",
    response_model=TeacherAccessSettings,
    responses=problem_responses(401, 403),
)
async def get_teacher_access(principal: AdminUser, session: SessionDep) -> dict[str, bool]:
    """07 PRIV-7: whether teacher access is enabled (admin)."""
    return {"enabled": await magic_links.teacher_access_enabled(session)}


@router.get(
    "/api/v1/teacher-progress/{teacher_progress_id}/teacher-view",
    response_model=TeacherView,
    responses=problem_responses(401, 403, 404, 422),
)
async def support_teacher_view(
    teacher_progress_id: IdPath, principal: SupportViewer, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """04 TP: the ML-9 payload of a record exactly as its teacher sees it (global users, for support)."""
    record = await session.get(TeacherProgress, teacher_progress_id)
    if record is None:
        raise not_found("teacher progress record")
    return await magic_links.teacher_view(session, settings, record)
