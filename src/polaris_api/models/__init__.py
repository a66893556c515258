"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from . import (  # noqa: F401  # noqa: F401
    app_setting,
    audit,
    comms,
    events,
    identity,
    imports,
    outbox,
    people,
    reference,
    reports,
    sync,
    teachers,
)
from .app_setting import AppSetting, DataVersion
from .comms import Communication
from .events import (
    Event,
    EventAttendanceDetail,
    EventDistrict,
    EventParticipation,
    EventSkill,
    EventStudentParticipation,
    EventTeacher,
    Signup,
    VirtualSessionFlag,
)
from .imports import ColumnAlias, ImportRun, PathfulUnmatchedRecord
from .outbox import OutboxAttempt, OutboxMessage
from .people import (
    Student,
    Teacher,
    TeacherEmail,
    TeacherPhone,
    Volunteer,
    VolunteerAffiliation,
    VolunteerEmail,
    VolunteerPhone,
    VolunteerSfContact,
    VolunteerSkill,
)
from .reference import District, Organization, School, SchoolClass, Skill
from .reports import DistrictManualInput
from .sync import (
    DataQualityFlag,
    SalesforceMirrorMixin,
    SalesforceTrackedMixin,
    SfPendingRecord,
    SfWatermark,
    SoftDeleteMixin,
    SyncRun,
)
from .teachers import AttendanceOverride, DataIssue, MagicLink, TeacherProgress

__all__ = [
    "AppSetting",
    "AttendanceOverride",
    "ColumnAlias",
    "Communication",
    "DataIssue",
    "DataQualityFlag",
    "DataVersion",
    "District",
    "DistrictManualInput",
    "Event",
    "EventAttendanceDetail",
    "EventDistrict",
    "EventParticipation",
    "EventSkill",
    "EventStudentParticipation",
    "EventTeacher",
    "ImportRun",
    "MagicLink",
    "Organization",
    "OutboxAttempt",
    "OutboxMessage",
    "PathfulUnmatchedRecord",
    "SalesforceMirrorMixin",
    "SalesforceTrackedMixin",
    "School",
    "SchoolClass",
    "SfPendingRecord",
    "SfWatermark",
    "Signup",
    "Skill",
    "SoftDeleteMixin",
    "Student",
    "SyncRun",
    "Teacher",
    "TeacherEmail",
    "TeacherPhone",
    "TeacherProgress",
    "VirtualSessionFlag",
    "Volunteer",
    "VolunteerAffiliation",
    "VolunteerEmail",
    "VolunteerPhone",
    "VolunteerSfContact",
    "VolunteerSkill",
]
