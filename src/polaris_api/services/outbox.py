"""The email outbox (09 MAIL-1..MAIL-4).

* MAIL-1 :func:`enqueue` adds a message to the caller's session: it commits (or not) with the
  action that causes it.
* MAIL-3 a failed send is retried after 1 min, 5 min, 30 min, 2 h and 12 h; the sixth failed
  attempt marks the message ``failed``. Every attempt is an ``outbox_attempt`` row. Staff list
  messages by status and re-queue a failed (or suppressed, or cancelled) one, which starts a
  new schedule (``attempts`` counts the attempts of the current schedule; attempt numbers
  continue).
* MAIL-4 :func:`deliver_due` is one pass of the worker; :func:`run_worker` polls. With several
  workers a message is sent once: a worker claims due rows with one atomic statement
  (``UPDATE ... WHERE status = 'queued' AND claimed_by IS NULL AND id IN (SELECT ... FOR UPDATE
  SKIP LOCKED) RETURNING id`` on PostgreSQL; the same compare-and-set, serialized by SQLite's
  single writer, on SQLite), sends outside any transaction, then records the outcome only if
  it still holds the claim. A claim older than :data:`CLAIM_TIMEOUT` (a worker that died
  mid-send) goes back to ``queued`` without counting as an attempt.

Message statuses: ``queued``, ``sending`` (claimed), ``sent``, ``failed`` (schedule exhausted),
``suppressed`` (never sent on purpose: the ``disabled`` backend, or a recipient outside the
non-production allow-list; not retried), ``cancelled``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Select, and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import NamedProblem, not_found
from polaris_api.models.outbox import OutboxAttempt, OutboxMessage
from polaris_api.services import audit
from polaris_api.services.email import (
    Attachment,
    DeliveryError,
    EmailBackend,
    OutgoingEmail,
    applies_allowlist,
    build_mime,
    make_backend,
    recipient_allowed,
    safe_error,
)
from polaris_api.settings import Settings

log = logging.getLogger("polaris_api.outbox")

BACKOFF: tuple[dt.timedelta, ...] = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1  # the first attempt and five retries
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
STOP_TIMEOUT_SECONDS = 35.0
STATUSES = ("queued", "sending", "sent", "failed", "suppressed", "cancelled")
REQUEUEABLE = frozenset({"failed", "suppressed", "cancelled"})


# --------------------------------------------------------------------------------------
# Transactions


class NotRequeueable(NamedProblem):
    """MAIL-3: only failed, suppressed or cancelled messages go back to the queue."""

    status, code = 409, "not_requeueable"


async def begin_write(session: AsyncSession) -> None:
    """Start the session's transaction as a write transaction.

    On SQLite this is ``BEGIN IMMEDIATE``: the database write lock is taken at once (waiting for
    the busy timeout), so a read-check-write sequence cannot interleave with another process's.
    Call it first, on a session that has not run anything yet. On PostgreSQL it does nothing;
    callers lock rows with ``FOR UPDATE``.
    """
    if session.get_bind().dialect.name == "sqlite":
        connection = await session.connection()
        if connection.in_nested_transaction():
            return  # a savepoint of an enclosing transaction (the tests' rolled-back one): begun already
        await session.execute(text("BEGIN IMMEDIATE"))


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --------------------------------------------------------------------------------------
# Sealed bodies (04 ML-4): a body carrying a secret is stored encrypted and blanked once sent

_BODY_KEY_INFO = b"polaris outbox body v1"


def _body_cipher(secret: str) -> Fernet:
    """Fernet with a key derived (HKDF-SHA256) from ``POLARIS_JWT_SECRET``."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_BODY_KEY_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal_body(secret: str, text_value: str) -> str:
    return _body_cipher(secret).encrypt(text_value.encode()).decode()


def open_body(secret: str, sealed: str) -> str:
    return _body_cipher(secret).decrypt(sealed.encode()).decode()


# --------------------------------------------------------------------------------------
# MAIL-1: enqueue


