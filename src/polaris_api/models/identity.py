"""Staff users and machine API keys (07 AC-*)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from polaris_api.db import Base, IdMixin, TimestampMixin


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "user"

    email: Mapped[str] = mapped_column(String(255), unique=True)  # normalized (N-1)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    security_level: Mapped[int] = mapped_column(Integer, default=0)  # VOC-17
    scope_type: Mapped[str] = mapped_column(String(20), default="global")  # VOC-18
    allowed_district_ids: Mapped[list[Any]] = mapped_column(default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=1)  # AC-4
    last_login_at: Mapped[dt.datetime | None]


class ApiKey(IdMixin, Base):
    __tablename__ = "api_key"

    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex (AC-5)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
