"""Behind the reverse proxy: the client's address comes from X-Real-IP, so login throttling keeps
clients apart instead of treating everybody as the proxy."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from bot.channels.web.proxy import client_address
from tests.web.conftest import csrf_of


async def test_one_guesser_behind_the_proxy_does_not_lock_out_the_others(client: TestClient, people) -> None:
    await people.officer()

    async def attempt(address: str, password: str) -> int:
        token = await csrf_of(client, "/login")
        response = await client.post(
            "/login",
            data={"csrf": token, "username": "li", "password": password},
            headers={"X-Real-IP": address},
            allow_redirects=False,
        )
        return response.status

    for _ in range(30):  # the per-address limit, all from one client
        await attempt("203.0.113.7", "wrong password")
    assert await attempt("203.0.113.7", "wrong password") == 429
    assert await attempt("198.51.100.20", "another wrong one") == 401  # another client: not throttled


async def remote_seen(peer: str, header: str | None) -> str | None:
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.remote)
        return web.Response()

    headers = {"X-Real-IP": header} if header is not None else {}
    request = make_mocked_request("GET", "/", headers=headers)
    await client_address(request.clone(remote=peer), handler)
    return seen[0]


async def test_the_header_counts_only_from_the_proxy() -> None:
    assert await remote_seen("172.18.0.5", "203.0.113.7") == "203.0.113.7"  # compose network
    assert await remote_seen("127.0.0.1", "203.0.113.7") == "203.0.113.7"
    assert await remote_seen("8.8.8.8", "203.0.113.7") == "8.8.8.8"  # a client on the Internet, directly
    assert await remote_seen("172.18.0.5", "not an address") == "172.18.0.5"
    assert await remote_seen("172.18.0.5", None) == "172.18.0.5"
