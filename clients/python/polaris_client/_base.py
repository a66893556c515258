"""The hand-written transport under the generated methods: one ``httpx`` client, problem+json
errors as :class:`PolarisError`, pagination and downloads. Nothing here knows an endpoint."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

__all__ = ["AsyncTransport", "Download", "FileInput", "PolarisError", "SyncTransport"]

T = TypeVar("T")

FileInput = str | os.PathLike[str] | bytes | tuple[str, bytes]
"""An upload: a path, raw bytes, or ``(file name, bytes)``."""

Responses = Mapping[int, Any] | None
"""Success status → the type to parse its JSON body into (``None``: no body)."""


class PolarisError(Exception):
    """Every failure of a call: an RFC 9457 problem from the API, or ``status`` 0 when the
    server could not be reached (``code`` ``transport_error``).

    ``status`` is the HTTP status, ``code`` the problem's stable ``code`` (e.g.
    ``sync_already_running``), ``detail`` its human-readable text and ``problem`` the whole body
    (with extension members such as ``errors`` or ``report``).
    """

    def __init__(
        self, status: int, code: str, detail: str | None = None, problem: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {detail}" if detail else f"{status} {code}")
        self.status = status
        self.code = code
        self.detail = detail
        self.problem: dict[str, Any] = dict(problem or {})


@dataclass(frozen=True)
class Download:
    """A file answer (CSV, XLSX, iCalendar): its bytes, media type, suggested file name, and the
    ``X-Report-Meta`` header of report exports."""

    content: bytes
    media_type: str
    filename: str | None
    report_meta: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8-sig")


class _Page(Protocol[T]):
    items: list[T]
    page: int
    page_size: int
    total: int


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _parse(kind: Any, data: Any) -> Any:
    if kind is None:
        return None
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return kind.model_validate(data)
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter.validate_python(data)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _query(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query pairs without the unset ones; a list repeats its key."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((key, _text(item)))
    return pairs


def _json_body(body: Any) -> Any:
    if isinstance(body, BaseModel):
        # only the fields the caller set: a PATCH must not send the other fields as null
        return body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return body


def _form(fields: Mapping[str, Any]) -> dict[str, str]:
    return {key: _text(value) for key, value in fields.items() if value is not None}


def _file(upload: FileInput) -> tuple[str, bytes]:
    if isinstance(upload, tuple):
        return upload
    if isinstance(upload, bytes):
        return ("upload", upload)
    path = Path(upload)
    return (path.name, path.read_bytes())


def path_value(value: Any) -> str:
    """One path segment, percent-encoded."""
    return quote(_text(value), safe="")


def _error(response: httpx.Response) -> PolarisError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return PolarisError(response.status_code, f"http_{response.status_code}", response.reason_phrase)
    code = body.get("code") or f"http_{response.status_code}"
    detail = body.get("detail") or body.get("title")
    return PolarisError(response.status_code, str(code), None if detail is None else str(detail), body)


def _result(response: httpx.Response, responses: Responses) -> Any:
    if response.status_code >= 400:
        raise _error(response)
    if responses is None or response.status_code == 204 or not response.content:
        return None
    kind = responses.get(response.status_code, next(iter(responses.values())))
    try:
        return _parse(kind, response.json())
    except (ValueError, ValidationError) as error:
        raise PolarisError(
            response.status_code, "invalid_response", f"the answer does not match the schema: {error}"
        ) from error


def _download(response: httpx.Response) -> Download:
    if response.status_code >= 400:
        raise _error(response)
    disposition = response.headers.get("content-disposition", "")
    filename = disposition.split("filename=")[-1].strip('"') if "filename=" in disposition else None
    return Download(
        content=response.content,
        media_type=response.headers.get("content-type", ""),
        filename=filename,
        report_meta=response.headers.get("x-report-meta"),
        headers=dict(response.headers),
    )


def _headers(token: str | None, api_key: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json, application/problem+json;q=0.9, */*;q=0.1"}
    if api_key:
        headers["X-API-Key"] = api_key
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


class SyncTransport:
    """Synchronous calls over one ``httpx.Client`` (a context manager; ``close()`` when done)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=_headers(token, api_key),
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def set_token(self, token: str | None) -> None:
        """Send ``Authorization: Bearer <token>`` from now on (``None``: stop sending it)."""
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"
        else:
            self._http.headers.pop("Authorization", None)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise PolarisError(0, "transport_error", f"{type(error).__name__}: {error}") from error

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        form: Mapping[str, Any] | None = None,
        files: Mapping[str, FileInput | None] | None = None,
        responses: Responses = None,
    ) -> Any:
        response = self._send(method, path, **_content(params, json, form, files))
        return _result(response, responses)

    def _download(self, method: str, path: str, *, params: Mapping[str, Any] | None = None) -> Download:
        return _download(self._send(method, path, params=_query(params or {})))

    def _paginate(self, fetch: Callable[..., _Page[T]], params: dict[str, Any]) -> Iterator[T]:
        page = 1
        while True:
            result = fetch(page=page, **params)
            yield from result.items
            if not result.items or result.page * result.page_size >= result.total:
                return
            page += 1

    # escape hatches for paths the generated methods do not cover (e.g. a newer server)
    def get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=params, responses={200: Any})

    def post(self, path: str, json: Any = None, **params: Any) -> Any:
        return self._request("POST", path, params=params, json=json, responses={200: Any})


class AsyncTransport:
    """The same calls over one ``httpx.AsyncClient`` (``async with``; ``await aclose()``)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=_headers(token, api_key),
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def set_token(self, token: str | None) -> None:
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"
        else:
            self._http.headers.pop("Authorization", None)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise PolarisError(0, "transport_error", f"{type(error).__name__}: {error}") from error

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        form: Mapping[str, Any] | None = None,
        files: Mapping[str, FileInput | None] | None = None,
        responses: Responses = None,
    ) -> Any:
        response = await self._send(method, path, **_content(params, json, form, files))
        return _result(response, responses)

    async def _download(self, method: str, path: str, *, params: Mapping[str, Any] | None = None) -> Download:
        return _download(await self._send(method, path, params=_query(params or {})))

    async def _paginate(
        self, fetch: Callable[..., Awaitable[_Page[T]]], params: dict[str, Any]
    ) -> AsyncIterator[T]:
        page = 1
        while True:
            result = await fetch(page=page, **params)
            for item in result.items:
                yield item
            if not result.items or result.page * result.page_size >= result.total:
                return
            page += 1

    async def get(self, path: str, **params: Any) -> Any:
        return await self._request("GET", path, params=params, responses={200: Any})

    async def post(self, path: str, json: Any = None, **params: Any) -> Any:
        return await self._request("POST", path, params=params, json=json, responses={200: Any})


def _content(
    params: Mapping[str, Any] | None,
    json: Any,
    form: Mapping[str, Any] | None,
    files: Mapping[str, FileInput | None] | None,
) -> dict[str, Any]:
    content: dict[str, Any] = {"params": _query(params or {})}
    if json is not None:
        content["json"] = _json_body(json)
    if form is not None:
        content["data"] = _form(form)
    if files is not None:
        content["files"] = {name: _file(upload) for name, upload in files.items() if upload is not None}
    return content
