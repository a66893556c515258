"""Public volunteer signup (03 SIGN-4..SIGN-11) and the staff view of signups (SIGN-8).

:func:`sign_up` runs one write transaction:

1. take the lock that serializes signups of the event: ``SELECT ... FOR UPDATE`` on the event
   row (PostgreSQL), ``BEGIN IMMEDIATE`` (SQLite: one writer at a time, across processes);
2. SIGN-4: the event must be listed somewhere (``visibility.is_listed_anywhere``) → else 404;
3. SIGN-5: a signup for (event, normalized email) already exists → 200 ``already_signed_up``,
   nothing written (the unique constraint backs this up);
4. SIGN-6: ``remaining_slots`` (``models.events.remaining_slots_expr``) must be > 0 → else 409
   ``event_full``. Checked under the lock, so N remaining slots admit exactly N signups;
5. SIGN-7: volunteer (found by normalized email, R2, or created with ``source = website``),
   event participation (kept if the volunteer already has one for the event), the signup row
   and the confirmation email in the outbox (MAIL-1), then commit.

Logs identify the person by :func:`observability.person_hash` only (SIGN-11).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polaris_api.clock import local_today
from polaris_api.db import utcnow
from polaris_api.errors import NamedProblem, not_found
from polaris_api.locality import DERIVED, SELF_REPORTED, ZipPrefixes, next_local_status
from polaris_api.models.events import Event, EventParticipation, Signup, remaining_slots_expr
from polaris_api.models.outbox import OutboxMessage
from polaris_api.models.people import Volunteer, VolunteerEmail, VolunteerPhone, VolunteerSkill
from polaris_api.models.reference import Skill, normalize_name
from polaris_api.observability import person_hash
from polaris_api.schemas.signup import WebsiteSignup
from polaris_api.services import outbox
from polaris_api.services.calendar_invite import (
    INVITE_CONTENT_TYPE,
    INVITE_FILENAME,
    EventTimes,
    build_invite,
    event_times,
)
from polaris_api.services.email import Attachment
from polaris_api.services.listings import event_ref_condition
from polaris_api.services.visibility import is_listed_anywhere
from polaris_api.settings import Settings
from polaris_api.vocabularies import is_person_of_color


class EventFull(NamedProblem):
    """SIGN-7: no remaining volunteer slot."""

    status, code = 409, "event_full"
    default_detail = "This event has no remaining volunteer slots."


log = logging.getLogger("polaris_api.signup")

MAX_BODY_BYTES = 16 * 1024  # SIGN-10
CONFIRMATION_KIND = "signup_confirmation"


@dataclass(frozen=True)
class SignupOutcome:
    created: bool
    signup_id: int
    event_id: int


def success_message(settings: Settings) -> str:
    return (
        "You are signed up. A confirmation email with a calendar invitation is on its way; "
        f"if it does not arrive within an hour (check your spam folder), contact {settings.support_contact}."
    )


def client_ip_hash(client_ip: str | None, settings: Settings) -> str | None:
    """A keyed hash of the client IP (SIGN-7): comparable between signups, never reversible to
    the address without the server's secret."""
    if not client_ip:
        return None
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
    key = hashlib.sha256(b"polaris-client-ip:" + secret.encode()).digest()
    return hmac.new(key, client_ip.encode(), hashlib.sha256).hexdigest()


def e164(phone: str | None) -> str | None:
    """``+1`` and ten digits for a US number, else None (02 SF-14 phone rule)."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return f"+1{digits}" if len(digits) == 10 else None


# --------------------------------------------------------------------------------------
# SIGN-4..7


async def sign_up(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    event_ref: str,
    body: WebsiteSignup,
    *,
    client_ip: str | None,
    now: dt.datetime | None = None,
) -> SignupOutcome:
    """Record a website signup, or say it already exists; raises 404 / 409 problems (SIGN-4..7).
    ``event_ref``: our id or the event's Salesforce id, 15 or 18 characters (LIST-9)."""
    now = now or utcnow()
    email = body.normalized_email
    who = person_hash(email)
    async with sessionmaker() as session:
        event_id = await _event_id(session, event_ref)
    async with sessionmaker() as session:
        try:
            outcome = await _sign_up(session, settings, event_id, body, client_ip=client_ip, now=now)
        except IntegrityError:
            # Only a concurrent identical signup can get here (the event lock serializes the
            # rest): the unique (event, normalized email) constraint decided, SIGN-5.
            await session.rollback()
            existing = await _existing_signup_id(session, event_id, email)
            if existing is None:
                raise
            outcome = SignupOutcome(created=False, signup_id=existing, event_id=event_id)
    log.info(
        "signup created" if outcome.created else "signup repeated",
        extra={"person": who, "event_id": event_id, "signup_id": outcome.signup_id},
    )
    return outcome


