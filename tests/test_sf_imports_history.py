"""Kind ``salesforce-history`` (02 SF-35, SF-36), through
``POST /api/v1/sync/salesforce-history?wait=true`` against the Salesforce test double."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.comms import Communication
from polaris_api.models.people import Volunteer, VolunteerSfContact
from polaris_api.models.sync import SfWatermark
from tests.sync_helpers import contact_id, sync

KIND = "salesforce-history"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


def task_id(n: int) -> str:
    return f"00T{n:012d}AAA"


def message_id(n: int) -> str:
    return f"02s{n:012d}AAA"


def contact(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": contact_id(n),
        "Contact_Type__c": "Volunteer",
        "FirstName": f"F{n}",
        "LastName": f"L{n}",
        "Email": f"v{n}@example.org",
        **fields,
    }


def task(n: int, who: int | None, **fields: Any) -> dict[str, Any]:
    return {
        "Id": task_id(n),
        "WhoId": contact_id(who) if who else None,
        "Subject": f"Call {n}",
        "Description": "Talked about <b>career day</b> &amp; more",
        "Type": "Call",
        "Status": "Completed",
        "ActivityDate": "2025-03-04",
        "CompletedDateTime": "2025-03-04T15:00:00.000+0000",
        "CreatedDate": "2025-03-04T14:00:00.000+0000",
        **fields,
    }


def message(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": message_id(n),
        "ActivityId": None,
        "Subject": f"Email {n}",
        "TextBody": "Hello " + "x" * 800,
        "FromAddress": "staff@prepkc.org",
        "ToAddress": "v1@example.org",
        "Incoming": False,
        "MessageDate": "2025-04-01T12:00:00.000+0000",
        "Status": "3",
        **fields,
    }


async def _rows(session) -> dict[str, Communication]:
    statement = select(Communication).execution_options(populate_existing=True)
    return {row.salesforce_activity_id: row for row in (await session.execute(statement)).scalars().all()}


async def _volunteer(session, n: int) -> Volunteer:
    link = (
        await session.execute(
            select(VolunteerSfContact).where(VolunteerSfContact.salesforce_id == contact_id(n))
        )
    ).scalar_one()
    statement = (
        select(Volunteer).where(Volunteer.id == link.volunteer_id).execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one()


async def test_sf_35_tasks_and_email_messages_one_row_per_activity_with_own_watermarks(
    client, admin, sf, session
):
    """SF-35 and PRIV-5: subject and a plain-text snippet of at most 500 characters, never the body."""
    sf.admin.replace("Contact", [contact(1), contact(2)])
    await sync(client, admin["headers"], "salesforce-volunteers")
    sf.admin.replace(
        "Task",
        [
            task(1, 1),
            task(2, 2, Type="Email", Subject="Logged email"),
            task(3, None),  # no WhoId: not read
        ],
    )
    sf.admin.replace(
        "EmailMessage",
        [message(1, ActivityId=task_id(2), ToAddress="V2@Example.org", HtmlBody="<p>ignored</p>")],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded", run["errors"]
    assert run["counts"]["tasks_read"] == 2 and run["counts"]["email_messages_read"] == 1
    assert run["counts"]["created"] == 2  # the EmailMessage joined its Task's row
    soql = [
        r["soql"]
        for r in sf.admin.requests()
        if r["endpoint"] == "queryAll" and "FROM Contact" not in r["soql"]
    ]
    assert soql[0].startswith("SELECT Id, SystemModstamp, IsDeleted, WhoId, Who.Email, WhatId")
    assert "FROM Task WHERE (WhoId != null) ORDER BY" in soql[0]
    assert "FROM EmailMessage ORDER BY SystemModstamp ASC, Id ASC" in soql[1]
    rows = await _rows(session)
    call = rows[task_id(1)]
    assert (call.kind, call.direction, call.subject, call.occurred_on) == (
        "call",
        None,
        "Call 1",
        dt.date(2025, 3, 4),
    )
    assert call.snippet == "Talked about career day & more"
    assert (call.match_status, call.match_method) == ("matched_volunteer", "sf_contact_id")
    logged = rows[task_id(2)]
    assert (logged.email_message_salesforce_id, logged.kind, logged.direction) == (
        message_id(1),
        "email",
        "outbound",
    )
    assert logged.subject == "Email 1" and len(logged.snippet) == 500 and logged.snippet.startswith("Hello x")
    assert logged.to_addresses == ["v2@example.org"] and logged.who_salesforce_id == contact_id(2)
    marks = {m.sf_object for m in (await session.execute(select(SfWatermark))).scalars() if m.kind == KIND}
    assert marks == {"Task", "EmailMessage"}
    volunteer = await _volunteer(session, 2)
    assert volunteer.last_contacted_at == dt.datetime(2025, 4, 1, 12, tzinfo=dt.UTC)
    assert (await _volunteer(session, 1)).last_contacted_at is None  # a call is not an email

    again = await sync(client, admin["headers"], KIND, mode="full")
    assert again["counts"]["created"] == 0 and again["counts"]["updated"] == 0
    assert len(await _rows(session)) == 2


async def test_sf_36_email_matched_by_address_unmatched_listed_then_retried(client, admin, sf, session):
    sf.admin.replace("Contact", [contact(1)])
    await sync(client, admin["headers"], "salesforce-volunteers")
    sf.admin.replace(
        "EmailMessage",
        [  # 2 is older than the watermark: an incremental run does not re-read it
            message(2, ToAddress="nobody@example.org", SystemModstamp="2020-01-01T00:00:00.000+0000"),
            # no contact id: matched by address
            message(
                1, ToAddress="someone@else.org; V1@example.org", SystemModstamp="2020-01-02T00:00:00.000+0000"
            ),
        ],
        keep_modstamps=True,
    )
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded" and run["counts"]["unmatched"] == 1
    rows = await _rows(session)
    matched = rows[message_id(1)]
    assert (matched.match_status, matched.match_method) == ("matched_volunteer", "email")
    assert matched.volunteer_id == (await _volunteer(session, 1)).id
    lost = rows[message_id(2)]
    assert (lost.match_status, lost.unmatched_reason, lost.volunteer_id) == (
        "unmatched",
        "no_contact_match",
        None,
    )
    listed = await client.get("/api/v1/sync/runs", headers=admin["headers"])
    assert listed.status_code == 200

    # the volunteer appears later: the unmatched row is retried at the end of the next run
    sf.admin.upsert("Contact", [contact(2, Email="nobody@example.org")])
    await sync(client, admin["headers"], "salesforce-volunteers")
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["unmatched"] == 0 and run["counts"]["matched_on_retry"] == 1
    assert (await _rows(session))[message_id(2)].volunteer_id == (await _volunteer(session, 2)).id
    assert (await _volunteer(session, 2)).last_contacted_at is not None

    again = await sync(client, admin["headers"], KIND, mode="full")
    assert again["counts"]["created"] == 0 and len(await _rows(session)) == 2


async def test_sf_36_manual_match_never_changes_and_deleted_task_soft_deleted(client, admin, sf, session):
    sf.admin.replace("Contact", [contact(1), contact(2)])
    await sync(client, admin["headers"], "salesforce-volunteers")
    sf.admin.replace("Task", [task(1, 1), task(2, 1)])
    await sync(client, admin["headers"], KIND)
    row = (await _rows(session))[task_id(1)]
    manual_volunteer = (await _volunteer(session, 2)).id
    row.volunteer_id = manual_volunteer
    row.match_method = "manual"
    await session.commit()
    sf.admin.upsert("Task", [{"Id": task_id(1), "Subject": "Edited"}])
    sf.admin.delete("Task", task_id(2))
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["deleted_in_source"] == 1
    rows = await _rows(session)
    assert rows[task_id(1)].subject == "Edited" and rows[task_id(1)].volunteer_id == manual_volunteer
    assert rows[task_id(2)].is_deleted


async def test_sf_9_failure_mid_run_then_resumed_nothing_skipped_or_duplicated(client, admin, sf, session):
    sf.admin.replace("Contact", [contact(1)])
    await sync(client, admin["headers"], "salesforce-volunteers")
    sf.admin.set_page_size(2)
    sf.admin.replace("Task", [task(n, 1) for n in range(1, 8)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1, times=None)
    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "failed" and len(await _rows(session)) == 2
    sf.admin.clear_faults()
    resumed = await sync(client, admin["headers"], KIND)
    assert resumed["status"] == "succeeded" and resumed["counts"]["created"] == 5
    assert sorted(await _rows(session)) == [task_id(n) for n in range(1, 8)]


async def test_sf_10_a_task_sharing_its_row_with_an_email_is_guarded_by_its_own_stamp(
    client, admin, sf, session
):
    """SF-10, SF-35, issue 13 item 5: the row of a logged email carries the email's SystemModstamp,
    and keeps its Task's own (``task_sf_modstamp``). So an unchanged Task is set aside by the raw
    fast path (nothing written, not even the seen mark), a changed one is written without touching
    the email's values, and an older read of it is refused."""
    sf.admin.replace("Contact", [contact(1), contact(2)])
    await sync(client, admin["headers"], "salesforce-volunteers")
    sf.admin.replace("Task", [task(1, 1, Type="Email")])
    sf.admin.replace("EmailMessage", [message(1, ActivityId=task_id(1))])
    first = await sync(client, admin["headers"], KIND, mode="full")
    assert first["status"] == "succeeded", first["errors"]
    row = (await _rows(session))[task_id(1)]
    assert row.email_message_salesforce_id == message_id(1)
    assert row.task_sf_modstamp is not None and row.task_sf_modstamp < row.sf_modstamp
    first_version = next(r for r in sf.admin.records("Task") if r["Id"] == task_id(1))

    again = await sync(client, admin["headers"], KIND, mode="full")
    assert (again["counts"]["unchanged"], again["counts"]["updated"]) == (2, 0), again["counts"]
    row = (await _rows(session))[task_id(1)]
    assert row.sf_last_seen_run_id == first["id"]  # the full path would have marked it seen

    sf.admin.upsert("Task", [{"Id": task_id(1), "WhoId": contact_id(2), "Subject": "Task subject"}])
    changed = await sync(client, admin["headers"], KIND, mode="full")
    assert (changed["counts"]["unchanged"], changed["counts"]["updated"]) == (1, 1), changed["counts"]
    row = (await _rows(session))[task_id(1)]
    assert (row.who_salesforce_id, row.subject) == (contact_id(2), "Email 1")  # the email's subject wins
    assert row.volunteer_id == (await _volunteer(session, 2)).id

    # an older read of the Task (its first version) writes nothing
    sf.admin.upsert("Task", [first_version], keep_modstamps=True)
    stale = await sync(client, admin["headers"], KIND, mode="full")
    assert stale["counts"]["updated"] == 0, stale["counts"]
    row = (await _rows(session))[task_id(1)]
    assert (row.who_salesforce_id, row.volunteer_id) == (contact_id(2), (await _volunteer(session, 2)).id)
