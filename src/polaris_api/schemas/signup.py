"""Website signup: the one inbound model of the website's signup form (00 N-6; 03 SIGN-1..3)
and the signup / outbox shapes staff read.

Field names are the website's field names. Validators are the transforms: N-2 cleaning (trim,
collapse whitespace, blank is null), N-1 email normalization and syntax check, VOC-1 exact
vocabulary values. Unknown fields are refused (SIGN-3). Errors never carry the submitted value
(``errors.py`` keeps only ``loc``, ``msg`` and ``type``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from polaris_api.schemas.common import StrictBody, clean_text_input, normalize_email
from polaris_api.vocabularies import Choice

MAX_SKILLS = 30
MAX_SKILL_LENGTH = 100


def _required_text(value: object) -> object:
    """N-2 cleaning for a required field: blank after trimming is refused, not null."""
    cleaned = clean_text_input(value)
    if cleaned is None:
        raise PydanticCustomError("blank", "must not be empty")
    return cleaned


def _blank_is_null(value: object) -> object:
    """A vocabulary field left blank (an unselected dropdown) is null; anything else must be
    exactly a stored value (VOC-1: no trimming, no alias, no fallback)."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _trim_email(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise PydanticCustomError("blank", "must not be empty")
    return value


def _valid_email(value: str) -> str:
    """N-1: the normalized address must be valid syntax; the trimmed input is kept as typed."""
    try:
        validate_email(normalize_email(value), check_deliverability=False)
    except EmailNotValidError:
        raise PydanticCustomError("invalid_email", "not a valid email address") from None
    return value


def RequiredText(max_length: int) -> Any:  # noqa: N802 - a type factory
    return Annotated[str, StringConstraints(max_length=max_length), BeforeValidator(_required_text)]


def OptionalText(max_length: int) -> Any:  # noqa: N802 - a type factory
    bounded = Annotated[str, StringConstraints(max_length=max_length)]
    return Annotated[bounded | None, BeforeValidator(clean_text_input)]


def VocabularyField(name: str) -> Any:  # noqa: N802 - a type factory
    return Annotated[Choice(name) | None, BeforeValidator(_blank_is_null)]


def _skill_list(value: object) -> list[str]:
    """SIGN-2 skills: a list of strings or one comma-separated string. Each name cleaned (N-2),
    blanks and case-insensitive duplicates dropped, order kept. One error for the whole field."""
    if value is None:
        return []
    if isinstance(value, str):
        parts: list[object] = list(value.split(","))
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        parts = list(value)
    else:
        raise PydanticCustomError("skills_type", "must be a list of strings or one comma-separated string")
    skills: list[str] = []
    seen: set[str] = set()
    for part in parts:
        name = clean_text_input(part)
        if not isinstance(name, str):
            continue
        if len(name) > MAX_SKILL_LENGTH:
            raise PydanticCustomError(
                "skill_too_long", "each skill must be at most {max} characters", {"max": MAX_SKILL_LENGTH}
            )
        if name.casefold() not in seen:
            seen.add(name.casefold())
            skills.append(name)
    if len(skills) > MAX_SKILLS:
        raise PydanticCustomError("too_many_skills", "at most {max} skills", {"max": MAX_SKILLS})
    return skills


SkillList = Annotated[
    list[str],
    BeforeValidator(_skill_list),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "array", "items": {"type": "string", "maxLength": MAX_SKILL_LENGTH}},
                {"type": "string"},
                {"type": "null"},
            ]
        }
    ),
]

SignupEmail = Annotated[
    str,
    StringConstraints(max_length=255),
    BeforeValidator(_trim_email),
    AfterValidator(_valid_email),
]


class WebsiteSignup(StrictBody):
    """The website's signup form (03 SIGN-1, SIGN-2). Unknown fields are refused (SIGN-3)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "first_name": "Ana",
                    "last_name": "Lopez",
                    "email": " Ana.Lopez@Example.com ",
                    "organization": "Acme Engineering",
                    "title": "Civil Engineer",
                    "skills": ["Engineering", "Public Speaking"],
                    "gender": "female",
                    "age_group": "age_35_44",
                }
            ]
        },
    )

    # SIGN-1 required, non-empty after trimming
    first_name: RequiredText(50)  # type: ignore[valid-type]
    last_name: RequiredText(50)  # type: ignore[valid-type]
    email: SignupEmail = Field(description="Trimmed; matched case-insensitively (N-1)")
    organization: RequiredText(100)  # type: ignore[valid-type]
    title: RequiredText(50)  # type: ignore[valid-type]

    # SIGN-2 optional
    middle_name: OptionalText(50) = None  # type: ignore[valid-type]
    phone: OptionalText(40) = None  # type: ignore[valid-type]
    skills: SkillList = Field(
        default_factory=list,
        description=f"A list of skill names or one comma-separated string (at most {MAX_SKILLS} "
        f"skills of at most {MAX_SKILL_LENGTH} characters).",
    )
    salutation: VocabularyField("salutation") = None  # type: ignore[valid-type]
    suffix: VocabularyField("suffix") = None  # type: ignore[valid-type]
    age_group: VocabularyField("age_group") = None  # type: ignore[valid-type]
    education: VocabularyField("education") = None  # type: ignore[valid-type]
    gender: VocabularyField("gender") = None  # type: ignore[valid-type]
    race_ethnicity: VocabularyField("race_ethnicity") = None  # type: ignore[valid-type]
    local_status: VocabularyField("local_status") = None  # type: ignore[valid-type]
    postal_code: OptionalText(20) = Field(  # type: ignore[valid-type]
        None,
        description="Mailing ZIP code (e.g. 64111); Polaris derives local_status from it (08 VOC-6).",
    )

    @property
    def normalized_email(self) -> str:
        """The identity key (R2, SIGN-5): trimmed and lowercased."""
        return normalize_email(self.email)

    @property
    def skill_names(self) -> list[str]:
        return list(self.skills)


# --------------------------------------------------------------------------------------
# Responses


class SignupCreated(BaseModel):
    """201: a new signup (SIGN-5)."""

    status: Literal["signed_up"] = "signed_up"
    signup_id: int
    event_id: int
    email_status: Literal["queued"] = "queued"
    message: str


class SignupRepeated(BaseModel):
    """200: this email already signed up for this event; nothing changed (SIGN-5)."""

    status: Literal["already_signed_up"] = "already_signed_up"
    signup_id: int


EmailStatus = Literal["queued", "sending", "sent", "failed", "suppressed", "cancelled", "none"]


class SignupOut(BaseModel):
    """A signup as global staff see it, with the status of its confirmation email (SIGN-8)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    volunteer_id: int | None
    participation_id: int | None
    created_at: dt.datetime
    first_name: str
    last_name: str
    email: str
    organization: str
    title: str
    email_status: EmailStatus = Field(
        description="Status of the confirmation email in the outbox; `none` when there is no message"
    )
    email_message_id: int | None = None
    sf_push_status: str


class OutboxAttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_no: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    backend: str | None
    outcome: str
    error: str | None


class OutboxMessageOut(BaseModel):
    """An outbox message without its body (bodies may carry secrets such as magic links)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    recipient: str
    subject: str
    status: str
    attempts: int = Field(description="attempts in the current schedule (reset by a re-queue)")
    next_attempt_at: dt.datetime | None
    last_error: str | None
    sent_at: dt.datetime | None
    created_at: dt.datetime
    related_signup_id: int | None
    requeued_at: dt.datetime | None
    attempt_log: list[OutboxAttemptOut]
