"""The one pagination type every list endpoint uses (00 §5: ``{items, page, page_size, total}``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
MAX_PAGE_SIZE = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    page_size: int
    total: int


@dataclass(frozen=True)
class PageParams:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = 50,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


Pagination = Annotated[PageParams, Depends(page_params)]


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    params: PageParams,
    to_item: Callable[[Any], T] | None = None,
) -> Page[T]:
    """Run ``statement`` (already ordered, stable) for one page and count the whole result."""
    total = (
        await session.execute(select(func.count()).select_from(statement.order_by(None).subquery()))
    ).scalar_one()
    rows: Sequence[Any] = (
        (await session.execute(statement.limit(params.page_size).offset(params.offset))).scalars().all()
    )
    items = [to_item(row) for row in rows] if to_item else list(rows)
    return Page[Any](items=items, page=params.page, page_size=params.page_size, total=total)
