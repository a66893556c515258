"""Teacher magic links (04 ML-1..ML-11), the teacher-access kill switch (07 PRIV-7) and data issues.

* ML-1/ML-2/PRIV-2: a request always gets the same answer; the work is the same either way (a
  token is generated and a sealed body built); only a known, active roster email stores a link
  and an outbox message.
* ML-4: the raw token exists only in the emailed link. ``magic_link.token_hash`` is its SHA-256;
  the outbox body is sealed with a key derived from the JWT secret and blanked once sent.
* ML-6: the exchange is one conditional ``UPDATE ... WHERE used_at IS NULL AND invalidated_at IS
  NULL AND expires_at > now AND <record active, same email>``; any failure is the same 401.
* ML-7: the teacher JWT is ``security.issue_token(type='teacher', sub=<teacher_progress id>)``
  and its ``ver`` claim is the id of the link it was exchanged for, so each request can re-check
  that the record is active and still has the link's email.

Every function takes ``now`` so tests can move the clock without patching.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import (
    NamedProblem,
    Problem,
    RateLimited,
    Unauthorized,
    UnknownEvent,
    forbidden,
    not_found,
)
from polaris_api.models.app_setting import TEACHER_ACCESS_ENABLED, AppSetting
from polaris_api.models.teachers import DataIssue, MagicLink, TeacherProgress
from polaris_api.observability import person_hash
from polaris_api.schemas.common import normalize_email
from polaris_api.security import generate_opaque_token, issue_token, sha256_hex
from polaris_api.services import audit, outbox
from polaris_api.services import teacher_progress as tp
from polaris_api.settings import Settings

MAGIC_LINK_KIND = "magic_link"
ISSUE_CATEGORIES = ("missing_data", "incorrect_data")
ISSUE_FORBIDDEN_KEYS = ("teacher_id", "teacher_progress_id", "email")
ISSUES_PER_DAY = 10


class InvalidLink(NamedProblem):
    """ML-4: a link that is invalid, used or expired (one answer for all three)."""

    status, code = 401, "invalid_link"
    default_detail = "This sign-in link is invalid, used or expired; request a new one."


class TeacherAccessDisabled(NamedProblem):
    """PRIV-7: the kill switch is off."""

    status, code = 503, "teacher_access_disabled"
    default_detail = "Teacher access is temporarily disabled."


class InvalidChoice(NamedProblem):
    status, code = 422, "invalid_choice"


def invalid_link() -> Problem:
    return InvalidLink()


def _secret(settings: Settings) -> str:
    assert settings.jwt_secret is not None
    return settings.jwt_secret.get_secret_value()


# ---------------------------------------------------------------------------------------------
# PRIV-7 kill switch


async def teacher_access_enabled(session: AsyncSession) -> bool:
    value = (
        await session.execute(select(AppSetting.value).where(AppSetting.key == TEACHER_ACCESS_ENABLED))
    ).scalar_one_or_none()
    return value is not False  # absent (or anything but false) means enabled


async def require_enabled(session: AsyncSession) -> None:
    if not await teacher_access_enabled(session):
        raise TeacherAccessDisabled()


async def set_enabled(session: AsyncSession, actor: Principal, enabled: bool) -> bool:
    setting = await session.get(AppSetting, TEACHER_ACCESS_ENABLED)
    before = setting.value is not False if setting is not None else True
    if setting is None:
        setting = AppSetting(key=TEACHER_ACCESS_ENABLED, value=enabled, updated_by_id=actor.user_id)
        session.add(setting)
    else:
        setting.value = enabled
        setting.updated_by_id = actor.user_id
    await audit.record(
        session,
        "teacher_access.settings.updated",
        actor=actor,
        entity_type="app_setting",
        entity_id=TEACHER_ACCESS_ENABLED,
        changes={"enabled": (before, enabled)},
    )
    return enabled


# ---------------------------------------------------------------------------------------------
# ML-1..ML-5 request


async def target_record(session: AsyncSession, email: str) -> TeacherProgress | None:
    """ML-2: the active record with this normalized email, latest academic year, then latest update."""
    return (
        await session.execute(
            select(TeacherProgress)
            .where(TeacherProgress.email == email, TeacherProgress.is_active.is_(True))
            .order_by(
                TeacherProgress.academic_year.desc(),
                TeacherProgress.updated_at.desc(),
                TeacherProgress.id.desc(),
            )
            .limit(1)
        )
    ).scalar_one_or_none()


def link_email(settings: Settings, link: str, expires_at: dt.datetime) -> tuple[str, str]:
    """ML-11: only the link, its expiry and one line of instructions."""
    expiry = expires_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M %Z")
    body = (
        "Open this link to see your virtual session progress (it works once):\n\n"
        f"{link}\n\n"
        f"It expires on {expiry}.\n"
    )
    return "Your teacher progress sign-in link", body


async def request_link(
    session: AsyncSession,
    settings: Settings,
    raw_email: str,
    *,
    client_ip: str | None,
    now: dt.datetime | None = None,
) -> None:
    """Issue a link for a known roster email; do the same work and store nothing otherwise."""
    now = now or utcnow()
    email = normalize_email(raw_email)
    record = await target_record(session, email)
    # The same work for every email (PRIV-2): token, digest and sealed body are always built.
    token, digest = generate_opaque_token()
    expires_at = now + dt.timedelta(hours=settings.magic_link_ttl_hours)
    separator = "&" if "?" in settings.teacher_portal_url else "?"
    subject, body = link_email(settings, f"{settings.teacher_portal_url}{separator}token={token}", expires_at)
    del token
    if record is None:
        outbox.seal_body(_secret(settings), body)  # as the enqueue below does; then discarded
        await session.rollback()
        return
    # ML-5: a new link invalidates the email's unused links
    await session.execute(
        update(MagicLink)
        .where(MagicLink.email == email, MagicLink.used_at.is_(None), MagicLink.invalidated_at.is_(None))
        .values(invalidated_at=now)
        .execution_options(synchronize_session=False)
    )
    link = MagicLink(
        teacher_progress_id=record.id,
        email=email,
        token_hash=digest,
        created_at=now,
        expires_at=expires_at,
        requested_ip_hash=sha256_hex(client_ip) if client_ip else None,
    )
    session.add(link)
    await session.flush()
    outbox.enqueue(
        session,
        kind=MAGIC_LINK_KIND,
        recipient=email,
        subject=subject,
        body_text=body,
        related_magic_link_id=link.id,
        seal_with=_secret(settings),  # ML-4: never stored in clear; blanked once sent
        now=now,
    )
    await audit.record_anonymous(
        session,
        "magic_link.issued",
        entity_type="magic_link",
        entity_id=link.id,
        details={
            "teacher_progress_id": record.id,
            "person_hash": person_hash(email),
            "expires_at": expires_at,
        },
    )


# ---------------------------------------------------------------------------------------------
# ML-6 / ML-7 exchange and session


async def exchange(
    session: AsyncSession, settings: Settings, token: str, *, now: dt.datetime | None = None
) -> tuple[str, int] | None:
    """Mark the link used with one conditional update and return a teacher JWT.

    None when the link is invalid, used or expired: the failure is audited in the session and the
    caller commits that entry before answering 401 :func:`invalid_link`."""
    now = now or utcnow()
    digest = sha256_hex(token)
    record_matches = exists(
        select(TeacherProgress.id).where(
            TeacherProgress.id == MagicLink.teacher_progress_id,
            TeacherProgress.is_active.is_(True),
            TeacherProgress.email == MagicLink.email,
        )
    )
    result = await session.execute(
        update(MagicLink)
        .where(
            MagicLink.token_hash == digest,
            MagicLink.used_at.is_(None),
            MagicLink.invalidated_at.is_(None),
            MagicLink.expires_at > now,
            record_matches,
        )
        .values(used_at=now)
        .returning(MagicLink.id, MagicLink.teacher_progress_id)
        .execution_options(synchronize_session=False)
    )
    row = result.first()
    if row is None:
        link_id = (
            await session.execute(select(MagicLink.id).where(MagicLink.token_hash == digest))
        ).scalar_one_or_none()
        await session.rollback()
        await audit.record_anonymous(
            session,
            "magic_link.exchange_failed",
            entity_type="magic_link",
            entity_id=link_id,
            details={"known_link": link_id is not None},
        )
        return None
    link_id, record_id = int(row[0]), int(row[1])
    actor = Principal(kind="teacher", id=record_id, teacher_progress_id=record_id)
    await audit.record(
        session,
        "magic_link.exchanged",
        actor=actor,
        entity_type="magic_link",
        entity_id=link_id,
        details={"teacher_progress_id": record_id},
    )
    return issue_token(
        secret=_secret(settings),
        subject=record_id,
        token_type="teacher",
        version=link_id,
        minutes=max(1, round(settings.teacher_session_ttl_hours * 60)),
    )


async def session_record(session: AsyncSession, record_id: int, link_id: int) -> TeacherProgress:
    """ML-7: the record behind a teacher token, if still active with the exchanged link's email."""
    record = (
        await session.execute(
            select(TeacherProgress)
            .join(
                MagicLink,
                and_(
                    MagicLink.id == link_id,
                    MagicLink.teacher_progress_id == TeacherProgress.id,
                    MagicLink.email == TeacherProgress.email,
                    MagicLink.used_at.is_not(None),
                ),
            )
            .where(TeacherProgress.id == record_id, TeacherProgress.is_active.is_(True))
        )
    ).scalar_one_or_none()
    if record is None:
        raise Unauthorized("This teacher session is no longer valid; request a new link.")
    return record


