"""Sessions, CSRF, security headers and signed references.

Sessions are encrypted cookies (Fernet), so the server keeps no session table. The idle timeout is
enforced twice: the cookie's Fernet timestamp must be younger than the timeout (checked on decrypt),
and the session's own "seen" time, refreshed at most once a minute, must be too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web, web_response
from aiohttp.typedefs import Handler
from aiohttp_session import Session, get_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from bot.channels.untrusted import same_secret
from bot.channels.web.body import form_fields
from bot.settings import Settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "pb_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SEEN_REFRESH_SECONDS = 60
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The JSON API takes no cookies (callers name the resident in the body), so it has no CSRF to fear.
CSRF_EXEMPT_PREFIX = "/api/"
# Instead of aiohttp's default, which names the Python and aiohttp versions to every scanner.
SERVER_NAME = "policebot"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


@dataclass(frozen=True, slots=True)
class Secrets:
    fernet: Fernet
    ref_key: bytes  # signs references handed to residents (see sign_ref)


def load_secrets(settings: Settings) -> Secrets:
    key = (settings.session_key or _key_file(settings.data_dir / "session.key")).strip().encode()
    try:
        fernet = Fernet(key)
    except ValueError:
        raise ValueError(
            "SESSION_KEY must be 32 url-safe base64-encoded bytes, e.g. the output of "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from None
    ref_key = hmac.new(base64.urlsafe_b64decode(key), b"policebot web references", hashlib.sha256).digest()
    return Secrets(fernet, ref_key)


def _key_file(path: Path) -> str:
    """Generated once and kept: a new key at every start would log everybody out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            log.warning("%s was readable by others: restricting it to its owner", path)
            path.chmod(0o600)
        return path.read_text(encoding="ascii")
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(Fernet.generate_key().decode())
    log.info("generated a session key in %s", path)
    return path.read_text(encoding="ascii")


def sign_ref(secrets_: Secrets, *parts: object) -> str:
    """A short MAC binding e.g. (resident token, consultation id): proof that the resident was handed
    this consultation, since consultations are numbered openly."""
    message = "\x1f".join(str(p) for p in parts).encode()
    return hmac.new(secrets_.ref_key, message, hashlib.sha256).hexdigest()[:32]


def check_ref(secrets_: Secrets, ref: str, *parts: object) -> bool:
    return same_secret(ref or "", sign_ref(secrets_, *parts))


def session_setup(settings: Settings, secrets_: Secrets) -> web.Middleware:
    idle = settings.session_idle_minutes * 60
    storage = EncryptedCookieStorage(
        secrets_.fernet,
        cookie_name=SESSION_COOKIE,
        max_age=idle,  # also the Fernet time-to-live: an older cookie does not decrypt
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
    )
    return session_middleware(storage)


def session_idle_middleware(idle_minutes: int) -> web.Middleware:
    idle = idle_minutes * 60

    @web.middleware
    async def session_idle(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(("/static/", "/api/", "/healthz", "/metrics")) or request.path.endswith(
            "/events"
        ):
            # No session needed; and an event stream is prepared early, so its session could not be saved.
            return await handler(request)
        session = await get_session(request)
        now = int(time.time())
        seen = session.get("seen")
        if isinstance(seen, int) and now - seen > idle:
            session.invalidate()
        elif not session.empty and (not isinstance(seen, int) or now - seen >= SEEN_REFRESH_SECONDS):
            session["seen"] = now
        return await handler(request)

    return session_idle


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
        session["seen"] = int(time.time())
    return token


def renew_session(session: Session) -> str:
    """At login and logout: a fresh session with a fresh CSRF token (no session fixation)."""
    session.invalidate()
    token = secrets.token_urlsafe(32)
    session["csrf"] = token
    session["seen"] = int(time.time())
    return token


@web.middleware
async def csrf_protect(request: web.Request, handler: Handler) -> web.StreamResponse:
    # A request no route takes (unknown path, or a method the path does not allow) changes nothing:
    # it goes on to its 404 or 405, which names the allowed methods, rather than a CSRF refusal.
    routed = request.match_info.http_exception is None
    if routed and request.method in UNSAFE_METHODS and not request.path.startswith(CSRF_EXEMPT_PREFIX):
        session = await get_session(request)
        expected = session.get("csrf")
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            given = (await form_fields(request)).get(CSRF_FIELD)
        if not isinstance(expected, str) or not isinstance(given, str) or not same_secret(given, expected):
            raise web.HTTPForbidden(reason="csrf")
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, static files and error pages included."""
    headers = response.headers
    headers["Server"] = SERVER_NAME  # set here, aiohttp only fills it in when absent
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        # Pages carry personal answers and CSRF tokens: never keep them in shared caches.
        headers.setdefault("Cache-Control", "no-store")


def hide_server_version() -> None:
    """aiohttp answers a request it cannot parse (a broken request line or header, a method token it
    does not know) itself, before any application hook runs, with its default Server value. That
    default is read from this module attribute whenever a response is prepared, so the neutral name
    replaces it there too; it is the same for every app in the process."""
    web_response.SERVER_SOFTWARE = SERVER_NAME