async def _event_id(session: AsyncSession, ref: str) -> int:
    """The event ``ref`` names (LIST-9), or 404; our id needs no query (the signup locks it)."""
    condition = event_ref_condition(ref)
    if condition is None:
        raise not_found("event")
    if ref.isdigit():
        return int(ref)
    found = (await session.execute(select(Event.id).where(condition))).scalar_one_or_none()
    if found is None:
        raise not_found("event")
    return found


async def _existing_signup_id(session: AsyncSession, event_id: int, email: str) -> int | None:
    return (
        await session.execute(
            select(Signup.id).where(Signup.event_id == event_id, Signup.normalized_email == email)
        )
    ).scalar_one_or_none()


async def _sign_up(
    session: AsyncSession,
    settings: Settings,
    event_id: int,
    body: WebsiteSignup,
    *,
    client_ip: str | None,
    now: dt.datetime,
) -> SignupOutcome:
    email = body.normalized_email
    await outbox.begin_write(session)  # SQLite: BEGIN IMMEDIATE (SIGN-6)
    lock: Select[Any] = select(Event.id).where(Event.id == event_id)
    if outbox.is_postgres(session):
        lock = lock.with_for_update(of=Event)  # SIGN-6: one signup of this event at a time
    if (await session.execute(lock)).scalar_one_or_none() is None:
        raise not_found("event")
    if not await is_listed_anywhere(session, event_id, local_today(settings.tz, now)):
        raise not_found("event")  # SIGN-4: unknown, archived, past or hidden

    existing = await _existing_signup_id(session, event_id, email)
    if existing is not None:
        await session.rollback()
        return SignupOutcome(created=False, signup_id=existing, event_id=event_id)

    remaining = (
        await session.execute(select(remaining_slots_expr()).where(Event.id == event_id))
    ).scalar_one()
    if remaining <= 0:
        log.info("signup refused: event full", extra={"person": person_hash(email), "event_id": event_id})
        raise EventFull()

    event = (
        await session.execute(
            select(Event).where(Event.id == event_id).execution_options(populate_existing=True)
        )
    ).scalar_one()
    volunteer = await _find_or_create_volunteer(session, body, now, settings)
    participation = await _find_or_create_participation(session, event_id, volunteer.id, body)
    signup = Signup(
        event_id=event_id,
        normalized_email=email,
        volunteer_id=volunteer.id,
        participation_id=participation.id,
        first_name=body.first_name,
        last_name=body.last_name,
        middle_name=body.middle_name,
        email=body.email,
        organization=body.organization,
        title=body.title,
        phone=body.phone,
        skills=body.skill_names,
        salutation=body.salutation,
        suffix=body.suffix,
        age_group=body.age_group,
        education=body.education,
        gender=body.gender,
        race_ethnicity=body.race_ethnicity,
        local_status=body.local_status,
        postal_code=body.postal_code,
        client_ip_hash=client_ip_hash(client_ip, settings),
        sf_push_status=initial_push_status(settings),
        created_at=now,
        updated_at=now,
    )
    session.add(signup)
    await session.flush()
    enqueue_confirmation(session, settings, event, signup, now=now)
    await session.commit()  # signup job (SIGN-6): its own transaction, committed under the event lock
    return SignupOutcome(created=True, signup_id=signup.id, event_id=event_id)


def initial_push_status(settings: Settings) -> str:
    """SIGN-9: ``pending`` when Salesforce write-back is enabled, else ``skipped``.

    Write-back is optional and off by default (``salesforce_signup_push_enabled``); the
    ``salesforce-signup-push`` sync kind pushes the pending ones.
    """
    return "pending" if settings.salesforce_signup_push_enabled else "skipped"


