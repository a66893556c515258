"""The ``polaris`` command line (00 §5.1).

Set-up commands (``db``, ``users create``) work on the database directly; the rest talk to a
running server through the Python client.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from polaris_api.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from polaris_client import PolarisClient

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
CLIENT_TIMEOUT_S = 600.0
JsonOption = Annotated[bool, typer.Option("--json", help="print the server's JSON instead of tables")]


def _client(url: str, api_key: str | None, token: str | None) -> PolarisClient:
    from polaris_client import PolarisClient

    from polaris_api.cli_render import fit

    fit(console, err_console)
    # an import of a large file or a run with --wait=true on the server can take minutes
    return PolarisClient(url, api_key=api_key, token=token, timeout=CLIENT_TIMEOUT_S)


@contextlib.contextmanager
def _api(url: str, api_key: str | None, token: str | None) -> Iterator[PolarisClient]:
    """The client of one command; a problem answer ends the command (stderr, exit 1)."""
    from polaris_client import PolarisError

    with _client(url, api_key, token) as client:
        try:
            yield client
        except PolarisError as error:
            raise _fail(error) from None


def _fail(error: Exception) -> typer.Exit:
    """Print the failure on stderr; exit 1 (a problem answer, or the server out of reach)."""
    from polaris_client import PolarisError

    from polaris_api.cli_render import EXIT_FAILED, problem_lines

    lines = problem_lines(error) if isinstance(error, PolarisError) else [str(error)]
    for line in lines:
        err_console.print(line, style="red", markup=False, highlight=False)
    return typer.Exit(EXIT_FAILED)


def _emit_json(value: object) -> None:
    from polaris_api.cli_render import as_json

    typer.echo(as_json(value))


@sync_app.command("run")
def sync_run(
    kind: Annotated[str, typer.Argument(help="e.g. salesforce-publishing, daily, weekly")],
    mode: Annotated[str | None, typer.Option(help="full or incremental")] = None,
    wait: Annotated[bool, typer.Option(help="follow the run with a live progress bar until it ends")] = False,
    as_json: JsonOption = False,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
    poll_seconds: Annotated[float, typer.Option(help="how often to poll while waiting")] = 1.0,
) -> None:
    """Start a sync. With --wait: live counts, then exit 0 succeeded, 3 partial, 1 failed (OBS-3)."""
    from polaris_client import models

    from polaris_api.cli_render import EXIT_FAILED, RUN_EXIT, errors_table, follow_run, run_table

    if mode not in (None, "full", "incremental"):
        raise typer.BadParameter("mode must be full or incremental")
    with _api(url, api_key, token) as client:
        started = client.trigger_sync(kind, mode=mode)  # type: ignore[arg-type]
        run_id = started.run_id if isinstance(started, models.SyncRunAccepted) else started.id
        if not wait:
            if as_json:
                _emit_json(started)
            else:
                console.print(f"sync run {run_id} ({kind}) {started.status}")
            return
        run = follow_run(client, run_id, kind, err_console, poll_seconds)
    if as_json:
        _emit_json(run)
    else:
        console.print(run_table(run))
        errors = errors_table(run)
        if errors is not None:
            console.print(errors)
    raise typer.Exit(RUN_EXIT.get(run.status, EXIT_FAILED))


@sync_app.command("health")
def sync_health(
    as_json: JsonOption = False,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
) -> None:
    """Health of every sync kind (OPS-4); exit 1 unless the overall status is ok."""

    from polaris_api.cli_render import EXIT_FAILED, health_table

    with _api(url, api_key, token) as client:
        health = client.sync_health()
    if as_json:
        _emit_json(health)
    else:
        console.print(health_table(health))
    if health.status != "ok":
        raise typer.Exit(EXIT_FAILED)


@sync_app.command("runs")
def sync_runs(
    kind: Annotated[str | None, typer.Option(help="only this kind")] = None,
    status: Annotated[str | None, typer.Option(help="queued, running, succeeded, partial or failed")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=200)] = 20,
    as_json: JsonOption = False,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
) -> None:
    """Sync run history, newest first (OPS-1)."""

    from polaris_api.cli_render import runs_table

    with _api(url, api_key, token) as client:
        runs = client.list_sync_runs(kind=kind, status=status, page=page, page_size=page_size)  # type: ignore[arg-type]
    if as_json:
        _emit_json(runs)
    else:
        console.print(runs_table(runs))


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
    as_json: JsonOption = False,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
) -> None:
    """Import a district roster (04 RO-*) and print its report; exit 1 when refused."""
    from polaris_client import PolarisError, models

    from polaris_api.cli_render import UploadProgress, roster_tables

    with _client(url, api_key, token) as client:
        try:
            with UploadProgress(file, err_console) as upload:
                report = client.import_roster(
                    file=upload.file, district_id=district_id, force=force, dry_run=dry_run
                )
        except PolarisError as error:
            would_be = error.problem.get("report")
            if isinstance(would_be, dict) and not as_json:
                for table in roster_tables(
                    models.RosterReport.model_validate(would_be), "Refused: would-be "
                ):
                    err_console.print(table)
            raise _fail(error) from None
    if as_json:
        _emit_json(report)
        return
    for table in roster_tables(report):
        console.print(table)


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
    as_json: JsonOption = False,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
) -> None:
    """Import a Pathful Session Report (04 PF-*) and print its report; exit 1 when refused."""

    from polaris_api.cli_render import UploadProgress, pathful_tables

    since_date = _date_option(since, "--since") if since else None
    with _api(url, api_key, token) as client, UploadProgress(file, err_console) as upload:
        report = client.import_pathful(
            file=upload.file,
            mode=mode,  # type: ignore[arg-type]
            since=since_date,
            dry_run=dry_run,
            worksheet=worksheet,
        )
    if as_json:
        _emit_json(report)
        return
    for table in pathful_tables(report):
        console.print(table)


def _date_option(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{name} must be YYYY-MM-DD") from None


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

    if format not in ("table", "json", "csv", "xlsx"):
        raise typer.BadParameter("format must be table, json, csv or xlsx")
    if format in ("csv", "xlsx") and (district_id is None or output is None):
        raise typer.BadParameter("--format csv/xlsx needs --district-id and --output")
    with _api(url, api_key, token) as client:
        if format in ("csv", "xlsx"):
            assert district_id is not None and output is not None
            download = client.district_year_end_download(
                district_id,
                school_year=school_year,
                format=format,  # type: ignore[arg-type]
                part=part if format == "csv" else None,  # type: ignore[arg-type]
                host_filter=host_filter,  # type: ignore[arg-type]
            )
            output.write_bytes(download.content)
            console.print(f"wrote {output} ({len(download.content)} bytes)")
            return
        answer = (
            client.district_year_end(
                district_id,
                school_year=school_year,
                host_filter=host_filter,  # type: ignore[arg-type]
            )
            if district_id is not None
            else client.year_end_cards(
                school_year=school_year,
                host_filter=host_filter,  # type: ignore[arg-type]
                page=page,
            )
        )
        result: dict = answer.model_dump(mode="json", exclude_unset=True)  # type: ignore[type-arg]
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
    as_json: JsonOption = False,
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    token: TokenOption = None,
) -> None:
    """Metrics of 06 §3 for a window, as a table (one column per group with --group-by)."""

    from polaris_api.cli_render import freshness_line, metrics_table

    start, end = _date_option(date_from, "--from"), _date_option(date_to, "--to")
    with _api(url, api_key, token) as client:
        result = client.get_metrics(
            start_date=start,
            end_date=end,
            ids=ids.split(",") if ids else None,
            group_by=group_by,  # type: ignore[arg-type]
            district_id=district_id,
            host_filter=host_filter,  # type: ignore[arg-type]
        )
    if as_json:
        _emit_json(result)
        return
    console.print(metrics_table(result, start, end))
    console.print(freshness_line(result.meta), style="dim", markup=False, highlight=False)


def openapi_document() -> str:
    """The OpenAPI schema as committed in ``openapi/openapi.json`` (stable key order)."""
    import json

    from polaris_api.app import create_app

    schema = create_app(Settings(env="development", jwt_secret="openapi-export-" + "x" * 32)).openapi()
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


@dev_app.command("openapi")
def dev_openapi(
    out: Annotated[Path, typer.Option(help="where to write the schema")] = Path("openapi/openapi.json"),
    client: Annotated[bool, typer.Option(help="regenerate the Python client from it too")] = True,
) -> None:
    """Regenerate the committed OpenAPI schema, then the Python client's models and methods."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(openapi_document())
    console.print(f"wrote {out}")
    if client:
        dev_client(openapi=out)


@dev_app.command("client")
def dev_client(
    openapi: Annotated[Path, typer.Option(help="the schema to generate from")] = Path("openapi/openapi.json"),
) -> None:
    """Regenerate clients/python/polaris_client/models.py and _operations.py (needs the test extras:
    datamodel-code-generator)."""
    from polaris_api.client_codegen import write

    try:
        written = write(openapi=openapi)
    except RuntimeError as error:  # datamodel-code-generator missing or failing
        err_console.print(f"[red]{error}[/red] (pip install -e '.[test]')")
        raise typer.Exit(1) from None
    for path in written:
        console.print(f"wrote {path}")


if __name__ == "__main__":
    app()
