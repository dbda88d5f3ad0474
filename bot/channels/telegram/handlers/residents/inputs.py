"""What the bot cannot read: stickers, photos, voice, files, locations... and edited messages.

Each gets a short, polite explanation instead of silence (or an exception).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.channels.telegram.texts import Translator


def setup() -> Router:
    router = Router(name=__name__)
    router.edited_message.register(edited)
    router.message.register(not_text)  # registered last: text was handled by the asking router
    return router


async def not_text(message: Message, t: Translator) -> None:
    await message.answer(t("only_text"))


async def edited(message: Message, t: Translator) -> None:
    # Re-answering an edit would record a second consultation and could open a second ticket.
    await message.answer(t("edited"))
