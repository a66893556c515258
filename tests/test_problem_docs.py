"""Named, documented errors (issue 10 item 5): every problem code an endpoint answers is listed in
its ``responses=`` and so in ``/docs`` and ``openapi/openapi.json``.

How it is enforced: a development or test app (``create_app`` outside production) checks every
problem+json answer against the matched route's documented codes and records the misses in
``app.state.undocumented_problems``; the ``app`` fixture fails a test that left one. So the whole
suite, which exercises the error paths of every endpoint, is the check. The tests here prove the
check itself, and that no route documents an error status without naming its codes.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from polaris_api.errors import (
    GENERIC_PROBLEMS,
    PROBLEM_MEDIA_TYPE,
    NamedProblem,
    install_error_handlers,
    problem_responses,
)
from tests.conftest import assert_problems_documented


class Teapot(NamedProblem):
    status, code = 409, "teapot"


class Kettle(NamedProblem):
    status, code = 409, "kettle"


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, check_documented=True)

    @app.get("/documented", responses=problem_responses(Teapot))
    async def documented() -> None:
        raise Teapot("short and stout")

    @app.get("/other-code", responses=problem_responses(Teapot))
    async def other_code() -> None:
        raise Kettle()  # same status, a code the route does not list

    @app.get("/bare-status", responses=problem_responses(409))
    async def bare_status() -> None:
        raise Teapot()  # 409 is listed, but without any code

    @app.get("/not-found", responses=problem_responses(404))
    async def not_found() -> None:
        raise GENERIC_PROBLEMS[404]("gone")

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    return app


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_a_documented_code_passes_the_check():
    app = _app()
    for path in ("/documented", "/not-found"):
        response = await _get(app, path)
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert app.state.undocumented_problems == []


async def test_an_undocumented_code_is_recorded_with_its_route():
    app = _app()
    assert (await _get(app, "/other-code")).json()["code"] == "kettle"  # the answer is unchanged
    assert (await _get(app, "/bare-status")).status_code == 409
    assert app.state.undocumented_problems == [
        ("GET", "/other-code", 409, "kettle"),
        ("GET", "/bare-status", 409, "teapot"),
    ]


async def test_unexpected_errors_and_unknown_paths_are_not_counted():
    app = _app()
    assert (await _get(app, "/crash")).status_code == 500  # internal_error: any route may answer it
    assert (await _get(app, "/no-such-route")).status_code == 404  # no route, nothing to document
    assert app.state.undocumented_problems == []


def test_problem_responses_name_the_codes_of_each_status():
    responses = problem_responses(401, 404, 422, Teapot, Kettle)
    assert responses[401]["x-problem-codes"] == ["unauthorized"]
    assert responses[404]["x-problem-codes"] == ["not_found"]
    assert responses[422]["x-problem-codes"] == ["validation_error"]
    assert responses[409]["x-problem-codes"] == ["teapot", "kettle"]
    assert responses[409]["description"] == "Conflict: `teapot`, `kettle`"


def test_every_documented_error_status_of_the_api_names_its_codes(app):
    """No route lists an error status (``responses=problem_responses(409)``) without the codes it
    answers there, and ``openapi.json`` carries the codes (``x-problem-codes``)."""
    schema = app.openapi()
    bare = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                is_problem = PROBLEM_MEDIA_TYPE in response.get("content", {})
                if is_problem and int(status) >= 400 and not response.get("x-problem-codes"):
                    bare.append(f"{method.upper()} {path} {status}")
    assert bare == []


def test_production_apps_do_not_check(app):
    assert app.state.undocumented_problems == []  # the test app checks
    production = FastAPI()
    install_error_handlers(production)
    assert not hasattr(production.state, "undocumented_problems")


async def test_the_suite_gate_fails_a_test_that_left_an_undocumented_problem():
    """The ``app`` / ``make_app`` fixtures call this on teardown."""
    app = _app()
    await _get(app, "/other-code")
    with pytest.raises(AssertionError, match="kettle"):
        assert_problems_documented(app)
