"""The production stack (issue 13 item 1): compose.yaml, its smoke override, the load balancer
configuration and scripts/smoke-compose.

The compose file is read as YAML (anchors and merge keys resolved, as compose resolves them) and
checked for what the stack promises: every service, health checks, migrations once before the
replicas, secrets only from the environment, and that each Polaris command it runs exists. The
smoke script runs for real wherever a Docker engine answers; it is skipped only where none does.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from polaris_api.cli import app as cli_app
from polaris_api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
SMOKE_OVERRIDE = ROOT / "compose.smoke.yaml"
NGINX = ROOT / "deploy" / "nginx.conf"
ENV_EXAMPLE = ROOT / ".env.example"
SMOKE_COMPOSE = ROOT / "scripts" / "smoke-compose"
POLARIS_SERVICES = {"migrate", "api-1", "api-2", "worker", "scheduler"}
REPLICAS = ("api-1", "api-2")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return dict(load(COMPOSE)["services"])


def conditions(service: dict[str, Any]) -> dict[str, str]:
    depends = service.get("depends_on") or {}
    assert isinstance(depends, dict), "depends_on with conditions (the long form)"
    return {name: spec["condition"] for name, spec in depends.items()}


def test_compose_has_the_whole_stack(services):
    assert set(services) == {"postgres", "redis", "migrate", *REPLICAS, "lb", "worker", "scheduler"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in POLARIS_SERVICES:  # one image, built from the Dockerfile
        assert services[name]["image"] == "polaris-api:${POLARIS_IMAGE_TAG:-local}", name
        assert services[name]["build"] == ".", name
    assert services["lb"]["ports"] == ["${POLARIS_PORT:-8080}:8080"]  # one port for the replicas
    assert not any("ports" in services[name] for name in services if name != "lb")


def test_compose_runs_real_polaris_commands(services):
    """Each command of a Polaris service is a command of the CLI (its --help answers), and the
    replicas run the Dockerfile's CMD: ``polaris serve`` without migrating."""
    runner = CliRunner()
    for name in POLARIS_SERVICES:
        command = services[name]["command"]
        assert command[0] == "polaris", name
        words = list(itertools.takewhile(lambda word: not word.startswith("-"), command[1:]))
        result = runner.invoke(cli_app, [*words, "--help"])
        assert result.exit_code == 0, (name, words, result.output)
    dockerfile_cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert dockerfile_cmd is not None
    assert yaml.safe_load(dockerfile_cmd.group(1)) == services["api-1"]["command"]
    for replica in REPLICAS:
        assert services[replica]["command"][-1] == "--no-migrate"
    assert services["migrate"]["command"] == ["polaris", "db", "upgrade"]
    assert services["worker"]["command"] == ["polaris", "outbox", "work"]
    assert services["scheduler"]["command"][:2] == ["polaris", "scheduler"]


def test_compose_migrations_run_once_before_the_replicas_worker_and_scheduler(services):
    assert services["migrate"]["restart"] == "no"
    assert conditions(services["migrate"]) == {"postgres": "service_healthy"}
    for name in (*REPLICAS, "worker"):
        assert conditions(services[name])["migrate"] == "service_completed_successfully", name
    # the second replica waits for the first: the bootstrap admin is created once
    assert conditions(services["api-2"])["api-1"] == "service_healthy"
    assert conditions(services["lb"]) == {"api-1": "service_healthy", "api-2": "service_healthy"}
    assert conditions(services["scheduler"]) == {"lb": "service_healthy"}  # after the replicas
    assert conditions(services["api-1"])["redis"] == "service_healthy"


