"""Behind the reverse proxy (deploy/nginx.conf) every request reaches the app from the proxy's
address; the client's own is in the X-Real-IP header the proxy sets. Login throttling keys on it, so
without this every resident and officer would share the proxy's address, and one guesser would lock
everybody out.

The header is believed only from a peer on loopback or a private network (the proxy, in the compose
network): a client on the Internet that reaches the app directly cannot choose its address. The
proxy must overwrite the header (nginx: proxy_set_header X-Real-IP $remote_addr), never pass on one
it received.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web
from aiohttp.typedefs import Handler

REAL_IP_HEADER = "X-Real-IP"


@web.middleware
async def client_address(request: web.Request, handler: Handler) -> web.StreamResponse:
    forwarded = request.headers.get(REAL_IP_HEADER)
    if forwarded and _from_proxy(request.remote):
        try:
            address = ipaddress.ip_address(forwarded.strip())
        except ValueError:
            return await handler(request)
        request = request.clone(remote=str(address))
    return await handler(request)


def _from_proxy(peer: str | None) -> bool:
    try:
        address = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private
