#!/usr/bin/env python
"""Benchmark of the metrics and year-end endpoints (06 P2). Not a test: run it by hand.

1. creates the database at ``--database-url`` when missing (PostgreSQL), migrates it and, when it
   has no events yet, seeds the 09 SCALE reference volume with Core bulk inserts, all in one
   district and one school year (the worst case): 10,000 events (80 % in person, 20 % virtual,
   every one linked to the district and at its school), 25,000 volunteer participations,
   150,000 student participations, 20,000 teacher participations;
2. runs the real app in-process (httpx ASGITransport; no cache exists), as a global admin;
3. per endpoint: one warm-up, then 20 sequential requests, p50/p95 wall time (request sent ->
   body read): full-year /metrics (all metrics), /metrics group_by=district, and, when they
   exist, the year-end card list and one district year-end;
4. prints the load average and, per request, this process's CPU time and (PostgreSQL on this
   machine) the database backends' CPU time: unlike wall time, these do not grow with the load
   of a shared machine;
5. with ``--explain``, per endpoint, the execution times of its statements (EXPLAIN ANALYZE)
   and the full EXPLAIN (ANALYZE, BUFFERS) plan of the slowest.

    python scripts/bench_metrics.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/polaris_bench
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from polaris_api.app import create_app
from polaris_api.migrations import upgrade
from polaris_api.models.events import (
    Event,
    EventDistrict,
    EventParticipation,
    EventStudentParticipation,
    EventTeacher,
)
from polaris_api.models.identity import User
from polaris_api.models.people import Student, Teacher, Volunteer
from polaris_api.models.reference import District, School
from polaris_api.runtime import tune_garbage_collector
from polaris_api.security import issue_token
from polaris_api.settings import Settings

ZONE = ZoneInfo("America/Chicago")
YEAR_START = dt.datetime(2024, 8, 1, 8, 0, tzinfo=ZONE)
EVENTS, VIRTUAL_SHARE = 10_000, 0.2
VOLUNTEERS, VOLUNTEER_ROWS = 6_000, 25_000
STUDENTS, STUDENT_ROWS = 30_000, 150_000
TEACHERS, TEACHER_ROWS = 2_500, 20_000
JWT_SECRET = "bench-secret-" + "x" * 40
BATCH = 5_000


async def ensure_database(url: str) -> None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    admin = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        )
        if not exists:
            await connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    await admin.dispose()


async def insert_rows(engine: AsyncEngine, table: Any, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as connection:
        for start in range(0, len(rows), BATCH):
            await connection.execute(insert(table), rows[start : start + BATCH])


async def seed(engine: AsyncEngine) -> int:
    """The reference volume; returns the district id. Skipped when events exist."""
    async with engine.connect() as connection:
        if await connection.scalar(select(func.count()).select_from(Event.__table__)):
            return int(await connection.scalar(select(func.min(District.id))))
    rng = random.Random(9)
    started = time.perf_counter()
    await insert_rows(engine, District.__table__, [{"name": "Bench District", "slug": "bench-district"}])
    async with engine.connect() as connection:
        district_id = int(await connection.scalar(select(func.min(District.id))))
    await insert_rows(
        engine, School.__table__, [{"name": "Bench High", "district_id": district_id, "level": "high"}]
    )
    async with engine.connect() as connection:
        school_id = int(await connection.scalar(select(func.min(School.id))))
    in_person_types = ["career_speaker", "career_jumping", "career_fair", "healthstart", "dia", "p2t"]
    events = []
    for i in range(EVENTS):
        virtual = i < EVENTS * VIRTUAL_SHARE
        start = (YEAR_START + dt.timedelta(minutes=rng.randrange(0, 364 * 24 * 60))).astimezone(dt.UTC)
        events.append(
            {
                "title": f"Bench event {i}",
                "type": rng.choice(["virtual_session", "connector_session"])
                if virtual
                else rng.choice(in_person_types),
                "format": "virtual" if virtual else "in_person",
                "status": rng.choice(["completed"] * 8 + ["confirmed", "cancelled"]),
                "start_date": start,
                "end_date": start + dt.timedelta(minutes=rng.choice([45, 60, 90])),
                "duration": rng.choice([None, 60, 90]),
                "school_id": None if virtual else school_id,
                "district_partner": "Bench District",
                "session_host": rng.choice([None, "PREPKC", "Pathful"]),
            }
        )
    await insert_rows(engine, Event.__table__, events)
    async with engine.connect() as connection:
        ids = [row[0] for row in await connection.execute(select(Event.id).order_by(Event.id))]
    virtual_ids = ids[: int(EVENTS * VIRTUAL_SHARE)]
    in_person_ids = ids[int(EVENTS * VIRTUAL_SHARE) :]
    await insert_rows(
        engine, EventDistrict.__table__, [{"event_id": e, "district_id": district_id} for e in ids]
    )
    await insert_rows(
        engine,
        Volunteer.__table__,
        [
            {
                "last_name": f"V{i}",
                "email_normalized": f"v{i}@example.org" if i % 10 else None,
                "organization_name": f"Org {i % 400}",
                "is_people_of_color": i % 3 == 0,
                "local_status": rng.choice(["local", "partial", "non_local", "unknown"]),
            }
            for i in range(VOLUNTEERS)
        ],
    )
    await insert_rows(
        engine,
        Student.__table__,
        [{"last_name": f"S{i}", "student_id": f"{100000 + i}"} for i in range(STUDENTS)],
    )
    await insert_rows(
        engine,
        Teacher.__table__,
        [
            {"last_name": f"T{i}", "email_normalized": f"t{i}@school.org", "school_id": school_id}
            for i in range(TEACHERS)
        ],
    )
    async with engine.connect() as connection:
        volunteer_ids = [r[0] for r in await connection.execute(select(Volunteer.id))]
        student_ids = [r[0] for r in await connection.execute(select(Student.id))]
        teacher_ids = [r[0] for r in await connection.execute(select(Teacher.id))]

    def pairs(events_: list[int], people: list[int], count: int) -> list[tuple[int, int]]:
        seen: set[tuple[int, int]] = set()
        while len(seen) < count:
            seen.add((rng.choice(events_), rng.choice(people)))
        return sorted(seen)

    await insert_rows(
        engine,
        EventParticipation.__table__,
        [
            {
                "event_id": e,
                "volunteer_id": v,
                "status": rng.choice(["attended", "completed", "successfully_completed", "no_show"]),
                "delivery_hours": rng.choice([None, 1.0, 2.5]),
                "participant_type": "presenter" if e in set_virtual else "volunteer",
            }
            for set_virtual in [set(virtual_ids)]
            for e, v in pairs(ids, volunteer_ids, VOLUNTEER_ROWS)
        ],
    )
    await insert_rows(
        engine,
        EventStudentParticipation.__table__,
        [
            {"event_id": e, "student_id": s, "status": rng.choice(["attended"] * 9 + ["no_show"])}
            for e, s in pairs(in_person_ids, student_ids, STUDENT_ROWS)
        ],
    )
    confirmed = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    await insert_rows(
        engine,
        EventTeacher.__table__,
        [
            {
                "event_id": e,
                "teacher_id": t,
                "status": "attended",
                "attendance_confirmed_at": confirmed if rng.random() < 0.8 else None,
            }
            for e, t in pairs(virtual_ids, teacher_ids, TEACHER_ROWS)
        ],
    )
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("ANALYZE"))
    print(f"seeded in {time.perf_counter() - started:.1f} s")
    return district_id


async def admin_headers(engine: AsyncEngine) -> dict[str, str]:
    async with engine.begin() as connection:
        user_id = await connection.scalar(select(User.id).where(User.email == "bench@example.org"))
        if user_id is None:
            user_id = await connection.scalar(
                insert(User)
                .values(email="bench@example.org", password_hash="x", security_level=3, scope_type="global")
                .returning(User.id)
            )
        version = await connection.scalar(select(User.token_version).where(User.id == user_id))
    token, _ = issue_token(
        secret=JWT_SECRET, subject=user_id, token_type="staff", version=version, minutes=60
    )
    return {"Authorization": f"Bearer {token}"}


def backend_cpu_ms(pids: list[int]) -> float | None:
    """CPU time (user + system) of these PostgreSQL backends, from /proc: only when the server
    runs on this machine. Unlike wall time it does not depend on the machine's load."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks += int(fields[11]) + int(fields[12])
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


