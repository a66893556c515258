"""03 SIGN-1..SIGN-11: the public signup endpoint, end to end on the real database."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from polaris_api.models.events import EventParticipation, Signup
from polaris_api.models.outbox import OutboxMessage
from polaris_api.models.people import Volunteer, VolunteerEmail, VolunteerSfContact
from polaris_api.observability import JsonFormatter, RequestIdFilter, person_hash
from polaris_api.services.outbox import deliver_due
from tests.conftest import bind_app, dispose_app, make_settings
from tests.factories import make_district, make_event, make_signup
from tests.signup_factories import (
    EMAIL,
    EVENT_LOCATION,
    EVENT_TITLE,
    FIRST_NAME,
    LAST_NAME,
    NORMALIZED_EMAIL,
    count,
    listed_event,
    signup_form,
    smtp_sink,  # noqa: F401  (fixture)
)

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def settings():
    return make_settings(signup_rate_limit_per_minute=1000, signup_rate_limit_per_day=1000)


def url(event_id: int) -> str:
    return f"/api/v1/public/events/{event_id}/signup"


async def nothing_written(session) -> None:
    for model in (Signup, Volunteer, EventParticipation, OutboxMessage):
        assert await count(session, model) == 0, model.__name__


# --------------------------------------------------------------------------------------
# The whole path: form → records → email with a calendar invite through SMTP


async def test_sign_8_signup_email_with_invite_reaches_smtp_server(db, session, smtp_sink):  # noqa: F811
    sink, port = smtp_sink
    settings = make_settings(
        email_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        support_contact="help@prepkc.example",
        email_from="signups@prepkc.example",
    )
    from polaris_api.app import create_app

    app = bind_app(create_app(settings), db)
    import httpx

    event = await listed_event(session)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post(url(event.id), json=signup_form())
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "signed_up"
    assert created["event_id"] == event.id
    assert created["email_status"] == "queued"
    assert "help@prepkc.example" in created["message"]

    assert await deliver_due(app.state.sessionmaker, settings) == 1
    await dispose_app(app, db)

    messages = sink.messages()
    assert len(messages) == 1
    message = messages[0]
    assert sink.envelopes[0].rcpt_tos == [NORMALIZED_EMAIL]
    assert message["From"] == "signups@prepkc.example"
    assert EVENT_TITLE in message["Subject"]
    assert FIRST_NAME not in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert EVENT_TITLE in text and EVENT_LOCATION in text and "help@prepkc.example" in text
    start_local = dt.datetime.combine(event.start_day, dt.time(9, 0))
    assert f"{start_local:%B} {start_local.day}, {start_local.year}, 9:00 AM to 11:00 AM" in text

    invites = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert len(invites) == 1
    assert invites[0].get_param("method") == "REQUEST"
    calendar = Calendar.from_ical(invites[0].get_content())
    assert str(calendar["METHOD"]) == "REQUEST"
    vevent = calendar.walk("VEVENT")[0]
    start = vevent["DTSTART"].dt
    assert start.tzinfo is not None and str(start.tzinfo) == "America/Chicago"
    assert start.replace(tzinfo=None) == start_local
    assert vevent["DTSTART"].params["TZID"] == "America/Chicago"
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "America/Chicago"
    assert str(vevent["SUMMARY"]) == EVENT_TITLE
    assert str(vevent["LOCATION"]) == EVENT_LOCATION
    assert str(vevent["ORGANIZER"]).lower() == "mailto:signups@prepkc.example"
    assert str(vevent["ATTENDEE"]).lower() == f"mailto:{NORMALIZED_EMAIL}"
    assert str(vevent["UID"]) == f"polaris-signup-{created['signup_id']}@prepkc.example"

    stored = (await session.execute(select(OutboxMessage))).scalar_one()
    assert stored.status == "sent" and stored.attempts == 1 and stored.sent_at is not None


async def test_sign_7_records_written_in_one_go(client, session):
    event = await listed_event(session)
    response = await client.post(
        url(event.id),
        json=signup_form(
            phone=" (816) 555-0100 ", skills="Engineering, , public speaking", middle_name="  Q "
        ),
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    signup_id = response.json()["signup_id"]

    signup = (await session.execute(select(Signup))).scalar_one()
    assert signup.id == signup_id
    assert signup.normalized_email == NORMALIZED_EMAIL
    assert signup.email == EMAIL.strip()
    assert (signup.first_name, signup.last_name, signup.middle_name) == (FIRST_NAME, LAST_NAME, "Q")
    assert signup.skills == ["Engineering", "public speaking"]
    assert (signup.gender, signup.age_group) == ("female", "age_35_44")
    assert signup.phone == "(816) 555-0100"
    assert signup.client_ip_hash and len(signup.client_ip_hash) == 64
    assert "127.0.0.1" not in signup.client_ip_hash
    assert signup.sf_push_status == "skipped"  # write-back is off by default (SIGN-9)

    volunteer = (await session.execute(select(Volunteer))).scalar_one()
    assert volunteer.id == signup.volunteer_id
    assert volunteer.source == "website"
    assert volunteer.email_normalized == NORMALIZED_EMAIL
    assert (volunteer.first_name, volunteer.last_name, volunteer.title) == (
        FIRST_NAME,
        LAST_NAME,
        "Civil Engineer",
    )
    assert volunteer.organization_name == "Acme Engineering"
    assert (volunteer.gender, volunteer.age_group) == ("female", "age_35_44")
    emails = (await session.execute(select(VolunteerEmail))).scalars().all()
    assert [(row.email_normalized, row.source, row.is_primary) for row in emails] == [
        (NORMALIZED_EMAIL, "website", True)
    ]

    participation = (await session.execute(select(EventParticipation))).scalar_one()
    assert participation.id == signup.participation_id
    assert (participation.event_id, participation.volunteer_id) == (event.id, volunteer.id)
    assert (participation.participant_type, participation.status, participation.source) == (
        "volunteer",
        "registered",
        "website",
    )
    assert (participation.email, participation.title) == (NORMALIZED_EMAIL, "Civil Engineer")

    message = (await session.execute(select(OutboxMessage))).scalar_one()
    assert (message.kind, message.status, message.related_signup_id) == (
        "signup_confirmation",
        "queued",
        signup.id,
    )
    assert message.recipient == NORMALIZED_EMAIL
    assert message.attachments[0]["content_type"].startswith("text/calendar; method=REQUEST")


async def test_sign_7_existing_volunteer_kept_and_existing_participation_reused(client, session):
    event = await listed_event(session)
    volunteer = Volunteer(
        source="salesforce",
        email_normalized=NORMALIZED_EMAIL,
        first_name="Mina",
        last_name="Salesforce-Name",
        title="Director",
        gender=None,
    )
    session.add(volunteer)
    await session.flush()
    session.add(VolunteerSfContact(salesforce_id="003000000000001AAA", volunteer_id=volunteer.id))
    existing = EventParticipation(
        event_id=event.id,
        volunteer_id=volunteer.id,
        participant_type="volunteer",
        status="attended",
        source="salesforce",
    )
    session.add(existing)
    await session.commit()
    volunteer_id, existing_id = volunteer.id, existing.id

    response = await client.post(url(event.id), json=signup_form(email="WILHELMINA.testperson@example.org"))
    assert response.status_code == 201, response.text

    session.expire_all()
    kept = await session.get(Volunteer, volunteer_id)
    assert (kept.first_name, kept.last_name, kept.title, kept.gender) == (
        "Mina",
        "Salesforce-Name",
        "Director",
        None,
    )
    assert kept.source == "salesforce"
    assert await count(session, Volunteer) == 1
    participations = (await session.execute(select(EventParticipation))).scalars().all()
    assert [(p.id, p.status, p.source) for p in participations] == [(existing_id, "attended", "salesforce")]
    signup = (await session.execute(select(Signup))).scalar_one()
    assert (signup.volunteer_id, signup.participation_id) == (volunteer_id, existing_id)
    assert (signup.first_name, signup.gender) == (FIRST_NAME, "female")  # submitted values kept here


async def test_sign_7_secondary_email_finds_the_same_volunteer(client, session):
    event = await listed_event(session)
    volunteer = Volunteer(source="salesforce", email_normalized="primary@example.org", last_name="X")
    session.add(volunteer)
    await session.flush()
    session.add(
        VolunteerEmail(volunteer_id=volunteer.id, email=NORMALIZED_EMAIL, email_normalized=NORMALIZED_EMAIL)
    )
    await session.commit()
    response = await client.post(url(event.id), json=signup_form())
    assert response.status_code == 201
    assert await count(session, Volunteer) == 1
    signup = (await session.execute(select(Signup))).scalar_one()
    assert signup.volunteer_id == volunteer.id


# --------------------------------------------------------------------------------------
# SIGN-5 idempotency


async def test_sign_5_repeat_in_any_case_is_200_and_changes_nothing(client, session):
    event = await listed_event(session)
    first = await client.post(url(event.id), json=signup_form())
    assert first.status_code == 201
    signup_id = first.json()["signup_id"]
    for variant in ("WILHELMINA.TESTPERSON@EXAMPLE.ORG", "  wilhelmina.testperson@example.org\t"):
        again = await client.post(url(event.id), json=signup_form(email=variant, first_name="Other"))
        assert again.status_code == 200, again.text
        assert again.json() == {"status": "already_signed_up", "signup_id": signup_id}
    assert await count(session, Signup) == 1
    assert await count(session, EventParticipation) == 1
    assert await count(session, Volunteer) == 1
    assert await count(session, OutboxMessage) == 1  # one email only
    signup = (await session.execute(select(Signup))).scalar_one()
    assert signup.first_name == FIRST_NAME


async def test_sign_5_same_person_may_sign_up_for_two_events(client, session):
    first_event = await listed_event(session)
    second_event = await listed_event(session, title="Another fair")
    assert (await client.post(url(first_event.id), json=signup_form())).status_code == 201
    assert (await client.post(url(second_event.id), json=signup_form())).status_code == 201
    assert await count(session, Volunteer) == 1
    assert await count(session, EventParticipation) == 2
    assert await count(session, OutboxMessage) == 2


@pytest.mark.committed_db  # simultaneous requests need their own connections
async def test_sign_5_concurrent_identical_signups_make_one(client, session):
    event = await listed_event(session)
    responses = await asyncio.gather(*(client.post(url(event.id), json=signup_form()) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert len({r.json()["signup_id"] for r in responses}) == 1
    assert await count(session, Signup) == 1
    assert await count(session, OutboxMessage) == 1


# --------------------------------------------------------------------------------------
# SIGN-4 open for signup, SIGN-6 capacity (one process; several processes: test_signup_concurrency)


async def test_sign_4_not_listed_anywhere_is_404(client, session):
    hidden = await make_event(session, display=False)  # no district, not DIA
    archived = await make_event(session, publish_status="archived")
    past = await make_event(session, days_ahead=-1)
    not_publishing = await make_event(session, publishing=False)
    deleted = await make_event(session, is_deleted=True)
    await session.commit()
    for event_id in (hidden.id, archived.id, past.id, not_publishing.id, deleted.id, 999_999):
        response = await client.post(url(event_id), json=signup_form())
        assert response.status_code == 404, event_id
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"
    await nothing_written(session)


async def test_sign_4_listed_on_a_district_or_dia_page_only_is_open(client, session):
    district = await make_district(session)
    on_district = await make_event(session, display=False, districts=[district])
    dia = await make_event(session, display=False, title="DIA classroom visit")
    today = await make_event(session, days_ahead=0)
    await session.commit()
    for event in (on_district, dia, today):
        response = await client.post(url(event.id), json=signup_form())
        assert response.status_code == 201, response.text


async def test_sign_4_full_event_is_409_event_full(client, session):
    no_slots = await make_event(session, available_slots=0)
    taken = await make_event(session, available_slots=1)
    await make_signup(session, taken)  # unpushed: counts against the slots (LIST-6, SIGN-9)
    await session.commit()
    for event in (no_slots, taken):
        response = await client.post(url(event.id), json=signup_form())
        assert response.status_code == 409
        assert response.json()["code"] == "event_full"
    assert await count(session, Signup) == 1
    assert await count(session, OutboxMessage) == 0


@pytest.mark.committed_db  # simultaneous requests need their own connections
async def test_sign_6_concurrent_requests_never_exceed_remaining_slots(client, session):
    event = await listed_event(session, slots=3)
    responses = await asyncio.gather(
        *(client.post(url(event.id), json=signup_form(email=f"v{i}@example.org")) for i in range(12))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [409] * 9
    assert all(r.json()["code"] == "event_full" for r in responses if r.status_code == 409)
    assert await count(session, Signup) == 3
    assert await count(session, EventParticipation) == 3


# --------------------------------------------------------------------------------------
# SIGN-1..3 validation: 422, one entry per field, nothing written, no values echoed


TAMPERED = [
    ("gender", "Female"),
    ("gender", "robot"),
    ("gender", " female"),
    ("age_group", "35-44"),
    ("race_ethnicity", "Hispanic"),
    ("education", "BA"),
    ("salutation", "Dr."),
    ("suffix", "Jr."),
    ("local_status", "Local"),
]


async def test_sign_2_tampered_vocabulary_value_is_422_and_writes_nothing(client, session):
    event = await listed_event(session)
    for field, value in TAMPERED:
        response = await client.post(url(event.id), json=signup_form(**{field: value}))
        assert response.status_code == 422, (field, value)
        body = response.json()
        assert body["code"] == "validation_error"
        assert [(error["loc"][-1], error["type"]) for error in body["errors"]] == [(field, "invalid_choice")]
        assert '"input"' not in response.text
        if value.strip() not in body["errors"][0]["msg"]:
            assert value not in response.text
    await nothing_written(session)


async def test_sign_2_blank_vocabulary_value_is_null(client, session):
    event = await listed_event(session)
    response = await client.post(url(event.id), json=signup_form(gender="", education="  "))
    assert response.status_code == 201
    signup = (await session.execute(select(Signup))).scalar_one()
    assert (signup.gender, signup.education) == (None, None)


async def test_sign_3_unknown_field_is_422(client, session):
    event = await listed_event(session)
    response = await client.post(url(event.id), json=signup_form(favourite_color="blue", is_admin=True))
    assert response.status_code == 422
    assert sorted(e["loc"][-1] for e in response.json()["errors"]) == ["favourite_color", "is_admin"]
    await nothing_written(session)


async def test_sign_1_missing_and_blank_required_fields_are_listed(client, session):
    event = await listed_event(session)
    response = await client.post(url(event.id), json={"first_name": "   ", "title": "x" * 51})
    assert response.status_code == 422
    errors = {e["loc"][-1]: e["type"] for e in response.json()["errors"]}
    assert errors == {
        "first_name": "blank",
        "last_name": "missing",
        "email": "missing",
        "organization": "missing",
        "title": "string_too_long",
    }
    await nothing_written(session)


async def test_sign_1_invalid_email_is_422_without_echo(client, session):
    event = await listed_event(session)
    for bad_email in ("not-an-email", "a@b", "x" * 250 + "@example.org", "   ", 42):
        response = await client.post(url(event.id), json=signup_form(email=bad_email))
        assert response.status_code == 422, bad_email
        assert [e["loc"][-1] for e in response.json()["errors"]] == ["email"]
        if isinstance(bad_email, str) and bad_email.strip():
            assert bad_email not in response.text
    await nothing_written(session)


async def test_sign_2_skills_as_list_or_comma_string(client, session):
    event = await listed_event(session)
    assert (
        await client.post(url(event.id), json=signup_form(skills=" Welding,welding , CAD "))
    ).status_code == 201
    signup = (await session.execute(select(Signup))).scalar_one()
    assert signup.skills == ["Welding", "CAD"]
    response = await client.post(url(event.id), json=signup_form(email="b@example.org", skills=[1, 2]))
    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in response.json()["errors"]] == [(["body", "skills"], "skills_type")]


# --------------------------------------------------------------------------------------
# SIGN-10 abuse limits


async def test_sign_10_body_over_16_kb_is_413(client, session):
    event = await listed_event(session)
    big = signup_form(organization="x" * 17_000)
    response = await client.post(url(event.id), json=big)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"

    async def chunks():  # no Content-Length: the bytes received are counted
        yield b'{"first_name": "'
        for _ in range(40):
            yield b"y" * 1024
        yield b'"}'

    streamed = await client.post(
        url(event.id), content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    lying = await client.post(
        url(event.id), content=b"{}", headers={"content-type": "application/json", "content-length": "99999"}
    )
    assert lying.status_code == 413
    await nothing_written(session)


async def test_sign_10_rate_limit_per_ip_is_429_with_retry_after(db, session):
    import httpx

    from polaris_api.app import create_app

    app = bind_app(
        create_app(make_settings(signup_rate_limit_per_minute=3, signup_rate_limit_per_day=100)), db
    )
    event = await listed_event(session)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        codes = []
        for i in range(3):
            response = await client.post(url(event.id), json=signup_form(email=f"r{i}@example.org"))
            codes.append(response.status_code)
        assert codes == [201, 201, 201]
        refused = await client.post(url(event.id), json=signup_form(email="r9@example.org"))
        invalid = await client.post(url(event.id), json={"nonsense": True})
    await dispose_app(app, db)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    assert invalid.status_code == 429  # every attempt counts, valid or not
    assert await count(session, Signup) == 3


async def test_sign_10_daily_limit(db, session):
    import httpx

    from polaris_api.app import create_app

    app = bind_app(
        create_app(make_settings(signup_rate_limit_per_minute=100, signup_rate_limit_per_day=2)), db
    )
    event = await listed_event(session)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for i in range(2):
            await client.post(url(event.id), json=signup_form(email=f"d{i}@example.org"))
        refused = await client.post(url(event.id), json=signup_form(email="d9@example.org"))
    await dispose_app(app, db)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 60


# --------------------------------------------------------------------------------------
# SIGN-11 no personal data in responses or logs


@pytest.fixture
def captured_logs():
    records: list[str] = []
    formatter = JsonFormatter()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(formatter.format(record))

    handler = Collect(level=logging.DEBUG)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(previous)


async def test_sign_11_responses_and_logs_never_contain_email_or_names(client, session, captured_logs, app):
    event = await listed_event(session, slots=1)
    responses = [
        await client.post(url(event.id), json=signup_form()),  # 201
        await client.post(url(event.id), json=signup_form(email=EMAIL.upper())),  # 200
        await client.post(url(event.id), json=signup_form(email="second." + NORMALIZED_EMAIL)),  # 409
        await client.post(url(event.id), json=signup_form(gender="robot")),  # 422
        await client.post(url(999_999), json=signup_form()),  # 404
    ]
    assert [r.status_code for r in responses] == [201, 200, 409, 422, 404]
    await deliver_due(app.state.sessionmaker, app.state.settings)  # disabled backend: suppressed
    secrets = (NORMALIZED_EMAIL, "wilhelmina", "testperson", "robot")
    for response in responses:
        for secret in secrets:
            assert secret not in response.text.lower()
    text = "\n".join(captured_logs).lower()
    assert '"route":"/api/v1/public/events/{event_id}/signup"' in text
    for secret in secrets:
        assert secret not in text
    assert person_hash(NORMALIZED_EMAIL) in text  # the person is identified by the hash only
