"""The ``polaris`` command line (00 §5.1).

Set-up commands (``db``, ``users create``) work on the database directly; the rest talk to a
running server through the Python client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from polaris_api.settings import Settings

app = typer.Typer(
    help="Polaris API: serve, migrate, manage users, run syncs and imports.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema (Alembic).", no_args_is_help=True)
users_app = typer.Typer(help="Staff users.", no_args_is_help=True)
dev_app = typer.Typer(help="Development tools.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
sync_app = typer.Typer(help="Salesforce and other syncs, through a running server.", no_args_is_help=True)
app.add_typer(dev_app, name="dev")
app.add_typer(sync_app, name="sync")
outbox_app = typer.Typer(help="Email outbox (09 MAIL-*).", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
import_app = typer.Typer(help="File imports through a running server.", no_args_is_help=True)
app.add_typer(import_app, name="import")

console = Console()
err_console = Console(stderr=True)

LEVELS = {"user": 0, "supervisor": 1, "manager": 2, "admin": 3}
DEMO_DATABASE = "polaris-demo.db"
DEMO_ADMIN_EMAIL = "admin@demo.example.org"


async def _upgrade(settings: Settings) -> None:
    from polaris_api.db import make_engine
    from polaris_api.migrations import upgrade

    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database to the newest migration."""
    settings = Settings()
    asyncio.run(_upgrade(settings))
    console.print("database upgraded to head")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "base") -> None:
    """Downgrade the database (to `base` by default: drops every table)."""
    from polaris_api.db import make_engine
    from polaris_api.migrations import downgrade

    async def run() -> None:
        engine = make_engine(Settings().database_url)
        try:
            await downgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
    console.print(f"database downgraded to {revision}")


async def _create_user(
    settings: Settings, email: str, password: str, level: int, districts: list[int]
) -> int:
    from polaris_api.db import make_engine, make_sessionmaker
    from polaris_api.schemas.identity import UserCreate
    from polaris_api.services.identity import create_user

    body = UserCreate(
        email=email,
        password=password,
        security_level=level,
        scope_type="district" if districts else "global",
        allowed_district_ids=districts,
    )
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            user = await create_user(session, None, body)
            return user.id
    finally:
        await engine.dispose()


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="login email")],
    password: Annotated[str, typer.Option(help="at least 12 characters", prompt=True, hide_input=True)],
    level: Annotated[str, typer.Option(help="admin, manager, supervisor or user")] = "user",
    district_id: Annotated[
        list[int] | None, typer.Option(help="restrict to these districts (repeat)")
    ] = None,
) -> None:
    """Create a staff user directly in the database."""
    from pydantic import ValidationError

    from polaris_api.errors import Problem

    if level not in LEVELS:
        raise typer.BadParameter(f"level must be one of {', '.join(LEVELS)}")
    try:
        user_id = asyncio.run(_create_user(Settings(), email, password, LEVELS[level], district_id or []))
    except ValidationError as error:
        fields = ", ".join(str(e["loc"][0]) for e in error.errors())
        err_console.print(f"[red]invalid {fields}[/red]")
        raise typer.Exit(2) from None
    except Problem as problem:
        err_console.print(f"[red]{problem.detail}[/red]")
        raise typer.Exit(2) from None
    console.print(f"created user {user_id} ({level})")


@app.command()
def serve(
    demo: Annotated[bool, typer.Option(help="fresh SQLite demo database with an admin account")] = False,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    migrate: Annotated[
        bool | None, typer.Option(help="upgrade the schema first (default: not in production)")
    ] = None,
) -> None:
    """Run the API with uvicorn."""
    import uvicorn

    with contextlib.ExitStack() as stack:
        fixtures = None
        if demo:
            from polaris_api.demo.seed import demo_salesforce

            Path(DEMO_DATABASE).unlink(missing_ok=True)
            os.environ["POLARIS_DATABASE_URL"] = f"sqlite+aiosqlite:///./{DEMO_DATABASE}"
            fixtures = stack.enter_context(demo_salesforce(Settings()))
        settings = Settings()
        if migrate is None:
            migrate = not settings.is_production
        if migrate or demo:
            asyncio.run(_upgrade(settings))
        if demo and fixtures is not None:
            password = secrets.token_urlsafe(12)
            admin_id = asyncio.run(_create_user(settings, DEMO_ADMIN_EMAIL, password, LEVELS["admin"], []))
            _seed_demo(settings, fixtures, admin_id)
            console.print(f"[bold]Demo admin[/bold]: {DEMO_ADMIN_EMAIL} / {password}")
            console.print(
                f"API docs: http://{host}:{port}/docs · website example: http://{host}:{port}/demo/"
            )
        uvicorn.run("polaris_api.app:create_app", factory=True, host=host, port=port, log_config=None)


