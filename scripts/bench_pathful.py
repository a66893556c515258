"""Benchmark the Pathful import (09 SCALE-2: 30,000 rows in under 30 s; aim for under 20 s).

Migrates the database, seeds realistic matching data (schools, a few thousand teachers with
Pathful ids, emails and roster records, volunteers), generates a Session Report of ``--rows`` rows
as CSV, and imports it through the real service function
(:func:`polaris_api.imports.pathful.importer.import_pathful_table`, the same code the API runs),
then re-imports it (the idempotent path). Prints the durations and the report's counts.

    python scripts/bench_pathful.py                                   # SQLite, temporary file
    python scripts/bench_pathful.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Use an empty database: the script seeds it and does not clean up (drop the PostgreSQL database
afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

import polaris_api.models  # noqa: F401  (registers every table)
from polaris_api.db import make_engine, make_sessionmaker
from polaris_api.imports.pathful.importer import ImportSource, import_pathful_table
from polaris_api.imports.tabular import parse_table
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


def generate(rows: int, teachers: int, volunteers: int, names: dict[int, str], rng: random.Random) -> bytes:
    """A Session Report: sessions of 5 rows (1 professional, 3 educators, 1 student).

    ``names`` maps a teacher's seed index to its full name (for rows matched by name only).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
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
            writer.writerow([{**base, **person}.get(column, "") for column in HEADER])
            written += 1
    return buffer.getvalue().encode()


async def run_import(url: str, data: bytes, label: str, *, dry_run: bool = False) -> dict[str, Any]:
    settings = Settings(database_url=url, env="development", jwt_secret="bench-" + "x" * 40)
    engine = make_engine(url)
    started = time.perf_counter()
    table = parse_table(data, "bench.csv")
    parsed = time.perf_counter()
    async with make_sessionmaker(engine)() as session:
        report = await import_pathful_table(
            session,
            settings,
            table,
            principal=None,
            mode="full",
            dry_run=dry_run,
            source=ImportSource("file", "bench.csv"),
        )
    finished = time.perf_counter()
    await engine.dispose()
    print(
        f"{label:<22} total {finished - started:6.2f} s  (parse {parsed - started:5.2f} s, import {finished - parsed:6.2f} s)"
    )
    return report


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--teachers", type=int, default=4_000)
    parser.add_argument("--volunteers", type=int, default=1_500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    url = (
        args.database_url
        or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='bench-pathful-')) / 'bench.db'}"
    )
    rng = random.Random(args.seed)
    print(f"database: {url.split('@')[-1]}")
    started = time.perf_counter()
    names = await seed(url, args.teachers, args.volunteers, rng)
    print(
        f"seeded {args.teachers} teachers, {args.volunteers} volunteers in {time.perf_counter() - started:.1f} s"
    )
    data = generate(args.rows, args.teachers, args.volunteers, names, rng)
    print(f"report: {args.rows} rows, {len(data) / 1e6:.1f} MB")
    await run_import(url, data, "dry run", dry_run=True)
    report = await run_import(url, data, "first import")
    keys = (
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
    print("  " + ", ".join(f"{key} {report[key]}" for key in keys))
    again = await run_import(url, data, "re-import (no change)")
    print("  " + ", ".join(f"{key} {again[key]}" for key in keys if again[key]))


if __name__ == "__main__":
    asyncio.run(main())
