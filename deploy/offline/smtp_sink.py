"""A test SMTP sink with a Mailpit-shaped read API (offline stand-in; see mailpit.Dockerfile).

``smtp_sink.py``          serve SMTP on :1025 and HTTP on :8025 until stopped
``smtp_sink.py readyz``   exit 0 when the HTTP side answers (the health check)
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from email import message_from_bytes, policy
from email.utils import getaddresses
from typing import Any

from aiosmtpd.controller import Controller

MESSAGES: list[dict[str, Any]] = []


class Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        recipients = getaddresses(message.get_all("To", []))
        MESSAGES.append(
            {
                "ID": str(len(MESSAGES) + 1),
                "Subject": str(message.get("Subject", "")),
                "From": {"Address": envelope.mail_from},
                "To": [{"Name": name, "Address": address} for name, address in recipients],
                "ContentTypes": sorted({part.get_content_type() for part in message.walk()}),
            }
        )
        return "250 Message accepted for delivery"


async def answer_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request_line = (await reader.readline()).decode("latin-1").split()
    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
        pass
    path = request_line[1] if len(request_line) > 1 else "/"
    if path.startswith("/api/v1/messages"):
        status, body = "200 OK", json.dumps({"total": len(MESSAGES), "messages": MESSAGES[::-1]})
    elif path == "/readyz":
        status, body = "200 OK", "ok"
    else:
        status, body = "404 Not Found", "not found"
    payload = body.encode()
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )
    await writer.drain()
    writer.close()


async def serve() -> None:
    controller = Controller(Sink(), hostname="0.0.0.0", port=1025)
    controller.start()
    server = await asyncio.start_server(answer_http, "0.0.0.0", 8025)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1:] == ["readyz"]:
        with urllib.request.urlopen("http://127.0.0.1:8025/readyz", timeout=3) as response:
            sys.exit(0 if response.status == 200 else 1)
    asyncio.run(serve())
