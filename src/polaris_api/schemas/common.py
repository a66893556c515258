"""Shared field types for API bodies: normalized strings and emails (00 N-1, N-2)."""

from __future__ import annotations

import re
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

_WHITESPACE = re.compile(r"\s+")


def clean_text(value: str | None) -> str | None:
    """N-2: trim, collapse whitespace runs; empty after trimming is null."""
    if value is None:
        return None
    return _WHITESPACE.sub(" ", value).strip() or None


def clean_text_input(value: object) -> object:
    """N-2 as a before-validator: a string is cleaned (:func:`clean_text`); any other input is
    left for the field's type check to refuse or convert."""
    return clean_text(value) if isinstance(value, str) else value


def normalize_email(value: str) -> str:
    """N-1: trim and lowercase."""
    return value.strip().lower()


def _valid_email(value: str) -> str:
    value = normalize_email(value)
    if len(value) > 255:
        raise PydanticCustomError("email_too_long", "email must be at most 255 characters")
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise PydanticCustomError("invalid_email", "not a valid email address") from None
    return value


CleanText = Annotated[str, BeforeValidator(clean_text_input)]
"""Text cleaned by N-2; bound its length with ``Annotated[CleanText, StringConstraints(...)]``."""
Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_valid_email)]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_nul(item) for item in value)
    return False


def refuse_nul(value: object) -> object:
    """No NUL character in any inbound string, nested ones included: PostgreSQL cannot store one
    and SQLite would, so the refusal happens here, the same 422 on every database."""
    if _holds_nul(value):
        raise PydanticCustomError("nul_character", "text must not contain a NUL character")
    return value


class InboundModel(BaseModel):
    """The base of every request body: each field refuses NUL characters (:func:`refuse_nul`)."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        return refuse_nul(value)


class StrictBody(InboundModel):
    """Request bodies refuse unknown fields (SIGN-3 and in general)."""

    model_config = ConfigDict(extra="forbid")


MAX_DB_ID = 2_147_483_647
_CANONICAL_ID = re.compile(r"[0-9]{1,10}")


def canonical_id(value: object) -> object:
    """One spelling per id (07 AC-6): ASCII digits only. Lax integer parsing would also read
    ``+1``, `` 1`` or ``1.0`` as 1, and a check on the raw text could be walked around that way."""
    if isinstance(value, str) and not _CANONICAL_ID.fullmatch(value):
        raise PydanticCustomError("invalid_id", "an id is written with the digits 0-9 only")
    return value


# Integer ids in paths and queries: bounded so a hostile value is a 422, not a database overflow.
IdPath = Annotated[int, Path(ge=1, le=MAX_DB_ID), BeforeValidator(canonical_id)]
IdQuery = Annotated[int, Query(ge=1, le=MAX_DB_ID), BeforeValidator(canonical_id)]

# One public event by our id (digits) or by the Salesforce id, 15 or 18 characters (03 LIST-9).
EVENT_REF_PATTERN = r"^([0-9]{1,10}|[A-Za-z0-9]{15}|[A-Za-z0-9]{18})$"
EventRef = Annotated[
    str, Path(pattern=EVENT_REF_PATTERN, description="our id, or the Salesforce id (15 or 18 characters)")
]
