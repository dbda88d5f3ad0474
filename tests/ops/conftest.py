"""Operations tests: logging, and the backlog query behind the metrics. The database fixtures are the
storage tests' own (a temporary SQLite file, and PostgreSQL when POLICEBOT_TEST_PG names a server)."""

from tests.storage.conftest import (  # noqa: F401  (fixtures, found by name)
    clock,
    engine,
    migrated_sqlite_file,
    postgres_migration_script,
    session_factory,
    uow_factory,
)
