"""Which runner does the work of which sync kind (09 §1). Kinds absent here are not available:
health lists them with ``available=false`` and triggering one answers 501 ``kind_not_available``."""

from __future__ import annotations

from polaris_api.imports.pathful import sheet_kind
from polaris_api.sync.runs import KINDS, Runner
from polaris_api.sync.salesforce import (
    affiliations,
    classes,
    districts_schools,
    events,
    history,
    organizations,
    publishing,
    student_participations,
    students,
    teachers,
    volunteer_participations,
    volunteers,
)

RUNNERS: dict[str, Runner] = {
    "pathful-sheet": sheet_kind.run,
    "salesforce-publishing": publishing.run,
    "salesforce-districts-schools": districts_schools.run,
    "salesforce-organizations": organizations.run,
    "salesforce-volunteers": volunteers.run,
    "salesforce-events": events.run,
    "salesforce-volunteer-participations": volunteer_participations.run,
    "salesforce-history": history.run,
    "salesforce-affiliations": affiliations.run,
    "salesforce-teachers": teachers.run,
    "salesforce-classes": classes.run,
    "salesforce-students": students.run,
    "salesforce-student-participations": student_participations.run,
}


def is_available(kind: str) -> bool:
    """A kind with a runner, or a composite with at least one such part."""
    spec = KINDS.get(kind)
    if spec is None:
        return False
    if spec.composite:
        return any(part in RUNNERS for part in spec.parts)
    return kind in RUNNERS
