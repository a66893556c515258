"""Rate limits with pluggable storage (AC-3 login, SIGN-10 signups; SCALE-5 shared storage).

``POLARIS_RATE_LIMIT_STORAGE`` is ``memory://`` for one process or ``redis://host:port`` when
several processes serve; the ``limits`` library does the counting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItem, parse
from limits.aio.storage import Storage as AsyncStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from polaris_api.errors import RateLimited


def _async_uri(uri: str) -> str:
    return uri if uri.startswith("async+") else f"async+{uri}"


class RateLimiter:
    def __init__(self, storage_uri: str) -> None:
        # an "async+" URI always gives an asyncio storage
        self._storage = cast(AsyncStorage, storage_from_string(_async_uri(storage_uri)))
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def hit(self, limit: RateLimitItem, *identifiers: str) -> bool:
        return await self._limiter.hit(limit, *identifiers)

    async def retry_after(self, limit: RateLimitItem, *identifiers: str) -> int:
        stats = await self._limiter.get_window_stats(limit, *identifiers)
        return max(1, int(stats.reset_time - time.time()) + 1)

    async def enforce(self, limits: list[RateLimitItem], *identifiers: str) -> None:
        """Count one hit against every limit; 429 with Retry-After when any is exceeded."""
        for limit in limits:
            if not await self.hit(limit, *identifiers):
                retry = await self.retry_after(limit, *identifiers)
                raise RateLimited("Too many requests; try again later.", headers={"Retry-After": str(retry)})

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
