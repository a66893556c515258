"""`polaris serve --demo`: a Salesforce test double with realistic data, synced into a fresh database.

The double runs in-process (a background thread) for as long as the server runs, so staff can
trigger more syncs from the API. Seeding goes through the real sync runs, the same code path the
scheduler uses; only the district links (a staff action) are written directly.
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
from polaris_api.models.events import Event, EventDistrict
from polaris_api.models.reference import District
from polaris_api.services import sync_runs
from polaris_api.settings import Settings
from polaris_api.sync.salesforce.fake.runner import FakeSalesforce

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
                )
                .tuples()
                .all()
            )
            districts = dict(
                (
                    await session.execute(
                        select(District.salesforce_id, District.id).where(
                            District.salesforce_id.in_(set(links.values()))
                        )
                    )
                )
                .tuples()
                .all()
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
