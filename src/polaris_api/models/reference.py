"""Reference data: districts, schools, classes, organizations (SF-owned, 02 SF-24/25/30) and skills."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polaris_api.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow
from polaris_api.models.sync import SF_ID, SalesforceMirrorMixin

__all__ = ["District", "Organization", "School", "SchoolClass", "Skill", "normalize_name", "slugify"]


def normalize_name(value: str | None) -> str | None:
    """Matching key for names: trim, casefold, collapse whitespace (04 §0 'school key')."""
    if value is None:
        return None
    collapsed = " ".join(value.split()).casefold()
    return collapsed or None


def slugify(value: str) -> str:
    """URL slug: ASCII, lowercase, words joined by '-' ('Kansas City Public Schools' → 'kansas-city-public-schools')."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:100] or "district"


def _default_slug(context: DefaultExecutionContext) -> str:
    return slugify(context.get_current_parameters().get("name") or "")


def _default_normalized_name(context: DefaultExecutionContext) -> str | None:
    return normalize_name(context.get_current_parameters().get("name"))


class District(IdMixin, TimestampMixin, SalesforceMirrorMixin, Base):
    """A school district (SF Account, Type 'School District')."""

    __tablename__ = "district"

    # --- Salesforce-owned (SF-24)
    name: Mapped[str] = mapped_column(String(255))
    district_code: Mapped[str | None] = mapped_column(String(64))  # School_Code_External_ID__c

    # --- Polaris-owned (SF-13): never written by imports once set
    # URL key of the district page (/public/districts/{slug}/events); generated from the name on
    # insert when not given.
    slug: Mapped[str] = mapped_column(String(100), unique=True, default=_default_slug)
    # normalize_name(name), for matching district_partner strings and roster/Pathful text
    normalized_name: Mapped[str | None] = mapped_column(
        String(255), index=True, default=_default_normalized_name
    )
    aliases: Mapped[list[Any]] = mapped_column(default=list)  # other spellings seen in files

    schools: Mapped[list[School]] = relationship(back_populates="district", passive_deletes=True)


class School(IdMixin, TimestampMixin, SalesforceMirrorMixin, Base):
    """A school (SF Account, Type 'School')."""

    __tablename__ = "school"

    # --- Salesforce-owned (SF-24)
    name: Mapped[str] = mapped_column(String(255))
    school_code: Mapped[str | None] = mapped_column(String(64))  # School_Code_External_ID__c
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("district.id", ondelete="SET NULL"), index=True
    )
    district_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))  # ParentId (SF-17)
    alt_name: Mapped[str | None] = mapped_column(String(255))  # Connector_Account_Name__c

    # --- Polaris-owned (SF-13)
    # school level (not in 08): elementary | middle | high | other; 06 §6.5 reads level = 'high'
    level: Mapped[str | None] = mapped_column(String(40))
    normalized_name: Mapped[str | None] = mapped_column(
        String(255), index=True, default=_default_normalized_name
    )  # the 04 'school key' of name
    aliases: Mapped[list[Any]] = mapped_column(default=list)

    district: Mapped[District | None] = relationship(back_populates="schools")


class SchoolClass(IdMixin, TimestampMixin, SalesforceMirrorMixin, Base):
    """A student class (SF Class__c, 02 SF-30)."""

    __tablename__ = "school_class"

    name: Mapped[str] = mapped_column(String(255))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="SET NULL"), index=True)
    school_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))  # School__c
    class_year: Mapped[int | None] = mapped_column(Integer)  # Class_Year_Number__c


class Organization(IdMixin, TimestampMixin, SalesforceMirrorMixin, Base):
    """A partner organization (SF Account, any Type but Household / School District / School)."""

    __tablename__ = "organization"

    # --- Salesforce-owned (SF-25)
    name: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str | None] = mapped_column(String(255))  # free text, no vocabulary
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    parent_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))
    billing_street: Mapped[str | None] = mapped_column(String(255))
    billing_city: Mapped[str | None] = mapped_column(String(100))
    billing_state: Mapped[str | None] = mapped_column(String(100))
    billing_postal_code: Mapped[str | None] = mapped_column(String(40))
    billing_country: Mapped[str | None] = mapped_column(String(100))
    last_activity_date: Mapped[dt.date | None]

    # --- Polaris-owned (SF-13)
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    notes: Mapped[str | None] = mapped_column(Text)

    parent: Mapped[Organization | None] = relationship(remote_side="Organization.id")


class Skill(IdMixin, Base):
    """A skill name shared by volunteers and events, matched case-insensitively (SF-26, SF-32)."""

    __tablename__ = "skill"

    name: Mapped[str] = mapped_column(String(255))
    name_normalized: Mapped[str] = mapped_column(
        String(255), unique=True, default=_default_normalized_name
    )  # normalize_name(name)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
