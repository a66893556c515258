"""Salesforce fixtures for `polaris serve --demo`, generated relative to today so sessions are upcoming.

Realistic on purpose: several districts with schools, about forty upcoming sessions of many
types, some full, some drafts, some in the past, some Data in Action (DIA), some hidden.
Deterministic for a given date (seeded), in the test double's fixture format (02 SF-76).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

DISTRICTS = [
    ("0018X00000DIST0001", "Kansas City Kansas Public Schools", "KCKPS"),
    ("0018X00000DIST0002", "Kansas City Public Schools", "KCPS"),
    ("0018X00000DIST0003", "Hickman Mills C-1", "HMC1"),
    ("0018X00000DIST0004", "North Kansas City Schools", "NKC"),
    ("0018X00000DIST0005", "Grandview C-4", "GV"),
]

SCHOOLS = [
    ("Wyandotte High School", 0),
    ("Washington High School", 0),
    ("Central Middle School", 0),
    ("Northeast High School", 1),
    ("Lincoln College Preparatory Academy", 1),
    ("Southeast High School", 1),
    ("Ruskin High School", 2),
    ("Smith-Hale Middle School", 2),
    ("Staley High School", 3),
    ("Oak Park High School", 3),
    ("Grandview High School", 4),
]

SESSION_TYPES = [
    "Career Fair",
    "Career Speaker",
    "Career Jumping",
    "Employability Skills",
    "Workplace Visit",
    "Pathway Campus Visits",
    "Classroom Speaker",
    "Math Relays",
    "Financial Literacy",
    "Mentoring",
]

LOCATIONS = [
    "2501 Minnesota Ave, Kansas City, KS",
    "4848 Woodland Ave, Kansas City, MO",
    "7302 Pennsylvania Ave, Kansas City, MO",
    "6001 N Kansas City Rd, Kansas City, MO",
    "2300 E 8th St, Kansas City, MO",
]

DESCRIPTIONS = [
    "Talk with juniors about your career path and answer their questions.",
    "Run a hands-on station so students can try a task from your job.",
    "Mock interviews and resume feedback for seniors.",
    "Share how you got where you are: the detours count too.",
]


def _sf_id(prefix: str, number: int) -> str:
    return f"{prefix}{number:0{18 - len(prefix)}d}"


def _sf_datetime(value: dt.datetime) -> str:
    """Salesforce sends datetimes in UTC: ``2025-03-05T14:15:00.000+0000``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _session(
    number: int,
    *,
    name: str,
    session_type: str,
    start: dt.datetime,
    status: str,
    slots: int,
    filled: int,
    display: str,
    school_id: str,
    district_id: str,
    rng: random.Random,
) -> dict[str, Any]:
    end = start + dt.timedelta(hours=2)
    session_id = _sf_id("a0B8X0000", number)
    return {
        "Id": session_id,
        "Name": name,
        "Session_Type__c": session_type,
        "Session_Status__c": status,
        "Format__c": "In-Person",
        "Start_Date__c": start.date().isoformat(),
        "Start_Date_and_Time__c": _sf_datetime(start),
        "End_Date_and_Time__c": _sf_datetime(end),
        "Date_and_Time_for_Cal__c": f"{start:%m/%d/%Y %I:%M %p} to {end:%I:%M %p}",
        "Available_Slots__c": slots,
        "Filled_Volunteer_Jobs__c": filled,
        "Total_Requested_Volunteer_Jobs__c": slots + filled,
        "Display_on_Website__c": display,
        "Location_Information__c": rng.choice(LOCATIONS),
        "Description__c": rng.choice(DESCRIPTIONS),
        "Registration_Link__c": f"https://forms.example.org/volunteer?sessionId={session_id}",
        "School__c": school_id,
        "District__c": district_id,
    }


def demo_fixtures(today: dt.date, zone: dt.tzinfo) -> dict[str, Any]:
    """Accounts (districts, schools) and Session__c records around ``today``."""
    rng = random.Random(today.toordinal())
    accounts: list[dict[str, Any]] = [
        {"Id": sf_id, "Name": name, "Type": "School District", "School_Code_External_ID__c": code}
        for sf_id, name, code in DISTRICTS
    ]
    schools: list[tuple[str, str]] = []
    for index, (name, district_index) in enumerate(SCHOOLS, start=1):
        school_id = _sf_id("0018X00000SCH", index)
        district_id = DISTRICTS[district_index][0]
        accounts.append(
            {
                "Id": school_id,
                "Name": name,
                "Type": "School",
                "ParentId": district_id,
                "School_Code_External_ID__c": f"S{index:03d}",
            }
        )
        schools.append((school_id, district_id))

    sessions: list[dict[str, Any]] = []

    def add(name: str, session_type: str, days_ahead: int, **overrides: Any) -> None:
        school_id, district_id = schools[len(sessions) % len(schools)]
        hour = rng.choice([8, 9, 10, 12, 13])
        start = dt.datetime.combine(
            today + dt.timedelta(days=days_ahead), dt.time(hour, rng.choice([0, 30])), zone
        )
        values = {
            "status": "Confirmed",
            "slots": rng.randint(2, 12),
            "filled": rng.randint(0, 6),
            "display": "Yes",
            "school_id": school_id,
            "district_id": district_id,
        } | overrides
        sessions.append(
            _session(len(sessions) + 1, name=name, session_type=session_type, start=start, rng=rng, **values)
        )

    school_names = [name for name, _ in SCHOOLS]
    for number in range(36):
        session_type = SESSION_TYPES[number % len(SESSION_TYPES)]
        school = school_names[number % len(school_names)]
        add(
            f"{session_type} - {school}",
            session_type,
            2 + number * 2,
            status=rng.choice(["Confirmed", "Published", "Requested"]),
        )
    for number in range(4):
        add(f"Career Fair - {school_names[number]} (full)", "Career Fair", 5 + number * 7, slots=0, filled=10)
    add("DIA Classroom Speaker - Wyandotte High School", "DIA - Classroom Speaker", 9)
    add("Data in Action: DIA Showcase", "DIA", 16, display="No")
    add("DIA Data Visualization Workshop", "Data Viz", 23)
    add("Mentoring Kickoff - Staley High School (staff only)", "Mentoring", 12, display="No")
    add("Employability Skills - Ruskin High School (hidden)", "Employability Skills", 19, display="No")
    for number in range(3):
        add(f"Draft: Career Speaker {number + 1}", "Career Speaker", 10 + number, status="Draft")
    for number in range(3):
        add(f"Past Workplace Visit {number + 1}", "Workplace Visit", -(number + 3))
    return {"objects": {"Account": accounts, "Session__c": sessions}}


def district_links_for_demo(sessions: list[dict[str, Any]]) -> dict[str, str]:
    """Which SF session goes to which SF district page: about a third of the sessions."""
    return {s["Id"]: s["District__c"] for index, s in enumerate(sessions) if index % 3 == 0}
