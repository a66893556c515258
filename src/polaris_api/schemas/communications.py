"""Logged communications that the history import could not associate (02 SF-36): the review list
and the manual assignment."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import ConfigDict, Field

from polaris_api.schemas.common import MAX_DB_ID, StrictBody
from polaris_api.schemas.volunteers import CommunicationOut

UnmatchedReason = Literal["no_contact_match", "ambiguous_email"]


class CommunicationReviewOut(CommunicationOut):
    """A logged communication with its association (subject and snippet only, 07 PRIV-5)."""

    model_config = ConfigDict(from_attributes=True)

    cc_addresses: list[Any]
    who_email: str | None = Field(description="the Salesforce Who.Email, normalized")
    who_salesforce_id: str | None
    unmatched_reason: str | None
    volunteer_id: int | None
    teacher_id: int | None
    matched_by_id: int | None
    matched_at: dt.datetime | None


class CommunicationAssign(StrictBody):
    volunteer_id: int = Field(ge=1, le=MAX_DB_ID, description="the volunteer this communication concerns")
