"""Configuration (09 CFG-*): every setting is an environment variable prefixed ``POLARIS_``.

Defaults make a fresh checkout run (SQLite, console email, development mode with a generated
JWT secret). Production mode refuses unsafe combinations at start (CFG-2).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from polaris_api.scheduler import DEFAULT_SCHEDULE, cron_trigger

log = logging.getLogger(__name__)

DEFAULT_ADMIN_PASSWORDS = frozenset({"admin", "password", "changeme", "polaris", "admin-password-demo"})


class ConfigurationError(RuntimeError):
    """Raised when the settings are unsafe for the chosen environment (CFG-2)."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLARIS_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./polaris.db"
    allow_sqlite_in_production: bool = False
    jwt_secret: SecretStr | None = None
    access_token_minutes: int = Field(60, ge=1, le=24 * 60)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Staff console (issue 12): served at /console/ unless turned off; console_origins are the
    # origins that host the console elsewhere (CORS on the staff API, bearer tokens, no cookies);
    # console_api_origin is the API the served console talks to when it is not this server.
    console_enabled: bool = True
    console_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    console_api_origin: str | None = None
    timezone: str = "America/Chicago"
    log_format: Literal["auto", "json", "text"] = "auto"
    log_level: str = "INFO"

    # First admin, created at start when no admin exists (CFG-2 refuses weak ones in production)
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: SecretStr | None = None

    # Salesforce (02 SF-1)
    salesforce_instance_url: str | None = None
    salesforce_access_token: SecretStr | None = None
    salesforce_ca_bundle: str | None = None
    salesforce_username: str | None = None
    salesforce_password: SecretStr | None = None
    salesforce_security_token: SecretStr | None = None
    salesforce_domain: str = "login"
    salesforce_api_version: str = "59.0"
    salesforce_connect_timeout_s: float = 10
    salesforce_read_timeout_s: float = 120
    salesforce_batch_size: int = Field(500, ge=1, le=10_000)
    # Issue 13 item 5: records whose SystemModstamp is the stored one are set aside unparsed.
    # Turn off for one full run after a release maps a Salesforce field it did not map before
    # (unchanged records would otherwise keep the old mapping until they change).
    salesforce_skip_unchanged: bool = True
    salesforce_retry_base_delay_s: float = 2
    salesforce_retry_max_wait_s: float = 300
    salesforce_pending_max_attempts: int = 10
    # SIGN-9 write-back (optional, off by default): the salesforce-signup-push kind is available
    # only when enabled; a signup still unpushed after this many attempts is marked failed
    salesforce_signup_push_enabled: bool = False
    salesforce_signup_push_max_attempts: int = Field(10, ge=1, le=1000)

    # Email (09 MAIL-*)
    email_backend: Literal["console", "file", "smtp", "disabled"] = "console"
    email_file_dir: Path = Path("./outbox")
    email_from: str = "noreply@localhost"
    email_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list)
    support_contact: str = "support@prepkc.org"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_tls: bool = False
    outbox_worker_enabled: bool = True
    outbox_poll_seconds: float = 5
    # freeze the startup heap and collect garbage less often in serving processes (09 P2; runtime.py)
    gc_tuning: bool = True

    # Imports and files (04 §0)
    pathful_partner: str = "PREP-KC"
    pathful_default_duration_minutes: int = Field(60, ge=1, le=24 * 60)
    pathful_sheet_id: str | None = None
    pathful_sheet_worksheet: str | None = None
    pathful_status_aliases: dict[str, str] = Field(default_factory=dict)  # VOC-12 rule 7 extension
    google_service_account_file: str | None = None
    roster_max_deactivation_share: float = Field(0.5, ge=0, le=1)

    # Teacher magic links (04 ML-*)
    magic_link_ttl_hours: float = Field(48, gt=0)
    teacher_session_ttl_hours: float = Field(8, gt=0)
    magic_link_limit_per_ip: str = "10/hour"
    magic_link_limit_per_email: str = "3/hour"
    teacher_portal_url: str = "http://127.0.0.1:8000/teacher"
    upload_max_bytes: int = 20 * 1024 * 1024
    # What reading one upload may cost (issue 11 item 3, PRIV-4; imports/tabular.py ReadLimits):
    # an XLSX's declared uncompressed size, data rows of a file or sheet, columns of its grid.
    upload_max_uncompressed_bytes: int = Field(200 * 1024 * 1024, ge=1)
    upload_max_rows: int = Field(100_000, ge=1)
    upload_max_columns: int = Field(100, ge=1, le=16_384)

    # Rate limits and caching
    # memory:// (one process) or redis://host:6379[/db] (shared by several processes; needs the
    # limits[async-redis] extra, a dependency). Unreachable or slower than the timeout: login,
    # signup and magic links answer 503 rate_limit_unavailable with Retry-After (fail closed).
    rate_limit_storage: str = "memory://"
    rate_limit_key_prefix: str = Field("polaris", min_length=1, max_length=64)
    rate_limit_timeout_seconds: float = Field(1.0, gt=0, le=30)
    login_rate_limit_per_minute: int = 5
    signup_rate_limit_per_minute: int = 10
    signup_rate_limit_per_day: int = 100
    public_cache_max_age: int = 60
    # Reverse proxies whose X-Forwarded-For is believed (IPs or CIDR networks, comma-separated).
    # Empty: the socket peer is the client, whatever the headers say. The client address keys
    # every per-IP limit (login, signup, magic links).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Sync runs (09 OPS-2, OPS-4)
    sync_heartbeat_timeout_minutes: float = Field(10, gt=0)
    stale_hours_publishing: float = 2
    stale_hours_daily: float = 26
    stale_hours_weekly: float = 8 * 24
    stale_hours_pathful: float = 14 * 24
    stale_hours_roster: float = 14 * 24

    # Built-in scheduler (09 §1, `polaris scheduler`): sync kind (or `outbox`) -> five-field cron
    # expression in POLARIS_TIMEZONE, as a JSON object; {} schedules nothing
    schedule: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SCHEDULE))

    # Audit (AUD-3)
    audit_retention_days: int = Field(730, ge=730)

    # 08 VOC-6 local_status, derived from the mailing ZIP code (polaris_api.locality): comma-separated
    # ZIP prefixes (1-5 digits) of the Kansas City metro and of the driving-distance ring
    local_zip_prefixes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["640", "641", "660", "661", "662"]
    )
    partial_zip_prefixes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "644",
            "645",
            "646",
            "647",
            "650",
            "651",
            "652",
            "653",
            "664",
            "665",
            "666",
            "667",
        ]
    )

    _generated_secret: bool = PrivateAttr(False)

    @field_validator("cors_origins", "console_origins", "email_allowlist", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    def uvicorn_options(self) -> dict[str, Any]:
        """How uvicorn reads the client address: forwarded headers only from the trusted proxies.
        (uvicorn's own default believes X-Forwarded-For from any loopback peer.)"""
        if not self.trusted_proxies:
            return {"proxy_headers": False}
        return {"proxy_headers": True, "forwarded_allow_ips": ",".join(self.trusted_proxies)}

    @field_validator("console_api_origin")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        """An origin only (scheme, host, port): it goes into the console's CSP connect-src."""
        if value in (None, ""):
            return None
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", value.rstrip("/")):
            raise ValueError("console_api_origin must be an origin such as https://api.example.org")
        return value.rstrip("/")

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        value = _split_csv(value)
        if isinstance(value, list):
            for item in value:
                try:
                    ipaddress.ip_network(str(item), strict=False)
                except ValueError:
                    raise ValueError(
                        "trusted proxies are IP addresses or CIDR networks, comma-separated"
                    ) from None
        return value

    @field_validator("local_zip_prefixes", "partial_zip_prefixes", mode="before")
    @classmethod
    def _zip_prefixes(cls, value: object) -> object:
        value = _split_csv(value)
        if isinstance(value, list) and not all(
            isinstance(v, str) and re.fullmatch(r"\d{1,5}", v) for v in value
        ):
            raise ValueError("ZIP prefixes are 1 to 5 digits, comma-separated")
        return value

    @field_validator("salesforce_api_version")
    @classmethod
    def _strip_v(cls, value: str) -> str:
        return value.lstrip("vV")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @model_validator(mode="after")
    def _valid_schedule(self) -> Settings:
        for entry, expression in self.schedule.items():
            try:
                cron_trigger(expression, self.tz)
            except ValueError as error:
                raise ValueError(f"POLARIS_SCHEDULE[{entry!r}] is not a cron expression: {error}") from None
        return self

    @model_validator(mode="after")
    def _fill_development_secret(self) -> Settings:
        if self.jwt_secret is None and self.env == "development":
            self.jwt_secret = SecretStr(secrets.token_urlsafe(48))
            self._generated_secret = True
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def production_problems(self) -> list[str]:
        """Every CFG-2 refusal that applies; empty when the settings are safe."""
        if not self.is_production:
            return []
        problems = []
        if self.jwt_secret is None or len(self.jwt_secret.get_secret_value()) < 32:
            problems.append("POLARIS_JWT_SECRET must be set (at least 32 characters)")
        if self.is_sqlite and not self.allow_sqlite_in_production:
            problems.append("SQLite in production needs POLARIS_ALLOW_SQLITE_IN_PRODUCTION=true")
        password = self.bootstrap_admin_password
        if password is not None and (
            password.get_secret_value().lower() in DEFAULT_ADMIN_PASSWORDS
            or len(password.get_secret_value()) < 12
        ):
            problems.append("POLARIS_BOOTSTRAP_ADMIN_PASSWORD is a default or too short")
        if "*" in self.cors_origins:
            problems.append("POLARIS_CORS_ORIGINS must not contain a wildcard in production")
        if "*" in self.console_origins:
            problems.append("POLARIS_CONSOLE_ORIGINS must not contain a wildcard in production")
        if self.email_backend == "file":
            problems.append("the file email backend is for development only")
        return problems

    def check(self) -> None:
        problems = self.production_problems()
        if problems:
            raise ConfigurationError("; ".join(problems))
        if self._generated_secret:
            log.warning("POLARIS_JWT_SECRET not set: generated a temporary secret (development only)")


@lru_cache
def get_settings() -> Settings:
    return Settings()
