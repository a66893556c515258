"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from polaris_api import __version__
from polaris_api.db import make_engine, make_sessionmaker
from polaris_api.errors import install_error_handlers
from polaris_api.observability import RequestContextMiddleware, configure_logging
from polaris_api.ratelimit import Limits, RateLimiter
from polaris_api.routers import (
    api_keys,
    audit,
    auth,
    column_aliases,
    communications,
    events,
    health,
    imports,
    meta,
    metric_inputs,
    metrics,
    organizations,
    outbox,
    public,
    publishing,
    recruitment,
    reference,
    reports,
    roster,
    signup,
    sync,
    teacher_access,
    teacher_progress,
    teachers,
    users,
    virtual_events,
    volunteers,
)
from polaris_api.runtime import tune_garbage_collector
from polaris_api.services import identity, sync_background
from polaris_api.services.outbox import BackgroundWorker
from polaris_api.settings import Settings, get_settings

log = logging.getLogger(__name__)

PUBLIC_PREFIX = "/api/v1/public/"

DESCRIPTION = """
One JSON service for the nonprofit's data: Salesforce sync, publishing controls, the public
event listing and volunteer signup, Pathful and roster imports, teacher progress and metrics.

Staff authenticate with `POST /api/v1/auth/token` (OAuth2 password form) and send
`Authorization: Bearer <token>`; machine clients send `X-API-Key`. Errors are RFC 9457
problem details (`application/problem+json`) whose `code` each endpoint lists under its error
responses (`x-problem-codes`); any endpoint may also answer 500 `internal_error`, 422
`invalid_value` (a value the database cannot store) and 400 `bad_request` (a body that is not
parseable). Lists are paginated (`page`, `page_size` ≤ 200).
"""


class PublicCORS:
    """CORS only on the public endpoints (LIST-10): allow-listed origins, no credentials."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Content-Type", "If-None-Match", "Idempotency-Key"],
            expose_headers=["ETag", "Retry-After", "X-Request-ID"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PUBLIC_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class StaffCORS:
    """CORS on the staff API for the origins that host the staff console elsewhere (issue 12):
    allow-listed origins only, bearer tokens in ``Authorization``, never cookies (no credentials)."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "Idempotency-Key"],
            expose_headers=["ETag", "Retry-After", "X-Request-ID", "Content-Disposition"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/api/") and not path.startswith(PUBLIC_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


DEMO_PAGE_DIR = Path(__file__).resolve().parents[2] / "clients" / "web"
# The staff console: polaris_api/console is a link to clients/web/console in a source checkout and
# the files themselves in an installed wheel (package data in pyproject.toml).
CONSOLE_DIR = Path(__file__).resolve().parent / "console"


def console_csp(settings: Settings) -> str:
    """A strict policy: the console has no inline scripts or styles (issue 12 item 2)."""
    connect = "'self'" + (f" {settings.console_api_origin}" if settings.console_api_origin else "")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    )


class ConsoleFiles(StaticFiles):
    """The console's static files with the strict CSP on every response."""

    def __init__(self, *, directory: Path, csp: str) -> None:
        super().__init__(directory=directory, html=True)
        self.csp = csp

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = self.csp
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_console(app: FastAPI, settings: Settings) -> None:
    """Serve the staff console at /console/ (setting ``POLARIS_CONSOLE_ENABLED``)."""
    if settings.console_enabled and (CONSOLE_DIR / "index.html").is_file():
        app.mount("/console", ConsoleFiles(directory=CONSOLE_DIR, csp=console_csp(settings)), name="console")


def mount_demo_page(app: FastAPI) -> None:
    """Serve the static website example (clients/web) at /demo/, same origin as the API."""
    if DEMO_PAGE_DIR.is_dir():
        app.mount("/demo", StaticFiles(directory=DEMO_PAGE_DIR, html=True), name="demo")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check()
    log_format = (
        settings.log_format
        if settings.log_format != "auto"
        else ("json" if settings.is_production else "text")
    )
    configure_logging(settings.log_level, log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.bootstrap_admin_email and settings.bootstrap_admin_password:
            async with app.state.sessionmaker() as session:
                await identity.ensure_bootstrap_admin(
                    session,
                    settings.bootstrap_admin_email,
                    settings.bootstrap_admin_password.get_secret_value(),
                )
                await session.commit()  # no request around it: startup is its own unit of work
        if settings.gc_tuning:
            tune_garbage_collector()  # P2: see runtime.py
        worker = BackgroundWorker(app.state.sessionmaker, settings)  # MAIL-4
        if settings.outbox_worker_enabled:
            worker.start()
        yield
        await worker.stop()
        await sync_background.stop_background_runs(app)  # running syncs end as failed (cancelled)
        await app.state.engine.dispose()

    app = FastAPI(
        title="Polaris API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit_storage,
        key_prefix=settings.rate_limit_key_prefix,
        timeout_seconds=settings.rate_limit_timeout_seconds,
    )
    app.state.limits = Limits.from_settings(
        settings.login_rate_limit_per_minute,
        settings.signup_rate_limit_per_minute,
        settings.signup_rate_limit_per_day,
    )

    install_error_handlers(app, check_documented=not settings.is_production)
    for router in (
        health.router,
        auth.router,
        users.router,
        api_keys.router,
        audit.router,
        meta.router,
        signup.router,
        outbox.router,
        public.router,
        publishing.router,
        reference.router,
        sync.router,
        roster.router,
        imports.router,
        teachers.router,
        teacher_progress.router,
        teacher_access.router,
        events.router,
        virtual_events.router,
        recruitment.router,
        reports.router,
        volunteers.router,
        communications.router,
        column_aliases.router,
        organizations.router,
        metric_inputs.router,
        metrics.router,
    ):
        app.include_router(router)

    mount_demo_page(app)
    mount_console(app, settings)
    app.add_middleware(public.ListingFastPath)  # inside PublicCORS: same CORS headers (issue 13 item 6)
    app.add_middleware(PublicCORS, origins=settings.cors_origins)
    if settings.console_origins:
        app.add_middleware(StaffCORS, origins=settings.console_origins)
    app.add_middleware(RequestContextMiddleware)
    return app
