"""03 SIGN-9 (issue 11 item 11): the Salesforce write-back of website signups, kind
``salesforce-signup-push``, driven through ``POST /api/v1/sync/salesforce-signup-push?wait=true``
against the Salesforce test double over HTTPS (simple-salesforce creates with real POSTs), with
faults between and inside the two creates; and the LIST-6 remaining-slots rule around a push."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from polaris_api.models.events import Event, Signup
from polaris_api.sync.salesforce.signup_push import contact_query
from tests.conftest import make_settings
from tests.factories import make_event, make_signup
from tests.sync_helpers import session_id, sf_session, sync

KIND = "salesforce-signup-push"
FIRST_EMAIL = " New.Volunteer@Example.ORG "
FIRST_NORMALIZED = "new.volunteer@example.org"


def sf_values(sf, **overrides: Any) -> dict[str, Any]:
    """Settings pointing at the double, write-back on (``tests.sf_fixtures.sf_app_settings``)."""
    values: dict[str, Any] = {
        "salesforce_instance_url": sf.instance_url,
        "salesforce_access_token": sf.token,
        "salesforce_ca_bundle": str(sf.ca_path),
        "salesforce_connect_timeout_s": 2,
        "salesforce_read_timeout_s": 10,
        "salesforce_retry_base_delay_s": 0.01,
        "salesforce_signup_push_enabled": True,
        "signup_rate_limit_per_minute": 1000,
        "signup_rate_limit_per_day": 1000,
    }
    values.update(overrides)
    return values


@pytest.fixture
def settings(sf):
    return make_settings(**sf_values(sf))


def form(email: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "first_name": "Ana",
        "last_name": "Lopez",
        "email": email,
        "organization": "Acme Engineering",
        "title": "Civil Engineer",
    }
    body.update(overrides)
    return body


async def published_events(client, admin, sf, *slots: int) -> list[int]:
    """Sessions 1..n published by the hourly sync; our event ids in the same order."""
    sf.admin.replace("Session__c", [sf_session(n, slots=s) for n, s in enumerate(slots, start=1)])
    run = await sync(client, admin["headers"], "salesforce-publishing")
    assert run["status"] == "succeeded", run
    items = (await client.get("/api/v1/public/events", params={"page_size": 100})).json()["items"]
    by_sf = {item["sf_event_id"]: item["event_id"] for item in items}
    return [by_sf[session_id(n)] for n in range(1, len(slots) + 1)]


async def sign_up(client, event_id: int, email: str, **overrides: Any) -> int:
    response = await client.post(f"/api/v1/public/events/{event_id}/signup", json=form(email, **overrides))
    assert response.status_code == 201, response.text
    return response.json()["signup_id"]


async def signup_row(session, signup_id: int) -> Signup:
    session.expire_all()
    return (await session.execute(select(Signup).where(Signup.id == signup_id))).scalar_one()


def creates(sf, obj: str | None = None) -> list[dict[str, Any]]:
    return [
        r
        for r in sf.admin.requests()
        if r["endpoint"] == "create" and (obj is None or r["object"] == obj) and r["status"] == 201
    ]


def participants(sf) -> list[dict[str, Any]]:
    return [r for r in sf.admin.records("Session_Participant__c") if not r.get("IsDeleted")]


async def remaining(client, event_id: int) -> int:
    return (await client.get(f"/api/v1/public/events/{event_id}")).json()["remaining_slots"]


# --------------------------------------------------------------------------------------------


async def test_sign_9_push_finds_or_creates_the_contact_and_creates_one_participant(
    client, admin, sf, session
):
    sf.admin.replace(
        "Contact",
        [
            # the same person in another letter case, in a work-email field: found, not created
            {
                "Id": "003000000000001AAA",
                "LastName": "Known",
                "npe01__WorkEmail__c": "Known.Person@EXAMPLE.org",
            },
            # an apostrophe in the address: the SOQL literal must be escaped
            {"Id": "003000000000002AAA", "LastName": "O'Brien", "Email": "o'brien@example.org"},
            # a teacher and a volunteer share an address: the volunteer contact is chosen
            {
                "Id": "003000000000003AAA",
                "LastName": "T",
                "Email": "shared@example.org",
                "Contact_Type__c": "Teacher",
            },
            {
                "Id": "003000000000004AAA",
                "LastName": "V",
                "Email": "shared@example.org",
                "Contact_Type__c": "Volunteer",
            },
        ],
    )
    [event_id] = await published_events(client, admin, sf, 10)
    new_id = await sign_up(client, event_id, FIRST_EMAIL, phone="816-555-0100")
    known_id = await sign_up(client, event_id, "known.person@example.org")
    quote_id = await sign_up(client, event_id, "O'Brien@example.org")
    shared_id = await sign_up(client, event_id, "shared@example.org")
    event = (await session.execute(select(Event).where(Event.id == event_id))).scalar_one()
    # made while write-back was off: never pushed (SIGN-9 pushes new signups only)
    await make_signup(session, event, "old@example.org", sf_push_status="skipped")
    await session.commit()
    sf.admin.clear_requests()

    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded", run
    assert run["counts"]["read"] == 4
    assert run["counts"]["pushed"] == 4
    assert run["counts"]["contacts_created"] == 1 and run["counts"]["contacts_found"] == 3
    assert run["counts"]["participants_created"] == 4

    queries = [r["soql"] for r in sf.admin.requests() if r["endpoint"] == "query"]
    assert contact_query("o'brien@example.org") in queries
    assert "'o\\'brien@example.org'" in contact_query("o'brien@example.org")

    contacts = {c["Id"]: c for c in sf.admin.records("Contact")}
    assert len(contacts) == 5
    [created] = [
        c for c in contacts.values() if c["Id"] not in {f"00300000000000{n}AAA" for n in range(1, 5)}
    ]
    assert created["Email"] == FIRST_NORMALIZED
    assert created["FirstName"] == "Ana" and created["LastName"] == "Lopez"
    assert created["Title"] == "Civil Engineer" and created["Contact_Type__c"] == "Volunteer"
    assert created["Phone"] == "816-555-0100"

    expected_contact = {
        new_id: created["Id"],
        known_id: "003000000000001AAA",
        quote_id: "003000000000002AAA",
        shared_id: "003000000000004AAA",
    }
    by_contact = {p["Contact__c"]: p for p in participants(sf)}
    assert len(by_contact) == 4
    for signup_id, contact_id in expected_contact.items():
        row = await signup_row(session, signup_id)
        participant = by_contact[contact_id]
        assert row.sf_push_status == "pushed" and row.sf_push_attempts == 1
        assert row.sf_contact_id == contact_id
        assert row.sf_participant_id == participant["Id"]
        assert row.sf_pushed_at is not None and row.sf_push_last_error is None
        assert participant["Session__c"] == session_id(1)
        assert participant["Participant_Type__c"] == "Volunteer"
        assert participant["Status__c"] == "Registered"
        assert participant["Email__c"] == row.normalized_email
    old = (
        await session.execute(select(Signup).where(Signup.normalized_email == "old@example.org"))
    ).scalar_one()
    assert old.sf_push_status == "skipped" and old.sf_participant_id is None

    # a second run has nothing to do and creates nothing
    sf.admin.clear_requests()
    again = await sync(client, admin["headers"], KIND)
    assert again["status"] == "succeeded" and again["counts"]["read"] == 0
    assert creates(sf) == []
    assert len(participants(sf)) == 4 and len(sf.admin.records("Contact")) == 5


async def test_sign_9_fault_between_the_two_creates_then_a_rerun_creates_no_second_record(
    client, admin, sf, session
):
    [event_id] = await published_events(client, admin, sf, 5)
    signup_id = await sign_up(client, event_id, FIRST_EMAIL)
    # the participant create fails on both attempts of a manual run, after the contact was created
    sf.admin.add_fault("http_503", endpoint="create", object="Session_Participant__c", times=2)

    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "partial" and failed["counts"]["retry_later"] == 1
    assert failed["errors"][0]["signup_id"] == signup_id and failed["errors"][0]["code"] == "sf_unavailable"
    row = await signup_row(session, signup_id)
    [contact] = sf.admin.records("Contact")
    assert row.sf_contact_id == contact["Id"]  # stored before the participant was attempted
    assert row.sf_participant_id is None and row.sf_push_status == "pending"
    assert row.sf_push_attempts == 1 and row.sf_push_last_error.startswith("sf_unavailable")
    assert FIRST_NORMALIZED not in row.sf_push_last_error  # no personal data in the error
    assert participants(sf) == []

    sf.admin.clear_requests()
    retried = await sync(client, admin["headers"], KIND)
    assert retried["status"] == "succeeded", retried
    assert [r["object"] for r in creates(sf)] == ["Session_Participant__c"]  # no second Contact
    assert len(sf.admin.records("Contact")) == 1
    [participant] = participants(sf)
    row = await signup_row(session, signup_id)
    assert row.sf_push_status == "pushed" and row.sf_participant_id == participant["Id"]
    assert participant["Contact__c"] == contact["Id"] and row.sf_push_attempts == 2


async def test_sign_9_lost_create_answers_are_found_again_never_created_twice(
    client, admin, sf, session, make_app
):
    """Salesforce stores each record but its answer comes after the client gave up (a crash
    between the create and our commit looks the same): the retry finds both, creates neither."""
    [event_id] = await published_events(client, admin, sf, 5)
    signup_id = await sign_up(client, event_id, FIRST_EMAIL)
    sf.admin.add_fault("timeout", endpoint="create", object="Contact", delay_s=2.5)
    sf.admin.add_fault("timeout", endpoint="create", object="Session_Participant__c", delay_s=2.5)
    quick = make_app(**sf_values(sf, salesforce_read_timeout_s=1.0))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=quick), base_url="http://t") as fast:
        run = await sync(fast, admin["headers"], KIND)
    assert run["status"] == "succeeded", run
    assert run["counts"]["contacts_found"] == 1 and run["counts"].get("contacts_created", 0) == 0
    assert run["counts"]["participants_found"] == 1 and run["counts"].get("participants_created", 0) == 0
    [contact] = sf.admin.records("Contact")
    [participant] = participants(sf)
    row = await signup_row(session, signup_id)
    assert row.sf_contact_id == contact["Id"] and row.sf_participant_id == participant["Id"]
    assert row.sf_push_status == "pushed"


async def test_sign_9_a_rejected_record_is_a_run_error_retried_until_max_attempts_then_failed(
    client, admin, sf, session
):
    gone_event, live_event = await published_events(client, admin, sf, 5, 5)
    gone = await sign_up(client, gone_event, "a@example.org")
    live = await sign_up(client, live_event, "b@example.org")
    sf.admin.delete("Session__c", session_id(1))  # the session went away after the signup

    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "partial"
    assert run["counts"]["pushed"] == 1 and run["counts"]["retry_later"] == 1
    [error] = run["errors"]
    assert error["signup_id"] == gone and error["code"] == "sf_query_error"
    assert "INVALID_CROSS_REFERENCE_KEY" in error["message"]
    assert (await signup_row(session, live)).sf_push_status == "pushed"
    row = await signup_row(session, gone)
    assert row.sf_push_status == "pending" and row.sf_push_attempts == 1
    assert row.sf_contact_id is not None and row.sf_participant_id is None

    for attempt in range(2, 11):  # default salesforce_signup_push_max_attempts = 10
        again = await sync(client, admin["headers"], KIND)
        assert again["status"] == "partial"
        assert (await signup_row(session, gone)).sf_push_attempts == attempt
    row = await signup_row(session, gone)
    assert row.sf_push_status == "failed"
    assert len(sf.admin.records("Contact")) == 2  # the contact was made once, on the first run
    last = await sync(client, admin["headers"], KIND)
    assert last["status"] == "succeeded" and last["counts"]["read"] == 0


async def test_sign_9_kind_available_only_when_enabled(client, admin, sf, make_app):
    health = (await client.get("/api/v1/sync/health", headers=admin["headers"])).json()
    push = next(k for k in health["kinds"] if k["kind"] == KIND)
    assert push["available"] is True and push["state"] == "never_run" and push["stale_after_hours"] == 2
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded" and run["counts"]["read"] == 0

    off = make_app(**sf_values(sf, salesforce_signup_push_enabled=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=off), base_url="http://t") as other:
        refused = await other.post(f"/api/v1/sync/{KIND}", headers=admin["headers"])
        assert refused.status_code == 501 and refused.json()["code"] == "kind_not_available"
        assert "not enabled" in refused.json()["detail"]
        off_health = (await other.get("/api/v1/sync/health", headers=admin["headers"])).json()
        assert next(k for k in off_health["kinds"] if k["kind"] == KIND)["available"] is False


async def test_list_6_pushed_signup_counts_until_a_publishing_run_started_after_the_push(client, admin, sf):
    [event_id] = await published_events(client, admin, sf, 3)
    await sign_up(client, event_id, FIRST_EMAIL)
    assert await remaining(client, event_id) == 2  # unpushed: counts

    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded"
    assert await remaining(client, event_id) == 2  # pushed, but no publishing run read it since

    # the org's roll-up now shows the participant; the next publishing run reads that
    sf.admin.upsert(
        "Session__c", [{"Id": session_id(1), "Available_Slots__c": 2, "Filled_Volunteer_Jobs__c": 3}]
    )
    publishing = await sync(client, admin["headers"], "salesforce-publishing")
    assert publishing["status"] == "succeeded"
    item = (await client.get(f"/api/v1/public/events/{event_id}")).json()
    assert item["available_slots"] == 2 and item["remaining_slots"] == 2  # counted once, not twice


async def test_sign_9_signup_of_an_event_without_salesforce_session_fails_at_once(client, admin, sf, session):
    local = await make_event(session, salesforce_id=None)
    signup = await make_signup(session, local, "local@example.org", sf_push_status="pending")
    await session.commit()
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "partial"
    assert run["errors"] == [
        {
            "signup_id": signup.id,
            "code": "event_not_in_salesforce",
            "message": "the signup's event has no Salesforce session id",
            "attempts": 1,
        }
    ]
    row = await signup_row(session, signup.id)
    assert row.sf_push_status == "failed" and row.sf_push_attempts == 1
    assert [r for r in sf.admin.requests() if r["endpoint"] == "create"] == []


async def test_sign_9_scheduled_run_waits_with_backoff_and_retries_three_times(
    client, sf, session, make_user
):
    """SF-60 for the push: a scheduled run tries a failing create three times, with backoff."""
    event = await make_event(session, salesforce_id=session_id(1))
    sf.admin.replace("Session__c", [sf_session(1)])
    signup = await make_signup(session, event, "sched@example.org", sf_push_status="pending")
    await session.commit()
    key = await client.post(
        "/api/v1/api-keys",
        json={"name": "scheduler", "scopes": ["sync:run"]},
        headers=(await make_user(level=3))["headers"],
    )
    assert key.status_code == 201, key.text
    headers = {"X-API-Key": key.json()["key"]}
    sf.admin.add_fault("http_503", endpoint="create", object="Contact", times=3)
    run = await sync(client, headers, KIND, trigger="schedule")
    assert run["status"] == "partial" and run["errors"][0]["code"] == "sf_unavailable"
    attempts = [r for r in sf.admin.requests() if r["endpoint"] == "create"]
    assert [r["status"] for r in attempts] == [503, 503, 503]
    assert sf.admin.records("Contact") == []
    row = await signup_row(session, signup.id)
    assert row.sf_push_status == "pending" and row.sf_contact_id is None


def test_sf_double_create_checks_fields_lookups_and_faults(sf, sf_client):
    from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

    client = sf_client()
    sf.admin.replace("Session__c", [sf_session(1)])
    created = client.Contact.create({"LastName": "Lopez", "Email": "ana@example.org"})
    assert created["success"] is True and created["errors"] == []
    [stored] = sf.admin.records("Contact")
    assert stored["Id"] == created["id"] and stored["Email"] == "ana@example.org" and stored["SystemModstamp"]
    for body, code in (
        ({"LastName": "X", "No_Such__c": 1}, "INVALID_FIELD"),
        ({"FirstName": "X"}, "REQUIRED_FIELD_MISSING"),
        ({"LastName": "X", "Id": "003000000000009AAA"}, "INVALID_FIELD"),
    ):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            client.Contact.create(body)
        assert refused.value.content[0]["errorCode"] == code
    with pytest.raises(SalesforceMalformedRequest) as dangling:
        client.Session_Participant__c.create(
            {"Contact__c": "003999999999999AAA", "Session__c": session_id(1)}
        )
    assert dangling.value.content[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    ok = client.Session_Participant__c.create({"Contact__c": created["id"], "Session__c": session_id(1)})
    assert ok["id"] != created["id"]
    sf.admin.add_fault("invalid_session", endpoint="create", object="Contact")
    with pytest.raises(SalesforceExpiredSession):
        client.Contact.create({"LastName": "Y"})
    assert len(sf.admin.records("Contact")) == 1  # a refused create stores nothing
    with pytest.raises(SalesforceExpiredSession):
        sf_client(token="wrong").Contact.create({"LastName": "Z"})


async def test_sign_9_salesforce_down_ends_the_run_after_three_signups_and_new_ones_go_first(
    client, admin, sf, session
):
    event = await make_event(session, salesforce_id=session_id(1))
    sf.admin.replace("Session__c", [sf_session(1)])
    ids = [
        (await make_signup(session, event, f"p{n}@example.org", sf_push_status="pending")).id
        for n in range(4)
    ]
    await session.commit()
    sf.admin.add_fault("http_503", endpoint="create", object="Contact", times=None)
    down = await sync(client, admin["headers"], KIND)
    assert down["status"] == "failed" and down["error_code"] == "sf_unavailable"
    assert [e["signup_id"] for e in down["errors"]] == ids[:3]
    assert [(await signup_row(session, i)).sf_push_attempts for i in ids] == [1, 1, 1, 0]

    # a refused login is not the signup's fault: the run fails, no attempt is counted
    sf.admin.clear_faults()
    sf.admin.add_fault("invalid_session", endpoint="create", object="Contact")
    refused = await sync(client, admin["headers"], KIND)
    assert refused["status"] == "failed" and refused["error_code"] == "sf_auth_failed"
    assert [e["signup_id"] for e in refused["errors"]] == [ids[3]]  # fewest attempts first
    fourth = await signup_row(session, ids[3])
    assert fourth.sf_push_attempts == 0 and fourth.sf_push_last_error.startswith("sf_auth_failed")

    back = await sync(client, admin["headers"], KIND)
    assert back["status"] == "succeeded" and back["counts"]["pushed"] == 4
    assert len(sf.admin.records("Contact")) == 4 and len(participants(sf)) == 4
