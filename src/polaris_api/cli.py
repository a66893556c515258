"""The ``polaris`` command line (00 §5.1).

Set-up commands (``db``, ``users create``) work on the database directly; the rest talk to a
running server through the Python client.
"""

from __future__ import annotations

import asyncio
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
app.add_typer(dev_app, name="dev")

console = Console()
err_console = Console(stderr=True)

LEVELS = {"user": 0, "supervisor": 1, "manager": 2, "admin": 3}
DEMO_DATABASE = "polaris-demo.db"
DEMO_ADMIN_EMAIL = "admin@demo.polaris.local"


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

    if demo:
        Path(DEMO_DATABASE).unlink(missing_ok=True)
        os.environ["POLARIS_DATABASE_URL"] = f"sqlite+aiosqlite:///./{DEMO_DATABASE}"
    settings = Settings()
    if migrate is None:
        migrate = not settings.is_production
    if migrate:
        asyncio.run(_upgrade(settings))
    if demo:
        password = secrets.token_urlsafe(12)
        asyncio.run(_create_user(settings, DEMO_ADMIN_EMAIL, password, LEVELS["admin"], []))
        console.print(f"[bold]Demo admin[/bold]: {DEMO_ADMIN_EMAIL} / {password}")
        console.print(f"API docs: http://{host}:{port}/docs")
    uvicorn.run("polaris_api.app:create_app", factory=True, host=host, port=port, log_config=None)


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
