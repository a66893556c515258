"""06 §7 ``meta`` block: the one builder for /metrics, the year-end report and teacher progress.

``data_freshness.salesforce`` has one key per Salesforce object the response reads: the finish
time of that object's latest ``succeeded`` or ``partial`` sync run (``null`` if none);
``pathful`` is the finish time of the latest committed Pathful import, present only when the
response reads virtual data. Three small queries, whatever the response.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.db import utcnow
from polaris_api.models.imports import ImportRun
from polaris_api.models.sync import SyncRun
from polaris_api.services.metrics.parameters import virtual_students_per_teacher
from polaris_api.services.metrics.sql import METRICS_VERSION

# 06 §7: Salesforce object -> the sync kind that imports it (09 §1).
SALESFORCE_KINDS: dict[str, str] = {
    "events": "salesforce-events",
    "schools": "salesforce-districts-schools",
    "districts": "salesforce-districts-schools",
    "volunteers": "salesforce-volunteers",
    "volunteer_participations": "salesforce-volunteer-participations",
    "students": "salesforce-students",
    "student_participations": "salesforce-student-participations",
    "teachers": "salesforce-teachers",
}
ALWAYS = ("events", "schools", "districts")
VOLUNTEER_OBJECTS = ("volunteers", "volunteer_participations")
STUDENT_OBJECTS = ("students", "student_participations")
TEACHER_OBJECTS = ("teachers",)
ALL_OBJECTS = tuple(SALESFORCE_KINDS)
PATHFUL_KINDS = ("pathful", "undated_resolution")  # imports that commit Pathful session data


def iso_z(value: dt.datetime | None) -> str | None:
    """§7 timestamps: UTC ISO-8601 with ``Z``."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


async def data_freshness(session: AsyncSession, objects: Iterable[str], *, pathful: bool) -> dict[str, Any]:
    """§7 ``data_freshness`` for the Salesforce objects read (plus the always-present three)."""
    wanted = [name for name in SALESFORCE_KINDS if name in set(objects) | set(ALWAYS)]
    kinds = sorted({SALESFORCE_KINDS[name] for name in wanted})
    finished = dict(
        (
            await session.execute(
                select(SyncRun.kind, func.max(SyncRun.finished_at))
                .where(SyncRun.kind.in_(kinds), SyncRun.status.in_(("succeeded", "partial")))
                .group_by(SyncRun.kind)
            )
        ).all()
    )
    block: dict[str, Any] = {
        "salesforce": {name: iso_z(finished.get(SALESFORCE_KINDS[name])) for name in wanted}
    }
    if pathful:
        latest = (
            await session.execute(
                select(func.max(ImportRun.finished_at)).where(
                    ImportRun.kind.in_(PATHFUL_KINDS),
                    ImportRun.status == "succeeded",
                    ImportRun.dry_run.is_(False),
                )
            )
        ).scalar_one()
        block["pathful"] = iso_z(latest)
    return block


async def build_meta(
    session: AsyncSession,
    *,
    filters: dict[str, Any],
    objects: Iterable[str],
    pathful: bool,
    n: int | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The §7 block. ``filters`` must already hold every filter key of the endpoint, normalised
    (``None`` / ``[]`` when not applied); ``n`` is G8's value when the caller has read it."""
    return {
        "metrics_version": METRICS_VERSION,
        "computed_at": iso_z(now or utcnow()),
        "cached": False,
        "filters": filters,
        "parameters": {
            "virtual_students_per_teacher": n
            if n is not None
            else await virtual_students_per_teacher(session)
        },
        "data_freshness": await data_freshness(session, objects, pathful=pathful),
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso_z(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def meta_json(meta: dict[str, Any]) -> str:
    """The block as compact JSON (dates ``YYYY-MM-DD``, timestamps with ``Z``)."""
    return json.dumps(meta, default=_json_default, separators=(",", ":"), sort_keys=False)


def meta_header(meta: dict[str, Any]) -> str:
    """§7 CSV exports: ``X-Report-Meta`` = the JSON, base64url (padded)."""
    return base64.urlsafe_b64encode(meta_json(meta).encode()).decode()
