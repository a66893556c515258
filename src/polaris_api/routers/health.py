"""Liveness and readiness (09 OBS-1)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from polaris_api.migrations import database_revision, head_revision

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "database unreachable or not migrated"}})
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the newest migration."""
    head = head_revision()
    try:
        current = await database_revision(request.app.state.engine)
    except Exception as error:  # any driver error means "not ready"
        return JSONResponse(
            {"status": "unavailable", "reason": f"database unreachable: {type(error).__name__}"},
            status_code=503,
        )
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "reason": "migrations not at head", "database": current, "head": head},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": current})
