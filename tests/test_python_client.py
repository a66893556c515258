"""The Python client (issue 12 item 3): generated from openapi/openapi.json and never stale, its
own package (installs alone, imports nothing of the server), and every endpoint group through
it against a live server, with the sync and the async client, pagination and the error type."""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from polaris_client import AsyncPolarisClient, Download, PolarisClient, PolarisError, models

from polaris_api.app import create_app
from polaris_api.client_codegen import (
    OPENAPI,
    PACKAGE,
    class_name,
    collect,
    generate,
    iterator_name,
    normalise,
    render_operations,
)
from polaris_api.models.people import Teacher, Volunteer
from polaris_api.models.reference import District
from tests.factories import make_event, today
from tests.live_server import free_port, serve_in_thread
from tests.pathful_factories import seed_worked_example
from tests.read_factories import make_participation, make_student_attendance
from tests.sync_helpers import sf_session
from tests.teacher_factories import roster_csv, roster_row

CLIENT_DIR = PACKAGE.parent
EXAMPLE = Path(__file__).parent / "data" / "pathful_worked_example.csv"


def _document() -> dict[str, Any]:
    return json.loads(OPENAPI.read_text())  # type: ignore[no-any-return]


# ------------------------------------------------------------------------ generated, fresh


def test_committed_client_modules_equal_a_fresh_generation() -> None:
    """models.py (datamodel-code-generator) and _operations.py regenerate to the committed text;
    after an API change run ``polaris dev openapi`` (or ``polaris dev client``)."""
    for name, text in generate().items():
        committed = (PACKAGE / name).read_text()
        assert committed == text, f"clients/python/polaris_client/{name} is stale: run `polaris dev client`"


def test_schema_names_become_the_class_names_the_methods_use() -> None:
    assert class_name("Page_UserOut_") == "PageUserOut"
    assert class_name("Body_login_api_v1_auth_token_post") == "LoginBody"
    assert class_name("Body_import_roster_api_v1_imports_roster_post") == "ImportRosterBody"
    assert class_name("polaris_api__schemas__roster__NamedRef") == "RosterNamedRef"
    # inline request bodies get a model under their title; constraints are left to the server
    doc = normalise(_document())
    schemas = doc["components"]["schemas"]
    assert {"PublishingEventUpdate", "VirtualEventUpdate", "AttendanceDetailIn"} <= set(schemas)
    assert "maxLength" not in json.dumps(schemas) and "maximum" not in json.dumps(schemas)
    text = (PACKAGE / "_operations.py").read_text()
    assert "body: models.PublishingEventUpdate | Mapping[str, Any]" in text
    # one name per operation: repeated route names get their group (public_list_events)
    names = {operation.name for operation in collect(doc)}
    assert {"list_events", "public_list_events", "imports_list_unmatched"} <= names


def test_a_schema_change_changes_the_generated_methods() -> None:
    """The freshness check can fail: one more operation in the schema is one more method."""
    doc = _document()
    doc["paths"]["/api/v1/made-up"] = {
        "get": {"operationId": "made_up_thing_api_v1_made_up_get", "responses": {"204": {"description": "-"}}}
    }
    text = render_operations(collect(normalise(doc)))
    assert "def made_up_thing(self) -> None:" in text
    assert text != (PACKAGE / "_operations.py").read_text()


def test_every_operation_has_a_sync_and_an_async_method_and_every_list_an_iterator() -> None:
    doc = _document()
    count = sum(
        method in ("get", "post", "put", "patch", "delete")
        for item in doc["paths"].values()
        for method in item
    )
    operations = collect(normalise(doc))
    assert len(operations) == count
    for operation in operations:
        assert callable(getattr(PolarisClient, operation.name))
        assert asyncio.iscoroutinefunction(getattr(AsyncPolarisClient, operation.name)), operation.name
        if operation.page_item:
            assert callable(getattr(PolarisClient, iterator_name(operation.name)))
            assert callable(getattr(AsyncPolarisClient, iterator_name(operation.name)))
    listed = [
        o for o in operations if o.method == "GET" and {"page", "page_size"} <= {p.wire for p in o.params}
    ]
    assert listed and all(o.page_item for o in listed)  # every paginated list has its iterator


# -------------------------------------------------------------------------------- a package


