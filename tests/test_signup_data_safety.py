"""Issue 11, website signup defects: NUL characters (item 10), SIGN-7 skills (item 8), signup by
Salesforce id (item 14). End to end on the real database, SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from polaris_api.models.events import EventParticipation, Signup
from polaris_api.models.outbox import OutboxMessage
from polaris_api.models.people import Volunteer, VolunteerSkill
from polaris_api.models.reference import Skill
from polaris_api.schemas.common import InboundModel
from tests.conftest import make_settings
from tests.signup_factories import count, listed_event, signup_form


@pytest.fixture
def settings():
    return make_settings(signup_rate_limit_per_minute=1000, signup_rate_limit_per_day=1000)


def url(event_id: int | str) -> str:
    return f"/api/v1/public/events/{event_id}/signup"


async def nothing_written(session) -> None:
    for model in (Signup, Volunteer, EventParticipation, OutboxMessage):
        assert await count(session, model) == 0, model.__name__


# --------------------------------------------------------------------------------------
# Item 10: a NUL character is refused at validation, the same 422 on every database


@pytest.mark.parametrize(
    "field",
    [
        {"first_name": "Wil\x00helmina"},
        {"last_name": "\x00"},
        {"organization": "Acme\x00 Engineering"},
        {"middle_name": "A\x00"},
        {"phone": "816\x00555"},
        {"skills": ["Engineering", "Public\x00Speaking"]},
        {"skills": "Engineering,\x00"},
        {"postal_code": "64111\x00"},
    ],
    ids=lambda field: next(iter(field)),
)
async def test_nul_character_in_signup_is_422_and_nothing_is_written(client, session, field):
    event = await listed_event(session)
    response = await client.post(url(event.id), json=signup_form(**field))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["body", next(iter(field))], "nul_character")]
    assert "\x00" not in response.text and "\\u0000" not in response.text
    await nothing_written(session)


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router
            yield from _routes(route.original_router.routes)


def test_nul_every_json_request_body_model_refuses_nul(app):
    """One validator for every inbound body: each route's declared body model derives from
    :class:`InboundModel`, which refuses NUL in any string, nested ones included. (Form and
    multipart bodies are FastAPI's own models: their text fields are patterns or file names.)"""
    offenders, checked = [], 0
    for route in _routes(app.routes):
        model = route.body_field.field_info.annotation if route.body_field is not None else None
        if not isinstance(model, type) or not model.__module__.startswith("polaris_api"):
            continue
        checked += 1
        if not issubclass(model, InboundModel):
            offenders.append(f"{route.path}: {model.__name__}")
    assert offenders == []
    assert checked >= 20


# --------------------------------------------------------------------------------------
# Item 8: SIGN-7 a new website volunteer gets the submitted skills


async def _skills_of(session, volunteer_id: int) -> list[str]:
    rows = await session.execute(
        select(Skill.name)
        .join(VolunteerSkill, VolunteerSkill.skill_id == Skill.id)
        .where(VolunteerSkill.volunteer_id == volunteer_id, VolunteerSkill.source == "website")
        .order_by(Skill.name)
    )
    return list(rows.scalars())


async def test_sign_7_new_website_volunteer_gets_submitted_skills(client, session):
    session.add(Skill(name="Engineering"))
    await session.commit()
    event = await listed_event(session)
    skills = ["engineering", "Public   Speaking", "public speaking", " Robotics ", ""]
    response = await client.post(url(event.id), json=signup_form(skills=skills))
    assert response.status_code == 201, response.text
    volunteer_id = (await session.execute(select(Volunteer.id))).scalar_one()
    # normalised (N-2), deduplicated case-insensitively, existing skill rows reused
    assert await _skills_of(session, volunteer_id) == ["Engineering", "Public Speaking", "Robotics"]
    assert sorted((await session.execute(select(Skill.name_normalized))).scalars()) == [
        "engineering",
        "public speaking",
        "robotics",
    ]
    signup = (await session.execute(select(Signup))).scalar_one()
    assert signup.skills == ["engineering", "Public Speaking", "Robotics"]


async def test_sign_7_a_second_new_volunteer_reuses_the_skills_the_first_created(client, session):
    event = await listed_event(session)
    first = await client.post(url(event.id), json=signup_form(skills="Robotics, Welding"))
    second = await client.post(
        url(event.id), json=signup_form(email="other@example.org", skills=["ROBOTICS", "welding "])
    )
    assert (first.status_code, second.status_code) == (201, 201)
    volunteers = list((await session.execute(select(Volunteer.id).order_by(Volunteer.id))).scalars())
    assert [await _skills_of(session, v) for v in volunteers] == [["Robotics", "Welding"]] * 2
    assert await count(session, Skill) == 2


async def test_sign_7_existing_volunteer_skills_are_not_changed(client, session):
    event = await listed_event(session)
    session.add(
        Volunteer(source="salesforce", email_normalized="known@example.org", first_name="K", last_name="N")
    )
    await session.commit()
    response = await client.post(
        url(event.id), json=signup_form(email="known@example.org", skills=["Robotics"])
    )
    assert response.status_code == 201
    assert await count(session, Skill) == 0 and await count(session, VolunteerSkill) == 0


@pytest.mark.parametrize(
    "skills",
    [[f"skill {n}" for n in range(31)], ["x" * 101]],
    ids=["31_skills", "101_characters"],
)
async def test_sign_7_skills_are_bounded_in_count_and_length(client, session, skills):
    event = await listed_event(session)
    response = await client.post(url(event.id), json=signup_form(skills=skills))
    assert response.status_code == 422
    await nothing_written(session)
    assert await count(session, Skill) == 0


# --------------------------------------------------------------------------------------
# Item 14: signup by the Salesforce id, 15 or 18 characters, as LIST-9 reads one event

SF_ID_18 = "a0B5f000001XyZqEAK"


@pytest.mark.parametrize("ref", [SF_ID_18, SF_ID_18[:15]], ids=["18_characters", "15_characters"])
async def test_list_9_sign_up_by_salesforce_id(client, session, ref):
    event = await listed_event(session, salesforce_id=SF_ID_18)
    assert (await client.get(f"/api/v1/public/events/{ref}")).status_code == 200  # LIST-9 reads it
    response = await client.post(url(ref), json=signup_form())
    assert response.status_code == 201, response.text
    assert response.json()["event_id"] == event.id
    signup = (await session.execute(select(Signup))).scalar_one()
    assert signup.event_id == event.id
    again = await client.post(url(event.id), json=signup_form())  # our id: the same signup (SIGN-5)
    assert again.status_code == 200 and again.json()["signup_id"] == signup.id


@pytest.mark.parametrize(
    "ref",
    ["a0B5f000001XyZqEAA", "a0B5f000001XyZr", "a0B5f000001XyZqEAK1", "a0B5f000001-yZqEAK", "0"],
    ids=["unknown_18", "unknown_15", "19_characters", "bad_character", "zero"],
)
async def test_list_9_sign_up_by_unknown_or_malformed_id_writes_nothing(client, session, ref):
    await listed_event(session, salesforce_id=SF_ID_18)
    response = await client.post(url(ref), json=signup_form())
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    await nothing_written(session)
