"""04 PF-3: admin-managed header aliases, so a renamed column in a Pathful report or a district
roster is fixed by configuration. The imports read them when they map headers
(``imports/pathful/columns.py``, ``imports/roster.py``); every change is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.errors import NamedProblem, not_found
from polaris_api.imports.pathful.columns import canonical_of
from polaris_api.imports.tabular import header_key
from polaris_api.models.imports import ColumnAlias
from polaris_api.schemas.roster import roster_columns
from polaris_api.services import audit

__all__ = ["AliasExists", "UnknownColumn", "create_alias", "delete_alias", "list_statement"]


class UnknownColumn(NamedProblem):
    """The alias names a column the import does not have."""

    status, code = 422, "unknown_column"


class AliasExists(NamedProblem):
    """This header already means a column of this import (an alias or a canonical name)."""

    status, code = 409, "alias_exists"


def _canonical(import_type: str, name: str) -> str | None:
    """The canonical column ``name`` stands for in ``import_type`` files, or None."""
    if import_type == "pathful":
        return canonical_of(name)
    key = header_key(name)
    for _field, canonical, aliases, _required in roster_columns():
        if key in {header_key(a) for a in aliases}:
            return canonical
    return None


def list_statement(import_type: str | None = None) -> Select[Any]:
    statement = select(ColumnAlias)
    if import_type is not None:
        statement = statement.where(ColumnAlias.import_type == import_type)
    return statement.order_by(ColumnAlias.import_type, ColumnAlias.alias, ColumnAlias.id)


async def create_alias(
    session: AsyncSession, actor: Principal, import_type: str, alias: str, canonical: str
) -> ColumnAlias:
    target = _canonical(import_type, canonical)
    if target is None:
        raise UnknownColumn(f"The {import_type} import has no column '{canonical}'.")
    key = header_key(alias)
    taken = await session.execute(
        select(ColumnAlias.id).where(ColumnAlias.import_type == import_type, ColumnAlias.alias == key)
    )
    if _canonical(import_type, key) is not None or taken.first() is not None:
        raise AliasExists(f"'{alias}' already names a column of the {import_type} import.")
    row = ColumnAlias(import_type=import_type, alias=key, canonical=target, created_by_id=actor.user_id)
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        "column_alias.created",
        actor=actor,
        entity_type="column_alias",
        entity_id=row.id,
        details={"import_type": import_type, "alias": key, "canonical": target},
    )
    return row


async def delete_alias(session: AsyncSession, actor: Principal, alias_id: int) -> None:
    row = await session.get(ColumnAlias, alias_id)
    if row is None:
        raise not_found("column alias")
    await audit.record(
        session,
        "column_alias.deleted",
        actor=actor,
        entity_type="column_alias",
        entity_id=row.id,
        details={"import_type": row.import_type, "alias": row.alias, "canonical": row.canonical},
    )
    await session.delete(row)
    await session.flush()