def test_client_package_depends_on_httpx_and_pydantic_only_and_never_imports_the_server() -> None:
    project = tomllib.loads((CLIENT_DIR / "pyproject.toml").read_text())["project"]
    assert sorted(dep.split(">")[0] for dep in project["dependencies"]) == ["httpx", "pydantic"]
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(name.split(".")[0] == "polaris_api" for name in names), path.name


FRESH_VENV_SCRIPT = """
import importlib.util, json, sys
import polaris_client
from polaris_client import PolarisClient, PolarisError
assert importlib.util.find_spec("polaris_api") is None, "the server package is installed"
with PolarisClient(sys.argv[1]) as api:
    api.sign_in(sys.argv[2], sys.argv[3])
    me = api.me()
    events = api.public_list_events()
    try:
        api.get_user(10**9)
    except PolarisError as error:
        missing = [error.status, error.code]
print(json.dumps({"file": polaris_client.__file__, "level": me.security_level, "total": events.total,
                  "missing": missing}))
"""


@pytest.mark.committed_db  # a live server thread
async def test_client_installs_alone_in_a_fresh_venv_and_talks_to_a_live_server(
    tmp_path: Path, admin: dict[str, Any], session: Any, settings: Any
) -> None:
    """``pip install ./clients/python`` into a new venv: no polaris_api there, and it works."""
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"

    source = tmp_path / "python-client"  # setuptools builds in the source tree: a copy keeps ours clean
    shutil.copytree(CLIENT_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))

    def install_and_run() -> subprocess.CompletedProcess[str]:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
            check=True,
            timeout=600,
            cwd=tmp_path,
        )
        with serve_in_thread(create_app(settings)) as url:
            return subprocess.run(
                [str(python), "-c", FRESH_VENV_SCRIPT, url, admin["email"], admin["password"]],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=tmp_path,
            )

    await make_event(session, title="Listed")
    await session.commit()
    done = await asyncio.to_thread(install_and_run)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["file"].startswith(str(venv))  # the installed copy, not the checkout
    assert result["level"] == 3 and result["total"] == 1
    assert result["missing"] == [404, "not_found"]


# ------------------------------------------------------------------- every group, live server


class _Sync:
    """Calls a sync client from the test's loop (in a thread), recording the methods used."""

    def __init__(self, api: PolarisClient, used: set[str]) -> None:
        self.api, self.used = api, used

    async def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.used.add(name)
        return await asyncio.to_thread(getattr(self.api, name), *args, **kwargs)

    async def all(self, name: str, *args: Any, **kwargs: Any) -> list[Any]:
        self.used.add(name)
        return await asyncio.to_thread(lambda: list(getattr(self.api, name)(*args, **kwargs)))


class _Async(_Sync):
    def __init__(self, api: AsyncPolarisClient, used: set[str]) -> None:  # type: ignore[override]
        self.api, self.used = api, used  # type: ignore[assignment]

    async def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.used.add(name)
        return await getattr(self.api, name)(*args, **kwargs)

    async def all(self, name: str, *args: Any, **kwargs: Any) -> list[Any]:
        self.used.add(name)
        return [item async for item in getattr(self.api, name)(*args, **kwargs)]


async def _world(session: Any) -> dict[str, Any]:
    example = await seed_worked_example(session)
    riverbend = await session.get(District, example.riverbend.id)
    volunteer = await session.get(Volunteer, example.v1.id)
    teacher = await session.get(Teacher, example.t1.id)
    listed = await make_event(session, title="Robotics showcase")
    await make_participation(session, volunteer, listed)
    attendance = await make_student_attendance(session, listed)
    world = {
        "district_id": riverbend.id,
        "listed": listed.id,
        "teacher": teacher.id,
        "volunteer": volunteer.id,
        "record": example.progress["t1"].id,
        "student": attendance.student_id,
        "school": teacher.school_id,
    }
    await session.commit()
    return world


