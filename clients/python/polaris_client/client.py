"""Synchronous HTTP client over httpx. Errors arrive as :class:`PolarisError` (RFC 9457 bodies)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import httpx

from polaris_client.types import Page, Principal, PublicEvent, SignupResult, SyncRun, Token


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

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
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

    # --- anything else
    def get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=params)

    def post(self, path: str, json: Any = None, **params: Any) -> Any:
        return self._request("POST", path, json=json, params=params)
