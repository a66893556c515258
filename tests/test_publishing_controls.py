"""03 PUB-5 (publishing controls), PUB-3 (sync errors), 07 AUD-1/2 and OWN-2 on the publishing API."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from polaris_api.db import utcnow
from polaris_api.models.audit import AuditEntry
from polaris_api.models.events import Event, EventDistrict
from polaris_api.models.sync import SyncRun
from tests.factories import make_district, make_event, make_signup, today

EVENTS = "/api/v1/publishing/events"


def event_url(event_id: object) -> str:
    return f"{EVENTS}/{event_id}"


def link_url(event_id: object, district_id: object) -> str:
    return f"{EVENTS}/{event_id}/districts/{district_id}"


async def audit_entries(session, action_prefix: str = "publishing.") -> list[AuditEntry]:
    rows = await session.execute(
        select(AuditEntry).where(AuditEntry.action.startswith(action_prefix)).order_by(AuditEntry.id)
    )
    return list(rows.scalars())


async def fresh(session, event_id: int) -> Event:
    statement = select(Event).where(Event.id == event_id).execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one()


# --------------------------------------------------------------------------------------
# Listing


async def test_pub_5_lists_publishing_events_with_staff_fields(client, session, admin):
    district = await make_district(session, "Alpha District")
    event = await make_event(
        session, title="Fair", note="call the school first", districts=[district], available_slots=4
    )
    await make_signup(session, event)
    await make_event(session, title="Daily import only", publishing=False)
    await session.commit()

    response = await client.get(EVENTS, headers=admin["headers"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["total"] == 1 and body["page"] == 1
    item = body["items"][0]
    assert item["id"] == event.id and item["salesforce_id"] == event.salesforce_id
    assert item["note"] == "call the school first"
    assert item["display_on_website"] is True and item["publish_status"] == "active"
    assert item["archived_reason"] is None
    assert item["remaining_slots"] == 3 and item["available_slots"] == 4
    assert item["districts"] == [
        {"id": district.id, "name": "Alpha District", "slug": district.slug, "is_deleted": False}
    ]
    assert item["publishing_first_seen_at"] is not None and item["title"] == "Fair"


async def test_pub_5_list_filters_status_visibility_district_dates_and_text(client, session, admin):
    day = today()
    district = await make_district(session)
    active = await make_event(session, title="Active shown", start_day=day + dt.timedelta(days=2))
    hidden = await make_event(
        session,
        title="Active hidden",
        display=False,
        districts=[district],
        start_day=day + dt.timedelta(days=4),
    )
    archived = await make_event(
        session,
        title="Archived full",
        publish_status="archived",
        archived_reason="full",
        start_day=day + dt.timedelta(days=6),
    )
    past = await make_event(session, title="Past one", start_day=day - dt.timedelta(days=10))

    await session.commit()

    async def ids(**params) -> list[int]:
        response = await client.get(EVENTS, headers=admin["headers"], params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [past.id, active.id, hidden.id, archived.id]
    assert await ids(status="active") == [past.id, active.id, hidden.id]
    assert await ids(status="archived") == [archived.id]
    assert await ids(visibility="false") == [hidden.id]
    assert await ids(visibility="true", status="active") == [past.id, active.id]
    assert await ids(district_id=district.id) == [hidden.id]
    assert await ids(start_date=str(day), end_date=str(day + dt.timedelta(days=4))) == [active.id, hidden.id]
    assert await ids(q="ARCHIVED") == [archived.id]
    assert await ids(q=archived.salesforce_id) == [archived.id]
    assert await ids(page_size=1, page=2) == [active.id]

    for params in (
        {"status": "deleted"},
        {"visibility": "maybe"},
        {"district_id": 0},
        {"district_id": 10**12},
        {"start_date": "2030-02-31"},
        {"start_date": "2030-01-02", "end_date": "2030-01-01"},
        {"q": "x" * 201},
        {"page_size": 201},
    ):
        response = await client.get(EVENTS, headers=admin["headers"], params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"


# --------------------------------------------------------------------------------------
# PATCH: visibility and note


async def test_pub_5_set_visibility_and_edit_note_are_audited_with_old_and_new(client, session, make_user):
    staff = await make_user(level=0)  # a global user of the lowest level may publish
    event = await make_event(session, display=False, note="old note")
    await session.commit()

    response = await client.patch(
        event_url(event.id),
        headers=staff["headers"],
        json={"display_on_website": True, "note": "  new note  "},
    )
    assert response.status_code == 200, response.text
    assert response.json()["display_on_website"] is True and response.json()["note"] == "new note"
    stored = await fresh(session, event.id)
    assert stored.display_on_website is True and stored.note == "new note"

    entries = await audit_entries(session)
    assert [e.action for e in entries] == ["publishing.visibility.updated", "publishing.note.updated"]
    visibility, note = entries
    assert visibility.changes == {"display_on_website": {"old": False, "new": True}}
    assert note.changes == {"note": {"old": "old note", "new": "new note"}}
    for entry in entries:
        assert entry.actor_type == "user" and entry.actor_id == staff["id"]
        assert entry.entity_type == "event" and entry.entity_id == str(event.id)
        assert entry.actor_role == "user:global" and entry.request_id

    # the same values again: nothing changes, nothing audited; null clears the note
    again = await client.patch(
        event_url(event.id), headers=staff["headers"], json={"display_on_website": True}
    )
    assert again.status_code == 200 and len(await audit_entries(session)) == 2
    cleared = await client.patch(event_url(event.id), headers=staff["headers"], json={"note": None})
    assert cleared.status_code == 200 and cleared.json()["note"] is None
    entries = await audit_entries(session)
    assert entries[-1].changes == {"note": {"old": "new note", "new": None}}


SF_OWNED_BODIES = [
    {"title": "Renamed"},
    {"available_slots": 99},
    {"start_day": "2031-01-01"},
    {"registration_link": "https://evil.example.com"},
    {"title": "Renamed", "note": "sneaky", "display_on_website": False},
]


async def test_pub_5_sf_owned_field_is_409_owned_by_salesforce_and_nothing_changes(client, session, admin):
    event = await make_event(session, title="Original", note="kept", available_slots=5)
    await session.commit()

    for body in SF_OWNED_BODIES:
        response = await client.patch(event_url(event.id), headers=admin["headers"], json=body)
        assert response.status_code == 409, body
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "owned_by_salesforce" and problem["owner"] == "salesforce"
        assert problem["field"] in body and "salesforce" in problem["detail"]
    stored = await fresh(session, event.id)
    assert (stored.title, stored.note, stored.available_slots, stored.display_on_website) == (
        "Original",
        "kept",
        5,
        True,
    )
    assert await audit_entries(session) == []


INVALID_BODIES = [
    {"bogus": 1},
    {"publish_status": "archived"},  # publishing-owned but set by the sync only
    {"districts": [1]},  # use PUT/DELETE .../districts/{id}
    {"display_on_website": None},
    {"display_on_website": "yes"},
    {"note": 5},
    {"note": "x" * 10_001},
    [],
    "note",
]


async def test_pub_5_patch_body_accepts_only_visibility_and_note_on_publishing_events(client, session, admin):
    event = await make_event(session, note="kept")
    await session.commit()
    for body in INVALID_BODIES:
        response = await client.patch(event_url(event.id), headers=admin["headers"], json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "x" * 100 not in response.text
    assert (await fresh(session, event.id)).note == "kept"
    assert await audit_entries(session) == []

    # malformed JSON; missing and non-publishing events; hostile ids
    daily_only = await make_event(session, publishing=False)
    await session.commit()
    malformed = await client.patch(
        event_url(daily_only.id),
        headers={**admin["headers"], "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert malformed.status_code == 422
    for url in (event_url(daily_only.id), event_url(999_999)):
        response = await client.patch(url, headers=admin["headers"], json={"note": "x"})
        assert response.status_code == 404
    for bad in ("0", "-3", "99999999999999999999", "abc"):
        response = await client.patch(event_url(bad), headers=admin["headers"], json={"note": "x"})
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"


# --------------------------------------------------------------------------------------
# District links


async def test_pub_5_link_and_unlink_districts_idempotent_and_audited(client, session, admin):
    event = await make_event(session, display=False)
    alpha = await make_district(session, "Alpha")
    beta = await make_district(session, "Beta")
    await session.commit()

    linked = await client.put(link_url(event.id, alpha.id), headers=admin["headers"])
    assert linked.status_code == 200
    assert [d["id"] for d in linked.json()["districts"]] == [alpha.id]
    again = await client.put(link_url(event.id, alpha.id), headers=admin["headers"])
    assert again.status_code == 200 and [d["id"] for d in again.json()["districts"]] == [alpha.id]
    both = await client.put(link_url(event.id, beta.id), headers=admin["headers"])
    assert [d["id"] for d in both.json()["districts"]] == [alpha.id, beta.id]
    # the hidden event is now on both district pages
    for district in (alpha, beta):
        page = await client.get(f"/api/v1/public/districts/{district.slug}/events")
        assert [i["event_id"] for i in page.json()["items"]] == [event.id]

    unlinked = await client.delete(link_url(event.id, alpha.id), headers=admin["headers"])
    assert unlinked.status_code == 200 and [d["id"] for d in unlinked.json()["districts"]] == [beta.id]
    assert (await client.delete(link_url(event.id, alpha.id), headers=admin["headers"])).status_code == 200
    page = await client.get(f"/api/v1/public/districts/{alpha.slug}/events")
    assert page.json()["items"] == []

    entries = await audit_entries(session)
    assert [e.action for e in entries] == [
        "publishing.district.linked",
        "publishing.district.linked",
        "publishing.district.unlinked",
    ]
    assert entries[0].changes["districts"] == {"old": [], "new": [alpha.id]}
    assert entries[1].changes["districts"] == {"old": [alpha.id], "new": [alpha.id, beta.id]}
    assert entries[2].changes["districts"] == {"old": [alpha.id, beta.id], "new": [beta.id]}
    assert entries[2].changes["_details"] == {"district_id": alpha.id}
    links = (await session.execute(select(EventDistrict.district_id))).scalars().all()
    assert links == [beta.id]

    # unknown or deleted district, unknown or non-publishing event: 404 and nothing audited
    audited = len(await audit_entries(session))
    event = await make_event(session)
    gone = await make_district(session, "Gone", is_deleted=True)
    daily_only = await make_event(session, publishing=False)
    district = await make_district(session)
    await session.commit()
    for url in (
        link_url(event.id, 999_999),
        link_url(event.id, gone.id),
        link_url(daily_only.id, district.id),
        link_url(999_999, district.id),
    ):
        assert (await client.put(url, headers=admin["headers"])).status_code == 404, url
    assert (await client.delete(link_url(event.id, 999_999), headers=admin["headers"])).status_code == 404
    assert (await client.put(link_url(event.id, 10**12), headers=admin["headers"])).status_code == 422
    assert len(await audit_entries(session)) == audited


# --------------------------------------------------------------------------------------
# Access


async def test_pub_5_district_users_and_api_keys_are_refused(client, session, make_user, admin):
    event = await make_event(session)
    district = await make_district(session)
    await session.commit()
    district_user = await make_user(level=3, districts=[district.id])
    key = await client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "k", "scopes": ["read"]}
    )
    for headers in (district_user["headers"], {"X-API-Key": key.json()["key"]}):
        for method, url, kwargs in (
            ("GET", EVENTS, {}),
            ("PATCH", event_url(event.id), {"json": {"note": "x"}}),
            ("PUT", link_url(event.id, district.id), {}),
            ("DELETE", link_url(event.id, district.id), {}),
            ("GET", "/api/v1/publishing/sync-errors", {}),
        ):
            response = await client.request(method, url, headers=headers, **kwargs)
            assert response.status_code == 403, (method, url)
    assert (await client.get(EVENTS)).status_code == 401
    assert (await fresh(session, event.id)).note is None


# --------------------------------------------------------------------------------------
# PUB-3: current sync errors


async def test_pub_3_sync_errors_are_those_of_the_newest_publishing_run_that_applied_data(
    client, session, admin
):
    now = utcnow()

    def run(
        status: str, hours_ago: float | None, errors: list, kind: str = "salesforce-publishing"
    ) -> SyncRun:
        finished = None if hours_ago is None else now - dt.timedelta(hours=hours_ago)
        return SyncRun(
            kind=kind,
            status=status,
            started_at=now - dt.timedelta(hours=hours_ago or 0),
            finished_at=finished,
            errors=errors,
            error_count=len(errors),
        )

    session.add_all(
        [
            run(
                "partial",
                3,
                [{"salesforce_id": "a0B000000000001AAA", "index": 0, "missing_fields": ["Name"]}],
            ),
            run(
                "partial",
                2,
                [
                    {"salesforce_id": "a0B000000000002AAA", "index": 3, "missing_fields": ["Start_Date__c"]},
                    {"salesforce_id": None, "index": 7, "missing_fields": ["Id", "Name"]},
                ],
            ),
            # a failed call read nothing (PUB-4): the errors above still describe what is published
            run("failed", 1, []),
            run("running", None, []),
            run(
                "partial",
                0.5,
                [{"salesforce_id": "a0B000000000009AAA", "index": 0}],
                kind="salesforce-events",
            ),
        ]
    )
    await session.commit()

    response = await client.get("/api/v1/publishing/sync-errors", headers=admin["headers"])
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2 and body["page"] == 1
    first, second = body["items"]
    assert first["salesforce_id"] == "a0B000000000002AAA" and first["fields"] == ["Start_Date__c"]
    assert first["run_id"] is not None and first["run_finished_at"] is not None
    assert second["salesforce_id"] is None and second["index"] == 7
    assert second["fields"] == ["Id", "Name"]
    assert "a0B000000000009AAA" not in response.text


async def test_pub_3_no_publishing_run_yet_means_no_sync_errors(client, admin):
    response = await client.get("/api/v1/publishing/sync-errors", headers=admin["headers"])
    assert response.status_code == 200 and response.json()["items"] == [] and response.json()["total"] == 0
