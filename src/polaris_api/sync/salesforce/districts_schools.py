"""Kind ``salesforce-districts-schools``: districts and schools from Account (02 SF-24).

Districts first (``Type = 'School District'``, watermark ``Account:district``), then schools
(``Type = 'School'``, watermark ``Account:school``), through the import engine
(:mod:`.engine`: SF-6..SF-12, SF-19, SF-60). What is particular to accounts:

* SF-10 adoption: a row without SF id and the same case-insensitive name (schools: in the same
  district) becomes the SF record instead of a new row being created;
* a new district gets a unique slug from its name;
* SF-17 optional reference ``ParentId`` → ``school.district_id`` (flag ``unresolved_reference``;
  the link resolver at the end of the run fills it once the district exists).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from polaris_api.models.reference import District, School, normalize_name, slugify
from polaris_api.schemas.salesforce import (
    ACCOUNT_DISTRICT_FIELDS,
    ACCOUNT_SCHOOL_FIELDS,
    SalesforceAccountDistrict,
    SalesforceAccountSchool,
)
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.common import chunks
from polaris_api.sync.salesforce.engine import (
    MirrorWriter,
    OptionalRef,
    SfObject,
    link_resolver,
    run_import,
    snapshot_step,
)

__all__ = ["DISTRICTS", "KIND", "SCHOOLS", "run"]

KIND = "salesforce-districts-schools"


class _AccountWriter(MirrorWriter):
    """Adopts Polaris rows by name (SF-10) before creating new ones."""

    table: type[District] | type[School]

    def values(self, record: Any) -> dict[str, Any]:
        return record.values()

    async def prepare_more(self, records: Sequence[Any]) -> None:
        self.adoptable: dict[str, list[Any]] = {}
        table: Any = self.table
        names = sorted({name for r in records if r.id not in self.rows and (name := normalize_name(r.name))})
        for chunk in chunks(names):
            rows = await self.session.execute(
                select(table)
                .where(table.salesforce_id.is_(None), table.normalized_name.in_(chunk))
                .order_by(table.id)
            )
            for row in rows.scalars():
                self.adoptable.setdefault(row.normalized_name, []).append(row)

    def adopts(self, row: Any, values: dict[str, Any]) -> bool:
        return True

    async def find_existing(self, record: Any, values: dict[str, Any]) -> Any | None:
        candidates = self.adoptable.get(normalize_name(record.name) or "", [])
        row = next((row for row in candidates if self.adopts(row, values)), None)
        if row is not None:
            candidates.remove(row)
        return row


class _DistrictWriter(_AccountWriter):
    table = District
    entity_type = "district"

    async def prepare_more(self, records: Sequence[SalesforceAccountDistrict]) -> None:
        await super().prepare_more(records)
        self.slugs: set[str] | None = None

    async def new_row_values(
        self, record: SalesforceAccountDistrict, values: dict[str, Any]
    ) -> dict[str, Any]:
        if self.slugs is None:
            self.slugs = set((await self.session.execute(select(District.slug))).scalars())
        base = slugify(record.name or "")
        slug, n = base, 1
        while slug in self.slugs:
            n += 1
            suffix = f"-{n}"
            slug = base[: 100 - len(suffix)] + suffix
        self.slugs.add(slug)
        return {"slug": slug}


class _SchoolWriter(_AccountWriter):
    table = School
    entity_type = "school"
    refs = (OptionalRef("ParentId", "parent_id", "district_id", District, "district_salesforce_id"),)

    def adopts(self, row: Any, values: dict[str, Any]) -> bool:
        return bool(row.district_id == values["district_id"])  # only a school of the same district


DISTRICTS = SfObject(
    "Account:district",
    "Account",
    "Type = 'School District'",
    ACCOUNT_DISTRICT_FIELDS,
    SalesforceAccountDistrict,
    _DistrictWriter,
    label="districts",
)
SCHOOLS = SfObject(
    "Account:school",
    "Account",
    "Type = 'School'",
    ACCOUNT_SCHOOL_FIELDS,
    SalesforceAccountSchool,
    _SchoolWriter,
    label="schools",
)
_TABLES = {DISTRICTS.key: District, SCHOOLS.key: School}


async def run(ctx: RunContext) -> None:
    ctx.counts.setdefault("adopted", 0)
    await run_import(
        ctx,
        KIND,
        [DISTRICTS, SCHOOLS],
        after_object=snapshot_step(_TABLES, "Account"),
        at_end=[
            link_resolver(School, "district_id", "district_salesforce_id", District, "ParentId", "Account")
        ],
    )
