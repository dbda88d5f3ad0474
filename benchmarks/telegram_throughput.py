"""Telegram channel throughput: updates per second through the whole pipeline, beside a bare echo bot.

    python benchmarks/telegram_throughput.py [--updates 500] [--users 100] [--repeat 2]
                                             [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Both bots are the real aiogram Bot polling a fake Bot API (tests/telegram/fake_api.py) over loopback
HTTP. The fake API runs in a process of its own with every update queued before the bot starts, and
times the window from its first getUpdates answer to the reply to the last update, so the figure is
the bot's cost per update under a backlog, not the load generator's.

- echo: a Dispatcher with one handler that sends the text back.
- channel: the production dispatcher (run_polling, create_dispatcher) with AskService replaced by
  a canned answer: what the Telegram channel itself costs per update.
- pipeline: create_dispatcher(container) with the real Container on the shipped knowledge base:
  middlewares (actor, language, flood control), the residents' router, AskService (matcher, one
  transaction recording the consultation, escalations with their outbox post), HTML rendering.
  Residents have chosen their community beforehand (as after /start); the flood limit is raised,
  since every user here sends several questions within seconds.

SQLite always; PostgreSQL too when --pg or POLICEBOT_TEST_PG names a server (a throwaway database is
created there and dropped afterwards). The issue's target: the pipeline costs at most 3× the echo
bot per update. Figures, not tests: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import seed_cache, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"
FALLBACK_QUESTIONS = [
    ("chengzhong-gongyuan", "身份证丢了怎么补办"),
    ("chengzhong-gongyuan", "身份证"),
    ("liunan-hexi", "我家楼下的路灯坏了好几天了没人修"),
    ("yufeng-xiangyang", "怎么办理居住证"),
]
FIRST_USER = 500_000


def questions() -> list[tuple[str, str]]:
    if not DEV_SET.is_file():
        return FALLBACK_QUESTIONS
    with DEV_SET.open(encoding="utf-8") as f:
        return [(item["community"], item["q"]) for item in map(json.loads, filter(str.strip, f))]


def make_updates(count: int, users: int, items: list[tuple[str, str]]) -> tuple[list[dict], dict[int, str]]:
    """`count` private text messages from `users` residents; and each resident's community."""
    updates, community_of = [], {}
    for i in range(count):
        user_id = FIRST_USER + i % users
        community, text = items[i % len(items)]
        community_of.setdefault(user_id, community)
        user = {"id": user_id, "is_bot": False, "first_name": f"居民{i % users}"}
        chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        updates.append(
            {"message": {"message_id": i + 1, "date": 0, "chat": chat, "from": user, "text": text}}
        )
    return updates, community_of


# ---- the fake Bot API, in a process of its own -----------------------------------------------------


def serve_api(updates: list[dict], conn: Any) -> None:
    asyncio.run(_serve_api(updates, conn))


async def _serve_api(updates: list[dict], conn: Any) -> None:
    from tests.telegram.fake_api import FakeBotAPI

    api = FakeBotAPI()
    await api.start()
    for update in updates:
        await api.push(update)
    conn.send(api.url)

    def replies() -> list[Any]:
        return [c for c in api.calls if c.method == "sendMessage" and c.ok]

    await api.wait_for(lambda: len(replies()) >= len(updates), timeout=600)
    first_poll = next(c.at for c in api.calls if c.method == "getUpdates")
    last_reply = replies()[len(updates) - 1].at
    conn.send({"seconds": last_reply - first_poll, "replies": len(replies())})
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until the bot has stopped
    await api.stop()


# ---- the bots --------------------------------------------------------------------------------------


class CannedAsk:
    """AskService's interface without its work: every question gets the same answer card. Measures
    what the channel itself costs (routing, middlewares, rendering, keyboards, signing)."""

    def __init__(self, container: Any) -> None:
        from bot.core.models import Outcome
        from bot.core.replies import Reply

        slug = next(iter(container.kb.communities))
        entry = container.kb.entries_for(slug)[0]
        self._reply = Reply(Outcome.ANSWER, container.kb.community(slug), 90.0, False, 1, entry=entry)

    async def ask(
        self, community: str, resident: Any, text: str, channel: Any, conversation: str | None = None
    ) -> Any:
        return self._reply


async def build(
    kind: str, bot: Any, database_url: str, data_dir: Path, community_of: dict
) -> tuple[Any, Any]:
    """(dispatcher, container or None) for one of the three bots."""
    from aiogram import Dispatcher
    from aiogram.types import Message

    if kind == "echo":
        dispatcher = Dispatcher()

        async def echo(message: Message) -> None:
            await message.answer(html.escape(message.text or ""))

        dispatcher.message.register(echo)
        return dispatcher, None

    from dataclasses import replace

    from bot.channels.telegram import create_dispatcher
    from bot.channels.telegram.adapters import resident_ref
    from bot.channels.telegram.middlewares import ResidentThrottle
    from bot.core.models import Channel
    from bot.settings import Settings
    from bot.wiring import build_container
    from tests.telegram.fake_api import TOKEN

    container = await build_container(Settings(database_url=database_url, data_dir=data_dir, bot_token=TOKEN))
    serving = replace(container, ask=CannedAsk(container)) if kind == "channel" else container
    dispatcher = create_dispatcher(serving, throttle=ResidentThrottle(rate=10_000))
    # Residents who chose their community earlier (after /start) and whose preferences are cached,
    # as in a bot that has been running for a while.
    prefs = dispatcher["prefs_service"]
    for user_id, community in community_of.items():
        await prefs.set_community(resident_ref(user_id), community)
        await prefs.get(resident_ref(user_id))
    # Warm the matcher's lazy parts so the first measured update is not the one that pays.
    await container.ask.ask(next(iter(community_of.values())), resident_ref(1), "身份证", Channel.CLI)
    return dispatcher, container


