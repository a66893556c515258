"""Reference reads: districts and schools (00 §5.1; CAP "district data": district users see only
their districts — lists are restricted silently, a district id outside their scope in the path or
the query is 403, AC-6)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute

from polaris_api.auth import DistrictReader, Principal
from polaris_api.deps import SessionDep
from polaris_api.errors import not_found, problem_responses
from polaris_api.models.reference import District, School
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.schemas.common import IdPath, IdQuery
from polaris_api.schemas.reference import DistrictOut, SchoolOut

router = APIRouter(prefix="/api/v1", tags=["reference"])

StatementT = TypeVar("StatementT", bound=Select[Any])
TextQuery = Annotated[str | None, Query(max_length=200, description="text in the name")]


def _scoped(statement: StatementT, column: InstrumentedAttribute[Any], principal: Principal) -> StatementT:
    """AC-2/AC-6: a district user's lists hold only their districts (an empty list: nothing)."""
    allowed = principal.visible_district_ids()
    if allowed is None:
        return statement
    return statement.where(column.in_(sorted(allowed)))


@router.get("/districts", response_model=Page[DistrictOut], responses=problem_responses(401, 403, 422))
async def list_districts(
    principal: DistrictReader,
    session: SessionDep,
    pagination: Pagination,
    district_id: IdQuery | None = None,
    q: TextQuery = None,
) -> Page[DistrictOut]:
    """Districts not deleted in Salesforce, by name; a district user sees only theirs."""
    statement = _scoped(select(District).where(District.is_deleted.is_(False)), District.id, principal)
    if district_id is not None:
        statement = statement.where(District.id == district_id)
    if q and q.strip():
        statement = statement.where(District.name.icontains(q.strip(), autoescape=True))
    return await paginate(
        session, statement.order_by(District.name, District.id), pagination, DistrictOut.model_validate
    )


@router.get(
    "/districts/{district_id}", response_model=DistrictOut, responses=problem_responses(401, 403, 404, 422)
)
async def get_district(district_id: IdPath, principal: DistrictReader, session: SessionDep) -> DistrictOut:
    district = await session.get(District, district_id)
    if district is None or district.is_deleted:
        raise not_found("district")
    return DistrictOut.model_validate(district)


@router.get("/schools", response_model=Page[SchoolOut], responses=problem_responses(401, 403, 422))
async def list_schools(
    principal: DistrictReader,
    session: SessionDep,
    pagination: Pagination,
    district_id: IdQuery | None = None,
    q: TextQuery = None,
) -> Page[SchoolOut]:
    """Schools not deleted in Salesforce, by name; a district user sees only their districts' schools."""
    statement = _scoped(select(School).where(School.is_deleted.is_(False)), School.district_id, principal)
    if district_id is not None:
        statement = statement.where(School.district_id == district_id)
    if q and q.strip():
        statement = statement.where(School.name.icontains(q.strip(), autoescape=True))
    return await paginate(
        session, statement.order_by(School.name, School.id), pagination, SchoolOut.model_validate
    )
