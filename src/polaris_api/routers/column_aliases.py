"""04 PF-3 header aliases of the file imports, admin-managed: ``/api/v1/admin/column-aliases``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from polaris_api.auth import ColumnAliasAdmin
from polaris_api.deps import SessionDep
from polaris_api.errors import problem_responses
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.schemas.column_aliases import ColumnAliasCreate, ColumnAliasOut, ImportType
from polaris_api.schemas.common import IdPath
from polaris_api.services import column_aliases

router = APIRouter(prefix="/api/v1/admin/column-aliases", tags=["imports"])


@router.get("", response_model=Page[ColumnAliasOut], responses=problem_responses(401, 403, 422))
async def list_aliases(
    principal: ColumnAliasAdmin,
    session: SessionDep,
    pagination: Pagination,
    import_type: Annotated[ImportType | None, Query()] = None,
) -> Page[ColumnAliasOut]:
    """Every alias, by import type and alias."""
    return await paginate(
        session, column_aliases.list_statement(import_type), pagination, ColumnAliasOut.model_validate
    )


@router.post(
    "",
    response_model=ColumnAliasOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 422, column_aliases.UnknownColumn, column_aliases.AliasExists),
)
async def create_alias(
    body: ColumnAliasCreate, principal: ColumnAliasAdmin, session: SessionDep
) -> ColumnAliasOut:
    """A header that files of ``import_type`` may use for the ``canonical`` column (audited).
    422 ``unknown_column``; 409 ``alias_exists`` when the header already names a column."""
    row = await column_aliases.create_alias(session, principal, body.import_type, body.alias, body.canonical)
    return ColumnAliasOut.model_validate(row)


@router.delete(
    "/{alias_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 403, 404, 422)
)
async def delete_alias(alias_id: IdPath, principal: ColumnAliasAdmin, session: SessionDep) -> Response:
    """Remove an alias (audited); later imports no longer read that header."""
    await column_aliases.delete_alias(session, principal, alias_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