def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    attachments: Sequence[Attachment] = (),
    related_signup_id: int | None = None,
    related_magic_link_id: int | None = None,
    seal_with: str | None = None,
    now: dt.datetime | None = None,
) -> OutboxMessage:
    """Add a message to ``session``; it is sent only if the caller's transaction commits.

    ``seal_with`` (the JWT secret): store the bodies encrypted (04 ML-4); they are blanked once sent.
    """
    if seal_with is not None:
        body_text = seal_body(seal_with, body_text)
        body_html = seal_body(seal_with, body_html) if body_html is not None else None
    message = OutboxMessage(
        kind=kind,
        recipient=recipient,
        subject=" ".join(subject.split())[:255],  # one line: no header injection
        body_text=body_text,
        body_html=body_html,
        body_encrypted=seal_with is not None,
        related_magic_link_id=related_magic_link_id,
        attachments=[attachment.as_json() for attachment in attachments],
        status="queued",
        attempts=0,
        next_attempt_at=now or utcnow(),
        related_signup_id=related_signup_id,
    )
    session.add(message)
    return message


# --------------------------------------------------------------------------------------
# MAIL-3 / MAIL-4: the worker


def retry_delay(failed_attempts: int) -> dt.timedelta | None:
    """Wait before the next attempt after ``failed_attempts`` failures; None: give up."""
    if 1 <= failed_attempts <= len(BACKOFF):
        return BACKOFF[failed_attempts - 1]
    return None


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def release_stale_claims(session_factory: async_sessionmaker[AsyncSession], now: dt.datetime) -> int:
    """Claims older than :data:`CLAIM_TIMEOUT` belong to a worker that died: queue them again."""
    stale = and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - CLAIM_TIMEOUT)
    async with session_factory() as session:
        # a plain read first: no write lock taken on an idle poll
        if (await session.execute(select(OutboxMessage.id).where(stale).limit(1))).first() is None:
            return 0
        await session.rollback()
        result = await session.execute(
            update(OutboxMessage)
            .where(stale)
            .values(
                status="queued",
                claimed_by=None,
                claimed_at=None,
                next_attempt_at=now,
                last_error="delivery interrupted: the worker stopped while sending",
            )
            .execution_options(synchronize_session=False)
        )
        await session.commit()  # outbox worker job (MAIL-4): its own transaction per step
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def claim_due(
    session_factory: async_sessionmaker[AsyncSession], worker: str, now: dt.datetime, limit: int
) -> list[int]:
    """Claim up to ``limit`` due messages for ``worker`` in one atomic statement (MAIL-4)."""
    is_due = and_(
        OutboxMessage.status == "queued",
        OutboxMessage.claimed_by.is_(None),
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )
    async with session_factory() as session:
        # a plain read first: an idle poll takes no write lock (SQLite) and no row locks
        if (await session.execute(select(OutboxMessage.id).where(is_due).limit(1))).first() is None:
            return []
        await session.rollback()
        due = (
            select(OutboxMessage.id)
            .where(is_due)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if is_postgres(session):
            due = due.with_for_update(skip_locked=True)
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(due.scalar_subquery()),
                OutboxMessage.status == "queued",
                OutboxMessage.claimed_by.is_(None),
            )
            .values(status="sending", claimed_by=worker, claimed_at=now)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        claimed = sorted(result.scalars().all())
        await session.commit()  # outbox worker job: the claim is seen by other workers before sending
        return claimed


async def _load_outgoing(
    session_factory: async_sessionmaker[AsyncSession], message_id: int, secret: str | None = None
) -> OutgoingEmail | None:
    async with session_factory() as session:
        message = await session.get(OutboxMessage, message_id)
        if message is None:
            return None
        body_text, body_html = message.body_text or "", message.body_html
        if message.body_encrypted and message.body_purged_at is None:
            if secret is None:
                raise InvalidToken
            body_text = open_body(secret, body_text) if body_text else ""
            body_html = open_body(secret, body_html) if body_html else None
        return OutgoingEmail(
            message_id=message.id,
            recipient=message.recipient,
            subject=message.subject,
            body_text=body_text,
            body_html=body_html,
            attachments=tuple(Attachment.from_json(item) for item in message.attachments or ()),
        )


