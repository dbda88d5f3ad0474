"""Small helpers the handlers share."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

# A resident's private chat with the bot is one conversation: follow-ups are read against it.
TELEGRAM_CONVERSATION = "chat"


async def send_chunks(
    bot: Bot, chat_id: int, chunks: Sequence[str], markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send a split text in order; the keyboard goes under the last part, where the reader ends."""
    last: Message | None = None
    for i, chunk in enumerate(chunks):
        last = await bot.send_message(chat_id, chunk, reply_markup=markup if i == len(chunks) - 1 else None)
    return last


async def show(
    callback: CallbackQuery, bot: Bot, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the message a button sits on (menus move in place); send anew when Telegram no
    longer lets us edit it (older than 48 hours, or inaccessible)."""
    message = callback.message
    if isinstance(message, Message):
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return  # a double tap on the same button
    await bot.send_message(callback.from_user.id, text, reply_markup=markup)


async def drop_keyboard(callback: CallbackQuery) -> None:
    """Remove the buttons a resident has used (ratings, "did you mean"), so they are not pressed twice."""
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=None)