def test_compose_health_checks(services):
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check, f"{name} has no health check"
        if name == "migrate":  # a one-shot job: the image's HTTP check does not apply
            assert check == {"disable": True}
            continue
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert "disable" not in check, name
    for replica in REPLICAS:  # ready = database reachable and migrated
        assert "/readyz" in " ".join(services[replica]["healthcheck"]["test"])
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_compose_settings_and_secrets_come_from_the_environment(services):
    names = set(Settings.model_fields)
    for name in POLARIS_SERVICES:
        environment = services[name]["environment"]
        for key in environment:
            assert key.startswith("POLARIS_"), (name, key)
            assert key.removeprefix("POLARIS_").lower() in names | {"api_key"}, (name, key)
        assert environment["POLARIS_ENV"] == "production"
        assert environment["POLARIS_OUTBOX_WORKER_ENABLED"] == "false"  # the worker service delivers
        assert environment["POLARIS_RATE_LIMIT_STORAGE"] == "redis://redis:6379/0"  # shared limits
        assert services[name]["env_file"] == [{"path": ".env", "required": False}]
        # secrets: only interpolated from the environment, never written here
        assert environment["POLARIS_JWT_SECRET"].startswith("${POLARIS_JWT_SECRET:?")
        assert "${POSTGRES_PASSWORD:?" in environment["POLARIS_DATABASE_URL"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert services["scheduler"]["environment"]["POLARIS_API_KEY"] == "${POLARIS_SCHEDULER_API_KEY:-}"
    # the only proxy believed is the load balancer, at its fixed address
    assert (
        services["api-1"]["environment"]["POLARIS_TRUSTED_PROXIES"]
        == "${POLARIS_NETWORK_PREFIX:-172.30.89}.10"
    )
    assert services["lb"]["networks"]["backend"]["ipv4_address"] == "${POLARIS_NETWORK_PREFIX:-172.30.89}.10"


def test_env_example_names_real_settings_and_holds_no_secret():
    values = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    for required in ("POSTGRES_PASSWORD", "POLARIS_JWT_SECRET", "POLARIS_SCHEDULER_API_KEY"):
        assert values[required] == "", required  # to be filled in, never committed
    stack_only = {"POLARIS_PORT", "POLARIS_IMAGE_TAG", "POLARIS_NETWORK_PREFIX", "POLARIS_SCHEDULER_API_KEY"}
    settings = set(Settings.model_fields)
    for key in values:
        if key.startswith("POLARIS_") and key not in stack_only:
            assert key.removeprefix("POLARIS_").lower() in settings, key
    assert "/.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_smoke_override_gives_every_sender_the_sink_and_the_first_admin():
    """Without a .env, the smoke run's settings reach the processes that need them: the first
    replica makes the admin, and every process that delivers the outbox (the worker and the
    scheduler's sweep, MAIL-4) sends to the sink rather than the console backend."""
    smoke = load(SMOKE_OVERRIDE)["services"]
    for replica in REPLICAS:  # the schedule too: `sync health` answers with its next times
        assert set(smoke[replica]["environment"]) >= {
            "POLARIS_BOOTSTRAP_ADMIN_EMAIL",
            "POLARIS_BOOTSTRAP_ADMIN_PASSWORD",
            "POLARIS_SCHEDULE",
        }
    for sender in ("worker", "scheduler"):
        environment = smoke[sender]["environment"]
        assert environment["POLARIS_EMAIL_BACKEND"] == "smtp", sender
        assert environment["POLARIS_SMTP_HOST"] == "mailpit", sender
    assert smoke["scheduler"]["environment"]["POLARIS_SCHEDULE"] == "${POLARIS_SCHEDULE:?}"


def test_offline_override_changes_only_where_images_come_from(services):
    """deploy/offline/compose.offline.yaml (a Docker engine without Docker Hub) swaps images for
    local stand-ins and the Dockerfile's base for one; commands, health checks, dependencies,
    networks and settings stay those of compose.yaml."""
    offline = load(ROOT / "deploy" / "offline" / "compose.offline.yaml")["services"]
    assert set(offline) == set(services) | {"mailpit"}
    for name, override in offline.items():
        assert set(override) <= {"image", "build", "pull_policy"}, name
        assert override["pull_policy"] == "never", name
        if name in POLARIS_SERVICES:
            assert override["build"]["args"] == {"PYTHON_IMAGE": "polaris-offline/python:3.11"}
        else:
            assert override["image"].startswith("polaris-offline/"), name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim\nFROM ${PYTHON_IMAGE}\n" in dockerfile
    built = re.findall(
        r"^build (\S+) (\S+)$", (ROOT / "scripts" / "offline-images").read_text(), re.MULTILINE
    )
    images = {override.get("image") for override in offline.values()} - {None}
    assert images | {"polaris-offline/python:3.11"} == {image for image, _ in built}
    for _, dockerfile_name in built:
        assert (ROOT / "deploy" / "offline" / dockerfile_name).is_file()


def test_load_balancer_spreads_over_both_replicas():
    text = NGINX.read_text()
    assert re.findall(r"^\s*server (api-\d):8000", text, re.MULTILINE) == list(REPLICAS)
    assert "listen 8080;" in text
    # the client address the API trusts is the one nginx saw (replaced, not appended)
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert (
        "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in load(COMPOSE)["services"]["lb"]["volumes"]
    )


def test_smoke_override_adds_a_sink_for_the_worker():
    override = load(SMOKE_OVERRIDE)["services"]
    assert set(override) == {"mailpit", "worker", "scheduler", *REPLICAS}
    assert override["mailpit"]["healthcheck"]["test"]
    worker = override["worker"]
    assert worker["environment"]["POLARIS_SMTP_HOST"] == "mailpit"
    assert worker["depends_on"] == {"mailpit": {"condition": "service_healthy"}}


def _fake_docker(tmp_path: Path, script: str) -> dict[str, str]:
    """A ``docker`` on PATH that behaves as ``script`` says (a machine without an engine)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(f"#!/usr/bin/env bash\n{script}\n")
    docker.chmod(docker.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_smoke_compose_skips_only_without_an_engine_or_compose(tmp_path):
    no_engine = _fake_docker(tmp_path, 'echo "Cannot connect to the Docker daemon" >&2; exit 1')
    result = subprocess.run(["bash", str(SMOKE_COMPOSE)], env=no_engine, capture_output=True, text=True)
    assert result.returncode == 77 and "SKIPPED" in result.stderr and "engine" in result.stderr

    (tmp_path / "bin").rename(tmp_path / "old")
    engine_without_compose = _fake_docker(
        tmp_path, 'if [[ "$1" == info ]]; then exit 0; fi; echo "unknown command: docker $1" >&2; exit 1'
    )
    result = subprocess.run(
        ["bash", str(SMOKE_COMPOSE)], env=engine_without_compose, capture_output=True, text=True
    )
    assert result.returncode == 77 and "compose plugin" in result.stderr


def _docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    info = subprocess.run(["docker", "info"], capture_output=True)
    version = subprocess.run(["docker", "compose", "version"], capture_output=True)
    return info.returncode == 0 and version.returncode == 0


def _offline_images_built() -> bool:
    inspect = subprocess.run(
        ["docker", "image", "inspect", "polaris-offline/python:3.11"], capture_output=True
    )
    return inspect.returncode == 0


@pytest.mark.skipif(not _docker_engine_answers(), reason="no Docker engine with compose on this machine")
def test_smoke_compose_signs_up_and_the_email_arrives():  # pragma: no cover - needs a Docker engine
    environment = dict(os.environ)
    if _offline_images_built():  # an engine without Docker Hub: the stand-ins of deploy/offline
        environment.setdefault("SMOKE_OFFLINE_IMAGES", "1")
    result = subprocess.run(
        ["bash", str(SMOKE_COMPOSE)], capture_output=True, text=True, timeout=1200, env=environment
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "smoke-compose: PASSED" in result.stdout
