"""06 G8 parameters of the metric rules (read here; the admin setter lives beside it)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.models.app_setting import (
    VIRTUAL_STUDENTS_PER_TEACHER,
    AppSetting,
    bump_reporting_data_version,
)
from polaris_api.services import audit

DEFAULT_VIRTUAL_STUDENTS_PER_TEACHER = 25
MIN_VIRTUAL_STUDENTS_PER_TEACHER = 1
MAX_VIRTUAL_STUDENTS_PER_TEACHER = 100


def valid_students_per_teacher(value: object) -> bool:
    """G8: an integer 1-100 (a JSON bool is not an integer here)."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and MIN_VIRTUAL_STUDENTS_PER_TEACHER <= value <= MAX_VIRTUAL_STUDENTS_PER_TEACHER
    )


async def virtual_students_per_teacher(session: AsyncSession) -> int:
    """G8 ``N``: the app setting when set to a valid value, else the default 25."""
    row = await session.get(AppSetting, VIRTUAL_STUDENTS_PER_TEACHER)
    if row is not None and valid_students_per_teacher(row.value):
        return int(row.value)
    return DEFAULT_VIRTUAL_STUDENTS_PER_TEACHER


async def set_virtual_students_per_teacher(session: AsyncSession, principal: Principal, value: int) -> int:
    """G8 admin edit (the caller validated 1-100): audited with old and new value (07 AUD-2) and
    the reporting data version bumped in the same transaction (06 P4). The current value again
    changes nothing and records nothing."""
    old = await virtual_students_per_teacher(session)
    if value == old:
        return old
    row = await session.get(AppSetting, VIRTUAL_STUDENTS_PER_TEACHER)
    if row is None:
        session.add(
            AppSetting(key=VIRTUAL_STUDENTS_PER_TEACHER, value=value, updated_by_id=principal.user_id)
        )
    else:
        row.value, row.updated_by_id = value, principal.user_id
    await audit.record(
        session,
        "settings.reporting.updated",
        actor=principal,
        entity_type="app_setting",
        entity_id=VIRTUAL_STUDENTS_PER_TEACHER,
        changes={VIRTUAL_STUDENTS_PER_TEACHER: (old, value)},
    )
    await bump_reporting_data_version(session)
    await session.flush()
    return value
