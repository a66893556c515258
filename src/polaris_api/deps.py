"""Request-scoped dependencies shared by every router: settings and the unit of work.

One request, one transaction: services ``flush`` and never ``commit``; :func:`get_session`
commits once after the handler returned (before the response is sent, so a refused commit is
an error answer, never a 200 for data that was not stored) and rolls back when it raised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.settings import Settings


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        if session.in_transaction():
            await session.commit()


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit runs when the handler returns, before the response is serialised
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def client_ip(request: Request) -> str:
    """The client address every per-IP limit and hash uses (login, signup, magic links). Behind
    a proxy listed in ``POLARIS_TRUSTED_PROXIES`` the app's proxy-headers middleware has already
    replaced the socket peer with the forwarded client; otherwise headers are ignored."""
    return request.client.host if request.client else "unknown"


ClientIP = Annotated[str, Depends(client_ip)]
