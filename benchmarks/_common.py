"""Shared helpers for the benchmark scripts (run from the project root)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
REAL = ROOT / "benchmarks" / "data" / "real_questions.jsonl"  # real residents' wording, with sources


def seed_cache(data_dir: Path) -> None:
    """Fills a fresh data folder with copies of the trained models in this checkout's data/cache (the
    matcher, the encoder's vectors, triage), so that a server started on it answers at once instead of
    training for minutes; without them it trains, and says so."""
    source, target = ROOT / "data" / "cache", data_dir / "cache"
    target.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        for path in source.iterdir():
            if path.is_file() and not (target / path.name).exists():
                shutil.copy2(path, target / path.name)


async def without_ask_limits(app) -> None:
    """Lifts the questions-per-minute limits of the web room and the API (60 per address, 600 per
    community): one load generator asks for hundreds of residents from one address, and a throughput
    figure must not be a count of 429s."""
    from bot.channels.web.keys import ASK_LIMIT
    from bot.channels.web.throttle import AskLimiter

    await app[ASK_LIMIT].close()
    unlimited = 10**9
    app[ASK_LIMIT] = AskLimiter(per_resident=unlimited, per_address=unlimited, per_community=unlimited)


def load_questions(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def expected_ids(item: dict) -> set[str] | None:
    """None for an out-of-scope question (it should be escalated)."""
    expect = item["expect"]
    if expect == "escalate":
        return None
    if isinstance(expect, dict):
        return set(expect["any_of"])
    return {expect}


async def _admin_sql(server_url: str, statement: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database on `server_url` for one benchmark run, dropped afterwards; its URL."""
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_sql(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def create_database(url: str, *, fresh: bool) -> bool:
    """Create the database `url` names, through its server's `postgres` database; `fresh` drops an
    existing one first, otherwise an existing one is kept. True when it was created now."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    target = make_url(url)
    server = target.set(database="postgres").render_as_string(hide_password=False)
    name = target.database
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists and not fresh:
                return False
            if exists:
                await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
            return True
    finally:
        await engine.dispose()


async def drop_database(url: str) -> None:
    """Drop the database `url` names (connections to it are ended)."""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    server = target.set(database="postgres").render_as_string(hide_password=False)
    await _admin_sql(server, f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
