"""A small typed Python client for Polaris API (used by the ``polaris`` CLI and the scheduler)."""

from polaris_client.client import PolarisClient, PolarisError

__all__ = ["PolarisClient", "PolarisError"]
