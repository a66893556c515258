"""Kind ``salesforce-students``: students for reach metrics from Contact (02 SF-29).

Filter ``Contact_Type__c = 'Student'``; key ``student.salesforce_id``; watermark
``Contact:student``. Email and phone are not read. ``npsp__Primary_Affiliation__c`` (school) and
``Class__c`` are optional references (SF-17). ``Current_Grade__c`` outside 0–12 / K → null and
flag ``invalid_grade``; unknown picklist values are flagged (SF-15).
"""

from __future__ import annotations

from typing import Any

from polaris_api.models.people import Student
from polaris_api.models.reference import School, SchoolClass
from polaris_api.schemas.salesforce import CONTACT_STUDENT_FIELDS, SalesforceContactStudent, grade
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.engine import (
    MirrorWriter,
    OptionalRef,
    SfObject,
    link_resolver,
    run_import,
    snapshot_step,
)
from polaris_api.vocabularies import map_race_ethnicity

__all__ = ["KIND", "STUDENTS", "run"]

KIND = "salesforce-students"


class _Writer(MirrorWriter):
    table = Student
    entity_type = "student"
    refs = (
        OptionalRef("npsp__Primary_Affiliation__c", "school_id", "school_id", School, "school_salesforce_id"),
        OptionalRef("Class__c", "class_id", "class_id", SchoolClass, "class_salesforce_id"),
    )
    flag_codes = ("invalid_grade", "unknown_picklist_value")

    def values(self, record: SalesforceContactStudent) -> dict[str, Any]:
        return record.values()

    async def after_write(
        self, row: Any, record: SalesforceContactStudent, values: dict[str, Any], created: bool
    ) -> bool:
        note = f"run {self.ctx.run_id}"
        if grade(record.current_grade_raw)[1]:
            self.flags.raise_flag(
                "invalid_grade",
                entity_id=row.id,
                salesforce_id=record.id,
                field="Current_Grade__c",
                raw_value=record.current_grade_raw,
            )
        else:
            self.flags.resolve("invalid_grade", entity_id=row.id, field="Current_Grade__c", note=note)
        race, _ = map_race_ethnicity(record.race_raw)
        for sf_field, vocabulary, mapped in (
            ("Gender__c", "gender", record.gender),
            ("Racial_Ethnic_Background__c", "race_ethnicity", race),
        ):
            if mapped.unknown:
                self.flags.raise_flag(
                    "unknown_picklist_value",
                    entity_id=row.id,
                    salesforce_id=record.id,
                    field=sf_field,
                    vocabulary=vocabulary,
                    raw_value=mapped.raw,
                )
            else:
                self.flags.resolve("unknown_picklist_value", entity_id=row.id, field=sf_field, note=note)
        return False


STUDENTS = SfObject(
    "Contact:student",
    "Contact",
    "Contact_Type__c = 'Student'",
    CONTACT_STUDENT_FIELDS,
    SalesforceContactStudent,
    _Writer,
    label="students",
)


async def run(ctx: RunContext) -> None:
    await run_import(
        ctx,
        KIND,
        [STUDENTS],
        after_object=snapshot_step(Student, "Contact"),
        at_end=[
            link_resolver(
                Student,
                "school_id",
                "school_salesforce_id",
                School,
                "npsp__Primary_Affiliation__c",
                "Contact",
            ),
            link_resolver(Student, "class_id", "class_salesforce_id", SchoolClass, "Class__c", "Contact"),
        ],
    )
