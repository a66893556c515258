"""09 MAIL-1..MAIL-4: the outbox, its backends, retries, staff views and workers."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import logging
from collections import Counter
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select, update

from polaris_api.app import create_app
from polaris_api.db import make_engine, make_sessionmaker, utcnow
from polaris_api.models.audit import AuditEntry
from polaris_api.models.outbox import OutboxAttempt, OutboxMessage
from polaris_api.observability import JsonFormatter, person_hash
from polaris_api.services import outbox
from polaris_api.services.email import OutgoingEmail
from tests.conftest import DATABASE_URL, make_settings
from tests.live_server import free_port
from tests.signup_factories import (
    EMAIL,
    EVENT_TITLE,
    FIRST_NAME,
    NORMALIZED_EMAIL,
    count,
    listed_event,
    signup_form,
    smtp_sink,  # noqa: F401  (fixture)
)

T0 = dt.datetime(2030, 1, 6, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings():
    return make_settings(signup_rate_limit_per_minute=1000, signup_rate_limit_per_day=1000)


async def queue_messages(session, n: int, *, recipient: str = "someone@example.org", now=T0) -> list[int]:
    messages = [
        outbox.enqueue(
            session, kind="test", recipient=recipient, subject=f"Test {i}", body_text="Hello", now=now
        )
        for i in range(n)
    ]
    await session.commit()
    return [message.id for message in messages]


async def signup_and_message(client, session) -> tuple[int, int]:
    event = await listed_event(session)
    response = await client.post(f"/api/v1/public/events/{event.id}/signup", json=signup_form())
    assert response.status_code == 201, response.text
    message = (await session.execute(select(OutboxMessage))).scalar_one()
    return response.json()["signup_id"], message.id


def sessionmaker_for(app):
    return app.state.sessionmaker


# --------------------------------------------------------------------------------------
# MAIL-2 backends


async def test_mail_2_file_backend_writes_eml_with_body_and_invite(client, session, app, tmp_path):
    signup_id, message_id = await signup_and_message(client, session)
    settings = make_settings(email_backend="file", email_file_dir=tmp_path / "mail")
    assert await outbox.deliver_due(sessionmaker_for(app), settings) == 1
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1 and f"message-{message_id}" in files[0].name
    parsed: EmailMessage = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)  # type: ignore[assignment]
    assert parsed["To"] == NORMALIZED_EMAIL
    assert EVENT_TITLE in parsed.get_body(preferencelist=("plain",)).get_content()
    invite = next(part for part in parsed.iter_attachments() if part.get_content_type() == "text/calendar")
    assert invite.get_param("method") == "REQUEST"
    assert f"UID:polaris-signup-{signup_id}@" in invite.get_content()
    stored = (await session.execute(select(OutboxMessage))).scalar_one()
    assert stored.status == "sent"


def test_mail_2_file_backend_refused_in_production():
    from polaris_api.settings import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match="file email backend"):
        Settings(
            env="production",
            jwt_secret="p" * 40,
            email_backend="file",
            database_url="postgresql+asyncpg://x@y/z",
        ).check()


@pytest.mark.committed_db  # the console backend's own engine reads what the test wrote
async def test_mail_2_console_backend_logs_recipient_hash_and_subject_only(session, caplog):
    [message_id] = await queue_messages(session, 1, recipient="Secret.Person@Example.org")
    engine = make_engine(DATABASE_URL)
    caplog.set_level(logging.INFO, logger="polaris_api")
    try:
        sent = await outbox.deliver_due(
            make_sessionmaker(engine), make_settings(email_backend="console"), now=T0
        )
    finally:
        await engine.dispose()
    assert sent == 1
    lines = [JsonFormatter().format(record) for record in caplog.records]
    text = "\n".join(lines)
    assert person_hash("secret.person@example.org") in text
    assert "Test 0" in text
    assert "secret.person" not in text.lower() and "Hello" not in text
    stored = await session.get(OutboxMessage, message_id)
    await session.refresh(stored)
    assert stored.status == "sent"


async def test_mail_2_disabled_backend_suppresses(session, app):
    await queue_messages(session, 2)
    assert (
        await outbox.deliver_due(sessionmaker_for(app), make_settings(email_backend="disabled"), now=T0) == 2
    )
    rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert {(row.status, row.last_error) for row in rows} == {("suppressed", "email backend disabled")}
    attempts = (await session.execute(select(OutboxAttempt))).scalars().all()
    assert {(a.backend, a.outcome) for a in attempts} == {("disabled", "suppressed")}


async def test_mail_2_allowlist_outside_production_suppresses_other_recipients(session, app, smtp_sink):  # noqa: F811
    sink, port = smtp_sink
    await queue_messages(session, 1, recipient="Allowed@Example.org")
    await queue_messages(session, 1, recipient="someone@partner.example")
    await queue_messages(session, 1, recipient="stranger@elsewhere.example")
    settings = make_settings(
        email_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        email_allowlist="allowed@example.org, @partner.example",
    )
    assert await outbox.deliver_due(sessionmaker_for(app), settings, now=T0) == 3
    assert sorted(rcpt for env in sink.envelopes for rcpt in env.rcpt_tos) == [
        "Allowed@Example.org",
        "someone@partner.example",
    ]
    statuses = dict((await session.execute(select(OutboxMessage.recipient, OutboxMessage.status))).all())
    assert statuses["stranger@elsewhere.example"] == "suppressed"
    assert statuses["Allowed@Example.org"] == "sent"


# --------------------------------------------------------------------------------------
# MAIL-3 retries, attempts, staff list and re-queue


async def test_mail_3_smtp_failure_retries_with_backoff_then_failed(client, session, app):
    signup_id, message_id = await signup_and_message(client, session)
    closed_port = free_port()  # nothing listens there
    settings = make_settings(
        email_backend="smtp", smtp_host="127.0.0.1", smtp_port=closed_port, smtp_starttls=False
    )
    maker = sessionmaker_for(app)
    expected_waits = [
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=5),
        dt.timedelta(minutes=30),
        dt.timedelta(hours=2),
        dt.timedelta(hours=12),
    ]
    now = utcnow() + dt.timedelta(seconds=1)
    for attempt, wait in enumerate(expected_waits, start=1):
        assert await outbox.deliver_due(maker, settings, now=now) == 1
        message = (
            await session.execute(select(OutboxMessage).execution_options(populate_existing=True))
        ).scalar_one()
        assert (message.status, message.attempts) == ("queued", attempt)
        assert message.next_attempt_at == now + wait
        assert message.last_error and NORMALIZED_EMAIL not in message.last_error
        # not due a second earlier
        assert await outbox.deliver_due(maker, settings, now=now + wait - dt.timedelta(seconds=1)) == 0
        now = now + wait
    assert await outbox.deliver_due(maker, settings, now=now) == 1
    message = (
        await session.execute(select(OutboxMessage).execution_options(populate_existing=True))
    ).scalar_one()
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 6, None)
    assert await outbox.deliver_due(maker, settings, now=now + dt.timedelta(days=30)) == 0
    attempts = (
        (await session.execute(select(OutboxAttempt).order_by(OutboxAttempt.attempt_no))).scalars().all()
    )
    assert [a.attempt_no for a in attempts] == [1, 2, 3, 4, 5, 6]
    assert {(a.outcome, a.backend) for a in attempts} == {("failed", "smtp")}
    assert all(a.error for a in attempts)
    # a failed email never undoes the signup (SIGN-8)
    from polaris_api.models.events import Signup

    assert await count(session, Signup) == 1


async def test_mail_3_staff_list_by_status_and_requeue(client, session, app, admin, smtp_sink):  # noqa: F811
    signup_id, message_id = await signup_and_message(client, session)
    await session.execute(
        update(OutboxMessage).values(status="failed", attempts=6, next_attempt_at=None, last_error="boom")
    )
    session.add(
        OutboxAttempt(message_id=message_id, attempt_no=1, outcome="failed", backend="smtp", error="boom")
    )
    await session.commit()

    listed = await client.get("/api/v1/outbox", params={"status": "failed"}, headers=admin["headers"])
    assert listed.status_code == 200
    page = listed.json()
    assert page["total"] == 1
    item = page["items"][0]
    assert item["id"] == message_id and item["status"] == "failed" and item["related_signup_id"] == signup_id
    assert "body_text" not in item and "attachments" not in item
    assert [a["attempt_no"] for a in item["attempt_log"]] == [1]
    assert (await client.get("/api/v1/outbox", params={"status": "sent"}, headers=admin["headers"])).json()[
        "total"
    ] == 0
    assert (
        await client.get("/api/v1/outbox", params={"status": "bogus"}, headers=admin["headers"])
    ).status_code == 422

    signups = await client.get("/api/v1/signups", params={"email_status": "failed"}, headers=admin["headers"])
    assert signups.status_code == 200
    assert [(s["id"], s["email_status"], s["email_message_id"]) for s in signups.json()["items"]] == [
        (signup_id, "failed", message_id)
    ]

    requeued = await client.post(f"/api/v1/outbox/{message_id}/requeue", headers=admin["headers"])
    assert requeued.status_code == 200, requeued.text
    assert (requeued.json()["status"], requeued.json()["attempts"]) == ("queued", 0)
    again = await client.post(f"/api/v1/outbox/{message_id}/requeue", headers=admin["headers"])
    assert again.status_code == 200  # already queued: unchanged
    audit_rows = (
        (await session.execute(select(AuditEntry).where(AuditEntry.action == "outbox.requeue")))
        .scalars()
        .all()
    )
    assert len(audit_rows) == 1

    sink, port = smtp_sink
    settings = make_settings(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    assert await outbox.deliver_due(sessionmaker_for(app), settings) == 1
    assert len(sink.envelopes) == 1
    message = (
        await session.execute(select(OutboxMessage).execution_options(populate_existing=True))
    ).scalar_one()
    assert message.status == "sent" and message.requeued_at is not None
    attempts = (
        await session.execute(select(OutboxAttempt.attempt_no).order_by(OutboxAttempt.attempt_no))
    ).scalars()
    assert list(attempts) == [1, 2]  # attempt numbers continue after a re-queue

    sent_again = await client.post(f"/api/v1/outbox/{message_id}/requeue", headers=admin["headers"])
    assert sent_again.status_code == 409 and sent_again.json()["code"] == "not_requeueable"
    missing = await client.post("/api/v1/outbox/999999/requeue", headers=admin["headers"])
    assert missing.status_code == 404


async def test_sign_8_staff_see_each_signups_email_status(client, session, admin):
    await signup_and_message(client, session)
    response = await client.get("/api/v1/signups", headers=admin["headers"])
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item["email_status"] == "queued"
    assert item["email"] == EMAIL.strip() and item["first_name"] == FIRST_NAME
    event_filter = await client.get("/api/v1/signups", params={"event_id": 999}, headers=admin["headers"])
    assert event_filter.json()["total"] == 0
    by_status = await client.get("/api/v1/signups", params={"email_status": "sent"}, headers=admin["headers"])
    assert by_status.json()["total"] == 0


# --------------------------------------------------------------------------------------
# MAIL-4 workers


class RecordingBackend:
    """Counts sends per message; slow enough that two workers overlap."""

    name = "console"

    def __init__(self) -> None:
        self.sent: Counter[int] = Counter()

    async def send(self, email: OutgoingEmail, mime: EmailMessage) -> None:
        await asyncio.sleep(0.005)
        self.sent[email.message_id] += 1


@pytest.mark.committed_db  # workers on three engines
async def test_mail_4_two_workers_never_send_the_same_message_twice(session):
    ids = await queue_messages(session, 30)
    backend = RecordingBackend()
    engines = [make_engine(DATABASE_URL) for _ in range(3)]
    settings = make_settings(email_backend="console")
    try:
        totals = await asyncio.gather(
            *(
                outbox.deliver_due(make_sessionmaker(engine), settings, now=T0, limit=7, backend=backend)
                for engine in engines
                for _ in range(2)
            )
        )
        # and the rest, by whoever gets there
        while sum(totals) < len(ids):
            more = await asyncio.gather(
                *(
                    outbox.deliver_due(make_sessionmaker(e), settings, now=T0, limit=7, backend=backend)
                    for e in engines
                )
            )
            assert sum(more) > 0
            totals.extend(more)
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(totals) == len(ids)
    assert sorted(backend.sent) == sorted(ids)
    assert set(backend.sent.values()) == {1}
    assert await count(session, OutboxAttempt) == len(ids)
    statuses = set((await session.execute(select(OutboxMessage.status))).scalars())
    assert statuses == {"sent"}


async def test_mail_4_claim_is_compare_and_set(session, app):
    [message_id] = await queue_messages(session, 1)
    maker = sessionmaker_for(app)
    first = await outbox.claim_due(maker, "worker-a", T0, 10)
    second = await outbox.claim_due(maker, "worker-b", T0, 10)
    assert (first, second) == ([message_id], [])
    # the outcome is stored only by the worker holding the claim
    assert (
        await outbox.record_outcome(
            maker,
            message_id,
            worker="worker-b",
            outcome="sent",
            backend="console",
            error=None,
            started_at=T0,
            now=T0,
        )
        is None
    )
    assert (
        await outbox.record_outcome(
            maker,
            message_id,
            worker="worker-a",
            outcome="sent",
            backend="console",
            error=None,
            started_at=T0,
            now=T0,
        )
        == "sent"
    )


async def test_mail_4_stale_claim_of_a_dead_worker_is_released(session, app):
    [message_id] = await queue_messages(session, 1)
    maker = sessionmaker_for(app)
    assert await outbox.claim_due(maker, "dead-worker", T0, 10) == [message_id]
    backend = RecordingBackend()
    settings = make_settings(email_backend="console")
    assert await outbox.deliver_due(maker, settings, now=T0 + dt.timedelta(minutes=5), backend=backend) == 0
    later = T0 + outbox.CLAIM_TIMEOUT + dt.timedelta(minutes=1)
    assert await outbox.deliver_due(maker, settings, now=later, backend=backend) == 1
    assert backend.sent == Counter({message_id: 1})


@pytest.mark.committed_db  # the worker runs beside the request, on its own connection
async def test_mail_4_in_process_worker_delivers_in_the_background(db, session, tmp_path):
    settings = make_settings(
        email_backend="file", email_file_dir=tmp_path, outbox_worker_enabled=True, outbox_poll_seconds=0.05
    )
    application = create_app(settings)
    event = await listed_event(session)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://t"
        ) as client:
            response = await client.post(f"/api/v1/public/events/{event.id}/signup", json=signup_form())
            assert response.status_code == 201
        for _ in range(200):
            if list(tmp_path.glob("*.eml")):
                break
            await asyncio.sleep(0.02)
    await application.state.engine.dispose()
    assert len(list(tmp_path.glob("*.eml"))) == 1


@pytest.mark.committed_db  # the CLI opens its own engine
async def test_mail_4_cli_outbox_work_once(session, monkeypatch):
    from typer.testing import CliRunner

    from polaris_api.cli import app as cli

    await queue_messages(session, 2, now=utcnow())
    monkeypatch.setenv("POLARIS_DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("POLARIS_EMAIL_BACKEND", "disabled")
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 message(s) attempted" in result.output
    assert set((await session.execute(select(OutboxMessage.status))).scalars()) == {"suppressed"}
