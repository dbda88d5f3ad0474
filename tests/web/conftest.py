"""Web tests: the real container (temporary SQLite, the fixture knowledge base with communities
`gongyuan` and `hexi`) behind the real app from create_app, driven by aiohttp's test client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

import bot.services.staff as staff_service
from bot.channels.web import LiveHub, create_app
from bot.core.models import Role, Staff
from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.conftest import FIXTURE_KB

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # aiohttp-session stores its own request keys as plain strings, which aiohttp 3.14 warns about.
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"))


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Argon2id at production cost takes ~0.15 s per hash or check: it would dominate the suite, and
    # the cost parameters are not what these tests are about. Still Argon2id, still verified.
    monkeypatch.setattr(staff_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
        knowledge_dir=FIXTURE_KB,
        data_dir=tmp_path / "data",
        **overrides,
    )


@pytest.fixture
async def container(tmp_path: Path) -> AsyncIterator[Container]:
    container = await build_container(settings_for(tmp_path))
    yield container
    await container.close()


@pytest.fixture
def hub() -> LiveHub:
    return LiveHub()


@pytest.fixture
def app(container: Container, hub: LiveHub) -> web.Application:
    return create_app(container, hub=hub)


@pytest.fixture
async def client(aiohttp_client, app: web.Application) -> TestClient:
    return await aiohttp_client(app)


@pytest.fixture
async def other_client(aiohttp_client, client: TestClient) -> TestClient:
    """Another browser (cookies of its own) on the same server."""
    return await aiohttp_client(client.server)


@dataclass
class People:
    container: Container

    async def officer(self, username: str = "li", community: str = "gongyuan", name: str = "李警官") -> Staff:
        return await self.container.staff.add(
            name, Role.OFFICER, [community], username=username, password=PASSWORD
        )

    async def admin(self, username: str = "admin") -> Staff:
        return await self.container.staff.add("管理员", Role.ADMIN, username=username, password=PASSWORD)


@pytest.fixture
def people(container: Container) -> People:
    return People(container)


async def csrf_of(client: TestClient, path: str = "/") -> str:
    response = await client.get(path)
    match = CSRF_RE.search(await response.text())
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    token = await csrf_of(client, "/login")
    response = await client.post(
        "/login", data={"csrf": token, "username": username, "password": password}, allow_redirects=False
    )
    assert response.status == 303, await response.text()


async def post_form(client: TestClient, path: str, data: dict[str, str], *, page: str = "/") -> object:
    token = await csrf_of(client, page)
    return await client.post(path, data={"csrf": token, **data}, allow_redirects=False)
