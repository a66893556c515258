"""03 LIST-1..LIST-10 and 09 SCALE-3: the public listings, the calendar feed and their caching."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import icalendar
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, text, update

from polaris_api.db import utcnow
from polaris_api.models.events import Event
from polaris_api.models.reference import District
from polaris_api.services import listings
from tests.factories import ZONE, link, make_district, make_event, make_signup, sf_id, today

MAIN = "/api/v1/public/events"
DIA = "/api/v1/public/dia/events"
ICS = "/api/v1/public/events.ics"

LIST_5_KEYS = {
    "event_id",
    "sf_event_id",
    "name",
    "event_type",
    "start_date",
    "start_datetime",
    "date_and_time",
    "location",
    "description",
    "available_slots",
    "filled_volunteer_jobs",
    "remaining_slots",
    "signup_open",
    "registration_link",
    "districts",
    "is_dia",
}


def district_url(key: object) -> str:
    return f"/api/v1/public/districts/{key}/events"


async def ids(client, url: str, **params) -> list[int]:
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    return [item["event_id"] for item in response.json()["items"]]


# --------------------------------------------------------------------------------------
# LIST-1..LIST-3: who is listed where


async def test_list_1_main_page_lists_shown_active_upcoming_publishing_events_only(client, session):
    listed = await make_event(session, title="Listed", days_ahead=3)
    starts_today = await make_event(session, title="Starts today", days_ahead=0)
    await make_event(session, title="Draft, never a publishing event", publishing=False)
    await make_event(session, title="Past session", days_ahead=-1)
    await make_event(session, title="Hidden", display=False)
    await make_event(session, title="Archived", publish_status="archived", archived_reason="full")
    await make_event(session, title="Deleted in SF", is_deleted=True)
    await make_event(session, title="No start date", days_ahead=None)
    await session.commit()

    response = await client.get(MAIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"items", "page", "page_size", "total"}
    assert [item["event_id"] for item in body["items"]] == [starts_today.id, listed.id]
    assert body["total"] == 2 and body["page"] == 1 and body["page_size"] == 20


async def test_list_2_hidden_event_is_on_its_district_page_but_not_on_main(client, session):
    district = await make_district(session, "Kansas City Public Schools")
    hidden = await make_event(session, title="Hidden but linked", display=False, districts=[district])
    await make_event(session, title="Archived and linked", publish_status="archived", districts=[district])
    await make_event(session, title="Past and linked", days_ahead=-2, districts=[district])
    await session.commit()

    assert await ids(client, MAIN) == []
    assert await ids(client, district_url(district.id)) == [hidden.id]
    assert await ids(client, district_url("kansas-city-public-schools")) == [hidden.id]
    item = (await client.get(district_url(district.slug))).json()["items"][0]
    assert item["districts"] == [{"id": district.id, "name": district.name, "slug": district.slug}]


async def test_list_2_event_linked_to_two_districts_is_on_both_pages_and_no_other(client, session):
    one = await make_district(session, "Alpha District")
    two = await make_district(session, "Beta District")
    other = await make_district(session, "Gamma District")
    shared = await make_event(session, title="Shared", districts=[one, two])
    only_other = await make_event(session, title="Other only", districts=[other])
    await session.commit()

    assert await ids(client, district_url(one.slug)) == [shared.id]
    assert await ids(client, district_url(two.id)) == [shared.id]
    assert await ids(client, district_url(other.slug)) == [only_other.id]
    item = (await client.get(district_url(one.id))).json()["items"][0]
    assert [d["name"] for d in item["districts"]] == ["Alpha District", "Beta District"]

    # unknown or deleted districts have no page
    gone = await make_district(session, "Gone District", is_deleted=True)
    await session.commit()
    for key in ("no-such-district", "999999", gone.slug, gone.id, "99999999999999"):
        response = await client.get(district_url(key))
        assert response.status_code == 404, key
        assert response.headers["content-type"] == "application/problem+json"


async def test_list_3_dia_by_type_and_by_name_word_but_india_is_not_dia(client, session):
    by_type = await make_event(session, title="Classroom visit", type="dia", display=False, days_ahead=1)
    by_name = await make_event(session, title="Data in Action (DIA) day", display=False, days_ahead=2)
    by_raw_type = await make_event(
        session, title="Speaker", sf_session_type="DIA - Classroom Speaker", display=False, days_ahead=3
    )
    shown_dia = await make_event(session, title="dia: shown on main too", days_ahead=4)
    await make_event(session, title="India cultural day", display=False)
    await make_event(session, title="Social media careers", display=False)
    await make_event(session, title="Diamond industry", display=False)
    await make_event(session, title="DIA archived", publish_status="archived", display=False)
    await make_event(session, title="DIA in the past", days_ahead=-1)
    await session.commit()

    assert await ids(client, DIA) == [by_type.id, by_name.id, by_raw_type.id, shown_dia.id]
    assert await ids(client, MAIN) == [shown_dia.id]
    flags = {item["name"]: item["is_dia"] for item in (await client.get(DIA)).json()["items"]}
    assert all(flags.values())


# --------------------------------------------------------------------------------------
# LIST-4: filters, order, pagination


async def test_list_4_filters_and_stable_order(client, session):
    day = today()
    same_day_b2 = await make_event(session, title="B event", start_day=day + dt.timedelta(days=5))
    same_day_b1 = await make_event(session, title="B event", start_day=day + dt.timedelta(days=5))
    same_day_a = await make_event(session, title="A event", start_day=day + dt.timedelta(days=5))
    early = await make_event(
        session, title="Zeta fair 100% fun", start_day=day + dt.timedelta(days=1), type="ignite"
    )
    late = await make_event(session, title="Late", start_day=day + dt.timedelta(days=30))
    await session.commit()
    assert same_day_b2.id < same_day_b1.id

    assert await ids(client, MAIN) == [early.id, same_day_a.id, same_day_b2.id, same_day_b1.id, late.id]
    window = {"start_date": str(day + dt.timedelta(days=1)), "end_date": str(day + dt.timedelta(days=5))}
    assert await ids(client, MAIN, **window) == [early.id, same_day_a.id, same_day_b2.id, same_day_b1.id]
    assert await ids(client, MAIN, start_date=str(day + dt.timedelta(days=30))) == [late.id]
    assert await ids(client, MAIN, end_date=str(day + dt.timedelta(days=1))) == [early.id]
    assert await ids(client, MAIN, event_type="ignite") == [early.id]
    assert await ids(client, MAIN, q="ZETA") == [early.id]
    assert await ids(client, MAIN, q="100%") == [early.id]
    assert await ids(client, MAIN, q="%") == [early.id]  # LIKE wildcards are literal
    assert await ids(client, MAIN, q="b ev") == [same_day_b2.id, same_day_b1.id]

    page_two = (await client.get(MAIN, params={"page": 2, "page_size": 2})).json()
    assert [i["event_id"] for i in page_two["items"]] == [same_day_b2.id, same_day_b1.id]
    assert page_two["total"] == 5 and page_two["page"] == 2 and page_two["page_size"] == 2
    beyond = (await client.get(MAIN, params={"page": 99})).json()
    assert beyond["items"] == [] and beyond["total"] == 5


BAD_QUERIES = [
    {"event_type": "not_a_type"},
    {"event_type": "DIA"},  # exact stored values only (VOC-1)
    {"start_date": "2025-02-30"},
    {"end_date": "yesterday"},
    {"start_date": "2030-01-02", "end_date": "2030-01-01"},
    {"page": 0},
    {"page": "1e9"},
    {"page": 10**12},
    {"page_size": 0},
    {"q": "x" * 201},
]


async def test_list_4_page_size_bad_parameters_and_hostile_paths_are_4xx_problems(client, session):
    for _ in range(21):
        await make_event(session)
    await session.commit()
    default = (await client.get(MAIN)).json()
    assert len(default["items"]) == 20 and default["total"] == 21
    assert (await client.get(MAIN, params={"page_size": 100})).status_code == 200
    too_big = await client.get(MAIN, params={"page_size": 101})
    assert too_big.status_code == 422
    assert too_big.headers["content-type"] == "application/problem+json"
    assert too_big.json()["errors"][0]["loc"] == ["query", "page_size"]

    # bad query parameters: 422 problems that never echo the input
    for params in BAD_QUERIES:
        paginated = "page" in params or "page_size" in params  # the calendar feed is not paginated
        for url in (MAIN, DIA, district_url("any"), *(() if paginated else (ICS,))):
            response = await client.get(url, params=params)
            assert response.status_code == 422, (url, params, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert "x" * 50 not in response.text

    # hostile path values: 4xx problems
    for url in (
        "/api/v1/public/events/99999999999999999999",
        "/api/v1/public/events/-1",
        "/api/v1/public/events/abc",
        "/api/v1/public/events/" + "a" * 16,
        "/api/v1/public/events/%27%20OR%201%3D1",
        "/api/v1/public/districts/" + "a" * 101 + "/events",
        "/api/v1/public/districts/%3Cscript%3E/events",
    ):
        response = await client.get(url)
        assert 400 <= response.status_code < 500, url
        assert response.headers["content-type"] == "application/problem+json", url


# --------------------------------------------------------------------------------------
# LIST-5 / LIST-6: item content


async def test_list_5_item_has_exactly_the_listed_keys_and_never_the_note(client, session):
    district = await make_district(session, "Kansas City Kansas Public Schools", slug="kckps")
    event = await make_event(
        session,
        title="Career Fair - Wyandotte High School",
        start_time=dt.time(9, 0),
        date_time_display="03/12/2026 09:00 AM to 11:00 AM",
        available_slots=6,
        filled_volunteer_jobs=4,
        registration_link="https://forms.example.org/123",
        note="STAFF ONLY: the principal is difficult",
        districts=[district],
    )
    await make_signup(session, event, email="private.person@example.org")
    await session.commit()

    for url in (MAIN, district_url("kckps"), f"/api/v1/public/events/{event.id}"):
        response = await client.get(url)
        body = response.json()
        item = body["items"][0] if "items" in body else body
        assert set(item) == LIST_5_KEYS, url
        assert "STAFF ONLY" not in response.text and "private.person" not in response.text
        assert "Ana" not in response.text  # the signup's first name
    assert item["event_id"] == event.id and item["sf_event_id"] == event.salesforce_id
    assert item["name"] == "Career Fair - Wyandotte High School" and item["event_type"] == "career_fair"
    assert item["start_date"] == event.start_day.isoformat()
    start = dt.datetime.fromisoformat(item["start_datetime"])
    assert start.astimezone(ZONE).time() == dt.time(9, 0) and start.utcoffset() is not None
    assert start.utcoffset() == dt.datetime.combine(event.start_day, dt.time(9), ZONE).utcoffset()
    assert item["date_and_time"] == "03/12/2026 09:00 AM to 11:00 AM"
    assert item["available_slots"] == 6 and item["filled_volunteer_jobs"] == 4
    assert item["remaining_slots"] == 5 and item["signup_open"] is True
    assert item["districts"] == [{"id": district.id, "name": district.name, "slug": "kckps"}]
    assert item["is_dia"] is False
    assert item["registration_link"] == "https://forms.example.org/123"


async def test_list_6_remaining_slots_counts_unreflected_website_signups_never_below_zero(client, session):
    seen = utcnow()
    event = await make_event(session, title="Two slots", available_slots=2, publishing_last_seen_at=seen)
    await make_signup(session, event)  # not pushed: counts
    # pushed to SF before the latest publishing run read the event: already in available_slots
    await make_signup(session, event, sf_push_status="pushed", sf_pushed_at=seen - dt.timedelta(hours=1))
    full = await make_event(session, title="Overbooked", available_slots=1)
    for _ in range(3):
        await make_signup(session, full)
    await session.commit()

    items = {item["event_id"]: item for item in (await client.get(MAIN)).json()["items"]}
    assert items[event.id]["remaining_slots"] == 1 and items[event.id]["signup_open"] is True
    assert items[full.id]["remaining_slots"] == 0 and items[full.id]["signup_open"] is False

    # pushed after the latest read: Salesforce does not reflect it yet, it counts
    await make_signup(session, event, sf_push_status="pushed", sf_pushed_at=seen + dt.timedelta(minutes=5))
    await session.commit()
    items = {item["event_id"]: item for item in (await client.get(MAIN)).json()["items"]}
    assert items[event.id]["remaining_slots"] == 0 and items[event.id]["signup_open"] is False


# --------------------------------------------------------------------------------------
# LIST-7 / SCALE-3: caching


async def test_list_7_strong_etag_cache_control_and_304_without_body(client, session, settings):
    await make_event(session)
    await session.commit()
    for url in (MAIN, DIA, ICS):
        first = await client.get(url)
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
        assert first.headers["cache-control"] == f"public, max-age={settings.public_cache_max_age}"
        assert first.headers["x-content-type-options"] == "nosniff"
        again = await client.get(url)
        assert again.headers["etag"] == etag and again.content == first.content
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            cached = await client.get(url, headers={"If-None-Match": header})
            assert cached.status_code == 304, header
            assert cached.content == b""
            assert cached.headers["etag"] == etag
            assert cached.headers["cache-control"].startswith("public")
        stale = await client.get(url, headers={"If-None-Match": '"not-it"'})
        assert stale.status_code == 200 and stale.content == first.content

    # one ETag per query and page
    await make_event(session)
    await session.commit()
    etags = {
        (await client.get(MAIN, params=params)).headers["etag"]
        for params in ({}, {"page": 2}, {"page_size": 5}, {"q": "x"}, {"event_type": "ignite"})
    }
    assert len(etags) == 5


async def test_list_7_etag_changes_after_signups_visibility_links_sf_fields_and_district_names(
    client, session, admin
):
    event = await make_event(session, available_slots=3)
    district = await make_district(session)
    await session.commit()
    main = await client.get(MAIN)
    etag = main.headers["etag"]

    await make_signup(session, event)
    await session.commit()
    after_signup = await client.get(MAIN, headers={"If-None-Match": etag})
    assert after_signup.status_code == 200
    assert after_signup.json()["items"][0]["remaining_slots"] == 2
    etag = after_signup.headers["etag"]

    hide = await client.patch(
        f"/api/v1/publishing/events/{event.id}", headers=admin["headers"], json={"display_on_website": False}
    )
    assert hide.status_code == 200
    hidden = await client.get(MAIN, headers={"If-None-Match": etag})
    assert hidden.status_code == 200 and hidden.json()["items"] == []
    etag = hidden.headers["etag"]

    district_page = await client.get(district_url(district.id))
    district_etag = district_page.headers["etag"]
    linked = await client.put(
        f"/api/v1/publishing/events/{event.id}/districts/{district.id}", headers=admin["headers"]
    )
    assert linked.status_code == 200
    now_listed = await client.get(district_url(district.id), headers={"If-None-Match": district_etag})
    assert now_listed.status_code == 200 and now_listed.json()["total"] == 1
    assert (await client.get(MAIN, headers={"If-None-Match": etag})).status_code == 200  # links changed

    # an SF-owned field or a district name changes
    district = await make_district(session, "Old Name")
    event = await make_event(session, available_slots=3, districts=[district])
    await session.commit()
    etag = (await client.get(MAIN)).headers["etag"]

    await session.execute(update(Event).where(Event.id == event.id).values(available_slots=4))
    await session.commit()
    changed = await client.get(MAIN, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["items"][0]["available_slots"] == 4
    etag = changed.headers["etag"]

    await session.execute(update(District).where(District.id == district.id).values(name="New Name"))
    await session.commit()
    renamed = await client.get(MAIN, headers={"If-None-Match": etag})
    assert renamed.status_code == 200
    assert renamed.json()["items"][0]["districts"][0]["name"] == "New Name"


@pytest.mark.committed_db  # "another process" writes on its own connection
async def test_list_7_local_writes_at_once_other_processes_within_the_version_ttl(client, app, db, session):
    event = await make_event(session, available_slots=3)
    await session.commit()
    etag = (await client.get(MAIN)).headers["etag"]
    # another process (the sync, another API worker) writes: no session event reaches this one
    async with db.begin() as connection:
        await connection.execute(
            text("UPDATE event SET available_slots = 7 WHERE id = :id"), {"id": event.id}
        )
    assert (await client.get(MAIN, headers={"If-None-Match": etag})).status_code == 304  # not yet
    listings.listing_cache(app.state).version_ttl = 0.05
    for _ in range(50):  # the first request after the TTL starts a background re-read
        await asyncio.sleep(0.06)
        changed = await client.get(MAIN, headers={"If-None-Match": etag})
        if changed.status_code == 200:
            break
    assert changed.status_code == 200 and changed.json()["items"][0]["available_slots"] == 7

    # what counts as a local write
    before = listings.local_write_count()
    await make_district(session)
    await session.commit()
    assert listings.local_write_count() == before + 1
    await session.execute(update(District).values(name="Renamed"))
    await session.commit()
    assert listings.local_write_count() == before + 2
    await session.execute(select(District.id))
    await session.commit()  # a read-only transaction does not count
    assert listings.local_write_count() == before + 2


async def test_scale_3_304_and_unchanged_200_do_no_per_event_work(client, app, session):
    listings.listing_cache(app.state).version_ttl = 3600  # deterministic on a slow machine
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    async def statements_of(**headers: str):
        statements.clear()
        response = await client.get(MAIN, params={"page_size": 100}, headers=headers)
        return response, len(statements)

    engine = app.state.engine.sync_engine  # the app's own engine: the statements of its requests
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        first_counts = []
        created = 0
        for events in (3, 30):
            while created < events:
                await make_event(session)
                created += 1
            await session.commit()  # a local write: the next request reads the new version
            first, first_count = await statements_of()
            assert first.status_code == 200 and len(first.json()["items"]) == events
            first_counts.append(first_count)
            for _ in range(3):
                unchanged, count = await statements_of()
                assert unchanged.content == first.content
                assert count == 0  # the encoded page is reused while the data version is unchanged
                not_modified, count = await statements_of(**{"If-None-Match": first.headers["etag"]})
                assert not_modified.status_code == 304
                assert count == 0  # the version is memoised (no local write, within its TTL)
        # building a page costs the same statements for 3 events as for 30: none per event
        assert first_counts[0] == first_counts[1] and first_counts[0] > 0
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)


# --- Issue 13 item 6: a repeated request is answered from memory before routing and validation


def _headers_but_request_id(response) -> list[tuple[str, str]]:
    return sorted((name, value) for name, value in response.headers.multi_items() if name != "x-request-id")


async def test_list_7_answer_from_memory_has_exactly_the_headers_of_the_full_path(client, app, session):
    """LIST-7/LIST-10: the 200 and the 304 served from memory carry the same status, body and
    headers (ETag, Cache-Control, content type and length, CORS, Vary, security headers) as the
    full path answering the same request."""
    listings.listing_cache(app.state).version_ttl = 3600  # deterministic on a slow machine
    district = await make_district(session)
    event = await make_event(session, districts=[district])
    await make_event(session, type="dia")
    await session.commit()
    cache = listings.listing_cache(app.state)
    origin = {"Origin": "https://www.example.org"}
    urls = (
        MAIN + "?page_size=5",
        DIA,
        ICS + "?event_type=ignite",
        district_url(district.slug),
        f"/api/v1/public/events/{event.id}",
    )
    for url in urls:
        before = cache.recalled
        full = await client.get(url, headers=origin)
        assert full.status_code == 200 and cache.recalled == before  # first time: the full path
        again = await client.get(url, headers=origin)
        assert cache.recalled == before + 1  # answered from memory
        assert again.status_code == 200 and again.content == full.content
        assert _headers_but_request_id(again) == _headers_but_request_id(full)
        assert again.headers["access-control-allow-origin"] == "https://www.example.org"
        assert "origin" in again.headers["vary"].lower()

        # a 304 for a request not seen before (a cache buster): the full path; then from memory
        busted = url + ("&" if "?" in url else "?") + "_=1"
        conditional = {**origin, "If-None-Match": full.headers["etag"]}
        full_304 = await client.get(busted, headers=conditional)
        assert full_304.status_code == 304 and cache.recalled == before + 1
        memory_304 = await client.get(busted, headers=conditional)
        assert memory_304.status_code == 304 and cache.recalled == before + 2
        assert memory_304.content == b""
        assert _headers_but_request_id(memory_304) == _headers_but_request_id(full_304)
        assert memory_304.headers["etag"] == full.headers["etag"]
        # the same remembered request without a matching ETag: the body from memory
        other = await client.get(busted, headers={**origin, "If-None-Match": '"not-it"'})
        assert other.status_code == 200 and other.content == full.content
        assert cache.recalled == before + 3


async def test_list_7_no_stale_304_from_memory_after_a_visibility_or_publishing_change(
    client, app, session, admin
):
    """A remembered answer is used only while its data version is current: hiding an event, a
    signup or a district link makes the next conditional request a full 200 with a new ETag."""
    listings.listing_cache(app.state).version_ttl = 3600  # only the writes below move the version
    cache = listings.listing_cache(app.state)
    event = await make_event(session, available_slots=3)
    district = await make_district(session)
    await session.commit()
    etag = (await client.get(MAIN)).headers["etag"]
    before = cache.recalled
    assert (await client.get(MAIN, headers={"If-None-Match": etag})).status_code == 304
    assert cache.recalled == before + 1  # from memory

    hide = await client.patch(
        f"/api/v1/publishing/events/{event.id}", headers=admin["headers"], json={"display_on_website": False}
    )
    assert hide.status_code == 200
    hidden = await client.get(MAIN, headers={"If-None-Match": etag})
    assert hidden.status_code == 200 and hidden.json()["items"] == []
    assert hidden.headers["etag"] != etag
    etag = hidden.headers["etag"]
    assert (await client.get(MAIN, headers={"If-None-Match": etag})).status_code == 304

    shown = await client.patch(
        f"/api/v1/publishing/events/{event.id}", headers=admin["headers"], json={"display_on_website": True}
    )
    assert shown.status_code == 200
    again = await client.get(MAIN, headers={"If-None-Match": etag})
    assert again.status_code == 200 and [item["event_id"] for item in again.json()["items"]] == [event.id]
    etag = again.headers["etag"]

    await make_signup(session, event)  # remaining slots move (LIST-6)
    await session.commit()
    after_signup = await client.get(MAIN, headers={"If-None-Match": etag})
    assert after_signup.status_code == 200 and after_signup.json()["items"][0]["remaining_slots"] == 2
    etag = after_signup.headers["etag"]

    page_etag = (await client.get(district_url(district.id))).headers["etag"]
    assert (
        await client.get(district_url(district.id), headers={"If-None-Match": page_etag})
    ).status_code == 304
    linked = await client.put(
        f"/api/v1/publishing/events/{event.id}/districts/{district.id}", headers=admin["headers"]
    )
    assert linked.status_code == 200
    now_listed = await client.get(district_url(district.id), headers={"If-None-Match": page_etag})
    assert now_listed.status_code == 200 and now_listed.json()["total"] == 1
    assert (await client.get(MAIN, headers={"If-None-Match": etag})).status_code == 200


async def test_list_4_bad_query_parameters_are_422_even_after_good_ones_are_answered_from_memory(
    client, app, session
):
    """Only answered requests are remembered: a bad query string never is, and still reaches
    validation (422 problem+json), also with a current ETag; a 404 is never remembered either."""
    listings.listing_cache(app.state).version_ttl = 3600
    cache = listings.listing_cache(app.state)
    await make_event(session)
    await session.commit()
    good = await client.get(MAIN + "?page_size=5")
    etag = good.headers["etag"]
    assert (await client.get(MAIN + "?page_size=5")).status_code == 200
    recalled = cache.recalled
    assert recalled >= 1
    for query in ("page_size=500", "page_size=5&page_size=500", "page_size=0", "start_date=nope", "page=x"):
        for headers in ({}, {"If-None-Match": etag}, {"If-None-Match": "*"}):
            for _ in range(2):
                response = await client.get(f"{MAIN}?{query}", headers=headers)
                assert response.status_code == 422, (query, headers)
                assert response.headers["content-type"] == "application/problem+json"
    for _ in range(2):
        missing = await client.get("/api/v1/public/events/999999", headers={"If-None-Match": "*"})
        assert missing.status_code == 404
        assert (await client.get(district_url("no-such-district"))).status_code == 404
    assert cache.recalled == recalled  # none of these came from memory


def test_scale_3_remembered_answers_are_bounded_and_tied_to_their_version():
    cache = listings.ListingCache(max_answers=2)
    today = dt.date(2026, 1, 5)
    cache._version = ("v1", today, listings.local_write_count(), time.monotonic())  # as read at once
    for key in "abc":
        cache.put(f'"{key}"', key.encode())
        cache.remember(key, listings.Rendered(f'"{key}"', key.encode(), "v1"), "extra")
    assert cache.recall("a", today, None) is None  # evicted: at most max_answers
    recalled = cache.recall("c", today, None)
    assert recalled is not None and recalled.rendered.body == b"c" and recalled.extra == "extra"
    assert cache.recall("c", today, '"c"').rendered.body is None  # 304
    assert cache.recall("c", today + dt.timedelta(days=1), None) is None  # a new day: read again
    cache._version = ("v2", today, listings.local_write_count(), time.monotonic())
    assert cache.recall("c", today, '"c"') is None  # another data version: the full path


def test_scale_3_listing_cache_is_bounded():
    cache = listings.ListingCache(max_entries=3, max_bytes=10)
    for key in "abcd":
        cache.put(key, b"xx")
    assert len(cache) == 3 and cache.get("a") is None and cache.get("d") == b"xx"
    cache.put("big", b"x" * 11)
    assert cache.get("big") is None
    cache.put("e", b"x" * 9)
    assert len(cache) == 1 and cache.get("e") is not None


# --------------------------------------------------------------------------------------
# LIST-8: calendar feed


async def test_list_8_calendar_feed_has_one_vevent_per_listed_event(client, session):
    timed = await make_event(
        session,
        title="Timed fair",
        start_time=dt.time(9, 30),
        duration=90,
        location="2501 Minnesota Ave",
        registration_link="https://forms.example.org/timed",
        days_ahead=2,
    )
    all_day = await make_event(session, title="All-day event", days_ahead=3)
    await make_event(session, title="Hidden", display=False)
    await make_event(session, title="Past", days_ahead=-3)
    await session.commit()

    response = await client.get(ICS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    vevents = calendar.walk("VEVENT")
    assert len(vevents) == 2
    by_uid = {str(v["UID"]): v for v in vevents}
    assert set(by_uid) == {f"polaris-event-{timed.id}@polaris-api", f"polaris-event-{all_day.id}@polaris-api"}

    timed_vevent = by_uid[f"polaris-event-{timed.id}@polaris-api"]
    start = timed_vevent.decoded("DTSTART")
    assert isinstance(start, dt.datetime) and start.tzinfo is not None
    assert timed_vevent["DTSTART"].params["TZID"] == "America/Chicago"
    assert start.astimezone(ZONE).time() == dt.time(9, 30)
    assert timed_vevent.decoded("DTEND") - start == dt.timedelta(minutes=90)
    assert str(timed_vevent["SUMMARY"]) == "Timed fair"
    assert str(timed_vevent["LOCATION"]) == "2501 Minnesota Ave"
    assert "https://forms.example.org/timed" in str(timed_vevent["DESCRIPTION"])

    all_day_vevent = by_uid[f"polaris-event-{all_day.id}@polaris-api"]
    day = all_day_vevent.decoded("DTSTART")
    assert type(day) is dt.date and day == all_day.start_day
    assert calendar.walk("VTIMEZONE")  # the zone the TZIDs refer to

    # same filters as the main listing; UIDs stable across responses
    filtered = icalendar.Calendar.from_ical((await client.get(ICS, params={"q": "timed"})).content)
    assert [str(v["UID"]) for v in filtered.walk("VEVENT")] == [f"polaris-event-{timed.id}@polaris-api"]


# --------------------------------------------------------------------------------------
# LIST-9: one event


async def test_list_9_one_event_by_id_or_15_or_18_character_sf_id_else_404(client, session):
    salesforce_id = sf_id()
    event = await make_event(session, title="Findable", salesforce_id=salesforce_id)
    district = await make_district(session)
    hidden_linked = await make_event(session, title="Hidden, linked", display=False, districts=[district])
    hidden_dia = await make_event(session, title="DIA hidden", display=False)
    await session.commit()

    for key in (event.id, salesforce_id, salesforce_id[:15]):
        response = await client.get(f"/api/v1/public/events/{key}")
        assert response.status_code == 200, key
        assert response.json()["event_id"] == event.id
        assert response.headers["etag"] and response.headers["cache-control"].startswith("public")
    assert (await client.get(f"/api/v1/public/events/{salesforce_id.lower()}")).status_code == 404
    assert (await client.get(f"/api/v1/public/events/{hidden_linked.id}")).status_code == 200
    assert (await client.get(f"/api/v1/public/events/{hidden_dia.id}")).status_code == 200

    # not listed anywhere: 404
    archived = await make_event(session, publish_status="archived", archived_reason="not_in_salesforce")
    hidden = await make_event(session, title="Hidden, unlinked", display=False)
    draft = await make_event(session, publishing=False)
    past = await make_event(session, days_ahead=-1)
    await session.commit()
    for event in (archived, hidden, draft, past):
        for key in (event.id, event.salesforce_id, event.salesforce_id[:15]):
            response = await client.get(f"/api/v1/public/events/{key}")
            assert response.status_code == 404, (event.title, key)
            assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/api/v1/public/events/9999999999")).status_code == 404


def test_list_9_sf_id_15_to_18_checksum():
    assert listings.sf_id_18("a0B5f000001XyZq") == "a0B5f000001XyZqEAK"
    assert listings.sf_id_18("001000000000000") == "001000000000000AAA"


# --------------------------------------------------------------------------------------
# LIST-10: CORS, and the public endpoints need no credentials


async def test_list_10_cors_allowed_origin_only_and_no_credentials(client, session):
    await make_event(session)
    await session.commit()
    allowed = await client.get(MAIN, headers={"Origin": "https://www.example.org"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://www.example.org"
    assert "access-control-allow-credentials" not in allowed.headers
    assert "etag" in allowed.headers["access-control-expose-headers"].lower()

    other = await client.get(MAIN, headers={"Origin": "https://evil.example.com"})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers

    preflight = await client.options(
        MAIN,
        headers={
            "Origin": "https://www.example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://www.example.org"
    assert "GET" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    refused = await client.options(
        MAIN, headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in refused.headers

    # not public: no CORS headers even for the allowed origin
    private = await client.get("/api/v1/publishing/events", headers={"Origin": "https://www.example.org"})
    assert "access-control-allow-origin" not in private.headers

    # every public endpoint: no credentials needed, cacheable
    district = await make_district(session)
    event = await make_event(session, districts=[district])
    await link(session, await make_event(session, type="dia"), district)
    await session.commit()
    for url in (MAIN, DIA, ICS, district_url(district.slug), f"/api/v1/public/events/{event.id}"):
        response = await client.get(url, headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 200, url
        assert response.headers["cache-control"] != "no-store"