async def _find_or_create_volunteer(
    session: AsyncSession, body: WebsiteSignup, now: dt.datetime, settings: Settings
) -> Volunteer:
    """R2: the volunteer with this normalized email (primary, else any of their email rows), or a
    new website volunteer holding the submitted fields. An existing volunteer is not changed.
    A new volunteer's ``local_status`` is derived from the submitted ZIP code (08 VOC-6), else
    the form's own answer (SIGN-2, ``self_reported``), else ``unknown``."""
    email = body.normalized_email
    found = await _volunteer_by_email(session, email)
    if found is not None:
        return found
    local_status, local_status_source = next_local_status(
        body.local_status or "unknown",
        SELF_REPORTED if body.local_status else DERIVED,
        body.postal_code,
        ZipPrefixes.of(settings.local_zip_prefixes, settings.partial_zip_prefixes),
    )
    volunteer = Volunteer(
        source="website",
        email_normalized=email,
        first_name=body.first_name,
        last_name=body.last_name,
        middle_name=body.middle_name,
        organization_name=body.organization,
        title=body.title,
        salutation=body.salutation,
        suffix=body.suffix,
        gender=body.gender,
        race_ethnicity=body.race_ethnicity,
        is_people_of_color=is_person_of_color(body.race_ethnicity),
        education=body.education,
        age_group=body.age_group,
        mailing_postal_code=body.postal_code,
        local_status=local_status,
        local_status_source=local_status_source,
        local_status_updated_at=now if local_status != "unknown" else None,
        interests=[],
    )
    try:
        async with session.begin_nested():
            session.add(volunteer)
            await session.flush()
    except IntegrityError:
        # another transaction created this person a moment ago (signups of other events)
        found = await _volunteer_by_email(session, email)
        if found is None:
            raise
        return found
    # email_kind: the form does not say whether the address is personal or work
    session.add(
        VolunteerEmail(
            volunteer_id=volunteer.id,
            email=body.email,
            email_normalized=email,
            kind="other",
            is_primary=True,
            source="website",
        )
    )
    if body.phone:
        session.add(
            VolunteerPhone(
                volunteer_id=volunteer.id,
                number=body.phone,
                e164=e164(body.phone),
                kind="other",
                is_primary=True,
                source="website",
            )
        )
    await _link_skills(session, volunteer.id, body.skill_names)
    return volunteer


async def _volunteer_by_email(session: AsyncSession, email: str) -> Volunteer | None:
    found = (
        await session.execute(select(Volunteer).where(Volunteer.email_normalized == email))
    ).scalar_one_or_none()
    if found is not None:
        return found
    # a secondary address of a known volunteer is the same person (R2); the oldest row wins
    return (
        await session.execute(
            select(Volunteer)
            .join(VolunteerEmail, VolunteerEmail.volunteer_id == Volunteer.id)
            .where(VolunteerEmail.email_normalized == email)
            .order_by(Volunteer.id)
            .limit(1)
        )
    ).scalar_one_or_none()


async def _link_skills(session: AsyncSession, volunteer_id: int, names: list[str]) -> None:
    """SIGN-7: the new volunteer gets the submitted skills (already cleaned, deduplicated and
    bounded by the form). A name matching an existing skill case-insensitively reuses it; any
    other becomes a new skill row (a concurrent signup creating the same one is reused)."""
    wanted = {key: name for name in names if (key := normalize_name(name))}
    if not wanted:
        return
    found = await _skill_ids(session, list(wanted))
    for key in [key for key in wanted if key not in found]:
        try:
            async with session.begin_nested():
                skill = Skill(name=wanted[key], name_normalized=key)
                session.add(skill)
                await session.flush()
            found[key] = skill.id
        except IntegrityError:
            found.update(await _skill_ids(session, [key]))
    for skill_id in sorted(set(found.values())):
        session.add(VolunteerSkill(volunteer_id=volunteer_id, skill_id=skill_id, source="website"))


async def _skill_ids(session: AsyncSession, keys: list[str]) -> dict[str, int]:
    rows = await session.execute(
        select(Skill.name_normalized, Skill.id).where(Skill.name_normalized.in_(keys))
    )
    return {key: skill_id for key, skill_id in rows}


async def _find_or_create_participation(
    session: AsyncSession, event_id: int, volunteer_id: int, body: WebsiteSignup
) -> EventParticipation:
    """SIGN-7: participation ``volunteer`` / ``registered`` / ``website``; an existing one for
    (event, volunteer, volunteer) is kept as it is."""
    existing = await _participation(session, event_id, volunteer_id)
    if existing is not None:
        return existing
    participation = EventParticipation(
        event_id=event_id,
        volunteer_id=volunteer_id,
        participant_type="volunteer",
        status="registered",
        source="website",
        email=body.normalized_email,
        title=body.title,
    )
    try:
        async with session.begin_nested():
            session.add(participation)
            await session.flush()
    except IntegrityError:
        found = await _participation(session, event_id, volunteer_id)
        if found is None:
            raise
        return found
    return participation