async def run_bot(
    kind: str, url: str, conn: Any, database_url: str, data_dir: Path, community_of: dict
) -> Any:
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.channels.telegram import run_polling
    from tests.telegram.fake_api import TOKEN

    session = AiohttpSession(api=TelegramAPIServer.from_base(url))
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    dispatcher, container = await build(kind, bot, database_url, data_dir, community_of)
    if container is None:
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
        )
        result = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await dispatcher.stop_polling()
    else:
        stop = asyncio.Event()
        polling = asyncio.create_task(
            run_polling(container, bot, stop, dispatcher=dispatcher, polling_timeout=1)
        )
        result = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        stop.set()
    await polling
    await bot.session.close()
    if container is not None:
        await container.close()
    conn.send("stop")
    return result


def measure(kind: str, updates: list[dict], community_of: dict, database_url: str, data_dir: Path) -> dict:
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve_api, args=(updates, theirs), daemon=True
    )
    server.start()
    try:
        url = ours.recv()
        result = asyncio.run(run_bot(kind, url, ours, database_url, data_dir, community_of))
    finally:
        server.join(timeout=30)
        if server.is_alive():
            server.terminate()
    return result


# ---- the same bots without a network: what each costs in this process alone -------------------------


async def cpu_per_update(
    kind: str, updates: list[dict], community_of: dict, database_url: str, data_dir: Path
) -> float:
    """Milliseconds per update, fed one after another to the Dispatcher, every Bot API call answered
    at once by a session that never leaves the process."""
    from aiogram import Bot
    from aiogram.client.session.base import BaseSession
    from aiogram.methods import SendMessage
    from aiogram.types import Chat, Message, Update

    from tests.telegram.fake_api import TOKEN

    class NullSession(BaseSession):
        async def make_request(self, bot: Any, method: Any, timeout: Any = None) -> Any:
            if isinstance(method, SendMessage):
                chat = Chat(id=int(method.chat_id), type="private")
                return Message(message_id=1, date=0, chat=chat, text=method.text)
            return True

        async def stream_content(self, *args: Any, **kwargs: Any) -> Any:
            yield b""

        async def close(self) -> None:
            return None

    bot = Bot(TOKEN, session=NullSession())
    dispatcher, container = await build(kind, bot, database_url, data_dir, community_of)
    parsed = [
        Update.model_validate({"update_id": i + 1, **u}, context={"bot": bot}) for i, u in enumerate(updates)
    ]
    for update in parsed[:20]:  # warm-up
        await dispatcher.feed_update(bot, update)
    started = time.perf_counter()
    for update in parsed:
        await dispatcher.feed_update(bot, update)
    elapsed = time.perf_counter() - started
    if container is not None:
        await container.close()
    return elapsed / len(parsed) * 1000


KINDS = ("echo", "channel", "pipeline")


def run_backend(label: str, database_url: str, args: argparse.Namespace, data_dir: Path) -> None:
    updates, community_of = make_updates(args.updates, args.users, questions())
    n = len(updates)
    best = {}
    for kind in KINDS:
        runs = [
            measure(kind, updates, community_of, database_url, data_dir)["seconds"]
            for _ in range(args.repeat)
        ]
        best[kind] = min(runs) / n * 1000
    cpu = {
        kind: asyncio.run(cpu_per_update(kind, updates, community_of, database_url, data_dir))
        for kind in KINDS
    }
    print(f"{label}: ms per update (updates/s) over loopback HTTP | in-process CPU, no network")
    for kind in KINDS:
        ratio = best[kind] / best["echo"]
        rate = 1000 / best[kind]
        print(f"  {kind:<9} {best[kind]:6.2f} ms ({rate:5.0f}/s) {ratio:5.2f}× echo | {cpu[kind]:6.3f} ms")
    print(f"  pipeline ÷ echo = {best['pipeline'] / best['echo']:.2f}× (target ≤ 3×)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2, help="runs per bot; the best one counts")
    parser.add_argument("--pg", default=os.environ.get("POLICEBOT_TEST_PG"), help="PostgreSQL server URL")
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {args.updates} updates from {args.users} "
        "residents; fake Bot API in its own process on loopback; best of "
        f"{args.repeat}"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="policebot-tg-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        seed_cache(data_dir)
        run_backend("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args, data_dir)
        if args.pg:
            with throwaway_database(args.pg, "policebot_tgbench") as url:
                run_backend("postgresql", url, args, data_dir)
        else:
            print("postgresql skipped: pass --pg URL or set POLICEBOT_TEST_PG")
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
