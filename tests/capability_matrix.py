"""The capability matrix machinery (07 CAP-*). Each area lists its endpoints in a module
``tests/cap_cases_<area>.py`` exposing ``CASES: list[Case]``; ``test_capabilities`` walks them all
and fails when an endpoint exists that no module covers.

A ``Case`` builds one real request. ``build(ctx, role)`` returns httpx request kwargs (json,
params, files, ...); ``url(ctx)`` returns the concrete URL when the path has parameters. ``ctx``
is the dict from the ``principals`` fixture, plus whatever ``setup(ctx, session)`` added: an async
hook a case may define to create the rows it needs (it runs once per case, before the roles).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import TEST_PASSWORD  # noqa: F401  (re-exported for case modules)

ROLES = ("admin", "manager", "user", "district", "key_read", "key_sync", "teacher")


@dataclass
class Case:
    method: str
    path: str
    success: int
    allowed: frozenset[str]
    build: Callable[[dict[str, Any], str], dict[str, Any]] = field(default=lambda ctx, role: {})
    url: Callable[[dict[str, Any]], str] | None = None
    setup: Callable[[dict[str, Any], Any], Awaitable[None]] | None = None


def only(*roles: str) -> frozenset[str]:
    return frozenset(roles)


STAFF = only("admin", "manager", "user", "district")
ALL_AUTHENTICATED = frozenset(ROLES)
