"""Volunteer reads (00 §5.1, §5.2 "volunteers"; 07 CAP, DV-1, PRIV-3, AUD-1; 09 OPS-4): search
filters alone and combined, stable pagination, profile, participation and communication history
with the history sync state, and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from polaris_api.db import utcnow
from polaris_api.models.audit import AuditEntry
from polaris_api.models.people import Volunteer
from polaris_api.models.sync import SyncRun
from polaris_api.services import volunteers as volunteer_service
from tests.factories import make_event
from tests.read_factories import (
    affiliate,
    make_communication,
    make_organization,
    make_participation,
    make_volunteer,
)

VOLUNTEERS = "/api/v1/volunteers"
EXPORT = "/api/v1/volunteers/export.csv"


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["first_name"] for item in response.json()["items"]]


@pytest.fixture
async def world(session) -> dict[str, Any]:
    acme = await make_organization(session, "Acme Engineering", type="Business")
    beacon = await make_organization(session, "Beacon Health", type="Non-Profit")
    common = {"publishing": False}
    in_person_2024 = await make_event(session, title="Fair 2024", start_day=dt.date(2024, 3, 1), **common)
    virtual_2024 = await make_event(
        session,
        title="Virtual May",
        start_day=dt.date(2024, 5, 1),
        format="virtual",
        type="career_speaker",
        **common,
    )
    virtual_2025 = await make_event(
        session,
        title="Pathful Jan",
        start_day=dt.date(2025, 1, 15),
        format="virtual",
        type="virtual_session",
        **common,
    )
    in_person_2025 = await make_event(session, title="Fair 2025", start_day=dt.date(2025, 2, 1), **common)
    deleted_2025 = await make_event(
        session, title="Deleted June", start_day=dt.date(2025, 6, 1), is_deleted=True, **common
    )

    ana = await make_volunteer(
        session,
        "Ana",
        "Lopez",
        email="ana@acme.example",
        other_emails=["Ana.Personal@Mail.example"],
        phone="816-555-0101",
        skills=["Python", "Welding"],
        organization_name="Acme Engineering",
        title="Mechanical Engineer",
        local_status="local",
        gender="female",
    )
    await make_participation(session, ana, in_person_2024, "attended", hours=2)
    await make_participation(session, ana, in_person_2025, "completed", hours=1.5)

    bob = await make_volunteer(
        session,
        "Bob",
        "Smith",
        email="bob@beacon.example",
        skills=["python"],
        title="Nurse",
        local_status="partial",
    )
    await affiliate(session, bob, beacon, role="Nurse", is_primary=True)
    await make_participation(session, bob, virtual_2024, "attended", participant_type="presenter")
    await make_participation(
        session, bob, virtual_2025, "successfully_completed", participant_type="presenter"
    )
    await make_participation(session, bob, in_person_2025, "registered")  # not attended: still virtual only

    cyd = await make_volunteer(
        session,
        "Cyd",
        "Adams",
        email="cyd@acme.example",
        skills=["Welding"],
        title="Engineer",
        local_status="local",
    )
    await affiliate(session, cyd, acme)
    await make_participation(session, cyd, virtual_2025, "attended")
    await make_participation(session, cyd, deleted_2025, "attended")  # deleted event: ignored

    dee = await make_volunteer(
        session,
        "-Dee",
        "Zimmer",
        email="dee@zimmer.example",
        title='=HYPERLINK("http://evil.example","x")',
        organization_name="@Evil Corp",
        skills=["+Cooking"],
    )
    eve = await make_volunteer(session, "Eve", "Young", email="eve@young.example", title="\tTabbed")
    await make_participation(session, eve, virtual_2024, "no_show")
    await make_volunteer(session, "Ana", "Gone", email="gone@acme.example", is_deleted=True)
    await session.commit()
    return {
        "ana": ana.id,
        "bob": bob.id,
        "cyd": cyd.id,
        "dee": dee.id,
        "eve": eve.id,
        "events": {
            "in_person_2024": in_person_2024.id,
            "virtual_2024": virtual_2024.id,
            "virtual_2025": virtual_2025.id,
            "in_person_2025": in_person_2025.id,
        },
    }


async def search(client, admin, **params: Any) -> list[str]:
    return names(await client.get(VOLUNTEERS, headers=admin["headers"], params=params))


FILTERS_ALONE: list[tuple[dict[str, Any], list[str]]] = [
    ({"name": "lopez"}, ["Ana"]),
    ({"name": "  ANA   lop "}, ["Ana"]),
    ({"name": "smith"}, ["Bob"]),
    ({"name": "gone"}, []),  # deleted volunteers never appear
    ({"email": "ana.personal"}, ["Ana"]),  # any of the volunteer's email rows
    ({"email": "ACME.EXAMPLE"}, ["Cyd", "Ana"]),
    ({"organization": "beacon"}, ["Bob"]),  # through an affiliation
    ({"organization": "ACME"}, ["Cyd", "Ana"]),  # affiliation or current organization name
    ({"title": "engineer"}, ["Cyd", "Ana"]),
    ({"skills": ["PYTHON"]}, ["Ana", "Bob"]),
    ({"skills": ["python", "welding"]}, ["Ana"]),  # all given skills
    ({"local_status": "local"}, ["Cyd", "Ana"]),
    ({"local_status": "unknown"}, ["Eve", "-Dee"]),
    ({"last_volunteered_from": "2025-01-01"}, ["Cyd", "Ana", "Bob"]),
    ({"last_volunteered_to": "2025-01-31"}, ["Cyd", "Bob"]),  # Ana's newest is in February
    ({"last_volunteered_from": "2025-02-01", "last_volunteered_to": "2025-12-31"}, ["Ana"]),
    ({"last_volunteered_to": "2024-12-31"}, []),
    ({"virtual_only": "true"}, ["Cyd", "Bob"]),  # deleted events and non-attended rows ignored
    ({"virtual_only": "false"}, ["Cyd", "Ana", "Bob", "Eve", "-Dee"]),
]


COMBINED: list[tuple[dict[str, Any], list[str]]] = [
    ({"organization": "acme", "skills": ["welding"], "virtual_only": "true"}, ["Cyd"]),
    ({"title": "engineer", "local_status": "local", "last_volunteered_from": "2025-02-01"}, ["Ana"]),
    ({"email": "acme", "skills": ["python"]}, ["Ana"]),
    ({"name": "lopez", "virtual_only": "true"}, []),
    ({"organization": "beacon", "last_volunteered_to": "2025-01-31", "skills": ["Python"]}, ["Bob"]),
]


async def test_search_order_item_fields_and_each_filter_alone(client, admin, world):
    response = await client.get(VOLUNTEERS, headers=admin["headers"])
    assert names(response) == ["Cyd", "Ana", "Bob", "Eve", "-Dee"]  # Adams, Lopez, Smith, Young, Zimmer
    assert response.json()["total"] == 5
    ana = response.json()["items"][1]
    assert ana["emails"] == ["ana@acme.example", "ana.personal@mail.example"]
    assert ana["skills"] == ["Python", "Welding"]
    assert ana["last_volunteered_on"] == "2025-02-01" and ana["times_volunteered"] == 2
    for params, expected in FILTERS_ALONE:
        assert await search(client, admin, **params) == expected, params


async def test_combined_filters_intersect(client, admin, world):
    for params, expected in COMBINED:
        alone = [set(await search(client, admin, **{key: value})) for key, value in params.items()]
        assert set(expected) == set.intersection(*alone), params
        assert await search(client, admin, **params) == expected, params


async def test_pagination_is_stable_across_equal_names(client, admin, session):
    created = []
    for number, (first, last) in enumerate(
        [
            ("Pat", "Lee"),
            ("pat", "lee"),
            ("Pat", "Lee"),
            ("Al", "Lee"),
            (None, "Lee"),
            ("Zoe", "Ames"),
            ("Pat", "LEE"),
        ]
    ):
        created.append((await make_volunteer(session, first, last, email=f"lee{number}@example.org")).id)
    await session.commit()
    everything = (await client.get(VOLUNTEERS, headers=admin["headers"], params={"page_size": 200})).json()
    order = [item["id"] for item in everything["items"]]
    assert sorted(order) == sorted(created)
    assert order[0] == created[5]  # Ames first
    pages: list[int] = []
    for page in range(1, 5):
        response = await client.get(
            VOLUNTEERS, headers=admin["headers"], params={"page": page, "page_size": 2}
        )
        assert response.json()["total"] == 7
        pages.extend(item["id"] for item in response.json()["items"])
    assert pages == order
    again = (await client.get(VOLUNTEERS, headers=admin["headers"], params={"page_size": 200})).json()
    assert [item["id"] for item in again["items"]] == order


async def test_profile_and_deleted_volunteers_404(client, admin, session, world):
    response = await client.get(f"{VOLUNTEERS}/{world['ana']}", headers=admin["headers"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["first_name"] == "Ana" and body["email"] == "ana@acme.example"
    assert [e["email_normalized"] for e in body["emails"]] == [
        "ana@acme.example",
        "ana.personal@mail.example",
    ]
    assert body["phones"][0]["number"] == "816-555-0101"
    assert body["skills"] == ["Python", "Welding"]
    assert body["times_volunteered"] == 2 and body["total_hours"] == 3.5
    assert body["first_volunteered_on"] == "2024-03-01" and body["last_volunteered_on"] == "2025-02-01"
    bob = (await client.get(f"{VOLUNTEERS}/{world['bob']}", headers=admin["headers"])).json()
    assert [(a["name"], a["is_primary"]) for a in bob["affiliations"]] == [("Beacon Health", True)]
    gone = await make_volunteer(session, "Old", "Record", email="old@example.org", is_deleted=True)
    await session.commit()
    for volunteer_id in (gone.id, 999_999):
        for suffix in ("", "/participations", "/communications"):
            response = await client.get(f"{VOLUNTEERS}/{volunteer_id}{suffix}", headers=admin["headers"])
            assert response.status_code == 404, suffix
            assert response.headers["content-type"] == "application/problem+json"


async def test_participations_newest_first_and_paginated(client, admin, world):
    url = f"{VOLUNTEERS}/{world['bob']}/participations"
    response = await client.get(url, headers=admin["headers"])
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["event"]["title"] for item in items] == ["Fair 2025", "Pathful Jan", "Virtual May"]
    assert [item["attended"] for item in items] == [False, True, True]
    assert items[1]["participant_type"] == "presenter" and items[1]["status"] == "successfully_completed"
    first = (await client.get(url, headers=admin["headers"], params={"page_size": 2})).json()
    second = (await client.get(url, headers=admin["headers"], params={"page": 2, "page_size": 2})).json()
    assert first["total"] == second["total"] == 3
    assert [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in items]
    # the participation on a deleted event is not listed
    cyd = (await client.get(f"{VOLUNTEERS}/{world['cyd']}/participations", headers=admin["headers"])).json()
    assert [item["event"]["title"] for item in cyd["items"]] == ["Pathful Jan"]


async def test_ops_4_communications_newest_first_with_history_sync_state(client, admin, session, world):
    url = f"{VOLUNTEERS}/{world['ana']}/communications"
    base = dt.datetime(2025, 3, 1, 15, 0, tzinfo=dt.UTC)
    ana = await session.get(Volunteer, world["ana"])
    bob = await session.get(Volunteer, world["bob"])
    oldest = await make_communication(session, ana, base - dt.timedelta(days=30), subject="Oldest")
    newest = await make_communication(session, ana, base, subject="Newest", kind="call", direction=None)
    middle = await make_communication(session, ana, base - dt.timedelta(days=2), subject="Middle")
    await make_communication(session, ana, base + dt.timedelta(days=1), subject="Deleted", is_deleted=True)
    await make_communication(session, bob, base, subject="Bob's")
    await session.commit()

    response = await client.get(url, headers=admin["headers"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["id"] for item in body["items"]] == [newest.id, middle.id, oldest.id]
    assert body["total"] == 3
    assert body["sync"]["kind"] == "salesforce-history"
    assert body["sync"]["state"] == "never_run" and body["sync"]["stale"] is True
    paged = (await client.get(url, headers=admin["headers"], params={"page": 2, "page_size": 2})).json()
    assert [item["subject"] for item in paged["items"]] == ["Oldest"]

    now = utcnow()
    session.add(
        SyncRun(
            kind="salesforce-history",
            status="failed",
            started_at=now - dt.timedelta(minutes=5),
            finished_at=now - dt.timedelta(minutes=4),
            error_code="sf_unavailable",
            error_message="Salesforce did not answer",
        )
    )
    await session.commit()
    failed = (await client.get(url, headers=admin["headers"])).json()["sync"]
    assert failed["state"] == "failed" and failed["last_failure_reason"] == "sf_unavailable"
    assert failed["last_success_at"] is None

    session.add(
        SyncRun(
            kind="salesforce-history",
            status="succeeded",
            started_at=now - dt.timedelta(minutes=3),
            finished_at=now - dt.timedelta(minutes=2),
            counts={"read": 0, "created": 0, "updated": 0},
        )
    )
    await session.commit()
    quiet = (await client.get(url, headers=admin["headers"])).json()["sync"]
    assert quiet["state"] == "no_changes" and quiet["stale"] is False and quiet["last_success_at"] is not None

    session.add(
        SyncRun(
            kind="salesforce-history",
            status="succeeded",
            started_at=now - dt.timedelta(minutes=1),
            finished_at=now,
            counts={"read": 4, "created": 4},
        )
    )
    await session.commit()
    ok = (await client.get(url, headers=admin["headers"])).json()["sync"]
    assert ok["state"] == "ok" and ok["last_failure_reason"] == "sf_unavailable"

    empty = (await client.get(f"{VOLUNTEERS}/{world['eve']}/communications", headers=admin["headers"])).json()
    assert empty["items"] == [] and empty["sync"]["state"] == "ok"


def parse_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_priv_3_export_has_every_match_neutralises_formulas_and_is_audited(
    client, admin, session, world, app
):
    response = await client.get(EXPORT, headers=admin["headers"], params={"page_size": 1})
    rows = parse_csv(response)
    # the service in keyset batches of 2 (header, 2 + 2 + 1 rows) gives the same bytes as one batch
    chunks = [
        chunk
        async for chunk in volunteer_service.export_csv(
            app.state.sessionmaker, volunteer_service.VolunteerFilters(), batch_size=2
        )
    ]
    assert len(chunks) == 4 and [len(list(csv.reader(io.StringIO(c.decode())))) for c in chunks] == [
        1,
        2,
        2,
        1,
    ]
    assert b"".join(chunks) == response.content
    assert [row["first_name"] for row in rows] == ["Cyd", "Ana", "Bob", "Eve", "'-Dee"]
    assert list(rows[0]) == list(volunteer_service.EXPORT_COLUMNS)
    dee = rows[4]
    assert dee["title"] == '\'=HYPERLINK("http://evil.example","x")'
    assert dee["organization_name"] == "'@Evil Corp"
    assert dee["skills"] == "'+Cooking"
    assert rows[3]["title"] == "'\tTabbed"
    ana = rows[1]
    assert ana["emails"] == "ana@acme.example; ana.personal@mail.example"
    assert ana["last_volunteered_on"] == "2025-02-01" and ana["times_volunteered"] == "2"
    assert "attachment" in response.headers["content-disposition"]

    filtered = parse_csv(
        await client.get(EXPORT, headers=admin["headers"], params={"name": "lopez", "email": "acme"})
    )
    assert [row["first_name"] for row in filtered] == ["Ana"]

    entries = (
        (
            await session.execute(
                select(AuditEntry).where(AuditEntry.action == "volunteers.exported").order_by(AuditEntry.id)
            )
        )
        .scalars()
        .all()
    )
    assert len(entries) == 2
    first, second = entries
    assert first.actor_type == "user" and first.actor_id == admin["id"] and first.entity_type == "volunteer"
    assert first.changes["_details"]["row_count"] == 5
    assert first.changes["_details"]["filters"] == {}
    details = second.changes["_details"]
    assert details["row_count"] == 1
    assert set(details["filters"]) == {"name", "email"}
    dumped = json.dumps(second.changes)
    for personal in ("lopez", "acme", "Ana", "ana@acme.example"):
        assert personal not in dumped  # searched values are hashed (AUD-2)


async def test_dv_1_dv_3_district_users_are_refused_volunteer_data_and_export(
    client, make_user, session, world
):
    user = await make_user(level=3, districts=[1])
    for url in (
        VOLUNTEERS,
        EXPORT,
        f"{VOLUNTEERS}/{world['ana']}",
        f"{VOLUNTEERS}/{world['ana']}/participations",
        f"{VOLUNTEERS}/{world['ana']}/communications",
    ):
        response = await client.get(url, headers=user["headers"])
        assert response.status_code == 403, url
        assert response.headers["content-type"] == "application/problem+json"
        assert "Lopez" not in response.text
    exported = await session.execute(select(AuditEntry).where(AuditEntry.action == "volunteers.exported"))
    assert exported.scalars().all() == []


HOSTILE: list[dict[str, Any]] = [
    {"name": "nul\x00byte"},
    {"email": "x" * 256},
    {"organization": "line\nbreak"},
    {"skills": ["ok"] * 1 + [f"s{n}" for n in range(25)]},
    {"skills": ["bad\x00"]},
    {"local_status": "LOCAL"},
    {"last_volunteered_from": "yesterday"},
    {"last_volunteered_from": "2025-02-01", "last_volunteered_to": "2025-01-01"},
    {"virtual_only": "maybe"},
]


async def test_hostile_query_values_and_ids_are_4xx_problems(client, admin, session):
    cases = [(url, params) for url in (VOLUNTEERS, EXPORT) for params in HOSTILE]
    cases.append((VOLUNTEERS, {"page_size": "201"}))
    for url, params in cases:
        response = await client.get(url, headers=admin["headers"], params=params)
        assert 400 <= response.status_code < 500, (url, params, response.text[:200])
        assert response.headers["content-type"] == "application/problem+json"
        assert "\x00" not in response.text
    exported = await session.execute(select(AuditEntry).where(AuditEntry.action == "volunteers.exported"))
    assert exported.scalars().all() == []  # refused exports are not audited as exports
    for path in ("abc", "0", "-1", "99999999999999999999", "export.json", "1%00"):
        for suffix in ("", "/participations", "/communications"):
            response = await client.get(f"{VOLUNTEERS}/{path}{suffix}", headers=admin["headers"])
            assert 400 <= response.status_code < 500, (path, suffix)
            assert response.headers["content-type"] == "application/problem+json"


async def test_search_queries_do_not_grow_with_the_page(client, app, admin, session, world):
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    engine = app.state.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        await client.get(VOLUNTEERS, headers=admin["headers"])
        small = len(statements)
        for number in range(20):
            await make_volunteer(
                session,
                "Many",
                f"More{number}",
                email=f"more{number}@example.org",
                skills=["Python"],
                phone="1",
            )
        await session.commit()
        statements.clear()
        response = await client.get(VOLUNTEERS, headers=admin["headers"])
        assert len(response.json()["items"]) == 25
        assert len(statements) == small
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
