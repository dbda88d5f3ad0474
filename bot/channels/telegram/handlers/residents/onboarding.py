"""/start, choosing the community (district, then community), /lang, /help, blocking the bot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from bot.channels.telegram import keyboards
from bot.channels.telegram.adapters import PrefsService
from bot.channels.telegram.callbacks import CommunityCb, DistrictCb, LanguageCb, MenuCb
from bot.channels.telegram.filters import PrivateChat
from bot.channels.telegram.handlers.common import TELEGRAM_CONVERSATION, show
from bot.channels.telegram.middlewares import Actor
from bot.channels.telegram.texts import Translator
from bot.core.models import Channel
from bot.core.ports import NotFoundError

if TYPE_CHECKING:
    from bot.wiring import Container


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.message.register(change_community, Command("community"))
    router.message.register(choose_language, Command("lang"))
    router.message.register(help_, Command("help"))
    router.callback_query.register(back_to_districts, MenuCb.filter(F.to == "community"))
    router.callback_query.register(district_chosen, DistrictCb.filter())
    router.callback_query.register(community_chosen, CommunityCb.filter())
    router.callback_query.register(language_chosen, LanguageCb.filter())
    router.my_chat_member.register(membership_changed, PrivateChat())
    return router


async def start(
    message: Message,
    command: CommandObject,
    actor: Actor,
    t: Translator,
    container: Container,
    prefs_service: PrefsService,
) -> None:
    # /start begins a new conversation: an earlier topic no longer counts.
    await container.ask.forget_conversation(Channel.TELEGRAM, actor.resident, TELEGRAM_CONVERSATION)
    # A deep link (t.me/<bot>?start=<slug>, e.g. from a QR code on the community's notice board)
    # chooses the community in one step.
    slug = (command.args or "").strip()
    if slug in container.kb.communities:
        await prefs_service.set_community(actor.resident, slug)
        name = container.kb.communities[slug].name
        await message.answer(t("community_set", community=name), reply_markup=keyboards.main_menu(t))
        return
    prefs = await actor.prefs()
    if prefs.community in container.kb.communities:
        name = container.kb.communities[prefs.community].name
        await message.answer(t("community_current", community=name), reply_markup=keyboards.main_menu(t))
        return
    await message.answer(t("welcome"))
    await message.answer(t("pick_district"), reply_markup=keyboards.district_picker(container.kb))


async def change_community(message: Message, t: Translator, container: Container) -> None:
    await message.answer(t("pick_district"), reply_markup=keyboards.district_picker(container.kb))


async def back_to_districts(callback: CallbackQuery, bot: Bot, t: Translator, container: Container) -> None:
    await callback.answer()
    await show(callback, bot, t("pick_district"), keyboards.district_picker(container.kb))


async def district_chosen(
    callback: CallbackQuery, callback_data: DistrictCb, bot: Bot, t: Translator, container: Container
) -> None:
    await callback.answer()
    names = keyboards.districts(container.kb)
    if not 0 <= callback_data.i < len(names):  # the knowledge changed since the button was made
        await show(callback, bot, t("pick_district"), keyboards.district_picker(container.kb))
        return
    district = names[callback_data.i]
    await show(
        callback,
        bot,
        t("pick_community", district=district),
        keyboards.community_picker(container.kb, district, t),
    )


async def community_chosen(
    callback: CallbackQuery,
    callback_data: CommunityCb,
    bot: Bot,
    actor: Actor,
    t: Translator,
    container: Container,
    prefs_service: PrefsService,
) -> None:
    place = container.kb.communities.get(callback_data.slug)
    if place is None:
        await callback.answer(t.plain("community_unknown"), show_alert=True)
        await show(callback, bot, t("pick_district"), keyboards.district_picker(container.kb))
        return
    try:
        await prefs_service.set_community(actor.resident, place.slug)
    except NotFoundError:  # in the knowledge files but not synced to the database yet
        await callback.answer(t.plain("community_unknown"), show_alert=True)
        return
    await callback.answer()
    await show(callback, bot, t("community_set", community=place.name), keyboards.main_menu(t))


async def choose_language(message: Message, t: Translator) -> None:
    await message.answer(t("lang_pick"), reply_markup=keyboards.languages())


async def language_chosen(
    callback: CallbackQuery,
    callback_data: LanguageCb,
    bot: Bot,
    actor: Actor,
    prefs_service: PrefsService,
) -> None:
    t = Translator(callback_data.lang)  # an unknown code falls back to Chinese
    await prefs_service.set_language(actor.resident, t.language)
    await callback.answer()
    await show(callback, bot, t("lang_set"), keyboards.main_menu(t))


async def help_(message: Message, t: Translator) -> None:
    await message.answer(t("help"))


async def membership_changed(event: ChatMemberUpdated, actor: Actor, prefs_service: PrefsService) -> None:
    """Telegram tells us when a resident blocks (kicked) or unblocks (member) the bot: answers stop
    or resume accordingly, without waiting for a failed delivery."""
    status = event.new_chat_member.status
    if status == "kicked":
        await prefs_service.set_blocked(actor.resident, True)
    elif status == "member":
        await prefs_service.set_blocked(actor.resident, False)
