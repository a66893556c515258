"""Kind ``salesforce-organizations``: partner organizations from Account (02 SF-25).

Filter ``Type NOT IN ('Household', 'School District', 'School')`` (a null Type included), key
``organization.salesforce_id``, watermark ``Account:organization``. ``ParentId`` is an optional
reference (SF-17): kept in ``parent_salesforce_id``, flag ``unresolved_reference`` until the
link resolver at the end of the run finds the parent. A blank Type raises
``missing_organization_type``. The common rules are the engine's (SF-6..SF-19).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from polaris_api.models.reference import Organization
from polaris_api.schemas.salesforce import ACCOUNT_ORGANIZATION_FIELDS, SalesforceAccountOrganization
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import FlagBook, chunks
from polaris_api.sync.salesforce.engine import (
    BatchWriter,
    SfObject,
    assign,
    is_stale,
    load_by_sf_id,
    restore,
    run_import,
    settle_deleted_or_rejected,
    snapshot_step,
)

__all__ = ["KIND", "ORGANIZATIONS", "run"]

KIND = "salesforce-organizations"


class _Writer(BatchWriter):
    def __init__(self, session: AsyncSession, ctx: RunContext, obj: SfObject) -> None:
        super().__init__(session, ctx, obj)
        self.rows: dict[str, Organization] = {}
        self.parents: dict[str, int] = {}
        self.flags = FlagBook(
            session,
            run_id=ctx.run_id,
            entity_type="organization",
            sf_object="Account",
            codes=("unresolved_reference", "missing_organization_type"),
        )

    async def prepare(self, records: Sequence[SalesforceAccountOrganization]) -> None:
        self.rows = await load_by_sf_id(self.session, Organization, [r.id for r in records if r.id])
        parents = [r.parent_id for r in records if r.parent_id]
        for chunk in chunks(sorted(set(parents))):
            result = await self.session.execute(
                select(Organization.salesforce_id, Organization.id).where(
                    Organization.salesforce_id.in_(chunk)
                )
            )
            self.parents.update((sf_id, org_id) for sf_id, org_id in result.all() if sf_id)
        await self.flags.load(row.id for row in self.rows.values())

    async def apply(self, index: int, record: SalesforceAccountOrganization) -> None:
        ctx = self.ctx
        row = self.rows.get(record.id or "")
        if settle_deleted_or_rejected(ctx, self.obj, index, record, row):
            return
        values = record.values()
        values["parent_id"] = self.parents.get(record.parent_id) if record.parent_id else None
        # a parent created earlier in this batch has no id yet: link the objects instead
        new_parent = (
            self.rows.get(record.parent_id) if record.parent_id and values["parent_id"] is None else None
        )
        if row is None:
            row = Organization(
                salesforce_id=record.id, sf_modstamp=record.system_modstamp, is_deleted=False, **values
            )
            row.sf_last_seen_run_id = ctx.run_id
            self.session.add(row)
            self.rows[record.id or ""] = row
            ctx.count("created")
        else:
            self.see(row)
            if is_stale(row, record):
                ctx.count("unchanged")
                return
            if new_parent is not None:
                values.pop("parent_id")
            changed = assign(row, values)
            row.sf_modstamp = record.system_modstamp
            restored = restore(row)
            ctx.count("updated" if changed or restored or new_parent is not None else "unchanged")
            if restored:
                ctx.count("restored")
        if new_parent is not None:
            row.parent = new_parent
        unresolved = bool(record.parent_id) and values.get("parent_id") is None and new_parent is None
        self.after_flush(lambda: self._flags(row, record, unresolved))

    def _flags(self, row: Organization, record: SalesforceAccountOrganization, unresolved: bool) -> None:
        note = f"run {self.ctx.run_id}"
        if unresolved:
            self.flags.raise_flag(
                "unresolved_reference",
                entity_id=row.id,
                salesforce_id=record.id,
                field="ParentId",
                raw_value=record.parent_id,
                details={"sf_object": "Account", "sf_field": "ParentId", "salesforce_id": record.parent_id},
            )
        else:
            self.flags.resolve("unresolved_reference", entity_id=row.id, field="ParentId", note=note)
        if record.type is None:
            self.flags.raise_flag(
                "missing_organization_type", entity_id=row.id, salesforce_id=record.id, field="Type"
            )
        else:
            self.flags.resolve("missing_organization_type", entity_id=row.id, field="Type", note=note)


ORGANIZATIONS = SfObject(
    "Account:organization",
    "Account",
    "Type NOT IN ('Household', 'School District', 'School')",
    ACCOUNT_ORGANIZATION_FIELDS,
    SalesforceAccountOrganization,
    _Writer,
    label="organizations",
)


async def resolve_links(ctx: RunContext) -> None:
    """SF-17: organizations whose ParentId organization now exists get their ``parent_id``."""
    parent = aliased(Organization)
    lookup = (
        select(parent.id)
        .where(parent.salesforce_id == Organization.parent_salesforce_id)
        .correlate(Organization)
    )
    async with ctx.sessionmaker() as session:
        waiting = (
            (
                await session.execute(
                    select(Organization.id).where(
                        Organization.parent_id.is_(None),
                        Organization.parent_salesforce_id.is_not(None),
                        exists(lookup),
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
                update(Organization)
                .where(Organization.id.in_(chunk))
                .values(parent_id=lookup.scalar_subquery())
                .execution_options(synchronize_session=False)
            )
        flags = FlagBook(
            session,
            run_id=ctx.run_id,
            entity_type="organization",
            sf_object="Account",
            codes=("unresolved_reference",),
        )
        await flags.load(waiting)
        for org_id in waiting:
            flags.resolve(
                "unresolved_reference", entity_id=org_id, field="ParentId", note=f"linked by run {ctx.run_id}"
            )
        ctx.count("links_resolved", len(waiting))
        await session.commit()


async def run(ctx: RunContext) -> None:
    await run_import(
        ctx,
        KIND,
        [ORGANIZATIONS],
        after_object=snapshot_step(Organization, "Account"),
        at_end=[resolve_links],
    )
