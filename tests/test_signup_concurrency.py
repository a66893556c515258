"""03 SIGN-6 across processes: 40 simultaneous signups for 5 remaining slots, spread over three
API processes sharing the test database (two ``uvicorn --factory`` subprocesses and the test
process's own app) → exactly 5 succeed, 35 get 409 event_full.

PostgreSQL serializes the signups of an event with ``SELECT ... FOR UPDATE`` on the event row,
SQLite with ``BEGIN IMMEDIATE``; the test runs on both (CI runs it on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from polaris_api.models.events import EventParticipation, Signup
from polaris_api.models.outbox import OutboxMessage
from polaris_api.models.people import Volunteer
from tests.conftest import DATABASE_URL, TEST_JWT_SECRET, make_settings
from tests.live_server import free_port
from tests.signup_factories import count, listed_event, signup_form

pytestmark = pytest.mark.committed_db  # several processes share the database

SERVER_PROCESSES = 2  # plus the app inside the test process
REQUESTS = 40
SLOTS = 5


def _server_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("POLARIS_")}
    env.update(
        POLARIS_DATABASE_URL=DATABASE_URL,
        POLARIS_JWT_SECRET=TEST_JWT_SECRET,
        POLARIS_EMAIL_BACKEND="disabled",
        POLARIS_OUTBOX_WORKER_ENABLED="false",
        POLARIS_SIGNUP_RATE_LIMIT_PER_MINUTE="100000",
        POLARIS_SIGNUP_RATE_LIMIT_PER_DAY="100000",
        POLARIS_LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture(scope="module")
def api_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two API processes (``uvicorn --factory``) on free loopback ports, schema already migrated
    by the session ``engine`` fixture (the test requests ``db`` before this runs its requests)."""
    workdir: Path = tmp_path_factory.mktemp("servers")  # no stray .env file
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(SERVER_PROCESSES):
            port = free_port()
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "polaris_api.app:create_app",
                        "--factory",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                        "--no-access-log",
                    ],
                    env=_server_env(),
                    cwd=workdir,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        pending = set(urls)
        while pending:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"API process exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            for url in list(pending):
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        pending.discard(url)
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("API processes did not start")
            time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def settings():
    return make_settings(signup_rate_limit_per_minute=100_000, signup_rate_limit_per_day=100_000)


async def test_sign_6_exactly_remaining_slots_succeed_across_processes(db, session, api_processes, client):
    """SIGN-6 and SCALE-5: several stateless API processes against one database."""
    event = await listed_event(session, slots=SLOTS)
    targets = [*api_processes, "http://testserver"]  # the last one is the in-process app

    async def attempt(remote: httpx.AsyncClient, i: int) -> httpx.Response:
        base = targets[i % len(targets)]
        http = client if base == "http://testserver" else remote
        return await http.post(
            f"{base}/api/v1/public/events/{event.id}/signup",
            json=signup_form(email=f"volunteer{i}@example.org", first_name=f"V{i}"),
        )

    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as remote:
        responses = await asyncio.gather(*(attempt(remote, i) for i in range(REQUESTS)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * SLOTS + [409] * (REQUESTS - SLOTS), [r.text[:200] for r in responses]
    refused = [r.json() for r in responses if r.status_code == 409]
    assert {body["code"] for body in refused} == {"event_full"}
    assert await count(session, Signup) == SLOTS
    assert await count(session, EventParticipation) == SLOTS
    assert await count(session, Volunteer) == SLOTS
    assert await count(session, OutboxMessage) == SLOTS
    # every process took part
    assert {str(r.request.url).split("/api/")[0] for r in responses} == set(targets)

    # and the event is now closed for everyone
    again = await asyncio.to_thread(
        httpx.post,
        f"{api_processes[0]}/api/v1/public/events/{event.id}/signup",
        json=signup_form(email="late@example.org"),
    )
    assert again.status_code == 409