async def _walk(
    c: _Sync, w: dict[str, Any], admin: dict[str, Any], url: str, make: Callable[..., Any]
) -> None:
    """Every endpoint group once, through the typed methods; asserts on what comes back."""
    assert (await c("healthz"))["status"] == "ok"
    await c("readyz")
    # auth
    token = await c("login", username=admin["email"], password=admin["password"])
    assert isinstance(token, models.TokenResponse) and token.token_type == "bearer"
    c.api.set_token(token.access_token)
    me = await c("me")
    assert isinstance(me, models.PrincipalOut) and me.security_level == 3
    assert await c("get_ownership") and await c("get_vocabularies")
    # reference data
    districts = await c("list_districts")
    assert districts.total >= 2 and (await c("get_district", w["district_id"])).id == w["district_id"]
    assert (await c("list_schools")).total >= 4
    school = await c("update_school", w["school"], models.SchoolUpdate(level="elementary"))
    assert school.level == "elementary"
    assert (await c("list_organizations")).total >= 0
    # sync: a real run against the Salesforce test double
    run = await c("trigger_sync", "salesforce-publishing", wait=True)
    assert isinstance(run, models.SyncRunOut) and run.status == "succeeded", run
    runs = await c.all("iter_sync_runs", page_size=1)
    assert [r.id for r in runs] == [run.id]
    assert (await c("list_sync_runs", kind="salesforce-publishing")).total == 1
    assert (await c("get_sync_run", run.id)).kind == "salesforce-publishing"
    health = await c("sync_health")
    assert "salesforce-publishing" in {kind.kind for kind in health.kinds}
    # public website: the pagination iterator walks every page (the two synced sessions)
    first = await c("public_list_events", page_size=1)
    listing = await c.all("iter_public_events", page_size=1)
    assert first.total == len(listing) == len({e.event_id for e in listing}) == 2
    synced = listing[0].event_id
    assert (await c("public_get_event", synced)).name.startswith("Career day")
    assert (await c("list_dia_events")).total == 0
    feed = await c("calendar_feed")
    assert isinstance(feed, Download) and "BEGIN:VCALENDAR" in feed.text
    # publishing: a district link shows on the district's public page
    assert (await c("list_publishing_events")).total >= 2
    noted = await c("update_publishing_event", synced, models.PublishingEventUpdate(note="checked"))
    assert noted.note == "checked" and noted.display_on_website is True  # unset fields not sent
    linked = await c("link_district", synced, w["district_id"])
    assert w["district_id"] in {d.id for d in linked.districts}
    district_page = await c("list_district_events", str(w["district_id"]))
    assert [e.event_id for e in district_page.items] == [synced]
    unlinked = await c("unlink_district", synced, w["district_id"])
    assert w["district_id"] not in {d.id for d in unlinked.districts}
    assert (await c("list_sync_errors")).total == 0
    person = models.WebsiteSignup(
        email="kim@example.org", first_name="Kim", last_name="Ng", organization="Acme", title="Engineer"
    )
    created = await c("sign_up", synced, person)
    again = await c("sign_up", synced, person)
    assert isinstance(created, models.SignupCreated) and isinstance(again, models.SignupRepeated)
    assert (await c("list_signups")).total == 1
    assert (await c("list_outbox")).total >= 0
    # events, attendance detail
    assert (await c("list_events")).total >= 4
    assert isinstance(await c("get_event", w["listed"]), models.EventDetail)
    detail = await c("put_attendance_detail", w["listed"], models.AttendanceDetailIn(total_students=30))
    assert (
        detail.total_students == 30 and (await c("get_attendance_detail", w["listed"])).total_students == 30
    )
    # virtual events
    start = dt.datetime.combine(today() + dt.timedelta(days=3), dt.time(10, 0))
    session = await c(
        "create_virtual_event", models.VirtualEventCreate(title="Meet a nurse", start_date=start)
    )
    renamed = await c("update_virtual_event", session.id, models.VirtualEventUpdate(title="Meet two nurses"))
    assert renamed.title == "Meet two nurses"
    await c("add_teacher", session.id, models.TeacherTag(teacher_id=w["teacher"]))
    assert (await c("remove_teacher", session.id, w["teacher"])).removed
    await c("add_presenter", session.id, {"volunteer_id": w["volunteer"]})
    assert (await c("remove_presenter", session.id, w["volunteer"])).removed
    assert (await c("presenter_recruitment")).total >= 0
    assert (await c("virtual_session_flags")).total >= 0
    # imports: Pathful dry run then for real, the unmatched queue, aliases
    dry = await c("import_pathful", file=EXAMPLE, mode="since", since=dt.date(2025, 8, 1), dry_run=True)
    assert dry.dry_run and dry.import_id is None and dry.rows_total > 0
    real = await c("import_pathful", file=EXAMPLE, mode="since", since=dt.date(2025, 8, 1))
    assert real.import_id is not None and (await c("get_import", real.import_id)).import_id == real.import_id
    unmatched = await c.all("iter_imports_unmatched", page_size=1)
    assert len(unmatched) == (await c("imports_list_unmatched")).total > 0
    ignored = await c("ignore_unmatched", unmatched[0].id, models.IgnoreBody(reason="not ours"))
    assert ignored.status == "ignored"
    alias = await c(
        "create_alias",
        models.ColumnAliasCreate(import_type="roster", canonical="teacher email", alias="E-mail address"),
    )
    assert [a.id for a in (await c("list_aliases")).items] == [alias.id]
    await c("delete_alias", alias.id)
    # roster (dry run) and teachers
    rows = [roster_row("new.teacher@riverbend.example", "New Teacher")]
    upload = {"district_id": w["district_id"], "file": ("roster.csv", roster_csv(rows)), "dry_run": True}
    with pytest.raises(PolarisError) as guarded:  # the problem carries the would-be report
        await c("import_roster", **upload)
    assert guarded.value.code == "mass_deactivation_blocked" and guarded.value.status == 409
    assert guarded.value.problem["report"]["deactivated"] == 4
    roster = await c("import_roster", **upload, force=True)
    assert isinstance(roster, models.RosterReport) and roster.dry_run and roster.added == 1
    assert (await c("list_teachers")).total >= 5
    assert (
        await c("update_teacher", w["teacher"], {"exclude_from_reports": False})
    ).exclude_from_reports is False
    assert (
        await c("update_student", w["student"], {"exclude_from_reports": True})
    ).exclude_from_reports is True
    # teacher progress and teacher access
    year = {"academic_year": "2025-2026"}
    progress = await c.all("iter_progress", page_size=2, **year)
    assert len(progress) == (await c("list_progress", **year)).total == 5
    assert isinstance(await c("progress_summary", **year), models.TeacherProgressSummary)
    assert (await c("progress_detail", w["record"])).id == w["record"]
    off = await c("deactivate_record", w["record"], models.DeactivateBody(reason="left_district"))
    assert off.is_active is False
    assert (await c("reactivate_record", w["record"], models.ReactivateBody(reason="came back"))).is_active
    assert (await c("set_teacher_access", models.TeacherAccessSettings(enabled=True))).enabled
    assert (await c("get_teacher_access")).enabled
    assert isinstance(await c("support_teacher_view", w["record"]), models.TeacherView)
    assert (await c("request_link", models.MagicLinkRequest(email="nobody@example.org"))).status == "accepted"
    assert (await c("list_data_issues")).total == 0
    # volunteers and communications
    volunteers = await c.all("iter_volunteers", page_size=1)
    assert len(volunteers) == (await c("search_volunteers")).total >= 2
    assert (await c("get_volunteer", w["volunteer"])).id == w["volunteer"]
    assert (await c("list_participations", w["volunteer"])).total >= 1
    assert (await c("list_communications", w["volunteer"])).total == 0
    export = await c("export_volunteers")
    assert export.media_type.startswith("text/csv") and export.text.count("\n") >= 3
    assert (
        await c("update_volunteer", w["volunteer"], models.VolunteerUpdate(local_status="local"))
    ).local_status == "local"
    assert (await c("communications_list_unmatched")).total == 0
    # metrics and year-end reports
    window = {"start_date": dt.date(2025, 8, 1), "end_date": dt.date(2026, 7, 31)}
    figures = await c("get_metrics", **window, ids=["M60"])
    assert (
        isinstance(figures, models.MetricsResponse)
        and figures.metrics is not None
        and figures.meta.computed_at
    )
    csv_file = await c("get_metrics_download", **window, ids=["M60"], format="csv")
    assert csv_file.media_type.startswith("text/csv") and "M60" in csv_file.text
    setting = await c("put_reporting_settings", models.ReportingSettings(virtual_students_per_teacher=24))
    assert (
        setting.virtual_students_per_teacher
        == (await c("get_reporting_settings")).virtual_students_per_teacher
        == 24
    )
    cards = await c.all("iter_year_end_cards", school_year="2526", page_size=1)
    assert len(cards) >= 2
    report = await c("district_year_end", w["district_id"], school_year="2526")
    assert report.district.id == w["district_id"]
    inputs = await c(
        "put_manual_inputs",
        w["district_id"],
        models.ManualInputsUpdate(careers_on_wheels=4),
        school_year="2526",
    )
    assert inputs.manual_inputs.careers_on_wheels == 4
    xlsx = await c("district_year_end_download", w["district_id"], school_year="2526", format="xlsx")
    assert xlsx.content[:2] == b"PK"
    # admin: users, API keys, audit
    user = await c(
        "create_user",
        models.UserCreate(email="pat@example.org", password="a long new password", security_level=1),
    )
    assert len(await c.all("iter_users", page_size=1)) == (await c("list_users")).total >= 2
    updated = await c("update_user", user.id, models.UserUpdate(first_name="Pat"))
    assert (updated.first_name, updated.security_level) == ("Pat", 1)  # only the field set was sent
    assert (await c("get_user", user.id)).email == "pat@example.org"
    key = await c("create_api_key", models.ApiKeyCreate(name="ci", scopes=["sync:read"]))
    async with make(url, api_key=key.key) as keyed:
        assert (await keyed("list_sync_runs")).total == 1
        assert [k.id for k in (await c("list_api_keys")).items] == [key.id]
        assert (await c("revoke_api_key", key.id)).revoked_at is not None
        with pytest.raises(PolarisError) as revoked:
            await keyed("list_sync_runs")
        assert revoked.value.status == 401
    audit = await c.all("iter_audit_log", page_size=5)
    assert {"user.created", "user.updated", "api_key.created", "api_key.revoked"} <= {e.action for e in audit}
    assert len(audit) == (await c("list_audit_log")).total
    async with make(url) as pat:  # a user changes their own password; the old token stops working
        old = "a long new password"
        pat.api.set_token((await pat("login", username="pat@example.org", password=old)).access_token)
        changed = models.PasswordChange(current_password=old, new_password="another long password")
        assert await pat("change_password", changed) is None
        with pytest.raises(PolarisError) as signed_out:
            await pat("me")
        assert signed_out.value.status == 401
    # the one error type
    with pytest.raises(PolarisError) as missing:
        await c("get_user", 10**9)
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    assert missing.value.problem["status"] == 404 and missing.value.detail
    with pytest.raises(PolarisError) as invalid:
        await c("create_user", {"email": "not-an-email", "password": "short"})
    assert invalid.value.status == 422 and invalid.value.code == "validation_error"
    assert invalid.value.problem["errors"]
    async with make(f"http://127.0.0.1:{free_port()}") as nowhere:
        with pytest.raises(PolarisError) as unreachable:
            await nowhere("healthz")
    assert (unreachable.value.status, unreachable.value.code) == (0, "transport_error")


