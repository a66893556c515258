"""`polaris serve --demo`: a Salesforce test double with realistic data, synced into a fresh database.

The double runs in-process (a background thread) for as long as the server runs, so staff can
trigger more syncs from the API. Seeding goes through the real sync runs, the same code path the
scheduler uses; only the district links (a staff action) are written directly, and the
Polaris-owned metric inputs (school levels, attendance details) go through their services.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from polaris_api.db import make_engine, make_sessionmaker
from polaris_api.demo.fixtures import demo_fixtures, district_links_for_demo
from polaris_api.locality import ZipPrefixes
from polaris_api.models.events import Event, EventDistrict
from polaris_api.models.reference import District
from polaris_api.services import sync_runs
from polaris_api.settings import Settings
from polaris_api.testing.fake_salesforce.runner import FakeSalesforce

log = logging.getLogger(__name__)

# The weekly composite runs every Salesforce import in dependency order (02 SF-50).
DEMO_SYNC_KINDS = ("weekly", "salesforce-publishing")


@contextmanager
def demo_salesforce(settings: Settings) -> Iterator[dict[str, Any]]:
    """Start the double with the demo fixtures and point ``POLARIS_SALESFORCE_*`` at it."""
    today = dt.datetime.now(settings.tz).date()
    fixtures = demo_fixtures(today, settings.tz)
    with FakeSalesforce(fixtures=fixtures) as fake:
        os.environ.update(fake.settings_env())
        yield fixtures


async def run_demo_syncs(settings: Settings, kinds: tuple[str, ...] = DEMO_SYNC_KINDS) -> dict[str, str]:
    """Run each kind to its end through the sync-run service; returns kind → final status."""
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    statuses: dict[str, str] = {}
    try:
        for kind in kinds:
            async with sessionmaker() as session:
                run = await sync_runs.create_run(
                    session, settings, kind=kind, mode="full", trigger="manual", principal=None
                )
                await session.commit()  # the run works in sessions of its own
            await sync_runs.execute_run(sessionmaker, settings, run.id, None)
            async with sessionmaker() as session:
                statuses[kind] = (await sync_runs.get_run(session, run.id)).status
    finally:
        await engine.dispose()
    return statuses


async def link_demo_districts(settings: Settings, fixtures: dict[str, Any]) -> int:
    """About a third of the sessions appear on their district's page (a publishing action)."""
    links = district_links_for_demo(fixtures["objects"]["Session__c"])
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            events = dict(
                (
                    await session.execute(
                        select(Event.salesforce_id, Event.id).where(Event.salesforce_id.in_(links))
                    )
                ).all()
            )
            districts = dict(
                (
                    await session.execute(
                        select(District.salesforce_id, District.id).where(
                            District.salesforce_id.in_(set(links.values()))
                        )
                    )
                ).all()
            )
            created = 0
            for session_id, district_sf_id in links.items():
                if session_id in events and district_sf_id in districts:
                    session.add(
                        EventDistrict(event_id=events[session_id], district_id=districts[district_sf_id])
                    )
                    created += 1
            await session.commit()
            return created
    finally:
        await engine.dispose()


async def seed_demo_virtual(settings: Settings, admin_user_id: int) -> dict[str, object]:
    """Roster and Pathful report for the first demo district (04 demo data)."""
    from polaris_api.demo.fixtures import DISTRICTS
    from polaris_api.demo.virtual import import_demo_virtual

    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            district = (
                await session.execute(select(District).where(District.salesforce_id == DISTRICTS[0][0]))
            ).scalar_one()
    finally:
        await engine.dispose()
    return await import_demo_virtual(settings, admin_user_id, district, dt.datetime.now(settings.tz).date())


def _school_level(name: str) -> str:
    lowered = name.lower()
    if "middle" in lowered:
        return "middle"
    if "high" in lowered or "academy" in lowered:
        return "high"
    return "other"


async def seed_demo_metric_inputs(settings: Settings, admin_user_id: int) -> dict[str, int]:
    """Polaris-owned metric inputs (06 §1), set through the same services as the API (audited):
    every school's level, attendance details (M110) on about half of the delivered in-person
    events, and one manual local-status override (08 VOC-6) on a volunteer without an address."""
    from polaris_api.auth import Principal
    from polaris_api.models.people import Volunteer
    from polaris_api.models.reference import School
    from polaris_api.services import metric_inputs

    actor = Principal(kind="user", id=admin_user_id, security_level=3, user_id=admin_user_id)
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            schools = (await session.execute(select(School.id, School.name).order_by(School.id))).all()
            for school_id, name in schools:
                await metric_inputs.update_school(session, actor, school_id, {"level": _school_level(name)})
            delivered = (
                await session.execute(
                    select(Event.id)
                    .where(
                        Event.status == "completed", Event.format == "in_person", Event.is_deleted.is_(False)
                    )
                    .order_by(Event.id)
                )
            ).scalars()
            details = 0
            for number, event_id in enumerate(delivered):
                if number % 2 == 0:
                    body = {
                        "total_students": 40 + 10 * (number % 7),
                        "num_classrooms": 2 + number % 3,
                        "rotations": 2 + number % 2,
                    }
                    await metric_inputs.put_attendance_detail(session, actor, event_id, body)
                    details += 1
            unknown = (
                await session.execute(
                    select(Volunteer.id)
                    .where(Volunteer.local_status == "unknown")
                    .order_by(Volunteer.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if unknown is not None:
                await metric_inputs.update_volunteer(
                    session,
                    actor,
                    unknown,
                    {"local_status": "local"},
                    ZipPrefixes.of(settings.local_zip_prefixes, settings.partial_zip_prefixes),
                )
            await session.commit()
            return {
                "school_levels": len(schools),
                "attendance_details": details,
                "local_overrides": int(unknown is not None),
            }
    finally:
        await engine.dispose()
