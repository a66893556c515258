"""Reading one row the caller names by id: soft-deleted rows are as absent as missing ones."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.errors import not_found

RowT = TypeVar("RowT")


async def get_live(session: AsyncSession, model: type[RowT], row_id: int, what: str) -> RowT:
    """The row with ``row_id`` unless it is missing or soft-deleted (00 §6): then 404 ``not_found``."""
    row: Any = await session.get(model, row_id)
    if row is None or row.is_deleted:
        raise not_found(what)
    return row  # type: ignore[no-any-return]
