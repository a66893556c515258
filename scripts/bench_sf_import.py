"""Benchmark the Salesforce imports (09 SCALE-1) through the Salesforce test double.

Generates the reference volumes (09 §5: 15,000 volunteers with 2 emails, 10,000 teachers,
150,000 students, 350,000 affiliations, 10,000 events, 25,000 volunteer participations,
150,000 student participations, 60,000 communication records) times ``--scale`` as fixtures of
a :class:`FakeSalesforce` served from a child process (so, like the real Salesforce, it has its
own CPU and memory), then runs the real sync code on a fresh database:

1. ``daily`` full — organizations, volunteers, affiliations, events, volunteer participations,
   history — on the empty database;
2. ``weekly`` full — every import; the daily parts re-read everything and find it unchanged;
   then ``weekly`` full again, over data that is all unchanged (issue 13 item 5);
3. after editing ``--edit-share`` of every object in the double, ``daily`` then ``weekly``
   incremental.

For each run it prints the duration, records read per second, the database round trips per
1,000 records (a SQLAlchemy ``before_cursor_execute`` listener: one per statement or
executemany), the peak RSS of this process (``ru_maxrss``: the sync code, SQLAlchemy, the
drivers — not the double) and the CPU seconds spent by this process (with SQLite, the database
too) and by the double answering the queries. ``--parts`` adds a line per part; ``--tracemalloc`` the Python heap
peak of each run (slower); ``--runs`` makes only some of the runs (e.g. ``weekly-full-unchanged`` on a
database that ``--runs daily-full,weekly-full`` loaded, to profile that run alone). Each run's line
ends with the :func:`calibration` time taken just before it: compare runs made at different times
only at similar calibration.

    python scripts/bench_sf_import.py --scale 0.05                     # SQLite, temporary file
    python scripts/bench_sf_import.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Use an empty database; the script migrates it and does not clean up.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import multiprocessing
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from sqlalchemy import event

import polaris_api.models  # noqa: F401  (registers every table)
from polaris_api.db import make_engine, make_sessionmaker
from polaris_api.migrations import upgrade
from polaris_api.models.sync import SyncRun
from polaris_api.services.sync_runs import create_run, execute_run
from polaris_api.settings import Settings
from polaris_api.testing.fake_salesforce import FakeSalesforce

REFERENCE = {
    "districts": 20,
    "schools": 300,
    "organizations": 2_000,
    "volunteers": 15_000,
    "teachers": 10_000,
    "classes": 1_000,
    "students": 150_000,
    "affiliations": 350_000,
    "events": 10_000,
    "volunteer_participations": 25_000,
    "student_participations": 150_000,
    "tasks": 40_000,
    "email_messages": 20_000,
}


# name → (label, kind, mode); the edits of --edit-share are made just before daily-incremental
RUNS = {
    "daily-full": ("daily full", "daily", "full"),
    "weekly-full": ("weekly full", "weekly", "full"),
    "weekly-full-unchanged": ("weekly full, unchanged", "weekly", "full"),
    "daily-incremental": ("daily incremental", "daily", "incremental"),
    "weekly-incremental": ("weekly incremental", "weekly", "incremental"),
}


def calibration() -> float:
    """Seconds this process takes for a fixed pure-Python workload: how fast the machine is at the
    moment (on a shared VM the same run can take twice as long an hour later), so runs made at
    different times can be compared."""
    start = time.perf_counter()
    totals: dict[int, int] = {}
    for i in range(3_000_000):
        totals[i % 1000] = totals.get(i % 1000, 0) + i
    sorted(str(i) for i in range(600_000))
    return time.perf_counter() - start


def _id(prefix: str, n: int) -> str:
    return f"{prefix}{n:012d}AAA"


def generate(scale: float) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    n = {k: max(1, int(v * scale)) for k, v in REFERENCE.items()}
    stamp = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    seq = iter(range(10**9))

    def ms() -> str:
        return (stamp + dt.timedelta(seconds=next(seq))).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"

    account: list[dict[str, Any]] = []
    for i in range(n["districts"]):
        account.append(
            {"Id": _id("001", i), "Name": f"District {i}", "Type": "School District", "SystemModstamp": ms()}
        )
    base = n["districts"]
    for i in range(n["schools"]):
        account.append(
            {
                "Id": _id("001", base + i),
                "Name": f"School {i}",
                "Type": "School",
                "ParentId": _id("001", i % n["districts"]),
                "SystemModstamp": ms(),
            }
        )
    base += n["schools"]
    for i in range(n["organizations"]):
        account.append(
            {"Id": _id("001", base + i), "Name": f"Org {i}", "Type": "Business", "SystemModstamp": ms()}
        )
    org_base = base
    contacts: list[dict[str, Any]] = []
    for i in range(n["volunteers"]):
        contacts.append(
            {
                "Id": _id("003", i),
                "Contact_Type__c": "Volunteer",
                "FirstName": "Vol",
                "LastName": f"Unteer{i}",
                "Email": f"v{i}@example.org",
                "npe01__WorkEmail__c": f"v{i}@work.example.com",
                "MobilePhone": f"816555{i % 10000:04d}",
                "Volunteer_Skills__c": f"Skill {i % 40};Skill {(i + 7) % 40}",
                "Gender__c": "Female" if i % 2 else "Male",
                "Racial_Ethnic_Background__c": "Asian; White" if i % 5 == 0 else "Black",
                "SystemModstamp": ms(),
            }
        )
    tbase = n["volunteers"]
    for i in range(n["teachers"]):
        contacts.append(
            {
                "Id": _id("003", tbase + i),
                "Contact_Type__c": "Teacher",
                "FirstName": "Tea",
                "LastName": f"Cher{i}",
                "Email": f"t{i}@school.org",
                "npsp__Primary_Affiliation__c": _id("001", n["districts"] + i % n["schools"]),
                "SystemModstamp": ms(),
            }
        )
    sbase = tbase + n["teachers"]
    classes = [
        {
            "Id": _id("a0C", i),
            "Name": f"Class {i}",
            "School__c": _id("001", n["districts"] + i % n["schools"]),
            "SystemModstamp": ms(),
        }
        for i in range(n["classes"])
    ]
    for i in range(n["students"]):
        contacts.append(
            {
                "Id": _id("003", sbase + i),
                "Contact_Type__c": "Student",
                "FirstName": "Stu",
                "LastName": f"Dent{i}",
                "Current_Grade__c": str(i % 13),
                "Class__c": _id("a0C", i % n["classes"]),
                "npsp__Primary_Affiliation__c": _id("001", n["districts"] + i % n["schools"]),
                "SystemModstamp": ms(),
            }
        )
    affiliations = [
        {
            "Id": _id("a0A", i),
            "npe5__Contact__c": _id("003", i % n["volunteers"]),
            "npe5__Organization__c": _id("001", org_base + i % n["organizations"]),
            "npe5__Role__c": "Member",
            "npe5__Status__c": "Current",
            "SystemModstamp": ms(),
        }
        for i in range(n["affiliations"])
    ]
    sessions = [
        {
            "Id": _id("a0S", i),
            "Name": f"Session {i}",
            "Session_Type__c": "Career Fair",
            "Session_Status__c": "Completed",
            "Start_Date__c": "2025-03-01",
            "School__c": _id("001", n["districts"] + i % n["schools"]),
            "Requested_Skills__c": f"Skill {i % 40}",
            "SystemModstamp": ms(),
        }
        for i in range(n["events"])
    ]
    participants = [
        {
            "Id": _id("a0P", i),
            "Participant_Type__c": "Volunteer",
            "Contact__c": _id("003", i % n["volunteers"]),
            "Session__c": _id("a0S", (i // n["volunteers"] + i) % n["events"]),
            "Status__c": "Attended",
            "Delivery_Hours__c": 2,
            "SystemModstamp": ms(),
        }
        for i in range(n["volunteer_participations"])
    ]
    pbase = n["volunteer_participations"]
    participants += [
        {
            "Id": _id("a0P", pbase + i),
            "Participant_Type__c": "Student",
            "Contact__c": _id("003", sbase + i % n["students"]),
            "Session__c": _id("a0S", (i // n["students"] + i) % n["events"]),
            "Status__c": "Attended",
            "SystemModstamp": ms(),
        }
        for i in range(n["student_participations"])
    ]
    tasks = [
        {
            "Id": _id("00T", i),
            "WhoId": _id("003", i % n["volunteers"]),
            "Subject": f"Call {i}",
            "Type": "Call" if i % 2 else "Email",
            "Description": "Talked about the next career day " * 5,
            "CreatedDate": "2025-01-01T10:00:00.000+0000",
            "SystemModstamp": ms(),
        }
        for i in range(n["tasks"])
    ]
    messages = [
        {
            "Id": _id("02s", i),
            "ActivityId": _id("00T", i) if i % 2 == 0 and i < n["tasks"] else None,
            "Subject": f"Email {i}",
            "TextBody": "Hello " * 200,
            "FromAddress": "staff@prepkc.org",
            "ToAddress": f"v{i % n['volunteers']}@example.org",
            "Incoming": False,
            "MessageDate": "2025-02-01T10:00:00.000+0000",
            "SystemModstamp": ms(),
        }
        for i in range(n["email_messages"])
    ]
    objects = {
        "Account": account,
        "Contact": contacts,
        "Class__c": classes,
        "npe5__Affiliation__c": affiliations,
        "Session__c": sessions,
        "Session_Participant__c": participants,
        "Task": tasks,
        "EmailMessage": messages,
    }
    return objects, n


async def run_kind(sessionmaker: Any, settings: Settings, kind: str, mode: str) -> SyncRun:
    async with sessionmaker() as session:
        run = await create_run(session, settings, kind=kind, mode=mode, trigger="manual", principal=None)
        await session.commit()  # create_run flushes; the run executes in its own sessions
    await execute_run(sessionmaker, settings, run.id, None)
    async with sessionmaker() as session:
        finished = await session.get(SyncRun, run.id)
        assert finished is not None
        return finished


async def child_reads(sessionmaker: Any, parent_id: int) -> int:
    from sqlalchemy import select

    async with sessionmaker() as session:
        rows = (
            (await session.execute(select(SyncRun).where(SyncRun.parent_run_id == parent_id))).scalars().all()
        )
        return sum(int((r.counts or {}).get("read", 0)) for r in rows)


class PartStatements(logging.Handler):
    """Attributes statements to the part that ran them: the runner logs each run's end
    ("sync run <id> (<kind>) finished"), and the parts of a composite run one after another."""

    def __init__(self, statements: dict[str, int]) -> None:
        super().__init__(logging.INFO)
        self.statements = statements
        self.by_kind: dict[str, int] = {}
        self.mark = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("sync run %s (%s) finished") and record.args:
            kind = str(record.args[1])
            self.by_kind[kind] = self.statements["n"] - self.mark
            self.mark = self.statements["n"]

    def reset(self) -> None:
        self.by_kind, self.mark = {}, 0


async def print_parts(sessionmaker: Any, parent_id: int, by_kind: dict[str, int]) -> None:
    from sqlalchemy import select

    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(SyncRun).where(SyncRun.parent_run_id == parent_id).order_by(SyncRun.id)
            )
        ).scalars()
        for r in rows:
            seconds = (
                (r.finished_at - r.started_at).total_seconds() if r.finished_at and r.started_at else 0.0
            )
            read = int((r.counts or {}).get("read", 0))
            rate = read / seconds if seconds else 0.0
            per_k = by_kind.get(r.kind, 0) / read * 1000 if read else float("nan")
            print(
                f"    {r.kind:<38} {r.status:<9} {seconds:7.1f}s  read {read:>9,}  {rate:8,.0f} rec/s"
                f"  {per_k:7.1f} round trips/1,000 rec"
            )


class StatementTimes:
    """``--statements``: wall time per statement shape, from ``before_cursor_execute`` to
    ``after_cursor_execute`` (the database's answer plus the driver; not the ORM around it)."""

    def __init__(self, engine: Any) -> None:
        self.totals: dict[str, list[float]] = {}
        event.listen(engine.sync_engine, "before_cursor_execute", self.before)
        event.listen(engine.sync_engine, "after_cursor_execute", self.after)

    def reset(self) -> None:
        self.totals.clear()

    def before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        entry = self.totals.setdefault(" ".join(statement.split())[:90], [0.0, 0])
        entry[0] += elapsed
        entry[1] += 1

    def print_top(self, n: int = 10) -> None:
        total = sum(t for t, _ in self.totals.values())
        print(f"    SQL statements: {total:.1f}s in all")
        for shape, (seconds, calls) in sorted(self.totals.items(), key=lambda kv: -kv[1][0])[:n]:
            print(f"    {seconds:7.2f}s {calls:6,}x  {shape}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="share of the reference volumes (default 1.0)"
    )
    parser.add_argument(
        "--edit-share", type=float, default=0.01, help="share of records edited before incremental"
    )
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--page-size", type=int, default=2000)
    parser.add_argument("--parts", action="store_true", help="print each part's duration and rate")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also report the tracemalloc peak (slower)"
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="after each run, the SQL statements that took the most time (wall time from "
        "before_cursor_execute to after_cursor_execute, grouped by their first 90 characters)",
    )
    parser.add_argument(
        "--runs",
        default=",".join(RUNS),
        help="comma-separated runs to make, in order (default all: " + ",".join(RUNS) + "), or single "
        "kinds as <kind>:<mode>; e.g. 'weekly-full' alone on a database an earlier run loaded, to "
        "profile one run",
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"

    spawn = multiprocessing.get_context("spawn")  # a clean interpreter: nothing of this one's memory
    parent_end, child_end = spawn.Pipe()
    double = spawn.Process(
        target=serve_double, args=(args.scale, args.page_size, child_end), name="fake-salesforce"
    )
    double.start()
    try:
        await bench(args, url, parent_end)
    finally:
        parent_end.send(("stop",))
        double.join(timeout=30)


def serve_double(scale: float, page_size: int, conn: Any) -> None:
    """The child process: generate the records, serve them, apply edits when asked."""
    t0 = time.perf_counter()
    objects, volumes = generate(scale)
    generated = time.perf_counter() - t0
    with FakeSalesforce(objects, page_size=page_size) as fake:
        conn.send(
            {
                "url": fake.instance_url,
                "token": fake.token,
                "ca": fake.ca_path.read_text(),
                "volumes": volumes,
                "records": sum(len(v) for v in objects.values()),
                "seconds": generated,
            }
        )
        while True:
            message = conn.recv()
            if message[0] == "stop":
                return
            if message[0] == "cpu":  # CPU seconds of the double, every thread
                conn.send(time.process_time())
            if message[0] == "edit":
                share = message[1]
                step = max(1, int(1 / share)) if share > 0 else 0
                edited = 0
                for obj, records in objects.items():
                    edits = [{"Id": r["Id"]} for r in records[::step]] if step else []
                    for start in range(0, len(edits), 5000):
                        fake.admin.upsert(obj, edits[start : start + 5000])
                    edited += len(edits)
                conn.send(edited)


async def bench(args: argparse.Namespace, url: str, double: Any) -> None:
    info = double.recv()
    ca_file = Path(tempfile.mkdtemp()) / "fake-salesforce-ca.pem"
    ca_file.write_text(info["ca"])
    print(f"generated {info['records']:,} SF records in {info['seconds']:.1f}s: {info['volumes']}")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="development",
        database_url=url,
        jwt_secret="bench-" + "x" * 40,
        email_backend="disabled",
        outbox_worker_enabled=False,
        salesforce_instance_url=info["url"],
        salesforce_access_token=info["token"],
        salesforce_ca_bundle=str(ca_file),
        salesforce_username=None,
        salesforce_password=None,
        salesforce_security_token=None,
        salesforce_batch_size=args.batch_size,
        salesforce_read_timeout_s=120,
    )
    engine = make_engine(url)
    await upgrade(engine)
    statements = {"n": 0}

    def count(*_: Any) -> None:
        statements["n"] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    timings = StatementTimes(engine) if args.statements else None
    parts = PartStatements(statements)
    runner_log = logging.getLogger("polaris_api.services.sync_runs")
    runner_log.addHandler(parts)
    runner_log.setLevel(logging.INFO)
    sessionmaker = make_sessionmaker(engine)

    async def measured(label: str, kind: str, mode: str) -> None:
        before = calibration()
        statements["n"] = 0
        parts.reset()
        if timings is not None:
            timings.reset()
        if args.tracemalloc:
            tracemalloc.start()
        double.send(("cpu",))
        double_cpu = double.recv()
        own_cpu = time.process_time()
        start = time.perf_counter()
        run = await run_kind(sessionmaker, settings, kind, mode)
        elapsed = time.perf_counter() - start
        own_cpu = time.process_time() - own_cpu
        double.send(("cpu",))
        double_cpu = double.recv() - double_cpu
        peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
        if args.tracemalloc:
            tracemalloc.stop()
        read = await child_reads(sessionmaker, run.id)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        per_k = statements["n"] / read * 1000 if read else float("nan")
        line = (
            f"{label:<28} {run.status:<9} {elapsed:8.1f}s  read {read:>9,}  {read / elapsed:9,.0f} rec/s  "
            f"{per_k:7.1f} DB round trips/1,000 rec  maxrss {rss_mb:,.0f} MB  "
            f"CPU: this process {own_cpu:,.1f}s, the double {double_cpu:,.1f}s"
        )
        if peak is not None:
            line += f"  tracemalloc peak {peak / 2**20:,.0f} MB"
        line += f"  calibration {before:.2f}s"
        print(line, flush=True)
        if args.parts:
            await print_parts(sessionmaker, run.id, parts.by_kind)
        if timings is not None:
            timings.print_top()
        if run.status == "failed":
            print(f"  failed: {run.error_code} {run.error_message}", file=sys.stderr)

    print(
        f"database {engine.url.render_as_string(hide_password=True)}; batch {args.batch_size}; page {args.page_size}"
    )
    for name in args.runs.split(","):
        if ":" in name:  # one kind, e.g. salesforce-students:full
            kind, mode = name.strip().split(":")
            label = name.strip()
        else:
            label, kind, mode = RUNS[name.strip()]
        if name.strip() == "daily-incremental":
            double.send(("edit", args.edit_share))
            print(f"edited {double.recv():,} records in the double")
        await measured(label, kind, mode)
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
