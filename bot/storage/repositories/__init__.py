"""SQL implementations of the core repository ports. Each returns core dataclasses, never ORM rows."""

from bot.storage.repositories.audit import SqlAuditLog
from bot.storage.repositories.communities import SqlCommunityRepository
from bot.storage.repositories.consultations import SqlConsultationRepository
from bot.storage.repositories.drafts import SqlDraftRepository
from bot.storage.repositories.escalations import SqlEscalationRepository
from bot.storage.repositories.feedback import SqlFeedbackRepository
from bot.storage.repositories.idempotency import SqlIdempotencyStore
from bot.storage.repositories.outbox import SqlOutboxRepository
from bot.storage.repositories.residents import SqlResidentRepository
from bot.storage.repositories.staff import SqlStaffRepository
from bot.storage.repositories.stats import SqlStatsRepository
from bot.storage.repositories.updates import SqlUpdateInbox

__all__ = [
    "SqlAuditLog",
    "SqlCommunityRepository",
    "SqlConsultationRepository",
    "SqlDraftRepository",
    "SqlEscalationRepository",
    "SqlFeedbackRepository",
    "SqlIdempotencyStore",
    "SqlOutboxRepository",
    "SqlResidentRepository",
    "SqlStaffRepository",
    "SqlStatsRepository",
    "SqlUpdateInbox",
]
