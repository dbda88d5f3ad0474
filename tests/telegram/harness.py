"""The bot as it runs in production (factories, polling, real Container on SQLite), plus a tiny
Telegram client that writes updates into the fake API and presses the bot's buttons."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot

from bot.channels.telegram import RateLimiter, create_bot, create_dispatcher, create_notifier, run_polling
from bot.channels.telegram.middlewares import ResidentThrottle
from bot.core.models import Channel
from bot.services.delivery import DeliveryService
from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.conftest import FIXTURE_KB
from tests.telegram.fake_api import TOKEN, FakeBotAPI

OFFICERS_CHAT = -100200  # 公园社区 (gongyuan) officers' group
HEXI_CHAT = -100300


def officer_kb(tmp_path: Path) -> Path:
    """The fixture knowledge base with officers' groups configured (the shared fixture stays as is)."""
    target = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, target)
    for slug, chat in (("gongyuan", OFFICERS_CHAT), ("hexi", HEXI_CHAT)):
        path = target / "communities" / f"{slug}.yaml"
        path.write_text(path.read_text(encoding="utf-8") + f"\nofficer_chat_id: {chat}\n", encoding="utf-8")
    return target


class ShiftedClock:
    """Real time plus a shift the test controls: outbox retries come due without sleeping."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def advance(self, seconds: float) -> None:
        self.shift += timedelta(seconds=seconds)


class FakeMonotonic:
    """For the notifier's rate limiter: waiting advances this clock instead of the test's time."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


@dataclass(frozen=True)
class Person:
    id: int
    name: str = "用户"

    def as_user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.name}


RESIDENT = Person(1001, "张三")
OFFICER = Person(2001, "李警官")
STRANGER = Person(3001, "路人")
ADMIN = Person(4001, "管理员")


@dataclass
class Harness:
    api: FakeBotAPI
    settings: Settings
    throttle_rate: int = 1000
    container: Container | None = None
    bot: Bot | None = None
    limiter_clock: FakeMonotonic = field(default_factory=FakeMonotonic)
    clock: ShiftedClock = field(default_factory=ShiftedClock)
    _stop: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None
    _delivery: DeliveryService | None = None
    _callback_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # ---- life cycle

    async def start(self) -> None:
        self.container = await build_container(self.settings)
        self.bot = create_bot(self.settings)
        dispatcher = create_dispatcher(self.container, throttle=ResidentThrottle(rate=self.throttle_rate))
        self._stop = asyncio.Event()
        polls = self.api.get_updates_calls
        self._task = asyncio.create_task(
            run_polling(self.container, self.bot, self._stop, dispatcher=dispatcher, polling_timeout=2)
        )
        await self.api.wait_for(lambda: self.api.get_updates_calls > polls)

    async def stop(self) -> None:
        if self._task is None:
            return
        assert self._stop is not None and self.bot is not None and self.container is not None
        self._stop.set()
        await asyncio.wait_for(self._task, 10)
        await self.bot.session.close()
        await self.container.close()
        self._task = None
        self._delivery = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def c(self) -> Container:
        assert self.container is not None
        return self.container

    async def start_in(self, person: Person, slug: str = "gongyuan") -> None:
        """A resident arrives by a community's deep link (t.me/bot?start=slug)."""
        after = len(self.api.calls)
        await self.send(person, f"/start {slug}")
        await self.api.next_call("sendMessage", person.id, after=after)

    # ---- the outbox, delivered by the real notifier through the fake API

    def delivery(self) -> DeliveryService:
        """One per bot run, like production: the limiter remembers what it sent and was told."""
        if self._delivery is not None:
            return self._delivery
        assert self.bot is not None
        limiter = RateLimiter(clock=self.limiter_clock, sleep=self.limiter_clock.sleep)
        notifier = create_notifier(self.c, self.bot, limiter)
        self._delivery = DeliveryService(self.c.uow_factory, self.clock, {Channel.TELEGRAM: notifier})
        return self._delivery

    async def deliver(self) -> int:
        return await self.delivery().run_once()

    async def outbox_counts(self) -> dict[str, int]:
        async with self.c.uow_factory() as uow:
            return await uow.outbox.counts()

    # ---- a Telegram client

    async def send(
        self,
        person: Person,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
        sender_chat: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        edited: bool = False,
    ) -> dict[str, Any]:
        """Push a message from `person` (in their private chat unless `chat_id`); returns it."""
        chat_id = chat_id if chat_id is not None else person.id
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id > 0:
            chat["first_name"] = person.name
        else:
            chat["title"] = "民警群"
        message: dict[str, Any] = {
            "message_id": self.api.new_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": person.as_user(),
        }
        if text is not None:
            message["text"] = text
        if reply_to is not None:
            message["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
        if sender_chat is not None:
            message["sender_chat"] = sender_chat
        message.update(extra or {})
        if edited:
            message["edit_date"] = int(time.time())
        await self.api.push({"edited_message" if edited else "message": message})
        return message

    async def click(self, person: Person, message: dict[str, Any], label: str) -> str:
        """Press the inline button whose label contains `label` on a message the bot sent."""
        data = button_data(message, label)
        callback_id = str(next(self._callback_ids))
        await self.api.push(
            {
                "callback_query": {
                    "id": callback_id,
                    "from": person.as_user(),
                    "chat_instance": "ci",
                    "message": message,
                    "data": data,
                }
            }
        )
        return callback_id

    async def press(self, person: Person, message: dict[str, Any], data: str) -> str:
        """Send raw callback data (what a modified client could do)."""
        callback_id = str(next(self._callback_ids))
        await self.api.push(
            {
                "callback_query": {
                    "id": callback_id,
                    "from": person.as_user(),
                    "chat_instance": "ci",
                    "message": message,
                    "data": data,
                }
            }
        )
        return callback_id

    async def callback_answer(self, callback_id: str) -> dict[str, Any]:
        call = await self.api.wait_for(
            lambda: next(
                (
                    c
                    for c in self.api.calls
                    if c.method == "answerCallbackQuery" and c.params["callback_query_id"] == callback_id
                ),
                None,
            )
        )
        return call.params

    async def reply_to(self, person: Person, text: str, *, timeout: float = 5.0) -> dict[str, Any]:
        """Send `text` in the private chat and return the bot's next message there."""
        after = len(self.api.calls)
        await self.send(person, text)
        call = await self.api.next_call("sendMessage", person.id, after=after, timeout=timeout)
        return self.message_of(call)

    @staticmethod
    def message_of(call: Any) -> dict[str, Any]:
        assert isinstance(call.result, dict), call
        return call.result

    def last_message(self, chat_id: int) -> dict[str, Any]:
        return [m for (c, _), m in self.api.messages.items() if c == chat_id][-1]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def button_data(message: dict[str, Any], label: str) -> str:
    found = [data for text, data in buttons(message) if label in text]
    assert found, f"no button {label!r} in {buttons(message)}"
    return found[0]


async def make_harness(api: FakeBotAPI, tmp_path: Path, **kwargs: Any) -> Harness:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        knowledge_dir=officer_kb(tmp_path),
        data_dir=tmp_path / "data",
        bot_token=TOKEN,
        telegram_api_base=api.url,
    )
    harness = Harness(api, settings, **kwargs)
    await harness.start()
    return harness
