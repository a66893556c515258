"""Volunteer search, profile, participation and communication history, CSV export (00 §5.2
"volunteers"; 07 CAP: global staff and ``read`` keys only, DV-1).

Filters intersect. "Attended" is 08 VOC-13 (attended, completed, successfully_completed) on a
participation and an event that are not deleted in their source; ``last_volunteered_on`` is the
start day of the newest attended participation, and a volunteer is *virtual only* when they have
attended participations and every one of them is on a virtual event (06 G7 ``is_virtual``).

Reads use a fixed number of queries per page (emails and skills are loaded with ``selectinload``,
participation statistics with one grouped query). The export streams every match in keyset
batches, neutralises spreadsheet formulas (07 PRIV-3) and is audited before the first byte
(07 AUD-1: who, filters, row count; searched names and emails are hashed, AUD-2).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, func, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.auth import Principal
from polaris_api.errors import not_found
from polaris_api.models.comms import Communication
from polaris_api.models.events import Event, EventParticipation, is_virtual
from polaris_api.models.people import (
    Volunteer,
    VolunteerAffiliation,
    VolunteerEmail,
    VolunteerSkill,
)
from polaris_api.models.reference import Organization, School, Skill, normalize_name
from polaris_api.observability import person_hash
from polaris_api.pagination import Page, PageParams
from polaris_api.schemas.common import normalize_email
from polaris_api.schemas.volunteers import (
    CommunicationOut,
    CommunicationPage,
    CommunicationSyncState,
    ParticipationEvent,
    VolunteerAffiliationOut,
    VolunteerEmailOut,
    VolunteerListItem,
    VolunteerParticipationOut,
    VolunteerPhoneOut,
    VolunteerProfile,
)
from polaris_api.services import audit, sync_health
from polaris_api.services.readable import readable_volunteers
from polaris_api.settings import Settings
from polaris_api.spreadsheet import csv_safe
from polaris_api.vocabularies import ATTENDED_VOLUNTEER_STATUSES

HISTORY_KIND = "salesforce-history"
EXPORT_BATCH_SIZE = 500
EXPORT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "emails",
    "organization_name",
    "title",
    "skills",
    "local_status",
    "last_volunteered_on",
    "times_volunteered",
)
PERSONAL_FILTERS = frozenset({"name", "email"})


@dataclass(frozen=True)
class VolunteerFilters:
    name: str | None = None  # every word in the first or the last name
    email: str | None = None  # text in any of the volunteer's email rows
    organization: str | None = None  # text in the current organization or an affiliated one's name
    title: str | None = None  # text in the job title
    skills: tuple[str, ...] = field(default_factory=tuple)  # all of them (names, case-insensitive)
    local_status: str | None = None  # VOC-6
    last_volunteered_from: dt.date | None = None
    last_volunteered_to: dt.date | None = None
    virtual_only: bool = False

    def audit_view(self) -> dict[str, Any]:
        """The filters that were set, with searched names and emails hashed (07 AUD-2)."""
        view: dict[str, Any] = {}
        for key, value in (
            ("name", self.name),
            ("email", self.email),
            ("organization", self.organization),
            ("title", self.title),
            ("skills", list(self.skills) or None),
            ("local_status", self.local_status),
            ("last_volunteered_from", self.last_volunteered_from),
            ("last_volunteered_to", self.last_volunteered_to),
            ("virtual_only", self.virtual_only or None),
        ):
            if value is None:
                continue
            if key in PERSONAL_FILTERS:
                view[key] = f"sha256:{person_hash(str(value))}"
            elif isinstance(value, dt.date):
                view[key] = value.isoformat()
            else:
                view[key] = value
        return view


# --------------------------------------------------------------------------------------
# Filters as SQL


def _attended(*extra: ColumnElement[bool]) -> ColumnElement[bool]:
    """The volunteer has an attended participation (VOC-13) matching ``extra``."""
    return (
        select(EventParticipation.id)
        .join(Event, Event.id == EventParticipation.event_id)
        .where(
            EventParticipation.volunteer_id == Volunteer.id,
            EventParticipation.is_deleted.is_(False),
            EventParticipation.status.in_(sorted(ATTENDED_VOLUNTEER_STATUSES)),
            Event.is_deleted.is_(False),
            *extra,
        )
        .correlate(Volunteer)
        .exists()
    )


def _conditions(filters: VolunteerFilters, principal: Principal | None) -> list[ColumnElement[bool]]:
    """``readable_volunteers`` of the caller (``None``: a job the router already authorized) and
    the filters."""
    conditions: list[ColumnElement[bool]] = (
        readable_volunteers(principal) if principal is not None else [Volunteer.is_deleted.is_(False)]
    )
    if filters.name:
        for word in filters.name.split():
            conditions.append(
                or_(
                    Volunteer.first_name.icontains(word, autoescape=True),
                    Volunteer.last_name.icontains(word, autoescape=True),
                )
            )
    if filters.email:
        needle = normalize_email(filters.email)
        conditions.append(
            or_(
                Volunteer.email_normalized.contains(needle, autoescape=True),
                select(VolunteerEmail.id)
                .where(
                    VolunteerEmail.volunteer_id == Volunteer.id,
                    VolunteerEmail.email_normalized.contains(needle, autoescape=True),
                )
                .correlate(Volunteer)
                .exists(),
            )
        )
    if filters.organization:
        conditions.append(
            or_(
                Volunteer.organization_name.icontains(filters.organization, autoescape=True),
                select(VolunteerAffiliation.id)
                .join(Organization, Organization.id == VolunteerAffiliation.organization_id)
                .where(
                    VolunteerAffiliation.volunteer_id == Volunteer.id,
                    VolunteerAffiliation.is_deleted.is_(False),
                    Organization.name.icontains(filters.organization, autoescape=True),
                )
                .correlate(Volunteer)
                .exists(),
            )
        )
    if filters.title:
        conditions.append(Volunteer.title.icontains(filters.title, autoescape=True))
    for skill in filters.skills:
        conditions.append(
            select(VolunteerSkill.skill_id)
            .join(Skill, Skill.id == VolunteerSkill.skill_id)
            .where(
                VolunteerSkill.volunteer_id == Volunteer.id, Skill.name_normalized == normalize_name(skill)
            )
            .correlate(Volunteer)
            .exists()
        )
    if filters.local_status is not None:
        conditions.append(Volunteer.local_status == filters.local_status)
    start, end = filters.last_volunteered_from, filters.last_volunteered_to
    if start is not None or end is not None:
        # newest attended day in [start, end] <=> an attended day in the range and none after it
        in_range: list[ColumnElement[bool]] = [Event.start_day.is_not(None)]
        if start is not None:
            in_range.append(Event.start_day >= start)
        if end is not None:
            in_range.append(Event.start_day <= end)
        conditions.append(_attended(*in_range))
        if end is not None:
            conditions.append(not_(_attended(Event.start_day > end)))
    if filters.virtual_only:
        conditions.append(_attended())
        conditions.append(not_(_attended(not_(is_virtual()))))
    return conditions


def _sort_keys() -> tuple[Any, ...]:
    return (
        func.lower(Volunteer.last_name),
        func.lower(func.coalesce(Volunteer.first_name, "")),
        Volunteer.id,
    )


def _list_statement(filters: VolunteerFilters, principal: Principal) -> Select[Any]:
    return (
        select(Volunteer)
        .options(selectinload(Volunteer.emails), selectinload(Volunteer.skills))
        .where(*_conditions(filters, principal))
    )


@dataclass(frozen=True)
class _Stats:
    first: dt.date | None = None
    last: dt.date | None = None
    count: int = 0
    hours: float = 0.0


async def _stats(session: AsyncSession, volunteer_ids: Sequence[int]) -> dict[int, _Stats]:
    """Attended-participation statistics of these volunteers, in one grouped query."""
    if not volunteer_ids:
        return {}
    rows = await session.execute(
        select(
            EventParticipation.volunteer_id,
            func.min(Event.start_day),
            func.max(Event.start_day),
            func.count(EventParticipation.id),
            func.sum(EventParticipation.delivery_hours),
        )
        .join(Event, Event.id == EventParticipation.event_id)
        .where(
            EventParticipation.volunteer_id.in_(volunteer_ids),
            EventParticipation.is_deleted.is_(False),
            EventParticipation.status.in_(sorted(ATTENDED_VOLUNTEER_STATUSES)),
            Event.is_deleted.is_(False),
        )
        .group_by(EventParticipation.volunteer_id)
    )
    return {
        volunteer_id: _Stats(
            first=_as_date(first), last=_as_date(last), count=int(count), hours=round(float(hours or 0), 2)
        )
        for volunteer_id, first, last, count, hours in rows
    }


def _as_date(value: Any) -> dt.date | None:
    """SQLite returns MIN/MAX of a date column as text."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _emails(volunteer: Volunteer) -> list[str]:
    emails = {row.email_normalized for row in volunteer.emails}
    if volunteer.email_normalized:
        emails.add(volunteer.email_normalized)
    primary = volunteer.email_normalized
    return sorted(emails, key=lambda email: (email != primary, email))


