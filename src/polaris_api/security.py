"""Credentials: password hashing, JWTs and API keys (07 AC-3, AC-4, AC-5, PRIV-2).

Only digests of secrets are stored. Comparisons of secrets are constant-time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from jose import JWTError, jwt
from passlib.context import CryptContext

from polaris_api.db import utcnow

PASSWORD_MIN_LENGTH = 12
API_KEY_PREFIX = "pk_"
API_KEY_VISIBLE_CHARS = 10
JWT_ALGORITHM = "HS256"

_passwords = CryptContext(schemes=["argon2"], deprecated="auto")
# A real hash to verify against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = _passwords.hash("polaris-dummy-password-for-timing")

TokenType = Literal["staff", "teacher"]


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _passwords.verify(password, _DUMMY_HASH)
        return False
    try:
        return _passwords.verify(password, password_hash)
    except (ValueError, TypeError):
        return False


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    token_type: TokenType
    version: int
    issued_at: dt.datetime
    expires_at: dt.datetime


def issue_token(
    *, secret: str, subject: str | int, token_type: TokenType, version: int, minutes: int
) -> tuple[str, int]:
    """Return a signed JWT and its lifetime in seconds."""
    now = utcnow()
    expires = now + dt.timedelta(minutes=minutes)
    claims = {
        "sub": str(subject),
        "type": token_type,
        "ver": version,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM), minutes * 60


def decode_token(token: str, *, secret: str) -> TokenClaims | None:
    """Verify signature and expiry; None for anything invalid."""
    try:
        raw: dict[str, Any] = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM])
        return TokenClaims(
            subject=str(raw["sub"]),
            token_type=raw["type"],
            version=int(raw["ver"]),
            issued_at=dt.datetime.fromtimestamp(int(raw["iat"]), dt.UTC),
            expires_at=dt.datetime.fromtimestamp(int(raw["exp"]), dt.UTC),
        )
    except (JWTError, KeyError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class NewApiKey:
    key: str
    prefix: str
    digest: str


def generate_api_key() -> NewApiKey:
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return NewApiKey(key=key, prefix=key[:API_KEY_VISIBLE_CHARS], digest=sha256_hex(key))


def generate_opaque_token() -> tuple[str, str]:
    """A random URL-safe token and its digest (magic links)."""
    token = secrets.token_urlsafe(32)
    return token, sha256_hex(token)
