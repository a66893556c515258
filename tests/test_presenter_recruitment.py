"""Presenter recruitment (04 VS-1..VS-4) and the virtual-session flag list (VS-7).

Date rules are tested on the service with an injected ``now`` (a late local evening, when the UTC
date is already the next day); the live behaviour and access through the API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from polaris_api.db import utcnow
from polaris_api.imports.pathful.post_import import recompute_virtual_session_flags
from polaris_api.models.events import EventDistrict, EventParticipation, EventTeacher
from polaris_api.pagination import PageParams
from polaris_api.services import recruitment as service
from polaris_api.services.teacher_progress import window_for
from tests.cap_cases_virtual import make_manual_event
from tests.factories import make_district, make_event, make_school
from tests.pathful_factories import make_volunteer
from tests.teacher_factories import ZONE, local, make_teacher

RECRUITMENT = "/api/v1/reports/presenter-recruitment"
FLAGS = "/api/v1/reports/virtual-session-flags"
PAGE = PageParams(page=1, page_size=200)
# 23:30 local on Jan 10 2030 is 05:30 UTC on Jan 11: "today" must be the local date.
NOW = local(2030, 1, 10, 23, 30)


async def recruitment(session: Any, now: dt.datetime = NOW, **filters: Any) -> list[Any]:
    page = await service.presenter_recruitment(session, PAGE, now=now, zone=ZONE, **filters)
    return page.items


async def test_vs_2_urgency_boundaries_use_local_dates(session):
    starts = {
        "today": local(2030, 1, 10, 23, 45),
        "7": local(2030, 1, 17, 0, 30),
        "8": local(2030, 1, 18, 0, 30),
        "14": local(2030, 1, 24, 23, 59),
        "15": local(2030, 1, 25, 0, 0),
    }
    ids = {}
    for name, start in starts.items():
        ids[name] = (await make_manual_event(session, start, title=f"Session {name}")).id
    await session.commit()
    items = await recruitment(session)
    got = {item.event_id: (item.days_until, item.urgency) for item in items}
    assert got == {
        ids["today"]: (0, "red"),
        ids["7"]: (7, "red"),
        ids["8"]: (8, "yellow"),
        ids["14"]: (14, "yellow"),
        ids["15"]: (15, "blue"),
    }
    assert [item.event_id for item in items] == [ids[n] for n in ("today", "7", "8", "14", "15")]
    assert [service.urgency(d) for d in (-1, 7, 8, 14, 15)] == ["red", "red", "yellow", "yellow", "blue"]


async def test_vs_1_which_events_are_listed(session):
    future = local(2030, 2, 1, 10)
    listed = await make_manual_event(session, future, title="Needs a presenter")
    no_status = await make_manual_event(session, future, title="No status", status=None)
    await make_manual_event(session, NOW - dt.timedelta(minutes=1), title="Already started")
    await make_manual_event(session, future, status="cancelled")
    await make_manual_event(session, future, status="no_show")
    await make_manual_event(session, future, type="workshop")
    await make_manual_event(session, future, is_deleted=True)
    await make_event(session, start_day=dt.date(2030, 2, 1), start_time=dt.time(10))  # in person
    with_pathful_presenter = await make_manual_event(session, future)
    volunteer = await make_volunteer(session, "Pat", "Presenter")
    session.add(
        EventParticipation(
            event_id=with_pathful_presenter.id,
            volunteer_id=volunteer.id,
            participant_type="presenter",
            source="pathful",
        )
    )
    with_volunteer_only = await make_manual_event(session, local(2030, 2, 2, 10))
    session.add(EventParticipation(event_id=with_volunteer_only.id, volunteer_id=volunteer.id))
    await session.commit()
    assert [item.event_id for item in await recruitment(session)] == [
        listed.id,
        no_status.id,
        with_volunteer_only.id,
    ]


async def test_vs_1_list_is_live_through_presenter_tags(client, admin, session):
    event = await make_manual_event(session, utcnow() + dt.timedelta(days=20), title="Live list")
    volunteer = await make_volunteer(session, "Pat", "Presenter")
    await session.commit()
    headers = admin["headers"]

    async def listed() -> list[int]:
        response = await client.get(RECRUITMENT, headers=headers)
        assert response.status_code == 200, response.text
        return [item["event_id"] for item in response.json()["items"]]

    assert await listed() == [event.id]
    tag = await client.post(
        f"/api/v1/events/{event.id}/presenters", headers=headers, json={"volunteer_id": volunteer.id}
    )
    assert tag.status_code == 201
    assert await listed() == []
    removed = await client.delete(f"/api/v1/events/{event.id}/presenters/{volunteer.id}", headers=headers)
    assert removed.json()["removed"] is True
    assert await listed() == [event.id]
    cancelled = await client.patch(
        f"/api/v1/events/{event.id}", headers=headers, json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200
    assert await listed() == []


async def test_vs_3_items_and_filters(session):
    north = await make_district(session, "North")
    south = await make_district(session, "South")
    north_school = await make_school(session, "Northgate Elementary", district=north)
    south_school = await make_school(session, "Southside Middle", district=south)
    garcia = await make_teacher(session, "Tess", "Garcia", school=north_school)
    okafor = await make_teacher(session, "Ben", "Okafor", school=south_school)
    a = await make_manual_event(session, local(2030, 3, 2, 9), title="Robotics careers")
    session.add(EventTeacher(event_id=a.id, teacher_id=garcia.id, source="pathful"))
    session.add(EventTeacher(event_id=a.id, teacher_id=okafor.id, source="manual"))
    b = await make_manual_event(session, local(2030, 3, 3, 9), title="Nursing")
    session.add(EventDistrict(event_id=b.id, district_id=south.id))
    c = await make_manual_event(session, local(2030, 8, 5, 9), title="Aviation", school_id=north_school.id)
    await session.commit()

    items = await recruitment(session)
    assert [i.event_id for i in items] == [a.id, b.id, c.id]
    first = items[0]
    assert (first.title, first.status, first.teacher_count) == ("Robotics careers", "confirmed", 2)
    assert first.start_date == local(2030, 3, 2, 9)
    assert [s.name for s in first.schools] == ["Northgate Elementary", "Southside Middle"]
    assert [d.name for d in first.districts] == ["North", "South"]
    assert [d.name for d in items[1].districts] == ["South"] and items[1].schools == []
    assert [d.name for d in items[2].districts] == ["North"] and items[2].teacher_count == 0
    assert set(first.model_dump()) == {
        "event_id",
        "title",
        "start_date",
        "days_until",
        "urgency",
        "status",
        "teacher_count",
        "schools",
        "districts",
    }

    async def ids(**filters: Any) -> list[int]:
        return [i.event_id for i in await recruitment(session, **filters)]

    year = window_for("2029-2030", ZONE)
    assert await ids(window=(year.start, year.end)) == [a.id, b.id]
    next_year = window_for("2030-2031", ZONE)
    assert await ids(window=(next_year.start, next_year.end)) == [c.id]
    assert await ids(date_from=dt.date(2030, 3, 3)) == [b.id, c.id]
    assert await ids(date_to=dt.date(2030, 3, 2)) == [a.id]  # inclusive, local
    assert await ids(date_from=dt.date(2030, 3, 2), date_to=dt.date(2030, 3, 3)) == [a.id, b.id]
    assert await ids(school_id=south_school.id) == [a.id]
    assert await ids(school_id=north_school.id) == [a.id]  # a linked teacher's school, not the event's
    assert await ids(district_id=south.id) == [a.id, b.id]
    assert await ids(district_id=north.id) == [a.id, c.id]
    assert await ids(q="ROBOT") == [a.id]
    assert await ids(q="okafor") == [a.id]
    assert await ids(q="tess garcia") == [a.id]
    assert await ids(q="%") == []
    page = await service.presenter_recruitment(session, PageParams(page=2, page_size=2), now=NOW, zone=ZONE)
    assert ([i.event_id for i in page.items], page.total) == ([c.id], 3)


async def test_vs_3_http_filters_and_hostile_input(client, admin, session):
    event = await make_manual_event(session, utcnow() + dt.timedelta(days=30), title="Welding 101")
    await session.commit()
    headers = admin["headers"]
    response = await client.get(RECRUITMENT, headers=headers, params={"q": "weld"})
    assert [i["event_id"] for i in response.json()["items"]] == [event.id]
    day = (utcnow() + dt.timedelta(days=30)).astimezone(ZONE).date()
    response = await client.get(RECRUITMENT, headers=headers, params={"from": str(day), "to": str(day)})
    item = response.json()["items"][0]
    assert item["days_until"] == 30 and item["urgency"] == "blue"
    for params in (
        {"academic_year": "2030"},
        {"academic_year": "2030-2032"},
        {"from": "2030-13-01"},
        {"from": "2030-03-02", "to": "2030-03-01"},
        {"school_id": "0"},
        {"district_id": "99999999999"},
        {"q": "x" * 101},
        {"page_size": "201"},
        {"page": "0"},
    ):
        response = await client.get(RECRUITMENT, headers=headers, params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"


async def test_vs_4_reports_are_for_global_users_only(client, make_user, admin):
    district_user = await make_user(level=3, districts=[1])
    key = await client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "r", "scopes": ["read"]}
    )
    for path in (RECRUITMENT, FLAGS):
        assert (await client.get(path, headers=district_user["headers"])).status_code == 403
        assert (await client.get(path, headers={"X-API-Key": key.json()["key"]})).status_code == 403
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=admin["headers"])).status_code == 200


async def test_vs_7_flag_list_filters(client, admin, session):
    north = await make_district(session, "North")
    started = await make_manual_event(session, local(2030, 1, 5, 10), title="Stale", status="confirmed")
    session.add(EventDistrict(event_id=started.id, district_id=north.id))
    cancelled = await make_manual_event(session, local(2030, 2, 5, 10), title="Cancelled", status="cancelled")
    await session.commit()
    await recompute_virtual_session_flags(session, NOW)
    await session.commit()
    headers = admin["headers"]

    async def flags(**params: Any) -> list[tuple[int, str, str]]:
        response = await client.get(FLAGS, headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [(i["event_id"], i["flag_type"], i["status"]) for i in response.json()["items"]]

    assert await flags() == [
        (started.id, "missing_teacher", "open"),
        (started.id, "needs_attention", "open"),
        (cancelled.id, "missing_teacher", "open"),
        (cancelled.id, "needs_reason", "open"),
    ]
    assert await flags(type="needs_reason") == [(cancelled.id, "needs_reason", "open")]
    assert await flags(district_id=north.id) == [
        (started.id, "missing_teacher", "open"),
        (started.id, "needs_attention", "open"),
    ]
    assert await flags(**{"from": "2030-02-01"}) == [
        (cancelled.id, "missing_teacher", "open"),
        (cancelled.id, "needs_reason", "open"),
    ]
    assert await flags(to="2030-01-05") == await flags(district_id=north.id)
    response = await client.patch(
        f"/api/v1/events/{cancelled.id}", headers=headers, json={"cancellation_reason": "WEATHER"}
    )
    assert response.status_code == 200
    assert await flags(status="resolved") == [(cancelled.id, "needs_reason", "resolved")]
    item = (await client.get(FLAGS, headers=headers, params={"status": "resolved"})).json()["items"][0]
    assert set(item) == {"event_id", "title", "start_date", "flag_type", "status", "opened_at", "resolved_at"}
    assert item["title"] == "Cancelled" and item["resolved_at"] is not None
    for params in ({"type": "bogus"}, {"status": "closed"}, {"from": "x"}, {"district_id": "-1"}):
        response = await client.get(FLAGS, headers=headers, params=params)
        assert response.status_code == 422, params


@pytest.mark.parametrize("start_offset_days", [1, 40])
async def test_vs_6_per_event_recompute_leaves_other_events_alone(session, start_offset_days):
    """The one-event recompute (after a VS-5 edit) touches only that event's flags."""
    one = await make_manual_event(session, NOW + dt.timedelta(days=start_offset_days))
    other = await make_manual_event(session, NOW + dt.timedelta(days=start_offset_days))
    await session.commit()
    counts = await recompute_virtual_session_flags(session, NOW, event_ids=[one.id])
    await session.commit()
    assert counts == {"flags_opened": 1, "flags_resolved": 0}
    page = await service.list_flags(session, PAGE, zone=ZONE)
    assert [(i.event_id, i.flag_type) for i in page.items] == [(one.id, "missing_teacher")]
    assert other.id not in {i.event_id for i in page.items}