def _seed_demo(settings: Settings, fixtures: dict, admin_id: int) -> None:  # type: ignore[type-arg]
    """Demo data through the real code paths: Salesforce syncs, staff district links, then a
    district roster and a Pathful report so teacher progress shows every status, then the
    Polaris-owned metric inputs (06 §1) through their services."""
    from polaris_api.demo.seed import (
        link_demo_districts,
        run_demo_syncs,
        seed_demo_metric_inputs,
        seed_demo_virtual,
    )

    statuses = asyncio.run(run_demo_syncs(settings))
    links = asyncio.run(link_demo_districts(settings, fixtures))
    virtual = asyncio.run(seed_demo_virtual(settings, admin_id))
    inputs = asyncio.run(seed_demo_metric_inputs(settings, admin_id))
    summary = ", ".join(f"{kind} {status}" for kind, status in statuses.items())
    console.print(f"demo data: {summary}, {links} district links, virtual: {virtual}, metric inputs: {inputs}")


UrlOption = Annotated[str, typer.Option("--url", envvar="POLARIS_URL", help="base URL of a running server")]
ApiKeyOption = Annotated[
    str | None, typer.Option("--api-key", envvar="POLARIS_API_KEY", help="API key (X-API-Key)")
]
TokenOption = Annotated[str | None, typer.Option("--token", envvar="POLARIS_TOKEN", help="bearer token")]


def _client(url: str, api_key: str | None, token: str | None):  # type: ignore[no-untyped-def]
    from polaris_client import PolarisClient

    return PolarisClient(url, api_key=api_key, token=token)


def _fail(error: Exception) -> typer.Exit:
    err_console.print(f"[red]{error}[/red]")
    return typer.Exit(1)


FINISHED_STATUSES = {"succeeded", "partial", "failed"}


@sync_app.command("run")
def sync_run(
    kind: Annotated[str, typer.Argument(help="e.g. salesforce-publishing, daily, weekly")],
    mode: Annotated[str | None, typer.Option(help="full or incremental")] = None,
    wait: Annotated[bool, typer.Option(help="follow the run until it finishes")] = False,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
    poll_seconds: Annotated[float, typer.Option(help="how often to poll while waiting")] = 1.0,
) -> None:
    """Trigger a sync; with --wait, show its counts live and exit 1 unless it succeeded (OBS-3)."""
    import time

    from polaris_client import PolarisError
    from rich.live import Live

    with _client(url, api_key, token) as client:
        try:
            started = client.run_sync(kind, mode=mode, wait=False)
            run_id = int(started.get("run_id") or started.get("id") or 0)
            console.print(f"sync run {run_id} ({kind}) {started.get('status')}")
            if not wait:
                return
            run = client.sync_run(run_id)
            with Live(console=console, transient=False) as live:
                while run.get("status") not in FINISHED_STATUSES:
                    live.update(_run_line(run))
                    time.sleep(poll_seconds)
                    run = client.sync_run(run_id)
                live.update(_run_line(run))
        except PolarisError as error:
            raise _fail(error) from None
    if run.get("status") != "succeeded":
        raise typer.Exit(1)


def _run_line(run: dict) -> str:  # type: ignore[type-arg]
    counts = ", ".join(f"{key} {value}" for key, value in (run.get("counts") or {}).items())
    return f"[bold]{run.get('kind')}[/bold] {run.get('status')}  {counts}"


@sync_app.command("health")
def sync_health(
    url: UrlOption = "http://127.0.0.1:8000", api_key: ApiKeyOption = None, token: TokenOption = None
) -> None:
    """Health of every sync kind (OPS-4)."""
    import json

    from polaris_client import PolarisError

    with _client(url, api_key, token) as client:
        try:
            health = client.sync_health()
        except PolarisError as error:
            raise _fail(error) from None
    console.print_json(json.dumps(health))


@dev_app.command("fake-salesforce")
def dev_fake_salesforce(
    fixtures: Annotated[Path | None, typer.Option(help="JSON fixtures (file or directory)")] = None,
    port: Annotated[int, typer.Option()] = 8443,
    page_size: Annotated[int, typer.Option(help="records per query page")] = 2000,
    token: Annotated[str | None, typer.Option(help="bearer token to accept (random if unset)")] = None,
    ca_out: Annotated[Path, typer.Option(help="where to write the CA certificate")] = Path(
        "fake-salesforce-ca.pem"
    ),
) -> None:
    """Serve the Salesforce test double over HTTPS (02 SF-70)."""
    from polaris_api.sync.salesforce.fake.runner import serve_forever

    serve_forever(fixtures, port, page_size, token, ca_out)


