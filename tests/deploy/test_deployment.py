"""The deployment files, checked by parsing (no Docker engine needed): docker-compose.yml, the
Dockerfile, .env.example and deploy/nginx.conf agree with each other and with bot.settings."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent.parent
SETTINGS = {name.upper() for name in Settings.model_fields}
# Variables of docker-compose.yml itself, documented in .env.example; never read by the app.
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "APP_REPLICAS", "HTTP_PORT"}
SERVICES = {"postgres", "redis", "migrate", "app", "proxy"}
LONG_RUNNING = {"postgres", "redis", "app", "proxy"}
OUR_IMAGE = {"migrate", "app"}  # built from the Dockerfile: their environment is the app's
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?+][^}]*)?\}")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    return yaml.safe_load(compose_text)  # merge keys (<<: *app) resolve here as in compose


@pytest.fixture(scope="module")
def env_example() -> dict[str, bool]:
    """Name -> set (uncommented) or only documented (# NAME=...)."""
    names: dict[str, bool] = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=", line)
        if match:
            names[match.group(2)] = names.get(match.group(2), False) or match.group(1) is None
    return names


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    """Instructions, with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [i.strip() for i in re.sub(r"\\\n\s*", " ", "\n".join(lines)).splitlines() if i.strip()]


def instructions(dockerfile: list[str], keyword: str) -> list[str]:
    return [line[len(keyword) :].strip() for line in dockerfile if line.upper().startswith(keyword + " ")]


def test_every_service_is_there(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == SERVICES


def test_only_the_proxy_publishes_a_port(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["proxy"]["ports"] == ["${HTTP_PORT:-80}:80"]
    assert all("ports" not in services[name] for name in SERVICES - {"proxy"})
    assert services["app"]["expose"] == ["8080"]
    assert services["app"]["environment"]["WEB_PORT"] == "8080"
    assert services["app"]["environment"]["WEB_HOST"] == "0.0.0.0"


def test_the_app_runs_replicas_after_the_migration(compose: dict[str, Any]) -> None:
    app = compose["services"]["app"]
    assert app["deploy"]["replicas"] == "${APP_REPLICAS:-2}"
    assert app["command"] == ["policebot", "run"]
    assert app["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert compose["services"]["proxy"]["depends_on"] == {"app": {"condition": "service_healthy"}}
    migrate = compose["services"]["migrate"]
    assert migrate["command"][-2:] == ["-m", "bot.storage.schema"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"


def test_the_migration_entry_point_exists() -> None:
    from bot.storage import schema

    assert callable(schema.main)


def test_healthchecks_and_restart_policies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["restart"] == "unless-stopped", name
    assert "/healthz" in " ".join(services["app"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["proxy"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_volumes_keep_the_data(compose: dict[str, Any]) -> None:
    assert set(compose["volumes"]) == {"pgdata", "redisdata"}
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    assert "redisdata:/data" in compose["services"]["redis"]["volumes"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in compose["services"]["proxy"]["volumes"]


def test_the_app_reaches_postgres_and_redis_by_service_name(compose: dict[str, Any]) -> None:
    environment = compose["services"]["app"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgresql+asyncpg://policebot:")
    assert environment["DATABASE_URL"].endswith("@postgres:5432/policebot")
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert environment["SESSION_KEY"].startswith("${SESSION_KEY:?")  # replicas must share one


def test_every_variable_is_a_setting_or_a_documented_compose_variable(
    compose: dict[str, Any], compose_text: str, env_example: dict[str, bool]
) -> None:
    used = set(VARIABLE.findall(compose_text))
    assert used <= SETTINGS | COMPOSE_ONLY, used - SETTINGS - COMPOSE_ONLY
    assert used >= COMPOSE_ONLY  # none documented in vain
    for name in OUR_IMAGE:
        assert set(compose["services"][name]["environment"]) <= SETTINGS, name
    assert used <= set(env_example), "document these in .env.example: " + str(used - set(env_example))


def test_env_example_lists_every_setting(env_example: dict[str, bool]) -> None:
    missing = SETTINGS - set(env_example)
    assert not missing, f"add to .env.example (a commented line with the default will do): {missing}"
    assert set(env_example) <= SETTINGS | COMPOSE_ONLY
    # What compose requires (${NAME:?...}) is there to fill in, not commented out.
    assert env_example["POSTGRES_PASSWORD"] and env_example["SESSION_KEY"]


def test_required_variables_are_required(compose_text: str) -> None:
    required = set(re.findall(r"\$\{([A-Z_]+):\?", compose_text))
    assert required == {"POSTGRES_PASSWORD", "SESSION_KEY"}


def test_dockerfile_is_slim_non_root_and_healthy(dockerfile: list[str]) -> None:
    (base,) = instructions(dockerfile, "FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base)
    run = " ".join(instructions(dockerfile, "RUN"))
    assert "fonts-wqy-microhei" in run and "--no-install-recommends" in run
    assert "rm -rf /var/lib/apt/lists/*" in run
    assert "pip install ." in run
    (user,) = instructions(dockerfile, "USER")
    assert user not in {"root", "0"} and f"useradd --create-home --uid 10001 {user}" in run
    environment = " ".join(instructions(dockerfile, "ENV"))
    assert "WEB_HOST=0.0.0.0" in environment and "WEB_PORT=8080" in environment
    (healthcheck,) = instructions(dockerfile, "HEALTHCHECK")
    assert "/healthz" in healthcheck and "CMD" in healthcheck
    (command,) = instructions(dockerfile, "CMD")
    assert json.loads(command) == ["policebot", "run"]
    assert instructions(dockerfile, "EXPOSE") == ["8080"]


def test_the_image_ships_templates_static_files_and_migrations() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]
    assert {"templates/*.html", "static/*"} <= set(package_data["bot.channels.web"])
    assert "migrations/versions/*.py" in package_data["bot.storage"]


def test_secrets_stay_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored and ".git" in ignored and ".venv" in ignored


def test_nginx_proxies_to_the_app_and_streams_events_unbuffered() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())
    assert code.count("{") == code.count("}")
    assert re.search(r"upstream policebot \{[^}]*server app:8080 resolve", code)
    assert "resolver 127.0.0.11" in code
    events = re.search(r"location ~ \^/c/\[\^/\]\+/events\$ \{([^}]*)\}", code)
    assert events, "a location for the residents' event streams"
    assert "proxy_buffering off;" in events.group(1)
    assert re.search(r"proxy_read_timeout (\d+)h;", events.group(1))
    assert "proxy_set_header X-Real-IP $remote_addr;" in code
    assert code.count("proxy_pass http://policebot;") >= 2
