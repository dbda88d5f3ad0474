"""Behind the reverse proxy: the client's address comes from X-Real-IP (or X-Forwarded-For) sent by a
trusted proxy only, so login throttling keeps clients apart instead of treating everybody as the proxy,
and nobody else can choose the address the app sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from bot.channels.web import create_app
from bot.channels.web.proxy import client_address, parse_networks
from bot.settings import Settings
from bot.wiring import build_container
from tests.web.conftest import PASSWORD, People, csrf_of, settings_for


@pytest.fixture
async def behind_proxy(aiohttp_client, tmp_path: Path):
    """A client whose requests come from a trusted proxy (the test client's loopback address)."""
    container = await build_container(settings_for(tmp_path, trusted_proxies="127.0.0.1"))
    await People(container).officer()
    yield await aiohttp_client(create_app(container))
    await container.close()


async def attempt(client: TestClient, address: str, password: str, username: str = "li") -> int:
    token = await csrf_of(client, "/login")
    response = await client.post(
        "/login",
        data={"csrf": token, "username": username, "password": password},
        headers={"X-Real-IP": address},
        allow_redirects=False,
    )
    return response.status


async def test_one_guesser_behind_the_proxy_does_not_lock_out_the_others(behind_proxy) -> None:
    client = behind_proxy
    for _ in range(30):  # the per-address limit, all from one client, over many user names
        await attempt(client, "203.0.113.7", "wrong password", username=f"nobody{_}")
    assert await attempt(client, "203.0.113.7", "wrong password") == 429
    assert await attempt(client, "198.51.100.20", "another wrong one") == 401  # another client


async def test_guessing_one_account_from_many_addresses_still_locks_it(behind_proxy) -> None:
    client = behind_proxy
    for n in range(10):  # a spoofed address each time: the per-account limit holds all the same
        assert await attempt(client, f"203.0.113.{n + 1}", "wrong password") == 401
    # Locked for everyone, the right password included, until the window passes.
    assert await attempt(client, "198.51.100.99", PASSWORD) == 429


async def remote_seen(peer: str, headers: dict[str, str], trusted: str) -> str | None:
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.remote)
        return web.Response()

    request = make_mocked_request("GET", "/", headers=headers)
    await client_address(parse_networks(trusted))(request.clone(remote=peer), handler)
    return seen[0]


async def test_the_header_counts_only_from_a_trusted_proxy() -> None:
    real = {"X-Real-IP": "203.0.113.7"}
    assert await remote_seen("172.18.0.5", real, "172.18.0.5") == "203.0.113.7"
    assert await remote_seen("127.0.0.1", real, "127.0.0.1, 172.18.0.0/24") == "203.0.113.7"
    # Not trusted: the peer's own address, whatever it sends (another container on the same network,
    # a loopback client, anyone on the Internet), and nobody at all by default.
    assert await remote_seen("172.18.0.9", real, "172.18.0.5") == "172.18.0.9"
    assert await remote_seen("127.0.0.1", real, "") == "127.0.0.1"
    assert await remote_seen("8.8.8.8", real, "172.18.0.0/24") == "8.8.8.8"
    assert await remote_seen("172.18.0.5", {"X-Real-IP": "not an address"}, "172.18.0.5") == "172.18.0.5"
    assert await remote_seen("172.18.0.5", {}, "172.18.0.5") == "172.18.0.5"


async def test_forwarded_for_gives_the_last_address_no_trusted_proxy_added() -> None:
    chain = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 10.0.0.2"}  # spoofed, client, inner proxy
    assert await remote_seen("10.0.0.3", chain, "10.0.0.0/24") == "203.0.113.7"
    assert await remote_seen("10.0.0.3", {"X-Forwarded-For": "junk"}, "10.0.0.0/24") == "10.0.0.3"


def test_a_mistyped_trusted_proxy_fails_at_start_naming_it() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.300"):
        Settings(trusted_proxies="10.0.0.1, 10.0.0.300", _env_file=None)  # type: ignore[call-arg]