@outbox_app.command("work")
def outbox_work(
    once: Annotated[bool, typer.Option(help="one pass over the due messages, then exit")] = False,
    poll_seconds: Annotated[
        float | None, typer.Option(help="poll interval (default POLARIS_OUTBOX_POLL_SECONDS)")
    ] = None,
) -> None:
    """Deliver queued emails in this process (MAIL-4); safe beside other workers and the API's."""
    from polaris_api.db import make_engine, make_sessionmaker
    from polaris_api.observability import configure_logging
    from polaris_api.services.outbox import run_worker

    settings = Settings()
    settings.check()
    log_format = settings.log_format if settings.log_format != "auto" else "text"
    configure_logging(settings.log_level, "json" if settings.is_production else log_format)
    if poll_seconds is not None:
        settings.outbox_poll_seconds = poll_seconds

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            return await run_worker(make_sessionmaker(engine), settings, once=once)
        finally:
            await engine.dispose()

    try:
        attempted = asyncio.run(run())
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    console.print(f"outbox worker stopped: {attempted} message(s) attempted")


@import_app.command("roster")
def import_roster(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the roster, .csv or .xlsx")],
    district_id: Annotated[int, typer.Option("--district-id", help="the district whose roster this is")],
    force: Annotated[bool, typer.Option("--force", help="proceed past the mass-deactivation guard")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="report what would change; write nothing")
    ] = False,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
) -> None:
    """Import a district roster (04 RO-*) and print its report; exit 1 when refused."""
    from polaris_client import PolarisError

    with _client(url, api_key, token) as client:
        try:
            with console.status(f"importing {file.name} ..."):
                report = client.import_file(
                    "roster", file, district_id=district_id, force=force, dry_run=dry_run
                )
        except PolarisError as error:
            would_be = error.body.get("report")
            if isinstance(would_be, dict):
                console.print(_roster_line(would_be, prefix="would-be report: "))
            raise _fail(error) from None
    console.print(_roster_line(report))
    for warning in (report.get("warnings") or [])[:50]:
        console.print(f"  row {warning.get('row')}: {warning.get('code')} {warning.get('message')}")
    for skipped in report.get("protected_skipped") or []:
        console.print(f"  protected (manually deactivated): record {skipped.get('teacher_progress_id')}")


def _roster_line(report: dict, prefix: str = "") -> str:  # type: ignore[type-arg]
    keys = ("rows_total", "added", "updated", "unchanged", "deactivated", "skipped")
    counts = ", ".join(f"{key} {report.get(key)}" for key in keys)
    label = "dry run" if report.get("dry_run") else f"import {report.get('import_id')}"
    return (
        f"{prefix}[bold]roster {label}[/bold] {report.get('academic_year')}: {counts}, "
        f"protected {len(report.get('protected_skipped') or [])}"
        + (" [yellow](forced)[/yellow]" if report.get("forced") else "")
    )


PATHFUL_BUCKETS = (
    "created_participations",
    "updated_participations",
    "unchanged",
    "skipped_other_partner",
    "skipped_role",
    "skipped_before_cutoff",
    "skipped_draft_no_date",
    "queued_no_date",
    "unmatched_teachers",
    "unmatched_volunteers",
    "invalid",
)


@import_app.command("pathful")
def import_pathful(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Session Report, .csv or .xlsx")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="report what would change; write nothing")
    ] = False,
    mode: Annotated[
        str | None, typer.Option(help="full, current_semester (default), last_6_months or since")
    ] = None,
    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD (implies --mode since)")] = None,
    worksheet: Annotated[str | None, typer.Option(help="XLSX worksheet (default: the first)")] = None,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
) -> None:
    """Import a Pathful Session Report (04 PF-*) and print its report; exit 1 when refused."""
    from polaris_client import PolarisError

    with _client(url, api_key, token) as client:
        try:
            with console.status(f"importing {file.name} ..."):
                report = client.import_file(
                    "pathful", file, mode=mode, since=since, dry_run=dry_run, worksheet=worksheet
                )
        except PolarisError as error:
            missing = (error.body.get("details") or {}).get("missing")
            if missing:
                err_console.print(f"missing columns: {', '.join(missing)}")
            raise _fail(error) from None
    label = "dry run" if report.get("dry_run") else f"import {report.get('import_id')}"
    console.print(
        f"[bold]pathful {label}[/bold] ({report.get('mode')}, cutoff {report.get('cutoff_date') or 'none'}): "
        f"rows {report.get('rows_total')}, processed {report.get('processed')}, "
        f"events created {report.get('created_events')} / updated {report.get('updated_events')}"
    )
    for key in PATHFUL_BUCKETS:
        console.print(f"  {key}: {report.get(key)}")
    for row in (report.get("invalid_rows") or [])[:50]:
        console.print(f"  row {row.get('row')}: {row.get('reason')} (session {row.get('session_id')})")


def openapi_document() -> str:
    """The OpenAPI schema as committed in ``openapi/openapi.json`` (stable key order)."""
    import json

    from polaris_api.app import create_app

    schema = create_app(Settings(env="development", jwt_secret="openapi-export-" + "x" * 32)).openapi()
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


@dev_app.command("openapi")
def dev_openapi(
    out: Annotated[Path, typer.Option(help="where to write the schema")] = Path("openapi/openapi.json"),
) -> None:
    """Regenerate the committed OpenAPI schema."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(openapi_document())
    console.print(f"wrote {out}")


if __name__ == "__main__":
    app()
