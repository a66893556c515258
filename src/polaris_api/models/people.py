"""People: volunteers (with their SF contacts, emails, phones, skills, affiliations), teachers, students.

Identity rules (00 R2): a volunteer is identified by normalized email; the Salesforce Contact ids
are secondary links in ``volunteer_sf_contact`` (several per volunteer). ``email_normalized`` on
``volunteer`` and ``teacher`` is the normalized primary email, maintained on every write and
indexed (06 §1); it is not unique, because metrics dedupe by it (06 G5) and SF-36 must be able to
see an ambiguous address.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polaris_api.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow
from polaris_api.models.reference import District, Organization, School, Skill
from polaris_api.models.sync import SF_ID, SalesforceMirrorMixin, SalesforceTrackedMixin

__all__ = [
    "Student",
    "Teacher",
    "TeacherEmail",
    "TeacherPhone",
    "Volunteer",
    "VolunteerAffiliation",
    "VolunteerEmail",
    "VolunteerPhone",
    "VolunteerSfContact",
    "VolunteerSkill",
]


# --------------------------------------------------------------------------------------
# Contact child rows shared by volunteers and teachers (02 SF-13, SF-27)


class _ContactEmailColumns:
    """One row per distinct normalized email of a person (SF-27).

    ``sf_source_id`` is the SF Contact whose fields produced the row: each SF record replaces only
    its own rows; rows with ``source`` other than ``salesforce`` are Polaris-owned (SF-13).
    """

    email: Mapped[str] = mapped_column(String(255))  # as received, trimmed
    email_normalized: Mapped[str] = mapped_column(String(255), index=True)  # trim + lowercase (N-1)
    kind: Mapped[str] = mapped_column(String(40), default="personal")  # VOC-19 email_kind
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    source: Mapped[str] = mapped_column(String(40), default="salesforce")  # VOC-19 record_source
    sf_source_id: Mapped[str | None] = mapped_column(String(SF_ID), index=True)


class _ContactPhoneColumns:
    number: Mapped[str] = mapped_column(String(64))  # trimmed text as received
    e164: Mapped[str | None] = mapped_column(String(20))  # +1 and 10 digits, else null (SF-14 phone)
    kind: Mapped[str] = mapped_column(String(40), default="other")  # VOC-19 phone_kind
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    source: Mapped[str] = mapped_column(String(40), default="salesforce")  # VOC-19 record_source
    sf_source_id: Mapped[str | None] = mapped_column(String(SF_ID), index=True)


class _PersonNameColumns:
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))


# --------------------------------------------------------------------------------------
# Volunteers


class Volunteer(IdMixin, TimestampMixin, SalesforceTrackedMixin, _PersonNameColumns, Base):
    """A volunteer: one person, whichever systems know them (00 R2).

    Salesforce bookkeeping: ``sf_modstamp`` is the newest SystemModstamp among the volunteer's
    contacts (the newest contact writes, SF-26); ``is_deleted`` is true only when all of its
    contacts are deleted. The contact ids themselves are in :class:`VolunteerSfContact`.
    """

    __tablename__ = "volunteer"

    # --- Polaris-owned identity
    source: Mapped[str] = mapped_column(String(40), default="salesforce")  # VOC-19 record_source
    # R2: the identity key; one volunteer per normalized email
    email_normalized: Mapped[str | None] = mapped_column(String(255), index=True, unique=True)

    # --- Salesforce-owned (SF-26); for website-created volunteers not yet in SF, the signup's
    # submitted values (00 OWN-3 'volunteer demographics')
    salesforce_account_id: Mapped[str | None] = mapped_column(String(SF_ID))  # AccountId (raw)
    primary_affiliation_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))
    organization_name: Mapped[str | None] = mapped_column(String(255))  # current org (06 M40)
    middle_name: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(255))
    salutation: Mapped[str | None] = mapped_column(String(40))  # VOC-7 salutation
    suffix: Mapped[str | None] = mapped_column(String(40))  # VOC-8 suffix
    gender: Mapped[str | None] = mapped_column(String(40))  # VOC-2 gender
    race_ethnicity: Mapped[str | None] = mapped_column(String(40))  # VOC-3 race_ethnicity
    education: Mapped[str | None] = mapped_column(String(40))  # VOC-4 education
    age_group: Mapped[str | None] = mapped_column(String(40))  # VOC-5 age_group
    birthdate: Mapped[dt.date | None]
    first_volunteer_date: Mapped[dt.date | None]
    last_volunteer_date: Mapped[dt.date | None]
    last_activity_date: Mapped[dt.date | None]
    last_email_date: Mapped[dt.date | None]  # Last_Email_Message__c
    last_mailchimp_email_date: Mapped[dt.date | None]
    last_non_internal_email_date: Mapped[dt.date | None]
    interests: Mapped[list[Any]] = mapped_column(default=list)  # Volunteer_Interests__c, split
    sf_recruitment_notes: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    sf_times_volunteered: Mapped[int | None] = mapped_column(Integer)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    email_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    email_bounced_at: Mapped[dt.datetime | None]
    mailing_street: Mapped[str | None] = mapped_column(String(255))
    mailing_city: Mapped[str | None] = mapped_column(String(100))
    mailing_state: Mapped[str | None] = mapped_column(String(100))
    mailing_postal_code: Mapped[str | None] = mapped_column(String(40))
    mailing_country: Mapped[str | None] = mapped_column(String(100))

    # --- Derived, stored because metrics filter on it in SQL (06 §1 M90): VOC-3 POC column of
    # race_ethnicity (true / false for white / null otherwise), kept in step on every write.
    is_people_of_color: Mapped[bool | None] = mapped_column(Boolean)
    # Derived (SF-36): latest occurred_at of the volunteer's email communications.
    last_contacted_at: Mapped[dt.datetime | None]

    # --- Polaris-owned (SF-13)
    local_status: Mapped[str] = mapped_column(
        String(40), default="unknown", server_default="unknown"
    )  # VOC-6 local_status
    # who set local_status (polaris_api.locality): derived | self_reported | manual; imports
    # never change a manual value
    local_status_source: Mapped[str] = mapped_column(String(20), default="derived", server_default="derived")
    local_status_updated_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(
        String(40), default="active", server_default="active"
    )  # Polaris volunteer status (not in 08): active | inactive
    exclude_from_reports: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notes: Mapped[str | None] = mapped_column(Text)
    recruitment_notes: Mapped[str | None] = mapped_column(Text)
    recruitment_outcome: Mapped[str | None] = mapped_column(Text)
    additional_volunteer_count: Mapped[int | None] = mapped_column(Integer)

    # --- Pathful-owned (04 PF-16 back-fill)
    pathful_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    sf_contacts: Mapped[list[VolunteerSfContact]] = relationship(
        back_populates="volunteer", cascade="all, delete-orphan", passive_deletes=True
    )
    emails: Mapped[list[VolunteerEmail]] = relationship(
        back_populates="volunteer", cascade="all, delete-orphan", passive_deletes=True
    )
    phones: Mapped[list[VolunteerPhone]] = relationship(
        back_populates="volunteer", cascade="all, delete-orphan", passive_deletes=True
    )
    skill_links: Mapped[list[VolunteerSkill]] = relationship(
        back_populates="volunteer", cascade="all, delete-orphan", passive_deletes=True
    )
    skills: Mapped[list[Skill]] = relationship(secondary="volunteer_skill", viewonly=True)
    affiliations: Mapped[list[VolunteerAffiliation]] = relationship(
        back_populates="volunteer", cascade="all, delete-orphan", passive_deletes=True
    )


class VolunteerSfContact(IdMixin, SalesforceMirrorMixin, Base):
    """A Salesforce Contact id of a volunteer (02 SF-26): several per volunteer, each id once.

    The mirror columns are per contact: ``is_deleted`` with reason ``merged`` (and
    ``master_record_id``) when SF merged the contact away (SF-11).
    """

    __tablename__ = "volunteer_sf_contact"

    salesforce_id: Mapped[str] = mapped_column(String(SF_ID), unique=True)  # not null here
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    master_record_id: Mapped[str | None] = mapped_column(String(SF_ID))  # MasterRecordId
    contact_type: Mapped[str | None] = mapped_column(String(64))  # Contact_Type__c as read
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # how the contact was linked: existing | email | new (SF-26 resolution order), or manual
    link_method: Mapped[str | None] = mapped_column(String(40))

    volunteer: Mapped[Volunteer] = relationship(back_populates="sf_contacts")


class VolunteerEmail(IdMixin, TimestampMixin, _ContactEmailColumns, Base):
    __tablename__ = "volunteer_email"

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)

    volunteer: Mapped[Volunteer] = relationship(back_populates="emails")

    __table_args__ = (
        UniqueConstraint(
            "volunteer_id", "email_normalized", name="uq_volunteer_email_volunteer_id_email_normalized"
        ),
    )


class VolunteerPhone(IdMixin, TimestampMixin, _ContactPhoneColumns, Base):
    __tablename__ = "volunteer_phone"

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)

    volunteer: Mapped[Volunteer] = relationship(back_populates="phones")

    __table_args__ = (
        UniqueConstraint("volunteer_id", "number", name="uq_volunteer_phone_volunteer_id_number"),
    )


class VolunteerSkill(Base):
    """volunteer ↔ skill. SF links carry the contact they came from (SF-13 'skill links')."""

    __tablename__ = "volunteer_skill"

    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skill.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    source: Mapped[str] = mapped_column(String(40), default="salesforce")  # VOC-19 record_source
    sf_source_id: Mapped[str | None] = mapped_column(String(SF_ID))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    volunteer: Mapped[Volunteer] = relationship(back_populates="skill_links")
    skill: Mapped[Skill] = relationship()


class VolunteerAffiliation(IdMixin, TimestampMixin, SalesforceMirrorMixin, Base):
    """volunteer ↔ organization (or school, or district) link, SF npe5__Affiliation__c (02 SF-31).

    Exactly one of ``organization_id``, ``school_id``, ``district_id`` is set.
    """

    __tablename__ = "volunteer_affiliation"

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"), index=True)
    contact_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))  # npe5__Contact__c
    account_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))  # npe5__Organization__c
    role: Mapped[str | None] = mapped_column(String(255))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str | None] = mapped_column(String(40))  # VOC-19 affiliation_status
    start_date: Mapped[dt.date | None]
    end_date: Mapped[dt.date | None]

    volunteer: Mapped[Volunteer] = relationship(back_populates="affiliations")
    organization: Mapped[Organization | None] = relationship()
    school: Mapped[School | None] = relationship()
    district: Mapped[District | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN organization_id IS NOT NULL THEN 1 ELSE 0 END)"
            " + (CASE WHEN school_id IS NOT NULL THEN 1 ELSE 0 END)"
            " + (CASE WHEN district_id IS NOT NULL THEN 1 ELSE 0 END) = 1",
            name="one_account",
        ),
    )


# --------------------------------------------------------------------------------------
# Teachers


class Teacher(IdMixin, TimestampMixin, SalesforceMirrorMixin, _PersonNameColumns, Base):
    """A teacher, from Salesforce (SF-28) or created by a roster import (04 RO-10).

    Pathful never creates teachers (00 R3). A teacher with ``import_source='roster'`` is kept in
    step with the roster (name, school); SF-linked teachers are never renamed by the roster.
    """

    __tablename__ = "teacher"

    # --- Salesforce-owned (SF-28); for teachers without salesforce_id, the roster's
    salesforce_account_id: Mapped[str | None] = mapped_column(String(SF_ID))
    title: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(255))
    email_normalized: Mapped[str | None] = mapped_column(String(255), index=True)  # primary email
    gender: Mapped[str | None] = mapped_column(String(40))  # VOC-2 gender
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="SET NULL"), index=True)
    school_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))  # npsp__Primary_Affiliation__c
    last_email_date: Mapped[dt.date | None]
    last_mailchimp_email_date: Mapped[dt.date | None]

    # --- Polaris-owned (SF-13)
    # salesforce | roster | manual: who created the row (SF-28, RO-10)
    import_source: Mapped[str] = mapped_column(String(40), default="salesforce")
    # roster link: the district whose roster lists the teacher (set even when the school is unresolved)
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("district.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # why is_active is false: manual_admin (an admin deactivated it) | merged; null while active
    deactivation_source: Mapped[str | None] = mapped_column(String(40))
    deactivated_at: Mapped[dt.datetime | None]
    exclude_from_reports: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notes: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("teacher.id", ondelete="SET NULL"))

    # --- Pathful-owned (04 PF-13 back-fill)
    pathful_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    school: Mapped[School | None] = relationship(foreign_keys=[school_id])
    district: Mapped[District | None] = relationship(foreign_keys=[district_id])
    emails: Mapped[list[TeacherEmail]] = relationship(
        back_populates="teacher", cascade="all, delete-orphan", passive_deletes=True
    )
    phones: Mapped[list[TeacherPhone]] = relationship(
        back_populates="teacher", cascade="all, delete-orphan", passive_deletes=True
    )


class TeacherEmail(IdMixin, TimestampMixin, _ContactEmailColumns, Base):
    """A teacher's email rows: the SF primary email, plus addresses kept from merges (04 §0)."""

    __tablename__ = "teacher_email"

    teacher_id: Mapped[int] = mapped_column(ForeignKey("teacher.id", ondelete="CASCADE"), index=True)

    teacher: Mapped[Teacher] = relationship(back_populates="emails")

    __table_args__ = (
        UniqueConstraint(
            "teacher_id", "email_normalized", name="uq_teacher_email_teacher_id_email_normalized"
        ),
    )


