"""Kind ``salesforce-classes``: student classes from Class__c (02 SF-30).

No filter; key ``school_class.salesforce_id``; watermark ``Class__c``. ``School__c`` is an
optional reference (SF-17) resolved at the end of the run.
"""

from __future__ import annotations

from typing import Any

from polaris_api.models.reference import School, SchoolClass
from polaris_api.schemas.salesforce import CLASS_FIELDS, SalesforceClass
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.engine import (
    MirrorWriter,
    OptionalRef,
    SfObject,
    link_resolver,
    run_import,
    snapshot_step,
)

__all__ = ["CLASSES", "KIND", "run"]

KIND = "salesforce-classes"


class _Writer(MirrorWriter):
    table = SchoolClass
    entity_type = "school_class"
    refs = (OptionalRef("School__c", "school_id", "school_id", School, "school_salesforce_id"),)

    def values(self, record: SalesforceClass) -> dict[str, Any]:
        return record.values()


CLASSES = SfObject("Class__c", "Class__c", None, CLASS_FIELDS, SalesforceClass, _Writer, label="classes")


async def run(ctx: RunContext) -> None:
    await run_import(
        ctx,
        KIND,
        [CLASSES],
        after_object=snapshot_step(SchoolClass, "Class__c"),
        at_end=[
            link_resolver(SchoolClass, "school_id", "school_salesforce_id", School, "School__c", "Class__c")
        ],
    )
