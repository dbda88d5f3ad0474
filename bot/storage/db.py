"""Engine and session factories. Built by the composition root; nothing here runs at import."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only

# How long a SQLite writer waits for another writer before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class DatabaseLimits:
    """How long to wait for the database, and how many connections to hold. A frozen database (a
    server that accepts and never answers) must fail a request within these, never hang it."""

    connect_seconds: float = 5.0
    statement_seconds: float = 15.0
    pool_wait_seconds: float = 5.0  # waiting for a free connection of the pool
    pool_size: int = 5
    max_overflow: int = 10


def create_engine(
    url: str, *, enforce_foreign_keys: bool = True, limits: DatabaseLimits | None = None
) -> AsyncEngine:
    """`enforce_foreign_keys=False` is for migrations only: SQLite's batch mode rebuilds a table by
    dropping it, which would cascade into or trip over the rows that reference it."""
    parsed = make_url(url)
    limits = limits or DatabaseLimits()
    if parsed.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if parsed.get_driver_name() == "asyncpg":
            statement_ms = str(int(limits.statement_seconds * 1000))
            connect_args = {
                "timeout": limits.connect_seconds,  # TCP connect and the start-up handshake
                "command_timeout": limits.statement_seconds,  # the client stops waiting
                "server_settings": {"statement_timeout": statement_ms},  # and the server stops working
            }
        return create_async_engine(
            parsed,
            pool_pre_ping=True,
            pool_timeout=limits.pool_wait_seconds,
            pool_size=limits.pool_size,
            max_overflow=limits.max_overflow,
            connect_args=connect_args,
        )
    _create_parent_folder(parsed)
    engine = create_async_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    _configure_sqlite(engine, enforce_foreign_keys=enforce_foreign_keys)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Repositories hand out dataclasses, never ORM rows, so nothing needs reloading after commit.
    return async_sessionmaker(engine, expire_on_commit=False)


def _create_parent_folder(url: URL) -> None:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine, *, enforce_foreign_keys: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 driver: its legacy mode skips BEGIN before SELECT and
        # SAVEPOINT, so a released savepoint would escape the surrounding transaction's rollback.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if enforce_foreign_keys else 'OFF'}")
        # WAL lets the web dashboard read while the bot writes.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    turns = _WriteTurns(SQLITE_BUSY_TIMEOUT_S)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        turns.wait(connection.info)
        # IMMEDIATE takes the write lock up front. A deferred transaction that reads and then writes
        # (select resident, insert consultation) fails at once with SQLITE_BUSY when another writer
        # committed in between; waiting for the lock at BEGIN honours the busy timeout instead.
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turns.done(connection.info)
            raise

    # The turn ends with the transaction, however it ends: committed, rolled back, or the connection
    # reset, closed or thrown away by the pool (which rolls back without the engine's events).
    @event.listens_for(engine.sync_engine, "commit")
    def _on_commit(connection: Any) -> None:
        turns.done(connection.info)

    @event.listens_for(engine.sync_engine, "rollback")
    def _on_rollback(connection: Any) -> None:
        turns.done(connection.info)

    def _ended(record: Any) -> None:
        if record is not None:
            turns.done(record.info)

    pool = engine.sync_engine.pool
    event.listen(
        pool, "reset", lambda dbapi_connection, connection_record, reset_state: _ended(connection_record)
    )
    event.listen(pool, "checkin", lambda dbapi_connection, connection_record: _ended(connection_record))
    event.listen(pool, "close", lambda dbapi_connection, connection_record: _ended(connection_record))
    for name in ("invalidate", "soft_invalidate"):
        event.listen(
            pool, name, lambda dbapi_connection, connection_record, exception: _ended(connection_record)
        )


class _WriteTurns:
    """Writers of one process take turns at SQLite, first come first served.

    Every transaction writes (BEGIN IMMEDIATE), and SQLite hands its write lock to whichever waiting
    connection's busy handler polls first: under load one request could lose every round for the whole
    busy timeout and fail with "database is locked" while later ones pass. An asyncio lock per event
    loop queues this process's writers in order of arrival; SQLite's own lock still keeps other
    processes out. Waiting longer than the busy timeout fails as a timeout (503 and Retry-After).
    """

    _KEY = "policebot_write_turn"

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def wait(self, info: dict[str, Any]) -> None:
        """Called in SQLAlchemy's greenlet, on the event loop's thread, before BEGIN."""
        if info.get(self._KEY) is not None:
            return  # this connection's transaction already has the turn
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a synchronous caller (migrations run in a thread): SQLite decides
            return
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        try:
            await_only(asyncio.wait_for(lock.acquire(), self._timeout))
        except MissingGreenlet:  # not called through the async engine: SQLite decides
            return
        info[self._KEY] = (loop, lock)

    def done(self, info: dict[str, Any]) -> None:
        held = info.pop(self._KEY, None)
        if held is None:
            return
        loop, lock = held
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            _release(lock)
        elif not loop.is_closed():  # a pool closing a connection from another thread
            loop.call_soon_threadsafe(_release, lock)


def _release(lock: asyncio.Lock) -> None:
    if lock.locked():
        lock.release()