def _skill_names(volunteer: Volunteer) -> list[str]:
    return sorted((skill.name for skill in volunteer.skills), key=str.casefold)


def _list_item(volunteer: Volunteer, stats: _Stats) -> VolunteerListItem:
    return VolunteerListItem(
        id=volunteer.id,
        first_name=volunteer.first_name,
        last_name=volunteer.last_name,
        email=volunteer.email_normalized,
        emails=_emails(volunteer),
        organization_name=volunteer.organization_name,
        title=volunteer.title,
        skills=_skill_names(volunteer),
        local_status=volunteer.local_status,
        status=volunteer.status,
        last_volunteered_on=stats.last,
        times_volunteered=stats.count,
    )


# --------------------------------------------------------------------------------------
# Reads


async def search(
    session: AsyncSession, principal: Principal, filters: VolunteerFilters, params: PageParams
) -> Page[VolunteerListItem]:
    """Matching volunteers by (last name, first name, id), case-insensitive."""
    conditions = _conditions(filters, principal)
    total = (await session.execute(select(func.count(Volunteer.id)).where(*conditions))).scalar_one()
    volunteers = (
        (
            await session.execute(
                _list_statement(filters, principal)
                .order_by(*_sort_keys())
                .limit(params.page_size)
                .offset(params.offset)
            )
        )
        .scalars()
        .all()
    )
    stats = await _stats(session, [volunteer.id for volunteer in volunteers])
    return Page[VolunteerListItem](
        items=[_list_item(volunteer, stats.get(volunteer.id, _Stats())) for volunteer in volunteers],
        page=params.page,
        page_size=params.page_size,
        total=total,
    )