async def _participation(
    session: AsyncSession, event_id: int, volunteer_id: int
) -> EventParticipation | None:
    return (
        await session.execute(
            select(EventParticipation).where(
                EventParticipation.event_id == event_id,
                EventParticipation.volunteer_id == volunteer_id,
                EventParticipation.participant_type == "volunteer",
            )
        )
    ).scalar_one_or_none()


# --------------------------------------------------------------------------------------
# SIGN-8: the confirmation email


def describe_when(times: EventTimes) -> str:
    if isinstance(times.start, dt.datetime):
        start = times.start
        text = f"{start:%A, %B} {start.day}, {start.year}, {_clock(start)}"
        end = times.end
        if isinstance(end, dt.datetime) and end.date() == start.date():
            text += f" to {_clock(end)}"
        return f"{text} ({start.tzname()})"
    if isinstance(times.start, dt.date):
        # the time is unknown (a well-formed display string would have given it): the date only
        day = times.start
        return f"{day:%A, %B} {day.day}, {day.year}"
    return "to be announced"


def _clock(moment: dt.datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def confirmation_text(settings: Settings, event: Event, signup: Signup, times: EventTimes) -> tuple[str, str]:
    """Subject and plain-text body. The subject names the event only, never the person."""
    subject = f"Volunteer signup confirmed: {event.title}"
    when = describe_when(times)
    where = event.location or "to be announced"
    body = (
        f"Hello {signup.first_name},\n\n"
        "Thank you for signing up to volunteer. You are registered for:\n\n"
        f"  Event: {event.title}\n"
        f"  When:  {when}\n"
        f"  Where: {where}\n\n"
        "A calendar invitation is attached.\n\n"
        f"Questions, or need to cancel? Contact {settings.support_contact}.\n"
    )
    return subject, body


def enqueue_confirmation(
    session: AsyncSession, settings: Settings, event: Event, signup: Signup, *, now: dt.datetime
) -> OutboxMessage:
    """MAIL-1: the confirmation with its invitation, in the signup's transaction (SIGN-7, SIGN-8)."""
    zone = settings.tz
    times = event_times(
        event.start_date,
        event.end_date,
        event.duration,
        event.start_day,
        zone,
        time_known=event.start_time_known,
    )
    subject, body = confirmation_text(settings, event, signup, times)
    description = f"{event.description}\n\n" if event.description else ""
    description += f"Questions or cancellations: {settings.support_contact}"
    invite = build_invite(
        signup_id=signup.id,
        summary=event.title,
        times=times,
        location=event.location,
        description=description,
        organizer_email=settings.email_from,
        attendee_email=signup.normalized_email,
        zone=zone,
        now=now,
    )
    return outbox.enqueue(
        session,
        kind=CONFIRMATION_KIND,
        recipient=signup.normalized_email,
        subject=subject,
        body_text=body,
        attachments=[Attachment(INVITE_FILENAME, INVITE_CONTENT_TYPE, invite)],
        related_signup_id=signup.id,
        now=now,
    )


# --------------------------------------------------------------------------------------
# Staff view (SIGN-8): each signup with the status of its confirmation email


def _latest_message_id() -> ColumnElement[int | None]:
    return (
        select(func.max(OutboxMessage.id))
        .where(OutboxMessage.related_signup_id == Signup.id, OutboxMessage.kind == CONFIRMATION_KIND)
        .correlate(Signup)
        .scalar_subquery()
    )


def email_status_expr() -> ColumnElement[str]:
    """Status of the signup's latest confirmation message; ``none`` without one."""
    status = select(OutboxMessage.status).where(OutboxMessage.id == _latest_message_id()).scalar_subquery()
    return func.coalesce(status, "none")


def list_statement(event_id: int | None = None, email_status: str | None = None) -> Select[Any]:
    statement = select(Signup)
    if event_id is not None:
        statement = statement.where(Signup.event_id == event_id)
    if email_status is not None:
        statement = statement.where(email_status_expr() == email_status)
    return statement.order_by(Signup.created_at.desc(), Signup.id.desc())


async def email_statuses(session: AsyncSession, signup_ids: list[int]) -> dict[int, tuple[str, int | None]]:
    """``{signup_id: (email_status, message_id)}`` for one page of signups."""
    if not signup_ids:
        return {}
    rows = await session.execute(
        select(Signup.id, email_status_expr(), _latest_message_id()).where(Signup.id.in_(signup_ids))
    )
    return {signup_id: (status, message_id) for signup_id, status, message_id in rows.all()}
