"""Published reference data: field ownership (OWN-2) and vocabularies (VOC-1 discovery)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from polaris_api import ownership, vocabularies
from polaris_api.auth import AnyPrincipal
from polaris_api.errors import problem_responses

router = APIRouter(prefix="/api/v1/meta", tags=["meta"])


@router.get("/ownership", responses=problem_responses(401))
async def get_ownership(principal: AnyPrincipal) -> dict[str, Any]:
    """Which system owns each field of each entity. Writes to a field you do not own get 409."""
    return ownership.as_public_map()


@router.get("/vocabularies", responses=problem_responses(401))
async def get_vocabularies(principal: AnyPrincipal) -> dict[str, list[dict[str, Any]]]:
    """Every controlled vocabulary as `{name: [{value, label}]}` in display order."""
    return vocabularies.as_public_dict()