async def _live_volunteer_id(session: AsyncSession, volunteer_id: int) -> int:
    found = (
        await session.execute(
            select(Volunteer.id).where(Volunteer.id == volunteer_id, Volunteer.is_deleted.is_(False))
        )
    ).scalar_one_or_none()
    if found is None:
        raise not_found("volunteer")
    return found


def _account_name(affiliation: VolunteerAffiliation) -> str | None:
    account = affiliation.organization or affiliation.school or affiliation.district
    return account.name if account is not None else None


async def get_profile(session: AsyncSession, volunteer_id: int) -> VolunteerProfile:
    volunteer = (
        await session.execute(
            select(Volunteer)
            .options(
                selectinload(Volunteer.emails),
                selectinload(Volunteer.phones),
                selectinload(Volunteer.skills),
                selectinload(Volunteer.sf_contacts),
                selectinload(Volunteer.affiliations).selectinload(VolunteerAffiliation.organization),
                selectinload(Volunteer.affiliations).selectinload(VolunteerAffiliation.school),
                selectinload(Volunteer.affiliations).selectinload(VolunteerAffiliation.district),
            )
            .where(Volunteer.id == volunteer_id, Volunteer.is_deleted.is_(False))
        )
    ).scalar_one_or_none()
    if volunteer is None:
        raise not_found("volunteer")
    stats = (await _stats(session, [volunteer.id])).get(volunteer.id, _Stats())
    affiliations = sorted(
        (a for a in volunteer.affiliations if not a.is_deleted),
        key=lambda a: (not a.is_primary, a.start_date is None, a.start_date or dt.date.min, a.id),
    )
    return VolunteerProfile(
        id=volunteer.id,
        source=volunteer.source,
        salesforce_contact_ids=sorted(c.salesforce_id for c in volunteer.sf_contacts if not c.is_deleted),
        salutation=volunteer.salutation,
        first_name=volunteer.first_name,
        middle_name=volunteer.middle_name,
        last_name=volunteer.last_name,
        suffix=volunteer.suffix,
        email=volunteer.email_normalized,
        emails=[
            VolunteerEmailOut(
                email=row.email,
                email_normalized=row.email_normalized,
                kind=row.kind,
                is_primary=row.is_primary,
            )
            for row in sorted(volunteer.emails, key=lambda row: (not row.is_primary, row.email_normalized))
        ],
        phones=[
            VolunteerPhoneOut(number=row.number, e164=row.e164, kind=row.kind, is_primary=row.is_primary)
            for row in sorted(volunteer.phones, key=lambda row: (not row.is_primary, row.number))
        ],
        organization_name=volunteer.organization_name,
        title=volunteer.title,
        department=volunteer.department,
        affiliations=[
            VolunteerAffiliationOut(
                id=a.id,
                organization_id=a.organization_id,
                school_id=a.school_id,
                district_id=a.district_id,
                name=_account_name(a),
                role=a.role,
                is_primary=a.is_primary,
                status=a.status,
                start_date=a.start_date,
                end_date=a.end_date,
            )
            for a in affiliations
        ],
        skills=_skill_names(volunteer),
        interests=list(volunteer.interests or []),
        gender=volunteer.gender,
        race_ethnicity=volunteer.race_ethnicity,
        education=volunteer.education,
        age_group=volunteer.age_group,
        local_status=volunteer.local_status,
        local_status_source=volunteer.local_status_source,
        exclude_from_reports=volunteer.exclude_from_reports,
        status=volunteer.status,
        mailing_city=volunteer.mailing_city,
        mailing_state=volunteer.mailing_state,
        mailing_postal_code=volunteer.mailing_postal_code,
        do_not_call=volunteer.do_not_call,
        do_not_contact=volunteer.do_not_contact,
        email_opt_out=volunteer.email_opt_out,
        email_bounced_at=volunteer.email_bounced_at,
        first_volunteer_date=volunteer.first_volunteer_date,
        last_volunteer_date=volunteer.last_volunteer_date,
        last_contacted_at=volunteer.last_contacted_at,
        first_volunteered_on=stats.first,
        last_volunteered_on=stats.last,
        times_volunteered=stats.count,
        total_hours=stats.hours,
        notes=volunteer.notes,
        recruitment_notes=volunteer.recruitment_notes,
        sf_recruitment_notes=volunteer.sf_recruitment_notes,
        description=volunteer.description,
        created_at=volunteer.created_at,
        updated_at=volunteer.updated_at,
    )


