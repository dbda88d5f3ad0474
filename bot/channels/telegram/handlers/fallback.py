"""The last line: buttons nobody handles, and exceptions, get a polite word rather than silence."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ErrorEvent

from bot.adapters.outage import is_outage
from bot.channels.telegram.texts import ZH, Translator

log = logging.getLogger(__name__)


def setup() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(stale_button)
    router.errors.register(on_error)
    return router


async def stale_button(callback: CallbackQuery, t: Translator = ZH) -> None:
    """A button from an old message (or data a client made up): stop its spinner, say so."""
    await callback.answer(t.plain("stale_button"), show_alert=True)


async def on_error(event: ErrorEvent, bot: Bot, t: Translator = ZH) -> bool:
    if is_outage(event.exception):
        # Not an apology and a dropped question: left unhandled, the update is handled again once
        # the database or Redis answers (bot.channels.telegram.retry, the webhook's inbox).
        raise SkipHandler
    log.error("update %s failed", event.update.update_id, exc_info=event.exception)
    update = event.update
    # Telegram itself failing (a 429 or 5xx on our reply) is not worth a second message that fails too.
    if isinstance(event.exception, TelegramAPIError):
        return True
    with contextlib.suppress(TelegramAPIError):
        if update.callback_query is not None:
            await update.callback_query.answer(t.plain("error"), show_alert=True)
        elif update.message is not None and update.message.chat.type == "private":
            await bot.send_message(update.message.chat.id, t("error"))
    return True
