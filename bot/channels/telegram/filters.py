"""Router filters: which chats a router serves, and whether the actor is on the allowlist.

Membership of an officers' group grants nothing: every command and every button press is checked
against the staff allowlist in the database (through Actor, at most one read per update).

All filters here are async on purpose: aiogram runs a synchronous filter, including a magic
`F.text` one, through asyncio.to_thread, a thread hop per check on every update that reaches it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aiogram import Bot
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, TelegramObject

from bot.channels.telegram.middlewares import Actor
from bot.core.models import Role

GROUP_TYPES = frozenset({"group", "supergroup"})


def _chat_type(event: TelegramObject) -> str | None:
    if isinstance(event, Message | ChatMemberUpdated):
        return event.chat.type
    if isinstance(event, CallbackQuery) and event.message is not None:
        return event.message.chat.type
    return None


class HasText(BaseFilter):
    async def __call__(self, message: Message) -> bool:
        return message.text is not None


class CommandLike(BaseFilter):
    """Text that starts with a slash: a command, known to some router or not."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and message.text.startswith("/")


class PrivateChat(BaseFilter):
    async def __call__(self, event: TelegramObject) -> bool:
        return _chat_type(event) == "private"


class GroupChat(BaseFilter):
    async def __call__(self, event: TelegramObject) -> bool:
        return _chat_type(event) in GROUP_TYPES


class StaffOnly(BaseFilter):
    """Passes for active staff with one of `roles`, and hands the handler its `staff` record."""

    def __init__(self, roles: Collection[Role] = (Role.OFFICER, Role.ADMIN)) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, actor: Actor) -> bool | dict[str, Any]:
        staff = await actor.staff()
        if staff is None or not staff.active or staff.role not in self.roles:
            return False
        return {"staff": staff}


class AnonymousAdmin(BaseFilter):
    """A message sent "as the group" by an anonymous admin: Telegram hides who it was, so the bot
    cannot check the allowlist."""

    async def __call__(self, message: Message) -> bool:
        return message.sender_chat is not None and message.sender_chat.id == message.chat.id


class RepliesToBot(BaseFilter):
    async def __call__(self, message: Message, bot: Bot) -> bool:
        replied = message.reply_to_message
        return replied is not None and replied.from_user is not None and replied.from_user.id == bot.id
