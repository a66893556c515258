"""Salesforce fixtures for `polaris serve --demo`, generated relative to today so sessions are upcoming.

Realistic on purpose: several districts with schools, about forty upcoming sessions of many
types, some full, some drafts, some in the past, some Data in Action (DIA), some hidden; and a
delivered history (completed and cancelled sessions with volunteers and students) in the past and
the current school year, so every metric of 06 §3 and the district year-end report have figures.
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


HISTORY_TYPES = [
    "Career Fair",
    "Career Speaker",
    "Career Jumping",
    "Math Relays",
    "Classroom Speaker",
    "Workplace Visit",
]
HISTORY_SESSIONS_PER_YEAR = {"before": 4, "past": 12, "current": 12}


def school_year_start(today: dt.date) -> dt.date:
    """August 1 of the school year containing ``today`` (06 §6.1)."""
    return dt.date(today.year if today.month >= 8 else today.year - 1, 8, 1)


def history_days(today: dt.date) -> list[tuple[dt.date, str]]:
    """Days of the delivered sessions and their school year (``before``, ``past``, ``current``):
    a few in the year before the past one (so the past year has returning volunteers too, M92),
    a dozen spread over the past school year, and a dozen over the current one up to yesterday."""
    current = school_year_start(today)
    past, before = current.replace(year=current.year - 1), current.replace(year=current.year - 2)
    days: list[tuple[dt.date, str]] = []
    for year, start, end in (("before", before, past), ("past", past, current), ("current", current, today)):
        count = HISTORY_SESSIONS_PER_YEAR[year]
        span = max((end - start).days - 1, 1)
        for number in range(count):
            offset = 1 + span * number // count
            days.append(
                (min(start + dt.timedelta(days=offset), max(start, end - dt.timedelta(days=1))), year)
            )
    return days


def volunteer_email(n: int) -> str:
    """The personal email of demo volunteer ``n`` (1-40), also used by the demo Pathful report."""
    return f"{FIRST_NAMES[n % len(FIRST_NAMES)].lower()}.{LAST_NAMES[n % len(LAST_NAMES)].lower()}{n}@example.org"


# Mailing ZIP codes of the demo volunteers (08 VOC-6 derives local_status from them): Kansas City
# MO and KS (local), St. Joseph (partial), Austin (non-local), and some without an address.
VOLUNTEER_ZIPS = ["64111", "66102", "64506", "73301", "64106", None, "66211", "64152"]


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
        values: dict[str, Any] = {
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
    history = history_days(today)
    for number, (day, _year) in enumerate(history):
        session_type = HISTORY_TYPES[number % len(HISTORY_TYPES)]
        school = school_names[len(sessions) % len(school_names)]
        add(f"{session_type} - {school} ({day:%b %Y})", session_type, (day - today).days, status="Completed")
    for year in ("past", "current"):  # one cancelled session in each reported year (06 M63)
        day = [d for d, y in history if y == year][2]
        add(f"Career Fair ({day:%b %Y}, cancelled)", "Career Fair", (day - today).days, status="Cancelled")
    people = people_fixtures(today, zone, sessions)
    accounts.extend(people.pop("_organizations"))
    return {"objects": {"Account": accounts, "Session__c": sessions, **people}}


def district_links_for_demo(sessions: list[dict[str, Any]]) -> dict[str, str]:
    """Which SF session goes to which SF district page: about a third of the sessions."""
    return {s["Id"]: s["District__c"] for index, s in enumerate(sessions) if index % 3 == 0}


ORGANIZATIONS = [
    ("Acme Engineering", "Business"),
    ("Heartland Health", "Healthcare"),
    ("Midwest Credit Union", "Financial Services"),
    ("KC Tech Alliance", "Nonprofit"),
    ("Prairie Builders", "Construction"),
]
FIRST_NAMES = ["Ana", "Ben", "Chloe", "Dev", "Elena", "Farah", "Gus", "Hana", "Ivan", "June", "Kofi", "Lena"]
LAST_NAMES = ["Lopez", "Nguyen", "Okafor", "Patel", "Quinn", "Rossi", "Smith", "Tanaka", "Umar", "Vega"]
TITLES = ["Civil Engineer", "Nurse Practitioner", "Loan Officer", "Software Developer", "Project Manager"]
SKILLS = ["Engineering", "Public Speaking", "Healthcare", "Finance", "Coding", "Construction"]
GENDERS = ["Male", "Female", "Non-binary", "Prefer not to answer"]
RACES = ["White", "Black or African American", "Hispanic or Latino", "Asian", "Asian;White"]


def _ts(day: dt.date, zone: dt.tzinfo, hour: int = 10) -> str:
    return _sf_datetime(dt.datetime.combine(day, dt.time(hour), zone))


def people_fixtures(
    today: dt.date, zone: dt.tzinfo, sessions: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Organizations, volunteers, teachers, students, classes, affiliations, participations and
    logged emails for the daily and weekly imports (02 SF-25..SF-35)."""
    rng = random.Random(today.toordinal() + 1)
    school_ids = [_sf_id("0018X00000SCH", index) for index in range(1, len(SCHOOLS) + 1)]
    organizations = [
        {
            "Id": _sf_id("0018X00000ORG", n),
            "Name": name,
            "Type": kind,
            "BillingCity": "Kansas City",
            "BillingState": "MO",
        }
        for n, (name, kind) in enumerate(ORGANIZATIONS, start=1)
    ]
    contacts: list[dict[str, Any]] = []
    affiliations: list[dict[str, Any]] = []
    for n in range(1, 41):
        first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n % len(LAST_NAMES)]
        organization = organizations[n % len(organizations)]
        contact_id = _sf_id("0038X00000VOL", n)
        contacts.append(
            {
                "Id": contact_id,
                "Contact_Type__c": "Volunteer",
                "FirstName": first,
                "LastName": f"{last}{n}",
                "Title": TITLES[n % len(TITLES)],
                "Email": volunteer_email(n),
                "npe01__WorkEmail__c": f"{first.lower()}{n}@{organization['Name'].split()[0].lower()}.example.com",
                "npe01__Preferred_Email__c": "Work" if n % 2 else "Personal",
                "MobilePhone": f"(816) 555-{1000 + n}",
                "Gender__c": GENDERS[n % len(GENDERS)],
                "Racial_Ethnic_Background__c": RACES[n % len(RACES)],
                "Age_Group__c": ["25-34", "35-44", "45-54", "55-64"][n % 4],
                "Highest_Level_of_Educational__c": ["Bachelors", "Masters", "PhD", "High School"][n % 4],
                "Volunteer_Skills__c": ";".join(rng.sample(SKILLS, 2)),
                "MailingCity": "Kansas City",
                "MailingState": "MO",
                "MailingPostalCode": VOLUNTEER_ZIPS[n % len(VOLUNTEER_ZIPS)],
                "npsp__Primary_Affiliation__c": organization["Id"],
            }
        )
        affiliations.append(
            {
                "Id": _sf_id("a0E8X00000AFF", n),
                "npe5__Contact__c": contact_id,
                "npe5__Organization__c": organization["Id"],
                "npe5__Role__c": contacts[-1]["Title"],
                "npe5__Primary__c": True,
                "npe5__Status__c": "Current",
            }
        )
    for n in range(1, 13):
        contacts.append(
            {
                "Id": _sf_id("0038X00000TCH", n),
                "Contact_Type__c": "Teacher",
                "FirstName": FIRST_NAMES[(n + 3) % len(FIRST_NAMES)],
                "LastName": f"Teacher{n}",
                "Title": "Teacher",
                "Email": f"teacher{n}@schools.example.org",
                "Phone": f"(913) 555-{2000 + n}",
                "npsp__Primary_Affiliation__c": school_ids[n % len(school_ids)],
            }
        )
    classes = [
        {
            "Id": _sf_id("a0C8X00000CLS", n),
            "Name": f"Class of {today.year + n}",
            "School__c": school_ids[n % len(school_ids)],
            "Class_Year_Number__c": today.year + n,
        }
        for n in range(1, 5)
    ]
    for n in range(1, 61):
        contacts.append(
            {
                "Id": _sf_id("0038X00000STU", n),
                "Contact_Type__c": "Student",
                "FirstName": FIRST_NAMES[(n + 5) % len(FIRST_NAMES)],
                "LastName": f"Student{n}",
                "Local_Student_ID__c": f"S{100000 + n}",
                "Gender__c": GENDERS[n % 2],
                "Racial_Ethnic_Background__c": RACES[n % len(RACES)],
                "Current_Grade__c": str(9 + n % 4),
                "npsp__Primary_Affiliation__c": school_ids[n % len(school_ids)],
                "Class__c": classes[n % len(classes)]["Id"],
            }
        )
    past_sessions = [
        s for s in sessions if s["Start_Date__c"] < today.isoformat() and s["Session_Status__c"] != "Draft"
    ]
    upcoming = [
        s for s in sessions if s["Start_Date__c"] >= today.isoformat() and s["Session_Status__c"] != "Draft"
    ]
    participants: list[dict[str, Any]] = []
    current_year = school_year_start(today).isoformat()
    for n, session in enumerate(past_sessions + upcoming[:6], start=1):
        past = session in past_sessions
        # earlier years draw on volunteers 1-25, the current year on 11-40: the current year has
        # returning volunteers and first-timers (06 M92)
        pool = range(0, 25) if session["Start_Date__c"] < current_year else range(10, 40)
        for k in range(3):
            volunteer = contacts[pool[(n * 3 + k) % len(pool)]]
            participants.append(
                {
                    "Id": _sf_id("a0P8X00000VPT", len(participants) + 1),
                    "Participant_Type__c": "Volunteer",
                    "Contact__c": volunteer["Id"],
                    "Session__c": session["Id"],
                    "Status__c": "Attended" if past else "Registered",
                    "Delivery_Hours__c": 2 if past else None,
                    "Title__c": volunteer["Title"],
                    "Email__c": volunteer["Email"],
                }
            )
        if past:
            for k in range(10):
                participants.append(
                    {
                        "Id": _sf_id("a0P8X00000SPT", len(participants) + 1),
                        "Participant_Type__c": "Student",
                        "Contact__c": _sf_id("0038X00000STU", (n * 10 + k) % 60 + 1),
                        "Session__c": session["Id"],
                        "Status__c": "Attended" if k < 8 else "No Show",
                        "Delivery_Hours__c": 2,
                    }
                )
    tasks, emails = [], []
    for n in range(1, 21):
        volunteer = contacts[n % 40]
        day = today - dt.timedelta(days=n * 3)
        tasks.append(
            {
                "Id": _sf_id("00T8X00000TSK", n),
                "WhoId": volunteer["Id"],
                "Subject": f"Email: Thank you for volunteering ({n})",
                "Description": "Thanks again for joining us! Students loved your session.",
                "Type": "Email",
                "TaskSubtype": "Email",
                "Status": "Completed",
                "ActivityDate": day.isoformat(),
                "CompletedDateTime": _ts(day, zone),
                "CreatedDate": _ts(day, zone),
            }
        )
        emails.append(
            {
                "Id": _sf_id("02s8X00000EML", n),
                "ActivityId": tasks[-1]["Id"],
                "Subject": tasks[-1]["Subject"].removeprefix("Email: "),
                "TextBody": "Thanks again for joining us! Students loved your session. See you next time.",
                "FromAddress": "staff@prepkc.example.org",
                "ToAddress": volunteer["Email"],
                "Incoming": False,
                "MessageDate": _ts(day, zone, 11),
                "Status": "3",
            }
        )
    emails.append(
        {
            "Id": _sf_id("02s8X00000EML", 99),
            "Subject": "Question about volunteering",
            "TextBody": "Hello, how can I sign up?",
            "FromAddress": "someone.unknown@example.net",
            "ToAddress": "staff@prepkc.example.org",
            "Incoming": True,
            "MessageDate": _ts(today - dt.timedelta(days=2), zone),
        }
    )
    return {
        "Contact": contacts,
        "npe5__Affiliation__c": affiliations,
        "Class__c": classes,
        "Session_Participant__c": participants,
        "Task": tasks,
        "EmailMessage": emails,
        "_organizations": organizations,
    }
