"""Email outbox (09 MAIL-*): messages written in the caller's transaction, delivered by a worker.

A worker claims a due message with a lock (``claimed_by`` / ``claimed_at``; ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), so with several processes each message is sent once (MAIL-4). Every
attempt is kept in ``outbox_attempt`` (MAIL-3).

Bodies that carry a secret (magic links, 04 ML-4: the raw token is never stored in clear) are
stored encrypted (``body_encrypted``) and blanked once sent (``body_purged_at``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polaris_api.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow

__all__ = ["OutboxAttempt", "OutboxMessage"]


class OutboxMessage(IdMixin, TimestampMixin, Base):
    __tablename__ = "outbox_message"

    kind: Mapped[str] = mapped_column(String(40), index=True)  # signup_confirmation | magic_link | ...
    recipient: Mapped[str] = mapped_column(String(255))  # never logged in clear (PRIV-1)
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    body_encrypted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    body_purged_at: Mapped[dt.datetime | None]
    # [{filename, content_type (e.g. "text/calendar; method=REQUEST"), content_b64}]
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    # queued | sending | sent | failed (gave up after the MAIL-3 schedule) | cancelled
    status: Mapped[str] = mapped_column(String(40), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(255))  # worker id (host:pid:task)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    related_signup_id: Mapped[int | None] = mapped_column(
        ForeignKey("signup.id", ondelete="SET NULL"), index=True
    )
    related_magic_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("magic_link.id", ondelete="SET NULL"), index=True
    )
    requeued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    requeued_at: Mapped[dt.datetime | None]

    attempt_log: Mapped[list[OutboxAttempt]] = relationship(
        back_populates="message", passive_deletes=True, order_by="OutboxAttempt.attempt_no"
    )

    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)


class OutboxAttempt(IdMixin, Base):
    """One delivery attempt of an outbox message, kept for staff (MAIL-3)."""

    __tablename__ = "outbox_attempt"

    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id", ondelete="CASCADE"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer)  # 1-based
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    backend: Mapped[str | None] = mapped_column(String(40))  # console | file | smtp | disabled
    worker: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(40))  # sent | failed
    error: Mapped[str | None] = mapped_column(Text)  # no personal values

    message: Mapped[OutboxMessage] = relationship(back_populates="attempt_log")

    __table_args__ = (
        UniqueConstraint("message_id", "attempt_no", name="uq_outbox_attempt_message_id_attempt_no"),
    )
