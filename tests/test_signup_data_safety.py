"""Issue 11, website signup defects: NUL characters (item 10), SIGN-7 skills (item 8), signup by
Salesforce id (item 14). End to end on the real database, SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from polaris_api.models.events import EventParticipation, Signup
from polaris_api.models.outbox import OutboxMessage
from polaris_api.models.people import Volunteer
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
