"""Behind the reverse proxy (deploy/nginx.conf) every request reaches the app from the proxy's
address; the client's own is in the X-Real-IP (or X-Forwarded-For) header the proxy sets. Login
throttling and the asking limits key on it, so without this every resident and officer would share the
proxy's address, and one guesser would lock everybody out.

The headers are believed only from the peers named in TRUSTED_PROXIES (addresses or networks; none by
default): anyone else, on the Internet or on the same private network, cannot choose the address the
app sees by sending a header. The proxy must overwrite X-Real-IP (nginx: proxy_set_header X-Real-IP
$remote_addr), never pass on one it received.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.settings import Network, parse_networks

__all__ = ["client_address", "client_ip", "parse_networks"]

REAL_IP_HEADER = "X-Real-IP"
FORWARDED_FOR_HEADER = "X-Forwarded-For"


def client_address(trusted: Sequence[Network]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        address = client_ip(request, trusted)
        if address != request.remote:
            request = request.clone(remote=address)
        return await handler(request)

    return middleware


def client_ip(request: web.BaseRequest, trusted: Sequence[Network]) -> str | None:
    """The client's own address: the one a trusted proxy names, else the peer's."""
    if trusted and _within(request.remote, trusted):
        return _client_of(request, trusted) or request.remote
    return request.remote


def _client_of(request: web.BaseRequest, trusted: Sequence[Network]) -> str | None:
    real = request.headers.get(REAL_IP_HEADER)
    if real:
        return _address(real)
    # X-Forwarded-For: client, proxy1, proxy2 — the last address no trusted proxy added is the client.
    forwarded = [a.strip() for a in request.headers.get(FORWARDED_FOR_HEADER, "").split(",") if a.strip()]
    for candidate in reversed(forwarded):
        address = _address(candidate)
        if address is None:
            return None
        if not _within(address, trusted):
            return address
    return None


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _within(peer: str | None, trusted: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    return any(address in network for network in trusted)
