"""Synchronous HTTP client over httpx. Errors arrive as :class:`PolarisError` (RFC 9457 bodies)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import httpx

from polaris_client.types import (
    Download,
    ManualInputsResult,
    MetricsResult,
    Page,
    Principal,
    PublicEvent,
    SignupResult,
    SyncRun,
    Token,
    YearEndCardPage,
    YearEndReport,
)


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without the unset ones."""
    return {key: value for key, value in values.items() if value is not None}


class PolarisError(Exception):
    """A problem+json answer from the API (or a transport failure, status 0)."""

    def __init__(
        self, status: int, code: str, detail: str | None, body: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {detail or ''}".strip())
        self.status = status
        self.code = code
        self.detail = detail
        self.body = dict(body or {})


class PolarisClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if api_key:
            headers["X-API-Key"] = api_key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> PolarisClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise PolarisError(0, "transport_error", type(error).__name__) from error
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise PolarisError(response.status_code, str(body.get("code", "error")), body.get("detail"), body)
        return response

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # --- auth
    def login(self, email: str, password: str) -> Token:
        token = cast(
            Token, self._request("POST", "/api/v1/auth/token", data={"username": email, "password": password})
        )
        self._http.headers["Authorization"] = f"Bearer {token['access_token']}"
        return token

    def me(self) -> Principal:
        return cast(Principal, self._request("GET", "/api/v1/auth/me"))

    # --- sync (09 OPS-6)
    def run_sync(self, kind: str, *, mode: str | None = None, wait: bool = False) -> SyncRun:
        params: dict[str, Any] = {"wait": str(wait).lower()}
        if mode:
            params["mode"] = mode
        return cast(SyncRun, self._request("POST", f"/api/v1/sync/{kind}", params=params))

    def sync_run(self, run_id: int) -> SyncRun:
        return cast(SyncRun, self._request("GET", f"/api/v1/sync/runs/{run_id}"))

    def sync_runs(self, **filters: Any) -> Page[SyncRun]:
        return cast(Page[SyncRun], self._request("GET", "/api/v1/sync/runs", params=filters))

    def sync_health(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._request("GET", "/api/v1/sync/health"))

    # --- public website
    def public_events(self, **params: Any) -> Page[PublicEvent]:
        return cast(Page[PublicEvent], self._request("GET", "/api/v1/public/events", params=params))

    def iter_public_events(self, page_size: int = 100, **params: Any) -> Iterator[PublicEvent]:
        page = 1
        while True:
            result = self.public_events(page=page, page_size=page_size, **params)
            yield from result["items"]
            if page * page_size >= result["total"]:
                return
            page += 1

    def signup(self, event_id: int | str, body: Mapping[str, Any]) -> SignupResult:
        return cast(
            SignupResult, self._request("POST", f"/api/v1/public/events/{event_id}/signup", json=dict(body))
        )

    # --- imports (04)
    def import_file(self, kind: str, path: Path, **form: Any) -> dict[str, Any]:
        data = {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in form.items()
            if value is not None
        }
        with path.open("rb") as handle:
            files = {"file": (path.name, handle)}
            return cast(
                dict[str, Any], self._request("POST", f"/api/v1/imports/{kind}", data=data, files=files)
            )

    # --- metrics and district year-end reports (06)
    def metrics(
        self,
        start_date: str,
        end_date: str,
        *,
        ids: Sequence[str] | None = None,
        group_by: str | None = None,
        **filters: Any,
    ) -> MetricsResult:
        """``GET /api/v1/metrics``; dates are ``YYYY-MM-DD`` (Chicago), ``ids`` e.g. ``["M10", "M20"]``."""
        params = _params(start_date=start_date, end_date=end_date, group_by=group_by, **filters)
        if ids:
            params["ids"] = ",".join(ids)
        return cast(MetricsResult, self._request("GET", "/api/v1/metrics", params=params))

    def metrics_export(
        self, start_date: str, end_date: str, *, format: str = "csv", **filters: Any
    ) -> Download:
        """The same figures as :meth:`metrics` as a CSV or XLSX file (``format``)."""
        params = _params(start_date=start_date, end_date=end_date, format=format, **filters)
        return self._download("/api/v1/metrics", params)

    def year_end_cards(
        self, school_year: str | None = None, *, host_filter: str = "all", page: int = 1, page_size: int = 50
    ) -> YearEndCardPage:
        """One card per district the caller may see (06 §6.7)."""
        params = _params(school_year=school_year, host_filter=host_filter, page=page, page_size=page_size)
        return cast(YearEndCardPage, self._request("GET", "/api/v1/reports/year-end", params=params))

    def district_year_end(
        self, district_id: int, school_year: str | None = None, *, host_filter: str = "all"
    ) -> YearEndReport:
        """The full district year-end report (06 §6.9)."""
        return cast(
            YearEndReport,
            self._request(
                "GET",
                f"/api/v1/reports/districts/{district_id}/year-end",
                params=_params(school_year=school_year, host_filter=host_filter),
            ),
        )

    def district_year_end_export(
        self,
        district_id: int,
        school_year: str | None = None,
        *,
        format: str = "xlsx",
        part: str | None = None,
        host_filter: str = "all",
    ) -> Download:
        """The report's timeline and by-school rows as XLSX (both sheets) or CSV (``part``)."""
        params = _params(school_year=school_year, host_filter=host_filter, format=format, part=part)
        return self._download(f"/api/v1/reports/districts/{district_id}/year-end", params)

    def update_manual_inputs(
        self,
        district_id: int,
        school_year: str | None,
        values: Mapping[str, float | int | None],
        *,
        host_filter: str = "all",
    ) -> ManualInputsResult:
        """Partial update of the year-end manual inputs (06 §6.8): ``None`` deletes a key."""
        return cast(
            ManualInputsResult,
            self._request(
                "PUT",
                f"/api/v1/reports/districts/{district_id}/year-end/manual-inputs",
                params=_params(school_year=school_year, host_filter=host_filter),
                json=dict(values),
            ),
        )

    def _download(self, path: str, params: Mapping[str, Any]) -> Download:
        response = self._send("GET", path, params=params)
        disposition = response.headers.get("content-disposition", "")
        filename = disposition.split("filename=")[-1].strip('"') if "filename=" in disposition else None
        return Download(
            content=response.content,
            media_type=response.headers.get("content-type", ""),
            filename=filename,
            report_meta=response.headers.get("x-report-meta"),
        )

    # --- anything else
    def get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=params)

    def post(self, path: str, json: Any = None, **params: Any) -> Any:
        return self._request("POST", path, json=json, params=params)
