"""Communication history from Salesforce Task and EmailMessage (02 SF-35/SF-36, 07 PRIV-5).

Only the subject and a plain-text snippet are stored, never a full message body.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polaris_api.db import Base, IdMixin, TimestampMixin
from polaris_api.models.sync import SF_ID, SalesforceTrackedMixin

if TYPE_CHECKING:
    from polaris_api.models.people import Teacher, Volunteer

__all__ = ["Communication"]


class Communication(IdMixin, TimestampMixin, SalesforceTrackedMixin, Base):
    """A logged email, call or task. A logged email and its Task are one row (SF-35).

    Idempotent on ``salesforce_activity_id``: the Task Id, or for an EmailMessage its ActivityId,
    else its own Id. The association columns (volunteer_id / teacher_id / match_*) are written by
    the import until a staff member matches the row by hand (``match_method='manual'``): from then
    on they are Polaris-owned and never changed by an import (SF-13, SF-36).
    """

    __tablename__ = "communication"

    # --- Salesforce-owned (SF-35)
    salesforce_activity_id: Mapped[str] = mapped_column(String(SF_ID), unique=True)
    email_message_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID), unique=True)
    # SystemModstamp of the Task last written to the row: once its EmailMessage is known,
    # ``sf_modstamp`` is the email's, and this is what the Task's stale-write guard (SF-10) and
    # the fast path for unchanged Tasks (issue 13 item 5) compare
    task_sf_modstamp: Mapped[dt.datetime | None]
    kind: Mapped[str] = mapped_column(String(40), default="task")  # VOC-19 communication_kind
    direction: Mapped[str | None] = mapped_column(String(40))  # VOC-19 communication_direction
    subject: Mapped[str | None] = mapped_column(String(255))
    snippet: Mapped[str | None] = mapped_column(String(500))  # plain text, <= 500 characters
    occurred_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    occurred_on: Mapped[dt.date | None]  # ActivityDate, else the local date of occurred_at
    from_address: Mapped[str | None] = mapped_column(String(255))  # email transform
    to_addresses: Mapped[list[Any]] = mapped_column(default=list)  # normalized emails
    cc_addresses: Mapped[list[Any]] = mapped_column(default=list)  # kept for association retries
    who_email: Mapped[str | None] = mapped_column(String(255))  # Who.Email, normalized
    who_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID), index=True)
    related_to_salesforce_id: Mapped[str | None] = mapped_column(String(SF_ID))
    sf_status: Mapped[str | None] = mapped_column(String(255))

    # --- Association (SF-36): import-written, Polaris-owned once match_method = 'manual'
    volunteer_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteer.id", ondelete="SET NULL"), index=True
    )
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teacher.id", ondelete="SET NULL"), index=True)
    match_status: Mapped[str] = mapped_column(
        String(40), default="unmatched", index=True
    )  # VOC-19 match_status
    match_method: Mapped[str | None] = mapped_column(String(40))  # VOC-19 match_method
    unmatched_reason: Mapped[str | None] = mapped_column(String(40))  # no_contact_match | ambiguous_email
    matched_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    matched_at: Mapped[dt.datetime | None]

    volunteer: Mapped[Volunteer | None] = relationship()
    teacher: Mapped[Teacher | None] = relationship()

    __table_args__ = (Index("ix_communication_volunteer_occurred", "volunteer_id", "occurred_at"),)
