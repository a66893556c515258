"""Typed Python client for the Polaris API (sync and async).

``models`` and the methods of :class:`PolarisClient` / :class:`AsyncPolarisClient` are generated
from ``openapi/openapi.json``; every failure is a :class:`PolarisError` with ``status`` and
``code``. This package needs only httpx and pydantic (never the server package).
"""

from polaris_client import models
from polaris_client._base import Download, FileInput, PolarisError
from polaris_client.client import AsyncPolarisClient, PolarisClient

__all__ = ["AsyncPolarisClient", "Download", "FileInput", "PolarisClient", "PolarisError", "models"]
