"""RFC 9457 problem details for every error path.

Raise :class:`Problem` (or a subclass) from services and dependencies; the handlers below turn
it, FastAPI validation errors, Starlette HTTP errors and unexpected exceptions into
``application/problem+json``. Validation errors never echo the submitted values (PRIV-1, SIGN-3).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from polaris_api.imports.tabular import TableError
from polaris_api.ownership import OwnershipConflict

log = logging.getLogger("polaris_api.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ProblemDetail(BaseModel):
    """The body of every error response."""

    type: str = Field(examples=["/problems/not_found"])
    title: str
    status: int
    detail: str | None = None
    code: str | None = Field(None, description="Machine-readable reason, stable across releases")
    errors: list[FieldError] | None = None
    model_config = {"extra": "allow"}


class Problem(Exception):
    """An error the API answers with a problem+json body."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        *,
        title: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class NamedProblem(Problem):
    """One problem code as one class, raised by services and listed in ``responses=``.

    ``class UnknownMetric(NamedProblem): status, code = 422, "unknown_metric"``; raise it with a
    detail (``raise UnknownMetric("M999 is not a metric")``) and document it on the endpoint with
    ``problem_responses(401, UnknownMetric)`` so ``/docs`` names every code the endpoint returns.
    """

    status: int = 400
    code: str = "bad_request"
    default_detail: str | None = None
    default_headers: Mapping[str, str] | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        title: str | None = None,
        **extra: Any,
    ) -> None:
        cls = type(self)
        super().__init__(
            cls.status,
            cls.code,
            detail or cls.default_detail,
            title=title,
            errors=errors,
            headers=headers if headers is not None else cls.default_headers,
            **extra,
        )


# --- Cross-cutting problems (any endpoint); domain problems live next to the code raising them.


class BadRequest(NamedProblem):
    status, code = 400, "bad_request"


class Unauthorized(NamedProblem):
    status, code = 401, "unauthorized"
    default_detail = "Authentication required."
    default_headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(NamedProblem):
    status, code = 403, "forbidden"
    default_detail = "You do not have the right to do this."


class NotFound(NamedProblem):
    status, code = 404, "not_found"


class ValidationFailed(NamedProblem):
    """FastAPI request validation and the services' own field checks (``errors`` lists them)."""

    status, code = 422, "validation_error"
    default_detail = "The request is not valid; see errors."


class InvalidValue(NamedProblem):
    """A value the database cannot hold (any endpoint that stores or filters on text)."""

    status, code = 422, "invalid_value"
    default_detail = "A submitted value cannot be stored (bad character or out of range)."


class PayloadTooLarge(NamedProblem):
    status, code = 413, "payload_too_large"


class RateLimited(NamedProblem):
    status, code = 429, "rate_limited"


class InternalError(NamedProblem):
    status, code = 500, "internal_error"
    default_detail = "Unexpected error; it has been logged."


class UnknownDistrict(NamedProblem):
    """A body or form names a district that does not exist."""

    status, code = 422, "unknown_district"
    default_detail = "The district does not exist."


class UnknownSchool(NamedProblem):
    status, code = 422, "unknown_school"
    default_detail = "The school does not exist."


class UnknownEvent(NamedProblem):
    status, code = 422, "unknown_event"
    default_detail = "The event does not exist."


class NotesRequired(NamedProblem):
    """VOC-16 / RO-14: the reason ``other`` needs notes."""

    status, code = 422, "notes_required"
    default_detail = "The reason 'other' needs notes."


GENERIC_PROBLEMS: dict[int, type[NamedProblem]] = {
    problem.status: problem
    for problem in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        ValidationFailed,
        PayloadTooLarge,
        RateLimited,
    )
}
"""The class a bare status in :func:`problem_responses` stands for (``401`` = ``Unauthorized``)."""

ANYWHERE = frozenset({(500, InternalError.code), (422, InvalidValue.code), (400, BadRequest.code)})
"""Problems any route may answer, documented once in the API description instead of on every
route: an unexpected error, a value the database refuses, a body that is not parseable JSON."""