class TeacherPhone(IdMixin, TimestampMixin, _ContactPhoneColumns, Base):
    __tablename__ = "teacher_phone"

    teacher_id: Mapped[int] = mapped_column(ForeignKey("teacher.id", ondelete="CASCADE"), index=True)

    teacher: Mapped[Teacher] = relationship(back_populates="phones")

    __table_args__ = (UniqueConstraint("teacher_id", "number", name="uq_teacher_phone_teacher_id_number"),)


# --------------------------------------------------------------------------------------
# Students


class Student(IdMixin, TimestampMixin, SalesforceMirrorMixin, _PersonNameColumns, Base):
    """A student (SF Contact, Contact_Type__c 'Student', 02 SF-29). Email and phone are not read."""

    __tablename__ = "student"

    salesforce_account_id: Mapped[str | None] = mapped_column(String(SF_ID))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    legacy_grade: Mapped[str | None] = mapped_column(String(64))
    # the school-issued id (Local_Student_ID__c), text; not student.id (06 §1)
    student_id: Mapped[str | None] = mapped_column(String(64), index=True)
    birthdate: Mapped[dt.date | None]
    gender: Mapped[str | None] = mapped_column(String(40))  # VOC-2 gender
    race_ethnicity: Mapped[str | None] = mapped_column(String(40))  # VOC-3 race_ethnicity
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="SET NULL"), index=True)
    school_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))
    class_id: Mapped[int | None] = mapped_column(
        ForeignKey("school_class.id", ondelete="SET NULL"), index=True
    )
    class_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))
    current_grade: Mapped[int | None] = mapped_column(Integer)  # 0-12, K = 0

    # --- Polaris-owned
    exclude_from_reports: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        CheckConstraint(
            "current_grade IS NULL OR (current_grade >= 0 AND current_grade <= 12)", name="grade"
        ),
    )
