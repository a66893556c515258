"""Demo roster and Pathful report (04): generated around today so teacher progress shows all three
statuses (achieved, in progress, not started), imported through the real import services. The
report also holds one delivered session per teacher in the past school year, and its presenters
are demo Salesforce volunteers (06 M70-M84 for both years)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from polaris_api.auth import Principal
from polaris_api.db import make_engine, make_sessionmaker
from polaris_api.demo.fixtures import FIRST_NAMES, LAST_NAMES, school_year_start, volunteer_email
from polaris_api.imports.pathful.importer import import_pathful_table
from polaris_api.imports.roster import import_roster
from polaris_api.imports.tabular import parse_table
from polaris_api.models.reference import District
from polaris_api.settings import Settings

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


# Demo Salesforce volunteers who present virtual sessions (06 M81/M82: a local presenter, a
# presenter of colour): volunteer numbers of demo.fixtures, with different ZIP codes and races.
PRESENTERS = (1, 10, 3, 4)


def academic_year(today: dt.date) -> str:
    start = school_year_start(today).year
    return f"{start}-{start + 1}"


def _presenter(index: int) -> tuple[str, str]:
    n = PRESENTERS[index % len(PRESENTERS)]
    return f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[n % len(LAST_NAMES)]}{n}", volunteer_email(n)


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
        presenter, presenter_email = _presenter(session_number)
        stamp = f"{when.isoformat()} 10:00:00"
        writer.writerow([
            session_number, title, stamp, status, 45, 3000000 + session_number, name, "Educator", school,
            district_name, "PREP-KC", 25, 22 if status == "Completed" else 0, 1, attended, "Health Science", email,
        ])  # fmt: skip
        writer.writerow([
            session_number, title, stamp, status, 45, 4000000 + session_number, presenter, "Professional",
            "", "Midtown Health", "PREP-KC", 25, 22 if status == "Completed" else 0, 1, attended, "Health Science",
            presenter_email,
        ])  # fmt: skip

    window_start = school_year_start(today)
    past = max(window_start + dt.timedelta(days=7), today - dt.timedelta(days=20))
    last_year = window_start.replace(year=window_start.year - 1) + dt.timedelta(days=45)
    for index, (email, name, building, _target, story) in enumerate(DEMO_TEACHERS):
        topic = topics[index % len(topics)]
        # the past school year: every teacher attended one session (06 M70-M73 for that year)
        session_row(topic, last_year + dt.timedelta(days=14 * index), "Completed", name, email, building, 1)
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
            await session.commit()  # services flush; the caller owns the transaction
        async with make_sessionmaker(engine)() as session:
            pathful = await import_pathful_table(
                session,
                settings,
                parse_table(pathful_csv(today, district.name), "pathful.csv"),
                principal=actor,
                mode="full",  # the past school year's sessions too
            )
    finally:
        await engine.dispose()
    return {
        "roster_rows_added": roster["added"],
        "pathful_rows": pathful["rows_total"],
        "pathful_rows_processed": pathful["processed"],
    }
