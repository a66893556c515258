"""Volunteer reads for global staff (00 §5.2 "volunteers"; 07 CAP "search volunteers, profiles,
comms history, volunteer export": global users and ``read`` keys only, DV-1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from polaris_api.pagination import Page
from polaris_api.schemas.sync import HealthState


class VolunteerListItem(BaseModel):
    id: int
    first_name: str | None
    last_name: str
    email: str | None = Field(description="primary email (normalized)")
    emails: list[str] = Field(description="every email row of the volunteer (normalized)")
    organization_name: str | None = Field(description="current organization (Salesforce primary affiliation)")
    title: str | None
    skills: list[str]
    local_status: str = Field(description="08 VOC-6")
    status: str
    last_volunteered_on: dt.date | None = Field(
        description="start day of the newest attended participation (08 VOC-13)"
    )
    times_volunteered: int = Field(description="attended participations (08 VOC-13)")


class VolunteerEmailOut(BaseModel):
    email: str
    email_normalized: str
    kind: str
    is_primary: bool


class VolunteerPhoneOut(BaseModel):
    number: str
    e164: str | None
    kind: str
    is_primary: bool


class VolunteerAffiliationOut(BaseModel):
    id: int
    organization_id: int | None
    school_id: int | None
    district_id: int | None
    name: str | None = Field(description="name of the organization, school or district")
    role: str | None
    is_primary: bool
    status: str | None
    start_date: dt.date | None
    end_date: dt.date | None


class VolunteerProfile(BaseModel):
    id: int
    source: str
    salesforce_contact_ids: list[str]
    salutation: str | None
    first_name: str | None
    middle_name: str | None
    last_name: str
    suffix: str | None
    email: str | None
    emails: list[VolunteerEmailOut]
    phones: list[VolunteerPhoneOut]
    organization_name: str | None
    title: str | None
    department: str | None
    affiliations: list[VolunteerAffiliationOut]
    skills: list[str]
    interests: list[Any]
    gender: str | None
    race_ethnicity: str | None
    education: str | None
    age_group: str | None
    local_status: str
    local_status_source: str = Field(
        description="who set local_status (08 VOC-6): derived (mailing ZIP), self_reported or manual"
    )
    exclude_from_reports: bool = Field(description="left out of every metric (06 G3)")
    status: str
    mailing_city: str | None
    mailing_state: str | None
    mailing_postal_code: str | None
    do_not_call: bool
    do_not_contact: bool
    email_opt_out: bool
    email_bounced_at: dt.datetime | None
    first_volunteer_date: dt.date | None = Field(description="as recorded in Salesforce")
    last_volunteer_date: dt.date | None = Field(description="as recorded in Salesforce")
    last_contacted_at: dt.datetime | None = Field(description="newest logged email (02 SF-36)")
    first_volunteered_on: dt.date | None = Field(description="derived from attended participations")
    last_volunteered_on: dt.date | None = Field(description="derived from attended participations")
    times_volunteered: int = Field(description="attended participations (08 VOC-13)")
    total_hours: float = Field(description="delivery hours of attended participations")
    notes: str | None
    recruitment_notes: str | None
    sf_recruitment_notes: str | None
    description: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ParticipationEvent(BaseModel):
    id: int
    title: str
    type: str | None
    format: str
    status: str | None
    start_day: dt.date | None
    start_date: dt.datetime | None
    school_id: int | None
    school_name: str | None


class VolunteerParticipationOut(BaseModel):
    id: int
    participant_type: str
    status: str = Field(description="08 VOC-13")
    attended: bool
    delivery_hours: float | None
    title: str | None
    source: str
    event: ParticipationEvent


class CommunicationOut(BaseModel):
    id: int
    kind: str
    direction: str | None
    subject: str | None
    snippet: str | None = Field(description="plain text, at most 500 characters (07 PRIV-5)")
    occurred_at: dt.datetime | None
    occurred_on: dt.date | None
    from_address: str | None
    to_addresses: list[Any]
    match_status: str
    match_method: str | None


class CommunicationSyncState(BaseModel):
    """Freshness of the communication history (09 OPS-4, OPS-5): the ``salesforce-history`` kind."""

    kind: str
    state: HealthState = Field(
        description="never_run: no finished run; failed: the last finished run failed; "
        "no_changes / ok: it succeeded without / with changes"
    )
    stale: bool
    last_success_at: dt.datetime | None
    last_failure_at: dt.datetime | None
    last_failure_reason: str | None
    running: bool


class CommunicationPage(Page[CommunicationOut]):
    sync: CommunicationSyncState
