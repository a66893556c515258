"""Rate limits with pluggable storage (AC-3 login, SIGN-10 signups; SCALE-5 shared storage).

``POLARIS_RATE_LIMIT_STORAGE`` is ``memory://`` for one process or ``redis://host:port[/db]``
when several processes serve; the ``limits`` library does the counting (its ``async-redis``
extra brings the ``coredis`` client it supports). Keys start with
``POLARIS_RATE_LIMIT_KEY_PREFIX``, so several deployments can share one Redis.

When the storage cannot be reached or does not answer within
``POLARIS_RATE_LIMIT_TIMEOUT_SECONDS``, a limited endpoint fails closed: 503
``rate_limit_unavailable`` with ``Retry-After`` (issue 11 item 5). Login, signup and magic links
are the endpoints an attacker would hammer, so they are never served uncounted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, cast

from limits import RateLimitItem, parse
from limits.aio.storage import Storage as AsyncStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from polaris_api.errors import NamedProblem, RateLimited

log = logging.getLogger(__name__)

UNAVAILABLE_RETRY_AFTER_SECONDS = 30
"""What a 503 ``rate_limit_unavailable`` asks the caller to wait before trying again."""


class RateLimitUnavailable(NamedProblem):
    """The rate-limit storage (Redis) is unreachable: the request is refused, not served uncounted."""

    status, code = 503, "rate_limit_unavailable"
    default_detail = "The service cannot check its rate limits right now; try again shortly."
    default_headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)}


def _async_uri(uri: str) -> str:
    return uri if uri.startswith("async+") else f"async+{uri}"


def _storage_options(uri: str, key_prefix: str, timeout_seconds: float) -> dict[str, Any]:
    """Options the Redis storages take (the memory storage takes none)."""
    scheme = uri.removeprefix("async+").split(":", 1)[0]
    if "redis" not in scheme and "valkey" not in scheme:
        return {}
    return {"key_prefix": key_prefix, "connect_timeout": timeout_seconds, "stream_timeout": timeout_seconds}


class RateLimiter:
    def __init__(
        self, storage_uri: str, *, key_prefix: str = "polaris", timeout_seconds: float = 1.0
    ) -> None:
        # an "async+" URI always gives an asyncio storage; wrap_exceptions turns the client's
        # connection errors into limits.errors.StorageError
        self._timeout = timeout_seconds
        self._storage = cast(
            AsyncStorage,
            storage_from_string(
                _async_uri(storage_uri),
                wrap_exceptions=True,
                **_storage_options(storage_uri, key_prefix, timeout_seconds),
            ),
        )
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def hit(self, limit: RateLimitItem, *identifiers: str) -> bool:
        return await self._limiter.hit(limit, *identifiers)

    async def retry_after(self, limit: RateLimitItem, *identifiers: str) -> int:
        stats = await self._limiter.get_window_stats(limit, *identifiers)
        return max(1, int(stats.reset_time - time.time()) + 1)

    async def enforce(self, limits: list[RateLimitItem], *identifiers: str) -> None:
        """Count one hit against every limit; 429 with Retry-After when any is exceeded, 503
        ``rate_limit_unavailable`` with Retry-After when the storage cannot be reached."""
        try:
            async with asyncio.timeout(self._timeout * 2):
                exceeded = await self._first_exceeded(limits, identifiers)
        except (StorageError, OSError, TimeoutError) as exc:
            # the exception names only the storage address, never the caller
            log.warning("rate-limit storage unavailable: %s", type(exc.__cause__ or exc).__name__)
            raise RateLimitUnavailable() from exc
        if exceeded is not None:
            raise RateLimited("Too many requests; try again later.", headers={"Retry-After": str(exceeded)})

    async def _first_exceeded(self, limits: list[RateLimitItem], identifiers: tuple[str, ...]) -> int | None:
        """The Retry-After of the first limit this hit exceeds, or None."""
        for limit in limits:
            if not await self.hit(limit, *identifiers):
                return await self.retry_after(limit, *identifiers)
        return None

    async def reset(self) -> None:
        await self._storage.reset()


@dataclass(frozen=True)
class Limits:
    login: RateLimitItem
    signup: list[RateLimitItem]

    @classmethod
    def from_settings(cls, per_minute_login: int, signup_minute: int, signup_day: int) -> Limits:
        return cls(
            login=parse(f"{per_minute_login}/minute"),
            signup=[parse(f"{signup_minute}/minute"), parse(f"{signup_day}/day")],
        )
