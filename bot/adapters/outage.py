"""Telling a dependency outage from a bug.

A database or Redis that is down, refuses connections or does not answer in time is not a defect of
the request: the caller is told to come back (503 with Retry-After) and one line is logged, where a
bug gets a 500 and its traceback.
"""

from __future__ import annotations

RETRY_AFTER_SECONDS = 5


def is_outage(error: BaseException) -> bool:
    """Whether `error`, or anything that caused it, says a dependency could not be reached or did
    not answer in time."""
    from sqlalchemy import exc as sa

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(
            current,
            sa.OperationalError | sa.InterfaceError | sa.TimeoutError | sa.DisconnectionError,
        ):
            return True
        if isinstance(current, TimeoutError | ConnectionError):
            return True
        module = type(current).__module__
        if module.startswith("asyncpg") and type(current).__name__ in _ASYNCPG_OUTAGES:
            return True
        if module.startswith("redis") and type(current).__name__ in ("ConnectionError", "TimeoutError"):
            return True
        current = current.__cause__ or current.__context__
    return False


_ASYNCPG_OUTAGES = frozenset(
    {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "ConnectionFailureError",
        "QueryCanceledError",  # statement_timeout
        "AdminShutdownError",
        "TooManyConnectionsError",
        "InterfaceError",
    }
)
