"""06 G8 ``virtual_students_per_teacher``: integer 1-100, default 25, admin-editable through
``PUT /api/v1/settings/reporting``, audited with old and new value (07 AUD-2), bumping the
reporting data version (06 P4); bad values → 422 problem+json and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from polaris_api.models.app_setting import VIRTUAL_STUDENTS_PER_TEACHER, AppSetting
from polaris_api.models.audit import AuditEntry
from polaris_api.services.metrics.parameters import virtual_students_per_teacher
from tests.test_metric_inputs import assert_problem, reporting_version

URL = "/api/v1/settings/reporting"


async def _stored(session) -> AppSetting | None:
    return (
        await session.execute(
            select(AppSetting)
            .where(AppSetting.key == VIRTUAL_STUDENTS_PER_TEACHER)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def _entries(session) -> list[AuditEntry]:
    rows = await session.execute(
        select(AuditEntry).where(AuditEntry.action == "settings.reporting.updated").order_by(AuditEntry.id)
    )
    return list(rows.scalars())


async def test_g8_default_is_25(client, make_user, session):
    district_user = await make_user(level=0, districts=[1])
    response = await client.get(URL, headers=district_user["headers"])
    assert response.status_code == 200, response.text
    assert response.json() == {"virtual_students_per_teacher": 25}
    assert await virtual_students_per_teacher(session) == 25


async def test_g8_admin_sets_the_value_audited_and_bumps_version(client, admin, session):
    response = await client.put(URL, headers=admin["headers"], json={"virtual_students_per_teacher": 30})
    assert response.status_code == 200, response.text
    assert response.json() == {"virtual_students_per_teacher": 30}
    stored = await _stored(session)
    assert stored is not None and (stored.value, stored.updated_by_id) == (30, admin["id"])
    assert await virtual_students_per_teacher(session) == 30
    assert (await client.get(URL, headers=admin["headers"])).json() == {"virtual_students_per_teacher": 30}
    assert await reporting_version(session) == 1
    [entry] = await _entries(session)
    assert (entry.entity_type, entry.entity_id, entry.actor_id) == (
        "app_setting",
        VIRTUAL_STUDENTS_PER_TEACHER,
        admin["id"],
    )
    assert entry.changes == {"virtual_students_per_teacher": {"old": 25, "new": 30}}
    # the same value again: nothing recorded, no bump; a new value: old 30 → new 100
    await client.put(URL, headers=admin["headers"], json={"virtual_students_per_teacher": 30})
    assert await reporting_version(session) == 1 and len(await _entries(session)) == 1
    await client.put(URL, headers=admin["headers"], json={"virtual_students_per_teacher": 100})
    assert (await _entries(session))[-1].changes == {"virtual_students_per_teacher": {"old": 30, "new": 100}}
    assert await reporting_version(session) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"virtual_students_per_teacher": 0},
        {"virtual_students_per_teacher": 101},
        {"virtual_students_per_teacher": -5},
        {"virtual_students_per_teacher": "30"},
        {"virtual_students_per_teacher": 30.5},
        {"virtual_students_per_teacher": True},
        {"virtual_students_per_teacher": None},
        {},
        {"virtual_students_per_teacher": 30, "timezone": "UTC"},
    ],
)
async def test_g8_values_outside_1_100_are_refused(client, admin, session, body):
    problem = assert_problem(await client.put(URL, headers=admin["headers"], json=body), 422)
    assert problem["code"] == "validation_error"
    assert await _stored(session) is None
    assert await reporting_version(session) == 0 and await _entries(session) == []


async def test_g8_only_admins_write(client, make_user, session):
    for user in (await make_user(level=2), await make_user(level=0), await make_user(level=3, districts=[1])):
        assert_problem(
            await client.put(URL, headers=user["headers"], json={"virtual_students_per_teacher": 40}), 403
        )
    assert_problem(await client.put(URL, json={"virtual_students_per_teacher": 40}), 401)
    assert await _stored(session) is None and await reporting_version(session) == 0


async def test_g8_invalid_stored_value_reads_as_default(client, admin, session):
    """A value outside 1-100 that reached the table some other way is never used."""
    session.add(AppSetting(key=VIRTUAL_STUDENTS_PER_TEACHER, value=500))
    await session.commit()
    assert (await client.get(URL, headers=admin["headers"])).json() == {"virtual_students_per_teacher": 25}