def not_found(what: str = "resource") -> Problem:
    return NotFound(f"The {what} does not exist or is not visible to you.")


def forbidden(detail: str = "You do not have the right to do this.") -> Problem:
    return Forbidden(detail)


def unauthorized(detail: str = "Authentication required.") -> Problem:
    return Unauthorized(detail)


def problem_response(problem: Problem) -> Response:
    return Response(
        orjson.dumps(problem.body()),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _safe_validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Keep location, message and type only: never the submitted input."""
    safe = []
    for error in errors:
        loc = [part if isinstance(part, int | str) else str(part) for part in error.get("loc", ())]
        safe.append({"loc": loc, "msg": str(error.get("msg", "invalid")), "type": str(error.get("type"))})
    return safe


def validation_problem(errors: Sequence[Any]) -> Problem:
    return ValidationFailed(title="Unprocessable Content", errors=_safe_validation_errors(errors))


def check_date_range(
    start: Any, end: Any, *, start_name: str = "start_date", end_name: str = "end_date", where: str = "query"
) -> None:
    """The one date-range check: ``start`` after ``end`` is 422 ``validation_error`` on ``end_name``
    (``type: date_range``), whichever endpoint takes the range."""
    if start is not None and end is not None and start > end:
        raise validation_problem(
            [
                {
                    "loc": (where, end_name),
                    "msg": f"{end_name} must not be before {start_name}",
                    "type": "date_range",
                }
            ]
        )


class OwnedBySalesforce(NamedProblem):
    """OWN-2: the field is Salesforce's; change it there."""

    status, code = 409, "owned_by_salesforce"


class OwnedByPathful(NamedProblem):
    """04 PF-11: the field or row is the Pathful import's."""

    status, code = 409, "owned_by_pathful"


class OwnedByPublishing(NamedProblem):
    status, code = 409, "owned_by_publishing"


class OwnedByPolaris(NamedProblem):
    status, code = 409, "owned_by_polaris"


class OwnedByRoster(NamedProblem):
    status, code = 409, "owned_by_roster"


class OwnedByDerived(NamedProblem):
    status, code = 409, "owned_by_derived"


class OwnedByWebsite(NamedProblem):
    status, code = 409, "owned_by_website"


OWNERSHIP_PROBLEMS: tuple[type[NamedProblem], ...] = (
    OwnedBySalesforce,
    OwnedByPathful,
    OwnedByPublishing,
    OwnedByPolaris,
    OwnedByRoster,
    OwnedByDerived,
    OwnedByWebsite,
)
"""OWN-2: a write naming a field another owner holds answers ``owned_by_<owner>`` (the owner of
``polaris_api.ownership.OWNERSHIP``); endpoints that check ownership list all of them."""
_OWNED_BY = {problem.code.removeprefix("owned_by_"): problem for problem in OWNERSHIP_PROBLEMS}


def ownership_problem(exc: OwnershipConflict) -> Problem:
    owner = str(exc.owner)
    return _OWNED_BY[owner](
        f"The field '{exc.field}' of {exc.entity} is owned by {owner}; change it there.",
        owner=owner,
        field=exc.field,
    )


def table_problem(error: TableError) -> Problem:
    """A file or sheet that cannot be read (04 PF-1/PF-2, RO-1): 413 ``file_too_large`` and
    ``upload_too_large``, else 422 with the error's code (documented by the classes of
    :mod:`polaris_api.sync.problems`); a bound's ``limit`` and ``setting`` join the body."""
    status = 413 if error.code in ("file_too_large", "upload_too_large") else 422
    return Problem(status, error.code, error.detail, **error.extra)


# --- Handlers, and the documentation check of development and test apps


def undocumented(request: Request, problem: Problem) -> bool:
    """Whether the matched route's ``responses=`` does not list ``problem``'s status and code.

    Requests matching no route (404, 405) and the :data:`ANYWHERE` problems are not checked."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or request.method not in (route.methods or ()):
        return False
    if (problem.status, problem.code) in ANYWHERE:
        return False
    entry = route.responses.get(problem.status) or route.responses.get(str(problem.status))
    return entry is None or problem.code not in entry.get("x-problem-codes", ())


def _answer(request: Request, problem: Problem) -> Response:
    """The problem+json response; in a development or test app a problem the route does not
    document is logged and kept in ``app.state.undocumented_problems`` (the test suite fails on
    it, so ``openapi.json`` lists every code an endpoint can return)."""
    found: list[tuple[str, str, int, str]] | None = getattr(request.app.state, "undocumented_problems", None)
    if found is not None and undocumented(request, problem):
        route = request.scope["route"]
        found.append((request.method, route.path, problem.status, problem.code))
        log.error(
            "%s %s answered %s %s, which its responses= does not list",
            request.method,
            route.path,
            problem.status,
            problem.code,
        )
    return problem_response(problem)


async def _handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return _answer(request, exc)


async def _handle_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return _answer(request, validation_problem(exc.errors()))


async def _handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
        exc.status_code, HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    )
    detail = exc.detail if isinstance(exc.detail, str) else None
    return _answer(request, Problem(exc.status_code, code, detail, headers=exc.headers))


async def _handle_table_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TableError)
    return _answer(request, table_problem(exc))


async def _handle_ownership(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OwnershipConflict)
    return _answer(request, ownership_problem(exc))


def _is_data_exception(exc: BaseException) -> bool:
    """SQLSTATE class 22 (data exception) anywhere in the driver's error chain, or a DataError."""
    if isinstance(exc, DataError):
        return True
    seen: BaseException | None = getattr(exc, "orig", None)
    while seen is not None:
        if str(getattr(seen, "sqlstate", "") or "").startswith("22"):
            return True
        seen = seen.__cause__
    return False


async def _handle_database_error(request: Request, exc: Exception) -> Response:
    if not _is_data_exception(exc):
        return await _handle_unexpected(request, exc)
    return await _handle_data_error(request, exc)


async def _handle_data_error(request: Request, exc: Exception) -> Response:
    """A value the database cannot hold (a NUL character in text, a number or date out of range)
    is bad input, whichever endpoint it reached: 422, never 500. The transaction is rolled back by
    the session; the driver message is not echoed (it may quote the value)."""
    log.info("database refused a value on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return _answer(request, InvalidValue())


async def _handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _answer(request, InternalError())


def install_error_handlers(app: FastAPI, *, check_documented: bool = False) -> None:
    """The problem+json handlers; ``check_documented`` (development and tests) records every
    problem a route answers without listing it in ``responses=`` (see :func:`undocumented`)."""
    if check_documented:
        app.state.undocumented_problems = []
    app.add_exception_handler(Problem, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(OwnershipConflict, _handle_ownership)
    app.add_exception_handler(TableError, _handle_table_error)
    app.add_exception_handler(DBAPIError, _handle_database_error)
    app.add_exception_handler(Exception, _handle_unexpected)


def problem_responses(*items: int | type[NamedProblem]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the problem+json errors of an endpoint.

    Items are :class:`NamedProblem` classes, or bare statuses standing for their generic class
    (:data:`GENERIC_PROBLEMS`: ``401`` is ``unauthorized``, ``422`` ``validation_error`` …; a status
    without one documents no code). The codes sharing a status are listed in that response's
    description and under ``x-problem-codes``, which the development check reads.
    """
    codes: dict[int, list[str]] = {}
    for item in items:
        named = GENERIC_PROBLEMS.get(item) if isinstance(item, int) else item
        status = item if isinstance(item, int) else item.status
        listed = codes.setdefault(status, [])
        if named is not None and named.code not in listed:
            listed.append(named.code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(codes):
        phrase = HTTPStatus(status).phrase
        entry: dict[str, Any] = {
            "model": ProblemDetail,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": f"{phrase}: " + ", ".join(f"`{c}`" for c in codes[status])
            if codes[status]
            else phrase,
        }
        if codes[status]:
            entry["x-problem-codes"] = codes[status]
        responses[status] = entry
    return responses
