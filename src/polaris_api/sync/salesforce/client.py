"""Salesforce connector (02 SF-1 … SF-4, SF-7, SF-60).

* One connector per run (``SalesforceConnector.from_settings``); it builds a fresh
  simple-salesforce client on first use (mode A logs in then, mode B needs no network).
* simple-salesforce is synchronous: every HTTP call (one page, or the login) runs in a worker
  thread with ``timeout=(connect, read)``.
* :meth:`SalesforceConnector.iter_pages` follows ``nextRecordsUrl`` until ``done`` — a single
  ``query`` page is never the whole answer (it truncates at 2,000 records).
* Every call is retried per SF-60 and failures surface as :class:`SalesforceError` whose
  ``code`` is one of the run failure codes of SF-20. Messages never contain record data or
  SOQL text (a query can hold emails): only HTTP status and Salesforce error codes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import functools
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import anyio.to_thread
import orjson
import requests
from pydantic import SecretStr
from simple_salesforce import Salesforce
from simple_salesforce import exceptions as sf_exc

if TYPE_CHECKING:
    from polaris_api.settings import Settings

__all__ = [
    "SalesforceConnector",
    "SalesforceError",
    "SfErrorCode",
    "Trigger",
    "soql_datetime",
    "soql_quote",
]

log = logging.getLogger(__name__)

SfErrorCode = Literal[
    "sf_auth_failed", "sf_unavailable", "sf_rate_limited", "sf_query_error", "sf_not_configured"
]
Trigger = Literal["schedule", "scheduled", "manual", "api"]
T = TypeVar("T")

REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"


class SalesforceError(Exception):
    """A failed Salesforce interaction, already classified (SF-20 failure codes).

    ``status`` is the HTTP status when there was a response, ``sf_error_code`` Salesforce's
    ``errorCode`` (``MALFORMED_QUERY``, ``INVALID_SESSION_ID`` …). The message holds no
    personal data.
    """

    def __init__(
        self,
        code: SfErrorCode,
        message: str,
        *,
        status: int | None = None,
        sf_error_code: str | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code: SfErrorCode = code
        self.message = message
        self.status = status
        self.sf_error_code = sf_error_code
        self.attempts = attempts


# ------------------------------------------------------------------------------------------------
# SOQL helpers
# ------------------------------------------------------------------------------------------------


def soql_datetime(dt: datetime) -> str:
    """A watermark as a SOQL datetime literal: UTC, floored to the second (SF-7).

    ``2026-01-15T10:30:00.999+00:00`` → ``2026-01-15T10:30:00Z``. A naive datetime is taken
    as UTC (SQLite hands back naive values for UTC columns).
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def soql_quote(value: str) -> str:
    """A SOQL string literal: ``O'Brien`` → ``'O\\'Brien'``."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


# ------------------------------------------------------------------------------------------------
# HTTP plumbing
# ------------------------------------------------------------------------------------------------


class _HttpSession(requests.Session):
    """The ``requests`` session handed to simple-salesforce.

    * default ``timeout=(connect, read)`` for calls that do not pass one (the SOAP login);
    * the configured CA bundle is applied per request: ``requests`` lets the
      ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` environment variables override
      ``Session.verify``, which would silently ignore ``salesforce_ca_bundle``.
    """

    def __init__(self, *, timeout: tuple[float, float], ca_bundle: str | None) -> None:
        super().__init__()
        self.default_timeout = timeout
        if ca_bundle:
            self.verify = ca_bundle

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        if kwargs.get("verify") is None and self.verify is not True:
            kwargs["verify"] = self.verify
        return super().request(method, url, *args, **kwargs)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _sf_error_code(content: Any) -> str | None:
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        code = content[0].get("errorCode")
        return str(code) if code else None
    if isinstance(content, Mapping):
        code = content.get("errorCode") or content.get("error")
        return str(code) if code else None
    return None


@dataclass(frozen=True)
class _Failure:
    transient: bool
    error: SalesforceError
    rate_limited: bool = False


def _classify(exc: BaseException) -> _Failure | None:
    """How SF-60 treats an exception; None for programming errors (re-raised as they are)."""
    if isinstance(exc, SalesforceError):
        return _Failure(False, exc)
    if isinstance(exc, sf_exc.SalesforceAuthenticationFailed):
        code = str(exc.code) if exc.code is not None else None
        return _Failure(
            False, SalesforceError("sf_auth_failed", "Salesforce login failed", sf_error_code=code)
        )
    if isinstance(exc, sf_exc.SalesforceError):
        status = int(exc.status)
        code = _sf_error_code(exc.content)
        detail = f"HTTP {status}" + (f" {code}" if code else "")
        if status == 401:
            return _Failure(
                False,
                SalesforceError(
                    "sf_auth_failed", f"not authenticated ({detail})", status=status, sf_error_code=code
                ),
            )
        if status == 403 and code == REQUEST_LIMIT_EXCEEDED:
            err = SalesforceError(
                "sf_rate_limited", f"API request limit exceeded ({detail})", status=status, sf_error_code=code
            )
            return _Failure(True, err, rate_limited=True)
        if status == 403:
            return _Failure(
                False,
                SalesforceError(
                    "sf_auth_failed", f"request refused ({detail})", status=status, sf_error_code=code
                ),
            )
        if status >= 500:
            return _Failure(
                True,
                SalesforceError(
                    "sf_unavailable", f"server error ({detail})", status=status, sf_error_code=code
                ),
            )
        if status == 404:
            msg = f"resource not found ({detail}); check the instance URL and API version"
            return _Failure(False, SalesforceError("sf_query_error", msg, status=status, sf_error_code=code))
        return _Failure(
            False,
            SalesforceError(
                "sf_query_error", f"request rejected ({detail})", status=status, sf_error_code=code
            ),
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return _Failure(
            False, SalesforceError("sf_unavailable", "TLS handshake or certificate verification failed")
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return _Failure(True, SalesforceError("sf_unavailable", f"timed out ({type(exc).__name__})"))
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return _Failure(True, SalesforceError("sf_unavailable", f"connection failed ({type(exc).__name__})"))
    if isinstance(exc, requests.exceptions.JSONDecodeError | requests.exceptions.ContentDecodingError):
        return _Failure(True, SalesforceError("sf_unavailable", "unreadable response"))
    if isinstance(exc, requests.exceptions.RequestException):
        return _Failure(False, SalesforceError("sf_unavailable", f"request failed ({type(exc).__name__})"))
    if isinstance(exc, KeyError | ValueError):  # a 200 whose body is not a query result
        return _Failure(True, SalesforceError("sf_unavailable", "unexpected response shape"))
    return None


class _Salesforce(Salesforce):
    """simple-salesforce with answers decoded by orjson (several times faster than ``json`` with
    an ``object_pairs_hook``; issue 13 item 5); a body orjson refuses is decoded as before."""

    def parse_result_to_json(self, result: requests.Response) -> Any:
        try:
            return orjson.loads(result.content)
        except orjson.JSONDecodeError:
            return super().parse_result_to_json(result)


def _page(result: Any) -> dict[str, Any]:
    """A query answer with its records' ``attributes`` stripped (in the worker thread)."""
    if isinstance(result, dict) and result.get("records"):
        for record in result["records"]:
            _drop_attributes(record)
    return result  # type: ignore[no-any-return]


def _drop_attributes(record: dict[str, Any]) -> None:
    """Remove the ``attributes`` of a record and of its related records, in place."""
    record.pop("attributes", None)
    if dict in map(type, record.values()):  # a relationship field: rare, checked in C
        for value in record.values():
            if isinstance(value, dict):
                _drop_attributes(value)


def _abandon(task: asyncio.Task[Any]) -> None:
    """Cancel a page request nobody will read (its thread finishes on its own); its outcome is
    retrieved so it is never reported as an exception never retrieved."""
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


def _secret(value: SecretStr | str | None) -> str | None:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None or not value.strip():
        return None
    return value


# ------------------------------------------------------------------------------------------------
# Connector
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectorConfig:
    mode: Literal["password", "token"]
    api_version: str
    instance_url: str | None = None
    access_token: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    domain: str = "login"
    ca_bundle: str | None = None
    connect_timeout_s: float = 10
    read_timeout_s: float = 120
    retry_base_delay_s: float = 2
    retry_max_wait_s: float = 300

    def __repr__(self) -> str:  # never print secrets
        return f"ConnectorConfig(mode={self.mode!r}, instance_url={self.instance_url!r}, api_version={self.api_version!r})"


class SalesforceConnector:
    """Reads Salesforce for one run.

    ``trigger`` selects the SF-60 retry policy: ``schedule`` → 3 attempts with exponential
    backoff ``base × 2^(n−1)`` ±20 %; ``manual`` / ``api`` → one immediate retry. ``sleep`` is
    the async sleep used between attempts (tests pass a recorder).
    """

    def __init__(
        self,
        config: ConnectorConfig,
        *,
        trigger: Trigger,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if trigger not in ("schedule", "scheduled", "manual", "api"):
            raise ValueError(f"unknown trigger {trigger!r}")
        self.config = config
        self.trigger: Trigger = trigger
        self.scheduled = trigger in ("schedule", "scheduled")
        self.max_attempts = 3 if self.scheduled else 2
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._timeout = (config.connect_timeout_s, config.read_timeout_s)
        self._http = _HttpSession(timeout=self._timeout, ca_bundle=config.ca_bundle)
        self._http.hooks["response"].append(self._on_response)
        self._client: Salesforce | None = None
        self._retry_after: float | None = None
        self.http_calls = 0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        trigger: Trigger,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
        rng: random.Random | None = None,
    ) -> SalesforceConnector:
        """A connector for one run, or ``SalesforceError("sf_not_configured")`` (SF-2)."""
        username = _secret(settings.salesforce_username)
        password = _secret(settings.salesforce_password)
        security_token = _secret(settings.salesforce_security_token)
        domain = _secret(settings.salesforce_domain)
        instance_url = _secret(settings.salesforce_instance_url)
        access_token = _secret(settings.salesforce_access_token)
        mode_a = all((username, password, security_token, domain))
        mode_b = all((instance_url, access_token))
        if mode_a and mode_b:
            raise SalesforceError(
                "sf_not_configured",
                "both Salesforce auth modes are configured (username/password and instance URL/token); "
                "configure exactly one",
            )
        if not (mode_a or mode_b):
            raise SalesforceError(
                "sf_not_configured",
                "Salesforce is not configured: set username, password, security token and domain, "
                "or instance URL and access token",
            )
        if mode_a:
            config = ConnectorConfig(
                mode="password",
                api_version="",
                username=username,
                password=password,
                security_token=security_token,
                domain=domain or "login",
            )
        else:
            assert instance_url is not None
            url = instance_url.strip().rstrip("/")
            if "://" not in url:
                url = "https://" + url
            config = ConnectorConfig(
                mode="token", api_version="", instance_url=url, access_token=access_token
            )
        config = dataclasses.replace(
            config,
            api_version=settings.salesforce_api_version.lstrip("vV"),
            ca_bundle=settings.salesforce_ca_bundle or None,
            connect_timeout_s=settings.salesforce_connect_timeout_s,
            read_timeout_s=settings.salesforce_read_timeout_s,
            retry_base_delay_s=settings.salesforce_retry_base_delay_s,
            retry_max_wait_s=settings.salesforce_retry_max_wait_s,
        )
        return cls(config, trigger=trigger, sleep=sleep, rng=rng)

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    async def __aenter__(self) -> SalesforceConnector:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def api_usage(self) -> int | None:
        """API requests used in the org's 24-hour window (Sforce-Limit-Info), when known."""
        usage = self._client.api_usage.get("api-usage") if self._client is not None else None
        return getattr(usage, "used", None)

    # -- reading ------------------------------------------------------------------------------
    async def iter_pages(self, soql: str, *, include_deleted: bool) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield every page of ``soql`` (``queryAll`` when ``include_deleted``), records without
        ``attributes``. Follows ``nextRecordsUrl`` until ``done``; empty pages are skipped.

        The next page is requested (in its worker thread) as soon as a page arrives, so
        Salesforce answers it while the caller writes this one (issue 13 item 5); a failure of
        that request surfaces when the caller asks for the page, as before (SF-60)."""
        client = await self._get_client()
        result = await self._call(
            lambda: _page(client.query(soql, include_deleted=include_deleted, timeout=self._timeout)), "query"
        )
        while True:
            records = result.get("records") or []
            next_page: asyncio.Task[dict[str, Any]] | None = None
            if not result.get("done", True):
                next_url = result.get("nextRecordsUrl")
                if not next_url:
                    raise SalesforceError(
                        "sf_unavailable", "query result not done but without nextRecordsUrl"
                    )
                more = functools.partial(
                    client.query_more, next_url, identifier_is_url=True, timeout=self._timeout
                )
                next_page = asyncio.ensure_future(self._call(lambda more=more: _page(more()), "query_more"))  # type: ignore[misc]
            try:
                if records:
                    yield records
            except BaseException:
                if next_page is not None:
                    _abandon(next_page)
                raise
            if next_page is None:
                return
            try:
                result = await next_page
            finally:
                if not next_page.done():
                    _abandon(next_page)

    async def query_all(self, soql: str, *, include_deleted: bool) -> list[dict[str, Any]]:
        """Every record of ``soql`` in one list (small result sets only; stream the rest)."""
        out: list[dict[str, Any]] = []
        async for page in self.iter_pages(soql, include_deleted=include_deleted):
            out.extend(page)
        return out

    # -- writing (03 SIGN-9, the one write Polaris makes) ------------------------------------
    async def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Create one ``sobject`` record and return its Id.

        Made once, never retried here: a create whose answer was lost may have happened, so the
        caller looks the record up again before it creates it a second time (SIGN-9)."""
        client = await self._get_client()
        sftype = getattr(client, sobject)
        result = await self._call(lambda: sftype.create(dict(fields)), f"create {sobject}", attempts=1)
        record_id = result.get("id") if isinstance(result, Mapping) else None
        if not isinstance(record_id, str) or not record_id:
            raise SalesforceError("sf_unavailable", f"create {sobject}: the answer holds no record id")
        return record_id

    # -- internals ----------------------------------------------------------------------------
    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.http_calls += 1
        if response.status_code >= 400:
            self._retry_after = _parse_retry_after(response.headers.get("Retry-After"))

    def _build_client(self) -> Salesforce:
        cfg = self.config
        if cfg.mode == "token":
            return _Salesforce(
                instance_url=cfg.instance_url,
                session_id=cfg.access_token,
                version=cfg.api_version,
                session=self._http,
                object_pairs_hook=dict,
            )
        return _Salesforce(
            username=cfg.username,
            password=cfg.password,
            security_token=cfg.security_token,
            domain=cfg.domain,
            version=cfg.api_version,
            session=self._http,
            object_pairs_hook=dict,
        )

    async def _get_client(self) -> Salesforce:
        if self._client is None:
            self._client = await self._call(
                self._build_client, "login" if self.config.mode == "password" else "client"
            )
        return self._client

    async def wait_before_retry(self, attempt: int) -> None:
        """The SF-60 wait after failed ``attempt`` (none for manual and API runs)."""
        wait = min(self._backoff(attempt), self.config.retry_max_wait_s)
        if wait > 0:
            await self._sleep(wait)

    def _backoff(self, attempt: int) -> float:
        if not self.scheduled:
            return 0.0
        return self.config.retry_base_delay_s * 2 ** (attempt - 1) * self._rng.uniform(0.8, 1.2)

    async def _call(self, fn: Callable[[], T], what: str, *, attempts: int | None = None) -> T:
        max_attempts = attempts or self.max_attempts
        last: _Failure | None = None
        for attempt in range(1, max_attempts + 1):
            self._retry_after = None
            started = time.monotonic()
            try:
                return await anyio.to_thread.run_sync(fn)
            except Exception as exc:
                failure = _classify(exc)
                if failure is None:
                    raise
                retry_after = self._retry_after
            err = failure.error
            err.attempts = attempt
            if not failure.transient:
                log.warning("salesforce %s failed (not retried): %s", what, err)
                raise err from None
            last = failure
            elapsed = time.monotonic() - started
            if attempt == max_attempts:
                break
            wait = self._backoff(attempt)
            if retry_after is not None:
                if retry_after > self.config.retry_max_wait_s:
                    raise SalesforceError(
                        "sf_rate_limited",
                        f"Retry-After {retry_after:g}s exceeds the maximum wait "
                        f"{self.config.retry_max_wait_s:g}s ({err.message})",
                        status=err.status,
                        sf_error_code=err.sf_error_code,
                        attempts=attempt,
                    ) from None
                wait = max(retry_after, wait)
            wait = min(wait, self.config.retry_max_wait_s)
            log.warning(
                "salesforce %s attempt %d/%d failed after %.1fs: %s; retrying in %.1fs",
                what,
                attempt,
                max_attempts,
                elapsed,
                err.message,
                wait,
            )
            if wait > 0:
                await self._sleep(wait)
        assert last is not None
        code: SfErrorCode = "sf_rate_limited" if last.rate_limited else "sf_unavailable"
        raise SalesforceError(
            code,
            f"Salesforce {what} failed after {max_attempts} attempt(s): {last.error.message}",
            status=last.error.status,
            sf_error_code=last.error.sf_error_code,
            attempts=max_attempts,
        ) from None