async def participations(
    session: AsyncSession, volunteer_id: int, params: PageParams
) -> Page[VolunteerParticipationOut]:
    """The volunteer's participations (any status), newest event first."""
    await _live_volunteer_id(session, volunteer_id)
    conditions = (
        EventParticipation.volunteer_id == volunteer_id,
        EventParticipation.is_deleted.is_(False),
        Event.is_deleted.is_(False),
    )
    total = (
        await session.execute(
            select(func.count(EventParticipation.id))
            .join(Event, Event.id == EventParticipation.event_id)
            .where(*conditions)
        )
    ).scalar_one()
    rows = await session.execute(
        select(EventParticipation, Event, School.name)
        .join(Event, Event.id == EventParticipation.event_id)
        .outerjoin(School, School.id == Event.school_id)
        .where(*conditions)
        .order_by(
            Event.start_day.desc().nulls_last(),
            Event.start_date.desc().nulls_last(),
            EventParticipation.id.desc(),
        )
        .limit(params.page_size)
        .offset(params.offset)
    )
    items = [
        VolunteerParticipationOut(
            id=participation.id,
            participant_type=participation.participant_type,
            status=participation.status,
            attended=participation.status in ATTENDED_VOLUNTEER_STATUSES,
            delivery_hours=participation.delivery_hours,
            title=participation.title,
            source=participation.source,
            event=ParticipationEvent(
                id=event.id,
                title=event.title,
                type=event.type,
                format=event.format,
                status=event.status,
                start_day=event.start_day,
                start_date=event.start_date,
                school_id=event.school_id,
                school_name=school_name,
            ),
        )
        for participation, event, school_name in rows
    ]
    return Page[VolunteerParticipationOut](
        items=items, page=params.page, page_size=params.page_size, total=total
    )


async def history_sync_state(session: AsyncSession, settings: Settings) -> CommunicationSyncState:
    """OPS-4 state of the ``salesforce-history`` kind, read from the sync health (read only)."""
    health = await sync_health.health(session, settings)
    for kind in health.kinds:
        if kind.kind == HISTORY_KIND:
            return CommunicationSyncState(
                kind=kind.kind,
                state=kind.state,
                stale=kind.stale,
                last_success_at=kind.last_success_at,
                last_failure_at=kind.last_failure_at,
                last_failure_reason=kind.last_failure_reason,
                running=kind.running_run_id is not None,
            )
    return CommunicationSyncState(  # pragma: no cover - the kind is in the OPS table
        kind=HISTORY_KIND,
        state="never_run",
        stale=True,
        last_success_at=None,
        last_failure_at=None,
        last_failure_reason=None,
        running=False,
    )


