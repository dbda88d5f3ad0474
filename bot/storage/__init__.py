"""Storage: SQLAlchemy async engine, tables, Alembic migrations and the SQL unit of work.

The composition root calls, in order: `await migrate(url)`, `engine = create_engine(url)`,
`uow_factory = make_uow_factory(create_session_factory(engine))`, and passes `uow_factory` to services.
"""

from bot.storage.db import create_engine, create_session_factory
from bot.storage.schema import current_revision, downgrade, head_revision, migrate, upgrade
from bot.storage.uow import SqlUnitOfWork, UtcClock, make_uow_factory

__all__ = [
    "SqlUnitOfWork",
    "UtcClock",
    "create_engine",
    "create_session_factory",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_uow_factory",
    "migrate",
    "upgrade",
]
