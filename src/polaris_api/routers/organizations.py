"""Organizations (00 §5.1 ``GET /api/v1/organizations``; SF-owned, 02 SF-25).

Access: global staff and ``read`` API keys. District users are refused (403): an organization's
name is not DV-1 data, but DV-2 does not list organizations among what a district user may see,
and they are not tied to a district, so there is nothing to scope them by.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from polaris_api.auth import OrganizationReader
from polaris_api.deps import SessionDep
from polaris_api.errors import problem_responses
from polaris_api.models.reference import Organization
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.schemas.common import clean_text

router = APIRouter(prefix="/api/v1", tags=["organizations"])

# Printable text only: a NUL or another control character is refused (422), never sent to the database.
SEARCH_PATTERN = r"^[^\x00-\x1f\x7f]*$"


class OrganizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    type: str | None
    description: str | None
    parent_id: int | None
    billing_city: str | None
    billing_state: str | None
    last_activity_date: dt.date | None
    salesforce_id: str | None


@router.get(
    "/organizations", response_model=Page[OrganizationOut], responses=problem_responses(401, 403, 422)
)
async def list_organizations(
    principal: OrganizationReader,
    session: SessionDep,
    pagination: Pagination,
    q: Annotated[
        str | None, Query(max_length=200, pattern=SEARCH_PATTERN, description="text in the name")
    ] = None,
    type: Annotated[
        str | None,
        Query(
            max_length=255,
            pattern=SEARCH_PATTERN,
            description="the Salesforce account type (case-insensitive)",
        ),
    ] = None,
) -> Page[OrganizationOut]:
    """Organizations not deleted in Salesforce, by name then id."""
    statement = select(Organization).where(Organization.is_deleted.is_(False))
    text = clean_text(q)
    if isinstance(text, str):
        statement = statement.where(Organization.name.icontains(text, autoescape=True))
    kind = clean_text(type)
    if isinstance(kind, str):
        statement = statement.where(func.lower(Organization.type) == func.lower(kind))
    return await paginate(
        session,
        statement.order_by(func.lower(Organization.name), Organization.id),
        pagination,
        OrganizationOut.model_validate,
    )
