"""Kind ``salesforce-districts-schools``: districts and schools from Account (02 SF-24).

Districts first (``Type = 'School District'``, watermark ``Account:district``), then schools
(``Type = 'School'``, watermark ``Account:school``), each with the common import rules:

* SF-7 query shape, read with ``queryAll`` (deleted records included) and streamed page by page;
* SF-8/SF-9 ``salesforce_batch_size`` records per transaction, one savepoint per record, the
  watermark ``max(stored, batch max)`` written in the batch's transaction; an incremental run
  without a watermark runs full (SF-6);
* SF-10 upsert by ``salesforce_id`` with the stale-write guard on ``sf_modstamp``; a row without
  SF id and the same case-insensitive name (schools: in the same district) is adopted;
* SF-11 deletions, SF-12 full snapshot (with the ``mass_absence`` brake), SF-17 optional
  reference ``ParentId`` → ``school.district_id`` (flag ``unresolved_reference``; the link
  resolver at the end of the run fills it once the district exists), SF-19 rejections;
* SF-60 mid-stream failure after committed batches: one re-query from the current watermark.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.db import utcnow
from polaris_api.models.reference import District, School, normalize_name, slugify
from polaris_api.models.sync import DataQualityFlag
from polaris_api.schemas.salesforce import (
    ACCOUNT_DISTRICT_FIELDS,
    ACCOUNT_SCHOOL_FIELDS,
    SalesforceAccountDistrict,
    SalesforceAccountSchool,
    SalesforceRecord,
    ValidationError,
    invalid_aliases,
)
from polaris_api.services.sync_runs import RunContext
from polaris_api.sync.salesforce.client import SalesforceConnector, SalesforceError, soql_datetime
from polaris_api.sync.salesforce.common import FlagBook, advance_watermark, chunks, read_watermark

__all__ = ["KIND", "build_soql", "run"]

log = logging.getLogger(__name__)

KIND = "salesforce-districts-schools"
MASS_ABSENCE_MIN = 50
MASS_ABSENCE_SHARE = 0.05


@dataclass(frozen=True)
class _Object:
    key: str  # sf_watermark.sf_object
    label: str  # count prefix
    base_filter: str
    fields: tuple[str, ...]
    model: type[SalesforceRecord]
    table: type[District] | type[School]


DISTRICTS = _Object(
    "Account:district",
    "districts",
    "Type = 'School District'",
    ACCOUNT_DISTRICT_FIELDS,
    SalesforceAccountDistrict,
    District,
)
SCHOOLS = _Object(
    "Account:school", "schools", "Type = 'School'", ACCOUNT_SCHOOL_FIELDS, SalesforceAccountSchool, School
)


def build_soql(obj: _Object, watermark: dt.datetime | None) -> str:
    """SF-7: ``SELECT … FROM Account WHERE (<filter>) [AND SystemModstamp >= <wm>] ORDER BY …``."""
    where = f"({obj.base_filter})"
    if watermark is not None:
        where += f" AND SystemModstamp >= {soql_datetime(watermark)}"
    return f"SELECT {', '.join(obj.fields)} FROM Account WHERE {where} ORDER BY SystemModstamp ASC, Id ASC"


@dataclass
class _Progress:
    mode: str
    before: dt.datetime | None
    after: dt.datetime | None
    committed_batches: int = 0
    index: int = 0
    complete: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


async def run(ctx: RunContext) -> None:
    for key in (
        "read",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "pending",
        "adopted",
        "deleted_in_source",
        "restored",
        "links_resolved",
    ):
        ctx.counts.setdefault(key, 0)
    progress: dict[str, _Progress] = {}
    try:
        async with ctx.connector() as connector:
            for obj in (DISTRICTS, SCHOOLS):
                progress[obj.key] = await _sync_object(ctx, connector, obj)
                if progress[obj.key].mode == "full":
                    await _full_snapshot(ctx, obj)
                await ctx.heartbeat()
                if connector.api_usage is not None:
                    ctx.counts["api_usage"] = connector.api_usage
    finally:
        _record_watermarks(ctx, progress)
    await _resolve_links(ctx)


def _record_watermarks(ctx: RunContext, progress: dict[str, _Progress]) -> None:
    if not progress:
        return
    modes = {p.mode for p in progress.values()}
    ctx.effective_mode = "incremental" if modes == {"incremental"} and len(progress) == 2 else "full"
    ctx.watermarks = {
        key: {
            "mode": p.mode,
            "before": p.before.isoformat() if p.before else None,
            "after": p.after.isoformat() if p.after else None,
            "complete": p.complete,
        }
        for key, p in progress.items()
    }
    befores = [p.before for p in progress.values()]
    ctx.watermark_before = None if None in befores else min(b for b in befores if b is not None)
    afters = [p.after for p in progress.values() if p.after is not None]
    ctx.watermark_after = max(afters) if afters else None


async def _sync_object(ctx: RunContext, connector: SalesforceConnector, obj: _Object) -> _Progress:
    async with ctx.sessionmaker() as session:
        before = await read_watermark(session, KIND, obj.key)
    full = ctx.mode == "full" or before is None
    progress = _Progress(mode="full" if full else "incremental", before=before, after=before)
    batch_size = ctx.settings.salesforce_batch_size
    start_from = None if full else before
    requeried = False
    while True:
        soql = build_soql(obj, start_from)
        batch: list[tuple[int, dict[str, Any]]] = []
        try:
            async for page in connector.iter_pages(soql, include_deleted=True):
                for record in page:
                    batch.append((progress.index, record))
                    progress.index += 1
                    if len(batch) >= batch_size:
                        await _commit_batch(ctx, obj, batch, progress)
                        batch = []
            if batch:
                await _commit_batch(ctx, obj, batch, progress)
            break
        except SalesforceError as exc:
            transient = exc.code in ("sf_unavailable", "sf_rate_limited")
            if requeried or not transient or progress.committed_batches == 0 or progress.after is None:
                raise
            log.warning(
                "%s %s: stream failed mid-way (%s); re-querying from the watermark", KIND, obj.key, exc.code
            )
            requeried = True
            start_from = progress.after
    progress.complete = True
    return progress


def _parse(
    ctx: RunContext, obj: _Object, index: int, raw: dict[str, Any]
) -> SalesforceAccountDistrict | SalesforceAccountSchool | None:
    try:
        record = obj.model.from_sf(raw, tz=ctx.settings.tz)
    except ValidationError as exc:
        sf_id = raw.get("Id") if isinstance(raw.get("Id"), str) else None
        ctx.add_error(
            {
                "salesforce_id": sf_id,
                "sf_object": obj.key,
                "index": index,
                "code": "invalid_value",
                "fields": invalid_aliases(obj.model, exc),
            }
        )
        return None
    if record.id is None:
        ctx.add_error(
            {
                "salesforce_id": None,
                "sf_object": obj.key,
                "index": index,
                "code": "missing_required_field",
                "fields": ["Id"],
            }
        )
        return None
    return record  # type: ignore[return-value]


async def _commit_batch(
    ctx: RunContext, obj: _Object, batch: Sequence[tuple[int, dict[str, Any]]], progress: _Progress
) -> None:
    """One transaction: upserts, rejections, flags and the watermark (SF-9)."""
    parsed = [(index, _parse(ctx, obj, index, raw)) for index, raw in batch]
    records = [(index, record) for index, record in parsed if record is not None]
    modstamps = [r.system_modstamp for _, r in records if r.system_modstamp is not None]
    ctx.count("read", len(batch))
    ctx.count(f"{obj.label}_read", len(batch))
    async with ctx.sessionmaker() as session:
        try:
            writer = _BatchWriter(session, ctx, obj)
            await writer.prepare([record for _, record in records])
            for index, record in records:
                try:
                    async with session.begin_nested():
                        await writer.apply(index, record)
                except IntegrityError:
                    ctx.add_error(
                        {
                            "salesforce_id": record.id,
                            "sf_object": obj.key,
                            "index": index,
                            "code": "db_conflict",
                        }
                    )
            progress.after = await advance_watermark(
                session, KIND, obj.key, max(modstamps) if modstamps else None, ctx.run_id
            )
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    progress.committed_batches += 1
    await ctx.heartbeat()


class _BatchWriter:
    """Upserts one batch of one object with a handful of queries (no query per record)."""

    def __init__(self, session: AsyncSession, ctx: RunContext, obj: _Object) -> None:
        self.session = session
        self.ctx = ctx
        self.obj = obj
        self.table = obj.table
        self.by_sf_id: dict[str, Any] = {}
        self.adoptable: dict[str, list[Any]] = {}
        self.district_ids: dict[str, int] = {}
        self.slugs: set[str] | None = None
        self.flags = FlagBook(
            session,
            run_id=ctx.run_id,
            entity_type=self.table.__tablename__,
            sf_object="Account",
            codes=("unresolved_reference",),
        )

    async def prepare(self, records: Sequence[Any]) -> None:
        table = self.table
        ids = [r.id for r in records]
        for chunk in chunks(ids):
            rows = (await self.session.execute(select(table).where(table.salesforce_id.in_(chunk)))).scalars()
            self.by_sf_id.update({row.salesforce_id: row for row in rows})
        names = sorted(
            {normalize_name(r.name) for r in records if r.id not in self.by_sf_id and r.name} - {None}
        )
        for chunk in chunks(names):
            rows = (
                await self.session.execute(
                    select(table)
                    .where(table.salesforce_id.is_(None), table.normalized_name.in_(chunk))
                    .order_by(table.id)
                )
            ).scalars()
            for row in rows:
                self.adoptable.setdefault(row.normalized_name, []).append(row)
        if self.obj is SCHOOLS:
            parents = sorted({r.parent_id for r in records if getattr(r, "parent_id", None)})
            for chunk in chunks(parents):
                rows = await self.session.execute(
                    select(District.salesforce_id, District.id).where(District.salesforce_id.in_(chunk))
                )
                self.district_ids.update({sf_id: district_id for sf_id, district_id in rows.all()})
            await self.flags.load(row.id for row in self.by_sf_id.values())

    async def _unique_slug(self, name: str) -> str:
        if self.slugs is None:
            self.slugs = set((await self.session.execute(select(District.slug))).scalars())
        base = slugify(name)
        slug, n = base, 1
        while slug in self.slugs:
            n += 1
            suffix = f"-{n}"
            slug = base[: 100 - len(suffix)] + suffix
        self.slugs.add(slug)
        return slug

    def _adopt(self, record: Any, district_id: int | None) -> Any | None:
        candidates = self.adoptable.get(normalize_name(record.name) or "", [])
        for row in candidates:
            if self.obj is SCHOOLS and row.district_id != district_id:
                continue
            candidates.remove(row)
            return row
        return None

    async def apply(self, index: int, record: Any) -> None:
        ctx, obj = self.ctx, self.obj
        row = self.by_sf_id.get(record.id)
        stale = (
            row is not None
            and row.sf_modstamp is not None
            and record.system_modstamp is not None
            and record.system_modstamp < row.sf_modstamp
        )
        if record.is_deleted:  # SF-11
            if row is None:
                ctx.count("skipped")  # a deleted Id unknown to Polaris is ignored
                return
            row.sf_last_seen_run_id = ctx.run_id
            if stale:
                ctx.count("unchanged")
                return
            row.sf_modstamp = record.system_modstamp
            if not row.is_deleted:
                row.is_deleted = True
                row.deleted_in_source_at = record.system_modstamp or utcnow()
                row.deleted_in_source_reason = "deleted"
                ctx.count("deleted_in_source")
            else:
                ctx.count("unchanged")
            return

        missing = record.missing_fields()
        if missing:  # SF-19: not written, listed, run partial
            if row is not None:
                row.sf_last_seen_run_id = ctx.run_id  # still in Salesforce: not absent (SF-12)
            ctx.add_error(
                {
                    "salesforce_id": record.id,
                    "sf_object": obj.key,
                    "index": index,
                    "code": "missing_required_field",
                    "fields": missing,
                }
            )
            return

        values = record.values()
        district_id: int | None = None
        if obj is SCHOOLS:
            parent = record.parent_id
            district_id = self.district_ids.get(parent) if parent else None
            values["district_id"] = district_id

        if row is None:
            row = self._adopt(record, district_id)
            if row is not None:  # a Polaris row with the same name: it becomes this SF record
                row.salesforce_id = record.id
                ctx.count("adopted")
                stale = False
        if row is None:
            extra: dict[str, Any] = {}
            if obj is DISTRICTS:
                extra["slug"] = await self._unique_slug(record.name)
            row = self.table(
                salesforce_id=record.id,
                sf_modstamp=record.system_modstamp,
                sf_last_seen_run_id=ctx.run_id,
                is_deleted=False,
                **values,
                **extra,
            )
            self.session.add(row)
            await self.session.flush()
            self.by_sf_id[record.id] = row
            ctx.count("created")
        else:
            row.sf_last_seen_run_id = ctx.run_id
            if stale:  # SF-10 guard: an older read never overwrites
                ctx.count("unchanged")
                return
            changed = False
            for name, value in values.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed = True
            row.sf_modstamp = record.system_modstamp
            restored = row.is_deleted
            if restored:
                row.is_deleted = False
                row.deleted_in_source_at = None
                row.deleted_in_source_reason = None
                changed = True
            await self.session.flush()
            self.by_sf_id[record.id] = row
            ctx.count("updated" if changed else "unchanged")
            if restored:
                ctx.count("restored")

        if obj is SCHOOLS:  # SF-17 optional reference
            parent = record.parent_id
            if parent and district_id is None:
                self.flags.raise_flag(
                    "unresolved_reference",
                    entity_id=row.id,
                    salesforce_id=record.id,
                    field="ParentId",
                    raw_value=parent,
                    details={"sf_object": "Account", "sf_field": "ParentId", "salesforce_id": parent},
                )
            else:
                self.flags.resolve(
                    "unresolved_reference",
                    entity_id=row.id,
                    field="ParentId",
                    note=f"linked by run {ctx.run_id}",
                )


async def _full_snapshot(ctx: RunContext, obj: _Object) -> None:
    """SF-12: live rows a complete full run did not see are soft-deleted — unless too many."""
    table = obj.table
    live = and_(table.salesforce_id.is_not(None), table.is_deleted.is_(False))
    unseen = and_(live, or_(table.sf_last_seen_run_id.is_(None), table.sf_last_seen_run_id != ctx.run_id))
    async with ctx.sessionmaker() as session:
        total = (await session.execute(select(func.count()).select_from(table).where(live))).scalar_one()
        absent = (await session.execute(select(func.count()).select_from(table).where(unseen))).scalar_one()
        flag_key = {
            "code": "mass_absence",
            "entity_type": table.__tablename__,
            "record_key": "",
            "field": "",
        }
        open_flag = (
            await session.execute(
                select(DataQualityFlag).where(
                    *(getattr(DataQualityFlag, k) == v for k, v in flag_key.items()),
                    DataQualityFlag.status == "open",
                )
            )
        ).scalar_one_or_none()
        limit = max(MASS_ABSENCE_MIN, MASS_ABSENCE_SHARE * total)
        if absent > limit:
            details = {"sf_object": obj.key, "absent": absent, "live": total, "limit": limit}
            if open_flag is None:
                session.add(
                    DataQualityFlag(
                        **flag_key,
                        sf_object="Account",
                        details=details,
                        status="open",
                        last_seen_at=utcnow(),
                        last_run_id=ctx.run_id,
                    )
                )
            else:
                open_flag.details = details
                open_flag.last_seen_at = utcnow()
                open_flag.last_run_id = ctx.run_id
            ctx.add_error({"sf_object": obj.key, "code": "mass_absence", "absent": absent, "live": total})
        else:
            if absent:
                await session.execute(
                    update(table)
                    .where(unseen)
                    .values(
                        is_deleted=True,
                        deleted_in_source_at=utcnow(),
                        deleted_in_source_reason="absent_from_full_snapshot",
                    )
                    .execution_options(synchronize_session=False)
                )
                ctx.count("deleted_in_source", absent)
            if open_flag is not None:
                open_flag.status = "resolved"
                open_flag.resolved_at = utcnow()
                open_flag.resolution_note = f"full snapshot within limits in run {ctx.run_id}"
        await session.commit()


async def _resolve_links(ctx: RunContext) -> None:
    """SF-17 link resolver: schools whose ParentId district now exists get their district_id."""
    district = (
        select(District.id).where(District.salesforce_id == School.district_salesforce_id).correlate(School)
    )
    async with ctx.sessionmaker() as session:
        waiting = (
            (
                await session.execute(
                    select(School.id).where(
                        School.district_id.is_(None),
                        School.district_salesforce_id.is_not(None),
                        exists(district),
                    )
                )
            )
            .scalars()
            .all()
        )
        if not waiting:
            return
        for chunk in chunks(list(waiting)):
            await session.execute(
                update(School)
                .where(School.id.in_(chunk))
                .values(district_id=district.scalar_subquery())
                .execution_options(synchronize_session=False)
            )
        flags = FlagBook(
            session,
            run_id=ctx.run_id,
            entity_type="school",
            sf_object="Account",
            codes=("unresolved_reference",),
        )
        await flags.load(waiting)
        for school_id in waiting:
            flags.resolve(
                "unresolved_reference",
                entity_id=school_id,
                field="ParentId",
                note=f"linked by run {ctx.run_id}",
            )
        ctx.count("links_resolved", len(waiting))
        await session.commit()
