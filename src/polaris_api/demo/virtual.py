"""Demo roster and Pathful report (04): generated around today so teacher progress shows all three
statuses (achieved, in progress, not started), imported through the real import services."""

from __future__ import annotations

import csv
import datetime as dt
import io

from polaris_api.auth import Principal
from polaris_api.db import make_engine, make_sessionmaker
from polaris_api.models.reference import District
from polaris_api.services.pathful_import import import_pathful_table
from polaris_api.services.roster_import import import_roster
from polaris_api.settings import Settings
from polaris_api.sync.tabular import parse_table

DEMO_TEACHERS = [
    # email, name, building, target sessions, what happens in Pathful
    ("maria.delgado@kckps.example.org", "Maria Delgado", "Wyandotte High School", 1, "completed"),
    ("andre.wallace@kckps.example.org", "Andre Wallace", "Washington High School", 2, "completed+future"),
    ("grace.lin@kckps.example.org", "Grace Lin", "Central Middle School", 1, "future"),
    ("samuel.okafor@kckps.example.org", "Samuel Okafor", "Wyandotte High School", 1, "no_show"),
    ("beth.coleman@kckps.example.org", "Beth Coleman", "Central Middle School", 1, "none"),
    ("owen.hart@kckps.example.org", "Owen Hart", "Washington High School", 2, "completed+completed"),
]

PATHFUL_HEADER = [
    "Session ID", "Title", "Date", "Status", "Duration", "User Auth Id", "Name", "SignUp Role", "School",
    "District or Company", "Partner", "Registered Student Count", "Attended Student Count",
    "Registered Educator Count", "Attended Educator Count", "Career Cluster", "Educator Email",
]  # fmt: skip


def academic_year(today: dt.date) -> str:
    start = today.year if today.month >= 8 else today.year - 1
    return f"{start}-{start + 1}"


def roster_csv(today: dt.date) -> bytes:
    year = academic_year(today)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "Teacher Email",
            "Teacher Name",
            "School/Building",
            "Grade",
            "Academic Year",
            "Virtual Year",
            "Target Sessions",
        ]
    )
    for email, name, building, target, _ in DEMO_TEACHERS:
        writer.writerow([email, name, building, "10", year, year, target])
    return out.getvalue().encode()


def pathful_csv(today: dt.date, district_name: str) -> bytes:
    """Sessions in this academic year: completed ones in the past, published ones ahead."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PATHFUL_HEADER)
    session_number = 61000
    topics = [
        "Careers in Nursing",
        "Bridge Design Challenge",
        "Cybersecurity Basics",
        "A Day as a Veterinarian",
    ]

    def session_row(
        title: str, when: dt.date, status: str, name: str, email: str, school: str, attended: int
    ) -> None:
        nonlocal session_number
        session_number += 1
        stamp = f"{when.isoformat()} 10:00:00"
        writer.writerow([
            session_number, title, stamp, status, 45, 3000000 + session_number, name, "Educator", school,
            district_name, "PREP-KC", 25, 22 if status == "Completed" else 0, 1, attended, "Health Science", email,
        ])  # fmt: skip
        writer.writerow([
            session_number, title, stamp, status, 45, 4000000 + session_number, "Dr. Evelyn Park", "Professional",
            "", "Midtown Health", "PREP-KC", 25, 22 if status == "Completed" else 0, 1, attended, "Health Science", "",
        ])  # fmt: skip

    window_start = dt.date(int(academic_year(today)[:4]), 8, 1)
    past = max(window_start + dt.timedelta(days=7), today - dt.timedelta(days=20))
    for index, (email, name, building, _target, story) in enumerate(DEMO_TEACHERS):
        topic = topics[index % len(topics)]
        for part_number, part in enumerate(story.split("+")):
            if part == "completed":
                session_row(
                    topic, past - dt.timedelta(days=part_number), "Completed", name, email, building, 1
                )
            elif part == "no_show":
                session_row(topic, past, "Completed", name, email, building, 0)
            elif part == "future":
                session_row(
                    topic, today + dt.timedelta(days=10 + index), "Published", name, email, building, 0
                )
    return out.getvalue().encode()


async def import_demo_virtual(
    settings: Settings, admin_user_id: int, district: District, today: dt.date
) -> dict[str, object]:
    """Import the demo roster into ``district``, then the demo Pathful report. Returns both totals."""
    actor = Principal(kind="user", id=admin_user_id, security_level=3, user_id=admin_user_id)
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            roster = await import_roster(
                session, parse_table(roster_csv(today), "roster.csv"), district_id=district.id, actor=actor,
                settings=settings, source_name="demo-roster.csv",
            )  # fmt: skip
        async with make_sessionmaker(engine)() as session:
            pathful = await import_pathful_table(
                session,
                settings,
                parse_table(pathful_csv(today, district.name), "pathful.csv"),
                principal=actor,
            )
    finally:
        await engine.dispose()
    return {
        "roster_rows_added": roster["added"],
        "pathful_rows": pathful["rows_total"],
        "pathful_rows_processed": pathful["processed"],
    }
