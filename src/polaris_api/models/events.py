"""Events and everything hanging off them: district and skill links, volunteer / student / teacher
participations, website signups, attendance details and virtual-session flags.

One ``event`` row per Salesforce session (shared by the events import SF-32 and the hourly
publishing sync SF-40), per Pathful session (04 PF-11) or per Polaris-created virtual event.
Columns are grouped by owner (00 OWN-3, 02 SF-13, 03 PUB, 04 PF-11); ``polaris_api.ownership``
is the authoritative map.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
    false,
    func,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow
from polaris_api.models.reference import District, School, Skill
from polaris_api.models.sync import SF_ID, SalesforceMirrorMixin

if TYPE_CHECKING:
    from polaris_api.models.people import Student, Teacher, Volunteer

__all__ = [
    "Event",
    "EventAttendanceDetail",
    "EventDistrict",
    "EventParticipation",
    "EventSkill",
    "EventStudentParticipation",
    "EventTeacher",
    "Signup",
    "VIRTUAL_TYPES",
    "VirtualSessionFlag",
    "event_is_virtual",
    "is_virtual",
    "remaining_slots_expr",
    "unreflected_signups_expr",
]


VIRTUAL_TYPES = ("virtual_session", "connector_session")
"""06 G7: the event types that are virtual whatever the format."""


def is_virtual(event: Any = None) -> ColumnElement[bool]:
    """06 G7 ``format = 'virtual' OR type IN VIRTUAL_TYPES`` on ``event`` (default: the
    :class:`Event` entity, or an alias of it). Null-safe: a null type is not virtual, so
    ``~is_virtual()`` is exactly the in-person set."""
    event = Event if event is None else event
    return or_(event.format == "virtual", func.coalesce(event.type, "").in_(VIRTUAL_TYPES))


def event_is_virtual(event: Event) -> bool:
    """06 G7 on a loaded event."""
    return event.format == "virtual" or event.type in VIRTUAL_TYPES


def _default_format(context: DefaultExecutionContext) -> str:
    """02 SF-32: a blank format is ``virtual`` for type ``virtual_session``, else ``in_person``."""
    return "virtual" if context.get_current_parameters().get("type") == "virtual_session" else "in_person"


class Event(IdMixin, TimestampMixin, SalesforceMirrorMixin, Base):
    """An in-person or virtual event (session).

    ``remaining_slots`` is never stored: it is ``available_slots`` minus the website signups
    Salesforce does not reflect yet (03 LIST-6, SIGN-9); see :func:`remaining_slots_expr`.
    """

    __tablename__ = "event"

    # --- Polaris-owned identity
    source: Mapped[str] = mapped_column(String(40), default="manual")  # VOC-19 record_source

    # --- Salesforce-owned core fields (02 SF-32, SF-41; R1). For events without salesforce_id,
    # Polaris owns them, except the Pathful session fields below on Pathful events (04 PF-11).
    title: Mapped[str] = mapped_column(String(500))
    type: Mapped[str | None] = mapped_column(String(40), index=True)  # VOC-10 event_type
    sf_session_type: Mapped[str | None] = mapped_column(String(255))  # raw Session_Type__c
    status: Mapped[str | None] = mapped_column(String(40), index=True)  # VOC-11 event_status
    sf_status_raw: Mapped[str | None] = mapped_column(String(255))  # raw Session_Status__c
    format: Mapped[str] = mapped_column(String(40), default=_default_format)  # VOC-9 event_format
    start_day: Mapped[dt.date | None] = mapped_column(index=True)  # Start_Date__c, calendar date
    start_date: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)  # timestamptz
    # False when Salesforce gave only the date: start_date is then local midnight, not a time to
    # show (03 LIST-5, LIST-8, SIGN-8)
    start_time_known: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    end_date: Mapped[dt.datetime | None]
    duration: Mapped[int | None] = mapped_column(Integer)  # minutes
    date_time_display: Mapped[str | None] = mapped_column(String(255))  # Date_and_Time_for_Cal__c, raw
    location: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    additional_information: Mapped[str | None] = mapped_column(Text)
    sf_cancellation_reason: Mapped[str | None] = mapped_column(String(255))  # raw Cancellation_Reason__c
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="SET NULL"), index=True)
    school_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))
    district_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))
    district_partner: Mapped[str | None] = mapped_column(String(255))  # a district's name, as text
    unscheduled_student_count: Mapped[int | None] = mapped_column(Integer)
    volunteers_requested: Mapped[int | None] = mapped_column(Integer)
    available_slots: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    filled_volunteer_jobs: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    session_host: Mapped[str | None] = mapped_column(String(255))
    registration_link: Mapped[str | None] = mapped_column(String(2048))  # absolute http(s) URL
    # skill links: relationship ``skills`` (event_skill)
    # The SystemModstamp of the Session__c the events import (SF-32) last wrote. The hourly
    # publishing sync (SF-40) writes its own subset of fields and moves ``sf_modstamp`` too, so only
    # this tells the import that a record is the one it wrote (its fast path, issue 13 item 5).
    events_import_sf_modstamp: Mapped[dt.datetime | None]

    # --- Publishing-owned (03 PUB, 02 SF-40): survive every SF sync
    display_on_website: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    publish_status: Mapped[str | None] = mapped_column(String(40), index=True)  # VOC-19 publish_status
    archived_reason: Mapped[str | None] = mapped_column(String(40))  # VOC-19 archived_reason
    # set once the hourly sync first sees the event: from then on it is a *publishing event*
    publishing_first_seen_at: Mapped[dt.datetime | None]
    # start time of the latest salesforce-publishing run that returned the event: a website signup
    # pushed to SF before this instant is reflected in available_slots (03 SIGN-9)
    publishing_last_seen_at: Mapped[dt.datetime | None]
    note: Mapped[str | None] = mapped_column(Text)  # staff note, never public
    # district links: relationship ``districts`` (event_district)

    # --- Polaris-owned (02 SF-13, 04 VS-5)
    cancellation_reason: Mapped[str | None] = mapped_column(String(40))  # VOC-16 cancellation_reason
    cancellation_notes: Mapped[str | None] = mapped_column(Text)
    attendance_status: Mapped[str | None] = mapped_column(String(40))  # VOC-19 attendance_status
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # presenter and teacher tags: relationships ``presenters``, ``teacher_links``

    # --- Pathful-owned (04 PF-8, PF-11): read-only in the API, changed only by an import
    pathful_session_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    registered_student_count: Mapped[int | None] = mapped_column(Integer)
    attended_student_count: Mapped[int | None] = mapped_column(Integer)
    attended_educator_count: Mapped[int | None] = mapped_column(Integer)
    career_cluster: Mapped[str | None] = mapped_column(String(255))
    work_based_learning: Mapped[str | None] = mapped_column(String(255))
    series: Mapped[str | None] = mapped_column(String(255))

    school: Mapped[School | None] = relationship()
    districts: Mapped[list[District]] = relationship(
        secondary="event_district", order_by="District.name", passive_deletes=True
    )
    skills: Mapped[list[Skill]] = relationship(secondary="event_skill", passive_deletes=True)
    participations: Mapped[list[EventParticipation]] = relationship(
        back_populates="event", passive_deletes=True
    )
    presenters: Mapped[list[EventParticipation]] = relationship(
        primaryjoin="and_(Event.id == EventParticipation.event_id, "
        "EventParticipation.participant_type == 'presenter', "
        "EventParticipation.is_deleted == False)",
        viewonly=True,
    )
    teacher_links: Mapped[list[EventTeacher]] = relationship(back_populates="event", passive_deletes=True)
    attendance_detail: Mapped[EventAttendanceDetail | None] = relationship(
        back_populates="event", passive_deletes=True
    )

    __table_args__ = (
        # public listings (03 LIST-1/2): active, upcoming, by start day
        Index("ix_event_listing", "publish_status", "start_day", "display_on_website"),
    )


class EventDistrict(Base):
    """event ↔ district link. Publishing-owned for SF events, Polaris-owned for virtual events."""

    __tablename__ = "event_district"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_event_district_district_id_event_id", "district_id", "event_id"),)


class EventSkill(Base):
    """event ↔ skill (union of the three SF skill fields, SF-32)."""

    __tablename__ = "event_skill"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skill.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    source: Mapped[str] = mapped_column(String(40), default="salesforce")  # VOC-19 record_source


class EventAttendanceDetail(IdMixin, TimestampMixin, Base):
    """Attendance-taking details of an in-person event (06 M110). Polaris-owned."""

    __tablename__ = "event_attendance_detail"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), unique=True)
    total_students: Mapped[int | None] = mapped_column(Integer)
    num_classrooms: Mapped[int | None] = mapped_column(Integer)
    rotations: Mapped[int | None] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    event: Mapped[Event] = relationship(back_populates="attendance_detail")


# --------------------------------------------------------------------------------------
# Participations


class EventParticipation(IdMixin, TimestampMixin, SalesforceMirrorMixin, Base):
    """A volunteer at an event: SF Session_Participant__c (SF-33), a website signup (SIGN-7),
    a Pathful presenter (PF-16) or a manual presenter tag (VS-5). Key: salesforce_id, else the
    unique (event, volunteer, participant_type).
    """

    __tablename__ = "event_participation"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    participant_type: Mapped[str] = mapped_column(String(40), default="volunteer")  # VOC-19 participant_type
    status: Mapped[str] = mapped_column(
        String(40), default="registered"
    )  # VOC-13 volunteer_participation_status
    sf_status_raw: Mapped[str | None] = mapped_column(String(255))
    delivery_hours: Mapped[float | None] = mapped_column(Float)  # >= 0 or null (SF-14 hours)
    age_group_text: Mapped[str | None] = mapped_column(String(100))  # free text, not VOC-5
    title: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))  # normalized
    source: Mapped[str] = mapped_column(String(40), default="manual")  # VOC-19 record_source
    contact_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))  # Contact__c as read
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    event: Mapped[Event] = relationship(back_populates="participations")
    volunteer: Mapped[Volunteer] = relationship()

    __table_args__ = (
        UniqueConstraint(
            "event_id", "volunteer_id", "participant_type", name="uq_event_participation_event_volunteer_type"
        ),
    )


class EventStudentParticipation(IdMixin, TimestampMixin, SalesforceMirrorMixin, Base):
    """A student's attendance at an event (SF-34). Key: (event_id, student_id)."""

    __tablename__ = "event_student_participation"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    status: Mapped[str | None] = mapped_column(String(40))  # VOC-14 student_participation_status
    sf_status_raw: Mapped[str | None] = mapped_column(String(255))
    delivery_hours: Mapped[float | None] = mapped_column(Float)
    age_group_text: Mapped[str | None] = mapped_column(String(100))

    event: Mapped[Event] = relationship()
    student: Mapped[Student] = relationship()

    __table_args__ = (
        UniqueConstraint("event_id", "student_id", name="uq_event_student_participation_event_student"),
    )


