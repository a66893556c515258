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
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

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

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        cls = type(self)
        super().__init__(cls.status, cls.code, detail or cls.default_detail, **extra)


def not_found(what: str = "resource") -> Problem:
    return Problem(404, "not_found", f"The {what} does not exist or is not visible to you.")


def forbidden(detail: str = "You do not have the right to do this.") -> Problem:
    return Problem(403, "forbidden", detail)


def unauthorized(detail: str = "Authentication required.") -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def conflict(code: str, detail: str, **extra: Any) -> Problem:
    return Problem(409, code, detail, **extra)


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
    return Problem(
        422,
        "validation_error",
        "The request is not valid; see errors.",
        title="Unprocessable Content",
        errors=_safe_validation_errors(errors),
    )


async def _handle_problem(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc)


async def _handle_validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_problem(exc.errors()))


async def _handle_http(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
        exc.status_code, HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    )
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(Problem(exc.status_code, code, detail, headers=exc.headers))


async def _handle_ownership(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, OwnershipConflict)
    owner = str(exc.owner)
    code = "owned_by_salesforce" if owner == "salesforce" else f"owned_by_{owner}"
    return problem_response(
        Problem(
            409,
            code,
            f"The field '{exc.field}' of {exc.entity} is owned by {owner}; change it there.",
            owner=owner,
            field=exc.field,
        )
    )


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
    return problem_response(
        Problem(422, "invalid_value", "A submitted value cannot be stored (bad character or out of range).")
    )


async def _handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(Problem(500, "internal_error", "Unexpected error; it has been logged."))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(OwnershipConflict, _handle_ownership)
    app.add_exception_handler(DBAPIError, _handle_database_error)
    app.add_exception_handler(Exception, _handle_unexpected)


def problem_responses(*items: int | type[NamedProblem]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the problem+json errors of an endpoint.

    Items are bare statuses or :class:`NamedProblem` classes; the codes of the classes sharing a
    status are listed in that response's description (and under ``x-problem-codes``).
    """
    codes: dict[int, list[str]] = {}
    for item in items:
        if isinstance(item, int):
            codes.setdefault(item, [])
        else:
            codes.setdefault(item.status, []).append(item.code)
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
