"""Running the Salesforce test double: in-process for tests, or in the foreground for the CLI.

In-process (a background thread with its own event loop)::

    with FakeSalesforce(fixtures=path_or_mapping, page_size=3) as sf:
        sf.instance_url   # https://127.0.0.1:PORT
        sf.token          # the Bearer token it accepts
        sf.ca_path        # PEM of its throwaway CA (salesforce_ca_bundle)
        sf.admin.upsert("Contact", [{"LastName": "Doe"}])

CLI (``polaris dev fake-salesforce``) calls :func:`serve_forever`.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from polaris_api.testing.fake_salesforce.server import FakeState, create_app, load_fixtures
from polaris_api.testing.fake_salesforce.tls import TlsFiles, make_tls

__all__ = ["FakeSalesforce", "FakeSalesforceAdmin", "serve_forever", "DEFAULT_API_VERSION"]

DEFAULT_API_VERSION = "59.0"


class FakeSalesforceAdmin:
    """A thin httpx client for the control API (SF-77, SF-78); every call raises on HTTP errors."""

    def __init__(self, base_url: str, ca_path: Path) -> None:
        context = ssl.create_default_context(cafile=str(ca_path))
        self.http = httpx.Client(base_url=base_url, verify=context, timeout=10)

    def close(self) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response) -> httpx.Response:
        response.raise_for_status()
        return response

    # objects
    def replace(self, obj: str, records: list[dict[str, Any]], *, keep_modstamps: bool = False) -> list[dict]:
        params = {"keep_modstamps": "true"} if keep_modstamps else None
        return self._ok(self.http.put(f"/__admin/objects/{obj}", json=records, params=params)).json()[
            "records"
        ]

    def upsert(self, obj: str, records: list[dict[str, Any]], *, keep_modstamps: bool = False) -> list[dict]:
        params = {"keep_modstamps": "true"} if keep_modstamps else None
        return self._ok(self.http.post(f"/__admin/objects/{obj}", json=records, params=params)).json()[
            "records"
        ]

    def delete(self, obj: str, record_id: str) -> dict[str, Any]:
        return self._ok(self.http.delete(f"/__admin/objects/{obj}/{record_id}")).json()

    def records(self, obj: str) -> list[dict[str, Any]]:
        return self._ok(self.http.get(f"/__admin/objects/{obj}")).json()["records"]

    # clock, paging
    def set_clock(self, *, today: str | None = None, now: str | None = None) -> dict[str, Any]:
        return self._ok(self.http.post("/__admin/clock", json={"today": today, "now": now})).json()

    def set_page_size(self, page_size: int) -> None:
        self._ok(self.http.post("/__admin/page-size", json={"page_size": page_size}))

    # request log
    def requests(self) -> list[dict[str, Any]]:
        return self._ok(self.http.get("/__admin/requests")).json()

    def clear_requests(self) -> None:
        self._ok(self.http.delete("/__admin/requests"))

    # faults
    def add_fault(self, kind: str, *, endpoint: str = "any", times: int | None = 1, **extra: Any) -> dict:
        body = {"kind": kind, "endpoint": endpoint, "times": times, **extra}
        return self._ok(self.http.post("/__admin/faults", json=body)).json()

    def clear_faults(self) -> None:
        self._ok(self.http.delete("/__admin/faults"))

    def reset(self) -> None:
        """Back to the fixtures: objects, page size, clock, faults, request log, cursors."""
        self._ok(self.http.post("/__admin/reset"))


class FakeSalesforce:
    """The double on a free port of 127.0.0.1, served over HTTPS from a background thread."""

    def __init__(
        self,
        fixtures: Path | str | Mapping[str, Any] | None = None,
        *,
        page_size: int = 2000,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ca_out: Path | None = None,
        api_version: str = DEFAULT_API_VERSION,
    ) -> None:
        kwargs: dict[str, Any] = {"fixtures": load_fixtures(fixtures), "default_page_size": page_size}
        if token:
            kwargs["token"] = token
        self.state = FakeState(**kwargs)
        self.host = host
        self.port = port
        self.api_version = api_version
        self._ca_out = ca_out
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._tls: TlsFiles | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._admin: FakeSalesforceAdmin | None = None

    # -- public attributes --------------------------------------------------------------------
    @property
    def token(self) -> str:
        return self.state.token

    @property
    def instance_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_path(self) -> Path:
        if self._tls is None:
            raise RuntimeError("FakeSalesforce is not started")
        return self._tls.ca_path

    @property
    def admin(self) -> FakeSalesforceAdmin:
        if self._admin is None:
            self._admin = FakeSalesforceAdmin(self.instance_url, self.ca_path)
        return self._admin

    # -- lifecycle ----------------------------------------------------------------------------
    def _prepare(self) -> tuple[uvicorn.Server, socket.socket]:
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-salesforce-")
        self._tls = make_tls(Path(self._tmp.name), ca_out=self._ca_out)
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
        # says TCP, and without it every response waits ~40 ms for a delayed ACK.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.state),
            ssl_certfile=str(self._tls.cert_path),
            ssl_keyfile=str(self._tls.key_path),
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        return uvicorn.Server(config), sock

    def start(self) -> FakeSalesforce:
        server, sock = self._prepare()
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-salesforce", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake Salesforce did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._server is not None:
            # force_exit: do not wait for the clients' idle keep-alive connections.
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> FakeSalesforce:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def settings_env(self) -> dict[str, str]:
        """The ``POLARIS_*`` variables that point Polaris at this double (mode B)."""
        return {
            "POLARIS_SALESFORCE_INSTANCE_URL": self.instance_url,
            "POLARIS_SALESFORCE_ACCESS_TOKEN": self.token,
            "POLARIS_SALESFORCE_CA_BUNDLE": str(self.ca_path),
            "POLARIS_SALESFORCE_API_VERSION": self.api_version,
        }


def serve_forever(
    fixtures: Path | None,
    port: int,
    page_size: int = 2000,
    token: str | None = None,
    ca_out: Path = Path("fake-salesforce-ca.pem"),
    *,
    host: str = "127.0.0.1",
) -> None:
    """Run the double in the foreground until Ctrl+C (``polaris dev fake-salesforce``).

    Writes the CA PEM to ``ca_out`` and prints the instance URL, token and CA path, plus the
    matching ``POLARIS_*`` variables. A ``token`` of None generates a random one.
    """
    fake = FakeSalesforce(
        fixtures, page_size=page_size, token=token, host=host, port=port, ca_out=ca_out.resolve()
    )
    server, sock = fake._prepare()
    try:
        print("Fake Salesforce running (Ctrl+C to stop)", flush=True)
        print(f"  instance URL : {fake.instance_url}", flush=True)
        print(f"  token        : {fake.token}", flush=True)
        print(f"  CA bundle    : {fake.ca_path}", flush=True)
        counts = ", ".join(f"{name}={len(recs)}" for name, recs in fake.state.objects.items()) or "none"
        print(f"  objects      : {counts}", flush=True)
        print("Environment for Polaris:", flush=True)
        for key, value in fake.settings_env().items():
            print(f"  {key}={value}", flush=True)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises the captured SIGINT after shutting down
            print("Fake Salesforce stopped", flush=True)
    finally:
        sock.close()
        if fake._tmp is not None:
            fake._tmp.cleanup()
