"""Helpers shared by the Salesforce sync kinds: chunked lookups, data-quality flags (SF-15/SF-16)
and watermarks (SF-8)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, exists, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.db import utcnow
from polaris_api.models.sync import DataQualityFlag, SfWatermark

T = TypeVar("T")

IN_CHUNK = 500
"""Ids per ``IN (...)`` lookup: well under the bind-parameter limits of both databases."""


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_ARRAYS: dict[Any, ARRAY[Any]] = {}


def _array_of(item_type: Any) -> ARRAY[Any]:
    """One ``ARRAY`` type per column type: a new one per statement made SQLAlchemy work out its
    cache key again each time (~6 % of an unchanged import's CPU)."""
    array = _ARRAYS.get(item_type)
    if array is None:
        array = _ARRAYS[item_type] = ARRAY(item_type)
    return array


def one_of(session: AsyncSession, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column IN (SELECT unnest(:array))``: one bound
    array instead of a parameter per value, so a chunk of 500 ids is not rendered and planned as
    500 binds (issue 13 item 5: measured ~10 % of the import's CPU). Not ``= ANY(:array)``: with
    the custom plans we force (db.POSTGRES_SERVER_SETTINGS) the planner estimates an ``= ANY`` /
    ``IN`` list element by element, ~20 ms per 500-id lookup under load, 8x the lookup itself;
    it plans ``unnest`` as a 500-row set (a nested loop over the unique index) without that."""
    return _one_of(session.get_bind().dialect.name, column, None, {"value": list(values)})


def one_of_bound(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """:func:`one_of` with the values left to the bound parameter ``name`` (a list, given at
    execution), for a statement built once and run many times."""
    return _one_of(dialect, column, name, {})


def _one_of(dialect: str, column: Any, name: str | None, value: dict[str, Any]) -> ColumnElement[bool]:
    """The one rendering of :func:`one_of` / :func:`one_of_bound`; ``value`` holds the values
    when they are bound now."""
    if dialect == "postgresql":
        array = bindparam(name, type_=_array_of(column.type), **value)
        return column.in_(select(func.unnest(array)))  # type: ignore[no-any-return]
    return column.in_(bindparam(name, type_=column.type, expanding=True, **value))  # type: ignore[no-any-return]


async def ids_except(
    session: AsyncSession, query: Select[Any], column: Any, excluded: Collection[int]
) -> list[int]:
    """The ids ``query`` (one integer ``column``) returns that are not in ``excluded``. On
    PostgreSQL the database leaves them out (an anti-join on one bound array: the rows of a full
    run's snapshot that the raw fast path set aside are most of the table, 350,000 affiliations,
    and fetching them all only to drop them cost four times the anti-join); elsewhere they are
    dropped here. Run on the Core connection: ORM result processing adds a third for plain ids."""
    connection = await session.connection()
    if excluded and session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(excluded), type_=_array_of(column.type))
        known = func.unnest(array).table_valued("id").render_derived(name="excluded")
        query = query.where(~exists(select(known.c.id).where(known.c.id == column)))
        return list((await connection.execute(query)).scalars())
    return [i for i in (await connection.execute(query)).scalars() if i not in excluded]


def pair_of(
    session: AsyncSession, first: Any, second: Any, pairs: Sequence[tuple[Any, Any]]
) -> ColumnElement[bool]:
    """``(first, second) IN (pairs)``; on PostgreSQL against two unnested arrays, planned without
    looking at every pair (see :func:`one_of`)."""
    if session.get_bind().dialect.name == "postgresql":
        a = bindparam(None, [p[0] for p in pairs], type_=_array_of(first.type))
        b = bindparam(None, [p[1] for p in pairs], type_=_array_of(second.type))
        return tuple_(first, second).in_(select(func.unnest(a), func.unnest(b)))  # type: ignore[no-any-return]
    return tuple_(first, second).in_(pairs)  # type: ignore[no-any-return]


class FlagBook:
    """Open flags of a set of records, loaded in chunks, so raising and resolving needs no query
    per record. At most one open flag per (code, record, field) (SF-16); ``field`` is the SF field
    API name. A record found clean resolves its open flag."""

    def __init__(
        self, session: AsyncSession, *, run_id: int, entity_type: str, sf_object: str, codes: Iterable[str]
    ) -> None:
        self.session = session
        self.run_id = run_id
        self.entity_type = entity_type
        self.sf_object = sf_object
        self.codes = tuple(codes)
        self.open: dict[tuple[str, str, str], DataQualityFlag] = {}
        self.raised = 0
        self.resolved = 0

    async def load(self, entity_ids: Iterable[int]) -> None:
        keys = [str(i) for i in entity_ids]
        for chunk in chunks(keys):
            rows = (
                await self.session.execute(
                    select(DataQualityFlag).where(
                        DataQualityFlag.code.in_(self.codes),
                        DataQualityFlag.entity_type == self.entity_type,
                        DataQualityFlag.status == "open",
                        one_of(self.session, DataQualityFlag.record_key, chunk),
                    )
                )
            ).scalars()
            for flag in rows:
                self.open[(flag.code, flag.record_key, flag.field)] = flag

    def raise_flag(
        self,
        code: str,
        *,
        entity_id: int,
        salesforce_id: str | None,
        field: str,
        vocabulary: str | None = None,
        raw_value: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        key = (code, str(entity_id), field)
        now = utcnow()
        flag = self.open.get(key)
        if flag is not None:
            flag.last_seen_at = now
            flag.last_run_id = self.run_id
            flag.raw_value = raw_value
            flag.vocabulary = vocabulary
            if details is not None:
                flag.details = details
            return
        flag = DataQualityFlag(
            code=code,
            entity_type=self.entity_type,
            entity_id=entity_id,
            record_key=str(entity_id),
            salesforce_id=salesforce_id,
            sf_object=self.sf_object,
            field=field,
            vocabulary=vocabulary,
            raw_value=raw_value,
            details=details or {},
            status="open",
            last_seen_at=now,
            last_run_id=self.run_id,
        )
        self.session.add(flag)
        self.open[key] = flag
        self.raised += 1

    def resolve(self, code: str, *, entity_id: int, field: str, note: str) -> None:
        flag = self.open.pop((code, str(entity_id), field), None)
        if flag is None:
            return
        flag.status = "resolved"
        flag.resolved_at = utcnow()
        flag.last_run_id = self.run_id
        flag.resolution_note = note
        self.resolved += 1


async def read_watermark(session: AsyncSession, kind: str, sf_object: str) -> dt.datetime | None:
    return (
        await session.execute(
            select(SfWatermark.watermark).where(SfWatermark.kind == kind, SfWatermark.sf_object == sf_object)
        )
    ).scalar_one_or_none()


async def advance_watermark(
    session: AsyncSession, kind: str, sf_object: str, batch_max: dt.datetime | None, run_id: int
) -> dt.datetime | None:
    """SF-8: ``max(stored, batch max)``, written in the batch's transaction. Returns the new value."""
    row = (
        await session.execute(
            select(SfWatermark).where(SfWatermark.kind == kind, SfWatermark.sf_object == sf_object)
        )
    ).scalar_one_or_none()
    if batch_max is None:
        return row.watermark if row else None
    if row is None:
        session.add(SfWatermark(kind=kind, sf_object=sf_object, watermark=batch_max, run_id=run_id))
        return batch_max
    if batch_max > row.watermark:
        row.watermark = batch_max
        row.run_id = run_id
    return row.watermark
