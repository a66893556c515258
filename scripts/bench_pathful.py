"""Benchmark the Pathful import (09 SCALE-2: 30,000 rows in under 30 s; aim for under 20 s;
issue 13 item 4: a 30,000-row XLSX first import under 5 s on SQLite, peak memory under 250 MB,
linear in rows).

Migrates the database, seeds realistic matching data (schools, a few thousand teachers with
Pathful ids, emails and roster records, volunteers), generates a Session Report of each
``--rows`` size as CSV and as XLSX (the same rows; the XLSX written with openpyxl's write-only
mode, numbers and times as typed cells as an export has them), and imports each file through
the real upload path (:func:`polaris_api.imports.pathful.importer.import_pathful_upload`, the
code the API runs: read, bounds, parse, validation, plan, writes, report), then re-imports it
(the idempotent path).

Each (format, rows) case runs in its own child process on its own copy of the seeded database
(SQLite: a file copy; PostgreSQL: ``CREATE DATABASE … TEMPLATE``, dropped afterwards), so its
peak RSS (``ru_maxrss``) is that import's alone. Prints wall time, CPU time and peak RSS per case
and the linearity of the first import (time per 1,000 rows of the largest size against the
smallest).

    python scripts/bench_pathful.py                                   # SQLite, temporary file
    python scripts/bench_pathful.py --rows 30000 120000 --format both
    python scripts/bench_pathful.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Use an empty database: the script seeds it and does not clean up (drop the PostgreSQL database
afterwards). Sizes above the upload bounds (``upload_max_rows``, ``upload_max_bytes``) raise
those settings for the benchmark only.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

import polaris_api.models  # noqa: F401  (registers every table)
from polaris_api.db import make_engine, make_sessionmaker
from polaris_api.imports.pathful.importer import import_pathful_upload
from polaris_api.migrations import upgrade
from polaris_api.models.people import Teacher, TeacherEmail, Volunteer
from polaris_api.models.reference import District, School
from polaris_api.models.teachers import TeacherProgress
from polaris_api.settings import Settings

HEADER = [
    "Session ID",
    "Title",
    "Date",
    "Status",
    "Duration",
    "User Auth Id",
    "Name",
    "SignUp Role",
    "School",
    "District or Company",
    "Partner",
    "Registered Student Count",
    "Attended Student Count",
    "Registered Educator Count",
    "Attended Educator Count",
    "Career Cluster",
    "Work Based Learning",
    "Series or Event Title",
    "State",
    "Educator Email",
]
FIRST = [
    "Maria",
    "Andre",
    "Samuel",
    "Grace",
    "Beth",
    "Jordan",
    "Priya",
    "Owen",
    "Dana",
    "Henry",
    "Sofia",
    "Marcus",
]
LAST = [
    "Delgado",
    "Wallace",
    "Okafor",
    "Lin",
    "Coleman",
    "Blake",
    "Shah",
    "Hart",
    "Ruiz",
    "Cho",
    "Marino",
    "Reed",
]
CLUSTERS = ["Health Science", "Information Technology", "Manufacturing", "Marketing", "Law & Public Safety"]
STATUSES = (
    ["Completed"] * 70 + ["Cancelled"] * 8 + ["Teacher No-Show"] * 4 + ["Published"] * 12 + ["Requested"] * 6
)


async def seed(url: str, teachers: int, volunteers: int, rng: random.Random) -> dict[int, str]:
    engine = make_engine(url)
    await upgrade(engine)
    async with make_sessionmaker(engine)() as session:
        existing = (await session.execute(select(func.count(Teacher.id)))).scalar_one()
        if existing:
            raise SystemExit("use an empty database: teachers already exist")
        now = dt.datetime.now(dt.UTC)
        district_id = (
            await session.execute(
                insert(District).returning(District.id),
                [{"name": "Bench District", "slug": "bench-district"}],
            )
        ).scalar_one()
        school_rows = [{"name": f"School {i:03d}", "district_id": district_id} for i in range(60)]
        school_ids = list((await session.execute(insert(School).returning(School.id), school_rows)).scalars())
        people = []
        for i in range(teachers):
            people.append(
                {
                    "first_name": f"{rng.choice(FIRST)}{i}",
                    "last_name": rng.choice(LAST),
                    "pathful_user_id": str(2_000_000 + i) if i % 2 == 0 else None,
                    "email_normalized": f"teacher{i}@schools.example",
                    "school_id": school_ids[i % len(school_ids)],
                    "created_at": now,
                    "updated_at": now,
                }
            )
        teacher_ids = list((await session.execute(insert(Teacher).returning(Teacher.id), people)).scalars())
        teacher_ids.sort()
        await session.execute(
            insert(TeacherEmail),
            [
                {
                    "teacher_id": teacher_id,
                    "email": f"teacher{i}@schools.example",
                    "email_normalized": f"teacher{i}@schools.example",
                    "is_primary": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, teacher_id in enumerate(teacher_ids)
            ],
        )
        await session.execute(
            insert(TeacherProgress),
            [
                {
                    "district_id": district_id,
                    "academic_year": "2025-2026",
                    "virtual_year": "2025-2026",
                    "email": f"roster{i}@schools.example",
                    "name": f"Roster {i}",
                    "teacher_id": teacher_id,
                    "target_sessions": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, teacher_id in enumerate(teacher_ids[: min(2000, teachers)])
            ],
        )
        await session.execute(
            insert(Volunteer),
            [
                {
                    "first_name": f"Vol{i}",
                    "last_name": rng.choice(LAST),
                    "email_normalized": f"volunteer{i}@example.org",
                    "pathful_user_id": str(3_000_000 + i) if i % 2 == 0 else None,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(volunteers)
            ],
        )
        await session.commit()
    await engine.dispose()
    return {i: f"{person['first_name']} {person['last_name']}" for i, person in enumerate(people)}


def generate(
    rows: int, teachers: int, volunteers: int, names: dict[int, str], rng: random.Random
) -> list[list[str]]:
    """A Session Report's data rows: sessions of 5 rows (1 professional, 3 educators, 1 student).

    ``names`` maps a teacher's seed index to its full name (for rows matched by name only).
    """
    out: list[list[str]] = []
    start = dt.datetime(2025, 9, 2, 9, 0)
    written = 0
    session_no = 0
    while written < rows:
        session_no += 1
        session_id = f"{600000 + session_no}.0" if session_no % 7 == 0 else str(600000 + session_no)
        status = rng.choice(STATUSES)
        when = start + dt.timedelta(hours=session_no * 3)
        date = (
            ""
            if status == "Requested" and session_no % 2
            else when.strftime("%m/%d/%Y %H:%M:%S" if session_no % 5 == 0 else "%Y-%m-%d %H:%M:%S")
        )
        title = f"{rng.choice(CLUSTERS)} careers #{session_no}"
        partner = "PREP-KC" if session_no % 20 else "KC STEM Alliance"
        base = {
            "Session ID": session_id,
            "Title": title,
            "Date": date,
            "Status": status,
            "Duration": rng.choice(["30", "45", "60", ""]),
            "Partner": partner,
            "Registered Student Count": str(rng.randint(10, 30)),
            "Attended Student Count": str(rng.randint(0, 30)),
            "Registered Educator Count": "1",
            "Career Cluster": rng.choice(CLUSTERS),
            "State": "KS",
        }
        people: list[dict[str, str]] = []
        v = rng.randrange(volunteers)
        people.append(
            {
                "User Auth Id": str(3_000_000 + v) if v % 2 == 0 else str(3_500_000 + v),
                "Name": f"Vol{v} Someone",
                "SignUp Role": "Professional",
            }
        )
        # three different teachers: matched by Pathful id (even ids), by email (back-filling the id),
        # by name without an id (teachers never matched otherwise), or not at all
        used: set[int] = set()
        for t in rng.sample(range(teachers), 3):
            kind = rng.random()
            row = {"SignUp Role": "Educator", "Attended Educator Count": rng.choice(["1", "0", "n/a", "1"])}
            if kind < 0.5:
                t -= t % 2
                row.update({"User Auth Id": str(2_000_000 + t), "Name": f"Teacher {t}"})
            elif kind < 0.75:
                t -= (t - 1) % 4
                row.update(
                    {
                        "User Auth Id": str(4_000_000 + t),
                        "Name": f"Teacher {t}",
                        "Educator Email": f"teacher{t}@schools.example",
                    }
                )
            elif kind < 0.9:
                row.update({"User Auth Id": str(5_000_000 + t), "Name": f"Unknown Person{t}"})
            else:
                t -= (t - 3) % 4
                row.update({"User Auth Id": "", "Name": f"Mr. {names.get(t, 'Nobody')}"})
            row["School"] = f"School {t % 60:03d}"
            if t in used:  # one row per teacher and session (a repeated pair is judged twice)
                continue
            used.add(t)
            people.append(row)
        people.append(
            {"User Auth Id": str(7_000_000 + session_no), "Name": "A Student", "SignUp Role": "Student"}
        )
        for person in people:
            if written >= rows:
                break
            out.append([{**base, **person}.get(column, "") for column in HEADER])
            written += 1
    return out


def to_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _typed(column: str, value: str) -> object:
    """A cell as an XLSX export types it: whole numbers as numbers (a Session ID sometimes as a
    float, N-5), ISO times as date-times, the rest as text."""
    if not value:
        return None
    if column == "Date" and value[:4].isdigit():
        return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    if value.isdigit():
        return int(value)
    if value.endswith(".0") and value[:-2].isdigit():
        return float(value)
    return value


def to_xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Session Report")
    sheet.append(HEADER)
    for row in rows:
        sheet.append([_typed(column, value) for column, value in zip(HEADER, row, strict=True)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------
# One case in a child process: first import and re-import of one file, its own peak RSS

REPORT_KEYS = (
    "rows_total",
    "processed",
    "created_events",
    "updated_events",
    "created_participations",
    "updated_participations",
    "unchanged",
    "skipped_other_partner",
    "skipped_role",
    "queued_no_date",
    "skipped_draft_no_date",
    "unmatched_teachers",
    "unmatched_volunteers",
    "invalid",
)


def bench_settings(url: str, rows: int, size: int) -> Settings:
    overrides: dict[str, Any] = {
        "database_url": url,
        "env": "development",
        "jwt_secret": "bench-" + "x" * 40,
        # the benchmark's sizes may exceed the upload bounds (issue 11 item 3); raised for it only
        "upload_max_rows": max(rows + 10, 100_000),
        "upload_max_bytes": max(size * 2, 20 * 1024 * 1024),
    }
    return Settings(**{key: value for key, value in overrides.items() if key in Settings.model_fields})


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def import_file(
    url: str, path: Path, rows: int, *, dry_run: bool = False
) -> tuple[dict[str, Any], float, float]:
    from starlette.datastructures import UploadFile

    data = await asyncio.to_thread(path.read_bytes)
    settings = bench_settings(url, rows, len(data))
    engine = make_engine(url)
    started, cpu_started = time.perf_counter(), time.process_time()
    async with make_sessionmaker(engine)() as session:
        upload = UploadFile(io.BytesIO(data), filename=path.name)
        del data
        report = await import_pathful_upload(
            session, settings, upload, principal=None, mode="full", dry_run=dry_run
        )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    await engine.dispose()
    return report, wall, cpu


async def child(url: str, path: Path, rows: int, dry_run: bool) -> None:
    result: dict[str, Any] = {"baseline_rss_mb": rss_mb()}
    if dry_run:
        _, result["dry_run_s"], _ = await import_file(url, path, rows, dry_run=True)
    report, result["first_s"], result["first_cpu_s"] = await import_file(url, path, rows)
    result["first_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["report"] = {key: report[key] for key in REPORT_KEYS}
    again, result["again_s"], result["again_cpu_s"] = await import_file(url, path, rows)
    result["again_changed"] = again["created_participations"] + again["updated_participations"]
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


# --------------------------------------------------------------------------------------
# Databases: one seeded template, one copy per case


class Databases:
    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgresql")
        self.copies: list[str] = []

    async def copy(self, name: str) -> str:
        parsed = make_url(self.url)
        if not self.postgres:
            target = Path(parsed.database or "").with_name(f"{name}.db")
            shutil.copyfile(parsed.database or "", target)
            return str(parsed.set(database=str(target)).render_as_string(hide_password=False))
        database = f"{parsed.database}_{name}"
        await self._admin(
            f'DROP DATABASE IF EXISTS "{database}"',
            f'CREATE DATABASE "{database}" TEMPLATE "{parsed.database}"',
        )
        self.copies.append(database)
        return str(parsed.set(database=database).render_as_string(hide_password=False))

    async def drop_copies(self) -> None:
        if self.postgres and self.copies:
            await self._admin(*(f'DROP DATABASE IF EXISTS "{name}"' for name in self.copies))

    async def _admin(self, *statements: str) -> None:
        engine = make_engine(
            str(make_url(self.url).set(database="postgres").render_as_string(hide_password=False))
        )
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await connection.execute(text(statement))
        await engine.dispose()


def run_case(url: str, path: Path, rows: int, dry_run: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(path), "--database-url", url, "--rows", str(rows)]
    if dry_run:
        command.append("--dry-run")
    output = subprocess.run(command, capture_output=True, text=True, env=os.environ)
    if output.returncode != 0:
        raise SystemExit(f"case {path.name} failed:\n{output.stdout}\n{output.stderr}")
    line = next(line for line in output.stdout.splitlines() if line.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]))


def cases(sizes: list[int], formats: list[str]) -> Iterator[tuple[int, str]]:
    for rows in sizes:
        for form in formats:
            yield rows, form


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--rows", type=int, nargs="+", default=[30_000], help="one or more sizes")
    parser.add_argument("--format", choices=("csv", "xlsx", "both"), default="both")
    parser.add_argument("--teachers", type=int, default=4_000)
    parser.add_argument("--volunteers", type=int, default=1_500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dry-run", action="store_true", help="also time a dry run before the first import")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        await child(args.database_url, args.child, args.rows[0], args.dry_run)
        return

    workdir = Path(tempfile.mkdtemp(prefix="bench-pathful-"))
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    rng = random.Random(args.seed)
    print(f"database: {url.split('@')[-1]}")
    started = time.perf_counter()
    names = await seed(url, args.teachers, args.volunteers, rng)
    print(
        f"seeded {args.teachers} teachers, {args.volunteers} volunteers in {time.perf_counter() - started:.1f} s"
    )
    formats = ["csv", "xlsx"] if args.format == "both" else [args.format]
    databases = Databases(url)
    results: dict[tuple[int, str], dict[str, Any]] = {}
    try:
        for rows in args.rows:
            data_rows = generate(rows, args.teachers, args.volunteers, names, random.Random(args.seed + rows))
            for form in formats:
                path = workdir / f"report_{rows}.{form}"
                path.write_bytes(to_csv(data_rows) if form == "csv" else to_xlsx(data_rows))
                case_url = await databases.copy(f"case_{rows}_{form}")
                result = run_case(case_url, path, rows, args.dry_run)
                result["mb"] = path.stat().st_size / 1e6
                results[rows, form] = result
                report = result["report"]
                print(
                    f"{form:4} {rows:>7} rows ({result['mb']:5.1f} MB): first import {result['first_s']:6.2f} s "
                    f"(CPU {result['first_cpu_s']:6.2f} s), peak RSS {result['first_peak_rss_mb']:6.0f} MB "
                    f"(process baseline {result['baseline_rss_mb']:.0f} MB); re-import {result['again_s']:6.2f} s, "
                    f"{result['again_changed']} changed"
                    + (f"; dry run {result['dry_run_s']:.2f} s" if "dry_run_s" in result else "")
                )
                print("     " + ", ".join(f"{key} {report[key]}" for key in REPORT_KEYS))
            del data_rows
    finally:
        await databases.drop_copies()
        shutil.rmtree(workdir, ignore_errors=True)

    if len(formats) == 2:
        for rows in args.rows:
            same = results[rows, "csv"]["report"] == results[rows, "xlsx"]["report"]
            print(f"{rows} rows: CSV and XLSX reports {'identical' if same else 'DIFFER'}")
    if len(args.rows) > 1:
        small, large = min(args.rows), max(args.rows)
        for form in formats:
            a, b = results[small, form], results[large, form]
            per_small = a["first_cpu_s"] / small * 1000
            per_large = b["first_cpu_s"] / large * 1000
            print(
                f"linearity {form}: first import CPU per 1,000 rows {per_small:.3f} s at {small}, "
                f"{per_large:.3f} s at {large} (ratio {per_large / per_small:.2f}; 1.00 = linear); "
                f"wall {a['first_s'] / small * 1000:.3f} / {b['first_s'] / large * 1000:.3f} s; "
                f"peak RSS {a['first_peak_rss_mb']:.0f} → {b['first_peak_rss_mb']:.0f} MB"
            )


if __name__ == "__main__":
    asyncio.run(main())
