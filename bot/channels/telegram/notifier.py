"""Delivers Telegram outbox messages: officers' posts, reminders, answers to residents.

It reports, never raises: DeliveryService decides what a RETRY, BLOCKED or FAILED means for the row.
Each outbox message becomes exactly one Telegram message, so a retry can never leave half of a split
message behind (texts are shortened to fit instead).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup, Message

from bot.channels.telegram import keyboards
from bot.channels.telegram.callbacks import Signer, signer_for
from bot.channels.telegram.limiter import RateLimiter
from bot.channels.telegram.render import (
    EscalationCard,
    escalation_post,
    officer_answer,
    reminder_post,
    urgent_alert,
)
from bot.channels.telegram.texts import Translator
from bot.core.models import OutboxMessage
from bot.core.ports import DeliveryOutcome, DeliveryResult

log = logging.getLogger(__name__)

# The resident's language, looked up per answer (None: Chinese).
LanguageOf = Callable[[str], Awaitable[str]]


class TelegramNotifier:
    def __init__(
        self,
        bot: Bot,
        limiter: RateLimiter,
        *,
        community_names: Mapping[str, str] | None = None,
        signer: Signer | None = None,
        language_of: LanguageOf | None = None,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self._bot = bot
        self._limiter = limiter
        self._names = dict(community_names or {})
        self._signer = signer or signer_for(bot.token)
        self._language_of = language_of
        self._timezone = timezone

    async def deliver(self, message: OutboxMessage) -> DeliveryResult:
        try:
            chat_id = int(message.recipient)
        except ValueError:
            return DeliveryResult(
                DeliveryOutcome.FAILED, error=f"not a Telegram chat id: {message.recipient!r}"
            )
        try:
            text, markup = await self._render(message, chat_id)
        except Exception as exc:  # a malformed payload will not get better by retrying
            log.exception("cannot render outbox message %s", message.id)
            return DeliveryResult(DeliveryOutcome.FAILED, error=f"render: {type(exc).__name__}: {exc}")
        try:
            sent = await self._send(chat_id, text, markup)
        except TelegramMigrateToChat as exc:
            # A group became a supergroup and got a new id: deliver there, and say the config is stale.
            log.warning(
                "chat %s moved to %s: update officer_chat_id in the knowledge files",
                chat_id,
                exc.migrate_to_chat_id,
            )
            try:
                sent = await self._send(exc.migrate_to_chat_id, text, markup)
            except Exception as again:
                return self._failure(exc.migrate_to_chat_id, again)
        except Exception as exc:
            return self._failure(chat_id, exc)
        posted = (sent.chat.id, sent.message_id) if message.kind == "escalation_post" else None
        return DeliveryResult(DeliveryOutcome.SENT, posted=posted)

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> Message:
        await self._limiter.acquire(chat_id)
        return await self._bot.send_message(chat_id, text, reply_markup=markup)

    def _failure(self, chat_id: int, exc: BaseException) -> DeliveryResult:
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TelegramRetryAfter):
            self._limiter.pause(chat_id, exc.retry_after)
            return DeliveryResult(DeliveryOutcome.RETRY, retry_after=float(exc.retry_after), error=error)
        if isinstance(exc, TelegramForbiddenError):
            return DeliveryResult(DeliveryOutcome.BLOCKED, error=error)
        if isinstance(exc, TelegramBadRequest):
            return DeliveryResult(DeliveryOutcome.FAILED, error=error)
        if isinstance(exc, TelegramServerError | TelegramNetworkError | aiohttp.ClientError | TimeoutError):
            return DeliveryResult(DeliveryOutcome.RETRY, error=error)
        if isinstance(exc, TelegramAPIError):
            # 401 (bad token), 404, 409: the configuration is wrong, not the message: keep it queued.
            log.error("Telegram refused outbox delivery to %s: %s", chat_id, error)
            return DeliveryResult(DeliveryOutcome.RETRY, error=error)
        log.exception("unexpected error delivering to %s", chat_id, exc_info=exc)
        return DeliveryResult(DeliveryOutcome.RETRY, error=error)

    async def _render(self, message: OutboxMessage, chat_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
        payload = message.payload
        kind = message.kind
        if kind == "escalation_post":
            card = EscalationCard.from_payload(payload, self._names)
            return escalation_post(card), keyboards.escalation_actions(
                int(payload["escalation_id"]), card.status
            )
        if kind == "urgent_alert":
            # The duty group may not be an officers' group: no action buttons there.
            duty = bool(payload.get("duty"))
            markup = None if duty else keyboards.escalation_actions(int(payload["escalation_id"]), None)
            return urgent_alert(payload, self._names, self._timezone), markup
        if kind in ("reminder", "duty_handover"):
            markup = None
            if kind == "reminder" and payload.get("escalation_id") is not None:
                markup = keyboards.escalation_actions(int(payload["escalation_id"]), None)
            return reminder_post(kind, payload, self._names, self._timezone), markup
        if kind in ("officer_answer", "rating_request"):
            t = Translator(await self._language(message.recipient))
            escalation_id = int(payload["escalation_id"])
            markup = keyboards.satisfaction(t, escalation_id, self._signer, chat_id)
            if kind == "rating_request":
                return t("rate_officer"), markup
            return officer_answer(payload, self._names, t), markup
        raise ValueError(f"unknown outbox kind {kind!r}")

    async def _language(self, recipient: str) -> str:
        if self._language_of is None:
            return "zh"
        try:
            return await self._language_of(recipient)
        except Exception:  # a preference is not worth failing a delivery for
            log.warning("language lookup failed for %s", recipient, exc_info=True)
            return "zh"