async def record_outcome(
    session_factory: async_sessionmaker[AsyncSession],
    message_id: int,
    *,
    worker: str,
    outcome: str,
    backend: str,
    error: str | None,
    started_at: dt.datetime,
    now: dt.datetime,
) -> str | None:
    """Store one attempt and the message's next state; only while ``worker`` holds the claim.

    ``outcome`` is ``sent``, ``failed`` or ``suppressed``. Returns the new status (None when
    the claim was lost).
    """
    async with session_factory() as session:
        await begin_write(session)
        statement = select(OutboxMessage).where(
            OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker
        )
        if is_postgres(session):
            statement = statement.with_for_update()
        message = (await session.execute(statement)).scalar_one_or_none()
        if message is None:
            await session.rollback()
            log.warning(
                "outbox claim lost before the outcome was stored", extra={"outbox_message_id": message_id}
            )
            return None
        last_no = (
            await session.execute(
                select(func.max(OutboxAttempt.attempt_no)).where(OutboxAttempt.message_id == message_id)
            )
        ).scalar_one()
        session.add(
            OutboxAttempt(
                message_id=message_id,
                attempt_no=(last_no or 0) + 1,
                started_at=started_at,
                finished_at=now,
                backend=backend,
                worker=worker,
                outcome=outcome,
                error=error,
            )
        )
        message.attempts = (message.attempts or 0) + 1
        message.claimed_by = None
        message.claimed_at = None
        if outcome == "sent":
            message.status = "sent"
            message.sent_at = now
            message.next_attempt_at = None
            message.last_error = None
            if message.body_encrypted:  # 04 ML-4: the sealed secret is not kept after sending
                message.body_text = None
                message.body_html = None
                message.body_purged_at = now
        elif outcome == "suppressed":
            message.status = "suppressed"
            message.next_attempt_at = None
            message.last_error = error
        else:
            delay = retry_delay(message.attempts)
            message.last_error = error
            if delay is None:
                message.status = "failed"
                message.next_attempt_at = None
            else:
                message.status = "queued"
                message.next_attempt_at = now + delay
        status = message.status
        await session.commit()  # outbox worker job: each message's outcome is kept on its own
        return status


async def deliver_one(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    message_id: int,
    *,
    worker: str,
    backend: EmailBackend | None,
    now: dt.datetime | None = None,
) -> str | None:
    """Send one claimed message and store the outcome. A failure never raises."""
    started_at = now or utcnow()
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret is not None else None
    try:
        outgoing = await _load_outgoing(session_factory, message_id, secret)
    except InvalidToken:  # sealed with another secret: it can never be sent; keep it for staff
        await record_outcome(
            session_factory,
            message_id,
            worker=worker,
            outcome="failed",
            backend=backend.name if backend is not None else "disabled",
            error="sealed body cannot be decrypted (POLARIS_JWT_SECRET changed)",
            started_at=started_at,
            now=now or utcnow(),
        )
        return None
    if outgoing is None:
        return None
    backend_name = backend.name if backend is not None else "disabled"
    error: str | None = None
    if backend is None:
        outcome, error = "suppressed", "email backend disabled"
    elif applies_allowlist(backend) and not recipient_allowed(settings, outgoing.recipient):
        outcome, error = "suppressed", "recipient not in POLARIS_EMAIL_ALLOWLIST"
    else:
        try:
            await backend.send(outgoing, build_mime(outgoing, settings.email_from))
            outcome = "sent"
        except DeliveryError as failure:
            outcome, error = "failed", safe_error(str(failure), outgoing.recipient)
        except Exception as failure:  # a backend bug must not stop the worker
            outcome, error = "failed", safe_error(failure, outgoing.recipient)
    status = await record_outcome(
        session_factory,
        message_id,
        worker=worker,
        outcome=outcome,
        backend=backend_name,
        error=error,
        started_at=started_at,
        now=now or utcnow(),
    )
    log.info(
        "outbox delivery attempt",
        extra={
            "outbox_message_id": message_id,
            "outcome": outcome,
            "status": status,
            "backend": backend_name,
        },
    )
    return status


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    limit: int = 50,
    worker: str | None = None,
    backend: EmailBackend | None = None,
) -> int:
    """One worker pass: claim the messages due at ``now`` and attempt each once.

    Returns how many messages were attempted. ``now`` (default: the clock) decides what is due
    and schedules retries from it, so tests can walk the MAIL-3 schedule.
    """
    worker = worker or new_worker_id()
    moment = now or utcnow()
    if backend is None:
        backend = make_backend(settings)
    await release_stale_claims(sessionmaker, moment)
    claimed = await claim_due(sessionmaker, worker, moment, limit)
    for message_id in claimed:
        await deliver_one(sessionmaker, settings, message_id, worker=worker, backend=backend, now=now)
    return len(claimed)