async def communications(
    session: AsyncSession, settings: Settings, volunteer_id: int, params: PageParams
) -> CommunicationPage:
    """The volunteer's logged communications, newest first, with the history sync's state."""
    await _live_volunteer_id(session, volunteer_id)
    conditions = (Communication.volunteer_id == volunteer_id, Communication.is_deleted.is_(False))
    total = (await session.execute(select(func.count(Communication.id)).where(*conditions))).scalar_one()
    rows = (
        (
            await session.execute(
                select(Communication)
                .where(*conditions)
                .order_by(Communication.occurred_at.desc().nulls_last(), Communication.id.desc())
                .limit(params.page_size)
                .offset(params.offset)
            )
        )
        .scalars()
        .all()
    )
    items = [
        CommunicationOut(
            id=row.id,
            kind=row.kind,
            direction=row.direction,
            subject=row.subject,
            snippet=row.snippet,
            occurred_at=row.occurred_at,
            occurred_on=row.occurred_on,
            from_address=row.from_address,
            to_addresses=list(row.to_addresses or []),
            match_status=row.match_status,
            match_method=row.match_method,
        )
        for row in rows
    ]
    return CommunicationPage(
        items=items,
        page=params.page,
        page_size=params.page_size,
        total=total,
        sync=await history_sync_state(session, settings),
    )


# --------------------------------------------------------------------------------------
# Export (07 PRIV-3, AUD-1)


async def start_export(session: AsyncSession, principal: Principal, filters: VolunteerFilters) -> int:
    """Count the matches and audit the export (who, filters, row count) before anything is sent."""
    row_count = (
        await session.execute(select(func.count(Volunteer.id)).where(*_conditions(filters, principal)))
    ).scalar_one()
    await audit.record(
        session,
        "volunteers.exported",
        actor=principal,
        entity_type="volunteer",
        details={
            "format": "csv",
            "filters": filters.audit_view(),
            "row_count": row_count,
            "columns": list(EXPORT_COLUMNS),
        },
    )
    return row_count


def _csv_lines(rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
    return buffer.getvalue().encode("utf-8")


async def export_csv(
    sessionmaker: async_sessionmaker[AsyncSession],
    filters: VolunteerFilters,
    batch_size: int | None = None,
    principal: Principal | None = None,
) -> AsyncIterator[bytes]:
    """Every match, in the list order, as CSV chunks: keyset batches, each with its emails, skills
    and statistics loaded in a fixed number of queries (never one query per row)."""
    size = batch_size or EXPORT_BATCH_SIZE
    yield _csv_lines([EXPORT_COLUMNS])
    keys = _sort_keys()
    labelled = [key.label(f"k{index}") for index, key in enumerate(keys[:2])]
    after: tuple[Any, ...] | None = None
    async with sessionmaker() as session:
        while True:
            statement = select(Volunteer, *labelled).options(
                selectinload(Volunteer.emails), selectinload(Volunteer.skills)
            )
            conditions = _conditions(filters, principal)
            if after is not None:
                conditions.append(tuple_(*keys) > tuple_(*after))
            rows = (
                await session.execute(statement.where(and_(*conditions)).order_by(*keys).limit(size))
            ).all()
            if not rows:
                break
            volunteers = [row[0] for row in rows]
            stats = await _stats(session, [volunteer.id for volunteer in volunteers])
            lines = []
            for volunteer in volunteers:
                item = _list_item(volunteer, stats.get(volunteer.id, _Stats()))
                lines.append(
                    [
                        item.id,
                        item.first_name,
                        item.last_name,
                        item.email,
                        "; ".join(item.emails),
                        item.organization_name,
                        item.title,
                        "; ".join(item.skills),
                        item.local_status,
                        item.last_volunteered_on.isoformat() if item.last_volunteered_on else None,
                        item.times_volunteered,
                    ]
                )
            yield _csv_lines(lines)
            last = rows[-1]
            after = (last[1], last[2], last[0].id)
            if len(rows) < size:
                break
            session.expunge_all()
