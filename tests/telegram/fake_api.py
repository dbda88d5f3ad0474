"""A fake Telegram Bot API server over real HTTP (aiohttp on 127.0.0.1, a random port).

The real aiogram Bot talks to it through AiohttpSession(api=TelegramAPIServer.from_base(url)), so
long polling, multipart uploads, error codes and retry_after go through the same code as in
production. It records every call, keeps the messages it "sent" (so tests can press their buttons),
and can be scripted to fail: 429 with retry_after, 5xx, 403, 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 42
TOKEN = f"{BOT_ID}:TEST-token-for-the-fake-api"
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "警务室", "username": "police_room_bot"}
# Parameters aiogram sends JSON-encoded inside the form.
JSON_FIELDS = frozenset(
    {"reply_markup", "reply_parameters", "commands", "scope", "allowed_updates", "link_preview_options"}
)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200
    result: Any = None  # for sendMessage and friends: the message, as the fake API keeps it
    at: float = field(default_factory=time.perf_counter)  # when the fake API answered

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None  # only calls to this chat fail (None: any)


def too_many_requests(retry_after: int, chat_id: int | None = None) -> Failure:
    return Failure(429, f"Too Many Requests: retry after {retry_after}", retry_after, chat_id)


def server_error(chat_id: int | None = None) -> Failure:
    return Failure(500, "Internal Server Error", chat_id=chat_id)


def blocked(chat_id: int | None = None) -> Failure:
    return Failure(403, "Forbidden: bot was blocked by the user", chat_id=chat_id)


def bad_request(chat_id: int | None = None) -> Failure:
    return Failure(400, "Bad Request: chat not found", chat_id=chat_id)


@dataclass
class FakeBotAPI:
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, deque[Failure]] = field(default_factory=dict)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    url: str = ""
    get_updates_calls: int = 0
    send_delay: float = 0.0  # seconds every sendMessage takes (a slow Bot API)
    _closing: bool = False

    # ---- life cycle

    async def start(self) -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._closing = True  # long polls still waiting return at once
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- scripting

    def fail(self, method: str, *failures: Failure) -> None:
        """The next calls of `method` (to the failure's chat, if it names one) fail in this order."""
        self.failures.setdefault(method, deque()).extend(failures)

    async def push(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        async with self._changed:
            self._changed.notify_all()
        return update_id

    def new_message_id(self) -> int:
        return next(self._message_ids)

    # ---- what happened

    def sent(self, method: str = "sendMessage", chat_id: int | None = None, *, ok: bool = True) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.chat_id == chat_id) and (c.ok or not ok)
        ]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Until predicate() is truthy (checked after every call the bot makes); returns its value."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not (result := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out; last calls: {[c.method for c in self.calls[-8:]]}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
            return result

    async def next_call(
        self, method: str, chat_id: int | None = None, *, after: int = 0, timeout: float = 5.0
    ) -> Call:
        """The first successful `method` call (to `chat_id`) made after the first `after` calls."""

        def found() -> Call | None:
            return next(
                (
                    c
                    for c in self.calls[after:]
                    if c.method == method and c.ok and (chat_id is None or c.chat_id == chat_id)
                ),
                None,
            )

        return await self.wait_for(found, timeout)

    # ---- the API

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if method == "getUpdates":
            return await self._get_updates(params)
        if method == "sendMessage" and self.send_delay:
            await asyncio.sleep(self.send_delay)
        failure = self._take_failure(method, params)
        if failure is not None:
            self._record(Call(method, params, failure.status))
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        result = self._result(method, params)
        self._record(Call(method, params, result=result))
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                params[key] = {"filename": value.filename, "size": len(content), "content": content}
            elif key in JSON_FIELDS and isinstance(value, str):
                params[key] = json.loads(value)
            else:
                params[key] = value
        return params

    def _take_failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        queue = self.failures.get(method)
        if not queue:
            return None
        chat = params.get("chat_id")
        for failure in list(queue):
            if failure.chat_id is None or (chat is not None and int(chat) == failure.chat_id):
                queue.remove(failure)
                return failure
        return None

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        # Wake waiters without blocking the handler on the condition's lock.
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        self.get_updates_calls += 1
        await self._notify()
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        # Telegram forgets updates below the offset: they are confirmed.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._updates) or self._closing), timeout
                    )
        self.calls.append(Call("getUpdates", params))
        return web.json_response({"ok": True, "result": self._updates[:limit]})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "sendPhoto", "sendDocument"):
            return self._new_message(method, params)
        if method in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
            key = (int(params["chat_id"]), int(params["message_id"]))
            message = self.messages.get(key)
            if message is None:
                return True
            if "text" in params:
                message["text"] = params["text"]
            if "reply_markup" in params or method == "editMessageReplyMarkup":
                _set_markup(message, params.get("reply_markup"))
            message["edit_date"] = int(time.time())
            return message
        return True  # answerCallbackQuery, setMyCommands, deleteWebhook, sendChatAction, ...

    def _new_message(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "民警群"
        message: dict[str, Any] = {
            "message_id": self.new_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
        }
        if method == "sendPhoto":
            message["photo"] = [{"file_id": "photo", "file_unique_id": "p", "width": 800, "height": 600}]
            if "caption" in params:
                message["caption"] = params["caption"]
        else:
            message["text"] = params.get("text", "")
        _set_markup(message, params.get("reply_markup"))
        if params.get("reply_parameters"):
            replied = self.messages.get((chat_id, int(params["reply_parameters"]["message_id"])))
            if replied is not None:
                message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        self.messages[(chat_id, message["message_id"])] = message
        return message


def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
    # Telegram shows only inline keyboards on a message; ForceReply and friends act on the client.
    if markup and "inline_keyboard" in markup:
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)