async def backend_pids(engine: AsyncEngine) -> list[int]:
    """The other backends connected to the bench database (the app's pool)."""
    if engine.dialect.name != "postgresql":
        return []
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        )
        return [row[0] for row in rows]


async def measure(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, runs: int, engine: AsyncEngine
) -> tuple[float, float, float, float | None]:
    """p50 and p95 wall ms, then this process's and the database backends' CPU ms per request."""
    response = await client.get(path, headers=headers)  # warm-up
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
    pids = await backend_pids(engine)
    timings = []
    cpu_started, backend_started = time.process_time(), backend_cpu_ms(pids)
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        response.read()
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    app_cpu = (time.process_time() - cpu_started) * 1000 / runs
    backend_ended = backend_cpu_ms(pids)
    db_cpu = None
    if backend_started is not None and backend_ended is not None and pids:
        db_cpu = (backend_ended - backend_started) / runs
    timings.sort()
    p95 = timings[max(0, int(round(0.95 * len(timings))) - 1)]
    return statistics.median(timings), p95, app_cpu, db_cpu


async def explain(engine: AsyncEngine, client: httpx.AsyncClient, headers: dict[str, str], path: str) -> None:
    """EXPLAIN ANALYZE of every statement the request runs, slowest first."""
    captured: list[tuple[str, Any]] = []

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    sync_engine = engine.sync_engine
    sa_event.listen(sync_engine, "before_cursor_execute", before)
    await client.get(path, headers=headers)
    sa_event.remove(sync_engine, "before_cursor_execute", before)
    plans = []
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        for statement, parameters in captured:
            rows = await driver.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *(parameters or ()))
            lines = [r[0] for r in rows]
            total = next(
                (float(x.split(":")[1].split()[0]) for x in lines if x.startswith("Execution Time")), 0.0
            )
            plans.append((total, statement, lines))
    plans.sort(key=lambda p: -p[0])
    print(
        f"\n{len(captured)} SELECT statements for {path}: " + ", ".join(f"{p[0]:.1f}" for p in plans) + " ms"
    )
    total, statement, lines = plans[0]
    print(f"\n--- slowest: {total:.1f} ms ---\n{statement}\n" + "\n".join(lines))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", help="measure only endpoints whose name contains this text")
    args = parser.parse_args()
    await ensure_database(args.database_url)
    engine = create_async_engine(args.database_url)
    await upgrade(engine)
    district_id = await seed(engine)
    headers = await admin_headers(engine)
    settings = Settings(
        env="development",
        database_url=args.database_url,
        jwt_secret=JWT_SECRET,
        email_backend="disabled",
        outbox_worker_enabled=False,
    )
    app = create_app(settings)
    tune_garbage_collector()  # what the app's lifespan does in `polaris serve` (ASGITransport runs no lifespan)
    window = "start_date=2024-08-01&end_date=2025-07-31"
    paths = {
        "/metrics full year, all metrics": f"/api/v1/metrics?{window}",
        "/metrics group_by=district": f"/api/v1/metrics?{window}&group_by=district",
        "/metrics district_id (district user shape)": f"/api/v1/metrics?{window}&district_id={district_id}",
        "year-end card list": "/api/v1/reports/year-end?school_year=2425",
        "district year-end": f"/api/v1/reports/districts/{district_id}/year-end?school_year=2425",
    }
    routes = set(app.openapi()["paths"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        print(f"load average {os.getloadavg()[0]:.2f} (2 cores); CPU columns are ms per request")
        print(f"{'endpoint':45} {'p50 ms':>8} {'p95 ms':>8} {'app CPU':>8} {'db CPU':>8}")
        for name, path in paths.items():
            route = path.split("?")[0].replace(f"/districts/{district_id}/", "/districts/{district_id}/")
            if args.only and args.only not in name:
                continue
            if route not in routes:
                print(f"{name:45} {'(endpoint not present)':>17}")
                continue
            p50, p95, app_cpu, db_cpu = await measure(client, headers, path, args.runs, engine)
            db = f"{db_cpu:8.0f}" if db_cpu is not None else f"{'n/a':>8}"
            print(f"{name:45} {p50:8.1f} {p95:8.1f} {app_cpu:8.0f} {db}")
        print(f"load average {os.getloadavg()[0]:.2f}")
        if args.explain:
            for name, path in paths.items():
                if not args.only or args.only in name:
                    await explain(app.state.engine, client, headers, path)
    await app.state.engine.dispose()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