# ---------------------------------------------------------------------------------------------
# ML-9 view


def _item_status(session_row: dict[str, Any]) -> str:
    if session_row["counted"]:
        return "attended"
    return "no_show" if session_row["status"] == "no_show" else "registered"


async def teacher_view(
    session: AsyncSession, settings: Settings, record: TeacherProgress, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """ML-9 on the default window (the academic year containing local today), TP rules reused."""
    now = now or utcnow()
    window = tp.window_for(tp.current_academic_year(settings.tz, now), settings.tz)
    progress = await tp.record_progress(session, record.id, window, now)
    sessions, _ = await tp.record_sessions(session, record, window)
    # (start, event id, item): sorted by start, then event id
    past: list[tuple[dt.datetime | None, int, dict[str, Any]]] = []
    upcoming: list[tuple[dt.datetime | None, int, dict[str, Any]]] = []
    for row in sessions:
        start = row["start_date"]
        item = {
            "event_id": row["event_id"],
            "title": row["title"],
            "date": start.astimezone(settings.tz).isoformat() if start else None,
            "status": _item_status(row),
        }
        (upcoming if start is not None and start > now else past).append((start, row["event_id"], item))
    past.sort(key=lambda entry: (entry[0] or dt.datetime.min.replace(tzinfo=dt.UTC), entry[1]), reverse=True)
    upcoming.sort(key=lambda entry: (entry[0], entry[1]))
    return {
        "name": record.name,
        "email": record.email,
        "status": progress["status"],
        "target_sessions": record.target_sessions,
        "completed_sessions": progress["attended_count"],
        "past": [entry[2] for entry in past],
        "upcoming": [entry[2] for entry in upcoming],
    }


# ---------------------------------------------------------------------------------------------
# ML-10 data issues


async def create_issue(
    session: AsyncSession,
    settings: Settings,
    record: TeacherProgress,
    actor: Principal,
    *,
    category: str,
    note: str,
    event_id: int | None,
    extra_keys: set[str],
    now: dt.datetime | None = None,
) -> DataIssue:
    now = now or utcnow()
    if extra_keys & set(ISSUE_FORBIDDEN_KEYS):
        raise forbidden(
            "A teacher reports issues about their own data only; the body may not name a teacher."
        )
    if category not in ISSUE_CATEGORIES:
        raise InvalidChoice(
            f"category must be one of: {', '.join(ISSUE_CATEGORIES)}.",
            title="Unprocessable Content",
            errors=[{"loc": ["body", "category"], "msg": "invalid choice", "type": "invalid_choice"}],
        )
    if event_id is not None:
        view = await teacher_view(session, settings, record, now=now)
        if event_id not in {item["event_id"] for item in view["past"] + view["upcoming"]}:
            raise UnknownEvent("event_id must be one of your sessions.", title="Unprocessable Content")
    recent = (
        await session.execute(
            select(func.count())
            .select_from(DataIssue)
            .where(
                DataIssue.teacher_progress_id == record.id,
                DataIssue.created_at > now - dt.timedelta(days=1),
            )
        )
    ).scalar_one()
    if recent >= ISSUES_PER_DAY:
        raise RateLimited(
            f"At most {ISSUES_PER_DAY} data issues a day; try again later.", headers={"Retry-After": "3600"}
        )
    issue = DataIssue(
        teacher_progress_id=record.id,
        teacher_id=record.teacher_id,
        event_id=event_id,
        category=category,
        note=note,
        status="open",
        created_at=now,
        updated_at=now,
    )
    session.add(issue)
    await session.flush()
    await audit.record(
        session,
        "data_issue.created",
        actor=actor,
        entity_type="data_issue",
        entity_id=issue.id,
        details={"category": category, "event_id": event_id},
    )
    return issue


def _issue_item(issue: DataIssue, record: TeacherProgress) -> dict[str, Any]:
    return {
        "id": issue.id,
        "teacher_progress_id": issue.teacher_progress_id,
        "teacher_name": record.name,
        "district_id": record.district_id,
        "event_id": issue.event_id,
        "category": issue.category,
        "note": issue.note,
        "status": issue.status,
        "resolution_note": issue.resolution_note,
        "resolved_by_id": issue.resolved_by_id,
        "resolved_at": issue.resolved_at,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
    }


async def list_issues(
    session: AsyncSession,
    *,
    visible_district_ids: frozenset[int] | None,
    status: str | None,
    district_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    where: list[ColumnElement[bool]] = []
    if visible_district_ids is not None:
        where.append(TeacherProgress.district_id.in_(sorted(visible_district_ids)))
    if district_id is not None:
        where.append(TeacherProgress.district_id == district_id)
    if status is not None:
        where.append(DataIssue.status == status)
    base = select(DataIssue, TeacherProgress).join(
        TeacherProgress, TeacherProgress.id == DataIssue.teacher_progress_id
    )
    base = base.where(*where)
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    rows = await session.execute(
        base.order_by(DataIssue.created_at.desc(), DataIssue.id.desc()).limit(limit).offset(offset)
    )
    return [_issue_item(issue, record) for issue, record in rows.all()], int(total)


async def update_issue(
    session: AsyncSession,
    actor: Principal,
    issue_id: int,
    *,
    status: str,
    resolution_note: str | None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    row = (
        await session.execute(
            select(DataIssue, TeacherProgress)
            .join(TeacherProgress, TeacherProgress.id == DataIssue.teacher_progress_id)
            .where(DataIssue.id == issue_id)
        )
    ).first()
    if row is None:
        raise not_found("data issue")
    issue, record = row[0], row[1]
    actor.require_districts([record.district_id])
    before = {"status": issue.status, "resolution_note": issue.resolution_note}
    issue.status = status
    if resolution_note is not None:
        issue.resolution_note = resolution_note
    if status == "open":
        issue.resolved_by_id, issue.resolved_at = None, None
    elif before["status"] != status:
        issue.resolved_by_id, issue.resolved_at = actor.user_id, now
    issue.updated_at = now
    changes = audit.diff(before, {"status": issue.status, "resolution_note": issue.resolution_note})
    if changes:
        await audit.record(
            session,
            "data_issue.updated",
            actor=actor,
            entity_type="data_issue",
            entity_id=issue.id,
            changes=changes,
        )
    await session.flush()
    await session.refresh(issue)
    return _issue_item(issue, record)