async def run_worker(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    once: bool = False,
    limit: int = 50,
) -> int:
    """Poll the outbox every ``POLARIS_OUTBOX_POLL_SECONDS`` until ``stop`` is set (MAIL-4).

    Returns the number of messages attempted.
    """
    stop = stop or asyncio.Event()
    worker = new_worker_id()
    backend = make_backend(settings)
    total = 0
    log.info("outbox worker started", extra={"worker": worker, "backend": settings.email_backend})
    while not stop.is_set():
        try:
            attempted = await deliver_due(sessionmaker, settings, limit=limit, worker=worker, backend=backend)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # keep polling; never log the message (it may hold values)
            log.error("outbox worker pass failed", extra={"error_type": type(error).__name__})
            attempted = 0
        total += attempted
        if once:
            break
        if attempted >= limit:
            continue  # more may be due right now
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.outbox_poll_seconds)
    log.info("outbox worker stopped", extra={"worker": worker})
    return total


class BackgroundWorker:
    """The in-process worker of the API (MAIL-4): started and stopped by the app's lifespan."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task[int] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(
            run_worker(self.sessionmaker, self.settings, stop=self.stop_event), name="polaris-outbox-worker"
        )

    async def stop(self) -> None:
        """Let the current pass finish (an SMTP send times out after 30 s), then return."""
        self.stop_event.set()
        if self.task is None:
            return
        try:
            await asyncio.wait_for(self.task, timeout=STOP_TIMEOUT_SECONDS)
        except (TimeoutError, asyncio.CancelledError):
            self.task.cancel()
        except Exception:  # already logged by the worker
            pass


# --------------------------------------------------------------------------------------
# Staff: list and re-queue (MAIL-3)


def list_statement(status: str | None = None, kind: str | None = None) -> Select[Any]:
    statement = select(OutboxMessage).options(selectinload(OutboxMessage.attempt_log))
    if status:
        statement = statement.where(OutboxMessage.status == status)
    if kind:
        statement = statement.where(OutboxMessage.kind == kind)
    return statement.order_by(OutboxMessage.id.desc())


async def requeue(
    session: AsyncSession, message_id: int, actor: Principal, *, now: dt.datetime | None = None
) -> OutboxMessage:
    """Queue a failed, suppressed or cancelled message again, due now, with a new schedule.

    A message already queued is returned unchanged (idempotent); one being sent or already sent
    is a 409 ``not_requeueable``. Audited.
    """
    now = now or utcnow()
    current = (
        await session.execute(select(OutboxMessage.status).where(OutboxMessage.id == message_id))
    ).scalar_one_or_none()
    if current is None:
        raise not_found("outbox message")
    if current in REQUEUEABLE:
        # compare-and-set on the status read above: a concurrent change makes this a no-op
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == current)
            .values(
                status="queued",
                attempts=0,
                next_attempt_at=now,
                claimed_by=None,
                claimed_at=None,
                requeued_by_id=actor.user_id,
                requeued_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            await audit.record(
                session,
                "outbox.requeue",
                actor=actor,
                entity_type="outbox_message",
                entity_id=message_id,
                changes={"status": (current, "queued")},
            )
        await session.flush()
    message = (
        await session.execute(
            list_statement().where(OutboxMessage.id == message_id).execution_options(populate_existing=True)
        )
    ).scalar_one()
    if message.status != "queued":
        raise NotRequeueable(
            f"Only failed, suppressed or cancelled messages can be re-queued; this one is {message.status}.",
            message_status=message.status,
        )
    return message
