"""Which runner does the work of which sync kind (09 §1). Kinds absent here are not available:
health lists them with ``available=false`` and triggering one answers 501 ``kind_not_available``.

An optional kind (``OPTIONAL``) has a runner but is available only when its setting turns it on:
the SIGN-9 write-back ``salesforce-signup-push`` is off by default (03 SIGN-9)."""

from __future__ import annotations

from collections.abc import Callable

from polaris_api.imports.pathful import sheet_kind
from polaris_api.settings import Settings
from polaris_api.sync.runs import KINDS, Runner
from polaris_api.sync.salesforce import (
    affiliations,
    classes,
    districts_schools,
    events,
    history,
    organizations,
    publishing,
    signup_push,
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
    "salesforce-signup-push": signup_push.run,
}

# kind → whether the settings turn it on (absent: always on)
OPTIONAL: dict[str, Callable[[Settings], bool]] = {
    "salesforce-signup-push": lambda settings: settings.salesforce_signup_push_enabled,
}


def is_available(kind: str, settings: Settings) -> bool:
    """A kind with a runner that the settings turn on, or a composite with at least one such part."""
    spec = KINDS.get(kind)
    if spec is None:
        return False
    if spec.composite:
        return any(is_available(part, settings) for part in spec.parts)
    enabled = OPTIONAL.get(kind)
    return kind in RUNNERS and (enabled is None or enabled(settings))
