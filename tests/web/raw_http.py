"""Requests no HTTP client library would send (undecodable header bytes, unknown method tokens),
written straight to the test server's socket, and the status and headers of the answer."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient


async def raw_exchange(client: TestClient, request: bytes) -> tuple[int, dict[str, str]]:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    finally:
        writer.close()
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


async def raw_request(
    client: TestClient,
    method: bytes,
    path: bytes,
    headers: dict[bytes, bytes] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[str, str]]:
    """One request on a fresh connection, carrying the client's cookies; header values are bytes,
    sent as they are."""
    jar = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    all_headers = {b"Host": b"localhost", b"Connection": b"close", b"Content-Length": str(len(body)).encode()}
    if jar:
        all_headers[b"Cookie"] = "; ".join(f"{k}={m.value}" for k, m in jar.items()).encode()
    all_headers.update(headers or {})
    head = b"".join(k + b": " + v + b"\r\n" for k, v in all_headers.items())
    return await raw_exchange(client, method + b" " + path + b" HTTP/1.1\r\n" + head + b"\r\n" + body)
