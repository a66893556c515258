"""Structured logging, request ids and the per-request middleware (09 OBS-1/2, 07 PRIV-1/6).

Log lines carry the request id of the request that caused them. Nothing here logs a body,
a query string or a header value other than the request id: personal data never reaches logs.
Where a person must be identified, log :func:`person_hash` of the normalized email.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import logging
import sys
import time
import traceback
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polaris_api.schemas.common import normalize_email

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
client_ip_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)

access_log = logging.getLogger("polaris_api.access")

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def person_hash(normalized_email: str) -> str:
    """A short, stable, non-reversible handle for a person in logs (PRIV-1)."""
    return hashlib.sha256(normalize_email(normalized_email).encode()).hexdigest()[:12]


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def exception_without_values(exc_info: Any) -> str:
    """PRIV-1: a logged exception keeps its type and frames but not its message. Database and
    validation errors quote the values that failed (``Key (email)=(…)``, SQL parameters, input
    values), so no exception message ever reaches a log line; chained causes likewise."""
    exc = exc_info[1]
    parts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = "".join(traceback.format_tb(exc.__traceback__))
        parts.append(
            f"Traceback (most recent call last):\n{frames}{type(exc).__module__}.{type(exc).__qualname__} (message withheld)"
        )
        exc = exc.__cause__ or exc.__context__
    return "\n\nwhile handling/caused by:\n".join(reversed(parts))


class JsonFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return exception_without_values(ei)

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(payload, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return exception_without_values(ei)

    def format(self, record: logging.LogRecord) -> str:
        extras = {
            k: v for k, v in vars(record).items() if k not in _RESERVED and k != "request_id" and k[0] != "_"
        }
        line = super().format(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_polaris", False):
            root.removeHandler(existing)
    handler._polaris = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = True  # replaced by our own access line
    # Drivers log SQL parameters (emails, names) at DEBUG: never let them (PRIV-1).
    for driver in PARAMETER_LOGGING_LOGGERS:
        logging.getLogger(driver).setLevel(logging.WARNING)


PARAMETER_LOGGING_LOGGERS = (
    "aiosqlite",
    "asyncpg",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "httpx",
    "httpcore",
)

SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
PUBLIC_PREFIXES = ("/api/v1/public/", "/docs", "/redoc", "/openapi.json", "/demo")


class RequestContextMiddleware:
    """Request id in and out, security headers, one access log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        client = scope.get("client")
        ip_token = client_ip_var.set(client[0] if client else None)
        path: str = scope["path"]
        is_public = path.startswith(PUBLIC_PREFIXES)
        status_holder = {"status": 500}
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if not is_public and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": getattr(route, "path", None) or "unmatched",
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)
            client_ip_var.reset(ip_token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if 0 < len(text) <= 64 and all(c.isalnum() or c in "-_." for c in text):
                return text
    return None
