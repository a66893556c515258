"""09 CFG-1, CFG-2: defaults run a fresh checkout; production refuses unsafe settings."""

from __future__ import annotations

import pytest

from polaris_api.app import create_app
from polaris_api.settings import ConfigurationError, Settings


def test_cfg_1_defaults_run_a_fresh_checkout(monkeypatch):
    for name in ("POLARIS_DATABASE_URL", "POLARIS_JWT_SECRET", "POLARIS_ENV", "POLARIS_EMAIL_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///./polaris.db"
    assert settings.email_backend == "console"
    assert settings.jwt_secret is not None and len(settings.jwt_secret.get_secret_value()) >= 32
    assert settings.timezone == "America/Chicago"
    settings.check()


def test_cfg_1_environment_variables_with_prefix(monkeypatch):
    monkeypatch.setenv("POLARIS_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("POLARIS_SALESFORCE_API_VERSION", "v60.0")
    settings = Settings(_env_file=None)
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.salesforce_api_version == "60.0"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({}, "JWT_SECRET"),
        ({"jwt_secret": "s" * 40}, "SQLite"),
        (
            {"jwt_secret": "s" * 40, "database_url": "postgresql+asyncpg://db/x", "cors_origins": ["*"]},
            "wildcard",
        ),
        (
            {"jwt_secret": "s" * 40, "database_url": "postgresql+asyncpg://db/x", "email_backend": "file"},
            "file",
        ),
    ],
)
def test_cfg_2_production_refuses_unsafe_settings(overrides, fragment):
    settings = Settings(_env_file=None, env="production", **overrides)
    with pytest.raises(ConfigurationError, match=fragment):
        create_app(settings)


def test_cfg_2_production_accepts_safe_settings():
    settings = Settings(
        _env_file=None, env="production", jwt_secret="s" * 40, database_url="postgresql+asyncpg://db/x"
    )
    settings.check()


def test_secrets_are_not_shown_in_repr():
    settings = Settings(
        _env_file=None, jwt_secret="super-secret-value-" + "y" * 20, smtp_password="pw-secret"
    )
    assert "super-secret-value" not in repr(settings) and "pw-secret" not in repr(settings)


def test_cfg_3_every_setting_documented_in_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    undocumented = []
    for name in Settings.model_fields:
        env = f"POLARIS_{name.upper()}"
        # grouped rows list siblings with a shared prefix, e.g. `POLARIS_STALE_HOURS_PUBLISHING`, `_DAILY`
        if env not in readme and f"`_{name.upper().rsplit('_', 1)[-1]}`" not in readme:
            undocumented.append(env)
    assert not undocumented, f"settings missing from README: {undocumented}"