class EventTeacher(IdMixin, TimestampMixin, Base):
    """A teacher at a (virtual) event: from Pathful (PF-14/15) or tagged by staff (VS-5).

    ``status`` is Pathful-owned unless an admin annotated the row (``notes`` set): then the
    import leaves it untouched (PF-15, 00 OWN-3). Salesforce never sets it.
    """

    __tablename__ = "event_teacher"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teacher.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(
        String(40), default="registered"
    )  # VOC-15 teacher_participation_status
    attendance_confirmed_at: Mapped[dt.datetime | None]  # counts toward progress (TP-3, 06 G6)
    source: Mapped[str] = mapped_column(String(40), default="manual")  # VOC-19 record_source
    # admin correction note; non-null protects the row from Pathful imports (PF-15, VS-5)
    notes: Mapped[str | None] = mapped_column(Text)
    notes_updated_at: Mapped[dt.datetime | None]
    notes_updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    last_import_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id", ondelete="SET NULL"))
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # 06 G3

    event: Mapped[Event] = relationship(back_populates="teacher_links")
    teacher: Mapped[Teacher] = relationship()

    __table_args__ = (UniqueConstraint("event_id", "teacher_id", name="uq_event_teacher_event_teacher"),)


# --------------------------------------------------------------------------------------
# Website signups (03 SIGN-*)


