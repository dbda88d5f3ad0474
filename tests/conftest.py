from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.core.knowledge import KnowledgeBase
from bot.core.matcher import Matcher
from bot.kb.loader import load_knowledge

# The suite matches on lexical + classifier: the offline sentence encoder has tests of its own
# (tests/core/test_understanding.py), and encoding the shipped phrasings cold takes minutes.
os.environ.setdefault("ENCODER", "none")
# Servers built by the tests learn new knowledge before they answer, as the assertions expect; learning in
# the background has tests of its own (tests/core/test_understanding.py).
os.environ.setdefault("MATCHER_TRAINING", "blocking")

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_KB = Path(__file__).resolve().parent / "fixtures" / "kb"
SHARED_EVAL = ROOT.parent / "shared" / "eval"


def fixture_kb_copy(tmp_path: Path, community: str = "gongyuan", **changes: object) -> Path:
    """A copy of the fixture knowledge base with `changes` applied to one community's file (top-level
    keys; `officer_telegram_id` sets the first officer's Telegram id)."""
    import shutil

    import yaml

    kb_dir = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, kb_dir)
    path = kb_dir / "communities" / f"{community}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "officer_telegram_id" in changes:
        data["officers"][0]["telegram_id"] = changes.pop("officer_telegram_id")
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return kb_dir


@pytest.fixture(scope="session")
def small_kb() -> KnowledgeBase:
    return load_knowledge(FIXTURE_KB)


@pytest.fixture(scope="session")
def small_matcher(small_kb: KnowledgeBase) -> Matcher:
    return Matcher(small_kb)


@pytest.fixture(scope="session")
def shipped_kb() -> KnowledgeBase:
    return load_knowledge(ROOT / "knowledge")


# ---- databases: every database test runs on a temporary SQLite file and, when POLICEBOT_TEST_PG names a
# PostgreSQL server, again on PostgreSQL in a throwaway database of its own (the shared one is never touched).
PG_URL_VARIABLE = "POLICEBOT_TEST_PG"


async def _run_as_admin(url: str, *statements: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _run_as_admin_in_thread(url: str, *statements: str) -> None:
    # A loop of its own on another thread: session fixtures may be set up while a test's loop runs.
    with ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(asyncio.run, _run_as_admin(url, *statements)).result()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server = os.environ.get(PG_URL_VARIABLE)
    if not server:
        pytest.skip(f"set {PG_URL_VARIABLE} to run storage tests on PostgreSQL")
    name = f"policebot_storage_{uuid.uuid4().hex[:12]}"
    _run_as_admin_in_thread(server, f'CREATE DATABASE "{name}"')
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    _run_as_admin_in_thread(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        # A folder that does not exist yet: create_engine must make it.
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'policebot.db'}"
    url = request.getfixturevalue("postgres_url")
    await _run_as_admin(url, "DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public")
    return url
