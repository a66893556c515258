"""Helpers for the sync tests: Salesforce records for the test double and HTTP shortcuts."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx

CHICAGO = ZoneInfo("America/Chicago")


def local_today() -> dt.date:
    return dt.datetime.now(dt.UTC).astimezone(CHICAGO).date()


def session_id(n: int) -> str:
    """An 18-character Session__c id."""
    return f"a0S{n:012d}AAA"


def account_id(n: int) -> str:
    return f"001{n:012d}AAA"


def contact_id(n: int) -> str:
    """An 18-character Contact id."""
    return f"003{n:012d}AAA"


def sf_session(n: int, *, days: int = 10, slots: Any = 5, **fields: Any) -> dict[str, Any]:
    """A publishable Session__c record starting ``days`` after today (local)."""
    day = local_today() + dt.timedelta(days=days)
    record: dict[str, Any] = {
        "Id": session_id(n),
        "Name": f"Career day {n}",
        "Available_Slots__c": slots,
        "Filled_Volunteer_Jobs__c": 2,
        "Date_and_Time_for_Cal__c": f"{day:%m/%d/%Y} 9:00 AM - 11:00 AM",
        "Session_Type__c": "Career Fair",
        "Format__c": "In-Person",
        "Registration_Link__c": None,
        "Display_on_Website__c": "Yes",
        "Start_Date__c": day.isoformat(),
        "Start_Date_and_Time__c": f"{day.isoformat()}T15:00:00.000+0000",
        "End_Date_and_Time__c": f"{day.isoformat()}T17:00:00.000+0000",
        "Session_Status__c": "Confirmed",
        "Location_Information__c": "Main hall",
        "Description__c": "Meet people who love their jobs.",
    }
    record.update(fields)
    return record


async def sync(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    kind: str = "salesforce-publishing",
    expect: int = 200,
    **params: Any,
) -> dict[str, Any]:
    """``POST /api/v1/sync/{kind}?wait=true`` and the finished run."""
    response = await client.post(f"/api/v1/sync/{kind}", params={"wait": "true", **params}, headers=headers)
    assert response.status_code == expect, response.text
    return response.json()


async def wait_finished(
    client: httpx.AsyncClient, headers: dict[str, str], run_id: int, within_s: float = 20
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        run = (await client.get(f"/api/v1/sync/runs/{run_id}", headers=headers)).json()
        if run["status"] not in ("queued", "running"):
            return run
        assert asyncio.get_running_loop().time() < deadline, f"run {run_id} still {run['status']}"
        await asyncio.sleep(0.05)