def _groups(used: set[str]) -> set[str]:
    """The OpenAPI tags of the operations behind the methods used."""
    doc = normalise(_document())
    tags: dict[str, str] = {}
    for operation in collect(doc):
        tag = doc["paths"][operation.path][operation.method.lower()]["tags"][0]
        for name in (operation.name, iterator_name(operation.name), f"{operation.name}_download"):
            tags[name] = tag
    return {tags[name] for name in used if name in tags}


@pytest.mark.committed_db  # a live server thread
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_every_endpoint_group_through_the_client_against_a_live_server(
    flavour: str, admin: dict[str, Any], session: Any, sf: Any, sf_app_settings: Any
) -> None:
    sf.admin.replace("Session__c", [sf_session(1), sf_session(2, days=12)])
    world = await _world(session)
    used: set[str] = set()

    class _make:
        def __init__(self, url: str, **options: Any) -> None:
            self.url, self.options = url, options

        async def __aenter__(self) -> _Sync:
            if flavour == "sync":
                self.api: Any = PolarisClient(self.url, **self.options)
                return _Sync(self.api, used)
            self.api = AsyncPolarisClient(self.url, **self.options)
            return _Async(self.api, used)

        async def __aexit__(self, *_: object) -> None:
            if flavour == "sync":
                self.api.close()
            else:
                await self.api.aclose()

    with serve_in_thread(create_app(sf_app_settings())) as url:
        async with _make(url) as c:
            await _walk(c, world, admin, url, _make)
    everything = {tag for item in _document()["paths"].values() for op in item.values() for tag in op["tags"]}
    assert _groups(used) == everything