class Signup(IdMixin, TimestampMixin, Base):
    """A public website signup: every submitted field, kept as submitted (SIGN-7).

    One per (event, normalized email) by constraint (SIGN-5). ``created_at`` is the signup time.
    """

    __tablename__ = "signup"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    normalized_email: Mapped[str] = mapped_column(String(255), index=True)
    volunteer_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteer.id", ondelete="SET NULL"), index=True
    )
    participation_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_participation.id", ondelete="SET NULL"), index=True
    )

    # --- submitted fields (website input; SIGN-1/SIGN-2)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(255))  # trimmed, as typed
    organization: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[list[Any]] = mapped_column(default=list)
    salutation: Mapped[str | None] = mapped_column(String(40))  # VOC-7 salutation
    suffix: Mapped[str | None] = mapped_column(String(40))  # VOC-8 suffix
    age_group: Mapped[str | None] = mapped_column(String(40))  # VOC-5 age_group
    education: Mapped[str | None] = mapped_column(String(40))  # VOC-4 education
    gender: Mapped[str | None] = mapped_column(String(40))  # VOC-2 gender
    race_ethnicity: Mapped[str | None] = mapped_column(String(40))  # VOC-3 race_ethnicity
    local_status: Mapped[str | None] = mapped_column(String(40))  # VOC-6 local_status
    postal_code: Mapped[str | None] = mapped_column(String(40))  # mailing ZIP (VOC-6 derivation)
    client_ip_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash, never the raw IP

    # --- Salesforce write-back state (03 SIGN-9; optional sync kind salesforce-signup-push)
    # pending | pushed | failed | skipped (write-back disabled) — not in 08
    sf_push_status: Mapped[str] = mapped_column(String(40), default="pending", index=True)
    sf_push_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    sf_push_last_error: Mapped[str | None] = mapped_column(Text)
    sf_pushed_at: Mapped[dt.datetime | None]  # when the participant was created in SF
    sf_contact_id: Mapped[str | None] = mapped_column(String(SF_ID))  # found or created Contact
    sf_participant_id: Mapped[str | None] = mapped_column(String(SF_ID), unique=True)  # created row

    event: Mapped[Event] = relationship()
    volunteer: Mapped[Volunteer | None] = relationship()
    participation: Mapped[EventParticipation | None] = relationship()

    __table_args__ = (
        UniqueConstraint("event_id", "normalized_email", name="uq_signup_event_normalized_email"),
    )


