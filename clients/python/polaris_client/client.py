"""The clients: generated methods (``_operations``) over the hand-written transport (``_base``)."""

from __future__ import annotations

from polaris_client import models
from polaris_client._operations import AsyncOperations, SyncOperations

__all__ = ["AsyncPolarisClient", "PolarisClient"]


class PolarisClient(SyncOperations):
    """Synchronous client: ``PolarisClient(url, token=... | api_key=...)``, one method per operation.

    >>> with PolarisClient("http://127.0.0.1:8000") as api:  # doctest: +SKIP
    ...     api.sign_in("admin@example.org", "password")
    ...     for run in api.iter_sync_runs(kind="daily"):
    ...         print(run.id, run.status)
    """

    def sign_in(self, email: str, password: str) -> models.TokenResponse:
        """The password flow (``login``), then send the token on every later call."""
        token = self.login(username=email, password=password)
        self.set_token(token.access_token)
        return token


class AsyncPolarisClient(AsyncOperations):
    """The same methods as :class:`PolarisClient`, awaited; ``iter_*`` are async iterators."""

    async def sign_in(self, email: str, password: str) -> models.TokenResponse:
        token = await self.login(username=email, password=password)
        self.set_token(token.access_token)
        return token
