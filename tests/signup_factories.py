"""Helpers shared by the signup and outbox tests: a listed event, a valid form, an SMTP sink.

Events come from ``tests.factories`` (the listing tests' factories); this module adds the
signup-specific bits.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.events import Event
from tests.factories import make_event
from tests.live_server import free_port

EVENT_TITLE = "Career Fair - Wyandotte High School"
EVENT_LOCATION = "2501 Minnesota Ave, Kansas City, KS"
FIRST_NAME = "Wilhelmina"
LAST_NAME = "Testperson"
EMAIL = " Wilhelmina.Testperson@Example.org "
NORMALIZED_EMAIL = "wilhelmina.testperson@example.org"


def signup_form(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": FIRST_NAME,
        "last_name": LAST_NAME,
        "email": EMAIL,
        "organization": "Acme Engineering",
        "title": "Civil Engineer",
        "skills": ["Engineering", "Public Speaking"],
        "gender": "female",
        "age_group": "age_35_44",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


async def listed_event(session: AsyncSession, *, slots: int = 5, **fields: Any) -> Event:
    """A publishing event on the main page, 9:00 local ten days from now, committed."""
    values: dict[str, Any] = {
        "title": EVENT_TITLE,
        "available_slots": slots,
        "days_ahead": 10,
        "start_time": dt.time(9, 0),
        "duration": 120,
        "location": EVENT_LOCATION,
    }
    values.update(fields)
    event = await make_event(session, **values)
    await session.commit()
    return event


async def count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


class SmtpSink:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)  # type: ignore[misc]
            for envelope in self.envelopes
        ]


@pytest.fixture
def smtp_sink() -> Iterator[tuple[SmtpSink, int]]:
    """An SMTP server on a free loopback port (no TLS)."""
    handler = SmtpSink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
