"""02 SF-36 (issue 11 item 9): unmatched logged communications are listed for review and staff
can assign one to a volunteer by hand (``match_method='manual'``, audited); the history import
never changes a manual match afterwards."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.audit import AuditEntry
from polaris_api.models.comms import Communication
from polaris_api.models.people import Volunteer
from tests.read_factories import make_volunteer
from tests.sync_helpers import sync

UNMATCHED = "/api/v1/communications/unmatched"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings()


def _communication(n: int, **fields: Any) -> Communication:
    values: dict[str, Any] = {
        "salesforce_activity_id": f"00T{n:012d}AAA",
        "kind": "email",
        "direction": "outbound",
        "subject": f"Thanks {n}",
        "snippet": "Thank you for volunteering",
        "occurred_at": dt.datetime(2026, 3, n, 15, 0, tzinfo=dt.UTC),
        "occurred_on": dt.date(2026, 3, n),
        "to_addresses": [f"stranger{n}@example.org"],
        "match_status": "unmatched",
        "unmatched_reason": "no_contact_match",
        "is_deleted": False,
    }
    values.update(fields)
    return Communication(**values)


async def _seed(session) -> dict[str, Any]:
    volunteer = await make_volunteer(session, email="ana@example.org")
    session.add_all(
        [
            _communication(1),
            _communication(2, unmatched_reason="ambiguous_email"),
            _communication(3, match_status="matched_volunteer", match_method="email", unmatched_reason=None),
            _communication(4, is_deleted=True),
        ]
    )
    await session.commit()
    ids = {
        row.salesforce_activity_id[-6:-3]: row.id
        for row in (await session.execute(select(Communication))).scalars()
    }
    return {"volunteer": volunteer.id, "ids": ids}


async def test_sf_36_unmatched_communications_are_listed(client, admin, session):
    await _seed(session)
    page = (await client.get(UNMATCHED, headers=admin["headers"])).json()
    assert page["total"] == 2
    assert [(i["subject"], i["unmatched_reason"]) for i in page["items"]] == [
        ("Thanks 2", "ambiguous_email"),  # newest first
        ("Thanks 1", "no_contact_match"),
    ]
    assert page["items"][0]["to_addresses"] == ["stranger2@example.org"]
    only = (
        await client.get(UNMATCHED, headers=admin["headers"], params={"reason": "ambiguous_email"})
    ).json()
    assert [i["subject"] for i in only["items"]] == ["Thanks 2"]


async def test_sf_36_assign_an_unmatched_communication_to_a_volunteer_is_audited(client, admin, session):
    seeded = await _seed(session)
    row_id, volunteer_id = seeded["ids"]["001"], seeded["volunteer"]
    response = await client.post(
        f"/api/v1/communications/{row_id}/assign",
        headers=admin["headers"],
        json={"volunteer_id": volunteer_id},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["match_status"], body["match_method"], body["volunteer_id"]) == (
        "matched_volunteer",
        "manual",
        volunteer_id,
    )
    session.expire_all()
    row = await session.get(Communication, row_id)
    assert (row.volunteer_id, row.match_method, row.unmatched_reason, row.matched_by_id) == (
        volunteer_id,
        "manual",
        None,
        admin["id"],
    )
    assert row.matched_at is not None
    volunteer = await session.get(Volunteer, volunteer_id)
    assert volunteer.last_contacted_at == row.occurred_at  # SF-36: the newest logged email
    entry = (
        await session.execute(select(AuditEntry).where(AuditEntry.action == "communication.assigned"))
    ).scalar_one()
    assert (entry.actor_id, entry.entity_type, entry.entity_id) == (admin["id"], "communication", str(row_id))
    assert entry.changes["volunteer_id"] == {"old": None, "new": volunteer_id}
    listed = (await client.get(UNMATCHED, headers=admin["headers"])).json()
    assert [i["id"] for i in listed["items"]] == [seeded["ids"]["002"]]


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("missing_communication", 404, "not_found"),
        ("deleted_communication", 404, "not_found"),
        ("missing_volunteer", 422, "unknown_volunteer"),
    ],
)
async def test_sf_36_assign_refusals_write_nothing(client, admin, session, target, status, code):
    seeded = await _seed(session)
    row_id = {"missing_communication": 999_999, "deleted_communication": seeded["ids"]["004"]}.get(
        target, seeded["ids"]["001"]
    )
    volunteer_id = 999_999 if target == "missing_volunteer" else seeded["volunteer"]
    response = await client.post(
        f"/api/v1/communications/{row_id}/assign",
        headers=admin["headers"],
        json={"volunteer_id": volunteer_id},
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    session.expire_all()
    assert (await session.get(Communication, seeded["ids"]["001"])).match_status == "unmatched"
    assert (
        await session.execute(select(AuditEntry).where(AuditEntry.action == "communication.assigned"))
    ).first() is None


async def test_sf_36_the_history_import_keeps_a_manual_match(client, admin, sf, session):
    """The Task comes back from Salesforce (still without a contact): the manual match stays."""
    volunteer_id = (await make_volunteer(session, email="ana@example.org")).id
    await session.commit()
    task = {
        "Id": "00T000000000001AAA",
        "WhoId": "003000000000099AAA",
        "Subject": "Call back",
        "Type": "Call",
        "Status": "Completed",
        "ActivityDate": "2026-03-01",
        "CreatedDate": "2026-03-01T15:00:00.000+0000",
    }
    sf.admin.replace("Task", [task])
    await sync(client, admin["headers"], "salesforce-history", mode="full")
    row = (await session.execute(select(Communication))).scalar_one()
    assert row.match_status == "unmatched"
    assigned = await client.post(
        f"/api/v1/communications/{row.id}/assign",
        headers=admin["headers"],
        json={"volunteer_id": volunteer_id},
    )
    assert assigned.status_code == 200
    sf.admin.upsert("Task", [task | {"Subject": "Call back (edited)"}])
    await sync(client, admin["headers"], "salesforce-history", mode="full")
    session.expire_all()
    row = (await session.execute(select(Communication))).scalar_one()
    assert (row.subject, row.volunteer_id, row.match_method) == ("Call back (edited)", volunteer_id, "manual")
