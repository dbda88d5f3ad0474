from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot.core.models import DraftStatus
from bot.storage import (
    create_engine,
    create_session_factory,
    current_revision,
    downgrade,
    head_revision,
    migrate,
    upgrade,
)
from bot.storage.repositories.drafts import SqlDraftRepository
from bot.storage.schema import MIGRATIONS, alembic_config, script_head, stored_revisions
from bot.storage.tables import Base
from bot.storage.types import UtcDateTime

APP_TABLES = {
    "communities",
    "residents",
    "consultations",
    "escalations",
    "feedback",
    "staff",
    "staff_communities",
    "escalation_posts",
    "outbox",
    "drafts",
    "telegram_updates",
    "conversation_states",
    "staff_sessions",
}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def _revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def test_stairway_every_revision_goes_up_down_and_up_again(database_url: str) -> None:
    # Catches downgrades that forget something (the second upgrade then fails on leftovers).
    for revision in _revisions_oldest_first():
        previous = await current_revision(database_url)
        await upgrade(database_url, revision)
        assert await current_revision(database_url) == revision
        await downgrade(database_url, previous or "base")
        assert await current_revision(database_url) == previous
        await upgrade(database_url, revision)
    assert await current_revision(database_url) == head_revision()


async def test_migrate_creates_every_table_and_downgrade_to_base_removes_them(database_url: str) -> None:
    await migrate(database_url)
    assert await _tables(database_url) >= APP_TABLES
    await downgrade(database_url, "base")
    assert await _tables(database_url) & APP_TABLES == set()
    assert await current_revision(database_url) is None
    await migrate(database_url)
    assert await _tables(database_url) >= APP_TABLES


async def test_migrate_at_head_is_a_quick_no_op(database_url: str) -> None:
    await migrate(database_url)
    started = time.perf_counter()
    await migrate(database_url)
    assert time.perf_counter() - started < 1.0
    assert await current_revision(database_url) == head_revision() == "0013"


def test_the_head_is_read_from_the_scripts_as_alembic_reads_it() -> None:
    # A start at head asks the database for its revision and compares it with this, without Alembic.
    assert script_head(MIGRATIONS / "versions") == head_revision()


def test_a_history_other_than_one_written_out_line_is_left_to_alembic(tmp_path: Path) -> None:
    def script(name: str, revision: str, down: str) -> None:
        (tmp_path / f"{name}.py").write_text(f"revision: str = {revision}\ndown_revision = {down}\n")

    script("a", '"a"', "None")
    script("b", '"b"', '"a"')
    assert script_head(tmp_path) == "b"
    script("c", '"c"', '"a"')  # a branch: two heads
    assert script_head(tmp_path) is None
    script("c", '"c"', '("a", "b")')  # a merge
    assert script_head(tmp_path) is None
    script("c", "make_id()", '"b"')  # computed
    assert script_head(tmp_path) is None
    (tmp_path / "c.py").write_text('revision = "c"\n')  # no down_revision
    assert script_head(tmp_path) is None