# --------------------------------------------------------------------------------------
# Virtual-session flags (04 VS-6)


class VirtualSessionFlag(IdMixin, Base):
    """A derived flag on a virtual session; at most one open flag per (event, type)."""

    __tablename__ = "virtual_session_flag"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    # needs_attention | missing_teacher | missing_presenter | needs_reason (04 VS-6)
    flag_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(40), default="open", index=True)  # open | resolved
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[dt.datetime | None]

    __table_args__ = (
        Index(
            "uq_virtual_session_flag_open",
            "event_id",
            "flag_type",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


# --------------------------------------------------------------------------------------
# Derived values as SQL (nothing derived is stored)


def unreflected_signups_expr() -> ColumnElement[int]:
    """Count of the event's website signups that Salesforce does not reflect yet (03 LIST-6, SIGN-9).

    A signup counts until a publishing sync that *started after* its push has read the event;
    an unpushed signup (write-back disabled or pending) always counts. Correlated to ``Event``.
    """
    return (
        select(func.count(Signup.id))
        .where(
            Signup.event_id == Event.id,
            or_(
                Signup.sf_pushed_at.is_(None),
                Event.publishing_last_seen_at.is_(None),
                Event.publishing_last_seen_at <= Signup.sf_pushed_at,
            ),
        )
        .correlate(Event)
        .scalar_subquery()
    )


def remaining_slots_expr() -> ColumnElement[int]:
    """``max(0, available_slots − unreflected signups)`` as a portable SQL expression (LIST-6)."""
    remaining = Event.available_slots - unreflected_signups_expr()
    return case((remaining > 0, remaining), else_=0)
