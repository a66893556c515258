"""The `polaris` command line (00 §5.1): set-up commands on the database, serve --demo end to end."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from polaris_api.cli import app
from polaris_api.db import make_sessionmaker
from polaris_api.models.identity import User
from tests.conftest import DATABASE_URL
from tests.live_server import free_port

# the CLI and the demo importer open their own engine: they need committed rows
pytestmark = pytest.mark.committed_db

runner = CliRunner()


async def _count_users(session) -> int:  # noqa: ANN001
    return (await session.execute(select(func.count(User.id)))).scalar_one()


async def test_users_create_then_login(db, client, session, monkeypatch):
    monkeypatch.setenv("POLARIS_DATABASE_URL", DATABASE_URL)
    result = await asyncio.to_thread(
        runner.invoke,
        app,
        [
            "users",
            "create",
            "--email",
            "Ops@Example.org",
            "--password",
            "a long cli password",
            "--level",
            "manager",
        ],
    )
    assert result.exit_code == 0, result.output
    login = await client.post(
        "/api/v1/auth/token", data={"username": "ops@example.org", "password": "a long cli password"}
    )
    assert login.status_code == 200
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json()["security_level"] == 2


async def test_users_create_district_user(db, session, monkeypatch):
    monkeypatch.setenv("POLARIS_DATABASE_URL", DATABASE_URL)
    args = [
        "users",
        "create",
        "--email",
        "d@example.org",
        "--password",
        "a long cli password",
        "--district-id",
        "3",
    ]
    assert (await asyncio.to_thread(runner.invoke, app, args)).exit_code == 0
    user = (await session.execute(select(User))).scalar_one()
    assert user.scope_type == "district" and user.allowed_district_ids == [3]


async def test_users_create_refuses_bad_input_and_writes_nothing(db, session, monkeypatch):
    monkeypatch.setenv("POLARIS_DATABASE_URL", DATABASE_URL)
    short = await asyncio.to_thread(
        runner.invoke, app, ["users", "create", "--email", "x@example.org", "--password", "short"]
    )
    bad_level = await asyncio.to_thread(
        runner.invoke,
        app,
        [
            "users",
            "create",
            "--email",
            "x@example.org",
            "--password",
            "a long cli password",
            "--level",
            "god",
        ],
    )
    bad_email = await asyncio.to_thread(
        runner.invoke,
        app,
        ["users", "create", "--email", "not-an-email", "--password", "a long cli password"],
    )
    assert short.exit_code == bad_level.exit_code == bad_email.exit_code == 2
    assert "short" not in short.output
    assert await _count_users(session) == 0


def test_readme_run_command_serves_demo(tmp_path):
    """`polaris serve --demo`: migrated SQLite database, an admin printed, the API and /docs served."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLARIS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "polaris_api.cli", "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "demo server did not become ready"
            time.sleep(0.3)
        output = ""
        while "Demo admin" not in output:
            output += process.stdout.readline() if process.stdout else ""
        match = re.search(r"Demo admin\S*: (\S+) / (\S+)", output)
        assert match, output
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": match.group(1), "password": match.group(2)}
        ).json()["access_token"]
        me = httpx.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["security_level"] == 3
        assert httpx.get(f"{base}/docs").status_code == 200
        headers = {"Authorization": f"Bearer {token}"}
        listing = httpx.get(f"{base}/api/v1/public/events", params={"page_size": 100}).json()
        assert listing["total"] >= 30  # issue demo: at least 30 upcoming sessions listed at once
        assert any(item["is_dia"] for item in listing["items"])
        assert all(item["signup_open"] for item in listing["items"])  # full sessions are archived (PUB-1)
        volunteers = httpx.get(f"{base}/api/v1/volunteers", headers=headers).json()
        assert volunteers["total"] == 40
        progress = httpx.get(
            f"{base}/api/v1/teacher-progress", headers=headers, params={"page_size": 50}
        ).json()
        assert {item["status"] for item in progress["items"]} == {"achieved", "in_progress", "not_started"}
        assert (tmp_path / "polaris-demo.db").exists()
    finally:
        process.terminate()
        process.wait(timeout=20)


async def test_demo_seed_shows_every_teacher_progress_status(db, client, admin, settings):
    """Issue demo data: the demo roster and Pathful report give achieved, in progress and not started."""
    from polaris_api.demo.fixtures import DISTRICTS
    from polaris_api.demo.virtual import import_demo_virtual
    from polaris_api.models.reference import District

    async with make_sessionmaker(db)() as session:
        district = District(name=DISTRICTS[0][1], salesforce_id=DISTRICTS[0][0])
        session.add(district)
        await session.commit()
    today = dt.datetime.now(settings.tz).date()
    totals = await import_demo_virtual(settings, admin["id"], district, today)
    assert totals["roster_rows_added"] == 6
    page = (
        await client.get("/api/v1/teacher-progress", headers=admin["headers"], params={"page_size": 50})
    ).json()
    assert {item["status"] for item in page["items"]} == {"achieved", "in_progress", "not_started"}
