"""Sync runs: trigger a kind, list runs, one run, health per kind (09 OPS-1..OPS-6, 00 §5.1).

Access (07 CAP "trigger syncs"): global staff users of any level, or an API key with
``sync:run`` for the trigger; global staff or a key with ``sync:read`` (or ``sync:run``) to read.

The trigger is recorded as ``manual`` for users and ``api`` for API keys. Only an API key (the
external scheduler, OPS-6) may pass ``trigger=schedule``; it selects the scheduled retry policy
(SF-60: 3 attempts with backoff). A user passing it gets 422 ``invalid_trigger``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import Response

from polaris_api.auth import SyncReader, SyncRunner
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import problem_responses
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.scheduler import next_fire_times
from polaris_api.schemas.common import IdPath, IdQuery
from polaris_api.schemas.sync import SyncHealth, SyncRunAccepted, SyncRunOut, SyncRunSummary, SyncStatus
from polaris_api.services import sync_background, sync_runs
from polaris_api.services import sync_health as sync_health_service
from polaris_api.sync.problems import InvalidTrigger, KindNotAvailable, SyncAlreadyRunning, UnknownSyncKind

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])

KindPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="a kind of 09 §1")]


def _json(model: SyncRunOut | SyncRunAccepted, status_code: int, **headers: str) -> Response:
    return Response(
        model.model_dump_json(), status_code=status_code, media_type="application/json", headers=headers
    )


@router.post(
    "/{kind}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=None,
    responses={
        202: {"model": SyncRunAccepted, "description": "queued; it runs in the background"},
        200: {"model": SyncRunOut, "description": "with wait=true: the finished run (any status)"},
        **problem_responses(
            401, 403, 422, UnknownSyncKind, SyncAlreadyRunning, KindNotAvailable, InvalidTrigger
        ),
    },
)
async def trigger_sync(
    kind: KindPath,
    request: Request,
    principal: SyncRunner,
    session: SessionDep,
    settings: SettingsDep,
    mode: Annotated[
        Literal["full", "incremental"] | None,
        Query(description="default: full for salesforce-publishing and weekly, else incremental"),
    ] = None,
    wait: Annotated[bool, Query(description="run inline and answer 200 with the finished run")] = False,
    trigger: Annotated[
        Literal["schedule"] | None,
        Query(description="API keys only: record the run as scheduled (scheduled retry policy, SF-60)"),
    ] = None,
) -> Response:
    """Start a run of ``kind``. 409 ``sync_already_running`` (with ``running_run_id``) while one
    is queued or running (OPS-2); 404 ``unknown_sync_kind``; 501 ``kind_not_available`` for a
    kind of the OPS table this version does not implement yet."""
    if trigger == "schedule" and principal.kind != "api_key":
        raise InvalidTrigger("Only an API key (the scheduler) may record a run as scheduled.")
    recorded = trigger or ("api" if principal.kind == "api_key" else "manual")
    run = await sync_runs.create_run(
        session, settings, kind=kind, mode=mode, trigger=recorded, principal=principal
    )
    # the run works in sessions of its own (inline or in the background): its row is committed first
    await session.commit()
    sessionmaker = request.app.state.sessionmaker
    if wait:
        await sync_runs.execute_run(sessionmaker, settings, run.id, principal)
        return _json(await sync_runs.get_run(session, run.id), status.HTTP_200_OK)
    sync_background.background_runs(request.app).start(
        sync_runs.execute_run(sessionmaker, settings, run.id, principal), name=f"sync-run-{run.id}"
    )
    return _json(
        SyncRunAccepted(run_id=run.id, status=run.status),
        status.HTTP_202_ACCEPTED,
        Location=f"/api/v1/sync/runs/{run.id}",
    )


@router.get("/runs", response_model=Page[SyncRunSummary], responses=problem_responses(401, 403, 422))
async def list_sync_runs(
    principal: SyncReader,
    session: SessionDep,
    pagination: Pagination,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    status: SyncStatus | None = None,
    parent_run_id: IdQuery | None = None,
) -> Page[SyncRunSummary]:
    """Newest first."""
    statement = sync_runs.list_statement(kind=kind, status=status, parent_run_id=parent_run_id)
    return await paginate(session, statement, pagination, SyncRunSummary.model_validate)


@router.get("/runs/{run_id}", response_model=SyncRunOut, responses=problem_responses(401, 403, 404, 422))
async def get_sync_run(run_id: IdPath, principal: SyncReader, session: SessionDep) -> SyncRunOut:
    """One run with counts, errors (first 100) and watermarks; a composite lists its parts."""
    return await sync_runs.get_run(session, run_id)


@router.get("/health", response_model=SyncHealth, responses=problem_responses(401, 403))
async def sync_health(principal: SyncReader, session: SessionDep, settings: SettingsDep) -> SyncHealth:
    """Every kind of 09 §1: last run, last success, last failure and reason, stale, state (OPS-4),
    and the next time the built-in scheduler starts it (``next_scheduled_at``)."""
    health = await sync_health_service.health(session, settings)
    upcoming = next_fire_times(settings.schedule, settings.tz, health.checked_at)
    for kind in health.kinds:
        kind.next_scheduled_at = upcoming.get(kind.kind)
    return health