async def test_the_stored_revision_is_what_alembic_recorded(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(stored_revisions) == []  # no version table yet
        await upgrade(database_url, "0012")
        async with engine.connect() as connection:
            assert await connection.run_sync(stored_revisions) == ["0012"]
        await migrate(database_url)  # behind head: Alembic upgrades
        async with engine.connect() as connection:
            assert await connection.run_sync(stored_revisions) == [head_revision()]
    finally:
        await engine.dispose()


async def test_migrations_build_exactly_the_schema_the_tables_describe(database_url: str) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert differences == []


def test_migration_scripts_ship_inside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert list((MIGRATIONS / "versions").glob("0001_*.py"))
    assert list((MIGRATIONS / "versions").glob("0002_*.py"))


# The 0001 schema, spelled out: the app's tables describe head, not history.
_V1 = {
    "communities": sa.table(
        "communities", sa.column("slug"), sa.column("name"), sa.column("district"), sa.column("sample")
    ),
    "residents": sa.table(
        "residents",
        sa.column("id"),
        sa.column("channel"),
        sa.column("channel_user_id"),
        sa.column("created_at", UtcDateTime()),
    ),
    "consultations": sa.table(
        "consultations",
        *(
            sa.column(name)
            for name in ("id", "community", "resident_id", "channel", "text_masked", "outcome")
        ),
        *(sa.column(name) for name in ("score", "urgent", "via_menu", "candidates")),
        sa.column("created_at", UtcDateTime()),
    ),
    "escalations": sa.table(
        "escalations",
        *(sa.column(name) for name in ("id", "consultation_id", "community", "status", "officer", "answer")),
        sa.column("created_at", UtcDateTime()),
        sa.column("due_at", UtcDateTime()),
    ),
}


async def test_0002_keeps_existing_rows_and_fills_the_new_columns(database_url: str) -> None:
    first_seen = datetime(2024, 2, 1, 8, tzinfo=UTC)
    await upgrade(database_url, "0001")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(_V1["communities"]).values(
                    slug="xinhua", name="新华社区", district="东城区", sample=False
                )
            )
            await connection.execute(
                sa.insert(_V1["residents"]).values(
                    id=1, channel="telegram", channel_user_id="42", created_at=first_seen
                )
            )
            await connection.execute(
                sa.insert(_V1["consultations"]).values(
                    id=1,
                    community="xinhua",
                    resident_id=1,
                    channel="telegram",
                    text_masked="问题",
                    outcome="escalate",
                    score=0.0,
                    urgent=False,
                    via_menu=False,
                    candidates="",
                    created_at=first_seen,
                )
            )
            await connection.execute(
                sa.insert(_V1["escalations"]).values(
                    id=1,
                    consultation_id=1,
                    community="xinhua",
                    status="answered",
                    officer="老王",
                    answer="答复",
                    created_at=first_seen,
                    due_at=first_seen,
                )
            )

        await migrate(database_url)
        async with engine.connect() as connection:
            resident = (
                await connection.execute(sa.text("SELECT community, language, blocked FROM residents"))
            ).one()
            escalation = (
                await connection.execute(
                    sa.text("SELECT officer, officer_id, reminded, answer FROM escalations")
                )
            ).one()
            updated_at = await connection.scalar(
                sa.select(sa.column("updated_at", UtcDateTime())).select_from(sa.table("residents"))
            )
        assert (resident.community, resident.language, bool(resident.blocked)) == (None, "zh", False)
        assert updated_at == first_seen
        assert tuple(escalation) == ("老王", None, 0, "答复")

        await downgrade(database_url, "0001")
        async with engine.connect() as connection:
            assert (
                await connection.scalar(sa.text("SELECT count(*) FROM escalations WHERE officer = '老王'"))
                == 1
            )
            assert await connection.scalar(sa.text("SELECT count(*) FROM residents")) == 1
    finally:
        await engine.dispose()


async def test_0013_leaves_earlier_approvals_to_their_entry_ids(database_url: str) -> None:
    decided = datetime(2026, 12, 1, 8, tzinfo=UTC)
    staff_columns = ("id", "name", "role", "active")
    staff = sa.table("staff", *map(sa.column, staff_columns), sa.column("created_at", UtcDateTime()))
    columns = ("id", "question", "answer", "title", "community", "status", "created_by", "entry_id")
    drafts = sa.table("drafts", *map(sa.column, columns), sa.column("created_at", UtcDateTime()))
    await upgrade(database_url, "0012")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            community = {"slug": "xinhua", "name": "新华社区", "district": "东城区", "sample": False}
            await connection.execute(sa.insert(_V1["communities"]).values(**community))
            admin = {"id": 1, "name": "管理员", "role": "admin", "active": True, "created_at": decided}
            await connection.execute(sa.insert(staff).values(**admin))
            texts = {"question": "问", "answer": "答", "title": "题", "community": "xinhua"}
            approved = {"status": "approved", "created_by": 1, "entry_id": "xinhua.d1", "created_at": decided}
            await connection.execute(sa.insert(drafts).values(id=1, **texts, **approved))

        await migrate(database_url)
        async with create_session_factory(engine)() as session:
            draft = await SqlDraftRepository(session).get(1)
        assert draft is not None and draft.status is DraftStatus.APPROVED
        assert (draft.entry_id, draft.approved_for) == ("xinhua.d1", ())  # the scope its entry id says

        async with engine.begin() as connection:
            await connection.execute(sa.text("UPDATE drafts SET approved_for = 'xinhua,other' WHERE id = 1"))
        await downgrade(database_url, "0012")
        async with engine.connect() as connection:
            kept = await connection.scalar(sa.text("SELECT entry_id FROM drafts WHERE id = 1"))
        assert kept == "xinhua.d1"  # a downgrade keeps the draft and its first entry
    finally:
        await engine.dispose()


async def test_0002_constraints_carry_the_names_the_tables_declare(database_url: str) -> None:
    # Alembic applies the naming convention to names given in a migration; 0002 marks them final with
    # op.f(). (0001's CHECK constraints went in as ck_<table>_ck_<table>_<name>: migrations that alter
    # them must use those names.)
    await migrate(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(
                lambda c: {
                    table: sorted(ck["name"] for ck in inspect(c).get_check_constraints(table))
                    for table in ("staff", "outbox", "drafts")
                }
            )
    finally:
        await engine.dispose()
    assert names == {
        "staff": ["ck_staff_role"],
        "outbox": ["ck_outbox_status"],
        "drafts": ["ck_drafts_status"],
    }
