"""Reference data as staff read it: districts and schools (00 §5.1; 07 DV-2 allows both)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DistrictOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str
    district_code: str | None
    salesforce_id: str | None


class SchoolOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    school_code: str | None
    district_id: int | None
    level: str | None
    salesforce_id: str | None
