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
from rich.table import Table

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
            await session.commit()  # services flush; the command owns the transaction
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
        uvicorn.run(
            "polaris_api.app:create_app",
            factory=True,
            host=host,
            port=port,
            log_config=None,
            **settings.uvicorn_options(),
        )


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
    console.print(
        f"demo data: {summary}, {links} district links, virtual: {virtual}, metric inputs: {inputs}"
    )


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


@app.command("scheduler")
def scheduler(
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
) -> None:
    """Run the sync cadence of POLARIS_SCHEDULE (09 §1) against a running server, until stopped.

    Each fire time asks the API to start the kind as a scheduled run (an API key with
    ``sync:run``); the ``outbox`` entry delivers due emails from this process. Several schedulers
    are safe: the server's run lock refuses duplicates (409, logged).
    """
    import signal

    from polaris_api.db import make_engine, make_sessionmaker
    from polaris_api.observability import configure_logging
    from polaris_api.scheduler import api_sync_trigger, build_scheduler, outbox_sweep, run_until_stopped

    settings = Settings()
    settings.check()
    log_format = settings.log_format if settings.log_format != "auto" else "text"
    configure_logging(settings.log_level, "json" if settings.is_production else log_format)
    if not api_key and not token:
        raise _fail(ValueError("the scheduler needs --api-key (POLARIS_API_KEY) with the sync:run scope"))

    async def run() -> None:
        engine = make_engine(settings.database_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            with _client(url, api_key, token) as client:
                jobs = build_scheduler(
                    settings.schedule,
                    settings.tz,
                    trigger_sync=api_sync_trigger(client),
                    sweep_outbox=outbox_sweep(make_sessionmaker(engine), settings),
                )
                await run_until_stopped(jobs, stop)
        finally:
            await engine.dispose()

    asyncio.run(run())
    console.print("scheduler stopped")


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
    from polaris_api.testing.fake_salesforce.runner import serve_forever

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


report_app = typer.Typer(
    help="District year-end reports (06 §6), through a running server.", no_args_is_help=True
)
app.add_typer(report_app, name="report")


def _table(title: str, rows: list[tuple[str, object]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in rows:
        table.add_row(label, "—" if value is None else str(value))
    return table


def _flatten(prefix: str, value: object) -> list[tuple[str, object]]:
    """Nested report objects as ``a.b.c`` rows, in the server's key order."""
    if isinstance(value, dict):
        return [
            row for key, item in value.items() for row in _flatten(f"{prefix}.{key}" if prefix else key, item)
        ]
    return [(prefix, value)]


def _print_year_end(report: dict) -> None:  # type: ignore[type-arg]
    district = report["district"]
    console.print(
        f"[bold]{district['name']}[/bold] (district {district['id']}) · school year "
        f"{report['school_year_label']} · host filter {report['host_filter']}"
    )
    console.print(_table("Enhanced", _flatten("", report["enhanced"])))
    console.print(_table("Program breakdown", _flatten("", report["program_breakdown"])))
    timeline = Table(title="Timeline", title_justify="left")
    for column in ("date", "event", "type", "school", "students", "volunteers", "hours"):
        timeline.add_column(
            column, justify="right" if column in ("students", "volunteers", "hours") else "left"
        )
    for row in report["timeline"]["events"]:
        timeline.add_row(
            row["start_date"][:10],
            row["title"],
            row["type"] or "",
            (row["school"] or {}).get("name", ""),
            str(row["students"]),
            str(row["volunteers"]),
            f"{row['volunteer_hours']:.2f}",
        )
    console.print(timeline)
    months = ", ".join(f"{m['month']}: {m['events']}" for m in report["timeline"]["events_by_month"])
    console.print(f"events by month: {months}")
    console.print(_table("Manual inputs", list(report["manual_inputs"].items())))


def _print_cards(page: dict) -> None:  # type: ignore[type-arg]
    table = Table(title=f"Year-end {page['school_year_label']} ({page['host_filter']})", title_justify="left")
    for column in ("district", "events", "students", "volunteer hours", "unique volunteers"):
        table.add_column(column, justify="left" if column == "district" else "right")
    for card in page["items"]:
        table.add_row(
            f"{card['district']['name']} ({card['district']['id']})",
            str(card["events_total"]),
            str(card["students_total"]),
            f"{card['volunteer_hours_total']:.2f}",
            str(card["unique_volunteers"]),
        )
    console.print(table)
    console.print(f"page {page['page']}, {len(page['items'])} of {page['total']} districts")


@report_app.command("year-end")
def report_year_end(
    school_year: Annotated[
        str | None, typer.Option(help="YYZZ, e.g. 2425 (default: the current year)")
    ] = None,
    district_id: Annotated[
        int | None, typer.Option("--district-id", help="one district's full report; without it, the cards")
    ] = None,
    host_filter: Annotated[str, typer.Option(help="all or prepkc")] = "all",
    format: Annotated[str, typer.Option(help="table (default), json, csv or xlsx")] = "table",
    part: Annotated[str, typer.Option(help="CSV only: timeline or by_school")] = "timeline",
    output: Annotated[Path | None, typer.Option(help="file to write (csv/xlsx; json too)")] = None,
    page: Annotated[int, typer.Option(help="card list page")] = 1,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
) -> None:
    """District year-end report (06 §6): the district's report, or the card list of every district."""
    import json

    from polaris_client import PolarisError

    if format not in ("table", "json", "csv", "xlsx"):
        raise typer.BadParameter("format must be table, json, csv or xlsx")
    if format in ("csv", "xlsx") and (district_id is None or output is None):
        raise typer.BadParameter("--format csv/xlsx needs --district-id and --output")
    with _client(url, api_key, token) as client:
        try:
            if format in ("csv", "xlsx"):
                assert district_id is not None and output is not None
                download = client.district_year_end_export(
                    district_id,
                    school_year,
                    format=format,
                    part=part if format == "csv" else None,
                    host_filter=host_filter,
                )
                output.write_bytes(download.content)
                console.print(f"wrote {output} ({len(download.content)} bytes)")
                return
            result: dict = (  # type: ignore[type-arg]
                dict(client.district_year_end(district_id, school_year, host_filter=host_filter))
                if district_id is not None
                else dict(client.year_end_cards(school_year, host_filter=host_filter, page=page))
            )
        except PolarisError as error:
            raise _fail(error) from None
    if format == "json":
        text = json.dumps(result, indent=2)
        if output is not None:
            output.write_text(text + "\n")
            console.print(f"wrote {output}")
        else:
            console.print_json(text)
    elif district_id is not None:
        _print_year_end(result)
    else:
        _print_cards(result)


@app.command("metrics")
def metrics(
    date_from: Annotated[str, typer.Option("--from", help="first Chicago date, YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="last Chicago date, YYYY-MM-DD (inclusive)")],
    group_by: Annotated[str | None, typer.Option(help="district or school")] = None,
    ids: Annotated[str | None, typer.Option(help="comma-separated metric ids, e.g. M10,M20")] = None,
    district_id: Annotated[int | None, typer.Option("--district-id")] = None,
    host_filter: Annotated[str | None, typer.Option(help="all or prepkc")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON answer")] = False,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
) -> None:
    """Metrics of 06 §3 for a window, as a table (one column per group with --group-by)."""
    import json

    from polaris_client import PolarisError

    with _client(url, api_key, token) as client:
        try:
            result = client.metrics(
                date_from,
                date_to,
                ids=ids.split(",") if ids else None,
                group_by=group_by,
                district_id=district_id,
                host_filter=host_filter,
            )
        except PolarisError as error:
            raise _fail(error) from None
    if as_json:
        console.print_json(json.dumps(result))
        return
    console.print(_metrics_table(dict(result), date_from, date_to))


def _metrics_cell(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in value.items()) or "—"
    return "—" if value is None else str(value)


def _metrics_table(result: dict, date_from: str, date_to: str) -> Table:  # type: ignore[type-arg]
    groups = result.get("groups")
    columns: list[tuple[str, dict]] = (  # type: ignore[type-arg]
        [(str(g["group"]["name"]), g["metrics"]) for g in groups]
        if groups is not None
        else [("value", result.get("metrics") or {})]
    )
    table = Table(title=f"Metrics {date_from} .. {date_to}", title_justify="left")
    table.add_column("metric")
    for name, _ in columns:
        table.add_column(name, justify="right")
    metric_ids = list(dict.fromkeys(key for _, values in columns for key in values))
    for metric_id in metric_ids:
        table.add_row(metric_id, *(_metrics_cell(values.get(metric_id)) for _, values in columns))
    return table


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
