"""Capability matrix rows for the staff views of signups and the email outbox (07 CAP, 03 SIGN-8,
09 MAIL-3): global staff users only — no district users, API keys or teachers.

The public signup endpoint itself is under ``/api/v1/public`` (anonymous by design) and is tested
in ``test_signup``.
"""

from __future__ import annotations

from typing import Any

from polaris_api.models.outbox import OutboxMessage
from tests.capability_matrix import Case, only

GLOBAL_STAFF = only("admin", "manager", "user")


async def _failed_message(ctx: dict[str, Any], session: Any) -> None:
    message = OutboxMessage(
        kind="signup_confirmation",
        recipient="someone@example.org",
        subject="Volunteer signup confirmed: Career Fair",
        body_text="Hello",
        status="failed",
        attempts=6,
        next_attempt_at=None,
        last_error="connection refused",
    )
    session.add(message)
    await session.commit()
    ctx["failed_message"] = message.id


CASES: list[Case] = [
    Case("GET", "/api/v1/signups", 200, GLOBAL_STAFF),
    Case("GET", "/api/v1/outbox", 200, GLOBAL_STAFF),
    # the first allowed role re-queues it; the next ones find it queued (idempotent 200)
    Case(
        "POST",
        "/api/v1/outbox/{message_id}/requeue",
        200,
        GLOBAL_STAFF,
        url=lambda ctx: f"/api/v1/outbox/{ctx['failed_message']}/requeue",
        setup=_failed_message,
    ),
]
