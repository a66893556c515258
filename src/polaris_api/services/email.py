"""Email delivery backends (09 MAIL-2) used by the outbox worker.

* ``console``: logs that a message was sent with the recipient hashed and the subject; never
  the body (PRIV-1).
* ``file``: writes each message as an ``.eml`` file (body and attachments) into
  ``POLARIS_EMAIL_FILE_DIR``; development and tests only (settings refuse it in production).
* ``smtp``: ``aiosmtplib`` with host, port, STARTTLS or implicit TLS, login, from address.
* ``disabled``: sends nothing; the worker marks messages ``suppressed`` (see ``outbox``).

Allow-list (non-production only): when ``POLARIS_EMAIL_ALLOWLIST`` is set, the ``smtp`` backend
delivers only to those recipients; other messages are marked ``suppressed`` and never retried.
An entry is a full address or ``@domain``. Console and file backends deliver nothing real, so
the allow-list does not apply to them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib

from polaris_api.db import utcnow
from polaris_api.observability import person_hash
from polaris_api.schemas.common import normalize_email
from polaris_api.settings import Settings

log = logging.getLogger("polaris_api.email")

_EMAIL_LIKE = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST; charset=utf-8"
    content: bytes

    def as_json(self) -> dict[str, str]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "content_b64": base64.b64encode(self.content).decode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attachment:
        return cls(
            filename=str(data["filename"]),
            content_type=str(data["content_type"]),
            content=base64.b64decode(data["content_b64"]),
        )


@dataclass(frozen=True)
class OutgoingEmail:
    """What a backend sends: one message to one recipient."""

    message_id: int
    recipient: str
    subject: str
    body_text: str
    body_html: str | None = None
    attachments: Sequence[Attachment] = field(default_factory=tuple)


class DeliveryError(Exception):
    """A send failed; the message is retried on the MAIL-3 schedule."""


class EmailBackend(Protocol):
    name: str

    async def send(self, email: OutgoingEmail, mime: EmailMessage) -> None: ...


def build_mime(email: OutgoingEmail, sender: str) -> EmailMessage:
    """The MIME message: text (and HTML) body, then each attachment with its full content type."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Date"] = format_datetime(utcnow())
    domain = sender.rpartition("@")[2] or "polaris.local"
    message["Message-ID"] = make_msgid(idstring=f"outbox{email.message_id}", domain=domain)
    message.set_content(email.body_text)
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    for attachment in email.attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, *param_parts = (part.strip() for part in rest.split(";"))
        params = {}
        for part in param_parts:
            key, _, value = part.partition("=")
            if key and key.lower() != "charset":
                params[key.strip()] = value.strip().strip('"')
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
            params=params,
        )
    return message


def safe_error(error: BaseException | str, recipient: str | None = None) -> str:
    """An error text fit to store and show: no email addresses (PRIV-1), bounded length."""
    text = str(error) if not isinstance(error, str) else error
    if not isinstance(error, str):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    if recipient:
        text = text.replace(recipient, "<recipient>")
    text = _EMAIL_LIKE.sub("<address>", text)
    return text[:MAX_ERROR_LENGTH]


class ConsoleBackend:
    name = "console"

    async def send(self, email: OutgoingEmail, mime: EmailMessage) -> None:
        log.info(
            "email sent (console backend)",
            extra={
                "outbox_message_id": email.message_id,
                "recipient_hash": person_hash(normalize_email(email.recipient)),
                "subject": email.subject,
                "attachments": len(email.attachments),
            },
        )


class FileBackend:
    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, email: OutgoingEmail) -> Path:
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        return self.directory / f"{stamp}-message-{email.message_id}.eml"

    async def send(self, email: OutgoingEmail, mime: EmailMessage) -> None:
        path = self.path_for(email)

        def write() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".eml.tmp")
            temporary.write_bytes(mime.as_bytes())
            temporary.replace(path)

        try:
            await asyncio.to_thread(write)
        except OSError as error:
            raise DeliveryError(safe_error(error)) from None
        log.info(
            "email written (file backend)",
            extra={"outbox_message_id": email.message_id, "file": path.name},
        )


class SmtpBackend:
    name = "smtp"

    def __init__(self, settings: Settings, timeout: float = 30) -> None:
        self.settings = settings
        self.timeout = timeout

    async def send(self, email: OutgoingEmail, mime: EmailMessage) -> None:
        settings = self.settings
        if not settings.smtp_host:
            raise DeliveryError("POLARIS_SMTP_HOST is not configured")
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            await aiosmtplib.send(
                mime,
                sender=settings.email_from,
                recipients=[email.recipient],
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=password if settings.smtp_username else None,
                use_tls=settings.smtp_tls,
                start_tls=False if settings.smtp_tls else settings.smtp_starttls,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryError(safe_error(error, email.recipient)) from None
        log.info(
            "email sent (smtp backend)",
            extra={
                "outbox_message_id": email.message_id,
                "recipient_hash": person_hash(normalize_email(email.recipient)),
            },
        )


def make_backend(settings: Settings) -> EmailBackend | None:
    """The configured backend; ``None`` for ``disabled``."""
    if settings.email_backend == "console":
        return ConsoleBackend()
    if settings.email_backend == "file":
        return FileBackend(settings.email_file_dir)
    if settings.email_backend == "smtp":
        return SmtpBackend(settings)
    return None


def recipient_allowed(settings: Settings, recipient: str) -> bool:
    """MAIL-2 allow-list: outside production, with a list set, only listed addresses or
    ``@domain`` entries get real mail. Production ignores the list."""
    if settings.is_production or not settings.email_allowlist:
        return True
    address = normalize_email(recipient)
    domain = "@" + address.rpartition("@")[2]
    allowed = {normalize_email(entry) for entry in settings.email_allowlist}
    return address in allowed or domain in allowed


def applies_allowlist(backend: EmailBackend) -> bool:
    """Only backends that deliver real mail are restricted by the allow-list."""
    return backend.name == "smtp"
